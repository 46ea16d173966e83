/*
 * test_topk.c
 *		Unit tests of src/nn/topk.c (model-spec §5.13): hand cases, then
 *		random score vectors with heavy ties, NaN and +-inf, exclusion lists
 *		(with duplicates and out-of-range ids), bitmaps and candidate lists
 *		(unsorted, duplicated, unknown ids), all checked against a brute-force
 *		sort; and a timing over 1M items.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/rng.h"
#include "nn/topk.h"
#include "tap.h"

/* Reference order: higher score first, then smaller id. */
typedef struct Ref
{
	float		s;
	int32_t		id;
} Ref;

/* qsort comparator of the reference order. */
static int
cmp_ref(const void *a, const void *b)
{
	const Ref  *x = (const Ref *) a;
	const Ref  *y = (const Ref *) b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Brute force: eligible items sorted; returns how many were written (<= k). */
static int32_t
brute(const float *s, int32_t n, int32_t k, const NnTopkFilter *f, int32_t *ids, float *sc)
{
	Ref		   *r = (Ref *) malloc(sizeof(Ref) * (size_t) n);
	char	   *inc = (char *) calloc((size_t) n, 1);
	int32_t		m = 0;
	int32_t		i;
	int64_t		j;

	for (i = 1; i < n; i++)
		inc[i] = f == NULL || f->candidates == NULL;
	if (f && f->candidates)
		for (j = 0; j < f->n_candidates; j++)
			if (f->candidates[j] >= 1 && f->candidates[j] < n)
				inc[f->candidates[j]] = 1;
	if (f && f->exclude)
		for (j = 0; j < f->n_exclude; j++)
			if (f->exclude[j] >= 1 && f->exclude[j] < n)
				inc[f->exclude[j]] = 0;
	for (i = 1; i < n; i++)
	{
		if (f && f->exclude_bits && (f->exclude_bits[i >> 6] >> (i & 63)) & 1)
			inc[i] = 0;
		if (inc[i] && !isnan(s[i]))
		{
			r[m].s = s[i];
			r[m].id = i;
			m++;
		}
	}
	qsort(r, (size_t) m, sizeof(Ref), cmp_ref);
	if (m > k)
		m = k;
	for (i = 0; i < m; i++)
	{
		ids[i] = r[i].id;
		sc[i] = r[i].s;
	}
	free(r);
	free(inc);
	return m;
}

/* qsort comparator for int32. */
static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* Hand-worked cases. */
static void
test_hand(void)
{
	float		s[8] = {9.0f, 0.5f, 0.9f, 0.5f, NAN, 0.9f, -INFINITY, 0.1f};
	int32_t		ids[8];
	float		sc[8];
	int32_t		n;
	int32_t		ex[] = {2, 2, 40};
	int32_t		cand[] = {7, 3, 3, 0, 99, -4, 6, 1};
	NnTopkFilter f;

	ok(nn_topk(s, 8, 3, NULL, ids, sc, &n) == NN_TOPK_OK && n == 3 &&
	   ids[0] == 2 && ids[1] == 5 && ids[2] == 1 && sc[0] == 0.9f && sc[2] == 0.5f,
	   "top-3 = 2, 5 (tie 0.9 by id), 1 (tie 0.5 by id); item 0 skipped");
	ok(nn_topk(s, 8, 10, NULL, ids, sc, &n) == NN_TOPK_OK && n == 6 &&
	   ids[3] == 3 && ids[4] == 7 && ids[5] == 6, "k > eligible: 6 items, NaN dropped, -inf last");
	memset(&f, 0, sizeof(f));
	f.exclude = ex;
	f.n_exclude = 3;
	ok(nn_topk(s, 8, 2, &f, ids, sc, &n) == NN_TOPK_OK && n == 2 && ids[0] == 5 && ids[1] == 1,
	   "exclusion list (with duplicate and unknown id)");
	memset(&f, 0, sizeof(f));
	f.candidates = cand;
	f.n_candidates = 8;
	ok(nn_topk(s, 8, 8, &f, ids, NULL, &n) == NN_TOPK_OK && n == 4 &&
	   ids[0] == 1 && ids[1] == 3 && ids[2] == 7 && ids[3] == 6,
	   "candidates: deduped, unknown ids ignored, no score output needed");
	f.n_candidates = 0;
	ok(nn_topk(s, 8, 8, &f, ids, sc, &n) == NN_TOPK_OK && n == 0, "empty candidate list -> nothing");
	{
		uint64_t	bits[1] = {(1u << 2) | (1u << 5)};

		memset(&f, 0, sizeof(f));
		f.exclude_bits = bits;
		ok(nn_topk(s, 8, 1, &f, ids, sc, &n) == NN_TOPK_OK && n == 1 && ids[0] == 1,
		   "bitmap exclusion");
	}
	{
		int32_t		unsorted[] = {5, 2};

		memset(&f, 0, sizeof(f));
		f.exclude = unsorted;
		f.n_exclude = 2;
		ok(nn_topk(s, 8, 2, &f, ids, sc, &n) == NN_TOPK_EINVAL && n == 0,
		   "unsorted exclusion list rejected");
	}
	ok(nn_topk(s, 8, 0, NULL, ids, sc, &n) == NN_TOPK_OK && n == 0 &&
	   nn_topk(s, 1, 5, NULL, ids, sc, &n) == NN_TOPK_OK && n == 0 &&
	   nn_topk(NULL, 8, 5, NULL, ids, sc, &n) == NN_TOPK_EINVAL, "k = 0, PAD-only catalogue, NULL scores");
	ok(nn_topk_bitmap_words(64) == 1 && nn_topk_bitmap_words(65) == 2 && nn_topk_bitmap_words(0) == 0,
	   "bitmap word count");
}

/* Random cases against brute force. */
static void
test_random(void)
{
	NnRng		r;
	int			iter;
	int			bad = 0;
	int			cases = 0;

	nn_rng_seed(&r, 2024, 1);
	for (iter = 0; iter < 3000; iter++)
	{
		int32_t		n = 1 + (int32_t) nn_rng_below(&r, iter < 2000 ? 60 : 3000);
		int32_t		k = 1 + (int32_t) nn_rng_below(&r, iter % 3 == 0 ? 5 : 80);
		int			levels = 1 + (int) nn_rng_below(&r, 8);	/* few distinct values: ties */
		int			mode = (int) nn_rng_below(&r, 8);
		float	   *s = (float *) malloc(sizeof(float) * (size_t) n);
		int32_t    *ex = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n + 8));
		int32_t    *cand = (int32_t *) malloc(sizeof(int32_t) * (size_t) (2 * n + 8));
		uint64_t   *bits = (uint64_t *) calloc((size_t) nn_topk_bitmap_words(n), sizeof(uint64_t));
		int32_t    *ids = (int32_t *) malloc(sizeof(int32_t) * (size_t) k);
		int32_t    *bids = (int32_t *) malloc(sizeof(int32_t) * (size_t) k);
		float	   *sc = (float *) malloc(sizeof(float) * (size_t) k);
		float	   *bsc = (float *) malloc(sizeof(float) * (size_t) k);
		NnTopkFilter f;
		int32_t		i;
		int32_t		got;
		int32_t		want;
		int32_t		ne = 0;
		int32_t		nc = 0;

		for (i = 0; i < n; i++)
		{
			uint32_t	x = nn_rng_below(&r, 100);

			s[i] = x < 3 ? NAN : x < 5 ? INFINITY : x < 7 ? -INFINITY :
				(float) nn_rng_below(&r, (uint32_t) levels) * 0.25f - 0.5f;
		}
		memset(&f, 0, sizeof(f));
		if (mode & 1)
		{
			for (i = 0; i < n / 3 + 2; i++)
				ex[ne++] = (int32_t) nn_rng_below(&r, (uint32_t) n + 4) - 2;
			qsort(ex, (size_t) ne, sizeof(int32_t), cmp_i32);
			f.exclude = ex;
			f.n_exclude = ne;
		}
		if (mode & 2)
		{
			for (i = 0; i < n / 4 + 1; i++)
			{
				int32_t		b = (int32_t) nn_rng_below(&r, (uint32_t) n);

				bits[b >> 6] |= (uint64_t) 1 << (b & 63);
			}
			f.exclude_bits = bits;
		}
		if (mode & 4)
		{
			int32_t		m = (int32_t) nn_rng_below(&r, (uint32_t) (2 * n + 4));

			for (i = 0; i < m; i++)
				cand[nc++] = (int32_t) nn_rng_below(&r, (uint32_t) n + 6) - 3;
			f.candidates = cand;
			f.n_candidates = nc;
		}
		want = brute(s, n, k, &f, bids, bsc);
		if (nn_topk(s, n, k, &f, ids, sc, &got) != NN_TOPK_OK || got != want)
			bad++;
		else
		{
			for (i = 0; i < got; i++)
				if (ids[i] != bids[i] || memcmp(&sc[i], &bsc[i], sizeof(float)) != 0)
				{
					bad++;
					break;
				}
		}
		cases++;
		free(s);
		free(ex);
		free(cand);
		free(bits);
		free(ids);
		free(bids);
		free(sc);
		free(bsc);
	}
	ok(bad == 0, "%d random cases (ties, NaN, inf, exclusions, bitmaps, candidates) match brute force", cases);
	if (bad)
		diag("%d mismatches", bad);
}

/* Seconds on a monotonic clock. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Timing over 1M items (diagnostic; the assertion is very loose for sanitizer builds). */
static void
test_speed(void)
{
	int32_t		n = 1000000;
	float	   *s = (float *) malloc(sizeof(float) * (size_t) n);
	int32_t    *ids = (int32_t *) malloc(sizeof(int32_t) * 1000);
	float	   *sc = (float *) malloc(sizeof(float) * 1000);
	int32_t		ex[500];
	NnTopkFilter f;
	NnRng		r;
	int32_t		i;
	int32_t		got;
	int			rep;
	double		t0;
	double		t_10;
	double		t_1000;
	int			sorted_ok = 1;

	nn_rng_seed(&r, 5, 5);
	for (i = 0; i < n; i++)
		s[i] = nn_rng_float(&r) * 2.0f - 1.0f;
	for (i = 0; i < 500; i++)
		ex[i] = i * 1999 + 1;
	memset(&f, 0, sizeof(f));
	f.exclude = ex;
	f.n_exclude = 500;
	t0 = now_s();
	for (rep = 0; rep < 10; rep++)
		nn_topk(s, n, 10, &f, ids, sc, &got);
	t_10 = (now_s() - t0) / 10;
	t0 = now_s();
	for (rep = 0; rep < 10; rep++)
		nn_topk(s, n, 1000, &f, ids, sc, &got);
	t_1000 = (now_s() - t0) / 10;
	for (i = 1; i < got; i++)
		sorted_ok &= sc[i] <= sc[i - 1];
	ok(got == 1000 && sorted_ok, "1M items, k = 1000: ranked output");
	is_double(sc[0], 1.0, 1e-4, "best of 1M uniform scores is ~1");
	diag("topk over 1M items with 500 exclusions: k=10 %.3f ms, k=1000 %.3f ms", t_10 * 1e3, t_1000 * 1e3);
	ok(t_10 < 0.5, "k=10 over 1M items well under 500 ms (even with sanitizers)");
	free(s);
	free(ids);
	free(sc);
}

int
main(void)
{
	test_hand();
	test_random();
	test_speed();
	return done_testing();
}
