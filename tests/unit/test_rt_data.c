/*
 * test_rt_data.c - the IDX and CSV readers: the MNIST subset the repository
 * ships (examples/data/mnist10k: headers, known bytes, labels), malformed
 * IDX files, CSV with and without a header, blank lines and CRLF, malformed
 * rows, missing files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_data.h"

/* The .idx.gz files of examples/data/mnist10k, unpacked into the build tree
 * by the examples' mnist_data target (tests/CMakeLists.txt makes this test
 * depend on it); the source directory holds the compressed files and
 * README.md. */
#define MNIST NN_BINARY_DIR "/examples/data/mnist10k/"
#define MNIST_SRC NN_SOURCE_DIR "/examples/data/mnist10k/"

static float pix[8000 * 784];
static int32_t lab[8000];

/* A temporary file holding n bytes of text; its name goes to name. */
static void temp_file(char *name, const void *text, size_t n)
{
    int fd;
    strcpy(name, "/tmp/nnrt_data_XXXXXX");
    fd = mkstemp(name);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void test_idx_headers(void **state)
{
    nndata_idx_info info;
    (void)state;
    assert_int_equal(nndata_idx_open(MNIST "train-images.idx", &info), NN_OK);
    assert_int_equal(info.rank, 3);
    assert_int_equal(info.dims[0], 8000);
    assert_int_equal(info.dims[1], 28);
    assert_int_equal(info.dims[2], 28);
    assert_int_equal(info.count, 8000);
    assert_int_equal(info.item_size, 784);
    assert_int_equal(info.data_offset, 16);
    assert_int_equal(nndata_idx_open(MNIST "test-images.idx", &info), NN_OK);
    assert_int_equal(info.count, 2000);
    assert_int_equal(info.item_size, 784);
    assert_int_equal(nndata_idx_open(MNIST "train-labels.idx", &info), NN_OK);
    assert_int_equal(info.rank, 1);
    assert_int_equal(info.count, 8000);
    assert_int_equal(info.item_size, 1);
    assert_int_equal(info.data_offset, 8);
    assert_int_equal(nndata_idx_open(MNIST "test-labels.idx", &info), NN_OK);
    assert_int_equal(info.count, 2000);
}

static double pixel_sum(const float *img)
{
    double s = 0.0;
    int i;
    for (i = 0; i < 784; i++)
        s += img[i];
    return s;
}

/* Known pixels: the first image's first non-zero byte is 74 at 204, its
 * bytes sum to 12350; the last train image sums to 25978. */
static void test_idx_images(void **state)
{
    long i;
    (void)state;
    assert_int_equal(nndata_idx_read_f32(MNIST "train-images.idx", pix, 8000 * 784, 1.0f), 8000 * 784);
    for (i = 0; i < 204; i++)
        assert_true(pix[i] == 0.0f);
    assert_true(pix[204] == 74.0f);
    assert_true(pixel_sum(pix) == 12350.0);
    assert_true(pixel_sum(pix + 7999 * 784) == 25978.0);
    assert_true(pix[7999 * 784 + 687] == 189.0f);
    for (i = 0; i < 8000 * 784; i++)
        assert_true(pix[i] >= 0.0f && pix[i] <= 255.0f);
    /* scaled, and capped at fewer elements than the file has */
    pix[784] = -1.0f;
    assert_int_equal(nndata_idx_read_f32(MNIST "test-images.idx", pix, 784, 1.0f / 255.0f), 784);
    assert_true(pix[784] == -1.0f);
    assert_true(fabs(pixel_sum(pix) - 15677.0 / 255.0) < 1e-3);
    assert_int_equal(nndata_idx_read_f32(MNIST "test-images.idx", pix, 8000 * 784, 1.0f), 2000 * 784);
    assert_true(pixel_sum(pix + 1999 * 784) == 24303.0);
}

/* The bytes as stored: the same values as the float reader's, capped alike */
static void test_idx_bytes(void **state)
{
    static unsigned char b[8000 * 784 + 1];
    long i;
    (void)state;
    assert_int_equal(nndata_idx_read_f32(MNIST "train-images.idx", pix, 8000 * 784, 1.0f), 8000 * 784);
    b[8000 * 784] = 0xab;
    assert_int_equal(nndata_idx_read_u8(MNIST "train-images.idx", b, 8000 * 784 + 1), 8000 * 784);
    assert_true(b[8000 * 784] == 0xab);
    for (i = 0; i < 8000 * 784; i++)
        assert_true((float)b[i] == pix[i]);
    b[784] = 0xcd;
    assert_int_equal(nndata_idx_read_u8(MNIST "test-images.idx", b, 784), 784);
    assert_true(b[784] == 0xcd && b[0] == 0);
    assert_int_equal(nndata_idx_read_u8(NULL, b, 784), NN_ERR_ARG);
    assert_int_equal(nndata_idx_read_u8(MNIST "test-images.idx", NULL, 784), NN_ERR_ARG);
    assert_int_equal(nndata_idx_read_u8(MNIST "no-such-file.idx", b, 784), NN_ERR_IO);
}

/* The in-memory byte reader (nngen train's trainer keeps IDX images so):
 * the same bytes as the file reader's, a short buffer refused */
static void test_idx_bytes_mem(void **state)
{
    static unsigned char file[16 + 2000 * 784], a[2000 * 784 + 1], b[2000 * 784];
    FILE *f = fopen(MNIST "test-images.idx", "rb");
    size_t len;
    (void)state;
    assert_non_null(f);
    len = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_int_equal(len, sizeof file);
    a[2000 * 784] = 0xab;
    assert_int_equal(nndata_idx_read_u8_mem(file, len, a, 2000 * 784 + 1), 2000 * 784);
    assert_true(a[2000 * 784] == 0xab);
    assert_int_equal(nndata_idx_read_u8(MNIST "test-images.idx", b, 2000 * 784), 2000 * 784);
    assert_memory_equal(a, b, 2000 * 784);
    assert_int_equal(nndata_idx_read_u8_mem(file, 784, a, 784), NN_ERR_TRUNCATED);
    assert_int_equal(nndata_idx_read_u8_mem(file, len, NULL, 784), NN_ERR_ARG);
}

static void test_idx_labels(void **state)
{
    static const int32_t first[8] = {7, 7, 4, 3, 8, 6, 8, 4}, last[5] = {7, 2, 0, 7, 8};
    static const int32_t tfirst[8] = {1, 6, 3, 0, 6, 4, 4, 2}, tlast[5] = {9, 3, 9, 7, 9};
    static const int count[10] = {783, 904, 786, 831, 769, 702, 826, 869, 757, 773};
    int seen[10] = {0};
    int i;
    (void)state;
    assert_int_equal(nndata_idx_read_i32(MNIST "train-labels.idx", lab, 8000), 8000);
    assert_memory_equal(lab, first, sizeof first);
    assert_memory_equal(lab + 7995, last, sizeof last);
    for (i = 0; i < 8000; i++) {
        assert_true(lab[i] >= 0 && lab[i] <= 9);
        seen[lab[i]]++;
    }
    for (i = 0; i < 10; i++)
        assert_int_equal(seen[i], count[i]);
    assert_int_equal(nndata_idx_read_i32(MNIST "test-labels.idx", lab, 8000), 2000);
    assert_memory_equal(lab, tfirst, sizeof tfirst);
    assert_memory_equal(lab + 1995, tlast, sizeof tlast);
    assert_int_equal(nndata_idx_read_i32(MNIST "test-labels.idx", lab, 3), 3);
}

/* IDX file: header bytes h (hn of them), then nd data bytes. */
static int idx_status(const unsigned char *h, size_t hn, size_t nd)
{
    unsigned char buf[64];
    char name[32];
    nndata_idx_info info;
    int st;
    memcpy(buf, h, hn);
    memset(buf + hn, 5, nd);
    temp_file(name, buf, hn + nd);
    st = nndata_idx_open(name, &info);
    if (st == NN_OK) {
        assert_int_equal(nndata_idx_read_i32(name, lab, 100), (long)nd);
        assert_int_equal(lab[0], 5);
    } else {
        assert_int_equal(nndata_idx_read_i32(name, lab, 100), st);
        assert_int_equal(nndata_idx_read_f32(name, pix, 100, 1.0f), st);
    }
    unlink(name);
    return st;
}

static void test_idx_rejections(void **state)
{
    const unsigned char ok[12] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    unsigned char h[12];
    nndata_idx_info info;
    (void)state;
    assert_int_equal(idx_status(ok, 12, 12), NN_OK);
    assert_int_equal(idx_status(ok, 12, 11), NN_ERR_TRUNCATED);
    assert_int_equal(idx_status(ok, 12, 0), NN_ERR_TRUNCATED);
    assert_int_equal(idx_status(ok, 12, 13), NN_ERR_FORMAT); /* trailing */
    assert_int_equal(idx_status(ok, 9, 0), NN_ERR_TRUNCATED); /* header cut */
    assert_int_equal(idx_status(ok, 2, 0), NN_ERR_TRUNCATED);
    memcpy(h, ok, 12), h[2] = 0x09; /* signed bytes */
    assert_int_equal(idx_status(h, 12, 12), NN_ERR_FORMAT);
    memcpy(h, ok, 12), h[2] = 0x0d; /* float */
    assert_int_equal(idx_status(h, 12, 48), NN_ERR_FORMAT);
    memcpy(h, ok, 12), h[0] = 1;
    assert_int_equal(idx_status(h, 12, 12), NN_ERR_FORMAT);
    memcpy(h, ok, 12), h[3] = 0; /* rank 0 */
    assert_int_equal(idx_status(h, 12, 12), NN_ERR_FORMAT);
    memcpy(h, ok, 12), h[4] = 0x80; /* 2^31 + 3 items */
    assert_int_equal(idx_status(h, 12, 12), NN_ERR_FORMAT);
    memcpy(h, ok, 12), h[5] = 0x10; /* a huge count, not in the file */
    assert_int_equal(idx_status(h, 12, 12), NN_ERR_TRUNCATED);
    assert_int_equal(nndata_idx_open(MNIST "no-such-file.idx", &info), NN_ERR_IO);
    assert_int_equal(nndata_idx_read_i32(MNIST "no-such-file.idx", lab, 10), NN_ERR_IO);
    assert_int_equal(nndata_idx_open(MNIST_SRC "README.md", &info), NN_ERR_FORMAT);
    assert_int_equal(nndata_idx_open(MNIST_SRC "test-labels.idx.gz", &info), NN_ERR_FORMAT);
}

/* CSV text in a temporary file: nndata_csv_info's status, then the values;
 * the buffer readers (the *_mem functions) must agree on all of it. */
static int csv(const char *text, long *rows, int *cols, int *header, float *dst, long cap, long *got)
{
    char name[32];
    float mv[16];
    long mrows = -1, mgot;
    int st, mcols = -1, mheader = -1;
    size_t len = strlen(text);
    temp_file(name, text, len);
    st = nndata_csv_info(name, rows, cols, header);
    *got = nndata_csv_read(name, dst, cap);
    unlink(name);
    assert_true(cap <= 16);
    assert_int_equal(nndata_csv_info_mem(text, len, &mrows, &mcols, &mheader), st);
    mgot = nndata_csv_read_mem(text, len, mv, cap);
    assert_int_equal(mgot, *got);
    if (st == NN_OK) {
        assert_true(mrows == *rows && mcols == *cols && mheader == *header);
        if (mgot > 0)
            assert_memory_equal(mv, dst, (size_t)mgot * sizeof(float));
    }
    return st;
}

/* The first malformed line of text, by file and by buffer (they agree). */
static long csv_error(const char *text, char *why, size_t cap)
{
    char name[32], mwhy[128];
    long line;
    temp_file(name, text, strlen(text));
    line = nndata_csv_find_error(name, why, cap);
    unlink(name);
    assert_int_equal(nndata_csv_find_error_mem(text, strlen(text), mwhy, sizeof mwhy), line);
    assert_string_equal(mwhy, why);
    return line;
}

static void test_csv_header_and_values(void **state)
{
    const float want[6] = {1.0f, 2.0f, 0.0f, 3.5f, -0.4f, 1.0f};
    float v[16];
    long rows, got;
    int cols, header;
    (void)state;
    assert_int_equal(csv("x,y,label\n1,2,0\n3.5,-4e-1,1\n", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(cols, 3);
    assert_int_equal(header, 1);
    assert_int_equal(got, 6);
    assert_memory_equal(v, want, sizeof want);
    /* no header, CRLF, blanks around fields, blank lines, no final newline */
    assert_int_equal(csv("1, 2 ,0\r\n\n  \r\n3.5,\t-4e-1,1", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(cols, 3);
    assert_int_equal(header, 0);
    assert_int_equal(got, 6);
    assert_memory_equal(v, want, sizeof want);
    /* cap: only the first values */
    v[4] = 99.0f;
    assert_int_equal(csv("x,y,label\n1,2,0\n3.5,-4e-1,1\n", &rows, &cols, &header, v, 4, &got), NN_OK);
    assert_int_equal(got, 4);
    assert_memory_equal(v, want, 4 * sizeof(float));
    assert_true(v[4] == 99.0f);
    /* only a header; an empty file */
    assert_int_equal(csv("a,b\n", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 0 && cols == 2 && header == 1 && got == 0);
    assert_int_equal(csv("", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 0 && cols == 0 && header == 0 && got == 0);
}

static void test_csv_malformed(void **state)
{
    static const char *const bad[] = {
        "1,2\n3\n",            /* fewer columns */
        "1,2\n3,4,5\n",        /* more columns */
        "x,y\n1,2\n3,a\n",     /* a word in a data row */
        "1,2\n1,,2\n",         /* an empty field */
        "1,2\n3,4,\n",         /* a trailing comma */
        "1,2\nx,y\n",          /* a header that is not first */
        "a,b,c\n1,2\n",        /* columns differ from the header's */
        "1,2\n3,4e\n",         /* a number with junk */
    };
    float v[16];
    long rows, got;
    int cols, header;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(csv(bad[i], &rows, &cols, &header, v, 16, &got), NN_ERR_FORMAT);
        assert_int_equal(got, NN_ERR_FORMAT);
    }
    assert_int_equal(nndata_csv_info("/nonexistent/x.csv", &rows, &cols, &header), NN_ERR_IO);
    assert_int_equal(nndata_csv_read("/nonexistent/x.csv", v, 16), NN_ERR_IO);
    assert_int_equal(nndata_csv_read(NULL, v, 16), NN_ERR_ARG);
}

/* The header rule: a first line is a header only when none of its fields
 * parses; a typo or "nan" in a first data line is an error on line 1, not a
 * header that loses a sample. A UTF-8 BOM is skipped; CR alone ends lines. */
static void test_csv_header_rule(void **state)
{
    const float want[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    char why[128];
    float v[16];
    long rows, got;
    int cols, header;
    (void)state;
    assert_int_equal(csv("0.5,O.3,1\n0.1,0.2,0\n", &rows, &cols, &header, v, 16, &got), NN_ERR_FORMAT);
    assert_int_equal(csv_error("0.5,O.3,1\n0.1,0.2,0\n", why, sizeof why), 1);
    assert_string_equal(why, "field 2, 'O.3', is not a number (and the line is no header: a header holds no number)");
    assert_int_equal(csv("nan,0.3,1\n0.1,0.2,0\n", &rows, &cols, &header, v, 16, &got), NN_ERR_FORMAT);
    assert_int_equal(csv("\n\nnan,nan\n1,2\n", &rows, &cols, &header, v, 16, &got), NN_ERR_FORMAT);
    assert_int_equal(csv_error("\n\nnan,nan\n1,2\n", why, sizeof why), 3);
    /* a BOM before a header and before data */
    assert_int_equal(csv("\xEF\xBB\xBF" "x,y\n1,2\n3,4\n", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 2 && cols == 2 && header == 1 && got == 4);
    assert_memory_equal(v, want, sizeof want);
    assert_int_equal(csv("\xEF\xBB\xBF" "1,2\n3,4\n", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 2 && header == 0 && got == 4);
    assert_memory_equal(v, want, sizeof want);
    /* CR alone, and mixed line ends */
    assert_int_equal(csv("x,y\r1,2\r3,4\r", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 2 && cols == 2 && header == 1 && got == 4);
    assert_memory_equal(v, want, sizeof want);
    assert_int_equal(csv("1,2\r\n\r3,4\n", &rows, &cols, &header, v, 16, &got), NN_OK);
    assert_true(rows == 2 && got == 4);
    assert_int_equal(csv_error("1,2\r3,4\r5\r", why, sizeof why), 3);
    assert_string_equal(why, "1 field where the first line has 2");
}

/* Numbers longer than 63 characters: any length in a buffer, 319 in a file. */
static void test_csv_long_numbers(void **state)
{
    static char text[4200];
    float v[4];
    long rows, got;
    int cols, header, n;
    (void)state;
    n = snprintf(text, sizeof text, "0.%0200d1,2\n", 0); /* 1e-201 rounds to 0 */
    assert_true(n > 200);
    assert_int_equal(csv(text, &rows, &cols, &header, v, 4, &got), NN_OK);
    assert_true(rows == 1 && cols == 2 && header == 0 && got == 2 && v[0] == 0.0f && v[1] == 2.0f);
    memset(text, '0', 4000); /* 4000 zeros then 1.5 */
    memcpy(text + 4000, "1.5,2\n", 7);
    assert_int_equal(nndata_csv_info_mem(text, strlen(text), &rows, &cols, &header), NN_OK);
    assert_int_equal(nndata_csv_read_mem(text, strlen(text), v, 4), 2);
    assert_true(v[0] == 1.5f && v[1] == 2.0f);
    /* a buffer must be NUL-terminated: strtof reads up to a non-number */
    assert_int_equal(nndata_csv_info_mem("1,2\n3", 4, &rows, &cols, &header), NN_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_headers),
        cmocka_unit_test(test_idx_images),
        cmocka_unit_test(test_idx_bytes),
        cmocka_unit_test(test_idx_bytes_mem),
        cmocka_unit_test(test_idx_labels),
        cmocka_unit_test(test_idx_rejections),
        cmocka_unit_test(test_csv_header_and_values),
        cmocka_unit_test(test_csv_malformed),
        cmocka_unit_test(test_csv_header_rule),
        cmocka_unit_test(test_csv_long_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
