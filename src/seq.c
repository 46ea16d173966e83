/*
 * seq.c
 *		The cnnrec.seq type: checking, text and binary I/O, and the functions
 *		seq_items, seq_length, seq_last and seq_windows.
 *
 * Text format (output is always this canonical form; input accepts
 * whitespace between tokens and entries in any order, and sorts them):
 *
 *		timestamptz,text:[(42,"2024-01-01 10:00:00+00","view"),(7,"2024-01-01 10:05:00+00",NULL)]
 *		integer:[(42,1),(7,2)]
 *		date,integer:[(42,"2024-01-01",3)]
 *		timestamp:[]
 *
 * The prefix names the time kind (timestamptz, timestamp, date, integer),
 * then, after a comma, the event kind (integer, text) if there are events.
 * Each entry is (item, time[, event]).  Times are double-quoted except for
 * the integer kind; the output writes them in ISO style whatever DateStyle
 * is (timestamptz in the session TimeZone, with its offset), so the text
 * round-trips exactly.  Text events are double-quoted with \" and \\
 * escaped; NULL (unquoted, any case) is a NULL event.
 *
 * Binary format (send/recv): uint8 version (1), uint8 time kind, uint8 event
 * kind, int32 n, then n times { int64 item, int64 time in the stored unit
 * (a date is widened to int64), and with events an int32 length (-1 for
 * NULL) followed by an int32 value (length 4) or the label text }.
 *
 * NULL handling, the same for every function here: a NULL sequence gives
 * NULL (seq_windows: no rows); a NULL size argument (n, l, t) is an error,
 * and size arguments are checked before the sequence is looked at.
 *
 * Every function that receives a cnnrec.seq checks it with SeqCheck()
 * (seq_length, which reads only the header, checks the header against the
 * value's full size), so a hand-made or corrupted value raises
 * ERRCODE_DATA_CORRUPTED instead of reading out of bounds.
 */
#include "cnnrec.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "seq.h"

/* Largest l and t accepted by seq_windows. */
#define SEQ_MAX_WINDOW		1000

static const char *const seq_time_kind_names[] = {
	NULL, "timestamptz", "timestamp", "date", "integer"
};

static const char *const seq_event_kind_names[] = {
	NULL, "integer", "text"
};

/* ------------------------------------------------------------------------
 * Checking
 * ------------------------------------------------------------------------
 */

#define SEQ_CORRUPT(canonical, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_DATA_CORRUPTED), \
			 errmsg("invalid %s value", \
					(canonical) ? "cnnrec.seq" : "sequence_agg transition state"), \
			 errdetail(__VA_ARGS__)))

/* Is t a valid stored time (finite in range, or +-infinity) of this kind? */
static inline bool
seq_time_valid(SeqTimeKind kind, int64 t)
{
	switch (kind)
	{
		case SEQ_TIME_TIMESTAMPTZ:
		case SEQ_TIME_TIMESTAMP:
			return TIMESTAMP_NOT_FINITE(t) || IS_VALID_TIMESTAMP(t);
		case SEQ_TIME_DATE:
			return t >= PG_INT32_MIN && t <= PG_INT32_MAX &&
				(DATE_NOT_FINITE((DateADT) t) || IS_VALID_DATE((DateADT) t));
		case SEQ_TIME_INTEGER:
			return true;
	}
	return false;
}

/* Check the header fields against the total size of the value. */
static void
seq_check_header(const Seq *seq, uint64 size, bool canonical)
{
	uint64		expected;

	if (size < SEQ_HEADER_SIZE)
		SEQ_CORRUPT(canonical, "The value has " UINT64_FORMAT " bytes, less than the %d-byte header.",
					size, (int) SEQ_HEADER_SIZE);
	if (seq->version != SEQ_VERSION)
		SEQ_CORRUPT(canonical, "Format version %d is not supported, expected %d.",
					seq->version, SEQ_VERSION);
	if (seq->time_kind < SEQ_TIME_TIMESTAMPTZ || seq->time_kind > SEQ_TIME_INTEGER)
		SEQ_CORRUPT(canonical, "Unknown time kind %d.", seq->time_kind);
	if (seq->event_kind > SEQ_EVENT_TEXT)
		SEQ_CORRUPT(canonical, "Unknown event kind %d.", seq->event_kind);
	if (seq->flags != (canonical ? 0 : SEQ_FLAG_STATE) || seq->reserved != 0)
		SEQ_CORRUPT(canonical, "Unexpected flags %d or reserved field %d.",
					seq->flags, seq->reserved);
	if (seq->n_events < 0 || seq->n_labels < 0 || seq->label_bytes < 0)
		SEQ_CORRUPT(canonical, "Negative count in the header.");
	if (seq->event_kind != SEQ_EVENT_TEXT && (seq->n_labels != 0 || seq->label_bytes != 0))
		SEQ_CORRUPT(canonical, "A sequence without text events has a label dictionary.");
	if ((seq->n_labels == 0) != (seq->label_bytes == 0))
		SEQ_CORRUPT(canonical, "The label dictionary has %d labels in %d bytes.",
					seq->n_labels, seq->label_bytes);
	expected = SeqComputeSize(seq->n_events, seq->event_kind, seq->n_labels,
							  seq->label_bytes);
	if (expected != size)
		SEQ_CORRUPT(canonical, "The value has " UINT64_FORMAT " bytes, but its header describes " UINT64_FORMAT ".",
					size, expected);
}

/* Check the label dictionary: contiguous NUL-terminated labels, valid text. */
static void
seq_check_labels(const Seq *seq, bool canonical)
{
	const int32 *off = SeqLabelOffsets(seq);
	const char *data = (const char *) (off + seq->n_labels);
	int32		prev_end = 0;

	for (int32 i = 0; i < seq->n_labels; i++)
	{
		int32		start = off[i];
		int32		end = (i + 1 < seq->n_labels) ? off[i + 1] : seq->label_bytes;

		if (start != prev_end || end <= start || end > seq->label_bytes)
			SEQ_CORRUPT(canonical, "Label %d has bad offsets %d to %d.", i, start, end);
		if (memchr(data + start, '\0', end - start) != data + end - 1)
			SEQ_CORRUPT(canonical, "Label %d is not a NUL-terminated string.", i);
		if (!pg_verify_mbstr(GetDatabaseEncoding(), data + start, end - start - 1, true))
			SEQ_CORRUPT(canonical, "Label %d is not valid in the database encoding.", i);
		if (canonical && i > 0 && strcmp(data + off[i - 1], data + start) >= 0)
			SEQ_CORRUPT(canonical, "Labels %d and %d are not in strictly ascending order.",
						i - 1, i);
		prev_end = end;
	}
}

/* Order of two canonical event codes: by value, NULL last. */
static inline int
seq_event_order(int32 a, int32 b)
{
	if (a == b)
		return 0;
	if (a == SEQ_EVENT_NULL)
		return 1;
	if (b == SEQ_EVENT_NULL)
		return -1;
	return a < b ? -1 : 1;
}

/* Check times, event codes and (canonical only) the (time, item, event) order. */
static void
seq_check_entries(const Seq *seq, bool canonical)
{
	const int64 *items = SeqItems(seq);
	const int64 *times = SeqTimes(seq);
	const int32 *events = SeqEvents(seq);
	SeqTimeKind kind = SeqGetTimeKind(seq);
	bool		text = seq->event_kind == SEQ_EVENT_TEXT;

	for (int32 i = 0; i < seq->n_events; i++)
	{
		if (!seq_time_valid(kind, times[i]))
			SEQ_CORRUPT(canonical, "Event %d has time " INT64_FORMAT ", out of range for %s.",
						i, times[i], seq_time_kind_names[kind]);
		if (text && events[i] != SEQ_EVENT_NULL &&
			(events[i] < 0 || events[i] >= seq->n_labels))
			SEQ_CORRUPT(canonical, "Event %d has label code %d, outside the dictionary of %d labels.",
						i, events[i], seq->n_labels);
		if (canonical && i > 0 &&
			(times[i - 1] > times[i] ||
			 (times[i - 1] == times[i] &&
			  (items[i - 1] > items[i] ||
			   (items[i - 1] == items[i] && events != NULL &&
				seq_event_order(events[i - 1], events[i]) > 0)))))
			SEQ_CORRUPT(canonical, "Events %d and %d are not in (time, item, event) order.",
						i - 1, i);
	}
}

/* Check a whole value of the given size; see seq.h. */
void
SeqCheck(const Seq *seq, Size size, bool canonical)
{
	seq_check_header(seq, size, canonical);
	if (seq->event_kind == SEQ_EVENT_TEXT)
		seq_check_labels(seq, canonical);
	seq_check_entries(seq, canonical);
}

/* Detoast a cnnrec.seq datum and check it. */
Seq *
SeqDetoastChecked(Datum datum)
{
	Seq		   *seq = (Seq *) PG_DETOAST_DATUM(datum);

	SeqCheck(seq, VARSIZE(seq), true);
	return seq;
}

/* ------------------------------------------------------------------------
 * Text output
 * ------------------------------------------------------------------------
 */

/* Append a time of the given kind: an integer, or an ISO string in quotes. */
static void
seq_append_time(StringInfo buf, SeqTimeKind kind, int64 t)
{
	char		str[MAXDATELEN + 1];
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	const char *tzn;

	if (kind == SEQ_TIME_INTEGER)
	{
		appendBinaryStringInfo(buf, str, pg_lltoa(t, str));
		return;
	}
	if (kind == SEQ_TIME_DATE)
	{
		if (DATE_NOT_FINITE((DateADT) t))
			EncodeSpecialDate((DateADT) t, str);
		else
		{
			j2date((int) t + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
			EncodeDateOnly(&tm, USE_ISO_DATES, str);
		}
	}
	else if (TIMESTAMP_NOT_FINITE(t))
		EncodeSpecialTimestamp(t, str);
	else if (kind == SEQ_TIME_TIMESTAMPTZ &&
			 timestamp2tm(t, &tz, &tm, &fsec, &tzn, NULL) == 0)
		EncodeDateTime(&tm, fsec, true, tz, tzn, USE_ISO_DATES, str);
	else if (kind == SEQ_TIME_TIMESTAMP &&
			 timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) == 0)
		EncodeDateTime(&tm, fsec, false, 0, NULL, USE_ISO_DATES, str);
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, str);
	appendStringInfoChar(buf, '"');
}

/* Append a string in double quotes, escaping " and \ with a backslash. */
static void
seq_append_quoted(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/* Append one event: NULL, an integer or a quoted label. */
static void
seq_append_event(StringInfo buf, const Seq *seq, int32 code)
{
	char		str[MAXINT8LEN + 1];

	if (code == SEQ_EVENT_NULL)
		appendStringInfoString(buf, "NULL");
	else if (seq->event_kind == SEQ_EVENT_INTEGER)
		appendBinaryStringInfo(buf, str, pg_ltoa(code, str));
	else
		seq_append_quoted(buf, SeqLabel(seq, code));
}

CNNREC_FUNCTION(seq_out);

/* Text output: kinds, then the entries in order. */
Datum
seq_out(PG_FUNCTION_ARGS)
{
	Seq		   *seq = PG_GETARG_SEQ_P(0);
	const int64 *items = SeqItems(seq);
	const int64 *times = SeqTimes(seq);
	StringInfoData buf;
	char		str[MAXINT8LEN + 1];

	initStringInfo(&buf);
	appendStringInfoString(&buf, seq_time_kind_names[seq->time_kind]);
	if (seq->event_kind != SEQ_EVENT_NONE)
	{
		appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, seq_event_kind_names[seq->event_kind]);
	}
	appendStringInfoString(&buf, ":[");
	for (int32 i = 0; i < seq->n_events; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoChar(&buf, '(');
		appendBinaryStringInfo(&buf, str, pg_lltoa(items[i], str));
		appendStringInfoChar(&buf, ',');
		seq_append_time(&buf, SeqGetTimeKind(seq), times[i]);
		if (seq->event_kind != SEQ_EVENT_NONE)
		{
			appendStringInfoChar(&buf, ',');
			seq_append_event(&buf, seq, SeqEventAt(seq, i));
		}
		appendStringInfoChar(&buf, ')');
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Text input
 * ------------------------------------------------------------------------
 */

typedef struct SeqParser
{
	const char *input;			/* the whole literal, for messages */
	const char *p;				/* current position */
	StringInfoData tok;			/* scratch: the current token */
} SeqParser;

/* Report a syntax error: what was expected at the current position. */
static void
pg_attribute_noreturn()
seq_syntax_error(SeqParser *ps, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed cnnrec.seq literal: \"%s\"", ps->input),
			 *ps->p == '\0'
			 ? errdetail("Expected %s at the end of the input.", expected)
			 : errdetail("Expected %s at character %d.", expected,
						 pg_mbstrlen_with_len(ps->input, ps->p - ps->input) + 1),
			 errhint("A cnnrec.seq literal looks like 'integer,text:[(42,1700000000,\"view\")]'.")));
}

/* Skip whitespace. */
static inline void
seq_skip_space(SeqParser *ps)
{
	while (scanner_isspace(*ps->p))
		ps->p++;
}

/* Consume the character c (after whitespace) or fail. */
static void
seq_expect(SeqParser *ps, char c, const char *expected)
{
	seq_skip_space(ps);
	if (*ps->p != c)
		seq_syntax_error(ps, expected);
	ps->p++;
	seq_skip_space(ps);
}

/* Read a word of ASCII letters into ps->tok; false if there is none. */
static bool
seq_parse_word(SeqParser *ps)
{
	resetStringInfo(&ps->tok);
	while ((*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z'))
		appendStringInfoChar(&ps->tok, *ps->p++);
	return ps->tok.len > 0;
}

/* Read a time or event kind name out of names[1..count-1]; 0 if unknown. */
static int
seq_parse_kind(SeqParser *ps, const char *const *names, int count)
{
	if (seq_parse_word(ps))
		for (int k = 1; k < count; k++)
			if (pg_strcasecmp(ps->tok.data, names[k]) == 0)
				return k;
	return 0;
}

/* Read a signed integer literal as int64 (range errors as for bigint). */
static int64
seq_parse_int64(SeqParser *ps, const char *expected)
{
	const char *start = ps->p;

	if (*ps->p == '+' || *ps->p == '-')
		ps->p++;
	if (!isdigit((unsigned char) *ps->p))
	{
		ps->p = start;
		seq_syntax_error(ps, expected);
	}
	while (isdigit((unsigned char) *ps->p))
		ps->p++;
	resetStringInfo(&ps->tok);
	appendBinaryStringInfo(&ps->tok, start, ps->p - start);
	return pg_strtoint64(ps->tok.data);
}

/* Read a double-quoted string (\ escapes the next byte) into ps->tok. */
static void
seq_parse_quoted(SeqParser *ps, const char *expected)
{
	if (*ps->p != '"')
		seq_syntax_error(ps, expected);
	ps->p++;
	resetStringInfo(&ps->tok);
	for (;;)
	{
		if (*ps->p == '\\' && ps->p[1] != '\0')
			ps->p++;
		else if (*ps->p == '"')
			break;
		else if (*ps->p == '\0')
			seq_syntax_error(ps, "a closing double quote");
		appendStringInfoChar(&ps->tok, *ps->p++);
	}
	ps->p++;
}

/* Is the next token the word NULL (any case)? Consumes it if so. */
static bool
seq_parse_null(SeqParser *ps)
{
	if (pg_strncasecmp(ps->p, "null", 4) != 0 || isalnum((unsigned char) ps->p[4]))
		return false;
	ps->p += 4;
	return true;
}

/* Read a time of the given kind, in its stored unit. */
static int64
seq_parse_time(SeqParser *ps, SeqTimeKind kind)
{
	Datum		cstr;

	if (kind == SEQ_TIME_INTEGER)
		return seq_parse_int64(ps, "an integer time");
	seq_parse_quoted(ps, "a double-quoted time");
	cstr = CStringGetDatum(ps->tok.data);
	switch (kind)
	{
		case SEQ_TIME_TIMESTAMPTZ:
			return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, cstr,
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
		case SEQ_TIME_TIMESTAMP:
			return DatumGetTimestamp(DirectFunctionCall3(timestamp_in, cstr,
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
		default:
			return (int64) DatumGetDateADT(DirectFunctionCall1(date_in, cstr));
	}
}

/* Read an event (NULL, integer or quoted label) and return its code. */
static int32
seq_parse_event(SeqParser *ps, SeqBuilder *b, SeqEventKind kind)
{
	if (seq_parse_null(ps))
		return SEQ_EVENT_NULL;
	if (kind == SEQ_EVENT_INTEGER)
		return SeqCheckIntegerEvent(seq_parse_int64(ps, "an integer event or NULL"));
	seq_parse_quoted(ps, "a double-quoted event label or NULL");
	return SeqBuilderLabel(b, ps->tok.data, ps->tok.len);
}

/* Read one entry "(item, time[, event])" into the builder. */
static void
seq_parse_entry(SeqParser *ps, SeqBuilder *b, SeqTimeKind tkind, SeqEventKind ekind)
{
	int64		item;
	int64		time;
	int32		event = SEQ_EVENT_NULL;

	seq_expect(ps, '(', "\"(\"");
	item = seq_parse_int64(ps, "an integer item");
	seq_expect(ps, ',', "\",\" after the item");
	time = seq_parse_time(ps, tkind);
	if (ekind != SEQ_EVENT_NONE)
	{
		seq_expect(ps, ',', "\",\" after the time");
		event = seq_parse_event(ps, b, ekind);
	}
	seq_expect(ps, ')', ekind != SEQ_EVENT_NONE ? "\")\" after the event" : "\")\" after the time");
	SeqBuilderAdd(b, item, time, event);
}

/* Parse a whole literal into a builder created in the current context. */
static SeqBuilder *
seq_parse(SeqParser *ps)
{
	SeqTimeKind tkind;
	SeqEventKind ekind = SEQ_EVENT_NONE;
	SeqBuilder *b;

	seq_skip_space(ps);
	tkind = seq_parse_kind(ps, seq_time_kind_names, lengthof(seq_time_kind_names));
	if (tkind == 0)
		seq_syntax_error(ps, "a time kind (timestamptz, timestamp, date or integer)");
	seq_skip_space(ps);
	if (*ps->p == ',')
	{
		ps->p++;
		seq_skip_space(ps);
		ekind = seq_parse_kind(ps, seq_event_kind_names, lengthof(seq_event_kind_names));
		if (ekind == 0)
			seq_syntax_error(ps, "an event kind (integer or text)");
	}
	seq_expect(ps, ':', "\":\" after the kinds");
	seq_expect(ps, '[', "\"[\"");
	b = SeqBuilderCreate(CurrentMemoryContext, tkind, ekind);
	if (*ps->p != ']')
	{
		seq_parse_entry(ps, b, tkind, ekind);
		while (*ps->p == ',')
		{
			ps->p++;
			seq_parse_entry(ps, b, tkind, ekind);
		}
	}
	seq_expect(ps, ']', "\",\" or \"]\"");
	if (*ps->p != '\0')
		seq_syntax_error(ps, "the end of the input");
	return b;
}

CNNREC_FUNCTION(seq_in);

/* Text input: parse, sort, canonicalise. */
Datum
seq_in(PG_FUNCTION_ARGS)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "cnnrec.seq input",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	SeqParser	ps;
	SeqBuilder *b;
	Seq		   *result;

	ps.input = PG_GETARG_CSTRING(0);
	ps.p = ps.input;
	initStringInfo(&ps.tok);
	b = seq_parse(&ps);
	MemoryContextSwitchTo(old);
	result = SeqBuilderFinish(b);
	MemoryContextDelete(tmp);
	PG_RETURN_POINTER(result);
}

/* ------------------------------------------------------------------------
 * Binary I/O
 * ------------------------------------------------------------------------
 */

#define SEQ_BAD_BINARY(...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), \
			 errmsg("malformed binary cnnrec.seq value"), \
			 errdetail(__VA_ARGS__)))

/* Read one binary event: int32 length (-1 = NULL) and the value. */
static int32
seq_recv_event(StringInfo buf, SeqBuilder *b, SeqEventKind kind)
{
	int32		len = (int32) pq_getmsgint(buf, 4);
	char	   *label;
	int			nbytes;
	int32		code;

	if (len == -1)
		return SEQ_EVENT_NULL;
	if (kind == SEQ_EVENT_INTEGER)
	{
		if (len != 4)
			SEQ_BAD_BINARY("An integer event has length %d, expected 4.", len);
		return SeqCheckIntegerEvent((int32) pq_getmsgint(buf, 4));
	}
	if (len < 0 || len > buf->len - buf->cursor)
		SEQ_BAD_BINARY("A text event has length %d, but %d bytes are left.",
					   len, buf->len - buf->cursor);
	label = pq_getmsgtext(buf, len, &nbytes);
	code = SeqBuilderLabel(b, label, nbytes);
	pfree(label);
	return code;
}

/* Read the binary body into a builder created in the current context. */
static SeqBuilder *
seq_recv_body(StringInfo buf)
{
	int			version = pq_getmsgbyte(buf);
	int			tkind = pq_getmsgbyte(buf);
	int			ekind = pq_getmsgbyte(buf);
	int32		n = (int32) pq_getmsgint(buf, 4);
	SeqBuilder *b;

	if (version != SEQ_VERSION)
		SEQ_BAD_BINARY("Format version %d is not supported, expected %d.", version, SEQ_VERSION);
	if (tkind < SEQ_TIME_TIMESTAMPTZ || tkind > SEQ_TIME_INTEGER)
		SEQ_BAD_BINARY("Unknown time kind %d.", tkind);
	if (ekind > SEQ_EVENT_TEXT)
		SEQ_BAD_BINARY("Unknown event kind %d.", ekind);
	if (n < 0)
		SEQ_BAD_BINARY("Negative event count %d.", n);
	if (n > (buf->len - buf->cursor) / 16)
		SEQ_BAD_BINARY("The value claims %d events, but %d bytes are left.",
					   n, buf->len - buf->cursor);
	b = SeqBuilderCreate(CurrentMemoryContext, tkind, ekind);
	for (int32 i = 0; i < n; i++)
	{
		int64		item = pq_getmsgint64(buf);
		int64		time = pq_getmsgint64(buf);
		int32		event = SEQ_EVENT_NULL;

		if (!seq_time_valid(tkind, time))
			SEQ_BAD_BINARY("Event %d has time " INT64_FORMAT ", out of range for %s.",
						   i, time, seq_time_kind_names[tkind]);
		if (ekind != SEQ_EVENT_NONE)
			event = seq_recv_event(buf, b, ekind);
		SeqBuilderAdd(b, item, time, event);
	}
	return b;
}

CNNREC_FUNCTION(seq_recv);

/* Binary input: read, check, sort, canonicalise. */
Datum
seq_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "cnnrec.seq receive",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	SeqBuilder *b = seq_recv_body(buf);
	Seq		   *result;

	MemoryContextSwitchTo(old);
	result = SeqBuilderFinish(b);
	MemoryContextDelete(tmp);
	PG_RETURN_POINTER(result);
}

CNNREC_FUNCTION(seq_send);

/* Binary output, see the format at the top of the file. */
Datum
seq_send(PG_FUNCTION_ARGS)
{
	Seq		   *seq = PG_GETARG_SEQ_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, seq->version);
	pq_sendbyte(&buf, seq->time_kind);
	pq_sendbyte(&buf, seq->event_kind);
	pq_sendint32(&buf, seq->n_events);
	for (int32 i = 0; i < seq->n_events; i++)
	{
		int32		code = SeqEventAt(seq, i);

		pq_sendint64(&buf, SeqItems(seq)[i]);
		pq_sendint64(&buf, SeqTimes(seq)[i]);
		if (seq->event_kind == SEQ_EVENT_NONE)
			continue;
		if (code == SEQ_EVENT_NULL)
			pq_sendint32(&buf, -1);
		else if (seq->event_kind == SEQ_EVENT_INTEGER)
		{
			pq_sendint32(&buf, 4);
			pq_sendint32(&buf, code);
		}
		else
		{
			const char *label = SeqLabel(seq, code);

			pq_sendcountedtext(&buf, label, strlen(label), false);
		}
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------
 */

/* A one-dimensional int8 array: pad zeros, then count values. */
static ArrayType *
seq_int8_array(int32 pad, const int64 *values, int32 count)
{
	int32		total = pad + count;
	Size		size;
	ArrayType  *array;
	int64	   *data;

	if (total == 0)
		return construct_empty_array(INT8OID);
	size = ARR_OVERHEAD_NONULLS(1) + (Size) total * sizeof(int64);
	array = (ArrayType *) palloc0(size);
	SET_VARSIZE(array, size);
	array->ndim = 1;
	array->dataoffset = 0;
	array->elemtype = INT8OID;
	ARR_DIMS(array)[0] = total;
	ARR_LBOUND(array)[0] = 1;
	data = (int64 *) ARR_DATA_PTR(array);
	if (count > 0)
		memcpy(data + pad, values, (Size) count * sizeof(int64));
	return array;
}

CNNREC_FUNCTION(seq_items);

/* seq_items(seq) -> bigint[]: the items in sequence order. */
Datum
seq_items(PG_FUNCTION_ARGS)
{
	Seq		   *seq = PG_GETARG_SEQ_P(0);

	PG_RETURN_ARRAYTYPE_P(seq_int8_array(0, SeqItems(seq), SeqLength(seq)));
}

CNNREC_FUNCTION(seq_length);

/* seq_length(seq) -> int: reads and checks only the header. */
Datum
seq_length(PG_FUNCTION_ARGS)
{
	Datum		datum = PG_GETARG_DATUM(0);
	Size		size = toast_raw_datum_size(datum);
	Seq		   *header;

	if (size < SEQ_HEADER_SIZE)
		(void) SeqDetoastChecked(datum);	/* reports the short value */
	header = (Seq *) PG_DETOAST_DATUM_SLICE(datum, 0, SEQ_HEADER_SIZE - VARHDRSZ);
	seq_check_header(header, size, true);
	PG_RETURN_INT32(SeqLength(header));
}

/* Raise the error for a NULL size argument. */
static void
seq_check_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Check that a size argument lies in [lo, hi]. */
static int32
seq_check_size(int32 value, const char *name, int32 lo, int32 hi)
{
	if (value < lo || value > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d", name, lo, hi),
				 errdetail("The value given was %d.", value)));
	return value;
}

/*
 * Map the label codes used by events [start, start + count) to a compacted
 * dictionary (map[code] = new code or -1), keeping their order; returns the
 * number of labels kept and sets *bytes to their size.
 */
static int32
seq_slice_labels(const Seq *seq, int32 start, int32 count, int32 *map, int32 *bytes)
{
	const int32 *events = SeqEvents(seq);
	int32		kept = 0;

	*bytes = 0;
	for (int32 c = 0; c < seq->n_labels; c++)
		map[c] = -1;
	for (int32 i = start; i < start + count; i++)
		if (events[i] != SEQ_EVENT_NULL)
			map[events[i]] = 0;
	for (int32 c = 0; c < seq->n_labels; c++)
		if (map[c] == 0)
		{
			map[c] = kept++;
			*bytes += strlen(SeqLabel(seq, c)) + 1;
		}
	return kept;
}

/* The events [start, start + count) as a new value with a compacted dictionary. */
static Seq *
seq_slice(const Seq *seq, int32 start, int32 count)
{
	const int32 *events = SeqEvents(seq);
	int32	   *map = NULL;
	int32		n_labels = 0;
	int32		label_bytes = 0;
	Size		size;
	Seq		   *out;

	if (seq->n_labels > 0)
	{
		map = palloc((Size) seq->n_labels * sizeof(int32));
		n_labels = seq_slice_labels(seq, start, count, map, &label_bytes);
	}
	size = (Size) SeqComputeSize(count, seq->event_kind, n_labels, label_bytes);
	out = palloc0(size);
	SET_VARSIZE(out, size);
	out->version = SEQ_VERSION;
	out->time_kind = seq->time_kind;
	out->event_kind = seq->event_kind;
	out->n_events = count;
	out->n_labels = n_labels;
	out->label_bytes = label_bytes;
	memcpy((int64 *) SeqItems(out), SeqItems(seq) + start, (Size) count * sizeof(int64));
	memcpy((int64 *) SeqTimes(out), SeqTimes(seq) + start, (Size) count * sizeof(int64));
	for (int32 i = 0; events != NULL && i < count; i++)
	{
		int32		e = events[start + i];

		((int32 *) SeqEvents(out))[i] = (map == NULL || e == SEQ_EVENT_NULL) ? e : map[e];
	}
	if (n_labels > 0)
	{
		int32	   *off = (int32 *) SeqLabelOffsets(out);
		char	   *data = (char *) (off + n_labels);
		int32		pos = 0;

		for (int32 c = 0; c < seq->n_labels; c++)
		{
			int32		len;

			if (map[c] < 0)
				continue;
			len = strlen(SeqLabel(seq, c)) + 1;
			off[map[c]] = pos;
			memcpy(data + pos, SeqLabel(seq, c), len);
			pos += len;
		}
	}
	return out;
}

CNNREC_FUNCTION(seq_last);

/* seq_last(seq, n) -> seq: the last n events (all of them if fewer). */
Datum
seq_last(PG_FUNCTION_ARGS)
{
	int32		n;
	Seq		   *seq;

	seq_check_not_null(fcinfo, 1, "n");
	n = seq_check_size(PG_GETARG_INT32(1), "n", 0, PG_INT32_MAX);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	seq = PG_GETARG_SEQ_P(0);
	if (n >= SeqLength(seq))
		PG_RETURN_POINTER(seq);
	PG_RETURN_POINTER(seq_slice(seq, SeqLength(seq) - n, n));
}

/* State of seq_windows across calls. */
typedef struct SeqWindowsState
{
	Seq		   *seq;
	int32		l;
	int32		t;
	int32		pad;			/* zeros in front of the items: max(0, l + t - n) */
} SeqWindowsState;

/* Row r of the windows: positions [r, r + l) and [r + l, r + l + t) of the padded items. */
static HeapTuple
seq_window_row(SeqWindowsState *st, int32 r, TupleDesc tupdesc)
{
	const int64 *items = SeqItems(st->seq);
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int32		spans[2][2] = {{r, st->l}, {r + st->l, st->t}};

	for (int k = 0; k < 2; k++)
	{
		int32		from = spans[k][0];
		int32		len = spans[k][1];
		int32		zeros = Min(Max(st->pad - from, 0), len);
		const int64 *first = (zeros < len) ? items + (from + zeros - st->pad) : NULL;

		values[k] = PointerGetDatum(seq_int8_array(zeros, first, len - zeros));
	}
	return heap_form_tuple(tupdesc, values, nulls);
}

CNNREC_FUNCTION(seq_windows);

/*
 * seq_windows(seq, l, t) -> setof (input bigint[], target bigint[]): the
 * training windows of model-spec.md section 1.6.  With W = l + t and n
 * events: n >= W gives the n - W + 1 windows of W consecutive items; 0 < n < W
 * gives one window left-padded with 0; n = 0 gives no rows.
 */
Datum
seq_windows(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SeqWindowsState *st;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	tupdesc;
		int32		n;

		seq_check_not_null(fcinfo, 1, "l");
		seq_check_not_null(fcinfo, 2, "t");
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(SeqWindowsState));
		st->l = seq_check_size(PG_GETARG_INT32(1), "l", 1, SEQ_MAX_WINDOW);
		st->t = seq_check_size(PG_GETARG_INT32(2), "t", 1, SEQ_MAX_WINDOW);
		funcctx->max_calls = 0;
		if (!PG_ARGISNULL(0))
		{
			st->seq = PG_GETARG_SEQ_P(0);
			n = SeqLength(st->seq);
			st->pad = Max(st->l + st->t - n, 0);
			funcctx->max_calls = (n == 0) ? 0 : (n + st->pad) - (st->l + st->t) + 1;
		}
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = (SeqWindowsState *) funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		HeapTuple	tuple = seq_window_row(st, (int32) funcctx->call_cntr,
										   funcctx->tuple_desc);

		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
	}
	SRF_RETURN_DONE(funcctx);
}
