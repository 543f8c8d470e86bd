/*
 * test_rt_math.c - nnrt_tanhf, the vectorizable tanh of generated code,
 * against libm's double tanh: at most 2.5 ulp (of the float result) over a
 * sweep of every 499th float bit pattern (both signs), exact oddness, and
 * the special values (0, -0, +-inf, NaN, the clamp at 10, the switch of
 * formula at 0.3); nnrt_sigmoidf likewise against 1 / (1 + exp(-x)) in
 * double (2.5 ulp; the flush to 0 below -87, where the exact value is
 * subnormal or nearly so, within the smallest normal float).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "nn_runtime.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* |got - exact| in units of the float spacing at the rounded exact value */
static double ulps(float got, double exact)
{
    float r = (float)exact;
    double spacing = (double)nextafterf(fabsf(r), INFINITY) - (double)fabsf(r);
    return fabs((double)got - exact) / spacing;
}

static void test_tanh_accuracy(void **state)
{
    uint32_t u;
    double worst = 0.0;
    (void)state;
    for (u = 0; u < 0x7f800000u; u += 499) {
        float x = from_bits(u), y = nnrt_tanhf(x);
        double e = ulps(y, tanh((double)x));
        if (e > worst)
            worst = e;
        if (!(e <= 2.5))
            fail_msg("tanh(%.9g) = %.9g, want %.9g (%.2f ulp)", (double)x, (double)y, tanh((double)x), e);
        assert_true(nnrt_tanhf(-x) == -y);
    }
    assert_true(worst > 0.0); /* it is an approximation, and the sweep saw it */
}

static void test_tanh_special(void **state)
{
    const float near[] = {0.2999999f, 0.3f, 0.3000001f, 9.99f, 10.0f, 10.01f, 1e-30f, 1e-45f};
    size_t i;
    (void)state;
    assert_true(nnrt_tanhf(0.0f) == 0.0f && !signbit(nnrt_tanhf(0.0f)));
    assert_true(nnrt_tanhf(-0.0f) == 0.0f && signbit(nnrt_tanhf(-0.0f)));
    assert_true(nnrt_tanhf(INFINITY) == 1.0f);
    assert_true(nnrt_tanhf(-INFINITY) == -1.0f);
    assert_true(nnrt_tanhf(3.4e38f) == 1.0f);
    assert_true(isnan(nnrt_tanhf(NAN)));
    assert_true(isnan(nnrt_tanhf(-NAN)));
    for (i = 0; i < sizeof near / sizeof near[0]; i++)
        assert_true(ulps(nnrt_tanhf(near[i]), tanh((double)near[i])) <= 2.5);
}

static void test_sigmoid_accuracy(void **state)
{
    uint32_t u;
    double worst = 0.0;
    (void)state;
    for (u = 0; u < 0x7f800000u; u += 499) {
        int sign;
        for (sign = 0; sign < 2; sign++) {
            float x = from_bits(u | (sign ? 0x80000000u : 0u)), y = nnrt_sigmoidf(x);
            double exact = 1.0 / (1.0 + exp(-(double)x));
            if (x < -87.0f) {
                if (!(y >= 0.0f && (double)y <= exact + 1.1754944e-38))
                    fail_msg("sigmoid(%.9g) = %.9g, want %.9g", (double)x, (double)y, exact);
                continue;
            }
            double e = ulps(y, exact);
            if (e > worst)
                worst = e;
            if (!(e <= 2.5))
                fail_msg("sigmoid(%.9g) = %.9g, want %.9g (%.2f ulp)", (double)x, (double)y, exact, e);
        }
    }
    assert_true(worst > 0.0);
}

static void test_sigmoid_special(void **state)
{
    const float near[] = {86.99f, 87.0f, -86.99f, -87.0f, 16.0f, 17.0f, -20.0f, 1e-30f, -1e-45f, 0.5f, -0.5f};
    size_t i;
    (void)state;
    assert_true(nnrt_sigmoidf(0.0f) == 0.5f);
    assert_true(nnrt_sigmoidf(-0.0f) == 0.5f);
    assert_true(nnrt_sigmoidf(INFINITY) == 1.0f);
    assert_true(nnrt_sigmoidf(-INFINITY) == 0.0f);
    assert_true(nnrt_sigmoidf(88.0f) == 1.0f && nnrt_sigmoidf(-88.0f) == 0.0f);
    assert_true(isnan(nnrt_sigmoidf(NAN)));
    assert_true(isnan(nnrt_sigmoidf(-NAN)));
    for (i = 0; i < sizeof near / sizeof near[0]; i++)
        assert_true(ulps(nnrt_sigmoidf(near[i]), 1.0 / (1.0 + exp(-(double)near[i]))) <= 2.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tanh_accuracy),
        cmocka_unit_test(test_tanh_special),
        cmocka_unit_test(test_sigmoid_accuracy),
        cmocka_unit_test(test_sigmoid_special),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
