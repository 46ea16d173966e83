/*
 * catalog.h
 *		Access to the cnnrec catalog tables (models, versions, jobs).
 *
 * Compiled into both libraries (cnnrec.so and the worker's cnnrec_train.so).
 */
#ifndef CNNREC_CATALOG_H
#define CNNREC_CATALOG_H

#include "postgres.h"
#include "fmgr.h"

/* Raise an error naming the argument if argument argno is NULL. */
extern void CnnrecRequireArg(FunctionCallInfo fcinfo, int argno, const char *name);

/* The role owning the extension (catalog writes run with its rights). */
extern Oid	CnnrecExtensionOwner(void);

/*
 * Run one SQL statement inside the current transaction; values are
 * parameters, never spliced into the text.  With elevate, it runs with the
 * extension owner's rights (the narrow elevation pg_cron uses for writes to
 * tables PUBLIC may not write).  Returns SPI_processed; with result != NULL
 * and a row returned, the first column of the first row (bigint or integer)
 * is stored in *result.
 */
extern uint64 CnnrecCatalogExec(const char *sql, bool elevate, int nargs,
								Oid *argtypes, Datum *values, const char *nulls,
								int64 *result);

/* The model id of name; 0 if missing_ok and there is none, else an error. */
extern int64 CnnrecModelIdByName(const char *name, bool missing_ok);

#endif							/* CNNREC_CATALOG_H */
