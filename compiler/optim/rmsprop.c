/*
 * rmsprop.c - RMSprop (centered=False), exactly as PyTorch 1.13's
 * torch.optim.RMSprop (_single_tensor_rmsprop):
 *
 *   g += wd p;  sq = alpha sq + (1 - alpha) g^2;  avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum buf + g / avg;  p -= lr buf
 *   else:         p -= lr g / avg
 *
 * The momentum buffer is state only when momentum > 0.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { ALPHA, EPS, MOMENTUM, WEIGHT_DECAY };

/* PyTorch 1.13 RMSprop.__init__ checks (alpha > 1 passes there too) */
static int validate(const Bound *b) {
    int bad = optim_check(b, 1 + ALPHA, "alpha", b->num[1 + ALPHA] >= 0, ">= 0");
    bad |= optim_check(b, 1 + EPS, "eps", b->num[1 + EPS] >= 0, ">= 0");
    bad |= optim_check(b, 1 + MOMENTUM, "momentum", b->num[1 + MOMENTUM] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    return bad;
}

static int nstate(const double *hp) {
    return hp[MOMENTUM] > 0 ? 2 : 1;
}

static void kernel(Emit *e, const Node *n) {
    double alpha = n->f[ALPHA], momentum = n->f[MOMENTUM];
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "rmsprop_sq[i] = rmsprop_sq[i] * %s + %s * gi * gi;", emit_float_lit(e, alpha),
              emit_float_lit(e, 1.0 - alpha));
    emit_line(e, "const float avg = sqrtf(rmsprop_sq[i]) + %s;", emit_float_lit(e, n->f[EPS]));
    if (momentum > 0) {
        emit_line(e, "rmsprop_buf[i] = rmsprop_buf[i] * %s + gi / avg;", emit_float_lit(e, momentum));
        emit_line(e, "p[i] -= lr * rmsprop_buf[i];");
    } else
        emit_line(e, "p[i] -= lr * gi / avg;");
}

/* 7 (9 with momentum), 2 more with weight decay */
static double flops(const double *hp) {
    return (hp[MOMENTUM] > 0 ? 9 : 7) + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_rmsprop = {
    .call = {"rmsprop",
             CK_OPT,
             5,
             {{"lr", AK_NUM, "0.01"},
              {"alpha", AK_NUM, "0.99"},
              {"eps", AK_NUM, "1e-8"},
              {"momentum", AK_NUM, "0"},
              {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = validate,
    .state = {"rmsprop_sq", "rmsprop_buf"},
    .nstate = nstate,
    .locals = {"lr", "gi", "avg"},
    .prologue = optim_lr_prologue,
    .kernel = kernel,
    .flops = flops,
};
