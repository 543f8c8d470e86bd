/*
 * parser.y - tokens -> AST (bison 3.8: pure, locations, custom error messages).
 *
 * The statements and expressions of docs/language.md. Each action is one ast_*
 * call; the tree's locations follow nngen.h (operators at the operator,
 * calls at the callee, statements at the keyword or the defined name).
 *
 * Errors: yyreport_syntax_error below words every syntax error as what was
 * expected and what was found, and names the bracket a missing ')' or ']'
 * would close. `error NEWLINE` resumes at the next statement, so one run
 * reports every broken statement. LAC makes the expected set exact.
 *
 * Invariants: no global state (the scanner's state travels as `scanner`);
 * the parse stack stays small whatever the input: brackets nest at most
 * NN_MAX_NEST deep and unary '-' runs are read by a left-recursive rule, so
 * bison's stack limit is never reached. parse_program returns NULL whenever
 * any error has been reported.
 */
%code requires {
#include "front/front.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* lexer.l's side of the interface (beside lex_token, declared below). */
yyscan_t lex_open(Arena *a, const char *text, size_t len);
void lex_close(yyscan_t sc);
/* The innermost open bracket (skip: the one enclosing it); 0 if none. */
int lex_bracket(yyscan_t sc, int skip, Loc *at, char *open);
void lex_recover(yyscan_t sc);   /* after a syntax error: resume at the next line */
int lex_stopped(yyscan_t sc);    /* a limit stopped the scan: report nothing more */
/* The parser's lookahead as written, quoted and shortened for a message. */
void lex_lookahead_text(yyscan_t sc, char *out, size_t cap);
void lex_describe(char *out, size_t cap, const char *s, size_t n);
}

%code provides {
int lex_token(YYSTYPE *val, YYLTYPE *loc, yyscan_t sc);
}

%code {
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a stack deeper than YYINITDEPTH: base.h's out-of-memory policy */
#define YYMALLOC base_xmalloc
#define YYFREE free

#define yylex lex_token
#define L(y) ((Loc){(y).first_line, (y).first_column})
#define NOLOC ((Loc){0, 0})

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Arena *arena, Program *prog, const char *msg);
static void parse_word(yyscan_t scanner, const char *got, Loc at, const char *want);
}

%define api.pure full
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {Arena *arena} {Program *prog}

%union {
    double num;
    const char *str;
    Expr *expr;
    Arg *arg;
    ArgList args;
    NegRun negs;
    Stmt *stmt;
}

%token NEWLINE "newline"
%token <str> NAME "name"
%token <str> DOTTED "dotted name"
%token <num> NUMBER "number"
%token <str> STRING "string"
%token KW_NETWORK "'network'" KW_INPUT "'input'" KW_TARGET "'target'" KW_PARAM "'param'"
%token KW_CONST "'const'" KW_OUTPUT "'output'" KW_LOSS "'loss'"
%token KW_REGULARIZE "'regularize'" KW_OPTIMIZER "'optimizer'" KW_SCHEDULE "'schedule'"
%token KW_TRUE "'true'" KW_FALSE "'false'"
%token KW_FREEZE "'freeze'"

%type <stmt> stmt
%type <expr> expr sum term unary power exponent primary call list init frozen_name
%type <arg> arg item
%type <args> args arglist items itemlist frozen
%type <negs> negs

%%

/* program -> line* */
program: %empty
    | program line
    ;

/* line -> NEWLINE | stmt NEWLINE   (blank and comment-only lines are empty) */
line: NEWLINE
    | stmt NEWLINE      { ast_append(prog, $1); }
    | error NEWLINE     { yyerrok; }
    ;

/* stmt -> network NAME | input NAME list | target NAME list
 *       | target NAME ':' class '(' expr ')' | param NAME list [init '=' init]
 *       | const NAME '=' expr | NAME '=' expr | output NAME '=' expr
 *       | loss expr | regularize call | optimizer call | schedule call
 *       | freeze frozen */
stmt: KW_NETWORK NAME
        { $$ = ast_stmt_make(arena, ST_NETWORK, L(@1), $2, L(@2), NULL, NULL, NULL); }
    | KW_INPUT NAME list
        { $$ = ast_stmt_make(arena, ST_INPUT, L(@1), $2, L(@2), $3, NULL, NULL); }
    | KW_TARGET NAME list
        { $$ = ast_stmt_make(arena, ST_TARGET, L(@1), $2, L(@2), $3, NULL, NULL); }
    | KW_TARGET NAME ':' class_word '(' expr ')'
        { $$ = ast_stmt_make(arena, ST_TARGET_CLASS, L(@1), $2, L(@2), NULL, $6, NULL); }
    | KW_PARAM NAME list
        { $$ = ast_stmt_make(arena, ST_PARAM, L(@1), $2, L(@2), $3, NULL, NULL); }
    | KW_PARAM NAME list init_word '=' init
        { $$ = ast_stmt_make(arena, ST_PARAM, L(@1), $2, L(@2), $3, NULL, $6); }
    | KW_CONST NAME '=' expr
        { $$ = ast_stmt_make(arena, ST_CONST, L(@1), $2, L(@2), NULL, $4, NULL); }
    | NAME '=' expr
        { $$ = ast_stmt_make(arena, ST_ASSIGN, L(@1), $1, L(@1), NULL, $3, NULL); }
    | KW_OUTPUT NAME '=' expr
        { $$ = ast_stmt_make(arena, ST_OUTPUT, L(@1), $2, L(@2), NULL, $4, NULL); }
    | KW_LOSS expr
        { $$ = ast_stmt_make(arena, ST_LOSS, L(@1), NULL, NOLOC, NULL, $2, NULL); }
    | KW_REGULARIZE call
        { $$ = ast_stmt_make(arena, ST_REGULARIZE, L(@1), NULL, NOLOC, NULL, $2, NULL); }
    | KW_OPTIMIZER call
        { $$ = ast_stmt_make(arena, ST_OPTIMIZER, L(@1), NULL, NOLOC, NULL, $2, NULL); }
    | KW_SCHEDULE call
        { $$ = ast_stmt_make(arena, ST_SCHEDULE, L(@1), NULL, NOLOC, NULL, $2, NULL); }
    | KW_FREEZE frozen
        { $$ = ast_stmt_make(arena, ST_FREEZE, L(@1), NULL, NOLOC, NULL,
                             ast_list(arena, L(@2), $2.head, L(@2)), NULL); }
    ;

/* frozen -> (NAME | DOTTED) {',' (NAME | DOTTED)}   (freeze h, h2.weight, W) */
frozen: frozen_name     { $$ = ast_args_add((ArgList){NULL, NULL}, ast_arg(arena, NULL, NOLOC, $1)); }
    | frozen ',' frozen_name { $$ = ast_args_add($1, ast_arg(arena, NULL, NOLOC, $3)); }
    ;
frozen_name: NAME       { $$ = ast_name(arena, L(@1), $1); }
    | DOTTED            { $$ = ast_name(arena, L(@1), $1); }
    ;

/* `class` and `init` are ordinary names, keywords only in these places. */
class_word: NAME        { parse_word(scanner, $1, L(@1), "class"); } ;
init_word: NAME         { parse_word(scanner, $1, L(@1), "init"); } ;

/* init -> NAME | call */
init: NAME              { $$ = ast_name(arena, L(@1), $1); }
    | call
    ;

/* expr -> sum ; sum -> sum ('+' | '-') term | term */
expr: sum ;
sum: term
    | sum '+' term      { $$ = ast_bin(arena, L(@2), '+', $1, $3); }
    | sum '-' term      { $$ = ast_bin(arena, L(@2), '-', $1, $3); }
    ;

/* term -> term ('@' | '*' | '/') unary | unary */
term: unary
    | term '@' unary    { $$ = ast_bin(arena, L(@2), '@', $1, $3); }
    | term '*' unary    { $$ = ast_bin(arena, L(@2), '*', $1, $3); }
    | term '/' unary    { $$ = ast_bin(arena, L(@2), '/', $1, $3); }
    ;

/* unary -> '-'* power   (so -x^2 is -(x^2)) */
unary: power
    | negs power        { $$ = ast_neg_apply($1, $2); }
    ;
negs: '-'               { $$ = ast_neg_run(arena, (NegRun){NULL, NULL}, L(@1)); }
    | negs '-'          { $$ = ast_neg_run(arena, $1, L(@2)); }
    ;

/* power -> primary ['^' exponent]   (not associative: x^2^3 is an error) */
power: primary
    | primary '^' exponent  { $$ = ast_bin(arena, L(@2), '^', $1, $3); }
    ;
/* exponent -> primary | '-' primary */
exponent: primary
    | '-' primary       { $$ = ast_neg(arena, L(@1), $2); }
    ;

/* primary -> NUMBER | name | STRING | true | false | call | list | '(' expr ')' */
primary: NUMBER         { $$ = ast_num(arena, L(@1), $1); }
    | NAME              { $$ = ast_name(arena, L(@1), $1); }
    | DOTTED            { $$ = ast_name(arena, L(@1), $1); }
    | STRING            { $$ = ast_str(arena, L(@1), $1); }
    | KW_TRUE           { $$ = ast_bool(arena, L(@1), 1); }
    | KW_FALSE          { $$ = ast_bool(arena, L(@1), 0); }
    | call
    | list
    | '(' expr ')'      { $$ = ast_paren($2, L(@1)); }
    ;

/* call -> NAME '(' [arg {',' arg}] ')' ; arg -> expr | NAME '=' expr */
call: NAME '(' args ')' { $$ = ast_call(arena, L(@1), $1, $3.head, L(@4)); } ;
args: %empty            { $$ = (ArgList){NULL, NULL}; }
    | arglist
    ;
arglist: arg            { $$ = ast_args_add((ArgList){NULL, NULL}, $1); }
    | arglist ',' arg   { $$ = ast_args_add($1, $3); }
    ;
arg: expr               { $$ = ast_arg(arena, NULL, NOLOC, $1); }
    | NAME '=' expr     { $$ = ast_arg(arena, $1, L(@1), $3); }
    ;

/* list -> '[' [expr {',' expr}] ']'   (shapes: input x[2, 3]) */
list: '[' items ']'     { $$ = ast_list(arena, L(@1), $2.head, L(@3)); } ;
items: %empty           { $$ = (ArgList){NULL, NULL}; }
    | itemlist
    ;
itemlist: item          { $$ = ast_args_add((ArgList){NULL, NULL}, $1); }
    | itemlist ',' item { $$ = ast_args_add($1, $3); }
    ;
item: expr              { $$ = ast_arg(arena, NULL, NOLOC, $1); } ;

%%

/* "'x'", "newline" or "end of file": the lookahead, for messages. */
static void parse_found(yyscan_t scanner, yysymbol_kind_t la, char *out, size_t cap) {
    if (la == YYSYMBOL_YYEOF)
        snprintf(out, cap, "end of file");
    else if (la == YYSYMBOL_NEWLINE)
        snprintf(out, cap, "newline");
    else
        lex_lookahead_text(scanner, out, cap);
}

static int parse_expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t k) {
    for (int i = 0; i < n; i++)
        if (exp[i] == k)
            return 1;
    return 0;
}

/* expected ')' (to close '(' at 3:7): when the innermost bracket's closer would do. */
static int parse_unclosed(yyscan_t scanner, yysymbol_kind_t la, const yysymbol_kind_t *exp,
                          int n, char *out, size_t cap) {
    Loc at;
    char open;
    int skip = la == YYTRANSLATE('(') || la == YYTRANSLATE('['); /* the lookahead opened one */
    if (!lex_bracket(scanner, skip, &at, &open))
        return 0;
    int close = open == '(' ? ')' : ']';
    if (!parse_expects(exp, n, YYTRANSLATE(close)))
        return 0;
    snprintf(out, cap, "expected '%c' (to close '%c' at %d:%d)", close, open, at.line, at.col);
    return 1;
}

/* The generic form: "expected '[' or ':'". */
static void parse_list_expected(const yysymbol_kind_t *exp, int n, char *out, size_t cap) {
    size_t k = (size_t)snprintf(out, cap, "expected ");
    for (int i = 0; i < n && k < cap; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        k += (size_t)snprintf(out + k, cap - k, "%s%s", sep, yysymbol_name(exp[i]));
    }
}

/*
 * The message for a syntax error, by what the parser could have accepted:
 *   a chained '^'            chained '^' is ambiguous: write (a^b)^c or a^(b^c)
 *   the innermost closer     expected ')' (to close '(' at 3:7), found X
 *   a statement              expected a statement, found X
 *   the end of a statement   expected a newline after the statement, found X
 *   an operand               expected an expression, found X
 *   a name                   expected a name, found X
 *   else                     expected '[' or ':', found X
 */
/* "did you mean": a statement that begins with a misspelled keyword
 * (`ouput p = ...`, `Optimizer adam()`) reads as NAME NAME and fails where
 * '=' was expected, at the second word. When the first word of the line
 * ends right before `at` and is close to a statement keyword, the error
 * names that word and the keyword, located at the word; returns 1 then. */
static int parse_keyword_error(Loc at) {
    static const char *const keywords[] = {"network", "input", "target", "param", "const", "output",
                                           "loss", "regularize", "optimizer", "schedule", "freeze"};
    size_t len;
    const char *line = diag_line(at.line, &len);
    if (!line)
        return 0;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t start = i;
    while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '_'))
        i++;
    char word[64];
    if (i == start || i - start >= sizeof word)
        return 0;
    memcpy(word, line + start, i - start);
    word[i - start] = '\0';
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i + 1 != (size_t)at.col || i == start + strlen(word))
        return 0; /* the error is not at the word after the first */
    const char *near = base_suggest(word, keywords, (int)(sizeof keywords / sizeof keywords[0]));
    if (!near)
        return 0;
    diag_error((Loc){at.line, (int)start + 1}, "'%s' is not a statement keyword; did you mean '%s'?", word, near);
    return 1;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Arena *arena,
                                 Program *prog) {
    (void)arena, (void)prog;
    if (lex_stopped(scanner))
        return 0;
    yysymbol_kind_t la = yypcontext_token(ctx), exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    if (n < 0)
        n = 0;
    char found[64], what[256];
    parse_found(scanner, la, found, sizeof found);
    Loc at = L(*yypcontext_location(ctx));
    if (la != YYSYMBOL_NEWLINE && la != YYSYMBOL_YYEOF)
        lex_recover(scanner);
    if (la == YYTRANSLATE('^') && !parse_expects(exp, n, YYSYMBOL_NUMBER)) {
        diag_error(at, "chained '^' is ambiguous: write (a^b)^c or a^(b^c)");
        return 0;
    }
    if (parse_unclosed(scanner, la, exp, n, what, sizeof what))
        ;
    else if (parse_expects(exp, n, YYSYMBOL_KW_NETWORK))
        snprintf(what, sizeof what, "expected a statement");
    else if (parse_expects(exp, n, YYSYMBOL_NEWLINE))
        snprintf(what, sizeof what, "expected a newline after the statement");
    else if (parse_expects(exp, n, YYSYMBOL_NUMBER))
        snprintf(what, sizeof what, "expected an expression");
    else if (n == 1 && exp[0] == YYSYMBOL_NAME)
        snprintf(what, sizeof what, "expected a name");
    else
        parse_list_expected(exp, n, what, sizeof what);
    if (la == YYSYMBOL_NAME && parse_expects(exp, n, YYTRANSLATE('=')) && parse_keyword_error(at))
        return 0;
    diag_error(at, "%s, found %s", what, found);
    return 0;
}

/* Only for bison's own failures (its stack cannot overflow: see the top). */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, Arena *arena, Program *prog, const char *msg) {
    (void)arena, (void)prog;
    if (!lex_stopped(scanner))
        diag_error(L(*loc), "%s", msg);
}

/* A name that stands for a keyword here: target y : class(2), init=zeros. */
static void parse_word(yyscan_t scanner, const char *got, Loc at, const char *want) {
    (void)scanner;
    if (strcmp(got, want) != 0) {
        char q[64];
        lex_describe(q, sizeof q, got, strlen(got));
        diag_error(at, "expected '%s', found %s", want, q);
    }
}

Program *parse_program(Arena *a, const char *file, const char *text, size_t len) {
    Program *p = arena_alloc(a, sizeof *p);
    p->file = file;
    yyscan_t scanner = lex_open(a, text, len);
    int rc = yyparse(scanner, a, p);
    lex_close(scanner);
    if (rc != 0 && diag_count() == 0)
        diag_error(NOLOC, "the parser stopped without a message (a bug in nngen)");
    return diag_count() > 0 ? NULL : p;
}
