/*
 * test_model.c
 *		Unit tests of the math core other than the gradient check:
 *		configuration and presets, time buckets, layout and init (§5.4),
 *		padding / hole invariance and attention weights (§5.12), PAD rows
 *		after training, Adam and lazy Adam against a reference (§5.8),
 *		determinism (1 thread; shards run serially vs in parallel), NaN/Inf
 *		and bad-batch handling, serving loops vs BLAS, sampled softmax over
 *		all items == full softmax, and a toy sequence learned to HR@1 ~ 1
 *		(§5.14 self-checks 2 and 3).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "nn_fixture.h"
#include "nn/blas.h"

/* ---- helpers ------------------------------------------------------- */

static double
max_abs_diff(const float *a, const float *b, size_t n)
{
	double		m = 0.0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (fabs((double) a[i] - b[i]) > m || isnan(a[i] - b[i]))
			m = isnan(a[i] - b[i]) ? INFINITY : fabs((double) a[i] - b[i]);
	return m;
}

/* 1 if the n floats at p are all exactly +0. */
static int
all_zero(const float *p, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (p[i] != 0.0f || signbit(p[i]))
			return 0;
	return 1;
}

/* A few training steps on fixture batches; returns the last status. */
static int
train_steps(NnModel *m, NnWork *w, int steps, int B, uint64_t seed)
{
	int			s;
	int			rc = NN_OK;

	for (s = 0; s < steps && rc == NN_OK; s++)
	{
		TBatch		tb;
		double		loss;

		tb_make(&tb, &m->cfg, B, seed + s, 3);
		rc = nn_train_step(m, w, &tb.b, &loss);
		tb_free(&tb);
	}
	return rc;
}

/* ---- configuration ------------------------------------------------- */

static void
test_config(void)
{
	NnConfig	c;
	char		msg[256];

	ok(nn_config_preset(&c, "caser") == NN_OK, "caser preset");
	ok(c.d == 50 && c.L == 5 && c.M == 5 && c.T == 3 && c.nh == 16 && c.nv == 4 &&
	   c.loss == NN_LOSS_BCE_PER_TARGET && c.negatives == 3 && !c.use_attention &&
	   !c.use_event_emb && !c.use_time_emb && !c.conv_mask_windows &&
	   c.act_conv == NN_ACT_RELU && c.act_fc == NN_ACT_RELU && c.dropout == 0.5f &&
	   c.batch == 512 && c.lr == 1e-3f && c.l2 == 1e-6f && c.seed == 1234 &&
	   c.epochs == 30 && c.eval_every == 1 && c.patience == 6 && c.instances == NN_INST_CASER,
	   "caser preset values (issue 3's reference: §1.2-§1.6, BCE per target, early stopping)");
	ok(nn_config_preset(&c, "tacaser") == NN_OK && c.M == 50 && c.use_attention &&
	   c.time_mode == NN_TIME_BUCKET && c.n_G == 24 && c.user_dropout == 0.1f &&
	   c.conv_mask_windows == 1 && c.loss == NN_LOSS_SOFTMAX_AUTO && c.l2 == 1e-4f &&
	   c.epochs == 100 && c.eval_every == 1 && c.patience == 10,
	   "tacaser preset values (§5.10, tuned as in test/bench/TUNING.md)");
	ok(nn_config_preset(&c, "nope") == NN_ERR_CONFIG, "unknown preset rejected");

	nn_config_preset(&c, "tacaser");
	ok(nn_config_validate(&c, msg, sizeof(msg)) == NN_ERR_CONFIG, "sizes missing rejected: %s", msg);
	nn_config_set_data(&c, 3417, 6041, 6);
	ok(c.loss == NN_LOSS_SOFTMAX_FULL, "auto softmax resolves to full for N <= 20k");
	ok(nn_config_validate(&c, msg, sizeof(msg)) == NN_OK, "tacaser preset validates");
	nn_config_preset(&c, "tacaser");
	nn_config_set_data(&c, 100001, 10, 4);
	ok(c.loss == NN_LOSS_SOFTMAX_SAMPLED && c.negatives == 256,
	   "auto softmax resolves to sampled (K = 256) for N > 20k");

#define BAD(field, value, what) \
	do { NnConfig b = c; b.field = value; \
		ok(nn_config_validate(&b, msg, sizeof(msg)) == NN_ERR_CONFIG, "%s rejected: %s", what, msg); } while (0)
	nn_config_preset(&c, "caser");
	nn_config_set_data(&c, 100, 10, 1);
	ok(nn_config_validate(&c, msg, sizeof(msg)) == NN_OK, "caser preset validates");
	BAD(d, 0, "d = 0");
	BAD(L, 17, "L = 17");
	BAD(M, 3, "M < L");
	BAD(dropout, 1.0f, "dropout = 1");
	BAD(dropout, NAN, "dropout = NaN");
	BAD(lr, 0.0f, "lr = 0");
	BAD(beta2, 1.0f, "beta2 = 1");
	BAD(negatives, 0, "bce with 0 negatives");
	BAD(loss, NN_LOSS_SOFTMAX_AUTO, "unresolved softmax");
	BAD(N, 1, "N = 1");
	BAD(act_fc, (NnAct) 9, "unknown activation");
	BAD(use_event_emb, 1, "event embeddings with n_E = 1");
#undef BAD
	ok(nn_loss_parse("bce_per_target") == NN_LOSS_BCE_PER_TARGET &&
	   nn_act_parse("tanh") == NN_ACT_TANH && nn_time_mode_parse("decay") == NN_TIME_DECAY &&
	   nn_loss_parse("xx") == -1 && strcmp(nn_loss_name(NN_LOSS_BPR), "bpr") == 0,
	   "name <-> enum helpers");
}

/* ---- time buckets (§5.3.2) ----------------------------------------- */

static void
test_time(void)
{
	NnConfig	c;
	int32_t		items[5] = {0, 3, 4, 5, 6};
	int64_t		ts[5] = {0, 1000, 1000 + 3600, 1000 + 7200, 1000 + 7260};
	int32_t		g[5];
	float		dt[5];

	is_double(nn_time_bucket(0, 24), 1, 0, "bucket(0 s) = 1");
	is_double(nn_time_bucket(59, 24), 1, 0, "bucket(59 s) = 1");
	is_double(nn_time_bucket(60, 24), 2, 0, "bucket(60 s) = 2");
	is_double(nn_time_bucket(179, 24), 2, 0, "bucket(179 s) = 2");
	is_double(nn_time_bucket(180, 24), 3, 0, "bucket(180 s) = 3");
	is_double(nn_time_bucket(3600, 24), 6, 0, "bucket(1 h) = 1 + floor(log2 61) = 6");
	is_double(nn_time_bucket(-5, 24), 1, 0, "negative gap counts as 0");
	is_double(nn_time_bucket(INT64_MAX, 24), 23, 0, "huge gap capped at n_G - 1");
	is_double(nn_time_bucket(INT64_MAX, 66), 58, 0, "63 - clz64 exact: 1 + floor(log2(1 + (2^63-1)/60)) = 58");

	nn_config_preset(&c, "tacaser");
	nn_time_features(&c, 5, items, ts, 0, g, dt);
	ok(g[0] == 0 && dt[0] == 0.0f && g[4] == 1 && dt[4] == 0.0f &&
	   dt[3] == 60.0f && g[3] == 2 && dt[1] == 7260.0f && g[1] == 7,
	   "time features, tref = last event");
	c.tref_mode = NN_TREF_NOW;
	nn_time_features(&c, 5, items, ts, 1000 + 7260 + 600, g, dt);
	ok(dt[4] == 600.0f && g[4] == nn_time_bucket(600, 24), "time features, tref = now");
}

/* ---- layout and init (§5.4) ---------------------------------------- */

static void
test_layout(void)
{
	static const char *const order[] = {"Q", "A", "G", "P", "F1", "F2", "F3", "F4", "F5",
		"c1", "c2", "c3", "c4", "c5", "Wv", "cv", "WK", "beta", "theta", "W1", "b1", "W2", "b2"};
	NnConfig	c;
	NnModel		m;
	NnModel		m2;
	int			i;
	int			good = 1;
	size_t		off = 0;
	double		s2 = 0.0;
	const NnTensor *q;

	nn_config_preset(&c, "tacaser");
	nn_config_set_data(&c, 3417, 6041, 6);
	make_model(&m, &c);
	ok(m.n_tensors == 23, "23 tensors for L = 5");
	for (i = 0; i < m.n_tensors && i < 23; i++)
	{
		good &= strcmp(m.tensors[i].name, order[i]) == 0 && m.tensors[i].offset == off;
		off += (size_t) (m.tensors[i].rows * m.tensors[i].cols);
	}
	ok(good && off == m.n_params, "tensors in §5.4 order, contiguous");
	ok(m.Dv == 200 && m.Dh == 80 && m.Da == 50 && m.Dc == 330, "D_c = 200 + 80 + 50 = 330");
	ok(m.n_params > 800000 && m.n_params < 900000,
	   "ML-1M-sized model has ~0.85M floats (%zu)", m.n_params);
	ok(nn_model_param_count(&c) == m.n_params, "nn_model_param_count");
	ok(nn_model_tensor(&m, "W1")->rows == 50 && nn_model_tensor(&m, "W1")->cols == 330 &&
	   nn_model_tensor(&m, "F3")->cols == 150 && nn_model_tensor(&m, "beta")->rows == 24 &&
	   nn_model_tensor(&m, "theta")->rows == 0, "tensor shapes");
	ok(!nn_model_tensor(&m, "W2")->sparse, "W2 dense under full softmax");
	ok(all_zero(m.Q, c.d) && all_zero(m.A, c.d) && all_zero(m.G, c.d), "PAD rows of Q, A, G are 0");
	ok(all_zero(m.b2, c.N) && m.beta[1] == 0.0f && fabsf(m.beta[5] + 0.4f) < 1e-7f,
	   "b2 = 0, beta[g] = -0.1 (g - 1)");
	q = nn_model_tensor(&m, "Q");
	for (i = c.d; i < (int) (q->rows * q->cols); i++)
		s2 += (double) m.Q[i] * m.Q[i];
	s2 = sqrt(s2 / (q->rows * q->cols - c.d));
	ok(fabs(s2 - 1.0 / c.d) < 0.05 / c.d, "Q ~ N(0, std 1/d): std %.5f", s2);
	{
		float		mx = 0.0f;
		const NnTensor *t = nn_model_tensor(&m, "W1");

		for (i = 0; i < (int) (t->rows * t->cols); i++)
			mx = fmaxf(mx, fabsf(m.W1[i]));
		ok(mx <= 1.0f / sqrtf(330.0f) && mx > 0.9f / sqrtf(330.0f), "W1 ~ U(+-1/sqrt(D_c))");
	}
	make_model(&m2, &c);
	ok(memcmp(m.params, m2.params, sizeof(float) * m.n_params) == 0, "init is deterministic");
	nn_model_free(&m2);
	c.seed = 99;
	make_model(&m2, &c);
	ok(memcmp(m.params, m2.params, sizeof(float) * m.n_params) != 0, "another seed, other weights");
	nn_model_free(&m2);
	nn_model_free(&m);

	nn_config_preset(&c, "caser");
	nn_config_set_data(&c, 3417, 6041, 1);
	make_model(&m, &c);
	ok(m.A == NULL && m.G == NULL && m.WK == NULL && m.beta == NULL && m.Dc == 280 &&
	   nn_model_tensor(&m, "W2")->sparse, "caser: no A/G/WK/beta, D_c = 280, sparse W2");
	nn_model_free(&m);
}

/* ---- padding, holes, attention (§5.12) ----------------------------- */

/* A one-row batch with the given history, left-padded to M. */
static void
one_row(const NnConfig *c, int n, const int32_t *hist, int hole, int32_t *items,
		int32_t *ev, int32_t *g, float *dt, int64_t *ts, int32_t *user, NnBatch *b)
{
	int			M = c->M;
	int			l;
	int			k = 0;

	memset(b, 0, sizeof(*b));
	for (l = 0; l < M; l++)
	{
		items[l] = 0;
		ev[l] = 0;
		ts[l] = 0;
	}
	for (l = M - n - (hole ? 1 : 0); l < M; l++)
	{
		if (hole && l == M - 2)
			continue;			/* leave a PAD hole */
		items[l] = hist[k];
		ev[l] = 1 + hist[k] % 2;
		ts[l] = 100000 + 7000 * k;
		k++;
	}
	nn_time_features(c, M, items, ts, 0, g, dt);
	*user = 1;
	b->B = 1;
	b->user = user;
	b->items = items;
	b->events = ev;
	b->tbucket = g;
	b->tdelta = dt;
}

static void
test_padding(void)
{
	static const int32_t hist[20] = {5, 9, 2, 7, 7, 3, 11, 4, 8, 1, 6, 12, 10, 2, 3, 4, 9, 13, 14, 5};
	NnConfig	c;
	NnModel		m50;
	NnModel		m100;
	int32_t		items[100];
	int32_t		ev[100];
	int32_t		g[100];
	float		dt[100];
	int64_t		ts[100];
	int32_t		user;
	float		x50[64];
	float		x100[64];
	float		xh[64];
	float		alpha[100];
	float		alpha100[100];
	NnBatch		b;
	int			lens[3] = {3, 5, 20};
	int			k;
	int			l;

	nn_config_preset(&c, "tacaser");
	c.d = 16;
	nn_config_set_data(&c, 15, 4, 3);
	c.M = 50;
	make_model(&m50, &c);
	c.M = 100;
	make_model(&m100, &c);
	ok(memcmp(m50.params, m100.params, sizeof(float) * m50.n_params) == 0,
	   "M does not change the parameters");
	for (k = 0; k < 3; k++)
	{
		double		sum = 0.0;
		int			pad_zero = 1;

		one_row(&m50.cfg, lens[k], hist, 0, items, ev, g, dt, ts, &user, &b);
		nn_user_vector(&m50, NULL, &b, 0, x50, alpha);
		for (l = 0; l < 50; l++)
		{
			sum += alpha[l];
			if (l < 50 - lens[k] && alpha[l] != 0.0f)
				pad_zero = 0;
		}
		one_row(&m100.cfg, lens[k], hist, 0, items, ev, g, dt, ts, &user, &b);
		nn_user_vector(&m100, NULL, &b, 0, x100, alpha100);
		ok(memcmp(x50, x100, sizeof(float) * 32) == 0,
		   "history of %d: identical x for M = 50 and M = 100", lens[k]);
		ok(fabs(sum - 1.0) < 1e-5 && pad_zero &&
		   memcmp(alpha + 50 - lens[k], alpha100 + 100 - lens[k], sizeof(float) * lens[k]) == 0,
		   "history of %d: attention sums to 1, 0 on padding, same weights", lens[k]);
	}
	/* a PAD hole is ignored: same as the history without it */
	one_row(&m50.cfg, 5, hist, 0, items, ev, g, dt, ts, &user, &b);
	nn_user_vector(&m50, NULL, &b, 0, x50, alpha);
	one_row(&m50.cfg, 5, hist, 1, items, ev, g, dt, ts, &user, &b);
	nn_user_vector(&m50, NULL, &b, 0, xh, alpha100);
	ok(memcmp(x50, xh, sizeof(float) * 32) == 0 && alpha100[48] == 0.0f &&
	   alpha100[49] == alpha[49] && alpha100[44] == alpha[45],
	   "a PAD hole is dropped; alpha maps back to input positions");
	/* empty history: a = 0, finite vector */
	one_row(&m50.cfg, 0, hist, 0, items, ev, g, dt, ts, &user, &b);
	ok(nn_user_vector(&m50, NULL, &b, 0, x50, alpha) == NN_OK && isfinite(x50[0]) &&
	   all_zero(alpha, 50), "empty history gives a finite vector, no attention");
	/* invalid input */
	items[3] = 15;
	ok(nn_user_vector(&m50, NULL, &b, 0, x50, NULL) == NN_ERR_BATCH, "item id >= N rejected");
	nn_model_free(&m50);
	nn_model_free(&m100);
}

/* ---- reference forward (§5.5 literally, double precision) ---------- */

static double
ref_act(NnAct a, double x)
{
	switch (a)
	{
		case NN_ACT_RELU:
			return x > 0 ? x : 0;
		case NN_ACT_SIGMOID:
			return 1.0 / (1.0 + exp(-x));
		case NN_ACT_TANH:
			return tanh(x);
		default:
			return x;
	}
}

/* x = [z; P[u]] of row b, written straight from the spec's formulas. */
static void
ref_user_vector(const NnModel *m, const NnBatch *in, int b, double *x)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M, L = c->L, d = c->d, n = 0;
	int			l, j, k, h, t, r, i;
	int32_t		s[256], e[256], g[256];
	double		dt[256];
	double		X[256][64];
	double		cvec[1024];
	int			pos = 0;
	int32_t		u = in->user[b];

	/* pack the valid events to the right (holes dropped), left-pad */
	for (l = M - 1; l >= 0; l--)
		if (in->items[(size_t) b * M + l] != 0)
		{
			int			dst = M - 1 - n++;

			s[dst] = in->items[(size_t) b * M + l];
			e[dst] = in->events ? in->events[(size_t) b * M + l] : 0;
			g[dst] = in->tbucket ? in->tbucket[(size_t) b * M + l] : 0;
			dt[dst] = in->tdelta ? in->tdelta[(size_t) b * M + l] : 0;
		}
	/* F1 */
	for (l = 0; l < M; l++)
		for (j = 0; j < d; j++)
			X[l][j] = l < M - n ? 0.0 :
				m->Q[(size_t) s[l] * d + j] + (m->A ? m->A[(size_t) e[l] * d + j] : 0.0) +
				(m->G ? m->G[(size_t) g[l] * d + j] : 0.0);
	/* F3: vertical, filter-major */
	if (c->use_vertical)
		for (k = 0; k < c->nv; k++)
			for (j = 0; j < d; j++)
			{
				double		v = m->cv[k];

				for (r = 0; r < L; r++)
					v += m->Wv[k * L + r] * X[M - L + r][j];
				cvec[pos++] = v;
			}
	/* F4: horizontal, height order, masked max */
	if (c->use_horizontal)
		for (h = 1; h <= L; h++)
			for (k = 0; k < c->nh; k++)
			{
				int			f = c->conv_mask_windows ? L - (n < L ? n : L) : 0;
				double		best = 0.0;
				int			any = 0;

				for (t = f; t <= L - h; t++)
				{
					double		v = m->ch[h - 1][k];

					for (i = 0; i < h * d; i++)
						v += m->F[h - 1][(size_t) k * h * d + i] * X[M - L + t + i / d][i % d];
					v = ref_act(c->act_conv, v);
					if (!any || v > best)
						best = v;
					any = 1;
				}
				cvec[pos++] = any ? best : 0.0;
			}
	/* F5: attention */
	if (c->use_attention)
	{
		double		q[64], rr[64], sc[256], a[64], mx = -1e300, sum = 0.0;

		for (j = 0; j < d; j++)
			q[j] = m->P[(size_t) u * d + j] + (n > 0 ? X[M - 1][j] : 0.0);
		for (j = 0; j < d; j++)
		{
			rr[j] = 0.0;
			for (i = 0; i < d; i++)
				rr[j] += m->WK[i * d + j] * q[i];
		}
		for (j = 0; j < d; j++)
			a[j] = 0.0;
		for (l = M - n; l < M; l++)
		{
			double		v = 0.0;

			for (j = 0; j < d; j++)
				v += X[l][j] * rr[j];
			v /= sqrt((double) d);
			if (c->time_mode == NN_TIME_BUCKET)
				v += m->beta[g[l]];
			else if (c->time_mode == NN_TIME_DECAY)
				v -= log1p(exp(m->theta[0])) * log1p(dt[l] / 3600.0);
			sc[l] = v;
			mx = fmax(mx, v);
		}
		for (l = M - n; l < M; l++)
			sum += exp(sc[l] - mx);
		for (l = M - n; l < M; l++)
			for (j = 0; j < d; j++)
				a[j] += exp(sc[l] - mx) / sum * X[l][j];
		for (j = 0; j < d; j++)
			cvec[pos++] = a[j];
	}
	/* F8, F9 */
	for (j = 0; j < d; j++)
	{
		double		v = m->b1[j];

		for (i = 0; i < pos; i++)
			v += m->W1[(size_t) j * pos + i] * cvec[i];
		x[j] = ref_act(c->act_fc, v);
		x[d + j] = m->P[(size_t) u * d + j];
	}
}

/* y = W2[id] . x + b2[id] in double. */
static double
ref_score(const NnModel *m, const double *x, int32_t id)
{
	double		y = m->b2[id];
	int			k;

	for (k = 0; k < 2 * m->cfg.d; k++)
		y += m->W2[(size_t) id * 2 * m->cfg.d + k] * x[k];
	return y;
}

/* nn_user_vector and nn_score_all against the reference forward. */
static void
test_forward_reference(void)
{
	static const char *const presets[] = {"tacaser", "caser", "tacaser"};
	int			p;

	for (p = 0; p < 3; p++)
	{
		NnConfig	c;
		NnModel		m;
		TBatch		tb;
		int			b;
		double		worst = 0.0;
		double		worst_s = 0.0;

		nn_config_preset(&c, presets[p]);
		c.d = 12;
		c.L = 4;
		c.M = p == 1 ? 4 : 9;
		c.nh = 3;
		c.nv = 2;
		c.n_G = 10;
		if (p == 2)
		{
			c.time_mode = NN_TIME_DECAY;
			c.act_conv = NN_ACT_TANH;
			c.act_fc = NN_ACT_SIGMOID;
		}
		nn_config_set_data(&c, 40, 5, 4);
		make_model(&m, &c);
		if (m.theta)
			m.theta[0] = 0.3f;
		for (b = 0; b < c.N; b++)
			m.b2[b] = 0.01f * b;
		tb_make(&tb, &c, 7, 100 + p, 0);
		for (b = 0; b < 7; b++)
		{
			float		x[64];
			float		scores[64];
			double		xr[64];
			int			j;

			nn_user_vector(&m, NULL, &tb.b, b, x, NULL);
			ref_user_vector(&m, &tb.b, b, xr);
			for (j = 0; j < 2 * c.d; j++)
				worst = fmax(worst, fabs(x[j] - xr[j]));
			nn_score_all(&m, x, scores);
			for (j = 1; j < c.N; j++)
			{
				double		ref = m.b2[j];
				int			k;

				for (k = 0; k < 2 * c.d; k++)
					ref += m.W2[(size_t) j * 2 * c.d + k] * xr[k];
				worst_s = fmax(worst_s, fabs(scores[j] - ref));
			}
		}
		ok(worst < 1e-5 && worst_s < 1e-5,
		   "%s%s: user vectors and scores match the reference forward (%.2g, %.2g)",
		   presets[p], p == 2 ? " decay/tanh/sigmoid" : "", worst, worst_s);
		tb_free(&tb);
		nn_model_free(&m);
	}
}

/* The losses of §5.6 computed literally from reference scores. */
static void
test_loss_reference(void)
{
	static const NnLoss losses[] = {NN_LOSS_BCE, NN_LOSS_BCE_PER_TARGET, NN_LOSS_BPR,
	NN_LOSS_SOFTMAX_SAMPLED, NN_LOSS_SOFTMAX_FULL};
	int			li;

	for (li = 0; li < 5; li++)
	{
		NnConfig	c;
		NnModel		m;
		NnWork	   *w;
		TBatch		tb;
		int			B = 5;
		int			T;
		int			K;
		int			b;
		int			t;
		int			j;
		int			err;
		double		got;
		double		want = 0.0;
		double		npos = 0.0;
		double		pairs = 0.0;
		double		x[5][16];

		tiny_config(&c, "tacaser", losses[li]);
		c.use_target_weights = 1;
		c.target_weights[1] = 0.5f;
		c.target_weights[2] = 3.0f;
		make_model(&m, &c);
		for (j = 0; j < c.N; j++)
			m.b2[j] = 0.3f * (j % 3) - 0.2f;
		T = c.T;
		K = c.negatives;
		tb_make(&tb, &c, B, 31 + li, 3);
		w = nn_work_create(&m, B, 1, 1, &err);
		nn_forward_loss(&m, w, &tb.b, &got);
		for (b = 0; b < B; b++)
			ref_user_vector(&m, &tb.b, b, x[b]);
#define Y(b, id) (ref_score(&m, x[b], id))
		for (b = 0; b < B; b++)
			for (t = 0; t < T; t++)
				if (tb.targets[b * T + t])
				{
					npos += 1;
					if (losses[li] == NN_LOSS_BPR)
						pairs += K;
				}
		for (b = 0; b < B; b++)
		{
			for (t = 0; t < T; t++)
			{
				int32_t		p = tb.targets[b * T + t];
				double		wt = c.target_weights[tb.target_events[b * T + t]];
				double		yp;

				if (p == 0)
					continue;
				yp = Y(b, p);
				switch (losses[li])
				{
					case NN_LOSS_BCE:
					case NN_LOSS_BCE_PER_TARGET:
						want += wt * log1p(exp(-yp)) / npos;
						if (losses[li] == NN_LOSS_BCE_PER_TARGET)
							for (j = 0; j < K; j++)
								want += log1p(exp(Y(b, tb.neg[(b * T + t) * K + j]))) / (npos * K);
						break;
					case NN_LOSS_BPR:
						for (j = 0; j < K; j++)
							want += wt * log1p(exp(-(yp - Y(b, tb.neg[b * K + j])))) / pairs;
						break;
					case NN_LOSS_SOFTMAX_SAMPLED:
						{
							double		z = exp(yp - tb.logq[p]);
							int			k;

							for (k = 0; k < K; k++)
							{
								int32_t		n = tb.shared[k];
								int			hit = 0;
								int			tt;

								for (tt = 0; tt < T; tt++)
									hit |= tb.targets[b * T + tt] == n;
								if (!hit)
									z += exp(Y(b, n) - tb.logq[n]);
							}
							want += wt * (-(yp - tb.logq[p]) + log(z)) / npos;
						}
						break;
					default:
						{
							double		z = 0.0;
							int			i;

							for (i = 1; i < c.N; i++)
								z += exp(Y(b, i));
							want += wt * (-yp + log(z)) / npos;
						}
						break;
				}
			}
			if (losses[li] == NN_LOSS_BCE)
				for (j = 0; j < K; j++)
					want += log1p(exp(Y(b, tb.neg[b * K + j]))) / ((double) B * K);
		}
#undef Y
		ok(fabs(got - want) < 1e-5 * (1 + fabs(want)), "%s loss = spec formula (%.6f vs %.6f)",
		   nn_loss_name(c.loss), got, want);
		nn_work_free(w);
		tb_free(&tb);
		nn_model_free(&m);
	}
}

/* ---- serving: loops vs BLAS ---------------------------------------- */

/* Scoring one user (SGEMV, recommend()) and a block (A B^T, recommend_all())
 * agree with either kernel set: bit for bit with the portable loops, to
 * float rounding with the SIMD ones (which sum in another order for blocks). */
static void
test_gemv_gemm_identical(void)
{
	const int	N = 1349,
				K = 100,
				U = 11;
	float	   *W = malloc(sizeof(float) * N * K);
	float	   *X = malloc(sizeof(float) * U * K);
	float	   *S = malloc(sizeof(float) * U * N);
	float	   *y = malloc(sizeof(float) * N);
	NnRng		r;
	int			simd,
				u,
				i;

	nn_rng_seed(&r, 9, 9);
	for (i = 0; i < N * K; i++)
		W[i] = nn_rng_float(&r) - 0.5f;
	for (i = 0; i < U * K; i++)
		X[i] = nn_rng_float(&r) - 0.5f;
	for (simd = 1; simd >= 0; simd--)
	{
		int			same = 1;
		double		diff = 0.0;

		nn_blas_set_simd(simd);
		nn_sgemm_loops(NN_NOTRANS, NN_TRANS, U, N, K, 1.0f, X, K, W, K, 0.0f, S, N);
		for (u = 0; u < U; u++)
		{
			for (i = 0; i < N; i++)
				y[i] = 0.0f;
			nn_sgemv_loops(NN_NOTRANS, N, K, 1.0f, W, K, X + (size_t) u * K, 1.0f, y);
			if (memcmp(y, S + (size_t) u * N, sizeof(float) * N) != 0)
				same = 0;
			diff = fmax(diff, max_abs_diff(y, S + (size_t) u * N, N));
		}
		if (simd && nn_blas_simd())
			ok(diff < 1e-5, "SGEMV scores == SGEMM block scores to rounding, AVX2+FMA kernels (%.2g)", diff);
		else
			ok(same, "SGEMV scores == SGEMM block scores bit for bit, portable kernels");
	}
	nn_blas_set_simd(1);
	free(W);
	free(X);
	free(S);
	free(y);
}

static void
test_blas(void)
{
	NnRng		r;
	int			shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 100}, {256, 16, 250}, {5, 280, 50},
	{64, 1700, 100}, {3, 9, 8}};
	int			s;
	int			ta;
	int			tb;
	int			good = 1;
	double		worst = 0.0;

	nn_rng_seed(&r, 5, 5);
	for (s = 0; s < 14; s++)
		for (ta = 0; ta < 2; ta++)
			for (tb = 0; tb < 2; tb++)
			{
				int			M = shapes[s % 7][0];
				int			N = shapes[s % 7][1];
				int			K = shapes[s % 7][2];
				int			lda = (ta ? M : K) + 3;
				int			ldb = (tb ? K : N) + 1;
				int			ldc = N + 2;
				size_t		na = (size_t) (ta ? K : M) * lda;
				size_t		nb = (size_t) (tb ? N : K) * ldb;
				float	   *A = malloc(sizeof(float) * na);
				float	   *B = malloc(sizeof(float) * nb);
				float	   *C1 = malloc(sizeof(float) * M * ldc);
				float	   *C2 = malloc(sizeof(float) * M * ldc);
				size_t		i;
				double		scale = 0.0;

				for (i = 0; i < na; i++)
					A[i] = nn_rng_float(&r) - 0.5f;
				for (i = 0; i < nb; i++)
					B[i] = nn_rng_float(&r) - 0.5f;
				for (i = 0; i < (size_t) M * ldc; i++)
					C1[i] = C2[i] = nn_rng_float(&r);
				nn_sgemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, ldc);
				nn_blas_set_simd(s < 7);	/* the CPU's best kernels, then the portable ones */
				nn_sgemm_loops(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, ldc);
				nn_blas_set_simd(1);
				for (i = 0; i < (size_t) M * ldc; i++)
					scale = fmax(scale, fabs(C1[i]));
				if (max_abs_diff(C1, C2, (size_t) M * ldc) > 1e-5 * (1.0 + scale) * sqrt(K))
					good = 0;
				worst = fmax(worst, max_abs_diff(C1, C2, (size_t) M * ldc) / (1.0 + scale));
				free(A);
				free(B);
				free(C1);
				free(C2);
			}
	ok(good, "nn_sgemm == nn_sgemm_loops for all transposes, SIMD kernels (%s) and portable (rel %.2g)",
	   nn_blas_simd() ? "AVX2+FMA" : "none on this CPU", worst);
	test_gemv_gemm_identical();

	{
		float		A[6 * 9];
		float		x[9];
		float		y1[9];
		float		y2[9];
		int			i;

		for (i = 0; i < 54; i++)
			A[i] = (float) ((i * 37) % 11) - 5.0f;
		for (i = 0; i < 9; i++)
			x[i] = y1[i] = y2[i] = 0.25f * i;
		nn_sgemv(NN_NOTRANS, 6, 9, 1.5f, A, 9, x, 0.5f, y1);
		nn_sgemv_loops(NN_NOTRANS, 6, 9, 1.5f, A, 9, x, 0.5f, y2);
		ok(max_abs_diff(y1, y2, 6) < 1e-5, "nn_sgemv == loops (no transpose)");
		for (i = 0; i < 9; i++)
			y1[i] = y2[i] = 0.5f;
		nn_sgemv(NN_TRANS, 6, 9, 1.5f, A, 9, x, 0.5f, y1);
		nn_sgemv_loops(NN_TRANS, 6, 9, 1.5f, A, 9, x, 0.5f, y2);
		ok(max_abs_diff(y1, y2, 9) < 1e-5, "nn_sgemv == loops (transposed)");
	}
}

/* Scores: nn_score_all (GEMV) vs nn_score_block (GEMM) vs a double loop;
 * batch user vectors vs single ones. */
static void
test_scoring(void)
{
	NnConfig	c;
	NnModel		m;
	TBatch		tb;
	NnInfer    *inf;
	int			B = 9;
	int			d2;
	float	   *X;
	float	   *S;
	float	   *s1;
	float		x[128];
	int			r;
	int			i;
	int			good_vec = 1;
	double		worst = 0.0;

	nn_config_preset(&c, "tacaser");
	c.d = 24;
	c.M = 12;
	nn_config_set_data(&c, 300, 20, 4);
	make_model(&m, &c);
	d2 = 2 * c.d;
	for (i = 0; i < c.N; i++)
		m.b2[i] = 0.01f * (i % 13);
	tb_make(&tb, &c, B, 7, 0);
	X = malloc(sizeof(float) * B * d2);
	S = malloc(sizeof(float) * B * c.N);
	s1 = malloc(sizeof(float) * c.N);
	inf = nn_infer_create(&m, 4);	/* smaller than B: chunked */
	ok(nn_user_vectors(&m, inf, &tb.b, X) == NN_OK, "user vectors of a batch");
	for (r = 0; r < B; r++)
	{
		nn_user_vector(&m, inf, &tb.b, r, x, NULL);
		if (max_abs_diff(x, X + (size_t) r * d2, d2) > 1e-6)
			good_vec = 0;
	}
	ok(good_vec, "batched user vectors == one-row user vectors");
	nn_score_block(&m, X, B, S);
	for (r = 0; r < B; r++)
	{
		nn_score_all(&m, X + (size_t) r * d2, s1);
		if (!isinf(s1[0]) || s1[0] > 0 || !isinf(S[(size_t) r * c.N]))
			worst = INFINITY;
		for (i = 1; i < c.N; i++)
		{
			double		ref = m.b2[i];
			int			j;

			for (j = 0; j < d2; j++)
				ref += (double) m.W2[(size_t) i * d2 + j] * X[(size_t) r * d2 + j];
			worst = fmax(worst, fabs(s1[i] - ref));
			worst = fmax(worst, fabs(S[(size_t) r * c.N + i] - ref));
		}
	}
	ok(worst < 1e-5, "nn_score_all / nn_score_block match a double reference (%.2g), score[0] = -inf",
	   worst);
	nn_infer_free(inf);
	free(X);
	free(S);
	free(s1);
	tb_free(&tb);
	nn_model_free(&m);
}

/* ---- training behaviour -------------------------------------------- */

/* Q, A, G row 0 stay exactly 0 (and their Adam moments too). */
static void
test_pad_rows(void)
{
	NnConfig	c;
	NnModel		m;
	NnWork	   *w;
	int			err;

	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.act_conv = c.act_fc = NN_ACT_RELU;
	c.dropout = 0.5f;
	c.user_dropout = 0.2f;
	c.l2 = 1e-3f;
	make_model(&m, &c);
	w = nn_work_create(&m, 8, 1, 1, &err);
	ok(train_steps(&m, w, 30, 8, 1000) == NN_OK, "30 training steps");
	ok(all_zero(m.Q, c.d) && all_zero(m.A, c.d) && all_zero(m.G, c.d),
	   "PAD rows of Q, A, G exactly 0 after training");
	ok(all_zero(m.adam_m + nn_model_tensor(&m, "Q")->offset, c.d) &&
	   all_zero(m.adam_v + nn_model_tensor(&m, "A")->offset, c.d),
	   "and their Adam moments are 0");
	ok(m.adam_t == 30, "step counter = 30");
	nn_work_free(w);
	nn_model_free(&m);
}

/* One Adam step vs a double-precision reference, with L2 and clipping;
 * lazy rows untouched. */
static void
test_adam(void)
{
	NnConfig	c;
	NnModel		m;
	NnWork	   *w;
	TBatch		tb;
	float	   *g;
	float	   *before;
	double		loss;
	double		norm;
	double		clip;
	int			err;
	int			t;
	int			good = 1;
	int			checked = 0;
	int			untouched_ok = 1;
	int			untouched = 0;

	tiny_config(&c, "caser", NN_LOSS_BCE);
	c.M = 5;
	nn_config_set_data(&c, 40, 6, 1);
	c.l2 = 0.01f;
	c.clip_norm = 0.05f;
	make_model(&m, &c);
	tb_make(&tb, &c, 4, 3, 0);
	w = nn_work_create(&m, 4, 1, 1, &err);
	g = malloc(sizeof(float) * m.n_params);
	before = malloc(sizeof(float) * m.n_params);
	nn_forward_backward(&m, w, &tb.b, &loss);
	nn_work_gradient(w, &m, g);
	norm = nn_work_grad_norm(w);
	clip = norm > c.clip_norm ? c.clip_norm / norm : 1.0;
	ok(norm > c.clip_norm, "gradient norm %.3g is clipped to %.3g", norm, c.clip_norm);
	memcpy(before, m.params, sizeof(float) * m.n_params);
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_OK, "one step");
	for (t = 0; t < m.n_tensors; t++)
	{
		const NnTensor *tt = &m.tensors[t];
		int64_t		r;
		int64_t		k;

		for (r = 0; r < tt->rows; r++)
		{
			int			touched = 0;

			for (k = 0; k < tt->cols; k++)
				touched |= g[tt->offset + r * tt->cols + k] != 0.0f;
			if (tt->sparse && !touched)
			{
				/* lazy: untouched row keeps value and zero moments */
				for (k = 0; k < tt->cols; k++)
				{
					size_t		i = tt->offset + r * tt->cols + k;

					if (m.params[i] != before[i] || m.adam_m[i] != 0.0f || m.adam_v[i] != 0.0f)
						{ untouched_ok = 0; diag("row %ld of %s changed: %g -> %g m %g", (long) r, tt->name, before[i], m.params[i], m.adam_m[i]); }
				}
				untouched++;
				continue;
			}
			if ((tt->pad_row0 && r == 0))
				continue;
			for (k = 0; k < tt->cols; k++)
			{
				size_t		i = tt->offset + r * tt->cols + k;
				double		gi = g[i] * clip + (tt->l2 ? c.l2 * before[i] : 0.0);
				double		mm = (1.0 - c.beta1) * gi;
				double		vv = (1.0 - c.beta2) * gi * gi;
				double		want = before[i] - c.lr * (mm / (1.0 - c.beta1)) /
					(sqrt(vv / (1.0 - c.beta2)) + c.eps);

				if (fabs(m.params[i] - want) > 1e-6 + 1e-4 * fabs(want - before[i]))
					good = 0;
				checked++;
			}
		}
	}
	ok(good, "Adam update of %d values matches the reference (L2 on weights, clipping)", checked);
	ok(untouched_ok && untouched > 0, "%d untouched sparse rows unchanged (lazy Adam)", untouched);
	ok(m.Q[0] == 0.0f, "Q row 0 not updated");
	{
		NnModel		m2;

		ok(nn_model_init(&m2, &c, NULL, NULL, 0) == NN_OK &&
		   nn_train_step(&m2, w, &tb.b, &loss) == NN_ERR_STATE, "step without Adam state refused");
		nn_model_free(&m2);
	}
	free(g);
	free(before);
	tb_free(&tb);
	nn_work_free(w);
	nn_model_free(&m);
}

/* Run `steps` steps; return a malloc'd copy of params + Adam moments. */
static float *
run_copy(const NnConfig *c, int threads, int shards, int steps)
{
	NnModel		m;
	NnWork	   *w;
	float	   *out;
	int			err;

	make_model(&m, c);
	w = nn_work_create(&m, 16, threads, shards, &err);
	train_steps(&m, w, steps, 16, 500);
	out = malloc(sizeof(float) * 3 * m.n_params);
	memcpy(out, m.params, sizeof(float) * m.n_params);
	memcpy(out + m.n_params, m.adam_m, sizeof(float) * 2 * m.n_params);
	nn_work_free(w);
	nn_model_free(&m);
	return out;
}

static void
test_determinism(void)
{
	static const NnLoss losses[] = {NN_LOSS_BCE, NN_LOSS_SOFTMAX_SAMPLED, NN_LOSS_SOFTMAX_FULL};
	NnConfig	c;
	int			l;

	for (l = 0; l < 3; l++)
	{
		float	   *a;
		float	   *b;
		float	   *run_keep;
		size_t		n;

		tiny_config(&c, "tacaser", losses[l]);
		nn_config_set_data(&c, 60, 9, 3);
		c.act_conv = c.act_fc = NN_ACT_RELU;
		c.dropout = 0.5f;
		c.user_dropout = 0.1f;
		n = 3 * nn_model_param_count(&c);
		a = run_copy(&c, 1, 1, 12);
		b = run_copy(&c, 1, 1, 12);
		ok(memcmp(a, b, sizeof(float) * n) == 0,
		   "%s: same seed, 1 thread: identical parameters and moments", nn_loss_name(c.loss));
		free(a);
		free(b);
		a = run_copy(&c, 1, 2, 12);
		b = run_copy(&c, 2, 2, 12);
		ok(memcmp(a, b, sizeof(float) * n) == 0,
		   "%s: 2 shards on 1 thread == 2 shards on 2 threads (bitwise)", nn_loss_name(c.loss));
		free(a);
		free(b);
		a = run_copy(&c, 1, 3, 12);
		b = run_copy(&c, 2, 3, 12);
		ok(memcmp(a, b, sizeof(float) * n) == 0,
		   "%s: 3 shards on 1 thread == 3 shards on 2 threads (bitwise)", nn_loss_name(c.loss));
		free(a);
		free(b);
		b = run_copy(&c, 1, 1, 12);
		run_keep = run_copy(&c, 2, 2, 12);
		ok(max_abs_diff(b, run_keep, n / 3) < 1e-3,
		   "%s: 1 shard vs 2 shards: parameters agree to rounding (%.2g)", nn_loss_name(c.loss),
		   max_abs_diff(b, run_keep, n / 3));
		free(b);
		free(run_keep);
	}
}

/* NaN / Inf and bad batches leave the model unchanged. */
static void
test_nonfinite(void)
{
	NnConfig	c;
	NnModel		m;
	NnWork	   *w;
	TBatch		tb;
	float	   *snap;
	double		loss;
	int			err;
	int			rc;
	float		save;
	size_t		n;

	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_SAMPLED);
	make_model(&m, &c);
	w = nn_work_create(&m, 4, 1, 1, &err);
	tb_make(&tb, &c, 4, 11, 2);
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_OK, "a normal step");
	n = m.n_params;
	snap = malloc(sizeof(float) * 3 * n);

#define SNAP() (memcpy(snap, m.params, sizeof(float) * n), memcpy(snap + n, m.adam_m, sizeof(float) * 2 * n))
#define SAME() (memcmp(snap, m.params, sizeof(float) * n) == 0 && \
				memcmp(snap + n, m.adam_m, sizeof(float) * 2 * n) == 0 && m.adam_t == 1)

	save = m.W1[3];
	m.W1[3] = NAN;
	SNAP();
	rc = nn_train_step(&m, w, &tb.b, &loss);
	ok(rc == NN_ERR_NONFINITE && SAME(), "NaN weight: NN_ERR_NONFINITE, nothing changed (%s)",
	   nn_strerror(rc));
	m.W1[3] = save;

	save = m.Q[(size_t) tb.items[4] * c.d + 1];
	m.Q[(size_t) tb.items[4] * c.d + 1] = INFINITY;
	SNAP();
	rc = nn_train_step(&m, w, &tb.b, &loss);
	ok(rc == NN_ERR_NONFINITE && SAME(), "Inf embedding: NN_ERR_NONFINITE, nothing changed");
	m.Q[(size_t) tb.items[4] * c.d + 1] = save;

	save = m.b2[tb.targets[0]];
	m.b2[tb.targets[0]] = INFINITY;
	SNAP();
	rc = nn_train_step(&m, w, &tb.b, &loss);
	ok(rc == NN_ERR_NONFINITE && SAME(), "infinite logit: NN_ERR_NONFINITE, nothing changed");
	m.b2[tb.targets[0]] = save;

	{
		float		saved[4];
		float	   *pu = m.P + (size_t) tb.user[0] * c.d;

		memcpy(saved, pu, sizeof(saved));
		pu[0] = pu[1] = pu[2] = pu[3] = 1e30f;
		SNAP();
		rc = nn_train_step(&m, w, &tb.b, &loss);
		ok(rc == NN_ERR_NONFINITE && SAME(),
		   "gradient norm > 1e18 without clipping (Adam's g^2 would overflow): refused");
		memcpy(pu, saved, sizeof(saved));
	}

	tb.tdelta[4] = NAN;
	SNAP();
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_OK, "NaN gap ignored outside decay mode");
	ok(m.adam_t == 2, "that step counted");
	tb.items[2] = c.N;
	SNAP();
	rc = nn_train_step(&m, w, &tb.b, &loss);
	ok(rc == NN_ERR_BATCH && memcmp(snap, m.params, sizeof(float) * n) == 0,
	   "item id out of range: NN_ERR_BATCH, nothing changed");
	tb.items[2] = 1;
	tb.shared[0] = -1;
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_ERR_BATCH, "negative id < 0 rejected");
	tb.shared[0] = 1;
	tb.tbucket[(size_t) 0 * c.M + c.M - 1] = 0;
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_ERR_BATCH, "bucket 0 on a valid event rejected");
	tb.tbucket[(size_t) 0 * c.M + c.M - 1] = 1;
	tb.b.B = 5;
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_ERR_BATCH, "batch larger than the workspace rejected");
	tb.b.B = 4;
	ok(nn_train_step(&m, w, &tb.b, &loss) == NN_OK, "training continues");
#undef SNAP
#undef SAME
	free(snap);
	tb_free(&tb);
	nn_work_free(w);
	nn_model_free(&m);
}

/* Sampled softmax whose shared negatives are all items (T = 1) is the full
 * softmax: same loss, same gradients. */
static void
test_sampled_equals_full(void)
{
	NnConfig	c;
	NnModel		mf;
	NnModel		ms;
	NnWork	   *wf;
	NnWork	   *ws;
	TBatch		tb;
	float	   *gf;
	float	   *gs;
	double		lf;
	double		ls;
	int			err;
	int			i;

	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.T = 1;
	make_model(&mf, &c);
	c.loss = NN_LOSS_SOFTMAX_SAMPLED;
	c.negatives = c.N - 1;
	make_model(&ms, &c);
	memcpy(ms.params, mf.params, sizeof(float) * mf.n_params);
	tb_make(&tb, &c, 4, 21, 0);
	for (i = 0; i < c.N - 1; i++)
		tb.shared[i] = i + 1;
	wf = nn_work_create(&mf, 4, 1, 1, &err);
	ws = nn_work_create(&ms, 4, 1, 1, &err);
	gf = malloc(sizeof(float) * mf.n_params);
	gs = malloc(sizeof(float) * ms.n_params);
	nn_forward_backward(&mf, wf, &tb.b, &lf);
	nn_forward_backward(&ms, ws, &tb.b, &ls);
	nn_work_gradient(wf, &mf, gf);
	nn_work_gradient(ws, &ms, gs);
	is_double(ls, lf, 1e-6, "sampled softmax over all items: same loss as full");
	ok(max_abs_diff(gf, gs, mf.n_params) < 1e-6, "and the same gradients (%.2g)",
	   max_abs_diff(gf, gs, mf.n_params));
	free(gf);
	free(gs);
	tb_free(&tb);
	nn_work_free(wf);
	nn_work_free(ws);
	nn_model_free(&mf);
	nn_model_free(&ms);
}

/* ---- toy sequence (§5.14 self-check 3) ----------------------------- */

#define TOY_ITEMS 20

/* Item after x in the cycle 1, 2, ..., 20, 1, ... */
static int32_t
toy_next(int32_t x)
{
	return x % TOY_ITEMS + 1;
}

/* Fill row b with a random run of the cycle and its next item. */
static void
toy_row(const NnConfig *c, NnRng *r, int b, int32_t *user, int32_t *items, int32_t *ev,
		int32_t *g, float *dt, int32_t *tgt, int32_t *neg, int nr)
{
	int			M = c->M;
	int			n = 1 + (int) nn_rng_below(r, M);
	int32_t		x = 1 + (int32_t) nn_rng_below(r, TOY_ITEMS);
	int64_t		ts[64];
	int			l;
	int			j;

	user[b] = (int32_t) nn_rng_below(r, c->U);
	for (l = 0; l < M; l++)
	{
		int			valid = l >= M - n;

		items[(size_t) b * M + l] = valid ? x : 0;
		ev[(size_t) b * M + l] = valid ? 1 : 0;
		ts[l] = 3600 * (int64_t) l;
		if (valid && l < M - 1)
			x = toy_next(x);
	}
	nn_time_features(c, M, items + (size_t) b * M, ts, 0, g + (size_t) b * M,
					 dt + (size_t) b * M);
	tgt[b] = toy_next(x);
	for (j = 0; j < nr; j++)
	{
		int32_t		v;

		do
			v = 1 + (int32_t) nn_rng_below(r, TOY_ITEMS);
		while (v == tgt[b]);
		neg[(size_t) b * nr + j] = v;
	}
}

/* Train on the toy cycle; return HR@1 over every (start, length). */
static double
toy_hr1(const char *preset, NnLoss loss, int steps)
{
	NnConfig	c;
	NnModel		m;
	NnWork	   *w;
	NnInfer    *inf;
	NnRng		r;
	int			B = 32;
	int32_t		user[32];
	int32_t		items[32 * 8];
	int32_t		ev[32 * 8];
	int32_t		g[32 * 8];
	float		dt[32 * 8];
	int32_t		tgt[32];
	int32_t		neg[32 * 3];
	int32_t		shared[8];
	float		x[64];
	float		scores[TOY_ITEMS + 1];
	NnBatch		b;
	int			s;
	int			i;
	int			hits = 0;
	int			total = 0;
	int			err;

	nn_config_preset(&c, preset);
	c.d = 16;
	c.L = 3;
	c.M = strcmp(preset, "caser") == 0 ? 3 : 8;
	c.T = 1;
	c.nh = 4;
	c.nv = 2;
	c.n_G = 8;
	c.dropout = 0.1f;
	c.lr = 0.01f;
	c.loss = loss;
	c.negatives = 3;
	nn_config_set_data(&c, TOY_ITEMS + 1, 4, 2);
	if (loss == NN_LOSS_SOFTMAX_SAMPLED)
		c.negatives = 8;
	make_model(&m, &c);
	w = nn_work_create(&m, B, 1, 1, &err);
	inf = nn_infer_create(&m, 1);
	nn_rng_seed(&r, 3, 3);
	memset(&b, 0, sizeof(b));
	b.B = B;
	b.user = user;
	b.items = items;
	b.events = ev;
	b.tbucket = g;
	b.tdelta = dt;
	b.targets = tgt;
	b.neg = neg;
	b.shared_neg = shared;
	for (s = 0; s < steps; s++)
	{
		double		loss_v;

		for (i = 0; i < B; i++)
			toy_row(&c, &r, i, user, items, ev, g, dt, tgt, neg, nn_config_neg_per_row(&c));
		for (i = 0; i < nn_config_neg_shared(&c); i++)
			shared[i] = 1 + (int32_t) nn_rng_below(&r, TOY_ITEMS);
		if (nn_train_step(&m, w, &b, &loss_v) != NN_OK)
			break;
	}
	/* every start item and history length, every user */
	for (i = 0; i < 200; i++)
	{
		int			j;
		int			best = 1;

		toy_row(&c, &r, 0, user, items, ev, g, dt, tgt, neg, 0);
		b.B = 1;
		nn_user_vector(&m, inf, &b, 0, x, NULL);
		nn_score_all(&m, x, scores);
		for (j = 2; j <= TOY_ITEMS; j++)
			if (scores[j] > scores[best])
				best = j;
		hits += best == tgt[0];
		total++;
	}
	nn_infer_free(inf);
	nn_work_free(w);
	nn_model_free(&m);
	return (double) hits / total;
}

static void
test_toy(void)
{
	double		hr;

	hr = toy_hr1("tacaser", NN_LOSS_SOFTMAX_FULL, 300);
	ok(hr >= 0.95, "toy sequence, tacaser full softmax: HR@1 = %.3f", hr);
	hr = toy_hr1("tacaser", NN_LOSS_SOFTMAX_SAMPLED, 300);
	ok(hr >= 0.95, "toy sequence, tacaser sampled softmax: HR@1 = %.3f", hr);
	hr = toy_hr1("caser", NN_LOSS_BCE, 400);
	ok(hr >= 0.95, "toy sequence, caser bce: HR@1 = %.3f", hr);
	hr = toy_hr1("caser", NN_LOSS_BPR, 400);
	ok(hr >= 0.95, "toy sequence, caser bpr: HR@1 = %.3f", hr);
}

int
main(void)
{
	test_config();
	test_time();
	test_layout();
	test_padding();
	test_forward_reference();
	test_loss_reference();
	test_blas();
	test_scoring();
	test_pad_rows();
	test_adam();
	test_determinism();
	test_nonfinite();
	test_sampled_equals_full();
	test_toy();
	return done_testing();
}
