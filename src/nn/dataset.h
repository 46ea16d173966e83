/*
 * dataset.h
 *		In-memory interaction log -> dense ids, per-user sequences, the
 *		leave-last-out split, training instances, mini-batch materialisation,
 *		negative samplers and evaluation inputs.
 *
 * Spec references (model-spec.md):
 *	§5.3.1	dense ids: items 1..N-1, users 1..U-1, event types 1..n_E-1; 0 = PAD /
 *			UNKNOWN / "no event type".
 *	§6.1	events of a user sorted by time, ties in append order; k-core filter.  The
 *			spec's §6.1 describes SASRec's single pass; we default to the
 *			*iterated* k-core (repeat until stable) and offer the single pass as
 *			kcore_max_passes = 1.
 *	§6.2	chronological leave-last-out split.
 *	§5.3.2	one instance: last <= M events before the prediction point,
 *			left-padded; T targets; tref per tref_mode; time buckets g.
 *	§5.3.3	instance generation: `tacaser` (all prefixes) and `caser` (§1.6).
 *	§5.6 a	negatives: uniform excluding the user's train items (rejection);
 *			shared per-batch negatives; popularity (count^0.75) proposal with
 *			ln pi correction for sampled softmax.
 *	§6.3-6.4 evaluation inputs: history, target, exclusion set, seen-item set.
 *
 * Item categories (optional side information): a loader that knows a row's
 * item category appends with nn_ds_append_category (or reports counted
 * (item, category) pairs with nn_ds_add_item_category); finalize then gives
 * every kept item the category most frequent among its appended rows (ties:
 * the smallest external id), with dense category ids 1..n_cats-1 in
 * ascending external order (0 = none).  Without such rows n_cats is 0.
 *
 * Lifecycle: nn_ds_init -> nn_ds_append (rows, any order) -> nn_ds_finalize
 * (sort, dedup, k-core, dense ids, CSR) -> nn_ds_split -> instances/batches.
 * After construction a dataset, split, instance list and popularity
 * sampler are read-only, so any number of threads may fill batches, draw
 * negatives (each with its own NnRng) and build evaluation cases at once.
 * The split points into the dataset, so it must not outlive it.
 * Every function returns NN_DS_OK (0) or a negative NN_DS_E* code; the
 * dataset keeps a message for the last failure in ds->errmsg.  Memory is
 * plain malloc/free; all objects are released by their *_free function
 * (safe to call on a zeroed or half-built object).
 */
#ifndef CNNREC_NN_DATASET_H
#define CNNREC_NN_DATASET_H

#include <stdint.h>

#include "nn/rng.h"

/* Status codes. */
#define NN_DS_OK		0
#define NN_DS_ENOMEM	(-1)	/* allocation failed */
#define NN_DS_EINVAL	(-2)	/* bad argument */
#define NN_DS_ESTATE	(-3)	/* call not valid in this state (e.g. append after finalize) */
#define NN_DS_ERANGE	(-4)	/* a count exceeds the int32 id space */
#define NN_DS_EEMPTY	(-5)	/* nothing left (e.g. the k-core removed everything) */

/* tref modes (§5.3.2); same values as NnTrefMode (NN_TREF_*) in model.h. */
#define NN_DS_TREF_LAST	0		/* time of the most recent input event */
#define NN_DS_TREF_NOW		1		/* offline: time of the first target */

/* Split modes (§6.2). */
#define NN_SPLIT_LOO	0		/* leave-last-out: last -> test, 2nd last -> validation */
#define NN_SPLIT_ALL	1		/* train on everything, nobody evaluated */

/* Evaluation phases. */
#define NN_PHASE_VALID	0		/* history = train events, target = 2nd last */
#define NN_PHASE_TEST	1		/* history = train + validation, target = last */

/* One raw row as appended (external ids). */
typedef struct NnDsRow
{
	int64_t		user;
	int64_t		time;
	int64_t		item;
	int32_t		event;
	uint32_t	ord;			/* append position: ties on time keep it */
} NnDsRow;

/* An (item, category) pair of appended rows (external ids), with its row count. */
typedef struct NnDsCatPair
{
	int64_t		item;
	int64_t		cat;
	int64_t		rows;
} NnDsCatPair;

/* Options of nn_ds_finalize; zero-initialised = no filtering. */
typedef struct NnDsOptions
{
	int32_t		kcore;			/* drop users and items with < kcore events; 0 = off */
	int32_t		kcore_max_passes;	/* 0 = iterate until stable; 1 = SASRec single pass */
	int32_t		dedup_repeats;	/* 1 = drop an event whose item equals the user's previous one */
} NnDsOptions;

typedef struct NnDataset
{
	/* raw rows (freed by finalize) */
	NnDsRow    *rows;
	int64_t		n_rows;
	int64_t		cap_rows;
	int			finalized;
	NnDsCatPair *cat_pairs;		/* rows with a category (freed by finalize) */
	int64_t		n_cat_pairs;
	int64_t		cap_cat_pairs;

	/* dense id maps; index 0 is PAD/UNKNOWN (ext value 0, meaningless) */
	int32_t		n_users;		/* U, including 0 */
	int32_t		n_items;		/* N, including 0 */
	int32_t		n_events;		/* n_E, including 0 */
	int64_t    *user_ext;		/* [U] external user id of dense u, ascending for u >= 1 */
	int64_t    *item_ext;		/* [N] external item id of dense i, ascending for i >= 1 */
	int32_t    *event_ext;		/* [n_E] external event code of dense e, ascending for e >= 1 */
	int32_t		n_cats;			/* item categories incl. 0 = none; 0 if no row had one */
	int64_t    *cat_ext;		/* [n_cats] external category of dense c, ascending for c >= 1 */
	int32_t    *item_cat;		/* [N] dense category of each item (0 = none), or NULL */

	/* per-user sequences, CSR, sorted by time (ties: append order) */
	int64_t		n_inter;		/* kept interactions */
	int64_t    *seq_off;		/* [U+1]; user u's events are [seq_off[u], seq_off[u+1]) */
	int32_t    *seq_item;		/* [n_inter] dense item ids */
	int32_t    *seq_event;		/* [n_inter] dense event ids (0 = none) */
	int64_t    *seq_time;		/* [n_inter] seconds */
	int64_t    *item_count;		/* [N] popularity over all kept events (item_count[0] = 0) */
	int32_t		max_user_len;	/* longest user sequence */

	/* statistics of finalize */
	int64_t		stat_rows_in;	/* rows appended */
	int64_t		stat_users_in;	/* distinct users before filtering */
	int64_t		stat_items_in;	/* distinct items before filtering */
	int64_t		stat_dedup_dropped;	/* rows dropped as consecutive repeats */
	int64_t		stat_kcore_dropped;	/* rows dropped by the k-core filter */
	int32_t		stat_kcore_passes;	/* passes run (the last one removes nothing unless capped) */

	char		errmsg[160];	/* message of the last failure */
} NnDataset;

/* Leave-last-out (or train-on-all) split of a finalized dataset. */
typedef struct NnDsSplit
{
	const NnDataset *ds;
	int			mode;			/* NN_SPLIT_LOO or NN_SPLIT_ALL */
	int32_t    *n_train;		/* [U] train events of u = prefix of u's sequence */
	int64_t		n_train_total;
	int32_t		n_eval;			/* evaluated users (>= 3 events; LOO only) */
	int32_t    *eval_users;		/* [n_eval], ascending */
	int64_t    *train_set_off;	/* [U+1] CSR: sorted unique train items of u */
	int32_t    *train_set;
	int64_t    *seen_set_off;	/* [U+1] CSR: sorted unique items of all u's events */
	int32_t    *seen_set;
	int64_t    *train_count;	/* [N] popularity over train events */
	int32_t		max_excl;		/* capacity an exclusion buffer needs (nn_ds_eval_case) */
} NnDsSplit;

/*
 * A training/evaluation instance: user u and "end" = the position (in u's
 * full sequence) of the first target.  History = u's events
 * [max(0, end-M), end); targets = positions end .. end+T-1.  Target
 * positions < 0 (Caser's left-padded short users, §1.6) or >= the limit are
 * 0, where the limit is n_train[u] for training instances (end < n_train[u])
 * and end+1 for evaluation instances (end >= n_train[u]: the single
 * validation/test target).
 */
typedef struct NnDsInstance
{
	int32_t		user;
	int32_t		end;
} NnDsInstance;

typedef struct NnDsInstances
{
	NnDsInstance *v;
	int64_t		n;
} NnDsInstances;

/*
 * Caller-provided output arrays of nn_ds_fill_batch (row-major, B rows).
 * Arrays marked optional may be NULL.
 */
typedef struct NnDsBatch
{
	int32_t    *users;			/* [B] */
	int32_t    *items;			/* [B*M] left-padded history, 0 = pad; position M-1 newest */
	int32_t    *events;			/* [B*M] event ids, 0 for pad (optional) */
	int64_t    *times;			/* [B*M] seconds, 0 for pad (optional) */
	int64_t    *tref;			/* [B] reference time per tref_mode (optional) */
	int32_t    *targets;		/* [B*T] target ids, 0 = missing */
	int32_t    *target_events;	/* [B*T] event ids of the targets (optional) */
	int32_t    *hist_len;		/* [B] n_b = number of real history events (optional) */
} NnDsBatch;

/* One evaluation case (§6.2-6.3). */
typedef struct NnDsEvalCase
{
	NnDsInstance inst;			/* user and end (= target position) */
	int32_t		target;			/* dense target item */
	int32_t		target_event;
	int64_t		target_time;
	int32_t		hist_len;		/* events before the target (= inst.end) */
	int			is_repeat;		/* 1 if the target occurs in the history */
	const int32_t *excl;		/* sorted unique items of the history (target included if repeat) */
	int32_t		n_excl;
} NnDsEvalCase;

/* Popularity proposal pi(i) ~ count_i^power, Walker alias table (§5.6 c). */
typedef struct NnDsPopSampler
{
	int32_t		n_items;		/* N (item 0 never drawn) */
	uint64_t   *thresh;			/* [N] acceptance probability * 2^32 (0 .. 2^32) */
	int32_t    *alias;			/* [N] */
	float	   *logq;			/* [N] ln pi(i); -inf for items with pi = 0 */
} NnDsPopSampler;

/* ---- dataset ---- */
extern const char *nn_ds_strerror(int code);
extern void nn_ds_init(NnDataset *ds);
extern void nn_ds_free(NnDataset *ds);
/* Append one interaction (external ids; event 0 = no event type). */
extern int	nn_ds_append(NnDataset *ds, int64_t user, int64_t item, int64_t time, int32_t event);
/* Append one interaction with the item's category (external id; 0 = none). */
extern int	nn_ds_append_category(NnDataset *ds, int64_t user, int64_t item, int64_t time,
								  int32_t event, int64_t category);
/* Note that rows rows of item have this category (external ids; 0 = none),
 * for loaders that read categories apart from the interactions. */
extern int	nn_ds_add_item_category(NnDataset *ds, int64_t item, int64_t category,
									int64_t rows);
/* Sort, dedup, k-core, build id maps and CSR; opt may be NULL.  On failure the dataset is emptied (errmsg kept). */
extern int	nn_ds_finalize(NnDataset *ds, const NnDsOptions *opt);
/* External -> dense lookups (binary search); 0 if unknown. */
extern int32_t nn_ds_user_id(const NnDataset *ds, int64_t ext);
extern int32_t nn_ds_item_id(const NnDataset *ds, int64_t ext);
extern int32_t nn_ds_event_id(const NnDataset *ds, int32_t ext);
/* Length of user u's sequence (0 for unknown/out-of-range u). */
extern int32_t nn_ds_user_len(const NnDataset *ds, int32_t u);

/* ---- split ---- */
extern int	nn_ds_split(const NnDataset *ds, int mode, NnDsSplit *sp);
extern void nn_ds_split_free(NnDsSplit *sp);

/* ---- instances (§5.3.3) ---- */
/* tacaser: every prefix j = 1..n-1 of each train sequence; cap > 0 keeps the most recent cap per user. */
extern int	nn_ds_instances_tacaser(const NnDsSplit *sp, int32_t cap, NnDsInstances *out);
/* caser (§1.6): windows of L+T, step 1; one left-padded instance if 0 < n < L+T. */
extern int	nn_ds_instances_caser(const NnDsSplit *sp, int32_t L, int32_t T, NnDsInstances *out);
extern void nn_ds_instances_free(NnDsInstances *out);
/* Deterministic Fisher-Yates shuffle with a PCG32 stream from (seed, epoch). */
extern void nn_ds_shuffle(NnDsInstance *v, int64_t n, uint64_t seed, uint64_t epoch);

/* ---- batches (§5.3.2) ---- */
extern int	nn_ds_fill_batch(const NnDsSplit *sp, const NnDsInstance *inst, int32_t B,
							 int32_t M, int32_t T, int tref_mode, const NnDsBatch *out);
/* Time bucket of a gap of delta seconds: 1 + min(n_G-2, floor(log2(1 + floor(delta/60)))). */
extern int32_t nn_ds_time_bucket(int64_t delta, int32_t n_G);
/* g[B*M] from a filled batch: bucket of max(0, tref - time) for real events, 0 for pad. */
extern int	nn_ds_fill_buckets(const int32_t *items, const int64_t *times, const int64_t *tref,
							   int32_t B, int32_t M, int32_t n_G, int32_t *g);

/* ---- negatives (§5.6) ---- */
/* K uniform items from 1..N-1 not among u's train items (<= 64 rejections each). */
extern int	nn_ds_neg_uniform(const NnDsSplit *sp, int32_t user, NnRng *rng, int32_t K, int32_t *out);
/* K items uniform over 1..N-1 with replacement, shared by a whole batch. */
extern int	nn_ds_neg_shared(int32_t n_items, NnRng *rng, int32_t K, int32_t *out);
/* k-th (0-based) item of 1..N-1 that is not in the sorted unique set[0..n). */
extern int32_t nn_ds_complement_select(const int32_t *set, int64_t n, int64_t k);
extern int	nn_ds_pop_init(NnDsPopSampler *ps, const int64_t *counts, int32_t n_items, double power);
extern void nn_ds_pop_free(NnDsPopSampler *ps);
/* K draws from pi (with replacement); logq (optional) gets ln pi of each draw. */
extern int	nn_ds_pop_draw(const NnDsPopSampler *ps, NnRng *rng, int32_t K, int32_t *out, float *logq);

/* ---- evaluation inputs (§6.2-6.4) ---- */
/*
 * Evaluation case idx (0..n_eval-1) of a phase.  excl_buf must hold
 * sp->max_excl ids; c->excl points into it.
 */
extern int	nn_ds_eval_case(const NnDsSplit *sp, int32_t idx, int phase,
							int32_t *excl_buf, NnDsEvalCase *c);
/* Sorted unique items of all u's events (train, validation and test). */
extern int32_t nn_ds_seen_items(const NnDsSplit *sp, int32_t user, const int32_t **items);

#endif							/* CNNREC_NN_DATASET_H */
