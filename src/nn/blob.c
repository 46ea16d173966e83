/*
 * blob.c
 *		The model blob (model-spec §5.14 "Model blob"): writer and a reader
 *		that treats its input as hostile.  See blob.h for the API.
 *
 * Layout, format 2 (little-endian; "u8/i32/u64/f32" as in bytes.h, floats
 * as IEEE-754 binary32 bit patterns):
 *
 *	offset	size	field
 *	0		8		magic "TACASER1"
 *	8		4		u32 format version (2)
 *	12		4		u32 header length H (NN_BLOB_HEADER_LEN_V2 = 458)
 *	16		H		header (see put_header / get_header):
 *					  u64 total blob length (including the CRC)
 *					  i32 N, U, n_E, n_G, d, L, M, T, nh, nv
 *					  i32 act_conv, act_fc, time_mode, tref_mode, loss, instances
 *					  u8  use_vertical, use_horizontal, use_attention,
 *					      use_event_emb, use_time_emb, conv_mask_windows,
 *					      decoupled_wd, use_target_weights (each 0 or 1)
 *					  f32 dropout, user_dropout, l2
 *					  i32 negatives, softmax_full_max
 *					  f32 target_weights[64]
 *					  i32 batch; f32 lr, beta1, beta2, eps, clip_norm; u64 seed
 *					  i32 max_instances_per_user, epochs, eval_every, patience
 *					  u8  event kind (0 none, 1 integer values, 2 text labels)
 *					  u8  has_adam (0 or 1)
 *					  i32 n_tensors; u64 n_params; u64 label bytes; i64 adam_t
 *					  (format 1 ends here, 434 bytes)
 *					  i32 cooc_k, cooc_window; f32 cooc_decay, cooc_lambda
 *					  (lambda in [0, NN_COOC_MAX_LAMBDA], never NN_COOC_AUTO)
 *					  i64 cooc_nnz (entries of the neighbour table, >= 0)
 *	...		8(U-1)	i64 external user ids of dense users 1..U-1 (strictly ascending)
 *	...		8(N-1)	i64 external item ids of dense items 1..N-1 (strictly ascending)
 *	...				events 1..n_E-1: kind 1: i64 values (strictly ascending);
 *					kind 2: labels, each u32 length + bytes (no NUL, at most
 *					NN_BLOB_MAX_LABEL bytes, strictly ascending by strcmp);
 *					kind 0: nothing
 *	...				n_tensors entries in §5.4 order (empty components
 *					included with rows = 0): u32 name length + name,
 *					i64 rows, i64 cols, rows*cols f32
 *	...		4N+8Z	only if cooc_nnz Z > 0: the item neighbour table (NnCooc):
 *					i32 row counts[N] (row 0 included, always 0; they sum
 *					to Z), i32 columns[Z], f32 weights[Z], rows in order;
 *					the rules of NnCooc apply (at most cooc_k per row,
 *					columns strictly ascending in 1..N-1 and not the row
 *					itself, weights in (0, 1], each row's sum at most 1)
 *	...		8P		has_adam: f32 m[n_params], f32 v[n_params] (params layout)
 *	end-4	4		u32 CRC-32C of every byte before it
 *
 * A model without a table (n_rows 0) or with an empty one is stored with
 * cooc_nnz 0 and no table section; it reads back with n_rows 0.
 *
 * Format 1 is format 2 with a 434-byte header (no co-occurrence fields)
 * and no table section.  The reader still accepts it: the co-occurrence
 * fields read as 0 and the model has no table.  The writer always writes
 * format 2.
 *
 * Index 0 of each map (PAD / UNKNOWN) is not stored; it reads back as 0
 * (values) or "" (labels).
 *
 * Reader order: magic, version, header length (the version's), header
 * present, total length (ETRUNC / ETRAILING), CRC (ECRC); then the header's
 * values (flags, cooc_lambda, nn_config_validate, counts vs the
 * configuration and vs the blob length, all in overflow-checked 64-bit
 * arithmetic) before the single allocation; then maps, vocabulary, tensors
 * (name and shape from nn_model_init's layout for the header's
 * configuration), values (finite, PAD rows zero), the neighbour table
 * (ECOOC), the Adam state (finite, v >= 0) and the end.  A CRC only
 * detects accidents: a blob with a recomputed CRC still gets every
 * structural check.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blob.h"
#include "nn/bytes.h"
#include "nn/crc32c.h"

#define PREAMBLE_LEN	16		/* magic, version, header length */

/* Event vocabulary kinds in the header. */
#define EV_NONE			0
#define EV_INT			1
#define EV_TEXT			2

/* The header's fields besides the configuration. */
typedef struct BlobHeader
{
	uint64_t	total_len;
	NnConfig	cfg;
	uint8_t		flags[8];		/* raw booleans, checked to be 0/1 */
	uint8_t		event_kind;
	uint8_t		has_adam;
	int32_t		n_tensors;
	uint64_t	n_params;
	uint64_t	label_bytes;
	int64_t		adam_t;
	int64_t		cooc_nnz;		/* format 2; 0 in format 1 */
} BlobHeader;

static const char *const flag_names[8] = {
	"use_vertical", "use_horizontal", "use_attention", "use_event_emb",
	"use_time_emb", "conv_mask_windows", "decoupled_wd", "use_target_weights"
};

const char *
nn_blob_strerror(int code)
{
	switch (code)
	{
		case NN_BLOB_OK:
			return "ok";
		case NN_BLOB_ENOMEM:
			return "out of memory";
		case NN_BLOB_ETRUNC:
			return "model blob is truncated";
		case NN_BLOB_EMAGIC:
			return "not a cnnrec model blob";
		case NN_BLOB_EVERSION:
			return "unsupported model blob format version";
		case NN_BLOB_ECRC:
			return "model blob checksum mismatch";
		case NN_BLOB_EHEADER:
			return "model blob header is invalid";
		case NN_BLOB_EMAPS:
			return "model blob id maps are invalid";
		case NN_BLOB_ETENSOR:
			return "model blob tensors do not match the configuration";
		case NN_BLOB_EVALUE:
			return "model blob holds an invalid value";
		case NN_BLOB_ETRAILING:
			return "model blob has trailing bytes";
		case NN_BLOB_ECOOC:
			return "co-occurrence table invalid";
	}
	return "unknown model blob error";
}

/* Write a message (if msg) and return code. */
static int	fail(char *msg, size_t msglen, int code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static int
fail(char *msg, size_t msglen, int code, const char *fmt,...)
{
	va_list		ap;

	if (msg != NULL && msglen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- overflow-checked size arithmetic ------------------------------ */

/* *acc += a * b; returns 0, or -1 on uint64 overflow (acc left as is). */
static int
acc_add_mul(uint64_t *acc, uint64_t a, uint64_t b)
{
	uint64_t	p;

	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	p = a * b;
	if (p > UINT64_MAX - *acc)
		return -1;
	*acc += p;
	return 0;
}

/* Bytes of the body after the header that do not depend on tensor names:
 * maps, vocabulary, tensor data, neighbour table (cooc_nnz entries, >= 0),
 * Adam state, CRC; -1 on overflow. */
static int
body_fixed_bytes(const NnConfig *c, int kind, uint64_t label_bytes,
				 uint64_t n_params, uint64_t cooc_nnz, int has_adam, uint64_t *out)
{
	uint64_t	s = 0;

	if (acc_add_mul(&s, (uint64_t) (c->U - 1), 8) ||
		acc_add_mul(&s, (uint64_t) (c->N - 1), 8))
		return -1;
	if (kind == EV_INT && acc_add_mul(&s, (uint64_t) (c->n_E - 1), 8))
		return -1;
	if (kind == EV_TEXT &&
		(acc_add_mul(&s, (uint64_t) (c->n_E - 1), 4) ||
		 acc_add_mul(&s, label_bytes, 1)))
		return -1;
	/* row counts, then a column and a weight per entry */
	if (cooc_nnz > 0 &&
		(acc_add_mul(&s, (uint64_t) c->N, 4) ||
		 acc_add_mul(&s, cooc_nnz, 8)))
		return -1;
	if (acc_add_mul(&s, n_params, has_adam ? 12 : 4) ||
		acc_add_mul(&s, 4, 1))
		return -1;
	*out = s;
	return 0;
}

/* Exact blob length for a model layout with a header of hdr_len bytes;
 * -1 on overflow. */
static int
blob_total_bytes(const NnModel *m, int kind, uint64_t label_bytes,
				 uint64_t cooc_nnz, int has_adam, uint32_t hdr_len, uint64_t *out)
{
	uint64_t	s;
	int			i;

	if (body_fixed_bytes(&m->cfg, kind, label_bytes, (uint64_t) m->n_params,
						 cooc_nnz, has_adam, &s) != 0)
		return -1;
	if (acc_add_mul(&s, (uint64_t) PREAMBLE_LEN + hdr_len, 1))
		return -1;
	for (i = 0; i < m->n_tensors; i++)
		if (acc_add_mul(&s, 4 + strlen(m->tensors[i].name) + 16, 1))
			return -1;
	*out = s;
	return 0;
}

/* ---- header -------------------------------------------------------- */

/* Write the format 2 header (NN_BLOB_HEADER_LEN_V2 bytes). */
static void
put_header(NnByteWriter *w, const NnConfig *c, int kind, int has_adam,
		   int n_tensors, uint64_t n_params, uint64_t label_bytes, int64_t adam_t,
		   int64_t cooc_nnz)
{
	const int	flags[8] = {c->use_vertical, c->use_horizontal, c->use_attention,
		c->use_event_emb, c->use_time_emb, c->conv_mask_windows, c->decoupled_wd,
	c->use_target_weights};
	int			i;

	nn_bw_u64(w, 0);			/* total length, patched at the end */
	nn_bw_i32(w, c->N);
	nn_bw_i32(w, c->U);
	nn_bw_i32(w, c->n_E);
	nn_bw_i32(w, c->n_G);
	nn_bw_i32(w, c->d);
	nn_bw_i32(w, c->L);
	nn_bw_i32(w, c->M);
	nn_bw_i32(w, c->T);
	nn_bw_i32(w, c->nh);
	nn_bw_i32(w, c->nv);
	nn_bw_i32(w, (int32_t) c->act_conv);
	nn_bw_i32(w, (int32_t) c->act_fc);
	nn_bw_i32(w, (int32_t) c->time_mode);
	nn_bw_i32(w, (int32_t) c->tref_mode);
	nn_bw_i32(w, (int32_t) c->loss);
	nn_bw_i32(w, (int32_t) c->instances);
	for (i = 0; i < 8; i++)
		nn_bw_u8(w, flags[i] != 0);
	nn_bw_f32(w, c->dropout);
	nn_bw_f32(w, c->user_dropout);
	nn_bw_f32(w, c->l2);
	nn_bw_i32(w, c->negatives);
	nn_bw_i32(w, c->softmax_full_max);
	nn_bw_f32_array(w, c->target_weights, NN_MAX_EVENT_TYPES);
	nn_bw_i32(w, c->batch);
	nn_bw_f32(w, c->lr);
	nn_bw_f32(w, c->beta1);
	nn_bw_f32(w, c->beta2);
	nn_bw_f32(w, c->eps);
	nn_bw_f32(w, c->clip_norm);
	nn_bw_u64(w, c->seed);
	nn_bw_i32(w, c->max_instances_per_user);
	nn_bw_i32(w, c->epochs);
	nn_bw_i32(w, c->eval_every);
	nn_bw_i32(w, c->patience);
	nn_bw_u8(w, (uint8_t) kind);
	nn_bw_u8(w, (uint8_t) (has_adam != 0));
	nn_bw_i32(w, n_tensors);
	nn_bw_u64(w, n_params);
	nn_bw_u64(w, label_bytes);
	nn_bw_i64(w, adam_t);
	/* format 2 */
	nn_bw_i32(w, c->cooc_k);
	nn_bw_i32(w, c->cooc_window);
	nn_bw_f32(w, c->cooc_decay);
	nn_bw_f32(w, c->cooc_lambda);
	nn_bw_i64(w, cooc_nnz);
}

/* Mirror of put_header for format version (1 or 2; format 1 stops before
 * the co-occurrence fields, which stay 0); r covers exactly the header
 * bytes. */
static int
get_header(NnByteReader *r, uint32_t version, BlobHeader *h)
{
	NnConfig   *c = &h->cfg;
	int32_t		v[16];

	memset(h, 0, sizeof(*h));
	nn_br_u64(r, &h->total_len);
	nn_br_i32_array(r, v, 16);
	c->N = v[0];
	c->U = v[1];
	c->n_E = v[2];
	c->n_G = v[3];
	c->d = v[4];
	c->L = v[5];
	c->M = v[6];
	c->T = v[7];
	c->nh = v[8];
	c->nv = v[9];
	/* enums: out-of-range values are caught by nn_config_validate */
	c->act_conv = (NnAct) v[10];
	c->act_fc = (NnAct) v[11];
	c->time_mode = (NnTimeMode) v[12];
	c->tref_mode = (NnTrefMode) v[13];
	c->loss = (NnLoss) v[14];
	c->instances = (NnInstances) v[15];
	nn_br_bytes(r, h->flags, 8);
	c->use_vertical = h->flags[0];
	c->use_horizontal = h->flags[1];
	c->use_attention = h->flags[2];
	c->use_event_emb = h->flags[3];
	c->use_time_emb = h->flags[4];
	c->conv_mask_windows = h->flags[5];
	c->decoupled_wd = h->flags[6];
	c->use_target_weights = h->flags[7];
	nn_br_f32(r, &c->dropout);
	nn_br_f32(r, &c->user_dropout);
	nn_br_f32(r, &c->l2);
	nn_br_i32(r, &v[0]);
	nn_br_i32(r, &v[1]);
	c->negatives = v[0];
	c->softmax_full_max = v[1];
	nn_br_f32_array(r, c->target_weights, NN_MAX_EVENT_TYPES);
	nn_br_i32(r, &v[0]);
	c->batch = v[0];
	nn_br_f32(r, &c->lr);
	nn_br_f32(r, &c->beta1);
	nn_br_f32(r, &c->beta2);
	nn_br_f32(r, &c->eps);
	nn_br_f32(r, &c->clip_norm);
	nn_br_u64(r, &c->seed);
	nn_br_i32_array(r, v, 4);
	c->max_instances_per_user = v[0];
	c->epochs = v[1];
	c->eval_every = v[2];
	c->patience = v[3];
	nn_br_u8(r, &h->event_kind);
	nn_br_u8(r, &h->has_adam);
	nn_br_i32(r, &h->n_tensors);
	nn_br_u64(r, &h->n_params);
	nn_br_u64(r, &h->label_bytes);
	nn_br_i64(r, &h->adam_t);
	if (version >= 2)
	{
		nn_br_i32_array(r, v, 2);
		c->cooc_k = v[0];
		c->cooc_window = v[1];
		nn_br_f32(r, &c->cooc_decay);
		nn_br_f32(r, &c->cooc_lambda);
		nn_br_i64(r, &h->cooc_nnz);
	}
	return nn_br_finish(r);
}

/* ---- value checks shared by writer and reader ---------------------- */

/* First non-finite float of p[n] (or negative one if nonneg), or -1. */
static int64_t
bad_float(const float *p, size_t n, int nonneg)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (!isfinite(p[i]) || (nonneg && p[i] < 0.0f))
			return (int64_t) i;
	return -1;
}

/* Check one tensor's values (finite, PAD row zero). */
static int
check_tensor_values(const NnModel *m, int t, char *msg, size_t msglen)
{
	const NnTensor *tt = &m->tensors[t];
	const float *p = m->params + tt->offset;
	size_t		n = (size_t) (tt->rows * tt->cols);
	int64_t		at;
	size_t		j;

	if (n == 0)
		return NN_BLOB_OK;
	at = bad_float(p, n, 0);
	if (at >= 0)
		return fail(msg, msglen, NN_BLOB_EVALUE,
					"tensor %s: non-finite value at [%lld][%lld]", tt->name,
					(long long) (at / tt->cols), (long long) (at % tt->cols));
	if (tt->pad_row0)
		for (j = 0; j < (size_t) tt->cols; j++)
			if (p[j] != 0.0f)
				return fail(msg, msglen, NN_BLOB_EVALUE,
							"tensor %s: PAD row 0 is not zero (column %zu is %g)",
							tt->name, j, (double) p[j]);
	return NN_BLOB_OK;
}

/* Check the Adam state (finite m, finite v >= 0). */
static int
check_adam_values(const NnModel *m, const float *am, const float *av,
				  char *msg, size_t msglen)
{
	int64_t		at = bad_float(am, m->n_params, 0);

	if (at >= 0)
		return fail(msg, msglen, NN_BLOB_EVALUE,
					"Adam first moment: non-finite value at parameter %lld", (long long) at);
	at = bad_float(av, m->n_params, 1);
	if (at >= 0)
		return fail(msg, msglen, NN_BLOB_EVALUE,
					"Adam second moment: non-finite or negative value at parameter %lld",
					(long long) at);
	return NN_BLOB_OK;
}

/* First index i >= 2 of v[1..n) with v[i] <= v[i-1], or 0 if ascending. */
static int64_t
not_ascending(const int64_t *v, int64_t n)
{
	int64_t		i;

	for (i = 2; i < n; i++)
		if (v[i] <= v[i - 1])
			return i;
	return 0;
}

/* ---- writer -------------------------------------------------------- */

/* Check the maps against the model before writing; sets *kind / *label_bytes. */
static int
check_maps_for_write(const NnModel *m, const NnBlobMaps *maps, int *kind,
					 uint64_t *label_bytes, char *msg, size_t msglen)
{
	const NnConfig *c = &m->cfg;
	int64_t		i;
	uint64_t	lb = 0;

	if (maps == NULL)
		return fail(msg, msglen, NN_BLOB_EMAPS, "no id maps given");
	if (maps->n_users != c->U || maps->n_items != c->N || maps->n_events != c->n_E)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"id map sizes (users %d, items %d, events %d) differ from the model's "
					"(U %d, N %d, n_E %d)", maps->n_users, maps->n_items, maps->n_events,
					c->U, c->N, c->n_E);
	if ((c->U > 1 && maps->user_ext == NULL) || (c->N > 1 && maps->item_ext == NULL))
		return fail(msg, msglen, NN_BLOB_EMAPS, "user or item id map missing");
	if (c->U > 1 && (i = not_ascending(maps->user_ext, c->U)) != 0)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"user ids not strictly ascending at dense id %lld", (long long) i);
	if ((i = not_ascending(maps->item_ext, c->N)) != 0)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"item ids not strictly ascending at dense id %lld", (long long) i);
	if (maps->event_value != NULL && maps->event_label != NULL)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"both integer event values and text labels given");
	*kind = maps->event_value ? EV_INT : maps->event_label ? EV_TEXT : EV_NONE;
	if (*kind == EV_INT && (i = not_ascending(maps->event_value, c->n_E)) != 0)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"event values not strictly ascending at event id %lld", (long long) i);
	if (*kind == EV_TEXT)
		for (i = 1; i < c->n_E; i++)
		{
			const char *s = maps->event_label[i];
			size_t		n;

			if (s == NULL)
				return fail(msg, msglen, NN_BLOB_EMAPS, "event label %lld is NULL", (long long) i);
			n = strlen(s);
			if (n > NN_BLOB_MAX_LABEL)
				return fail(msg, msglen, NN_BLOB_EMAPS,
							"event label %lld is %zu bytes long (at most %d)",
							(long long) i, n, NN_BLOB_MAX_LABEL);
			if (i >= 2 && strcmp(maps->event_label[i - 1], s) >= 0)
				return fail(msg, msglen, NN_BLOB_EMAPS,
							"event labels not strictly ascending at event id %lld", (long long) i);
			lb += n;
		}
	*label_bytes = lb;
	return NN_BLOB_OK;
}

/* Check the co-occurrence settings and table before writing; sets *nnz to
 * the entries to store (0: no table section). */
static int
check_cooc_for_write(const NnModel *m, int64_t *nnz, char *msg, size_t msglen)
{
	const NnConfig *c = &m->cfg;
	char		why[200];

	*nnz = 0;
	if (c->cooc_lambda == NN_COOC_AUTO)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"cooc_lambda is auto: the trainer must choose it before the model is saved");
	if (!(c->cooc_lambda >= 0.0f && c->cooc_lambda <= NN_COOC_MAX_LAMBDA))
		return fail(msg, msglen, NN_BLOB_EHEADER, "cooc_lambda %g is outside [0, %g]",
					(double) c->cooc_lambda, (double) NN_COOC_MAX_LAMBDA);
	if (m->cooc.n_rows == 0)
		return NN_BLOB_OK;
	if (m->cooc.n_rows != c->N)
		return fail(msg, msglen, NN_BLOB_ECOOC,
					"co-occurrence table has %d rows, the model has %d items",
					(int) m->cooc.n_rows, (int) c->N);
	if (m->cooc.off == NULL || (m->cooc.nnz > 0 && (m->cooc.col == NULL || m->cooc.w == NULL)))
		return fail(msg, msglen, NN_BLOB_ECOOC, "co-occurrence table has no arrays");
	if (nn_cooc_check(&m->cooc, c->N, c->cooc_k, why, sizeof(why)) != NN_OK)
		return fail(msg, msglen, NN_BLOB_ECOOC, "%s", why);
	*nnz = m->cooc.nnz;
	return NN_BLOB_OK;
}

/* Write the neighbour table section (nnz > 0: the table passed the check). */
static void
put_cooc(NnByteWriter *w, const NnCooc *c)
{
	int32_t		i;

	for (i = 0; i < c->n_rows; i++)
		nn_bw_i32(w, (int32_t) (c->off[i + 1] - c->off[i]));
	nn_bw_i32_array(w, c->col, (size_t) c->nnz);
	nn_bw_f32_array(w, c->w, (size_t) c->nnz);
}

int
nn_blob_write(const NnModel *m, const NnBlobMaps *maps, int with_adam,
			  uint8_t **out, size_t *len, char *msg, size_t msglen)
{
	NnModel		ref;
	NnByteWriter w;
	int			kind = EV_NONE;
	int			has_adam = with_adam && m->adam_m != NULL && m->adam_v != NULL;
	uint64_t	label_bytes = 0;
	int64_t		cooc_nnz = 0;
	uint64_t	total;
	size_t		hdr_at;
	int64_t		i;
	int			t;
	int			rc;

	*out = NULL;
	*len = 0;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';

	/* the model must be exactly what its configuration implies */
	if (m->params == NULL)
		return fail(msg, msglen, NN_BLOB_EHEADER, "model has no parameters");
	if (nn_config_validate(&m->cfg, msg, msglen) != NN_OK)
		return NN_BLOB_EHEADER;
	/* item-category tables are not stored: the trainer folds them first */
	if (m->cat_params != NULL || nn_config_category_active(&m->cfg))
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"model has item-category tables (fold them with nn_model_fold_categories)");
	for (i = 0; i < NN_MAX_EVENT_TYPES; i++)
		if (!isfinite(m->cfg.target_weights[i]))
			return fail(msg, msglen, NN_BLOB_EHEADER, "target weight %lld is not finite",
						(long long) i);
	if (nn_model_init(&ref, &m->cfg, m->params, msg, msglen) != NN_OK)
		return NN_BLOB_EHEADER;
	if (ref.n_tensors != m->n_tensors || ref.n_params != m->n_params)
		return fail(msg, msglen, NN_BLOB_ETENSOR,
					"model has %d tensors / %zu parameters, its configuration implies %d / %zu",
					m->n_tensors, m->n_params, ref.n_tensors, ref.n_params);
	for (t = 0; t < m->n_tensors; t++)
		if (strcmp(ref.tensors[t].name, m->tensors[t].name) != 0 ||
			ref.tensors[t].rows != m->tensors[t].rows ||
			ref.tensors[t].cols != m->tensors[t].cols ||
			ref.tensors[t].offset != m->tensors[t].offset)
			return fail(msg, msglen, NN_BLOB_ETENSOR,
						"tensor %d (%s) does not match the configuration's layout", t,
						m->tensors[t].name);
	rc = check_maps_for_write(m, maps, &kind, &label_bytes, msg, msglen);
	if (rc != NN_BLOB_OK)
		return rc;
	for (t = 0; t < m->n_tensors; t++)
		if ((rc = check_tensor_values(m, t, msg, msglen)) != NN_BLOB_OK)
			return rc;
	if ((rc = check_cooc_for_write(m, &cooc_nnz, msg, msglen)) != NN_BLOB_OK)
		return rc;
	if (has_adam)
	{
		if (m->adam_t < 0)
			return fail(msg, msglen, NN_BLOB_EVALUE, "Adam step count %lld is negative",
						(long long) m->adam_t);
		if ((rc = check_adam_values(m, m->adam_m, m->adam_v, msg, msglen)) != NN_BLOB_OK)
			return rc;
	}
	if (blob_total_bytes(m, kind, label_bytes, (uint64_t) cooc_nnz, has_adam,
						 NN_BLOB_HEADER_LEN, &total) != 0 || total > SIZE_MAX)
		return fail(msg, msglen, NN_BLOB_ENOMEM, "model too large to serialise");

	nn_bw_init(&w);
	nn_bw_reserve(&w, (size_t) total);
	nn_bw_bytes(&w, NN_BLOB_MAGIC, 8);
	nn_bw_u32(&w, NN_BLOB_FORMAT);
	nn_bw_u32(&w, NN_BLOB_HEADER_LEN);
	hdr_at = w.len;
	put_header(&w, &m->cfg, kind, has_adam, m->n_tensors, (uint64_t) m->n_params,
			   label_bytes, has_adam ? m->adam_t : 0, cooc_nnz);
	if (w.err == NN_BYTES_OK && w.len - hdr_at != NN_BLOB_HEADER_LEN)
		w.err = NN_BYTES_EINVAL;	/* cannot happen: header layout changed */
	nn_bw_patch_u64(&w, hdr_at, total);

	if (m->cfg.U > 1)
		nn_bw_i64_array(&w, maps->user_ext + 1, (size_t) (m->cfg.U - 1));
	nn_bw_i64_array(&w, maps->item_ext + 1, (size_t) (m->cfg.N - 1));
	if (kind == EV_INT && m->cfg.n_E > 1)
		nn_bw_i64_array(&w, maps->event_value + 1, (size_t) (m->cfg.n_E - 1));
	if (kind == EV_TEXT)
		for (i = 1; i < m->cfg.n_E; i++)
			nn_bw_cstr(&w, maps->event_label[i]);
	for (t = 0; t < m->n_tensors; t++)
	{
		const NnTensor *tt = &m->tensors[t];

		nn_bw_cstr(&w, tt->name);
		nn_bw_i64(&w, tt->rows);
		nn_bw_i64(&w, tt->cols);
		nn_bw_f32_array(&w, m->params + tt->offset, (size_t) (tt->rows * tt->cols));
	}
	if (cooc_nnz > 0)
		put_cooc(&w, &m->cooc);
	if (has_adam)
	{
		nn_bw_f32_array(&w, m->adam_m, m->n_params);
		nn_bw_f32_array(&w, m->adam_v, m->n_params);
	}
	if (w.err == NN_BYTES_OK && w.len + 4 != total)
		w.err = NN_BYTES_EINVAL;	/* cannot happen: size computation is off */
	if (w.err == NN_BYTES_OK)
		nn_bw_u32(&w, nn_crc32c(0, w.data, w.len));
	if (w.err != NN_BYTES_OK)
	{
		rc = w.err == NN_BYTES_ENOMEM ? NN_BLOB_ENOMEM : NN_BLOB_EHEADER;
		fail(msg, msglen, rc, "serialisation failed: %s", nn_bytes_strerror(w.err));
		nn_bw_free(&w);
		return rc;
	}
	*out = nn_bw_release(&w, len);
	return NN_BLOB_OK;
}

/* ---- reader -------------------------------------------------------- */

/* Copy at most 7 bytes of a hostile name into dst[8], '?' for non-printables. */
static void
printable_name(char *dst, const char *s, uint32_t n)
{
	uint32_t	i;

	if (n > 7)
		n = 7;
	for (i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[n] = '\0';
}

/* Check header fields that nn_config_validate does not cover. */
static int
check_header(const BlobHeader *h, char *msg, size_t msglen)
{
	int			i;

	for (i = 0; i < 8; i++)
		if (h->flags[i] > 1)
			return fail(msg, msglen, NN_BLOB_EHEADER, "flag %s is %d, expected 0 or 1",
						flag_names[i], h->flags[i]);
	for (i = 0; i < NN_MAX_EVENT_TYPES; i++)
		if (!isfinite(h->cfg.target_weights[i]))
			return fail(msg, msglen, NN_BLOB_EHEADER, "target weight %d is not finite", i);
	if (h->event_kind > EV_TEXT)
		return fail(msg, msglen, NN_BLOB_EHEADER, "unknown event vocabulary kind %d",
					h->event_kind);
	if (h->has_adam > 1)
		return fail(msg, msglen, NN_BLOB_EHEADER, "has_adam is %d, expected 0 or 1",
					h->has_adam);
	if (h->event_kind != EV_TEXT && h->label_bytes != 0)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"label bytes %llu given without text event labels",
					(unsigned long long) h->label_bytes);
	if (h->adam_t < 0 || (!h->has_adam && h->adam_t != 0))
		return fail(msg, msglen, NN_BLOB_EHEADER, "invalid Adam step count %lld",
					(long long) h->adam_t);
	if (h->n_tensors < 1 || h->n_tensors > NN_MAX_TENSORS)
		return fail(msg, msglen, NN_BLOB_EHEADER, "tensor count %d out of range 1..%d",
					h->n_tensors, NN_MAX_TENSORS);
	/* nn_config_validate accepts auto, a stored model has a chosen weight */
	if (h->cfg.cooc_lambda == NN_COOC_AUTO)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"cooc_lambda is auto (-1), a stored model has a chosen weight");
	if (!(h->cfg.cooc_lambda >= 0.0f && h->cfg.cooc_lambda <= NN_COOC_MAX_LAMBDA))
		return fail(msg, msglen, NN_BLOB_EHEADER, "cooc_lambda %g is outside [0, %g]",
					(double) h->cfg.cooc_lambda, (double) NN_COOC_MAX_LAMBDA);
	if (h->cooc_nnz < 0)
		return fail(msg, msglen, NN_BLOB_EHEADER, "negative co-occurrence entry count %lld",
					(long long) h->cooc_nnz);
	return NN_BLOB_OK;
}

/* Map a reader failure inside a section to a blob code and message. */
static int
section_fail(const NnByteReader *r, int code_badlen, const char *what,
			 char *msg, size_t msglen)
{
	if (r->err == NN_BYTES_ETRUNC)
		return fail(msg, msglen, NN_BLOB_ETRUNC, "%s: input ends early at offset %zu",
					what, r->err_pos);
	return fail(msg, msglen, code_badlen, "%s: %s at offset %zu", what,
				nn_bytes_strerror(r->err), r->err_pos);
}

/*
 * Parse the neighbour table section into m->cooc (arrays already sized
 * for the header's cooc_nnz > 0): the row counts become the offsets, each
 * checked to be >= 0 and to stay within nnz before the columns and
 * weights are read; then the rules of NnCooc (nn_cooc_check).
 */
static int
read_cooc(NnByteReader *r, NnModel *m, char *msg, size_t msglen)
{
	NnCooc	   *t = &m->cooc;
	char		why[200];
	int32_t		i;

	t->off[0] = 0;
	for (i = 0; i < t->n_rows; i++)
	{
		int32_t		n;

		if (nn_br_i32(r, &n) != NN_BYTES_OK)
			return section_fail(r, NN_BLOB_ECOOC, "co-occurrence row counts", msg, msglen);
		if (n < 0)
			return fail(msg, msglen, NN_BLOB_ECOOC,
						"co-occurrence table row %d: negative count %d", (int) i, (int) n);
		/* off[i] <= nnz < 2^62 here, so the sum cannot overflow */
		if (n > t->nnz - t->off[i])
			return fail(msg, msglen, NN_BLOB_ECOOC,
						"co-occurrence row counts exceed the header's %lld entries at row %d",
						(long long) t->nnz, (int) i);
		t->off[i + 1] = t->off[i] + n;
	}
	if (t->off[t->n_rows] != t->nnz)
		return fail(msg, msglen, NN_BLOB_ECOOC,
					"co-occurrence row counts sum to %lld, the header says %lld entries",
					(long long) t->off[t->n_rows], (long long) t->nnz);
	nn_br_i32_array(r, t->col, (size_t) t->nnz);
	nn_br_f32_array(r, t->w, (size_t) t->nnz);
	if (r->err != NN_BYTES_OK)
		return section_fail(r, NN_BLOB_ECOOC, "co-occurrence table", msg, msglen);
	if (nn_cooc_check(t, m->cfg.N, m->cfg.cooc_k, why, sizeof(why)) != NN_OK)
		return fail(msg, msglen, NN_BLOB_ECOOC, "%s", why);
	return NN_BLOB_OK;
}

/* Parse the body (after the header) into b; everything already sized. */
static int
read_body(NnByteReader *r, const BlobHeader *h, NnBlob *b, char *label_area,
		  char *msg, size_t msglen)
{
	NnModel    *m = &b->model;
	const NnConfig *c = &m->cfg;
	int64_t		i;
	int			t;
	int			rc;
	uint64_t	used = 0;

	/* id maps */
	if (c->U > 1)
		nn_br_i64_array(r, (int64_t *) b->maps.user_ext + 1, (size_t) (c->U - 1));
	nn_br_i64_array(r, (int64_t *) b->maps.item_ext + 1, (size_t) (c->N - 1));
	if (r->err != NN_BYTES_OK)
		return section_fail(r, NN_BLOB_EMAPS, "id maps", msg, msglen);
	if ((i = not_ascending(b->maps.user_ext, c->U)) != 0)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"user ids not strictly ascending at dense id %lld (%lld after %lld)",
					(long long) i, (long long) b->maps.user_ext[i],
					(long long) b->maps.user_ext[i - 1]);
	if ((i = not_ascending(b->maps.item_ext, c->N)) != 0)
		return fail(msg, msglen, NN_BLOB_EMAPS,
					"item ids not strictly ascending at dense id %lld (%lld after %lld)",
					(long long) i, (long long) b->maps.item_ext[i],
					(long long) b->maps.item_ext[i - 1]);

	/* event vocabulary */
	if (h->event_kind == EV_INT)
	{
		if (c->n_E > 1)
			nn_br_i64_array(r, (int64_t *) b->maps.event_value + 1, (size_t) (c->n_E - 1));
		if (r->err != NN_BYTES_OK)
			return section_fail(r, NN_BLOB_EMAPS, "event values", msg, msglen);
		if ((i = not_ascending(b->maps.event_value, c->n_E)) != 0)
			return fail(msg, msglen, NN_BLOB_EMAPS,
						"event values not strictly ascending at event id %lld", (long long) i);
	}
	else if (h->event_kind == EV_TEXT)
	{
		char	  **labels = (char **) b->maps.event_label;

		label_area[0] = '\0';
		labels[0] = label_area;
		label_area++;
		for (i = 1; i < c->n_E; i++)
		{
			const char *s;
			uint32_t	n;

			if (nn_br_str(r, NN_BLOB_MAX_LABEL, &s, &n) != NN_BYTES_OK)
			{
				if (r->err == NN_BYTES_EBADLEN)
					return fail(msg, msglen, NN_BLOB_EMAPS,
								"event label %lld: length exceeds %d bytes or the input",
								(long long) i, NN_BLOB_MAX_LABEL);
				return section_fail(r, NN_BLOB_EMAPS, "event labels", msg, msglen);
			}
			if (n > h->label_bytes - used)
				return fail(msg, msglen, NN_BLOB_EMAPS,
							"event labels exceed the header's %llu label bytes",
							(unsigned long long) h->label_bytes);
			if (n > 0 && memchr(s, '\0', n) != NULL)
				return fail(msg, msglen, NN_BLOB_EMAPS, "event label %lld contains a NUL byte",
							(long long) i);
			memcpy(label_area, s, n);
			label_area[n] = '\0';
			labels[i] = label_area;
			label_area += (size_t) n + 1;
			used += n;
			if (i >= 2 && strcmp(labels[i - 1], labels[i]) >= 0)
				return fail(msg, msglen, NN_BLOB_EMAPS,
							"event labels not strictly ascending at event id %lld", (long long) i);
		}
		if (used != h->label_bytes)
			return fail(msg, msglen, NN_BLOB_EMAPS,
						"event labels hold %llu bytes, the header says %llu",
						(unsigned long long) used, (unsigned long long) h->label_bytes);
	}

	/* tensors, in the layout of the header's configuration */
	for (t = 0; t < m->n_tensors; t++)
	{
		const NnTensor *tt = &m->tensors[t];
		const char *s;
		uint32_t	n;
		int64_t		rows,
					cols;
		char		shown[8];

		nn_br_str(r, 7, &s, &n);
		nn_br_i64(r, &rows);
		nn_br_i64(r, &cols);
		if (r->err != NN_BYTES_OK)
			return section_fail(r, NN_BLOB_ETENSOR, "tensor table", msg, msglen);
		printable_name(shown, s, n);
		if (n != strlen(tt->name) || memcmp(s, tt->name, n) != 0)
			return fail(msg, msglen, NN_BLOB_ETENSOR,
						"tensor %d: expected %s, found \"%s\"", t, tt->name, shown);
		if (rows != tt->rows || cols != tt->cols)
			return fail(msg, msglen, NN_BLOB_ETENSOR,
						"tensor %s: shape %lld x %lld, the configuration implies %lld x %lld",
						tt->name, (long long) rows, (long long) cols,
						(long long) tt->rows, (long long) tt->cols);
		if (nn_br_f32_array(r, m->params + tt->offset, (size_t) (rows * cols)) != NN_BYTES_OK)
			return section_fail(r, NN_BLOB_ETENSOR, "tensor data", msg, msglen);
		if ((rc = check_tensor_values(m, t, msg, msglen)) != NN_BLOB_OK)
			return rc;
	}

	/* item neighbour table (format 2, when it has entries) */
	if (m->cooc.n_rows > 0 && (rc = read_cooc(r, m, msg, msglen)) != NN_BLOB_OK)
		return rc;

	/* Adam state */
	if (h->has_adam)
	{
		nn_br_f32_array(r, m->adam_m, m->n_params);
		nn_br_f32_array(r, m->adam_v, m->n_params);
		if (r->err != NN_BYTES_OK)
			return section_fail(r, NN_BLOB_ETENSOR, "Adam state", msg, msglen);
		if ((rc = check_adam_values(m, m->adam_m, m->adam_v, msg, msglen)) != NN_BLOB_OK)
			return rc;
	}

	/* the CRC (already verified) and nothing after it */
	nn_br_skip(r, 4);
	if (nn_br_finish(r) != NN_BYTES_OK)
	{
		if (r->err == NN_BYTES_ETRAILING)
			return fail(msg, msglen, NN_BLOB_ETRAILING,
						"%zu unread bytes before the checksum", r->len - r->err_pos);
		return section_fail(r, NN_BLOB_ETENSOR, "checksum", msg, msglen);
	}
	return NN_BLOB_OK;
}

/* Round n up to a multiple of 8 (n is small: checked by the caller). */
static uint64_t
align8(uint64_t n)
{
	return (n + 7) & ~(uint64_t) 7;
}

int
nn_blob_read(const uint8_t *buf, size_t len, NnBlob *b, char *msg, size_t msglen)
{
	const char *magic = NN_BLOB_MAGIC;
	NnByteReader r;
	BlobHeader	h;
	NnConfig   *c = &h.cfg;
	uint32_t	version,
				hdr_len,
				want_hdr,
				crc_stored,
				crc;
	uint64_t	need,
				total,
				sz,
				off_item,
				off_event,
				off_params,
				off_adam,
				off_cooc,
				off_col,
				off_w,
				off_labels,
				nnz;
	size_t		np;
	uint8_t    *mem;
	int			rc;

	memset(b, 0, sizeof(*b));
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (buf == NULL)
		len = 0;

	/* preamble */
	if (len < 8)
	{
		if (len > 0 && memcmp(buf, magic, len) != 0)
			return fail(msg, msglen, NN_BLOB_EMAGIC, "not a cnnrec model blob (bad magic)");
		return fail(msg, msglen, NN_BLOB_ETRUNC, "blob is %zu bytes, too short for the magic", len);
	}
	if (memcmp(buf, magic, 8) != 0)
		return fail(msg, msglen, NN_BLOB_EMAGIC,
					"not a cnnrec model blob (magic is not \"" NN_BLOB_MAGIC "\")");
	if (len < PREAMBLE_LEN)
		return fail(msg, msglen, NN_BLOB_ETRUNC, "blob is %zu bytes, too short for the preamble", len);
	nn_br_init(&r, buf, len);
	nn_br_skip(&r, 8);
	nn_br_u32(&r, &version);
	nn_br_u32(&r, &hdr_len);
	if (version < NN_BLOB_FORMAT_MIN || version > NN_BLOB_FORMAT)
		return fail(msg, msglen, NN_BLOB_EVERSION,
					"blob format version %u is not supported (this build reads versions %d to %d)",
					version, NN_BLOB_FORMAT_MIN, NN_BLOB_FORMAT);
	want_hdr = version == 1 ? NN_BLOB_HEADER_LEN_V1 : NN_BLOB_HEADER_LEN_V2;
	if (hdr_len != want_hdr)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"header length %u, format %u has %u", hdr_len, version, want_hdr);
	if (len - PREAMBLE_LEN < hdr_len)
		return fail(msg, msglen, NN_BLOB_ETRUNC, "blob is %zu bytes, too short for the header", len);

	/* total length and checksum */
	nn_br_init(&r, buf + PREAMBLE_LEN, hdr_len);
	if (get_header(&r, version, &h) != NN_BYTES_OK)
		return fail(msg, msglen, NN_BLOB_EHEADER, "header could not be parsed");
	if (h.total_len < (uint64_t) PREAMBLE_LEN + hdr_len + 4)
		return fail(msg, msglen, NN_BLOB_EHEADER, "total length %llu is too small",
					(unsigned long long) h.total_len);
	if ((uint64_t) len < h.total_len)
		return fail(msg, msglen, NN_BLOB_ETRUNC, "blob is %zu bytes, its header says %llu",
					len, (unsigned long long) h.total_len);
	if ((uint64_t) len > h.total_len)
		return fail(msg, msglen, NN_BLOB_ETRAILING, "%llu bytes after the checksum",
					(unsigned long long) ((uint64_t) len - h.total_len));
	nn_br_init(&r, buf + len - 4, 4);
	nn_br_u32(&r, &crc_stored);
	crc = nn_crc32c(0, buf, len - 4);
	if (crc != crc_stored)
		return fail(msg, msglen, NN_BLOB_ECRC,
					"checksum mismatch (stored %08x, computed %08x)", crc_stored, crc);

	/* header values */
	if ((rc = check_header(&h, msg, msglen)) != NN_BLOB_OK)
		return rc;
	if (nn_config_validate(c, msg, msglen) != NN_OK)
		return NN_BLOB_EHEADER;
	np = nn_model_param_count(c);
	if (h.n_params != (uint64_t) np)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"header says %llu parameters, the configuration implies %zu",
					(unsigned long long) h.n_params, np);
	nnz = (uint64_t) h.cooc_nnz;	/* >= 0, checked */
	if (body_fixed_bytes(c, h.event_kind, h.label_bytes, h.n_params, nnz, h.has_adam,
						 &need) != 0 ||
		acc_add_mul(&need, (uint64_t) PREAMBLE_LEN + hdr_len, 1) != 0 ||
		need > h.total_len)
		return fail(msg, msglen, NN_BLOB_EHEADER,
					"the header's sizes need more than the blob's %zu bytes", len);

	/*
	 * One allocation, bounded by a small multiple of len (every element
	 * counted here occupies at least half its size in the input):
	 * user_ext, item_ext, event values or label pointers (8-byte aligned),
	 * params, Adam m and v, the neighbour table (offsets 8-byte aligned,
	 * columns, weights; the offsets take at most twice their row counts'
	 * bytes plus 8), label characters with NUL terminators.
	 */
	sz = 0;
	acc_add_mul(&sz, (uint64_t) c->U, 8);
	off_item = sz;
	acc_add_mul(&sz, (uint64_t) c->N, 8);
	off_event = sz;
	if (h.event_kind != EV_NONE)
		acc_add_mul(&sz, (uint64_t) c->n_E, 8);
	off_params = sz;
	acc_add_mul(&sz, h.n_params, 4);
	off_adam = sz;
	if (h.has_adam)
		acc_add_mul(&sz, h.n_params, 8);
	sz = align8(sz);
	off_cooc = sz;
	if (nnz > 0)
		acc_add_mul(&sz, (uint64_t) c->N + 1, 8);
	off_col = sz;
	acc_add_mul(&sz, nnz, 4);
	off_w = sz;
	acc_add_mul(&sz, nnz, 4);
	off_labels = sz;
	if (h.event_kind == EV_TEXT)
	{
		acc_add_mul(&sz, h.label_bytes, 1);
		acc_add_mul(&sz, (uint64_t) c->n_E, 1);
	}
	sz = align8(sz);
	if (sz > SIZE_MAX)
		return fail(msg, msglen, NN_BLOB_ENOMEM, "model needs %llu bytes",
					(unsigned long long) sz);
	mem = (uint8_t *) calloc(1, (size_t) sz);
	if (mem == NULL)
		return fail(msg, msglen, NN_BLOB_ENOMEM, "cannot allocate %llu bytes for the model",
					(unsigned long long) sz);
	b->mem = mem;

	/* the model over the arena; its layout is the reference for the tensors */
	if (nn_model_init(&b->model, c, (float *) (mem + off_params), msg, msglen) != NN_OK)
	{
		nn_blob_free(b);
		return NN_BLOB_EHEADER;
	}
	if (b->model.n_tensors != h.n_tensors)
	{
		rc = fail(msg, msglen, NN_BLOB_EHEADER,
				  "header says %d tensors, the configuration implies %d",
				  h.n_tensors, b->model.n_tensors);
		nn_blob_free(b);
		return rc;
	}
	if (blob_total_bytes(&b->model, h.event_kind, h.label_bytes, nnz, h.has_adam, hdr_len,
						 &total) != 0 ||
		total != h.total_len)
	{
		rc = fail(msg, msglen, NN_BLOB_EHEADER,
				  "blob is %zu bytes, its header's sizes imply %llu", len,
				  (unsigned long long) total);
		nn_blob_free(b);
		return rc;
	}
	if (h.has_adam)
	{
		b->model.adam_m = (float *) (mem + off_adam);
		b->model.adam_v = b->model.adam_m + np;
		b->model.adam_t = h.adam_t;
		b->has_adam = 1;
	}
	if (nnz > 0)
	{
		/* borrowed from mem (cooc.mem NULL); filled by read_body */
		b->model.cooc.n_rows = c->N;
		b->model.cooc.nnz = h.cooc_nnz;
		b->model.cooc.off = (int64_t *) (mem + off_cooc);
		b->model.cooc.col = (int32_t *) (mem + off_col);
		b->model.cooc.w = (float *) (mem + off_w);
	}
	b->maps.n_users = c->U;
	b->maps.n_items = c->N;
	b->maps.n_events = c->n_E;
	b->maps.user_ext = (const int64_t *) mem;
	b->maps.item_ext = (const int64_t *) (mem + off_item);
	if (h.event_kind == EV_INT)
		b->maps.event_value = (const int64_t *) (mem + off_event);
	else if (h.event_kind == EV_TEXT)
		b->maps.event_label = (const char *const *) (mem + off_event);

	nn_br_init(&r, buf, len);
	nn_br_skip(&r, PREAMBLE_LEN + (size_t) hdr_len);
	rc = read_body(&r, &h, b, (char *) (mem + off_labels), msg, msglen);
	if (rc != NN_BLOB_OK)
	{
		nn_blob_free(b);
		return rc;
	}
	return NN_BLOB_OK;
}

void
nn_blob_free(NnBlob *b)
{
	if (b == NULL)
		return;
	/* Adam state allocated later by nn_model_alloc_adam lives outside mem */
	if (!b->has_adam && b->model.adam_m != NULL)
		free(b->model.adam_m);
	free(b->mem);
	memset(b, 0, sizeof(*b));
}

/* Dense id of ext among v[1..n), or 0. */
static int32_t
map_lookup(const int64_t *v, int32_t n, int64_t ext)
{
	int32_t		lo = 1,
				hi = n - 1;

	if (v == NULL)
		return 0;
	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (v[mid] == ext)
			return mid;
		if (v[mid] < ext)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

int32_t
nn_blob_user_id(const NnBlobMaps *maps, int64_t ext)
{
	return map_lookup(maps->user_ext, maps->n_users, ext);
}

int32_t
nn_blob_item_id(const NnBlobMaps *maps, int64_t ext)
{
	return map_lookup(maps->item_ext, maps->n_items, ext);
}

int32_t
nn_blob_event_value_id(const NnBlobMaps *maps, int64_t value)
{
	return map_lookup(maps->event_value, maps->n_events, value);
}

int32_t
nn_blob_event_label_id(const NnBlobMaps *maps, const char *label)
{
	int32_t		lo = 1,
				hi = maps->n_events - 1;

	if (maps->event_label == NULL || label == NULL)
		return 0;
	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;
		int			cmp = strcmp(maps->event_label[mid], label);

		if (cmp == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}
