/*
 * threads_gemm.c - where threading nnrt_sgemm_ws pays: the threaded
 * runtime (the amalgamation with NNRT_THREADS, as nngen train's trainer
 * pastes it) times the packed product of a batch of 32 rows, C (32 x N) =
 * A (32 x K) B (K x N), on 1 and on T threads, alternately, over sizes
 * from 2^16 to 2^23 multiply-adds. NNRT_MT_FLOPS (internal.h) is set below
 * the size where T threads stop losing. Build and run (after building
 * build/runtime/nn_runtime.c: cmake --build build --target nnrt_amalgamation):
 *   cc -O3 -march=native -pthread -DNNRT_MT_FLOPS=0 -I build/runtime -I runtime \
 *      bench/threads_gemm.c -o threads_gemm -lm
 *   threads_gemm [T] [ROUNDS]
 * The per-call time of a size is the median of ROUNDS rounds (each a
 * 0.05 s run of back-to-back calls).
 */
#define _POSIX_C_SOURCE 200809L
#define NNRT_THREADS 1
#define NNRT_API static inline
#include "nn_runtime.h"
#include "nn_runtime.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* microseconds per call of one product on `threads` threads */
static double time_one(int threads, int M, int N, int K, const float *A, const float *B, float *C, float *W) {
    double t0, t;
    long calls = 0;
    nnrt_mt_set_threads(threads);
    t0 = now();
    do {
        nnrt_sgemm_ws(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N, W, NULL, NULL);
        calls++;
    } while ((t = now() - t0) < 0.05);
    return 1e6 * t / (double)calls;
}

int main(int argc, char **argv) {
    enum { M = 32, MAXR = 64 };
    static const int NK[][2] = {{32, 64},   {64, 64},   {64, 128},  {128, 128}, {128, 256},
                                {128, 512}, {256, 512}, {128, 784}, {256, 784}, {512, 784}};
    int threads = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 5, s, r;
    float *A = malloc(sizeof(float) * M * 1024), *B = malloc(sizeof(float) * 1024 * 1024);
    float *C = malloc(sizeof(float) * M * 1024), *W = malloc(sizeof(float) * 400000);
    if (!A || !B || !C || !W || threads < 2 || rounds < 1 || rounds > MAXR)
        return 2;
    for (s = 0; s < M * 1024; s++)
        A[s] = (float)(s % 7) - 3.0f;
    for (s = 0; s < 1024 * 1024; s++)
        B[s] = (float)(s % 5) - 2.0f;
    printf("32 x N x K products, us per call (median of %d alternating rounds), 1 vs %d threads\n", rounds, threads);
    printf("%5s %5s %9s %9s %9s %6s\n", "N", "K", "MACs", "1 thr", "T thr", "ratio");
    for (s = 0; s < (int)(sizeof NK / sizeof NK[0]); s++) {
        double one[MAXR], many[MAXR];
        int N = NK[s][0], K = NK[s][1];
        for (r = 0; r < rounds; r++) {
            one[r] = time_one(1, M, N, K, A, B, C, W);
            many[r] = time_one(threads, M, N, K, A, B, C, W);
        }
        qsort(one, (size_t)rounds, sizeof one[0], cmp);
        qsort(many, (size_t)rounds, sizeof many[0], cmp);
        printf("%5d %5d %9ld %9.1f %9.1f %6.2f\n", N, K, (long)M * N * K, one[rounds / 2], many[rounds / 2],
               many[rounds / 2] / one[rounds / 2]);
    }
    return 0;
}
