/*
 * eval.h
 *		Offline evaluation (model-spec §6.2-§6.4): pessimistic ranks of one
 *		held-out target per user, HR@k, NDCG@k, MRR, MRR@k with user-level
 *		standard errors, split by "target new to the user" vs "target already
 *		in the history" (repeat-aware reporting); the labelled sampled-100
 *		variant; the most-popular baseline.
 *
 * Rank (§6.3): rank = 1 + #{j in 1..N-1, j != target, j not excluded :
 * s_j >= s_target}.  Ties count against the target, so a constant model
 * gets the worst rank.  A NaN target score gets the worst rank (all
 * candidates ahead); other NaN scores never count as ahead.
 */
#ifndef CNNREC_NN_EVAL_H
#define CNNREC_NN_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/dataset.h"

#define NN_EVAL_MAX_K	8

/* Status codes (shared with dataset.h). */
#define NN_EVAL_OK		NN_DS_OK

/* Running sums of one group of users. */
typedef struct NnMetricAcc
{
	int64_t		n;				/* users added */
	int32_t		n_k;			/* cutoffs in use */
	int32_t		k[NN_EVAL_MAX_K];
	double		hr[NN_EVAL_MAX_K];	/* sums of per-user values ... */
	double		hr2[NN_EVAL_MAX_K]; /* ... and of their squares */
	double		ndcg[NN_EVAL_MAX_K];
	double		ndcg2[NN_EVAL_MAX_K];
	double		mrrk[NN_EVAL_MAX_K];
	double		mrrk2[NN_EVAL_MAX_K];
	double		mrr;
	double		mrr2;
} NnMetricAcc;

/* Means and standard errors (se = sample std / sqrt(n); 0 when n < 2). */
typedef struct NnMetrics
{
	int64_t		n;
	int32_t		n_k;
	int32_t		k[NN_EVAL_MAX_K];
	double		hr[NN_EVAL_MAX_K];
	double		hr_se[NN_EVAL_MAX_K];
	double		ndcg[NN_EVAL_MAX_K];
	double		ndcg_se[NN_EVAL_MAX_K];
	double		mrrk[NN_EVAL_MAX_K];	/* MRR@k: 1/rank if rank <= k else 0 */
	double		mrr;			/* no cutoff */
	double		mrr_se;
} NnMetrics;

/* All users, and the new-target / repeat-target subsets. */
typedef struct NnEvalReport
{
	NnMetricAcc all;
	NnMetricAcc fresh;			/* target not in the user's input history */
	NnMetricAcc repeat;			/* target already in the history */
} NnEvalReport;

/* Options of the evaluation drivers. */
typedef struct NnEvalOptions
{
	int			phase;			/* NN_PHASE_VALID or NN_PHASE_TEST */
	int			exclude_history;	/* 1 = drop history items except the target (§6.3 default) */
	int32_t		n_sampled;		/* 0 = full ranking; > 0 = sampled-n variant (§6.4, 100) */
	uint64_t	seed;			/* sampled variant: negatives come from (seed, user) */
	int32_t		n_k;			/* cutoffs; 0 = default {1, 5, 10, 20, 50} */
	int32_t		k[NN_EVAL_MAX_K];
} NnEvalOptions;

/*
 * Scoring callback of nn_eval_run: fill scores[0..N) for the case's
 * instance (history = the first c->hist_len events of c->inst.user; build
 * it with nn_ds_fill_batch on &c->inst, T = 1).  Return 0, or a negative
 * code to abort the run (returned by nn_eval_run).
 */
typedef int (*NnEvalScoreFn) (void *ctx, const NnDsEvalCase *c, float *scores);

/* Default options: test phase, exclusion on, full ranking, k = 1,5,10,20,50. */
extern void nn_eval_options_default(NnEvalOptions *o);
/*
 * Protocol label to print next to the numbers (§6.4: sampled metrics must
 * never be reported as plain "HR@10"), e.g. "test, full ranking, history
 * excluded" or "test, sampled-100 (uniform)".
 */
extern void nn_eval_label(const NnEvalOptions *o, char *buf, size_t len);

/* Pessimistic full rank; excl sorted ascending (dups/out-of-range ignored) or NULL.  0 on bad input. */
extern int64_t nn_eval_rank(const float *scores, int32_t n_items, int32_t target,
							const int32_t *excl, int64_t n_excl);
/* Pessimistic rank of the target among itself and negs[0..n_neg) (duplicates count). */
extern int64_t nn_eval_rank_sampled(const float *scores, int32_t target,
									const int32_t *negs, int32_t n_neg);

extern void nn_eval_acc_init(NnMetricAcc *a, const int32_t *k, int32_t n_k);
extern void nn_eval_acc_add(NnMetricAcc *a, int64_t rank);
extern void nn_eval_metrics(const NnMetricAcc *a, NnMetrics *m);
extern void nn_eval_report_init(NnEvalReport *r, const int32_t *k, int32_t n_k);
/* Add one user's rank to all and to fresh or repeat. */
extern void nn_eval_report_add(NnEvalReport *r, int64_t rank, int is_repeat);

/* n uniform negatives for user from 1..N-1 minus all the user's items, rng from (seed, user). */
extern int	nn_eval_sampled_negs(const NnDsSplit *sp, int32_t user, uint64_t seed,
								 int32_t n, int32_t *out);

/* Evaluate every evaluated user of the split with a scoring callback. */
extern int	nn_eval_run(const NnDsSplit *sp, const NnEvalOptions *o,
						NnEvalScoreFn fn, void *ctx, NnEvalReport *rep);
/* Most-popular baseline: scores = train counts, same split/exclusion/ranking. */
extern int	nn_eval_mostpop(const NnDsSplit *sp, const NnEvalOptions *o, NnEvalReport *rep);

#endif							/* CNNREC_NN_EVAL_H */
