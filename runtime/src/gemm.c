/*
 * gemm.c - the single-precision GEMM kernels behind nnrt_sgemm (unpacked
 * loops, no workspace) and nnrt_sgemm_ws (packed and blocked, with a
 * caller's workspace and an epilogue per finished block of C).
 *
 * Invariants: plain C that gcc and clang vectorize (no intrinsics), with
 * register-blocked kernels for the Cortex-M4F chosen at compile time from
 * the target's macros (NNRT_M4); no
 * allocation (the workspace is the caller's, sized by nnrt_sgemm_ws_size);
 * no memset / memcpy calls (copies and zero fills go through fences);
 * impossible sizes leave C untouched; beta == 0 never reads C.
 */
#include "internal.h"

enum {
    NNRT_GEMM_NC = 256, /* columns of C per block in the op(B) = B kernel */
    NNRT_GEMM_KC = 256  /* length of the op(A) row chunk in the B^T kernel */
};

/* ---------------------------------------------------------------- kernels */
/* C = beta C on M x N. beta == 0 stores zeros without reading C (NaN in C
 * must not survive). The zero comes through nnrt_fence_f so that compilers
 * cannot turn the loop into a memset call, which a freestanding build would
 * have to provide. */
static inline void nnrt_gemm_scale(int M, int N, float beta, float *C, int ldc) {
    int i, j;
    if (beta == 1.0f)
        return;
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * (size_t)ldc;
        if (beta == 0.0f) {
            const float zero = nnrt_fence_f(0.0f);
            for (j = 0; j < N; j++)
                c[j] = zero;
        } else {
            for (j = 0; j < N; j++)
                c[j] *= beta;
        }
    }
}

/* Offsets are computed in size_t (strides and indices are never negative),
 * and nnrt_gemm_bn's remainder loop starts from a computed index: with int
 * or 32-bit ptrdiff_t products, or a loop continuing another's counter, gcc
 * for 32-bit targets (arm-none-eabi) finds iterations, on paths that cannot
 * run, whose offsets would overflow, and warns about them wherever a call
 * is inlined (-Waggressive-loop-optimizations, -O3's loop unswitching). */

/* Four rows of C, nc columns: for each k, c_r[j] += (alpha a_rk) b_k[j].
 * op(A)[r][k] is A[r sai + k sak]. Each row of B is read once for four rows
 * of C, which stay in L1; the inner loop is contiguous in B and C and has no
 * reduction, so gcc -O3 vectorizes it. */
static inline void nnrt_gemm_bn4(int K, int nc, float alpha, const float *A, size_t sai, size_t sak, const float *B,
                                 int ldb, float *C, int ldc) {
    float *restrict c0 = C;
    float *restrict c1 = C + ldc;
    float *restrict c2 = C + 2 * (size_t)ldc;
    float *restrict c3 = C + 3 * (size_t)ldc;
    int k, j;
    for (k = 0; k < K; k++) {
        const float *restrict b = B + (size_t)k * (size_t)ldb;
        const float *a = A + (size_t)k * sak;
        float a0 = alpha * a[0], a1 = alpha * a[sai];
        float a2 = alpha * a[2 * sai], a3 = alpha * a[3 * sai];
        for (j = 0; j < nc; j++) {
            float bj = b[j];
            c0[j] += a0 * bj;
            c1[j] += a1 * bj;
            c2[j] += a2 * bj;
            c3[j] += a3 * bj;
        }
    }
}

/* One row of C, nc columns: c[j] += (alpha a_k) b_k[j]. */
static inline void nnrt_gemm_bn1(int K, int nc, float alpha, const float *A, size_t sak, const float *B, int ldb,
                                 float *C) {
    float *restrict c = C;
    int k, j;
    for (k = 0; k < K; k++) {
        const float *restrict b = B + (size_t)k * (size_t)ldb;
        float a = alpha * A[(size_t)k * sak];
        for (j = 0; j < nc; j++)
            c[j] += a * b[j];
    }
}

/* op(B) = B (K x N): C += alpha op(A) B, i-k-j order in blocks of four rows
 * and NNRT_GEMM_NC columns. Serves A (M x K) and A^T (A is K x M) alike
 * through the strides of op(A). */
static inline void nnrt_gemm_bn(int M, int N, int K, float alpha, const float *A, size_t sai, size_t sak,
                                const float *B, int ldb, float *C, int ldc) {
    int i, j0, m4 = M - M % 4;                 /* the remainder loop starts at m4, not where the */
    for (j0 = 0; j0 < N; j0 += NNRT_GEMM_NC) { /* first stopped: see the note above */
        int nc = N - j0 < NNRT_GEMM_NC ? N - j0 : NNRT_GEMM_NC;
        for (i = 0; i < m4; i += 4)
            nnrt_gemm_bn4(K, nc, alpha, A + (size_t)i * sai, sai, sak, B + j0, ldb, C + (size_t)i * (size_t)ldc + j0,
                          ldc);
        for (i = m4; i < M; i++)
            nnrt_gemm_bn1(K, nc, alpha, A + (size_t)i * sai, sak, B + j0, ldb, C + (size_t)i * (size_t)ldc + j0);
    }
}

/* <x, y> with 16 independent partial sums (a reduction gcc vectorizes
 * without reassociating), added pairwise at the end. */
static inline float nnrt_dot(const float *restrict x, const float *restrict y, int n) {
    float acc[16];
    const float zero = nnrt_fence_f(0.0f); /* not a memset call (see nnrt_gemm_scale) */
    int k, u, w;
    for (u = 0; u < 16; u++)
        acc[u] = zero;
    for (k = 0; k + 16 <= n; k += 16)
        for (u = 0; u < 16; u++)
            acc[u] += x[k + u] * y[k + u];
    for (; k < n; k++)
        acc[k & 15] += x[k] * y[k];
    for (w = 8; w > 0; w >>= 1)
        for (u = 0; u < w; u++)
            acc[u] += acc[u + w];
    return acc[0];
}

/* op(B) = B^T (B is N x K): C[i][j] += <alpha op(A) row i, B row j>. The row
 * of op(A) (strided when ta) is gathered in chunks of NNRT_GEMM_KC into a
 * stack buffer, so both operands of every dot product are contiguous. */
static inline void nnrt_gemm_bt(int M, int N, int K, float alpha, const float *A, size_t sai, size_t sak,
                                const float *B, int ldb, float *C, int ldc) {
    float a[NNRT_GEMM_KC];
    const float al = nnrt_fence_f(alpha); /* alpha == 1 would make the gather a memcpy call */
    int i, j, k, k0;
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * (size_t)ldc;
        for (k0 = 0; k0 < K; k0 += NNRT_GEMM_KC) {
            int kc = K - k0 < NNRT_GEMM_KC ? K - k0 : NNRT_GEMM_KC;
            for (k = 0; k < kc; k++)
                a[k] = al * A[(size_t)i * sai + (size_t)(k0 + k) * sak];
            if (kc < 16) { /* short products: sixteen partial sums would cost more than they save */
                for (j = 0; j < N; j++) {
                    const float *b = B + (size_t)j * (size_t)ldb + k0;
                    float s = 0.0f;
                    for (k = 0; k < kc; k++)
                        s += a[k] * b[k];
                    c[j] += s;
                }
                continue;
            }
            for (j = 0; j < N; j++)
                c[j] += nnrt_dot(a, B + (size_t)j * (size_t)ldb + k0, kc);
        }
    }
}

/* C = alpha op(A) op(B) + beta C. Sizes that cannot be valid (M, N or K
 * negative, a leading dimension below its row length) leave C untouched;
 * alpha == 0 or K == 0 reads neither A nor B (C = beta C). */
NNRT_API void nnrt_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                         int ldb, float beta, float *C, int ldc) {
    int use_ab;
    size_t sai, sak;
    if (M <= 0 || N <= 0 || K < 0 || ldc < N)
        return;
    use_ab = alpha != 0.0f && K > 0;
    if (use_ab && (lda < (ta ? M : K) || ldb < (tb ? K : N)))
        return;
    nnrt_gemm_scale(M, N, beta, C, ldc);
    if (!use_ab)
        return;
    sai = ta ? 1 : (size_t)lda;
    sak = ta ? (size_t)lda : 1;
    if (tb)
        nnrt_gemm_bt(M, N, K, alpha, A, sai, sak, B, ldb, C, ldc);
    else
        nnrt_gemm_bn(M, N, K, alpha, A, sai, sak, B, ldb, C, ldc);
}

/* ---------------------------------------------- packed, blocked GEMM */
/* The workspace kernel (Goto / BLIS structure, plain C): op(B) is copied in
 * blocks of NNRT_KC x NNRT_NC into panels NNRT_NR columns wide, op(A) in
 * blocks of NNRT_MC x NNRT_KC into panels NNRT_MR rows high (zero padded),
 * both k-major, so that the micro-kernel reads both operands contiguously
 * whatever the transpositions. The micro-kernel keeps an MR x NR tile of C
 * in registers (6 x 32 floats: twelve 512-bit or twenty-four 256-bit
 * registers; 3 x 8 on the Cortex-M4F, see NNRT_M4) for a whole KC panel;
 * gcc -O3 vectorizes it for the target it compiles for (-march=native:
 * AVX-512; plain x86-64: SSE2, slower).
 * Measured on the reference machine (AVX-512, gcc 12 -O3 -march=native):
 * 6 x 32 beats 6 x 16 and 4 x 32; see bench/README.md.
 * Below NNRT_SMALL_FLOPS multiply-adds, and for a single row of C, packing
 * costs more than it saves: the unpacked loop kernels serve those. */
enum {
#if NNRT_M4 /* 3 x 8: 24 sums, three values of A and one of B in registers (of 32) */
    NNRT_MR = 3,
    NNRT_NR = 8,
#else
    NNRT_MR = 6,
    NNRT_NR = 32,
#endif
    NNRT_KC = 256,
    NNRT_MC = 120,
    NNRT_NC = 512,
    NNRT_SMALL_FLOPS = 16384 /* M N K below which the unpacked kernels run */
};

static inline int nnrt_min(int a, int b) {
    return a < b ? a : b;
}

static inline long nnrt_round_up(long x, long to) {
    return (x + to - 1) / to * to;
}

NNRT_API long nnrt_sgemm_ws_size(int M, int N, int K) {
    long kc, mc, nc;
    if (M <= 1 || N <= 0 || K <= 0) /* one row: the matrix-vector path packs nothing */
        return 0;
    kc = nnrt_min(K, NNRT_KC);
    mc = nnrt_round_up(nnrt_min(M, NNRT_MC), NNRT_MR);
    nc = nnrt_round_up(nnrt_min(N, NNRT_NC), NNRT_NR);
    return kc * (mc + nc) + 16; /* + 16: room to align the panels to 64 bytes */
}

/* op(A)[ic.., pc..] (mc x kc) into panels of MR rows: ap[p][k][r]. Copies
 * multiply by a `one` the compiler cannot see (x 1 is exact, -0 and NaN
 * included), so that gcc does not turn them into memmove calls, which a
 * freestanding build would have to provide (and which cost more than the
 * vector moves for these short rows). */
static inline void nnrt_pack_a(int ta, int mc, int kc, const float *A, int lda, float *restrict ap) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int i0, r, k;
    for (i0 = 0; i0 < mc; i0 += NNRT_MR, ap += (ptrdiff_t)NNRT_MR * kc) {
        int mr = nnrt_min(NNRT_MR, mc - i0);
        if (ta && mr == NNRT_MR) {   /* op(A)[i][k] = A[k lda + i]: rows of A are contiguous in i */
            for (k = 0; k < kc; k++) /* (a constant count: moves, not a memmove call per k) */
                for (r = 0; r < NNRT_MR; r++)
                    ap[k * NNRT_MR + r] = A[(ptrdiff_t)k * lda + i0 + r] * one;
        } else if (ta) {
            for (k = 0; k < kc; k++) {
                const float *a = A + (ptrdiff_t)k * lda + i0;
                for (r = 0; r < mr; r++)
                    ap[k * NNRT_MR + r] = a[r] * one;
                for (; r < NNRT_MR; r++)
                    ap[k * NNRT_MR + r] = zero;
            }
        } else {
            for (r = 0; r < mr; r++) {
                const float *a = A + (ptrdiff_t)(i0 + r) * lda;
                for (k = 0; k < kc; k++)
                    ap[k * NNRT_MR + r] = a[k] * one;
            }
            for (; r < NNRT_MR; r++)
                for (k = 0; k < kc; k++)
                    ap[k * NNRT_MR + r] = zero;
        }
    }
}

/* op(B)[pc.., jc..] (kc x nc) into panels of NR columns: bp[p][k][c] */
static inline void nnrt_pack_b(int tb, int kc, int nc, const float *B, int ldb, float *restrict bp) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int j0, c, k;
    for (j0 = 0; j0 < nc; j0 += NNRT_NR, bp += (ptrdiff_t)NNRT_NR * kc) {
        int nr = nnrt_min(NNRT_NR, nc - j0);
        if (tb) { /* op(B)[k][j] = B[j ldb + k] */
            for (c = 0; c < nr; c++) {
                const float *b = B + (ptrdiff_t)(j0 + c) * ldb;
                for (k = 0; k < kc; k++)
                    bp[k * NNRT_NR + c] = b[k] * one;
            }
            for (; c < NNRT_NR; c++)
                for (k = 0; k < kc; k++)
                    bp[k * NNRT_NR + c] = zero;
        } else {
            for (k = 0; k < kc; k++) {
                const float *b = B + (ptrdiff_t)k * ldb + j0;
                if (nr == NNRT_NR) {
                    for (c = 0; c < NNRT_NR; c++)
                        bp[k * NNRT_NR + c] = b[c] * one;
                } else {
                    for (c = 0; c < nr; c++)
                        bp[k * NNRT_NR + c] = b[c] * one;
                    for (; c < NNRT_NR; c++)
                        bp[k * NNRT_NR + c] = zero;
                }
            }
        }
    }
}

#if NNRT_M4
/* The M4's tile (NNRT_MR x NNRT_NR = 3 x 8) in 24 registers: per k, three
 * loads of A, eight of B (each used three times), 24 VFMA. MR and NR
 * divide the host's 6 and 32, so the workspace this build needs
 * (nnrt_sgemm_ws_size) is never more than nngen sized on the host. */
#define NNRT_M4_ROW(j)                                                                                                 \
    x = b[j], c0##j = NNRT_M4_MADD(c0##j, a0, x), c1##j = NNRT_M4_MADD(c1##j, a1, x), c2##j = NNRT_M4_MADD(c2##j, a2, x)
static inline void nnrt_m4_tile(int kc, const float *ap, const float *b, ptrdiff_t bs, float t[3][8]) {
    float c00 = 0.0f, c01 = 0.0f, c02 = 0.0f, c03 = 0.0f, c04 = 0.0f, c05 = 0.0f, c06 = 0.0f, c07 = 0.0f;
    float c10 = 0.0f, c11 = 0.0f, c12 = 0.0f, c13 = 0.0f, c14 = 0.0f, c15 = 0.0f, c16 = 0.0f, c17 = 0.0f;
    float c20 = 0.0f, c21 = 0.0f, c22 = 0.0f, c23 = 0.0f, c24 = 0.0f, c25 = 0.0f, c26 = 0.0f, c27 = 0.0f;
    const float *end = ap + 3 * (ptrdiff_t)kc;
    for (; ap != end; ap += 3, b += bs) {
        const float a0 = ap[0], a1 = ap[1], a2 = ap[2];
        float x;
        NNRT_M4_ROW(0), NNRT_M4_ROW(1), NNRT_M4_ROW(2), NNRT_M4_ROW(3);
        NNRT_M4_ROW(4), NNRT_M4_ROW(5), NNRT_M4_ROW(6), NNRT_M4_ROW(7);
    }
    t[0][0] = c00, t[0][1] = c01, t[0][2] = c02, t[0][3] = c03, t[0][4] = c04, t[0][5] = c05, t[0][6] = c06;
    t[0][7] = c07, t[1][0] = c10, t[1][1] = c11, t[1][2] = c12, t[1][3] = c13, t[1][4] = c14, t[1][5] = c15;
    t[1][6] = c16, t[1][7] = c17, t[2][0] = c20, t[2][1] = c21, t[2][2] = c22, t[2][3] = c23, t[2][4] = c24;
    t[2][5] = c25, t[2][6] = c26, t[2][7] = c27;
}
#undef NNRT_M4_ROW
#endif

/* The micro-kernel: t = ap bp over kc (an MR x NR tile; row k of the op(B)
 * panel at bp + k bs), then the mr x nr valid part of it into C:
 * C = alpha t + beta C (beta == 0: C not read). */
static inline void nnrt_micro(int kc, const float *restrict ap, const float *restrict bp, ptrdiff_t bs,
                              float *restrict C, int ldc, int mr, int nr, float alpha, float beta) {
    float t[NNRT_MR][NNRT_NR];
    int i, j;
#if NNRT_M4
    nnrt_m4_tile(kc, ap, bp, bs, t);
#else
    const float zero = nnrt_fence_f(0.0f);
    int k;
    NNRT_UNROLL(6)
    for (i = 0; i < NNRT_MR; i++)
        for (j = 0; j < NNRT_NR; j++)
            t[i][j] = zero;
    for (k = 0; k < kc; k++) {
        const float *restrict a = ap + k * NNRT_MR;
        const float *restrict b = bp + k * bs;
        NNRT_UNROLL(6)
        for (i = 0; i < NNRT_MR; i++)
            for (j = 0; j < NNRT_NR; j++)
                t[i][j] = NNRT_MADD(t[i][j], a[i], b[j]);
    }
#endif
    if (mr == NNRT_MR && nr == NNRT_NR) {
        NNRT_UNROLL(6)
        for (i = 0; i < NNRT_MR; i++) {
            float *restrict c = C + (ptrdiff_t)i * ldc;
            if (beta == 0.0f)
                for (j = 0; j < NNRT_NR; j++)
                    c[j] = alpha * t[i][j];
            else if (beta == 1.0f)
                for (j = 0; j < NNRT_NR; j++)
                    c[j] += alpha * t[i][j];
            else
                for (j = 0; j < NNRT_NR; j++)
                    c[j] = alpha * t[i][j] + beta * c[j];
        }
        return;
    }
    for (i = 0; i < mr; i++) {
        float *restrict c = C + (ptrdiff_t)i * ldc;
        for (j = 0; j < nr; j++)
            c[j] = alpha * t[i][j] + (beta == 0.0f ? 0.0f : beta * c[j]);
    }
}

#if NNRT_M4
/* c[j] = alpha s[j] + beta c[j] (beta == 0: c not read) */
static inline void nnrt_m4_store(int n, const float *s, float alpha, float beta, float *c) {
    int j;
    for (j = 0; j < n; j++)
        c[j] = alpha * s[j] + (beta == 0.0f ? 0.0f : beta * c[j]);
}

/* s[0..15] = sum_k a[k sak] b[k ldb + 0..15]: sixteen sums in registers;
 * per k one load of a, sixteen loads of b (immediate offsets from one
 * pointer), sixteen VFMA, the two pointer increments and the loop test */
static inline void nnrt_m4_cols16(int K, const float *a, ptrdiff_t sak, const float *b, ptrdiff_t ldb, float *s) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, s4 = 0.0f, s5 = 0.0f, s6 = 0.0f, s7 = 0.0f;
    float s8 = 0.0f, s9 = 0.0f, s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f, s14 = 0.0f, s15 = 0.0f;
    const float *end = a + (ptrdiff_t)K * sak;
    for (; a != end; a += sak, b += ldb) {
        const float x = *a;
        s0 = NNRT_M4_MADD(s0, x, b[0]);
        s1 = NNRT_M4_MADD(s1, x, b[1]);
        s2 = NNRT_M4_MADD(s2, x, b[2]);
        s3 = NNRT_M4_MADD(s3, x, b[3]);
        s4 = NNRT_M4_MADD(s4, x, b[4]);
        s5 = NNRT_M4_MADD(s5, x, b[5]);
        s6 = NNRT_M4_MADD(s6, x, b[6]);
        s7 = NNRT_M4_MADD(s7, x, b[7]);
        s8 = NNRT_M4_MADD(s8, x, b[8]);
        s9 = NNRT_M4_MADD(s9, x, b[9]);
        s10 = NNRT_M4_MADD(s10, x, b[10]);
        s11 = NNRT_M4_MADD(s11, x, b[11]);
        s12 = NNRT_M4_MADD(s12, x, b[12]);
        s13 = NNRT_M4_MADD(s13, x, b[13]);
        s14 = NNRT_M4_MADD(s14, x, b[14]);
        s15 = NNRT_M4_MADD(s15, x, b[15]);
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
    s[8] = s8, s[9] = s9, s[10] = s10, s[11] = s11, s[12] = s12, s[13] = s13, s[14] = s14, s[15] = s15;
}

/* the same for four columns (the remainder of the sixteen-column blocks) */
static inline void nnrt_m4_cols4(int K, const float *a, ptrdiff_t sak, const float *b, ptrdiff_t ldb, float *s) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    const float *end = a + (ptrdiff_t)K * sak;
    for (; a != end; a += sak, b += ldb) {
        const float x = *a;
        s0 = NNRT_M4_MADD(s0, x, b[0]);
        s1 = NNRT_M4_MADD(s1, x, b[1]);
        s2 = NNRT_M4_MADD(s2, x, b[2]);
        s3 = NNRT_M4_MADD(s3, x, b[3]);
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

/* s[0..3] = <a, rows 0..3 of b> (rows ldb apart, a with stride sak): four
 * dot products at once, each load of a serving four */
static inline void nnrt_m4_rows4(int K, const float *a, ptrdiff_t sak, const float *b, ptrdiff_t ldb, float *s) {
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    const float *b0 = b, *b1 = b + ldb, *b2 = b + 2 * ldb, *b3 = b + 3 * ldb;
    int k;
    for (k = 0; k < K; k++, a += sak) {
        const float x = *a;
        s0 = NNRT_M4_MADD(s0, x, *b0++);
        s1 = NNRT_M4_MADD(s1, x, *b1++);
        s2 = NNRT_M4_MADD(s2, x, *b2++);
        s3 = NNRT_M4_MADD(s3, x, *b3++);
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

/* nnrt_gemv for the M4: op(B) = B in blocks of 16 and 4 columns, op(B) =
 * B^T in blocks of 4 rows; the last columns (or rows) one at a time. Each
 * loop starts from a computed index (see the note on nnrt_gemm_bn). */
static inline void nnrt_m4_gemv(int tb, int N, int K, float alpha, const float *a, ptrdiff_t sak, const float *B,
                                int ldb, float beta, float *c) {
    float s[16];
    int j, k, n16 = tb ? 0 : N - N % 16, n4 = N - N % 4;
    for (j = 0; j < n16; j += 16) {
        nnrt_m4_cols16(K, a, sak, B + j, ldb, s);
        nnrt_m4_store(16, s, alpha, beta, c + j);
    }
    for (j = n16; j < n4; j += 4) {
        if (tb)
            nnrt_m4_rows4(K, a, sak, B + (size_t)j * (size_t)ldb, ldb, s);
        else
            nnrt_m4_cols4(K, a, sak, B + j, ldb, s);
        nnrt_m4_store(4, s, alpha, beta, c + j);
    }
    for (j = n4; j < N; j++) {
        const float *x = a, *b = tb ? B + (size_t)j * (size_t)ldb : B + j;
        const ptrdiff_t step = tb ? 1 : ldb;
        float t = 0.0f;
        for (k = 0; k < K; k++, x += sak, b += step)
            t = NNRT_M4_MADD(t, *x, *b);
        nnrt_m4_store(1, &t, alpha, beta, c + j);
    }
}
#endif

enum { NNRT_GEMV_W = 128 }; /* columns of the matrix-vector kernel's register block */

/* y = alpha op(A) x-row times op(B): one row of C (M == 1, op(A) = a row
 * with stride sak). op(B) = B: i-k-j over column chunks of NNRT_GEMV_W held
 * in registers; op(B) = B^T: one dot product per column. */
static inline void nnrt_gemv(int tb, int N, int K, float alpha, const float *a, ptrdiff_t sak, const float *B, int ldb,
                             float beta, float *c) {
    enum { W = NNRT_GEMV_W };
    const float zero = nnrt_fence_f(0.0f);
    int j0, j, k;
    if (tb) {
        for (j = 0; j < N; j++) {
            const float *b = B + (ptrdiff_t)j * ldb;
            float s[16];
            int u;
            for (u = 0; u < 16; u++)
                s[u] = zero;
            for (k = 0; k + 16 <= K && sak == 1; k += 16)
                for (u = 0; u < 16; u++)
                    s[u] = NNRT_MADD(s[u], a[k + u], b[k + u]);
            if (sak != 1)
                k = 0;
            for (; k < K; k++)
                s[k & 15] = NNRT_MADD(s[k & 15], a[k * sak], b[k]);
            for (u = 8; u > 0; u >>= 1)
                for (k = 0; k < u; k++)
                    s[k] += s[k + u];
            c[j] = alpha * s[0] + (beta == 0.0f ? 0.0f : beta * c[j]);
        }
        return;
    }
    for (j0 = 0; j0 < N; j0 += W) {
        int w = nnrt_min(W, N - j0);
        float s[W];
        NNRT_UNROLL(128)
        for (j = 0; j < W; j++)
            s[j] = zero;
        if (w == W) {
            for (k = 0; k < K; k++) {
                const float *restrict b = B + (ptrdiff_t)k * ldb + j0;
                const float ak = a[k * sak];
                NNRT_UNROLL(128)
                for (j = 0; j < W; j++)
                    s[j] = NNRT_MADD(s[j], ak, b[j]);
            }
        } else {
            for (k = 0; k < K; k++) {
                const float *restrict b = B + (ptrdiff_t)k * ldb + j0;
                const float ak = a[k * sak];
                for (j = 0; j < w; j++)
                    s[j] = NNRT_MADD(s[j], ak, b[j]);
            }
        }
        for (j = 0; j < w; j++)
            c[j0 + j] = alpha * s[j] + (beta == 0.0f ? 0.0f : beta * c[j0 + j]);
    }
}

#if NNRT_MT
/* ------------------------------------------- threaded (NNRT_THREADS only) */
/* The packed product split into parts of whole tiles: ranges of NNRT_MR
 * rows or of NNRT_NR columns of C, whichever has more tiles (columns on a
 * tie: a split of the rows packs op(B) once per part). Each part is the
 * product of its rows of op(A) (or columns of op(B)) run by nnrt_sgemm_ws
 * on the packed path whatever its size (NNRT_MT_PART), and the packed
 * path blocks K by K alone: every element of C is summed in the order of
 * the single-threaded product, the same bits for every thread count.
 * Below NNRT_MT_FLOPS multiply-adds the product runs alone. */

typedef struct nnrt_gemm_job {
    int ta, tb, M, N, K, lda, ldb, ldc, by_rows, tiles;
    int i0, j0; /* a part's first row and column of C */
    float alpha, beta;
    const float *A, *B;
    float *C;
    nnrt_epilogue epi;
    void *ctx;
} nnrt_gemm_job;

/* a part's epilogue: the block's place in the whole C */
static void nnrt_gemm_part_epi(void *ctx, int i0, int rows, int j0, int cols) {
    const nnrt_gemm_job *g = (const nnrt_gemm_job *)ctx;
    g->epi(g->ctx, g->i0 + i0, rows, g->j0 + j0, cols);
}

static void nnrt_gemm_part(void *ctx, int part, int parts, float *work) {
    nnrt_gemm_job g = *(const nnrt_gemm_job *)ctx;
    int t0 = (int)((long)g.tiles * part / parts), t1 = (int)((long)g.tiles * (part + 1) / parts);
    int m = g.M, n = g.N;
    if (t0 == t1)
        return;
    g.i0 = g.by_rows ? t0 * NNRT_MR : 0;
    g.j0 = g.by_rows ? 0 : t0 * NNRT_NR;
    if (g.by_rows)
        m = nnrt_min(t1 * NNRT_MR, g.M) - g.i0;
    else
        n = nnrt_min(t1 * NNRT_NR, g.N) - g.j0;
    nnrt_sgemm_ws(g.ta, g.tb, m, n, g.K, g.alpha, g.ta ? g.A + g.i0 : g.A + (ptrdiff_t)g.i0 * g.lda, g.lda,
                  g.tb ? g.B + (ptrdiff_t)g.j0 * g.ldb : g.B + g.j0, g.ldb, g.beta,
                  g.C + (ptrdiff_t)g.i0 * g.ldc + g.j0, g.ldc, work, g.epi ? nnrt_gemm_part_epi : NULL, &g);
}

/* 1 in a part of a product (nnrt_gemm_part), on any thread */
static inline int nnrt_gemm_in_part(void) {
    return nnrt_mt_job() == nnrt_gemm_part;
}

/* 1 when the product ran on several threads (the packed path's sizes) */
static inline int nnrt_gemm_mt(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc, float *work, nnrt_epilogue epi,
                               void *ctx) {
    int threads = nnrt_mt_threads(), mt = (M + NNRT_MR - 1) / NNRT_MR, nt = (N + NNRT_NR - 1) / NNRT_NR;
    nnrt_gemm_job g;
    if (threads < 2 || (double)M * N * K < NNRT_MT_FLOPS || (mt < 2 && nt < 2))
        return 0;
    g.ta = ta, g.tb = tb, g.M = M, g.N = N, g.K = K, g.lda = lda, g.ldb = ldb, g.ldc = ldc;
    g.by_rows = mt > nt, g.tiles = mt > nt ? mt : nt, g.i0 = 0, g.j0 = 0;
    g.alpha = alpha, g.beta = beta, g.A = A, g.B = B, g.C = C, g.epi = epi, g.ctx = ctx;
    if (!nnrt_mt_reserve(nnrt_sgemm_ws_size(M, N, K)))
        return 0;
    return nnrt_mt_run(nnrt_gemm_part, &g, nnrt_min(2 * threads, g.tiles), work) > 0; /* two parts a thread */
}
#define NNRT_MT_PART nnrt_gemm_in_part()
#else
#define NNRT_MT_PART 0
#endif

NNRT_API void nnrt_sgemm_ws(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                            int ldb, float beta, float *C, int ldc, float *work, nnrt_epilogue epi, void *ctx) {
    float *ap, *bp;
    int jc, pc, ic, jr, ir;
    if (M <= 0 || N <= 0 || K < 0 || ldc < N)
        return;
    if (alpha != 0.0f && K > 0 && (lda < (ta ? M : K) || ldb < (tb ? K : N)))
        return;
    if (alpha != 0.0f && K > 0 && M == 1 && !NNRT_MT_PART) { /* one row: no packing, no workspace */
#if NNRT_M4
        nnrt_m4_gemv(tb, N, K, alpha, A, ta ? lda : 1, B, ldb, beta, C);
#else
        nnrt_gemv(tb, N, K, alpha, A, ta ? lda : 1, B, ldb, beta, C);
#endif
    } else if (alpha == 0.0f || K == 0 || !work || ((double)M * N * K < NNRT_SMALL_FLOPS && !NNRT_MT_PART)) {
        nnrt_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
#if NNRT_MT
        if (nnrt_gemm_mt(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work, epi, ctx))
            return;
#endif
        /* 64-byte aligned panels: op(B) block first, then the op(A) block */
        bp = work + ((16 - ((size_t)work / sizeof(float)) % 16) % 16);
        ap = bp + (ptrdiff_t)nnrt_min(K, NNRT_KC) * nnrt_round_up(nnrt_min(N, NNRT_NC), NNRT_NR);
        /* K in blocks of equal size (at most KC): no short last
         * block (784 = 4 x 196, not 3 x 256 + 16) */
        int kb = (K + NNRT_KC - 1) / NNRT_KC, kstep = (K + kb - 1) / kb;
        int mstep = NNRT_MC;
        for (jc = 0; jc < N; jc += NNRT_NC) {
            int nc = nnrt_min(NNRT_NC, N - jc);
            for (pc = 0; pc < K; pc += kstep) {
                int kc = nnrt_min(kstep, K - pc);
                float b = pc == 0 ? beta : 1.0f;
                /* op(B) = B: whole panels are read in place, rows ldb apart (a
                 * copy costs more than it saves at these sizes); only the
                 * last, partial panel is copied, zero padded. B^T: all copied. */
                int edge = tb ? 0 : nc / NNRT_NR * NNRT_NR;
                if (edge < nc)
                    nnrt_pack_b(tb, kc, nc - edge,
                                tb ? B + (ptrdiff_t)(jc + edge) * ldb + pc : B + (ptrdiff_t)pc * ldb + jc + edge, ldb,
                                bp);
                for (ic = 0; ic < M; ic += mstep) {
                    int mc = nnrt_min(mstep, M - ic);
                    nnrt_pack_a(ta, mc, kc, ta ? A + (ptrdiff_t)pc * lda + ic : A + (ptrdiff_t)ic * lda + pc, lda, ap);
                    for (jr = 0; jr < nc; jr += NNRT_NR)
                        for (ir = 0; ir < mc; ir += NNRT_MR) {
                            int mr = nnrt_min(NNRT_MR, mc - ir), nr = nnrt_min(NNRT_NR, nc - jr);
                            const float *panel =
                                jr < edge ? B + (ptrdiff_t)pc * ldb + jc + jr : bp + (ptrdiff_t)(jr - edge) * kc;
                            nnrt_micro(kc, ap + (ptrdiff_t)ir * kc, panel, jr < edge ? ldb : NNRT_NR,
                                       C + (ptrdiff_t)(ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, b);
                            if (epi && pc + kc == K)
                                epi(ctx, ic + ir, mr, jc + jr, nr);
                        }
                }
            }
        }
        return;
    }
    if (epi)
        epi(ctx, 0, M, 0, N);
}

/* ------------------------------------- one-row products of a packed matrix */
/* Bp = B's column panels of NNRT_GEMV_W (the last one N % NNRT_GEMV_W wide),
 * panel by panel, each K rows of its width: the panel at column j0 starts at
 * Bp + j0 K. Copies multiply by a `one` the compiler cannot see (see
 * nnrt_pack_a). */
NNRT_API void nnrt_pack_cols(int K, int N, const float *B, int ldb, float *Bp) {
#if NNRT_M4
    (void)K, (void)N, (void)B, (void)ldb, (void)Bp; /* read in place (no cache to stream through) */
#else
    const float one = nnrt_fence_f(1.0f);
    int j0, j, k;
    if (K <= 0 || N <= 0 || ldb < N)
        return;
    for (j0 = 0; j0 < N; j0 += NNRT_GEMV_W) {
        int w = nnrt_min(NNRT_GEMV_W, N - j0);
        float *restrict p = Bp + (ptrdiff_t)j0 * K;
        for (k = 0; k < K; k++) {
            const float *b = B + (ptrdiff_t)k * ldb + j0;
            for (j = 0; j < w; j++)
                p[(ptrdiff_t)k * w + j] = b[j] * one;
        }
    }
#endif
}

/* nnrt_gemv's op(B) = B loop over the panels of nnrt_pack_cols: per panel
 * the same sums in the same order as over B in place, the panel's rows
 * contiguous */
static inline void nnrt_gemv_packed(int N, int K, float alpha, const float *a, const float *Bp, float beta, float *c) {
    enum { W = NNRT_GEMV_W };
    const float zero = nnrt_fence_f(0.0f);
    int j0, j, k;
    for (j0 = 0; j0 < N; j0 += W) {
        int w = nnrt_min(W, N - j0);
        const float *p = Bp + (ptrdiff_t)j0 * K;
        float s[W];
        NNRT_UNROLL(128)
        for (j = 0; j < W; j++)
            s[j] = zero;
        if (w == W) {
            for (k = 0; k < K; k++) {
                const float *restrict b = p + (ptrdiff_t)k * W;
                const float ak = a[k];
                NNRT_UNROLL(128)
                for (j = 0; j < W; j++)
                    s[j] = NNRT_MADD(s[j], ak, b[j]);
            }
        } else {
            for (k = 0; k < K; k++) {
                const float *restrict b = p + (ptrdiff_t)k * w;
                const float ak = a[k];
                for (j = 0; j < w; j++)
                    s[j] = NNRT_MADD(s[j], ak, b[j]);
            }
        }
        for (j = 0; j < w; j++)
            c[j0 + j] = alpha * s[j] + (beta == 0.0f ? 0.0f : beta * c[j0 + j]);
    }
}

NNRT_API void nnrt_sgemm_packed(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                                const float *Bp, float beta, float *C, int ldc, float *work, nnrt_epilogue epi,
                                void *ctx) {
#if !NNRT_M4
    if (M == 1 && Bp && N > 0 && K > 0 && alpha != 0.0f && lda >= K && ldb >= N && ldc >= N) {
        nnrt_gemv_packed(N, K, alpha, A, Bp, beta, C);
        if (epi)
            epi(ctx, 0, 1, 0, N);
        return;
    }
#else
    (void)Bp;
#endif
    nnrt_sgemm_ws(0, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work, epi, ctx);
}
