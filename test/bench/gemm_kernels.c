/*
 * gemm_kernels.c: the serving library's A * B^T kernels (src/nn/blas.c,
 * no BLAS), AVX2 + FMA against the portable loops: a block of 256 users
 * scored against N items of 2d = 100 floats in one product (recommend_all)
 * and the same users one SGEMV each (recommend()).  Prints CPU-time
 * GFLOP/s of each, best of 5 one-second rounds.
 *
 *     gcc -O2 -Isrc -o gemm_kernels test/bench/gemm_kernels.c src/nn/blas.c -lm
 *     ./gemm_kernels 1349 && ./gemm_kernels 20000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/blas.h"

#define USERS 256
#define K 100

/* Process CPU seconds. */
static double
cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Best GFLOP/s of 5 rounds of the block product (gemv = 0) or per-user SGEMVs. */
static double
gflops(int gemv, int N, const float *W, const float *X, float *S)
{
	double		best = 0.0;
	int			round;

	for (round = 0; round < 5; round++)
	{
		double		t0 = cpu_s(),
					t;
		int			reps = 0,
					u;

		do
		{
			if (gemv)
				for (u = 0; u < USERS; u++)
					nn_sgemv_loops(NN_NOTRANS, N, K, 1.0f, W, K, X + (size_t) u * K, 0.0f, S);
			else
				nn_sgemm_loops(NN_NOTRANS, NN_TRANS, USERS, N, K, 1.0f, X, K, W, K, 0.0f, S, N);
			reps++;
		} while ((t = cpu_s() - t0) < 1.0);
		if (2.0 * USERS * N * K * reps / t / 1e9 > best)
			best = 2.0 * USERS * N * K * reps / t / 1e9;
	}
	return best;
}

int
main(int argc, char **argv)
{
	int			N = argc > 1 ? atoi(argv[1]) : 1349;
	float	   *W = malloc(sizeof(float) * (size_t) N * K);
	float	   *X = malloc(sizeof(float) * USERS * K);
	float	   *S = malloc(sizeof(float) * (size_t) USERS * N);
	size_t		i;
	int			simd;

	if (N < 1 || !W || !X || !S)
		return 1;
	for (i = 0; i < (size_t) N * K; i++)
		W[i] = (float) (i % 7) * 0.1f;
	for (i = 0; i < USERS * K; i++)
		X[i] = (float) (i % 5) * 0.1f;
	for (simd = 1; simd >= 0; simd--)
	{
		nn_blas_set_simd(simd);
		printf("N=%d %-9s block of %d users %5.1f GFLOP/s, one SGEMV per user %5.1f GFLOP/s\n",
			   N, simd && nn_blas_simd() ? "AVX2+FMA" : "portable", USERS,
			   gflops(0, N, W, X, S), gflops(1, N, W, X, S));
	}
	return 0;
}
