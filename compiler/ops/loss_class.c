/*
 * loss_class.c - the classification and distribution losses, with their
 * derivative kernels: probabilities or scores against a binary target, a
 * class target or a target distribution. Lowering, shape rules and the
 * derivative rule are loss.c's.
 *
 *   bce(p, t)            -mean(t max(log p, -100) + (1 - t) max(log(1 - p), -100))
 *                                              d/dp = (p - t) / max(p (1 - p), 1e-12) / count
 *   bce_logits(z, t)     the stable form of bce(sigmoid(z), t)
 *                                              d/dz = (sigmoid(z) - t) / count
 *   cross_entropy(z, y)  mean over rows of logsumexp(z) - z[y]
 *                                              d/dz = (softmax(z) - onehot(y)) / rows
 *   cross_entropy(z, t)  mean over rows of -sum t log_softmax(z)
 *                                              d/dz = (softmax(z) sum(t) - t) / rows
 *   nll(logp, y)         -mean over rows of logp[y]   d/dlogp = -onehot(y) / rows
 *   kl_div(logq, p)      sum(xlogy(p, p) - p logq) / N    (0 log 0 = 0)
 *                                              d/dlogq = -p / N
 *   hinge(z, y, margin)  MultiMarginLoss, p = 1: mean over rows of
 *                        sum over k != y of max(0, margin - z[y] + z[k]) / K
 *                        d/dz[k] = [margin - z[y] + z[k] > 0] / (N K), d/dz[y] = -sum of those
 * Every derivative is multiplied by the loss's own incoming gradient.
 * count = all elements (the batch included); rows = samples (every dim but
 * the last, the batch included); N = the batch size (kl_div on an unbatched
 * tensor divides by its first dim, as PyTorch's size(0); a scalar by 1);
 * K = classes. None is a function of p - t: the target must not depend on
 * parameters.
 *
 * Attributes: HINGE f[0] = margin, copied to HINGE_GRAD.
 */
#include "nngen.h"

/* kl_div's divisor: the batch size, or an unbatched tensor's first dim */
static void batch_float(Buf *b, const Shape *s) {
    if (s->batched)
        buf_puts(b, "(float)n");
    else
        emit_float(b, s->rank ? (double)s->dims[0] : 1.0);
}

/* rows of a [.., K] tensor: everything but the last dim, the batch included */
static void rows_text(Buf *b, const Shape *s) {
    long r = 1;
    for (int d = 0; d + 1 < s->rank; d++)
        r *= s->dims[d];
    if (s->batched && r == 1)
        buf_puts(b, "(long)n");
    else
        buf_printf(b, s->batched ? "(long)n * %ld" : "%ld", r);
}

/* Opens the row loop with z's row max and sum of exp(z - max). */
static long open_softmax_rows(Emit *e, const Node *n, const char *z) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    long K = s->dims[s->rank - 1];
    Buf rows = {0};
    rows_text(&rows, s);
    emit_line(e, "const long rows = %s;", rows.data);
    emit_open(e, "for (long r = 0; r < rows; r++)");
    emit_line(e, "const float *zr = %s + r * %ld;", z, K);
    emit_line(e, "float mx = zr[0], sum = 0.0f;");
    emit_line(e, "for (long k = 1; k < %ld; k++) if (zr[k] > mx) mx = zr[k];", K);
    emit_line(e, "for (long k = 0; k < %ld; k++) sum += expf(zr[k] - mx);", K);
    buf_free(&rows);
    return K;
}

/* ---- forward kernels -------------------------------------------------------------- */

void bce_emit(Emit *e, const Node *n) {
    const char *p = emit_ref(e, n->in[0]), *t = emit_ref(e, n->in[1]);
    loss_sum_open(e, n);
    emit_line(e, "const float lp = logf(%s[i]), lq = logf(1.0f - %s[i]);", p, p);
    emit_line(e, "acc -= %s[i] * (lp < -100.0f ? -100.0f : lp) + (1.0f - %s[i]) * (lq < -100.0f ? -100.0f : lq);", t,
              t);
    loss_sum_close(e, n, NULL);
}

/* (1 - t) z + m + log(exp(-m) + exp(-z - m)), m = max(-z, 0) */
void bce_logits_emit(Emit *e, const Node *n) {
    loss_sum_open(e, n);
    emit_line(e, "const float z = %s[i], m = -z > 0.0f ? -z : 0.0f;", emit_ref(e, n->in[0]));
    emit_line(e, "acc += (1.0f - %s[i]) * z + m + logf(expf(-m) + expf(-z - m));", emit_ref(e, n->in[1]));
    loss_sum_close(e, n, NULL);
}

/* loss = mean over rows of (log sum exp(z) - z[y]) */
void ce_class_emit(Emit *e, const Node *n) {
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    open_softmax_rows(e, n, emit_ref(e, n->in[0]));
    emit_line(e, "acc += logf(sum) + mx - zr[%s[r]];", emit_ref(e, n->in[1]));
    emit_close(e);
    emit_line(e, "%s[0] = acc / (float)rows;", emit_ref(e, n->id));
    emit_close(e);
}

/* loss = mean over rows of -sum_k t_k (z_k - lse) */
void ce_prob_emit(Emit *e, const Node *n) {
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    long K = open_softmax_rows(e, n, emit_ref(e, n->in[0]));
    emit_line(e, "const float lse = mx + logf(sum);");
    emit_line(e, "for (long k = 0; k < %ld; k++) acc -= %s[r * %ld + k] * (zr[k] - lse);", K, emit_ref(e, n->in[1]), K);
    emit_close(e);
    emit_line(e, "%s[0] = acc / (float)rows;", emit_ref(e, n->id));
    emit_close(e);
}

/* loss = -mean over rows of logp[r, y[r]] */
void nll_emit(Emit *e, const Node *n) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    long K = s->dims[s->rank - 1];
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    emit_line(e, "for (long r = 0; r < n; r++) acc -= %s[r * %ld + %s[r]];", emit_ref(e, n->in[0]), K,
              emit_ref(e, n->in[1]));
    emit_line(e, "%s[0] = acc / (float)n;", emit_ref(e, n->id));
    emit_close(e);
}

/* xlogy(t, t) - t * logq summed, divided by N: 0 log 0 = 0, a negative t gives NaN */
void kl_div_emit(Emit *e, const Node *n) {
    Buf div = {0};
    batch_float(&div, &e->g->nodes[n->in[0]].shape);
    loss_sum_open(e, n);
    emit_line(e, "const float tt = %s[i];", emit_ref(e, n->in[1]));
    emit_line(e, "acc += (tt == 0.0f ? 0.0f : tt * logf(tt)) - tt * %s[i];", emit_ref(e, n->in[0]));
    loss_sum_close(e, n, div.data);
    buf_free(&div);
}

/* loss = mean over rows of sum_{k != y} max(0, margin - z[y] + z[k]) / K */
void hinge_emit(Emit *e, const Node *n) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    long K = s->dims[s->rank - 1];
    Buf margin = {0};
    emit_float(&margin, n->f[0]);
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    emit_open(e, "for (long r = 0; r < n; r++)");
    emit_line(e, "const float *zr = %s + r * %ld;", emit_ref(e, n->in[0]), K);
    emit_line(e, "const int32_t yr = %s[r];", emit_ref(e, n->in[1]));
    emit_line(e, "float sum = 0.0f;");
    emit_open(e, "for (long k = 0; k < %ld; k++)", K);
    emit_line(e, "const float hv = %s - zr[yr] + zr[k];", margin.data);
    emit_line(e, "if (k != yr && hv > 0.0f)");
    emit_line(e, "    sum += hv;");
    emit_close(e);
    emit_line(e, "acc += sum / %s;", emit_float_lit(e, (double)K));
    emit_close(e);
    emit_line(e, "%s[0] = acc / (float)n;", emit_ref(e, n->id));
    emit_close(e);
    buf_free(&margin);
}

/* ---- derivative kernels ------------------------------------------------------------- */
/* Elementwise ones get (p, t, dloss) element expressions; the count comes from
 * the node's own shape (that of p). */

void bce_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0};
    buf_printf(&t, "(%s - %s) / ((1.0f - %s) * %s > 1e-12f ? (1.0f - %s) * %s : 1e-12f)", a[0], a[1], a[0], a[0], a[0],
               a[0]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}

void bce_logits_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0};
    buf_printf(&t, "(1.0f / (1.0f + expf(-%s)) - %s)", a[0], a[1]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}

/* dz = (softmax(z) - onehot(y)) * dloss / n */
void ce_class_grad_emit(Emit *e, const Node *n) {
    const char *dz = emit_ref(e, n->id), *y = emit_ref(e, n->in[1]);
    Buf dl = {0};
    emit_elem(&dl, e, n->in[2]);
    emit_begin(e);
    emit_line(e, "const float scale = %s / (float)n;", dl.data);
    long K = open_softmax_rows(e, n, emit_ref(e, n->in[0]));
    emit_line(e, "for (long k = 0; k < %ld; k++) %s[r * %ld + k] = expf(zr[k] - mx) / sum * scale;", K, dz, K);
    emit_line(e, "%s[r * %ld + %s[r]] -= scale;", dz, K, y);
    emit_close(e);
    emit_close(e);
    buf_free(&dl);
}

/* dz = (softmax(z) sum(t) - t) * dloss / rows */
void ce_prob_grad_emit(Emit *e, const Node *n) {
    const char *dz = emit_ref(e, n->id), *t = emit_ref(e, n->in[1]);
    Buf dl = {0};
    emit_elem(&dl, e, n->in[2]);
    emit_begin(e);
    long K = open_softmax_rows(e, n, emit_ref(e, n->in[0]));
    emit_line(e, "const float scale = %s / (float)rows;", dl.data);
    emit_line(e, "float tsum = 0.0f;");
    emit_line(e, "for (long k = 0; k < %ld; k++) tsum += %s[r * %ld + k];", K, t, K);
    emit_line(
        e,
        "for (long k = 0; k < %ld; k++) %s[r * %ld + k] = (expf(zr[k] - mx) / sum * tsum - %s[r * %ld + k]) * scale;",
        K, dz, K, t, K);
    emit_close(e);
    emit_close(e);
    buf_free(&dl);
}

/* dlogp = -onehot(y) * dloss / n */
void nll_grad_emit(Emit *e, const Node *n) {
    const Shape *s = &n->shape;
    long K = s->dims[s->rank - 1];
    const char *d = emit_ref(e, n->id);
    Buf dl = {0}, cnt = {0};
    emit_elem(&dl, e, n->in[2]);
    emit_count(&cnt, e->g, n->id);
    emit_line(e, "for (long i = 0; i < %s; i++) %s[i] = 0.0f;", cnt.data, d);
    emit_line(e, "for (long r = 0; r < n; r++) %s[r * %ld + %s[r]] = -%s / (float)n;", d, K, emit_ref(e, n->in[1]),
              dl.data);
    buf_free(&dl);
    buf_free(&cnt);
}

/* d/dlogq = -p * dloss / N; of (logq, p, dloss) logq gives the shape only
 * (OPF_SHAPE_IN0: a[0] is NULL) */
void kl_div_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    if (n->shape.batched)
        emit_reads_batch(e); /* the divisor (float)n */
    buf_printf(o, "(-%s * %s / ", a[1], a[2]);
    batch_float(o, &n->shape);
    buf_putc(o, ')');
}

/* dz[k] = scale for every k != y with a positive margin term, dz[y] = -their sum */
void hinge_grad_emit(Emit *e, const Node *n) {
    const Shape *s = &n->shape;
    long K = s->dims[s->rank - 1];
    const char *dz = emit_ref(e, n->id);
    Buf dl = {0}, margin = {0};
    emit_elem(&dl, e, n->in[2]);
    emit_float(&margin, n->f[0]);
    emit_begin(e);
    emit_line(e, "const float scale = %s / ((float)n * %s);", dl.data, emit_float_lit(e, (double)K));
    emit_open(e, "for (long r = 0; r < n; r++)");
    emit_line(e, "const float *zr = %s + r * %ld;", emit_ref(e, n->in[0]), K);
    emit_line(e, "float *dr = %s + r * %ld;", dz, K);
    emit_line(e, "const int32_t yr = %s[r];", emit_ref(e, n->in[1]));
    emit_line(e, "float sum = 0.0f;");
    emit_open(e, "for (long k = 0; k < %ld; k++)", K);
    emit_line(e, "dr[k] = k != yr && %s - zr[yr] + zr[k] > 0.0f ? scale : 0.0f;", margin.data);
    emit_line(e, "sum += dr[k];");
    emit_close(e);
    emit_line(e, "dr[yr] = -sum;");
    emit_close(e);
    emit_close(e);
    buf_free(&dl);
    buf_free(&margin);
}
