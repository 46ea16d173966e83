/*
 * fuzz_seq.c
 *		libFuzzer harness for the text input of the cnnrec.seq type: the
 *		real seq_in()/seq_out() of src/seq.c and the builder of
 *		src/seq_agg.c, run outside the server on the backend stand-ins of
 *		seq_stubs.c (see there for what is real).
 *
 * What it proves: for any string, seq_in() either raises an ordinary
 * input error (syntax, range, encoding, size) or returns a value that
 *	1. passes SeqCheck() as canonical (never ERRCODE_DATA_CORRUPTED, never
 *	   an internal elog), and
 *	2. round-trips: seq_out() of it parses again without error into the
 *	   same bytes, and prints the same text (output is canonical).
 * Built with ASan and UBSan, so any out-of-bounds access, use of freed
 * memory (also after a context is deleted), leak or undefined arithmetic
 * stops the run.  A violated property calls abort().
 *
 * Inputs are limited to what the server can deliver to an input function:
 * valid UTF-8 without NUL bytes (the database encoding of the test
 * clusters); anything else is skipped.
 *
 * FUZZ_SEQ_PRINT=1 prints each input's canonical output or error message.
 *
 * Each input runs in its own memory context, deleted afterwards, also
 * after an error (as a transaction abort would).
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "seq.h"
#include "seq_stubs.h"

#undef fprintf					/* libc's, not libpgport's */

extern Datum seq_in(PG_FUNCTION_ARGS);
extern Datum seq_out(PG_FUNCTION_ARGS);

static MemoryContext root;

/* Five-character SQLSTATE text of an errcode. */
static const char *
sqlstate(int code)
{
	static char buf[6];

	for (int i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(code);
		code >>= 6;
	}
	buf[5] = '\0';
	return buf;
}

/* Report a violated property with the text involved, then abort. */
static void
violated(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_seq: %s (SQLSTATE %s, \"%s\")\ninput: \"%s\"\n", what,
			sqlstate(stub_error_code), stub_error_msg, text ? text : "");
	abort();
}

/* Parse, check, print, parse again and compare; errors jump out. */
static void
round_trip(const char *text, volatile int *stage, char *volatile *out)
{
	Seq		   *s1,
			   *s2;
	char	   *o2;

	s1 = (Seq *) DatumGetPointer(DirectFunctionCall1(seq_in, CStringGetDatum(text)));
	*stage = 1;
	SeqCheck(s1, VARSIZE(s1), true);
	*out = DatumGetCString(DirectFunctionCall1(seq_out, PointerGetDatum(s1)));
	*stage = 2;
	s2 = (Seq *) DatumGetPointer(DirectFunctionCall1(seq_in, CStringGetDatum(*out)));
	if (VARSIZE(s2) != VARSIZE(s1) || memcmp(s1, s2, VARSIZE(s1)) != 0)
		violated("the output does not parse back into the same value", *out);
	o2 = DatumGetCString(DirectFunctionCall1(seq_out, PointerGetDatum(s2)));
	if (strcmp(o2, *out) != 0)
		violated("the output is not canonical", o2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MemoryContext iter;
	sigjmp_buf	jb;
	volatile int stage = 0;
	char	   *volatile out = NULL;
	char	   *text;

	/*
	 * The server hands an input function only text that is valid in the
	 * database encoding (client input is verified on arrival), so bytes
	 * that are not valid UTF-8, or a NUL, never reach seq_in.
	 */
	if (!pg_verify_mbstr(PG_UTF8, (const char *) data, (int) size, true))
		return 0;
	if (!root)
		root = stub_context_create(NULL, "fuzz root");
	iter = stub_context_create(root, "fuzz input");
	CurrentMemoryContext = iter;
	/* an exact-size NUL-terminated copy (the input function gets a cstring) */
	text = palloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	stub_error_jmp = &jb;
	if (sigsetjmp(jb, 0) == 0)
		round_trip(text, &stage, &out);
	else if (stage > 0)
		violated(stage == 1 ? "the value seq_in built fails SeqCheck or seq_out"
				 : "the output of seq_out does not parse", stage == 1 ? text : out);
	else if (stub_error_code == ERRCODE_DATA_CORRUPTED ||
			 stub_error_code == ERRCODE_INTERNAL_ERROR)
		violated("seq_in raised a corruption or internal error", text);
	if (getenv("FUZZ_SEQ_PRINT"))	/* to look at single inputs by hand */
		fprintf(stderr, "%s\n", out ? out : stub_error_msg);
	stub_error_jmp = NULL;
	CurrentMemoryContext = root;
	MemoryContextDelete(iter);
	return 0;
}
