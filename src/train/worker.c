/*
 * worker.c
 *		Entry point of the training background worker (cnnrec_train.so).
 *
 * Life of a job (see launcher.c for the submitting side):
 *	1. Connect to the launcher's database as the role its session logged in
 *	   as, then switch to the role that called train() (pg_background's
 *	   approach: it works for NOLOGIN roles reached through SET ROLE, which
 *	   PG15 would refuse to connect as).  Take the job's liveness lock.
 *	2. If the launcher is inside a transaction block, wait for it to end; a
 *	   rolled-back job row means there is nothing to do.  Mark the job
 *	   'running' (phase 'loading').
 *	3. Loading (one transaction): check the role may still read the source,
 *	   resolve the options, read the source through cnnrec.sequence_agg
 *	   (load.c).  Commit: no snapshot is held while training.
 *	4. Training, outside any transaction: nn_trainer_run with OpenBLAS and
 *	   our own threads (which never call PostgreSQL).  Its progress callback,
 *	   on this thread between mini-batches, writes the job row in short
 *	   transactions (every epoch and every few seconds), shows the progress
 *	   in pg_stat_activity, and stops the run on cnnrec.cancel(), a query
 *	   cancel (pg_cancel_backend, or the waiting CALL being cancelled) or a
 *	   terminate request (pg_terminate_backend).
 *	5. Saving, in one transaction (save.c): the version appears atomically.
 * Any error on the way is caught: the transaction is aborted and the job is
 * marked 'failed' (or 'cancelled') with the SQLSTATE, message, detail and
 * hint, which a waiting train() re-raises.  A crash or kill -9 leaves the
 * row 'running' without its lock; jobs.c reconciles it lazily.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "jobs.h"
#include "models.h"
#include "nn/blas.h"
#include "train.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void cnnrec_train_main(Datum arg);

/* Seconds between progress writes within an epoch. */
#define PROGRESS_EVERY_SEC 3.0
/* Seconds between checks of cnnrec.jobs.cancel_requested. */
#define CANCEL_POLL_SEC 1.0

/* State of the progress callback. */
typedef struct ProgressState
{
	TrainJob   *job;
	MemoryContext cxt;			/* reset at every report */
	instr_time	last_cancel_poll;
	int			stop_reason;	/* 0, or the errcode that stops the run */
} ProgressState;

/* Start a transaction with a snapshot, as worker_spi does. */
static void
begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (activity)
		pgstat_report_activity(STATE_RUNNING, activity);
}

/* Commit the transaction started by begin_tx. */
static void
commit_tx(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Set job columns (phase and progress) in the current transaction.  metrics
 * replaces the job's metrics object; history, a JSON array of epoch lines,
 * is appended to metrics->'history', which the waiting train() reads to
 * raise exactly one NOTICE per epoch.
 */
static void
update_job(int64 job_id, const char *phase, const NnTrainProgress *p, const char *metrics,
		   const char *history)
{
	Oid			argtypes[9] = {INT8OID, TEXTOID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	JSONBOID, JSONBOID};
	Datum		values[9];
	char		nulls[9] = "         ";

	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum(phase);
	if (p == NULL)
		memset(nulls + 2, 'n', 5);
	else
	{
		values[2] = Int32GetDatum(p->epoch_end ? p->epoch : p->epoch - 1);
		values[3] = Int32GetDatum(p->epochs);
		values[4] = Float8GetDatum(p->loss);
		values[5] = Float8GetDatum(p->inst_per_sec);
		values[6] = Float8GetDatum(p->eta_sec);
		if (isnan(p->loss) || isinf(p->loss))
			nulls[4] = 'n';
	}
	if (metrics)
		values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	else
		nulls[7] = 'n';
	if (history)
		values[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(history));
	else
		nulls[8] = 'n';
	CnnrecCatalogExec("UPDATE cnnrec.jobs SET phase = $2, updated_at = pg_catalog.now(), "
					  "epoch = COALESCE($3, epoch), epochs = COALESCE($4, epochs), "
					  "loss = COALESCE($5, loss), inst_per_sec = COALESCE($6, inst_per_sec), "
					  "eta = pg_catalog.make_interval(secs => pg_catalog.round($7::pg_catalog.numeric)), "
					  "metrics = COALESCE($8, metrics, '{}'::pg_catalog.jsonb) OPERATOR(pg_catalog.||) "
					  "pg_catalog.jsonb_build_object('history', "
					  "COALESCE(metrics OPERATOR(pg_catalog.->) 'history', '[]'::pg_catalog.jsonb) "
					  "OPERATOR(pg_catalog.||) COALESCE($9, '[]'::pg_catalog.jsonb)) "
					  "WHERE job_id OPERATOR(pg_catalog.=) $1",
					  true, 9, argtypes, values, nulls, NULL);
}

/* Has cnnrec.cancel() been called for the job, or drop_model() deleted it? */
static bool
cancel_requested(int64 job_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(job_id);
	return CnnrecCatalogExec("SELECT 1 WHERE NOT EXISTS (SELECT FROM cnnrec.jobs WHERE job_id OPERATOR(pg_catalog.=) $1 "
							 "AND NOT cancel_requested)", false, 1, argtypes, values, NULL, NULL) > 0;
}

/* Map pending interrupts and cancel requests to a stop reason (0 = go on). */
static int
stop_reason(ProgressState *st, bool poll_db)
{
	if (ProcDiePending)
		return ERRCODE_ADMIN_SHUTDOWN;
	if (QueryCancelPending)
		return ERRCODE_QUERY_CANCELED;
	if (poll_db)
	{
		bool		cancel;

		begin_tx(NULL);
		cancel = cancel_requested(st->job->job_id);
		commit_tx();
		if (cancel)
			return ERRCODE_QUERY_CANCELED;
	}
	return 0;
}

/* Stop check of nn_trainer_run, between mini-batches: interrupts at once,
 * cnnrec.cancel() (a flag in the job row) at most a second late. */
static int
on_stop(void *arg)
{
	ProgressState *st = (ProgressState *) arg;
	instr_time	now;
	bool		poll;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, st->last_cancel_poll);
	poll = INSTR_TIME_GET_DOUBLE(now) >= CANCEL_POLL_SEC;
	if (poll)
		INSTR_TIME_SET_CURRENT(st->last_cancel_poll);
	st->stop_reason = stop_reason(st, poll);
	return st->stop_reason != 0;
}

/* The epoch line appended to the job's history (JSON array of one). */
static char *
epoch_line(const NnTrainProgress *p)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "[{\"epoch\": %d, \"loss\": %.6f, \"inst_per_sec\": %.1f, \"eta\": %.0f",
					 p->epoch, p->loss, p->inst_per_sec, p->eta_sec);
	if (p->has_valid)
		appendStringInfo(&s, ", \"valid_hr10\": %.6f, \"valid_ndcg10\": %.6f",
						 p->valid_hr10, p->valid_ndcg10);
	appendStringInfoString(&s, "}]");
	return s.data;
}

/* Progress callback of nn_trainer_run (this thread, between batches). */
static int
on_progress(void *arg, const NnTrainProgress *p)
{
	ProgressState *st = (ProgressState *) arg;
	char	   *activity;
	char	   *metrics = NULL;
	bool		epoch_done = p->epoch_end && p->phase != NN_TP_TESTING;
	bool		evaluating = p->phase == NN_TP_TESTING ||
		(p->phase == NN_TP_VALIDATING && !p->epoch_end);
	MemoryContext old;

	if ((st->stop_reason = stop_reason(st, false)) != 0)
		return 1;
	MemoryContextReset(st->cxt);
	old = MemoryContextSwitchTo(st->cxt);
	/* the phase leads, so pg_stat_activity shows where the worker is */
	activity = psprintf("cnnrec training job %lld: %s, epoch %d/%d, batch %lld/%lld, loss %.4f",
						(long long) st->job->job_id,
						!evaluating ? "training" :
						p->phase == NN_TP_TESTING ? "evaluating (test)" : "evaluating (validation)",
						p->epoch, p->epochs, (long long) p->batch, (long long) p->batches, p->loss);
	if (p->has_valid)
		metrics = psprintf("{\"valid\": {\"hr10\": %.6f, \"ndcg10\": %.6f, \"mrr\": %.6f}, "
						   "\"best_epoch\": %d}",
						   p->valid_hr10, p->valid_ndcg10, p->valid_mrr, p->best_epoch);
	begin_tx(activity);
	update_job(st->job->job_id, evaluating ? "evaluating" : "training", p, metrics,
			   epoch_done ? epoch_line(p) : NULL);
	commit_tx();
	pgstat_report_activity(STATE_RUNNING, activity);
	MemoryContextSwitchTo(old);
	return 0;
}

/* Raise the error that corresponds to a stop reason. */
static void
raise_stop(int64 job_id, int reason)
{
	/* the interrupt is handled here, as an ERROR the job records */
	ProcDiePending = false;
	QueryCancelPending = false;
	InterruptPending = false;
	if (reason == ERRCODE_ADMIN_SHUTDOWN)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("training job %lld was terminated", (long long) job_id),
				 errdetail("The training worker received a terminate request (pg_terminate_backend or shutdown).")));
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("training job %lld was cancelled", (long long) job_id)));
}

/* Build the trainer settings from the job's options. */
static void
trainer_settings(TrainJob *job, ProgressState *st, NnTrainSettings *s)
{
	nn_train_settings_default(s);
	s->threads = job->threads;
	s->split = job->opts.set.holdout ? NN_SPLIT_LOO : NN_SPLIT_ALL;
	s->exclude_seen = job->opts.set.exclude_seen ? 1 : 0;
	s->progress_every_sec = PROGRESS_EVERY_SEC;
	s->progress = on_progress;
	s->stop = on_stop;
	s->progress_arg = st;
	s->poison_epoch = job->opts.set.poison_epoch;
}

/* Finalize the dataset (sort, k-core, dense ids) or raise an error. */
static void
finalize_data(TrainJob *job)
{
	NnDsOptions o;
	int			rc;

	memset(&o, 0, sizeof(o));
	o.kcore = job->opts.set.kcore;
	o.dedup_repeats = job->opts.set.dedup ? 1 : 0;
	rc = nn_ds_finalize(&job->ds, &o);
	if (rc == NN_DS_EEMPTY)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no interactions left to train model \"%s\"", job->model_name),
				 errdetail("%s", job->ds.errmsg),
				 errhint("Lower the \"kcore\" option or add data.")));
	if (rc != NN_DS_OK)
		ereport(ERROR,
				(errcode(rc == NN_DS_ENOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("could not prepare the training data"),
				 errdetail("%s", job->ds.errmsg)));
}

/* The math core's lower-case message as a detail sentence. */
static char *
sentence(const char *msg)
{
	char	   *s = pstrdup(msg[0] ? msg : "no further detail");
	size_t		n = strlen(s);

	s[0] = pg_toupper((unsigned char) s[0]);
	return n > 0 && s[n - 1] == '.' ? s : psprintf("%s.", s);
}

/* Run the math core; raises the error that matches its status. */
static void
run_trainer(TrainJob *job, NnModel *model, NnTrainResult *res)
{
	ProgressState st;
	NnTrainSettings s;
	char		msg[256] = "";
	int			rc;

	uint64		need = nn_trainer_memory_estimate(&job->ds, &job->opts.cfg, job->threads);

	if (need > (uint64) job->max_memory)
		TrainMemoryExceeded(job, need, "Training");
	memset(&st, 0, sizeof(st));
	st.job = job;
	st.cxt = AllocSetContextCreate(TopMemoryContext, "cnnrec training progress",
								   ALLOCSET_SMALL_SIZES);
	INSTR_TIME_SET_CURRENT(st.last_cancel_poll);
	trainer_settings(job, &st, &s);
	rc = nn_trainer_run(&job->ds, &job->opts.cfg, &s, model, res, msg, sizeof(msg));
	MemoryContextDelete(st.cxt);
	if (rc == NN_OK)
		return;
	if (rc == NN_ERR_CANCELLED)
		raise_stop(job->job_id, st.stop_reason);
	if (rc == NN_ERR_NONFINITE)
		ereport(ERROR,
				(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
				 errmsg("training of model \"%s\" diverged: the loss became NaN or infinite", job->model_name),
				 errdetail("%s", sentence(msg)),
				 errhint("Lower the learning rate (option \"lr\") or set \"clip_norm\"; no version was stored.")));
	ereport(ERROR,
			(errcode(rc == NN_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY :
					 rc == NN_ERR_DATA ? ERRCODE_DATA_EXCEPTION :
					 rc == NN_ERR_CONFIG ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_INTERNAL_ERROR),
			 errmsg("training of model \"%s\" failed", job->model_name),
			 errdetail("%s", sentence(msg))));
}

/* Read the model definition of the job (in a transaction). */
static void
read_definition(TrainJob *job)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext old;

	values[0] = Int64GetDatum(job->job_id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT m.model_id, m.name, m.source::pg_catalog.oid, m.user_column::pg_catalog.text, "
							  "m.item_column::pg_catalog.text, m.time_column::pg_catalog.text, m.event_column::pg_catalog.text, m.options, j.options, "
							  "m.category_column::pg_catalog.text "
							  "FROM cnnrec.jobs j JOIN cnnrec.models m ON m.model_id OPERATOR(pg_catalog.=) j.model_id "
							  "WHERE j.job_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the model of training job %lld no longer exists", (long long) job->job_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(TopMemoryContext);
	job->model_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	job->model_name = SPI_getvalue(tup, desc, 2);
	job->source = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	job->user_column = SPI_getvalue(tup, desc, 4);
	job->item_column = SPI_getvalue(tup, desc, 5);
	job->time_column = SPI_getvalue(tup, desc, 6);
	job->event_column = SPI_getvalue(tup, desc, 7);
	job->category_column = SPI_getvalue(tup, desc, 10);
	CnnrecResolveOptions(&job->opts,
						 DatumGetJsonbP(SPI_getbinval(tup, desc, 8, &isnull)),
						 DatumGetJsonbP(SPI_getbinval(tup, desc, 9, &isnull)));
	MemoryContextSwitchTo(old);
	SPI_finish();
}

/* Claim the job: false if it vanished (rolled back) or was cancelled. */
static bool
claim_job(int64 job_id)
{
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2];

	values[0] = Int64GetDatum(job_id);
	values[1] = Int32GetDatum(MyProcPid);
	if (CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'running', phase = 'loading', pid = $2, "
						  "started_at = pg_catalog.now(), updated_at = pg_catalog.now() "
						  "WHERE job_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'queued' "
						  "AND NOT cancel_requested", true, 2, argtypes, values, NULL, NULL) > 0)
		return true;
	CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'cancelled', finished_at = pg_catalog.now(), "
					  "updated_at = pg_catalog.now(), error = 'training job was cancelled before it started', "
					  "error_detail = '{\"sqlstate\": \"57014\"}' "
					  "WHERE job_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'queued'",
					  true, 1, argtypes, values, NULL, NULL);
	return false;
}

/* Steps 3-5 of the file comment; raises on any failure. */
static void
run_job(TrainJob *job)
{
	NnModel		model;
	NnTrainResult res;
	int			version;

	begin_tx(psprintf("cnnrec training job %lld: loading", (long long) job->job_id));
	read_definition(job);
	CnnrecCheckSourceAccess(job->model_id);
	TrainLoadData(job);
	commit_tx();
	finalize_data(job);

	begin_tx(psprintf("cnnrec training job %lld: training", (long long) job->job_id));
	update_job(job->job_id, "training", NULL, NULL, NULL);
	commit_tx();
	memset(&model, 0, sizeof(model));
	memset(&res, 0, sizeof(res));
	run_trainer(job, &model, &res);

	/* the phase is committed on its own, so observers see the save */
	begin_tx(psprintf("cnnrec training job %lld: saving", (long long) job->job_id));
	update_job(job->job_id, "saving", NULL, NULL, NULL);
	commit_tx();
	begin_tx(psprintf("cnnrec training job %lld: saving", (long long) job->job_id));
	version = TrainSaveVersion(job, &model, &res);
	commit_tx();
	nn_model_free(&model);
	ereport(LOG,
			(errmsg("cnnrec training job %lld stored version %d of model \"%s\" (%d epochs, %.1f s)",
					(long long) job->job_id, version, job->model_name, res.epochs_run, res.train_seconds)));
}

/* Record a caught error in the job row; called in PG_CATCH. */
static void
record_failure(int64 job_id)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ErrorData  *edata = CopyErrorData();

	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(old);
	ProcDiePending = QueryCancelPending = InterruptPending = false;
	begin_tx(NULL);
	CnnrecJobFail(job_id, edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? JOB_CANCELLED : JOB_FAILED,
				  edata);
	commit_tx();
	/* keep the error in the server log too */
	edata->elevel = LOG;
	ThrowErrorData(edata);
}

/* Log a hint when OpenBLAS fell back to its generic kernels. */
static void
check_blas_kernels(void)
{
	const char *core = nn_blas_core_name();

	if (core != NULL && getenv("OPENBLAS_CORETYPE") == NULL &&
		(pg_strcasecmp(core, "prescott") == 0 || pg_strcasecmp(core, "core2") == 0 ||
		 pg_strcasecmp(core, "nehalem") == 0))
		ereport(LOG,
				(errmsg("cnnrec training uses OpenBLAS's generic \"%s\" kernels", core),
				 errhint("On a CPU with AVX2 or AVX-512 set OPENBLAS_CORETYPE=Haswell or SkylakeX in the server's environment (for example /etc/postgresql/15/main/environment) for several times faster training.")));
}

/* Background worker main; see the file comment. */
void
cnnrec_train_main(Datum arg)
{
	CnnrecWorkerArgs args;
	TrainJob	job;
	LOCKTAG		tag;
	bool		claimed;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.database, args.auth_user, 0);
	SetUserIdAndSecContext(args.run_as, SECURITY_LOCAL_USERID_CHANGE);
	pgstat_report_appname(CNNREC_WORKER_TYPE);
	SetConfigOption("max_parallel_workers_per_gather", "0", PGC_USERSET, PGC_S_OVERRIDE);

	memset(&job, 0, sizeof(job));
	job.job_id = args.job_id;
	job.threads = args.threads;
	job.max_memory = args.max_memory;
	nn_blas_set_threads(1);		/* parallelism comes from our own threads */
	check_blas_kernels();

	begin_tx(NULL);
	CnnrecJobLockTag(&tag, job.job_id);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	if (TransactionIdIsValid(args.launcher_xid))
		XactLockTableWait(args.launcher_xid, NULL, NULL, XLTW_None);
	commit_tx();
	/* a new snapshot sees the job row once the launcher has committed */
	begin_tx(NULL);
	claimed = claim_job(job.job_id);
	commit_tx();
	if (!claimed)
		proc_exit(0);

	PG_TRY();
	{
		run_job(&job);
	}
	PG_CATCH();
	{
		record_failure(job.job_id);
		proc_exit(1);
	}
	PG_END_TRY();
	proc_exit(0);
}
