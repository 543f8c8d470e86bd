/*
 * autodiff.c - reverse-mode differentiation as a graph-to-graph pass.
 *
 * From the training loss (FN_TRAIN) back to every parameter, this pass adds
 * FN_BACKWARD nodes to the same graph. It visits only the nodes that lie
 * between the parameters and the loss, in reverse topological order (ids
 * descending); each op's derivative rule (ops/<op>.c) builds the gradient of
 * each of its inputs from the gradient of its output and calls
 * ad_accumulate, which reduces over broadcast dimensions and sums the
 * contributions of several uses with explicit add nodes. The backward graph
 * is then shape-checked and optimized like any other IR.
 *
 * Invariants afterwards: every parameter that the loss depends on has a
 * gradient node of exactly its shape, owned by it alone (Param.grad), so the
 * memory planner can place it in the parameter's gradient array; gradient
 * nodes carry their forward op's source location.
 */
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

struct AdCtx {
    Graph *g;
    int nforward; /* nodes that existed before differentiation */
    int *grad;    /* per forward node: its accumulated gradient, or -1 */
    char *needs;  /* per forward node: the loss's gradient flows through it */
    int bad;
};

Graph *ad_graph(AdCtx *ad) {
    return ad->g;
}

int ad_needs_grad(AdCtx *ad, int x) {
    return x < ad->nforward && ad->needs[x];
}

/* A backward node with the location and attributes of forward node `like`
 * (iattr, when given, replaces the integer attributes i[0..2]). */
static int add_like(AdCtx *ad, Op op, int like, int nin, const int *in, const Shape *shape, const int *iattr) {
    Graph *g = ad->g;
    int id = ir_add(g, op, FN_BACKWARD, g->nodes[like].loc, nin, in);
    Node *n = ir_node(g, id);
    memcpy(n->f, g->nodes[like].f, sizeof n->f);
    memcpy(n->i, g->nodes[like].i, sizeof n->i);
    for (int k = 0; iattr && k < 3; k++)
        n->i[k] = iattr[k];
    if (shape)
        n->shape = *shape;
    if (shape_check_node(g, id) < 0) {
        diag_error(g->nodes[like].loc, "internal: the derivative of '%s' does not shape-check",
                   op_info(g->nodes[like].op)->name);
        ad->bad = 1;
    }
    return id;
}

int ad_node(AdCtx *ad, Op op, int like, int nin, const int *in) {
    return add_like(ad, op, like, nin, in, NULL, NULL);
}

int ad_node_shaped(AdCtx *ad, Op op, int like, int nin, const int *in, const Shape *shape) {
    return add_like(ad, op, like, nin, in, shape, NULL);
}

int ad_node_i(AdCtx *ad, Op op, int like, int nin, const int *in, int i0, int i1, int i2) {
    int iattr[3] = {i0, i1, i2};
    return add_like(ad, op, like, nin, in, NULL, iattr);
}

int ad_const(AdCtx *ad, double v, int like) {
    int id = ir_add(ad->g, OP_CONST, FN_NONE, ad->g->nodes[like].loc, 0, NULL);
    ir_node(ad->g, id)->f[0] = v;
    return id;
}

/* g reduced to x's shape: sums over the dims where x was broadcast. */
int ad_sum_to(AdCtx *ad, int g, int x) {
    Shape xs = ad->g->nodes[x].shape;
    if (shape_equal(&ad->g->nodes[g].shape, &xs))
        return g;
    return ad_node_shaped(ad, OP_SUM_TO, x, 1, &g, &xs);
}

void ad_accumulate(AdCtx *ad, int x, int g) {
    if (!ad_needs_grad(ad, x))
        return;
    g = ad_sum_to(ad, g, x);
    if (ad->grad[x] >= 0) {
        int in[2] = {ad->grad[x], g};
        g = ad_node(ad, OP_ADD, x, 2, in);
    }
    ad->grad[x] = g;
    if (ad->g->nodes[g].grad_of < 0)
        ad->g->nodes[g].grad_of = x;
}

/* needs[v]: v is a trainable (not frozen) parameter, or a training node
 * reading one that needs it. So the backward pass stops at the lowest
 * trainable layer: below it nothing needs a gradient, no derivative rule
 * runs, and the forward values only a pruned rule would read are not kept. */
static void mark_needs(AdCtx *ad) {
    Graph *g = ad->g;
    for (int v = 0; v < ad->nforward; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        if (n->op == OP_PARAM) {
            const Param *p = ir_param_of(g, v);
            ad->needs[v] = !(p && p->frozen);
        } else if (n->func == FN_TRAIN)
            for (int k = 0; k < n->nin; k++)
                ad->needs[v] |= ad->needs[n->in[k]];
    }
}

/* A parameter's gradient must be a node of its own, of its exact shape, that
 * the planner can place in the parameter's gradient array: a leaf, a view or
 * a node shared with another parameter gets copied. */
static int own_grad(AdCtx *ad, int param, int gnode, const char *claimed) {
    const Node *n = &ad->g->nodes[gnode];
    if (!(op_info(n->op)->flags & (OPF_LEAF | OPF_VIEW)) && !claimed[gnode] && n->func == FN_BACKWARD)
        return gnode;
    Shape s = ad->g->nodes[param].shape;
    return ad_node_shaped(ad, OP_BROADCAST, param, 1, &gnode, &s);
}

static void collect_param_grads(AdCtx *ad) {
    Graph *g = ad->g;
    char *claimed = base_xcalloc((size_t)g->count + (size_t)g->nparams + 1, 1);
    for (int i = 0; i < g->nparams; i++) {
        Param *p = &g->params[i];
        int gn = ad->grad[p->node];
        if (gn < 0) {
            p->grad = -1; /* the loss does not depend on it: no update, as PyTorch */
            continue;
        }
        gn = own_grad(ad, p->node, gn, claimed);
        claimed[gn] = 1;
        g->nodes[gn].grad_of = p->node;
        p->grad = gn;
    }
    free(claimed);
}

int ad_differentiate(Graph *g) {
    if (g->loss_train < 0)
        return 0;
    AdCtx ad = {g, g->count, NULL, NULL, 0};
    ad.grad = base_xcalloc((size_t)g->count, sizeof(int));
    ad.needs = base_xcalloc((size_t)g->count, 1);
    for (int v = 0; v < g->count; v++)
        ad.grad[v] = -1;
    mark_needs(&ad);
    ad.grad[g->loss_train] = ad_const(&ad, 1.0, g->loss_train);
    for (int v = g->loss_train; v >= 0 && !ad.bad; v--) {
        const Node *n = &g->nodes[v];
        if (n->dead || n->func != FN_TRAIN || ad.grad[v] < 0 || !ad.needs[v])
            continue;
        const OpInfo *info = op_info(n->op);
        if (!info->grad) {
            diag_error(n->loc, "cannot differentiate '%s': it has no derivative rule", info->name);
            ad.bad = 1;
            break;
        }
        info->grad(&ad, v, ad.grad[v]);
    }
    if (!ad.bad)
        collect_param_grads(&ad);
    free(ad.grad);
    free(ad.needs);
    return ad.bad ? -1 : 0;
}
