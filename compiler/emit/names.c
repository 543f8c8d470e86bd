/*
 * names.c - every C name of the generated code that comes from the
 * network, decided once before anything is emitted, from the planned
 * graph (storage classes and groups) and the options it carries:
 *
 *   parameters     members of m->param, m->grad, the optimizer's state
 *   buffers        members of m->buffer (a namespace of their own)
 *   inputs/targets function parameters and members of m->io
 *   outputs        part of NET_output_NAME and NET_OUT_NAME_SIZE
 *   arena values   locals of the run functions ("h", "d_h", "v12")
 *   every node     the C expression of its data pointer (its ref):
 *                    m->param.W1, m->grad.W1, m->buffer.bn_running_mean
 *                    NET_weights.W1, NET_weights_buffer.X   (--weights: const ones)
 *                    x (the caller's pointer, a local), h (an arena local)
 *                    ((float[1]){0.5f})                     (a constant)
 *                  a view or an epilogue result: the ref of the node whose
 *                  storage it shares; fused nodes and effects: none
 *
 * A DSL name becomes a C identifier with dots as underscores; one that is a
 * C keyword, starts with "nn" in any case (nngen's prefixes: nn_, nnrt_, NN_,
 * nnt_, nndata_), is a name the kernels declare or call (the reserved list
 * below), a name the headers of generated code or of the trainer declare
 * (lower_is_library_name: EOF, M_PI, Data, ...), the network's name, or
 * starts with the network's name or its upper-case form and '_' (its
 * functions and macros: NET_init, NETU_MAX_BATCH) gets a trailing '_'. Within a table (parameters,
 * ports, buffers) a name taken already gets _<index>; the arena locals of
 * one group of functions (inference; training) are unique within it, a name
 * taken already getting _<id>, the port names taken from the start.
 */
#include <ctype.h>
#include <string.h>

#include "nngen.h"

/* Every local name the emitters declare, and the C names they call: a
 * kernel may declare only names of this list. */
static const char *const reserved[] = {
    "m", "n", "i", "i0", "i1", "i2", "i3", "i4", "j", "k", "o", "r", "b", "p", "g", "d", "t", "z", "acc", "acc0",
    "acc1", "ad", "base", "count", "dot", "lp", "lq", "lr", "lse", "mx", "rows", "scale", "sum", "tsum", "zr", "bytes",
    "rng", "seed", "path", "classes", "expf", "logf", "tanhf", "sqrtf", "fabsf", "powf", "erff", "expm1f", "log1pf",
    "pow", "sqrt", "isfinite", "offsetof", "size_t", "int32_t", "uint32_t", "uint64_t", "NULL", "NAN", "INFINITY",
    /* the losses' kernels (ops/loss_regression.c, ops/loss_class.c) */
    "tt", "sh", "yr", "dr", "hv", "sinhf",
    /* the layers beyond dense (ops/glu.c, maxout.c, dropout.c, batchnorm.c) */
    "ia", "ib", "iy", "nnrt_rng", "nnrt_rng_uniform",
    /* fused GEMM epilogues and --blas=openblas (passes/fuse.c, ops/matmul.c) */
    "ctx", "cols", "j0", "cblas_sgemm", "CblasRowMajor", "CblasNoTrans", "CblasTrans"};

static int names_is_local(const char *s) {
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(s, reserved[i]) == 0)
            return 1;
    return 0;
}

/* s starts with the network's name, or its upper-case form, and '_' */
static int names_net_prefixed(const char *s, const char *net) {
    size_t n = strlen(net), i;
    if (n == 0 || strlen(s) <= n || s[n] != '_')
        return 0;
    if (strncmp(s, net, n) == 0)
        return 1;
    for (i = 0; i < n && toupper((unsigned char)net[i]) == s[i]; i++)
        ;
    return i == n;
}

/* A DSL name as a C identifier (see the top of the file). */
static const char *c_ident(const Graph *g, const char *name) {
    char *s = arena_strdup(g->arena, name);
    for (char *c = s; *c; c++)
        if (*c == '.')
            *c = '_';
    int clash = lower_is_c_keyword(s) || (tolower((unsigned char)s[0]) == 'n' && tolower((unsigned char)s[1]) == 'n') ||
                optim_declares(s) || names_is_local(s) || lower_is_library_name(s) ||
                (g->net && (strcmp(s, g->net) == 0 || names_net_prefixed(s, g->net)));
    return clash ? arena_printf(g->arena, "%s_", s) : s;
}

/* names[i] = c_ident(dsl[i]), a name an earlier entry has taken getting _<i> */
static const char **name_table(Arena *a, int count, const char *(*dsl)(const Graph *, int), const Graph *g) {
    const char **names = arena_alloc(a, sizeof(char *) * (size_t)(count + 1));
    for (int i = 0; i < count; i++) {
        names[i] = c_ident(g, dsl(g, i));
        for (int j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0)
                names[i] = arena_printf(a, "%s_%d", names[i], i);
    }
    return names;
}

static const char *param_name(const Graph *g, int i) {
    return g->params[i].name;
}

static const char *port_name(const Graph *g, int i) {
    return g->ports[i].name; /* "n" and "n_" both give n_ */
}

static const char *buffer_name(const Graph *g, int i) {
    return g->buffers[i].name;
}

/* The locals of one group (one generated function's arena values): the
 * statement's name, d_NAME for a gradient, else v<id>; a name taken
 * already in the group gets _<id>. A kernel's output that its epilogue
 * overwrites is named after the epilogue's value, which it holds last. */
static void name_group(const Graph *g, CNames *cn, const int *order, int count) {
    StrMap taken; /* the names given so far (values unused) */
    strmap_init(&taken, g->arena);
    for (int i = 0; i < g->nports; i++)
        strmap_put(&taken, cn->port[i], i);
    for (int i = 0; i < count; i++) {
        const Node *n = &g->nodes[order[i]];
        if (n->storage != STO_ARENA)
            continue;
        const char *base;
        const Node *src = n->epilogue >= 0 ? &g->nodes[n->epilogue] : n;
        if (src->name)
            base = c_ident(g, src->name);
        else if (src->grad_of >= 0 && g->nodes[src->grad_of].name)
            base = arena_printf(g->arena, "d_%s", c_ident(g, g->nodes[src->grad_of].name));
        else
            base = arena_printf(g->arena, "v%d", n->id);
        if (!strmap_put(&taken, base, n->id)) {
            base = arena_printf(g->arena, "%s_%d", base, n->id);
            strmap_put(&taken, base, n->id);
        }
        cn->ref[n->id] = base;
    }
}

/* A constant that a kernel reads through a pointer (sum(1), mse(1, 2), a
 * view of one): a C99 compound literal, an array of one float. Elementwise
 * code inlines the value instead. */
static const char *const_ref(Arena *a, double v) {
    Buf b = {0};
    emit_float(&b, v);
    const char *ref = arena_printf(a, "((float[1]){%s})", b.data);
    buf_free(&b);
    return ref;
}

/* m->param.W1 or, when --weights made it const data (every parameter of an
 * --infer-only build, the frozen ones of a training build), NET_weights.W1;
 * the buffers likewise; in_model[v] says which of the two structs */
static const char *member_ref(const Graph *g, CNames *cn, char *in_model, int v) {
    const Param *p;
    const Buffer *b;
    if ((p = ir_param_of(g, v))) {
        in_model[v] = !ir_param_const(g, p);
        return !in_model[v] ? arena_printf(g->arena, "%s_weights.%s", g->net, cn->param[p - g->params])
                            : arena_printf(g->arena, "m->param.%s", cn->param[p - g->params]);
    }
    if ((b = ir_buffer_of(g, v))) {
        in_model[v] = !ir_buffer_const(g, b);
        return !in_model[v] ? arena_printf(g->arena, "%s_weights_buffer.%s", g->net, cn->buffer[b - g->buffers])
                            : arena_printf(g->arena, "m->buffer.%s", cn->buffer[b - g->buffers]);
    }
    in_model[v] = 1;
    if ((p = ir_param_of_grad(g, v)))
        return arena_printf(g->arena, "m->grad.%s", cn->param[p - g->params]);
    nn_unreachable("v%d is a struct member of no table", v);
}

const CNames *cnames_of(const Graph *g) {
    Arena *a = g->arena;
    CNames *cn = arena_alloc(a, sizeof *cn);
    cn->param = name_table(a, g->nparams, param_name, g);
    cn->port = name_table(a, g->nports, port_name, g);
    cn->buffer = name_table(a, g->nbuffers, buffer_name, g);
    cn->output = arena_alloc(a, sizeof(char *) * (size_t)(g->noutputs + 1));
    for (int i = 0; i < g->noutputs; i++)
        cn->output[i] = g->outputs[i].name; /* only ever part of a longer name */
    cn->ref = arena_alloc(a, sizeof(char *) * (size_t)(g->count + 1));
    char *in_model = arena_alloc(a, (size_t)g->count + 1);
    cn->in_model = in_model;
    for (int train = 0; train <= 1; train++) {
        int *order;
        int count = plan_group(g, train, &order);
        name_group(g, cn, order, count);
    }
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        const Port *port;
        if (n->dead)
            continue;
        if (n->storage == STO_MEMBER)
            cn->ref[v] = member_ref(g, cn, in_model, v);
        else if (n->storage == STO_ARG && (port = ir_port_of(g, v)))
            cn->ref[v] = cn->port[port - g->ports];
        else if (n->storage == STO_CONST)
            cn->ref[v] = const_ref(a, n->f[0]);
    }
    for (int v = 0; v < g->count; v++) { /* views and epilogue results: their storage's */
        int r = v;
        while (!g->nodes[r].dead && g->nodes[r].storage == STO_ALIAS)
            r = g->nodes[r].alias;
        if (r != v && !g->nodes[v].dead) {
            cn->ref[v] = cn->ref[r];
            in_model[v] = in_model[r];
        }
    }
    return cn;
}
