/*
 * test_layers.c - the layers beyond dense (prelu, maxout, glu) through
 * lower_program: parameter names, shapes, initializers and table order
 * (LANGUAGE.md, Precise semantics), which of them count as weights, what
 * each layer lowers to, and the located errors of bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

static void lower_ok(Phases *t, const char *src, int infer_only) {
    int rc = ph_lower(t, src, infer_only);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
}

static void expect_error(const char *src, const char *want) {
    Phases t;
    assert_int_not_equal(ph_lower(&t, src, 0), 0);
    assert_string_equal(ph_first_error(&t), want);
    ph_free(&t);
}

/* ---- names and the parameter table */

/* LANGUAGE.md's own example: in h = prelu(dense(x, 8)) prelu is first */
static void test_prelu_dense_numbering(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[4]\nh = prelu(dense(x, 8))\noutput o = h\n", 0);
    const char *want[] = {"h.alpha", "h.1.weight", "h.1.bias"};
    const char *shapes[] = {"[8]", "[4, 8]", "[8]"};
    assert_int_equal(t.g.nparams, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(t.g.params[i].name, want[i]);
        assert_string_equal(ph_shape(&t.g, t.g.params[i].node), shapes[i]);
    }
    ph_free(&t);
}

/* statements in order; layers by text position; maxout weight then bias */
static void test_table_order(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[2, 3, 4]\n"
             "a = prelu(x)\n"
             "b = maxout(glu(a, axis=2), 3, 2)\n"
             "c = prelu(b) + maxout(b, 3, 2)\n"
             "output o = c\n",
             0);
    const char *want[] = {"a.alpha", "b.weight", "b.bias", "c.alpha", "c.1.weight", "c.1.bias"};
    const char *shapes[] = {"[2]", "[12, 6]", "[6]", "[3]", "[3, 6]", "[6]"};
    int n = (int)(sizeof want / sizeof want[0]);
    assert_int_equal(t.g.nparams, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(t.g.params[i].name, want[i]);
        assert_string_equal(ph_shape(&t.g, t.g.params[i].node), shapes[i]);
    }
    ph_free(&t);
}

/* initial values: alpha 0.25, maxout xavier_uniform / zeros */
static void test_initializers(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\n"
             "p = prelu(x)\n"
             "m = maxout(p, 2, 3)\n"
             "k = maxout(p, 2, 2, init=normal(0, 0.5), bias_init=constant(0.1))\n"
             "output o = m + k\n",
             0);
    assert_int_equal(ph_param(&t.g, "p.alpha")->init_kind, INIT_CONSTANT);
    assert_true(ph_param(&t.g, "p.alpha")->init_a == 0.25);
    assert_int_equal(ph_param(&t.g, "m.weight")->init_kind, INIT_XAVIER_UNIFORM);
    assert_int_equal(ph_param(&t.g, "m.bias")->init_kind, INIT_ZEROS);
    assert_int_equal(ph_param(&t.g, "k.weight")->init_kind, INIT_NORMAL);
    assert_true(ph_param(&t.g, "k.weight")->init_b == 0.5);
    assert_int_equal(ph_param(&t.g, "k.bias")->init_kind, INIT_CONSTANT);
    assert_true(ph_param(&t.g, "k.bias")->init_a == 0.1);
    ph_free(&t);
}

/* regularize without names: maxout weights are weights; alpha and biases not */
static void test_weights(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\ntarget y[2]\n"
             "h = maxout(prelu(x), 2, 2)\n"
             "loss mse(h, y)\nregularize l2(0.1)\noptimizer sgd(lr=0.1)\n",
             0);
    assert_true(ph_param(&t.g, "h.weight")->is_weight);
    assert_false(ph_param(&t.g, "h.bias")->is_weight);
    assert_false(ph_param(&t.g, "h.1.alpha")->is_weight);
    /* the l2 term squares h.weight alone */
    assert_int_equal(ph_count(&t.g, OP_POWC, FN_INFER), 1);
    int sq = -1;
    for (int v = 0; v < t.g.count; v++)
        if (t.g.nodes[v].op == OP_POWC && t.g.nodes[v].func == FN_INFER)
            sq = v;
    assert_int_equal(t.g.nodes[sq].in[0], ph_param(&t.g, "h.weight")->node);
    ph_free(&t);
}

/* ---- what each layer lowers to */

/* alpha: the channels of [C, H, W] (viewed [C, 1, 1]), else the last dim, [1] for a scalar */
static void test_prelu_alpha_shapes(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[2, 3, 4]\ninput v[5]\ninput w[6, 7]\n"
             "a = prelu(x)\nb = prelu(v)\nc = prelu(w)\nd = prelu(sum(v, 0))\n"
             "output o = flatten(a) + sum(b) + sum(flatten(c)) + d\n",
             0);
    assert_string_equal(ph_shape(&t.g, ph_param(&t.g, "a.alpha")->node), "[2]");
    assert_string_equal(ph_shape(&t.g, ph_param(&t.g, "b.alpha")->node), "[5]");
    assert_string_equal(ph_shape(&t.g, ph_param(&t.g, "c.alpha")->node), "[7]");
    assert_string_equal(ph_shape(&t.g, ph_param(&t.g, "d.alpha")->node), "[1]");
    int a = ph_named(&t.g, "a", FN_INFER);
    assert_int_equal(t.g.nodes[a].op, OP_PRELU);
    assert_string_equal(ph_shape(&t.g, t.g.nodes[a].in[1]), "[2, 1, 1]");
    assert_int_equal(t.g.nodes[t.g.nodes[a].in[1]].op, OP_RESHAPE);
    int d = ph_named(&t.g, "d", FN_INFER); /* a scalar per sample: alpha [1] viewed as a scalar */
    assert_string_equal(ph_shape(&t.g, t.g.nodes[d].in[1]), "[]");
    ph_free(&t);
}

/* maxout = flatten, matmul, add, max over consecutive pieces; 1 piece: no max */
static void test_maxout_lowering(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[2, 3]\nh = maxout(x, 4, 3)\nk = maxout(x, 4, 1)\noutput o = h + k\n", 0);
    int h = ph_named(&t.g, "h", FN_INFER);
    assert_int_equal(t.g.nodes[h].op, OP_MAXOUT);
    assert_int_equal(t.g.nodes[h].i[0], 3);
    assert_string_equal(ph_shape(&t.g, h), "[N, 4]");
    const Node *z = &t.g.nodes[t.g.nodes[h].in[0]];
    assert_int_equal(z->op, OP_ADD);
    assert_int_equal(t.g.nodes[z->in[0]].op, OP_MATMUL);
    assert_string_equal(ph_shape(&t.g, ph_param(&t.g, "h.weight")->node), "[6, 12]");
    assert_int_equal(t.g.nodes[ph_named(&t.g, "k", FN_INFER)].op, OP_ADD);
    assert_int_equal(ph_count(&t.g, OP_MAXOUT, FN_INFER), 1);
    ph_free(&t);
}

/* glu: the axis normalized; the result halves it */
static void test_glu_lowering(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[4, 6]\na = glu(x)\nb = glu(x, axis=-2)\noutput o = flatten(a) + flatten(b)\n",
             0);
    int a = ph_named(&t.g, "a", FN_INFER), b = ph_named(&t.g, "b", FN_INFER);
    assert_int_equal(t.g.nodes[a].i[0], 1);
    assert_string_equal(ph_shape(&t.g, a), "[N, 4, 3]");
    assert_int_equal(t.g.nodes[b].i[0], 0);
    assert_string_equal(ph_shape(&t.g, b), "[N, 2, 6]");
    ph_free(&t);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[3, 5]\nh = glu(x, 0)\noutput o = h\n",
                 "t.nn:3:5: error: glu splits axis 0 into two halves, but it has odd length 3 (shape [N, 3, 5])");
    expect_error("network t\ninput x[4]\nh = glu(x, 1)\noutput o = h\n",
                 "t.nn:3:12: error: axis 1 is out of range for a tensor of shape [N, 4] (axes count the per-sample dims from 0)");
    expect_error("network t\ninput x[4]\nh = maxout(x, 2, 0)\noutput o = h\n",
                 "t.nn:3:18: error: maxout needs pieces >= 1, got 0");
    expect_error("network t\ninput x[4]\nh = maxout(x, -1, 2)\noutput o = h\n",
                 "t.nn:3:15: error: maxout needs units >= 1, got -1");
    expect_error("network t\ninput x[4]\ntarget y[4]\nloss mse(prelu(x), y)\noptimizer sgd(lr=1)\n",
                 "t.nn:4:10: error: a layer call such as 'prelu' is allowed only in 'NAME = ...' and 'output NAME = ...' statements");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prelu_dense_numbering),
        cmocka_unit_test(test_table_order),
        cmocka_unit_test(test_initializers),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_prelu_alpha_shapes),
        cmocka_unit_test(test_maxout_lowering),
        cmocka_unit_test(test_glu_lowering),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
