/*
 * loss.c
 *		Output layer F10, the losses of model-spec.md §5.6 and the output
 *		backward B1 (§5.7), for one shard.
 *
 * Score matrix Y (rows x ny), overwritten in place by dl/dy:
 *   bce, bce_per_target, bpr: columns = the row's candidates (T targets,
 *     then its negatives), one dot product each (§5.14 "per-row
 *     candidates");
 *   softmax_sampled: T target columns (dot products), then K shared
 *     negatives from one GEMM against the gathered rows W2C (§5.14);
 *   softmax_full: all N items from one GEMM, column 0 masked.
 * Scalar loss terms are evaluated in double with the stable softplus /
 * sigmoid of §5.6; the exponentials over many candidates (softmax) use the
 * vectorised nn_vexp_sum of blas.c (~1 ulp), summed in a fixed order.  Normalisers (1/n_pos, 1/(B K), 1/|Pi|) are batch-global and come
 * from train.c.
 *
 * B1 for the sparse tables is not done here: the W2/b2 row gradients of the
 * per-row candidates are gy * x, summed per row slot by the reduction in
 * train.c from Y (now dl/dy) and Xo.  The shard computes only dx, and for
 * the shared negatives of sampled softmax dW2C = dY^T X (one GEMM); under
 * full softmax dW2 = dY^T X and db2 go straight into the dense gradient.
 *
 * Choices the spec leaves open:
 *  - BPR includes the target weight in the loss value as well as in the
 *    gradient (the spec's formula omits it), so the reported loss is the
 *    function whose gradient is applied.
 *  - bce_per_target: negatives of a missing target are skipped; negative
 *    terms are unweighted, as in (a).
 *  - A negative id 0 ("no sample") is skipped everywhere; for bce the
 *    normaliser stays 1/(B K) as in the formula.
 */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "model_impl.h"

/* softplus(v) = max(v, 0) + log1p(exp(-|v|)). */
static double
softplus(double v)
{
	return fmax(v, 0.0) + log1p(exp(-fabs(v)));
}

/* Stable logistic function. */
static double
sigmoid(double v)
{
	if (v >= 0.0)
		return 1.0 / (1.0 + exp(-v));
	else
	{
		double		e = exp(v);

		return e / (1.0 + e);
	}
}

/* Row stride of Y for a configuration. */
int
nn_loss_ny(const NnConfig *c)
{
	switch (c->loss)
	{
		case NN_LOSS_SOFTMAX_SAMPLED:
			return c->T + c->negatives;
		case NN_LOSS_SOFTMAX_FULL:
			return c->N;
		default:
			return c->T + nn_config_neg_per_row(c);
	}
}

/* F10 for per-row candidates: Y[i][j] = W2[cand].x + b2[cand] (0 if id 0). */
static void
score_row_candidates(const NnModel *m, NnShard *sh, const NnPrep *p, int ncols)
{
	int			d2 = 2 * m->cfg.d;
	int			i;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		const int32_t *cand = p->cand + (size_t) (sh->row0 + i) * p->Kc;
		const float *x = sh->Xo + (size_t) i * d2;
		float	   *y = sh->Y + (size_t) i * p->ny;

		for (j = 0; j < ncols; j++)
			y[j] = cand[j] ? nn_sdot(d2, m->W2 + (size_t) cand[j] * d2, x) + m->b2[cand[j]]
				: 0.0f;
	}
}

/* (a) BCE (one list of K per row, or K per target). */
static double
loss_bce(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			T = c->T;
	int			per_target = (c->loss == NN_LOSS_BCE_PER_TARGET);
	double		loss = 0.0;
	int			i;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		const int32_t *cand = p->cand + (size_t) b * p->Kc;
		const float *w = p->wt + (size_t) b * T;
		float	   *y = sh->Y + (size_t) i * p->ny;

		for (j = 0; j < T; j++)
		{
			double		v = y[j];

			if (cand[j] == 0)
			{
				y[j] = 0.0f;
				continue;
			}
			loss += w[j] * softplus(-v) * p->inv_pos;
			y[j] = (float) (-w[j] * sigmoid(-v) * p->inv_pos);
		}
		for (j = T; j < p->Kc; j++)
		{
			double		v = y[j];

			if (cand[j] == 0 || (per_target && cand[(j - T) / c->negatives] == 0))
			{
				y[j] = 0.0f;
				continue;
			}
			loss += softplus(v) * p->inv_neg;
			y[j] = (float) (sigmoid(v) * p->inv_neg);
		}
	}
	return loss;
}

/* (b) BPR over the pairs (target t, negative j) of each row. */
static double
loss_bpr(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	int			T = m->cfg.T;
	double		loss = 0.0;
	int			i;
	int			t;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		const int32_t *cand = p->cand + (size_t) b * p->Kc;
		const float *w = p->wt + (size_t) b * T;
		float	   *y = sh->Y + (size_t) i * p->ny;
		float	   *ys = sh->tmp;

		memcpy(ys, y, sizeof(float) * p->Kc);
		memset(y, 0, sizeof(float) * p->Kc);
		for (t = 0; t < T; t++)
		{
			if (cand[t] == 0)
				continue;
			for (j = T; j < p->Kc; j++)
			{
				double		diff;
				double		g;

				if (cand[j] == 0)
					continue;
				diff = (double) ys[t] - (double) ys[j];
				loss += w[t] * softplus(-diff) * p->inv_neg;
				g = w[t] * sigmoid(-diff) * p->inv_neg;
				y[t] -= (float) g;
				y[j] += (float) g;
			}
		}
	}
	return loss;
}

/* B1 for per-row candidates: dx = sum_j gy[j] W2[cand_j]. */
static void
back_row_candidates(const NnModel *m, NnShard *sh, const NnPrep *p, int ncols)
{
	int			d2 = 2 * m->cfg.d;
	int			i;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		const int32_t *cand = p->cand + (size_t) (sh->row0 + i) * p->Kc;
		const float *gy = sh->Y + (size_t) i * p->ny;
		float	   *dx = sh->dXo + (size_t) i * d2;

		for (j = 0; j < ncols; j++)
			if (cand[j] != 0 && gy[j] != 0.0f)
				nn_saxpy(d2, gy[j], m->W2 + (size_t) cand[j] * d2, dx);
	}
}

/* 1 if item id is one of the row's (non-missing) targets. */
static int
is_target(const int32_t *tg, int T, int32_t id)
{
	int			t;

	for (t = 0; t < T; t++)
		if (tg[t] == id)
			return 1;
	return 0;
}

/* (c) sampled softmax with shared negatives, accidental hits masked. */
static double
loss_sampled(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	int			T = m->cfg.T;
	int			K = p->K;
	double		loss = 0.0;
	int			i;
	int			t;
	int			k;

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		const int32_t *tg = p->cand + (size_t) b * p->Kc;
		const float *w = p->wt + (size_t) b * T;
		float	   *y = sh->Y + (size_t) i * p->ny;
		float	   *yn = y + T;
		unsigned char *excl = (unsigned char *) sh->tmp;	/* K flags */
		int			have = 0;
		float		mneg = 0.0f;
		double		sneg = 0.0;
		double		coef = 0.0;

		/* max over the row's candidate negatives (excluded: id 0, targets) */
		for (k = 0; k < K; k++)
		{
			excl[k] = p->shared[k] == 0 || is_target(tg, T, p->shared[k]);
			if (excl[k])
				continue;
			if (!have || yn[k] > mneg)
				mneg = yn[k];
			have = 1;
		}
		/* e_k = exp(y_k - mneg), in place (vectorised); excluded ones 0 */
		nn_vexp_sum(K, yn, mneg, yn);
		for (k = 0; k < K; k++)
		{
			if (excl[k])
				yn[k] = 0.0f;
			sneg += yn[k];
		}
		for (t = 0; t < T; t++)
		{
			double		yp;
			double		mx;
			double		epos;
			double		z;

			if (tg[t] == 0)
			{
				y[t] = 0.0f;
				continue;
			}
			yp = (double) y[t] - (p->logq ? p->logq[tg[t]] : 0.0);
			mx = have && mneg > yp ? mneg : yp;
			epos = exp(yp - mx);
			z = epos + (have ? sneg * exp(mneg - mx) : 0.0);
			loss += w[t] * (mx + log(z) - yp) * p->inv_pos;
			y[t] = (float) (w[t] * (epos / z - 1.0) * p->inv_pos);
			if (have)
				coef += w[t] * exp(mneg - mx) / z * p->inv_pos;
		}
		for (k = 0; k < K; k++)
			yn[k] = (float) (coef * yn[k]);
	}
	return loss;
}

/* (c) full softmax over items 1..N-1; the row's targets share one lse. */
static double
loss_full(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	int			T = m->cfg.T;
	int			N = m->cfg.N;
	double		loss = 0.0;
	int			i;
	int			t;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		const int32_t *tg = p->cand + (size_t) b * p->Kc;
		const float *w = p->wt + (size_t) b * T;
		float	   *y = sh->Y + (size_t) i * N;
		double		wsum = 0.0;
		double		s = 0.0;
		double		lse;
		float		mx;
		float		scale;
		int			any = 0;

		for (t = 0; t < T; t++)
			if (tg[t] != 0)
			{
				any = 1;
				wsum += w[t];
				/* -w y_p now, + w lse below */
				loss -= w[t] * (double) y[tg[t]] * p->inv_pos;
			}
		if (!any)
		{
			memset(y, 0, sizeof(float) * N);
			continue;
		}
		mx = nn_vmax(N - 1, y + 1);
		s = nn_vexp_sum(N - 1, y + 1, mx, y + 1);
		lse = mx + log(s);
		loss += wsum * lse * p->inv_pos;
		/* gy = (sum_t w_t) softmax - sum_t w_t onehot(p_t), / n_pos */
		scale = (float) (wsum / s * p->inv_pos);
		y[0] = 0.0f;
		for (j = 1; j < N; j++)
			y[j] *= scale;
		for (t = 0; t < T; t++)
			if (tg[t] != 0)
				y[tg[t]] -= (float) (w[t] * p->inv_pos);
	}
	return loss;
}

/* Column sums of a rows x n block (stride ld) added into out. */
static void
add_colsums(int rows, int n, const float *A, int ld, float *out)
{
	int			i;

	for (i = 0; i < rows; i++)
		nn_saxpy(n, 1.0f, A + (size_t) i * ld, out);
}

/* F10 + loss (+ B1 when backward) for the shard; sets sh->loss. */
void
nn_shard_loss(const NnModel *m, NnShard *sh, const NnPrep *p, int backward)
{
	const NnConfig *c = &m->cfg;
	int			d2 = 2 * c->d;
	int			T = c->T;

	sh->loss = 0.0;
	if (sh->rows <= 0)
		return;
	if (backward)
		memset(sh->dXo, 0, sizeof(float) * (size_t) sh->rows * d2);
	switch (c->loss)
	{
		case NN_LOSS_BCE:
		case NN_LOSS_BCE_PER_TARGET:
		case NN_LOSS_BPR:
			score_row_candidates(m, sh, p, p->Kc);
			sh->loss = (c->loss == NN_LOSS_BPR) ? loss_bpr(m, sh, p) : loss_bce(m, sh, p);
			if (backward)
				back_row_candidates(m, sh, p, p->Kc);
			break;
		case NN_LOSS_SOFTMAX_SAMPLED:
			score_row_candidates(m, sh, p, T);
			nn_sgemm(NN_NOTRANS, NN_TRANS, sh->rows, p->K, d2, 1.0f, sh->Xo, d2,
					 p->W2C, d2, 0.0f, sh->Y + T, p->ny);
			{
				int			i;

				for (i = 0; i < sh->rows; i++)
					nn_saxpy(p->K, 1.0f, p->b2C, sh->Y + (size_t) i * p->ny + T);
			}
			sh->loss = loss_sampled(m, sh, p);
			if (backward)
			{
				/* dx = dYn W2C + sum_t gy_t W2[p_t]; dW2C = dYn^T X */
				nn_sgemm(NN_NOTRANS, NN_NOTRANS, sh->rows, d2, p->K, 1.0f, sh->Y + T, p->ny,
						 p->W2C, d2, 0.0f, sh->dXo, d2);
				back_row_candidates(m, sh, p, T);
				nn_sgemm(NN_TRANS, NN_NOTRANS, p->K, d2, sh->rows, 1.0f, sh->Y + T, p->ny,
						 sh->Xo, d2, 0.0f, sh->dW2C, d2);
				memset(sh->db2C, 0, sizeof(float) * p->K);
				add_colsums(sh->rows, p->K, sh->Y + T, p->ny, sh->db2C);
			}
			break;
		case NN_LOSS_SOFTMAX_FULL:
			nn_sgemm(NN_NOTRANS, NN_TRANS, sh->rows, c->N, d2, 1.0f, sh->Xo, d2,
					 m->W2, d2, 0.0f, sh->Y, c->N);
			{
				int			i;

				for (i = 0; i < sh->rows; i++)
					nn_saxpy(c->N, 1.0f, m->b2, sh->Y + (size_t) i * c->N);
			}
			sh->loss = loss_full(m, sh, p);
			if (backward)
			{
				/* dx = dY W2 ; dW2 += dY^T X ; db2 += colsum(dY) (dense) */
				nn_sgemm(NN_NOTRANS, NN_NOTRANS, sh->rows, d2, c->N, 1.0f, sh->Y, c->N,
						 m->W2, d2, 0.0f, sh->dXo, d2);
				nn_sgemm(NN_TRANS, NN_NOTRANS, c->N, d2, sh->rows, 1.0f, sh->Y, c->N,
						 sh->Xo, d2, 1.0f, sh->grad + m->tensors[m->t_W2].goff, d2);
				add_colsums(sh->rows, c->N, sh->Y, c->N, sh->grad + m->tensors[m->t_b2].goff);
			}
			break;
		default:
			break;
	}
}
