/*
 * blas.c
 *		Row-major SGEMM / SGEMV through cblas (CNNREC_OPENBLAS) or plain loops.
 *
 * See blas.h.  The loops use 8 independent partial sums with a fixed
 * reduction order (deterministic), written with 4-float vector types so
 * that gcc -O2 keeps them in SIMD registers without -O3 or intrinsics.
 */
#include <stdlib.h>
#include <string.h>

#include "blas.h"

#ifdef CNNREC_OPENBLAS
#include <cblas.h>
#endif

#define LANES 8

/*
 * 4-float vectors (GCC/clang vector extensions: SSE on x86-64, NEON on
 * arm64, scalar code elsewhere).  Every kernel keeps the "8 lanes" order of
 * the plain definitions: lanes 0-3 in one accumulator, 4-7 in another,
 * reduced as ((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7)), then the scalar
 * tail.  Written this way because gcc -O2 vectorised the plain 8-lane
 * loops but kept the accumulators in memory.
 */
typedef float v4sf __attribute__((vector_size(16)));
typedef float v4sf_u __attribute__((vector_size(16), aligned(4), may_alias));

static inline v4sf
ld4(const float *p)
{
	return *(const v4sf_u *) p;
}

static inline void
st4(float *p, v4sf v)
{
	*(v4sf_u *) p = v;
}

static inline v4sf
splat4(float a)
{
	v4sf		v = {a, a, a, a};

	return v;
}

/* Sum of the 8 lanes held in two accumulators, fixed order. */
static inline float
lane_sum2(v4sf lo, v4sf hi)
{
	v4sf		t = lo + hi;

	return (t[0] + t[1]) + (t[2] + t[3]);
}

/* x . y with 8 partial sums. */
float
nn_sdot(int n, const float *restrict x, const float *restrict y)
{
	v4sf		a0 = splat4(0.0f);
	v4sf		a1 = splat4(0.0f);
	float		s;
	int			i = 0;

	for (; i + LANES <= n; i += LANES)
	{
		a0 += ld4(x + i) * ld4(y + i);
		a1 += ld4(x + i + 4) * ld4(y + i + 4);
	}
	s = lane_sum2(a0, a1);
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

/* y += a * x. */
void
nn_saxpy(int n, float a, const float *restrict x, float *restrict y)
{
	v4sf		va = splat4(a);
	int			i = 0;

	for (; i + LANES <= n; i += LANES)
	{
		st4(y + i, ld4(y + i) + va * ld4(x + i));
		st4(y + i + 4, ld4(y + i + 4) + va * ld4(x + i + 4));
	}
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* z += a * x + b * y. */
void
nn_saxpy2(int n, float a, const float *restrict x, float b, const float *restrict y,
		  float *restrict z)
{
	v4sf		va = splat4(a);
	v4sf		vb = splat4(b);
	int			i = 0;

	for (; i + 4 <= n; i += 4)
		st4(z + i, ld4(z + i) + (va * ld4(x + i) + vb * ld4(y + i)));
	for (; i < n; i++)
		z[i] += a * x[i] + b * y[i];
}

/* out = x + y (+ z). */
void
nn_vadd3(int n, const float *restrict x, const float *restrict y,
		 const float *restrict z, float *restrict out)
{
	int			i = 0;

	if (z == NULL)
	{
		for (; i + 4 <= n; i += 4)
			st4(out + i, ld4(x + i) + ld4(y + i));
		for (; i < n; i++)
			out[i] = x[i] + y[i];
		return;
	}
	for (; i + 4 <= n; i += 4)
		st4(out + i, (ld4(x + i) + ld4(y + i)) + ld4(z + i));
	for (; i < n; i++)
		out[i] = (x[i] + y[i]) + z[i];
}

/* y1 += x; y2 += x. */
void
nn_vacc2(int n, const float *restrict x, float *restrict y1, float *restrict y2)
{
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		v4sf		v = ld4(x + i);

		st4(y1 + i, ld4(y1 + i) + v);
		st4(y2 + i, ld4(y2 + i) + v);
	}
	for (; i < n; i++)
	{
		y1[i] += x[i];
		y2[i] += x[i];
	}
}

/* z = x * y elementwise. */
void
nn_vmul(size_t n, const float *restrict x, const float *restrict y, float *restrict z)
{
	size_t		i = 0;

	for (; i + 4 <= n; i += 4)
		st4(z + i, ld4(x + i) * ld4(y + i));
	for (; i < n; i++)
		z[i] = x[i] * y[i];
}

typedef int v4si __attribute__((vector_size(16)));

/* exp of 4 floats: x = n ln2 + r, exp(r) by a degree-7 Cephes
 * polynomial, times 2^n built in the exponent bits. */
static inline v4sf
vexp4(v4sf x)
{
	const v4sf	hi = splat4(88.3762626647949f);
	const v4sf	lo = splat4(-87.3365447504f);
	v4sf		fx;
	v4sf		nf;
	v4sf		r;
	v4sf		p;
	v4si		ni;
	union
	{
		v4si		i;
		v4sf		f;
	}			pow2n;
	v4si		isnan_mask = (v4si) (x != x);

	x = (v4sf) (((v4si) (x > hi) & (v4si) hi) | (~(v4si) (x > hi) & (v4si) x));
	x = (v4sf) (((v4si) (x < lo) & (v4si) lo) | (~(v4si) (x < lo) & (v4si) x));
	fx = x * splat4(1.44269504088896341f) + splat4(0.5f);
	ni = __builtin_convertvector(fx, v4si);
	nf = __builtin_convertvector(ni, v4sf);
	nf += __builtin_convertvector((v4si) (nf > fx), v4sf);	/* floor */
	ni = __builtin_convertvector(nf, v4si);
	r = x - nf * splat4(0.693359375f);
	r = r - nf * splat4(-2.12194440e-4f);
	p = splat4(1.9875691500e-4f);
	p = p * r + splat4(1.3981999507e-3f);
	p = p * r + splat4(8.3334519073e-3f);
	p = p * r + splat4(4.1665795894e-2f);
	p = p * r + splat4(1.6666665459e-1f);
	p = p * r + splat4(5.0000001201e-1f);
	p = p * (r * r) + r + splat4(1.0f);
	pow2n.i = (ni + 127) << 23;
	p = p * pow2n.f;
	/* NaN in, NaN out (the clamps above lost it) */
	return (v4sf) ((isnan_mask & (v4si) splat4(__builtin_nanf(""))) | (~isnan_mask & (v4si) p));
}

/* out = exp(x - shift), sum in a fixed order; see blas.h. */
double
nn_vexp_sum(int n, const float *x, float shift, float *out)
{
	v4sf		vs = splat4(shift);
	double		total = 0.0;
	int			i = 0;

	while (i + 4 <= n)
	{
		v4sf		acc = splat4(0.0f);
		int			end = (n - i) / 4 > 16 ? i + 64 : i + ((n - i) / 4) * 4;

		for (; i < end; i += 4)
		{
			v4sf		e = vexp4(ld4(x + i) - vs);

			st4(out + i, e);
			acc += e;
		}
		total += (double) ((acc[0] + acc[1]) + (acc[2] + acc[3]));
	}
	if (i < n)
	{
		float		tail[4] = {0.0f, 0.0f, 0.0f, 0.0f};
		v4sf		e;
		int			k;

		for (k = 0; i + k < n; k++)
			tail[k] = x[i + k];
		e = vexp4(ld4(tail) - vs);
		for (k = 0; i + k < n; k++)
		{
			out[i + k] = e[k];
			total += e[k];
		}
	}
	return total;
}

/* Maximum, NaN-propagating. */
float
nn_vmax(int n, const float *x)
{
	float		m = x[0];
	int			nan = 0;
	int			i;

	for (i = 1; i < n; i++)
	{
		nan |= x[i] != x[i];
		m = x[i] > m ? x[i] : m;
	}
	return (nan || m != m) ? __builtin_nanf("") : m;
}

/* Four dot products sharing the vector b: out[r] = a_r . b (each with the
 * same lanes and order as nn_sdot). */
static void
dot4(int n, const float *restrict a0, const float *restrict a1,
	 const float *restrict a2, const float *restrict a3,
	 const float *restrict b, float *out)
{
	v4sf		c0l = splat4(0.0f),
				c0h = splat4(0.0f),
				c1l = splat4(0.0f),
				c1h = splat4(0.0f),
				c2l = splat4(0.0f),
				c2h = splat4(0.0f),
				c3l = splat4(0.0f),
				c3h = splat4(0.0f);
	int			i = 0;

	for (; i + LANES <= n; i += LANES)
	{
		v4sf		bl = ld4(b + i);
		v4sf		bh = ld4(b + i + 4);

		c0l += ld4(a0 + i) * bl;
		c0h += ld4(a0 + i + 4) * bh;
		c1l += ld4(a1 + i) * bl;
		c1h += ld4(a1 + i + 4) * bh;
		c2l += ld4(a2 + i) * bl;
		c2h += ld4(a2 + i + 4) * bh;
		c3l += ld4(a3 + i) * bl;
		c3h += ld4(a3 + i + 4) * bh;
	}
	out[0] = lane_sum2(c0l, c0h);
	out[1] = lane_sum2(c1l, c1h);
	out[2] = lane_sum2(c2l, c2h);
	out[3] = lane_sum2(c3l, c3h);
	for (; i < n; i++)
	{
		out[0] += a0[i] * b[i];
		out[1] += a1[i] * b[i];
		out[2] += a2[i] * b[i];
		out[3] += a3[i] * b[i];
	}
}

/* C = beta * C over an M x N block (beta = 0 clears, as BLAS does). */
static void
scale_block(int M, int N, float beta, float *C, int ldc)
{
	int			i;
	int			j;

	if (beta == 1.0f)
		return;
	for (i = 0; i < M; i++)
	{
		float	   *c = C + (size_t) i * ldc;

		if (beta == 0.0f)
			memset(c, 0, sizeof(float) * (size_t) N);
		else
			for (j = 0; j < N; j++)
				c[j] *= beta;
	}
}

/* C += alpha * A * B^T: dot products of rows, four rows of A at a time. */
static void
gemm_nt(int M, int N, int K, float alpha, const float *A, int lda,
		const float *B, int ldb, float *C, int ldc)
{
	int			i = 0;
	int			j;
	float		d[4];

	for (; i + 4 <= M; i += 4)
	{
		const float *a0 = A + (size_t) i * lda;

		for (j = 0; j < N; j++)
		{
			dot4(K, a0, a0 + lda, a0 + 2 * (size_t) lda, a0 + 3 * (size_t) lda,
				 B + (size_t) j * ldb, d);
			C[(size_t) i * ldc + j] += alpha * d[0];
			C[(size_t) (i + 1) * ldc + j] += alpha * d[1];
			C[(size_t) (i + 2) * ldc + j] += alpha * d[2];
			C[(size_t) (i + 3) * ldc + j] += alpha * d[3];
		}
	}
	for (; i < M; i++)
		for (j = 0; j < N; j++)
			C[(size_t) i * ldc + j] += alpha * nn_sdot(K, A + (size_t) i * lda,
													   B + (size_t) j * ldb);
}

/*
 * AVX2 + FMA kernels of the A * B^T products (scoring every item, the
 * convolution and FC GEMMs of the forward pass), chosen at run time when the
 * CPU has them; the library itself is built for baseline x86-64.
 *
 * Few rows of A (one user: SGEMV in recommend()): dot-product tiles, each
 * output 8 lanes of fused multiply-adds in k order, the lanes reduced as
 * ((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7)), then the tail.  Many rows (a
 * block of users in recommend_all(), the batched forward pass): B is packed
 * into panels of 8 rows per L2-sized block and each output is one chain of
 * fused multiply-adds in k order, 4 x 16 outputs in registers: 2-2.6x the
 * portable loops' throughput (test/bench/gemm_kernels.c).  The two orders
 * round differently: a user's scores in a block equal its scores alone to
 * about 1e-6 relative, not bit for bit.  Every kernel is deterministic.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define NN_AVX2 __attribute__((target("avx2,fma")))
#define NN_HAVE_AVX2_KERNELS 1

/* Sum of the 8 lanes, in the order of lane_sum2. */
NN_AVX2 static inline float
hsum8(__m256 v)
{
	__m128		t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	float		f[4];

	_mm_storeu_ps(f, t);
	return (f[0] + f[1]) + (f[2] + f[3]);
}

/* out[c] = a . B_c for CN <= 4 rows of B (CN constant once inlined). */
NN_AVX2 static inline __attribute__((always_inline)) void
tile_avx2(const int CN, int K, const float *a, const float *B, int ldb, float out[4])
{
	__m256		acc[4];
	int			c,
				k;

#pragma GCC unroll 4
	for (c = 0; c < CN; c++)
		acc[c] = _mm256_setzero_ps();
	for (k = 0; k + 8 <= K; k += 8)
	{
		__m256		x = _mm256_loadu_ps(a + k);

#pragma GCC unroll 4
		for (c = 0; c < CN; c++)
			acc[c] = _mm256_fmadd_ps(x, _mm256_loadu_ps(B + (size_t) c * ldb + k), acc[c]);
	}
#pragma GCC unroll 4
	for (c = 0; c < CN; c++)
	{
		float		t = hsum8(acc[c]);
		int			kk;

		for (kk = k; kk < K; kk++)
			t = __builtin_fmaf(a[kk], B[(size_t) c * ldb + kk], t);
		out[c] = t;
	}
}

/* c[0..CN) += alpha * a . B_c, CN = 1..4 rows of B sharing the loads of a. */
NN_AVX2 static void
tile_nt_avx2(int CN, int K, float alpha, const float *a, const float *B, int ldb, float *c)
{
	float		o[4];
	int			j;

	switch (CN)
	{
		case 4:
			tile_avx2(4, K, a, B, ldb, o);
			break;
		case 3:
			tile_avx2(3, K, a, B, ldb, o);
			break;
		case 2:
			tile_avx2(2, K, a, B, ldb, o);
			break;
		default:
			tile_avx2(1, K, a, B, ldb, o);
			break;
	}
	for (j = 0; j < CN; j++)
		c[j] += alpha * o[j];
}

/* Rows of B packed per cache block (256 x K floats stay in L2). */
#define NN_NT_JBLOCK 256

/* Rows of A from which packing B pays off. */
#define NN_NT_PACK_MIN 8

/* Copy rows j0..j0+n of B into panels of 8: P[p][k][l] = B[j0 + 8p + l][k], zero padded. */
static void
pack_panels(int n, int K, const float *B, int ldb, float *P)
{
	int			p,
				k,
				l;

	for (p = 0; p < (n + 7) / 8; p++)
		for (l = 0; l < 8; l++)
		{
			const float *b = B + (size_t) (8 * p + l) * ldb;
			float	   *dst = P + (size_t) p * K * 8 + l;

			if (8 * p + l < n)
				for (k = 0; k < K; k++)
					dst[(size_t) k * 8] = b[k];
			else
				for (k = 0; k < K; k++)
					dst[(size_t) k * 8] = 0.0f;
		}
}

/* C[R x w] += alpha * A[R rows] . panels P0, P1 (w <= 16 columns, R <= 4). */
NN_AVX2 static inline __attribute__((always_inline)) void
panel_avx2(const int R, int K, float alpha, const float *A, int lda,
		   const float *P0, const float *P1, int w, float *C, int ldc)
{
	__m256		acc[4][2];
	int			r,
				k;

#pragma GCC unroll 4
	for (r = 0; r < R; r++)
		acc[r][0] = acc[r][1] = _mm256_setzero_ps();
	for (k = 0; k < K; k++)
	{
		__m256		b0 = _mm256_loadu_ps(P0 + (size_t) k * 8);
		__m256		b1 = _mm256_loadu_ps(P1 + (size_t) k * 8);

#pragma GCC unroll 4
		for (r = 0; r < R; r++)
		{
			__m256		a = _mm256_broadcast_ss(A + (size_t) r * lda + k);

			acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
			acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
		}
	}
	for (r = 0; r < R; r++)
	{
		float		o[16];
		int			c;

		_mm256_storeu_ps(o, acc[r][0]);
		_mm256_storeu_ps(o + 8, acc[r][1]);
		for (c = 0; c < w; c++)
			C[(size_t) r * ldc + c] += alpha * o[c];
	}
}

/* C += alpha * A * B^T for many rows of A: B packed per block, 4 x 16 register tiles. */
NN_AVX2 static void
gemm_nt_packed_avx2(int M, int N, int K, float alpha, const float *A, int lda,
					const float *B, int ldb, float *C, int ldc, float *P)
{
	int			j0,
				i,
				j;

	for (j0 = 0; j0 < N; j0 += NN_NT_JBLOCK)
	{
		int			n = N - j0 < NN_NT_JBLOCK ? N - j0 : NN_NT_JBLOCK;
		int			np = (n + 7) / 8;

		pack_panels(n, K, B + (size_t) j0 * ldb, ldb, P);
		for (i = 0; i < M; i += 4)
		{
			int			R = M - i < 4 ? M - i : 4;
			const float *a = A + (size_t) i * lda;

			for (j = 0; j < np; j += 2)
			{
				const float *p0 = P + (size_t) j * K * 8;
				const float *p1 = j + 1 < np ? p0 + (size_t) K * 8 : p0;
				int			w = n - 8 * j < 16 ? n - 8 * j : 16;
				float	   *c = C + (size_t) i * ldc + j0 + 8 * j;

				switch (R)
				{
					case 4:
						panel_avx2(4, K, alpha, a, lda, p0, p1, w, c, ldc);
						break;
					case 3:
						panel_avx2(3, K, alpha, a, lda, p0, p1, w, c, ldc);
						break;
					case 2:
						panel_avx2(2, K, alpha, a, lda, p0, p1, w, c, ldc);
						break;
					default:
						panel_avx2(1, K, alpha, a, lda, p0, p1, w, c, ldc);
						break;
				}
			}
		}
	}
}

/* C += alpha * A * B^T: packed panels for blocks of rows, else each row against 4 rows of B at a time. */
NN_AVX2 static void
gemm_nt_avx2(int M, int N, int K, float alpha, const float *A, int lda,
			 const float *B, int ldb, float *C, int ldc)
{
	int			i,
				j;

	if (M >= NN_NT_PACK_MIN && K > 0)
	{
		/* panels for one block of B: at most NN_NT_JBLOCK rows, rounded up to 8 */
		int			rows = N < NN_NT_JBLOCK ? (N + 7) / 8 * 8 : NN_NT_JBLOCK;
		float	   *P = malloc(sizeof(float) * (size_t) rows * K);

		if (P != NULL)
		{
			gemm_nt_packed_avx2(M, N, K, alpha, A, lda, B, ldb, C, ldc, P);
			free(P);
			return;
		}
	}
	for (i = 0; i < M; i++)
		for (j = 0; j < N; j += 4)
			tile_nt_avx2(N - j < 4 ? N - j : 4, K, alpha, A + (size_t) i * lda,
						 B + (size_t) j * ldb, ldb, C + (size_t) i * ldc + j);
}
#endif							/* __x86_64__ && __GNUC__ */

/* -1 = not decided yet, 0 = portable kernels, 1 = AVX2 + FMA kernels. */
static int	simd_level = -1;

/* 1 when the AVX2 + FMA kernels are used (decided once from CPUID). */
int
nn_blas_simd(void)
{
	if (simd_level < 0)
	{
#ifdef NN_HAVE_AVX2_KERNELS
		__builtin_cpu_init();
		simd_level = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
		simd_level = 0;
#endif
	}
	return simd_level;
}

/* Force the portable kernels (on = 0) or the CPU's best (on = 1); for tests. */
void
nn_blas_set_simd(int on)
{
	simd_level = -1;
	if (on && nn_blas_simd())
		return;
	simd_level = 0;
}

/* C += alpha * A * B^T with the best kernel the CPU has. */
static void
gemm_nt_best(int M, int N, int K, float alpha, const float *A, int lda,
			 const float *B, int ldb, float *C, int ldc)
{
#ifdef NN_HAVE_AVX2_KERNELS
	if (nn_blas_simd())
	{
		gemm_nt_avx2(M, N, K, alpha, A, lda, B, ldb, C, ldc);
		return;
	}
#endif
	gemm_nt(M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

/* Plain-loop SGEMM, row-major. */
void
nn_sgemm_loops(int transA, int transB, int M, int N, int K,
			   float alpha, const float *A, int lda,
			   const float *B, int ldb,
			   float beta, float *C, int ldc)
{
	int			i;
	int			j;
	int			k;

	if (M <= 0 || N <= 0)
		return;
	scale_block(M, N, beta, C, ldc);
	if (K <= 0 || alpha == 0.0f)
		return;
	if (!transA && transB)
		gemm_nt_best(M, N, K, alpha, A, lda, B, ldb, C, ldc);
	else if (!transA && !transB)
	{
		/* row i of C += sum_k A[i][k] * row k of B */
		for (i = 0; i < M; i++)
			for (k = 0; k < K; k++)
				nn_saxpy(N, alpha * A[(size_t) i * lda + k], B + (size_t) k * ldb,
						 C + (size_t) i * ldc);
	}
	else if (transA && !transB)
	{
		/* row i of C += sum_k A[k][i] * row k of B */
		for (i = 0; i < M; i++)
			for (k = 0; k < K; k++)
				nn_saxpy(N, alpha * A[(size_t) k * lda + i], B + (size_t) k * ldb,
						 C + (size_t) i * ldc);
	}
	else
	{
		/* both transposed: rare, strided */
		for (i = 0; i < M; i++)
			for (j = 0; j < N; j++)
			{
				float		s = 0.0f;

				for (k = 0; k < K; k++)
					s += A[(size_t) k * lda + i] * B[(size_t) j * ldb + k];
				C[(size_t) i * ldc + j] += alpha * s;
			}
	}
}

/* Plain-loop SGEMV, row-major A (M x N). */
void
nn_sgemv_loops(int transA, int M, int N, float alpha,
			   const float *A, int lda, const float *x,
			   float beta, float *y)
{
	int			i;

	if (M <= 0 || N <= 0)
		return;
	if (!transA && nn_blas_simd())
	{
		/* y is a 1 x M product x A^T: the same dot products as a GEMM row */
		scale_block(1, M, beta, y, M);
		gemm_nt_best(1, M, N, alpha, x, N, A, lda, y, M);
		return;
	}
	if (!transA)
	{
		/* four rows at a time share the loads of x (same sums as nn_sdot) */
		float		d[4];
		int			r;

		for (i = 0; i + 4 <= M; i += 4)
		{
			const float *a0 = A + (size_t) i * lda;

			dot4(N, a0, a0 + lda, a0 + 2 * (size_t) lda, a0 + 3 * (size_t) lda, x, d);
			for (r = 0; r < 4; r++)
				y[i + r] = (beta == 0.0f) ? alpha * d[r] : alpha * d[r] + beta * y[i + r];
		}
		for (; i < M; i++)
		{
			float		s = alpha * nn_sdot(N, A + (size_t) i * lda, x);

			y[i] = (beta == 0.0f) ? s : s + beta * y[i];
		}
		return;
	}
	scale_block(1, N, beta, y, N);
	for (i = 0; i < M; i++)
		nn_saxpy(N, alpha * x[i], A + (size_t) i * lda, y);
}

#ifdef CNNREC_OPENBLAS

/* SGEMM through cblas; degenerate shapes never reach the library. */
void
nn_sgemm(int transA, int transB, int M, int N, int K,
		 float alpha, const float *A, int lda,
		 const float *B, int ldb,
		 float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0)
	{
		scale_block(M, N, beta, C, ldc);
		return;
	}
	cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
				transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
				A, lda, B, ldb, beta, C, ldc);
}

/* SGEMV through cblas. */
void
nn_sgemv(int transA, int M, int N, float alpha,
		 const float *A, int lda, const float *x,
		 float beta, float *y)
{
	if (M <= 0 || N <= 0)
		return;
	cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, M, N,
				alpha, A, lda, x, 1, beta, y, 1);
}

int
nn_blas_available(void)
{
	return 1;
}

const char *
nn_blas_core_name(void)
{
	const char *name = openblas_get_corename();

	return name != NULL ? name : "unknown";
}

void
nn_blas_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}

int
nn_blas_get_threads(void)
{
	return openblas_get_num_threads();
}

#else							/* !CNNREC_OPENBLAS */

void
nn_sgemm(int transA, int transB, int M, int N, int K,
		 float alpha, const float *A, int lda,
		 const float *B, int ldb,
		 float beta, float *C, int ldc)
{
	nn_sgemm_loops(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
nn_sgemv(int transA, int M, int N, float alpha,
		 const float *A, int lda, const float *x,
		 float beta, float *y)
{
	nn_sgemv_loops(transA, M, N, alpha, A, lda, x, beta, y);
}

int
nn_blas_available(void)
{
	return 0;
}

const char *
nn_blas_core_name(void)
{
	return "loops";
}

void
nn_blas_set_threads(int n)
{
	(void) n;
}

int
nn_blas_get_threads(void)
{
	return 1;
}

#endif							/* CNNREC_OPENBLAS */
