/*
 * test_gradcheck.c
 *		Finite-difference check of every parameter tensor (model-spec.md
 *		§5.14 self-check 1): tiny sizes (N=7, U=3, n_E=3, n_G=6, d=4, L=3,
 *		M=5, nh=2, nv=2), tanh activations, central differences with
 *		eps = 1e-3, both presets, every loss, the decay time mode, per-event
 *		target weights, user dropout and feature dropout (their masks are
 *		drawn from (seed, step, row), so the loss is a fixed function during
 *		the check), and a two-shard run.
 *
 * Criterion per tensor: ||g_a - g_n|| <= 1e-2 * max(||g_a||, ||g_n||)
 * + 2e-5 * sqrt(n), and every element within 1e-2 relative or 1e-4
 * absolute.  The absolute terms are the float32 noise of the numeric
 * derivative: the loss is summed in double but the scores are float, so
 * the loss difference carries ~1e-7 of rounding, i.e. ~5e-5 per element at
 * eps = 1e-3 (it shrinks 10x at eps = 1e-2, which confirms it is noise).
 * To keep the relative criterion meaningful, the check runs at a point
 * where the gradients are well above that noise: the embeddings (x4) and
 * W_K (x2) are scaled up from the init, which makes the attention peaked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "nn_fixture.h"

#define EPS 1e-3f

/* Move to a more informative point than the init: larger embeddings make
 * the attention peaked and every gradient well above the float32 noise. */
static void
sharpen(NnModel *m)
{
	static const char *const names[] = {"Q", "A", "G", "P", "WK"};
	int			i;
	size_t		j;

	for (i = 0; i < 5; i++)
	{
		const NnTensor *t = nn_model_tensor(m, names[i]);

		for (j = 0; j < (size_t) (t->rows * t->cols); j++)
			m->params[t->offset + j] *= (i == 4) ? 2.0f : 4.0f;
	}
}

/* Check all tensors of one configuration; returns the number of failures. */
static int
gradcheck(const char *label, NnConfig *c, int B, int shards, int flags)
{
	NnModel		m;
	NnWork	   *w;
	TBatch		tb;
	float	   *ga;
	double		loss;
	int			err;
	int			t;
	int			fails = 0;

	if (make_model(&m, c) != NN_OK)
		return ok(0, "%s: model", label), 1;
	sharpen(&m);
	tb_make(&tb, c, B, 42, flags);
	w = nn_work_create(&m, B, 1, shards, &err);
	if (!ok(w != NULL, "%s: workspace", label))
		return 1;
	ga = malloc(sizeof(float) * m.n_params);
	err = nn_forward_backward(&m, w, &tb.b, &loss);
	ok(err == NN_OK && isfinite(loss) && loss > 0, "%s: forward/backward (loss %.5f)", label, loss);
	nn_work_gradient(w, &m, ga);

	for (t = 0; t < m.n_tensors; t++)
	{
		const NnTensor *tt = &m.tensors[t];
		size_t		n = (size_t) (tt->rows * tt->cols);
		double		diff2 = 0.0;
		double		a2 = 0.0;
		double		n2 = 0.0;
		double		worst = 0.0;
		size_t		worst_i = 0;
		size_t		i;
		int			elem_ok = 1;

		if (n == 0)
			continue;
		for (i = 0; i < n; i++)
		{
			float	   *p = m.params + tt->offset + i;
			float		save = *p;
			double		lp;
			double		lm;
			double		num;
			double		a = ga[tt->offset + i];
			double		e;

			*p = save + EPS;
			nn_forward_loss(&m, w, &tb.b, &lp);
			*p = save - EPS;
			nn_forward_loss(&m, w, &tb.b, &lm);
			*p = save;
			/* the perturbation actually applied, in float */
			num = (lp - lm) / ((double) (save + EPS) - (double) (save - EPS));
			diff2 += (a - num) * (a - num);
			a2 += a * a;
			n2 += num * num;
			e = fabs(a - num);
			if (e > 1e-4 && e > 1e-2 * fmax(fabs(a), fabs(num)))
			{
				elem_ok = 0;
				if (e > worst)
				{
					worst = e;
					worst_i = i;
				}
			}
		}
		{
			double		scale = fmax(sqrt(a2), sqrt(n2));
			double		rel = sqrt(diff2) / fmax(scale, 1e-12);
			int			good = sqrt(diff2) <= 1e-2 * scale + 2e-5 * sqrt((double) n) && elem_ok;

			if (!ok(good, "%s: d%s (%zu values, |g| %.3g, rel err %.2g)", label,
					tt->name, n, scale, rel))
			{
				fails++;
				diag("worst element %zu: analytic %.6g, error %.3g", worst_i,
					 ga[tt->offset + worst_i], worst);
			}
		}
	}
	free(ga);
	tb_free(&tb);
	nn_work_free(w);
	nn_model_free(&m);
	return fails;
}

int
main(void)
{
	static const NnLoss losses[] = {NN_LOSS_BCE, NN_LOSS_BCE_PER_TARGET, NN_LOSS_BPR,
	NN_LOSS_SOFTMAX_SAMPLED, NN_LOSS_SOFTMAX_FULL};
	static const char *const presets[] = {"tacaser", "caser"};
	char		label[128];
	NnConfig	c;
	int			p;
	int			l;

	is_double(nn_time_bucket(0, 6), 1, 0, "bucket of a zero gap is 1");
	for (p = 0; p < 2; p++)
		for (l = 0; l < 5; l++)
		{
			tiny_config(&c, presets[p], losses[l]);
			if (p == 1)
				c.M = 5;		/* conv uses the last L = 3 of M = 5 */
			snprintf(label, sizeof(label), "%s/%s", presets[p], nn_loss_name(c.loss));
			gradcheck(label, &c, 4, 1, 2);
		}

	/* caser exactly: M = L, unmasked max over padded windows */
	tiny_config(&c, "caser", NN_LOSS_BCE);
	c.M = c.L;
	gradcheck("caser M=L/bce", &c, 4, 1, 0);

	/* decay time term, per-event target weights, user dropout */
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.time_mode = NN_TIME_DECAY;
	c.use_target_weights = 1;
	c.target_weights[1] = 1.0f;
	c.target_weights[2] = 2.5f;
	c.user_dropout = 0.5f;
	gradcheck("tacaser decay+weights+userdrop/softmax_full", &c, 4, 1, 1);
	c.loss = NN_LOSS_BCE;
	gradcheck("tacaser decay+weights/bce", &c, 4, 1, 1);
	c.loss = NN_LOSS_BPR;
	gradcheck("tacaser decay+weights/bpr", &c, 4, 1, 1);
	c.loss = NN_LOSS_SOFTMAX_SAMPLED;
	gradcheck("tacaser decay+weights/softmax_sampled", &c, 4, 1, 3);

	/* time mode none, sigmoid / identity activations, dropout on */
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	c.time_mode = NN_TIME_NONE;
	c.act_conv = NN_ACT_IDENTITY;
	c.act_fc = NN_ACT_SIGMOID;
	c.dropout = 0.3f;
	gradcheck("tacaser none+sigmoid+dropout/softmax_full", &c, 4, 1, 0);

	/* two shards: the reduction over shards gives the same gradient */
	tiny_config(&c, "tacaser", NN_LOSS_BCE);
	gradcheck("tacaser 2 shards/bce", &c, 5, 2, 0);
	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_SAMPLED);
	gradcheck("tacaser 2 shards/softmax_sampled", &c, 5, 2, 2);

	return done_testing();
}
