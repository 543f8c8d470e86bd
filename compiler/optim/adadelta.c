/*
 * adadelta.c - Adadelta, exactly as PyTorch 1.13's torch.optim.Adadelta
 * (_single_tensor_adadelta):
 *
 *   g += wd p;  sq = rho sq + (1 - rho) g^2
 *   delta = sqrt(acc + eps) / sqrt(sq + eps) g
 *   acc = rho acc + (1 - rho) delta^2;  p -= lr delta
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { RHO, EPS, WEIGHT_DECAY };

/* PyTorch 1.13 Adadelta.__init__ checks */
static int validate(const Bound *b) {
    int bad = optim_check(b, 1 + RHO, "rho", b->num[1 + RHO] >= 0 && b->num[1 + RHO] <= 1, "in [0, 1]");
    bad |= optim_check(b, 1 + EPS, "eps", b->num[1 + EPS] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    return bad;
}

static void kernel(Emit *e, const Node *n) {
    const char *rho = emit_float_lit(e, n->f[RHO]), *rho1 = emit_float_lit(e, 1.0 - n->f[RHO]);
    const char *eps = emit_float_lit(e, n->f[EPS]);
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "adadelta_sq[i] = adadelta_sq[i] * %s + %s * gi * gi;", rho, rho1);
    emit_line(e, "const float delta = sqrtf(adadelta_acc[i] + %s) / sqrtf(adadelta_sq[i] + %s) * gi;", eps, eps);
    emit_line(e, "adadelta_acc[i] = adadelta_acc[i] * %s + %s * delta * delta;", rho, rho1);
    emit_line(e, "p[i] -= lr * delta;");
}

/* 14, 2 more with weight decay */
static double flops(const double *hp) {
    return 14 + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_adadelta = {
    .call = {"adadelta",
             CK_OPT,
             4,
             {{"lr", AK_NUM, "1.0"}, {"rho", AK_NUM, "0.9"}, {"eps", AK_NUM, "1e-6"}, {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = validate,
    .state = {"adadelta_sq", "adadelta_acc"},
    .locals = {"lr", "gi", "delta"},
    .prologue = optim_lr_prologue,
    .kernel = kernel,
    .flops = flops,
};
