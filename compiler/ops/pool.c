/*
 * pool.c - pooling over NCHW images: the maxpool2d and avgpool2d layers,
 * their ops, derivative rules and kernel calls, and global_avgpool (a mean
 * over H*W built from reshape and mean_axis, which have derivatives).
 *
 * maxpool1d(x, kernel, stride=kernel), avgpool1d(...) over sequences
 * [N, C, L] are the 2-D ops over one-row images (views, conv.c's cnn_rows):
 * a 1 x k window every (1, s), OL = floor((L - k) / s) + 1 >= 1.
 * global_avgpool of [C, L] is mean_axis over L.
 *
 * maxpool2d(x, kernel, stride=kernel), avgpool2d(x, kernel, stride=kernel):
 * windows of KH x KW every (SH, SW), no padding; the output [N, C, OH, OW]
 * has OH = floor((H - KH) / SH) + 1 >= 1 (windows that do not fit are
 * dropped), OW likewise.
 *
 * Ops (ops.def, section "convolution and pooling"):
 *   MAXPOOL2D       (x) -> y       the window maximum
 *   MAXPOOL2D_GRAD  (x, dy) -> dx  each window's dy goes to its first maximum
 *                                  in row-major window order (PyTorch's
 *                                  choice), found again from x
 *   AVGPOOL2D       (x) -> y       the window sum / (KH KW)
 *   AVGPOOL2D_GRAD  (dy) -> dx     dy / (KH KW) over each window (x's shape given)
 * Attributes: i[0..3] = kh, kw, sh, sw.
 * The kernels are the runtime's nnrt_maxpool2d_* / nnrt_avgpool2d_*.
 */
#include "nngen.h"
#include "nn_runtime.h"

/* ---- geometry ------------------------------------------------------------------- */

static nnrt_pool2d pool_geom(const Node *n, const Shape *x) {
    nnrt_pool2d p = {x->dims[0], x->dims[1], x->dims[2], n->i[0], n->i[1], n->i[2], n->i[3]};
    return p;
}

/* The output shape of windows over image shape x; 0 when they fit. */
static int pool_out(const Node *n, const Shape *x, Shape *y) {
    nnrt_pool2d p = pool_geom(n, x);
    if (!x->batched || x->rank != 3 || p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.kh > p.h || p.kw > p.w)
        return -1;
    Shape s = {1, 3, {p.c, (p.h - p.kh) / p.sh + 1, (p.w - p.kw) / p.sw + 1, 0}};
    *y = s;
    return 0;
}

static const char *pool_text(Arena *a, const nnrt_pool2d *p) {
    return arena_printf(a, "&(const nnrt_pool2d){.c = %d, .h = %d, .w = %d, .kh = %d, .kw = %d, .sh = %d, .sw = %d}",
                        p->c, p->h, p->w, p->kh, p->kw, p->sh, p->sw);
}

/* ---- the layers ------------------------------------------------------------------- */

/* maxpool2d / avgpool2d (x, kernel, stride=kernel) */
static int pool_layer(LowerCtx *c, const Expr *call, const Bound *b, Op op) {
    const char *layer = call->str;
    const int *kernel = b->pair[1], *stride = b->pair[2];
    int chw[3];
    if (cnn_image(c, layer, b->node[0], b->loc[0], chw) < 0 || cnn_pair_at_least(layer, b, 1, "kernel", 1) < 0 ||
        cnn_pair_at_least(layer, b, 2, "stride", 1) < 0)
        return -1;
    for (int k = 0; k < 2; k++)
        if (kernel[k] > chw[1 + k]) {
            diag_error(b->loc[1],
                       "%s's window %dx%d does not fit the %dx%d input (pooling has no padding): the output size "
                       "floor((%c - kernel) / stride) + 1 would be 0",
                       layer, kernel[0], kernel[1], chw[1], chw[2], k ? 'W' : 'H');
            return -1;
        }
    int window[4] = {kernel[0], kernel[1], stride[0], stride[1]};
    return cnn_node(c, op, call->loc, 1, &b->node[0], window, NULL, 0);
}

int layer_maxpool2d(LowerCtx *c, const Expr *call, const Bound *b) {
    return pool_layer(c, call, b, OP_MAXPOOL2D);
}

int layer_avgpool2d(LowerCtx *c, const Expr *call, const Bound *b) {
    return pool_layer(c, call, b, OP_AVGPOOL2D);
}

/* maxpool1d / avgpool1d (x, kernel, stride=kernel) over [N, C, L] */
static int pool1d_layer(LowerCtx *c, const Expr *call, const Bound *b, Op op) {
    const char *layer = call->str;
    int cl[2], kernel = (int)b->num[1];
    if (cnn_sequence(c, layer, b->node[0], b->loc[0], cl) < 0 || cnn_int_at_least(layer, b, 1, "kernel", 1) < 0 ||
        cnn_int_at_least(layer, b, 2, "stride", 1) < 0)
        return -1;
    if (kernel > cl[1]) {
        diag_error(b->loc[1],
                   "%s's window %d is longer than the input's length %d (pooling has no padding): the output "
                   "length floor((L - kernel) / stride) + 1 would be 0",
                   layer, kernel, cl[1]);
        return -1;
    }
    int window[4] = {1, kernel, 1, (int)b->num[2]}, x = cnn_rows(c, b->node[0], call->loc);
    return cnn_unrows(c, cnn_node(c, op, call->loc, 1, &x, window, NULL, 0), call->loc);
}

int layer_maxpool1d(LowerCtx *c, const Expr *call, const Bound *b) {
    return pool1d_layer(c, call, b, OP_MAXPOOL2D);
}

int layer_avgpool1d(LowerCtx *c, const Expr *call, const Bound *b) {
    return pool1d_layer(c, call, b, OP_AVGPOOL2D);
}

/* global_avgpool(x): [N, C, H, W] -> [N, C], mean(reshape(x, [C, H*W]), axis 1);
 * [N, C, L] -> [N, C], mean(x, axis 1) */
int layer_global_avgpool(LowerCtx *c, const Expr *call, const Bound *b) {
    const Shape *s = &c->g->nodes[b->node[0]].shape;
    if (!s->batched || (s->rank != 2 && s->rank != 3)) {
        Buf t = {0};
        shape_print(&t, s);
        diag_error(b->loc[0], "global_avgpool needs one [C, L] sequence or one [C, H, W] image per sample, not %s%s",
                   t.data, s->batched ? "" : " (it has no batch dimension)");
        buf_free(&t);
        return -1;
    }
    if (s->rank == 2)
        return lower_node_axis(c, OP_MEAN_AXIS, call->loc, 1, &b->node[0], 1);
    Shape planes = {1, 2, {s->dims[0], s->dims[1] * s->dims[2], 0, 0}};
    int v = lower_reshape(c, b->node[0], &planes, call->loc);
    return v < 0 ? -1 : lower_node_axis(c, OP_MEAN_AXIS, call->loc, 1, &v, 1);
}

/* ---- shape rules ---------------------------------------------------------------------- */

static int window_error(Graph *g, Node *n, const Shape *x) {
    Buf b = {0};
    (void)g;
    shape_print(&b, x);
    diag_error(n->loc, "%s: a %dx%d window every (%d, %d) does not fit the input %s", op_info(n->op)->name, n->i[0],
               n->i[1], n->i[2], n->i[3], b.data);
    buf_free(&b);
    return -1;
}

int pool2d_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    Shape y;
    if (pool_out(n, x, &y) < 0)
        return window_error(g, n, x);
    n->shape = y;
    return 0;
}

/* dy must have the shape the forward pool gives x */
static int check_dy(Graph *g, Node *n, const Shape *x, const Shape *dy) {
    Shape y;
    if (pool_out(n, x, &y) < 0)
        return window_error(g, n, x);
    if (shape_equal(&y, dy))
        return 0;
    Buf a = {0}, b = {0};
    shape_print(&a, &y);
    shape_print(&b, dy);
    diag_error(n->loc, "internal: %s expects a gradient of shape %s, got %s", op_info(n->op)->name, a.data, b.data);
    buf_free(&a);
    buf_free(&b);
    return -1;
}

/* (x, dy) -> dx of x's shape */
int maxpool2d_grad_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape;
    if (check_dy(g, n, x, &g->nodes[n->in[1]].shape) < 0)
        return -1;
    n->shape = *x;
    return 0;
}

/* (dy) -> dx, x's shape given */
int avgpool2d_grad_shape(Graph *g, Node *n) {
    return check_dy(g, n, &n->shape, &g->nodes[n->in[0]].shape);
}

/* ---- derivative rules ---------------------------------------------------------------------- */

/* d maxpool(x) = dy routed to each window's first maximum */
int maxpool2d_grad(AdCtx *ad, int n, int dy) {
    int x = ad_graph(ad)->nodes[n].in[0];
    int in[2] = {x, dy};
    ad_accumulate(ad, x, ad_node(ad, OP_MAXPOOL2D_GRAD, n, 2, in));
    return 0;
}

/* d avgpool(x) = dy / (kh kw) spread over each window */
int avgpool2d_grad(AdCtx *ad, int n, int dy) {
    int x = ad_graph(ad)->nodes[n].in[0];
    Shape xs = ad_graph(ad)->nodes[x].shape;
    ad_accumulate(ad, x, ad_node_shaped(ad, OP_AVGPOOL2D_GRAD, n, 1, &dy, &xs));
    return 0;
}

/* ---- kernels --------------------------------------------------------------------------------- */

void maxpool2d_emit(Emit *e, const Node *n) {
    nnrt_pool2d p = pool_geom(n, &e->g->nodes[n->in[0]].shape);
    emit_line(e, "nnrt_maxpool2d_forward(%s, n, %s, %s);", pool_text(e->g->arena, &p), emit_ref(e, n->in[0]),
              emit_ref(e, n->id));
}

void maxpool2d_grad_emit(Emit *e, const Node *n) {
    nnrt_pool2d p = pool_geom(n, &n->shape);
    emit_line(e, "nnrt_maxpool2d_backward(%s, n, %s, %s, %s);", pool_text(e->g->arena, &p), emit_ref(e, n->in[0]),
              emit_ref(e, n->in[1]), emit_ref(e, n->id));
}

void avgpool2d_emit(Emit *e, const Node *n) {
    nnrt_pool2d p = pool_geom(n, &e->g->nodes[n->in[0]].shape);
    emit_line(e, "nnrt_avgpool2d_forward(%s, n, %s, %s);", pool_text(e->g->arena, &p), emit_ref(e, n->in[0]),
              emit_ref(e, n->id));
}

void avgpool2d_grad_emit(Emit *e, const Node *n) {
    nnrt_pool2d p = pool_geom(n, &n->shape);
    emit_line(e, "nnrt_avgpool2d_backward(%s, n, %s, %s);", pool_text(e->g->arena, &p), emit_ref(e, n->in[0]),
              emit_ref(e, n->id));
}

/* one comparison or addition per window element: N C OH OW KH KW */
double pool2d_flops(const Graph *g, const Node *n, int batch) {
    const Shape *y = n->op == OP_AVGPOOL2D_GRAD   ? &g->nodes[n->in[0]].shape
                     : n->op == OP_MAXPOOL2D_GRAD ? &g->nodes[n->in[1]].shape
                                                  : &n->shape;
    return (double)batch * shape_numel(y) * n->i[0] * n->i[1];
}
