/*
 * test_passes.c - the pass manager and each pass by its effect:
 *
 *   pass table   order, required flags, pass_find, --dump-after, -O0
 *   dce          "after dce, N nodes remain" for graphs with unused branches
 *   fold         `loss 2 * 3 * mse(p, y)` leaves one constant, 6
 *   simplify     "after simplify, 4 nodes remain" of a chain of identities;
 *                x + 0 and x * 0 stay; l2's broadcast constant folds
 *   cse          "after cse, 6 nodes remain" per function; gradients apart
 *   fuse         mnist's GEMM epilogues; group shapes, shared values, -O0;
 *                the limits on members and operands, which the emitter holds to
 *   in place     an elementwise root writes over its dying operand at -O2
 *   plan         storage classes (and the refs the emitter names them by);
 *                no two arena values whose
 *                lifetimes overlap share memory (an independent checker
 *                recomputes lifetimes from the schedule), on a hand-computed
 *                graph and on every example and gradcheck case; the arena
 *                is smaller than the sum of its values for mnist_mlp.nn
 */
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "phase_util.h"

static void all_ok(Phases *t, const char *src, int infer_only, int opt_level) {
    int rc = ph_all(t, src, infer_only, opt_level);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
}

/* live nodes of any kind (leaves included) */
static int live_nodes(const Graph *g) {
    return ph_count(g, OP__COUNT, FN__COUNT);
}

/* ---- the pass table */

static void test_pass_table(void **state) {
    (void)state;
    const char *names[] = {"dce", "fold", "simplify", "cse", "dce-late", "fuse", "plan"};
    const int required[] = {1, 0, 0, 0, 0, 0, 1};
    assert_int_equal(pass_count, 7);
    for (int i = 0; i < pass_count; i++) {
        assert_string_equal(pass_table[i].name, names[i]);
        assert_int_equal(pass_table[i].required, required[i]);
        assert_non_null(pass_table[i].why);
        assert_ptr_equal(pass_find(names[i]), &pass_table[i]);
    }
    assert_null(pass_find("nope"));
    assert_null(pass_find("all"));
}

static void test_dump_after(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t, "network t\ninput x[3]\noutput p = relu(x)\nq = exp(x)\n", 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    char *dump = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dump, &len);
    PassOptions po = {"dce", 1, 2, f};
    assert_int_equal(pass_run_all(&t.g, &po), 0);
    fclose(f);
    assert_string_equal(dump,
                        "# after dce\n"
                        "# network t: 3 nodes\n"
                        "v0 = input \"x\"  [N, 3]  t.nn:2:7  ; x\n"
                        "v1 = relu v0  [N, 3]  infer  t.nn:3:12  ; p\n");
    free(dump);
    ph_free(&t);
}

/* ---- dce */

static void test_dce_inference_branch(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\n"
                      "input x[3]\n"
                      "param W[3, 2]\n"
                      "h = relu(x @ W)\n"
                      "unused = exp(x) * 2 + tanh(x)\n"
                      "output p = h\n";
    assert_int_equal(ph_lower(&t, src, 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    /* x W matmul relu exp 2 mul tanh add */
    assert_int_equal(t.g.count, 9);
    assert_int_equal(live_nodes(&t.g), 9);
    assert_int_equal(pass_dce(&t.g), 0);
    /* after dce, 5 nodes remain: x, W, 2 (leaves stay), matmul, relu */
    assert_int_equal(live_nodes(&t.g), 5);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 2);
    assert_int_equal(ph_named(&t.g, "unused", FN_INFER), -1);
    assert_true(t.g.nodes[ph_named(&t.g, "h", FN_INFER)].op == OP_RELU);
    ph_free(&t);
}

static void test_dce_training_graph(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\n"
                      "input x[3]\n"
                      "target y[2]\n"
                      "param W[3, 2]\n"
                      "param U[3, 2]\n"
                      "h = relu(x @ W)\n"
                      "side = tanh(x @ U)\n"
                      "output p = h\n"
                      "loss mse(h, y)\n"
                      "optimizer sgd(lr=0.1)\n";
    assert_int_equal(ph_lower(&t, src, 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    /* 4 leaves, 5 infer, 5 train, the seed 1, 3 backward, 1 update */
    assert_int_equal(t.g.count, 19);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_BACKWARD), 3);
    assert_int_equal(ph_param(&t.g, "U")->grad, -1);
    assert_int_equal(pass_dce(&t.g), 0);
    /* after dce, 15 nodes remain: side's matmul and tanh go in both modes */
    assert_int_equal(live_nodes(&t.g), 15);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 3);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_TRAIN), 3);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_BACKWARD), 3);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_UPDATE), 1);
    assert_int_equal(ph_count(&t.g, OP_TANH, FN__COUNT), 0);
    ph_free(&t);
}

/* dce keeps what the API exposes: an output nobody else reads stays */
static void test_dce_keeps_roots(void **state) {
    (void)state;
    Phases t;
    all_ok(&t,
           "network t\ninput x[3]\ntarget y[3]\nparam W[3]\n"
           "output a = exp(x)\noutput b = x * W\nloss mse(b, y)\noptimizer sgd(lr=1)\n",
           0, 2);
    assert_int_equal(t.g.nodes[t.g.outputs[0].node].op, OP_EXP);
    assert_false(t.g.nodes[t.g.outputs[0].node].dead);
    assert_false(t.g.nodes[t.g.loss_infer].dead);
    assert_false(t.g.nodes[ph_param(&t.g, "W")->grad].dead);
    assert_int_equal(ph_count(&t.g, OP_SGD_UPDATE, FN_UPDATE), 1);
    ph_free(&t);
}

/* ---- fold */

static const char *const fold_src = "network t\n"
                                    "input x[2]\n"
                                    "target y[2]\n"
                                    "param W[2, 2]\n"
                                    "output p = x @ W\n"
                                    "loss 2 * 3 * mse(p, y)\n"
                                    "optimizer sgd(lr=0.1)\n";

/* the constants live nodes read, over the whole graph */
static int consts_read(const Graph *g, double value) {
    int c = 0;
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead || (op_info(n->op)->flags & OPF_LEAF))
            continue;
        for (int k = 0; k < n->nin; k++)
            c += g->nodes[n->in[k]].op == OP_CONST && g->nodes[n->in[k]].f[0] == value;
    }
    return c;
}

static void test_fold_scalar_factors(void **state) {
    (void)state;
    Phases t;
    all_ok(&t, fold_src, 0, 2);
    const Graph *g = &t.g;
    /* loss = 6 * mse: one constant left in each mode */
    for (int m = 0; m < 2; m++) {
        const Node *loss = &g->nodes[m ? g->loss_train : g->loss_infer];
        assert_int_equal(loss->op, OP_MUL);
        assert_int_equal(g->nodes[loss->in[0]].op, OP_CONST);
        assert_true(g->nodes[loss->in[0]].f[0] == 6.0);
        assert_int_equal(g->nodes[loss->in[1]].op, OP_MSE);
    }
    /* the derivative: d loss / d mse = 1 * 6, folded too */
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && g->nodes[v].op == OP_MSE_GRAD) {
            const Node *c = &g->nodes[g->nodes[v].in[2]];
            assert_int_equal(c->op, OP_CONST);
            assert_true(c->f[0] == 6.0);
        }
    assert_int_equal(consts_read(g, 2.0), 0);
    assert_int_equal(consts_read(g, 3.0), 0);
    assert_int_equal(consts_read(g, 1.0), 0);
    assert_int_equal(consts_read(g, 6.0), 3);
    /* after fold: infer = matmul, mse, mul; train the same; backward =
     * mse_grad, dW; one update */
    assert_int_equal(ph_count(g, OP__COUNT, FN_INFER), 3);
    assert_int_equal(ph_count(g, OP__COUNT, FN_TRAIN), 3);
    assert_int_equal(ph_count(g, OP__COUNT, FN_BACKWARD), 2);
    assert_int_equal(ph_count(g, OP__COUNT, FN_UPDATE), 1);
    ph_free(&t);
}

static void test_no_fold_at_O0(void **state) {
    (void)state;
    Phases t;
    all_ok(&t, fold_src, 0, 0);
    const Graph *g = &t.g;
    const Node *loss = &g->nodes[g->loss_infer];
    assert_int_equal(loss->op, OP_MUL);
    const Node *k = &g->nodes[loss->in[0]];
    assert_int_equal(k->op, OP_MUL); /* 2 * 3, computed at run time */
    assert_int_equal(consts_read(g, 2.0), 2);
    assert_int_equal(consts_read(g, 3.0), 2);
    assert_int_equal(ph_count(g, OP__COUNT, FN_INFER), 4);
    assert_int_equal(ph_count(g, OP__COUNT, FN_BACKWARD), 3);
    ph_free(&t);
}

/* sqrt of a constant folds to sqrtf's value; sqrt(-1) (NaN) stays */
static void test_fold_sqrt(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t, "network t\ninput x[2]\nk = sqrt(2)\nj = sqrt(0 - 1)\noutput p = x * k + j\n", 0), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    assert_int_equal(pass_fold(&t.g), 0);
    int k = ph_named(&t.g, "k", FN_INFER);
    assert_int_equal(k, -1); /* a constant now: no function */
    const Node *p = &t.g.nodes[t.g.outputs[0].node];
    const Node *mul = &t.g.nodes[p->in[0]];
    assert_int_equal(t.g.nodes[mul->in[1]].op, OP_CONST);
    assert_true((float)t.g.nodes[mul->in[1]].f[0] == sqrtf(2.0f));
    assert_int_equal(t.g.nodes[p->in[1]].op, OP_SQRT);
    ph_free(&t);
}

/* fold leaves batched arithmetic and non-finite results alone */
static void test_fold_limits(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t, "network t\ninput x[2]\nk = 1 / 0\noutput p = x * 2 + k - (4 - 1)\n", 0), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    assert_int_equal(pass_fold(&t.g), 0);
    const Graph *g = &t.g;
    int k = ph_named(g, "k", FN_INFER);
    assert_int_equal(g->nodes[k].op, OP_DIV); /* 1/0 is not finite: kept */
    int p = ph_named(g, "p", FN_INFER);
    assert_int_equal(g->nodes[p].op, OP_SUB);
    assert_int_equal(g->nodes[g->nodes[p].in[1]].op, OP_CONST);
    assert_true(g->nodes[g->nodes[p].in[1]].f[0] == 3.0);
    assert_int_equal(g->nodes[g->nodes[p].in[0]].op, OP_ADD);
    assert_int_equal(ph_count(g, OP_MUL, FN_INFER), 1); /* x * 2 stays */
    ph_free(&t);
}

/* ---- plan */

static int root_of(const Graph *g, int v) {
    while (g->nodes[v].storage == STO_ALIAS)
        v = g->nodes[v].alias;
    return v;
}

static long value_floats(const Graph *g, int v) {
    const Shape *s = &g->nodes[v].shape;
    return shape_numel(s) * (s->batched ? g->max_batch : 1);
}

/* the node whose code computes v (fuse.c), recomputed here */
static int top_of(const Graph *g, int v) {
    while (g->nodes[v].fuse >= 0)
        v = g->nodes[v].fuse;
    return v;
}

/* b (an elementwise node or group root) may write over a, which dies at b:
 * every read of a's storage in b's group is at b's own shape */
static int inplace_ok(const Graph *g, int a, int b) {
    int reads = 0;
    if (!(op_info(g->nodes[b].op)->flags & OPF_ELEMENTWISE) || g->nodes[b].offset != g->nodes[a].offset)
        return 0;
    for (int v = 0; v <= b; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead || (v != b && top_of(g, v) != b))
            continue;
        for (int k = 0; k < n->nin; k++) {
            if (root_of(g, n->in[k]) != a)
                continue;
            if (!shape_equal(&g->nodes[n->in[k]].shape, &g->nodes[b].shape))
                return 0;
            reads++;
        }
    }
    return reads > 0;
}

/* Recomputes every arena value's lifetime in each group's schedule (from
 * its definition to its last reader, a view's readers counting for its
 * storage, a fused node's reads happening where its group is emitted;
 * outputs and losses to the end) and asserts that values alive at the same
 * time do not share a float, except an in-place write over a value that
 * dies there. Returns the sum of all arena values' sizes over both groups. */
static long check_plan(const Graph *g) {
    long total = 0;
    int *start = malloc(sizeof(int) * (size_t)g->count), *end = malloc(sizeof(int) * (size_t)g->count);
    assert_non_null(start);
    assert_non_null(end);
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (n->dead)
            continue;
        assert_int_not_equal(n->storage, STO_UNPLANNED);
        if (n->storage == STO_ARENA) {
            assert_int_equal(n->offset % 16, 0);
            assert_true(n->offset >= 0);
            assert_true(n->offset + value_floats(g, v) <= g->arena_floats);
            assert_non_null(ph_ref(g, v));
        }
    }
    for (int train = 0; train <= 1; train++) {
        int *order;
        int count = plan_group(g, train, &order);
        int *pos = malloc(sizeof(int) * (size_t)g->count);
        assert_non_null(pos);
        for (int v = 0; v < g->count; v++)
            start[v] = end[v] = pos[v] = -1;
        for (int i = 0; i < count; i++)
            pos[order[i]] = i;
        for (int i = 0; i < count; i++) {
            const Node *n = &g->nodes[order[i]];
            int at = pos[top_of(g, order[i])];
            assert_true(at >= 0);
            for (int k = 0; k < n->nin; k++) {
                int r = root_of(g, n->in[k]);
                if (g->nodes[r].storage != STO_ARENA)
                    continue;
                assert_true(start[r] >= 0 && start[r] <= at); /* defined before it is read */
                if (at > end[r])
                    end[r] = at;
            }
            if (n->storage == STO_ARENA)
                start[order[i]] = end[order[i]] = at;
        }
        free(pos);
        for (int i = 0; i < g->noutputs && !train; i++)
            end[root_of(g, g->outputs[i].node)] = count;
        int loss = train ? g->loss_train : g->loss_infer;
        if (loss >= 0 && g->nodes[root_of(g, loss)].storage == STO_ARENA)
            end[root_of(g, loss)] = count;
        for (int i = 0; i < count; i++) {
            int a = order[i];
            if (g->nodes[a].storage != STO_ARENA)
                continue;
            total += value_floats(g, a);
            long a0 = g->nodes[a].offset, a1 = a0 + value_floats(g, a);
            for (int j = i + 1; j < count; j++) {
                int b = order[j];
                if (g->nodes[b].storage != STO_ARENA)
                    continue;
                if (start[b] > end[a] || start[a] > end[b])
                    continue; /* never alive together */
                long b0 = g->nodes[b].offset, b1 = b0 + value_floats(g, b);
                if (end[a] == start[b] && inplace_ok(g, a, b))
                    continue;
                if (end[b] == start[a] && inplace_ok(g, b, a))
                    continue;
                if (a0 < b1 && b0 < a1)
                    fail_msg("v%d [%d, %d] at %ld..%ld and v%d [%d, %d] at %ld..%ld share memory", a, start[a],
                             end[a], a0, a1, b, start[b], end[b], b0, b1);
            }
        }
    }
    free(start);
    free(end);
    return total;
}

static void test_plan_storage_classes(void **state) {
    (void)state;
    Phases t;
    all_ok(&t,
           "network t\ninput x[2, 3]\ntarget y[2]\nparam W[6, 2]\n"
           "f = flatten(x)\noutput p = f @ W\nloss 0.5 * mse(p, y)\noptimizer sgd(lr=0.1)\n",
           0, 2);
    const Graph *g = &t.g;
    const Param *w = ph_param(g, "W");
    assert_int_equal(g->nodes[w->node].storage, STO_MEMBER);
    assert_string_equal(ph_ref(g, w->node), "m->param.W");
    assert_int_equal(g->nodes[w->grad].storage, STO_MEMBER);
    assert_string_equal(ph_ref(g, w->grad), "m->grad.W");
    assert_int_equal(g->nodes[g->ports[0].node].storage, STO_ARG);
    assert_string_equal(ph_ref(g, g->ports[0].node), "x");
    int f = ph_named(g, "f", FN_INFER);
    assert_int_equal(g->nodes[f].op, OP_RESHAPE);
    assert_int_equal(g->nodes[f].storage, STO_ALIAS);
    assert_int_equal(g->nodes[f].alias, g->ports[0].node);
    assert_string_equal(ph_ref(g, f), "x");
    int p = ph_named(g, "p", FN_INFER);
    assert_int_equal(g->nodes[p].storage, STO_ARENA);
    assert_string_equal(ph_ref(g, p), "p_"); /* p is a kernel local */
    assert_int_equal(g->nodes[g->nodes[g->loss_infer].in[0]].storage, STO_CONST);
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && g->nodes[v].op == OP_SGD_UPDATE)
            assert_int_equal(g->nodes[v].storage, STO_NONE);
    check_plan(g);
    ph_free(&t);
}

/* a chain of four [N, 4] values: at -O0 two slots, reused alternately; at
 * -O2 relu, tanh and exp are the matmul's epilogue, written over its
 * output: one slot */
static void test_plan_exact_layout(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[4]\nparam W[4, 4]\na = relu(x @ W)\nb = tanh(a)\nc = exp(b)\n"
                      "output p = c\n";
    all_ok(&t, src, 0, 2);
    {
        const Graph *g = &t.g;
        int a = ph_named(g, "a", FN_INFER), c = ph_named(g, "c", FN_INFER);
        int mm = g->nodes[a].in[0];
        assert_int_equal(g->nodes[mm].epilogue, c);
        assert_int_equal(g->nodes[c].storage, STO_ALIAS);
        assert_int_equal(g->nodes[c].alias, mm);
        assert_int_equal(g->nodes[a].storage, STO_FUSED);
        assert_int_equal(g->nodes[ph_named(g, "b", FN_INFER)].storage, STO_FUSED);
        assert_int_equal(g->nodes[mm].offset, 0);
        assert_int_equal(g->arena_floats, 256);
        check_plan(g);
        ph_free(&t);
    }
    all_ok(&t, src, 0, 0);
    const Graph *g = &t.g;
    int mm = g->nodes[ph_named(g, "a", FN_INFER)].in[0];
    assert_int_equal(g->nodes[mm].offset, 0);
    assert_int_equal(g->nodes[ph_named(g, "a", FN_INFER)].offset, 256);
    assert_int_equal(g->nodes[ph_named(g, "b", FN_INFER)].offset, 0);
    assert_int_equal(g->nodes[ph_named(g, "c", FN_INFER)].offset, 256);
    assert_int_equal(g->arena_floats, 512);
    assert_int_equal(check_plan(g), 1024);
    ph_free(&t);
}

/* --max-batch scales every batched slot */
static void test_plan_max_batch(void **state) {
    (void)state;
    Phases t;
    assert_int_equal(ph_lower(&t, "network t\ninput x[4]\nparam W[4, 3]\noutput p = x @ W\n", 0), 0);
    t.g.max_batch = 5;
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(ph_passes(&t, 2, 1), 0);
    assert_int_equal(t.g.arena_floats, 16); /* 5 * 3 = 15 floats, 16-aligned */
    check_plan(&t.g);
    ph_free(&t);
}

static long max_scratch; /* of the last check_file at -O2 */

static void check_file(const char *path, long *arena, long *total) {
    char *text = ph_read_file(path);
    assert_non_null(text);
    Phases t;
    int rc = ph_all(&t, text, 0, 2);
    if (rc != 0)
        fail_msg("%s: %s", path, ph_diag(&t));
    long sum = check_plan(&t.g);
    max_scratch = 0;
    for (int v = 0; v < t.g.count; v++)
        if (!t.g.nodes[v].dead && t.g.nodes[v].scratch > max_scratch)
            max_scratch = t.g.nodes[v].scratch;
    if (arena)
        *arena = t.g.arena_floats;
    if (total)
        *total = sum;
    ph_free(&t);
    /* and at -O0, and inference only */
    rc = ph_all(&t, text, 0, 0);
    assert_int_equal(rc, 0);
    check_plan(&t.g);
    ph_free(&t);
    rc = ph_all(&t, text, 1, 2);
    assert_int_equal(rc, 0);
    check_plan(&t.g);
    ph_free(&t);
    free(text);
}

static int check_glob(const char *pattern) {
    glob_t gl;
    assert_int_equal(glob(pattern, 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++)
        check_file(gl.gl_pathv[i], NULL, NULL);
    int n = (int)gl.gl_pathc;
    globfree(&gl);
    return n;
}

static void test_plan_examples(void **state) {
    (void)state;
    assert_true(check_glob(NN_SOURCE_DIR "/examples/*.nn") >= 4);
}

static void test_plan_gradcheck_cases(void **state) {
    (void)state;
    assert_true(check_glob(NN_SOURCE_DIR "/tests/gradcheck/cases/*.nn") >= 20);
}

static void test_plan_mnist_arena_reuses_memory(void **state) {
    (void)state;
    long arena = 0, total = 0;
    check_file(NN_SOURCE_DIR "/examples/mnist_mlp.nn", &arena, &total);
    assert_true(arena > 0);
    assert_true(arena < total + max_scratch);
    /* -O2 (fusion, in place) stores fewer values than -O0 and needs no
     * more arena (the first GEMM's workspace sets the peak in both) */
    char *text = ph_read_file(NN_SOURCE_DIR "/examples/mnist_mlp.nn");
    Phases t;
    assert_int_equal(ph_all(&t, text, 0, 0), 0);
    assert_true(arena <= t.g.arena_floats);
    assert_true(total < check_plan(&t.g));
    ph_free(&t);
    free(text);
    /* the training group alone holds five [64, 128] values, and the
     * widest moment needs two of them at once (plus a GEMM's workspace) */
    assert_true(arena >= 2 * 64 * 128);
    assert_true(max_scratch > 0);
    assert_true(arena < 5 * 64 * 128 + max_scratch);
}

/* ---- simplify */

/* identities go, x + 0 (not exact for x = -0) and x * 0 stay */
static void test_simplify_identities(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[2, 3]\n"
                      "a = x * 1\nb = 1 * a / 1\nc = b - 0\nd = -(-c)\ne = transpose(transpose(d))\n"
                      "f = reshape(reshape(e, [3, 2]), [6])\ng = f * -1\n"
                      "output p = g + 0\noutput q = x * 0\n";
    assert_int_equal(ph_lower(&t, src, 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    assert_int_equal(pass_fold(&t.g), 0); /* -1 is neg(1) until folded */
    /* mul mul div sub neg neg transpose transpose reshape reshape mul add mul */
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 13);
    assert_int_equal(pass_simplify(&t.g), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    /* after simplify, 4 nodes remain: reshape (of x, to [6]), neg, add, mul */
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 4);
    const Node *p = &t.g.nodes[t.g.outputs[0].node];
    assert_int_equal(p->op, OP_ADD);
    const Node *g = &t.g.nodes[p->in[0]];
    assert_int_equal(g->op, OP_NEG);
    const Node *f = &t.g.nodes[g->in[0]];
    assert_int_equal(f->op, OP_RESHAPE);
    assert_int_equal(f->in[0], t.g.ports[0].node);
    assert_int_equal(t.g.nodes[t.g.outputs[1].node].op, OP_MUL);
    ph_free(&t);
}

/* the l2 term's gradient broadcasts a constant: it becomes the constant */
static void test_simplify_broadcast_constant(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[3]\ntarget y[2]\nparam W[3, 2]\noutput p = x @ W\n"
                      "loss mse(p, y)\nregularize l2(0.5, W)\noptimizer sgd(lr=0.1)\n";
    assert_int_equal(ph_lower(&t, src, 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    assert_int_equal(pass_fold(&t.g), 0);
    assert_true(ph_count(&t.g, OP_BROADCAST, FN_BACKWARD) >= 1);
    assert_int_equal(pass_simplify(&t.g), 0);
    assert_int_equal(ph_count(&t.g, OP_BROADCAST, FN_BACKWARD), 0);
    for (int v = 0; v < t.g.count; v++)
        if (!t.g.nodes[v].dead && t.g.nodes[v].op == OP_POWC_GRAD)
            assert_int_equal(t.g.nodes[t.g.nodes[v].in[1]].op, OP_CONST);
    ph_free(&t);
}

/* ---- cse */

static void test_cse_merges_within_a_function(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[3]\ntarget y[3]\nparam W[3]\n"
                      "a = exp(x * W) + exp(W * x)\noutput p = tanh(a) * tanh(a)\n"
                      "loss mse(p, y)\noptimizer sgd(lr=0.1)\n";
    assert_int_equal(ph_lower(&t, src, 0), 0);
    assert_int_equal(ph_autodiff(&t), 0);
    assert_int_equal(pass_dce(&t.g), 0);
    /* mul mul exp exp add tanh tanh mul mse, in each forward function */
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 9);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_TRAIN), 9);
    int backward = ph_count(&t.g, OP__COUNT, FN_BACKWARD);
    assert_int_equal(pass_cse(&t.g), 0);
    /* after cse, 6 nodes remain in each: x * W = W * x, one exp, one tanh */
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_INFER), 6);
    assert_int_equal(ph_count(&t.g, OP__COUNT, FN_TRAIN), 6);
    /* the two functions keep their own copies */
    assert_int_equal(ph_count(&t.g, OP_TANH, FN__COUNT), 2);
    assert_true(ph_count(&t.g, OP__COUNT, FN_BACKWARD) < backward);
    ph_free(&t);
}

/* two parameters whose gradients are the same expression keep two nodes
 * (each owns its m->grad member) */
static void test_cse_keeps_gradients_apart(void **state) {
    (void)state;
    Phases t;
    all_ok(&t,
           "network t\ninput x[3]\ntarget y[3]\nparam U[3]\nparam V[3]\n"
           "output p = x * U + x * V\nloss mse(p, y)\noptimizer sgd(lr=0.1)\n",
           0, 2);
    int gu = ph_param(&t.g, "U")->grad, gv = ph_param(&t.g, "V")->grad;
    assert_int_not_equal(gu, gv);
    assert_false(t.g.nodes[gu].dead);
    assert_false(t.g.nodes[gv].dead);
    assert_string_equal(ph_ref(&t.g, gu), "m->grad.U");
    assert_string_equal(ph_ref(&t.g, gv), "m->grad.V");
    ph_free(&t);
}

/* ---- fuse */

/* mnist_mlp: bias + relu is the first GEMM's epilogue, the bias of the
 * second its own; in backward relu's derivative is the d_h GEMM's */
static void test_fuse_mnist_epilogues(void **state) {
    (void)state;
    char *text = ph_read_file(NN_SOURCE_DIR "/examples/mnist_mlp.nn");
    Phases t;
    all_ok(&t, text, 0, 2);
    const Graph *g = &t.g;
    int epilogues[FN__COUNT] = {0};
    for (int v = 0; v < g->count; v++)
        if (!g->nodes[v].dead && g->nodes[v].epilogue >= 0) {
            const Node *k = &g->nodes[v], *r = &g->nodes[k->epilogue];
            assert_int_equal(k->op, OP_MATMUL);
            assert_int_equal(r->fuse, v);
            assert_int_equal(r->storage, STO_ALIAS);
            epilogues[k->func]++;
        }
    assert_int_equal(epilogues[FN_INFER], 2);
    assert_int_equal(epilogues[FN_TRAIN], 2);
    assert_int_equal(epilogues[FN_BACKWARD], 1);
    int h = ph_named(g, "h", FN_TRAIN);
    assert_int_equal(g->nodes[h].op, OP_RELU);
    assert_int_equal(g->nodes[g->nodes[h].in[0]].storage, STO_FUSED); /* the bias add */
    ph_free(&t);
    free(text);
}

/* a chain fuses into one loop; a smaller operand (broadcast) is read, not
 * fused (it would be recomputed per element), and a value read twice
 * outside the group is stored */
static void test_fuse_elementwise_groups(void **state) {
    (void)state;
    Phases t;
    all_ok(&t,
           "network t\ninput x[4]\nparam b[4]\nc = exp(b) * 2\nu = sqrt(abs(x))\n"
           "output p = tanh(u + c) * 3\noutput q = u\n",
           0, 2);
    const Graph *g = &t.g;
    int p = g->outputs[0].node, u = g->outputs[1].node;
    int root = fuse_top(g, p);
    assert_int_equal(root, p);
    int members = 0;
    for (int v = 0; v < g->count; v++)
        members += !g->nodes[v].dead && g->nodes[v].fuse == p;
    assert_int_equal(members, 2); /* add, tanh; mul by 3 is the root */
    assert_int_equal(g->nodes[u].fuse, -1);   /* read by p's group and by the caller */
    int c = ph_named(g, "c", FN_INFER);
    assert_int_equal(g->nodes[c].fuse, -1);   /* [4] against [N, 4] */
    assert_int_equal(g->nodes[c].storage, STO_ARENA);
    ph_free(&t);
    /* -O0: no fusion */
    all_ok(&t, "network t\ninput x[4]\noutput p = tanh(x + 1) * 3\n", 0, 0);
    for (int v = 0; v < t.g.count; v++)
        assert_int_equal(t.g.nodes[v].fuse, -1);
    ph_free(&t);
}

/* the operands a group reads from outside it (constants included), as fuse.c counts them */
static int group_operands(const Graph *g, int root) {
    int seen[64], n = 0;
    for (int v = 0; v <= root; v++) {
        const Node *m = &g->nodes[v];
        if (m->dead || (v != root && m->fuse != root))
            continue;
        for (int k = 0; k < m->nin; k++) {
            int x = m->in[k], dup = x == root || g->nodes[x].fuse == root;
            for (int j = 0; j < n && !dup; j++)
                dup = seen[j] == x;
            if (!dup && n < 64)
                seen[n++] = x;
        }
    }
    return n;
}

/* A chain of 40 elementwise ops splits into groups of at most
 * FUSE_MAX_MEMBERS; a sum of 16 parameters into groups reading at most
 * FUSE_MAX_OPERANDS outside values; and both emit (the emitter stops on a
 * group beyond the limits) */
static void test_fuse_limits(void **state) {
    (void)state;
    Buf src = {0};
    buf_puts(&src, "network t\ninput x[4]\n");
    for (int i = 0; i < 16; i++)
        buf_printf(&src, "param a%d[4]\n", i);
    buf_puts(&src, "output p = ");
    for (int i = 0; i < 40; i++)
        buf_puts(&src, "tanh(");
    buf_puts(&src, "x");
    for (int i = 0; i < 40; i++)
        buf_puts(&src, ")");
    buf_puts(&src, "\noutput q = x");
    for (int i = 0; i < 16; i++)
        buf_printf(&src, " * a%d", i);
    buf_puts(&src, "\n");
    Phases t;
    all_ok(&t, src.data, 0, 2);
    const Graph *g = &t.g;
    int largest = 0, groups = 0;
    for (int r = 0; r < g->count; r++) {
        const Node *n = &g->nodes[r];
        if (n->dead || n->fuse >= 0 || !(op_info(n->op)->flags & OPF_ELEMENTWISE))
            continue;
        int members = 1;
        for (int v = 0; v < r; v++)
            members += !g->nodes[v].dead && g->nodes[v].fuse == r;
        assert_true(members <= FUSE_MAX_MEMBERS);
        assert_true(group_operands(g, r) <= FUSE_MAX_OPERANDS);
        largest = members > largest ? members : largest;
        groups++;
    }
    assert_int_equal(largest, FUSE_MAX_MEMBERS); /* the chain filled one group */
    assert_true(groups >= 4); /* p's chain in two, q's product in two at least */
    ph_free(&t);
    CompileOptions co = {.path = "t.nn", .opt_level = 2, .diag = stderr};
    Buf c = {0}, h = {0};
    assert_int_equal(nngen_compile(src.data, src.len, &co, &c, &h), 0);
    buf_free(&c);
    buf_free(&h);
    buf_free(&src);
}

/* ---- in place */

/* exp(s) * 2 reads softmax's s, which dies there: at -O2 p takes s's slot;
 * at -O0 exp(s) needs a third slot while s and q are alive */
static void test_plan_in_place(void **state) {
    (void)state;
    Phases t;
    const char *src = "network t\ninput x[8]\nparam W[8, 8]\noutput q = x @ W\ns = softmax(q)\n"
                      "output p = exp(s) * 2\n";
    all_ok(&t, src, 0, 2);
    int s = ph_named(&t.g, "s", FN_INFER), p = t.g.outputs[1].node;
    assert_int_equal(t.g.nodes[s].storage, STO_ARENA);
    assert_int_equal(t.g.nodes[p].storage, STO_ARENA);
    assert_int_equal(t.g.nodes[p].offset, t.g.nodes[s].offset);
    long o2 = t.g.arena_floats;
    check_plan(&t.g);
    ph_free(&t);
    all_ok(&t, src, 0, 0);
    assert_int_equal(o2, 2 * 8 * 64);
    assert_int_equal(t.g.arena_floats, 3 * 8 * 64);
    check_plan(&t.g);
    ph_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_table),
        cmocka_unit_test(test_dump_after),
        cmocka_unit_test(test_dce_inference_branch),
        cmocka_unit_test(test_dce_training_graph),
        cmocka_unit_test(test_dce_keeps_roots),
        cmocka_unit_test(test_fold_scalar_factors),
        cmocka_unit_test(test_no_fold_at_O0),
        cmocka_unit_test(test_fold_limits),
        cmocka_unit_test(test_fold_sqrt),
        cmocka_unit_test(test_simplify_identities),
        cmocka_unit_test(test_simplify_broadcast_constant),
        cmocka_unit_test(test_cse_merges_within_a_function),
        cmocka_unit_test(test_cse_keeps_gradients_apart),
        cmocka_unit_test(test_fuse_mnist_epilogues),
        cmocka_unit_test(test_fuse_elementwise_groups),
        cmocka_unit_test(test_fuse_limits),
        cmocka_unit_test(test_plan_in_place),
        cmocka_unit_test(test_plan_storage_classes),
        cmocka_unit_test(test_plan_exact_layout),
        cmocka_unit_test(test_plan_max_batch),
        cmocka_unit_test(test_plan_examples),
        cmocka_unit_test(test_plan_gradcheck_cases),
        cmocka_unit_test(test_plan_mnist_arena_reuses_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
