/*
 * test_front_lexer.c - the scanner (grammar/lexer.l) through lex_token, the
 * function the parser calls: token kinds, values and locations, the newline
 * rules, every lexical error and the limits.
 *
 * Tokens are rendered as one string, e.g. "NAME:x@1:1 =@1:3 NUM:3@1:5 NL@1:6",
 * and diagnostics go to a memory stream; both are compared exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nngen.h"
#include "parser.h"

typedef struct Lexed {
    char *tokens; /* rendered tokens, ending with EOF */
    char *diag;   /* everything diag printed */
    int errors;
} Lexed;

static void render(Buf *b, int t, const YYSTYPE *v, const YYLTYPE *l, int locs) {
    if (b->len)
        buf_putc(b, ' ');
    switch (t) {
    case YYEOF: buf_puts(b, "EOF"); break;
    case YYerror: buf_puts(b, "ERR"); break;
    case NEWLINE: buf_puts(b, "NL"); break;
    case NAME: buf_printf(b, "NAME:%s", v->str); break;
    case DOTTED: buf_printf(b, "DOTTED:%s", v->str); break;
    case NUMBER: buf_printf(b, "NUM:%g", v->num); break;
    case STRING: buf_printf(b, "STR:\"%s\"", v->str); break;
    case KW_NETWORK: buf_puts(b, "network"); break;
    case KW_INPUT: buf_puts(b, "input"); break;
    case KW_TARGET: buf_puts(b, "target"); break;
    case KW_PARAM: buf_puts(b, "param"); break;
    case KW_CONST: buf_puts(b, "const"); break;
    case KW_OUTPUT: buf_puts(b, "output"); break;
    case KW_LOSS: buf_puts(b, "loss"); break;
    case KW_REGULARIZE: buf_puts(b, "regularize"); break;
    case KW_OPTIMIZER: buf_puts(b, "optimizer"); break;
    case KW_SCHEDULE: buf_puts(b, "schedule"); break;
    case KW_TRUE: buf_puts(b, "true"); break;
    case KW_FALSE: buf_puts(b, "false"); break;
    default: buf_putc(b, (char)t); break;
    }
    if (locs && t != YYEOF)
        buf_printf(b, "@%d:%d", l->first_line, l->first_column);
}

static Lexed lex_n(const char *src, size_t len, int locs) {
    Lexed r = {0};
    size_t dlen;
    FILE *d = open_memstream(&r.diag, &dlen);
    assert_non_null(d);
    diag_begin("t.nn", src, len, d);
    Arena a = {0};
    Buf b = {0};
    yyscan_t sc = lex_open(&a, src, len);
    for (int n = 0; n < 1000000; n++) {
        YYSTYPE v;
        YYLTYPE l;
        int t = lex_token(&v, &l, sc);
        render(&b, t, &v, &l, locs);
        if (t == YYEOF)
            break;
    }
    lex_close(sc);
    fclose(d);
    r.errors = diag_count();
    r.tokens = b.data;
    arena_free(&a);
    return r;
}

static Lexed lex_s(const char *src, int locs) {
    return lex_n(src, strlen(src), locs);
}

static void lexed_free(Lexed *r) {
    free(r->tokens);
    free(r->diag);
}

/* Asserts the tokens of src (without locations) and that nothing was reported. */
static void expect_tokens(const char *src, const char *want) {
    Lexed r = lex_s(src, 0);
    assert_string_equal(r.tokens, want);
    assert_string_equal(r.diag, "");
    lexed_free(&r);
}

/* ---- tokens */

static void test_every_token_kind(void **state) {
    (void)state;
    expect_tokens("network input target param const output loss regularize optimizer schedule "
                  "true false",
                  "network input target param const output loss regularize optimizer schedule "
                  "true false NL EOF");
    expect_tokens("x _y W1 class h.weight h.1.weight 3 0.5 .25 1e-3 2E5 7e+2 \"tanh\" \"\"",
                  "NAME:x NAME:_y NAME:W1 NAME:class DOTTED:h.weight DOTTED:h.1.weight NUM:3 "
                  "NUM:0.5 NUM:0.25 NUM:0.001 NUM:200000 NUM:700 STR:\"tanh\" STR:\"\" NL EOF");
    expect_tokens("( ) [ ] , = : . + - * / @ ^", "( ) [ ] , = : . + - * / @ ^ EOF"); /* '^' continues the line */
}

static void test_reserved_words_are_whole_words(void **state) {
    (void)state;
    expect_tokens("networks loss_fn inputs true_ falsey Network",
                  "NAME:networks NAME:loss_fn NAME:inputs NAME:true_ NAME:falsey NAME:Network "
                  "NL EOF");
}

static void test_numbers_and_names_touching_punctuation(void **state) {
    (void)state;
    expect_tokens("x@W1+b1", "NAME:x @ NAME:W1 + NAME:b1 NL EOF");
    expect_tokens("2*x^-1", "NUM:2 * NAME:x ^ - NUM:1 NL EOF");
    expect_tokens("f(1.5,.5)", "NAME:f ( NUM:1.5 , NUM:0.5 ) NL EOF");
    expect_tokens("3.x", "NUM:3 . NAME:x NL EOF");
}

static void test_locations_count_bytes(void **state) {
    (void)state;
    Lexed r = lex_s("a1 = tanh(x)\n\tz =  -2.5  # note\n", 1);
    assert_string_equal(r.tokens, "NAME:a1@1:1 =@1:4 NAME:tanh@1:6 (@1:10 NAME:x@1:11 )@1:12 "
                                  "NL@1:13 NAME:z@2:2 =@2:4 -@2:7 NUM:2.5@2:8 NL@2:11 EOF");
    lexed_free(&r);
}

static void test_comments(void **state) {
    (void)state;
    expect_tokens("# only a comment", "EOF");
    expect_tokens("a # b c ( [ $ \"\n# \x01 $\nb", "NAME:a NL NL NAME:b NL EOF");
}

/* ---- newlines */

static void test_newlines_end_statements(void **state) {
    (void)state;
    expect_tokens("", "EOF");
    expect_tokens("\n\n", "NL NL EOF");
    expect_tokens("a\n\nb\n", "NAME:a NL NL NAME:b NL EOF");
    expect_tokens("a", "NAME:a NL EOF"); /* the last line needs no newline */
    expect_tokens("a\r\nb\r\n", "NAME:a NL NAME:b NL EOF");
}

static void test_newline_after_operator_continues(void **state) {
    (void)state;
    expect_tokens("a +\nb", "NAME:a + NAME:b NL EOF");
    expect_tokens("a -\nb *\nc /\nd @\ne ^\nf ,\ng", "NAME:a - NAME:b * NAME:c / NAME:d @ NAME:e "
                                                     "^ NAME:f , NAME:g NL EOF");
    expect_tokens("a + # comments aside\n\n  # and blank lines\nb", "NAME:a + NAME:b NL EOF");
    expect_tokens("a =\nb", "NAME:a = NL NAME:b NL EOF"); /* '=' does not continue */
    expect_tokens("a\n+ b", "NAME:a NL + NAME:b NL EOF"); /* a leading operator does not */
}

static void test_newline_inside_brackets_is_ignored(void **state) {
    (void)state;
    expect_tokens("f(a,\n  b\n)\nc", "NAME:f ( NAME:a , NAME:b ) NL NAME:c NL EOF");
    expect_tokens("x[2\n, 3\n\n]", "NAME:x [ NUM:2 , NUM:3 ] NL EOF");
    expect_tokens("f([1,\n2], (a\n+ b))", "NAME:f ( [ NUM:1 , NUM:2 ] , ( NAME:a + NAME:b ) ) NL EOF");
}

/* An operand right after an operand, or a statement keyword, after a newline
 * inside brackets: the bracket was left open, the newline ends the statement. */
static void test_newline_inside_brackets_before_a_new_statement(void **state) {
    (void)state;
    Lexed r = lex_s("a = f(x  # c\nz = 2\n", 1);
    assert_string_equal(r.tokens, "NAME:a@1:1 =@1:3 NAME:f@1:5 (@1:6 NAME:x@1:7 NL@1:8 "
                                  "NAME:z@2:1 =@2:3 NUM:2@2:5 NL@2:6 EOF");
    lexed_free(&r);
    expect_tokens("f(a,\nloss x", "NAME:f ( NAME:a , NL loss NAME:x NL EOF");
    expect_tokens("f(a\n(b)", "NAME:f ( NAME:a ( NAME:b ) EOF"); /* still a call */
}

static void test_unclosed_bracket_at_end_of_file(void **state) {
    (void)state;
    expect_tokens("f(a", "NAME:f ( NAME:a EOF");
    expect_tokens("a +", "NAME:a + EOF");
}

/* ---- errors */

static void test_unexpected_character(void **state) {
    (void)state;
    Lexed r = lex_s("a = $b\n", 1);
    assert_string_equal(r.tokens, "NAME:a@1:1 =@1:3 ERR@1:5 NAME:b@1:6 NL@1:7 EOF");
    assert_string_equal(r.diag, "t.nn:1:5: error: unexpected character '$'\n"
                                "    1 | a = $b\n"
                                "      |     ^\n");
    lexed_free(&r);
}

static void test_run_of_bad_bytes_is_one_error(void **state) {
    (void)state;
    Lexed r = lex_s("a = `~!?\xff b\n", 0);
    assert_string_equal(r.tokens, "NAME:a = ERR NAME:b NL EOF");
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.diag, "t.nn:1:5: error: unexpected character '`'\n"
                                "    1 | a = `~!?? b\n"
                                "      |     ^\n");
    lexed_free(&r);
}

static void test_nul_byte(void **state) {
    (void)state;
    const char src[] = "x\0= 1\n";
    Lexed r = lex_n(src, sizeof src - 1, 1);
    assert_string_equal(r.tokens, "NAME:x@1:1 ERR@1:2 =@1:3 NUM:1@1:5 NL@1:6 EOF");
    assert_string_equal(r.diag, "t.nn:1:2: error: unexpected byte 0x00\n"
                                "    1 | x?= 1\n"
                                "      |  ^\n");
    lexed_free(&r);
}

static void test_nul_byte_in_string(void **state) {
    (void)state;
    const char src[] = "\"ta\0nh\"";
    Lexed r = lex_n(src, sizeof src - 1, 0);
    assert_string_equal(r.tokens, "STR:\"ta\" NL EOF");
    assert_string_equal(r.diag, "t.nn:1:4: error: unexpected byte 0x00 in a string\n"
                                "    1 | \"ta?nh\"\n"
                                "      |    ^\n");
    lexed_free(&r);
}

static void test_lone_carriage_return(void **state) {
    (void)state;
    Lexed r = lex_s("a\rb\n", 0);
    assert_string_equal(r.tokens, "NAME:a ERR NAME:b NL EOF");
    assert_string_equal(r.diag, "t.nn:1:2: error: unexpected carriage return "
                                "(lines end with \"\\n\" or \"\\r\\n\")\n"
                                "    1 | a?b\n"
                                "      |  ^\n");
    lexed_free(&r);
}

static void test_number_followed_by_letter(void **state) {
    (void)state;
    Lexed r = lex_s("3a 1e 2_ 1.5e3x .5f 1e+", 1);
    assert_string_equal(r.tokens, "ERR@1:1 ERR@1:4 ERR@1:7 ERR@1:10 ERR@1:17 ERR@1:21 +@1:23 "
                            "NL@1:24 EOF"); /* after an error, the line ends the statement */
    assert_string_equal(r.diag, "t.nn:1:1: error: invalid number '3a': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      | ^\n"
                                "t.nn:1:4: error: invalid number '1e': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      |    ^\n"
                                "t.nn:1:7: error: invalid number '2_': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      |       ^\n"
                                "t.nn:1:10: error: invalid number '1.5e3x': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      |          ^\n"
                                "t.nn:1:17: error: invalid number '.5f': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      |                 ^\n"
                                "t.nn:1:21: error: invalid number '1e': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | 3a 1e 2_ 1.5e3x .5f 1e+\n"
                                "      |                     ^\n");
    assert_int_equal(r.errors, 6);
    lexed_free(&r);
}

static void test_number_out_of_range(void **state) {
    (void)state;
    Lexed r = lex_s("1e999", 0);
    assert_string_equal(r.tokens, "NUM:inf NL EOF");
    assert_string_equal(r.diag, "t.nn:1:1: error: number out of range '1e999'\n"
                                "    1 | 1e999\n"
                                "      | ^\n");
    lexed_free(&r);
}

static void test_unterminated_string(void **state) {
    (void)state;
    Lexed r = lex_s("a = \"tanh\nb = \"x", 1);
    assert_string_equal(r.tokens, "NAME:a@1:1 =@1:3 ERR@1:5 NL@1:10 NAME:b@2:1 =@2:3 ERR@2:5 "
                                  "NL@2:7 EOF");
    assert_string_equal(r.diag, "t.nn:1:5: error: unterminated string: expected '\"' before the end of the line\n"
                                "    1 | a = \"tanh\n"
                                "      |     ^\n"
                                "t.nn:2:5: error: unterminated string: expected '\"' before the end of the line\n"
                                "    2 | b = \"x\n"
                                "      |     ^\n");
    lexed_free(&r);
}

/* After a lexical error the next newline ends the statement, whatever is open. */
static void test_error_resynchronizes_at_newline(void **state) {
    (void)state;
    Lexed r = lex_s("a = f(1, $\nb = 2 +\nc", 0);
    assert_string_equal(r.tokens,
                        "NAME:a = NAME:f ( NUM:1 , ERR NL NAME:b = NUM:2 + NAME:c NL EOF");
    assert_int_equal(r.errors, 1);
    lexed_free(&r);
}

static void test_several_errors_in_one_run(void **state) {
    (void)state;
    Lexed r = lex_s("$ 3a \"x\n\x7f", 0);
    assert_int_equal(r.errors, 4);
    assert_string_equal(r.diag, "t.nn:1:1: error: unexpected character '$'\n"
                                "    1 | $ 3a \"x\n"
                                "      | ^\n"
                                "t.nn:1:3: error: invalid number '3a': expected a decimal number (3, 0.5, .25, 1e-3) followed by a space, an operator or a bracket\n"
                                "    1 | $ 3a \"x\n"
                                "      |   ^\n"
                                "t.nn:1:6: error: unterminated string: expected '\"' before the end of the line\n"
                                "    1 | $ 3a \"x\n"
                                "      |      ^\n"
                                "t.nn:2:1: error: unexpected byte 0x7f\n"
                                "    2 | ?\n"
                                "      | ^\n");
    lexed_free(&r);
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

static void test_line_longer_than_limit(void **state) {
    (void)state;
    char *src = repeat("loss", " ", 70000 - 5, "x\nok\n");
    Lexed r = lex_s(src, 1);
    assert_int_equal(r.errors, 1);
    assert_string_equal(r.tokens, "loss@1:1 NAME:x@1:70000 NL@1:70001 NAME:ok@2:1 NL@2:3 EOF");
    char want[1024];
    snprintf(want, sizeof want,
             "t.nn:1:65537: error: line is longer than 65536 bytes\n"
             "    1 | ...%160s...\n"
             "      | %83s^\n",
             "", "");
    assert_string_equal(r.diag, want);
    lexed_free(&r);
    free(src);
}

static void test_long_lines_reported_once_each(void **state) {
    (void)state;
    char *src = repeat("# ", "abcdefgh", 20000, "\nx = 1\n");
    size_t n = strlen(src);
    char *two = malloc(2 * n + 1);
    assert_non_null(two);
    memcpy(two, src, n);
    memcpy(two + n, src, n + 1);
    Lexed r = lex_s(two, 0);
    assert_int_equal(r.errors, 2);
    assert_string_equal(r.tokens, "NL NAME:x = NUM:1 NL NL NAME:x = NUM:1 NL EOF");
    assert_non_null(strstr(r.diag, "t.nn:1:65537: error: line is longer than 65536 bytes\n"));
    assert_non_null(strstr(r.diag, "t.nn:3:65537: error: line is longer than 65536 bytes\n"));
    lexed_free(&r);
    free(two);
    free(src);
}

static void test_exactly_the_longest_line(void **state) {
    (void)state;
    char *src = repeat("x", " ", 65535, "\n"); /* 65,536 bytes before the newline */
    Lexed r = lex_s(src, 0);
    assert_int_equal(r.errors, 0);
    lexed_free(&r);
    free(src);
}

static void test_bracket_nesting_limit(void **state) {
    (void)state;
    char *ok = repeat("a = ", "(", 256, "x");
    Lexed r = lex_s(ok, 0);
    assert_int_equal(r.errors, 0);
    lexed_free(&r);
    free(ok);
    char *deep = repeat("a = ", "[(", 5000, "x");
    r = lex_s(deep, 1);
    assert_int_equal(r.errors, 1);
    /* the 256th bracket is at column 260; the 257th is the error, then the end */
    assert_non_null(strstr(r.tokens, "[@1:259 (@1:260 EOF"));
    char want[1024], window[161];
    for (int i = 0; i < 160; i += 2)
        memcpy(window + i, "[(", 2);
    window[160] = '\0';
    snprintf(want, sizeof want,
             "t.nn:1:261: error: too many nested brackets (the limit is 256)\n"
             "    1 | ...%s...\n"
             "      | %83s^\n",
             window, "");
    assert_string_equal(r.diag, want);
    lexed_free(&r);
    free(deep);
}

static void test_unary_minus_limit(void **state) {
    (void)state;
    char *ok = repeat("a = b - ", "-", 256, "x"); /* the first '-' is binary */
    Lexed r = lex_s(ok, 0);
    assert_int_equal(r.errors, 0);
    lexed_free(&r);
    free(ok);
    char *deep = repeat("a = ", "-", 10000, "x");
    r = lex_s(deep, 0);
    assert_int_equal(r.errors, 1);
    char want[1024];
    snprintf(want, sizeof want,
             "t.nn:1:261: error: too many unary '-' in a row (the limit is 256)\n"
             "    1 | ...%s...\n"
             "      | %83s^\n",
             "----------------------------------------------------------------"
             "----------------------------------------------------------------"
             "--------------------------------", "");
    assert_string_equal(r.diag, want);
    lexed_free(&r);
    free(deep);
}

static void test_binary_garbage(void **state) {
    (void)state;
    size_t n = 1 << 20;
    char *src = malloc(n);
    assert_non_null(src);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (char)(x >> 23);
    }
    Lexed r = lex_n(src, n, 0);
    assert_true(r.errors > 0);
    assert_true(r.errors <= 50); /* then it stops */
    assert_non_null(strstr(r.diag, "t.nn: note: too many errors, stopping here\n"));
    assert_true(strlen(r.diag) < 50 * 3 * 200);
    lexed_free(&r);
    free(src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_token_kind),
        cmocka_unit_test(test_reserved_words_are_whole_words),
        cmocka_unit_test(test_numbers_and_names_touching_punctuation),
        cmocka_unit_test(test_locations_count_bytes),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_newlines_end_statements),
        cmocka_unit_test(test_newline_after_operator_continues),
        cmocka_unit_test(test_newline_inside_brackets_is_ignored),
        cmocka_unit_test(test_newline_inside_brackets_before_a_new_statement),
        cmocka_unit_test(test_unclosed_bracket_at_end_of_file),
        cmocka_unit_test(test_unexpected_character),
        cmocka_unit_test(test_run_of_bad_bytes_is_one_error),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_nul_byte_in_string),
        cmocka_unit_test(test_lone_carriage_return),
        cmocka_unit_test(test_number_followed_by_letter),
        cmocka_unit_test(test_number_out_of_range),
        cmocka_unit_test(test_unterminated_string),
        cmocka_unit_test(test_error_resynchronizes_at_newline),
        cmocka_unit_test(test_several_errors_in_one_run),
        cmocka_unit_test(test_line_longer_than_limit),
        cmocka_unit_test(test_long_lines_reported_once_each),
        cmocka_unit_test(test_exactly_the_longest_line),
        cmocka_unit_test(test_bracket_nesting_limit),
        cmocka_unit_test(test_unary_minus_limit),
        cmocka_unit_test(test_binary_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
