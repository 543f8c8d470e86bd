/*
 * dropout_test.c - dropout's masks through the generated API (ly_drop.nn:
 * h = dropout(x, 0.3), loss mean(h * w), w = 1, sgd with lr 0).
 *
 * With one sample the gradient of w is exactly h / 1024 (a power of two),
 * so w.grad * 1024 is the training forward's h, mask included, bit for bit.
 * The masks are predicted independently from what docs/language.md
 * documents: PCG32 seeded with NET_init's seed on stream 0x64726f706f7574,
 * one nnrt_rng_uniform per element in row-major order, kept when it is
 * below (float)(1 - p), a kept value x * (float)(1 / (1 - p)).
 *
 * Checked: every mask equals the prediction over many steps (so the masks
 * change from step to step, and the backward pass reads the forward's
 * mask); a step of n samples consumes n * 1024 draws; a refused call and
 * inference draw nothing; the kept fraction lies within 5 standard
 * deviations of the binomial's mean; kept values are scaled exactly; the
 * same seed gives the same masks and another seed others; inference is the
 * identity.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ly_drop.h"

#define D LY_DROP_IN_X_SIZE
#define P 0.3
#define STREAM UINT64_C(0x64726f706f7574)

#include "check.h"

static ly_drop m1, m2;
static float x[4 * D];
static float h_want[4 * D];

static void fill_x(void) {
    nnrt_rng r;
    nnrt_rng_seed(&r, 11, 3);
    for (int i = 0; i < 4 * D; i++)
        x[i] = 4.0f * nnrt_rng_uniform(&r) - 2.0f + 0.001f; /* never exactly 0 */
}

/* the next n samples' masks from the prediction PRNG, applied to x; returns
 * the number kept */
static long predict(nnrt_rng *r, int n) {
    const float keep = (float)(1.0 - P), scale = (float)(1.0 / (1.0 - P));
    long kept = 0;
    for (int i = 0; i < n * D; i++) {
        int k = nnrt_rng_uniform(r) < keep;
        h_want[i] = k ? x[i] * scale : 0.0f;
        kept += k;
    }
    return kept;
}

/* h of the last training forward of a one-sample step, read from w.grad */
static void observed(ly_drop *m, float *h) {
    nn_param w = ly_drop_param(m, 0);
    for (int i = 0; i < D; i++)
        h[i] = w.grad[i] * (float)D;
}

static void test_masks_match_prediction(void) {
    static float h[D];
    nnrt_rng r;
    long kept = 0, total = 0, changed = 0;
    ly_drop_init(&m1, 42);
    nnrt_rng_seed(&r, 42, STREAM);
    static float prev[D];
    for (int step = 0; step < 40; step++) {
        float loss = ly_drop_train_step(&m1, x, 1);
        kept += predict(&r, 1);
        total += D;
        observed(&m1, h);
        int bad = 0;
        double sum = 0;
        for (int i = 0; i < D; i++) {
            bad += memcmp(&h[i], &h_want[i], sizeof(float)) != 0;
            sum += h_want[i];
            changed += step > 0 && (h[i] == 0) != (prev[i] == 0);
        }
        CHECK(bad == 0, "step %d: %d elements differ from the predicted mask", step, bad);
        CHECK(fabs(loss - sum / D) <= 1e-5 * (1 + fabs(sum / D)), "step %d: the training loss %g is not the "
              "forward of the predicted mask (%g)", step, loss, sum / D);
        memcpy(prev, h, sizeof prev);
    }
    /* binomial(total, 1 - p): mean total (1 - p), sd sqrt(total p (1 - p)) */
    double mean = total * (1 - P), sd = sqrt(total * P * (1 - P));
    CHECK(fabs(kept - mean) <= 5 * sd, "kept %ld of %ld, expected %.0f +- %.0f", kept, total, mean, 5 * sd);
    CHECK(changed > total / 4, "masks barely change between steps (%ld flips)", changed);
    printf("dropout: %ld of %ld kept (%.4f, p = %.2f), %ld flips between steps\n", kept, total,
           (double)kept / total, P, changed);
}

/* kept values are x * (float)(1 / (1 - p)) exactly, dropped ones exactly 0 */
static void test_exact_scaling(void) {
    static float h[D];
    const float scale = (float)(1.0 / (1.0 - P));
    ly_drop_init(&m1, 5);
    ly_drop_train_step(&m1, x, 1);
    observed(&m1, h);
    int bad = 0, zeros = 0;
    for (int i = 0; i < D; i++) {
        zeros += h[i] == 0.0f;
        bad += h[i] != 0.0f && h[i] != x[i] * scale;
    }
    CHECK(bad == 0, "%d kept values are not x * %.9g", bad, scale);
    CHECK(zeros > 0 && zeros < D, "%d of %d dropped", zeros, D);
}

/* a step of n samples draws n * D numbers; refused calls and inference none */
static void test_draws_per_call(void) {
    static float h[D];
    nnrt_rng r;
    ly_drop_init(&m1, 77);
    nnrt_rng_seed(&r, 77, STREAM);
    float l = ly_drop_train_step(&m1, x, 3);
    CHECK(isfinite(l), "a step of 3 samples failed");
    predict(&r, 3);
    CHECK(isnan(ly_drop_train_step(&m1, x, 0)), "n = 0 was accepted");
    CHECK(isnan(ly_drop_train_step(&m1, x, LY_DROP_MAX_BATCH + 1)), "n > MAX_BATCH was accepted");
    CHECK(isnan(ly_drop_train_step(&m1, NULL, 1)), "a NULL input was accepted");
    ly_drop_forward(&m1, x, 4);
    CHECK(isfinite(ly_drop_loss(&m1, x, 2)), "NET_loss failed");
    ly_drop_train_step(&m1, x, 1);
    predict(&r, 1);
    observed(&m1, h);
    CHECK(memcmp(h, h_want, sizeof h) == 0, "after a 3-sample step, refused calls and inference, the mask is "
          "not the stream's next one");
}

static void test_seeds(void) {
    static float a[D], b[D];
    int same = 1, differ = 0;
    ly_drop_init(&m1, 1234);
    ly_drop_init(&m2, 1234);
    for (int step = 0; step < 3; step++) {
        ly_drop_train_step(&m1, x, 1);
        ly_drop_train_step(&m2, x, 1);
        observed(&m1, a);
        observed(&m2, b);
        same &= memcmp(a, b, sizeof a) == 0;
    }
    CHECK(same, "the same seed gave different masks");
    ly_drop_init(&m2, 1235);
    ly_drop_train_step(&m2, x, 1);
    ly_drop_init(&m1, 1234);
    ly_drop_train_step(&m1, x, 1);
    observed(&m1, a);
    observed(&m2, b);
    for (int i = 0; i < D; i++)
        differ += (a[i] == 0) != (b[i] == 0);
    CHECK(differ > D / 4, "seeds 1234 and 1235 gave nearly the same mask (%d differences)", differ);
}

/* inference: the identity, bit for bit; NET_loss does not drop anything */
static void test_inference_identity(void) {
    ly_drop_init(&m1, 3);
    ly_drop_forward(&m1, x, 4);
    CHECK(memcmp(ly_drop_output_o(&m1), x, sizeof(float) * 4 * D) == 0, "inference is not the identity");
    double sum = 0;
    for (int i = 0; i < 2 * D; i++)
        sum += x[i];
    float l = ly_drop_loss(&m1, x, 2);
    CHECK(fabs(l - sum / (2 * D)) <= 1e-5 * (1 + fabs(sum / (2 * D))), "NET_loss %g is not mean(x) %g", l,
          sum / (2 * D));
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fill_x();
    test_masks_match_prediction();
    test_exact_scaling();
    test_draws_per_call();
    test_seeds();
    test_inference_identity();
    if (failures)
        printf("dropout_test: %d failures\n", failures);
    return failures ? 1 : 0;
}
