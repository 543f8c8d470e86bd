/*
 * lint.c - warnings for networks that compile but train badly: a loss
 * given the output of the activation it applies itself, or of the wrong one.
 *
 *   cross_entropy(p, y)  with p = softmax(...)      softmax applied twice
 *   cross_entropy(p, y)  with p = log_softmax(...)  log_softmax applied twice
 *   bce_logits(p, t)     with p = sigmoid(...)      sigmoid applied twice
 *   nll(p, y)            with p = softmax(...)      probabilities, not log-probabilities
 *
 * The loss's first argument is checked when it is such a call itself or the
 * name of a statement (NAME = ... or output NAME = ...) that is one. Each
 * warning is located at that argument, with notes: where the name is
 * defined, what to write instead, and how to silence it (a comment
 * containing "nngen: no-warn" on the loss's line). Warnings do not count as
 * errors: the compilation goes on.
 */
#include <stdarg.h>
#include <string.h>

#include "base/base.h"
#include "front/front.h"

typedef struct LintRule {
    const char *loss, *act;
    const char *what; /* the warning, after "'NAME' is ACT(...): " */
    const char *fix;  /* the note saying what to write */
} LintRule;

static const LintRule rules[] = {
    {"cross_entropy", "softmax", "cross_entropy applies softmax itself, so softmax is applied twice",
     "give cross_entropy the logits, the argument of softmax (keep softmax for the output)"},
    {"cross_entropy", "log_softmax", "cross_entropy applies log_softmax itself, so it is applied twice",
     "give cross_entropy the logits, or use nll(...) on the log_softmax output"},
    {"bce_logits", "sigmoid", "bce_logits applies sigmoid itself, so sigmoid is applied twice",
     "give bce_logits the logits, the argument of sigmoid, or use bce(...) on the probabilities"},
    {"nll", "softmax", "nll expects log-probabilities, but softmax gives probabilities",
     "use log_softmax(...) instead of softmax, or cross_entropy(...) on the logits"},
};

static void lint_warning(Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(loc, "warning", fmt, ap);
    va_end(ap);
}

/* the statement defining name, or NULL */
static const Stmt *find_def(const Program *p, const char *name) {
    const Stmt *def = NULL;
    for (const Stmt *s = p->first; s; s = s->next)
        if ((s->kind == ST_ASSIGN || s->kind == ST_OUTPUT) && s->name && !strcmp(s->name, name))
            def = s; /* the last one: a redefinition is an error elsewhere */
    return def;
}

/* the loss line carries "nngen: no-warn" (in its comment) */
static int silenced(Loc at) {
    size_t len;
    const char *line = diag_line(at.line, &len);
    const char *key = "nngen: no-warn";
    size_t k = strlen(key);
    for (size_t i = 0; line && i + k <= len; i++)
        if (!memcmp(line + i, key, k))
            return 1;
    return 0;
}

static void lint_call(const Program *p, const Expr *call, Loc stmt_loc) {
    if (!call->args || call->args->name)
        return;
    const Expr *arg = call->args->value;
    const Stmt *def = NULL;
    const Expr *act = arg;
    if (arg->kind == EX_NAME) {
        def = find_def(p, arg->str);
        act = def ? def->expr : NULL;
    }
    if (!act || act->kind != EX_CALL)
        return;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strcmp(call->str, rules[i].loss) || strcmp(act->str, rules[i].act))
            continue;
        if (silenced(stmt_loc) || silenced(arg->start))
            return;
        if (def)
            lint_warning(arg->start, "'%s' is %s(...): %s", arg->str, act->str, rules[i].what);
        else
            lint_warning(arg->start, "%s", rules[i].what);
        if (def)
            diag_note(def->name_loc, "'%s' is defined here", def->name);
        diag_note((Loc){0, 0}, "%s; if this is what you mean, add the comment '# nngen: no-warn' to the loss's line",
                  rules[i].fix);
        return;
    }
}

static void lint_expr(const Program *p, const Expr *e, Loc stmt_loc) {
    if (!e)
        return;
    if (e->kind == EX_CALL)
        lint_call(p, e, stmt_loc);
    for (const Arg *a = e->args; a; a = a->next)
        lint_expr(p, a->value, stmt_loc);
    lint_expr(p, e->lhs, stmt_loc);
    lint_expr(p, e->rhs, stmt_loc);
}

void lint_program(const Program *p) {
    for (const Stmt *s = p->first; s; s = s->next)
        if (s->kind == ST_LOSS)
            lint_expr(p, s->expr, s->loc);
}
