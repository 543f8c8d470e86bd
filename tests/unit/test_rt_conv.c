/*
 * test_rt_conv.c - the runtime's convolution and pooling kernels against
 * naive double-precision references written from the definitions in
 * nn_runtime.h: every geometry of a sampled grid (odd sizes, strides 1..3,
 * padding 0..2, [kh, kw] kernels, groups, depthwise, the 1 x 1 fast path),
 * several samples per call; outputs and gradients must match, and nothing
 * outside the output may be written (NaN sentinels around every buffer).
 * The adjoint identities <dy, conv(x)> = <backward_input(dy), x> and
 * <dy, conv_w(x)> = <backward_weight(x, dy), w> tie the three passes
 * together. Pools: window maxima with ties (the first maximum takes the
 * gradient), NaN, dropped windows, overlapping windows; averages.
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

#define GUARD 8
#define MAXF 100000
#define MAXS 400000 /* scratch: the unfolded input, a transposed result, GEMM packing */

static float X[MAXF + 2 * GUARD], W[MAXF + 2 * GUARD], Y[MAXF + 2 * GUARD], DY[MAXF + 2 * GUARD];
static float DX[MAXF + 2 * GUARD], DW[MAXF + 2 * GUARD], S[MAXS + 2 * GUARD];
static double R[MAXF];

/* n values in [-1, 1) at buf + GUARD, NaN in the guards on both sides */
static float *fill(nnrt_rng *r, float *buf, long n) {
    for (long i = 0; i < n + 2 * GUARD; i++)
        buf[i] = i < GUARD || i >= n + GUARD ? NAN : 2.0f * nnrt_rng_uniform(r) - 1.0f;
    return buf + GUARD;
}

/* buf's guards still hold NaN (nothing was written outside n floats) */
static void guards_intact(const float *buf, long n, const char *what) {
    for (long i = 0; i < GUARD; i++)
        if (!isnan(buf[i]) || !isnan(buf[n + GUARD + i]))
            fail_msg("%s: written outside its %ld floats", what, n);
}

static void close_enough(const float *got, const double *want, long n, double tol, const char *what,
                         const nnrt_conv2d *g) {
    for (long i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("%s c=%d h=%d w=%d f=%d k=%dx%d s=%d,%d p=%d,%d groups=%d: [%ld] = %.9g, want %.9g",
                     what, g->c, g->h, g->w, g->f, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->groups, i,
                     got[i], want[i]);
}

/* x[s, c, r, q], or 0 outside the image */
static double at(const float *x, const nnrt_conv2d *g, int s, int c, int r, int q) {
    if (r < 0 || r >= g->h || q < 0 || q >= g->w)
        return 0.0;
    return x[(((long)s * g->c + c) * g->h + r) * g->w + q];
}

/* The reference forward in double: R[s, o, i, j] */
static void ref_forward(const nnrt_conv2d *g, int n, const float *x, const float *w, double *y) {
    int oh = nnrt_conv2d_oh(g), ow = nnrt_conv2d_ow(g), cg = g->c / g->groups, fg = g->f / g->groups;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < g->f; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double acc = 0;
                    for (int ci = 0; ci < cg; ci++)
                        for (int a = 0; a < g->kh; a++)
                            for (int b = 0; b < g->kw; b++)
                                acc += w[((o * cg + ci) * g->kh + a) * g->kw + b] *
                                       at(x, g, s, o / fg * cg + ci, i * g->sh - g->ph + a, j * g->sw - g->pw + b);
                    y[(((long)s * g->f + o) * oh + i) * ow + j] = acc;
                }
}

/* The reference input pass in double, the transposed loops of the forward
 * one: dx[s, c, r, q] = sum over the outputs reading x[s, c, r, q] of w dy */
static void ref_backward_input(const nnrt_conv2d *g, int n, const float *dy, const float *w, double *dx) {
    int oh = nnrt_conv2d_oh(g), ow = nnrt_conv2d_ow(g), cg = g->c / g->groups, fg = g->f / g->groups;
    for (long i = 0; i < (long)n * g->c * g->h * g->w; i++)
        dx[i] = 0;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < g->f; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int ci = 0; ci < cg; ci++)
                        for (int a = 0; a < g->kh; a++)
                            for (int b = 0; b < g->kw; b++) {
                                int c = o / fg * cg + ci, rr = i * g->sh - g->ph + a, q = j * g->sw - g->pw + b;
                                if (rr < 0 || rr >= g->h || q < 0 || q >= g->w)
                                    continue;
                                dx[(((long)s * g->c + c) * g->h + rr) * g->w + q] +=
                                    (double)w[((o * cg + ci) * g->kh + a) * g->kw + b] *
                                    dy[(((long)s * g->f + o) * oh + i) * ow + j];
                            }
}

/* The share of dy that check_conv keeps nonzero (1: all; on gcc hosts,
 * conv.c, the weight pass runs over the nonzeros below a half, the input
 * pass, 8 channels or more, for each sample below a quarter) */
static double dy_keep = 1.0;

/* dy's n values zeroed but for about a share `keep` of them */
static void sparsify(nnrt_rng *r, float *dy, long n, double keep) {
    for (long i = 0; i < n; i++)
        if (nnrt_rng_uniform(r) >= keep)
            dy[i] = 0.0f;
}

/* One geometry, n samples: forward, both backward passes against the
 * references (the backward references are the transposed loops of the
 * forward one, accumulated in double). */
static void check_conv(nnrt_rng *r, const nnrt_conv2d *g, int n) {
    int oh = nnrt_conv2d_oh(g), ow = nnrt_conv2d_ow(g), cg = g->c / g->groups, fg = g->f / g->groups;
    long xn = (long)n * g->c * g->h * g->w, wn = (long)g->f * cg * g->kh * g->kw;
    long yn = (long)n * g->f * oh * ow, sn[3];
    assert_true(oh >= 1 && ow >= 1);
    assert_true(xn <= MAXF && wn <= MAXF && yn <= MAXF);
    /* each pass gets exactly the scratch it asks for, NaN-guarded */
    for (int pass = 0; pass < 3; pass++) {
        sn[pass] = nnrt_conv2d_scratch(g, pass, n);
        assert_true(sn[pass] >= 0 && sn[pass] <= MAXS);
        /* independent of the sample count: the kernels go one sample at a time */
        assert_int_equal(sn[pass], nnrt_conv2d_scratch(g, pass, 1));
    }
    float *x = fill(r, X, xn), *w = fill(r, W, wn), *dy = fill(r, DY, yn);
    float *y = fill(r, Y, yn), *dx = fill(r, DX, xn), *dw = fill(r, DW, wn);
    float *scratch = sn[NNRT_CONV2D_FORWARD] ? fill(r, S, sn[NNRT_CONV2D_FORWARD]) : NULL;
    double tol = 1e-5 * (cg * g->kh * g->kw + 1);
    if (dy_keep < 1.0)
        sparsify(r, dy, yn, dy_keep);

    nnrt_conv2d_forward(g, n, x, w, y, scratch);
    if (scratch)
        guards_intact(S, sn[NNRT_CONV2D_FORWARD], "forward scratch");
    ref_forward(g, n, x, w, R);
    close_enough(y, R, yn, tol, "forward", g);
    guards_intact(Y, yn, "forward");

    scratch = sn[NNRT_CONV2D_BACKWARD_INPUT] ? fill(r, S, sn[NNRT_CONV2D_BACKWARD_INPUT]) : NULL;
    nnrt_conv2d_backward_input(g, n, dy, w, dx, scratch);
    if (scratch)
        guards_intact(S, sn[NNRT_CONV2D_BACKWARD_INPUT], "backward_input scratch");
    ref_backward_input(g, n, dy, w, R);
    close_enough(dx, R, xn, 1e-5 * (fg * g->kh * g->kw + 1), "backward_input", g);
    guards_intact(DX, xn, "backward_input");

    /* dw[o, ci, a, b] = sum over samples and outputs of x dy */
    scratch = sn[NNRT_CONV2D_BACKWARD_WEIGHT] ? fill(r, S, sn[NNRT_CONV2D_BACKWARD_WEIGHT]) : NULL;
    nnrt_conv2d_backward_weight(g, n, x, dy, dw, scratch);
    for (long i = 0; i < wn; i++)
        R[i] = 0;
    for (int s = 0; s < n; s++)
        for (int o = 0; o < g->f; o++)
            for (int ci = 0; ci < cg; ci++)
                for (int a = 0; a < g->kh; a++)
                    for (int b = 0; b < g->kw; b++)
                        for (int i = 0; i < oh; i++)
                            for (int j = 0; j < ow; j++)
                                R[((o * cg + ci) * g->kh + a) * g->kw + b] +=
                                    at(x, g, s, o / fg * cg + ci, i * g->sh - g->ph + a, j * g->sw - g->pw + b) *
                                    dy[(((long)s * g->f + o) * oh + i) * ow + j];
    close_enough(dw, R, wn, 1e-5 * ((long)n * oh * ow + 1), "backward_weight", g);
    guards_intact(DW, wn, "backward_weight");
    if (scratch)
        guards_intact(S, sn[NNRT_CONV2D_BACKWARD_WEIGHT], "backward_weight scratch");
}

/* every geometry of the grid, unfolded whole (band = chunk = 0) or in
 * blocks of band output pixels and chunk unfolded rows */
static int conv_grid(nnrt_rng *r, int band, int chunk) {
    int checked = 0;
    static const int sizes[][2] = {{1, 1}, {5, 5}, {7, 4}, {3, 9}, {8, 8}};
    static const int kernels[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 1}};
    static const int chans[][3] = {{1, 1, 1}, {3, 4, 1}, {4, 6, 2}, {4, 4, 4}, {3, 6, 3}}; /* c, f, groups */
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (size_t ki = 0; ki < sizeof kernels / sizeof kernels[0]; ki++)
            for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++)
                for (int stride = 1; stride <= 3; stride++)
                    for (int pad = 0; pad <= 2; pad++) {
                        nnrt_conv2d g = {chans[ci][0], sizes[si][0], sizes[si][1], chans[ci][1],
                                         kernels[ki][0], kernels[ki][1], stride, 3 - stride + (stride == 3),
                                         pad, (pad + 1) % 3, chans[ci][2], band, chunk};
                        if (nnrt_conv2d_oh(&g) < 1)
                            continue;
                        check_conv(r, &g, 1 + (int)((si + ki + ci) % 3));
                        checked++;
                    }
    return checked;
}

static void test_conv_grid(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 11, 3);
    assert_true(conv_grid(&r, 0, 0) > 500);
}

/* Blocked unfolding: bands of 1, 5 and 8 output pixels (starting and ending
 * inside output rows, a ragged last band) and chunks of 1, 4 and 7 unfolded
 * rows (inside a channel's kernel window, a ragged last chunk); band or
 * chunk alone (the other 0: all). */
static void test_conv_grid_blocked(void **state) {
    (void)state;
    static const int blocks[][2] = {{1, 1}, {5, 4}, {8, 7}, {5, 0}, {0, 4}};
    nnrt_rng r;
    nnrt_rng_seed(&r, 14, 3);
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        assert_true(conv_grid(&r, blocks[i][0], blocks[i][1]) > 500);
}

/* The blocking nnrt_conv2d_block picks: none for lenet's convolutions at 64
 * samples (the whole unfolding is small beside the activations), bands of
 * 104 pixels (104 and 92) and chunks of 32 rows (12 and one of 16) for the
 * second at one sample, 112 (7 bands) and 25 (all) for the first; the
 * scratch is then that of one block, and the results those of the
 * reference. */
static void test_conv_block_lenet(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 15, 3);
    nnrt_conv2d c1 = {1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0}, c2 = {16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 0, 0};
    nnrt_conv2d b64 = nnrt_conv2d_block(&c2, 64), b2 = nnrt_conv2d_block(&c2, 1), b1 = nnrt_conv2d_block(&c1, 1);
    assert_int_equal(b64.band, 0);
    assert_int_equal(b64.chunk, 0);
    assert_int_equal(nnrt_conv2d_block(&c1, 64).band, 0);
    assert_int_equal(b2.band, 104);
    assert_int_equal(b2.chunk, 32);
    assert_int_equal(b1.band, 112);
    assert_int_equal(b1.chunk, 25);
    /* forward: y^T = col^T W^T per block (104 pixels pad less than 32 filters) */
    assert_int_equal(nnrt_conv2d_scratch(&b2, NNRT_CONV2D_FORWARD, 1),
                     32 * 104 + 104 * 32 + nnrt_sgemm_ws_size(104, 32, 32));
    assert_int_equal(nnrt_conv2d_scratch(&b2, NNRT_CONV2D_BACKWARD_INPUT, 1),
                     32 * 104 + nnrt_sgemm_ws_size(32, 104, 32));
    assert_int_equal(nnrt_conv2d_scratch(&b2, NNRT_CONV2D_BACKWARD_WEIGHT, 1),
                     32 * 104 + nnrt_sgemm_ws_size(32, 32, 104));
    for (int pass = 0; pass < 3; pass++) {
        assert_true(nnrt_conv2d_scratch(&b2, pass, 1) <= 12000);
        assert_true(nnrt_conv2d_scratch(&b1, pass, 1) <= 12000);
    }
    check_conv(&r, &b2, 1);
    check_conv(&r, &b2, 2);
    check_conv(&r, &b1, 1);
    /* depthwise and pointwise are left alone (the latter needs no unfolding) */
    nnrt_conv2d pw = {16, 14, 14, 32, 1, 1, 1, 1, 0, 0, 1, 0, 0};
    assert_int_equal(nnrt_conv2d_block(&pw, 1).band, 0);
    /* invalid blocks */
    nnrt_conv2d neg = b2;
    neg.band = -1;
    assert_int_equal(nnrt_conv2d_scratch(&neg, NNRT_CONV2D_FORWARD, 1), -1);
}

/* the shapes of examples/lenet.nn, a few samples */
static void test_conv_lenet(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 12, 3);
    nnrt_conv2d c1 = {1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0}, c2 = {16, 14, 14, 4, 5, 5, 1, 1, 2, 2, 1, 0, 0};
    check_conv(&r, &c1, 2);
    check_conv(&r, &c2, 1);
    nnrt_conv2d dw = {16, 14, 14, 16, 5, 5, 1, 1, 2, 2, 16, 0, 0}, pw = {16, 14, 14, 32, 1, 1, 1, 1, 0, 0, 1, 0, 0};
    check_conv(&r, &dw, 2);
    check_conv(&r, &pw, 2);
    assert_int_equal(nnrt_conv2d_scratch(&pw, NNRT_CONV2D_BACKWARD_WEIGHT, 64), 0);
    /* the unfolded input and the GEMM's workspace (y = W col: 4 filters pad less this way) */
    assert_int_equal(nnrt_conv2d_scratch(&c2, NNRT_CONV2D_FORWARD, 64),
                     16 * 25 * 14 * 14 + nnrt_sgemm_ws_size(4, 14 * 14, 16 * 25));
    /* 32 filters (lenet's second layer) fill the GEMM's 32-wide tiles: the
     * forward and weight passes compute the transposed products, which
     * need room for their result too */
    nnrt_conv2d c32 = {16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 0, 0}, g32 = {8, 6, 6, 64, 3, 3, 2, 1, 1, 1, 2, 0, 0};
    check_conv(&r, &c32, 2);
    check_conv(&r, &g32, 3);
    assert_int_equal(nnrt_conv2d_scratch(&c32, NNRT_CONV2D_FORWARD, 64),
                     16 * 25 * 14 * 14 + 14 * 14 * 32 + nnrt_sgemm_ws_size(14 * 14, 32, 16 * 25));
    assert_int_equal(nnrt_conv2d_scratch(&c32, NNRT_CONV2D_BACKWARD_WEIGHT, 64),
                     16 * 25 * 14 * 14 + 16 * 25 * 32 + nnrt_sgemm_ws_size(16 * 25, 32, 14 * 14));
}

/* The direct passes (conv.c, hosts): filter counts around their 16- and
 * 32-wide tiles (17, 20, 40: a ragged panel; 48: a 32 and a 16 one),
 * channel counts odd and even (the weight pass pairs channels at up to 16
 * filters), odd output heights (the forward pairs output rows), stride 2
 * (the input pass unfolds then), a pad as large as the kernel (likewise),
 * groups, fewer than 8 filters (unfolded: the tile would be mostly
 * waste); 8 to 16 filters in the 16-wide tiles with odd and even output
 * heights and channel counts, one channel (lenet's first layer); every
 * result against the reference. */
static void test_conv_direct(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 16, 3);
    static const nnrt_conv2d geo[] = {
        {5, 9, 7, 20, 3, 3, 1, 1, 1, 1, 1, 0, 0},  {3, 6, 6, 40, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {17, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 0, 0},  {6, 7, 5, 48, 3, 2, 1, 1, 1, 0, 2, 0, 0},
        {4, 11, 10, 17, 3, 3, 2, 2, 1, 1, 1, 0, 0}, {3, 5, 6, 16, 2, 2, 1, 1, 2, 1, 1, 0, 0},
        {2, 8, 9, 33, 4, 3, 1, 2, 0, 1, 1, 0, 0},  {12, 7, 6, 10, 3, 3, 1, 1, 1, 1, 1, 0, 0},
        {9, 6, 5, 12, 3, 3, 1, 1, 1, 1, 1, 0, 0},  {1, 9, 8, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
        check_conv(&r, &geo[i], 1 + (int)(i % 3));
}

/* ---- Winograd F(2 x 2, 5 x 5) (conv.c: the input pass, gcc hosts with
 * hardware multiply-add; unit.test_rt_conv_native runs it, with the runtime
 * built for this machine) */
static float Y1[MAXF + 2 * GUARD];

/* The floats conv.c's Winograd pass takes for a convolution of c channels
 * into f over h x w padded by ph, pw (its layout: U, a bordered
 * channels-last image, V and M for 12 tiles): the shapes below assert
 * that it fits in nnrt_conv2d_scratch, so that they take that path. */
static long wino_scratch(int c, int f, int h, int w, int ph, int pw) {
    int oh = h + 2 * ph - 4, ow = w + 2 * pw - 4, th = (oh + 1) / 2, tw = (ow + 1) / 2;
    int cp = (c + 7) / 8 * 8, nr = f <= 16 ? 16 : 32, fp = (f + nr - 1) / nr * nr;
    return 36L * cp * fp + (2L * th + 4) * (2L * tw + 4) * cp + 36L * 12 * cp + 36L * 12 * fp;
}

/* |got - want| over want's n values: the largest, and the mean relative to
 * max(|want|, max |want| / 10) */
static double worst_error(const float *got, const double *want, long n, double *mean_rel) {
    double big = 0, worst = 0, sum = 0;
    for (long i = 0; i < n; i++)
        big = fabs(want[i]) > big ? fabs(want[i]) : big;
    for (long i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        worst = e > worst ? e : worst;
        sum += e / (fabs(want[i]) > big / 10 ? fabs(want[i]) : big / 10);
    }
    *mean_rel = sum / n;
    return worst;
}

/* The forward and input passes of one 5 x 5 geometry (stride 1, one group)
 * against the references, each within tol times (its input channels x 25
 * + 1), and n samples at once bitwise equal to one sample at a time (the
 * tiles are numbered over the batch: a chunk of them may span samples,
 * and must not change a bit); bwd: whether the input pass takes the
 * Winograd path where the runtime has it (its scratch fits). The forward
 * pass runs the direct tiles (or unfolds). */
static void check_wino(nnrt_rng *r, const nnrt_conv2d *g, int n, int bwd, double tol) {
    int oh = nnrt_conv2d_oh(g), ow = nnrt_conv2d_ow(g);
    long xs = (long)g->c * g->h * g->w, ys = (long)g->f * oh * ow, wn = (long)g->f * g->c * 25, sn;
    double worst, mean;
    assert_true(n * xs <= MAXF && n * ys <= MAXF && wn <= MAXF);
    assert_int_equal(wino_scratch(g->f, g->c, oh, ow, 4 - g->ph, 4 - g->pw) <=
                         nnrt_conv2d_scratch(g, NNRT_CONV2D_BACKWARD_INPUT, 1),
                     bwd);
    float *x = fill(r, X, n * xs), *w = fill(r, W, wn), *dy = fill(r, DY, n * ys);

    sn = nnrt_conv2d_scratch(g, NNRT_CONV2D_FORWARD, 1);
    float *y = fill(r, Y, n * ys), *y1 = fill(r, Y1, n * ys), *scratch = fill(r, S, sn);
    nnrt_conv2d_forward(g, n, x, w, y, scratch);
    guards_intact(S, sn, "winograd forward scratch");
    guards_intact(Y, n * ys, "winograd forward");
    ref_forward(g, n, x, w, R);
    worst = worst_error(y, R, n * ys, &mean);
    if (getenv("WINO_ERRORS"))
        print_message("forward  c=%d f=%d %dx%d p=%d,%d: max %.3g (%.3g of tol) mean rel %.3g\n", g->c, g->f, g->h,
                      g->w, g->ph, g->pw, worst, worst / (tol * (g->c * 25 + 1)), mean);
    close_enough(y, R, n * ys, tol * (g->c * 25 + 1), "winograd forward", g);
    for (int s = 0; s < n; s++)
        nnrt_conv2d_forward(g, 1, x + s * xs, w, y1 + s * ys, scratch);
    assert_memory_equal(y, y1, sizeof(float) * (size_t)(n * ys));

    sn = nnrt_conv2d_scratch(g, NNRT_CONV2D_BACKWARD_INPUT, 1);
    float *dx = fill(r, DX, n * xs), *dx1 = fill(r, Y1, n * xs);
    scratch = fill(r, S, sn);
    nnrt_conv2d_backward_input(g, n, dy, w, dx, scratch);
    guards_intact(S, sn, "winograd backward_input scratch");
    guards_intact(DX, n * xs, "winograd backward_input");
    ref_backward_input(g, n, dy, w, R);
    worst = worst_error(dx, R, n * xs, &mean);
    if (getenv("WINO_ERRORS"))
        print_message("backward c=%d f=%d %dx%d p=%d,%d wino %d: max %.3g (%.3g of tol) mean rel %.3g\n", g->c, g->f,
                      g->h, g->w, g->ph, g->pw, bwd, worst, worst / (tol * (g->f * 25 + 1)), mean);
    close_enough(dx, R, n * xs, tol * (g->f * 25 + 1), "winograd backward_input", g);
    for (int s = 0; s < n; s++)
        nnrt_conv2d_backward_input(g, 1, dy + s * ys, w, dx1 + s * xs, scratch);
    assert_memory_equal(dx, dx1, sizeof(float) * (size_t)(n * xs));
}

/* The Winograd input pass (conv.c): lenet's second layer (16 -> 32: its
 * input pass takes 32 channels into 16, the 12 x 16 register tiles) and
 * its reverse (the 6 x 32 ones), 8 -> 8 at 13 x 11 (odd output sizes: a
 * last row and column of half tiles; 20 to 42 tiles a sample, so chunks of
 * 12 span samples, one image made after another) with every padding
 * 0..4, mixed ph, pw; ragged channel counts (20, 17, 9 into the pass:
 * rounded up to 8 or 16, 16-channel blocks of the input transform or
 * 8-channel ones) and filter counts (12, 24, 17: a part-filled 32-wide
 * tile, a short 16-filter block of the output transform). With padding 0
 * (dy bordered by 4) 8 -> 8 at 13 x 11 needs more scratch than the
 * unfolding asks for: it runs direct. The tolerance is a tenth of the
 * other tests': 1e-6 x (input channels x 25 + 1). The transforms round
 * more than the direct tiles: over these shapes and 12 seeds the largest
 * error measured was 0.28 of it (3.3e-5 to 1.0e-4 absolute, 0.04 of it
 * for the direct passes); the mean error relative to max(|want|, max
 * |want| / 10) is about 1.3e-6. WINO_ERRORS=1 in the environment prints
 * the errors. */
static void test_conv_winograd(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 17, 3);
    static const struct {
        nnrt_conv2d g;
        int bwd;
    } geo[] = {
        {{16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 0, 0}, 1}, {{32, 14, 14, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0}, 1},
        {{8, 13, 11, 8, 5, 5, 1, 1, 0, 0, 1, 0, 0}, 0},   {{8, 13, 11, 8, 5, 5, 1, 1, 1, 1, 1, 0, 0}, 1},
        {{8, 13, 11, 8, 5, 5, 1, 1, 2, 2, 1, 0, 0}, 1},   {{8, 13, 11, 8, 5, 5, 1, 1, 4, 4, 1, 0, 0}, 1},
        {{8, 13, 11, 8, 5, 5, 1, 1, 4, 1, 1, 0, 0}, 1},   {{8, 13, 11, 8, 5, 5, 1, 1, 0, 3, 1, 0, 0}, 1},
        {{12, 13, 11, 20, 5, 5, 1, 1, 2, 2, 1, 0, 0}, 1}, {{24, 9, 12, 17, 5, 5, 1, 1, 2, 3, 1, 0, 0}, 1},
        {{17, 11, 10, 9, 5, 5, 1, 1, 1, 3, 1, 0, 0}, 1},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
        check_wino(&r, &geo[i].g, 3, geo[i].bwd, 1e-6);
}

/* The passes over dy's nonzeros (conv.c, gcc hosts: the weight pass when
 * at most half of dy is nonzero, the input pass for each sample with at
 * most a quarter, 8 channels or more), every result against the
 * reference: the grid with a fifth
 * of dy kept (its fewer than 8 channels take the rows layout where c kh <=
 * 15 and kw <= 16, the direct tiles or the unfolding elsewhere); the
 * channels layout with 16-channel blocks (lenet's second layer; 20
 * channels: a part-filled second block), 8-channel ones (8, 9 and 12
 * channels), 3 x 3 and 5 x 5, stride 2, padding up to 4, more output
 * pixels than a list holds (420: two lists a filter, the second resuming
 * the first's sums); the rows layout with 5, 9 and 15 rows (1 channel 5 x
 * 5 at 28 x 28, lenet's first layer: four lists; 3 channels 3 x 3; 2 and
 * 3 channels 5 x 5), a 7 x 7 stride-2 window, a 1 x 11 one; dy a tenth
 * nonzero (the input pass over the nonzeros too) and three tenths (some
 * samples over a quarter), and wholly zero (dW exactly 0); a NaN in dy
 * reaching its filter's gradient; a batch mixing sparse and dense samples
 * in the input pass. */
static void test_conv_sparse(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 19, 3);
    static const nnrt_conv2d geo[] = {
        {16, 14, 14, 32, 5, 5, 1, 1, 2, 2, 1, 0, 0}, {20, 6, 7, 12, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {8, 9, 7, 10, 3, 3, 1, 1, 1, 1, 1, 0, 0},    {9, 8, 8, 8, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {12, 5, 6, 9, 5, 5, 1, 1, 4, 4, 1, 0, 0},    {24, 11, 11, 17, 3, 3, 2, 2, 1, 1, 1, 0, 0},
        {9, 21, 20, 8, 3, 3, 1, 1, 1, 1, 1, 0, 0},   {1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {3, 10, 9, 8, 3, 3, 1, 1, 1, 1, 1, 0, 0},    {3, 8, 8, 6, 5, 5, 1, 1, 2, 2, 1, 0, 0},
        {2, 9, 9, 5, 5, 5, 1, 1, 2, 2, 1, 0, 0},     {1, 12, 12, 4, 7, 7, 2, 2, 3, 3, 1, 0, 0},
        {1, 13, 30, 4, 1, 11, 1, 1, 0, 5, 1, 0, 0},
    };
    static const double keeps[] = {0.3, 0.1};
    dy_keep = 0.2;
    assert_true(conv_grid(&r, 0, 0) > 500);
    for (size_t k = 0; k < sizeof keeps / sizeof keeps[0]; k++) {
        dy_keep = keeps[k];
        for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
            check_conv(&r, &geo[i], 1 + (int)(i % 3));
    }
    dy_keep = 1.0;

    /* dy all zero: dW exactly 0; one NaN: its filter's gradient NaN (where
     * its window reads the image: all of it here), the others finite */
    const nnrt_conv2d *g = &geo[0];
    long xn = (long)2 * g->c * g->h * g->w, yn = (long)2 * g->f * g->h * g->w, wn = (long)g->f * g->c * 25;
    long sn = nnrt_conv2d_scratch(g, NNRT_CONV2D_BACKWARD_WEIGHT, 2);
    float *x = fill(&r, X, xn), *dy = fill(&r, DY, yn), *dw = fill(&r, DW, wn), *scratch = fill(&r, S, sn);
    sparsify(&r, dy, yn, 0.0);
    nnrt_conv2d_backward_weight(g, 2, x, dy, dw, scratch);
    for (long i = 0; i < wn; i++)
        assert_true(dw[i] == 0.0f);
    dy[(long)3 * g->h * g->w + 7 * g->w + 6] = NAN; /* sample 0, filter 3, pixel (7, 6) */
    nnrt_conv2d_backward_weight(g, 2, x, dy, dw, scratch);
    for (long i = 0; i < wn; i++)
        assert_true(i / (g->c * 25) == 3 ? isnan(dw[i]) : dw[i] == 0.0f);
    guards_intact(DW, wn, "sparse backward_weight");
    guards_intact(S, sn, "sparse backward_weight scratch");

    /* the input pass decides sample by sample (at most a quarter of a
     * sample's dy nonzero: over the nonzeros): samples 0, 2 and 3 sparse,
     * 1 and 4 dense, 5 sparse; the whole batch against the reference, and
     * bit for bit equal to one sample at a time (the threads split samples) */
    for (size_t k = 0; k < 2; k++) {
        const nnrt_conv2d *gx = &geo[k == 0 ? 0 : 5];
        int n = 6, oh = nnrt_conv2d_oh(gx), ow = nnrt_conv2d_ow(gx);
        long xs = (long)gx->c * gx->h * gx->w, ys = (long)gx->f * oh * ow;
        sn = nnrt_conv2d_scratch(gx, NNRT_CONV2D_BACKWARD_INPUT, 1);
        float *w = fill(&r, W, (long)gx->f * gx->c * gx->kh * gx->kw), *dyx = fill(&r, DY, n * ys);
        float *dx = fill(&r, DX, n * xs), *dx1 = fill(&r, Y1, n * xs);
        for (int s = 0; s < n; s++)
            if (s != 1 && s != 4)
                sparsify(&r, dyx + s * ys, ys, 0.15);
        scratch = fill(&r, S, sn);
        nnrt_conv2d_backward_input(gx, n, dyx, w, dx, scratch);
        guards_intact(S, sn, "sparse backward_input scratch");
        guards_intact(DX, n * xs, "sparse backward_input");
        ref_backward_input(gx, n, dyx, w, R);
        close_enough(dx, R, n * xs, 1e-5 * (gx->f * gx->kh * gx->kw + 1), "sparse backward_input", gx);
        for (int s = 0; s < n; s++)
            nnrt_conv2d_backward_input(gx, 1, dyx + s * ys, w, dx1 + s * xs, scratch);
        assert_memory_equal(dx, dx1, sizeof(float) * (size_t)(n * xs));
    }
}

/* invalid geometries: sizes report 0 / -1 and the kernels write nothing */
static void test_conv_invalid(void **state) {
    (void)state;
    static const nnrt_conv2d bad[] = {
        {0, 5, 5, 2, 3, 3, 1, 1, 0, 0, 1, 0, 0},  {2, 5, 5, 2, 3, 3, 0, 1, 0, 0, 1, 0, 0},
        {2, 5, 5, 2, 3, 3, 1, 1, -1, 0, 1, 0, 0}, {3, 5, 5, 2, 3, 3, 1, 1, 0, 0, 2, 0, 0},
        {2, 5, 5, 3, 3, 3, 1, 1, 0, 0, 2, 0, 0},  {2, 2, 5, 2, 5, 3, 1, 1, 1, 0, 1, 0, 0},
        {2, 5, 5, 2, 3, 3, 1, 1, 0, 0, 0, 0, 0},  {2, 5, 5, 0, 3, 3, 1, 1, 0, 0, 1, 0, 0},
    };
    nnrt_rng r;
    nnrt_rng_seed(&r, 13, 3);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nnrt_conv2d_oh(&bad[i]), 0);
        assert_int_equal(nnrt_conv2d_ow(&bad[i]), 0);
        assert_int_equal(nnrt_conv2d_scratch(&bad[i], NNRT_CONV2D_FORWARD, 1), -1);
        float *x = fill(&r, X, 100), *y = fill(&r, Y, 100), *w = fill(&r, W, 100);
        float before[100];
        memcpy(before, y, sizeof before);
        nnrt_conv2d_forward(&bad[i], 1, x, w, y, S);
        nnrt_conv2d_backward_input(&bad[i], 1, x, w, y, S);
        nnrt_conv2d_backward_weight(&bad[i], 1, x, w, y, S);
        assert_memory_equal(before, y, sizeof before);
    }
    nnrt_conv2d ok = {1, 3, 3, 1, 3, 3, 1, 1, 0, 0, 1, 0, 0};
    float y0 = 5.0f;
    nnrt_conv2d_forward(&ok, 0, X, W, &y0, NULL); /* n = 0: nothing */
    assert_true(y0 == 5.0f);
}

/* ---- pools ---------------------------------------------------------------------- */

static void check_pool(nnrt_rng *r, const nnrt_pool2d *p, int n, int quantize) {
    int oh = (p->h - p->kh) / p->sh + 1, ow = (p->w - p->kw) / p->sw + 1;
    long xn = (long)n * p->c * p->h * p->w, yn = (long)n * p->c * oh * ow;
    float *x = fill(r, X, xn), *y = fill(r, Y, yn), *dy = fill(r, DY, yn), *dx = fill(r, DX, xn);
    if (quantize) /* few distinct values: ties everywhere */
        for (long i = 0; i < xn; i++)
            x[i] = (float)floor(x[i] * 2.0f) / 2.0f;
    /* max: value and first position of each window, its dy summed there */
    nnrt_maxpool2d_forward(p, n, x, y);
    nnrt_maxpool2d_backward(p, n, x, dy, dx);
    for (long i = 0; i < xn; i++)
        R[i] = 0;
    for (long pl = 0; pl < (long)n * p->c; pl++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                long best = -1;
                for (int a = 0; a < p->kh; a++)
                    for (int b = 0; b < p->kw; b++) {
                        long k = (pl * p->h + i * p->sh + a) * p->w + j * p->sw + b;
                        if (best < 0 || x[k] > x[best])
                            best = k;
                    }
                long o = (pl * oh + i) * ow + j;
                if (y[o] != x[best])
                    fail_msg("maxpool: y[%ld] = %g, want %g", o, y[o], x[best]);
                R[best] += dy[o];
            }
    for (long i = 0; i < xn; i++)
        if (!(fabs(dx[i] - R[i]) <= 1e-6 * 4))
            fail_msg("maxpool backward: dx[%ld] = %.9g, want %.9g", i, dx[i], R[i]);
    guards_intact(Y, yn, "maxpool forward");
    guards_intact(DX, xn, "maxpool backward");
    /* average */
    nnrt_avgpool2d_forward(p, n, x, y);
    nnrt_avgpool2d_backward(p, n, dy, dx);
    for (long i = 0; i < xn; i++)
        R[i] = 0;
    for (long pl = 0; pl < (long)n * p->c; pl++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                double sum = 0;
                long o = (pl * oh + i) * ow + j;
                for (int a = 0; a < p->kh; a++)
                    for (int b = 0; b < p->kw; b++) {
                        long k = (pl * p->h + i * p->sh + a) * p->w + j * p->sw + b;
                        sum += x[k];
                        R[k] += (double)dy[o] / (p->kh * p->kw);
                    }
                if (!(fabs(y[o] - sum / (p->kh * p->kw)) <= 1e-6))
                    fail_msg("avgpool: y[%ld] = %.9g, want %.9g", o, y[o], sum / (p->kh * p->kw));
            }
    for (long i = 0; i < xn; i++)
        if (!(fabs(dx[i] - R[i]) <= 1e-6 * 8))
            fail_msg("avgpool backward: dx[%ld] = %.9g, want %.9g", i, dx[i], R[i]);
    guards_intact(Y, yn, "avgpool forward");
    guards_intact(DX, xn, "avgpool backward");
}

static void test_pool_grid(void **state) {
    (void)state;
    nnrt_rng r;
    nnrt_rng_seed(&r, 21, 3);
    int checked = 0;
    for (int h = 1; h <= 7; h += 2)
        for (int w = 2; w <= 8; w += 3)
            for (int kh = 1; kh <= 3 && kh <= h; kh++)
                for (int kw = 1; kw <= 3 && kw <= w; kw++)
                    for (int s = 1; s <= 3; s++) {
                        nnrt_pool2d p = {2, h, w, kh, kw, s, s == 3 ? 1 : s + 1};
                        check_pool(&r, &p, 2, 0);
                        check_pool(&r, &p, 2, 1);
                        checked += 2;
                    }
    /* the 2 x 2 window with stride 2 (the kernels' own path), even and odd
     * sizes (an odd last row or column is in no window) */
    for (int h = 2; h <= 7; h++)
        for (int w = 2; w <= 7; w++) {
            nnrt_pool2d p = {3, h, w, 2, 2, 2, 2};
            check_pool(&r, &p, 2, 0);
            check_pool(&r, &p, 2, 1);
            checked += 2;
        }
    assert_true(checked > 270);
}

/* ties go to the first maximum in row-major window order; a NaN wins */
static void test_maxpool_ties_nan(void **state) {
    (void)state;
    nnrt_pool2d p = {1, 2, 4, 2, 2, 2, 2};
    float x[8] = {1, 3, 2, 2, /**/ 3, 3, 2, 2}, y[2], dy[2] = {10, 20}, dx[8];
    nnrt_maxpool2d_forward(&p, 1, x, y);
    nnrt_maxpool2d_backward(&p, 1, x, dy, dx);
    assert_true(y[0] == 3 && y[1] == 2);
    float want[8] = {0, 10, 20, 0, 0, 0, 0, 0};
    assert_memory_equal(dx, want, sizeof want);
    float xn[8] = {1, NAN, 2, 5, /**/ NAN, 3, NAN, 2};
    nnrt_maxpool2d_forward(&p, 1, xn, y);
    nnrt_maxpool2d_backward(&p, 1, xn, dy, dx);
    assert_true(isnan(y[0]) && isnan(y[1]));
    float want_nan[8] = {0, 0, 0, 0, 10, 0, 20, 0}; /* the last NaN, as PyTorch's scan */
    assert_memory_equal(dx, want_nan, sizeof want_nan);
}

/* the same rule through the general window scan (3 x 3 and 2 x 3 windows,
 * not the 2 x 2 stride-2 fast path): the first of tied maxima gets dy */
static void test_maxpool_ties_general(void **state) {
    (void)state;
    nnrt_pool2d p = {1, 3, 3, 3, 3, 1, 1};
    float x[9] = {1, 5, 2, /**/ 5, 0, 5, /**/ 1, 1, 5}, y[1], dy[1] = {10}, dx[9];
    nnrt_maxpool2d_forward(&p, 1, x, y);
    nnrt_maxpool2d_backward(&p, 1, x, dy, dx);
    assert_true(y[0] == 5);
    float want[9] = {0, 10, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(dx, want, sizeof want);
    nnrt_pool2d q = {1, 2, 4, 2, 3, 1, 1}; /* two windows of 2 x 3, overlapping */
    float x2[8] = {4, 2, 4, 4, /**/ 4, 4, 1, 4}, y2[2], dy2[2] = {1, 100}, dx2[8];
    nnrt_maxpool2d_forward(&q, 1, x2, y2);
    nnrt_maxpool2d_backward(&q, 1, x2, dy2, dx2);
    float want2[8] = {1, 0, 100, 0, /**/ 0, 0, 0, 0};
    assert_memory_equal(dx2, want2, sizeof want2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_grid),        cmocka_unit_test(test_conv_lenet),
        cmocka_unit_test(test_conv_grid_blocked), cmocka_unit_test(test_conv_block_lenet),
        cmocka_unit_test(test_conv_direct),      cmocka_unit_test(test_conv_winograd),
        cmocka_unit_test(test_conv_sparse),
        cmocka_unit_test(test_conv_invalid),     cmocka_unit_test(test_pool_grid),
        cmocka_unit_test(test_maxpool_ties_nan),
        cmocka_unit_test(test_maxpool_ties_general),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
