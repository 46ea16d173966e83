/*
 * launcher.c
 *		CALL cnnrec.train(): submit a training job, start its background
 *		worker, and (with wait => true) relay its progress until it ends;
 *		cnnrec.cancel(job_id).
 *
 * Order of operations (pg-engineering.md §2):
 *	1. Checks as the caller: not on a standby (a worker that can never start
 *	   would be waited for forever), the model exists, the caller may train
 *	   it and may SELECT its source columns, the options are valid, and no
 *	   other job of the model is queued or running (a transaction-level lock
 *	   on the model serialises two concurrent train() calls; the second is
 *	   refused with the first job's id).
 *	2. Insert the job row ('queued') and, when CALL runs outside a
 *	   transaction block, COMMIT, so the worker sees it.  Inside a
 *	   transaction block (atomic CALL) only wait => false is allowed; the
 *	   worker then waits for the caller's transaction to end and exits if the
 *	   job row was rolled back.
 *	3. Register a dynamic background worker (no shared_preload_libraries)
 *	   from cnnrec_train.so, the only library that links OpenBLAS.  It
 *	   connects as the role the session logged in as and switches to the
 *	   calling role, so it reads the source with the caller's privileges.
 *	4. wait => true: poll the job row every 250 ms, committing between polls
 *	   so no snapshot is held for the hours a training may take; one NOTICE
 *	   per epoch; the worker's error is re-raised with its SQLSTATE, detail
 *	   and hint.  A cancel of the waiting CALL (Ctrl-C, statement_timeout)
 *	   cancels the job too.
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "cnnrec.h"
#include "jobs.h"
#include "models.h"
#include "options.h"

CNNREC_FUNCTION(cnnrec_train);
CNNREC_FUNCTION(cnnrec_cancel);

#define POLL_MS 250

/* The model row the launcher needs. */
typedef struct ModelRow
{
	int64		model_id;
	Oid			owner;
	Jsonb	   *options;
} ModelRow;

/* The job row as polled. */
typedef struct JobRow
{
	char	   *status;
	char	   *phase;
	char	   *error;
	char	   *sqlstate;
	char	   *detail;
	char	   *hint;
	int			version;
	bool		active;			/* the new version is the active one */
} JobRow;

/* Read the model row of name (owner, options), or error. */
static ModelRow
read_model(const char *name)
{
	ModelRow	row;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	MemoryContext callercxt = CurrentMemoryContext;

	values[0] = CStringGetTextDatum(name);
	SPI_connect();
	if (SPI_execute_with_args("SELECT model_id, owner::pg_catalog.oid, options FROM cnnrec.models "
							  "WHERE name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Define it first with cnnrec.create_model().")));
	row.model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	row.owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	/* copy out of SPI's memory, which SPI_finish releases */
	callercxt = MemoryContextSwitchTo(callercxt);
	row.options = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	MemoryContextSwitchTo(callercxt);
	SPI_finish();
	return row;
}

/* Refuse if another job of the model is queued or running. */
static void
check_not_training(const char *name, int64 model_id)
{
	LOCKTAG		tag;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		other = 0;

	/* serialise concurrent submissions for this model until commit */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) model_id >> 32),
						 (uint32) model_id, 0xC4ED);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	CnnrecJobsReconcile(model_id);
	values[0] = Int64GetDatum(model_id);
	/*
	 * Look with the latest snapshot: under REPEATABLE READ the transaction
	 * snapshot predates the lock and would miss a job committed meanwhile.
	 */
	SPI_connect();
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT job_id FROM cnnrec.jobs WHERE model_id OPERATOR(pg_catalog.=) $1 "
									   "AND status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']) "
									   "ORDER BY job_id LIMIT 1", 1, argtypes);
		bool		isnull;

		if (SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
								 true, false, 1) == SPI_OK_SELECT && SPI_processed > 0)
			other = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (other > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("model \"%s\" is already being trained by job %lld", name, (long long) other),
				 errhint("Wait for that job to end, or stop it with cnnrec.cancel(%lld).", (long long) other)));
}

/* Check the caller may train the model: owner (or member of it). */
static void
check_may_train(const char *name, const ModelRow *m)
{
	if (!has_privs_of_role(GetUserId(), m->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train model \"%s\"", name),
				 errdetail("The model is owned by role \"%s\".", GetUserNameFromId(m->owner, false)),
				 errhint("Ask its owner to grant you membership in that role.")));
}

/* Register the worker for job_id; returns its handle. */
static BackgroundWorkerHandle *
launch_worker(int64 job_id, int threads)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	CnnrecWorkerArgs args;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(w.bgw_library_name, CNNREC_TRAIN_LIBRARY, BGW_MAXLEN);
	strlcpy(w.bgw_function_name, CNNREC_TRAIN_FUNCTION, BGW_MAXLEN);
	snprintf(w.bgw_name, BGW_MAXLEN, "cnnrec training job %lld", (long long) job_id);
	strlcpy(w.bgw_type, CNNREC_WORKER_TYPE, BGW_MAXLEN);
	w.bgw_notify_pid = MyProcPid;

	memset(&args, 0, sizeof(args));
	args.database = MyDatabaseId;
	args.auth_user = GetAuthenticatedUserId();
	GetUserIdAndSecContext(&args.run_as, &args.sec_context);
	args.job_id = job_id;
	args.launcher_xid = GetTopTransactionIdIfAny();
	args.threads = threads;
	args.max_memory = (int64) cnnrec_max_train_memory * 1024;
	StaticAssertStmt(sizeof(args) <= BGW_EXTRALEN, "worker arguments too large");
	memcpy(w.bgw_extra, &args, sizeof(args));

	if (!RegisterDynamicBackgroundWorker(&w, &handle))
		return NULL;
	return handle;
}

/* Raise the no-slot error (after failing the committed job row). */
static void
no_worker_slot(int64 job_id, bool atomic)
{
	if (!atomic)
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(job_id)};

		CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'failed', finished_at = pg_catalog.now(), "
						  "updated_at = pg_catalog.now(), error = 'could not register background process', "
						  "error_detail = '{\"sqlstate\": \"53000\"}' WHERE job_id OPERATOR(pg_catalog.=) $1",
						  true, 1, argtypes, values, NULL, NULL);
		SPI_commit();
	}
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not register background process"),
				 errhint("You may need to increase max_worker_processes.")));
}

/* Poll the job row. */
static JobRow
read_job(int64 job_id)
{
	JobRow		r;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *s;

	memset(&r, 0, sizeof(r));
	values[0] = Int64GetDatum(job_id);
	if (SPI_execute_with_args("SELECT status, phase, error, "
							  "error_detail OPERATOR(pg_catalog.->>) 'sqlstate', "
							  "error_detail OPERATOR(pg_catalog.->>) 'detail', "
							  "error_detail OPERATOR(pg_catalog.->>) 'hint', version, "
							  "(SELECT v.active FROM cnnrec.model_versions v WHERE v.model_id OPERATOR(pg_catalog.=) j.model_id "
							  "AND v.version OPERATOR(pg_catalog.=) j.version) "
							  "FROM cnnrec.jobs j WHERE job_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.jobs");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("training job %lld no longer exists", (long long) job_id),
				 errdetail("Its model was dropped while it was being trained.")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	r.status = SPI_getvalue(tup, desc, 1);
	r.phase = SPI_getvalue(tup, desc, 2);
	r.error = SPI_getvalue(tup, desc, 3);
	r.sqlstate = SPI_getvalue(tup, desc, 4);
	r.detail = SPI_getvalue(tup, desc, 5);
	r.hint = SPI_getvalue(tup, desc, 6);
	r.version = (s = SPI_getvalue(tup, desc, 7)) ? atoi(s) : 0;
	r.active = (s = SPI_getvalue(tup, desc, 8)) && s[0] == 't';
	return r;
}

/* One NOTICE per finished epoch not shown yet (from the job's history);
 * returns the last epoch shown. */
static int
notice_epochs(int64 job_id, int shown)
{
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2];
	uint64		i;

	values[0] = Int64GetDatum(job_id);
	values[1] = Int32GetDatum(shown);
	if (SPI_execute_with_args("SELECT (h OPERATOR(pg_catalog.->>) 'epoch')::pg_catalog.int4, j.epochs, "
							  "(h OPERATOR(pg_catalog.->>) 'loss')::pg_catalog.float8, "
							  "(h OPERATOR(pg_catalog.->>) 'valid_hr10')::pg_catalog.float8, "
							  "(h OPERATOR(pg_catalog.->>) 'valid_ndcg10')::pg_catalog.float8, "
							  "(h OPERATOR(pg_catalog.->>) 'inst_per_sec')::pg_catalog.float8, "
							  "pg_catalog.make_interval(secs => (h OPERATOR(pg_catalog.->>) 'eta')::pg_catalog.float8)::pg_catalog.text "
							  "FROM cnnrec.jobs j, pg_catalog.jsonb_array_elements("
							  "COALESCE(j.metrics OPERATOR(pg_catalog.->) 'history', '[]'::pg_catalog.jsonb)) h "
							  "WHERE j.job_id OPERATOR(pg_catalog.=) $1 "
							  "AND (h OPERATOR(pg_catalog.->>) 'epoch')::pg_catalog.int4 OPERATOR(pg_catalog.>) $2 ORDER BY 1",
							  2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.jobs");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		StringInfoData m;
		char	   *hr = SPI_getvalue(tup, desc, 4);

		initStringInfo(&m);
		shown = atoi(SPI_getvalue(tup, desc, 1));
		appendStringInfo(&m, "epoch %d/%s: loss %.4f", shown, SPI_getvalue(tup, desc, 2),
						 strtod(SPI_getvalue(tup, desc, 3), NULL));
		if (hr != NULL)
			appendStringInfo(&m, ", valid HR@10 %.4f, NDCG@10 %.4f", strtod(hr, NULL),
							 strtod(SPI_getvalue(tup, desc, 5), NULL));
		appendStringInfo(&m, ", %.0f inst/s, ETA %s", strtod(SPI_getvalue(tup, desc, 6), NULL),
						 SPI_getvalue(tup, desc, 7));
		ereport(NOTICE, (errmsg("training job %lld: %s", (long long) job_id, m.data)));
	}
	return shown;
}

/* Re-raise a failed or cancelled job's error in the caller. */
static void
raise_job_error(int64 job_id, const JobRow *r)
{
	int			code = ERRCODE_QUERY_CANCELED;

	if (r->sqlstate && strlen(r->sqlstate) == 5)
		code = MAKE_SQLSTATE(r->sqlstate[0], r->sqlstate[1], r->sqlstate[2],
							 r->sqlstate[3], r->sqlstate[4]);
	else if (strcmp(r->status, JOB_FAILED) == 0)
		code = ERRCODE_INTERNAL_ERROR;
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", r->error ? r->error : "training job was cancelled"),
			 r->detail ? errdetail_internal("%s", r->detail) : 0,
			 r->hint ? errhint("%s", r->hint) : 0,
			 errcontext("cnnrec training job %lld", (long long) job_id)));
}

/* Wait for the job to end, relaying progress; commits between polls. */
static void
wait_for_job(int64 job_id, BackgroundWorkerHandle *worker)
{
	BackgroundWorkerHandle *volatile handle = worker;
	MemoryContext pollcxt = AllocSetContextCreate(CurrentMemoryContext,
												  "cnnrec train poll",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext oldcxt = CurrentMemoryContext;
	int			last_epoch = 0;
	char		last_phase[16] = "";
	volatile pid_t worker_pid = 0;

	PG_TRY();
	{
		for (;;)
		{
			JobRow		r;
			pid_t		pid;
			bool		gone = (handle != NULL &&
								GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED);

			if (handle != NULL && !gone)
				worker_pid = pid;
			MemoryContextReset(pollcxt);
			MemoryContextSwitchTo(pollcxt);
			r = read_job(job_id);
			MemoryContextSwitchTo(oldcxt);
			last_epoch = notice_epochs(job_id, last_epoch);
			/* loading and saving get a line; training and evaluating show as epochs */
			if (r.phase && strcmp(r.phase, last_phase) != 0 &&
				strcmp(r.phase, "training") != 0 && strcmp(r.phase, "evaluating") != 0)
				ereport(NOTICE, (errmsg("training job %lld: %s", (long long) job_id, r.phase)));
			strlcpy(last_phase, r.phase ? r.phase : "", sizeof(last_phase));
			if (strcmp(r.status, JOB_SUCCEEDED) == 0)
			{
				ereport(NOTICE,
						(errmsg("training job %lld succeeded: version %d %s",
								(long long) job_id, r.version,
								r.active ? "is now active" : "was stored but not deployed"),
						 r.active ? 0 : errhint("The active version was kept (option \"deploy\", or its validation NDCG@10 is better); switch with cnnrec.deploy().")));
				break;
			}
			if (strcmp(r.status, JOB_FAILED) == 0 || strcmp(r.status, JOB_CANCELLED) == 0)
				raise_job_error(job_id, &r);
			if (gone)
			{
				/* the worker exited; if it left no final status, record one */
				CnnrecJobsReconcile(0);
				if (strcmp(r.status, JOB_QUEUED) == 0)
				{
					Oid			argtypes[1] = {INT8OID};
					Datum		values[1] = {Int64GetDatum(job_id)};

					CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'failed', finished_at = pg_catalog.now(), "
									  "updated_at = pg_catalog.now(), "
									  "error = 'training worker exited before it started the job; see the server log' "
									  "WHERE job_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'queued'",
									  true, 1, argtypes, values, NULL, NULL);
				}
				handle = NULL;
				worker_pid = 0;
				continue;
			}
			SPI_commit();
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		/* the CALL was cancelled or failed: cancel the job as well */
		if (worker_pid > 0)
			kill(worker_pid, SIGINT);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(pollcxt);
}

/* Number of training threads: cnnrec.train_threads, else online CPUs. */
static int
resolve_threads(const CnnrecOptions *opts)
{
	long		ncpu;

	if (opts->set.threads > 0)
		return opts->set.threads;
	if (cnnrec_train_threads > 0)
		return cnnrec_train_threads;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	return ncpu < 1 ? 1 : (ncpu > 8 ? 8 : (int) ncpu);
}

/* Build the procedure's result row (the INOUT job_id). */
static Datum
result_row(FunctionCallInfo fcinfo, int64 job_id)
{
	TupleDesc	desc;
	Datum		values[1];
	bool		nulls[1] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "cnnrec.train must return a row");
	desc = BlessTupleDesc(desc);
	values[0] = Int64GetDatum(job_id);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/*
 * CALL cnnrec.train(name, options, wait, INOUT job_id): see the file comment.
 */
Datum
cnnrec_train(PG_FUNCTION_ARGS)
{
	bool		atomic = true;
	char	   *name;
	Jsonb	   *options;
	bool		wait;
	ModelRow	model;
	CnnrecOptions opts;
	int64		job_id;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	if (fcinfo->context && IsA(fcinfo->context, CallContext))
		atomic = castNode(CallContext, fcinfo->context)->atomic;
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train a model during recovery"),
				 errhint("Train on the primary; standbys serve the trained models it replicates.")));
	CnnrecRequireArg(fcinfo, 0, "name");
	CnnrecRequireArg(fcinfo, 1, "options");
	CnnrecRequireArg(fcinfo, 2, "wait");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	options = PG_GETARG_JSONB_P_COPY(1);
	wait = PG_GETARG_BOOL(2);
	if (atomic && wait)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cnnrec.train() with wait => true cannot run inside a transaction block"),
				 errhint("Use CALL outside BEGIN ... COMMIT, or pass wait => false and watch cnnrec.jobs.")));

	model = read_model(name);
	check_may_train(name, &model);
	CnnrecCheckSourceAccess(model.model_id);
	CnnrecResolveOptions(&opts, model.options, options);
	check_not_training(name, model.model_id);
	job_id = CnnrecJobInsert(model.model_id, name, options);

	if (!atomic)
	{
		SPI_connect_ext(SPI_OPT_NONATOMIC);
		SPI_commit();
	}
	handle = launch_worker(job_id, resolve_threads(&opts));
	if (handle == NULL)
		no_worker_slot(job_id, atomic);
	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while starting the training worker")));
	if (wait)
	{
		wait_for_job(job_id, handle);
		SPI_finish();
	}
	else if (!atomic)
		SPI_finish();
	PG_RETURN_DATUM(result_row(fcinfo, job_id));
}

/*
 * cnnrec.cancel(job_id) returns true if the job was queued or running and
 * is now being cancelled.  Allowed to the role that submitted the job and
 * the model's owner (and members of those roles).
 */
Datum
cnnrec_cancel(PG_FUNCTION_ARGS)
{
	int64		job_id;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		run_as = 0,
				owner = 0,
				done;

	CnnrecRequireArg(fcinfo, 0, "job_id");
	job_id = PG_GETARG_INT64(0);
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot cancel a training job during recovery"),
				 errhint("Training runs on the primary; cancel the job there.")));
	values[0] = Int64GetDatum(job_id);
	if (CnnrecCatalogExec("SELECT j.run_as::pg_catalog.oid::pg_catalog.int8 FROM cnnrec.jobs j "
						  "WHERE j.job_id OPERATOR(pg_catalog.=) $1",
						  false, 1, argtypes, values, NULL, &run_as) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("training job %lld does not exist", (long long) job_id)));
	(void) CnnrecCatalogExec("SELECT m.owner::pg_catalog.oid::pg_catalog.int8 FROM cnnrec.jobs j "
							 "JOIN cnnrec.models m ON m.model_id OPERATOR(pg_catalog.=) j.model_id WHERE j.job_id OPERATOR(pg_catalog.=) $1",
							 false, 1, argtypes, values, NULL, &owner);
	if (!has_privs_of_role(GetUserId(), (Oid) run_as) &&
		!(owner != 0 && has_privs_of_role(GetUserId(), (Oid) owner)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to cancel training job %lld", (long long) job_id),
				 errhint("Only the role that started the job and the model's owner may cancel it.")));
	CnnrecJobsReconcile(0);
	done = CnnrecCatalogExec("UPDATE cnnrec.jobs SET cancel_requested = true, updated_at = pg_catalog.now() "
							 "WHERE job_id OPERATOR(pg_catalog.=) $1 "
							 "AND status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running'])",
							 true, 1, argtypes, values, NULL, NULL);
	if (done > 0 && CnnrecJobWorkerAlive(job_id))
	{
		int64		pid = 0;

		(void) CnnrecCatalogExec("SELECT pid::pg_catalog.int8 FROM cnnrec.jobs WHERE job_id OPERATOR(pg_catalog.=) $1",
								 false, 1, argtypes, values, NULL, &pid);
		if (pid > 0)
			kill((pid_t) pid, SIGINT);
	}
	PG_RETURN_BOOL(done > 0);
}
