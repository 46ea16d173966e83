/*
 * test_readers.c
 *		Tests of src/tools/readers.c (the CLI trainer's dataset parsers):
 *		synthetic inputs with malformed lines, CRLF, headers and dates; then
 *		the real files in /work/shared/data (skipped if absent), checked
 *		against the counts in their PROVENANCE.md and against the iterated
 *		5-core counts (computed independently in Python when written).
 *
 * src/tools/ is not part of the unit-test link line (only src/nn/ is),
 * so the reader is compiled into this test by inclusion.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/eval.h"
#include "tools/readers.c"
#include "tap.h"

#define DATA "/work/shared/data/"

/* Parse len bytes of text with fmt into a fresh dataset. */
static int
read_mem(const char *text, size_t len, int fmt, NnDataset *ds, NnReadStats *st)
{
	FILE	   *f = fmemopen((void *) text, len, "r");
	char		err[128];
	int			rc;

	nn_ds_init(ds);
	rc = nn_read_stream(f, fmt, ds, st, err, sizeof(err));
	fclose(f);
	return rc;
}

/* Parse a NUL-terminated text. */
static int
read_text(const char *text, int fmt, NnDataset *ds, NnReadStats *st)
{
	return read_mem(text, strlen(text), fmt, ds, st);
}

/* Synthetic inputs for each format. */
static void
test_synthetic(void)
{
	NnDataset	ds;
	NnReadStats st;
	int64_t		d;

	ok(read_text("1\t10\t5\t100\n2 20 3 50\n\nbad line\n3\t30\t4\n1\t11\t4\t99999999999999999999\n"
				 "4\t40\t2\t7", NN_FMT_UDATA, &ds, &st) == 0, "udata parsed");
	ok(st.rows == 3 && st.malformed == 3 && st.blank == 1 && st.lines == 7 &&
	   st.bad_line[0] == 4 && st.bad_line[1] == 5 && st.bad_line[2] == 6,
	   "udata: 3 rows, 3 malformed (lines 4, 5, 6: text, 3 fields, overflow), blank skipped, no final newline");
	ok(ds.rows[0].event == 5 && ds.rows[1].user == 2 && ds.rows[2].time == 7, "udata fields");
	nn_ds_free(&ds);

	ok(read_text("userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,0.5,964981247\r\n"
				 "2,5,4.25,1\r\n2,6,5.5,1\r\n2,7,3.50,2\r\n", NN_FMT_MLCSV, &ds, &st) == 0, "mlcsv parsed");
	ok(st.header == 1 && st.rows == 3 && st.malformed == 2 &&
	   ds.rows[0].event == 8 && ds.rows[1].event == 1 && ds.rows[2].event == 7,
	   "mlcsv: header, CRLF, rating x2 (4.0 -> 8, 0.5 -> 1, 3.50 -> 7); 4.25 and 5.5 rejected");
	nn_ds_free(&ds);

	ok(read_text("1,2268318,2520377,pv,1511544070\n1,2,3,cart,5\n1,2,3,fav,6\n1,2,3,buy,7\n"
				 "1,2,3,click,8\n1,2,3,pv\n", NN_FMT_TAOBAO, &ds, &st) == 0, "taobao parsed");
	ok(st.rows == 4 && st.malformed == 2 && ds.rows[0].event == 1 && ds.rows[1].event == 2 &&
	   ds.rows[2].event == 3 && ds.rows[3].event == 4 && ds.rows[0].item == 2268318,
	   "taobao: pv/cart/fav/buy -> 1..4; unknown behavior and short row rejected");
	ok(ds.n_cat_pairs == 4 && ds.cat_pairs[0].item == 2268318 && ds.cat_pairs[0].cat == 2520377 &&
	   ds.cat_pairs[3].item == 2 && ds.cat_pairs[3].cat == 3,
	   "taobao: the category column is passed on with the item");
	nn_ds_free(&ds);

	ok(read_text("session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n"
				 "2;5;9;1999;1970-01-02\n3;NA;9;1;2016-02-30\n", NN_FMT_DIGINETICA, &ds, &st) == 0,
	   "diginetica parsed");
	ok(st.header == 1 && st.rows == 2 && st.malformed == 1 &&
	   ds.rows[0].time == 16930LL * 86400 + 526 && ds.rows[1].time == 86400 + 1 &&
	   ds.rows[0].user == 1 && ds.rows[0].event == 0,
	   "diginetica: user = session, time = days * 86400 + timeframe / 1000; Feb 30 rejected");
	nn_ds_free(&ds);

	ok(read_text("7 100\n7 50\n8 100\n7\n7 100 3\n9 1\n", NN_FMT_PAIRS, &ds, &st) == 0 &&
	   st.rows == 4 && st.malformed == 2 && ds.rows[1].time == 1 && ds.rows[3].time == 3 &&
	   ds.rows[3].user == 9, "pairs: time = row order; 1- and 3-field lines rejected");
	nn_ds_finalize(&ds, NULL);
	ok(ds.seq_item[ds.seq_off[1]] == nn_ds_item_id(&ds, 100) &&
	   ds.seq_item[ds.seq_off[1] + 1] == nn_ds_item_id(&ds, 50), "pairs keep file order per user");
	nn_ds_free(&ds);

	{
		static const char garbage[] = "\x01\x02\xff\n\0\0\0\n1\t2\0\t3\t4\n5\t6\t1\t2";

		ok(read_mem(garbage, sizeof(garbage) - 1, NN_FMT_UDATA, &ds, &st) == 0 &&
		   st.rows == 1 && st.malformed == 3 && ds.rows[0].user == 5,
		   "binary garbage and embedded NULs: counted as malformed, no crash");
	}
	nn_ds_free(&ds);
	ok(nn_read_parse_date("2000-02-29", 10, &d) == 0 && d == 11016 &&
	   nn_read_parse_date("1900-02-29", 10, &d) == -1 && nn_read_parse_date("2016-1-09", 9, &d) == -1 &&
	   nn_read_parse_date("1969-12-31", 10, &d) == 0 && d == -1, "dates (leap years, pre-epoch)");
	ok(nn_read_format("taobao") == NN_FMT_TAOBAO && nn_read_format("x") == -1 &&
	   strcmp(nn_read_format_name(NN_FMT_PAIRS), "pairs") == 0, "format names");
	{
		NnReadStats st2;
		char		err[128];

		nn_ds_init(&ds);
		ok(nn_read_file("/nonexistent/file", NN_FMT_UDATA, &ds, &st2, err, sizeof(err)) == -1 &&
		   strstr(err, "cannot open") != NULL, "missing file -> error message");
		nn_ds_free(&ds);
	}
}

/* Expected counts of one real file. */
typedef struct RealCase
{
	const char *path;
	int			fmt;
	int64_t		rows, users, items;	/* PROVENANCE.md */
	int64_t		ev[11];			/* PROVENANCE.md: rows per event id 0..10 */
	int64_t		k_rows, k_users, k_items;	/* iterated 5-core */
	int32_t		k_passes;
	int64_t		s_rows, s_users, s_items;	/* single-pass 5-core (SASRec style) */
	int32_t		n_events;		/* event ids incl. 0 after the 5-core */
	int32_t		n_eval;			/* evaluated users after 5-core */
	double		pop_hr10;		/* MostPop test HR@10, exclusion on */
	double		pop_ndcg10;
} RealCase;

/* Read a real file and finalize it with a k-core (0 = none). */
static int
load_real(const RealCase *c, int32_t kcore, int32_t passes, NnDataset *ds, NnReadStats *st)
{
	NnDsOptions opt;
	char		err[256];

	memset(&opt, 0, sizeof(opt));
	opt.kcore = kcore;
	opt.kcore_max_passes = passes;
	nn_ds_init(ds);
	if (nn_read_file(c->path, c->fmt, ds, st, err, sizeof(err)) != 0)
	{
		diag("%s", err);
		return -1;
	}
	return nn_ds_finalize(ds, &opt);
}

/* Load one real file, check the counts, run the split and MostPop. */
static void
test_real(const RealCase *c)
{
	NnDataset	ds;
	NnReadStats st;
	NnDsSplit	sp;
	NnEvalOptions eo;
	NnEvalReport rep;
	NnMetrics	m;
	struct stat sb;
	const char *name = nn_read_format_name(c->fmt);
	int64_t		ev[11] = {0};
	int64_t		i;
	int			ev_ok = 1;

	if (stat(c->path, &sb) != 0)
	{
		ok(1, "# SKIP %s missing", c->path);
		return;
	}
	/* unfiltered: the PROVENANCE.md counts */
	ok(load_real(c, 0, 0, &ds, &st) == NN_DS_OK && st.rows == c->rows && st.malformed == 0 &&
	   st.header == (c->fmt == NN_FMT_MLCSV || c->fmt == NN_FMT_DIGINETICA),
	   "%s: %lld rows, no malformed line", name, (long long) c->rows);
	ok(ds.n_users - 1 == c->users && ds.n_items - 1 == c->items,
	   "%s: %lld users, %lld items (PROVENANCE.md)", name, (long long) c->users, (long long) c->items);
	for (i = 0; i < ds.n_inter; i++)
		ev[ds.event_ext[ds.seq_event[i]]]++;
	for (i = 0; i < 11; i++)
		ev_ok &= ev[i] == c->ev[i];
	ok(ev_ok, "%s: rows per event type match PROVENANCE.md", name);
	nn_ds_free(&ds);

	/* single-pass 5-core */
	ok(load_real(c, 5, 1, &ds, &st) == NN_DS_OK && ds.n_inter == c->s_rows &&
	   ds.n_users - 1 == c->s_users && ds.n_items - 1 == c->s_items,
	   "%s: single-pass 5-core: %lld rows, %lld users, %lld items", name,
	   (long long) c->s_rows, (long long) c->s_users, (long long) c->s_items);
	nn_ds_free(&ds);

	/* iterated 5-core */
	ok(load_real(c, 5, 0, &ds, &st) == NN_DS_OK && ds.stat_users_in == c->users &&
	   ds.stat_items_in == c->items, "%s: finalize with iterated 5-core", name);
	ok(ds.n_inter == c->k_rows && ds.n_users - 1 == c->k_users && ds.n_items - 1 == c->k_items &&
	   ds.stat_kcore_passes == c->k_passes,
	   "%s: 5-core: %lld rows, %lld users, %lld items after %d passes", name,
	   (long long) c->k_rows, (long long) c->k_users, (long long) c->k_items, c->k_passes);
	diag("%s: before %lld/%lld/%lld rows/users/items; iterated 5-core %lld/%d/%d in %d passes",
		 name, (long long) st.rows, (long long) ds.stat_users_in, (long long) ds.stat_items_in,
		 (long long) ds.n_inter, ds.n_users - 1, ds.n_items - 1, ds.stat_kcore_passes);
	ok(ds.n_events == c->n_events, "%s: %d event ids (incl. 0)", name, c->n_events);
	ok(nn_ds_split(&ds, NN_SPLIT_LOO, &sp) == NN_DS_OK && sp.n_eval == c->n_eval,
	   "%s: %d users evaluated", name, c->n_eval);
	nn_eval_options_default(&eo);
	nn_eval_mostpop(&sp, &eo, &rep);
	nn_eval_metrics(&rep.all, &m);
	is_double(m.hr[2], c->pop_hr10, 5e-7, "MostPop test HR@10 (exclusion on)");
	is_double(m.ndcg[2], c->pop_ndcg10, 5e-7, "MostPop test NDCG@10 (exclusion on)");
	diag("%s MostPop test: HR@10 %.4f +- %.4f  NDCG@10 %.4f +- %.4f  MRR %.4f  (repeat targets %lld)",
		 name, m.hr[2], m.hr_se[2], m.ndcg[2], m.ndcg_se[2], m.mrr, (long long) rep.repeat.n);
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

int
main(void)
{
	static const RealCase cases[] = {
		{DATA "ml-100k/u.data", NN_FMT_UDATA, 100000, 943, 1682,
			{0, 6110, 11370, 27145, 34174, 21201},
			99287, 943, 1349, 2, 99287, 943, 1349, 6, 943, 0.083775, 0.043211},
		{DATA "ml-latest-small/ratings.csv", NN_FMT_MLCSV, 100836, 610, 9724,
			{0, 1370, 2811, 1791, 7551, 5550, 20047, 13136, 26818, 8551, 13211},
			90274, 610, 3650, 2, 90274, 610, 3650, 11, 610, 0.039344, 0.019434},
		{DATA "taobao-userbehavior-head/UserBehavior.csv", NN_FMT_TAOBAO, 84475, 815, 55368,
			{0, 75872, 4497, 2356, 1750},
			11892, 477, 1656, 8, 12816, 691, 1784, 5, 477, 0.012579, 0.004417},
		{DATA "diginetica-sample/sample_train-item-views.csv", NN_FMT_DIGINETICA, 12391, 2986, 7139,
			{12391},
			376, 56, 63, 9, 1708, 500, 359, 1, 56, 0.107143, 0.051611},
	};
	size_t		i;

	test_synthetic();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_real(&cases[i]);
	return done_testing();
}
