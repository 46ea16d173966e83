/*
 * options.c
 *		Model and training options (jsonb) -> NnConfig + CnnrecSettings.
 *
 * One table, option_defs[], lists every key accepted by create_model()'s
 * and train()'s options: its type, its range and where it lands.  Keys are
 * the lower-case names of model-spec.md §5.1 and §5.10 (d, l, m, t, nh, nv,
 * dropout, loss, ...) plus training settings (kcore, exclude_seen, ...).
 * The same code validates (create_model, train) and applies (the training
 * worker), so what is accepted is exactly what is used.
 *
 * Resolution order: the preset's defaults (nn_config_preset), then the
 * model's stored options, then the options of one train() call.  After
 * that, cross-field rules are checked by nn_config_validate with
 * placeholder data sizes.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "options.h"

typedef enum OptKind
{
	OPT_INT,					/* int field */
	OPT_U64,					/* uint64_t field */
	OPT_FLOAT,					/* float field */
	OPT_FLAG,					/* int 0/1 field, from a json boolean */
	OPT_BOOL,					/* bool field, from a json boolean */
	OPT_ENUM,					/* int field, from one of choices[] */
	OPT_WEIGHT,					/* float field, a number or "auto" (NN_COOC_AUTO) */
	OPT_PRESET					/* the preset name (applied first) */
} OptKind;

typedef struct OptionDef
{
	const char *name;
	OptKind		kind;
	size_t		offset;			/* in CnnrecOptions */
	double		min;
	double		max;
	const char *const *choices; /* OPT_ENUM: NULL-terminated, index = value */
} OptionDef;

#define CFG(f) offsetof(CnnrecOptions, cfg.f)
#define SET(f) offsetof(CnnrecOptions, set.f)

static const char *const deploy_choices[] = {"auto", "always", "never", NULL};

/* Every accepted key, alphabetically (the hint lists them in this order). */
static const OptionDef option_defs[] = {
	{"act_conv", OPT_ENUM, CFG(act_conv), 0, 0, nn_act_names},
	{"act_fc", OPT_ENUM, CFG(act_fc), 0, 0, nn_act_names},
	{"attention", OPT_FLAG, CFG(use_attention), 0, 1, NULL},
	{"batch", OPT_INT, CFG(batch), 1, 65536, NULL},
	{"beta1", OPT_FLOAT, CFG(beta1), 0, 0.9999, NULL},
	{"beta2", OPT_FLOAT, CFG(beta2), 0, 0.999999, NULL},
	{"category", OPT_ENUM, CFG(use_category), 0, 0, nn_category_names},
	{"clip_norm", OPT_FLOAT, CFG(clip_norm), 0, 1e6, NULL},
	{"conv_mask_windows", OPT_FLAG, CFG(conv_mask_windows), 0, 1, NULL},
	{"cooc_decay", OPT_FLOAT, CFG(cooc_decay), 0, 1, NULL},
	{"cooc_k", OPT_INT, CFG(cooc_k), 0, NN_COOC_MAX_K, NULL},
	{"cooc_weight", OPT_WEIGHT, CFG(cooc_lambda), 0, NN_COOC_MAX_LAMBDA, NULL},
	{"cooc_window", OPT_INT, CFG(cooc_window), 1, NN_COOC_MAX_WINDOW, NULL},
	{"d", OPT_INT, CFG(d), 1, 1024, NULL},
	{"dedup", OPT_BOOL, SET(dedup), 0, 1, NULL},
	{"deploy", OPT_ENUM, SET(deploy), 0, 0, deploy_choices},
	{"dropout", OPT_FLOAT, CFG(dropout), 0, 0.95, NULL},
	{"epochs", OPT_INT, CFG(epochs), 1, 10000, NULL},
	{"eps", OPT_FLOAT, CFG(eps), 1e-12, 1, NULL},
	{"eval_every", OPT_INT, CFG(eval_every), 1, 10000, NULL},
	{"event_emb", OPT_FLAG, CFG(use_event_emb), 0, 1, NULL},
	{"exclude_seen", OPT_BOOL, SET(exclude_seen), 0, 1, NULL},
	{"holdout", OPT_BOOL, SET(holdout), 0, 1, NULL},
	{"horizontal", OPT_FLAG, CFG(use_horizontal), 0, 1, NULL},
	{"instances", OPT_ENUM, CFG(instances), 0, 0, nn_instances_names},
	{"kcore", OPT_INT, SET(kcore), 0, 100000, NULL},
	{"l", OPT_INT, CFG(L), 1, NN_MAX_L, NULL},
	{"l2", OPT_FLOAT, CFG(l2), 0, 1, NULL},
	{"loss", OPT_ENUM, CFG(loss), 0, 0, nn_loss_names},
	{"lr", OPT_FLOAT, CFG(lr), 1e-9, 10, NULL},
	{"m", OPT_INT, CFG(M), 1, 1000, NULL},
	{"max_instances_per_user", OPT_INT, CFG(max_instances_per_user), 0, 100000000, NULL},
	{"n_g", OPT_INT, CFG(n_G), 3, 64, NULL},
	{"negatives", OPT_INT, CFG(negatives), 1, 100000, NULL},
	{"nh", OPT_INT, CFG(nh), 1, 1024, NULL},
	{"nv", OPT_INT, CFG(nv), 1, 1024, NULL},
	{"patience", OPT_INT, CFG(patience), 0, 10000, NULL},
	{"poison_epoch", OPT_INT, SET(poison_epoch), 0, 10000, NULL},
	{"preset", OPT_PRESET, 0, 0, 0, nn_preset_names},
	{"seed", OPT_U64, CFG(seed), 0, 9007199254740991.0, NULL},
	{"softmax_full_max", OPT_INT, CFG(softmax_full_max), 1, 100000000, NULL},
	{"t", OPT_INT, CFG(T), 1, 64, NULL},
	{"threads", OPT_INT, SET(threads), 0, 64, NULL},
	{"time_emb", OPT_FLAG, CFG(use_time_emb), 0, 1, NULL},
	{"time_mode", OPT_ENUM, CFG(time_mode), 0, 0, nn_time_mode_names},
	{"tref_mode", OPT_ENUM, CFG(tref_mode), 0, 0, nn_tref_names},
	{"user_dropout", OPT_FLOAT, CFG(user_dropout), 0, 1, NULL},
	{"vertical", OPT_FLAG, CFG(use_vertical), 0, 1, NULL},
};

#define N_OPTIONS lengthof(option_defs)

/* The definition of key, or NULL. */
static const OptionDef *
find_option(const char *key)
{
	int			i;

	for (i = 0; i < N_OPTIONS; i++)
		if (strcmp(option_defs[i].name, key) == 0)
			return &option_defs[i];
	return NULL;
}

/* A comma-separated list of all keys, for hints. */
static char *
option_list(void)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < N_OPTIONS; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", option_defs[i].name);
	return s.data;
}

/* The choices of an enum option, for error details. */
static char *
choice_list(const char *const *choices)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; choices[i] != NULL; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", choices[i]);
	return s.data;
}

/* Raise the "wrong type" error for key. */
static void
bad_type(const OptionDef *def, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s", def->name, expected)));
}

/* A json number as a double. */
static double
jsonb_number(const JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/* Check a numeric value against the definition and return it. */
static double
check_number(const OptionDef *def, const JsonbValue *v)
{
	double		x;
	bool		real = def->kind == OPT_FLOAT || def->kind == OPT_WEIGHT;

	if (v->type != jbvNumeric)
		bad_type(def, real ? "a number" : "an integer");
	x = jsonb_number(v);
	if (!real && x != floor(x))
		bad_type(def, "an integer");
	if (!(x >= def->min && x <= def->max))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" is out of range", def->name),
				 errdetail("Value %g is not between %g and %g.", x, def->min, def->max)));
	return x;
}

/* Index of a string value among the choices of def. */
static int
check_choice(const OptionDef *def, const JsonbValue *v)
{
	char	   *s;
	int			i;

	if (v->type != jbvString)
		bad_type(def, "a string");
	s = pnstrdup(v->val.string.val, v->val.string.len);
	for (i = 0; def->choices[i] != NULL; i++)
		if (strcmp(def->choices[i], s) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value \"%s\" for option \"%s\"", s, def->name),
			 errdetail("Valid values are: %s.", choice_list(def->choices))));
	return -1;					/* keep compiler quiet */
}

/* Validate one key/value and, if opts is not NULL, store it. */
static void
apply_option(CnnrecOptions *opts, const char *key, const JsonbValue *v)
{
	const OptionDef *def = find_option(key);
	char	   *field;

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown option \"%s\"", key),
				 errhint("Valid options are: %s.", option_list())));
	field = opts ? (char *) opts + def->offset : NULL;
	switch (def->kind)
	{
		case OPT_INT:
			{
				int			x = (int) check_number(def, v);

				if (field)
					*(int *) field = x;
				break;
			}
		case OPT_U64:
			{
				uint64_t	x = (uint64_t) check_number(def, v);

				if (field)
					*(uint64_t *) field = x;
				break;
			}
		case OPT_FLOAT:
			{
				float		x = (float) check_number(def, v);

				if (field)
					*(float *) field = x;
				break;
			}
		case OPT_FLAG:
		case OPT_BOOL:
			if (v->type != jbvBool)
				bad_type(def, "a boolean");
			if (field && def->kind == OPT_FLAG)
				*(int *) field = v->val.boolean ? 1 : 0;
			else if (field)
				*(bool *) field = v->val.boolean;
			break;
		case OPT_ENUM:
			{
				int			x = check_choice(def, v);	/* index = enum value */

				if (field)
					*(int *) field = x;
				break;
			}
		case OPT_WEIGHT:
			{
				float		x = NN_COOC_AUTO;

				if (v->type == jbvString &&
					(v->val.string.len != 4 || memcmp(v->val.string.val, "auto", 4) != 0))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid value \"%s\" for option \"%s\"",
									pnstrdup(v->val.string.val, v->val.string.len), def->name),
							 errdetail("Valid values are a number or \"auto\".")));
				if (v->type != jbvString)
					x = (float) check_number(def, v);
				if (field)
					*(float *) field = x;
				break;
			}
		case OPT_PRESET:
			(void) check_choice(def, v);	/* applied by apply_preset */
			break;
	}
}

/* Walk the top-level keys of an options object, applying each. */
static void
apply_layer(CnnrecOptions *opts, Jsonb *layer)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (layer == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(layer) || JB_ROOT_IS_SCALAR(layer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a jsonb object"),
				 errhint("Pass options such as '{\"epochs\": 10, \"d\": 64}'.")));
	it = JsonbIteratorInit(&layer->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
			apply_option(opts, key, &v);
	}
}

/* The "preset" value of a layer, or NULL. */
static char *
layer_preset(Jsonb *layer)
{
	JsonbValue *v;

	if (layer == NULL || !JB_ROOT_IS_OBJECT(layer) || JB_ROOT_IS_SCALAR(layer))
		return NULL;
	v = getKeyJsonValueFromContainer(&layer->root, "preset", strlen("preset"), NULL);
	if (v == NULL)
		return NULL;
	return (char *) nn_preset_names[check_choice(find_option("preset"), v)];
}

/* Does the layer set key? */
static bool
layer_has(Jsonb *layer, const char *key)
{
	if (layer == NULL || !JB_ROOT_IS_OBJECT(layer) || JB_ROOT_IS_SCALAR(layer))
		return false;
	return getKeyJsonValueFromContainer(&layer->root, key, strlen(key), NULL) != NULL;
}

/* Check cross-field rules with placeholder data sizes. */
static void
check_combination(const CnnrecOptions *opts)
{
	NnConfig	cfg = opts->cfg;
	char		msg[256];

	nn_config_set_data(&cfg, 100, 10, 4);
	if (nn_config_validate(&cfg, msg, sizeof(msg)) != NN_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid combination of options"),
				 errdetail("%s.", msg)));
}

/* Resolve preset, base and override layers into out; see options.h. */
void
CnnrecResolveOptions(CnnrecOptions *out, Jsonb *base, Jsonb *override)
{
	char	   *preset = layer_preset(override);

	if (preset == NULL)
		preset = layer_preset(base);
	if (preset == NULL)
		preset = "tacaser";
	memset(out, 0, sizeof(*out));
	if (nn_config_preset(&out->cfg, preset) != NN_OK)
		elog(ERROR, "unknown preset \"%s\"", preset);
	strlcpy(out->set.preset, preset, sizeof(out->set.preset));
	out->set.kcore = 0;
	out->set.exclude_seen = true;
	out->set.holdout = true;
	out->set.dedup = false;
	out->set.threads = 0;
	apply_layer(out, base);
	apply_layer(out, override);
	/* The history window follows the conv window unless set explicitly. */
	if (out->cfg.M < out->cfg.L && !layer_has(base, "m") && !layer_has(override, "m"))
		out->cfg.M = out->cfg.L;
	check_combination(out);
}

/* Validate one options object; see options.h. */
void
CnnrecValidateOptions(Jsonb *options)
{
	CnnrecOptions opts;

	CnnrecResolveOptions(&opts, options, NULL);
}

/* Add "key": number to a jsonb under construction. */
static void
push_number(JsonbParseState **st, const char *key, double x)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
														Float8GetDatum(x)));
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* Add "key": string or boolean to a jsonb under construction. */
static void
push_scalar(JsonbParseState **st, const char *key, const char *s, int boolean)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	if (s != NULL)
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = strlen(s);
	}
	else
	{
		v.type = jbvBool;
		v.val.boolean = boolean != 0;
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* The effective options as jsonb, every key of option_defs[]; see options.h. */
Jsonb *
CnnrecOptionsToJsonb(const CnnrecOptions *opts)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < N_OPTIONS; i++)
	{
		const OptionDef *def = &option_defs[i];
		const char *field = (const char *) opts + def->offset;

		switch (def->kind)
		{
			case OPT_INT:
				push_number(&st, def->name, *(const int *) field);
				break;
			case OPT_U64:
				push_number(&st, def->name, (double) *(const uint64_t *) field);
				break;
			case OPT_FLOAT:
				/* print floats as their shortest decimal (0.001, not 0.0010000000474974513) */
				push_number(&st, def->name, strtod(psprintf("%.7g", *(const float *) field), NULL));
				break;
			case OPT_WEIGHT:
				if (*(const float *) field == NN_COOC_AUTO)
					push_scalar(&st, def->name, "auto", 0);
				else
					push_number(&st, def->name, strtod(psprintf("%.7g", *(const float *) field), NULL));
				break;
			case OPT_FLAG:
				push_scalar(&st, def->name, NULL, *(const int *) field);
				break;
			case OPT_BOOL:
				push_scalar(&st, def->name, NULL, *(const bool *) field);
				break;
			case OPT_ENUM:
				push_scalar(&st, def->name, def->choices[*(const int *) field], 0);
				break;
			case OPT_PRESET:
				push_scalar(&st, def->name, opts->set.preset, 0);
				break;
		}
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
