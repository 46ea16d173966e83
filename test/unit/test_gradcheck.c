/*
 * test_gradcheck.c
 *		Finite-difference check of every parameter tensor (model-spec.md
 *		§5.14 self-check 1): tiny sizes (N=7, U=3, n_E=3, n_G=6, d=4, L=3,
 *		M=5, nh=2, nv=2), tanh activations, central differences with
 *		eps = 1e-3, both presets, every loss, the decay time mode, per-event
 *		target weights, user dropout and feature dropout (their masks are
 *		drawn from (seed, step, row), so the loss is a fixed function during
 *		the check), a two-shard run, and the item-category tables (C_in,
 *		C_out, c_b of category.c: input, output and both, full softmax and
 *		the sparse-W2 losses, one and two shards; items share categories and
 *		one item has none).
 *
 * Criterion per tensor: ||g_a - g_n|| <= 1e-2 * max(||g_a||, ||g_n||)
 * + 2e-5 * sqrt(n), and every element within 1e-2 relative or 1e-4
 * absolute.  The absolute terms are the float32 noise of the numeric
 * derivative: the loss is summed in double but the scores are float, so
 * the loss difference carries ~1e-7 of rounding, i.e. ~5e-5 per element at
 * eps = 1e-3 (it shrinks 10x at eps = 1e-2, which confirms it is noise).
 * To keep the relative criterion meaningful, the check runs at a point
 * where the gradients are well above that noise: the embeddings (x4) and
 * W_K (x2) are scaled up from the init, which makes the attention peaked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "nn_fixture.h"

#define EPS 1e-3f

/* Move to a more informative point than the init: larger embeddings make
 * the attention peaked and every gradient well above the float32 noise. */
static void
sharpen(NnModel *m)
{
	static const char *const names[] = {"Q", "A", "G", "P", "WK"};
	int			i;
	size_t		j;

	for (i = 0; i < 5; i++)
	{
		const NnTensor *t = nn_model_tensor(m, names[i]);

		for (j = 0; j < (size_t) (t->rows * t->cols); j++)
			m->params[t->offset + j] *= (i == 4) ? 2.0f : 4.0f;
	}
}

/* Finite-difference check of n values at p (analytic gradient ga);
 * returns 1 on failure.  The effective tables are refreshed after every
 * perturbation (a no-op without category tables). */
static int
check_block(const char *label, const char *name, NnModel *m, NnWork *w, TBatch *tb,
			float *p0, const float *ga, size_t n)
{
	double		diff2 = 0.0;
	double		a2 = 0.0;
	double		n2 = 0.0;
	double		worst = 0.0;
	size_t		worst_i = 0;
	size_t		i;
	int			elem_ok = 1;

	for (i = 0; i < n; i++)
	{
		float	   *p = p0 + i;
		float		save = *p;
		double		lp;
		double		lm;
		double		num;
		double		a = ga[i];
		double		e;

		*p = save + EPS;
		nn_model_category_sync(m);
		nn_forward_loss(m, w, &tb->b, &lp);
		*p = save - EPS;
		nn_model_category_sync(m);
		nn_forward_loss(m, w, &tb->b, &lm);
		*p = save;
		nn_model_category_sync(m);
		/* the perturbation actually applied, in float */
		num = (lp - lm) / ((double) (save + EPS) - (double) (save - EPS));
		diff2 += (a - num) * (a - num);
		a2 += a * a;
		n2 += num * num;
		e = fabs(a - num);
		if (e > 1e-4 && e > 1e-2 * fmax(fabs(a), fabs(num)))
		{
			elem_ok = 0;
			if (e > worst)
			{
				worst = e;
				worst_i = i;
			}
		}
	}
	{
		double		scale = fmax(sqrt(a2), sqrt(n2));
		double		rel = sqrt(diff2) / fmax(scale, 1e-12);
		int			good = sqrt(diff2) <= 1e-2 * scale + 2e-5 * sqrt((double) n) && elem_ok;

		if (!ok(good, "%s: d%s (%zu values, |g| %.3g, rel err %.2g)", label,
				name, n, scale, rel))
		{
			diag("worst element %zu: analytic %.6g, error %.3g", worst_i,
				 ga[worst_i], worst);
			return 1;
		}
	}
	return 0;
}

/* Item -> category map of the category checks (N = 7, n_C = 4): items
 * 1, 3 share category 1, items 2, 6 category 2, item 4 category 3, item
 * 5 has none. */
static const int32_t test_item_cat[7] = {0, 1, 2, 1, 3, 0, 2};

/* Check all tensors of one configuration (and its category tables when
 * cat != 0: use_category = cat, n_C = 4, random category tables); returns
 * the number of failures. */
static int
gradcheck_cat(const char *label, NnConfig *c, int B, int shards, int flags, int cat)
{
	NnModel		m;
	NnWork	   *w;
	TBatch		tb;
	float	   *ga;
	float	   *gc;
	double		loss;
	int			err;
	int			t;
	int			fails = 0;

	if (cat)
	{
		c->use_category = cat;
		c->n_C = 4;
	}
	if (make_model(&m, c) != NN_OK)
		return ok(0, "%s: model", label), 1;
	sharpen(&m);
	if (cat)
	{
		NnRng		r;
		size_t		j;

		if (!ok(nn_model_set_categories(&m, test_item_cat) == NN_OK, "%s: category map", label))
			return 1;
		/* a point away from the zero init; PAD row 0 stays 0 */
		nn_rng_seed(&r, 7, 7);
		for (j = 0; j < m.n_cat_params; j++)
			m.cat_params[j] = (float) (0.5 * nn_rng_normal(&r));
		memset(m.Cin, 0, sizeof(float) * c->d);
		memset(m.Cout, 0, sizeof(float) * 2 * c->d);
		m.cb[0] = 0.0f;
	}
	nn_model_category_sync(&m);
	tb_make(&tb, c, B, 42, flags);
	w = nn_work_create(&m, B, 1, shards, &err);
	if (!ok(w != NULL, "%s: workspace", label))
		return 1;
	ga = malloc(sizeof(float) * m.n_params);
	gc = malloc(sizeof(float) * (m.n_cat_params + 1));
	err = nn_forward_backward(&m, w, &tb.b, &loss);
	ok(err == NN_OK && isfinite(loss) && loss > 0, "%s: forward/backward (loss %.5f)", label, loss);
	nn_work_gradient(w, &m, ga);
	nn_work_category_gradient(w, &m, gc);

	for (t = 0; t < m.n_tensors; t++)
	{
		const NnTensor *tt = &m.tensors[t];
		size_t		n = (size_t) (tt->rows * tt->cols);

		if (n == 0)
			continue;
		fails += check_block(label, tt->name, &m, w, &tb, m.params + tt->offset,
							 ga + tt->offset, n);
	}
	if (cat)
	{
		size_t		nC = (size_t) c->n_C;
		size_t		d = (size_t) c->d;

		/* rows 1..n_C-1 of each table; a disabled table must get no gradient */
		if (cat & NN_CAT_INPUT)
			fails += check_block(label, "C_in", &m, w, &tb, m.Cin + d, gc + d, (nC - 1) * d);
		if (cat & NN_CAT_OUTPUT)
		{
			fails += check_block(label, "C_out", &m, w, &tb, m.Cout + 2 * d,
								 gc + nC * d + 2 * d, (nC - 1) * 2 * d);
			fails += check_block(label, "c_b", &m, w, &tb, m.cb + 1, gc + nC * 3 * d + 1, nC - 1);
		}
		if (cat != NN_CAT_BOTH)
		{
			size_t		j;
			size_t		lo = (cat & NN_CAT_INPUT) ? nC * d : 0;
			size_t		hi = (cat & NN_CAT_INPUT) ? m.n_cat_params : nC * d;
			int			zero = 1;

			for (j = lo; j < hi; j++)
				zero &= gc[j] == 0.0f;
			fails += !ok(zero, "%s: the disabled category table gets no gradient", label);
		}
	}
	free(gc);
	free(ga);
	tb_free(&tb);
	nn_work_free(w);
	nn_model_free(&m);
	return fails;
}

/* Check all tensors of one configuration; returns the number of failures. */
static int
gradcheck(const char *label, NnConfig *c, int B, int shards, int flags)
{
	return gradcheck_cat(label, c, B, shards, flags, 0);
}

int
main(void)
{
	static const NnLoss losses[] = {NN_LOSS_BCE, NN_LOSS_BCE_PER_TARGET, NN_LOSS_BPR,
	NN_LOSS_SOFTMAX_SAMPLED, NN_LOSS_SOFTMAX_FULL};
	static const char *const presets[] = {"tacaser", "caser"};
	char		label[128];
	NnConfig	c;
	int			p;
	int			l;

	is_double(nn_time_bucket(0, 6), 1, 0, "bucket of a zero gap is 1");
	for (p = 0; p < 2; p++)
		for (l = 0; l < 5; l++)
		{
			tiny_config(&c, presets[p], losses[l]);
			if (p == 1)
				c.M = 5;		/* conv uses the last L = 3 of M = 5 */
			snprintf(label, sizeof(label), "%s/%s", presets[p], nn_loss_name(c.loss));
			gradcheck(label, &c, 4, 1, 2);
		}

	/* caser exactly: M = L, unmasked max over padded windows */
	tiny_config(&c, "caser", NN_LOSS_BCE);
	c.M = c.L;
	gradcheck("caser M=L/bce", &c, 4, 1, 0);

	/* decay time term, per-event target weights, user dropout */
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.time_mode = NN_TIME_DECAY;
	c.use_target_weights = 1;
	c.target_weights[1] = 1.0f;
	c.target_weights[2] = 2.5f;
	c.user_dropout = 0.5f;
	gradcheck("tacaser decay+weights+userdrop/softmax_full", &c, 4, 1, 1);
	c.loss = NN_LOSS_BCE;
	gradcheck("tacaser decay+weights/bce", &c, 4, 1, 1);
	c.loss = NN_LOSS_BPR;
	gradcheck("tacaser decay+weights/bpr", &c, 4, 1, 1);
	c.loss = NN_LOSS_SOFTMAX_SAMPLED;
	gradcheck("tacaser decay+weights/softmax_sampled", &c, 4, 1, 3);

	/* time mode none, sigmoid / identity activations, dropout on */
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.time_mode = NN_TIME_NONE;
	c.act_conv = NN_ACT_IDENTITY;
	c.act_fc = NN_ACT_SIGMOID;
	c.dropout = 0.3f;
	gradcheck("tacaser none+sigmoid+dropout/softmax_full", &c, 4, 1, 0);

	/* two shards: the reduction over shards gives the same gradient */
	tiny_config(&c, "tacaser", NN_LOSS_BCE);
	gradcheck("tacaser 2 shards/bce", &c, 5, 2, 0);
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_SAMPLED);
	gradcheck("tacaser 2 shards/softmax_sampled", &c, 5, 2, 2);

	/* item-category tables: both, input only, output only; full softmax
	 * (dense W2 gradient) and sparse W2 rows; two shards; caser */
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	gradcheck_cat("tacaser category on/softmax_full", &c, 4, 1, 2, NN_CAT_BOTH);
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	gradcheck_cat("tacaser category input/softmax_full", &c, 4, 1, 2, NN_CAT_INPUT);
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	gradcheck_cat("tacaser category output/softmax_full", &c, 4, 1, 2, NN_CAT_OUTPUT);
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_SAMPLED);
	gradcheck_cat("tacaser category on/softmax_sampled", &c, 4, 1, 3, NN_CAT_BOTH);
	tiny_config(&c, "tacaser", NN_LOSS_BCE);
	gradcheck_cat("tacaser category on 2 shards/bce", &c, 5, 2, 0, NN_CAT_BOTH);
	tiny_config(&c, "caser", NN_LOSS_BCE_PER_TARGET);
	gradcheck_cat("caser category on/bce_per_target", &c, 4, 1, 2, NN_CAT_BOTH);

	return done_testing();
}
