/*
 * layers_more.c - the layers of LANGUAGE.md beyond dense, lowered like
 * layers.c's: each function gets the call's bound arguments and returns the
 * result node, or -1 after a located error.
 *
 *   prelu(x)                 x > 0 ? x : alpha x; alpha [C] (channels of a
 *                            [C, H, W] tensor, else the last dim; [1] for a
 *                            scalar per sample), init 0.25
 *   maxout(x, u, k)          flatten(x) @ weight[in, u k] + bias[u k], then the
 *                            max over each unit's k pieces (columns u k .. u k + k - 1)
 *   glu(x, axis=-1)          a * sigmoid(b), a and b the halves of the axis
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
