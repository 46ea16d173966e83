/*
 * nn_fixture.h
 *		Shared helpers of the math-core unit tests: tiny configurations and
 *		random batches (histories with padding and holes, buckets, gaps,
 *		targets, negatives for every loss).
 */
#ifndef CNNREC_NN_FIXTURE_H
#define CNNREC_NN_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/rng.h"

#define FIXTURE_FN static __attribute__((unused))

/* Owned arrays behind an NnBatch. */
typedef struct TBatch
{
	NnBatch		b;
	int32_t    *user;
	int32_t    *items;
	int32_t    *events;
	int32_t    *tbucket;
	float	   *tdelta;
	int32_t    *targets;
	float	   *target_w;
	int32_t    *target_events;
	int32_t    *neg;
	int32_t    *shared;
	float	   *logq;
	int64_t    *ts;
} TBatch;

/* The §5.14 self-check sizes on top of a preset. */
FIXTURE_FN void
tiny_config(NnConfig *c, const char *preset, NnLoss loss)
{
	nn_config_preset(c, preset);
	c->n_G = 6;
	c->d = 4;
	c->L = 3;
	c->M = 5;
	c->nh = 2;
	c->nv = 2;
	c->act_conv = NN_ACT_TANH;
	c->act_fc = NN_ACT_TANH;
	c->dropout = 0.0f;
	c->user_dropout = 0.0f;
	c->loss = loss;
	c->negatives = 3;
	nn_config_set_data(c, 7, 3, 3);
}

/* Random batch of B rows; row lengths cycle through 0..M (row 1 empty,
 * row 2 one event, a PAD hole in row 3), flags: 1 = include per-target
 * event ids, 2 = logq for sampled softmax. */
FIXTURE_FN void
tb_make(TBatch *t, const NnConfig *c, int B, uint64_t seed, int flags)
{
	int			M = c->M;
	int			T = c->T;
	int			nr = nn_config_neg_per_row(c);
	int			K = nn_config_neg_shared(c);
	NnRng		r;
	int			b;
	int			l;
	int			j;

	memset(t, 0, sizeof(*t));
	nn_rng_seed(&r, seed, 77);
	t->user = calloc(B, sizeof(int32_t));
	t->items = calloc((size_t) B * M, sizeof(int32_t));
	t->events = calloc((size_t) B * M, sizeof(int32_t));
	t->tbucket = calloc((size_t) B * M, sizeof(int32_t));
	t->tdelta = calloc((size_t) B * M, sizeof(float));
	t->ts = calloc((size_t) B * M, sizeof(int64_t));
	t->targets = calloc((size_t) B * T, sizeof(int32_t));
	t->target_events = calloc((size_t) B * T, sizeof(int32_t));
	t->neg = calloc((size_t) B * nr + 1, sizeof(int32_t));
	t->shared = calloc((size_t) K + 1, sizeof(int32_t));
	t->logq = calloc((size_t) c->N, sizeof(float));
	for (b = 0; b < B; b++)
	{
		int			n = (b == 1) ? 0 : (b == 2) ? 1 : (int) ((b * 3 + 2) % (M + 1));
		int64_t		tt = 1000000;

		if (b == 0)
			n = M;
		t->user[b] = (int32_t) nn_rng_below(&r, c->U);
		for (l = M - n; l < M; l++)
		{
			size_t		o = (size_t) b * M + l;

			t->items[o] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
			t->events[o] = 1 + (int32_t) nn_rng_below(&r, c->n_E - 1);
			tt += 1 + (int64_t) nn_rng_below(&r, 200000);
			t->ts[o] = tt;
		}
		if (b == 3 && n >= 3)
			t->items[(size_t) b * M + M - 2] = 0;	/* a hole */
		nn_time_features(c, M, t->items + (size_t) b * M, t->ts + (size_t) b * M,
						 0, t->tbucket + (size_t) b * M, t->tdelta + (size_t) b * M);
		for (j = 0; j < T; j++)
		{
			/* every 4th target missing, rows keep >= 1 target except row 2 */
			int			missing = ((b * T + j) % 4 == 3) || (b == 2 && j > 0);

			t->targets[(size_t) b * T + j] =
				missing ? 0 : 1 + (int32_t) nn_rng_below(&r, c->N - 1);
			t->target_events[(size_t) b * T + j] = 1 + (int32_t) nn_rng_below(&r, c->n_E - 1);
		}
		for (j = 0; j < nr; j++)
			t->neg[(size_t) b * nr + j] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
	}
	for (j = 0; j < K; j++)
		t->shared[j] = 1 + (int32_t) nn_rng_below(&r, c->N - 1);
	if (K > 1)
		t->shared[1] = t->targets[0] ? t->targets[0] : 1;	/* an accidental hit */
	for (j = 0; j < c->N; j++)
		t->logq[j] = -2.0f - 0.1f * (float) j;
	t->b.B = B;
	t->b.user = t->user;
	t->b.items = t->items;
	t->b.events = t->events;
	t->b.tbucket = t->tbucket;
	t->b.tdelta = t->tdelta;
	t->b.targets = t->targets;
	t->b.target_events = (flags & 1) ? t->target_events : NULL;
	t->b.neg = t->neg;
	t->b.shared_neg = t->shared;
	t->b.logq = (flags & 2) ? t->logq : NULL;
}

FIXTURE_FN void
tb_free(TBatch *t)
{
	free(t->user);
	free(t->items);
	free(t->events);
	free(t->tbucket);
	free(t->tdelta);
	free(t->ts);
	free(t->targets);
	free(t->target_w);
	free(t->target_events);
	free(t->neg);
	free(t->shared);
	free(t->logq);
	memset(t, 0, sizeof(*t));
}

/* Model with §5.4 init; returns 0 on success. */
FIXTURE_FN int
make_model(NnModel *m, const NnConfig *c)
{
	char		msg[256];
	int			rc = nn_model_init(m, c, NULL, msg, sizeof(msg));

	if (rc != NN_OK)
	{
		printf("# nn_model_init: %s\n", msg);
		return rc;
	}
	nn_model_init_weights(m);
	return nn_model_alloc_adam(m);
}

#endif							/* CNNREC_NN_FIXTURE_H */
