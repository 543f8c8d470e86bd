/*
 * nadam.c - NAdam, exactly as PyTorch 1.13's torch.optim.NAdam
 * (_single_tensor_nadam):
 *
 *   g += wd p;  mu_t = beta1 (1 - 0.5 0.96^(t psi)), psi = momentum_decay
 *   mu_product *= mu_t;  mu_product_next = mu_product mu_t mu_{t+1}
 *   (1.13's formula: later versions drop one mu_t)
 *   m, v as adam;  denom = sqrt(v / (1 - beta2^t)) + eps
 *   p -= lr (1 - mu_t) / (1 - mu_product) g / denom
 *   p -= lr mu_{t+1} / (1 - mu_product_next) m / denom
 *
 * t = m->step + 1; the per-step scalars are computed in double. The running
 * product mu_product is model state (a double, 1 after NET_init), advanced
 * by the prologue, which runs once per accepted step. weight_decay is an
 * extension of docs/language.md's signature (PyTorch has it), after its arguments.
 */
#include "nngen.h"

/* Optimizer.hp[] and the update node's f[]: the arguments after lr */
enum { BETA1, BETA2, EPS, MOMENTUM_DECAY, WEIGHT_DECAY };

/* PyTorch 1.13 NAdam.__init__ checks */
static int validate(const Bound *b) {
    int bad = optim_check(b, 1 + BETA1, "beta1", b->num[1 + BETA1] >= 0 && b->num[1 + BETA1] < 1, "in [0, 1)");
    bad |= optim_check(b, 1 + BETA2, "beta2", b->num[1 + BETA2] >= 0 && b->num[1 + BETA2] < 1, "in [0, 1)");
    bad |= optim_check(b, 1 + EPS, "eps", b->num[1 + EPS] >= 0, ">= 0");
    bad |= optim_check(b, 1 + MOMENTUM_DECAY, "momentum_decay", b->num[1 + MOMENTUM_DECAY] >= 0, ">= 0");
    bad |= optim_check(b, 1 + WEIGHT_DECAY, "weight_decay", b->num[1 + WEIGHT_DECAY] >= 0, ">= 0");
    return bad;
}

/* the momentum schedule mu_t, mu_{t+1}, the running product and the two step sizes */
static void prologue(Emit *e, const Optimizer *o) {
    const char *b1 = emit_double_lit(e, o->hp[BETA1]), *psi = emit_double_lit(e, o->hp[MOMENTUM_DECAY]);
    emit_line(e, "/* in double, as PyTorch computes them */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    const char *pow_fn = emit_libm(e, "pow");
    emit_line(e, "const double mu = %s * (1.0 - 0.5 * %s(0.96, t * %s));", b1, pow_fn, psi);
    emit_line(e, "const double mu_next = %s * (1.0 - 0.5 * %s(0.96, (t + 1.0) * %s));", b1, pow_fn, psi);
    emit_line(e, "m->mu_product *= mu;");
    emit_line(e, "const double mu_product_next = m->mu_product * mu * mu_next; /* 1.13's formula */");
    emit_line(e, "const float bc2 = (float)(1.0 - %s(%s, t));", pow_fn, emit_double_lit(e, o->hp[BETA2]));
    emit_line(e, "const float c_grad = (float)(m->lr * (1.0 - mu) / (1.0 - m->mu_product));");
    emit_line(e, "const float c_avg = (float)(m->lr * mu_next / (1.0 - mu_product_next));");
}

static void kernel(Emit *e, const Node *n) {
    double b1 = n->f[BETA1], b2 = n->f[BETA2];
    optim_decayed_grad(e, n->f[WEIGHT_DECAY]);
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * gi * gi;", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    emit_line(e, "const float denom = sqrtf(adam_v[i] / bc2) + %s;", emit_float_lit(e, n->f[EPS]));
    emit_line(e, "p[i] -= c_grad * gi / denom;");
    emit_line(e, "p[i] -= c_avg * adam_m[i] / denom;");
}

/* 15, 2 more with weight decay */
static double flops(const double *hp) {
    return 15 + (hp[WEIGHT_DECAY] != 0 ? 2 : 0);
}

const OptimDesc optim_nadam = {
    .call = {"nadam",
             CK_OPT,
             6,
             {{"lr", AK_NUM, "2e-3"},
              {"beta1", AK_NUM, "0.9"},
              {"beta2", AK_NUM, "0.999"},
              {"eps", AK_NUM, "1e-8"},
              {"momentum_decay", AK_NUM, "4e-3"},
              {"weight_decay", AK_NUM, "0"}},
             0,
             OP__COUNT,
             0},
    .validate = validate,
    .state = {"adam_m", "adam_v"},
    .scalar = "mu_product",
    .scalar_init = 1.0,
    .locals = {"gi", "t", "mu", "mu_next", "mu_product_next", "bc2", "c_grad", "c_avg", "denom"},
    .prologue = prologue,
    .kernel = kernel,
    .flops = flops,
};
