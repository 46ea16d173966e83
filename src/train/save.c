/*
 * save.c
 *		Store a trained model as a new version, atomically.
 *
 * In the caller's single transaction: lock the model's row (so a
 * concurrent drop_model waits, or the save fails cleanly if the model was
 * dropped while training), take the next version number, insert the
 * version row and every weight chunk (at most 64 MB each), make it the
 * active version, mark the job succeeded, and send a relcache invalidation
 * on cnnrec.model_versions so every backend's model cache (also on hot
 * standbys, once replayed) reloads at its next transaction.  A crash before
 * the commit leaves none of it; after it, all of it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "nn/blob.h"
#include "nn/crc32c.h"
#include "models.h"
#include "train.h"

#define CHUNK_BYTES (64 * 1024 * 1024)

/* Index of the cutoff 10 in a metrics object, or -1. */
static int
index_k10(const NnMetrics *m)
{
	int			i;

	for (i = 0; i < m->n_k; i++)
		if (m->k[i] == 10)
			return i;
	return -1;
}

/* Append "name": {hr10, ndcg10, mrr, ...} for one metrics object. */
static void
metrics_json(StringInfo s, const char *name, const NnMetrics *m)
{
	int			k10 = index_k10(m);

	appendStringInfo(s, "\"%s\": {\"users\": %lld", name, (long long) m->n);
	if (k10 >= 0 && m->n > 0)
		appendStringInfo(s, ", \"hr10\": %.6f, \"ndcg10\": %.6f, \"mrr10\": %.6f, "
						 "\"hr10_se\": %.6f, \"ndcg10_se\": %.6f",
						 m->hr[k10], m->ndcg[k10], m->mrrk[k10], m->hr_se[k10], m->ndcg_se[k10]);
	if (m->n > 0)
		appendStringInfo(s, ", \"mrr\": %.6f", m->mrr);
	appendStringInfoChar(s, '}');
}

/* The metrics object stored with a version (and in the job row). */
static char *
result_json(const NnTrainResult *res)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	if (res->has_eval)
	{
		metrics_json(&s, "valid", &res->valid);
		appendStringInfoString(&s, ", ");
		metrics_json(&s, "test", &res->test);
		appendStringInfoString(&s, ", ");
		metrics_json(&s, "test_new_target", &res->test_fresh);
		appendStringInfoString(&s, ", ");
		metrics_json(&s, "test_repeat_target", &res->test_repeat);
		appendStringInfoString(&s, ", ");
		metrics_json(&s, "test_sampled100", &res->test_sampled100);
		appendStringInfoString(&s, ", ");
		metrics_json(&s, "popularity_test", &res->pop_test);
		appendStringInfoString(&s, ", ");
	}
	/* the co-occurrence mixture's weight, and the validation runs that chose it */
	appendStringInfo(&s, "\"cooc_weight\": %g, ", (double) res->cooc_lambda);
	if (res->n_cooc_grid > 0)
	{
		int			g;

		appendStringInfoString(&s, "\"cooc_valid_ndcg10\": {");
		for (g = 0; g < res->n_cooc_grid; g++)
			appendStringInfo(&s, "%s\"%g\": %.6f", g ? ", " : "",
							 (double) res->cooc_grid[g].lambda, res->cooc_grid[g].valid_ndcg10);
		appendStringInfoString(&s, "}, ");
	}
	appendStringInfo(&s, "\"best_epoch\": %d, \"epochs\": %d}", res->best_epoch, res->epochs_run);
	return s.data;
}

/* Data statistics stored with a version. */
static char *
stats_json(const TrainJob *job, const NnTrainResult *res)
{
	return psprintf("{\"rows_read\": %lld, \"users\": %d, \"items\": %d, \"interactions\": %lld, "
					"\"event_types\": %d, \"item_categories\": %d, \"kcore_dropped\": %lld, "
					"\"dedup_dropped\": %lld, \"evaluated_users\": %d, \"instances_per_epoch\": %lld, "
					"\"inst_per_sec\": %.1f, \"load_seconds\": %.3f}",
					(long long) job->rows_read, res->n_users, res->n_items,
					(long long) res->n_interactions, job->vocab.n, res->n_categories,
					(long long) job->ds.stat_kcore_dropped, (long long) job->ds.stat_dedup_dropped,
					res->n_eval_users, (long long) res->instances_per_epoch,
					res->inst_per_sec, job->load_seconds);
}

/* Serialise the model with the job's id maps; returns malloc'ed bytes. */
static uint8_t *
serialise(TrainJob *job, const NnModel *model, size_t *len)
{
	NnBlobMaps	maps;
	uint8_t    *buf = NULL;
	char		msg[256];
	int			rc;

	memset(&maps, 0, sizeof(maps));
	maps.n_users = job->ds.n_users;
	maps.n_items = job->ds.n_items;
	maps.n_events = job->ds.n_events;
	maps.user_ext = job->ds.user_ext;
	maps.item_ext = job->ds.item_ext;
	if (job->vocab.n > 0 && job->vocab.text)
		maps.event_label = (const char *const *) job->vocab.labels;
	else if (job->vocab.n > 0)
		maps.event_value = job->vocab.values;
	rc = nn_blob_write(model, &maps, 0, &buf, len, msg, sizeof(msg));
	if (rc != NN_BLOB_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not serialise the trained model"),
				 errdetail("%s", msg)));
	return buf;
}

/* Insert the weight chunks of one version. */
static void
insert_chunks(int64 model_id, int version, const uint8_t *buf, size_t len)
{
	Oid			argtypes[4] = {INT8OID, INT4OID, INT4OID, BYTEAOID};
	Datum		values[4];
	size_t		off;
	int			chunk = 0;

	values[0] = Int64GetDatum(model_id);
	values[1] = Int32GetDatum(version);
	for (off = 0; off < len; off += CHUNK_BYTES, chunk++)
	{
		size_t		n = Min(CHUNK_BYTES, len - off);
		bytea	   *b = palloc(VARHDRSZ + n);

		SET_VARSIZE(b, VARHDRSZ + n);
		memcpy(VARDATA(b), buf + off, n);
		values[2] = Int32GetDatum(chunk);
		values[3] = PointerGetDatum(b);
		CnnrecCatalogExec("INSERT INTO cnnrec.model_weights (model_id, version, chunk, data) "
						  "VALUES ($1, $2, $3, $4)", true, 4, argtypes, values, NULL, NULL);
		pfree(b);
	}
}

/* Lock the model row and return the next version number. */
static int
next_version(TrainJob *job)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		v = 0;

	values[0] = Int64GetDatum(job->model_id);
	if (CnnrecCatalogExec("SELECT model_id FROM cnnrec.models WHERE model_id OPERATOR(pg_catalog.=) $1 "
						  "FOR UPDATE", true, 1, argtypes, values, NULL, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped while it was being trained", job->model_name)));
	CnnrecCatalogExec("SELECT COALESCE(pg_catalog.max(version), 0) OPERATOR(pg_catalog.+) 1 "
					  "FROM cnnrec.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1",
					  true, 1, argtypes, values, NULL, &v);
	return (int) v;
}

/* Should the new version become the active one (option "deploy")? */
static bool
should_activate(TrainJob *job, const NnTrainResult *res)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		better = 0;
	char	   *ndcg;

	if (job->opts.set.deploy == CNNREC_DEPLOY_ALWAYS)
		return true;
	if (job->opts.set.deploy == CNNREC_DEPLOY_NEVER)
		return false;
	values[0] = Int64GetDatum(job->model_id);
	if (CnnrecCatalogExec("SELECT 1 FROM cnnrec.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
						  "AND active", false, 1, argtypes, values, NULL, NULL) == 0)
		return true;			/* the first (or only) version */
	if (!res->has_eval || index_k10(&res->valid) < 0)
		return true;			/* trained on all events: nothing to compare */
	ndcg = psprintf("%.6f", res->valid.ndcg[index_k10(&res->valid)]);
	/* activate unless the active version has a better validation NDCG@10 */
	(void) CnnrecCatalogExec("SELECT pg_catalog.count(*) FROM cnnrec.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
							 "AND active AND (metrics OPERATOR(pg_catalog.->) 'valid' OPERATOR(pg_catalog.->>) 'ndcg10')::pg_catalog.float8 "
							 "OPERATOR(pg_catalog.>) $2::pg_catalog.float8",
							 false, 2, (Oid[]) {INT8OID, TEXTOID},
							 (Datum[]) {values[0], CStringGetTextDatum(ndcg)}, NULL, &better);
	return better == 0;
}

/* Store the new version, activate it, finish the job; see file comment. */
int
TrainSaveVersion(TrainJob *job, const NnModel *model, const NnTrainResult *res)
{
	Oid			argtypes[19] = {INT8OID, INT4OID, INT8OID, INT4OID, TEXTOID, JSONBOID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT4OID, INT8OID, JSONBOID, JSONBOID, FLOAT8OID,
	INT4OID, OIDOID, BOOLOID};
	Datum		values[19];
	size_t		len;
	uint8_t    *buf = serialise(job, model, &len);
	int			version = next_version(job);
	char	   *metrics = result_json(res);
	bool		activate = should_activate(job, res);

	values[0] = Int64GetDatum(job->model_id);
	values[1] = Int32GetDatum(version);
	values[2] = Int64GetDatum(job->job_id);
	values[3] = Int32GetDatum(NN_BLOB_FORMAT);
	values[4] = CStringGetTextDatum(job->opts.set.preset);
	values[5] = JsonbPGetDatum(CnnrecOptionsToJsonb(&job->opts));
	values[6] = Int64GetDatum(res->n_users);
	values[7] = Int64GetDatum(res->n_items);
	values[8] = Int64GetDatum(res->n_interactions);
	values[9] = Int64GetDatum((int64) model->n_params);
	values[10] = Int64GetDatum((int64) len);
	values[11] = Int32GetDatum((int) ((len + CHUNK_BYTES - 1) / CHUNK_BYTES));
	values[12] = Int64GetDatum((int64) nn_crc32c(0, buf, len));
	values[13] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	values[14] = DirectFunctionCall1(jsonb_in, CStringGetDatum(stats_json(job, res)));
	values[15] = Float8GetDatum(res->train_seconds);
	values[16] = Int32GetDatum(res->epochs_run);
	values[17] = ObjectIdGetDatum(GetUserId());	/* before the elevation */
	values[18] = BoolGetDatum(activate);
	if (activate)
		CnnrecCatalogExec("UPDATE cnnrec.model_versions SET active = false "
						  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND active", true, 1, argtypes, values, NULL, NULL);
	CnnrecCatalogExec("INSERT INTO cnnrec.model_versions (model_id, version, job_id, active, "
					  "format_version, preset, options, n_users, n_items, n_events, n_params, "
					  "weights_bytes, n_chunks, weights_crc32c, metrics, data_stats, epochs, "
					  "train_seconds, created_by, deployed_at) "
					  "VALUES ($1, $2, $3, $19, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
					  "$17, $16, $18::pg_catalog.oid::pg_catalog.regrole, "
					  "CASE WHEN $19 THEN pg_catalog.now() END)",
					  true, 19, argtypes, values, NULL, NULL);
	insert_chunks(job->model_id, version, buf, len);
	free(buf);
	CnnrecCatalogExec("UPDATE cnnrec.jobs SET status = 'succeeded', phase = 'saving', version = $2, "
					  "metrics = $3 OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('history', "
					  "COALESCE(metrics OPERATOR(pg_catalog.->) 'history', '[]'::pg_catalog.jsonb)), finished_at = pg_catalog.now(), updated_at = pg_catalog.now(), eta = NULL "
					  "WHERE job_id OPERATOR(pg_catalog.=) $1",
					  true, 3, (Oid[]) {INT8OID, INT4OID, JSONBOID},
					  (Datum[]) {Int64GetDatum(job->job_id), values[1], values[13]}, NULL, NULL);
	if (activate)
		CnnrecInvalidateServing();
	return version;
}
