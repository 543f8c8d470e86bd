/*
 * test_report.c - nngen --report on real networks: every tensor with its
 * kind, shape, parameter count and bytes; the bytes per category
 * (parameters, gradients, optimizer state, the arena of activations and
 * scratch, the largest scratch, the arena at -O0); the FLOPs of an
 * inference and of a training step. Numbers checked by hand:
 *   mnist_mlp 784-128-10: 101,770 parameters = 407,080 bytes, as many for
 *   gradients, twice that for Adam's two moments; inference 2 (784 128 +
 *   128 10) multiply-adds + 128 + 10 bias adds + 128 relu + softmax ...
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

/* the report of a source text at an optimization level (malloc'd) */
static char *report_at(const char *src, int opt_level, int infer_only, int max_batch) {
    CompileOptions co = {0};
    Buf c = {0}, h = {0};
    char *text = NULL, *diag = NULL;
    size_t len = 0, dlen = 0;
    FILE *r = open_memstream(&text, &len), *d = open_memstream(&diag, &dlen);
    co.path = "t.nn";
    co.opt_level = opt_level;
    co.infer_only = infer_only;
    co.max_batch = max_batch;
    co.report = r;
    co.diag = d;
    assert_int_equal(nngen_compile(src, strlen(src), &co, &c, &h), 0);
    fclose(r);
    fclose(d);
    assert_string_equal(diag, "");
    free(diag);
    buf_free(&c);
    buf_free(&h);
    return text;
}

static char *report(const char *src, int opt_level, int infer_only) {
    return report_at(src, opt_level, infer_only, 64);
}

static void assert_line(const char *text, const char *line) {
    if (!strstr(text, line))
        fail_msg("no line containing\n%s\nin\n%s", line, text);
}

static void test_report_mnist(void **state) {
    (void)state;
    char *src = ph_read_file(NN_SOURCE_DIR "/examples/mnist_mlp.nn");
    char *r = report(src, 2, 0);
    assert_line(r, "network mnist_mlp\n");
    assert_line(r, "  x                      input    [N, 784]                               200,704\n");
    assert_line(r, "  y                      class    [N]                                        256\n");
    assert_line(r, "  h.weight               param    [784, 128]              100,352        401,408\n");
    assert_line(r, "  z.bias                 param    [10]                         10             40\n");
    assert_line(r, "  h                      value    [N, 128]                                32,768\n");
    assert_line(r, "  p                      output   [N, 10]                                  2,560\n");
    assert_line(r, "  loss                   loss     []                                           4\n");
    assert_line(r, "  total parameters: 101,770\n");
    assert_line(r, "  parameters                    407,080\n");
    assert_line(r, "  gradients                     407,080\n");
    assert_line(r, "  optimizer state               814,160  (adam_m, adam_v)\n");
    assert_line(r, "  activations + scratch  ");
    assert_line(r, "    of which scratch  ");
    assert_line(r, "    arena at -O0  ");
    /* 2 (784 128 + 128 10) + bias adds 138 + relu 128 + softmax 3 x 10 */
    assert_line(r, "  inference                     203,580 per sample");
    assert_line(r, "  training step  ");
    free(r);
    /* at -O0 there is nothing to compare with; inference only: no gradients */
    r = report(src, 0, 1);
    assert_null(strstr(r, "arena at -O0"));
    assert_line(r, "network mnist_mlp (inference only)\n");
    assert_line(r, "  gradients                           0\n");
    assert_line(r, "  optimizer state                     0\n");
    assert_null(strstr(r, "training step"));
    free(r);
    free(src);
}

/* fusion and in-place reuse shrink the arena of an elementwise network
 * (four [N, 256] values at -O0 at once, one fused loop at -O2): the report
 * says by how much. (Where a GEMM's workspace sets the peak, as in
 * mnist_mlp, both levels need the same arena.) */
static void test_report_o0_difference(void **state) {
    (void)state;
    const char *src = "network w\ninput x[256]\nh = tanh(x) * 2 + exp(x) * sqrt(abs(x))\n"
                      "output p = h * h + 1\n";
    char *r = report(src, 2, 0);
    /* -O0: tanh, mul, exp, abs, sqrt, mul, add, mul, add; at most 4 alive
     * at once: 4 x 64 x 256 x 4 bytes; -O2: the output only */
    assert_line(r, "  activations + scratch          65,536");
    assert_line(r, "    arena at -O0                262,144  (-O0: no fusion, no in-place reuse; -O2 saves 196,608)\n");
    free(r);
}

/* examples/mnist_bn.nn at one sample: -O2's arena is 64 bytes larger than
 * -O0's, which the report says as such (not "saves -64") */
static void test_o0_arena_smaller(void **state) {
    (void)state;
    const char *src = "network b\ninput x[784]\ntarget y : class(10)\n"
                      "h1 = dropout(relu(batchnorm(dense(x, 128, bias=false))), 0.2)\n"
                      "h2 = dropout(relu(batchnorm(dense(h1, 64, bias=false))), 0.1)\n"
                      "z = dense(h2, 10)\noutput p = softmax(z)\nloss cross_entropy(z, y)\n"
                      "optimizer sgd(lr=0.05, momentum=0.9, nesterov=true)\n";
    char *r = report_at(src, 2, 0, 1);
    assert_line(r, "(-O0: no fusion, no in-place reuse; -O2 needs 64 more)\n");
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_mnist),
        cmocka_unit_test(test_report_o0_difference),
        cmocka_unit_test(test_o0_arena_smaller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
