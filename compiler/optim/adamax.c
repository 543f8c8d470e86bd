/*
 * adamax.c - Adamax, exactly as PyTorch 1.13's torch.optim.Adamax
 * (_single_tensor_adamax):
 *
 *   g += wd p;  m = beta1 m + (1 - beta1) g;  u = max(beta2 u, |g| + eps)
 *   p -= lr / (1 - beta1^t) m / u
 *
 * t = m->step + 1; the bias correction is computed in double. weight_decay
 * is an extension of docs/language.md's signature (PyTorch has it), after its
 * arguments; the checks are Adam's (adam.c), at the same positions.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { BETA1, BETA2, EPS, WEIGHT_DECAY };

/* clr = lr / (1 - beta1^t) */
static void prologue(Emit *e, const Optimizer *o) {
    emit_line(e, "/* bias correction in double, as PyTorch computes it */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    emit_line(e, "const float clr = (float)(m->lr / (1.0 - %s(%s, t)));", emit_libm(e, "pow"),
              emit_double_lit(e, o->hp[BETA1]));
}

static void kernel(Emit *e, const Node *n) {
    double b1 = n->f[BETA1];
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "const float decayed = adamax_inf[i] * %s, ag = %s(gi) + %s;", emit_float_lit(e, n->f[BETA2]),
              emit_libm(e, "fabsf"), emit_float_lit(e, n->f[EPS]));
    emit_line(e, "adamax_inf[i] = decayed > ag ? decayed : ag;");
    emit_line(e, "p[i] -= clr * adam_m[i] / adamax_inf[i];");
}

/* 9, 2 more with weight decay */
static double flops(const double *hp) {
    return 9 + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_adamax = {
    .call = {"adamax",
             CK_OPT,
             5,
             {{"lr", AK_NUM, "2e-3"},
              {"beta1", AK_NUM, "0.9"},
              {"beta2", AK_NUM, "0.999"},
              {"eps", AK_NUM, "1e-8"},
              {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = optim_adam_validate,
    .state = {"adam_m", "adamax_inf"},
    .locals = {"gi", "t", "clr", "decayed", "ag"},
    .prologue = prologue,
    .kernel = kernel,
    .flops = flops,
};
