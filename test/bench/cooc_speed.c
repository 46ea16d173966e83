/*
 * cooc_speed.c
 *		What the co-occurrence mixture (src/nn/cooc.c) adds to one
 *		recommendation: time of nn_cooc_mix (a log-sum-exp pass over every
 *		item's score plus the history's neighbours) against nn_score_all
 *		(the model's scores of every item, the work serving does anyway),
 *		for catalogs of 1,349 (ml-100k), 100,000 and 1,000,000 items.
 *
 * Build and run (from the repository root):
 *
 *   gcc -O2 -g -std=gnu99 -Isrc -o test/bench/cooc_speed \
 *       test/bench/cooc_speed.c src/nn/[a-z]*.c -lm -lpthread
 *   test/bench/cooc_speed
 *
 * Built without CNNREC_OPENBLAS, like the serving library.  The model is
 * the tacaser shape (d 50, scores from the 2d = 100 output vectors); the
 * user's history has 50 items with 100 neighbours each, the table's
 * default size.  Each figure is the median of 15 timed calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/model.h"
#include "nn/rng.h"

#define REPS 15

/* Monotonic seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* qsort comparators. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/* A table with 100 neighbours for each history item, none for the rest. */
static void
make_table(NnCooc *c, int32_t N, const int32_t *hist, int M, NnRng *r)
{
	int32_t    *deg = calloc((size_t) N, sizeof(int32_t));
	int64_t		a = 0;
	int32_t		i;
	int			l,
				j;

	for (l = 0; l < M; l++)
		deg[hist[l]] = 100;
	memset(c, 0, sizeof(*c));
	c->n_rows = N;
	c->off = calloc((size_t) N + 1, sizeof(int64_t));
	for (i = 0; i < N; i++)
		c->off[i + 1] = c->off[i] + deg[i];
	c->nnz = c->off[N];
	c->col = malloc(sizeof(int32_t) * (size_t) c->nnz);
	c->w = malloc(sizeof(float) * (size_t) c->nnz);
	for (i = 0; i < N; i++)
	{
		for (j = 0; j < deg[i]; j++)
		{
			c->col[a + j] = 1 + (int32_t) nn_rng_below(r, (uint32_t) (N - 1));
			c->w[a + j] = 0.01f;
		}
		qsort(c->col + a, (size_t) deg[i], sizeof(int32_t), cmp_i32);
		a += deg[i];
	}
	free(deg);
}

/* Median seconds of nn_score_all and of nn_cooc_mix for N items. */
static void
measure(int32_t N)
{
	NnConfig	cfg;
	NnModel		m;
	NnInfer    *w;
	NnRng		r;
	float	   *x,
			   *scores;
	int32_t		hist[50];
	double		t_score[REPS],
				t_mix[REPS];
	char		msg[256];
	int			rep,
				i;

	nn_config_preset(&cfg, "tacaser");
	cfg.cooc_lambda = 0.3f;
	nn_config_set_data(&cfg, N, 2, 2);
	memset(&m, 0, sizeof(m));
	if (nn_model_init(&m, &cfg, NULL, msg, sizeof(msg)) != NN_OK)
	{
		fprintf(stderr, "model: %s\n", msg);
		exit(1);
	}
	nn_model_init_weights(&m);
	nn_rng_seed(&r, 1, 1);
	for (i = 0; i < 50; i++)
		hist[i] = 1 + (int32_t) nn_rng_below(&r, (uint32_t) (N - 1));
	make_table(&m.cooc, N, hist, 50, &r);
	w = nn_infer_create(&m, 1);
	x = malloc(sizeof(float) * 2 * cfg.d);
	scores = malloc(sizeof(float) * (size_t) N);
	for (i = 0; i < 2 * cfg.d; i++)
		x[i] = (float) nn_rng_normal(&r);
	for (rep = 0; rep < REPS; rep++)
	{
		double		t0 = now();

		nn_score_all(&m, x, scores);
		t_score[rep] = now() - t0;
		t0 = now();
		nn_cooc_mix(&m, w, hist, 50, scores);
		t_mix[rep] = now() - t0;
	}
	qsort(t_score, REPS, sizeof(double), cmp_double);
	qsort(t_mix, REPS, sizeof(double), cmp_double);
	printf("%9d items: nn_score_all %9.3f ms, nn_cooc_mix %8.3f ms (+%.0f %%)\n", (int) N,
		   t_score[REPS / 2] * 1e3, t_mix[REPS / 2] * 1e3, 100.0 * t_mix[REPS / 2] / t_score[REPS / 2]);
	free(m.cooc.off);
	free(m.cooc.col);
	free(m.cooc.w);
	memset(&m.cooc, 0, sizeof(m.cooc));
	nn_infer_free(w);
	nn_model_free(&m);
	free(x);
	free(scores);
}

int
main(void)
{
	measure(1350);
	measure(100000);
	measure(1000000);
	return 0;
}
