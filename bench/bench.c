/*
 * bench.c - times one generated network: inference (NET_forward) and a
 * training step (NET_train_step: forward, backward, optimizer update) at
 * the batch sizes given on the command line, on fixed pseudo-random inputs
 * and labels. Built once per network by bench/CMakeLists.txt, like
 * examples/train.c: -DNET=mlp_adam -DNETU=MLP_ADAM -DNET_HEADER='"mlp_adam.h"'.
 *
 * Usage: bench_NET [--samples S] [--min-ms T] [--only infer|train] BATCH...
 * For each batch size, prints two lines
 *     NET infer BATCH MEDIAN_US
 *     NET train BATCH MEDIAN_US
 * where MEDIAN_US is the median over S samples (default 31) of the time of
 * one call; each sample times as many consecutive calls as fill T ms
 * (default 2), after a warm-up. The last training loss goes to stderr
 * (a diverging run would skip updates and look faster than it is).
 * With -DBENCH_INFER_ONLY (an --infer-only or `nngen quantize` build: no
 * training step) only inference is timed; bench/int8.sh builds it so.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(NET, CAT(_, f))
#define MACRO(m) CAT(NETU, CAT(_, m))
#define STR_(x) #x
#define STR(x) STR_(x)

#include NET_HEADER

#define IN_SIZE MACRO(IN_X_SIZE)
#define CLASSES MACRO(TARGET_Y_CLASSES)
#define MAX_BATCH MACRO(MAX_BATCH)

static NET model;
static float xs[MAX_BATCH * IN_SIZE];
static int32_t ys[MAX_BATCH];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static volatile float sink;

static void run(int train, int batch, long reps) {
    for (long r = 0; r < reps; r++) {
        if (train) {
#ifndef BENCH_INFER_ONLY
            sink = API(train_step)(&model, xs, ys, batch);
#endif
        } else {
            API(forward)(&model, xs, batch);
            sink = API(output_p)(&model)[0];
        }
    }
}

/* median time of one call, in microseconds */
static double measure(int train, int batch, int samples, double min_ms) {
    long reps = 1;
    double t0 = now();
    while (now() - t0 < 0.1) /* warm-up, and the calls per sample */
        run(train, batch, 1);
    for (;;) {
        double t = now();
        run(train, batch, reps);
        if ((now() - t) * 1e3 >= min_ms || reps > (1L << 24))
            break;
        reps *= 2;
    }
    double *times = malloc(sizeof(double) * (size_t)samples);
    if (!times)
        exit(2);
    for (int s = 0; s < samples; s++) {
        double t = now();
        run(train, batch, reps);
        times[s] = (now() - t) / (double)reps * 1e6;
    }
    qsort(times, (size_t)samples, sizeof *times, cmp_double);
    double med = times[samples / 2];
    free(times);
    return med;
}

int main(int argc, char **argv) {
    int samples = 31, only = -1; /* -1 both, 0 inference, 1 training */
    double min_ms = 2.0;
    unsigned seed = 12345;
    for (long i = 0; i < (long)MAX_BATCH * IN_SIZE; i++) { /* fixed data: uniform in [0, 1) */
        seed = seed * 1664525u + 1013904223u;
        xs[i] = (float)(seed >> 8) / 16777216.0f;
    }
    for (int i = 0; i < MAX_BATCH; i++) {
        seed = seed * 1664525u + 1013904223u;
        ys[i] = (int32_t)((seed >> 8) % CLASSES);
    }
    API(init)(&model, 1);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            samples = atoi(argv[++i]);
            continue;
        }
        if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = !strcmp(argv[++i], "train");
            continue;
        }
        if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) {
            min_ms = atof(argv[++i]);
            continue;
        }
        int batch = atoi(argv[i]);
        if (batch < 1 || batch > MAX_BATCH || samples < 1) {
            fprintf(stderr, "bench: batch must be in 1..%d, samples >= 1\n", MAX_BATCH);
            return 2;
        }
        if (only != 1)
            printf("%s infer %d %.3f\n", STR(NET), batch, measure(0, batch, samples, min_ms));
        fflush(stdout);
#ifndef BENCH_INFER_ONLY
        if (only != 0)
            printf("%s train %d %.3f\n", STR(NET), batch, measure(1, batch, samples, min_ms));
        fflush(stdout);
        fprintf(stderr, "%s: last loss at batch %d: %g\n", STR(NET), batch, (double)model.loss);
        if (!isfinite(model.loss))
            return 1;
#endif
    }
    return 0;
}
