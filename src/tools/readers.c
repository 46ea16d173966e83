/*
 * readers.c
 *		Dataset file parsers for the CLI trainer (model-spec §6.1 data
 *		preparation, §6.7 data at hand).  See readers.h for the formats.
 *
 * Lines are read with getline (any length), the trailing CR/LF is
 * stripped, and fields are parsed as (pointer, length) slices with strict
 * integer parsing (no locale, no silent truncation, overflow rejected).  A
 * bad line is counted and skipped; only I/O and memory errors stop a read.
 */
#include "tools/readers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8

typedef struct Field
{
	const char *p;
	size_t		n;
} Field;

/* Format code of a name, or -1. */
int
nn_read_format(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "udata") == 0)
		return NN_FMT_UDATA;
	if (strcmp(name, "mlcsv") == 0)
		return NN_FMT_MLCSV;
	if (strcmp(name, "taobao") == 0)
		return NN_FMT_TAOBAO;
	if (strcmp(name, "diginetica") == 0)
		return NN_FMT_DIGINETICA;
	if (strcmp(name, "pairs") == 0)
		return NN_FMT_PAIRS;
	return -1;
}

/* Name of a format code. */
const char *
nn_read_format_name(int fmt)
{
	switch (fmt)
	{
		case NN_FMT_UDATA:
			return "udata";
		case NN_FMT_MLCSV:
			return "mlcsv";
		case NN_FMT_TAOBAO:
			return "taobao";
		case NN_FMT_DIGINETICA:
			return "diginetica";
		case NN_FMT_PAIRS:
			return "pairs";
	}
	return "unknown";
}

/* 1 for a blank or tab. */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim blanks around a field. */
static Field
trim(Field f)
{
	while (f.n > 0 && is_blank(f.p[0]))
	{
		f.p++;
		f.n--;
	}
	while (f.n > 0 && is_blank(f.p[f.n - 1]))
		f.n--;
	return f;
}

/* Split on sep (0 = runs of blanks); returns the field count, or -1 if > max. */
static int
split(const char *s, size_t n, char sep, Field *out, int max)
{
	int			k = 0;
	size_t		i = 0;

	if (sep == 0)
	{
		while (i < n)
		{
			size_t		start;

			while (i < n && is_blank(s[i]))
				i++;
			if (i == n)
				break;
			start = i;
			while (i < n && !is_blank(s[i]))
				i++;
			if (k == max)
				return -1;
			out[k].p = s + start;
			out[k].n = i - start;
			k++;
		}
		return k;
	}
	for (;;)
	{
		size_t		start = i;

		while (i < n && s[i] != sep)
			i++;
		if (k == max)
			return -1;
		out[k].p = s + start;
		out[k].n = i - start;
		out[k] = trim(out[k]);
		k++;
		if (i == n)
			return k;
		i++;					/* skip the separator */
	}
}

/* Strict decimal int64 (optional sign); 0 on success. */
static int
parse_i64(Field f, int64_t *out)
{
	size_t		i = 0;
	int			neg = 0;
	uint64_t	v = 0;
	uint64_t	lim;

	if (f.n == 0)
		return -1;
	if (f.p[0] == '+' || f.p[0] == '-')
	{
		neg = f.p[0] == '-';
		i = 1;
	}
	if (i == f.n)
		return -1;
	lim = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < f.n; i++)
	{
		unsigned	d = (unsigned char) f.p[i] - '0';

		if (d > 9 || v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t) (0 - v) : (int64_t) v;
	return 0;
}

/* Half-star rating "r[.ddd]" with 0.5 <= r <= 5 -> 2r (1..10); 0 on success. */
static int
parse_half_stars(Field f, int32_t *out)
{
	size_t		i = 0;
	int64_t		ip = 0;
	int			half = 0;

	if (f.n == 0 || f.n > 16)
		return -1;
	while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9')
		ip = ip * 10 + (f.p[i++] - '0');
	if (i == 0)
		return -1;
	if (i < f.n)
	{
		if (f.p[i++] != '.' || i == f.n)
			return -1;
		if (f.p[i] == '5')
			half = 1;
		else if (f.p[i] != '0')
			return -1;
		for (i++; i < f.n; i++)
			if (f.p[i] != '0')
				return -1;
	}
	if (ip * 2 + half < 1 || ip * 2 + half > 10)
		return -1;
	*out = (int32_t) (ip * 2 + half);
	return 0;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parse exactly n digits at s into *v. */
static int
digits(const char *s, int n, int *v)
{
	int			i;

	*v = 0;
	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* "YYYY-MM-DD" -> days since the epoch. */
int
nn_read_parse_date(const char *s, size_t n, int64_t *days)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y;
	int			m;
	int			d;
	int			leap;

	if (n != 10 || s[4] != '-' || s[7] != '-' ||
		digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

/* Taobao behaviour name -> event id 1..4, or 0. */
static int32_t
taobao_event(Field f)
{
	if (f.n == 2 && memcmp(f.p, "pv", 2) == 0)
		return 1;
	if (f.n == 4 && memcmp(f.p, "cart", 4) == 0)
		return 2;
	if (f.n == 3 && memcmp(f.p, "fav", 3) == 0)
		return 3;
	if (f.n == 3 && memcmp(f.p, "buy", 3) == 0)
		return 4;
	return 0;
}

/* One parsed row. */
typedef struct ParsedRow
{
	int64_t		user;
	int64_t		item;
	int64_t		time;
	int32_t		event;
	int64_t		category;		/* item category (taobao), 0 = none */
} ParsedRow;

/* Parse a line of format fmt; NULL on success, else the reason. */
static const char *
parse_line(int fmt, const char *s, size_t n, int64_t row_index, ParsedRow *r)
{
	Field		f[MAX_FIELDS];
	int			k;
	int64_t		v;

	r->event = 0;
	r->category = 0;
	switch (fmt)
	{
		case NN_FMT_UDATA:
			if (split(s, n, 0, f, MAX_FIELDS) != 4)
				return "expected 4 fields";
			if (parse_i64(f[0], &r->user) || parse_i64(f[1], &r->item) ||
				parse_i64(f[2], &v) || parse_i64(f[3], &r->time))
				return "bad integer";
			if (v < 0 || v > INT32_MAX)
				return "rating out of range";
			r->event = (int32_t) v;
			return NULL;
		case NN_FMT_MLCSV:
			if (split(s, n, ',', f, MAX_FIELDS) != 4)
				return "expected 4 fields";
			if (parse_i64(f[0], &r->user) || parse_i64(f[1], &r->item) ||
				parse_i64(f[3], &r->time))
				return "bad integer";
			if (parse_half_stars(f[2], &r->event))
				return "bad rating";
			return NULL;
		case NN_FMT_TAOBAO:
			if (split(s, n, ',', f, MAX_FIELDS) != 5)
				return "expected 5 fields";
			if (parse_i64(f[0], &r->user) || parse_i64(f[1], &r->item) ||
				parse_i64(f[2], &r->category) || parse_i64(f[4], &r->time))
				return "bad integer";
			if ((r->event = taobao_event(f[3])) == 0)
				return "unknown behavior";
			return NULL;
		case NN_FMT_DIGINETICA:
			if (split(s, n, ';', f, MAX_FIELDS) != 5)
				return "expected 5 fields";
			if (parse_i64(f[0], &r->user) || parse_i64(f[2], &r->item) ||
				parse_i64(f[3], &v) || v < 0)
				return "bad integer";
			if (nn_read_parse_date(f[4].p, f[4].n, &r->time))
				return "bad date";
			r->time = r->time * 86400 + v / 1000;
			return NULL;
		case NN_FMT_PAIRS:
			k = split(s, n, 0, f, MAX_FIELDS);
			if (k != 2)
				return "expected 2 fields";
			if (parse_i64(f[0], &r->user) || parse_i64(f[1], &r->item))
				return "bad integer";
			r->time = row_index;
			return NULL;
	}
	return "unknown format";
}

/* Remember a malformed line. */
static void
note_bad(NnReadStats *st, int64_t lineno, const char *why)
{
	if (st->malformed == 0)
		snprintf(st->first_bad_reason, sizeof(st->first_bad_reason), "%s", why);
	st->malformed++;
	if (st->n_bad < NN_READ_MAX_BAD)
		st->bad_line[st->n_bad++] = lineno;
}

/* Read every line of f into ds. */
int
nn_read_stream(FILE *f, int fmt, NnDataset *ds, NnReadStats *st, char *err, size_t errlen)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		got;
	int			header_ok = fmt == NN_FMT_MLCSV || fmt == NN_FMT_DIGINETICA;
	int			rc = 0;

	memset(st, 0, sizeof(*st));
	if (err && errlen)
		err[0] = '\0';
	if (fmt < NN_FMT_UDATA || fmt > NN_FMT_PAIRS)
	{
		if (err)
			snprintf(err, errlen, "unknown format %d", fmt);
		return -1;
	}
	errno = 0;
	while ((got = getline(&line, &cap, f)) >= 0)
	{
		size_t		n = (size_t) got;
		ParsedRow	r;
		const char *why;

		st->lines++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (trim((Field) {line, n}).n == 0)
		{
			st->blank++;
			continue;
		}
		why = parse_line(fmt, line, n, st->rows, &r);
		if (why != NULL)
		{
			if (st->lines == 1 && header_ok)
				st->header++;
			else
				note_bad(st, st->lines, why);
			continue;
		}
		if (nn_ds_append_category(ds, r.user, r.item, r.time, r.event, r.category) != NN_DS_OK)
		{
			if (err)
				snprintf(err, errlen, "line %lld: %s", (long long) st->lines, ds->errmsg);
			rc = -1;
			break;
		}
		st->rows++;
	}
	/* getline returns -1 on EOF and on errors (including ENOMEM) */
	if (rc == 0 && (ferror(f) || !feof(f)))
	{
		if (err)
			snprintf(err, errlen, "read error after line %lld: %s",
					 (long long) st->lines, strerror(errno ? errno : EIO));
		rc = -1;
	}
	free(line);
	return rc;
}

/* Open path and read it. */
int
nn_read_file(const char *path, int fmt, NnDataset *ds, NnReadStats *st, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	int			rc;

	if (f == NULL)
	{
		memset(st, 0, sizeof(*st));
		if (err)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	rc = nn_read_stream(f, fmt, ds, st, err, errlen);
	fclose(f);
	return rc;
}
