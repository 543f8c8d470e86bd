/*
 * test_autodiff.c - ad_differentiate (and optim_build on top of it) through
 * their API: the structure of the backward graph, not its numbers (the
 * gradcheck tests compare numbers with finite differences).
 *
 *   - every parameter the loss uses gets a gradient node of its own, of
 *     exactly its shape, in FN_BACKWARD; an unused one (or one only an
 *     output reads) gets none, and no update;
 *   - gradients of broadcast operands are reduced with sum_to;
 *   - a value used twice accumulates its gradients with an add;
 *   - gradient nodes keep their forward op's location;
 *   - the padded gradients of slices that tile a tensor become one concat
 *     (an LSTM's steps and gates), padded only around a gap, and the
 *     per-step products of a recurrent weight's gradient one product;
 *   - the backward graph reads only training-mode nodes and leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

/* lower + autodiff + updates, no passes */
static void diff_ok(Phases *t, const char *src) {
    int rc = ph_lower(t, src, 0);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
    rc = ph_autodiff(t);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
}

static const Node *grad_of(const Phases *t, const char *param) {
    const Param *p = ph_param(&t->g, param);
    assert_non_null(p);
    assert_true(p->grad >= 0);
    return &t->g.nodes[p->grad];
}

/* The invariants of autodiff.c's header, for every parameter. */
static void check_param_grads(const Phases *t) {
    const Graph *g = &t->g;
    for (int i = 0; i < g->nparams; i++) {
        const Param *p = &g->params[i];
        if (p->grad < 0)
            continue;
        const Node *gn = &g->nodes[p->grad];
        assert_int_equal(gn->func, FN_BACKWARD);
        assert_true(shape_equal(&gn->shape, &g->nodes[p->node].shape));
        assert_int_equal(gn->grad_of, p->node);
        assert_false(op_info(gn->op)->flags & (OPF_LEAF | OPF_VIEW));
        for (int j = 0; j < i; j++)
            assert_int_not_equal(g->params[j].grad, p->grad);
    }
    /* backward reads backward, training-forward and leaf nodes only */
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->func != FN_BACKWARD)
            continue;
        for (int k = 0; k < n->nin; k++) {
            Func f = g->nodes[n->in[k]].func;
            assert_true(f == FN_BACKWARD || f == FN_TRAIN || f == FN_NONE);
        }
    }
}

static const char *const mixed_src =
    "network t\n"
    "input x[2, 3]\n"
    "target y[4]\n"
    "param s[1]\n"
    "param b[4]\n"
    "param U[2, 2]\n"        /* unused */
    "param O[3]\n"           /* read by an output only */
    "h = tanh(dense(x * s, 4) + b)\n"
    "output p = h\n"
    "output q = x * O\n"
    "loss mse(h, y)\n"
    "optimizer sgd(lr=0.1)\n";

static void test_every_used_param_gets_its_gradient(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t, mixed_src);
    const Graph *g = &t.g;
    const char *used[] = {"s", "b", "h.weight", "h.bias"};
    const char *shapes[] = {"[1]", "[4]", "[6, 4]", "[4]"};
    for (int i = 0; i < 4; i++) {
        const Param *p = ph_param(g, used[i]);
        assert_true(p->grad >= 0);
        assert_string_equal(ph_shape(g, p->grad), shapes[i]);
    }
    assert_int_equal(ph_param(g, "U")->grad, -1);
    assert_int_equal(ph_param(g, "O")->grad, -1);
    check_param_grads(&t);
    /* one update per gradient, reading (param, grad) */
    assert_int_equal(ph_count(g, OP_SGD_UPDATE, FN_UPDATE), 4);
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->op != OP_SGD_UPDATE)
            continue;
        const Param *p = ph_param(g, n->s);
        assert_non_null(p);
        assert_int_equal(n->in[0], p->node);
        assert_int_equal(n->in[1], p->grad);
        assert_true(strcmp(n->s, "U") != 0 && strcmp(n->s, "O") != 0);
    }
    /* nothing of the inference half is differentiated */
    int q = ph_named(g, "q", FN_INFER);
    for (int v = 0; v < g->count; v++)
        assert_int_not_equal(g->nodes[v].grad_of, q);
    ph_free(&t);
}

/* b[4] + [N, 4] and s[1] * [N, 2, 3]: the gradients are summed back */
static void test_broadcast_operands_reduced_with_sum_to(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t, mixed_src);
    const Graph *g = &t.g;
    const Node *db = grad_of(&t, "b");
    assert_int_equal(db->op, OP_SUM_TO);
    assert_string_equal(ph_shape(g, db->in[0]), "[N, 4]");
    const Node *dbias = grad_of(&t, "h.bias");
    assert_int_equal(dbias->op, OP_SUM_TO);
    assert_string_equal(ph_shape(g, dbias->in[0]), "[N, 4]");
    const Node *ds = grad_of(&t, "s");
    assert_int_equal(ds->op, OP_SUM_TO);
    const Node *prod = &g->nodes[ds->in[0]];
    assert_string_equal(ph_shape(g, ds->in[0]), "[N, 2, 3]");
    assert_int_equal(prod->op, OP_MUL);
    /* d(x * s)/ds = dy * x */
    assert_int_equal(prod->in[1], g->ports[0].node);
    /* the weight's gradient needs no reduction: x^T @ dy sums over the batch */
    const Node *dw = grad_of(&t, "h.weight");
    assert_int_equal(dw->op, OP_MATMUL);
    assert_int_equal(dw->i[0], 1);
    assert_int_equal(dw->i[1], 0);
    assert_string_equal(ph_shape(g, dw->in[0]), "[N, 6]");
    assert_string_equal(ph_shape(g, dw->in[1]), "[N, 4]");
    ph_free(&t);
}

/* an intermediate [N, 1] broadcast against [N, 3] gets a batched sum_to */
static void test_batched_sum_to(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[3]\nparam W[3, 1]\n"
            "a = x @ W\nh = a * x\nloss mse(h, y)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    int a = ph_named(g, "a", FN_TRAIN);
    assert_string_equal(ph_shape(g, a), "[N, 1]");
    int found = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->op == OP_SUM_TO && n->grad_of == a) {
            found++;
            assert_string_equal(ph_shape(g, v), "[N, 1]");
            assert_string_equal(ph_shape(g, n->in[0]), "[N, 3]");
        }
    }
    assert_int_equal(found, 1);
    /* and d a flows on into W: dW = x^T @ da */
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(dw->op, OP_MATMUL);
    assert_int_equal(g->nodes[dw->in[1]].op, OP_SUM_TO);
    check_param_grads(&t);
    ph_free(&t);
}

/* a parameter read twice: its two contributions meet in one add */
static void test_param_used_twice_accumulates(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[3]\nparam W[3]\n"
            "h = x * W + W\nloss mse(h, y)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(dw->op, OP_ADD);
    assert_int_equal(dw->func, FN_BACKWARD);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(g->nodes[dw->in[k]].op, OP_SUM_TO);
        assert_string_equal(ph_shape(g, dw->in[k]), "[3]");
    }
    /* one from the add (dy itself), one from the product (dy * x) */
    assert_int_equal(g->nodes[g->nodes[dw->in[0]].in[0]].op, OP_MSE_GRAD);
    assert_int_equal(g->nodes[g->nodes[dw->in[1]].in[0]].op, OP_MUL);
    assert_int_equal(ph_count(g, OP_ADD, FN_BACKWARD), 1);
    check_param_grads(&t);
    ph_free(&t);
}

/* an intermediate read twice (a * a): one add, whose grad_of is a */
static void test_value_used_twice_accumulates(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[2]\nparam W[3, 2]\n"
            "a = x @ W\nh = a * a\nloss mse(h, y)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    int a = ph_named(g, "a", FN_TRAIN);
    int adds = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->op == OP_ADD && n->func == FN_BACKWARD) {
            adds++;
            assert_int_equal(n->grad_of, a);
            assert_int_equal(g->nodes[n->in[0]].op, OP_MUL);
            assert_int_equal(g->nodes[n->in[1]].op, OP_MUL);
            assert_string_equal(ph_shape(g, v), "[N, 2]");
        }
    }
    assert_int_equal(adds, 1);
    /* dW = x^T @ (that sum) */
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(dw->op, OP_MATMUL);
    assert_int_equal(g->nodes[dw->in[1]].op, OP_ADD);
    check_param_grads(&t);
    ph_free(&t);
}

/* a + b on unbatched [3]s: both would get the very same node; each
 * parameter still owns its gradient (the second gets a copy). */
static void test_shared_gradient_is_copied(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[3]\nparam u[3]\nparam v[3]\n"
            "loss mse(x, y) + sum(u + v)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    const Param *pa = ph_param(g, "u"), *pb = ph_param(g, "v");
    assert_true(pa->grad >= 0 && pb->grad >= 0);
    assert_int_not_equal(pa->grad, pb->grad);
    assert_int_equal(g->nodes[pb->grad].op, OP_BROADCAST);
    assert_int_equal(g->nodes[pb->grad].in[0], pa->grad);
    check_param_grads(&t);
    /* and the whole pipeline accepts it */
    ph_free(&t);
    int rc = ph_all(&t,
                    "network t\ninput x[3]\ntarget y[3]\nparam u[3]\nparam v[3]\n"
                    "loss mse(x, y) + sum(u + v)\noptimizer sgd(lr=1)\n",
                    0, 2);
    assert_string_equal(ph_diag(&t), "");
    assert_int_equal(rc, 0);
    assert_string_equal(ph_ref(&t.g, ph_param(&t.g, "u")->grad), "m->grad.u");
    assert_string_equal(ph_ref(&t.g, ph_param(&t.g, "v")->grad), "m->grad.v");
    ph_free(&t);
}

/* the gradient of a view (reshape) cannot be placed in m->grad: a copy */
static void test_view_gradient_is_copied(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[6]\ntarget y[6]\nparam W[2, 3]\n"
            "loss mse(x * flatten(W), y)\noptimizer sgd(lr=1)\n");
    const Node *dw = grad_of(&t, "W");
    assert_int_not_equal(dw->op, OP_RESHAPE);
    check_param_grads(&t);
    ph_free(&t);
}

static void test_seed_and_locations(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[2]\nparam W[3, 2]\n"
            "z = x @ W\nloss mse(z, y)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    /* d loss / d loss = 1 feeds the loss's derivative kernel */
    const Node *dz = NULL;
    for (int v = 0; v < g->count; v++)
        if (g->nodes[v].op == OP_MSE_GRAD)
            dz = &g->nodes[v];
    assert_non_null(dz);
    assert_int_equal(g->nodes[dz->in[2]].op, OP_CONST);
    assert_true(g->nodes[dz->in[2]].f[0] == 1.0);
    assert_int_equal(dz->in[0], ph_named(g, "z", FN_TRAIN));
    assert_int_equal(dz->loc.line, 6); /* the loss call */
    assert_int_equal(dz->loc.col, 6);
    /* dW inherits the '@' at 5:7 */
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(dw->loc.line, 5);
    assert_int_equal(dw->loc.col, 7);
    /* x is an input: no gradient is computed for it (no dy @ W^T) */
    for (int v = 0; v < g->count; v++)
        if (g->nodes[v].op == OP_MATMUL && g->nodes[v].func == FN_BACKWARD)
            assert_int_equal(g->nodes[v].i[0], 1);
    ph_free(&t);
}

static void test_input_gradient_through_hidden_layer(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[2]\nparam W[3, 4]\nparam V[4, 2]\n"
            "h = relu(x @ W)\nz = h @ V\nloss mse(z, y)\noptimizer sgd(lr=1)\n");
    const Graph *g = &t.g;
    /* dh = dz @ V^T, then relu', then dW = x^T @ dpre */
    int dh = -1, h = ph_named(g, "h", FN_TRAIN);
    for (int v = 0; v < g->count; v++)
        if (g->nodes[v].func == FN_BACKWARD && g->nodes[v].grad_of == h)
            dh = v;
    assert_true(dh >= 0);
    assert_int_equal(g->nodes[dh].op, OP_MATMUL);
    assert_int_equal(g->nodes[dh].i[1], 1);
    assert_string_equal(ph_shape(g, dh), "[N, 4]");
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(g->nodes[dw->in[1]].op, OP_RELU_GRAD);
    check_param_grads(&t);
    ph_free(&t);
}

static void test_nothing_to_do_without_training(void **state) {
    (void)state;
    Phases t;
    int rc = ph_lower(&t,
                      "network t\ninput x[3]\ntarget y[3]\nparam W[3]\noutput p = x * W\n"
                      "loss mse(p, y)\noptimizer sgd(lr=1)\n",
                      1);
    assert_int_equal(rc, 0);
    int before = t.g.count;
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(t.g.count, before);
    assert_int_equal(ph_param(&t.g, "W")->grad, -1);
    ph_free(&t);
}

/* the regularizer's terms are differentiated with the rest */
static void test_regularizer_gradient_accumulates(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t,
            "network t\ninput x[3]\ntarget y[2]\nparam W[3, 2]\n"
            "z = x @ W\nloss mse(z, y)\nregularize l2(0.1)\noptimizer adam()\n");
    const Graph *g = &t.g;
    const Node *dw = grad_of(&t, "W");
    assert_int_equal(dw->op, OP_ADD);
    int kinds = 0;
    for (int k = 0; k < 2; k++) {
        Op op = g->nodes[dw->in[k]].op;
        kinds |= op == OP_MATMUL ? 1 : op == OP_POWC_GRAD ? 2 : 4;
    }
    assert_int_equal(kinds, 3);
    assert_int_equal(ph_count(g, OP_ADAM_UPDATE, FN_UPDATE), 1);
    check_param_grads(&t);
    ph_free(&t);
}

/* Gradients of the slices of one tensor: concats, not a sum of padded
 * copies. An LSTM of 2 units over 6 steps slices its input projection A
 * [N, 6, 8] into steps and each step's pre-activations [N, 1, 8] into
 * gates; step 1 reads no forget gate (c_0 = 0), which leaves a gap. */
static void test_slice_gradients_concatenated(void **state) {
    (void)state;
    Phases t;
    diff_ok(&t, "network t\ninput x[6, 3]\ntarget y[2]\nh = lstm(x, 2)\nz = dense(last(h), 2)\n"
                "loss mse(z, y)\noptimizer sgd(lr=0.1)\n");
    const Graph *g = &t.g;
    int full_concat = 0, full_add = 0, gap_pad = 0, step_concat = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->func != FN_BACKWARD || !n->shape.batched || n->shape.rank != 2 || n->shape.dims[1] != 8)
            continue;
        if (n->shape.dims[0] == 6) {
            full_concat += n->op == OP_CONCAT;
            full_add += n->op == OP_ADD;
        } else if (n->shape.dims[0] == 1) {
            step_concat += n->op == OP_CONCAT && n->i[0] == 1;
            gap_pad += n->op == OP_PAD && n->i[1] == 4 && g->nodes[n->in[0]].op == OP_CONCAT;
        }
    }
    assert_int_equal(full_add, 0);  /* no sum of [N, 6, 8] copies */
    assert_int_equal(full_concat, 1);  /* the root of dA's tree: steps 1-3 and 4-6 */
    assert_int_equal(step_concat, 5);  /* the four gates of steps 2 to 6, whole */
    assert_int_equal(gap_pad, 1);  /* step 1: [g o] after the missing f gate */
    /* the recurrent weight's gradient: one product over steps 2 to 6, not five summed */
    const Node *dw = grad_of(&t, "h.weight_hh");
    assert_int_equal(dw->op, OP_MATMUL);
    for (int k = 0; k < 2; k++) {
        const Node *in = &g->nodes[dw->in[k]];
        assert_int_equal(in->op, OP_CONCAT);
        assert_int_equal(in->shape.dims[0], 5);
    }
    check_param_grads(&t);
    ph_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_used_param_gets_its_gradient),
        cmocka_unit_test(test_broadcast_operands_reduced_with_sum_to),
        cmocka_unit_test(test_batched_sum_to),
        cmocka_unit_test(test_param_used_twice_accumulates),
        cmocka_unit_test(test_value_used_twice_accumulates),
        cmocka_unit_test(test_shared_gradient_is_copied),
        cmocka_unit_test(test_view_gradient_is_copied),
        cmocka_unit_test(test_seed_and_locations),
        cmocka_unit_test(test_input_gradient_through_hidden_layer),
        cmocka_unit_test(test_nothing_to_do_without_training),
        cmocka_unit_test(test_regularizer_gradient_accumulates),
        cmocka_unit_test(test_slice_gradients_concatenated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
