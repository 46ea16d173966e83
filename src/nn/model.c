/*
 * model.c
 *		Parameter arena and tensor table (model-spec.md §5.4), initialisation
 *		and inference (§5.13).
 *
 * Tensor order in the arena (the blob order, §5.4 table order):
 *   Q, A, G, P, F_1..F_L, c_1..c_L, W_v, c_v, W_K, beta, theta, W1, b1, W2, b2
 * Every tensor is always listed; a switched-off component has rows = 0
 * (A without event embeddings, G without time embeddings, W_K / beta /
 * theta without attention or in the other time modes, F/c without the
 * horizontal path, W_v/c_v without the vertical path).
 *
 * Init (§5.4): each tensor draws from its own PCG32 stream
 * (seed, NN_TAG_INIT * 1000 + tensor index), so adding a tensor never
 * shifts the values of another.  Normal tables use std 1/d (1/(2d) for
 * W2); conv / linear layers U(+-1/sqrt(fan_in)); beta[g] = -0.1 (g-1);
 * theta = 0; b2 = 0; PAD rows (Q, A, G row 0) = 0.
 *
 * With active item-category tables (category.c) the model also owns them,
 * the item -> category map and the effective Q / W2 / b2, which the direct
 * pointers Q, W2, b2 then address; the arena keeps the base tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "model_impl.h"

/* ---- layout -------------------------------------------------------- */

/* Append a tensor to the table; returns its index. */
static int
add_tensor(NnModel *m, const char *name, int64_t rows, int64_t cols,
		   int sparse, int l2, int pad_row0)
{
	NnTensor   *t = &m->tensors[m->n_tensors];

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->rows = rows;
	t->cols = cols;
	t->offset = m->n_params;
	t->sparse = sparse;
	t->l2 = l2;
	t->pad_row0 = pad_row0;
	t->goff = NN_NO_OFFSET;
	if (!sparse)
	{
		t->goff = m->n_dense;
		m->n_dense += (size_t) (rows * cols);
	}
	m->n_params += (size_t) (rows * cols);
	return m->n_tensors++;
}

/* Build the tensor table of §5.4 for m->cfg (no memory yet). */
static void
build_layout(NnModel *m)
{
	const NnConfig *c = &m->cfg;
	int			att = c->use_attention;
	int			full = (c->loss == NN_LOSS_SOFTMAX_FULL);
	int			need_beta = att && c->time_mode == NN_TIME_BUCKET;
	int			h;
	char		name[8];

	m->Dv = c->use_vertical ? c->nv * c->d : 0;
	m->Dh = c->use_horizontal ? c->nh * c->L : 0;
	m->Da = att ? c->d : 0;
	m->Dc = m->Dv + m->Dh + m->Da;
	m->n_tensors = 0;
	m->n_params = 0;
	m->n_dense = 0;

	add_tensor(m, "Q", c->N, c->d, 1, 1, 1);
	add_tensor(m, "A", c->use_event_emb ? c->n_E : 0, c->d, 0, 1, 1);
	add_tensor(m, "G", c->use_time_emb ? c->n_G : 0, c->d, 0, 1, 1);
	add_tensor(m, "P", c->U, c->d, 1, 1, 0);
	for (h = 1; h <= c->L; h++)
	{
		snprintf(name, sizeof(name), "F%d", h % 100);
		add_tensor(m, name, c->use_horizontal ? c->nh : 0, (int64_t) h * c->d, 0, 1, 0);
	}
	m->t_F1 = NN_T_F1;
	m->t_c1 = m->n_tensors;
	for (h = 1; h <= c->L; h++)
	{
		snprintf(name, sizeof(name), "c%d", h % 100);
		add_tensor(m, name, c->use_horizontal ? c->nh : 0, 1, 0, 0, 0);
	}
	m->t_Wv = add_tensor(m, "Wv", c->use_vertical ? c->nv : 0, c->L, 0, 1, 0);
	m->t_cv = add_tensor(m, "cv", c->use_vertical ? c->nv : 0, 1, 0, 0, 0);
	m->t_WK = add_tensor(m, "WK", att ? c->d : 0, c->d, 0, 1, 0);
	m->t_beta = add_tensor(m, "beta", need_beta ? c->n_G : 0, 1, 0, 0, 0);
	m->t_theta = add_tensor(m, "theta", att && c->time_mode == NN_TIME_DECAY ? 1 : 0, 1, 0, 0, 0);
	m->t_W1 = add_tensor(m, "W1", c->d, m->Dc, 0, 1, 0);
	m->t_b1 = add_tensor(m, "b1", c->d, 1, 0, 0, 0);
	m->t_W2 = add_tensor(m, "W2", c->N, 2 * (int64_t) c->d, !full, 1, 0);
	m->t_b2 = add_tensor(m, "b2", c->N, 1, !full, 0, 0);
}

/* Pointer to tensor i in the arena, or NULL when empty. */
static float *
tensor_ptr(NnModel *m, int i)
{
	return m->tensors[i].rows > 0 ? m->params + m->tensors[i].offset : NULL;
}

/* Refresh the direct pointers after the arena is set. */
static void
bind_pointers(NnModel *m)
{
	int			h;

	m->Q = tensor_ptr(m, NN_T_Q);
	m->A = tensor_ptr(m, NN_T_A);
	m->G = tensor_ptr(m, NN_T_G);
	m->P = tensor_ptr(m, NN_T_P);
	for (h = 0; h < NN_MAX_L; h++)
	{
		m->F[h] = h < m->cfg.L ? tensor_ptr(m, m->t_F1 + h) : NULL;
		m->ch[h] = h < m->cfg.L ? tensor_ptr(m, m->t_c1 + h) : NULL;
	}
	m->Wv = tensor_ptr(m, m->t_Wv);
	m->cv = tensor_ptr(m, m->t_cv);
	m->WK = tensor_ptr(m, m->t_WK);
	m->beta = tensor_ptr(m, m->t_beta);
	m->theta = tensor_ptr(m, m->t_theta);
	m->W1 = tensor_ptr(m, m->t_W1);
	m->b1 = tensor_ptr(m, m->t_b1);
	m->W2 = tensor_ptr(m, m->t_W2);
	m->b2 = tensor_ptr(m, m->t_b2);
}

size_t
nn_model_param_count(const NnConfig *cfg)
{
	NnModel		tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.cfg = *cfg;
	build_layout(&tmp);
	return tmp.n_params;
}

/* Layout + arena; see model.h. */
int
nn_model_init(NnModel *m, const NnConfig *cfg, float *params, char *msg, size_t msglen)
{
	int			rc;

	memset(m, 0, sizeof(*m));
	rc = nn_config_validate(cfg, msg, msglen);
	if (rc != NN_OK)
		return rc;
	m->cfg = *cfg;
	build_layout(m);
	if (params != NULL)
		m->params = params;
	else
	{
		m->params = (float *) calloc(m->n_params, sizeof(float));
		if (m->params == NULL)
		{
			if (msg != NULL && msglen > 0)
				snprintf(msg, msglen, "cannot allocate %zu parameters", m->n_params);
			return NN_ERR_NOMEM;
		}
		m->owns_params = 1;
	}
	bind_pointers(m);
	if (nn_category_alloc(m) != NN_OK)
	{
		if (msg != NULL && msglen > 0)
			snprintf(msg, msglen, "cannot allocate the item-category tables");
		nn_model_free(m);
		return NN_ERR_NOMEM;
	}
	return NN_OK;
}

/* Fill tensor t with N(0, std) or U(-a, a) from its own stream. */
static void
init_random(NnModel *m, int t, int normal, double scale)
{
	NnTensor   *tt = &m->tensors[t];
	float	   *p = m->params + tt->offset;
	size_t		n = (size_t) (tt->rows * tt->cols);
	size_t		i;
	NnRng		r;

	nn_rng_seed(&r, m->cfg.seed, (uint64_t) NN_TAG_INIT * 1000 + (uint64_t) t);
	for (i = 0; i < n; i++)
		p[i] = normal ? (float) (scale * nn_rng_normal(&r))
			: (float) (scale * (2.0 * nn_rng_double(&r) - 1.0));
	if (tt->pad_row0 && tt->rows > 0)
		memset(p, 0, sizeof(float) * (size_t) tt->cols);
}

/* §5.4 initialisation. */
void
nn_model_init_weights(NnModel *m)
{
	const NnConfig *c = &m->cfg;
	double		d = c->d;
	int			h;
	int			g;

	init_random(m, NN_T_Q, 1, 1.0 / d);
	init_random(m, NN_T_A, 1, 1.0 / d);
	init_random(m, NN_T_G, 1, 1.0 / d);
	init_random(m, NN_T_P, 1, 1.0 / d);
	for (h = 1; h <= c->L; h++)
	{
		init_random(m, m->t_F1 + h - 1, 0, 1.0 / sqrt(h * d));
		init_random(m, m->t_c1 + h - 1, 0, 1.0 / sqrt(h * d));
	}
	init_random(m, m->t_Wv, 0, 1.0 / sqrt((double) c->L));
	init_random(m, m->t_cv, 0, 1.0 / sqrt((double) c->L));
	init_random(m, m->t_WK, 0, 1.0 / sqrt(d));
	if (m->beta != NULL)
	{
		m->beta[0] = 0.0f;
		for (g = 1; g < c->n_G; g++)
			m->beta[g] = -0.1f * (float) (g - 1);
	}
	if (m->theta != NULL)
		m->theta[0] = 0.0f;
	init_random(m, m->t_W1, 0, 1.0 / sqrt((double) m->Dc));
	init_random(m, m->t_b1, 0, 1.0 / sqrt((double) m->Dc));
	init_random(m, m->t_W2, 1, 1.0 / (2.0 * d));
	memset(tensor_ptr(m, m->t_b2), 0, sizeof(float) * (size_t) c->N);
	/* category tables start at 0: the effective tables equal the base ones */
	if (m->cat_params != NULL)
	{
		memset(m->cat_params, 0, sizeof(float) * m->n_cat_params);
		nn_model_category_sync(m);
	}
}

int
nn_model_alloc_adam(NnModel *m)
{
	if (m->adam_m != NULL)
		return NN_OK;
	m->adam_m = (float *) calloc(2 * m->n_params, sizeof(float));
	if (m->adam_m == NULL)
		return NN_ERR_NOMEM;
	m->adam_v = m->adam_m + m->n_params;
	m->adam_t = 0;
	return nn_category_alloc_adam(m);
}

void
nn_model_free(NnModel *m)
{
	nn_category_free(m);
	nn_cooc_free(&m->cooc);
	if (m->owns_params)
		free(m->params);
	free(m->adam_m);
	memset(m, 0, sizeof(*m));
}

const NnTensor *
nn_model_tensor(const NnModel *m, const char *name)
{
	int			i;

	for (i = 0; i < m->n_tensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

/* ---- inference (§5.13) --------------------------------------------- */

NnInfer *
nn_infer_create(const NnModel *m, int max_rows)
{
	NnInfer    *w;

	if (max_rows < 1)
		max_rows = 1;
	/* scorers read every effective row (category.c): refresh the cache */
	if (m->eff_stale)
		nn_model_category_sync((NnModel *) m);
	w = (NnInfer *) calloc(1, sizeof(NnInfer));
	if (w == NULL)
		return NULL;
	if (nn_prep_alloc(&w->prep, m, max_rows, NN_RUN_INFER) != NN_OK ||
		nn_shard_alloc(&w->shard, m, max_rows, NN_RUN_INFER) != NN_OK)
	{
		nn_infer_free(w);
		return NULL;
	}
	return w;
}

void
nn_infer_free(NnInfer *w)
{
	if (w == NULL)
		return;
	nn_prep_free(&w->prep);
	nn_shard_free(&w->shard);
	free(w->cooc_q);
	free(w->cooc_touched);
	free(w);
}

/* Rows [r0, r0+n) of a batch as a batch of its own (input fields only). */
static NnBatch
sub_batch(const NnModel *m, const NnBatch *in, int r0, int n)
{
	NnBatch		s;
	size_t		off = (size_t) r0 * m->cfg.M;

	memset(&s, 0, sizeof(s));
	s.B = n;
	s.user = in->user + r0;
	s.items = in->items + off;
	s.events = in->events ? in->events + off : NULL;
	s.tbucket = in->tbucket ? in->tbucket + off : NULL;
	s.tdelta = in->tdelta ? in->tdelta + off : NULL;
	return s;
}

/* Forward rows [r0, r0+n) (n <= capacity) into the workspace. */
static int
infer_chunk(const NnModel *m, NnInfer *w, const NnBatch *in, int r0, int n)
{
	NnBatch		s = sub_batch(m, in, r0, n);
	int			rc;

	rc = nn_prep_inputs(m, &w->prep, &s, NN_RUN_INFER, 0);
	if (rc != NN_OK)
		return rc;
	w->shard.row0 = 0;
	w->shard.rows = n;
	nn_shard_forward(m, &w->shard, &w->prep);
	return NN_OK;
}

/* User vectors of all rows; see model.h. */
int
nn_user_vectors(const NnModel *m, NnInfer *w, const NnBatch *in, float *X)
{
	NnInfer    *own = NULL;
	size_t		d2 = 2 * (size_t) m->cfg.d;
	int			r0;
	int			rc = NN_OK;

	if (in->B < 0)
		return NN_ERR_BATCH;
	if (w == NULL)
	{
		own = w = nn_infer_create(m, in->B < 256 ? in->B : 256);
		if (w == NULL)
			return NN_ERR_NOMEM;
	}
	for (r0 = 0; r0 < in->B && rc == NN_OK; r0 += w->shard.cap)
	{
		int			n = in->B - r0 < w->shard.cap ? in->B - r0 : w->shard.cap;

		rc = infer_chunk(m, w, in, r0, n);
		if (rc == NN_OK)
			memcpy(X + (size_t) r0 * d2, w->shard.Xo, sizeof(float) * d2 * (size_t) n);
	}
	nn_infer_free(own);
	return rc;
}

/* One row with its attention weights; see model.h. */
int
nn_user_vector(const NnModel *m, NnInfer *w, const NnBatch *in, int row,
			   float *x, float *alpha)
{
	NnInfer    *own = NULL;
	int			M = m->cfg.M;
	int			l;
	int			rc;

	if (row < 0 || row >= in->B)
		return NN_ERR_BATCH;
	if (w == NULL)
	{
		own = w = nn_infer_create(m, 1);
		if (w == NULL)
			return NN_ERR_NOMEM;
	}
	rc = infer_chunk(m, w, in, row, 1);
	if (rc == NN_OK)
	{
		memcpy(x, w->shard.Xo, sizeof(float) * 2 * (size_t) m->cfg.d);
		if (alpha != NULL)
		{
			/* packed position l came from input position srcpos[l] */
			memset(alpha, 0, sizeof(float) * (size_t) M);
			if (m->cfg.use_attention)
				for (l = M - w->prep.nvalid[0]; l < M; l++)
					alpha[w->prep.srcpos[l]] = w->shard.alpha[l];
		}
	}
	nn_infer_free(own);
	return rc;
}

/* scores = b2 + W2 x, scores[0] = -inf (one GEMV). */
void
nn_score_all(const NnModel *m, const float *x, float *scores)
{
	int			N = m->cfg.N;
	int			d2 = 2 * m->cfg.d;

	memcpy(scores, m->b2, sizeof(float) * (size_t) N);
	nn_sgemv(NN_NOTRANS, N, d2, 1.0f, m->W2, d2, x, 1.0f, scores);
	scores[0] = -INFINITY;
}

/* S = X W2^T + b2 for a block of users (one GEMM). */
void
nn_score_block(const NnModel *m, const float *X, int rows, float *S)
{
	int			N = m->cfg.N;
	int			d2 = 2 * m->cfg.d;
	int			r;
	int			i;

	nn_sgemm(NN_NOTRANS, NN_TRANS, rows, N, d2, 1.0f, X, d2, m->W2, d2, 0.0f, S, N);
	for (r = 0; r < rows; r++)
	{
		float	   *s = S + (size_t) r * N;

		for (i = 0; i < N; i++)
			s[i] += m->b2[i];
		s[0] = -INFINITY;
	}
}
