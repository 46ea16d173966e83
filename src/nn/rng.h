/*
 * rng.h
 *		PCG32 random number generator (O'Neill, pcg-random.org), header-only.
 *
 * Deterministic on every platform: integer arithmetic only, except
 * nn_rng_normal (Box-Muller through libm), which is used for weight
 * initialisation, never for data generation.  Streams are derived from
 * (seed, stream id) so that independent consumers (per epoch, per batch,
 * per thread, per user) never share a sequence.
 */
#ifndef CNNREC_NN_RNG_H
#define CNNREC_NN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct NnRng
{
	uint64_t	state;
	uint64_t	inc;
} NnRng;

/* Next 32 random bits. */
static inline uint32_t
nn_rng_next(NnRng *r)
{
	uint64_t	old = r->state;
	uint32_t	xorshifted;
	uint32_t	rot;

	r->state = old * 6364136223846793005ULL + r->inc;
	xorshifted = (uint32_t) (((old >> 18u) ^ old) >> 27u);
	rot = (uint32_t) (old >> 59u);
	return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

/* Seed a generator; different streams give independent sequences. */
static inline void
nn_rng_seed(NnRng *r, uint64_t seed, uint64_t stream)
{
	r->state = 0;
	r->inc = (stream << 1u) | 1u;
	nn_rng_next(r);
	r->state += seed;
	nn_rng_next(r);
}

/* SplitMix64 finaliser: mixes several ids into one well-spread seed. */
static inline uint64_t
nn_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform integer in [0, bound), unbiased (Lemire's method); bound > 0. */
static inline uint32_t
nn_rng_below(NnRng *r, uint32_t bound)
{
	uint64_t	m = (uint64_t) nn_rng_next(r) * bound;
	uint32_t	low = (uint32_t) m;

	if (low < bound)
	{
		uint32_t	threshold = (uint32_t) (-bound) % bound;

		while (low < threshold)
		{
			m = (uint64_t) nn_rng_next(r) * bound;
			low = (uint32_t) m;
		}
	}
	return (uint32_t) (m >> 32);
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float
nn_rng_float(NnRng *r)
{
	return (float) (nn_rng_next(r) >> 8) * (1.0f / 16777216.0f);
}

/* Uniform double in [0, 1) with 32 random bits. */
static inline double
nn_rng_double(NnRng *r)
{
	return (double) nn_rng_next(r) * (1.0 / 4294967296.0);
}

/* Standard normal deviate (Box-Muller); for initialisation only. */
static inline double
nn_rng_normal(NnRng *r)
{
	double		u1 = (nn_rng_next(r) + 1.0) * (1.0 / 4294967297.0);
	double		u2 = nn_rng_double(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif							/* CNNREC_NN_RNG_H */
