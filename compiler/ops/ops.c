/*
 * ops.c - the op table, built from ops.def: one row per op with its name,
 * arity, flags and hooks. Everything that dispatches on an op goes through
 * op_table (or op_info), never through chains of comparisons.
 */
#include "nngen.h"

const OpInfo op_table[OP__COUNT] = {
#define OP(id, name, arity, flags, shape, grad, expr, emit, flops, scratch, attrs)                                     \
    {name, arity, flags, shape, grad, expr, emit, flops, scratch},
#include "ir/ops.def"
#undef OP
};

/* elements of a node for `batch` samples */
static double elements(const Shape *s, int batch) {
    return (double)shape_numel(s) * (s->batched ? batch : 1);
}

const OpInfo *op_info(Op op) {
    if ((unsigned)op >= OP__COUNT)
        nn_unreachable("op %d out of range", (int)op);
    return &op_table[op];
}

double op_flops(const Graph *g, const Node *n, int batch) {
    const OpInfo *info = op_info(n->op);
    if (info->flops)
        return info->flops(g, n, batch);
    if (info->flags & (OPF_LEAF | OPF_VIEW))
        return 0;
    double f = elements(&n->shape, batch);
    if (!(info->flags & OPF_ELEMENTWISE))
        for (int k = 0; k < n->nin; k++)
            f += elements(&g->nodes[n->in[k]].shape, batch);
    return f;
}
