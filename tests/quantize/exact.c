/*
 * exact.c - bit-exactness of nngen quantize's generated C against the
 * fixtures of reference.py. It includes the generated source of a network
 * with input x and output z (NET_SOURCE; NET and NETU name it, tiny.nn by
 * default) to reach its static integer kernels:
 *
 *   exact rescale rescale.txt   every "scale X M S R" line: nnq_scale(X, M, S) == R; and, where the
 *                               generated convolution uses AVX-512 VNNI (NNQ_VNNI), its 16 lanes'
 *                               nnq_scale16 too (16 lines at a time)
 *   exact run NET.csv           prints the network's outputs per input row, '%.9g'
 *                               (CTest compares them with NET.expected)
 *   exact run1 NET.csv          the same, one row a call (a --max-batch 1 build)
 *   exact quantize              nnq_quantize against the scheme written out in double precision
 *                               (round half away from zero, clamp, NaN to -128) on ties, their
 *                               neighbours, the clamps, NaN and infinities and 2^20 pseudo-random floats
 *   exact int8                  NET_forward_int8 of int8 inputs (every value at every position)
 *                               equals NET_forward of the floats they stand for, bit for bit
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include NET_SOURCE

#ifndef NET
#define NET tiny
#define NETU TINY
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(NET, suffix)
#define MAC(suffix) CAT(NETU, suffix)

#if defined(NNQ_VNNI)
/* nnq_scale16 of up to 16 rescalings (the rest of the lanes zero) against the reference's results */
static int check_rescale16(const int32_t *x, const int32_t *mult, const int32_t *shift, const long long *want,
                           int count) {
    int32_t vx[16] = {0}, vm[16] = {0}, ls[16] = {0}, rs[16] = {0}, got[16];
    int bad = 0;
    for (int j = 0; j < count; j++) {
        vx[j] = x[j];
        vm[j] = mult[j];
        ls[j] = shift[j] > 0 ? shift[j] : 0;
        rs[j] = shift[j] > 0 ? 0 : -shift[j];
    }
    _mm512_storeu_si512(got, nnq_scale16(_mm512_loadu_si512(vx), _mm512_loadu_si512(vm), _mm512_loadu_si512(ls),
                                         _mm512_loadu_si512(rs)));
    for (int j = 0; j < count; j++)
        if (got[j] != want[j] && bad++ < 10)
            printf("scale16(%ld, %ld, %ld) = %ld, the reference says %lld\n", (long)x[j], (long)mult[j],
                   (long)shift[j], (long)got[j], want[j]);
    return bad;
}
#endif

static int check_rescale(const char *path) {
    FILE *f = fopen(path, "r");
    char kind[32];
    long long x, mult, shift, want;
    int lines = 0, bad = 0;
#if defined(NNQ_VNNI)
    int32_t bx[16], bm[16], bs[16];
    long long bw[16];
    int nb = 0, lanes = 0;
#endif
    if (!f)
        return 2;
    while (fscanf(f, "%31s", kind) == 1) {
        if (strcmp(kind, "scale") != 0) {
            int c;
            while ((c = getc(f)) != '\n' && c != EOF)
                ;
            continue;
        }
        if (fscanf(f, "%lld %lld %lld %lld", &x, &mult, &shift, &want) != 4)
            return 2;
        int32_t got = nnq_scale((int32_t)x, (int32_t)mult, (int)shift);
        lines++;
        if (got != want && bad++ < 10)
            printf("scale(%lld, %lld, %lld) = %ld, the reference says %lld\n", x, mult, shift, (long)got, want);
#if defined(NNQ_VNNI)
        bx[nb] = (int32_t)x;
        bm[nb] = (int32_t)mult;
        bs[nb] = (int32_t)shift;
        bw[nb++] = want;
        if (nb == 16) {
            bad += check_rescale16(bx, bm, bs, bw, nb);
            lanes += nb;
            nb = 0;
        }
#endif
    }
    fclose(f);
#if defined(NNQ_VNNI)
    bad += check_rescale16(bx, bm, bs, bw, nb);
    lanes += nb;
    printf("%d rescalings in 16 lanes (AVX-512)\n", lanes);
#endif
    printf("%d rescalings, %d differ\n", lines, bad);
    return bad || lines < 100;
}

static NET model;

static int run(const char *path, int one) {
    static float x[256 * MAC(_IN_X_SIZE)];
    FILE *f = fopen(path, "r");
    int count = 0;
    if (!f)
        return 2;
    while (count < 256 * MAC(_IN_X_SIZE) && fscanf(f, "%f%*[,\n]", &x[count]) == 1)
        count++;
    fclose(f);
    int rows = count / MAC(_IN_X_SIZE);
    if (count % MAC(_IN_X_SIZE) || !count || (!one && rows > MAC(_MAX_BATCH)))
        return 2;
    FN(_init)(&model, 0);
    for (int at = 0; at < rows; at += one ? 1 : rows) {
        int n = one ? 1 : rows;
        FN(_forward)(&model, x + (long)at * MAC(_IN_X_SIZE), n);
        const float *z = FN(_output_z)(&model);
        for (long r = 0; r < n; r++)
            for (int k = 0; k < MAC(_OUT_Z_SIZE); k++)
                printf("%.9g%c", (double)z[r * MAC(_OUT_Z_SIZE) + k], k + 1 < MAC(_OUT_Z_SIZE) ? ' ' : '\n');
    }
    return 0;
}

/* the scheme: q = clamp(round(x * inv) + zp), round half away from zero; NaN to the lowest value */
static int8_t quantize_ref(float x, float inv, int zp) {
    const float v = x * inv; /* the generated code's one float product */
    if (v != v)
        return -128;
    const double r = v < 0 ? -floor(-(double)v + 0.5) : floor((double)v + 0.5), q = r + zp;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

static int check_quantize(void) {
    enum { N = 1 << 20 };
    static float x[N];
    static int8_t q[N];
    const float inv[3] = {1.0f, 254.999985f, 0.37f};
    const int zp[3] = {0, -128, 17};
    long n = 0, bad = 0;
    for (int k = -300; k <= 300; k++) { /* ties and their neighbours */
        const float t = (float)k * 0.5f;
        x[n++] = t;
        x[n++] = nextafterf(t, 1e9f);
        x[n++] = nextafterf(t, -1e9f);
    }
    x[n++] = NAN;
    x[n++] = INFINITY;
    x[n++] = -INFINITY;
    x[n++] = 1024.5f;
    x[n++] = -1024.5f;
    x[n++] = 3e9f;
    x[n++] = -3e9f;
    x[n++] = 1e-40f;
    for (uint32_t s = 12345u; n < N; n++) { /* any bit pattern */
        s = s * 1664525u + 1013904223u;
        memcpy(&x[n], &s, sizeof s);
    }
    for (int c = 0; c < 3; c++) {
        nnq_quantize(x, q, N, inv[c], zp[c]);
        for (long i = 0; i < N; i++)
            if (q[i] != quantize_ref(x[i], inv[c], zp[c]) && bad++ < 10)
                printf("quantize(%.9g * %.9g, zp %d) = %d, the scheme says %d\n", (double)x[i], (double)inv[c], zp[c],
                       q[i], quantize_ref(x[i], inv[c], zp[c]));
    }
    printf("%d quantizations, %ld differ\n", 3 * N, bad);
    return bad != 0;
}

/* 256 samples, one a call, sample s at position i holding (31 s + 7 i) mod 256 - 128: every int8
 * value at every position. The float input SCALE (q - ZERO_POINT) quantizes back to q (the error of
 * the two float products is far below half a step). */
static int check_int8(void) {
    static float x[MAC(_IN_X_SIZE)], z[MAC(_OUT_Z_SIZE)];
    static int8_t xq[MAC(_IN_X_SIZE)];
    int bad = 0;
    FN(_init)(&model, 0);
    for (int s = 0; s < 256; s++) {
        for (int i = 0; i < MAC(_IN_X_SIZE); i++) {
            xq[i] = (int8_t)((31 * s + 7 * i) % 256 - 128);
            x[i] = (float)(xq[i] - MAC(_IN_X_ZERO_POINT)) * MAC(_IN_X_SCALE);
        }
        FN(_forward)(&model, x, 1);
        memcpy(z, FN(_output_z)(&model), sizeof z);
        FN(_forward_int8)(&model, xq, 1);
        if (memcmp(z, FN(_output_z)(&model), sizeof z) && bad++ < 5)
            printf("sample %d: NET_forward_int8's outputs differ from NET_forward's\n", s);
    }
    printf("256 samples: %d differ\n", bad);
    return bad != 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "rescale"))
        return check_rescale(argv[2]);
    if (argc == 3 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "run1")))
        return run(argv[2], !strcmp(argv[1], "run1"));
    if (argc == 2 && !strcmp(argv[1], "quantize"))
        return check_quantize();
    if (argc == 2 && !strcmp(argv[1], "int8"))
        return check_int8();
    fprintf(stderr, "usage: exact rescale FILE | exact run FILE.csv | exact run1 FILE.csv | exact quantize | exact int8\n");
    return 2;
}
