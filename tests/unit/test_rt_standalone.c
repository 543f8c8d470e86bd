/*
 * test_rt_standalone.c - the runtime as `nngen --standalone` pastes it:
 * NNRT_API defined as `static inline`, the header, then nn_runtime.c (the
 * parts of runtime/src/ pasted into one file in the build tree). This
 * checks that the paste compiles and, since every function is then visible,
 * tests internals no API exposes: the runtime's own logarithm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#define NNRT_API static inline
#include "nn_runtime.h"
#include "nn_runtime.c" /* NN_BINARY_DIR/runtime, made by cmake/amalgamate.cmake */

/* nnrt_log against libm's log: within 1e-15 relative over the whole range
 * of positive doubles, subnormals included, and over [0.5, 2] finely. */
static void test_log_accuracy(void **state)
{
    double x, worst = 0.0;
    (void)state;
    for (x = 1e-310; x < 1e308; x *= 1.01234567) {
        double want = log(x), err = fabs(nnrt_log(x) - want);
        if (want != 0.0)
            err /= fabs(want);
        worst = err > worst ? err : worst;
    }
    for (x = 0.5; x <= 2.0; x += 1.0 / 65536.0 + 1e-9) {
        double want = log(x), err = fabs(nnrt_log(x) - want);
        if (want != 0.0)
            err /= fabs(want);
        worst = err > worst ? err : worst;
    }
    assert_true(worst < 1e-15);
    assert_true(fabs(nnrt_log(4.9406564584124654e-324) / log(4.9406564584124654e-324) - 1.0) < 1e-15);
    assert_true(nnrt_log(1.0) == 0.0);
    assert_true(nnrt_log(2.0) == log(2.0));
}

/* A few calls through the inlined copies. */
static void test_inlined_api(void **state)
{
    nnrt_rng r;
    float c[1] = {NAN};
    const float a[2] = {1.0f, 2.0f}, b[2] = {3.0f, 4.0f};
    (void)state;
    nnrt_rng_seed(&r, 42u, 54u);
    assert_int_equal(nnrt_rng_u32(&r), 0xa15c02b7u);
    nnrt_sgemm(0, 1, 1, 1, 2, 1.0f, a, 2, b, 2, 0.0f, c, 1);
    assert_true(c[0] == 11.0f);
    assert_int_equal(nnrt_crc32(0, "123456789", 9), 0xcbf43926u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_accuracy),
        cmocka_unit_test(test_inlined_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
