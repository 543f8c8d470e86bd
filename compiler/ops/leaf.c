/*
 * leaf.c - inputs, targets, labels, parameters, buffers and constants.
 *
 * Their shapes are set when lower.c creates them (from the declaration, the
 * layer that owns a parameter or buffer, or a scalar for constants); the
 * rule only checks that they were. A buffer (batchnorm's running
 * statistics) is state that is not trained: autodiff never reaches it and
 * only an FN_UPDATE effect writes it. Leaves have no
 * derivative rule: autodiff stops at them, and they are emitted as storage
 * (struct members, the caller's pointers, literals), never as code.
 *
 * Attributes: CONST f[0] = the value; LABEL i[0] = the class count;
 * INPUT/TARGET/LABEL/PARAM s = the declared name; BUFFER s = the buffer's
 * name.
 */
#include "nngen.h"

int leaf_shape(Graph *g, Node *n) {
    (void)g;
    if (n->op == OP_CONST && (n->shape.rank != 0 || n->shape.batched))
        nn_unreachable("a constant with a shape");
    return 0;
}
