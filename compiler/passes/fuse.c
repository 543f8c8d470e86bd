/*
 * fuse.c - fusion, decided on the op table's flags alone (never on op
 * names), so that ops added later fuse as soon as their flags allow it.
 *
 * Elementwise groups. Every elementwise op is one loop when emitted alone.
 * A group is a tree-like set of elementwise nodes of one function with one
 * root R: every member has R's shape (so it is computed once per element of
 * R's loop, never recomputed for a broadcast) and every reader of a member
 * other than R is itself a member. The group is emitted as one loop at R's
 * place: each member a local temporary, only R stored (emit/emit.c). Members
 * get fuse = R and no storage (STO_FUSED). Roots that the API reads or that
 * own storage (outputs, losses, gradients) are never members; neither are
 * impure ops (OPF_IMPURE) nor integer ones. Groups are grown from the last
 * node backwards, taking a candidate input only after all its readers had
 * their turn (highest id first), so each node joins at most one group.
 *
 * Epilogues. A kernel whose op has OPF_EPILOGUE (matmul) can apply an
 * elementwise group to each block of its output while the block is in
 * cache (bias and activation after a GEMM): when the group reads the
 * kernel's result K, K has R's shape, only the group reads K, and every
 * other operand of the group is available when K runs (a leaf, a value of
 * an earlier function, or one computed before K) and is read the same way
 * in every block (R's shape, a vector along the last dim, or a scalar),
 * then K.epilogue = R and R.fuse = K: R's value is written over K's, in
 * place (plan.c makes R an alias of K). Not when R is a gradient: that has
 * its own storage.
 *
 * Limits (nngen.h): a group has at most FUSE_MAX_MEMBERS members and reads
 * at most FUSE_MAX_OPERANDS distinct outside values (the emitter's loop nest
 * has room for that many operands and the output, and no more).
 */
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

int fuse_top(const Graph *g, int v) {
    while (g->nodes[v].fuse >= 0)
        v = g->nodes[v].fuse;
    return v;
}

static int elementwise(const Node *n) {
    unsigned f = op_info(n->op)->flags;
    return !n->dead && (f & OPF_ELEMENTWISE) && !(f & (OPF_LEAF | OPF_EFFECT | OPF_IMPURE | OPF_INT));
}

typedef struct Group {
    int root;
    int members[FUSE_MAX_MEMBERS];
    int nmembers;
    char *in; /* in[v]: v is a member */
} Group;

/* the distinct inputs of the members that are not members, into out */
static int operands(const Graph *g, const Group *gr, int extra, int *out, int cap) {
    int n = 0;
    for (int m = 0; m <= gr->nmembers; m++) {
        int id = m < gr->nmembers ? gr->members[m] : extra;
        if (id < 0)
            continue;
        const Node *node = &g->nodes[id];
        for (int k = 0; k < node->nin; k++) {
            int x = node->in[k], dup = x == extra || gr->in[x];
            for (int j = 0; j < n && !dup; j++)
                dup = out[j] == x;
            if (dup)
                continue;
            if (n == cap)
                return cap + 1;
            out[n++] = x;
        }
    }
    return n;
}

/* reads of p by the group's members */
static int reads_in_group(const Graph *g, const Group *gr, int p) {
    int c = 0;
    for (int m = 0; m < gr->nmembers; m++)
        for (int k = 0; k < g->nodes[gr->members[m]].nin; k++)
            c += g->nodes[gr->members[m]].in[k] == p;
    return c;
}

static int can_join(const Graph *g, const Group *gr, const int *uses, int p) {
    const Node *r = &g->nodes[gr->root], *n = &g->nodes[p];
    int ops[FUSE_MAX_OPERANDS + 1];
    if (!elementwise(n) || n->fuse >= 0 || n->func != r->func || !shape_equal(&n->shape, &r->shape))
        return 0;
    if (ir_is_root(g, p) || gr->nmembers == FUSE_MAX_MEMBERS || reads_in_group(g, gr, p) != uses[p])
        return 0;
    return operands(g, gr, p, ops, FUSE_MAX_OPERANDS) <= FUSE_MAX_OPERANDS;
}

/* grows the group of root v; returns its member count */
static int grow(Graph *g, Group *gr, const int *uses, int v) {
    int cand[FUSE_MAX_MEMBERS * NN_MAX_IN + NN_MAX_IN], ncand = 0;
    gr->root = v;
    gr->nmembers = 1;
    gr->members[0] = v;
    gr->in[v] = 1;
    for (;;) {
        ncand = 0;
        for (int m = 0; m < gr->nmembers; m++)
            for (int k = 0; k < g->nodes[gr->members[m]].nin; k++) {
                int x = g->nodes[gr->members[m]].in[k];
                if (!gr->in[x])
                    cand[ncand++] = x;
            }
        int best = -1; /* the highest-id candidate that may join */
        for (int c = 0; c < ncand; c++)
            if (cand[c] > best && can_join(g, gr, uses, cand[c]))
                best = cand[c];
        if (best < 0)
            break;
        gr->members[gr->nmembers++] = best;
        gr->in[best] = 1;
    }
    return gr->nmembers;
}

/* how an operand is read in each block of a kernel's [rows, cols] output */
static int block_readable(const Graph *g, const Node *k, int x) {
    const Shape *s = &g->nodes[x].shape;
    if (shape_equal(s, &k->shape))
        return 1;
    if (!s->batched && s->rank == 0)
        return 1;
    return !s->batched && s->rank == 1 && k->shape.rank >= 1 && s->dims[0] == k->shape.dims[k->shape.rank - 1];
}

/* computed before kernel k runs */
static int available_before(const Graph *g, const Node *k, int x) {
    const Node *n = &g->nodes[x];
    if (op_info(n->op)->flags & OPF_LEAF)
        return 1;
    if (n->func != k->func)
        return n->func < k->func && k->func != FN_INFER && n->func != FN_INFER;
    return x < k->id;
}

static void try_epilogue(Graph *g, Group *gr, const int *uses) {
    int ops[FUSE_MAX_OPERANDS + 1];
    int nops = operands(g, gr, -1, ops, FUSE_MAX_OPERANDS);
    if (ir_is_param_grad(g, gr->root))
        return; /* a gradient is written to its own member, not over the kernel's output */
    for (int c = 0; c < nops; c++) {
        Node *k = &g->nodes[ops[c]];
        if (!(op_info(k->op)->flags & OPF_EPILOGUE) || k->dead || k->func != g->nodes[gr->root].func)
            continue;
        if (k->epilogue >= 0 || ir_is_root(g, k->id) || !shape_equal(&k->shape, &g->nodes[gr->root].shape))
            continue;
        if (reads_in_group(g, gr, k->id) != uses[k->id])
            continue;
        int ok = 1;
        for (int o = 0; o < nops && ok; o++)
            if (o != c)
                ok = block_readable(g, k, ops[o]) && available_before(g, k, ops[o]);
        if (!ok)
            continue;
        k->epilogue = gr->root;
        g->nodes[gr->root].fuse = k->id;
        return;
    }
}

int pass_fuse(Graph *g) {
    int *uses = ir_use_counts(g);
    Group gr;
    gr.in = base_xcalloc((size_t)g->count + 1, 1);
    for (int v = g->count - 1; v >= 0; v--) {
        Node *n = &g->nodes[v];
        if (!elementwise(n) || n->fuse >= 0)
            continue;
        grow(g, &gr, uses, v);
        for (int m = 1; m < gr.nmembers; m++)
            g->nodes[gr.members[m]].fuse = v;
        try_epilogue(g, &gr, uses);
        for (int m = 0; m < gr.nmembers; m++)
            gr.in[gr.members[m]] = 0;
    }
    free(gr.in);
    return 0;
}
