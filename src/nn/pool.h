/*
 * pool.h
 *		A tiny fork-join thread pool for the training step (own pthreads).
 *
 * nn_pool_run(pool, fn, arg) calls fn(arg, tid, n) once on each of the n
 * threads (the caller is tid 0) and returns when all have finished.  The
 * worker threads are created with every signal blocked, so a signal sent
 * to the process (a PostgreSQL backend) is never handled on them
 * (pg-engineering.md §6).  Workers touch only the plain C buffers they are
 * given.
 */
#ifndef CNNREC_NN_POOL_H
#define CNNREC_NN_POOL_H

typedef void (*NnPoolFn) (void *arg, int tid, int n_threads);

typedef struct NnPool NnPool;

/* Pool of n_threads (>= 1, including the caller); NULL on failure. */
extern NnPool *nn_pool_create(int n_threads);

/* Run fn on every thread and wait (with one thread: a plain call). */
extern void nn_pool_run(NnPool *pool, NnPoolFn fn, void *arg);

/* Number of threads, including the caller. */
extern int	nn_pool_size(const NnPool *pool);

/* Stop and join the workers, free the pool (NULL is ignored). */
extern void nn_pool_free(NnPool *pool);

#endif							/* CNNREC_NN_POOL_H */
