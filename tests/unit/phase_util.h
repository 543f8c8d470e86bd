/*
 * phase_util.h - shared helpers of the compiler's per-phase unit tests
 * (test_lower.c, test_shape.c, test_autodiff.c, test_passes.c, test_emit.c).
 *
 * A Phases value runs the pipeline of driver.c one phase at a time on a
 * source text, with diagnostics routed into a memory stream, and keeps the
 * graph alive so that a test can look at it between phases:
 *
 *     Phases t;
 *     assert_int_equal(ph_lower(&t, src, 0), 0);    parse + lower_program
 *     assert_int_equal(ph_autodiff(&t), 0);         ad_differentiate + optim_build
 *     assert_int_equal(ph_passes(&t, 2, 1), 0);     pass_run_all (-O2, --verify)
 *     ... look at t.g ...
 *     ph_free(&t);
 *
 * The file name in diagnostics is always "t.nn". Everything is static
 * inline so that each test includes only what it uses without warnings.
 */
#ifndef PHASE_UTIL_H
#define PHASE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

typedef struct Phases {
    Arena arena;
    Graph g;
    Program *prog;
    const char *src;
    char *diag;      /* everything reported so far (ph_diag flushes) */
    size_t diag_len;
    FILE *dstream;
} Phases;

static inline void ph_begin(Phases *t, const char *src) {
    memset(t, 0, sizeof *t);
    t->src = src;
    t->dstream = open_memstream(&t->diag, &t->diag_len);
    if (!t->dstream)
        abort();
    diag_begin("t.nn", src, strlen(src), t->dstream);
    ir_init(&t->g, &t->arena);
}

/* The diagnostics so far ("" when none). */
static inline const char *ph_diag(Phases *t) {
    fflush(t->dstream);
    return t->diag ? t->diag : "";
}

/* parse + lower_program; 0 on success */
static inline int ph_lower(Phases *t, const char *src, int infer_only) {
    ph_begin(t, src);
    t->prog = parse_program(&t->arena, "t.nn", src, strlen(src));
    if (!t->prog || diag_count())
        return -1;
    return lower_program(&t->g, t->prog, infer_only) < 0 || diag_count() ? -1 : 0;
}

/* ad_differentiate + optim_build */
static inline int ph_autodiff(Phases *t) {
    if (ad_differentiate(&t->g) < 0 || optim_build(&t->g) < 0)
        return -1;
    return diag_count() ? -1 : 0;
}

static inline int ph_passes(Phases *t, int opt_level, int verify) {
    PassOptions po = {NULL, verify, opt_level, t->dstream};
    return pass_run_all(&t->g, &po) < 0 || diag_count() ? -1 : 0;
}

/* every phase up to and including the passes */
static inline int ph_all(Phases *t, const char *src, int infer_only, int opt_level) {
    if (ph_lower(t, src, infer_only) < 0 || ph_autodiff(t) < 0)
        return -1;
    return ph_passes(t, opt_level, 1);
}

static inline void ph_free(Phases *t) {
    ir_free(&t->g);
    arena_free(&t->arena);
    fclose(t->dstream);
    free(t->diag);
    memset(t, 0, sizeof *t);
}

/* The first line of the diagnostics, without its newline (static storage). */
static inline const char *ph_first_error(Phases *t) {
    static char line[1024];
    const char *d = ph_diag(t);
    size_t n = strcspn(d, "\n");
    if (n >= sizeof line)
        n = sizeof line - 1;
    memcpy(line, d, n);
    line[n] = '\0';
    return line;
}

/* ---- looking at the graph */

/* The live node named `name` (a statement's value) in function fn, or -1. */
static inline int ph_named(const Graph *g, const char *name, Func fn) {
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (!n->dead && n->name && strcmp(n->name, name) == 0 && n->func == fn)
            return v;
    }
    return -1;
}

static inline const Param *ph_param(const Graph *g, const char *name) {
    for (int i = 0; i < g->nparams; i++)
        if (strcmp(g->params[i].name, name) == 0)
            return &g->params[i];
    return NULL;
}

/* the C expression of node id's data (emit/names.c on the planned graph) */
static inline const char *ph_ref(const Graph *g, int id) {
    return cnames_of(g)->ref[id];
}

/* the C name of the parameter called `name` */
static inline const char *ph_param_cname(const Graph *g, const char *name) {
    const Param *p = ph_param(g, name);
    return p ? cnames_of(g)->param[p - g->params] : NULL;
}

/* live nodes with op `op` (OP__COUNT: any) in function fn (FN__COUNT: any) */
static inline int ph_count(const Graph *g, Op op, Func fn) {
    int c = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (!n->dead && (op == OP__COUNT || n->op == op) && (fn == FN__COUNT || n->func == fn))
            c++;
    }
    return c;
}

/* "[N, 3]" of a node's shape (static storage, one at a time) */
static inline const char *ph_shape(const Graph *g, int id) {
    static char s[64];
    Buf b = {0};
    shape_print(&b, &g->nodes[id].shape);
    snprintf(s, sizeof s, "%s", b.data);
    buf_free(&b);
    return s;
}

/* The whole contents of a file of the source tree (malloc'd), or NULL. */
static inline char *ph_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Buf b = {0};
    int c;
    while ((c = fgetc(f)) != EOF)
        buf_putc(&b, (char)c);
    fclose(f);
    buf_putc(&b, '\0');
    return b.data;
}

#endif
