/*
 * batchnorm.c - the two ops batch normalization needs beyond elementwise
 * arithmetic (layers_more.c builds the rest from sub, mul, div, sqrt):
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
        emit_line(e, "const float count = (float)n * %s; /* values per channel in the batch: training refuses fewer than 2 */", per.data);
        emit_line(e, "for (long i = 0; i < %ld; i++)", size);
        emit_line(e, "    %s[i] = %s * (%s[i] * (count / (count - 1.0f))) + %s * %s[i];", r, mom.data, s,
                  rest.data, r);
        emit_close(e);
    } else {
        emit_line(e, "for (long i = 0; i < %ld; i++)", size);
        emit_line(e, "    %s[i] = %s * %s[i] + %s * %s[i];", r, mom.data, s, rest.data, r);
    }
    buf_free(&mom);
    buf_free(&rest);
    buf_free(&per);
}
