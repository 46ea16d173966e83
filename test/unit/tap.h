/*
 * tap.h
 *		Minimal TAP producer for the C unit tests (run by prove).
 *
 * Each test binary calls ok()/is_double() and ends with done_testing(),
 * which prints the plan and returns the exit status (non-zero on failure).
 */
#ifndef CNNREC_TAP_H
#define CNNREC_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

/* Report one assertion; returns cond so callers can add diagnostics. */
static inline int
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* Print a diagnostic line (TAP comment). */
static inline void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Assert |got - want| <= tol, printing both on failure. */
static inline int
is_double(double got, double want, double tol, const char *name)
{
	int			cond = fabs(got - want) <= tol && !isnan(got);

	ok(cond, "%s", name);
	if (!cond)
		diag("got %.9g, want %.9g (tolerance %.3g)", got, want, tol);
	return cond;
}

/* Print the plan; exit status is 1 if anything failed. */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif							/* CNNREC_TAP_H */
