/*
 * fuzz_blob.c
 *		libFuzzer harness for the model blob reader (src/nn/blob.c), the
 *		code that turns a cnnrec.model_weights row, which may have been
 *		restored or hand-edited, into a servable model.
 *
 * What it proves: for any byte string, nn_blob_read() either rejects it
 * with an error code and message, or returns a model that is safe to
 * serve.  Built with ASan and UBSan, so any out-of-bounds read, overflow
 * or undefined arithmetic in the reader stops the run.
 *
 * How: the first input byte selects a mode; the rest is the blob.  In mode
 * "fix CRC" (odd first byte) the last four bytes are replaced by the
 * CRC-32C of the bytes before them, so mutations get past the checksum and
 * reach the structural checks (the reader's own comment: a recomputed CRC
 * still gets every check).  When the reader accepts a blob, the harness
 * also does what serving does with it (id lookups for every stored id,
 * one user vector over a history of known items, scores for all items,
 * the co-occurrence mixture over the model's neighbour table, a top-k)
 * and writes it back with nn_blob_write(), which must succeed and give
 * the same bytes: the format is canonical, so an accepted blob that does
 * not round-trip means the reader let something through that the writer
 * considers invalid.  An accepted format 1 blob comes back as format 2:
 * the same bytes with the version, header length, total length and CRC
 * updated and the 24 co-occurrence header bytes (all zero) inserted after
 * format 1's header.  A violated oracle calls abort().
 *
 * Seeds: blobs written by src/tools/cnnrec-train (see run.sh), prefixed
 * with the mode byte; the tacaser preset's blobs hold a neighbour table
 * when the trainer built one (cooc_k > 0), which leads the fuzzer into
 * the table section.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blob.h"
#include "nn/crc32c.h"
#include "nn/model.h"
#include "nn/topk.h"

/* Stop the run with a message (libFuzzer saves the input as a crash). */
static void
oracle_failed(const char *what)
{
	fprintf(stderr, "fuzz_blob: oracle violated: %s\n", what);
	abort();
}

/* Every stored external id must map back to its dense index. */
static void
check_lookups(const NnBlob *b)
{
	const NnBlobMaps *mp = &b->maps;

	for (int32_t u = 1; u < mp->n_users; u++)
		if (nn_blob_user_id(mp, mp->user_ext[u]) != u)
			oracle_failed("user id lookup");
	for (int32_t i = 1; i < mp->n_items; i++)
		if (nn_blob_item_id(mp, mp->item_ext[i]) != i)
			oracle_failed("item id lookup");
	for (int32_t e = 1; e < mp->n_events; e++)
	{
		if (mp->event_value && nn_blob_event_value_id(mp, mp->event_value[e]) != e)
			oracle_failed("event value lookup");
		if (mp->event_label && nn_blob_event_label_id(mp, mp->event_label[e]) != e)
			oracle_failed("event label lookup");
	}
}

/* Score one user over a history of known items, as recommend() does. */
static void
serve_once(const NnBlob *b)
{
	const NnModel *m = &b->model;
	NnConfig	cfg = m->cfg;
	int			M = cfg.M;
	int32_t		N = b->maps.n_items;
	int32_t    *items = calloc(M, sizeof(int32_t));
	int32_t    *events = calloc(M, sizeof(int32_t));
	int64_t    *ts = calloc(M, sizeof(int64_t));
	int32_t    *tbucket = calloc(M, sizeof(int32_t));
	float	   *tdelta = calloc(M, sizeof(float));
	float	   *x = calloc(2 * (size_t) cfg.d, sizeof(float));
	float	   *scores = calloc(N, sizeof(float));
	int32_t		ids[10];
	int32_t		user = b->maps.n_users > 1 ? 1 : 0;
	int32_t		n_out;
	NnInfer    *w = nn_infer_create(m, 1);
	NnBatch		nb;

	if (!items || !events || !ts || !tbucket || !tdelta || !x || !scores || !w)
		oracle_failed("allocation for serving");
	for (int p = 0; p < M; p++)
	{
		/* newest last, left-padded: the second half holds known items */
		items[p] = p < M / 2 || N <= 1 ? 0 : 1 + p % (N - 1);
		events[p] = items[p] && b->maps.n_events > 1 ? 1 + p % (b->maps.n_events - 1) : 0;
		ts[p] = 1700000000 + 60 * p;
	}
	cfg.tref_mode = NN_TREF_LAST;
	nn_time_features(&cfg, M, items, ts, 0, tbucket, tdelta);
	memset(&nb, 0, sizeof(nb));
	nb.B = 1;
	nb.user = &user;
	nb.items = items;
	nb.events = events;
	nb.tbucket = tbucket;
	nb.tdelta = tdelta;
	if (nn_user_vector(m, w, &nb, 0, x, NULL) != NN_OK)
		oracle_failed("nn_user_vector on an accepted blob");
	nn_score_all(m, x, scores);
	if (nn_cooc_mix(m, w, items, M, scores) != NN_OK)
		oracle_failed("nn_cooc_mix on an accepted blob");
	if (nn_topk(scores, N, 10, NULL, ids, NULL, &n_out) != 0)
		oracle_failed("nn_topk on an accepted blob");
	nn_infer_free(w);
	free(items);
	free(events);
	free(ts);
	free(tbucket);
	free(tdelta);
	free(x);
	free(scores);
}

/* Little-endian u32 / u64 at p. */
static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		(uint32_t) p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t) le32(p) | (uint64_t) le32(p + 4) << 32;
}

/*
 * 1 if out (format 2, as written) is the format 2 form of the accepted
 * format 1 blob in (in_len bytes): same magic, format 1 header after the
 * total length, 24 zero co-occurrence bytes, same body; the CRC of out is
 * its own.
 */
static int
is_format2_of_format1(const uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
	const size_t h1 = 16 + NN_BLOB_HEADER_LEN_V1;	/* format 1 body start */
	const size_t extra = NN_BLOB_HEADER_LEN_V2 - NN_BLOB_HEADER_LEN_V1;
	size_t		i;

	if (in_len < h1 + 4 || out_len != in_len + extra)
		return 0;
	if (memcmp(out, in, 8) != 0 || le32(out + 8) != NN_BLOB_FORMAT ||
		le32(out + 12) != NN_BLOB_HEADER_LEN_V2 || le64(out + 16) != out_len)
		return 0;
	if (memcmp(out + 24, in + 24, h1 - 24) != 0)
		return 0;
	for (i = 0; i < extra; i++)
		if (out[h1 + i] != 0)
			return 0;
	if (memcmp(out + h1 + extra, in + h1, in_len - h1 - 4) != 0)
		return 0;
	return le32(out + out_len - 4) == nn_crc32c(0, out, out_len - 4);
}

/* An accepted blob must be written back byte for byte (format 1: as its
 * format 2 form). */
static void
check_round_trip(const NnBlob *b, const uint8_t *buf, size_t len)
{
	uint8_t    *out = NULL;
	size_t		out_len = 0;
	char		msg[256];

	if (nn_blob_write(&b->model, &b->maps, b->has_adam, &out, &out_len,
					  msg, sizeof(msg)) != NN_BLOB_OK)
	{
		fprintf(stderr, "fuzz_blob: writer refused an accepted blob: %s\n", msg);
		oracle_failed("round trip (write)");
	}
	if (le32(buf + 8) == 1)
	{
		if (!is_format2_of_format1(out, out_len, buf, len))
			oracle_failed("round trip of a format 1 blob (not its format 2 form)");
	}
	else if (out_len != len || memcmp(out, buf, len) != 0)
		oracle_failed("round trip (bytes differ)");
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *buf;
	size_t		len;
	NnBlob		b;
	char		msg[256];

	if (size < 1)
		return 0;
	len = size - 1;
	/* an exact-size heap copy, so ASan sees any read past the end */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) && len >= 4)
	{
		uint32_t	crc = nn_crc32c(0, buf, len - 4);

		for (int k = 0; k < 4; k++)
			buf[len - 4 + k] = (uint8_t) (crc >> (8 * k));
	}
	memset(&b, 0x5a, sizeof(b));
	if (nn_blob_read(buf, len, &b, msg, sizeof(msg)) == NN_BLOB_OK)
	{
		check_lookups(&b);
		serve_once(&b);
		check_round_trip(&b, buf, len);
		nn_blob_free(&b);
	}
	else if (msg[0] == '\0')
		oracle_failed("a rejected blob without a message");
	free(buf);
	return 0;
}
