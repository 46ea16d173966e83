/*
 * nn_speed.c
 *		Training-step throughput of the math core (issue item 8): instances
 *		per second for the caser and tacaser shapes with 1 and 2 threads,
 *		comparing OpenBLAS's own threading with our pthreads (batch split
 *		into shards with per-shard gradients and a reduction).
 *
 * Build and run (from the repository root):
 *
 *   gcc -O2 -g -std=gnu99 -DCNNREC_OPENBLAS -Isrc -o test/bench/nn_speed \
 *       test/bench/nn_speed.c src/nn/[a-z]*.c -lopenblas -lm -lpthread
 *   test/bench/nn_speed            # all shapes, ~2 s per measurement
 *   test/bench/nn_speed 0.5 caser  # 0.5 s per measurement, one shape
 *
 * Every measurement runs in a fresh child process (the program runs itself
 * as "nn_speed SECONDS SHAPE MODE").  "per CPU-s" is instances per CPU
 * second of the whole process (all threads): with 2 own threads it stays
 * close to the 1-thread figure when the threads add no overhead, so it
 * shows the parallel efficiency even on a busy machine.
 *
 * Shapes: caser = d 50, L 5, M 5, T 3, nh 16, nv 4, B 512, N 1700,
 * bce with 3 negatives per instance; tacaser = same with M 50, attention,
 * event and time embeddings, full softmax over N = 1700 items (the preset's
 * choice for N <= 20k), and tacaser-sampled = sampled softmax with K = 256.
 * Batches are pre-generated (random ids), so only the training step
 * (forward, backward, reduction, Adam) is timed.  Each figure is the best
 * 0.2 s window of the measurement, which filters out other load on the
 * machine.
 *
 * Note: Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (family 6
 * model 207) and falls back to its SSE3 "Prescott" kernels (about 20
 * GFLOP/s instead of 80-130); run with OPENBLAS_CORETYPE=SkylakeX (and
 * OPENBLAS_VERBOSE=2 to see the choice) on such machines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blas.h"
#include "nn/model.h"
#include "nn/rng.h"

#define NBATCH 16

typedef struct Bench
{
	NnConfig	cfg;
	NnBatch		b[NBATCH];
	int32_t    *mem_i;
	float	   *mem_f;
} Bench;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds used by the whole process (all threads). */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Random batches of B rows with full-ish histories. */
static void
make_batches(Bench *bn)
{
	const NnConfig *c = &bn->cfg;
	int			B = c->batch;
	int			M = c->M;
	int			T = c->T;
	int			nr = nn_config_neg_per_row(c);
	int			K = nn_config_neg_shared(c);
	size_t		per_i = (size_t) B * (1 + 3 * M + T + nr) + K;
	size_t		per_f = (size_t) B * M;
	NnRng		r;
	int			k;

	bn->mem_i = malloc(sizeof(int32_t) * per_i * NBATCH);
	bn->mem_f = malloc(sizeof(float) * per_f * NBATCH);
	nn_rng_seed(&r, 99, 1);
	for (k = 0; k < NBATCH; k++)
	{
		int32_t    *p = bn->mem_i + per_i * k;
		float	   *f = bn->mem_f + per_f * k;
		NnBatch    *b = &bn->b[k];
		int			i;
		int			l;

		memset(b, 0, sizeof(*b));
		b->B = B;
		b->user = p;
		b->items = p + B;
		b->events = p + B + (size_t) B * M;
		b->tbucket = p + B + 2 * (size_t) B * M;
		b->targets = p + B + 3 * (size_t) B * M;
		b->neg = p + B + 3 * (size_t) B * M + (size_t) B * T;
		b->shared_neg = p + B + 3 * (size_t) B * M + (size_t) B * (T + nr);
		b->tdelta = f;
		for (i = 0; i < B; i++)
		{
			int			n = 1 + (int) nn_rng_below(&r, M);	/* history length */

			p[i] = 1 + (int32_t) nn_rng_below(&r, c->U - 1);
			for (l = 0; l < M; l++)
			{
				size_t		o = (size_t) i * M + l;
				int			valid = l >= M - n;

				((int32_t *) b->items)[o] = valid ? 1 + (int32_t) nn_rng_below(&r, c->N - 1) : 0;
				((int32_t *) b->events)[o] = valid ? 1 + (int32_t) nn_rng_below(&r, c->n_E - 1) : 0;
				((int32_t *) b->tbucket)[o] = valid ? 1 + (int32_t) nn_rng_below(&r, c->n_G - 1) : 0;
				f[o] = valid ? (float) nn_rng_below(&r, 1000000) : 0.0f;
			}
			for (l = 0; l < T; l++)
				((int32_t *) b->targets)[(size_t) i * T + l] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
			for (l = 0; l < nr; l++)
				((int32_t *) b->neg)[(size_t) i * nr + l] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
		}
		for (i = 0; i < K; i++)
			((int32_t *) b->shared_neg)[i] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
	}
}

/* Steps per second for one thread setup; returns instances/s. */
static double
measure(Bench *bn, int threads, int shards, int blas_threads, double seconds,
		double *per_cpu)
{
	NnModel		m;
	NnWork	   *w;
	char		msg[200];
	double		t0;
	double		t;
	double		loss;
	double		best = 0.0;
	double		c0;
	long		steps = 0;
	long		s0;
	int			err;

	if (nn_model_init(&m, &bn->cfg, NULL, msg, sizeof(msg)) != NN_OK)
	{
		fprintf(stderr, "config: %s\n", msg);
		exit(1);
	}
	nn_model_init_weights(&m);
	nn_model_alloc_adam(&m);
	nn_blas_set_threads(blas_threads);
	w = nn_work_create(&m, bn->cfg.batch, threads, shards, &err);
	if (w == NULL)
	{
		fprintf(stderr, "workspace: %s\n", nn_strerror(err));
		exit(1);
	}
	/* warm-up */
	for (steps = 0; steps < 3; steps++)
		nn_train_step(&m, w, &bn->b[steps % NBATCH], &loss);
	/* best of several 0.2 s windows: robust against other load */
	c0 = cpu_now();
	s0 = steps;
	t0 = now();
	do
	{
		double		w0 = now();
		long		ws = 0;

		do
		{
			err = nn_train_step(&m, w, &bn->b[steps++ % NBATCH], &loss);
			if (err != NN_OK)
			{
				fprintf(stderr, "step: %s\n", nn_strerror(err));
				exit(1);
			}
			ws++;
			t = now() - w0;
		} while (t < 0.2);
		if (ws * (double) bn->cfg.batch / t > best)
			best = ws * (double) bn->cfg.batch / t;
	} while (now() - t0 < seconds);
	*per_cpu = (steps - s0) * (double) bn->cfg.batch / (cpu_now() - c0);
	nn_work_free(w);
	nn_model_free(&m);
	return best;
}

/* A pure compute loop, for the machine check. */
static void *
spin(void *arg)
{
	volatile double x = 1.0;
	long		i;

	for (i = 0; i < 40000000L; i++)
		x = x * 1.0000001 + 1e-9;
	return arg;
}

/* Speed-up of two threads over one on a pure compute loop: about 2 on an
 * idle 2-core machine; about 1 when other load leaves only one core. */
static double
cpu_check(void)
{
	pthread_t	th;
	double		t0 = now();
	double		t1;
	double		t2;

	spin(NULL);
	t1 = now() - t0;
	t0 = now();
	pthread_create(&th, NULL, spin, NULL);
	spin(NULL);
	pthread_join(th, NULL);
	t2 = now() - t0;
	return 2.0 * t1 / t2;
}

/* Configuration of a named shape. */
static int
shape_config(Bench *bn, const char *shape)
{
	memset(bn, 0, sizeof(*bn));
	if (strcmp(shape, "caser") == 0)
	{
		nn_config_preset(&bn->cfg, "caser");
		bn->cfg.loss = NN_LOSS_BCE;
	}
	else if (strcmp(shape, "tacaser") == 0)
	{
		nn_config_preset(&bn->cfg, "tacaser");
		bn->cfg.loss = NN_LOSS_SOFTMAX_FULL;
	}
	else if (strcmp(shape, "tacaser-sampled") == 0)
	{
		nn_config_preset(&bn->cfg, "tacaser");
		bn->cfg.loss = NN_LOSS_SOFTMAX_SAMPLED;
	}
	else if (strcmp(shape, "tacaser-bce") == 0)
	{
		nn_config_preset(&bn->cfg, "tacaser");
		bn->cfg.loss = NN_LOSS_BCE;
		bn->cfg.negatives = 3;	/* per instance, as in caser */
	}
	else
		return 0;
	bn->cfg.n_G = 24;
	nn_config_set_data(&bn->cfg, 1700, 6000, 6);
	return 1;
}

/* One measurement in this process: mode 1 = 1 thread, 2 = 2 OpenBLAS
 * threads (one shard), 3 = 2 own threads (two shards). */
static double
run_one(const char *shape, int mode, double seconds, double *per_cpu)
{
	Bench		bn;
	double		r;

	if (!shape_config(&bn, shape))
	{
		fprintf(stderr, "unknown shape %s\n", shape);
		exit(1);
	}
	make_batches(&bn);
	if (mode == 1)
		r = measure(&bn, 1, 1, 1, seconds, per_cpu);
	else if (mode == 2)
		r = measure(&bn, 1, 1, 2, seconds, per_cpu);
	else
		r = measure(&bn, 2, 2, 1, seconds, per_cpu);
	free(bn.mem_i);
	free(bn.mem_f);
	return r;
}

/* Run one measurement in a fresh process (so that OpenBLAS threads left
 * spinning by one setup cannot slow down the next); OPENBLAS_NUM_THREADS
 * is 1 except for the OpenBLAS-threads setup, so no idle pool exists. */
static double
spawn_one(const char *self, const char *shape, int mode, double seconds, double *per_cpu)
{
	char		cmd[1024];
	FILE	   *f;
	double		r = 0.0;

	snprintf(cmd, sizeof(cmd), "OPENBLAS_NUM_THREADS=%d '%s' %g %s %d",
			 mode == 2 ? 2 : 1, self, seconds, shape, mode);
	f = popen(cmd, "r");
	*per_cpu = 0.0;
	if (f == NULL || fscanf(f, "%lf %lf", &r, per_cpu) != 2)
		r = 0.0;
	if (f != NULL)
		pclose(f);
	return r;
}

int
main(int argc, char **argv)
{
	static const char *const shapes[] = {"caser", "tacaser", "tacaser-sampled", "tacaser-bce"};
	double		seconds = argc > 1 ? atof(argv[1]) : 2.0;
	const char *only = argc > 2 ? argv[2] : NULL;
	int			s;

	if (argc > 3)
	{
		/* child: one measurement, print the rate and the rate per CPU second */
		double		per_cpu = 0.0;
		double		r = run_one(argv[2], atoi(argv[3]), seconds, &per_cpu);

		printf("%.0f %.0f\n", r, per_cpu);
		return 0;
	}
	printf("training instances/s, B = 512, N = 1700, d = 50, L = 5, nh = 16, nv = 4; BLAS kernels: %s\n",
		   nn_blas_core_name());
	printf("machine check: 2 threads run a pure compute loop x%.2f faster than 1 (2-thread figures need ~2)\n",
		   cpu_check());
	for (s = 0; s < 4; s++)
	{
		Bench		bn;
		double		one;
		double		ob;
		double		own;
		double		c1;
		double		cb;
		double		co;

		if (only != NULL && strcmp(only, shapes[s]) != 0)
			continue;
		shape_config(&bn, shapes[s]);
		one = spawn_one(argv[0], shapes[s], 1, seconds, &c1);
		ob = spawn_one(argv[0], shapes[s], 2, seconds, &cb);
		own = spawn_one(argv[0], shapes[s], 3, seconds, &co);
		printf("%-16s %-16s 1 thread %7.0f | 2 OpenBLAS thr %7.0f | 2 own thr %7.0f (x%.2f)"
			   " | per CPU-s %6.0f %6.0f %6.0f\n",
			   shapes[s], nn_loss_name(bn.cfg.loss), one, ob, own, own / one, c1, cb, co);
		fflush(stdout);
	}
	return 0;
}
