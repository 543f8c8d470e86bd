/*
 * test_rt_rng.c - the runtime's PRNG: PCG32 against the reference
 * implementation's published outputs, the uniform and normal deviates (exact
 * first values, range, moments over 100k draws), determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_runtime.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* pcg32-demo: pcg32_srandom_r(&rng, 42u, 54u) prints these six first. */
static void test_pcg32_reference(void **state)
{
    static const uint32_t want[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                     0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    nnrt_rng r;
    int i;
    (void)state;
    nnrt_rng_seed(&r, 42u, 54u);
    for (i = 0; i < 6; i++)
        assert_int_equal(nnrt_rng_u32(&r), want[i]);
    /* seed 1, stream 1: cross-checked with an independent Python PCG32 */
    nnrt_rng_seed(&r, 1u, 1u);
    assert_int_equal(nnrt_rng_u32(&r), 0xc9828f91u);
    assert_int_equal(nnrt_rng_u32(&r), 0x1592e274u);
    assert_int_equal(nnrt_rng_u32(&r), 0xc0262657u);
}

static void test_determinism_and_streams(void **state)
{
    nnrt_rng a, b, c;
    int i, same_stream = 0;
    (void)state;
    nnrt_rng_seed(&a, 7u, 3u);
    nnrt_rng_seed(&b, 7u, 3u);
    nnrt_rng_seed(&c, 7u, 4u);
    for (i = 0; i < 1000; i++) {
        uint32_t x = nnrt_rng_u32(&a);
        assert_int_equal(x, nnrt_rng_u32(&b));
        same_stream += x == nnrt_rng_u32(&c);
    }
    assert_true(same_stream < 3);
    nnrt_rng_seed(&a, 7u, 3u);
    nnrt_rng_seed(&b, 8u, 3u);
    assert_int_not_equal(nnrt_rng_u32(&a), nnrt_rng_u32(&b));
}

static void test_uniform(void **state)
{
    nnrt_rng r, q;
    double sum = 0.0, sq = 0.0;
    float lo = 1.0f, hi = 0.0f;
    int i, n = 100000;
    (void)state;
    nnrt_rng_seed(&r, 42u, 54u);
    nnrt_rng_seed(&q, 42u, 54u);
    /* the top 24 bits times 2^-24, exactly */
    assert_true(nnrt_rng_uniform(&r) == (float)(0xa15c02b7u >> 8) / 16777216.0f);
    (void)nnrt_rng_u32(&q);
    for (i = 0; i < n; i++) {
        uint32_t x = nnrt_rng_u32(&q);
        float u = nnrt_rng_uniform(&r);
        assert_true(u == (float)(x >> 8) * (1.0f / 16777216.0f));
        assert_true(u >= 0.0f && u < 1.0f);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        sum += u;
        sq += (double)u * u;
    }
    /* mean 1/2 (sd of the mean 0.00091), variance 1/12 */
    assert_true(fabs(sum / n - 0.5) < 0.005);
    assert_true(fabs(sq / n - sum / n * (sum / n) - 1.0 / 12.0) < 0.002);
    assert_true(lo < 1e-4f && hi > 1.0f - 1e-4f);
}

/* First normals of seed 42 / stream 54: the same bits on every platform.
 * Checked against an independent Python version using libm's log. */
static void test_normal_reference(void **state)
{
    static const uint32_t want[6] = {0x40126ca0u, 0x3fe2ae8bu, 0x3f26788bu,
                                     0x3fd59be1u, 0xbe4588edu, 0x401109cau};
    nnrt_rng r;
    int i;
    (void)state;
    nnrt_rng_seed(&r, 42u, 54u);
    for (i = 0; i < 6; i++)
        assert_int_equal(bits_of(nnrt_rng_normal(&r)), want[i]);
}

/* The polar method redone here with libm's log and sqrt: the runtime's own
 * logarithm must give the same floats (a 1-ulp difference is allowed for the
 * rare double -> float rounding ties, at most 0.01 % of draws). */
static void test_normal_matches_libm(void **state)
{
    nnrt_rng r, q;
    int i, n = 100000, off = 0;
    (void)state;
    nnrt_rng_seed(&r, 2024u, 1u);
    nnrt_rng_seed(&q, 2024u, 1u);
    for (i = 0; i < n; i++) {
        double v1, v2, s;
        float want, got = nnrt_rng_normal(&r);
        do {
            v1 = (double)nnrt_rng_u32(&q) / 2147483648.0 - 1.0;
            v2 = (double)nnrt_rng_u32(&q) / 2147483648.0 - 1.0;
            s = v1 * v1 + v2 * v2;
        } while (s >= 1.0 || s == 0.0);
        want = (float)(v1 * sqrt(-2.0 * log(s) / s));
        if (got != want) {
            assert_true(fabsf(got - want) <= fabsf(nextafterf(want, 2.0f * want) - want));
            off++;
        }
    }
    assert_true(off <= n / 10000);
}

static void test_normal_moments(void **state)
{
    nnrt_rng r;
    double sum = 0.0, sq = 0.0, q4 = 0.0;
    int i, n = 100000, tail = 0;
    (void)state;
    nnrt_rng_seed(&r, 5u, 0u);
    for (i = 0; i < n; i++) {
        double z = nnrt_rng_normal(&r);
        assert_true(isfinite(z));
        sum += z;
        sq += z * z;
        q4 += z * z * z * z;
        tail += fabs(z) > 1.959964;
    }
    /* sd of the mean 0.0032, of the variance 0.0045, of E z^4 0.031;
     * P(|z| > 1.96) = 5 %, sd of the count 69 */
    assert_true(fabs(sum / n) < 0.015);
    assert_true(fabs(sq / n - 1.0) < 0.02);
    assert_true(fabs(q4 / n - 3.0) < 0.15);
    assert_true(abs(tail - 5000) < 350);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcg32_reference),
        cmocka_unit_test(test_determinism_and_streams),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_normal_reference),
        cmocka_unit_test(test_normal_matches_libm),
        cmocka_unit_test(test_normal_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
