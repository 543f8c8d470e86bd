/*
 * test_layers.c - the layers beyond dense (prelu, maxout, glu, dropout,
 * batchnorm) through lower_program and the later phases' APIs: parameter
 * and buffer names, shapes, initializers and table order (docs/language.md,
 * Precise semantics), which of them count as weights, what each layer
 * becomes in inference and in the training forward, the running-statistic
 * updates of batchnorm and where they run, the smallest training batch,
 * dropout's PRNG, and the located errors of bad arguments.
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

static const Buffer *buffer_named(const Graph *g, const char *name) {
    for (int i = 0; i < g->nbuffers; i++)
        if (strcmp(g->buffers[i].name, name) == 0)
            return &g->buffers[i];
    return NULL;
}

/* ---- names and the parameter table */

/* docs/language.md's own example: in h = prelu(dense(x, 8)) prelu is first */
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

/* statements in order; layers by text position; batchnorm gamma then beta,
 * maxout weight then bias; buffers in the same order, in a table of their own */
static void test_table_order(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[2, 3, 4]\n"
             "a = batchnorm(prelu(x))\n"
             "b = maxout(glu(dropout(a, 0.5), axis=2), 3, 2)\n"
             "c = batchnorm(b) + batchnorm(b, momentum=0.5)\n"
             "output o = c\n",
             0);
    const char *want[] = {"a.gamma", "a.beta", "a.1.alpha", "b.weight", "b.bias",
                          "c.gamma", "c.beta", "c.1.gamma", "c.1.beta"};
    const char *shapes[] = {"[2]", "[2]", "[2]", "[12, 6]", "[6]", "[3]", "[3]", "[3]", "[3]"};
    int n = (int)(sizeof want / sizeof want[0]);
    assert_int_equal(t.g.nparams, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(t.g.params[i].name, want[i]);
        assert_string_equal(ph_shape(&t.g, t.g.params[i].node), shapes[i]);
    }
    const char *bufs[] = {"a.running_mean", "a.running_var", "c.running_mean", "c.running_var",
                          "c.1.running_mean", "c.1.running_var"};
    assert_int_equal(t.g.nbuffers, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(t.g.buffers[i].name, bufs[i]);
        assert_int_equal(t.g.nodes[t.g.buffers[i].node].op, OP_BUFFER);
        assert_string_equal(t.g.nodes[t.g.buffers[i].node].s, bufs[i]);
        assert_true(t.g.buffers[i].init == (i % 2 ? 1.0 : 0.0));
    }
    assert_string_equal(ph_shape(&t.g, t.g.buffers[0].node), "[2]");
    ph_free(&t);
}

/* initial values: gamma 1, beta 0, alpha 0.25, maxout xavier_uniform / zeros */
static void test_initializers(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\n"
             "h = batchnorm(x)\n"
             "p = prelu(h)\n"
             "m = maxout(p, 2, 3)\n"
             "k = maxout(p, 2, 2, init=normal(0, 0.5), bias_init=constant(0.1))\n"
             "output o = m + k\n",
             0);
    assert_int_equal(ph_param(&t.g, "h.gamma")->init_kind, INIT_ONES);
    assert_int_equal(ph_param(&t.g, "h.beta")->init_kind, INIT_ZEROS);
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

/* regularize without names: maxout weights are weights; alpha, gamma, beta and biases not */
static void test_weights(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\ntarget y[2]\n"
             "h = maxout(prelu(batchnorm(x)), 2, 2)\n"
             "loss mse(h, y)\nregularize l2(0.1)\noptimizer sgd(lr=0.1)\n",
             0);
    assert_true(ph_param(&t.g, "h.weight")->is_weight);
    assert_false(ph_param(&t.g, "h.bias")->is_weight);
    assert_false(ph_param(&t.g, "h.1.alpha")->is_weight);
    assert_false(ph_param(&t.g, "h.2.gamma")->is_weight);
    assert_false(ph_param(&t.g, "h.2.beta")->is_weight);
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

/* dropout: nothing in inference; a mask (one per call, numbered) times x in training */
static void test_dropout_lowering(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\ntarget y[3]\n"
             "h = dropout(x, 0.5)\nk = dropout(h * h, p=0.25)\nz = dropout(k, 0)\n"
             "output o = z\nloss mse(z, y)\noptimizer sgd(lr=0.1)\n",
             0);
    assert_int_equal(ph_count(&t.g, OP_DROPOUT_MASK, FN__COUNT), 2);
    assert_int_equal(ph_count(&t.g, OP_MUL, FN_INFER), 1); /* h * h */
    assert_int_equal(t.g.uses_rng, 2);
    int k = ph_named(&t.g, "k", FN_TRAIN);
    assert_int_equal(t.g.nodes[k].op, OP_MUL);
    const Node *mask = &t.g.nodes[t.g.nodes[k].in[1]];
    assert_int_equal(mask->op, OP_DROPOUT_MASK);
    assert_int_equal(mask->nin, 0);
    assert_true(mask->f[0] == 0.25);
    assert_int_equal(mask->i[0], 1);
    assert_string_equal(ph_shape(&t.g, mask->id), "[N, 3]");
    assert_true(op_info(OP_DROPOUT_MASK)->flags & OPF_IMPURE);
    /* inference: dropout is the identity, o is h * h = x * x */
    const Node *o = &t.g.nodes[t.g.outputs[0].node];
    assert_int_equal(o->op, OP_MUL);
    assert_int_equal(o->in[0], t.g.ports[0].node);
    assert_int_equal(o->in[1], t.g.ports[0].node);
    ph_free(&t);
    /* a tensor without the batch dimension (a parameter, a scalar) gets a mask of its shape */
    lower_ok(&t,
             "network t\ninput x[3]\ntarget y[2]\nparam W[3, 2]\n"
             "h = x @ dropout(W, 0.5)\nk = dropout(sum(x, 0), 0.5)\n"
             "loss mse(h, y) + mean(k)\noptimizer sgd(lr=0.1)\n",
             0);
    assert_int_equal(ph_count(&t.g, OP_DROPOUT_MASK, FN_TRAIN), 2);
    for (int v = 0; v < t.g.count; v++)
        if (t.g.nodes[v].op == OP_DROPOUT_MASK)
            assert_string_equal(ph_shape(&t.g, v), t.g.nodes[v].i[0] ? "[N]" : "[3, 2]");
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(ph_passes(&t, 2, 1), 0);
    ph_free(&t);
    /* --infer-only: no mask at all, no PRNG */
    lower_ok(&t, "network t\ninput x[3]\nh = dropout(x, 0.5)\noutput o = h * 2\n", 1);
    assert_int_equal(ph_count(&t.g, OP_DROPOUT_MASK, FN__COUNT), 0);
    assert_int_equal(t.g.uses_rng, 0);
    ph_free(&t);
}

/* batchnorm: running statistics in inference; batch statistics and their
 * updates (FN_UPDATE, unbiased for the variance) in training */
static void test_batchnorm_lowering(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[2, 3, 4]\ntarget y[2, 3, 4]\n"
             "h = batchnorm(x, momentum=0.25, eps=0.001)\n"
             "output o = h\nloss mse(h, y)\noptimizer sgd(lr=0.1)\n",
             0);
    assert_int_equal(ph_count(&t.g, OP_MEAN_TO, FN_INFER), 0);
    assert_int_equal(ph_count(&t.g, OP_MEAN_TO, FN_TRAIN), 2);
    assert_int_equal(ph_count(&t.g, OP_RUNNING_UPDATE, FN_UPDATE), 2);
    assert_int_equal(t.g.min_train_batch, 0); /* 12 values per channel and sample */
    for (int v = 0; v < t.g.count; v++) {
        const Node *n = &t.g.nodes[v];
        if (n->op == OP_MEAN_TO)
            assert_string_equal(ph_shape(&t.g, v), "[2, 1, 1]");
        if (n->op != OP_RUNNING_UPDATE)
            continue;
        int var = strcmp(n->s, "h.running_var") == 0;
        assert_int_equal(n->in[0], buffer_named(&t.g, n->s)->node);
        assert_int_equal(t.g.nodes[n->in[1]].op, OP_MEAN_TO);
        assert_int_equal(t.g.nodes[n->in[1]].func, FN_TRAIN);
        assert_true(n->f[0] == 0.25);
        assert_true(n->f[1] == 12.0);
        assert_int_equal(n->i[0], var);
        assert_true(op_info(n->op)->flags & OPF_EFFECT);
    }
    /* inference reads the buffers */
    int reads = 0;
    for (int v = 0; v < t.g.count; v++)
        if (t.g.nodes[v].func == FN_INFER && t.g.nodes[v].op == OP_RESHAPE &&
            t.g.nodes[t.g.nodes[v].in[0]].op == OP_BUFFER)
            reads++;
    assert_int_equal(reads, 2);
    /* autodiff and the passes keep the updates; buffers become struct members */
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(ph_passes(&t, 2, 1), 0);
    assert_int_equal(ph_count(&t.g, OP_RUNNING_UPDATE, FN_UPDATE), 2);
    int rm = buffer_named(&t.g, "h.running_mean")->node;
    assert_int_equal(t.g.nodes[rm].storage, STO_MEMBER);
    assert_string_equal(ph_ref(&t.g, rm), "m->buffer.h_running_mean");
    ph_free(&t);
}

/* one value per channel and sample ([F], [C, 1, 1]): training needs n >= 2 */
static void test_min_train_batch(void **state) {
    (void)state;
    static const char *const srcs[] = {"x[5]", "x[5, 1, 1]", "x[5, 2, 1]"};
    static const int want[] = {2, 2, 0};
    for (int i = 0; i < 3; i++) {
        char src[256];
        Phases t;
        snprintf(src, sizeof src, "network t\ninput %s\nh = batchnorm(x)\noutput o = h\nloss mean(h * h)\n"
                 "optimizer sgd(lr=0.1)\n", srcs[i]);
        lower_ok(&t, src, 0);
        assert_int_equal(t.g.min_train_batch, want[i]);
        ph_free(&t);
        lower_ok(&t, src, 1); /* inference only: no constraint */
        assert_int_equal(t.g.min_train_batch, 0);
        ph_free(&t);
    }
}

/* buffer names are usable in expressions (an extension), but not as parameters */
static void test_buffer_names(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[3]\nh = batchnorm(x)\noutput o = h * h.running_var\n", 0);
    int o = ph_named(&t.g, "o", FN_INFER);
    assert_int_equal(t.g.nodes[o].in[1], buffer_named(&t.g, "h.running_var")->node);
    ph_free(&t);
    expect_error("network t\ninput x[3]\ntarget y[3]\nh = batchnorm(x)\nloss mse(h, y)\n"
                 "regularize l1(0.1, h.running_mean)\noptimizer sgd(lr=0.1)\n",
                 "t.nn:6:20: error: expected the name of a parameter, but 'h.running_mean' is not one");
}

static void test_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[3]\nh = dropout(x, 1)\noutput o = h\n",
                 "t.nn:3:16: error: dropout's p must satisfy 0 <= p < 1, got 1");
    expect_error("network t\ninput x[3]\nh = dropout(x)\noutput o = h\n",
                 "t.nn:3:5: error: 'dropout' needs the argument 'p'");
    expect_error("network t\ninput x[3, 5]\nh = glu(x, 0)\noutput o = h\n",
                 "t.nn:3:5: error: glu splits axis 0 into two halves, but it has odd length 3 (shape [N, 3, 5])");
    expect_error("network t\ninput x[4]\nh = glu(x, 1)\noutput o = h\n",
                 "t.nn:3:12: error: axis 1 is out of range for a tensor of shape [N, 4] (axes count the per-sample dims from 0)");
    expect_error("network t\ninput x[4]\nh = maxout(x, 2, 0)\noutput o = h\n",
                 "t.nn:3:18: error: maxout needs pieces >= 1, got 0");
    expect_error("network t\ninput x[4]\nh = maxout(x, -1, 2)\noutput o = h\n",
                 "t.nn:3:15: error: maxout needs units >= 1, got -1");
    expect_error("network t\ninput x[16]\nh = batchnorm(reshape(x, [2, 2, 2, 2]))\noutput o = h\n",
                 "t.nn:3:5: error: batchnorm normalizes [N, F] (per feature), [N, C, L] or [N, C, H, W] (per channel), "
                 "not [N, 2, 2, 2, 2]");
    expect_error("network t\ninput x[4]\nh = batchnorm(sum(x, 0))\noutput o = h\n",
                 "t.nn:3:5: error: batchnorm normalizes [N, F] (per feature), [N, C, L] or [N, C, H, W] (per channel), "
                 "not [N]");
    expect_error("network t\ninput x[4]\nh = batchnorm(x, -0.5)\noutput o = h\n",
                 "t.nn:3:18: error: batchnorm's momentum must be in [0, 1], got -0.5");
    expect_error("network t\ninput x[4]\nh = batchnorm(x, eps=-1)\noutput o = h\n",
                 "t.nn:3:22: error: batchnorm's eps must be >= 0, got -1");
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
        cmocka_unit_test(test_dropout_lowering),
        cmocka_unit_test(test_batchnorm_lowering),
        cmocka_unit_test(test_min_train_batch),
        cmocka_unit_test(test_buffer_names),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
