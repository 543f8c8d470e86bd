/*
 * test_cli.c - the pieces of the user-facing commands that need no child
 * process: the SVG plot (one <path> per curve, gaps, escaping), the
 * driver's view of a network (glue_info's kinds and the glue it emits),
 * the DOT writer (which functions each mode draws, labels), the builtin
 * list, and the helpers (FNV-1a, shell quoting, number parsing).
 * tests/user runs the commands themselves.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli.h"
#include "phase_util.h"

static int count_of(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* ---- plot.c */

static void test_plot_one_path_per_curve(void **state) {
    (void)state;
    double tl[3] = {1.0, 0.5, 0.25}, vl[3] = {1.2, NAN, 0.4}, ta[3] = {50, 70, 90}, va[3] = {45, 65, 85};
    PlotPanel p[2] = {
        {"loss", {{"train loss", tl, 0}, {"validation loss", vl, 1}}, 2},
        {"accuracy (%)", {{"train accuracy", ta, 0}, {"validation accuracy", va, 1}}, 2},
    };
    Buf b = {0};
    plot_svg(&b, "net <&> \"x\"", 3, p, 2);
    assert_int_equal(count_of(b.data, "<path"), 4);
    assert_int_equal(count_of(b.data, "class=\"curve\""), 4);
    assert_non_null(strstr(b.data, "net &lt;&amp;&gt; &quot;x&quot;"));
    assert_null(strstr(b.data, "<&>"));
    assert_null(strstr(b.data, "href"));   /* nothing external */
    assert_null(strstr(b.data, "<script"));
    assert_non_null(strstr(b.data, "stroke-dasharray")); /* validation curves are dashed */
    /* the NaN splits the validation loss into two subpaths of one path */
    const char *v = strstr(b.data, "stroke-dasharray=\"6 4\" d=\"");
    assert_non_null(v);
    const char *end = strchr(v + 26, '"');
    int moves = 0;
    for (const char *c = v + 26; c < end; c++)
        moves += *c == 'M';
    assert_int_equal(moves, 2);
    assert_non_null(strstr(b.data, ">epoch</text>"));
    assert_non_null(strstr(b.data, ">accuracy (%)</text>"));
    buf_free(&b);
}

static void test_plot_single_epoch_and_flat(void **state) {
    (void)state;
    double y[1] = {0.7};
    PlotPanel p = {"loss", {{"train loss", y, 0}}, 1};
    Buf b = {0};
    plot_svg(&b, "t", 1, &p, 1);
    assert_int_equal(count_of(b.data, "<path"), 1);
    assert_non_null(strstr(b.data, " L")); /* a lone point is drawn as a dot */
    assert_null(strstr(b.data, "nan"));
    assert_null(strstr(b.data, "inf"));
    buf_free(&b);
}

/* ---- cli/glue.c */

static const char *classifier_src =
    "network c\ninput x[4]\ntarget y : class(3)\nz = dense(x, 3)\noutput p = softmax(z)\n"
    "loss cross_entropy(z, y)\noptimizer sgd(lr=0.1)\n";
static const char *binary_src =
    "network b\ninput x[2]\ntarget t[1]\nz = dense(x, 1)\noutput p = sigmoid(z)\n"
    "loss bce_logits(z, t)\noptimizer sgd(lr=0.1)\n";
static const char *regression_src =
    "network r\ninput a[2]\ninput b[3]\ntarget t[2]\noutput q = dense(concat(a, b), 2)\n"
    "loss mse(q, t)\noptimizer adam(lr=0.01)\n";
static const char *inference_src = "network i\ninput x[2]\noutput p = relu(dense(x, 2))\n";

static void info_of(const char *src, DriverInfo *di, Buf *glue) {
    Phases t;
    assert_int_equal(ph_all(&t, src, 0, 2), 0);
    glue_info(&t.g, di);
    if (glue)
        glue_write(&t.g, glue);
    ph_free(&t);
}

static void test_driver_kinds(void **state) {
    (void)state;
    DriverInfo di;
    Buf glue = {0};
    info_of(classifier_src, &di, &glue);
    assert_int_equal(di.kind, DK_CLASSIFIER);
    assert_int_equal(di.pred, 0);
    assert_int_equal(di.trainable, 1);
    assert_non_null(strstr(glue.data, "typedef c nnt_model;"));
    assert_non_null(strstr(glue.data, "static const int nnt_tg_classes[] = {3};"));
    assert_non_null(strstr(glue.data, "return c_train_step(m, x[0], (const int32_t *)t[0], n);"));
    assert_non_null(strstr(glue.data, "if (k == 0) return c_output_p(m);"));
    buf_free(&glue);

    info_of(binary_src, &di, NULL);
    assert_int_equal(di.kind, DK_BINARY);

    info_of(regression_src, &di, &glue);
    assert_int_equal(di.kind, DK_REGRESSION);
    assert_int_equal(di.ninputs, 2);
    assert_non_null(strstr(glue.data, "static const long nnt_in_size[] = {2, 3};"));
    assert_non_null(strstr(glue.data, "r_loss(m, x[0], x[1], (const float *)t[0], n)"));
    buf_free(&glue);

    info_of(inference_src, &di, &glue);
    assert_int_equal(di.kind, DK_NONE);
    assert_int_equal(di.trainable, 0);
    assert_int_equal(di.ntargets, 0);
    assert_null(strstr(glue.data, "nnt_train_step"));
    assert_non_null(strstr(glue.data, "#define NNT_TRAINABLE 0"));
    buf_free(&glue);
}

/* ---- cli/graph.c */

static void test_graph_dot(void **state) {
    (void)state;
    Phases t;
    Buf fwd = {0}, bwd = {0};
    assert_int_equal(ph_all(&t, classifier_src, 0, 2), 0);
    graph_write_dot(&fwd, &t.g, 0);
    graph_write_dot(&bwd, &t.g, 1);
    ph_free(&t);
    assert_non_null(strstr(fwd.data, "digraph \"c\" {"));
    assert_non_null(strstr(fwd.data, "subgraph cluster_infer"));
    assert_null(strstr(fwd.data, "cluster_backward"));
    assert_null(strstr(fwd.data, "_grad"));
    assert_non_null(strstr(fwd.data, "p = softmax"));
    assert_non_null(strstr(fwd.data, "[N, 3]\\nt.nn:5"));
    assert_non_null(strstr(fwd.data, "param z.weight"));
    assert_non_null(strstr(bwd.data, "subgraph cluster_train"));
    assert_non_null(strstr(bwd.data, "subgraph cluster_backward"));
    assert_non_null(strstr(bwd.data, "subgraph cluster_update"));
    assert_non_null(strstr(bwd.data, "cross_entropy_grad"));
    assert_non_null(strstr(bwd.data, "d(z) = "));
    assert_non_null(strstr(bwd.data, "sgd_update"));
    assert_null(strstr(bwd.data, "cluster_infer"));
    assert_int_equal(count_of(fwd.data, "{"), count_of(fwd.data, "}"));
    buf_free(&fwd);
    buf_free(&bwd);
}

/* ---- cli/commands.c */

static void test_list_builtins(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_list_builtins(f, 0);
    fclose(f);
    assert_non_null(strstr(text, "layer dense\n"));
    assert_non_null(strstr(text, "optimizer adam\n"));
    assert_non_null(strstr(text, "initializer he_normal\n"));
    assert_null(strstr(text, " pending"));
    int implemented = count_of(text, "\n");
    free(text);
    f = open_memstream(&text, &len);
    cli_list_builtins(f, 1);
    fclose(f);
    assert_int_equal(count_of(text, "\n"), builtin_count());
    assert_int_equal(count_of(text, " pending\n"), builtin_count() - implemented);
    free(text);
}

/* ---- cli/util.c */

static void test_util(void **state) {
    (void)state;
    Buf q = {0};
    cli_shell_quote(&q, "it's a dir");
    assert_string_equal(q.data, "'it'\\''s a dir'");
    buf_free(&q);
    long l;
    double d;
    assert_int_equal(cli_parse_long("12", 1, 100, &l), 0);
    assert_int_equal(l, 12);
    assert_int_equal(cli_parse_long("0", 1, 100, &l), -1);
    assert_int_equal(cli_parse_long("3x", 1, 100, &l), -1);
    assert_int_equal(cli_parse_double("0.25", 0, 0.99, &d), 0);
    assert_int_equal(cli_parse_double("nan", 0, 0.99, &d), -1);
    assert_int_equal(cli_parse_double("1", 0, 0.99, &d), -1);
    char *dn = cli_dirname("a/b/c.svg");
    assert_string_equal(dn, "a/b");
    free(dn);
    dn = cli_dirname("c.svg");
    assert_string_equal(dn, ".");
    free(dn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_one_path_per_curve),
        cmocka_unit_test(test_plot_single_epoch_and_flat),
        cmocka_unit_test(test_driver_kinds),
        cmocka_unit_test(test_graph_dot),
        cmocka_unit_test(test_list_builtins),
        cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
