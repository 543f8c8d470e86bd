/*
 * loss.c - the losses, each one fused op (PyTorch 1.13, reduction="mean")
 * with a hand-derived derivative kernel, so that no loss costs more than one
 * pass over its inputs in each direction; the lowering of every loss call
 * (loss_more.c's too).
 *
 *   mse    mean((p - t)^2)                     d/dp = 2 (p - t) / count
 *   mae    mean(|p - t|)                       d/dp = sign(p - t) / count
 *   huber  mean(|d| < delta ? d^2/2 : delta (|d| - delta/2))
 *                                              d/dp = clamp(d, -delta, delta) / count
 *   bce    -mean(t max(log p, -100) + (1 - t) max(log(1 - p), -100))
 *                                              d/dp = (p - t) / max(p (1 - p), 1e-12) / count
 *   bce_logits  the stable form of bce(sigmoid(z), t)
 *                                              d/dz = (sigmoid(z) - t) / count
 *   cross_entropy(z, y)  mean over rows of logsumexp(z) - z[y]
 *                                              d/dz = (softmax(z) - onehot(y)) / rows
 *   cross_entropy(z, t)  mean over rows of -sum t log_softmax(z)
 *                                              d/dz = (softmax(z) sum(t) - t) / rows
 *   nll(logp, y)         -mean over rows of logp[y]   d/dlogp = -onehot(y) / rows
 * Every derivative is multiplied by the loss's own incoming gradient.
 * count = all elements (the batch included); rows = samples. Class labels
 * are checked to lie in [0, K) before any kernel runs (the API entry
 * points refuse the call otherwise).
 *
 * Attributes: HUBER f[0] = delta, copied to HUBER_GRAD.
 */
#include "nngen.h"

static const struct {
    Op loss, grad;
    int diff_form; /* a function of p - t: d/dt = -d/dp */
} loss_rules[] = {
    {OP_MSE, OP_MSE_GRAD, 1},   {OP_MAE, OP_MAE_GRAD, 1},   {OP_HUBER, OP_HUBER_GRAD, 1},
    {OP_BCE, OP_BCE_GRAD, 0},   {OP_BCE_LOGITS, OP_BCE_LOGITS_GRAD, 0},
    {OP_CE_CLASS, OP_CE_CLASS_GRAD, 0}, {OP_CE_PROB, OP_CE_PROB_GRAD, 0}, {OP_NLL, OP_NLL_GRAD, 0},
    /* ops/loss_more.c */
    {OP_SMOOTH_L1, OP_SMOOTH_L1_GRAD, 1}, {OP_LOG_COSH, OP_LOG_COSH_GRAD, 1}, {OP_MSLE, OP_MSLE_GRAD, 0},
    {OP_KL_DIV, OP_KL_DIV_GRAD, 0}, {OP_HINGE, OP_HINGE_GRAD, 0},
};

/* ---- lowering ------------------------------------------------------------------ */

/* mse, mae, huber, bce, bce_logits, nll: one fused op; delta goes to f[0] */
int layer_loss(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    int id = lower_node2(c, bi->op, call->loc, b->node[0], b->node[1]);
    if (id >= 0 && bi->nargs > 2) {
        if (b->num[2] <= 0) {
            diag_error(b->loc[2], "%s's %s must be > 0, got %g", bi->name, bi->args[2].name, b->num[2]);
            return -1;
        }
        ir_node(c->g, id)->f[0] = b->num[2];
    }
    return id;
}

/* cross_entropy(z, y): y a class target (fused log-softmax + NLL) or a real
 * target of probabilities of z's shape */
int layer_cross_entropy(LowerCtx *c, const Expr *call, const Bound *b) {
    int y = b->node[1];
    Op op = c->g->nodes[y].op == OP_LABEL ? OP_CE_CLASS : OP_CE_PROB;
    return lower_node2(c, op, call->loc, b->node[0], y);
}

/* smooth_l1(pred, t, beta): beta >= 0 (PyTorch refuses a negative one; 0 is
 * the l1 loss); hinge(z, y, margin): any margin, as MultiMarginLoss */
int layer_loss_arg(LowerCtx *c, const Expr *call, const Bound *b) {
    const Builtin *bi = builtin_find(call->str);
    if (bi->op == OP_SMOOTH_L1 && b->num[2] < 0) {
        diag_error(b->loc[2], "smooth_l1's beta must be >= 0, got %g", b->num[2]);
        return -1;
    }
    int id = lower_node2(c, bi->op, call->loc, b->node[0], b->node[1]);
    if (id >= 0)
        ir_node(c->g, id)->f[0] = b->num[2];
    return id;
}

/* ---- shapes ------------------------------------------------------------------ */

static int loss_error(Graph *g, Node *n, const char *why) {
    shape_error2(g, n, op_info(n->op)->name, &g->nodes[n->in[0]].shape, "and",
                 &g->nodes[n->in[1]].shape, why);
    return -1;
}

/* two real tensors of one shape (no broadcasting between prediction and target) */
int loss_shape(Graph *g, Node *n) {
    const Node *p = &g->nodes[n->in[0]], *t = &g->nodes[n->in[1]];
    if (t->op == OP_LABEL || p->op == OP_LABEL) {
        diag_error(n->loc, "%s needs a real-valued target, but '%s' is a class target",
                   op_info(n->op)->name, t->op == OP_LABEL ? t->name : p->name);
        return -1;
    }
    if (!shape_equal(&p->shape, &t->shape))
        return loss_error(g, n, "the prediction and the target must have the same shape");
    if (n->op == OP_CE_PROB && p->shape.rank < 1)
        return loss_error(g, n, "cross_entropy needs a class dimension");
    Shape s = {0};
    n->shape = s;
    return 0;
}

/* scores [N, K] and a class target of K classes */
int class_loss_shape(Graph *g, Node *n) {
    const Node *p = &g->nodes[n->in[0]], *y = &g->nodes[n->in[1]];
    char why[96];
    if (y->op != OP_LABEL) {
        diag_error(n->loc, "%s needs a class target (target NAME : class(K))", op_info(n->op)->name);
        return -1;
    }
    if (!p->shape.batched || p->shape.rank != 1) {
        snprintf(why, sizeof why, "expected scores of shape [N, %d]", y->i[0]);
        return loss_error(g, n, why);
    }
    if (p->shape.dims[0] != y->i[0]) {
        snprintf(why, sizeof why, "%d scores per sample, but '%s' has %d classes", p->shape.dims[0],
                 y->name, y->i[0]);
        return loss_error(g, n, why);
    }
    Shape s = {0};
    n->shape = s;
    return 0;
}

int loss_grad_shape(Graph *g, Node *n) {
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

/* ---- derivative rule ------------------------------------------------------------ */

int loss_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    for (size_t i = 0; i < sizeof loss_rules / sizeof loss_rules[0]; i++) {
        if (loss_rules[i].loss != g->nodes[n].op)
            continue;
        int p = g->nodes[n].in[0], t = g->nodes[n].in[1];
        int in[3] = {p, t, dy};
        int dp = ad_node(ad, loss_rules[i].grad, n, 3, in);
        ad_accumulate(ad, p, dp);
        if (ad_needs_grad(ad, t)) {
            if (!loss_rules[i].diff_form) {
                diag_error(g->nodes[n].loc, "the target of %s cannot depend on parameters",
                           op_info(g->nodes[n].op)->name);
                return -1;
            }
            ad_accumulate(ad, t, ad_node(ad, OP_NEG, n, 1, &dp));
        }
        return 0;
    }
    nn_unreachable("no derivative kernel for %s", op_info(g->nodes[n].op)->name);
}

/* ---- forward kernels -------------------------------------------------------------- */

/* "(float)n * 6.0f" or "6.0f": the element count of s as a float */
static void count_text(Buf *b, const Shape *s) {
    if (s->batched)
        buf_puts(b, "((float)n * ");
    emit_float(b, (double)shape_numel(s));
    if (s->batched)
        buf_putc(b, ')');
}

/* one term per element pair, summed, divided by the count */
void loss_emit(Emit *e, const Node *n) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    const char *p = emit_ref(e, n->in[0]), *t = emit_ref(e, n->in[1]);
    Buf cnt = {0}, fcnt = {0}, d = {0};
    emit_count(&cnt, e->g, n->in[0]);
    count_text(&fcnt, s);
    emit_float(&d, n->f[0]);
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    emit_open(e, "for (long i = 0; i < %s; i++)", cnt.data);
    switch (n->op) {
    case OP_MSE: emit_line(e, "const float d = %s[i] - %s[i];", p, t); emit_line(e, "acc += d * d;"); break;
    case OP_MAE: emit_line(e, "acc += fabsf(%s[i] - %s[i]);", p, t); break;
    case OP_HUBER:
        emit_line(e, "const float d = %s[i] - %s[i], ad = fabsf(d);", p, t);
        emit_line(e, "acc += ad < %s ? 0.5f * d * d : %s * (ad - 0.5f * %s);", d.data, d.data, d.data);
        break;
    case OP_BCE:
        emit_line(e, "const float lp = logf(%s[i]), lq = logf(1.0f - %s[i]);", p, p);
        emit_line(e, "acc -= %s[i] * (lp < -100.0f ? -100.0f : lp) + (1.0f - %s[i]) * (lq < -100.0f ? -100.0f : lq);", t, t);
        break;
    default: /* OP_BCE_LOGITS: (1 - t) z + m + log(exp(-m) + exp(-z - m)), m = max(-z, 0) */
        emit_line(e, "const float z = %s[i], m = -z > 0.0f ? -z : 0.0f;", p);
        emit_line(e, "acc += (1.0f - %s[i]) * z + m + logf(expf(-m) + expf(-z - m));", t);
        break;
    }
    emit_close(e);
    emit_line(e, "%s[0] = acc / %s;", emit_ref(e, n->id), fcnt.data);
    emit_close(e);
    buf_free(&cnt);
    buf_free(&fcnt);
    buf_free(&d);
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
    emit_line(e, "for (long k = 0; k < %ld; k++) acc -= %s[r * %ld + k] * (zr[k] - lse);", K,
              emit_ref(e, n->in[1]), K);
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

/* ---- derivative kernels ------------------------------------------------------------- */
/* Elementwise ones get (p, t, dloss) element expressions; the count comes from
 * the node's own shape (that of p). */

static void scaled(Buf *o, const Node *n, const char *dl, const char *term) {
    buf_printf(o, "(%s * %s / ", term, dl);
    count_text(o, &n->shape);
    buf_putc(o, ')');
}

void mse_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "2.0f * (%s - %s)", a[0], a[1]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
}

void mae_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "(%s > %s ? 1.0f : (%s < %s ? -1.0f : 0.0f))", a[0], a[1], a[0], a[1]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
}

void huber_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0}, d = {0};
    emit_float(&d, n->f[0]);
    buf_printf(&t, "(%s - %s <= -%s ? -%s : (%s - %s >= %s ? %s : %s - %s))", a[0], a[1], d.data, d.data,
               a[0], a[1], d.data, d.data, a[0], a[1]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
    buf_free(&d);
}

void bce_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "(%s - %s) / ((1.0f - %s) * %s > 1e-12f ? (1.0f - %s) * %s : 1e-12f)", a[0], a[1], a[0],
               a[0], a[0], a[0]);
    scaled(o, n, a[2], t.data);
    buf_free(&t);
}

void bce_logits_grad_expr(Buf *o, const Node *n, const char *const *a) {
    Buf t = {0};
    buf_printf(&t, "(1.0f / (1.0f + expf(-%s)) - %s)", a[0], a[1]);
    scaled(o, n, a[2], t.data);
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
    emit_line(e, "for (long k = 0; k < %ld; k++) %s[r * %ld + k] = (expf(zr[k] - mx) / sum * tsum - %s[r * %ld + k]) * scale;",
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
    emit_line(e, "for (long r = 0; r < n; r++) %s[r * %ld + %s[r]] = -%s / (float)n;", d, K,
              emit_ref(e, n->in[1]), dl.data);
    buf_free(&dl);
    buf_free(&cnt);
}
