/*
 * check.c - running the shape rules: shape_check_node, as lowering and
 * autodiff build each node (the op's own rule, from its ops/<op>.c, then
 * the size limit), and shape_verify, the invariants --verify re-checks after
 * every pass (inputs defined before use, shapes re-derive to the same thing,
 * storage planned once plan has run).
 */
#include <stdio.h>

#include "nngen.h"

/* Class labels are int32 data: only the losses read them (their shape rules
 * say which argument may be one); any other op would read them as floats. */
static int label_misused(Graph *g, const Node *n, const OpInfo *info) {
    if (info->shape == loss_shape || info->shape == class_loss_shape || info->shape == loss_grad_shape)
        return 0;
    for (int k = 0; k < n->nin; k++) {
        const Node *in = &g->nodes[n->in[k]];
        if (in->op == OP_LABEL) {
            diag_error(n->loc,
                       "'%s' is a class target (integer labels): it can only be the "
                       "target of a class loss such as cross_entropy(z, %s)",
                       in->name, in->name);
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

/* Re-derives every live node's shape and checks the structural invariants. */
int shape_verify(Graph *g, int planned) {
    int bad = 0;
    for (int v = 0; v < g->count && !bad; v++) {
        Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] >= v || g->nodes[n->in[k]].dead) {
                diag_error(n->loc, "internal: v%d reads %s v%d", v, n->in[k] >= v ? "later node" : "dead node",
                           n->in[k]);
                bad = 1;
            }
        }
        if (bad || (op_info(n->op)->flags & OPF_LEAF))
            continue;
        Shape before = n->shape;
        if (op_info(n->op)->shape(g, n) < 0 || !shape_equal(&before, &n->shape)) {
            diag_error(n->loc, "internal: shape of v%d (%s) does not re-derive", v, op_info(n->op)->name);
            bad = 1;
        }
        if (planned && n->storage == STO_UNPLANNED && n->op != OP_CONST) {
            diag_error(n->loc, "internal: v%d has no storage", v);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}
