/*
 * model_cache.c
 *		Per-backend cache of the active model versions that serving uses.
 *
 * Correctness comes from a version probe, not from invalidation messages:
 * the first serving call of a transaction reads (model, active version)
 * under the transaction's snapshot, with one saved-plan query, and loads
 * the version if it differs from the cached one; later calls of the same
 * transaction reuse that answer (pinned by the local transaction id), so
 * a transaction never mixes two versions and REPEATABLE READ and hot
 * standby snapshots stay exact.  A deploy on the primary is therefore
 * served from every session's next transaction, on standbys too.
 *
 * Invalidation only releases memory early: writing or switching a version
 * sends a relcache invalidation on cnnrec.model_versions at commit
 * (save.c, models.c); our callback marks the cache stale, and at the end
 * of the transaction every cached model is freed (they reload on next use).
 * That is also how DROP EXTENSION releases the cache.  A model loaded from
 * rows of a transaction that then aborted is never served afterwards: the
 * next transaction's probe sees another version and reloads.
 *
 * Loading reads the weight chunks with the extension owner's rights (PUBLIC
 * cannot read raw weights; callers get predictions, not weights), checks
 * the stored CRC-32C and parses them with the validating blob reader: a
 * corrupt or hand-edited row is an error, never a crash.  Each model lives
 * in its own memory context under "cnnrec model cache"; the blob's malloc'ed
 * memory is released by a reset callback of that context.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "cnnrec.h"
#include "load.h"
#include "model_cache.h"
#include "nn/crc32c.h"
#include "nn/model.h"

#define MAX_CACHED_MODELS 16

static MemoryContext CacheContext = NULL;
static ServingModel *cached[MAX_CACHED_MODELS];
static int	n_cached = 0;
static bool cache_stale = false;
static Oid	versions_relid = InvalidOid;
static SPIPlanPtr probe_plan = NULL;
static LocalTransactionId implicit_lxid = InvalidLocalTransactionId;
static char implicit_name[NAMEDATALEN];	/* the only model, for implicit_lxid */

/* What the probe learns about a model. */
typedef struct ProbeRow
{
	int64		model_id;
	int32		version;		/* 0: no active version */
	int64		weights_bytes;
	int64		crc;
	Oid			source;
	char	   *columns[4];		/* user, item, time, event (may be NULL) */
	bool		exclude_seen;
} ProbeRow;

/* Free everything a cached model owns (its context's reset callback). */
static void
release_model(void *arg)
{
	ServingModel *m = (ServingModel *) arg;

	if (m->infer)
		nn_infer_free((NnInfer *) m->infer);
	nn_blob_free(&m->blob);
	if (m->history_plan)
		SPI_freeplan(m->history_plan);
}

/* Drop cached entry i. */
static void
drop_entry(int i)
{
	MemoryContextDelete(cached[i]->cxt);
	cached[i] = cached[--n_cached];
}

/* Relcache callback: a version was written or switched somewhere. */
static void
relcache_cb(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == versions_relid)
		cache_stale = true;
}

/* End of transaction: free every entry if the cache went stale. */
static void
xact_cb(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if (cache_stale)
		while (n_cached > 0)
			drop_entry(n_cached - 1);
	cache_stale = false;
}

/* Register the callbacks; see model_cache.h. */
void
CnnrecModelCacheInit(void)
{
	CacheRegisterRelcacheCallback(relcache_cb, (Datum) 0);
	RegisterXactCallback(xact_cb, NULL);
}

/* Which model to serve: the argument, the GUC, or the only one. */
static char *
resolve_name(const char *model_name)
{
	char	   *name = NULL;
	uint64		n_models;

	if (model_name != NULL)
		return pstrdup(model_name);
	if (cnnrec_default_model != NULL && cnnrec_default_model[0] != '\0')
		return pstrdup(cnnrec_default_model);
	/* the only model, looked up once per transaction */
	if (implicit_lxid == MyProc->lxid && implicit_name[0] != '\0')
		return pstrdup(implicit_name);
	SPI_connect();
	if (SPI_execute("SELECT name FROM cnnrec.models ORDER BY model_id LIMIT 2", true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.models");
	n_models = SPI_processed;
	if (n_models == 1)
		name = MemoryContextStrdup(CurTransactionContext, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	if (name != NULL)
	{
		strlcpy(implicit_name, name, NAMEDATALEN);
		implicit_lxid = MyProc->lxid;
		return name;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg(n_models == 0 ? "no cnnrec model exists" : "several cnnrec models exist and none was chosen"),
			 n_models == 0 ?
			 errhint("Define one with cnnrec.create_model() and train it with CALL cnnrec.train().") :
			 errhint("Pass the model name (model => 'name'), or SET cnnrec.default_model.")));
	return NULL;				/* keep compiler quiet */
}

/* Read (model, active version, source) for name under the snapshot. */
static ProbeRow
probe(const char *name)
{
	ProbeRow	p;
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			i;
	MemoryContext callercxt = CurrentMemoryContext;

	memset(&p, 0, sizeof(p));
	values[0] = CStringGetTextDatum(name);
	SPI_connect();
	if (probe_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT m.model_id, COALESCE(v.version, 0), v.weights_bytes, v.weights_crc32c, "
									   "m.source::pg_catalog.oid, m.user_column::pg_catalog.text, m.item_column::pg_catalog.text, "
									   "m.time_column::pg_catalog.text, m.event_column::pg_catalog.text, "
									   "COALESCE((m.options OPERATOR(pg_catalog.->>) 'exclude_seen')::boolean, true), "
									   "'cnnrec.model_versions'::pg_catalog.regclass::pg_catalog.oid "
									   "FROM cnnrec.models m LEFT JOIN cnnrec.model_versions v "
									   "ON v.model_id OPERATOR(pg_catalog.=) m.model_id AND v.active "
									   "WHERE m.name OPERATOR(pg_catalog.=) $1", 1, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the model probe");
		probe_plan = plan;
	}
	if (SPI_execute_plan(probe_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("List the models with: SELECT name FROM cnnrec.models;")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	p.model_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	p.version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	p.weights_bytes = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	p.crc = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	p.source = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	callercxt = MemoryContextSwitchTo(callercxt);
	for (i = 0; i < 4; i++)
		p.columns[i] = SPI_getvalue(tup, desc, 6 + i);
	MemoryContextSwitchTo(callercxt);
	p.exclude_seen = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
	versions_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 11, &isnull));
	SPI_finish();
	if (p.version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no active version", name),
				 errhint("Train it with CALL cnnrec.train('%s'), or activate a version with cnnrec.deploy().", name)));
	return p;
}

/* Concatenate a version's chunks (as the extension owner) into malloc'ed memory. */
static uint8_t *
read_weights(const char *name, const ProbeRow *p)
{
	Oid			save_userid;
	int			save_sec;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2];
	uint8_t    *buf;
	size_t		off = 0;
	uint64		i;

	buf = malloc(p->weights_bytes > 0 ? (size_t) p->weights_bytes : 1);
	if (buf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory loading model \"%s\"", name)));
	values[0] = Int64GetDatum(p->model_id);
	values[1] = Int32GetDatum(p->version);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(CnnrecExtensionOwner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	if (SPI_execute_with_args("SELECT data FROM cnnrec.model_weights WHERE model_id OPERATOR(pg_catalog.=) $1 "
							  "AND version OPERATOR(pg_catalog.=) $2 ORDER BY chunk",
							  2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read cnnrec.model_weights");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *chunk = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		size_t		n = VARSIZE_ANY_EXHDR(chunk);

		if (off + n > (size_t) p->weights_bytes)
		{
			free(buf);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("weights of model \"%s\" version %d are corrupt", name, p->version),
					 errdetail("The chunks hold more bytes than the %lld recorded.", (long long) p->weights_bytes)));
		}
		memcpy(buf + off, VARDATA_ANY(chunk), n);
		off += n;
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	if (off != (size_t) p->weights_bytes || nn_crc32c(0, buf, off) != (uint32) p->crc)
	{
		free(buf);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d are corrupt", name, p->version),
				 errdetail("%s", off != (size_t) p->weights_bytes ?
						   psprintf("The chunks hold %zu bytes, %lld recorded.", off, (long long) p->weights_bytes) :
						   "The CRC-32C of the chunks does not match the recorded one."),
				 errhint("Deploy another version with cnnrec.deploy(), or train again.")));
	}
	return buf;
}

/* Read and validate a stored version; see model_cache.h. */
void
CnnrecReadBlob(const char *name, int64 model_id, int32 version, int64 weights_bytes,
			   int64 crc, NnBlob *blob)
{
	ProbeRow	p;
	uint8_t    *buf;
	char		msg[256];
	int			rc;

	memset(&p, 0, sizeof(p));
	p.model_id = model_id;
	p.version = version;
	p.weights_bytes = weights_bytes;
	p.crc = crc;
	buf = read_weights(name, &p);
	rc = nn_blob_read(buf, (size_t) weights_bytes, blob, msg, sizeof(msg));
	free(buf);
	if (rc != NN_BLOB_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("weights of model \"%s\" version %d are invalid", name, version),
				 errdetail("%s: %s.", nn_blob_strerror(rc), msg),
				 errhint("Deploy another version with cnnrec.deploy(), or train again.")));
}

/* Prepare and keep a plan; the caller is connected to SPI. */
static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep plan");
	return plan;
}

/* The history plan of a model (run with the caller's privileges). */
static void
prepare_plans(ServingModel *m)
{
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(m->source)),
												 get_rel_name(m->source));
	const char *u = quote_identifier(m->user_column);
	const char *i = quote_identifier(m->item_column);
	const char *t = quote_identifier(m->time_column);
	const char *e = m->event_column ? quote_identifier(m->event_column) : "NULL::pg_catalog.int8";
	Oid			argtypes[2] = {INT8OID, INT4OID};

	SPI_connect();
	/* the newest events first, ties broken as sequence_agg orders them;
	 * LIMIT NULL reads them all (for exclude_seen) */
	m->history_plan = keep_plan(psprintf("SELECT %s::pg_catalog.int8, %s%s, %s%s FROM %s "
										 "WHERE %s OPERATOR(pg_catalog.=) $1 AND %s IS NOT NULL AND %s IS NOT NULL "
										 "ORDER BY %s DESC, %s DESC, %s DESC NULLS FIRST LIMIT $2",
										 i, t, m->clock ? "" : "::pg_catalog.int8",
										 e, !m->event_column ? "" : m->text_events ? "::pg_catalog.text" : "::pg_catalog.int8",
										 rel, u, i, t, t, i, e),
								2, argtypes);
	SPI_finish();
}

/* Load the probed version into a new cache entry. */
static ServingModel *
load_model(const char *name, const ProbeRow *p)
{
	MemoryContext cxt = AllocSetContextCreate(CacheContext, "cnnrec model", ALLOCSET_SMALL_SIZES);
	ServingModel *m = MemoryContextAllocZero(cxt, sizeof(ServingModel));
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));

	m->cxt = cxt;
	cb->func = release_model;
	cb->arg = m;
	MemoryContextRegisterResetCallback(cxt, cb);
	m->model_id = p->model_id;
	strlcpy(m->name, name, NAMEDATALEN);
	m->version = p->version;
	m->source = p->source;
	m->user_column = MemoryContextStrdup(cxt, p->columns[0]);
	m->item_column = MemoryContextStrdup(cxt, p->columns[1]);
	m->time_column = MemoryContextStrdup(cxt, p->columns[2]);
	m->event_column = p->columns[3] ? MemoryContextStrdup(cxt, p->columns[3]) : NULL;
	m->exclude_seen_default = p->exclude_seen;
	PG_TRY();
	{
		CnnrecReadBlob(name, p->model_id, p->version, p->weights_bytes, p->crc, &m->blob);
		m->infer = nn_infer_create(&m->blob.model, 1);
		m->scores = MemoryContextAllocHuge(cxt, sizeof(float) * (Size) m->blob.model.cfg.N);
		if (m->infer == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (get_rel_relkind(m->source) == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("the source relation of model \"%s\" no longer exists", name)));
		m->time_type = getBaseType(get_atttype(m->source, get_attnum(m->source, m->time_column)));
		m->event_type = m->event_column ?
			getBaseType(get_atttype(m->source, get_attnum(m->source, m->event_column))) : InvalidOid;
		m->clock = CnnrecClockType(m->time_type);
		m->text_events = CnnrecTextType(m->event_type);
		prepare_plans(m);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return m;
}

/* Raise a clear error if the model's source or its columns are gone. */
static void
check_source_unchanged(const char *name, const ProbeRow *p)
{
	int			i;
	static const char *const roles[4] = {"user", "item", "time", "event"};

	if (get_rel_relkind(p->source) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the source relation of model \"%s\" no longer exists", name),
				 errhint("Recreate the table, or drop the model with cnnrec.drop_model().")));
	for (i = 0; i < 4; i++)
		if (p->columns[i] != NULL && get_attnum(p->source, p->columns[i]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("%s column \"%s\" of model \"%s\" no longer exists in \"%s\"",
							roles[i], p->columns[i], name, get_rel_name(p->source)),
					 errhint("Rename the column back, or define a new model.")));
}

/* The cached entry for name, or -1. */
static int
find_entry(const char *name)
{
	int			i;

	for (i = 0; i < n_cached; i++)
		if (strcmp(cached[i]->name, name) == 0)
			return i;
	return -1;
}

/* See model_cache.h. */
ServingModel *
CnnrecGetServingModel(const char *model_name)
{
	char	   *name = resolve_name(model_name);
	int			i = find_entry(name);
	ProbeRow	p;
	ServingModel *m;

	if (i >= 0 && cached[i]->pinned_lxid == MyProc->lxid)
		return cached[i];
	p = probe(name);
	check_source_unchanged(name, &p);
	if (i >= 0 && cached[i]->model_id == p.model_id && cached[i]->version == p.version)
	{
		cached[i]->pinned_lxid = MyProc->lxid;
		return cached[i];
	}
	if (i >= 0)
		drop_entry(i);
	if (CacheContext == NULL)
		CacheContext = AllocSetContextCreate(TopMemoryContext, "cnnrec model cache",
											 ALLOCSET_SMALL_SIZES);
	if (n_cached == MAX_CACHED_MODELS)
		drop_entry(0);
	m = load_model(name, &p);
	m->pinned_lxid = MyProc->lxid;
	cached[n_cached++] = m;
	return m;
}
