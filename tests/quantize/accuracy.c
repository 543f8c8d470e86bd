/*
 * accuracy.c - the test accuracy of one generated network (float or int8:
 * the API is the same) on an IDX pair: prints "accuracy P %" (two
 * decimals) and, with a minimum, fails below it. Built per network with
 * NET (its name), NETU (upper-cased) and NET_HEADER defined; links the
 * runtime for the IDX readers.
 *
 *   accuracy IMAGES.idx LABELS.idx [MIN_PERCENT]
 */
#include <stdio.h>
#include <stdlib.h>

#include NET_HEADER
#include "nn_data.h"
#include "nn_runtime.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(NET, suffix)
#define MAC(suffix) CAT(NETU, suffix)

static NET model;

int main(int argc, char **argv) {
    nndata_idx_info ii, li;
    if (argc < 3 || nndata_idx_open(argv[1], &ii) < 0 || nndata_idx_open(argv[2], &li) < 0 ||
        ii.item_size != MAC(_IN_X_SIZE) || li.count != ii.count) {
        fprintf(stderr, "usage: accuracy IMAGES.idx LABELS.idx [MIN_PERCENT] (MNIST-shaped)\n");
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)(ii.count * ii.item_size));
    int32_t *y = malloc(sizeof(int32_t) * (size_t)ii.count);
    if (!x || !y || nndata_idx_read_f32(argv[1], x, ii.count * ii.item_size, 1.0f / 255.0f) != ii.count * ii.item_size ||
        nndata_idx_read_i32(argv[2], y, ii.count) != ii.count)
        return 2;
    FN(_init)(&model, 1);
    long right = 0;
    for (long s = 0; s < ii.count; s += MAC(_MAX_BATCH)) {
        int n = (int)(ii.count - s < MAC(_MAX_BATCH) ? ii.count - s : MAC(_MAX_BATCH));
        FN(_forward)(&model, x + s * ii.item_size, n);
        const float *p = FN(_output_p)(&model);
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < MAC(_OUT_P_SIZE); k++)
                if (p[i * MAC(_OUT_P_SIZE) + k] > p[i * MAC(_OUT_P_SIZE) + best])
                    best = k;
            right += best == y[s + i];
        }
    }
    double acc = 100.0 * (double)right / (double)ii.count;
    printf("accuracy %.2f %%\n", acc);
    free(x);
    free(y);
    return argc > 3 && acc < atof(argv[3]) ? 1 : 0;
}
