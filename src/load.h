/*
 * load.h
 *		Reading a model's source relation into the math core's dataset,
 *		shared by the training worker and cnnrec.evaluate().
 */
#ifndef CNNREC_LOAD_H
#define CNNREC_LOAD_H

#include "postgres.h"

#include "catalog/pg_type.h"

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
	char	   *category_column;	/* item categories; NULL if none */
	CnnrecOptions opts;			/* effective options */
	int			threads;
	int64		max_memory;		/* bytes (cnnrec.max_train_memory) */

	/* filled by load.c */
	NnDataset	ds;
	EventVocab	vocab;
	int64		rows_read;
	double		load_seconds;
} TrainJob;

/* Does a time column of this base type carry a clock (not a plain order)? */
static inline bool
CnnrecClockType(Oid typid)
{
	return typid == TIMESTAMPTZOID || typid == TIMESTAMPOID || typid == DATEOID;
}

/* Is an event column of this base type text (labels) rather than integers? */
static inline bool
CnnrecTextType(Oid typid)
{
	return typid == TEXTOID || typid == VARCHAROID;
}

/*
 * "SELECT user::int8, cnnrec.sequence_agg(item::int8, time, event) FROM
 * source WHERE user IS NOT NULL GROUP BY 1" for a model's source, with
 * quoted identifiers and the casts the aggregate's signatures need (event
 * column NULL: none).  Training, evaluation and recommend_all read with it.
 */
extern char *CnnrecSequenceQuery(Oid source, const char *user_column, const char *item_column,
								 const char *time_column, const char *event_column);

/* Read the source through cnnrec.sequence_agg into job->ds (not finalized). */
extern void TrainLoadData(TrainJob *job);

/* Raise the cnnrec.max_train_memory error for an estimate of bytes. */
extern void TrainMemoryExceeded(TrainJob *job, uint64 bytes, const char *what);

#endif							/* CNNREC_LOAD_H */
