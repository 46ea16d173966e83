/*
 * eval.c
 *		Evaluation protocol of model-spec §6: pessimistic ranks (§6.3), HR@k,
 *		NDCG@k = 1/log2(rank+1), MRR and MRR@k averaged over users with
 *		user-level standard errors (§6.3 "Uncertainty"), the labelled
 *		sampled-100 variant (§6.4: negatives uniform over items the user never
 *		interacted with, fixed seed, SASRec-style draws with replacement), and
 *		the MostPop floor (§6.6: train counts, same exclusion).
 *
 * Full rank in one pass: count all j >= 1 with s_j >= s_t (vectorisable),
 * subtract the target itself, then subtract the distinct excluded items
 * (other than the target) that were counted.  Cost O(N + |excl|), no
 * bitmap or allocation.
 */
#include "nn/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int32_t default_k[] = {1, 5, 10, 20, 50};

/* Default options (see header). */
void
nn_eval_options_default(NnEvalOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->phase = NN_PHASE_TEST;
	o->exclude_history = 1;
	o->n_sampled = 0;
	o->seed = 1234;
	o->n_k = 5;
	memcpy(o->k, default_k, sizeof(default_k));
}

/* Protocol label of the options. */
void
nn_eval_label(const NnEvalOptions *o, char *buf, size_t len)
{
	const char *phase = o->phase == NN_PHASE_VALID ? "validation" : "test";

	if (buf == NULL || len == 0)
		return;
	if (o->n_sampled > 0)
		snprintf(buf, len, "%s, sampled-%d (uniform)", phase, (int) o->n_sampled);
	else
		snprintf(buf, len, "%s, full ranking, history %s", phase,
				 o->exclude_history ? "excluded" : "included");
}

/* 1 if candidate score v ranks at or above the target score st. */
static inline int
ahead(float v, float st, int target_nan)
{
	return target_nan ? 1 : v >= st;
}

/* Pessimistic full-catalogue rank (§6.3). */
int64_t
nn_eval_rank(const float *scores, int32_t n_items, int32_t target,
			 const int32_t *excl, int64_t n_excl)
{
	float		st;
	int			tnan;
	int64_t		cnt = 0;
	int64_t		i;
	int32_t		j;

	if (!scores || target < 1 || target >= n_items)
		return 0;
	st = scores[target];
	tnan = isnan(st);
	if (tnan)
		cnt = n_items - 2;		/* every other real item is ahead */
	else
	{
		for (j = 1; j < n_items; j++)
			cnt += scores[j] >= st;
		cnt -= 1;				/* the target itself */
	}
	for (i = 0; excl && i < n_excl; i++)
	{
		int32_t		e = excl[i];

		if (e < 1 || e >= n_items || e == target || (i > 0 && e == excl[i - 1]))
			continue;
		cnt -= ahead(scores[e], st, tnan);
	}
	return 1 + cnt;
}

/* Pessimistic rank among the target and sampled negatives (§6.4). */
int64_t
nn_eval_rank_sampled(const float *scores, int32_t target, const int32_t *negs, int32_t n_neg)
{
	float		st;
	int			tnan;
	int64_t		cnt = 0;
	int32_t		i;

	if (!scores || target < 1 || (n_neg > 0 && !negs))
		return 0;
	st = scores[target];
	tnan = isnan(st);
	for (i = 0; i < n_neg; i++)
		cnt += ahead(scores[negs[i]], st, tnan);
	return 1 + cnt;
}

/* Start an accumulator with the given cutoffs (NULL/0 = defaults). */
void
nn_eval_acc_init(NnMetricAcc *a, const int32_t *k, int32_t n_k)
{
	memset(a, 0, sizeof(*a));
	if (k == NULL || n_k <= 0)
	{
		k = default_k;
		n_k = (int32_t) (sizeof(default_k) / sizeof(default_k[0]));
	}
	if (n_k > NN_EVAL_MAX_K)
		n_k = NN_EVAL_MAX_K;
	a->n_k = n_k;
	memcpy(a->k, k, (size_t) n_k * sizeof(int32_t));
}

/* Add one user's rank (rank >= 1). */
void
nn_eval_acc_add(NnMetricAcc *a, int64_t rank)
{
	double		rr = 1.0 / (double) rank;
	double		g = 1.0 / log2((double) rank + 1.0);
	int32_t		i;

	a->n++;
	a->mrr += rr;
	a->mrr2 += rr * rr;
	for (i = 0; i < a->n_k; i++)
	{
		if (rank > a->k[i])
			continue;
		a->hr[i] += 1.0;
		a->hr2[i] += 1.0;
		a->ndcg[i] += g;
		a->ndcg2[i] += g * g;
		a->mrrk[i] += rr;
		a->mrrk2[i] += rr * rr;
	}
}

/* Standard error of a mean from sum and sum of squares over n values. */
static double
std_err(double s, double s2, int64_t n)
{
	double		mean;
	double		var;

	if (n < 2)
		return 0.0;
	mean = s / (double) n;
	var = (s2 - (double) n * mean * mean) / (double) (n - 1);
	return var > 0.0 ? sqrt(var / (double) n) : 0.0;
}

/* Means and standard errors of an accumulator. */
void
nn_eval_metrics(const NnMetricAcc *a, NnMetrics *m)
{
	double		n = a->n > 0 ? (double) a->n : 1.0;
	int32_t		i;

	memset(m, 0, sizeof(*m));
	m->n = a->n;
	m->n_k = a->n_k;
	memcpy(m->k, a->k, sizeof(m->k));
	for (i = 0; i < a->n_k; i++)
	{
		m->hr[i] = a->hr[i] / n;
		m->hr_se[i] = std_err(a->hr[i], a->hr2[i], a->n);
		m->ndcg[i] = a->ndcg[i] / n;
		m->ndcg_se[i] = std_err(a->ndcg[i], a->ndcg2[i], a->n);
		m->mrrk[i] = a->mrrk[i] / n;
	}
	m->mrr = a->mrr / n;
	m->mrr_se = std_err(a->mrr, a->mrr2, a->n);
}

/* Start a report (all / fresh / repeat) with the given cutoffs. */
void
nn_eval_report_init(NnEvalReport *r, const int32_t *k, int32_t n_k)
{
	nn_eval_acc_init(&r->all, k, n_k);
	nn_eval_acc_init(&r->fresh, k, n_k);
	nn_eval_acc_init(&r->repeat, k, n_k);
}

/* Add one user's rank to the report. */
void
nn_eval_report_add(NnEvalReport *r, int64_t rank, int is_repeat)
{
	nn_eval_acc_add(&r->all, rank);
	nn_eval_acc_add(is_repeat ? &r->repeat : &r->fresh, rank);
}

/* Sampled negatives of §6.4, reproducible per (seed, user). */
int
nn_eval_sampled_negs(const NnDsSplit *sp, int32_t user, uint64_t seed,
					 int32_t n, int32_t *out)
{
	const int32_t *seen;
	int32_t		ns = nn_ds_seen_items(sp, user, &seen);
	int32_t		free_items = sp->ds->n_items - 1 - ns;
	NnRng		r;
	int32_t		i;

	if (n < 0 || (n > 0 && !out) || user <= 0 || user >= sp->ds->n_users)
		return NN_DS_EINVAL;
	if (free_items <= 0)
		return NN_DS_EEMPTY;
	nn_rng_seed(&r, nn_mix64(seed), nn_mix64((uint64_t) user ^ 0x73616d706c6564ULL));
	for (i = 0; i < n; i++)
		out[i] = nn_ds_complement_select(seen, ns, nn_rng_below(&r, (uint32_t) free_items));
	return NN_DS_OK;
}

/* Rank one case per the options; 0 means "skip this user". */
static int64_t
rank_case(const NnDsSplit *sp, const NnEvalOptions *o, const NnDsEvalCase *c,
		  const float *scores, int32_t *negs)
{
	if (o->n_sampled > 0)
	{
		if (nn_eval_sampled_negs(sp, c->inst.user, o->seed, o->n_sampled, negs) != NN_DS_OK)
			return 0;
		return nn_eval_rank_sampled(scores, c->target, negs, o->n_sampled);
	}
	if (o->exclude_history)
		return nn_eval_rank(scores, sp->ds->n_items, c->target, c->excl, c->n_excl);
	return nn_eval_rank(scores, sp->ds->n_items, c->target, NULL, 0);
}

/* Evaluate all evaluated users with a scoring callback. */
int
nn_eval_run(const NnDsSplit *sp, const NnEvalOptions *o,
			NnEvalScoreFn fn, void *ctx, NnEvalReport *rep)
{
	float	   *scores;
	int32_t    *excl;
	int32_t    *negs;
	int32_t		idx;
	int			rc = NN_DS_OK;

	if (!sp || !o || !fn || !rep || o->n_sampled < 0 || sp->mode != NN_SPLIT_LOO)
		return NN_DS_EINVAL;
	nn_eval_report_init(rep, o->k, o->n_k);
	scores = (float *) malloc((size_t) sp->ds->n_items * sizeof(float));
	excl = (int32_t *) malloc((size_t) sp->max_excl * sizeof(int32_t));
	negs = (int32_t *) malloc((size_t) (o->n_sampled > 0 ? o->n_sampled : 1) * sizeof(int32_t));
	if (!scores || !excl || !negs)
		rc = NN_DS_ENOMEM;
	for (idx = 0; rc == NN_DS_OK && idx < sp->n_eval; idx++)
	{
		NnDsEvalCase c;
		int64_t		rank;

		rc = nn_ds_eval_case(sp, idx, o->phase, excl, &c);
		if (rc == NN_DS_OK)
			rc = fn(ctx, &c, scores);
		if (rc != NN_DS_OK)
			break;
		rank = rank_case(sp, o, &c, scores, negs);
		if (rank > 0)
			nn_eval_report_add(rep, rank, c.is_repeat);
	}
	free(scores);
	free(excl);
	free(negs);
	return rc;
}

/* Scoring callback of MostPop: the train counts (exact up to 2^24 per item). */
static int
mostpop_score(void *ctx, const NnDsEvalCase *c, float *scores)
{
	const NnDsSplit *sp = (const NnDsSplit *) ctx;
	int32_t		i;

	for (i = 0; i < sp->ds->n_items; i++)
		scores[i] = (float) sp->train_count[i];
	return NN_DS_OK;
}

/* Most-popular baseline on the split with the same protocol. */
int
nn_eval_mostpop(const NnDsSplit *sp, const NnEvalOptions *o, NnEvalReport *rep)
{
	return nn_eval_run(sp, o, mostpop_score, (void *) sp, rep);
}
