/*
 * seq_stubs.h
 *		The harness side of seq_stubs.c: where ereport(ERROR) jumps to and
 *		what it recorded, and a context constructor for the harness.
 */
#ifndef CNNREC_SEQ_STUBS_H
#define CNNREC_SEQ_STUBS_H

#include <setjmp.h>

extern sigjmp_buf *stub_error_jmp;	/* set by the harness around each call */
extern int	stub_error_code;		/* SQLSTATE of the last error (MAKE_SQLSTATE) */
extern char stub_error_msg[1024];	/* its primary message */

/* A memory context under parent (NULL: a new root). */
extern MemoryContext stub_context_create(MemoryContext parent, const char *name);

#endif							/* CNNREC_SEQ_STUBS_H */
