/*
 * seq.h
 *		On-disk layout of cnnrec.seq and a small accessor API.
 *
 * A cnnrec.seq is one user's interaction sequence, sorted by (time, item,
 * event), with NULL events last.  It is a plain varlena laid out as
 * structure-of-arrays so that a consumer (seq_items, the training worker)
 * can take the items or times with one memcpy:
 *
 *		Seq header			24 bytes (below), MAXALIGNed
 *		int64 items[n]		item ids, as given
 *		int64 times[n]		times in the stored unit of time_kind (below)
 *		int32 events[n]		only when event_kind != SEQ_EVENT_NONE
 *		int32 label_off[k]	only for text events: offset of label i in labels[]
 *		char  labels[b]		only for text events: k NUL-terminated labels
 *
 * where n = n_events, k = n_labels, b = label_bytes.  VARSIZE is exactly
 * SeqComputeSize(n, event_kind, k, b); every entry point checks that.
 *
 * Stored time units:
 *		SEQ_TIME_TIMESTAMPTZ, SEQ_TIME_TIMESTAMP: microseconds since
 *			2000-01-01 00:00 (the PostgreSQL Timestamp value, +-infinity
 *			included);
 *		SEQ_TIME_DATE: days since 2000-01-01 (the DateADT value, widened);
 *		SEQ_TIME_INTEGER: the integer as given (epoch seconds or a plain
 *			order number, the extension does not interpret it).
 * SeqTimeToEpoch() converts any of them to Unix epoch seconds.
 *
 * Events:
 *		SEQ_EVENT_NONE: no events[] array at all; SeqEventAt() answers
 *			SEQ_EVENT_NULL.
 *		SEQ_EVENT_INTEGER: the integer value itself, which must fit in int32
 *			and must not be PG_INT32_MIN.
 *		SEQ_EVENT_TEXT: a code 0..k-1 indexing the per-sequence label
 *			dictionary.  The dictionary is sorted by strcmp() (bytewise,
 *			collation-free), has no duplicates, so code order is label order.
 * A NULL event is stored as SEQ_EVENT_NULL (PG_INT32_MIN) in both kinds and
 * sorts after every non-NULL event (as ORDER BY ... ASC does).
 *
 * Reading a value (e.g. in the training worker):
 *
 *		Seq		   *s = SeqDetoastChecked(datum);	(or PG_GETARG_SEQ_P(n))
 *
 *		for (int32 i = 0; i < SeqLength(s); i++)
 *		{
 *			int64		item = SeqItems(s)[i];
 *			int64		epoch = SeqEpochAt(s, i);
 *			int32		event = SeqEventAt(s, i);
 *			const char *label = SeqLabel(s, event);	(text events; NULL if NULL)
 *		}
 *
 * The accessors are static inline; only SeqDetoastChecked()/SeqCheck() live
 * in seq.c, so another library needs just that file to read sequences.
 * Never use the accessors on a value that has not been checked.
 *
 * The version byte lets the format evolve: readers reject a version they do
 * not know rather than misread it.  flags is 0 in a cnnrec.seq; the
 * aggregate's serialized transition state (a bytea that never leaves a
 * parallel query) reuses this layout with SEQ_FLAG_STATE set, unsorted
 * entries and an unsorted dictionary.
 */
#ifndef CNNREC_SEQ_H
#define CNNREC_SEQ_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/date.h"
#include "utils/memutils.h"

#define SEQ_VERSION			1

/* Kind of the time column the sequence was built from. */
typedef enum SeqTimeKind
{
	SEQ_TIME_TIMESTAMPTZ = 1,
	SEQ_TIME_TIMESTAMP = 2,
	SEQ_TIME_DATE = 3,
	SEQ_TIME_INTEGER = 4
} SeqTimeKind;

/* Kind of the event column, if any. */
typedef enum SeqEventKind
{
	SEQ_EVENT_NONE = 0,
	SEQ_EVENT_INTEGER = 1,
	SEQ_EVENT_TEXT = 2
} SeqEventKind;

/* Stored code of a NULL event (and the answer of SeqEventAt without events). */
#define SEQ_EVENT_NULL		PG_INT32_MIN

/* flags bit: the value is a serialized aggregate state, not a cnnrec.seq */
#define SEQ_FLAG_STATE		0x01

typedef struct Seq
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint8		version;		/* SEQ_VERSION */
	uint8		time_kind;		/* SeqTimeKind */
	uint8		event_kind;		/* SeqEventKind */
	uint8		flags;			/* 0, or SEQ_FLAG_STATE */
	int32		n_events;		/* number of events, >= 0 */
	int32		n_labels;		/* text events: dictionary size, else 0 */
	int32		label_bytes;	/* text events: size of labels[], else 0 */
	int32		reserved;		/* 0; pads the header to 24 bytes */
} Seq;

#define SEQ_HEADER_SIZE		MAXALIGN(sizeof(Seq))

/* Bytes per event: item + time, plus the event code when there are events. */
#define SEQ_EVENT_BYTES(event_kind) \
	(2 * sizeof(int64) + ((event_kind) != SEQ_EVENT_NONE ? sizeof(int32) : 0))

/*
 * Most events one value can hold: the largest count whose items, times and
 * events fit in a 1 GB varlena.  Labels make the real limit a little lower;
 * producers check the exact size as they grow.
 */
#define SEQ_MAX_EVENTS \
	((int32) ((MaxAllocSize - SEQ_HEADER_SIZE) / SEQ_EVENT_BYTES(SEQ_EVENT_INTEGER)))

/* Exact VARSIZE of a value with these counts (no overflow for int32 counts). */
static inline uint64
SeqComputeSize(int32 n_events, SeqEventKind event_kind, int32 n_labels,
			   int32 label_bytes)
{
	uint64		size = SEQ_HEADER_SIZE;

	size += (uint64) n_events * SEQ_EVENT_BYTES(event_kind);
	if (event_kind == SEQ_EVENT_TEXT)
		size += (uint64) n_labels * sizeof(int32) + (uint64) label_bytes;
	return size;
}

/* Number of events. */
static inline int32
SeqLength(const Seq *seq)
{
	return seq->n_events;
}

/* Time kind of the sequence. */
static inline SeqTimeKind
SeqGetTimeKind(const Seq *seq)
{
	return (SeqTimeKind) seq->time_kind;
}

/* Event kind of the sequence. */
static inline SeqEventKind
SeqGetEventKind(const Seq *seq)
{
	return (SeqEventKind) seq->event_kind;
}

/* Item ids, n_events of them. */
static inline const int64 *
SeqItems(const Seq *seq)
{
	return (const int64 *) ((const char *) seq + SEQ_HEADER_SIZE);
}

/* Times in the stored unit of the time kind, n_events of them. */
static inline const int64 *
SeqTimes(const Seq *seq)
{
	return SeqItems(seq) + seq->n_events;
}

/* Event codes, n_events of them, or NULL when the kind is SEQ_EVENT_NONE. */
static inline const int32 *
SeqEvents(const Seq *seq)
{
	if (seq->event_kind == SEQ_EVENT_NONE)
		return NULL;
	return (const int32 *) (SeqTimes(seq) + seq->n_events);
}

/* Event code of event i; SEQ_EVENT_NULL when NULL or without events. */
static inline int32
SeqEventAt(const Seq *seq, int32 i)
{
	const int32 *events = SeqEvents(seq);

	return events ? events[i] : SEQ_EVENT_NULL;
}

/* Number of labels in the text-event dictionary (0 for other kinds). */
static inline int32
SeqLabelCount(const Seq *seq)
{
	return seq->n_labels;
}

/* Label offsets, n_labels of them (text events only). */
static inline const int32 *
SeqLabelOffsets(const Seq *seq)
{
	return (const int32 *) ((const char *) seq + SEQ_HEADER_SIZE +
							(Size) seq->n_events * SEQ_EVENT_BYTES(SEQ_EVENT_TEXT));
}

/* NUL-terminated label of a text event code, or NULL for SEQ_EVENT_NULL. */
static inline const char *
SeqLabel(const Seq *seq, int32 code)
{
	const int32 *off;

	if (code == SEQ_EVENT_NULL || seq->event_kind != SEQ_EVENT_TEXT)
		return NULL;
	off = SeqLabelOffsets(seq);
	return (const char *) (off + seq->n_labels) + off[code];
}

/*
 * Convert a stored time to Unix epoch seconds.  Timestamps (with or without
 * time zone; a timestamp without time zone is read as UTC) are rounded down
 * to the second; a date is its midnight UTC; an integer is returned as is.
 * -infinity and infinity map to PG_INT64_MIN and PG_INT64_MAX.
 */
static inline int64
SeqTimeToEpoch(SeqTimeKind kind, int64 t)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	switch (kind)
	{
		case SEQ_TIME_TIMESTAMPTZ:
		case SEQ_TIME_TIMESTAMP:
			if (TIMESTAMP_IS_NOBEGIN(t))
				return PG_INT64_MIN;
			if (TIMESTAMP_IS_NOEND(t))
				return PG_INT64_MAX;
			/* floor division: pre-2000 times round towards -infinity */
			return (t >= 0 ? t / USECS_PER_SEC
					: -((-t + USECS_PER_SEC - 1) / USECS_PER_SEC)) + shift;
		case SEQ_TIME_DATE:
			if (t == DATEVAL_NOBEGIN)
				return PG_INT64_MIN;
			if (t == DATEVAL_NOEND)
				return PG_INT64_MAX;
			return t * SECS_PER_DAY + shift;
		case SEQ_TIME_INTEGER:
			break;
	}
	return t;
}

/* Time of event i in Unix epoch seconds. */
static inline int64
SeqEpochAt(const Seq *seq, int32 i)
{
	return SeqTimeToEpoch((SeqTimeKind) seq->time_kind, SeqTimes(seq)[i]);
}

/*
 * Detoast a cnnrec.seq datum and check it completely (sizes and counts
 * against VARSIZE, kinds, dictionary, codes, time ranges, order).  Raises
 * ERRCODE_DATA_CORRUPTED on any inconsistency, so the accessors above are
 * safe on the result.  Implemented in seq.c.
 */
extern Seq *SeqDetoastChecked(Datum datum);

/*
 * Check a value already in memory.  canonical = true checks a cnnrec.seq;
 * false checks a serialized aggregate state (SEQ_FLAG_STATE, unsorted).
 */
extern void SeqCheck(const Seq *seq, Size size, bool canonical);

#define PG_GETARG_SEQ_P(n)	SeqDetoastChecked(PG_GETARG_DATUM(n))

/* ------------------------------------------------------------------------
 * Builder (seq_agg.c): the aggregate's transition state, also used by the
 * text and binary input functions.  Not part of the reader API above.
 * ------------------------------------------------------------------------
 */

/*
 * One event while building.  Packed to 20 bytes where the compiler allows:
 * the state of a long aggregate is mostly these, and 20 bytes instead of 24
 * is a sixth less memory (fewer spills in hash aggregation).
 */
typedef struct SeqEntry
{
	int64		time;
	int64		item;
	int32		event;			/* integer value, label code or SEQ_EVENT_NULL */
}
#ifdef pg_attribute_packed
			pg_attribute_packed()
#endif
SeqEntry;

typedef struct SeqBuilder SeqBuilder;

extern SeqBuilder *SeqBuilderCreate(MemoryContext mcxt, SeqTimeKind time_kind,
									SeqEventKind event_kind);
extern void SeqBuilderAdd(SeqBuilder *b, int64 item, int64 time, int32 event);
extern int32 SeqBuilderLabel(SeqBuilder *b, const char *label, int len);
extern int32 SeqCheckIntegerEvent(int64 value);
extern Seq *SeqBuilderFinish(SeqBuilder *b);

/*
 * Aggregate states built outside an aggregate call: the grouping node
 * (seq_group.c) appends rows to the same chunk chains sequence_agg uses and
 * finishes them with the same code.  A state is a char * (NULL: no rows).
 */
typedef struct SeqAppender SeqAppender;

extern SeqAppender *SeqAppenderCreate(MemoryContext cxt, SeqTimeKind time_kind,
									  SeqEventKind event_kind);
extern int32 SeqAppenderLabel(SeqAppender *a, const char *label, int len);
extern char *SeqAppenderAdd(SeqAppender *a, char *state, int64 item, int64 time,
							int32 event);
extern Seq *SeqStateFinish(const char *state);
typedef void (*SeqEntryFn) (void *arg, int64 item, int64 time, int32 event);
extern void SeqStateForEach(const char *state, SeqEntryFn fn, void *arg);
extern const char *SeqAppenderLabelText(SeqAppender *a, int32 code, int *len);
extern double SeqStateBytes(double rows, double groups);
extern bool SeqAggTransKinds(PGFunction fn, SeqTimeKind *time_kind,
							 SeqEventKind *event_kind);

#endif							/* CNNREC_SEQ_H */
