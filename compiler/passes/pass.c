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
    {"dce-late", pass_dce, 0, "after fold: drops constants' operands that folding left unused"},
    {"plan", pass_plan, 1, "last: storage for every node that survived, offsets by liveness in one arena"},
};
const int pass_count = (int)(sizeof pass_table / sizeof pass_table[0]);

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
