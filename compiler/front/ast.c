/*
 * ast.c - the syntax tree: constructors (called by the parser's actions) and
 * a printer for tests.
 *
 * Invariants:
 *  - Every node lives in the compilation's arena and is zeroed at birth.
 *  - Expr.loc is the operator (EX_BIN, EX_NEG), the callee name (EX_CALL), the
 *    opening bracket (EX_LIST), else the first character; Expr.start is the
 *    leftmost character of the whole expression, '(' of a parenthesized one.
 *  - Expr.depth counts the nodes on the longest downward path. The
 *    constructors report, once at the node that crosses it, a tree deeper
 *    than NN_MAX_DEPTH, so later phases may recurse on expressions.
 *  - Argument lists keep source order.
 *
 * The printed format, one statement per line:
 *   (network moons)
 *   (input x [2])                  (target t [1])        (target y class 2)
 *   (param W1 [2 3] (call normal 0 0.7071))              (param b [3])
 *   (const k 3)                    (assign a1 EXPR)      (output p EXPR)
 *   (loss EXPR)    (regularize CALL)    (optimizer CALL)    (schedule CALL)
 * and expressions:
 *   number     %g                 3  0.5  1e-07
 *   name       as written         x  h.weight
 *   string     in double quotes   "tanh"  (bytes outside printable ASCII as '?')
 *   boolean    true / false
 *   list       [2 3]
 *   operator   (+ a b) (- a b) (* a b) (/ a b) (@ a b) (^ a b)
 *   unary -    (neg x)
 *   call       (call f a b (= name value))
 */
#include "front/front.h"

#include <string.h>

/* ---- expressions */

static Expr *ast_expr(Arena *a, ExprKind kind, Loc loc) {
    Expr *e = arena_alloc(a, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->start = loc;
    e->depth = 1;
    return e;
}

/* e->depth = 1 + the deepest child; reports the node that crosses the limit. */
static void ast_set_depth(Expr *e, int child) {
    e->depth = child + 1;
    if (child <= NN_MAX_DEPTH && e->depth > NN_MAX_DEPTH)
        diag_error(e->loc,
                   "expression nests more than %d operations deep "
                   "(split it into statements with intermediate names)",
                   NN_MAX_DEPTH);
}

static int ast_args_depth(const Arg *args) {
    int d = 0;
    for (; args; args = args->next)
        if (args->value && args->value->depth > d)
            d = args->value->depth;
    return d;
}

Expr *ast_num(Arena *a, Loc loc, double v) {
    Expr *e = ast_expr(a, EX_NUM, loc);
    e->num = v;
    return e;
}

Expr *ast_name(Arena *a, Loc loc, const char *name) {
    Expr *e = ast_expr(a, EX_NAME, loc);
    e->str = name;
    return e;
}

Expr *ast_str(Arena *a, Loc loc, const char *s) {
    Expr *e = ast_expr(a, EX_STR, loc);
    e->str = s;
    return e;
}

Expr *ast_bool(Arena *a, Loc loc, int v) {
    Expr *e = ast_expr(a, EX_BOOL, loc);
    e->num = v ? 1 : 0;
    return e;
}

/* list -> '[' items ']' */
Expr *ast_list(Arena *a, Loc open, Arg *items, Loc close) {
    Expr *e = ast_expr(a, EX_LIST, open);
    e->args = items;
    e->close = close;
    ast_set_depth(e, ast_args_depth(items));
    return e;
}

/* lhs op rhs; loc is the operator's */
Expr *ast_bin(Arena *a, Loc op_loc, int op, Expr *lhs, Expr *rhs) {
    Expr *e = ast_expr(a, EX_BIN, op_loc);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    e->start = lhs ? lhs->start : op_loc;
    int d = lhs ? lhs->depth : 0;
    if (rhs && rhs->depth > d)
        d = rhs->depth;
    ast_set_depth(e, d);
    return e;
}

/* '-' operand; operand may be NULL while a NegRun is being read */
Expr *ast_neg(Arena *a, Loc op_loc, Expr *operand) {
    Expr *e = ast_expr(a, EX_NEG, op_loc);
    e->lhs = operand;
    ast_set_depth(e, operand ? operand->depth : 0);
    return e;
}

/* call -> NAME '(' args ')' */
Expr *ast_call(Arena *a, Loc name_loc, const char *callee, Arg *args, Loc close) {
    Expr *e = ast_expr(a, EX_CALL, name_loc);
    e->str = callee;
    e->args = args;
    e->close = close;
    ast_set_depth(e, ast_args_depth(args));
    return e;
}

/* primary -> '(' expr ')' */
Expr *ast_paren(Expr *e, Loc open) {
    if (e)
        e->start = open;
    return e;
}

/* negs -> '-' | negs '-': the chain grows at its inner end */
NegRun ast_neg_run(Arena *a, NegRun run, Loc minus) {
    Expr *e = ast_neg(a, minus, NULL);
    if (!run.outer)
        run.outer = e;
    else
        run.inner->lhs = e;
    run.inner = e;
    return run;
}

/* unary -> negs power: hangs the operand under the innermost '-', then
 * sets the depths from the inside out (the run is short: the lexer limits it). */
Expr *ast_neg_apply(NegRun run, Expr *operand) {
    if (!run.outer)
        return operand;
    run.inner->lhs = operand;
    int n = 0;
    for (Expr *e = run.outer; e != operand; e = e->lhs)
        n++;
    int base = operand ? operand->depth : 0;
    for (Expr *e = run.outer; e != operand; e = e->lhs, n--)
        ast_set_depth(e, base + n - 1);
    return run.outer;
}

/* ---- arguments */

Arg *ast_arg(Arena *a, const char *name, Loc name_loc, Expr *value) {
    Arg *g = arena_alloc(a, sizeof *g);
    g->name = name;
    g->name_loc = name_loc;
    g->value = value;
    return g;
}

/* O(length): for building a few arguments by hand; the parser uses ArgList. */
Arg *ast_arg_append(Arg *list, Arg *item) {
    if (!list)
        return item;
    Arg *t = list;
    while (t->next)
        t = t->next;
    t->next = item;
    return list;
}

ArgList ast_args_add(ArgList l, Arg *item) {
    if (!l.head)
        l.head = item;
    else
        l.tail->next = item;
    l.tail = item;
    return l;
}

int ast_arg_count(const Arg *args) {
    int n = 0;
    for (; args; args = args->next)
        n++;
    return n;
}

/* ---- statements */

Stmt *ast_stmt(Arena *a, StmtKind kind, Loc loc) {
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

Stmt *ast_stmt_make(Arena *a, StmtKind kind, Loc loc, const char *name, Loc name_loc, Expr *dims, Expr *expr,
                    Expr *init) {
    Stmt *s = ast_stmt(a, kind, loc);
    s->name = name;
    s->name_loc = name_loc;
    s->dims = dims;
    s->expr = expr;
    s->init = init;
    return s;
}

void ast_append(Program *p, Stmt *s) {
    if (!s)
        return;
    if (!p->last && p->first) /* built by hand: find the tail once */
        for (p->last = p->first; p->last->next; p->last = p->last->next) {
        }
    if (p->last)
        p->last->next = s;
    else
        p->first = s;
    p->last = s;
    p->nstmts++;
}

/* ---- printing */

static void ast_print_expr(FILE *out, const Expr *e);

/* Items of a call or list, each preceded by a space; named ones as (= k v). */
static void ast_print_args(FILE *out, const Arg *args, int first_space) {
    for (const Arg *g = args; g; g = g->next) {
        if (g != args || first_space)
            fputc(' ', out);
        if (g->name) {
            fprintf(out, "(= %s ", g->name);
            ast_print_expr(out, g->value);
            fputc(')', out);
        } else {
            ast_print_expr(out, g->value);
        }
    }
}

static void ast_print_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++)
        fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', out);
    fputc('"', out);
}

static void ast_print_expr(FILE *out, const Expr *e) {
    if (!e) {
        fputs("<null>", out);
        return;
    }
    switch (e->kind) {
    case EX_NUM:
        fprintf(out, "%g", e->num);
        break;
    case EX_NAME:
        fputs(e->str, out);
        break;
    case EX_STR:
        ast_print_string(out, e->str);
        break;
    case EX_BOOL:
        fputs(e->num != 0 ? "true" : "false", out);
        break;
    case EX_LIST:
        fputc('[', out);
        ast_print_args(out, e->args, 0);
        fputc(']', out);
        break;
    case EX_BIN:
        fprintf(out, "(%c ", e->op);
        ast_print_expr(out, e->lhs);
        fputc(' ', out);
        ast_print_expr(out, e->rhs);
        fputc(')', out);
        break;
    case EX_NEG:
        fputs("(neg ", out);
        ast_print_expr(out, e->lhs);
        fputc(')', out);
        break;
    case EX_CALL:
        fprintf(out, "(call %s", e->str);
        ast_print_args(out, e->args, 1);
        fputc(')', out);
        break;
    }
}

static const char *const ast_stmt_names[] = {
    [ST_NETWORK] = "network",       [ST_INPUT] = "input",         [ST_TARGET] = "target",
    [ST_TARGET_CLASS] = "target",   [ST_PARAM] = "param",         [ST_CONST] = "const",
    [ST_ASSIGN] = "assign",         [ST_OUTPUT] = "output",       [ST_LOSS] = "loss",
    [ST_REGULARIZE] = "regularize", [ST_OPTIMIZER] = "optimizer", [ST_SCHEDULE] = "schedule",
    [ST_FREEZE] = "freeze",
};

/* (kind [name] [dims] [class] [expr] [init]) */
static void ast_print_stmt(FILE *out, const Stmt *s) {
    fprintf(out, "(%s", ast_stmt_names[s->kind]);
    if (s->name)
        fprintf(out, " %s", s->name);
    if (s->dims) {
        fputc(' ', out);
        ast_print_expr(out, s->dims);
    }
    if (s->kind == ST_TARGET_CLASS)
        fputs(" class", out);
    if (s->expr) {
        fputc(' ', out);
        ast_print_expr(out, s->expr);
    }
    if (s->init) {
        fputc(' ', out);
        ast_print_expr(out, s->init);
    }
    fputs(")\n", out);
}

void ast_print(FILE *out, const Program *p) {
    if (!p)
        return;
    for (const Stmt *s = p->first; s; s = s->next)
        ast_print_stmt(out, s);
}
