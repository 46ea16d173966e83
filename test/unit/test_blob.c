/*
 * test_blob.c
 *		Unit tests of src/nn/blob.c (model-spec §5.14 "Model blob"):
 *		bit-exact round trips of tiny caser / tacaser models (with and
 *		without Adam state; integer, text and no event vocabulary), every
 *		single-byte corruption and every truncation rejected, targeted
 *		hostile headers and bodies (with a recomputed CRC) rejected with the
 *		right code, random structural mutations, writer-side refusals, and
 *		the id lookups; format 2's co-occurrence fields and item neighbour
 *		table (round trip, every hostile table rejected with ECOOC, sizes
 *		checked before allocation), and format 1 blobs still read.  Every
 *		parsed buffer is an exact-size allocation so ASan / valgrind catch
 *		any over-read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blob.h"
#include "nn/bytes.h"
#include "nn/crc32c.h"
#include "nn/rng.h"
#include "nn_fixture.h"
#include "tap.h"

/* Header field offsets (preamble 16 + position in the header). */
#define OFF_VERSION		8
#define OFF_HDRLEN		12
#define OFF_TOTAL		16
#define OFF_N			24
#define OFF_U			28
#define OFF_NE			32
#define OFF_D			40
#define OFF_L			44
#define OFF_FLAGS		88
#define OFF_DROPOUT		96
#define OFF_TW			116
#define OFF_EVKIND		420
#define OFF_HASADAM		421
#define OFF_NTENSORS	422
#define OFF_NPARAMS		426
#define OFF_LABELBYTES	434
#define OFF_ADAMT		442
#define OFF_BODY_V1		450		/* format 1: the body follows adam_t */
#define OFF_COOC_K		450		/* format 2's co-occurrence fields */
#define OFF_COOC_WINDOW	454
#define OFF_COOC_DECAY	458
#define OFF_COOC_LAMBDA	462
#define OFF_COOC_NNZ	466
#define OFF_BODY		474
#define COOC_HDR_BYTES	(OFF_BODY - OFF_BODY_V1)

/* Worst code nn_blob_read returns; anything outside [it, -30] is a bug. */
#define WORST_CODE		NN_BLOB_ECOOC

/* A model with its maps, owned by the test. */
typedef struct TModel
{
	NnModel		m;
	int64_t    *user_ext;
	int64_t    *item_ext;
	int64_t    *event_value;
	const char **event_label;
	NnBlobMaps	maps;
} TModel;

static const char *const labels4[] = {"", "buy", "cart", "fav", "pv"};

/* Build a tiny model of a preset; events: 0 none, 1 int, 2 text;
 * adam: run a few real training steps so m, v and t are non-trivial. */
static int
tmodel_make(TModel *tm, const char *preset, NnLoss loss, int events, int adam,
			NnTimeMode tmode)
{
	NnConfig	c;
	int			i;

	memset(tm, 0, sizeof(*tm));
	tiny_config(&c, preset, loss);
	if (strcmp(preset, "tacaser") == 0)
	{
		c.time_mode = tmode;
		c.user_dropout = 0.25f;
		c.dropout = 0.3f;
		/* the preset leaves the weight to the trainer (auto), which a blob
		 * cannot store; the other co-occurrence fields are the preset's */
		c.cooc_lambda = 0.15f;
	}
	nn_config_set_data(&c, 7, 3, events == 2 ? 5 : 3);
	if (make_model(&tm->m, &c) != NN_OK)
		return -1;
	if (adam)
	{
		NnWork	   *w;
		TBatch		tb;
		double		loss_v;
		int			err;
		int			s;

		tb_make(&tb, &c, 6, 11, 0);
		w = nn_work_create(&tm->m, 6, 1, 1, &err);
		if (w == NULL)
			return -1;
		for (s = 0; s < 3; s++)
			nn_train_step(&tm->m, w, &tb.b, &loss_v);
		nn_work_free(w);
		tb_free(&tb);
	}
	tm->user_ext = calloc(c.U, sizeof(int64_t));
	tm->item_ext = calloc(c.N, sizeof(int64_t));
	for (i = 1; i < c.U; i++)
		tm->user_ext[i] = -1000 + 777 * (int64_t) i;
	for (i = 1; i < c.N; i++)
		tm->item_ext[i] = (i == 1) ? INT64_MIN : (i == c.N - 1) ? INT64_MAX : 10 * (int64_t) i;
	tm->maps.n_users = c.U;
	tm->maps.n_items = c.N;
	tm->maps.n_events = c.n_E;
	tm->maps.user_ext = tm->user_ext;
	tm->maps.item_ext = tm->item_ext;
	if (events == 1)
	{
		tm->event_value = calloc(c.n_E, sizeof(int64_t));
		for (i = 1; i < c.n_E; i++)
			tm->event_value[i] = 2 * (int64_t) i - 1;
		tm->maps.event_value = tm->event_value;
	}
	else if (events == 2)
	{
		tm->event_label = calloc(c.n_E, sizeof(const char *));
		for (i = 1; i < c.n_E; i++)
			tm->event_label[i] = labels4[i];
		tm->maps.event_label = (const char *const *) tm->event_label;
	}
	return 0;
}

static void
tmodel_free(TModel *tm)
{
	nn_model_free(&tm->m);
	free(tm->user_ext);
	free(tm->item_ext);
	free(tm->event_value);
	free((void *) tm->event_label);
	memset(tm, 0, sizeof(*tm));
}

/* Parse a copy of buf[0..n) in an exact-size allocation; returns the code. */
static int
read_copy(const uint8_t *buf, size_t n, char *msg, size_t msglen)
{
	uint8_t    *cp = malloc(n ? n : 1);
	NnBlob		b;
	int			rc;

	if (n)
		memcpy(cp, buf, n);
	rc = nn_blob_read(n ? cp : NULL, n, &b, msg, msglen);
	if (rc == NN_BLOB_OK)
	{
		/* whatever got through must be a usable, re-serialisable model */
		uint8_t    *again = NULL;
		size_t		len2 = 0;
		char		m2[256];

		if (nn_blob_write(&b.model, &b.maps, 1, &again, &len2, m2, sizeof(m2)) != NN_BLOB_OK)
			rc = -999;
		free(again);
	}
	nn_blob_free(&b);
	free(cp);
	return rc;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t) v);
	put32(p + 4, (uint32_t) (v >> 32));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Recompute the CRC trailer of buf[0..n). */
static void
reseal(uint8_t *buf, size_t n)
{
	put32(buf + n - 4, nn_crc32c(0, buf, n - 4));
}

/* Offset of a tensor entry (its u32 name length) in a blob, or 0. */
static size_t
find_tensor(const uint8_t *buf, size_t n, const char *name)
{
	uint8_t		pat[16];
	size_t		k = strlen(name);
	size_t		i;

	put32(pat, (uint32_t) k);
	memcpy(pat + 4, name, k);
	for (i = OFF_BODY; i + 4 + k + 16 <= n; i++)
		if (memcmp(buf + i, pat, 4 + k) == 0)
			return i;
	return 0;
}

/* Mutate a copy of blob with f, reseal, read; returns the code and msg. */
typedef void (*MutFn) (uint8_t *buf, size_t n, void *arg);

static int
mutated(const uint8_t *blob, size_t n, MutFn f, void *arg, int seal, char *msg, size_t msglen)
{
	uint8_t    *cp = malloc(n);
	int			rc;

	memcpy(cp, blob, n);
	f(cp, n, arg);
	if (seal)
		reseal(cp, n);
	rc = read_copy(cp, n, msg, msglen);
	free(cp);
	return rc;
}

/* ---- round trips --------------------------------------------------- */

static int
maps_equal(const NnBlobMaps *a, const NnBlobMaps *b)
{
	int			i;

	if (a->n_users != b->n_users || a->n_items != b->n_items || a->n_events != b->n_events)
		return 0;
	for (i = 1; i < a->n_users; i++)
		if (a->user_ext[i] != b->user_ext[i])
			return 0;
	for (i = 1; i < a->n_items; i++)
		if (a->item_ext[i] != b->item_ext[i])
			return 0;
	if ((a->event_value == NULL) != (b->event_value == NULL) ||
		(a->event_label == NULL) != (b->event_label == NULL))
		return 0;
	for (i = 1; i < a->n_events; i++)
	{
		if (a->event_value && a->event_value[i] != b->event_value[i])
			return 0;
		if (a->event_label && strcmp(a->event_label[i], b->event_label[i]) != 0)
			return 0;
	}
	return 1;
}

/* Same user vector and scores for a few histories (inference equality). */
static int
same_inference(const NnModel *a, const NnModel *b)
{
	TBatch		tb;
	float	   *xa = malloc(sizeof(float) * 2 * a->cfg.d);
	float	   *xb = malloc(sizeof(float) * 2 * a->cfg.d);
	float	   *sa = malloc(sizeof(float) * a->cfg.N);
	float	   *sb = malloc(sizeof(float) * a->cfg.N);
	int			r,
				same = 1;

	tb_make(&tb, &a->cfg, 5, 99, 0);
	for (r = 0; r < 5 && same; r++)
	{
		if (nn_user_vector(a, NULL, &tb.b, r, xa, NULL) != NN_OK ||
			nn_user_vector(b, NULL, &tb.b, r, xb, NULL) != NN_OK)
			same = 0;
		else
		{
			nn_score_all(a, xa, sa);
			nn_score_all(b, xb, sb);
			same = memcmp(xa, xb, sizeof(float) * 2 * a->cfg.d) == 0 &&
				memcmp(sa + 1, sb + 1, sizeof(float) * (a->cfg.N - 1)) == 0;
		}
	}
	tb_free(&tb);
	free(xa);
	free(xb);
	free(sa);
	free(sb);
	return same;
}

/* One round trip; returns the blob (caller frees) for the corruption tests. */
static uint8_t *
round_trip(const char *label, const char *preset, NnLoss loss, int events, int adam,
		   NnTimeMode tmode, size_t *blob_len)
{
	TModel		tm;
	NnBlob		b;
	uint8_t    *buf = NULL;
	uint8_t    *buf2 = NULL;
	size_t		len = 0,
				len2 = 0;
	char		msg[256];
	int			rc;

	*blob_len = 0;
	if (!ok(tmodel_make(&tm, preset, loss, events, adam, tmode) == 0, "%s: model", label))
		return NULL;
	rc = nn_blob_write(&tm.m, &tm.maps, adam, &buf, &len, msg, sizeof(msg));
	if (!ok(rc == NN_BLOB_OK && buf != NULL, "%s: write (%zu bytes)", label, len))
	{
		diag("%d %s", rc, msg);
		tmodel_free(&tm);
		return NULL;
	}
	rc = nn_blob_read(buf, len, &b, msg, sizeof(msg));
	if (!ok(rc == NN_BLOB_OK, "%s: read", label))
	{
		diag("%d %s", rc, msg);
		tmodel_free(&tm);
		free(buf);
		return NULL;
	}
	{
		/* the item-category switch is a training option, not stored: a
		 * blob model is plain (the trainer folds the tables) */
		NnConfig	want = tm.m.cfg;

		want.use_category = 0;
		want.n_C = 0;
		ok(memcmp(&b.model.cfg, &want, sizeof(NnConfig)) == 0, "%s: configuration identical", label);
	}
	ok(b.model.n_params == tm.m.n_params && b.model.n_tensors == tm.m.n_tensors &&
	   memcmp(b.model.tensors, tm.m.tensors, sizeof(NnTensor) * tm.m.n_tensors) == 0,
	   "%s: tensor table identical", label);
	ok(memcmp(b.model.params, tm.m.params, sizeof(float) * tm.m.n_params) == 0,
	   "%s: parameters bit-for-bit", label);
	if (adam)
		ok(b.has_adam && b.model.adam_t == tm.m.adam_t && tm.m.adam_t == 3 &&
		   memcmp(b.model.adam_m, tm.m.adam_m, sizeof(float) * tm.m.n_params) == 0 &&
		   memcmp(b.model.adam_v, tm.m.adam_v, sizeof(float) * tm.m.n_params) == 0,
		   "%s: Adam state bit-for-bit (t = %lld)", label, (long long) b.model.adam_t);
	else
		ok(!b.has_adam && b.model.adam_m == NULL, "%s: no Adam state", label);
	ok(maps_equal(&b.maps, &tm.maps), "%s: id maps and vocabulary identical", label);
	ok(b.maps.user_ext[0] == 0 && b.maps.item_ext[0] == 0 &&
	   (events != 2 || strcmp(b.maps.event_label[0], "") == 0),
	   "%s: index 0 of the maps reads as 0 / \"\"", label);
	ok(same_inference(&tm.m, &b.model), "%s: identical user vectors and scores", label);
	rc = nn_blob_write(&b.model, &b.maps, 1, &buf2, &len2, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && len2 == len && memcmp(buf, buf2, len) == 0,
	   "%s: re-serialised blob is byte-identical", label);
	free(buf2);

	/* lookups */
	ok(nn_blob_user_id(&b.maps, tm.user_ext[1]) == 1 &&
	   nn_blob_user_id(&b.maps, tm.user_ext[tm.m.cfg.U - 1]) == tm.m.cfg.U - 1 &&
	   nn_blob_user_id(&b.maps, 0) == 0 && nn_blob_user_id(&b.maps, 12345) == 0 &&
	   nn_blob_item_id(&b.maps, INT64_MIN) == 1 && nn_blob_item_id(&b.maps, INT64_MAX) == tm.m.cfg.N - 1 &&
	   nn_blob_item_id(&b.maps, 30) == 3 && nn_blob_item_id(&b.maps, 31) == 0,
	   "%s: user / item lookups", label);
	if (events == 1)
		ok(nn_blob_event_value_id(&b.maps, 3) == 2 && nn_blob_event_value_id(&b.maps, 2) == 0 &&
		   nn_blob_event_label_id(&b.maps, "pv") == 0, "%s: event value lookups", label);
	if (events == 2)
		ok(nn_blob_event_label_id(&b.maps, "pv") == 4 && nn_blob_event_label_id(&b.maps, "buy") == 1 &&
		   nn_blob_event_label_id(&b.maps, "") == 0 && nn_blob_event_label_id(&b.maps, "zz") == 0 &&
		   nn_blob_event_value_id(&b.maps, 1) == 0, "%s: event label lookups", label);

	/* training can continue on a loaded model; nn_blob_free releases everything */
	if (!adam)
		ok(nn_model_alloc_adam(&b.model) == NN_OK, "%s: Adam state can be added later", label);
	nn_blob_free(&b);
	ok(b.mem == NULL && b.model.params == NULL, "%s: nn_blob_free empties the blob", label);
	tmodel_free(&tm);
	*blob_len = len;
	return buf;
}

/* ---- corruption, truncation ---------------------------------------- */

static void
corrupt_every_byte(const char *label, const uint8_t *blob, size_t n)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xFF};
	int			counts[16];
	size_t		i;
	size_t		k;

	for (k = 0; k < sizeof(masks); k++)
	{
		uint8_t    *cp = malloc(n);
		size_t		bad_at = (size_t) -1;
		int			worst = 0;

		memset(counts, 0, sizeof(counts));
		for (i = 0; i < n; i++)
		{
			char		msg[256];
			int			rc;

			memcpy(cp, blob, n);
			cp[i] ^= masks[k];
			rc = read_copy(cp, n, msg, sizeof(msg));
			if (rc >= 0 || rc < WORST_CODE)
			{
				if (bad_at == (size_t) -1)
				{
					bad_at = i;
					worst = rc;
				}
			}
			else
				counts[-rc - 30]++;
		}
		if (!ok(bad_at == (size_t) -1, "%s: all %zu single-byte corruptions (xor 0x%02x) rejected",
				label, n, masks[k]))
			diag("byte %zu accepted (rc %d)", bad_at, worst);
		diag("  codes: magic %d, version %d, header %d, trunc %d, trailing %d, crc %d, cooc %d",
			 counts[-NN_BLOB_EMAGIC - 30], counts[-NN_BLOB_EVERSION - 30],
			 counts[-NN_BLOB_EHEADER - 30], counts[-NN_BLOB_ETRUNC - 30],
			 counts[-NN_BLOB_ETRAILING - 30], counts[-NN_BLOB_ECRC - 30],
			 counts[-NN_BLOB_ECOOC - 30]);
		free(cp);
	}
}

static void
truncate_every_length(const char *label, const uint8_t *blob, size_t n)
{
	size_t		i;
	size_t		bad_at = (size_t) -1;
	int			worst = 0;
	char		msg[256];
	uint8_t    *longer;
	int			rc;

	for (i = 0; i < n; i++)
	{
		rc = read_copy(blob, i, msg, sizeof(msg));
		if (rc != NN_BLOB_ETRUNC && bad_at == (size_t) -1)
		{
			bad_at = i;
			worst = rc;
		}
	}
	if (!ok(bad_at == (size_t) -1, "%s: all %zu truncations rejected with ETRUNC", label, n))
		diag("length %zu gave %d", bad_at, worst);
	longer = malloc(n + 1);
	memcpy(longer, blob, n);
	longer[n] = 0;
	rc = read_copy(longer, n + 1, msg, sizeof(msg));
	ok(rc == NN_BLOB_ETRAILING, "%s: one extra byte -> ETRAILING (%s)", label, msg);
	free(longer);
}

/* ---- targeted hostile blobs (CRC recomputed) ------------------------ */

typedef struct Patch
{
	size_t		off;
	int			width;			/* 1, 4, 8 */
	uint64_t	value;
	const char *tensor;			/* offset relative to this tensor's entry */
} Patch;

static void
apply_patch(uint8_t *buf, size_t n, void *arg)
{
	const Patch *p = (const Patch *) arg;
	size_t		off = p->off;

	if (p->tensor)
		off += find_tensor(buf, n, p->tensor);
	if (off + p->width > n)
		return;
	if (p->width == 1)
		buf[off] = (uint8_t) p->value;
	else if (p->width == 4)
		put32(buf + off, (uint32_t) p->value);
	else
		put64(buf + off, p->value);
}

static void
expect_patch(const char *label, const uint8_t *blob, size_t n, size_t off, int width,
			 uint64_t value, const char *tensor, int seal, int want)
{
	Patch		p = {off, width, value, tensor};
	char		msg[256] = "";
	int			rc = mutated(blob, n, apply_patch, &p, seal, msg, sizeof(msg));

	if (!ok(rc == want, "%s -> %s: %s", label, nn_blob_strerror(want), msg))
		diag("got %d (%s)", rc, nn_blob_strerror(rc));
}

/* U = 2^28 with n_params patched to match: only the size check stops it. */
static void
huge_users_consistent(uint8_t *buf, size_t n, void *arg)
{
	uint64_t	np = (uint64_t) get32(buf + OFF_NPARAMS) | (uint64_t) get32(buf + OFF_NPARAMS + 4) << 32;
	uint32_t	U = get32(buf + OFF_U);
	uint32_t	d = get32(buf + OFF_D);

	(void) n;
	(void) arg;
	put32(buf + OFF_U, 1u << 28);
	put64(buf + OFF_NPARAMS, np + ((uint64_t) (1u << 28) - U) * d);
}

static void
hostile_headers(const uint8_t *blob, size_t n, int has_adam)
{
	const float nanf_ = NAN;
	uint32_t	nanbits;
	uint32_t	onebits;
	float		one = 1.0f;

	memcpy(&nanbits, &nanf_, 4);
	memcpy(&onebits, &one, 4);

	expect_patch("bad magic", blob, n, 0, 1, 'X', NULL, 1, NN_BLOB_EMAGIC);
	expect_patch("format version 3", blob, n, OFF_VERSION, 4, 3, NULL, 1, NN_BLOB_EVERSION);
	expect_patch("format version 0", blob, n, OFF_VERSION, 4, 0, NULL, 1, NN_BLOB_EVERSION);
	expect_patch("format version 0xFFFFFFFF", blob, n, OFF_VERSION, 4, 0xFFFFFFFFu, NULL, 1, NN_BLOB_EVERSION);
	expect_patch("format version 1 with format 2's header length", blob, n, OFF_VERSION, 4, 1, NULL, 1,
				 NN_BLOB_EHEADER);
	expect_patch("header length 457", blob, n, OFF_HDRLEN, 4, 457, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("header length 434 (format 1's) in format 2", blob, n, OFF_HDRLEN, 4, 434, NULL, 1,
				 NN_BLOB_EHEADER);
	expect_patch("header length 2^32-1", blob, n, OFF_HDRLEN, 4, 0xFFFFFFFFu, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("total length + 1", blob, n, OFF_TOTAL, 8, n + 1, NULL, 1, NN_BLOB_ETRUNC);
	expect_patch("total length 2^64-1", blob, n, OFF_TOTAL, 8, UINT64_MAX, NULL, 1, NN_BLOB_ETRUNC);
	expect_patch("total length - 1", blob, n, OFF_TOTAL, 8, n - 1, NULL, 1, NN_BLOB_ETRAILING);
	expect_patch("total length 3", blob, n, OFF_TOTAL, 8, 3, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("CRC not recomputed", blob, n, OFF_N, 4, 8, NULL, 0, NN_BLOB_ECRC);
	expect_patch("huge N (2^28 items)", blob, n, OFF_N, 4, 1u << 28, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("N = 2^31-1 (over the int32 table limit)", blob, n, OFF_N, 4, 0x7FFFFFFFu, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("huge U (2^28 users)", blob, n, OFF_U, 4, 1u << 28, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("negative U", blob, n, OFF_U, 4, (uint32_t) -5, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("negative d", blob, n, OFF_D, 4, (uint32_t) -4, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("d = 5 (tensor shapes change)", blob, n, OFF_D, 4, 5, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("L = 17", blob, n, OFF_L, 4, 17, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("flag = 2", blob, n, OFF_FLAGS, 1, 2, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("dropout NaN", blob, n, OFF_DROPOUT, 4, nanbits, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("target weight NaN", blob, n, OFF_TW + 4 * 63, 4, nanbits, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("event kind 3", blob, n, OFF_EVKIND, 1, 3, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("has_adam 2", blob, n, OFF_HASADAM, 1, 2, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("has_adam flipped", blob, n, OFF_HASADAM, 1, !has_adam, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("n_tensors 1000", blob, n, OFF_NTENSORS, 4, 1000, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("n_tensors negative", blob, n, OFF_NTENSORS, 4, (uint32_t) -1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("n_params 2^62", blob, n, OFF_NPARAMS, 8, 1ULL << 62, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("n_params 0", blob, n, OFF_NPARAMS, 8, 0, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("label bytes 2^64-1", blob, n, OFF_LABELBYTES, 8, UINT64_MAX, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("Adam t negative", blob, n, OFF_ADAMT, 8, (uint64_t) -1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_k negative", blob, n, OFF_COOC_K, 4, (uint32_t) -1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_decay NaN", blob, n, OFF_COOC_DECAY, 4, nanbits, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_decay 2", blob, n, OFF_COOC_DECAY, 4, 0x40000000u, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_lambda auto (-1)", blob, n, OFF_COOC_LAMBDA, 4, 0xBF800000u, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_lambda NaN", blob, n, OFF_COOC_LAMBDA, 4, nanbits, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_nnz negative", blob, n, OFF_COOC_NNZ, 8, (uint64_t) -1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_nnz 1 without a table section", blob, n, OFF_COOC_NNZ, 8, 1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc_nnz 2^61 (size overflows)", blob, n, OFF_COOC_NNZ, 8, 1ULL << 61, NULL, 1, NN_BLOB_EHEADER);

	{
		char		msg[256] = "";
		int			rc = mutated(blob, n, huge_users_consistent, NULL, 1, msg, sizeof(msg));

		ok(rc == NN_BLOB_EHEADER, "U = 2^28 with a matching n_params -> EHEADER before any allocation: %s", msg);
	}

	/* body */
	expect_patch("user ids not ascending", blob, n, OFF_BODY, 8, UINT64_MAX >> 1, NULL, 1, NN_BLOB_EMAPS);
	expect_patch("wrong tensor shape (W1 rows 5)", blob, n, 4 + 2, 8, 5, "W1", 1, NN_BLOB_ETENSOR);
	expect_patch("negative tensor rows (Q)", blob, n, 4 + 1, 8, (uint64_t) -4, "Q", 1, NN_BLOB_ETENSOR);
	expect_patch("huge tensor cols (W2)", blob, n, 4 + 2 + 8, 8, 1ULL << 60, "W2", 1, NN_BLOB_ETENSOR);
	expect_patch("wrong tensor name (W1 -> X1)", blob, n, 4, 1, 'X', "W1", 1, NN_BLOB_ETENSOR);
	expect_patch("tensor name length 2^32-1", blob, n, 0, 4, 0xFFFFFFFFu, "W1", 1, NN_BLOB_ETENSOR);
	expect_patch("NaN in W1", blob, n, 4 + 2 + 16, 4, nanbits, "W1", 1, NN_BLOB_EVALUE);
	expect_patch("+Inf in b2", blob, n, 4 + 2 + 16 + 4, 4, 0x7F800000u, "b2", 1, NN_BLOB_EVALUE);
	expect_patch("PAD row of Q not zero", blob, n, 4 + 1 + 16, 4, onebits, "Q", 1, NN_BLOB_EVALUE);
	if (has_adam)
		expect_patch("negative Adam v", blob, n, n - 8, 4, 0xBF800000u, NULL, 1, NN_BLOB_EVALUE);
}

/* Hostile vocabulary of a text-events blob. */
static void
hostile_labels(const uint8_t *blob, size_t n)
{
	/* labels start after the user (U-1 = 2) and item (N-1 = 6) ids: "buy" first */
	size_t		lab = OFF_BODY + 8 * 2 + 8 * 6;

	ok(get32(blob + lab) == 3 && memcmp(blob + lab + 4, "buy", 3) == 0, "label layout as expected");
	expect_patch("label with a NUL byte", blob, n, lab + 5, 1, 0, NULL, 1, NN_BLOB_EMAPS);
	expect_patch("labels out of order (buy -> zuy)", blob, n, lab + 4, 1, 'z', NULL, 1, NN_BLOB_EMAPS);
	expect_patch("label length 2^32-1", blob, n, lab, 4, 0xFFFFFFFFu, NULL, 1, NN_BLOB_EMAPS);
	expect_patch("label length 4 (eats the next)", blob, n, lab, 4, 4, NULL, 1, NN_BLOB_EMAPS);
	expect_patch("label bytes in header + 1", blob, n, OFF_LABELBYTES, 8, 3 + 4 + 3 + 2 + 1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("event kind int on labels", blob, n, OFF_EVKIND, 1, 1, NULL, 1, NN_BLOB_EHEADER);
}

/* Random multi-byte mutations with a recomputed CRC: never crash; anything
 * accepted must re-serialise (checked in read_copy). */
static void
random_mutations(const char *label, const uint8_t *blob, size_t n, int rounds)
{
	NnRng		r;
	uint8_t    *cp = malloc(n);
	int			i,
				accepted = 0,
				crashed_or_bad = 0;

	nn_rng_seed(&r, 2024, 5);
	for (i = 0; i < rounds; i++)
	{
		int			k = 1 + (int) nn_rng_below(&r, 4);
		int			j;
		char		msg[256];
		int			rc;

		memcpy(cp, blob, n);
		for (j = 0; j < k; j++)
		{
			/* bias towards the header and the start of the body */
			size_t		at = nn_rng_below(&r, 2) ? 8 + nn_rng_below(&r, OFF_BODY + 64 - 8)
				: nn_rng_below(&r, (uint32_t) (n - 4));

			if (at >= n - 4)
				at = n - 5;
			cp[at] = nn_rng_below(&r, 2) ? (uint8_t) nn_rng_below(&r, 256) : cp[at] ^ (uint8_t) (1u << nn_rng_below(&r, 8));
		}
		reseal(cp, n);
		rc = read_copy(cp, n, msg, sizeof(msg));
		if (rc == NN_BLOB_OK)
			accepted++;
		else if (rc > 0 || rc < WORST_CODE)
			crashed_or_bad++;
	}
	ok(crashed_or_bad == 0, "%s: %d random resealed mutations handled (%d accepted and re-serialisable)",
	   label, rounds, accepted);
	free(cp);
}

/* ---- writer refusals ----------------------------------------------- */

static void
writer_refusals(void)
{
	TModel		tm;
	uint8_t    *buf = NULL;
	size_t		len = 0;
	char		msg[256];
	int64_t		save;
	const char *lab_save;
	float		p_save;
	int			rc;

	tmodel_make(&tm, "tacaser", NN_LOSS_SOFTMAX_FULL, 2, 0, NN_TIME_BUCKET);

	tm.maps.n_items = 6;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EMAPS && buf == NULL && len == 0, "writer: item map size != N -> EMAPS (%s)", msg);
	tm.maps.n_items = 7;

	rc = nn_blob_write(&tm.m, NULL, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EMAPS, "writer: no maps -> EMAPS (%s)", msg);

	save = tm.user_ext[2];
	tm.user_ext[2] = tm.user_ext[1];
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EMAPS, "writer: duplicate user id -> EMAPS (%s)", msg);
	tm.user_ext[2] = save;

	lab_save = tm.event_label[2];
	tm.event_label[2] = "buy";
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EMAPS, "writer: duplicate label -> EMAPS (%s)", msg);
	tm.event_label[2] = lab_save;

	tm.maps.event_value = tm.user_ext;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EMAPS, "writer: values and labels together -> EMAPS (%s)", msg);
	tm.maps.event_value = NULL;

	p_save = tm.m.W1[3];
	tm.m.W1[3] = NAN;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EVALUE, "writer: NaN parameter -> EVALUE (%s)", msg);
	tm.m.W1[3] = p_save;

	tm.m.A[2] = 0.5f;			/* row 0 of A (d = 4 columns) is PAD */
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EVALUE, "writer: non-zero PAD row -> EVALUE (%s)", msg);
	tm.m.A[2] = 0.0f;

	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK, "writer: restored model writes");
	free(buf);
	tmodel_free(&tm);
}

/* ---- co-occurrence table (format 2) -------------------------------- */

/* A hand-built neighbour table for N = 7: row counts, columns, weights. */
#define TC_N		7
#define TC_NNZ		9
static const int32_t tc_count[TC_N] = {0, 2, 3, 0, 1, 1, 2};
static const int32_t tc_col[TC_NNZ] = {2, 5, 1, 3, 6, 6, 1, 2, 4};
static const float tc_w[TC_NNZ] = {0.5f, 0.25f, 0.4f, 0.3f, 0.3f, 1.0f, 0.125f, 0.5f, 0.5f};

/* A table owned by the test (copies, so they can be broken and restored). */
typedef struct TCooc
{
	int64_t		off[TC_N + 1];
	int32_t		col[TC_NNZ];
	float		w[TC_NNZ];
} TCooc;

/* Fill t with the hand-built table and lend it to model m. */
static void
tcooc_attach(TCooc *t, NnModel *m)
{
	int			i;

	t->off[0] = 0;
	for (i = 0; i < TC_N; i++)
		t->off[i + 1] = t->off[i] + tc_count[i];
	memcpy(t->col, tc_col, sizeof(tc_col));
	memcpy(t->w, tc_w, sizeof(tc_w));
	m->cooc.n_rows = TC_N;
	m->cooc.nnz = TC_NNZ;
	m->cooc.off = t->off;
	m->cooc.col = t->col;
	m->cooc.w = t->w;
	m->cooc.mem = NULL;
}

/* A tacaser model (no Adam) with the co-occurrence settings of the tests. */
static int
tmodel_make_cooc(TModel *tm, int events)
{
	if (tmodel_make(tm, "tacaser", NN_LOSS_SOFTMAX_FULL, events, 0, NN_TIME_BUCKET) != 0)
		return -1;
	tm->m.cfg.cooc_k = 3;
	tm->m.cfg.cooc_window = 2;
	tm->m.cfg.cooc_decay = 0.5f;
	tm->m.cfg.cooc_lambda = 0.25f;
	return tm->m.cfg.N == TC_N ? 0 : -1;
}

/* The configuration a blob of m reads back with (the item-category switch
 * is a training option and not stored). */
static int
cfg_as_stored(const NnConfig *got, const NnModel *m)
{
	NnConfig	want = m->cfg;

	want.use_category = 0;
	want.n_C = 0;
	return memcmp(got, &want, sizeof(NnConfig)) == 0;
}

/* Offsets of the table section of a blob without Adam state. */
static size_t
sec_count(size_t n, int i)
{
	return n - 4 - (4 * TC_N + 8 * TC_NNZ) + 4 * (size_t) i;
}

static size_t
sec_col(size_t n, int e)
{
	return sec_count(n, TC_N) + 4 * (size_t) e;
}

static size_t
sec_w(size_t n, int e)
{
	return sec_col(n, TC_NNZ) + 4 * (size_t) e;
}

static uint32_t
fbits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, 4);
	return u;
}

/* Write tm, read it back and check everything of the table; returns the
 * blob (caller frees). */
static uint8_t *
cooc_round_trip(TModel *tm, size_t *blob_len)
{
	NnBlob		b;
	uint8_t    *buf = NULL,
			   *buf2 = NULL;
	size_t		len = 0,
				len2 = 0;
	char		msg[256];
	int			rc,
				i,
				same;

	*blob_len = 0;
	rc = nn_blob_write(&tm->m, &tm->maps, 0, &buf, &len, msg, sizeof(msg));
	if (!ok(rc == NN_BLOB_OK, "cooc: write a model with a neighbour table (%zu bytes)", len))
	{
		diag("%d %s", rc, msg);
		return NULL;
	}
	ok(get32(buf + OFF_VERSION) == 2 && get32(buf + OFF_HDRLEN) == 458 &&
	   get32(buf + OFF_COOC_K) == 3 && get32(buf + OFF_COOC_WINDOW) == 2 &&
	   get32(buf + OFF_COOC_DECAY) == fbits(0.5f) && get32(buf + OFF_COOC_LAMBDA) == fbits(0.25f) &&
	   get32(buf + OFF_COOC_NNZ) == TC_NNZ && get32(buf + OFF_COOC_NNZ + 4) == 0,
	   "cooc: header holds format 2, length 458 and the co-occurrence fields");
	same = find_tensor(buf, len, "b2") + 4 + 2 + 16 + 4 * TC_N == sec_count(len, 0);
	for (i = 0; i < TC_N; i++)
		same &= (int32_t) get32(buf + sec_count(len, i)) == tc_count[i];
	for (i = 0; i < TC_NNZ; i++)
		same &= (int32_t) get32(buf + sec_col(len, i)) == tc_col[i] &&
			get32(buf + sec_w(len, i)) == fbits(tc_w[i]);
	ok(same, "cooc: the table section follows the tensors (counts, columns, weights)");

	rc = nn_blob_read(buf, len, &b, msg, sizeof(msg));
	if (!ok(rc == NN_BLOB_OK, "cooc: read it back"))
	{
		diag("%d %s", rc, msg);
		free(buf);
		return NULL;
	}
	ok(b.model.cfg.cooc_k == 3 && b.model.cfg.cooc_window == 2 &&
	   b.model.cfg.cooc_decay == 0.5f && b.model.cfg.cooc_lambda == 0.25f,
	   "cooc: configuration fields come back");
	ok(cfg_as_stored(&b.model.cfg, &tm->m), "cooc: whole configuration identical");
	ok(b.model.cooc.n_rows == TC_N && b.model.cooc.nnz == TC_NNZ && b.model.cooc.mem == NULL &&
	   b.model.cooc.off != NULL && b.model.cooc.col != NULL && b.model.cooc.w != NULL,
	   "cooc: table of %d rows, %d entries, borrowed from the blob", TC_N, TC_NNZ);
	same = b.model.cooc.off != NULL;
	for (i = 0; same && i <= TC_N; i++)
		same = b.model.cooc.off[i] == tm->m.cooc.off[i];
	ok(same, "cooc: every row offset");
	same = b.model.cooc.col != NULL;
	for (i = 0; same && i < TC_NNZ; i++)
		same = b.model.cooc.col[i] == tc_col[i];
	ok(same, "cooc: every column");
	same = b.model.cooc.w != NULL;
	for (i = 0; same && i < TC_NNZ; i++)
		same = fbits(b.model.cooc.w[i]) == fbits(tc_w[i]);
	ok(same, "cooc: every weight bit for bit");
	ok(((uintptr_t) b.model.cooc.off % 8) == 0 && ((uintptr_t) b.model.cooc.col % 4) == 0 &&
	   ((uintptr_t) b.model.cooc.w % 4) == 0, "cooc: arrays aligned inside the allocation");
	ok(nn_cooc_check(&b.model.cooc, TC_N, 3, msg, sizeof(msg)) == NN_OK, "cooc: read table passes nn_cooc_check");
	ok(memcmp(b.model.params, tm->m.params, sizeof(float) * tm->m.n_params) == 0 &&
	   maps_equal(&b.maps, &tm->maps), "cooc: parameters and maps identical");
	rc = nn_blob_write(&b.model, &b.maps, 1, &buf2, &len2, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && len2 == len && memcmp(buf, buf2, len) == 0,
	   "cooc: re-serialised blob is byte-identical");
	free(buf2);
	nn_blob_free(&b);
	ok(b.mem == NULL && b.model.cooc.off == NULL, "cooc: nn_blob_free empties the blob");
	*blob_len = len;
	return buf;
}

/* Models without a table: n_rows 0, and a table of N empty rows. */
static void
cooc_no_table(void)
{
	TModel		tm;
	TCooc		tc;
	NnBlob		b;
	uint8_t    *buf = NULL,
			   *buf2 = NULL;
	size_t		len = 0,
				len2 = 0;
	char		msg[256];
	int			rc;

	if (!ok(tmodel_make_cooc(&tm, 1) == 0, "no table: model"))
		return;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && get32(buf + OFF_COOC_NNZ) == 0 && get32(buf + OFF_COOC_NNZ + 4) == 0 &&
	   get32(buf + OFF_COOC_K) == 3, "no table: written with cooc_nnz 0, cooc_k kept (%s)", msg);
	rc = nn_blob_read(buf, len, &b, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && b.model.cooc.n_rows == 0 && b.model.cooc.nnz == 0 &&
	   b.model.cooc.off == NULL && b.model.cooc.col == NULL && b.model.cooc.w == NULL,
	   "no table: reads back with n_rows 0 (%s)", msg);
	ok(rc == NN_BLOB_OK && cfg_as_stored(&b.model.cfg, &tm.m),
	   "no table: configuration (with the co-occurrence fields) identical");
	if (rc == NN_BLOB_OK)
		nn_blob_free(&b);

	/* a table with N rows and no entries is stored the same way */
	tcooc_attach(&tc, &tm.m);
	memset(tc.off, 0, sizeof(tc.off));
	tm.m.cooc.nnz = 0;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf2, &len2, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && len2 == len && memcmp(buf, buf2, len) == 0,
	   "no table: N empty rows give the same bytes as no table (%s)", msg);
	free(buf2);
	buf2 = NULL;
	rc = nn_blob_read(buf, len, &b, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK && b.model.cooc.n_rows == 0, "no table: N empty rows read back as n_rows 0");
	if (rc == NN_BLOB_OK)
		nn_blob_free(&b);
	memset(&tm.m.cooc, 0, sizeof(NnCooc));
	free(buf);
	tmodel_free(&tm);
}

/* Corrupt one 4-byte field of a table blob, reseal, expect a code. */
static void
expect_cooc(const char *label, const uint8_t *blob, size_t n, size_t off, uint32_t value, int want)
{
	expect_patch(label, blob, n, off, 4, value, NULL, 1, want);
}

/* Hostile co-occurrence headers and tables (CRC recomputed each time). */
static void
hostile_cooc(const uint8_t *blob, size_t n)
{
	const float nanf_ = NAN;
	uint32_t	nanbits;

	memcpy(&nanbits, &nanf_, 4);

	/* header */
	expect_patch("cooc: lambda auto in the header", blob, n, OFF_COOC_LAMBDA, 4, fbits(NN_COOC_AUTO), NULL, 1,
				 NN_BLOB_EHEADER);
	expect_patch("cooc: lambda 0.96 (> 0.95)", blob, n, OFF_COOC_LAMBDA, 4, fbits(0.96f), NULL, 1,
				 NN_BLOB_EHEADER);
	expect_patch("cooc: lambda -0.5", blob, n, OFF_COOC_LAMBDA, 4, fbits(-0.5f), NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz larger than the blob", blob, n, OFF_COOC_NNZ, 8, n, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz 2^62", blob, n, OFF_COOC_NNZ, 8, 1ULL << 62, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz INT64_MAX", blob, n, OFF_COOC_NNZ, 8, (uint64_t) INT64_MAX, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz + 1 (sizes disagree)", blob, n, OFF_COOC_NNZ, 8, TC_NNZ + 1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz - 1 (sizes disagree)", blob, n, OFF_COOC_NNZ, 8, TC_NNZ - 1, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: nnz 0 with a table section", blob, n, OFF_COOC_NNZ, 8, 0, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("cooc: cooc_window 0 with cooc_k 3", blob, n, OFF_COOC_WINDOW, 4, 0, NULL, 1, NN_BLOB_EHEADER);

	/* row counts */
	expect_patch("cooc: a row count > cooc_k (cooc_k 2, row 2 has 3)", blob, n, OFF_COOC_K, 4, 2, NULL, 1,
				 NN_BLOB_ECOOC);
	expect_patch("cooc: entries with cooc_k 0", blob, n, OFF_COOC_K, 4, 0, NULL, 1, NN_BLOB_ECOOC);
	{
		/* row 0 takes row 1's first entry: counts still sum to nnz */
		uint8_t    *cp = malloc(n);
		char		msg[256] = "";
		int			rc;

		memcpy(cp, blob, n);
		put32(cp + sec_count(n, 0), 1);
		put32(cp + sec_count(n, 1), 1);
		reseal(cp, n);
		rc = read_copy(cp, n, msg, sizeof(msg));
		ok(rc == NN_BLOB_ECOOC, "cooc: row 0 non-empty -> %s: %s", nn_blob_strerror(NN_BLOB_ECOOC), msg);
		/* one entry moved from row 1 to row 2 (counts 1, 4, still summing
		 * to nnz): row 2 has 4 entries, cooc_k is 3 */
		memcpy(cp, blob, n);
		put32(cp + sec_count(n, 1), 1);
		put32(cp + sec_count(n, 2), 4);
		put32(cp + sec_count(n, 3), 0);
		reseal(cp, n);
		rc = read_copy(cp, n, msg, sizeof(msg));
		ok(rc == NN_BLOB_ECOOC, "cooc: a row count > cooc_k by moving entries (row 2 gets 4) -> %s: %s",
		   nn_blob_strerror(NN_BLOB_ECOOC), msg);
		free(cp);
	}
	expect_cooc("cooc: row counts sum above nnz", blob, n, sec_count(n, 3), 1, NN_BLOB_ECOOC);
	expect_cooc("cooc: row counts sum below nnz", blob, n, sec_count(n, 1), 1, NN_BLOB_ECOOC);
	expect_cooc("cooc: last row count 0 (sum below nnz)", blob, n, sec_count(n, TC_N - 1), 0, NN_BLOB_ECOOC);
	expect_cooc("cooc: negative row count", blob, n, sec_count(n, 3), (uint32_t) -1, NN_BLOB_ECOOC);
	expect_cooc("cooc: row count 2^31-1", blob, n, sec_count(n, 4), 0x7FFFFFFFu, NN_BLOB_ECOOC);

	/* columns (row 1 holds entries 0, 1: columns 2, 5) */
	expect_cooc("cooc: column = N (out of range)", blob, n, sec_col(n, 1), TC_N, NN_BLOB_ECOOC);
	expect_cooc("cooc: column 0 (PAD)", blob, n, sec_col(n, 0), 0, NN_BLOB_ECOOC);
	expect_cooc("cooc: negative column", blob, n, sec_col(n, 0), (uint32_t) -3, NN_BLOB_ECOOC);
	expect_cooc("cooc: column equal to its row", blob, n, sec_col(n, 0), 1, NN_BLOB_ECOOC);
	expect_cooc("cooc: columns not ascending (6 before 5)", blob, n, sec_col(n, 0), 6, NN_BLOB_ECOOC);
	expect_cooc("cooc: repeated column", blob, n, sec_col(n, 1), 2, NN_BLOB_ECOOC);

	/* weights */
	expect_cooc("cooc: weight 0", blob, n, sec_w(n, 0), fbits(0.0f), NN_BLOB_ECOOC);
	expect_cooc("cooc: weight -0", blob, n, sec_w(n, 0), 0x80000000u, NN_BLOB_ECOOC);
	expect_cooc("cooc: negative weight", blob, n, sec_w(n, 0), fbits(-0.25f), NN_BLOB_ECOOC);
	expect_cooc("cooc: weight > 1", blob, n, sec_w(n, 5), fbits(1.0000001f), NN_BLOB_ECOOC);
	expect_cooc("cooc: weight NaN", blob, n, sec_w(n, 6), nanbits, NN_BLOB_ECOOC);
	expect_cooc("cooc: weight +Inf", blob, n, sec_w(n, 6), 0x7F800000u, NN_BLOB_ECOOC);
	expect_cooc("cooc: a row's weights sum above 1 (0.5 + 0.6)", blob, n, sec_w(n, 8), fbits(0.6f),
				NN_BLOB_ECOOC);
	{
		/* the sum tolerance: 0.5 + 0.50004 passes, a tiny weight change
		 * elsewhere reads back and re-serialises */
		Patch		p = {sec_w(n, 8), 4, fbits(0.50004f), NULL};
		char		msg[256] = "";
		int			rc = mutated(blob, n, apply_patch, &p, 1, msg, sizeof(msg));

		ok(rc == NN_BLOB_OK, "cooc: a row sum of 1.00004 is within the tolerance (%s)", msg);
	}
}

/* Every bit flip pattern of every byte of the table section, resealed:
 * rejected with a known code, or accepted and re-serialisable. */
static void
cooc_section_sweep(const uint8_t *blob, size_t n)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xFF};
	uint8_t    *cp = malloc(n);
	size_t		i,
				k;
	int			bad = 0,
				accepted = 0,
				ecooc = 0;

	for (k = 0; k < sizeof(masks); k++)
		for (i = sec_count(n, 0); i < n - 4; i++)
		{
			char		msg[256];
			int			rc;

			memcpy(cp, blob, n);
			cp[i] ^= masks[k];
			reseal(cp, n);
			rc = read_copy(cp, n, msg, sizeof(msg));
			if (rc == NN_BLOB_OK)
				accepted++;
			else if (rc == NN_BLOB_ECOOC)
				ecooc++;
			else
				bad++;
		}
	ok(bad == 0 && ecooc > 0, "cooc: resealed flips of every table byte: %d ECOOC, %d accepted and "
	   "re-serialisable, %d other", ecooc, accepted, bad);
	free(cp);
}

/* The writer refuses an auto weight and invalid tables. */
static void
cooc_writer_refusals(void)
{
	TModel		tm;
	TCooc		tc;
	uint8_t    *buf = NULL;
	size_t		len = 0;
	char		msg[256];
	int			rc;

	if (tmodel_make_cooc(&tm, 0) != 0)
		return;
	tcooc_attach(&tc, &tm.m);

	tm.m.cfg.cooc_lambda = NN_COOC_AUTO;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EHEADER && buf == NULL, "writer: cooc_lambda auto -> EHEADER (%s)", msg);
	tm.m.cfg.cooc_lambda = 0.96f;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_EHEADER, "writer: cooc_lambda 0.96 -> EHEADER (%s)", msg);
	tm.m.cfg.cooc_lambda = 0.25f;

	tm.m.cooc.n_rows = TC_N - 1;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_ECOOC, "writer: table of N-1 rows -> ECOOC (%s)", msg);
	tm.m.cooc.n_rows = TC_N;

	tm.m.cfg.cooc_k = 2;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_ECOOC, "writer: a row longer than cooc_k -> ECOOC (%s)", msg);
	tm.m.cfg.cooc_k = 3;

	tc.col[0] = 1;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_ECOOC, "writer: an item its own neighbour -> ECOOC (%s)", msg);
	tc.col[0] = 2;

	tc.w[3] = 0.7f;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_ECOOC, "writer: a row sum above 1 -> ECOOC (%s)", msg);
	tc.w[3] = 0.3f;

	tm.m.cooc.col = NULL;
	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_ECOOC, "writer: entries without a column array -> ECOOC (%s)", msg);
	tm.m.cooc.col = tc.col;

	rc = nn_blob_write(&tm.m, &tm.maps, 0, &buf, &len, msg, sizeof(msg));
	ok(rc == NN_BLOB_OK, "writer: restored table writes");
	free(buf);
	memset(&tm.m.cooc, 0, sizeof(NnCooc));
	tmodel_free(&tm);
}

/* The table tests: round trip, sweeps, hostile tables, refusals. */
static void
cooc_tests(void)
{
	TModel		tm;
	TCooc		tc;
	uint8_t    *blob;
	size_t		n;

	if (!ok(tmodel_make_cooc(&tm, 1) == 0, "cooc: model"))
		return;
	tcooc_attach(&tc, &tm.m);
	blob = cooc_round_trip(&tm, &n);
	memset(&tm.m.cooc, 0, sizeof(NnCooc));
	tmodel_free(&tm);
	if (blob != NULL)
	{
		hostile_cooc(blob, n);
		cooc_section_sweep(blob, n);
		truncate_every_length("cooc table blob", blob, n);
		random_mutations("cooc table blob", blob, n, 3000);
	}
	free(blob);
	cooc_no_table();
	cooc_writer_refusals();
}

/* ---- format 1 ------------------------------------------------------ */

/* A format 1 copy of a format 2 blob without a table (its co-occurrence
 * header fields dropped); *n1 gets its length. */
static uint8_t *
to_format1(const uint8_t *b2, size_t n2, size_t *n1)
{
	uint8_t    *b1 = malloc(n2 - COOC_HDR_BYTES);

	memcpy(b1, b2, OFF_BODY_V1);
	memcpy(b1 + OFF_BODY_V1, b2 + OFF_BODY, n2 - OFF_BODY);
	*n1 = n2 - COOC_HDR_BYTES;
	put32(b1 + OFF_VERSION, 1);
	put32(b1 + OFF_HDRLEN, NN_BLOB_HEADER_LEN_V1);
	put64(b1 + OFF_TOTAL, *n1);
	reseal(b1, *n1);
	return b1;
}

/* A format 1 blob still reads, with the co-occurrence fields 0 and no
 * table, and writes back as the format 2 blob of the same model. */
static void
format1_tests(void)
{
	TModel		tm;
	NnBlob		b;
	uint8_t    *b2 = NULL,
			   *b1,
			   *again = NULL;
	size_t		n2 = 0,
				n1,
				n3 = 0;
	char		msg[256];
	int			rc;

	if (!ok(tmodel_make(&tm, "tacaser", NN_LOSS_SOFTMAX_FULL, 2, 1, NN_TIME_BUCKET) == 0, "format 1: model"))
		return;
	tm.m.cfg.cooc_k = 0;
	tm.m.cfg.cooc_window = 0;
	tm.m.cfg.cooc_decay = 0.0f;
	tm.m.cfg.cooc_lambda = 0.0f;
	rc = nn_blob_write(&tm.m, &tm.maps, 1, &b2, &n2, msg, sizeof(msg));
	if (!ok(rc == NN_BLOB_OK, "format 1: format 2 blob written (%s)", msg))
	{
		tmodel_free(&tm);
		return;
	}
	b1 = to_format1(b2, n2, &n1);
	rc = nn_blob_read(b1, n1, &b, msg, sizeof(msg));
	if (ok(rc == NN_BLOB_OK, "format 1: a %zu-byte format 1 blob reads (%s)", n1, msg))
	{
		ok(b.model.cfg.cooc_k == 0 && b.model.cfg.cooc_window == 0 && b.model.cfg.cooc_decay == 0.0f &&
		   b.model.cfg.cooc_lambda == 0.0f && b.model.cooc.n_rows == 0 && b.model.cooc.off == NULL,
		   "format 1: co-occurrence fields 0, no table");
		ok(cfg_as_stored(&b.model.cfg, &tm.m) &&
		   memcmp(b.model.params, tm.m.params, sizeof(float) * tm.m.n_params) == 0 &&
		   b.has_adam && b.model.adam_t == tm.m.adam_t &&
		   memcmp(b.model.adam_v, tm.m.adam_v, sizeof(float) * tm.m.n_params) == 0 &&
		   maps_equal(&b.maps, &tm.maps), "format 1: configuration, parameters, Adam state, maps identical");
		rc = nn_blob_write(&b.model, &b.maps, 1, &again, &n3, msg, sizeof(msg));
		ok(rc == NN_BLOB_OK && n3 == n2 && memcmp(again, b2, n2) == 0,
		   "format 1: writes back as the model's format 2 blob");
		free(again);
		nn_blob_free(&b);
	}
	expect_patch("format 1 with header length 458", b1, n1, OFF_HDRLEN, 4, 458, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("format 1 relabelled as format 2", b1, n1, OFF_VERSION, 4, 2, NULL, 1, NN_BLOB_EHEADER);
	expect_patch("format 1 relabelled as format 3", b1, n1, OFF_VERSION, 4, 3, NULL, 1, NN_BLOB_EVERSION);
	expect_patch("format 1: total length - 1", b1, n1, OFF_TOTAL, 8, n1 - 1, NULL, 1, NN_BLOB_ETRAILING);
	expect_patch("format 1: n_params 0", b1, n1, OFF_NPARAMS, 8, 0, NULL, 1, NN_BLOB_EHEADER);
	{
		/* a format 2 blob whose preamble says format 1, 434: the sizes
		 * of the shorter header do not add up */
		uint8_t    *cp = malloc(n2);

		memcpy(cp, b2, n2);
		put32(cp + OFF_VERSION, 1);
		put32(cp + OFF_HDRLEN, NN_BLOB_HEADER_LEN_V1);
		reseal(cp, n2);
		rc = read_copy(cp, n2, msg, sizeof(msg));
		ok(rc == NN_BLOB_EHEADER, "format 2 body under a format 1 preamble -> EHEADER: %s", msg);
		free(cp);
	}
	truncate_every_length("format 1 blob", b1, n1);
	corrupt_every_byte("format 1 blob", b1, n1);
	random_mutations("format 1 blob", b1, n1, 1000);
	free(b1);
	free(b2);
	tmodel_free(&tm);
}

int
main(void)
{
	struct
	{
		const char *label;
		const char *preset;
		NnLoss		loss;
		int			events;
		int			adam;
		NnTimeMode	tmode;
	}			cases[] = {
		{"caser, bce, no events", "caser", NN_LOSS_BCE, 0, 0, NN_TIME_NONE},
		{"caser, bce_per_target, int events, Adam", "caser", NN_LOSS_BCE_PER_TARGET, 1, 1, NN_TIME_NONE},
		{"tacaser, softmax_full, int events", "tacaser", NN_LOSS_SOFTMAX_FULL, 1, 0, NN_TIME_BUCKET},
		{"tacaser, softmax_full, text events, Adam", "tacaser", NN_LOSS_SOFTMAX_FULL, 2, 1, NN_TIME_BUCKET},
		{"tacaser, sampled, decay, no events, Adam", "tacaser", NN_LOSS_SOFTMAX_SAMPLED, 0, 1, NN_TIME_DECAY},
		{"tacaser, bpr, no time term, text events", "tacaser", NN_LOSS_BPR, 2, 0, NN_TIME_NONE},
	};
	size_t		i;

	ok(nn_blob_strerror(NN_BLOB_ECRC) != NULL && strcmp(nn_blob_strerror(12345), "unknown model blob error") == 0,
	   "strerror");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		size_t		n;
		uint8_t    *blob = round_trip(cases[i].label, cases[i].preset, cases[i].loss,
									  cases[i].events, cases[i].adam, cases[i].tmode, &n);

		if (blob == NULL)
			continue;
		if (i == 0 || i == 3)
		{
			/* the full byte-by-byte sweeps on two representative blobs */
			corrupt_every_byte(cases[i].label, blob, n);
			truncate_every_length(cases[i].label, blob, n);
		}
		if (i == 1 || i == 3)
		{
			diag("hostile headers on: %s", cases[i].label);
			hostile_headers(blob, n, cases[i].adam);
		}
		if (i == 3)
			hostile_labels(blob, n);
		random_mutations(cases[i].label, blob, n, 3000);
		free(blob);
	}
	{
		char		msg[256];

		ok(read_copy(NULL, 0, msg, sizeof(msg)) == NN_BLOB_ETRUNC, "empty input -> ETRUNC (%s)", msg);
		ok(read_copy((const uint8_t *) "TACA", 4, msg, sizeof(msg)) == NN_BLOB_ETRUNC,
		   "magic prefix -> ETRUNC");
		ok(read_copy((const uint8_t *) "PK\003\004", 4, msg, sizeof(msg)) == NN_BLOB_EMAGIC,
		   "a zip file -> EMAGIC (%s)", msg);
	}
	writer_refusals();
	cooc_tests();
	format1_tests();
	return done_testing();
}
