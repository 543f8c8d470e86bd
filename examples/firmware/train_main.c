/*
 * train_main.c - training on the device: a network generated with
 * --freestanding (parameters, gradients and optimizer state in one static
 * struct in RAM) trained from scratch on a data set stored in flash, as the
 * host driver examples/train.c trains it: the same seed, the same shuffles
 * (PCG32 seeded (seed, 0x5eed), Fisher-Yates), the same batches. Prints the
 * loss as it falls and the final accuracy, then checks NET_export /
 * NET_import on a buffer: the image restores the trained model exactly
 * into a fresh one, and a damaged image is refused.
 *
 * Build (examples/firmware/CMakeLists.txt does): -DNET=moons -DNETU=MOONS
 * -DNET_HEADER='"moons.h"' -DCLASS_TARGET (or -DBINARY for a 0/1 real
 * target) -DEPOCHS=500 -DBATCH=1, with data.h from embed_data.cmake.
 * -DFINETUNE: a network generated with --weights (fine-tuning: its frozen
 * parameters const data in flash, NET_init starting the others from the
 * host's file or their init=); it prints what is in flash and what trains.
 */
#include <stdint.h>
#include <stdio.h>

#include "net_api.h"

#include NET_HEADER
#include "data.h"
#include "rng.h"

#define IN_SIZE MACRO(IN_X_SIZE)
#define OUT_SIZE MACRO(OUT_P_SIZE)
#define SEED 1

#ifdef CLASS_TARGET
typedef int32_t target_t;
#else
typedef float target_t;
#endif

static NET model, copy; /* all of a network's memory, each */
static unsigned char image[MACRO(WEIGHTS_BYTES)];

/* one epoch over a fresh permutation, in batches; the mean loss */
static double epoch(Rng *rng, int *order)
{
    static float bx[BATCH * NN_IN];
    static target_t by[BATCH];
    double total = 0.0;
    rng_shuffle(rng, order, NN_ROWS);
    for (int s = 0; s < NN_ROWS; s += BATCH) {
        int n = NN_ROWS - s < BATCH ? NN_ROWS - s : BATCH;
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < NN_IN; k++)
                bx[i * NN_IN + k] = nn_x[order[s + i] * NN_IN + k];
            by[i] = nn_y[order[s + i]];
        }
        total += (double)API(train_step)(&model, bx, by, n) * n;
    }
    return total / NN_ROWS;
}

/* samples m classifies right, one at a time */
static int right(NET *m)
{
    int count = 0;
    for (int r = 0; r < NN_ROWS; r++) {
        API(forward)(m, nn_x + r * NN_IN, 1);
        const float *p = API(output_p)(m);
#ifdef CLASS_TARGET
        int best = 0;
        for (int k = 1; k < OUT_SIZE; k++)
            if (p[k] > p[best])
                best = k;
        count += best == nn_y[r];
#else
        count += (p[0] > 0.5f) == (nn_y[r] > 0.5f);
#endif
    }
    return count;
}

/* the image restores the model bit for bit; a damaged one changes nothing */
static int export_import(void)
{
    long len = API(export)(&model, image, sizeof image);
    if (len != (long)sizeof image) {
        printf("export: %ld, expected %u bytes\n", len, (unsigned)sizeof image);
        return 0;
    }
    API(init)(&copy, SEED + 1);
    int st = API(import)(&copy, image, (size_t)len);
    for (int r = 0; r < NN_ROWS && st == 0; r++) {
        API(forward)(&model, nn_x + r * NN_IN, 1);
        API(forward)(&copy, nn_x + r * NN_IN, 1);
        for (int k = 0; k < OUT_SIZE; k++)
            if (API(output_p)(&model)[k] != API(output_p)(&copy)[k])
                st = 1;
    }
    image[len - 9] ^= 0x10u; /* last parameter data (then u32 buffer count, u32 CRC) */
    int damaged = API(import)(&copy, image, (size_t)len);
    printf("export/import: %ld bytes, round trip %s, damaged image: status %d\n", len,
           st == 0 ? "exact" : "FAILED", damaged);
    return st == 0 && damaged == NN_ERR_CHECKSUM && right(&copy) == right(&model);
}

int main(void)
{
    static int order[NN_ROWS];
    Rng rng;
    int every = EPOCHS <= 20 ? 1 : EPOCHS / 20;
    for (int i = 0; i < NN_ROWS; i++)
        order[i] = i;
    rng_seed(&rng, SEED, 0x5eed);
    API(init)(&model, SEED);
    printf("network %s trained on the device: %d parameters, %d samples, batch %d, model struct %u bytes\n",
           STR(NET), MACRO(PARAM_SCALARS), NN_ROWS, BATCH, (unsigned)sizeof model);
#ifdef FINETUNE
    printf("fine-tuning: %d frozen scalars in flash (const data), %d trainable in RAM\n", MACRO(CONST_SCALARS),
           MACRO(TRAINABLE_SCALARS));
    printf("start: accuracy %d of %d\n", right(&model), NN_ROWS);
#endif
    for (int e = 1; e <= EPOCHS; e++) {
        double loss = epoch(&rng, order);
        API(epoch_end)(&model);
        if (e % every == 0 || e == 1)
            printf("epoch %4d  loss %.6f\n", e, loss);
    }
    int r = right(&model);
    printf("accuracy %d of %d (%.2f %%)\n", r, NN_ROWS, 100.0 * r / NN_ROWS);
    return export_import() ? 0 : 1;
}
