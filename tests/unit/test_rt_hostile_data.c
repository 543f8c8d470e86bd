/*
 * test_rt_hostile_data.c - the CSV reader on data that is not what it seems:
 * NUL bytes inside a field (strtof stops at them), NaN and infinities
 * written out, values beyond float range, fields longer than the reader's
 * buffer (319 characters in a file). Each is a malformed data line
 * (NN_ERR_FORMAT), on the first line too: a first line is a header only
 * when none of its fields parses. Found while fuzzing the loaders
 * (tests/fuzz/fuzz_data.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_data.h"

/* n bytes of CSV in a temporary file: info's status; read's result in *got */
static int csv_bytes(const char *text, size_t n, long *rows, int *cols, long *got) {
    char name[32];
    float v[64];
    int header, fd, st;
    strcpy(name, "/tmp/nnrt_hostile_XXXXXX");
    fd = mkstemp(name);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
    st = nndata_csv_info(name, rows, cols, &header);
    *got = nndata_csv_read(name, v, 64);
    unlink(name);
    return st;
}

static void test_nul_in_field(void **state) {
    static const char text[] = "1,2\n3,4\0junk\n";
    long rows, got;
    int cols;
    (void)state;
    assert_int_equal(csv_bytes(text, sizeof text - 1, &rows, &cols, &got), NN_ERR_FORMAT);
    assert_int_equal(got, NN_ERR_FORMAT);
}

static void test_non_finite_values(void **state) {
    static const char *const bad[] = {"1,2\n3,nan\n", "1,2\n3,NaN\n",  "1,2\ninf,4\n",
                                      "1,2\n3,-infinity\n", "1,2\n3,1e39\n", "1,2\n-1e40,4\n"};
    long rows, got;
    int cols;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(csv_bytes(bad[i], strlen(bad[i]), &rows, &cols, &got), NN_ERR_FORMAT);
        assert_int_equal(got, NN_ERR_FORMAT);
    }
    /* the largest floats are data */
    assert_int_equal(csv_bytes("3.4e38,-3.4e38\n", 15, &rows, &cols, &got), NN_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(got, 2);
}

static void test_header_of_words(void **state) {
    long rows, got;
    int cols;
    (void)state;
    /* a first line that parses in part is data, not a header: nan and inf
     * parse (strtof takes them), so they make it an error, not a header
     * that silently drops the first sample */
    assert_int_equal(csv_bytes("nan,inf\n1,2\n", 12, &rows, &cols, &got), NN_ERR_FORMAT);
    assert_int_equal(csv_bytes("x,inf\n1,2\n", 10, &rows, &cols, &got), NN_ERR_FORMAT);
    assert_int_equal(csv_bytes("x,y\n1,2\n", 8, &rows, &cols, &got), NN_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(cols, 2);
    assert_int_equal(got, 2);
}

static void test_long_field(void **state) {
    char text[512];
    long rows, got;
    int cols;
    (void)state;
    /* 100 digits after "0.": a number (a file's field may have 319 characters) */
    memcpy(text, "0.", 2);
    memset(text + 2, '1', 100);
    strcpy(text + 102, "\n2\n");
    assert_int_equal(csv_bytes(text, strlen(text), &rows, &cols, &got), NN_OK);
    assert_int_equal(rows, 2);
    /* 100 digits before the point: out of float range, an error */
    memset(text, '1', 100);
    strcpy(text + 100, "\n2\n");
    assert_int_equal(csv_bytes(text, strlen(text), &rows, &cols, &got), NN_ERR_FORMAT);
    /* 400 characters: longer than a file's field may be, so not a number */
    snprintf(text, sizeof text, "1\n0.");
    memset(text + 4, '1', 400);
    text[404] = '\0';
    assert_int_equal(csv_bytes(text, strlen(text), &rows, &cols, &got), NN_ERR_FORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_field),
        cmocka_unit_test(test_non_finite_values),
        cmocka_unit_test(test_header_of_words),
        cmocka_unit_test(test_long_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
