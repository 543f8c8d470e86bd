/*
 * dropout.c - dropout(x, p), 0 <= p < 1: its lowering and the mask of
 * inverted dropout (training forward only; in inference, and for p = 0,
 * dropout is the identity and builds no node):
 *
 *   mask[i] = u_i < 1 - p ? 1 / (1 - p) : 0,    y = x * mask
 *
 * u_i = nnrt_rng_uniform, one PCG32 draw per element in row-major order of
 * [n, per-sample dims] (of the dims alone for a tensor without the batch), from the model's own PRNG m->rng (seeded by
 * NET_init on the dropout stream, see emit/api.c). Each training forward
 * advances it, mask after mask in execution order. The mask lives in the
 * arena until the backward pass has read it (y's derivative is dy * mask,
 * the plain mul rule), so the backward always uses the forward's mask.
 * 1 - p and 1 / (1 - p) are rounded to float once, at compile time.
 *
 * The node has no inputs: its shape is given when it is built, and nothing
 * flows back through it. It is OPF_IMPURE (it advances m->rng): two masks
 * are never merged. Attributes: f[0] = p; i[0] = the dropout's ordinal in
 * the statement order (so no two masks look alike).
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* dropout(x, p): 0 <= p < 1; identity in inference and for p = 0 */
int layer_dropout(LowerCtx *c, const Expr *call, const Bound *b) {
    double p = b->num[1];
    int x = b->node[0];
    if (!(p >= 0 && p < 1)) {
        diag_error(b->loc[1], "dropout's p must satisfy 0 <= p < 1, got %g", p);
        return -1;
    }
    if (c->mode == MODE_INFER || p == 0)
        return x;
    int mask = lower_node_shaped(c, OP_DROPOUT_MASK, c->fn, call->loc, 0, NULL, &c->g->nodes[x].shape);
    if (mask < 0)
        return -1;
    ir_node(c->g, mask)->f[0] = p;
    ir_node(c->g, mask)->i[0] = c->g->uses_rng++;
    return lower_node2(c, OP_MUL, call->loc, x, mask);
}

/* ---- the mask ------------------------------------------------------------ */

/* the shape is given: x's (a tensor without the batch dimension, a
 * parameter, gets one mask per training forward) */
int dropout_mask_shape(Graph *g, Node *n) {
    (void)g;
    (void)n;
    return 0;
}

void dropout_mask_emit(Emit *e, const Node *n) {
    Buf cnt = {0}, keep = {0}, scale = {0};
    emit_count(&cnt, e->g, n->id);
    emit_float(&keep, 1.0 - n->f[0]);
    emit_float(&scale, 1.0 / (1.0 - n->f[0]));
    emit_begin(e);
    emit_reads_model(e); /* m->rng */
    emit_line(e, "nnrt_rng rng;");
    emit_line(e, "rng.state = m->rng.state;");
    emit_line(e, "rng.inc = m->rng.inc;");
    emit_line(e, "for (long i = 0; i < %s; i++)", cnt.data);
    emit_line(e, "    %s[i] = nnrt_rng_uniform(&rng) < %s ? %s : 0.0f;", emit_ref(e, n->id), keep.data, scale.data);
    emit_line(e, "m->rng.state = rng.state;");
    emit_close(e);
    buf_free(&cnt);
    buf_free(&keep);
    buf_free(&scale);
}
