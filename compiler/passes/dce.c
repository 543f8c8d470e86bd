/*
 * dce.c - dead-code elimination. The roots are what the generated API
 * exposes or needs: the outputs, both losses, every parameter's gradient
 * and the optimizer updates. A non-leaf node no root reads, directly or
 * not, is marked dead (ids stay stable; dead nodes are skipped everywhere).
 */
#include <stdlib.h>

#include "nngen.h"

int pass_dce(Graph *g) {
    char *live = base_xcalloc((size_t)g->count + 1, 1);
    for (int v = g->count - 1; v >= 0; v--) {
        Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        if ((op_info(n->op)->flags & OPF_EFFECT) || ir_is_root(g, v))
            live[v] = 1;
        if (!live[v]) {
            if (!(op_info(n->op)->flags & OPF_LEAF))
                n->dead = 1;
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            live[n->in[k]] = 1;
    }
    free(live);
    return 0;
}
