/*
 * adaptive.c - the optimizers beyond sgd and adam, one update node per
 * parameter (FN_UPDATE), each exactly as PyTorch 1.13's single-tensor code
 * (torch/optim/<name>.py, _single_tensor_<name>), in the same order of
 * float32 operations. g is the gradient, wd the weight decay, t = m->step + 1
 * counts updates from 1; per-step scalars come from the prologues below,
 * computed in double as Python computes them and used as float.
 *
 * adagrad:  g += wd p;  sum += g^2;  p -= lr g / (sqrt(sum) + eps)
 *           (lr_decay 0, initial_accumulator_value 0)
 * rmsprop:  g += wd p;  sq = alpha sq + (1 - alpha) g^2;  avg = sqrt(sq) + eps
 *           momentum > 0: buf = momentum buf + g / avg;  p -= lr buf
 *           else:         p -= lr g / avg                  (centered=False)
 * adadelta: g += wd p;  sq = rho sq + (1 - rho) g^2
 *           delta = sqrt(acc + eps) / sqrt(sq + eps) g
 *           acc = rho acc + (1 - rho) delta^2;  p -= lr delta
 * adamw:    p *= 1 - lr wd                                  (decoupled decay)
 *           adam's moments and step on g without decay (amsgrad as adam)
 * adamax:   g += wd p;  m = beta1 m + (1 - beta1) g;  u = max(beta2 u, |g| + eps)
 *           p -= lr / (1 - beta1^t) m / u
 * nadam:    g += wd p;  mu_t = beta1 (1 - 0.5 0.96^(t psi)), psi = momentum_decay
 *           mu_product *= mu_t;  mu_product_next = mu_product mu_t mu_{t+1}
 *           (1.13's formula: later versions drop one mu_t)
 *           m, v as adam;  denom = sqrt(v / (1 - beta2^t)) + eps
 *           p -= lr (1 - mu_t) / (1 - mu_product) g / denom
 *           p -= lr mu_{t+1} / (1 - mu_product_next) m / denom
 *
 * Attributes: f[] = the optimizer's hyper-parameters (optim.c's hp[]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

static void close_loop(Emit *e) {
    emit_close(e);
    emit_close(e);
}

/* gi = g + wd p: the L2 weight decay every optimizer but adamw folds into g */
static void decayed_grad(Emit *e, double wd) {
    if (wd != 0)
        emit_line(e, "const float gi = g[i] + %s * p[i];", emit_float_lit(e, wd));
    else
        emit_line(e, "const float gi = g[i];");
}

/* f: 0 eps, 1 weight_decay */
void adagrad_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"adagrad_sum"};
    update_loop_open(e, n, state, 1);
    decayed_grad(e, n->f[1]);
    emit_line(e, "adagrad_sum[i] += gi * gi;");
    emit_line(e, "p[i] -= lr * gi / (sqrtf(adagrad_sum[i]) + %s);", emit_float_lit(e, n->f[0]));
    close_loop(e);
}

/* f: 0 alpha, 1 eps, 2 momentum, 3 weight_decay */
void rmsprop_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"rmsprop_sq", "rmsprop_buf"};
    double alpha = n->f[0], momentum = n->f[2];
    update_loop_open(e, n, state, momentum > 0 ? 2 : 1);
    decayed_grad(e, n->f[3]);
    emit_line(e, "rmsprop_sq[i] = rmsprop_sq[i] * %s + %s * gi * gi;", emit_float_lit(e, alpha), emit_float_lit(e,
              1.0 - alpha));
    emit_line(e, "const float avg = sqrtf(rmsprop_sq[i]) + %s;", emit_float_lit(e, n->f[1]));
    if (momentum > 0) {
        emit_line(e, "rmsprop_buf[i] = rmsprop_buf[i] * %s + gi / avg;", emit_float_lit(e, momentum));
        emit_line(e, "p[i] -= lr * rmsprop_buf[i];");
    } else
        emit_line(e, "p[i] -= lr * gi / avg;");
    close_loop(e);
}

/* f: 0 rho, 1 eps, 2 weight_decay */
void adadelta_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"adadelta_sq", "adadelta_acc"};
    const char *rho = emit_float_lit(e, n->f[0]), *rho1 = emit_float_lit(e, 1.0 - n->f[0]), *eps = emit_float_lit(e,
        n->f[1]);
    update_loop_open(e, n, state, 2);
    decayed_grad(e, n->f[2]);
    emit_line(e, "adadelta_sq[i] = adadelta_sq[i] * %s + %s * gi * gi;", rho, rho1);
    emit_line(e, "const float delta = sqrtf(adadelta_acc[i] + %s) / sqrtf(adadelta_sq[i] + %s) * gi;", eps, eps);
    emit_line(e, "adadelta_acc[i] = adadelta_acc[i] * %s + %s * delta * delta;", rho, rho1);
    emit_line(e, "p[i] -= lr * delta;");
    close_loop(e);
}

/* f: 0 beta1, 1 beta2, 2 eps, 3 weight_decay, 4 amsgrad */
void adamw_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"adam_m", "adam_v", "adam_vmax"};
    double b1 = n->f[0], b2 = n->f[1];
    int ams = n->f[4] != 0;
    update_loop_open(e, n, state, ams ? 3 : 2);
    if (n->f[3] != 0)
        emit_line(e, "p[i] *= decay;");
    emit_line(e, "adam_m[i] = adam_m[i] * %s + g[i] * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * g[i] * g[i];", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    if (ams)
        emit_line(e, "if (adam_v[i] > adam_vmax[i]) adam_vmax[i] = adam_v[i];");
    emit_line(e, "p[i] -= step_size * adam_m[i] / (sqrtf(%s[i]) / bc2_sqrt + %s);", ams ? "adam_vmax" : "adam_v",
              emit_float_lit(e, n->f[2]));
    close_loop(e);
}

/* f: 0 beta1, 1 beta2, 2 eps, 3 weight_decay */
void adamax_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"adam_m", "adamax_inf"};
    double b1 = n->f[0];
    update_loop_open(e, n, state, 2);
    decayed_grad(e, n->f[3]);
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "const float decayed = adamax_inf[i] * %s, ag = fabsf(gi) + %s;", emit_float_lit(e, n->f[1]),
              emit_float_lit(e, n->f[2]));
    emit_line(e, "adamax_inf[i] = decayed > ag ? decayed : ag;");
    emit_line(e, "p[i] -= clr * adam_m[i] / adamax_inf[i];");
    close_loop(e);
}

/* f: 0 beta1, 1 beta2, 2 eps, 3 momentum_decay, 4 weight_decay */
void nadam_update_emit(Emit *e, const Node *n) {
    static const char *const state[] = {"adam_m", "adam_v"};
    double b1 = n->f[0], b2 = n->f[1];
    update_loop_open(e, n, state, 2);
    decayed_grad(e, n->f[4]);
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * gi * gi;", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    emit_line(e, "const float denom = sqrtf(adam_v[i] / bc2) + %s;", emit_float_lit(e, n->f[2]));
    emit_line(e, "p[i] -= c_grad * gi / denom;");
    emit_line(e, "p[i] -= c_avg * adam_m[i] / denom;");
    close_loop(e);
}

/* ---- per-step prologues ------------------------------------------------------------- */

/* adam's bias corrections; adamw adds its decay factor 1 - lr wd */
void adamw_prologue(Emit *e, const Optimizer *o) {
    adam_prologue(e, o);
    if (o->hp[3] != 0)
        emit_line(e, "const float decay = (float)(1.0 - m->lr * %s);", emit_double_lit(e, o->hp[3]));
}

/* clr = lr / (1 - beta1^t) */
void adamax_prologue(Emit *e, const Optimizer *o) {
    emit_line(e, "/* bias correction in double, as PyTorch computes it */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    emit_line(e, "const float clr = (float)(m->lr / (1.0 - pow(%s, t)));", emit_double_lit(e, o->hp[0]));
}

/* the momentum schedule mu_t, mu_{t+1}, the running product m->mu_product
 * (advanced here: the prologue runs once per accepted step) and the two
 * step sizes */
void nadam_prologue(Emit *e, const Optimizer *o) {
    const char *b1 = emit_double_lit(e, o->hp[0]), *psi = emit_double_lit(e, o->hp[3]);
    emit_line(e, "/* in double, as PyTorch computes them */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    emit_line(e, "const double mu = %s * (1.0 - 0.5 * pow(0.96, t * %s));", b1, psi);
    emit_line(e, "const double mu_next = %s * (1.0 - 0.5 * pow(0.96, (t + 1.0) * %s));", b1, psi);
    emit_line(e, "m->mu_product *= mu;");
    emit_line(e, "const double mu_product_next = m->mu_product * mu * mu_next; /* 1.13's formula */");
    emit_line(e, "const float bc2 = (float)(1.0 - pow(%s, t));", emit_double_lit(e, o->hp[1]));
    emit_line(e, "const float c_grad = (float)(m->lr * (1.0 - mu) / (1.0 - m->mu_product));");
    emit_line(e, "const float c_avg = (float)(m->lr * mu_next / (1.0 - mu_product_next));");
}

/* per parameter element; an L2 weight decay adds 2, adamw's decoupled one 1 */
double adaptive_update_flops(const Graph *g, const Node *n, int batch) {
    (void)g;
    (void)batch;
    double per = 0;
    switch (n->op) {
    case OP_ADAGRAD_UPDATE: per = 6 + (n->f[1] != 0 ? 2 : 0); break;
    case OP_RMSPROP_UPDATE: per = (n->f[2] > 0 ? 9 : 7) + (n->f[3] != 0 ? 2 : 0); break;
    case OP_ADADELTA_UPDATE: per = 14 + (n->f[2] != 0 ? 2 : 0); break;
    case OP_ADAMW_UPDATE: per = 12 + (n->f[3] != 0 ? 1 : 0); break;
    case OP_ADAMAX_UPDATE: per = 9 + (n->f[3] != 0 ? 2 : 0); break;
    case OP_NADAM_UPDATE: per = 15 + (n->f[4] != 0 ? 2 : 0); break;
    default: nn_unreachable("adaptive_update_flops of %s", op_info(n->op)->name);
    }
    return per * (double)shape_numel(&n->shape);
}
