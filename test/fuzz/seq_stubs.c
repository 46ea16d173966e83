/*
 * seq_stubs.c
 *		Just enough of the PostgreSQL backend to run src/seq.c and
 *		src/seq_agg.c, unchanged, outside a server, for fuzz_seq.c.
 *
 * Why stubs and not a refactoring: the parser in seq.c is tied to the
 * backend by memory contexts, StringInfo, ereport and the datetime input
 * functions, and the part worth fuzzing is exactly that glue together
 * with the builder in seq_agg.c (sorting, the label dictionary, the
 * canonical value) and the checker SeqCheck().  Compiling both files as
 * they are against the server headers, with the ~30 backend functions
 * they call supplied here, fuzzes the shipped code with no change to src/.
 *
 * What is real and what is not:
 *	- memory contexts are real trees: every chunk is its own malloc (so
 *	  ASan sees overflows and use after MemoryContextDelete), and deleting
 *	  a context frees its chunks and children, as in the backend;
 *	- ereport(ERROR) records the SQLSTATE and longjmps to the harness
 *	  (stub_error_jmp), like PG_TRY; the message is formatted with the
 *	  caller's arguments, so a dangling %s argument is read;
 *	- StringInfo, pg_strtoint64, scanner_isspace, pg_strcasecmp, UTF-8
 *	  verification and DirectFunctionCall follow the backend's behaviour;
 *	- the datetime functions are NOT PostgreSQL's: a quoted time is
 *	  "infinity", "-infinity" or a decimal number in the stored unit
 *	  (microseconds, days), range-checked as the real input functions do,
 *	  and the output writes it back the same way.  PostgreSQL's own
 *	  datetime parser is not what this harness tests;
 *	- functions the text path never reaches (aggregate, SRF, binary I/O,
 *	  detoasting) abort(), so reaching one is reported, not ignored.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/memnodes.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "seq_stubs.h"

/* Plain libc formatting: port.h maps these to libpgport, not linked here. */
#undef vsnprintf
#undef sprintf

/* glibc's qsort_r has qsort_arg's comparator signature. */
extern void qsort_r(void *base, size_t nel, size_t width,
					int (*compar) (const void *, const void *, void *), void *arg);

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------
 */

sigjmp_buf *stub_error_jmp;
int			stub_error_code;
char		stub_error_msg[1024];
static int	stub_elevel;

/* Format a message into a buffer (reads every argument). */
static void
stub_format(char *dst, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(dst, len, fmt, ap);
}

bool
errstart_cold(int elevel, const char *domain)
{
	stub_elevel = elevel;
	stub_error_code = ERRCODE_INTERNAL_ERROR;	/* elog has no errcode */
	stub_error_msg[0] = '\0';
	return true;
}

bool
errstart(int elevel, const char *domain)
{
	return errstart_cold(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (stub_elevel >= ERROR)
	{
		if (!stub_error_jmp)
			abort();
		siglongjmp(*stub_error_jmp, 1);
	}
}

int
errcode(int sqlerrcode)
{
	stub_error_code = sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	stub_format(stub_error_msg, sizeof(stub_error_msg), fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	stub_format(stub_error_msg, sizeof(stub_error_msg), fmt, ap);
	va_end(ap);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	stub_format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

int
errhint(const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	stub_format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

/* ------------------------------------------------------------------------
 * Memory contexts: a tree of contexts, one malloc per chunk
 * ------------------------------------------------------------------------
 */

typedef struct StubChunk
{
	struct StubChunk *prev;
	struct StubChunk *next;
	size_t		size;
	size_t		pad;			/* keeps the payload 16-byte aligned */
	MemoryContext context;		/* right before the payload, as in PG */
} StubChunk;

typedef struct StubContext
{
	MemoryContextData hdr;
	StubChunk  *chunks;
} StubContext;

MemoryContext CurrentMemoryContext;
volatile sig_atomic_t InterruptPending = false;

#define CHUNK_OF(p)	((StubChunk *) ((char *) (p) - sizeof(StubChunk)))

/* Create a context under parent (NULL: a root). */
MemoryContext
stub_context_create(MemoryContext parent, const char *name)
{
	StubContext *c = calloc(1, sizeof(StubContext));

	if (!c)
		abort();
	c->hdr.type = T_AllocSetContext;
	c->hdr.name = name;
	c->hdr.parent = parent;
	if (parent)
	{
		c->hdr.nextchild = parent->firstchild;
		if (parent->firstchild)
			parent->firstchild->prevchild = &c->hdr;
		parent->firstchild = &c->hdr;
	}
	return &c->hdr;
}

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	return stub_context_create(parent, name);
}

/* Free a context's chunks and children, unlink it and free it. */
void
MemoryContextDelete(MemoryContext context)
{
	StubContext *c = (StubContext *) context;

	while (context->firstchild)
		MemoryContextDelete(context->firstchild);
	while (c->chunks)
	{
		StubChunk  *ch = c->chunks;

		c->chunks = ch->next;
		free(ch);
	}
	if (context->parent)
	{
		if (context->prevchild)
			context->prevchild->nextchild = context->nextchild;
		else
			context->parent->firstchild = context->nextchild;
		if (context->nextchild)
			context->nextchild->prevchild = context->prevchild;
	}
	if (CurrentMemoryContext == context)
		CurrentMemoryContext = NULL;
	free(c);
}

/* Allocate size bytes in context (the backend's size limits apply). */
static void *
stub_alloc(MemoryContext context, Size size, int flags)
{
	StubContext *c = (StubContext *) context;
	StubChunk  *ch;

	if (!context)
		abort();				/* allocation in a deleted context */
	if (!(flags & MCXT_ALLOC_HUGE) ? !AllocSizeIsValid(size) : !AllocHugeSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	ch = malloc(sizeof(StubChunk) + size);
	if (!ch)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	ch->size = size;
	ch->context = context;
	ch->prev = NULL;
	ch->next = c->chunks;
	if (c->chunks)
		c->chunks->prev = ch;
	c->chunks = ch;
	if (flags & MCXT_ALLOC_ZERO)
		memset(ch + 1, 0, size);
	return ch + 1;
}

/* Unlink a chunk from its context. */
static void
stub_unlink(StubChunk *ch)
{
	StubContext *c = (StubContext *) ch->context;

	if (ch->prev)
		ch->prev->next = ch->next;
	else
		c->chunks = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return stub_alloc(context, size, 0);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return stub_alloc(context, size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	return stub_alloc(context, size, MCXT_ALLOC_HUGE);
}

void *
palloc(Size size)
{
	return stub_alloc(CurrentMemoryContext, size, 0);
}

void *
palloc0(Size size)
{
	return stub_alloc(CurrentMemoryContext, size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return stub_alloc(CurrentMemoryContext, size, flags);
}

void
pfree(void *pointer)
{
	StubChunk  *ch = CHUNK_OF(pointer);

	stub_unlink(ch);
	free(ch);
}

/* Resize a chunk in its own context (a new malloc, so stale pointers fault). */
static void *
stub_realloc(void *pointer, Size size, int flags)
{
	StubChunk  *ch = CHUNK_OF(pointer);
	void	   *p = stub_alloc(ch->context, size, flags);

	memcpy(p, pointer, Min(size, ch->size));
	pfree(pointer);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	return stub_realloc(pointer, size, 0);
}

void *
repalloc_huge(void *pointer, Size size)
{
	return stub_realloc(pointer, size, MCXT_ALLOC_HUGE);
}

/* ------------------------------------------------------------------------
 * StringInfo (src/common/stringinfo.c, backend flavour)
 * ------------------------------------------------------------------------
 */

void
initStringInfo(StringInfo str)
{
	str->data = palloc(1024);
	str->maxlen = 1024;
	resetStringInfo(str);
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0)
		elog(ERROR, "invalid string enlargement request size: %d", needed);
	if (((Size) needed) >= (MaxAllocSize - (Size) str->len))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("out of memory")));
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	if (newlen > (int) MaxAllocSize)
		newlen = (int) MaxAllocSize;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	if (str->len + 1 >= str->maxlen)
		enlargeStringInfo(str, 1);
	str->data[str->len] = ch;
	str->len++;
	str->data[str->len] = '\0';
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * Small utilities (numutils.c, scansup.c, pgstrcasecmp.c, wchar.c)
 * ------------------------------------------------------------------------
 */

/* Backend pg_strtoint64 for what seq.c passes: [+-]digits. */
int64
pg_strtoint64(const char *s)
{
	const char *p = s;
	bool		neg = false;
	int64		v = 0;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((unsigned char) *p))
		goto invalid;
	for (; isdigit((unsigned char) *p); p++)
		if (__builtin_mul_overflow(v, 10, &v) ||
			__builtin_sub_overflow(v, *p - '0', &v))
			goto out_of_range;
	while (isspace((unsigned char) *p))
		p++;
	if (*p)
		goto invalid;
	if (!neg)
	{
		if (v == PG_INT64_MIN)
			goto out_of_range;
		v = -v;
	}
	return v;
out_of_range:
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value \"%s\" is out of range for type %s", s, "bigint")));
invalid:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "bigint", s)));
}

int
pg_lltoa(int64 value, char *a)
{
	return sprintf(a, INT64_FORMAT, value);
}

int
pg_ltoa(int32 value, char *a)
{
	return sprintf(a, "%d", value);
}

bool
scanner_isspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}

int
pg_strcasecmp(const char *s1, const char *s2)
{
	return pg_strncasecmp(s1, s2, SIZE_MAX);
}

int
pg_strncasecmp(const char *s1, const char *s2, size_t n)
{
	for (; n-- > 0; s1++, s2++)
	{
		unsigned char c1 = (unsigned char) *s1,
					c2 = (unsigned char) *s2;

		if (c1 >= 'A' && c1 <= 'Z')
			c1 += 'a' - 'A';
		if (c2 >= 'A' && c2 <= 'Z')
			c2 += 'a' - 'A';
		if (c1 != c2)
			return (int) c1 - (int) c2;
		if (c1 == 0)
			break;
	}
	return 0;
}

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

/* Length of one valid UTF-8 character at s (at most len bytes), or -1. */
static int
stub_utf8_char(const unsigned char *s, int len)
{
	int			n;
	uint32		cp;

	if (s[0] < 0x80)
		return s[0] ? 1 : -1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (n > len)
		return -1;
	for (int k = 1; k < n; k++)
	{
		if ((s[k] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return -1;
	return n;
}

bool
pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	const unsigned char *s = (const unsigned char *) mbstr;

	while (len > 0)
	{
		int			n = stub_utf8_char(s, len);

		if (n < 0)
		{
			if (noError)
				return false;
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid byte sequence for encoding \"UTF8\"")));
		}
		s += n;
		len -= n;
	}
	return true;
}

int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			n = 0;

	for (int i = 0; i < limit && mbstr[i]; i++)
		n += ((unsigned char) mbstr[i] & 0xC0) != 0x80;
	return n;
}

uint32
hash_bytes(const unsigned char *k, int keylen)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < keylen; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

void
qsort_arg(void *base, size_t nel, size_t elsize, qsort_arg_comparator cmp, void *arg)
{
	qsort_r(base, nel, elsize, cmp, arg);
}

void
ProcessInterrupts(void)
{
	InterruptPending = false;
}

/* ------------------------------------------------------------------------
 * fmgr
 * ------------------------------------------------------------------------
 */

/* Call func with the given arguments; a NULL result is an error. */
static Datum
stub_call(PGFunction func, Oid collation, int nargs, Datum *args)
{
	LOCAL_FCINFO(fcinfo, 3);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, collation, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = false;
	}
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function returned NULL");
	return result;
}

Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	return stub_call(func, collation, 1, &arg1);
}

Datum
DirectFunctionCall3Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2, Datum arg3)
{
	Datum		args[3] = {arg1, arg2, arg3};

	return stub_call(func, collation, 3, args);
}

/* ------------------------------------------------------------------------
 * Datetime stand-ins: "infinity", "-infinity" or the stored number
 * ------------------------------------------------------------------------
 */

/* Parse a stand-in time: DT_NOBEGIN / DT_NOEND or an integer. */
static int64
stub_time_in(const char *s, int64 lo, int64 hi, const char *type)
{
	const char *p = s;

	if (strcmp(s, "infinity") == 0)
		return DT_NOEND;
	if (strcmp(s, "-infinity") == 0)
		return DT_NOBEGIN;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char) *p) || strspn(p, "0123456789") != strlen(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid input syntax for type %s: \"%s\"", type, s)));
	{
		int64		v = pg_strtoint64(s);

		if (v < lo || v >= hi)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("%s out of range: \"%s\"", type, s)));
		return v;
	}
}

Datum
timestamptz_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(stub_time_in(PG_GETARG_CSTRING(0), MIN_TIMESTAMP, END_TIMESTAMP,
									   "timestamp with time zone"));
}

Datum
timestamp_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMP(stub_time_in(PG_GETARG_CSTRING(0), MIN_TIMESTAMP, END_TIMESTAMP,
									 "timestamp"));
}

Datum
date_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	if (strcmp(s, "infinity") == 0)
		PG_RETURN_DATEADT(DATEVAL_NOEND);
	if (strcmp(s, "-infinity") == 0)
		PG_RETURN_DATEADT(DATEVAL_NOBEGIN);
	PG_RETURN_DATEADT((DateADT) stub_time_in(s, DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE,
											 DATE_END_JULIAN - POSTGRES_EPOCH_JDATE, "date"));
}

static int64 stub_last_time;	/* what timestamp2tm / j2date were given */

int
timestamp2tm(Timestamp dt, int *tzp, struct pg_tm *tm, fsec_t *fsec,
			 const char **tzn, pg_tz *attimezone)
{
	if (!IS_VALID_TIMESTAMP(dt))
		return -1;
	memset(tm, 0, sizeof(*tm));
	*fsec = 0;
	if (tzp)
		*tzp = 0;
	if (tzn)
		*tzn = NULL;
	stub_last_time = dt;
	return 0;
}

void
j2date(int jd, int *year, int *month, int *day)
{
	*year = *month = *day = 0;
	stub_last_time = (int64) jd - POSTGRES_EPOCH_JDATE;
}

void
EncodeDateTime(struct pg_tm *tm, fsec_t fsec, bool print_tz, int tz,
			   const char *tzn, int style, char *str)
{
	sprintf(str, INT64_FORMAT, stub_last_time);
}

void
EncodeDateOnly(struct pg_tm *tm, int style, char *str)
{
	sprintf(str, INT64_FORMAT, stub_last_time);
}

void
EncodeSpecialTimestamp(Timestamp dt, char *str)
{
	strcpy(str, TIMESTAMP_IS_NOBEGIN(dt) ? "-infinity" : "infinity");
}

void
EncodeSpecialDate(DateADT dt, char *str)
{
	strcpy(str, DATE_IS_NOBEGIN(dt) ? "-infinity" : "infinity");
}

/* Detoasting: values built here are never toasted or short-header. */
struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		abort();
	return datum;
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	return datum;
}
