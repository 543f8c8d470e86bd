/*
 * adagrad.c - Adagrad, exactly as PyTorch 1.13's torch.optim.Adagrad
 * (_single_tensor_adagrad) with lr_decay 0 and initial_accumulator_value 0:
 *
 *   g += wd p;  sum += g^2;  p -= lr g / (sqrt(sum) + eps)
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { EPS, WEIGHT_DECAY };

/* PyTorch 1.13 Adagrad.__init__ checks (lr_decay and initial_accumulator_value are 0) */
static int validate(const Bound *b) {
    int bad = optim_check(b, 1 + EPS, "eps", b->num[1 + EPS] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    return bad;
}

static void kernel(Emit *e, const Node *n) {
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "adagrad_sum[i] += gi * gi;");
    emit_line(e, "p[i] -= lr * gi / (sqrtf(adagrad_sum[i]) + %s);", emit_float_lit(e, n->f[EPS]));
}

/* 6, 2 more with weight decay */
static double flops(const double *hp) {
    return 6 + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_adagrad = {
    .call = {"adagrad",
             CK_OPT,
             3,
             {{"lr", AK_NUM, "0.01"}, {"eps", AK_NUM, "1e-10"}, {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = validate,
    .state = {"adagrad_sum"},
    .locals = {"lr", "gi"},
    .prologue = optim_lr_prologue,
    .kernel = kernel,
    .flops = flops,
};
