/*
 * plan.c - storage for every node: where its value lives, never what the
 * C code calls it (emit/names.c names what plan placed).
 *
 *   parameters           struct members (STO_MEMBER)
 *   their gradients      struct members
 *   buffers              struct members
 *   inputs and targets   the caller's pointers, kept in the struct (STO_ARG)
 *   scalar constants     literals (STO_CONST)
 *   views (reshape)      their input's storage (STO_ALIAS)
 *   everything else      one arena at planned offsets (STO_ARENA)
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

/* ---- storage classes -------------------------------------------------------------- */

static void assign_storage(Graph *g) {
    for (int v = 0; v < g->count; v++) {
        Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        const OpInfo *info = op_info(n->op);
        if ((n->op == OP_PARAM && ir_param_of(g, v)) || (n->op == OP_BUFFER && ir_buffer_of(g, v)) ||
            ir_is_param_grad(g, v)) {
            n->storage = STO_MEMBER;
        } else if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_LABEL) {
            n->storage = STO_ARG;
        } else if (n->op == OP_CONST) {
            n->storage = STO_CONST;
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
    int *pos_start = base_xcalloc((size_t)g->count, sizeof(int)),
        *pos_end = base_xcalloc((size_t)g->count, sizeof(int));
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
        if (ir_is_loss(g, v))
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
        Slot s = {order[i], pos[order[i]], pos[order[i]], (n->scratch + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN, 1,
                  0};
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
    assign_storage(g);
    long top = 0;
    for (int train = 0; train <= 1; train++) {
        int *order;
        int count = plan_group(g, train, &order);
        long t = plan_offsets(g, order, count);
        if (t > top)
            top = t;
    }
    g->arena_floats = top;
    return 0;
}
