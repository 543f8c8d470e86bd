/*
 * shape.c - the shape checker's shared parts.
 *
 * Every op's own rule lives with the op (ops/<op>.c); this file holds what the
 * rules share: NumPy broadcasting with a symbolic batch dimension, the error
 * format that shows both shapes, and the verifier that re-derives every shape
 * after a pass.
 *
 * A shape is the per-sample dims plus a flag for the leading batch dimension
 * N. Broadcasting aligns trailing dims; N behaves as one more leading dim
 * that only a batched operand has, so [N, 3] + [3] is [N, 3] and [N, 3] +
 * [2, 3] is an error (2 would have to line up with N).
 */
#include <string.h>

#include "nngen.h"

void shape_error2(Graph *g, const Node *n, const char *what, const Shape *a,
                  const char *opname, const Shape *b, const char *why) {
    Buf sa = {0}, sb = {0};
    (void)g;
    shape_print(&sa, a);
    shape_print(&sb, b);
    if (why && *why)
        diag_error(n->loc, "%s shapes %s %s %s do not agree (%s)", what, sa.data, opname,
                   sb.data, why);
    else
        diag_error(n->loc, "%s shapes %s %s %s do not agree", what, sa.data, opname, sb.data);
    buf_free(&sa);
    buf_free(&sb);
}

/* The op's symbol in messages: "+" for add, the op name otherwise. */
static const char *op_symbol(Op op) {
    switch (op) {
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    default: return "and";
    }
}

/* NumPy broadcasting of a and b into out, aligning trailing dims. */
int shape_broadcast(Graph *g, Node *n, const Shape *a, const Shape *b, Shape *out) {
    Shape r = {0};
    r.batched = a->batched || b->batched;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        int da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char why[64];
            snprintf(why, sizeof why, "%d != %d", da, db);
            shape_error2(g, n, op_info(n->op)->name, a, op_symbol(n->op), b, why);
            return -1;
        }
        r.dims[i] = da == 1 ? db : da;
    }
    /* An unbatched operand of higher rank than the batched one would put one
     * of its dims against N, which no value of N can be sure to match. */
    if ((a->batched && !b->batched && b->rank > a->rank) ||
        (b->batched && !a->batched && a->rank > b->rank)) {
        shape_error2(g, n, op_info(n->op)->name, a, op_symbol(n->op), b,
                     "a dimension would stand against the batch dimension N");
        return -1;
    }
    *out = r;
    return 0;
}

/* Class labels are int32 data: only the losses read them (their shape rules
 * say which argument may be one); any other op would read them as floats. */
static int label_misused(Graph *g, const Node *n, const OpInfo *info) {
    if (info->shape == loss_shape || info->shape == class_loss_shape ||
        info->shape == loss_grad_shape)
        return 0;
    for (int k = 0; k < n->nin; k++) {
        const Node *in = &g->nodes[n->in[k]];
        if (in->op == OP_LABEL) {
            diag_error(n->loc, "'%s' is a class target (integer labels): it can only be the "
                       "target of a class loss such as cross_entropy(z, %s)", in->name, in->name);
            return 1;
        }
    }
    return 0;
}

int shape_check_node(Graph *g, int id) {
    Node *n = ir_node(g, id);
    const OpInfo *info = op_info(n->op);
    if (info->arity >= 0 && n->nin != info->arity)
        nn_unreachable("%s node with %d inputs", info->name, n->nin);
    if (!info->shape)
        nn_unreachable("op %s has no shape rule", info->name);
    if (label_misused(g, n, info) || info->shape(g, n) < 0)
        return -1;
    char what[64];
    snprintf(what, sizeof what, "the result of %s", info->name);
    return shape_check_size(g, n->loc, what, &n->shape);
}

/* LANGUAGE.md: a tensor's per-sample size times NET_MAX_BATCH stays below
 * 2^31 (so every index fits an int and every size a long). Doubles hold
 * the product exactly far past that. */
int shape_check_size(Graph *g, Loc loc, const char *what, const Shape *s) {
    double per = 1;
    for (int d = 0; d < s->rank; d++)
        per *= s->dims[d];
    double total = per * (s->batched ? g->max_batch : 1);
    if (total < 2147483648.0)
        return 0;
    Buf b = {0};
    shape_print(&b, s);
    if (s->batched)
        diag_error(loc, "%s, %s, has too many elements (%.0f per sample, %.0f for a "
                   "batch of %d; the limit is 2^31)", what, b.data, per, total, g->max_batch);
    else
        diag_error(loc, "%s, %s, has too many elements (%.0f; the limit is 2^31)",
                   what, b.data, total);
    buf_free(&b);
    return -1;
}

/* Re-derives every live node's shape and checks the structural invariants. */
int shape_verify(Graph *g, int planned) {
    int bad = 0;
    for (int v = 0; v < g->count && !bad; v++) {
        Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] >= v || g->nodes[n->in[k]].dead) {
                diag_error(n->loc, "internal: v%d reads %s v%d", v,
                           n->in[k] >= v ? "later node" : "dead node", n->in[k]);
                bad = 1;
            }
        }
        if (bad || (op_info(n->op)->flags & OPF_LEAF))
            continue;
        Shape before = n->shape;
        if (op_info(n->op)->shape(g, n) < 0 || !shape_equal(&before, &n->shape)) {
            diag_error(n->loc, "internal: shape of v%d (%s) does not re-derive", v,
                       op_info(n->op)->name);
            bad = 1;
        }
        if (planned && n->storage == STO_UNPLANNED && n->op != OP_CONST) {
            diag_error(n->loc, "internal: v%d has no storage", v);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}
