/*
 * lower.c - AST to IR of primitive ops, and the helpers the layer
 * lowerings use: each callable's lowering function is in the ops/ file of
 * its op family (builtins.c names it) and builds its nodes, parameters and
 * buffers through lower_node*, lower_reshape, lower_layer_param,
 * lower_layer_buffer, lower_axis.
 *
 * The program is lowered twice from the same AST: once in inference mode
 * (FN_INFER: NET_forward, NET_loss) and, when there is a loss, once in
 * training mode (FN_TRAIN: the forward half of a training step), because
 * layers such as dropout and batchnorm differ between the two. Leaves are
 * shared: inputs, targets and parameters are created by the first lowering
 * and found again by the second (parameters by their table key), so both
 * functions read and train the same tensors. Errors are reported by the
 * first lowering; the second runs only when the first was clean.
 *
 * Every node is shape-checked as it is built (lower_node), so an error
 * points at the operator that caused it and lowering can go on with the next
 * statement (a failed definition is "poisoned": later uses are silent).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

typedef enum SymKind { SYM_TENSOR, SYM_CONST, SYM_POISON } SymKind;

struct Sym {
    const char *name;
    SymKind kind;
    int node;
    double value;
    Loc loc;
};

/* ---- the symbol table: an array of entries, found by name (base's StrMap) --- */

static Sym *sym_find(LowerCtx *c, const char *name) {
    int i;
    return strmap_get(&c->names, name, &i) ? &c->syms[i] : NULL;
}

/* Defines a name; a second definition is an error pointing at the first.
 * The entry returned stays valid until the next definition. */
static Sym *sym_define(LowerCtx *c, const char *name, Loc loc, SymKind kind) {
    const Sym *old = sym_find(c, name);
    if (old) {
        diag_error(loc, "'%s' is already defined", name);
        diag_note(old->loc, "'%s' was defined here", name);
        return NULL;
    }
    if (c->nsyms == c->symcap) {
        int cap = c->symcap ? c->symcap * 2 : 64;
        Sym *syms = arena_alloc(c->g->arena, sizeof(Sym) * (size_t)cap);
        if (c->nsyms)
            memcpy(syms, c->syms, sizeof(Sym) * (size_t)c->nsyms);
        c->syms = syms;
        c->symcap = cap;
    }
    strmap_put(&c->names, name, c->nsyms);
    Sym *s = &c->syms[c->nsyms];
    s->name = name;
    s->kind = kind;
    s->loc = loc;
    s->node = -1;
    c->nsyms++;
    return s;
}

/* ---- nodes ---------------------------------------------------------------- */

int lower_node_axis(LowerCtx *c, Op op, Loc loc, int nin, const int *in, int axis) {
    for (int k = 0; k < nin; k++)
        if (in[k] < 0)
            return -1;
    int id = ir_add(c->g, op, c->fn, loc, nin, in);
    ir_node(c->g, id)->i[0] = axis;
    if (shape_check_node(c->g, id) < 0) {
        ir_node(c->g, id)->dead = 1;
        return -1;
    }
    return id;
}

int lower_node(LowerCtx *c, Op op, Loc loc, int nin, const int *in) {
    return lower_node_axis(c, op, loc, nin, in, 0);
}

int lower_node1(LowerCtx *c, Op op, Loc loc, int a) {
    return lower_node(c, op, loc, 1, &a);
}

int lower_node2(LowerCtx *c, Op op, Loc loc, int a, int b) {
    int in[2] = {a, b};
    return lower_node(c, op, loc, 2, in);
}

int lower_const(LowerCtx *c, double v, Loc loc) {
    int id = ir_add(c->g, OP_CONST, FN_NONE, loc, 0, NULL);
    ir_node(c->g, id)->f[0] = v;
    return id;
}

int lower_node_shaped(LowerCtx *c, Op op, Func fn, Loc loc, int nin, const int *in, const Shape *s) {
    for (int k = 0; k < nin; k++)
        if (in[k] < 0)
            return -1;
    int id = ir_add(c->g, op, fn, loc, nin, in);
    ir_node(c->g, id)->shape = *s;
    if (shape_check_node(c->g, id) < 0) {
        ir_node(c->g, id)->dead = 1;
        return -1;
    }
    return id;
}

int lower_reshape(LowerCtx *c, int x, const Shape *to, Loc loc) {
    if (x < 0)
        return -1;
    if (shape_equal(&c->g->nodes[x].shape, to))
        return x;
    return lower_node_shaped(c, OP_RESHAPE, c->fn, loc, 1, &x, to);
}

/* ---- shared by the layer lowerings of ops/ ------------------------------------- */

int lower_axis(LowerCtx *c, int x, int axis, Loc loc) {
    const Shape *s = &c->g->nodes[x].shape;
    int a = axis < 0 ? axis + s->rank : axis;
    if (s->rank == 0 || a < 0 || a >= s->rank) {
        Buf b = {0};
        shape_print(&b, s);
        diag_error(loc, "axis %d is out of range for a tensor of shape %s (axes count the per-sample dims from 0)",
                   axis, b.data);
        buf_free(&b);
        return -1;
    }
    return a;
}

Shape lower_flat_shape(const Shape *s) {
    Shape f = {0};
    f.batched = s->batched;
    f.rank = 1;
    f.dims[0] = (int)shape_numel(s);
    return f;
}

Shape lower_channel_shape(const Shape *x) {
    Shape s = *x;
    s.batched = 0;
    for (int d = 1; d < s.rank; d++)
        s.dims[d] = 1;
    return s;
}

/* ---- compile-time numbers ------------------------------------------------------ */

/* number := literal | const name | -number | number (+ - * / ^) number */
int lower_number(LowerCtx *c, const Expr *e, double *out) {
    double a, b;
    switch (e->kind) {
    case EX_NUM:
        *out = e->num;
        return 0;
    case EX_NEG:
        if (lower_number(c, e->lhs, &a) < 0)
            return -1;
        *out = -a;
        return 0;
    case EX_NAME: {
        Sym *s = sym_find(c, e->str);
        if (!s) {
            diag_error(e->loc, "undefined name '%s'", e->str);
            return -1;
        }
        if (s->kind == SYM_POISON)
            return -1;
        if (s->kind != SYM_CONST) {
            diag_error(e->loc, "expected a number, but '%s' is a tensor", e->str);
            return -1;
        }
        *out = s->value;
        return 0;
    }
    case EX_BIN:
        if (e->op == '@')
            break;
        if (lower_number(c, e->lhs, &a) < 0 || lower_number(c, e->rhs, &b) < 0)
            return -1;
        switch (e->op) {
        case '+':
            *out = a + b;
            break;
        case '-':
            *out = a - b;
            break;
        case '*':
            *out = a * b;
            break;
        case '/':
            *out = a / b;
            break;
        default:
            *out = pow(a, b);
            break;
        }
        if (!isfinite(*out)) {
            diag_error(e->loc, "this constant expression is not a finite number");
            return -1;
        }
        return 0;
    default:
        break;
    }
    diag_error(e->start, "expected a number");
    return -1;
}

static int lower_integer(LowerCtx *c, const Expr *e, double *out) {
    if (lower_number(c, e, out) < 0)
        return -1;
    if (*out != floor(*out) || fabs(*out) > 2147483647.0) {
        diag_error(e->start, "expected an integer, got %g", *out);
        return -1;
    }
    return 0;
}

/* dims := '[' int (',' int)* ']', each >= 1, rank in [lo, hi], per-sample
 * size times the batch (when batched) below 2^31. */
static int lower_dims(LowerCtx *c, const Expr *list, int lo, int hi, int batched, Shape *out) {
    memset(out, 0, sizeof *out);
    out->batched = batched;
    int rank = ast_arg_count(list->args);
    if (rank < lo || rank > hi) {
        diag_error(list->start, "expected %d to %d dimensions, got %d", lo, hi, rank);
        return -1;
    }
    double total = batched ? c->g->max_batch : 1;
    int i = 0;
    for (const Arg *a = list->args; a; a = a->next, i++) {
        double d;
        if (lower_integer(c, a->value, &d) < 0)
            return -1;
        if (d < 1) {
            diag_error(a->value->start, "a dimension must be an integer >= 1, got %g", d);
            return -1;
        }
        total *= d;
        if (total >= 2147483648.0) {
            if (batched)
                diag_error(a->value->start,
                           "this tensor has too many elements (%.0f per sample, %.0f for "
                           "a batch of %d; the limit is 2^31)",
                           total / c->g->max_batch, total, c->g->max_batch);
            else
                diag_error(a->value->start, "this tensor has too many elements (%.0f; the limit is 2^31)", total);
            return -1;
        }
        out->dims[i] = (int)d;
    }
    out->rank = rank;
    return 0;
}

/* ---- argument binding --------------------------------------------------------- */

static int find_arg(const Builtin *b, const char *name) {
    for (int i = 0; i < b->nargs; i++)
        if (strcmp(b->args[i].name, name) == 0)
            return i;
    return -1;
}

/* Places each argument in its signature slot: positionals first, in order,
 * then named ones; reports repeats, unknown names and positional-after-named. */
static int place_args(const Builtin *b, const Expr *call, Bound *out) {
    int pos = 0, named = 0, bad = 0;
    for (const Arg *a = call->args; a; a = a->next) {
        int slot;
        if (a->name) {
            named = 1;
            slot = find_arg(b, a->name);
            if (slot < 0) {
                diag_error(a->name_loc, "'%s' has no argument named '%s'", b->name, a->name);
                bad = 1;
                continue;
            }
            if (b->args[slot].kind == AK_TENSOR) {
                diag_error(a->name_loc, "the tensor argument '%s' of '%s' must be given by position", a->name, b->name);
                bad = 1;
                continue;
            }
        } else {
            if (named) {
                diag_error(a->value->start, "a positional argument cannot follow a named one");
                bad = 1;
                continue;
            }
            slot = pos++;
            if (slot >= b->nargs) {
                diag_error(a->value->start, "too many arguments: '%s' takes at most %d", b->name, b->nargs);
                bad = 1;
                break;
            }
        }
        if (out->given[slot]) {
            diag_error(a->name ? a->name_loc : a->value->start, "argument '%s' of '%s' is given twice",
                       b->args[slot].name, b->name);
            bad = 1;
            continue;
        }
        out->given[slot] = a->value;
        out->loc[slot] = a->value->start;
    }
    return bad ? -1 : 0;
}

/* A default's text as the value of its kind. */
static void apply_default(const Builtin *b, int i, Loc call_loc, Bound *out) {
    const char *def = b->args[i].def;
    out->loc[i] = call_loc;
    out->present[i] = *def != '\0';
    switch (b->args[i].kind) {
    case AK_BOOL:
        out->num[i] = strcmp(def, "true") == 0;
        break;
    case AK_STR:
        out->str[i] = def[0] == '"' ? def + 1 : def;
        break; /* closing quote trimmed below */
    case AK_INT2:
        out->pair[i][0] = out->pair[i][1] = atoi(def);
        break;
    default:
        out->num[i] = strtod(def, NULL);
        break;
    }
}

static int eval_bool(const Expr *e, double *out) {
    if (e->kind != EX_BOOL) {
        diag_error(e->start, "expected true or false");
        return -1;
    }
    *out = e->num;
    return 0;
}

/* int2 := int | '[' int ',' int ']' (kernel sizes, strides, padding) */
static int eval_int2(LowerCtx *c, const Expr *e, int pair[2]) {
    double v[2];
    if (e->kind != EX_LIST) {
        if (lower_integer(c, e, &v[0]) < 0)
            return -1;
        v[1] = v[0];
    } else {
        if (ast_arg_count(e->args) != 2) {
            diag_error(e->start, "expected a number or a list of two numbers [h, w]");
            return -1;
        }
        if (lower_integer(c, e->args->value, &v[0]) < 0 || lower_integer(c, e->args->next->value, &v[1]) < 0)
            return -1;
    }
    pair[0] = (int)v[0];
    pair[1] = (int)v[1];
    return 0;
}

static int eval_arg(LowerCtx *c, const Builtin *b, int i, Bound *out) {
    const Expr *e = out->given[i];
    out->present[i] = 1;
    switch (b->args[i].kind) {
    case AK_TENSOR:
        return (out->node[i] = lower_expr(c, e)) < 0 ? -1 : 0;
    case AK_NUM:
        return lower_number(c, e, &out->num[i]);
    case AK_INT:
        return lower_integer(c, e, &out->num[i]);
    case AK_BOOL:
        return eval_bool(e, &out->num[i]);
    case AK_INT2:
        return eval_int2(c, e, out->pair[i]);
    case AK_INIT:
        out->init[i] = e;
        return 0;
    case AK_DIMS:
        if (e->kind != EX_LIST) {
            diag_error(e->start, "expected a list of dimensions such as [4, 8]");
            return -1;
        }
        return 0;
    case AK_STR:
        if (e->kind != EX_STR) {
            diag_error(e->start, "expected a string in double quotes");
            return -1;
        }
        out->str[i] = e->str;
        return 0;
    }
    return -1;
}

int lower_bind(LowerCtx *c, const Builtin *b, const Expr *call, Bound *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < NN_MAX_ARGS; i++)
        out->node[i] = -1;
    int bad = place_args(b, call, out) < 0;
    for (int i = 0; i < b->nargs && !bad; i++) {
        if (out->given[i])
            bad |= eval_arg(c, b, i, out) < 0;
        else if (!b->args[i].def) {
            diag_error(call->loc, "'%s' needs the argument '%s'", b->name, b->args[i].name);
            bad = 1;
        } else if (b->args[i].def[0] != '=')
            apply_default(b, i, call->loc, out);
    }
    /* defaults that name another argument ("stride=kernel") */
    for (int i = 0; i < b->nargs && !bad; i++) {
        if (!out->given[i] && b->args[i].def && b->args[i].def[0] == '=') {
            int from = find_arg(b, b->args[i].def + 1);
            memcpy(out->pair[i], out->pair[from], sizeof out->pair[i]);
            out->num[i] = out->num[from];
            out->present[i] = 1;
        }
    }
    for (int i = 0; i < b->nargs; i++) /* trim the quote of string defaults */
        if (!out->given[i] && b->args[i].kind == AK_STR && out->str[i]) {
            size_t len = strlen(out->str[i]);
            out->str[i] = arena_strndup(c->g->arena, out->str[i], len && out->str[i][len - 1] == '"' ? len - 1 : len);
        }
    return bad ? -1 : 0;
}

/* ---- parameters and initializers ------------------------------------------------ */

static const struct {
    const char *name;
    InitKind kind;
} init_names[] = {
    {"zeros", INIT_ZEROS},
    {"ones", INIT_ONES},
    {"constant", INIT_CONSTANT},
    {"uniform", INIT_UNIFORM},
    {"normal", INIT_NORMAL},
    {"xavier_uniform", INIT_XAVIER_UNIFORM},
    {"xavier_normal", INIT_XAVIER_NORMAL},
    {"he_uniform", INIT_HE_UNIFORM},
    {"he_normal", INIT_HE_NORMAL},
};

static int init_kind_of(const char *name) {
    for (size_t i = 0; i < sizeof init_names / sizeof init_names[0]; i++)
        if (strcmp(init_names[i].name, name) == 0)
            return (int)init_names[i].kind;
    return -1;
}

/* init := NAME | NAME '(' args ')' naming an initializer of docs/language.md */
int lower_init(LowerCtx *c, const Expr *init, const char *def, Loc loc, Param *p) {
    const char *name = init ? init->str : def;
    if (init && init->kind != EX_NAME && init->kind != EX_CALL) {
        diag_error(init->start, "expected an initializer such as zeros or normal(0, 0.1)");
        return -1;
    }
    const Builtin *b = builtin_find(name);
    if (!b || b->kind != CK_INIT) {
        diag_error(init ? init->loc : loc, "'%s' is not an initializer", name);
        return -1;
    }
    Bound bound;
    memset(&bound, 0, sizeof bound);
    if (init && init->kind == EX_CALL) {
        if (lower_bind(c, b, init, &bound) < 0)
            return -1;
    } else if (b->nargs > 0) {
        diag_error(init ? init->loc : loc, "the initializer '%s' needs arguments (%s%s%s)", name, b->args[0].name,
                   b->nargs > 1 ? ", " : "", b->nargs > 1 ? b->args[1].name : "");
        return -1;
    }
    p->init = (Expr *)init;
    p->init_kind = init_kind_of(name);
    p->init_a = bound.num[0];
    p->init_b = bound.num[1];
    if (p->init_kind == INIT_NORMAL && p->init_b < 0) {
        diag_error(bound.loc[1], "normal's std must be >= 0, got %g", p->init_b);
        return -1;
    }
    if (p->init_kind == INIT_UNIFORM && p->init_a > p->init_b) { /* PyTorch's uniform_ refuses it */
        diag_error(bound.loc[1], "uniform's bounds must satisfy a <= b, got a = %g and b = %g", p->init_a, p->init_b);
        return -1;
    }
    return 0;
}

static Param *find_param_by_key(Graph *g, long key) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].sort_key == key)
            return &g->params[i];
    return NULL;
}

static Param *add_param(Graph *g) {
    if ((g->nparams & (g->nparams - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        Param *p = arena_alloc(g->arena, sizeof(Param) * (size_t)(g->nparams ? g->nparams * 2 : 4));
        if (g->nparams)
            memcpy(p, g->params, sizeof(Param) * (size_t)g->nparams);
        g->params = p;
    }
    Param *p = &g->params[g->nparams++];
    memset(p, 0, sizeof *p);
    p->grad = -1;
    return p;
}

/* Creates a parameter (first lowering) or finds it again (second). */
static int make_param(LowerCtx *c, const char *name, Loc loc, const Shape *shape, const Expr *init, const char *def,
                      int is_weight, long key) {
    Param *p = find_param_by_key(c->g, key);
    if (!p) {
        Param tmp = {0};
        if (shape_check_size(c->g, loc, arena_printf(c->g->arena, "the parameter '%s'", name), shape) < 0 ||
            lower_init(c, init, def, init ? init->start : loc, &tmp) < 0)
            return -1;
        p = add_param(c->g);
        *p = tmp;
        p->name = name;
        p->loc = loc;
        p->is_weight = is_weight;
        p->sort_key = key;
        p->grad = -1;
        p->node = ir_add(c->g, OP_PARAM, FN_NONE, loc, 0, NULL);
        Node *n = ir_node(c->g, p->node);
        n->shape = *shape;
        n->s = name;
        n->name = name;
    }
    Sym *s = sym_define(c, name, loc, SYM_TENSOR);
    if (s)
        s->node = p->node;
    return p->node;
}

static long param_key(int stmt, int layer, int slot) {
    return ((long)stmt << 24) | ((long)layer << 8) | slot;
}

static int layer_index(LowerCtx *c, const Expr *call) {
    for (int i = 0; i < c->nlayers; i++)
        if (c->layers[i] == call)
            return i;
    nn_unreachable("layer call not numbered");
}

int lower_layer_param(LowerCtx *c, const Expr *call, int slot, const char *suffix, const Shape *shape, const Expr *init,
                      const char *init_default, int is_weight) {
    int layer = layer_index(c, call);
    const char *name = layer ? arena_printf(c->g->arena, "%s.%d.%s", c->stmt->name, layer, suffix)
                             : arena_printf(c->g->arena, "%s.%s", c->stmt->name, suffix);
    return make_param(c, name, call->loc, shape, init, init_default, is_weight, param_key(c->stmt_index, layer, slot));
}

/* ---- buffers: model state that is not trained (running statistics) ---------- */

static Buffer *find_buffer_by_key(Graph *g, long key) {
    for (int i = 0; i < g->nbuffers; i++)
        if (g->buffers[i].sort_key == key)
            return &g->buffers[i];
    return NULL;
}

static Buffer *add_buffer(Graph *g) {
    if ((g->nbuffers & (g->nbuffers - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        Buffer *b = arena_alloc(g->arena, sizeof(Buffer) * (size_t)(g->nbuffers ? g->nbuffers * 2 : 4));
        if (g->nbuffers)
            memcpy(b, g->buffers, sizeof(Buffer) * (size_t)g->nbuffers);
        g->buffers = b;
    }
    Buffer *b = &g->buffers[g->nbuffers++];
    memset(b, 0, sizeof *b);
    return b;
}

/* STMT.suffix (STMT.k.suffix for the k-th layer call), keyed like parameters */
int lower_layer_buffer(LowerCtx *c, const Expr *call, int slot, const char *suffix, const Shape *shape, double init) {
    int layer = layer_index(c, call);
    long key = param_key(c->stmt_index, layer, slot);
    Buffer *b = find_buffer_by_key(c->g, key);
    if (!b) {
        const char *name = layer ? arena_printf(c->g->arena, "%s.%d.%s", c->stmt->name, layer, suffix)
                                 : arena_printf(c->g->arena, "%s.%s", c->stmt->name, suffix);
        if (shape_check_size(c->g, call->loc, arena_printf(c->g->arena, "the buffer '%s'", name), shape) < 0)
            return -1;
        b = add_buffer(c->g);
        b->name = name;
        b->init = init;
        b->sort_key = key;
        b->loc = call->loc;
        b->node = ir_add(c->g, OP_BUFFER, FN_NONE, call->loc, 0, NULL);
        Node *n = ir_node(c->g, b->node);
        n->shape = *shape;
        n->s = n->name = name;
    }
    Sym *s = sym_define(c, b->name, call->loc, SYM_TENSOR);
    if (s)
        s->node = b->node;
    return b->node;
}

/* ---- layer numbering: calls in the order their names stand in the text ------- */

static void collect_layers(const Expr *e, const Expr **out, int *n, int cap) {
    if (!e)
        return;
    if (e->kind == EX_CALL) {
        const Builtin *b = builtin_find(e->str);
        if (b && b->kind == CK_LAYER && *n < cap)
            out[(*n)++] = e;
        for (const Arg *a = e->args; a; a = a->next)
            collect_layers(a->value, out, n, cap);
    } else if (e->kind == EX_LIST) {
        for (const Arg *a = e->args; a; a = a->next)
            collect_layers(a->value, out, n, cap);
    }
    collect_layers(e->lhs, out, n, cap);
    collect_layers(e->rhs, out, n, cap);
}

static int count_calls(const Expr *e) {
    if (!e)
        return 0;
    int n = e->kind == EX_CALL;
    for (const Arg *a = e->args; a; a = a->next)
        n += count_calls(a->value);
    return n + count_calls(e->lhs) + count_calls(e->rhs);
}

static int cmp_call_loc(const void *pa, const void *pb) {
    const Expr *a = *(const Expr *const *)pa, *b = *(const Expr *const *)pb;
    return a->loc.line != b->loc.line ? a->loc.line - b->loc.line : a->loc.col - b->loc.col;
}

static void number_layers(LowerCtx *c, const Expr *e) {
    int cap = count_calls(e);
    c->layers = arena_alloc(c->g->arena, sizeof(Expr *) * (size_t)(cap + 1));
    c->nlayers = 0;
    collect_layers(e, c->layers, &c->nlayers, cap);
    qsort(c->layers, (size_t)c->nlayers, sizeof *c->layers, cmp_call_loc);
}

/* ---- expressions ------------------------------------------------------------- */

static int lower_call(LowerCtx *c, const Expr *e) {
    const Builtin *b = builtin_find(e->str);
    if (!b) {
        const char *near = builtin_suggest(e->str);
        if (near)
            diag_error(e->loc, "unknown function '%s'; did you mean '%s'?", e->str, near);
        else
            diag_error(e->loc, "unknown function '%s'", e->str);
        return -1;
    }
    if (b->kind != CK_PRIM && b->kind != CK_ACT && b->kind != CK_LAYER && b->kind != CK_LOSS) {
        diag_error(e->loc, "'%s' is %s, not a function of tensors", e->str, builtin_kind_name(b->kind));
        return -1;
    }
    if (b->kind == CK_LAYER && (c->in_loss || !c->stmt->name)) {
        diag_error(e->loc,
                   "a layer call such as '%s' is allowed only in 'NAME = ...' and 'output NAME = ...' statements",
                   e->str);
        return -1;
    }
    if (b->pending) {
        diag_error(e->loc, "'%s' is not supported yet", e->str);
        return -1;
    }
    Bound bound;
    if (lower_bind(c, b, e, &bound) < 0)
        return -1;
    return b->lower(c, e, &bound);
}

static int lower_name(LowerCtx *c, const Expr *e) {
    Sym *s = sym_find(c, e->str);
    if (!s) {
        diag_error(e->loc, "undefined name '%s'", e->str);
        return -1;
    }
    if (s->kind == SYM_POISON)
        return -1;
    if (s->kind == SYM_CONST)
        return lower_const(c, s->value, e->loc);
    return s->node;
}

static Op binary_op(int op) {
    switch (op) {
    case '+':
        return OP_ADD;
    case '-':
        return OP_SUB;
    case '*':
        return OP_MUL;
    default:
        return OP_DIV;
    }
}

/* bin := expr op expr, with '^' only by a compile-time number */
static int lower_binary(LowerCtx *c, const Expr *e) {
    if (e->op == '^') {
        double k;
        int x = lower_expr(c, e->lhs);
        if (lower_number(c, e->rhs, &k) < 0 || x < 0)
            return -1;
        int id = lower_node1(c, OP_POWC, e->loc, x);
        if (id >= 0)
            ir_node(c->g, id)->f[0] = k;
        return id;
    }
    int a = lower_expr(c, e->lhs), b = lower_expr(c, e->rhs);
    if (a < 0 || b < 0)
        return -1;
    if (e->op == '@')
        return layer_matmul(c, e->loc, a, b);
    return lower_node2(c, binary_op(e->op), e->loc, a, b);
}

int lower_expr(LowerCtx *c, const Expr *e) {
    switch (e->kind) {
    case EX_NUM:
        return lower_const(c, e->num, e->loc);
    case EX_NAME:
        return lower_name(c, e);
    case EX_NEG: {
        int x = lower_expr(c, e->lhs);
        return x < 0 ? -1 : lower_node1(c, OP_NEG, e->loc, x);
    }
    case EX_BIN:
        return lower_binary(c, e);
    case EX_CALL:
        return lower_call(c, e);
    case EX_STR:
        diag_error(e->start, "a string is not a tensor");
        return -1;
    case EX_BOOL:
        diag_error(e->start, "true and false are not tensors");
        return -1;
    case EX_LIST:
        diag_error(e->start, "a list is not a tensor");
        return -1;
    }
    return -1;
}

/* ---- statements ---------------------------------------------------------------- */

static const char *const c_keywords[] = {
    "auto",     "break",     "case",           "char",          "const",      "continue", "default",  "do",
    "double",   "else",      "enum",           "extern",        "float",      "for",      "goto",     "if",
    "inline",   "int",       "long",           "register",      "restrict",   "return",   "short",    "signed",
    "sizeof",   "static",    "struct",         "switch",        "typedef",    "union",    "unsigned", "void",
    "volatile", "while",     "_Bool",          "_Complex",      "_Imaginary", "_Alignas", "_Alignof", "_Atomic",
    "_Generic", "_Noreturn", "_Static_assert", "_Thread_local",
};

int lower_is_c_keyword(const char *s) {
    for (size_t i = 0; i < sizeof c_keywords / sizeof c_keywords[0]; i++)
        if (strcmp(c_keywords[i], s) == 0)
            return 1;
    return 0;
}

/* network NAME: a C identifier, no keyword, nothing starting with "nn" in
 * any case (nngen's own prefixes), and no name the headers of the generated
 * code or of the trainer declare (a network named like a local of the
 * generated functions, m or n, compiles: the local hides the type) */
static int lower_network(LowerCtx *c, const Stmt *s) {
    const char *n = s->name;
    if (lower_is_c_keyword(n) || (tolower((unsigned char)n[0]) == 'n' && tolower((unsigned char)n[1]) == 'n') ||
        (n[0] == '_' && (n[1] == '_' || (n[1] >= 'A' && n[1] <= 'Z')))) {
        diag_error(s->name_loc,
                   "'%s' cannot name a network: it prefixes the generated C symbols, so it "
                   "may not be a C keyword, a reserved identifier, or start with 'nn' in any case (nngen's "
                   "own prefixes: nn_, nnrt_, NN_, nnt_, nndata_)",
                   n);
        return -1;
    }
    if (lower_is_library_name(n)) {
        diag_error(s->name_loc,
                   "'%s' cannot name a network: the generated code or nngen train's trainer "
                   "includes C library headers that declare '%s' or declares it itself, and the model type "
                   "'typedef struct %s %s' would clash with it",
                   n, n, n, n);
        return -1;
    }
    c->g->net = n;
    return 0;
}

static int find_port(const Graph *g, const char *name) {
    for (int i = 0; i < g->nports; i++)
        if (strcmp(g->ports[i].name, name) == 0)
            return i;
    return -1;
}

static Port *add_port(Graph *g) {
    if ((g->nports & (g->nports - 1)) == 0) {
        Port *p = arena_alloc(g->arena, sizeof(Port) * (size_t)(g->nports ? g->nports * 2 : 4));
        if (g->nports)
            memcpy(p, g->ports, sizeof(Port) * (size_t)g->nports);
        g->ports = p;
    }
    Port *p = &g->ports[g->nports++];
    memset(p, 0, sizeof *p);
    return p;
}

/* docs/c-api.md upper-cases names in macros (NET_IN_X_SIZE, NET_OUT_P_SIZE):
 * two names that differ only in case would define one macro twice. */
static int same_upper(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* "both would define the macro NET_OUT_P_SIZE" */
static int macro_clash(LowerCtx *c, const char *name, Loc loc, const char *other, Loc other_loc, const char *kind,
                       const char *suffix) {
    char *macro = arena_printf(c->g->arena, "%s_%s_%s%s", c->g->net ? c->g->net : "NET", kind, name, suffix);
    for (char *m = macro; *m; m++)
        *m = (char)toupper((unsigned char)*m);
    diag_error(loc, "'%s' and '%s' differ only in case: both would define the macro %s", name, other, macro);
    diag_note(other_loc, "'%s' is declared here", other);
    return -1;
}

/* input NAME[dims] | target NAME[dims] | target NAME : class(K) */
static int lower_port(LowerCtx *c, const Stmt *s) {
    Sym *sym = sym_define(c, s->name, s->name_loc, SYM_POISON);
    if (!sym)
        return -1;
    int existing = find_port(c->g, s->name);
    if (existing >= 0) { /* second lowering */
        sym->kind = SYM_TENSOR;
        sym->node = c->g->ports[existing].node;
        return 0;
    }
    Shape shape = {0};
    double k = 0;
    if (s->kind == ST_TARGET_CLASS) {
        if (lower_integer(c, s->expr, &k) < 0)
            return -1;
        if (k < 2) {
            diag_error(s->expr->start, "a class target needs at least 2 classes, got %g", k);
            return -1;
        }
        shape.batched = 1;
    } else if (lower_dims(c, s->dims, 1, 3, 1, &shape) < 0)
        return -1;
    Op op = s->kind == ST_INPUT ? OP_INPUT : s->kind == ST_TARGET ? OP_TARGET : OP_LABEL;
    for (int i = 0; i < c->g->nports; i++) {
        const Port *q = &c->g->ports[i];
        if (q->is_target == (s->kind != ST_INPUT) && q->is_class == (s->kind == ST_TARGET_CLASS) &&
            same_upper(q->name, s->name))
            return macro_clash(c, s->name, s->name_loc, q->name, c->g->nodes[q->node].loc,
                               s->kind == ST_INPUT ? "IN" : "TARGET",
                               s->kind == ST_TARGET_CLASS ? "_CLASSES" : "_SIZE");
    }
    Port *p = add_port(c->g);
    p->name = s->name;
    p->shape = shape;
    p->is_target = s->kind != ST_INPUT;
    p->is_class = s->kind == ST_TARGET_CLASS;
    p->classes = (int)k;
    p->node = ir_add(c->g, op, FN_NONE, s->name_loc, 0, NULL);
    Node *n = ir_node(c->g, p->node);
    n->shape = shape;
    n->s = n->name = s->name;
    n->i[0] = (int)k;
    sym->kind = SYM_TENSOR;
    sym->node = p->node;
    return 0;
}

/* param NAME[dims] [init=INIT] */
static int lower_param_stmt(LowerCtx *c, const Stmt *s) {
    Shape shape;
    if (lower_dims(c, s->dims, 1, 4, 0, &shape) < 0) {
        sym_define(c, s->name, s->name_loc, SYM_POISON);
        return -1;
    }
    const char *def = shape.rank >= 2 ? "xavier_uniform" : "zeros";
    int id = make_param(c, s->name, s->name_loc, &shape, s->init, def, shape.rank >= 2, param_key(c->stmt_index, 0, 0));
    if (id < 0 && !sym_find(c, s->name))
        sym_define(c, s->name, s->name_loc, SYM_POISON);
    return id < 0 ? -1 : 0;
}

static int lower_const_stmt(LowerCtx *c, const Stmt *s) {
    double v;
    int ok = lower_number(c, s->expr, &v) == 0;
    Sym *sym = sym_define(c, s->name, s->name_loc, ok ? SYM_CONST : SYM_POISON);
    if (sym)
        sym->value = v;
    return ok && sym ? 0 : -1;
}

static int add_output(Graph *g, const char *name, int node) {
    Output *o = arena_alloc(g->arena, sizeof(Output) * (size_t)(g->noutputs + 1));
    if (g->noutputs)
        memcpy(o, g->outputs, sizeof(Output) * (size_t)g->noutputs);
    o[g->noutputs].name = name;
    o[g->noutputs].node = node;
    g->outputs = o;
    g->noutputs++;
    return 0;
}

/* The target (or class target) that node id reads, directly or not; -1 if
 * none. Inputs have smaller ids than their users, so one sweep down does. */
static int target_read_by(const Graph *g, int id) {
    char *seen = arena_alloc(g->arena, (size_t)id + 1);
    seen[id] = 1;
    for (int v = id; v >= 0; v--) {
        if (!seen[v])
            continue;
        const Node *n = &g->nodes[v];
        if (n->op == OP_TARGET || n->op == OP_LABEL)
            return v;
        for (int k = 0; k < n->nin; k++)
            seen[n->in[k]] = 1;
    }
    return -1;
}

/* NAME = EXPR | output NAME = EXPR */
static int lower_assign(LowerCtx *c, const Stmt *s) {
    number_layers(c, s->expr);
    int id = lower_expr(c, s->expr);
    Sym *sym = sym_define(c, s->name, s->name_loc, id < 0 ? SYM_POISON : SYM_TENSOR);
    if (id < 0 || !sym)
        return -1;
    sym->node = id;
    Node *n = ir_node(c->g, id);
    if (!n->name && !(op_info(n->op)->flags & OPF_LEAF))
        n->name = s->name;
    if (s->kind == ST_OUTPUT && c->mode == MODE_INFER) {
        if (!n->shape.batched) {
            diag_error(s->expr->start,
                       "an output must depend on an input (it is returned per sample), "
                       "but '%s' has no batch dimension",
                       s->name);
            return -1;
        }
        if (n->op == OP_CONST) {
            diag_error(s->expr->start, "'%s' cannot be an output", s->name);
            return -1;
        }
        int t = target_read_by(c->g, id);
        if (t >= 0) {
            diag_error(s->expr->start,
                       "an output cannot depend on the target '%s': "
                       "NET_forward is given the inputs only",
                       c->g->nodes[t].name);
            return -1;
        }
        for (int i = 0; i < c->g->noutputs; i++)
            if (same_upper(c->g->outputs[i].name, s->name))
                return macro_clash(c, s->name, s->name_loc, c->g->outputs[i].name,
                                   sym_find(c, c->g->outputs[i].name)->loc, "OUT", "_SIZE");
        add_output(c->g, s->name, id);
    }
    return 0;
}

/* A frozen parameter named in regularize: an error (it is never trained). */
static int regularized_frozen(LowerCtx *c, const Expr *name) {
    for (int i = 0; i < c->g->nparams; i++) {
        const Param *p = &c->g->params[i];
        if (strcmp(p->name, name->str) != 0 || !p->frozen)
            continue;
        diag_error(name->start, "cannot regularize '%s': it is frozen, and a frozen parameter is never trained",
                   name->str);
        diag_note(p->frozen_at, "'%s' is frozen here", p->name);
        return 1;
    }
    return 0;
}

/* regularize l1|l2(LAMBDA[, P...]): the term added to the loss. */
static int lower_regularizer(LowerCtx *c, const Stmt *s) {
    const Expr *call = s->expr;
    const Builtin *b = call->kind == EX_CALL ? builtin_find(call->str) : NULL;
    if (!b || b->kind != CK_REG) {
        diag_error(call->loc, "expected l1(LAMBDA, ...) or l2(LAMBDA, ...)");
        return -1;
    }
    const Arg *a = call->args;
    double lambda;
    if (!a) {
        diag_error(call->loc, "'%s' needs the argument 'lambda'", b->name);
        return -1;
    }
    if ((a->name && strcmp(a->name, "lambda") != 0) || lower_number(c, a->value, &lambda) < 0) {
        if (a->name && strcmp(a->name, "lambda") != 0)
            diag_error(a->name_loc, "the first argument of '%s' is lambda", b->name);
        return -1;
    }
    if (lambda < 0) {
        diag_error(a->value->start, "lambda must be >= 0, got %g", lambda);
        return -1;
    }
    int term = -1, bad = 0, named = a->next != NULL;
    for (int i = 0; i < c->g->nparams; i++) {
        Param *p = &c->g->params[i];
        int use = 0;
        if (!named)
            use = p->is_weight && !p->frozen; /* a frozen parameter is not trained */
        for (const Arg *q = a->next; q && !use; q = q->next)
            use = q->value->kind == EX_NAME && strcmp(q->value->str, p->name) == 0;
        if (!use)
            continue;
        Op op = b->name[1] == '2' ? OP_POWC : OP_ABS;
        int t = lower_node1(c, op, s->loc, p->node);
        if (t >= 0 && op == OP_POWC)
            ir_node(c->g, t)->f[0] = 2;
        t = lower_node1(c, OP_SUM_ALL, s->loc, t);
        t = lower_node2(c, OP_MUL, s->loc, lower_const(c, op == OP_POWC ? lambda / 2 : lambda, s->loc), t);
        term = term < 0 ? t : lower_node2(c, OP_ADD, s->loc, term, t);
    }
    for (const Arg *q = a->next; q; q = q->next) {
        int found = 0;
        for (int i = 0; i < c->g->nparams && !found; i++)
            found = q->value->kind == EX_NAME && strcmp(q->value->str, c->g->params[i].name) == 0;
        if (q->name || !found) {
            diag_error(q->value->start, "expected the name of a parameter%s",
                       q->value->kind == EX_NAME ? arena_printf(c->g->arena, ", but '%s' is not one", q->value->str)
                                                 : "");
            bad = 1;
        } else if (regularized_frozen(c, q->value))
            bad = 1;
    }
    return bad ? -2 : term;
}

/* loss EXPR: a scalar; the regularizers are added after all statements. */
static int lower_loss(LowerCtx *c, const Stmt *s) {
    c->in_loss = 1;
    int id = lower_expr(c, s->expr);
    c->in_loss = 0;
    if (id < 0)
        return -1;
    const Node *n = ir_cnode(c->g, id);
    if (n->shape.batched || n->shape.rank != 0) {
        Buf b = {0};
        shape_print(&b, &n->shape);
        diag_error(s->expr->start,
                   "the loss must be a scalar, but this expression has shape %s "
                   "(reduce it with mean(...) or use a loss function)",
                   b.data);
        buf_free(&b);
        return -1;
    }
    return id;
}

static int lower_statement(LowerCtx *c, const Stmt *s, int *loss) {
    switch (s->kind) {
    case ST_NETWORK:
        return lower_network(c, s);
    case ST_INPUT:
    case ST_TARGET:
    case ST_TARGET_CLASS:
        return lower_port(c, s);
    case ST_PARAM:
        return lower_param_stmt(c, s);
    case ST_CONST:
        return lower_const_stmt(c, s);
    case ST_ASSIGN:
    case ST_OUTPUT:
        return lower_assign(c, s);
    case ST_LOSS:
        return (*loss = lower_loss(c, s)) < 0 ? -1 : 0;
    case ST_OPTIMIZER:
        return c->mode == MODE_INFER ? optim_configure(c, s) : 0;
    case ST_SCHEDULE:
        return c->mode == MODE_INFER ? sched_configure(c, s) : 0;
    case ST_REGULARIZE:
        return 0; /* after the loss: see lower_mode */
    case ST_FREEZE:
        return 0; /* after the statements: see lower_mode */
    }
    return -1;
}

/* ---- freeze NAME, ...: which parameters training leaves alone -------------------
 *
 * Resolved once, after the inference lowering has created every parameter
 * and before the regularizers (which skip frozen parameters) and the
 * training lowering (where a frozen statement's batchnorm reads its running
 * statistics). A NAME is, in this order of lookup:
 *   a parameter's full name (h.weight, h.1.bias) or a `param` name: that tensor;
 *   a statement that calls layers: every parameter of every layer in it, and
 *     the statement is marked frozen (its batchnorm buffers too);
 * anything else is a located error: a name defined nowhere, or one that owns
 * no parameters. */

int lower_stmt_frozen(const LowerCtx *c) {
    return c->g->frozen_stmts && c->stmt && c->g->frozen_stmts[c->stmt_index];
}

static void freeze_param(Graph *g, Param *p, Loc at) {
    if (p->frozen)
        return;
    p->frozen = 1;
    p->frozen_at = at;
    g->nfrozen++;
}

/* The index of the statement that defines `name` with '=', or -1. */
static int stmt_index_of(const Program *p, const char *name, const Stmt **out) {
    int index = 0;
    for (const Stmt *s = p->first; s; s = s->next, index++)
        if ((s->kind == ST_ASSIGN || s->kind == ST_OUTPUT) && s->name && strcmp(s->name, name) == 0) {
            *out = s;
            return index;
        }
    return -1;
}

/* Freezes every parameter and buffer of statement k; 0 when it owns none. */
static int freeze_statement(Graph *g, int k, Loc at) {
    int owned = 0;
    for (int i = 0; i < g->nparams; i++)
        if ((g->params[i].sort_key >> 24) == k) {
            freeze_param(g, &g->params[i], at);
            owned++;
        }
    for (int i = 0; i < g->nbuffers; i++)
        if ((g->buffers[i].sort_key >> 24) == k && !g->buffers[i].frozen) {
            g->buffers[i].frozen = 1;
            g->buffers[i].frozen_at = at;
        }
    if (owned)
        g->frozen_stmts[k] = 1;
    return owned;
}

static void freeze_name(LowerCtx *c, const Expr *e) {
    Graph *g = c->g;
    for (int i = 0; i < g->nparams; i++)
        if (strcmp(g->params[i].name, e->str) == 0) {
            freeze_param(g, &g->params[i], e->loc);
            return;
        }
    const Stmt *def = NULL;
    int k = stmt_index_of(c->p, e->str, &def);
    if (k >= 0 && freeze_statement(g, k, e->loc))
        return;
    const Sym *sym = sym_find(c, e->str);
    if (k >= 0)
        diag_error(e->loc, "cannot freeze '%s': it calls no layer with parameters", e->str);
    else if (sym && sym->kind != SYM_POISON)
        diag_error(e->loc,
                   "cannot freeze '%s': it owns no parameters (freeze names a statement that calls "
                   "layers, a parameter such as h.weight, or a param)",
                   e->str);
    else if (!sym)
        diag_error(e->loc, "cannot freeze '%s': it is defined nowhere", e->str);
    if (def)
        diag_note(def->name_loc, "'%s' is defined here", e->str);
    else if (sym && sym->kind != SYM_POISON)
        diag_note(sym->loc, "'%s' is defined here", e->str);
}

static void freeze_resolve(LowerCtx *c, int has_loss) {
    const Stmt *first = NULL;
    int nstmts = 0;
    for (const Stmt *s = c->p->first; s; s = s->next)
        nstmts++;
    for (const Stmt *s = c->p->first; s; s = s->next) {
        if (s->kind != ST_FREEZE)
            continue;
        if (!first) {
            first = s;
            c->g->frozen_stmts = arena_alloc(c->g->arena, (size_t)nstmts + 1);
            memset(c->g->frozen_stmts, 0, (size_t)nstmts + 1);
        }
        for (const Arg *q = s->expr->args; q; q = q->next)
            freeze_name(c, q->value);
    }
    if (first && has_loss && !diag_count() && c->g->nfrozen == c->g->nparams)
        diag_error(first->loc, "nothing to train: every parameter of the network is frozen");
}

/* The whole program in one mode; returns the loss node or -1 when none. */
static int lower_mode(LowerCtx *c) {
    int loss = -1, index = 0;
    for (const Stmt *s = c->p->first; s; s = s->next, index++) {
        c->stmt = s;
        c->stmt_index = index;
        lower_statement(c, s, &loss);
    }
    if (c->mode == MODE_INFER && !c->g->ignore_freeze)
        freeze_resolve(c, loss >= 0);
    for (const Stmt *s = c->p->first; s; s = s->next) {
        if (s->kind != ST_REGULARIZE)
            continue;
        c->stmt = s;
        int term = lower_regularizer(c, s);
        if (term >= 0 && loss >= 0)
            loss = lower_node2(c, OP_ADD, s->loc, loss, term);
    }
    if (loss >= 0 && !ir_cnode(c->g, loss)->name)
        ir_node(c->g, loss)->name = "loss";
    return loss;
}

/* The statement-level rules: network first and once, one loss, one optimizer. */
static int check_structure(const Program *p) {
    const Stmt *loss = NULL, *opt = NULL, *sched = NULL;
    int bad = 0;
    if (!p->first || p->first->kind != ST_NETWORK) {
        Loc at = p->first ? p->first->loc : (Loc){1, 1};
        diag_error(at, "expected 'network NAME' as the first statement%s",
                   p->first ? "" : ", found end of file (the file has no statement)");
        return -1;
    }
    for (const Stmt *s = p->first->next; s; s = s->next) {
        const Stmt **seen = s->kind == ST_LOSS        ? &loss
                            : s->kind == ST_OPTIMIZER ? &opt
                            : s->kind == ST_SCHEDULE  ? &sched
                                                      : NULL;
        if (s->kind == ST_NETWORK) {
            diag_error(s->loc, "a file has exactly one 'network' statement");
            diag_note(p->first->loc, "the network was named here");
            bad = 1;
        } else if (seen && *seen) {
            diag_error(s->loc, "a second '%s' statement",
                       s->kind == ST_LOSS        ? "loss"
                       : s->kind == ST_OPTIMIZER ? "optimizer"
                                                 : "schedule");
            diag_note((*seen)->loc, "the first is here");
            bad = 1;
        } else if (seen)
            *seen = s;
    }
    if (loss && !opt) {
        diag_error(loss->loc, "a network with a loss needs an 'optimizer' statement");
        bad = 1;
    }
    for (const Stmt *s = p->first; s; s = s->next)
        if (!loss && (s->kind == ST_OPTIMIZER || s->kind == ST_SCHEDULE || s->kind == ST_REGULARIZE)) {
            diag_error(s->loc, "'%s' needs a 'loss' statement",
                       s->kind == ST_OPTIMIZER  ? "optimizer"
                       : s->kind == ST_SCHEDULE ? "schedule"
                                                : "regularize");
            bad = 1;
        }
    return bad ? -1 : 0;
}

static int cmp_param_key(const void *pa, const void *pb) {
    const Param *a = pa, *b = pb;
    return a->sort_key < b->sort_key ? -1 : a->sort_key > b->sort_key;
}

static int cmp_buffer_key(const void *pa, const void *pb) {
    const Buffer *a = pa, *b = pb;
    return a->sort_key < b->sort_key ? -1 : a->sort_key > b->sort_key;
}

static void begin_mode(LowerCtx *c, Graph *g, const Program *p, Mode mode) {
    memset(c, 0, sizeof *c);
    c->g = g;
    c->p = p;
    c->mode = mode;
    c->fn = mode == MODE_INFER ? FN_INFER : FN_TRAIN;
    strmap_init(&c->names, g->arena);
}

int lower_program(Graph *g, const Program *p, int infer_only) {
    LowerCtx c;
    if (check_structure(p) < 0)
        return -1;
    begin_mode(&c, g, p, MODE_INFER);
    g->loss_infer = lower_mode(&c);
    if (diag_count())
        return -1;
    if (g->nparams > 1) /* qsort's pointer must not be NULL, even for 0 items */
        qsort(g->params, (size_t)g->nparams, sizeof *g->params, cmp_param_key);
    if (g->nbuffers > 1)
        qsort(g->buffers, (size_t)g->nbuffers, sizeof *g->buffers, cmp_buffer_key);
    g->infer_only = infer_only || g->loss_infer < 0;
    if (g->infer_only) {
        g->loss_infer = infer_only ? -1 : g->loss_infer;
        return 0;
    }
    begin_mode(&c, g, p, MODE_TRAIN);
    g->loss_train = lower_mode(&c);
    return diag_count() ? -1 : 0;
}
