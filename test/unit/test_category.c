/*
 * test_category.c
 *		Item-category tables (src/nn/category.c) outside the gradient check
 *		(test_gradcheck.c): the dataset's item -> category map, training
 *		steps (PAD rows stay 0, the category tables move, the effective
 *		tables follow, refreshed per batch under sampled losses exactly as
 *		if refreshed whole), folding (the plain model scores exactly like
 *		the effective one), and "off" leaving a model bit-identical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "nn_fixture.h"
#include "nn/blob.h"
#include "nn/dataset.h"

/* Dataset map: most frequent category, ties to the smallest id, none. */
static void
test_dataset(void)
{
	NnDataset	ds;
	int			u;

	nn_ds_init(&ds);
	for (u = 1; u <= 3; u++)
	{
		nn_ds_append_category(&ds, u, 100, 10 * u + 1, 1, 7);	/* 100: 7 x3, 9 x1 */
		nn_ds_append_category(&ds, u, 200, 10 * u + 2, 1, u == 1 ? 9 : 5);	/* 200: 5 x2, 9 x1 */
		nn_ds_append(&ds, u, 300, 10 * u + 3, 1);	/* 300: none */
	}
	nn_ds_append_category(&ds, 1, 100, 50, 1, 9);
	nn_ds_append_category(&ds, 2, 400, 60, 1, 3);	/* 400: 3 x1, 8 x1 -> 3 */
	nn_ds_append_category(&ds, 3, 400, 61, 1, 8);
	ok(nn_ds_finalize(&ds, NULL) == NN_DS_OK, "finalize with categories");
	/* chosen: 100 -> 7, 200 -> 5, 400 -> 3; dense 1 = 3, 2 = 5, 3 = 7 */
	is_double(ds.n_cats, 4, 0, "n_cats counts the chosen categories and PAD");
	ok(ds.cat_ext[1] == 3 && ds.cat_ext[2] == 5 && ds.cat_ext[3] == 7, "category ids ascending");
	ok(ds.item_cat[nn_ds_item_id(&ds, 100)] == 3, "most frequent category wins");
	ok(ds.item_cat[nn_ds_item_id(&ds, 200)] == 2, "most frequent category wins (2)");
	ok(ds.item_cat[nn_ds_item_id(&ds, 400)] == 1, "ties go to the smallest id");
	ok(ds.item_cat[nn_ds_item_id(&ds, 300)] == 0, "an item without category gets 0");
	ok(ds.item_cat[0] == 0 && ds.cat_pairs == NULL, "PAD item 0, pairs freed");
	nn_ds_free(&ds);

	nn_ds_init(&ds);
	nn_ds_append(&ds, 1, 1, 1, 0);
	nn_ds_append_category(&ds, 1, 2, 2, 0, 0);
	ok(nn_ds_finalize(&ds, NULL) == NN_DS_OK && ds.n_cats == 0 && ds.item_cat == NULL,
	   "no categories appended: n_cats 0");
	nn_ds_free(&ds);
}

static const int32_t item_cat[7] = {0, 1, 2, 1, 3, 0, 2};

/* Max |a - b| over n floats. */
static double
maxdiff(const float *a, const float *b, size_t n)
{
	double		m = 0.0;
	size_t		i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs((double) a[i] - b[i]));
	return m;
}

/* Steps with the tables, then folding. */
static void
test_train_fold(NnLoss loss, int flags)
{
	NnConfig	c;
	NnModel		m;
	NnModel		plain;
	NnWork	   *w;
	TBatch		tb;
	float	   *X;
	float	   *S1;
	float	   *S2;
	float	   *folded;
	double		l;
	int			err;
	int			k;
	int			rc = NN_OK;
	size_t		d;
	NnInfer    *inf;
	char		msg[128];

	tiny_config(&c, "tacaser", loss);
	c.use_category = NN_CAT_BOTH;
	c.n_C = 4;
	d = (size_t) c.d;
	ok(make_model(&m, &c) == NN_OK && m.cat_params != NULL, "%s: model with category tables",
	   nn_loss_name(loss));
	ok(nn_model_set_categories(&m, item_cat) == NN_OK, "category map accepted");
	{
		int32_t		bad[7] = {0, 1, 2, 4, 0, 0, 0};

		ok(nn_model_set_categories(&m, bad) == NN_ERR_BATCH, "category id out of range refused");
	}
	ok(maxdiff(m.Q, m.params + m.tensors[NN_T_Q].offset, 7 * d) == 0.0,
	   "zero init: effective Q = base Q");
	tb_make(&tb, &c, 4, 42, flags);
	w = nn_work_create(&m, 4, 1, 1, &err);
	for (k = 0; k < 5 && rc == NN_OK; k++)
		rc = nn_train_step(&m, w, &tb.b, &l);
	ok(rc == NN_OK, "five steps");
	{
		int			pad0 = 1;
		int			moved = 0;
		size_t		j;

		for (j = 0; j < d; j++)
			pad0 &= m.Cin[j] == 0.0f;
		for (j = 0; j < 2 * d; j++)
			pad0 &= m.Cout[j] == 0.0f;
		pad0 &= m.cb[0] == 0.0f && m.Q[0] == 0.0f;
		for (j = d; j < 4 * d; j++)
			moved |= m.Cin[j] != 0.0f;
		ok(pad0, "PAD rows of the category tables stay 0");
		ok(moved, "the category tables were trained");
	}
	/* sampled losses refresh only the rows a batch reads: bring all up to date */
	ok(m.eff_stale == (m.tensors[m.t_W2].sparse ? 1 : 0),
	   "%s: effective tables stale after a step only under a sampled loss", nn_loss_name(loss));
	nn_model_category_sync(&m);
	{
		/* effective = base + category, item 5 has none */
		const float *Qb = m.params + m.tensors[NN_T_Q].offset;
		const float *W2b = m.params + m.tensors[m.t_W2].offset;
		float		e[8];
		size_t		j;

		for (j = 0; j < d; j++)
			e[j] = Qb[3 * d + j] + m.Cin[1 * d + j];
		ok(maxdiff(e, m.Q + 3 * d, d) == 0.0, "Q_eff[3] = Q[3] + C_in[1]");
		ok(maxdiff(Qb + 5 * d, m.Q + 5 * d, d) == 0.0, "Q_eff[5] = Q[5] (no category)");
		for (j = 0; j < 2 * d; j++)
			e[j] = W2b[4 * 2 * d + j] + m.Cout[3 * 2 * d + j];
		ok(maxdiff(e, m.W2 + 4 * 2 * d, 2 * d) == 0.0, "W2_eff[4] = W2[4] + C_out[3]");
		ok(m.b2[6] == m.params[m.tensors[m.t_b2].offset + 6] + m.cb[2], "b2_eff[6] = b2[6] + c_b[2]");
	}

	/* scores of the effective model vs a plain model on folded parameters */
	X = calloc(4 * 2 * d, sizeof(float));
	S1 = calloc(4 * 7, sizeof(float));
	S2 = calloc(4 * 7, sizeof(float));
	folded = malloc(sizeof(float) * m.n_params);
	inf = nn_infer_create(&m, 4);
	nn_user_vectors(&m, inf, &tb.b, X);
	nn_score_block(&m, X, 4, S1);
	nn_model_folded_params(&m, folded);
	c.n_C = 0;
	ok(nn_model_init(&plain, &c, folded, msg, sizeof(msg)) == NN_OK && plain.cat_params == NULL,
	   "plain model on the folded parameters");
	{
		float	   *X2 = calloc(4 * 2 * d, sizeof(float));

		nn_user_vectors(&plain, NULL, &tb.b, X2);
		nn_score_block(&plain, X2, 4, S2);
		ok(maxdiff(X, X2, 4 * 2 * d) == 0.0 && memcmp(S1, S2, sizeof(float) * 4 * 7) == 0,
		   "folded model: identical user vectors and scores");
		free(X2);
	}
	{
		uint8_t    *buf = NULL;
		size_t		len = 0;

		ok(nn_blob_write(&m, NULL, 0, &buf, &len, msg, sizeof(msg)) == NN_BLOB_EHEADER && buf == NULL,
		   "blob: a model with category tables is refused (%s)", msg);
	}
	nn_model_fold_categories(&m);
	ok(m.cat_params == NULL && m.eff == NULL && m.cfg.n_C == 0 &&
	   m.Q == m.params + m.tensors[NN_T_Q].offset &&
	   memcmp(m.params, folded, sizeof(float) * m.n_params) == 0,
	   "fold in place: plain model, same parameters");
	nn_model_free(&plain);
	nn_infer_free(inf);
	free(folded);
	free(X);
	free(S1);
	free(S2);
	nn_work_free(w);
	tb_free(&tb);
	nn_model_free(&m);
}

/*
 * Under a sampled loss a step refreshes only the effective rows its batch
 * reads: six different batches give parameters, category tables and (once
 * synced) effective tables bit-identical to refreshing every row after
 * every step.
 */
static void
test_lazy_refresh(NnLoss loss, int flags)
{
	NnConfig	c;
	NnModel		a;
	NnModel		b;
	NnWork	   *wa;
	NnWork	   *wb;
	TBatch		tb[6];
	double		l;
	int			err;
	int			k;
	int			rc = NN_OK;
	const char *name = nn_loss_name(loss);

	tiny_config(&c, "tacaser", loss);
	c.use_category = NN_CAT_BOTH;
	c.n_C = 4;
	make_model(&a, &c);
	make_model(&b, &c);
	nn_model_set_categories(&a, item_cat);
	nn_model_set_categories(&b, item_cat);
	wa = nn_work_create(&a, 4, 1, 1, &err);
	wb = nn_work_create(&b, 4, 1, 1, &err);
	for (k = 0; k < 6; k++)
		tb_make(&tb[k], &c, 4, 100 + k, flags);
	for (k = 0; k < 6 && rc == NN_OK; k++)
	{
		rc = nn_train_step(&a, wa, &tb[k].b, &l);
		if (rc == NN_OK)
			rc = nn_train_step(&b, wb, &tb[k].b, &l);
		nn_model_category_sync(&b);	/* eager: every row after every step */
	}
	ok(rc == NN_OK && a.eff_stale && !b.eff_stale, "%s: six steps, lazy model stale", name);
	ok(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0 &&
	   memcmp(a.cat_params, b.cat_params, sizeof(float) * a.n_cat_params) == 0,
	   "%s: rows refreshed per batch = all rows per step (parameters, category tables)", name);
	nn_model_category_sync(&a);
	ok(memcmp(a.eff, b.eff, sizeof(float) * (size_t) c.N * (3 * (size_t) c.d + 1)) == 0,
	   "%s: effective tables identical once synced", name);
	for (k = 0; k < 6; k++)
		tb_free(&tb[k]);
	nn_work_free(wa);
	nn_work_free(wb);
	nn_model_free(&a);
	nn_model_free(&b);
}

/* use_category without categories (n_C 0) trains exactly like off. */
static void
test_off_identical(void)
{
	NnConfig	c;
	NnModel		a;
	NnModel		b;
	NnWork	   *wa;
	NnWork	   *wb;
	TBatch		tb;
	double		l;
	int			err;
	int			k;

	tiny_config(&c, "tacaser", NN_LOSS_SOFTMAX_FULL);
	make_model(&a, &c);
	c.use_category = NN_CAT_BOTH;	/* n_C = 0: inactive */
	make_model(&b, &c);
	ok(b.cat_params == NULL && !nn_config_category_active(&c), "no categories: tables off");
	tb_make(&tb, &c, 4, 9, 2);
	wa = nn_work_create(&a, 4, 1, 1, &err);
	wb = nn_work_create(&b, 4, 1, 1, &err);
	for (k = 0; k < 3; k++)
	{
		nn_train_step(&a, wa, &tb.b, &l);
		nn_train_step(&b, wb, &tb.b, &l);
	}
	ok(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0,
	   "bit-identical parameters after three steps");
	nn_work_free(wa);
	nn_work_free(wb);
	tb_free(&tb);
	nn_model_free(&a);
	nn_model_free(&b);
}

int
main(void)
{
	test_dataset();
	test_train_fold(NN_LOSS_SOFTMAX_FULL, 2);
	test_train_fold(NN_LOSS_SOFTMAX_SAMPLED, 3);
	test_train_fold(NN_LOSS_BCE, 0);
	test_lazy_refresh(NN_LOSS_SOFTMAX_SAMPLED, 3);
	test_lazy_refresh(NN_LOSS_BPR, 0);
	test_off_identical();
	return done_testing();
}
