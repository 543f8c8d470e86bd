/*
 * finetune_main.c - fine-tuning a CNN on the device: examples/digits_head.nn
 * generated with --weights digits_cnn.nnw (its convolutions pre-trained on
 * the host on the digits 0-4, frozen: const data in flash; the new head
 * from its init=, trainable, in RAM) learns the digits 5-9 from a few
 * samples stored in flash as bytes. The samples are streamed one at a
 * time: each step scales one 28x28 image to floats in a buffer of 784
 * and trains on it (batch 1), in a fresh order every epoch (PCG32 seeded
 * (1, 0x5eed), Fisher-Yates). Then it classifies the test digits 5-9 in
 * flash, one at a time.
 *
 * Prints the loss of every epoch, the probabilities of the first SHOW test
 * digits and the test accuracy (the head before training is not scored:
 * each pass over the test digits costs as much as a training epoch and a
 * half under QEMU). tests/firmware builds the
 * same program for the host, from the same generated C, as the reference
 * the device's lines are compared with (qemu.sh finetune).
 *
 * Build (examples/firmware/CMakeLists.txt does): -DNET=digits_head
 * -DNETU=DIGITS_HEAD -DNET_HEADER='"digits_head.h"' -DEPOCHS=10, with
 * train.h (prefix train_) and test.h (prefix test_) from embed_data.cmake.
 */
#include <stdint.h>
#include <stdio.h>

#include "net_api.h"

#include NET_HEADER
#include "rng.h"
#include "test.h"
#include "train.h"

#define IN_SIZE MACRO(IN_X_SIZE)
#define OUT_SIZE MACRO(OUT_P_SIZE)
#define SEED 1
#define SHOW 5

static NET model; /* RAM: the head, its gradients and Adam state, the activations */
static float x[IN_SIZE]; /* the one sample in floats */

/* one image of bytes into x, scaled as nngen train scales IDX pixels */
static void load(const unsigned char *pixels)
{
    for (int i = 0; i < IN_SIZE; i++)
        x[i] = (float)pixels[i] * (1.0f / 255.0f);
}

/* one epoch over a fresh permutation, one sample per step; the mean loss */
static double epoch(Rng *rng, int *order)
{
    double total = 0.0;
    rng_shuffle(rng, order, TRAIN_DIGITS);
    for (int s = 0; s < TRAIN_DIGITS; s++) {
        int32_t y = train_labels[order[s]];
        load(train_digits[order[s]]);
        total += (double)API(train_step)(&model, x, &y, 1);
    }
    return total / TRAIN_DIGITS;
}

/* the argmax of the output p after a forward pass of x */
static int classify(void)
{
    API(forward)(&model, x, 1);
    const float *p = API(output_p)(&model);
    int best = 0;
    for (int k = 1; k < OUT_SIZE; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

/* test digits classified right; the first SHOW printed with their outputs */
static int right(void)
{
    int count = 0;
    for (int d = 0; d < TEST_DIGITS; d++) {
        load(test_digits[d]);
        int best = classify();
        count += best == test_labels[d];
        if (d < SHOW) {
            printf("digit %d label %d pred %d p", d, test_labels[d], best);
            for (int k = 0; k < OUT_SIZE; k++)
                printf(" %.9g", (double)API(output_p)(&model)[k]);
            printf("\n");
        }
    }
    return count;
}

int main(void)
{
    static int order[TRAIN_DIGITS];
    Rng rng;
    for (int i = 0; i < TRAIN_DIGITS; i++)
        order[i] = i;
    rng_seed(&rng, SEED, 0x5eed);
    API(init)(&model, SEED);
    printf("network %s, fine-tuning: %d frozen scalars (const data), %d trainable, model struct %u bytes\n",
           STR(NET), MACRO(CONST_SCALARS), MACRO(TRAINABLE_SCALARS), (unsigned)sizeof model);
    printf("data: %d training samples (streamed one at a time), %d test digits, %d epochs\n", TRAIN_DIGITS,
           TEST_DIGITS, EPOCHS);
    for (int e = 1; e <= EPOCHS; e++) {
        double loss = epoch(&rng, order);
        API(epoch_end)(&model);
        printf("epoch %d  loss %.6f\n", e, loss);
    }
    int r = right();
    printf("test accuracy %d of %d (%.2f %%)\n", r, TEST_DIGITS, 100.0 * r / TEST_DIGITS);
    return 0;
}
