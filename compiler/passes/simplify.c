/*
 * simplify.c - algebraic simplification: identities that hold bit for bit
 * in IEEE arithmetic, so that a simplified network computes exactly what
 * the unsimplified one did.
 *
 *   x * 1, 1 * x, x / 1, x - 0, x + (-0), (-0) + x    -> x
 *   -(-x)                                            -> x
 *   x * -1, -1 * x                                   -> -x (a sign flip is exact)
 *   transpose(transpose(x))                          -> x
 *   reshape(reshape(x)) -> reshape(x);  reshape(x) to x's own shape -> x
 *   broadcast(c) of a constant c                     -> the constant c (a scalar:
 *                                                       every reader is elementwise
 *                                                       and broadcasts it alike)
 *
 * Signed zeros decide three cases: x + 0 is -0 + 0 = +0 for x = -0, so only
 * x + (-0) and x - (+0) are identities (x + 0 stays); 0 - x differs from -x
 * at x = 0. x * 0 is not 0 (NaN, infinity) and x - x is not 0: neither is
 * touched. So -O2 never changes a result, only the work.
 *
 * A replaced node's readers (outputs and losses too) read its replacement,
 * and the node is dead. A parameter's gradient is never replaced
 * (it owns its storage, m->grad.NAME), and an output or a loss only by a
 * value computed in the same function. Rewrites in place (x * -1 becoming
 * neg x, a broadcast becoming a constant) keep the node's id, so ids stay a
 * topological order.
 */
#include <string.h>

#include "nngen.h"

/* 1 when node id is the scalar constant v (bits: -0 and +0 differ) */
static int is_const(const Graph *g, int id, double v) {
    const Node *n = &g->nodes[id];
    float a = (float)n->f[0], b = (float)v;
    return n->op == OP_CONST && memcmp(&a, &b, sizeof a) == 0;
}

/* n's readers read x instead; 1 when done */
static int replace(Graph *g, Node *n, int x) {
    const Node *to = &g->nodes[x];
    if (!shape_equal(&n->shape, &to->shape) || ir_is_param_grad(g, n->id))
        return 0;
    if (ir_is_root(g, n->id) && (to->func != n->func || (op_info(to->op)->flags & OPF_LEAF)))
        return 0;
    pass_replace_uses(g, n->id, x);
    n->dead = 1;
    return 1;
}

/* becomes neg(x) in place */
static int to_neg(Node *n, int x) {
    n->op = OP_NEG;
    n->nin = 1;
    n->in[0] = x;
    return 1;
}

/* Every live reader of b is elementwise and keeps its shape when b becomes
 * a scalar: then b may turn into a constant. */
static int scalar_ok_for_readers(Graph *g, int b) {
    for (int v = b + 1; v < g->count; v++) {
        Node *r = &g->nodes[v];
        int reads = 0;
        for (int k = 0; k < r->nin; k++)
            reads |= r->in[k] == b;
        if (r->dead || !reads)
            continue;
        if (!(op_info(r->op)->flags & OPF_ELEMENTWISE) || ir_is_root(g, b))
            return 0;
        Node probe = *r;
        Shape before = r->shape;
        Shape scalar = {0, 0, {0, 0, 0, 0}};
        Shape keep = g->nodes[b].shape;
        g->nodes[b].shape = scalar; /* what the reader would see */
        int ok = op_info(r->op)->shape(g, &probe) == 0 && shape_equal(&probe.shape, &before);
        g->nodes[b].shape = keep;
        if (!ok)
            return 0;
    }
    return 1;
}

/* broadcast(c): the constant c, or c / k for a mean's gradient over k
 * elements that do not include the batch */
static int fold_broadcast(Graph *g, Node *n) {
    const Node *c = &g->nodes[n->in[0]];
    if (c->op != OP_CONST || (n->i[0] && n->i[1]) || !scalar_ok_for_readers(g, n->id))
        return 0;
    double v = n->i[0] ? (double)((float)c->f[0] / (float)n->f[0]) : c->f[0];
    memset(n->f, 0, sizeof n->f);
    memset(n->i, 0, sizeof n->i);
    n->op = OP_CONST;
    n->nin = 0;
    n->func = FN_NONE;
    n->f[0] = v;
    Shape scalar = {0, 0, {0, 0, 0, 0}};
    n->shape = scalar;
    return 1;
}

static int simplify_node(Graph *g, Node *n) {
    int a = n->nin > 0 ? n->in[0] : -1, b = n->nin > 1 ? n->in[1] : -1;
    switch (n->op) {
    case OP_MUL:
        if (is_const(g, b, 1.0))
            return replace(g, n, a);
        if (is_const(g, a, 1.0))
            return replace(g, n, b);
        if (is_const(g, b, -1.0) && shape_equal(&n->shape, &g->nodes[a].shape))
            return to_neg(n, a);
        if (is_const(g, a, -1.0) && shape_equal(&n->shape, &g->nodes[b].shape))
            return to_neg(n, b);
        return 0;
    case OP_DIV:
        return is_const(g, b, 1.0) ? replace(g, n, a) : 0;
    case OP_ADD:
        if (is_const(g, b, -0.0))
            return replace(g, n, a);
        return is_const(g, a, -0.0) ? replace(g, n, b) : 0;
    case OP_SUB:
        return is_const(g, b, 0.0) ? replace(g, n, a) : 0;
    case OP_NEG:
        return g->nodes[a].op == OP_NEG ? replace(g, n, g->nodes[a].in[0]) : 0;
    case OP_TRANSPOSE:
        return g->nodes[a].op == OP_TRANSPOSE ? replace(g, n, g->nodes[a].in[0]) : 0;
    case OP_RESHAPE:
        if (shape_equal(&n->shape, &g->nodes[a].shape))
            return replace(g, n, a);
        if (g->nodes[a].op == OP_RESHAPE) {
            n->in[0] = g->nodes[a].in[0];
            return 1;
        }
        return 0;
    case OP_BROADCAST:
        return fold_broadcast(g, n);
    default:
        return 0;
    }
}

int pass_simplify(Graph *g) {
    for (int v = 0; v < g->count; v++) {
        Node *n = &g->nodes[v];
        if (n->dead || (op_info(n->op)->flags & OPF_LEAF))
            continue;
        /* a rewrite may enable another on the same node (reshape chains) */
        for (int guard = 0; guard < 8 && !n->dead && simplify_node(g, n); guard++)
            ;
    }
    return 0;
}
