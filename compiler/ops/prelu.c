/*
 * prelu.c - the parametric ReLU, PyTorch 1.13's nn.PReLU: the prelu(x)
 * layer and its op,
 *
 *   y        = x > 0 ? x : alpha x
 *   d/dx     = x > 0 ? dy : alpha dy
 *   d/dalpha = x > 0 ? 0 : x dy        (then summed to alpha's shape)
 *
 * alpha is a parameter [C] (the channels of a [C, H, W] tensor, else the
 * last dim; [1] for a scalar per sample), init 0.25. The layer views it to
 * broadcast against x ([C, 1, 1] for a [C, H, W] input), so all three are plain
 * elementwise ops; ad_accumulate sums d alpha over the batch and the
 * broadcast dims. At x = 0 the derivative is PyTorch's: alpha dy for x, 0
 * for alpha.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* prelu(x): alpha [C], C = dims[0] of a rank-3 tensor, else the last dim */
int layer_prelu(LowerCtx *c, const Expr *call, const Bound *b) {
    int x = b->node[0];
    Shape xs = c->g->nodes[x].shape;
    int channels = xs.rank == 3 ? xs.dims[0] : xs.rank >= 1 ? xs.dims[xs.rank - 1] : 1;
    Shape as = {0, 1, {channels, 0, 0, 0}};
    Arena *a = c->g->arena;
    Expr *init =
        ast_call(a, call->loc, "constant", ast_arg(a, NULL, call->loc, ast_num(a, call->loc, 0.25)), call->loc);
    int alpha = lower_layer_param(c, call, 0, "alpha", &as, init, "constant", 0);
    if (alpha >= 0 && (xs.rank == 3 || xs.rank == 0)) { /* [C, 1, 1] against [C, H, W]; a scalar */
        Shape cs = lower_channel_shape(&xs);
        alpha = lower_reshape(c, alpha, &cs, call->loc);
    }
    return lower_node2(c, OP_PRELU, call->loc, x, alpha);
}

/* ---- derivative rule and C expressions ----------------------------------- */

int prelu_grad(AdCtx *ad, int n, int dy) {
    const Node *node = &ad_graph(ad)->nodes[n];
    int x = node->in[0], a = node->in[1];
    if (ad_needs_grad(ad, x)) {
        int in[3] = {x, a, dy};
        ad_accumulate(ad, x, ad_node(ad, OP_PRELU_GRAD, n, 3, in));
    }
    if (ad_needs_grad(ad, a)) {
        int in[2] = {x, dy};
        ad_accumulate(ad, a, ad_node(ad, OP_PRELU_ALPHA_GRAD, n, 2, in));
    }
    return 0;
}

/* x > 0 ? x : alpha x */
void prelu_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : %s * %s)", a[0], a[0], a[1], a[0]);
}

/* (x, alpha, dy) -> x > 0 ? dy : alpha dy */
void prelu_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : %s * %s)", a[0], a[2], a[1], a[2]);
}

/* (x, dy) -> x > 0 ? 0 : x dy */
void prelu_alpha_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    (void)n;
    buf_printf(o, "(%s > 0.0f ? 0.0f : %s * %s)", a[0], a[0], a[1]);
}
