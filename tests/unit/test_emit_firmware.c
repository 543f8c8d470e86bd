/*
 * test_emit_firmware.c - the emitter's --freestanding and --weights parts:
 * the maths function names of emit_libm, lines written as given, every
 * maths call of every op, loss, optimizer and schedule routed to the
 * runtime under --freestanding, the options' effect on the whole output
 * through nngen_compile, and weights_embed's checks against a graph.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "phase_util.h"
#include "nn_runtime.h"

/* the name emit_libm gives under the options (hosted or freestanding) */
static const char *libm_name(int freestanding, const char *name) {
    EmitOptions o = {"net.h", "nngen", "t.nn", freestanding, freestanding};
    Emit e = {.o = &o, .fn = FN_NONE};
    return emit_libm(&e, name);
}

/* the runtime's name for each maths function but the four libm ones */
static const char *const replaced[] = {"fabsf", "expm1f", "log1pf", "erff", "powf", "sinhf",
                                       "sqrt",  "pow",    "floor",  "fmod", "cos"};

static void test_libm_names(void **state) {
    (void)state;
    char want[32];
    for (size_t i = 0; i < sizeof replaced / sizeof replaced[0]; i++) {
        snprintf(want, sizeof want, "nnrt_%s", replaced[i]);
        assert_string_equal(libm_name(1, replaced[i]), want);
        assert_string_equal(libm_name(0, replaced[i]), replaced[i]);
    }
    /* the four libm functions freestanding code may call stay */
    static const char *const allowed[] = {"expf", "logf", "tanhf", "sqrtf"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(libm_name(1, allowed[i]), allowed[i]);
        assert_string_equal(libm_name(0, allowed[i]), allowed[i]);
    }
}

/* emit_line writes its text as given, freestanding or not: names are
 * decided where a call is written, never rewritten afterwards */
static void test_lines_verbatim(void **state) {
    (void)state;
    for (int fs = 0; fs <= 1; fs++) {
        Buf b = {0};
        EmitOptions o = {"net.h", "nngen", "t.nn", fs, fs};
        Emit e = {.out = &b, .o = &o, .fn = FN_NONE};
        emit_line(&e, "y = fabsf(x) + pow(2.0, t);");
        assert_string_equal(b.data, "y = fabsf(x) + pow(2.0, t);\n");
        buf_free(&b);
    }
}

/* 1 when code calls `name` (an identifier on its own, then '('), comments
 * left out (they name ops: "pow(v3)") */
static int calls(const char *code, const char *name) {
    size_t len = strlen(name);
    char *text = strdup(code);
    assert_non_null(text);
    for (char *c = strstr(text, "/*"); c; c = strstr(c, "/*")) {
        char *end = strstr(c + 2, "*/");
        size_t n = end ? (size_t)(end + 2 - c) : strlen(c);
        memset(c, ' ', n);
        c += n;
    }
    int found = 0;
    for (const char *p = strstr(text, name); p && !found; p = strstr(p + 1, name)) {
        int before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        found = !before && p[len] == '(';
    }
    free(text);
    return found;
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

/* every op, loss, optimizer and schedule whose code calls a maths function
 * beyond the four (one network each where the language allows one) */
static const char *const libm_nets[] = {
    "network a\ninput x[3]\ntarget t[2]\n"
    "h = abs(dense(x, 4)) ^ 1.5\nz = dense(gelu(elu(softplus(h))), 2)\noutput p = z\n"
    "loss smooth_l1(z, t) + log_cosh(z, t) + msle(z, t) + mae(z, t) + huber(z, t)\n"
    "optimizer adamax(lr=0.01)\nschedule cosine(t_max=10)\n",
    "network b\ninput x[3]\ntarget t[2]\nz = dense(x, 2)\noutput p = z\nloss mse(z, t)\n"
    "optimizer adam(lr=0.01)\nschedule cyclic(1e-4, 1e-2, 5, mode=\"exp_range\", gamma=0.9)\n",
    "network c\ninput x[3]\ntarget t[2]\nz = dense(x, 2)\noutput p = z\nloss mse(z, t)\n"
    "optimizer nadam(lr=0.01)\nschedule cosine_restarts(t0=3)\n",
    "network d\ninput x[3]\ntarget t[2]\nz = dense(x, 2)\noutput p = z\nloss mse(z, t)\n"
    "optimizer sgd(lr=0.01)\nschedule step(step_size=2)\n",
    "network e\ninput x[3]\ntarget t[2]\nz = dense(x, 2)\noutput p = z\nloss mse(z, t)\n"
    "optimizer sgd(lr=0.01)\nschedule cyclic(1e-4, 1e-2, 5, mode=\"triangular2\")\n",
};

/* freestanding: none of them calls a maths function beyond the four (the
 * runtime's replacements instead); hosted: libm's, all of them in all */
static void test_freestanding_every_libm_call(void **state) {
    (void)state;
    int hosted_calls[sizeof replaced / sizeof replaced[0]] = {0};
    for (size_t k = 0; k < sizeof libm_nets / sizeof libm_nets[0]; k++)
        for (int fs = 0; fs <= 1; fs++) {
            CompileOptions co = {0};
            Buf c = {0}, h = {0};
            co.freestanding = fs;
            assert_int_equal(compile_text(libm_nets[k], &co, &c, &h), 0);
            const char *net = fs ? strstr(c.data, "/* ---- network ") : c.data; /* after the runtime */
            assert_non_null(net);
            for (size_t i = 0; i < sizeof replaced / sizeof replaced[0]; i++) {
                if (fs && calls(net, replaced[i]))
                    fail_msg("network %zu calls %s under --freestanding", k, replaced[i]);
                hosted_calls[i] += !fs && calls(net, replaced[i]);
            }
            buf_free(&c);
            buf_free(&h);
        }
    for (size_t i = 0; i < sizeof replaced / sizeof replaced[0]; i++)
        if (!hosted_calls[i])
            fail_msg("no network here calls %s: the test lost its reach", replaced[i]);
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
    assert_non_null(strstr(c.data, "w_weights.W[")); /* the product (2 x 3: loops) reads the const data */
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
        cmocka_unit_test(test_libm_names),
        cmocka_unit_test(test_lines_verbatim),
        cmocka_unit_test(test_freestanding_every_libm_call),
        cmocka_unit_test(test_freestanding_output),
        cmocka_unit_test(test_weights_embedded),
        cmocka_unit_test(test_weights_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
