/*
 * options.h
 *		Model and training options: the jsonb keys of create_model() and
 *		train(), validated and applied onto the math core's NnConfig.
 */
#ifndef CNNREC_OPTIONS_H
#define CNNREC_OPTIONS_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "nn/model.h"

/* Training settings that are not model hyperparameters. */
typedef struct CnnrecSettings
{
	char		preset[16];		/* "caser" | "tacaser" */
	int			kcore;			/* iterated k-core filter; 0 = off */
	bool		exclude_seen;	/* evaluation: exclude seen items */
	bool		holdout;		/* leave-last-out validation/test split */
	bool		dedup;			/* drop consecutive repeats of an item */
	int			threads;		/* training threads; 0 = cnnrec.train_threads */
	int			deploy;			/* CNNREC_DEPLOY_* */
	int			poison_epoch;	/* testing only: NaN weight at this epoch */
} CnnrecSettings;

/* When a new version becomes the active one. */
#define CNNREC_DEPLOY_AUTO		0	/* first version, or validation NDCG@10 >= active's */
#define CNNREC_DEPLOY_ALWAYS	1
#define CNNREC_DEPLOY_NEVER		2

/* The effective options of one training run. */
typedef struct CnnrecOptions
{
	NnConfig	cfg;
	CnnrecSettings set;
} CnnrecOptions;

/*
 * Resolve options: preset defaults (the "preset" key of the last layer that
 * has one, else tacaser), then each layer applied in order (e.g. the model's
 * options, then train()'s).  Unknown keys and out-of-range values raise an
 * error naming the key.  Either layer may be NULL.
 */
extern void CnnrecResolveOptions(CnnrecOptions *out, Jsonb *base, Jsonb *override);

/* Validate one options object (raises an error naming the bad key). */
extern void CnnrecValidateOptions(Jsonb *options);

/* The effective options as a jsonb object (stored with each version). */
extern Jsonb *CnnrecOptionsToJsonb(const CnnrecOptions *opts);

#endif							/* CNNREC_OPTIONS_H */
