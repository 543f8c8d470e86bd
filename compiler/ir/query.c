/*
 * query.c - what a node is to the network, asked of the graph's tables:
 * the parameter or buffer a leaf stands for, the parameter whose gradient
 * a node holds, the port a leaf reads, whether a node is an output or a
 * loss. Each fact is answered here once; passes, storage planning, the
 * emitter and the commands ask these functions instead of walking the
 * tables themselves.
 *
 * Every query scans a table (tens of entries) and changes nothing. The
 * answers follow the graph as passes rewrite it: outputs and losses are
 * re-pointed by pass_replace_uses, Param.grad never moves (no pass merges
 * a gradient into another node).
 */
#include "ir/ir.h"

const Param *ir_param_of(const Graph *g, int node) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].node == node)
            return &g->params[i];
    return NULL;
}

const Buffer *ir_buffer_of(const Graph *g, int node) {
    for (int i = 0; i < g->nbuffers; i++)
        if (g->buffers[i].node == node)
            return &g->buffers[i];
    return NULL;
}

const Port *ir_port_of(const Graph *g, int node) {
    for (int i = 0; i < g->nports; i++)
        if (g->ports[i].node == node)
            return &g->ports[i];
    return NULL;
}

const Param *ir_param_of_grad(const Graph *g, int v) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].grad == v)
            return &g->params[i];
    return NULL;
}

/* const data (net.c's NET_weights) rather than a member of the model
 * struct: every tensor of an inference-only build with --weights, the
 * frozen ones (frozen batchnorms' buffers) of a training build with --weights */
int ir_param_const(const Graph *g, const Param *p) {
    return g->weights && (g->infer_only || p->frozen);
}

int ir_buffer_const(const Graph *g, const Buffer *b) {
    return g->weights && (g->infer_only || b->frozen);
}

long ir_param_scalars(const Graph *g, int which) {
    long n = 0;
    for (int i = 0; i < g->nparams; i++) {
        const Param *p = &g->params[i];
        int take = which == IR_ALL || (which == IR_TRAINABLE && !p->frozen && !g->infer_only) ||
                   (which == IR_WRITABLE && !ir_param_const(g, p)) || (which == IR_CONST && ir_param_const(g, p));
        if (take)
            n += shape_numel(&g->nodes[p->node].shape);
    }
    return n;
}

long ir_buffer_scalars(const Graph *g, int which) {
    long n = 0;
    for (int i = 0; i < g->nbuffers; i++) {
        const Buffer *b = &g->buffers[i];
        int take = which == IR_ALL || (which == IR_WRITABLE && !ir_buffer_const(g, b)) ||
                   (which == IR_CONST && ir_buffer_const(g, b));
        if (take)
            n += shape_numel(&g->nodes[b->node].shape);
    }
    return n;
}

int ir_is_param_grad(const Graph *g, int v) {
    return ir_param_of_grad(g, v) != NULL;
}

int ir_is_output(const Graph *g, int v) {
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i].node == v)
            return 1;
    return 0;
}

int ir_is_loss(const Graph *g, int v) {
    return v >= 0 && (v == g->loss_infer || v == g->loss_train);
}

/* root = output | loss | parameter gradient */
int ir_is_root(const Graph *g, int v) {
    return ir_is_output(g, v) || ir_is_loss(g, v) || ir_is_param_grad(g, v);
}
