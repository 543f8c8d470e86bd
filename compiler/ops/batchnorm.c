/*
 * batchnorm.c - batchnorm(x, momentum=0.1, eps=1e-5): its lowering, and
 * the two ops it needs beyond elementwise arithmetic.
 *
 * x is [N, F] (statistics per feature), [N, C, L] (per channel, over N L:
 * PyTorch's BatchNorm1d on (N, C, L)) or [N, C, H, W] (per channel, over
 * N H W). In the training forward the layer takes the batch's mean and
 * biased variance (MEAN_TO) and adds their running updates; in inference
 * it reads the running statistics, two buffers. Then
 *   y = (x - mean) / sqrt(var + eps) * gamma + beta
 * from sub, div, sqrt, add, mul; gamma and beta are parameters [C].
 *
 * MEAN_TO: the mean of x over the batch and over its trailing per-sample
 * dims, per "channel" (the leading per-sample dims the given shape keeps):
 *   x [N, C, H, W], shape [C, 1, 1]:  out[c] = sum_{n, h, w} x[n, c, h, w] / (N H W)
 *   x [N, F],       shape [F]:        out[f] = sum_n x[n, f] / N
 * The count depends on the call's n. Each (sample, channel) row is summed
 * on its own, then the rows are added: float error grows with H W + N, not
 * with their product. Its derivative spreads dy back over x, divided by the
 * count: BROADCAST with its mean flag (ops/reduce.c), which multiplies the
 * per-sample ratio by n.
 *
 * RUNNING_UPDATE (FN_UPDATE, an effect): a running statistic, PyTorch's
 *   r = momentum * stat + (1 - momentum) * r
 * where stat is the batch mean, or for the running variance the unbiased
 * batch variance var * M / (M - 1), M = n * (elements per channel and sample).
 * It runs in NET_update, so a refused step (non-finite loss or gradients)
 * leaves the running statistics as they were. Attributes: f[0] = momentum,
 * f[1] = elements per channel and sample, i[0] = 1 for the unbiased form;
 * s = the buffer's name.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* the update of one running statistic, run by NET_update */
static int running_update(LowerCtx *c, Loc loc, int buffer, int stat, double momentum, double per, int unbiased) {
    int in[2] = {buffer, stat};
    if (stat < 0)
        return -1;
    int u = ir_add(c->g, OP_RUNNING_UPDATE, FN_UPDATE, loc, 2, in);
    Node *n = ir_node(c->g, u);
    n->f[0] = momentum;
    n->f[1] = per;
    n->i[0] = unbiased;
    n->s = c->g->nodes[buffer].s;
    return shape_check_node(c->g, u);
}

/* x - mean per channel into *d and the variance per channel into *var:
 * the batch's mean and biased variance (training; their running updates
 * are added too), or the running statistics (inference) */
static int batch_stats(LowerCtx *c, const Expr *call, int x, int rm, int rv, double momentum, int *d, int *var) {
    Shape xs = c->g->nodes[x].shape, cs = lower_channel_shape(&xs);
    if (c->mode == MODE_INFER || lower_stmt_frozen(c)) { /* frozen: as in inference, no updates */
        *d = lower_node2(c, OP_SUB, call->loc, x, lower_reshape(c, rm, &cs, call->loc));
        *var = lower_reshape(c, rv, &cs, call->loc);
        return *d < 0 || *var < 0 ? -1 : 0;
    }
    long per = shape_numel(&xs) / xs.dims[0]; /* values per channel and sample */
    int mean = lower_node_shaped(c, OP_MEAN_TO, c->fn, call->loc, 1, &x, &cs);
    *d = lower_node2(c, OP_SUB, call->loc, x, mean);
    int sq = lower_node2(c, OP_MUL, call->loc, *d, *d);
    *var = lower_node_shaped(c, OP_MEAN_TO, c->fn, call->loc, 1, &sq, &cs);
    if (per == 1 && c->g->min_train_batch < 2)
        c->g->min_train_batch = 2; /* one value per channel: n = 1 has no variance */
    if (running_update(c, call->loc, rm, mean, momentum, (double)per, 0) < 0 ||
        running_update(c, call->loc, rv, *var, momentum, (double)per, 1) < 0)
        return -1;
    return 0;
}

/* batchnorm(x, momentum=0.1, eps=1e-5): x [N, F], [N, C, L] or [N, C, H, W] */
int layer_batchnorm(LowerCtx *c, const Expr *call, const Bound *b) {
    double momentum = b->num[1], eps = b->num[2];
    int x = b->node[0];
    Shape xs = c->g->nodes[x].shape;
    if (!(momentum >= 0 && momentum <= 1)) {
        diag_error(b->loc[1], "batchnorm's momentum must be in [0, 1], got %g", momentum);
        return -1;
    }
    if (!(eps >= 0)) {
        diag_error(b->loc[2], "batchnorm's eps must be >= 0, got %g", eps);
        return -1;
    }
    if (!xs.batched || xs.rank < 1 || xs.rank > 3) {
        Buf s = {0};
        shape_print(&s, &xs);
        diag_error(call->loc,
                   "batchnorm normalizes [N, F] (per feature), [N, C, L] or [N, C, H, W] (per channel), "
                   "not %s",
                   s.data);
        buf_free(&s);
        return -1;
    }
    Shape ps = {0, 1, {xs.dims[0], 0, 0, 0}}, cs = lower_channel_shape(&xs);
    int gamma = lower_layer_param(c, call, 0, "gamma", &ps, NULL, "ones", 0);
    int beta = lower_layer_param(c, call, 1, "beta", &ps, NULL, "zeros", 0);
    int rm = lower_layer_buffer(c, call, 0, "running_mean", &ps, 0.0);
    int rv = lower_layer_buffer(c, call, 1, "running_var", &ps, 1.0);
    int d, var;
    if (gamma < 0 || beta < 0 || rm < 0 || rv < 0 || batch_stats(c, call, x, rm, rv, momentum, &d, &var) < 0)
        return -1;
    int den =
        lower_node1(c, OP_SQRT, call->loc, lower_node2(c, OP_ADD, call->loc, var, lower_const(c, eps, call->loc)));
    int xhat = lower_node2(c, OP_DIV, call->loc, d, den);
    int y = lower_node2(c, OP_MUL, call->loc, xhat, lower_reshape(c, gamma, &cs, call->loc));
    return lower_node2(c, OP_ADD, call->loc, y, lower_reshape(c, beta, &cs, call->loc));
}

/* ---- MEAN_TO ------------------------------------------------------------- */

/* the kept leading dims' product C and the averaged trailing dims' product inner */
static void channel_split(const Shape *x, const Shape *to, long *c, long *inner) {
    *c = shape_numel(to);
    *inner = shape_numel(x) / (*c > 0 ? *c : 1);
}

/* the shape is given: x's per-sample dims with a suffix of them set to 1, unbatched */
int mean_to_shape(Graph *g, Node *n) {
    const Shape *x = &g->nodes[n->in[0]].shape, *s = &n->shape;
    int ok = x->batched && !s->batched && s->rank == x->rank && s->rank >= 1, kept = 0;
    while (ok && kept < s->rank && s->dims[kept] == x->dims[kept])
        kept++;
    for (int d = kept; ok && d < s->rank; d++)
        ok = s->dims[d] == 1;
    if (!ok)
        nn_unreachable("mean_to to a shape that is not a per-channel shape of its input");
    return 0;
}

/* d mean_to(x) = dy spread over x / (n * inner) */
int mean_to_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int x = g->nodes[n].in[0];
    Shape xs = g->nodes[x].shape;
    long c, inner;
    channel_split(&xs, &g->nodes[n].shape, &c, &inner);
    int b = ad_node_shaped(ad, OP_BROADCAST, n, 1, &dy, &xs);
    Node *bn = ir_node(g, b);
    bn->i[0] = 1; /* a mean's derivative: divided by f[0], times n */
    bn->i[1] = 1;
    bn->f[0] = (double)inner;
    ad_accumulate(ad, x, b);
    return 0;
}

void mean_to_emit(Emit *e, const Node *n) {
    const Shape *xs = &e->g->nodes[n->in[0]].shape;
    const char *x = emit_ref(e, n->in[0]);
    long c, inner;
    channel_split(xs, &n->shape, &c, &inner);
    Buf div = {0};
    emit_float(&div, (double)inner);
    emit_open(e, "for (long o = 0; o < %ld; o++)", c);
    emit_line(e, "float acc = 0.0f;");
    if (inner == 1) {
        emit_line(e, "for (long b = 0; b < (long)n; b++)");
        emit_line(e, "    acc += %s[b * %ld + o];", x, c);
    } else {
        emit_open(e, "for (long b = 0; b < (long)n; b++)");
        emit_line(e, "float sum = 0.0f;");
        emit_line(e, "for (long j = 0; j < %ld; j++)", inner);
        emit_line(e, "    sum += %s[(b * %ld + o) * %ld + j];", x, c, inner);
        emit_line(e, "acc += sum;");
        emit_close(e);
    }
    emit_line(e, "%s[o] = acc / ((float)n * %s);", emit_ref(e, n->id), div.data);
    emit_close(e);
    buf_free(&div);
}

/* ---- RUNNING_UPDATE ------------------------------------------------------ */

int running_update_shape(Graph *g, Node *n) {
    const Shape *buf = &g->nodes[n->in[0]].shape, *stat = &g->nodes[n->in[1]].shape;
    if (g->nodes[n->in[0]].op != OP_BUFFER || stat->batched || shape_numel(buf) != shape_numel(stat))
        nn_unreachable("running update of %s from a statistic of another size", n->s);
    n->shape = *buf;
    return 0;
}

void running_update_emit(Emit *e, const Node *n) {
    const char *r = emit_ref(e, n->in[0]), *s = emit_ref(e, n->in[1]);
    Buf mom = {0}, rest = {0}, per = {0};
    emit_float(&mom, n->f[0]);
    emit_float(&rest, 1.0 - n->f[0]);
    emit_float(&per, n->f[1]);
    long size = shape_numel(&n->shape);
    if (n->i[0]) {
        emit_begin(e);
        emit_reads_batch(e); /* the last training forward's n: no batched tensor read here */
        emit_line(
            e,
            "const float count = (float)n * %s; /* values per channel in the batch: training refuses fewer than 2 */",
            per.data);
        emit_line(e, "for (long i = 0; i < %ld; i++)", size);
        emit_line(e, "    %s[i] = %s * (%s[i] * (count / (count - 1.0f))) + %s * %s[i];", r, mom.data, s, rest.data, r);
        emit_close(e);
    } else {
        emit_line(e, "for (long i = 0; i < %ld; i++)", size);
        emit_line(e, "    %s[i] = %s * %s[i] + %s * %s[i];", r, mom.data, s, rest.data, r);
    }
    buf_free(&mom);
    buf_free(&rest);
    buf_free(&per);
}
