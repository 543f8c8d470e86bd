/*
 * loss.c - what every loss shares: its lowering, its shape rules, its
 * derivative rule, and the pieces of C its kernels are made of. The kernels
 * themselves are in loss_regression.c (mse mae huber smooth_l1 log_cosh
 * msle) and loss_class.c (bce bce_logits cross_entropy nll kl_div hinge).
 *
 * A loss is one fused op (PyTorch 1.13, reduction="mean"; kl_div
 * "batchmean") with a hand-derived derivative kernel (pred, target, dloss)
 * -> dpred, so that no loss costs more than one pass over its inputs in
 * each direction. Every derivative is multiplied by the loss's own incoming
 * gradient dloss. The target gets a gradient only when the loss is a
 * function of pred - target (then d/dt = -d/dp); any other loss refuses a
 * target that depends on parameters.
 *
 * Shapes: a regression or probability loss takes two real tensors of one
 * shape (no broadcasting); a class loss takes scores [N, K] and a class
 * target of K classes, whose labels are checked to lie in [0, K) before any
 * kernel runs (the API entry points refuse the call otherwise). The result
 * is a scalar.
 *
 * Attributes: f[0] = huber's delta, smooth_l1's beta, hinge's margin,
 * copied to the derivative kernel.
 */
#include "nngen.h"

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
    shape_error2(g, n, op_info(n->op)->name, &g->nodes[n->in[0]].shape, "and", &g->nodes[n->in[1]].shape, why);
    return -1;
}

/* two real tensors of one shape (no broadcasting between prediction and target) */
int loss_shape(Graph *g, Node *n) {
    const Node *p = &g->nodes[n->in[0]], *t = &g->nodes[n->in[1]];
    if (t->op == OP_LABEL || p->op == OP_LABEL) {
        diag_error(n->loc, "%s needs a real-valued target, but '%s' is a class target", op_info(n->op)->name,
                   t->op == OP_LABEL ? t->name : p->name);
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
        snprintf(why, sizeof why, "%d scores per sample, but '%s' has %d classes", p->shape.dims[0], y->name, y->i[0]);
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

static const struct {
    Op loss, grad;
    int diff_form; /* a function of p - t: d/dt = -d/dp */
} loss_rules[] = {
    /* loss_regression.c */
    {OP_MSE, OP_MSE_GRAD, 1},
    {OP_MAE, OP_MAE_GRAD, 1},
    {OP_HUBER, OP_HUBER_GRAD, 1},
    {OP_SMOOTH_L1, OP_SMOOTH_L1_GRAD, 1},
    {OP_LOG_COSH, OP_LOG_COSH_GRAD, 1},
    {OP_MSLE, OP_MSLE_GRAD, 0},
    /* loss_class.c */
    {OP_BCE, OP_BCE_GRAD, 0},
    {OP_BCE_LOGITS, OP_BCE_LOGITS_GRAD, 0},
    {OP_CE_CLASS, OP_CE_CLASS_GRAD, 0},
    {OP_CE_PROB, OP_CE_PROB_GRAD, 0},
    {OP_NLL, OP_NLL_GRAD, 0},
    {OP_KL_DIV, OP_KL_DIV_GRAD, 0},
    {OP_HINGE, OP_HINGE_GRAD, 0},
};

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

/* ---- pieces of the kernels ------------------------------------------------------ */

void loss_count_float(Buf *b, const Shape *s) {
    if (s->batched)
        buf_puts(b, "((float)n * ");
    emit_float(b, (double)shape_numel(s));
    if (s->batched)
        buf_putc(b, ')');
}

void loss_sum_open(Emit *e, const Node *n) {
    Buf cnt = {0};
    emit_count(&cnt, e->g, n->in[0]);
    emit_begin(e);
    emit_line(e, "float acc = 0.0f;");
    emit_open(e, "for (long i = 0; i < %s; i++)", cnt.data);
    buf_free(&cnt);
}

void loss_sum_close(Emit *e, const Node *n, const char *div) {
    Buf cnt = {0};
    if (!div) {
        loss_count_float(&cnt, &e->g->nodes[n->in[0]].shape);
        div = cnt.data;
    }
    emit_close(e);
    emit_line(e, "%s[0] = acc / %s;", emit_ref(e, n->id), div);
    emit_close(e);
    buf_free(&cnt);
}

void loss_scaled(const Emit *e, Buf *o, const Node *n, const char *dl, const char *term) {
    if (n->shape.batched)
        emit_reads_batch(e); /* the divisor (float)n */
    buf_printf(o, "(%s * %s / ", term, dl);
    loss_count_float(o, &n->shape);
    buf_putc(o, ')');
}
