/*
 * pool.c
 *		Fork-join thread pool (see pool.h).
 *
 * One mutex, a "go" condition carrying a generation counter and a "done"
 * condition with a pending count.  A step of the trainer runs three short
 * phases, so the wake-up latency (tens of microseconds) is negligible next
 * to the milliseconds of work per phase.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "pool.h"

typedef struct NnPoolWorker
{
	NnPool	   *pool;
	int			tid;
} NnPoolWorker;

struct NnPool
{
	int			n;				/* threads including the caller */
	int			started;		/* workers actually created */
	pthread_t  *threads;		/* [n-1] */
	NnPoolWorker *workers;		/* [n-1] */
	pthread_mutex_t mu;
	pthread_cond_t go;
	pthread_cond_t done;
	uint64_t	generation;		/* incremented per nn_pool_run */
	int			pending;		/* workers still running this generation */
	int			quit;
	NnPoolFn	fn;
	void	   *arg;
};

/* Worker loop: wait for a new generation, run it, report. */
static void *
worker_main(void *p)
{
	NnPoolWorker *self = (NnPoolWorker *) p;
	NnPool	   *pool = self->pool;
	uint64_t	seen = 0;

	pthread_mutex_lock(&pool->mu);
	for (;;)
	{
		NnPoolFn	fn;
		void	   *arg;

		while (pool->generation == seen && !pool->quit)
			pthread_cond_wait(&pool->go, &pool->mu);
		if (pool->quit)
			break;
		seen = pool->generation;
		fn = pool->fn;
		arg = pool->arg;
		pthread_mutex_unlock(&pool->mu);

		fn(arg, self->tid, pool->n);

		pthread_mutex_lock(&pool->mu);
		if (--pool->pending == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

/* Create the pool; workers start with all signals blocked. */
NnPool *
nn_pool_create(int n_threads)
{
	NnPool	   *pool;
	sigset_t	all;
	sigset_t	old;
	int			i;

	if (n_threads < 1)
		n_threads = 1;
	pool = (NnPool *) calloc(1, sizeof(NnPool));
	if (pool == NULL)
		return NULL;
	pool->n = n_threads;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->go, NULL);
	pthread_cond_init(&pool->done, NULL);
	if (n_threads == 1)
		return pool;
	pool->threads = (pthread_t *) calloc(n_threads - 1, sizeof(pthread_t));
	pool->workers = (NnPoolWorker *) calloc(n_threads - 1, sizeof(NnPoolWorker));
	if (pool->threads == NULL || pool->workers == NULL)
	{
		nn_pool_free(pool);
		return NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n_threads - 1; i++)
	{
		pool->workers[i].pool = pool;
		pool->workers[i].tid = i + 1;
		if (pthread_create(&pool->threads[i], NULL, worker_main, &pool->workers[i]) != 0)
			break;
		pool->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pool->started != n_threads - 1)
	{
		nn_pool_free(pool);
		return NULL;
	}
	return pool;
}

/* Run fn on all threads (caller = tid 0) and wait for all. */
void
nn_pool_run(NnPool *pool, NnPoolFn fn, void *arg)
{
	if (pool == NULL || pool->n == 1)
	{
		fn(arg, 0, 1);
		return;
	}
	pthread_mutex_lock(&pool->mu);
	pool->fn = fn;
	pool->arg = arg;
	pool->pending = pool->n - 1;
	pool->generation++;
	pthread_cond_broadcast(&pool->go);
	pthread_mutex_unlock(&pool->mu);

	fn(arg, 0, pool->n);

	pthread_mutex_lock(&pool->mu);
	while (pool->pending > 0)
		pthread_cond_wait(&pool->done, &pool->mu);
	pthread_mutex_unlock(&pool->mu);
}

int
nn_pool_size(const NnPool *pool)
{
	return pool == NULL ? 1 : pool->n;
}

/* Stop and join the started workers. */
void
nn_pool_free(NnPool *pool)
{
	int			i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->quit = 1;
	pthread_cond_broadcast(&pool->go);
	pthread_mutex_unlock(&pool->mu);
	for (i = 0; i < pool->started; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->go);
	pthread_cond_destroy(&pool->done);
	free(pool->threads);
	free(pool->workers);
	free(pool);
}
