/*
 * gemm_device.c - the runtime's GEMM on the Cortex-M4F (its NNRT_M4
 * kernels: the one-row product in blocks of 16 columns or 4 rows, the 3 x 8
 * micro-kernel) against a plain double-precision product, over shapes that
 * reach every edge: one row and several, column and row counts around the
 * block sizes, all four transpositions, padded leading dimensions, alpha
 * and beta (beta = 0 must not read C: C starts as NaN there), products
 * below and above the packed kernel's threshold, with and without a
 * workspace. Built and run under QEMU by gemm_device.sh; prints each
 * failing case and a summary, exits 0 when all agree within 1e-5 (relative
 * to the sum of |terms|).
 */
#include <math.h>
#include <stdio.h>

#include "nn_runtime.h"

enum { MAXM = 40, MAXN = 40, MAXK = 300, PAD = 3 };

static float A[(MAXM + PAD) * (MAXK + PAD)], B[(MAXK + PAD) * (MAXN + PAD)], C[MAXM * (MAXN + PAD)];
static float work[32768];

static unsigned rng_state = 12345u;

static float draw(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (float)((rng_state >> 8) & 0xFFFFu) / 32768.0f - 1.0f;
}

/* one case: C = alpha op(A) op(B) + beta C; returns 1 when it agrees */
static int check(int ta, int tb, int M, int N, int K, float alpha, float beta, int use_ws)
{
    int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD, i, j, k;
    static float C0[MAXM * (MAXN + PAD)];
    for (i = 0; i < (ta ? K : M) * lda; i++)
        A[i] = draw();
    for (i = 0; i < (tb ? N : K) * ldb; i++)
        B[i] = draw();
    for (i = 0; i < M * ldc; i++)
        C0[i] = C[i] = beta == 0.0f ? NAN : draw(); /* NaN: must not be read */
    long ws = nnrt_sgemm_ws_size(M, N, K);
    if (ws > (long)(sizeof work / sizeof work[0])) {
        printf("workspace of %ld floats: too large for the test\n", ws);
        return 0;
    }
    if (use_ws)
        nnrt_sgemm_ws(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws > 0 ? work : NULL, NULL, NULL);
    else
        nnrt_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0, mag = 0.0;
            for (k = 0; k < K; k++) {
                double t = (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                s += t;
                mag += t < 0 ? -t : t;
            }
            double want = alpha * s + (beta == 0.0f ? 0.0 : (double)beta * C0[i * ldc + j]);
            double got = C[i * ldc + j], d = got - want;
            if (!(d <= 1e-5 * (mag + 1.0) && -d <= 1e-5 * (mag + 1.0))) {
                printf("ta %d tb %d M %d N %d K %d alpha %g beta %g ws %d: ", ta, tb, M, N, K, (double)alpha,
                       (double)beta, use_ws);
                printf("C[%d][%d] = %.9g, expected %.9g\n", i, j, got, want);
                return 0;
            }
        }
    return 1;
}

int main(void)
{
    static const int ms[] = {1, 2, 3, 4, 7, 17, 40}, ns[] = {1, 3, 4, 5, 8, 15, 16, 17, 21, 33, 40};
    static const int ks[] = {1, 2, 5, 31, 300};
    int cases = 0, bad = 0;
    for (int t = 0; t < 4; t++)
        for (unsigned a = 0; a < sizeof ms / sizeof ms[0]; a++)
            for (unsigned b = 0; b < sizeof ns / sizeof ns[0]; b++)
                for (unsigned c = 0; c < sizeof ks / sizeof ks[0]; c++) {
                    int M = ms[a], N = ns[b], K = ks[c];
                    float alpha = (a + b) % 2 ? 0.5f : 1.0f, beta = (float)((a + c) % 3) * 0.5f; /* 0, 0.5, 1 */
                    for (int use_ws = 0; use_ws < 2; use_ws++) {
                        cases++;
                        bad += !check(t >> 1, t & 1, M, N, K, alpha, beta, use_ws);
                    }
                }
    printf("gemm on the device: %d cases, %d failing\n", cases, bad);
    return bad != 0;
}
