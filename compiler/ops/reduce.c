/*
 * reduce.c - sum and mean (over everything, or over one per-sample axis):
 * their lowering, rules and kernels; and the pair that autodiff uses to
 * move between shapes: sum_to (reduce a gradient over the dims its forward
 * operand was broadcast in) and broadcast (the adjoint: spread a gradient
 * back over those dims).
 *
 * Attributes: SUM_AXIS / MEAN_AXIS i[0] = the per-sample axis;
 * BROADCAST i[0] = 1 divides by (out elements / in elements), the
 * derivative of a mean: f[0] elements per sample, times n when i[1]. SUM_TO and BROADCAST carry their result shape in
 * the node itself (set by autodiff); the rule only validates it.
 */
#include <string.h>

#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* sum(x) / mean(x): every element, batch included, to a scalar;
 * sum(x, axis) / mean(x, axis): one per-sample axis removed */
int layer_reduce(LowerCtx *c, const Expr *call, const Bound *b) {
    int is_mean = strcmp(call->str, "mean") == 0;
    if (!b->present[1])
        return lower_node1(c, is_mean ? OP_MEAN_ALL : OP_SUM_ALL, call->loc, b->node[0]);
    int axis = lower_axis(c, b->node[0], (int)b->num[1], b->loc[1]);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, is_mean ? OP_MEAN_AXIS : OP_SUM_AXIS, call->loc, 1, b->node, axis);
}

/* ---- shapes ---------------------------------------------------------------- */

int reduce_all_shape(Graph *g, Node *n) {
    (void)g;
    Shape s = {0};
    n->shape = s;
    return 0;
}

int reduce_axis_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    int axis = n->i[0];
    if (axis < 0 || axis >= x->rank)
        nn_unreachable("reduction axis %d of rank %d", axis, x->rank);
    Shape s = *x;
    for (int d = axis; d + 1 < x->rank; d++)
        s.dims[d] = x->dims[d + 1];
    s.rank--;
    s.dims[s.rank] = 0;
    n->shape = s;
    return 0;
}

/* 1 when `small` broadcasts to `big` (every dim equal or 1, aligned right). */
static int broadcasts_to(const Shape *small, const Shape *big) {
    if ((small->batched && !big->batched) || small->rank > big->rank)
        return 0;
    for (int i = 0; i < small->rank; i++) {
        int ds = small->dims[small->rank - 1 - i], db = big->dims[big->rank - 1 - i];
        if (ds != db && ds != 1)
            return 0;
    }
    return 1;
}

/* sum_to, broadcast, reshape, pad: the shape is given; check it fits the input */
int given_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    int ok;
    switch (n->op) {
    case OP_SUM_TO:
        ok = broadcasts_to(&n->shape, x);
        break;
    case OP_BROADCAST:
        ok = broadcasts_to(x, &n->shape);
        break;
    case OP_RESHAPE:
        ok = x->batched == n->shape.batched && shape_numel(x) == shape_numel(&n->shape);
        break;
    case OP_PAD:
        ok = x->batched == n->shape.batched && x->rank == n->shape.rank &&
             n->i[1] + x->dims[n->i[0]] <= n->shape.dims[n->i[0]];
        break;
    default:
        ok = 0;
        break;
    }
    if (!ok) {
        Buf a = {0}, b = {0};
        shape_print(&a, x);
        shape_print(&b, &n->shape);
        diag_error(n->loc, "internal: %s from %s to %s", op_info(n->op)->name, a.data, b.data);
        buf_free(&a);
        buf_free(&b);
    }
    return ok ? 0 : -1;
}

/* ---- derivative rules --------------------------------------------------------- */

/* A broadcast of v to x's shape; `divide` by the number of copies (mean). */
static int spread_node(AdCtx *ad, int like, int v, int x, int divide) {
    Graph *g = ad_graph(ad);
    Shape xs = g->nodes[x].shape, vs = g->nodes[v].shape;
    int b = ad_node_shaped(ad, OP_BROADCAST, like, 1, &v, &xs);
    Node *bn = ir_node(ad_graph(ad), b);
    bn->i[0] = divide;
    bn->i[1] = xs.batched && !vs.batched;
    bn->f[0] = (double)shape_numel(&xs) / (double)shape_numel(&vs);
    return b;
}

/* dy (of x's reduced shape) spread back over x's shape; mean divides */
static int spread(AdCtx *ad, int n, int dy, int divide) {
    int x = ad_graph(ad)->nodes[n].in[0];
    ad_accumulate(ad, x, spread_node(ad, n, dy, x, divide));
    return 0;
}

int sum_all_grad(AdCtx *ad, int n, int dy) {
    return spread(ad, n, dy, 0);
}

int mean_all_grad(AdCtx *ad, int n, int dy) {
    return spread(ad, n, dy, 1);
}

/* dy lacks the reduced axis: view it with a 1 there, then spread */
static int axis_grad(AdCtx *ad, int n, int dy, int divide) {
    Graph *g = ad_graph(ad);
    int x = g->nodes[n].in[0], axis = g->nodes[n].i[0];
    Shape keep = g->nodes[x].shape;
    keep.dims[axis] = 1;
    int v = ad_node_shaped(ad, OP_RESHAPE, n, 1, &dy, &keep);
    ad_accumulate(ad, x, spread_node(ad, n, v, x, divide));
    return 0;
}

int sum_axis_grad(AdCtx *ad, int n, int dy) {
    return axis_grad(ad, n, dy, 0);
}

int mean_axis_grad(AdCtx *ad, int n, int dy) {
    return axis_grad(ad, n, dy, 1);
}

int sum_to_grad(AdCtx *ad, int n, int dy) {
    return spread(ad, n, dy, 0);
}

int broadcast_grad(AdCtx *ad, int n, int dy) {
    if (ad_graph(ad)->nodes[n].i[0])
        nn_unreachable("differentiating a mean's derivative");
    ad_accumulate(ad, ad_graph(ad)->nodes[n].in[0], dy); /* accumulate sums to shape */
    return 0;
}

/* ---- kernels -------------------------------------------------------------------- */

/* out = sum of all x[i] (mean: divided by their count) */
static void reduce_all(Emit *e, const Node *n, int mean) {
    Buf cnt = {0};
    emit_count(&cnt, e->g, n->in[0]);
    const char *x = emit_ref(e, n->in[0]);
    emit_begin(e);
    emit_line(e, "const long count = %s;", cnt.data);
    emit_line(e, "float acc = 0.0f;");
    emit_line(e, "for (long i = 0; i < count; i++) acc += %s[i];", x);
    emit_line(e, "%s[0] = acc%s;", emit_ref(e, n->id), mean ? " / (float)count" : "");
    emit_close(e);
    buf_free(&cnt);
}

void sum_all_emit(Emit *e, const Node *n) {
    reduce_all(e, n, 0);
}

void mean_all_emit(Emit *e, const Node *n) {
    reduce_all(e, n, 1);
}

/* x viewed as [outer, len, inner]; out[o, j] = sum_k x[o, k, j] (mean: / len) */
void reduce_axis_emit(Emit *e, const Node *n) {
    const Shape *xs = &e->g->nodes[n->in[0]].shape;
    int axis = n->i[0];
    long outer = 1, inner = 1, len = xs->dims[axis];
    for (int d = 0; d < axis; d++)
        outer *= xs->dims[d];
    for (int d = axis + 1; d < xs->rank; d++)
        inner *= xs->dims[d];
    const char *x = emit_ref(e, n->in[0]), *y = emit_ref(e, n->id);
    if (xs->batched && outer == 1)
        emit_open(e, "for (long o = 0; o < (long)n; o++)");
    else
        emit_open(e, "for (long o = 0; o < %s%ld; o++)", xs->batched ? "(long)n * " : "", outer);
    emit_open(e, "for (long j = 0; j < %ld; j++)", inner);
    emit_line(e, "float acc = 0.0f;");
    emit_line(e, "for (long k = 0; k < %ld; k++) acc += %s[(o * %ld + k) * %ld + j];", len, x, len, inner);
    emit_line(e, "%s[o * %ld + j] = acc%s;", y, inner,
              n->op == OP_MEAN_AXIS ? arena_printf(e->g->arena, " / %ld.0f", len) : "");
    emit_close(e);
    emit_close(e);
}

/* out = x summed over the dims where out is broadcast against x */
static void sum_to_body(Emit *e, const char *const *idx, void *ctx) {
    const Node *n = ctx;
    emit_line(e, "%s[%s] += %s[%s];", emit_ref(e, n->id), idx[1], emit_ref(e, n->in[0]), idx[0]);
}

void sum_to_emit(Emit *e, const Node *n) {
    Buf cnt = {0};
    emit_count(&cnt, e->g, n->id);
    emit_line(e, "for (long i = 0; i < %s; i++) %s[i] = 0.0f;", cnt.data, emit_ref(e, n->id));
    const Shape *shapes[2] = {&e->g->nodes[n->in[0]].shape, &n->shape};
    emit_loops(e, shapes[0], 2, shapes, sum_to_body, (void *)n);
    buf_free(&cnt);
}

/* out = x, or x / (out count / x count) for a mean's derivative */
void broadcast_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    if (!n->i[0]) {
        buf_puts(o, a[0]);
        return;
    }
    if (n->i[1])
        emit_reads_batch(e); /* the divisor (float)n */
    buf_printf(o, "(%s / %s", a[0], n->i[1] ? "((float)n * " : "");
    emit_float(o, n->f[0]);
    buf_puts(o, n->i[1] ? "))" : ")");
}
