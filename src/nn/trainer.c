/*
 * trainer.c
 *		The training loop (trainer.h): split, instances, mini-batches with
 *		negatives, Adam steps, validation with early stopping, and the final
 *		evaluation (model-spec.md §5.3.3, §5.6, §5.8 "Schedule", §6).
 *
 * One epoch = all training instances in a fresh deterministic order
 * (nn_ds_shuffle from (seed, epoch)), cut into mini-batches of cfg.batch.
 * Negatives are re-drawn for every batch from a PCG32 stream derived from
 * (seed, epoch, batch), so runs are reproducible for a fixed seed and
 * thread count.  Every eval_every epochs (and after the last) the model is
 * scored on the validation split (full ranking, pessimistic ties, the
 * run's exclusion setting); the best NDCG@10 parameters are kept and
 * restored at the end; patience counts evaluations without improvement.
 * With item categories in the data and cfg.use_category set, the model
 * trains category tables (category.c); the best parameters are kept folded
 * and the returned model is always a plain one (blob format unchanged).
 *
 * The trainer owns all memory it allocates and frees it on every path.
 * The progress callback runs on the calling thread between mini-batches;
 * the model's worker threads never call out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "nn/trainer.h"

/* Buffers of one mini-batch. */
typedef struct BatchBuf
{
	int32_t    *users;
	int32_t    *items;
	int32_t    *events;
	int64_t    *times;
	int64_t    *tref;
	int32_t    *targets;
	int32_t    *target_events;
	int32_t    *tbucket;
	float	   *tdelta;
	int32_t    *neg;
	int32_t    *shared;
	int			neg_row;		/* negatives per row */
	int			neg_shared;		/* shared negatives per batch */
} BatchBuf;

/* Everything one run needs. */
typedef struct Run
{
	const NnDataset *ds;
	const NnTrainSettings *s;
	NnConfig	cfg;
	NnDsSplit	sp;
	NnDsInstances inst;
	NnModel		m;
	NnWork	   *work;
	BatchBuf	bb;
	float	   *best;			/* best parameters so far */
	double		t_start;
	double		train_sec;
	int64_t		trained;		/* instances trained over all epochs */
	char	   *msg;
	size_t		msglen;
} Run;

/* Monotonic seconds. */
static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Fill default settings; see trainer.h. */
void
nn_train_settings_default(NnTrainSettings *s)
{
	memset(s, 0, sizeof(*s));
	s->threads = 1;
	s->split = NN_SPLIT_LOO;
	s->exclude_seen = 1;
}

/* Record a message and return code. */
static int
fail(Run *r, int code, const char *what, const char *detail)
{
	if (r->msg && r->msglen > 0)
		snprintf(r->msg, r->msglen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return code;
}

/* Allocate the buffers of a batch of B rows. */
static int
batch_alloc(BatchBuf *b, const NnConfig *c, int B)
{
	size_t		bm = (size_t) B * c->M,
				bt = (size_t) B * c->T;

	b->neg_row = nn_config_neg_per_row(c);
	b->neg_shared = nn_config_neg_shared(c);
	b->users = calloc(B, sizeof(int32_t));
	b->items = calloc(bm, sizeof(int32_t));
	b->events = calloc(bm, sizeof(int32_t));
	b->times = calloc(bm, sizeof(int64_t));
	b->tref = calloc(B, sizeof(int64_t));
	b->targets = calloc(bt, sizeof(int32_t));
	b->target_events = calloc(bt, sizeof(int32_t));
	b->tbucket = calloc(bm, sizeof(int32_t));
	b->tdelta = calloc(bm, sizeof(float));
	b->neg = calloc((size_t) B * b->neg_row + 1, sizeof(int32_t));
	b->shared = calloc((size_t) b->neg_shared + 1, sizeof(int32_t));
	return (b->users && b->items && b->events && b->times && b->tref && b->targets &&
			b->target_events && b->tbucket && b->tdelta && b->neg && b->shared) ? NN_OK : NN_ERR_NOMEM;
}

/* Free a batch's buffers. */
static void
batch_free(BatchBuf *b)
{
	free(b->users);
	free(b->items);
	free(b->events);
	free(b->times);
	free(b->tref);
	free(b->targets);
	free(b->target_events);
	free(b->tbucket);
	free(b->tdelta);
	free(b->neg);
	free(b->shared);
	memset(b, 0, sizeof(*b));
}

/* Materialise n instances into b and describe them in nb (no negatives). */
static int
batch_fill(const NnDsSplit *sp, const NnConfig *c, BatchBuf *b, const NnDsInstance *inst,
		   int n, int T, NnBatch *nb)
{
	NnDsBatch	out;
	int			i;

	memset(&out, 0, sizeof(out));
	out.users = b->users;
	out.items = b->items;
	out.events = b->events;
	out.times = b->times;
	out.tref = b->tref;
	out.targets = b->targets;
	out.target_events = b->target_events;
	if (nn_ds_fill_batch(sp, inst, n, c->M, T, c->tref_mode, &out) != NN_DS_OK)
		return NN_ERR_BATCH;
	for (i = 0; i < n; i++)
		nn_time_features(c, c->M, b->items + (size_t) i * c->M, b->times + (size_t) i * c->M,
						 b->tref[i], b->tbucket + (size_t) i * c->M, b->tdelta + (size_t) i * c->M);
	memset(nb, 0, sizeof(*nb));
	nb->B = n;
	nb->user = b->users;
	nb->items = b->items;
	nb->events = b->events;
	nb->tbucket = b->tbucket;
	nb->tdelta = b->tdelta;
	nb->targets = b->targets;
	nb->target_events = c->use_target_weights ? b->target_events : NULL;
	return NN_OK;
}

/* Draw the batch's negatives (§5.6) from the batch's own stream. */
static int
batch_negatives(Run *r, BatchBuf *b, int n, int epoch, int64_t batch, NnBatch *nb)
{
	NnRng		rng;
	int			i;

	nn_rng_seed(&rng, nn_mix64(r->cfg.seed ^ nn_mix64((uint64_t) epoch << 32 ^ (uint64_t) batch)), 7);
	for (i = 0; i < n && b->neg_row > 0; i++)
		if (nn_ds_neg_uniform(&r->sp, b->users[i], &rng, b->neg_row,
							  b->neg + (size_t) i * b->neg_row) != NN_DS_OK)
			return NN_ERR_BATCH;
	if (b->neg_shared > 0 &&
		nn_ds_neg_shared(r->cfg.N, &rng, b->neg_shared, b->shared) != NN_DS_OK)
		return NN_ERR_BATCH;
	nb->neg = b->neg_row > 0 ? b->neg : NULL;
	nb->shared_neg = b->neg_shared > 0 ? b->shared : NULL;
	return NN_OK;
}

/* State of nn_evaluate_model's scoring callback. */
typedef struct EvalCtx
{
	const NnDsSplit *sp;
	const NnModel *m;
	NnInfer    *infer;
	BatchBuf	eb;
	const int32_t *item_map;
	const int32_t *user_map;
	float	   *mscores;		/* model-space scores when mapping */
	float	   *x;
	NnTrainStopFn stop;
	void	   *stop_arg;
	int64_t		scored;
} EvalCtx;

/* Scoring callback of the evaluation: one user, all items. */
static int
score_case(void *arg, const NnDsEvalCase *c, float *scores)
{
	EvalCtx    *e = (EvalCtx *) arg;
	const NnConfig *cfg = &e->m->cfg;
	NnBatch		nb;
	int32_t		i;
	int			rc;

	if (e->stop && (++e->scored % 64) == 0 && e->stop(e->stop_arg))
		return NN_ERR_CANCELLED;
	if ((rc = batch_fill(e->sp, cfg, &e->eb, &c->inst, 1, 1, &nb)) != NN_OK)
		return rc;
	nb.targets = NULL;
	if (e->item_map != NULL)
	{
		for (i = 0; i < cfg->M; i++)
			e->eb.items[i] = e->item_map[e->eb.items[i]];
		e->eb.users[0] = e->user_map ? e->user_map[e->eb.users[0]] : 0;
	}
	if ((rc = nn_user_vector(e->m, e->infer, &nb, 0, e->x, NULL)) != NN_OK)
		return rc;
	if (e->item_map == NULL)
	{
		nn_score_all(e->m, e->x, scores);
		return nn_cooc_mix(e->m, e->infer, nb.items, cfg->M, scores);
	}
	nn_score_all(e->m, e->x, e->mscores);
	if ((rc = nn_cooc_mix(e->m, e->infer, nb.items, cfg->M, e->mscores)) != NN_OK)
		return rc;
	for (i = 0; i < e->sp->ds->n_items; i++)
		scores[i] = e->item_map[i] > 0 ? e->mscores[e->item_map[i]] : -INFINITY;
	return 0;
}

/* Evaluate a model on a split; see trainer.h. */
int
nn_evaluate_model(const NnDsSplit *sp, const NnModel *m, const int32_t *item_map,
				  const int32_t *user_map, const NnEvalOptions *o, NnEvalReport *rep)
{
	return nn_evaluate_model_stoppable(sp, m, item_map, user_map, o, rep, NULL, NULL);
}

/* Evaluate with a stop check; see trainer.h. */
int
nn_evaluate_model_stoppable(const NnDsSplit *sp, const NnModel *m, const int32_t *item_map,
							const int32_t *user_map, const NnEvalOptions *o, NnEvalReport *rep,
							NnTrainStopFn stop, void *stop_arg)
{
	EvalCtx		e;
	int			rc = NN_ERR_NOMEM;

	memset(&e, 0, sizeof(e));
	e.stop = stop;
	e.stop_arg = stop_arg;
	e.sp = sp;
	e.m = m;
	e.item_map = item_map;
	e.user_map = user_map;
	e.infer = nn_infer_create(m, 1);
	e.x = malloc(sizeof(float) * 2 * (size_t) m->cfg.d);
	e.mscores = malloc(sizeof(float) * (size_t) m->cfg.N);
	if (e.infer && e.x && e.mscores && batch_alloc(&e.eb, &m->cfg, 1) == NN_OK)
	{
		rc = nn_eval_run(sp, o, score_case, &e, rep);
		rc = rc == NN_EVAL_OK ? NN_OK : rc == NN_ERR_CANCELLED ? rc : NN_ERR_BATCH;
	}
	nn_infer_free(e.infer);
	free(e.x);
	free(e.mscores);
	batch_free(&e.eb);
	return rc;
}

/* Evaluate one phase of the run; fills the report. */
static int
evaluate(Run *r, int phase, int n_sampled, NnEvalReport *rep)
{
	NnEvalOptions o;

	nn_eval_options_default(&o);
	o.phase = phase;
	o.exclude_history = r->s->exclude_seen;
	o.n_sampled = n_sampled;
	o.seed = r->cfg.seed;
	switch (nn_evaluate_model_stoppable(&r->sp, &r->m, NULL, NULL, &o, rep,
										r->s->stop, r->s->progress_arg))
	{
		case NN_OK:
			return NN_OK;
		case NN_ERR_CANCELLED:
			return NN_ERR_CANCELLED;
		default:
			return fail(r, NN_ERR_BATCH, "evaluation failed", NULL);
	}
}

/* Index of cutoff 10 in a metrics object, or -1. */
static int
k10(const NnMetrics *m)
{
	int			i;

	for (i = 0; i < m->n_k; i++)
		if (m->k[i] == 10)
			return i;
	return -1;
}

/* Report progress; returns non-zero if the caller asked to stop. */
static int
report(Run *r, NnTrainProgress *p)
{
	if (r->s->progress == NULL)
		return 0;
	p->elapsed_sec = now_sec() - r->t_start;
	return r->s->progress(r->s->progress_arg, p);
}

/* One epoch of mini-batches; *loss gets the epoch's mean loss. */
static int
run_epoch(Run *r, int epoch, NnTrainProgress *p, double *loss)
{
	const NnConfig *c = &r->cfg;
	int64_t		n = r->inst.n,
				nb_total = (n + c->batch - 1) / c->batch,
				b;
	double		sum = 0,
				t0 = now_sec(),
				last_report = t0;
	int64_t		done = 0;

	nn_ds_shuffle(r->inst.v, n, c->seed, (uint64_t) epoch);
	p->batches = nb_total;
	if (r->s->poison_epoch == epoch)
		r->m.W1[0] = NAN;		/* testing hook, see trainer.h */
	for (b = 0; b < nb_total; b++)
	{
		int			rows = (int) ((b + 1) * c->batch <= n ? c->batch : n - b * c->batch);
		NnBatch		nb;
		double		l;
		int			rc;

		if ((rc = batch_fill(&r->sp, c, &r->bb, r->inst.v + b * c->batch, rows, c->T, &nb)) != NN_OK ||
			(rc = batch_negatives(r, &r->bb, rows, epoch, b, &nb)) != NN_OK)
			return fail(r, rc, "could not build a training batch", NULL);
		if (r->s->stop && r->s->stop(r->s->progress_arg))
			return NN_ERR_CANCELLED;
		rc = nn_train_step(&r->m, r->work, &nb, &l);
		if (rc == NN_ERR_NONFINITE)
			return fail(r, rc, "the loss or a gradient became NaN or infinite; the last finite parameters were discarded", NULL);
		if (rc != NN_OK)
			return fail(r, rc, "training step failed", nn_strerror(rc));
		sum += l * rows;
		done += rows;
		p->batch = b + 1;
		p->loss = sum / done;
		p->inst_per_sec = done / (now_sec() - t0 + 1e-9);
		if (r->s->progress_every_sec > 0 && now_sec() - last_report >= r->s->progress_every_sec &&
			b + 1 < nb_total)
		{
			last_report = now_sec();
			p->epoch_end = 0;
			p->has_valid = 0;
			if (report(r, p))
				return NN_ERR_CANCELLED;
		}
	}
	r->train_sec += now_sec() - t0;
	r->trained += done;
	*loss = done ? sum / done : 0;
	return NN_OK;
}

/* Validation after an epoch; updates the best parameters.  Returns 1 if
 * improved, 0 if not, or a negative error code. */
static int
validate(Run *r, NnTrainProgress *p, double *best_ndcg, int epoch, NnTrainResult *res)
{
	NnEvalReport rep;
	NnMetrics	m;
	int			i,
				rc;

	nn_eval_report_init(&rep, NULL, 0);
	p->phase = NN_TP_VALIDATING;
	p->epoch_end = 0;
	p->has_valid = 0;
	if (report(r, p))			/* the validation starts (phase shown by callers) */
		return NN_ERR_CANCELLED;
	if ((rc = evaluate(r, NN_PHASE_VALID, 0, &rep)) != NN_OK)
		return rc;
	nn_eval_metrics(&rep.all, &m);
	i = k10(&m);
	p->has_valid = 1;
	p->valid_hr10 = i >= 0 ? m.hr[i] : 0;
	p->valid_ndcg10 = i >= 0 ? m.ndcg[i] : 0;
	p->valid_mrr = m.mrr;
	if (res->n_curve < (int) (sizeof(res->curve_epoch) / sizeof(res->curve_epoch[0])))
	{
		res->curve_epoch[res->n_curve] = epoch;
		res->curve_ndcg10[res->n_curve++] = p->valid_ndcg10;
	}
	if (p->valid_ndcg10 > *best_ndcg || p->best_epoch == 0)
	{
		*best_ndcg = p->valid_ndcg10;
		p->best_epoch = epoch;
		res->valid = m;
		nn_model_folded_params(&r->m, r->best);	/* = memcpy without categories */
		return 1;
	}
	return 0;
}

/* The epoch loop with early stopping. */
static int
train_loop(Run *r, NnTrainResult *res)
{
	const NnConfig *c = &r->cfg;
	NnTrainProgress p;
	double		best_ndcg = -1;
	int			since_best = 0,
				epoch,
				rc;

	memset(&p, 0, sizeof(p));
	p.epochs = c->epochs;
	for (epoch = 1; epoch <= c->epochs; epoch++)
	{
		double		loss;
		int			eval_now = r->s->split == NN_SPLIT_LOO && r->sp.n_eval > 0 &&
			(epoch % c->eval_every == 0 || epoch == c->epochs);

		p.phase = NN_TP_TRAINING;
		p.epoch = epoch;
		p.has_valid = 0;
		if ((rc = run_epoch(r, epoch, &p, &loss)) != NN_OK)
			return rc;
		res->epochs_run = epoch;
		if (eval_now)
		{
			rc = validate(r, &p, &best_ndcg, epoch, res);
			if (rc < 0)
				return rc;
			since_best = rc ? 0 : since_best + 1;
		}
		p.loss = loss;
		p.epoch_end = 1;
		p.inst_per_sec = r->trained / (r->train_sec + 1e-9);
		p.eta_sec = (r->train_sec / epoch) * (c->epochs - epoch);
		if (report(r, &p))
			return NN_ERR_CANCELLED;
		if (eval_now && c->patience > 0 && since_best >= c->patience)
			break;
	}
	res->best_epoch = p.best_epoch;
	/* the returned model is plain: category tables folded (r->best holds
	 * folded parameters, so fold first, then restore) */
	nn_model_fold_categories(&r->m);
	if (p.best_epoch > 0)
		memcpy(r->m.params, r->best, r->m.n_params * sizeof(float));
	return NN_OK;
}

/* Weights of the co-occurrence mixture tried on the validation split. */
static const float cooc_grid[] = {0.05f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};

/*
 * Weight of AUTO without a validation split (training on every event):
 * 0.2 beat the plain model on the validation split of every data set
 * measured (ml-100k, ml-latest-small, Taobao, Diginetica; TUNING.md).
 */
#define COOC_NO_VALIDATION_WEIGHT 0.2f

/*
 * The grid's weight with the best validation NDCG@10 for r->m (its
 * neighbour table built), or 0, the plain model, unless a weight beats
 * it; records the grid in res and, for a chosen weight, its validation
 * metrics.  Returns NN_OK or an evaluation error.
 */
static int
pick_cooc_weight(Run *r, NnTrainResult *res, float *weight)
{
	double		best = res->valid.ndcg[k10(&res->valid)];	/* the plain model's */
	float		chosen = 0.0f;
	size_t		g;
	int			rc;

	res->cooc_grid[0].lambda = 0.0f;
	res->cooc_grid[0].valid_ndcg10 = best;
	res->n_cooc_grid = 1;
	for (g = 0; g < sizeof(cooc_grid) / sizeof(cooc_grid[0]); g++)
	{
		NnEvalReport rep;
		NnMetrics	m;

		r->m.cfg.cooc_lambda = cooc_grid[g];
		nn_eval_report_init(&rep, NULL, 0);
		if ((rc = evaluate(r, NN_PHASE_VALID, 0, &rep)) != NN_OK)
			return rc;
		nn_eval_metrics(&rep.all, &m);
		res->cooc_grid[res->n_cooc_grid].lambda = cooc_grid[g];
		res->cooc_grid[res->n_cooc_grid++].valid_ndcg10 = m.ndcg[k10(&m)];
		if (m.ndcg[k10(&m)] > best)
		{
			best = m.ndcg[k10(&m)];
			res->valid = m;
			chosen = cooc_grid[g];
		}
	}
	*weight = chosen;
	return NN_OK;
}

/*
 * The co-occurrence mixture (cooc.c) of the returned model: the weight is
 * the configured one, 0 with cooc_k 0, and for AUTO the validation pick
 * (pick_cooc_weight), or COOC_NO_VALIDATION_WEIGHT without a validation
 * split.  The neighbour table is built from the training events and kept
 * only for a weight above 0.
 */
static int
choose_cooc(Run *r, NnTrainResult *res)
{
	NnConfig   *c = &r->m.cfg;
	int			has_valid = r->s->split == NN_SPLIT_LOO && r->sp.n_eval > 0 &&
		res->best_epoch > 0;
	int			rc;

	if (c->cooc_k == 0)
		c->cooc_lambda = 0.0f;
	else if (c->cooc_lambda == NN_COOC_AUTO && !has_valid)
		c->cooc_lambda = COOC_NO_VALIDATION_WEIGHT;
	if (c->cooc_lambda != 0.0f)
	{
		if (nn_cooc_build(&r->m.cooc, r->ds->n_items, r->ds->n_users, r->ds->seq_off,
						  r->ds->seq_item, r->sp.n_train, c->cooc_k, c->cooc_window) != NN_OK)
			return fail(r, NN_ERR_NOMEM, "out of memory for the co-occurrence table", NULL);
		if (c->cooc_lambda == NN_COOC_AUTO)
		{
			float		w;

			if ((rc = pick_cooc_weight(r, res, &w)) != NN_OK)
				return rc;
			c->cooc_lambda = w;
		}
		if (c->cooc_lambda == 0.0f)
			nn_cooc_free(&r->m.cooc);
	}
	res->cooc_lambda = c->cooc_lambda;
	return NN_OK;
}

/* Final evaluation on the test split (model, sampled-100, popularity). */
static int
final_eval(Run *r, NnTrainResult *res)
{
	NnEvalReport rep;
	NnEvalOptions o;
	NnTrainProgress p;
	int			rc;

	if (r->s->split != NN_SPLIT_LOO || r->sp.n_eval == 0)
		return NN_OK;
	memset(&p, 0, sizeof(p));
	p.phase = NN_TP_TESTING;
	p.epoch = res->epochs_run;
	p.epochs = r->cfg.epochs;
	p.epoch_end = 1;
	p.loss = NAN;				/* no new loss: the job keeps the last epoch's */
	p.inst_per_sec = r->trained / (r->train_sec + 1e-9);
	if (report(r, &p))
		return NN_ERR_CANCELLED;
	nn_eval_report_init(&rep, NULL, 0);
	if ((rc = evaluate(r, NN_PHASE_TEST, 0, &rep)) != NN_OK)
		return rc;
	nn_eval_metrics(&rep.all, &res->test);
	nn_eval_metrics(&rep.fresh, &res->test_fresh);
	nn_eval_metrics(&rep.repeat, &res->test_repeat);
	nn_eval_report_init(&rep, NULL, 0);
	if ((rc = evaluate(r, NN_PHASE_TEST, 100, &rep)) != NN_OK)
		return rc;
	nn_eval_metrics(&rep.all, &res->test_sampled100);
	nn_eval_options_default(&o);
	o.phase = NN_PHASE_TEST;
	o.exclude_history = r->s->exclude_seen;
	nn_eval_report_init(&rep, NULL, 0);
	if (nn_eval_mostpop(&r->sp, &o, &rep) != NN_EVAL_OK)
		return fail(r, NN_ERR_BATCH, "popularity baseline failed", NULL);
	nn_eval_metrics(&rep.all, &res->pop_test);
	res->has_eval = 1;
	return NN_OK;
}

/* Split, instances, model, workspaces. */
static int
setup(Run *r, NnTrainResult *res)
{
	const NnConfig *c = &r->cfg;
	int			rc,
				err = 0;

	if (nn_ds_split(r->ds, r->s->split, &r->sp) != NN_DS_OK)
		return fail(r, NN_ERR_NOMEM, "could not split the data", r->ds->errmsg);
	rc = c->instances == NN_INST_CASER ?
		nn_ds_instances_caser(&r->sp, c->L, c->T, &r->inst) :
		nn_ds_instances_tacaser(&r->sp, c->max_instances_per_user, &r->inst);
	if (rc != NN_DS_OK)
		return fail(r, NN_ERR_NOMEM, "could not build training instances", NULL);
	if (r->inst.n == 0)
		return fail(r, NN_ERR_DATA, "no training instances: every user has fewer than 2 training events", NULL);
	if ((rc = nn_model_init(&r->m, c, NULL, r->msg, r->msglen)) != NN_OK)
		return rc;
	nn_model_init_weights(&r->m);
	if (r->m.item_cat != NULL && nn_model_set_categories(&r->m, r->ds->item_cat) != NN_OK)
		return fail(r, NN_ERR_DATA, "item categories out of range", NULL);
	res->n_categories = r->m.item_cat != NULL ? r->ds->n_cats - 1 : 0;
	if (nn_model_alloc_adam(&r->m) != NN_OK)
		return fail(r, NN_ERR_NOMEM, "out of memory for the optimiser state", NULL);
	r->work = nn_work_create(&r->m, c->batch, r->s->threads, 0, &err);
	r->best = malloc(sizeof(float) * r->m.n_params);
	if (r->work == NULL || r->best == NULL || batch_alloc(&r->bb, c, c->batch) != NN_OK)
		return fail(r, err ? err : NN_ERR_NOMEM, "could not allocate training workspaces", NULL);
	res->instances_per_epoch = r->inst.n;
	res->n_users = r->ds->n_users - 1;
	res->n_items = r->ds->n_items - 1;
	res->n_interactions = r->ds->n_inter;
	res->n_eval_users = r->sp.n_eval;
	return NN_OK;
}

/* Release everything but the returned model. */
static void
teardown(Run *r, int keep_model)
{
	nn_work_free(r->work);
	batch_free(&r->bb);
	free(r->best);
	nn_ds_instances_free(&r->inst);
	nn_ds_split_free(&r->sp);
	if (!keep_model)
		nn_model_free(&r->m);
}

/* Memory estimate; see trainer.h. */
uint64_t
nn_trainer_memory_estimate(const NnDataset *ds, const NnConfig *cfg, int threads)
{
	NnConfig	c = *cfg;
	uint64_t	params,
				per_thread,
				data,
				rows = (uint64_t) c.batch;

	nn_config_set_data(&c, ds->n_items, ds->n_users, ds->n_events < 1 ? 1 : ds->n_events);
	params = (uint64_t) nn_model_param_count(&c) * sizeof(float);
	if (c.use_category && ds->n_cats >= 2)
		/* category tables (+ Adam, gradient) and the effective tables */
		params += ((uint64_t) ds->n_cats * 4 + (uint64_t) ds->n_items) *
			(3 * (uint64_t) c.d + 1) * sizeof(float) + (uint64_t) ds->n_items * 4;
	/* activations and gradients of one shard's rows: inputs, im2col, features */
	per_thread = rows * ((uint64_t) c.M * c.d * 8 + (uint64_t) c.L * c.L * c.d * 2 +
						 (uint64_t) (c.nv * c.d + c.nh * c.L + c.d) * 6 + (uint64_t) c.d * 8) * sizeof(float);
	if (c.loss == NN_LOSS_SOFTMAX_FULL)
		per_thread += rows * (uint64_t) c.N * 2 * sizeof(float);
	else
		per_thread += rows * (uint64_t) (c.T + 1) * (c.negatives + 1) * 2 * c.d * sizeof(float);
	/* CSR sequences, split sets, instances (int32 pairs), id maps */
	data = (uint64_t) ds->n_inter * (4 + 4 + 8 + 4 + 4 + 8) + (uint64_t) ds->n_users * 48 +
		(uint64_t) ds->n_items * 32;
	/* params + Adam m, v + best copy + one dense gradient per thread */
	return params * (4 + (uint64_t) (threads < 1 ? 1 : threads)) +
		per_thread * (uint64_t) (threads < 1 ? 1 : threads) + data + (uint64_t) c.N * 8 +
		nn_cooc_memory_estimate(c.N, ds->n_inter, c.cooc_k, c.cooc_window);
}

static int	trainer_run(const NnDataset *ds, const NnConfig *cfg, const NnTrainSettings *s,
						NnModel *out, NnTrainResult *res, char *msg, size_t msglen);

/*
 * Train; see trainer.h.  Subnormal floats are flushed to zero meanwhile
 * (x86 MXCSR FTZ and DAZ, inherited by the pool's threads, which are
 * created inside): late in training tiny gradients, Adam moments and
 * activations turn subnormal, and every operation on one takes a microcode
 * assist, which halved the caser preset's speed after a dozen epochs.
 * Values that small do not change a float32 model.
 */
int
nn_trainer_run(const NnDataset *ds, const NnConfig *cfg, const NnTrainSettings *s,
			   NnModel *out, NnTrainResult *res, char *msg, size_t msglen)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int saved = _mm_getcsr();
	int			rc;

	_mm_setcsr(saved | 0x8040);	/* FTZ | DAZ */
	rc = trainer_run(ds, cfg, s, out, res, msg, msglen);
	_mm_setcsr(saved);
	return rc;
#else
	return trainer_run(ds, cfg, s, out, res, msg, msglen);
#endif
}

/* The training run itself. */
static int
trainer_run(const NnDataset *ds, const NnConfig *cfg, const NnTrainSettings *s,
			NnModel *out, NnTrainResult *res, char *msg, size_t msglen)
{
	Run			r;
	int			rc;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.ds = ds;
	r.s = s;
	r.msg = msg;
	r.msglen = msglen;
	r.cfg = *cfg;
	if (ds == NULL || !ds->finalized || ds->n_items < 2 || ds->n_users < 2)
		return fail(&r, NN_ERR_DATA, "the data has no users or items", NULL);
	if (ds->n_items < 3)
		return fail(&r, NN_ERR_DATA, "at least 2 distinct items are needed to rank anything", NULL);
	/* without event types there is nothing for the event table to learn */
	if (ds->n_events < 2)
		r.cfg.use_event_emb = 0;
	nn_config_set_data(&r.cfg, ds->n_items, ds->n_users, ds->n_events < 1 ? 1 : ds->n_events);
	/* item-category tables need categories in the data (the returned model
	 * has the switch off either way: tables are folded, blobs store none) */
	r.cfg.n_C = ds->n_cats >= 2 && ds->item_cat != NULL ? ds->n_cats : 0;
	if (r.cfg.n_C == 0)
		r.cfg.use_category = 0;
	if (nn_config_validate(&r.cfg, msg, msglen) != NN_OK)
		return NN_ERR_CONFIG;
	if (r.cfg.d > 1024)
		return fail(&r, NN_ERR_CONFIG, "d is limited to 1024 for training", NULL);
	r.t_start = now_sec();
	rc = setup(&r, res);
	if (rc == NN_OK)
		rc = train_loop(&r, res);
	if (rc == NN_OK)
		rc = choose_cooc(&r, res);
	if (rc == NN_OK)
		rc = final_eval(&r, res);
	res->train_seconds = r.train_sec;
	res->inst_per_sec = r.trained / (r.train_sec + 1e-9);
	if (rc == NN_OK && !s->keep_adam)
	{
		free(r.m.adam_m);		/* m and v share one allocation */
		r.m.adam_m = r.m.adam_v = NULL;
	}
	if (rc == NN_OK)
		*out = r.m;
	teardown(&r, rc == NN_OK);
	return rc;
}
