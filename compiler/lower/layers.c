/*
 * layers.c - what each callable of builtins.c lowers to.
 *
 * Layers are sugar over primitive ops wherever that costs nothing:
 * dense(x, u) is flatten(x) @ weight + bias, a loss is one fused op with its
 * own derivative kernel. Each function receives the call's bound arguments
 * (lower_bind has checked their kinds) and returns the result node, or -1
 * after a located error.
 */
#include <string.h>

#include "nngen.h"

/* The node of an axis-taking op, with the axis normalized against x's
 * per-sample rank (negative counts from the end). */
static int normalize_axis(LowerCtx *c, int x, int axis, Loc loc, int extra) {
    int rank = c->g->nodes[x].shape.rank + extra;
    int a = axis < 0 ? axis + rank : axis;
    if (rank == 0 || a < 0 || a >= rank) {
        Buf b = {0};
        shape_print(&b, &c->g->nodes[x].shape);
        diag_error(loc, "axis %d is out of range for a tensor of shape %s (axes count the per-sample dims from 0)",
                   axis, b.data);
        buf_free(&b);
        return -1;
    }
    return a;
}

/* f(x[, alpha]): one elementwise op; alpha/beta go to f[0] */
int layer_unary(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    int id = lower_node1(c, bi->op, call->loc, b->node[0]);
    if (id >= 0)
        ir_node(c->g, id)->f[0] = bi->nargs > 1 ? b->num[1] : 1.0;
    if (id >= 0 && bi->op == OP_ELU && b->num[1] < 0) {
        diag_error(b->loc[1], "elu's alpha must be >= 0, got %g", b->num[1]);
        return -1;
    }
    return id;
}

/* max(a, b), min(a, b): elementwise, broadcasting */
int layer_binary(LowerCtx *c, const Expr *call, const Bound *b) {
    return lower_node2(c, builtin_find(call->str)->op, call->loc, b->node[0], b->node[1]);
}

/* sum(x) / mean(x): every element, batch included, to a scalar;
 * sum(x, axis) / mean(x, axis): one per-sample axis removed */
int layer_reduce(LowerCtx *c, const Expr *call, const Bound *b) {
    int is_mean = strcmp(call->str, "mean") == 0;
    if (!b->present[1])
        return lower_node1(c, is_mean ? OP_MEAN_ALL : OP_SUM_ALL, call->loc, b->node[0]);
    int axis = normalize_axis(c, b->node[0], (int)b->num[1], b->loc[1], 0);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, is_mean ? OP_MEAN_AXIS : OP_SUM_AXIS, call->loc, 1, b->node, axis);
}

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
        diag_error(call->loc, "cannot reshape %s (%ld elements per sample) to %s", s.data, xn,
                   t.data);
        buf_free(&s);
        buf_free(&t);
        return -1;
    }
    return lower_reshape(c, b->node[0], &to, call->loc);
}

static Shape flat_shape(const Shape *s) {
    Shape f = {0};
    f.batched = s->batched;
    f.rank = 1;
    f.dims[0] = (int)shape_numel(s);
    return f;
}

/* flatten(x): [N, product of the per-sample dims] */
int layer_flatten(LowerCtx *c, const Expr *call, const Bound *b) {
    Shape f = flat_shape(&c->g->nodes[b->node[0]].shape);
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
    int axis = normalize_axis(c, b->node[0], (int)b->num[2], b->loc[2], 0);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, OP_CONCAT, call->loc, 2, b->node, axis);
}

/* softmax(x, axis=-1), log_softmax(x, axis=-1) */
int layer_softmax(LowerCtx *c, const Expr *call, const Bound *b) {
    int axis = normalize_axis(c, b->node[0], (int)b->num[1], b->loc[1], 0);
    if (axis < 0)
        return -1;
    return lower_node_axis(c, builtin_find(call->str)->op, call->loc, 1, b->node, axis);
}

/* gelu(x, approximate="none"|"tanh") */
int layer_gelu(LowerCtx *c, const Expr *call, const Bound *b) {
    int tanh_form = strcmp(b->str[1], "tanh") == 0;
    if (!tanh_form && strcmp(b->str[1], "none") != 0) {
        diag_error(b->loc[1], "gelu's approximate is \"none\" or \"tanh\", not \"%s\"", b->str[1]);
        return -1;
    }
    return lower_node1(c, tanh_form ? OP_GELU_TANH : OP_GELU, call->loc, b->node[0]);
}

/* x @ W: W a matrix [k, m] or a vector [k] (then the result drops the last dim) */
int layer_matmul(LowerCtx *c, Loc loc, int a, int b) {
    Shape sb = c->g->nodes[b].shape;
    if (sb.rank == 1 && !sb.batched) {
        Shape col = sb, out;
        col.rank = 2;
        col.dims[1] = 1;
        int r = lower_node2(c, OP_MATMUL, loc, a, lower_reshape(c, b, &col, loc));
        if (r < 0)
            return -1;
        out = c->g->nodes[r].shape;
        out.rank--;
        return lower_reshape(c, r, &out, loc);
    }
    return lower_node2(c, OP_MATMUL, loc, a, b);
}

/* dense(x, units, bias=true, init=xavier_uniform, bias_init=zeros):
 * flatten(x) @ weight[in, units] + bias[units] */
int layer_dense(LowerCtx *c, const Expr *call, const Bound *b) {
    int units = (int)b->num[1];
    if (units < 1) {
        diag_error(b->loc[1], "dense needs units >= 1, got %d", units);
        return -1;
    }
    Shape xs = c->g->nodes[b->node[0]].shape;
    Shape fs = flat_shape(&xs);
    int x = lower_reshape(c, b->node[0], &fs, call->loc);
    Shape ws = {0, 2, {fs.dims[0], units, 0, 0}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[3], "xavier_uniform", 1);
    int z = lower_node2(c, OP_MATMUL, call->loc, x, w);
    if (!b->num[2] || z < 0)
        return z;
    Shape bs = {0, 1, {units, 0, 0, 0}};
    int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[4], "zeros", 0);
    return lower_node2(c, OP_ADD, call->loc, z, bias);
}

/* mse, mae, huber, bce, bce_logits, nll: one fused op; delta goes to f[0] */
int layer_loss(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    int id = lower_node2(c, bi->op, call->loc, b->node[0], b->node[1]);
    if (id >= 0 && bi->nargs > 2) {
        if (b->num[2] <= 0) {
            diag_error(b->loc[2], "%s's %s must be > 0, got %g", bi->name, bi->args[2].name, b->num[2]);
            return -1;
        }
        ir_node(c->g, id)->f[0] = b->num[2];
    }
    return id;
}

/* cross_entropy(z, y): y a class target (fused log-softmax + NLL) or a real
 * target of probabilities of z's shape */
int layer_cross_entropy(LowerCtx *c, const Expr *call, const Bound *b) {
    int y = b->node[1];
    Op op = c->g->nodes[y].op == OP_LABEL ? OP_CE_CLASS : OP_CE_PROB;
    return lower_node2(c, op, call->loc, b->node[0], y);
}

/* smooth_l1(pred, t, beta): beta >= 0 (PyTorch refuses a negative one; 0 is
 * the l1 loss); hinge(z, y, margin): any margin, as MultiMarginLoss */
int layer_loss_arg(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    if (bi->op == OP_SMOOTH_L1 && b->num[2] < 0) {
        diag_error(b->loc[2], "smooth_l1's beta must be >= 0, got %g", b->num[2]);
        return -1;
    }
    int id = lower_node2(c, bi->op, call->loc, b->node[0], b->node[1]);
    if (id >= 0)
        ir_node(c->g, id)->f[0] = b->num[2];
    return id;
}
