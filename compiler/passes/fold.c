/*
 * fold.c - constant folding: an arithmetic node whose inputs are all
 * constants becomes a constant itself (in place: its id, and so every use
 * of it, stays). Values are computed in double and rounded to float where
 * the generated code would have rounded them, so folding never changes a
 * result (sqrt folds too: its double result rounds to sqrtf's, both being
 * correctly rounded). Typical harvest: the 1/2 of an l2 term and `-` on
 * literals. Broadcasts of constants become constants in simplify.c.
 */
#include <math.h>

#include "nngen.h"

/* 1 and *out when op(a, b) can be folded */
static int fold_value(const Node *n, double a, double b, double *out) {
    switch (n->op) {
    case OP_ADD:
        *out = (float)a + (float)b;
        return 1;
    case OP_SUB:
        *out = (float)a - (float)b;
        return 1;
    case OP_MUL:
        *out = (float)a * (float)b;
        return 1;
    case OP_DIV:
        *out = (float)a / (float)b;
        return 1;
    case OP_NEG:
        *out = -a;
        return 1;
    case OP_ABS:
        *out = fabs(a);
        return 1;
    case OP_MAX:
        *out = a < b ? b : a;
        return 1;
    case OP_MIN:
        *out = a > b ? b : a;
        return 1;
    /* sqrt in double, rounded to float, is sqrtf's correctly rounded result */
    case OP_SQRT:
        *out = (float)sqrt((double)(float)a);
        return 1;
    default:
        return 0;
    }
}

int pass_fold(Graph *g) {
    for (int v = 0; v < g->count; v++) {
        Node *n = &g->nodes[v];
        if (n->dead || !(op_info(n->op)->flags & OPF_ELEMENTWISE) || n->nin == 0 || n->shape.rank || n->shape.batched)
            continue;
        double in[2] = {0, 0}, out;
        int all_const = 1;
        for (int k = 0; k < n->nin && k < 2; k++) {
            all_const &= g->nodes[n->in[k]].op == OP_CONST;
            in[k] = g->nodes[n->in[k]].f[0];
        }
        if (!all_const || n->nin > 2 || !fold_value(n, in[0], in[1], &out) || !isfinite(out))
            continue;
        n->op = OP_CONST;
        n->nin = 0;
        n->func = FN_NONE;
        n->f[0] = (float)out;
    }
    return 0;
}
