/*
 * cnnrec.c
 *		Module entry point of cnnrec.so: module magic and _PG_init.
 *
 * cnnrec.so is the library every backend loads for the sequence type and
 * aggregates, the synthetic data generator and (later) serving.  It never
 * links BLAS: a BLAS thread pool in every backend would multiply threads by
 * connections (see docs on OpenBLAS in README).  No shared memory is
 * requested, so shared_preload_libraries is not needed.
 */
#include "postgres.h"

#include "cnnrec.h"
#include "model_cache.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

/* Called once when a backend loads the library. */
void
_PG_init(void)
{
	CnnrecGucInit();
	CnnrecModelCacheInit();
	CnnrecSeqGroupInit();
}
