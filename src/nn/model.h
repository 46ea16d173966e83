/*
 * model.h
 *		TACaser v1 math core: configuration, parameters, training step,
 *		optimiser and inference (model-spec.md §5).  Pure C, no PostgreSQL.
 *
 * Map of the implementation (spec section -> file):
 *   §5.1/§5.2/§5.10 NnConfig, presets, validation ....... config.c
 *   §5.3.2 time buckets (63 - clz64), time features .... config.c
 *   §5.4 parameter arena, tensor table, init ............ model.c
 *   §5.5 forward F1-F9, §5.7 backward B2-B10 ............ layers.c
 *   §5.6 losses + F10/B1 (output layer) ................. loss.c
 *   §5.8 Adam / lazy Adam, clipping, L2 (B11) ........... adam.c
 *   batch validation / preparation, user dropout ........ prep.c
 *   row slots, threads, reduction, step .................. train.c
 *   §5.13 inference: user vectors, scoring .............. model.c
 *   item-category tables (not in the spec, see below) ... category.c
 *   thread pool (own pthreads, pg-engineering.md §6) .... pool.c
 *
 * Conventions: all ids are 0-based int32; item 0 / user 0 / event 0 /
 * bucket 0 are PAD / UNKNOWN.  Arrays are row-major float32.  Functions
 * return NN_OK (0) or a negative NN_ERR_* code and never print or exit.
 * There is no global mutable state: everything lives in NnModel, NnWork
 * and NnInfer objects, so one process may hold several models.
 */
#ifndef CNNREC_NN_MODEL_H
#define CNNREC_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- status codes -------------------------------------------------- */
#define NN_OK				0
#define NN_ERR_CONFIG		(-1)	/* invalid configuration */
#define NN_ERR_NOMEM		(-2)	/* allocation failed */
#define NN_ERR_BATCH		(-3)	/* malformed batch (id out of range, ...) */
#define NN_ERR_NONFINITE	(-4)	/* NaN/Inf loss or gradient: step skipped */
#define NN_ERR_STATE		(-5)	/* wrong object state (no Adam state, ...) */
#define NN_ERR_THREAD		(-6)	/* could not start worker threads */

/* Static English text for a status code. */
extern const char *nn_strerror(int code);

/* ---- limits -------------------------------------------------------- */
#define NN_MAX_L			16		/* conv window (heights 1..L) */
#define NN_MAX_EVENT_TYPES	64		/* size of the target-weight table */
#define NN_MAX_TENSORS		(4 + 2 * NN_MAX_L + 9)

/* Item-category tables (NnConfig.use_category bits; category.c). */
#define NN_CAT_INPUT		1		/* Q_eff[i] = Q[i] + C_in[cat(i)] */
#define NN_CAT_OUTPUT		2		/* W2_eff[i] = W2[i] + C_out[cat(i)],
									 * b2_eff[i] = b2[i] + c_b[cat(i)] */
#define NN_CAT_BOTH			3

/* Co-occurrence mixture (NnConfig.cooc_*; cooc.c). */
#define NN_COOC_AUTO		(-1.0f)	/* cooc_lambda: choose on validation */
#define NN_COOC_MAX_LAMBDA	0.95f
#define NN_COOC_MAX_K		100000
#define NN_COOC_MAX_WINDOW	1000
#define NN_TIME_UNIT_SECONDS	60	/* bucket base unit (§5.3.2) */
#define NN_DECAY_UNIT_SECONDS	3600	/* decay time term unit (§5.5 F5) */

/* ---- configuration (§5.1, §5.2, §5.10) ----------------------------- */
typedef enum NnAct
{
	NN_ACT_IDENTITY = 0,
	NN_ACT_RELU = 1,
	NN_ACT_SIGMOID = 2,
	NN_ACT_TANH = 3
} NnAct;

typedef enum NnTimeMode
{
	NN_TIME_NONE = 0,			/* no time term in the attention score */
	NN_TIME_BUCKET = 1,			/* + beta[g] */
	NN_TIME_DECAY = 2			/* - softplus(theta) * ln(1 + dt/3600) */
} NnTimeMode;

typedef enum NnTrefMode
{
	NN_TREF_LAST = 0,			/* tau_ref = most recent input event */
	NN_TREF_NOW = 1				/* tau_ref = request time / first target */
} NnTrefMode;

typedef enum NnLoss
{
	NN_LOSS_BCE = 0,			/* K negatives per instance, shared by targets */
	NN_LOSS_BCE_PER_TARGET = 1, /* K negatives per target */
	NN_LOSS_BPR = 2,			/* pairs (positive, each of the row's K) */
	NN_LOSS_SOFTMAX_SAMPLED = 3,	/* K negatives shared by the batch */
	NN_LOSS_SOFTMAX_FULL = 4,	/* all items */
	NN_LOSS_SOFTMAX_AUTO = 5	/* full if N-1 <= softmax_full_max, else sampled;
								 * resolved by nn_config_set_data() */
} NnLoss;

typedef enum NnInstances
{
	NN_INST_CASER = 0,			/* sliding windows of §1.6 */
	NN_INST_PREFIXES = 1		/* all prefixes of §5.3.3 */
} NnInstances;

typedef struct NnConfig
{
	/* data sizes (set by nn_config_set_data) */
	int32_t		N;				/* items incl. PAD 0 */
	int32_t		U;				/* users incl. UNKNOWN 0 */
	int32_t		n_E;			/* event types incl. PAD 0 */
	int32_t		n_G;			/* time buckets incl. PAD 0 */
	int32_t		n_C;			/* item categories incl. PAD 0 (0 = none known;
								 * set by the trainer from the dataset) */

	/* architecture */
	int			d;				/* embedding size */
	int			L;				/* conv window, heights 1..L */
	int			M;				/* history / attention window, M >= L */
	int			T;				/* targets per instance */
	int			nh;				/* horizontal filters per height */
	int			nv;				/* vertical filters */
	NnAct		act_conv;		/* phi_c */
	NnAct		act_fc;			/* phi_a */
	int			use_vertical;
	int			use_horizontal;
	int			use_attention;
	int			use_event_emb;	/* A table */
	int			use_time_emb;	/* G table */
	NnTimeMode	time_mode;		/* attention time term (needs use_attention) */
	NnTrefMode	tref_mode;		/* used by nn_time_features() */
	int			conv_mask_windows;	/* 1: max-pool over non-padded windows only */
	int			use_category;	/* NN_CAT_* bits; active only with n_C >= 2 */

	/* co-occurrence mixture (cooc.c; not in the spec): the scores rank
	 * (1 - lambda) softmax(model) + lambda q, q from item neighbours */
	int			cooc_k;			/* neighbours kept per item; 0 = off */
	int			cooc_window;	/* pairs at most this many positions apart */
	float		cooc_decay;		/* weight of the k-th newest history item: decay^k */
	float		cooc_lambda;	/* in [0, NN_COOC_MAX_LAMBDA]; NN_COOC_AUTO = the
								 * trainer picks it on the validation split
								 * (0.2 without one) */

	/* regularisation */
	float		dropout;		/* p on the fused features (F7) */
	float		user_dropout;	/* rho: P(user id -> 0) in training */
	float		l2;				/* lambda, coupled L2 on weights */
	int			decoupled_wd;	/* 1: AdamW-style decay instead of coupled L2 */

	/* loss and sampling */
	NnLoss		loss;
	int			negatives;		/* K (see NnBatch for the layout) */
	int			softmax_full_max;	/* AUTO: full softmax up to this many items */
	int			use_target_weights; /* weight targets by their event type */
	float		target_weights[NN_MAX_EVENT_TYPES]; /* indexed by event id */

	/* optimiser */
	int			batch;			/* B */
	float		lr;
	float		beta1;
	float		beta2;
	float		eps;
	float		clip_norm;		/* 0 = off; else global grad-norm clip */
	uint64_t	seed;

	/* schedule / instance generation (used by the trainer, not here) */
	NnInstances instances;
	int			max_instances_per_user; /* 0 = no cap (the most recent C) */
	int			epochs;
	int			eval_every;		/* epochs between validation runs */
	int			patience;		/* evaluations without improvement; 0 = off */
} NnConfig;

/* Fill cfg with the "caser" or "tacaser" preset (§5.1, §5.10).
 * Data sizes are left 0.  Returns NN_OK or NN_ERR_CONFIG (unknown name). */
extern int	nn_config_preset(NnConfig *cfg, const char *name);

/* Set the data sizes; resolves NN_LOSS_SOFTMAX_AUTO from N. */
extern void nn_config_set_data(NnConfig *cfg, int32_t N, int32_t U, int32_t n_E);

/* 1 if cfg trains item-category tables (use_category != 0 and n_C >= 2). */
extern int	nn_config_category_active(const NnConfig *cfg);

/* Check every field; on error writes a message (if msg) and returns
 * NN_ERR_CONFIG. */
extern int	nn_config_validate(const NnConfig *cfg, char *msg, size_t msglen);

/* Names of the enum values, NULL-terminated, index = value: NnAct, NnLoss,
 * NnTimeMode, NnTrefMode, NnInstances, NN_CAT_* (use_category) and the
 * presets of nn_config_preset().  The option parsers of the extension and
 * of cnnrec-train both use them. */
extern const char *const nn_act_names[];
extern const char *const nn_loss_names[];
extern const char *const nn_time_mode_names[];
extern const char *const nn_tref_names[];
extern const char *const nn_instances_names[];
extern const char *const nn_category_names[];
extern const char *const nn_preset_names[];

/* Name <-> enum helpers ("relu", "bucket", "bce_per_target", ...);
 * parse functions return -1 for an unknown name. */
extern const char *nn_act_name(NnAct a);
extern int	nn_act_parse(const char *s);
extern const char *nn_loss_name(NnLoss l);
extern int	nn_loss_parse(const char *s);
extern const char *nn_time_mode_name(NnTimeMode t);
extern int	nn_time_mode_parse(const char *s);

/* Negatives per batch row the loss expects in NnBatch.neg
 * (K for bce/bpr, T*K for bce_per_target, 0 otherwise). */
extern int	nn_config_neg_per_row(const NnConfig *cfg);

/* Shared negatives per batch the loss expects (K for sampled softmax). */
extern int	nn_config_neg_shared(const NnConfig *cfg);

/* ---- time features (§5.3.2) ---------------------------------------- */

/* Bucket id g = 1 + min(n_G-2, floor(log2(1 + floor(delta/60)))) for a
 * valid event (delta < 0 counts as 0); integer arithmetic only. */
extern int32_t nn_time_bucket(int64_t delta_seconds, int32_t n_G);

/* For one left-padded history (items[M], ts[M], 0 = PAD): fill g[M]
 * (bucket ids, 0 for padding; may be NULL) and dt[M] (seconds since the
 * reference time as float, 0 for padding; may be NULL).  The reference is
 * the newest valid ts for tref_mode LAST, else tref_now. */
extern void nn_time_features(const NnConfig *cfg, int M, const int32_t *items,
							 const int64_t *ts, int64_t tref_now,
							 int32_t *g, float *dt);

/* ---- parameters (§5.4) --------------------------------------------- */
typedef struct NnTensor
{
	char		name[8];		/* "Q","A","G","P","F1".."FL","c1".."cL",
								 * "Wv","cv","WK","beta","theta","W1","b1",
								 * "W2","b2" */
	int64_t		rows;			/* 0 when the component is switched off */
	int64_t		cols;
	size_t		offset;			/* first float in NnModel.params */
	int			sparse;			/* row-sparse gradient, lazy Adam */
	int			l2;				/* weight (L2 applies) vs bias */
	int			pad_row0;		/* row 0 is PAD: stays 0, never updated */
	size_t		goff;			/* offset in the dense gradient arena, or
								 * NN_NO_OFFSET for sparse tensors */
} NnTensor;

#define NN_NO_OFFSET ((size_t) -1)

/* Tensor indices of the fixed part of the table (F_h and c_h follow). */
enum
{
	NN_T_Q = 0, NN_T_A, NN_T_G, NN_T_P, NN_T_F1	/* F_h = NN_T_F1 + h-1 */
};

/*
 * Item neighbour table (cooc.c): row i lists up to cooc_k items j != i
 * with w(i, j) = (pairs of i and j at most cooc_window positions apart in
 * a training sequence) / (all such pairs of i); columns strictly
 * ascending, 1 <= j < N, 0 < w <= 1, each row's weights sum to at most 1.
 */
typedef struct NnCooc
{
	int32_t		n_rows;			/* N, or 0 = no table */
	int64_t		nnz;
	int64_t    *off;			/* [n_rows + 1] row starts */
	int32_t    *col;			/* [nnz] */
	float	   *w;				/* [nnz] */
	void	   *mem;			/* owned allocation (nn_cooc_free), or NULL */
} NnCooc;

typedef struct NnModel
{
	NnConfig	cfg;			/* validated, loss resolved */
	int			Dv, Dh, Da, Dc; /* feature sizes (§5.2) */
	int			n_tensors;
	NnTensor	tensors[NN_MAX_TENSORS];	/* §5.4 order */
	size_t		n_params;		/* floats in params */
	size_t		n_dense;		/* floats of dense-gradient tensors */
	float	   *params;			/* one contiguous arena, §5.4 order */
	int			owns_params;

	/* Adam state (nn_model_alloc_adam): m and v share the params layout */
	float	   *adam_m;
	float	   *adam_v;
	int64_t		adam_t;			/* completed steps */

	/* direct pointers into params (NULL for empty tensors); with active
	 * category tables Q (input side) and W2, b2 (output side) point to the
	 * effective tables in eff instead, which every forward pass and scorer
	 * reads */
	float	   *Q, *A, *G, *P, *Wv, *cv, *WK, *beta, *theta, *W1, *b1, *W2, *b2;
	float	   *F[NN_MAX_L];	/* F[h-1]: nh x (h*d) */
	float	   *ch[NN_MAX_L];	/* ch[h-1]: nh */
	int			t_F1, t_c1, t_Wv, t_cv, t_WK, t_beta, t_theta, t_W1, t_b1,
				t_W2, t_b2;		/* table indices */

	/* item-category tables (category.c), only when
	 * nn_config_category_active(&cfg); outside params, so the parameter
	 * count, the tensor table and the blob format do not depend on them */
	int32_t    *item_cat;		/* [N] category of each item, 0 = none */
	size_t		n_cat_params;	/* n_C * (3d + 1) */
	float	   *cat_params;		/* C_in [n_C*d], C_out [n_C*2d], c_b [n_C] */
	float	   *Cin, *Cout, *cb;	/* into cat_params; row 0 (PAD) stays 0 */
	float	   *cat_adam_m;		/* Adam state of cat_params (m, then v) */
	float	   *cat_adam_v;
	float	   *eff;			/* effective Q [N*d] (input side), then W2
								 * [N*2d], b2 [N] (output side) */
	int			eff_stale;		/* eff is older than the tables, except for the
								 * rows the last batch read (see category.c) */

	/* item neighbour table of the co-occurrence mixture (cooc.c); empty
	 * (n_rows 0) when cooc_k is 0 or the mixture is not used */
	NnCooc		cooc;
} NnModel;

/* Number of parameter floats for a configuration (for external arenas). */
extern size_t nn_model_param_count(const NnConfig *cfg);

/*
 * Set up a model for cfg (validated; the loss must be resolved).  With
 * params == NULL the arena is allocated (zeroed) and owned; otherwise the
 * caller's nn_model_param_count(cfg) floats are used as they are (e.g. a
 * loaded blob) and not freed.  Call nn_model_init_weights() for §5.4 init.
 */
extern int	nn_model_init(NnModel *m, const NnConfig *cfg, float *params,
						  char *msg, size_t msglen);

/* Initialise every tensor per §5.4 from cfg.seed (deterministic). */
extern void nn_model_init_weights(NnModel *m);

/* Allocate zeroed Adam state (m, v; t = 0).  Idempotent. */
extern int	nn_model_alloc_adam(NnModel *m);

/* Free owned memory (arena if owned, Adam state); m can be re-initialised. */
extern void nn_model_free(NnModel *m);

/* Tensor by name, or NULL. */
extern const NnTensor *nn_model_tensor(const NnModel *m, const char *name);

/* ---- co-occurrence mixture (cooc.c) -------------------------------- */

/*
 * Build an item neighbour table (NnCooc) from the first n_train[u] events
 * of every user's sequence (CSR seq_off[U+1] / seq_item, dense items
 * 1..N-1, 0 ignored): every pair of different items at most window
 * positions apart counts once for both items; each row keeps its k
 * largest counts (ties: smaller item id), divided by the row's total.
 * Returns NN_OK, NN_ERR_NOMEM or NN_ERR_CONFIG (bad sizes).
 */
extern int	nn_cooc_build(NnCooc *c, int32_t N, int32_t U, const int64_t *seq_off,
						  const int32_t *seq_item, const int32_t *n_train,
						  int k, int window);

/* Upper estimate of the bytes nn_cooc_build allocates for n_events
 * training events (0 when k is 0). */
extern uint64_t nn_cooc_memory_estimate(int32_t N, int64_t n_events, int k, int window);

/* Free a table built by nn_cooc_build (no-op for borrowed memory). */
extern void nn_cooc_free(NnCooc *c);

/*
 * Check a table for N items and at most k per row (the blob reader's
 * rules in NnCooc); NN_OK or NN_ERR_CONFIG with a message.
 */
extern int	nn_cooc_check(const NnCooc *c, int32_t N, int k, char *msg, size_t msglen);

/* ---- item-category tables (category.c) ----------------------------- */

/*
 * Optional side information: with nn_config_category_active(&cfg) every
 * item i has a category cat(i) (0 = none) and the model trains, next to
 * the base tables, C_in (n_C x d), C_out (n_C x 2d) and c_b (n_C):
 *   Q_eff[i] = Q[i] + C_in[cat(i)]             (NN_CAT_INPUT)
 *   W2_eff[i] = W2[i] + C_out[cat(i)], b2_eff[i] = b2[i] + c_b[cat(i)]
 *                                              (NN_CAT_OUTPUT)
 * Training, validation and scoring read the effective tables (m->Q, W2,
 * b2 point to them); the category tables start at 0, get the summed
 * gradients of their items' rows and dense Adam (L2 on C_in, C_out, not
 * on c_b).  Folding writes the effective tables into Q, W2, b2 and drops
 * the category tables, leaving a plain model that scores identically.
 */

/* Set the item -> category map (N ids in 0..n_C-1; item 0 is forced to 0)
 * and refresh the effective tables.  NN_ERR_STATE without active
 * category tables, NN_ERR_BATCH for an id out of range. */
extern int	nn_model_set_categories(NnModel *m, const int32_t *item_cat);

/* Recompute the effective tables from the base and category tables (after
 * changing either directly, e.g. in a gradient check).  No-op when off. */
extern void nn_model_category_sync(NnModel *m);

/* dst[n_params] = the parameters with the category tables folded in
 * (a plain copy when they are off). */
extern void nn_model_folded_params(const NnModel *m, float *dst);

/* Fold in place: Q, W2, b2 become the effective tables, the category
 * tables and their Adam state are freed and cfg.use_category and n_C are
 * set to 0, so m is a plain model (the blob, which stores neither, and the
 * scorers see no difference). */
extern void nn_model_fold_categories(NnModel *m);

/* ---- mini-batch (§5.3.2) ------------------------------------------- */

/*
 * A mini-batch of B instances (also used, with B >= 1 and no targets, as
 * the input of inference).  Histories are left-padded to M (position M-1
 * is the most recent); PAD holes inside a history are ignored (the valid
 * events are packed to the right first).
 *
 * Negatives, by loss:
 *   bce, bpr:        neg[B*K], row b's K negatives (shared by its targets)
 *   bce_per_target:  neg[B*T*K], target t of row b owns neg[(b*T+t)*K ..]
 *   softmax_sampled: shared_neg[K], one list for the whole batch
 *   softmax_full:    none
 * A negative id 0 means "no sample" and is skipped.  logq (optional,
 * sampled softmax): ln pi(i) of the proposal for every item (N floats);
 * NULL = uniform (no correction).
 */
typedef struct NnBatch
{
	int			B;
	const int32_t *user;		/* [B] user ids (0 = unknown) */
	const int32_t *items;		/* [B*M] item ids, 0 = PAD */
	const int32_t *events;		/* [B*M] event ids (needed if use_event_emb) */
	const int32_t *tbucket;		/* [B*M] bucket ids (needed if use_time_emb or
								 * bucket attention) */
	const float *tdelta;		/* [B*M] seconds (needed for decay mode) */
	const int32_t *targets;		/* [B*T] target ids, 0 = missing (training) */
	const float *target_w;		/* [B*T] explicit weights or NULL */
	const int32_t *target_events;	/* [B*T] event ids of the targets or NULL
									 * (with cfg.use_target_weights) */
	const int32_t *neg;			/* per-row negatives, see above */
	const int32_t *shared_neg;	/* shared negatives, see above */
	const float *logq;			/* [N] or NULL */
} NnBatch;

/* Refresh the effective rows batch b reads (history items, targets,
 * negatives) if the tables are stale.  The effective tables are a cache of
 * base + category rows, so a const model may be refreshed: every reader
 * (training steps, evaluation, folding) brings what it reads up to date. */
extern void nn_category_refresh_batch(const NnModel *m, const NnBatch *b);

/* ---- training (§5.5-§5.8, threads) --------------------------------- */
typedef struct NnWork NnWork;

/*
 * Workspace for training steps with up to max_batch rows.  The batch is
 * cut into n_shards contiguous slices (0 = n_threads), each run forward and
 * backward with its own gradient buffers, then reduced in shard order; the
 * n_threads threads (own pthreads, including the caller) share the shards.
 * Results depend on n_shards only, never on n_threads or timing, and are
 * bit-for-bit reproducible for a given n_shards (1 thread, 1 shard is the
 * reference).  The worker threads block all signals.  With n_threads > 1
 * this sets OpenBLAS to one thread (nn_blas_set_threads(1)): the shards
 * call it concurrently, and its own threads do not help at these sizes.
 */
extern NnWork *nn_work_create(const NnModel *m, int max_batch, int n_threads,
							  int n_shards, int *err);
extern void nn_work_free(NnWork *w);

/*
 * One optimiser step on a batch: forward, loss, backward, reduction, global
 * gradient check (and clipping), Adam.  *loss gets the data loss (no L2
 * term).  On NN_ERR_NONFINITE / NN_ERR_BATCH the parameters, Adam state
 * and step counter are unchanged.  Dropout / user-dropout masks are drawn
 * from (seed, step, row), so they do not depend on sharding.
 */
extern int	nn_train_step(NnModel *m, NnWork *w, const NnBatch *b, double *loss);

/* Forward + backward only (no update); gradients stay in w. */
extern int	nn_forward_backward(const NnModel *m, NnWork *w, const NnBatch *b,
								double *loss);

/* Training-mode forward and loss only (same dropout masks as the next step). */
extern int	nn_forward_loss(const NnModel *m, NnWork *w, const NnBatch *b,
							double *loss);

/* Copy the last nn_forward_backward() gradient into grad[n_params]
 * (params layout, zeros for untouched rows; data loss only, no L2). */
extern void nn_work_gradient(const NnWork *w, const NnModel *m, float *grad);

/* Copy the last nn_forward_backward() gradient of the category tables
 * into grad[m->n_cat_params] (cat_params layout; data loss only). */
extern void nn_work_category_gradient(const NnWork *w, const NnModel *m, float *grad);

/* Global L2 norm of the last computed gradient (before clipping). */
extern double nn_work_grad_norm(const NnWork *w);

/* ---- inference (§5.13) --------------------------------------------- */
typedef struct NnInfer NnInfer;

/* Forward-only workspace for up to max_rows instances per call (larger
 * inputs are processed in chunks).  Inference only reads the model, so
 * threads may share a model, each with its own NnInfer. */
extern NnInfer *nn_infer_create(const NnModel *m, int max_rows);
extern void nn_infer_free(NnInfer *w);

/* User vectors x = [z; P[u]] (2d floats per row) for all B rows of in
 * (dropout off, no user dropout).  w may be NULL (allocated per call). */
extern int	nn_user_vectors(const NnModel *m, NnInfer *w, const NnBatch *in,
							float *X);

/* One row: x (2d) and, if alpha != NULL, its attention weights alpha[M] in
 * the input's position order (0 for padding, all 0 without attention). */
extern int	nn_user_vector(const NnModel *m, NnInfer *w, const NnBatch *in,
						   int row, float *x, float *alpha);

/* scores[i] = b2[i] + W2[i].x for all N items; scores[0] = -inf. */
extern void nn_score_all(const NnModel *m, const float *x, float *scores);

/* S[r][i] for rows users (X is rows x 2d, S is rows x N), one GEMM. */
extern void nn_score_block(const NnModel *m, const float *X, int rows, float *S);

/*
 * Apply the co-occurrence mixture to one user's scores (N floats, from
 * nn_score_all or a row of nn_score_block) given the user's history window
 * hist[M] (left-padded with 0, newest last, as in NnBatch.items).  Items
 * then rank by (1 - lambda) softmax(scores) + lambda q, q = the history's
 * neighbour weights (decay^k for the k-th newest item) normalised to sum
 * 1; only items with q > 0 change, to logaddexp(s, log(lambda / (1 -
 * lambda) q) + logsumexp(scores)), so the others keep their raw scores.
 * No-op when cooc_lambda is 0 or the model has no table.  w supplies the
 * scratch space.  NN_OK or NN_ERR_NOMEM.
 */
extern int	nn_cooc_mix(const NnModel *m, NnInfer *w, const int32_t *hist, int M,
						float *scores);

#endif							/* CNNREC_NN_MODEL_H */
