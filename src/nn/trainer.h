/*
 * trainer.h
 *		The training loop shared by the PostgreSQL worker and cnnrec-train:
 *		split, instances, epochs of mini-batches with negatives, validation
 *		with early stopping (keeping the best parameters), final evaluation
 *		on the test split and the popularity baseline.
 *
 * The caller builds and finalizes the dataset (nn_ds_finalize: sort,
 * k-core, dense ids), chooses a configuration (nn_config_preset plus
 * overrides), and calls nn_trainer_run.  Progress is reported through a
 * callback, always from the calling thread, between mini-batches (at least
 * once per epoch end and at most every progress_every_sec within an epoch);
 * a non-zero return from the callback stops training cleanly and
 * nn_trainer_run returns NN_ERR_CANCELLED.  No other thread ever runs
 * caller code.
 */
#ifndef CNNREC_NN_TRAINER_H
#define CNNREC_NN_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "nn/dataset.h"
#include "nn/eval.h"
#include "nn/model.h"

#define NN_ERR_CANCELLED	(-20)	/* the progress callback asked to stop */
#define NN_ERR_DATA			(-21)	/* data unusable (too few users/items/events) */

/* Phases reported to the progress callback. */
#define NN_TP_TRAINING		0
#define NN_TP_VALIDATING	1		/* per-epoch validation: reported as it starts
									 * (epoch_end 0) and with the epoch end */
#define NN_TP_TESTING		2		/* final evaluation */

typedef struct NnTrainProgress
{
	int			phase;			/* NN_TP_* */
	int			epoch;			/* 1-based epoch in progress / just ended */
	int			epochs;			/* maximum epochs */
	int			epoch_end;		/* 1: this report closes the epoch */
	int64_t		batch;			/* batches done in this epoch */
	int64_t		batches;		/* batches per epoch */
	double		loss;			/* mean data loss over the epoch so far */
	double		inst_per_sec;	/* training instances per second, this epoch */
	double		elapsed_sec;	/* since training started */
	double		eta_sec;		/* estimate for the remaining epochs (upper bound) */
	int			has_valid;		/* validation metrics below are for this epoch */
	double		valid_hr10;
	double		valid_ndcg10;
	double		valid_mrr;
	int			best_epoch;		/* best validation epoch so far (0 = none) */
} NnTrainProgress;

typedef int (*NnTrainProgressFn) (void *arg, const NnTrainProgress *p);

/* Cheap check between mini-batches (and every few users while evaluating):
 * non-zero stops the run with NN_ERR_CANCELLED.  Called on the calling thread. */
typedef int (*NnTrainStopFn) (void *arg);

typedef struct NnTrainSettings
{
	int			threads;		/* >= 1 */
	int			split;			/* NN_SPLIT_LOO (hold out valid/test) or NN_SPLIT_ALL */
	int			exclude_seen;	/* evaluation excludes history items except the target */
	double		progress_every_sec; /* within-epoch progress reports; 0 = epoch ends only */
	NnTrainProgressFn progress; /* may be NULL */
	void	   *progress_arg;
	NnTrainStopFn stop;			/* may be NULL; gets progress_arg */
	int			keep_adam;		/* keep the Adam state in the returned model */
	int			poison_epoch;	/* testing only: at the start of this epoch set
								 * one weight to NaN, to exercise divergence
								 * handling end to end; 0 = off */
} NnTrainSettings;

/* Everything a run measured. */
typedef struct NnTrainResult
{
	int			epochs_run;
	int			best_epoch;		/* 0 when there is no validation (NN_SPLIT_ALL) */
	int64_t		instances_per_epoch;
	double		train_seconds;	/* training only, without evaluation */
	double		inst_per_sec;	/* over all epochs */
	int32_t		n_users;		/* U - 1 */
	int32_t		n_items;		/* N - 1 */
	int64_t		n_interactions; /* after filtering */
	int32_t		n_eval_users;
	int32_t		n_categories;	/* item categories trained (0 = category tables off) */
	int			has_eval;		/* the metrics below are set */
	NnMetrics	valid;			/* best epoch, full ranking */
	NnMetrics	test;			/* full ranking */
	NnMetrics	test_fresh;		/* test users whose target is new to them */
	NnMetrics	test_repeat;	/* test users whose target was seen before */
	NnMetrics	test_sampled100;	/* labelled sampled-100 (uniform) variant */
	NnMetrics	pop_test;		/* most-popular baseline, same split and exclusion */
	float		cooc_lambda;	/* co-occurrence mixture weight of the model */
	int			n_cooc_grid;	/* weights tried on validation (cooc_lambda auto) */
	struct
	{
		float		lambda;
		double		valid_ndcg10;
	}			cooc_grid[12];
	int			n_curve;		/* validation NDCG@10 per evaluated epoch */
	int			curve_epoch[1024];
	double		curve_ndcg10[1024];
} NnTrainResult;

/*
 * Train cfg on a finalized dataset.  cfg's data sizes are set from ds.  On
 * success *out holds the best parameters (it must be zeroed or freed by the
 * caller beforehand; free it with nn_model_free) and *res the measurements.
 * Returns NN_OK, NN_ERR_CANCELLED, NN_ERR_NONFINITE (NaN/Inf: no model is
 * returned), NN_ERR_DATA, NN_ERR_CONFIG or NN_ERR_NOMEM, with a message.
 */
extern int	nn_trainer_run(const NnDataset *ds, const NnConfig *cfg,
						   const NnTrainSettings *s, NnModel *out,
						   NnTrainResult *res, char *msg, size_t msglen);

/*
 * Upper estimate of the bytes nn_trainer_run will allocate for a finalized
 * dataset (parameters, optimiser state, best copy, per-thread gradients and
 * workspaces, split, instances, evaluation buffers).  Proportional to
 * events plus parameters, never to users x items.
 */
extern uint64_t nn_trainer_memory_estimate(const NnDataset *ds, const NnConfig *cfg, int threads);

/*
 * Evaluate a model on a split with the protocol of §6 (the code the trainer
 * uses for its stored metrics).  item_map / user_map (NULL = identity) map
 * the split's dense ids to the model's (0 = unknown to the model: such an
 * item scores -inf, such a user uses the UNKNOWN row), so a stored model can
 * be evaluated on data loaded again.  Returns NN_OK or an error code.
 */
extern int	nn_evaluate_model(const NnDsSplit *sp, const NnModel *m, const int32_t *item_map,
							  const int32_t *user_map, const NnEvalOptions *o,
							  NnEvalReport *rep);

/* The same with a stop check every 64 users (NULL = none). */
extern int	nn_evaluate_model_stoppable(const NnDsSplit *sp, const NnModel *m,
										const int32_t *item_map, const int32_t *user_map,
										const NnEvalOptions *o, NnEvalReport *rep,
										NnTrainStopFn stop, void *stop_arg);

/* Default settings: 1 thread, leave-last-out, exclusion on, no callback. */
extern void nn_train_settings_default(NnTrainSettings *s);

#endif							/* CNNREC_NN_TRAINER_H */
