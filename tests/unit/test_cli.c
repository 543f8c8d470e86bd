/*
 * test_cli.c - the pieces of the user-facing commands that need no child
 * process: the SVG plot (one <path> per curve, gaps, escaping), the
 * driver's view of a network (glue_info's kinds and the glue it emits),
 * the DOT writer (which functions each mode draws, labels), the builtin
 * list, the helpers (FNV-1a, shell quoting, number parsing), and the
 * option parser and help writer every command uses.
 * tests/user runs the commands themselves.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

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

/* ---- cli/options.c */

typedef struct OptVals {
    const char *out, *mode, *seed;
    int n, flag, level, choice, stop;
    double x;
} OptVals;

static int parse_with(OptVals *v, const char **operand, int argc, const char *const *args) {
    const CliOpt opts[] = {
        {.name = "-o", .kind = CLI_TEXT, .value = "FILE", .needs = "a file", .text = &v->out, .help = "output"},
        {.name = "--n", .kind = CLI_INT, .value = "N", .lo = 1, .hi = 10, .ival = &v->n, .help = "a count\nover two lines"},
        {.name = "--x", .kind = CLI_NUM, .value = "X", .lo = 0, .hi = 0.5, .dval = &v->x, .help = "a number"},
        {.name = "--seed", .kind = CLI_U64, .value = "S", .text = &v->seed, .help = "a seed"},
        {.name = "--mode", .kind = CLI_CHOICE, .value = "M", .choices = "a|bb|c", .ival = &v->choice,
         .text = &v->mode, .help = "a choice"},
        {.name = "--flag", .kind = CLI_FLAG, .set = 1, .ival = &v->flag, .help = "a flag"},
        {.name = "-O0", .kind = CLI_FLAG, .set = 0, .ival = &v->level, .help = "level 0"},
        {.name = "-O7", .kind = CLI_FLAG, .set = 7, .ival = &v->level}, /* accepted, not listed */
        {.name = "--stop", .kind = CLI_STOP, .set = 3, .ival = &v->stop, .help = "stop"},
    };
    const CliCommand cmd = {"nngen t", "usage: nngen t IN\n", "input file", opts, sizeof opts / sizeof opts[0], NULL};
    char *argv[16];
    argv[0] = "nngen-t";
    for (int i = 0; i < argc; i++)
        argv[i + 1] = (char *)args[i];
    memset(v, 0, sizeof *v);
    v->level = 2;
    return cli_parse(&cmd, argc + 1, argv, operand);
}

#define PARSE(v, in, ...) \
    parse_with(v, in, (int)(sizeof(const char *[]){__VA_ARGS__} / sizeof(const char *)), (const char *[]){__VA_ARGS__})

static void test_options_parse(void **state) {
    (void)state;
    OptVals v;
    const char *in;
    assert_int_equal(PARSE(&v, &in, "net.nn", "-o", "x.c", "--n=7", "--x", "0.25", "--seed", "18446744073709551615",
                           "--mode=bb", "--flag", "-O0"), CLI_PARSED);
    assert_string_equal(in, "net.nn");
    assert_string_equal(v.out, "x.c");
    assert_int_equal(v.n, 7);
    assert_true(v.x == 0.25);
    assert_string_equal(v.seed, "18446744073709551615");
    assert_int_equal(v.choice, 1);
    assert_string_equal(v.mode, "bb");
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.level, 0);
    /* the last of a repeated option counts; a hidden one is accepted */
    assert_int_equal(PARSE(&v, &in, "--n", "3", "in", "--n", "4", "-O7"), CLI_PARSED);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.level, 7);
    assert_int_equal(PARSE(&v, &in, "-", "-o=-"), CLI_PARSED); /* "-" is an operand */
    assert_string_equal(in, "-");
    assert_string_equal(v.out, "-");
    /* a stop option ends the parse where it stands: what follows is not read */
    assert_int_equal(PARSE(&v, &in, "--stop", "--bogus"), CLI_EXIT);
    assert_int_equal(v.stop, 3);
    /* usage errors: 2, and nothing stored for the refused value */
    assert_int_equal(PARSE(&v, &in, "in", "--bogus"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--n"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--n", "11"), 2);
    assert_int_equal(v.n, 0);
    assert_int_equal(PARSE(&v, &in, "in", "--n=3x"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--x", "nan"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--x", "0.6"), 2);
    assert_true(v.x == 0);
    assert_int_equal(PARSE(&v, &in, "in", "--seed", "-1"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--seed", "18446744073709551616"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--mode", "b"), 2);
    assert_null(v.mode);
    assert_int_equal(PARSE(&v, &in, "in", "-o", ""), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--flag=1"), 2);
    assert_int_equal(PARSE(&v, &in, "in", "--fla"), 2); /* no abbreviations */
    assert_int_equal(PARSE(&v, &in, "in", "in2"), 2);
    assert_int_equal(PARSE(&v, &in, "--flag"), 2);      /* no operand */
}

/* --help prints the table: every listed option with its value name, the
 * help's lines aligned, the hidden one not at all, --help itself */
static void test_options_help(void **state) {
    (void)state;
    OptVals v;
    const char *in;
    char *text = NULL;
    size_t len = 0;
    fflush(stdout);
    int saved = dup(1);
    FILE *f = tmpfile();
    assert_non_null(f);
    dup2(fileno(f), 1);
    int rc = PARSE(&v, &in, "in", "--flag", "-h", "--bogus");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    assert_int_equal(rc, CLI_EXIT);
    assert_int_equal(v.flag, 1);
    long size = ftell(f);
    assert_true(size > 0);
    text = calloc((size_t)size + 1, 1);
    rewind(f);
    len = fread(text, 1, (size_t)size, f);
    fclose(f);
    assert_int_equal(len, (size_t)size);
    assert_true(strncmp(text, "usage: nngen t IN\n", 18) == 0);
    assert_non_null(strstr(text, "\n  -o FILE              output\n"));
    assert_non_null(strstr(text, "\n  --n N                a count\n                       over two lines\n"));
    assert_non_null(strstr(text, "\n  --mode M             a choice\n"));
    assert_non_null(strstr(text, "\n  --flag               a flag\n"));
    assert_non_null(strstr(text, "\n  -O0                  level 0\n"));
    assert_null(strstr(text, "-O7"));
    assert_non_null(strstr(text, "\n  --help, -h           this text\n"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_one_path_per_curve),
        cmocka_unit_test(test_plot_single_epoch_and_flat),
        cmocka_unit_test(test_driver_kinds),
        cmocka_unit_test(test_graph_dot),
        cmocka_unit_test(test_list_builtins),
        cmocka_unit_test(test_util),
        cmocka_unit_test(test_options_parse),
        cmocka_unit_test(test_options_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
