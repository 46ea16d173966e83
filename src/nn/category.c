/*
 * category.c
 *		Item-category tables (issue 6: side information for items whose
 *		category is known, e.g. Taobao's category column).  Not in
 *		model-spec.md; off unless NnConfig.use_category is set and the data
 *		has categories (n_C >= 2), and then nothing else changes: without
 *		them no code path below runs and every number stays bit-identical.
 *
 * Parametrisation (model.h): Q_eff[i] = Q[i] + C_in[cat(i)] (input side),
 * W2_eff[i] = W2[i] + C_out[cat(i)] and b2_eff[i] = b2[i] + c_b[cat(i)]
 * (output side).  The effective tables are materialised in m->eff and the
 * model's Q / W2 / b2 pointers point there, so the forward pass, the loss,
 * sampled-softmax gathering and every scorer run unchanged on them.  The
 * training step computes the gradients of the effective rows exactly as for
 * the base tables (the base gradient is the same), then
 *   dC_in[c] = sum of dQ[i] over the touched items i with cat(i) = c
 *   dC_out[c], dc_b[c] likewise from the W2 / b2 gradients (dense under full
 *   softmax, the touched rows otherwise),
 * in slot (first appearance) or item order, which depends on the batch only.
 * The category gradient joins the global norm (clipping, finiteness); Adam
 * runs densely on rows 1..n_C-1 (row 0 is PAD), with L2 on C_in and C_out
 * (weights) and none on c_b (a bias), after the base tables' update.
 *
 * Refreshing the effective tables.  Under full softmax every step scores
 * every item anyway, so all N rows are recomputed after each update (O(N d),
 * small next to the scoring GEMMs).  Under the sampled losses a step reads
 * only the rows of its batch, and recomputing all of them made training
 * 3.2x slower on a large catalogue (95,000 items, 256 shared negatives, 2
 * threads: 62,883 instances/s without categories, 19,896 with).  So there
 * the update only marks the tables stale, and the next step recomputes the
 * rows its batch reads (history items for C_in; targets and negatives for
 * C_out) before anything reads them; evaluation and folding recompute them
 * all first.  Each row is recomputed by the same code from the same
 * parameters either way, so both give bit-identical numbers.  The category
 * tables start at 0, so the first step sees the same effective tables as a
 * model without them.
 *
 * Serving does not pay: the trainer folds the tables into Q, W2 and b2 when
 * it keeps the best parameters and before it returns the model (the
 * effective tables are exactly what the forward pass used), so blobs, the
 * model cache and the scorers only ever see plain models.
 */
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "model_impl.h"

/* Base tensor pointer (never the effective table). */
static float *
base_ptr(const NnModel *m, int t)
{
	return m->tensors[t].rows > 0 ? m->params + m->tensors[t].offset : NULL;
}

/* Allocate the (zeroed) category tables, map and effective tables, and
 * point Q (input side) and W2, b2 (output side) at the effective ones;
 * a side without category tables keeps reading its base tables.  No-op
 * when inactive. */
int
nn_category_alloc(NnModel *m)
{
	const NnConfig *c = &m->cfg;
	size_t		N = (size_t) c->N;
	size_t		nC = (size_t) c->n_C;
	size_t		d = (size_t) c->d;
	int			in = (c->use_category & NN_CAT_INPUT) != 0;
	int			out = (c->use_category & NN_CAT_OUTPUT) != 0;

	if (!nn_config_category_active(c))
		return NN_OK;
	m->n_cat_params = nC * (3 * d + 1);
	m->cat_params = (float *) calloc(m->n_cat_params, sizeof(float));
	m->item_cat = (int32_t *) calloc(N, sizeof(int32_t));
	m->eff = (float *) calloc(N * ((in ? d : 0) + (out ? 2 * d + 1 : 0)), sizeof(float));
	if (m->cat_params == NULL || m->item_cat == NULL || m->eff == NULL)
		return NN_ERR_NOMEM;
	m->Cin = m->cat_params;
	m->Cout = m->Cin + nC * d;
	m->cb = m->Cout + nC * 2 * d;
	if (in)
		m->Q = m->eff;
	if (out)
	{
		m->W2 = m->eff + (in ? N * d : 0);
		m->b2 = m->W2 + N * 2 * d;
	}
	nn_model_category_sync(m);
	return NN_OK;
}

/* Free the category tables and their Adam state; Q, W2, b2 point back at
 * the base tables. */
void
nn_category_free(NnModel *m)
{
	free(m->cat_params);
	free(m->cat_adam_m);		/* m and v share one allocation */
	free(m->item_cat);
	free(m->eff);
	m->cat_params = m->Cin = m->Cout = m->cb = NULL;
	m->cat_adam_m = m->cat_adam_v = NULL;
	m->item_cat = NULL;
	m->eff = NULL;
	m->n_cat_params = 0;
	if (m->params != NULL)
	{
		m->Q = base_ptr(m, NN_T_Q);
		m->W2 = base_ptr(m, m->t_W2);
		m->b2 = base_ptr(m, m->t_b2);
	}
}

/* Zeroed Adam state of the category tables (idempotent). */
int
nn_category_alloc_adam(NnModel *m)
{
	if (m->cat_params == NULL || m->cat_adam_m != NULL)
		return NN_OK;
	m->cat_adam_m = (float *) calloc(2 * m->n_cat_params, sizeof(float));
	if (m->cat_adam_m == NULL)
		return NN_ERR_NOMEM;
	m->cat_adam_v = m->cat_adam_m + m->n_cat_params;
	return NN_OK;
}

/* Item -> category map; see model.h. */
int
nn_model_set_categories(NnModel *m, const int32_t *item_cat)
{
	int32_t		i;

	if (m->item_cat == NULL)
		return NN_ERR_STATE;
	for (i = 1; i < m->cfg.N; i++)
		if (item_cat[i] < 0 || item_cat[i] >= m->cfg.n_C)
			return NN_ERR_BATCH;
	memcpy(m->item_cat, item_cat, sizeof(int32_t) * (size_t) m->cfg.N);
	m->item_cat[0] = 0;
	nn_model_category_sync(m);
	return NN_OK;
}

/* Effective input row i: Q[i] + C_in[cat(i)] (input side only). */
static void
refresh_q_row(NnModel *m, int32_t i)
{
	size_t		d = (size_t) m->cfg.d;
	size_t		k = (size_t) m->item_cat[i];

	memcpy(m->Q + (size_t) i * d, base_ptr(m, NN_T_Q) + (size_t) i * d, sizeof(float) * d);
	if (k != 0)
		nn_saxpy((int) d, 1.0f, m->Cin + k * d, m->Q + (size_t) i * d);
}

/* Effective output row i: W2[i] + C_out[cat(i)], b2[i] + c_b[cat(i)]
 * (output side only). */
static void
refresh_w_row(NnModel *m, int32_t i)
{
	size_t		d2 = 2 * (size_t) m->cfg.d;
	size_t		k = (size_t) m->item_cat[i];

	memcpy(m->W2 + (size_t) i * d2, base_ptr(m, m->t_W2) + (size_t) i * d2, sizeof(float) * d2);
	m->b2[i] = base_ptr(m, m->t_b2)[i];
	if (k != 0)
	{
		nn_saxpy((int) d2, 1.0f, m->Cout + k * d2, m->W2 + (size_t) i * d2);
		m->b2[i] += m->cb[k];
	}
}

/* Effective tables from base + category tables; see model.h. */
void
nn_model_category_sync(NnModel *m)
{
	int			in = (m->cfg.use_category & NN_CAT_INPUT) != 0;
	int			out = (m->cfg.use_category & NN_CAT_OUTPUT) != 0;
	int32_t		i;

	if (m->eff == NULL)
		return;
	/* row 0 (PAD) has no category: a plain copy */
	for (i = 0; i < m->cfg.N; i++)
	{
		if (in)
			refresh_q_row(m, i);
		if (out)
			refresh_w_row(m, i);
	}
	m->eff_stale = 0;
}

/* Refresh the effective output rows of n item ids (out of range: skipped). */
static void
refresh_w_rows(NnModel *m, const int32_t *ids, size_t n)
{
	size_t		j;

	if (ids == NULL)
		return;
	for (j = 0; j < n; j++)
		if (ids[j] > 0 && ids[j] < m->cfg.N)
			refresh_w_row(m, ids[j]);
}

/* Rows of a batch; see model.h. */
void
nn_category_refresh_batch(const NnModel *cm, const NnBatch *b)
{
	NnModel    *m = (NnModel *) cm;	/* only the cache eff is written */
	const NnConfig *c = &m->cfg;
	size_t		B;
	size_t		j;

	if (!m->eff_stale || b == NULL || b->B < 1)
		return;
	B = (size_t) b->B;
	if ((c->use_category & NN_CAT_INPUT) && b->items != NULL)
		for (j = 0; j < B * c->M; j++)
			if (b->items[j] > 0 && b->items[j] < c->N)
				refresh_q_row(m, b->items[j]);
	if (c->use_category & NN_CAT_OUTPUT)
	{
		refresh_w_rows(m, b->targets, B * c->T);
		refresh_w_rows(m, b->neg, B * nn_config_neg_per_row(c));
		refresh_w_rows(m, b->shared_neg, nn_config_neg_shared(c));
	}
}

/* Folded copy of the parameters; see model.h. */
void
nn_model_folded_params(const NnModel *m, float *dst)
{
	const NnConfig *c = &m->cfg;

	if (dst != m->params)		/* folding in place copies nothing */
		memcpy(dst, m->params, sizeof(float) * m->n_params);
	if (m->eff == NULL)
		return;
	if (m->eff_stale)
		nn_model_category_sync((NnModel *) m);	/* the cache, see model.h */
	if (c->use_category & NN_CAT_INPUT)
		memcpy(dst + m->tensors[NN_T_Q].offset, m->Q, sizeof(float) * (size_t) c->N * c->d);
	if (c->use_category & NN_CAT_OUTPUT)
	{
		memcpy(dst + m->tensors[m->t_W2].offset, m->W2, sizeof(float) * (size_t) c->N * 2 * c->d);
		memcpy(dst + m->tensors[m->t_b2].offset, m->b2, sizeof(float) * (size_t) c->N);
	}
}

/* Fold in place and drop the tables; see model.h. */
void
nn_model_fold_categories(NnModel *m)
{
	if (m->eff == NULL)
		return;
	nn_model_folded_params(m, m->params);
	nn_category_free(m);
	m->cfg.n_C = 0;
	m->cfg.use_category = 0;
}

/* Category gradient from the reduced base gradients of the step (slots
 * of Q and W2, or the dense W2 / b2 gradient); returns its sum of squares. */
double
nn_category_reduce(const NnModel *m, NnWork *w)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			d2 = 2 * d;
	size_t		nC = (size_t) c->n_C;
	float	   *gin = w->cgrad;
	float	   *gout = gin + nC * d;
	float	   *gb = gout + nC * d2;
	double		ss = 0.0;
	size_t		j;
	int			k;

	memset(w->cgrad, 0, sizeof(float) * m->n_cat_params);
	if (c->use_category & NN_CAT_INPUT)
		for (k = 0; k < w->q.n; k++)
		{
			int32_t		cat = m->item_cat[w->q.rows[k]];

			if (cat > 0)
				nn_saxpy(d, 1.0f, w->q.grad + (size_t) k * d, gin + (size_t) cat * d);
		}
	if (c->use_category & NN_CAT_OUTPUT)
	{
		if (m->tensors[m->t_W2].sparse)
			for (k = 0; k < w->w.n; k++)
			{
				int32_t		cat = m->item_cat[w->w.rows[k]];

				if (cat > 0)
				{
					nn_saxpy(d2, 1.0f, w->w.grad + (size_t) k * d2, gout + (size_t) cat * d2);
					gb[cat] += w->w.grad_b[k];
				}
			}
		else
		{
			const float *gw = w->shards[0].grad + m->tensors[m->t_W2].goff;
			const float *gbias = w->shards[0].grad + m->tensors[m->t_b2].goff;
			int32_t		i;

			for (i = 1; i < c->N; i++)
			{
				int32_t		cat = m->item_cat[i];

				if (cat > 0)
				{
					nn_saxpy(d2, 1.0f, gw + (size_t) i * d2, gout + (size_t) cat * d2);
					gb[cat] += gbias[i];
				}
			}
		}
	}
	for (j = 0; j < m->n_cat_params; j++)
		ss += (double) w->cgrad[j] * w->cgrad[j];
	return ss;
}

/* Adam on rows 1..n_C-1 of the enabled category tables, then refresh the
 * effective tables or mark them stale (the base tables were updated just
 * before). */
void
nn_category_adam(NnModel *m, NnWork *w)
{
	const NnConfig *c = &m->cfg;
	size_t		nC = (size_t) c->n_C;
	size_t		d = (size_t) c->d;
	size_t		cols[3] = {d, 2 * d, 1};
	size_t		off[3] = {0, nC * d, nC * 3 * d};
	int			on[3] = {(c->use_category & NN_CAT_INPUT) != 0,
		(c->use_category & NN_CAT_OUTPUT) != 0, (c->use_category & NN_CAT_OUTPUT) != 0};
	int			t;

	for (t = 0; t < 3; t++)
	{
		/* skip row 0 (PAD): rows 1..n_C-1 are contiguous */
		size_t		o = off[t] + cols[t];

		if (!on[t])
			continue;
		nn_adam_range(m, w, m->cat_params + o, m->cat_adam_m + o, m->cat_adam_v + o,
					  w->cgrad + o, (nC - 1) * cols[t], w->clip, t < 2);
	}
	/* every row changed; sampled losses read few of them (file comment) */
	if (m->tensors[m->t_W2].sparse)
		m->eff_stale = 1;
	else
		nn_model_category_sync(m);
}
