/*
 * layout.c - ops that move data without arithmetic: reshape (a view: no
 * code, the planner gives it its input's storage), transpose, concat, and
 * slice / pad, the pair that concat's derivative is made of; and the
 * lowering of reshape(x, dims), flatten(x), transpose(x), concat(a, b, axis).
 *
 * Attributes: CONCAT i[0] = axis; SLICE i[0] = axis, i[1] = start,
 * i[2] = length; PAD i[0] = axis, i[1] = start (its shape is given).
 * Axes count per-sample dims from 0. A tensor is viewed around an axis as
 * [outer, len, inner]: outer spans the batch and the dims before the axis.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* reshape(x, [dims]): per-sample dims; one of them may be -1 (inferred) */
int layer_reshape(LowerCtx *c, const Expr *call, const Bound *b) {
    const Node *x = ir_cnode(c->g, b->node[0]);
    const Expr *list = b->given[1];
    Shape to = {0};
    int infer = -1, rank = ast_arg_count(list->args);
    long xn = shape_numel(&x->shape);
    double known = 1;
    to.batched = x->shape.batched;
    if (rank < 1 || rank > NN_MAX_RANK) {
        diag_error(list->start, "reshape takes 1 to %d dimensions, got %d", NN_MAX_RANK, rank);
        return -1;
    }
    int i = 0;
    for (const Arg *a = list->args; a; a = a->next, i++) {
        double d;
        if (lower_number(c, a->value, &d) < 0)
            return -1;
        if (d == -1 && infer < 0)
            infer = i;
        else if (d < 1 || d > 2147483647.0 || d != (long)d) {
            diag_error(a->value->start, "a dimension must be an integer >= 1 (or one -1), got %g", d);
            return -1;
        } else
            known *= d;
        to.dims[i] = (int)d;
    }
    to.rank = rank;
    /* known <= xn < 2^31 before any long product of the new dims is taken */
    int fits = known <= (double)xn;
    if (fits && infer >= 0 && xn % (long)known == 0)
        to.dims[infer] = (int)(xn / (long)known);
    if (!fits || (infer >= 0 && to.dims[infer] < 1) || shape_numel(&to) != xn) {
        Buf s = {0}, t = {0};
        shape_print(&s, &x->shape);
        shape_print(&t, &to);
        diag_error(call->loc, "cannot reshape %s (%ld elements per sample) to %s", s.data, xn, t.data);
        buf_free(&s);
        buf_free(&t);
        return -1;
    }
    return lower_reshape(c, b->node[0], &to, call->loc);
}

/* flatten(x): [N, product of the per-sample dims] */
int layer_flatten(LowerCtx *c, const Expr *call, const Bound *b) {
    Shape f = lower_flat_shape(&c->g->nodes[b->node[0]].shape);
    return lower_reshape(c, b->node[0], &f, call->loc);
}

/* transpose(x): the per-sample dims reversed (all dims for an unbatched x) */
int layer_transpose(LowerCtx *c, const Expr *call, const Bound *b) {
    if (c->g->nodes[b->node[0]].shape.rank < 2)
        return b->node[0]; /* nothing to reverse */
    return lower_node1(c, OP_TRANSPOSE, call->loc, b->node[0]);
}

/* concat(a, b, axis=-1) */
int layer_concat(LowerCtx *c, const Expr *call, const Bound *b) {
    int axis = lower_axis(c, b->node[0], (int)b->num[2], b->loc[2]);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, OP_CONCAT, call->loc, 2, b->node, axis);
}

/* ---- shapes ----------------------------------------------------------------- */

/* transpose: per-sample dims reversed (all dims of an unbatched tensor) */
int transpose_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    Shape s = *x;
    for (int d = 0; d < x->rank; d++)
        s.dims[d] = x->dims[x->rank - 1 - d];
    n->shape = s;
    return 0;
}

static void shape_mismatch(Graph *g, Node *n, const char *why) {
    shape_error2(g, n, "concat", &g->nodes[n->in[0]].shape, "and", &g->nodes[n->in[1]].shape, why);
}

/* concat(a, b, axis): equal dims but the axis, which adds up */
int concat_shape(Graph *g, Node *n) {
    const Shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
    int axis = n->i[0];
    char why[96];
    if (a->batched != b->batched) {
        shape_mismatch(g, n, "one has the batch dimension, the other not");
        return -1;
    }
    if (a->rank != b->rank) {
        snprintf(why, sizeof why, "rank %d != %d", a->rank, b->rank);
        shape_mismatch(g, n, why);
        return -1;
    }
    for (int d = 0; d < a->rank; d++) {
        if (d != axis && a->dims[d] != b->dims[d]) {
            snprintf(why, sizeof why, "dim %d: %d != %d; only axis %d may differ", d, a->dims[d], b->dims[d], axis);
            shape_mismatch(g, n, why);
            return -1;
        }
    }
    if ((long)a->dims[axis] + b->dims[axis] > 2147483647L) { /* before the int sum overflows */
        shape_mismatch(g, n, "the result would have too many elements");
        return -1;
    }
    n->shape = *a;
    n->shape.dims[axis] = a->dims[axis] + b->dims[axis];
    return 0;
}

int slice_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    if (n->i[1] < 0 || n->i[2] < 1 || n->i[1] + n->i[2] > x->dims[n->i[0]])
        nn_unreachable("slice out of range");
    n->shape = *x;
    n->shape.dims[n->i[0]] = n->i[2];
    return 0;
}

/* ---- derivative rules ------------------------------------------------------------ */

/* d reshape(x) = reshape(dy) back to x's shape */
int reshape_grad(AdCtx *ad, int n, int dy) {
    int x = ad_graph(ad)->nodes[n].in[0];
    Shape xs = ad_graph(ad)->nodes[x].shape;
    ad_accumulate(ad, x, ad_node_shaped(ad, OP_RESHAPE, n, 1, &dy, &xs));
    return 0;
}

/* d transpose(x) = transpose(dy) */
int transpose_grad(AdCtx *ad, int n, int dy) {
    ad_accumulate(ad, ad_graph(ad)->nodes[n].in[0], ad_node(ad, OP_TRANSPOSE, n, 1, &dy));
    return 0;
}

static int slice_node(AdCtx *ad, int like, int v, int axis, int start, int len) {
    return ad_node_i(ad, OP_SLICE, like, 1, &v, axis, start, len);
}

/* d concat(a, b) = (dy[..., :len_a], dy[..., len_a:]) */
int concat_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int a = g->nodes[n].in[0], b = g->nodes[n].in[1], axis = g->nodes[n].i[0];
    int la = g->nodes[a].shape.dims[axis], lb = g->nodes[b].shape.dims[axis];
    if (ad_needs_grad(ad, a))
        ad_accumulate(ad, a, slice_node(ad, n, dy, axis, 0, la));
    if (ad_needs_grad(ad, b))
        ad_accumulate(ad, b, slice_node(ad, n, dy, axis, la, lb));
    return 0;
}

/* d slice(x) = dy padded with zeros back to x's shape */
int slice_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int x = g->nodes[n].in[0];
    Shape xs = g->nodes[x].shape;
    int p = ad_node_shaped(ad, OP_PAD, n, 1, &dy, &xs); /* axis, start copied from the slice */
    ad_accumulate(ad, x, p);
    return 0;
}

int pad_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int x = g->nodes[n].in[0];
    ad_accumulate(ad, x,
                  slice_node(ad, n, dy, g->nodes[n].i[0], g->nodes[n].i[1], g->nodes[x].shape.dims[g->nodes[n].i[0]]));
    return 0;
}

/* ---- kernels ---------------------------------------------------------------------- */

/* outer (batch and dims before axis) and inner (dims after axis) extents */
static void around_axis(const Shape *s, int axis, long *outer, long *inner) {
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= s->dims[d];
    for (int d = axis + 1; d < s->rank; d++)
        *inner *= s->dims[d];
}

static const char *batch_prefix(const Shape *s) {
    return s->batched ? "(long)n * " : "";
}

/* A large matrix [R, C] -> [C, R] in square tiles: a tile's rows and its
 * transposed rows stay in the L1 cache while it is copied, where the plain
 * loop's writes, R floats apart, each touched another cache line (a
 * recurrent layer's W_hh^T, 128 x 512: 70 us a call, a sixth of LSTM(128)'s
 * batch-1 training step) */
enum { TRANSPOSE_TILE = 16 };

static void emit_transpose_tiled(Emit *e, const Shape *x, const char *xs, const char *ys, long per) {
    int R = x->dims[0], C = x->dims[1], T = TRANSPOSE_TILE;
    emit_open(e, "for (long b = 0; b < %s1; b++)", batch_prefix(x));
    emit_open(e, "for (long r0 = 0; r0 < %d; r0 += %d)", R, T);
    emit_open(e, "for (long c0 = 0; c0 < %d; c0 += %d)", C, T);
    emit_open(e, "for (long r = r0; r < (r0 + %d < %d ? r0 + %d : %d); r++)", T, R, T, R);
    emit_line(
        e,
        "for (long c = c0; c < (c0 + %d < %d ? c0 + %d : %d); c++) %s[b * %ld + c * %d + r] = %s[b * %ld + r * %d + c];",
        T, C, T, C, ys, per, R, xs, per, C);
    for (int d = 0; d < 4; d++)
        emit_close(e);
}

/* y[i_{r-1}, ..., i_0] = x[i_0, ..., i_{r-1}] per sample */
void transpose_emit(Emit *e, const Node *n) {
    const Shape *x = &e->g->nodes[n->in[0]].shape;
    const char *xs = emit_ref(e, n->in[0]), *ys = emit_ref(e, n->id);
    long xstride[NN_MAX_RANK], ystride[NN_MAX_RANK], per = shape_numel(x);
    if (x->rank == 2 && per >= 4 * TRANSPOSE_TILE * TRANSPOSE_TILE) {
        emit_transpose_tiled(e, x, xs, ys, per);
        return;
    }
    xstride[x->rank - 1] = 1;
    ystride[0] = 1; /* y dim r-1-d has x's extent d; y is row-major in its own dims */
    for (int d = x->rank - 2; d >= 0; d--)
        xstride[d] = xstride[d + 1] * x->dims[d + 1];
    for (int d = 1; d < x->rank; d++)
        ystride[d] = ystride[d - 1] * x->dims[d - 1];
    emit_open(e, "for (long b = 0; b < %s1; b++)", batch_prefix(x));
    Buf xi = {0}, yi = {0};
    buf_printf(&xi, "b * %ld", per);
    buf_printf(&yi, "b * %ld", per);
    for (int d = 0; d < x->rank; d++) {
        emit_open(e, "for (long i%d = 0; i%d < %d; i%d++)", d, d, x->dims[d], d);
        buf_printf(&xi, " + i%d * %ld", d, xstride[d]);
        buf_printf(&yi, " + i%d * %ld", d, ystride[d]);
    }
    emit_line(e, "%s[%s] = %s[%s];", ys, yi.data, xs, xi.data);
    for (int d = 0; d <= x->rank; d++)
        emit_close(e);
    buf_free(&xi);
    buf_free(&yi);
}

/* per outer row: a's chunk, then b's */
void concat_emit(Emit *e, const Node *n) {
    const Shape *a = &e->g->nodes[n->in[0]].shape, *b = &e->g->nodes[n->in[1]].shape;
    long outer, inner;
    around_axis(a, n->i[0], &outer, &inner);
    long ca = a->dims[n->i[0]] * inner, cb = b->dims[n->i[0]] * inner;
    const char *y = emit_ref(e, n->id);
    emit_open(e, "for (long o = 0; o < %s%ld; o++)", batch_prefix(a), outer);
    emit_line(e, "for (long j = 0; j < %ld; j++) %s[o * %ld + j] = %s[o * %ld + j];", ca, y, ca + cb,
              emit_ref(e, n->in[0]), ca);
    emit_line(e, "for (long j = 0; j < %ld; j++) %s[o * %ld + %ld + j] = %s[o * %ld + j];", cb, y, ca + cb, ca,
              emit_ref(e, n->in[1]), cb);
    emit_close(e);
}

/* y[o, :] = x[o, start * inner : (start + len) * inner] */
void slice_emit(Emit *e, const Node *n) {
    const Shape *x = &e->g->nodes[n->in[0]].shape;
    long outer, inner;
    around_axis(x, n->i[0], &outer, &inner);
    long cx = x->dims[n->i[0]] * inner, cy = n->i[2] * inner, off = n->i[1] * inner;
    emit_open(e, "for (long o = 0; o < %s%ld; o++)", batch_prefix(x), outer);
    emit_line(e, "for (long j = 0; j < %ld; j++) %s[o * %ld + j] = %s[o * %ld + %ld + j];", cy, emit_ref(e, n->id), cy,
              emit_ref(e, n->in[0]), cx, off);
    emit_close(e);
}

/* y = zeros of the given shape, with x placed at start along the axis */
void pad_emit(Emit *e, const Node *n) {
    const Shape *x = &e->g->nodes[n->in[0]].shape;
    long outer, inner;
    around_axis(&n->shape, n->i[0], &outer, &inner);
    long cy = n->shape.dims[n->i[0]] * inner, cx = x->dims[n->i[0]] * inner, off = n->i[1] * inner;
    const char *y = emit_ref(e, n->id);
    emit_open(e, "for (long o = 0; o < %s%ld; o++)", batch_prefix(x), outer);
    emit_line(e, "for (long j = 0; j < %ld; j++) %s[o * %ld + j] = 0.0f;", cy, y, cy);
    emit_line(e, "for (long j = 0; j < %ld; j++) %s[o * %ld + %ld + j] = %s[o * %ld + j];", cx, y, cy, off,
              emit_ref(e, n->in[0]), cx);
    emit_close(e);
}
