/*
 * recurrent.c - the recurrent layers rnn, lstm and gru, and the primitive
 * last(x), lowered to existing ops unrolled over the T steps of a sequence.
 *
 * Phase: lowering (AST -> IR). No op of its own: every layer becomes
 * matmul, add/mul, slice, concat and the sigmoid / tanh / relu
 * activations, so autodiff derives backpropagation through time from their
 * rules and the planner stores each step's activations once, like any
 * other node's. Equations (PyTorch 1.13's nn.RNN / nn.LSTM / nn.GRU, one
 * layer, one direction, batch_first, zero initial state), with the weights
 * stored [in, G * units] (x @ W) and G column blocks in PyTorch's order:
 *
 *   A = x @ W_ih + b_ih                 [N, T, G U], one GEMM for all steps
 *   a_t = A[:, t]                       [N, 1, G U] (slice of axis 0)
 *   rnn  (G = 1): h_t = act(a_t + h_{t-1} @ W_hh + b_hh)
 *   lstm (G = 4): [i f g o] = a_t + h_{t-1} @ W_hh + b_hh
 *                 c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
 *                 h_t = sigmoid(o) * tanh(c_t)
 *   gru  (G = 3): [a_r a_z a_n] = a_t, [b_r b_z b_n] = h_{t-1} @ W_hh + b_hh
 *                 r = sigmoid(a_r + b_r), z = sigmoid(a_z + b_z)
 *                 n = tanh(a_n + r * b_n), h_t = (1 - z) * n + z * h_{t-1}
 *
 * h_0 = c_0 = 0, so step 1 has no recurrent product (h_0 @ W_hh = 0). For
 * rnn and lstm, b_hh is added to A with b_ih (the sum is the same); gru
 * keeps b_hh in the recurrent term, where r scales b_n. Each h_t is
 * [N, 1, units]; the output [N, T, units] is a balanced tree of concats
 * along axis 0 (T log T copies, not the T^2 / 2 of a chain).
 *
 * last(x): [T, ...] -> [...], step T - 1: a slice of axis 0 and a reshape.
 * When x is (a tree of) concats along axis 0, as a recurrent layer's
 * output is, last reads the final part directly, and the concat tree is
 * left to the scheduler, which drops it when nothing else reads it.
 *
 * The T - 1 recurrent products read W_hh in turn, one row per sample:
 * with two or more, they read it through pack_cols (matmul.c), packed once
 * per call for the batch-1 matrix-vector kernel.
 *
 * Parameters, in table order: weight_ih [F, G U], weight_hh [U, G U] (both
 * weights), bias_ih [G U], bias_hh [G U] (without bias=false); default
 * init uniform(-1/sqrt(U), 1/sqrt(U)) for all four, as PyTorch's.
 */
#include <math.h>
#include <string.h>

#include "nngen.h"

/* ---- small builders ------------------------------------------------------------ */

/* x[..., start : start + len] along a per-sample axis */
static int slice_of(LowerCtx *c, int x, int axis, int start, int len, Loc loc) {
    if (x < 0)
        return -1;
    int id = ir_add(c->g, OP_SLICE, c->fn, loc, 1, &x);
    Node *n = ir_node(c->g, id);
    n->i[0] = axis;
    n->i[1] = start;
    n->i[2] = len;
    if (shape_check_node(c->g, id) < 0) {
        ir_node(c->g, id)->dead = 1;
        return -1;
    }
    return id;
}

/* gate k (of `units` columns) of a [.., G U] tensor: its last axis */
static int gate(LowerCtx *c, int z, int k, int units, Loc loc) {
    const Shape *s = &c->g->nodes[z].shape;
    return slice_of(c, z, s->rank - 1, k * units, units, loc);
}

static int unary(LowerCtx *c, Op op, int x, Loc loc) {
    return x < 0 ? -1 : lower_node1(c, op, loc, x);
}

/* concat of hs[lo..hi) along axis 0, as a balanced tree */
static int concat_steps(LowerCtx *c, const int *hs, int lo, int hi, Loc loc) {
    if (hi - lo == 1)
        return hs[lo];
    int mid = lo + (hi - lo) / 2;
    int in[2] = {concat_steps(c, hs, lo, mid, loc), concat_steps(c, hs, mid, hi, loc)};
    return lower_node_axis(c, OP_CONCAT, loc, 2, in, 0);
}

/* ---- parameters ------------------------------------------------------------------ */

/* One of the layer's parameters; without init= given, PyTorch's
 * uniform(-1/sqrt(units), 1/sqrt(units)). */
static int rec_param(LowerCtx *c, const Expr *call, int slot, const char *suffix, const Shape *s, const Expr *init,
                     int units, int is_weight) {
    int node = lower_layer_param(c, call, slot, suffix, s, init, "zeros", is_weight);
    if (node < 0 || init)
        return node;
    for (int i = 0; i < c->g->nparams; i++)
        if (c->g->params[i].node == node) {
            c->g->params[i].init_kind = INIT_UNIFORM;
            c->g->params[i].init_a = -1.0 / sqrt((double)units);
            c->g->params[i].init_b = 1.0 / sqrt((double)units);
        }
    return node;
}

typedef struct Rec {
    int x; /* the input [N, T, F] */
    int T, F, units, G;
    int w_ih, w_hh, b_ih, b_hh; /* b_* -1 without bias */
    int w_step;                 /* what the recurrent products read: W_hh or pack_cols(W_hh) */
    Loc loc;
} Rec;

/* Checks the input and units, creates the parameters. */
static int rec_setup(LowerCtx *c, const Expr *call, const Bound *b, const char *layer, int G, int bias, int init_arg,
                     Rec *r) {
    const Shape *s = &c->g->nodes[b->node[0]].shape;
    if (s->rank != 2) {
        Buf sb = {0};
        shape_print(&sb, s);
        diag_error(b->loc[0], "%s needs a sequence [T, F] per sample (rank 2, time first), not %s", layer, sb.data);
        buf_free(&sb);
        return -1;
    }
    if (b->num[1] < 1) {
        diag_error(b->loc[1], "%s needs units >= 1, got %g", layer, b->num[1]);
        return -1;
    }
    if (b->num[1] * G > 2147483647.0) {
        diag_error(b->loc[1], "%s's %d * units = %.0f is too large (the limit is 2^31 - 1)", layer, G, b->num[1] * G);
        return -1;
    }
    r->x = b->node[0];
    r->T = s->dims[0];
    r->F = s->dims[1];
    r->units = (int)b->num[1];
    r->G = G;
    r->loc = call->loc;
    int U = r->units;
    Shape wi = {0, 2, {r->F, G * U, 0, 0}}, wh = {0, 2, {U, G * U, 0, 0}}, bs = {0, 1, {G * U, 0, 0, 0}};
    /* one initializer for two tensors: stop at its first error */
    r->b_ih = r->b_hh = -1;
    if ((r->w_ih = rec_param(c, call, 0, "weight_ih", &wi, b->init[init_arg], U, 1)) < 0 ||
        (r->w_hh = rec_param(c, call, 1, "weight_hh", &wh, b->init[init_arg], U, 1)) < 0)
        return -1;
    if (bias && ((r->b_ih = rec_param(c, call, 2, "bias_ih", &bs, b->init[init_arg + 1], U, 0)) < 0 ||
                 (r->b_hh = rec_param(c, call, 3, "bias_hh", &bs, b->init[init_arg + 1], U, 0)) < 0))
        return -1;
    r->w_step = r->T - 1 >= 2 ? matmul_pack(c, r->loc, r->w_hh) : r->w_hh;
    return r->w_step < 0 ? -1 : 0;
}

/* A = x @ W_ih (+ b_ih (+ b_hh when fold_hh)) : [N, T, G U] */
static int input_projection(LowerCtx *c, const Rec *r, int fold_hh) {
    int a = lower_node2(c, OP_MATMUL, r->loc, r->x, r->w_ih);
    if (r->b_ih < 0)
        return a;
    int bias = fold_hh ? lower_node2(c, OP_ADD, r->loc, r->b_ih, r->b_hh) : r->b_ih;
    return lower_node2(c, OP_ADD, r->loc, a, bias);
}

/* a_t + h @ W_hh: the pre-activations of step t (h < 0: h_0 = 0) */
static int step_pre(LowerCtx *c, const Rec *r, int A, int t, int h) {
    int at = slice_of(c, A, 0, t, 1, r->loc);
    if (h < 0)
        return at;
    return lower_node2(c, OP_ADD, r->loc, lower_node2(c, OP_MATMUL, r->loc, h, r->w_step), at);
}

/* ---- the layers ---------------------------------------------------------------------- */

/* rnn(x, units, nonlinearity="tanh", bias=true, init=, bias_init=) */
int layer_rnn(LowerCtx *c, const Expr *call, const Bound *b) {
    const char *act = b->str[2];
    Op op = !strcmp(act, "tanh") ? OP_TANH : !strcmp(act, "relu") ? OP_RELU : OP__COUNT;
    if (op == OP__COUNT) {
        diag_error(b->loc[2], "rnn's nonlinearity must be \"tanh\" or \"relu\", got \"%s\"", act);
        return -1;
    }
    Rec r;
    if (rec_setup(c, call, b, "rnn", 1, (int)b->num[3], 4, &r) < 0)
        return -1;
    int A = input_projection(c, &r, 1), h = -1;
    int *hs = arena_alloc(c->g->arena, sizeof(int) * (size_t)r.T);
    for (int t = 0; t < r.T; t++) {
        h = unary(c, op, step_pre(c, &r, A, t, h), r.loc);
        if (h < 0)
            return -1;
        hs[t] = h;
    }
    return concat_steps(c, hs, 0, r.T, r.loc);
}

/* lstm(x, units, bias=true, init=, bias_init=) */
int layer_lstm(LowerCtx *c, const Expr *call, const Bound *b) {
    Rec r;
    if (rec_setup(c, call, b, "lstm", 4, (int)b->num[2], 3, &r) < 0)
        return -1;
    int U = r.units, A = input_projection(c, &r, 1), h = -1, cell = -1;
    int *hs = arena_alloc(c->g->arena, sizeof(int) * (size_t)r.T);
    for (int t = 0; t < r.T; t++) {
        int z = step_pre(c, &r, A, t, h);
        if (z < 0)
            return -1;
        int i = unary(c, OP_SIGMOID, gate(c, z, 0, U, r.loc), r.loc);
        int g = unary(c, OP_TANH, gate(c, z, 2, U, r.loc), r.loc);
        int o = unary(c, OP_SIGMOID, gate(c, z, 3, U, r.loc), r.loc);
        int ig = lower_node2(c, OP_MUL, r.loc, i, g);
        if (cell < 0)
            cell = ig;
        else {
            int f = unary(c, OP_SIGMOID, gate(c, z, 1, U, r.loc), r.loc);
            cell = lower_node2(c, OP_ADD, r.loc, lower_node2(c, OP_MUL, r.loc, f, cell), ig);
        }
        h = lower_node2(c, OP_MUL, r.loc, o, unary(c, OP_TANH, cell, r.loc));
        if (h < 0)
            return -1;
        hs[t] = h;
    }
    return concat_steps(c, hs, 0, r.T, r.loc);
}

/* gru(x, units, bias=true, init=, bias_init=) */
int layer_gru(LowerCtx *c, const Expr *call, const Bound *b) {
    Rec r;
    if (rec_setup(c, call, b, "gru", 3, (int)b->num[2], 3, &r) < 0)
        return -1;
    int U = r.units, A = input_projection(c, &r, 0), h = -1;
    int *hs = arena_alloc(c->g->arena, sizeof(int) * (size_t)r.T);
    for (int t = 0; t < r.T; t++) {
        int at = slice_of(c, A, 0, t, 1, r.loc);
        /* B = h_{t-1} @ W_hh + b_hh; with h_0 = 0 it is b_hh, or nothing */
        int B = h >= 0 ? lower_node2(c, OP_MATMUL, r.loc, h, r.w_step) : -1;
        if (B >= 0 && r.b_hh >= 0)
            B = lower_node2(c, OP_ADD, r.loc, B, r.b_hh);
        else if (B < 0)
            B = r.b_hh;
        int ar = gate(c, at, 0, U, r.loc), az = gate(c, at, 1, U, r.loc), an = gate(c, at, 2, U, r.loc);
        int rr = -1, zz, n;
        if (B >= 0) {
            rr = unary(c, OP_SIGMOID, lower_node2(c, OP_ADD, r.loc, ar, gate(c, B, 0, U, r.loc)), r.loc);
            zz = unary(c, OP_SIGMOID, lower_node2(c, OP_ADD, r.loc, az, gate(c, B, 1, U, r.loc)), r.loc);
            n = unary(c, OP_TANH,
                      lower_node2(c, OP_ADD, r.loc, an, lower_node2(c, OP_MUL, r.loc, rr, gate(c, B, 2, U, r.loc))),
                      r.loc);
        } else { /* first step without bias: b = 0, r does not matter */
            zz = unary(c, OP_SIGMOID, az, r.loc);
            n = unary(c, OP_TANH, an, r.loc);
        }
        /* h = (1 - z) * n + z * h_{t-1}  =  n + z * (h_{t-1} - n) would be
         * fewer operations, but the PyTorch form rounds as PyTorch does */
        int keep = lower_node2(c, OP_SUB, r.loc, lower_const(c, 1.0, r.loc), zz);
        int hn = lower_node2(c, OP_MUL, r.loc, keep, n);
        h = h >= 0 ? lower_node2(c, OP_ADD, r.loc, hn, lower_node2(c, OP_MUL, r.loc, zz, h)) : hn;
        if (h < 0)
            return -1;
        hs[t] = h;
    }
    return concat_steps(c, hs, 0, r.T, r.loc);
}

/* ---- last(x) ------------------------------------------------------------------------- */

/* last(x): [T, ...] -> [...], step T - 1 */
int layer_last(LowerCtx *c, const Expr *call, const Bound *b) {
    int x = b->node[0];
    const Shape *s = &c->g->nodes[x].shape;
    if (s->rank < 1) {
        Buf sb = {0};
        shape_print(&sb, s);
        diag_error(b->loc[0], "last needs a sequence [T, ...] (rank 1 or more per sample), not the scalar %s", sb.data);
        buf_free(&sb);
        return -1;
    }
    Shape out = *s;
    out.rank--;
    for (int d = 0; d < out.rank; d++)
        out.dims[d] = s->dims[d + 1];
    /* the last part of a concat along axis 0 holds the last step */
    while (c->g->nodes[x].op == OP_CONCAT && c->g->nodes[x].i[0] == 0)
        x = c->g->nodes[x].in[1];
    int T = c->g->nodes[x].shape.dims[0];
    int step = T == 1 ? x : slice_of(c, x, 0, T - 1, 1, call->loc);
    return lower_reshape(c, step, &out, call->loc);
}
