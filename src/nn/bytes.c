/*
 * bytes.c
 *		Little-endian byte writer and bounds-checked reader for the model
 *		blob (model-spec §5.14 "Model blob": little-endian, float32 tensors).
 *
 * Safety rules of the reader: every read first checks n <= len - pos (never
 * pos + n <= len, which can overflow); every size product is checked before
 * use; the first error is kept and all later reads fail with zeroed outputs.
 * Hostile input can therefore make a read fail but never read out of bounds.
 */
#include "nn/bytes.h"

#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NN_BYTES_HOST_LE 1
#endif

/* Name of a status code. */
const char *
nn_bytes_strerror(int code)
{
	switch (code)
	{
		case NN_BYTES_OK:
			return "ok";
		case NN_BYTES_ENOMEM:
			return "out of memory";
		case NN_BYTES_ETRUNC:
			return "truncated data";
		case NN_BYTES_EBADLEN:
			return "invalid length field";
		case NN_BYTES_EOVERFLOW:
			return "size overflow";
		case NN_BYTES_EINVAL:
			return "invalid argument";
		case NN_BYTES_ETRAILING:
			return "unexpected trailing bytes";
	}
	return "unknown error";
}

/* a*b into *out; 0 on success, -1 if it overflows size_t. */
static int
size_mul(size_t a, size_t b, size_t *out)
{
	if (b != 0 && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

/* Store v little-endian into 4 bytes. */
static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Store v little-endian into 8 bytes. */
static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t) v);
	put_le32(p + 4, (uint32_t) (v >> 32));
}

/* Load a little-endian 32-bit value. */
static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Load a little-endian 64-bit value. */
static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t) get_le32(p) | ((uint64_t) get_le32(p + 4) << 32);
}

/* ---------------------------------------------------------------- writer */

/* Start an empty writer (no allocation yet). */
void
nn_bw_init(NnByteWriter *w)
{
	w->data = NULL;
	w->len = 0;
	w->cap = 0;
	w->err = NN_BYTES_OK;
}

/* Free the buffer and reset to empty. */
void
nn_bw_free(NnByteWriter *w)
{
	free(w->data);
	nn_bw_init(w);
}

/* Give the buffer to the caller; the writer is reset. NULL on error/empty. */
uint8_t *
nn_bw_release(NnByteWriter *w, size_t *len)
{
	uint8_t    *p = w->data;

	if (w->err != NN_BYTES_OK)
	{
		nn_bw_free(w);
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = w->len;
	nn_bw_init(w);
	return p;
}

/* Make room for extra more bytes (amortised doubling). */
int
nn_bw_reserve(NnByteWriter *w, size_t extra)
{
	size_t		need;
	size_t		cap;
	uint8_t    *p;

	if (w->err != NN_BYTES_OK)
		return w->err;
	if (extra > SIZE_MAX - w->len)
		return (w->err = NN_BYTES_EOVERFLOW);
	need = w->len + extra;
	if (need <= w->cap)
		return NN_BYTES_OK;
	cap = w->cap < 64 ? 64 : w->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = (uint8_t *) realloc(w->data, cap);
	if (p == NULL)
		return (w->err = NN_BYTES_ENOMEM);
	w->data = p;
	w->cap = cap;
	return NN_BYTES_OK;
}

/* Append n raw bytes. */
int
nn_bw_bytes(NnByteWriter *w, const void *p, size_t n)
{
	if (w->err == NN_BYTES_OK && n > 0 && p == NULL)
		w->err = NN_BYTES_EINVAL;
	if (nn_bw_reserve(w, n) != NN_BYTES_OK)
		return w->err;
	if (n > 0)
		memcpy(w->data + w->len, p, n);
	w->len += n;
	return NN_BYTES_OK;
}

/* Append n zero bytes. */
int
nn_bw_zeros(NnByteWriter *w, size_t n)
{
	if (nn_bw_reserve(w, n) != NN_BYTES_OK)
		return w->err;
	if (n > 0)
		memset(w->data + w->len, 0, n);
	w->len += n;
	return NN_BYTES_OK;
}

/* Zero-pad to a multiple of align (a power of two). */
int
nn_bw_align(NnByteWriter *w, size_t align)
{
	if (w->err == NN_BYTES_OK && (align == 0 || (align & (align - 1)) != 0))
		w->err = NN_BYTES_EINVAL;
	if (w->err != NN_BYTES_OK)
		return w->err;
	return nn_bw_zeros(w, (align - (w->len & (align - 1))) & (align - 1));
}

/* Append one byte. */
int
nn_bw_u8(NnByteWriter *w, uint8_t v)
{
	return nn_bw_bytes(w, &v, 1);
}

/* Append a little-endian u32. */
int
nn_bw_u32(NnByteWriter *w, uint32_t v)
{
	uint8_t		b[4];

	put_le32(b, v);
	return nn_bw_bytes(w, b, 4);
}

/* Append a little-endian i32 (two's complement). */
int
nn_bw_i32(NnByteWriter *w, int32_t v)
{
	return nn_bw_u32(w, (uint32_t) v);
}

/* Append a little-endian u64. */
int
nn_bw_u64(NnByteWriter *w, uint64_t v)
{
	uint8_t		b[8];

	put_le64(b, v);
	return nn_bw_bytes(w, b, 8);
}

/* Append a little-endian i64 (two's complement). */
int
nn_bw_i64(NnByteWriter *w, int64_t v)
{
	return nn_bw_u64(w, (uint64_t) v);
}

/* Append a float32 bit pattern. */
int
nn_bw_f32(NnByteWriter *w, float v)
{
	uint32_t	u;

	memcpy(&u, &v, 4);
	return nn_bw_u32(w, u);
}

/* Append a float64 bit pattern. */
int
nn_bw_f64(NnByteWriter *w, double v)
{
	uint64_t	u;

	memcpy(&u, &v, 8);
	return nn_bw_u64(w, u);
}

/* Append n 4-byte values (raw bits), converting to little-endian. */
static int
bw_array32(NnByteWriter *w, const void *v, size_t n)
{
	size_t		bytes;

	if (w->err != NN_BYTES_OK)
		return w->err;
	if (size_mul(n, 4, &bytes) != 0)
		return (w->err = NN_BYTES_EOVERFLOW);
#ifdef NN_BYTES_HOST_LE
	return nn_bw_bytes(w, v, bytes);
#else
	{
		const uint32_t *src = (const uint32_t *) v;
		size_t		i;

		if (n > 0 && v == NULL)
			return (w->err = NN_BYTES_EINVAL);
		if (nn_bw_reserve(w, bytes) != NN_BYTES_OK)
			return w->err;
		for (i = 0; i < n; i++)
			put_le32(w->data + w->len + 4 * i, src[i]);
		w->len += bytes;
		return NN_BYTES_OK;
	}
#endif
}

/* Append n 8-byte values (raw bits), converting to little-endian. */
static int
bw_array64(NnByteWriter *w, const void *v, size_t n)
{
	size_t		bytes;

	if (w->err != NN_BYTES_OK)
		return w->err;
	if (size_mul(n, 8, &bytes) != 0)
		return (w->err = NN_BYTES_EOVERFLOW);
#ifdef NN_BYTES_HOST_LE
	return nn_bw_bytes(w, v, bytes);
#else
	{
		const uint64_t *src = (const uint64_t *) v;
		size_t		i;

		if (n > 0 && v == NULL)
			return (w->err = NN_BYTES_EINVAL);
		if (nn_bw_reserve(w, bytes) != NN_BYTES_OK)
			return w->err;
		for (i = 0; i < n; i++)
			put_le64(w->data + w->len + 8 * i, src[i]);
		w->len += bytes;
		return NN_BYTES_OK;
	}
#endif
}

/* Append a u32 array. */
int
nn_bw_u32_array(NnByteWriter *w, const uint32_t *v, size_t n)
{
	return bw_array32(w, v, n);
}

/* Append an i32 array. */
int
nn_bw_i32_array(NnByteWriter *w, const int32_t *v, size_t n)
{
	return bw_array32(w, v, n);
}

/* Append an i64 array. */
int
nn_bw_i64_array(NnByteWriter *w, const int64_t *v, size_t n)
{
	return bw_array64(w, v, n);
}

/* Append a u64 array. */
int
nn_bw_u64_array(NnByteWriter *w, const uint64_t *v, size_t n)
{
	return bw_array64(w, v, n);
}

/* Append a float32 array. */
int
nn_bw_f32_array(NnByteWriter *w, const float *v, size_t n)
{
	return bw_array32(w, v, n);
}

/* Append a u32 length then the string bytes. */
int
nn_bw_str(NnByteWriter *w, const char *s, size_t n)
{
	if (w->err == NN_BYTES_OK && n > UINT32_MAX)
		w->err = NN_BYTES_EOVERFLOW;
	if (nn_bw_u32(w, (uint32_t) n) != NN_BYTES_OK)
		return w->err;
	return nn_bw_bytes(w, s, n);
}

/* Append a NUL-terminated string (without the NUL). */
int
nn_bw_cstr(NnByteWriter *w, const char *s)
{
	if (s == NULL)
	{
		if (w->err == NN_BYTES_OK)
			w->err = NN_BYTES_EINVAL;
		return w->err;
	}
	return nn_bw_str(w, s, strlen(s));
}

/* Overwrite a u32 at offset off (must lie within what was written). */
int
nn_bw_patch_u32(NnByteWriter *w, size_t off, uint32_t v)
{
	if (w->err != NN_BYTES_OK)
		return w->err;
	if (w->len < 4 || off > w->len - 4)
		return (w->err = NN_BYTES_EINVAL);
	put_le32(w->data + off, v);
	return NN_BYTES_OK;
}

/* Overwrite a u64 at offset off (must lie within what was written). */
int
nn_bw_patch_u64(NnByteWriter *w, size_t off, uint64_t v)
{
	if (w->err != NN_BYTES_OK)
		return w->err;
	if (w->len < 8 || off > w->len - 8)
		return (w->err = NN_BYTES_EINVAL);
	put_le64(w->data + off, v);
	return NN_BYTES_OK;
}

/* ---------------------------------------------------------------- reader */

/* Start reading (data, len); a NULL data pointer is only valid with len 0. */
void
nn_br_init(NnByteReader *r, const void *data, size_t len)
{
	r->data = (const uint8_t *) data;
	r->len = data ? len : 0;
	r->pos = 0;
	r->err = NN_BYTES_OK;
	r->err_pos = 0;
	if (data == NULL && len > 0)
		r->err = NN_BYTES_EINVAL;
}

/* Bytes left to read (0 after an error). */
size_t
nn_br_remaining(const NnByteReader *r)
{
	return r->err != NN_BYTES_OK ? 0 : r->len - r->pos;
}

/* Record the first error at the current position. */
static int
br_fail(NnByteReader *r, int code)
{
	if (r->err == NN_BYTES_OK)
	{
		r->err = code;
		r->err_pos = r->pos;
	}
	return r->err;
}

/* Non-NULL pointer for zero-length views of an empty (NULL) buffer. */
static const uint8_t empty[1] = {0};

/* Claim the next n bytes: pointer to them, or NULL (error recorded). */
static const uint8_t *
br_take(NnByteReader *r, size_t n)
{
	const uint8_t *p;

	if (r->err != NN_BYTES_OK)
		return NULL;
	if (n > r->len - r->pos)
	{
		br_fail(r, NN_BYTES_ETRUNC);
		return NULL;
	}
	if (r->data == NULL)
		return empty;			/* n == 0 on an empty reader: no NULL arithmetic */
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

/* Skip n bytes. */
int
nn_br_skip(NnByteReader *r, size_t n)
{
	return br_take(r, n) ? NN_BYTES_OK : r->err;
}

/* Point *p at the next n bytes (zero-copy). */
int
nn_br_view(NnByteReader *r, size_t n, const uint8_t **p)
{
	const uint8_t *q = br_take(r, n);

	*p = q;
	return r->err;
}

/* Copy the next n bytes into dst. */
int
nn_br_bytes(NnByteReader *r, void *dst, size_t n)
{
	const uint8_t *q = br_take(r, n);

	if (q == NULL)
	{
		if (dst && n > 0)
			memset(dst, 0, n);
		return r->err;
	}
	if (n > 0)
		memcpy(dst, q, n);
	return NN_BYTES_OK;
}

/* Read one byte. */
int
nn_br_u8(NnByteReader *r, uint8_t *v)
{
	const uint8_t *q = br_take(r, 1);

	*v = q ? q[0] : 0;
	return r->err;
}

/* Read a little-endian u32. */
int
nn_br_u32(NnByteReader *r, uint32_t *v)
{
	const uint8_t *q = br_take(r, 4);

	*v = q ? get_le32(q) : 0;
	return r->err;
}

/* Read a little-endian i32. */
int
nn_br_i32(NnByteReader *r, int32_t *v)
{
	uint32_t	u;
	int			rc = nn_br_u32(r, &u);

	*v = (int32_t) u;
	return rc;
}

/* Read a little-endian u64. */
int
nn_br_u64(NnByteReader *r, uint64_t *v)
{
	const uint8_t *q = br_take(r, 8);

	*v = q ? get_le64(q) : 0;
	return r->err;
}

/* Read a little-endian i64. */
int
nn_br_i64(NnByteReader *r, int64_t *v)
{
	uint64_t	u;
	int			rc = nn_br_u64(r, &u);

	*v = (int64_t) u;
	return rc;
}

/* Read a float32 bit pattern. */
int
nn_br_f32(NnByteReader *r, float *v)
{
	uint32_t	u;
	int			rc = nn_br_u32(r, &u);

	memcpy(v, &u, 4);
	return rc;
}

/* Read a float64 bit pattern. */
int
nn_br_f64(NnByteReader *r, double *v)
{
	uint64_t	u;
	int			rc = nn_br_u64(r, &u);

	memcpy(v, &u, 8);
	return rc;
}

/* Read n values of width bytes (4 or 8) into dst, host order. */
static int
br_array(NnByteReader *r, void *dst, size_t n, size_t width)
{
	size_t		bytes;
	const uint8_t *q;

	if (r->err != NN_BYTES_OK)
		goto zero;
	if (size_mul(n, width, &bytes) != 0)
	{
		br_fail(r, NN_BYTES_EOVERFLOW);
		goto zero;
	}
	if (n > 0 && dst == NULL)
	{
		br_fail(r, NN_BYTES_EINVAL);
		return r->err;
	}
	q = br_take(r, bytes);
	if (q == NULL)
		goto zero;
	if (bytes == 0)
		return NN_BYTES_OK;
#ifdef NN_BYTES_HOST_LE
	memcpy(dst, q, bytes);
#else
	{
		size_t		i;

		for (i = 0; i < n; i++)
		{
			if (width == 4)
				((uint32_t *) dst)[i] = get_le32(q + 4 * i);
			else
				((uint64_t *) dst)[i] = get_le64(q + 8 * i);
		}
	}
#endif
	return NN_BYTES_OK;

zero:
	/* on failure, zero what the caller asked for if that size is sane */
	if (dst != NULL && size_mul(n, width, &bytes) == 0)
		memset(dst, 0, bytes);
	return r->err;
}

/* Read a u32 array. */
int
nn_br_u32_array(NnByteReader *r, uint32_t *dst, size_t n)
{
	return br_array(r, dst, n, 4);
}

/* Read an i32 array. */
int
nn_br_i32_array(NnByteReader *r, int32_t *dst, size_t n)
{
	return br_array(r, dst, n, 4);
}

/* Read an i64 array. */
int
nn_br_i64_array(NnByteReader *r, int64_t *dst, size_t n)
{
	return br_array(r, dst, n, 8);
}

/* Read a u64 array. */
int
nn_br_u64_array(NnByteReader *r, uint64_t *dst, size_t n)
{
	return br_array(r, dst, n, 8);
}

/* Read a float32 array. */
int
nn_br_f32_array(NnByteReader *r, float *dst, size_t n)
{
	return br_array(r, dst, n, 4);
}

/* Read and validate a u64 element count (see header). */
int
nn_br_count(NnByteReader *r, uint64_t max_count, size_t elem_size, size_t *count)
{
	uint64_t	c;
	size_t		bytes;
	size_t		at = r->pos;

	*count = 0;
	if (nn_br_u64(r, &c) != NN_BYTES_OK)
		return r->err;
	if (c > max_count || c > (uint64_t) SIZE_MAX)
	{
		r->pos = at;
		return br_fail(r, NN_BYTES_EBADLEN);
	}
	if (size_mul((size_t) c, elem_size, &bytes) != 0)
	{
		r->pos = at;
		return br_fail(r, NN_BYTES_EOVERFLOW);
	}
	if (bytes > r->len - r->pos)
	{
		r->pos = at;
		return br_fail(r, NN_BYTES_EBADLEN);
	}
	*count = (size_t) c;
	return NN_BYTES_OK;
}

/* Read a u32-length-prefixed string (zero-copy). */
int
nn_br_str(NnByteReader *r, uint32_t max_len, const char **s, uint32_t *n)
{
	uint32_t	len;
	size_t		at = r->pos;
	const uint8_t *q;

	*s = NULL;
	*n = 0;
	if (nn_br_u32(r, &len) != NN_BYTES_OK)
		return r->err;
	if (len > max_len || len > r->len - r->pos)
	{
		r->pos = at;
		return br_fail(r, NN_BYTES_EBADLEN);
	}
	q = br_take(r, len);
	*s = (const char *) q;
	*n = len;
	return NN_BYTES_OK;
}

/* Read a length-prefixed string into dst with a NUL terminator. */
int
nn_br_str_copy(NnByteReader *r, char *dst, size_t dstsize)
{
	const char *s;
	uint32_t	n;
	uint32_t	max = dstsize == 0 ? 0 :
		(dstsize - 1 > UINT32_MAX ? UINT32_MAX : (uint32_t) (dstsize - 1));

	if (dstsize == 0 || dst == NULL)
		return br_fail(r, NN_BYTES_EINVAL);
	dst[0] = '\0';
	if (nn_br_str(r, max, &s, &n) != NN_BYTES_OK)
		return r->err;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return NN_BYTES_OK;
}

/* The sticky error, or ETRAILING if bytes remain unread. */
int
nn_br_finish(NnByteReader *r)
{
	if (r->err != NN_BYTES_OK)
		return r->err;
	if (r->pos != r->len)
		return br_fail(r, NN_BYTES_ETRAILING);
	return NN_BYTES_OK;
}
