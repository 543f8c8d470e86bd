/*
 * adamw.c - AdamW: Adam with decoupled weight decay, exactly as PyTorch
 * 1.13's torch.optim.AdamW (_single_tensor_adamw):
 *
 *   p *= 1 - lr wd                                   (decoupled decay)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2   (g without decay)
 *   vmax = max(vmax, v)                              (amsgrad)
 *   p -= lr / (1 - beta1^t) m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
 *
 * Its arguments, checks, state and bias corrections are Adam's (adam.c);
 * its default weight decay is 0.01.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr (Adam's) */
enum { BETA1, BETA2, EPS, WEIGHT_DECAY, AMSGRAD };

/* Adam's bias corrections, and the decay factor 1 - lr wd */
static void prologue(Emit *e, const Optimizer *o) {
    optim_adam_prologue(e, o);
    if (o->hp[WEIGHT_DECAY] != 0)
        emit_line(e, "const float decay = (float)(1.0 - m->lr * %s);", emit_double_lit(e, o->hp[WEIGHT_DECAY]));
}

static void kernel(Emit *e, const Node *n) {
    double b1 = n->f[BETA1], b2 = n->f[BETA2];
    int ams = n->f[AMSGRAD] != 0;
    if (n->f[WEIGHT_DECAY] != 0)
        emit_line(e, "p[i] *= decay;");
    emit_line(e, "adam_m[i] = adam_m[i] * %s + g[i] * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * g[i] * g[i];", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    if (ams)
        emit_line(e, "if (adam_v[i] > adam_vmax[i]) adam_vmax[i] = adam_v[i];");
    emit_line(e, "p[i] -= step_size * adam_m[i] / (sqrtf(%s[i]) / bc2_sqrt + %s);", ams ? "adam_vmax" : "adam_v",
              emit_float_lit(e, n->f[EPS]));
}

/* Adam's 12, 1 more with the decoupled decay */
static double flops(const double *hp) {
    return 12 + (hp[WEIGHT_DECAY] != 0 ? 1 : 0);
}

const OptimDesc optim_adamw = {
    .call = {"adamw",
             CK_OPT,
             6,
             {{"lr", AK_NUM, "1e-3"},
              {"beta1", AK_NUM, "0.9"},
              {"beta2", AK_NUM, "0.999"},
              {"eps", AK_NUM, "1e-8"},
              {"weight_decay", AK_NUM, "0.01"},
              {"amsgrad", AK_BOOL, "false"}},
             0,
             OP__COUNT,
             0},
    .validate = optim_adam_validate,
    .state = {"adam_m", "adam_v", "adam_vmax"},
    .nstate = optim_adam_nstate,
    .locals = {"t", "step_size", "bc2_sqrt", "decay"},
    .prologue = prologue,
    .kernel = kernel,
    .flops = flops,
};
