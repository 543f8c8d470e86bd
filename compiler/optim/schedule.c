/*
 * schedule.c - the learning-rate schedule: the `schedule` statement's
 * arguments (validated, a located error each), and the C that runs it,
 * written into the model struct, NET_init, NET_epoch_end, NET_update and
 * NET_set_lr by emit/api.c through the sched_emit_* hooks below.
 *
 * Each schedule is PyTorch 1.13's scheduler of the same idea, stepped the
 * way PyTorch's training loops step it, in double as Python computes it:
 *
 *   step(step_size, gamma)       StepLR, recursive form: at each epoch end t,
 *                                lr *= gamma when t % step_size == 0
 *   exponential(gamma)           ExponentialLR: lr *= gamma at each epoch end
 *   cosine(t_max, eta_min)       CosineAnnealingLR, 1.13's recursive form (it
 *                                drifts from the closed form and goes on past
 *                                t_max, rising again):
 *                                  (t - 1 - t_max) % (2 t_max) == 0:
 *                                    lr += (base - eta_min) (1 - cos(pi / t_max)) / 2
 *                                  else lr = (1 + cos(pi t / t_max)) /
 *                                    (1 + cos(pi (t - 1) / t_max)) (lr - eta_min) + eta_min
 *   cosine_restarts(t0, t_mult, eta_min)
 *                                CosineAnnealingWarmRestarts: t_cur += 1;
 *                                t_cur >= t_i: t_cur -= t_i, t_i *= t_mult;
 *                                lr = eta_min + (base - eta_min) (1 + cos(pi t_cur / t_i)) / 2
 *   cyclic(base_lr, max_lr, step_size_up, mode, gamma)
 *                                CyclicLR with step_size_down = step_size_up and
 *                                cycle_momentum=False, stepped after every
 *                                accepted update (t counts them):
 *                                  cycle = floor(1 + t / total), x = 1 + t / total - cycle
 *                                  scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1)
 *                                  lr = base + (max_lr - base) scale f
 *                                f = 1 (triangular), 1 / 2^(cycle - 1)
 *                                (triangular2), gamma^t (exp_range)
 *
 * "base" is PyTorch's base_lrs: the optimizer's lr (cyclic: base_lr, which
 * also replaces the optimizer's lr at NET_init, as CyclicLR's constructor
 * does); NET_set_lr sets both the current lr and base.
 *
 * Schedule.a[] per kind: step 0 step_size, 1 gamma; exponential 0 gamma;
 * cosine 0 t_max, 1 eta_min; cosine_restarts 0 t0, 1 t_mult, 2 eta_min;
 * cyclic 0 base_lr, 1 max_lr, 2 step_size_up, 3 mode (0 triangular,
 * 1 triangular2, 2 exp_range), 4 gamma.
 *
 * State in the model struct: m->sched.base (base lr), m->sched.t (steps of
 * the schedule: epochs, cyclic updates, cosine_restarts' t_cur) and
 * m->sched.t_i (cosine_restarts' period), all doubles: exact integers up to
 * 2^53, where a 32-bit long would wrap on small targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

static const struct {
    const char *name;
    SchedKind kind;
} sched_names[] = {
    {"step", SCHED_STEP},     {"exponential", SCHED_EXPONENTIAL},
    {"cosine", SCHED_COSINE}, {"cosine_restarts", SCHED_COSINE_RESTARTS},
    {"cyclic", SCHED_CYCLIC},
};

static const char *const cyclic_modes[] = {"triangular", "triangular2", "exp_range"};

/* Reports "invalid NAME: it must be COND, got V" at argument i; 1 if bad. */
static int check(const Bound *b, int i, const char *name, int ok, const char *cond) {
    if (!ok)
        diag_error(b->loc[i], "invalid %s: it must be %s, got %g", name, cond, b->num[i]);
    return !ok;
}

/* PyTorch's own checks (cosine_restarts' t0 and t_mult, cyclic's mode), and
 * nngen's where PyTorch would divide by zero (step_size, t_max,
 * step_size_up) or let the learning rate go negative (gamma, eta_min,
 * base_lr, max_lr) */
static int validate(SchedKind k, const Bound *b, Schedule *s) {
    int bad = 0;
    switch (k) {
    case SCHED_STEP:
        bad |= check(b, 0, "step_size", b->num[0] >= 1, ">= 1");
        bad |= check(b, 1, "gamma", b->num[1] >= 0, ">= 0");
        break;
    case SCHED_EXPONENTIAL:
        bad |= check(b, 0, "gamma", b->num[0] >= 0, ">= 0");
        break;
    case SCHED_COSINE:
        bad |= check(b, 0, "t_max", b->num[0] >= 1, ">= 1");
        bad |= check(b, 1, "eta_min", b->num[1] >= 0, ">= 0");
        break;
    case SCHED_COSINE_RESTARTS:
        bad |= check(b, 0, "t0", b->num[0] >= 1, "a positive integer");
        bad |= check(b, 1, "t_mult", b->num[1] >= 1, "an integer >= 1");
        bad |= check(b, 2, "eta_min", b->num[2] >= 0, ">= 0");
        break;
    case SCHED_CYCLIC:
        bad |= check(b, 0, "base_lr", b->num[0] >= 0, ">= 0");
        bad |= check(b, 1, "max_lr", b->num[1] >= 0, ">= 0");
        bad |= check(b, 2, "step_size_up", b->num[2] >= 1, ">= 1");
        s->a[3] = -1;
        for (int m = 0; m < 3; m++)
            if (strcmp(b->str[3], cyclic_modes[m]) == 0)
                s->a[3] = m;
        if (s->a[3] < 0) {
            diag_error(b->loc[3], "cyclic's mode is \"triangular\", \"triangular2\" or \"exp_range\", not \"%s\"",
                       b->str[3]);
            bad = 1;
        }
        bad |= check(b, 4, "gamma", b->num[4] >= 0, ">= 0");
        break;
    case SCHED_NONE:
        break;
    }
    return bad;
}

int sched_configure(LowerCtx *c, const Stmt *st) {
    const Expr *call = st->expr;
    const Builtin *b = builtin_find(call->str);
    SchedKind kind = SCHED_NONE;
    for (size_t i = 0; i < sizeof sched_names / sizeof sched_names[0] && b && b->kind == CK_SCHED; i++)
        if (strcmp(sched_names[i].name, call->str) == 0)
            kind = sched_names[i].kind;
    if (kind == SCHED_NONE) {
        diag_error(call->loc, "'%s' is not a schedule (step, exponential, cosine, cosine_restarts, cyclic)", call->str);
        return -1;
    }
    Bound bound;
    if (lower_bind(c, b, call, &bound) < 0)
        return -1;
    Schedule *s = &c->g->sched;
    s->kind = kind;
    s->name = b->name;
    s->loc = call->loc;
    for (int i = 0; i < b->nargs; i++)
        s->a[i] = bound.num[i];
    return validate(kind, &bound, s) ? -1 : 0;
}

double sched_initial_lr(const Graph *g) {
    return g->sched.kind == SCHED_CYCLIC ? g->sched.a[0] : g->opt.lr;
}

/* ---- the generated code ------------------------------------------------------------------ */

void sched_emit_member(Emit *e) {
    if (e->g->sched.kind == SCHED_NONE)
        return;
    emit_line(e, "struct { double base, t, t_i; } sched; /* the schedule %s: base lr, steps, period */",
              e->g->sched.name);
}

void sched_emit_init(Emit *e) {
    const Schedule *s = &e->g->sched;
    if (s->kind == SCHED_NONE)
        return;
    emit_line(e, "m->sched.base = m->lr;");
    if (s->kind == SCHED_COSINE_RESTARTS)
        emit_line(e, "m->sched.t_i = %s;", emit_double_lit(e, s->a[0]));
}

/* cosine: 1.13's recursive form */
static void emit_cosine(Emit *e, const Schedule *s) {
    const char *T = emit_double_lit(e, s->a[0]), *eta = emit_double_lit(e, s->a[1]), *cos_fn = emit_libm(e, "cos");
    emit_line(e, "const double t = m->sched.t + 1.0;");
    emit_line(e, "m->sched.t = t;");
    emit_line(e, "if (%s(t - 1.0 - %s, %s) == 0.0)", emit_libm(e, "fmod"), T, emit_double_lit(e, 2 * s->a[0]));
    emit_line(e, "    m->lr = m->lr + (m->sched.base - %s) * (1.0 - %s(3.141592653589793 / %s)) / 2.0;", eta, cos_fn,
              T);
    emit_line(e, "else");
    emit_line(e, "    m->lr = (1.0 + %s(3.141592653589793 * t / %s)) /", cos_fn, T);
    emit_line(e, "            (1.0 + %s(3.141592653589793 * (t - 1.0) / %s)) *", cos_fn, T);
    emit_line(e, "            (m->lr - %s) + %s;", eta, eta);
}

/* cosine_restarts: t_cur, t_i as CosineAnnealingWarmRestarts.step() */
static void emit_restarts(Emit *e, const Schedule *s) {
    const char *eta = emit_double_lit(e, s->a[2]);
    emit_line(e, "m->sched.t += 1.0;");
    emit_open(e, "if (m->sched.t >= m->sched.t_i)");
    emit_line(e, "m->sched.t -= m->sched.t_i;");
    emit_line(e, "m->sched.t_i *= %s;", emit_double_lit(e, s->a[1]));
    emit_close(e);
    emit_line(e, "m->lr = %s + (m->sched.base - %s) * (1.0 + %s(3.141592653589793 * m->sched.t / m->sched.t_i)) / 2.0;",
              eta, eta, emit_libm(e, "cos"));
}

/* the body of NET_epoch_end after m->epoch++: the epoch schedules' step */
void sched_emit_epoch(Emit *e) {
    const Schedule *s = &e->g->sched;
    switch (s->kind) {
    case SCHED_STEP:
        emit_line(e, "/* step(%s, gamma=%s): StepLR */", emit_double_lit(e, s->a[0]), emit_double_lit(e, s->a[1]));
        emit_line(e, "m->sched.t += 1.0;");
        emit_line(e, "if (%s(m->sched.t, %s) == 0.0)", emit_libm(e, "fmod"), emit_double_lit(e, s->a[0]));
        emit_line(e, "    m->lr *= %s;", emit_double_lit(e, s->a[1]));
        break;
    case SCHED_EXPONENTIAL:
        emit_line(e, "/* exponential(%s): ExponentialLR */", emit_double_lit(e, s->a[0]));
        emit_line(e, "m->sched.t += 1.0;");
        emit_line(e, "m->lr *= %s;", emit_double_lit(e, s->a[0]));
        break;
    case SCHED_COSINE:
        emit_line(e, "/* cosine(%s, eta_min=%s): CosineAnnealingLR, 1.13's recursive form */",
                  emit_double_lit(e, s->a[0]), emit_double_lit(e, s->a[1]));
        emit_cosine(e, s);
        break;
    case SCHED_COSINE_RESTARTS:
        emit_line(e, "/* cosine_restarts(%s, t_mult=%s, eta_min=%s): CosineAnnealingWarmRestarts */",
                  emit_double_lit(e, s->a[0]), emit_double_lit(e, s->a[1]), emit_double_lit(e, s->a[2]));
        emit_restarts(e, s);
        break;
    case SCHED_CYCLIC: /* stepped by NET_update */
    case SCHED_NONE:
        break;
    }
}

/* after an accepted update (m->step++ done): cyclic's step */
void sched_emit_update(Emit *e) {
    const Schedule *s = &e->g->sched;
    if (s->kind != SCHED_CYCLIC)
        return;
    const char *total = emit_double_lit(e, 2 * s->a[2]), *ratio = emit_double_lit(e, s->a[2] / (2 * s->a[2]));
    emit_line(e, "/* cyclic(%s, %s, %s, mode=\"%s\", gamma=%s): CyclicLR, cycle_momentum=False */",
              emit_double_lit(e, s->a[0]), emit_double_lit(e, s->a[1]), emit_double_lit(e, s->a[2]),
              cyclic_modes[(int)s->a[3]], emit_double_lit(e, s->a[4]));
    emit_begin(e);
    emit_line(e, "const double t = m->sched.t + 1.0;");
    emit_line(e, "const double cycle = %s(1.0 + t / %s), x = 1.0 + t / %s - cycle;", emit_libm(e, "floor"), total,
              total);
    emit_line(e, "const double scale = x <= %s ? x / %s : (x - 1.0) / (%s - 1.0);", ratio, ratio, ratio);
    emit_line(e, "const double height = (%s - m->sched.base) * scale;", emit_double_lit(e, s->a[1]));
    if (s->a[3] == 0)
        emit_line(e, "m->lr = m->sched.base + height * 1.0;");
    else if (s->a[3] == 1)
        emit_line(e, "m->lr = m->sched.base + height * (1.0 / %s(2.0, cycle - 1.0));", emit_libm(e, "pow"));
    else
        emit_line(e, "m->lr = m->sched.base + height * %s(%s, t);", emit_libm(e, "pow"), emit_double_lit(e, s->a[4]));
    emit_line(e, "m->sched.t = t;");
    emit_close(e);
}

/* NET_set_lr: the schedule goes on from the new base (PyTorch users:
 * group['lr'] = lr and scheduler.base_lrs = [lr]) */
void sched_emit_set_lr(Emit *e) {
    if (e->g->sched.kind != SCHED_NONE)
        emit_line(e, "m->sched.base = lr;");
}
