/*
 * model_cache.h
 *		Per-backend cache of deserialized active model versions (serving).
 */
#ifndef CNNREC_MODEL_CACHE_H
#define CNNREC_MODEL_CACHE_H

#include "postgres.h"

#include "executor/spi.h"

#include "nn/blob.h"

/* One served model: an active version, loaded and validated. */
typedef struct ServingModel
{
	int64		model_id;
	char		name[NAMEDATALEN];
	int32		version;
	MemoryContext cxt;			/* everything below lives here ("cnnrec model") */
	NnBlob		blob;			/* validated weights and id maps (malloc'ed, freed
								 * by the context's reset callback) */
	bool		dead;			/* invalidated: free at the next safe point */
	LocalTransactionId pinned_lxid; /* transaction that last confirmed it */

	/* the source relation, as stored with the model */
	Oid			source;
	char	   *user_column;
	char	   *item_column;
	char	   *time_column;
	char	   *event_column;	/* NULL if none */
	Oid			time_type;		/* base type of the time column */
	Oid			event_type;		/* base type of the event column */
	bool		clock;			/* the time column is a clock, not an order */
	bool		text_events;	/* the event column holds labels */
	bool		exclude_seen_default;	/* the model's exclude_seen option */

	/* saved plan: the user's events, newest first */
	SPIPlanPtr	history_plan;

	/* scoring workspace */
	void	   *infer;			/* NnInfer */
	float	   *scores;			/* N floats */
	float	   *global_scores;	/* N floats for an empty history, or NULL */
} ServingModel;

/*
 * The active version of a model for this transaction: model_name, else the
 * cnnrec.default_model setting, else the only model in the database.  The
 * version is looked up once per transaction under its snapshot (so a
 * transaction never mixes two versions) and loaded when it changed.
 */
extern ServingModel *CnnrecGetServingModel(const char *model_name);

/*
 * Read a stored version's weight chunks (with the extension owner's rights),
 * check their size and CRC-32C, and parse them with the validating reader
 * into *blob (release with nn_blob_free).  Any inconsistency is an error.
 */
extern void CnnrecReadBlob(const char *name, int64 model_id, int32 version,
						   int64 weights_bytes, int64 crc, NnBlob *blob);

/* Register the invalidation callbacks (from _PG_init). */
extern void CnnrecModelCacheInit(void);

#endif							/* CNNREC_MODEL_CACHE_H */
