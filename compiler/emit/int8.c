/*
 * int8.c - `nngen quantize`: the int8 model of a trained network, in three
 * phases the command (cli/quantize.c) runs in order:
 *
 *   q8_plan       (inside the compilation, on the optimized inference graph
 *                 with --weights loaded) reads the network as a list of
 *                 layers: dense and conv2d with their bias, a batchnorm and
 *                 a relu folded in (conv1d's too, through its [F, L] view);
 *                 max / average pooling; global_avgpool; the add of two
 *                 computed tensors (residuals) with a relu; reshape as a
 *                 view; softmax, log_softmax, sigmoid and tanh as float
 *                 islands. Then places the activations by liveness
 *                 (plan_arena). Copies every float it needs, so the plan
 *                 outlives the graph.
 *   q8_calibrate  runs those layers in float (inference mode) over batches of
 *                 calibration samples and widens each tensor's [min, max].
 *   q8_quantize   turns ranges and float weights into the integer model
 *                 (TensorFlow Lite's int8 scheme, below); q8_emit writes it
 *                 as net.c / net.h with the float API of an --infer-only
 *                 --weights build.
 *
 * The scheme (real = scale * (q - zero_point)):
 *   activations  int8, per tensor:  lo = min(min, 0), hi = max(max, 0),
 *                scale = (hi - lo) / 255 (1 when hi = lo),
 *                zp = clamp(round(-128 - lo / scale), -128, 127)
 *   weights      int8, per output channel c, symmetric (zp 0):
 *                s_w[c] = max |w[c]| / 127 (1 when all are 0),
 *                q = clamp(round(w / s_w[c]), -127, 127)
 *   biases       int32 with scale s_in * s_w[c]: round(b / (s_in s_w[c]))
 *   rescaling    M = s_in s_w[c] / s_out as a Q31 multiplier and a shift
 *                (M = m 2^shift, m in [0.5, 1)), applied as TFLite's
 *                MultiplyByQuantizedMultiplier: a saturating rounding
 *                doubling high multiply, then a rounding divide by 2^-shift
 *   relu         the clamp of the output to [zp_out, 127]
 *   add          TFLite's ADD: (x - zp) << 20 of each input rescaled to
 *                twice the larger input scale, the sum to the output's
 *   mean         TFLite's MEAN: sum (x - zp_in) rescaled by s_in / (L s_out)
 * round() is half away from zero. The integer arithmetic is written out
 * once, in q8_runtime_text (emitted verbatim), and modelled bit for bit by
 * tests/quantize/reference.py.
 *
 * Invariants: layers run in the graph's order; the arena never holds two
 * tensors live at the same time in the same bytes (an elementwise layer may
 * write over an input that dies there); outputs are float members of the
 * model struct; the int8 inner loops hold no float.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

typedef enum LKind {
    L_QUANT,   /* float -> int8 */
    L_DEQUANT, /* int8 -> float */
    L_DENSE,   /* int8 dense (+ folded affine, + relu) */
    L_CONV,    /* int8 conv2d */
    L_MAXPOOL,
    L_AVGPOOL,
    L_RELU,    /* int8 clamp at the zero point */
    L_VIEW,    /* reshape / flatten: the same bytes */
    L_ADD,     /* int8 + int8, both rescaled to the output's scale (+ relu) */
    L_MEAN,    /* global_avgpool: the mean of each channel's row, rescaled */
    L_SOFTMAX, /* float islands */
    L_LOG_SOFTMAX,
    L_SIGMOID,
    L_TANH
} LKind;

typedef struct QTensor {
    long numel; /* per sample */
    int is_float;
    double lo, hi; /* calibration range (float tensors fed to a quantize, int8 results) */
    int seen;      /* lo/hi hold a value */
    double scale;
    int zp;
    int slot;   /* float outputs: index of their own member */
    long off;   /* int8 tensors and float temporaries: byte offset in the arena (max batch samples) */
    int root;   /* the tensor whose bytes it is (itself, or a view's source) */
    int output; /* -1, or the index of the output it is */
    int src;    /* for int8 tensors with inherited parameters: the tensor they copy (-1) */
    long fixed; /* a layer's scratch: its bytes of the arena whatever the batch (0: not a scratch) */
} QTensor;

typedef struct QLayer {
    LKind kind;
    int in, out;
    int in2;     /* add: the second operand */
    int scratch; /* dense: one sample's input widened; conv: the windows (a tensor of the arena, live in this layer) */
    Loc loc;
    const char *op; /* the IR op it came from, for the report */
    /* dense: K inputs, M outputs; conv: the geometry; pools: kh kw sh sw */
    int K, M;
    int c, h, w, f, kh, kw, sh, sw, ph, pw, groups, oh, ow;
    int relu;
    float *wf, *bf; /* folded float weights ([M][K] / [F][C/G][KH][KW]) and bias */
    long wcount;    /* elements of wf */
    int8_t *wq;
    int32_t *bq, *mult;
    int8_t *shift;
    int32_t am[3]; /* add: input 1, input 2, output multipliers; mean: [0] */
    int as[3];     /* their shifts */
} QLayer;

struct Q8Net {
    const char *net;
    int max_batch;
    int input_port_size;
    const char *input_name;
    QTensor *t;
    int nt, tcap;
    QLayer *l;
    int nl, lcap;
    char **out_names; /* per output: its name; out_tensor[k] its tensor */
    int *out_tensor;
    int nout;
    char **in_names; /* every target port, for the TARGET macros */
    int *tg_classes;
    long *tg_size;
    int ntg;
    char **param_names;   /* the float network's parameter table, for NET_param */
    int (*param_dims)[5]; /* rank, dims[4] */
    long *param_size;
    int nparams;
    long float_param_bytes;
    long float_arena_bytes;
    long arena_bytes; /* the int8 tensors and float temporaries, planned by liveness */
    int islands;      /* float-island layers (report) */
};

/* ---- building ------------------------------------------------------------------------------- */

static int add_tensor(Q8Net *q, long numel, int is_float) {
    if (q->nt == q->tcap)
        q->t = base_xrealloc(q->t, sizeof *q->t * (size_t)(q->tcap = q->tcap ? 2 * q->tcap : 16));
    QTensor *t = &q->t[q->nt];
    memset(t, 0, sizeof *t);
    t->numel = numel;
    t->is_float = is_float;
    t->output = -1;
    t->src = -1;
    return q->nt++;
}

static QLayer *add_layer(Q8Net *q, LKind kind, int in, int out, Loc loc, const char *op) {
    if (q->nl == q->lcap)
        q->l = base_xrealloc(q->l, sizeof *q->l * (size_t)(q->lcap = q->lcap ? 2 * q->lcap : 16));
    QLayer *l = &q->l[q->nl++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in = in;
    l->in2 = -1;
    l->scratch = -1;
    l->out = out;
    l->loc = loc;
    l->op = op;
    return l;
}

/* A constant node's values (params, buffers, literals and arithmetic on
 * them), malloc'd, with its element count; NULL when it is not constant. */
static float *eval_const(const Graph *g, int id, long *count) {
    const Node *n = ir_cnode(g, id);
    long numel = shape_numel(&n->shape);
    if (n->shape.batched)
        return NULL;
    if (n->op == OP_PARAM || n->op == OP_BUFFER) {
        const float *src = NULL;
        for (int i = 0; n->op == OP_PARAM && i < g->nparams; i++)
            if (g->params[i].node == id && g->weights)
                src = g->weights[i];
        for (int i = 0; n->op == OP_BUFFER && i < g->nbuffers; i++)
            if (g->buffers[i].node == id && g->buffer_values)
                src = g->buffer_values[i];
        if (!src)
            return NULL;
        float *v = base_xmalloc(sizeof(float) * (size_t)numel);
        memcpy(v, src, sizeof(float) * (size_t)numel);
        *count = numel;
        return v;
    }
    if (n->op == OP_CONST) {
        float *v = base_xmalloc(sizeof(float));
        v[0] = (float)n->f[0];
        *count = 1;
        return v;
    }
    if (n->op == OP_RESHAPE || n->op == OP_SQRT) {
        float *v = eval_const(g, n->in[0], count);
        for (long i = 0; v && n->op == OP_SQRT && i < *count; i++)
            v[i] = sqrtf(v[i]);
        return v;
    }
    if (n->op != OP_ADD && n->op != OP_SUB && n->op != OP_MUL && n->op != OP_DIV)
        return NULL;
    long ca = 0, cb = 0;
    float *a = eval_const(g, n->in[0], &ca), *b = a ? eval_const(g, n->in[1], &cb) : NULL;
    if (!a || !b || (ca != cb && ca != 1 && cb != 1)) {
        free(a);
        free(b);
        return NULL;
    }
    long cn = ca > cb ? ca : cb;
    float *v = base_xmalloc(sizeof(float) * (size_t)cn);
    for (long i = 0; i < cn; i++) {
        float x = a[ca == 1 ? 0 : i], y = b[cb == 1 ? 0 : i];
        v[i] = n->op == OP_ADD ? x + y : n->op == OP_SUB ? x - y : n->op == OP_MUL ? x * y : x / y;
    }
    free(a);
    free(b);
    *count = cn;
    return v;
}

static int is_const_node(const Graph *g, int id) {
    const Node *n = ir_cnode(g, id);
    if (n->op == OP_PARAM || n->op == OP_BUFFER || n->op == OP_CONST)
        return 1;
    if (n->op == OP_INPUT || n->op == OP_LABEL || n->op == OP_TARGET || (ir_op_flags(n->op) & OPF_LEAF))
        return 0;
    for (int k = 0; k < n->nin; k++)
        if (!is_const_node(g, n->in[k]))
            return 0;
    return 1;
}

/* The one live inference node reading id (-1: none or several). */
static int sole_user(const Graph *g, int id, const int *order, int count) {
    int user = -1;
    for (int i = 0; i < count; i++) {
        const Node *n = ir_cnode(g, order[i]);
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == id) {
                if (user >= 0 && user != n->id)
                    return -1;
                user = n->id;
            }
    }
    return user;
}

/* A per-channel constant of a kernel's output (channels ch, per-channel
 * block `inner` elements): the constant's values, one per channel, or NULL. */
static float *channel_const(const Graph *g, int id, int ch, const Shape *out) {
    const Node *n = ir_cnode(g, id);
    long count = 0;
    if (!is_const_node(g, id))
        return NULL;
    /* its shape must broadcast along the channel axis only: [ch] for dense, [ch, 1, 1] for conv,
     * [ch, 1] for conv1d (a conv2d over one-row images seen as [ch, L]) */
    long numel = shape_numel(&n->shape);
    int ok = numel == 1 || (out->rank == 1 && n->shape.rank == 1 && n->shape.dims[0] == ch) ||
             (out->rank == 2 && n->shape.rank == 2 && n->shape.dims[0] == ch && n->shape.dims[1] == 1) ||
             (out->rank == 3 && n->shape.rank == 3 && n->shape.dims[0] == ch && n->shape.dims[1] == 1 &&
              n->shape.dims[2] == 1);
    float *v = ok ? eval_const(g, id, &count) : NULL;
    if (!v)
        return NULL;
    float *per = base_xmalloc(sizeof(float) * (size_t)ch);
    for (int c = 0; c < ch; c++)
        per[c] = v[count == 1 ? 0 : c];
    free(v);
    return per;
}

/* Folds the elementwise chain after a dense / conv node into y = a * acc + b
 * per channel (bias, batchnorm in inference form, any add / sub / mul / div
 * by a per-channel constant), then a relu. Passes conv1d's view of its
 * [F, 1, L] result as [F, L] (the same bytes). Stops at an output. Returns
 * the last node folded; a and b (ch each) hold the affine map. */
static int fold_chain(const Graph *g, int id, int ch, float *a, float *b, int *relu, const int *order, int count,
                      unsigned char *done) {
    const Shape *out = &ir_cnode(g, id)->shape;
    for (;;) {
        if (ir_is_output(g, id))
            return id;
        int u = sole_user(g, id, order, count);
        if (u < 0)
            return id;
        const Node *n = ir_cnode(g, u);
        if (n->op == OP_RESHAPE && out->rank == 3 && out->dims[1] == 1 && n->shape.rank == 2 &&
            n->shape.dims[0] == ch && n->shape.dims[1] == out->dims[2]) {
            out = &n->shape;
            done[u] = 1;
            id = u;
            continue;
        }
        if (n->op == OP_RELU && !*relu) {
            *relu = 1;
            done[u] = 1;
            id = u;
            continue;
        }
        if (*relu || n->nin != 2 || (n->op != OP_ADD && n->op != OP_SUB && n->op != OP_MUL && n->op != OP_DIV))
            return id;
        int side = n->in[0] == id ? 1 : 0; /* the constant's operand */
        if (n->in[side] == id)
            return id;
        float *v = channel_const(g, n->in[side], ch, out);
        if (!v || (n->op == OP_DIV && side == 0)) {
            free(v);
            return id;
        }
        for (int c = 0; c < ch; c++) {
            switch (n->op) {
            case OP_ADD:
                b[c] += v[c];
                break;
            case OP_SUB:
                if (side == 1)
                    b[c] -= v[c];
                else {
                    a[c] = -a[c];
                    b[c] = v[c] - b[c];
                }
                break;
            case OP_MUL:
                a[c] *= v[c];
                b[c] *= v[c];
                break;
            default:
                a[c] /= v[c];
                b[c] /= v[c];
                break;
            }
        }
        free(v);
        done[u] = 1;
        id = u;
    }
}

/* The int8 tensor standing for node id's value (a quantize after a float one). */
static int int8_of(Q8Net *q, int *map, int id, Loc loc) {
    int t = map[id];
    if (!q->t[t].is_float)
        return t;
    int o = add_tensor(q, q->t[t].numel, 0);
    add_layer(q, L_QUANT, t, o, loc, "quantize");
    return o;
}

static int float_of(Q8Net *q, int *map, int id, Loc loc) {
    int t = map[id];
    if (q->t[t].is_float)
        return t;
    int o = add_tensor(q, q->t[t].numel, 1);
    add_layer(q, L_DEQUANT, t, o, loc, "dequantize");
    return o;
}

static int plan_dense(Q8Net *q, const Graph *g, const Node *n, int *map, const int *order, int count,
                      unsigned char *done) {
    const Node *x = ir_cnode(g, n->in[0]), *w = ir_cnode(g, n->in[1]);
    long wc = 0;
    float *wv;
    if (n->i[0] || n->i[1] || !x->shape.batched || x->shape.rank != 1 || w->shape.batched || w->shape.rank != 2 ||
        !(wv = eval_const(g, w->id, &wc))) {
        diag_error(n->loc, "nngen quantize: this matrix product is not a dense layer (a batch of vectors times "
                           "a constant matrix), and has no int8 kernel");
        return -1;
    }
    int K = w->shape.dims[0], M = w->shape.dims[1];
    float *a = base_xmalloc(sizeof(float) * (size_t)M), *b = base_xcalloc((size_t)M, sizeof(float));
    for (int c = 0; c < M; c++)
        a[c] = 1.0f;
    int relu = 0, last = fold_chain(g, n->id, M, a, b, &relu, order, count, done);
    int in = int8_of(q, map, x->id, n->loc);
    int out = add_tensor(q, M, 0);
    QLayer *l = add_layer(q, L_DENSE, in, out, ir_cnode(g, last)->loc, "dense");
    l->K = K;
    l->M = M;
    l->relu = relu;
    l->scratch = add_tensor(q, K, 0);
    q->t[l->scratch].fixed = 2L * K; /* int16 */
    l->wcount = (long)K * M;
    l->wf = base_xmalloc(sizeof(float) * (size_t)l->wcount);
    for (int c = 0; c < M; c++)
        for (int k = 0; k < K; k++)
            l->wf[(long)c * K + k] = wv[(long)k * M + c] * a[c]; /* [K, M] -> [M][K], scaled */
    l->bf = b;
    free(a);
    free(wv);
    map[last] = out;
    return 0;
}

/* output positions of the host convolution's tile (NNQ_TP in q8_text_conv) */
enum { Q8_TILE = 8 };

/* a window's length rounded up to a multiple of 4 (the packed filters, the host's gathered windows) */
static long packed_k(long K) {
    return (K + 3) / 4 * 4;
}

static int plan_conv(Q8Net *q, const Graph *g, const Node *n, int *map, const int *order, int count,
                     unsigned char *done) {
    const Node *x = ir_cnode(g, n->in[0]), *w = ir_cnode(g, n->in[1]);
    long wc = 0;
    float *wv = eval_const(g, w->id, &wc);
    if (!wv) {
        diag_error(n->loc, "nngen quantize: the filters of this convolution are not constant");
        return -1;
    }
    int F = w->shape.dims[0];
    float *a = base_xmalloc(sizeof(float) * (size_t)F), *b = base_xcalloc((size_t)F, sizeof(float));
    for (int c = 0; c < F; c++)
        a[c] = 1.0f;
    int relu = 0, last = fold_chain(g, n->id, F, a, b, &relu, order, count, done);
    int in = int8_of(q, map, x->id, n->loc);
    int out = add_tensor(q, shape_numel(&n->shape), 0);
    QLayer *l = add_layer(q, L_CONV, in, out, ir_cnode(g, last)->loc, "conv2d");
    l->c = x->shape.dims[0];
    l->h = x->shape.dims[1];
    l->w = x->shape.dims[2];
    l->f = F;
    l->kh = n->i[0];
    l->kw = n->i[1];
    l->sh = n->i[2];
    l->sw = n->i[3];
    l->ph = (int)n->f[0];
    l->pw = (int)n->f[1];
    l->groups = (int)n->f[2];
    l->oh = n->shape.dims[1];
    l->ow = n->shape.dims[2];
    l->M = F;
    l->K = (int)(wc / F);
    l->relu = relu;
    /* the windows: one as int16 (the Arm DSP kernel), or Q8_TILE side by side as bytes, K rounded up to
     * a multiple of 4, and 8 bytes for the gather's last 8-byte store */
    l->scratch = add_tensor(q, l->K, 0);
    q->t[l->scratch].fixed = 2L * l->K > Q8_TILE * packed_k(l->K) + 8 ? 2L * l->K : Q8_TILE * packed_k(l->K) + 8;
    l->wcount = wc;
    l->wf = wv;
    for (int f = 0; f < F; f++)
        for (int k = 0; k < l->K; k++)
            wv[(long)f * l->K + k] *= a[f];
    l->bf = b;
    free(a);
    map[last] = out;
    return 0;
}

static int same_shape(const Shape *a, const Shape *b) {
    if (a->rank != b->rank || a->batched != b->batched)
        return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d])
            return 0;
    return 1;
}

/* x + y of two computed tensors of one shape (a residual connection), then a relu */
static int plan_add(Q8Net *q, const Graph *g, const Node *n, int *map, const int *order, int count,
                    unsigned char *done) {
    const Shape *a = &ir_cnode(g, n->in[0])->shape, *b = &ir_cnode(g, n->in[1])->shape;
    if (map[n->in[0]] < 0 || map[n->in[1]] < 0 || !same_shape(a, b)) {
        diag_error(n->loc, "nngen quantize: this add has no int8 kernel: it adds two computed values of one "
                           "shape (a residual connection), or a per-channel constant right after a dense or "
                           "conv2d (folded into it)");
        return -1;
    }
    int x = int8_of(q, map, n->in[0], n->loc), y = int8_of(q, map, n->in[1], n->loc);
    int last = n->id, u = ir_is_output(g, n->id) ? -1 : sole_user(g, n->id, order, count);
    if (u >= 0 && ir_cnode(g, u)->op == OP_RELU) {
        done[u] = 1;
        last = u;
    }
    int out = add_tensor(q, shape_numel(&n->shape), 0);
    QLayer *l = add_layer(q, L_ADD, x, out, ir_cnode(g, last)->loc, "add");
    l->in2 = y;
    l->relu = last != n->id;
    map[last] = out;
    return 0;
}

/* global_avgpool: the mean over the last axis of [C, L] (images are viewed as [C, H W]) */
static int plan_mean(Q8Net *q, const Graph *g, const Node *n, int *map) {
    const Shape *xs = &ir_cnode(g, n->in[0])->shape;
    if (xs->rank != 2 || n->i[0] != 1) {
        diag_error(n->loc, "nngen quantize: this mean has no int8 kernel: only over the last axis of [C, L] "
                           "(global_avgpool)");
        return -1;
    }
    int in = int8_of(q, map, n->in[0], n->loc), out = add_tensor(q, xs->dims[0], 0);
    QLayer *l = add_layer(q, L_MEAN, in, out, n->loc, "global_avgpool");
    l->c = xs->dims[0];
    l->K = xs->dims[1];
    map[n->id] = out;
    return 0;
}

static int plan_node(Q8Net *q, const Graph *g, const Node *n, int *map, const int *order, int count,
                     unsigned char *done) {
    if (n->op == OP_ADD)
        return plan_add(q, g, n, map, order, count, done);
    int in = n->nin ? map[n->in[0]] : -1;
    if (n->nin && in < 0) {
        diag_error(n->loc, "nngen quantize: %s reads a value the int8 chain does not compute", ir_op_name(n->op));
        return -1;
    }
    switch (n->op) {
    case OP_MATMUL:
        return plan_dense(q, g, n, map, order, count, done);
    case OP_CONV2D:
        return plan_conv(q, g, n, map, order, count, done);
    case OP_MEAN_AXIS:
        return plan_mean(q, g, n, map);
    case OP_RESHAPE: {
        if (q->t[in].is_float && !ir_is_output(g, n->id)) { /* a float view is its source: the same floats */
            map[n->id] = in;
            return 0;
        }
        int o = add_tensor(q, q->t[in].numel, q->t[in].is_float);
        add_layer(q, L_VIEW, in, o, n->loc, "reshape");
        map[n->id] = o;
        return 0;
    }
    case OP_MAXPOOL2D:
    case OP_AVGPOOL2D:
    case OP_RELU: {
        int i8 = int8_of(q, map, n->in[0], n->loc);
        int o = add_tensor(q, shape_numel(&n->shape), 0);
        LKind k = n->op == OP_MAXPOOL2D ? L_MAXPOOL : n->op == OP_AVGPOOL2D ? L_AVGPOOL : L_RELU;
        QLayer *l = add_layer(q, k, i8, o, n->loc, ir_op_name(n->op));
        if (k != L_RELU) {
            const Shape *xs = &ir_cnode(g, n->in[0])->shape;
            l->c = xs->dims[0];
            l->h = xs->dims[1];
            l->w = xs->dims[2];
            l->kh = n->i[0];
            l->kw = n->i[1];
            l->sh = n->i[2];
            l->sw = n->i[3];
            l->oh = n->shape.dims[1];
            l->ow = n->shape.dims[2];
        }
        map[n->id] = o;
        return 0;
    }
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_SIGMOID:
    case OP_TANH: {
        if ((n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX) && (n->shape.rank != 1 || n->i[0] != 0)) {
            diag_error(n->loc,
                       "nngen quantize: %s over an axis of a tensor of rank %d has no float island; "
                       "only over a vector",
                       ir_op_name(n->op), n->shape.rank);
            return -1;
        }
        int fi = float_of(q, map, n->in[0], n->loc);
        int o = add_tensor(q, shape_numel(&n->shape), 1);
        LKind k = n->op == OP_SOFTMAX       ? L_SOFTMAX
                  : n->op == OP_LOG_SOFTMAX ? L_LOG_SOFTMAX
                  : n->op == OP_SIGMOID     ? L_SIGMOID
                                            : L_TANH;
        QLayer *l = add_layer(q, k, fi, o, n->loc, ir_op_name(n->op));
        l->K = (int)shape_numel(&n->shape);
        q->islands++;
        map[n->id] = o;
        return 0;
    }
    default:
        diag_error(n->loc,
                   "nngen quantize: %s has no int8 kernel and no float island yet (int8: dense, conv2d, "
                   "batchnorm folded, relu, add, maxpool2d, avgpool2d, global_avgpool, reshape; float: "
                   "softmax, log_softmax, sigmoid, tanh)",
                   ir_op_name(n->op));
        return -1;
    }
}

static void plan_tables(Q8Net *q, const Graph *g) {
    q->param_names = base_xcalloc((size_t)g->nparams + 1, sizeof(char *));
    q->param_dims = base_xcalloc((size_t)g->nparams + 1, sizeof *q->param_dims);
    q->param_size = base_xcalloc((size_t)g->nparams + 1, sizeof(long));
    q->nparams = g->nparams;
    for (int i = 0; i < g->nparams; i++) {
        const Node *p = ir_cnode(g, g->params[i].node);
        q->param_names[i] = base_xstrdup(g->params[i].name);
        q->param_dims[i][0] = p->shape.rank;
        for (int k = 0; k < p->shape.rank && k < 4; k++)
            q->param_dims[i][k + 1] = p->shape.dims[k];
        q->param_size[i] = shape_numel(&p->shape);
        q->float_param_bytes += 4 * q->param_size[i];
    }
    for (int i = 0; i < g->nbuffers; i++)
        q->float_param_bytes += 4 * shape_numel(&ir_cnode(g, g->buffers[i].node)->shape);
    q->float_arena_bytes = 4 * g->arena_floats;
    q->tg_classes = base_xcalloc((size_t)g->nports + 1, sizeof(int));
    q->tg_size = base_xcalloc((size_t)g->nports + 1, sizeof(long));
    q->in_names = base_xcalloc((size_t)g->nports + 1, sizeof(char *));
    for (int i = 0; i < g->nports; i++)
        if (g->ports[i].is_target) {
            q->in_names[q->ntg] = base_xstrdup(g->ports[i].name);
            q->tg_classes[q->ntg] = g->ports[i].is_class ? g->ports[i].classes : 0;
            q->tg_size[q->ntg++] = shape_numel(&g->ports[i].shape);
        }
}

/* Bytes of tensor t for max_batch samples (0: not in the arena: the caller's
 * input, an output's own member). */
static long arena_size(const Q8Net *q, int t) {
    const QTensor *x = &q->t[t];
    if (t == 0 || (x->is_float && x->output >= 0))
        return 0;
    if (x->fixed)
        return x->fixed;
    return x->numel * q->max_batch * (x->is_float ? 4 : 1);
}

/* The first offset (a multiple of align) at which size bytes overlap none of
 * the placed tensors in conflict[0..nc) */
static long first_fit(const Q8Net *q, const int *conflict, int nc, long size, long align) {
    long off = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int k = 0; k < nc; k++) {
            const QTensor *c = &q->t[conflict[k]];
            long end = c->off + arena_size(q, conflict[k]);
            if (off < end && c->off < off + size) {
                off = (end + align - 1) / align * align;
                moved = 1;
            }
        }
    }
    return off;
}

/* The layers at which each root's bytes are first written and last read
 * (-1: never) */
static void live_ranges(const Q8Net *q, int *birth, int *death) {
    for (int t = 0; t < q->nt; t++)
        birth[t] = death[t] = -1;
    for (int i = 0; i < q->nl; i++) {
        const QLayer *l = &q->l[i];
        int out = q->t[l->out].root;
        if (birth[out] < 0)
            birth[out] = i;
        death[out] = i;
        death[q->t[l->in].root] = i;
        if (l->in2 >= 0)
            death[q->t[l->in2].root] = i;
        if (l->scratch >= 0)
            birth[l->scratch] = death[l->scratch] = i;
    }
}

/* The arena: each int8 tensor and float temporary gets bytes that no tensor
 * live at the same time uses. A tensor lives from the layer writing it to the
 * last layer reading it or a view of it (a view is its source's bytes: the
 * same root). An elementwise layer (relu, add) writes over an input whose
 * bytes die there (its output joins that root). The roots are placed largest
 * first, each at the lowest offset free of the roots already placed that are
 * live at the same time. Float outputs are members of their own; int8
 * parameters are inherited through views, pools and relu. */
static void plan_arena(Q8Net *q) {
    size_t nt = (size_t)q->nt;
    int *birth = base_xmalloc(sizeof(int) * nt), *death = base_xmalloc(sizeof(int) * nt);
    int *order = base_xmalloc(sizeof(int) * nt), *conflict = base_xmalloc(sizeof(int) * nt);
    int *inplace = base_xmalloc(sizeof(int) * ((size_t)q->nl + 1)), nfloat = 0, nr = 0;
    for (int t = 0; t < q->nt; t++) {
        q->t[t].root = t;
        q->t[t].off = -1;
        if (q->t[t].is_float && q->t[t].output >= 0)
            q->t[t].slot = nfloat++;
    }
    for (int i = 0; i < q->nl; i++) {
        QLayer *l = &q->l[i];
        QTensor *in = &q->t[l->in], *out = &q->t[l->out];
        if (l->kind == L_VIEW && !out->is_float)
            out->root = in->root;
        if (l->kind == L_VIEW || l->kind == L_MAXPOOL || l->kind == L_AVGPOOL || l->kind == L_RELU)
            if (!out->is_float)
                out->src = in->src >= 0 ? in->src : l->in; /* the same scale and zero point */
    }
    live_ranges(q, birth, death);
    for (int i = 0; i < q->nl; i++) { /* in place: each value is read before it is written */
        const QLayer *l = &q->l[i];
        int a = q->t[l->in].root, b = l->in2 >= 0 ? q->t[l->in2].root : -1;
        long size = arena_size(q, l->out);
        inplace[i] = -1;
        if (l->kind != L_RELU && l->kind != L_ADD)
            continue;
        if (death[a] == i && arena_size(q, a) == size && size)
            inplace[i] = l->in;
        else if (b >= 0 && death[b] == i && arena_size(q, b) == size && size)
            inplace[i] = l->in2;
    }
    for (int i = 0; i < q->nl; i++) {
        QLayer *l = &q->l[i];
        if (l->kind == L_VIEW && !q->t[l->out].is_float)
            q->t[l->out].root = q->t[l->in].root;
        else if (inplace[i] >= 0)
            q->t[l->out].root = q->t[inplace[i]].root;
    }
    live_ranges(q, birth, death);
    for (int t = 0; t < q->nt; t++)
        if (q->t[t].root == t && birth[t] >= 0 && arena_size(q, t))
            order[nr++] = t;
    for (int k = 1; k < nr; k++) /* largest first; the earlier of two of one size first */
        for (int m = k; m > 0 && arena_size(q, order[m]) > arena_size(q, order[m - 1]); m--) {
            int t = order[m];
            order[m] = order[m - 1];
            order[m - 1] = t;
        }
    q->arena_bytes = 0;
    for (int k = 0; k < nr; k++) {
        int r = order[k], nc = 0;
        for (int m = 0; m < k; m++)
            if (birth[order[m]] <= death[r] && birth[r] <= death[order[m]])
                conflict[nc++] = order[m];
        long size = arena_size(q, r);
        q->t[r].off = first_fit(q, conflict, nc, size, q->t[r].is_float || q->t[r].fixed ? 4 : 1);
        if (q->t[r].off + size > q->arena_bytes)
            q->arena_bytes = q->t[r].off + size;
    }
    for (int t = 0; t < q->nt; t++)
        q->t[t].off = q->t[q->t[t].root].off;
    free(birth);
    free(death);
    free(order);
    free(conflict);
    free(inplace);
}

Q8Net *q8_plan(const Graph *g) {
    int in_port = -1, ninputs = 0;
    for (int i = 0; i < g->nports; i++)
        if (!g->ports[i].is_target) {
            in_port = i;
            ninputs++;
        }
    if (ninputs != 1) {
        diag_error(ninputs ? ir_cnode(g, g->ports[in_port].node)->loc : (Loc){1, 1},
                   "nngen quantize: the network needs exactly one input (it has %d)", ninputs);
        return NULL;
    }
    Q8Net *q = base_xcalloc(1, sizeof *q);
    q->net = base_xstrdup(g->net);
    q->max_batch = g->max_batch;
    const Port *p = &g->ports[in_port];
    q->input_name = base_xstrdup(p->name);
    q->input_port_size = (int)shape_numel(&p->shape);
    int *map = base_xmalloc(sizeof(int) * (size_t)g->count);
    unsigned char *done = base_xcalloc((size_t)g->count, 1);
    for (int i = 0; i < g->count; i++)
        map[i] = -1;
    map[p->node] = add_tensor(q, q->input_port_size, 1);
    int *order;
    int count = ir_func_nodes(g, FN_INFER, &order), rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        const Node *n = ir_cnode(g, order[i]);
        if (done[n->id] || is_const_node(g, n->id))
            continue;
        rc = plan_node(q, g, n, map, order, count, done);
    }
    q->nout = g->noutputs;
    q->out_names = base_xcalloc((size_t)g->noutputs + 1, sizeof(char *));
    q->out_tensor = base_xcalloc((size_t)g->noutputs + 1, sizeof(int));
    for (int k = 0; k < g->noutputs && rc == 0; k++) {
        int node = g->outputs[k].node, t = map[node];
        Loc loc = ir_cnode(g, node)->loc;
        q->out_names[k] = base_xstrdup(g->outputs[k].name);
        if (t < 0) {
            diag_error(loc, "nngen quantize: output %s is not computed by the int8 chain", g->outputs[k].name);
            rc = -1;
            break;
        }
        /* every output is a float member of its own */
        t = q->t[t].is_float && q->t[t].output < 0 ? t : float_of(q, map, node, loc);
        if (q->t[t].output >= 0) { /* the same tensor twice: a copy through a dequantize-free view */
            int o = add_tensor(q, q->t[t].numel, 1);
            add_layer(q, L_VIEW, t, o, loc, "copy");
            t = o;
        }
        q->t[t].output = k;
        q->out_tensor[k] = t;
    }
    int kernels = 0;
    for (int i = 0; i < q->nl; i++)
        kernels += q->l[i].kind == L_DENSE || q->l[i].kind == L_CONV;
    if (rc == 0 && !kernels) {
        diag_error(ir_cnode(g, p->node)->loc,
                   "nngen quantize: network %s has no dense or conv2d layer: it would "
                   "run in float islands only, nothing to quantize",
                   g->net);
        rc = -1;
    }
    if (rc == 0)
        plan_arena(q);
    plan_tables(q, g);
    free(map);
    free(done);
    if (rc < 0) {
        q8_free(q);
        return NULL;
    }
    return q;
}

void q8_free(Q8Net *q) {
    if (!q)
        return;
    for (int i = 0; i < q->nl; i++) {
        free(q->l[i].wf);
        free(q->l[i].bf);
        free(q->l[i].wq);
        free(q->l[i].bq);
        free(q->l[i].mult);
        free(q->l[i].shift);
    }
    for (int k = 0; k < q->nout; k++)
        free(q->out_names[k]);
    for (int k = 0; k < q->ntg; k++)
        free(q->in_names[k]);
    for (int k = 0; k < q->nparams; k++)
        free(q->param_names[k]);
    free(q->param_names);
    free(q->param_dims);
    free(q->param_size);
    free(q->in_names);
    free(q->tg_classes);
    free(q->tg_size);
    free(q->out_names);
    free(q->out_tensor);
    free(q->t);
    free(q->l);
    free((char *)q->net);
    free((char *)q->input_name);
    free(q);
}

int q8_input_size(const Q8Net *q) {
    return q->input_port_size;
}

/* ---- calibration: the chain in float --------------------------------------------------------- */

static void widen(QTensor *t, const float *v, long count) {
    for (long i = 0; i < count; i++) {
        double x = v[i];
        if (x != x)
            continue;
        if (!t->seen || x < t->lo)
            t->lo = x;
        if (!t->seen || x > t->hi)
            t->hi = x;
        t->seen = 1;
    }
}

static void run_dense_f(const QLayer *l, const float *x, float *y, int n) {
    for (int s = 0; s < n; s++)
        for (int c = 0; c < l->M; c++) {
            double acc = l->bf[c];
            for (int k = 0; k < l->K; k++)
                acc += (double)x[(long)s * l->K + k] * l->wf[(long)c * l->K + k];
            y[(long)s * l->M + c] = l->relu && acc < 0 ? 0.0f : (float)acc;
        }
}

static void run_conv_f(const QLayer *l, const float *x, float *y, int n) {
    int cg = l->c / l->groups, fg = l->f / l->groups;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < l->f; f++)
            for (int oy = 0; oy < l->oh; oy++)
                for (int ox = 0; ox < l->ow; ox++) {
                    double acc = l->bf[f];
                    for (int c = 0; c < cg; c++) {
                        int ci = (f / fg) * cg + c;
                        for (int ky = 0; ky < l->kh; ky++) {
                            int iy = oy * l->sh - l->ph + ky;
                            for (int kx = 0; kx < l->kw && iy >= 0 && iy < l->h; kx++) {
                                int ix = ox * l->sw - l->pw + kx;
                                if (ix >= 0 && ix < l->w)
                                    acc += (double)x[(((long)s * l->c + ci) * l->h + iy) * l->w + ix] *
                                           l->wf[(((long)f * cg + c) * l->kh + ky) * l->kw + kx];
                            }
                        }
                    }
                    y[(((long)s * l->f + f) * l->oh + oy) * l->ow + ox] = l->relu && acc < 0 ? 0.0f : (float)acc;
                }
}

static void run_pool_f(const QLayer *l, const float *x, float *y, int n) {
    for (int s = 0; s < n; s++)
        for (int c = 0; c < l->c; c++)
            for (int oy = 0; oy < l->oh; oy++)
                for (int ox = 0; ox < l->ow; ox++) {
                    double acc = l->kind == L_MAXPOOL ? -INFINITY : 0;
                    for (int ky = 0; ky < l->kh; ky++)
                        for (int kx = 0; kx < l->kw; kx++) {
                            float v = x[(((long)s * l->c + c) * l->h + oy * l->sh + ky) * l->w + ox * l->sw + kx];
                            acc = l->kind == L_MAXPOOL ? (v > acc ? v : acc) : acc + v;
                        }
                    if (l->kind == L_AVGPOOL)
                        acc /= l->kh * l->kw;
                    y[(((long)s * l->c + c) * l->oh + oy) * l->ow + ox] = (float)acc;
                }
}

static void run_island_f(const QLayer *l, const float *x, float *y, long count, int K) {
    if (l->kind == L_SIGMOID || l->kind == L_TANH) {
        for (long i = 0; i < count; i++)
            y[i] = l->kind == L_SIGMOID ? 1.0f / (1.0f + expf(-x[i])) : tanhf(x[i]);
        return;
    }
    for (long r = 0; r < count / K; r++) {
        const float *a = x + r * K;
        float *b = y + r * K, mx = a[0];
        double sum = 0;
        for (int k = 1; k < K; k++)
            mx = a[k] > mx ? a[k] : mx;
        for (int k = 0; k < K; k++)
            sum += exp((double)a[k] - mx);
        for (int k = 0; k < K; k++)
            b[k] = l->kind == L_SOFTMAX ? (float)(exp((double)a[k] - mx) / sum) : (float)((double)a[k] - mx - log(sum));
    }
}

void q8_calibrate(Q8Net *q, const float *x, int n) {
    float **v = base_xcalloc((size_t)q->nt, sizeof(float *));
    v[0] = (float *)x;
    widen(&q->t[0], x, (long)n * q->t[0].numel);
    for (int i = 0; i < q->nl; i++) {
        const QLayer *l = &q->l[i];
        QTensor *out = &q->t[l->out];
        long count = (long)n * out->numel;
        const float *in = v[l->in];
        float *y = v[l->out] = base_xmalloc(sizeof(float) * (size_t)(count ? count : 1));
        switch (l->kind) {
        case L_DENSE:
            run_dense_f(l, in, y, n);
            break;
        case L_CONV:
            run_conv_f(l, in, y, n);
            break;
        case L_MAXPOOL:
        case L_AVGPOOL:
            run_pool_f(l, in, y, n);
            break;
        case L_RELU:
            for (long k = 0; k < count; k++)
                y[k] = in[k] < 0 ? 0.0f : in[k];
            break;
        case L_ADD:
            for (long k = 0; k < count; k++) {
                float sum = in[k] + v[l->in2][k];
                y[k] = l->relu && sum < 0 ? 0.0f : sum;
            }
            break;
        case L_MEAN:
            for (long r = 0; r < count; r++) {
                double acc = 0;
                for (int k = 0; k < l->K; k++)
                    acc += in[r * l->K + k];
                y[r] = (float)(acc / l->K);
            }
            break;
        case L_QUANT:
        case L_DEQUANT:
        case L_VIEW:
            memcpy(y, in, sizeof(float) * (size_t)count);
            break;
        default:
            run_island_f(l, in, y, count, l->K);
            break;
        }
        if (l->kind == L_QUANT)
            widen(&q->t[l->in], in, count);
        if (!out->is_float)
            widen(out, y, count);
    }
    for (int i = 1; i < q->nt; i++)
        free(v[i]);
    free(v);
}

/* ---- quantization --------------------------------------------------------------------------- */

/* round half away from zero */
static double round_away(double x) {
    return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5);
}

/* TFLite's QuantizeMultiplier: M = m * 2^shift, m in [0.5, 1) as Q31. */
void q8_quantize_multiplier(double real, int32_t *mult, int *shift) {
    if (real == 0) {
        *mult = 0;
        *shift = 0;
        return;
    }
    int e;
    double m = frexp(real, &e);
    long long qm = (long long)round_away(m * 2147483648.0);
    if (qm == 2147483648LL) {
        qm /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        qm = 0;
    }
    *mult = (int32_t)qm;
    *shift = e;
}

/* scale and zero point of an activation range */
static void choose_params(QTensor *t) {
    double lo = t->seen && t->lo < 0 ? t->lo : 0, hi = t->seen && t->hi > 0 ? t->hi : 0;
    t->scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
    /* the scale as the generated code holds it (float) */
    t->scale = (double)(float)t->scale;
    double zp = round_away(-128.0 - lo / t->scale);
    t->zp = zp < -128 ? -128 : zp > 127 ? 127 : (int)zp;
}

static void quantize_kernel(QLayer *l, const QTensor *in, const QTensor *out) {
    int M = l->M;
    long K = l->wcount / M;
    l->wq = base_xmalloc((size_t)l->wcount);
    l->bq = base_xmalloc(sizeof(int32_t) * (size_t)M);
    l->mult = base_xmalloc(sizeof(int32_t) * (size_t)M);
    l->shift = base_xmalloc((size_t)M);
    for (int c = 0; c < M; c++) {
        double mx = 0;
        for (long k = 0; k < K; k++)
            mx = fmax(mx, fabs(l->wf[c * K + k]));
        double sw = mx > 0 ? mx / 127.0 : 1.0;
        long long wsum = 0;
        for (long k = 0; k < K; k++) {
            double r = round_away(l->wf[c * K + k] / sw);
            l->wq[c * K + k] = (int8_t)(r < -127 ? -127 : r > 127 ? 127 : r);
            wsum += l->wq[c * K + k];
        }
        double bias = round_away(l->bf[c] / (in->scale * sw));
        /* the kernels take x + 128 (0..255: bytes for vector dot products of unsigned and signed bytes);
         * the input's zero point and the 128 go into the bias: sum (x - zp) w = sum (x + 128) w - (zp + 128)
         * sum w (a convolution's padding is zp + 128, nothing) */
        bias -= (double)(in->zp + 128) * (double)wsum;
        bias = bias < -2147483648.0 ? -2147483648.0 : bias > 2147483647.0 ? 2147483647.0 : bias;
        l->bq[c] = (int32_t)bias;
        int sh;
        q8_quantize_multiplier(in->scale * sw / out->scale, &l->mult[c], &sh);
        l->shift[c] = (int8_t)(sh < -31 ? -31 : sh > 30 ? 30 : sh);
    }
}

/* TensorFlow Lite's int8 ADD: both inputs, shifted left by 20 bits, are
 * rescaled to twice the larger input scale, added, and the sum rescaled to
 * the output's scale. */
static void quantize_add(QLayer *l, double s1, double s2, double so) {
    double twice_max = 2 * (s1 > s2 ? s1 : s2);
    q8_quantize_multiplier(s1 / twice_max, &l->am[0], &l->as[0]);
    q8_quantize_multiplier(s2 / twice_max, &l->am[1], &l->as[1]);
    q8_quantize_multiplier(twice_max / ((double)(1 << 20) * so), &l->am[2], &l->as[2]);
    for (int k = 0; k < 3; k++)
        l->as[k] = l->as[k] < -31 ? -31 : l->as[k] > 30 ? 30 : l->as[k];
}

void q8_quantize(Q8Net *q) {
    for (int i = 0; i < q->nt; i++)
        if (q->t[i].src < 0)
            choose_params(&q->t[i]);
    for (int i = 0; i < q->nt; i++)
        if (q->t[i].src >= 0) {
            q->t[i].scale = q->t[q->t[i].src].scale;
            q->t[i].zp = q->t[q->t[i].src].zp;
        }
    for (int i = 0; i < q->nl; i++) {
        QLayer *l = &q->l[i];
        if (l->kind == L_DENSE || l->kind == L_CONV)
            quantize_kernel(l, &q->t[l->in], &q->t[l->out]);
        else if (l->kind == L_ADD)
            quantize_add(l, q->t[l->in].scale, q->t[l->in2].scale, q->t[l->out].scale);
        else if (l->kind == L_MEAN) {
            q8_quantize_multiplier(q->t[l->in].scale / (l->K * q->t[l->out].scale), &l->am[0], &l->as[0]);
            l->as[0] = l->as[0] < -31 ? -31 : l->as[0] > 30 ? 30 : l->as[0];
        }
    }
}

/* ---- sizes and the report ------------------------------------------------------------------- */

long q8_flash_bytes(const Q8Net *q) {
    long b = 0;
    for (int i = 0; i < q->nl; i++)
        if (q->l[i].kind == L_DENSE || q->l[i].kind == L_CONV)
            b += q->l[i].wcount + 9L * q->l[i].M; /* int8 weights; int32 bias and multiplier, int8 shift */
        else if (q->l[i].kind == L_ADD)
            b += 4 * 9; /* zero points, multipliers and shifts */
    return b;
}

long q8_ram_bytes(const Q8Net *q) {
    long b = (q->arena_bytes + 3) / 4 * 4;
    for (int i = 1; i < q->nt; i++)
        if (q->t[i].is_float && q->t[i].output >= 0)
            b += 4 * q->t[i].numel * q->max_batch;
    return b;
}

static char *upper_dup(const char *s) {
    char *u = base_xstrdup(s);
    for (char *c = u; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    return u;
}

void q8_report(const Q8Net *q, FILE *f) {
    fprintf(f, "int8 model of %s (nngen quantize)\n", q->net);
    fprintf(f, "  %-14s %-10s %12s %12s  %s\n", "layer", "runs in", "scale", "zero point", "line");
    for (int i = 0; i < q->nl; i++) {
        const QLayer *l = &q->l[i];
        const QTensor *o = &q->t[l->out];
        if (l->kind == L_VIEW)
            continue;
        int fl = l->kind >= L_SOFTMAX || l->kind == L_DEQUANT;
        if (o->is_float)
            fprintf(f, "  %-14s %-10s %12s %12s  %d\n", l->op, fl ? "float" : "int8", "-", "-", l->loc.line);
        else
            fprintf(f, "  %-14s %-10s %12.6g %12d  %d%s\n", l->op, "int8", o->scale, o->zp, l->loc.line,
                    l->relu ? " (relu fused)" : "");
    }
    fprintf(f, "float islands: %d", q->islands);
    for (int i = 0, first = 1; i < q->nl; i++)
        if (q->l[i].kind >= L_SOFTMAX) {
            fprintf(f, "%s %s (line %d)", first ? ":" : ",", q->l[i].op, q->l[i].loc.line);
            first = 0;
        }
    fprintf(f, "\n");
    fprintf(f, "flash (const data): %ld bytes int8 (float build: %ld bytes of weights)\n", q8_flash_bytes(q),
            q->float_param_bytes);
    long packed = 0; /* the convolutions' filters elsewhere than on the Arm DSP: windows rounded up to 4 */
    for (int i = 0; i < q->nl; i++)
        if (q->l[i].kind == L_CONV)
            packed += (long)q->l[i].f * (packed_k(q->l[i].K) - q->l[i].K);
    if (packed)
        fprintf(f,
                "  (%ld without the Arm DSP extension: the filters packed for vector dot products, %ld bytes of "
                "zeros)\n",
                q8_flash_bytes(q) + packed, packed);
    fprintf(f, "RAM (model struct, max batch %d): %ld bytes int8 (float build: %ld bytes of activations)\n",
            q->max_batch, q8_ram_bytes(q), q->float_arena_bytes);
    char *up = upper_dup(q->net);
    for (int conv = 0; conv < 2; conv++) {
        long widest = 0;
        for (int i = 0; i < q->nl; i++)
            if (q->l[i].scratch >= 0 && (q->l[i].kind == L_CONV) == conv && q->t[q->l[i].scratch].fixed > widest)
                widest = q->t[q->l[i].scratch].fixed;
        if (widest && !conv)
            fprintf(f,
                    "scratch: %ld bytes of the arena (%s_ARENA_BYTES) hold a dense layer's input as x + 128, two bytes "
                    "a value\n",
                    widest, up);
        else if (widest)
            fprintf(f,
                    "scratch: %ld bytes of the arena (%s_ARENA_BYTES) hold a convolution's windows as x + 128 (%d "
                    "side by side; one as int16 on the Arm DSP)\n",
                    widest, up, Q8_TILE);
    }
    free(up);
}

/* ---- the C ---------------------------------------------------------------------------------- */

/* The integer arithmetic of the generated code, verbatim (static: several
 * networks link together). Each piece is written only when a layer uses it
 * (an unused static function is a warning). The rescaling is TFLite's
 * MultiplyByQuantizedMultiplier; `>>` of a negative value is an arithmetic
 * shift, as on every compiler nngen targets (the typedef refuses others). */
static const char q8_text_scale[] =
    "typedef char nnq_arithmetic_shift[(-1 >> 1) == -1 ? 1 : -1];\n"
    "/* round(a * b / 2^31), saturating the one overflow (TFLite's SaturatingRoundingDoublingHighMul). TFLite\n"
    " * writes (ab + nudge) / 2^31 with nudge 2^30 (ab >= 0) or 1 - 2^30 and a division that truncates: for\n"
    " * every ab that is the floor of (ab + 2^30) / 2^31, one shift and no branch */\n"
    "static int32_t nnq_high_mul(int32_t a, int32_t b) {\n"
    "    const int64_t ab = (int64_t)a * b;\n"
    "    return a == b && a == INT32_MIN ? INT32_MAX : (int32_t)((ab + ((int64_t)1 << 30)) >> 31);\n"
    "}\n"
    "/* x / 2^e rounded to nearest, ties away from zero (TFLite's RoundingDivideByPOT) */\n"
    "static int32_t nnq_div_pot(int32_t x, int e) {\n"
    "    int32_t mask = (int32_t)(((int64_t)1 << e) - 1), rem = x & mask, thr = (mask >> 1) + (x < 0 ? 1 : 0);\n"
    "    return (x >> e) + (rem > thr ? 1 : 0);\n"
    "}\n"
    "/* x * mult * 2^(shift - 31), rounded (TFLite's MultiplyByQuantizedMultiplier; x * 2^shift saturates) */\n"
    "static int32_t nnq_scale(int32_t x, int32_t mult, int shift) {\n"
    "    if (shift > 0) {\n"
    "        int64_t v = (int64_t)x * ((int64_t)1 << shift);\n"
    "        x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;\n"
    "    }\n"
    "    return nnq_div_pot(nnq_high_mul(x, mult), shift > 0 ? 0 : -shift);\n"
    "}\n"
    "static int8_t nnq_clamp(int32_t v, int32_t lo, int32_t hi) {\n"
    "    return (int8_t)(v < lo ? lo : v > hi ? hi : v);\n"
    "}\n";

static const char q8_text_dot[] =
    "/* Dot products of activations x + 128 (0..255: a dense layer's input, on the Arm DSP also a convolution's\n"
    " * window, elsewhere the convolution has its own tiles, below; the bias\n"
    " * holds -(zero point + 128) times the weights' sum) with rows of K int8 weights, NNQ_ROWS rows at a time\n"
    " * sharing the loads of x. Integer sums: the same in any order. With the Arm DSP extension (Cortex-M4,\n"
    " * M7, M33) the activations are int16 in the order nnq_order leaves them (per four values x0 x2 x1 x3,\n"
    " * the last K % 4 in order), the weights read four at a time and unpacked with SXTB16, two SMLADs per\n"
    " * four multiply-adds. Elsewhere they are bytes, and the plain loops become vector dot products of\n"
    " * unsigned and signed bytes (x86-64 with VNNI: vpdpbusd or vpdpwssd; pmullw or pmaddwd without). */\n"
    "#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)\n"
    "#define NNQ_DSP 1\n"
    "#include <arm_acle.h>\n"
    "#define NNQ_ROWS 3\n"
    "typedef int16_t nnq_act;\n"
    "/* the int16 values live in the model's float arena (the same bytes as other layers' values): a compiler\n"
    " * barrier at the start and end of the kernels that use them keeps type-based alias analysis from moving\n"
    " * their accesses across the float ones of the layers around (no instruction) */\n"
    "#define NNQ_FENCE() __asm__ __volatile__(\"\" ::: \"memory\")\n"
    "static int32_t nnq_load32(const void *p) {\n"
    "    int32_t v;\n"
    "    __builtin_memcpy(&v, p, 4);\n"
    "    return v;\n"
    "}\n"
    "/* a + w0 x0 + w1 x1 + w2 x2 + w3 x3: w the four int8 of v, xe = (x0, x2) and xo = (x1, x3) int16 pairs\n"
    " * (SXTB16 with ROR #8 for the odd bytes: gcc 12's arm_acle.h has no __ror to fold into it) */\n"
    "static int32_t nnq_mac4(int32_t a, int32_t v, int32_t xe, int32_t xo) {\n"
    "    int32_t odd;\n"
    "    __asm__(\"sxtb16 %0, %1, ror #8\" : \"=r\"(odd) : \"r\"(v));\n"
    "    return __smlad(odd, xo, __smlad(__sxtb16(v), xe, a));\n"
    "}\n"
    "static void nnq_order(nnq_act *x, int K) {\n"
    "    for (int k = 0; k + 4 <= K; k += 4) {\n"
    "        const nnq_act t = x[k + 1];\n"
    "        x[k + 1] = x[k + 2];\n"
    "        x[k + 2] = t;\n"
    "    }\n"
    "}\n"
    "static void nnq_dot_rows(const nnq_act *x, const int8_t *w, int K, int32_t *acc) {\n"
    "    const int8_t *w0 = w, *w1 = w0 + K, *w2 = w1 + K;\n"
    "    int32_t a0 = 0, a1 = 0, a2 = 0;\n"
    "    for (int g = K >> 2; g > 0; g--) {\n"
    "        const int32_t xe = nnq_load32(x), xo = nnq_load32(x + 2);\n"
    "        a0 = nnq_mac4(a0, nnq_load32(w0), xe, xo);\n"
    "        a1 = nnq_mac4(a1, nnq_load32(w1), xe, xo);\n"
    "        a2 = nnq_mac4(a2, nnq_load32(w2), xe, xo);\n"
    "        x += 4;\n"
    "        w0 += 4;\n"
    "        w1 += 4;\n"
    "        w2 += 4;\n"
    "    }\n"
    "    for (int k = 0; k < (K & 3); k++) {\n"
    "        const int32_t v = x[k];\n"
    "        a0 += v * w0[k];\n"
    "        a1 += v * w1[k];\n"
    "        a2 += v * w2[k];\n"
    "    }\n"
    "    acc[0] = a0;\n"
    "    acc[1] = a1;\n"
    "    acc[2] = a2;\n"
    "}\n"
    "static int32_t nnq_dot(const nnq_act *x, const int8_t *w, int K) {\n"
    "    int32_t a = 0;\n"
    "    for (int g = K >> 2; g > 0; g--) {\n"
    "        a = nnq_mac4(a, nnq_load32(w), nnq_load32(x), nnq_load32(x + 2));\n"
    "        x += 4;\n"
    "        w += 4;\n"
    "    }\n"
    "    for (int k = 0; k < (K & 3); k++)\n"
    "        a += (int32_t)x[k] * w[k];\n"
    "    return a;\n"
    "}\n";

static const char q8_text_dot_portable[] =
    "#else\n"
    "typedef uint8_t nnq_act; /* bytes: they may alias anything */\n"
    "#define NNQ_FENCE() ((void)0)\n"
    "static void nnq_order(nnq_act *x, int K) {\n"
    "    (void)x;\n"
    "    (void)K;\n"
    "}\n"
    "#if UINTPTR_MAX > 0xFFFFFFFFu\n"
    "#define NNQ_ROWS 8 /* 64-bit processors: registers for eight rows (and their vector sums) */\n"
    "static void nnq_dot_rows(const nnq_act *x, const int8_t *w, int K, int32_t *acc) {\n"
    "    const int8_t *w0 = w, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K, *w4 = w3 + K, *w5 = w4 + K, *w6 = w5 + K,\n"
    "                 *w7 = w6 + K;\n"
    "    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;\n"
    "    for (int k = 0; k < K; k++) {\n"
    "        const int32_t v = x[k];\n"
    "        a0 += v * w0[k];\n"
    "        a1 += v * w1[k];\n"
    "        a2 += v * w2[k];\n"
    "        a3 += v * w3[k];\n"
    "        a4 += v * w4[k];\n"
    "        a5 += v * w5[k];\n"
    "        a6 += v * w6[k];\n"
    "        a7 += v * w7[k];\n"
    "    }\n"
    "    acc[0] = a0;\n"
    "    acc[1] = a1;\n"
    "    acc[2] = a2;\n"
    "    acc[3] = a3;\n"
    "    acc[4] = a4;\n"
    "    acc[5] = a5;\n"
    "    acc[6] = a6;\n"
    "    acc[7] = a7;\n"
    "}\n"
    "#else\n"
    "#define NNQ_ROWS 4\n"
    "static void nnq_dot_rows(const nnq_act *x, const int8_t *w, int K, int32_t *acc) {\n"
    "    const int8_t *w0 = w, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;\n"
    "    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;\n"
    "    for (int k = 0; k < K; k++) {\n"
    "        const int32_t v = x[k];\n"
    "        a0 += v * w0[k];\n"
    "        a1 += v * w1[k];\n"
    "        a2 += v * w2[k];\n"
    "        a3 += v * w3[k];\n"
    "    }\n"
    "    acc[0] = a0;\n"
    "    acc[1] = a1;\n"
    "    acc[2] = a2;\n"
    "    acc[3] = a3;\n"
    "}\n"
    "#endif\n"
    "static int32_t nnq_dot(const nnq_act *x, const int8_t *w, int K) {\n"
    "    int32_t a = 0;\n"
    "    for (int k = 0; k < K; k++)\n"
    "        a += (int32_t)x[k] * w[k];\n"
    "    return a;\n"
    "}\n"
    "#endif\n";

static const char q8_text_dense[] =
    "/* y[s][c] = clamp(scale(bias[c] + sum_k (x[s][k] + 128) w[c][k]) + zo): the input's zero point (and the\n"
    " * 128) is in bias. Each sample's x + 128 goes to xw first (K values of the arena, nnq_dot_rows's order). */\n"
    "static void nnq_dense(const int8_t *x, int8_t *y, int n, int K, int M, const int8_t *w, const int32_t *bias,\n"
    "                      const int32_t *mult, const int8_t *shift, int32_t zo, int32_t lo, int32_t hi, nnq_act *xw) {\n"
    "    NNQ_FENCE();\n"
    "    for (int s = 0; s < n; s++) {\n"
    "        const int8_t *xs = x + (long)s * K;\n"
    "        int8_t *ys = y + (long)s * M;\n"
    "        int c = 0;\n"
    "        for (int k = 0; k < K; k++)\n"
    "            xw[k] = (nnq_act)(xs[k] + 128);\n"
    "        nnq_order(xw, K);\n"
    "        for (; c + NNQ_ROWS <= M; c += NNQ_ROWS) {\n"
    "            int32_t acc[NNQ_ROWS];\n"
    "            nnq_dot_rows(xw, w + (long)c * K, K, acc);\n"
    "            for (int r = 0; r < NNQ_ROWS; r++)\n"
    "                ys[c + r] = nnq_clamp(nnq_scale(acc[r] + bias[c + r], mult[c + r], shift[c + r]) + zo, lo, hi);\n"
    "        }\n"
    "        for (; c < M; c++)\n"
    "            ys[c] = nnq_clamp(nnq_scale(nnq_dot(xw, w + (long)c * K, K) + bias[c], mult[c], shift[c]) + zo, lo, hi);\n"
    "    }\n"
    "    NNQ_FENCE();\n"
    "}\n";

static const char q8_text_conv[] =
    "/* direct convolution, [C, H, W] per sample; the bias holds -(zi + 128) times the filter's sum */\n"
    "typedef struct nnq_geom { int c, h, w, f, kh, kw, sh, sw, ph, pw, groups, oh, ow; } nnq_geom;\n"
    "#if defined(NNQ_DSP)\n"
    "/* With the Arm DSP extension, filters [F][C/G][KH][KW]. Per output position, the window of x + 128 goes\n"
    " * to the scratch (C/G KH KW int16 values; the padding is the input's zero point, zi + 128 there), then\n"
    " * its dot product with each filter of the group, NNQ_ROWS filters at a time (nnq_dot_rows). */\n"
    "static void nnq_conv(const int8_t *x, int8_t *y, int n, const nnq_geom *g, const int8_t *w, const int32_t *bias,\n"
    "                     const int32_t *mult, const int8_t *shift, int32_t zi, int32_t zo, int32_t lo, int32_t hi,\n"
    "                     void *scratch) {\n"
    "    nnq_act *patch = (nnq_act *)scratch;\n"
    "    const nnq_act pad = (nnq_act)(zi + 128);\n"
    "    NNQ_FENCE();\n"
    "    const int cg = g->c / g->groups, fg = g->f / g->groups, K = cg * g->kh * g->kw;\n"
    "    const long plane = (long)g->oh * g->ow;\n"
    "    for (int s = 0; s < n; s++)\n"
    "        for (int gr = 0; gr < g->groups; gr++) {\n"
    "            const int8_t *xs = x + ((long)s * g->c + (long)gr * cg) * g->h * g->w;\n"
    "            for (int oy = 0; oy < g->oh; oy++)\n"
    "                for (int ox = 0; ox < g->ow; ox++) {\n"
    "                    int8_t *yp = y + ((long)s * g->f + (long)gr * fg) * plane + (long)oy * g->ow + ox;\n"
    "                    int k = 0, f = 0;\n"
    "                    for (int c = 0; c < cg; c++)\n"
    "                        for (int ky = 0; ky < g->kh; ky++) {\n"
    "                            const int iy = oy * g->sh - g->ph + ky, x0 = ox * g->sw - g->pw;\n"
    "                            if (iy < 0 || iy >= g->h) {\n"
    "                                for (int kx = 0; kx < g->kw; kx++)\n"
    "                                    patch[k++] = pad;\n"
    "                                continue;\n"
    "                            }\n"
    "                            const int8_t *xr = xs + ((long)c * g->h + iy) * g->w;\n"
    "                            if (x0 >= 0 && x0 + g->kw <= g->w) /* inside the row: no test a value */\n"
    "                                for (int kx = 0; kx < g->kw; kx++)\n"
    "                                    patch[k++] = (nnq_act)(xr[x0 + kx] + 128);\n"
    "                            else\n"
    "                                for (int kx = 0, ix = x0; kx < g->kw; kx++, ix++)\n"
    "                                    patch[k++] = ix >= 0 && ix < g->w ? (nnq_act)(xr[ix] + 128) : pad;\n"
    "                        }\n"
    "                    nnq_order(patch, K);\n"
    "                    const int8_t *wg = w + (long)gr * fg * K;\n"
    "                    const int32_t *bg = bias + (long)gr * fg, *mg = mult + (long)gr * fg;\n"
    "                    const int8_t *sg = shift + (long)gr * fg;\n"
    "                    for (; f + NNQ_ROWS <= fg; f += NNQ_ROWS) {\n"
    "                        int32_t acc[NNQ_ROWS];\n"
    "                        nnq_dot_rows(patch, wg + (long)f * K, K, acc);\n"
    "                        for (int r = 0; r < NNQ_ROWS; r++)\n"
    "                            yp[(f + r) * plane] = nnq_clamp(nnq_scale(bg[f + r] + acc[r], mg[f + r], sg[f + r]) + zo, lo, hi);\n"
    "                    }\n"
    "                    for (; f < fg; f++)\n"
    "                        yp[f * plane] = nnq_clamp(nnq_scale(bg[f] + nnq_dot(patch, wg + (long)f * K, K), mg[f], sg[f]) + zo, lo, hi);\n"
    "                }\n"
    "        }\n"
    "    NNQ_FENCE();\n"
    "}\n";

static const char q8_text_conv_host[] =
    "#else\n"
    "/* Elsewhere a tile of NNQ_TP output positions at a time: their windows of x + 128 side by side in the\n"
    " * scratch (im2col: NNQ_TP rows of kp bytes, K rounded up to a multiple of 4; the padding is the input's\n"
    " * zero point, zi + 128 there), then the dot products of the tile with up to 16 filters at a time\n"
    " * (nnq_conv_tile). The filters are packed at generation time, per group [kp / 4][F / G][4]: four weights\n"
    " * of a filter side by side, then the next filter's four; zero past K. */\n"
    "#define NNQ_TP 8\n"
    "#if defined(__AVX512F__) && defined(__AVX512VNNI__)\n"
    "#include <immintrin.h>\n"
    "#define NNQ_VNNI 1\n"
    "#elif defined(__AVX2__)\n"
    "#include <immintrin.h>\n"
    "#define NNQ_AVX2 1\n"
    "#endif\n";

static const char q8_text_conv_gather[] =
    "#if defined(NNQ_VNNI)\n"
    "/* a mask of the n low bytes (none when n <= 0) */\n"
    "static uint64_t nnq_bytes(int n) {\n"
    "    return n <= 0 ? 0 : n >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << 8 * n) - 1;\n"
    "}\n"
    "#endif\n"
    "/* The windows of the positions p0 .. p0 + np - 1 as int8 (the padding: zi), then x + 128 (x ^ 0x80) */\n"
    "static void nnq_gather(const int8_t *xs, const nnq_geom *g, int cg, long p0, int np, int kp, uint8_t *patch,\n"
    "                       int8_t pad) {\n"
    "    const long plane = (long)g->h * g->w, n = (long)np * kp;\n"
    "    long i = 0;\n"
    "    for (int p = 0; p < np; p++) {\n"
    "        const int oy = (int)((p0 + p) / g->ow), ox = (int)((p0 + p) % g->ow);\n"
    "        const int x0 = ox * g->sw - g->pw, y0 = oy * g->sh - g->ph;\n"
    "        int8_t *d = (int8_t *)patch + (long)p * kp;\n"
    "#if defined(NNQ_VNNI)\n"
    "        if (g->kw <= 8 && x0 >= 0 && x0 + g->kw <= g->w && y0 >= 0 && y0 + g->kh <= g->h &&\n"
    "            (cg - 1) * plane + (long)(y0 + g->kh - 1) * g->w + x0 + 8 <= cg * plane) {\n"
    "            /* inside the input: eight bytes a window row (those past it are written over next, or land past K) */\n"
    "            const int8_t *src = xs + (long)y0 * g->w + x0;\n"
    "            for (int c = 0; c < cg; c++, src += plane)\n"
    "                for (int ky = 0; ky < g->kh; ky++, d += g->kw)\n"
    "                    _mm_storel_epi64((__m128i *)(void *)d,\n"
    "                                     _mm_loadl_epi64((const __m128i *)(const void *)(src + (long)ky * g->w)));\n"
    "            continue;\n"
    "        }\n"
    "        if (g->kw <= 8) { /* on the input's edge: eight bytes a window row, the padding put in by masks */\n"
    "            const int lo = x0 < 0 ? -x0 : 0, hi = x0 + g->kw > g->w ? x0 + g->kw - g->w : 0;\n"
    "            const uint64_t keep = nnq_bytes(g->kw - hi) & ~nnq_bytes(lo), padv = 0x0101010101010101u * (uint8_t)pad;\n"
    "            for (int c = 0; c < cg; c++)\n"
    "                for (int ky = 0; ky < g->kh; ky++, d += g->kw) {\n"
    "                    const int iy = y0 + ky;\n"
    "                    const long at = c * plane + (long)iy * g->w + x0 + lo;\n"
    "                    uint64_t v = padv;\n"
    "                    if (iy >= 0 && iy < g->h && keep) {\n"
    "                        if (at + 8 <= cg * plane)\n"
    "                            __builtin_memcpy(&v, xs + at, 8);\n"
    "                        else { /* the group's last bytes */\n"
    "                            v = 0;\n"
    "                            for (int j = 0; j < 8 && at + j < cg * plane; j++)\n"
    "                                v |= (uint64_t)(uint8_t)xs[at + j] << 8 * j;\n"
    "                        }\n"
    "                        v = ((v << 8 * lo) & keep) | (padv & ~keep);\n"
    "                    }\n"
    "                    __builtin_memcpy(d, &v, 8);\n"
    "                }\n"
    "            continue;\n"
    "        }\n"
    "#endif\n"
    "        for (int c = 0; c < cg; c++)\n"
    "            for (int ky = 0; ky < g->kh; ky++, d += g->kw) {\n"
    "                const int iy = y0 + ky;\n"
    "                const int8_t *xr = xs + c * plane + (long)iy * g->w;\n"
    "                if (iy < 0 || iy >= g->h)\n"
    "                    for (int kx = 0; kx < g->kw; kx++)\n"
    "                        d[kx] = pad;\n"
    "                else if (x0 >= 0 && x0 + g->kw <= g->w)\n"
    "                    for (int kx = 0; kx < g->kw; kx++)\n"
    "                        d[kx] = xr[x0 + kx];\n"
    "                else\n"
    "                    for (int kx = 0, ix = x0; kx < g->kw; kx++, ix++)\n"
    "                        d[kx] = ix >= 0 && ix < g->w ? xr[ix] : pad;\n"
    "            }\n"
    "    }\n"
    "#if defined(NNQ_VNNI)\n"
    "    for (; i + 64 <= n; i += 64)\n"
    "        _mm512_storeu_si512(patch + i, _mm512_xor_si512(_mm512_loadu_si512(patch + i), _mm512_set1_epi8(-128)));\n"
    "#endif\n"
    "    for (; i < n; i++)\n"
    "        patch[i] ^= 0x80;\n"
    "}\n";

static const char q8_text_conv_vnni[] =
    "#if defined(NNQ_VNNI)\n"
    "/* nnq_scale of 16 lanes, each with its filter's multiplier and shifts (ls = max(shift, 0), rs =\n"
    " * max(-shift, 0)): the same integer steps */\n"
    "static __m512i nnq_scale16(__m512i x, __m512i mult, __m512i ls, __m512i rs) {\n"
    "    const __m512i one = _mm512_set1_epi32(1), min = _mm512_set1_epi32(INT32_MIN);\n"
    "    const __m512i half = _mm512_set1_epi64((long long)1 << 30);\n"
    "    const __m512i up = _mm512_sllv_epi32(x, ls); /* x * 2^ls, saturating */\n"
    "    const __mmask16 over = _mm512_cmpneq_epi32_mask(_mm512_srav_epi32(up, ls), x);\n"
    "    x = _mm512_mask_mov_epi32(up, over, _mm512_xor_si512(_mm512_srai_epi32(x, 31), _mm512_set1_epi32(INT32_MAX)));\n"
    "    /* (x mult + 2^30) >> 31 in 64 bits, the even lanes and the odd */\n"
    "    const __m512i ev = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, mult), half), 31);\n"
    "    const __m512i od = _mm512_srai_epi64(\n"
    "        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(mult, 32)), half), 31);\n"
    "    __m512i h = _mm512_mask_blend_epi32(0xAAAA, ev, _mm512_slli_epi64(od, 32));\n"
    "    h = _mm512_mask_mov_epi32(h, _mm512_cmpeq_epi32_mask(x, min) & _mm512_cmpeq_epi32_mask(mult, min),\n"
    "                              _mm512_set1_epi32(INT32_MAX));\n"
    "    /* the rounding divide by 2^rs */\n"
    "    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, rs), one);\n"
    "    const __m512i thr = _mm512_add_epi32(_mm512_srli_epi32(mask, 1), _mm512_srli_epi32(h, 31));\n"
    "    const __m512i q = _mm512_srav_epi32(h, rs);\n"
    "    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, mask), thr), q, one);\n"
    "}\n"
    "/* nnq_clamp(q + zo, lo, hi) of 16 lanes, as bytes */\n"
    "static __m128i nnq_out16(__m512i q, __m512i zo, __m512i lo, __m512i hi) {\n"
    "    return _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zo), lo), hi));\n"
    "}\n"
    "static __m512i nnq_bcast4(const uint8_t *p) {\n"
    "    int32_t v;\n"
    "    __builtin_memcpy(&v, p, 4);\n"
    "    return _mm512_set1_epi32(v);\n"
    "}\n"
    "/* 16 filters' bytes of 8 positions, one __m128i a position, to y: each filter's 8 bytes at once */\n"
    "static void nnq_store_tile(const __m128i *o, int8_t *y, long plane) {\n"
    "    __m128i a[8], b[8];\n"
    "    for (int i = 0; i < 4; i++) {\n"
    "        a[2 * i] = _mm_unpacklo_epi8(o[2 * i], o[2 * i + 1]);\n"
    "        a[2 * i + 1] = _mm_unpackhi_epi8(o[2 * i], o[2 * i + 1]);\n"
    "    }\n"
    "    for (int i = 0; i < 2; i++)\n"
    "        for (int j = 0; j < 2; j++) {\n"
    "            b[4 * i + 2 * j] = _mm_unpacklo_epi16(a[4 * i + j], a[4 * i + 2 + j]);\n"
    "            b[4 * i + 2 * j + 1] = _mm_unpackhi_epi16(a[4 * i + j], a[4 * i + 2 + j]);\n"
    "        }\n"
    "    for (int j = 0; j < 4; j++) { /* b[j]: filters 4j..4j+3 of positions 0..3, b[4 + j]: of 4..7 */\n"
    "        const __m128i lo = _mm_unpacklo_epi32(b[j], b[4 + j]), hi = _mm_unpackhi_epi32(b[j], b[4 + j]);\n"
    "        _mm_storel_epi64((__m128i *)(void *)(y + (4L * j) * plane), lo);\n"
    "        _mm_storel_epi64((__m128i *)(void *)(y + (4L * j + 1) * plane), _mm_unpackhi_epi64(lo, lo));\n"
    "        _mm_storel_epi64((__m128i *)(void *)(y + (4L * j + 2) * plane), hi);\n"
    "        _mm_storel_epi64((__m128i *)(void *)(y + (4L * j + 3) * plane), _mm_unpackhi_epi64(hi, hi));\n"
    "    }\n"
    "}\n";

static const char q8_text_conv_tile[] =
    "/* y[(f + j) plane + p] for the filters f.. f + 15 (those of the group: fg) and the np positions of the\n"
    " * patch: vpdpbusd of four bytes of a window (broadcast) with four weights of 16 filters, eight chains */\n"
    "static void nnq_conv_tile(const uint8_t *patch, int kp, int np, const int8_t *w, int fg, int f, const int32_t *bias,\n"
    "                          const int32_t *mult, const int8_t *shift, int32_t zo, int32_t lo, int32_t hi, int8_t *y,\n"
    "                          long plane) {\n"
    "    const int nf = fg - f < 16 ? fg - f : 16;\n"
    "    const __mmask16 lanes = (__mmask16)((1u << nf) - 1);\n"
    "    int32_t ls[16], rs[16];\n"
    "    for (int j = 0; j < 16; j++) {\n"
    "        const int s = j < nf ? shift[f + j] : 0;\n"
    "        ls[j] = s > 0 ? s : 0;\n"
    "        rs[j] = s > 0 ? 0 : -s;\n"
    "    }\n"
    "    const __m512i b = _mm512_maskz_loadu_epi32(lanes, bias + f);\n"
    "    __m512i a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;\n"
    "    const int8_t *wk = w + 4L * f;\n"
    "    for (int k = 0; k < kp; k += 4, wk += 4L * fg) {\n"
    "        const __m512i v = _mm512_maskz_loadu_epi32(lanes, wk);\n"
    "        a0 = _mm512_dpbusd_epi32(a0, nnq_bcast4(patch + k), v);\n"
    "        a1 = _mm512_dpbusd_epi32(a1, nnq_bcast4(patch + kp + k), v);\n"
    "        a2 = _mm512_dpbusd_epi32(a2, nnq_bcast4(patch + 2 * kp + k), v);\n"
    "        a3 = _mm512_dpbusd_epi32(a3, nnq_bcast4(patch + 3 * kp + k), v);\n"
    "        a4 = _mm512_dpbusd_epi32(a4, nnq_bcast4(patch + 4 * kp + k), v);\n"
    "        a5 = _mm512_dpbusd_epi32(a5, nnq_bcast4(patch + 5 * kp + k), v);\n"
    "        a6 = _mm512_dpbusd_epi32(a6, nnq_bcast4(patch + 6 * kp + k), v);\n"
    "        a7 = _mm512_dpbusd_epi32(a7, nnq_bcast4(patch + 7 * kp + k), v);\n"
    "    }\n"
    "    const __m512i m = _mm512_maskz_loadu_epi32(lanes, mult + f), l = _mm512_loadu_si512(ls),\n"
    "                  r = _mm512_loadu_si512(rs), z = _mm512_set1_epi32(zo), vlo = _mm512_set1_epi32(lo),\n"
    "                  vhi = _mm512_set1_epi32(hi);\n"
    "    __m128i o[8];\n"
    "    o[0] = nnq_out16(nnq_scale16(a0, m, l, r), z, vlo, vhi);\n"
    "    o[1] = nnq_out16(nnq_scale16(a1, m, l, r), z, vlo, vhi);\n"
    "    o[2] = nnq_out16(nnq_scale16(a2, m, l, r), z, vlo, vhi);\n"
    "    o[3] = nnq_out16(nnq_scale16(a3, m, l, r), z, vlo, vhi);\n"
    "    o[4] = nnq_out16(nnq_scale16(a4, m, l, r), z, vlo, vhi);\n"
    "    o[5] = nnq_out16(nnq_scale16(a5, m, l, r), z, vlo, vhi);\n"
    "    o[6] = nnq_out16(nnq_scale16(a6, m, l, r), z, vlo, vhi);\n"
    "    o[7] = nnq_out16(nnq_scale16(a7, m, l, r), z, vlo, vhi);\n"
    "    if (nf == 16 && np == NNQ_TP) {\n"
    "        nnq_store_tile(o, y + (long)f * plane, plane);\n"
    "        return;\n"
    "    }\n"
    "    for (int p = 0; p < np; p++) {\n"
    "        int8_t t[16];\n"
    "        _mm_storeu_si128((__m128i *)(void *)t, o[p]);\n"
    "        for (int j = 0; j < nf; j++)\n"
    "            y[(long)(f + j) * plane + p] = t[j];\n"
    "    }\n"
    "}\n";

static const char q8_text_conv_portable[] =
    "#else\n"
    "#if defined(NNQ_AVX2)\n"
    "/* acc[j] += the dot products of a window with 16 filters (AVX2 without VNNI): vpmaddwd of the window's four\n"
    " * bytes (int16, repeated) with four weights of 4 filters (int16) gives exact int32 sums of two products */\n"
    "static void nnq_dot16(const uint8_t *xp, int kp, const int8_t *w, int fg, int32_t *acc) {\n"
    "    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;\n"
    "    int32_t part[32];\n"
    "    for (int k = 0; k < kp; k += 4) {\n"
    "        const int8_t *wk = w + (long)k * fg;\n"
    "        int32_t v;\n"
    "        __builtin_memcpy(&v, xp + k, 4);\n"
    "        const __m256i x = _mm256_cvtepu8_epi16(_mm_set1_epi32(v));\n"
    "        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)wk)), x));\n"
    "        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wk + 16))), x));\n"
    "        s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wk + 32))), x));\n"
    "        s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wk + 48))), x));\n"
    "    }\n"
    "    _mm256_storeu_si256((__m256i *)(void *)part, s0);\n"
    "    _mm256_storeu_si256((__m256i *)(void *)(part + 8), s1);\n"
    "    _mm256_storeu_si256((__m256i *)(void *)(part + 16), s2);\n"
    "    _mm256_storeu_si256((__m256i *)(void *)(part + 24), s3);\n"
    "    for (int j = 0; j < 16; j++)\n"
    "        acc[j] += part[2 * j] + part[2 * j + 1];\n"
    "}\n"
    "#endif\n"
    "/* the same sums in portable C (the same integers in any order) */\n"
    "static void nnq_conv_tile(const uint8_t *patch, int kp, int np, const int8_t *w, int fg, int f, const int32_t *bias,\n"
    "                          const int32_t *mult, const int8_t *shift, int32_t zo, int32_t lo, int32_t hi, int8_t *y,\n"
    "                          long plane) {\n"
    "    const int nf = fg - f < 16 ? fg - f : 16;\n"
    "    for (int p = 0; p < np; p++) {\n"
    "        const uint8_t *xp = patch + (long)p * kp;\n"
    "        int32_t acc[16];\n"
    "        for (int j = 0; j < nf; j++)\n"
    "            acc[j] = bias[f + j];\n"
    "#if defined(NNQ_AVX2)\n"
    "        if (nf == 16)\n"
    "            nnq_dot16(xp, kp, w + 4L * f, fg, acc);\n"
    "        else\n"
    "#endif\n"
    "            for (int k = 0; k < kp; k += 4) {\n"
    "                const int8_t *wk = w + (long)k * fg + 4L * f;\n"
    "                const int32_t x0 = xp[k], x1 = xp[k + 1], x2 = xp[k + 2], x3 = xp[k + 3];\n"
    "                for (int j = 0; j < nf; j++)\n"
    "                    acc[j] += x0 * wk[4 * j] + x1 * wk[4 * j + 1] + x2 * wk[4 * j + 2] + x3 * wk[4 * j + 3];\n"
    "            }\n"
    "        for (int j = 0; j < nf; j++)\n"
    "            y[(long)(f + j) * plane + p] = nnq_clamp(nnq_scale(acc[j], mult[f + j], shift[f + j]) + zo, lo, hi);\n"
    "    }\n"
    "}\n"
    "#endif\n"
    "static void nnq_conv(const int8_t *x, int8_t *y, int n, const nnq_geom *g, const int8_t *w, const int32_t *bias,\n"
    "                     const int32_t *mult, const int8_t *shift, int32_t zi, int32_t zo, int32_t lo, int32_t hi,\n"
    "                     void *scratch) {\n"
    "    uint8_t *patch = (uint8_t *)scratch;\n"
    "    const int cg = g->c / g->groups, fg = g->f / g->groups, kp = (cg * g->kh * g->kw + 3) / 4 * 4;\n"
    "    const long plane = (long)g->oh * g->ow;\n"
    "    for (int s = 0; s < n; s++)\n"
    "        for (int gr = 0; gr < g->groups; gr++) {\n"
    "            const int8_t *xs = x + ((long)s * g->c + (long)gr * cg) * g->h * g->w;\n"
    "            int8_t *ys = y + ((long)s * g->f + (long)gr * fg) * plane;\n"
    "            for (long p0 = 0; p0 < plane; p0 += NNQ_TP) {\n"
    "                const int np = plane - p0 < NNQ_TP ? (int)(plane - p0) : NNQ_TP;\n"
    "                nnq_gather(xs, g, cg, p0, np, kp, patch, (int8_t)zi);\n"
    "                for (int f = 0; f < fg; f += 16)\n"
    "                    nnq_conv_tile(patch, kp, np, w + (long)gr * fg * kp, fg, f, bias + (long)gr * fg,\n"
    "                                  mult + (long)gr * fg, shift + (long)gr * fg, zo, lo, hi, ys + p0, plane);\n"
    "            }\n"
    "        }\n"
    "}\n"
    "#endif\n";

static const char q8_text_pool[] =
    "/* max or average (rounded half away from zero) pooling on int8 values: the same scale in and out */\n"
    "static void nnq_pool(const int8_t *x, int8_t *y, int n, int c, int h, int w, int kh, int kw, int sh, int sw,\n"
    "                     int oh, int ow, int avg) {\n"
    "    const int32_t count = kh * kw;\n"
    "    for (long p = 0; p < (long)n * c; p++)\n"
    "        for (int oy = 0; oy < oh; oy++)\n"
    "            for (int ox = 0; ox < ow; ox++) {\n"
    "                const int8_t *xp = x + (p * h + (long)oy * sh) * w + (long)ox * sw;\n"
    "                int32_t acc = avg ? 0 : -128;\n"
    "                for (int ky = 0; ky < kh; ky++)\n"
    "                    for (int kx = 0; kx < kw; kx++) {\n"
    "                        const int32_t v = xp[(long)ky * w + kx];\n"
    "                        acc = avg ? acc + v : v > acc ? v : acc;\n"
    "                    }\n"
    "                if (avg)\n"
    "                    acc = acc >= 0 ? (acc + count / 2) / count : (acc - count / 2) / count;\n"
    "                y[(p * oh + oy) * ow + ox] = (int8_t)acc;\n"
    "            }\n"
    "}\n";

static const char q8_text_relu[] = "static void nnq_relu(const int8_t *x, int8_t *y, long count, int32_t zp) {\n"
                                   "    for (long i = 0; i < count; i++)\n"
                                   "        y[i] = x[i] < zp ? (int8_t)zp : x[i];\n"
                                   "}\n";

static const char q8_text_add[] =
    "/* TensorFlow Lite's int8 ADD: each input, less its zero point, shifted left by 20 bits and rescaled to\n"
    " * twice the larger input scale; the sum rescaled to the output's; p = {za, ma, sa, zb, mb, sb, zo, mo, so}.\n"
    " * y may be a or b (each value is read before it is written). */\n"
    "static void nnq_add(const int8_t *a, const int8_t *b, int8_t *y, long count, const int32_t *p, int32_t lo) {\n"
    "    for (long i = 0; i < count; i++) {\n"
    "        const int32_t u = nnq_scale(((int32_t)a[i] - p[0]) * ((int32_t)1 << 20), p[1], (int)p[2]);\n"
    "        const int32_t v = nnq_scale(((int32_t)b[i] - p[3]) * ((int32_t)1 << 20), p[4], (int)p[5]);\n"
    "        y[i] = nnq_clamp(nnq_scale(u + v, p[7], (int)p[8]) + p[6], lo, 127);\n"
    "    }\n"
    "}\n";

static const char q8_text_mean[] =
    "/* global_avgpool: the mean of each row of L values, sum_l (x - zi) rescaled by s_in / (L s_out) */\n"
    "static void nnq_mean(const int8_t *x, int8_t *y, long rows, int L, int32_t zi, int32_t mult, int shift,\n"
    "                     int32_t zo) {\n"
    "    for (long r = 0; r < rows; r++) {\n"
    "        int32_t acc = 0;\n"
    "        for (int l = 0; l < L; l++)\n"
    "            acc += (int32_t)x[r * L + l] - zi;\n"
    "        y[r] = nnq_clamp(nnq_scale(acc, mult, shift) + zo, -128, 127);\n"
    "    }\n"
    "}\n";

static const char q8_text_quant[] =
    "/* q = clamp(round(x / scale) + zp): round half away from zero, NaN to the lowest value. With t = trunc(2v)\n"
    " * (exact: |v| <= 1024), round(v) = (t + sign(t)) / 2; no branch and no int-to-float conversion, so\n"
    " * compilers vectorize the loop */\n"
    "static void nnq_quantize(const float *x, int8_t *q, long count, float inv_scale, int32_t zp) {\n"
    "    for (long i = 0; i < count; i++) {\n"
    "        float v = x[i] * inv_scale;\n"
    "        v = v >= -1024.0f ? v : -1024.0f;\n"
    "        v = v <= 1024.0f ? v : 1024.0f;\n"
    "        const int32_t t = (int32_t)(v * 2.0f);\n"
    "        q[i] = nnq_clamp((t + (t > 0) - (t < 0)) / 2 + zp, -128, 127);\n"
    "    }\n"
    "}\n";

static const char q8_text_dequant[] =
    "static void nnq_dequantize(const int8_t *q, float *x, long count, float scale, int32_t zp) {\n"
    "    for (long i = 0; i < count; i++)\n"
    "        x[i] = (float)((int32_t)q[i] - zp) * scale;\n"
    "}\n";

static const char q8_text_island[] =
    "/* the float islands: softmax (log = 0) or log_softmax (log = 1) over rows of K */\n"
    "static void nnq_softmax(const float *x, float *y, long rows, int K, int log) {\n"
    "    for (long r = 0; r < rows; r++) {\n"
    "        const float *a = x + r * K;\n"
    "        float *b = y + r * K, mx = a[0], sum = 0.0f;\n"
    "        for (int k = 1; k < K; k++)\n"
    "            mx = a[k] > mx ? a[k] : mx;\n"
    "        for (int k = 0; k < K; k++)\n"
    "            sum += expf(a[k] - mx);\n"
    "        for (int k = 0; k < K; k++)\n"
    "            b[k] = log ? a[k] - mx - logf(sum) : expf(a[k] - mx) / sum;\n"
    "    }\n"
    "}\n";

static void put_float(Buf *b, double v) {
    char s[40];
    snprintf(s, sizeof s, "%.9g", (double)(float)v);
    buf_puts(b, s);
    if (!strpbrk(s, ".en"))
        buf_puts(b, ".0");
    buf_puts(b, "f");
}

static void put_i8(Buf *b, const char *name, const int8_t *v, long count) {
    buf_printf(b, "static const int8_t %s[%ld] = {", name, count);
    for (long i = 0; i < count; i++)
        buf_printf(b, "%s%d%s", i % 32 ? " " : "\n    ", v[i], i + 1 < count ? "," : "");
    buf_puts(b, "\n};\n");
}

static void put_i32(Buf *b, const char *name, const int32_t *v, long count) {
    buf_printf(b, "static const int32_t %s[%ld] = {", name, count);
    for (long i = 0; i < count; i++)
        buf_printf(b, "%s%ld%s", i % 8 ? " " : "\n    ", (long)v[i], i + 1 < count ? "," : "");
    buf_puts(b, "\n};\n");
}

/* A convolution's filters: [F][C/G KH KW] for the Arm DSP kernel; elsewhere packed per group as
 * [K4][F/G][4] (K4 = K rounded up to a multiple of 4, over 4; zero past K), for nnq_conv_tile */
static void put_conv_weights(Buf *b, const QLayer *l, const char *name) {
    long K = l->K, kp = packed_k(K), fg = l->f / l->groups;
    int8_t *p = base_xcalloc((size_t)(l->f * kp), 1);
    for (long gr = 0; gr < l->groups; gr++)
        for (long f = 0; f < fg; f++)
            for (long k = 0; k < K; k++)
                p[gr * fg * kp + (k / 4 * fg + f) * 4 + k % 4] = l->wq[(gr * fg + f) * K + k];
    buf_puts(b, "#if defined(NNQ_DSP)\n");
    put_i8(b, name, l->wq, l->wcount);
    buf_puts(b, "#else\n");
    put_i8(b, name, p, l->f * kp);
    buf_puts(b, "#endif\n");
    free(p);
}

static void banner(Buf *b, const Q8Net *q, const EmitOptions *o, const char *what) {
    Buf src = {0}, cmd = {0};
    emit_comment_text(&src, o->source, strlen(o->source), 200);
    emit_comment_text(&cmd, o->cmdline, strlen(o->cmdline), 400);
    buf_printf(b, "/* %s of network %s, quantized to int8 by nngen %s from %s: do not edit.\n", what, q->net,
               NNGEN_VERSION, src.data);
    buf_printf(b, " * Command: %s\n", cmd.data);
    buf_printf(b, " * The API is the float one of an --infer-only --weights build (see docs/quantize.md). */\n");
    buf_free(&src);
    buf_free(&cmd);
}

/* The int8 tensor of the input when every layer reading the input is its quantization (to one scale
 * and zero point): NET_forward_int8 then copies the caller's int8 values there. -1 otherwise (a
 * float island reads the input itself). */
static int int8_input(const Q8Net *q) {
    int t = -1;
    for (int i = 0; i < q->nl; i++) {
        const QLayer *l = &q->l[i];
        if (l->in != 0 && l->in2 != 0)
            continue;
        if (l->kind != L_QUANT)
            return -1;
        if (t >= 0 && (q->t[t].scale != q->t[l->out].scale || q->t[t].zp != q->t[l->out].zp))
            return -1;
        t = l->out;
    }
    return t;
}

static void emit_header(const Q8Net *q, const EmitOptions *o, Buf *h) {
    char *up = upper_dup(q->net), *in = upper_dup(q->input_name);
    long scalars = 0;
    for (int i = 0; i < q->nparams; i++)
        scalars += q->param_size[i];
    banner(h, q, o, "The C API");
    buf_printf(h, "#ifndef NNGEN_%s_H\n#define NNGEN_%s_H\n\n#include <stddef.h>\n#include <stdint.h>\n", up, up);
    if (o->standalone) {
        const char *start = strstr(nnrt_embedded_h, "#ifndef NN_PARAM_DEFINED");
        const char *end = start ? strstr(start, "#endif") : NULL;
        if (!start || !end)
            nn_unreachable("runtime header without its NN_PARAM_DEFINED block");
        buf_printf(h, "%.*s#endif\n", (int)(end - start), start);
    } else {
        buf_puts(h, "#include \"nn_runtime.h\"\n");
    }
    buf_puts(h, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    buf_printf(h, "#define %s_MAX_BATCH %d\n#define %s_IN_%s_SIZE %d\n", up, q->max_batch, up, in, q->input_port_size);
    int qin = int8_input(q);
    if (qin >= 0) {
        buf_printf(h, "/* the input's int8 quantization, for %s_forward_int8: real = SCALE * (q - ZERO_POINT) */\n",
                   q->net);
        buf_printf(h, "#define %s_IN_%s_SCALE ", up, in);
        put_float(h, q->t[qin].scale);
        buf_printf(h, "\n#define %s_IN_%s_ZERO_POINT (%d)\n", up, in, q->t[qin].zp);
    }
    for (int k = 0; k < q->ntg; k++) {
        char *tn = upper_dup(q->in_names[k]);
        if (q->tg_classes[k])
            buf_printf(h, "#define %s_TARGET_%s_CLASSES %d\n", up, tn, q->tg_classes[k]);
        else
            buf_printf(h, "#define %s_TARGET_%s_SIZE %ld\n", up, tn, q->tg_size[k]);
        free(tn);
    }
    for (int k = 0; k < q->nout; k++) {
        char *on = upper_dup(q->out_names[k]);
        buf_printf(h, "#define %s_OUT_%s_SIZE %ld\n", up, on, q->t[q->out_tensor[k]].numel);
        free(on);
    }
    buf_printf(h, "#define %s_PARAM_COUNT %d\n#define %s_PARAM_SCALARS %ld\n", up, q->nparams, up, scalars);
    buf_printf(h, "#define %s_BUFFER_COUNT 0 /* batchnorm statistics are folded into the weights */\n", up);
    buf_printf(h, "#define %s_WEIGHTS_EMBEDDED 1 /* the weights are const data */\n", up);
    buf_printf(h, "#define %s_QUANTIZED 1 /* nngen quantize: int8 weights and activations */\n", up);
    buf_printf(h, "#define %s_INT8_WEIGHT_BYTES %ld /* weights, biases, multipliers and shifts */\n", up,
               q8_flash_bytes(q));
    buf_printf(h, "#define %s_ARENA_BYTES %ld /* int8 activations and float temporaries, %s_MAX_BATCH samples */\n\n",
               up, q->arena_bytes, up);
    buf_printf(h, "typedef struct %s %s;\n", q->net, q->net);
    buf_printf(h, "/* The model: every byte the network uses, for up to %s_MAX_BATCH samples. */\n", up);
    buf_printf(h,
               "struct %s {\n    /* the values of each layer, placed by liveness (tensors live at the same time "
               "never overlap) */\n    float arena[(%s_ARENA_BYTES + 3) / 4];\n",
               q->net, up);
    for (int i = 1; i < q->nt; i++)
        if (q->t[i].is_float && q->t[i].output >= 0)
            buf_printf(h, "    float f%d[%s_MAX_BATCH * %ld]; /* an output */\n", q->t[i].slot, up, q->t[i].numel);
    buf_puts(h, "    int n; /* samples in the last call */\n};\n\n");
    const char *N = q->net;
    buf_printf(h, "void %s_init(%s *m, uint64_t seed);\nint %s_param_count(void);\nnn_param %s_param(%s *m, int i);\n",
               N, N, N, N, N);
    buf_printf(h, "int %s_buffer_count(void);\nnn_param %s_buffer(%s *m, int i);\n", N, N, N);
    buf_printf(h, "void %s_forward(%s *m, const float *%s, int n);\n", N, N, q->input_name);
    if (qin >= 0)
        buf_printf(h,
                   "/* the same with the input already quantized (%s_IN_%s_SCALE, _ZERO_POINT): an extension of\n"
                   " * the float API, the outputs equal %s_forward's on the values the int8 ones stand for */\n"
                   "void %s_forward_int8(%s *m, const int8_t *%s, int n);\n",
                   up, in, N, N, N, q->input_name);
    for (int k = 0; k < q->nout; k++)
        buf_printf(h, "const float *%s_output_%s(const %s *m);\n", N, q->out_names[k], N);
    buf_puts(h, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
    free(up);
    free(in);
}

/* "x" (the input), "m->f3" (an output), "(m->arena + 10)" (a float temporary)
 * or "((int8_t *)m->arena + 40)" (an int8 tensor) */
static void ref(Buf *b, const Q8Net *q, int t) {
    const QTensor *x = &q->t[t];
    if (t == 0)
        buf_puts(b, "x");
    else if (x->is_float && x->output >= 0)
        buf_printf(b, "m->f%d", x->slot);
    else if (x->is_float)
        buf_printf(b, "(m->arena + %ld)", x->off / 4);
    else
        buf_printf(b, "((int8_t *)m->arena + %ld)", x->off);
}

static void emit_layer(const Q8Net *q, int i, Buf *c) {
    const QLayer *l = &q->l[i];
    const QTensor *in = &q->t[l->in], *out = &q->t[l->out];
    Buf x = {0}, y = {0};
    ref(&x, q, l->in);
    ref(&y, q, l->out);
    int lo = l->relu ? out->zp : -128;
    buf_printf(c, "    /* line %d: %s */\n", l->loc.line, l->op);
    switch (l->kind) {
    case L_QUANT:
        if (l->in == 0 && int8_input(q) >= 0) /* the caller's int8 input (NET_forward_int8), or its floats */
            buf_printf(c,
                       "    if (xq)\n        for (long i = 0; i < (long)n * %ld; i++)\n            %s[i] = xq[i];\n"
                       "    else\n    ",
                       in->numel, y.data);
        buf_printf(c, "    nnq_quantize(%s, %s, (long)n * %ld, ", x.data, y.data, in->numel);
        put_float(c, 1.0 / out->scale);
        buf_printf(c, ", %d);\n", out->zp);
        break;
    case L_DEQUANT:
        buf_printf(c, "    nnq_dequantize(%s, %s, (long)n * %ld, ", x.data, y.data, in->numel);
        put_float(c, in->scale);
        buf_printf(c, ", %d);\n", in->zp);
        break;
    case L_DENSE:
        buf_printf(c,
                   "    nnq_dense(%s, %s, n, %d, %d, nnq_w%d, nnq_b%d, nnq_m%d, nnq_s%d, %d, %d, 127,\n"
                   "              (nnq_act *)((int8_t *)m->arena + %ld));\n",
                   x.data, y.data, l->K, l->M, i, i, i, i, out->zp, lo, q->t[l->scratch].off);
        break;
    case L_CONV:
        buf_printf(c,
                   "    nnq_conv(%s, %s, n, &nnq_g%d, nnq_w%d, nnq_b%d, nnq_m%d, nnq_s%d, %d, %d, %d, 127,\n"
                   "             (int8_t *)m->arena + %ld);\n",
                   x.data, y.data, i, i, i, i, i, in->zp, out->zp, lo, q->t[l->scratch].off);
        break;
    case L_MAXPOOL:
    case L_AVGPOOL:
        buf_printf(c, "    nnq_pool(%s, %s, n, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d);\n", x.data, y.data, l->c, l->h,
                   l->w, l->kh, l->kw, l->sh, l->sw, l->oh, l->ow, l->kind == L_AVGPOOL);
        break;
    case L_RELU:
        buf_printf(c, "    nnq_relu(%s, %s, (long)n * %ld, %d);\n", x.data, y.data, in->numel, in->zp);
        break;
    case L_ADD: {
        Buf x2 = {0};
        ref(&x2, q, l->in2);
        buf_printf(c, "    nnq_add(%s, %s, %s, (long)n * %ld, nnq_a%d, %d);\n", x.data, x2.data, y.data, in->numel, i,
                   lo);
        buf_free(&x2);
        break;
    }
    case L_MEAN:
        buf_printf(c, "    nnq_mean(%s, %s, (long)n * %d, %d, %d, %ld, %d, %d);\n", x.data, y.data, l->c, l->K, in->zp,
                   (long)l->am[0], l->as[0], out->zp);
        break;
    case L_VIEW:
        if (out->is_float && out->output >= 0)
            buf_printf(c, "    for (long i = 0; i < (long)n * %ld; i++)\n        %s[i] = %s[i];\n", in->numel, y.data,
                       x.data);
        else
            buf_puts(c, "    /* a view: the same bytes */\n");
        break;
    case L_SOFTMAX:
    case L_LOG_SOFTMAX:
        buf_printf(c, "    nnq_softmax(%s, %s, n, %d, %d);\n", x.data, y.data, l->K, l->kind == L_LOG_SOFTMAX);
        break;
    case L_SIGMOID:
    case L_TANH:
        buf_printf(c, "    for (long i = 0; i < (long)n * %ld; i++)\n", in->numel);
        if (l->kind == L_SIGMOID)
            buf_printf(c, "        %s[i] = 1.0f / (1.0f + expf(-%s[i]));\n", y.data, x.data);
        else
            buf_printf(c, "        %s[i] = tanhf(%s[i]);\n", y.data, x.data);
        break;
    }
    buf_free(&x);
    buf_free(&y);
}

static int uses(const Q8Net *q, LKind a, LKind b) {
    for (int i = 0; i < q->nl; i++)
        if (q->l[i].kind == a || q->l[i].kind == b)
            return 1;
    return 0;
}

static void emit_data(const Q8Net *q, Buf *c) {
    for (int i = 0; i < q->nl; i++) {
        const QLayer *l = &q->l[i];
        if (l->kind == L_ADD) {
            const QTensor *a = &q->t[l->in], *b = &q->t[l->in2], *o = &q->t[l->out];
            buf_printf(c,
                       "/* line %d: add: zero point, multiplier and shift of each input and of the output */\n"
                       "static const int32_t nnq_a%d[9] = {%d, %ld, %d, %d, %ld, %d, %d, %ld, %d};\n",
                       l->loc.line, i, a->zp, (long)l->am[0], l->as[0], b->zp, (long)l->am[1], l->as[1], o->zp,
                       (long)l->am[2], l->as[2]);
        }
        if (l->kind != L_DENSE && l->kind != L_CONV)
            continue;
        char name[32];
        buf_printf(c,
                   "/* line %d: %s, %d output channels: int8 weights (one scale per channel), int32 biases,\n"
                   " * Q31 multipliers and shifts of the rescaling */\n",
                   l->loc.line, l->op, l->M);
        snprintf(name, sizeof name, "nnq_w%d", i);
        if (l->kind == L_CONV)
            put_conv_weights(c, l, name);
        else
            put_i8(c, name, l->wq, l->wcount);
        snprintf(name, sizeof name, "nnq_b%d", i);
        put_i32(c, name, l->bq, l->M);
        snprintf(name, sizeof name, "nnq_m%d", i);
        put_i32(c, name, l->mult, l->M);
        snprintf(name, sizeof name, "nnq_s%d", i);
        put_i8(c, name, l->shift, l->M);
        if (l->kind == L_CONV)
            buf_printf(c, "static const nnq_geom nnq_g%d = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n", i,
                       l->c, l->h, l->w, l->f, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->groups, l->oh, l->ow);
    }
}

static void emit_api(const Q8Net *q, Buf *c) {
    const char *N = q->net;
    char *up = upper_dup(N);
    buf_printf(c, "/* Zeroes the model (the activations): the weights are constants. */\n");
    buf_printf(c,
               "void %s_init(%s *m, uint64_t seed) {\n    unsigned char *bytes = (unsigned char *)m;\n    (void)seed;\n"
               "    for (size_t i = 0; i < sizeof *m; i++)\n        bytes[i] = 0;\n}\n",
               N, N);
    buf_printf(c, "int %s_param_count(void) {\n    return %s_PARAM_COUNT;\n}\n", N, up);
    buf_printf(c, "/* The float network's parameter table: names and shapes; value and grad are NULL (the\n"
                  " * weights exist as int8 only). */\n");
    buf_printf(c, "static const struct { const char *name; int rank, dims[4]; long size; } nnq_params[%d] = {\n",
               q->nparams ? q->nparams : 1);
    for (int i = 0; i < q->nparams; i++)
        buf_printf(c, "    {\"%s\", %d, {%d, %d, %d, %d}, %ld},\n", q->param_names[i], q->param_dims[i][0],
                   q->param_dims[i][1], q->param_dims[i][2], q->param_dims[i][3], q->param_dims[i][4],
                   q->param_size[i]);
    if (!q->nparams)
        buf_puts(c, "    {0, 0, {0, 0, 0, 0}, 0},\n");
    buf_puts(c, "};\n");
    buf_printf(c,
               "nn_param %s_param(%s *m, int i) {\n    nn_param p;\n    (void)m;\n    p.name = NULL;\n"
               "    p.rank = 0;\n    for (int k = 0; k < 4; k++)\n        p.dims[k] = 0;\n    p.size = 0;\n"
               "    p.value = p.grad = NULL;\n    if (i >= 0 && i < %s_PARAM_COUNT) {\n"
               "        p.name = nnq_params[i].name;\n        p.rank = nnq_params[i].rank;\n"
               "        for (int k = 0; k < 4; k++)\n            p.dims[k] = nnq_params[i].dims[k];\n"
               "        p.size = nnq_params[i].size;\n    }\n    return p;\n}\n",
               N, N, up);
    buf_printf(c, "int %s_buffer_count(void) {\n    return 0;\n}\n", N);
    buf_printf(c,
               "nn_param %s_buffer(%s *m, int i) {\n    nn_param p;\n    (void)m;\n    (void)i;\n    p.name = NULL;\n"
               "    p.rank = 0;\n    for (int k = 0; k < 4; k++)\n        p.dims[k] = 0;\n    p.size = 0;\n"
               "    p.value = p.grad = NULL;\n    return p;\n}\n",
               N, N);
    int qin = int8_input(q);
    buf_printf(c, "/* Inference: quantize the input (x; or copy xq, already int8), the int8 layers, dequantize the\n"
                  " * outputs. */\n");
    buf_printf(c, "static void nnq_run(%s *m, const float *x, const int8_t *xq, int n) {\n    m->n = n;\n", N);
    if (qin < 0)
        buf_puts(c, "    (void)xq;\n");
    for (int i = 0; i < q->nl; i++)
        emit_layer(q, i, c);
    buf_puts(c, "}\n");
    buf_printf(c,
               "void %s_forward(%s *m, const float *x, int n) {\n    if (n < 1 || n > %s_MAX_BATCH || !x)\n"
               "        return;\n    nnq_run(m, x, NULL, n);\n}\n",
               N, N, up);
    if (qin >= 0)
        buf_printf(c,
                   "void %s_forward_int8(%s *m, const int8_t *x, int n) {\n"
                   "    if (n < 1 || n > %s_MAX_BATCH || !x)\n        return;\n    nnq_run(m, NULL, x, n);\n}\n",
                   N, N, up);
    for (int k = 0; k < q->nout; k++)
        buf_printf(c, "const float *%s_output_%s(const %s *m) {\n    return m->f%d;\n}\n", N, q->out_names[k], N,
                   q->t[q->out_tensor[k]].slot);
    free(up);
}

void q8_emit(const Q8Net *q, const EmitOptions *o, Buf *c, Buf *h) {
    emit_header(q, o, h);
    banner(c, q, o, "The implementation");
    buf_printf(c, "#include \"%s\"\n", o->header_name);
    if (q->islands)
        buf_puts(c, "#include <math.h>\n");
    buf_puts(c, "\n/* ---- the integer kernels ---- */\n");
    buf_puts(c, q8_text_scale);
    if (uses(q, L_DENSE, L_CONV)) /* the DSP's dot products serve both; elsewhere only dense layers */
        buf_puts(c, q8_text_dot);
    if (uses(q, L_DENSE, L_DENSE))
        buf_puts(c, q8_text_dot_portable);
    else if (uses(q, L_CONV, L_CONV))
        buf_puts(c, "#endif\n");
    if (uses(q, L_DENSE, L_DENSE))
        buf_puts(c, q8_text_dense);
    if (uses(q, L_CONV, L_CONV)) {
        buf_puts(c, q8_text_conv);
        buf_puts(c, q8_text_conv_host);
        buf_puts(c, q8_text_conv_gather);
        buf_puts(c, q8_text_conv_vnni);
        buf_puts(c, q8_text_conv_tile);
        buf_puts(c, q8_text_conv_portable);
    }
    if (uses(q, L_MAXPOOL, L_AVGPOOL))
        buf_puts(c, q8_text_pool);
    if (uses(q, L_RELU, L_RELU))
        buf_puts(c, q8_text_relu);
    if (uses(q, L_ADD, L_ADD))
        buf_puts(c, q8_text_add);
    if (uses(q, L_MEAN, L_MEAN))
        buf_puts(c, q8_text_mean);
    buf_puts(c, q8_text_quant);
    if (uses(q, L_DEQUANT, L_DEQUANT))
        buf_puts(c, q8_text_dequant);
    if (uses(q, L_SOFTMAX, L_LOG_SOFTMAX))
        buf_puts(c, q8_text_island);
    buf_puts(c, "\n/* ---- the quantized weights: const data, in flash on a microcontroller ---- */\n");
    emit_data(q, c);
    buf_puts(c, "\n/* ---- the API ---- */\n");
    emit_api(q, c);
}
