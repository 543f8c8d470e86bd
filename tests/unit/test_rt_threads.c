/*
 * test_rt_threads.c - the threaded runtime of nngen train's trainer (the
 * amalgamation with NNRT_THREADS, as the trainer pastes it; -pthread):
 * nnrt_sgemm_ws and the convolutions' forward, input-gradient and
 * weight-gradient passes on 2, 3, 4 and 7 threads give the same bits as on
 * one, on ragged sizes (tiles cut at the edges, rows and columns split,
 * one-row parts, several column blocks), over every (ta, tb), beta 0, 1 and
 * 0.5; the epilogue sees every element of C exactly once, with its final
 * value; a product below the threshold and a batch smaller than the thread
 * count run (alone) all the same; the pool runs jobs back to back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#define NNRT_THREADS 1
#define NNRT_API static inline
/* the sizes below straddle this threshold (the runtime's default is 2^22) */
#define NNRT_MT_FLOPS (1 << 20)
#include "nn_runtime.h"
#include "nn_runtime.c" /* NN_BINARY_DIR/runtime, made by cmake/amalgamate.cmake */

#define MAXE (700 * 700)
static float A[MAXE], B[MAXE], C0[MAXE], C1[MAXE], CN[MAXE];
static float W[400000];
static unsigned char seen[MAXE];
static int epi_ldc, epi_bad;
static const float *epi_c;

#if defined(__SANITIZE_ADDRESS__)
/* under ASan (scripts/test.sh's sanitized pass, where every access is
 * checked) two counts: the common one and more threads than parts; the
 * plain pass runs all four */
static const int thread_counts[] = {2, 7};
#else
static const int thread_counts[] = {2, 3, 4, 7};
#endif

/* the epilogue: counts each element and checks it is final (C1 holds the
 * single-threaded result when the threaded run's epilogue is checked) */
static void count_epi(void *ctx, int i0, int rows, int j0, int cols) {
    int i, j;
    (void)ctx;
    for (i = i0; i < i0 + rows; i++)
        for (j = j0; j < j0 + cols; j++) {
            seen[i * epi_ldc + j]++;
            if (memcmp(&epi_c[i * epi_ldc + j], &C1[i * epi_ldc + j], sizeof(float)) != 0)
                epi_bad = 1;
        }
}

static void fill(nnrt_rng *r, float *x, long n) {
    long i;
    for (i = 0; i < n; i++)
        x[i] = 2.0f * nnrt_rng_uniform(r) - 1.0f;
}

/* one product on 1 thread, then on each thread count: the same bits, and
 * each element of C through the epilogue once */
static void check_gemm(nnrt_rng *r, int ta, int tb, int M, int N, int K, float beta) {
    int lda = ta ? M : K, ldb = tb ? K : N, ldc = N, t, i;
    long ws = nnrt_sgemm_ws_size(M, N, K);
    assert_true(ws <= (long)(sizeof W / sizeof W[0]));
    assert_true((long)M * N <= MAXE && (long)M * K <= MAXE && (long)K * N <= MAXE);
    fill(r, A, (long)M * K);
    fill(r, B, (long)K * N);
    fill(r, C0, (long)M * N);
    nnrt_mt_set_threads(1);
    memcpy(C1, C0, sizeof(float) * (size_t)M * (size_t)N);
    nnrt_sgemm_ws(ta, tb, M, N, K, 1.5f, A, lda, B, ldb, beta, C1, ldc, W, NULL, NULL);
    for (t = 0; t < (int)(sizeof thread_counts / sizeof thread_counts[0]); t++) {
        nnrt_mt_set_threads(thread_counts[t]);
        memcpy(CN, C0, sizeof(float) * (size_t)M * (size_t)N);
        memset(seen, 0, (size_t)M * (size_t)N);
        epi_ldc = ldc, epi_c = CN, epi_bad = 0;
        nnrt_sgemm_ws(ta, tb, M, N, K, 1.5f, A, lda, B, ldb, beta, CN, ldc, W, count_epi, NULL);
        if (memcmp(C1, CN, sizeof(float) * (size_t)M * (size_t)N) != 0)
            fail_msg("ta %d tb %d %d x %d x %d beta %g: %d threads differ from 1", ta, tb, M, N, K, beta,
                     thread_counts[t]);
        for (i = 0; i < M * N; i++)
            if (seen[i] != 1)
                fail_msg("ta %d tb %d %d x %d x %d, %d threads: element %d through the epilogue %d times", ta, tb, M, N,
                         K, thread_counts[t], i, seen[i]);
        assert_false(epi_bad);
    }
    nnrt_mt_set_threads(1);
}

static void test_gemm_same_bits(void **state) {
    /* M x N x K: split by columns (more column tiles), by rows, a one-row
     * last tile (M = 6 k + 1), more threads than tiles, several NNRT_NC
     * blocks of columns, K in several blocks, and one below the threshold */
    static const int sizes[][3] = {{32, 128, 784}, {784, 128, 32}, {97, 45, 301}, {37, 131, 257}, {13, 700, 150},
                                   {600, 7, 600},  {7, 1100, 300}, {61, 33, 700}, {300, 300, 16}, {20, 20, 20}};
    static const float betas[] = {0.0f, 1.0f, 0.5f};
    nnrt_rng r;
    int s, ta, tb, b;
    (void)state;
    nnrt_rng_seed(&r, 18, 1);
    for (s = 0; s < (int)(sizeof sizes / sizeof sizes[0]); s++)
        for (ta = 0; ta < 2; ta++)
            for (tb = 0; tb < 2; tb++)
                for (b = 0; b < 3; b++)
                    check_gemm(&r, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], betas[b]);
}

/* the three passes of one convolution on a batch of n: the same bits on
 * every thread count; sparse: dy mostly zero (the weight pass then runs
 * over its nonzeros on gcc hosts, its threads splitting the filters) */
static void check_conv(nnrt_rng *r, const nnrt_conv2d *g, int n, int sparse) {
    long xs = (long)g->c * g->h * g->w, ys = (long)g->f * nnrt_conv2d_oh(g) * nnrt_conv2d_ow(g);
    long ws = (long)g->f / g->groups * (g->c / g->groups) * g->kh * g->kw * g->groups, sc = 0;
    int pass, t;
    for (pass = 0; pass < 3; pass++) {
        long p = nnrt_conv2d_scratch(g, pass, n);
        sc = p > sc ? p : sc;
    }
    assert_true(sc <= (long)(sizeof W / sizeof W[0]) && n * xs <= MAXE && n * ys <= MAXE && ws <= MAXE);
    fill(r, A, n * xs); /* x */
    fill(r, B, n * ys); /* dy */
    for (long i = 0; sparse && i < n * ys; i++)
        if (nnrt_rng_uniform(r) < 0.8f)
            B[i] = 0.0f;
    fill(r, C0, ws);    /* w */
    for (pass = 0; pass < 3; pass++) {
        long out = pass == NNRT_CONV2D_FORWARD ? n * ys : pass == NNRT_CONV2D_BACKWARD_INPUT ? n * xs : ws;
        for (t = -1; t < (int)(sizeof thread_counts / sizeof thread_counts[0]); t++) {
            float *o = t < 0 ? C1 : CN;
            nnrt_mt_set_threads(t < 0 ? 1 : thread_counts[t]);
            memset(o, 0xff, sizeof(float) * (size_t)out); /* NaN: every output must be written */
            memset(W, 0xff, sizeof(float) * (size_t)sc); /* and scratch is never read before it is written */
            if (pass == NNRT_CONV2D_FORWARD)
                nnrt_conv2d_forward(g, n, A, C0, o, W);
            else if (pass == NNRT_CONV2D_BACKWARD_INPUT)
                nnrt_conv2d_backward_input(g, n, B, C0, o, W);
            else
                nnrt_conv2d_backward_weight(g, n, A, B, o, W);
            if (t >= 0 && memcmp(C1, CN, sizeof(float) * (size_t)out) != 0)
                fail_msg("conv %dx%dx%d f %d k %d groups %d, n %d, pass %d: %d threads differ from 1", g->c, g->h, g->w,
                         g->f, g->kh, g->groups, n, pass, thread_counts[t]);
        }
    }
    nnrt_mt_set_threads(1);
}

static void test_conv_same_bits(void **state) {
    /* LeNet's two layers; a 1 x 1 kernel (no unfolding); groups and
     * stride; a batch smaller than the thread count; a ragged batch;
     * LeNet's second layer unfolded in blocks (ragged bands and chunks) */
    static const nnrt_conv2d gs[] = {
        {1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0},     {16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {8, 20, 20, 16, 1, 1, 1, 1, 0, 0, 1, 0, 0},     {6, 17, 15, 12, 3, 3, 2, 2, 1, 1, 3, 0, 0},
        {16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 104, 32},
    };
    static const int ns[] = {9, 3, 13, 5, 7};
    nnrt_rng r;
    int k;
    (void)state;
    nnrt_rng_seed(&r, 18, 2);
    for (k = 0; k < (int)(sizeof gs / sizeof gs[0]); k++) {
        check_conv(&r, &gs[k], ns[k], 0);
        check_conv(&r, &gs[k], ns[k], 1);
    }
    check_conv(&r, &gs[0], 2, 0); /* fewer samples than threads: one thread's passes */
}

/* many small jobs back to back: no lost wake-up, no part run twice */
static int job_hits[NNRT_MT_MAX], job_bad;
static void count_part(void *ctx, int part, int parts, float *work) {
    (void)ctx, (void)work;
    if (part < 0 || part >= parts) /* no cmocka assertion on a worker */
        __atomic_store_n(&job_bad, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&job_hits[part], 1, __ATOMIC_RELAXED);
}

static void test_pool_jobs(void **state) {
    int i, p;
    (void)state;
    nnrt_mt_set_threads(4);
    memset(job_hits, 0, sizeof job_hits);
    for (i = 0; i < 20000; i++)
        assert_int_equal(nnrt_mt_run(count_part, NULL, 3, NULL), 3);
    for (p = 0; p < 3; p++)
        assert_int_equal(job_hits[p], 20000);
    assert_int_equal(job_hits[3], 0);
    assert_false(job_bad);
    memset(job_hits, 0, sizeof job_hits);
    assert_int_equal(nnrt_mt_run(count_part, NULL, 9, NULL), 9); /* more parts than threads */
    for (p = 0; p < 9; p++)
        assert_int_equal(job_hits[p], 1);
    nnrt_mt_set_threads(1);
    assert_int_equal(nnrt_mt_threads(), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_same_bits),
        cmocka_unit_test(test_conv_same_bits),
        cmocka_unit_test(test_pool_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
