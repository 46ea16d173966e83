/*
 * adam.c
 *		The Adam update of model-spec.md §5.8 for one contiguous range of a
 *		tensor (a dense work item or one row of a sparse table).
 *
 *   g <- clip * g  (+ lambda * theta for weights, coupled L2, B11 / §5.6 d)
 *   m <- beta1 m + (1 - beta1) g
 *   v <- beta2 v + (1 - beta2) g^2
 *   theta <- theta - lr_t * m / (sqrt(v / bc2) + eps),  lr_t = lr / bc1
 * with bc1 = 1 - beta1^t, bc2 = 1 - beta2^t computed in double per step
 * (train.c).  Lazy Adam (§5.8) is the caller's business: it calls this only
 * for the rows touched in the batch, so untouched rows keep m, v, theta.
 *
 * L2 is added after clipping (as PyTorch applies weight_decay inside the
 * optimiser, after clip_grad_norm_): clipping bounds the data gradient.
 * With decoupled_wd (AdamW, optional in §5.8) theta -= lr * lambda * theta
 * replaces the coupled term.
 *
 * Speed: the touched rows of Q, P, W2 are most of the work of a caser
 * step, so the loop runs 4 lanes at a time with SSE2 (baseline x86-64;
 * gcc -O2 would not vectorise sqrtf without -fno-math-errno).  Every lane
 * does the same IEEE operations in the same order as the scalar tail, so
 * both paths give identical bits.
 */
#include <math.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "model_impl.h"

/* Adam on n elements; l2 says whether the tensor is a weight. */
void
nn_adam_range(const NnModel *m, const NnWork *w, float *param, float *am,
			  float *av, const float *grad, size_t n, float grad_scale, int l2)
{
	const NnConfig *c = &m->cfg;
	float		b1 = c->beta1;
	float		b2 = c->beta2;
	float		omb1 = 1.0f - b1;
	float		omb2 = 1.0f - b2;
	float		lr_t = (float) w->lr_t;
	float		inv_bc2 = (float) w->inv_bc2;
	float		eps = c->eps;
	float		lam = (l2 && !c->decoupled_wd) ? c->l2 : 0.0f;
	float		wd = (l2 && c->decoupled_wd) ? c->lr * c->l2 : 0.0f;
	size_t		i = 0;

#if defined(__SSE2__)
	{
		__m128		vb1 = _mm_set1_ps(b1);
		__m128		vb2 = _mm_set1_ps(b2);
		__m128		vomb1 = _mm_set1_ps(omb1);
		__m128		vomb2 = _mm_set1_ps(omb2);
		__m128		vlr = _mm_set1_ps(lr_t);
		__m128		vibc2 = _mm_set1_ps(inv_bc2);
		__m128		veps = _mm_set1_ps(eps);
		__m128		vlam = _mm_set1_ps(lam);
		__m128		vwd = _mm_set1_ps(wd);
		__m128		vscale = _mm_set1_ps(grad_scale);

		for (; i + 4 <= n; i += 4)
		{
			__m128		p = _mm_loadu_ps(param + i);
			__m128		g = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(grad + i), vscale),
									   _mm_mul_ps(vlam, p));
			__m128		mm = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(am + i)),
										_mm_mul_ps(vomb1, g));
			__m128		vv = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(av + i)),
										_mm_mul_ps(_mm_mul_ps(vomb2, g), g));
			__m128		den = _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(vv, vibc2)), veps);

			p = _mm_sub_ps(p, _mm_mul_ps(vwd, p));
			p = _mm_sub_ps(p, _mm_div_ps(_mm_mul_ps(vlr, mm), den));
			_mm_storeu_ps(am + i, mm);
			_mm_storeu_ps(av + i, vv);
			_mm_storeu_ps(param + i, p);
		}
	}
#endif
	for (; i < n; i++)
	{
		float		g = grad[i] * grad_scale + lam * param[i];

		am[i] = b1 * am[i] + omb1 * g;
		av[i] = b2 * av[i] + omb2 * g * g;
		param[i] -= wd * param[i];
		param[i] -= lr_t * am[i] / (sqrtf(av[i] * inv_bc2) + eps);
	}
}
