/*
 * model_impl.h
 *		Internal structures shared by config.c, model.c, prep.c, layers.c,
 *		loss.c, adam.c, category.c and train.c.  Not part of the public API (model.h).
 *
 * Data flow of one training step (train.c):
 *   NnBatch --prep (serial)--> NnPrep: validated, histories packed to the
 *   right, effective users (user dropout), target weights, candidate ids,
 *   loss normalisers, row slots of the sparse tables (NnSlots, CSR lists of
 *   contributions);
 *   --phase 1 (parallel over shards)--> each NnShard runs F1..F10, the
 *   loss, B1..B10 for its rows: dense gradients in its own arena, and the
 *   per-row gradients (dX, dP, dY) that the sparse tables need;
 *   --phase 2 (parallel over work items)--> dense gradients summed over
 *   shards in shard order, sparse row gradients segment-summed per slot in
 *   contribution order, squared-norm partials per work item;
 *   --serial--> global norm, finiteness check, clip factor;
 *   --phase 3 (parallel over the same work items)--> Adam / lazy Adam.
 * Every sum has a fixed order that depends only on the batch and the
 * number of shards, never on thread scheduling.
 */
#ifndef CNNREC_NN_MODEL_IMPL_H
#define CNNREC_NN_MODEL_IMPL_H

#include <math.h>
#include <stdint.h>

#include "model.h"
#include "pool.h"
#include "rng.h"

/* What a shard run computes. */
#define NN_RUN_INFER	0		/* F1..F9: user vectors (dropout off) */
#define NN_RUN_LOSS		1		/* + F10 and the loss (training masks) */
#define NN_RUN_TRAIN	2		/* + backward B1..B10 */

/* RNG stream tags (§5.9: masks seeded from (seed, step, row)). */
#define NN_TAG_DROPOUT	1
#define NN_TAG_USERDROP 2
#define NN_TAG_INIT		3

/* Per-row generator for (seed, tag, step, global row). */
static inline void
nn_rng_for_row(NnRng *r, uint64_t seed, uint64_t tag, uint64_t step, uint64_t row)
{
	nn_rng_seed(r, nn_mix64(nn_mix64(seed ^ (tag * 0x9E3779B97F4A7C15ULL)) ^ step), row);
}

/* Batch after preparation (see prep.c). */
typedef struct NnPrep
{
	int			cap;			/* allocated rows */
	int			B;				/* rows of this batch */
	int			mode;			/* NN_RUN_* */
	uint64_t	step;			/* step the dropout masks belong to */
	/* inputs, valid events packed to the right of each row */
	int32_t    *user;			/* [B] effective user ids */
	int32_t    *items;			/* [B*M] */
	int32_t    *events;			/* [B*M] (use_event_emb) */
	int32_t    *tbucket;		/* [B*M] (G table or bucket attention) */
	float	   *lnd;			/* [B*M] ln(1 + dt/3600) (decay mode) */
	int32_t    *nvalid;			/* [B] n_b */
	int32_t    *srcpos;			/* [B*M] input position of a packed one */
	/* loss inputs */
	int			Kc;				/* per-row candidates: T targets, negatives */
	int			ny;				/* row stride of the score matrix Y */
	int32_t    *cand;			/* [B*Kc] */
	float	   *wt;				/* [B*T] target weights (0 if missing) */
	int			K;				/* shared negatives (sampled softmax) */
	const int32_t *shared;		/* [K] */
	float	   *W2C;			/* [K*2d] gathered output rows */
	float	   *b2C;			/* [K] b2 - ln pi */
	const float *logq;			/* [N] or NULL */
	int			n_pos;
	double		inv_pos;		/* normaliser of positive terms */
	double		inv_neg;		/* normaliser of negative / pair terms */
	int			chunk;			/* rows per shard */
} NnPrep;

/* Buffers of one shard (a contiguous slice of the batch). */
typedef struct NnShard
{
	int			cap;			/* max rows */
	int			row0;			/* first batch row */
	int			rows;			/* rows in this step (0 = idle) */
	int			mode;			/* buffers allocated for NN_RUN_* */
	float	   *fbuf;			/* one allocation for every float buffer */
	int32_t    *am;				/* [cap*Dh] argmax window t*, -1 = none */
	/* forward */
	float	   *X;				/* [cap*M*d] input rows (F1) */
	float	   *Z;				/* im2col rows of one height (F4) */
	float	   *Uh;				/* conv outputs of one height (F4) */
	float	   *C;				/* [cap*Dc] fused features c (F6) */
	float	   *mask;			/* [cap*Dc] dropout scale (F7) */
	float	   *Ct;				/* [cap*Dc] features after dropout */
	float	   *Qm;				/* [cap*d] attention queries q */
	float	   *R;				/* [cap*d] r = WK^T q */
	float	   *alpha;			/* [cap*M] attention weights */
	float	   *Xo;				/* [cap*2d] user vectors x = [z; P_u] */
	float	   *Y;				/* [cap*ny] scores, then dl/dy in place */
	float	   *tmp;			/* [max(M, ny)] scratch */
	/* backward */
	float	   *dX;				/* [cap*M*d] */
	float	   *dC;				/* [cap*Dc] */
	float	   *dPre;			/* [cap*d] */
	float	   *dXo;			/* [cap*2d] */
	float	   *dR;				/* [cap*d] */
	float	   *dQm;			/* [cap*d] */
	float	   *dP;				/* [cap*d] gradient of the user row */
	float	   *grad;			/* [n_dense] dense gradient arena */
	float	   *dW2C;			/* [K*2d] sampled softmax: shared rows */
	float	   *db2C;			/* [K] */
	double		loss;			/* loss contribution of this shard */
} NnShard;

/* Row slots of one sparse table for one batch, with CSR contributions. */
typedef struct NnSlots
{
	int			cols;			/* floats per row */
	int			cap;			/* max slots */
	int			ccap;			/* max contribution ids */
	int			n;				/* slots in use */
	int32_t    *slot_of;		/* [table rows] row -> slot, -1 when idle */
	int32_t    *rows;			/* [cap] slot -> table row */
	int32_t    *start;			/* [cap+1] CSR offsets */
	int32_t    *fill;			/* [cap] scratch */
	int32_t    *contrib;		/* [ccap] contribution ids grouped by slot */
	int32_t    *cslot;			/* [ccap] slot of a contribution id, or -1 */
	float	   *grad;			/* [cap*cols] segment-summed row gradients */
	float	   *grad_b;			/* [cap] (W2 slots: the b2 gradient) */
} NnSlots;

/* A range of a dense tensor handled as one unit of phases 2 and 3. */
typedef struct NnDenseItem
{
	int			tensor;
	size_t		start;			/* first element in the tensor */
	size_t		count;
} NnDenseItem;

struct NnWork
{
	NnConfig	cfg;			/* copy, to check the model */
	size_t		n_params;
	int			max_B;
	int			n_shards;
	NnShard    *shards;
	NnPrep		prep;
	NnSlots		q;				/* Q rows (contribution = b*M + l) */
	NnSlots		p;				/* P rows (contribution = b) */
	NnSlots		w;				/* W2/b2 rows (b*Kc + j, then B*Kc + k) */
	int			n_items;		/* dense work items */
	NnDenseItem *items;
	double	   *partials;		/* squared-norm partial per work item */
	float	   *cgrad;			/* [n_cat_params] category gradient, or NULL */
	int			max_work;		/* capacity of partials */
	NnPool	   *pool;
	/* state of the current step */
	int			have_grad;
	double		grad_norm;
	float		clip;			/* factor applied to the data gradient */
	double		lr_t;			/* lr / (1 - beta1^t) */
	double		inv_bc2;		/* 1 / (1 - beta2^t) */
	const NnModel *model;		/* model of the current phase */
	NnModel    *model_rw;		/* same, writable (phase 3) */
};

struct NnInfer
{
	NnPrep		prep;
	NnShard		shard;
	/* nn_cooc_mix scratch: q per item (zero between calls), touched items */
	double	   *cooc_q;
	int32_t    *cooc_touched;
	int32_t		cooc_cap;
};

/* ---- layers.c ------------------------------------------------------ */
extern int	nn_shard_alloc(NnShard *sh, const NnModel *m, int cap, int mode);
extern void nn_shard_free(NnShard *sh);
extern void nn_shard_forward(const NnModel *m, NnShard *sh, const NnPrep *p);
extern void nn_shard_backward(const NnModel *m, NnShard *sh, const NnPrep *p);

/* ---- loss.c -------------------------------------------------------- */
extern int	nn_loss_ny(const NnConfig *c);
extern void nn_shard_loss(const NnModel *m, NnShard *sh, const NnPrep *p,
						  int backward);

/* ---- adam.c -------------------------------------------------------- */
extern void nn_adam_range(const NnModel *m, const NnWork *w, float *param,
						  float *am, float *av, const float *grad, size_t n,
						  float grad_scale, int l2);

/* ---- category.c ---------------------------------------------------- */
extern int	nn_category_alloc(NnModel *m);
extern void nn_category_free(NnModel *m);
extern int	nn_category_alloc_adam(NnModel *m);
extern double nn_category_reduce(const NnModel *m, NnWork *w);
extern void nn_category_adam(NnModel *m, NnWork *w);

/* ---- prep.c -------------------------------------------------------- */
extern int	nn_prep_alloc(NnPrep *p, const NnModel *m, int cap, int mode);
extern void nn_prep_free(NnPrep *p);
extern int	nn_prep_inputs(const NnModel *m, NnPrep *p, const NnBatch *b,
						   int mode, uint64_t step);

/* ---- activations (§5.5), inline: they run per feature ---------------- */

/* phi(x); relu lets NaN through so the finiteness check sees it. */
static inline float
nn_act(NnAct a, float x)
{
	switch (a)
	{
		case NN_ACT_RELU:
			return x < 0.0f ? 0.0f : x;
		case NN_ACT_SIGMOID:
			if (x >= 0.0f)
				return 1.0f / (1.0f + expf(-x));
			else
			{
				float		e = expf(x);

				return e / (1.0f + e);
			}
		case NN_ACT_TANH:
			return tanhf(x);
		default:
			return x;
	}
}

/* phi'(x) expressed through y = phi(x) (relu: y > 0 iff x > 0). */
static inline float
nn_act_grad(NnAct a, float y)
{
	switch (a)
	{
		case NN_ACT_RELU:
			return y > 0.0f ? 1.0f : 0.0f;
		case NN_ACT_SIGMOID:
			return y * (1.0f - y);
		case NN_ACT_TANH:
			return 1.0f - y * y;
		default:
			return 1.0f;
	}
}

#endif							/* CNNREC_NN_MODEL_IMPL_H */
