/*
 * emit.c - the C emitter's core: lines with an indent depth, literals,
 * storage references, broadcasting loop nests, and the per-function bodies
 * (one static function per group of nodes: forward, loss, training
 * forward, backward, update). api.c writes the header, the model
 * struct and the public API around them.
 *
 * Everything is written into memory buffers; main.c writes files only when
 * the whole compilation succeeded. Output depends on nothing but the graph
 * and the options (no time, no addresses), so it is byte-for-byte stable.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

/* ---- lines ---------------------------------------------------------------------- */

static void put_indent(Emit *e) {
    for (int i = 0; i < e->indent; i++)
        buf_puts(e->out, "    ");
}

/* --freestanding: generated code may call expf, logf, tanhf and sqrtf of
 * libm and nothing else; the runtime has replacements of the other maths
 * functions the emitters call (nn_runtime.h, "libm replacements"). Every
 * emitter writes such a call by the name emit_libm gives, one table for
 * every op: {libm's name, the runtime's or NULL when libm's is allowed,
 * the parameter list of a float function the hot loops call or NULL}.
 * A name not in the table stops the compiler: add it here (and to the
 * runtime) before an emitter writes it. */
static const char *const libm_names[][3] = {
    {"expf", NULL, "float"},
    {"logf", NULL, "float"},
    {"tanhf", NULL, "float"},
    {"sqrtf", NULL, "float"},
    {"fabsf", "nnrt_fabsf", "float"},
    {"expm1f", "nnrt_expm1f", "float"},
    {"log1pf", "nnrt_log1pf", "float"},
    {"erff", "nnrt_erff", "float"},
    {"powf", "nnrt_powf", "float, float"},
    {"sinhf", "nnrt_sinhf", "float"},
    {"sqrt", "nnrt_sqrt", NULL},
    {"pow", "nnrt_pow", NULL},
    {"floor", "nnrt_floor", NULL},
    {"fmod", "nnrt_fmod", NULL},
    {"cos", "nnrt_cos", NULL},
};

const char *emit_libm(const Emit *e, const char *name) {
    for (size_t i = 0; i < sizeof libm_names / sizeof libm_names[0]; i++)
        if (strcmp(libm_names[i][0], name) == 0)
            return e->o && e->o->freestanding && libm_names[i][1] ? libm_names[i][1] : name;
    nn_unreachable("maths function %s is not in emit.c's table", name);
}

/* After <math.h>: the float functions of libm the generated loops call,
 * declared const for gcc and clang. C99 lets them set errno (sqrtf of a
 * negative, expf's overflow), so with errno on, the default, the compilers
 * keep one scalar call per element and no vector loop: Adam's sqrtf costs
 * it 3x (docs/performance.md, "Flags"). Declared const, the call may not
 * write errno, exactly as under -fno-math-errno: sqrtf becomes the vector
 * instruction, with the same correctly rounded results. Nothing in the
 * output reads errno after a maths function, and the hot loops' square
 * roots are of non-negative numbers (second moments, variances + eps),
 * for which sqrtf never sets it. Only the functions the output calls by
 * libm's name: the runtime's replacements under --freestanding. The name
 * in parentheses is never a macro's; C++ (other exception specifications
 * in <math.h>) is left alone. */
void emit_libm_decls(Emit *e) {
    emit_line(e, "/* no errno read below: libm's float functions without errno, as -fno-math-errno (emit.c) */");
    emit_line(e, "#if defined(__GNUC__) && !defined(__cplusplus)");
    for (size_t i = 0; i < sizeof libm_names / sizeof libm_names[0]; i++)
        if (libm_names[i][2] && !(e->o->freestanding && libm_names[i][1]))
            emit_line(e, "float (%s)(%s) __attribute__((const));", libm_names[i][0], libm_names[i][2]);
    emit_line(e, "#endif");
}

void emit_line(Emit *e, const char *fmt, ...) {
    va_list ap;
    put_indent(e);
    va_start(ap, fmt);
    buf_vprintf(e->out, fmt, ap);
    va_end(ap);
    buf_putc(e->out, '\n');
}

/* "for (...) {", one level deeper */
void emit_open(Emit *e, const char *fmt, ...) {
    va_list ap;
    put_indent(e);
    va_start(ap, fmt);
    buf_vprintf(e->out, fmt, ap);
    va_end(ap);
    buf_puts(e->out, " {\n");
    e->indent++;
}

/* a bare block: "{", one level deeper */
void emit_begin(Emit *e) {
    emit_line(e, "{");
    e->indent++;
}

void emit_close(Emit *e) {
    e->indent--;
    emit_line(e, "}");
}

/* The shortest decimal that reads back as the same float, as a C float literal. */
void emit_float(Buf *b, double v) {
    char s[48];
    float f = (float)v;
    if (f != f) {
        buf_puts(b, "NAN");
        return;
    }
    if (f > 3.4028235e38f || f < -3.4028235e38f) {
        buf_puts(b, f > 0 ? "INFINITY" : "(-INFINITY)");
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, (double)f);
        if (strtof(s, NULL) == f)
            break;
    }
    buf_puts(b, s);
    if (!strpbrk(s, ".eE"))
        buf_puts(b, ".0");
    buf_putc(b, 'f');
}

const char *emit_float_lit(const Emit *e, double v) {
    Buf b = {0};
    emit_float(&b, v);
    const char *s = arena_strdup(e->g->arena, b.data);
    buf_free(&b);
    return s;
}

const char *emit_double_lit(const Emit *e, double v) {
    char s[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    return arena_printf(e->g->arena, "%s%s", s, strpbrk(s, ".en") ? "" : ".0");
}

/* ---- storage references --------------------------------------------------------------- */

/* the ref of node id, recording nothing (for comments) */
static const char *ref_text(const Emit *e, int id) {
    const char *ref = e->names->ref[id];
    if (!ref)
        nn_unreachable("v%d (%s) has no storage", id, op_info(e->g->nodes[id].op)->name);
    return ref;
}

/* Records that the code reads node id's storage: the owner's local (an
 * arena value, a caller's pointer) is then declared; that it reads a
 * batched tensor (whose loops run to n) when it is one; m when the storage
 * is a member of the model. */
static void record_use(const Emit *e, int id) {
    if (!e->uses)
        return;
    int r = id;
    while (e->g->nodes[r].storage == STO_ALIAS)
        r = e->g->nodes[r].alias;
    e->uses->node[r] = 1;
    e->uses->extent |= e->g->nodes[r].shape.batched;
    e->uses->model |= e->names->in_model[r];
}

const char *emit_ref(const Emit *e, int id) {
    const char *ref = ref_text(e, id);
    record_use(e, id);
    return ref;
}

void emit_reads_model(const Emit *e) {
    if (e->uses)
        e->uses->model = 1;
}

void emit_reads_batch(const Emit *e) {
    if (e->uses)
        e->uses->batch = 1;
}

const char *emit_param_cname(const Emit *e, int param_node) {
    const Param *p = ir_param_of(e->g, param_node);
    if (!p)
        nn_unreachable("v%d is not a parameter", param_node);
    return e->names->param[p - e->g->params];
}

const char *emit_scratch(const Emit *e, const Node *n) {
    if (n->scratch <= 0)
        nn_unreachable("v%d (%s) has no scratch", n->id, op_info(n->op)->name);
    emit_reads_model(e);
    return arena_printf(e->g->arena, "(m->arena + %ld)", n->scratch_offset);
}

/* One element of a scalar node: a literal for a constant, else ref[0]. */
void emit_elem(Buf *b, const Emit *e, int id) {
    const Node *n = &e->g->nodes[id];
    if (n->op == OP_CONST)
        emit_float(b, n->f[0]);
    else
        buf_printf(b, "%s[0]", emit_ref(e, id));
}

/* "(long)n * 6", "n", "6": the node's element count in this call */
void emit_count(Buf *b, const Graph *g, int id) {
    const Shape *s = &g->nodes[id].shape;
    long per = shape_numel(s);
    if (!s->batched)
        buf_printf(b, "%ld", per);
    else if (per == 1)
        buf_puts(b, "(long)n");
    else
        buf_printf(b, "(long)n * %ld", per);
}

/* ---- loop nests over broadcast operands ------------------------------------------------ */

#define LOOP_MAX (NN_MAX_RANK + 1)
#define OPS_MAX (FUSE_MAX_OPERANDS + 1) /* the output and a fused group's inputs (fuse.c's limit) */

typedef struct Nest {
    int ndims;
    long size[LOOP_MAX]; /* extent; times n when batch[d] */
    int batch[LOOP_MAX];
    long stride[OPS_MAX][LOOP_MAX]; /* per operand, 0 where it is broadcast */
} Nest;

/* Strides of operand s against the iteration shape (batch dim first). */
static void operand_strides(const Shape *iter, const Shape *s, long *stride) {
    int off = iter->batched;
    long st = 1;
    for (int d = iter->rank - 1; d >= 0; d--) {
        int od = d - (iter->rank - s->rank);
        long dim = od >= 0 ? s->dims[od] : 1;
        stride[d + off] = (od >= 0 && dim == iter->dims[d]) ? st : 0;
        if (od >= 0)
            st *= dim;
    }
    if (iter->batched)
        stride[0] = s->batched ? st : 0;
}

/* A sample's extent from which a batched nest keeps its batch loop apart:
 * `for (i0 < n) for (i1 < 6272)` rather than one loop to n * 6272. gcc -O2
 * vectorizes a loop only when its trip count is a known multiple of the
 * vector width (its "very cheap" cost model): the constant inner count can
 * be one, n * 6272 never is. Below it the samples are too small for the
 * inner loop to fill a vector, and one loop over all of them vectorizes
 * better at -O3. The order of the iterations is the same either way. */
#define NEST_SPLIT 16

/* Merges adjacent dims that every operand walks contiguously (or not at all),
 * and drops dims of extent 1; the batch dim stays apart when a sample has
 * NEST_SPLIT elements or more. */
static void collapse(Nest *t, int nops) {
    int w = 0;
    long sample = 1;
    for (int d = 0; d < t->ndims; d++)
        sample *= t->batch[d] ? 1 : t->size[d];
    for (int d = 0; d < t->ndims; d++) {
        if (t->size[d] == 1 && !t->batch[d])
            continue;
        int merge = w > 0;
        for (int k = 0; k < nops && merge; k++)
            merge = t->stride[k][w - 1] == t->stride[k][d] * t->size[d];
        if (merge && t->batch[d])
            merge = 0; /* the batch dim leads; it never follows another */
        if (merge && t->batch[w - 1] && sample >= NEST_SPLIT)
            merge = 0;
        if (merge) {
            t->size[w - 1] *= t->size[d];
            for (int k = 0; k < nops; k++)
                t->stride[k][w - 1] = t->stride[k][d];
        } else {
            t->size[w] = t->size[d];
            t->batch[w] = t->batch[d];
            for (int k = 0; k < nops; k++)
                t->stride[k][w] = t->stride[k][d];
            w++;
        }
    }
    t->ndims = w;
}

static void nest_build(Nest *t, const Shape *iter, int nops, const Shape *const *shapes) {
    memset(t, 0, sizeof *t);
    t->ndims = iter->rank + iter->batched;
    if (iter->batched) {
        t->size[0] = 1;
        t->batch[0] = 1;
    }
    for (int d = 0; d < iter->rank; d++)
        t->size[d + iter->batched] = iter->dims[d];
    for (int k = 0; k < nops; k++)
        operand_strides(iter, shapes[k], t->stride[k]);
    collapse(t, nops);
}

/* "i", "i0 * 3 + i1", "0" */
static void index_text(Buf *b, const Nest *t, int k) {
    int any = 0;
    for (int d = 0; d < t->ndims; d++) {
        long st = t->stride[k][d];
        if (!st)
            continue;
        const char *var = t->ndims == 1 ? "i" : (const char *[]){"i0", "i1", "i2", "i3", "i4"}[d];
        buf_printf(b, st == 1 ? "%s%s" : "%s%s * %ld", any ? " + " : "", var, st);
        any = 1;
    }
    if (!any)
        buf_putc(b, '0');
}

void emit_loops(Emit *e, const Shape *iter, int nops, const Shape *const *shapes, int written,
                void (*body)(Emit *, const char *const *, void *), void *ctx) {
    Nest t;
    if (nops > OPS_MAX)
        nn_unreachable("a loop nest over %d operands (at most %d)", nops, OPS_MAX);
    nest_build(&t, iter, nops, shapes);
    for (int d = 0; d < t.ndims; d++) {
        const char *var = t.ndims == 1 ? "i" : (const char *[]){"i0", "i1", "i2", "i3", "i4"}[d];
        if (d == t.ndims - 1 && written >= 0 && t.stride[written][d] != 0)
            emit_line(e, "NNRT_IVDEP");
        if (t.batch[d] && t.size[d] == 1)
            emit_open(e, "for (long %s = 0; %s < (long)n; %s++)", var, var, var);
        else if (t.batch[d])
            emit_open(e, "for (long %s = 0; %s < (long)n * %ld; %s++)", var, var, t.size[d], var);
        else
            emit_open(e, "for (long %s = 0; %s < %ld; %s++)", var, var, t.size[d], var);
    }
    Buf idx[OPS_MAX];
    const char *idxs[OPS_MAX] = {0};
    for (int k = 0; k < nops; k++) {
        memset(&idx[k], 0, sizeof idx[k]);
        index_text(&idx[k], &t, k);
        idxs[k] = idx[k].data;
    }
    body(e, idxs, ctx);
    for (int k = 0; k < nops; k++)
        buf_free(&idx[k]);
    for (int d = 0; d < t.ndims; d++)
        emit_close(e);
}

/* 1 when n's expression has a ?: (relu_grad's y > 0 ? dy : 0). A branch's
 * read is conditional in C, and gcc -O2 then keeps the loop scalar (it
 * would have to prove the read safe to make it unconditional): such
 * statements read their arrays into locals first (`const float nn_a1 =
 * y[i], nn_a2 = dy[i];`), which gcc vectorizes at any level. */
static int expr_selects(const Emit *e, const Node *n) {
    static const char *const names[NN_MAX_IN] = {"a", "b", "c", "d"};
    Buf t = {0};
    op_info(n->op)->expr(e, &t, n, names);
    int selects = t.data && strchr(t.data, '?') != NULL;
    buf_free(&t);
    return selects;
}

/* one local of a hoisting statement's declaration: "const float nn_a<k> =
 * ref[idx]" first, ", nn_a<k> = ref[idx]" after */
static void load_append(Buf *loads, int k, const char *ref, const char *idx) {
    buf_printf(loads, "%snn_a%d = %s[%s]", loads->len ? ", " : "const float ", k, ref, idx);
}

/* 1 when node n reads input k's values (not its shape alone) */
static int reads_value(const Node *n, int k) {
    return k > 0 || !(op_info(n->op)->flags & OPF_SHAPE_IN0);
}

/* out[i] = expr(in0[i'], in1[i''], ...) */
static void elementwise_body(Emit *e, const char *const *idx, void *ctx) {
    const Node *n = ctx;
    Buf args[NN_MAX_IN], expr = {0}, loads = {0};
    const char *argv[NN_MAX_IN];
    int hoist = expr_selects(e, n);
    for (int k = 0; k < n->nin; k++) {
        memset(&args[k], 0, sizeof args[k]);
        if (!reads_value(n, k))
            ; /* never read: no argument, no use recorded */
        else if (e->g->nodes[n->in[k]].op == OP_CONST)
            emit_float(&args[k], e->g->nodes[n->in[k]].f[0]);
        else if (hoist) {
            load_append(&loads, k, emit_ref(e, n->in[k]), idx[k + 1]);
            buf_printf(&args[k], "nn_a%d", k);
        } else
            buf_printf(&args[k], "%s[%s]", emit_ref(e, n->in[k]), idx[k + 1]);
        argv[k] = args[k].data;
    }
    if (loads.len)
        emit_line(e, "%s;", loads.data);
    buf_free(&loads);
    op_info(n->op)->expr(e, &expr, n, argv);
    const char *text = expr.data;
    size_t len = strlen(text); /* drop one pair of outer parentheses */
    if (len > 2 && text[0] == '(' && text[len - 1] == ')') {
        int depth = 0, outer = 1;
        for (size_t i = 0; i < len && outer; i++) {
            depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
            outer = !(depth == 0 && i + 1 < len);
        }
        if (outer) {
            expr.data[len - 1] = '\0';
            text++;
        }
    }
    emit_line(e, "%s[%s] = %s;", emit_ref(e, n->id), idx[0], text);
    for (int k = 0; k < n->nin; k++)
        buf_free(&args[k]);
    buf_free(&expr);
}

/* ---- fused groups (passes/fuse.c) ------------------------------------------------ */

/* A fused group: its members in id order (the root last), the values it
 * reads from outside, and how each operand is indexed. */
typedef struct Fused {
    const Node *root;
    int members[FUSE_MAX_MEMBERS], nmembers;
    int ops[OPS_MAX], nops; /* ops[0] = the root (the output), then the inputs */
} Fused;

/* fuse.c bounds a group (FUSE_MAX_MEMBERS, FUSE_MAX_OPERANDS): one beyond
 * them is a bug there, never cut short here */
static void fused_collect(const Graph *g, const Node *root, Fused *f) {
    f->root = root;
    f->nmembers = 0;
    for (int v = 0; v <= root->id; v++) {
        const Node *n = &g->nodes[v];
        if (v != root->id && (n->dead || n->fuse != root->id || n->storage != STO_FUSED))
            continue;
        if (f->nmembers == FUSE_MAX_MEMBERS)
            nn_unreachable("the fused group of v%d has more than %d members", root->id, FUSE_MAX_MEMBERS);
        f->members[f->nmembers++] = v;
    }
    f->ops[0] = root->id;
    f->nops = 1;
    for (int m = 0; m < f->nmembers; m++) {
        const Node *n = &g->nodes[f->members[m]];
        for (int k = 0; k < n->nin; k++) {
            int x = n->in[k], dup = g->nodes[x].storage == STO_FUSED || g->nodes[x].op == OP_CONST;
            for (int o = 1; o < f->nops && !dup; o++)
                dup = f->ops[o] == x;
            if (dup)
                continue;
            if (f->nops == OPS_MAX)
                nn_unreachable("the fused group of v%d reads more than %d values", root->id, FUSE_MAX_OPERANDS);
            f->ops[f->nops++] = x;
        }
    }
}

/* "nn_t12" for a member (a name no DSL name can take: names.c gives those
 * starting with "nn" a '_'), a literal for a constant, else operand[idx] */
static void fused_arg(Buf *b, const Emit *e, const Fused *f, int x, const char *const *idx, int hoisted) {
    const Node *n = &e->g->nodes[x];
    if (n->op == OP_CONST) {
        emit_float(b, n->f[0]);
        return;
    }
    if (n->storage == STO_FUSED) {
        buf_printf(b, "nn_t%d", x);
        return;
    }
    for (int o = 1; o < f->nops; o++)
        if (f->ops[o] == x && hoisted)
            buf_printf(b, "nn_a%d", o);
        else if (f->ops[o] == x)
            buf_printf(b, "%s[%s]", emit_ref(e, x), idx[o]);
}

/* the members' statements, then root[idx] = ...; when a member selects
 * (expr_selects) and reads one of the group's arrays, the arrays the group
 * reads values of are read into locals first */
static void fused_statements(Emit *e, const Fused *f, const char *const *idx, const char *out) {
    int read[OPS_MAX] = {0}, hoisted = 0; /* read[o]: a member reads f->ops[o]'s values */
    for (int m = 0; m < f->nmembers; m++) {
        const Node *n = &e->g->nodes[f->members[m]];
        int arrays = 0;
        for (int k = 0; k < n->nin; k++)
            for (int o = 1; o < f->nops; o++)
                if (f->ops[o] == n->in[k] && reads_value(n, k))
                    read[o] = 1, arrays = 1;
        hoisted = hoisted || (arrays && expr_selects(e, n));
    }
    if (hoisted) {
        Buf loads = {0};
        for (int o = 1; o < f->nops; o++)
            if (read[o])
                load_append(&loads, o, emit_ref(e, f->ops[o]), idx[o]);
        emit_line(e, "%s;", loads.data);
        buf_free(&loads);
    }
    for (int m = 0; m < f->nmembers; m++) {
        const Node *n = &e->g->nodes[f->members[m]];
        Buf args[NN_MAX_IN], expr = {0};
        const char *argv[NN_MAX_IN];
        for (int k = 0; k < n->nin; k++) {
            memset(&args[k], 0, sizeof args[k]);
            if (reads_value(n, k)) /* else never read: no use */
                fused_arg(&args[k], e, f, n->in[k], idx, hoisted);
            argv[k] = args[k].data;
        }
        op_info(n->op)->expr(e, &expr, n, argv);
        if (m + 1 < f->nmembers)
            emit_line(e, "const float nn_t%d = %s;", n->id, expr.data);
        else
            emit_line(e, "%s = %s;", out, expr.data);
        for (int k = 0; k < n->nin; k++)
            buf_free(&args[k]);
        buf_free(&expr);
    }
}

static void fused_body(Emit *e, const char *const *idx, void *ctx) {
    const Fused *f = ctx;
    char *out = arena_printf(e->g->arena, "%s[%s]", emit_ref(e, f->root->id), idx[0]);
    fused_statements(e, f, idx, out);
}

/* "/ * fused: nn_t5 = add(v3, m->param.b) * /" for each member but the root */
static void comment_members(Emit *e, const Fused *f, const char *what) {
    for (int m = 0; m + 1 < f->nmembers; m++) {
        const Node *n = &e->g->nodes[f->members[m]];
        Buf b = {0};
        buf_printf(&b, "%s: nn_t%d = %s(", what, n->id, op_info(n->op)->name);
        for (int k = 0; k < n->nin; k++) {
            const Node *x = &e->g->nodes[n->in[k]];
            if (k)
                buf_puts(&b, ", ");
            if (x->op == OP_CONST)
                emit_float(&b, x->f[0]);
            else if (x->storage == STO_FUSED)
                buf_printf(&b, "nn_t%d", x->id);
            else
                buf_puts(&b, ref_text(e, x->id));
        }
        buf_puts(&b, ")");
        emit_line(e, "/* %s */", b.data);
        buf_free(&b);
    }
}

void emit_elementwise(Emit *e, const Node *n) {
    const Shape *shapes[OPS_MAX];
    Fused f;
    fused_collect(e->g, n, &f);
    if (f.nmembers > 1) {
        comment_members(e, &f, "fused");
        for (int o = 0; o < f.nops; o++)
            shapes[o] = &e->g->nodes[f.ops[o]].shape;
        emit_loops(e, &n->shape, f.nops, shapes, 0, fused_body, &f);
        return;
    }
    shapes[0] = &n->shape;
    for (int k = 0; k < n->nin; k++)
        shapes[k + 1] = &e->g->nodes[n->in[k]].shape;
    emit_loops(e, &n->shape, n->nin + 1, shapes, 0, elementwise_body, (void *)n);
}

static void emit_locals(Emit *e, const EmitUses *u, int whole_tensors);
static EmitUses *uses_new(const Graph *g);
static void uses_free(EmitUses *u);

/* The name of the file-level helper whose text, its name left out, is
 * `text`: that of one written into this net.c before (the same code once
 * per network), or `name`, recording the helper as written (the caller then
 * writes it). One name never stands for two texts. */
static const char *helper_name(const Emit *e, const char *name, const char *text, int *written) {
    EmitHelper **list = e->written;
    for (const EmitHelper *h = *list; h; h = h->next) {
        if (strcmp(h->text, text) == 0) {
            *written = 1;
            return h->name;
        }
        if (strcmp(h->name, name) == 0)
            nn_unreachable("two different helpers are named %s", name);
    }
    EmitHelper *h = arena_alloc(e->g->arena, sizeof *h);
    h->name = name;
    h->text = arena_strdup(e->g->arena, text);
    h->next = *list;
    *list = h;
    *written = 0;
    return name;
}

/* static void NET_epilogue_K(void *ctx, int i0, int rows, int j0, int cols): the
 * group of root n->epilogue over one block of the kernel's output, seen as
 * [rows of all leading dims, cols of the last]; operands of the kernel's
 * shape are indexed like it, vectors along the last dim by the column,
 * scalars by 0 (fuse.c admits no others). */
const char *emit_epilogue(Emit *e, const Node *n) {
    const Graph *g = e->g;
    Fused f;
    emit_reads_model(e); /* the kernel passes m as the epilogue's context */
    fused_collect(g, &g->nodes[n->epilogue], &f);
    const char *name = arena_printf(g->arena, "%s_epilogue_%d", g->net, n->id);
    long cols = n->shape.rank ? n->shape.dims[n->shape.rank - 1] : 1;
    const char *idx[OPS_MAX] = {0};
    for (int o = 0; o < f.nops; o++) {
        const Shape *s = &g->nodes[f.ops[o]].shape;
        int x = f.ops[o] == f.root->id ? n->id : f.ops[o];
        if (x == n->id || shape_equal(s, &n->shape))
            idx[o] = arena_printf(g->arena, "i * %ld + j", cols);
        else
            idx[o] = s->rank == 0 ? "0" : "j";
    }
    for (int o = 1; o < f.nops; o++) /* the kernel's output, read by the group */
        if (f.ops[o] == n->id)
            idx[o] = idx[0];
    Buf body = {0};
    Emit be = *e;
    be.out = &body;
    be.indent = 1;
    be.uses = uses_new(g);
    comment_members(&be, &f, "epilogue");
    emit_open(&be, "for (long i = i0; i < (long)i0 + rows; i++)");
    emit_line(&be, "NNRT_IVDEP"); /* a column's element is written once, read at its index or from vectors */
    emit_open(&be, "for (long j = j0; j < (long)j0 + cols; j++)");
    fused_statements(&be, &f, idx, arena_printf(g->arena, "%s[%s]", emit_ref(e, n->id), idx[0]));
    emit_close(&be);
    emit_close(&be);
    Buf text = {0}; /* the function from its first statement */
    Emit te = *e;
    te.out = &text;
    te.indent = 1;
    emit_line(&te, "struct %s *const m = ctx;", g->net); /* the tag: a network may be named m */
    emit_locals(&te, be.uses, 0);                        /* its loops run over the block it is given */
    buf_puts(te.out, body.data);
    uses_free(be.uses);
    buf_free(&body);
    int written;
    name = helper_name(e, name, text.data, &written);
    if (!written) {
        Buf *saved = e->out;
        int indent = e->indent;
        e->out = e->helpers;
        e->indent = 0;
        emit_line(e, "/* the epilogue of %s: %s over one block of it, while in cache */", ref_text(e, n->id),
                  op_info(f.root->op)->name);
        emit_open(e, "static void %s(void *ctx, int i0, int rows, int j0, int cols)", name);
        buf_puts(e->out, text.data);
        emit_close(e);
        emit_line(e, "%s", "");
        e->out = saved;
        e->indent = indent;
    }
    buf_free(&text);
    return name;
}

/* ---- comments ------------------------------------------------------------------------- */

/* Source text made safe inside a C comment: printable ASCII, no comment
 * end or start ("* /", "/ *": -Wcomment), no trigraph, no line splice, at
 * most `max` bytes. */
void emit_comment_text(Buf *b, const char *s, size_t len, size_t max) {
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    for (size_t k = 0; i < len && k < max; i++, k++) {
        char c = s[i];
        if (!isprint((unsigned char)c) || c == '\\')
            c = c == '\t' ? ' ' : '?';
        if (i > 0 && ((c == '/' && s[i - 1] == '*') || (c == '*' && s[i - 1] == '/') || (c == '?' && s[i - 1] == '?')))
            buf_putc(b, ' ');
        buf_putc(b, c);
    }
    if (i < len)
        buf_puts(b, " ...");
}

/* "/ * v5 = matmul(x, W1)  [N, 3] * /", preceded by the source line when it changes */
static void comment_node(Emit *e, const Node *n, int *last_line) {
    if (n->loc.line && n->loc.line != *last_line) {
        size_t len;
        const char *text = diag_line(n->loc.line, &len);
        Buf b = {0};
        const char *file = strrchr(diag_file(), '/') ? strrchr(diag_file(), '/') + 1 : diag_file();
        emit_comment_text(&b, file, strlen(file), 200);
        buf_printf(&b, ":%d: ", n->loc.line);
        if (text)
            emit_comment_text(&b, text, len, 100);
        emit_line(e, "/* %s */", b.data);
        buf_free(&b);
        *last_line = n->loc.line;
    }
    Buf b = {0};
    buf_printf(&b, "%s = %s(", n->storage == STO_NONE ? n->s : ref_text(e, n->id), op_info(n->op)->name);
    for (int k = 0; k < n->nin; k++) {
        if (k)
            buf_puts(&b, ", ");
        if (e->g->nodes[n->in[k]].op == OP_CONST)
            emit_float(&b, e->g->nodes[n->in[k]].f[0]);
        else if (e->g->nodes[n->in[k]].storage == STO_FUSED)
            buf_printf(&b, "nn_t%d", n->in[k]);
        else
            buf_puts(&b, ref_text(e, n->in[k]));
    }
    buf_puts(&b, ")  ");
    shape_print(&b, &n->shape);
    emit_line(e, "/* %s */", b.data);
    buf_free(&b);
}

/* ---- function bodies ---------------------------------------------------------------------- */

static void emit_node(Emit *e, const Node *n, int *last_line) {
    const OpInfo *info = op_info(n->op);
    if (n->storage == STO_ALIAS || n->storage == STO_CONST || n->storage == STO_FUSED)
        return; /* a view, a folded constant, part of a fused loop or epilogue: no code of its own */
    comment_node(e, n, last_line);
    if (info->flags & OPF_ELEMENTWISE)
        emit_elementwise(e, n);
    else if (info->emit)
        info->emit(e, n);
    else
        nn_unreachable("op %s has no emitter", info->name);
}

static EmitUses *uses_new(const Graph *g) {
    EmitUses *u = base_xcalloc(1, sizeof *u);
    u->node = base_xcalloc((size_t)g->count + 1, 1);
    return u;
}

static void uses_free(EmitUses *u) {
    free(u->node);
    free(u);
}

/* Declares the locals the code recorded (emit_ref): the arena slots and
 * caller's pointers it reads, in id order; then n when the code writes n
 * itself or, when its loops run over whole tensors (a run function, not an
 * epilogue's block), reads a batched one. */
static void emit_locals(Emit *e, const EmitUses *u, int whole_tensors) {
    const Graph *g = e->g;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (!u->node[v])
            continue;
        if (n->storage == STO_ARENA)
            emit_line(e, "float *const %s = m->arena + %ld;", ref_text(e, v), n->offset);
        else if (n->storage == STO_ARG)
            emit_line(e, "const %s *const %s = m->io.%s;", n->op == OP_LABEL ? "int32_t" : "float", ref_text(e, v),
                      ref_text(e, v));
    }
    if (u->batch || (whole_tensors && u->extent))
        emit_line(e, "const int n = m->n;");
}

/* static RET NET_run_NAME(NET *m): the prologue (which reads the model:
 * learning rate, step), the nodes of `order` in order, the epilogue; the
 * locals their code recorded declared first */
void emit_function(Emit *e, const char *ret, const char *name, const int *order, int count, void (*prologue)(Emit *),
                   void (*epilogue)(Emit *)) {
    Buf body = {0}, helpers = {0};
    Emit be = *e;
    be.out = &body;
    be.indent = 1;
    be.helpers = &helpers;
    be.uses = uses_new(e->g);
    int last_line = 0;
    if (prologue) {
        emit_reads_model(&be);
        prologue(&be);
    }
    for (int i = 0; i < count; i++)
        emit_node(&be, &e->g->nodes[order[i]], &last_line);
    if (epilogue)
        epilogue(&be);
    if (helpers.data)
        buf_puts(e->out, helpers.data);
    buf_free(&helpers);
    emit_open(e, "static %s %s_run_%s(%s *m)", ret, e->g->net, name, e->g->net);
    size_t before = e->out->len;
    emit_locals(e, be.uses, 1);
    if (e->out->len == before && !be.uses->model)
        emit_line(e, "(void)m;");
    if (body.data)
        buf_puts(e->out, body.data);
    emit_close(e);
    emit_line(e, "%s", "");
    uses_free(be.uses);
    buf_free(&body);
}
