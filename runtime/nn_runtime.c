/*
 * nn_runtime.c - the runtime behind nn_runtime.h: PRNG, initializers, GEMM,
 * finiteness check, CRC-32, the weight format, convolution and pooling
 * kernels, and (hosted only) weight files and the IDX / CSV data loaders.
 *
 * Invariants:
 *   - no malloc, no file-scope mutable state, no rand(): all state lives in
 *     caller-owned structs or on the stack (at most ~1 KiB per call outside the
 *     hosted section, ~8 KiB in nnrt_save / nnrt_load);
 *   - outside the `#ifndef NN_FREESTANDING` sections no libc is used, only
 *     <math.h>'s sqrtf (correctly rounded by IEEE 754), and expf and logf in
 *     the libm replacements nnrt_expm1f and nnrt_log1pf; no call of memset
 *     or memcpy either (compilers turn some loops into them: see the fences);
 *   - every definition starts with NNRT_API (external linkage in the library,
 *     `static inline` when `nngen --standalone` pastes this file after the
 *     header); internal helpers are plain `static inline`;
 *   - the PRNG, normal deviates and initializers give bit-identical results
 *     on every platform with IEEE-754 binary32/binary64 arithmetic: integers,
 *     exact operations, one rounding per operation (nnrt_fence_* below stop
 *     FMA contraction and excess precision) and the runtime's own logarithm;
 *   - weight images are little-endian byte by byte, whatever the host.
 *
 * Weight image status codes (nnrt_import, nnrt_load): the image is walked in
 * file order. A bad magic (FORMAT) or format version (VERSION) stops the walk
 * at once, since nothing after them can be trusted. Otherwise the structure is
 * walked to its end using the file's own lengths: data ending early gives
 * TRUNCATED, bytes after the CRC give FORMAT; then the CRC is compared
 * (CHECKSUM); only an intact image is compared with the caller's network:
 * the name (NETWORK), then counts, names, ranks and dims (SHAPE). So a
 * damaged file whose structure is intact reports CHECKSUM even when the
 * damage hit a name, and a healthy file of another network reports NETWORK.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(NN_FREESTANDING)
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef NN_RUNTIME_H
#include "nn_runtime.h"
#endif
#include <math.h>
#ifndef NN_FREESTANDING
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#endif

/* Pasted with NNRT_API = static inline, unused runtime functions must not
 * warn: clang (unlike gcc) flags unused static inline functions of the main
 * file. The matching pop is at the end of the file. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#endif

/* LONG_MAX without <limits.h>: freestanding output includes <stdint.h>,
 * <stddef.h> and <math.h> only. */
#define NNRT_LONG_MAX ((long)(~0UL >> 1))

enum {
    NNRT_GEMM_NC = 256,  /* columns of C per block in the op(B) = B kernel */
    NNRT_GEMM_KC = 256,  /* length of the op(A) row chunk in the B^T kernel */
    NNRT_IO_CHUNK = 4096 /* stack staging buffer of the file functions */
};

NNRT_API const char *nnrt_strerror(int status)
{
    switch (status) {
    case NN_OK: return "success";
    case NN_ERR_IO: return "the file could not be opened, read, written or renamed";
    case NN_ERR_FORMAT: return "not a valid file of the expected format";
    case NN_ERR_VERSION: return "the weight file has another format version";
    case NN_ERR_NETWORK: return "the weight file was written by another network";
    case NN_ERR_SHAPE: return "the tensor count, names, ranks or dims differ";
    case NN_ERR_CHECKSUM: return "CRC-32 mismatch: the file is damaged";
    case NN_ERR_TRUNCATED: return "the data ends early";
    case NN_ERR_CAPACITY: return "the buffer is too small";
    case NN_ERR_ARG: return "invalid argument";
    default: return "unknown status code";
    }
}

/* ------------------------------------------------------------- bit tools */
/* Type punning through a union is defined in C99 (TC3, 6.5.2.3 note 82). */
static inline uint32_t nnrt_f2u(float f)
{
    union { float f; uint32_t u; } c;
    c.f = f;
    return c.u;
}

static inline float nnrt_u2f(uint32_t u)
{
    union { float f; uint32_t u; } c;
    c.u = u;
    return c.f;
}

/* A value forced through memory: the compiler can neither fuse the product
 * that produced it into an FMA (gcc contracts across statements outside
 * strict ISO modes, clang within expressions) nor keep excess precision. */
static inline double nnrt_fence_d(double x)
{
    volatile double v = x;
    return v;
}

static inline float nnrt_fence_f(float x)
{
    volatile float v = x;
    return v;
}

/* Length of s, at most UINT32_MAX (what a u32 length field can hold). The
 * bound also keeps gcc from replacing the loop by a call to strlen. */
static inline size_t nnrt_strlen(const char *s)
{
    size_t n = 0;
    while (n < 0xffffffffu && s[n] != '\0')
        n++;
    return n;
}

static inline void nnrt_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)((v >> 24) & 0xffu);
}

static inline uint32_t nnrt_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ PRNG */
/* pcg32_srandom_r: state = 0, inc = 2 stream + 1, step, state += seed, step. */
NNRT_API void nnrt_rng_seed(nnrt_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0u;
    r->inc = (stream << 1) | 1u;
    (void)nnrt_rng_u32(r);
    r->state += seed;
    (void)nnrt_rng_u32(r);
}

/* pcg32_random_r (XSH RR): state' = state * 6364136223846793005 + inc;
 * output = rotr32((uint32)(((old >> 18) ^ old) >> 27), old >> 59). */
NNRT_API uint32_t nnrt_rng_u32(nnrt_rng *r)
{
    uint64_t old = r->state;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    r->state = old * UINT64_C(6364136223846793005) + r->inc;
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}

/* u = (x >> 8) * 2^-24: 24 bits fit a float's significand, so u is exact
 * and lies in [0, 1 - 2^-24]. */
NNRT_API float nnrt_rng_uniform(nnrt_rng *r)
{
    return (float)(nnrt_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* ln x for finite x > 0 with +, -, *, / only (bit-identical everywhere):
 *   x = m 2^e with m in [sqrt(1/2), sqrt(2)), read from the bits of x;
 *   ln m = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (m-1)/(m+1),
 *     |t| <= 0.1716, cut after t^23: the first omitted term is below
 *     2e-20 relative to t;
 *   ln x = e ln2_hi + (ln m + e ln2_lo), fdlibm's split of ln 2 (ln2_hi has
 *     32 significant bits, so e ln2_hi is exact).
 * Error about 1 ulp of double. */
static inline double nnrt_log(double x)
{
    union { double d; uint64_t u; } b;
    double m, t, t2, p;
    int e, k;
    b.d = x;
    e = (int)((b.u >> 52) & 0x7ffu);
    if (e == 0) { /* subnormal: scale by 2^54 first */
        b.d = x * 18014398509481984.0;
        e = (int)((b.u >> 52) & 0x7ffu) - 54;
    }
    e -= 1023;
    b.u = (b.u & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
    m = b.d; /* in [1, 2) */
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    t = (m - 1.0) / (m + 1.0);
    t2 = t * t;
    p = 1.0 / 23.0;
    for (k = 21; k >= 1; k -= 2)
        p = nnrt_fence_d(p * t2) + 1.0 / (double)k;
    return (double)e * 6.93147180369123816490e-01 +
           (2.0 * nnrt_fence_d(t * p) + nnrt_fence_d((double)e * 1.90821492927058770002e-10));
}

/* ----------------------------------------------------- libm replacements */
/* e^x for finite x with +, -, *, / only (Cody and Waite's reduction):
 *   k = round(x / ln 2), r = (x - k ln2_hi) - k ln2_lo, |r| <= 0.347
 *   (ln2_hi has 32 significant bits, so k ln2_hi is exact for |k| < 2^21);
 *   e^r by its Taylor series to r^14 / 14! (the first omitted term is below
 *   1e-19), then times 2^k, built from the exponent bits (in two steps
 *   where 2^k alone is not a normal double). */
NNRT_API double nnrt_exp(double x)
{
    union { double d; uint64_t u; } s;
    double r, p;
    int k, i;
    if (x != x)
        return x;
    if (x > 709.782712893384)
        return HUGE_VAL;
    if (x < -745.1332191019412)
        return 0.0;
    p = x * 1.4426950408889634;
    k = (int)(p < 0.0 ? p - 0.5 : p + 0.5);
    r = (x - (double)k * 6.93147180369123816490e-01) - (double)k * 1.90821492927058770002e-10;
    p = 1.0; /* 1 + r (1 + r/2 (1 + r/3 (... (1 + r/14)))) */
    for (i = 14; i >= 1; i--)
        p = p * r / (double)i + 1.0;
    if (k > 1000) {
        s.u = (uint64_t)(1000 + 1023) << 52;
        p *= s.d;
        k -= 1000;
    } else if (k < -1000) {
        s.u = (uint64_t)(-1000 + 1023) << 52;
        p *= s.d;
        k += 1000;
    }
    s.u = (uint64_t)(k + 1023) << 52;
    return p * s.d;
}

/* Digit-by-digit square root, two bits of the radicand per bit of the
 * root, all in integers, then rounded to nearest even: the correctly
 * rounded result, as libm's sqrt must give it.
 *   x = m 2^e with m an integer in [2^52, 2^54) and e even;
 *   s = floor(sqrt(m 2^54)) has 54 bits: 53 for the result and a rounding
 *   bit; the remainder says whether anything lies below it (sticky). */
NNRT_API double nnrt_sqrt(double x)
{
    union { double d; uint64_t u; } b;
    uint64_t m, q = 0, r = 0, t;
    int e, i;
    if (x != x || x == 0.0 || x > 1.7976931348623157e308)
        return x; /* NaN, +-0, +inf */
    if (x < 0.0)
        return NAN;
    b.d = x;
    e = (int)(b.u >> 52);
    m = b.u & UINT64_C(0x000fffffffffffff);
    if (e == 0) { /* subnormal: normalize */
        e = 1;
        while (!(m & (UINT64_C(1) << 52))) {
            m <<= 1;
            e--;
        }
    } else {
        m |= UINT64_C(1) << 52;
    }
    e -= 1075;
    if (e & 1) {
        m <<= 1;
        e--;
    }
    for (i = 53; i >= 0; i--) { /* bit pair i of m 2^54, from the top */
        r = r << 2 | (2 * i >= 54 ? (m >> (2 * i - 54)) & 3u : 0u);
        t = q << 2 | 1u;
        q <<= 1;
        if (r >= t) {
            r -= t;
            q |= 1u;
        }
    }
    m = q >> 1;
    if ((q & 1u) && (r != 0u || (m & 1u)))
        m++;
    e = (e - 52) / 2; /* the result is m 2^e */
    if (m >> 53) {
        m >>= 1;
        e++;
    }
    b.u = (uint64_t)(e + 1075) << 52 | (m & UINT64_C(0x000fffffffffffff));
    return b.d;
}

/* x^y = e^(y ln|x|) in double, with C99's special cases: x^0 = 1^y = 1,
 * NaN in NaN out, 0^y and inf^y by the sign of y, a negative x only with
 * an integer y (the sign from its parity; otherwise NaN). */
NNRT_API double nnrt_pow(double x, double y)
{
    double ax = x < 0.0 ? -x : x, ay = y < 0.0 ? -y : y, r; /* ax of -0 is -0: == 0 */
    union { double d; uint64_t u; } b;
    int integer = 0, odd = 0;
    if (y == 0.0 || x == 1.0)
        return 1.0;
    if (x != x || y != y)
        return x + y;
    if (ay < 9007199254740992.0) { /* below 2^53: fraction or parity to find */
        int64_t yi = (int64_t)y;
        integer = (double)yi == y;
        odd = integer && (yi & 1);
    } else {
        integer = ay <= 1.7976931348623157e308; /* from 2^53 on, every double is even */
    }
    if (ay > 1.7976931348623157e308) /* y = +-inf */
        return ax == 1.0 ? 1.0 : (ax > 1.0) == (y > 0.0) ? HUGE_VAL : 0.0;
    if (x < 0.0 && !integer)
        return NAN;
    if (ax == 0.0 || ax > 1.7976931348623157e308)
        r = (ax == 0.0) == (y < 0.0) ? HUGE_VAL : 0.0;
    else
        r = nnrt_exp(y * nnrt_log(ax));
    b.d = x;
    return (b.u >> 63) && odd ? -r : r; /* -0 and odd y give -0 */
}

NNRT_API float nnrt_fabsf(float x)
{
    return nnrt_u2f(nnrt_f2u(x) & 0x7fffffffu);
}

NNRT_API float nnrt_fmaxf(float a, float b)
{
    return a != a ? b : b != b ? a : a > b ? a : b;
}

NNRT_API float nnrt_fminf(float a, float b)
{
    return a != a ? b : b != b ? a : a < b ? a : b;
}

/* floor by truncation through a 64-bit integer (every double of
 * magnitude below 2^52 converts exactly; those above are integers). */
NNRT_API double nnrt_floor(double x)
{
    double t;
    if (!(x > -4503599627370496.0 && x < 4503599627370496.0)) /* NaN, infinities, |x| >= 2^52 */
        return x;
    t = (double)(int64_t)x;
    return t > x ? t - 1.0 : t;
}

/* fmod is exact: binary long division of |x| by |y|, subtracting |y| 2^k
 * from the largest k down; each subtraction is exact (the operands are
 * within a factor 2), and halving m retraces the exact doublings. */
NNRT_API double nnrt_fmod(double x, double y)
{
    double ax = x < 0 ? -x : x, ay = y < 0 ? -y : y, m;
    if (x != x || y != y || ay == 0.0 || ax - ax != 0.0)
        return NAN; /* NaN operands, y = 0, x infinite */
    if (ay - ay != 0.0 || ax < ay) /* y infinite, or |x| < |y| */
        return x;
    m = ay;
    while (m <= ax * 0.5)
        m *= 2.0;
    for (; m >= ay; m *= 0.5) /* long division, one binary digit of the quotient a step */
        if (ax >= m)
            ax -= m;
    return x < 0 ? -ax : ax;
}

/* cos x: x = k pi/2 + r (Cody and Waite: pi/2 in three 33-bit parts, so
 * that k times each is exact for |k| < 2^20), then the Taylor series of
 * sin or cos of r, |r| <= pi/4, to the 19th or 18th power (error below
 * 1e-18), chosen and signed by k mod 4. */
NNRT_API double nnrt_cos(double x)
{
    static const double pio2_1 = 1.57079632673412561417e+00, pio2_2 = 6.07710050630396597660e-11,
                        pio2_3 = 2.02226624871116645580e-21;
    double k, r, r2, p;
    long q;
    int i;
    if (x != x || x - x != 0.0)
        return x - x; /* NaN for NaN and the infinities */
    k = nnrt_floor(x * 0.63661977236758134308 + 0.5);
    r = ((x - k * pio2_1) - k * pio2_2) - k * pio2_3;
    q = (long)nnrt_fmod(k, 4.0);
    if (q < 0)
        q += 4;
    r2 = r * r;
    p = 1.0;
    if (q % 2 == 0) { /* cos r = 1 - r^2/2! + r^4/4! - ... */
        for (i = 18; i >= 2; i -= 2)
            p = 1.0 - p * r2 / (double)(i * (i - 1));
    } else {          /* sin r = r (1 - r^2/3! + r^4/5! - ...) */
        for (i = 19; i >= 3; i -= 2)
            p = 1.0 - p * r2 / (double)(i * (i - 1));
        p *= r;
    }
    return q == 0 || q == 3 ? p : -p; /* cos r, -sin r, -cos r, sin r */
}

/* sinh x = (e^x - e^-x) / 2 in double (the cancellation costs at most
 * 2^-52 / |x| of relative accuracy: nothing in float beyond |x| = 2^-10),
 * and x + x^3/6 below (the next term is 2^-40 of it). */
NNRT_API float nnrt_sinhf(float x)
{
    double d = (double)x, t;
    if (x != x)
        return x;
    if (d > -0.0009765625 && d < 0.0009765625)
        return (float)(d + d * d * d / 6.0);
    t = nnrt_exp(d < 0 ? -d : d);
    t = 0.5 * (t - 1.0 / t);
    return (float)(d < 0 ? -t : t);
}

/* Kahan's e^x - 1: with u = expf(x), (u - 1) x / ln u cancels the rounding
 * error of u, where u - 1 alone would lose it. */
NNRT_API float nnrt_expm1f(float x)
{
    float u = expf(x), um1;
    if (u == 1.0f)
        return x; /* |x| below an ulp: e^x - 1 rounds to x (+-0 too) */
    um1 = u - 1.0f;
    if (um1 == -1.0f)
        return -1.0f;
    if (u > 3.40282347e38f)
        return u; /* +inf */
    return um1 * (x / logf(u)); /* x / ln u is near 1: no overflow near expf's limit */
}

/* Goldberg's ln(1 + x): with u = 1 + x, ln(u) x / (u - 1) cancels the
 * rounding error of u. */
NNRT_API float nnrt_log1pf(float x)
{
    float u = 1.0f + x;
    if (u == 1.0f)
        return x;
    if (u > 3.40282347e38f)
        return u; /* +inf */
    return logf(u) * (x / (u - 1.0f));
}

/* erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1)), summed in double
 * until a term no longer changes the sum (about 90 terms at most; the
 * largest, near n = x^2, cost at most 5 of double's 16 digits through
 * cancellation). For |x| >= 4 the result is +-1: erfc(4) = 1.5e-8 is below
 * half an ulp of 1.0f. */
NNRT_API float nnrt_erff(float x)
{
    double xd = x, x2 = xd * xd, term = xd, sum = xd, c;
    int n;
    if (x != x)
        return x;
    if (x >= 4.0f || x <= -4.0f)
        return x > 0.0f ? 1.0f : -1.0f;
    for (n = 1; n < 200; n++) {
        term = -term * x2 / (double)n;
        c = term / (double)(2 * n + 1);
        sum += c;
        if ((c < 0.0 ? -c : c) < 1e-17 * (sum < 0.0 ? -sum : sum))
            break;
    }
    return (float)(sum * 1.1283791670955126);
}

/* In double, rounded once to float. */
NNRT_API float nnrt_powf(float x, float y)
{
    return (float)nnrt_pow((double)x, (double)y);
}

NNRT_API void nnrt_zero_bytes(void *p, size_t n)
{
    volatile unsigned char *b = (volatile unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        b[i] = 0;
}

/* Marsaglia's polar method: v1, v2 uniform in [-1, 1) from 32 bits each
 * (v = x 2^-31 - 1, exact), s = v1^2 + v2^2, rejected unless 0 < s < 1;
 * then v1 sqrt(-2 ln s / s) is N(0, 1). The pair's second deviate,
 * v2 sqrt(...), is dropped: no state is kept between calls.
 * The square root is the runtime's own, correctly rounded as IEEE 754
 * requires of sqrt, so it is the same on every platform, with or without
 * a libm. */
NNRT_API float nnrt_rng_normal(nnrt_rng *r)
{
    double v1, v2, s;
    do {
        v1 = (double)nnrt_rng_u32(r) * (1.0 / 2147483648.0) - 1.0;
        v2 = (double)nnrt_rng_u32(r) * (1.0 / 2147483648.0) - 1.0;
        s = nnrt_fence_d(v1 * v1) + nnrt_fence_d(v2 * v2);
    } while (s >= 1.0 || s == 0.0);
    return (float)(v1 * nnrt_sqrt(-2.0 * nnrt_log(s) / s));
}

/* ----------------------------------------------------------- initializers */
/* v is fenced so that an inlined call with v = 0 does not become memset. */
NNRT_API void nnrt_init_fill(float *w, long n, float v)
{
    const float x = nnrt_fence_f(v);
    long i;
    for (i = 0; i < n; i++)
        w[i] = x;
}

/* w = a + (b - a) u, u = nnrt_rng_uniform: in [a, b] (b only by rounding). */
NNRT_API void nnrt_init_uniform(nnrt_rng *r, float *w, long n, float a, float b)
{
    float d = b - a;
    long i;
    for (i = 0; i < n; i++)
        w[i] = a + nnrt_fence_f(d * nnrt_rng_uniform(r));
}

/* w = mean + std z, z = nnrt_rng_normal. */
NNRT_API void nnrt_init_normal(nnrt_rng *r, float *w, long n, float mean, float std)
{
    long i;
    for (i = 0; i < n; i++)
        w[i] = mean + nnrt_fence_f(std * nnrt_rng_normal(r));
}

/* sqrt(num / fan) in float (a fan below 1 counts as 1): one division and
 * sqrtf, both correctly rounded, so the scale is the same everywhere. */
static inline float nnrt_fan_scale(float num, long fan)
{
    return sqrtf(num / (float)(fan > 0 ? fan : 1));
}

/* U(-s, s), s = sqrt(6 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_uniform(nnrt_rng *r, float *w, long n, long fan_in, long fan_out)
{
    float s = nnrt_fan_scale(6.0f, fan_in + fan_out);
    nnrt_init_uniform(r, w, n, -s, s);
}

/* N(0, s), s = sqrt(2 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_normal(nnrt_rng *r, float *w, long n, long fan_in, long fan_out)
{
    nnrt_init_normal(r, w, n, 0.0f, nnrt_fan_scale(2.0f, fan_in + fan_out));
}

/* U(-s, s), s = sqrt(6 / fan_in) */
NNRT_API void nnrt_init_he_uniform(nnrt_rng *r, float *w, long n, long fan_in)
{
    float s = nnrt_fan_scale(6.0f, fan_in);
    nnrt_init_uniform(r, w, n, -s, s);
}

/* N(0, s), s = sqrt(2 / fan_in) */
NNRT_API void nnrt_init_he_normal(nnrt_rng *r, float *w, long n, long fan_in)
{
    nnrt_init_normal(r, w, n, 0.0f, nnrt_fan_scale(2.0f, fan_in));
}

/* ---------------------------------------------------------------- kernels */
/* C = beta C on M x N. beta == 0 stores zeros without reading C (NaN in C
 * must not survive). The zero comes through nnrt_fence_f so that compilers
 * cannot turn the loop into a memset call, which a freestanding build would
 * have to provide. */
static inline void nnrt_gemm_scale(int M, int N, float beta, float *C, int ldc)
{
    int i, j;
    if (beta == 1.0f)
        return;
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
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
static inline void nnrt_gemm_bn4(int K, int nc, float alpha, const float *A, size_t sai,
                                 size_t sak, const float *B, int ldb, float *C, int ldc)
{
    float *restrict c0 = C;
    float *restrict c1 = C + ldc;
    float *restrict c2 = C + 2 * (size_t)ldc;
    float *restrict c3 = C + 3 * (size_t)ldc;
    int k, j;
    for (k = 0; k < K; k++) {
        const float *restrict b = B + (size_t)k * ldb;
        const float *a = A + k * sak;
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
static inline void nnrt_gemm_bn1(int K, int nc, float alpha, const float *A, size_t sak,
                                 const float *B, int ldb, float *C)
{
    float *restrict c = C;
    int k, j;
    for (k = 0; k < K; k++) {
        const float *restrict b = B + (size_t)k * ldb;
        float a = alpha * A[k * sak];
        for (j = 0; j < nc; j++)
            c[j] += a * b[j];
    }
}

/* op(B) = B (K x N): C += alpha op(A) B, i-k-j order in blocks of four rows
 * and NNRT_GEMM_NC columns. Serves A (M x K) and A^T (A is K x M) alike
 * through the strides of op(A). */
static inline void nnrt_gemm_bn(int M, int N, int K, float alpha, const float *A, size_t sai,
                                size_t sak, const float *B, int ldb, float *C, int ldc)
{
    int i, j0, m4 = M - M % 4; /* the remainder loop starts at m4, not where the */
    for (j0 = 0; j0 < N; j0 += NNRT_GEMM_NC) { /* first stopped: see the note above */
        int nc = N - j0 < NNRT_GEMM_NC ? N - j0 : NNRT_GEMM_NC;
        for (i = 0; i < m4; i += 4)
            nnrt_gemm_bn4(K, nc, alpha, A + i * sai, sai, sak, B + j0, ldb,
                          C + (size_t)i * ldc + j0, ldc);
        for (i = m4; i < M; i++)
            nnrt_gemm_bn1(K, nc, alpha, A + i * sai, sak, B + j0, ldb, C + (size_t)i * ldc + j0);
    }
}

/* <x, y> with 16 independent partial sums (a reduction gcc vectorizes
 * without reassociating), added pairwise at the end. */
static inline float nnrt_dot(const float *restrict x, const float *restrict y, int n)
{
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
static inline void nnrt_gemm_bt(int M, int N, int K, float alpha, const float *A, size_t sai,
                                size_t sak, const float *B, int ldb, float *C, int ldc)
{
    float a[NNRT_GEMM_KC];
    const float al = nnrt_fence_f(alpha); /* alpha == 1 would make the gather a memcpy call */
    int i, j, k, k0;
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (k0 = 0; k0 < K; k0 += NNRT_GEMM_KC) {
            int kc = K - k0 < NNRT_GEMM_KC ? K - k0 : NNRT_GEMM_KC;
            for (k = 0; k < kc; k++)
                a[k] = al * A[i * sai + (k0 + k) * sak];
            if (kc < 16) { /* short products: sixteen partial sums would cost more than they save */
                for (j = 0; j < N; j++) {
                    const float *b = B + (size_t)j * ldb + k0;
                    float s = 0.0f;
                    for (k = 0; k < kc; k++)
                        s += a[k] * b[k];
                    c[j] += s;
                }
                continue;
            }
            for (j = 0; j < N; j++)
                c[j] += nnrt_dot(a, B + (size_t)j * ldb + k0, kc);
        }
    }
}


/* C = alpha op(A) op(B) + beta C. Sizes that cannot be valid (M, N or K
 * negative, a leading dimension below its row length) leave C untouched;
 * alpha == 0 or K == 0 reads neither A nor B (C = beta C). */
NNRT_API void nnrt_sgemm(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
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
    sai = ta ? 1 : lda;
    sak = ta ? lda : 1;
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
 * registers) for a whole KC panel; gcc -O3 vectorizes it for the target it
 * compiles for (-march=native: AVX-512; plain x86-64: SSE2, slower).
 * Measured on the reference machine (AVX-512, gcc 12 -O3 -march=native):
 * 6 x 32 beats 6 x 16 and 4 x 32; see bench/README.md.
 * Below NNRT_SMALL_FLOPS multiply-adds, and for a single row of C, packing
 * costs more than it saves: the unpacked loop kernels serve those. */
enum {
    NNRT_MR = 6,
    NNRT_NR = 32,
    NNRT_KC = 256,
    NNRT_MC = 120,
    NNRT_NC = 512,
    NNRT_SMALL_FLOPS = 16384 /* M N K below which the unpacked kernels run */
};

/* acc + a b. Strict ISO C modes (-std=c99) make gcc keep products and sums
 * apart (-ffp-contract=off); where the target has a fused multiply-add
 * (C99's FP_FAST_FMAF), fmaf is one instruction and gcc vectorizes it, which
 * doubles the kernels' throughput. Elsewhere fmaf would be a slow library
 * call: a product and a sum then. */
#if defined(FP_FAST_FMAF) && defined(__GNUC__)
#define NNRT_MADD(acc, a, b) __builtin_fmaf((a), (b), (acc)) /* an instruction even with -ffreestanding */
#elif defined(FP_FAST_FMAF)
#define NNRT_MADD(acc, a, b) fmaf((a), (b), (acc))
#else
#define NNRT_MADD(acc, a, b) ((acc) + (a) * (b))
#endif

static inline int nnrt_min(int a, int b)
{
    return a < b ? a : b;
}

static inline long nnrt_round_up(long x, long to)
{
    return (x + to - 1) / to * to;
}

NNRT_API long nnrt_sgemm_ws_size(int M, int N, int K)
{
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
static inline void nnrt_pack_a(int ta, int mc, int kc, const float *A, int lda, float *restrict ap)
{
    const float zero = nnrt_fence_f(0.0f), one = nnrt_fence_f(1.0f);
    int i0, r, k;
    for (i0 = 0; i0 < mc; i0 += NNRT_MR, ap += (ptrdiff_t)NNRT_MR * kc) {
        int mr = nnrt_min(NNRT_MR, mc - i0);
        if (ta && mr == NNRT_MR) { /* op(A)[i][k] = A[k lda + i]: rows of A are contiguous in i */
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
static inline void nnrt_pack_b(int tb, int kc, int nc, const float *B, int ldb, float *restrict bp)
{
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

/* The micro-kernel: t = ap bp over kc (an MR x NR tile; row k of the op(B)
 * panel at bp + k bs), then the mr x nr valid part of it into C:
 * C = alpha t + beta C (beta == 0: C not read). */
static inline void nnrt_micro(int kc, const float *restrict ap, const float *restrict bp, ptrdiff_t bs,
                              float *restrict C, int ldc, int mr, int nr, float alpha, float beta)
{
    float t[NNRT_MR][NNRT_NR];
    const float zero = nnrt_fence_f(0.0f);
    int i, j, k;
    for (i = 0; i < NNRT_MR; i++)
        for (j = 0; j < NNRT_NR; j++)
            t[i][j] = zero;
    for (k = 0; k < kc; k++) {
        const float *restrict a = ap + k * NNRT_MR;
        const float *restrict b = bp + k * bs;
        for (i = 0; i < NNRT_MR; i++)
            for (j = 0; j < NNRT_NR; j++)
                t[i][j] = NNRT_MADD(t[i][j], a[i], b[j]);
    }
    if (mr == NNRT_MR && nr == NNRT_NR) {
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

/* y = alpha op(A) x-row times op(B): one row of C (M == 1, op(A) = a row
 * with stride sak). op(B) = B: i-k-j over column chunks of 128 held in
 * registers; op(B) = B^T: one dot product per column. */
static inline void nnrt_gemv(int tb, int N, int K, float alpha, const float *a, ptrdiff_t sak, const float *B,
                      int ldb, float beta, float *c)
{
    enum { W = 128 };
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
        for (j = 0; j < W; j++)
            s[j] = zero;
        if (w == W) {
            for (k = 0; k < K; k++) {
                const float *restrict b = B + (ptrdiff_t)k * ldb + j0;
                const float ak = a[k * sak];
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

NNRT_API void nnrt_sgemm_ws(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc, float *work,
                            nnrt_epilogue epi, void *ctx)
{
    float *ap, *bp;
    int jc, pc, ic, jr, ir;
    if (M <= 0 || N <= 0 || K < 0 || ldc < N)
        return;
    if (alpha != 0.0f && K > 0 && (lda < (ta ? M : K) || ldb < (tb ? K : N)))
        return;
    if (alpha != 0.0f && K > 0 && M == 1) { /* one row: no packing, no workspace */
        nnrt_gemv(tb, N, K, alpha, A, ta ? lda : 1, B, ldb, beta, C);
    } else if (alpha == 0.0f || K == 0 || !work || (double)M * N * K < NNRT_SMALL_FLOPS) {
        nnrt_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
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
                                tb ? B + (ptrdiff_t)(jc + edge) * ldb + pc : B + (ptrdiff_t)pc * ldb + jc + edge,
                                ldb, bp);
                for (ic = 0; ic < M; ic += mstep) {
                    int mc = nnrt_min(mstep, M - ic);
                    nnrt_pack_a(ta, mc, kc, ta ? A + (ptrdiff_t)pc * lda + ic : A + (ptrdiff_t)ic * lda + pc,
                                lda, ap);
                    for (jr = 0; jr < nc; jr += NNRT_NR)
                        for (ir = 0; ir < mc; ir += NNRT_MR) {
                            int mr = nnrt_min(NNRT_MR, mc - ir), nr = nnrt_min(NNRT_NR, nc - jr);
                            const float *panel = jr < edge ? B + (ptrdiff_t)pc * ldb + jc + jr
                                                           : bp + (ptrdiff_t)(jr - edge) * kc;
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

/* x is finite <=> its exponent bits are not all ones. An OR over all
 * elements, without an early exit, so that the loop vectorizes. */
NNRT_API int nnrt_all_finite(const float *x, long n)
{
    uint32_t bad = 0;
    long i;
    for (i = 0; i < n; i++)
        bad |= (~nnrt_f2u(x[i]) & 0x7f800000u) == 0u;
    return bad == 0u;
}

/* --------------------------------------------------------- weight format */
/* CRC-32, IEEE 802.3 reflected polynomial 0xEDB88320, table-driven:
 * table[n] = n shifted right eight times, xoring the polynomial whenever a 1
 * falls out; crc' = table[(crc ^ byte) & 0xff] ^ (crc >> 8), with the
 * register inverted before and after (zlib's crc32: start from 0). */
static const uint32_t nnrt_crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

NNRT_API uint32_t nnrt_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    crc = ~crc;
    for (i = 0; i < n; i++)
        crc = nnrt_crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* A tensor can be described when its name is set, 0 <= rank <= 4, every dim
 * is >= 0 with product == size, and value is set when size > 0. */
static inline int nnrt_param_ok(const nn_param *p)
{
    long prod = 1;
    int i;
    if (!p->name || p->rank < 0 || p->rank > 4 || p->size < 0 || (p->size > 0 && !p->value))
        return 0;
    for (i = 0; i < p->rank; i++) {
        if (p->dims[i] < 0 || (p->dims[i] > 0 && prod > NNRT_LONG_MAX / p->dims[i]))
            return 0;
        prod *= p->dims[i];
    }
    return prod == p->size;
}

static inline int nnrt_group_ok(const nn_param *ps, int n)
{
    int i;
    if (n < 0 || (n > 0 && !ps))
        return 0;
    for (i = 0; i < n; i++)
        if (!nnrt_param_ok(&ps[i]))
            return 0;
    return 1;
}

/* u32 count, then per tensor: u32 + name, u32 rank, u32 dims[rank], f32 data */
static inline size_t nnrt_group_size(const nn_param *ps, int n)
{
    size_t total = 4;
    int i;
    for (i = 0; i < n; i++)
        total += 4 + nnrt_strlen(ps[i].name) + 4 + 4 * (size_t)ps[i].rank + 4 * (size_t)ps[i].size;
    return total;
}

/* magic, version, u32 + network name, parameters, buffers, CRC. 0 when the
 * arguments are invalid (a real image has at least 24 bytes). */
NNRT_API size_t nnrt_weights_size(const char *net, const nn_param *params, int np,
                                  const nn_param *bufs, int nb)
{
    if (!net || !nnrt_group_ok(params, np) || !nnrt_group_ok(bufs, nb))
        return 0;
    return 4 + 4 + 4 + nnrt_strlen(net) + nnrt_group_size(params, np) + nnrt_group_size(bufs, nb) + 4;
}

/* ---- writing: bytes go through a staging buffer; flush (hosted) empties it
 * into a file, without flush the buffer is the whole destination. */
typedef struct nnrt_out {
    unsigned char *buf;
    size_t cap, len;
    uint32_t crc;                      /* CRC-32 of every byte put so far */
    int (*flush)(struct nnrt_out *w); /* writes buf[0..len), sets len = 0 */
    int fd;
    int status;                        /* the first error, sticky */
} nnrt_out;

static inline void nnrt_out_init(nnrt_out *w, void *buf, size_t cap, int (*flush)(nnrt_out *), int fd)
{
    w->buf = (unsigned char *)buf;
    w->cap = cap;
    w->len = 0;
    w->crc = 0;
    w->flush = flush;
    w->fd = fd;
    w->status = NN_OK;
}

/* Appends k bytes without touching the CRC. */
static inline void nnrt_out_raw(nnrt_out *w, const unsigned char *b, size_t k)
{
    size_t i;
    for (i = 0; i < k && w->status == NN_OK; i++) {
        if (w->len == w->cap)
            w->status = w->flush ? w->flush(w) : NN_ERR_CAPACITY;
        if (w->status == NN_OK)
            w->buf[w->len++] = b[i];
    }
}

static inline void nnrt_out_put(nnrt_out *w, const unsigned char *b, size_t k)
{
    w->crc = nnrt_crc32(w->crc, b, k);
    nnrt_out_raw(w, b, k);
}

static inline void nnrt_out_u32(nnrt_out *w, uint32_t v)
{
    unsigned char b[4];
    nnrt_put_le32(b, v);
    nnrt_out_put(w, b, 4);
}

static inline void nnrt_out_str(nnrt_out *w, const char *s)
{
    size_t n = nnrt_strlen(s);
    nnrt_out_u32(w, (uint32_t)n);
    nnrt_out_put(w, (const unsigned char *)s, n);
}

/* float32 data, little-endian, encoded 64 values at a time. */
static inline void nnrt_out_floats(nnrt_out *w, const float *x, long n)
{
    unsigned char b[256];
    long i, j;
    for (i = 0; i < n; i += 64) {
        long m = n - i < 64 ? n - i : 64;
        for (j = 0; j < m; j++)
            nnrt_put_le32(b + 4 * j, nnrt_f2u(x[i + j]));
        nnrt_out_put(w, b, 4 * (size_t)m);
    }
}

static inline void nnrt_out_group(nnrt_out *w, const nn_param *ps, int n)
{
    int i, d;
    nnrt_out_u32(w, (uint32_t)n);
    for (i = 0; i < n; i++) {
        nnrt_out_str(w, ps[i].name);
        nnrt_out_u32(w, (uint32_t)ps[i].rank);
        for (d = 0; d < ps[i].rank; d++)
            nnrt_out_u32(w, (uint32_t)ps[i].dims[d]);
        nnrt_out_floats(w, ps[i].value, ps[i].size);
    }
}

/* The whole image (C-API.md "Weight file"), ending with the CRC-32 of every
 * byte before it; flushed at the end when w has a flush. */
static inline int nnrt_out_image(nnrt_out *w, const char *net, const nn_param *params, int np,
                                 const nn_param *bufs, int nb)
{
    static const unsigned char magic[4] = {'N', 'N', 'W', '1'};
    unsigned char crc[4];
    nnrt_out_put(w, magic, 4);
    nnrt_out_u32(w, 1u);
    nnrt_out_str(w, net);
    nnrt_out_group(w, params, np);
    nnrt_out_group(w, bufs, nb);
    nnrt_put_le32(crc, w->crc);
    nnrt_out_raw(w, crc, 4);
    if (w->status == NN_OK && w->flush)
        w->status = w->flush(w);
    return w->status;
}

NNRT_API long nnrt_export(const char *net, const nn_param *params, int np,
                          const nn_param *bufs, int nb, void *buf, size_t cap)
{
    size_t need = nnrt_weights_size(net, params, np, bufs, nb);
    nnrt_out w;
    int st;
    if (need == 0 || need > (size_t)NNRT_LONG_MAX || (!buf && cap > 0))
        return NN_ERR_ARG;
    if (need > cap)
        return NN_ERR_CAPACITY;
    nnrt_out_init(&w, buf, need, NULL, -1);
    st = nnrt_out_image(&w, net, params, np, bufs, nb);
    return st != NN_OK ? st : (long)w.len;
}

/* ---- reading: a chunk of bytes at a time; refill (hosted) loads the next
 * chunk of a file, without refill the first chunk is the whole image. */
typedef struct nnrt_in {
    const unsigned char *p;
    size_t n, pos;                   /* chunk length, position in it */
    uint32_t crc;                    /* CRC-32 of every byte consumed */
    int (*refill)(struct nnrt_in *r); /* NN_OK, NN_ERR_TRUNCATED at the end, NN_ERR_IO */
    void *file;                      /* a FILE * */
    unsigned char *store;
    size_t cap;
} nnrt_in;

static inline void nnrt_in_init(nnrt_in *r, const void *p, size_t n, int (*refill)(nnrt_in *),
                                void *file, unsigned char *store, size_t cap)
{
    r->p = (const unsigned char *)p;
    r->n = n;
    r->pos = 0;
    r->crc = 0;
    r->refill = refill;
    r->file = file;
    r->store = store;
    r->cap = cap;
}

/* Consumes k bytes into dst (skipped when dst is NULL), adding them to the
 * CRC. NN_ERR_TRUNCATED when the image ends first. */
static inline int nnrt_in_take(nnrt_in *r, unsigned char *dst, uint64_t k)
{
    while (k > 0) {
        size_t span, i;
        if (r->pos == r->n) {
            int st = r->refill ? r->refill(r) : NN_ERR_TRUNCATED;
            if (st != NN_OK)
                return st;
        }
        span = r->n - r->pos;
        if ((uint64_t)span > k)
            span = (size_t)k;
        if (dst) { /* copy and CRC in one loop, which no compiler turns into memcpy */
            uint32_t crc = ~r->crc;
            for (i = 0; i < span; i++) {
                unsigned char c = r->p[r->pos + i];
                crc = nnrt_crc_table[(crc ^ c) & 0xffu] ^ (crc >> 8);
                *dst++ = c;
            }
            r->crc = ~crc;
        } else {
            r->crc = nnrt_crc32(r->crc, r->p + r->pos, span);
        }
        r->pos += span;
        k -= span;
    }
    return NN_OK;
}

static inline int nnrt_in_u32(nnrt_in *r, uint32_t *v)
{
    unsigned char b[4];
    int st = nnrt_in_take(r, b, 4);
    *v = nnrt_get_le32(b);
    return st;
}

/* The magic, byte by byte: a wrong byte is FORMAT even in a short file. */
static inline int nnrt_in_magic(nnrt_in *r)
{
    static const unsigned char magic[4] = {'N', 'N', 'W', '1'};
    unsigned char c;
    int i, st;
    for (i = 0; i < 4; i++) {
        if ((st = nnrt_in_take(r, &c, 1)) != NN_OK)
            return st;
        if (c != magic[i])
            return NN_ERR_FORMAT;
    }
    return NN_OK;
}

/* u32 length + bytes, compared with want (NULL: nothing expected);
 * *same is cleared on any difference. */
static inline int nnrt_in_name(nnrt_in *r, const char *want, int *same)
{
    uint32_t len, i;
    unsigned char c;
    int st;
    if ((st = nnrt_in_u32(r, &len)) != NN_OK)
        return st;
    if (!want || (size_t)len != nnrt_strlen(want)) {
        *same = 0;
        return nnrt_in_take(r, NULL, len);
    }
    for (i = 0; i < len; i++) {
        if ((st = nnrt_in_take(r, &c, 1)) != NN_OK)
            return st;
        if (c != (unsigned char)want[i])
            *same = 0;
    }
    return NN_OK;
}

/* a * b, saturating at UINT64_MAX (a corrupt header's product of dims). */
static inline uint64_t nnrt_mul_sat(uint64_t a, uint64_t b)
{
    if (b != 0 && a > UINT64_MAX / b)
        return UINT64_MAX;
    return a * b;
}

/* n little-endian float32 values into dst, 64 at a time. */
static inline int nnrt_in_floats(nnrt_in *r, float *dst, long n)
{
    unsigned char b[256];
    long i, j;
    int st;
    for (i = 0; i < n; i += 64) {
        long m = n - i < 64 ? n - i : 64;
        if ((st = nnrt_in_take(r, b, 4 * (uint64_t)m)) != NN_OK)
            return st;
        for (j = 0; j < m; j++)
            dst[i + j] = nnrt_u2f(nnrt_get_le32(b + 4 * j));
    }
    return NN_OK;
}

/* One tensor record, walked with the file's own rank and dims; p is the
 * caller's tensor (NULL past the caller's count). Its data go to p->value
 * only when store is set and the record matches p. */
static inline int nnrt_in_tensor(nnrt_in *r, const nn_param *p, int store, int *same)
{
    uint32_t rank, d, i;
    uint64_t count = 1;
    int st, match = p != NULL;
    if ((st = nnrt_in_name(r, p ? p->name : NULL, &match)) != NN_OK ||
        (st = nnrt_in_u32(r, &rank)) != NN_OK)
        return st;
    if (p && rank != (uint32_t)p->rank)
        match = 0;
    for (i = 0; i < rank; i++) {
        if ((st = nnrt_in_u32(r, &d)) != NN_OK)
            return st;
        if (match && d != (uint32_t)p->dims[i])
            match = 0;
        count = nnrt_mul_sat(count, d);
    }
    if (!match)
        *same = 0;
    if (store && match)
        return nnrt_in_floats(r, p->value, p->size);
    return nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
}

/* u32 count + that many tensor records, matched against ps[0..n). */
static inline int nnrt_in_group(nnrt_in *r, const nn_param *ps, int n, int store, int *same)
{
    uint32_t count, i;
    int st;
    if ((st = nnrt_in_u32(r, &count)) != NN_OK)
        return st;
    if (count != (uint32_t)n)
        *same = 0;
    for (i = 0; i < count; i++)
        if ((st = nnrt_in_tensor(r, i < (uint32_t)n ? &ps[i] : NULL, store, same)) != NN_OK)
            return st;
    return NN_OK;
}

/* Walks a whole image; the order of the checks (see the top of the file)
 * decides which status wins. With store, matching tensors are filled: only
 * ever called after a walk without store returned NN_OK. */
static inline int nnrt_in_image(nnrt_in *r, const char *net, const nn_param *params, int np,
                                const nn_param *bufs, int nb, int store)
{
    uint32_t version, crc_file, crc_calc;
    unsigned char extra;
    int st, net_same = 1, shape_same = 1;
    if ((st = nnrt_in_magic(r)) != NN_OK || (st = nnrt_in_u32(r, &version)) != NN_OK)
        return st;
    if (version != 1u)
        return NN_ERR_VERSION;
    if ((st = nnrt_in_name(r, net, &net_same)) != NN_OK ||
        (st = nnrt_in_group(r, params, np, store, &shape_same)) != NN_OK ||
        (st = nnrt_in_group(r, bufs, nb, store, &shape_same)) != NN_OK)
        return st;
    crc_calc = r->crc;
    if ((st = nnrt_in_u32(r, &crc_file)) != NN_OK)
        return st;
    st = nnrt_in_take(r, &extra, 1);
    if (st != NN_ERR_TRUNCATED)
        return st == NN_OK ? NN_ERR_FORMAT : st; /* trailing bytes, or I/O */
    if (crc_calc != crc_file)
        return NN_ERR_CHECKSUM;
    if (!net_same)
        return NN_ERR_NETWORK;
    return shape_same ? NN_OK : NN_ERR_SHAPE;
}

/* Two walks over the same bytes: validate everything, then copy values. */
NNRT_API int nnrt_import(const char *net, nn_param *params, int np, nn_param *bufs,
                         int nb, const void *buf, size_t len)
{
    nnrt_in r;
    int st;
    if (nnrt_weights_size(net, params, np, bufs, nb) == 0 || (!buf && len > 0))
        return NN_ERR_ARG;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    if ((st = nnrt_in_image(&r, net, params, np, bufs, nb, 0)) != NN_OK)
        return st;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    return nnrt_in_image(&r, net, params, np, bufs, nb, 1);
}

/* ------------------------------------------- convolution and pooling (cnn) */
/* Convolutions run as im2col + the packed GEMM (nnrt_sgemm_ws), one sample
 * and one group at a time. The group's receptive fields are unfolded into
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
 * the unpacked nnrt_sgemm runs without scratch. docs/cnn.md has the
 * measurements behind these choices. */

/* outputs of a window of k every s over in + 2 p elements (0 when none fits) */
static inline int nnrt_conv2d_out(int in, int k, int s, int p)
{
    long span = (long)in + 2L * p - k;
    return span < 0 ? 0 : (int)(span / s + 1);
}

static inline int nnrt_conv2d_ok(const nnrt_conv2d *g)
{
    return g && g->c >= 1 && g->h >= 1 && g->w >= 1 && g->f >= 1 && g->kh >= 1 && g->kw >= 1 &&
           g->sh >= 1 && g->sw >= 1 && g->ph >= 0 && g->pw >= 0 && g->groups >= 1 &&
           g->c % g->groups == 0 && g->f % g->groups == 0 && (long)g->h + 2L * g->ph >= g->kh &&
           (long)g->w + 2L * g->pw >= g->kw;
}

/* 1 when col is the input itself (1 x 1 kernel, stride 1, no padding) */
static inline int nnrt_conv2d_flat(const nnrt_conv2d *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

NNRT_API int nnrt_conv2d_oh(const nnrt_conv2d *g)
{
    return nnrt_conv2d_ok(g) ? nnrt_conv2d_out(g->h, g->kh, g->sh, g->ph) : 0;
}

NNRT_API int nnrt_conv2d_ow(const nnrt_conv2d *g)
{
    return nnrt_conv2d_ok(g) ? nnrt_conv2d_out(g->w, g->kw, g->sw, g->pw) : 0;
}

/* [*lo, *hi): the outputs j < count whose input j s + off lies in [0, size) */
static inline void nnrt_conv2d_span(int off, int s, int size, int count, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    if (h > count)
        h = count;
    *lo = l < h ? l : h;
    *hi = h;
}

/* col[(ci kh + a) kw + b][i ow + j] = x[ci, i sh - ph + a, j sw - pw + b]
 * (0 outside x) for the cg channels at x. */
static inline void nnrt_im2col(const nnrt_conv2d *g, int cg, int oh, int ow, const float *x,
                               float *restrict col)
{
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
                               float *restrict dx)
{
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

static inline void nnrt_zero(float *x, long n)
{
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

static inline nnrt_conv2d_dims nnrt_conv2d_sizes(const nnrt_conv2d *g)
{
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
static inline long nnrt_tile_waste(long m, long n)
{
    return (m + 5) / 6 * 6 * ((n + 31) / 32 * 32) * 1000 / (m * n);
}

/* 1 when the forward pass computes y^T = col^T W^T (pixels x filters) */
static inline int nnrt_conv2d_fwd_t(const nnrt_conv2d_dims *d)
{
    return nnrt_tile_waste(d->ohw, d->fg) < nnrt_tile_waste(d->fg, d->ohw);
}

/* 1 when the weight pass computes dW^T = col dy^T (kg x filters) */
static inline int nnrt_conv2d_dw_t(const nnrt_conv2d_dims *d)
{
    return nnrt_tile_waste(d->kg, d->fg) < nnrt_tile_waste(d->fg, d->kg);
}

/* The scratch layout of a pass: col (kg x ohw floats) at 0, then the
 * transposed result (if any), then the GEMM's workspace. */
static inline long nnrt_conv2d_pass_scratch(const nnrt_conv2d_dims *d, int pass, long *ws_at)
{
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

/* per pass, for one sample and group at a time: independent of max_n */
NNRT_API long nnrt_conv2d_scratch(const nnrt_conv2d *g, int pass, int max_n)
{
    nnrt_conv2d_dims d;
    long ws_at;
    (void)max_n;
    if (!nnrt_conv2d_ok(g))
        return -1;
    if (nnrt_conv2d_flat(g))
        return 0;
    d = nnrt_conv2d_sizes(g);
    return nnrt_conv2d_pass_scratch(&d, pass, &ws_at);
}

/* The forward epilogue of y^T = col^T W^T: block [i0, i0 + rows) x [j0,
 * j0 + cols) of t (ohw x fg, pixels by filters) into y (fg x ohw). */
typedef struct nnrt_conv2d_tctx {
    const float *t;
    float *y;
    int fg, ohw;
} nnrt_conv2d_tctx;

static void nnrt_conv2d_untranspose(void *ctx, int i0, int rows, int j0, int cols)
{
    const nnrt_conv2d_tctx *c = (const nnrt_conv2d_tctx *)ctx;
    int i, j;
    for (j = j0; j < j0 + cols; j++) {
        float *restrict y = c->y + (ptrdiff_t)j * c->ohw;
        const float *restrict t = c->t + j;
        for (i = i0; i < i0 + rows; i++)
            y[i] = t[(ptrdiff_t)i * c->fg];
    }
}

NNRT_API void nnrt_conv2d_forward(const nnrt_conv2d *g, int n, const float *x, const float *w,
                                  float *y, float *scratch)
{
    nnrt_conv2d_dims d;
    nnrt_conv2d_tctx tc;
    long ws_at;
    int s, gi, tr;
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
    d = nnrt_conv2d_sizes(g);
    if (nnrt_conv2d_flat(g)) {
        for (s = 0; s < n; s++)
            for (gi = 0; gi < g->groups; gi++)
                nnrt_sgemm(0, 0, d.fg, d.ohw, d.kg, 1.0f, w + (ptrdiff_t)gi * d.fg * d.kg, d.kg,
                           x + s * d.xs + gi * d.cg * d.hw, d.ohw, 0.0f,
                           y + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw, d.ohw);
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
            nnrt_im2col(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), x + s * d.xs + gi * d.cg * d.hw,
                        scratch);
            if (tr) {
                tc.y = yg;
                nnrt_sgemm_ws(1, 1, d.ohw, d.fg, d.kg, 1.0f, scratch, d.ohw, wg, d.kg, 0.0f,
                              scratch + (long)d.kg * d.ohw, d.fg, scratch + ws_at, nnrt_conv2d_untranspose,
                              &tc);
            } else {
                nnrt_sgemm_ws(0, 0, d.fg, d.ohw, d.kg, 1.0f, wg, d.kg, scratch, d.ohw, 0.0f, yg, d.ohw,
                              scratch + ws_at, NULL, NULL);
            }
        }
}

NNRT_API void nnrt_conv2d_backward_input(const nnrt_conv2d *g, int n, const float *dy,
                                         const float *w, float *dx, float *scratch)
{
    nnrt_conv2d_dims d;
    long ws_at = 0;
    int s, gi, flat;
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
    d = nnrt_conv2d_sizes(g);
    flat = nnrt_conv2d_flat(g);
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
            nnrt_sgemm_ws(1, 0, d.kg, d.ohw, d.fg, 1.0f, wg, d.kg, dyg, d.ohw, 0.0f, scratch, d.ohw,
                          scratch + ws_at, NULL, NULL);
            nnrt_col2im(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), scratch, dxg);
        }
    }
}

NNRT_API void nnrt_conv2d_backward_weight(const nnrt_conv2d *g, int n, const float *x,
                                          const float *dy, float *dw, float *scratch)
{
    nnrt_conv2d_dims d;
    long ws_at;
    int s, gi, tr, i, j;
    if (n < 1 || !nnrt_conv2d_ok(g))
        return;
    d = nnrt_conv2d_sizes(g);
    if (nnrt_conv2d_flat(g)) {
        for (s = 0; s < n; s++)
            for (gi = 0; gi < g->groups; gi++)
                nnrt_sgemm(0, 1, d.fg, d.kg, d.ohw, 1.0f, dy + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw,
                           d.ohw, x + s * d.xs + gi * d.cg * d.hw, d.ohw, s ? 1.0f : 0.0f,
                           dw + (ptrdiff_t)gi * d.fg * d.kg, d.kg);
        return;
    }
    nnrt_conv2d_pass_scratch(&d, NNRT_CONV2D_BACKWARD_WEIGHT, &ws_at);
    tr = nnrt_conv2d_dw_t(&d);
    for (gi = 0; gi < g->groups; gi++) {
        float *dwg = dw + (ptrdiff_t)gi * d.fg * d.kg, *t = scratch + (long)d.kg * d.ohw;
        for (s = 0; s < n; s++) {
            const float *dyg = dy + s * d.ys + (ptrdiff_t)gi * d.fg * d.ohw;
            nnrt_im2col(g, d.cg, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), x + s * d.xs + gi * d.cg * d.hw,
                        scratch);
            if (tr)
                nnrt_sgemm_ws(0, 1, d.kg, d.fg, d.ohw, 1.0f, scratch, d.ohw, dyg, d.ohw, s ? 1.0f : 0.0f, t,
                              d.fg, scratch + ws_at, NULL, NULL);
            else
                nnrt_sgemm_ws(0, 1, d.fg, d.kg, d.ohw, 1.0f, dyg, d.ohw, scratch, d.ohw, s ? 1.0f : 0.0f,
                              dwg, d.kg, scratch + ws_at, NULL, NULL);
        }
        if (tr)
            for (i = 0; i < d.fg; i++)
                for (j = 0; j < d.kg; j++)
                    dwg[(ptrdiff_t)i * d.kg + j] = t[(ptrdiff_t)j * d.fg + i];
    }
}

static inline int nnrt_pool2d_ok(const nnrt_pool2d *p)
{
    return p && p->c >= 1 && p->h >= 1 && p->w >= 1 && p->kh >= 1 && p->kw >= 1 && p->sh >= 1 &&
           p->sw >= 1 && p->kh <= p->h && p->kw <= p->w;
}

/* The offset of the window's first maximum from its corner (x[0]): the
 * first element greater than all before it, a NaN replacing any earlier
 * choice, as PyTorch's CPU kernel scans. */
static inline int nnrt_window_argmax(const float *x, int w, int kh, int kw)
{
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
static inline float nnrt_max4(float a, float b, float c, float d, float *at)
{
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

static inline int nnrt_pool2d_is_2x2(const nnrt_pool2d *p)
{
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2;
}

/* Outputs [j0, j0 + cnt) of one output row of the 2 x 2 pool, r0 and r1
 * the two input rows: the maxima into y (forward); dy where each window
 * took its maximum, 0 elsewhere, into the rows d0, d1 (backward). Called
 * with a constant cnt (8 or 4) the loops vectorize; rows shorter than the
 * vectors (LeNet's are 14 and 7 wide) go in chunks of that constant, the
 * last one overlapping the one before (writing the same values again), so
 * that no scalar tail is left (nnrt_max2x2_row). */
static inline void nnrt_max2x2_fwd(const float *restrict r0, const float *restrict r1, float *restrict y,
                                   int j0, int cnt)
{
    int j;
    float at;
    for (j = j0; j < j0 + cnt; j++)
        y[j] = nnrt_max4(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], &at);
}

static inline void nnrt_max2x2_bwd(const float *restrict r0, const float *restrict r1,
                                   const float *restrict dy, float *restrict d0, float *restrict d1, int j0,
                                   int cnt)
{
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
 * callers' loop nests gcc no longer vectorizes them) */
#if defined(__GNUC__)
#define NNRT_NOINLINE __attribute__((noinline))
#else
#define NNRT_NOINLINE
#endif
static NNRT_NOINLINE void nnrt_max2x2_fwd8(const float *r0, const float *r1, float *y, int j0)
{
    nnrt_max2x2_fwd(r0, r1, y, j0, 8);
}

static NNRT_NOINLINE void nnrt_max2x2_fwd4(const float *r0, const float *r1, float *y, int j0)
{
    nnrt_max2x2_fwd(r0, r1, y, j0, 4);
}

static NNRT_NOINLINE void nnrt_max2x2_bwd8(const float *r0, const float *r1, const float *dy, float *d0,
                                           float *d1, int j0)
{
    nnrt_max2x2_bwd(r0, r1, dy, d0, d1, j0, 8);
}

static NNRT_NOINLINE void nnrt_max2x2_bwd4(const float *r0, const float *r1, const float *dy, float *d0,
                                           float *d1, int j0)
{
    nnrt_max2x2_bwd(r0, r1, dy, d0, d1, j0, 4);
}

/* One output row of ow windows: chunks of 8 (or 4), the last overlapping */
static inline void nnrt_max2x2_row(const float *r0, const float *r1, float *y, const float *dy, float *d0,
                                   float *d1, int ow, int back)
{
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

NNRT_API void nnrt_maxpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y)
{
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

NNRT_API void nnrt_maxpool2d_backward(const nnrt_pool2d *p, int n, const float *x,
                                      const float *dy, float *dx)
{
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

NNRT_API void nnrt_avgpool2d_forward(const nnrt_pool2d *p, int n, const float *x, float *y)
{
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

NNRT_API void nnrt_avgpool2d_backward(const nnrt_pool2d *p, int n, const float *dy, float *dx)
{
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

#ifndef NN_FREESTANDING
/* ------------------------------------------------------ hosted: files */
/* Plain POSIX open/write/fsync/close (declared by <fcntl.h> and <unistd.h>
 * whatever the feature macros, which matters when this file is pasted after
 * other headers) and C's fopen/fread/rename/remove. */

/* Empties w's buffer into its descriptor; write may be partial or interrupted. */
static inline int nnrt_fd_flush(nnrt_out *w)
{
    size_t done = 0;
    while (done < w->len) {
        ssize_t k = write(w->fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NN_ERR_IO;
        done += (size_t)k;
    }
    w->len = 0;
    return NN_OK;
}

/* dst = path + suffix; 0 when it does not fit in cap bytes. */
static inline int nnrt_path_cat(char *dst, size_t cap, const char *path, const char *suffix)
{
    size_t n = nnrt_strlen(path), m = nnrt_strlen(suffix), i;
    if (n + m + 1 > cap)
        return 0;
    for (i = 0; i < n; i++)
        dst[i] = path[i];
    for (i = 0; i <= m; i++)
        dst[n + i] = suffix[i];
    return 1;
}

/* Makes a rename durable: fsync of the directory holding path, best effort
 * (not every system lets a directory be opened). buf holds path on entry. */
static inline void nnrt_sync_dir(char *buf, size_t len)
{
    int fd;
    while (len > 0 && buf[len - 1] != '/')
        len--;
    if (len == 0)
        buf[len++] = '.';
    buf[len] = '\0';
    fd = open(buf, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

/* Write "<path>.tmp", fsync, close, rename over path, fsync the directory.
 * On any failure the temporary is removed and path is untouched. */
NNRT_API int nnrt_save(const char *path, const char *net, const nn_param *params,
                       int np, const nn_param *bufs, int nb)
{
    char tmp[NNRT_IO_CHUNK];
    unsigned char stage[NNRT_IO_CHUNK];
    nnrt_out w;
    int fd, st;
    if (!path || nnrt_weights_size(net, params, np, bufs, nb) == 0 ||
        !nnrt_path_cat(tmp, sizeof tmp, path, ".tmp"))
        return NN_ERR_ARG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return NN_ERR_IO;
    nnrt_out_init(&w, stage, sizeof stage, nnrt_fd_flush, fd);
    st = nnrt_out_image(&w, net, params, np, bufs, nb);
    if (st == NN_OK && fsync(fd) != 0)
        st = NN_ERR_IO;
    if (close(fd) != 0 && st == NN_OK)
        st = NN_ERR_IO;
    if (st == NN_OK && rename(tmp, path) != 0)
        st = NN_ERR_IO;
    if (st != NN_OK) {
        (void)remove(tmp);
        return st;
    }
    nnrt_sync_dir(tmp, nnrt_strlen(path));
    return NN_OK;
}

/* Loads the next chunk of the reader's file into its store. */
static inline int nnrt_file_refill(nnrt_in *r)
{
    FILE *f = (FILE *)r->file;
    size_t k = fread(r->store, 1, r->cap, f);
    if (k == 0)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    r->p = r->store;
    r->n = k;
    r->pos = 0;
    return NN_OK;
}

/* Two streaming walks over one open file, as nnrt_import: the first
 * validates structure, CRC, name and shapes, the second fills the tensors
 * while it recomputes the CRC. Only a file rewritten in place between the
 * two walks (nnrt_save never does that) can fail the second walk, after
 * some tensors were written. */
NNRT_API int nnrt_load(const char *path, const char *net, nn_param *params, int np,
                       nn_param *bufs, int nb)
{
    unsigned char stage[NNRT_IO_CHUNK];
    nnrt_in r;
    FILE *f;
    int st;
    if (!path || nnrt_weights_size(net, params, np, bufs, nb) == 0)
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
    st = nnrt_in_image(&r, net, params, np, bufs, nb, 0);
    if (st == NN_OK && fseek(f, 0L, SEEK_SET) != 0)
        st = NN_ERR_IO;
    if (st == NN_OK) {
        nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
        st = nnrt_in_image(&r, net, params, np, bufs, nb, 1);
    }
    fclose(f);
    return st;
}

/* ---- IDX: bytes 0, 0, type, rank, then rank big-endian u32 dims, then the
 * data: exactly prod(dims) bytes for type 0x08 (unsigned byte). */
static inline uint32_t nnrt_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Bytes from the current position of f to its end; f is left where it was. */
static inline long nnrt_file_rest(FILE *f)
{
    long here = ftell(f), end;
    if (here < 0 || fseek(f, 0L, SEEK_END) != 0)
        return -1;
    end = ftell(f);
    if (end < 0 || fseek(f, here, SEEK_SET) != 0)
        return -1;
    return end - here;
}

/* Reads and checks the header; f is left at the data. FORMAT for a bad
 * magic, another type, rank 0 or above 4, or bytes after the data;
 * TRUNCATED when the header or the data are shorter than claimed. */
static inline int nnrt_idx_header(FILE *f, nnrt_idx_info *info)
{
    unsigned char h[4 * 5];
    uint64_t item = 1, total;
    long rest;
    int i, rank;
    if (fread(h, 1, 4, f) != 4)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    rank = h[3];
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || rank < 1 || rank > 4)
        return NN_ERR_FORMAT;
    if (fread(h + 4, 4, (size_t)rank, f) != (size_t)rank)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    if ((rest = nnrt_file_rest(f)) < 0)
        return NN_ERR_IO;
    for (i = 0; i < 4; i++) {
        uint32_t d = i < rank ? nnrt_get_be32(h + 4 + 4 * i) : 0u;
        if (d > 0x7fffffffu) /* fits a long everywhere */
            return NN_ERR_FORMAT;
        info->dims[i] = (long)d;
        if (i > 0 && i < rank)
            item = nnrt_mul_sat(item, d);
    }
    total = nnrt_mul_sat((uint64_t)info->dims[0], item);
    if (total != (uint64_t)rest)
        return total > (uint64_t)rest ? NN_ERR_TRUNCATED : NN_ERR_FORMAT;
    if (item > (uint64_t)NNRT_LONG_MAX)
        return NN_ERR_FORMAT;
    info->rank = rank;
    info->count = info->dims[0];
    info->item_size = (long)item;
    return NN_OK;
}

NNRT_API int nnrt_idx_open(const char *path, nnrt_idx_info *info)
{
    nnrt_idx_info tmp;
    FILE *f;
    int st;
    if (!path || !info)
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    st = nnrt_idx_header(f, &tmp);
    fclose(f);
    if (st == NN_OK)
        *info = tmp;
    return st;
}

/* Reads up to cap data bytes of an IDX file, as floats (byte * scale) when
 * df is set, as int32 otherwise. Returns the elements read. */
static inline long nnrt_idx_read(const char *path, float *df, int32_t *di, unsigned char *du, long cap,
                                 float scale)
{
    unsigned char b[NNRT_IO_CHUNK];
    nnrt_idx_info info;
    long n, i = 0, j;
    FILE *f;
    int st;
    if (!path || cap < 0 || (cap > 0 && !df && !di && !du))
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    if ((st = nnrt_idx_header(f, &info)) != NN_OK) {
        fclose(f);
        return st;
    }
    n = info.count * info.item_size < cap ? info.count * info.item_size : cap;
    while (i < n) {
        long m = n - i < NNRT_IO_CHUNK ? n - i : NNRT_IO_CHUNK;
        if (fread(b, 1, (size_t)m, f) != (size_t)m)
            break;
        for (j = 0; j < m; j++) {
            if (df)
                df[i + j] = (float)b[j] * scale;
            else if (di)
                di[i + j] = (int32_t)b[j];
            else
                du[i + j] = b[j];
        }
        i += m;
    }
    fclose(f);
    return i == n ? n : NN_ERR_IO; /* the size was checked: a short read is I/O */
}

NNRT_API long nnrt_idx_read_f32(const char *path, float *dst, long cap, float scale)
{
    return nnrt_idx_read(path, dst, NULL, NULL, cap, scale);
}

NNRT_API long nnrt_idx_read_i32(const char *path, int32_t *dst, long cap)
{
    return nnrt_idx_read(path, NULL, dst, NULL, cap, 1.0f);
}

NNRT_API long nnrt_idx_read_u8(const char *path, unsigned char *dst, long cap)
{
    return nnrt_idx_read(path, NULL, NULL, dst, cap, 1.0f);
}

/* ---- CSV. line   = field { ',' field } ( '\n' | EOF )
 *          field  = blanks [ number ] blanks     (blanks: ' ' '\t' '\r')
 * A line of blanks only is skipped. The first other line is a header when
 * one of its fields is not a number (strtof must consume all of it, NUL bytes
 * included, and give a finite value: "nan" and "inf" are not data); every
 * data line must be all numbers with the column count of the first line. */
static inline int nnrt_csv_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Reads one field into buf (blanks stripped); *end gets the character that
 * ended it (',', '\n' or EOF). Returns its length, -1 when it was too long. */
static inline int nnrt_csv_field(FILE *f, char *buf, size_t cap, int *end)
{
    size_t len = 0;
    int c, too_long = 0;
    while ((c = getc(f)) != EOF && c != ',' && c != '\n') {
        if (len == 0 && nnrt_csv_blank(c))
            continue;
        if (len + 1 < cap)
            buf[len++] = (char)c;
        else
            too_long = 1;
    }
    while (len > 0 && nnrt_csv_blank((unsigned char)buf[len - 1]))
        len--;
    buf[len] = '\0';
    *end = c;
    return too_long ? -1 : (int)len;
}

/* One line: *cols fields (0 for a blank line), *numeric when all are
 * numbers; values go to dst[0..room). Returns 0 at end of file, 1 after a
 * line, NN_ERR_IO. */
static inline int nnrt_csv_line(FILE *f, float *dst, long room, int *cols, int *numeric)
{
    char buf[64], *e;
    int c, end, len, n = 0;
    if ((c = getc(f)) == EOF)
        return ferror(f) ? NN_ERR_IO : 0;
    ungetc(c, f);
    *numeric = 1;
    do {
        float v;
        len = nnrt_csv_field(f, buf, sizeof buf, &end);
        if (n == 0 && len == 0 && end != ',')
            break; /* a blank line */
        v = len > 0 ? strtof(buf, &e) : 0.0f;
        if (len <= 0 || e != buf + len || !isfinite(v)) /* all of it (a NUL ends strtof early), finite */
            *numeric = 0;
        else if (n < room)
            dst[n] = v;
        n++;
    } while (end == ',');
    *cols = n;
    return ferror(f) ? NN_ERR_IO : 1;
}

/* Walks the file: counts data rows, and stores values into dst until cap
 * values were stored (then stops). Returns the values stored or a status. */
static inline long nnrt_csv_walk(const char *path, float *dst, long cap, long *rows,
                                 int *cols, int *has_header)
{
    long got = 0, nrows = 0, lines = 0;
    int st = 0, c, numeric, ncols = 0, header = 0;
    FILE *f;
    if (!(f = fopen(path, "r")))
        return NN_ERR_IO;
    while ((!dst || got < cap) &&
           (st = nnrt_csv_line(f, dst ? dst + got : NULL, cap - got, &c, &numeric)) == 1) {
        if (c == 0)
            continue;
        if (lines++ == 0 && !numeric) {
            header = 1;
        } else if (!numeric || (ncols != 0 && c != ncols)) {
            st = NN_ERR_FORMAT;
            break;
        } else {
            nrows++;
            got += c < cap - got ? c : cap - got;
        }
        ncols = c;
    }
    fclose(f);
    if (st < 0)
        return st;
    *rows = nrows;
    *cols = ncols;
    *has_header = header;
    return got;
}

NNRT_API int nnrt_csv_info(const char *path, long *rows, int *cols, int *has_header)
{
    long st;
    if (!path || !rows || !cols || !has_header)
        return NN_ERR_ARG;
    st = nnrt_csv_walk(path, NULL, 0, rows, cols, has_header);
    return st < 0 ? (int)st : NN_OK;
}

/* Values of the data rows, row-major; stops after cap values (rows past
 * that point are not read, so not checked). */
NNRT_API long nnrt_csv_read(const char *path, float *dst, long cap)
{
    long rows;
    int cols, has_header;
    if (!path || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nnrt_csv_walk(path, dst, cap, &rows, &cols, &has_header);
}
#endif /* NN_FREESTANDING */

/* ------------------------------------------ pretrained weights (fine-tuning)
 * nnrt_import_pretrained / nnrt_load_pretrained copy from a weight image of
 * any network every tensor (parameter or buffer, from either group of the
 * image) whose name, rank and dims equal one of ts[0..nt): the tensors the
 * model may write (the caller leaves const ones out). Tensors of the image
 * that match nothing are skipped. As nnrt_import, the whole image is walked
 * and checked first (magic, version, structure, length, CRC; the network
 * name and the tensor list are not compared) and only then read again into
 * the tensors: on error nothing is written. A name longer than
 * NNRT_NAME_MAX bytes matches nothing. Returns the number of tensors copied
 * or a negative status. */
enum { NNRT_NAME_MAX = 255 };

static inline int nnrt_same_name(const unsigned char *a, uint32_t n, const char *b)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (b[i] == '\0' || (unsigned char)b[i] != a[i])
            return 0;
    return b[n] == '\0';
}

/* One tensor record; its data go to the matching tensor of ts when store. */
static inline int nnrt_in_pretrained_tensor(nnrt_in *r, const nn_param *ts, int nt, int store, int *copied)
{
    unsigned char name[NNRT_NAME_MAX];
    uint32_t len, rank, d, i, dims[4];
    uint64_t count = 1;
    int st, k, j, known;
    if ((st = nnrt_in_u32(r, &len)) != NN_OK)
        return st;
    known = len <= NNRT_NAME_MAX;
    if ((st = nnrt_in_take(r, known ? name : NULL, len)) != NN_OK || (st = nnrt_in_u32(r, &rank)) != NN_OK)
        return st;
    for (i = 0; i < rank; i++) {
        if ((st = nnrt_in_u32(r, &d)) != NN_OK)
            return st;
        if (i < 4)
            dims[i] = d;
        count = nnrt_mul_sat(count, d);
    }
    for (k = 0; known && rank <= 4 && k < nt; k++) {
        const nn_param *t = &ts[k];
        int match = (uint32_t)t->rank == rank && nnrt_same_name(name, len, t->name);
        for (j = 0; match && j < t->rank; j++)
            match = dims[j] == (uint32_t)t->dims[j];
        if (!match)
            continue;
        ++*copied;
        return store ? nnrt_in_floats(r, t->value, t->size) : nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
    }
    return nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
}

static inline int nnrt_in_pretrained(nnrt_in *r, const nn_param *ts, int nt, int store, int *copied)
{
    uint32_t version, count, crc_file, crc_calc, i;
    unsigned char extra;
    int st, g, dummy = 1;
    *copied = 0;
    if ((st = nnrt_in_magic(r)) != NN_OK || (st = nnrt_in_u32(r, &version)) != NN_OK)
        return st;
    if (version != 1u)
        return NN_ERR_VERSION;
    if ((st = nnrt_in_name(r, NULL, &dummy)) != NN_OK)
        return st;
    for (g = 0; g < 2; g++) { /* the parameters, then the buffers */
        if ((st = nnrt_in_u32(r, &count)) != NN_OK)
            return st;
        for (i = 0; i < count; i++)
            if ((st = nnrt_in_pretrained_tensor(r, ts, nt, store, copied)) != NN_OK)
                return st;
    }
    crc_calc = r->crc;
    if ((st = nnrt_in_u32(r, &crc_file)) != NN_OK)
        return st;
    st = nnrt_in_take(r, &extra, 1);
    if (st != NN_ERR_TRUNCATED)
        return st == NN_OK ? NN_ERR_FORMAT : st;
    return crc_calc == crc_file ? NN_OK : NN_ERR_CHECKSUM;
}

NNRT_API int nnrt_import_pretrained(const nn_param *ts, int nt, const void *buf, size_t len)
{
    nnrt_in r;
    int st, copied;
    if (!nnrt_group_ok(ts, nt) || (!buf && len > 0))
        return NN_ERR_ARG;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    if ((st = nnrt_in_pretrained(&r, ts, nt, 0, &copied)) != NN_OK)
        return st;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    st = nnrt_in_pretrained(&r, ts, nt, 1, &copied);
    return st == NN_OK ? copied : st;
}

#ifndef NN_FREESTANDING
NNRT_API int nnrt_load_pretrained(const char *path, const nn_param *ts, int nt)
{
    unsigned char stage[NNRT_IO_CHUNK];
    nnrt_in r;
    FILE *f;
    int st, copied = 0;
    if (!path || !nnrt_group_ok(ts, nt))
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
    st = nnrt_in_pretrained(&r, ts, nt, 0, &copied);
    if (st == NN_OK && fseek(f, 0L, SEEK_SET) != 0)
        st = NN_ERR_IO;
    if (st == NN_OK) {
        nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
        st = nnrt_in_pretrained(&r, ts, nt, 1, &copied);
    }
    fclose(f);
    return st == NN_OK ? copied : st;
}
#endif /* NN_FREESTANDING */

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
