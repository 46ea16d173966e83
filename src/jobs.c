/*
 * jobs.c
 *		Rows of cnnrec.jobs and the liveness lock of their workers.
 *
 * A training worker takes a session-level lock on its job (an advisory-lock
 * tag in a key space of its own, so user advisory locks cannot collide)
 * before it marks the job 'running', and holds it until it exits.  A crash,
 * kill -9, immediate shutdown or pg_terminate_backend during SQL leaves the
 * row 'running' with nobody holding the lock; CnnrecJobsReconcile() finds
 * such rows lazily (when a job is submitted, waited on or cancelled) and
 * marks them failed, as pg_cron's MarkPendingRunsAsFailed does at startup.
 * A 'queued' row whose worker never started (the server restarted between
 * launch and start) is failed the same way after a grace period.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "catalog.h"
#include "jobs.h"

/* Distinguishes our lock tags from user advisory locks (field4 1 and 2). */
#define CNNREC_LOCK_FIELD4	0xC4EC

/* Fill the lock tag of job_id's worker. */
void
CnnrecJobLockTag(LOCKTAG *tag, int64 job_id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) job_id >> 32),
						 (uint32) job_id, CNNREC_LOCK_FIELD4);
}

/* Is the job's lock held, i.e. is its worker alive? */
bool
CnnrecJobWorkerAlive(int64 job_id)
{
	LOCKTAG		tag;

	CnnrecJobLockTag(&tag, job_id);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, false);
	return false;
}

/* Insert a queued job row as the extension owner; returns the job id. */
int64
CnnrecJobInsert(int64 model_id, const char *model, Jsonb *options)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, OIDOID, JSONBOID};
	Datum		values[4];
	int64		job_id = 0;

	values[0] = Int64GetDatum(model_id);
	values[1] = CStringGetTextDatum(model);
	values[2] = ObjectIdGetDatum(GetUserId());
	values[3] = JsonbPGetDatum(options);
	CnnrecCatalogExec("INSERT INTO cnnrec.jobs (model_id, model, run_as, options) "
					  "VALUES ($1, $2, $3::pg_catalog.oid::pg_catalog.regrole, $4) "
					  "RETURNING job_id",
					  true, 4, argtypes, values, NULL, &job_id);
	return job_id;
}

/* Fail one job whose worker is gone. */
static void
fail_dead_job(int64 job_id, const char *why)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum(why);
	CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'failed', finished_at = pg_catalog.now(), "
					  "updated_at = pg_catalog.now(), error = $2 "
					  "WHERE job_id OPERATOR(pg_catalog.=) $1 "
					  "AND status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running'])",
					  true, 2, argtypes, values, NULL, NULL);
}

/* Mark jobs whose worker died failed; see the file comment. */
void
CnnrecJobsReconcile(int64 model_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64	   *ids;
	bool	   *queued;
	int			n,
				i;

	values[0] = Int64GetDatum(model_id);
	SPI_connect();
	/* a queued job gets a grace period for its worker to start and lock */
	if (SPI_execute_with_args("SELECT job_id, status OPERATOR(pg_catalog.=) 'queued' "
							  "FROM cnnrec.jobs WHERE (status OPERATOR(pg_catalog.=) 'running' "
							  "OR (status OPERATOR(pg_catalog.=) 'queued' AND submitted_at OPERATOR(pg_catalog.<) "
							  "(pg_catalog.now() OPERATOR(pg_catalog.-) interval '2 minutes'))) "
							  "AND ($1 OPERATOR(pg_catalog.=) 0 OR model_id OPERATOR(pg_catalog.=) $1)",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.jobs");
	n = (int) SPI_processed;
	ids = palloc(sizeof(int64) * (n + 1));
	queued = palloc(sizeof(bool) * (n + 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		queued[i] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	for (i = 0; i < n; i++)
	{
		if (CnnrecJobWorkerAlive(ids[i]))
			continue;
		if (queued[i])
			fail_dead_job(ids[i], "training worker never started (server restarted or no worker slot)");
		else
			fail_dead_job(ids[i], "training worker exited unexpectedly (terminated, crashed or server restarted)");
	}
}

/* Record a failed or cancelled job with the fields of edata. */
void
CnnrecJobFail(int64 job_id, const char *status, ErrorData *edata)
{
	Oid			argtypes[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = "       ";

	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
	values[3] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
	if (edata->detail)
		values[4] = CStringGetTextDatum(edata->detail);
	else
		nulls[4] = 'n';
	if (edata->hint)
		values[5] = CStringGetTextDatum(edata->hint);
	else
		nulls[5] = 'n';
	if (edata->context)
		values[6] = CStringGetTextDatum(edata->context);
	else
		nulls[6] = 'n';
	CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = $2, finished_at = pg_catalog.now(), "
					  "updated_at = pg_catalog.now(), error = $3, "
					  "error_detail = pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
					  "'sqlstate', $4, 'detail', $5, 'hint', $6, 'context', $7)) "
					  "WHERE job_id OPERATOR(pg_catalog.=) $1",
					  true, 7, argtypes, values, nulls, NULL);
}
