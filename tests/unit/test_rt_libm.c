/*
 * test_rt_libm.c - the runtime's libm replacements (nn_runtime.h, "libm
 * replacements"), which `nngen --freestanding` output calls instead of
 * every maths function but expf, logf, tanhf and sqrtf. Each is checked
 * against the host's libm (glibc: correctly rounded or within an ulp) over
 * sweeps of its range and at its special values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "nn_runtime.h"

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* floats as integers that count ulps (both signs, zero once) */
static int64_t f_order(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? -(int64_t)(i & 0x7fffffff) : (int64_t)i;
}

static int64_t ulps(float got, float want)
{
    int64_t d = f_order(got) - f_order(want);
    return d < 0 ? -d : d;
}

/* xorshift64*: test inputs only */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* nnrt_sqrt is libm's sqrt bit for bit: random positive doubles over the
 * whole range (subnormals included), integers and squares, and the edges. */
static void test_sqrt_exact(void **state)
{
    uint64_t s = 12345;
    long i;
    (void)state;
    for (i = 0; i < 2000000; i++) {
        double x = u2d(next(&s) & UINT64_C(0x7fefffffffffffff));
        assert_true(d2u(nnrt_sqrt(x)) == d2u(sqrt(x)));
    }
    for (i = 1; i < 100000; i++) {
        double x = (double)i, sq = x * x;
        assert_true(nnrt_sqrt(sq) == x);
        assert_true(d2u(nnrt_sqrt(x)) == d2u(sqrt(x)));
        assert_true(d2u(nnrt_sqrt(sq - 1.0)) == d2u(sqrt(sq - 1.0)));
    }
    assert_true(nnrt_sqrt(DBL_MAX) == sqrt(DBL_MAX));
    assert_true(nnrt_sqrt(DBL_MIN) == sqrt(DBL_MIN));
    assert_true(nnrt_sqrt(4.9406564584124654e-324) == sqrt(4.9406564584124654e-324));
    assert_true(nnrt_sqrt(u2d(UINT64_C(0x000fffffffffffff))) == sqrt(u2d(UINT64_C(0x000fffffffffffff))));
    assert_true(d2u(nnrt_sqrt(0.0)) == d2u(0.0));
    assert_true(d2u(nnrt_sqrt(-0.0)) == d2u(-0.0));
    assert_true(isinf(nnrt_sqrt(INFINITY)) && nnrt_sqrt(INFINITY) > 0);
    assert_true(isnan(nnrt_sqrt(-1.0)));
    assert_true(isnan(nnrt_sqrt(-INFINITY)));
    assert_true(isnan(nnrt_sqrt(NAN)));
}

/* nnrt_exp within 4 ulps of double over its whole range, exact at 0,
 * overflow to inf and underflow to 0 where exp does. */
static void test_exp(void **state)
{
    double x, worst = 0.0;
    (void)state;
    for (x = -708.0; x < 709.7; x += 0.0137) {
        double want = exp(x), err = fabs(nnrt_exp(x) - want) / want;
        worst = err > worst ? err : worst;
    }
    for (x = -1e-3; x < 1e-3; x += 1.3e-7) {
        double want = exp(x), err = fabs(nnrt_exp(x) - want) / want;
        worst = err > worst ? err : worst;
    }
    assert_true(worst < 4 * DBL_EPSILON);
    assert_true(nnrt_exp(0.0) == 1.0);
    assert_true(fabs(nnrt_exp(-740.0) / exp(-740.0) - 1.0) < 1e-3); /* subnormal: fewer bits */
    assert_true(nnrt_exp(-746.0) == 0.0);
    assert_true(isinf(nnrt_exp(710.0)));
    assert_true(isinf(nnrt_exp(INFINITY)));
    assert_true(nnrt_exp(-INFINITY) == 0.0);
    assert_true(isnan(nnrt_exp(NAN)));
}

/* nnrt_floor and nnrt_fmod are exact: equal to libm's bit for bit over
 * random doubles of every magnitude and at the edges; nnrt_cos within a
 * few ulps of libm's over the schedules' range and beyond; nnrt_sinhf
 * within 2 ulps of the double result. */
static void test_floor_fmod_cos_sinh(void **state)
{
    uint64_t s = 12345;
    double worst = 0.0, x;
    int i;
    (void)state;
    for (i = 0; i < 50000; i++) {
        double a = u2d(next(&s) >> 1 & 0x7fefffffffffffffULL) * (i & 1 ? -1.0 : 1.0);
        double b = (double)(int64_t)(next(&s) % 2000001) / 1000.0 - 1000.0 + (i & 2 ? 0.0 : 0.5);
        double c = u2d((next(&s) >> 1 & 0x000fffffffffffffULL) | (uint64_t)(1000 + next(&s) % 60) << 52);
        assert_true(d2u(nnrt_floor(a)) == d2u(floor(a)));
        assert_true(d2u(nnrt_floor(b)) == d2u(floor(b)));
        assert_true(d2u(nnrt_fmod(b, 4.0)) == d2u(fmod(b, 4.0)));
        assert_true(d2u(nnrt_fmod(c, b != 0.0 ? b : 3.0)) == d2u(fmod(c, b != 0.0 ? b : 3.0)));
        assert_true(d2u(nnrt_fmod(b * 1e6, c * 1e-300)) == d2u(fmod(b * 1e6, c * 1e-300)));
    }
    assert_true(nnrt_floor(-0.5) == -1.0 && nnrt_floor(-0.0) == 0.0 && nnrt_floor(2.0) == 2.0);
    assert_true(isnan(nnrt_floor(NAN)) && isinf(nnrt_floor(-INFINITY)));
    assert_true(isnan(nnrt_fmod(1.0, 0.0)) && isnan(nnrt_fmod(INFINITY, 2.0)) && isnan(nnrt_fmod(NAN, 2.0)));
    assert_true(nnrt_fmod(5.0, INFINITY) == 5.0 && nnrt_fmod(-7.0, 2.0) == -1.0);
    for (x = -1e4; x < 1e4; x += 0.0731) {
        double err = fabs(nnrt_cos(x) - cos(x));
        worst = err > worst ? err : worst;
    }
    for (x = 0.0; x < 7.0; x += 1e-4) {
        double err = fabs(nnrt_cos(x) - cos(x));
        worst = err > worst ? err : worst;
    }
    assert_true(worst < 4 * DBL_EPSILON);
    assert_true(nnrt_cos(0.0) == 1.0 && fabs(nnrt_cos(3.14159265358979323846) + 1.0) < DBL_EPSILON);
    assert_true(isnan(nnrt_cos(INFINITY)) && isnan(nnrt_cos(NAN)));
    for (x = -80.0; x < 80.0; x += 0.00137) {
        float f = (float)x;
        assert_true(ulps(nnrt_sinhf(f), (float)sinh((double)f)) <= 2);
    }
    for (x = -1e-6; x < 1e-6; x += 1.37e-9) {
        float f = (float)x;
        assert_true(ulps(nnrt_sinhf(f), (float)sinh((double)f)) <= 2);
    }
    assert_true(isinf(nnrt_sinhf(100.0f)) && nnrt_sinhf(0.0f) == 0.0f && isnan(nnrt_sinhf(NAN)));
}

/* nnrt_pow: C99's special cases, and e^(y ln x) accuracy elsewhere (the
 * error of y ln x grows with |y ln x|, hence the bound). */
static void test_pow(void **state)
{
    double x, y, worst = 0.0;
    (void)state;
    for (x = 1e-3; x < 50.0; x *= 1.0371)
        for (y = -25.0; y < 25.0; y += 0.173) {
            double want = pow(x, y);
            if (want == 0.0 || isinf(want) || want < DBL_MIN)
                continue;
            double err = fabs(nnrt_pow(x, y) - want) / want / (1.0 + fabs(y * log(x)));
            worst = err > worst ? err : worst;
        }
    assert_true(worst < 4 * DBL_EPSILON);
    /* Adam's bias corrections: beta^t for every step count up to 10^5 */
    for (long t = 1; t <= 100000; t += 7) {
        assert_true((float)(1.0 - nnrt_pow(0.9, (double)t)) == (float)(1.0 - pow(0.9, (double)t)));
        assert_true((float)nnrt_sqrt(1.0 - nnrt_pow(0.999, (double)t)) == (float)sqrt(1.0 - pow(0.999, (double)t)));
    }
    /* a negative x with an integer y: the sign from y's parity */
    assert_true(fabs(nnrt_pow(-2.0, 3.0) + 8.0) < 8 * 4 * DBL_EPSILON);
    assert_true(fabs(nnrt_pow(-2.0, 2.0) - 4.0) < 4 * 4 * DBL_EPSILON);
    assert_true(fabs(nnrt_pow(-2.0, -1.0) + 0.5) < 0.5 * 4 * DBL_EPSILON);
    assert_true(isnan(nnrt_pow(-2.0, 0.5)));
    assert_true(nnrt_pow(NAN, 0.0) == 1.0 && nnrt_pow(1.0, NAN) == 1.0);
    assert_true(isnan(nnrt_pow(NAN, 1.0)) && isnan(nnrt_pow(2.0, NAN)));
    assert_true(d2u(nnrt_pow(-0.0, 3.0)) == d2u(-0.0));
    assert_true(d2u(nnrt_pow(-0.0, 2.0)) == d2u(0.0));
    assert_true(d2u(nnrt_pow(-0.0, 0.5)) == d2u(0.0));
    assert_true(isinf(nnrt_pow(0.0, -1.0)) && isinf(nnrt_pow(INFINITY, 2.0)));
    assert_true(nnrt_pow(INFINITY, -2.0) == 0.0);
    assert_true(nnrt_pow(0.5, INFINITY) == 0.0 && isinf(nnrt_pow(0.5, -INFINITY)));
    assert_true(isinf(nnrt_pow(2.0, INFINITY)) && nnrt_pow(2.0, -INFINITY) == 0.0);
    assert_true(nnrt_pow(-1.0, INFINITY) == 1.0);
    assert_true(nnrt_pow(-2.0, 1e300) == pow(-2.0, 1e300)); /* a huge y is an even integer */
    assert_true(fabs(nnrt_pow(2.0, 10.0) - 1024.0) < 1024.0 * 4 * DBL_EPSILON);
}

/* the float functions against the double libm result rounded to float */
static void test_float_functions(void **state)
{
    float x;
    int64_t w_erf = 0, w_expm1 = 0, w_log1p = 0, w_pow = 0, u;
    (void)state;
    for (x = -4.5f; x < 4.5f; x += 1.0f / 4096.0f) {
        u = ulps(nnrt_erff(x), (float)erf((double)x));
        w_erf = u > w_erf ? u : w_erf;
    }
    for (x = 1e-30f; x < 1e-2f; x *= 1.01f) {
        u = ulps(nnrt_erff(x), (float)erf((double)x));
        w_erf = u > w_erf ? u : w_erf;
        u = ulps(nnrt_expm1f(x), (float)expm1((double)x));
        w_expm1 = u > w_expm1 ? u : w_expm1;
        u = ulps(nnrt_expm1f(-x), (float)expm1(-(double)x));
        w_expm1 = u > w_expm1 ? u : w_expm1;
        u = ulps(nnrt_log1pf(x), (float)log1p((double)x));
        w_log1p = u > w_log1p ? u : w_log1p;
        u = ulps(nnrt_log1pf(-x), (float)log1p(-(double)x));
        w_log1p = u > w_log1p ? u : w_log1p;
    }
    for (x = -87.0f; x < 88.0f; x += 0.00731f) {
        u = ulps(nnrt_expm1f(x), (float)expm1((double)x));
        w_expm1 = u > w_expm1 ? u : w_expm1;
    }
    for (x = -0.99999f; x < 1e30f; x = x < 1.0f ? x + 0.000917f : x * 1.0093f) {
        u = ulps(nnrt_log1pf(x), (float)log1p((double)x));
        w_log1p = u > w_log1p ? u : w_log1p;
    }
    for (x = 1e-3f; x < 40.0f; x *= 1.0191f)
        for (float y = -12.0f; y < 12.0f; y += 0.0917f) {
            u = ulps(nnrt_powf(x, y), (float)pow((double)x, (double)y));
            w_pow = u > w_pow ? u : w_pow;
        }
    print_message("worst ulps: erff %lld, expm1f %lld, log1pf %lld, powf %lld\n", (long long)w_erf,
                  (long long)w_expm1, (long long)w_log1p, (long long)w_pow);
    assert_true(w_erf <= 1);
    assert_true(w_expm1 <= 2);
    assert_true(w_log1p <= 2);
    assert_true(w_pow <= 1);
    /* special values */
    assert_true(nnrt_erff(0.0f) == 0.0f && nnrt_erff(INFINITY) == 1.0f && nnrt_erff(-INFINITY) == -1.0f);
    assert_true(nnrt_erff(3.9f) == (float)erf(3.9) && nnrt_erff(-3.95f) == (float)erf(-3.95));
    assert_true(isnan(nnrt_erff(NAN)));
    assert_true(nnrt_expm1f(0.0f) == 0.0f && nnrt_expm1f(-INFINITY) == -1.0f && isinf(nnrt_expm1f(INFINITY)));
    assert_true(isinf(nnrt_expm1f(100.0f)) && nnrt_expm1f(-100.0f) == -1.0f && isnan(nnrt_expm1f(NAN)));
    assert_true(nnrt_log1pf(0.0f) == 0.0f && isinf(nnrt_log1pf(-1.0f)) && nnrt_log1pf(-1.0f) < 0.0f);
    assert_true(isnan(nnrt_log1pf(-2.0f)) && isinf(nnrt_log1pf(INFINITY)) && isnan(nnrt_log1pf(NAN)));
    assert_true(nnrt_log1pf(FLT_MAX) == log1pf(FLT_MAX));
    assert_true(nnrt_powf(2.0f, 0.5f) == sqrtf(2.0f) && nnrt_powf(-3.0f, 3.0f) == -27.0f);
}

static void test_small_ones(void **state)
{
    unsigned char bytes[37];
    (void)state;
    assert_true(nnrt_fabsf(-2.5f) == 2.5f && nnrt_fabsf(2.5f) == 2.5f);
    assert_true(f_order(nnrt_fabsf(-0.0f)) == 0 && !signbit(nnrt_fabsf(-0.0f)));
    assert_true(isinf(nnrt_fabsf(-INFINITY)) && isnan(nnrt_fabsf(NAN)));
    assert_true(nnrt_fmaxf(1.0f, 2.0f) == 2.0f && nnrt_fmaxf(NAN, 2.0f) == 2.0f && nnrt_fmaxf(3.0f, NAN) == 3.0f);
    assert_true(nnrt_fminf(1.0f, 2.0f) == 1.0f && nnrt_fminf(NAN, 2.0f) == 2.0f && nnrt_fminf(3.0f, NAN) == 3.0f);
    assert_true(isnan(nnrt_fmaxf(NAN, NAN)) && isnan(nnrt_fminf(NAN, NAN)));
    memset(bytes, 0xab, sizeof bytes);
    nnrt_zero_bytes(bytes + 1, 35);
    assert_true(bytes[0] == 0xab && bytes[36] == 0xab);
    for (int i = 1; i < 36; i++)
        assert_true(bytes[i] == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqrt_exact),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_pow),
        cmocka_unit_test(test_float_functions),
        cmocka_unit_test(test_small_ones),
        cmocka_unit_test(test_floor_fmod_cos_sinh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
