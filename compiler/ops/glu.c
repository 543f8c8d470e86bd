/*
 * glu.c - glu(x, axis=-1), the gated linear unit along one per-sample
 * axis, F.glu of PyTorch 1.13: its lowering, op and derivative kernel. The
 * axis (of even length 2h) splits into a = x[..., :h, ...]
 * and b = x[..., h:, ...], and
 *
 *   y    = a * sigmoid(b)                       (the axis has length h)
 *   d/da = dy * sigmoid(b)
 *   d/db = dy * a * sigmoid(b) * (1 - sigmoid(b))
 *
 * sigmoid(b) = 1 / (1 + exp(-b)), as PyTorch's CPU kernel computes it.
 * Attributes: i[0] = the axis (per-sample, >= 0), copied to GLU_GRAD.
 *
 * x is viewed around the axis as [outer, 2h, inner]: outer spans the batch
 * and the dims before the axis, inner the dims after it.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* glu(x, axis=-1): the axis must have an even length */
int layer_glu(LowerCtx *c, const Expr *call, const Bound *b) {
    int x = b->node[0];
    int axis = lower_axis(c, x, (int)b->num[1], b->loc[1]);
    if (axis < 0)
        return -1;
    const Shape *xs = &c->g->nodes[x].shape;
    if (xs->dims[axis] % 2) {
        Buf s = {0};
        shape_print(&s, xs);
        diag_error(call->loc, "glu splits axis %d into two halves, but it has odd length %d (shape %s)", axis,
                   xs->dims[axis], s.data);
        buf_free(&s);
        return -1;
    }
    return lower_node_axis(c, OP_GLU, call->loc, 1, &x, axis);
}

/* ---- rules and kernels --------------------------------------------------- */

int glu_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    int axis = n->i[0];
    if (axis < 0 || axis >= x->rank || x->dims[axis] % 2)
        nn_unreachable("glu on axis %d of a tensor of rank %d", axis, x->rank); /* layer_glu checks */
    n->shape = *x;
    n->shape.dims[axis] = x->dims[axis] / 2;
    return 0;
}

/* (x, dy) -> dx: x's shape */
int glu_grad_shape(Graph *g, Node *n) {
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

int glu_grad(AdCtx *ad, int n, int dy) {
    int x = ad_graph(ad)->nodes[n].in[0];
    int in[2] = {x, dy};
    ad_accumulate(ad, x, ad_node(ad, OP_GLU_GRAD, n, 2, in));
    return 0;
}

/* Opens the loops over (o, k, j) of x viewed as [outer, 2h, inner], k < h;
 * declares ia (a's index in x), ib (b's) and iy (the output's). */
static void open_halves(Emit *e, const Shape *x, int axis) {
    long outer = 1, inner = 1, h = x->dims[axis] / 2;
    for (int d = 0; d < axis; d++)
        outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++)
        inner *= x->dims[d];
    if (x->batched && outer == 1)
        emit_open(e, "for (long o = 0; o < (long)n; o++)");
    else
        emit_open(e, "for (long o = 0; o < %s%ld; o++)", x->batched ? "(long)n * " : "", outer);
    emit_open(e, "for (long k = 0; k < %ld; k++)", h);
    emit_open(e, "for (long j = 0; j < %ld; j++)", inner);
    emit_line(e, "const long ia = (o * %ld + k) * %ld + j, ib = ia + %ld, iy = (o * %ld + k) * %ld + j;", 2 * h, inner,
              h * inner, h, inner);
}

static void close_halves(Emit *e) {
    emit_close(e);
    emit_close(e);
    emit_close(e);
}

/* y = a * (1 / (1 + exp(-b))) */
void glu_emit(Emit *e, const Node *n) {
    const char *x = emit_ref(e, n->in[0]);
    open_halves(e, &e->g->nodes[n->in[0]].shape, n->i[0]);
    emit_line(e, "%s[iy] = %s[ia] * (1.0f / (1.0f + expf(-%s[ib])));", emit_ref(e, n->id), x, x);
    close_halves(e);
}

/* (x, dy) -> dx: da = dy s, db = dy a s (1 - s), s = sigmoid(b) */
void glu_grad_emit(Emit *e, const Node *n) {
    const char *x = emit_ref(e, n->in[0]), *dy = emit_ref(e, n->in[1]), *dx = emit_ref(e, n->id);
    open_halves(e, &n->shape, n->i[0]);
    emit_line(e, "const float t = 1.0f / (1.0f + expf(-%s[ib])), g = %s[iy];", x, dy);
    emit_line(e, "%s[ia] = g * t;", dx);
    emit_line(e, "%s[ib] = g * %s[ia] * t * (1.0f - t);", dx, x);
    close_halves(e);
}

/* per element of x: an exp, an add, a divide and a multiply (forward) or
 * their derivative's few more, counted as 4 */
double glu_flops(const Graph *g, const Node *n, int batch) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    return 4.0 * (double)shape_numel(x) * (x->batched ? batch : 1);
}
