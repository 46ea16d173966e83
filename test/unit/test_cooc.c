/*
 * test_cooc.c
 *		Unit tests of src/nn/cooc.c, the co-occurrence mixture: a
 *		hand-computed neighbour table; random logs against a brute-force
 *		dense count (windows, k truncation with ties, events past the
 *		training prefix); the table checks; and the mixed scores against
 *		the mixture (1 - lambda) softmax(s) + lambda q computed directly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/model_impl.h"
#include "nn/rng.h"
#include "tap.h"

/* Weight of row i, column j in a table, 0 if absent. */
static double
table_w(const NnCooc *c, int32_t i, int32_t j)
{
	int64_t		a;

	for (a = c->off[i]; a < c->off[i + 1]; a++)
		if (c->col[a] == j)
			return c->w[a];
	return 0.0;
}

/* The hand case of the file comment in cooc.c's terms. */
static void
test_hand(void)
{
	/* user 1: 1 2 1 3 | 4 (4 is past the prefix); user 2: 2 3 3 5 */
	int64_t		off[] = {0, 0, 5, 9};
	int32_t		item[] = {1, 2, 1, 3, 4, 2, 3, 3, 5};
	int32_t		n_train[] = {0, 4, 4};
	NnCooc		c;
	char		msg[128];

	ok(nn_cooc_build(&c, 6, 3, off, item, n_train, 10, 1) == NN_OK, "hand: build");
	ok(c.n_rows == 6 && c.nnz == 8, "hand: 8 entries (got %lld)", (long long) c.nnz);
	is_double(table_w(&c, 1, 2), 2.0 / 3, 1e-7, "hand: w(1,2) = 2/3");
	is_double(table_w(&c, 1, 3), 1.0 / 3, 1e-7, "hand: w(1,3) = 1/3");
	is_double(table_w(&c, 2, 1), 2.0 / 3, 1e-7, "hand: w(2,1) = 2/3");
	is_double(table_w(&c, 2, 3), 1.0 / 3, 1e-7, "hand: w(2,3) = 1/3");
	is_double(table_w(&c, 3, 5), 1.0 / 3, 1e-7, "hand: w(3,5) = 1/3");
	is_double(table_w(&c, 5, 3), 1.0, 1e-7, "hand: w(5,3) = 1");
	ok(c.off[5] == c.off[4] && c.off[5] - c.off[4] == 0, "hand: item 4 (only past the prefix) has no row");
	ok(table_w(&c, 3, 3) == 0.0, "hand: no self pair from 3 3");
	ok(nn_cooc_check(&c, 6, 10, msg, sizeof(msg)) == NN_OK, "hand: the table passes the checks");
	nn_cooc_free(&c);

	/* k = 2: row 3's three partners tie at one pair each: the two smallest ids stay */
	ok(nn_cooc_build(&c, 6, 3, off, item, n_train, 2, 1) == NN_OK, "hand k=2: build");
	ok(c.off[4] - c.off[3] == 2 && c.col[c.off[3]] == 1 && c.col[c.off[3] + 1] == 2,
	   "hand k=2: row 3 keeps items 1 and 2");
	is_double(table_w(&c, 3, 1), 1.0 / 3, 1e-7, "hand k=2: weights keep the row's full total");
	nn_cooc_free(&c);

	/* window 2 adds the pairs two apart: user 1 (2,3); user 2 (2,3), (3,5) */
	ok(nn_cooc_build(&c, 6, 3, off, item, n_train, 10, 2) == NN_OK, "hand window=2: build");
	is_double(table_w(&c, 2, 3), 3.0 / 5, 1e-7, "hand window=2: w(2,3) = 3/5");
	is_double(table_w(&c, 5, 3), 1.0, 1e-7, "hand window=2: w(5,3) = 1");
	nn_cooc_free(&c);

	ok(nn_cooc_build(&c, 6, 3, off, item, n_train, 0, 1) == NN_ERR_CONFIG &&
	   c.n_rows == 0, "k = 0 is refused");
}

/* Random logs against a dense brute force. */
static void
test_random(void)
{
	NnRng		r;
	int			trial,
				bad = 0;

	nn_rng_seed(&r, 42, 1);
	for (trial = 0; trial < 200; trial++)
	{
		int32_t		N = 2 + (int32_t) nn_rng_below(&r, 30),
					U = 1 + (int32_t) nn_rng_below(&r, 12),
					u,
					i,
					j;
		int			k = 1 + (int) nn_rng_below(&r, 8),
					window = 1 + (int) nn_rng_below(&r, 4);
		int64_t    *off = calloc((size_t) U + 1, sizeof(int64_t));
		int32_t    *n_train = calloc((size_t) U, sizeof(int32_t));
		int32_t    *item;
		double	   *cnt = calloc((size_t) N * N, sizeof(double));
		NnCooc		c;
		int64_t		a,
					b;

		for (u = 1; u < U; u++)
			off[u + 1] = off[u] + (int64_t) nn_rng_below(&r, 15);
		item = malloc(sizeof(int32_t) * (size_t) (off[U] + 1));
		for (a = 0; a < off[U]; a++)
			item[a] = (int32_t) nn_rng_below(&r, (uint32_t) N);	/* 0 = ignored */
		for (u = 1; u < U; u++)
		{
			n_train[u] = (int32_t) nn_rng_below(&r, (uint32_t) (off[u + 1] - off[u] + 1));
			for (a = 0; a < n_train[u]; a++)
				for (b = a + 1; b < n_train[u] && b <= a + window; b++)
				{
					i = item[off[u] + a];
					j = item[off[u] + b];
					if (i > 0 && j > 0 && i != j)
					{
						cnt[(size_t) i * N + j] += 1;
						cnt[(size_t) j * N + i] += 1;
					}
				}
		}
		if (nn_cooc_build(&c, N, U, off, item, n_train, k, window) != NN_OK ||
			nn_cooc_check(&c, N, k, NULL, 0) != NN_OK)
			bad++;
		else
			for (i = 1; i < N && !bad; i++)
			{
				double		tot = 0;
				int			distinct = 0,
							kept = 0;

				for (j = 1; j < N; j++)
				{
					tot += cnt[(size_t) i * N + j];
					distinct += cnt[(size_t) i * N + j] > 0;
				}
				for (j = 1; j < N; j++)
				{
					double		w = table_w(&c, i, j);
					int			above = 0;
					int32_t		jj;

					/* kept iff fewer than k partners rank above it (count, then id) */
					for (jj = 1; jj < N; jj++)
						above += cnt[(size_t) i * N + jj] > cnt[(size_t) i * N + j] ||
							(cnt[(size_t) i * N + jj] == cnt[(size_t) i * N + j] && jj < j &&
							 cnt[(size_t) i * N + jj] > 0);
					if (cnt[(size_t) i * N + j] > 0 && above < k)
					{
						kept++;
						if (fabs(w - cnt[(size_t) i * N + j] / tot) > 1e-6)
							bad++;
					}
					else if (w != 0.0)
						bad++;
				}
				if (c.off[i + 1] - c.off[i] != kept || kept != (distinct < k ? distinct : k))
					bad++;
			}
		nn_cooc_free(&c);
		free(off);
		free(n_train);
		free(item);
		free(cnt);
	}
	ok(bad == 0, "200 random logs match the brute-force table (%d mismatches)", bad);
}

/* A valid 4-item table to corrupt. */
static void
small_table(NnCooc *c, int64_t *off, int32_t *col, float *w)
{
	static const int64_t o[] = {0, 0, 2, 3, 4};
	static const int32_t cl[] = {2, 3, 1, 1};
	static const float	ww[] = {0.5f, 0.5f, 1.0f, 1.0f};

	memcpy(off, o, sizeof(o));
	memcpy(col, cl, sizeof(cl));
	memcpy(w, ww, sizeof(ww));
	memset(c, 0, sizeof(*c));
	c->n_rows = 4;
	c->nnz = 4;
	c->off = off;
	c->col = col;
	c->w = w;
}

/* Every rule of nn_cooc_check. */
static void
test_check(void)
{
	NnCooc		c;
	int64_t		off[5];
	int32_t		col[4];
	float		w[4];
	char		msg[128];

	small_table(&c, off, col, w);
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_OK, "check: a valid table passes");
	ok(nn_cooc_check(&c, 5, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: wrong item count");
	ok(nn_cooc_check(&c, 4, 1, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: more than k in a row (%s)", msg);
	small_table(&c, off, col, w);
	col[1] = 1;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: the item itself (%s)", msg);
	small_table(&c, off, col, w);
	col[0] = 3;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: not ascending (%s)", msg);
	small_table(&c, off, col, w);
	col[3] = 4;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: column out of range");
	small_table(&c, off, col, w);
	w[2] = 0.0f;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: zero weight");
	small_table(&c, off, col, w);
	w[2] = NAN;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: NaN weight");
	small_table(&c, off, col, w);
	w[0] = 0.75f;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: row sum > 1 (%s)", msg);
	small_table(&c, off, col, w);
	off[1] = 1;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: PAD row not empty");
	small_table(&c, off, col, w);
	c.nnz = 3;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: rows do not add up to nnz");
	small_table(&c, off, col, w);
	off[3] = 1;
	ok(nn_cooc_check(&c, 4, 2, msg, sizeof(msg)) == NN_ERR_CONFIG, "check: decreasing row start");
}

/* Mixed scores minus log of the direct mixture must be one constant. */
static void
test_mix(void)
{
	NnRng		r;
	NnModel		m;
	NnInfer    *w = calloc(1, sizeof(NnInfer));
	int			trial,
				bad = 0,
				same = 1;

	nn_rng_seed(&r, 7, 2);
	for (trial = 0; trial < 100; trial++)
	{
		int32_t		N = 3 + (int32_t) nn_rng_below(&r, 40),
					U = 6,
					i,
					l;
		int			M = 1 + (int) nn_rng_below(&r, 8);
		int64_t		off[7];
		int32_t		item[6 * 12],
					n_train[6] = {0},
					hist[8];
		float	   *s = malloc(sizeof(float) * (size_t) N),
				   *s0 = malloc(sizeof(float) * (size_t) N);
		double	   *q = calloc((size_t) N, sizeof(double));
		double		lam = 0.05 + 0.9 * nn_rng_double(&r),
					decay = nn_rng_double(&r),
					wk = 1,
					qt = 0,
					z = 0,
					c0 = NAN;

		off[0] = off[1] = 0;
		for (i = 1; i < U; i++)
		{
			off[i + 1] = off[i] + 12;
			n_train[i] = 12;
		}
		for (i = 0; i < 60; i++)
			item[i] = 1 + (int32_t) nn_rng_below(&r, (uint32_t) (N - 1));
		memset(&m, 0, sizeof(m));
		m.cfg.N = N;
		m.cfg.M = M;
		m.cfg.cooc_lambda = (float) lam;
		m.cfg.cooc_decay = (float) decay;
		if (nn_cooc_build(&m.cooc, N, U, off, item, n_train, 4, 2) != NN_OK)
			bad++;
		for (l = 0; l < M; l++)
			hist[l] = nn_rng_below(&r, 4) == 0 ? 0 : (int32_t) nn_rng_below(&r, (uint32_t) N);
		for (i = 0; i < N; i++)		/* some items masked with -inf, as unknown ones are */
			s0[i] = s[i] = nn_rng_below(&r, 10) == 0 ? -INFINITY : (float) (3.0 * nn_rng_normal(&r));
		/* the direct mixture */
		for (l = M - 1; l >= 0; l--)
		{
			if (hist[l] <= 0)
				continue;
			for (i = 1; i < N; i++)
				q[i] += wk * table_w(&m.cooc, hist[l], i);
			wk *= decay;
		}
		for (i = 1; i < N; i++)
		{
			qt += q[i];
			z += isfinite(s0[i]) ? exp(s0[i]) : 0.0;
		}
		if (nn_cooc_mix(&m, w, hist, M, s) != NN_OK)
			bad++;
		for (i = 1; i < N; i++)
		{
			double		p = (z > 0 ? (1 - lam) * exp(s0[i]) / z : 0) + (qt > 0 ? lam * q[i] / qt : 0),
						d = s[i] - log(p);

			if (qt == 0 && memcmp(&s[i], &s0[i], sizeof(float)) != 0)
				bad++;
			if (qt == 0)
				continue;
			if (p == 0)
			{
				bad += s[i] != -INFINITY;	/* masked and no neighbour: stays masked */
				continue;
			}
			if (isnan(c0))
				c0 = d;
			else if (fabs(d - c0) > 1e-4 * (1 + fabs(c0)))
				bad++;
			if (q[i] == 0 && s[i] != s0[i])
				bad++;			/* untouched items keep their scores bit for bit */
		}
		/* lambda 0: nothing changes */
		memcpy(s, s0, sizeof(float) * (size_t) N);
		m.cfg.cooc_lambda = 0.0f;
		nn_cooc_mix(&m, w, hist, M, s);
		same &= memcmp(s, s0, sizeof(float) * (size_t) N) == 0;
		for (i = 0; i < w->cooc_cap; i++)
			if (w->cooc_q[i] != 0.0)
				bad++;			/* scratch left zero for the next call */
		nn_cooc_free(&m.cooc);
		free(s);
		free(s0);
		free(q);
	}
	ok(bad == 0, "100 random mixes equal (1 - lambda) softmax + lambda q up to a constant (%d bad)", bad);
	ok(same, "lambda 0 leaves the scores unchanged");
	free(w->cooc_q);
	free(w->cooc_touched);
	free(w);
}

int
main(void)
{
	test_hand();
	test_random();
	test_check();
	test_mix();
	return done_testing();
}
