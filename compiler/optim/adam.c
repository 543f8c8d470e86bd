/*
 * adam.c - Adam, with L2 weight decay and the AMSGrad variant, exactly as
 * PyTorch 1.13's torch.optim.Adam (_single_tensor_adam):
 *
 *   g += wd p                                        (L2, not decoupled)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   vmax = max(vmax, v)                              (amsgrad)
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
 *
 * t = m->step + 1 counts updates from 1; the bias corrections are computed
 * in double, as Python does, and used as float. The running maximum vmax is
 * state only with amsgrad. AdamW (adamw.c) shares the checks and the
 * prologue, as PyTorch's adamw.py repeats adam.py's; adamax (adamax.c) the
 * checks.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { BETA1, BETA2, EPS, WEIGHT_DECAY, AMSGRAD };

/* PyTorch 1.13 Adam.__init__ checks (AdamW's and Adamax's are the same, at
 * the same argument positions) */
int optim_adam_validate(const Bound *b) {
    int bad = optim_check(b, 1 + BETA1, "beta1", b->num[1 + BETA1] >= 0 && b->num[1 + BETA1] < 1, "in [0, 1)");
    bad |= optim_check(b, 1 + BETA2, "beta2", b->num[1 + BETA2] >= 0 && b->num[1 + BETA2] < 1, "in [0, 1)");
    bad |= optim_check(b, 1 + EPS, "eps", b->num[1 + EPS] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    return bad;
}

/* adam_m, adam_v, and adam_vmax with amsgrad (AdamW's too) */
int optim_adam_nstate(const double *hp) {
    return hp[AMSGRAD] != 0 ? 3 : 2;
}

/* step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), t = m->step + 1 */
void optim_adam_prologue(Emit *e, const Optimizer *o) {
    Buf b1 = {0}, b2 = {0};
    buf_printf(&b1, "%.17g", o->hp[BETA1]);
    buf_printf(&b2, "%.17g", o->hp[BETA2]);
    emit_line(e, "/* bias corrections in double, as PyTorch computes them */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    emit_line(e, "const float step_size = (float)(m->lr / (1.0 - %s(%s, t)));", emit_libm(e, "pow"), b1.data);
    emit_line(e, "const float bc2_sqrt = (float)%s(1.0 - %s(%s, t));", emit_libm(e, "sqrt"), emit_libm(e, "pow"),
              b2.data);
    buf_free(&b1);
    buf_free(&b2);
}

static void kernel(Emit *e, const Node *n) {
    double b1 = n->f[BETA1], b2 = n->f[BETA2];
    int ams = n->f[AMSGRAD] != 0;
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * gi * gi;", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    if (ams)
        emit_line(e, "if (adam_v[i] > adam_vmax[i]) adam_vmax[i] = adam_v[i];");
    emit_line(e, "p[i] -= step_size * (adam_m[i] / (sqrtf(%s[i]) / bc2_sqrt + %s));", ams ? "adam_vmax" : "adam_v",
              emit_float_lit(e, n->f[EPS]));
}

/* 12 (moments 6, square root, divide, scale, update), 2 more with weight decay */
static double flops(const double *hp) {
    return 12 + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_adam = {
    .call = {"adam",
             CK_OPT,
             6,
             {{"lr", AK_NUM, "1e-3"},
              {"beta1", AK_NUM, "0.9"},
              {"beta2", AK_NUM, "0.999"},
              {"eps", AK_NUM, "1e-8"},
              {"weight_decay", AK_NUM, "0"},
              {"amsgrad", AK_BOOL, "false"}},
             0,
             OP__COUNT,
             0},
    .validate = optim_adam_validate,
    .state = {"adam_m", "adam_v", "adam_vmax"},
    .nstate = optim_adam_nstate,
    .locals = {"gi", "t", "step_size", "bc2_sqrt"},
    .prologue = optim_adam_prologue,
    .kernel = kernel,
    .flops = flops,
};
