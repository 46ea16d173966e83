/*
 * cooc.c
 *		Co-occurrence mixture: an item neighbour table built from the
 *		training sequences, mixed into the model's scores at ranking time.
 *
 * Not in model-spec.md.  Why: on sparse logs (Taobao head: a new target has
 * a median of 5 training events) the embeddings of rare items are poorly
 * trained, and the users whose next item is new to them are ranked badly
 * by every neural model, Caser and TACaser alike.  Counting which items sit
 * next to each other in the training sequences is a low-variance estimate
 * for exactly those items.  TACaser's scores are therefore read as a
 * distribution, softmax(s), and ranked as the mixture
 *
 *		p(j) = (1 - lambda) softmax(s)_j + lambda q_j,
 *		q_j  = sum_k decay^k w(h_k, j) / sum_j' (same),
 *
 * where h_0 is the newest history item, h_1 the one before, and w(i, j)
 * the share of i's co-occurrences (pairs at most cooc_window positions
 * apart, counted for both items) that are with j.  On the Taobao
 * validation split lambda 0.1-0.2 lifted the new-target users by 40 %
 * and the others too (test/bench/TUNING.md); the trainer picks lambda per
 * model on the validation split (trainer.c), so a log where it does not
 * help gets lambda 0.
 *
 * Ranking by p needs only the items with q_j > 0 to move: multiplied by
 * Z / (1 - lambda) (Z = sum exp(s)), p_j is exp(s_j) + lambda / (1 -
 * lambda) q_j Z, so an item's score becomes logaddexp(s_j, log(lambda /
 * (1 - lambda) q_j) + log Z) and every other item keeps s_j.  The cost per
 * user is one pass of exp() over the scores plus the touched neighbours.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/model_impl.h"

/* One neighbour while a row is built. */
typedef struct CoocPair
{
	int32_t		col;
	int64_t		n;
} CoocPair;

/* Larger count first, then smaller item id. */
static int
cmp_pair_count(const void *a, const void *b)
{
	const CoocPair *x = (const CoocPair *) a;
	const CoocPair *y = (const CoocPair *) b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return (x->col > y->col) - (x->col < y->col);
}

/* Ascending item id. */
static int
cmp_pair_col(const void *a, const void *b)
{
	const CoocPair *x = (const CoocPair *) a;
	const CoocPair *y = (const CoocPair *) b;

	return (x->col > y->col) - (x->col < y->col);
}

/* Ascending int32. */
static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* Runs body for every counted pair (i, j) of the training prefixes: items
 * at most window positions apart, both valid, different. */
#define FOR_EACH_PAIR(body) \
	for (u = 1; u < U; u++) \
	{ \
		const int32_t *s = seq_item + seq_off[u]; \
		int64_t		len = n_train[u]; \
		for (a = 0; a < len; a++) \
			for (b = a + 1; b < len && b <= a + window; b++) \
			{ \
				int32_t		i = s[a], j = s[b]; \
				if (i <= 0 || j <= 0 || i >= N || j >= N || i == j) \
					continue; \
				body; \
			} \
	}

/* Build a neighbour table; see model.h. */
int
nn_cooc_build(NnCooc *c, int32_t N, int32_t U, const int64_t *seq_off,
			  const int32_t *seq_item, const int32_t *n_train, int k, int window)
{
	int64_t    *deg = NULL,
			   *fill = NULL;
	int32_t    *adj = NULL;
	CoocPair   *row = NULL;
	int64_t		n_adj = 0,
				max_deg = 0,
				nnz = 0,
				a,
				b;
	int32_t		u,
				i;
	int			rc = NN_ERR_NOMEM;

	memset(c, 0, sizeof(*c));
	if (N < 1 || U < 1 || k < 1 || window < 1)
		return NN_ERR_CONFIG;
	/* pass 1: pairs per item; pass 2: every item's partners (CSR) */
	deg = calloc((size_t) N + 1, sizeof(int64_t));
	fill = calloc((size_t) N + 1, sizeof(int64_t));
	if (deg == NULL || fill == NULL)
		goto done;
	FOR_EACH_PAIR((deg[i + 1]++, deg[j + 1]++));
	for (i = 0; i < N; i++)
		deg[i + 1] += deg[i];
	n_adj = deg[N];
	adj = malloc(sizeof(int32_t) * (size_t) (n_adj > 0 ? n_adj : 1));
	if (adj == NULL)
		goto done;
	FOR_EACH_PAIR((adj[deg[i] + fill[i]++] = j, adj[deg[j] + fill[j]++] = i));

	/* the table: at most k entries per row, sized by the rows' partners */
	for (i = 1; i < N; i++)
	{
		int64_t		n = deg[i + 1] - deg[i],
					distinct = 0;

		if (n > max_deg)
			max_deg = n;
		qsort(adj + deg[i], (size_t) n, sizeof(int32_t), cmp_i32);
		for (a = 0; a < n; a++)
			distinct += (a == 0 || adj[deg[i] + a] != adj[deg[i] + a - 1]);
		nnz += distinct < k ? distinct : k;
	}
	c->mem = malloc(sizeof(int64_t) * ((size_t) N + 1) +
					(sizeof(int32_t) + sizeof(float)) * (size_t) (nnz > 0 ? nnz : 1));
	row = malloc(sizeof(CoocPair) * (size_t) (max_deg > 0 ? max_deg : 1));
	if (c->mem == NULL || row == NULL)
		goto done;
	c->n_rows = N;
	c->nnz = nnz;
	c->off = (int64_t *) c->mem;
	c->w = (float *) (c->off + N + 1);
	c->col = (int32_t *) (c->w + (nnz > 0 ? nnz : 1));
	c->off[0] = 0;
	c->off[1] = 0;
	for (i = 1; i < N; i++)
	{
		const int32_t *p = adj + deg[i];
		int64_t		n = deg[i + 1] - deg[i],
					n_row = 0,
					keep,
					o = c->off[i];

		for (a = 0; a < n; a++)
		{
			if (n_row > 0 && row[n_row - 1].col == p[a])
				row[n_row - 1].n++;
			else
				row[n_row++] = (CoocPair) {p[a], 1};
		}
		keep = n_row < k ? n_row : k;
		if (n_row > keep)
		{
			qsort(row, (size_t) n_row, sizeof(CoocPair), cmp_pair_count);
			qsort(row, (size_t) keep, sizeof(CoocPair), cmp_pair_col);
		}
		for (a = 0; a < keep; a++)
		{
			c->col[o + a] = row[a].col;
			c->w[o + a] = (float) ((double) row[a].n / (double) n);
		}
		c->off[i + 1] = o + keep;
	}
	rc = NN_OK;
done:
	if (rc != NN_OK)
		nn_cooc_free(c);
	free(deg);
	free(fill);
	free(adj);
	free(row);
	return rc;
}

/* Upper estimate of nn_cooc_build's peak bytes; see model.h. */
uint64_t
nn_cooc_memory_estimate(int32_t N, int64_t n_events, int k, int window)
{
	uint64_t	pairs = 2 * (uint64_t) n_events * (uint64_t) (window > 0 ? window : 0),
				nnz = (uint64_t) N * (uint64_t) (k > 0 ? k : 0);

	if (k <= 0)
		return 0;
	if (nnz > pairs)
		nnz = pairs;
	/* degrees, partners, one row's pairs (at most all), the table */
	return (uint64_t) (N + 1) * 24 + pairs * (4 + 16) + nnz * 8;
}

/* Free an owned table. */
void
nn_cooc_free(NnCooc *c)
{
	free(c->mem);
	memset(c, 0, sizeof(*c));
}

/* Format a check failure. */
static int
cooc_bad(char *msg, size_t msglen, const char *what, int64_t row)
{
	if (msg != NULL && msglen > 0)
	{
		if (row >= 0)
			snprintf(msg, msglen, "co-occurrence table row %lld: %s", (long long) row, what);
		else
			snprintf(msg, msglen, "co-occurrence table: %s", what);
	}
	return NN_ERR_CONFIG;
}

/* Check a table; see model.h. */
int
nn_cooc_check(const NnCooc *c, int32_t N, int k, char *msg, size_t msglen)
{
	int32_t		i;
	int64_t		a;

	if (c->n_rows == 0)
		return NN_OK;
	if (c->n_rows != N || c->off == NULL || c->nnz < 0)
		return cooc_bad(msg, msglen, "size does not match the items", -1);
	if (c->off[0] != 0 || c->off[1] != 0)
		return cooc_bad(msg, msglen, "the PAD row must be empty", 0);
	if (c->off[N] != c->nnz)
		return cooc_bad(msg, msglen, "row lengths do not add up to the entries", -1);
	for (i = 1; i < N; i++)
	{
		double		sum = 0.0;

		if (c->off[i + 1] < c->off[i] || c->off[i + 1] > c->nnz)
			return cooc_bad(msg, msglen, "bad row start", i);
		if (c->off[i + 1] - c->off[i] > k)
			return cooc_bad(msg, msglen, "more neighbours than cooc_k", i);
		for (a = c->off[i]; a < c->off[i + 1]; a++)
		{
			if (c->col[a] < 1 || c->col[a] >= N || c->col[a] == i)
				return cooc_bad(msg, msglen, "neighbour out of range or the item itself", i);
			if (a > c->off[i] && c->col[a] <= c->col[a - 1])
				return cooc_bad(msg, msglen, "neighbours not strictly ascending", i);
			if (!(c->w[a] > 0.0f && c->w[a] <= 1.0f))
				return cooc_bad(msg, msglen, "weight not in (0, 1]", i);
			sum += c->w[a];
		}
		if (sum > 1.0 + 1e-4)
			return cooc_bad(msg, msglen, "weights sum to more than 1", i);
	}
	return NN_OK;
}

/* Scratch space for n_rows items in w (kept between calls). */
static int
mix_scratch(NnInfer *w, int32_t n)
{
	if (w->cooc_cap >= n)
		return NN_OK;
	free(w->cooc_q);
	free(w->cooc_touched);
	w->cooc_q = calloc((size_t) n, sizeof(double));
	w->cooc_touched = malloc(sizeof(int32_t) * (size_t) n);
	w->cooc_cap = (w->cooc_q && w->cooc_touched) ? n : 0;
	return w->cooc_cap ? NN_OK : NN_ERR_NOMEM;
}

/*
 * Eight floats / int32s in one vector (GCC / Clang vector extensions: two
 * SSE2 registers on baseline x86-64, one AVX2 register in the "avx2"
 * clones below, NEON pairs on arm64).
 */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define V8(x) {x, x, x, x, x, x, x, x}

/* Run-time dispatch of the hot loops to AVX2 where the CPU has it (ifunc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(NN_NO_SIMD_CLONES)
#define NN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_SIMD_CLONES
#endif

/*
 * exp(x - mx) of eight scores, 0 where x is not finite; branch-free: the
 * argument d = x - mx <= 0 is clamped to -87, d = (i + f) ln 2 with i an
 * integer and |f| <= 1/2, 2^f from its Taylor polynomial of degree 6
 * (relative error below 2e-7), 2^i from the exponent bits.
 */
static inline void
exp8_shifted(const v8f *x, float mx, v8f *out)
{
	const v8f	magic = V8(12582912.0f);	/* 1.5 * 2^23: adding it rounds */
	const v8f	lo = V8(-87.0f);
	v8f			d = *x - mx,
				t,
				r,
				f,
				p;
	v8i			ok = (d <= 0.0f) & (d > -INFINITY),	/* NaN, +-inf: 0 */
				small = d < lo;

	d = (v8f) (((v8i) d & ~small) | ((v8i) lo & small));
	t = d * 1.44269504f;
	r = (t + magic) - magic;	/* round to an integer */
	f = (t - r) * 0.693147181f;
	p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666672f + f * (0.0416666679f +
								f * (0.00833333377f + f * 0.00138888892f)))));
	p = p * (v8f) ((__builtin_convertvector(r, v8i) + 127) << 23);
	*out = (v8f) ((v8i) p & ok);
}

/* Sum of exp(s[j] - mx) over j < n, eight lanes at a time in float. */
NN_SIMD_CLONES static double
exp_sum_block(const float *s, int32_t n, float mx)
{
	v8f			acc = V8(0.0f);
	double		z = 0.0;
	int32_t		j = 0;
	int			l;

	for (; j + 8 <= n; j += 8)
	{
		v8f			x,
					e;

		memcpy(&x, s + j, sizeof(x));
		exp8_shifted(&x, mx, &e);
		acc += e;
	}
	for (; j < n; j++)
	{
		v8f			x = V8(-INFINITY),
					e;

		x[0] = s[j];
		exp8_shifted(&x, mx, &e);
		z += e[0];
	}
	for (l = 0; l < 8; l++)
		z += acc[l];
	return z;
}

/* Largest finite value of s[0..n), -inf if none (eight lanes at a time). */
NN_SIMD_CLONES static float
max_finite(const float *s, int32_t n)
{
	v8f			m = V8(-INFINITY);
	float		best;
	int32_t		j = 0;
	int			l;

	for (; j + 8 <= n; j += 8)
	{
		v8f			x;
		v8i			take;

		memcpy(&x, s + j, sizeof(x));
		take = (x < INFINITY) & (x > m);	/* NaN: false */
		m = (v8f) (((v8i) x & take) | ((v8i) m & ~take));
	}
	best = m[0];
	for (l = 1; l < 8; l++)
		best = m[l] > best ? m[l] : best;
	for (; j < n; j++)
		if (s[j] > best && s[j] < INFINITY)
			best = s[j];
	return best;
}

#define LSE_BLOCK 1024			/* items summed in float before the double total */

/*
 * log(sum exp(s)) over the finite scores of items 1..N-1: the maximum,
 * then exp(s - max) summed in float lanes per block of LSE_BLOCK items
 * and the blocks in double.  libm's exp() made the mixture cost a
 * quarter of a recommendation over a large catalog (cooc_speed.c).
 */
static double
log_sum_exp(const float *s, int32_t N)
{
	float		mx;
	double		z = 0.0;
	int32_t		j;

	mx = max_finite(s + 1, N - 1);
	if (!(mx > -INFINITY))
		return -INFINITY;
	for (j = 1; j < N; j += LSE_BLOCK)
		z += exp_sum_block(s + j, N - j < LSE_BLOCK ? N - j : LSE_BLOCK, mx);
	return (double) mx + log(z);
}

/* Mix the neighbours of a history into its scores; see model.h. */
int
nn_cooc_mix(const NnModel *m, NnInfer *w, const int32_t *hist, int M, float *scores)
{
	const NnCooc *c = &m->cooc;
	double		lam = m->cfg.cooc_lambda,
				decay = m->cfg.cooc_decay,
				wk = 1.0,
				total = 0.0,
				base;
	int32_t		n_touched = 0,
				t;
	int			l;

	if (!(lam > 0.0) || c->n_rows == 0 || c->nnz == 0)
		return NN_OK;
	if (mix_scratch(w, c->n_rows) != NN_OK)
		return NN_ERR_NOMEM;
	for (l = M - 1; l >= 0 && wk > 0.0; l--)
	{
		int32_t		h = hist[l];
		int64_t		a;

		if (h <= 0 || h >= c->n_rows)
			continue;
		for (a = c->off[h]; a < c->off[h + 1]; a++)
		{
			int32_t		j = c->col[a];

			if (w->cooc_q[j] == 0.0)
				w->cooc_touched[n_touched++] = j;
			w->cooc_q[j] += wk * c->w[a];
			total += wk * c->w[a];
		}
		wk *= decay;
	}
	if (n_touched == 0)
		return NN_OK;
	base = log(lam / (1.0 - lam)) - log(total) + log_sum_exp(scores, c->n_rows);
	for (t = 0; t < n_touched; t++)
	{
		int32_t		j = w->cooc_touched[t];
		double		s = scores[j],
					q = base + log(w->cooc_q[j]);

		w->cooc_q[j] = 0.0;
		if (isnan(s) || !isfinite(q))
			continue;
		scores[j] = (float) (s > q ? s + log1p(exp(q - s)) : q + log1p(exp(s - q)));
	}
	return NN_OK;
}
