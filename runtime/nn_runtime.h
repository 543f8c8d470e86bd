/*
 * nn_runtime.h - the small runtime that nngen's generated code links against.
 *
 * Everything here is C99, allocation-free and has no global mutable state.
 *   - always: nn_param / nn_status, the PRNG, initializers, the libm
 *     replacements of freestanding code, the GEMM kernels, finiteness checks,
 *     CRC-32 and weight (de)serialization to caller buffers, and the
 *     convolution and pooling kernels (caller-provided scratch);
 *   - hosted only (absent when NN_FREESTANDING is defined): weight files on
 *     disk (atomic save, validating load).
 * The definitions are in runtime/src/, one part per concern (core.c,
 * libm.c, gemm.c, conv.c, weights.c, files.c; internal.h says what each
 * holds): libnnrt is compiled from them, and cmake/amalgamate.cmake pastes
 * them into one nn_runtime.c in the build tree.
 *
 * `nngen --standalone` pastes this header and that nn_runtime.c into the
 * generated source with NNRT_API defined as `static inline`, so that the
 * output needs nothing but libm and several networks can be linked into one
 * program. The IDX / CSV data loaders of the tools and examples are not part
 * of the runtime: generated code never reads data files. They are a library
 * of their own, nn_data (runtime/data/nn_data.h).
 */
#ifndef NN_RUNTIME_H
#define NN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifndef NNRT_API
#define NNRT_API /* external linkage; `static inline` when inlined */
#endif

#ifndef NN_PARAM_DEFINED
#define NN_PARAM_DEFINED
/* One parameter (or buffer) tensor of a generated network. */
typedef struct nn_param {
    const char *name; /* "W1", "fc1.weight", ... as in docs/language.md */
    int rank;
    int dims[4];  /* stored shape */
    long size;    /* element count */
    float *value; /* the parameter */
    float *grad;  /* its gradient after the last backward (NULL with --infer-only) */
} nn_param;

/* Status codes: 0 is success, errors are negative. */
typedef enum nn_status {
    NN_OK = 0,
    NN_ERR_IO = -1,        /* the file could not be opened, read, written or renamed */
    NN_ERR_FORMAT = -2,    /* not a weight file (bad magic) or malformed structure */
    NN_ERR_VERSION = -3,   /* a weight file of another format version */
    NN_ERR_NETWORK = -4,   /* written by another network (name differs) */
    NN_ERR_SHAPE = -5,     /* tensor count, names, ranks or dims differ */
    NN_ERR_CHECKSUM = -6,  /* CRC-32 mismatch: the file is damaged */
    NN_ERR_TRUNCATED = -7, /* the data ends early */
    NN_ERR_CAPACITY = -8,  /* the caller's buffer is too small */
    NN_ERR_ARG = -9        /* an invalid argument (NULL pointer, bad size) */
} nn_status;
#endif

/* A human-readable sentence for a status code (never NULL). */
NNRT_API const char *nnrt_strerror(int status);

/* ------------------------------------------------------------------ PRNG */
/* PCG32 (O'Neill, pcg_setseq_64_xsh_rr_32): 64-bit state, 64-bit stream
 * selector, 32-bit output. Seeding: state = 0, inc = (stream << 1) | 1,
 * step, state += seed, step (the reference pcg32_srandom_r). The same seed and
 * stream give the same numbers on every platform. */
typedef struct nnrt_rng {
    uint64_t state;
    uint64_t inc;
} nnrt_rng;

NNRT_API void nnrt_rng_seed(nnrt_rng *r, uint64_t seed, uint64_t stream);
NNRT_API uint32_t nnrt_rng_u32(nnrt_rng *r);
/* Uniform in [0, 1): the top 24 bits of one u32, times 2^-24 (exact in float). */
NNRT_API float nnrt_rng_uniform(nnrt_rng *r);
/* Standard normal, Marsaglia's polar method in double precision with the
 * runtime's own logarithm (so no libm result can differ between platforms);
 * the second value of each pair is kept in no state: each call draws afresh. */
NNRT_API float nnrt_rng_normal(nnrt_rng *r);

/* ----------------------------------------------------------- initializers */
/* fan_in / fan_out as docs/language.md computes them (the compiler passes them). */
NNRT_API void nnrt_init_fill(float *w, long n, float v);
/* w = src (the start values nngen --weights embeds in a training build) */
NNRT_API void nnrt_init_copy(float *w, const float *src, long n);
NNRT_API void nnrt_init_uniform(nnrt_rng *r, float *w, long n, float a, float b); /* a + (b-a)*u */
NNRT_API void nnrt_init_normal(nnrt_rng *r, float *w, long n, float mean, float std);
/* U(-s, s), s = sqrt(6 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_uniform(nnrt_rng *r, float *w, long n, long fan_in, long fan_out);
/* N(0, s), s = sqrt(2 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_normal(nnrt_rng *r, float *w, long n, long fan_in, long fan_out);
/* U(-s, s), s = sqrt(2) * sqrt(3 / fan_in) = sqrt(6 / fan_in) */
NNRT_API void nnrt_init_he_uniform(nnrt_rng *r, float *w, long n, long fan_in);
/* N(0, s), s = sqrt(2 / fan_in) */
NNRT_API void nnrt_init_he_normal(nnrt_rng *r, float *w, long n, long fan_in);

/* ------------------------------------------------- libm replacements */
/* `nngen --freestanding` output may call four libm functions only: expf,
 * logf, tanhf and sqrtf. Every other maths function generated code would
 * call is routed here instead (the table is compiler/emit/emit.c's libm_names), computed
 * with +, -, *, / and those four. Accuracy against a correctly rounded
 * result: nnrt_sqrt exact (correctly rounded, as IEEE 754 requires of
 * sqrt); nnrt_exp, nnrt_pow within a few ulps of double; the float
 * functions within 2 ulps (nnrt_erff and nnrt_powf are evaluated in double
 * precision: slow where double is emulated in software, e.g. Cortex-M4). */
NNRT_API float nnrt_fabsf(float x);            /* |x|: the sign bit cleared */
NNRT_API float nnrt_fmaxf(float a, float b);   /* C99 fmaxf: a NaN loses to a number */
NNRT_API float nnrt_fminf(float a, float b);   /* C99 fminf */
NNRT_API float nnrt_expm1f(float x);           /* e^x - 1, accurate near 0 */
NNRT_API float nnrt_log1pf(float x);           /* ln(1 + x), accurate near 0 */
NNRT_API float nnrt_erff(float x);             /* the error function */
NNRT_API float nnrt_powf(float x, float y);    /* x^y, C99's special cases */
NNRT_API double nnrt_sqrt(double x);           /* correctly rounded square root */
NNRT_API double nnrt_exp(double x);            /* e^x */
NNRT_API double nnrt_pow(double x, double y);  /* x^y, C99's special cases */
NNRT_API double nnrt_floor(double x);          /* the largest integer <= x, exact */
NNRT_API double nnrt_fmod(double x, double y); /* x - n y, n = trunc(x / y): exact, as C99's */
NNRT_API double nnrt_cos(double x);            /* cosine; arguments up to 1e6 (the schedules') */
NNRT_API float nnrt_sinhf(float x);            /* hyperbolic sine */
/* Zeroes n bytes through a volatile pointer: never turned into a call of
 * memset, which a freestanding program need not have. */
NNRT_API void nnrt_zero_bytes(void *p, size_t n);

/* ---------------------------------------------------------------- kernels */
/* C = alpha * op(A) * op(B) + beta * C, row-major, single precision.
 * op(A) is M x K: A is M x K with leading dimension lda, or K x M when ta.
 * op(B) is K x N: B is K x N (ldb), or N x K when tb. C is M x N (ldc).
 * beta == 0 ignores C's old contents (NaN included); alpha == 0 or K == 0
 * reads neither A nor B. Impossible sizes (M, N or K negative, a leading
 * dimension below its row length) leave C untouched. */
NNRT_API void nnrt_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                         int ldb, float beta, float *C, int ldc);
/* The fast GEMM, for generated code: the same product as nnrt_sgemm, with a
 * caller-provided workspace of nnrt_sgemm_ws_size(M, N, K) floats (the
 * runtime never allocates) for packed copies of the operands. work == NULL
 * falls back to nnrt_sgemm's unpacked loops; a product of one row (M = 1)
 * needs none (size 0). epi, when not NULL, is called
 * once for every block of C as soon as the block holds its final value:
 * epi(ctx, i0, rows, j0, cols) may then read and rewrite C[i0.., j0..]
 * (an elementwise epilogue, e.g. bias and activation, while the block is in
 * cache). The size depends only on M, N and K and grows with each, so a
 * workspace for the largest sizes serves every smaller product. */
typedef void (*nnrt_epilogue)(void *ctx, int i0, int rows, int j0, int cols);
NNRT_API long nnrt_sgemm_ws_size(int M, int N, int K);
NNRT_API void nnrt_sgemm_ws(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                            int ldb, float beta, float *C, int ldc, float *work, nnrt_epilogue epi, void *ctx);
/* A matrix that several one-row products read (a recurrent layer's W_hh,
 * once per step) packed once: nnrt_pack_cols copies B (K x N, rows ldb
 * apart) into Bp (K N floats) as column panels of 128 (the last narrower),
 * each K rows of its width, contiguous, so that the matrix-vector kernel
 * reads one stream instead of 128-column pieces of rows. nnrt_sgemm_packed
 * is nnrt_sgemm_ws(0, 0, M, N, K, ...) with B = op(B) not transposed, that
 * reads Bp instead of B when M = 1 (the same sums in the same order: the
 * result is bit for bit nnrt_sgemm_ws's). The Cortex-M4F, without a cache,
 * reads B in place: there nnrt_pack_cols copies nothing and Bp is unused. */
NNRT_API void nnrt_pack_cols(int K, int N, const float *B, int ldb, float *Bp);
NNRT_API void nnrt_sgemm_packed(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                                const float *Bp, float beta, float *C, int ldc, float *work, nnrt_epilogue epi,
                                void *ctx);
/* Marks a generated loop whose iterations are independent: each writes its
 * own element and reads no other iteration's (`#pragma GCC ivdep`). gcc -O2
 * vectorizes only where it can prove that without a runtime overlap check
 * (its "very cheap" cost model), and it cannot tell an arena block from a
 * parameter in the same struct: an epilogue's `h[i * 16 + j] = tanh(h[...]
 * + bias[j])` stayed scalar at -O2. Empty elsewhere: clang -O2 and gcc -O3
 * add the check themselves. */
#if defined(__GNUC__) && !defined(__clang__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))
#define NNRT_IVDEP _Pragma("GCC ivdep")
#else
#define NNRT_IVDEP
#endif
/* tanh for generated loops: branch-free float arithmetic (selects, no libm
 * call), so that gcc and clang vectorize a loop over it, where glibc's
 * tanhf is a scalar call 15x slower. |x| < 0.3: the odd Taylor polynomial
 * to x^11; beyond: (1 - e) / (1 + e), e = exp(-2 |x|) (|x| clamped at 10,
 * where tanh is 1 in float) from 2^k and a degree-7 polynomial; the sign
 * copied back. At most 2.2 ulp from the exact value over all floats (a
 * unit test sweeps them); odd; NaN gives NaN, +-inf gives +-1. It must be
 * inline to vectorize, so it lives in this header (static inline). */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#endif
/* always inlined where the compiler allows: a call cannot vectorize, and gcc
 * stops inlining plain `static inline` functions in a large file (an LSTM
 * unrolled over 28 steps called nnrt_tanhf out of line 222 times) */
#if defined(__GNUC__)
#define NNRT_ELEMENTWISE static inline __attribute__((always_inline))
#else
#define NNRT_ELEMENTWISE static inline
#endif
NNRT_ELEMENTWISE float nnrt_tanhf(float x) {
    union {
        float f;
        uint32_t u;
    } v, e;
    float a, ac, a2, p, y, kf, r, q, t, big;
    uint32_t sign;
    v.f = x;
    sign = v.u & 0x80000000u;
    v.u &= 0x7fffffffu;
    a = v.f;
    /* tanh a = a - a^3/3 + 2a^5/15 - 17a^7/315 + 62a^9/2835 - 1382a^11/155925 */
    a2 = a * a;
    p = a +
        a * a2 *
            (-0.333333333f + a2 * (0.133333333f + a2 * (-0.0539682540f + a2 * (0.0218694885f + a2 * -0.00886323552f))));
    /* e = 2^k exp(r), y = k ln2 + r, k = round(y / ln2) (adding 1.5 * 2^23
     * rounds to an integer), ln2 split in two for an exact k ln2 */
    ac = a < 10.0f ? a : 10.0f; /* NaN becomes 10 here, and is put back below */
    y = -2.0f * ac;
    kf = (y * 1.44269504f + 12582912.0f) - 12582912.0f;
    r = (y - kf * 0.693359375f) - kf * -2.12194440e-4f;
    q = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f +
                                            r * (0.0416666667f +
                                                 r * (0.00833333333f + r * (0.00138888889f + r * 0.000198412698f))))));
    e.u = (uint32_t)((int32_t)kf + 127) << 23;
    t = q * e.f;
    big = (1.0f - t) / (1.0f + t);
    v.f = a < 0.3f ? p : big;
    v.u |= sign;
    return a == a ? v.f : x;
}
/* sigmoid for generated loops, by the same means: e = exp(-|x|) from 2^k
 * and the degree-7 polynomial above (|x| clamped at 87, where e is still a
 * normal float), then 1 / (1 + e) for x >= 0 and e / (1 + e) below, so
 * that neither side loses digits. Beyond |x| = 87 it is 1 or 0 (the exact
 * value below -87.3 is subnormal; 1 / (1 + expf(-x)) gives 0 from -88.7).
 * Within 2.5 ulp elsewhere (a unit test sweeps the floats); -0 gives 0.5,
 * NaN gives NaN, +-inf gives 1 and 0. libm's expf is a scalar call: a
 * loop over 1 / (1 + expf(-x)) does not vectorize. */
NNRT_ELEMENTWISE float nnrt_sigmoidf(float x) {
    union {
        float f;
        uint32_t u;
    } e;
    float a, ac, y, kf, r, q, t, s;
    a = x < 0.0f ? -x : x;
    ac = a < 87.0f ? a : 87.0f; /* NaN becomes 87 here, and is put back below */
    y = -ac;
    kf = (y * 1.44269504f + 12582912.0f) - 12582912.0f;
    r = (y - kf * 0.693359375f) - kf * -2.12194440e-4f;
    q = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f +
                                            r * (0.0416666667f +
                                                 r * (0.00833333333f + r * (0.00138888889f + r * 0.000198412698f))))));
    e.u = (uint32_t)((int32_t)kf + 127) << 23;
    t = q * e.f;
    s = (x < 0.0f ? t : 1.0f) / (1.0f + t);
    s = a > 87.0f ? (x < 0.0f ? 0.0f : 1.0f) : s;
    return x == x ? s : x;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

/* 1 when every x[i] is finite. */
NNRT_API int nnrt_all_finite(const float *x, long n);

/* --------------------------------------------------------- weight format */
/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) continuing from crc; as
 * zlib's crc32(crc, data, n): start with 0. */
NNRT_API uint32_t nnrt_crc32(uint32_t crc, const void *data, size_t n);
/* Bytes of the weight file (docs/c-api.md layout) for these tensors; 0 when they
 * cannot be described (NULL name, rank outside 0..4, size != product of dims,
 * NULL value with size > 0, negative count). */
NNRT_API size_t nnrt_weights_size(const char *net, const nn_param *params, int np, const nn_param *bufs, int nb);
/* Writes the weight file into buf; returns the byte count, NN_ERR_CAPACITY
 * (buf untouched) or NN_ERR_ARG. */
NNRT_API long nnrt_export(const char *net, const nn_param *params, int np, const nn_param *bufs, int nb, void *buf,
                          size_t cap);
/* Validates the whole image (magic, version, network name, tensor count,
 * names, ranks, dims, length, CRC) and only then copies the values into
 * params[i].value / bufs[i].value: on any error nothing is written. A
 * tensor whose value is NULL (a const one of an nngen --weights training
 * build) is checked like the others and not written.
 * When several errors apply: FORMAT (magic), VERSION, then the structure is
 * walked with the file's own lengths: TRUNCATED (ends early), FORMAT (bytes
 * after the CRC), CHECKSUM, and only for an intact image NETWORK, SHAPE.
 * So damage reports CHECKSUM even where it hits a name. */
NNRT_API int nnrt_import(const char *net, nn_param *params, int np, nn_param *bufs, int nb, const void *buf,
                         size_t len);

/* ------------------------------------------- convolution and pooling (cnn) */
/* Images are NCHW: n samples of [c, h, w], row-major. These are the only
 * kernels of conv2d / maxpool2d / avgpool2d; the generated code calls them
 * with the geometry written out as a compound literal, so a faster kernel
 * needs no change to the compiler unless its scratch size changes, and the
 * compiler asks nnrt_conv2d_scratch for that too.
 *
 * A 2-D convolution: input [c, h, w], weight [f, c / groups, kh, kw] (the
 * PyTorch layout), output [f, oh, ow] with oh = floor((h + 2 ph - kh) / sh)
 * + 1 and ow likewise. Group g reads input channels [g c/G, (g+1) c/G) and
 * writes filters [g f/G, (g+1) f/G). No bias: the compiler adds it. */
typedef struct nnrt_conv2d {
    int c, h, w; /* input channels, height, width (one sample) */
    int f;       /* filters: output channels */
    int kh, kw;  /* kernel height and width, >= 1 */
    int sh, sw;  /* strides, >= 1 */
    int ph, pw;  /* zero padding on each side, >= 0 */
    int groups;  /* >= 1, divides c and f */
    /* Blocked unfolding (nnrt_conv2d_block picks these; 0, 0: the whole
     * unfolded input of a sample at once): the kernels unfold and multiply
     * `band` output pixels and `chunk` rows of the unfolded input (channel,
     * kernel row, kernel column) at a time, so that their scratch holds one
     * block instead of c/groups kh kw x oh ow floats. 0 means all of them. */
    int band, chunk;
} nnrt_conv2d;

/* The three passes of a convolution, for nnrt_conv2d_scratch. */
enum { NNRT_CONV2D_FORWARD, NNRT_CONV2D_BACKWARD_INPUT, NNRT_CONV2D_BACKWARD_WEIGHT };

/* Output height / width; 0 when the geometry is invalid (a size below 1, a
 * negative pad, groups not dividing c and f, a kernel larger than the padded
 * input). Every function below does nothing for an invalid geometry or n < 1. */
NNRT_API int nnrt_conv2d_oh(const nnrt_conv2d *g);
NNRT_API int nnrt_conv2d_ow(const nnrt_conv2d *g);
/* Floats of scratch memory a pass needs for calls of up to max_n samples
 * (0: it takes NULL); -1 for an invalid geometry. */
NNRT_API long nnrt_conv2d_scratch(const nnrt_conv2d *g, int pass, int max_n);
/* g with band and chunk chosen for calls of up to max_n samples: 0, 0 (the
 * whole unfolding, fastest) unless its scratch is over 8192 floats (32 KB)
 * and larger than the input and output of a call (max_n samples of each);
 * then bands of at most 128 output pixels and chunks of at most 32
 * unfolded rows (multiples of 8 where they are split). An invalid geometry comes
 * back unchanged. */
NNRT_API nnrt_conv2d nnrt_conv2d_block(const nnrt_conv2d *g, int max_n);
/* y[s, o, i, j] = sum over the group's channels c' and (a, b) < (kh, kw) of
 *   w[o, c', a, b] * x[s, c, i sh - ph + a, j sw - pw + b]   (zero outside x) */
NNRT_API void nnrt_conv2d_forward(const nnrt_conv2d *g, int n, const float *x, const float *w, float *y,
                                  float *scratch);
/* dx = d(sum dy * y) / dx: the adjoint of the forward map in x (dx is
 * overwritten) */
NNRT_API void nnrt_conv2d_backward_input(const nnrt_conv2d *g, int n, const float *dy, const float *w, float *dx,
                                         float *scratch);
/* dw = d(sum dy * y) / dw, summed over the n samples (dw is overwritten) */
NNRT_API void nnrt_conv2d_backward_weight(const nnrt_conv2d *g, int n, const float *x, const float *dy, float *dw,
                                          float *scratch);

/* Pooling windows of kh x kw every (sh, sw), no padding: output [c, oh, ow]
 * with oh = floor((h - kh) / sh) + 1 (windows that do not fit are dropped). */
typedef struct nnrt_pool2d {
    int c, h, w; /* input channels, height, width (one sample) */
    int kh, kw;  /* window, >= 1, at most the input */
    int sh, sw;  /* strides, >= 1 */
} nnrt_pool2d;

/* y = the window maximum. A NaN in a window wins (PyTorch's rule). */
NNRT_API void nnrt_maxpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y);
/* dx = 0, then each window's dy goes to its first maximum in row-major
 * order (the element the forward pass chose), summed where windows
 * overlap. */
NNRT_API void nnrt_maxpool2d_backward(const nnrt_pool2d *p, int n, const float *x, const float *dy, float *dx);
/* y = the window sum / (kh kw) */
NNRT_API void nnrt_avgpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y);
/* dx = 0, then dy / (kh kw) added over each window */
NNRT_API void nnrt_avgpool2d_backward(const nnrt_pool2d *p, int n, const float *dy, float *dx);

#ifndef NN_FREESTANDING
/* ------------------------------------------------------ hosted: files */
/* Atomic save: writes "<path>.tmp", flushes, fsyncs, renames over path;
 * on any failure the old file is untouched and the temporary removed. */
NNRT_API int nnrt_save(const char *path, const char *net, const nn_param *params, int np, const nn_param *bufs, int nb);
/* Reads and validates the whole file (as nnrt_import, streaming, no
 * allocation) before it writes any tensor, then reads it again into the
 * tensors, checking the CRC once more. A NULL value: as nnrt_import. */
NNRT_API int nnrt_load(const char *path, const char *net, nn_param *params, int np, nn_param *bufs, int nb);
#endif

/* Pretrained weights (fine-tuning): from a weight image of any network, copy
 * every tensor whose name, rank and dims equal one of ts[0..nt) (the tensors
 * the model may write); the rest of the image is skipped. The whole image is
 * checked first (magic, version, structure, length, CRC; not the network
 * name): on error nothing is written. Returns the number of tensors copied
 * (>= 0) or a negative status. */
NNRT_API int nnrt_import_pretrained(const nn_param *ts, int nt, const void *buf, size_t len);
#ifndef NN_FREESTANDING
NNRT_API int nnrt_load_pretrained(const char *path, const nn_param *ts, int nt);
#endif

#endif
