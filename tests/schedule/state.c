/*
 * state.c - the training state around the schedules, through the
 * generated API (docs/c-api.md): a refused step (non-finite loss or gradients)
 * leaves the parameters, the optimizer state (arrays and scalars), the step
 * count, the learning rate and the schedule as they were; an accepted step
 * moves cyclic's learning rate; NET_epoch_end moves an epoch schedule and
 * nothing else; NET_set_lr / NET_get_lr; NET_init restores everything.
 * The values the schedules take are tests/parity's business (PyTorch
 * traces); this file checks when they move.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cyclic_nadam.h"
#include "restarts_sgd.h"

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static cyclic_nadam a, a_before;
static restarts_sgd b, b_before;
static const float x[6] = {0.5f, -0.25f, 1.0f, -1.0f, 0.75f, 0.125f};
static const int32_t y[2] = {2, 0};
static const float bad_x[6] = {0.5f, NAN, 1.0f, -1.0f, 0.75f, 0.125f};

/* everything a refused step must not touch */
static int same_state_a(const cyclic_nadam *p, const cyclic_nadam *q) {
    return memcmp(&p->param, &q->param, sizeof p->param) == 0 && memcmp(&p->adam_m, &q->adam_m, sizeof p->adam_m) == 0 &&
           memcmp(&p->adam_v, &q->adam_v, sizeof p->adam_v) == 0 && p->mu_product == q->mu_product &&
           p->lr == q->lr && p->step == q->step && p->epoch == q->epoch &&
           memcmp(&p->sched, &q->sched, sizeof p->sched) == 0;
}

static void cyclic_refused_and_accepted(void) {
    cyclic_nadam_init(&a, 3);
    CHECK(cyclic_nadam_get_lr(&a) == 0.001f); /* base_lr replaces the optimizer's lr */
    for (int i = 0; i < 3; i++)
        cyclic_nadam_train_step(&a, x, y, 2);
    a_before = a;
    CHECK(isnan(cyclic_nadam_train_step(&a, bad_x, y, 2))); /* a NaN input: a non-finite loss */
    CHECK(same_state_a(&a, &a_before));
    int32_t bad_y[2] = {2, 7};
    CHECK(isnan(cyclic_nadam_train_step(&a, x, bad_y, 2))); /* a label out of range */
    CHECK(same_state_a(&a, &a_before));
    cyclic_nadam_epoch_end(&a); /* a per-step schedule: epochs do not move it */
    CHECK(a.lr == a_before.lr && a.epoch == a_before.epoch + 1);
    float lr = cyclic_nadam_get_lr(&a);
    CHECK(isfinite(cyclic_nadam_train_step(&a, x, y, 2)));
    CHECK(a.step == a_before.step + 1 && a.sched.t == a_before.sched.t + 1);
    CHECK(cyclic_nadam_get_lr(&a) != lr && a.mu_product != a_before.mu_product);
    /* NET_set_lr: the lr now and the schedule's base */
    cyclic_nadam_set_lr(&a, 0.5f);
    CHECK(cyclic_nadam_get_lr(&a) == 0.5f && a.sched.base == 0.5);
    cyclic_nadam_init(&a, 3);
    CHECK(a.lr == 0.001 && a.step == 0 && a.sched.t == 0 && a.mu_product == 1.0);
}

static void epoch_schedule(void) {
    restarts_sgd_init(&b, 5);
    CHECK(restarts_sgd_get_lr(&b) == 0.1f);
    restarts_sgd_train_step(&b, x, y, 2);
    CHECK(restarts_sgd_get_lr(&b) == 0.1f); /* steps do not move an epoch schedule */
    b_before = b;
    CHECK(isnan(restarts_sgd_train_step(&b, bad_x, y, 2)));
    CHECK(memcmp(&b.param, &b_before.param, sizeof b.param) == 0 &&
          memcmp(&b.momentum, &b_before.momentum, sizeof b.momentum) == 0 && b.step == b_before.step &&
          b.lr == b_before.lr && memcmp(&b.sched, &b_before.sched, sizeof b.sched) == 0);
    restarts_sgd_epoch_end(&b);
    CHECK(b.epoch == 1 && b.sched.t == 1 && b.lr < 0.1 && b.lr > 0.01);
    restarts_sgd_epoch_end(&b);
    restarts_sgd_epoch_end(&b); /* t_cur reaches t0 = 3: a warm restart, the period doubles */
    CHECK(b.sched.t == 0 && b.sched.t_i == 6 && b.lr == 0.1);
}

int main(void) {
    cyclic_refused_and_accepted();
    epoch_schedule();
    printf("schedule state: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
