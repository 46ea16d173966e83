/*
 * serve.c
 *		Serving: recommend(), recommend_for_items(), similar_items() and
 *		explain_recommendation() (model-spec.md §5.12, §5.13).
 *
 * A request enters here, gets the active version of its model from the
 * per-backend cache (model_cache.c), builds one instance and scores every
 * item with plain loops (this library links no BLAS), then keeps the top k
 * with a size-k heap (nn_topk: ties broken by the smaller item id).
 *
 * recommend(user, k) reads the user's newest M interactions from the
 * model's source table at call time, through a saved plan that an index on
 * (user, time) serves, with the caller's privileges: a click inserted a
 * moment ago changes the next result without retraining.  Items the model
 * does not know are skipped; events map through the model's vocabulary;
 * the time reference is the transaction's start time ("now"), or the newest
 * event when the time column is a plain order.  A known user uses their
 * embedding, an unknown user with history the UNKNOWN row, and a user with
 * no history at all gets the learned global ranking (an empty history).
 * With exclude_seen, every item the user ever interacted with is excluded
 * (not just the window); candidates restricts the ranking to those items.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "access/xact.h"

#include "catalog.h"
#include "cnnrec.h"
#include "model_cache.h"
#include "nn/topk.h"
#include "seq.h"

CNNREC_FUNCTION(cnnrec_recommend);
CNNREC_FUNCTION(cnnrec_recommend_for_items);

/* Largest k a call may ask for. */
#define CNNREC_MAX_K 10000

/* One instance ready for the forward pass (§5.3.2), left-padded to M. */
typedef struct Instance
{
	int			M;
	int32		user;			/* dense user id, 0 = unknown */
	int32	   *items;			/* [M] dense item ids, 0 = PAD */
	int32	   *events;			/* [M] dense event ids */
	int64	   *times;			/* [M] epoch seconds */
	int64	   *item_ext;		/* [M] external item ids (for explain) */
	int			n;				/* real events, right-aligned */
	int64		tref;			/* reference time */
	bool		clock;			/* times are a clock (buckets from "now") */
} Instance;

/* Check k against the documented range. */
static int32
check_k(FunctionCallInfo fcinfo, int argno)
{
	int32		k;

	CnnrecRequireArg(fcinfo, argno, "k");
	k = PG_GETARG_INT32(argno);
	if (k <= 0 || k > CNNREC_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", CNNREC_MAX_K),
				 errdetail("k was %d.", k)));
	return k;
}

/* An empty instance for model m. */
static void
instance_init(Instance *in, const ServingModel *m)
{
	int			M = m->blob.model.cfg.M;

	memset(in, 0, sizeof(*in));
	in->M = M;
	in->items = palloc0(sizeof(int32) * M);
	in->events = palloc0(sizeof(int32) * M);
	in->times = palloc0(sizeof(int64) * M);
	in->item_ext = palloc0(sizeof(int64) * M);
	in->clock = (m->time_type == TIMESTAMPTZOID || m->time_type == TIMESTAMPOID ||
				 m->time_type == DATEOID);
	in->tref = in->clock ?
		SeqTimeToEpoch(SEQ_TIME_TIMESTAMPTZ, GetCurrentTransactionStartTimestamp()) : 0;
}

/* A time datum of the model's time column in epoch seconds. */
static int64
time_seconds(const ServingModel *m, Datum d)
{
	switch (m->time_type)
	{
		case TIMESTAMPTZOID:
			return SeqTimeToEpoch(SEQ_TIME_TIMESTAMPTZ, DatumGetTimestampTz(d));
		case TIMESTAMPOID:
			return SeqTimeToEpoch(SEQ_TIME_TIMESTAMP, DatumGetTimestamp(d));
		case DATEOID:
			return SeqTimeToEpoch(SEQ_TIME_DATE, DatumGetDateADT(d));
		default:
			return DatumGetInt64(d);	/* integers are cast to bigint */
	}
}

/* Dense event id of an event datum (0 if NULL or unknown). */
static int32
event_id(const ServingModel *m, Datum d, bool isnull)
{
	if (isnull || m->event_column == NULL)
		return 0;
	if (m->event_type == TEXTOID || m->event_type == VARCHAROID)
		return nn_blob_event_label_id(&m->blob.maps, TextDatumGetCString(d));
	return nn_blob_event_value_id(&m->blob.maps, DatumGetInt64(d));
}

/*
 * Push one event as the oldest so far (events arrive newest first); unknown
 * items are skipped.  Returns false when the window is full.
 */
static bool
instance_push_oldest(Instance *in, const ServingModel *m, int64 item, int64 t, int32 ev)
{
	int32		id = nn_blob_item_id(&m->blob.maps, item);
	int			pos;

	if (in->n >= in->M)
		return false;
	if (id == 0)
		return true;
	pos = in->M - 1 - in->n;
	in->items[pos] = id;
	in->item_ext[pos] = item;
	in->events[pos] = ev;
	in->times[pos] = t;
	in->n++;
	return true;
}

/* Fill in from the user's newest events in the source (saved plan). */
static void
instance_from_source(Instance *in, ServingModel *m, int64 user_id)
{
	Datum		values[2];
	uint64		i;

	values[0] = Int64GetDatum(user_id);
	values[1] = Int32GetDatum(in->M * 2);	/* room for unknown items */
	if (SPI_execute_plan(m->history_plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history of user " INT64_FORMAT, user_id);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3;
		int64		item = DatumGetInt64(SPI_getbinval(tup, desc, 1, &n1));
		int64		t = time_seconds(m, SPI_getbinval(tup, desc, 2, &n2));
		Datum		ev = SPI_getbinval(tup, desc, 3, &n3);

		if (!instance_push_oldest(in, m, item, t, event_id(m, ev, n3)))
			break;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Score every item for the instance into m->scores. */
static void
score_instance(ServingModel *m, Instance *in, float *alpha)
{
	const NnModel *model = &m->blob.model;
	NnConfig	cfg = model->cfg;
	int32	   *tbucket = palloc0(sizeof(int32) * in->M);
	float	   *tdelta = palloc0(sizeof(float) * in->M);
	float	   *x = palloc(sizeof(float) * 2 * cfg.d);
	NnBatch		nb;
	int			rc;

	cfg.tref_mode = in->clock ? NN_TREF_NOW : NN_TREF_LAST;
	nn_time_features(&cfg, in->M, in->items, in->times, in->tref, tbucket, tdelta);
	memset(&nb, 0, sizeof(nb));
	nb.B = 1;
	nb.user = &in->user;
	nb.items = in->items;
	nb.events = in->events;
	nb.tbucket = tbucket;
	nb.tdelta = tdelta;
	rc = nn_user_vector(model, (NnInfer *) m->infer, &nb, 0, x, alpha);
	if (rc != NN_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not score model \"%s\": %s", m->name, nn_strerror(rc))));
	nn_score_all(model, x, m->scores);
}

/* qsort comparator for int32. */
static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

/* Sorted unique dense ids of every item the user ever touched. */
static int32 *
seen_items(ServingModel *m, int64 user_id, int64 *n_out)
{
	Datum		values[1];
	int32	   *ids;
	int64		n = 0;
	uint64		i;

	values[0] = Int64GetDatum(user_id);
	if (SPI_execute_plan(m->seen_plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the items of user " INT64_FORMAT, user_id);
	ids = palloc(sizeof(int32) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int32		id = nn_blob_item_id(&m->blob.maps,
										 DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
																	 SPI_tuptable->tupdesc, 1, &isnull)));

		if (id > 0)
			ids[n++] = id;
	}
	SPI_freetuptable(SPI_tuptable);
	qsort(ids, n, sizeof(int32), cmp_int32);
	*n_out = n;
	return ids;
}

/* Dense ids of a bigint[] of external item ids (unknown and NULL skipped). */
static int32 *
dense_items(const ServingModel *m, ArrayType *arr, int64 *n_out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	int32	   *ids;
	int64		k = 0;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item arrays must be one-dimensional")));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	ids = palloc(sizeof(int32) * (n + 1));
	for (i = 0; i < n; i++)
	{
		int32		id = nulls[i] ? 0 : nn_blob_item_id(&m->blob.maps, DatumGetInt64(elems[i]));

		if (id > 0)
			ids[k++] = id;
	}
	*n_out = k;
	return ids;
}

/* Top k of m->scores under the filters, returned as the SRF's rows. */
static void
emit_topk(FunctionCallInfo fcinfo, ServingModel *m, int32 k, NnTopkFilter *filter)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32	   *ids = palloc(sizeof(int32) * k);
	float	   *sc = palloc(sizeof(float) * k);
	int32		n_out = 0,
				i;
	int			rc;

	rc = nn_topk(m->scores, m->blob.model.cfg.N, k, filter, ids, sc, &n_out);
	if (rc != 0)
		elog(ERROR, "top-k selection failed: %s", nn_topk_strerror(rc));
	for (i = 0; i < n_out; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(m->blob.maps.item_ext[ids[i]]);
		values[1] = Float4GetDatum(sc[i]);
		values[2] = Int32GetDatum(i + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * recommend(user_id bigint, k int, model text, exclude_seen boolean,
 *			 candidates bigint[]) returns (item_id bigint, score real, rank int)
 */
Datum
cnnrec_recommend(PG_FUNCTION_ARGS)
{
	int64		user_id;
	int32		k;
	ServingModel *m;
	Instance	in;
	NnTopkFilter filter;
	bool		exclude_seen;

	CnnrecRequireArg(fcinfo, 0, "user_id");
	user_id = PG_GETARG_INT64(0);
	k = check_k(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	m = CnnrecGetServingModel(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	exclude_seen = PG_ARGISNULL(3) ? m->exclude_seen_default : PG_GETARG_BOOL(3);
	memset(&filter, 0, sizeof(filter));

	SPI_connect();
	instance_init(&in, m);
	in.user = nn_blob_user_id(&m->blob.maps, user_id);
	instance_from_source(&in, m, user_id);
	if (!in.clock && in.n > 0)
		in.tref = in.times[in.M - 1];
	if (exclude_seen)
		filter.exclude = seen_items(m, user_id, &filter.n_exclude);
	SPI_finish();

	if (!PG_ARGISNULL(4))
		filter.candidates = dense_items(m, PG_GETARG_ARRAYTYPE_P(4), &filter.n_candidates);
	score_instance(m, &in, NULL);
	emit_topk(fcinfo, m, k, &filter);
	return (Datum) 0;
}

/* Element i of an optional array argument as a datum, or isnull. */
static Datum
array_elem(ArrayType *arr, Oid elemtype, int i, int n_expected, bool *isnull)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	if (n != n_expected)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("times and events must have as many elements as items"),
				 errdetail("items has %d elements, another array has %d.", n_expected, n)));
	*isnull = nulls[i];
	return elems[i];
}

/*
 * recommend_for_items(items bigint[], k int, model text, times timestamptz[],
 *					   events text[], exclude_seen boolean)
 * returns (item_id bigint, score real, rank int): an anonymous session,
 * oldest first; the UNKNOWN user row is used.
 */
Datum
cnnrec_recommend_for_items(PG_FUNCTION_ARGS)
{
	ArrayType  *items;
	int32		k;
	ServingModel *m;
	Instance	in;
	NnTopkFilter filter;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	CnnrecRequireArg(fcinfo, 0, "items");
	items = PG_GETARG_ARRAYTYPE_P(0);
	k = check_k(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	m = CnnrecGetServingModel(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (ARR_NDIM(items) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item arrays must be one-dimensional")));
	deconstruct_array(items, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	instance_init(&in, m);
	for (i = n - 1; i >= 0; i--)
	{
		bool		tnull = true,
					enull = true;
		Datum		t = PG_ARGISNULL(3) ? (Datum) 0 : array_elem(PG_GETARG_ARRAYTYPE_P(3), TIMESTAMPTZOID, i, n, &tnull);
		Datum		e = PG_ARGISNULL(4) ? (Datum) 0 : array_elem(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, i, n, &enull);
		int64		secs = tnull ? in.tref : SeqTimeToEpoch(SEQ_TIME_TIMESTAMPTZ, DatumGetTimestampTz(t));
		int32		ev = 0;

		if (nulls[i])
			continue;
		if (!enull)
			ev = (m->event_type == TEXTOID || m->event_type == VARCHAROID) ?
				nn_blob_event_label_id(&m->blob.maps, TextDatumGetCString(e)) :
				nn_blob_event_value_id(&m->blob.maps, pg_strtoint64(TextDatumGetCString(e)));
		if (!instance_push_oldest(&in, m, DatumGetInt64(elems[i]), secs, ev))
			break;
	}
	if (!in.clock && in.n > 0)
		in.tref = in.times[in.M - 1];
	memset(&filter, 0, sizeof(filter));
	if (PG_ARGISNULL(5) ? m->exclude_seen_default : PG_GETARG_BOOL(5))
	{
		filter.exclude = dense_items(m, items, &filter.n_exclude);
		qsort((void *) filter.exclude, filter.n_exclude, sizeof(int32), cmp_int32);
	}
	score_instance(m, &in, NULL);
	emit_topk(fcinfo, m, k, &filter);
	return (Datum) 0;
}
