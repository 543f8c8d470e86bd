/*
 * softmax.c - softmax(x, axis=-1) and log_softmax(x, axis=-1) along one
 * per-sample axis: their lowering, and kernels computed stably (the row
 * maximum is subtracted first), with hand-derived derivative kernels:
 *   softmax:      dx = y * (dy - sum(dy * y))
 *   log_softmax:  dx = dy - exp(y) * sum(dy)
 * Attributes: i[0] = the axis, copied to the derivative kernels.
 *
 * A tensor is viewed around the axis as [outer, len, inner]; element k of
 * the row (o, j) is at base + k * inner with base = o * len * inner + j.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* softmax(x, axis=-1), log_softmax(x, axis=-1) */
int layer_softmax(LowerCtx *c, const Expr *call, const Bound *b) {
    int axis = lower_axis(c, b->node[0], (int)b->num[1], b->loc[1]);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, builtin_find(call->str)->op, call->loc, 1, b->node, axis);
}

/* ---- rules and kernels ---------------------------------------------------------- */

int axis_op_shape(Graph *g, Node *n) {
    n->shape = g->nodes[n->in[0]].shape;
    if (n->nin == 2 && !shape_equal(&n->shape, &g->nodes[n->in[1]].shape))
        nn_unreachable("softmax derivative of mismatched shapes");
    return 0;
}

int softmax_grad(AdCtx *ad, int n, int dy) {
    int in[2] = {n, dy};
    ad_accumulate(ad, ad_graph(ad)->nodes[n].in[0], ad_node(ad, OP_SOFTMAX_GRAD, n, 2, in));
    return 0;
}

int log_softmax_grad(AdCtx *ad, int n, int dy) {
    int in[2] = {n, dy};
    ad_accumulate(ad, ad_graph(ad)->nodes[n].in[0], ad_node(ad, OP_LOG_SOFTMAX_GRAD, n, 2, in));
    return 0;
}

typedef struct Rows {
    long outer, len, inner;
} Rows;

/* Opens the loops over rows; the body indexes element k as [base + k * inner]. */
static Rows open_rows(Emit *e, const Node *n) {
    const Shape *s = &n->shape;
    Rows r = {1, s->dims[n->i[0]], 1};
    for (int d = 0; d < n->i[0]; d++)
        r.outer *= s->dims[d];
    for (int d = n->i[0] + 1; d < s->rank; d++)
        r.inner *= s->dims[d];
    if (s->batched && r.outer == 1)
        emit_open(e, "for (long o = 0; o < (long)n; o++)");
    else
        emit_open(e, "for (long o = 0; o < %s%ld; o++)", s->batched ? "(long)n * " : "", r.outer);
    if (r.inner == 1) {
        emit_line(e, "const long base = o * %ld;", r.len);
    } else {
        emit_open(e, "for (long j = 0; j < %ld; j++)", r.inner);
        emit_line(e, "const long base = o * %ld + j;", r.len * r.inner);
    }
    return r;
}

static void close_rows(Emit *e, Rows r) {
    if (r.inner != 1)
        emit_close(e);
    emit_close(e);
}

/* "[base + k]" or "[base + k * inner]" */
static const char *at(const Emit *e, Rows r) {
    return r.inner == 1 ? "[base + k]" : arena_printf(e->g->arena, "[base + k * %ld]", r.inner);
}

/* the row maximum and sum of exp(x - max) into mx, sum */
static void row_max_sumexp(Emit *e, Rows r, const char *x, const char *ix, const char *store) {
    emit_line(e, "float mx = %s[base];", x);
    emit_line(e, "for (long k = 1; k < %ld; k++) if (%s%s > mx) mx = %s%s;", r.len, x, ix, x, ix);
    emit_line(e, "float sum = 0.0f;");
    if (store)
        emit_line(e, "for (long k = 0; k < %ld; k++) sum += (%s%s = expf(%s%s - mx));", r.len, store, ix, x, ix);
    else
        emit_line(e, "for (long k = 0; k < %ld; k++) sum += expf(%s%s - mx);", r.len, x, ix);
}

/* y = exp(x - max) / sum exp(x - max) */
void softmax_emit(Emit *e, const Node *n) {
    const char *x = emit_ref(e, n->in[0]), *y = emit_ref(e, n->id);
    Rows r = open_rows(e, n);
    const char *ix = at(e, r);
    row_max_sumexp(e, r, x, ix, y);
    emit_line(e, "for (long k = 0; k < %ld; k++) %s%s /= sum;", r.len, y, ix);
    close_rows(e, r);
}

/* y = x - max - log(sum exp(x - max)) */
void log_softmax_emit(Emit *e, const Node *n) {
    const char *x = emit_ref(e, n->in[0]), *y = emit_ref(e, n->id);
    Rows r = open_rows(e, n);
    const char *ix = at(e, r);
    row_max_sumexp(e, r, x, ix, NULL);
    emit_line(e, "const float lse = mx + logf(sum);");
    emit_line(e, "for (long k = 0; k < %ld; k++) %s%s = %s%s - lse;", r.len, y, ix, x, ix);
    close_rows(e, r);
}

/* (y, dy) -> y (dy - sum(dy y)) */
void softmax_grad_emit(Emit *e, const Node *n) {
    const char *y = emit_ref(e, n->in[0]), *dy = emit_ref(e, n->in[1]), *dx = emit_ref(e, n->id);
    Rows r = open_rows(e, n);
    const char *ix = at(e, r);
    emit_line(e, "float dot = 0.0f;");
    emit_line(e, "for (long k = 0; k < %ld; k++) dot += %s%s * %s%s;", r.len, dy, ix, y, ix);
    emit_line(e, "for (long k = 0; k < %ld; k++) %s%s = %s%s * (%s%s - dot);", r.len, dx, ix, y, ix, dy, ix);
    close_rows(e, r);
}

/* (y, dy) -> dy - exp(y) sum(dy) */
void log_softmax_grad_emit(Emit *e, const Node *n) {
    const char *y = emit_ref(e, n->in[0]), *dy = emit_ref(e, n->in[1]), *dx = emit_ref(e, n->id);
    Rows r = open_rows(e, n);
    const char *ix = at(e, r);
    emit_line(e, "float sum = 0.0f;");
    emit_line(e, "for (long k = 0; k < %ld; k++) sum += %s%s;", r.len, dy, ix);
    emit_line(e, "for (long k = 0; k < %ld; k++) %s%s = %s%s - expf(%s%s) * sum;", r.len, dx, ix, dy, ix, y, ix);
    close_rows(e, r);
}

/* per element: a max, an exp, a sum and a divide (or their derivative's
 * multiply-adds), counted as 5 */
double softmax_flops(const Graph *g, const Node *n, int batch) {
    (void)g;
    return 5.0 * (double)shape_numel(&n->shape) * (n->shape.batched ? batch : 1);
}
