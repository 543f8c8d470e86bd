/*
 * layers_more.c - the layers of LANGUAGE.md beyond dense, lowered like
 * layers.c's: each function gets the call's bound arguments and returns the
 * result node, or -1 after a located error. The program is lowered twice
 * (lower.c): dropout and batchnorm build different graphs in inference
 * (FN_INFER) and in the training forward (FN_TRAIN); parameters and buffers
 * are shared by both.
 *
 *   prelu(x)                 x > 0 ? x : alpha x; alpha [C] (channels of a
 *                            [C, H, W] tensor, else the last dim; [1] for a
 *                            scalar per sample), init 0.25
 *   maxout(x, u, k)          flatten(x) @ weight[in, u k] + bias[u k], then the
 *                            max over each unit's k pieces (columns u k .. u k + k - 1)
 *   glu(x, axis=-1)          a * sigmoid(b), a and b the halves of the axis
 *   dropout(x, p)            training: x * mask (ops/dropout.c); inference: x
 *   batchnorm(x, m, eps)     training: batch mean and biased variance per
 *                            feature ([F]) or channel ([C, H, W], over N H W);
 *                            inference: the running statistics; then
 *                            (x - mean) / sqrt(var + eps) * gamma + beta.
 *                            The running statistics are buffers, updated in
 *                            NET_update (ops/batchnorm.c).
 */
#include <string.h>

#include "nngen.h"

/* An axis counted from 0 over x's per-sample dims (negative from the end). */
static int axis_of(LowerCtx *c, int x, int axis, Loc loc) {
    const Shape *s = &c->g->nodes[x].shape;
    int a = axis < 0 ? axis + s->rank : axis;
    if (s->rank == 0 || a < 0 || a >= s->rank) {
        Buf b = {0};
        shape_print(&b, s);
        diag_error(loc, "axis %d is out of range for a tensor of shape %s (axes count the per-sample dims from 0)",
                   axis, b.data);
        buf_free(&b);
        return -1;
    }
    return a;
}

/* A node of a given shape (views of parameters and buffers, statistics). */
static int shaped_node(LowerCtx *c, Op op, Func fn, Loc loc, int nin, const int *in, const Shape *s) {
    for (int k = 0; k < nin; k++)
        if (in[k] < 0)
            return -1;
    int id = ir_add(c->g, op, fn, loc, nin, in);
    ir_node(c->g, id)->shape = *s;
    if (shape_check_node(c->g, id) < 0) {
        ir_node(c->g, id)->dead = 1;
        return -1;
    }
    return id;
}

/* x's per-sample shape with every dim after the first set to 1, unbatched:
 * [C] for [F], [C, 1, 1] for [C, H, W] (a per-channel tensor that
 * broadcasts against x) */
static Shape channel_shape(const Shape *x) {
    Shape s = *x;
    s.batched = 0;
    for (int d = 1; d < s.rank; d++)
        s.dims[d] = 1;
    return s;
}

/* ---- prelu ------------------------------------------------------------------------ */

/* prelu(x): alpha [C], C = dims[0] of a rank-3 tensor, else the last dim */
int layer_prelu(LowerCtx *c, const Expr *call, const Bound *b) {
    int x = b->node[0];
    Shape xs = c->g->nodes[x].shape;
    int channels = xs.rank == 3 ? xs.dims[0] : xs.rank >= 1 ? xs.dims[xs.rank - 1] : 1;
    Shape as = {0, 1, {channels, 0, 0, 0}};
    Arena *a = c->g->arena;
    Expr *init = ast_call(a, call->loc, "constant", ast_arg(a, NULL, call->loc, ast_num(a, call->loc, 0.25)),
                          call->loc);
    int alpha = lower_layer_param(c, call, 0, "alpha", &as, init, "constant", 0);
    if (alpha >= 0 && (xs.rank == 3 || xs.rank == 0)) { /* [C, 1, 1] against [C, H, W]; a scalar */
        Shape cs = channel_shape(&xs);
        alpha = lower_reshape(c, alpha, &cs, call->loc);
    }
    return lower_node2(c, OP_PRELU, call->loc, x, alpha);
}

/* ---- maxout ----------------------------------------------------------------------- */

/* maxout(x, units, pieces, init=xavier_uniform, bias_init=zeros) */
int layer_maxout(LowerCtx *c, const Expr *call, const Bound *b) {
    double units = b->num[1], pieces = b->num[2];
    if (units < 1 || pieces < 1) {
        int k = units < 1 ? 1 : 2;
        diag_error(b->loc[k], "maxout needs %s >= 1, got %g", k == 1 ? "units" : "pieces", b->num[k]);
        return -1;
    }
    if (units * pieces > 2147483647.0) {
        diag_error(call->loc, "maxout's units * pieces = %.0f is too large (the limit is 2^31 - 1)",
                   units * pieces);
        return -1;
    }
    int cols = (int)(units * pieces);
    Shape xs = c->g->nodes[b->node[0]].shape, fs = {xs.batched, 1, {(int)shape_numel(&xs), 0, 0, 0}};
    int x = lower_reshape(c, b->node[0], &fs, call->loc);
    Shape ws = {0, 2, {fs.dims[0], cols, 0, 0}}, bs = {0, 1, {cols, 0, 0, 0}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[3], "xavier_uniform", 1);
    int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[4], "zeros", 0);
    int z = lower_node2(c, OP_ADD, call->loc, lower_node2(c, OP_MATMUL, call->loc, x, w), bias);
    if (z < 0 || pieces == 1)
        return z;
    return lower_node_axis(c, OP_MAXOUT, call->loc, 1, &z, (int)pieces);
}

/* ---- glu -------------------------------------------------------------------------- */

/* glu(x, axis=-1): the axis must have an even length */
int layer_glu(LowerCtx *c, const Expr *call, const Bound *b) {
    int x = b->node[0];
    int axis = axis_of(c, x, (int)b->num[1], b->loc[1]);
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

/* ---- dropout ---------------------------------------------------------------------- */

/* dropout(x, p): 0 <= p < 1; identity in inference and for p = 0 */
int layer_dropout(LowerCtx *c, const Expr *call, const Bound *b) {
    double p = b->num[1];
    int x = b->node[0];
    if (!(p >= 0 && p < 1)) {
        diag_error(b->loc[1], "dropout's p must satisfy 0 <= p < 1, got %g", p);
        return -1;
    }
    if (c->mode == MODE_INFER || p == 0)
        return x;
    int mask = shaped_node(c, OP_DROPOUT_MASK, c->fn, call->loc, 0, NULL, &c->g->nodes[x].shape);
    if (mask < 0)
        return -1;
    ir_node(c->g, mask)->f[0] = p;
    ir_node(c->g, mask)->i[0] = c->g->uses_rng++;
    return lower_node2(c, OP_MUL, call->loc, x, mask);
}

/* ---- batchnorm -------------------------------------------------------------------- */

/* the update of one running statistic, run by NET_update */
static int running_update(LowerCtx *c, Loc loc, int buffer, int stat, double momentum, double per, int unbiased) {
    int in[2] = {buffer, stat};
    if (stat < 0)
        return -1;
    int u = ir_add(c->g, OP_RUNNING_UPDATE, FN_UPDATE, loc, 2, in);
    Node *n = ir_node(c->g, u);
    n->f[0] = momentum;
    n->f[1] = per;
    n->i[0] = unbiased;
    n->s = c->g->nodes[buffer].s;
    return shape_check_node(c->g, u);
}

/* x - mean per channel into *d and the variance per channel into *var:
 * the batch's mean and biased variance (training; their running updates
 * are added too), or the running statistics (inference) */
static int batch_stats(LowerCtx *c, const Expr *call, int x, int rm, int rv, double momentum, int *d,
                       int *var) {
    Shape xs = c->g->nodes[x].shape, cs = channel_shape(&xs);
    if (c->mode == MODE_INFER) {
        *d = lower_node2(c, OP_SUB, call->loc, x, lower_reshape(c, rm, &cs, call->loc));
        *var = lower_reshape(c, rv, &cs, call->loc);
        return *d < 0 || *var < 0 ? -1 : 0;
    }
    long per = shape_numel(&xs) / xs.dims[0]; /* values per channel and sample */
    int mean = shaped_node(c, OP_MEAN_TO, c->fn, call->loc, 1, &x, &cs);
    *d = lower_node2(c, OP_SUB, call->loc, x, mean);
    int sq = lower_node2(c, OP_MUL, call->loc, *d, *d);
    *var = shaped_node(c, OP_MEAN_TO, c->fn, call->loc, 1, &sq, &cs);
    if (per == 1 && c->g->min_train_batch < 2)
        c->g->min_train_batch = 2; /* one value per channel: n = 1 has no variance */
    if (running_update(c, call->loc, rm, mean, momentum, (double)per, 0) < 0 ||
        running_update(c, call->loc, rv, *var, momentum, (double)per, 1) < 0)
        return -1;
    return 0;
}

/* batchnorm(x, momentum=0.1, eps=1e-5): x [N, F] or [N, C, H, W] */
int layer_batchnorm(LowerCtx *c, const Expr *call, const Bound *b) {
    double momentum = b->num[1], eps = b->num[2];
    int x = b->node[0];
    Shape xs = c->g->nodes[x].shape;
    if (!(momentum >= 0 && momentum <= 1)) {
        diag_error(b->loc[1], "batchnorm's momentum must be in [0, 1], got %g", momentum);
        return -1;
    }
    if (!(eps >= 0)) {
        diag_error(b->loc[2], "batchnorm's eps must be >= 0, got %g", eps);
        return -1;
    }
    if (!xs.batched || (xs.rank != 1 && xs.rank != 3)) {
        Buf s = {0};
        shape_print(&s, &xs);
        diag_error(call->loc, "batchnorm normalizes [N, F] (per feature) or [N, C, H, W] (per channel), "
                   "not %s", s.data);
        buf_free(&s);
        return -1;
    }
    Shape ps = {0, 1, {xs.dims[0], 0, 0, 0}}, cs = channel_shape(&xs);
    int gamma = lower_layer_param(c, call, 0, "gamma", &ps, NULL, "ones", 0);
    int beta = lower_layer_param(c, call, 1, "beta", &ps, NULL, "zeros", 0);
    int rm = lower_layer_buffer(c, call, 0, "running_mean", &ps, 0.0);
    int rv = lower_layer_buffer(c, call, 1, "running_var", &ps, 1.0);
    int d, var;
    if (gamma < 0 || beta < 0 || rm < 0 || rv < 0 || batch_stats(c, call, x, rm, rv, momentum, &d, &var) < 0)
        return -1;
    int den = lower_node1(c, OP_SQRT, call->loc, lower_node2(c, OP_ADD, call->loc, var, lower_const(c, eps, call->loc)));
    int xhat = lower_node2(c, OP_DIV, call->loc, d, den);
    int y = lower_node2(c, OP_MUL, call->loc, xhat, lower_reshape(c, gamma, &cs, call->loc));
    return lower_node2(c, OP_ADD, call->loc, y, lower_reshape(c, beta, &cs, call->loc));
}
