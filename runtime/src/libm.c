/*
 * libm.c - the runtime's own maths functions: what `nngen --freestanding`
 * output calls instead of libm (nn_runtime.h, "libm replacements": every
 * maths function but expf, logf, tanhf and sqrtf), and the logarithm of
 * the PRNG's normal deviates.
 *
 * Invariants: +, -, *, / and those four float functions only; the double
 * functions call no libm at all (nnrt_log, nnrt_exp and nnrt_sqrt give the
 * same bits everywhere); C99's special cases (NaN, infinities, signed
 * zeros) as the function replaced gives them. Each one's accuracy is stated
 * above it and tested (tests/unit/test_rt_libm.c).
 */
#include "internal.h"

/* ln x for finite x > 0 with +, -, *, / only (bit-identical everywhere):
 *   x = m 2^e with m in [sqrt(1/2), sqrt(2)), read from the bits of x;
 *   ln m = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (m-1)/(m+1),
 *     |t| <= 0.1716, cut after t^23: the first omitted term is below
 *     2e-20 relative to t;
 *   ln x = e ln2_hi + (ln m + e ln2_lo), fdlibm's split of ln 2 (ln2_hi has
 *     32 significant bits, so e ln2_hi is exact).
 * Error about 1 ulp of double. */
NNRT_PRIVATE double nnrt_log(double x) {
    union {
        double d;
        uint64_t u;
    } b;
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
NNRT_API double nnrt_exp(double x) {
    union {
        double d;
        uint64_t u;
    } s;
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
NNRT_API double nnrt_sqrt(double x) {
    union {
        double d;
        uint64_t u;
    } b;
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
NNRT_API double nnrt_pow(double x, double y) {
    double ax = x < 0.0 ? -x : x, ay = y < 0.0 ? -y : y, r; /* ax of -0 is -0: == 0 */
    union {
        double d;
        uint64_t u;
    } b;
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

NNRT_API float nnrt_fabsf(float x) {
    return nnrt_u2f(nnrt_f2u(x) & 0x7fffffffu);
}

NNRT_API float nnrt_fmaxf(float a, float b) {
    return a != a ? b : b != b ? a : a > b ? a : b;
}

NNRT_API float nnrt_fminf(float a, float b) {
    return a != a ? b : b != b ? a : a < b ? a : b;
}

/* floor by truncation through a 64-bit integer (every double of
 * magnitude below 2^52 converts exactly; those above are integers). */
NNRT_API double nnrt_floor(double x) {
    double t;
    if (!(x > -4503599627370496.0 && x < 4503599627370496.0)) /* NaN, infinities, |x| >= 2^52 */
        return x;
    t = (double)(int64_t)x;
    return t > x ? t - 1.0 : t;
}

/* fmod is exact: binary long division of |x| by |y|, subtracting |y| 2^k
 * from the largest k down; each subtraction is exact (the operands are
 * within a factor 2), and halving m retraces the exact doublings. */
NNRT_API double nnrt_fmod(double x, double y) {
    double ax = x < 0 ? -x : x, ay = y < 0 ? -y : y, m;
    if (x != x || y != y || ay == 0.0 || ax - ax != 0.0)
        return NAN;                /* NaN operands, y = 0, x infinite */
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
NNRT_API double nnrt_cos(double x) {
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
    } else { /* sin r = r (1 - r^2/3! + r^4/5! - ...) */
        for (i = 19; i >= 3; i -= 2)
            p = 1.0 - p * r2 / (double)(i * (i - 1));
        p *= r;
    }
    return q == 0 || q == 3 ? p : -p; /* cos r, -sin r, -cos r, sin r */
}

/* sinh x = (e^x - e^-x) / 2 in double (the cancellation costs at most
 * 2^-52 / |x| of relative accuracy: nothing in float beyond |x| = 2^-10),
 * and x + x^3/6 below (the next term is 2^-40 of it). */
NNRT_API float nnrt_sinhf(float x) {
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
NNRT_API float nnrt_expm1f(float x) {
    float u = expf(x), um1;
    if (u == 1.0f)
        return x; /* |x| below an ulp: e^x - 1 rounds to x (+-0 too) */
    um1 = u - 1.0f;
    if (um1 == -1.0f)
        return -1.0f;
    if (u > 3.40282347e38f)
        return u;               /* +inf */
    return um1 * (x / logf(u)); /* x / ln u is near 1: no overflow near expf's limit */
}

/* Goldberg's ln(1 + x): with u = 1 + x, ln(u) x / (u - 1) cancels the
 * rounding error of u. */
NNRT_API float nnrt_log1pf(float x) {
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
NNRT_API float nnrt_erff(float x) {
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
NNRT_API float nnrt_powf(float x, float y) {
    return (float)nnrt_pow((double)x, (double)y);
}
