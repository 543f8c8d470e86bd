/*
 * prelu.c - the parametric ReLU, PyTorch 1.13's nn.PReLU:
 *
 *   y        = x > 0 ? x : alpha x
 *   d/dx     = x > 0 ? dy : alpha dy
 *   d/dalpha = x > 0 ? 0 : x dy        (then summed to alpha's shape)
 *
 * alpha arrives already shaped to broadcast against x (layers_more.c views
 * alpha [C] as [C, 1, 1] for a [C, H, W] input), so all three are plain
 * elementwise ops; ad_accumulate sums d alpha over the batch and the
 * broadcast dims. At x = 0 the derivative is PyTorch's: alpha dy for x, 0
 * for alpha.
 */
#include "nngen.h"

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
void prelu_expr(Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : %s * %s)", a[0], a[0], a[1], a[0]);
}

/* (x, alpha, dy) -> x > 0 ? dy : alpha dy */
void prelu_grad_expr(Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "(%s > 0.0f ? %s : %s * %s)", a[0], a[2], a[1], a[2]);
}

/* (x, dy) -> x > 0 ? 0 : x dy */
void prelu_alpha_grad_expr(Buf *o, const Node *n, const char *const *a) {
    (void)n;
    buf_printf(o, "(%s > 0.0f ? 0.0f : %s * %s)", a[0], a[0], a[1]);
}
