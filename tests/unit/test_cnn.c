/*
 * test_cnn.c - conv2d, maxpool2d, avgpool2d and global_avgpool through the
 * compiler's phases: lowering (parameter names, shapes, order, weight
 * flags, initializers, layer numbering with pools), shape rules (including
 * the channel mismatch that the layer itself cannot produce, driven on a
 * hand-built graph), autodiff (which gradient kernels exist), the memory
 * plan (scratch as the runtime sizes it, never overlapping a value alive
 * at its node), emitted calls and initializer fans, the IR dump and the
 * FLOP counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_runtime.h"
#include "phase_util.h"

static const char *lenet =
    "network lenet\n"
    "input x[1, 28, 28]\n"
    "target y : class(10)\n"
    "c1 = relu(conv2d(x, 16, 5, pad=2))\n"
    "p1 = maxpool2d(c1, 2)\n"
    "c2 = relu(conv2d(p1, 32, 5, pad=2))\n"
    "p2 = maxpool2d(c2, 2)\n"
    "z = dense(p2, 10)\n"
    "output p = softmax(z)\n"
    "loss cross_entropy(z, y)\n"
    "optimizer adam(lr=1e-3)\n";

/* the shape of statement `name` after lowering src, or the first error */
static const char *shape_of(const char *src, const char *name) {
    static char out[1024];
    Phases t;
    if (ph_lower(&t, src, 0) < 0) {
        snprintf(out, sizeof out, "%s", ph_first_error(&t));
    } else {
        int id = ph_named(&t.g, name, FN_INFER);
        assert_true(id >= 0);
        snprintf(out, sizeof out, "%s", ph_shape(&t.g, id));
    }
    ph_free(&t);
    return out;
}

static void test_lenet_params(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t, lenet, 0), 0);
    static const char *const names[] = {"c1.weight", "c1.bias", "c2.weight", "c2.bias", "z.weight", "z.bias"};
    static const char *const shapes[] = {"[16, 1, 5, 5]", "[16]", "[32, 16, 5, 5]", "[32]", "[1568, 10]", "[10]"};
    assert_int_equal(t.g.nparams, 6);
    for (int i = 0; i < 6; i++) {
        const Param *p = ph_param(&t.g, names[i]);
        assert_non_null(p);
        assert_string_equal(ph_shape(&t.g, p->node), shapes[i]);
        assert_int_equal(p->is_weight, i % 2 == 0);
        assert_int_equal(p->init_kind, i % 2 ? INIT_ZEROS : i < 4 ? INIT_HE_UNIFORM : INIT_XAVIER_UNIFORM);
    }
    /* the table order: statement, then weight before bias */
    for (int i = 1; i < 6; i++)
        assert_true(ph_param(&t.g, names[i - 1])->sort_key < ph_param(&t.g, names[i])->sort_key);
    assert_string_equal(ph_shape(&t.g, ph_named(&t.g, "p2", FN_INFER)), "[N, 32, 7, 7]");
    ph_free(&t);
}

/* pools are layers too: they take part in the numbering of a statement */
static void test_layer_numbering(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t,
                              "network t\ninput x[2, 6, 6]\n"
                              "h = maxpool2d(relu(conv2d(x, 4, 3, bias=false)), 2)\n"
                              "output p = flatten(h)\n",
                              1),
                     0);
    assert_int_equal(t.g.nparams, 1);
    assert_non_null(ph_param(&t.g, "h.1.weight"));
    ph_free(&t);
}

static void test_shapes(void **state) {
    (void)state;
    const char *pre = "network t\ninput x[3, 7, 6]\n";
    char src[512];
#define SHAPE(stmt, want)                                                          \
    do {                                                                          \
        snprintf(src, sizeof src, "%sh = %s\noutput p = flatten(h)\n", pre, stmt); \
        assert_string_equal(shape_of(src, "h"), want);                            \
    } while (0)
    SHAPE("conv2d(x, 4, 3)", "[N, 4, 5, 4]");
    SHAPE("conv2d(x, 4, [2, 3], stride=[2, 1], pad=[1, 0])", "[N, 4, 4, 4]");
    SHAPE("conv2d(x, 6, 7, stride=3, pad=1)", "[N, 6, 1, 1]");
    SHAPE("conv2d(x, 6, 1, groups=3)", "[N, 6, 7, 6]");
    SHAPE("maxpool2d(x, 2)", "[N, 3, 3, 3]");
    SHAPE("maxpool2d(x, 3, stride=2)", "[N, 3, 3, 2]");
    SHAPE("avgpool2d(x, [7, 1])", "[N, 3, 1, 6]");
    SHAPE("avgpool2d(x, [2, 3], stride=[1, 3])", "[N, 3, 6, 2]");
    SHAPE("global_avgpool(x)", "[N, 3]");
    SHAPE("conv2d(x, 4, 3, stride=0)", "t.nn:3:28: error: conv2d's stride must be >= 1, got 0");
#undef SHAPE
}

/* A convolution whose weight does not fit the input's channels: the layer
 * always makes a fitting weight, so the rule is driven on a graph built by
 * hand; the error names both shapes and the reason. */
static void test_channel_mismatch(void **state) {
    (void)state;
    static const struct {
        int c, wc, groups;
        const char *err;
    } cases[] = {
        {3, 2, 1, "t.nn:1:5: error: conv2d shapes [N, 3, 8, 8] with weight [4, 2, 3, 3] do not agree (the weight "
                  "takes 2 channels per group, the input has 3 channels in each of 1 group)"},
        {4, 1, 2, "t.nn:1:5: error: conv2d shapes [N, 4, 8, 8] with weight [4, 1, 3, 3] do not agree (the weight "
                  "takes 1 channel per group, the input has 2 channels in each of 2 groups)"},
        {3, 1, 2, "t.nn:1:5: error: conv2d shapes [N, 3, 8, 8] with weight [4, 1, 3, 3] do not agree (groups=2 "
                  "must divide the 3 input channels and the 4 filters)"},
        {3, 3, 1, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Phases t;
        ph_begin(&t, "h = conv2d(x, 4, 3)\n");
        int in[2];
        in[0] = ir_add(&t.g, OP_INPUT, FN_NONE, (Loc){1, 12}, 0, NULL);
        in[1] = ir_add(&t.g, OP_PARAM, FN_NONE, (Loc){1, 5}, 0, NULL);
        Shape xs = {1, 3, {cases[k].c, 8, 8, 0}}, ws = {0, 4, {4, cases[k].wc, 3, 3}};
        t.g.nodes[in[0]].shape = xs;
        t.g.nodes[in[1]].shape = ws;
        int v = ir_add(&t.g, OP_CONV2D, FN_INFER, (Loc){1, 5}, 2, in);
        Node *n = ir_node(&t.g, v);
        n->i[0] = n->i[1] = 3;
        n->i[2] = n->i[3] = 1;
        n->f[2] = cases[k].groups;
        int rc = shape_check_node(&t.g, v);
        if (cases[k].err) {
            assert_int_equal(rc, -1);
            assert_string_equal(ph_first_error(&t), cases[k].err);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(ph_shape(&t.g, v), "[N, 4, 6, 6]");
        }
        ph_free(&t);
    }
}

/* the input x needs no gradient: one input-gradient kernel (conv2's),
 * two weight-gradient kernels, one max-pool gradient per pooling */
static void test_lenet_autodiff(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_all(&t, lenet, 0, 2), 0);
    assert_int_equal(ph_count(&t.g, OP_CONV2D_GRAD_X, FN_BACKWARD), 1);
    assert_int_equal(ph_count(&t.g, OP_CONV2D_GRAD_W, FN_BACKWARD), 2);
    assert_int_equal(ph_count(&t.g, OP_MAXPOOL2D_GRAD, FN_BACKWARD), 2);
    assert_int_equal(ph_count(&t.g, OP_CONV2D, FN__COUNT), 4); /* inference and training */
    for (int i = 0; i < t.g.nparams; i++)
        assert_true(t.g.params[i].grad >= 0);
    ph_free(&t);
}

static int root_of(const Graph *g, int v) {
    while (g->nodes[v].storage == STO_ALIAS)
        v = g->nodes[v].alias;
    return v;
}

/* Every node with scratch gets what the runtime asks for, inside the arena,
 * overlapping no arena value alive at its position (its inputs and output
 * included). Returns the number of convolution nodes with scratch. */
static int check_scratch(const Graph *g) {
    int with = 0;
    for (int train = 0; train <= 1; train++) {
        int *order, count = plan_group(g, train, &order);
        int *start = malloc(sizeof(int) * (size_t)g->count), *end = malloc(sizeof(int) * (size_t)g->count);
        for (int v = 0; v < g->count; v++)
            start[v] = end[v] = -1;
        for (int i = 0; i < count; i++) {
            const Node *n = &g->nodes[order[i]];
            for (int k = 0; k < n->nin; k++)
                end[root_of(g, n->in[k])] = i;
            if (n->storage == STO_ARENA)
                start[order[i]] = end[order[i]] = i;
        }
        for (int i = 0; i < g->noutputs && !train; i++)
            end[root_of(g, g->outputs[i].node)] = count;
        for (int i = 0; i < count; i++) {
            const Node *n = &g->nodes[order[i]];
            if (n->op == OP_CONV2D || n->op == OP_CONV2D_GRAD_X || n->op == OP_CONV2D_GRAD_W)
                assert_int_equal(n->scratch, conv2d_scratch(g, n));
            if (n->scratch <= 0)
                continue;
            /* counted: the convolutions' scratch (GEMMs may have a packing workspace too) */
            with += n->op == OP_CONV2D || n->op == OP_CONV2D_GRAD_X || n->op == OP_CONV2D_GRAD_W;
            long s0 = n->scratch_offset, s1 = s0 + n->scratch;
            assert_true(s0 >= 0 && s1 <= g->arena_floats);
            for (int j = 0; j < count; j++) {
                int v = order[j];
                const Node *o = &g->nodes[v];
                if (o->storage != STO_ARENA || start[v] > i || end[v] < i)
                    continue;
                long o0 = o->offset, o1 = o0 + shape_numel(&o->shape) * (o->shape.batched ? g->max_batch : 1);
                if (s0 < o1 && o0 < s1)
                    fail_msg("scratch of v%d at %ld..%ld overlaps v%d at %ld..%ld", n->id, s0, s1, v, o0, o1);
            }
        }
        free(start);
        free(end);
    }
    return with;
}

static void test_scratch_plan(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_all(&t, lenet, 0, 2), 0);
    /* forward x2 (inference, training) x2 layers, conv2's input gradient, two weight gradients */
    assert_int_equal(check_scratch(&t.g), 7);
    ph_free(&t);
    /* a 1x1 convolution with stride 1 and no padding needs none; with stride 2 it does */
    assert_int_equal(ph_all(&t,
                            "network t\ninput x[4, 6, 6]\ntarget y[1]\n"
                            "a = conv2d(x, 8, 1)\nb = conv2d(a, 2, 1, stride=2)\n"
                            "loss mean(b * b)\noptimizer sgd(lr=0.1)\n",
                            0, 2),
                     0);
    assert_int_equal(check_scratch(&t.g), 4); /* b: forward x2 and both gradients; a: none */
    ph_free(&t);
}

typedef struct Out {
    Buf c, h;
    char *diag;
    size_t diag_len;
    int rc;
} Out;

static int compile_max_batch = 64;

static Out compile(const char *text, const char *emit) {
    Out o;
    memset(&o, 0, sizeof o);
    FILE *d = open_memstream(&o.diag, &o.diag_len);
    assert_non_null(d);
    CompileOptions co = {0};
    co.path = "t.nn";
    co.header_name = "net.h";
    co.cmdline = "nngen test";
    co.emit = emit;
    co.max_batch = compile_max_batch;
    co.opt_level = 2;
    co.verify = 1;
    co.diag = d;
    o.rc = nngen_compile(text, strlen(text), &co, &o.c, &o.h);
    fclose(d);
    return o;
}

static void out_free(Out *o) {
    buf_free(&o->c);
    buf_free(&o->h);
    free(o->diag);
}

static void assert_contains(const char *text, const char *what) {
    if (!strstr(text, what))
        fail_msg("missing: %s", what);
}

static void test_emitted_calls(void **state) {
    (void)state;
    Out o = compile(lenet, "c");
    assert_int_equal(o.rc, 0);
    assert_contains(o.c.data, "nnrt_conv2d_forward(&(const nnrt_conv2d){.c = 1, .h = 28, .w = 28, .f = 16, .kh = 5, "
                              ".kw = 5, .sh = 1, .sw = 1, .ph = 2, .pw = 2, .groups = 1, .band = 0, .chunk = 0}, n, x, "
                              "m->param.c1_weight, ");
    assert_contains(o.c.data, "nnrt_conv2d_backward_input(&(const nnrt_conv2d){.c = 16, .h = 14, .w = 14, .f = 32,");
    assert_contains(o.c.data, "nnrt_conv2d_backward_weight(&(const nnrt_conv2d){.c = 1, .h = 28,");
    assert_contains(o.c.data, "nnrt_maxpool2d_forward(&(const nnrt_pool2d){.c = 16, .h = 28, .w = 28, .kh = 2, "
                              ".kw = 2, .sh = 2, .sw = 2}, n, c1, p1);");
    assert_contains(o.c.data, "nnrt_maxpool2d_backward(&(const nnrt_pool2d){.c = 32, .h = 14,");
    /* he_uniform with PyTorch's fans: fan_in = C/groups * kh * kw */
    assert_contains(o.c.data, "nnrt_init_he_uniform(&rng, m->param.c1_weight, 400, 25);");
    assert_contains(o.c.data, "nnrt_init_he_uniform(&rng, m->param.c2_weight, 12800, 400);");
    out_free(&o);
    o = compile("network t\ninput x[4, 6, 6]\na = conv2d(x, 8, 1, groups=2)\nb = avgpool2d(a, [3, 2])\n"
                "output p = global_avgpool(b)\n",
                "c");
    assert_int_equal(o.rc, 0);
    assert_contains(o.c.data, ".groups = 2, .band = 0, .chunk = 0}, n, x, m->param.a_weight, ");
    assert_contains(o.c.data, ", NULL);"); /* no scratch */
    assert_contains(o.c.data, "nnrt_avgpool2d_forward(&(const nnrt_pool2d){.c = 8, .h = 6, .w = 6, .kh = 3, .kw = 2, "
                              ".sh = 3, .sw = 2}, n, ");
    out_free(&o);
    /* at one sample per call the runtime blocks the unfolding, and the
     * calls carry the blocks nnrt_conv2d_block picked */
    compile_max_batch = 1;
    o = compile(lenet, "c");
    compile_max_batch = 64;
    assert_int_equal(o.rc, 0);
    assert_contains(o.c.data, ".groups = 1, .band = 112, .chunk = 25}, n, x, m->param.c1_weight, ");
    assert_contains(o.c.data, "nnrt_conv2d_backward_weight(&(const nnrt_conv2d){.c = 16, .h = 14, .w = 14, .f = 32, "
                              ".kh = 5, .kw = 5, .sh = 1, .sw = 1, .ph = 2, .pw = 2, .groups = 1, .band = 104, "
                              ".chunk = 32}");
    out_free(&o);
}

static void test_ir_dump(void **state) {
    (void)state;
    Out o = compile("network t\ninput x[2, 9, 9]\ntarget y[1]\n"
                    "a = conv2d(x, 4, [3, 2], stride=2, pad=[1, 0], groups=2)\n"
                    "b = maxpool2d(a, 2)\nc = avgpool2d(b, 1)\nloss mean(c * c)\noptimizer sgd(lr=0.1)\n",
                    "ir");
    assert_int_equal(o.rc, 0);
    assert_contains(o.c.data, "kernel=3x2 stride=2,2 pad=1,0 groups=2");
    assert_contains(o.c.data, "= conv2d_grad_w ");
    assert_contains(o.c.data, "= maxpool2d_grad ");
    assert_contains(o.c.data, "= avgpool2d_grad ");
    assert_contains(o.c.data, "kernel=2x2 stride=2,2");
    out_free(&o);
}

/* 2 N F OH OW (C/G) KH KW for each convolution pass; one operation per
 * window element for pooling */
static void test_flops(void **state) {
    (void)state;
    const double c1 = 2.0 * 3 * 16 * 28 * 28 * (1 * 5 * 5), c2 = 2.0 * 3 * 32 * 14 * 14 * (16 * 5 * 5);
    Phases t;
    assert_int_equal(ph_all(&t, lenet, 0, 2), 0);
    int found = 0;
    for (int v = 0; v < t.g.count; v++) {
        const Node *n = &t.g.nodes[v];
        const Shape *x = &t.g.nodes[n->in[0]].shape;
        double want;
        if (n->dead)
            continue;
        switch (n->op) {
        case OP_CONV2D: want = x->dims[0] == 1 ? c1 : c2; break;
        case OP_CONV2D_GRAD_X: want = c2; break;
        case OP_CONV2D_GRAD_W: want = n->shape.dims[1] == 1 ? c1 : c2; break;
        case OP_MAXPOOL2D: want = 3.0 * x->dims[0] * (x->dims[1] / 2) * (x->dims[2] / 2) * 4; break;
        default: continue;
        }
        if (op_flops(&t.g, n, 3) != want)
            fail_msg("v%d (%s): %g FLOPs, want %g", v, op_info(n->op)->name, op_flops(&t.g, n, 3), want);
        found++;
    }
    assert_int_equal(found, 4 + 1 + 2 + 4);
    ph_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet_params),   cmocka_unit_test(test_layer_numbering),
        cmocka_unit_test(test_shapes),         cmocka_unit_test(test_channel_mismatch),
        cmocka_unit_test(test_lenet_autodiff), cmocka_unit_test(test_scratch_plan),
        cmocka_unit_test(test_emitted_calls),  cmocka_unit_test(test_ir_dump),
        cmocka_unit_test(test_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
