/*
 * bytes.h
 *		Little-endian binary serialisation: a growable writer and a
 *		bounds-checked reader.  The model blob (model-spec §5.14: magic,
 *		version, header, id maps, tensors, CRC) is built on these.
 *
 * Writer: append-only buffer (malloc/realloc).  Errors are sticky: after the
 * first failure every further call is a no-op returning the same code, so a
 * serialiser can write everything and check once at the end.
 *
 * Reader: a cursor over (ptr, len) that never reads outside [ptr, ptr+len),
 * whatever the bytes say.  Errors are sticky too: the first error and its
 * offset are kept, later reads fail with the same code and return zeroed
 * values.  All multi-byte values are little-endian on the wire and are
 * converted on any host; floats are IEEE-754 binary32 bit patterns.
 */
#ifndef CNNREC_NN_BYTES_H
#define CNNREC_NN_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Status codes (0 = success); nn_bytes_strerror() names them. */
#define NN_BYTES_OK			0
#define NN_BYTES_ENOMEM		1	/* allocation failed */
#define NN_BYTES_ETRUNC		2	/* fixed-size read past the end of the buffer */
#define NN_BYTES_EBADLEN	3	/* stored length/count exceeds a limit or what remains */
#define NN_BYTES_EOVERFLOW	4	/* size arithmetic would overflow */
#define NN_BYTES_EINVAL		5	/* bad argument (NULL with n > 0, patch out of range) */
#define NN_BYTES_ETRAILING	6	/* unread bytes left where the end was expected */

typedef struct NnByteWriter
{
	uint8_t    *data;			/* malloc'd buffer, NULL until the first write */
	size_t		len;			/* bytes written */
	size_t		cap;			/* bytes allocated */
	int			err;			/* first error (sticky), NN_BYTES_OK if none */
} NnByteWriter;

typedef struct NnByteReader
{
	const uint8_t *data;		/* not owned */
	size_t		len;
	size_t		pos;			/* next byte to read */
	int			err;			/* first error (sticky) */
	size_t		err_pos;		/* offset at which the first error happened */
} NnByteReader;

/* Human-readable name of a status code. */
extern const char *nn_bytes_strerror(int code);

/* ---- writer ---- */
extern void nn_bw_init(NnByteWriter *w);
extern void nn_bw_free(NnByteWriter *w);
/* Hand the buffer to the caller (free() it); *len gets its length.  NULL if empty or on error. */
extern uint8_t *nn_bw_release(NnByteWriter *w, size_t *len);
extern int	nn_bw_reserve(NnByteWriter *w, size_t extra);
extern int	nn_bw_bytes(NnByteWriter *w, const void *p, size_t n);
extern int	nn_bw_zeros(NnByteWriter *w, size_t n);
/* Zero-pad the length to a multiple of align (a power of two, e.g. 4 or 8). */
extern int	nn_bw_align(NnByteWriter *w, size_t align);
extern int	nn_bw_u8(NnByteWriter *w, uint8_t v);
extern int	nn_bw_u32(NnByteWriter *w, uint32_t v);
extern int	nn_bw_i32(NnByteWriter *w, int32_t v);
extern int	nn_bw_u64(NnByteWriter *w, uint64_t v);
extern int	nn_bw_i64(NnByteWriter *w, int64_t v);
extern int	nn_bw_f32(NnByteWriter *w, float v);
extern int	nn_bw_f64(NnByteWriter *w, double v);
extern int	nn_bw_u32_array(NnByteWriter *w, const uint32_t *v, size_t n);
extern int	nn_bw_i32_array(NnByteWriter *w, const int32_t *v, size_t n);
extern int	nn_bw_i64_array(NnByteWriter *w, const int64_t *v, size_t n);
extern int	nn_bw_u64_array(NnByteWriter *w, const uint64_t *v, size_t n);
extern int	nn_bw_f32_array(NnByteWriter *w, const float *v, size_t n);
/* String: u32 byte length, then the bytes (no terminator). */
extern int	nn_bw_str(NnByteWriter *w, const char *s, size_t n);
extern int	nn_bw_cstr(NnByteWriter *w, const char *s);
/* Overwrite 4/8 already-written bytes at off (for lengths and CRCs known late). */
extern int	nn_bw_patch_u32(NnByteWriter *w, size_t off, uint32_t v);
extern int	nn_bw_patch_u64(NnByteWriter *w, size_t off, uint64_t v);

/* ---- reader ---- */
extern void nn_br_init(NnByteReader *r, const void *data, size_t len);
extern size_t nn_br_remaining(const NnByteReader *r);
extern int	nn_br_skip(NnByteReader *r, size_t n);
/* Zero-copy: *p points at the next n bytes inside the buffer. */
extern int	nn_br_view(NnByteReader *r, size_t n, const uint8_t **p);
extern int	nn_br_bytes(NnByteReader *r, void *dst, size_t n);
extern int	nn_br_u8(NnByteReader *r, uint8_t *v);
extern int	nn_br_u32(NnByteReader *r, uint32_t *v);
extern int	nn_br_i32(NnByteReader *r, int32_t *v);
extern int	nn_br_u64(NnByteReader *r, uint64_t *v);
extern int	nn_br_i64(NnByteReader *r, int64_t *v);
extern int	nn_br_f32(NnByteReader *r, float *v);
extern int	nn_br_f64(NnByteReader *r, double *v);
extern int	nn_br_u32_array(NnByteReader *r, uint32_t *dst, size_t n);
extern int	nn_br_i32_array(NnByteReader *r, int32_t *dst, size_t n);
extern int	nn_br_i64_array(NnByteReader *r, int64_t *dst, size_t n);
extern int	nn_br_u64_array(NnByteReader *r, uint64_t *dst, size_t n);
extern int	nn_br_f32_array(NnByteReader *r, float *dst, size_t n);
/*
 * Read a u64 element count and validate it before anything is allocated:
 * EBADLEN if count > max_count or count*elem_size exceeds the remaining
 * bytes, EOVERFLOW if count*elem_size overflows size_t.
 */
extern int	nn_br_count(NnByteReader *r, uint64_t max_count, size_t elem_size, size_t *count);
/* String written by nn_bw_str: zero-copy pointer (not NUL-terminated) and length <= max_len. */
extern int	nn_br_str(NnByteReader *r, uint32_t max_len, const char **s, uint32_t *n);
/* Same, copied into dst[dstsize] with a NUL terminator (EBADLEN if it does not fit). */
extern int	nn_br_str_copy(NnByteReader *r, char *dst, size_t dstsize);
/* Final check: the sticky error, else ETRAILING if unread bytes remain. */
extern int	nn_br_finish(NnByteReader *r);

#endif							/* CNNREC_NN_BYTES_H */
