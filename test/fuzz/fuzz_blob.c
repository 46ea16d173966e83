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
 * one user vector over a history of known items, scores for all items, a
 * top-k) and writes it back with nn_blob_write(), which must succeed and
 * give the same bytes: the format is canonical, so an accepted blob that
 * does not round-trip means the reader let something through that the
 * writer considers invalid.  A violated oracle calls abort().
 *
 * Seeds: blobs written by src/tools/cnnrec-train (see run.sh), prefixed
 * with the mode byte.
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

/* An accepted blob must be written back byte for byte. */
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
	if (out_len != len || memcmp(out, buf, len) != 0)
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
