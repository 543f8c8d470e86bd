/*
 * test_front_parser.c - parse_program and ast_print: statements, precedence,
 * locations, and every syntax error class with its exact message.
 *
 * Each case parses a text with diagnostics routed into a memory stream and
 * compares the printed AST (one S-expression per statement) or the
 * diagnostics, byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nngen.h"

typedef struct Parsed {
    Arena arena;
    Program *prog; /* NULL after errors */
    char *ast;     /* ast_print's output */
    char *diag;    /* diagnostics */
    int errors;
} Parsed;

static Parsed parse_n(const char *src, size_t len) {
    Parsed r = {0};
    size_t n;
    FILE *d = open_memstream(&r.diag, &n);
    assert_non_null(d);
    diag_begin("t.nn", src, len, d);
    r.prog = parse_program(&r.arena, "t.nn", src, len);
    r.errors = diag_count();
    fclose(d);
    FILE *o = open_memstream(&r.ast, &n);
    assert_non_null(o);
    ast_print(o, r.prog);
    fclose(o);
    return r;
}

static Parsed parse_s(const char *src) {
    return parse_n(src, strlen(src));
}

static void parsed_free(Parsed *r) {
    arena_free(&r->arena);
    free(r->ast);
    free(r->diag);
}

/* src parses without a diagnostic and prints as want. */
static void expect_ast(const char *src, const char *want) {
    Parsed r = parse_s(src);
    assert_string_equal(r.diag, "");
    assert_non_null(r.prog);
    assert_string_equal(r.ast, want);
    parsed_free(&r);
}

/* src fails with exactly these diagnostics. */
static void expect_diag(const char *src, const char *want) {
    Parsed r = parse_s(src);
    assert_string_equal(r.diag, want);
    assert_null(r.prog);
    assert_true(r.errors > 0);
    parsed_free(&r);
}

/* ---- the examples of docs/language.md */

static void test_moons_example(void **state) {
    (void)state;
    expect_ast("# examples/moons.nn - the two-moons classifier: 2-3-2, tanh, softmax-with-loss\n"
               "network moons\n"
               "\n"
               "input  x[2]                 # shape of ONE sample; the batch dimension is implicit\n"
               "target y : class(2)         # integer class labels 0..1\n"
               "\n"
               "param W1[2, 3]  init=normal(0, 0.7071)\n"
               "param b1[3]     init=zeros\n"
               "param W2[3, 2]  init=normal(0, 0.5774)\n"
               "param b2[2]     init=zeros\n"
               "\n"
               "a1 = tanh(x @ W1 + b1)\n"
               "z2 = a1 @ W2 + b2\n"
               "output p = softmax(z2)\n"
               "\n"
               "loss cross_entropy(z2, y)\n"
               "regularize l2(0.01, W1, W2)\n"
               "optimizer sgd(lr=0.01)\n",
               "(network moons)\n"
               "(input x [2])\n"
               "(target y class 2)\n"
               "(param W1 [2 3] (call normal 0 0.7071))\n"
               "(param b1 [3] zeros)\n"
               "(param W2 [3 2] (call normal 0 0.5774))\n"
               "(param b2 [2] zeros)\n"
               "(assign a1 (call tanh (+ (@ x W1) b1)))\n"
               "(assign z2 (+ (@ a1 W2) b2))\n"
               "(output p (call softmax z2))\n"
               "(loss (call cross_entropy z2 y))\n"
               "(regularize (call l2 0.01 W1 W2))\n"
               "(optimizer (call sgd (= lr 0.01)))\n");
}

static void test_layers_example(void **state) {
    (void)state;
    expect_ast("network moons_layers\n"
               "input  x[2]\n"
               "target y : class(2)\n"
               "h = tanh(dense(x, 3))\n"
               "z = dense(h, 2)\n"
               "output p = softmax(z)\n"
               "loss cross_entropy(z, y)\n"
               "optimizer adam(lr=1e-3)\n",
               "(network moons_layers)\n"
               "(input x [2])\n"
               "(target y class 2)\n"
               "(assign h (call tanh (call dense x 3)))\n"
               "(assign z (call dense h 2))\n"
               "(output p (call softmax z))\n"
               "(loss (call cross_entropy z y))\n"
               "(optimizer (call adam (= lr 0.001)))\n");
}

/* ---- statements */

static void test_every_statement(void **state) {
    (void)state;
    expect_ast("network n\n"
               "input img[1, 28, 28]\n"
               "target t[3]\n"
               "target c : class(K)\n"
               "param W[D, 4]\n"
               "param s[2] init=uniform(-0.1, b=0.1)\n"
               "const K = 10\n"
               "const m = -2.5\n"
               "h = conv2d(img, 8, [3, 3], pad=1, bias=false)\n"
               "output o = gelu(h, approximate=\"tanh\")\n"
               "loss mse(o, t) + 0.5 * mae(o, t)\n"
               "regularize l1(1e-4, h.weight, h.1.bias)\n"
               "regularize l2(0.01)\n"
               "optimizer adam()\n"
               "schedule cosine(t_max=10, eta_min=0)\n"
               "schedule step()\n",
               "(network n)\n"
               "(input img [1 28 28])\n"
               "(target t [3])\n"
               "(target c class K)\n"
               "(param W [D 4])\n"
               "(param s [2] (call uniform (neg 0.1) (= b 0.1)))\n"
               "(const K 10)\n"
               "(const m (neg 2.5))\n"
               "(assign h (call conv2d img 8 [3 3] (= pad 1) (= bias false)))\n"
               "(output o (call gelu h (= approximate \"tanh\")))\n"
               "(loss (+ (call mse o t) (* 0.5 (call mae o t))))\n"
               "(regularize (call l1 0.0001 h.weight h.1.bias))\n"
               "(regularize (call l2 0.01))\n"
               "(optimizer (call adam))\n"
               "(schedule (call cosine (= t_max 10) (= eta_min 0)))\n"
               "(schedule (call step))\n");
}

static void test_primaries(void **state) {
    (void)state;
    expect_ast("a = f(true, false, \"s p\", [], [1], [x, 2 + 3], (y), g())\n",
               "(assign a (call f true false \"s p\" [] [1] [x (+ 2 3)] y (call g)))\n");
}

static void test_class_is_an_ordinary_name(void **state) {
    (void)state;
    expect_ast("class = 2\ninit = class + 1\n", "(assign class 2)\n(assign init (+ class 1))\n");
}

static void test_empty_and_blank_inputs(void **state) {
    (void)state;
    Parsed r = parse_s("");
    assert_non_null(r.prog);
    assert_int_equal(r.prog->nstmts, 0);
    assert_null(r.prog->first);
    assert_string_equal(r.ast, "");
    assert_string_equal(r.diag, "");
    parsed_free(&r);
    expect_ast("\n\n# only comments\n   \n\t# here\n", "");
    expect_ast("network a", "(network a)\n"); /* no final newline */
}

static void test_continuation_lines(void **state) {
    (void)state;
    expect_ast("a = x +\n    y *  # comment\n\n    z\n"
               "b = f(x,\n      y\n)\nparam W[2,\n 3] init=normal(0,\n 1)\n",
               "(assign a (+ x (* y z)))\n(assign b (call f x y))\n"
               "(param W [2 3] (call normal 0 1))\n");
}

/* ---- precedence */

static void test_precedence(void **state) {
    (void)state;
    expect_ast("a = -x^2\n", "(assign a (neg (^ x 2)))\n");
    expect_ast("a = a+b*c@d\n", "(assign a (+ a (@ (* b c) d)))\n");
    expect_ast("a = a-b-c\n", "(assign a (- (- a b) c))\n");
    expect_ast("a = a/b*c@d\n", "(assign a (@ (* (/ a b) c) d))\n");
    expect_ast("a = x^-1 * -y\n", "(assign a (* (^ x (neg 1)) (neg y)))\n");
    expect_ast("a = - - x\n", "(assign a (neg (neg x)))\n");
    expect_ast("a = b - -c\n", "(assign a (- b (neg c)))\n");
    expect_ast("a = (-x)^2 + (a + b) * c\n", "(assign a (+ (^ (neg x) 2) (* (+ a b) c)))\n");
    expect_ast("a = (x^2)^3\n", "(assign a (^ (^ x 2) 3))\n");
    expect_ast("a = x^(2^3)\n", "(assign a (^ x (^ 2 3)))\n");
    expect_ast("a = -f(x) @ -W\n", "(assign a (@ (neg (call f x)) (neg W)))\n");
}

/* ---- locations */

static void test_locations(void **state) {
    (void)state;
    Parsed r = parse_s("network n\nz2 = (a1) @ W2 + b2\n  output p = softmax(-z2, axis=1)\n");
    assert_non_null(r.prog);
    const Stmt *s = r.prog->first->next;
    assert_int_equal(s->kind, ST_ASSIGN);
    assert_int_equal(s->loc.line, 2);
    assert_int_equal(s->loc.col, 1);
    assert_int_equal(s->name_loc.col, 1);
    const Expr *plus = s->expr;
    assert_int_equal(plus->kind, EX_BIN);
    assert_int_equal(plus->op, '+');
    assert_int_equal(plus->loc.col, 16);
    assert_int_equal(plus->start.col, 6); /* the '(' */
    assert_int_equal(plus->lhs->loc.col, 11); /* '@' */
    assert_int_equal(plus->lhs->lhs->loc.col, 7); /* a1 */
    assert_int_equal(plus->lhs->lhs->start.col, 6);
    assert_int_equal(plus->depth, 3);
    s = s->next;
    assert_int_equal(s->kind, ST_OUTPUT);
    assert_int_equal(s->loc.line, 3);
    assert_int_equal(s->loc.col, 3);
    assert_int_equal(s->name_loc.col, 10);
    const Expr *call = s->expr;
    assert_int_equal(call->kind, EX_CALL);
    assert_int_equal(call->loc.col, 14);
    assert_int_equal(call->close.col, 33);
    const Arg *arg = call->args;
    assert_null(arg->name);
    assert_int_equal(arg->value->kind, EX_NEG);
    assert_int_equal(arg->value->loc.col, 22);
    assert_int_equal(arg->value->start.col, 22);
    arg = arg->next;
    assert_string_equal(arg->name, "axis");
    assert_int_equal(arg->name_loc.col, 27);
    assert_int_equal(arg->value->loc.col, 32);
    assert_int_equal(ast_arg_count(call->args), 2);
    assert_int_equal(r.prog->nstmts, 3);
    parsed_free(&r);
}

static void test_list_and_param_locations(void **state) {
    (void)state;
    Parsed r = parse_s("param W[2, 3] init=zeros\n");
    assert_non_null(r.prog);
    const Stmt *s = r.prog->first;
    assert_int_equal(s->loc.col, 1);
    assert_int_equal(s->name_loc.col, 7);
    assert_int_equal(s->dims->kind, EX_LIST);
    assert_int_equal(s->dims->loc.col, 8);
    assert_int_equal(s->dims->close.col, 13);
    assert_int_equal(s->dims->args->next->value->loc.col, 12);
    assert_int_equal(s->init->kind, EX_NAME);
    assert_int_equal(s->init->loc.col, 20);
    parsed_free(&r);
}

/* ---- syntax errors */

static void test_error_unexpected_character(void **state) {
    (void)state;
    expect_diag("network n\na = b $ c\n",
                "t.nn:2:7: error: unexpected character '$'\n"
                "    2 | a = b $ c\n"
                "      |       ^\n");
}

static void test_error_nul_byte(void **state) {
    (void)state;
    const char src[] = "network n\n\0\n";
    Parsed r = parse_n(src, sizeof src - 1);
    assert_null(r.prog);
    assert_string_equal(r.diag, "t.nn:2:1: error: unexpected byte 0x00\n"
                                "    2 | ?\n"
                                "      | ^\n");
    parsed_free(&r);
}

static void test_error_number_followed_by_letter(void **state) {
    (void)state;
    expect_diag("a = 3a + 1\n", "t.nn:1:5: error: invalid number '3a': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | a = 3a + 1\n"
                                "      |     ^\n");
}

static void test_error_unterminated_string(void **state) {
    (void)state;
    expect_diag("h = gelu(x, approximate=\"tanh)\nloss h\n",
                "t.nn:1:25: error: unterminated string: expected '\"' before the end of the line\n"
                "    1 | h = gelu(x, approximate=\"tanh)\n"
                "      |                         ^\n");
}

static void test_error_unclosed_paren_at_newline(void **state) {
    (void)state;
    /* the next statement still parses: one error only */
    expect_diag("network n\n"
                "a1 = tanh(x @ W1 + b1   # comment\n"
                "z2 = a1 @ W2 + b2\n",
                "t.nn:2:22: error: expected ')' (to close '(' at 2:10), found newline\n"
                "    2 | a1 = tanh(x @ W1 + b1   # comment\n"
                "      |                      ^\n");
    expect_diag("input x[2, 3\nloss x\n",
                "t.nn:1:13: error: expected ']' (to close '[' at 1:8), found newline\n"
                "    1 | input x[2, 3\n"
                "      |             ^\n");
}

static void test_error_unclosed_paren_at_end_of_file(void **state) {
    (void)state;
    expect_diag("loss f(x, g(y)\n",
                "t.nn:1:15: error: expected ')' (to close '(' at 1:7), found end of file\n"
                "    1 | loss f(x, g(y)\n"
                "      |               ^\n");
    expect_diag("optimizer sgd(lr=0.01,",
                "t.nn:1:23: error: expected an expression, found end of file\n"
                "    1 | optimizer sgd(lr=0.01,\n"
                "      |                       ^\n");
}

static void test_error_wrong_closer(void **state) {
    (void)state;
    expect_diag("a = [1, 2)\nb = f(3 (4))\n",
                "t.nn:1:10: error: expected ']' (to close '[' at 1:5), found ')'\n"
                "    1 | a = [1, 2)\n"
                "      |          ^\n"
                "t.nn:2:9: error: expected ')' (to close '(' at 2:6), found '('\n"
                "    2 | b = f(3 (4))\n"
                "      |         ^\n");
}

static void test_error_chained_power(void **state) {
    (void)state;
    expect_diag("y = x^2^3\n", "t.nn:1:8: error: chained '^' is ambiguous: write (a^b)^c or a^(b^c)\n"
                               "    1 | y = x^2^3\n"
                               "      |        ^\n");
    expect_diag("y = x^-2^3\n", "t.nn:1:9: error: chained '^' is ambiguous: write (a^b)^c or a^(b^c)\n"
                                "    1 | y = x^-2^3\n"
                                "      |         ^\n");
    expect_diag("y = x^--2\n", "t.nn:1:8: error: expected an expression, found '-'\n"
                               "    1 | y = x^--2\n"
                               "      |        ^\n");
}

static void test_error_missing_newline(void **state) {
    (void)state;
    expect_diag("network a b\n", "t.nn:1:11: error: expected a newline after the statement, found 'b'\n"
                                 "    1 | network a b\n"
                                 "      |           ^\n");
    expect_diag("a = b c\n", "t.nn:1:7: error: expected a newline after the statement, found 'c'\n"
                             "    1 | a = b c\n"
                             "      |       ^\n");
    expect_diag("input x[2] loss x\n",
                "t.nn:1:12: error: expected a newline after the statement, found 'loss'\n"
                "    1 | input x[2] loss x\n"
                "      |            ^\n");
}

static void test_error_bad_statement_start(void **state) {
    (void)state;
    expect_diag(") = 3\n", "t.nn:1:1: error: expected a statement, found ')'\n"
                           "    1 | ) = 3\n"
                           "      | ^\n");
    expect_diag("3 = x\n", "t.nn:1:1: error: expected a statement, found '3'\n"
                           "    1 | 3 = x\n"
                           "      | ^\n");
    expect_diag("h.weight = x\n", "t.nn:1:1: error: expected a statement, found 'h.weight'\n"
                                  "    1 | h.weight = x\n"
                                  "      | ^\n");
    expect_diag("true\n", "t.nn:1:1: error: expected a statement, found 'true'\n"
                          "    1 | true\n"
                          "      | ^\n");
    expect_diag("x\n", "t.nn:1:2: error: expected '=', found newline\n"
                       "    1 | x\n"
                       "      |  ^\n");
}

static void test_error_statement_shapes(void **state) {
    (void)state;
    expect_diag("network\n", "t.nn:1:8: error: expected a name, found newline\n"
                             "    1 | network\n"
                             "      |        ^\n");
    expect_diag("input x\n", "t.nn:1:8: error: expected '[', found newline\n"
                             "    1 | input x\n"
                             "      |        ^\n");
    expect_diag("target y\n", "t.nn:1:9: error: expected ':' or '[', found newline\n"
                              "    1 | target y\n"
                              "      |         ^\n");
    expect_diag("target y : klass(2)\n", "t.nn:1:12: error: expected 'class', found 'klass'\n"
                                         "    1 | target y : klass(2)\n"
                                         "      |            ^\n");
    expect_diag("param W[2] foo=zeros\n", "t.nn:1:12: error: expected 'init', found 'foo'\n"
                                          "    1 | param W[2] foo=zeros\n"
                                          "      |            ^\n");
    expect_diag("param W[2] init=3\n", "t.nn:1:17: error: expected a name, found '3'\n"
                                        "    1 | param W[2] init=3\n"
                                        "      |                 ^\n");
    expect_diag("regularize x\n", "t.nn:1:13: error: expected '(', found newline\n"
                                  "    1 | regularize x\n"
                                  "      |             ^\n");
    expect_diag("loss  # nothing\n", "t.nn:1:5: error: expected an expression, found newline\n"
                                     "    1 | loss  # nothing\n"
                                     "      |     ^\n");
    expect_diag("a = f(k=)\n", "t.nn:1:9: error: expected an expression, found ')'\n"
                               "    1 | a = f(k=)\n"
                               "      |         ^\n");
    expect_diag("a = [k=1]\n", "t.nn:1:7: error: expected ']' (to close '[' at 1:5), found '='\n"
                               "    1 | a = [k=1]\n"
                               "      |       ^\n");
}

static void test_error_long_token_is_shortened(void **state) {
    (void)state;
    expect_diag("a = b abcdefghijklmnopqrstuvwxyz_0123456789\n",
                "t.nn:1:7: error: expected a newline after the statement, found "
                "'abcdefghijklmnopqrstuvwxyz_01234...'\n"
                "    1 | a = b abcdefghijklmnopqrstuvwxyz_0123456789\n"
                "      |       ^\n");
}

static void test_several_errors_in_one_run(void **state) {
    (void)state;
    Parsed r = parse_s("network n\n"
                       "a = (1 +\n"        /* unclosed: joins the next line */
                       "   2\n"
                       "b = $\n"           /* lexical */
                       "c = x^2^3\n"       /* chained power */
                       "loss\n"            /* missing expression */
                       "d = e f\n"         /* missing newline */
                       "g = 1\n"           /* fine */
                       "h = )\n");         /* right after a good line */
    assert_null(r.prog);
    assert_int_equal(r.errors, 6);
    assert_string_equal(r.diag,
                        "t.nn:3:5: error: expected ')' (to close '(' at 2:5), found newline\n"
                        "    3 |    2\n"
                        "      |     ^\n"
                        "t.nn:4:5: error: unexpected character '$'\n"
                        "    4 | b = $\n"
                        "      |     ^\n"
                        "t.nn:5:8: error: chained '^' is ambiguous: write (a^b)^c or a^(b^c)\n"
                        "    5 | c = x^2^3\n"
                        "      |        ^\n"
                        "t.nn:6:5: error: expected an expression, found newline\n"
                        "    6 | loss\n"
                        "      |     ^\n"
                        "t.nn:7:7: error: expected a newline after the statement, found 'f'\n"
                        "    7 | d = e f\n"
                        "      |       ^\n"
                        "t.nn:9:5: error: expected an expression, found ')'\n"
                        "    9 | h = )\n"
                        "      |     ^\n");
    parsed_free(&r);
}

static void test_error_right_after_recovery_is_reported(void **state) {
    (void)state;
    Parsed r = parse_s("a =\n) b\n= c\n");
    assert_int_equal(r.errors, 3);
    parsed_free(&r);
}

/* ---- limits */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    char *s = malloc(h + u * n + t + 1);
    assert_non_null(s);
    memcpy(s, head, h);
    for (size_t i = 0; i < n; i++)
        memcpy(s + h + i * u, unit, u);
    memcpy(s + h + u * n, tail, t + 1);
    return s;
}

static void test_line_of_70000_bytes(void **state) {
    (void)state;
    char *src = repeat("network n\nloss", " ", 70000 - 5, "x\n");
    Parsed r = parse_s(src);
    assert_null(r.prog);
    assert_int_equal(r.errors, 1);
    assert_int_equal(strncmp(r.diag, "t.nn:2:65537: error: line is longer than 65536 bytes\n", 53), 0);
    assert_true(strlen(r.diag) < 500);
    parsed_free(&r);
    free(src);
}

static void test_10000_nested_parentheses(void **state) {
    (void)state;
    char *open = repeat("loss ", "(", 10000, "x");
    char *src = repeat(open, ")", 10000, "\n");
    Parsed r = parse_s(src);
    assert_null(r.prog);
    assert_int_equal(r.errors, 1);
    const char *want = "t.nn:1:262: error: too many nested brackets (the limit is 256)\n";
    assert_int_equal(strncmp(r.diag, want, strlen(want)), 0);
    parsed_free(&r);
    free(src);
    free(open);
}

static void test_10000_unary_minuses(void **state) {
    (void)state;
    char *src = repeat("loss ", "-", 10000, "x\n");
    Parsed r = parse_s(src);
    assert_null(r.prog);
    assert_int_equal(r.errors, 1);
    const char *want = "t.nn:1:262: error: too many unary '-' in a row (the limit is 256)\n";
    assert_int_equal(strncmp(r.diag, want, strlen(want)), 0);
    parsed_free(&r);
    free(src);
}

static void test_deepest_accepted_nesting(void **state) {
    (void)state;
    /* 255 levels of f(x=[a+b*--c^-( : brackets and minus at their limits */
    char *open = repeat("loss ", "f(x=[a+b*--c^-(", 85, "x");
    char *src = repeat(open, ")])", 85, "\n");
    Parsed r = parse_s(src);
    assert_string_equal(r.diag, "");
    assert_non_null(r.prog);
    parsed_free(&r);
    free(src);
    free(open);
    char *minus = repeat("loss ", "-", 256, "x\n");
    r = parse_s(minus);
    assert_non_null(r.prog);
    assert_int_equal(r.prog->first->expr->depth, 257);
    parsed_free(&r);
    free(minus);
}

static void test_expression_depth_limit(void **state) {
    (void)state;
    char *src = repeat("loss x", "+x", 2000, "\n");
    Parsed r = parse_s(src);
    assert_null(r.prog);
    assert_int_equal(r.errors, 1);
    /* the 1024th '+' makes the tree 1025 deep: it is at column 5 + 2 * 1024 */
    const char *want = "t.nn:1:2053: error: expression nests more than 1024 operations deep "
                       "(split it into statements with intermediate names)\n";
    assert_int_equal(strncmp(r.diag, want, strlen(want)), 0);
    parsed_free(&r);
    free(src);
}

static void test_many_statements_and_arguments(void **state) {
    (void)state;
    char *stmts = repeat("network n\n", "a = 1\n", 100000, "");
    Parsed r = parse_s(stmts);
    assert_non_null(r.prog);
    assert_int_equal(r.prog->nstmts, 100001);
    parsed_free(&r);
    free(stmts);
    char *args = repeat("a = f(0", ",\n1", 100000, ")\n");
    r = parse_s(args);
    assert_non_null(r.prog);
    assert_int_equal(ast_arg_count(r.prog->first->expr->args), 100001);
    parsed_free(&r);
    free(args);
}

static void test_binary_garbage(void **state) {
    (void)state;
    size_t n = 1 << 20;
    char *src = malloc(n);
    assert_non_null(src);
    uint32_t x = 2463534242u;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < n; i++) { /* xorshift32 */
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            src[i] = round < 2 ? (char)x : "ab(+\n)[,-1e\"#"[x % 13];
        }
        Parsed r = parse_n(src, n);
        assert_null(r.prog);
        assert_true(r.errors > 0 && r.errors <= 50);
        parsed_free(&r);
    }
    free(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moons_example),
        cmocka_unit_test(test_layers_example),
        cmocka_unit_test(test_every_statement),
        cmocka_unit_test(test_primaries),
        cmocka_unit_test(test_class_is_an_ordinary_name),
        cmocka_unit_test(test_empty_and_blank_inputs),
        cmocka_unit_test(test_continuation_lines),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_list_and_param_locations),
        cmocka_unit_test(test_error_unexpected_character),
        cmocka_unit_test(test_error_nul_byte),
        cmocka_unit_test(test_error_number_followed_by_letter),
        cmocka_unit_test(test_error_unterminated_string),
        cmocka_unit_test(test_error_unclosed_paren_at_newline),
        cmocka_unit_test(test_error_unclosed_paren_at_end_of_file),
        cmocka_unit_test(test_error_wrong_closer),
        cmocka_unit_test(test_error_chained_power),
        cmocka_unit_test(test_error_missing_newline),
        cmocka_unit_test(test_error_bad_statement_start),
        cmocka_unit_test(test_error_statement_shapes),
        cmocka_unit_test(test_error_long_token_is_shortened),
        cmocka_unit_test(test_several_errors_in_one_run),
        cmocka_unit_test(test_error_right_after_recovery_is_reported),
        cmocka_unit_test(test_line_of_70000_bytes),
        cmocka_unit_test(test_10000_nested_parentheses),
        cmocka_unit_test(test_10000_unary_minuses),
        cmocka_unit_test(test_deepest_accepted_nesting),
        cmocka_unit_test(test_expression_depth_limit),
        cmocka_unit_test(test_many_statements_and_arguments),
        cmocka_unit_test(test_binary_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
