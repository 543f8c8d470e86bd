/*
 * finetune_src.c - the pre-training of finetune.sh: tests/layers/ly_src.nn
 * from NET_init, three training steps on fixed data (weights and running
 * statistics away from their initial values), saved as src.nnw in the
 * current directory. Exit 0 when saved.
 */
#include <stdio.h>

#include "ly_src.h"

static ly_src m;
static float x[8 * 36];
static int32_t y[8];

int main(void) {
    unsigned s = 777u;
    for (int i = 0; i < 8 * 36; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (int i = 0; i < 8; i++)
        y[i] = i % 3;
    ly_src_init(&m, 1);
    for (int step = 0; step < 3; step++)
        ly_src_train_step(&m, x, y, 8);
    if (ly_src_save(&m, "src.nnw") != 0) {
        puts("cannot save src.nnw");
        return 1;
    }
    return 0;
}
