/*
 * conv.c - 2-D convolution: the conv2d layer, the ops it lowers to, their
 * derivative rules and kernel calls, and the image checks pool.c shares.
 *
 * conv2d(x, filters, kernel, stride=1, pad=0, groups=1, bias=true,
 *        init=he_uniform, bias_init=zeros) lowers to
 *     conv2d(x, weight) + reshape(bias, [filters, 1, 1])
 * with weight [filters, C/groups, kh, kw] (PyTorch's layout) and bias
 * [filters]; the add broadcasts the bias over N, OH and OW, and autodiff
 * sums its gradient back (sum_to).
 *
 * Ops (ops.def, section "convolution and pooling"):
 *   CONV2D         (x [N, C, H, W], w [F, C/G, KH, KW]) -> [N, F, OH, OW]
 *   CONV2D_GRAD_X  (dy, w) -> dx, of x's shape (given by autodiff)
 *   CONV2D_GRAD_W  (x, dy) -> dw, of w's shape (given by autodiff)
 * with OH = floor((H + 2 PH - KH) / SH) + 1 >= 1, OW likewise.
 * Attributes: i[0..3] = kh, kw, sh, sw; f[0], f[1] = ph, pw; f[2] = groups.
 *
 * conv1d(x, filters, kernel, stride=1, pad=0, groups=1, bias=true,
 *        init=he_uniform, bias_init=zeros) over sequences x [N, C, L] owns
 * weight [filters, C/groups, k] and bias [filters] and lowers to the same op
 * on a one-row image, through views that cost nothing (reshapes share
 * storage; [F, C/G, k] and [F, C/G, 1, k] are the same floats):
 *     reshape(conv2d(reshape(x, [C, 1, L]), reshape(weight, [F, C/G, 1, k]))
 *             + reshape(bias, [filters, 1, 1]), [F, OL])
 * with kernel 1 x k, stride 1 x s, pad 0 x pad: the derivative rules and
 * kernels are conv2d's, and the IR dump shows a conv2d with kernel=1xk.
 *
 * The kernels are the runtime's nnrt_conv2d_* (runtime/src/conv.c: direct tiles on hosts, im2col + GEMM elsewhere):
 * this file writes one call per node with the geometry as a compound
 * literal, and asks the runtime itself (nnrt_conv2d_scratch, linked into
 * the compiler) how much scratch memory each pass needs, so that a faster
 * kernel with other scratch needs is a change of the runtime alone. At
 * small NET_MAX_BATCH the runtime also picks a blocked unfolding
 * (nnrt_conv2d_block), written into the call as .band and .chunk.
 */
#include <string.h>

#include "nngen.h"
#include "nn_runtime.h"

/* ---- geometry ------------------------------------------------------------------ */

/* The runtime's geometry of a conv node (any of the three ops): x is the
 * image shape [N, C, H, W], f the filter count. */
static nnrt_conv2d geom_of(const Node *n, const Shape *x, int f) {
    nnrt_conv2d g = {x->dims[0],   x->dims[1],   x->dims[2],   f, n->i[0], n->i[1], n->i[2], n->i[3],
                     (int)n->f[0], (int)n->f[1], (int)n->f[2], 0, 0};
    return g;
}

/* The geometry of any conv node of the graph, without blocking. */
static nnrt_conv2d conv_geom(const Graph *g, const Node *n) {
    switch (n->op) {
    case OP_CONV2D:
        return geom_of(n, &g->nodes[n->in[0]].shape, g->nodes[n->in[1]].shape.dims[0]);
    case OP_CONV2D_GRAD_X:
        return geom_of(n, &n->shape, g->nodes[n->in[1]].shape.dims[0]);
    case OP_CONV2D_GRAD_W:
        return geom_of(n, &g->nodes[n->in[0]].shape, n->shape.dims[0]);
    default:
        nn_unreachable("v%d is not a convolution", n->id);
    }
}

/* The geometry the kernels run: the runtime blocks the unfolding when the
 * whole of it would be large beside the call's input and output at
 * NET_MAX_BATCH samples (nnrt_conv2d_block) */
static nnrt_conv2d kernel_geom(const Graph *g, const Node *n) {
    nnrt_conv2d geo = conv_geom(g, n);
    return nnrt_conv2d_block(&geo, g->max_batch);
}

/* "&(const nnrt_conv2d){.c = 1, ...}": the geometry as generated C */
/* (every member written: a partly initialized literal costs a memset call
 * at -O0, which freestanding builds do not have) */
static const char *geom_text(Arena *a, const nnrt_conv2d *g) {
    return arena_printf(a,
                        "&(const nnrt_conv2d){.c = %d, .h = %d, .w = %d, .f = %d, .kh = %d, .kw = %d, "
                        ".sh = %d, .sw = %d, .ph = %d, .pw = %d, .groups = %d, .band = %d, .chunk = %d}",
                        g->c, g->h, g->w, g->f, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->groups, g->band, g->chunk);
}

/* The output shape [N, F, OH, OW] of a valid geometry. */
static Shape conv_out_shape(const nnrt_conv2d *g) {
    Shape s = {1, 3, {g->f, nnrt_conv2d_oh(g), nnrt_conv2d_ow(g), 0}};
    return s;
}

/* ---- checks shared with pool.c ----------------------------------------------------- */

/* x must be a batch of [C, L] sequences: its dims into cl. */
int cnn_sequence(LowerCtx *c, const char *layer, int x, Loc loc, int cl[2]) {
    const Shape *s = &c->g->nodes[x].shape;
    if (!s->batched || s->rank != 2) {
        Buf b = {0};
        shape_print(&b, s);
        diag_error(loc,
                   "%s needs an input of one [C, L] sequence per sample ([N, C, L]: channels, then length), "
                   "not %s%s",
                   layer, b.data,
                   !s->batched    ? " (it has no batch dimension)"
                   : s->rank < 2  ? " (a per-sample vector: reshape it to [1, L] for one channel)"
                   : s->rank == 3 ? " ([C, H, W] images take the 2-D layers)"
                                  : "");
        buf_free(&b);
        return -1;
    }
    cl[0] = s->dims[0];
    cl[1] = s->dims[1];
    return 0;
}

/* Argument i of the call, an int, must be >= lo. */
int cnn_int_at_least(const char *layer, const Bound *b, int i, const char *what, int lo) {
    if (b->num[i] >= lo)
        return 0;
    diag_error(b->loc[i], "%s's %s must be >= %d, got %d", layer, what, lo, (int)b->num[i]);
    return -1;
}

/* A batch of [C, L] sequences as one-row images [C, 1, L] (a view). */
int cnn_rows(LowerCtx *c, int x, Loc loc) {
    const Shape *s = &c->g->nodes[x].shape;
    Shape img = {1, 3, {s->dims[0], 1, s->dims[1], 0}};
    return lower_reshape(c, x, &img, loc);
}

/* A batch of one-row images [C, 1, W] back as [C, W] sequences (a view). */
int cnn_unrows(LowerCtx *c, int y, Loc loc) {
    if (y < 0)
        return -1;
    const Shape *s = &c->g->nodes[y].shape;
    Shape seq = {1, 2, {s->dims[0], s->dims[2], 0, 0}};
    return lower_reshape(c, y, &seq, loc);
}

/* x must be a batch of [C, H, W] images: its dims into chw. */
int cnn_image(LowerCtx *c, const char *layer, int x, Loc loc, int chw[3]) {
    const Shape *s = &c->g->nodes[x].shape;
    if (!s->batched || s->rank != 3) {
        Buf b = {0};
        shape_print(&b, s);
        diag_error(loc, "%s needs an input of one [C, H, W] image per sample ([N, C, H, W]), not %s%s", layer, b.data,
                   !s->batched    ? " (it has no batch dimension)"
                   : s->rank == 2 ? " ([C, L] sequences take conv1d, maxpool1d, avgpool1d)"
                                  : "");
        buf_free(&b);
        return -1;
    }
    memcpy(chw, s->dims, 3 * sizeof(int));
    return 0;
}

/* Argument i of the call, an int or [h, w], must be >= lo in both parts. */
int cnn_pair_at_least(const char *layer, const Bound *b, int i, const char *what, int lo) {
    for (int k = 0; k < 2; k++)
        if (b->pair[i][k] < lo) {
            if (b->pair[i][0] == b->pair[i][1])
                diag_error(b->loc[i], "%s's %s must be >= %d, got %d", layer, what, lo, b->pair[i][k]);
            else
                diag_error(b->loc[i], "%s's %s must be >= %d, got [%d, %d]", layer, what, lo, b->pair[i][0],
                           b->pair[i][1]);
            return -1;
        }
    return 0;
}

/* A node of a windowed op with its attributes set before the shape rule runs. */
int cnn_node(LowerCtx *c, Op op, Loc loc, int nin, const int *in, const int window[4], const double *fattr, int nf) {
    for (int k = 0; k < nin; k++)
        if (in[k] < 0)
            return -1;
    int id = ir_add(c->g, op, c->fn, loc, nin, in);
    Node *n = ir_node(c->g, id);
    memcpy(n->i, window, 4 * sizeof(int));
    for (int k = 0; k < nf; k++)
        n->f[k] = fattr[k];
    if (shape_check_node(c->g, id) < 0) {
        ir_node(c->g, id)->dead = 1;
        return -1;
    }
    return id;
}

/* ---- the layer ---------------------------------------------------------------------- */

/* The kernel must fit the padded input in each direction: the output size
 * floor((H + 2*pad - kernel) / stride) + 1 is then >= 1. */
static int check_fits(const Bound *b, const int chw[3], const int kernel[2], const int pad[2]) {
    for (int k = 0; k < 2; k++)
        if (kernel[k] > (long)chw[1 + k] + 2L * pad[k]) {
            diag_error(
                b->loc[2],
                "conv2d's kernel %dx%d is larger than the padded input %ldx%ld (the input is %dx%d, pad %d, %d): "
                "the output size floor((%c + 2*pad - kernel) / stride) + 1 would be 0",
                kernel[0], kernel[1], (long)chw[1] + 2L * pad[0], (long)chw[2] + 2L * pad[1], chw[1], chw[2], pad[0],
                pad[1], k ? 'W' : 'H');
            return -1;
        }
    return 0;
}

/* conv2d(x, filters, kernel, stride=1, pad=0, groups=1, bias=true,
 *        init=he_uniform, bias_init=zeros): arguments 0..8 in that order */
int layer_conv2d(LowerCtx *c, const Expr *call, const Bound *b) {
    int chw[3], filters = (int)b->num[1], groups = (int)b->num[5];
    const int *kernel = b->pair[2], *stride = b->pair[3], *pad = b->pair[4];
    if (cnn_image(c, "conv2d", b->node[0], b->loc[0], chw) < 0)
        return -1;
    if (filters < 1) {
        diag_error(b->loc[1], "conv2d's filters must be >= 1, got %d", filters);
        return -1;
    }
    if (cnn_pair_at_least("conv2d", b, 2, "kernel", 1) < 0 || cnn_pair_at_least("conv2d", b, 3, "stride", 1) < 0 ||
        cnn_pair_at_least("conv2d", b, 4, "pad", 0) < 0)
        return -1;
    if (groups < 1) {
        diag_error(b->loc[5], "conv2d's groups must be >= 1, got %d", groups);
        return -1;
    }
    if (chw[0] % groups) {
        diag_error(b->loc[5], "conv2d's groups=%d does not divide the input's %d channels", groups, chw[0]);
        return -1;
    }
    if (filters % groups) {
        diag_error(b->loc[5], "conv2d's groups=%d does not divide filters=%d", groups, filters);
        return -1;
    }
    if (check_fits(b, chw, kernel, pad) < 0)
        return -1;
    Shape ws = {0, 4, {filters, chw[0] / groups, kernel[0], kernel[1]}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[7], "he_uniform", 1);
    int in[2] = {b->node[0], w}, window[4] = {kernel[0], kernel[1], stride[0], stride[1]};
    double fattr[3] = {pad[0], pad[1], groups};
    int y = cnn_node(c, OP_CONV2D, call->loc, 2, in, window, fattr, 3);
    if (y < 0)
        return -1;
    /* the unfolded input of one sample and group, the kernels' scratch */
    nnrt_conv2d geo = conv_geom(c->g, ir_cnode(c->g, y));
    Shape unfolded = {
        0, 2, {(chw[0] / groups) * kernel[0] * kernel[1], nnrt_conv2d_oh(&geo) * nnrt_conv2d_ow(&geo), 0, 0}};
    if (shape_check_size(c->g, call->loc, "conv2d's unfolded input (its scratch memory)", &unfolded) < 0)
        return -1;
    if (!b->num[6])
        return y;
    Shape bs = {0, 1, {filters, 0, 0, 0}}, bview = {0, 3, {filters, 1, 1, 0}};
    int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[8], "zeros", 0);
    return lower_node2(c, OP_ADD, call->loc, y, lower_reshape(c, bias, &bview, call->loc));
}

/* conv1d's checks of its integer arguments and its input [C, L] into cl */
static int conv1d_args(LowerCtx *c, const Bound *b, int cl[2]) {
    int filters = (int)b->num[1], kernel = (int)b->num[2], pad = (int)b->num[4], groups = (int)b->num[5];
    if (cnn_sequence(c, "conv1d", b->node[0], b->loc[0], cl) < 0 ||
        cnn_int_at_least("conv1d", b, 1, "filters", 1) < 0 || cnn_int_at_least("conv1d", b, 2, "kernel", 1) < 0 ||
        cnn_int_at_least("conv1d", b, 3, "stride", 1) < 0 || cnn_int_at_least("conv1d", b, 4, "pad", 0) < 0 ||
        cnn_int_at_least("conv1d", b, 5, "groups", 1) < 0)
        return -1;
    if (cl[0] % groups) {
        diag_error(b->loc[5], "conv1d's groups=%d does not divide the input's %d channels", groups, cl[0]);
        return -1;
    }
    if (filters % groups) {
        diag_error(b->loc[5], "conv1d's groups=%d does not divide filters=%d", groups, filters);
        return -1;
    }
    if (kernel > (long)cl[1] + 2L * pad) {
        diag_error(b->loc[2],
                   "conv1d's kernel %d is longer than the padded input %ld (the input length is %d, pad %d): "
                   "the output length floor((L + 2*pad - kernel) / stride) + 1 would be 0",
                   kernel, (long)cl[1] + 2L * pad, cl[1], pad);
        return -1;
    }
    return 0;
}

/* conv1d(x, filters, kernel, stride=1, pad=0, groups=1, bias=true,
 *        init=he_uniform, bias_init=zeros): arguments 0..8 in that order,
 * lowered to conv2d over one-row images (see the header) */
int layer_conv1d(LowerCtx *c, const Expr *call, const Bound *b) {
    int cl[2];
    if (conv1d_args(c, b, cl) < 0)
        return -1;
    int filters = (int)b->num[1], kernel = (int)b->num[2], stride = (int)b->num[3], groups = (int)b->num[5];
    Shape ws = {0, 3, {filters, cl[0] / groups, kernel, 0}}, wrow = {0, 4, {filters, cl[0] / groups, 1, kernel}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[7], "he_uniform", 1);
    int in[2] = {cnn_rows(c, b->node[0], call->loc), lower_reshape(c, w, &wrow, call->loc)};
    int window[4] = {1, kernel, 1, stride};
    double fattr[3] = {0, b->num[4], groups};
    int y = cnn_node(c, OP_CONV2D, call->loc, 2, in, window, fattr, 3);
    if (y < 0)
        return -1;
    nnrt_conv2d geo = conv_geom(c->g, ir_cnode(c->g, y));
    Shape unfolded = {0, 2, {(cl[0] / groups) * kernel, nnrt_conv2d_ow(&geo), 0, 0}};
    if (shape_check_size(c->g, call->loc, "conv1d's unfolded input (its scratch memory)", &unfolded) < 0)
        return -1;
    if (b->num[6]) { /* added to the one-row image, as conv2d adds its bias (quantize folds it there) */
        Shape bs = {0, 1, {filters, 0, 0, 0}}, bview = {0, 3, {filters, 1, 1, 0}};
        int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[8], "zeros", 0);
        y = lower_node2(c, OP_ADD, call->loc, y, lower_reshape(c, bias, &bview, call->loc));
    }
    return cnn_unrows(c, y, call->loc);
}

/* ---- shape rules --------------------------------------------------------------------- */

static int conv_error(Graph *g, Node *n, const Shape *x, const Shape *w, const char *why) {
    shape_error2(g, n, "conv2d", x, "with weight", w, why);
    return -1;
}

/* The forward relation x, w -> y: 0 and *y when x and w agree with the
 * node's geometry, else -1 after an error. */
static int conv_relation(Graph *g, Node *n, const Shape *x, const Shape *w, Shape *y) {
    char why[200];
    if (!x->batched || x->rank != 3)
        return conv_error(g, n, x, w, "the input must be one [C, H, W] image per sample");
    if (w->batched || w->rank != 4)
        return conv_error(g, n, x, w, "the weight must be [filters, C/groups, kh, kw]");
    nnrt_conv2d geo = geom_of(n, x, w->dims[0]);
    if (geo.groups < 1 || geo.c % geo.groups || geo.f % geo.groups) {
        snprintf(why, sizeof why, "groups=%d must divide the %d input channels and the %d filters", geo.groups, geo.c,
                 geo.f);
        return conv_error(g, n, x, w, why);
    }
    if (w->dims[1] != geo.c / geo.groups) {
        snprintf(why, sizeof why,
                 "the weight takes %d channel%s per group, the input has %d channel%s in each of %d group%s",
                 w->dims[1], w->dims[1] == 1 ? "" : "s", geo.c / geo.groups, geo.c / geo.groups == 1 ? "" : "s",
                 geo.groups, geo.groups == 1 ? "" : "s");
        return conv_error(g, n, x, w, why);
    }
    if (w->dims[2] != geo.kh || w->dims[3] != geo.kw) {
        snprintf(why, sizeof why, "the weight's kernel is %dx%d, the layer's %dx%d", w->dims[2], w->dims[3], geo.kh,
                 geo.kw);
        return conv_error(g, n, x, w, why);
    }
    if (nnrt_conv2d_oh(&geo) < 1)
        return conv_error(g, n, x, w, "the kernel is larger than the padded input, or a size is not positive");
    *y = conv_out_shape(&geo);
    return 0;
}

int conv2d_shape(Graph *g, Node *n) {
    Shape y;
    if (conv_relation(g, n, &g->nodes[n->in[0]].shape, &g->nodes[n->in[1]].shape, &y) < 0)
        return -1;
    n->shape = y;
    return 0;
}

/* a gradient whose given shape does not fit its forward relation: a compiler bug */
static int given_mismatch(Graph *g, Node *n, const Shape *want) {
    Buf a = {0}, b = {0};
    shape_print(&a, want);
    shape_print(&b, &g->nodes[n->in[n->op == OP_CONV2D_GRAD_W ? 1 : 0]].shape);
    diag_error(n->loc, "internal: %s expects a gradient of shape %s, got %s", op_info(n->op)->name, a.data, b.data);
    buf_free(&a);
    buf_free(&b);
    return -1;
}

/* (dy, w) -> dx: x's shape is given; conv(x, w) must have dy's shape */
int conv2d_grad_x_shape(Graph *g, Node *n) {
    Shape y;
    if (conv_relation(g, n, &n->shape, &g->nodes[n->in[1]].shape, &y) < 0)
        return -1;
    return shape_equal(&y, &g->nodes[n->in[0]].shape) ? 0 : given_mismatch(g, n, &y);
}

/* (x, dy) -> dw: w's shape is given; conv(x, w) must have dy's shape */
int conv2d_grad_w_shape(Graph *g, Node *n) {
    Shape y;
    if (conv_relation(g, n, &g->nodes[n->in[0]].shape, &n->shape, &y) < 0)
        return -1;
    return shape_equal(&y, &g->nodes[n->in[1]].shape) ? 0 : given_mismatch(g, n, &y);
}

/* ---- derivative rule -------------------------------------------------------------------- */

/* y = conv(x, w), linear in each:  dx = conv_x^T(dy, w),  dw = conv_w^T(x, dy) */
int conv2d_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int x = g->nodes[n].in[0], w = g->nodes[n].in[1];
    if (ad_needs_grad(ad, x)) {
        int in[2] = {dy, w};
        Shape xs = g->nodes[x].shape;
        ad_accumulate(ad, x, ad_node_shaped(ad, OP_CONV2D_GRAD_X, n, 2, in, &xs));
    }
    if (ad_needs_grad(ad, w)) {
        int in[2] = {x, dy};
        Shape ws = g->nodes[w].shape;
        ad_accumulate(ad, w, ad_node_shaped(ad, OP_CONV2D_GRAD_W, n, 2, in, &ws));
    }
    return 0;
}

/* ---- kernels ------------------------------------------------------------------------------ */

static const char *scratch_ref(const Emit *e, const Node *n) {
    return n->scratch > 0 ? emit_scratch(e, n) : "NULL";
}

/* nnrt_conv2d_PASS(&geometry, n, a, b, out, scratch) */
static void conv_call(Emit *e, const Node *n, const char *pass, int a, int b) {
    nnrt_conv2d geo = kernel_geom(e->g, n);
    emit_line(e, "nnrt_conv2d_%s(%s, n, %s, %s, %s, %s);", pass, geom_text(e->g->arena, &geo), emit_ref(e, a),
              emit_ref(e, b), emit_ref(e, n->id), scratch_ref(e, n));
}

void conv2d_emit(Emit *e, const Node *n) {
    conv_call(e, n, "forward", n->in[0], n->in[1]);
}

void conv2d_grad_x_emit(Emit *e, const Node *n) {
    conv_call(e, n, "backward_input", n->in[0], n->in[1]);
}

void conv2d_grad_w_emit(Emit *e, const Node *n) {
    conv_call(e, n, "backward_weight", n->in[0], n->in[1]);
}

/* 2 N F OH OW (C/G) KH KW for each of the three passes (one product and
 * one sum per weight and output pixel) */
double conv2d_flops(const Graph *g, const Node *n, int batch) {
    nnrt_conv2d geo = conv_geom(g, n);
    return 2.0 * batch * geo.f * nnrt_conv2d_oh(&geo) * nnrt_conv2d_ow(&geo) * (geo.c / geo.groups) * geo.kh * geo.kw;
}

long conv2d_scratch(const Graph *g, const Node *n) {
    nnrt_conv2d geo = kernel_geom(g, n);
    int pass = n->op == OP_CONV2D          ? NNRT_CONV2D_FORWARD
               : n->op == OP_CONV2D_GRAD_X ? NNRT_CONV2D_BACKWARD_INPUT
                                           : NNRT_CONV2D_BACKWARD_WEIGHT;
    long floats = nnrt_conv2d_scratch(&geo, pass, g->max_batch);
    if (floats < 0)
        nn_unreachable("v%d: the runtime rejects a geometry the shape rule accepted", n->id);
    return floats;
}
