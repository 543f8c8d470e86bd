/*
 * optim.c - the optimizers' table and what the rest of the compiler asks of
 * it. Each optimizer is one descriptor (OptimDesc, nngen.h) in its own file,
 * compiler/optim/NAME.c; ops.def's OPTIMIZER rows list them, and this file
 * builds its table from those rows, so the table, the update ops and the
 * descriptors cannot disagree.
 *
 * Phases: lowering binds the optimizer statement against the descriptor's
 * signature and validates it into g->opt (optim_configure); after autodiff,
 * optim_build adds one update node per parameter with a gradient (FN_UPDATE,
 * f[] = g->opt.hp[]); the emitter writes each node's loop (optim_update_emit)
 * after the per-step prologue (optim_prologue). The model struct, NET_init,
 * plan's reserved names and --report read the state through optim_state,
 * optim_scalar and optim_declares.
 *
 * Invariants: Optimizer.hp[k] and an update node's f[k] hold the argument
 * k + 1 of the descriptor's signature (argument 0 is lr, runtime state
 * m->lr); the state arrays a configuration uses are a prefix of the
 * descriptor's state[], the same for the struct and for the kernel.
 */
#include <string.h>

#include "nngen.h"

/* ---- the table: ops.def's OPTIMIZER rows, in their order ---------------------------- */

typedef struct OptimRow {
    Op update;             /* OP_<ID>_UPDATE */
    const OptimDesc *desc; /* optim_<name> */
} OptimRow;

static const OptimRow optim_rows[] = {
#define OP(id, name, arity, flags, shape, grad, expr, emit, flops, scratch, attrs)
#define OPTIMIZER(ID, name, attrs) {OP_##ID##_UPDATE, &optim_##name},
#include "ir/ops.def"
#undef OP
};

#define OPTIM_COUNT ((int)(sizeof optim_rows / sizeof optim_rows[0]))

int optim_count(void) {
    return OPTIM_COUNT;
}

const OptimDesc *optim_at(int i) {
    return i >= 0 && i < OPTIM_COUNT ? optim_rows[i].desc : NULL;
}

const OptimDesc *optim_find(const char *name) {
    for (int i = 0; i < OPTIM_COUNT; i++)
        if (strcmp(optim_rows[i].desc->call.name, name) == 0)
            return optim_rows[i].desc;
    return NULL;
}

/* the row of an update op; every update op has one (ops.def makes both) */
static const OptimRow *row_of_op(Op op) {
    for (int i = 0; i < OPTIM_COUNT; i++)
        if (optim_rows[i].update == op)
            return &optim_rows[i];
    nn_unreachable("%s is not an optimizer's update", ir_op_name(op));
}

static const OptimRow *row_of_desc(const OptimDesc *d) {
    for (int i = 0; i < OPTIM_COUNT; i++)
        if (optim_rows[i].desc == d)
            return &optim_rows[i];
    nn_unreachable("an optimizer descriptor outside the table");
}

/* ---- the optimizer statement --------------------------------------------------------- */

int optim_check(const Bound *b, int i, const char *name, int ok, const char *cond) {
    if (!ok)
        diag_error(b->loc[i], "invalid %s: it must be %s, got %g", name, cond, b->num[i]);
    return !ok;
}

/* "sgd, adam, ...": the table's names, for the message naming what exists */
static const char *names_list(Arena *a) {
    Buf b = {0};
    for (int i = 0; i < OPTIM_COUNT; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", optim_rows[i].desc->call.name);
    const char *s = arena_strdup(a, b.data);
    buf_free(&b);
    return s;
}

/* optimizer NAME(args): every PyTorch 1.13 constructor checks lr >= 0 first,
 * then the descriptor checks the rest */
int optim_configure(LowerCtx *c, const Stmt *s) {
    const Expr *call = s->expr;
    const OptimDesc *d = optim_find(call->str);
    if (!d) {
        diag_error(call->loc, "'%s' is not an optimizer (%s)", call->str, names_list(c->g->arena));
        return -1;
    }
    if (d->call.nargs > 1 + (int)(sizeof c->g->opt.hp / sizeof c->g->opt.hp[0]))
        nn_unreachable("the optimizer %s has more arguments than Optimizer.hp holds", d->call.name);
    Bound bound;
    if (lower_bind(c, &d->call, call, &bound) < 0)
        return -1;
    Optimizer *o = &c->g->opt;
    o->desc = d;
    o->name = d->call.name;
    o->loc = call->loc;
    o->lr = bound.num[0];
    for (int i = 1; i < d->call.nargs; i++)
        o->hp[i - 1] = bound.num[i];
    int bad = optim_check(&bound, 0, "learning rate", bound.num[0] >= 0, ">= 0");
    bad |= d->validate(&bound);
    return bad ? -1 : 0;
}

/* ---- what the rest of the compiler asks ----------------------------------------------- */

/* the state arrays a configuration with these arguments uses: a prefix of state[] */
static int state_count(const OptimDesc *d, const double *hp) {
    if (d->nstate)
        return d->nstate(hp);
    int n = 0;
    while (n < OPTIM_MAX_STATE && d->state[n])
        n++;
    return n;
}

int optim_state(const Optimizer *o, const char **names) {
    if (!o->desc)
        return 0;
    int n = state_count(o->desc, o->hp);
    for (int k = 0; k < n; k++)
        names[k] = o->desc->state[k];
    return n;
}

const char *optim_scalar(const Optimizer *o, double *init) {
    if (!o->desc || !o->desc->scalar)
        return NULL;
    *init = o->desc->scalar_init;
    return o->desc->scalar;
}

/* Over every optimizer, not only the configured one: a parameter's C name
 * does not change with the optimizer. */
int optim_declares(const char *name) {
    for (int i = 0; i < OPTIM_COUNT; i++) {
        const OptimDesc *d = optim_rows[i].desc;
        for (int k = 0; k < OPTIM_MAX_STATE && d->state[k]; k++)
            if (strcmp(d->state[k], name) == 0)
                return 1;
        for (int k = 0; k < OPTIM_MAX_LOCALS && d->locals[k]; k++)
            if (strcmp(d->locals[k], name) == 0)
                return 1;
    }
    return 0;
}

void optim_prologue(Emit *e) {
    if (e->g->opt.desc)
        e->g->opt.desc->prologue(e, &e->g->opt);
}

/* ---- the update nodes ------------------------------------------------------------------ */

int optim_build(Graph *g) {
    if (g->infer_only || g->loss_train < 0)
        return 0;
    Op update = row_of_desc(g->opt.desc)->update;
    for (int i = 0; i < g->nparams; i++) {
        const Param *p = &g->params[i];
        if (p->grad < 0)
            continue;
        int in[2] = {p->node, p->grad};
        int u = ir_add(g, update, FN_UPDATE, g->opt.loc, 2, in);
        Node *n = ir_node(g, u);
        n->s = p->name;
        for (int k = 0; k < 8; k++)
            n->f[k] = g->opt.hp[k];
        if (shape_check_node(g, u) < 0)
            return -1;
    }
    return 0;
}

/* the shape rule of every update op: the parameter's, which its gradient has */
int optim_update_shape(Graph *g, Node *n) {
    if (!shape_equal(&g->nodes[n->in[0]].shape, &g->nodes[n->in[1]].shape))
        nn_unreachable("update of %s with a gradient of another shape", n->s);
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

/* { float *p = PARAM; const float *g = GRAD; float *STATE = m->STATE.PARAM; ...
 *   for (long i = 0; i < COUNT; i++) { KERNEL } } */
void optim_update_emit(Emit *e, const Node *n) {
    const OptimDesc *d = row_of_op(n->op)->desc;
    const char *cname = emit_param_cname(e, n->in[0]);
    emit_reads_model(e); /* the state arrays m->STATE.PARAM, m->step */
    emit_begin(e);
    emit_line(e, "float *p = %s;", emit_ref(e, n->in[0]));
    emit_line(e, "const float *g = %s;", emit_ref(e, n->in[1]));
    for (int k = 0, ns = state_count(d, n->f); k < ns; k++)
        emit_line(e, "float *%s = m->%s.%s;", d->state[k], d->state[k], cname);
    emit_open(e, "for (long i = 0; i < %ld; i++)", shape_numel(&n->shape));
    d->kernel(e, n);
    emit_close(e);
    emit_close(e);
}

double optim_update_flops(const Graph *g, const Node *n, int batch) {
    (void)g;
    (void)batch;
    return row_of_op(n->op)->desc->flops(n->f) * (double)shape_numel(&n->shape);
}

/* ---- what several optimizers' code shares --------------------------------------------- */

/* the learning rate in float, as the kernels use it */
void optim_lr_prologue(Emit *e, const Optimizer *o) {
    (void)o;
    emit_line(e, "const float lr = (float)m->lr;");
}

/* gi = g + wd p: the L2 weight decay PyTorch folds into the gradient */
void optim_decayed_grad(Emit *e, double wd) {
    if (wd != 0)
        emit_line(e, "const float gi = g[i] + %s * p[i];", emit_float_lit(e, wd));
    else
        emit_line(e, "const float gi = g[i];");
}
