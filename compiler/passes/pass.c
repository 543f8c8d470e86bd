/*
 * pass.c - the pass manager. The passes are data: a table in the order
 * they run, each with the reason for its place, whether -O0 keeps it, and
 * a name for --dump-after. With `verify`, the graph's invariants are
 * re-checked after every pass (shapes re-derive, inputs defined before use,
 * storage planned once plan has run).
 */
#include <string.h>

#include "nngen.h"

const Pass pass_table[] = {
    {"dce", pass_dce, 1, "first: later passes need not look at what no output, loss or update reads"},
    {"fold", pass_fold, 0, "after dce: folds constant arithmetic (scalar factors of the loss and its derivative)"},
    {"simplify", pass_simplify, 0, "after fold: identities need the constants folding made (x * 1 after 2 * 0.5)"},
    {"cse", pass_cse, 0, "after simplify: x * 1 and x are the same value only once simplify said so"},
    {"dce-late", pass_dce, 0, "after fold, simplify and cse: drops what they left unused"},
    {"fuse", pass_fuse, 0, "after dce-late: use counts decide fusion, so dead readers must be gone"},
    {"plan", pass_plan, 1, "last: storage for every node that survived, offsets by liveness in one arena"},
};
const int pass_count = (int)(sizeof pass_table / sizeof pass_table[0]);

void pass_replace_uses(Graph *g, int from, int to) {
    for (int v = from + 1; v < g->count; v++) {
        Node *n = &g->nodes[v];
        for (int k = 0; k < n->nin && !n->dead; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i].node == from)
            g->outputs[i].node = to;
    if (g->loss_infer == from)
        g->loss_infer = to;
    if (g->loss_train == from)
        g->loss_train = to;
}

const Pass *pass_find(const char *name) {
    for (int i = 0; i < pass_count; i++)
        if (strcmp(pass_table[i].name, name) == 0)
            return &pass_table[i];
    return NULL;
}

int pass_verify(Graph *g) {
    return shape_verify(g, 0);
}

int pass_run_all(Graph *g, const PassOptions *o) {
    g->opt_level = o->opt_level;
    for (int i = 0; i < pass_count; i++) {
        const Pass *p = &pass_table[i];
        if (!p->required && o->opt_level == 0)
            continue;
        if (p->run(g) < 0)
            return -1;
        if (o->verify && shape_verify(g, p->run == pass_plan) < 0)
            return -1;
        if (o->dump_after && (strcmp(o->dump_after, p->name) == 0 || strcmp(o->dump_after, "all") == 0)) {
            fprintf(o->dump, "# after %s\n", p->name);
            ir_dump(o->dump, g);
        }
    }
    return 0;
}
