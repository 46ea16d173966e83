/*
 * blas.h
 *		The one small BLAS interface of the math core (model-spec.md §5.14).
 *
 * Row-major only.  When CNNREC_OPENBLAS is defined (training worker, tools,
 * unit tests) nn_sgemm/nn_sgemv call cblas; otherwise (the serving library
 * cnnrec.so, which must not link BLAS, pg-engineering.md §6) they run the
 * hand-written loops of blas.c (4-float vector types, 8 partial sums in a
 * fixed order), which gcc -O2 compiles to SIMD code without -O3.  The *_loops variants are always
 * compiled, so tests can compare them with the BLAS results.
 *
 * nn_sdot / nn_saxpy are always loops: the vectors of the model are short
 * (d = 50, 2d = 100) and a library call would cost more than the work.
 * Every loop has a fixed summation order, so results are deterministic.
 */
#ifndef CNNREC_NN_BLAS_H
#define CNNREC_NN_BLAS_H

#include <stddef.h>

/* Transpose flags of nn_sgemm / nn_sgemv. */
#define NN_NOTRANS 0
#define NN_TRANS 1

/* C = alpha * op(A) * op(B) + beta * C; op(A) is M x K, op(B) is K x N. */
extern void nn_sgemm(int transA, int transB, int M, int N, int K,
					 float alpha, const float *A, int lda,
					 const float *B, int ldb,
					 float beta, float *C, int ldc);

/* y = alpha * op(A) * x + beta * y; A is M x N (row-major), unit strides. */
extern void nn_sgemv(int transA, int M, int N, float alpha,
					 const float *A, int lda, const float *x,
					 float beta, float *y);

/* The plain-loop implementations (always available). */
extern void nn_sgemm_loops(int transA, int transB, int M, int N, int K,
						   float alpha, const float *A, int lda,
						   const float *B, int ldb,
						   float beta, float *C, int ldc);
extern void nn_sgemv_loops(int transA, int M, int N, float alpha,
						   const float *A, int lda, const float *x,
						   float beta, float *y);

/* x . y over n floats (8 partial sums, fixed order). */
extern float nn_sdot(int n, const float *x, const float *y);

/* y += a * x over n floats. */
extern void nn_saxpy(int n, float a, const float *x, float *y);

/* z += a * x + b * y over n floats (two axpys in one pass). */
extern void nn_saxpy2(int n, float a, const float *x, float b, const float *y, float *z);

/* out = x + y (+ z if z != NULL) over n floats. */
extern void nn_vadd3(int n, const float *x, const float *y, const float *z, float *out);

/* y1 += x and y2 += x over n floats (y1, y2 distinct). */
extern void nn_vacc2(int n, const float *x, float *y1, float *y2);

/* out[i] = exp(x[i] - shift) (Cephes-style polynomial, ~1 ulp on
 * [-87, 88]; arguments below -87.3 give ~1e-38 instead of 0; NaN gives
 * NaN); returns the sum of the outputs, accumulated in a fixed order
 * (float blocks of 64 added into a double).  out may alias x. */
extern double nn_vexp_sum(int n, const float *x, float shift, float *out);

/* Maximum of x[0..n-1] (n >= 1); NaN if any x is NaN. */
extern float nn_vmax(int n, const float *x);

/* z = x * y elementwise over n floats. */
extern void nn_vmul(size_t n, const float *x, const float *y, float *z);

/* 1 if the loops use the AVX2 + FMA kernels for A * B^T and SGEMV (x86-64
 * CPUs that have them, decided once at run time), else 0. */
extern int	nn_blas_simd(void);

/* Tests: 0 forces the portable kernels, 1 restores the CPU's best. */
extern void nn_blas_set_simd(int on);

/* 1 if nn_sgemm calls a real BLAS (CNNREC_OPENBLAS), else 0. */
extern int	nn_blas_available(void);

/* Name of the BLAS kernel set in use ("Prescott", "SkylakeX", ...; "loops"
 * without BLAS), for logs: Debian's OpenBLAS 0.3.21 falls back to the slow
 * SSE3 "Prescott" kernels on CPUs it does not know (e.g. family 6 model
 * 207); OPENBLAS_CORETYPE=SkylakeX (or Haswell) in the environment of the
 * process fixes that, 4x faster GEMMs. */
extern const char *nn_blas_core_name(void);

/* Set / get the BLAS library's own thread count (no-op / 1 without BLAS). */
extern void nn_blas_set_threads(int n);
extern int	nn_blas_get_threads(void);

#endif							/* CNNREC_NN_BLAS_H */
