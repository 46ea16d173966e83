/*
 * seq_agg.c
 *		The sequence builder and the parallel aggregate cnnrec.sequence_agg.
 *
 * Transition state (SeqBuilder): a growable array of packed (time, item,
 * event) entries, 24 bytes each, in the aggregate memory context.  The array
 * doubles when full, up to SEQ_MAX_EVENTS entries (what fits in a 1 GB
 * cnnrec.seq); one more raises ERRCODE_PROGRAM_LIMIT_EXCEEDED.  Nothing is
 * sorted while rows arrive: the final function sorts once, with a
 * specialised quicksort (lib/sort_template.h: comparator inlined, presorted
 * input detected in one pass, skipped entirely when the rows arrived in
 * order), which is what makes the aggregate much cheaper than array_agg
 * with ORDER BY and its general-purpose per-group tuplesort.
 *
 * The hot path is one row appended to one of many groups (hash
 * aggregation), so the state is laid out to touch as few cache lines as
 * possible: the fields a row needs (count, capacity, array, the previous
 * time and item for the "still in order" check) sit together at the start
 * of the state, and the array itself is only written, never read, by a
 * transition.
 *
 * Text events: labels are interned in a dictionary (SeqDict) shared by all
 * the groups of one aggregate call (it hangs off fn_extra of the support
 * function, in the per-query memory), so a row looks its label up in memory
 * that stays in cache instead of in a per-group table.  A state stores
 * dictionary codes and a pointer to its dictionary.  Whenever a state is
 * written out (final, serialize) only the labels it uses are written, and
 * the final function orders them with strcmp() (bytewise, collation-free):
 * ties on (time, item) are broken deterministically whatever order the rows
 * or parallel workers delivered them in, and the result's dictionary is
 * sorted, so the result is bytewise canonical.  Per-label scratch arrays in
 * the dictionary, stamped with a generation number, make this O(events) per
 * group however large the shared dictionary grows.
 *
 * The final function sorts the entries in place.  That only reorders them:
 * the state stays valid for more transitions and for finalizing again
 * (window aggregates, shared transition states), so FINALFUNC_MODIFY stays
 * READ_ONLY.
 *
 * Parallel aggregation: serialize writes the Seq layout of seq.h with
 * SEQ_FLAG_STATE set (entries unsorted, labels in first-use order);
 * deserialize checks that layout and rebuilds a state whose labels go into
 * the deserialize function's shared dictionary; combine appends the second
 * state to the first, remapping codes only when the dictionaries differ.
 *
 * The same builder, with a private dictionary, backs the text and binary
 * input functions of cnnrec.seq (seq.c), so every cnnrec.seq is produced by
 * SeqBuilderFinish().
 */
#include "cnnrec.h"

#include "common/hashfn.h"
#include "miscadmin.h"

#include "seq.h"

/* Interned text-event labels; codes are 0.. in insertion order. */
typedef struct SeqDict
{
	MemoryContext mcxt;			/* owns the arrays below */
	int32		last_code;		/* code of the previous lookup, or -1 */
	int32		n_labels;
	int32		labels_cap;
	int32	   *label_off;		/* start of label i in label_buf */
	int32	   *label_len;		/* length of label i, without the NUL */
	uint32	   *label_hash;		/* hash_bytes() of label i */
	char	   *label_buf;		/* NUL-terminated labels, back to back */
	int32		label_bytes;	/* bytes used in label_buf */
	int32		label_buf_cap;
	int32	   *slots;			/* hash table: code + 1, or 0 when empty */
	int32		slot_mask;		/* number of slots - 1 (a power of 2 - 1) */
	/* scratch for collecting the labels one state uses (see above) */
	uint32		stamp;			/* current generation, never 0 */
	uint32	   *mark;			/* mark[code] == stamp: code seen this round */
	int32	   *local;			/* local[code]: its index this round */
} SeqDict;

struct SeqBuilder
{
	/* touched by every row */
	int32		n;				/* entries used */
	int32		cap;			/* entries allocated */
	SeqEntry   *entries;
	int64		last_time;		/* time and item of entries[n - 1] */
	int64		last_item;
	bool		sorted;			/* entries are known to be in order */
	uint8		time_kind;		/* SeqTimeKind */
	uint8		event_kind;		/* SeqEventKind */
	SeqDict    *dict;			/* text events: label dictionary (maybe shared) */
	MemoryContext mcxt;			/* owns the entries */
};

/* First allocation of the entry array, in bytes (a power of two). */
#define SEQ_BUILDER_INITIAL_BYTES	256

/* ------------------------------------------------------------------------
 * Label dictionary
 * ------------------------------------------------------------------------
 */

/* Create an empty dictionary in mcxt. */
static SeqDict *
seq_dict_create(MemoryContext mcxt)
{
	SeqDict    *d = MemoryContextAllocZero(mcxt, sizeof(SeqDict));

	d->mcxt = mcxt;
	d->last_code = -1;
	d->stamp = 1;
	return d;
}

/* The dictionary shared by every call of a support function in one query. */
static SeqDict *
seq_dict_for(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = seq_dict_create(fcinfo->flinfo->fn_mcxt);
	return (SeqDict *) fcinfo->flinfo->fn_extra;
}

/* Grow an array of elem-byte elements from old_n to new_n (old_n may be 0). */
static void *
seq_grow_array(MemoryContext mcxt, void *p, int32 old_n, int32 new_n, Size elem)
{
	if (old_n == 0)
		return MemoryContextAllocHuge(mcxt, (Size) new_n * elem);
	return repalloc_huge(p, (Size) new_n * elem);
}

/* Insert code into the hash table (which has a free slot). */
static inline void
seq_dict_slot_insert(SeqDict *d, int32 code)
{
	uint32		i = d->label_hash[code] & d->slot_mask;

	while (d->slots[i] != 0)
		i = (i + 1) & d->slot_mask;
	d->slots[i] = code + 1;
}

/* Make room for one more label of len bytes; rebuild the table at half load. */
static void
seq_dict_grow(SeqDict *d, int len)
{
	int64		need = (int64) d->label_bytes + len + 1;

	if (need > MaxAllocSize || d->n_labels >= MaxAllocSize / (2 * sizeof(int32)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct event labels in one sequence_agg call"),
				 errdetail("The labels would need more than %zu bytes.", (Size) MaxAllocSize)));
	if (d->n_labels == d->labels_cap)
	{
		int32		cap = d->labels_cap ? d->labels_cap * 2 : 8;

		d->label_off = seq_grow_array(d->mcxt, d->label_off, d->labels_cap, cap, sizeof(int32));
		d->label_len = seq_grow_array(d->mcxt, d->label_len, d->labels_cap, cap, sizeof(int32));
		d->label_hash = seq_grow_array(d->mcxt, d->label_hash, d->labels_cap, cap, sizeof(uint32));
		d->local = seq_grow_array(d->mcxt, d->local, d->labels_cap, cap, sizeof(int32));
		d->mark = seq_grow_array(d->mcxt, d->mark, d->labels_cap, cap, sizeof(uint32));
		memset(d->mark + d->labels_cap, 0, (Size) (cap - d->labels_cap) * sizeof(uint32));
		d->labels_cap = cap;
	}
	if (need > d->label_buf_cap)
	{
		int64		cap = Min(Max(d->label_buf_cap * (int64) 2, Max(need, 256)),
							  (int64) MaxAllocSize);

		d->label_buf = seq_grow_array(d->mcxt, d->label_buf, d->label_buf_cap, (int32) cap, 1);
		d->label_buf_cap = (int32) cap;
	}
	if ((int64) (d->n_labels + 1) * 2 > (int64) d->slot_mask + 1)
	{
		int32		nslots = d->slots ? (d->slot_mask + 1) * 2 : 16;

		if (d->slots)
			pfree(d->slots);
		d->slots = MemoryContextAllocHuge(d->mcxt, (Size) nslots * sizeof(int32));
		memset(d->slots, 0, (Size) nslots * sizeof(int32));
		d->slot_mask = nslots - 1;
		for (int32 c = 0; c < d->n_labels; c++)
			seq_dict_slot_insert(d, c);
	}
}

/* Does code hold exactly this label? */
static inline bool
seq_dict_equals(const SeqDict *d, int32 code, const char *label, int len)
{
	return d->label_len[code] == len &&
		memcmp(d->label_buf + d->label_off[code], label, len) == 0;
}

/* Return the code of a label (len bytes, no NUL), adding it if new. */
static int32
seq_dict_lookup(SeqDict *d, const char *label, int len)
{
	uint32		h;
	int32		code;

	if (d->last_code >= 0 && seq_dict_equals(d, d->last_code, label, len))
		return d->last_code;
	h = hash_bytes((const unsigned char *) label, len);
	if (d->slots != NULL)
	{
		for (uint32 i = h & d->slot_mask; d->slots[i] != 0; i = (i + 1) & d->slot_mask)
		{
			code = d->slots[i] - 1;
			if (d->label_hash[code] == h && seq_dict_equals(d, code, label, len))
				return d->last_code = code;
		}
	}
	seq_dict_grow(d, len);
	code = d->n_labels++;
	d->label_off[code] = d->label_bytes;
	d->label_len[code] = len;
	d->label_hash[code] = h;
	memcpy(d->label_buf + d->label_bytes, label, len);
	d->label_buf[d->label_bytes + len] = '\0';
	d->label_bytes += len + 1;
	seq_dict_slot_insert(d, code);
	return d->last_code = code;
}

/* NUL-terminated label of a code. */
static inline const char *
seq_dict_label(const SeqDict *d, int32 code)
{
	return d->label_buf + d->label_off[code];
}

/*
 * Collect the distinct codes used by entries, in first-use order, into a
 * new array; afterwards d->local[code] is each code's index in it.  Sets
 * *bytes to the size of those labels with their NULs.
 */
static int32
seq_dict_collect(SeqDict *d, const SeqEntry *entries, int32 n, int32 **used,
				 int64 *bytes)
{
	int32		n_used = 0;
	int32	   *codes = palloc_extended((Size) Max(Min(n, d->n_labels), 1) * sizeof(int32),
										MCXT_ALLOC_HUGE);

	if (++d->stamp == 0)
	{
		memset(d->mark, 0, (Size) d->labels_cap * sizeof(uint32));
		d->stamp = 1;
	}
	*bytes = 0;
	for (int32 i = 0; i < n; i++)
	{
		int32		c = entries[i].event;

		if (c == SEQ_EVENT_NULL || d->mark[c] == d->stamp)
			continue;
		d->mark[c] = d->stamp;
		d->local[c] = n_used;
		codes[n_used++] = c;
		*bytes += d->label_len[c] + 1;
	}
	*used = codes;
	return n_used;
}

/* qsort_arg comparator: codes by strcmp of their labels. */
static int
seq_dict_code_cmp(const void *a, const void *b, void *arg)
{
	const SeqDict *d = (const SeqDict *) arg;

	return strcmp(seq_dict_label(d, *(const int32 *) a),
				  seq_dict_label(d, *(const int32 *) b));
}

/* Write the labels of used[] (in that order) into the dictionary of seq. */
static void
seq_dict_write(const SeqDict *d, Seq *seq, const int32 *used, int32 n_used)
{
	int32	   *off = (int32 *) SeqLabelOffsets(seq);
	char	   *dst = (char *) (off + n_used);
	int32		pos = 0;

	for (int32 r = 0; r < n_used; r++)
	{
		int32		len = d->label_len[used[r]] + 1;

		off[r] = pos;
		memcpy(dst + pos, seq_dict_label(d, used[r]), len);
		pos += len;
	}
}

/* ------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------
 */

/* Create an empty builder in mcxt using dict (text events only). */
static SeqBuilder *
seq_builder_create(MemoryContext mcxt, SeqTimeKind time_kind,
				   SeqEventKind event_kind, SeqDict *dict)
{
	SeqBuilder *b = MemoryContextAllocZero(mcxt, sizeof(SeqBuilder));

	b->mcxt = mcxt;
	b->time_kind = time_kind;
	b->event_kind = event_kind;
	b->sorted = true;
	b->cap = SEQ_BUILDER_INITIAL_BYTES / sizeof(SeqEntry);
	b->entries = MemoryContextAlloc(mcxt, b->cap * sizeof(SeqEntry));
	b->dict = (event_kind == SEQ_EVENT_TEXT) ? dict : NULL;
	return b;
}

/* Create an empty builder with a private dictionary, all in mcxt. */
SeqBuilder *
SeqBuilderCreate(MemoryContext mcxt, SeqTimeKind time_kind,
				 SeqEventKind event_kind)
{
	return seq_builder_create(mcxt, time_kind, event_kind,
							  event_kind == SEQ_EVENT_TEXT ? seq_dict_create(mcxt) : NULL);
}

/* Raise the "too large" error for a sequence of the given size. */
static void
pg_attribute_noreturn()
seq_too_large(uint64 size)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("cnnrec.seq would exceed the maximum size of %zu bytes",
					(Size) MaxAllocSize),
			 errdetail("The sequence needs " UINT64_FORMAT " bytes, at most %d events fit.",
					   size, SEQ_MAX_EVENTS),
			 errhint("Aggregate fewer events per group, for example only recent ones.")));
}

/*
 * Make room for at least need entries.  The array's byte size doubles and is
 * kept a power of two, the chunk sizes AllocSet hands out, so no chunk
 * space is wasted; the capacity is whatever fits.
 */
static void
seq_builder_reserve(SeqBuilder *b, int64 need)
{
	Size		bytes = SEQ_BUILDER_INITIAL_BYTES;
	int64		cap;

	if (need <= b->cap)
		return;
	if (need > SEQ_MAX_EVENTS)
		seq_too_large(SeqComputeSize(0, b->event_kind, 0, 0) +
					  (uint64) need * SEQ_EVENT_BYTES(b->event_kind));
	while ((int64) (bytes / sizeof(SeqEntry)) < need)
		bytes *= 2;
	cap = Min((int64) (bytes / sizeof(SeqEntry)), (int64) SEQ_MAX_EVENTS);
	b->entries = repalloc_huge(b->entries, (Size) cap * sizeof(SeqEntry));
	b->cap = (int32) cap;
}

/* Append one event; event is an integer value, a label code or SEQ_EVENT_NULL. */
void
SeqBuilderAdd(SeqBuilder *b, int64 item, int64 time, int32 event)
{
	SeqEntry   *e;

	if (unlikely(b->n == b->cap))
		seq_builder_reserve(b, (int64) b->n + 1);
	/* a tie on (time, item) also clears sorted: the event order is the sort's */
	if (b->n > 0 && (b->last_time > time ||
					 (b->last_time == time && b->last_item >= item)))
		b->sorted = false;
	b->last_time = time;
	b->last_item = item;
	e = &b->entries[b->n++];
	e->time = time;
	e->item = item;
	e->event = event;
}

/* Return the code of a text label (len bytes, no NUL), adding it if new. */
int32
SeqBuilderLabel(SeqBuilder *b, const char *label, int len)
{
	Assert(b->event_kind == SEQ_EVENT_TEXT);
	return seq_dict_lookup(b->dict, label, len);
}

/* Check an integer event value and return its stored code. */
int32
SeqCheckIntegerEvent(int64 value)
{
	if (value <= PG_INT32_MIN || value > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("event value " INT64_FORMAT " is out of range", value),
				 errhint("Integer events must be between %d and %d.",
						 PG_INT32_MIN + 1, PG_INT32_MAX)));
	return (int32) value;
}

/* Order of two event codes (via rank for text events); NULL sorts last. */
static inline int
seq_event_cmp(int32 a, int32 b, const int32 *rank)
{
	if (a == b)
		return 0;
	if (a == SEQ_EVENT_NULL)
		return 1;
	if (b == SEQ_EVENT_NULL)
		return -1;
	if (rank != NULL)
	{
		a = rank[a];
		b = rank[b];
	}
	return a < b ? -1 : 1;
}

/* The sequence order: time, then item, then event. */
static inline int
seq_entry_cmp(const SeqEntry *a, const SeqEntry *b, const int32 *rank)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return seq_event_cmp(a->event, b->event, rank);
}

#define ST_SORT seq_sort_entries
#define ST_ELEMENT_TYPE SeqEntry
#define ST_COMPARE(a, b, arg) seq_entry_cmp(a, b, arg)
#define ST_COMPARE_ARG_TYPE const int32
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Allocate a value of the builder's kinds with n events and the given labels. */
static Seq *
seq_alloc(const SeqBuilder *b, uint8 flags, int32 n_labels, int64 label_bytes)
{
	uint64		size;
	Seq		   *seq;

	if (label_bytes > PG_INT32_MAX)
		seq_too_large((uint64) label_bytes);
	size = SeqComputeSize(b->n, b->event_kind, n_labels, (int32) label_bytes);
	if (size > MaxAllocSize)
		seq_too_large(size);
	seq = palloc_extended((Size) size, MCXT_ALLOC_HUGE);
	memset(seq, 0, SEQ_HEADER_SIZE);
	SET_VARSIZE(seq, size);
	seq->version = SEQ_VERSION;
	seq->time_kind = b->time_kind;
	seq->event_kind = b->event_kind;
	seq->flags = flags;
	seq->n_events = b->n;
	seq->n_labels = n_labels;
	seq->label_bytes = (int32) label_bytes;
	return seq;
}

/* Copy the entries into the arrays of seq, events mapped through map if given. */
static void
seq_write_entries(const SeqBuilder *b, Seq *seq, const int32 *map)
{
	int64	   *items = (int64 *) SeqItems(seq);
	int64	   *times = (int64 *) SeqTimes(seq);
	int32	   *events = (int32 *) SeqEvents(seq);

	for (int32 i = 0; i < b->n; i++)
	{
		items[i] = b->entries[i].item;
		times[i] = b->entries[i].time;
	}
	if (events == NULL)
		return;
	for (int32 i = 0; i < b->n; i++)
	{
		int32		e = b->entries[i].event;

		events[i] = (map == NULL || e == SEQ_EVENT_NULL) ? e : map[e];
	}
}

/*
 * Sort the entries (in place) and return them as a new cnnrec.seq in the
 * current memory context.  The builder stays usable.
 */
Seq *
SeqBuilderFinish(SeqBuilder *b)
{
	SeqDict    *d = b->dict;
	int32	   *used = NULL;
	int32		n_used = 0;
	int64		used_bytes = 0;
	Seq		   *seq;

	if (d != NULL)
	{
		n_used = seq_dict_collect(d, b->entries, b->n, &used, &used_bytes);
		qsort_arg(used, n_used, sizeof(int32), seq_dict_code_cmp, d);
		for (int32 r = 0; r < n_used; r++)
			d->local[used[r]] = r;	/* local is now the label's rank */
	}
	if (!b->sorted)
		seq_sort_entries(b->entries, b->n, d ? d->local : NULL);
	b->sorted = true;

	seq = seq_alloc(b, 0, n_used, used_bytes);
	seq_write_entries(b, seq, d ? d->local : NULL);
	if (n_used > 0)
		seq_dict_write(d, seq, used, n_used);
	if (used != NULL)
		pfree(used);
	return seq;
}

/*
 * Append all entries of src to dst (same kinds).  Label codes are remapped
 * when the two use different dictionaries; with PostgreSQL 15 combine only
 * sees deserialized states, which share the deserialize function's
 * dictionary, so that path is a safeguard.
 */
static void
seq_builder_append(SeqBuilder *dst, SeqBuilder *src)
{
	int32	   *used = NULL;
	int32	   *map = NULL;
	int64		bytes;
	int32		n_used;

	Assert(dst->time_kind == src->time_kind && dst->event_kind == src->event_kind);
	if (src->n == 0)
		return;
	if (src->dict != NULL && src->dict != dst->dict)
	{
		n_used = seq_dict_collect(src->dict, src->entries, src->n, &used, &bytes);
		map = palloc_extended((Size) Max(src->dict->n_labels, 1) * sizeof(int32),
							  MCXT_ALLOC_HUGE);
		for (int32 k = 0; k < n_used; k++)
			map[used[k]] = seq_dict_lookup(dst->dict, seq_dict_label(src->dict, used[k]),
										   src->dict->label_len[used[k]]);
	}
	seq_builder_reserve(dst, (int64) dst->n + src->n);
	for (int32 i = 0; i < src->n; i++)
	{
		SeqEntry   *e = &dst->entries[dst->n + i];

		*e = src->entries[i];
		if (map != NULL && e->event != SEQ_EVENT_NULL)
			e->event = map[e->event];
	}
	dst->n += src->n;
	dst->last_time = src->last_time;
	dst->last_item = src->last_item;
	dst->sorted = false;
	if (map != NULL)
	{
		pfree(map);
		pfree(used);
	}
}

/* ------------------------------------------------------------------------
 * Aggregate support functions
 * ------------------------------------------------------------------------
 */

/* The aggregate memory context, or an error outside an aggregate. */
static inline MemoryContext
seq_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/* The transition state argument, or NULL. */
static inline SeqBuilder *
seq_agg_arg_state(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return (SeqBuilder *) PG_GETARG_POINTER(argno);
}

/*
 * Transition: (state, item int8, time, [event]).  Rows with a NULL item or
 * time are skipped; a NULL event is kept as a NULL event.  The call context
 * is checked when the state is created: a non-NULL internal state can only
 * come from the aggregate machinery.
 */
static inline Datum
seq_agg_trans(FunctionCallInfo fcinfo, SeqTimeKind time_kind,
			  SeqEventKind event_kind)
{
	SeqBuilder *b = seq_agg_arg_state(fcinfo, 0);
	int32		event = SEQ_EVENT_NULL;
	int64		time;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (b == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(b);
	}
	if (b == NULL)
		b = seq_builder_create(seq_agg_context(fcinfo, "sequence_agg_transfn"),
							   time_kind, event_kind,
							   event_kind == SEQ_EVENT_TEXT ? seq_dict_for(fcinfo) : NULL);
	if (event_kind != SEQ_EVENT_NONE && !PG_ARGISNULL(3))
	{
		if (event_kind == SEQ_EVENT_INTEGER)
			event = SeqCheckIntegerEvent(PG_GETARG_INT64(3));
		else
		{
			text	   *label = PG_GETARG_TEXT_PP(3);

			event = seq_dict_lookup(b->dict, VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
		}
	}
	/* timestamptz, timestamp and int8 are int64 Datums; a date is an int32 */
	time = (time_kind == SEQ_TIME_DATE) ? (int64) PG_GETARG_DATEADT(2) : PG_GETARG_INT64(2);
	SeqBuilderAdd(b, PG_GETARG_INT64(1), time, event);
	PG_RETURN_POINTER(b);
}

/* One exported transition function per (time kind, event kind) signature. */
#define SEQ_AGG_TRANSFN(name, time_kind, event_kind) \
	CNNREC_FUNCTION(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		return seq_agg_trans(fcinfo, time_kind, event_kind); \
	}

SEQ_AGG_TRANSFN(seq_agg_trans_tstz, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_tstz_int, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_tstz_text, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_ts, SEQ_TIME_TIMESTAMP, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_ts_int, SEQ_TIME_TIMESTAMP, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_ts_text, SEQ_TIME_TIMESTAMP, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_date, SEQ_TIME_DATE, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_date_int, SEQ_TIME_DATE, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_date_text, SEQ_TIME_DATE, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_int, SEQ_TIME_INTEGER, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_int_int, SEQ_TIME_INTEGER, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_int_text, SEQ_TIME_INTEGER, SEQ_EVENT_TEXT)

CNNREC_FUNCTION(seq_agg_combine);

/* Combine: append state 2 to state 1 (creating it in the aggregate context). */
Datum
seq_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = seq_agg_context(fcinfo, "sequence_agg_combinefn");
	SeqBuilder *s1 = seq_agg_arg_state(fcinfo, 0);
	SeqBuilder *s2 = seq_agg_arg_state(fcinfo, 1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	/* s2's dictionary is per-query (deserialize's), so s1 can share it */
	if (s1 == NULL)
		s1 = seq_builder_create(aggcxt, s2->time_kind, s2->event_kind, s2->dict);
	seq_builder_append(s1, s2);
	PG_RETURN_POINTER(s1);
}

CNNREC_FUNCTION(seq_agg_serialize);

/* Serialize: the Seq layout with SEQ_FLAG_STATE, entries as they are. */
Datum
seq_agg_serialize(PG_FUNCTION_ARGS)
{
	SeqBuilder *b;
	int32	   *used = NULL;
	int32		n_used = 0;
	int64		used_bytes = 0;
	Seq		   *out;

	(void) seq_agg_context(fcinfo, "sequence_agg_serialfn");
	b = (SeqBuilder *) PG_GETARG_POINTER(0);	/* strict */
	if (b->dict != NULL)
		n_used = seq_dict_collect(b->dict, b->entries, b->n, &used, &used_bytes);
	out = seq_alloc(b, SEQ_FLAG_STATE, n_used, used_bytes);
	seq_write_entries(b, out, b->dict ? b->dict->local : NULL);
	if (n_used > 0)
		seq_dict_write(b->dict, out, used, n_used);
	PG_RETURN_BYTEA_P(out);
}

CNNREC_FUNCTION(seq_agg_deserialize);

/* Deserialize: check the layout, rebuild a state in the current context. */
Datum
seq_agg_deserialize(PG_FUNCTION_ARGS)
{
	Seq		   *in;
	SeqBuilder *b;
	const int32 *events;
	int32	   *map = NULL;

	(void) seq_agg_context(fcinfo, "sequence_agg_deserialfn");
	in = (Seq *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));	/* strict */
	SeqCheck(in, VARSIZE(in), false);
	b = seq_builder_create(CurrentMemoryContext, SeqGetTimeKind(in), SeqGetEventKind(in),
						   SeqGetEventKind(in) == SEQ_EVENT_TEXT ? seq_dict_for(fcinfo) : NULL);
	seq_builder_reserve(b, SeqLength(in));
	if (SeqLabelCount(in) > 0)
	{
		map = palloc_extended((Size) SeqLabelCount(in) * sizeof(int32), MCXT_ALLOC_HUGE);
		for (int32 c = 0; c < SeqLabelCount(in); c++)
		{
			const char *label = SeqLabel(in, c);

			map[c] = seq_dict_lookup(b->dict, label, strlen(label));
		}
	}
	events = SeqEvents(in);
	for (int32 i = 0; i < SeqLength(in); i++)
	{
		int32		e = events ? events[i] : SEQ_EVENT_NULL;

		if (map != NULL && e != SEQ_EVENT_NULL)
			e = map[e];
		SeqBuilderAdd(b, SeqItems(in)[i], SeqTimes(in)[i], e);
	}
	PG_RETURN_POINTER(b);
}

CNNREC_FUNCTION(seq_agg_final);

/* Final: sort once and return the cnnrec.seq; no rows gives NULL. */
Datum
seq_agg_final(PG_FUNCTION_ARGS)
{
	SeqBuilder *b;

	(void) seq_agg_context(fcinfo, "sequence_agg_finalfn");
	b = seq_agg_arg_state(fcinfo, 0);
	if (b == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(SeqBuilderFinish(b));
}
