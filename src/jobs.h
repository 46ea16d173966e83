/*
 * jobs.h
 *		Training jobs: the rows of cnnrec.jobs, the lock that proves a job's
 *		worker is alive, and the arguments passed to the worker.
 *
 * Compiled into both libraries: cnnrec.so (the launcher, cancel, and lazy
 * reconciliation) and cnnrec_train.so (the worker's status updates).
 */
#ifndef CNNREC_JOBS_H
#define CNNREC_JOBS_H

#include "postgres.h"

#include "storage/lock.h"
#include "utils/elog.h"
#include "utils/jsonb.h"

/* Worker entry point, in cnnrec_train.so. */
#define CNNREC_TRAIN_LIBRARY	"cnnrec_train"
#define CNNREC_TRAIN_FUNCTION	"cnnrec_train_main"
#define CNNREC_WORKER_TYPE		"cnnrec training"

/* Passed to the worker through bgw_extra (at most BGW_EXTRALEN bytes). */
typedef struct CnnrecWorkerArgs
{
	Oid			database;		/* database to connect to */
	Oid			auth_user;		/* role the launcher's session logged in as */
	Oid			run_as;			/* role whose privileges training uses */
	int			sec_context;	/* launcher's security context */
	int64		job_id;
	TransactionId launcher_xid; /* transaction that inserted the job row */
	int			threads;		/* resolved cnnrec.train_threads */
	int64		max_memory;		/* cnnrec.max_train_memory in bytes */
} CnnrecWorkerArgs;

/* Job states and phases, as stored. */
#define JOB_QUEUED		"queued"
#define JOB_RUNNING		"running"
#define JOB_SUCCEEDED	"succeeded"
#define JOB_FAILED		"failed"
#define JOB_CANCELLED	"cancelled"

/* The lock a job's worker holds for its whole life (session level). */
extern void CnnrecJobLockTag(LOCKTAG *tag, int64 job_id);

/* Is the worker of job_id alive (its lock is held)? */
extern bool CnnrecJobWorkerAlive(int64 job_id);

/* Insert a queued job row; returns its id. */
extern int64 CnnrecJobInsert(int64 model_id, const char *model, Jsonb *options);

/* Mark dead 'running' jobs (and long-queued ones) failed; model_id 0 = all. */
extern void CnnrecJobsReconcile(int64 model_id);

/* Record a failure (error fields from edata) for job_id. */
extern void CnnrecJobFail(int64 job_id, const char *status, ErrorData *edata);

#endif							/* CNNREC_JOBS_H */
