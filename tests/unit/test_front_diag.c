/*
 * test_front_diag.c - the diagnostics reporter (diag.c) and the support
 * allocators it sits beside (arena.c: Arena, Buf).
 *
 * Every diagnostic is routed into an open_memstream buffer and compared
 * byte for byte with the gcc-style text it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nngen.h"

/* ---- a memory stream per test */

typedef struct Sink {
    FILE *f;
    char *text;
    size_t len;
} Sink;

static void sink_open(Sink *s, const char *src, size_t len) {
    s->text = NULL;
    s->len = 0;
    s->f = open_memstream(&s->text, &s->len);
    assert_non_null(s->f);
    diag_begin("t.nn", src, len, s->f);
}

/* Closes the stream; the caller frees s->text. */
static char *sink_close(Sink *s) {
    fclose(s->f);
    return s->text;
}

static Loc at(int line, int col) {
    Loc l = {line, col};
    return l;
}

/* ---- diag */

static void test_error_format(void **state) {
    (void)state;
    const char *src = "a1 = tanh(x)\nz2 = a1 @ W2 + b2\n";
    Sink s;
    sink_open(&s, src, strlen(src));
    diag_error(at(2, 9), "matmul shapes [N, %d] @ [4, 2] do not agree (%d != %d)", 3, 3, 4);
    assert_int_equal(diag_count(), 1);
    char *out = sink_close(&s);
    assert_string_equal(out,
                        "t.nn:2:9: error: matmul shapes [N, 3] @ [4, 2] do not agree (3 != 4)\n"
                        "    2 | z2 = a1 @ W2 + b2\n"
                        "      |         ^\n");
    free(out);
}

static void test_tabs_align_caret(void **state) {
    (void)state;
    const char *src = "\tx =\t\ty\n";
    Sink s;
    sink_open(&s, src, strlen(src));
    diag_error(at(1, 7), "bad"); /* the y */
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:1:7: error: bad\n"
                             "    1 | \tx =\t\ty\n"
                             "      | \t   \t\t^\n");
    free(out);
}

static void test_line_zero_has_no_quote(void **state) {
    (void)state;
    Sink s;
    sink_open(&s, "a\n", 2);
    diag_error(at(0, 0), "no network statement");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn: error: no network statement\n");
    free(out);
}

static void test_note_does_not_count(void **state) {
    (void)state;
    Sink s;
    sink_open(&s, "x = y\n", 6);
    diag_note(at(1, 5), "y is defined here");
    assert_int_equal(diag_count(), 0);
    diag_error(at(1, 1), "first");
    diag_error(at(1, 1), "second");
    assert_int_equal(diag_count(), 2);
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:1:5: note: y is defined here\n"
                             "    1 | x = y\n"
                             "      |     ^\n"
                             "t.nn:1:1: error: first\n"
                             "    1 | x = y\n"
                             "      | ^\n"
                             "t.nn:1:1: error: second\n"
                             "    1 | x = y\n"
                             "      | ^\n");
    free(out);
    sink_open(&s, "", 0); /* diag_begin starts a new count */
    assert_int_equal(diag_count(), 0);
    free(sink_close(&s));
}

static void test_nonprintable_bytes_shown_as_question_marks(void **state) {
    (void)state;
    const char src[] = "a\0b\x01\xc3\xa9 = 1\n";
    Sink s;
    sink_open(&s, src, sizeof src - 1);
    diag_error(at(1, 2), "unexpected byte 0x00");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:1:2: error: unexpected byte 0x00\n"
                             "    1 | a?b??? = 1\n"
                             "      |  ^\n");
    free(out);
}

static void test_column_past_end_and_last_line_without_newline(void **state) {
    (void)state;
    const char *src = "network n\nloss";
    Sink s;
    sink_open(&s, src, strlen(src));
    diag_error(at(2, 5), "expected an expression, found end of file");
    diag_error(at(2, 99), "clamped");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:2:5: error: expected an expression, found end of file\n"
                             "    2 | loss\n"
                             "      |     ^\n"
                             "t.nn:2:99: error: clamped\n"
                             "    2 | loss\n"
                             "      |     ^\n");
    free(out);
}

static void test_line_past_end_is_not_quoted(void **state) {
    (void)state;
    Sink s;
    sink_open(&s, "a\n", 2);
    diag_error(at(7, 1), "far away");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:7:1: error: far away\n");
    free(out);
}

static void test_crlf_line_is_quoted_without_cr(void **state) {
    (void)state;
    const char *src = "a = 1\r\nb = $\r\n";
    Sink s;
    sink_open(&s, src, strlen(src));
    diag_error(at(2, 5), "unexpected character '$'");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:2:5: error: unexpected character '$'\n"
                             "    2 | b = $\n"
                             "      |     ^\n");
    free(out);
}

/* A 1 MB line: a 160-byte window around the column, "..." on both cut sides. */
static void test_long_line_window(void **state) {
    (void)state;
    size_t n = 1 << 20;
    char *src = malloc(n + 1);
    assert_non_null(src);
    for (size_t i = 0; i < n; i++)
        src[i] = (char)('a' + i % 26);
    src[n] = '\n';
    Sink s;
    sink_open(&s, src, n + 1);
    diag_error(at(1, 500001), "here");
    char *out = sink_close(&s);
    /* column 500001 is byte 500000; the window starts 80 bytes before it */
    char want[512], line[161];
    for (int i = 0; i < 160; i++)
        line[i] = (char)('a' + (500000 - 80 + i) % 26);
    line[160] = '\0';
    snprintf(want, sizeof want,
             "t.nn:1:500001: error: here\n"
             "    1 | ...%s...\n"
             "      | %*s^\n",
             line, 3 + 80, "");
    assert_string_equal(out, want);
    assert_true(strlen(out) < 400);
    free(out);
    free(src);
}

static void test_long_line_window_at_the_ends(void **state) {
    (void)state;
    char src[300];
    memset(src, 'x', 299);
    src[299] = '\n';
    Sink s;
    sink_open(&s, src, sizeof src);
    diag_error(at(1, 3), "start");
    diag_error(at(1, 300), "end");
    char *out = sink_close(&s);
    char want[1024], x160[161];
    memset(x160, 'x', 160);
    x160[160] = '\0';
    snprintf(want, sizeof want,
             "t.nn:1:3: error: start\n"
             "    1 | %s...\n"
             "      |   ^\n"
             "t.nn:1:300: error: end\n"
             "    1 | ...%s\n"
             "      | %*s^\n",
             x160, x160, 3 + 160, ""); /* the window ends with the line */
    assert_string_equal(out, want);
    free(out);
}

static void test_wide_line_numbers(void **state) {
    (void)state;
    size_t n = 123456;
    char *src = malloc(n * 2);
    assert_non_null(src);
    for (size_t i = 0; i < n; i++) {
        src[2 * i] = 'z';
        src[2 * i + 1] = '\n';
    }
    Sink s;
    sink_open(&s, src, n * 2);
    diag_error(at(123456, 1), "deep in the file");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:123456:1: error: deep in the file\n"
                             "123456 | z\n"
                             "       | ^\n");
    free(out);
    free(src);
}

static void test_diag_line_and_file(void **state) {
    (void)state;
    const char src[] = "one\ntwo\r\n\nfour";
    Sink s;
    sink_open(&s, src, sizeof src - 1);
    size_t len = 99;
    const char *l = diag_line(2, &len);
    assert_non_null(l);
    assert_int_equal(len, 3);
    assert_memory_equal(l, "two", 3);
    l = diag_line(3, &len);
    assert_non_null(l);
    assert_int_equal(len, 0);
    l = diag_line(4, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(l, "four", 4);
    assert_null(diag_line(5, &len));
    assert_null(diag_line(0, &len));
    assert_string_equal(diag_file(), "t.nn");
    free(sink_close(&s));
}

static void test_error_without_column(void **state) {
    (void)state;
    Sink s;
    sink_open(&s, "abc\n", 4);
    diag_error(at(1, 0), "whole line");
    char *out = sink_close(&s);
    assert_string_equal(out, "t.nn:1: error: whole line\n"
                             "    1 | abc\n");
    free(out);
}

/* ---- arena and Buf */

static void test_arena_zeroed_aligned(void **state) {
    (void)state;
    Arena a = {0};
    for (size_t size = 1; size < 5000; size += 37) {
        unsigned char *p = arena_alloc(&a, size);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xab, size);
    }
    unsigned char *big = arena_alloc(&a, 3u << 20); /* a block of its own */
    assert_int_equal((uintptr_t)big % 16, 0);
    assert_int_equal(big[0], 0);
    assert_int_equal(big[(3u << 20) - 1], 0);
    unsigned char *after = arena_alloc(&a, 8); /* the head block still serves */
    assert_int_equal((uintptr_t)after % 16, 0);
    arena_free(&a);
    assert_null(a.head);
    arena_free(&a); /* twice is harmless */
}

static void test_arena_strings(void **state) {
    (void)state;
    Arena a = {0};
    assert_string_equal(arena_strdup(&a, "tanh"), "tanh");
    assert_string_equal(arena_strndup(&a, "softmax", 4), "soft");
    assert_string_equal(arena_printf(&a, "%s.%d.%s", "h", 1, "weight"), "h.1.weight");
    char *long_one = arena_printf(&a, "%0*d", 100000, 7);
    assert_int_equal(strlen(long_one), 100000);
    assert_int_equal(long_one[99999], '7');
    arena_free(&a);
}

static void test_buf(void **state) {
    (void)state;
    Buf b = {0};
    buf_putc(&b, 'x');
    buf_puts(&b, " = ");
    buf_printf(&b, "%d + %s", 42, "y");
    assert_string_equal(b.data, "x = 42 + y");
    assert_int_equal(b.len, 10);
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%04d", i);
    assert_int_equal(b.len, 10 + 40000);
    assert_memory_equal(b.data + b.len - 4, "9999", 4);
    assert_int_equal(b.data[b.len], '\0');
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "");
    assert_string_equal(b.data, "");
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_format),
        cmocka_unit_test(test_tabs_align_caret),
        cmocka_unit_test(test_line_zero_has_no_quote),
        cmocka_unit_test(test_note_does_not_count),
        cmocka_unit_test(test_nonprintable_bytes_shown_as_question_marks),
        cmocka_unit_test(test_column_past_end_and_last_line_without_newline),
        cmocka_unit_test(test_line_past_end_is_not_quoted),
        cmocka_unit_test(test_crlf_line_is_quoted_without_cr),
        cmocka_unit_test(test_long_line_window),
        cmocka_unit_test(test_long_line_window_at_the_ends),
        cmocka_unit_test(test_wide_line_numbers),
        cmocka_unit_test(test_diag_line_and_file),
        cmocka_unit_test(test_error_without_column),
        cmocka_unit_test(test_arena_zeroed_aligned),
        cmocka_unit_test(test_arena_strings),
        cmocka_unit_test(test_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
