/*
 * conv.c - the convolution and pooling kernels of conv2d, maxpool2d and
 * avgpool2d (nn_runtime.h, "convolution and pooling"): on hosts, direct
 * register tiles over a zero-bordered copy of each image ("direct
 * convolution" below) where they apply, the gradients over dy's nonzeros
 * where dy is mostly zero (after relu and pooling: after them), Winograd
 * F(2 x 2, 5 x 5) for the input pass of other 5 x 5 stride-1 convolutions
 * with hardware multiply-add (after those); elsewhere (and on the
 * Cortex-M4F) im2col and col2im around the packed GEMM (gemm.c); direct
 * pooling loops.
 *
 * Invariants: NCHW images; every function does nothing for an invalid
 * geometry or n < 1; scratch is the caller's, nnrt_conv2d_scratch floats
 * per pass (the compiler asks for it); outputs are overwritten, never
 * accumulated into; no memset / memcpy calls (fenced zero and one).
 */
#include "internal.h"

/* ------------------------------------------- convolution and pooling (cnn) */
/* The unfolded convolutions (where the direct tiles below do not run) are
 * im2col + the packed GEMM (nnrt_sgemm_ws), one sample and one group at a
 * time. The group's receptive fields are unfolded into
 * col, a matrix of kg = c/G kh kw rows and oh ow columns, and
 *   forward          y_g  = W_g col             W_g: f/G x kg, row-major
 *   backward input   col  = W_g^T dy_g, then folded back into dx (col2im)
 *   backward weight  dW_g = sum over samples of dy_g col^T
 * The 6 x 32 register tile of the GEMM wastes the rows and columns it pads
 * (f/G = 32 filters are 36 rows of tiles; 196 pixels 224 columns), so the
 * forward and weight passes compute whichever of the product and its
 * transpose pads less: y_g^T = col^T W_g^T (pixels x filters, transposed
 * into y by the GEMM's epilogue while each block is in cache) and
 * dW_g^T = col dy_g^T (summed in scratch, transposed into dw at the end).
 * Scratch: col, the transposed result where one is used, and the GEMM's
 * packing workspace (nnrt_conv2d_scratch). A 1 x 1 kernel with stride 1
 * and no padding needs no unfolding: col is the sample's own channels, and
 * the unpacked nnrt_sgemm runs without scratch. At small batches, where
 * the whole col outweighs the activations, the same products run a block
 * of col at a time (g->band, g->chunk: "blocked unfolding" below).
 * docs/cnn.md has the measurements behind these choices. */

/* outputs of a window of k every s over in + 2 p elements (0 when none fits) */
static inline int nnrt_conv2d_out(int in, int k, int s, int p) {
    long span = (long)in + 2L * p - k;
    return span < 0 ? 0 : (int)(span / s + 1);
}

static inline int nnrt_conv2d_ok(const nnrt_conv2d *g) {
    return g && g->c >= 1 && g->h >= 1 && g->w >= 1 && g->f >= 1 && g->kh >= 1 && g->kw >= 1 && g->sh >= 1 &&
           g->sw >= 1 && g->ph >= 0 && g->pw >= 0 && g->groups >= 1 && g->c % g->groups == 0 && g->f % g->groups == 0 &&
           (long)g->h + 2L * g->ph >= g->kh && (long)g->w + 2L * g->pw >= g->kw && g->band >= 0 && g->chunk >= 0;
}

/* 1 when col is the input itself (1 x 1 kernel, stride 1, no padding) */
static inline int nnrt_conv2d_flat(const nnrt_conv2d *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

NNRT_API int nnrt_conv2d_oh(const nnrt_conv2d *g) {
    return nnrt_conv2d_ok(g) ? nnrt_conv2d_out(g->h, g->kh, g->sh, g->ph) : 0;
}

NNRT_API int nnrt_conv2d_ow(const nnrt_conv2d *g) {
    return nnrt_conv2d_ok(g) ? nnrt_conv2d_out(g->w, g->kw, g->sw, g->pw) : 0;
}

/* [*lo, *hi): the outputs j < count whose input j s + off lies in [0, size) */
static inline void nnrt_conv2d_span(int off, int s, int size, int count, int *lo, int *hi) {
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    if (h > count)
        h = count;
    *lo = l < h ? l : h;
    *hi = h;
}

/* col[(ci kh + a) kw + b][i ow + j] = x[ci, i sh - ph + a, j sw - pw + b]
 * (0 outside x) for the cg channels at x. */
static inline void nnrt_im2col(const nnrt_conv2d *g, int cg, int oh, int ow, const float *x, float *restrict col) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int ci, a, b, i, j, j0, j1;
    for (ci = 0; ci < cg; ci++)
        for (a = 0; a < g->kh; a++)
            for (b = 0; b < g->kw; b++) {
                float *dst = col + ((ptrdiff_t)(ci * g->kh + a) * g->kw + b) * oh * ow;
                nnrt_conv2d_span(b - g->pw, g->sw, g->w, ow, &j0, &j1);
                for (i = 0; i < oh; i++, dst += ow) {
                    int r = i * g->sh - g->ph + a;
                    const float *src;
                    if (r < 0 || r >= g->h) {
                        for (j = 0; j < ow; j++)
                            dst[j] = zero;
                        continue;
                    }
                    src = x + ((ptrdiff_t)ci * g->h + r) * g->w;
                    for (j = 0; j < j0; j++)
                        dst[j] = zero;
                    if (g->sw == 1) { /* contiguous: vector moves (x one: not a memmove call) */
                        const float *restrict s1 = src - g->pw + b;
                        for (j = j0; j < j1; j++)
                            dst[j] = s1[j] * one;
                    } else {
                        for (j = j0; j < j1; j++)
                            dst[j] = src[j * g->sw - g->pw + b];
                    }
                    for (j = j1; j < ow; j++)
                        dst[j] = zero;
                }
            }
}

/* The adjoint of nnrt_im2col: dx[ci, i sh - ph + a, j sw - pw + b] += col[...] */
static inline void nnrt_col2im(const nnrt_conv2d *g, int cg, int oh, int ow, const float *restrict col,
                               float *restrict dx) {
    int ci, a, b, i, j, j0, j1;
    for (ci = 0; ci < cg; ci++)
        for (a = 0; a < g->kh; a++)
            for (b = 0; b < g->kw; b++) {
                const float *src = col + ((ptrdiff_t)(ci * g->kh + a) * g->kw + b) * oh * ow;
                nnrt_conv2d_span(b - g->pw, g->sw, g->w, ow, &j0, &j1);
                for (i = 0; i < oh; i++, src += ow) {
                    int r = i * g->sh - g->ph + a;
                    float *dst;
                    if (r < 0 || r >= g->h)
                        continue;
                    dst = dx + ((ptrdiff_t)ci * g->h + r) * g->w;
                    if (g->sw == 1) {
                        float *restrict d1 = dst - g->pw + b;
                        for (j = j0; j < j1; j++)
                            d1[j] += src[j];
                    } else {
                        for (j = j0; j < j1; j++)
                            dst[j * g->sw - g->pw + b] += src[j];
                    }
                }
            }
}

static inline void nnrt_zero(float *x, long n) {
    const float zero = nnrt_fence_f(0.0f);
    long i;
    for (i = 0; i < n; i++)
        x[i] = zero;
}

/* The sizes every pass uses, from a valid geometry. */
typedef struct nnrt_conv2d_dims {
    int cg, fg, kg, ohw; /* channels and filters per group, unfolded rows, output pixels */
    long hw, xs, ys;     /* input pixels, floats per input and per output sample */
} nnrt_conv2d_dims;

static inline nnrt_conv2d_dims nnrt_conv2d_sizes(const nnrt_conv2d *g) {
    nnrt_conv2d_dims d;
    d.cg = g->c / g->groups;
    d.fg = g->f / g->groups;
    d.kg = d.cg * g->kh * g->kw;
    d.ohw = nnrt_conv2d_oh(g) * nnrt_conv2d_ow(g);
    d.hw = (long)g->h * g->w;
    d.xs = g->c * d.hw;
    d.ys = (long)g->f * d.ohw;
    return d;
}

/* Floats of the 6 x 32 tiles covering an m x n product, per useful float
 * (times 1000, an integer): 1000 when both are multiples of the tile. */
static inline long nnrt_tile_waste(long m, long n) {
    return (m + 5) / 6 * 6 * ((n + 31) / 32 * 32) * 1000 / (m * n);
}

/* 1 when the forward pass computes y^T = col^T W^T (pixels x filters) */
static inline int nnrt_conv2d_fwd_t(const nnrt_conv2d_dims *d) {
    return nnrt_tile_waste(d->ohw, d->fg) < nnrt_tile_waste(d->fg, d->ohw);
}

/* 1 when the weight pass computes dW^T = col dy^T (kg x filters) */
static inline int nnrt_conv2d_dw_t(const nnrt_conv2d_dims *d) {
    return nnrt_tile_waste(d->kg, d->fg) < nnrt_tile_waste(d->fg, d->kg);
}

/* The scratch layout of a pass: col (kg x ohw floats) at 0, then the
 * transposed result (if any), then the GEMM's workspace. */
static inline long nnrt_conv2d_pass_scratch(const nnrt_conv2d_dims *d, int pass, long *ws_at) {
    long col = (long)d->kg * d->ohw, t = 0, ws;
    if (pass == NNRT_CONV2D_FORWARD) {
        t = nnrt_conv2d_fwd_t(d) ? (long)d->ohw * d->fg : 0;
        ws = t ? nnrt_sgemm_ws_size(d->ohw, d->fg, d->kg) : nnrt_sgemm_ws_size(d->fg, d->ohw, d->kg);
    } else if (pass == NNRT_CONV2D_BACKWARD_INPUT) {
        ws = nnrt_sgemm_ws_size(d->kg, d->ohw, d->fg);
    } else {
        t = nnrt_conv2d_dw_t(d) ? (long)d->kg * d->fg : 0;
        ws = t ? nnrt_sgemm_ws_size(d->kg, d->fg, d->ohw) : nnrt_sgemm_ws_size(d->fg, d->kg, d->ohw);
    }
    *ws_at = col + t;
    return col + t + ws;
}

/* ---- blocked unfolding (g->band, g->chunk) */
/* The same products a block at a time: np output pixels (a band, in
 * row-major pixel order, so a band may start and end inside an output row)
 * and kc rows of the unfolded input (a chunk) are unfolded into col (kc x
 * np), and
 *   forward          y_g[:, band] (+)= W_g[:, chunk] col, summed over the
 *                    chunks in C (the first overwrites); transposed into t
 *                    (np x fg) when that pads less, as above
 *   backward input   col = W_g[:, chunk]^T dy_g[:, band], folded into dx
 *   backward weight  dW_g[:, chunk] (+)= dy_g[:, band] col^T
 * Scratch: col, t (forward, transposed), the GEMM's workspace for one
 * block. Bands are multiples of 8 pixels (the M4's tile width; the host's
 * is 32) and chunks multiples of 8 rows wherever they are split, the last
 * of each the remainder. docs/cnn.md has the measurements. */

static inline int nnrt_conv2d_blocked(const nnrt_conv2d *g) {
    return g->band > 0 || g->chunk > 0;
}

/* pixels per band and rows per chunk (0 or more than there are: all) */
static inline void nnrt_conv2d_block_sizes(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int *np, int *kc) {
    *np = g->band > 0 && g->band < d->ohw ? g->band : d->ohw;
    *kc = g->chunk > 0 && g->chunk < d->kg ? g->chunk : d->kg;
}

/* 1 when the blocked forward pass computes y^T (np x fg) */
static inline int nnrt_conv2d_block_fwd_t(int np, int fg) {
    return nnrt_tile_waste(np, fg) < nnrt_tile_waste(fg, np);
}

static inline long nnrt_conv2d_block_scratch(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int pass, long *ws_at) {
    int np, kc;
    long col, t = 0, ws;
    nnrt_conv2d_block_sizes(g, d, &np, &kc);
    col = (long)kc * np;
    if (pass == NNRT_CONV2D_FORWARD) {
        t = nnrt_conv2d_block_fwd_t(np, d->fg) ? (long)np * d->fg : 0;
        ws = t ? nnrt_sgemm_ws_size(np, d->fg, kc) : nnrt_sgemm_ws_size(d->fg, np, kc);
    } else if (pass == NNRT_CONV2D_BACKWARD_INPUT) {
        ws = nnrt_sgemm_ws_size(kc, np, d->fg);
    } else {
        ws = nnrt_sgemm_ws_size(d->fg, kc, np);
    }
    *ws_at = col + t;
    return col + t + ws;
}

/* per pass, for one sample and group at a time: independent of max_n */
NNRT_API long nnrt_conv2d_scratch(const nnrt_conv2d *g, int pass, int max_n) {
    nnrt_conv2d_dims d;
    long ws_at;
    (void)max_n;
    if (!nnrt_conv2d_ok(g))
        return -1;
    if (nnrt_conv2d_flat(g))
        return 0;
    d = nnrt_conv2d_sizes(g);
    if (nnrt_conv2d_blocked(g))
        return nnrt_conv2d_block_scratch(g, &d, pass, &ws_at);
    return nnrt_conv2d_pass_scratch(&d, pass, &ws_at);
}

/* The largest band and chunk nnrt_conv2d_block picks. Each band repacks
 * the weights for the GEMM (on the Cortex-M4F about 11 instructions per
 * weight), each chunk rewrites the block's output and restarts the GEMM's
 * tiles: measured on the M4 (docs/cnn.md) for LeNet at one sample, 128 x
 * 32 costs the fewest instructions of the blockings tried whose training
 * struct stays under 620,000 bytes. */
enum { NNRT_CONV2D_BAND_MAX = 128, NNRT_CONV2D_CHUNK_MAX = 32 };

/* n split into about equal parts of at most `most`, each a multiple of 8
 * but the last (n itself when it is not split) */
static inline int nnrt_conv2d_split(int n, int most) {
    int parts = (n + most - 1) / most, part = (n + parts - 1) / parts;
    part = (part + 7) / 8 * 8;
    return part < n ? part : n;
}

NNRT_API nnrt_conv2d nnrt_conv2d_block(const nnrt_conv2d *g, int max_n) {
    nnrt_conv2d b = *g;
    nnrt_conv2d_dims d;
    long full = 0, s;
    int pass;
    if (!nnrt_conv2d_ok(g))
        return b;
    b.band = b.chunk = 0;
    if (nnrt_conv2d_flat(&b))
        return b;
    for (pass = NNRT_CONV2D_FORWARD; pass <= NNRT_CONV2D_BACKWARD_WEIGHT; pass++)
        if ((s = nnrt_conv2d_scratch(&b, pass, max_n)) > full)
            full = s;
    d = nnrt_conv2d_sizes(&b);
    if (full <= 8192 || full <= (d.xs + d.ys) * (max_n > 1 ? max_n : 1))
        return b;
    b.band = nnrt_conv2d_split(d.ohw, NNRT_CONV2D_BAND_MAX);
    b.chunk = nnrt_conv2d_split(d.kg, NNRT_CONV2D_CHUNK_MAX);
    return b;
}

/* col[(r - r0) np + q] = row r of the unfolded input at output pixel p0 + q
 * (nnrt_im2col's element), for r in [r0, r0 + kr), q in [0, np): the
 * channels of one group at x; each output row the band touches is one
 * segment [j, je) of columns. */
static inline void nnrt_im2col_block(const nnrt_conv2d *g, int ow, const float *x, int r0, int kr, int p0, int np,
                                     float *restrict col) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int r, j, j0, j1, khw = g->kh * g->kw, i0 = p0 / ow, jb0 = p0 % ow;
    for (r = r0; r < r0 + kr; r++) {
        int a = r / g->kw % g->kh, b = r % g->kw, i, jb, je, left;
        const float *xc = x + (ptrdiff_t)(r / khw) * g->h * g->w;
        float *d = col + (ptrdiff_t)(r - r0) * np; /* d[j - jb]: column j of output row i */
        nnrt_conv2d_span(b - g->pw, g->sw, g->w, ow, &j0, &j1);
        for (i = i0, jb = jb0, left = np; left > 0; left -= je - jb, d += je - jb, jb = 0, i++) {
            int rr = i * g->sh - g->ph + a, lo, hi;
            je = jb + left < ow ? jb + left : ow;
            lo = jb > j0 ? jb : j0;
            hi = je < j1 ? je : j1;
            if (rr < 0 || rr >= g->h || hi <= lo) {
                for (j = 0; j < je - jb; j++)
                    d[j] = zero;
            } else {
                const float *src = xc + (ptrdiff_t)rr * g->w;
                float *restrict dm = d + (lo - jb);
                for (j = 0; j < lo - jb; j++)
                    d[j] = zero;
                if (g->sw == 1) { /* contiguous: vector moves (x one: not a memmove call) */
                    const float *restrict s1 = src - g->pw + b + lo;
                    for (j = 0; j < hi - lo; j++)
                        dm[j] = s1[j] * one;
                } else {
                    const float *s1 = src + (ptrdiff_t)lo * g->sw - g->pw + b;
                    for (j = 0; j < hi - lo; j++)
                        dm[j] = s1[(ptrdiff_t)j * g->sw];
                }
                for (j = hi - jb; j < je - jb; j++)
                    d[j] = zero;
            }
        }
    }
}

/* The adjoint of nnrt_im2col_block: dx[...] += col[...] */
static inline void nnrt_col2im_block(const nnrt_conv2d *g, int ow, const float *col, int r0, int kr, int p0, int np,
                                     float *restrict dx) {
    int r, j, j0, j1, khw = g->kh * g->kw, i0 = p0 / ow, jb0 = p0 % ow;
    for (r = r0; r < r0 + kr; r++) {
        int a = r / g->kw % g->kh, b = r % g->kw, i, jb, je, left;
        float *xc = dx + (ptrdiff_t)(r / khw) * g->h * g->w;
        const float *s = col + (ptrdiff_t)(r - r0) * np; /* s[j - jb]: column j of output row i */
        nnrt_conv2d_span(b - g->pw, g->sw, g->w, ow, &j0, &j1);
        for (i = i0, jb = jb0, left = np; left > 0; left -= je - jb, s += je - jb, jb = 0, i++) {
            int rr = i * g->sh - g->ph + a, lo, hi;
            je = jb + left < ow ? jb + left : ow;
            lo = jb > j0 ? jb : j0;
            hi = je < j1 ? je : j1;
            if (rr >= 0 && rr < g->h && lo < hi) {
                float *dst = xc + (ptrdiff_t)rr * g->w;
                if (g->sw == 1) {
                    float *restrict d1 = dst - g->pw + b + lo;
                    for (j = 0; j < hi - lo; j++)
                        d1[j] += s[lo - jb + j];
                } else {
                    for (j = lo; j < hi; j++)
                        dst[j * g->sw - g->pw + b] += s[j - jb];
                }
            }
        }
    }
}

/* The forward epilogue of y^T = col^T W^T: block [i0, i0 + rows) x [j0,
 * j0 + cols) of t (ohw x fg, pixels by filters) into y (fg x ohw). */
typedef struct nnrt_conv2d_tctx {
    const float *t;
    float *y;
    int fg, ohw;
} nnrt_conv2d_tctx;

static void nnrt_conv2d_untranspose(void *ctx, int i0, int rows, int j0, int cols) {
    const nnrt_conv2d_tctx *c = (const nnrt_conv2d_tctx *)ctx;
    int i, j;
    for (j = j0; j < j0 + cols; j++) {
        float *restrict y = c->y + (ptrdiff_t)j * c->ohw;
        const float *restrict t = c->t + j;
        for (i = i0; i < i0 + rows; i++)
            y[i] = t[(ptrdiff_t)i * c->fg];
    }
}

#if NNRT_MT
/* ------------------------------------------- threaded (NNRT_THREADS only) */
/* The forward and input-gradient passes split the batch: a part runs the
 * pass on its run of samples, with scratch of its own, and writes only
 * their outputs; each sample is computed as the single-threaded pass
 * computes it (the same GEMMs of the same sizes), so the bits are the same
 * for every thread count. The weight gradient sums over the samples: its
 * direct pass splits dW's rows (nnrt_direct_wsplit); unfolded, it stays in
 * one thread, its products split inside the GEMM (gemm.c). */
typedef struct nnrt_conv2d_job {
    const nnrt_conv2d *g;
    int n, pass;
    long xs, ys;         /* floats per sample of x and y */
    const float *in, *w; /* x (forward) or dy (input gradient) */
    float *out;          /* y or dx */
} nnrt_conv2d_job;

static void nnrt_conv2d_part(void *ctx, int part, int parts, float *work) {
    const nnrt_conv2d_job *j = (const nnrt_conv2d_job *)ctx;
    int s0 = (int)((long)j->n * part / parts), s1 = (int)((long)j->n * (part + 1) / parts);
    if (j->pass == NNRT_CONV2D_FORWARD)
        nnrt_conv2d_forward(j->g, s1 - s0, j->in + s0 * j->xs, j->w, j->out + s0 * j->ys, work);
    else
        nnrt_conv2d_backward_input(j->g, s1 - s0, j->in + s0 * j->ys, j->w, j->out + s0 * j->xs, work);
}

/* 1 when the pass ran on several threads: a batch of at least one sample
 * per thread and NNRT_MT_FLOPS multiply-adds */
static inline int nnrt_conv2d_mt(const nnrt_conv2d *g, int pass, int n, const float *in, const float *w, float *out,
                                 float *scratch) {
    int threads = nnrt_mt_threads();
    nnrt_conv2d_dims d;
    nnrt_conv2d_job j;
    if (threads < 2 || n < threads)
        return 0;
    d = nnrt_conv2d_sizes(g);
    if ((double)n * d.fg * d.kg * d.ohw * g->groups < NNRT_MT_FLOPS ||
        !nnrt_mt_reserve(nnrt_conv2d_scratch(g, pass, n)))
        return 0;
    j.g = g, j.n = n, j.pass = pass, j.xs = d.xs, j.ys = d.ys, j.in = in, j.w = w, j.out = out;
    return nnrt_mt_run(nnrt_conv2d_part, &j, n, scratch) > 0; /* a sample a part */
}
#endif

/* The blocked passes (g->band or g->chunk set; not the 1 x 1 case): see
 * "blocked unfolding" above. */
static void nnrt_conv2d_forward_blocked(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *x,
                                        const float *w, float *y, float *scratch) {
    nnrt_conv2d_tctx tc;
    float *t;
    long ws_at;
    int s, gi, p0, r0, np, kc, tr, ow = nnrt_conv2d_ow(g);
    nnrt_conv2d_block_sizes(g, d, &np, &kc);
    nnrt_conv2d_block_scratch(g, d, NNRT_CONV2D_FORWARD, &ws_at);
    tr = nnrt_conv2d_block_fwd_t(np, d->fg);
    t = scratch + (long)kc * np;
    tc.t = t;
    tc.fg = d->fg;
    tc.ohw = d->ohw;
    for (s = 0; s < n; s++)
        for (gi = 0; gi < g->groups; gi++) {
            const float *xg = x + s * d->xs + gi * d->cg * d->hw, *wg = w + (ptrdiff_t)gi * d->fg * d->kg;
            float *yg = y + s * d->ys + (ptrdiff_t)gi * d->fg * d->ohw;
            for (p0 = 0; p0 < d->ohw; p0 += np) {
                int pn = d->ohw - p0 < np ? d->ohw - p0 : np;
                tc.y = yg + p0;
                for (r0 = 0; r0 < d->kg; r0 += kc) {
                    int kr = d->kg - r0 < kc ? d->kg - r0 : kc, last = r0 + kr == d->kg;
                    float beta = r0 ? 1.0f : 0.0f;
                    nnrt_im2col_block(g, ow, xg, r0, kr, p0, pn, scratch);
                    if (tr)
                        nnrt_sgemm_ws(1, 1, pn, d->fg, kr, 1.0f, scratch, pn, wg + r0, d->kg, beta, t, d->fg,
                                      scratch + ws_at, last ? nnrt_conv2d_untranspose : NULL, &tc);
                    else
                        nnrt_sgemm_ws(0, 0, d->fg, pn, kr, 1.0f, wg + r0, d->kg, scratch, pn, beta, yg + p0, d->ohw,
                                      scratch + ws_at, NULL, NULL);
                }
            }
        }
}

static void nnrt_conv2d_backward_input_blocked(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *dy,
                                               const float *w, float *dx, float *scratch) {
    long ws_at;
    int s, gi, p0, r0, np, kc, ow = nnrt_conv2d_ow(g);
    nnrt_conv2d_block_sizes(g, d, &np, &kc);
    nnrt_conv2d_block_scratch(g, d, NNRT_CONV2D_BACKWARD_INPUT, &ws_at);
    nnrt_zero(dx, n * d->xs);
    for (s = 0; s < n; s++)
        for (gi = 0; gi < g->groups; gi++) {
            const float *dyg = dy + s * d->ys + (ptrdiff_t)gi * d->fg * d->ohw, *wg = w + (ptrdiff_t)gi * d->fg * d->kg;
            float *dxg = dx + s * d->xs + gi * d->cg * d->hw;
            for (p0 = 0; p0 < d->ohw; p0 += np) {
                int pn = d->ohw - p0 < np ? d->ohw - p0 : np;
                for (r0 = 0; r0 < d->kg; r0 += kc) {
                    int kr = d->kg - r0 < kc ? d->kg - r0 : kc;
                    nnrt_sgemm_ws(1, 0, kr, pn, d->fg, 1.0f, wg + r0, d->kg, dyg + p0, d->ohw, 0.0f, scratch, pn,
                                  scratch + ws_at, NULL, NULL);
                    nnrt_col2im_block(g, ow, scratch, r0, kr, p0, pn, dxg);
                }
            }
        }
}

static void nnrt_conv2d_backward_weight_blocked(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *x,
                                                const float *dy, float *dw, float *scratch) {
    long ws_at;
    int s, gi, p0, r0, np, kc, ow = nnrt_conv2d_ow(g);
    nnrt_conv2d_block_sizes(g, d, &np, &kc);
    nnrt_conv2d_block_scratch(g, d, NNRT_CONV2D_BACKWARD_WEIGHT, &ws_at);
    for (gi = 0; gi < g->groups; gi++) {
        float *dwg = dw + (ptrdiff_t)gi * d->fg * d->kg;
        for (s = 0; s < n; s++) {
            const float *xg = x + s * d->xs + gi * d->cg * d->hw,
                        *dyg = dy + s * d->ys + (ptrdiff_t)gi * d->fg * d->ohw;
            for (p0 = 0; p0 < d->ohw; p0 += np) {
                int pn = d->ohw - p0 < np ? d->ohw - p0 : np;
                float beta = s || p0 ? 1.0f : 0.0f; /* the first band of the first sample overwrites */
                for (r0 = 0; r0 < d->kg; r0 += kc) {
                    int kr = d->kg - r0 < kc ? d->kg - r0 : kc;
                    nnrt_im2col_block(g, ow, xg, r0, kr, p0, pn, scratch);
                    nnrt_sgemm_ws(0, 1, d->fg, kr, pn, 1.0f, dyg + p0, d->ohw, scratch, pn, beta, dwg + r0, d->kg,
                                  scratch + ws_at, NULL, NULL);
                }
            }
        }
    }
}

/* ---- direct convolution (hosts) */
/* NNRT_DIRECT: compiled by gcc for a host (not NNRT_M4). Measured against
 * the unfolding (LeNet's b32 Adam step, gcc 12, runtime and network built
 * with the same line): 4.9 against 8.4 ms at -O3 -march=native (AVX-512),
 * 5.5 against 10.4 at -O2 -march=native; 9.3 against 12.5 at -O3 -mavx2
 * -mfma, 18.4 against 21.6 at -O2; for x86-64's baseline (SSE2: 16
 * registers of 4 floats, too few for the 6 x 32 tile) 17.7 against 21.4
 * at -O3 but 44 against 35 at -O2. clang (14) keeps too little of the
 * tiles in registers at -O2 (all built with clang: 17.8-20.4 against 12.7
 * ms at -O2 -march=native; 10.3-10.8 against 12.6 at -O3; 91 before
 * NNRT_UNROLL), and the level cannot be told here, so clang builds unfold,
 * as before. */
#if !NNRT_M4 && defined(__GNUC__) && !defined(__clang__)
#define NNRT_DIRECT 1
#else
#define NNRT_DIRECT 0
#endif
/* The unfolding copies every input value kh kw times into col, and the
 * GEMM copies col once more into its panels: at LeNet's sizes the copies
 * took more time than the multiply-adds. On hosts (not on the Cortex-M4F,
 * whose blocked unfolding was tuned and counted on its own: NNRT_M4) the
 * passes read the image itself instead. A sample's channels are copied
 * once into a zero-bordered image of hp x wp pixels (the padding made
 * real); the window of output pixel (i, j) starts at i sh wp + j sw in it,
 * and unfolded row k = (ci, a, b) is the offset ci hp wp + a wp + b from
 * there. The register tile is the GEMM's, 6 output pixels x 32 filters,
 * without the GEMM's packing of A: per row k, 6 image values (one from
 * each pixel's window) times 32 packed weights. With 8 to 16 filters (NR =
 * 16) it holds 16 filters for two pixels (or rows) each: the packed rows
 * hold the 16 filters twice (the tiles, below).
 *   forward          y from tiles over the output pixels, the weights
 *                    packed once per call and group: wk[k][j] = w[filter
 *                    j % NR][k] in rows of 32 (zero past the last filter)
 *   backward input   (stride 1) the same kernel: dx is dy bordered by
 *                    kh - 1 - ph rows (kw - 1 - pw columns) of zeros,
 *                    convolved with the flipped weights w[f][c][kh-1-a][kw-1-b],
 *                    channels and filters exchanged
 *   backward weight  dW^T from tiles of 6 unfolded rows x 32 filters (or
 *                    two rows x 16), each summed over a sample's pixels in
 *                    registers (the rows read the image as above, the
 *                    filters dy^T, transposed once per sample) and added up
 *                    over samples; threads split the rows
 * A pass runs direct when its scratch fits in what nnrt_conv2d_scratch asks
 * for the unfolding (the compiler sizes the arena with that, for every
 * target), it has NNRT_DIRECT_MIN_FILTERS filters (the input pass:
 * channels), a panel of packed weights fits in 128 KB and (input pass) the
 * stride is 1 and the padding smaller than the kernel; the unfolding runs
 * otherwise. Each sum runs over k (over the pixels, then the samples) in
 * order, so the bits do not depend on the batch size or on the threads. */
#if NNRT_DIRECT
typedef struct nnrt_direct {
    int cin, hp, wp;    /* the bordered image: channels, height, width */
    int kh, kw, sh, sw; /* window and strides */
    int oh, ow, nf;     /* outputs: height, width, filters */
} nnrt_direct;

enum {
    NNRT_DIRECT_PANEL_MAX = 32768, /* floats of one panel of packed weights (128 KB) */
    NNRT_DIRECT_MIN_FILTERS = 8    /* fewer waste over half the 16-wide tile: the unfolding runs */
};

/* filters per tile: 16 when there are at most 16 (two pixels or rows a tile row), else 32 */
static inline int nnrt_direct_nr(int nf) {
    return nf <= 16 ? 16 : 32;
}

/* unfolded rows: channels x window */
static inline long nnrt_direct_rows(const nnrt_direct *k) {
    return (long)k->cin * k->kh * k->kw;
}

/* floats of the packed weights (or of dW^T): a panel of NR filters is
 * rows x 32 floats, the 16 filters twice over when NR = 16 */
static inline long nnrt_direct_packed(const nnrt_direct *k) {
    int nr = nnrt_direct_nr(k->nf);
    return (long)(k->nf + nr - 1) / nr * 32 * nnrt_direct_rows(k);
}

static inline long nnrt_direct_image(const nnrt_direct *k) {
    return (long)k->cin * k->hp * k->wp;
}

/* floats of dy^T for the weight pass: packed like the weights, ohw rows a panel */
static inline long nnrt_direct_dyt(const nnrt_direct *k) {
    return nnrt_direct_packed(k) / nnrt_direct_rows(k) * k->oh * k->ow;
}

/* the forward (and weight) pass of one group */
static inline nnrt_direct nnrt_direct_fwd(const nnrt_conv2d *g, const nnrt_conv2d_dims *d) {
    nnrt_direct k;
    k.cin = d->cg, k.hp = g->h + 2 * g->ph, k.wp = g->w + 2 * g->pw;
    k.kh = g->kh, k.kw = g->kw, k.sh = g->sh, k.sw = g->sw;
    k.oh = nnrt_conv2d_oh(g), k.ow = nnrt_conv2d_ow(g), k.nf = d->fg;
    return k;
}

/* the input pass of one group (stride 1, ph < kh, pw < kw): dy bordered */
static inline nnrt_direct nnrt_direct_bwd(const nnrt_conv2d *g, const nnrt_conv2d_dims *d) {
    nnrt_direct k;
    k.cin = d->fg, k.hp = nnrt_conv2d_oh(g) + 2 * (g->kh - 1 - g->ph),
    k.wp = nnrt_conv2d_ow(g) + 2 * (g->kw - 1 - g->pw);
    k.kh = g->kh, k.kw = g->kw, k.sh = 1, k.sw = 1;
    k.oh = g->h, k.ow = g->w, k.nf = d->cg;
    return k;
}

/* Floats of scratch the direct pass takes, -1 when it cannot run: the
 * packed weights (dW^T for the weight pass), the bordered image, and for
 * the weight pass dy^T. */
static inline long nnrt_direct_scratch(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int pass) {
    nnrt_direct k;
    if (nnrt_conv2d_flat(g))
        return -1;
    if (pass == NNRT_CONV2D_BACKWARD_INPUT) {
        if (g->sh != 1 || g->sw != 1 || g->ph >= g->kh || g->pw >= g->kw)
            return -1;
        k = nnrt_direct_bwd(g, d);
    } else {
        k = nnrt_direct_fwd(g, d);
    }
    if (k.nf < NNRT_DIRECT_MIN_FILTERS || nnrt_direct_rows(&k) * 32 > NNRT_DIRECT_PANEL_MAX)
        return -1;
    return nnrt_direct_packed(&k) + nnrt_direct_image(&k) +
           (pass == NNRT_CONV2D_BACKWARD_WEIGHT ? nnrt_direct_dyt(&k) : 0);
}

/* 1 when the pass runs direct (its scratch within the unfolding's) */
static inline int nnrt_conv2d_direct(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int pass) {
    long need = nnrt_direct_scratch(g, d, pass);
    return need >= 0 && need <= nnrt_conv2d_scratch(g, pass, 1);
}

/* img (c planes of (h + 2 ph) x (w + 2 pw)) = x (c planes of h x w) inside
 * a border of ph rows and pw columns of zeros */
static void nnrt_direct_border(const float *x, int c, int h, int w, int ph, int pw, float *restrict img) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int ci, r, j, wp = w + 2 * pw;
    for (ci = 0; ci < c; ci++)
        for (r = -ph; r < h + ph; r++, img += wp) {
            const float *restrict src = x + ((ptrdiff_t)ci * h + r) * w;
            if (r < 0 || r >= h) {
                for (j = 0; j < wp; j++)
                    img[j] = zero;
                continue;
            }
            for (j = 0; j < pw; j++)
                img[j] = zero;
            for (j = 0; j < w; j++) /* x one: vector moves, not a memcpy call */
                img[pw + j] = src[j] * one;
            for (j = pw + w; j < wp; j++)
                img[j] = zero;
        }
}

/* The second half of each 32-float row of a panel of 16 filters: the
 * first again (a vector copy) */
static void nnrt_direct_double(long rows, float *restrict p) {
    const float one = nnrt_fence_f(1.0f);
    long k;
    int j;
    for (k = 0; k < rows; k++, p += 32)
        for (j = 0; j < 16; j++)
            p[16 + j] = p[j] * one;
}

/* wk = the nf x rows weights w (row-major, one filter a row) in panels of
 * rows x 32: wk[k][j] = w[q + j % NR][k] for the panel of filters q.. (zero
 * past the last filter). A filter at a time: its row of w read in order. */
static void nnrt_direct_pack(const float *w, int nf, long rows, float *restrict wk) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int nr = nnrt_direct_nr(nf), q, j;
    long k;
    for (q = 0; q < nf; q += nr, wk += rows * 32) {
        for (j = 0; j < nr; j++) {
            const float *restrict src = w + (ptrdiff_t)(q + j) * rows;
            if (q + j < nf)
                for (k = 0; k < rows; k++)
                    wk[k * 32 + j] = src[k] * one;
            else
                for (k = 0; k < rows; k++)
                    wk[k * 32 + j] = zero;
        }
        if (nr == 16)
            nnrt_direct_double(rows, wk);
    }
}

/* the same for the input pass: one group's w [fg, cg, kh, kw] as cg
 * filters over rows (f, a, b) of the flipped window: wk[(f, a, b)][j] =
 * w[f][q + j % NR][kh - 1 - a][kw - 1 - b] */
static void nnrt_direct_pack_flipped(const float *w, int fg, int cg, int kh, int kw, float *restrict wk) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int nr = nnrt_direct_nr(cg), q, f, a, j, khw = kh * kw;
    long rows = (long)fg * khw, k;
    for (q = 0; q < cg; q += nr, wk += rows * 32) {
        for (j = 0; j < nr; j++) {
            if (q + j >= cg) {
                for (k = 0; k < rows; k++)
                    wk[k * 32 + j] = zero;
                continue;
            }
            for (f = 0; f < fg; f++) { /* the window of (f, q + j), read backwards */
                const float *restrict src = w + ((ptrdiff_t)f * cg + q + j) * khw + khw - 1;
                float *restrict d = wk + (ptrdiff_t)f * khw * 32 + j;
                for (a = 0; a < khw; a++)
                    d[(ptrdiff_t)a * 32] = src[-a] * one;
            }
        }
        if (nr == 16)
            nnrt_direct_double(rows, wk);
    }
}

/* The tiles: 6 x 32 sums in registers, written to t (6 rows of 32).
 * NNRT_DIRECT_TILE: t[r][j] = sum over rows k = (ci, a, b) of
 *   at[r][ci hp wp + a wp + b + (j < NR ? 0 : delta)] wk[32 k + j]
 * (at[r]: the window of output pixel r); NNRT_DIRECT_WTILE: t[r][j] = sum
 * over output pixels (i, j') of
 *   at[r][i sh wp + j' sw + (j < NR ? 0 : delta)] dyt[32 (i ow + j') + j]
 * (at[r]: the offset of unfolded row r; wk and dyt hold 16 filters twice
 * a row when NR = 16). With 32 filters a row of t is one pixel (row);
 * with 16 it is two, the second delta floats further in the image: the
 * same pixel one output row down (forward), the same row of the next
 * channel (weight). gcc keeps sums of this shape in registers (as float
 * s[12][16] with twelve pointers it kept them on the stack, three times
 * slower; reading wk[j % 16] made it gather). Macros, so that NR is a
 * constant in each. */
#define NNRT_DIRECT_SUM(b, NR)                                                                                         \
    NNRT_UNROLL(6)                                                                                                     \
    for (r = 0; r < 6; r++) {                                                                                          \
        const float a0 = p[r][o], a1 = p[r][o + delta];                                                                \
        for (j = 0; j < 32; j++)                                                                                       \
            s[r][j] = NNRT_MADD(s[r][j], j < (NR) ? a0 : a1, b[j]);                                                    \
    }

#define NNRT_DIRECT_PROLOGUE                                                                                           \
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);                                                   \
    const float *p[6];                                                                                                 \
    float s[6][32];                                                                                                    \
    ptrdiff_t o;                                                                                                       \
    int r, j;                                                                                                          \
    NNRT_UNROLL(6)                                                                                                     \
    for (r = 0; r < 6; r++) {                                                                                          \
        p[r] = at[r];                                                                                                  \
        for (j = 0; j < 32; j++)                                                                                       \
            s[r][j] = zero;                                                                                            \
    }

#define NNRT_DIRECT_EPILOGUE                                                                                           \
    NNRT_UNROLL(6)                                                                                                     \
    for (r = 0; r < 6; r++)                                                                                            \
        for (j = 0; j < 32; j++)                                                                                       \
            t[r * 32 + j] = s[r][j] * one; /* x one: not a memcpy call */

#define NNRT_DIRECT_TILE(NAME, NR)                                                                                     \
    static NNRT_NOINLINE void NAME(const nnrt_direct *k, const float *const *at, ptrdiff_t delta,                      \
                                   const float *restrict wk, float *restrict t) {                                      \
        ptrdiff_t plane = (ptrdiff_t)k->hp * k->wp;                                                                    \
        int ci, a, b;                                                                                                  \
        NNRT_DIRECT_PROLOGUE                                                                                           \
        for (ci = 0; ci < k->cin; ci++)                                                                                \
            for (a = 0; a < k->kh; a++)                                                                                \
                for (b = 0, o = ci * plane + (ptrdiff_t)a * k->wp; b < k->kw; b++, o++, wk += 32) {                    \
                    NNRT_DIRECT_SUM(wk, NR)                                                                            \
                }                                                                                                      \
        NNRT_DIRECT_EPILOGUE                                                                                           \
    }

#define NNRT_DIRECT_WTILE(NAME, NR)                                                                                    \
    static NNRT_NOINLINE void NAME(const nnrt_direct *k, const float *const *at, ptrdiff_t delta,                      \
                                   const float *restrict dyt, float *restrict t) {                                     \
        int i, q;                                                                                                      \
        NNRT_DIRECT_PROLOGUE                                                                                           \
        for (i = 0; i < k->oh; i++)                                                                                    \
            for (q = 0, o = (ptrdiff_t)i * k->sh * k->wp; q < k->ow; q++, o += k->sw, dyt += 32) {                     \
                NNRT_DIRECT_SUM(dyt, NR)                                                                               \
            }                                                                                                          \
        NNRT_DIRECT_EPILOGUE                                                                                           \
    }

NNRT_DIRECT_TILE(nnrt_direct_tile32, 32)
NNRT_DIRECT_TILE(nnrt_direct_tile16, 16)
NNRT_DIRECT_WTILE(nnrt_direct_wtile32, 32)
NNRT_DIRECT_WTILE(nnrt_direct_wtile16, 16)
#undef NNRT_DIRECT_SUM
#undef NNRT_DIRECT_PROLOGUE
#undef NNRT_DIRECT_EPILOGUE
#undef NNRT_DIRECT_TILE
#undef NNRT_DIRECT_WTILE

/* Output pixels v0 <= v < v1 of a panel of fn <= NR filters, 6 at a time,
 * into yq (the panel's first plane); paired (NR = 16): v counts the pixels
 * of even output rows, each computed with the one below it. */
static void nnrt_direct_span(const nnrt_direct *k, const float *img, const float *wk, int fn, int v0, int v1,
                             int paired, float *restrict yq) {
    float t[192];
    const float *at[6];
    int ohw = k->oh * k->ow, nr = nnrt_direct_nr(k->nf), pix[6], v, r, j;
    ptrdiff_t delta = paired ? (ptrdiff_t)k->sh * k->wp : 0;
    for (v = v0; v < v1; v += 6) {
        int vn = v1 - v < 6 ? v1 - v : 6;
        for (r = 0; r < 6; r++) {
            int u = v + (r < vn ? r : vn - 1); /* a short tile repeats its last pixel */
            pix[r] = paired ? u / k->ow * 2 * k->ow + u % k->ow : u;
            at[r] = img + (ptrdiff_t)(pix[r] / k->ow) * k->sh * k->wp + (ptrdiff_t)(pix[r] % k->ow) * k->sw;
        }
        if (nr == 16)
            nnrt_direct_tile16(k, at, delta, wk, t);
        else
            nnrt_direct_tile32(k, at, delta, wk, t);
        for (j = 0; j < fn; j++) {
            float *restrict yj = yq + (ptrdiff_t)j * ohw;
            for (r = 0; r < vn; r++)
                yj[pix[r]] = t[r * 32 + j];
            if (paired)
                for (r = 0; r < vn; r++)
                    yj[pix[r] + k->ow] = t[r * 32 + 16 + j];
        }
    }
}

/* y (nf planes of oh x ow, overwritten) = the bordered image img convolved
 * with the packed weights wk */
static void nnrt_direct_run(const nnrt_direct *k, const float *img, const float *wk, float *restrict y) {
    int nr = nnrt_direct_nr(k->nf), ohw = k->oh * k->ow, q, pairs = nr == 16 ? k->oh / 2 : 0;
    long rows = nnrt_direct_rows(k);
    for (q = 0; q < k->nf; q += nr, wk += rows * 32) {
        int fn = k->nf - q < nr ? k->nf - q : nr;
        float *yq = y + (ptrdiff_t)q * ohw;
        nnrt_direct_span(k, img, wk, fn, 0, pairs * k->ow, 1, yq);
        nnrt_direct_span(k, img, wk, fn, 2 * pairs * k->ow, ohw, 0, yq);
    }
}

/* Unfolded rows v0 <= v < v1 of one sample's dW^T, 6 at a time, into (first)
 * or onto dwq (a panel: rows x NR); paired (NR = 16): v counts the rows of
 * even channels, each computed with the same row of the next channel. */
static void nnrt_direct_wspan(const nnrt_direct *k, const float *img, const float *dyq, long v0, long v1, int paired,
                              int first, int part, int parts, float *restrict dwq) {
    float t[192];
    const float *at[6];
    long khw = (long)k->kh * k->kw, row[6], v, tiles = (v1 - v0 + 5) / 6;
    long end = v0 + tiles * (part + 1) / parts * 6;
    int nr = nnrt_direct_nr(k->nf), r, j;
    ptrdiff_t delta = paired ? (ptrdiff_t)k->hp * k->wp : 0;
    if (end > v1)
        end = v1;
    for (v = v0 + tiles * part / parts * 6; v < end; v += 6) { /* this part's tiles */
        int vn = v1 - v < 6 ? (int)(v1 - v) : 6;
        for (r = 0; r < 6; r++) {
            long u = v + (r < vn ? r : vn - 1), w; /* a short tile repeats its last row */
            row[r] = paired ? u / khw * 2 * khw + u % khw : u;
            w = row[r] % khw;
            at[r] = img + ((ptrdiff_t)(row[r] / khw) * k->hp + w / k->kw) * k->wp + w % k->kw;
        }
        if (nr == 16)
            nnrt_direct_wtile16(k, at, delta, dyq, t);
        else
            nnrt_direct_wtile32(k, at, delta, dyq, t);
        for (r = 0; r < vn; r++) {
            float *restrict d = dwq + row[r] * 32, *restrict d2 = d + khw * 32;
            for (j = 0; j < nr; j++)
                d[j] = first ? t[r * 32 + j] : d[j] + t[r * 32 + j];
            if (paired)
                for (j = 0; j < 16; j++)
                    d2[j] = first ? t[r * 32 + 16 + j] : d2[j] + t[r * 32 + 16 + j];
        }
    }
}

/* dwt (packed like the weights: rows x NR panels) = (first) or += one
 * sample's dW^T from its bordered image and dyt: part `part` of `parts`
 * of each span's tiles (a tile's rows are the same for every split) */
static void nnrt_direct_wrun(const nnrt_direct *k, const float *img, const float *dyt, int first, int part, int parts,
                             float *restrict dwt) {
    int nr = nnrt_direct_nr(k->nf), q, pairs = nr == 16 ? k->cin / 2 : 0;
    long rows = nnrt_direct_rows(k), khw = (long)k->kh * k->kw, ohw = (long)k->oh * k->ow;
    for (q = 0; q < k->nf; q += nr, dyt += ohw * 32, dwt += rows * 32) {
        nnrt_direct_wspan(k, img, dyt, 0, pairs * khw, 1, first, part, parts, dwt);
        nnrt_direct_wspan(k, img, dyt, 2 * pairs * khw, rows, 0, first, part, parts, dwt);
    }
}

static void nnrt_conv2d_forward_direct(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *x,
                                       const float *w, float *y, float *scratch) {
    nnrt_direct k = nnrt_direct_fwd(g, d);
    float *wk = scratch, *img = scratch + nnrt_direct_packed(&k);
    int s, gi;
    for (gi = 0; gi < g->groups; gi++) {
        nnrt_direct_pack(w + (ptrdiff_t)gi * d->fg * d->kg, d->fg, d->kg, wk);
        for (s = 0; s < n; s++) {
            nnrt_direct_border(x + s * d->xs + gi * d->cg * d->hw, d->cg, g->h, g->w, g->ph, g->pw, img);
            nnrt_direct_run(&k, img, wk, y + s * d->ys + (ptrdiff_t)gi * d->fg * d->ohw);
        }
    }
}

static void nnrt_conv2d_backward_input_direct(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *dy,
                                              const float *w, float *dx, float *scratch) {
    nnrt_direct k = nnrt_direct_bwd(g, d);
    float *wk = scratch, *img = scratch + nnrt_direct_packed(&k);
    int s, gi, oh = nnrt_conv2d_oh(g), ow = nnrt_conv2d_ow(g);
    for (gi = 0; gi < g->groups; gi++) {
        nnrt_direct_pack_flipped(w + (ptrdiff_t)gi * d->fg * d->kg, d->fg, d->cg, g->kh, g->kw, wk);
        for (s = 0; s < n; s++) {
            nnrt_direct_border(dy + s * d->ys + (ptrdiff_t)gi * d->fg * d->ohw, d->fg, oh, ow, g->kh - 1 - g->ph,
                               g->kw - 1 - g->pw, img);
            nnrt_direct_run(&k, img, wk, dx + s * d->xs + gi * d->cg * d->hw);
        }
    }
}

/* The weight pass of group gi over n samples, part `part` of `parts` of
 * dwt's tiles; work: the bordered image and dy^T (image + packed / rows x
 * ohw floats). */
typedef struct nnrt_direct_wjob {
    const nnrt_conv2d *g;
    const nnrt_conv2d_dims *d;
    int n, gi;
    const float *x, *dy;
    float *dwt; /* shared: the parts write rows of their own */
} nnrt_direct_wjob;

static void nnrt_direct_wpart(void *ctx, int part, int parts, float *work) {
    const nnrt_direct_wjob *j = (const nnrt_direct_wjob *)ctx;
    const nnrt_conv2d *g = j->g;
    const nnrt_conv2d_dims *d = j->d;
    nnrt_direct k = nnrt_direct_fwd(g, d);
    float *img = work, *dyt = work + nnrt_direct_image(&k);
    int s;
    for (s = 0; s < j->n; s++) {
        nnrt_direct_border(j->x + s * d->xs + j->gi * d->cg * d->hw, d->cg, g->h, g->w, g->ph, g->pw, img);
        /* dy^T, packed as the weights are (dy is fg rows of ohw as w is fg rows of kg) */
        nnrt_direct_pack(j->dy + s * d->ys + (ptrdiff_t)j->gi * d->fg * d->ohw, d->fg, d->ohw, dyt);
        nnrt_direct_wrun(&k, img, dyt, s == 0, part, parts, j->dwt);
    }
}

/* The weight pass sums over the samples, so its threads split dW's rows
 * instead (NNRT_THREADS builds): every part borders and transposes each
 * sample for itself, and computes its tiles as one thread would, so the
 * bits are the same for every thread count. */
static void nnrt_direct_wsplit(nnrt_direct_wjob *j, float *work) {
#if NNRT_MT
    nnrt_direct k = nnrt_direct_fwd(j->g, j->d);
    int threads = nnrt_mt_threads();
    long own = nnrt_direct_image(&k) + nnrt_direct_dyt(&k);
    if (threads >= 2 && (double)j->n * j->d->fg * j->d->kg * j->d->ohw >= NNRT_MT_FLOPS && nnrt_mt_reserve(own) &&
        nnrt_mt_run(nnrt_direct_wpart, j, threads, work) > 0)
        return;
#endif
    nnrt_direct_wpart(j, 0, 1, work);
}

static void nnrt_conv2d_backward_weight_direct(const nnrt_conv2d *g, const nnrt_conv2d_dims *d, int n, const float *x,
                                               const float *dy, float *dw, float *scratch) {
    nnrt_direct k = nnrt_direct_fwd(g, d);
    nnrt_direct_wjob j;
    int gi, f, nr = nnrt_direct_nr(d->fg);
    long r;
    j.g = g, j.d = d, j.n = n, j.x = x, j.dy = dy, j.dwt = scratch;
    for (gi = 0; gi < g->groups; gi++) {
        float *dwg = dw + (ptrdiff_t)gi * d->fg * d->kg;
        const float *dwt = scratch;
        j.gi = gi;
        nnrt_direct_wsplit(&j, scratch + nnrt_direct_packed(&k));
        for (f = 0; f < d->fg; f++) {
            const float *src = dwt + (long)(f / nr) * 32 * d->kg + f % nr;
            for (r = 0; r < d->kg; r++)
                dwg[(ptrdiff_t)f * d->kg + r] = src[r * 32];
        }
    }
}

/* ---- the weight pass over the nonzeros of dy (hosts, NNRT_DIRECT)
 * A convolution followed by relu and max pooling gets back a gradient dy
 * with at most one nonzero in each pooling window, and relu zeroes more:
 * in lenet's layers at batch 32 about a sixth of dy is nonzero.
 * dW[f][c][a][b] is the sum over the samples and output pixels of
 * dy[f][pix] x[c][window(pix) + (a, b)], and the terms with dy = 0 add
 * nothing: this pass takes only the others. Two layouts keep a filter's sums in
 * registers while its nonzeros are added:
 *   channels   (8 channels or more; 5 x 5 and 3 x 3 kernels) per block of
 *              CB = 16 (or 8) channels, kh kw vectors of CB sums (25 for
 *              5 x 5); each nonzero adds itself times the window's CB
 *              channels at each of the kh kw offsets, read from a
 *              channels-last copy of the sample in its zero border,
 *              [cp / CB][hp][wp][CB] (cp: the channels rounded up to CB)
 *   rows       (fewer channels: a first layer; kw <= 16, c kh <= 15) the
 *              vector runs along a row of the window instead: rows (ci, a)
 *              of 16 sums, the first kw of them used; each nonzero adds
 *              itself times the 16 image values from the window's row
 *              start on, read from the direct passes' bordered copy
 *              [c][hp][wp] (then 16 floats of zeros, for the last row's
 *              spare lanes)
 * Per nonzero that is a load and a multiply-add per sum vector; the
 * direct tiles spend about two thirds of that per pixel, zero or not.
 * Measured in lenet's second layer: 6.3 ns a nonzero and 0.6 a pixel to
 * list them, against 3.6 + 0.45 a pixel for the tiles and their dy^T (the
 * list wins up to about 55 % nonzero). The pass runs when at most half of
 * dy is nonzero (counted first), with one group and its scratch within
 * the unfolding's. Scratch (floats): the sums [f][...] (channels: [cp /
 * CB][kh kw][CB]; rows: [R][16], R = c kh rounded up to an instance), then
 * the image, on a cache line (16 floats spare: the loads split lines
 * otherwise, at twice the time). Each sum runs over the samples, then the
 * pixels, in order (the zero terms left out), so the bits depend neither
 * on the threads, which split the filters, nor on how the nonzeros are
 * listed. A term 0 x inf (NaN in the direct tiles) is left out with the
 * rest. */
enum {
    NNRT_SPARSE_LIST = 256, /* pixels listed at a time */
    NNRT_SPARSE_ROWS = 15,  /* rows: sum vectors a filter at most (c kh) */
    NNRT_SPARSE_SPARE = 16  /* floats of scratch spare, to start the image on a cache line */
};

typedef struct nnrt_sparse {
    int c, h, w, ph, pw, sh, sw, kh, kw, f, oh, ow; /* the convolution */
    int hp, wp;                                     /* the bordered image */
    int cp, cb;                                     /* channels: the image's channels and a block's */
    int rows;                                       /* rows: sum vectors a filter (channels: 0) */
    long acc, img;                                  /* floats of the sums and of the image */
} nnrt_sparse;

/* The sums of one filter and channel block (acc: KH KW rows of CB, from
 * zero when first) plus g[p] times the window at img + off[p] for the
 * pixels p = idx[k], k < cnt;
 * rows of the block's image wcb floats apart, pixels CB apart. Macros, so
 * that the window and CB are constants in each (the offsets inside a row
 * then too: with the pixels' stride a variable, gcc ran out of registers
 * for the addresses). */
#define NNRT_SPARSE_W(NAME, KH, KW, CB)                                                                                \
    static NNRT_NOINLINE void NAME(const float *restrict img, ptrdiff_t wcb, const int *restrict idx,                  \
                                   const int *restrict off, const float *restrict g, int cnt, float *restrict acc,     \
                                   int first) {                                                                        \
        const float zero = nnrt_fence_f(0.0f);                                                                         \
        float s[(KH) * (KW)][CB];                                                                                      \
        int a, b, j, k;                                                                                                \
        NNRT_UNROLL((KH) * (KW))                                                                                       \
        for (a = 0; a < (KH) * (KW); a++)                                                                              \
            for (j = 0; j < (CB); j++)                                                                                 \
                s[a][j] = first ? zero : acc[a * (CB) + j];                                                            \
        for (k = 0; k < cnt; k++) {                                                                                    \
            const float *restrict win = img + off[idx[k]];                                                             \
            const float v = g[idx[k]];                                                                                 \
            NNRT_UNROLL(KH)                                                                                            \
            for (a = 0; a < (KH); a++)                                                                                 \
                NNRT_UNROLL(KW)                                                                                        \
            for (b = 0; b < (KW); b++)                                                                                 \
                for (j = 0; j < (CB); j++)                                                                             \
                    s[a * (KW) + b][j] = NNRT_MADD(s[a * (KW) + b][j], v, win[a * wcb + b * (CB) + j]);                \
        }                                                                                                              \
        NNRT_UNROLL((KH) * (KW))                                                                                       \
        for (a = 0; a < (KH) * (KW); a++)                                                                              \
            for (j = 0; j < (CB); j++)                                                                                 \
                acc[a * (CB) + j] = s[a][j];                                                                           \
    }
NNRT_SPARSE_W(nnrt_sparse_w5x5x16, 5, 5, 16)
NNRT_SPARSE_W(nnrt_sparse_w5x5x8, 5, 5, 8)
NNRT_SPARSE_W(nnrt_sparse_w3x3x16, 3, 3, 16)
NNRT_SPARSE_W(nnrt_sparse_w3x3x8, 3, 3, 8)
#undef NNRT_SPARSE_W

/* The same in rows: the sums of one filter (acc: R rows of 16, from zero
 * when first) plus g[p] times the 16 floats at img + off[p] + rof[r] for
 * the pixels p = idx[k], k < cnt. Macros, so that R is a constant in each
 * (rows of 16 floats, one vector each on AVX-512: with 8 gcc packed two
 * rows into a vector and shuffled). */
#define NNRT_SPARSE_ROW(NAME, R)                                                                                       \
    static NNRT_NOINLINE void NAME(const float *restrict img, const ptrdiff_t *restrict rof, const int *restrict idx,  \
                                   const int *restrict off, const float *restrict g, int cnt, float *restrict acc,     \
                                   int first) {                                                                        \
        const float zero = nnrt_fence_f(0.0f);                                                                         \
        float s[R][16];                                                                                                \
        ptrdiff_t ro[R];                                                                                               \
        int r, j, k;                                                                                                   \
        NNRT_UNROLL(R)                                                                                                 \
        for (r = 0; r < (R); r++) {                                                                                    \
            ro[r] = rof[r];                                                                                            \
            for (j = 0; j < 16; j++)                                                                                   \
                s[r][j] = first ? zero : acc[r * 16 + j];                                                              \
        }                                                                                                              \
        for (k = 0; k < cnt; k++) {                                                                                    \
            const float *restrict win = img + off[idx[k]];                                                             \
            const float v = g[idx[k]];                                                                                 \
            NNRT_UNROLL(R)                                                                                             \
            for (r = 0; r < (R); r++)                                                                                  \
                for (j = 0; j < 16; j++)                                                                               \
                    s[r][j] = NNRT_MADD(s[r][j], v, win[ro[r] + j]);                                                   \
        }                                                                                                              \
        NNRT_UNROLL(R)                                                                                                 \
        for (r = 0; r < (R); r++)                                                                                      \
            for (j = 0; j < 16; j++)                                                                                   \
                acc[r * 16 + j] = s[r][j];                                                                             \
    }
NNRT_SPARSE_ROW(nnrt_sparse_row5, 5)
NNRT_SPARSE_ROW(nnrt_sparse_row9, 9)
NNRT_SPARSE_ROW(nnrt_sparse_row15, 15)
#undef NNRT_SPARSE_ROW

/* The geometry of g's pass (weight or input) over the nonzeros, 1 when its
 * shape allows it and its scratch fits in the pass's (the density is
 * counted apart). acc: the floats of the weight pass's sums, which are
 * also those of the input pass's packed weights in the channels layout. */
static int nnrt_sparse_geom(const nnrt_conv2d *g, int pass, nnrt_sparse *q) {
    int sq5 = g->kh == 5 && g->kw == 5, sq3 = g->kh == 3 && g->kw == 3;
    if (g->groups != 1 || g->c < 1)
        return 0;
    q->c = g->c, q->h = g->h, q->w = g->w, q->ph = g->ph, q->pw = g->pw, q->sh = g->sh, q->sw = g->sw;
    q->kh = g->kh, q->kw = g->kw, q->f = g->f, q->oh = nnrt_conv2d_oh(g), q->ow = nnrt_conv2d_ow(g);
    q->hp = g->h + 2 * g->ph, q->wp = g->w + 2 * g->pw;
    if (g->c >= 8 && (sq5 || sq3)) {
        q->rows = 0;
        q->cb = g->c % 16 == 0 || g->c > 16 ? 16 : 8;
        q->cp = (g->c + q->cb - 1) / q->cb * q->cb;
        q->acc = (long)q->f * q->cp * q->kh * q->kw;
        q->img = (long)q->hp * q->wp * q->cp;
    } else if (g->c < 8 && g->kw <= 16 && g->c * g->kh <= NNRT_SPARSE_ROWS) {
        q->rows = g->c * g->kh <= 5 ? 5 : g->c * g->kh <= 9 ? 9 : 15;
        q->cp = g->c, q->cb = 1;
        q->acc = (long)q->f * q->rows * 16;
        q->img = (long)q->c * q->hp * q->wp + 16;
    } else {
        return 0;
    }
    return q->acc + q->img + NNRT_SPARSE_SPARE <= nnrt_conv2d_scratch(g, pass, 1);
}

/* p moved up to the next cache line (at most NNRT_SPARSE_SPARE floats):
 * unaligned, the 64-byte loads split lines, at twice the time */
static float *nnrt_sparse_line(float *p) {
    return p + (64 - (uintptr_t)p % 64) % 64 / sizeof(float);
}

/* 1 when the bits of v are those of a nonzero (NaN counts, -0 does not):
 * fewer instructions than the float compare, branch-free */
static inline int nnrt_sparse_nonzero(float v) {
    return (nnrt_f2u(v) << 1) != 0;
}

/* the nonzeros among g's n values */
static long nnrt_sparse_count(const float *g, long n) {
    long i, nz = 0;
    for (i = 0; i < n; i++)
        nz += nnrt_sparse_nonzero(g[i]);
    return nz;
}

/* 1 when at most half of dy is nonzero, counted in every eighth sample
 * (0, 8, ...: a batch's samples went through the same relu and pooling;
 * the whole of lenet's conv1 dy is 1.6 MB, and the count was 0.07 ms of
 * its step) */
static int nnrt_sparse_enough(const nnrt_sparse *q, int n, const float *dy) {
    long per = (long)q->f * q->oh * q->ow, nz = 0, total = 0;
    int s;
    for (s = 0; s < n; s += 8, total += per)
        nz += nnrt_sparse_count(dy + s * per, per);
    return 2 * nz <= total;
}

/* The sample x as the layout reads it (channels: img[k / cb][Y][X][k %
 * cb] = x[k][Y - ph][X - pw], 0 in the border and for k >= c; rows: the
 * direct passes' bordered image and 16 zeros) */
static void nnrt_sparse_image(const nnrt_sparse *q, const float *x, float *restrict img) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    long plane = (long)q->hp * q->wp * q->cb, i;
    int k, r, j;
    if (q->rows) {
        nnrt_direct_border(x, q->c, q->h, q->w, q->ph, q->pw, img);
        for (j = 0; j < 16; j++)
            img[(long)q->c * q->hp * q->wp + j] = zero;
        return;
    }
    for (i = 0; i < q->img; i++) /* small beside the sums that read it */
        img[i] = zero;
    for (k = 0; k < q->c; k++)
        for (r = 0; r < q->h; r++) {
            const float *restrict src = x + ((ptrdiff_t)k * q->h + r) * q->w;
            float *restrict d = img + k / q->cb * plane + ((ptrdiff_t)(r + q->ph) * q->wp + q->pw) * q->cb + k % q->cb;
            for (j = 0; j < q->w; j++)
                d[(ptrdiff_t)j * q->cb] = src[j] * one;
        }
}

/* off[t] = the corner of output pixel p0 + t's window in the image
 * (t < pn), pixels step floats apart */
static void nnrt_sparse_corners(const nnrt_sparse *q, int p0, int pn, int step, int *restrict off) {
    int t, i = p0 / q->ow, j = p0 % q->ow;
    for (t = 0; t < pn; t++) {
        off[t] = (int)(((ptrdiff_t)i * q->sh * q->wp + (ptrdiff_t)j * q->sw) * step);
        if (++j == q->ow)
            j = 0, i++;
    }
}

/* idx = the positions of g's nonzeros among its pn values, in order
 * (branch-free); their count */
static int nnrt_sparse_list(const float *g, int pn, int *restrict idx) {
    int t, cnt = 0;
    for (t = 0; t < pn; t++) {
        idx[cnt] = t;
        cnt += nnrt_sparse_nonzero(g[t]);
    }
    return cnt;
}

/* The sums of a filter (acc) plus its nonzeros g[idx[k]] (k < cnt) at
 * the windows off[idx[k]] */
static void nnrt_sparse_add(const nnrt_sparse *q, const float *img, const ptrdiff_t *rof, const int *idx,
                            const int *off, const float *g, int cnt, float *acc, int first) {
    ptrdiff_t wcb = (ptrdiff_t)q->wp * q->cb, plane = wcb * q->hp;
    int cb0, kk = q->kh * q->kw;
    if (q->rows == 5)
        nnrt_sparse_row5(img, rof, idx, off, g, cnt, acc, first);
    else if (q->rows == 9)
        nnrt_sparse_row9(img, rof, idx, off, g, cnt, acc, first);
    else if (q->rows)
        nnrt_sparse_row15(img, rof, idx, off, g, cnt, acc, first);
    else
        for (cb0 = 0; cb0 < q->cp; cb0 += q->cb) {
            const float *blk = img + cb0 / q->cb * plane;
            float *a = acc + (ptrdiff_t)cb0 * kk;
            if (q->kh == 5 && q->cb == 16)
                nnrt_sparse_w5x5x16(blk, wcb, idx, off, g, cnt, a, first);
            else if (q->kh == 5)
                nnrt_sparse_w5x5x8(blk, wcb, idx, off, g, cnt, a, first);
            else if (q->cb == 16)
                nnrt_sparse_w3x3x16(blk, wcb, idx, off, g, cnt, a, first);
            else
                nnrt_sparse_w3x3x8(blk, wcb, idx, off, g, cnt, a, first);
        }
}

typedef struct nnrt_sparse_job {
    const nnrt_sparse *q;
    int n;
    const float *x, *dy;
    float *acc; /* shared: the parts write filters of their own */
} nnrt_sparse_job;

/* Part `part` of `parts`: the sums of filters f part / parts .. f (part +
 * 1) / parts over the n samples; work: the image (16 floats spare) */
static void nnrt_sparse_part(void *ctx, int part, int parts, float *work) {
    const nnrt_sparse_job *jb = (const nnrt_sparse_job *)ctx;
    const nnrt_sparse *q = jb->q;
    int f0 = q->f * part / parts, f1 = q->f * (part + 1) / parts, ohw = q->oh * q->ow, r;
    long xs = (long)q->c * q->h * q->w, per = q->acc / q->f;
    ptrdiff_t rof[NNRT_SPARSE_ROWS];
    int off[NNRT_SPARSE_LIST], idx[NNRT_SPARSE_LIST], s, fo, p0;
    work = nnrt_sparse_line(work);
    for (r = 0; r < NNRT_SPARSE_ROWS; r++) /* rows: (ci, a) of the window; the spare ones read row 0 */
        rof[r] = r < q->c * q->kh ? ((ptrdiff_t)(r / q->kh) * q->hp + r % q->kh) * q->wp : 0;
    for (s = 0; s < jb->n; s++) {
        nnrt_sparse_image(q, jb->x + s * xs, work);
        for (p0 = 0; p0 < ohw; p0 += NNRT_SPARSE_LIST) {
            int pn = ohw - p0 < NNRT_SPARSE_LIST ? ohw - p0 : NNRT_SPARSE_LIST;
            nnrt_sparse_corners(q, p0, pn, q->rows ? 1 : q->cb, off); /* in the image (channels: a block's) */
            for (fo = f0; fo < f1; fo++) {                            /* list the nonzeros, then add them */
                const float *dyf = jb->dy + ((ptrdiff_t)s * q->f + fo) * ohw + p0;
                nnrt_sparse_add(q, work, rof, idx, off, dyf, nnrt_sparse_list(dyf, pn, idx), jb->acc + fo * per,
                                s == 0 && p0 == 0);
            }
        }
    }
}

/* dw (overwritten) from n samples of x and dy as q says; scratch: the
 * sums, then the first thread's image */
static void nnrt_sparse_run(const nnrt_sparse *q, int n, const float *x, const float *dy, float *dw, float *scratch) {
    nnrt_sparse_job jb;
    int fo, ci, e, kk = q->kh * q->kw;
    jb.q = q, jb.n = n, jb.x = x, jb.dy = dy, jb.acc = scratch;
#if NNRT_MT
    if (!(nnrt_mt_threads() >= 2 && (double)n * q->f * q->c * kk * q->oh * q->ow >= NNRT_MT_FLOPS &&
          nnrt_mt_reserve(q->img + NNRT_SPARSE_SPARE) &&
          nnrt_mt_run(nnrt_sparse_part, &jb, nnrt_mt_threads(), scratch + q->acc) > 0))
#endif
        nnrt_sparse_part(&jb, 0, 1, scratch + q->acc);
    for (fo = 0; fo < q->f; fo++) /* the sums into dw [f][c][kh kw] */
        for (ci = 0; ci < q->c; ci++)
            for (e = 0; e < kk; e++) {
                const float *src = scratch + fo * (q->acc / q->f);
                float v = q->rows ? src[(ci * q->kh + e / q->kw) * 16 + e % q->kw]
                                  : src[((ptrdiff_t)ci / q->cb * q->cb * kk) + e * q->cb + ci % q->cb];
                dw[((ptrdiff_t)fo * q->c + ci) * kk + e] = v;
            }
}

/* The input pass over dy's nonzeros: dx[c][Y][X] is the sum over the
 * output pixels whose window covers (Y, X) and over the filters of
 * dy[f][pix] w[f][c][a][b]. Filter by filter, its kh kw vectors of CB
 * channels of weights (packed [cp / CB][f][kh kw][CB]) stay in registers,
 * and each of its nonzeros adds itself times them to the window's values
 * of dx, a channels-last image of the sample bordered like the weight
 * pass's (the border dropped at the end): a load, a multiply-add and a
 * store a vector per nonzero. (Pixel by pixel instead, the window in
 * registers and the weights loaded, was twice as slow: lenet's 51 KB of
 * weights came from L2 for every nonzero.) Each sample decides for itself
 * (at most a quarter of its dy nonzero: the Winograd input pass takes
 * about 3.3 ns a pixel of dy, this one about 8 ns a nonzero and 0.6 ns a
 * pixel to list them); the other samples run the passes below, consecutive
 * ones together, each of which gives a sample the same bits alone as in a
 * batch: so do the threads, which split the samples. Each value sums over
 * the filters in order, then the pixels. Scratch: the packed weights,
 * then the image on a cache line (16 floats spare). */

/* The image at img (rows wcb floats apart, pixels CB apart) plus g[p]
 * times the weights wt (KH KW rows of CB) in the window at off[p], for the
 * pixels p = idx[k], k < cnt. Macros, so that the window and CB are
 * constants in each. */
#define NNRT_SPARSE_XROW(NAME, KW, CB)                                                                                 \
    static inline void NAME(float *restrict row, const float(*restrict u)[CB], float v) {                              \
        int b, j;                                                                                                      \
        NNRT_UNROLL(KW)                                                                                                \
        for (b = 0; b < (KW); b++)                                                                                     \
            for (j = 0; j < (CB); j++)                                                                                 \
                row[b * (CB) + j] = NNRT_MADD(row[b * (CB) + j], v, u[b][j]);                                          \
    }
#define NNRT_SPARSE_X(NAME, ROW, KH, KW, CB)                                                                           \
    static NNRT_NOINLINE void NAME(float *img, ptrdiff_t wcb, const float *restrict wt, const int *restrict idx,       \
                                   const int *restrict off, const float *restrict g, int cnt) {                        \
        float u[(KH) * (KW)][CB];                                                                                      \
        int a, j, k;                                                                                                   \
        NNRT_UNROLL((KH) * (KW))                                                                                       \
        for (a = 0; a < (KH) * (KW); a++)                                                                              \
            for (j = 0; j < (CB); j++)                                                                                 \
                u[a][j] = wt[a * (CB) + j];                                                                            \
        for (k = 0; k < cnt; k++) {                                                                                    \
            float *win = img + off[idx[k]];                                                                            \
            const float v = g[idx[k]];                                                                                 \
            NNRT_UNROLL(KH)                                                                                            \
            for (a = 0; a < (KH); a++) /* rows of the window: apart (wcb >= KW CB) */                                  \
                ROW(win + a * wcb, (const float(*)[CB])u[a * (KW)], v);                                                \
        }                                                                                                              \
    }
NNRT_SPARSE_XROW(nnrt_sparse_xrow5x16, 5, 16)
NNRT_SPARSE_XROW(nnrt_sparse_xrow5x8, 5, 8)
NNRT_SPARSE_XROW(nnrt_sparse_xrow3x16, 3, 16)
NNRT_SPARSE_XROW(nnrt_sparse_xrow3x8, 3, 8)
NNRT_SPARSE_X(nnrt_sparse_x5x5x16, nnrt_sparse_xrow5x16, 5, 5, 16)
NNRT_SPARSE_X(nnrt_sparse_x5x5x8, nnrt_sparse_xrow5x8, 5, 5, 8)
NNRT_SPARSE_X(nnrt_sparse_x3x3x16, nnrt_sparse_xrow3x16, 3, 3, 16)
NNRT_SPARSE_X(nnrt_sparse_x3x3x8, nnrt_sparse_xrow3x8, 3, 3, 8)
#undef NNRT_SPARSE_X
#undef NNRT_SPARSE_XROW

/* wt[k / cb][f][e][k % cb] = w[f][k][e] (e < kh kw; 0 for k >= c) */
static void nnrt_sparse_pack(const nnrt_sparse *q, const float *w, float *restrict wt) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int kk = q->kh * q->kw, fo, k, e;
    for (k = 0; k < q->cp; k++)
        for (fo = 0; fo < q->f; fo++) {
            float *restrict d = wt + (((ptrdiff_t)k / q->cb * q->f + fo) * kk) * q->cb + k % q->cb;
            const float *src = w + ((ptrdiff_t)fo * q->c + k) * kk;
            for (e = 0; e < kk; e++)
                d[(ptrdiff_t)e * q->cb] = k < q->c ? src[e] * one : zero;
        }
}

/* 1 when at most a quarter of one sample's dy (dys) is nonzero */
static int nnrt_sparse_sample(const nnrt_sparse *q, const float *dys) {
    long total = (long)q->f * q->oh * q->ow;
    return 4 * nnrt_sparse_count(dys, total) <= total;
}

/* dx of one sample (dxs, overwritten) from its dy over the nonzeros; wt
 * packed, img the image's scratch */
static void nnrt_sparse_input_one(const nnrt_sparse *q, const float *dys, const float *wt, float *dxs,
                                  float *restrict img) {
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int off[NNRT_SPARSE_LIST], idx[NNRT_SPARSE_LIST];
    ptrdiff_t wcb = (ptrdiff_t)q->wp * q->cb, plane = wcb * q->hp, fs = (ptrdiff_t)q->kh * q->kw * q->cb;
    int ohw = q->oh * q->ow, p0, fo, cb0, k, r, j;
    long e;
    for (e = 0; e < q->img; e++)
        img[e] = zero;
    for (p0 = 0; p0 < ohw; p0 += NNRT_SPARSE_LIST) {
        int pn = ohw - p0 < NNRT_SPARSE_LIST ? ohw - p0 : NNRT_SPARSE_LIST;
        nnrt_sparse_corners(q, p0, pn, q->cb, off); /* in a block's image */
        for (fo = 0; fo < q->f; fo++) {             /* list the filter's nonzeros, then add them */
            const float *dyf = dys + (ptrdiff_t)fo * ohw + p0;
            int cnt = nnrt_sparse_list(dyf, pn, idx);
            for (cb0 = 0; cnt && cb0 < q->cp; cb0 += q->cb) {
                float *blk = img + cb0 / q->cb * plane;
                const float *wf = wt + ((ptrdiff_t)cb0 / q->cb * q->f + fo) * fs;
                if (q->kh == 5 && q->cb == 16)
                    nnrt_sparse_x5x5x16(blk, wcb, wf, idx, off, dyf, cnt);
                else if (q->kh == 5)
                    nnrt_sparse_x5x5x8(blk, wcb, wf, idx, off, dyf, cnt);
                else if (q->cb == 16)
                    nnrt_sparse_x3x3x16(blk, wcb, wf, idx, off, dyf, cnt);
                else
                    nnrt_sparse_x3x3x8(blk, wcb, wf, idx, off, dyf, cnt);
            }
        }
    }
    for (k = 0; k < q->c; k++) /* the image's inside into dx */
        for (r = 0; r < q->h; r++) {
            const float *src = img + k / q->cb * plane + ((ptrdiff_t)(r + q->ph) * q->wp + q->pw) * q->cb + k % q->cb;
            float *restrict d = dxs + ((ptrdiff_t)k * q->h + r) * q->w;
            for (j = 0; j < q->w; j++)
                d[j] = src[(ptrdiff_t)j * q->cb] * one;
        }
}

/* ---- Winograd F(2 x 2, 5 x 5) (hosts, NNRT_DIRECT with hardware FMA) */
#if NNRT_DIRECT && defined(FP_FAST_FMAF)
#define NNRT_WINO 1
#else
#define NNRT_WINO 0
#endif
#if NNRT_WINO
/* The input pass of a 5 x 5 convolution with stride 1, one group and
 * padding 0..4 is a forward convolution of dy (f channels in, c out) with
 * the flipped weights w[o][c][4 - a][4 - b], dy bordered by 4 - ph rows and
 * 4 - pw columns. With 8 channels or more on both sides (fewer waste the
 * tiles) and its scratch within nnrt_conv2d_scratch's (the unfolding's),
 * it computes each 2 x 2 block of outputs from the 6 x 6 input tile d
 * under it as
 *   y = A^T [(G g G^T) . (B^T d B)] A
 * per channel pair (g: the 5 x 5 kernel), the products summed over the
 * input channels: 36 multiply-adds per channel pair and 4 outputs where
 * the direct tiles take 100. Points {0, 1, -1, 2, -2, inf} (Toom-Cook, the
 * rows of B^T scaled to small integers and G absorbing the scale):
 *   B^T = [4 0 -5 0 1 0; 0 4 4 -1 -1 0; 0 -4 4 1 -1 0;
 *          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 1]
 * G below. Scratch (floats, in this order; cp = channels rounded up to 8,
 * fp = filters rounded up to NR, NR = 32 when there are more than 16, else
 * 16, T = NNRT_WINO_T tiles a chunk):
 *   U    [36][cp][fp]        the transformed weights, once per call (in
 *                            double, rounded once; zero past c and f)
 *   img  [hi][wi][cp]        the zero-bordered channels-last copy of the
 *                            sample whose tiles are transformed, hi = 2 th
 *                            + 4, wi = 2 tw + 4 (th x tw tiles a sample)
 *   V    [T][cp / cb][36][cb] the input transforms of a chunk of tiles,
 *                            cb = 16 or 8 channels vectorized at a time
 *   M    [T][36][fp]         M[t][p] = V[t][p] U[p]: register tiles of 6
 *                            tiles x 32 filters (NR = 32) or 12 x 16
 * then the output transform, 16 filters at a time, into y. Tiles are
 * numbered over the whole batch (sample, tile row, tile column) and taken
 * T at a time (a short last chunk repeats its last tile): each tile's sums
 * run in the same order whatever chunk and register row it falls in, so
 * the bits do not depend on n (nor on the threads, which split samples).
 * Measured (bench/conv2d_bench.c, batch 32, 14 x 14, pad 2, -O3
 * -march=native on AVX-512), the input pass: 16 -> 32 channels 0.72 ms
 * against the direct tiles' 1.28, 32 -> 16 0.64 against 0.98; about twice
 * as fast with -mavx2 -mfma. Why not everywhere:
 * - without hardware multiply-add (x86-64's baseline, SSE2) it ran up to
 *   2.8 times slower than the direct tiles: NNRT_WINO needs FP_FAST_FMAF;
 * - the forward pass would gain as much (0.62 against 0.97 ms), but the
 *   transforms round more (the largest error per element, relative to the
 *   larger of |y| and a tenth of max |y|, about 4 times the direct
 *   tiles'), and in the forward pass that error reaches every gradient:
 *   lenet's parity fixture (5 Adam steps) then missed PyTorch's dense
 *   weights by up to 4.1e-5 of the 1e-5 allowed. In the input pass it
 *   reaches only the first layer's weight gradient, and the fixture holds
 *   (tests/parity: parity.native.lenet). */
enum { NNRT_WINO_T = 12 }; /* tiles a chunk: a multiple of 12 (both register tiles) */

typedef struct nnrt_wino {
    int c, f, h, w, ph, pw, oh, ow; /* the forward convolution computed: c -> f channels */
    int th, tw, tiles, cp, cb, fp, nr, rows, hi, wi;
    long u, img, v, m; /* floats of each part of the scratch */
} nnrt_wino;

/* G (6 x 5): U = G g G^T */
static const double nnrt_wino_g[6][5] = {{1 / 4., 0, 0, 0, 0},
                                         {1 / 6., 1 / 6., 1 / 6., 1 / 6., 1 / 6.},
                                         {1 / 6., -1 / 6., 1 / 6., -1 / 6., 1 / 6.},
                                         {1 / 24., 1 / 12., 1 / 6., 1 / 3., 2 / 3.},
                                         {1 / 24., -1 / 12., 1 / 6., -1 / 3., 2 / 3.},
                                         {0, 0, 0, 0, 1}};

/* R(i, row i of B^T d) for the 6 values D(0..5) */
#define NNRT_WINO_BT(D, R)                                                                                             \
    do {                                                                                                               \
        float e1_ = NNRT_MADD(-D(4), 4.0f, D(2)), o1_ = NNRT_MADD(-D(3), 4.0f, D(1));                                  \
        float e3_ = D(4) - D(2), o3_ = 2.0f * (D(3) - D(1));                                                           \
        R(0, NNRT_MADD(NNRT_MADD(D(4), -5.0f, D(2)), 4.0f, D(0)));                                                     \
        R(1, e1_ + o1_);                                                                                               \
        R(2, e1_ - o1_);                                                                                               \
        R(3, e3_ + o3_);                                                                                               \
        R(4, e3_ - o3_);                                                                                               \
        R(5, NNRT_MADD(NNRT_MADD(D(5), -5.0f, D(3)), 4.0f, D(1)));                                                     \
    } while (0)

/* R(i, row i of A^T m) for the 6 values M(0..5) */
#define NNRT_WINO_AT(M, R)                                                                                             \
    do {                                                                                                               \
        float s1_ = M(1) + M(2), d1_ = M(1) - M(2), s3_ = M(3) + M(4), d3_ = M(3) - M(4);                              \
        R(0, M(0) + s1_ + s3_);                                                                                        \
        R(1, NNRT_MADD(d1_ + M(5), 2.0f, d3_));                                                                        \
    } while (0)

/* The input transform of one tile, CB channels: img at the tile's corner
 * (rows wcp floats apart, pixels cp apart), v[p][k] (p: the 36 positions) */
#define NNRT_WINO_D1(j) row[(j)*cp + k]
#define NNRT_WINO_R1(j, val) tt[i][j] = (val)
#define NNRT_WINO_D2(j) tt[j][b]
#define NNRT_WINO_R2(a, val) v[((a)*6 + b) * CB_ + k] = (val)
#define NNRT_WINO_IN(NAME, CB)                                                                                         \
    static NNRT_NOINLINE void NAME(const float *restrict img, ptrdiff_t wcp, ptrdiff_t cp, float *restrict v) {        \
        enum { CB_ = CB }; /* the row stride of v, seen by NNRT_WINO_R2 */                                             \
        int i, b, k;                                                                                                   \
        for (k = 0; k < CB; k++) {                                                                                     \
            float tt[6][6];                                                                                            \
            NNRT_UNROLL(6)                                                                                             \
            for (i = 0; i < 6; i++) {                                                                                  \
                const float *restrict row = img + i * wcp;                                                             \
                NNRT_WINO_BT(NNRT_WINO_D1, NNRT_WINO_R1);                                                              \
            }                                                                                                          \
            NNRT_UNROLL(6)                                                                                             \
            for (b = 0; b < 6; b++)                                                                                    \
                NNRT_WINO_BT(NNRT_WINO_D2, NNRT_WINO_R2);                                                              \
        }                                                                                                              \
    }
NNRT_WINO_IN(nnrt_wino_in16, 16)
NNRT_WINO_IN(nnrt_wino_in8, 8)

/* The output transform of one tile, 16 filters: m at M[t][0][q] (ps floats
 * between positions); o[4][16] = the 2 x 2 outputs, row-major */
#define NNRT_WINO_M1(j) m[(a * 6 + (j)) * ps + k]
#define NNRT_WINO_Q1(x, val) z[a][x][k] = (val)
#define NNRT_WINO_M2(j) z[j][x][k]
#define NNRT_WINO_Q2(i, val) o[((i)*2 + x) * 16 + k] = (val)
static NNRT_NOINLINE void nnrt_wino_out16(const float *restrict m, ptrdiff_t ps, float *restrict o) {
    float z[6][2][16];
    int a, x, k;
    NNRT_UNROLL(6)
    for (a = 0; a < 6; a++)
        for (k = 0; k < 16; k++)
            NNRT_WINO_AT(NNRT_WINO_M1, NNRT_WINO_Q1);
    NNRT_UNROLL(2)
    for (x = 0; x < 2; x++)
        for (k = 0; k < 16; k++)
            NNRT_WINO_AT(NNRT_WINO_M2, NNRT_WINO_Q2);
}

/* The products of one chunk: M[t][p][j] = sum over k < cp of V[t][p][k]
 * U[p][k][j] for the tiles t < rend, register tiles of ROWS tiles x NR
 * filters (the sums in registers, as the direct tiles'); V[t] is cp / cb
 * blocks of [36][cb], U[p] cp x fp, M[t] 36 x fp. Macros, so that ROWS and
 * NR are constants in each. */
#define NNRT_WINO_MM(NAME, ROWS, NR)                                                                                   \
    static NNRT_NOINLINE void NAME(const float *restrict V, const float *restrict U, float *restrict M, int cp,        \
                                   int cb, int fp, int rend) {                                                         \
        const float zero = nnrt_fence_f(0.0f);                                                                         \
        const ptrdiff_t vs = 36 * (ptrdiff_t)cp, ms = 36 * (ptrdiff_t)fp;                                              \
        int p, r0, fq, r, j, k, kb;                                                                                    \
        for (p = 0; p < 36; p++)                                                                                       \
            for (r0 = 0; r0 < rend; r0 += ROWS)                                                                        \
                for (fq = 0; fq < fp; fq += NR) {                                                                      \
                    const float *restrict v = V + r0 * vs + p * cb;                                                    \
                    const float *restrict u = U + (ptrdiff_t)p * cp * fp + fq;                                         \
                    float *restrict m = M + r0 * ms + (ptrdiff_t)p * fp + fq;                                          \
                    float s[ROWS][NR];                                                                                 \
                    NNRT_UNROLL(ROWS)                                                                                  \
                    for (r = 0; r < ROWS; r++)                                                                         \
                        for (j = 0; j < NR; j++)                                                                       \
                            s[r][j] = zero;                                                                            \
                    kb = 0;                                                                                            \
                    do { /* cp, cb >= 1: at least once (no "ran" flags at -O2) */                                      \
                        k = 0;                                                                                         \
                        do {                                                                                           \
                            NNRT_UNROLL(ROWS)                                                                          \
                            for (r = 0; r < ROWS; r++) {                                                               \
                                const float a = v[r * vs + k];                                                         \
                                for (j = 0; j < NR; j++)                                                               \
                                    s[r][j] = NNRT_MADD(s[r][j], a, u[j]);                                             \
                            }                                                                                          \
                            u += fp;                                                                                   \
                        } while (++k < cb);                                                                            \
                        v += 36 * cb;                                                                                  \
                    } while ((kb += cb) < cp);                                                                         \
                    NNRT_UNROLL(ROWS)                                                                                  \
                    for (r = 0; r < ROWS; r++)                                                                         \
                        for (j = 0; j < NR; j++)                                                                       \
                            m[r * ms + j] = s[r][j];                                                                   \
                }                                                                                                      \
    }
NNRT_WINO_MM(nnrt_wino_mm6x32, 6, 32)
NNRT_WINO_MM(nnrt_wino_mm12x16, 12, 16)
#undef NNRT_WINO_BT
#undef NNRT_WINO_AT
#undef NNRT_WINO_D1
#undef NNRT_WINO_R1
#undef NNRT_WINO_D2
#undef NNRT_WINO_R2
#undef NNRT_WINO_IN
#undef NNRT_WINO_M1
#undef NNRT_WINO_Q1
#undef NNRT_WINO_M2
#undef NNRT_WINO_Q2
#undef NNRT_WINO_MM

/* The Winograd geometry of g's input pass, 1 when it runs so: 5 x 5,
 * stride 1, one group, padding 0..4, 8 or more channels in and out, and
 * its scratch within nnrt_conv2d_scratch's. */
static int nnrt_wino_geom(const nnrt_conv2d *g, nnrt_wino *q) {
    if (g->kh != 5 || g->kw != 5 || g->sh != 1 || g->sw != 1 || g->groups != 1 || g->ph > 4 || g->pw > 4)
        return 0;
    /* dy (f channels) bordered by 4 - ph, 4 - pw: h x w outputs (c channels) */
    q->c = g->f, q->f = g->c, q->h = nnrt_conv2d_oh(g), q->w = nnrt_conv2d_ow(g);
    q->ph = 4 - g->ph, q->pw = 4 - g->pw;
    if (q->c < 8 || q->f < 8)
        return 0;
    q->oh = q->h + 2 * q->ph - 4, q->ow = q->w + 2 * q->pw - 4;
    q->th = (q->oh + 1) / 2, q->tw = (q->ow + 1) / 2, q->tiles = q->th * q->tw;
    q->cp = (q->c + 7) / 8 * 8;
    q->cb = q->cp % 16 == 0 ? 16 : 8;
    q->nr = q->f <= 16 ? 16 : 32;
    q->rows = q->nr == 16 ? 12 : 6;
    q->fp = (q->f + q->nr - 1) / q->nr * q->nr;
    q->hi = 2 * q->th + 4, q->wi = 2 * q->tw + 4;
    q->u = 36L * q->cp * q->fp;
    q->img = (long)q->hi * q->wi * q->cp;
    q->v = 36L * NNRT_WINO_T * q->cp;
    q->m = 36L * NNRT_WINO_T * q->fp;
    return q->u + q->img + q->v + q->m <= nnrt_conv2d_scratch(g, NNRT_CONV2D_BACKWARD_INPUT, 1);
}

/* U[p][ci][fo] = (G w[fo][ci] G^T)[p] for 8 filters (gk[e][j]: element e
 * of filter j's kernel), in double, rounded once; ps floats between p */
static NNRT_NOINLINE void nnrt_wino_wt8(const double (*restrict gk)[8], float *restrict u, ptrdiff_t ps) {
    double t[6][5][8];
    int a, b, i, j;
    NNRT_UNROLL(6)
    for (a = 0; a < 6; a++)
        NNRT_UNROLL(5)
    for (b = 0; b < 5; b++)
        for (j = 0; j < 8; j++) {
            double s = 0;
            NNRT_UNROLL(5)
            for (i = 0; i < 5; i++)
                s += nnrt_wino_g[a][i] * gk[i * 5 + b][j];
            t[a][b][j] = s;
        }
    NNRT_UNROLL(6)
    for (a = 0; a < 6; a++)
        NNRT_UNROLL(6)
    for (b = 0; b < 6; b++)
        for (j = 0; j < 8; j++) {
            double s = 0;
            NNRT_UNROLL(5)
            for (i = 0; i < 5; i++)
                s += t[a][i][j] * nnrt_wino_g[b][i];
            u[(a * 6 + b) * ps + j] = (float)s;
        }
}

/* U from the layer's weights w (f x c x 25 in the layer's terms, so c x f
 * x 25 in the pass's): the pass's filter fo on channel ci is
 * w[ci][fo][24 - e], flipped; zero past c and f */
static void nnrt_wino_weights(const nnrt_wino *q, const float *w, float *restrict u) {
    double gk[25][8];
    int fo, ci, e, j;
    for (ci = 0; ci < q->cp; ci++)
        for (fo = 0; fo < q->fp; fo += 8) {
            for (j = 0; j < 8; j++) {
                const float *src;
                if (fo + j >= q->f || ci >= q->c) {
                    for (e = 0; e < 25; e++)
                        gk[e][j] = 0.0;
                    continue;
                }
                src = w + ((ptrdiff_t)ci * q->f + fo + j) * 25 + 24;
                for (e = 0; e < 25; e++)
                    gk[e][j] = src[-e];
            }
            nnrt_wino_wt8((const double(*)[8])gk, u + (ptrdiff_t)ci * q->fp + fo, (ptrdiff_t)q->cp * q->fp);
        }
}

/* img's zeros: its border, and channels c to cp (once a call: the samples
 * write only the inside, nnrt_wino_image) */
static void nnrt_wino_border(const nnrt_wino *q, float *restrict img) {
    const float zero = nnrt_fence_f(0.0f);
    ptrdiff_t rowf = (ptrdiff_t)q->wi * q->cp, i;
    int r;
    for (r = 0; r < q->hi; r++) {
        float *restrict d = img + r * rowf;
        if (r < q->ph || r >= q->ph + q->h || q->cp > q->c) {
            for (i = 0; i < rowf; i++)
                d[i] = zero;
        } else {
            for (i = 0; i < (ptrdiff_t)q->pw * q->cp; i++)
                d[i] = zero;
            for (i = (ptrdiff_t)(q->pw + q->w) * q->cp; i < rowf; i++)
                d[i] = zero;
        }
    }
}

/* img[Y][X][k] = x[k][Y - ph][X - pw] inside the border, k < c */
static void nnrt_wino_image(const nnrt_wino *q, const float *x, float *restrict img) {
    const float one = nnrt_fence_f(1.0f);
    int k, r, j;
    for (k = 0; k < q->c; k++)
        for (r = 0; r < q->h; r++) {
            const float *restrict src = x + ((ptrdiff_t)k * q->h + r) * q->w;
            float *restrict d = img + ((ptrdiff_t)(r + q->ph) * q->wi + q->pw) * q->cp + k;
            for (j = 0; j < q->w; j++)
                d[(ptrdiff_t)j * q->cp] = src[j] * one;
        }
}

/* y (n samples of f planes of oh x ow, overwritten) = x (n samples of c
 * planes of h x w) convolved as q says, T tiles at a time */
static void nnrt_wino_run(const nnrt_wino *q, int n, const float *x, const float *w, float *y, float *scratch) {
    float *U = scratch, *I = U + q->u, *V = I + q->img, *M = V + q->v, o[64];
    long total = (long)n * q->tiles, g0, built = -1, ohw = (long)q->oh * q->ow;
    long xs = (long)q->c * q->h * q->w, ys = (long)q->f * ohw;
    ptrdiff_t wcp = (ptrdiff_t)q->wi * q->cp;
    nnrt_wino_weights(q, w, U);
    nnrt_wino_border(q, I);
    for (g0 = 0; g0 < total; g0 += NNRT_WINO_T) {
        int cnt = total - g0 < NNRT_WINO_T ? (int)(total - g0) : NNRT_WINO_T, t, fq, kb;
        int rend = (cnt + q->rows - 1) / q->rows * q->rows;
        for (t = 0; t < NNRT_WINO_T; t++) { /* the input transforms: V[t] */
            long gt = g0 + (t < cnt ? t : cnt - 1), s = gt / q->tiles;
            int ti = (int)(gt % q->tiles), ty = ti / q->tw, tx = ti % q->tw;
            const float *corner;
            float *vt = V + (ptrdiff_t)t * 36 * q->cp;
            while (built < s) { /* the tiles go in sample order: one image at a time */
                built++;
                nnrt_wino_image(q, x + built * xs, I);
            }
            corner = I + ((ptrdiff_t)2 * ty * q->wi + 2 * tx) * q->cp;
            if (q->cb == 16)
                for (kb = 0; kb < q->cp; kb += 16)
                    nnrt_wino_in16(corner + kb, wcp, q->cp, vt + (ptrdiff_t)kb * 36);
            else
                for (kb = 0; kb < q->cp; kb += 8)
                    nnrt_wino_in8(corner + kb, wcp, q->cp, vt + (ptrdiff_t)kb * 36);
        }
        if (q->nr == 32) /* M[t][p] = V[t][p] U[p] */
            nnrt_wino_mm6x32(V, U, M, q->cp, q->cb, q->fp, rend);
        else
            nnrt_wino_mm12x16(V, U, M, q->cp, q->cb, q->fp, rend);
        for (t = 0; t < cnt; t++) { /* the output transforms into y (a last row or column of one) */
            long gt = g0 + t, s = gt / q->tiles;
            int ti = (int)(gt % q->tiles), ty = ti / q->tw, tx = ti % q->tw, a, b, j;
            int ny = q->oh - 2 * ty < 2 ? 1 : 2, nx = q->ow - 2 * tx < 2 ? 1 : 2;
            float *yt = y + s * ys + (ptrdiff_t)2 * ty * q->ow + 2 * tx;
            for (fq = 0; fq < q->f; fq += 16) {
                int fn = q->f - fq < 16 ? q->f - fq : 16;
                nnrt_wino_out16(M + (ptrdiff_t)t * 36 * q->fp + fq, q->fp, o);
                if (ny == 2 && nx == 2 && fn == 16) {
                    for (j = 0; j < 16; j++) {
                        float *yj = yt + (ptrdiff_t)(fq + j) * ohw;
                        yj[0] = o[j], yj[1] = o[16 + j], yj[q->ow] = o[32 + j], yj[q->ow + 1] = o[48 + j];
                    }
                    continue;
                }
                for (j = 0; j < fn; j++) {
                    float *yj = yt + (ptrdiff_t)(fq + j) * ohw;
                    for (a = 0; a < ny; a++)
                        for (b = 0; b < nx; b++)
                            yj[a * q->ow + b] = o[(a * 2 + b) * 16 + j];
                }
            }
        }
    }
}
#endif /* NNRT_WINO */
#endif /* NNRT_DIRECT */

NNRT_API void nnrt_conv2d_forward(const nnrt_conv2d *g, int n, const float *x, const float *w, float *y,
                                  float *scratch) {
    nnrt_conv2d_dims d;
    nnrt_conv2d_tctx tc;
    long ws_at;
    int s, gi, tr;
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
#if NNRT_MT
    if (nnrt_conv2d_mt(g, NNRT_CONV2D_FORWARD, n, x, w, y, scratch))
        return;
#endif
    d = nnrt_conv2d_sizes(g);
    if (nnrt_conv2d_flat(g)) {
        for (s = 0; s < n; s++)
            for (gi = 0; gi < g->groups; gi++)
                nnrt_sgemm(0, 0, d.fg, d.ohw, d.kg, 1.0f, w + (ptrdiff_t)gi * d.fg * d.kg, d.kg,
                           x + s * d.xs + gi * d.cg * d.hw, d.ohw, 0.0f, y + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw,
                           d.ohw);
        return;
    }
#if NNRT_DIRECT
    if (nnrt_conv2d_direct(g, &d, NNRT_CONV2D_FORWARD)) {
        nnrt_conv2d_forward_direct(g, &d, n, x, w, y, scratch);
        return;
    }
#endif
    if (nnrt_conv2d_blocked(g)) {
        nnrt_conv2d_forward_blocked(g, &d, n, x, w, y, scratch);
        return;
    }
    nnrt_conv2d_pass_scratch(&d, NNRT_CONV2D_FORWARD, &ws_at);
    tr = nnrt_conv2d_fwd_t(&d);
    tc.t = scratch + (long)d.kg * d.ohw;
    tc.fg = d.fg;
    tc.ohw = d.ohw;
    for (s = 0; s < n; s++)
        for (gi = 0; gi < g->groups; gi++) {
            const float *wg = w + (ptrdiff_t)gi * d.fg * d.kg;
            float *yg = y + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw;
            nnrt_im2col(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), x + s * d.xs + gi * d.cg * d.hw, scratch);
            if (tr) {
                tc.y = yg;
                nnrt_sgemm_ws(1, 1, d.ohw, d.fg, d.kg, 1.0f, scratch, d.ohw, wg, d.kg, 0.0f,
                              scratch + (long)d.kg * d.ohw, d.fg, scratch + ws_at, nnrt_conv2d_untranspose, &tc);
            } else {
                nnrt_sgemm_ws(0, 0, d.fg, d.ohw, d.kg, 1.0f, wg, d.kg, scratch, d.ohw, 0.0f, yg, d.ohw, scratch + ws_at,
                              NULL, NULL);
            }
        }
}

/* The input pass of n samples by the dense kernels: Winograd, the direct
 * tiles, the blocked or whole unfolding (each gives a sample the same
 * bits alone as in a batch) */
static void nnrt_conv2d_backward_input_dense(const nnrt_conv2d *g, int n, const float *dy, const float *w, float *dx,
                                             float *scratch) {
    nnrt_conv2d_dims d;
#if NNRT_WINO
    nnrt_wino wq;
#endif
    long ws_at = 0;
    int s, gi, flat;
    d = nnrt_conv2d_sizes(g);
    flat = nnrt_conv2d_flat(g);
#if NNRT_WINO
    if (nnrt_wino_geom(g, &wq)) {
        nnrt_wino_run(&wq, n, dy, w, dx, scratch);
        return;
    }
#endif
#if NNRT_DIRECT
    if (nnrt_conv2d_direct(g, &d, NNRT_CONV2D_BACKWARD_INPUT)) {
        nnrt_conv2d_backward_input_direct(g, &d, n, dy, w, dx, scratch);
        return;
    }
#endif
    if (!flat && nnrt_conv2d_blocked(g)) {
        nnrt_conv2d_backward_input_blocked(g, &d, n, dy, w, dx, scratch);
        return;
    }
    if (!flat)
        nnrt_conv2d_pass_scratch(&d, NNRT_CONV2D_BACKWARD_INPUT, &ws_at);
    for (s = 0; s < n; s++) {
        float *dxs = dx + s * d.xs;
        if (!flat)
            nnrt_zero(dxs, d.xs);
        for (gi = 0; gi < g->groups; gi++) {
            const float *dyg = dy + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw;
            const float *wg = w + (ptrdiff_t)gi * d.fg * d.kg;
            float *dxg = dxs + gi * d.cg * d.hw;
            if (flat) {
                nnrt_sgemm(1, 0, d.kg, d.ohw, d.fg, 1.0f, wg, d.kg, dyg, d.ohw, 0.0f, dxg, d.ohw);
                continue;
            }
            nnrt_sgemm_ws(1, 0, d.kg, d.ohw, d.fg, 1.0f, wg, d.kg, dyg, d.ohw, 0.0f, scratch, d.ohw, scratch + ws_at,
                          NULL, NULL);
            nnrt_col2im(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), scratch, dxg);
        }
    }
}

#if NNRT_DIRECT
/* The input pass of n samples, sample by sample over the nonzeros or, for
 * runs of denser samples, by the dense kernels (each sample's density
 * counted once); scratch: the packed weights (packed again after a dense
 * run, which uses the scratch), then the image */
static void nnrt_sparse_input(const nnrt_sparse *q, const nnrt_conv2d *g, int n, const float *dy, const float *w,
                              float *dx, float *scratch) {
    long xs = (long)q->c * q->h * q->w, ys = (long)q->f * q->oh * q->ow;
    float *img = nnrt_sparse_line(scratch + q->acc);
    int s = 0, s0, sparse, packed = 0;
    while (s < n) {
        sparse = nnrt_sparse_sample(q, dy + s * ys);
        for (s0 = s++; s < n && nnrt_sparse_sample(q, dy + s * ys) == sparse; s++)
            ;
        if (!sparse) {
            nnrt_conv2d_backward_input_dense(g, s - s0, dy + s0 * ys, w, dx + s0 * xs, scratch);
            packed = 0; /* the dense kernels used the scratch */
            continue;
        }
        if (!packed)
            nnrt_sparse_pack(q, w, scratch), packed = 1;
        for (; s0 < s; s0++)
            nnrt_sparse_input_one(q, dy + s0 * ys, scratch, dx + s0 * xs, img);
    }
}
#endif

NNRT_API void nnrt_conv2d_backward_input(const nnrt_conv2d *g, int n, const float *dy, const float *w, float *dx,
                                         float *scratch) {
#if NNRT_DIRECT
    nnrt_sparse sq;
#endif
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
#if NNRT_MT
    if (nnrt_conv2d_mt(g, NNRT_CONV2D_BACKWARD_INPUT, n, dy, w, dx, scratch))
        return;
#endif
#if NNRT_DIRECT
    if (nnrt_sparse_geom(g, NNRT_CONV2D_BACKWARD_INPUT, &sq) && !sq.rows) {
        nnrt_sparse_input(&sq, g, n, dy, w, dx, scratch);
        return;
    }
#endif
    nnrt_conv2d_backward_input_dense(g, n, dy, w, dx, scratch);
}

NNRT_API void nnrt_conv2d_backward_weight(const nnrt_conv2d *g, int n, const float *x, const float *dy, float *dw,
                                          float *scratch) {
    nnrt_conv2d_dims d;
#if NNRT_DIRECT
    nnrt_sparse sq;
#endif
    long ws_at;
    int s, gi, tr, i, j;
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
    d = nnrt_conv2d_sizes(g);
    if (nnrt_conv2d_flat(g)) {
        for (s = 0; s < n; s++)
            for (gi = 0; gi < g->groups; gi++)
                nnrt_sgemm(0, 1, d.fg, d.kg, d.ohw, 1.0f, dy + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw, d.ohw,
                           x + s * d.xs + gi * d.cg * d.hw, d.ohw, s ? 1.0f : 0.0f, dw + (ptrdiff_t)gi * d.fg * d.kg,
                           d.kg);
        return;
    }
#if NNRT_DIRECT
    if (nnrt_sparse_geom(g, NNRT_CONV2D_BACKWARD_WEIGHT, &sq) && nnrt_sparse_enough(&sq, n, dy)) {
        nnrt_sparse_run(&sq, n, x, dy, dw, scratch);
        return;
    }
    if (nnrt_conv2d_direct(g, &d, NNRT_CONV2D_BACKWARD_WEIGHT)) {
        nnrt_conv2d_backward_weight_direct(g, &d, n, x, dy, dw, scratch);
        return;
    }
#endif
    if (nnrt_conv2d_blocked(g)) {
        nnrt_conv2d_backward_weight_blocked(g, &d, n, x, dy, dw, scratch);
        return;
    }
    nnrt_conv2d_pass_scratch(&d, NNRT_CONV2D_BACKWARD_WEIGHT, &ws_at);
    tr = nnrt_conv2d_dw_t(&d);
    for (gi = 0; gi < g->groups; gi++) {
        float *dwg = dw + (ptrdiff_t)gi * d.fg * d.kg, *t = scratch + (long)d.kg * d.ohw;
        for (s = 0; s < n; s++) {
            const float *dyg = dy + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw;
            nnrt_im2col(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), x + s * d.xs + gi * d.cg * d.hw, scratch);
            if (tr)
                nnrt_sgemm_ws(0, 1, d.kg, d.fg, d.ohw, 1.0f, scratch, d.ohw, dyg, d.ohw, s ? 1.0f : 0.0f, t, d.fg,
                              scratch + ws_at, NULL, NULL);
            else
                nnrt_sgemm_ws(0, 1, d.fg, d.kg, d.ohw, 1.0f, dyg, d.ohw, scratch, d.ohw, s ? 1.0f : 0.0f, dwg, d.kg,
                              scratch + ws_at, NULL, NULL);
        }
        if (tr)
            for (i = 0; i < d.fg; i++)
                for (j = 0; j < d.kg; j++)
                    dwg[(ptrdiff_t)i * d.kg + j] = t[(ptrdiff_t)j * d.fg + i];
    }
}

static inline int nnrt_pool2d_ok(const nnrt_pool2d *p) {
    return p && p->c >= 1 && p->h >= 1 && p->w >= 1 && p->kh >= 1 && p->kw >= 1 && p->sh >= 1 && p->sw >= 1 &&
           p->kh <= p->h && p->kw <= p->w;
}

/* The offset of the window's first maximum from its corner (x[0]): the
 * first element greater than all before it, a NaN replacing any earlier
 * choice, as PyTorch's CPU kernel scans. */
static inline int nnrt_window_argmax(const float *x, int w, int kh, int kw) {
    int a, b, best = 0;
    float m = x[0];
    for (a = 0; a < kh; a++)
        for (b = 0; b < kw; b++) {
            float v = x[a * w + b];
            if (v > m || v != v) {
                m = v;
                best = a * w + b;
            }
        }
    return best;
}

/* The common 2 x 2 window with stride 2, for nnrt_maxpool2d_*: the
 * maximum of a, b (first row), c, d (second row) with the scan order and
 * NaN rule of nnrt_window_argmax, and in *at the position it came from
 * (0..3, as a float: gcc if-converts and vectorizes float selects of this
 * shape, not int ones). */
static inline float nnrt_max4(float a, float b, float c, float d, float *at) {
    float m = a, k = 0.0f;
    int t;
    t = (b > m) | (b != b);
    m = t ? b : m;
    k = t ? 1.0f : k;
    t = (c > m) | (c != c);
    m = t ? c : m;
    k = t ? 2.0f : k;
    t = (d > m) | (d != d);
    m = t ? d : m;
    k = t ? 3.0f : k;
    *at = k;
    return m;
}

static inline int nnrt_pool2d_is_2x2(const nnrt_pool2d *p) {
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2;
}

/* Outputs [j0, j0 + cnt) of one output row of the 2 x 2 pool, r0 and r1
 * the two input rows: the maxima into y (forward); dy where each window
 * took its maximum, 0 elsewhere, into the rows d0, d1 (backward). Called
 * with a constant cnt (8 or 4) the loops vectorize; rows shorter than the
 * vectors (LeNet's are 14 and 7 wide) go in chunks of that constant, the
 * last one overlapping the one before (writing the same values again), so
 * that no scalar tail is left (nnrt_max2x2_row). */
static inline void nnrt_max2x2_fwd(const float *restrict r0, const float *restrict r1, float *restrict y, int j0,
                                   int cnt) {
    int j;
    float at;
    for (j = j0; j < j0 + cnt; j++)
        y[j] = nnrt_max4(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], &at);
}

static inline void nnrt_max2x2_bwd(const float *restrict r0, const float *restrict r1, const float *restrict dy,
                                   float *restrict d0, float *restrict d1, int j0, int cnt) {
    const float zero = nnrt_fence_f(0.0f);
    int j;
    float at;
    for (j = j0; j < j0 + cnt; j++) {
        float g = zero + dy[j]; /* as 0 + dy: -0 becomes +0 */
        nnrt_max4(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], &at);
        d0[2 * j] = at == 0.0f ? g : zero;
        d0[2 * j + 1] = at == 1.0f ? g : zero;
        d1[2 * j] = at == 2.0f ? g : zero;
        d1[2 * j + 1] = at == 3.0f ? g : zero;
    }
}

/* Fixed-size chunks as functions of their own (not inlined: inside the
 * callers' loop nests gcc no longer vectorizes them; NNRT_NOINLINE) */
static NNRT_NOINLINE void nnrt_max2x2_fwd8(const float *r0, const float *r1, float *y, int j0) {
    nnrt_max2x2_fwd(r0, r1, y, j0, 8);
}

static NNRT_NOINLINE void nnrt_max2x2_fwd4(const float *r0, const float *r1, float *y, int j0) {
    nnrt_max2x2_fwd(r0, r1, y, j0, 4);
}

static NNRT_NOINLINE void nnrt_max2x2_bwd8(const float *r0, const float *r1, const float *dy, float *d0, float *d1,
                                           int j0) {
    nnrt_max2x2_bwd(r0, r1, dy, d0, d1, j0, 8);
}

static NNRT_NOINLINE void nnrt_max2x2_bwd4(const float *r0, const float *r1, const float *dy, float *d0, float *d1,
                                           int j0) {
    nnrt_max2x2_bwd(r0, r1, dy, d0, d1, j0, 4);
}

/* One output row of ow windows: chunks of 8 (or 4), the last overlapping */
static inline void nnrt_max2x2_row(const float *r0, const float *r1, float *y, const float *dy, float *d0, float *d1,
                                   int ow, int back) {
    int j0, c = ow >= 8 ? 8 : ow >= 4 ? 4 : 0;
    if (!c) {
        if (back)
            nnrt_max2x2_bwd(r0, r1, dy, d0, d1, 0, ow);
        else
            nnrt_max2x2_fwd(r0, r1, y, 0, ow);
        return;
    }
    for (j0 = 0; j0 < ow; j0 += c) {
        int at = j0 + c <= ow ? j0 : ow - c;
        if (back && c == 8)
            nnrt_max2x2_bwd8(r0, r1, dy, d0, d1, at);
        else if (back)
            nnrt_max2x2_bwd4(r0, r1, dy, d0, d1, at);
        else if (c == 8)
            nnrt_max2x2_fwd8(r0, r1, y, at);
        else
            nnrt_max2x2_fwd4(r0, r1, y, at);
    }
}

NNRT_API void nnrt_maxpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y) {
    long plane, planes;
    int oh, ow, i, j;
    if (n < 1 || !nnrt_pool2d_ok(p))
        return;
    oh = (p->h - p->kh) / p->sh + 1;
    ow = (p->w - p->kw) / p->sw + 1;
    planes = (long)n * p->c;
    if (nnrt_pool2d_is_2x2(p)) {
        for (plane = 0; plane < planes; plane++)
            for (i = 0; i < oh; i++) {
                const float *r0 = x + plane * p->h * p->w + (ptrdiff_t)2 * i * p->w;
                nnrt_max2x2_row(r0, r0 + p->w, y + (plane * oh + i) * ow, NULL, NULL, NULL, ow, 0);
            }
        return;
    }
    for (plane = 0; plane < planes; plane++) {
        const float *xp = x + plane * p->h * p->w;
        float *yp = y + plane * oh * ow;
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                const float *win = xp + (ptrdiff_t)i * p->sh * p->w + j * p->sw;
                yp[i * ow + j] = win[nnrt_window_argmax(win, p->w, p->kh, p->kw)];
            }
    }
}

NNRT_API void nnrt_maxpool2d_backward(const nnrt_pool2d *p, int n, const float *x, const float *dy, float *dx) {
    long plane, planes;
    int oh, ow, i, j;
    if (n < 1 || !nnrt_pool2d_ok(p))
        return;
    oh = (p->h - p->kh) / p->sh + 1;
    ow = (p->w - p->kw) / p->sw + 1;
    planes = (long)n * p->c;
    if (nnrt_pool2d_is_2x2(p)) {
        /* the windows do not overlap: each covered element is written once,
         * dy where the window took its maximum, else 0; only an odd last row
         * or column, in no window, is zeroed apart */
        if (p->h % 2 || p->w % 2)
            nnrt_zero(dx, planes * p->h * p->w);
        for (plane = 0; plane < planes; plane++)
            for (i = 0; i < oh; i++) {
                const float *r0 = x + plane * p->h * p->w + (ptrdiff_t)2 * i * p->w;
                float *d0 = dx + plane * p->h * p->w + (ptrdiff_t)2 * i * p->w;
                nnrt_max2x2_row(r0, r0 + p->w, NULL, dy + (plane * oh + i) * ow, d0, d0 + p->w, ow, 1);
            }
        return;
    }
    nnrt_zero(dx, planes * p->h * p->w);
    for (plane = 0; plane < planes; plane++) {
        const float *xp = x + plane * p->h * p->w;
        const float *dyp = dy + plane * oh * ow;
        float *dxp = dx + plane * p->h * p->w;
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                ptrdiff_t corner = (ptrdiff_t)i * p->sh * p->w + j * p->sw;
                dxp[corner + nnrt_window_argmax(xp + corner, p->w, p->kh, p->kw)] += dyp[i * ow + j];
            }
    }
}

NNRT_API void nnrt_avgpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y) {
    long plane, planes;
    int oh, ow, i, j, a, b;
    if (n < 1 || !nnrt_pool2d_ok(p))
        return;
    oh = (p->h - p->kh) / p->sh + 1;
    ow = (p->w - p->kw) / p->sw + 1;
    planes = (long)n * p->c;
    for (plane = 0; plane < planes; plane++) {
        const float *xp = x + plane * p->h * p->w;
        float *yp = y + plane * oh * ow;
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                const float *win = xp + (ptrdiff_t)i * p->sh * p->w + j * p->sw;
                float sum = 0.0f;
                for (a = 0; a < p->kh; a++)
                    for (b = 0; b < p->kw; b++)
                        sum += win[a * p->w + b];
                yp[i * ow + j] = sum / (float)(p->kh * p->kw);
            }
    }
}

NNRT_API void nnrt_avgpool2d_backward(const nnrt_pool2d *p, int n, const float *dy, float *dx) {
    long plane, planes;
    int oh, ow, i, j, a, b;
    if (n < 1 || !nnrt_pool2d_ok(p))
        return;
    oh = (p->h - p->kh) / p->sh + 1;
    ow = (p->w - p->kw) / p->sw + 1;
    planes = (long)n * p->c;
    nnrt_zero(dx, planes * p->h * p->w);
    for (plane = 0; plane < planes; plane++) {
        const float *dyp = dy + plane * oh * ow;
        float *dxp = dx + plane * p->h * p->w;
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                float *win = dxp + (ptrdiff_t)i * p->sh * p->w + j * p->sw;
                float v = dyp[i * ow + j] / (float)(p->kh * p->kw);
                for (a = 0; a < p->kh; a++)
                    for (b = 0; b < p->kw; b++)
                        win[a * p->w + b] += v;
            }
    }
}
