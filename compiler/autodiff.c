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
 * Slices of one tensor (the steps of a recurrent layer's input projection,
 * the gates of its pre-activations) each give a gradient padded with zeros
 * to the whole tensor; summed one by one, T slices of [N, T, G U] would cost
 * T zero-filled copies of the whole and T adds of it. So padded
 * contributions wait until the tensor's gradient is read: those along one
 * axis whose ranges follow each other become one concat (a balanced tree,
 * T log T copies of a step's part), padded only where the ranges leave a
 * gap. The sum is the same: where one contribution is non-zero, the others
 * add zeros. Likewise the weight gradients of a product per step, h_t^T dz_t
 * ([U, N] x [N, G U] each: T small GEMMs and T adds of the whole weight), wait
 * and become one product over the steps' rows, concatenated: H^T dZ.
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
    int *pads;    /* per forward node: the first of its pending padded contributions, or -1 */
    int *next;    /* per pending entry: the next one of the same node, or -1 */
    int *pad;     /* per pending entry: the pad node */
    int npend, cap;
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

/* g added to x's gradient now */
static void sum_into(AdCtx *ad, int x, int g) {
    if (ad->grad[x] >= 0) {
        int in[2] = {ad->grad[x], g};
        g = ad_node(ad, OP_ADD, x, 2, in);
    }
    ad->grad[x] = g;
    if (ad->g->nodes[g].grad_of < 0)
        ad->g->nodes[g].grad_of = x;
}

/* a^T b over the rows of two sequences of the same length [N, T, .]: the
 * weight gradient of a product per step, which can wait to be one product
 * over all steps (see the top) */
static int stacks_rows(const Graph *g, int m) {
    const Node *n = &g->nodes[m];
    if (n->op != OP_MATMUL || n->i[0] != 1 || n->i[1] != 0)
        return 0;
    const Shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
    return a->batched && b->batched && a->rank == 2 && b->rank == 2 && a->dims[0] == b->dims[0];
}

void ad_accumulate(AdCtx *ad, int x, int g) {
    if (!ad_needs_grad(ad, x))
        return;
    g = ad_sum_to(ad, g, x);
    if (ad->g->nodes[g].op != OP_PAD && !stacks_rows(ad->g, g)) {
        sum_into(ad, x, g);
        return;
    }
    if (ad->npend == ad->cap) { /* a padded contribution waits (see the top) */
        ad->cap = ad->cap ? 2 * ad->cap : 64;
        ad->next = base_xrealloc(ad->next, sizeof(int) * (size_t)ad->cap);
        ad->pad = base_xrealloc(ad->pad, sizeof(int) * (size_t)ad->cap);
    }
    ad->pad[ad->npend] = g;
    ad->next[ad->npend] = ad->pads[x];
    ad->pads[x] = ad->npend++;
}

/* the range a pad node's input covers along its axis */
static int pad_axis(const Graph *g, int p) {
    return g->nodes[p].i[0];
}
static int pad_start(const Graph *g, int p) {
    return g->nodes[p].i[1];
}
static int pad_len(const Graph *g, int p) {
    return g->nodes[g->nodes[p].in[0]].shape.dims[pad_axis(g, p)];
}

static int cmp_pad(const Graph *g, int a, int b) {
    if (pad_axis(g, a) != pad_axis(g, b))
        return pad_axis(g, a) - pad_axis(g, b);
    if (pad_start(g, a) != pad_start(g, b))
        return pad_start(g, a) < pad_start(g, b) ? -1 : 1;
    return a - b;
}

/* input k of nodes ps[lo..hi) concatenated along axis, a balanced tree */
static int concat_inputs(AdCtx *ad, const int *ps, int lo, int hi, int k, int axis) {
    if (hi - lo == 1)
        return ad->g->nodes[ps[lo]].in[k];
    int mid = lo + (hi - lo) / 2;
    int in[2] = {concat_inputs(ad, ps, lo, mid, k, axis), concat_inputs(ad, ps, mid, hi, k, axis)};
    return ad_node_i(ad, OP_CONCAT, ps[lo], 2, in, axis, 0, 0);
}

/* the products ms[0..count) as one: a^T b over the rows of all of them */
static int merge_products(AdCtx *ad, const int *ms, int count) {
    if (count == 1)
        return ms[0];
    int in[2] = {concat_inputs(ad, ms, 0, count, 0, 0), concat_inputs(ad, ms, 0, count, 1, 0)};
    return ad_node_i(ad, OP_MATMUL, ms[0], 2, in, 1, 0, 0);
}

/* pads ps[lo..hi), whose ranges follow each other, as one contribution to x */
static int merge_run(AdCtx *ad, int x, const int *ps, int lo, int hi) {
    if (hi - lo == 1)
        return ps[lo];
    int c = concat_inputs(ad, ps, lo, hi, 0, pad_axis(ad->g, ps[lo]));
    Shape xs = ad->g->nodes[x].shape;
    if (shape_equal(&ad->g->nodes[c].shape, &xs))
        return c;
    int iattr[3] = {pad_axis(ad->g, ps[lo]), pad_start(ad->g, ps[lo]), 0};
    return add_like(ad, OP_PAD, ps[lo], 1, &c, &xs, iattr);
}

/* x's pending contributions added to its gradient: padded ones merged
 * where they tile an axis, per-step products as one */
static void flush_pads(AdCtx *ad, int x) {
    int total = 0;
    for (int e = ad->pads[x]; e >= 0; e = ad->next[e])
        total++;
    if (!total)
        return;
    int *ps = base_xcalloc((size_t)total, sizeof(int)), *ms = base_xcalloc((size_t)total, sizeof(int));
    int count = 0, nm = 0;
    for (int e = ad->pads[x]; e >= 0; e = ad->next[e]) {
        if (ad->g->nodes[ad->pad[e]].op == OP_PAD)
            ps[count++] = ad->pad[e];
        else
            ms[nm++] = ad->pad[e];
    }
    ad->pads[x] = -1;
    for (int i = 0; i < count / 2; i++) { /* in the order they came */
        int t = ps[i];
        ps[i] = ps[count - 1 - i];
        ps[count - 1 - i] = t;
    }
    if (nm)
        sum_into(ad, x, merge_products(ad, ms, nm));
    free(ms);
    for (int i = 1; i < count; i++) /* insertion sort by axis, then start */
        for (int j = i; j > 0 && cmp_pad(ad->g, ps[j - 1], ps[j]) > 0; j--) {
            int t = ps[j];
            ps[j] = ps[j - 1];
            ps[j - 1] = t;
        }
    for (int lo = 0; lo < count;) {
        int hi = lo + 1;
        while (hi < count && pad_axis(ad->g, ps[hi]) == pad_axis(ad->g, ps[lo]) &&
               pad_start(ad->g, ps[hi]) == pad_start(ad->g, ps[hi - 1]) + pad_len(ad->g, ps[hi - 1]))
            hi++;
        sum_into(ad, x, merge_run(ad, x, ps, lo, hi));
        lo = hi;
    }
    free(ps);
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
    for (int i = 0; i < g->nparams; i++) /* before `claimed` is sized: this adds nodes */
        flush_pads(ad, g->params[i].node);
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
    AdCtx ad = {g, g->count, NULL, NULL, NULL, NULL, NULL, 0, 0, 0};
    ad.grad = base_xcalloc((size_t)g->count, sizeof(int));
    ad.needs = base_xcalloc((size_t)g->count, 1);
    ad.pads = base_xcalloc((size_t)g->count, sizeof(int));
    for (int v = 0; v < g->count; v++)
        ad.grad[v] = ad.pads[v] = -1;
    mark_needs(&ad);
    ad.grad[g->loss_train] = ad_const(&ad, 1.0, g->loss_train);
    for (int v = g->loss_train; v >= 0 && !ad.bad; v--) {
        if (g->nodes[v].dead || g->nodes[v].func != FN_TRAIN || !ad.needs[v])
            continue;
        flush_pads(&ad, v);
        const Node *n = &g->nodes[v];
        if (ad.grad[v] < 0)
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
    free(ad.pads);
    free(ad.next);
    free(ad.pad);
    return ad.bad ? -1 : 0;
}
