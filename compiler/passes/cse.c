/*
 * cse.c - common-subexpression elimination. Two live nodes of the same
 * function with the same op, inputs, attributes (f, i, s) and shape compute
 * the same value: every reader of the later one (outputs and losses
 * included) reads the earlier one instead, and the later one is dead.
 * Operands of OPF_COMMUTES ops are compared as a set (a + b == b + a);
 * scalar constants of equal bits merge too.
 *
 * Within a function only: inference and training are separate C functions
 * (and the training forward and backward run at different times), so a
 * value is never shared between two of them. Never merged: effects
 * (optimizer updates), OPF_IMPURE ops (random draws: two dropouts of the
 * same input draw different masks), and a parameter's gradient, which owns
 * its storage (m->grad.NAME) - another node may be merged into it, never it
 * into another.
 *
 * Nodes are visited in id order (topological), so the inputs of a node are
 * already canonical when it is looked up, and chains of duplicates merge in
 * one pass. A hash table keyed on (op, func, inputs, attributes) keeps the
 * pass linear.
 */
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

static int mergeable(const Node *n) {
    unsigned flags = op_info(n->op)->flags;
    if (n->dead || (flags & (OPF_EFFECT | OPF_IMPURE)))
        return 0;
    if (flags & OPF_LEAF)
        return n->op == OP_CONST;
    return 1;
}

/* the node's inputs, sorted when the op commutes */
static void operands(const Node *n, int *in) {
    for (int k = 0; k < n->nin; k++)
        in[k] = n->in[k];
    if ((op_info(n->op)->flags & OPF_COMMUTES) && n->nin == 2 && in[0] > in[1]) {
        int t = in[0];
        in[0] = in[1];
        in[1] = t;
    }
}

/* FNV-1a of the key `same` compares (the string attribute left out: nodes
 * that differ only there share a bucket and `same` tells them apart) */
static unsigned hash_node(const Node *n) {
    int head[3] = {(int)n->op, (int)n->func, n->nin}, in[NN_MAX_IN];
    operands(n, in);
    uint32_t h = hash_fnv32(HASH_FNV32_INIT, head, sizeof head);
    h = hash_fnv32(h, in, sizeof(int) * (size_t)n->nin);
    h = hash_fnv32(h, n->i, sizeof n->i);
    return hash_fnv32(h, n->f, sizeof n->f);
}

static int same(const Node *a, const Node *b) {
    int ia[NN_MAX_IN], ib[NN_MAX_IN];
    if (a->op != b->op || a->func != b->func || a->nin != b->nin || !shape_equal(&a->shape, &b->shape))
        return 0;
    if (memcmp(a->f, b->f, sizeof a->f) != 0 || memcmp(a->i, b->i, sizeof a->i) != 0)
        return 0;
    if ((a->s == NULL) != (b->s == NULL) || (a->s && strcmp(a->s, b->s) != 0))
        return 0;
    operands(a, ia);
    operands(b, ib);
    for (int k = 0; k < a->nin; k++)
        if (ia[k] != ib[k])
            return 0;
    return 1;
}

int pass_cse(Graph *g) {
    int cap = 64;
    while (cap < 2 * g->count)
        cap *= 2;
    int *table = base_xcalloc((size_t)cap, sizeof(int));
    for (int i = 0; i < cap; i++)
        table[i] = -1;
    for (int v = 0; v < g->count; v++) {
        Node *n = &g->nodes[v];
        if (!mergeable(n))
            continue;
        unsigned slot = hash_node(n) & (unsigned)(cap - 1);
        int found = -1;
        for (; table[slot] >= 0; slot = (slot + 1) & (unsigned)(cap - 1))
            if (same(&g->nodes[table[slot]], n)) {
                found = table[slot];
                break;
            }
        if (found < 0 || ir_is_param_grad(g, v)) { /* a gradient owns its storage: never merged away */
            if (found < 0)
                table[slot] = v;
            continue;
        }
        pass_replace_uses(g, v, found);
        n->dead = 1;
    }
    free(table);
    return 0;
}
