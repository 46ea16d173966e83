/*
 * bandwidth.c: the memory-bandwidth floor of serving.  One pass over an
 * N x D float matrix (the output vectors W2) and N biases computing
 * b[i] + W2[i].x, as plain C, the least work recommend() must do per call.
 * Prints the median milliseconds of 21 passes.
 *
 *     gcc -O3 -march=native -ffast-math -o bandwidth test/bench/bandwidth.c && ./bandwidth 1000000 100
 * (-ffast-math lets the compiler vectorise the sum: the floor must be the
 * best a plain loop can do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic milliseconds. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* qsort comparator for doubles. */
static int
cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	long		n = argc > 1 ? atol(argv[1]) : 1000000;
	int			d = argc > 2 ? atoi(argv[2]) : 100;
	float	   *w = malloc(sizeof(float) * n * d),
			   *b = malloc(sizeof(float) * n),
			   *x = malloc(sizeof(float) * d),
			   *s = malloc(sizeof(float) * n);
	double		t[21],
				sink = 0;
	long		i;
	int			r,
				j;

	if (!w || !b || !x || !s)
		return 1;
	for (i = 0; i < n * d; i++)
		w[i] = (float) (i % 7) * 0.01f;
	for (i = 0; i < n; i++)
		b[i] = 0.1f;
	for (j = 0; j < d; j++)
		x[j] = 0.5f;
	for (r = 0; r < 21; r++)
	{
		double		t0 = now_ms();

		for (i = 0; i < n; i++)
		{
			const float *row = w + i * d;
			float		acc = b[i];

			for (j = 0; j < d; j++)
				acc += row[j] * x[j];
			s[i] = acc;
		}
		t[r] = now_ms() - t0;
		sink += s[r % n];
	}
	qsort(t, 21, sizeof(double), cmp);
	printf("%.3f\n", t[10] + sink * 0);
	return 0;
}
