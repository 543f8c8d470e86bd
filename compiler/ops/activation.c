/*
 * activation.c - elementwise activations: their lowering, derivative rule
 * and derivative kernels.
 *
 * sigmoid(x), tanh(x), relu(x), leaky_relu(x, alpha), elu(x, alpha),
 * softplus(x), swish(x, beta), silu(x), gelu(x, approximate) lower to one op
 * each (layer_unary, which the primitives exp, log, sqrt, abs of arith.c
 * share; gelu's approximate="tanh" picks GELU_TANH).
 *
 * Each activation f has one derivative kernel f_grad taking (x, dy) or
 * (y, dy), whichever the derivative is cheaper from (the table below), so
 * that the forward input or output need only live until the backward pass
 * when it is actually read. Formulas follow PyTorch 1.13's CPU kernels,
 * including its kinks (relu'(0) = 0) and softplus's threshold of 20.
 *
 * Attributes: f[0] = alpha (leaky_relu, elu) or beta (swish; 1 for silu),
 * copied to the derivative kernel.
 */
#include <string.h>

#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* f(x[, alpha]): one elementwise op; alpha/beta go to f[0] */
int layer_unary(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    int id = lower_node1(c, bi->op, call->loc, b->node[0]);
    if (id >= 0)
        ir_node(c->g, id)->f[0] = bi->nargs > 1 ? b->num[1] : 1.0;
    if (id >= 0 && bi->op == OP_ELU && b->num[1] < 0) {
        diag_error(b->loc[1], "elu's alpha must be >= 0, got %g", b->num[1]);
        return -1;
    }
    return id;
}

/* gelu(x, approximate="none"|"tanh") */
int layer_gelu(LowerCtx *c, const Expr *call, const Bound *b) {
    int tanh_form = strcmp(b->str[1], "tanh") == 0;
    if (!tanh_form && strcmp(b->str[1], "none") != 0) {
        diag_error(b->loc[1], "gelu's approximate is \"none\" or \"tanh\", not \"%s\"", b->str[1]);
        return -1;
    }
    return lower_node1(c, tanh_form ? OP_GELU_TANH : OP_GELU, call->loc, b->node[0]);
}

/* ---- derivative rule ------------------------------------------------------------ */

static const struct {
    Op op, grad;
    int from_output; /* the kernel reads y = f(x) instead of x */
} act_rules[] = {
    {OP_SIGMOID, OP_SIGMOID_GRAD, 1},       {OP_TANH, OP_TANH_GRAD, 1}, {OP_RELU, OP_RELU_GRAD, 1},
    {OP_LEAKY_RELU, OP_LEAKY_RELU_GRAD, 0}, {OP_ELU, OP_ELU_GRAD, 0},   {OP_SOFTPLUS, OP_SOFTPLUS_GRAD, 0},
    {OP_SWISH, OP_SWISH_GRAD, 0},           {OP_GELU, OP_GELU_GRAD, 0}, {OP_GELU_TANH, OP_GELU_TANH_GRAD, 0},
};

/* d f(x) = f_grad(x or y, dy) */
int act_grad(AdCtx *ad, int n, int dy) {
    const Node *node = &ad_graph(ad)->nodes[n];
    for (size_t i = 0; i < sizeof act_rules / sizeof act_rules[0]; i++) {
        if (act_rules[i].op != node->op)
            continue;
        int x = node->in[0];
        int in[2] = {act_rules[i].from_output ? n : x, dy};
        ad_accumulate(ad, x, ad_node(ad, act_rules[i].grad, n, 2, in));
        return 0;
    }
    nn_unreachable("no derivative kernel for %s", op_info(node->op)->name);
}

/* ---- C expressions -------------------------------------------------------------- */

static void lit(Buf *o, double v) {
    emit_float(o, v);
}

/* sigmoid(x) = 1 / (1 + exp(-x)), the runtime's: vectorizes (nn_runtime.h) */
void sigmoid_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "nnrt_sigmoidf(%s)", a[0]);
}

void tanh_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "nnrt_tanhf(%s)", a[0]); /* the runtime's: vectorizes (nn_runtime.h) */
}

/* relu(x) = max(x, 0), NaN passes through */
void relu_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s < 0.0f ? 0.0f : %s)", a[0], a[0]);
}

/* leaky_relu(x) = x > 0 ? x : alpha x */
void leaky_relu_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    buf_printf(o, "(%s > 0.0f ? %s : ", a[0], a[0]);
    lit(o, n->f[0]);
    buf_printf(o, " * %s)", a[0]);
}

/* elu(x) = x > 0 ? x : alpha (exp(x) - 1) */
void elu_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    buf_printf(o, "(%s > 0.0f ? %s : ", a[0], a[0]);
    lit(o, n->f[0]);
    buf_printf(o, " * %s(%s))", emit_libm(e, "expm1f"), a[0]);
}

/* softplus(x) = x > 20 ? x : log(1 + exp(x)) */
void softplus_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "(%s > 20.0f ? %s : %s(expf(%s)))", a[0], a[0], emit_libm(e, "log1pf"), a[0]);
}

/* swish(x) = x sigmoid(beta x); silu is beta = 1 */
void swish_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    buf_printf(o, "(%s / (1.0f + expf(-", a[0]);
    lit(o, n->f[0]);
    buf_printf(o, " * %s)))", a[0]);
}

/* gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 */
void gelu_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "(0.5f * %s * (1.0f + %s(%s * 0.70710678118654752f)))", a[0], emit_libm(e, "erff"), a[0]);
}

/* gelu_tanh(x) = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 */
void gelu_tanh_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(0.5f * %s * (1.0f + tanhf(0.79788456080286536f * (%s + 0.044715f * %s * %s * %s))))", a[0], a[0],
               a[0], a[0], a[0]);
}

/* (y, dy) -> dy (1 - y) y */
void sigmoid_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s * (1.0f - %s) * %s)", a[1], a[0], a[0]);
}

/* (y, dy) -> dy (1 - y^2) */
void tanh_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s * (1.0f - %s * %s))", a[1], a[0], a[0]);
}

/* (y, dy) -> y > 0 ? dy : 0 */
void relu_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : 0.0f)", a[0], a[1]);
}

/* (x, dy) -> x > 0 ? dy : alpha dy */
void leaky_relu_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    buf_printf(o, "(%s > 0.0f ? %s : %s * ", a[0], a[1], a[1]);
    lit(o, n->f[0]);
    buf_putc(o, ')');
}

/* (x, dy) -> x > 0 ? dy : dy alpha exp(x) */
void elu_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    buf_printf(o, "(%s > 0.0f ? %s : %s * ", a[0], a[1], a[1]);
    lit(o, n->f[0]);
    buf_printf(o, " * expf(%s))", a[0]);
}

/* (x, dy) -> x > 20 ? dy : dy sigmoid(x) */
void softplus_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 20.0f ? %s : %s / (1.0f + expf(-%s)))", a[0], a[1], a[1], a[0]);
}

/* (x, dy) -> dy (s + beta x s (1 - s)), s = sigmoid(beta x) */
void swish_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf s = {0};
    buf_puts(&s, "(1.0f / (1.0f + expf(-");
    lit(&s, n->f[0]);
    buf_printf(&s, " * %s)))", a[0]);
    buf_printf(o, "(%s * (%s + ", a[1], s.data);
    lit(o, n->f[0]);
    buf_printf(o, " * %s * %s * (1.0f - %s)))", a[0], s.data, s.data);
    buf_free(&s);
}

/* (x, dy) -> dy (Phi(x) + x phi(x)) */
void gelu_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o,
               "(%s * (0.5f * (1.0f + %s(%s * 0.70710678118654752f)) + "
               "%s * 0.39894228040143268f * expf(-0.5f * %s * %s)))",
               a[1], emit_libm(e, "erff"), a[0], a[0], a[0], a[0]);
}

/* (x, dy) -> dy (0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2)),
 * t = tanh(k (x + c x^3)), k = sqrt(2/pi), c = 0.044715 (PyTorch's form) */
void gelu_tanh_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    Buf t = {0};
    buf_printf(&t, "tanhf(0.79788456080286536f * (%s + 0.044715f * %s * %s * %s))", a[0], a[0], a[0], a[0]);
    buf_printf(o,
               "(%s * (0.5f * (1.0f + %s) + 0.5f * %s * (1.0f - %s * %s) * 0.79788456080286536f * "
               "(1.0f + 3.0f * 0.044715f * %s * %s)))",
               a[1], t.data, a[0], t.data, t.data, a[0], a[0]);
    buf_free(&t);
}
