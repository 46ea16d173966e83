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

#include <math.h>

#include "catalog/objectaddress.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "access/xact.h"

#include "catalog.h"
#include "cnnrec.h"
#include "load.h"
#include "model_cache.h"
#include "nn/topk.h"
#include "seq.h"

CNNREC_FUNCTION(cnnrec_recommend);
CNNREC_FUNCTION(cnnrec_recommend_for_items);
CNNREC_FUNCTION(cnnrec_similar_items);
CNNREC_FUNCTION(cnnrec_explain_recommendation);
CNNREC_FUNCTION(cnnrec_recommend_all);

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


/*
 * recommend_for_items() and similar_items() read no table, but what they
 * return was learned from the model's source: like recommend(), which reads
 * it, they need the caller's SELECT on it (on the table, or on each of the
 * model's columns).  A source dropped since training protects nothing.
 */
static void
require_source_select(const ServingModel *m)
{
	const char *cols[4] = {m->user_column, m->item_column, m->time_column, m->event_column};
	Oid			role = GetUserId();
	char		relkind = get_rel_relkind(m->source);
	int			i;

	if (relkind == '\0' || pg_class_aclcheck(m->source, role, ACL_SELECT) == ACLCHECK_OK)
		return;
	for (i = 0; i < 4; i++)
	{
		AttrNumber	att = cols[i] ? get_attnum(m->source, cols[i]) : InvalidAttrNumber;

		if (att != InvalidAttrNumber &&
			pg_attribute_aclcheck(m->source, att, role, ACL_SELECT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), get_rel_name(m->source));
	}
}
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
	in->clock = m->clock;
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
	if (m->text_events)
		return nn_blob_event_label_id(&m->blob.maps, TextDatumGetCString(d));
	return nn_blob_event_value_id(&m->blob.maps, DatumGetInt64(d));
}

/*
 * Push one event with a known dense id as the oldest so far (events arrive
 * newest first); unknown items (id 0) are skipped.  Returns false when the
 * window is full.
 */
static bool
instance_push_id(Instance *in, int32 id, int64 item, int64 t, int32 ev)
{
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

/* The same for an external item id. */
static bool
instance_push_oldest(Instance *in, const ServingModel *m, int64 item, int64 t, int32 ev)
{
	return instance_push_id(in, nn_blob_item_id(&m->blob.maps, item), item, t, ev);
}

/* qsort comparator for int32. */
static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

/* Sort ids[0..n) and drop duplicates; returns the new count. */
static int64
sort_unique(int32 *ids, int64 n)
{
	int64		i,
				w = 0;

	qsort(ids, n, sizeof(int32), cmp_int32);
	for (i = 0; i < n; i++)
		if (w == 0 || ids[w - 1] != ids[i])
			ids[w++] = ids[i];
	return w;
}

/*
 * Fill in from the user's newest events in the source (one saved-plan query,
 * newest first).  With seen != NULL every event of the user is read and
 * *seen gets the sorted dense ids of all the items the user ever touched
 * (for exclude_seen); otherwise only enough rows for the window are read.
 */
static void
instance_from_source(Instance *in, ServingModel *m, int64 user_id, int32 **seen, int64 *n_seen)
{
	Datum		values[2];
	char		nulls[2] = {' ', seen ? 'n' : ' '};
	uint64		i;
	bool		window_full = false;

	values[0] = Int64GetDatum(user_id);
	values[1] = Int32GetDatum(in->M * 2);	/* room for unknown items */
	if (SPI_execute_plan(m->history_plan, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history of user " INT64_FORMAT, user_id);
	if (seen)
	{
		*seen = palloc(sizeof(int32) * (SPI_processed + 1));
		*n_seen = 0;
	}
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3;
		int64		item = DatumGetInt64(SPI_getbinval(tup, desc, 1, &n1));
		int32		id = nn_blob_item_id(&m->blob.maps, item);

		if (seen && id > 0)
			(*seen)[(*n_seen)++] = id;
		if (!window_full)
		{
			int64		t = time_seconds(m, SPI_getbinval(tup, desc, 2, &n2));
			Datum		ev = SPI_getbinval(tup, desc, 3, &n3);

			window_full = !instance_push_id(in, id, item, t, event_id(m, ev, n3));
		}
		else if (!seen)
			break;
	}
	if (seen)
		*n_seen = sort_unique(*seen, *n_seen);
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
	if (nn_cooc_mix(model, (NnInfer *) m->infer, in->items, in->M, m->scores) != NN_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
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
	if (exclude_seen)
		instance_from_source(&in, m, user_id, (int32 **) &filter.exclude, &filter.n_exclude);
	else
		instance_from_source(&in, m, user_id, NULL, NULL);
	if (!in.clock && in.n > 0)
		in.tref = in.times[in.M - 1];
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
	require_source_select(m);
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
			ev = m->text_events ?
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

/*
 * similar_items(item_id bigint, k int, model text)
 * returns (item_id bigint, similarity real, rank int): cosine similarity of
 * the items' output vectors W2 (model-spec §5.4), which place items that are
 * predicted in the same contexts close together; the item itself is left out.
 */
Datum
cnnrec_similar_items(PG_FUNCTION_ARGS)
{
	int64		item_ext;
	int32		k,
				id,
				N,
				i,
				j;
	ServingModel *m;
	const NnModel *model;
	int			D;
	const float *w;
	double		nq = 0;
	NnTopkFilter filter;

	CnnrecRequireArg(fcinfo, 0, "item_id");
	item_ext = PG_GETARG_INT64(0);
	k = check_k(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	m = CnnrecGetServingModel(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	require_source_select(m);
	model = &m->blob.model;
	id = nn_blob_item_id(&m->blob.maps, item_ext);
	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item " INT64_FORMAT " is unknown to model \"%s\"", item_ext, m->name),
				 errdetail("The model knows the items of its training data only."),
				 errhint("Train a new version to include items added since.")));
	N = model->cfg.N;
	D = 2 * model->cfg.d;
	w = model->W2;
	for (j = 0; j < D; j++)
		nq += (double) w[(size_t) id * D + j] * w[(size_t) id * D + j];
	m->scores[0] = -INFINITY;
	for (i = 1; i < N; i++)
	{
		const float *row = w + (size_t) i * D;
		float		dot = 0,
					nr = 0;

		for (j = 0; j < D; j++)
		{
			dot += row[j] * w[(size_t) id * D + j];
			nr += row[j] * row[j];
		}
		m->scores[i] = (nr > 0 && nq > 0) ? dot / sqrtf(nr * (float) nq) : 0.0f;
	}
	memset(&filter, 0, sizeof(filter));
	filter.exclude = &id;
	filter.n_exclude = 1;
	emit_topk(fcinfo, m, k, &filter);
	return (Datum) 0;
}

/* External label of a dense event id (NULL when none). */
static text *
event_text(const ServingModel *m, int32 ev)
{
	if (ev <= 0 || ev >= m->blob.maps.n_events)
		return NULL;
	if (m->blob.maps.event_label)
		return cstring_to_text(m->blob.maps.event_label[ev]);
	if (m->blob.maps.event_value)
		return cstring_to_text(psprintf(INT64_FORMAT, m->blob.maps.event_value[ev]));
	return NULL;
}

/* Rank of id as recommend() would place it: higher scores first, ties by id. */
static int32
rank_of(const ServingModel *m, int32 id, const int32 *excl, int64 n_excl)
{
	int32		N = m->blob.model.cfg.N,
				i,
				rank = 1;
	float		s = m->scores[id];

	for (i = 1; i < N; i++)
	{
		if (i == id || bsearch(&i, excl, n_excl, sizeof(int32), cmp_int32) != NULL)
			continue;
		if (m->scores[i] > s || (m->scores[i] == s && i < id))
			rank++;
	}
	return rank;
}

/*
 * explain_recommendation(user_id bigint, item_id bigint, model text)
 * returns (recency int, history_item bigint, event text, time_gap interval,
 *			attention real, in_conv_window boolean, score real, rank int):
 * the history interactions the model used for the user, newest first, each
 * with its attention weight (NULL for models without attention), how long
 * ago it happened, whether it is in the convolution window (the last L),
 * and the item's score and rank as recommend() with exclude_seen would
 * give them.
 */
Datum
cnnrec_explain_recommendation(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		user_id,
				item_ext;
	ServingModel *m;
	Instance	in;
	float	   *alpha;
	int32		id,
				rank,
				p;
	int32	   *excl;
	int64		n_excl;

	CnnrecRequireArg(fcinfo, 0, "user_id");
	CnnrecRequireArg(fcinfo, 1, "item_id");
	user_id = PG_GETARG_INT64(0);
	item_ext = PG_GETARG_INT64(1);
	InitMaterializedSRF(fcinfo, 0);
	m = CnnrecGetServingModel(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	id = nn_blob_item_id(&m->blob.maps, item_ext);
	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item " INT64_FORMAT " is unknown to model \"%s\"", item_ext, m->name),
				 errdetail("The model knows the items of its training data only.")));
	SPI_connect();
	instance_init(&in, m);
	in.user = nn_blob_user_id(&m->blob.maps, user_id);
	instance_from_source(&in, m, user_id, &excl, &n_excl);
	if (!in.clock && in.n > 0)
		in.tref = in.times[in.M - 1];
	SPI_finish();
	alpha = palloc0(sizeof(float) * in.M);
	score_instance(m, &in, alpha);
	rank = rank_of(m, id, excl, n_excl);
	for (p = in.M - 1; p >= in.M - in.n; p--)
	{
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};
		text	   *ev = event_text(m, in.events[p]);
		int64		gap = in.tref - in.times[p];

		values[3] = (Datum) 0;
		values[0] = Int32GetDatum(in.M - p);
		values[1] = Int64GetDatum(in.item_ext[p]);
		values[2] = ev ? PointerGetDatum(ev) : (Datum) 0;
		nulls[2] = (ev == NULL);
		if (in.clock)
		{
			Interval   *iv = palloc0(sizeof(Interval));

			if (gap < 0)
				gap = 0;
			iv->day = (int32) (gap / SECS_PER_DAY);
			iv->time = (gap % SECS_PER_DAY) * USECS_PER_SEC;
			values[3] = IntervalPGetDatum(iv);
		}
		else
			nulls[3] = true;
		values[4] = Float4GetDatum(alpha[p]);
		nulls[4] = !m->blob.model.cfg.use_attention;
		values[5] = BoolGetDatum(p >= in.M - m->blob.model.cfg.L);
		values[6] = Float4GetDatum(m->scores[id]);
		values[7] = Int32GetDatum(rank);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Rows of one recommend_all block. */
#define ALL_BLOCK 256

/* State of recommend_all while it walks the users. */
typedef struct AllState
{
	ServingModel *m;
	int32		k;
	int			rows;
	int64		user_ext[ALL_BLOCK];
	int32	   *users;			/* [ALL_BLOCK] */
	int32	   *items;			/* [ALL_BLOCK * M] */
	int32	   *events;
	int32	   *tbucket;
	float	   *tdelta;
	int32	  **seen;			/* per row: sorted dense ids of all the user's items */
	int64	   *n_seen;
	float	   *X;				/* [ALL_BLOCK * 2d] */
	NnInfer    *infer;			/* forward workspace for a block */
	float	   *S;				/* [ALL_BLOCK * N] */
	int32	   *ids;
	float	   *sc;
} AllState;

/* Score a block of users with one blocked matrix product and emit top k. */
static void
all_flush(FunctionCallInfo fcinfo, AllState *st)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const NnModel *model = &st->m->blob.model;
	int32		N = model->cfg.N;
	NnBatch		nb;
	int			r,
				i,
				rc;

	if (st->rows == 0)
		return;
	memset(&nb, 0, sizeof(nb));
	nb.B = st->rows;
	nb.user = st->users;
	nb.items = st->items;
	nb.events = st->events;
	nb.tbucket = st->tbucket;
	nb.tdelta = st->tdelta;
	if ((rc = nn_user_vectors(model, st->infer, &nb, st->X)) != NN_OK)
		elog(ERROR, "could not score a block of users: %s", nn_strerror(rc));
	nn_score_block(model, st->X, st->rows, st->S);
	for (r = 0; r < st->rows; r++)
	{
		NnTopkFilter filter;
		int32		n_out = 0;

		if (nn_cooc_mix(model, st->infer, st->items + (size_t) r * model->cfg.M,
						model->cfg.M, st->S + (size_t) r * N) != NN_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));

		memset(&filter, 0, sizeof(filter));
		filter.exclude = st->seen[r];
		filter.n_exclude = st->n_seen[r];
		st->S[(size_t) r * N] = -INFINITY;
		nn_topk(st->S + (size_t) r * N, N, st->k, &filter, st->ids, st->sc, &n_out);
		for (i = 0; i < n_out; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = Int64GetDatum(st->user_ext[r]);
			values[1] = Int64GetDatum(st->m->blob.maps.item_ext[st->ids[i]]);
			values[2] = Float4GetDatum(st->sc[i]);
			values[3] = Int32GetDatum(i + 1);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	st->rows = 0;
}

/* Add one user's sequence (a cnnrec.seq) as a row of the block. */
static void
all_add_user(AllState *st, int64 user, Seq *seq)
{
	ServingModel *m = st->m;
	NnConfig	cfg = m->blob.model.cfg;
	int			M = cfg.M,
				r = st->rows;
	Instance	in;
	int32		i;
	int32	   *seen = palloc(sizeof(int32) * (SeqLength(seq) + 1));
	int64		n_seen = 0,
				w = 0;

	instance_init(&in, m);
	for (i = SeqLength(seq) - 1; i >= 0; i--)
	{
		int32		ev = 0,
					code = SeqEventAt(seq, i);
		int32		id = nn_blob_item_id(&m->blob.maps, SeqItems(seq)[i]);

		if (id > 0)
			seen[n_seen++] = id;
		if (in.n >= M)
			continue;			/* window full: only the seen set still grows */
		if (code != SEQ_EVENT_NULL)
			ev = SeqGetEventKind(seq) == SEQ_EVENT_TEXT ?
				nn_blob_event_label_id(&m->blob.maps, SeqLabel(seq, code)) :
				nn_blob_event_value_id(&m->blob.maps, code);
		(void) instance_push_id(&in, id, SeqItems(seq)[i], SeqEpochAt(seq, i), ev);
	}
	if (!in.clock && in.n > 0)
		in.tref = in.times[M - 1];
	w = sort_unique(seen, n_seen);
	st->seen[r] = seen;
	st->n_seen[r] = w;
	st->user_ext[r] = user;
	st->users[r] = nn_blob_user_id(&m->blob.maps, user);
	memcpy(st->items + (size_t) r * M, in.items, sizeof(int32) * M);
	memcpy(st->events + (size_t) r * M, in.events, sizeof(int32) * M);
	cfg.tref_mode = in.clock ? NN_TREF_NOW : NN_TREF_LAST;
	nn_time_features(&cfg, M, in.items, in.times, in.tref,
					 st->tbucket + (size_t) r * M, st->tdelta + (size_t) r * M);
	st->rows++;
}

/* Memory-context callback releasing a forward workspace. */
static void
free_infer(void *arg)
{
	nn_infer_free((NnInfer *) arg);
}

/*
 * cnnrec.recommend_all(model text, k int) returns (user_id, item_id, score,
 * rank): recommend(user, k) with exclude_seen for every user of the source,
 * scored in blocks of 256 users with one blocked matrix product per block
 * instead of one matrix-vector product per user.
 */
Datum
cnnrec_recommend_all(PG_FUNCTION_ARGS)
{
	AllState	st;
	int			M,
				N,
				D;
	Portal		portal;
	MemoryContext blockcxt,
				old;
	MemoryContextCallback *infer_cb;

	CnnrecRequireArg(fcinfo, 0, "model");
	memset(&st, 0, sizeof(st));
	st.k = check_k(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	st.m = CnnrecGetServingModel(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	M = st.m->blob.model.cfg.M;
	N = st.m->blob.model.cfg.N;
	D = 2 * st.m->blob.model.cfg.d;
	st.users = palloc0(sizeof(int32) * ALL_BLOCK);
	st.items = palloc0(sizeof(int32) * ALL_BLOCK * M);
	st.events = palloc0(sizeof(int32) * ALL_BLOCK * M);
	st.tbucket = palloc0(sizeof(int32) * ALL_BLOCK * M);
	st.tdelta = palloc0(sizeof(float) * ALL_BLOCK * M);
	st.seen = palloc0(sizeof(int32 *) * ALL_BLOCK);
	st.n_seen = palloc0(sizeof(int64) * ALL_BLOCK);
	st.X = palloc(sizeof(float) * ALL_BLOCK * D);
	st.S = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * (Size) ALL_BLOCK * N);
	st.ids = palloc(sizeof(int32) * st.k);
	st.infer = nn_infer_create(&st.m->blob.model, ALL_BLOCK);
	if (st.infer == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	/* freed with this call's memory, also when an error or cancel ends it */
	infer_cb = palloc0(sizeof(MemoryContextCallback));
	infer_cb->func = free_infer;
	infer_cb->arg = st.infer;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, infer_cb);
	st.sc = palloc(sizeof(float) * st.k);
	blockcxt = AllocSetContextCreate(CurrentMemoryContext, "cnnrec recommend_all block",
									 ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("%s ORDER BY 1",
												CnnrecSequenceQuery(st.m->source, st.m->user_column,
																	st.m->item_column, st.m->time_column,
																	st.m->event_column)),
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, ALL_BLOCK);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(blockcxt);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		user = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);

			if (!isnull)
				all_add_user(&st, user, SeqDetoastChecked(d));
			if (st.rows == ALL_BLOCK)
				all_flush(fcinfo, &st);
		}
		all_flush(fcinfo, &st);
		MemoryContextSwitchTo(old);
		MemoryContextReset(blockcxt);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return (Datum) 0;
}
