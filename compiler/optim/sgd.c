/*
 * sgd.c - stochastic gradient descent, with momentum, dampening, Nesterov
 * momentum and weight decay, exactly as PyTorch 1.13's torch.optim.SGD
 * (_single_tensor_sgd):
 *
 *   d = g + wd p
 *   buf = d on the first step, else buf = momentum buf + (1 - dampening) d
 *   d = nesterov ? d + momentum buf : buf          (when momentum != 0)
 *   p -= lr d
 *
 * The momentum buffer is state only when momentum != 0.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { MOMENTUM, DAMPENING, NESTEROV, WEIGHT_DECAY };

/* PyTorch 1.13 SGD.__init__ checks */
static int validate(const Bound *b) {
    int bad = optim_check(b, 1 + MOMENTUM, "momentum", b->num[1 + MOMENTUM] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    if (b->num[1 + NESTEROV] && (b->num[1 + MOMENTUM] <= 0 || b->num[1 + DAMPENING] != 0)) {
        diag_error(b->loc[1 + NESTEROV], "nesterov momentum needs momentum > 0 and dampening = 0");
        bad = 1;
    }
    return bad;
}

static int nstate(const double *hp) {
    return hp[MOMENTUM] != 0;
}

static void kernel(Emit *e, const Node *n) {
    double momentum = n->f[MOMENTUM], dampening = n->f[DAMPENING], wd = n->f[WEIGHT_DECAY];
    int nesterov = n->f[NESTEROV] != 0;
    if (wd != 0)
        emit_line(e, "float d = g[i] + %s * p[i];", emit_float_lit(e, wd));
    else
        emit_line(e, "float d = g[i];");
    if (momentum != 0) {
        emit_line(e, "momentum[i] = m->step == 0 ? d : %s * momentum[i] + %s * d;", emit_float_lit(e, momentum),
                  emit_float_lit(e, 1.0 - dampening));
        if (nesterov)
            emit_line(e, "d += %s * momentum[i];", emit_float_lit(e, momentum));
        else
            emit_line(e, "d = momentum[i];");
    }
    emit_line(e, "p[i] -= lr * d;");
}

/* 2 (4 with momentum, 2 more with weight decay) */
static double flops(const double *hp) {
    return (hp[MOMENTUM] != 0 ? 4 : 2) + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_sgd = {
    .call = {"sgd",
             CK_OPT,
             5,
             {{"lr", AK_NUM, NULL},
              {"momentum", AK_NUM, "0"},
              {"dampening", AK_NUM, "0"},
              {"nesterov", AK_BOOL, "false"},
              {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = validate,
    .state = {"momentum"},
    .nstate = nstate,
    .locals = {"d", "lr"},
    .prologue = optim_lr_prologue,
    .kernel = kernel,
    .flops = flops,
};
