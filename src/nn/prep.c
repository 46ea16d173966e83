/*
 * prep.c
 *		Batch preparation (model-spec.md §5.3.2, §5.6, §5.12): validation of
 *		an NnBatch, valid events packed to the right of each history, user
 *		dropout, target weights, candidate ids, loss normalisers, and the
 *		gathered output rows of sampled softmax.  Used by training (train.c)
 *		and inference (model.c).
 *
 * Batch contract (checked, NN_ERR_BATCH otherwise): ids in range; valid
 * history positions need an event id in [0, n_E) and a bucket in
 * [1, n_G) where those inputs are used; time gaps finite; target weights
 * finite and >= 0.  PAD holes inside a history are dropped (the valid
 * events are packed to the right), which is how §5.12 point 5 wants unknown
 * items treated.  Masks: user dropout is drawn from (seed, step, row), like
 * the feature dropout of layers.c, so it does not depend on sharding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

/* ---- prepared batch ------------------------------------------------ */

/* Allocate the prepared-batch buffers for up to cap rows. */
int
nn_prep_alloc(NnPrep *p, const NnModel *m, int cap, int mode)
{
	const NnConfig *c = &m->cfg;
	size_t		BM = (size_t) cap * c->M;
	int			K = nn_config_neg_shared(c);

	memset(p, 0, sizeof(*p));
	p->cap = cap;
	p->Kc = c->T + nn_config_neg_per_row(c);
	p->ny = nn_loss_ny(c);
	p->K = K;
	p->user = (int32_t *) malloc(sizeof(int32_t) * cap);
	p->items = (int32_t *) malloc(sizeof(int32_t) * BM);
	p->events = (int32_t *) malloc(sizeof(int32_t) * BM);
	p->tbucket = (int32_t *) malloc(sizeof(int32_t) * BM);
	p->lnd = (float *) malloc(sizeof(float) * BM);
	p->srcpos = (int32_t *) malloc(sizeof(int32_t) * BM);
	p->nvalid = (int32_t *) malloc(sizeof(int32_t) * cap);
	if (mode >= NN_RUN_LOSS)
	{
		p->cand = (int32_t *) malloc(sizeof(int32_t) * ((size_t) cap * p->Kc + 1));
		p->wt = (float *) malloc(sizeof(float) * (size_t) cap * c->T);
		p->W2C = (float *) malloc(sizeof(float) * ((size_t) K * 2 * c->d + 1));
		p->b2C = (float *) malloc(sizeof(float) * ((size_t) K + 1));
		if (p->cand == NULL || p->wt == NULL || p->W2C == NULL || p->b2C == NULL)
		{
			nn_prep_free(p);
			return NN_ERR_NOMEM;
		}
	}
	if (p->user == NULL || p->items == NULL || p->events == NULL ||
		p->tbucket == NULL || p->lnd == NULL || p->srcpos == NULL || p->nvalid == NULL)
	{
		nn_prep_free(p);
		return NN_ERR_NOMEM;
	}
	return NN_OK;
}

void
nn_prep_free(NnPrep *p)
{
	free(p->user);
	free(p->items);
	free(p->events);
	free(p->tbucket);
	free(p->lnd);
	free(p->srcpos);
	free(p->nvalid);
	free(p->cand);
	free(p->wt);
	free(p->W2C);
	free(p->b2C);
	memset(p, 0, sizeof(*p));
}

/* Pack row b's valid events to the right, checking their ids. */
static int
pack_history(const NnModel *m, NnPrep *p, const NnBatch *in, int b)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M;
	size_t		o = (size_t) b * M;
	int			need_g = (m->G != NULL) || (m->beta != NULL);
	int			need_dt = (m->theta != NULL);
	int			n = 0;
	int			l;

	for (l = M - 1; l >= 0; l--)
	{
		int32_t		s = in->items[o + l];
		size_t		dst;

		if (s < 0 || s >= c->N)
			return NN_ERR_BATCH;
		if (s == 0)
			continue;
		dst = o + (M - 1 - n);
		p->items[dst] = s;
		p->srcpos[dst] = l;
		p->events[dst] = m->A ? in->events[o + l] : 0;
		p->tbucket[dst] = need_g ? in->tbucket[o + l] : 0;
		p->lnd[dst] = 0.0f;
		if (p->events[dst] < 0 || p->events[dst] >= c->n_E)
			return NN_ERR_BATCH;
		if (need_g && (p->tbucket[dst] < 1 || p->tbucket[dst] >= c->n_G))
			return NN_ERR_BATCH;
		if (need_dt)
		{
			double		dt = in->tdelta[o + l];

			if (!isfinite(dt))
				return NN_ERR_BATCH;
			p->lnd[dst] = (float) log1p(fmax(dt, 0.0) / NN_DECAY_UNIT_SECONDS);
		}
		n++;
	}
	for (l = 0; l < M - n; l++)
	{
		p->items[o + l] = 0;
		p->srcpos[o + l] = l;
		p->events[o + l] = 0;
		p->tbucket[o + l] = 0;
		p->lnd[o + l] = 0.0f;
	}
	p->nvalid[b] = n;
	return NN_OK;
}

/* Effective user of row b: user dropout in training (§5.12 point 2). */
static int
row_user(const NnModel *m, const NnPrep *p, const NnBatch *in, int b, int mode)
{
	const NnConfig *c = &m->cfg;
	int32_t		u = in->user[b];

	if (u < 0 || u >= c->U)
		return -1;
	if (mode >= NN_RUN_LOSS && c->user_dropout > 0.0f)
	{
		NnRng		r;

		nn_rng_for_row(&r, c->seed, NN_TAG_USERDROP, p->step, (uint64_t) b);
		if (nn_rng_float(&r) < c->user_dropout)
			u = 0;
	}
	return u;
}

/* Weight of a real target (§5.3.2 w_b[t], §5.11); -1 if invalid. */
static double
target_weight(const NnConfig *c, const NnBatch *in, size_t k)
{
	double		w = 1.0;

	if (in->target_w != NULL)
		w = in->target_w[k];
	else if (c->use_target_weights && in->target_events != NULL)
	{
		int32_t		e = in->target_events[k];

		if (e < 0 || e >= c->n_E)
			return -1.0;
		if (e < NN_MAX_EVENT_TYPES)
			w = c->target_weights[e];
	}
	return (isfinite(w) && w >= 0.0) ? w : -1.0;
}

/* Targets, weights, candidate ids and the loss normalisers. */
static int
prep_targets(const NnModel *m, NnPrep *p, const NnBatch *in)
{
	const NnConfig *c = &m->cfg;
	int			T = c->T;
	int			nr = nn_config_neg_per_row(c);
	int			b;
	int			j;
	double		pairs = 0.0;

	p->n_pos = 0;
	for (b = 0; b < p->B; b++)
	{
		int32_t    *cand = p->cand + (size_t) b * p->Kc;
		int			npos_row = 0;
		int			nneg_row = 0;

		for (j = 0; j < T; j++)
		{
			size_t		k = (size_t) b * T + j;
			int32_t		id = in->targets[k];
			double		w;

			if (id < 0 || id >= c->N)
				return NN_ERR_BATCH;
			cand[j] = id;
			p->wt[k] = 0.0f;
			if (id == 0)
				continue;
			w = target_weight(c, in, k);
			if (w < 0.0 || (p->logq != NULL && !isfinite(p->logq[id])))
				return NN_ERR_BATCH;
			p->wt[k] = (float) w;
			npos_row++;
		}
		for (j = 0; j < nr; j++)
		{
			int32_t		id = in->neg[(size_t) b * nr + j];

			if (id < 0 || id >= c->N)
				return NN_ERR_BATCH;
			cand[T + j] = id;
			nneg_row += (id != 0);
		}
		p->n_pos += npos_row;
		pairs += (double) npos_row * nneg_row;
	}
	p->inv_pos = p->n_pos > 0 ? 1.0 / p->n_pos : 0.0;
	switch (c->loss)
	{
		case NN_LOSS_BCE:
			p->inv_neg = 1.0 / ((double) p->B * c->negatives);
			break;
		case NN_LOSS_BCE_PER_TARGET:
			p->inv_neg = p->n_pos > 0 ? 1.0 / ((double) p->n_pos * c->negatives) : 0.0;
			break;
		case NN_LOSS_BPR:
			p->inv_neg = pairs > 0 ? 1.0 / pairs : 0.0;
			break;
		default:
			p->inv_neg = 0.0;
	}
	return NN_OK;
}

/* Sampled softmax: gather W2 rows of the shared negatives, b2 - ln pi. */
static int
prep_shared(const NnModel *m, NnPrep *p, const NnBatch *in)
{
	int			d2 = 2 * m->cfg.d;
	int			k;

	p->shared = in->shared_neg;
	for (k = 0; k < p->K; k++)
	{
		int32_t		id = in->shared_neg[k];

		if (id < 0 || id >= m->cfg.N)
			return NN_ERR_BATCH;
		if (p->logq != NULL && id != 0 && !isfinite(p->logq[id]))
			return NN_ERR_BATCH;
		memcpy(p->W2C + (size_t) k * d2, m->W2 + (size_t) id * d2, sizeof(float) * d2);
		p->b2C[k] = m->b2[id] - (p->logq != NULL && id != 0 ? p->logq[id] : 0.0f);
	}
	return NN_OK;
}

/* Validate and prepare a batch (see model_impl.h). */
int
nn_prep_inputs(const NnModel *m, NnPrep *p, const NnBatch *in, int mode, uint64_t step)
{
	const NnConfig *c = &m->cfg;
	int			b;
	int			rc;

	if (in == NULL || in->B < 1 || in->B > p->cap || in->user == NULL || in->items == NULL)
		return NN_ERR_BATCH;
	if ((m->A != NULL && in->events == NULL) ||
		((m->G != NULL || m->beta != NULL) && in->tbucket == NULL) ||
		(m->theta != NULL && in->tdelta == NULL))
		return NN_ERR_BATCH;
	p->B = in->B;
	p->mode = mode;
	p->step = step;
	p->logq = NULL;
	for (b = 0; b < p->B; b++)
	{
		int			u = row_user(m, p, in, b, mode);

		if (u < 0)
			return NN_ERR_BATCH;
		p->user[b] = u;
		rc = pack_history(m, p, in, b);
		if (rc != NN_OK)
			return rc;
	}
	if (mode < NN_RUN_LOSS)
		return NN_OK;
	if (in->targets == NULL ||
		(nn_config_neg_per_row(c) > 0 && in->neg == NULL) ||
		(nn_config_neg_shared(c) > 0 && in->shared_neg == NULL))
		return NN_ERR_BATCH;
	if (c->loss == NN_LOSS_SOFTMAX_SAMPLED)
		p->logq = in->logq;
	rc = prep_targets(m, p, in);
	if (rc == NN_OK && c->loss == NN_LOSS_SOFTMAX_SAMPLED)
		rc = prep_shared(m, p, in);
	return rc;
}
