/*
 * train.c - a small training driver for any generated network that has one
 * input `x`, one target `y` and one output `p`, using only the generated C
 * API (docs/c-api.md) and the data loaders of nn_data (runtime/data/nn_data.h).
 *
 * Build (the CMake of examples/ does this for every example):
 *   cc -DNET=moons -DNETU=MOONS -DNET_HEADER='"moons.h"' -DCLASS_TARGET \
 *      train.c moons.c -lnn_data -lnnrt -lm
 * CLASS_TARGET: y is a class label (accuracy = argmax of p); otherwise y is
 * real-valued (the score is the mean squared error of p), and BINARY adds
 * the accuracy of p > 0.5 against y (0/1 targets, e.g. xor).
 *
 * Usage:
 *   train --train DATA --test DATA [--epochs 5] [--batch 32] [--seed 1]
 *         [--save FILE.nnw] [--min-accuracy PCT] [--max-mse V]
 * DATA is IMAGES.idx,LABELS.idx (pixels scaled to [0, 1]) or FILE.csv
 * (inputs, then the target in the last column(s); a header line is
 * skipped). --min-accuracy / --max-mse make the exit status 1 when the
 * final test score misses the bar (the tests use this).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(NET, CAT(_, f))
#define MACRO(m) CAT(NETU, CAT(_, m))
#define STR_(x) #x
#define STR(x) STR_(x)

#include NET_HEADER
#include "nn_data.h"

#define IN_SIZE MACRO(IN_X_SIZE)
#define OUT_SIZE MACRO(OUT_P_SIZE)
#define MAX_BATCH MACRO(MAX_BATCH)

#ifdef CLASS_TARGET
typedef int32_t target_t;
#define TARGET_SIZE 1
#else
typedef float target_t;
#define TARGET_SIZE OUT_SIZE
#endif

typedef struct Data {
    long count;
    float *x;          /* count x IN_SIZE (CSV data), or NULL */
    unsigned char *x8; /* count x IN_SIZE bytes (IDX images, value = byte / 255), or NULL */
    target_t *y;       /* count x TARGET_SIZE */
} Data;

/* sample i's inputs as floats into dst (IDX images stay bytes until here:
 * a quarter of the memory) */
static void get_inputs(const Data *d, long i, float *dst) {
    if (d->x) {
        memcpy(dst, d->x + i * IN_SIZE, sizeof(float) * IN_SIZE);
        return;
    }
    const unsigned char *b = d->x8 + i * IN_SIZE;
    for (int k = 0; k < IN_SIZE; k++)
        dst[k] = (float)b[k] * (1.0f / 255.0f);
}

typedef struct Options {
    const char *train, *test, *save;
    int epochs, batch;
    unsigned long seed;
    double min_accuracy, max_mse;
} Options;

static void die(const char *what, const char *path, int status) {
    fprintf(stderr, "train: %s '%s'%s%s\n", what, path, status ? ": " : "", status ? nnrt_strerror(status) : "");
    exit(2);
}

static void *alloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "train: out of memory\n");
        exit(2);
    }
    return p;
}

/* IMAGES.idx,LABELS.idx */
static void load_idx(const char *spec, Data *d) {
    char images[4096];
    const char *comma = strchr(spec, ',');
    nndata_idx_info ii, li;
    int st;
    if ((size_t)(comma - spec) >= sizeof images)
        die("path too long", spec, 0);
    memcpy(images, spec, (size_t)(comma - spec));
    images[comma - spec] = '\0';
    if ((st = nndata_idx_open(images, &ii)) < 0)
        die("cannot read", images, st);
    if ((st = nndata_idx_open(comma + 1, &li)) < 0)
        die("cannot read", comma + 1, st);
    if (ii.item_size != IN_SIZE || li.count != ii.count || TARGET_SIZE != 1)
        die("shapes do not fit the network:", spec, 0);
    d->count = ii.count;
    d->x = NULL;
    d->x8 = alloc((size_t)(d->count * IN_SIZE));
    d->y = alloc(sizeof(target_t) * (size_t)d->count);
    if (nndata_idx_read_u8(images, d->x8, d->count * IN_SIZE) != d->count * IN_SIZE)
        die("cannot read", images, 0);
#ifdef CLASS_TARGET
    if (nndata_idx_read_i32(comma + 1, d->y, d->count) != d->count)
        die("cannot read", comma + 1, 0);
#else
    int32_t *labels = alloc(sizeof(int32_t) * (size_t)d->count);
    if (nndata_idx_read_i32(comma + 1, labels, d->count) != d->count)
        die("cannot read", comma + 1, 0);
    for (long i = 0; i < d->count; i++)
        d->y[i] = (float)labels[i];
    free(labels);
#endif
}

/* FILE.csv: IN_SIZE input columns, then TARGET_SIZE target columns */
static void load_csv(const char *path, Data *d) {
    long rows;
    int cols, header, st;
    if ((st = nndata_csv_info(path, &rows, &cols, &header)) < 0)
        die("cannot read", path, st);
    if (cols != IN_SIZE + TARGET_SIZE)
        die("the column count does not fit the network:", path, 0);
    float *all = alloc(sizeof(float) * (size_t)(rows * cols));
    if (nndata_csv_read(path, all, rows * cols) != rows * cols)
        die("cannot read", path, 0);
    d->count = rows;
    d->x8 = NULL;
    d->x = alloc(sizeof(float) * (size_t)(rows * IN_SIZE));
    d->y = alloc(sizeof(target_t) * (size_t)(rows * TARGET_SIZE));
    for (long r = 0; r < rows; r++) {
        for (int c = 0; c < IN_SIZE; c++)
            d->x[r * IN_SIZE + c] = all[r * cols + c];
        for (int c = 0; c < TARGET_SIZE; c++)
            d->y[r * TARGET_SIZE + c] = (target_t)all[r * cols + IN_SIZE + c];
    }
    free(all);
}

static void load(const char *spec, Data *d) {
    if (strchr(spec, ','))
        load_idx(spec, d);
    else
        load_csv(spec, d);
}

/* The score of the model on d: accuracy in percent (classes, binary) in
 * *acc, mean squared error in *mse (real targets). */
static void evaluate(NET *m, const Data *d, double *acc, double *mse) {
    static float bx[MAX_BATCH * IN_SIZE];
    long right = 0;
    double se = 0;
    for (long s = 0; s < d->count; s += MAX_BATCH) {
        int n = (int)(d->count - s < MAX_BATCH ? d->count - s : MAX_BATCH);
        for (int i = 0; i < n; i++)
            get_inputs(d, s + i, bx + (long)i * IN_SIZE);
        API(forward)(m, bx, n);
        const float *p = API(output_p)(m);
        for (int i = 0; i < n; i++) {
            const float *pi = p + (long)i * OUT_SIZE;
            const target_t *yi = d->y + (s + i) * TARGET_SIZE;
#ifdef CLASS_TARGET
            int best = 0;
            for (int k = 1; k < OUT_SIZE; k++)
                if (pi[k] > pi[best])
                    best = k;
            right += best == yi[0];
#else
            for (int k = 0; k < OUT_SIZE; k++)
                se += ((double)pi[k] - yi[k]) * ((double)pi[k] - yi[k]);
            right += (pi[0] > 0.5f) == (yi[0] > 0.5f);
#endif
        }
    }
    *acc = 100.0 * (double)right / (double)d->count;
    *mse = se / ((double)d->count * OUT_SIZE);
}

/* One epoch over a fresh permutation, in batches; returns the mean loss. */
/* a loss or an mse as Keras prints it: 4 decimals, e-notation below 1e-3
 * (and from 1e6 on) so that small values keep their digits; buf: 32 bytes */
static const char *figure(char *buf, double v) {
    double a = fabs(v);
    snprintf(buf, 32, a != 0 && (a < 1e-3 || a >= 1e6) ? "%.4e" : "%.4f", v);
    return buf;
}

static double run_epoch(NET *m, const Data *d, int batch, nnrt_rng *rng, long *order, float *bx, target_t *by) {
    double total = 0;
    for (long i = d->count - 1; i > 0; i--) { /* Fisher-Yates */
        long j = (long)(nnrt_rng_u32(rng) % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long s = 0; s < d->count; s += batch) {
        int n = (int)(d->count - s < batch ? d->count - s : batch);
        for (int i = 0; i < n; i++) {
            get_inputs(d, order[s + i], bx + (long)i * IN_SIZE);
            memcpy(by + (long)i * TARGET_SIZE, d->y + order[s + i] * TARGET_SIZE, sizeof(target_t) * TARGET_SIZE);
        }
        total += (double)API(train_step)(m, bx, by, n) * n;
    }
    return total / (double)d->count;
}

static void parse(int argc, char **argv, Options *o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--train")) o->train = v;
        else if (!strcmp(k, "--test")) o->test = v;
        else if (!strcmp(k, "--save")) o->save = v;
        else if (!strcmp(k, "--epochs")) o->epochs = atoi(v);
        else if (!strcmp(k, "--batch")) o->batch = atoi(v);
        else if (!strcmp(k, "--seed")) o->seed = strtoul(v, NULL, 10);
        else if (!strcmp(k, "--min-accuracy")) o->min_accuracy = atof(v);
        else if (!strcmp(k, "--max-mse")) o->max_mse = atof(v);
        else die("unknown option", k, 0);
    }
    if (argc % 2 == 0 || !o->train || !o->test || o->epochs < 1 || o->batch < 1 || o->batch > MAX_BATCH) {
        fprintf(stderr, "usage: %s --train DATA --test DATA [--epochs N] [--batch B (<= %d)] [--seed S]\n"
                        "          [--save FILE] [--min-accuracy PCT] [--max-mse V]\n", argv[0], MAX_BATCH);
        exit(2);
    }
}

int main(int argc, char **argv) {
    static NET model; /* the whole model, all memory included: static, not on the stack */
    Options o = {NULL, NULL, NULL, 5, 32, 1, -1, -1};
    Data train, test;
    parse(argc, argv, &o);
    load(o.train, &train);
    load(o.test, &test);
    long *order = alloc(sizeof(long) * (size_t)train.count);
    float *bx = alloc(sizeof(float) * (size_t)(o.batch * IN_SIZE));
    target_t *by = alloc(sizeof(target_t) * (size_t)(o.batch * TARGET_SIZE));
    for (long i = 0; i < train.count; i++)
        order[i] = i;
    nnrt_rng rng;
    nnrt_rng_seed(&rng, o.seed, 0x5eed);
    API(init)(&model, o.seed);
    printf("network %s: %d parameters, %ld training and %ld test samples, batch %d\n",
           STR(NET), MACRO(PARAM_SCALARS), train.count, test.count, o.batch);
    printf("loss: the mean over the epoch's steps as the weights change; train and test: the weights at its end\n");
    char f1[32];
    double acc = 0, mse = 0, tacc, tmse;
    int every = o.epochs <= 20 ? 1 : o.epochs / 20; /* about 20 lines per run */
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        double loss = run_epoch(&model, &train, o.batch, &rng, order, bx, by);
        API(epoch_end)(&model);
        if (epoch % every && epoch != o.epochs)
            continue;
        evaluate(&model, &train, &tacc, &tmse);
        evaluate(&model, &test, &acc, &mse);
#ifdef CLASS_TARGET
        printf("epoch %3d  loss %s  train accuracy %6.2f %%  test accuracy %6.2f %%\n", epoch, figure(f1, loss), tacc,
               acc);
#elif defined(BINARY)
        printf("epoch %3d  loss %s  train accuracy %6.2f %%  test accuracy %6.2f %%\n", epoch, figure(f1, loss), tacc,
               acc);
#else
        char f2[32], f3[32];
        printf("epoch %3d  loss %s  train mse %s  test mse %s\n", epoch, figure(f1, loss), figure(f2, tmse),
               figure(f3, mse));
#endif
    }
    if (o.save) {
        int st = API(save)(&model, o.save);
        if (st < 0)
            die("cannot save", o.save, st);
        printf("saved %s\n", o.save);
    }
    int ok = 1;
#if defined(CLASS_TARGET) || defined(BINARY)
    printf("final test accuracy %.2f %%\n", acc);
    ok = o.min_accuracy < 0 || acc >= o.min_accuracy;
#else
    printf("final test mse %s\n", figure(f1, mse));
    ok = o.max_mse < 0 || mse <= o.max_mse;
#endif
    free(order);
    free(bx);
    free(by);
    free(train.x);
    free(train.x8);
    free(train.y);
    free(test.x);
    free(test.x8);
    free(test.y);
    return ok ? 0 : 1;
}
