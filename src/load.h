/*
 * load.h
 *		Reading a model's source relation into the math core's dataset,
 *		shared by the training worker and cnnrec.evaluate().
 */
#ifndef CNNREC_LOAD_H
#define CNNREC_LOAD_H

#include "postgres.h"

#include "nn/dataset.h"
#include "nn/model.h"
#include "options.h"

/* Event vocabulary read from the source: integers or text labels. */
typedef struct EventVocab
{
	bool		text;			/* labels (true) or integer values */
	int			n;				/* distinct events; dense ids are 1..n */
	int64	   *values;			/* integer events, ascending */
	char	  **labels;			/* text events, ascending by strcmp */
} EventVocab;

/* What a training (or evaluation) job knows about its model and data. */
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

/* Read the source through cnnrec.sequence_agg into job->ds (not finalized). */
extern void TrainLoadData(TrainJob *job);

/* Raise the cnnrec.max_train_memory error for an estimate of bytes. */
extern void TrainMemoryExceeded(TrainJob *job, uint64 bytes, const char *what);

#endif							/* CNNREC_LOAD_H */
