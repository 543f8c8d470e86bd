/*
 * plan.c - storage for every node, and C names.
 *
 *   parameters           struct members  m->param.W1
 *   their gradients      struct members  m->grad.W1
 *   buffers              struct members  m->buffer.bn_running_mean
 *   inputs and targets   the caller's pointers, kept in m->io
 *   scalar constants     literals
 *   views (reshape)      their input's storage
 *   everything else      one arena, m->arena, at planned offsets
 *
 * The arena serves two groups that never run interleaved: inference
 * (NET_forward and NET_loss: the nodes of the outputs and of the loss) and
 * training (forward, backward, update, in that order). Each group is laid
 * out from offset 0; within a group a value occupies its slot from its
 * definition to its last use (a view's uses count for its input), and slots
 * whose lifetimes do not overlap share memory (largest slot first, each at
 * the lowest offset free over its lifetime). Values that the
 * caller reads after the call (outputs, the loss) live to the group's end.
 * A kernel's scratch memory (its op's scratch hook) is a slot that lives
 * only at the node's own position. Fused nodes (fuse.c) have no storage:
 * they are temporaries of their group's loop, and everything they read is
 * read where the group is emitted; a kernel's epilogue result aliases the
 * kernel's output. In-place (not at -O0): an elementwise node or group whose
 * operand of the same shape dies there takes that operand's slot (each
 * element is read before it is written, at the same index).
 * Slots hold up to NET_MAX_BATCH samples and are 16-float aligned.
 */
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

#define PLAN_ALIGN 16

const Param *plan_param_of(const Graph *g, int node) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].node == node)
            return &g->params[i];
    return NULL;
}

const Buffer *plan_buffer_of(const Graph *g, int node) {
    for (int i = 0; i < g->nbuffers; i++)
        if (g->buffers[i].node == node)
            return &g->buffers[i];
    return NULL;
}

static const Param *param_of_grad(const Graph *g, int node) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].grad == node)
            return &g->params[i];
    return NULL;
}

int plan_group(const Graph *g, int train, int **out) {
    if (!train) {
        int *roots = arena_alloc(g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
        int nroots = 0;
        for (int i = 0; i < g->noutputs; i++)
            roots[nroots++] = g->outputs[i].node;
        if (g->loss_infer >= 0)
            roots[nroots++] = g->loss_infer;
        return ir_schedule_roots(g, roots, nroots, out);
    }
    int *order = arena_alloc(g->arena, sizeof(int) * ((size_t)g->count + 1));
    int count = 0;
    for (Func f = FN_TRAIN; f <= FN_UPDATE; f++)
        for (int v = 0; v < g->count; v++)
            if (!g->nodes[v].dead && g->nodes[v].func == f)
                order[count++] = v;
    *out = order;
    return count;
}

/* ---- names --------------------------------------------------------------------- */

/* A DSL name as a C identifier: dots become underscores; a name that is a C
 * keyword, starts with "nn", or is one of the names the emitted kernels
 * declare or call gets a '_' (kernels may declare only names of this list). */
static const char *c_ident(Arena *a, const char *name) {
    /* every local name the emitters declare, and the C names they call */
    static const char *const taken[] = {
        "m", "n", "i", "i0", "i1", "i2", "i3", "i4", "j", "k", "o", "r", "b", "p", "g", "d", "t", "z",
        "acc", "ad", "base", "bc2_sqrt", "count", "dot", "gi", "lp", "lq", "lr", "lse", "mx", "rows",
        "scale", "step_size", "sum", "tsum", "zr", "bytes", "rng", "seed", "path", "classes",
        "momentum", "adam_m", "adam_v", "adam_vmax", "expf", "logf", "tanhf", "sqrtf", "fabsf", "powf",
        "erff", "expm1f", "log1pf", "pow", "sqrt", "isfinite", "offsetof", "size_t", "int32_t",
        "uint32_t", "uint64_t", "NULL", "NAN", "INFINITY",
        /* the other optimizers (ops/adaptive.c) */
        "adagrad_sum", "rmsprop_sq", "rmsprop_buf", "adadelta_sq", "adadelta_acc", "adamax_inf", "avg",
        "delta", "decay", "decayed", "ag", "denom", "clr", "bc2", "mu", "mu_next", "mu_product_next",
        "c_grad", "c_avg",
        /* the other losses (ops/loss_more.c) */
        "tt", "sh", "yr", "dr", "hv", "sinhf",
        /* the layers beyond dense (ops/glu.c, maxout.c, dropout.c, batchnorm.c) */
        "ia", "ib", "iy", "nnrt_rng", "nnrt_rng_uniform",
        /* fused GEMM epilogues and --blas=openblas (passes/fuse.c, ops/matmul.c) */
        "ctx", "cols", "j0", "cblas_sgemm", "CblasRowMajor", "CblasNoTrans", "CblasTrans"};
    char *s = arena_strdup(a, name);
    for (char *c = s; *c; c++)
        if (*c == '.')
            *c = '_';
    int clash = lower_is_c_keyword(s) || strncmp(s, "nn", 2) == 0;
    for (size_t i = 0; i < sizeof taken / sizeof taken[0] && !clash; i++)
        clash = strcmp(s, taken[i]) == 0;
    return clash ? arena_printf(a, "%s_", s) : s;
}

/* Parameters' C names: dotted names flattened; a clash gets the table index. */
static void name_params(Graph *g) {
    for (int i = 0; i < g->nparams; i++) {
        Param *p = &g->params[i];
        p->cname = c_ident(g->arena, p->name);
        for (int j = 0; j < i; j++)
            if (strcmp(g->params[j].cname, p->cname) == 0)
                p->cname = arena_printf(g->arena, "%s_%d", p->cname, i);
    }
    for (int i = 0; i < g->nports; i++) {
        Port *p = &g->ports[i];
        p->cname = c_ident(g->arena, p->name); /* "n" and "n_" both give n_ */
        for (int j = 0; j < i; j++)
            if (strcmp(g->ports[j].cname, p->cname) == 0)
                p->cname = arena_printf(g->arena, "%s_%d", p->cname, i);
    }
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i].cname = g->outputs[i].name; /* only ever part of a longer name */
    for (int i = 0; i < g->nbuffers; i++) { /* members of m->buffer, a namespace of their own */
        Buffer *b = &g->buffers[i];
        b->cname = c_ident(g->arena, b->name);
        for (int j = 0; j < i; j++)
            if (strcmp(g->buffers[j].cname, b->cname) == 0)
                b->cname = arena_printf(g->arena, "%s_%d", b->cname, i);
    }
}

/* A set of names, open addressing (the names live in the graph's arena). */
typedef struct NameSet {
    const char **slot;
    int cap;
} NameSet;

static unsigned name_hash(const char *s) {
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Adds name; returns 0 if it was already there. */
static int nameset_add(NameSet *set, const char *name) {
    unsigned i = name_hash(name) & (unsigned)(set->cap - 1);
    while (set->slot[i]) {
        if (strcmp(set->slot[i], name) == 0)
            return 0;
        i = (i + 1) & (unsigned)(set->cap - 1);
    }
    set->slot[i] = name;
    return 1;
}

/* Names the arena nodes of one group (one generated function's locals):
 * the statement's name, d_NAME for a gradient, else v<id>; a name taken
 * already in the group gets _<id>. Port names are taken from the start. */
static void name_group(Graph *g, const int *order, int count) {
    NameSet set = {NULL, 16};
    while (set.cap < 2 * (count + g->nports) + 2)
        set.cap *= 2;
    set.slot = base_xcalloc((size_t)set.cap, sizeof *set.slot);
    for (int i = 0; i < g->nports; i++)
        nameset_add(&set, g->ports[i].cname);
    for (int i = 0; i < count; i++) {
        Node *n = &g->nodes[order[i]];
        if (n->storage != STO_ARENA)
            continue;
        const char *base;
        const Node *src = n->epilogue >= 0 ? &g->nodes[n->epilogue] : n; /* it holds that value last */
        if (src->name)
            base = c_ident(g->arena, src->name);
        else if (src->grad_of >= 0 && g->nodes[src->grad_of].name)
            base = arena_printf(g->arena, "d_%s", c_ident(g->arena, g->nodes[src->grad_of].name));
        else
            base = arena_printf(g->arena, "v%d", n->id);
        if (!nameset_add(&set, base)) {
            base = arena_printf(g->arena, "%s_%d", base, n->id);
            nameset_add(&set, base);
        }
        n->cname = n->ref = base;
    }
    free(set.slot);
}

/* ---- storage classes -------------------------------------------------------------- */

/* A constant that a kernel reads through a pointer (sum(1), mse(1, 2), a
 * view of one): a C99 compound literal, an array of one float. Elementwise
 * code inlines the value instead. */
static const char *const_ref(Graph *g, float v) {
    Buf b = {0};
    emit_float(&b, v);
    const char *ref = arena_printf(g->arena, "((float[1]){%s})", b.data);
    buf_free(&b);
    return ref;
}

static void assign_storage(Graph *g) {
    for (int v = 0; v < g->count; v++) {
        Node *n = &g->nodes[v];
        const Param *p;
        const Buffer *buf;
        if (n->dead)
            continue;
        const OpInfo *info = op_info(n->op);
        if (n->op == OP_PARAM && (p = plan_param_of(g, v))) {
            n->storage = STO_MEMBER;
            n->cname = p->cname;
            n->ref = arena_printf(g->arena, "m->param.%s", p->cname);
        } else if (n->op == OP_BUFFER && (buf = plan_buffer_of(g, v))) {
            n->storage = STO_MEMBER;
            n->cname = buf->cname;
            n->ref = arena_printf(g->arena, "m->buffer.%s", buf->cname);
        } else if ((p = param_of_grad(g, v))) {
            n->storage = STO_MEMBER;
            n->cname = p->cname;
            n->ref = arena_printf(g->arena, "m->grad.%s", p->cname);
        } else if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_LABEL) {
            for (int i = 0; i < g->nports; i++)
                if (g->ports[i].node == v)
                    n->cname = n->ref = g->ports[i].cname;
            n->storage = STO_ARG;
        } else if (n->op == OP_CONST) {
            n->storage = STO_CONST;
            n->ref = const_ref(g, n->f[0]);
        } else if (n->fuse >= 0 && g->nodes[n->fuse].epilogue == v) {
            n->storage = STO_ALIAS; /* a kernel's epilogue: written over its output */
            n->alias = n->fuse;
        } else if (n->fuse >= 0) {
            n->storage = STO_FUSED; /* a temporary of its group's loop */
        } else if (info->flags & OPF_VIEW) {
            n->storage = STO_ALIAS;
            n->alias = n->in[0];
        } else if (info->flags & OPF_EFFECT) {
            n->storage = STO_NONE;
        } else {
            n->storage = STO_ARENA;
        }
    }
}

/* the node whose storage v uses */
static int root_of(const Graph *g, int v) {
    while (g->nodes[v].storage == STO_ALIAS)
        v = g->nodes[v].alias;
    return v;
}

/* ---- offsets by liveness ------------------------------------------------------------ */

typedef struct Slot {
    int node;       /* the first node stored in it (or the kernel, for scratch) */
    int start, end; /* positions in the group's schedule */
    long size;      /* floats, aligned */
    int scratch;    /* the node's scratch, not its value */
    long offset;    /* decided by place */
} Slot;

static long slot_size(const Graph *g, const Node *n) {
    long size = shape_numel(&n->shape) * (n->shape.batched ? g->max_batch : 1);
    return (size + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

/* In-place: an elementwise node (or fused group) v reads each element of an
 * operand of its own shape at the index it writes, before writing it; when
 * that operand's storage dies at v, v may take the same slot. Returns the
 * root node whose slot v can share, or -1. */
static int inplace_candidate(const Graph *g, int v, const int *pos_end, int at) {
    const Node *n = &g->nodes[v];
    if (!(op_info(n->op)->flags & OPF_ELEMENTWISE) || n->fuse >= 0 || g->opt_level == 0)
        return -1;
    for (int m = v; m >= 0; m--) { /* the group: v and the nodes fused into it */
        const Node *mem = &g->nodes[m];
        if (m != v && (mem->dead || mem->fuse != v))
            continue;
        for (int k = 0; k < mem->nin; k++) {
            int x = mem->in[k], r = root_of(g, x);
            if (g->nodes[x].fuse == v || g->nodes[r].storage != STO_ARENA || pos_end[r] != at)
                continue;
            if (!shape_equal(&g->nodes[x].shape, &n->shape) || slot_size(g, &g->nodes[r]) < slot_size(g, n))
                continue;
            int same_everywhere = 1; /* every read of r in the group at v's shape */
            for (int m2 = v; m2 >= 0 && same_everywhere; m2--) {
                const Node *o = &g->nodes[m2];
                if (m2 != v && (o->dead || o->fuse != v))
                    continue;
                for (int k2 = 0; k2 < o->nin; k2++)
                    if (root_of(g, o->in[k2]) == r && !shape_equal(&g->nodes[o->in[k2]].shape, &n->shape))
                        same_everywhere = 0;
            }
            if (same_everywhere)
                return r;
        }
    }
    return -1;
}

/* first fit among the slots already placed whose lifetimes overlap s */
static long place(const Slot *placed, int nplaced, const Slot *s) {
    long offset = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int i = 0; i < nplaced; i++) {
            const Slot *o = &placed[i];
            int overlap_time = o->start <= s->end && s->start <= o->end;
            if (overlap_time && o->offset < offset + s->size && offset < o->offset + o->size) {
                offset = o->offset + o->size;
                moved = 1;
            }
        }
    }
    return offset;
}

/* placement order: largest first (fewer holes), then earliest, then id */
static int slot_cmp(const void *a, const void *b) {
    const Slot *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->scratch != y->scratch)
        return x->scratch - y->scratch;
    return x->node - y->node;
}

/* Lifetimes (a fused node's reads happen where its group runs; outputs and
 * the loss live to the end), one slot per arena value - a value written in
 * place over an operand dying there joins that operand's slot - and one per
 * kernel scratch, live at its node only; then offsets, largest slot first,
 * each at the lowest offset free over its lifetime. Returns the top. */
static long plan_offsets(Graph *g, const int *order, int count) {
    int *pos_start = base_xcalloc((size_t)g->count, sizeof(int)), *pos_end = base_xcalloc((size_t)g->count, sizeof(int));
    int *pos = base_xcalloc((size_t)g->count, sizeof(int)), *slot_of = base_xcalloc((size_t)g->count, sizeof(int));
    Slot *slots = base_xcalloc(2 * (size_t)count + 1, sizeof(Slot));
    long top = 0;
    int nslots = 0;
    for (int v = 0; v < g->count; v++)
        pos_start[v] = pos_end[v] = pos[v] = slot_of[v] = -1;
    for (int i = 0; i < count; i++)
        pos[order[i]] = i;
    for (int i = 0; i < count; i++) {
        const Node *n = &g->nodes[order[i]];
        int at = pos[fuse_top(g, order[i])]; /* a fused node runs where its group is emitted */
        if (n->storage == STO_ARENA)
            pos_start[order[i]] = pos_end[order[i]] = at;
        for (int k = 0; k < n->nin; k++) {
            int r = root_of(g, n->in[k]);
            if (g->nodes[r].storage == STO_ARENA && pos_start[r] >= 0 && at > pos_end[r])
                pos_end[r] = at;
        }
    }
    for (int i = 0; i < g->noutputs; i++) /* read by the caller after the call */
        pos_end[root_of(g, g->outputs[i].node)] = count;
    for (int i = 0; i < count; i++) {
        int v = order[i];
        if (g->nodes[v].storage != STO_ARENA)
            continue;
        Slot s = {v, pos_start[v], pos_end[v] < 0 ? count : pos_end[v], slot_size(g, &g->nodes[v]), 0, 0};
        if (v == g->loss_infer || v == g->loss_train)
            s.end = count;
        int r = inplace_candidate(g, v, pos_end, s.start);
        if (r >= 0 && slot_of[r] >= 0 && slots[slot_of[r]].end == s.start) {
            slot_of[v] = slot_of[r]; /* in place: the slot lives on as v */
            slots[slot_of[r]].end = s.end;
        } else {
            slot_of[v] = nslots;
            slots[nslots++] = s;
        }
    }
    for (int i = 0; i < count; i++) { /* scratch: live at its node only */
        Node *n = &g->nodes[order[i]];
        const OpInfo *info = op_info(n->op);
        n->scratch = info->scratch ? info->scratch(g, n) : 0;
        if (n->scratch <= 0)
            continue;
        Slot s = {order[i], pos[order[i]], pos[order[i]], (n->scratch + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN, 1, 0};
        slots[nslots++] = s;
    }
    /* place in size order, then map the slots back to their nodes */
    int *rank = base_xcalloc((size_t)nslots + 1, sizeof(int));
    Slot *sorted = base_xcalloc((size_t)nslots + 1, sizeof(Slot));
    memcpy(sorted, slots, sizeof(Slot) * (size_t)nslots);
    qsort(sorted, (size_t)nslots, sizeof(Slot), slot_cmp);
    for (int i = 0; i < nslots; i++) {
        sorted[i].offset = place(sorted, i, &sorted[i]);
        if (sorted[i].offset + sorted[i].size > top)
            top = sorted[i].offset + sorted[i].size;
    }
    for (int i = 0; i < nslots; i++) {
        const Slot *p = &sorted[i];
        if (p->scratch)
            g->nodes[p->node].scratch_offset = p->offset;
        else
            slots[slot_of[p->node]].offset = p->offset;
    }
    for (int i = 0; i < count; i++)
        if (slot_of[order[i]] >= 0)
            g->nodes[order[i]].offset = slots[slot_of[order[i]]].offset;
    free(rank);
    free(sorted);
    free(pos_start);
    free(pos_end);
    free(pos);
    free(slot_of);
    free(slots);
    return top;
}

int pass_plan(Graph *g) {
    name_params(g);
    assign_storage(g);
    long top = 0;
    for (int train = 0; train <= 1; train++) {
        int *order;
        int count = plan_group(g, train, &order);
        name_group(g, order, count);
        long t = plan_offsets(g, order, count);
        if (t > top)
            top = t;
    }
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && g->nodes[v].storage == STO_ALIAS)
            g->nodes[v].ref = g->nodes[root_of(g, v)].ref;
    g->arena_floats = top;
    return 0;
}
