/*
 * arith.c - elementwise arithmetic: + - * / max min, unary -, exp log sqrt
 * abs, x^k; the lowering of max(a, b) and min(a, b), their derivative rules
 * and derivative kernels. (The operators are lowered by lower.c; exp, log,
 * sqrt, abs by activation.c's layer_unary.)
 *
 * All are elementwise with NumPy broadcasting: the shape rule broadcasts,
 * the expression hook writes one output element from input elements (the
 * emitter writes the loop), and a derivative rule hands each input the
 * gradient of the output's shape; ad_accumulate sums it back over the
 * broadcast dims. Expression arguments are plain variables or array
 * elements, so a hook may name an argument twice.
 *
 * Attributes: POWC f[0] = k (the exponent), copied to POWC_GRAD.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* max(a, b), min(a, b): elementwise, broadcasting */
int layer_binary(LowerCtx *c, const Expr *call, const Bound *b) {
    return lower_node2(c, builtin_find(call->str)->op, call->loc, b->node[0], b->node[1]);
}

/* ---- shapes ---------------------------------------------------------------- */

int ew_unary_shape(Graph *g, Node *n) {
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

int ew_binary_shape(Graph *g, Node *n) {
    return shape_broadcast(g, n, &g->nodes[n->in[0]].shape, &g->nodes[n->in[1]].shape, &n->shape);
}

int ew_ternary_shape(Graph *g, Node *n) {
    Shape ab;
    if (shape_broadcast(g, n, &g->nodes[n->in[0]].shape, &g->nodes[n->in[1]].shape, &ab) < 0)
        return -1;
    return shape_broadcast(g, n, &ab, &g->nodes[n->in[2]].shape, &n->shape);
}

/* ---- derivative rules --------------------------------------------------------- */

static int node2(AdCtx *ad, Op op, int like, int a, int b) {
    int in[2] = {a, b};
    return ad_node(ad, op, like, 2, in);
}

static int node3(AdCtx *ad, Op op, int like, int a, int b, int c) {
    int in[3] = {a, b, c};
    return ad_node(ad, op, like, 3, in);
}

static const Node *fwd(AdCtx *ad, int n) {
    return &ad_graph(ad)->nodes[n];
}

/* d(a + b) = (dy, dy) */
int add_grad(AdCtx *ad, int n, int dy) {
    int a = fwd(ad, n)->in[0], b = fwd(ad, n)->in[1];
    ad_accumulate(ad, a, dy);
    ad_accumulate(ad, b, dy);
    return 0;
}

/* d(a - b) = (dy, -dy) */
int sub_grad(AdCtx *ad, int n, int dy) {
    int a = fwd(ad, n)->in[0], b = fwd(ad, n)->in[1];
    ad_accumulate(ad, a, dy);
    if (ad_needs_grad(ad, b))
        ad_accumulate(ad, b, ad_node(ad, OP_NEG, n, 1, &dy));
    return 0;
}

/* d(a * b) = (dy * b, dy * a) */
int mul_grad(AdCtx *ad, int n, int dy) {
    int a = fwd(ad, n)->in[0], b = fwd(ad, n)->in[1];
    if (ad_needs_grad(ad, a))
        ad_accumulate(ad, a, node2(ad, OP_MUL, n, dy, b));
    if (ad_needs_grad(ad, b))
        ad_accumulate(ad, b, node2(ad, OP_MUL, n, dy, a));
    return 0;
}

/* d(a / b) = (dy / b, -dy * (a / b) / b) */
int div_grad(AdCtx *ad, int n, int dy) {
    int a = fwd(ad, n)->in[0], b = fwd(ad, n)->in[1];
    if (ad_needs_grad(ad, a))
        ad_accumulate(ad, a, node2(ad, OP_DIV, n, dy, b));
    if (ad_needs_grad(ad, b)) {
        int t = node2(ad, OP_DIV, n, node2(ad, OP_MUL, n, dy, n), b);
        ad_accumulate(ad, b, ad_node(ad, OP_NEG, n, 1, &t));
    }
    return 0;
}

/* d max(a, b) = dy where a > b, dy/2 at ties (PyTorch 1.13), and the mirror for b */
static int maxmin_grad(AdCtx *ad, int n, int dy, Op grad_op) {
    int a = fwd(ad, n)->in[0], b = fwd(ad, n)->in[1];
    if (ad_needs_grad(ad, a))
        ad_accumulate(ad, a, node3(ad, grad_op, n, a, b, dy));
    if (ad_needs_grad(ad, b))
        ad_accumulate(ad, b, node3(ad, grad_op, n, b, a, dy));
    return 0;
}

int max_grad(AdCtx *ad, int n, int dy) {
    return maxmin_grad(ad, n, dy, OP_MAX_GRAD);
}

int min_grad(AdCtx *ad, int n, int dy) {
    return maxmin_grad(ad, n, dy, OP_MIN_GRAD);
}

/* d(-x) = -dy */
int neg_grad(AdCtx *ad, int n, int dy) {
    ad_accumulate(ad, fwd(ad, n)->in[0], ad_node(ad, OP_NEG, n, 1, &dy));
    return 0;
}

/* d exp(x) = dy * exp(x) */
int exp_grad(AdCtx *ad, int n, int dy) {
    ad_accumulate(ad, fwd(ad, n)->in[0], node2(ad, OP_MUL, n, dy, n));
    return 0;
}

/* d log(x) = dy / x */
int log_grad(AdCtx *ad, int n, int dy) {
    int x = fwd(ad, n)->in[0];
    ad_accumulate(ad, x, node2(ad, OP_DIV, n, dy, x));
    return 0;
}

/* d sqrt(x) = dy / (2 sqrt(x)) */
int sqrt_grad(AdCtx *ad, int n, int dy) {
    ad_accumulate(ad, fwd(ad, n)->in[0], node2(ad, OP_SQRT_GRAD, n, n, dy));
    return 0;
}

/* d |x| = dy * sign(x), sign(0) = 0 */
int abs_grad(AdCtx *ad, int n, int dy) {
    int x = fwd(ad, n)->in[0];
    ad_accumulate(ad, x, node2(ad, OP_ABS_GRAD, n, x, dy));
    return 0;
}

/* d x^k = dy * k * x^(k-1) */
int powc_grad(AdCtx *ad, int n, int dy) {
    int x = fwd(ad, n)->in[0];
    ad_accumulate(ad, x, node2(ad, OP_POWC_GRAD, n, x, dy));
    return 0;
}

/* ---- C expressions ------------------------------------------------------------ */

static int ew_simple_binary(Buf *o, const char *a, const char *op, const char *b) {
    buf_printf(o, "(%s %s %s)", a, op, b);
    return 0;
}

void add_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    ew_simple_binary(o, a[0], "+", a[1]);
}

void sub_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    ew_simple_binary(o, a[0], "-", a[1]);
}

void mul_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    ew_simple_binary(o, a[0], "*", a[1]);
}

void div_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    ew_simple_binary(o, a[0], "/", a[1]);
}

/* NaN-propagating as PyTorch's maximum: a NaN in either operand wins */
void max_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s < %s ? %s : %s)", a[0], a[1], a[1], a[0]);
}

void min_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > %s ? %s : %s)", a[0], a[1], a[1], a[0]);
}

void neg_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(-%s)", a[0]);
}

void exp_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "expf(%s)", a[0]);
}

void log_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "logf(%s)", a[0]);
}

void sqrt_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "sqrtf(%s)", a[0]);
}

void abs_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "%s(%s)", emit_libm(e, "fabsf"), a[0]);
}

/* x^k: small integer powers as products, the rest through powf */
static void pow_text(const Emit *e, Buf *o, const char *x, double k) {
    if (k == 0)
        buf_puts(o, "1.0f");
    else if (k == 1)
        buf_puts(o, x);
    else if (k == 2)
        buf_printf(o, "(%s * %s)", x, x);
    else if (k == 3)
        buf_printf(o, "(%s * %s * %s)", x, x, x);
    else if (k == 0.5)
        buf_printf(o, "sqrtf(%s)", x);
    else if (k == -1)
        buf_printf(o, "(1.0f / %s)", x);
    else {
        buf_printf(o, "%s(%s, ", emit_libm(e, "powf"), x);
        emit_float(o, k);
        buf_putc(o, ')');
    }
}

void powc_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    pow_text(e, o, a[0], n->f[0]);
}

/* (x, dy) -> dy * k * x^(k-1); k = 0 gives 0, as PyTorch */
void powc_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    double k = n->f[0];
    if (k == 0) {
        buf_puts(o, "0.0f");
        return;
    }
    buf_printf(o, "(%s * ", a[1]);
    emit_float(o, k);
    buf_puts(o, " * ");
    pow_text(e, o, a[0], k - 1);
    buf_putc(o, ')');
}

/* (x, dy) -> dy * sign(x) */
void abs_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : (%s < 0.0f ? -%s : 0.0f))", a[0], a[1], a[0], a[1]);
}

/* (y, dy) -> dy / (2 y), y = sqrt(x) */
void sqrt_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s / (2.0f * %s))", a[1], a[0]);
}

/* (a, b, dy) -> d a of max(a, b): dy where a > b, dy / 2 at a tie */
void max_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > %s ? %s : (%s == %s ? 0.5f * %s : 0.0f))", a[0], a[1], a[2], a[0], a[1], a[2]);
}

void min_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s < %s ? %s : (%s == %s ? 0.5f * %s : 0.0f))", a[0], a[1], a[2], a[0], a[1], a[2]);
}
