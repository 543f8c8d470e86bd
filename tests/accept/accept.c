/*
 * accept.c - runs the C nngen generated for an accept case (tests/accept):
 * the edge inputs must not only compile but work.
 *
 * Compiled once per runnable case with -Werror against its generated code
 * and accept_case.h, which CMakeLists.txt writes from the case's
 * "# accept:" lines:
 *   ACCEPT_INPUTS(X)   X(name, SIZE macro) per input, in declaration order
 *   ACCEPT_OUTPUTS(X)  X(name, SIZE macro) per output
 *   ACCEPT_TARGETS(X)  X(name, SIZE macro) per float target, or
 *   ACCEPT_CLASS(X)    X(name, CLASSES macro) for one class target
 *   ACCEPT_TRAIN       the network has an optimizer
 *   ACCEPT_LR_ZERO     "# accept: lr0": its learning rate is 0
 *   ACCEPT_PARAM_EQ    "# accept: param_eq INDEX VALUE...": every element
 *                      of parameter INDEX after NET_init equals VALUE
 * (the inputs, outputs and targets come from the case's declarations).
 * Checks: after NET_init every parameter is finite; inputs (fixed uniform
 * values in [-1, 1]) give finite outputs; with ACCEPT_TRAIN, STEPS training
 * steps on one batch give finite losses and parameters, and the loss falls
 * (lr > 0) or every parameter stays bit for bit what NET_init made it and
 * the loss stays the same (lr = 0: the update must be a no-op; a network
 * without parameters: nothing can change).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net_api.h"

#include NET_HEADER
#include "accept_case.h"

#define BATCH 4
#define STEPS 20

static NET model;
static float initial[MACRO(PARAM_SCALARS) + 1];

#define DECLARE_INPUT(name, size) static float in_##name[BATCH * MACRO(size)];
ACCEPT_INPUTS(DECLARE_INPUT)
#ifdef ACCEPT_TARGETS
#define DECLARE_TARGET(name, size) static float tg_##name[BATCH * MACRO(size)];
ACCEPT_TARGETS(DECLARE_TARGET)
#endif
#ifdef ACCEPT_CLASS
#define DECLARE_CLASS(name, classes) static int32_t tg_##name[BATCH];
ACCEPT_CLASS(DECLARE_CLASS)
#endif

#define ARG(name, size) , in_##name
#define TARGET_ARG(name, size) , tg_##name

static int failures;

static void fail(const char *what, double v) {
    printf("FAIL: %s (%g)\n", what, v);
    failures++;
}

static unsigned long lcg = 12345;
static float uniform(void) {
    lcg = lcg * 6364136223846793005UL + 1442695040888963407UL;
    return (float)((lcg >> 33) % 20001) / 10000.0f - 1.0f;
}

static void fill_data(void) {
#define FILL(name, size)                                                                                           \
    for (long i = 0; i < BATCH * (long)MACRO(size); i++)                                                          \
        in_##name[i] = uniform();
    ACCEPT_INPUTS(FILL)
#ifdef ACCEPT_TARGETS
#define FILL_TARGET(name, size)                                                                                    \
    for (long i = 0; i < BATCH * (long)MACRO(size); i++)                                                          \
        tg_##name[i] = 0.5f * uniform();
    ACCEPT_TARGETS(FILL_TARGET)
#endif
#ifdef ACCEPT_CLASS
#define FILL_CLASS(name, classes)                                                                                  \
    for (int i = 0; i < BATCH; i++)                                                                                \
        tg_##name[i] = i % MACRO(classes);
    ACCEPT_CLASS(FILL_CLASS)
#endif
}

/* copies every parameter into initial (or compares with it); the count of
 * non-finite elements, and of changed ones when comparing */
static long scan_params(int compare, long *changed) {
    long k = 0, bad = 0;
    for (int i = 0; i < MACRO(PARAM_COUNT); i++) {
        nn_param p = API(param)(&model, i);
        for (long j = 0; j < p.size; j++, k++) {
            if (!isfinite(p.value[j]))
                bad++;
            if (compare && memcmp(&initial[k], &p.value[j], sizeof(float)) != 0)
                (*changed)++;
            else if (!compare)
                initial[k] = p.value[j];
        }
    }
    return bad;
}

static void check_outputs(void) {
    API(forward)(&model ACCEPT_INPUTS(ARG), BATCH);
#define CHECK_OUT(name, size)                                                                                      \
    for (long i = 0; i < BATCH * (long)MACRO(size); i++)                                                          \
        if (!isfinite(CAT(CAT(NET, _output_), name)(&model)[i])) {                                                 \
            fail("output " #name " not finite at element", (double)i);                                             \
            break;                                                                                                 \
        }
    ACCEPT_OUTPUTS(CHECK_OUT)
}

int main(void) {
    API(init)(&model, 42);
    fill_data();
    if (scan_params(0, NULL))
        fail("parameters not finite after init", 0);
#ifdef ACCEPT_PARAM_EQ
    {
        static const double eq[] = {ACCEPT_PARAM_EQ};
        for (size_t e = 0; e + 1 < sizeof eq / sizeof eq[0]; e += 2) {
            nn_param p = API(param)(&model, (int)eq[e]);
            for (long j = 0; j < p.size; j++)
                if (p.value[j] != (float)eq[e + 1]) {
                    printf("%s[%ld] = %.9g after init, expected %.9g\n", p.name, j, (double)p.value[j], eq[e + 1]);
                    fail("an initializer at its edge gave another value", eq[e]);
                    break;
                }
        }
    }
#endif
    check_outputs();
#ifdef ACCEPT_TRAIN
    long changed = 0;
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
#ifdef ACCEPT_CLASS
        last = API(train_step)(&model ACCEPT_INPUTS(ARG) ACCEPT_CLASS(TARGET_ARG), BATCH);
#else
        last = API(train_step)(&model ACCEPT_INPUTS(ARG) ACCEPT_TARGETS(TARGET_ARG), BATCH);
#endif
        if (s == 0)
            first = last;
        if (!isfinite(last)) {
            fail("loss not finite at step", s);
            break;
        }
    }
    long bad = scan_params(1, &changed);
    if (bad)
        fail("parameters not finite after training: count", (double)bad);
    check_outputs();
#ifdef ACCEPT_LR_ZERO
    const int frozen = 1;
#else
    const int frozen = MACRO(PARAM_COUNT) == 0; /* nothing to train: the loss stays */
#endif
    if (frozen) {
        if (changed)
            fail("lr = 0 changed parameter elements: count", (double)changed);
        if (last != first)
            fail("the loss changed with nothing to train (lr = 0 or no parameter)", last - first);
    } else {
        if (!changed)
            fail("training changed no parameter", 0);
        if (!(last < first))
            fail("the loss did not fall", last - first);
    }
    printf("%s: loss %.6g -> %.6g over %d steps, %ld parameter elements changed\n", STR(NET), first, last, STEPS,
           changed);
#else
    printf("%s: inference only, outputs finite\n", STR(NET));
#endif
    return failures ? 1 : 0;
}
