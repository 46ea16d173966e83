/*
 * test_data.c
 *		Unit tests of src/nn/dataset.c: id maps, sort order, dedup, iterated
 *		k-core, leave-last-out split, tacaser/caser instances (model-spec
 *		§1.6 worked example), batch materialisation, time buckets, shuffle,
 *		negative samplers and evaluation inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/dataset.h"
#include "tap.h"

/* Append rows {user, item, time, event} given as a flat int64 array. */
static void
add_rows(NnDataset *ds, const int64_t *r, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		nn_ds_append(ds, r[4 * i], r[4 * i + 1], r[4 * i + 2], (int32_t) r[4 * i + 3]);
}

/* 1 if the dense sequence of user u equals want[0..n). */
static int
seq_is(const NnDataset *ds, int32_t u, const int32_t *want, int n)
{
	int			i;

	if (nn_ds_user_len(ds, u) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (ds->seq_item[ds->seq_off[u] + i] != want[i])
			return 0;
	return 1;
}

/* Id maps, lookups, time order with ties in append order, counts, event vocabulary. */
static void
test_ids_and_order(void)
{
	static const int64_t rows[] = {
		50, 300, 10, 2,
		50, 100, 10, 1,
		50, 200, 5, 0,
		50, 100, 10, 0,
		7, 200, 3, 1,
		-5, 100, 99, 7,
	};
	NnDataset	ds;
	int32_t		u50;

	nn_ds_init(&ds);
	add_rows(&ds, rows, 6);
	ok(nn_ds_finalize(&ds, NULL) == NN_DS_OK, "finalize");
	ok(ds.n_users == 4 && ds.n_items == 4 && ds.n_events == 4 && ds.n_inter == 6,
	   "sizes U=4 N=4 n_E=4 (codes 1,2,7) inter=6");
	ok(nn_ds_user_id(&ds, -5) == 1 && nn_ds_user_id(&ds, 7) == 2 &&
	   nn_ds_user_id(&ds, 50) == 3 && nn_ds_user_id(&ds, 8) == 0,
	   "users dense in ascending external order; unknown -> 0");
	ok(nn_ds_item_id(&ds, 100) == 1 && nn_ds_item_id(&ds, 200) == 2 &&
	   nn_ds_item_id(&ds, 300) == 3 && nn_ds_item_id(&ds, 0) == 0,
	   "items dense in ascending external order; unknown -> 0");
	ok(nn_ds_event_id(&ds, 0) == 0 && nn_ds_event_id(&ds, 1) == 1 &&
	   nn_ds_event_id(&ds, 2) == 2 && nn_ds_event_id(&ds, 7) == 3 &&
	   nn_ds_event_id(&ds, 5) == 0, "event vocabulary, 0 = none");
	ok(ds.user_ext[3] == 50 && ds.item_ext[3] == 300 && ds.event_ext[3] == 7, "reverse maps");
	u50 = nn_ds_user_id(&ds, 50);
	{
		static const int32_t want[] = {2, 3, 1, 1};
		int64_t		o = ds.seq_off[u50];

		ok(seq_is(&ds, u50, want, 4), "user 50 sorted by time, ties in append order");
		ok(ds.seq_event[o + 1] == 2 && ds.seq_event[o + 2] == 1 && ds.seq_event[o + 3] == 0,
		   "ties keep append order, whatever their item and event");
		ok(ds.seq_time[o] == 5 && ds.seq_time[o + 3] == 10, "times kept");
	}
	ok(ds.item_count[1] == 3 && ds.item_count[2] == 2 && ds.item_count[3] == 1 &&
	   ds.item_count[0] == 0, "item popularity counts");
	ok(ds.max_user_len == 4 && ds.stat_users_in == 3 && ds.stat_items_in == 3, "stats");
	ok(nn_ds_append(&ds, 1, 1, 1, 0) == NN_DS_ESTATE, "append after finalize refused");
	ok(nn_ds_finalize(&ds, NULL) == NN_DS_ESTATE, "second finalize refused");
	nn_ds_free(&ds);

	nn_ds_init(&ds);
	ok(nn_ds_finalize(&ds, NULL) == NN_DS_EEMPTY, "empty dataset -> EEMPTY");
	nn_ds_free(&ds);
}

/* Consecutive repeats are dropped only with the flag. */
static void
test_dedup(void)
{
	static const int64_t rows[] = {
		1, 10, 1, 0, 1, 10, 2, 0, 1, 20, 3, 0, 1, 10, 4, 0, 1, 10, 5, 0,
		2, 10, 1, 0, 2, 10, 1, 0,
	};
	static const int32_t want1[] = {1, 2, 1};
	static const int32_t want2[] = {1};
	NnDataset	ds;
	NnDsOptions opt;

	memset(&opt, 0, sizeof(opt));
	opt.dedup_repeats = 1;
	nn_ds_init(&ds);
	add_rows(&ds, rows, 7);
	ok(nn_ds_finalize(&ds, &opt) == NN_DS_OK, "finalize with dedup");
	ok(seq_is(&ds, 1, want1, 3) && seq_is(&ds, 2, want2, 1) && ds.stat_dedup_dropped == 3,
	   "dedup: A A B A A -> A B A; exact duplicates collapse");
	nn_ds_free(&ds);

	nn_ds_init(&ds);
	add_rows(&ds, rows, 7);
	nn_ds_finalize(&ds, NULL);
	ok(ds.n_inter == 7 && ds.stat_dedup_dropped == 0, "no dedup by default");
	nn_ds_free(&ds);
}

/* Iterated k-core needs a second removal pass; the single pass does not. */
static void
test_kcore(void)
{
	/* u1: a b; u2: a b; u3: a c.  k = 2: pass 1 drops (u3,c), pass 2 drops (u3,a). */
	static const int64_t rows[] = {
		1, 100, 1, 0, 1, 200, 2, 0,
		2, 100, 1, 0, 2, 200, 2, 0,
		3, 100, 1, 0, 3, 300, 2, 0,
	};
	NnDataset	ds;
	NnDsOptions opt;

	memset(&opt, 0, sizeof(opt));
	opt.kcore = 2;
	nn_ds_init(&ds);
	add_rows(&ds, rows, 6);
	ok(nn_ds_finalize(&ds, &opt) == NN_DS_OK, "iterated 2-core");
	ok(ds.n_users == 3 && ds.n_items == 3 && ds.n_inter == 4 &&
	   nn_ds_user_id(&ds, 3) == 0 && nn_ds_item_id(&ds, 300) == 0,
	   "user 3 and item 300 gone (2 users, 2 items, 4 events)");
	ok(ds.stat_kcore_passes == 3 && ds.stat_kcore_dropped == 2,
	   "3 passes (2 removing + 1 stable), 2 rows dropped");
	nn_ds_free(&ds);

	opt.kcore_max_passes = 1;
	nn_ds_init(&ds);
	add_rows(&ds, rows, 6);
	ok(nn_ds_finalize(&ds, &opt) == NN_DS_OK, "single-pass 2-core");
	ok(ds.n_users == 4 && ds.n_inter == 5 && nn_ds_user_len(&ds, nn_ds_user_id(&ds, 3)) == 1,
	   "single pass keeps user 3 with 1 event");
	nn_ds_free(&ds);

	opt.kcore = 3;
	opt.kcore_max_passes = 0;
	nn_ds_init(&ds);
	add_rows(&ds, rows, 6);
	ok(nn_ds_finalize(&ds, &opt) == NN_DS_EEMPTY && ds.n_users == 0,
	   "3-core removes everything -> EEMPTY, dataset emptied");
	nn_ds_free(&ds);
}

/* A dataset with users of 5, 2 and 3 events (items = external ids 1..). */
static void
build_split_ds(NnDataset *ds)
{
	static const int64_t rows[] = {
		1, 1, 10, 1, 1, 2, 20, 2, 1, 1, 30, 1, 1, 3, 40, 1, 1, 2, 50, 3,
		2, 4, 10, 1, 2, 5, 20, 1,
		3, 5, 10, 1, 3, 6, 20, 1, 3, 5, 30, 1,
	};

	nn_ds_init(ds);
	add_rows(ds, rows, 10);
	nn_ds_finalize(ds, NULL);
}

/* Leave-last-out and train-on-all. */
static void
test_split(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnDsEvalCase c;
	int32_t    *excl;

	build_split_ds(&ds);
	ok(nn_ds_split(&ds, NN_SPLIT_LOO, &sp) == NN_DS_OK, "LOO split");
	ok(sp.n_train[1] == 3 && sp.n_train[2] == 2 && sp.n_train[3] == 1 && sp.n_train_total == 6,
	   "train prefixes 3, 2 (too short: all train), 1");
	ok(sp.n_eval == 2 && sp.eval_users[0] == 1 && sp.eval_users[1] == 3,
	   "users with >= 3 events evaluated");
	ok(sp.train_set_off[2] - sp.train_set_off[1] == 2 && sp.train_set[0] == 1 && sp.train_set[1] == 2,
	   "user 1 train set {1,2}");
	ok(sp.train_count[1] == 2 && sp.train_count[2] == 1 && sp.train_count[3] == 0 &&
	   sp.train_count[4] == 1 && sp.train_count[5] == 2 && sp.train_count[6] == 0,
	   "train popularity counts");
	excl = (int32_t *) malloc((size_t) sp.max_excl * sizeof(int32_t));
	ok(nn_ds_eval_case(&sp, 0, NN_PHASE_VALID, excl, &c) == NN_DS_OK &&
	   c.inst.user == 1 && c.inst.end == 3 && c.target == 3 && c.n_excl == 2 &&
	   excl[0] == 1 && excl[1] == 2 && !c.is_repeat && c.target_time == 40,
	   "user 1 validation: history {1,2,1}, target 3 (new)");
	ok(nn_ds_eval_case(&sp, 0, NN_PHASE_TEST, excl, &c) == NN_DS_OK &&
	   c.inst.end == 4 && c.target == 2 && c.n_excl == 3 && excl[0] == 1 &&
	   excl[1] == 2 && excl[2] == 3 && c.is_repeat && c.target_event == 3,
	   "user 1 test: exclusion = train + validation {1,2,3}, target 2 is a repeat");
	ok(nn_ds_eval_case(&sp, 1, NN_PHASE_TEST, excl, &c) == NN_DS_OK &&
	   c.inst.user == 3 && c.target == 5 && c.n_excl == 2 && excl[0] == 5 && excl[1] == 6 &&
	   c.is_repeat, "user 3 test: history {5,6}, target 5 repeat");
	ok(nn_ds_eval_case(&sp, 2, NN_PHASE_TEST, excl, &c) == NN_DS_EINVAL, "idx out of range");
	{
		const int32_t *seen;
		int32_t		n = nn_ds_seen_items(&sp, 1, &seen);

		ok(n == 3 && seen[0] == 1 && seen[2] == 3, "seen set of user 1 = {1,2,3}");
	}
	free(excl);
	nn_ds_split_free(&sp);

	ok(nn_ds_split(&ds, NN_SPLIT_ALL, &sp) == NN_DS_OK && sp.n_eval == 0 &&
	   sp.n_train[1] == 5 && sp.n_train_total == 10, "train-on-all split");
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

/* Batch arrays for B rows. */
typedef struct TBatch
{
	int32_t		users[16];
	int32_t		items[16 * 8];
	int32_t		events[16 * 8];
	int64_t		times[16 * 8];
	int64_t		tref[16];
	int32_t		targets[16 * 4];
	int32_t		tev[16 * 4];
	int32_t		hlen[16];
	NnDsBatch	b;
} TBatch;

/* Point the NnDsBatch at the arrays. */
static void
tbatch_init(TBatch *t)
{
	memset(t, 0, sizeof(*t));
	t->b.users = t->users;
	t->b.items = t->items;
	t->b.events = t->events;
	t->b.times = t->times;
	t->b.tref = t->tref;
	t->b.targets = t->targets;
	t->b.target_events = t->tev;
	t->b.hist_len = t->hlen;
}

/* 1 if v[0..n) equals want (external ids mapped to dense, 0 stays 0). */
static int
ids_are(const NnDataset *ds, const int32_t *v, const int64_t *want, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (v[i] != (want[i] ? nn_ds_item_id(ds, want[i]) : 0))
			return 0;
	return 1;
}

/* Caser instances, §1.6 worked example and the short-user padding quirk. */
static void
test_caser(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnDsInstances in;
	TBatch		t;
	int			i;

	nn_ds_init(&ds);
	for (i = 1; i <= 9; i++)
		nn_ds_append(&ds, 1, i, 100 * i, 0);
	for (i = 11; i <= 14; i++)
		nn_ds_append(&ds, 2, i, 100 * i, 0);
	nn_ds_append(&ds, 3, 21, 1, 0);
	nn_ds_append(&ds, 3, 22, 2, 0);
	nn_ds_finalize(&ds, NULL);
	nn_ds_split(&ds, NN_SPLIT_ALL, &sp);
	ok(nn_ds_instances_caser(&sp, 5, 3, &in) == NN_DS_OK && in.n == 4, "caser: 2 + 1 + 1 instances");
	ok(in.v[0].user == 1 && in.v[0].end == 5 && in.v[1].end == 6 &&
	   in.v[2].user == 2 && in.v[2].end == 1 && in.v[3].user == 3 && in.v[3].end == -1,
	   "caser (user, end) pairs");
	tbatch_init(&t);
	ok(nn_ds_fill_batch(&sp, in.v, 4, 5, 3, NN_DS_TREF_LAST, &t.b) == NN_DS_OK, "fill caser batch (M=L=5)");
	{
		static const int64_t in0[] = {1, 2, 3, 4, 5}, tg0[] = {6, 7, 8};
		static const int64_t in1[] = {2, 3, 4, 5, 6}, tg1[] = {7, 8, 9};
		static const int64_t in2[] = {0, 0, 0, 0, 11}, tg2[] = {12, 13, 14};
		static const int64_t in3[] = {0, 0, 0, 0, 0}, tg3[] = {0, 21, 22};

		ok(ids_are(&ds, t.items, in0, 5) && ids_are(&ds, t.targets, tg0, 3), "[1 2 3 4 5] -> [6 7 8]");
		ok(ids_are(&ds, t.items + 5, in1, 5) && ids_are(&ds, t.targets + 3, tg1, 3), "[2 3 4 5 6] -> [7 8 9]");
		ok(ids_are(&ds, t.items + 10, in2, 5) && ids_are(&ds, t.targets + 6, tg2, 3),
		   "n=4 < L+T: left-padded [0 0 0 0 11] -> [12 13 14]");
		ok(ids_are(&ds, t.items + 15, in3, 5) && ids_are(&ds, t.targets + 9, tg3, 3) &&
		   t.hlen[3] == 0 && t.tref[3] == 0,
		   "n=2 <= T: empty input, pad target masked as 0: [0 21 22]");
	}
	{
		/* test input of §1.6: the last L items of the train sequence */
		NnDsInstance ti = {1, 9};
		static const int64_t want[] = {5, 6, 7, 8, 9}, none[] = {0, 0, 0};

		ok(nn_ds_fill_batch(&sp, &ti, 1, 5, 3, NN_DS_TREF_LAST, &t.b) == NN_DS_OK &&
		   ids_are(&ds, t.items, want, 5) && ids_are(&ds, t.targets, none, 3) && t.tref[0] == 900,
		   "test input [5 6 7 8 9], no targets");
	}
	nn_ds_instances_free(&in);
	ok(nn_ds_instances_caser(&sp, 3, 1, &in) == NN_DS_OK && in.n == 6 + 1 + 1,
	   "caser L=3 T=1: 9-4+1 + 4-4+1 + 1");
	nn_ds_instances_free(&in);
	ok(nn_ds_instances_caser(&sp, 0, 3, &in) == NN_DS_EINVAL, "L=0 rejected");
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

/* tacaser instances, target masking at the train boundary, tref modes. */
static void
test_tacaser(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnDsInstances in;
	TBatch		t;
	int			i;

	/* user 1: items 1..6 at times 60, 120, ...; LOO: train = 1..4 */
	nn_ds_init(&ds);
	for (i = 1; i <= 6; i++)
		nn_ds_append(&ds, 1, i, 60 * i, i % 2 + 1);
	nn_ds_append(&ds, 2, 1, 5, 1);
	nn_ds_finalize(&ds, NULL);
	nn_ds_split(&ds, NN_SPLIT_LOO, &sp);
	ok(nn_ds_instances_tacaser(&sp, 0, &in) == NN_DS_OK && in.n == 3 &&
	   in.v[0].end == 1 && in.v[2].end == 3, "tacaser: j = 1..n-1 of the train prefix (user 2: none)");
	tbatch_init(&t);
	ok(nn_ds_fill_batch(&sp, in.v, 3, 3, 2, NN_DS_TREF_LAST, &t.b) == NN_DS_OK, "fill M=3 T=2");
	{
		static const int32_t i0[] = {0, 0, 1}, g0[] = {2, 3};
		static const int32_t i2[] = {1, 2, 3}, g2[] = {4, 0};

		ok(memcmp(t.items, i0, sizeof(i0)) == 0 && memcmp(t.targets, g0, sizeof(g0)) == 0 &&
		   t.hlen[0] == 1 && t.users[0] == 1, "j=1: [0 0 1] -> [2 3]");
		ok(memcmp(t.items + 6, i2, sizeof(i2)) == 0 && memcmp(t.targets + 4, g2, sizeof(g2)) == 0,
		   "j=3: [1 2 3] -> [4 0]: validation item never a training target");
		ok(t.times[0] == 0 && t.times[2] == 60 && t.events[0] == 0 && t.events[2] == 2 &&
		   t.tev[0] == 1 && t.tev[1] == 2, "times/events 0 for pad, target events");
		ok(t.tref[0] == 60 && t.tref[2] == 180, "tref last = newest input time");
	}
	ok(nn_ds_fill_batch(&sp, in.v, 3, 3, 2, NN_DS_TREF_NOW, &t.b) == NN_DS_OK &&
	   t.tref[0] == 120 && t.tref[2] == 240, "tref now = first target time");
	{
		int32_t		g[9];

		nn_ds_fill_batch(&sp, in.v, 3, 3, 2, NN_DS_TREF_NOW, &t.b);
		ok(nn_ds_fill_buckets(t.items, t.times, t.tref, 3, 3, 24, g) == NN_DS_OK &&
		   g[0] == 0 && g[1] == 0 && g[2] == 2 && g[6] == 3 && g[7] == 2 && g[8] == 2,
		   "buckets: pad 0; gap 60 s -> 2; gap 120 s -> 2; gap 180 s -> 3");
	}
	{
		/* evaluation instances: T=1, the target is the validation/test item */
		NnDsInstance ev[2] = {{1, 4}, {1, 5}};

		ok(nn_ds_fill_batch(&sp, ev, 2, 3, 2, NN_DS_TREF_LAST, &t.b) == NN_DS_OK &&
		   t.targets[0] == 5 && t.targets[1] == 0 && t.targets[2] == 6 && t.targets[3] == 0 &&
		   t.items[2] == 4 && t.items[5] == 5, "eval instances: single target, history includes validation at test");
	}
	nn_ds_instances_free(&in);
	ok(nn_ds_instances_tacaser(&sp, 2, &in) == NN_DS_OK && in.n == 2 &&
	   in.v[0].end == 2 && in.v[1].end == 3, "cap 2 keeps the 2 most recent prefixes");
	nn_ds_instances_free(&in);
	{
		NnDsInstance bad[1] = {{7, 1}};
		NnDsInstance bad2[1] = {{1, 7}};

		ok(nn_ds_fill_batch(&sp, bad, 1, 3, 2, NN_DS_TREF_LAST, &t.b) == NN_DS_EINVAL &&
		   nn_ds_fill_batch(&sp, bad2, 1, 3, 2, NN_DS_TREF_LAST, &t.b) == NN_DS_EINVAL,
		   "unknown user / end past the sequence rejected");
	}
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

/* Exact bucket values of §5.3.2. */
static void
test_buckets(void)
{
	ok(nn_ds_time_bucket(0, 24) == 1 && nn_ds_time_bucket(59, 24) == 1 &&
	   nn_ds_time_bucket(60, 24) == 2 && nn_ds_time_bucket(179, 24) == 2 &&
	   nn_ds_time_bucket(180, 24) == 3 && nn_ds_time_bucket(-5, 24) == 1,
	   "buckets: 0..59 s -> 1, 60..179 -> 2, 180 -> 3, negative gap -> 1");
	ok(nn_ds_time_bucket(60LL * ((1LL << 21) - 1), 24) == 22 &&
	   nn_ds_time_bucket(60LL * ((1LL << 22) - 1), 24) == 23 &&
	   nn_ds_time_bucket(INT64_MAX, 24) == 23, "buckets saturate at n_G-1");
	ok(nn_ds_time_bucket(12345, 2) == 1 && nn_ds_time_bucket(1, 1) == 0, "tiny n_G");
}

/* Deterministic shuffle that is a permutation. */
static void
test_shuffle(void)
{
	NnDsInstance a[1000], b[1000];
	int			seen[1000];
	int			i;
	int			perm = 1;
	int			moved = 0;

	for (i = 0; i < 1000; i++)
	{
		a[i].user = i;
		a[i].end = -i;
		seen[i] = 0;
	}
	memcpy(b, a, sizeof(a));
	nn_ds_shuffle(a, 1000, 1234, 3);
	nn_ds_shuffle(b, 1000, 1234, 3);
	ok(memcmp(a, b, sizeof(a)) == 0, "same (seed, epoch) -> same order");
	for (i = 0; i < 1000; i++)
	{
		if (a[i].user < 0 || a[i].user >= 1000 || a[i].end != -a[i].user || seen[a[i].user]++)
			perm = 0;
		moved += a[i].user != i;
	}
	ok(perm && moved > 900, "a permutation that moves most entries");
	for (i = 0; i < 1000; i++)
		b[i] = (NnDsInstance) {i, -i};
	nn_ds_shuffle(b, 1000, 1234, 4);
	ok(memcmp(a, b, sizeof(a)) != 0, "another epoch -> another order");
}

/* Uniform negatives never hit train items; complement select; shared. */
static void
test_negatives(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnRng		rng;
	int32_t		out[64];
	int			hits[51];
	int			i;
	int			r;
	int			bad = 0;
	int			all_free = 1;

	/* user 1: items 1..40 (train 1..38 with LOO); user 2: items 1..49 all but 25 */
	nn_ds_init(&ds);
	for (i = 1; i <= 40; i++)
		nn_ds_append(&ds, 1, i, i, 0);
	for (i = 1; i <= 50; i++)
		if (i != 25)
			nn_ds_append(&ds, 2, i, i, 0);
	nn_ds_finalize(&ds, NULL);
	nn_ds_split(&ds, NN_SPLIT_ALL, &sp);
	ok(ds.n_items == 51, "51 item ids");
	nn_rng_seed(&rng, 42, 7);
	memset(hits, 0, sizeof(hits));
	for (r = 0; r < 500; r++)
	{
		nn_ds_neg_uniform(&sp, 1, &rng, 64, out);
		for (i = 0; i < 64; i++)
		{
			if (out[i] <= 40 || out[i] > 50)
				bad++;
			else
				hits[out[i]]++;
		}
	}
	for (i = 41; i <= 50; i++)
		if (hits[i] < 2500 || hits[i] > 3900)	/* expected 3200 */
			all_free = 0;
	ok(bad == 0, "32000 negatives of user 1: none among its 40 train items");
	ok(all_free, "the 10 free items are drawn about uniformly");
	bad = 0;
	for (r = 0; r < 100; r++)
	{
		nn_ds_neg_uniform(&sp, 2, &rng, 64, out);
		for (i = 0; i < 64; i++)
			bad += out[i] != 25;
	}
	ok(bad == 0, "user with one free item always gets it (exact fallback after 64 misses)");
	nn_ds_neg_uniform(&sp, 0, &rng, 64, out);
	for (i = 0, bad = 0; i < 64; i++)
		bad += out[i] < 1 || out[i] > 50;
	ok(bad == 0, "unknown user 0: uniform over 1..N-1");
	ok(nn_ds_neg_shared(51, &rng, 64, out) == NN_DS_OK, "shared negatives");
	for (i = 0, bad = 0; i < 64; i++)
		bad += out[i] < 1 || out[i] > 50;
	ok(bad == 0 && nn_ds_neg_shared(1, &rng, 4, out) == NN_DS_EINVAL, "shared range; N=1 rejected");
	{
		/* complement_select against brute force */
		int32_t		set[] = {2, 3, 7, 8, 9, 15};
		int			k;
		int			x = 0;
		int			okc = 1;

		for (k = 0; k < 20; k++)
		{
			int			j;

			do
			{
				x++;
				for (j = 0; j < 6 && set[j] != x; j++)
					;
			} while (j < 6);
			okc &= nn_ds_complement_select(set, 6, k) == x;
		}
		ok(okc, "complement_select = k-th non-member");
	}
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

/* Popularity proposal: frequencies and ln pi corrections. */
static void
test_popularity(void)
{
	static const int64_t counts[] = {0, 1, 0, 16, 81};
	NnDsPopSampler ps;
	NnRng		rng;
	int32_t		out[1000];
	float		lq[1000];
	int			freq[5] = {0};
	int			r;
	int			i;
	int			lq_ok = 1;

	ok(nn_ds_pop_init(&ps, counts, 5, 0.75) == NN_DS_OK, "pop sampler over counts {1,0,16,81}");
	/* weights 1, 0, 8, 27 -> pi = 1/36, 0, 8/36, 27/36 */
	is_double(ps.logq[1], log(1.0 / 36), 1e-5, "ln pi(1) = ln(1/36)");
	is_double(ps.logq[3], log(8.0 / 36), 1e-5, "ln pi(3) = ln(8/36)");
	is_double(ps.logq[4], log(27.0 / 36), 1e-5, "ln pi(4) = ln(27/36)");
	ok(isinf(ps.logq[2]) && ps.logq[2] < 0, "ln pi(2) = -inf (count 0)");
	nn_rng_seed(&rng, 1, 2);
	for (r = 0; r < 360; r++)
	{
		nn_ds_pop_draw(&ps, &rng, 1000, out, lq);
		for (i = 0; i < 1000; i++)
		{
			freq[out[i]]++;
			lq_ok &= lq[i] == ps.logq[out[i]];
		}
	}
	ok(freq[0] == 0 && freq[2] == 0, "zero-count item and PAD never drawn");
	ok(abs(freq[1] - 10000) < 600 && abs(freq[3] - 80000) < 1600 && abs(freq[4] - 270000) < 2000,
	   "frequencies match pi");
	diag("draws per item: %d %d %d (expected 10000 80000 270000)", freq[1], freq[3], freq[4]);
	ok(lq_ok, "logq returned per draw");
	nn_ds_pop_free(&ps);
	{
		static const int64_t zeros[] = {0, 0, 0};

		ok(nn_ds_pop_init(&ps, zeros, 3, 0.75) == NN_DS_EINVAL, "all-zero counts rejected");
	}
}

int
main(void)
{
	test_ids_and_order();
	test_dedup();
	test_kcore();
	test_split();
	test_caser();
	test_tacaser();
	test_buckets();
	test_shuffle();
	test_negatives();
	test_popularity();
	return done_testing();
}
