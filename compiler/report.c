/*
 * report.c - `nngen --report`: what a network costs, before any C is
 * compiled. Like Keras's model.summary(): every named tensor with its kind
 * and shape and every parameter's count and bytes, then the bytes of the model struct
 * by category and the floating-point operations of an inference and of a
 * training step, all read off the optimized, planned graph; the arena the
 * same network needs at -O0 (when compiled at -O2: the driver plans it too).
 */
#include <string.h>

#include "nngen.h"

static void shape_text(char *buf, size_t cap, const Shape *s) {
    Buf b = {0};
    shape_print(&b, s);
    snprintf(buf, cap, "%s", b.data);
    buf_free(&b);
}

/* 1234567 -> "1,234,567" */
static const char *grouped(char *buf, size_t cap, double v) {
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static void row(FILE *out, const Graph *g, const char *name, const char *kind, const Shape *s, long params) {
    char sh[64], num[32], bytes[32];
    shape_text(sh, sizeof sh, s);
    grouped(bytes, sizeof bytes, 4.0 * (double)shape_numel(s) * (s->batched ? g->max_batch : 1));
    fprintf(out, "  %-22s %-8s %-18s %12s %14s\n", name, kind, sh, params ? grouped(num, sizeof num, (double)params) : "",
            bytes);
}

/* inputs, targets, parameters, then the named values of inference */
static long tensor_table(FILE *out, const Graph *g) {
    long total = 0;
    fprintf(out, "  %-22s %-8s %-18s %12s %14s\n", "tensor", "kind", "shape", "parameters", "bytes");
    for (int i = 0; i < g->nports; i++) {
        const Port *p = &g->ports[i];
        row(out, g, p->name, p->is_class ? "class" : p->is_target ? "target" : "input", &p->shape, 0);
    }
    for (int i = 0; i < g->nparams; i++) {
        const Shape *s = &g->nodes[g->params[i].node].shape;
        row(out, g, g->params[i].name, "param", s, shape_numel(s));
        total += shape_numel(s);
    }
    for (int i = 0; i < g->nbuffers; i++) /* running statistics: state, not parameters */
        row(out, g, g->buffers[i].name, "buffer", &g->nodes[g->buffers[i].node].shape, 0);
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        int is_output = 0;
        for (int i = 0; i < g->noutputs; i++)
            is_output |= g->outputs[i].node == v;
        if (!n->dead && n->func == FN_INFER && (n->name || is_output))
            row(out, g, n->name ? n->name : "?", is_output ? "output" : v == g->loss_infer ? "loss" : "value",
                &n->shape, 0);
    }
    return total;
}

static double sum_flops(const Graph *g, const int *order, int count, int batch) {
    double f = 0;
    for (int i = 0; i < count; i++)
        f += op_flops(g, &g->nodes[order[i]], batch);
    return f;
}

/* what every arena value would take with a slot of its own */
static long unplanned_floats(const Graph *g, long *scratch) {
    long total = 0;
    *scratch = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead || n->storage != STO_ARENA)
            continue;
        total += shape_numel(&n->shape) * (n->shape.batched ? g->max_batch : 1);
        if (n->scratch > *scratch)
            *scratch = n->scratch;
    }
    return total;
}

static long buffer_floats(const Graph *g) {
    long n = 0;
    for (int i = 0; i < g->nbuffers; i++)
        n += shape_numel(&g->nodes[g->buffers[i].node].shape);
    return n;
}

static void memory_table(FILE *out, const Graph *g, long params, long o0_arena) {
    char a[32], b[32];
    long buffers = buffer_floats(g);
    const char *state[4];
    int ns = g->infer_only ? 0 : optim_state(&g->opt, state);
    long grads = g->infer_only ? 0 : params, scratch, unplanned = unplanned_floats(g, &scratch);
    fprintf(out, "\nmemory (bytes, for up to %d samples per call):\n", g->max_batch);
    fprintf(out, "  %-22s %14s\n", "parameters", grouped(a, sizeof a, 4.0 * params));
    fprintf(out, "  %-22s %14s\n", "gradients", grouped(a, sizeof a, 4.0 * grads));
    fprintf(out, "  %-22s %14s", "optimizer state", grouped(a, sizeof a, 4.0 * params * ns));
    for (int k = 0; k < ns; k++)
        fprintf(out, "%s%s", k ? ", " : "  (", state[k]);
    fprintf(out, "%s\n", ns ? ")" : "");
    if (buffers)
        fprintf(out, "  %-22s %14s  (running statistics)\n", "buffers", grouped(a, sizeof a, 4.0 * buffers));
    fprintf(out, "  %-22s %14s  (one arena, planned by liveness; %s if every value had its own)\n",
            "activations + scratch", grouped(a, sizeof a, 4.0 * g->arena_floats),
            grouped(b, sizeof b, 4.0 * unplanned));
    if (scratch)
        fprintf(out, "  %-22s %14s  (the largest kernel scratch, inside the arena)\n", "  of which scratch",
                grouped(a, sizeof a, 4.0 * scratch));
    if (o0_arena >= 0)
        fprintf(out, "  %-22s %14s  (-O0: no fusion, no in-place reuse; -O2 saves %s)\n", "  arena at -O0",
                grouped(a, sizeof a, 4.0 * o0_arena), grouped(b, sizeof b, 4.0 * (o0_arena - g->arena_floats)));
    fprintf(out, "  %-22s %14s  (the model struct, without padding)\n", "total",
            grouped(a, sizeof a, 4.0 * ((double)params * (1 + ns) + grads + buffers + g->arena_floats) + 64));
}

static void flops_table(FILE *out, const Graph *g) {
    char a[32], b[32];
    int *order, count, *roots = arena_alloc(g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
    for (int i = 0; i < g->noutputs; i++)
        roots[i] = g->outputs[i].node;
    count = ir_schedule_roots(g, roots, g->noutputs, &order);
    fprintf(out, "\nfloating-point operations:\n");
    fprintf(out, "  %-22s %14s per sample, %s for %d samples\n", "inference", grouped(a, sizeof a, sum_flops(g, order, count, 1)),
            grouped(b, sizeof b, sum_flops(g, order, count, g->max_batch)), g->max_batch);
    if (g->infer_only || g->loss_train < 0)
        return;
    count = plan_group(g, 1, &order);
    fprintf(out, "  %-22s %14s for 1 sample, %s for %d samples\n", "training step",
            grouped(a, sizeof a, sum_flops(g, order, count, 1)),
            grouped(b, sizeof b, sum_flops(g, order, count, g->max_batch)), g->max_batch);
}

int report_write(FILE *out, const Graph *g, long o0_arena_floats) {
    fprintf(out, "network %s%s\n\n", g->net, g->infer_only ? " (inference only)" : "");
    long params = tensor_table(out, g);
    char a[32];
    fprintf(out, "  total parameters: %s\n", grouped(a, sizeof a, (double)params));
    memory_table(out, g, params, o0_arena_floats);
    flops_table(out, g);
    return 0;
}
