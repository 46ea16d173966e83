/*
 * test_bytes.c
 *		Unit tests of src/nn/bytes.c: exact little-endian encodings, a
 *		round trip of every type, every truncation of a blob-like buffer
 *		(each copied into an exact-size allocation so sanitizers/valgrind
 *		catch any over-read), hostile lengths, sticky errors, and random
 *		mutations.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/bytes.h"
#include "nn/crc32c.h"
#include "nn/rng.h"
#include "tap.h"

/* Write a small "model blob": magic, header, counted arrays, strings, CRC. */
static int
write_blob(NnByteWriter *w)
{
	static const int32_t ids[] = {1, -1, 2147483647, -2147483647 - 1};
	static const int64_t ext[] = {0, -5, INT64_MAX, INT64_MIN};
	static const uint64_t u64s[] = {UINT64_MAX, 1};
	static const float	t[] = {0.5f, -1.25f, 3.0e38f, -0.0f, 1e-42f};
	size_t		crc_at;

	nn_bw_bytes(w, "TACASER1", 8);
	nn_bw_u32(w, 1);
	nn_bw_u8(w, 7);
	nn_bw_i64(w, -3);
	nn_bw_f64(w, 2.5);
	nn_bw_cstr(w, "tacaser");
	nn_bw_str(w, "", 0);
	nn_bw_u64(w, 4);
	nn_bw_i32_array(w, ids, 4);
	nn_bw_u64(w, 4);
	nn_bw_i64_array(w, ext, 4);
	nn_bw_u64_array(w, u64s, 2);
	nn_bw_align(w, 8);
	nn_bw_u64(w, 5);
	nn_bw_f32_array(w, t, 5);
	nn_bw_f32(w, -7.0f);
	crc_at = w->len;
	nn_bw_u32(w, 0);
	nn_bw_patch_u32(w, crc_at, nn_crc32c(0, w->data, crc_at));
	return w->err;
}

/* Parse the blob back; returns the reader's final status. */
static int
read_blob(const uint8_t *p, size_t n, int *values_ok)
{
	NnByteReader r;
	char		magic[8];
	uint32_t	ver;
	uint8_t		b;
	int64_t		i64;
	double		f64;
	char		name[16];
	const char *s;
	uint32_t	sl;
	size_t		cnt;
	int32_t		ids[4];
	int64_t		ext[4];
	uint64_t	u64s[2] = {0, 0};
	float		t[5];
	float		f;
	uint32_t	crc;
	size_t		crc_at;
	const uint8_t *pad;

	*values_ok = 0;
	memset(ids, 0, sizeof(ids));
	memset(ext, 0, sizeof(ext));
	memset(t, 0, sizeof(t));
	nn_br_init(&r, p, n);
	nn_br_bytes(&r, magic, 8);
	nn_br_u32(&r, &ver);
	nn_br_u8(&r, &b);
	nn_br_i64(&r, &i64);
	nn_br_f64(&r, &f64);
	nn_br_str_copy(&r, name, sizeof(name));
	nn_br_str(&r, 16, &s, &sl);
	if (nn_br_count(&r, 4, 4, &cnt) == NN_BYTES_OK)
		nn_br_i32_array(&r, ids, cnt);
	if (nn_br_count(&r, 4, 8, &cnt) == NN_BYTES_OK)
		nn_br_i64_array(&r, ext, cnt);
	nn_br_u64_array(&r, u64s, 2);
	nn_br_view(&r, (8 - r.pos % 8) % 8, &pad);
	if (nn_br_count(&r, 5, 4, &cnt) == NN_BYTES_OK)
		nn_br_f32_array(&r, t, cnt);
	nn_br_f32(&r, &f);
	crc_at = r.pos;
	nn_br_u32(&r, &crc);
	if (nn_br_finish(&r) != NN_BYTES_OK)
		return r.err;
	*values_ok = memcmp(magic, "TACASER1", 8) == 0 && ver == 1 && b == 7 && i64 == -3 &&
		f64 == 2.5 && strcmp(name, "tacaser") == 0 && sl == 0 &&
		ids[2] == 2147483647 && ids[3] == -2147483647 - 1 && ext[1] == -5 &&
		ext[2] == INT64_MAX && ext[3] == INT64_MIN && u64s[0] == UINT64_MAX && u64s[1] == 1 && t[1] == -1.25f &&
		t[4] == 1e-42f && f == -7.0f && crc == nn_crc32c(0, p, crc_at);
	return NN_BYTES_OK;
}

/* Exact wire format of scalars. */
static void
test_encoding(void)
{
	NnByteWriter w;
	static const uint8_t want[] = {
		0x04, 0x03, 0x02, 0x01,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0xfe, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x80, 0x3f,
		0x02, 0x00, 0x00, 0x00, 'h', 'i',
	};

	nn_bw_init(&w);
	nn_bw_u32(&w, 0x01020304u);
	nn_bw_u64(&w, 0x0102030405060708ull);
	nn_bw_i32(&w, -2);
	nn_bw_f32(&w, 1.0f);
	nn_bw_cstr(&w, "hi");
	ok(w.err == 0 && w.len == sizeof(want) && memcmp(w.data, want, sizeof(want)) == 0,
	   "little-endian u32/u64/i32/f32 and length-prefixed string");
	nn_bw_align(&w, 8);
	ok(w.len == 32 && w.data[26] == 0 && w.data[31] == 0, "align 8 pads with zeros");
	ok(nn_bw_patch_u32(&w, 0, 0xAABBCCDDu) == 0 && w.data[0] == 0xDD && w.data[3] == 0xAA,
	   "patch_u32");
	ok(nn_bw_patch_u64(&w, 28, 1) == NN_BYTES_EINVAL && w.err == NN_BYTES_EINVAL,
	   "patch past the end -> EINVAL (sticky)");
	ok(nn_bw_u8(&w, 1) == NN_BYTES_EINVAL && w.len == 32, "writer stays failed");
	ok(nn_bw_release(&w, NULL) == NULL && w.data == NULL, "release of a failed writer frees and returns NULL");

	nn_bw_init(&w);
	nn_bw_u64(&w, 1);
	ok(nn_bw_reserve(&w, SIZE_MAX - 4) == NN_BYTES_EOVERFLOW, "reserve overflowing size_t -> EOVERFLOW");
	nn_bw_free(&w);
	nn_bw_init(&w);
	ok(nn_bw_f32_array(&w, NULL, SIZE_MAX / 2) == NN_BYTES_EOVERFLOW, "n * 4 overflow -> EOVERFLOW");
	nn_bw_free(&w);
	nn_bw_init(&w);
	ok(nn_bw_bytes(&w, NULL, 3) == NN_BYTES_EINVAL && nn_bw_align(&w, 3) == NN_BYTES_EINVAL,
	   "NULL data / bad alignment -> EINVAL");
	nn_bw_free(&w);
	ok(strcmp(nn_bytes_strerror(NN_BYTES_ETRUNC), "truncated data") == 0 &&
	   strcmp(nn_bytes_strerror(99), "unknown error") == 0, "strerror");
}

/* Round trip and every truncation. */
static void
test_blob(void)
{
	NnByteWriter w;
	uint8_t    *blob;
	size_t		len;
	size_t		cut;
	int			vals;
	int			all_fail = 1;
	int			codes_ok = 1;

	nn_bw_init(&w);
	ok(write_blob(&w) == NN_BYTES_OK, "blob written");
	blob = nn_bw_release(&w, &len);
	ok(blob != NULL && len > 100, "released %zu bytes", len);
	ok(read_blob(blob, len, &vals) == NN_BYTES_OK && vals, "round trip of every type");
	{
		NnByteReader r;
		double		d;

		nn_br_init(&r, blob + 21, 8);
		nn_br_f64(&r, &d);
		is_double(d, 2.5, 0.0, "f64 at its offset (8 magic + 4 + 1 + 8)");
	}
	for (cut = 0; cut < len; cut++)
	{
		uint8_t    *p = (uint8_t *) malloc(cut ? cut : 1);
		int			rc;

		memcpy(p, blob, cut);
		rc = read_blob(p, cut, &vals);
		all_fail &= rc != NN_BYTES_OK;
		codes_ok &= rc == NN_BYTES_ETRUNC || rc == NN_BYTES_EBADLEN;
		free(p);
	}
	ok(all_fail, "all %zu truncations fail", len);
	ok(codes_ok, "... with ETRUNC or EBADLEN");
	{
		uint8_t    *p = (uint8_t *) malloc(len + 1);

		memcpy(p, blob, len);
		p[len] = 0;
		ok(read_blob(p, len + 1, &vals) == NN_BYTES_ETRAILING, "one extra byte -> ETRAILING");
		free(p);
	}
	free(blob);
}

/* Hostile length fields and sticky reader errors. */
static void
test_hostile(void)
{
	uint8_t		buf[20];
	NnByteReader r;
	size_t		n;
	uint32_t	u;
	float		f[2] = {1.0f, 1.0f};
	const char *s;
	uint32_t	sl;

	memset(buf, 0xff, sizeof(buf));
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_count(&r, UINT64_MAX, 4, &n) == NN_BYTES_EOVERFLOW && n == 0 && r.err_pos == 0,
	   "count 2^64-1 of 4-byte items -> EOVERFLOW at offset 0");
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_count(&r, 1000, 1, &n) == NN_BYTES_EBADLEN, "count above the caller's max -> EBADLEN");
	memset(buf, 0, sizeof(buf));
	buf[0] = 3;					/* count 3 of 4-byte items, only 12 bytes left: fits */
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_count(&r, 10, 4, &n) == NN_BYTES_OK && n == 3, "count that fits");
	buf[0] = 4;					/* 16 bytes needed, 12 left */
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_count(&r, 10, 4, &n) == NN_BYTES_EBADLEN, "count exceeding the remaining bytes -> EBADLEN");
	ok(nn_br_u32(&r, &u) == NN_BYTES_EBADLEN && u == 0 && nn_br_remaining(&r) == 0,
	   "errors are sticky; later reads return 0");
	nn_br_init(&r, buf, 2);
	ok(nn_br_f32_array(&r, f, 2) == NN_BYTES_ETRUNC && f[0] == 0.0f && f[1] == 0.0f &&
	   r.pos == 0, "short array read -> ETRUNC, output zeroed, nothing consumed");
	memset(buf, 0xff, sizeof(buf));
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_str(&r, UINT32_MAX, &s, &sl) == NN_BYTES_EBADLEN && s == NULL && sl == 0,
	   "string length 2^32-1 -> EBADLEN");
	memset(buf, 0, sizeof(buf));
	buf[0] = 10;
	nn_br_init(&r, buf, sizeof(buf));
	{
		char		small[4];

		ok(nn_br_str_copy(&r, small, sizeof(small)) == NN_BYTES_EBADLEN && small[0] == 0,
		   "string longer than the destination -> EBADLEN");
	}
	nn_br_init(&r, buf, sizeof(buf));
	ok(nn_br_skip(&r, SIZE_MAX) == NN_BYTES_ETRUNC && r.pos == 0, "skip(SIZE_MAX) -> ETRUNC");
	nn_br_init(&r, buf, sizeof(buf));
	nn_br_skip(&r, 18);
	ok(nn_br_f32_array(&r, f, SIZE_MAX / 2) == NN_BYTES_EOVERFLOW && r.err_pos == 18,
	   "array size overflow -> EOVERFLOW, position reported");
	nn_br_init(&r, NULL, 0);
	{
		const uint8_t *v = NULL;

		ok(nn_br_view(&r, 0, &v) == NN_BYTES_OK && v != NULL && nn_br_skip(&r, 0) == NN_BYTES_OK &&
		   nn_br_finish(&r) == NN_BYTES_OK && nn_br_u8(&r, (uint8_t *) buf) == NN_BYTES_ETRUNC,
		   "empty (NULL) buffer: zero-length reads succeed, a byte read fails");
	}
	nn_br_init(&r, NULL, 5);
	ok(r.err == NN_BYTES_EINVAL, "NULL with length > 0 -> EINVAL");
}

/* Random mutations/truncations never crash; damage that frames OK is caught by the CRC. */
static void
test_fuzz(void)
{
	NnByteWriter w;
	uint8_t    *blob;
	size_t		len;
	NnRng		r;
	int			it;
	int			parsed = 0;
	int			crc_caught = 0;
	int			mutated_ok = 0;

	nn_bw_init(&w);
	write_blob(&w);
	blob = nn_bw_release(&w, &len);
	nn_rng_seed(&r, 77, 1);
	for (it = 0; it < 20000; it++)
	{
		size_t		n = len - nn_rng_below(&r, 4) * (it & 1);
		uint8_t    *p = (uint8_t *) malloc(n);
		int			flips = 1 + (int) nn_rng_below(&r, 4);
		int			vals;
		int			k;

		memcpy(p, blob, n);
		for (k = 0; k < flips; k++)
			p[nn_rng_below(&r, (uint32_t) n)] ^= (uint8_t) (1 + nn_rng_below(&r, 255));
		if (n == len && memcmp(p, blob, n) == 0)
		{
			/* flips cancelled out: not a mutation */
			free(p);
			continue;
		}
		if (read_blob(p, n, &vals) == NN_BYTES_OK)
		{
			parsed++;
			/* the checksum, not the framing, must catch payload damage */
			if (!vals)
				crc_caught++;
			else
				mutated_ok++;
		}
		free(p);
	}
	ok(1, "20000 mutated blobs parsed without a crash (%d framed OK)", parsed);
	ok(mutated_ok == 0, "every framed-OK mutation was caught by a value or CRC check");
	diag("framed OK %d, caught by checks %d", parsed, crc_caught);
	free(blob);
}

int
main(void)
{
	test_encoding();
	test_blob();
	test_hostile();
	test_fuzz();
	return done_testing();
}
