/*
 * maxout.c - the maxout layer and its op.
 *
 * maxout(x, units, pieces, init=xavier_uniform, bias_init=zeros) lowers to
 * z = flatten(x) @ weight[in, units pieces] + bias[units pieces], then the
 * op MAXOUT: the max over groups of `pieces` consecutive elements of the
 * last dim (docs/language.md: column u * pieces + k is piece k of unit u):
 *
 *   y[r, u]         = max_k z[r, u * pieces + k]
 *   dz[r, u * p + k] = dy[r, u] for the first k that attains the maximum, else 0
 *
 * Ties send the whole gradient to the first maximum (lowest k), as a
 * maxpool tie does (docs/language.md). NaN propagates as in torch.max: once a
 * piece is NaN, the maximum is NaN (and its gradient goes to that piece).
 * Attributes: i[0] = pieces, copied to MAXOUT_GRAD.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* maxout(x, units, pieces, init=xavier_uniform, bias_init=zeros) */
int layer_maxout(LowerCtx *c, const Expr *call, const Bound *b) {
    double units = b->num[1], pieces = b->num[2];
    if (units < 1 || pieces < 1) {
        int k = units < 1 ? 1 : 2;
        diag_error(b->loc[k], "maxout needs %s >= 1, got %g", k == 1 ? "units" : "pieces", b->num[k]);
        return -1;
    }
    if (units * pieces > 2147483647.0) {
        diag_error(call->loc, "maxout's units * pieces = %.0f is too large (the limit is 2^31 - 1)", units * pieces);
        return -1;
    }
    int cols = (int)(units * pieces);
    Shape fs = lower_flat_shape(&c->g->nodes[b->node[0]].shape);
    int x = lower_reshape(c, b->node[0], &fs, call->loc);
    Shape ws = {0, 2, {fs.dims[0], cols, 0, 0}}, bs = {0, 1, {cols, 0, 0, 0}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[3], "xavier_uniform", 1);
    int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[4], "zeros", 0);
    int z = lower_node2(c, OP_ADD, call->loc, lower_node2(c, OP_MATMUL, call->loc, x, w), bias);
    if (z < 0 || pieces == 1)
        return z;
    return lower_node_axis(c, OP_MAXOUT, call->loc, 1, &z, (int)pieces);
}

/* ---- rules and kernels --------------------------------------------------- */

int maxout_shape(Graph *g, Node *n) {
    const Shape *z = &g->nodes[n->in[0]].shape;
    int pieces = n->i[0];
    if (z->rank < 1 || pieces < 1 || z->dims[z->rank - 1] % pieces)
        nn_unreachable("maxout of %d pieces on a bad shape", pieces); /* layer_maxout builds it */
    n->shape = *z;
    n->shape.dims[z->rank - 1] /= pieces;
    return 0;
}

/* (z, dy) -> dz: z's shape */
int maxout_grad_shape(Graph *g, Node *n) {
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

int maxout_grad(AdCtx *ad, int n, int dy) {
    int z = ad_graph(ad)->nodes[n].in[0];
    int in[2] = {z, dy};
    ad_accumulate(ad, z, ad_node(ad, OP_MAXOUT_GRAD, n, 2, in));
    return 0;
}

/* Opens the loop over groups (rows times units) and finds the group's
 * first maximum: mx its value, base the group's first index, and with
 * `track` k its piece. */
static void open_groups(Emit *e, const Node *out, const char *z, int pieces, int track) {
    Buf cnt = {0};
    emit_count(&cnt, e->g, out->id);
    emit_open(e, "for (long i = 0; i < %s; i++)", cnt.data);
    emit_line(e, "const long base = i * %d;", pieces);
    if (track)
        emit_line(e, "long k = 0;");
    emit_line(e, "float mx = %s[base];", z);
    emit_line(e, "for (long j = 1; j < %d; j++)", pieces);
    emit_line(e, "    if (%s[base + j] > mx || (%s[base + j] != %s[base + j] && mx == mx))%s", z, z, z,
              track ? " {" : "");
    emit_line(e, "        mx = %s[base + j];", z);
    if (track) {
        emit_line(e, "        k = j;");
        emit_line(e, "    }");
    }
    buf_free(&cnt);
}

void maxout_emit(Emit *e, const Node *n) {
    open_groups(e, n, emit_ref(e, n->in[0]), n->i[0], 0);
    emit_line(e, "%s[i] = mx;", emit_ref(e, n->id));
    emit_close(e);
}

/* dz: zero, but dy at each group's first maximum */
void maxout_grad_emit(Emit *e, const Node *n) {
    const Node *y = &e->g->nodes[n->in[1]]; /* dy has the forward output's shape */
    const char *dz = emit_ref(e, n->id);
    open_groups(e, y, emit_ref(e, n->in[0]), n->i[0], 1);
    emit_line(e, "for (long j = 0; j < %d; j++)", n->i[0]);
    emit_line(e, "    %s[base + j] = 0.0f;", dz);
    emit_line(e, "%s[base + k] = %s[i];", dz, emit_ref(e, n->in[1]));
    emit_close(e);
}
