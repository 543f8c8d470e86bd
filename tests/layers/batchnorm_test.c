/*
 * batchnorm_test.c - batchnorm's running statistics through the generated
 * API, against values computed here in double precision:
 *
 *   ly_bn1  x[3] (per feature), momentum 0.2, eps 0.001
 *   ly_bn2  x[2, 3, 2] (per channel over N * 3 * 2), defaults
 *   ly_bn3  x[2, 1, 1] (one value per channel and sample), defaults
 *
 * Checked: the buffer table (NET_buffer: names, shapes, no gradient,
 * initial values 0 and 1); the running statistics change in NET_update
 * only, by r = (1 - m) r + m stat with the unbiased variance; inference
 * uses them; a refused step (n = 1 with one value per channel, a non-finite
 * loss, a bad n) changes nothing; n = 1 trains when a channel has several
 * values per sample; weight files carry the buffers after the parameters,
 * behind their own count, and load them back.
 *
 * Usage: batchnorm_test WORKDIR (where the weight files are written).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ly_bn1.h"
#include "ly_bn2.h"
#include "ly_bn3.h"

#include "check.h"

static int close_to(double got, double want, double rtol) {
    return fabs(got - want) <= rtol * fmax(1.0, fabs(want));
}

static const char *workdir = ".";

/* ---- ly_bn1: [F] ---------------------------------------------------------------- */

static ly_bn1 a, b;
#define F 3
static const float xa[4 * F] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.5f, -0.75f, 1.0f, 0.0f, 2.5f, -2.0f, 1.25f};
static const float ya[4 * F] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, 0.6f, 0.7f, -0.8f, 0.9f, 1.0f, 0.0f, -1.0f};

/* every byte of the model that matters: parameters, buffers, step */
static int same_state(const ly_bn1 *p, const ly_bn1 *q) {
    return memcmp(&p->param, &q->param, sizeof p->param) == 0 && memcmp(&p->buffer, &q->buffer, sizeof p->buffer) == 0 &&
           p->step == q->step;
}

static void batch_stats(const float *x, int n, int c, double *mean, double *var_biased, double *var_unbiased) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += x[i * F + c];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        q += (x[i * F + c] - *mean) * (x[i * F + c] - *mean);
    *var_biased = q / n;
    *var_unbiased = q / (n - 1);
}

static void test_buffer_table(void) {
    ly_bn1_init(&a, 1);
    CHECK(ly_bn1_buffer_count() == 2 && LY_BN1_BUFFER_COUNT == 2, "buffer count %d", ly_bn1_buffer_count());
    const char *names[] = {"h.running_mean", "h.running_var"};
    for (int i = 0; i < 2; i++) {
        nn_param p = ly_bn1_buffer(&a, i);
        CHECK(p.name && strcmp(p.name, names[i]) == 0, "buffer %d is '%s'", i, p.name ? p.name : "(null)");
        CHECK(p.rank == 1 && p.dims[0] == F && p.size == F && !p.grad && p.value, "buffer %d's shape", i);
        for (int k = 0; k < F && p.value; k++)
            CHECK(p.value[k] == (i ? 1.0f : 0.0f), "buffer %d starts at %g", i, p.value[k]);
    }
    CHECK(a.buffer.h_running_mean == ly_bn1_buffer(&a, 0).value, "NET_buffer's value is not the struct member");
    nn_param none = ly_bn1_buffer(&a, 2), neg = ly_bn1_buffer(&a, -1);
    CHECK(!none.name && !none.value && none.size == 0 && !neg.name, "an index out of range gives a table entry");
    CHECK(LY_BN1_PARAM_COUNT == 2 && strcmp(ly_bn1_param(&a, 0).name, "h.gamma") == 0 &&
          strcmp(ly_bn1_param(&a, 1).name, "h.beta") == 0, "the parameters are not h.gamma, h.beta");
}

/* forward_train + backward change no statistic; update does, as PyTorch */
static void test_update_phase(void) {
    ly_bn1_init(&a, 1);
    ly_bn1_forward_train(&a, xa, ya, 4);
    ly_bn1_backward(&a);
    CHECK(a.buffer.h_running_mean[0] == 0.0f && a.buffer.h_running_var[0] == 1.0f,
          "forward_train or backward changed the running statistics");
    ly_bn1_update(&a);
    for (int c = 0; c < F; c++) {
        double mean, vb, vu;
        batch_stats(xa, 4, c, &mean, &vb, &vu);
        CHECK(close_to(a.buffer.h_running_mean[c], 0.2 * mean, 1e-6), "running_mean[%d] %g, want %g", c,
              a.buffer.h_running_mean[c], 0.2 * mean);
        CHECK(close_to(a.buffer.h_running_var[c], 0.8 + 0.2 * vu, 1e-6), "running_var[%d] %g, want %g (unbiased)",
              c, a.buffer.h_running_var[c], 0.8 + 0.2 * vu);
    }
    /* a second step on another batch: r = 0.8 r + 0.2 stat */
    double rm[F], rv[F];
    for (int c = 0; c < F; c++) {
        rm[c] = a.buffer.h_running_mean[c];
        rv[c] = a.buffer.h_running_var[c];
    }
    ly_bn1_train_step(&a, xa + F, ya, 3);
    for (int c = 0; c < F; c++) {
        double mean, vb, vu;
        batch_stats(xa + F, 3, c, &mean, &vb, &vu);
        CHECK(close_to(a.buffer.h_running_mean[c], 0.8 * rm[c] + 0.2 * mean, 1e-6), "second running_mean[%d]", c);
        CHECK(close_to(a.buffer.h_running_var[c], 0.8 * rv[c] + 0.2 * vu, 1e-6), "second running_var[%d]", c);
    }
    CHECK(a.step == 2, "step %ld", a.step);
}

/* training normalizes with the biased batch variance; inference with the running statistics */
static void test_normalization(void) {
    ly_bn1_init(&a, 1);
    a.param.h_gamma[1] = 1.5f;
    a.param.h_beta[2] = -0.25f;
    a.buffer.h_running_mean[0] = 0.5f;
    a.buffer.h_running_var[0] = 4.0f;
    ly_bn1_forward(&a, xa, 4);
    const float *o = ly_bn1_output_o(&a);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < F; c++) {
            double g = a.param.h_gamma[c], be = a.param.h_beta[c];
            double want = (xa[i * F + c] - a.buffer.h_running_mean[c]) / sqrt(a.buffer.h_running_var[c] + 0.001) * g + be;
            CHECK(close_to(o[i * F + c], want, 1e-6), "inference o[%d, %d] %g, want %g", i, c, o[i * F + c], want);
        }
    /* training: mse's value from the batch statistics */
    double loss = 0;
    for (int c = 0; c < F; c++) {
        double mean, vb, vu;
        batch_stats(xa, 4, c, &mean, &vb, &vu);
        for (int i = 0; i < 4; i++) {
            double h = (xa[i * F + c] - mean) / sqrt(vb + 0.001) * a.param.h_gamma[c] + a.param.h_beta[c];
            loss += (h - ya[i * F + c]) * (h - ya[i * F + c]);
        }
    }
    loss /= 4 * F;
    ly_bn1_forward_train(&a, xa, ya, 4);
    CHECK(close_to(a.loss, loss, 1e-5), "training loss %g, want %g (biased batch variance)", a.loss, loss);
}

/* refused steps change nothing */
static void test_refused(void) {
    ly_bn1_init(&a, 1);
    ly_bn1_train_step(&a, xa, ya, 4);
    b = a;
    CHECK(isnan(ly_bn1_train_step(&a, xa, ya, 1)), "n = 1 with one value per feature trained");
    CHECK(same_state(&a, &b), "a refused n = 1 step changed the model");
    CHECK(isnan(ly_bn1_train_step(&a, xa, ya, 0)), "n = 0 trained");
    ly_bn1_forward_train(&a, xa, ya, 1);
    ly_bn1_backward(&a);
    ly_bn1_update(&a);
    CHECK(same_state(&a, &b), "forward_train / backward / update with n = 1 changed the model");
    float bad[4 * F];
    memcpy(bad, xa, sizeof bad);
    bad[4] = INFINITY;
    float l = ly_bn1_train_step(&a, bad, ya, 4);
    CHECK(!isfinite(l), "a non-finite input gave the loss %g", l);
    CHECK(same_state(&a, &b), "a non-finite step changed parameters, statistics or step");
    /* NET_loss is inference: n = 1 is fine */
    CHECK(isfinite(ly_bn1_loss(&a, xa, ya, 1)), "NET_loss with n = 1 failed");
}

/* weight files: parameters, then the buffers behind their own count */
static unsigned char file[4096];

static unsigned long u32_at(long at) {
    return (unsigned long)file[at] | (unsigned long)file[at + 1] << 8 | (unsigned long)file[at + 2] << 16 |
           (unsigned long)file[at + 3] << 24;
}

static void test_weight_file(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ly_bn1.nnw", workdir);
    ly_bn1_init(&a, 1);
    for (int s = 0; s < 3; s++)
        ly_bn1_train_step(&a, xa, ya, 4);
    CHECK(ly_bn1_save(&a, path) == 0, "save failed");
    FILE *f = fopen(path, "rb");
    long len = f ? (long)fread(file, 1, sizeof file, f) : 0;
    if (f)
        fclose(f);
    /* NNW1, version, name, 2 parameter tensors of 3 floats each, then the buffers */
    long at = 8;
    at += 4 + (long)u32_at(at);
    CHECK(u32_at(at) == 2, "parameter count %lu", u32_at(at));
    at += 4;
    for (int t = 0; t < 2; t++)
        at += 4 + (long)u32_at(at) + 4 + 4 + 4 * F; /* name, rank 1, one dim, data */
    CHECK(at + 4 <= len && u32_at(at) == 2, "buffer count %lu at %ld", at + 4 <= len ? u32_at(at) : 0, at);
    at += 4;
    CHECK(at + 4 + 14 <= len && u32_at(at) == 14 && memcmp(file + at + 4, "h.running_mean", 14) == 0,
          "the first buffer is not h.running_mean");
    at += 4 + 14 + 4 + 4;
    CHECK(at + 4 * F <= len && memcmp(file + at, a.buffer.h_running_mean, 4 * F) == 0, "running_mean's data");
    at += 4 * F;
    at += 4 + 13 + 4 + 4 + 4 * F;
    CHECK(at + 4 == len, "the file is %ld bytes, the layout ends at %ld + CRC", len, at);

    ly_bn1_init(&b, 99);
    CHECK(ly_bn1_load(&b, path) == 0, "load failed");
    CHECK(memcmp(&a.param, &b.param, sizeof a.param) == 0, "parameters not restored");
    CHECK(memcmp(&a.buffer, &b.buffer, sizeof a.buffer) == 0, "running statistics not restored");
    /* a file of another network (ly_bn2: other shapes) is refused, nothing changes */
    static ly_bn2 other;
    char path2[1024];
    snprintf(path2, sizeof path2, "%s/ly_bn2.nnw", workdir);
    ly_bn2_init(&other, 1);
    CHECK(ly_bn2_save(&other, path2) == 0, "save of ly_bn2 failed");
    ly_bn1 before = b;
    CHECK(ly_bn1_load(&b, path2) == NN_ERR_NETWORK, "another network's file was not refused");
    CHECK(same_state(&b, &before), "a refused load changed the model");
}

/* ---- ly_bn2 / ly_bn3: per channel ------------------------------------------------------- */

static ly_bn2 c2;
static ly_bn3 c3;

static void test_channels(void) {
    float x2[2 * 12], y2[2 * 12];
    for (int i = 0; i < 24; i++) {
        x2[i] = (float)((i * 7) % 11) * 0.25f - 1.0f;
        y2[i] = (float)(i % 5) * 0.1f;
    }
    ly_bn2_init(&c2, 1);
    float l = ly_bn2_train_step(&c2, x2, y2, 1);
    CHECK(isfinite(l) && c2.step == 1, "[C, H, W] with 6 values per channel did not train on one sample");
    for (int ch = 0; ch < 2; ch++) { /* channel ch of sample 0: x2[ch * 6 .. ch * 6 + 5] */
        double s = 0, q = 0;
        for (int j = 0; j < 6; j++)
            s += x2[ch * 6 + j];
        for (int j = 0; j < 6; j++)
            q += (x2[ch * 6 + j] - s / 6) * (x2[ch * 6 + j] - s / 6);
        CHECK(close_to(c2.buffer.h_running_mean[ch], 0.1 * s / 6, 1e-6), "channel %d's running mean", ch);
        CHECK(close_to(c2.buffer.h_running_var[ch], 0.9 + 0.1 * q / 5, 1e-6), "channel %d's running var", ch);
    }
    float x3[4] = {1.0f, 2.0f, -1.0f, 0.5f}, y3[4] = {0.0f, 1.0f, 0.5f, 0.5f};
    ly_bn3_init(&c3, 1);
    CHECK(isnan(ly_bn3_train_step(&c3, x3, y3, 1)) && c3.step == 0 && c3.buffer.h_running_var[0] == 1.0f,
          "[C, 1, 1] trained on one sample");
    CHECK(isfinite(ly_bn3_train_step(&c3, x3, y3, 2)) && c3.step == 1, "[C, 1, 1] did not train on two samples");
    CHECK(close_to(c3.buffer.h_running_mean[0], 0.1 * 0.0, 1e-6) && close_to(c3.buffer.h_running_var[0], 0.9 + 0.1 * 2.0, 1e-6),
          "[C, 1, 1] running statistics %g %g", c3.buffer.h_running_mean[0], c3.buffer.h_running_var[0]);
}

int main(int argc, char **argv) {
    if (argc > 1)
        workdir = argv[1];
    test_buffer_table();
    test_update_phase();
    test_normalization();
    test_refused();
    test_weight_file();
    test_channels();
    if (failures)
        printf("batchnorm_test: %d failures\n", failures);
    else
        printf("batchnorm_test: all passed\n");
    return failures ? 1 : 0;
}
