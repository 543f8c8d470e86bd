/*
 * test_shape.c - the shape rules: NumPy broadcasting with the implicit
 * batch dimension N, scalar constants, matmul (matrix and vector right
 * operands), reductions, layout ops, losses; and the helpers of shape.c /
 * ir.c (shape_broadcast, shape_print, shape_numel, shape_equal,
 * shape_verify).
 *
 * Rules are driven two ways: directly through shape_broadcast on shapes
 * built by hand, and through lower_program on small texts, where each
 * node is shape-checked as it is built; errors are compared exactly
 * (location, both shapes, the reason).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

/* ---- helpers */

static Shape mk(int batched, int rank, int d0, int d1, int d2) {
    Shape s = {batched, rank, {d0, d1, d2, 0}};
    return s;
}

static const char *print(const Shape *s) {
    static char out[64];
    Buf b = {0};
    shape_print(&b, s);
    snprintf(out, sizeof out, "%s", b.data);
    buf_free(&b);
    return out;
}

/* shape_broadcast(a, b) on an add node of a scratch graph: the printed
 * result, or the error line. */
static const char *bcast(Shape a, Shape b) {
    static char out[1024];
    Phases t;
    ph_begin(&t, "network t\n");
    int in[2];
    in[0] = ir_add(&t.g, OP_INPUT, FN_NONE, (Loc){1, 1}, 0, NULL);
    in[1] = ir_add(&t.g, OP_INPUT, FN_NONE, (Loc){1, 1}, 0, NULL);
    int n = ir_add(&t.g, OP_ADD, FN_INFER, (Loc){1, 9}, 2, in);
    Shape r;
    if (shape_broadcast(&t.g, ir_node(&t.g, n), &a, &b, &r) == 0) {
        assert_string_equal(ph_diag(&t), "");
        snprintf(out, sizeof out, "%s", print(&r));
    } else {
        snprintf(out, sizeof out, "%s", ph_first_error(&t));
    }
    ph_free(&t);
    return out;
}

/* the shape of statement `name` after lowering src (inference mode) */
static const char *shape_of(const char *src, const char *name) {
    static char out[64];
    Phases t;
    int rc = ph_lower(&t, src, 0);
    assert_string_equal(ph_diag(&t), "");
    assert_int_equal(rc, 0);
    int id = ph_named(&t.g, name, FN_INFER);
    assert_true(id >= 0);
    snprintf(out, sizeof out, "%s", ph_shape(&t.g, id));
    ph_free(&t);
    return out;
}

static void expect_error(const char *src, const char *want) {
    Phases t;
    assert_int_not_equal(ph_lower(&t, src, 0), 0);
    assert_string_equal(ph_first_error(&t), want);
    ph_free(&t);
}

/* ---- shape.c / ir.c helpers */

static void test_shape_print(void **state) {
    (void)state;
    Shape s = mk(1, 1, 3, 0, 0);
    assert_string_equal(print(&s), "[N, 3]");
    s = mk(0, 2, 2, 3, 0);
    assert_string_equal(print(&s), "[2, 3]");
    s = mk(0, 0, 0, 0, 0);
    assert_string_equal(print(&s), "[]");
    s = mk(1, 0, 0, 0, 0);
    assert_string_equal(print(&s), "[N]");
    s = mk(1, 3, 1, 28, 28);
    assert_string_equal(print(&s), "[N, 1, 28, 28]");
}

static void test_shape_numel_equal(void **state) {
    (void)state;
    Shape a = mk(1, 3, 2, 3, 4), b = mk(0, 3, 2, 3, 4), c = mk(1, 0, 0, 0, 0);
    assert_int_equal(shape_numel(&a), 24);
    assert_int_equal(shape_numel(&c), 1);
    assert_true(shape_equal(&a, &a));
    assert_false(shape_equal(&a, &b));
    Shape d = mk(1, 3, 2, 3, 5);
    assert_false(shape_equal(&a, &d));
    Shape e = mk(1, 2, 2, 3, 0);
    assert_false(shape_equal(&a, &e));
}

/* ---- broadcasting */

static void test_broadcast_direct(void **state) {
    (void)state;
    assert_string_equal(bcast(mk(1, 1, 3, 0, 0), mk(0, 1, 3, 0, 0)), "[N, 3]");
    assert_string_equal(bcast(mk(0, 1, 3, 0, 0), mk(1, 1, 3, 0, 0)), "[N, 3]");
    assert_string_equal(bcast(mk(1, 1, 3, 0, 0), mk(1, 1, 3, 0, 0)), "[N, 3]");
    assert_string_equal(bcast(mk(1, 1, 1, 0, 0), mk(0, 1, 3, 0, 0)), "[N, 3]");
    assert_string_equal(bcast(mk(1, 1, 3, 0, 0), mk(0, 0, 0, 0, 0)), "[N, 3]");
    assert_string_equal(bcast(mk(1, 2, 2, 3, 0), mk(0, 2, 2, 1, 0)), "[N, 2, 3]");
    assert_string_equal(bcast(mk(1, 2, 2, 1, 0), mk(0, 1, 4, 0, 0)), "[N, 2, 4]");
    assert_string_equal(bcast(mk(0, 2, 2, 3, 0), mk(0, 1, 3, 0, 0)), "[2, 3]");
    assert_string_equal(bcast(mk(0, 0, 0, 0, 0), mk(0, 0, 0, 0, 0)), "[]");
    assert_string_equal(bcast(mk(1, 0, 0, 0, 0), mk(0, 0, 0, 0, 0)), "[N]");
    assert_string_equal(bcast(mk(1, 1, 3, 0, 0), mk(0, 2, 2, 3, 0)),
                        "t.nn:1:9: error: add shapes [N, 3] + [2, 3] do not agree (a dimension would "
                        "stand against the batch dimension N)");
    assert_string_equal(bcast(mk(1, 1, 3, 0, 0), mk(0, 1, 4, 0, 0)),
                        "t.nn:1:9: error: add shapes [N, 3] + [4] do not agree (3 != 4)");
    assert_string_equal(bcast(mk(1, 2, 2, 3, 0), mk(1, 2, 3, 3, 0)),
                        "t.nn:1:9: error: add shapes [N, 2, 3] + [N, 3, 3] do not agree (2 != 3)");
}

static void test_broadcast_batch_rules(void **state) {
    (void)state;
    const char *head = "network t\ninput x[3]\ninput u[1]\nparam b[3]\nparam M[2, 3]\nparam s[1]\n";
    char src[512];
    snprintf(src, sizeof src, "%soutput h = x + b\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%soutput h = b * x\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%soutput h = x - s\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%soutput h = u / x\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%sh = M + b\noutput o = x\n", head);
    assert_string_equal(shape_of(src, "h"), "[2, 3]");
    snprintf(src, sizeof src, "%soutput h = u + b\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%soutput h = max(x, b)\n", head);
    assert_string_equal(shape_of(src, "h"), "[N, 3]");
    snprintf(src, sizeof src, "%soutput h = x + M\n", head);
    expect_error(src, "t.nn:7:14: error: add shapes [N, 3] + [2, 3] do not agree (a dimension would stand "
                      "against the batch dimension N)");
    expect_error("network t\ninput x[3]\nparam v[4]\noutput h = (x * 2) - v\n",
                 "t.nn:4:20: error: sub shapes [N, 3] - [4] do not agree (3 != 4)");
    expect_error("network t\ninput x[3]\ninput z[2]\noutput h = min(x, z)\n",
                 "t.nn:4:12: error: min shapes [N, 3] and [N, 2] do not agree (3 != 2)");
}

/* numbers broadcast everywhere: they are unbatched scalars */
static void test_scalar_constants(void **state) {
    (void)state;
    assert_string_equal(shape_of("network t\ninput x[2, 3]\noutput h = 2 * x + 1\n", "h"), "[N, 2, 3]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\noutput h = x / 4 - -1\n", "h"), "[N, 2, 3]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\nk = 2 * 3\noutput h = x\n", "k"), "[]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\noutput h = x ^ 2\n", "h"), "[N, 2, 3]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\nparam W[3]\noutput h = W * 0.5 + x\n", "h"),
                        "[N, 2, 3]");
}

/* ---- matmul */

static void test_matmul_shapes(void **state) {
    (void)state;
    assert_string_equal(shape_of("network t\ninput x[784]\nparam W[784, 128]\noutput h = x @ W\n", "h"),
                        "[N, 128]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\nparam W[3, 4]\noutput h = x @ W\n", "h"),
                        "[N, 2, 4]");
    /* unbatched operands */
    assert_string_equal(
        shape_of("network t\ninput x[2]\nparam A[2, 3]\nparam B[3, 5]\nh = A @ B\noutput o = x\n", "h"),
        "[2, 5]");
    /* the vector case: the result drops the last dim */
    assert_string_equal(shape_of("network t\ninput x[3]\nparam v[3]\noutput h = x @ v\n", "h"), "[N]");
    assert_string_equal(shape_of("network t\ninput x[2, 3]\nparam v[3]\noutput h = x @ v\n", "h"), "[N, 2]");
    assert_string_equal(
        shape_of("network t\ninput x[2]\nparam A[2, 3]\nparam v[3]\nh = A @ v\noutput o = x\n", "h"), "[2]");
    assert_string_equal(
        shape_of("network t\ninput x[2]\nparam A[2, 3]\nparam v[2]\nh = v @ A\noutput o = x\n", "h"), "[3]");
}

static void test_matmul_errors(void **state) {
    (void)state;
    /* docs/language.md's own example */
    expect_error("network t\ninput x[3]\nparam W2[4, 2]\noutput z = x @ W2\n",
                 "t.nn:4:14: error: matmul shapes [N, 3] @ [4, 2] do not agree (3 != 4)");
    expect_error("network t\ninput x[3]\nparam v[4]\noutput z = x @ v\n",
                 "t.nn:4:14: error: matmul shapes [N, 3] @ [4, 1] do not agree (3 != 4)");
    expect_error("network t\ninput x[3]\noutput z = x @ x\n",
                 "t.nn:3:14: error: matmul shapes [N, 3] @ [N, 3] do not agree (the right operand must "
                 "not have the batch dimension: write x @ W)");
    expect_error("network t\ninput x[3]\nparam W[3, 2, 2]\noutput z = x @ W\n",
                 "t.nn:4:14: error: matmul shapes [N, 3] @ [3, 2, 2] do not agree (the right operand "
                 "must be a matrix or a vector)");
    expect_error("network t\ninput x[3]\nparam W[3, 2]\noutput z = sum(x) @ W\n",
                 "t.nn:4:19: error: matmul shapes [] @ [3, 2] do not agree (the left operand needs at "
                 "least one dimension per sample)");
}

/* ---- reductions, layout, activations, losses */

static void test_reductions(void **state) {
    (void)state;
    const char *head = "network t\ninput x[2, 3]\noutput o = x\n";
    char src[256];
    snprintf(src, sizeof src, "%ss = sum(x)\n", head);
    assert_string_equal(shape_of(src, "s"), "[]");
    snprintf(src, sizeof src, "%ss = mean(x)\n", head);
    assert_string_equal(shape_of(src, "s"), "[]");
    snprintf(src, sizeof src, "%ss = sum(x, 0)\n", head);
    assert_string_equal(shape_of(src, "s"), "[N, 3]");
    snprintf(src, sizeof src, "%ss = mean(x, -1)\n", head);
    assert_string_equal(shape_of(src, "s"), "[N, 2]");
    snprintf(src, sizeof src, "%ss = sum(x, axis=1)\n", head);
    assert_string_equal(shape_of(src, "s"), "[N, 2]");
    snprintf(src, sizeof src, "%ss = sum(x, 2)\n", head);
    expect_error(src, "t.nn:4:12: error: axis 2 is out of range for a tensor of shape [N, 2, 3] (axes count "
                      "the per-sample dims from 0)");
}

static void test_layout(void **state) {
    (void)state;
    const char *head = "network t\ninput x[2, 3]\ninput w[4]\noutput o = x\n";
    char src[256];
    snprintf(src, sizeof src, "%sf = flatten(x)\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 6]");
    snprintf(src, sizeof src, "%sf = reshape(x, [3, -1])\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 3, 2]");
    snprintf(src, sizeof src, "%sf = reshape(x, [6])\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 6]");
    snprintf(src, sizeof src, "%sf = transpose(x)\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 3, 2]");
    snprintf(src, sizeof src, "%sf = concat(x, x, 0)\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 4, 3]");
    snprintf(src, sizeof src, "%sf = concat(x, x)\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 2, 6]");
    snprintf(src, sizeof src, "%sf = softmax(x)\n", head);
    assert_string_equal(shape_of(src, "f"), "[N, 2, 3]");
    snprintf(src, sizeof src, "%sf = reshape(x, [4])\n", head);
    expect_error(src, "t.nn:5:5: error: cannot reshape [N, 2, 3] (6 elements per sample) to [N, 4]");
    snprintf(src, sizeof src, "%sf = concat(x, w)\n", head);
    expect_error(src, "t.nn:5:5: error: concat shapes [N, 2, 3] and [N, 4] do not agree (rank 2 != 1)");
}

static void test_loss_shapes(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[3]\ntarget y[3]\ntarget c : class(3)\n"
                      "loss mse(x, y) + cross_entropy(x, c)\noptimizer sgd(lr=1)\n";
    int rc = ph_lower(&t, src, 0);
    assert_string_equal(ph_diag(&t), "");
    assert_int_equal(rc, 0);
    const Node *add = &t.g.nodes[t.g.loss_train];
    assert_int_equal(add->op, OP_ADD);
    assert_string_equal(ph_shape(&t.g, t.g.loss_train), "[]");
    assert_int_equal(t.g.nodes[add->in[1]].op, OP_CE_CLASS);
    ph_free(&t);
    expect_error("network t\ninput x[3]\ntarget y[2]\nloss mse(x, y)\noptimizer sgd(lr=1)\n",
                 "t.nn:4:6: error: mse shapes [N, 3] and [N, 2] do not agree (the prediction and the "
                 "target must have the same shape)");
    expect_error("network t\ninput x[3]\ntarget c : class(3)\nloss mse(x, c)\noptimizer sgd(lr=1)\n",
                 "t.nn:4:6: error: mse needs a real-valued target, but 'c' is a class target");
}

/* ---- the verifier */

static void test_verify_accepts_pipeline_output(void **state) {
    (void)state;
    Phases t;
    int rc = ph_all(&t,
                    "network t\ninput x[2, 3]\ntarget y[2]\nparam b[3]\n"
                    "h = tanh(dense(x * b + 1, 4))\noutput p = softmax(dense(h, 2))\n"
                    "loss mse(p, y)\noptimizer adam()\n",
                    0, 2);
    assert_string_equal(ph_diag(&t), "");
    assert_int_equal(rc, 0);
    assert_int_equal(shape_verify(&t.g, 1), 0);
    ph_free(&t);
}

static void test_verify_catches_a_wrong_shape(void **state) {
    (void)state;
    Phases t;
    int rc = ph_lower(&t, "network t\ninput x[3]\nparam b[3]\noutput h = x + b\n", 0);
    assert_int_equal(rc, 0);
    assert_int_equal(shape_verify(&t.g, 0), 0);
    int h = ph_named(&t.g, "h", FN_INFER);
    t.g.nodes[h].shape.dims[0] = 4; /* corrupt it */
    assert_int_equal(shape_verify(&t.g, 0), -1);
    assert_string_equal(ph_first_error(&t), "t.nn:4:14: error: internal: shape of v2 (add) does not re-derive");
    ph_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_print),
        cmocka_unit_test(test_shape_numel_equal),
        cmocka_unit_test(test_broadcast_direct),
        cmocka_unit_test(test_broadcast_batch_rules),
        cmocka_unit_test(test_scalar_constants),
        cmocka_unit_test(test_matmul_shapes),
        cmocka_unit_test(test_matmul_errors),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_loss_shapes),
        cmocka_unit_test(test_verify_accepts_pipeline_output),
        cmocka_unit_test(test_verify_catches_a_wrong_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
