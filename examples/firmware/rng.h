/*
 * rng.h - PCG32 as the runtime's nnrt_rng (pcg32_srandom_r /
 * pcg32_random_r), for the example programs' shuffles (train_main.c,
 * finetune_main.c): seeded (seed, 0x5eed) as the host driver
 * examples/train.c seeds its own.
 */
#ifndef NN_EXAMPLE_RNG_H
#define NN_EXAMPLE_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t state, inc;
} Rng;

static uint32_t rng_u32(Rng *r)
{
    uint64_t old = r->state;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    r->state = old * UINT64_C(6364136223846793005) + r->inc;
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}

static void rng_seed(Rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0u;
    r->inc = (stream << 1) | 1u;
    (void)rng_u32(r);
    r->state += seed;
    (void)rng_u32(r);
}

/* a fresh Fisher-Yates permutation of order[0..n) (in place) */
static void rng_shuffle(Rng *r, int *order, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_u32(r) % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

#endif
