/*
 * optim.c - the optimizer statement: its arguments, validated as PyTorch
 * 1.13's constructors validate them, and the update nodes (one per
 * parameter that has a gradient, FN_UPDATE) that ops/update.c emits.
 *
 * Optimizer.hp[] per kind (the builtin row's arguments after lr, in order):
 *   sgd:      0 momentum, 1 dampening, 2 nesterov, 3 weight_decay
 *   adam:     0 beta1, 1 beta2, 2 eps, 3 weight_decay, 4 amsgrad
 *   adamw:    as adam (weight_decay decoupled)
 *   adagrad:  0 eps, 1 weight_decay
 *   rmsprop:  0 alpha, 1 eps, 2 momentum, 3 weight_decay
 *   adadelta: 0 rho, 1 eps, 2 weight_decay
 *   adamax:   0 beta1, 1 beta2, 2 eps, 3 weight_decay
 *   nadam:    0 beta1, 1 beta2, 2 eps, 3 momentum_decay, 4 weight_decay
 * The learning rate is runtime state (NET_set_lr); its initial value is lr.
 */
#include <string.h>

#include "nngen.h"

/* Reports "NAME must be COND, got V" at the argument; returns 1 if bad. */
static int check(const Bound *b, int i, const char *name, int ok, const char *cond) {
    if (!ok)
        diag_error(b->loc[i], "invalid %s: it must be %s, got %g", name, cond, b->num[i]);
    return !ok;
}

/* PyTorch 1.13 SGD.__init__ checks */
static int validate_sgd(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "momentum", b->num[1] >= 0, ">= 0");
    bad |= check(b, 4, "weight_decay", b->num[4] >= 0, ">= 0");
    if (b->num[3] && (b->num[1] <= 0 || b->num[2] != 0)) {
        diag_error(b->loc[3], "nesterov momentum needs momentum > 0 and dampening = 0");
        bad = 1;
    }
    return bad;
}

/* PyTorch 1.13 Adam.__init__ checks */
static int validate_adam(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "beta1", b->num[1] >= 0 && b->num[1] < 1, "in [0, 1)");
    bad |= check(b, 2, "beta2", b->num[2] >= 0 && b->num[2] < 1, "in [0, 1)");
    bad |= check(b, 3, "eps", b->num[3] >= 0, ">= 0");
    bad |= check(b, 4, "weight_decay", b->num[4] >= 0, ">= 0");
    return bad;
}

/* PyTorch 1.13 Adagrad.__init__ checks (lr_decay and initial_accumulator_value are 0) */
static int validate_adagrad(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "eps", b->num[1] >= 0, ">= 0");
    bad |= check(b, 2, "weight_decay", b->num[2] >= 0, ">= 0");
    return bad;
}

/* PyTorch 1.13 RMSprop.__init__ checks (alpha > 1 passes there too) */
static int validate_rmsprop(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "alpha", b->num[1] >= 0, ">= 0");
    bad |= check(b, 2, "eps", b->num[2] >= 0, ">= 0");
    bad |= check(b, 3, "momentum", b->num[3] >= 0, ">= 0");
    bad |= check(b, 4, "weight_decay", b->num[4] >= 0, ">= 0");
    return bad;
}

/* PyTorch 1.13 Adadelta.__init__ checks */
static int validate_adadelta(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "rho", b->num[1] >= 0 && b->num[1] <= 1, "in [0, 1]");
    bad |= check(b, 2, "eps", b->num[2] >= 0, ">= 0");
    bad |= check(b, 3, "weight_decay", b->num[3] >= 0, ">= 0");
    return bad;
}

/* PyTorch 1.13 NAdam.__init__ checks */
static int validate_nadam(const Bound *b) {
    int bad = check(b, 0, "learning rate", b->num[0] >= 0, ">= 0");
    bad |= check(b, 1, "beta1", b->num[1] >= 0 && b->num[1] < 1, "in [0, 1)");
    bad |= check(b, 2, "beta2", b->num[2] >= 0 && b->num[2] < 1, "in [0, 1)");
    bad |= check(b, 3, "eps", b->num[3] >= 0, ">= 0");
    bad |= check(b, 4, "momentum_decay", b->num[4] >= 0, ">= 0");
    bad |= check(b, 5, "weight_decay", b->num[5] >= 0, ">= 0");
    return bad;
}

/* ---- the optimizer table ---------------------------------------------------------- */

/* sgd: a momentum buffer when momentum != 0 */
static int state_sgd(const Optimizer *o, const char **names) {
    int n = 0;
    if (o->hp[0] != 0)
        names[n++] = "momentum";
    return n;
}

/* adam: first and second moments, and their running maximum with amsgrad */
static int state_adam(const Optimizer *o, const char **names) {
    names[0] = "adam_m";
    names[1] = "adam_v";
    if (o->hp[4])
        names[2] = "adam_vmax";
    return o->hp[4] ? 3 : 2;
}

static int state_adagrad(const Optimizer *o, const char **names) {
    (void)o;
    names[0] = "adagrad_sum";
    return 1;
}

/* rmsprop: the square average, and a momentum buffer when momentum > 0 */
static int state_rmsprop(const Optimizer *o, const char **names) {
    names[0] = "rmsprop_sq";
    names[1] = "rmsprop_buf";
    return o->hp[2] > 0 ? 2 : 1;
}

static int state_adadelta(const Optimizer *o, const char **names) {
    (void)o;
    names[0] = "adadelta_sq";
    names[1] = "adadelta_acc";
    return 2;
}

static int state_adamax(const Optimizer *o, const char **names) {
    (void)o;
    names[0] = "adam_m";
    names[1] = "adamax_inf";
    return 2;
}

static int state_nadam(const Optimizer *o, const char **names) {
    (void)o;
    names[0] = "adam_m";
    names[1] = "adam_v";
    return 2;
}

/* One row per optimizer: everything nngen knows about it. Adding one is a
 * row here, its validation and state above, its update op (ops.def) with
 * its emitter and per-step prologue (ops/update.c). */
typedef struct OptRule {
    const char *name;
    OptKind kind;
    Op update;                                  /* the per-parameter update node */
    int (*validate)(const Bound *b);            /* PyTorch 1.13's constructor checks; 1 if bad */
    int (*state)(const Optimizer *o, const char **names); /* per-parameter state arrays */
    void (*prologue)(Emit *e, const Optimizer *o);        /* per-step scalars of NET_run_update */
    const char *scalar;                         /* a double of the model struct, or NULL */
    double scalar_init;                         /* its value after NET_init */
} OptRule;

/* adamw and adamax validate as adam (the same checks, at the same argument positions) */
static const OptRule opt_rules[] = {
    {"sgd", OPT_SGD, OP_SGD_UPDATE, validate_sgd, state_sgd, sgd_prologue, NULL, 0},
    {"adam", OPT_ADAM, OP_ADAM_UPDATE, validate_adam, state_adam, adam_prologue, NULL, 0},
    {"adagrad", OPT_ADAGRAD, OP_ADAGRAD_UPDATE, validate_adagrad, state_adagrad, sgd_prologue, NULL, 0},
    {"rmsprop", OPT_RMSPROP, OP_RMSPROP_UPDATE, validate_rmsprop, state_rmsprop, sgd_prologue, NULL, 0},
    {"adadelta", OPT_ADADELTA, OP_ADADELTA_UPDATE, validate_adadelta, state_adadelta, sgd_prologue, NULL, 0},
    {"adamw", OPT_ADAMW, OP_ADAMW_UPDATE, validate_adam, state_adam, adamw_prologue, NULL, 0},
    {"adamax", OPT_ADAMAX, OP_ADAMAX_UPDATE, validate_adam, state_adamax, adamax_prologue, NULL, 0},
    {"nadam", OPT_NADAM, OP_NADAM_UPDATE, validate_nadam, state_nadam, nadam_prologue, "mu_product", 1.0},
};

static const OptRule *find_rule(const char *name) {
    for (size_t i = 0; i < sizeof opt_rules / sizeof opt_rules[0]; i++)
        if (strcmp(opt_rules[i].name, name) == 0)
            return &opt_rules[i];
    return NULL;
}

static const OptRule *rule_of(const Optimizer *o) {
    for (size_t i = 0; i < sizeof opt_rules / sizeof opt_rules[0]; i++)
        if (opt_rules[i].kind == o->kind)
            return &opt_rules[i];
    return NULL;
}

int optim_configure(LowerCtx *c, const Stmt *s) {
    const Expr *call = s->expr;
    const Builtin *b = builtin_find(call->str);
    if (!b || b->kind != CK_OPT) {
        diag_error(call->loc, "'%s' is not an optimizer (sgd, adam, adamw, adagrad, rmsprop, adadelta, adamax, nadam)",
                   call->str);
        return -1;
    }
    if (b->pending) {
        diag_error(call->loc, "the optimizer '%s' is not supported yet", call->str);
        return -1;
    }
    Bound bound;
    if (lower_bind(c, b, call, &bound) < 0)
        return -1;
    const OptRule *rule = find_rule(call->str);
    if (!rule)
        nn_unreachable("the optimizer %s has a builtin row but no optimizer rule", call->str);
    Optimizer *o = &c->g->opt;
    o->kind = rule->kind;
    o->name = rule->name;
    o->loc = call->loc;
    o->lr = bound.num[0];
    for (int i = 1; i < b->nargs; i++)
        o->hp[i - 1] = bound.num[i];
    return rule->validate(&bound) ? -1 : 0;
}

int optim_state(const Optimizer *o, const char **names) {
    const OptRule *rule = rule_of(o);
    return rule ? rule->state(o, names) : 0;
}

const char *optim_scalar(const Optimizer *o, double *init) {
    const OptRule *rule = rule_of(o);
    if (!rule || !rule->scalar)
        return NULL;
    *init = rule->scalar_init;
    return rule->scalar;
}

void optim_prologue(Emit *e) {
    const OptRule *rule = rule_of(&e->g->opt);
    if (rule)
        rule->prologue(e, &e->g->opt);
}

int optim_build(Graph *g) {
    if (g->infer_only || g->loss_train < 0)
        return 0;
    const OptRule *rule = find_rule(g->opt.name);
    for (int i = 0; i < g->nparams; i++) {
        const Param *p = &g->params[i];
        if (p->grad < 0)
            continue;
        int in[2] = {p->node, p->grad};
        int u = ir_add(g, rule->update, FN_UPDATE, g->opt.loc, 2, in);
        Node *n = ir_node(g, u);
        n->s = p->name;
        for (int k = 0; k < 8; k++)
            n->f[k] = g->opt.hp[k];
        if (shape_check_node(g, u) < 0)
            return -1;
    }
    return 0;
}
