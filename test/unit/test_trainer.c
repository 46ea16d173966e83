/*
 * test_trainer.c
 *		The training loop (src/nn/trainer.c) on small synthetic data:
 *		learning, early stopping bookkeeping, progress reports, cancellation,
 *		determinism, divergence detection, the train-on-all mode, and the
 *		choice of the co-occurrence mixture's weight.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/trainer.h"
#include "tap.h"

/* Users walk item chains: user u visits items s, s+1, ... (mod n_items). */
static void
chain_data(NnDataset *ds, int n_users, int n_items, int len)
{
	int			u,
				j;

	nn_ds_init(ds);
	for (u = 1; u <= n_users; u++)
	{
		int			start = (u * 7) % n_items;

		for (j = 0; j < len; j++)
			nn_ds_append(ds, u, 1 + (start + j) % n_items, 1000 + 60 * j, 1 + j % 2);
	}
	nn_ds_finalize(ds, NULL);
}

/* Small configuration for fast tests. */
static void
small_config(NnConfig *c, const char *preset)
{
	nn_config_preset(c, preset);
	c->d = 16;
	c->nh = 4;
	c->nv = 2;
	c->batch = 64;
	c->lr = 0.01f;
	c->epochs = 12;
	c->eval_every = 2;
	c->patience = 3;
	c->dropout = 0.1f;
}

typedef struct Counter
{
	int			reports;
	int			epoch_ends;
	int			stop_after;		/* stop at this epoch end (0 = never) */
	int			valid_seen;
	double		last_ndcg;
} Counter;

/* Progress callback counting reports; can ask to stop. */
static int
count_progress(void *arg, const NnTrainProgress *p)
{
	Counter    *c = (Counter *) arg;

	c->reports++;
	if (p->epoch_end && p->phase != NN_TP_TESTING)
		c->epoch_ends++;
	if (p->has_valid)
	{
		c->valid_seen++;
		c->last_ndcg = p->valid_ndcg10;
	}
	return c->stop_after > 0 && p->epoch_end && p->epoch >= c->stop_after;
}

/* Train one preset and check it learns the chains. */
static void
test_learns(const char *preset)
{
	NnDataset	ds;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		m;
	NnTrainResult res;
	Counter		cnt;
	char		msg[256] = "";
	int			rc;
	int			hr10 = -1, i;

	chain_data(&ds, 120, 40, 15);
	small_config(&c, preset);
	nn_train_settings_default(&s);
	s.threads = 2;
	memset(&cnt, 0, sizeof(cnt));
	s.progress = count_progress;
	s.progress_arg = &cnt;
	memset(&m, 0, sizeof(m));
	rc = nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg));
	ok(rc == NN_OK, "%s: training succeeds (%s)", preset, msg);
	for (i = 0; i < res.test.n_k; i++)
		if (res.test.k[i] == 10)
			hr10 = i;
	ok(res.has_eval && res.n_eval_users == 120, "%s: 120 users evaluated", preset);
	ok(hr10 >= 0 && res.test.hr[hr10] > 0.8, "%s: test HR@10 %.3f > 0.8 on deterministic chains",
	   preset, hr10 >= 0 ? res.test.hr[hr10] : -1.0);
	ok(hr10 >= 0 && res.test.hr[hr10] > res.pop_test.hr[hr10] + 0.3,
	   "%s: beats popularity (%.3f) by far", preset, hr10 >= 0 ? res.pop_test.hr[hr10] : -1.0);
	ok(res.best_epoch >= 1 && res.best_epoch <= res.epochs_run, "%s: best epoch %d within %d run",
	   preset, res.best_epoch, res.epochs_run);
	ok(cnt.epoch_ends == res.epochs_run, "%s: one epoch-end report per epoch (%d)", preset, cnt.epoch_ends);
	ok(cnt.valid_seen == res.n_curve && res.n_curve >= 1, "%s: validation reported %d times", preset, cnt.valid_seen);
	ok(res.inst_per_sec > 0 && res.train_seconds > 0, "%s: speed measured (%.0f inst/s)", preset, res.inst_per_sec);
	ok(m.adam_m == NULL && m.params != NULL, "%s: returned model without optimiser state", preset);
	nn_model_free(&m);
	nn_ds_free(&ds);
}

/* Cancellation through the callback frees everything and reports it. */
static void
test_cancel(void)
{
	NnDataset	ds;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		m;
	NnTrainResult res;
	Counter		cnt;
	char		msg[256] = "";
	int			rc;

	chain_data(&ds, 50, 30, 10);
	small_config(&c, "tacaser");
	nn_train_settings_default(&s);
	memset(&cnt, 0, sizeof(cnt));
	cnt.stop_after = 2;
	s.progress = count_progress;
	s.progress_arg = &cnt;
	memset(&m, 0, sizeof(m));
	rc = nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg));
	ok(rc == NN_ERR_CANCELLED, "callback stop returns NN_ERR_CANCELLED");
	ok(m.params == NULL, "no model is returned after a cancel");
	ok(cnt.epoch_ends == 2, "stopped after epoch 2");
	nn_ds_free(&ds);
}

/* Same seed, same thread count: identical parameters. */
static void
test_determinism(void)
{
	NnDataset	ds;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		a,
				b;
	NnTrainResult res;
	char		msg[256];

	chain_data(&ds, 40, 25, 10);
	small_config(&c, "tacaser");
	c.epochs = 3;
	nn_train_settings_default(&s);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	nn_trainer_run(&ds, &c, &s, &a, &res, msg, sizeof(msg));
	nn_trainer_run(&ds, &c, &s, &b, &res, msg, sizeof(msg));
	ok(a.n_params == b.n_params && memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0,
	   "two runs with one thread and the same seed are bit-for-bit identical");
	nn_model_free(&b);
	c.seed = 99;
	memset(&b, 0, sizeof(b));
	nn_trainer_run(&ds, &c, &s, &b, &res, msg, sizeof(msg));
	ok(memcmp(a.params, b.params, a.n_params * sizeof(float)) != 0, "another seed gives other parameters");
	nn_model_free(&a);
	nn_model_free(&b);
	nn_ds_free(&ds);
}

/* A non-finite weight (the testing hook) stops training: an error, no model. */
static void
test_divergence(void)
{
	NnDataset	ds;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		m;
	NnTrainResult res;
	char		msg[256] = "";
	int			rc;

	chain_data(&ds, 40, 25, 10);
	small_config(&c, "caser");
	nn_train_settings_default(&s);
	s.poison_epoch = 2;
	memset(&m, 0, sizeof(m));
	rc = nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg));
	ok(rc == NN_ERR_NONFINITE, "a NaN weight stops training with NN_ERR_NONFINITE (rc %d: %s)", rc, msg);
	ok(m.params == NULL, "no model is returned after divergence");
	nn_ds_free(&ds);
}

/* Train on all events: no evaluation, the last parameters are kept. */
static void
test_all_split(void)
{
	NnDataset	ds;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		m;
	NnTrainResult res;
	char		msg[256] = "";
	int			rc;

	chain_data(&ds, 40, 25, 10);
	small_config(&c, "tacaser");
	c.epochs = 2;
	nn_train_settings_default(&s);
	s.split = NN_SPLIT_ALL;
	memset(&m, 0, sizeof(m));
	rc = nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg));
	ok(rc == NN_OK && !res.has_eval && res.best_epoch == 0 && res.epochs_run == 2,
	   "train-on-all runs every epoch and evaluates nothing");
	nn_model_free(&m);
	nn_ds_free(&ds);
}

/* NDCG@10 of a metrics object. */
static double
ndcg10(const NnMetrics *m)
{
	int			i;

	for (i = 0; i < m->n_k; i++)
		if (m->k[i] == 10)
			return m->ndcg[i];
	return -1;
}

/* The co-occurrence mixture's weight: auto picks the grid's best on validation. */
static void
test_cooc_choice(void)
{
	NnDataset	ds;
	NnDsSplit	sp;
	NnConfig	c;
	NnTrainSettings s;
	NnModel		m;
	NnTrainResult res;
	NnEvalOptions o;
	NnEvalReport rep;
	NnMetrics	vm;
	char		msg[256] = "";
	double		best = -1;
	int			g,
				best_g = -1;

	chain_data(&ds, 120, 40, 15);
	small_config(&c, "tacaser");
	c.epochs = 2;				/* half-trained: the chains' neighbours help */
	nn_train_settings_default(&s);
	memset(&m, 0, sizeof(m));
	ok(nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg)) == NN_OK, "cooc auto: training succeeds (%s)", msg);
	ok(res.n_cooc_grid == 9 && res.cooc_grid[0].lambda == 0.0f, "cooc auto: 0 and 8 weights tried");
	for (g = 0; g < res.n_cooc_grid; g++)
		if (res.cooc_grid[g].valid_ndcg10 > best)
		{
			best = res.cooc_grid[g].valid_ndcg10;
			best_g = g;
		}
	ok(best_g >= 0 && res.cooc_lambda == res.cooc_grid[best_g].lambda && m.cfg.cooc_lambda == res.cooc_lambda,
	   "cooc auto: the best validation weight %g is kept", (double) res.cooc_lambda);
	ok(res.cooc_lambda > 0 && best > res.cooc_grid[0].valid_ndcg10,
	   "cooc auto: on item chains the mixture beats the plain model (%.4f vs %.4f)",
	   best, res.cooc_grid[0].valid_ndcg10);
	ok(m.cooc.n_rows == ds.n_items && m.cooc.nnz > 0 &&
	   nn_cooc_check(&m.cooc, ds.n_items, c.cooc_k, msg, sizeof(msg)) == NN_OK,
	   "cooc auto: the returned model has a valid neighbour table");
	ok(ndcg10(&res.valid) == best, "cooc auto: the reported validation metrics are the chosen weight's");
	/* the returned model scores validation as the trainer did */
	nn_ds_split(&ds, NN_SPLIT_LOO, &sp);
	nn_eval_options_default(&o);
	o.phase = NN_PHASE_VALID;
	o.exclude_history = s.exclude_seen;
	nn_eval_report_init(&rep, NULL, 0);
	nn_evaluate_model(&sp, &m, NULL, NULL, &o, &rep);
	nn_eval_metrics(&rep.all, &vm);
	is_double(ndcg10(&vm), best, 1e-12, "cooc auto: the returned model reproduces its validation NDCG@10");
	nn_model_free(&m);

	c.cooc_lambda = 0.4f;
	ok(nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg)) == NN_OK && res.n_cooc_grid == 0 &&
	   m.cfg.cooc_lambda == 0.4f && m.cooc.nnz > 0, "cooc 0.4: no grid, the weight and a table");
	nn_model_free(&m);
	c.cooc_k = 0;
	c.cooc_lambda = NN_COOC_AUTO;
	ok(nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg)) == NN_OK && res.n_cooc_grid == 0 &&
	   m.cfg.cooc_lambda == 0.0f && m.cooc.n_rows == 0, "cooc_k 0: weight 0, no table");
	nn_model_free(&m);
	c.cooc_k = 100;
	s.split = NN_SPLIT_ALL;
	ok(nn_trainer_run(&ds, &c, &s, &m, &res, msg, sizeof(msg)) == NN_OK && res.n_cooc_grid == 0 &&
	   m.cfg.cooc_lambda == 0.2f && m.cooc.nnz > 0,
	   "cooc auto without a validation split: weight 0.2 and a table");
	nn_model_free(&m);
	nn_ds_split_free(&sp);
	nn_ds_free(&ds);
}

int
main(void)
{
	test_learns("caser");
	test_learns("tacaser");
	test_cancel();
	test_determinism();
	test_divergence();
	test_all_split();
	test_cooc_choice();
	return done_testing();
}
