/*
 * topk.h
 *		Top-k selection over a full-catalogue score vector (model-spec §5.13
 *		point 3): a size-k min-heap, O(N log k) worst case and ~O(N) on typical
 *		scores, ties broken by the smaller item id, PAD item 0 never returned.
 *
 * Filters (all optional, combinable):
 *	- exclude: ids to skip, sorted ascending (duplicates and ids outside
 *	  1..n_items-1 are allowed and ignored), e.g. the user's full history;
 *	- exclude_bits: a bitmap over item ids, bit (i & 63) of word i >> 6 set =
 *	  skip item i; must hold at least nn_topk_bitmap_words(n_items) words;
 *	- candidates: rank only these ids; any order, duplicates and unknown ids
 *	  (<= 0 or >= n_items) are ignored.  A non-NULL list with
 *	  n_candidates = 0 selects nothing.
 * NaN scores are never returned; -inf is an ordinary (lowest) score.
 */
#ifndef CNNREC_NN_TOPK_H
#define CNNREC_NN_TOPK_H

#include <stdint.h>

#define NN_TOPK_OK		0
#define NN_TOPK_EINVAL	1		/* bad argument, or exclude[] not sorted */
#define NN_TOPK_ENOMEM	2		/* copying the candidate list failed */

typedef struct NnTopkFilter
{
	const int32_t *exclude;		/* sorted ascending, or NULL */
	int64_t		n_exclude;
	const uint64_t *exclude_bits;	/* bitmap, or NULL */
	const int32_t *candidates;	/* restrict to these ids, or NULL for all */
	int64_t		n_candidates;
} NnTopkFilter;

/* Name of a status code. */
extern const char *nn_topk_strerror(int code);

/* Number of uint64 words a bitmap over n_items ids needs. */
extern int64_t nn_topk_bitmap_words(int64_t n_items);

/*
 * Select the best min(k, #eligible) items of scores[0..n_items) (item 0 is
 * skipped).  ids[] and out_scores[] (capacity k each; out_scores may be
 * NULL) receive them best first: higher score first, equal scores by
 * smaller id.  *n_out gets the count.  filter may be NULL.
 */
extern int	nn_topk(const float *scores, int32_t n_items, int32_t k,
					const NnTopkFilter *filter,
					int32_t *ids, float *out_scores, int32_t *n_out);

#endif							/* CNNREC_NN_TOPK_H */
