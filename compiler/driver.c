/*
 * driver.c - the pipeline, in order, on one source text:
 *   parse -> [lint: warnings] -> lower (shapes checked as nodes are built) -> autodiff ->
 *   optimizer updates -> passes (pass table) -> [--weights] -> emit
 * Each phase runs only when the ones before it reported no error. One
 * arena holds everything a compilation allocates and is freed at the end,
 * so a compilation leaves nothing behind (tests run many in one process).
 */
#include <string.h>

#include "nngen.h"

static int run_phases(Graph *g, Arena *a, const char *text, size_t len, const CompileOptions *o) {
    Program *p = parse_program(a, o->path, text, len);
    if (!p || diag_count())
        return -1;
    if (!o->no_warnings)
        lint_program(p);
    g->max_batch = o->max_batch > 0 ? o->max_batch : 64;
    g->ignore_freeze = o->ignore_freeze;
    g->blas = o->blas;
    g->freestanding = o->freestanding;
    if (lower_program(g, p, o->infer_only) < 0)
        return -1;
    if (ad_differentiate(g) < 0 || optim_build(g) < 0)
        return -1;
    PassOptions po = {o->dump_after, o->verify, o->opt_level, o->dump ? o->dump : stderr};
    if (pass_run_all(g, &po) < 0)
        return -1;
    return diag_count() ? -1 : 0;
}

/* The arena the same text plans at -O0 (for --report's comparison). */
static long o0_arena(const char *text, size_t len, const CompileOptions *o) {
    CompileOptions o0 = *o;
    Arena arena = {0};
    Graph g;
    o0.opt_level = 0;
    o0.no_warnings = 1;
    o0.dump_after = NULL;
    o0.verify = 0;
    ir_init(&g, &arena);
    long floats = run_phases(&g, &arena, text, len, &o0) == 0 ? g.arena_floats : -1;
    ir_free(&g);
    arena_free(&arena);
    return floats;
}

/* The same text without its freeze statements (for --report's comparison). */
static int unfrozen_cost(const char *text, size_t len, const CompileOptions *o, ReportCost *out) {
    CompileOptions uf = *o;
    Arena arena = {0};
    Graph g;
    uf.ignore_freeze = 1;
    uf.dump_after = NULL;
    uf.verify = 0;
    ir_init(&g, &arena);
    int rc = run_phases(&g, &arena, text, len, &uf);
    if (rc == 0)
        report_cost(&g, out);
    ir_free(&g);
    arena_free(&arena);
    return rc;
}

int nngen_compile(const char *text, size_t len, const CompileOptions *o, Buf *c, Buf *h) {
    Arena arena = {0};
    Graph g;
    diag_begin(o->path, text, len, o->diag ? o->diag : stderr);
    ir_init(&g, &arena);
    int rc = run_phases(&g, &arena, text, len, o);
    if (rc == 0 && o->weights)
        rc = (o->infer_only ? weights_embed : weights_start)(&g, o->weights_path ? o->weights_path : "weights",
                                                             o->weights, o->weights_len, o->diag ? o->diag : stderr);
    if (rc == 0 && o->report) {
        ReportCost uf;
        int cmp = g.nfrozen && unfrozen_cost(text, len, o, &uf) == 0;
        report_write(o->report, &g, o->opt_level ? o0_arena(text, len, o) : -1, cmp ? &uf : NULL);
    }
    if (rc == 0 && o->inspect && o->inspect(&g, o->inspect_ctx) != 0)
        rc = -1;
    if (rc < 0 || o->no_emit)
        ;
    else if (o->emit && strcmp(o->emit, "ir") == 0) {
        FILE *f = open_memstream(&c->data, &c->len);
        if (!f)
            base_out_of_memory(0); /* its only failure: no memory for the stream */
        ir_dump(f, &g);
        fclose(f);
        c->cap = c->len;
    } else {
        EmitOptions eo = {o->header_name ? o->header_name : "net.h", o->cmdline ? o->cmdline : "nngen", o->path,
                          o->standalone || o->freestanding, o->freestanding};
        rc = emit_c(&g, &eo, c, h);
    }
    ir_free(&g);
    arena_free(&arena);
    return rc;
}
