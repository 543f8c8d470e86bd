/*
 * test_emit_firmware.c - the emitter's --freestanding and --weights parts:
 * the libm routing of emit_line (what is replaced and what is left alone),
 * the options' effect on the whole output through nngen_compile, and
 * weights_embed's checks against a graph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "phase_util.h"
#include "nn_runtime.h"

/* one line through emit_line of a freestanding emitter */
static const char *fs_line(const char *text) {
    static char out[512];
    Buf b = {0};
    EmitOptions o = {"net.h", "nngen", "t.nn", 1, 1};
    Emit e = {.out = &b, .o = &o, .fn = FN_NONE};
    emit_line(&e, "%s", text);
    snprintf(out, sizeof out, "%s", b.data);
    buf_free(&b);
    return out;
}

static void test_libm_calls_routed(void **state) {
    (void)state;
    assert_string_equal(fs_line("y[i] = fabsf(x[i]) + powf(x[i], 1.5f);"),
                        "y[i] = nnrt_fabsf(x[i]) + nnrt_powf(x[i], 1.5f);\n");
    assert_string_equal(fs_line("a = erff(b) * expm1f(c) - log1pf (d);"),
                        "a = nnrt_erff(b) * nnrt_expm1f(c) - nnrt_log1pf (d);\n");
    assert_string_equal(fs_line("s = (float)(lr / (1.0 - pow(0.9, t))) + (float)sqrt(v);"),
                        "s = (float)(lr / (1.0 - nnrt_pow(0.9, t))) + (float)nnrt_sqrt(v);\n");
    assert_string_equal(fs_line("m = fmaxf(a, fminf(b, c));"), "m = nnrt_fmaxf(a, nnrt_fminf(b, c));\n");
    /* the four libm functions freestanding code may call stay */
    assert_string_equal(fs_line("y = expf(a) + logf(b) + tanhf(c) + sqrtf(d);"),
                        "y = expf(a) + logf(b) + tanhf(c) + sqrtf(d);\n");
}

static void test_libm_names_left_alone(void **state) {
    (void)state;
    /* not calls, members, longer names, comments, strings */
    assert_string_equal(fs_line("float *pow_ = m->arena + 3; float powf_x = pow_[0];"),
                        "float *pow_ = m->arena + 3; float powf_x = pow_[0];\n");
    assert_string_equal(fs_line("m->param.powf[0] = s.erff(1);"), "m->param.powf[0] = s.erff(1);\n");
    assert_string_equal(fs_line("/* h = pow(x) and fabsf(y) */ z = 1;"), "/* h = pow(x) and fabsf(y) */ z = 1;\n");
    assert_string_equal(fs_line("{\"pow(\", 1}, nnrt_powf(a, b), mypow(c)"),
                        "{\"pow(\", 1}, nnrt_powf(a, b), mypow(c)\n");
    assert_string_equal(fs_line(" * continues a comment: pow(x)"), " * continues a comment: pow(x)\n");
    /* a dereference is code */
    assert_string_equal(fs_line("*p = fabsf(*q);"), "*p = nnrt_fabsf(*q);\n");
}

/* a hosted emitter writes the line as it is */
static void test_hosted_unchanged(void **state) {
    (void)state;
    Buf b = {0};
    EmitOptions o = {"net.h", "nngen", "t.nn", 0, 0};
    Emit e = {.out = &b, .o = &o, .fn = FN_NONE};
    emit_line(&e, "y = fabsf(x) + pow(2.0, t);");
    assert_string_equal(b.data, "y = fabsf(x) + pow(2.0, t);\n");
    buf_free(&b);
}

static const char *const adam_net = "network a\n"
                                    "input x[3]\n"
                                    "target y : class(2)\n"
                                    "h = abs(dense(x, 4)) ^ 1.5\n"
                                    "z = dense(gelu(h), 2)\n"
                                    "output p = softmax(z)\n"
                                    "loss cross_entropy(z, y)\n"
                                    "optimizer adam(lr=0.01)\n";

static int compile_text(const char *src, CompileOptions *co, Buf *c, Buf *h) {
    co->path = "t.nn";
    co->header_name = "a.h";
    co->cmdline = "nngen t.nn";
    co->opt_level = 2;
    co->diag = tmpfile();
    int rc = nngen_compile(src, strlen(src), co, c, h);
    fclose(co->diag);
    return rc;
}

/* freestanding output: no libm call but the four, no file functions */
static void test_freestanding_output(void **state) {
    (void)state;
    CompileOptions co = {0};
    Buf c = {0}, h = {0};
    co.freestanding = 1;
    assert_int_equal(compile_text(adam_net, &co, &c, &h), 0);
    const char *net = strstr(c.data, "/* ---- network a ---- */");
    assert_non_null(net);
    assert_non_null(strstr(net, "nnrt_fabsf("));
    assert_non_null(strstr(net, "nnrt_powf("));
    assert_non_null(strstr(net, "nnrt_erff("));
    assert_non_null(strstr(net, "nnrt_pow(0.90000000000000002, t)"));
    assert_non_null(strstr(net, "(float)nnrt_sqrt(1.0 - nnrt_pow("));
    assert_null(strstr(net, " fabsf("));
    assert_null(strstr(net, "- pow(")); /* (" pow(" stands in comments: the op is named pow) */
    assert_non_null(strstr(c.data, "#define NN_FREESTANDING"));
    assert_non_null(strstr(h.data, "long a_export(const a *m, void *buf, size_t cap);"));
    assert_non_null(strstr(h.data, "int a_import(a *m, const void *buf, size_t len);"));
    assert_null(strstr(h.data, "a_save"));
    assert_null(strstr(h.data, "a_load"));
    assert_null(strstr(h.data, "nn_runtime.h"));
    buf_free(&c);
    buf_free(&h);
}

/* a weight image of network `net` with one tensor `name` [rows, cols] */
static long image_of(const char *net, const char *name, int rows, int cols, float fill, void *buf, size_t cap) {
    static float v[64];
    nn_param p = {name, 2, {rows, cols, 0, 0}, (long)rows * cols, v, NULL};
    for (int i = 0; i < rows * cols; i++)
        v[i] = fill + (float)i;
    return nnrt_export(net, &p, 1, NULL, 0, buf, cap);
}

static const char *const w_net = "network w\ninput x[2]\nparam W[2, 3]\noutput y = x @ W\n";

static void test_weights_embedded(void **state) {
    (void)state;
    unsigned char img[256];
    long len = image_of("w", "W", 2, 3, 0.5f, img, sizeof img);
    assert_true(len > 0);
    CompileOptions co = {0};
    Buf c = {0}, h = {0};
    co.infer_only = 1;
    co.weights = img;
    co.weights_len = (size_t)len;
    co.weights_path = "w.nnw";
    assert_int_equal(compile_text(w_net, &co, &c, &h), 0);
    assert_non_null(strstr(c.data, "} w_weights = {"));
    assert_non_null(strstr(c.data, "0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f"));
    assert_non_null(strstr(c.data, "w_weights.W, 3,")); /* the GEMM reads the const data */
    assert_null(strstr(h.data, "float W[6]"));         /* no parameters in the struct */
    assert_non_null(strstr(h.data, "#define W_WEIGHTS_EMBEDDED 1"));
    assert_null(strstr(h.data, "w_load"));
    assert_null(strstr(h.data, "w_import"));
    buf_free(&c);
    buf_free(&h);
}

/* the errors, through the diagnostics stream */
static void expect_weights_error(const void *img, size_t len, const char *want) {
    CompileOptions co = {0};
    Buf c = {0}, h = {0};
    char msg[512] = {0};
    co.infer_only = 1;
    co.weights = img;
    co.weights_len = len;
    co.weights_path = "w.nnw";
    co.path = "t.nn";
    co.header_name = "w.h";
    co.cmdline = "nngen";
    co.opt_level = 2;
    co.diag = tmpfile();
    assert_int_equal(nngen_compile(w_net, strlen(w_net), &co, &c, &h), -1);
    rewind(co.diag);
    size_t n = fread(msg, 1, sizeof msg - 1, co.diag);
    msg[n] = '\0';
    fclose(co.diag);
    if (!strstr(msg, want))
        fail_msg("expected '%s' in: %s", want, msg);
    assert_null(c.data);
    buf_free(&c);
    buf_free(&h);
}

static void test_weights_refused(void **state) {
    (void)state;
    unsigned char img[256];
    long len = image_of("v", "W", 2, 3, 0.0f, img, sizeof img);
    expect_weights_error(img, (size_t)len,
                         "nngen: error: w.nnw: the weight file was written by another network: "
                         "it holds network 'v', this is network 'w'");
    len = image_of("w", "W", 3, 2, 0.0f, img, sizeof img);
    expect_weights_error(img, (size_t)len,
                         "parameter 0 is 'W' [3, 2] in the file, 'W' [2, 3] in network 'w'");
    len = image_of("w", "V", 2, 3, 0.0f, img, sizeof img);
    expect_weights_error(img, (size_t)len, "parameter 0 is 'V' [2, 3] in the file, 'W' [2, 3]");
    len = image_of("w", "W", 2, 3, 0.0f, img, sizeof img);
    img[len - 9] ^= 1u;
    expect_weights_error(img, (size_t)len, "CRC-32 mismatch");
    expect_weights_error(img, (size_t)len - 1, "the data ends early");
    expect_weights_error("NNW2", 4, "not a valid file");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libm_calls_routed),
        cmocka_unit_test(test_libm_names_left_alone),
        cmocka_unit_test(test_hosted_unchanged),
        cmocka_unit_test(test_freestanding_output),
        cmocka_unit_test(test_weights_embedded),
        cmocka_unit_test(test_weights_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
