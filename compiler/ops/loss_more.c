/*
 * loss_more.c - the losses beyond ops/loss.c, each one fused op with a
 * hand-derived derivative kernel, as PyTorch 1.13 computes them with
 * reduction="mean" (kl_div: "batchmean"). loss.c's shape rules and its
 * derivative rule (loss_grad, whose table lists these ops) serve them too.
 *
 *   smooth_l1(p, t, beta)   z = |p - t|:  mean(z < beta ? z^2 / (2 beta) : z - beta / 2)
 *                           (beta = 0: mean(z), the l1 loss)
 *                           d/dp = (d <= -beta ? -1 : d >= beta ? 1 : d / beta) / count, d = p - t
 *                           (PyTorch's smooth_l1_backward: at beta = 0, d = 0 gives -1)
 *   log_cosh(p, t)          mean(log(cosh(d)))         d/dp = tanh(d) / count
 *                           computed stably: log1p(2 sinh(d/2)^2) for |d| < 1,
 *                           |d| + log1p(exp(-2 |d|)) - log 2 beyond (no overflow)
 *   msle(p, t)              mean((log(1 + p) - log(1 + t))^2), no clipping
 *                           d/dp = 2 (log(1 + p) - log(1 + t)) / (1 + p) / count
 *   kl_div(logq, p)         sum(xlogy(p, p) - p logq) / N    (0 log 0 = 0)
 *                           d/dlogq = -p / N
 *   hinge(z, y, margin)     MultiMarginLoss, p = 1: mean over rows of
 *                           sum over k != y of max(0, margin - z[y] + z[k]) / K
 *                           d/dz[k] = [margin - z[y] + z[k] > 0] / (N K), d/dz[y] = -sum of those
 * Every derivative is multiplied by the loss's own incoming gradient.
 * count = all elements (the batch included); N = the batch size (kl_div on
 * an unbatched tensor divides by its first dim, as PyTorch's size(0); a
 * scalar by 1); K = classes.
 *
 * Attributes: SMOOTH_L1 f[0] = beta, HINGE f[0] = margin, copied to their
 * derivative kernels.
 */
#include "nngen.h"

/* "((float)n * 6.0f)" or "6.0f": the element count of s as a float */
static void count_float(Buf *b, const Shape *s) {
    if (s->batched)
        buf_puts(b, "((float)n * ");
    emit_float(b, (double)shape_numel(s));
    if (s->batched)
        buf_putc(b, ')');
}

/* kl_div's divisor: the batch size, or an unbatched tensor's first dim */
static void batch_float(Buf *b, const Shape *s) {
    if (s->batched)
        buf_puts(b, "(float)n");
    else
        emit_float(b, s->rank ? (double)s->dims[0] : 1.0);
}

/* ---- forward kernels ------------------------------------------------------------------- */

/* one term per element pair, summed, divided by the count (kl_div: by N) */
void loss_more_emit(Emit *e, const Node *n) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    const char *p = emit_ref(e, n->in[0]), *t = emit_ref(e, n->in[1]);
    Buf cnt = {0}, div = {0}, beta = {0};
    emit_count(&cnt, e->g, n->in[0]);
    if (n->op == OP_KL_DIV)
        batch_float(&div, s);
    else
        count_float(&div, s);
    emit_float(&beta, n->f[0]);
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    emit_open(e, "for (long i = 0; i < %s; i++)", cnt.data);
    switch (n->op) {
    case OP_SMOOTH_L1:
        emit_line(e, "const float d = %s[i] - %s[i], ad = fabsf(d);", p, t);
        if (n->f[0] > 0)
            emit_line(e, "acc += ad < %s ? 0.5f * d * d / %s : ad - 0.5f * %s;", beta.data, beta.data, beta.data);
        else
            emit_line(e, "acc += ad;");
        break;
    case OP_LOG_COSH:
        emit_line(e, "const float d = %s[i] - %s[i], ad = fabsf(d), sh = sinhf(0.5f * d);", p, t);
        emit_line(e, "acc += ad < 1.0f ? log1pf(2.0f * sh * sh) : ad + log1pf(expf(-2.0f * ad)) - 0.693147181f;");
        break;
    case OP_MSLE:
        emit_line(e, "const float d = log1pf(%s[i]) - log1pf(%s[i]);", p, t);
        emit_line(e, "acc += d * d;");
        break;
    case OP_KL_DIV: /* xlogy(t, t) - t * logq: 0 log 0 = 0, a negative t gives NaN */
        emit_line(e, "const float tt = %s[i];", t);
        emit_line(e, "acc += (tt == 0.0f ? 0.0f : tt * logf(tt)) - tt * %s[i];", p);
        break;
    default: nn_unreachable("loss_more_emit of %s", op_info(n->op)->name);
    }
    emit_close(e);
    emit_line(e, "%s[0] = acc / %s;", emit_ref(e, n->id), div.data);
    emit_close(e);
    buf_free(&cnt);
    buf_free(&div);
    buf_free(&beta);
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

/* ---- derivative kernels --------------------------------------------------------------------- */
/* Elementwise ones get (p, t, dloss) element expressions; the count comes from
 * the node's own shape (that of p). */

static void scaled(Buf *o, const Node *n, const char *dl, const char *term) {
    buf_printf(o, "(%s * %s / ", term, dl);
    count_float(o, &n->shape);
    buf_putc(o, ')');
}

void smooth_l1_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0}, b = {0};
    emit_float(&b, n->f[0]);
    buf_printf(&t, "(%s - %s <= -%s ? -1.0f : (%s - %s >= %s ? 1.0f : (%s - %s) / %s))", a[0], a[1], b.data,
               a[0], a[1], b.data, a[0], a[1], b.data);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
    buf_free(&b);
}

void log_cosh_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "tanhf(%s - %s)", a[0], a[1]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
}

void msle_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "2.0f * (log1pf(%s) - log1pf(%s)) / (1.0f + %s)", a[0], a[1], a[0]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
}

/* d/dlogq = -p * dloss / N */
void kl_div_grad_expr(Buf *o, const Node *n, const char *const *a) {
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
