/*
 * topk.c
 *		Top-k of a score vector with a size-k min-heap (model-spec §5.13).
 *
 * The heap root is the *worst* kept item, so a new item enters only if it
 * beats the root.  Items are visited in ascending id order (the candidate
 * list is sorted and de-duplicated first), so an item tying the root's
 * score never beats it (its id is larger): the hot loop is a single float
 * comparison against a cached threshold, and the exclusion filters are
 * consulted only for items that pass it.  The sorted exclusion list is
 * walked with a forward-only cursor, so its total cost is O(n_exclude).
 * The heap lives in the caller's output arrays (no allocation), and a final
 * in-place heapsort yields rank order.
 */
#include "nn/topk.h"

#include <math.h>
#include <stdlib.h>

/* State shared by the scan loops. */
typedef struct TopkState
{
	int32_t    *id;				/* heap ids (the caller's output array) */
	float	   *sc;				/* heap scores */
	int32_t		n;				/* current heap size */
	int32_t		k;				/* capacity */
	const int32_t *excl;		/* sorted exclusion list */
	int64_t		n_excl;
	int64_t		excl_pos;		/* cursor: first exclude entry not yet < the current id */
	const uint64_t *bits;		/* exclusion bitmap */
} TopkState;

/* Name of a status code. */
const char *
nn_topk_strerror(int code)
{
	switch (code)
	{
		case NN_TOPK_OK:
			return "ok";
		case NN_TOPK_EINVAL:
			return "invalid argument (or exclusion list not sorted)";
		case NN_TOPK_ENOMEM:
			return "out of memory";
	}
	return "unknown error";
}

/* Words needed for a bitmap of n_items bits. */
int64_t
nn_topk_bitmap_words(int64_t n_items)
{
	return n_items <= 0 ? 0 : (n_items + 63) / 64;
}

/* 1 if (sa, ia) ranks below (sb, ib): lower score, or equal score and larger id. */
static inline int
worse(float sa, int32_t ia, float sb, int32_t ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

/* Restore the heap property below position i (heap of size n). */
static void
sift_down(TopkState *h, int32_t i, int32_t n)
{
	int32_t		id = h->id[i];
	float		s = h->sc[i];

	for (;;)
	{
		int32_t		c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && worse(h->sc[c + 1], h->id[c + 1], h->sc[c], h->id[c]))
			c++;
		if (!worse(h->sc[c], h->id[c], s, id))
			break;
		h->id[i] = h->id[c];
		h->sc[i] = h->sc[c];
		i = c;
	}
	h->id[i] = id;
	h->sc[i] = s;
}

/* Add an item while the heap is not full. */
static void
heap_push(TopkState *h, int32_t id, float s)
{
	int32_t		i = h->n++;

	while (i > 0)
	{
		int32_t		p = (i - 1) / 2;

		if (!worse(s, id, h->sc[p], h->id[p]))
			break;
		h->id[i] = h->id[p];
		h->sc[i] = h->sc[p];
		i = p;
	}
	h->id[i] = id;
	h->sc[i] = s;
}

/* Replace the root (worst item) by a better one. */
static inline void
heap_replace_root(TopkState *h, int32_t id, float s)
{
	h->id[0] = id;
	h->sc[0] = s;
	sift_down(h, 0, h->n);
}

/* 1 if id is excluded; ids must be queried in ascending order. */
static inline int
is_excluded(TopkState *h, int32_t id)
{
	if (h->bits && (h->bits[id >> 6] >> (id & 63)) & 1)
		return 1;
	if (h->excl)
	{
		while (h->excl_pos < h->n_excl && h->excl[h->excl_pos] < id)
			h->excl_pos++;
		if (h->excl_pos < h->n_excl && h->excl[h->excl_pos] == id)
			return 1;
	}
	return 0;
}

/* Scan items lo..hi-1 of the full catalogue (ascending ids). */
static void
scan_all(TopkState *h, const float *s, int32_t lo, int32_t hi)
{
	int32_t		i = lo;
	float		thr;

	for (; i < hi && h->n < h->k; i++)
		if (!isnan(s[i]) && !is_excluded(h, i))
			heap_push(h, i, s[i]);
	if (h->n < h->k)
		return;
	thr = h->sc[0];
	/* blocks of 16: one branch-free test (vectorisable) skips most blocks */
	for (; i + 16 <= hi; i += 16)
	{
		int			any = 0;
		int32_t		j;

		for (j = 0; j < 16; j++)
			any |= s[i + j] > thr;
		if (!any)
			continue;
		for (j = i; j < i + 16; j++)
		{
			if (s[j] > thr && !is_excluded(h, j))
			{
				heap_replace_root(h, j, s[j]);
				thr = h->sc[0];
			}
		}
	}
	for (; i < hi; i++)
	{
		if (s[i] > thr && !is_excluded(h, i))
		{
			heap_replace_root(h, i, s[i]);
			thr = h->sc[0];
		}
	}
}

/* Scan a sorted, de-duplicated, in-range candidate list. */
static void
scan_list(TopkState *h, const float *s, const int32_t *c, int64_t n)
{
	int64_t		j = 0;
	float		thr;

	for (; j < n && h->n < h->k; j++)
		if (!isnan(s[c[j]]) && !is_excluded(h, c[j]))
			heap_push(h, c[j], s[c[j]]);
	if (h->n < h->k)
		return;
	thr = h->sc[0];
	for (; j < n; j++)
	{
		float		v = s[c[j]];

		if (v > thr && !is_excluded(h, c[j]))
		{
			heap_replace_root(h, c[j], v);
			thr = h->sc[0];
		}
	}
}

/* qsort comparator for int32 ids. */
static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* Copy, sort, de-duplicate and range-filter a candidate list; NULL on OOM. */
static int32_t *
prepare_candidates(const int32_t *cand, int64_t n, int32_t n_items, int64_t *n_out)
{
	int32_t    *c;
	int64_t		i;
	int64_t		m = 0;

	c = (int32_t *) malloc((size_t) (n > 0 ? n : 1) * sizeof(int32_t));
	if (c == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (cand[i] >= 1 && cand[i] < n_items)
			c[m++] = cand[i];
	qsort(c, (size_t) m, sizeof(int32_t), cmp_i32);
	n = m;
	m = 0;
	for (i = 0; i < n; i++)
		if (m == 0 || c[i] != c[m - 1])
			c[m++] = c[i];
	*n_out = m;
	return c;
}

/* Check that the exclusion list is sorted ascending. */
static int
sorted_ok(const int32_t *v, int64_t n)
{
	int64_t		i;

	for (i = 1; i < n; i++)
		if (v[i] < v[i - 1])
			return 0;
	return 1;
}

/* Turn the heap (root = worst) into rank order, best first. */
static void
heap_to_ranked(TopkState *h)
{
	int32_t		end;

	for (end = h->n - 1; end > 0; end--)
	{
		int32_t		id = h->id[0];
		float		s = h->sc[0];

		h->id[0] = h->id[end];
		h->sc[0] = h->sc[end];
		h->id[end] = id;
		h->sc[end] = s;
		sift_down(h, 0, end);
	}
}

/* Top-k selection; see topk.h. */
int
nn_topk(const float *scores, int32_t n_items, int32_t k,
		const NnTopkFilter *filter,
		int32_t *ids, float *out_scores, int32_t *n_out)
{
	TopkState	h;
	float	   *heap_sc = out_scores;
	float	   *tmp_sc = NULL;

	if (n_out == NULL)
		return NN_TOPK_EINVAL;
	*n_out = 0;
	if (n_items < 0 || (n_items > 0 && scores == NULL))
		return NN_TOPK_EINVAL;
	if (k <= 0 || n_items <= 1)
		return NN_TOPK_OK;
	if (ids == NULL)
		return NN_TOPK_EINVAL;
	if (k > n_items - 1)
		k = n_items - 1;
	if (filter && (filter->n_exclude < 0 || filter->n_candidates < 0))
		return NN_TOPK_EINVAL;
	if (filter && filter->exclude && filter->n_exclude > 0 &&
		!sorted_ok(filter->exclude, filter->n_exclude))
		return NN_TOPK_EINVAL;
	if (filter && filter->candidates == NULL && filter->n_candidates != 0)
		return NN_TOPK_EINVAL;
	if (heap_sc == NULL)
	{
		tmp_sc = (float *) malloc((size_t) k * sizeof(float));
		if (tmp_sc == NULL)
			return NN_TOPK_ENOMEM;
		heap_sc = tmp_sc;
	}
	h.id = ids;
	h.sc = heap_sc;
	h.n = 0;
	h.k = k;
	h.excl = filter && filter->n_exclude > 0 ? filter->exclude : NULL;
	h.n_excl = h.excl ? filter->n_exclude : 0;
	h.excl_pos = 0;
	h.bits = filter ? filter->exclude_bits : NULL;

	if (filter && filter->candidates)
	{
		int64_t		nc;
		int32_t    *c = prepare_candidates(filter->candidates,
										   filter->n_candidates, n_items, &nc);

		if (c == NULL)
		{
			free(tmp_sc);
			return NN_TOPK_ENOMEM;
		}
		scan_list(&h, scores, c, nc);
		free(c);
	}
	else
		scan_all(&h, scores, 1, n_items);

	heap_to_ranked(&h);
	*n_out = h.n;
	free(tmp_sc);
	return NN_TOPK_OK;
}
