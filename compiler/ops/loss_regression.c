/*
 * loss_regression.c - the regression losses: functions of a real prediction
 * p and a real target t of one shape, summed over every element and divided
 * by the count (all elements, the batch included), with their derivative
 * kernels. Lowering, shape rules and the derivative rule are loss.c's.
 *
 *   mse(p, t)               mean((p - t)^2)               d/dp = 2 (p - t) / count
 *   mae(p, t)               mean(|p - t|)                 d/dp = sign(p - t) / count
 *   huber(p, t, delta)      d = p - t:  mean(|d| < delta ? d^2/2 : delta (|d| - delta/2))
 *                           d/dp = clamp(d, -delta, delta) / count
 *   smooth_l1(p, t, beta)   z = |p - t|:  mean(z < beta ? z^2 / (2 beta) : z - beta / 2)
 *                           (beta = 0: mean(z), the l1 loss)
 *                           d/dp = (d <= -beta ? -1 : d >= beta ? 1 : d / beta) / count, d = p - t
 *                           (PyTorch's smooth_l1_backward: at beta = 0, d = 0 gives -1)
 *   log_cosh(p, t)          mean(log(cosh(d)))            d/dp = tanh(d) / count
 *                           computed stably: log1p(2 sinh(d/2)^2) for |d| < 1,
 *                           |d| + log1p(exp(-2 |d|)) - log 2 beyond (no overflow)
 *   msle(p, t)              mean((log(1 + p) - log(1 + t))^2), no clipping
 *                           d/dp = 2 (log(1 + p) - log(1 + t)) / (1 + p) / count
 * Every derivative is multiplied by the loss's own incoming gradient. All
 * but msle are functions of p - t, so a target may depend on parameters.
 *
 * Attributes: HUBER f[0] = delta, SMOOTH_L1 f[0] = beta, copied to their
 * derivative kernels.
 */
#include "nngen.h"

/* ---- forward kernels: one term per element pair, summed, divided by the count --- */

void mse_emit(Emit *e, const Node *n) {
    loss_sum_open(e, n);
    emit_line(e, "const float d = %s[i] - %s[i];", emit_ref(e, n->in[0]), emit_ref(e, n->in[1]));
    emit_line(e, "acc += d * d;");
    loss_sum_close(e, n, NULL);
}

void mae_emit(Emit *e, const Node *n) {
    loss_sum_open(e, n);
    emit_line(e, "acc += %s(%s[i] - %s[i]);", emit_libm(e, "fabsf"), emit_ref(e, n->in[0]), emit_ref(e, n->in[1]));
    loss_sum_close(e, n, NULL);
}

void huber_emit(Emit *e, const Node *n) {
    const char *d = emit_float_lit(e, n->f[0]);
    loss_sum_open(e, n);
    emit_line(e, "const float d = %s[i] - %s[i], ad = %s(d);", emit_ref(e, n->in[0]), emit_ref(e, n->in[1]),
              emit_libm(e, "fabsf"));
    emit_line(e, "acc += ad < %s ? 0.5f * d * d : %s * (ad - 0.5f * %s);", d, d, d);
    loss_sum_close(e, n, NULL);
}

void smooth_l1_emit(Emit *e, const Node *n) {
    const char *beta = emit_float_lit(e, n->f[0]);
    loss_sum_open(e, n);
    emit_line(e, "const float d = %s[i] - %s[i], ad = %s(d);", emit_ref(e, n->in[0]), emit_ref(e, n->in[1]),
              emit_libm(e, "fabsf"));
    if (n->f[0] > 0)
        emit_line(e, "acc += ad < %s ? 0.5f * d * d / %s : ad - 0.5f * %s;", beta, beta, beta);
    else
        emit_line(e, "acc += ad;");
    loss_sum_close(e, n, NULL);
}

void log_cosh_emit(Emit *e, const Node *n) {
    loss_sum_open(e, n);
    const char *log1p_fn = emit_libm(e, "log1pf");
    emit_line(e, "const float d = %s[i] - %s[i], ad = %s(d), sh = %s(0.5f * d);", emit_ref(e, n->in[0]),
              emit_ref(e, n->in[1]), emit_libm(e, "fabsf"), emit_libm(e, "sinhf"));
    emit_line(e, "acc += ad < 1.0f ? %s(2.0f * sh * sh) : ad + %s(expf(-2.0f * ad)) - 0.693147181f;", log1p_fn,
              log1p_fn);
    loss_sum_close(e, n, NULL);
}

void msle_emit(Emit *e, const Node *n) {
    loss_sum_open(e, n);
    const char *log1p_fn = emit_libm(e, "log1pf");
    emit_line(e, "const float d = %s(%s[i]) - %s(%s[i]);", log1p_fn, emit_ref(e, n->in[0]), log1p_fn,
              emit_ref(e, n->in[1]));
    emit_line(e, "acc += d * d;");
    loss_sum_close(e, n, NULL);
}

/* ---- derivative kernels ------------------------------------------------------------- */
/* Elementwise: (p, t, dloss) element expressions; the count comes from the
 * node's own shape (that of p). */

void mse_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0};
    buf_printf(&t, "2.0f * (%s - %s)", a[0], a[1]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}

void mae_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0};
    buf_printf(&t, "(%s > %s ? 1.0f : (%s < %s ? -1.0f : 0.0f))", a[0], a[1], a[0], a[1]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}

void huber_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0}, d = {0};
    emit_float(&d, n->f[0]);
    buf_printf(&t, "(%s - %s <= -%s ? -%s : (%s - %s >= %s ? %s : %s - %s))", a[0], a[1], d.data, d.data, a[0], a[1],
               d.data, d.data, a[0], a[1]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
    buf_free(&d);
}

void smooth_l1_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0}, b = {0};
    emit_float(&b, n->f[0]);
    buf_printf(&t, "(%s - %s <= -%s ? -1.0f : (%s - %s >= %s ? 1.0f : (%s - %s) / %s))", a[0], a[1], b.data, a[0], a[1],
               b.data, a[0], a[1], b.data);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
    buf_free(&b);
}

void log_cosh_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    (void)e;
    Buf t = {0};
    buf_printf(&t, "tanhf(%s - %s)", a[0], a[1]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}

void msle_grad_expr(const Emit *e, Buf *o, const Node *n, const char *const *a) {
    const char *log1p_fn = emit_libm(e, "log1pf");
    Buf t = {0};
    buf_printf(&t, "2.0f * (%s(%s) - %s(%s)) / (1.0f + %s)", log1p_fn, a[0], log1p_fn, a[1], a[0]);
    loss_scaled(e, o, n, a[2], t.data);
    buf_free(&t);
}
