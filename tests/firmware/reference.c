/*
 * reference.c - what the MNIST firmware must print, computed on the host:
 * the same network generated for the host (plain nngen output, the runtime
 * library), its weights read from the trained file with NET_load (not
 * embedded), run on the same first digits of the test set one at a time,
 * printed in the format of examples/firmware/mnist_main.c. compare.sh
 * then checks the device's lines against these.
 *
 *   reference WEIGHTS.nnw TEST-IMAGES.idx TEST-LABELS.idx COUNT
 */
#include <stdio.h>
#include <stdlib.h>

#include "../net_api.h"

#include NET_HEADER
#include "nn_data.h"

#define IN_SIZE MACRO(IN_X_SIZE)
#define OUT_SIZE MACRO(OUT_P_SIZE)

int main(int argc, char **argv)
{
    static NET model;
    int count = argc == 5 ? atoi(argv[4]) : 0, right = 0, st;
    if (count < 1) {
        fprintf(stderr, "usage: %s WEIGHTS.nnw TEST-IMAGES.idx TEST-LABELS.idx COUNT\n", argv[0]);
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)count * IN_SIZE);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)count);
    API(init)(&model, 0);
    if (!x || !y || (st = API(load)(&model, argv[1])) < 0) {
        fprintf(stderr, "reference: cannot load %s\n", argv[1]);
        return 1;
    }
    if (nndata_idx_read_f32(argv[2], x, (long)count * IN_SIZE, 1.0f / 255.0f) != (long)count * IN_SIZE ||
        nndata_idx_read_i32(argv[3], y, count) != count) {
        fprintf(stderr, "reference: cannot read %d digits of %s / %s\n", count, argv[2], argv[3]);
        return 1;
    }
    for (int d = 0; d < count; d++) {
        API(forward)(&model, x + (long)d * IN_SIZE, 1);
        const float *p = API(output_p)(&model);
        int best = 0;
        for (int k = 1; k < OUT_SIZE; k++)
            if (p[k] > p[best])
                best = k;
        right += best == y[d];
        printf("digit %d label %d pred %d p", d, (int)y[d], best);
        for (int k = 0; k < OUT_SIZE; k++)
            printf(" %.9g", (double)p[k]);
        printf("\n");
    }
    printf("right %d of %d\n", right, count);
    free(x);
    free(y);
    return 0;
}
