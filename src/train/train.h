/*
 * train.h
 *		The training worker (cnnrec_train.so): shared declarations of
 *		worker.c (entry, job lifecycle), load.c (source -> dataset) and
 *		save.c (model -> a new version in one transaction).
 */
#ifndef CNNREC_TRAIN_H
#define CNNREC_TRAIN_H

#include "postgres.h"

#include "nn/dataset.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "options.h"

/* Event vocabulary read from the source: integers or text labels. */
typedef struct EventVocab
{
	bool		text;			/* labels (true) or integer values */
	int			n;				/* distinct events; dense ids are 1..n */
	int64	   *values;			/* integer events, ascending */
	char	  **labels;			/* text events, ascending by strcmp */
} EventVocab;

/* What the worker knows about the model it trains. */
typedef struct TrainJob
{
	int64		job_id;
	int64		model_id;
	char	   *model_name;
	Oid			source;
	char	   *user_column;
	char	   *item_column;
	char	   *time_column;
	char	   *event_column;	/* NULL if none */
	CnnrecOptions opts;			/* effective options */
	int			threads;
	int64		max_memory;		/* bytes (cnnrec.max_train_memory) */

	/* filled by load.c */
	NnDataset	ds;
	EventVocab	vocab;
	int64		rows_read;
	double		load_seconds;
} TrainJob;

/* load.c: read the source through cnnrec.sequence_agg into job->ds. */
extern void TrainLoadData(TrainJob *job);

/* Raise the memory-limit error for an estimate of bytes. */
extern void TrainMemoryExceeded(TrainJob *job, uint64 bytes, const char *what);

/* save.c: store the trained model as a new active version; returns it. */
extern int	TrainSaveVersion(TrainJob *job, const NnModel *model,
							 const NnTrainResult *res);

#endif							/* CNNREC_TRAIN_H */
