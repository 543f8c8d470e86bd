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

/* The trailing dims of x that out sums whole (out's dim 1 or absent
 * there): how many, and in *len their element count. */
static int summed_tail(const Shape *x, const Shape *out, long *len) {
    int t = 0;
    *len = 1;
    for (int d = x->rank - 1; d >= 0; d--, t++) {
        int od = d - (x->rank - out->rank);
        if (od >= 0 && out->dims[od] == x->dims[d] && x->dims[d] != 1)
            break;
        *len *= x->dims[d];
    }
    return t;
}

enum { SUM_LANES = 8, SUM_ROWS_MIN = 32 /* summed elements per output from which rows pay */ };

typedef struct SumRows {
    const Node *n;
    long len; /* contiguous elements of x per row, all summed into one output */
} SumRows;

/* out[o] += one row of x, in SUM_LANES partial sums (a0 takes the
 * elements 0, 8, 16, ..., a1 the elements 1, 9, ...): the compiler
 * vectorizes eight independent sums as they stand, where one running sum
 * is a chain of dependent additions it may not reorder (the conv bias
 * gradient sums 196 to 784 pixels a row). Eight scalars, not an array: a
 * zeroed array may become a memset call, which freestanding builds lack. */
static void sum_rows_body(Emit *e, const char *const *idx, void *ctx) {
    const SumRows *s = ctx;
    long whole = s->len / SUM_LANES * SUM_LANES;
    Buf b = {0};
    emit_line(e, "const float *row = %s + (%s) * %ld;", emit_ref(e, s->n->in[0]), idx[0], s->len);
    emit_line(e, "float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;");
    emit_open(e, "for (long k = 0; k < %ld; k += %d)", whole, SUM_LANES);
    emit_line(e, "a0 += row[k], a1 += row[k + 1], a2 += row[k + 2], a3 += row[k + 3];");
    emit_line(e, "a4 += row[k + 4], a5 += row[k + 5], a6 += row[k + 6], a7 += row[k + 7];");
    emit_close(e);
    for (long k = whole; k < s->len; k++)
        buf_printf(&b, "%sa%ld += row[%ld]", k > whole ? ", " : "", k - whole, k);
    if (b.len)
        emit_line(e, "%s;", b.data);
    emit_line(e, "%s[%s] += ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));", emit_ref(e, s->n->id), idx[1]);
    buf_free(&b);
}

void sum_to_emit(Emit *e, const Node *n) {
    Buf cnt = {0};
    emit_count(&cnt, e->g, n->id);
    emit_line(e, "for (long i = 0; i < %s; i++) %s[i] = 0.0f;", cnt.data, emit_ref(e, n->id));
    const Shape *xs = &e->g->nodes[n->in[0]].shape, *shapes[2] = {xs, &n->shape};
    SumRows rows = {n, 1};
    int t = summed_tail(xs, &n->shape, &rows.len);
    if (rows.len >= SUM_ROWS_MIN && xs->batched) { /* rows of x: the leading dims (the batch loop opens a block) */
        Shape xo = *xs, oo = n->shape;
        xo.rank -= t;
        oo.rank = oo.rank > t ? oo.rank - t : 0;
        const Shape *heads[2] = {&xo, &oo};
        emit_loops(e, &xo, 2, heads, -1, sum_rows_body, &rows);
    } else {
        emit_loops(e, shapes[0], 2, shapes, 1, sum_to_body, (void *)n);
    }
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
