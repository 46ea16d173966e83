/*
 * cnnrec-train.c
 *		Command-line trainer: the math core of the extension (src/nn) on a
 *		dataset file, outside PostgreSQL.  This is how the core is
 *		benchmarked: it reads a log (src/tools/readers.h formats), applies
 *		the k-core filter and the leave-last-out split of model-spec §6,
 *		trains with nn_trainer_run, prints one line per epoch and, as its
 *		last line, a JSON object with the measurements.  --save writes the
 *		model blob (src/nn/blob.h) with the id maps; --load evaluates a
 *		saved blob on a dataset instead of training.
 *
 * Options use the names of the SQL options (create_model / train), with
 * "-" or "_" between words: --exclude-seen = --exclude_seen = SQL
 * exclude_seen.  Defaults are the preset's (model-spec §5.10), except
 * kcore, which defaults to 5 (§6.1; the SQL default is 0).  Run with
 * --help for the list.
 *
 * Exit status: 0 success, 1 failure (I/O, data, training), 2 bad arguments.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nn/blas.h"
#include "nn/blob.h"
#include "nn/dataset.h"
#include "nn/eval.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "tools/readers.h"

#define PROG "cnnrec-train"

/* Taobao behaviours, renumbered so that dense event ids follow the labels'
 * byte order (as the PostgreSQL loader does): buy 1, cart 2, fav 3, pv 4. */
static const char *const taobao_labels[] = {"", "buy", "cart", "fav", "pv"};
static const int32_t taobao_remap[] = {0, 4, 2, 3, 1};	/* reader code (pv 1 .. buy 4) -> label code */

/* Everything the command line sets. */
typedef struct Cli
{
	NnConfig	cfg;
	char		preset[16];
	const char *data;
	const char *format;
	const char *save;
	const char *load;
	const char *target_weights;
	int			kcore;
	int			kcore_passes;
	int			exclude_seen;
	int			holdout;
	int			dedup;
	int			threads;
	int			save_adam;
	int			quiet;
	double		progress_every;
} Cli;

typedef enum OptKind
{
	K_INT,						/* int */
	K_U64,						/* uint64_t */
	K_FLOAT,					/* float */
	K_WEIGHT,					/* float, or "auto" = NN_COOC_AUTO (as options.c) */
	K_DOUBLE,					/* double */
	K_FLAG,						/* int 0/1 from on|off */
	K_ENUM,						/* int from choices[] */
	K_STR,						/* const char * */
	K_SWITCH					/* int set to 1, no value */
} OptKind;

typedef struct OptDef
{
	const char *name;			/* SQL-style name, '_' between words */
	OptKind		kind;
	size_t		offset;			/* in Cli */
	double		min;
	double		max;
	const char *const *choices; /* K_ENUM: NULL-terminated, index = value */
	const char *help;
} OptDef;

#define CFG(f) offsetof(Cli, cfg.f)
#define CLI(f) offsetof(Cli, f)

static const char *const format_choices[] = {"udata", "mlcsv", "taobao", "diginetica", "pairs", NULL};

/* Every option; ranges as in src/options.c (the SQL options). */
static const OptDef opts[] = {
	/* input / output */
	{"data", K_STR, CLI(data), 0, 0, NULL, "interaction log to read (required)"},
	{"format", K_STR, CLI(format), 0, 0, format_choices, "udata | mlcsv | taobao | diginetica | pairs (required)"},
	{"preset", K_STR, CLI(preset), 0, 0, nn_preset_names, "caser | tacaser (default tacaser); applied before all other options"},
	{"save", K_STR, CLI(save), 0, 0, NULL, "write the trained model blob to this file"},
	{"save_adam", K_FLAG, CLI(save_adam), 0, 1, NULL, "on: include the Adam state in --save (default off)"},
	{"load", K_STR, CLI(load), 0, 0, NULL, "evaluate this saved model blob on --data instead of training"},
	{"quiet", K_SWITCH, CLI(quiet), 0, 1, NULL, "print only the final JSON line"},
	{"progress_every", K_DOUBLE, CLI(progress_every), 0, 1e6, NULL, "seconds between within-epoch progress lines (default 0 = off)"},
	/* data preparation and protocol */
	{"kcore", K_INT, CLI(kcore), 0, 100000, NULL, "iterated k-core filter on users and items (default 5; 0 = off)"},
	{"kcore_passes", K_INT, CLI(kcore_passes), 0, 1000, NULL, "k-core passes (default 0 = until stable; 1 = SASRec single pass)"},
	{"dedup", K_FLAG, CLI(dedup), 0, 1, NULL, "drop an event repeating the user's previous item (default off)"},
	{"holdout", K_FLAG, CLI(holdout), 0, 1, NULL, "leave-last-out validation/test split (default on; off = train on all, no metrics)"},
	{"exclude_seen", K_FLAG, CLI(exclude_seen), 0, 1, NULL, "evaluation excludes history items except the target (default on)"},
	{"threads", K_INT, CLI(threads), 1, 64, NULL, "training threads (default 1; results depend on it)"},
	{"target_weights", K_STR, CLI(target_weights), 0, 0, NULL, "weight targets by event, e.g. buy=4,cart=2 or 5=2,4=1.5 (others 1)"},
	/* architecture */
	{"d", K_INT, CFG(d), 1, 1024, NULL, "embedding size"},
	{"l", K_INT, CFG(L), 1, NN_MAX_L, NULL, "conv window (heights 1..L)"},
	{"m", K_INT, CFG(M), 1, 1000, NULL, "history / attention window (>= L; raised to L unless set)"},
	{"t", K_INT, CFG(T), 1, 64, NULL, "targets per instance"},
	{"nh", K_INT, CFG(nh), 1, 1024, NULL, "horizontal filters per height"},
	{"nv", K_INT, CFG(nv), 1, 1024, NULL, "vertical filters"},
	{"n_g", K_INT, CFG(n_G), 3, 64, NULL, "time buckets including PAD"},
	{"act_conv", K_ENUM, CFG(act_conv), 0, 0, nn_act_names, "identity | relu | sigmoid | tanh"},
	{"act_fc", K_ENUM, CFG(act_fc), 0, 0, nn_act_names, "identity | relu | sigmoid | tanh"},
	{"vertical", K_FLAG, CFG(use_vertical), 0, 1, NULL, "vertical convolution on|off"},
	{"horizontal", K_FLAG, CFG(use_horizontal), 0, 1, NULL, "horizontal convolutions on|off"},
	{"attention", K_FLAG, CFG(use_attention), 0, 1, NULL, "temporal attention on|off"},
	{"event_emb", K_FLAG, CFG(use_event_emb), 0, 1, NULL, "event-type embeddings on|off (off automatically without event types)"},
	{"time_emb", K_FLAG, CFG(use_time_emb), 0, 1, NULL, "time-bucket embeddings on|off (off automatically for pairs)"},
	{"time_mode", K_ENUM, CFG(time_mode), 0, 0, nn_time_mode_names, "attention time term: none | bucket | decay"},
	{"tref_mode", K_ENUM, CFG(tref_mode), 0, 0, nn_tref_names, "time reference: last | now"},
	{"category", K_ENUM, CFG(use_category), 0, 0, nn_category_names, "item-category tables: off | input | output | on (both); needs categories (taobao)"},
	{"cooc_k", K_INT, CFG(cooc_k), 0, NN_COOC_MAX_K, NULL, "co-occurrence mixture: neighbours kept per item (tacaser 100; 0 = off)"},
	{"cooc_window", K_INT, CFG(cooc_window), 1, NN_COOC_MAX_WINDOW, NULL, "co-occurrence mixture: pairs at most this many events apart (default 1)"},
	{"cooc_decay", K_FLOAT, CFG(cooc_decay), 0, 1, NULL, "co-occurrence mixture: weight of the k-th newest history item is decay^k (default 0.5)"},
	{"cooc_weight", K_WEIGHT, CFG(cooc_lambda), 0, NN_COOC_MAX_LAMBDA, NULL, "co-occurrence mixture weight in [0, 0.95], or auto: chosen on validation (tacaser default)"},
	{"conv_mask_windows", K_FLAG, CFG(conv_mask_windows), 0, 1, NULL, "max-pool over non-padded windows only"},
	/* regularisation, loss */
	{"dropout", K_FLOAT, CFG(dropout), 0, 0.95, NULL, "dropout on the fused features"},
	{"user_dropout", K_FLOAT, CFG(user_dropout), 0, 1, NULL, "probability of replacing the user by UNKNOWN in training"},
	{"l2", K_FLOAT, CFG(l2), 0, 1, NULL, "L2 penalty on weights"},
	{"decoupled_wd", K_FLAG, CFG(decoupled_wd), 0, 1, NULL, "AdamW-style decay instead of coupled L2"},
	{"loss", K_ENUM, CFG(loss), 0, 0, nn_loss_names, "bce | bce_per_target | bpr | softmax_sampled | softmax_full | softmax (full up to softmax_full_max items)"},
	{"negatives", K_INT, CFG(negatives), 1, 100000, NULL, "negatives K (per row, per target, or shared per batch)"},
	{"softmax_full_max", K_INT, CFG(softmax_full_max), 1, 100000000, NULL, "softmax: full softmax up to this many items"},
	/* optimiser and schedule */
	{"batch", K_INT, CFG(batch), 1, 65536, NULL, "mini-batch size"},
	{"lr", K_FLOAT, CFG(lr), 1e-9, 10, NULL, "Adam learning rate"},
	{"beta1", K_FLOAT, CFG(beta1), 0, 0.9999, NULL, "Adam beta1"},
	{"beta2", K_FLOAT, CFG(beta2), 0, 0.999999, NULL, "Adam beta2"},
	{"eps", K_FLOAT, CFG(eps), 1e-12, 1, NULL, "Adam epsilon"},
	{"clip_norm", K_FLOAT, CFG(clip_norm), 0, 1e6, NULL, "global gradient-norm clip (0 = off)"},
	{"seed", K_U64, CFG(seed), 0, 9007199254740991.0, NULL, "random seed"},
	{"instances", K_ENUM, CFG(instances), 0, 0, nn_instances_names, "training instances: caser (sliding windows) | prefixes"},
	{"max_instances_per_user", K_INT, CFG(max_instances_per_user), 0, 100000000, NULL, "prefixes: keep the most recent C per user (0 = all)"},
	{"epochs", K_INT, CFG(epochs), 1, 10000, NULL, "maximum epochs"},
	{"eval_every", K_INT, CFG(eval_every), 1, 10000, NULL, "epochs between validation runs"},
	{"patience", K_INT, CFG(patience), 0, 10000, NULL, "validation runs without improvement before stopping (0 = off)"},
	{"help", K_SWITCH, 0, 0, 0, NULL, "this text"},
};

#define N_OPTS ((int) (sizeof(opts) / sizeof(opts[0])))

/* ---- small helpers ------------------------------------------------- */

static void usage_error(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));

/* Bad arguments: message on stderr, exit 2. */
static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	exit(2);
}

static void die(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));

/* Runtime failure: message on stderr, exit 1. */
static void
die(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Peak resident set size in MB (getrusage; ru_maxrss is in KB on Linux). */
static double
peak_rss_mb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double) ru.ru_maxrss / 1024.0;
}

/* Print s as a JSON string. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Canonical option name: "--foo-bar" / "--foo_bar" -> "foo_bar" in buf. */
static void
canon_name(const char *arg, size_t n, char *buf, size_t buflen)
{
	size_t		i;

	if (n >= buflen)
		n = buflen - 1;
	for (i = 0; i < n; i++)
		buf[i] = arg[i] == '-' ? '_' : arg[i];
	buf[n] = '\0';
}

static const OptDef *
find_opt(const char *name)
{
	int			i;

	for (i = 0; i < N_OPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

/* Display form of an option name ("--foo-bar"). */
static const char *
dash_name(const char *name)
{
	static char buf[64];
	size_t		i;

	snprintf(buf, sizeof(buf), "--%s", name);
	for (i = 2; buf[i]; i++)
		if (buf[i] == '_')
			buf[i] = '-';
	return buf;
}

static void
print_help(void)
{
	int			i;

	printf("Usage: " PROG " --data PATH --format FMT [--preset caser|tacaser] [OPTION VALUE]...\n"
		   "       " PROG " --load MODEL.blob --data PATH --format FMT [--kcore N] ...\n\n"
		   "Train the cnnrec CNN sequential recommender (Caser / TACaser) on an interaction log,\n"
		   "outside PostgreSQL, with the extension's math core. Applies the k-core filter and\n"
		   "the chronological leave-last-out split (validation = second-to-last event, test =\n"
		   "last), prints one line per epoch (loss, instances/s, validation HR@10 / NDCG@10)\n"
		   "and, as its last line, a JSON object with keys preset, users, items, interactions,\n"
		   "epochs, best_epoch, inst_per_sec, train_seconds, peak_rss_mb, valid, test,\n"
		   "test_sampled100 (metric objects: hr10, ndcg10, mrr, ...).\n\n"
		   "Options take a value as '--name VALUE' or '--name=VALUE'; words may be joined with\n"
		   "'-' or '_' (the SQL option names). Flags take on|off. Defaults come from the preset.\n\n");
	for (i = 0; i < N_OPTS; i++)
	{
		const OptDef *o = &opts[i];
		char		left[96];
		const char *arg = o->kind == K_SWITCH ? "" : o->kind == K_FLAG ? " on|off" :
			o->kind == K_STR ? (strcmp(o->name, "data") == 0 || strcmp(o->name, "save") == 0 ||
								strcmp(o->name, "load") == 0 ? " PATH" : " NAME") :
			o->kind == K_ENUM ? " NAME" : o->kind == K_INT || o->kind == K_U64 ? " N" : " X";

		if (strcmp(o->name, "target_weights") == 0)
			arg = " LIST";
		snprintf(left, sizeof(left), "%s%s", dash_name(o->name), arg);
		printf("  %-28s %s\n", left, o->help);
	}
	printf("\nFormats: udata (ml-100k u.data: user item rating ts; event = rating), mlcsv\n"
		   "(MovieLens ratings.csv; event = 2 x rating, 1..10), taobao (UserBehavior.csv:\n"
		   "user,item,category,behavior,ts; events buy/cart/fav/pv), diginetica\n"
		   "(sample_train-item-views.csv; user = session), pairs (\"user item\" lines in time\n"
		   "order, no timestamps: time buckets are off).\n\n"
		   "Example (the Caser reference run on MovieLens-100K):\n"
		   "  " PROG " --data u.data --format udata --preset caser --loss bce_per_target \\\n"
		   "      --negatives 3 --epochs 30 --eval-every 1 --patience 6 --threads 2\n\n"
		   "Exit status: 0 ok, 1 failure, 2 bad arguments.\n");
}

/* ---- argument parsing ---------------------------------------------- */

/* "a, b, c" of a NULL-terminated choice list (static buffer). */
static const char *
choice_list(const char *const *choices)
{
	static char buf[256];
	size_t		n = 0;
	int			i;

	buf[0] = '\0';
	for (i = 0; choices[i] != NULL && n < sizeof(buf); i++)
		n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", choices[i]);
	return buf;
}

/* Parse one value into the field of o. */
static void
set_value(Cli *cli, const OptDef *o, const char *v)
{
	char	   *field = (char *) cli + o->offset;
	char	   *end;
	int			i;

	switch (o->kind)
	{
		case K_INT:
		case K_U64:
			{
				long long	x;

				errno = 0;
				x = strtoll(v, &end, 10);
				if (end == v || *end != '\0' || errno != 0)
					usage_error("option %s: \"%s\" is not an integer", dash_name(o->name), v);
				if ((double) x < o->min || (double) x > o->max)
					usage_error("option %s: %lld is out of range %.15g..%.15g",
								dash_name(o->name), x, o->min, o->max);
				if (o->kind == K_INT)
					*(int *) field = (int) x;
				else
					*(uint64_t *) field = (uint64_t) x;
				return;
			}
		case K_WEIGHT:
			if (strcmp(v, "auto") == 0)
			{
				*(float *) field = NN_COOC_AUTO;
				return;
			}
			/* FALLTHROUGH */
		case K_FLOAT:
		case K_DOUBLE:
			{
				double		x;

				errno = 0;
				x = strtod(v, &end);
				if (end == v || *end != '\0' || errno != 0 || !isfinite(x))
					usage_error("option %s: \"%s\" is not a number", dash_name(o->name), v);
				if (x < o->min || x > o->max)
					usage_error("option %s: %g is out of range %g..%g",
								dash_name(o->name), x, o->min, o->max);
				if (o->kind != K_DOUBLE)
					*(float *) field = (float) x;
				else
					*(double *) field = x;
				return;
			}
		case K_FLAG:
			if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
				strcmp(v, "1") == 0)
				*(int *) field = 1;
			else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
					 strcmp(v, "0") == 0)
				*(int *) field = 0;
			else
				usage_error("option %s: expected on or off, got \"%s\"", dash_name(o->name), v);
			return;
		case K_ENUM:
			for (i = 0; o->choices[i] != NULL; i++)
				if (strcmp(o->choices[i], v) == 0)
				{
					/* loss "softmax" is NN_LOSS_SOFTMAX_AUTO (index 5) */
					*(int *) field = i;
					return;
				}
			usage_error("option %s: invalid value \"%s\" (one of: %s)", dash_name(o->name), v,
						choice_list(o->choices));
		case K_STR:
			if (o->choices != NULL)
			{
				for (i = 0; o->choices[i] != NULL; i++)
					if (strcmp(o->choices[i], v) == 0)
						break;
				if (o->choices[i] == NULL)
					usage_error("option %s: invalid value \"%s\" (one of: %s)", dash_name(o->name), v,
								choice_list(o->choices));
			}
			if (o->offset == CLI(preset))
				snprintf(cli->preset, sizeof(cli->preset), "%s", v);
			else
			{
				if (v[0] == '\0')
					usage_error("option %s: empty value", dash_name(o->name));
				*(const char **) field = v;
			}
			return;
		case K_SWITCH:
			*(int *) field = 1;
			return;
	}
}

/*
 * Parse argv into cli.  The preset is found and applied first, then the
 * options in order; explicit[] records which options were given.
 */
static void
parse_args(int argc, char **argv, Cli *cli, int *explicit)
{
	const char *preset = "tacaser";
	int			pass;
	int			i;

	memset(cli, 0, sizeof(*cli));
	for (pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			if (nn_config_preset(&cli->cfg, preset) != NN_OK)
				usage_error("unknown preset \"%s\" (caser or tacaser)", preset);
			snprintf(cli->preset, sizeof(cli->preset), "%s", preset);
			cli->kcore = 5;
			cli->exclude_seen = 1;
			cli->holdout = 1;
			cli->threads = 1;
		}
		for (i = 1; i < argc; i++)
		{
			const char *a = argv[i];
			const char *eq;
			const char *val = NULL;
			char		name[64];
			const OptDef *o;

			if (strcmp(a, "-h") == 0)
				a = "--help";
			if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
				usage_error("unexpected argument \"%s\"", a);
			eq = strchr(a + 2, '=');
			canon_name(a + 2, eq ? (size_t) (eq - a - 2) : strlen(a + 2), name, sizeof(name));
			o = find_opt(name);
			if (o == NULL)
				usage_error("unknown option \"%s\"", a);
			if (o->kind == K_SWITCH)
			{
				if (eq != NULL)
					usage_error("option %s takes no value", dash_name(o->name));
			}
			else if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				usage_error("option %s needs a value", dash_name(o->name));
			if (pass == 0)
			{
				if (strcmp(o->name, "help") == 0)
				{
					print_help();
					exit(0);
				}
				if (strcmp(o->name, "preset") == 0)
				{
					set_value(cli, o, val);		/* checks the choice */
					preset = val;
				}
				continue;
			}
			if (strcmp(o->name, "preset") == 0)
				continue;
			set_value(cli, o, val);
			explicit[o - opts] = 1;
		}
	}
	if (cli->data == NULL)
		usage_error("--data PATH is required");
	if (cli->format == NULL)
		usage_error("--format is required (udata, mlcsv, taobao, diginetica or pairs)");
	if (cli->load != NULL && cli->save != NULL)
		usage_error("--load and --save cannot be combined");
}

/* Was option name given on the command line? */
static int
given(const int *explicit, const char *name)
{
	const OptDef *o = find_opt(name);

	return o != NULL && explicit[o - opts];
}

/* ---- data ---------------------------------------------------------- */

/* Read and finalize the dataset; prints a summary unless quiet. */
static void
load_data(const Cli *cli, int fmt, NnDataset *ds)
{
	NnReadStats st;
	NnDsOptions o;
	char		err[256];
	double		t0 = now_sec();
	int64_t		r;
	int			rc;

	nn_ds_init(ds);
	if (nn_read_file(cli->data, fmt, ds, &st, err, sizeof(err)) != 0)
		die("%s", err);
	if (st.malformed > 0)
	{
		int			i;

		fprintf(stderr, PROG ": warning: %lld malformed line(s) skipped (first: %s; lines",
				(long long) st.malformed, st.first_bad_reason);
		for (i = 0; i < st.n_bad; i++)
			fprintf(stderr, " %lld", (long long) st.bad_line[i]);
		fprintf(stderr, "%s)\n", st.malformed > st.n_bad ? " ..." : "");
	}
	if (st.rows == 0)
		die("%s: no interactions read (%lld lines)", cli->data, (long long) st.lines);
	if (fmt == NN_FMT_TAOBAO)
		for (r = 0; r < ds->n_rows; r++)
		{
			int32_t		e = ds->rows[r].event;

			ds->rows[r].event = (e >= 1 && e <= 4) ? taobao_remap[e] : 0;
		}
	memset(&o, 0, sizeof(o));
	o.kcore = cli->kcore;
	o.kcore_max_passes = cli->kcore_passes;
	o.dedup_repeats = cli->dedup;
	rc = nn_ds_finalize(ds, &o);
	if (rc != NN_DS_OK)
		die("could not prepare the data: %s", ds->errmsg);
	if (!cli->quiet)
		printf("data: %s (%s): %lld rows, %lld users, %lld items read; kept "
			   "%d users, %d items, %lld interactions, %d event types (%.2fs)\n",
			   cli->data, cli->format, (long long) st.rows, (long long) ds->stat_users_in,
			   (long long) ds->stat_items_in, ds->n_users - 1, ds->n_items - 1, (long long) ds->n_inter, ds->n_events - 1,
			   now_sec() - t0);
	if (!cli->quiet && cli->kcore > 0)
		printf("k-core: k = %d, %d pass(es), %lld rows dropped; dedup dropped %lld\n",
			   cli->kcore, ds->stat_kcore_passes, (long long) ds->stat_kcore_dropped,
			   (long long) ds->stat_dedup_dropped);
}

/* Dense event id of a --target-weights key, or 0. */
static int32_t
event_key_id(const NnDataset *ds, int fmt, const char *key)
{
	char	   *end;
	long		v;
	int			i;

	if (fmt == NN_FMT_TAOBAO)
	{
		for (i = 1; i <= 4; i++)
			if (strcmp(key, taobao_labels[i]) == 0)
				return nn_ds_event_id(ds, i);
		return 0;
	}
	errno = 0;
	v = strtol(key, &end, 10);
	if (end == key || *end != '\0' || errno != 0 || v < 1 || v > INT32_MAX)
		return 0;
	return nn_ds_event_id(ds, (int32_t) v);
}

/* Apply --target-weights "key=w,key=w" to cfg (after the data is known). */
static void
apply_target_weights(Cli *cli, const NnDataset *ds, int fmt)
{
	char	   *copy = strdup(cli->target_weights);
	char	   *save = NULL;
	char	   *tok;
	int			i;

	if (copy == NULL)
		die("out of memory");
	for (i = 0; i < NN_MAX_EVENT_TYPES; i++)
		cli->cfg.target_weights[i] = 1.0f;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
	{
		char	   *eq = strchr(tok, '=');
		char	   *end;
		double		w;
		int32_t		id;

		if (eq == NULL)
			usage_error("--target-weights: \"%s\" is not KEY=WEIGHT", tok);
		*eq = '\0';
		id = event_key_id(ds, fmt, tok);
		if (id <= 0 || id >= NN_MAX_EVENT_TYPES)
			usage_error("--target-weights: the data has no event \"%s\"", tok);
		errno = 0;
		w = strtod(eq + 1, &end);
		if (end == eq + 1 || *end != '\0' || errno != 0 || !(w >= 0 && w <= 1e6))
			usage_error("--target-weights: weight \"%s\" must be a number in [0, 1e6]", eq + 1);
		cli->cfg.target_weights[id] = (float) w;
	}
	cli->cfg.use_target_weights = 1;
	free(copy);
}

/* ---- output -------------------------------------------------------- */

static int
k10_index(const NnMetrics *m)
{
	int			i;

	for (i = 0; i < m->n_k; i++)
		if (m->k[i] == 10)
			return i;
	return -1;
}

/* "name": {"users": n, "hr10": .., "ndcg10": .., "mrr": .., ...} */
static void
json_metrics(FILE *f, const char *name, const NnMetrics *m, int has)
{
	int			k = k10_index(m);

	fprintf(f, ", \"%s\": ", name);
	if (!has || k < 0 || m->n == 0)
	{
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"users\": %lld, \"hr10\": %.6f, \"ndcg10\": %.6f, \"mrr\": %.6f, "
			"\"mrr10\": %.6f, \"hr10_se\": %.6f, \"ndcg10_se\": %.6f}",
			(long long) m->n, m->hr[k], m->ndcg[k], m->mrr, m->mrrk[k], m->hr_se[k], m->ndcg_se[k]);
}

/* One human-readable metrics line. */
static void
print_metrics(const char *label, const NnMetrics *m)
{
	int			k = k10_index(m);

	if (k < 0 || m->n == 0)
		return;
	printf("  %-44s HR@10 %.4f (se %.4f)  NDCG@10 %.4f (se %.4f)  MRR %.4f  users %lld\n",
		   label, m->hr[k], m->hr_se[k], m->ndcg[k], m->ndcg_se[k], m->mrr, (long long) m->n);
}

static void
print_config(const NnConfig *c, const Cli *cli)
{
	char		cooc_text[32];

	snprintf(cooc_text, sizeof(cooc_text), "%g", (double) c->cooc_lambda);
	printf("config: preset %s, d %d, L %d, M %d, T %d, nh %d, nv %d, act %s/%s, "
		   "vertical %d, horizontal %d, attention %d, event_emb %d, time_emb %d, time_mode %s, "
		   "tref %s, mask_windows %d, dropout %g, user_dropout %g, l2 %g, loss %s, negatives %d, "
		   "batch %d, lr %g, epochs %d, eval_every %d, patience %d, instances %s, seed %llu, threads %d, "
		   "exclude_seen %s, category %s, cooc_k %d, cooc_weight %s\n",
		   cli->preset, c->d, c->L, c->M, c->T, c->nh, c->nv, nn_act_name(c->act_conv),
		   nn_act_name(c->act_fc), c->use_vertical, c->use_horizontal, c->use_attention,
		   c->use_event_emb, c->use_time_emb, nn_time_mode_name(c->time_mode),
		   c->tref_mode == NN_TREF_NOW ? "now" : "last", c->conv_mask_windows,
		   (double) c->dropout, (double) c->user_dropout, (double) c->l2, nn_loss_name(c->loss),
		   c->negatives, c->batch, (double) c->lr, c->epochs, c->eval_every, c->patience,
		   c->instances == NN_INST_CASER ? "caser" : "prefixes", (unsigned long long) c->seed,
		   cli->threads, cli->exclude_seen ? "on" : "off", nn_category_names[c->use_category & 3],
		   c->cooc_k, c->cooc_lambda == NN_COOC_AUTO ? "auto" : cooc_text);
}

/* The final JSON line. */
static void
print_json(const Cli *cli, const char *preset, const NnTrainResult *res, const char *model_path)
{
	FILE	   *f = stdout;

	fprintf(f, "{\"preset\": ");
	json_str(f, preset);
	fprintf(f, ", \"data\": ");
	json_str(f, cli->data);
	fprintf(f, ", \"format\": ");
	json_str(f, cli->format);
	if (model_path)
	{
		fprintf(f, ", \"model\": ");
		json_str(f, model_path);
	}
	fprintf(f, ", \"users\": %d, \"items\": %d, \"interactions\": %lld, \"eval_users\": %d, "
			"\"instances_per_epoch\": %lld, \"threads\": %d, \"seed\": %llu, \"loss\": \"%s\", "
			"\"epochs\": %d, \"best_epoch\": %d, \"inst_per_sec\": %.1f, \"train_seconds\": %.3f, "
			"\"peak_rss_mb\": %.1f",
			res->n_users, res->n_items, (long long) res->n_interactions, res->n_eval_users,
			(long long) res->instances_per_epoch, cli->threads, (unsigned long long) cli->cfg.seed,
			nn_loss_name(cli->cfg.loss), res->epochs_run, res->best_epoch, res->inst_per_sec,
			res->train_seconds, peak_rss_mb());
	if (res->n_categories > 0)
		fprintf(f, ", \"categories\": %d", res->n_categories);
	fprintf(f, ", \"cooc_weight\": %g", (double) res->cooc_lambda);
	json_metrics(f, "valid", &res->valid, res->has_eval);
	json_metrics(f, "test", &res->test, res->has_eval);
	json_metrics(f, "test_sampled100", &res->test_sampled100, res->has_eval);
	json_metrics(f, "test_new_target", &res->test_fresh, res->has_eval);
	json_metrics(f, "test_repeat_target", &res->test_repeat, res->has_eval);
	json_metrics(f, "popularity_test", &res->pop_test, res->has_eval);
	fprintf(f, "}\n");
	fflush(f);
}

static void
print_summary(const NnTrainResult *res, int exclude_seen)
{
	char		lab[96];

	if (!res->has_eval)
		return;
	printf("results (leave-last-out, full ranking, history %s, pessimistic ties):\n",
		   exclude_seen ? "excluded" : "not excluded");
	if (res->n_cooc_grid > 0)
	{
		int			g;

		printf("co-occurrence mixture, validation NDCG@10 by weight:");
		for (g = 0; g < res->n_cooc_grid; g++)
			printf(" %g: %.4f", (double) res->cooc_grid[g].lambda, res->cooc_grid[g].valid_ndcg10);
		printf("; chosen %g\n", (double) res->cooc_lambda);
	}
	print_metrics(res->epochs_run > 0 ? "validation (best epoch)" : "validation", &res->valid);
	print_metrics("test", &res->test);
	print_metrics("test, target new to the user", &res->test_fresh);
	print_metrics("test, target repeated from the history", &res->test_repeat);
	print_metrics("test, most-popular baseline", &res->pop_test);
	snprintf(lab, sizeof(lab), "test, sampled-100 (uniform; not comparable)");
	print_metrics(lab, &res->test_sampled100);
}

/* ---- training ------------------------------------------------------ */

typedef struct ProgressCtx
{
	int			quiet;
} ProgressCtx;

/* Progress callback: one line per epoch end (and optional within-epoch lines). */
static int
on_progress(void *arg, const NnTrainProgress *p)
{
	const ProgressCtx *ctx = (const ProgressCtx *) arg;

	if (ctx->quiet || p->phase == NN_TP_TESTING || (p->phase == NN_TP_VALIDATING && !p->epoch_end))
		return 0;
	if (!p->epoch_end)
	{
		printf("  epoch %d/%d  batch %lld/%lld  loss %.5f  inst/s %.0f\n", p->epoch, p->epochs,
			   (long long) p->batch, (long long) p->batches, p->loss, p->inst_per_sec);
		fflush(stdout);
		return 0;
	}
	printf("epoch %3d/%d  loss %.5f  inst/s %8.0f", p->epoch, p->epochs, p->loss, p->inst_per_sec);
	if (p->has_valid)
		printf("  valid HR@10 %.4f NDCG@10 %.4f MRR %.4f", p->valid_hr10, p->valid_ndcg10, p->valid_mrr);
	if (p->best_epoch > 0)
		printf("  best %d", p->best_epoch);
	printf("  elapsed %.1fs\n", p->elapsed_sec);
	fflush(stdout);
	return 0;
}

/* Id maps and event vocabulary of the dataset, as stored in the blob. */
static void
dataset_maps(const NnDataset *ds, int fmt, NnBlobMaps *maps, int64_t **values, const char ***labels)
{
	int32_t		e;

	memset(maps, 0, sizeof(*maps));
	*values = NULL;
	*labels = NULL;
	maps->n_users = ds->n_users;
	maps->n_items = ds->n_items;
	maps->n_events = ds->n_events < 1 ? 1 : ds->n_events;
	maps->user_ext = ds->user_ext;
	maps->item_ext = ds->item_ext;
	if (ds->n_events < 2)
		return;
	if (fmt == NN_FMT_TAOBAO)
	{
		*labels = calloc(ds->n_events, sizeof(const char *));
		if (*labels == NULL)
			die("out of memory");
		(*labels)[0] = "";
		for (e = 1; e < ds->n_events; e++)
			(*labels)[e] = taobao_labels[ds->event_ext[e]];
		maps->event_label = *labels;
	}
	else
	{
		*values = calloc(ds->n_events, sizeof(int64_t));
		if (*values == NULL)
			die("out of memory");
		for (e = 1; e < ds->n_events; e++)
			(*values)[e] = ds->event_ext[e];
		maps->event_value = *values;
	}
}

static void
save_model(const Cli *cli, const NnDataset *ds, int fmt, const NnModel *m)
{
	NnBlobMaps	maps;
	int64_t    *values;
	const char **labels;
	uint8_t    *buf = NULL;
	size_t		len = 0;
	char		msg[256];
	FILE	   *f;
	int			rc;

	dataset_maps(ds, fmt, &maps, &values, &labels);
	rc = nn_blob_write(m, &maps, cli->save_adam, &buf, &len, msg, sizeof(msg));
	free(values);
	free((void *) labels);
	if (rc != NN_BLOB_OK)
		die("could not serialise the model: %s", msg);
	f = fopen(cli->save, "wb");
	if (f == NULL)
		die("cannot open %s: %s", cli->save, strerror(errno));
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("cannot write %s: %s", cli->save, strerror(errno));
	free(buf);
	if (!cli->quiet)
		printf("saved: %s (%zu bytes, %zu parameters%s)\n", cli->save, len, m->n_params,
			   cli->save_adam && m->adam_m ? ", with Adam state" : "");
}

static int
train(Cli *cli, const int *explicit, int fmt)
{
	NnDataset	ds;
	NnTrainSettings s;
	NnTrainResult *res;
	NnModel		model;
	ProgressCtx pctx;
	char		msg[256] = "";
	int			rc;

	load_data(cli, fmt, &ds);

	/* data-dependent defaults */
	if (ds.n_events < 2 && cli->cfg.use_event_emb)
	{
		if (given(explicit, "event_emb"))
			die("--event-emb on, but the data has no event types (format %s)", cli->format);
		cli->cfg.use_event_emb = 0;
		if (!cli->quiet)
			printf("note: no event types in the data: event embeddings off\n");
	}
	if (ds.n_cats < 2 && cli->cfg.use_category)
	{
		if (given(explicit, "category"))
			die("--category %s, but the data has no item categories (format %s)",
				nn_category_names[cli->cfg.use_category & 3], cli->format);
		if (!cli->quiet)
			printf("note: no item categories in the data: category tables off\n");
	}
	if (fmt == NN_FMT_PAIRS)
	{
		if (!given(explicit, "time_emb"))
			cli->cfg.use_time_emb = 0;
		if (!given(explicit, "time_mode") && cli->cfg.time_mode != NN_TIME_NONE)
			cli->cfg.time_mode = NN_TIME_NONE;
		if (!cli->quiet)
			printf("note: pairs format has no timestamps: time buckets off (event order only)\n");
	}
	if (cli->cfg.M < cli->cfg.L && !given(explicit, "m"))
		cli->cfg.M = cli->cfg.L;
	if (cli->target_weights)
		apply_target_weights(cli, &ds, fmt);
	nn_config_set_data(&cli->cfg, ds.n_items, ds.n_users, ds.n_events < 1 ? 1 : ds.n_events);
	if (nn_config_validate(&cli->cfg, msg, sizeof(msg)) != NN_OK)
		usage_error("invalid combination of options: %s", msg);
	if (!cli->quiet)
		print_config(&cli->cfg, cli);

	nn_blas_set_threads(1);		/* parallelism comes from the trainer's threads */
	nn_train_settings_default(&s);
	s.threads = cli->threads;
	s.split = cli->holdout ? NN_SPLIT_LOO : NN_SPLIT_ALL;
	s.exclude_seen = cli->exclude_seen;
	s.progress_every_sec = cli->progress_every;
	s.progress = on_progress;
	pctx.quiet = cli->quiet;
	s.progress_arg = &pctx;
	s.keep_adam = cli->save != NULL && cli->save_adam;
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		die("out of memory");
	memset(&model, 0, sizeof(model));
	rc = nn_trainer_run(&ds, &cli->cfg, &s, &model, res, msg, sizeof(msg));
	if (rc != NN_OK)
		die("training failed: %s (%s)", msg, rc == NN_ERR_CANCELLED ? "cancelled" :
			rc == NN_ERR_DATA ? "data" : nn_strerror(rc));
	cli->cfg = model.cfg;		/* resolved loss */
	if (!cli->quiet)
	{
		printf("trained: %d epoch(s), best epoch %d, %lld instances/epoch, %.1f inst/s, %.2fs training\n",
			   res->epochs_run, res->best_epoch, (long long) res->instances_per_epoch,
			   res->inst_per_sec, res->train_seconds);
		print_summary(res, cli->exclude_seen);
	}
	if (cli->save)
		save_model(cli, &ds, fmt, &model);
	print_json(cli, cli->preset, res, cli->save);
	nn_model_free(&model);
	free(res);
	nn_ds_free(&ds);
	return 0;
}

/* ---- evaluating a saved blob --------------------------------------- */

/* Scoring of a blob on a dataset whose dense ids may differ from its own. */
typedef struct LoadCtx
{
	const NnBlob *blob;
	const NnDsSplit *sp;
	int32_t    *item_map;		/* [ds N] dataset item -> blob item (0 unknown) */
	int32_t    *user_map;		/* [ds U] */
	int32_t    *event_map;		/* [ds n_E] */
	NnInfer    *infer;
	int32_t    *items;			/* [M] */
	int32_t    *events;
	int64_t    *times;
	int32_t    *g;
	float	   *dt;
	float	   *x;
	float	   *bscores;		/* [blob N] */
} LoadCtx;

static int
load_score(void *arg, const NnDsEvalCase *c, float *scores)
{
	LoadCtx    *L = (LoadCtx *) arg;
	const NnModel *m = &L->blob->model;
	const NnConfig *cfg = &m->cfg;
	int32_t		user;
	int64_t		tref;
	int32_t		target;
	int32_t		tev;
	NnDsBatch	out;
	NnBatch		nb;
	int			l;
	int32_t		i;
	int			rc;

	memset(&out, 0, sizeof(out));
	out.users = &user;
	out.items = L->items;
	out.events = L->events;
	out.times = L->times;
	out.tref = &tref;
	out.targets = &target;
	out.target_events = &tev;
	if (nn_ds_fill_batch(L->sp, &c->inst, 1, cfg->M, 1, cfg->tref_mode, &out) != NN_DS_OK)
		return NN_ERR_BATCH;
	for (l = 0; l < cfg->M; l++)
	{
		L->items[l] = L->item_map[L->items[l]];
		L->events[l] = L->items[l] ? L->event_map[L->events[l]] : 0;
	}
	nn_time_features(cfg, cfg->M, L->items, L->times, tref, L->g, L->dt);
	user = L->user_map[user];
	memset(&nb, 0, sizeof(nb));
	nb.B = 1;
	nb.user = &user;
	nb.items = L->items;
	nb.events = L->events;
	nb.tbucket = L->g;
	nb.tdelta = L->dt;
	if ((rc = nn_user_vector(m, L->infer, &nb, 0, L->x, NULL)) != NN_OK)
		return rc;
	nn_score_all(m, L->x, L->bscores);
	if ((rc = nn_cooc_mix(m, L->infer, L->items, cfg->M, L->bscores)) != NN_OK)
		return rc;
	scores[0] = -INFINITY;
	for (i = 1; i < L->sp->ds->n_items; i++)
		scores[i] = L->item_map[i] ? L->bscores[L->item_map[i]] : -INFINITY;
	return 0;
}

static void
evaluate_phase(LoadCtx *L, int phase, int n_sampled, int exclude, NnMetrics *out)
{
	NnEvalOptions o;
	NnEvalReport rep;

	nn_eval_options_default(&o);
	o.phase = phase;
	o.exclude_history = exclude;
	o.n_sampled = n_sampled;
	o.seed = L->blob->model.cfg.seed;
	nn_eval_report_init(&rep, NULL, 0);
	if (nn_eval_run(L->sp, &o, load_score, L, &rep) != NN_EVAL_OK)
		die("evaluation failed");
	nn_eval_metrics(&rep.all, out);
	if (phase == NN_PHASE_TEST && n_sampled == 0)
	{
		nn_eval_metrics(&rep.fresh, out + 1);
		nn_eval_metrics(&rep.repeat, out + 2);
	}
}

static uint8_t *
read_whole_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		cap = 0,
				n = 0;

	if (f == NULL)
		die("cannot open %s: %s", path, strerror(errno));
	for (;;)
	{
		size_t		got;

		if (n == cap)
		{
			uint8_t    *nb;

			cap = cap ? cap * 2 : 1 << 20;
			nb = realloc(buf, cap);
			if (nb == NULL)
				die("out of memory reading %s", path);
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die("cannot read %s: %s", path, strerror(errno));
	fclose(f);
	*len = n;
	return buf;
}

static int
evaluate_blob(Cli *cli, const int *explicit, int fmt)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnBlob		blob;
	LoadCtx		L;
	NnTrainResult *res;
	NnEvalOptions po;
	NnEvalReport prep;
	size_t		len;
	uint8_t    *buf = read_whole_file(cli->load, &len);
	char		msg[256];
	NnMetrics	tm[3];
	int32_t		i;
	int			rc;
	int			mapped_items = 0;
	const char *preset;

	rc = nn_blob_read(buf, len, &blob, msg, sizeof(msg));
	free(buf);
	if (rc != NN_BLOB_OK)
		die("%s: %s: %s", cli->load, nn_blob_strerror(rc), msg);
	/* --cooc-weight W re-weights a stored mixture (the table is the blob's) */
	if (given(explicit, "cooc_weight"))
	{
		if (cli->cfg.cooc_lambda == NN_COOC_AUTO)
			die("--cooc-weight auto needs training; give a weight to re-weight a stored model");
		if (blob.model.cooc.n_rows == 0 && cli->cfg.cooc_lambda > 0)
			die("%s has no co-occurrence table to weight", cli->load);
		blob.model.cfg.cooc_lambda = cli->cfg.cooc_lambda;
	}
	cli->cfg = blob.model.cfg;
	preset = blob.model.cfg.instances == NN_INST_CASER && !blob.model.cfg.use_attention ? "caser" : "tacaser";
	snprintf(cli->preset, sizeof(cli->preset), "%s", preset);
	if (!cli->quiet)
	{
		printf("model: %s (%zu bytes, %zu parameters, %d users, %d items, %d event types%s)\n",
			   cli->load, len, blob.model.n_params, blob.maps.n_users - 1, blob.maps.n_items - 1,
			   blob.maps.n_events - 1, blob.has_adam ? ", Adam state" : "");
		print_config(&blob.model.cfg, cli);
	}
	load_data(cli, fmt, &ds);
	if (nn_ds_split(&ds, NN_SPLIT_LOO, &sp) != NN_DS_OK)
		die("could not split the data: %s", ds.errmsg);

	memset(&L, 0, sizeof(L));
	L.blob = &blob;
	L.sp = &sp;
	L.item_map = calloc(ds.n_items, sizeof(int32_t));
	L.user_map = calloc(ds.n_users, sizeof(int32_t));
	L.event_map = calloc(ds.n_events < 1 ? 1 : ds.n_events, sizeof(int32_t));
	L.items = calloc(blob.model.cfg.M, sizeof(int32_t));
	L.events = calloc(blob.model.cfg.M, sizeof(int32_t));
	L.times = calloc(blob.model.cfg.M, sizeof(int64_t));
	L.g = calloc(blob.model.cfg.M, sizeof(int32_t));
	L.dt = calloc(blob.model.cfg.M, sizeof(float));
	L.x = calloc(2 * (size_t) blob.model.cfg.d, sizeof(float));
	L.bscores = calloc(blob.model.cfg.N, sizeof(float));
	L.infer = nn_infer_create(&blob.model, 1);
	if (!L.item_map || !L.user_map || !L.event_map || !L.items || !L.events || !L.times ||
		!L.g || !L.dt || !L.x || !L.bscores || !L.infer)
		die("out of memory");
	for (i = 1; i < ds.n_items; i++)
		mapped_items += (L.item_map[i] = nn_blob_item_id(&blob.maps, ds.item_ext[i])) != 0;
	for (i = 1; i < ds.n_users; i++)
		L.user_map[i] = nn_blob_user_id(&blob.maps, ds.user_ext[i]);
	for (i = 1; i < ds.n_events; i++)
	{
		int32_t		e = 0;

		if (blob.maps.event_value)
			e = nn_blob_event_value_id(&blob.maps, ds.event_ext[i]);
		else if (blob.maps.event_label && fmt == NN_FMT_TAOBAO && ds.event_ext[i] >= 1 && ds.event_ext[i] <= 4)
			e = nn_blob_event_label_id(&blob.maps, taobao_labels[ds.event_ext[i]]);
		L.event_map[i] = e < blob.model.cfg.n_E ? e : 0;
	}
	if (!cli->quiet)
		printf("mapping: %d of %d items known to the model\n", mapped_items, ds.n_items - 1);

	res = calloc(1, sizeof(*res));
	if (res == NULL)
		die("out of memory");
	res->n_users = ds.n_users - 1;
	res->n_items = ds.n_items - 1;
	res->n_interactions = ds.n_inter;
	res->n_eval_users = sp.n_eval;
	if (sp.n_eval > 0)
	{
		evaluate_phase(&L, NN_PHASE_VALID, 0, cli->exclude_seen, &res->valid);
		evaluate_phase(&L, NN_PHASE_TEST, 0, cli->exclude_seen, tm);
		res->test = tm[0];
		res->test_fresh = tm[1];
		res->test_repeat = tm[2];
		evaluate_phase(&L, NN_PHASE_TEST, 100, cli->exclude_seen, &res->test_sampled100);
		nn_eval_options_default(&po);
		po.phase = NN_PHASE_TEST;
		po.exclude_history = cli->exclude_seen;
		nn_eval_report_init(&prep, NULL, 0);
		if (nn_eval_mostpop(&sp, &po, &prep) != NN_EVAL_OK)
			die("popularity baseline failed");
		nn_eval_metrics(&prep.all, &res->pop_test);
		res->has_eval = 1;
	}
	if (!cli->quiet)
		print_summary(res, cli->exclude_seen);
	print_json(cli, preset, res, cli->load);

	nn_infer_free(L.infer);
	free(L.item_map);
	free(L.user_map);
	free(L.event_map);
	free(L.items);
	free(L.events);
	free(L.times);
	free(L.g);
	free(L.dt);
	free(L.x);
	free(L.bscores);
	free(res);
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
	nn_blob_free(&blob);
	return 0;
}

/* OpenBLAS (cblas.h); the tool always links it. */
extern char *openblas_get_corename(void);

/*
 * OpenBLAS picks its kernels from the CPU model at load time.  Some virtual
 * machines report a generic model ("Intel Xeon Processor") and OpenBLAS then
 * falls back to the SSE3 "Prescott" kernels, which makes training about 40%
 * slower on an AVX2 / AVX-512 CPU.  If that happened and the user did not
 * choose a core type, restart once with OPENBLAS_CORETYPE set from the CPU
 * features (the variable is only read at load time, so setenv alone is not
 * enough).  CNNREC_TRAIN_REEXEC marks the restarted process.
 */
static void
fix_openblas_core(char **argv)
{
	const char *core = openblas_get_corename();
	const char *want = NULL;

	if (getenv("OPENBLAS_CORETYPE") != NULL || getenv("CNNREC_TRAIN_REEXEC") != NULL ||
		core == NULL || (strcasecmp(core, "prescott") != 0 && strcasecmp(core, "core2") != 0 &&
						 strcasecmp(core, "nehalem") != 0 && strcasecmp(core, "sandybridge") != 0))
		return;
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		want = "SkylakeX";
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		want = "Haswell";
#endif
	if (want == NULL)
		return;
	setenv("OPENBLAS_CORETYPE", want, 1);
	setenv("CNNREC_TRAIN_REEXEC", core, 1);
	fflush(NULL);
	execv("/proc/self/exe", argv);
	/* exec failed: carry on with the slow kernels */
	unsetenv("OPENBLAS_CORETYPE");
	fprintf(stderr, PROG ": warning: OpenBLAS uses its %s kernels on a CPU with %s; "
			"set OPENBLAS_CORETYPE=%s for speed\n", core, want, want);
}

int
main(int argc, char **argv)
{
	Cli			cli;
	int			explicit[N_OPTS];
	int			fmt;
	const char *reexec;

	memset(explicit, 0, sizeof(explicit));
	parse_args(argc, argv, &cli, explicit);
	fix_openblas_core(argv);
	reexec = getenv("CNNREC_TRAIN_REEXEC");
	if (reexec != NULL && !cli.quiet)
		printf("note: OpenBLAS detected \"%s\" on this CPU; running with OPENBLAS_CORETYPE=%s\n",
			   reexec, getenv("OPENBLAS_CORETYPE"));
	fmt = nn_read_format(cli.format);
	if (fmt < 0)
		usage_error("unknown format \"%s\"", cli.format);
	if (cli.load)
		return evaluate_blob(&cli, explicit, fmt);
	return train(&cli, explicit, fmt);
}
