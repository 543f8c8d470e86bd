/*
 * gradcheck.c - finite-difference gradient checks through generated code.
 *
 * Compiled once per case (tests/gradcheck/cases/NAME.nn) against the C that
 * nngen generated for it, using the generated API only: the analytic
 * gradient of every parameter element (NET_forward_train + NET_backward,
 * read through NET_param(...).grad) is compared with the central difference
 * (L(w + h) - L(w - h)) / 2h of NET_loss. Parameters keep the values their
 * init= gave them, so each case chooses values away from kinks and poles.
 *
 * Pass: |numeric - analytic| <= RTOL * max(|numeric|, |analytic|)
 * + ATOL * max(G, FLOOR) for every element, G the largest analytic gradient
 * magnitude of that element's parameter tensor (not of the whole case: a
 * tensor with small gradients must not borrow the tolerance of one with
 * large ones) and FLOOR = FLOOR_REL * max(1, |loss|), the level where the
 * float rounding of the loss dominates a central difference. The loss of
 * the training forward equals NET_loss; everything is finite. A frozen
 * parameter (NET_param(...).grad NULL) is not checked. A checked tensor
 * whose analytic and numeric gradients are all below ATOL * FLOOR is
 * checked vacuously (even a flipped sign would pass) and fails the case,
 * unless a case line "# gradcheck: zero NAME..." declares it zero by
 * construction (batchnorm's shift before another batchnorm, ...): then it
 * must be ~0, and is.
 *
 * TRAIN_MODE (cases marked "# gradcheck: train": dropout, batchnorm): the
 * loss differentiated is the training forward's (NET_forward_train, the
 * model's `loss` member), not NET_loss's inference mode. Every evaluation
 * runs on a copy of the model made just before it, so each starts from the
 * same PRNG state (the same dropout masks) and the same running statistics,
 * and the copy that gives the analytic gradient does too: the backward pass
 * is checked against the forward with the mask that forward drew. Instead of
 * equal training and inference losses, such a case must show them differ
 * (otherwise the training-mode path would not be what is checked).
 *
 * Kinks: an FD step that crosses one (relu at 0, a tie of max) gives a
 * meaningless difference, so each case keeps its values away from them. For
 * max pooling that is checked, not hoped for: a case line
 * "# gradcheck: pool NAME C H W KH KW SH SW" says that output NAME is the
 * [C, H, W] input of a max pooling with that window and stride; every FD
 * evaluation must then leave the first maximum of every window where the
 * unperturbed model has it (a step that moves it crossed a tie), or the
 * element fails.
 *
 * Macros: NET, NETU, NET_HEADER; CLASS_TARGET when the target y is a class;
 * TRAIN_MODE as above; POOL_OUT and POOL_GEOM (C,H,W,KH,KW,SH,SW) from a
 * pool line; ZERO_PARAMS ("name", ...) from a zero line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net_api.h"

#include NET_HEADER

#define BATCH 3
#define H 2e-3f
#define RTOL 1e-2
#define ATOL 2e-3
#define FLOOR_REL 5e-2 /* ATOL * FLOOR ~ 1e-4 * |loss|: a few float ulps of the loss over 2H */

#ifdef CLASS_TARGET
typedef int32_t target_t;
#define TARGET_SIZE 1
#else
typedef float target_t;
#define TARGET_SIZE MACRO(TARGET_Y_SIZE)
#endif

static NET model;
#ifdef TRAIN_MODE
static NET work;  /* a copy of model per training forward: same PRNG state, same masks */
static NET grads; /* the copy that ran forward_train and backward */
#endif
static float x[BATCH * MACRO(IN_X_SIZE)];
static target_t y[BATCH * TARGET_SIZE];

static void fill_data(void) {
    nnrt_rng r;
    nnrt_rng_seed(&r, 7, 1);
    for (int i = 0; i < BATCH * MACRO(IN_X_SIZE); i++)
        x[i] = 2.0f * nnrt_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < BATCH * TARGET_SIZE; i++) {
#ifdef CLASS_TARGET
        y[i] = (int32_t)(nnrt_rng_u32(&r) % MACRO(TARGET_Y_CLASSES));
#else
        y[i] = 0.1f + 0.8f * nnrt_rng_uniform(&r); /* also valid probabilities for bce */
#endif
    }
}

static double loss_at(void) {
#ifdef TRAIN_MODE
    work = model;
    API(forward_train)(&work, x, y, BATCH);
    return work.loss;
#else
    return API(loss)(&model, x, y, BATCH);
#endif
}

/* the analytic gradient of parameter i (in the copy that ran backward) */
static const float *grad_of(int i) {
#ifdef TRAIN_MODE
    return API(param)(&grads, i).grad;
#else
    return API(param)(&model, i).grad;
#endif
}

#ifdef POOL_OUT
#define POOL_MAX_WINDOWS 8192
static const int pool_geom[7] = {POOL_GEOM}; /* C, H, W, KH, KW, SH, SW */
static int pool_base[POOL_MAX_WINDOWS];

/* The offset of each window's first maximum in output POOL_OUT (after a
 * forward pass at the current parameters) into out; the window count. */
static int pool_argmax(int *out) {
    const int c = pool_geom[0], h = pool_geom[1], w = pool_geom[2], kh = pool_geom[3], kw = pool_geom[4];
    const int oh = (h - kh) / pool_geom[5] + 1, ow = (w - kw) / pool_geom[6] + 1;
    int count = 0;
    API(forward)(&model, x, BATCH);
    const float *v = CAT(CAT(NET, _output_), POOL_OUT)(&model);
    for (int plane = 0; plane < BATCH * c; plane++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const float *win = v + (long)plane * h * w + (long)i * pool_geom[5] * w + j * pool_geom[6];
                int best = 0;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++)
                        if (win[a * w + b] > win[best])
                            best = a * w + b;
                if (count < POOL_MAX_WINDOWS)
                    out[count] = best;
                count++;
            }
    return count;
}

/* 1 when every window's first maximum is where the unperturbed model has it */
static int pool_unmoved(void) {
    static int now[POOL_MAX_WINDOWS];
    int count = pool_argmax(now);
    for (int k = 0; k < count; k++)
        if (now[k] != pool_base[k])
            return 0;
    return 1;
}
#else
static int pool_unmoved(void) {
    return 1;
}
#endif

/* 1 when the case declares parameter name zero by construction */
static int declared_zero(const char *name) {
#ifdef ZERO_PARAMS
    static const char *const zero[] = {ZERO_PARAMS};
    for (size_t k = 0; k < sizeof zero / sizeof zero[0]; k++)
        if (strcmp(zero[k], name) == 0)
            return 1;
#else
    (void)name;
#endif
    return 0;
}

/* checks one parameter against the tolerance floor; returns the number of
 * failing elements (a vacuous check of an undeclared tensor counts as one) */
static int check_param(int i, double floor, double *worst) {
    nn_param p = API(param)(&model, i);
    const float *gr = grad_of(i);
    double gscale = 0, nscale = 0;
    int bad = 0;
    for (long j = 0; j < p.size; j++)
        gscale = fmax(gscale, fabs(gr[j]));
    for (long j = 0; j < p.size; j++) {
        float w = p.value[j];
        p.value[j] = w + H;
        double lp = loss_at();
        int steady = pool_unmoved();
        p.value[j] = w - H;
        double lm = loss_at();
        steady &= pool_unmoved();
        p.value[j] = w;
        if (!steady) {
            if (bad < 5)
                printf("  %s[%ld]: a step of %g moves the maximum of a pooling window (it crosses a tie)\n", p.name,
                       j, (double)H);
            bad++;
            continue;
        }
        double num = (lp - lm) / (2.0 * (double)H), ana = gr[j];
        double err = fabs(num - ana), tol = RTOL * fmax(fabs(num), fabs(ana)) + ATOL * fmax(gscale, floor);
        nscale = fmax(nscale, fabs(num));
        if (err / tol > *worst)
            *worst = err / tol;
        if (!(err <= tol)) {
            if (bad < 5)
                printf("  %s[%ld]: analytic %.6g, numeric %.6g\n", p.name, j, ana, num);
            bad++;
        }
    }
    int zero = !(fmax(gscale, nscale) >= ATOL * floor); /* below it, even a flipped sign passes */
    if (zero && !declared_zero(p.name)) {
        printf("  %s: every gradient is ~0 (largest %.3g analytic, %.3g numeric): the check proves nothing "
               "(declare it with '# gradcheck: zero %s' if it is zero by construction)\n",
               p.name, gscale, nscale, p.name);
        bad++;
    } else if (!zero && declared_zero(p.name)) {
        printf("  %s: declared zero but its gradient reaches %.3g\n", p.name, fmax(gscale, nscale));
        bad++;
    }
    return bad;
}

int main(void) {
    API(init)(&model, 42);
    fill_data();
#ifdef TRAIN_MODE
    double infer_loss = API(loss)(&model, x, y, BATCH), train_loss = loss_at(), gscale = 0, worst = 0;
    grads = work;
    API(backward)(&grads);
    if (!isfinite(train_loss) || fabs(train_loss - infer_loss) <= 1e-5 * fmax(1.0, fabs(infer_loss))) {
        printf("%s: training loss %.9g == NET_loss %.9g: the training mode makes no difference\n", STR(NET),
               train_loss, infer_loss);
        return 1;
    }
#else
    API(forward_train)(&model, x, y, BATCH);
    API(backward)(&model);
    double train_loss = model.loss, infer_loss = loss_at(), gscale = 0, worst = 0;
    if (!isfinite(train_loss) || fabs(train_loss - infer_loss) > 1e-5 * fmax(1.0, fabs(infer_loss))) {
        printf("%s: training loss %.9g != NET_loss %.9g\n", STR(NET), train_loss, infer_loss);
        return 1;
    }
#endif
    int bad = 0;
    for (int i = 0; i < MACRO(PARAM_COUNT); i++) {
        nn_param p = API(param)(&model, i);
        const float *gr = grad_of(i);
        if (!gr) /* frozen: no gradient */
            continue;
        for (long j = 0; j < p.size; j++)
            gscale = fmax(gscale, fabs(gr[j]));
    }
    if (!(gscale > 0)) {
        printf("%s: every gradient is zero or not finite: the check would prove nothing\n", STR(NET));
        return 1;
    }
#ifdef POOL_OUT
    if (pool_argmax(pool_base) > POOL_MAX_WINDOWS) {
        printf("%s: more than %d pooling windows\n", STR(NET), POOL_MAX_WINDOWS);
        return 1;
    }
#endif
    int frozen = 0;
    for (int i = 0; i < MACRO(PARAM_COUNT); i++) {
        if (grad_of(i))
            bad += check_param(i, FLOOR_REL * fmax(1.0, fabs(train_loss)), &worst);
        else
            frozen++;
    }
    printf("%s: loss %.6g, %d parameters (%d frozen), %d failing elements, worst error/tolerance %.3f\n",
           STR(NET), train_loss, MACRO(PARAM_COUNT), frozen, bad, worst);
    return bad ? 1 : 0;
}
