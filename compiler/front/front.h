/*
 * front.h - the front end: source text to syntax tree.
 *   grammar/lexer.l   text -> tokens (flex, reentrant, bison-bridge, locations)
 *   grammar/parser.y  tokens -> AST (bison, pure, locations, error recovery)
 *   ast.c             AST constructors (one per parser action) and a printer
 * It knows nothing of the IR: lowering (compiler/lower/) reads the tree.
 */
#ifndef NNGEN_FRONT_H
#define NNGEN_FRONT_H

#include "base/base.h"

/* ------------------------------------------------------------------ ast.c */
typedef enum ExprKind {
    EX_NUM,  /* num */
    EX_NAME, /* str: an identifier */
    EX_STR,  /* str: a string literal, quotes removed */
    EX_BOOL, /* num: 0 or 1 */
    EX_LIST, /* args: the items, unnamed, in order ([2, 3]) */
    EX_BIN,  /* op in '+' '-' '*' '/' '@' '^'; lhs, rhs */
    EX_NEG,  /* unary minus; lhs */
    EX_CALL  /* str: callee name; args */
} ExprKind;

typedef struct Expr Expr;
typedef struct Arg {
    const char *name; /* NULL when positional */
    Loc name_loc;     /* of the name, when named */
    Expr *value;
    struct Arg *next;
} Arg;

struct Expr {
    ExprKind kind;
    Loc loc;   /* operator for EX_BIN/EX_NEG, callee name for EX_CALL, else first char */
    Loc start; /* leftmost character of the whole expression */
    int op;
    double num;
    const char *str;
    Expr *lhs, *rhs;
    Arg *args;
    Loc close; /* EX_CALL / EX_LIST: the closing bracket */
    int depth; /* nodes on the longest path down from here (1 for a leaf) */
};

/* Deepest expression tree the parser accepts (later phases recurse on it). */
#define NN_MAX_DEPTH 1024

typedef enum StmtKind {
    ST_NETWORK,      /* name */
    ST_INPUT,        /* name, dims */
    ST_TARGET,       /* name, dims (real-valued) */
    ST_TARGET_CLASS, /* name, expr = K */
    ST_PARAM,        /* name, dims, init (NULL when absent) */
    ST_CONST,        /* name, expr (a number, a const name, or a negated one) */
    ST_ASSIGN,       /* name, expr */
    ST_OUTPUT,       /* name, expr */
    ST_LOSS,         /* expr */
    ST_REGULARIZE,   /* expr: EX_CALL l1(...) / l2(...) */
    ST_OPTIMIZER,    /* expr: EX_CALL */
    ST_SCHEDULE,     /* expr: EX_CALL */
    ST_FREEZE        /* expr: EX_LIST of EX_NAME items (statement, parameter or param names) */
} StmtKind;

typedef struct Stmt {
    StmtKind kind;
    Loc loc;          /* the keyword, or the name for NAME = EXPR */
    const char *name; /* defined name, NULL for loss/regularize/optimizer/schedule */
    Loc name_loc;
    Expr *dims; /* EX_LIST for input/target/param */
    Expr *expr;
    Expr *init; /* param init=..., an EX_NAME or EX_CALL */
    struct Stmt *next;
} Stmt;

typedef struct Program {
    const char *file;
    Stmt *first;
    int nstmts;
    Stmt *last; /* for ast_append */
} Program;

Expr *ast_num(Arena *a, Loc loc, double v);
Expr *ast_name(Arena *a, Loc loc, const char *name);
Expr *ast_str(Arena *a, Loc loc, const char *s);
Expr *ast_bool(Arena *a, Loc loc, int v);
Expr *ast_list(Arena *a, Loc open, Arg *items, Loc close);
Expr *ast_bin(Arena *a, Loc op_loc, int op, Expr *lhs, Expr *rhs);
Expr *ast_neg(Arena *a, Loc op_loc, Expr *operand);
Expr *ast_call(Arena *a, Loc name_loc, const char *callee, Arg *args, Loc close);
Arg *ast_arg(Arena *a, const char *name, Loc name_loc, Expr *value);
Arg *ast_arg_append(Arg *list, Arg *item); /* returns the list head */
Stmt *ast_stmt(Arena *a, StmtKind kind, Loc loc);
void ast_append(Program *p, Stmt *s);
int ast_arg_count(const Arg *args);
/* For the parser. The constructors above that build operators and calls
 * report an expression deeper than NN_MAX_DEPTH through diag. */
typedef struct ArgList {
    Arg *head, *tail;
} ArgList; /* O(1) append */
ArgList ast_args_add(ArgList l, Arg *item);
typedef struct NegRun {
    Expr *outer, *inner;
} NegRun;                                            /* "- - -" read left to right */
NegRun ast_neg_run(Arena *a, NegRun run, Loc minus); /* one more '-' */
Expr *ast_neg_apply(NegRun run, Expr *operand);      /* -(-(-operand)) */
Expr *ast_paren(Expr *e, Loc open);                  /* ( e ): start moves to '(' */
Stmt *ast_stmt_make(Arena *a, StmtKind kind, Loc loc, const char *name, Loc name_loc, Expr *dims, Expr *expr,
                    Expr *init);
/* Prints the AST as S-expressions, one statement per line (tests use this). */
void ast_print(FILE *out, const Program *p);

/* ------------------------------------------------------- lexer.l/parser.y */
/* Parses a whole file. Returns NULL after reporting errors through diag.
 * `text` must stay alive (and NUL-free or not: NUL is a located error). */
Program *parse_program(Arena *a, const char *file, const char *text, size_t len);
/* lint.c: located warnings for losses given the wrong activation's output
 * (softmax into cross_entropy, ...); never errors. */
void lint_program(const Program *p);

#endif
