/*
 * train.c
 *		Row slots of the sparse tables, the parallel training step and the
 *		optimiser driver (model-spec.md §5.8, §5.14 "Threads"; issue item 8).
 *		Batch preparation is in prep.c.  See model_impl.h for the data flow.
 *
 * Threads.  The batch is cut into n_shards contiguous slices; each shard
 * runs F1..F10, the loss and B1..B10 with its own buffers and dense
 * gradient arena (phase 1).  Phase 2 sums the dense gradients over shards
 * in shard order and segment-sums the sparse row gradients (§5.8 step 1:
 * "segment-sum duplicate row gradients first") per slot, in contribution
 * order, from the per-row buffers dX, dP, dY of the shards; it also
 * produces squared-norm partials per work item.  The serial middle computes
 * the global norm (NaN/Inf check, clipping), and phase 3 applies Adam to
 * the dense tensors and, lazily, to the touched rows only.  Work items are
 * dealt round-robin to the threads; no sum depends on which thread ran it,
 * so results depend on n_shards only.  Active item-category tables
 * (category.c) add a serial step after phase 2 (their gradient, from the
 * reduced rows) and one after phase 3 (their Adam, effective tables).  OpenBLAS runs single-threaded
 * inside the shards (the GEMMs are small; its own threads did not help,
 * see test/bench/nn_speed.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "model_impl.h"

#define SLOT_BLOCK 64			/* sparse rows per work item */
#define DENSE_BLOCK 4096		/* dense elements per work item */

/* ---- row slots (§5.8 step 1) --------------------------------------- */

/* Allocate a slot table for a table of nrows rows. */
static int
slots_alloc(NnSlots *s, int64_t nrows, int cols, int cap, int ccap, int with_b)
{
	int64_t		i;

	memset(s, 0, sizeof(*s));
	s->cols = cols;
	s->cap = cap;
	s->ccap = ccap;
	s->slot_of = (int32_t *) malloc(sizeof(int32_t) * (size_t) (nrows + 1));
	s->rows = (int32_t *) malloc(sizeof(int32_t) * ((size_t) cap + 1));
	s->start = (int32_t *) malloc(sizeof(int32_t) * ((size_t) cap + 2));
	s->fill = (int32_t *) malloc(sizeof(int32_t) * ((size_t) cap + 1));
	s->contrib = (int32_t *) malloc(sizeof(int32_t) * ((size_t) ccap + 1));
	s->cslot = (int32_t *) malloc(sizeof(int32_t) * ((size_t) ccap + 1));
	s->grad = (float *) malloc(sizeof(float) * ((size_t) cap * cols + 1));
	s->grad_b = with_b ? (float *) malloc(sizeof(float) * ((size_t) cap + 1)) : NULL;
	if (s->slot_of == NULL || s->rows == NULL || s->start == NULL || s->fill == NULL ||
		s->contrib == NULL || s->cslot == NULL || s->grad == NULL ||
		(with_b && s->grad_b == NULL))
		return NN_ERR_NOMEM;
	for (i = 0; i <= nrows; i++)
		s->slot_of[i] = -1;
	return NN_OK;
}

static void
slots_free(NnSlots *s)
{
	free(s->slot_of);
	free(s->rows);
	free(s->start);
	free(s->fill);
	free(s->contrib);
	free(s->cslot);
	free(s->grad);
	free(s->grad_b);
	memset(s, 0, sizeof(*s));
}

/* Contribution id c touches table row `row` (-1 = none); slots in order of
 * first appearance. */
static inline void
slots_add(NnSlots *s, int c, int32_t row)
{
	int32_t		k;

	if (row < 0)
	{
		s->cslot[c] = -1;
		return;
	}
	k = s->slot_of[row];
	if (k < 0)
	{
		k = s->n++;
		s->slot_of[row] = k;
		s->rows[k] = row;
	}
	s->cslot[c] = k;
}

/* Group the nc contribution ids by slot (counting sort, stable), then
 * release the row -> slot map for the next batch. */
static void
slots_finish(NnSlots *s, int nc)
{
	int			k;
	int			c;

	memset(s->start, 0, sizeof(int32_t) * ((size_t) s->n + 1));
	for (c = 0; c < nc; c++)
		if (s->cslot[c] >= 0)
			s->start[s->cslot[c] + 1]++;
	for (k = 0; k < s->n; k++)
		s->start[k + 1] += s->start[k];
	memcpy(s->fill, s->start, sizeof(int32_t) * (size_t) s->n);
	for (c = 0; c < nc; c++)
		if (s->cslot[c] >= 0)
			s->contrib[s->fill[s->cslot[c]]++] = c;
	for (k = 0; k < s->n; k++)
		s->slot_of[s->rows[k]] = -1;
}

/* Slots of Q (valid positions), P (rows) and W2/b2 (candidates). */
static void
build_slots(const NnModel *m, NnWork *w)
{
	const NnPrep *p = &w->prep;
	int			M = m->cfg.M;
	int			B = p->B;
	int			b;
	int			l;
	int			j;

	/* positions the model reads: all valid ones with attention, else only
	 * the conv block (rows outside it get no gradient, so they are not
	 * "touched" in the lazy-Adam sense) */
	int			lo = m->cfg.use_attention ? 0 : M - m->cfg.L;

	w->q.n = w->p.n = w->w.n = 0;
	for (b = 0; b < B; b++)
		for (l = 0; l < M; l++)
		{
			int			c = b * M + l;

			slots_add(&w->q, c, (l >= M - p->nvalid[b] && l >= lo) ? p->items[c] : -1);
		}
	slots_finish(&w->q, B * M);
	for (b = 0; b < B; b++)
		slots_add(&w->p, b, p->user[b]);
	slots_finish(&w->p, B);
	if (m->tensors[m->t_W2].sparse)
	{
		int			nc = B * p->Kc;

		for (j = 0; j < nc; j++)
			slots_add(&w->w, j, p->cand[j] != 0 ? p->cand[j] : -1);
		for (j = 0; j < p->K; j++)
			slots_add(&w->w, nc + j, p->shared[j] != 0 ? p->shared[j] : -1);
		slots_finish(&w->w, nc + p->K);
	}
}

/* ---- workspace ----------------------------------------------------- */

/* Dense work items: each dense tensor cut into DENSE_BLOCK pieces. */
static int
build_dense_items(NnWork *w, const NnModel *m)
{
	int			t;
	int			n = 0;
	int			pass;

	for (pass = 0; pass < 2; pass++)
	{
		n = 0;
		for (t = 0; t < m->n_tensors; t++)
		{
			const NnTensor *tt = &m->tensors[t];
			size_t		size = (size_t) (tt->rows * tt->cols);
			size_t		s;

			if (tt->sparse || size == 0)
				continue;
			for (s = 0; s < size; s += DENSE_BLOCK)
			{
				if (pass == 1)
				{
					w->items[n].tensor = t;
					w->items[n].start = s;
					w->items[n].count = size - s < DENSE_BLOCK ? size - s : DENSE_BLOCK;
				}
				n++;
			}
		}
		if (pass == 0)
		{
			w->items = (NnDenseItem *) malloc(sizeof(NnDenseItem) * ((size_t) n + 1));
			if (w->items == NULL)
				return NN_ERR_NOMEM;
		}
	}
	w->n_items = n;
	return NN_OK;
}

static int
imin(int64_t a, int64_t b)
{
	return (int) (a < b ? a : b);
}

/* Create a training workspace; see model.h. */
NnWork *
nn_work_create(const NnModel *m, int max_batch, int n_threads, int n_shards, int *err)
{
	const NnConfig *c = &m->cfg;
	NnWork	   *w;
	int			chunk;
	int			s;
	int			rc = NN_OK;
	int			Kc;
	int			K = nn_config_neg_shared(c);

	if (n_threads < 1)
		n_threads = 1;
	if (n_shards < 1)
		n_shards = n_threads;
	if (max_batch < 1 || n_shards > max_batch ||
		(double) max_batch * (c->M + c->T + nn_config_neg_per_row(c)) + K > 1e9 ||
		(double) max_batch * nn_loss_ny(c) > 2147483647.0)
	{
		if (err)
			*err = NN_ERR_CONFIG;
		return NULL;
	}
	w = (NnWork *) calloc(1, sizeof(NnWork));
	if (w == NULL)
	{
		if (err)
			*err = NN_ERR_NOMEM;
		return NULL;
	}
	w->cfg = *c;
	w->n_params = m->n_params;
	w->max_B = max_batch;
	w->n_shards = n_shards;
	chunk = (max_batch + n_shards - 1) / n_shards;
	w->shards = (NnShard *) calloc(n_shards, sizeof(NnShard));
	if (w->shards == NULL)
		rc = NN_ERR_NOMEM;
	for (s = 0; s < n_shards && rc == NN_OK; s++)
		rc = nn_shard_alloc(&w->shards[s], m, chunk, NN_RUN_TRAIN);
	if (rc == NN_OK)
		rc = nn_prep_alloc(&w->prep, m, max_batch, NN_RUN_TRAIN);
	Kc = w->prep.Kc;
	if (rc == NN_OK)
		rc = slots_alloc(&w->q, c->N, c->d, imin(c->N, (int64_t) max_batch * c->M),
						 max_batch * c->M, 0);
	if (rc == NN_OK)
		rc = slots_alloc(&w->p, c->U, c->d, imin(c->U, max_batch), max_batch, 0);
	if (rc == NN_OK)
		rc = slots_alloc(&w->w, c->N, 2 * c->d,
						 imin(c->N, (int64_t) max_batch * Kc + K), max_batch * Kc + K, 1);
	if (rc == NN_OK)
		rc = build_dense_items(w, m);
	if (rc == NN_OK)
	{
		w->max_work = w->n_items + w->q.cap / SLOT_BLOCK + w->p.cap / SLOT_BLOCK +
			w->w.cap / SLOT_BLOCK + 4;
		w->partials = (double *) calloc(w->max_work, sizeof(double));
		if (w->partials == NULL)
			rc = NN_ERR_NOMEM;
	}
	if (rc == NN_OK && m->cat_params != NULL)
	{
		w->cgrad = (float *) calloc(m->n_cat_params, sizeof(float));
		if (w->cgrad == NULL)
			rc = NN_ERR_NOMEM;
	}
	if (rc == NN_OK && n_threads > 1)
	{
		/* our threads call BLAS concurrently: keep OpenBLAS single-threaded */
		nn_blas_set_threads(1);
		w->pool = nn_pool_create(n_threads);
		if (w->pool == NULL)
			rc = NN_ERR_THREAD;
	}
	if (rc != NN_OK)
	{
		nn_work_free(w);
		if (err)
			*err = rc;
		return NULL;
	}
	if (err)
		*err = NN_OK;
	return w;
}

void
nn_work_free(NnWork *w)
{
	int			s;

	if (w == NULL)
		return;
	nn_pool_free(w->pool);
	if (w->shards != NULL)
		for (s = 0; s < w->n_shards; s++)
			nn_shard_free(&w->shards[s]);
	free(w->shards);
	nn_prep_free(&w->prep);
	slots_free(&w->q);
	slots_free(&w->p);
	slots_free(&w->w);
	free(w->items);
	free(w->partials);
	free(w->cgrad);
	free(w);
}

/* ---- phase 1: shards ----------------------------------------------- */

/* Forward (+ loss, + backward) of the shards dealt to this thread. */
static void
phase_shards(void *arg, int tid, int nt)
{
	NnWork	   *w = (NnWork *) arg;
	const NnModel *m = w->model;
	int			s;

	for (s = tid; s < w->n_shards; s += nt)
	{
		NnShard    *sh = &w->shards[s];

		sh->loss = 0.0;
		if (sh->rows <= 0)
			continue;
		if (w->prep.mode == NN_RUN_TRAIN)
			memset(sh->grad, 0, sizeof(float) * m->n_dense);
		nn_shard_forward(m, sh, &w->prep);
		nn_shard_loss(m, sh, &w->prep, w->prep.mode == NN_RUN_TRAIN);
		if (w->prep.mode == NN_RUN_TRAIN)
			nn_shard_backward(m, sh, &w->prep);
	}
}

/* ---- phase 2: reduction -------------------------------------------- */

/* Shard holding batch row b, and the row's index inside it. */
static inline const NnShard *
row_shard(const NnWork *w, int b, int *local)
{
	int			s = b / w->prep.chunk;

	*local = b - s * w->prep.chunk;
	return &w->shards[s];
}

/* Sum of squares in double (4 partial sums, fixed order). */
static double
sumsq(const float *x, size_t n)
{
	double		acc[4] = {0.0, 0.0, 0.0, 0.0};
	size_t		i = 0;
	int			j;

	for (; i + 4 <= n; i += 4)
		for (j = 0; j < 4; j++)
			acc[j] += (double) x[i + j] * x[i + j];
	for (; i < n; i++)
		acc[0] += (double) x[i] * x[i];
	return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* Dense item: add shards 1.. into shard 0 (shard order), norm partial. */
static double
reduce_dense(NnWork *w, const NnDenseItem *it)
{
	const NnTensor *tt = &w->model->tensors[it->tensor];
	float	   *g0 = w->shards[0].grad + tt->goff + it->start;
	int			s;

	for (s = 1; s < w->n_shards; s++)
		if (w->shards[s].rows > 0)
			nn_saxpy((int) it->count, 1.0f, w->shards[s].grad + tt->goff + it->start, g0);
	return sumsq(g0, it->count);
}

/* Q slots [k0, k1): sum dX rows of the contributing positions. */
static double
reduce_q(NnWork *w, int k0, int k1)
{
	int			M = w->cfg.M;
	int			d = w->cfg.d;
	double		ss = 0.0;
	int			k;
	int			j;

	for (k = k0; k < k1; k++)
	{
		float	   *g = w->q.grad + (size_t) k * d;

		memset(g, 0, sizeof(float) * d);
		for (j = w->q.start[k]; j < w->q.start[k + 1]; j++)
		{
			int			c = w->q.contrib[j];
			int			local;
			const NnShard *sh = row_shard(w, c / M, &local);

			nn_saxpy(d, 1.0f, sh->dX + ((size_t) local * M + c % M) * d, g);
		}
		ss += sumsq(g, d);
	}
	return ss;
}

/* P slots [k0, k1): sum dP of the rows of that user. */
static double
reduce_p(NnWork *w, int k0, int k1)
{
	int			d = w->cfg.d;
	double		ss = 0.0;
	int			k;
	int			j;

	for (k = k0; k < k1; k++)
	{
		float	   *g = w->p.grad + (size_t) k * d;

		memset(g, 0, sizeof(float) * d);
		for (j = w->p.start[k]; j < w->p.start[k + 1]; j++)
		{
			int			local;
			const NnShard *sh = row_shard(w, w->p.contrib[j], &local);

			nn_saxpy(d, 1.0f, sh->dP + (size_t) local * d, g);
		}
		ss += sumsq(g, d);
	}
	return ss;
}

/* W2/b2 slots [k0, k1): sum gy * x over per-row candidates, then the
 * shared-negative rows dW2C of every shard (shard order). */
static double
reduce_w(NnWork *w, int k0, int k1)
{
	const NnPrep *p = &w->prep;
	int			d2 = 2 * w->cfg.d;
	int			nc = p->B * p->Kc;
	double		ss = 0.0;
	int			k;
	int			j;
	int			s;

	for (k = k0; k < k1; k++)
	{
		float	   *g = w->w.grad + (size_t) k * d2;
		float	   *gb = w->w.grad_b + k;

		memset(g, 0, sizeof(float) * d2);
		*gb = 0.0f;
		for (j = w->w.start[k]; j < w->w.start[k + 1]; j++)
		{
			int			c = w->w.contrib[j];

			if (c < nc)
			{
				int			local;
				const NnShard *sh = row_shard(w, c / p->Kc, &local);
				float		gy = sh->Y[(size_t) local * p->ny + c % p->Kc];

				nn_saxpy(d2, gy, sh->Xo + (size_t) local * d2, g);
				*gb += gy;
			}
			else
				for (s = 0; s < w->n_shards; s++)
					if (w->shards[s].rows > 0)
					{
						nn_saxpy(d2, 1.0f, w->shards[s].dW2C + (size_t) (c - nc) * d2, g);
						*gb += w->shards[s].db2C[c - nc];
					}
		}
		ss += sumsq(g, d2) + (double) *gb * *gb;
	}
	return ss;
}

/* Number of SLOT_BLOCK blocks for n slots. */
static int
nblocks(int n)
{
	return (n + SLOT_BLOCK - 1) / SLOT_BLOCK;
}

/* Work item i of phases 2/3: kind 0 dense, 1 Q, 2 P, 3 W; *k0 slot start. */
static int
work_kind(const NnWork *w, int i, int *k0, int *k1)
{
	int			nq = nblocks(w->q.n);
	int			np = nblocks(w->p.n);
	int			kind;
	int			n;

	if (i < w->n_items)
		return 0;
	i -= w->n_items;
	if (i < nq)
	{
		kind = 1;
		n = w->q.n;
	}
	else if (i - nq < np)
	{
		i -= nq;
		kind = 2;
		n = w->p.n;
	}
	else
	{
		i -= nq + np;
		kind = 3;
		n = w->w.n;
	}
	*k0 = i * SLOT_BLOCK;
	*k1 = *k0 + SLOT_BLOCK < n ? *k0 + SLOT_BLOCK : n;
	return kind;
}

/* Total work items of the current step. */
static int
work_count(const NnWork *w)
{
	return w->n_items + nblocks(w->q.n) + nblocks(w->p.n) + nblocks(w->w.n);
}

/* Phase 2 body: reduce the items dealt to this thread. */
static void
phase_reduce(void *arg, int tid, int nt)
{
	NnWork	   *w = (NnWork *) arg;
	int			total = work_count(w);
	int			i;

	for (i = tid; i < total; i += nt)
	{
		int			k0 = 0;
		int			k1 = 0;

		switch (work_kind(w, i, &k0, &k1))
		{
			case 0:
				w->partials[i] = reduce_dense(w, &w->items[i]);
				break;
			case 1:
				w->partials[i] = reduce_q(w, k0, k1);
				break;
			case 2:
				w->partials[i] = reduce_p(w, k0, k1);
				break;
			default:
				w->partials[i] = reduce_w(w, k0, k1);
				break;
		}
	}
}

/* ---- phase 3: Adam ------------------------------------------------- */

/* Adam on a dense item (PAD row 0 of A / G skipped). */
static void
adam_dense(NnWork *w, NnModel *m, const NnDenseItem *it)
{
	const NnTensor *tt = &m->tensors[it->tensor];
	size_t		s = it->start;
	size_t		e = it->start + it->count;
	size_t		off;

	if (tt->pad_row0 && s < (size_t) tt->cols)
		s = (size_t) tt->cols;
	if (s >= e)
		return;
	off = tt->offset + s;
	nn_adam_range(m, w, m->params + off, m->adam_m + off, m->adam_v + off,
				  w->shards[0].grad + tt->goff + s, e - s, w->clip, tt->l2);
}

/* Lazy Adam on slots [k0, k1) of a sparse table (and b2 for W2 slots). */
static void
adam_rows(NnWork *w, NnModel *m, const NnSlots *sl, int t, int tb, int k0, int k1)
{
	size_t		cols = (size_t) sl->cols;
	int			k;

	for (k = k0; k < k1; k++)
	{
		size_t		off = m->tensors[t].offset + (size_t) sl->rows[k] * cols;

		nn_adam_range(m, w, m->params + off, m->adam_m + off, m->adam_v + off,
					  sl->grad + (size_t) k * cols, cols, w->clip, m->tensors[t].l2);
		if (tb >= 0)
		{
			off = m->tensors[tb].offset + (size_t) sl->rows[k];
			nn_adam_range(m, w, m->params + off, m->adam_m + off, m->adam_v + off,
						  sl->grad_b + k, 1, w->clip, m->tensors[tb].l2);
		}
	}
}

/* Phase 3 body. */
static void
phase_adam(void *arg, int tid, int nt)
{
	NnWork	   *w = (NnWork *) arg;
	NnModel    *m = w->model_rw;
	int			total = work_count(w);
	int			i;

	for (i = tid; i < total; i += nt)
	{
		int			k0 = 0;
		int			k1 = 0;

		switch (work_kind(w, i, &k0, &k1))
		{
			case 0:
				adam_dense(w, m, &w->items[i]);
				break;
			case 1:
				adam_rows(w, m, &w->q, NN_T_Q, -1, k0, k1);
				break;
			case 2:
				adam_rows(w, m, &w->p, NN_T_P, -1, k0, k1);
				break;
			default:
				adam_rows(w, m, &w->w, m->t_W2, m->t_b2, k0, k1);
				break;
		}
	}
}

/* ---- driver -------------------------------------------------------- */

/* 1 if the workspace was made for this model's shapes. */
static int
work_matches(const NnWork *w, const NnModel *m)
{
	return w->n_params == m->n_params && w->cfg.loss == m->cfg.loss &&
		w->cfg.M == m->cfg.M && w->cfg.T == m->cfg.T &&
		w->cfg.negatives == m->cfg.negatives && w->cfg.N == m->cfg.N &&
		w->cfg.U == m->cfg.U && w->cfg.d == m->cfg.d &&
		(w->cgrad != NULL) == (m->cat_params != NULL) &&
		(w->cgrad == NULL || w->cfg.n_C == m->cfg.n_C);
}

/* Prepare the batch and assign shard slices. */
static int
start_batch(const NnModel *m, NnWork *w, const NnBatch *b, int mode)
{
	int			rc;
	int			s;

	w->have_grad = 0;
	if (!work_matches(w, m))
		return NN_ERR_STATE;
	if (b == NULL || b->B < 1 || b->B > w->max_B)
		return NN_ERR_BATCH;
	nn_category_refresh_batch(m, b);	/* stale effective rows it reads */
	rc = nn_prep_inputs(m, &w->prep, b, mode, (uint64_t) m->adam_t + 1);
	if (rc != NN_OK)
		return rc;
	w->prep.chunk = (b->B + w->n_shards - 1) / w->n_shards;
	for (s = 0; s < w->n_shards; s++)
	{
		int			r0 = s * w->prep.chunk;
		int			n = b->B - r0;

		w->shards[s].row0 = r0;
		w->shards[s].rows = n < 0 ? 0 : (n > w->prep.chunk ? w->prep.chunk : n);
	}
	w->model = m;
	return NN_OK;
}

/* Sum of the shard losses in shard order. */
static double
total_loss(const NnWork *w)
{
	double		loss = 0.0;
	int			s;

	for (s = 0; s < w->n_shards; s++)
		loss += w->shards[s].loss;
	return loss;
}

int
nn_forward_loss(const NnModel *m, NnWork *w, const NnBatch *b, double *loss)
{
	int			rc = start_batch(m, w, b, NN_RUN_LOSS);

	if (rc != NN_OK)
		return rc;
	nn_pool_run(w->pool, phase_shards, w);
	*loss = total_loss(w);
	return NN_OK;
}

int
nn_forward_backward(const NnModel *m, NnWork *w, const NnBatch *b, double *loss)
{
	double		ss = 0.0;
	int			rc = start_batch(m, w, b, NN_RUN_TRAIN);
	int			i;
	int			total;

	if (rc != NN_OK)
		return rc;
	build_slots(m, w);
	nn_pool_run(w->pool, phase_shards, w);
	nn_pool_run(w->pool, phase_reduce, w);
	total = work_count(w);
	for (i = 0; i < total; i++)
		ss += w->partials[i];
	if (w->cgrad != NULL)
		ss += nn_category_reduce(m, w);
	w->grad_norm = sqrt(ss);
	w->have_grad = 1;
	*loss = total_loss(w);
	return NN_OK;
}

int
nn_train_step(NnModel *m, NnWork *w, const NnBatch *b, double *loss)
{
	const NnConfig *c = &m->cfg;
	double		l = 0.0;
	double		t;
	int			rc;

	if (m->adam_m == NULL)
		return NN_ERR_STATE;
	rc = nn_forward_backward(m, w, b, &l);
	if (loss != NULL)
		*loss = l;
	if (rc != NN_OK)
		return rc;
	if (!isfinite(l) || !isfinite(w->grad_norm))
		return NN_ERR_NONFINITE;
	w->clip = 1.0f;
	if (c->clip_norm > 0.0f && w->grad_norm > c->clip_norm)
		w->clip = (float) (c->clip_norm / w->grad_norm);
	else if (c->clip_norm <= 0.0f && w->grad_norm > 1e18)
		return NN_ERR_NONFINITE;	/* g*g would overflow float in Adam */
	t = (double) (m->adam_t + 1);
	w->lr_t = c->lr / (1.0 - pow((double) c->beta1, t));
	w->inv_bc2 = 1.0 / (1.0 - pow((double) c->beta2, t));
	w->model_rw = m;
	nn_pool_run(w->pool, phase_adam, w);
	w->model_rw = NULL;
	if (w->cgrad != NULL)
		nn_category_adam(m, w);
	m->adam_t++;
	return NN_OK;
}

/* Last gradient in params layout; see model.h. */
void
nn_work_gradient(const NnWork *w, const NnModel *m, float *grad)
{
	int			t;
	int			k;

	memset(grad, 0, sizeof(float) * m->n_params);
	if (!w->have_grad)
		return;
	for (t = 0; t < m->n_tensors; t++)
	{
		const NnTensor *tt = &m->tensors[t];

		if (!tt->sparse && tt->rows > 0)
			memcpy(grad + tt->offset, w->shards[0].grad + tt->goff,
				   sizeof(float) * (size_t) (tt->rows * tt->cols));
	}
	for (k = 0; k < w->q.n; k++)
		memcpy(grad + m->tensors[NN_T_Q].offset + (size_t) w->q.rows[k] * w->q.cols,
			   w->q.grad + (size_t) k * w->q.cols, sizeof(float) * w->q.cols);
	for (k = 0; k < w->p.n; k++)
		memcpy(grad + m->tensors[NN_T_P].offset + (size_t) w->p.rows[k] * w->p.cols,
			   w->p.grad + (size_t) k * w->p.cols, sizeof(float) * w->p.cols);
	for (k = 0; k < w->w.n; k++)
	{
		memcpy(grad + m->tensors[m->t_W2].offset + (size_t) w->w.rows[k] * w->w.cols,
			   w->w.grad + (size_t) k * w->w.cols, sizeof(float) * w->w.cols);
		grad[m->tensors[m->t_b2].offset + w->w.rows[k]] = w->w.grad_b[k];
	}
}

/* Last category gradient; see model.h. */
void
nn_work_category_gradient(const NnWork *w, const NnModel *m, float *grad)
{
	memset(grad, 0, sizeof(float) * m->n_cat_params);
	if (w->have_grad && w->cgrad != NULL)
		memcpy(grad, w->cgrad, sizeof(float) * m->n_cat_params);
}

double
nn_work_grad_norm(const NnWork *w)
{
	return w->grad_norm;
}
