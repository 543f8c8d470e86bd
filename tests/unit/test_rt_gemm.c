/*
 * test_rt_gemm.c - nnrt_sgemm against a naive double-precision reference:
 * all four (ta, tb), every size 1..17 in each dimension (sampled), padded
 * leading dimensions whose padding holds NaN (any read of it shows), sizes
 * crossing the kernel's blocking, beta 0 over NaN, beta 1, alpha 0; and
 * nnrt_all_finite. The workspace kernel nnrt_sgemm_ws goes through the same
 * checks (packed path, matrix-vector path, fallback), with a workspace of
 * exactly nnrt_sgemm_ws_size floats between NaN guards, and its epilogue
 * must see every element of C once, after its final value. nnrt_sgemm_packed
 * (a matrix packed once by nnrt_pack_cols) gives bit for bit what
 * nnrt_sgemm_ws gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "nn_runtime.h"

#define MAXD 300
#define PAD 3
static float A[(MAXD + PAD) * (MAXD + PAD)], B[(MAXD + PAD) * (MAXD + PAD)];
static float C[(MAXD + PAD) * (MAXD + PAD)], C0[(MAXD + PAD) * (MAXD + PAD)];
static float W[300000];
static int use_ws;                       /* check() calls nnrt_sgemm_ws */
static unsigned char seen[(MAXD + PAD) * (MAXD + PAD)];
static int epi_ldc, epi_calls;

/* the epilogue: counts each element; must be called with final values */
static void count_epi(void *ctx, int i0, int rows, int j0, int cols)
{
    int i, j;
    (void)ctx;
    epi_calls++;
    for (i = i0; i < i0 + rows; i++)
        for (j = j0; j < j0 + cols; j++)
            seen[i * epi_ldc + j]++;
}

/* rows x cols with leading dimension ld: values from r, NaN in the padding */
static void fill(nnrt_rng *r, float *x, int rows, int cols, int ld)
{
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < ld; j++)
            x[i * ld + j] = j < cols ? 2.0f * nnrt_rng_uniform(r) - 1.0f : NAN;
}

/* One product checked: C = alpha op(A) op(B) + beta C0, with C0 = NaN when
 * beta == 0; the padding columns of C must keep their sentinel. */
static void check(nnrt_rng *r, int ta, int tb, int M, int N, int K, float alpha, float beta, int pad)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int i, j, k;
    fill(r, A, ta ? K : M, ta ? M : K, lda);
    fill(r, B, tb ? N : K, tb ? K : N, ldb);
    fill(r, C0, M, N, ldc);
    for (i = 0; i < M * ldc; i++)
        C[i] = beta == 0.0f ? NAN : C0[i];
    for (i = 0; i < M; i++)
        for (j = N; j < ldc; j++)
            C[i * ldc + j] = 1234.5f;
    if (use_ws) {
        long ws = nnrt_sgemm_ws_size(M, N, K);
        assert_true(ws >= 0 && ws + 32 <= (long)(sizeof W / sizeof W[0]));
        for (i = 0; i < ws + 32; i++)
            W[i] = NAN;
        memset(seen, 0, sizeof seen);
        epi_ldc = ldc;
        nnrt_sgemm_ws(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, W + 16, count_epi, NULL);
        for (i = 0; i < 16; i++)
            assert_true(isnan(W[i]) && isnan(W[ws + 16 + i]));
        for (i = 0; i < M; i++)
            for (j = 0; j < ldc; j++)
                assert_int_equal(seen[i * ldc + j], j < N);
    } else {
        nnrt_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    for (i = 0; i < M; i++) {
        for (j = 0; j < N; j++) {
            double ref = 0.0, mag = 0.0;
            for (k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                ref += a * b;
                mag += fabs(a * b);
            }
            ref = alpha * ref + (beta != 0.0f ? beta * (double)C0[i * ldc + j] : 0.0);
            mag = fabs(alpha) * mag + fabs(beta) + 1e-30;
            if (!(fabs(C[i * ldc + j] - ref) <= 4e-7 * mag * (K + 2)))
                fail_msg("ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g: C[%d][%d] = %.9g, want %.9g",
                         ta, tb, M, N, K, alpha, beta, i, j, C[i * ldc + j], ref);
        }
        for (j = N; j < ldc; j++)
            assert_true(C[i * ldc + j] == 1234.5f);
    }
}

/* Every M, N, K in 1..17 with every transposition (sampled sizes for the
 * padded and beta variants keep the run short). */
static void test_small_sizes(void **state)
{
    nnrt_rng r;
    int ta, tb, M, N, K;
    (void)state;
    nnrt_rng_seed(&r, 1u, 0u);
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++)
            for (M = 1; M <= 17; M++)
                for (N = 1; N <= 17; N++)
                    for (K = 1; K <= 17; K++) {
                        check(&r, ta, tb, M, N, K, 1.0f, 0.0f, 0);
                        if ((M + N + K) % 5 == 0)
                            check(&r, ta, tb, M, N, K, -0.75f, 1.0f, PAD);
                        if ((M * N + K) % 7 == 0)
                            check(&r, ta, tb, M, N, K, 2.0f, 0.5f, PAD);
                    }
}

/* Sizes crossing the blocks (256 columns, 256-long dot chunks). */
static void test_large_sizes(void **state)
{
    static const int dims[][3] = {{33, 300, 270}, {5, 257, 513 - 256}, {64, 128, 300}, {1, 300, 300}};
    nnrt_rng r;
    int ta, tb, t;
    (void)state;
    nnrt_rng_seed(&r, 2u, 0u);
    for (t = 0; t < 4; t++)
        for (ta = 0; ta < 2; ta++)
            for (tb = 0; tb < 2; tb++) {
                check(&r, ta, tb, dims[t][0], dims[t][1], dims[t][2], 1.0f, 0.0f, PAD);
                check(&r, ta, tb, dims[t][0], dims[t][1], dims[t][2], 0.5f, 1.0f, 0);
            }
}

/* The workspace kernel: sizes around its register tile (6 x 32) and its
 * blocks (K 256, M 120, N 512), a single row (the matrix-vector path), and
 * small products (the unpacked fallback). */
static void test_ws_sizes(void **state)
{
    static const int dims[][3] = {{6, 32, 100},  {7, 33, 257},  {13, 70, 40},   {121, 300, 30},
                                  {5, 513, 20},  {1, 300, 300}, {1, 129, 7},    {1, 5, 40},
                                  {2, 3, 4},     {64, 128, 33}, {240, 64, 260}, {35, 17, 290}};
    nnrt_rng r;
    int ta, tb, t;
    (void)state;
    nnrt_rng_seed(&r, 3u, 0u);
    use_ws = 1;
    for (t = 0; t < (int)(sizeof dims / sizeof dims[0]); t++)
        for (ta = 0; ta < 2; ta++)
            for (tb = 0; tb < 2; tb++) {
                check(&r, ta, tb, dims[t][0], dims[t][1], dims[t][2], 1.0f, 0.0f, PAD);
                check(&r, ta, tb, dims[t][0], dims[t][1], dims[t][2], 0.5f, 1.0f, 0);
                check(&r, ta, tb, dims[t][0], dims[t][1], dims[t][2], -2.0f, 0.25f, PAD);
            }
    use_ws = 0;
}

/* The size grows with each of M, N, K (a workspace for the largest sizes
 * serves every smaller product); no workspace needed for empty products
 * nor for one row (the matrix-vector path). */
static void test_ws_size_monotone(void **state)
{
    int M, N, K;
    (void)state;
    assert_int_equal(nnrt_sgemm_ws_size(0, 5, 5), 0);
    assert_int_equal(nnrt_sgemm_ws_size(1, 500, 784), 0);
    for (M = 1; M < 700; M += 37)
        for (N = 1; N < 1100; N += 53)
            for (K = 1; K < 600; K += 41) {
                long s = nnrt_sgemm_ws_size(M, N, K);
                assert_true(M == 1 ? s == 0 : s > 0);
                assert_true(nnrt_sgemm_ws_size(M + 1, N, K) >= s);
                assert_true(nnrt_sgemm_ws_size(M, N + 1, K) >= s);
                assert_true(nnrt_sgemm_ws_size(M, N, K + 1) >= s);
            }
}

/* One row of C, a large product (a --max-batch 1 dense layer, 784 -> 128):
 * without a workspace nnrt_sgemm_ws gives bit for bit what it gives with
 * one (the matrix-vector kernel either way), calls the epilogue on every
 * element once, and is right; each transposition of B. */
static void test_one_row_without_workspace(void **state)
{
    enum { N1 = 128, K1 = 784 };
    static float a[K1], b[K1 * N1], c1[N1], c2[N1];
    nnrt_rng r;
    int tb, i, j, k;
    (void)state;
    nnrt_rng_seed(&r, 5u, 0u);
    for (tb = 0; tb < 2; tb++) {
        fill(&r, a, 1, K1, K1);
        fill(&r, b, tb ? N1 : K1, tb ? K1 : N1, tb ? K1 : N1);
        for (i = 0; i < 32; i++)
            W[i] = NAN;
        nnrt_sgemm_ws(0, tb, 1, N1, K1, 1.0f, a, K1, b, tb ? K1 : N1, 0.0f, c1, N1, W + 16, NULL, NULL);
        for (i = 0; i < 32; i++)
            assert_true(isnan(W[i])); /* the workspace is not touched */
        memset(seen, 0, sizeof seen);
        epi_ldc = N1;
        epi_calls = 0;
        nnrt_sgemm_ws(0, tb, 1, N1, K1, 1.0f, a, K1, b, tb ? K1 : N1, 0.0f, c2, N1, NULL, count_epi, NULL);
        assert_memory_equal(c1, c2, sizeof c1);
        assert_int_equal(epi_calls, 1);
        for (j = 0; j < N1; j++) {
            double ref = 0.0, mag = 0.0;
            assert_int_equal(seen[j], 1);
            for (k = 0; k < K1; k++) {
                double p = (double)a[k] * (tb ? b[j * K1 + k] : b[k * N1 + j]);
                ref += p;
                mag += fabs(p);
            }
            assert_true(fabs(c2[j] - ref) <= 4e-7 * mag * (K1 + 2));
        }
    }
}

/* nnrt_pack_cols writes exactly K N floats (NaN guards around them stay);
 * nnrt_sgemm_packed then gives, bit for bit, what nnrt_sgemm_ws gives for
 * the same product (one row: the panels; several rows: B itself), with B's
 * padding NaN, beta 0 over NaN and beta != 0, the epilogue on every element
 * once; column counts around the panel width (128) and K from 1 up. */
static void test_packed_matches_ws(void **state)
{
    static const int Ns[] = {1, 5, 127, 128, 129, 300, 512}, Ks[] = {1, 17, 128}, Ms[] = {1, 3};
    static float bp[512 * 128 + 32], a[3 * 128], c1[3 * 520], c2[3 * 520];
    nnrt_rng r;
    int ni, ki, mi, v, i, j;
    (void)state;
    nnrt_rng_seed(&r, 9u, 0u);
    for (ni = 0; ni < (int)(sizeof Ns / sizeof Ns[0]); ni++)
        for (ki = 0; ki < (int)(sizeof Ks / sizeof Ks[0]); ki++)
            for (mi = 0; mi < 2; mi++)
                for (v = 0; v < 2; v++) {
                    int N = Ns[ni], K = Ks[ki], M = Ms[mi], ldb = N + PAD, ldc = N + 1;
                    float alpha = v ? 0.5f : 1.0f, beta = v ? 0.75f : 0.0f;
                    long ws = nnrt_sgemm_ws_size(M, N, K);
                    fill(&r, a, M, K, K);
                    fill(&r, B, K, N, ldb);
                    for (i = 0; i < K * N + 32; i++)
                        bp[i] = NAN;
                    nnrt_pack_cols(K, N, B, ldb, bp + 16);
                    for (i = 0; i < 16; i++)
                        assert_true(isnan(bp[i]) && isnan(bp[K * N + 16 + i]));
                    for (i = 16; i < K * N + 16; i++)
                        assert_false(isnan(bp[i])); /* every panel element written, none of the padding */
                    for (i = 0; i < M * ldc; i++)
                        c1[i] = c2[i] = beta == 0.0f ? NAN : (float)(i % 7) - 3.0f;
                    assert_true(ws + 32 <= (long)(sizeof W / sizeof W[0]));
                    nnrt_sgemm_ws(0, 0, M, N, K, alpha, a, K, B, ldb, beta, c1, ldc, W, NULL, NULL);
                    memset(seen, 0, sizeof seen);
                    epi_ldc = ldc;
                    nnrt_sgemm_packed(M, N, K, alpha, a, K, B, ldb, bp + 16, beta, c2, ldc, W, count_epi, NULL);
                    for (i = 0; i < M; i++)
                        for (j = 0; j < N; j++) {
                            assert_int_equal(seen[i * ldc + j], 1);
                            if (memcmp(&c1[i * ldc + j], &c2[i * ldc + j], sizeof(float)))
                                fail_msg("M=%d N=%d K=%d beta=%g: C[%d][%d] = %.9g packed, %.9g in place", M, N, K,
                                         beta, i, j, c2[i * ldc + j], c1[i * ldc + j]);
                        }
                }
}

/* Small integers: every product and sum is exact, so the result is too. */
static void test_exact_values(void **state)
{
    const float a[2 * 3] = {1, 2, 3, 4, 5, 6};      /* 2 x 3 */
    const float b[3 * 2] = {7, 8, 9, 10, 11, 12};   /* 3 x 2 */
    const float at[3 * 2] = {1, 4, 2, 5, 3, 6};     /* a^T */
    const float bt[2 * 3] = {7, 9, 11, 8, 10, 12};  /* b^T */
    const float want[4] = {58, 64, 139, 154};
    float c[4];
    int ta, tb, i;
    (void)state;
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++) {
            for (i = 0; i < 4; i++)
                c[i] = 1.0f;
            nnrt_sgemm(ta, tb, 2, 2, 3, 2.0f, ta ? at : a, ta ? 2 : 3, tb ? bt : b, tb ? 3 : 2,
                       -1.0f, c, 2);
            for (i = 0; i < 4; i++)
                assert_true(c[i] == 2.0f * want[i] - 1.0f);
        }
}

/* alpha == 0 or K == 0: A and B are not read (NaN there), C = beta C. */
static void test_alpha_zero_and_empty_k(void **state)
{
    float a[4] = {NAN, NAN, NAN, NAN}, b[4] = {NAN, NAN, NAN, NAN};
    float c[4] = {1, 2, 3, 4};
    int i;
    (void)state;
    nnrt_sgemm(0, 0, 2, 2, 2, 0.0f, a, 2, b, 2, 3.0f, c, 2);
    for (i = 0; i < 4; i++)
        assert_true(c[i] == 3.0f * (float)(i + 1));
    nnrt_sgemm(1, 1, 2, 2, 0, 1.0f, a, 2, b, 1, 1.0f, c, 2);
    for (i = 0; i < 4; i++)
        assert_true(c[i] == 3.0f * (float)(i + 1));
    for (i = 0; i < 4; i++)
        c[i] = NAN;
    nnrt_sgemm(0, 1, 2, 2, 0, 1.0f, a, 1, b, 1, 0.0f, c, 2);
    for (i = 0; i < 4; i++)
        assert_true(c[i] == 0.0f && !signbit(c[i]));
}

/* Invalid sizes leave C alone. */
static void test_invalid_sizes(void **state)
{
    float a[4] = {1, 1, 1, 1}, c[4] = {5, 5, 5, 5};
    int i;
    (void)state;
    nnrt_sgemm(0, 0, 2, 2, 2, 1.0f, a, 1, a, 2, 0.0f, c, 2);  /* lda < K */
    nnrt_sgemm(0, 0, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 1);  /* ldc < N */
    nnrt_sgemm(0, 0, -1, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2);
    nnrt_sgemm(0, 0, 2, 2, -1, 1.0f, a, 2, a, 2, 0.0f, c, 2);
    for (i = 0; i < 4; i++)
        assert_true(c[i] == 5.0f);
}

static void test_all_finite(void **state)
{
    static float x[1000];
    const float bad[] = {INFINITY, -INFINITY, NAN, -NAN};
    int i, j;
    (void)state;
    for (i = 0; i < 1000; i++)
        x[i] = (float)(i - 500) * 1e35f;
    x[3] = 3.4028235e38f; /* FLT_MAX is finite */
    x[4] = 1e-45f;        /* a subnormal too */
    assert_int_equal(nnrt_all_finite(x, 1000), 1);
    assert_int_equal(nnrt_all_finite(x, 0), 1);
    for (j = 0; j < 4; j++)
        for (i = 0; i < 1000; i += 333) {
            float keep = x[i];
            x[i] = bad[j];
            assert_int_equal(nnrt_all_finite(x, 1000), 0);
            assert_int_equal(nnrt_all_finite(x, i), 1);
            x[i] = keep;
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_sizes),
        cmocka_unit_test(test_large_sizes),
        cmocka_unit_test(test_ws_sizes),
        cmocka_unit_test(test_ws_size_monotone),
        cmocka_unit_test(test_one_row_without_workspace),
        cmocka_unit_test(test_packed_matches_ws),
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_alpha_zero_and_empty_k),
        cmocka_unit_test(test_invalid_sizes),
        cmocka_unit_test(test_all_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
