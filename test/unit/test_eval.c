/*
 * test_eval.c
 *		Unit tests of src/nn/eval.c (model-spec §6.3-§6.4): pessimistic
 *		ranks with exclusion and NaN, metrics on a hand-computed case, the
 *		repeat-aware split, sampled-100, the MostPop baseline and the
 *		callback driver.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/eval.h"
#include "tap.h"

/* Ranks, exclusion, ties and NaN. */
static void
test_rank(void)
{
	float		s[5] = {100.0f, 0.5f, 0.9f, 0.1f, 0.7f};
	int32_t		ex1[] = {2};
	int32_t		ex2[] = {-1, 2, 2, 4, 99};
	int32_t		ex3[] = {1, 3};
	float		c[101];
	int			i;

	ok(nn_eval_rank(s, 5, 4, NULL, 0) == 2, "rank 2: only item 2 scores higher; item 0 ignored");
	ok(nn_eval_rank(s, 5, 4, ex1, 1) == 1, "excluding item 2 -> rank 1");
	ok(nn_eval_rank(s, 5, 4, ex2, 5) == 1, "target, duplicates and out-of-range ids in excl ignored");
	ok(nn_eval_rank(s, 5, 3, NULL, 0) == 4 && nn_eval_rank(s, 5, 3, ex3, 2) == 3,
	   "lowest item: rank 4; excluding item 1 (and the target itself) -> 3");
	for (i = 0; i < 101; i++)
		c[i] = 0.25f;
	ok(nn_eval_rank(c, 101, 17, NULL, 0) == 100, "constant scores: worst rank (100 of 100)");
	ok(nn_eval_rank(c, 101, 17, ex1, 1) == 99, "constant scores with one exclusion: 99");
	s[2] = NAN;
	ok(nn_eval_rank(s, 5, 4, NULL, 0) == 1, "a NaN competitor never ranks ahead");
	s[4] = NAN;
	ok(nn_eval_rank(s, 5, 4, NULL, 0) == 4 && nn_eval_rank(s, 5, 4, ex1, 1) == 3,
	   "NaN target -> worst rank");
	s[2] = INFINITY;
	s[4] = -INFINITY;
	ok(nn_eval_rank(s, 5, 4, NULL, 0) == 4, "-inf target: worst rank");
	ok(nn_eval_rank(s, 5, 0, NULL, 0) == 0 && nn_eval_rank(s, 5, 5, NULL, 0) == 0,
	   "target 0 or out of range -> 0 (invalid)");
	{
		int32_t		negs[] = {1, 3, 3};

		s[4] = 0.3f;
		ok(nn_eval_rank_sampled(s, 4, negs, 3) == 2, "sampled: duplicates count (rank 1 + item 1)");
		ok(nn_eval_rank_sampled(c, 4, negs, 3) == 4, "sampled constant scores -> worst (4 of 4)");
	}
}

/* Hand-computed metrics for ranks 1, 3, 12, 2. */
static void
test_metrics(void)
{
	static const int32_t ks[] = {1, 5, 10};
	NnMetricAcc a;
	NnMetrics	m;

	nn_eval_acc_init(&a, ks, 3);
	nn_eval_acc_add(&a, 1);
	nn_eval_acc_add(&a, 3);
	nn_eval_acc_add(&a, 12);
	nn_eval_acc_add(&a, 2);
	nn_eval_metrics(&a, &m);
	ok(m.n == 4 && m.k[2] == 10, "4 users, cutoffs kept");
	is_double(m.hr[0], 0.25, 1e-12, "HR@1 = 1/4");
	is_double(m.hr[1], 0.75, 1e-12, "HR@5 = 3/4");
	is_double(m.hr[2], 0.75, 1e-12, "HR@10 = 3/4");
	is_double(m.ndcg[0], 0.25, 1e-12, "NDCG@1 = 1/4");
	is_double(m.ndcg[2], (1.0 + 0.5 + 1.0 / log2(3.0)) / 4.0, 1e-12,
			  "NDCG@10 = (1 + 1/log2 4 + 1/log2 3) / 4");
	is_double(m.mrr, (1.0 + 1.0 / 3 + 1.0 / 12 + 0.5) / 4.0, 1e-12, "MRR = (1 + 1/3 + 1/12 + 1/2) / 4");
	is_double(m.mrrk[2], (1.0 + 1.0 / 3 + 0.5) / 4.0, 1e-12, "MRR@10 drops rank 12");
	is_double(m.hr_se[1], 0.25, 1e-12, "SE(HR@5): sample sd 0.5 / sqrt 4");
	{
		double		v[4] = {1.0, 0.5, 0.0, 1.0 / log2(3.0)};
		double		mean = (v[0] + v[1] + v[2] + v[3]) / 4;
		double		var = 0;
		int			i;

		for (i = 0; i < 4; i++)
			var += (v[i] - mean) * (v[i] - mean);
		is_double(m.ndcg_se[2], sqrt(var / 3 / 4), 1e-12, "SE(NDCG@10)");
	}
	nn_eval_acc_init(&a, NULL, 0);
	ok(a.n_k == 5 && a.k[0] == 1 && a.k[4] == 50, "default cutoffs 1 5 10 20 50");
	nn_eval_metrics(&a, &m);
	ok(m.n == 0 && m.hr[0] == 0 && m.hr_se[0] == 0, "empty accumulator -> zeros");
}

/*
 * Tiny LOO dataset (external ids = dense ids):
 *	u1: 1 2 3 1 4	-> train 1 2 3, valid 1, test 4
 *	u2: 2 3 2 5		-> train 2 3,  valid 2, test 5
 *	u3: 1 2 3		-> train 1,    valid 2, test 3
 *	u4: 5 6			-> train only
 * train counts: 1:2 2:2 3:2 4:0 5:1 6:1
 */
static void
build_ds(NnDataset *ds, NnDsSplit *sp)
{
	static const int32_t seqs[4][5] = {{1, 2, 3, 1, 4}, {2, 3, 2, 5}, {1, 2, 3}, {5, 6}};
	static const int	lens[4] = {5, 4, 3, 2};
	int			u;
	int			i;

	nn_ds_init(ds);
	for (u = 0; u < 4; u++)
		for (i = 0; i < lens[u]; i++)
			nn_ds_append(ds, u + 1, seqs[u][i], 10 * i, 0);
	nn_ds_finalize(ds, NULL);
	nn_ds_split(ds, NN_SPLIT_LOO, sp);
}

/* MostPop by hand on the tiny dataset. */
static void
test_mostpop(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnEvalOptions o;
	NnEvalReport rep;
	NnMetrics	m;

	build_ds(&ds, &sp);
	ok(sp.n_eval == 3 && sp.train_count[1] == 2 && sp.train_count[4] == 0, "tiny split");
	nn_eval_options_default(&o);
	o.n_k = 2;
	o.k[0] = 1;
	o.k[1] = 3;
	/*
	 * test, exclusion on:
	 *	u1 target 4 (count 0), history {1,2,3}: candidates 4,5,6 -> 5,6 ahead: rank 3
	 *	u2 target 5 (1), history {2,3}: candidates 1,4,5,6 -> 1 (2), 6 (1 tie): rank 3
	 *	u3 target 3 (2), history {1,2}: candidates 3,4,5,6 -> rank 1
	 */
	ok(nn_eval_mostpop(&sp, &o, &rep) == NN_DS_OK, "mostpop test run");
	nn_eval_metrics(&rep.all, &m);
	is_double(m.hr[0], 1.0 / 3, 1e-12, "MostPop test HR@1 = 1/3");
	is_double(m.hr[1], 1.0, 1e-12, "MostPop test HR@3 = 1");
	is_double(m.mrr, (1.0 / 3 + 1.0 / 3 + 1.0) / 3, 1e-12, "MostPop test MRR");
	ok(rep.repeat.n == 0 && rep.fresh.n == 3, "no repeated test target");
	/*
	 * test, exclusion off: u1: 1,2,3 (2), 5,6 (1) ahead: rank 6;
	 * u2: 1,2,3 ahead of 5, tie 6: rank 5; u3: 1,2 tie: rank 3
	 */
	o.exclude_history = 0;
	nn_eval_mostpop(&sp, &o, &rep);
	nn_eval_metrics(&rep.all, &m);
	is_double(m.mrr, (1.0 / 6 + 1.0 / 5 + 1.0 / 3) / 3, 1e-12, "MostPop without exclusion: ranks 6, 5, 3");
	/*
	 * validation, exclusion on: u1 target 1 is in the history {1,2,3}
	 * (repeat; kept): candidates 1,4,5,6 -> rank 1; u2 target 2 repeat
	 * (history {2,3}): 1 ties -> rank 2; u3 target 2, history {1}:
	 * 2 ties 3 -> rank 2
	 */
	o.exclude_history = 1;
	o.phase = NN_PHASE_VALID;
	nn_eval_mostpop(&sp, &o, &rep);
	nn_eval_metrics(&rep.all, &m);
	is_double(m.mrr, (1.0 + 0.5 + 0.5) / 3, 1e-12, "MostPop validation: ranks 1, 2, 2");
	ok(rep.repeat.n == 2 && rep.fresh.n == 1, "two validation targets are repeats");
	nn_eval_metrics(&rep.repeat, &m);
	is_double(m.mrr, 0.75, 1e-12, "repeat subset MRR (1 + 1/2) / 2");
	nn_eval_metrics(&rep.fresh, &m);
	is_double(m.hr[0], 0.0, 1e-12, "fresh subset HR@1 = 0");
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

/* Scoring callback: the target scores 1, everything else 0. */
static int
oracle(void *ctx, const NnDsEvalCase *c, float *scores)
{
	int32_t		n = *(const int32_t *) ctx;
	int32_t		i;

	for (i = 0; i < n; i++)
		scores[i] = 0.0f;
	scores[c->target] = 1.0f;
	return 0;
}

/* Scoring callback: constant scores. */
static int
constant(void *ctx, const NnDsEvalCase *c, float *scores)
{
	int32_t		n = *(const int32_t *) ctx;
	int32_t		i;

	for (i = 0; i < n; i++)
		scores[i] = 0.5f;
	return 0;
}

/* Scoring callback that fails. */
static int
failing(void *ctx, const NnDsEvalCase *c, float *scores)
{
	return -42;
}

/* Driver with callbacks and the sampled-100 variant. */
static void
test_driver(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnEvalOptions o;
	NnEvalReport rep;
	NnMetrics	m;
	int32_t		n_items;
	int			i;
	int			bad = 0;

	/* 200 items; user u (1..30) sees items u, u+1, ..., u+9 */
	nn_ds_init(&ds);
	for (i = 1; i < 200; i++)
		nn_ds_append(&ds, 1000, i, i, 0);
	for (i = 1; i <= 30 * 10; i++)
		nn_ds_append(&ds, (i - 1) / 10 + 1, (i - 1) / 10 + 1 + (i - 1) % 10, i, 0);
	nn_ds_finalize(&ds, NULL);
	nn_ds_split(&ds, NN_SPLIT_LOO, &sp);
	n_items = ds.n_items;
	nn_eval_options_default(&o);
	ok(nn_eval_run(&sp, &o, oracle, &n_items, &rep) == NN_DS_OK, "oracle run");
	nn_eval_metrics(&rep.all, &m);
	ok(m.n == 31 && m.hr[0] == 1.0 && m.mrr == 1.0 && m.hr_se[0] == 0.0, "oracle: all rank 1");
	nn_eval_run(&sp, &o, constant, &n_items, &rep);
	nn_eval_metrics(&rep.all, &m);
	ok(m.hr[4] == 1.0 / 31, "constant model: HR@50 = 1/31 (pessimistic ties; only the user "
	   "whose every other item is excluded ranks 1)");
	{
		char		label[64];

		nn_eval_label(&o, label, sizeof(label));
		ok(strcmp(label, "test, full ranking, history excluded") == 0, "label: %s", label);
		o.n_sampled = 100;
		nn_eval_label(&o, label, sizeof(label));
		ok(strcmp(label, "test, sampled-100 (uniform)") == 0, "label: %s", label);
	}
	nn_eval_run(&sp, &o, constant, &n_items, &rep);
	nn_eval_metrics(&rep.all, &m);
	ok(m.n == 30, "sampled-100: the user who touched every item is skipped");
	is_double(m.mrr, 1.0 / 101, 1e-12, "sampled-100, constant scores: rank 101 of 101");
	nn_eval_run(&sp, &o, oracle, &n_items, &rep);
	nn_eval_metrics(&rep.all, &m);
	ok(m.hr[0] == 1.0, "sampled-100, oracle: rank 1");
	{
		int32_t		a[100], b[100];
		const int32_t *seen;
		int32_t		ns;
		int			u;
		int			j;

		for (u = 1; u < 31; u++)
		{
			int32_t		du = nn_ds_user_id(&ds, u);

			ns = nn_ds_seen_items(&sp, du, &seen);
			nn_eval_sampled_negs(&sp, du, 7, 100, a);
			nn_eval_sampled_negs(&sp, du, 7, 100, b);
			bad += memcmp(a, b, sizeof(a)) != 0;
			for (j = 0; j < 100; j++)
			{
				int			k;

				bad += a[j] < 1 || a[j] >= n_items;
				for (k = 0; k < ns; k++)
					bad += a[j] == seen[k];
			}
		}
		ok(bad == 0, "sampled negatives: reproducible, in range, never an item the user touched");
		ok(nn_eval_sampled_negs(&sp, nn_ds_user_id(&ds, 1000), 7, 100, a) == NN_DS_EEMPTY,
		   "user who touched every item: no negatives");
	}
	o.n_sampled = 0;
	ok(nn_eval_run(&sp, &o, failing, &n_items, &rep) == -42, "callback error aborts the run");
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

int
main(void)
{
	test_rank();
	test_metrics();
	test_mostpop();
	test_driver();
	return done_testing();
}
