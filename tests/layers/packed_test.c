/*
 * packed_test.c - the recurrent products at batch 1, which read W_hh as
 * the panels nnrt_pack_cols writes at the start of every call (ly_rec.nn:
 * lstm, gru and rnn, each W_hh over the 8,192 floats from which the
 * compiler packs), against the same network at batch 4, which reads W_hh
 * in place (nnrt_sgemm_ws).
 *
 * Checked: the generated C packs all three (three nnrt_pack_cols calls in
 * each of NET_forward's, NET_loss's and the training forward's runs); each
 * sample's
 * probabilities at batch 1 are those of its row at batch 4 (1e-6: the two
 * kernels sum in other orders); again after training steps at batch 1
 * changed every weight (the panels are packed anew per call, never kept
 * from an earlier one) and after a batch-4 call in between. And NET_loss
 * leaves the outputs NET_forward gives, bit for bit, at batch 4 and 1
 * (p = softmax(z) is not on the loss's path: NET_loss computes it anyway,
 * so that nngen train scores a batch in one pass).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ly_rec.h"

#define D LY_REC_IN_X_SIZE
#define K LY_REC_OUT_P_SIZE
#define B 4

#include "check.h"

static ly_rec m, scratch;
static float x[B * D];
static int32_t y[B] = {0, 1, 2, 3};

/* occurrences of `what` in the generated ly_rec.c (dir: the build directory) */
static int count_in_source(const char *dir, const char *what) {
    char path[4096], line[65536];
    int count = 0;
    snprintf(path, sizeof path, "%s/ly_rec.c", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        for (const char *p = line; (p = strstr(p, what)); p++)
            count++;
    fclose(f);
    return count;
}

/* every sample at batch 1 against its row at batch B */
static void compare(const char *when) {
    static float want[B * K];
    float worst = 0.0f;
    ly_rec_forward(&m, x, B);
    memcpy(want, ly_rec_output_p(&m), sizeof want);
    for (int i = 0; i < B; i++) {
        ly_rec_forward(&m, x + i * D, 1);
        const float *p = ly_rec_output_p(&m);
        for (int k = 0; k < K; k++) {
            float d = fabsf(p[k] - want[i * K + k]);
            CHECK(d <= 1e-6f, "%s: sample %d, p[%d] = %.9g at batch 1, %.9g at batch %d", when, i, k, (double)p[k],
                  (double)want[i * K + k], B);
            worst = d > worst ? d : worst;
        }
    }
    printf("%s: batch 1 within %.3g of batch %d\n", when, (double)worst, B);
}

/* NET_loss's outputs are NET_forward's: the same bits, n samples from x + at */
static void compare_loss_outputs(int at, int n) {
    static float want[B * K];
    ly_rec_forward(&m, x + at * D, n);
    memcpy(want, ly_rec_output_p(&m), sizeof(float) * (size_t)(n * K));
    ly_rec_init(&scratch, 99); /* stale outputs in between: other weights' */
    ly_rec_forward(&scratch, x, B);
    scratch.param = m.param;
    float l = ly_rec_loss(&scratch, x + at * D, y + at, n);
    CHECK(isfinite(l), "NET_loss at batch %d: %g", n, (double)l);
    CHECK(memcmp(want, ly_rec_output_p(&scratch), sizeof(float) * (size_t)(n * K)) == 0,
          "NET_loss at batch %d left outputs other than NET_forward's", n);
}

int main(int argc, char **argv) {
    nnrt_rng r;
    if (argc != 2) {
        fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
        return 2;
    }
    int packs = count_in_source(argv[1], "nnrt_pack_cols(");
    CHECK(packs == 9, "the generated C calls nnrt_pack_cols %d times, not 9 (3 layers; forward, loss, training)", packs);
    nnrt_rng_seed(&r, 7, 1);
    for (int i = 0; i < B * D; i++)
        x[i] = 2.0f * nnrt_rng_uniform(&r) - 1.0f;
    ly_rec_init(&m, 1);
    compare("initial weights");
    /* batch-1 steps: the weights change, the panels must follow */
    static float before[LY_REC_PARAM_SCALARS];
    long at = 0;
    for (int i = 0; i < ly_rec_param_count(); i++) {
        nn_param q = ly_rec_param(&m, i);
        memcpy(before + at, q.value, sizeof(float) * (size_t)q.size);
        at += q.size;
    }
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < B; i++)
            ly_rec_train_step(&m, x + i * D, y + i, 1);
    at = 0;
    for (int i = 0; i < ly_rec_param_count(); i++) {
        nn_param q = ly_rec_param(&m, i);
        if (strstr(q.name, "weight_hh"))
            CHECK(memcmp(before + at, q.value, sizeof(float) * (size_t)q.size) != 0, "%s did not change", q.name);
        at += q.size;
    }
    compare("after 12 steps at batch 1");
    ly_rec_train_step(&m, x, y, B);
    compare("after a step at batch 4");
    compare_loss_outputs(0, B);
    compare_loss_outputs(2, 1);
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
