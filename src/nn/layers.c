/*
 * layers.c
 *		Batched forward F1-F9 and backward B2-B10 of one shard
 *		(model-spec.md §5.5, §5.7, §5.14).  The output layer, the losses and
 *		B1 are in loss.c; the sparse-table scatter of B10 (Q, and P, W2 rows)
 *		is done by the reduction in train.c from dX / dP / dY.
 *
 * Layout (§5.14): X is [rows][M][d]; the conv block of row i is the
 * contiguous E_i = X_i + (M-L)*d (L x d).  Valid events of a row form the
 * suffix l >= M - n_i (train.c packs them there).
 *
 * GEMMs (via blas.h): horizontal conv forward by im2col per height
 * (Z_h F_h^T; backward on the argmax windows only, B7); r = W_K^T q for
 * the whole shard (Qm W_K); FC1 forward (C~ W1^T) and backward (dPre^T C~,
 * dPre W1); W_K backward (Qm^T dR, dR W_K^T).  Attention per row by GEMV
 * over the valid rows X_v (scores X_v r, a = X_v^T alpha, d alpha = X_v da,
 * dr = X_v^T d score), as §5.14 suggests.  Small per-row work (gathers,
 * vertical conv, max-pool) uses the vector helpers of blas.h.
 *
 * Padded rows whose gradient would be discarded are not cleared or used;
 * the results are the same as the spec's formulas.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "model_impl.h"

/* ---- allocation ---------------------------------------------------- */

/* Bump allocator over one float block, 16-float (64-byte) aligned parts. */
typedef struct Bump
{
	float	   *base;
	size_t		used;
} Bump;

static float *
bump(Bump *b, size_t n)
{
	float	   *p = b->base ? b->base + b->used : NULL;

	b->used += (n + 15) & ~(size_t) 15;
	return p;
}

/* Largest im2col block of one height, in units of d floats per row. */
static size_t
zmax(const NnConfig *c)
{
	size_t		best = 0;
	int			h;

	for (h = 1; h <= c->L; h++)
		if ((size_t) h * (c->L - h + 1) > best)
			best = (size_t) h * (c->L - h + 1);
	return best;
}

/* Assign (base != NULL) or size (base == NULL) every buffer of a shard. */
static size_t
shard_layout(NnShard *sh, const NnModel *m, float *base)
{
	const NnConfig *c = &m->cfg;
	size_t		cap = (size_t) sh->cap;
	size_t		Md = (size_t) c->M * c->d;
	size_t		d = (size_t) c->d;
	size_t		Dc = (size_t) m->Dc;
	int			K = nn_config_neg_shared(c);
	Bump		b = {base, 0};

	sh->X = bump(&b, cap * Md);
	sh->Z = bump(&b, c->use_horizontal ? cap * zmax(c) * d : 0);
	sh->Uh = bump(&b, c->use_horizontal ? cap * c->L * (size_t) c->nh : 0);
	sh->C = bump(&b, cap * Dc);
	sh->Qm = bump(&b, c->use_attention ? cap * d : 0);
	sh->R = bump(&b, c->use_attention ? cap * d : 0);
	sh->alpha = bump(&b, c->use_attention ? cap * c->M : 0);
	sh->Xo = bump(&b, cap * 2 * d);
	sh->tmp = bump(&b, (size_t) (c->M > nn_loss_ny(c) ? c->M : nn_loss_ny(c)));
	if (sh->mode >= NN_RUN_LOSS)
	{
		sh->mask = bump(&b, cap * Dc);
		sh->Ct = bump(&b, cap * Dc);
		sh->Y = bump(&b, cap * (size_t) nn_loss_ny(c));
	}
	if (sh->mode >= NN_RUN_TRAIN)
	{
		sh->dX = bump(&b, cap * Md);
		sh->dC = bump(&b, cap * Dc);
		sh->dPre = bump(&b, cap * d);
		sh->dXo = bump(&b, cap * 2 * d);
		sh->dR = bump(&b, c->use_attention ? cap * d : 0);
		sh->dQm = bump(&b, c->use_attention ? cap * d : 0);
		sh->dP = bump(&b, cap * d);
		sh->grad = bump(&b, m->n_dense);
		sh->dW2C = bump(&b, (size_t) K * 2 * d);
		sh->db2C = bump(&b, (size_t) K);
	}
	return b.used;
}

/* Allocate the buffers of a shard for up to cap rows. */
int
nn_shard_alloc(NnShard *sh, const NnModel *m, int cap, int mode)
{
	size_t		n;
	void	   *mem = NULL;

	memset(sh, 0, sizeof(*sh));
	sh->cap = cap;
	sh->mode = mode;
	n = shard_layout(sh, m, NULL);
	if (posix_memalign(&mem, 64, (n + 16) * sizeof(float)) == 0)
		sh->fbuf = (float *) mem;
	sh->am = (int32_t *) malloc(sizeof(int32_t) * ((size_t) cap * m->Dh + 1));
	if (sh->fbuf == NULL || sh->am == NULL)
	{
		nn_shard_free(sh);
		return NN_ERR_NOMEM;
	}
	memset(sh->fbuf, 0, (n + 16) * sizeof(float));
	shard_layout(sh, m, sh->fbuf);
	return NN_OK;
}

void
nn_shard_free(NnShard *sh)
{
	free(sh->fbuf);
	free(sh->am);
	memset(sh, 0, sizeof(*sh));
}

/* ---- forward ------------------------------------------------------- */

/* First history position the model reads for a row with n valid events:
 * every valid one with attention, else the valid part of the conv block. */
static inline int
first_read(const NnConfig *c, int n)
{
	int			first = c->M - n;

	return (c->use_attention || first > c->M - c->L) ? first : c->M - c->L;
}

/* F1: X[l] = Q[s] + A[e] + G[g] for valid l; padded rows of the conv
 * block are zero.  Without attention only the conv block is read. */
static void
fwd_inputs(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M;
	int			d = c->d;
	int			i;
	int			l;

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		int			first = M - p->nvalid[b];
		float	   *Xi = sh->X + (size_t) i * M * d;
		const int32_t *s = p->items + (size_t) b * M;

		for (l = M - c->L; l < first; l++)
			memset(Xi + (size_t) l * d, 0, sizeof(float) * d);
		for (l = first_read(c, p->nvalid[b]); l < M; l++)
		{
			float	   *x = Xi + (size_t) l * d;
			const float *q = m->Q + (size_t) s[l] * d;
			const float *a = m->A ? m->A + (size_t) p->events[(size_t) b * M + l] * d : NULL;
			const float *g = m->G ? m->G + (size_t) p->tbucket[(size_t) b * M + l] * d : NULL;

			if (a == NULL && g == NULL)
				memcpy(x, q, sizeof(float) * d);
			else if (a == NULL || g == NULL)
				nn_vadd3(d, q, a ? a : g, NULL, x);
			else
				nn_vadd3(d, q, a, g, x);
		}
	}
}

/* F3: o_v = W_v E + c_v (no activation), into C[i][0 .. Dv). */
static void
fwd_vertical(const NnModel *m, NnShard *sh)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			i;
	int			k;
	int			r;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		const float *E = sh->X + ((size_t) i * c->M + c->M - c->L) * d;
		float	   *Ci = sh->C + (size_t) i * m->Dc;

		for (k = 0; k < c->nv; k++)
		{
			float	   *v = Ci + (size_t) k * d;

			for (j = 0; j < d; j++)
				v[j] = m->cv[k];
			for (r = 0; r < c->L; r++)
				nn_saxpy(d, m->Wv[k * c->L + r], E + (size_t) r * d, v);
		}
	}
}

/* im2col for height h: Z_h row (i, t) = the h*d floats of E_i from row t. */
static void
im2col(const NnModel *m, NnShard *sh, int h)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			nt = c->L - h + 1;
	size_t		hd = (size_t) h * d;
	float	   *Z = sh->Z;
	int			i;
	int			t;

	for (i = 0; i < sh->rows; i++)
	{
		const float *E = sh->X + ((size_t) i * c->M + c->M - c->L) * d;

		for (t = 0; t < nt; t++)
			memcpy(Z + ((size_t) i * nt + t) * hd, E + (size_t) t * d,
				   sizeof(float) * hd);
	}
}

/* v[j] = relu(v[j] + b[j]) in 8-wide chunks (vectorised by gcc -O2);
 * NaN passes through. */
static void
relu_bias_row(float *restrict v, const float *restrict b, int cols)
{
	int			j;
	int			jj;

	for (j = 0; j + 8 <= cols; j += 8)
		for (jj = 0; jj < 8; jj++)
		{
			float		y = v[j + jj] + b[j + jj];

			v[j + jj] = y < 0.0f ? 0.0f : y;
		}
	for (; j < cols; j++)
	{
		float		y = v[j] + b[j];

		v[j] = y < 0.0f ? 0.0f : y;
	}
}

/* v[j] = phi(v[j] + bias[j]) for one row. */
static void
act_row(NnAct a, float *v, const float *bias, int cols)
{
	int			j;

	if (a == NN_ACT_RELU)
		relu_bias_row(v, bias, cols);
	else
		for (j = 0; j < cols; j++)
			v[j] = nn_act(a, v[j] + bias[j]);
}

/* x[r][j] = phi(x[r][j] + bias[j]) over a rows x cols block. */
static void
act_block(NnAct a, float *x, size_t rows, int cols, const float *bias)
{
	size_t		r;

	for (r = 0; r < rows; r++)
		act_row(a, x + r * cols, bias, cols);
}

/* F4 for one height h: im2col, GEMM, activation, masked max-pool. */
static void
fwd_horizontal_h(const NnModel *m, NnShard *sh, const NnPrep *p, int h)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			nh = c->nh;
	int			nt = c->L - h + 1;	/* windows per row */
	int			hd = h * d;
	int			i;
	int			t;
	int			k;
	const float *F = m->F[h - 1];
	const float *cb = m->ch[h - 1];

	im2col(m, sh, h);
	nn_sgemm(NN_NOTRANS, NN_TRANS, sh->rows * nt, nh, hd, 1.0f, sh->Z, hd,
			 F, hd, 0.0f, sh->Uh, nh);

	/* bias and activation over the whole block, then the max-pool */
	act_block(c->act_conv, sh->Uh, (size_t) sh->rows * nt, nh, cb);
	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		int			nprime = p->nvalid[b] < c->L ? p->nvalid[b] : c->L;
		int			f = c->conv_mask_windows ? c->L - nprime : 0;
		float	   *o = sh->C + (size_t) i * m->Dc + m->Dv + (size_t) (h - 1) * nh;
		int32_t    *am = sh->am + (size_t) i * m->Dh + (size_t) (h - 1) * nh;
		const float *U = sh->Uh + (size_t) i * nt * nh;

		if (f >= nt)
		{
			/* no valid window (n' < h): o = 0, no gradient */
			for (k = 0; k < nh; k++)
			{
				o[k] = 0.0f;
				am[k] = -1;
			}
			continue;
		}
		/* first valid window, then strictly larger ones (smallest t on
		 * ties); branch-free selects; a NaN is kept so it propagates */
		for (k = 0; k < nh; k++)
		{
			o[k] = U[(size_t) f * nh + k];
			am[k] = f;
		}
		for (t = f + 1; t < nt; t++)
			for (k = 0; k < nh; k++)
			{
				float		v = U[(size_t) t * nh + k];
				int			gt = (v > o[k]) | (v != v);

				o[k] = gt ? v : o[k];
				am[k] = gt ? t : am[k];
			}
	}
}

/* F5: masked temporal attention; a into C[i][Dv+Dh ..). */
static void
fwd_attention(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M;
	int			d = c->d;
	float		inv_sqrt_d = (float) (1.0 / sqrt((double) d));
	float		decay = 0.0f;
	int			i;
	int			l;

	if (c->time_mode == NN_TIME_DECAY)
	{
		double		th = m->theta[0];

		/* softplus(theta), stable */
		decay = (float) (fmax(th, 0.0) + log1p(exp(-fabs(th))));
	}
	/* q = P[u] + X[M-1] (X[M-1] = 0 for an empty history) */
	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		float	   *q = sh->Qm + (size_t) i * d;

		memcpy(q, m->P + (size_t) p->user[b] * d, sizeof(float) * d);
		if (p->nvalid[b] > 0)
			nn_saxpy(d, 1.0f, sh->X + ((size_t) i * M + M - 1) * d, q);
	}
	/* r = W_K^T q for all rows: R = Qm W_K */
	nn_sgemm(NN_NOTRANS, NN_NOTRANS, sh->rows, d, d, 1.0f, sh->Qm, d,
			 m->WK, d, 0.0f, sh->R, d);

	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		int			first = M - p->nvalid[b];
		const float *Xi = sh->X + (size_t) i * M * d;
		const float *r = sh->R + (size_t) i * d;
		float	   *al = sh->alpha + (size_t) i * M;
		float	   *a = sh->C + (size_t) i * m->Dc + m->Dv + m->Dh;
		float		mx = 0.0f;
		double		sum = 0.0;
		float		inv;

		memset(al, 0, sizeof(float) * M);
		memset(a, 0, sizeof(float) * d);
		if (first >= M)
			continue;			/* empty history: a = 0, alpha = 0 */
		/* scores over the valid suffix only (padding never exponentiated):
		 * (X_v r) / sqrt(d) + time term, one GEMV (§5.14) */
		nn_sgemv(NN_NOTRANS, M - first, d, inv_sqrt_d, Xi + (size_t) first * d, d, r,
				 0.0f, al + first);
		for (l = first; l < M; l++)
		{
			if (c->time_mode == NN_TIME_BUCKET)
				al[l] += m->beta[p->tbucket[(size_t) b * M + l]];
			else if (c->time_mode == NN_TIME_DECAY)
				al[l] -= decay * p->lnd[(size_t) b * M + l];
			if (l == first || al[l] > mx)
				mx = al[l];
		}
		for (l = first; l < M; l++)
		{
			al[l] = expf(al[l] - mx);
			sum += al[l];
		}
		inv = (float) (1.0 / sum);
		for (l = first; l < M; l++)
			al[l] *= inv;
		/* a = X_v^T alpha */
		nn_sgemv(NN_TRANS, M - first, d, 1.0f, Xi + (size_t) first * d, d, al + first,
				 0.0f, a);
	}
}

/* keep_bits if the 16-bit draw u16 >= thr, else 0 (branch-free: a
 * data-dependent branch here mispredicts half the time at p = 0.5). */
static inline float
keep_factor(uint32_t u16, uint32_t thr, uint32_t keep_bits)
{
	union
	{
		uint32_t	u;
		float		f;
	}			v;

	v.u = keep_bits & (0u - (uint32_t) (u16 >= thr));
	return v.f;
}

/* F7: inverted dropout on c, mask drawn from (seed, step, batch row).
 * Each 32-bit draw decides two features (16 bits each), so p is used with
 * a resolution of 1/65536. */
static void
fwd_dropout(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	size_t		Dc = (size_t) m->Dc;
	uint32_t	thr = (uint32_t) lrint(c->dropout * 65536.0);
	union
	{
		float		f;
		uint32_t	u;
	}			keep;
	int			i;
	size_t		j;

	keep.f = 1.0f / (1.0f - c->dropout);
	for (i = 0; i < sh->rows; i++)
	{
		NnRng		r;
		float	   *mk = sh->mask + i * Dc;
		const float *ci = sh->C + i * Dc;
		float	   *ct = sh->Ct + i * Dc;

		nn_rng_for_row(&r, c->seed, NN_TAG_DROPOUT, p->step, (uint64_t) (sh->row0 + i));
		for (j = 0; j < Dc; j += 2)
		{
			uint32_t	bits = nn_rng_next(&r);

			mk[j] = keep_factor(bits & 0xFFFFu, thr, keep.u);
			if (j + 1 < Dc)
				mk[j + 1] = keep_factor(bits >> 16, thr, keep.u);
		}
		nn_vmul(Dc, ci, mk, ct);
	}
}

/* Features FC1 reads: after dropout in training, else c itself. */
static const float *
fc_input(const NnModel *m, const NnShard *sh, const NnPrep *p)
{
	return (p->mode >= NN_RUN_LOSS && m->cfg.dropout > 0.0f) ? sh->Ct : sh->C;
}

/* F8-F9: z = phi_a(W1 c~ + b1); x = [z; P[u]]. */
static void
fwd_fc1(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			i;

	nn_sgemm(NN_NOTRANS, NN_TRANS, sh->rows, d, m->Dc, 1.0f, fc_input(m, sh, p), m->Dc,
			 m->W1, m->Dc, 0.0f, sh->Xo, 2 * d);
	for (i = 0; i < sh->rows; i++)
	{
		float	   *x = sh->Xo + (size_t) i * 2 * d;

		act_row(c->act_fc, x, m->b1, d);
		memcpy(x + d, m->P + (size_t) p->user[sh->row0 + i] * d, sizeof(float) * d);
	}
}

/* F1-F9 for the shard's rows. */
void
nn_shard_forward(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			h;

	if (sh->rows <= 0)
		return;
	fwd_inputs(m, sh, p);
	if (c->use_vertical)
		fwd_vertical(m, sh);
	if (c->use_horizontal)
		for (h = 1; h <= c->L; h++)
			fwd_horizontal_h(m, sh, p, h);
	if (c->use_attention)
		fwd_attention(m, sh, p);
	if (p->mode >= NN_RUN_LOSS && c->dropout > 0.0f)
		fwd_dropout(m, sh, p);
	fwd_fc1(m, sh, p);
}

/* ---- backward ------------------------------------------------------ */

/* Dense gradient of tensor t inside the shard's arena. */
static float *
gslot(const NnModel *m, NnShard *sh, int t)
{
	return sh->grad + m->tensors[t].goff;
}

/* B2-B4: split dx, FC1 backward (GEMMs), dropout mask. */
static void
bwd_fc1(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			i;
	int			j;
	float	   *gb1 = gslot(m, sh, m->t_b1);

	for (i = 0; i < sh->rows; i++)
	{
		const float *x = sh->Xo + (size_t) i * 2 * d;
		const float *dx = sh->dXo + (size_t) i * 2 * d;
		float	   *dpre = sh->dPre + (size_t) i * d;

		for (j = 0; j < d; j++)
		{
			dpre[j] = dx[j] * nn_act_grad(c->act_fc, x[j]);
			gb1[j] += dpre[j];
		}
		/* user half of the concat (B2) */
		memcpy(sh->dP + (size_t) i * d, dx + d, sizeof(float) * d);
	}
	/* dW1 += dPre^T C~ ; dC~ = dPre W1 */
	nn_sgemm(NN_TRANS, NN_NOTRANS, d, m->Dc, sh->rows, 1.0f, sh->dPre, d,
			 fc_input(m, sh, p), m->Dc, 1.0f, gslot(m, sh, m->t_W1), m->Dc);
	nn_sgemm(NN_NOTRANS, NN_NOTRANS, sh->rows, m->Dc, d, 1.0f, sh->dPre, d,
			 m->W1, m->Dc, 0.0f, sh->dC, m->Dc);
	if (m->cfg.dropout > 0.0f)
	{
		size_t		n = (size_t) sh->rows * m->Dc;
		size_t		k;

		for (k = 0; k < n; k++)
			sh->dC[k] *= sh->mask[k];
	}
}

/* Zero the rows of dX that receive gradient (valid rows, conv block). */
static void
bwd_clear_dx(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			i;

	for (i = 0; i < sh->rows; i++)
	{
		int			first = first_read(c, p->nvalid[sh->row0 + i]);
		int			lo = first < c->M - c->L ? first : c->M - c->L;

		memset(sh->dX + ((size_t) i * c->M + lo) * c->d, 0,
			   sizeof(float) * (size_t) (c->M - lo) * c->d);
	}
}

/* B6: vertical conv backward into dW_v, dc_v and dE. */
static void
bwd_vertical(const NnModel *m, NnShard *sh)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			L = c->L;
	float	   *gWv = gslot(m, sh, m->t_Wv);
	float	   *gcv = gslot(m, sh, m->t_cv);
	int			i;
	int			k;
	int			r;
	int			j;

	for (i = 0; i < sh->rows; i++)
	{
		size_t		eoff = ((size_t) i * c->M + c->M - L) * d;
		const float *E = sh->X + eoff;
		float	   *dE = sh->dX + eoff;
		const float *dV = sh->dC + (size_t) i * m->Dc;

		for (k = 0; k < c->nv; k++)
		{
			const float *dv = dV + (size_t) k * d;
			float		s = 0.0f;

			for (j = 0; j < d; j++)
				s += dv[j];
			gcv[k] += s;
			for (r = 0; r < L; r++)
			{
				gWv[k * L + r] += nn_sdot(d, dv, E + (size_t) r * d);
				nn_saxpy(d, m->Wv[k * L + r], dv, dE + (size_t) r * d);
			}
		}
	}
}

/*
 * B7 for one height h, argmax windows only: for each filter k with
 * t* >= 0, delta = dO * phi_c'; dF_h[k] += delta win_{h,t*}; dc_h[k] +=
 * delta; dE[t*..t*+h-1] += delta F_h[k].  §5.14 suggests this for small
 * nh; measured against the GEMM form (dU^T Z_h, dU F_h + col2im): 1.4x
 * faster with OpenBLAS's generic "Prescott" kernels, equal with SkylakeX
 * ones (relu zeroes about half of the deltas, which are skipped).
 */
static void
bwd_horizontal_h(const NnModel *m, NnShard *sh, int h)
{
	const NnConfig *c = &m->cfg;
	int			d = c->d;
	int			nh = c->nh;
	int			hd = h * d;
	float	   *gc = gslot(m, sh, m->t_c1 + h - 1);
	float	   *gF = gslot(m, sh, m->t_F1 + h - 1);
	const float *F = m->F[h - 1];
	int			i;
	int			k;

	for (i = 0; i < sh->rows; i++)
	{
		size_t		eoff = ((size_t) i * c->M + c->M - c->L) * d;
		const float *E = sh->X + eoff;
		float	   *dE = sh->dX + eoff;
		size_t		e0 = (size_t) i * m->Dc + m->Dv + (size_t) (h - 1) * nh;
		const int32_t *am = sh->am + (size_t) i * m->Dh + (size_t) (h - 1) * nh;

		for (k = 0; k < nh; k++)
		{
			int			t = am[k];
			float		delta;

			if (t < 0)
				continue;
			delta = sh->dC[e0 + k] * nn_act_grad(c->act_conv, sh->C[e0 + k]);
			if (delta == 0.0f)
				continue;
			nn_saxpy(hd, delta, E + (size_t) t * d, gF + (size_t) k * hd);
			gc[k] += delta;
			nn_saxpy(hd, delta, F + (size_t) k * hd, dE + (size_t) t * d);
		}
	}
}

/* B8: attention backward (softmax, time term, W_K, query). */
static void
bwd_attention(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M;
	int			d = c->d;
	float		inv_sqrt_d = (float) (1.0 / sqrt((double) d));
	float	   *gbeta = m->beta ? gslot(m, sh, m->t_beta) : NULL;
	float	   *gtheta = m->theta ? gslot(m, sh, m->t_theta) : NULL;
	float		sig_theta = 0.0f;
	int			i;
	int			l;

	if (m->theta != NULL)
		sig_theta = (float) (1.0 / (1.0 + exp(-(double) m->theta[0])));
	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;
		int			first = M - p->nvalid[b];
		const float *Xi = sh->X + (size_t) i * M * d;
		float	   *dXi = sh->dX + (size_t) i * M * d;
		const float *al = sh->alpha + (size_t) i * M;
		const float *r = sh->R + (size_t) i * d;
		const float *da = sh->dC + (size_t) i * m->Dc + m->Dv + m->Dh;
		float	   *dr = sh->dR + (size_t) i * d;
		float	   *dal = sh->tmp;	/* d alpha, M floats */
		float		s = 0.0f;

		memset(dr, 0, sizeof(float) * d);
		if (first >= M)
			continue;
		/* d alpha = X_v da (GEMV) */
		nn_sgemv(NN_NOTRANS, M - first, d, 1.0f, Xi + (size_t) first * d, d, da,
				 0.0f, dal + first);
		for (l = first; l < M; l++)
			s += al[l] * dal[l];
		/* softmax backward; time term; dal becomes d score / sqrt(d) */
		for (l = first; l < M; l++)
		{
			float		ds = al[l] * (dal[l] - s);

			if (gbeta != NULL)
				gbeta[p->tbucket[(size_t) b * M + l]] += ds;
			else if (gtheta != NULL)
				gtheta[0] += ds * -sig_theta * p->lnd[(size_t) b * M + l];
			dal[l] = ds * inv_sqrt_d;
			/* dX[l] += alpha[l] da + (d score[l] / sqrt(d)) r */
			nn_saxpy2(d, al[l], da, dal[l], r, dXi + (size_t) l * d);
		}
		/* dr = X_v^T (d score / sqrt(d)) (GEMV) */
		nn_sgemv(NN_TRANS, M - first, d, 1.0f, Xi + (size_t) first * d, d, dal + first,
				 0.0f, dr);
	}
	/* through r = W_K^T q: dW_K += Qm^T dR ; dQm = dR W_K^T */
	nn_sgemm(NN_TRANS, NN_NOTRANS, d, d, sh->rows, 1.0f, sh->Qm, d, sh->dR, d,
			 1.0f, gslot(m, sh, m->t_WK), d);
	nn_sgemm(NN_NOTRANS, NN_TRANS, sh->rows, d, d, 1.0f, sh->dR, d, m->WK, d,
			 0.0f, sh->dQm, d);
	/* through q = P[u] + X[M-1] */
	for (i = 0; i < sh->rows; i++)
	{
		const float *dq = sh->dQm + (size_t) i * d;

		nn_saxpy(d, 1.0f, dq, sh->dP + (size_t) i * d);
		if (p->nvalid[sh->row0 + i] > 0)
			nn_saxpy(d, 1.0f, dq, sh->dX + ((size_t) i * M + M - 1) * d);
	}
}

/* B10 (dense part): dA[e] += dX[l], dG[g] += dX[l] for valid l. */
static void
bwd_small_tables(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;
	int			M = c->M;
	int			d = c->d;
	float	   *gA = m->A ? gslot(m, sh, NN_T_A) : NULL;
	float	   *gG = m->G ? gslot(m, sh, NN_T_G) : NULL;
	int			i;
	int			l;

	if (gA == NULL && gG == NULL)
		return;
	for (i = 0; i < sh->rows; i++)
	{
		int			b = sh->row0 + i;

		for (l = first_read(c, p->nvalid[b]); l < M; l++)
		{
			const float *dx = sh->dX + ((size_t) i * M + l) * d;
			size_t		pos = (size_t) b * M + l;

			if (gA != NULL && gG != NULL)
				nn_vacc2(d, dx, gA + (size_t) p->events[pos] * d, gG + (size_t) p->tbucket[pos] * d);
			else if (gA != NULL)
				nn_saxpy(d, 1.0f, dx, gA + (size_t) p->events[pos] * d);
			else
				nn_saxpy(d, 1.0f, dx, gG + (size_t) p->tbucket[pos] * d);
		}
	}
}

/* B2-B10 for the shard's rows (dXo filled by the loss). */
void
nn_shard_backward(const NnModel *m, NnShard *sh, const NnPrep *p)
{
	const NnConfig *c = &m->cfg;

	if (sh->rows <= 0)
		return;
	bwd_fc1(m, sh, p);
	bwd_clear_dx(m, sh, p);
	if (c->use_vertical)
		bwd_vertical(m, sh);
	if (c->use_horizontal)
	{
		int			h;

		for (h = 1; h <= c->L; h++)
			bwd_horizontal_h(m, sh, h);
	}
	if (c->use_attention)
		bwd_attention(m, sh, p);
	bwd_small_tables(m, sh, p);
}
