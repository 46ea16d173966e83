/*
 * evaluate.c
 *		cnnrec.evaluate() and cnnrec.evaluate_groups(): offline evaluation of
 *		a stored version inside the database (model-spec.md §6).
 *
 * The model's source is read again through cnnrec.sequence_agg (load.c)
 * with the caller's privileges, filtered and split exactly as training did
 * (the version's stored options: k-core, dedup; chronological
 * leave-last-out: each user's last event is the test target, the one
 * before it validation), and every evaluated user's test target is ranked
 * among all items (full ranking, pessimistic ties) by the same code that
 * computed the metrics stored at training time (nn_evaluate_model), next to
 * the most-popular baseline on the same split.  Items and users are matched
 * to the model by their external ids, so the source may have grown since:
 * items the model does not know rank last, unknown users use the UNKNOWN
 * embedding.  When the data did not change, the result equals the stored
 * test metrics.  The sampled-100 variant is available, labelled, never the
 * default (Krichene & Rendle: sampled metrics can disagree with full ones).
 *
 * evaluate_groups() splits the test users into "target new to the user"
 * and "target seen before in the history": on logs where users come back
 * to items, excluding seen items leaks the answer for the second group, so
 * there exclude_seen should be off and both groups reported.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "catalog.h"
#include "cnnrec.h"
#include "load.h"
#include "model_cache.h"
#include "models.h"
#include "nn/trainer.h"

CNNREC_FUNCTION(cnnrec_evaluate);
CNNREC_FUNCTION(cnnrec_evaluate_groups);

/* The version row an evaluation needs. */
typedef struct EvalVersion
{
	int32		version;
	int64		weights_bytes;
	int64		crc;
	Jsonb	   *options;
} EvalVersion;

/* Read the job's model definition and the version (NULL: the active one). */
static EvalVersion
read_version(TrainJob *job, const char *name, bool has_version, int32 version)
{
	EvalVersion v;
	Oid			argtypes[3] = {TEXTOID, INT4OID, BOOLOID};
	Datum		values[3];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext callercxt = CurrentMemoryContext;

	memset(&v, 0, sizeof(v));
	job->model_id = CnnrecModelIdByName(name, false);
	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(has_version ? version : 0);
	values[2] = BoolGetDatum(has_version);
	SPI_connect();
	if (SPI_execute_with_args("SELECT v.version, v.weights_bytes, v.weights_crc32c, v.options, "
							  "m.source::pg_catalog.oid, m.user_column::pg_catalog.text, m.item_column::pg_catalog.text, "
							  "m.time_column::pg_catalog.text, m.event_column::pg_catalog.text "
							  "FROM cnnrec.models m JOIN cnnrec.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.model_id "
							  "WHERE m.name OPERATOR(pg_catalog.=) $1 AND CASE WHEN $3 "
							  "THEN v.version OPERATOR(pg_catalog.=) $2 ELSE v.active END",
							  3, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.model_versions");
	if (SPI_processed == 0 && has_version)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, name)));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no active version", name),
				 errhint("Name a version, or train the model with CALL cnnrec.train('%s').", name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	callercxt = MemoryContextSwitchTo(callercxt);
	v.version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	v.weights_bytes = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	v.crc = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	v.options = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
	job->source = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	job->user_column = SPI_getvalue(tup, desc, 6);
	job->item_column = SPI_getvalue(tup, desc, 7);
	job->time_column = SPI_getvalue(tup, desc, 8);
	job->event_column = SPI_getvalue(tup, desc, 9);
	MemoryContextSwitchTo(callercxt);
	SPI_finish();
	return v;
}

/* Dense model ids of the dataset's users and items (0 = unknown). */
static void
build_maps(const NnDataset *ds, const NnBlob *blob, int32 **item_map, int32 **user_map)
{
	int32		i;

	*item_map = palloc0(sizeof(int32) * ds->n_items);
	*user_map = palloc0(sizeof(int32) * ds->n_users);
	for (i = 1; i < ds->n_items; i++)
		(*item_map)[i] = nn_blob_item_id(&blob->maps, ds->item_ext[i]);
	for (i = 1; i < ds->n_users; i++)
		(*user_map)[i] = nn_blob_user_id(&blob->maps, ds->user_ext[i]);
}

/* Load, split and evaluate; fills the model and popularity reports. */
static void
run_evaluation(FunctionCallInfo fcinfo, int32 *k, NnEvalReport *model_rep,
			   NnEvalReport *pop_rep, const char **protocol)
{
	char	   *name;
	TrainJob	job;
	EvalVersion v;
	NnBlob		blob;
	NnDsSplit	sp;
	NnDsOptions dso;
	NnEvalOptions o;
	int32	   *item_map,
			   *user_map;
	int			rc;

	CnnrecRequireArg(fcinfo, 0, "name");
	CnnrecRequireArg(fcinfo, 2, "k");
	CnnrecRequireArg(fcinfo, 4, "sampled");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	*k = PG_GETARG_INT32(2);
	if (*k < 1 || *k > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 1000"),
				 errdetail("k was %d.", *k)));
	memset(&job, 0, sizeof(job));
	job.model_name = name;
	job.max_memory = (int64) cnnrec_max_train_memory * 1024;
	v = read_version(&job, name, !PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1));
	CnnrecCheckSourceAccess(job.model_id);
	CnnrecResolveOptions(&job.opts, v.options, NULL);
	memset(&blob, 0, sizeof(blob));
	CnnrecReadBlob(name, job.model_id, v.version, v.weights_bytes, v.crc, &blob);

	PG_TRY();
	{
		TrainLoadData(&job);
		memset(&dso, 0, sizeof(dso));
		dso.kcore = job.opts.set.kcore;
		dso.dedup_repeats = job.opts.set.dedup ? 1 : 0;
		if (nn_ds_finalize(&job.ds, &dso) != NN_DS_OK ||
			nn_ds_split(&job.ds, NN_SPLIT_LOO, &sp) != NN_DS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("could not prepare the evaluation data of model \"%s\"", name),
					 errdetail("%s", job.ds.errmsg)));
		build_maps(&job.ds, &blob, &item_map, &user_map);
		nn_eval_options_default(&o);
		o.phase = NN_PHASE_TEST;
		o.exclude_history = PG_ARGISNULL(3) ? job.opts.set.exclude_seen : PG_GETARG_BOOL(3);
		o.n_sampled = PG_GETARG_BOOL(4) ? 100 : 0;
		o.seed = blob.model.cfg.seed;
		o.n_k = 1;
		o.k[0] = *k;
		nn_eval_report_init(model_rep, o.k, 1);
		nn_eval_report_init(pop_rep, o.k, 1);
		rc = nn_evaluate_model(&sp, &blob.model, item_map, user_map, &o, model_rep);
		if (rc == NN_OK && nn_eval_mostpop(&sp, &o, pop_rep) != NN_EVAL_OK)
			rc = NN_ERR_BATCH;
		if (rc != NN_OK)
			elog(ERROR, "evaluation of model \"%s\" failed: %s", name, nn_strerror(rc));
		*protocol = o.n_sampled ? "sampled-100 (uniform; not comparable with full ranking)" :
			(o.exclude_history ? "full ranking, history excluded" : "full ranking, history included");
		nn_ds_split_free(&sp);
	}
	PG_FINALLY();
	{
		nn_ds_free(&job.ds);
		nn_blob_free(&blob);
	}
	PG_END_TRY();
}

/* One result row for a group of users. */
static void
put_row(FunctionCallInfo fcinfo, const char *group, int32 k, const NnMetricAcc *m,
		const NnMetricAcc *p, const char *protocol)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NnMetrics	mm,
				pm;
	Datum		values[10];
	bool		nulls[10] = {false};
	int			c = 0;

	nn_eval_metrics(m, &mm);
	nn_eval_metrics(p, &pm);
	if (group != NULL)
		values[c++] = CStringGetTextDatum(group);
	values[c++] = Int32GetDatum(k);
	values[c++] = Int64GetDatum(mm.n);
	values[c++] = Float8GetDatum(mm.hr[0]);
	values[c++] = Float8GetDatum(mm.ndcg[0]);
	values[c++] = Float8GetDatum(mm.mrr);
	values[c++] = Float8GetDatum(pm.hr[0]);
	values[c++] = Float8GetDatum(pm.ndcg[0]);
	values[c++] = Float8GetDatum(pm.mrr);
	values[c++] = CStringGetTextDatum(protocol);
	if (mm.n == 0)
		memset(nulls + (group ? 3 : 2), true, 6);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * cnnrec.evaluate(name, version, k, exclude_seen, sampled) returns one row
 * (k, users, hr, ndcg, mrr, pop_hr, pop_ndcg, pop_mrr, protocol).
 */
Datum
cnnrec_evaluate(PG_FUNCTION_ARGS)
{
	NnEvalReport rep,
				pop;
	int32		k;
	const char *protocol;

	InitMaterializedSRF(fcinfo, 0);
	run_evaluation(fcinfo, &k, &rep, &pop, &protocol);
	put_row(fcinfo, NULL, k, &rep.all, &pop.all, protocol);
	return (Datum) 0;
}

/*
 * cnnrec.evaluate_groups(...) returns three rows: all test users, those
 * whose target is new to them, and those whose target they saw before.
 */
Datum
cnnrec_evaluate_groups(PG_FUNCTION_ARGS)
{
	NnEvalReport rep,
				pop;
	int32		k;
	const char *protocol;

	InitMaterializedSRF(fcinfo, 0);
	run_evaluation(fcinfo, &k, &rep, &pop, &protocol);
	put_row(fcinfo, "all", k, &rep.all, &pop.all, protocol);
	put_row(fcinfo, "new_target", k, &rep.fresh, &pop.fresh, protocol);
	put_row(fcinfo, "repeat_target", k, &rep.repeat, &pop.repeat, protocol);
	return (Datum) 0;
}
