/*
 * load.c
 *		Read a model's source relation into the math core's dataset (for the
 *		training worker and for cnnrec.evaluate()).
 *
 * One query, run with the privileges of the role that called train():
 *
 *	 SELECT user::int8, cnnrec.sequence_agg(item::int8, time, event)
 *	 FROM source WHERE user IS NOT NULL GROUP BY 1
 *
 * Identifiers are quoted (quote_identifier / quote_qualified_identifier on
 * the catalog's names); no value is spliced into the text.  Rows are read
 * through a cursor, 1000 users at a time, inside the caller's transaction,
 * which the worker commits right after: no snapshot is held while training.
 *
 * Events become dense ids through a vocabulary sorted by value (integers)
 * or bytewise (labels), so the same data always gives the same ids.
 *
 * Item categories (the model's category_column, read only when the options
 * use them) come from a second query, one row per (item, category) with its
 * row count, ordered by category (bytewise for labels); categories are
 * numbered 1.. in that order and the dataset gives each item its most
 * frequent one.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "load.h"
#include "seq.h"

#define FETCH_USERS 1000

/* An event label or value while loading, with its provisional code. */
typedef struct VocabEntry
{
	char		key[NAMEDATALEN * 2];	/* label, or the integer as text */
	int32		code;			/* provisional code, 1-based, first-seen order */
	int64		value;			/* integer events */
} VocabEntry;

/* The base type of a column of source. */
static Oid
column_type(Oid source, const char *column)
{
	return getBaseType(get_atttype(source, get_attnum(source, column)));
}

/* The sequence query of a source; see load.h. */
char *
CnnrecSequenceQuery(Oid source, const char *user_column, const char *item_column,
					const char *time_column, const char *event_column)
{
	StringInfoData q;
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(source)),
												 get_rel_name(source));
	const char *u = quote_identifier(user_column);

	initStringInfo(&q);
	/* integer times and events are widened to bigint */
	appendStringInfo(&q, "SELECT %s::pg_catalog.int8, cnnrec.sequence_agg(%s::pg_catalog.int8, %s%s",
					 u, quote_identifier(item_column), quote_identifier(time_column),
					 CnnrecClockType(column_type(source, time_column)) ? "" : "::pg_catalog.int8");
	if (event_column != NULL)
		appendStringInfo(&q, ", %s::pg_catalog.%s", quote_identifier(event_column),
						 CnnrecTextType(column_type(source, event_column)) ? "text" : "int8");
	appendStringInfo(&q, ") FROM %s WHERE %s IS NOT NULL GROUP BY 1", rel, u);
	return q.data;
}

/* Provisional code of one event of seq (0 = none), adding it to the hash. */
static int32
event_code(HTAB *vocab, const Seq *seq, int32 i, int *n_codes)
{
	int32		ev = SeqEventAt(seq, i);
	char		key[NAMEDATALEN * 2];
	VocabEntry *e;
	bool		found;

	if (ev == SEQ_EVENT_NULL)
		return 0;
	memset(key, 0, sizeof(key));
	if (SeqGetEventKind(seq) == SEQ_EVENT_TEXT)
		strlcpy(key, SeqLabel(seq, ev), sizeof(key));
	else
		snprintf(key, sizeof(key), "%d", ev);
	e = hash_search(vocab, key, HASH_ENTER, &found);
	if (!found)
	{
		if (*n_codes >= NN_MAX_EVENT_TYPES - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct event types"),
					 errdetail("At most %d distinct values of the event column are supported.",
							   NN_MAX_EVENT_TYPES - 1),
					 errhint("Map rare event types to a common one, or train without the event column.")));
		e->code = ++(*n_codes);
		e->value = ev;
	}
	return e->code;
}

/* Append one user's sequence to the dataset; notes text events. */
static void
append_user(TrainJob *job, HTAB *vocab, int *n_codes, int64 user, Datum seqdatum,
			bool *text_events)
{
	Seq		   *seq = SeqDetoastChecked(seqdatum);
	const int64 *items = SeqItems(seq);
	int32		i;

	if (SeqGetEventKind(seq) == SEQ_EVENT_TEXT)
		*text_events = true;
	for (i = 0; i < SeqLength(seq); i++)
	{
		int64		t = SeqEpochAt(seq, i);

		if (t == PG_INT64_MIN || t == PG_INT64_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("infinite time in the source of model \"%s\"", job->model_name),
					 errdetail("User %lld has an interaction at an infinite time.", (long long) user)));
		if (nn_ds_append(&job->ds, user, items[i], t, event_code(vocab, seq, i, n_codes)) != NN_DS_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not load the training data"),
					 errdetail("%s", job->ds.errmsg)));
	}
}

/* qsort comparators for the final vocabulary order. */
static int
cmp_label(const void *a, const void *b)
{
	return strcmp((*(VocabEntry *const *) a)->key, (*(VocabEntry *const *) b)->key);
}

static int
cmp_value(const void *a, const void *b)
{
	int64		x = (*(VocabEntry *const *) a)->value;
	int64		y = (*(VocabEntry *const *) b)->value;

	return x < y ? -1 : x > y;
}

/* Sort the vocabulary and renumber the appended rows' event codes. */
static void
finish_vocab(TrainJob *job, HTAB *vocab, int n_codes, bool text)
{
	VocabEntry **sorted = palloc0(sizeof(VocabEntry *) * (n_codes + 1));
	int32		remap[NN_MAX_EVENT_TYPES];
	HASH_SEQ_STATUS it;
	VocabEntry *e;
	int64		r;
	int			i = 0;

	hash_seq_init(&it, vocab);
	while ((e = hash_seq_search(&it)) != NULL)
		sorted[i++] = e;
	qsort(sorted, n_codes, sizeof(VocabEntry *), text ? cmp_label : cmp_value);
	job->vocab.text = text;
	job->vocab.n = n_codes;
	job->vocab.values = MemoryContextAllocZero(TopMemoryContext, sizeof(int64) * (n_codes + 1));
	job->vocab.labels = MemoryContextAllocZero(TopMemoryContext, sizeof(char *) * (n_codes + 1));
	remap[0] = 0;
	for (i = 0; i < n_codes; i++)
	{
		remap[sorted[i]->code] = i + 1;
		job->vocab.values[i + 1] = sorted[i]->value;
		job->vocab.labels[i + 1] = MemoryContextStrdup(TopMemoryContext, sorted[i]->key);
	}
	for (r = 0; r < job->ds.n_rows; r++)
		job->ds.rows[r].event = remap[job->ds.rows[r].event];
}

/* Open a read-only cursor on query; what names the query in errors. */
static Portal
open_query(const char *query, const char *what)
{
	SPIPlanPtr	plan = SPI_prepare(query, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "could not prepare the %s query: %s", what,
			 SPI_result_code_string(SPI_result));
	return SPI_cursor_open(NULL, plan, NULL, NULL, true);
}

/* Fetch the next rows of portal into SPI_tuptable; false when there are none. */
static bool
fetch_rows(Portal portal)
{
	SPI_cursor_fetch(portal, true, FETCH_USERS);
	return SPI_processed > 0;
}

/* The item-category query of a job: (item, category, rows) ordered by category. */
static char *
category_query(const TrainJob *job)
{
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(job->source)),
												 get_rel_name(job->source));
	const char *c = quote_identifier(job->category_column);
	bool		text = CnnrecTextType(column_type(job->source, job->category_column));

	/* labels in bytewise order, whatever the column's collation */
	return psprintf("SELECT %s::pg_catalog.int8, %s%s, pg_catalog.count(*) FROM %s "
					"WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL "
					"GROUP BY 1, 2 ORDER BY 2",
					quote_identifier(job->item_column), c,
					text ? "::pg_catalog.text COLLATE pg_catalog.\"C\"" : "::pg_catalog.int8", rel,
					quote_identifier(job->user_column), quote_identifier(job->item_column),
					quote_identifier(job->time_column), c);
}

/* Read the item categories into job->ds; see the file comment. */
static void
load_categories(TrainJob *job)
{
	Portal		portal = open_query(category_query(job), "category");
	char	   *last = NULL;
	int64		code = 0;

	while (fetch_rows(portal))
	{
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		item = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *cat = SPI_getvalue(tup, desc, 2);
			int64		rows = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

			if (last == NULL || strcmp(last, cat) != 0)
			{
				code++;
				if (last != NULL)
					pfree(last);
				last = pstrdup(cat);
			}
			pfree(cat);
			if (nn_ds_add_item_category(&job->ds, item, code, rows) != NN_DS_OK)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("could not load the item categories"),
						 errdetail("%s", job->ds.errmsg)));
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/* Read the source into job->ds (not finalized); see the file comment. */
void
TrainLoadData(TrainJob *job)
{
	HASHCTL		ctl;
	HTAB	   *vocab;
	int			n_codes = 0;
	bool		text_events = false;
	Portal		portal;
	instr_time	start,
				dur;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "cnnrec load rows",
												 ALLOCSET_DEFAULT_SIZES);

	INSTR_TIME_SET_CURRENT(start);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN * 2;
	ctl.entrysize = sizeof(VocabEntry);
	vocab = hash_create("cnnrec event vocabulary", 64, &ctl, HASH_ELEM | HASH_STRINGS);
	nn_ds_init(&job->ds);

	SPI_connect();
	portal = open_query(CnnrecSequenceQuery(job->source, job->user_column, job->item_column,
											job->time_column, job->event_column), "loading");
	while (fetch_rows(portal))
	{
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			int64		user = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			Datum		seq = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
			MemoryContext old = MemoryContextSwitchTo(rowcxt);

			if (!isnull)
				append_user(job, vocab, &n_codes, user, seq, &text_events);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		job->rows_read = job->ds.n_rows;
		/* raw rows, then their sorted copy and the CSR arrays in finalize */
		if ((uint64) job->ds.cap_rows * sizeof(NnDsRow) * 2 > (uint64) job->max_memory)
			TrainMemoryExceeded(job, (uint64) job->ds.cap_rows * sizeof(NnDsRow) * 2,
								"Loading the interactions");
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	if (job->category_column != NULL && job->opts.cfg.use_category != 0)
		load_categories(job);
	SPI_finish();
	finish_vocab(job, vocab, n_codes, text_events);
	hash_destroy(vocab);
	MemoryContextDelete(rowcxt);
	INSTR_TIME_SET_CURRENT(dur);
	INSTR_TIME_SUBTRACT(dur, start);
	job->load_seconds = INSTR_TIME_GET_DOUBLE(dur);
	if (job->ds.n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source of model \"%s\" has no interactions", job->model_name),
				 errhint("The source must have rows with non-NULL user, item and time.")));
}

/* Raise the memory-limit error; see load.h. */
void
TrainMemoryExceeded(TrainJob *job, uint64 bytes, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("training model \"%s\" needs more memory than cnnrec.max_train_memory allows",
					job->model_name),
			 errdetail("%s needs about %llu MB; the limit is %llu MB.", what,
					   (unsigned long long) (bytes >> 20),
					   (unsigned long long) ((uint64) job->max_memory >> 20)),
			 errhint("Raise cnnrec.max_train_memory, or reduce the data (option \"kcore\") or the model (options \"d\", \"batch\", \"threads\").")));
}
