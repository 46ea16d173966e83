/*
 * cnnrec.h
 *		Declarations shared by the PostgreSQL glue files of cnnrec.so.
 */
#ifndef CNNREC_H
#define CNNREC_H

#include "postgres.h"
#include "fmgr.h"

/*
 * Declare an SQL-callable function.  The library is built with hidden symbol
 * visibility, and PG15's PG_FUNCTION_INFO_V1 does not mark the function
 * itself as exported, so this adds the PGDLLEXPORT declaration.
 */
#define CNNREC_FUNCTION(name) \
	PG_FUNCTION_INFO_V1(name); \
	extern PGDLLEXPORT Datum name(PG_FUNCTION_ARGS)

/* guc.c */
extern int	cnnrec_train_threads;
extern int	cnnrec_max_train_memory;
extern char *cnnrec_default_model;
extern bool cnnrec_enable_sequence_grouping;
extern void CnnrecGucInit(void);

/* seq_group.c */
extern void CnnrecSeqGroupInit(void);

#endif							/* CNNREC_H */
