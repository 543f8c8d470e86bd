/*
 * test_lower.c - lower_program through its API: what every statement kind
 * becomes in the graph, layer parameter names and the parameter table's
 * order (docs/language.md, Precise semantics), default and explicit
 * initializers, compile-time constants, and the argument binding rules
 * with their exact, located errors.
 *
 * Each case parses and lowers a small text (phase_util.h) and looks at the
 * Graph: ports, params, outputs, losses, the optimizer, node ops, shapes and
 * attributes. No later phase runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

/* src lowers without a diagnostic */
static void lower_ok(Phases *t, const char *src, int infer_only) {
    int rc = ph_lower(t, src, infer_only);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
}

/* src fails to lower, and the first diagnostic line is `want` */
static void expect_error(const char *src, const char *want) {
    Phases t;
    assert_int_not_equal(ph_lower(&t, src, 0), 0);
    assert_string_equal(ph_first_error(&t), want);
    ph_free(&t);
}

/* ---- statements */

static void test_network_input_target(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network net1\n"
             "input x[2, 3]\n"
             "input img[1, 4, 4]\n"
             "target y[5]\n"
             "target c : class(7)\n",
             0);
    const Graph *g = &t.g;
    assert_string_equal(g->net, "net1");
    assert_int_equal(g->nports, 4);
    const char *names[] = {"x", "img", "y", "c"};
    const char *shapes[] = {"[N, 2, 3]", "[N, 1, 4, 4]", "[N, 5]", "[N]"};
    const Op ops[] = {OP_INPUT, OP_INPUT, OP_TARGET, OP_LABEL};
    for (int i = 0; i < 4; i++) {
        const Port *p = &g->ports[i];
        assert_string_equal(p->name, names[i]);
        assert_int_equal(g->nodes[p->node].op, ops[i]);
        assert_int_equal(g->nodes[p->node].func, FN_NONE);
        assert_string_equal(ph_shape(g, p->node), shapes[i]);
        assert_true(shape_equal(&p->shape, &g->nodes[p->node].shape));
        assert_int_equal(p->is_target, i >= 2);
        assert_int_equal(p->is_class, i == 3);
    }
    assert_int_equal(g->ports[3].classes, 7);
    /* no loss: inference only, nothing lowered in training mode */
    assert_int_equal(g->infer_only, 1);
    assert_int_equal(g->loss_infer, -1);
    assert_int_equal(g->loss_train, -1);
    assert_int_equal(g->nparams, 0);
    ph_free(&t);
}

static void test_param_and_const(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "const H = 3\n"
             "const M = -H\n"
             "param W[2, H]\n"
             "param b[H] init=uniform(M, H)\n",
             0);
    const Graph *g = &t.g;
    assert_int_equal(g->nparams, 2);
    const Param *w = &g->params[0], *b = &g->params[1];
    assert_string_equal(w->name, "W");
    assert_int_equal(g->nodes[w->node].op, OP_PARAM);
    assert_string_equal(ph_shape(g, w->node), "[2, 3]");
    assert_string_equal(ph_shape(g, b->node), "[3]");
    assert_int_equal(b->init_kind, INIT_UNIFORM);
    assert_true(b->init_a == -3.0);
    assert_true(b->init_b == 3.0);
    assert_int_equal(w->grad, -1);
    ph_free(&t);
}

static void test_assign_output_loss_optimizer(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[4]\n"
             "target y[2]\n"
             "param W[4, 2]\n"
             "h = x @ W\n"
             "output p = tanh(h)\n"
             "loss mse(p, y)\n"
             "optimizer sgd(lr=0.5, momentum=0.9)\n",
             0);
    const Graph *g = &t.g;
    /* both modes are lowered, each with its own nodes */
    int hi = ph_named(g, "h", FN_INFER), ht = ph_named(g, "h", FN_TRAIN);
    assert_true(hi >= 0 && ht >= 0 && hi != ht);
    assert_int_equal(g->nodes[hi].op, OP_MATMUL);
    assert_int_equal(g->nodes[ht].op, OP_MATMUL);
    /* ... sharing the leaves */
    assert_int_equal(g->nodes[hi].in[1], g->params[0].node);
    assert_int_equal(g->nodes[ht].in[1], g->params[0].node);
    assert_int_equal(g->nodes[hi].in[0], g->nodes[ht].in[0]);
    assert_int_equal(g->noutputs, 1);
    assert_string_equal(g->outputs[0].name, "p");
    assert_int_equal(g->outputs[0].node, ph_named(g, "p", FN_INFER));
    assert_int_equal(g->nodes[g->outputs[0].node].op, OP_TANH);
    assert_int_equal(g->nodes[g->loss_infer].op, OP_MSE);
    assert_int_equal(g->nodes[g->loss_infer].func, FN_INFER);
    assert_int_equal(g->nodes[g->loss_train].op, OP_MSE);
    assert_int_equal(g->nodes[g->loss_train].func, FN_TRAIN);
    assert_string_equal(ph_shape(g, g->loss_train), "[]");
    assert_int_equal(g->infer_only, 0);
    assert_ptr_equal(g->opt.desc, &optim_sgd);
    assert_true(g->opt.lr == 0.5);
    assert_true(g->opt.hp[0] == 0.9); /* momentum */
    assert_true(g->opt.hp[1] == 0.0); /* dampening */
    /* autodiff has not run: no backward node yet */
    assert_int_equal(ph_count(g, OP__COUNT, FN_BACKWARD), 0);
    ph_free(&t);
}

static void test_infer_only_flag(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[4]\n"
             "target y[4]\n"
             "output p = relu(x)\n"
             "loss mse(p, y)\n"
             "optimizer adam()\n",
             1);
    assert_int_equal(t.g.infer_only, 1);
    assert_int_equal(t.g.loss_infer, -1);
    assert_int_equal(t.g.loss_train, -1);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_TRAIN), 0);
    assert_int_equal(ph_count(&t.g, OP_RELU, FN_INFER), 1);
    ph_free(&t);
}

static void test_adam_defaults(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[1]\ntarget y[1]\nparam w[1]\n"
             "loss mse(x * w, y)\noptimizer adam(beta2=0.99)\n",
             0);
    assert_ptr_equal(t.g.opt.desc, &optim_adam);
    assert_true(t.g.opt.lr == 1e-3);
    assert_true(t.g.opt.hp[0] == 0.9);
    assert_true(t.g.opt.hp[1] == 0.99);
    assert_true(t.g.opt.hp[2] == 1e-8);
    assert_true(t.g.opt.hp[3] == 0.0);
    assert_true(t.g.opt.hp[4] == 0.0);
    ph_free(&t);
}

/* every optimizer of docs/language.md lowers with its defaults (PyTorch 1.13's),
 * binds positional arguments in signature order, and has its state arrays */
static void test_every_optimizer(void **state) {
    (void)state;
    static const struct {
        const char *call;
        const OptimDesc *desc;
        double lr, hp0, hp1;
        int nstate;
    } cases[] = {
        {"sgd(0.5, 0.9)", &optim_sgd, 0.5, 0.9, 0, 1},
        {"adam()", &optim_adam, 1e-3, 0.9, 0.999, 2},
        {"adamw(amsgrad=true)", &optim_adamw, 1e-3, 0.9, 0.999, 3},
        {"adagrad()", &optim_adagrad, 0.01, 1e-10, 0, 1},
        {"rmsprop(0.02, 0.9)", &optim_rmsprop, 0.02, 0.9, 1e-8, 1},
        {"rmsprop(momentum=0.5)", &optim_rmsprop, 0.01, 0.99, 1e-8, 2},
        {"adadelta()", &optim_adadelta, 1.0, 0.9, 1e-6, 2},
        {"adamax()", &optim_adamax, 2e-3, 0.9, 0.999, 2},
        {"nadam(momentum_decay=0.01)", &optim_nadam, 2e-3, 0.9, 0.999, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[256];
        snprintf(src, sizeof src, "network t\ninput x[1]\ntarget y[1]\nparam w[1]\nloss mse(x * w, y)\noptimizer %s\n",
                 cases[i].call);
        Phases t;
        lower_ok(&t, src, 0);
        const char *names[OPTIM_MAX_STATE];
        assert_ptr_equal(t.g.opt.desc, cases[i].desc);
        assert_true(t.g.opt.lr == cases[i].lr);
        assert_true(t.g.opt.hp[0] == cases[i].hp0 && t.g.opt.hp[1] == cases[i].hp1);
        assert_int_equal(optim_state(&t.g.opt, names), cases[i].nstate);
        double init = 0;
        assert_true((optim_scalar(&t.g.opt, &init) != NULL) == (cases[i].desc == &optim_nadam));
        ph_free(&t);
    }
}

/* every schedule lowers into g->sched with its defaults; the initial lr is
 * the optimizer's, or cyclic's base_lr */
static void test_every_schedule(void **state) {
    (void)state;
    static const struct {
        const char *call;
        SchedKind kind;
        double a0, a1, lr;
    } cases[] = {
        {"step(5)", SCHED_STEP, 5, 0.1, 0.5},
        {"exponential(gamma=0.9)", SCHED_EXPONENTIAL, 0.9, 0, 0.5},
        {"cosine(10)", SCHED_COSINE, 10, 0, 0.5},
        {"cosine_restarts(t0=4)", SCHED_COSINE_RESTARTS, 4, 1, 0.5},
        {"cyclic(0.01, 0.1, 20)", SCHED_CYCLIC, 0.01, 0.1, 0.01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[256];
        snprintf(src, sizeof src, "network t\ninput x[1]\ntarget y[1]\nparam w[1]\nloss mse(x * w, y)\n"
                 "optimizer sgd(lr=0.5)\nschedule %s\n", cases[i].call);
        Phases t;
        lower_ok(&t, src, 0);
        assert_int_equal(t.g.sched.kind, cases[i].kind);
        assert_true(t.g.sched.a[0] == cases[i].a0 && t.g.sched.a[1] == cases[i].a1);
        assert_true(sched_initial_lr(&t.g) == cases[i].lr);
        ph_free(&t);
    }
    Phases t;
    lower_ok(&t, "network t\ninput x[1]\ntarget y[1]\nparam w[1]\nloss mse(x * w, y)\noptimizer sgd(lr=0.5)\n", 0);
    assert_int_equal(t.g.sched.kind, SCHED_NONE);
    ph_free(&t);
}

/* loss + lambda/2 * sum(W^2) (l2), + lambda * sum(|W|) (l1) */
static void test_regularize(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[3]\n"
             "target y[2]\n"
             "param W[3, 2]\n"
             "param b[2]\n"
             "h = dense(x @ W + b, 2)\n"
             "loss mse(h, y)\n"
             "regularize l2(0.5, W, b)\n"
             "regularize l1(0.25)\n"
             "optimizer sgd(lr=0.1)\n",
             0);
    const Graph *g = &t.g;
    /* loss = (mse + l2 term) + l1 term */
    const Node *top = &g->nodes[g->loss_infer];
    assert_int_equal(top->op, OP_ADD);
    const Node *inner = &g->nodes[top->in[0]];
    assert_int_equal(inner->op, OP_ADD);
    assert_int_equal(g->nodes[inner->in[0]].op, OP_MSE);
    /* l2 over W and b: c*sum(W^2) + c*sum(b^2), c = 0.25 */
    const Node *l2 = &g->nodes[inner->in[1]];
    assert_int_equal(l2->op, OP_ADD);
    for (int k = 0; k < 2; k++) {
        const Node *term = &g->nodes[l2->in[k]];
        assert_int_equal(term->op, OP_MUL);
        assert_int_equal(g->nodes[term->in[0]].op, OP_CONST);
        assert_true(g->nodes[term->in[0]].f[0] == 0.25);
        const Node *sum = &g->nodes[term->in[1]];
        assert_int_equal(sum->op, OP_SUM_ALL);
        const Node *sq = &g->nodes[sum->in[0]];
        assert_int_equal(sq->op, OP_POWC);
        assert_true(sq->f[0] == 2.0);
        assert_int_equal(sq->in[0], ph_param(g, k ? "b" : "W")->node);
    }
    /* l1 without names: every weight (W and h.weight), no bias */
    const Node *l1 = &g->nodes[top->in[1]];
    assert_int_equal(l1->op, OP_ADD);
    const char *weights[] = {"W", "h.weight"};
    for (int k = 0; k < 2; k++) {
        const Node *term = &g->nodes[l1->in[k]];
        assert_int_equal(term->op, OP_MUL);
        assert_true(g->nodes[term->in[0]].f[0] == 0.25);
        const Node *abs = &g->nodes[g->nodes[term->in[1]].in[0]];
        assert_int_equal(abs->op, OP_ABS);
        assert_int_equal(abs->in[0], ph_param(g, weights[k])->node);
    }
    ph_free(&t);
}

static void test_regularize_layer_param_by_dotted_name(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[3]\ntarget y[2]\n"
             "h = dense(x, 2)\n"
             "loss mse(h, y)\n"
             "regularize l2(0.1, h.bias)\n"
             "optimizer sgd(lr=0.1)\n",
             0);
    const Node *term = &t.g.nodes[t.g.nodes[t.g.loss_infer].in[1]];
    const Node *sq = &t.g.nodes[t.g.nodes[term->in[1]].in[0]];
    assert_int_equal(sq->in[0], ph_param(&t.g, "h.bias")->node);
    ph_free(&t);
}

static void test_statement_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss mse(x, y)\n",
                 "t.nn:4:1: error: a network with a loss needs an 'optimizer' statement");
    expect_error("network t\ninput x[2]\noptimizer sgd(lr=1)\n",
                 "t.nn:3:1: error: 'optimizer' needs a 'loss' statement");
    expect_error("network t\ninput x[2]\nschedule step(10)\n",
                 "t.nn:3:1: error: 'schedule' needs a 'loss' statement");
    expect_error("network t\ninput x[2]\nx = relu(x)\n", "t.nn:3:1: error: 'x' is already defined");
    expect_error("network t\ninput x[2]\nh = relu(q)\n", "t.nn:3:10: error: undefined name 'q'");
    expect_error("network int\ninput x[2]\n",
                 "t.nn:1:9: error: 'int' cannot name a network: it prefixes the generated C symbols, so it "
                 "may not be a C keyword, a reserved identifier, or start with 'nn' in any case (nngen's own "
                 "prefixes: nn_, nnrt_, NN_, nnt_, nndata_)");
    expect_error("network t\ninput x[2]\nparam W[2, 2]\noutput p = W\n",
                 "t.nn:4:12: error: an output must depend on an input (it is returned per sample), "
                 "but 'p' has no batch dimension");
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss x\noptimizer sgd(lr=1)\n",
                 "t.nn:4:6: error: the loss must be a scalar, but this expression has shape [N, 2] "
                 "(reduce it with mean(...) or use a loss function)");
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss mse(dense(x, 2), y)\noptimizer sgd(lr=1)\n",
                 "t.nn:4:10: error: a layer call such as 'dense' is allowed only in 'NAME = ...' and "
                 "'output NAME = ...' statements");
}

/* docs/c-api.md upper-cases names in macros: names equal but for case would clash */
static void test_macro_name_clashes(void **state) {
    (void)state;
    expect_error("network t\ninput x[2]\noutput p = x * 2\noutput P = x + 1\n",
                 "t.nn:4:8: error: 'P' and 'p' differ only in case: both would define the macro T_OUT_P_SIZE");
    expect_error("network t\ninput x[2]\ninput X[2]\n",
                 "t.nn:3:7: error: 'X' and 'x' differ only in case: both would define the macro T_IN_X_SIZE");
    expect_error("network Net\ninput x[2]\ntarget y[1]\ntarget Y[1]\n",
                 "t.nn:4:8: error: 'Y' and 'y' differ only in case: both would define the macro NET_TARGET_Y_SIZE");
    expect_error("network t\ninput x[2]\ntarget c : class(2)\ntarget C : class(3)\n",
                 "t.nn:4:8: error: 'C' and 'c' differ only in case: both would define the macro T_TARGET_C_CLASSES");
    /* different macros: an input and a target, a real and a class target */
    Phases t;
    lower_ok(&t, "network t\ninput x[2]\ntarget X[2]\ntarget y[1]\ntarget Y : class(2)\noutput p = x\n", 0);
    assert_int_equal(t.g.nports, 4);
    ph_free(&t);
}

/* ---- layer parameters: names and table order */

/* docs/language.md: "a second layer call inside one statement gets STMT.1.weight" */
static void test_two_denses_in_one_statement(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[4]\nh = dense(x, 3) + dense(x, 3)\noutput p = h\n", 0);
    const Graph *g = &t.g;
    const char *want[] = {"h.weight", "h.bias", "h.1.weight", "h.1.bias"};
    const char *shapes[] = {"[4, 3]", "[3]", "[4, 3]", "[3]"};
    assert_int_equal(g->nparams, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(g->params[i].name, want[i]);
        assert_string_equal(ph_shape(g, g->params[i].node), shapes[i]);
        assert_string_equal(g->nodes[g->params[i].node].s, want[i]);
    }
    /* the first dense is the one at column 5, the second at column 19 */
    assert_int_equal(g->params[0].loc.col, 5);
    assert_int_equal(g->params[2].loc.col, 19);
    ph_free(&t);
}

/* Numbered by where the names stand in the text: the outer call comes first. */
static void test_nested_layers_numbered_by_text_position(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[2]\noutput h = dense(dense(x, 5), 3)\n", 0);
    const Graph *g = &t.g;
    assert_int_equal(g->nparams, 4);
    assert_string_equal(g->params[0].name, "h.weight");
    assert_string_equal(ph_shape(g, g->params[0].node), "[5, 3]"); /* the outer dense */
    assert_string_equal(g->params[1].name, "h.bias");
    assert_string_equal(ph_shape(g, g->params[1].node), "[3]");
    assert_string_equal(g->params[2].name, "h.1.weight");
    assert_string_equal(ph_shape(g, g->params[2].node), "[2, 5]"); /* the inner dense */
    assert_string_equal(g->params[3].name, "h.1.bias");
    ph_free(&t);
}

/* Statements in source order; within a statement, layers in their numbering;
 * within a layer, weight then bias. */
static void test_parameter_table_order(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[2]\n"
             "param W0[2, 2]\n"
             "h = dense(x @ W0, 3) + dense(x, 3)\n"
             "param b9[3]\n"
             "z = dense(h + b9, 1, bias=false)\n"
             "output q = dense(z, 2, false) + dense(dense(z, 2), 2)\n",
             0);
    const char *want[] = {"W0", "h.weight", "h.bias", "h.1.weight", "h.1.bias", "b9", "z.weight",
                          "q.weight", "q.1.weight", "q.1.bias", "q.2.weight", "q.2.bias"};
    int n = (int)(sizeof want / sizeof want[0]);
    assert_int_equal(t.g.nparams, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(t.g.params[i].name, want[i]);
    assert_null(ph_param(&t.g, "z.bias"));
    assert_null(ph_param(&t.g, "q.bias"));
    ph_free(&t);
}

static void test_dense_flattens_and_lowers_to_matmul_add(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[2, 3]\noutput h = dense(x, 4)\n", 0);
    const Graph *g = &t.g;
    int h = ph_named(g, "h", FN_INFER);
    assert_int_equal(g->nodes[h].op, OP_ADD);
    assert_string_equal(ph_shape(g, h), "[N, 4]");
    const Node *mm = &g->nodes[g->nodes[h].in[0]];
    assert_int_equal(mm->op, OP_MATMUL);
    assert_int_equal(g->nodes[mm->in[0]].op, OP_RESHAPE);
    assert_string_equal(ph_shape(g, mm->in[0]), "[N, 6]");
    assert_string_equal(ph_shape(g, ph_param(g, "h.weight")->node), "[6, 4]");
    assert_int_equal(g->nodes[h].in[1], ph_param(g, "h.bias")->node);
    ph_free(&t);
}

/* ---- initializers */

static void test_default_initializers(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[2]\n"
             "param A[2, 3]\n"
             "param B[3]\n"
             "param C[2, 2, 2]\n"
             "param D[1, 2, 2, 2]\n"
             "h = dense(x, 3)\n"
             "output p = h\n",
             0);
    const Graph *g = &t.g;
    struct {
        const char *name;
        int kind, weight;
    } want[] = {
        {"A", INIT_XAVIER_UNIFORM, 1}, {"B", INIT_ZEROS, 0},        {"C", INIT_XAVIER_UNIFORM, 1},
        {"D", INIT_XAVIER_UNIFORM, 1}, {"h.weight", INIT_XAVIER_UNIFORM, 1}, {"h.bias", INIT_ZEROS, 0},
    };
    assert_int_equal(g->nparams, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(g->params[i].name, want[i].name);
        assert_int_equal(g->params[i].init_kind, want[i].kind);
        assert_int_equal(g->params[i].is_weight, want[i].weight);
    }
    ph_free(&t);
}

static void test_explicit_initializers(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "input x[2]\n"
             "const S = 0.5\n"
             "param A[2, 3] init=normal(1, S)\n"
             "param B[3] init=normal(std=0.25, mean=-1)\n"
             "param C[3] init=constant(v=-2)\n"
             "param D[2, 2] init=ones\n"
             "param E[2, 2] init=he_normal\n"
             "h = dense(x, 3, init=uniform(-0.1, b=0.1), bias_init=constant(7))\n"
             "output p = h\n",
             0);
    const Graph *g = &t.g;
    struct {
        const char *name;
        int kind;
        double a, b;
    } want[] = {
        {"A", INIT_NORMAL, 1, 0.5},         {"B", INIT_NORMAL, -1, 0.25},       {"C", INIT_CONSTANT, -2, 0},
        {"D", INIT_ONES, 0, 0},             {"E", INIT_HE_NORMAL, 0, 0},        {"h.weight", INIT_UNIFORM, -0.1, 0.1},
        {"h.bias", INIT_CONSTANT, 7, 0},
    };
    assert_int_equal(g->nparams, 7);
    for (int i = 0; i < 7; i++) {
        assert_string_equal(g->params[i].name, want[i].name);
        assert_int_equal(g->params[i].init_kind, want[i].kind);
        assert_true(g->params[i].init_a == want[i].a);
        assert_true(g->params[i].init_b == want[i].b);
    }
    ph_free(&t);
}

static void test_initializer_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[2]\nparam A[2] init=uniform(1)\n",
                 "t.nn:3:17: error: 'uniform' needs the argument 'b'");
    expect_error("network t\ninput x[2]\nparam A[2] init=normal\n",
                 "t.nn:3:17: error: the initializer 'normal' needs arguments (mean, std)");
    expect_error("network t\ninput x[2]\nparam A[2] init=relu\n",
                 "t.nn:3:17: error: 'relu' is not an initializer");
    expect_error("network t\ninput x[2]\nparam A[2] init=normal(0, -1)\n",
                 "t.nn:3:27: error: normal's std must be >= 0, got -1");
}

/* ---- compile-time constants */

static void test_const_evaluation(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\n"
             "const K = 3\n"
             "const A = 0.2\n"
             "const NK = -K\n"
             "const KK = K * 2 + 1\n"
             "input x[K]\n"
             "param W[KK, K]\n"
             "h = leaky_relu(x * K, alpha=A)\n"
             "output p = h + NK\n",
             0);
    const Graph *g = &t.g;
    assert_string_equal(ph_shape(g, g->ports[0].node), "[N, 3]");
    assert_string_equal(ph_shape(g, ph_param(g, "W")->node), "[7, 3]");
    int h = ph_named(g, "h", FN_INFER);
    assert_int_equal(g->nodes[h].op, OP_LEAKY_RELU);
    assert_true(g->nodes[h].f[0] == 0.2);
    const Node *mul = &g->nodes[g->nodes[h].in[0]];
    assert_int_equal(mul->op, OP_MUL);
    assert_int_equal(g->nodes[mul->in[1]].op, OP_CONST);
    assert_true(g->nodes[mul->in[1]].f[0] == 3.0);
    const Node *p = &g->nodes[ph_named(g, "p", FN_INFER)];
    assert_true(g->nodes[p->in[1]].f[0] == -3.0);
    /* a literal is a constant node too; -x is a neg node */
    ph_free(&t);
}

static void test_const_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[2]\nconst B = x\n",
                 "t.nn:3:11: error: expected a number, but 'x' is a tensor");
    expect_error("network t\nconst H = 2.5\ninput x[H]\n", "t.nn:3:9: error: expected an integer, got 2.5");
    expect_error("network t\nconst Z = 0\ninput x[Z]\n",
                 "t.nn:3:9: error: a dimension must be an integer >= 1, got 0");
    expect_error("network t\ninput x[Q]\n", "t.nn:2:9: error: undefined name 'Q'");
    expect_error("network t\ninput x[2]\nh = x ^ x\n", "t.nn:3:9: error: expected a number, but 'x' is a tensor");
}

/* ---- argument binding */

static void test_positional_and_named_bind_alike(void **state) {
    (void)state;
    Phases a, b;
    lower_ok(&a, "network t\ninput x[2]\noutput p = dense(leaky_relu(x, 0.2), 3, false, uniform(-1, 1))\n", 0);
    lower_ok(&b,
             "network t\ninput x[2]\n"
             "output p = dense(leaky_relu(x, alpha=0.2), units=3, init=uniform(b=1, a=-1), bias=false)\n",
             0);
    for (Phases *t = &a; t; t = t == &a ? &b : NULL) {
        const Graph *g = &t->g;
        assert_int_equal(g->nparams, 1);
        assert_string_equal(ph_shape(g, g->params[0].node), "[2, 3]");
        assert_int_equal(g->params[0].init_kind, INIT_UNIFORM);
        assert_true(g->params[0].init_a == -1.0 && g->params[0].init_b == 1.0);
        assert_int_equal(ph_count(g, OP_LEAKY_RELU, FN_INFER), 1);
        for (int v = 0; v < g->count; v++)
            if (g->nodes[v].op == OP_LEAKY_RELU)
                assert_true(g->nodes[v].f[0] == 0.2);
    }
    ph_free(&a);
    ph_free(&b);
}

static void test_defaults_apply(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t, "network t\ninput x[2]\noutput p = leaky_relu(x) + elu(x) + swish(x)\n", 0);
    const Graph *g = &t.g;
    for (int v = 0; v < g->count; v++) {
        if (g->nodes[v].op == OP_LEAKY_RELU)
            assert_true(g->nodes[v].f[0] == 0.01);
        if (g->nodes[v].op == OP_ELU || g->nodes[v].op == OP_SWISH)
            assert_true(g->nodes[v].f[0] == 1.0);
    }
    ph_free(&t);
}

static void test_binding_errors(void **state) {
    (void)state;
    expect_error("network t\ninput x[2]\nh = dense(x, units=3, true)\n",
                 "t.nn:3:23: error: a positional argument cannot follow a named one");
    expect_error("network t\ninput x[2]\nh = dense(x, 3, units=4)\n",
                 "t.nn:3:17: error: argument 'units' of 'dense' is given twice");
    expect_error("network t\ninput x[2]\nh = dense(x, units=3, units=4)\n",
                 "t.nn:3:23: error: argument 'units' of 'dense' is given twice");
    expect_error("network t\ninput x[2]\nh = dense(x, 3, foo=1)\n",
                 "t.nn:3:17: error: 'dense' has no argument named 'foo'");
    expect_error("network t\ninput x[2]\nh = dense(x)\n", "t.nn:3:5: error: 'dense' needs the argument 'units'");
    expect_error("network t\ninput x[2]\nh = relu(x, 1)\n",
                 "t.nn:3:13: error: too many arguments: 'relu' takes at most 1");
    expect_error("network t\ninput x[2]\nh = relu(x=x)\n",
                 "t.nn:3:10: error: the tensor argument 'x' of 'relu' must be given by position");
    expect_error("network t\ninput x[2]\nh = dense(x, 3, bias=1)\n", "t.nn:3:22: error: expected true or false");
    expect_error("network t\ninput x[2]\nh = dense(x, 2.5)\n", "t.nn:3:14: error: expected an integer, got 2.5");
    /* optimizers bind the same way */
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss mse(x, y)\noptimizer sgd(momentum=0.9)\n",
                 "t.nn:5:11: error: 'sgd' needs the argument 'lr'");
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss mse(x, y)\noptimizer sgd(lr=0.1, 0.9)\n",
                 "t.nn:5:23: error: a positional argument cannot follow a named one");
    expect_error("network t\ninput x[2]\ntarget y[2]\nloss mse(x, y)\noptimizer adam(betas=1)\n",
                 "t.nn:5:16: error: 'adam' has no argument named 'betas'");
}

static void test_optimizer_positional(void **state) {
    (void)state;
    Phases t;
    lower_ok(&t,
             "network t\ninput x[2]\ntarget y[2]\nparam w[2]\nloss mse(x * w, y)\n"
             "optimizer sgd(0.25, 0.5, 0, true)\n",
             0);
    assert_true(t.g.opt.lr == 0.25);
    assert_true(t.g.opt.hp[0] == 0.5);
    assert_true(t.g.opt.hp[2] == 1.0); /* nesterov */
    ph_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_input_target),
        cmocka_unit_test(test_param_and_const),
        cmocka_unit_test(test_assign_output_loss_optimizer),
        cmocka_unit_test(test_infer_only_flag),
        cmocka_unit_test(test_adam_defaults),
        cmocka_unit_test(test_every_optimizer),
        cmocka_unit_test(test_every_schedule),
        cmocka_unit_test(test_regularize),
        cmocka_unit_test(test_regularize_layer_param_by_dotted_name),
        cmocka_unit_test(test_statement_errors),
        cmocka_unit_test(test_macro_name_clashes),
        cmocka_unit_test(test_two_denses_in_one_statement),
        cmocka_unit_test(test_nested_layers_numbered_by_text_position),
        cmocka_unit_test(test_parameter_table_order),
        cmocka_unit_test(test_dense_flattens_and_lowers_to_matmul_add),
        cmocka_unit_test(test_default_initializers),
        cmocka_unit_test(test_explicit_initializers),
        cmocka_unit_test(test_initializer_errors),
        cmocka_unit_test(test_const_evaluation),
        cmocka_unit_test(test_const_errors),
        cmocka_unit_test(test_positional_and_named_bind_alike),
        cmocka_unit_test(test_defaults_apply),
        cmocka_unit_test(test_binding_errors),
        cmocka_unit_test(test_optimizer_positional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
