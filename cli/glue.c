/*
 * glue.c - the network-specific half of the training driver that
 * `nngen train` and `nngen predict` compile: tables of the ports and
 * outputs (names, per-sample sizes, class counts) and nnt_* functions that
 * call the generated NET_* API with the ports in its argument order. The
 * fixed half, trainer.c, is written against these names only:
 *
 *   nnt_model, NNT_NET, NNT_MAX_BATCH, NNT_TRAINABLE, NNT_KIND, NNT_PRED,
 *   NNT_TARGET, NNT_PARAM_SCALARS, NNT_N_INPUTS / TARGETS / OUTPUTS,
 *   nnt_in_name[] / nnt_in_size[], nnt_tg_name[] / nnt_tg_size[] /
 *   nnt_tg_classes[] (0: real), nnt_out_name[] / nnt_out_size[],
 *   nnt_init, nnt_forward, nnt_output, nnt_load and, when trainable,
 *   nnt_save, nnt_train_step, nnt_loss, nnt_epoch_end, nnt_set_lr,
 *   nnt_get_lr. Inputs are passed as `const float *const x[]`, targets as
 *   `const void *const t[]` (int32_t for class targets, float otherwise).
 *
 * What the metrics read (glue_info): the first target in declaration
 * order; for a class target with K classes, the first output of K values
 * per sample (accuracy of the argmax); for a real target of one value under
 * a bce / bce_logits loss, the first one-value output (accuracy of
 * p > 0.5 against t > 0.5); for another real target, the first output of
 * its size (mean squared error). No such output: the loss only.
 */
#include <string.h>

#include "cli.h"

static int uses_bce(const Graph *g) {
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && (g->nodes[v].op == OP_BCE || g->nodes[v].op == OP_BCE_LOGITS))
            return 1;
    return 0;
}

static long out_size(const Graph *g, int k) {
    return shape_numel(&g->nodes[g->outputs[k].node].shape);
}

void glue_info(const Graph *g, DriverInfo *info) {
    memset(info, 0, sizeof *info);
    info->pred = info->target = -1;
    info->trainable = !g->infer_only && g->loss_train >= 0;
    for (int i = 0; i < g->nports; i++) {
        if (!g->ports[i].is_target)
            info->ninputs++;
        else if (info->ntargets++ == 0)
            info->target = i;
    }
    if (info->target < 0)
        return;
    const Port *t = &g->ports[info->target];
    long want = t->is_class ? t->classes : shape_numel(&t->shape);
    for (int k = 0; k < g->noutputs && info->pred < 0; k++)
        if (out_size(g, k) == want)
            info->pred = k;
    if (info->pred < 0)
        info->kind = DK_NONE;
    else if (t->is_class)
        info->kind = DK_CLASSIFIER;
    else if (want == 1 && uses_bce(g))
        info->kind = DK_BINARY;
    else
        info->kind = DK_REGRESSION;
}

/* {"x", "y"} / {784, 1}: one table over the ports of one kind */
static void port_table(Emit *e, const Graph *g, int targets, const char *type, const char *name, int what) {
    Buf b = {0};
    int count = 0;
    for (int i = 0; i < g->nports; i++) {
        const Port *p = &g->ports[i];
        if (p->is_target != targets)
            continue;
        buf_puts(&b, count++ ? ", " : "");
        if (what == 0)
            buf_printf(&b, "\"%s\"", p->name);
        else if (what == 1)
            buf_printf(&b, "%ld", p->is_class ? 1L : shape_numel(&p->shape));
        else
            buf_printf(&b, "%d", p->is_class ? p->classes : 0);
    }
    emit_line(e, "static const %s %s[] = {%s};", type, name, count ? b.data : (what ? "0" : "\"\""));
    buf_free(&b);
}

/* "x[0], (const int32_t *)t[0]": the ports as the NET_* functions take them */
static void call_args(Buf *b, const Graph *g, int targets) {
    int ni = 0, nt = 0;
    for (int i = 0; i < g->nports; i++) {
        const Port *p = &g->ports[i];
        if (!p->is_target)
            buf_printf(b, ", x[%d]", ni++);
        else if (targets)
            buf_printf(b, ", (const %s *)t[%d]", p->is_class ? "int32_t" : "float", nt++);
    }
}

static void emit_tables(Emit *e, const Graph *g, const DriverInfo *di) {
    static const char *const kinds[] = {"none", "classifier", "binary", "regression"};
    const char *N = g->net;
    emit_line(e, "typedef %s nnt_model;", N);
    emit_line(e, "#define NNT_NET \"%s\"", N);
    emit_line(e, "#define NNT_MAX_BATCH %d", g->max_batch);
    emit_line(e, "#define NNT_TRAINABLE %d", di->trainable);
    emit_line(e, "#define NNT_KIND %d /* %s */", (int)di->kind, kinds[di->kind]);
    emit_line(e, "#define NNT_PRED %d /* the output the metric reads */", di->pred);
    emit_line(e, "#define NNT_TARGET %d /* the target the metric reads */", di->target < 0 ? -1 : 0);
    long scalars = 0;
    for (int i = 0; i < g->nparams; i++)
        scalars += shape_numel(&g->nodes[g->params[i].node].shape);
    emit_line(e, "#define NNT_PARAM_SCALARS %ldL", scalars);
    emit_line(e, "#define NNT_N_INPUTS %d", di->ninputs);
    emit_line(e, "#define NNT_N_TARGETS %d", di->ntargets);
    emit_line(e, "#define NNT_N_OUTPUTS %d", g->noutputs);
    port_table(e, g, 0, "char *const", "nnt_in_name", 0);
    port_table(e, g, 0, "long", "nnt_in_size", 1);
    port_table(e, g, 1, "char *const", "nnt_tg_name", 0);
    port_table(e, g, 1, "long", "nnt_tg_size", 1);
    port_table(e, g, 1, "int", "nnt_tg_classes", 2);
    Buf names = {0}, sizes = {0};
    for (int k = 0; k < g->noutputs; k++) {
        buf_printf(&names, "%s\"%s\"", k ? ", " : "", g->outputs[k].name);
        buf_printf(&sizes, "%s%ld", k ? ", " : "", out_size(g, k));
    }
    emit_line(e, "static const char *const nnt_out_name[] = {%s};", g->noutputs ? names.data : "\"\"");
    emit_line(e, "static const long nnt_out_size[] = {%s};", g->noutputs ? sizes.data : "0");
    buf_free(&names);
    buf_free(&sizes);
}

static void emit_wrappers(Emit *e, const Graph *g, const DriverInfo *di) {
    const char *N = g->net;
    Buf in = {0}, all = {0};
    call_args(&in, g, 0);
    call_args(&all, g, 1);
    emit_open(e, "static void nnt_init(nnt_model *m, uint64_t seed)");
    emit_line(e, "%s_init(m, seed);", N);
    emit_close(e);
    emit_open(e, "static void nnt_forward(nnt_model *m, const float *const x[], int n)");
    emit_line(e, "(void)x;");
    emit_line(e, "%s_forward(m%s, n);", N, in.data ? in.data : "");
    emit_close(e);
    emit_open(e, "static const float *nnt_output(const nnt_model *m, int k)");
    for (int k = 0; k < g->noutputs; k++)
        emit_line(e, "if (k == %d) return %s_output_%s(m);", k, N, e->names->output[k]);
    emit_line(e, "(void)m;");
    emit_line(e, "(void)k;");
    emit_line(e, "return NULL;");
    emit_close(e);
    emit_open(e, "static int nnt_load(nnt_model *m, const char *path)");
    emit_line(e, "return %s_load(m, path);", N);
    emit_close(e);
    if (di->trainable) {
        emit_open(e, "static int nnt_load_pretrained(nnt_model *m, const char *path)");
        emit_line(e, "return %s_load_pretrained(m, path);", N);
        emit_close(e);
        emit_open(e, "static int nnt_save(const nnt_model *m, const char *path)");
        emit_line(e, "return %s_save(m, path);", N);
        emit_close(e);
        emit_open(e, "static float nnt_train_step(nnt_model *m, const float *const x[], const void *const t[], int n)");
        emit_line(e, "return %s_train_step(m%s, n);", N, all.data ? all.data : "");
        emit_close(e);
        emit_open(e, "static float nnt_loss(nnt_model *m, const float *const x[], const void *const t[], int n)");
        emit_line(e, "return %s_loss(m%s, n);", N, all.data ? all.data : "");
        emit_close(e);
        emit_open(e, "static void nnt_epoch_end(nnt_model *m)");
        emit_line(e, "%s_epoch_end(m);", N);
        emit_close(e);
        emit_open(e, "static void nnt_set_lr(nnt_model *m, float lr)");
        emit_line(e, "%s_set_lr(m, lr);", N);
        emit_close(e);
        emit_open(e, "static float nnt_get_lr(const nnt_model *m)");
        emit_line(e, "return %s_get_lr(m);", N);
        emit_close(e);
    }
    buf_free(&in);
    buf_free(&all);
}

void glue_write(const Graph *g, Buf *out) {
    DriverInfo di;
    EmitOptions eo = {.header_name = "net.h", .cmdline = "nngen train", .source = "", .standalone = 1};
    Emit e = {.out = out, .g = g, .o = &eo, .names = cnames_of(g), .fn = FN_NONE};
    glue_info(g, &di);
    emit_line(&e, "/* ---- network %s: its ports and the nnt_* wrappers (nngen %s, cli/glue.c) ---- */", g->net,
              NNGEN_VERSION);
    emit_tables(&e, g, &di);
    emit_wrappers(&e, g, &di);
}
