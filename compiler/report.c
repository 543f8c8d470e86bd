/*
 * report.c - `nngen --report`: what a network costs, before any C is
 * compiled. Like Keras's model.summary(): every named tensor with its kind
 * and shape and every parameter's count and bytes, then the bytes of the
 * model struct by category (and the arena the same network needs at -O0,
 * when compiled at -O2: the driver plans it too), the floating-point
 * operations of an inference and of a training step, and the flash and RAM
 * a microcontroller build needs, all read off the optimized, planned graph.
 * With freeze statements, the same figures for the network unfrozen (the
 * driver compiles it a second time) show what freezing saves.
 */
#include <string.h>

#include "nngen.h"

static void shape_text(char *buf, size_t cap, const Shape *s) {
    Buf b = {0};
    shape_print(&b, s);
    snprintf(buf, cap, "%s", b.data);
    buf_free(&b);
}

/* 1234567 -> "1,234,567", -1192 -> "-1,192" */
static const char *grouped(char *buf, size_t cap, double v) {
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        if (i && digits[i - 1] != '-' && (len - i) % 3 == 0) /* -896, not -,896 */
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
    fprintf(out, "  %-22s %-8s %-18s %12s %14s\n", name, kind, sh,
            params ? grouped(num, sizeof num, (double)params) : "", bytes);
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
        int is_output = ir_is_output(g, v);
        if (!n->dead && n->func == FN_INFER && (n->name || is_output))
            row(out, g, n->name ? n->name : "?",
                is_output            ? "output"
                : v == g->loss_infer ? "loss"
                                     : "value",
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

static long model_struct_bytes(const Graph *g, long word);

static void memory_table(FILE *out, const Graph *g, long params, long o0_arena) {
    char a[32], b[32];
    long buffers = buffer_floats(g), cparams = ir_param_scalars(g, IR_CONST), cbuffers = ir_buffer_scalars(g, IR_CONST);
    const char *state[OPTIM_MAX_STATE];
    int ns = g->infer_only ? 0 : optim_state(&g->opt, state);
    long grads = ir_param_scalars(g, IR_TRAINABLE), scratch, unplanned = unplanned_floats(g, &scratch);
    fprintf(out, "\nmemory (bytes, for up to %d samples per call):\n", g->max_batch);
    if (cparams && cparams < params)
        fprintf(out, "  %-22s %14s  (%s of them frozen, const data, not in the model struct: --weights)\n",
                "parameters", grouped(a, sizeof a, 4.0 * params), grouped(b, sizeof b, 4.0 * cparams));
    else
        fprintf(out, "  %-22s %14s%s\n", "parameters", grouped(a, sizeof a, 4.0 * params),
                cparams ? "  (const data, not in the model struct: --weights)" : "");
    fprintf(out, "  %-22s %14s%s\n", "gradients", grouped(a, sizeof a, 4.0 * grads),
            g->nfrozen && !g->infer_only ? "  (trainable parameters only)" : "");
    fprintf(out, "  %-22s %14s", "optimizer state", grouped(a, sizeof a, 4.0 * grads * ns));
    for (int k = 0; k < ns; k++)
        fprintf(out, "%s%s", k ? ", " : "  (", state[k]);
    fprintf(out, "%s\n", ns ? ")" : "");
    if (buffers)
        fprintf(out, "  %-22s %14s  (running statistics%s)\n", "buffers", grouped(a, sizeof a, 4.0 * buffers),
                cbuffers == buffers ? "; const data, not in the model struct: --weights"
                : cbuffers          ? "; the frozen ones const data: --weights"
                                    : "");
    fprintf(out, "  %-22s %14s  (one arena, planned by liveness; %s if every value had its own)\n",
            "activations + scratch", grouped(a, sizeof a, 4.0 * g->arena_floats),
            grouped(b, sizeof b, 4.0 * unplanned));
    if (scratch)
        fprintf(out, "  %-22s %14s  (the largest kernel scratch, inside the arena)\n", "  of which scratch",
                grouped(a, sizeof a, 4.0 * scratch));
    if (o0_arena >= 0) { /* -O2 can need a little more than -O0: a few networks at one sample */
        long saved = o0_arena - g->arena_floats;
        fprintf(out, "  %-22s %14s  (-O0: no fusion, no in-place reuse; -O2 %s %s%s)\n", "  arena at -O0",
                grouped(a, sizeof a, 4.0 * o0_arena), saved >= 0 ? "saves" : "needs",
                grouped(b, sizeof b, 4.0 * (double)(saved >= 0 ? saved : -saved)), saved >= 0 ? "" : " more");
    }
    fprintf(out, "  %-22s %14s  (sizeof the model struct on a 64-bit host, %s on a 32-bit target)\n", "total",
            grouped(a, sizeof a, (double)model_struct_bytes(g, 8)),
            grouped(b, sizeof b, (double)model_struct_bytes(g, 4)));
    if (model_struct_bytes(g, 4) > 2147483647L) /* PTRDIFF_MAX of ILP32: the largest object there */
        fprintf(out, "  warning: the model struct exceeds 2 GiB, the largest object a 32-bit target can hold: "
                     "this build fits 64-bit hosts only (a smaller --max-batch shrinks the arena)\n");
}

static double train_flops(const Graph *g, int batch) {
    int *order, count = plan_group(g, 1, &order);
    return sum_flops(g, order, count, batch);
}

static void flops_table(FILE *out, const Graph *g) {
    char a[32], b[32];
    int *order, count, *roots = arena_alloc(g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
    for (int i = 0; i < g->noutputs; i++)
        roots[i] = g->outputs[i].node;
    count = ir_schedule_roots(g, roots, g->noutputs, &order);
    fprintf(out, "\nfloating-point operations:\n");
    fprintf(out, "  %-22s %14s per sample, %s for %d samples\n", "inference",
            grouped(a, sizeof a, sum_flops(g, order, count, 1)),
            grouped(b, sizeof b, sum_flops(g, order, count, g->max_batch)), g->max_batch);
    if (g->infer_only || g->loss_train < 0)
        return;
    count = plan_group(g, 1, &order);
    fprintf(out, "  %-22s %14s for 1 sample, %s for %d samples\n", "training step",
            grouped(a, sizeof a, sum_flops(g, order, count, 1)),
            grouped(b, sizeof b, sum_flops(g, order, count, g->max_batch)), g->max_batch);
}

/* ---- firmware: flash and RAM ------------------------------------------------------ */

/* A C struct laid out member by member: offsets aligned, size rounded up
 * to the strictest member's alignment (what every ABI of interest does). */
typedef struct Layout {
    long size, align;
} Layout;

static void member(Layout *l, long size, long align) {
    l->size = (l->size + align - 1) / align * align + size;
    if (align > l->align)
        l->align = align;
}

/* sizeof(NET) as emit/api.c's emit_struct declares it, for pointers and
 * longs of `word` bytes (4: ILP32 such as arm-none-eabi, 8: LP64 hosts) */
static long model_struct_bytes(const Graph *g, long word) {
    Layout l = {0, 1};
    const char *state[OPTIM_MAX_STATE];
    int training = !g->infer_only && g->loss_train >= 0;
    long params = ir_param_scalars(g, IR_WRITABLE), trainable = ir_param_scalars(g, IR_TRAINABLE);
    if (params) {
        member(&l, 4 * params, 4); /* param (without the const ones of --weights) */
        if (training && trainable) {
            member(&l, 4 * trainable, 4); /* grad: trainable parameters only */
            for (int k = optim_state(&g->opt, state); k > 0; k--)
                member(&l, 4 * trainable, 4);
        }
    }
    long buffers = ir_buffer_scalars(g, IR_WRITABLE);
    if (buffers)
        member(&l, 4 * buffers, 4); /* buffer (const data with --weights) */
    member(&l, 4 * (g->arena_floats > 0 ? g->arena_floats : 1), 4);
    if (g->uses_rng && training)
        member(&l, 16, 8); /* rng: two uint64_t */
    if (g->nports)
        member(&l, word * g->nports, word); /* io: one pointer per port */
    if (training) {
        double init;
        member(&l, 8, 8); /* double lr */
        if (optim_scalar(&g->opt, &init))
            member(&l, 8, 8); /* the optimizer's double (nadam's mu_product) */
        if (g->sched.kind != SCHED_NONE)
            member(&l, 24, 8);  /* sched: three doubles */
        member(&l, word, word); /* long step */
        member(&l, word, word); /* long epoch */
        member(&l, 4, 4);       /* float loss */
    }
    member(&l, 4, 4); /* int n */
    if (training)
        member(&l, 4, 4); /* int phase */
    return (l.size + l.align - 1) / l.align * l.align;
}

/* Scalars of a training build with --weights that net.c holds as start
 * values (the file's values of tensors in the model struct, NET_init
 * copies them): flash too. */
static long start_scalars(const Graph *g) {
    long n = 0;
    if (!g->weights || g->infer_only)
        return 0;
    for (int i = 0; i < g->nparams; i++)
        if (g->weights[i] && !ir_param_const(g, &g->params[i]))
            n += shape_numel(&g->nodes[g->params[i].node].shape);
    for (int i = 0; i < g->nbuffers; i++)
        if (g->buffer_values[i] && !ir_buffer_const(g, &g->buffers[i]))
            n += shape_numel(&g->nodes[g->buffers[i].node].shape);
    return n;
}

/* Flash: the parameters and buffers when --weights embeds them (code size is the C
 * compiler's business). RAM: the model struct, all the network's memory.
 * tests/firmware checks both against arm-none-eabi-size of a real build. */
static void firmware_table(FILE *out, const Graph *g) {
    char a[32], b[32], c[32];
    fprintf(out, "\nfirmware (a 32-bit target such as a Cortex-M; code size depends on the compiler):\n");
    long params = ir_param_scalars(g, IR_CONST), buffers = ir_buffer_scalars(g, IR_CONST), start = start_scalars(g);
    const char *which = g->infer_only ? "" : "frozen ";
    if (start) { /* a training build with --weights that starts tensors from the file */
        char d[32];
        fprintf(out,
                "  %-22s %14s  (nngen --weights: %s of %sparameters%s%s%s, const data; %s of start values "
                "NET_init copies)\n",
                "flash: const weights", grouped(a, sizeof a, 4.0 * (params + buffers + start)),
                grouped(b, sizeof b, 4.0 * params), which, buffers ? " and " : "",
                buffers ? grouped(d, sizeof d, 4.0 * buffers) : "", buffers ? " of buffers" : "",
                grouped(c, sizeof c, 4.0 * start));
    } else if (g->weights && buffers)
        fprintf(out, "  %-22s %14s  (nngen --weights: %s of %sparameters, %s of buffers, as const data)\n",
                "flash: const weights", grouped(a, sizeof a, 4.0 * (params + buffers)),
                grouped(b, sizeof b, 4.0 * params), which, grouped(c, sizeof c, 4.0 * buffers));
    else if (g->weights)
        fprintf(out, "  %-22s %14s  (nngen --weights: the %sparameters as const data)\n", "flash: const weights",
                grouped(a, sizeof a, 4.0 * params), which);
    else
        fprintf(out, "  %-22s %14s  (the parameters live in the model struct; --weights puts them in flash)\n",
                "flash: const weights", "0");
    fprintf(out, "  %-22s %14s  (sizeof the model struct on a 32-bit target, %s on a 64-bit host)\n",
            "RAM: model struct", grouped(a, sizeof a, (double)model_struct_bytes(g, 4)),
            grouped(b, sizeof b, (double)model_struct_bytes(g, 8)));
}

void report_cost(const Graph *g, ReportCost *out) {
    out->struct32 = model_struct_bytes(g, 4);
    out->arena_floats = g->arena_floats;
    out->trainable = ir_param_scalars(g, IR_TRAINABLE);
    out->train_flops = g->infer_only || g->loss_train < 0 ? 0 : train_flops(g, 1);
}

/* freeze: what the frozen parameters save against the same network unfrozen */
static void freeze_table(FILE *out, const Graph *g, const ReportCost *unfrozen) {
    char a[32], b[32], c[32];
    ReportCost now;
    if (!g->nfrozen || !unfrozen || g->infer_only)
        return;
    report_cost(g, &now);
    fprintf(out, "\nfreeze (%d of %d parameter tensors frozen), against the same network unfrozen:\n", g->nfrozen,
            g->nparams);
    fprintf(out, "  %-22s %14s  (of %s; NET_TRAINABLE_SCALARS)\n", "trainable scalars",
            grouped(a, sizeof a, (double)now.trainable), grouped(b, sizeof b, (double)unfrozen->trainable));
    fprintf(out, "  %-22s %14s  (unfrozen %s: saves %s)\n", "RAM: model struct",
            grouped(a, sizeof a, (double)now.struct32), grouped(b, sizeof b, (double)unfrozen->struct32),
            grouped(c, sizeof c, (double)(unfrozen->struct32 - now.struct32)));
    fprintf(out, "  %-22s %14s  (unfrozen %s: saves %s)\n", "activations + scratch",
            grouped(a, sizeof a, 4.0 * now.arena_floats), grouped(b, sizeof b, 4.0 * unfrozen->arena_floats),
            grouped(c, sizeof c, 4.0 * (unfrozen->arena_floats - now.arena_floats)));
    fprintf(out, "  %-22s %14s  (unfrozen %s, for 1 sample)\n", "training step flops",
            grouped(a, sizeof a, now.train_flops), grouped(b, sizeof b, unfrozen->train_flops));
}

int report_write(FILE *out, const Graph *g, long o0_arena_floats, const ReportCost *unfrozen) {
    fprintf(out, "network %s%s\n\n", g->net, g->infer_only ? " (inference only)" : "");
    long params = tensor_table(out, g);
    char a[32];
    fprintf(out, "  total parameters: %s\n", grouped(a, sizeof a, (double)params));
    memory_table(out, g, params, o0_arena_floats);
    flops_table(out, g);
    firmware_table(out, g);
    freeze_table(out, g, unfrozen);
    return 0;
}
