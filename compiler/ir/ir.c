/*
 * ir.c - the graph: nodes in one growable array, addressed by integer ids.
 *
 * Invariants:
 *   - a node's inputs have smaller ids than the node (ids are a topological
 *     order); passes that rewrite keep this by only ever pointing a node at
 *     older nodes or by appending new ones after everything they read;
 *   - a removed node is marked dead, never freed: ids stay stable, and dumps
 *     print the same names (v12) before and after a pass;
 *   - leaves (inputs, params, constants) belong to no function (FN_NONE);
 *     every other node belongs to exactly one.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

void ir_init(Graph *g, Arena *a) {
    memset(g, 0, sizeof *g);
    g->arena = a;
    g->loss_infer = -1;
    g->loss_train = -1;
    g->max_batch = 64;
}

void ir_free(Graph *g) {
    free(g->nodes);
    g->nodes = NULL;
    g->count = g->cap = 0;
}

static void grow_nodes(Graph *g) {
    int cap = g->cap ? g->cap * 2 : 256;
    g->nodes = base_xrealloc(g->nodes, (size_t)cap * sizeof *g->nodes);
    g->cap = cap;
}

/* Appends a node; its shape is set later by its op's shape rule. */
int ir_add(Graph *g, Op op, Func fn, Loc loc, int nin, const int *in) {
    if (g->count == g->cap)
        grow_nodes(g);
    if (nin > NN_MAX_IN)
        nn_unreachable("node with %d inputs", nin);
    Node *n = &g->nodes[g->count];
    memset(n, 0, sizeof *n);
    n->id = g->count;
    n->op = op;
    n->func = (ir_op_flags(op) & OPF_LEAF) ? FN_NONE : fn;
    n->loc = loc;
    n->fuse = n->epilogue = -1;
    n->nin = nin;
    for (int i = 0; i < nin; i++) {
        if (in[i] < 0 || in[i] >= g->count)
            nn_unreachable("node input %d out of range", in[i]);
        n->in[i] = in[i];
    }
    n->grad_of = -1;
    n->alias = -1;
    return g->count++;
}

Node *ir_node(Graph *g, int id) {
    if (id < 0 || id >= g->count)
        nn_unreachable("node id %d out of range", id);
    return &g->nodes[id];
}

const Node *ir_cnode(const Graph *g, int id) {
    if (id < 0 || id >= g->count)
        nn_unreachable("node id %d out of range", id);
    return &g->nodes[id];
}

/* ---- what ops.def says of each op to this library ---------------------- */

typedef struct OpRow {
    const char *name;
    unsigned flags;
    const char *attrs; /* the dump's attribute format (ops.def's last column) */
} OpRow;

static const OpRow op_rows[OP__COUNT] = {
#define OP(id, name, arity, flags, shape, grad, expr, emit, flops, scratch, attrs) {name, flags, attrs},
#include "ops.def"
#undef OP
};

static const OpRow *op_row(Op op) {
    if ((unsigned)op >= OP__COUNT)
        nn_unreachable("op %d out of range", (int)op);
    return &op_rows[op];
}

const char *ir_op_name(Op op) {
    return op_row(op)->name;
}

unsigned ir_op_flags(Op op) {
    return op_row(op)->flags;
}

/* ---- scheduling ---------------------------------------------------------- */

/* Marks the non-leaf cone of `id` (everything it reads, transitively). */
static void mark_cone(const Graph *g, int id, char *mark) {
    /* ids are topological, so one backward sweep from the root suffices */
    mark[id] = 1;
    for (int v = id; v >= 0; v--) {
        if (!mark[v])
            continue;
        const Node *n = &g->nodes[v];
        for (int k = 0; k < n->nin; k++)
            mark[n->in[k]] = 1;
    }
}

/* The nodes (non-leaf, live) needed for `roots`, in id order. */
int ir_schedule_roots(const Graph *g, const int *roots, int nroots, int **out) {
    char *mark = base_xcalloc((size_t)g->count + 1, 1);
    int *order = arena_alloc(g->arena, sizeof(int) * ((size_t)g->count + 1));
    int count = 0;
    for (int r = 0; r < nroots; r++)
        if (roots[r] >= 0)
            mark_cone(g, roots[r], mark);
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (mark[v] && !n->dead && !(ir_op_flags(n->op) & OPF_LEAF))
            order[count++] = v;
    }
    free(mark);
    *out = order;
    return count;
}

int ir_func_nodes(const Graph *g, Func fn, int **out) {
    int *order = arena_alloc(g->arena, sizeof(int) * ((size_t)g->count + 1));
    int count = 0;
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && g->nodes[v].func == fn)
            order[count++] = v;
    *out = order;
    return count;
}

int ir_schedule(const Graph *g, Func fn, int **out) {
    return ir_func_nodes(g, fn, out);
}

int *ir_use_counts(const Graph *g) {
    int *uses = arena_alloc(g->arena, sizeof(int) * ((size_t)g->count + 1));
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        for (int k = 0; k < n->nin; k++)
            uses[n->in[k]]++;
    }
    return uses;
}

/* ---- shapes ---------------------------------------------------------------- */

long shape_numel(const Shape *s) {
    long n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->dims[i];
    return n;
}

int shape_equal(const Shape *a, const Shape *b) {
    if (a->batched != b->batched || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* "[N, 3]", "[2, 3]", "[]" (a scalar), "[N]" (one scalar per sample) */
void shape_print(Buf *b, const Shape *s) {
    buf_putc(b, '[');
    if (s->batched)
        buf_puts(b, s->rank ? "N, " : "N");
    for (int i = 0; i < s->rank; i++)
        buf_printf(b, "%s%d", i ? ", " : "", s->dims[i]);
    buf_putc(b, ']');
}

/* ---- dump ------------------------------------------------------------------- */

static const char *func_name(Func f) {
    static const char *const names[FN__COUNT] = {"", "infer", "train", "backward", "update"};
    return names[f];
}

/* The digit after a placeholder letter: an index into f[] or i[]. */
static int attr_index(const char *p) {
    if (*p < '0' || *p > '7')
        nn_unreachable("bad attribute format near \"%s\"", p);
    return *p - '0';
}

/* Prints n's attributes by its op's format (ops.def's last column): text with
 * %f0 / %F0 / %d0 (f[0] as %g, %.9g, an integer), %i0 (i[0]) and ?i0(text) /
 * ?f0(text) (the text when i[0] / f[0] is not zero). */
static void dump_attrs(Buf *b, const Node *n) {
    for (const char *p = op_row(n->op)->attrs; *p; p++) {
        if (*p == '?' && (p[1] == 'i' || p[1] == 'f') && p[2] && p[3] == '(') {
            const char *end = strchr(p, ')');
            if (!end)
                nn_unreachable("unclosed ?%c( in the attributes of %s", p[1], ir_op_name(n->op));
            int k = attr_index(p + 2);
            if (p[1] == 'i' ? n->i[k] != 0 : n->f[k] != 0)
                buf_printf(b, "%.*s", (int)(end - p - 4), p + 4);
            p = end;
        } else if (*p == '%' && p[1]) {
            int k = attr_index(p + 2);
            switch (p[1]) {
            case 'f':
                buf_printf(b, "%g", n->f[k]);
                break;
            case 'F':
                buf_printf(b, "%.9g", n->f[k]);
                break;
            case 'd':
                buf_printf(b, "%d", (int)n->f[k]);
                break;
            case 'i':
                buf_printf(b, "%d", n->i[k]);
                break;
            default:
                nn_unreachable("bad attribute format %%%c", p[1]);
            }
            p += 2;
        } else
            buf_putc(b, *p);
    }
}

/* v12 = add v5, v9  [N, 3]  infer  moons.nn:11:13  ; a1 */
void ir_dump_node(Buf *b, const Graph *g, const Node *n) {
    (void)g;
    buf_printf(b, "v%d = %s", n->id, ir_op_name(n->op));
    for (int k = 0; k < n->nin; k++)
        buf_printf(b, "%s v%d", k ? "," : "", n->in[k]);
    dump_attrs(b, n);
    if (n->s)
        buf_printf(b, " \"%s\"", n->s);
    buf_puts(b, "  ");
    shape_print(b, &n->shape);
    if (n->func != FN_NONE)
        buf_printf(b, "  %s", func_name(n->func));
    if (n->loc.line)
        buf_printf(b, "  %s:%d:%d", diag_file(), n->loc.line, n->loc.col);
    if (n->fuse >= 0)
        buf_printf(b, "  fused>v%d", n->fuse);
    if (n->epilogue >= 0)
        buf_printf(b, "  epilogue v%d", n->epilogue);
    if (n->name)
        buf_printf(b, "  ; %s", n->name);
    else if (n->grad_of >= 0)
        buf_printf(b, "  ; d v%d", n->grad_of);
}

void ir_dump(FILE *out, const Graph *g) {
    Buf b = {0};
    buf_printf(&b, "# network %s: %d nodes\n", g->net ? g->net : "?", g->count);
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        ir_dump_node(&b, g, n);
        buf_putc(&b, '\n');
    }
    fwrite(b.data, 1, b.len, out);
    buf_free(&b);
}

/* " axis=0", " k=2", ...: a node's attributes as the IR dump writes them
 * (nngen graph labels nodes with them). */
void ir_node_attrs(Buf *b, const Node *n) {
    dump_attrs(b, n);
}
