/*
 * seq_unreached.c
 *		Backend functions that src/seq.c and src/seq_agg.c reference but the
 *		text input and output never call (aggregate, set-returning and
 *		binary I/O support).  Each aborts, so fuzz_seq reports reaching one.
 *		Kept apart from seq_stubs.c because their real prototypes would
 *		clash with these argument-less definitions.
 */
#include <stdio.h>
#include <stdlib.h>

#define UNREACHED(name) \
	void name(void); \
	void name(void) { fprintf(stderr, "seq_stubs: %s reached\n", #name); abort(); }

UNREACHED(AggCheckCallContext)
UNREACHED(BlessTupleDesc)
UNREACHED(HeapTupleHeaderGetDatum)
UNREACHED(MemoryContextRegisterResetCallback)
UNREACHED(construct_empty_array)
UNREACHED(end_MultiFuncCall)
UNREACHED(get_call_result_type)
UNREACHED(heap_form_tuple)
UNREACHED(init_MultiFuncCall)
UNREACHED(per_MultiFuncCall)
UNREACHED(pg_detoast_datum_slice)
UNREACHED(toast_raw_datum_size)
UNREACHED(pq_begintypsend)
UNREACHED(pq_endtypsend)
UNREACHED(pq_getmsgbyte)
UNREACHED(pq_getmsgint)
UNREACHED(pq_getmsgint64)
UNREACHED(pq_getmsgtext)
UNREACHED(pq_sendcountedtext)
