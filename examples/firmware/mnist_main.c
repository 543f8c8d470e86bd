/*
 * mnist_main.c - inference on the device: an MNIST MLP whose trained
 * weights nngen embedded as const data (--weights --infer-only
 * --freestanding), run on test digits stored in flash. Prints, per digit,
 * its label, the prediction and the ten output probabilities, then the
 * count right. The host prints the same lines from the same weights
 * (tests/firmware/reference.c) for the comparison of the two.
 *
 * Build (examples/firmware/CMakeLists.txt does): -DNET=mnist_mlp32
 * -DNETU=MNIST_MLP32 -DNET_HEADER='"mnist_mlp32.h"', with digits.h from
 * embed_data.cmake.
 */
#include <stdint.h>
#include <stdio.h>

#include "net_api.h"

#include NET_HEADER
#include "digits.h"

#define IN_SIZE MACRO(IN_X_SIZE)
#define OUT_SIZE MACRO(OUT_P_SIZE)

static NET model; /* RAM: the activations only, the weights are in flash */

int main(void)
{
    static float x[IN_SIZE];
    int right = 0;
    API(init)(&model, 0);
    printf("network %s on the device: %d parameters in flash, model struct %u bytes of RAM\n", STR(NET),
           MACRO(PARAM_SCALARS), (unsigned)sizeof model);
    for (int d = 0; d < NN_DIGITS; d++) {
        for (int i = 0; i < IN_SIZE; i++)
            x[i] = (float)nn_digits[d][i] * (1.0f / 255.0f); /* as nndata_idx_read_f32 scales */
        API(forward)(&model, x, 1);
        const float *p = API(output_p)(&model);
        int best = 0;
        for (int k = 1; k < OUT_SIZE; k++)
            if (p[k] > p[best])
                best = k;
        right += best == nn_labels[d];
        printf("digit %d label %d pred %d p", d, nn_labels[d], best);
        for (int k = 0; k < OUT_SIZE; k++)
            printf(" %.9g", (double)p[k]);
        printf("\n");
    }
    printf("right %d of %d\n", right, NN_DIGITS);
    return 0;
}
