/*
 * readers.h
 *		Parsers of the benchmark interaction logs into an NnDataset (for the
 *		command-line trainer; not linked into the extension).
 *
 * Formats (see /work/shared/data/<set>/PROVENANCE.md):
 *	udata		ml-100k u.data: user item rating ts, tab (or blank) separated;
 *				event = rating.
 *	mlcsv		MovieLens ratings.csv: header, CRLF possible, user,item,rating,ts;
 *				rating 0.5..5 in half stars, event = 2 * rating (1..10).
 *	taobao		UserBehavior.csv: user,item,category,behavior,ts; behavior
 *				pv/cart/fav/buy -> event 1/2/3/4; the category is passed on
 *				(nn_ds_append_category) for the item-category tables.
 *	diginetica	sample_train-item-views.csv: header, ';'-separated
 *				session;user;item;timeframe;eventdate; user = session id,
 *				time = days(eventdate) * 86400 + timeframe / 1000, event 0.
 *	pairs		"user item" per line, already in time order, no timestamps:
 *				time = index of the data row (0, 1, ...), event 0.
 * Ids must be integers (int64).  Blank lines are skipped; a first line that
 * does not parse is taken as a header in mlcsv/diginetica; any other line
 * that does not parse is counted as malformed (with its line number) and
 * skipped, never fatal.
 */
#ifndef CNNREC_TOOLS_READERS_H
#define CNNREC_TOOLS_READERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/dataset.h"

#define NN_FMT_UDATA		1
#define NN_FMT_MLCSV		2
#define NN_FMT_TAOBAO		3
#define NN_FMT_DIGINETICA	4
#define NN_FMT_PAIRS		5

#define NN_READ_MAX_BAD		8	/* malformed line numbers remembered */

typedef struct NnReadStats
{
	int64_t		lines;			/* physical lines seen */
	int64_t		rows;			/* interactions appended */
	int64_t		blank;			/* empty lines skipped */
	int64_t		header;			/* header lines skipped */
	int64_t		malformed;		/* lines rejected */
	int32_t		n_bad;			/* entries used in bad_line[] */
	int64_t		bad_line[NN_READ_MAX_BAD];	/* first malformed line numbers (1-based) */
	char		first_bad_reason[64];	/* why the first malformed line was rejected */
} NnReadStats;

/* Format code of a name ("udata", "mlcsv", ...), or -1. */
extern int	nn_read_format(const char *name);
/* Name of a format code. */
extern const char *nn_read_format_name(int fmt);
/* Days since 1970-01-01 of "YYYY-MM-DD" in s[0..n); 0 on success, -1 if invalid. */
extern int	nn_read_parse_date(const char *s, size_t n, int64_t *days);
/*
 * Append every row of a stream / file to ds (not finalized).  Returns 0, or
 * -1 on an I/O or memory error with a message in err[errlen].  Malformed
 * lines are only counted in *st.
 */
extern int	nn_read_stream(FILE *f, int fmt, NnDataset *ds, NnReadStats *st,
						   char *err, size_t errlen);
extern int	nn_read_file(const char *path, int fmt, NnDataset *ds, NnReadStats *st,
						 char *err, size_t errlen);

#endif							/* CNNREC_TOOLS_READERS_H */
