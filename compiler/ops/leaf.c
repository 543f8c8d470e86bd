/*
 * leaf.c - inputs, targets, labels, parameters and constants.
 *
 * Their shapes are set when lower.c creates them (from the declaration, or a
 * scalar for constants); the rule only checks that they were. Leaves have no
 * derivative rule: autodiff stops at them, and they are emitted as storage
 * (struct members, the caller's pointers, literals), never as code.
 *
 * Attributes: CONST f[0] = the value; LABEL i[0] = the class count;
 * INPUT/TARGET/LABEL/PARAM s = the declared name.
 */
#include "nngen.h"

int leaf_shape(Graph *g, Node *n) {
    (void)g;
    if (n->op == OP_CONST && (n->shape.rank != 0 || n->shape.batched))
        nn_unreachable("a constant with a shape");
    return 0;
}
