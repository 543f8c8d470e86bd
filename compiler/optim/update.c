/*
 * update.c - the optimizer updates, one node per parameter (FN_UPDATE),
 * exactly as PyTorch 1.13's torch.optim single-tensor code:
 *
 * sgd:  d = g + wd p
 *       buf = d on the first step, else buf = momentum buf + (1 - dampening) d
 *       d = nesterov ? d + momentum buf : buf          (when momentum != 0)
 *       p -= lr d
 * adam: g += wd p                                        (L2, not decoupled)
 *       m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *       vmax = max(vmax, v)                              (amsgrad)
 *       p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
 * t counts updates from 1; the bias corrections are computed in double, as
 * Python does, and used as float.
 *
 * Attributes: f[] = the optimizer's hyper-parameters (optim.c's hp[]).
 */
#include "nngen.h"

int update_shape(Graph *g, Node *n) {
    if (!shape_equal(&g->nodes[n->in[0]].shape, &g->nodes[n->in[1]].shape))
        nn_unreachable("update of %s with a gradient of another shape", n->s);
    n->shape = g->nodes[n->in[0]].shape;
    return 0;
}

void update_loop_open(Emit *e, const Node *n, const char *const *state, int nstate) {
    const char *cname = emit_param_cname(e, n->in[0]);
    emit_begin(e);
    emit_line(e, "float *p = %s;", emit_ref(e, n->in[0]));
    emit_line(e, "const float *g = %s;", emit_ref(e, n->in[1]));
    for (int k = 0; k < nstate; k++)
        emit_line(e, "float *%s = m->%s.%s;", state[k], state[k], cname);
    emit_open(e, "for (long i = 0; i < %ld; i++)", shape_numel(&n->shape));
}

void sgd_update_emit(Emit *e, const Node *n) {
    double momentum = n->f[0], dampening = n->f[1], wd = n->f[3];
    int nesterov = n->f[2] != 0;
    static const char *const state[] = {"momentum"};
    update_loop_open(e, n, state, momentum != 0);
    if (wd != 0)
        emit_line(e, "float d = g[i] + %s * p[i];", emit_float_lit(e, wd));
    else
        emit_line(e, "float d = g[i];");
    if (momentum != 0) {
        emit_line(e, "momentum[i] = m->step == 0 ? d : %s * momentum[i] + %s * d;", emit_float_lit(e, momentum),
                  emit_float_lit(e, 1.0 - dampening));
        emit_line(e, nesterov ? "d += %s * momentum[i];" : "d = momentum[i];%s", nesterov ? emit_float_lit(e,
                  momentum) : "");
    }
    emit_line(e, "p[i] -= lr * d;");
    emit_close(e);
    emit_close(e);
}

void adam_update_emit(Emit *e, const Node *n) {
    double b1 = n->f[0], b2 = n->f[1], eps = n->f[2], wd = n->f[3];
    int ams = n->f[4] != 0;
    static const char *const state[] = {"adam_m", "adam_v", "adam_vmax"};
    update_loop_open(e, n, state, ams ? 3 : 2);
    if (wd != 0)
        emit_line(e, "const float gi = g[i] + %s * p[i];", emit_float_lit(e, wd));
    else
        emit_line(e, "const float gi = g[i];");
    emit_line(e, "adam_m[i] = adam_m[i] * %s + gi * %s;", emit_float_lit(e, b1), emit_float_lit(e, 1.0 - b1));
    emit_line(e, "adam_v[i] = adam_v[i] * %s + %s * gi * gi;", emit_float_lit(e, b2), emit_float_lit(e, 1.0 - b2));
    if (ams)
        emit_line(e, "if (adam_v[i] > adam_vmax[i]) adam_vmax[i] = adam_v[i];");
    emit_line(e, "p[i] -= step_size * (adam_m[i] / (sqrtf(%s[i]) / bc2_sqrt + %s));",
              ams ? "adam_vmax" : "adam_v", emit_float_lit(e, eps));
    emit_close(e);
    emit_close(e);
}

/* ---- per-step prologues (the top of NET_run_update, once per accepted step) ---- */

/* the learning rate in float, as every kernel uses it */
void sgd_prologue(Emit *e, const Optimizer *o) {
    (void)o;
    emit_line(e, "const float lr = (float)m->lr;");
}

/* step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), t = m->step + 1 */
void adam_prologue(Emit *e, const Optimizer *o) {
    Buf b1 = {0}, b2 = {0};
    buf_printf(&b1, "%.17g", o->hp[0]);
    buf_printf(&b2, "%.17g", o->hp[1]);
    emit_line(e, "/* bias corrections in double, as PyTorch computes them */");
    emit_line(e, "const double t = (double)(m->step + 1);");
    emit_line(e, "const float step_size = (float)(m->lr / (1.0 - pow(%s, t)));", b1.data);
    emit_line(e, "const float bc2_sqrt = (float)sqrt(1.0 - pow(%s, t));", b2.data);
    buf_free(&b1);
    buf_free(&b2);
}

/* per parameter element: sgd 2 (4 with momentum, 2 more with weight decay);
 * adam 12 (moments 6, square root, divide, scale, update) */
double update_flops(const Graph *g, const Node *n, int batch) {
    (void)g;
    (void)batch;
    double per = n->op == OP_ADAM_UPDATE ? 12 : (n->f[0] != 0 ? 4 : 2);
    if (n->f[3] != 0)
        per += 2;
    return per * (double)shape_numel(&n->shape);
}
