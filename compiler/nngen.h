/*
 * nngen.h - the compiler core's header: lowering, the op rules, autodiff,
 * optimizers, passes, the C emitter and the pipeline that runs them.
 * The libraries below it have their own headers, included here:
 *   base/base.h    arena, buffers, diagnostics
 *   front/front.h  lexer, parser, syntax tree
 *   ir/ir.h        the graph, shapes, the op enum (ir/ops.def)
 * docs/architecture.md maps every file. Each section below lists one file's
 * (or one folder's) API. Every module keeps its prefix.
 */
#ifndef NNGEN_H
#define NNGEN_H

#include "base/base.h"
#include "front/front.h"
#include "ir/ir.h"

/* -------------------------------------------------------------- ops/ops.c */
typedef struct AdCtx AdCtx;
typedef struct Emit Emit;

typedef struct OpInfo {
    const char *name;
    int arity; /* -1: variadic */
    unsigned flags;
    /* Sets n->shape from its inputs (already shaped); reports a located error
     * and returns -1 when they do not agree. */
    int (*shape)(Graph *g, Node *n);
    /* Adds d(loss)/d(input) contributions for each input that needs one,
     * through ad_accumulate; dy is the node holding d(loss)/d(n). */
    int (*grad)(AdCtx *ad, int n, int dy);
    /* Elementwise ops: writes the C expression of one output element, given
     * the C expressions of the input elements; maths functions other than
     * expf logf tanhf sqrtf by the name emit_libm(e, ...) gives. */
    void (*expr)(const Emit *e, Buf *out, const Node *n, const char *const *args);
    /* Other ops: writes the statements computing the node. */
    void (*emit)(Emit *e, const Node *n);
    /* Floating-point operations of the node for `batch` samples (report.c). */
    double (*flops)(const Graph *g, const Node *n, int batch);
    /* Floats of scratch memory the kernel needs at NET_MAX_BATCH samples,
     * live only while it runs (plan.c places it; emit_scratch names it). */
    long (*scratch)(const Graph *g, const Node *n);
} OpInfo;

/* FLOPs of a node for `batch` samples: its hook, or the default rule. */
double op_flops(const Graph *g, const Node *n, int batch);

extern const OpInfo op_table[OP__COUNT];
const OpInfo *op_info(Op op);

/* ------------------------------------------------------------- ops/check.c */
int shape_check_node(Graph *g, int id); /* runs the op's rule; -1 on error */
/* Checks the graph's invariants (inputs defined before use, shapes re-derive
 * to the same thing, storage planned when `planned`); reports and returns -1. */
int shape_verify(Graph *g, int planned);

/* ------------------------------------------------------------- builtins.c */
/* The callable names of the language: primitives, activations, layers,
 * losses, optimizers, schedules, initializers. One table entry each, with
 * its signature; lower.c binds a call's arguments against it. */
#define NN_MAX_ARGS 10

typedef enum ArgKind {
    AK_TENSOR, /* an expression lowered to a node; positional only */
    AK_NUM,    /* a number: literal, const name, negated */
    AK_INT,    /* a number that must be an integer */
    AK_BOOL,   /* true / false */
    AK_STR,    /* a string literal */
    AK_INIT,   /* an initializer: a name or a call */
    AK_INT2,   /* an integer or [h, w] */
    AK_DIMS    /* a list of integers [d1, ...] */
} ArgKind;

typedef struct ArgSpec {
    const char *name;
    ArgKind kind;
    const char *def; /* the default as written in docs/language.md; NULL = required,
                        "" = optional with no default, "=NAME" = the value of arg NAME */
} ArgSpec;

typedef enum CallKind { CK_PRIM, CK_ACT, CK_LAYER, CK_LOSS, CK_OPT, CK_SCHED, CK_INIT, CK_REG } CallKind;

/* One call's arguments after binding, in signature order. */
typedef struct Bound {
    const Expr *given[NN_MAX_ARGS]; /* the argument as written; NULL when defaulted */
    Loc loc[NN_MAX_ARGS];           /* of the argument, or of the callee when defaulted */
    int node[NN_MAX_ARGS];          /* AK_TENSOR */
    double num[NN_MAX_ARGS];        /* AK_NUM, AK_INT, AK_BOOL */
    int pair[NN_MAX_ARGS][2];       /* AK_INT2 */
    const char *str[NN_MAX_ARGS];   /* AK_STR */
    const Expr *init[NN_MAX_ARGS];  /* AK_INIT: as written (NULL: the default) */
    int present[NN_MAX_ARGS];       /* given or defaulted (0 only for "" defaults) */
} Bound;

typedef struct LowerCtx LowerCtx;
typedef int (*LowerFn)(LowerCtx *c, const Expr *call, const Bound *b);

typedef struct Builtin {
    const char *name;
    CallKind kind;
    int nargs;
    ArgSpec args[NN_MAX_ARGS];
    LowerFn lower; /* expression kinds: builds the nodes */
    Op op;         /* for simple ops: the op the lowering builds */
    int pending;   /* in the language, not implemented yet: a located error */
} Builtin;

const Builtin *builtin_find(const char *name);
const char *builtin_suggest(const char *name); /* "did you mean": a close function of tensors, or NULL */
int builtin_count(void);                       /* rows of the table */
const Builtin *builtin_at(int i);              /* row i, 0 <= i < builtin_count() */
const char *builtin_kind_name(CallKind k);     /* "an activation", "a loss", ... */

/* ---------------------------------------------------------------- lower.c */
typedef enum Mode { MODE_INFER, MODE_TRAIN } Mode;

typedef struct Sym Sym;
struct LowerCtx {
    Graph *g;
    const Program *p;
    Mode mode;
    Func fn;
    const Stmt *stmt; /* being lowered */
    int stmt_index;
    const Expr **layers; /* layer calls of the statement, in numbering order */
    int nlayers;
    int in_loss;  /* lowering the loss statement: no layer calls */
    StrMap names; /* name -> its entry in syms */
    Sym *syms;    /* the names defined so far, in definition order */
    int symcap, nsyms;
};

int lower_is_c_keyword(const char *s);
/* The statement being lowered is named by a freeze (batchnorm: running statistics in training too). */
int lower_stmt_frozen(const LowerCtx *c);
int lower_is_library_name(
    const char
        *s); /* reserved.c: declared by the headers generated code or the trainer include, or the trainer's own */
/* Lowers the program to IR: FN_INFER always, FN_TRAIN too when there is a
 * loss and !infer_only. Returns -1 after reporting errors. */
int lower_program(Graph *g, const Program *p, int infer_only);
/* Used by builtins and layers. Each returns a node id, or -1 after an error. */
int lower_expr(LowerCtx *c, const Expr *e);
int lower_node(LowerCtx *c, Op op, Loc loc, int nin, const int *in);
int lower_node_axis(LowerCtx *c, Op op, Loc loc, int nin, const int *in, int axis); /* sets i[0] first */
int lower_node1(LowerCtx *c, Op op, Loc loc, int a);
int lower_node2(LowerCtx *c, Op op, Loc loc, int a, int b);
int lower_const(LowerCtx *c, double v, Loc loc);
int lower_reshape(LowerCtx *c, int x, const Shape *to, Loc loc);
/* A node of op with its shape given (set before the op's rule checks it). */
int lower_node_shaped(LowerCtx *c, Op op, Func fn, Loc loc, int nin, const int *in, const Shape *s);
/* Evaluates a compile-time number (literal, const name, negation); -1 on error. */
int lower_number(LowerCtx *c, const Expr *e, double *out);
/* Binds a call's arguments against the builtin's signature. -1 on error. */
int lower_bind(LowerCtx *c, const Builtin *b, const Expr *call, Bound *out);
/* The parameter `slot` (0, 1, ...) of the current statement's layer call:
 * created in the first lowering, found again in the second. */
int lower_layer_param(LowerCtx *c, const Expr *call, int slot, const char *suffix, const Shape *shape, const Expr *init,
                      const char *init_default, int is_weight);
/* The buffer `slot` of the current statement's layer call (as
 * lower_layer_param: created by the first lowering, found by the second);
 * every element starts at `init`. Returns its OP_BUFFER node or -1. */
int lower_layer_buffer(LowerCtx *c, const Expr *call, int slot, const char *suffix, const Shape *shape, double init);
/* Resolves an initializer expression into p (kind, arguments). -1 on error. */
int lower_init(LowerCtx *c, const Expr *init, const char *def, Loc loc, Param *p);
/* An axis argument counted from 0 over x's per-sample dims (negative from
 * the end); a located error and -1 when x has no such axis. */
int lower_axis(LowerCtx *c, int x, int axis, Loc loc);
/* s with its per-sample dims flattened into one: [N, product]. */
Shape lower_flat_shape(const Shape *s);
/* x's per-sample shape with every dim after the first set to 1, unbatched:
 * [C] for [F], [C, 1, 1] for [C, H, W] (a per-channel tensor that
 * broadcasts against x). */
Shape lower_channel_shape(const Shape *x);

/* ----------------------------------------------------------- ops/<file>.c */
/* One section per file of compiler/ops/, in ops.def's order: the lowering
 * functions of the builtin table (one per callable; builtins.c's rows name
 * them) and the hooks ops.def names (the op table does not compile
 * without). Shape rules set n->shape or report a located error; derivative
 * rules hand gradients to ad_accumulate; expressions write one element of an
 * elementwise op; kernels write statements (ops.def's header, OpInfo). */

/* ------------------------------------------------------------- ops/leaf.c */
int leaf_shape(Graph *g, Node *n);

/* ------------------------------------------------------------ ops/arith.c */
int layer_binary(LowerCtx *c, const Expr *call, const Bound *b); /* max, min */
int ew_unary_shape(Graph *g, Node *n);
int ew_binary_shape(Graph *g, Node *n);
int ew_ternary_shape(Graph *g, Node *n);
int add_grad(AdCtx *ad, int n, int dy);
int sub_grad(AdCtx *ad, int n, int dy);
int mul_grad(AdCtx *ad, int n, int dy);
int div_grad(AdCtx *ad, int n, int dy);
int max_grad(AdCtx *ad, int n, int dy);
int min_grad(AdCtx *ad, int n, int dy);
int neg_grad(AdCtx *ad, int n, int dy);
int exp_grad(AdCtx *ad, int n, int dy);
int log_grad(AdCtx *ad, int n, int dy);
int sqrt_grad(AdCtx *ad, int n, int dy);
int abs_grad(AdCtx *ad, int n, int dy);
int powc_grad(AdCtx *ad, int n, int dy);
void add_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void sub_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void mul_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void div_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void max_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void min_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void neg_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void exp_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void log_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void sqrt_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void abs_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void powc_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void abs_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void powc_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void sqrt_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void max_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void min_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);

/* ------------------------------------------------------- ops/activation.c */
int layer_unary(LowerCtx *c, const Expr *call, const Bound *b); /* exp, relu, ... */
int layer_gelu(LowerCtx *c, const Expr *call, const Bound *b);
int act_grad(AdCtx *ad, int n, int dy);
void sigmoid_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void tanh_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void relu_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void leaky_relu_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void elu_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void softplus_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void swish_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void gelu_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void gelu_tanh_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void sigmoid_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void tanh_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void relu_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void leaky_relu_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void elu_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void softplus_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void swish_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void gelu_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void gelu_tanh_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);

/* ----------------------------------------------------------- ops/reduce.c */
int layer_reduce(LowerCtx *c, const Expr *call, const Bound *b); /* sum, mean */
int reduce_all_shape(Graph *g, Node *n);
int reduce_axis_shape(Graph *g, Node *n);
int given_shape(Graph *g, Node *n); /* the shape set by the builder, validated (also RESHAPE, PAD) */
int sum_all_grad(AdCtx *ad, int n, int dy);
int mean_all_grad(AdCtx *ad, int n, int dy);
int sum_axis_grad(AdCtx *ad, int n, int dy);
int mean_axis_grad(AdCtx *ad, int n, int dy);
int sum_to_grad(AdCtx *ad, int n, int dy);
int broadcast_grad(AdCtx *ad, int n, int dy);
void broadcast_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void sum_all_emit(Emit *e, const Node *n);
void mean_all_emit(Emit *e, const Node *n);
void reduce_axis_emit(Emit *e, const Node *n);
void sum_to_emit(Emit *e, const Node *n);

/* ----------------------------------------------------------- ops/layout.c */
int layer_reshape(LowerCtx *c, const Expr *call, const Bound *b);
int layer_flatten(LowerCtx *c, const Expr *call, const Bound *b);
int layer_transpose(LowerCtx *c, const Expr *call, const Bound *b);
int layer_concat(LowerCtx *c, const Expr *call, const Bound *b);
int transpose_shape(Graph *g, Node *n);
int concat_shape(Graph *g, Node *n);
int slice_shape(Graph *g, Node *n);
int reshape_grad(AdCtx *ad, int n, int dy);
int transpose_grad(AdCtx *ad, int n, int dy);
int concat_grad(AdCtx *ad, int n, int dy);
int slice_grad(AdCtx *ad, int n, int dy);
int pad_grad(AdCtx *ad, int n, int dy);
void transpose_emit(Emit *e, const Node *n);
void concat_emit(Emit *e, const Node *n);
void slice_emit(Emit *e, const Node *n);
void pad_emit(Emit *e, const Node *n);

/* ----------------------------------------------------------- ops/matmul.c */
int layer_matmul(LowerCtx *c, Loc loc, int a, int b); /* the @ operator */
int layer_dense(LowerCtx *c, const Expr *call, const Bound *b);
int matmul_shape(Graph *g, Node *n);
int matmul_grad(AdCtx *ad, int n, int dy);
void matmul_emit(Emit *e, const Node *n);
double matmul_flops(const Graph *g, const Node *n, int batch);
long matmul_scratch(const Graph *g, const Node *n);
int matmul_pack(LowerCtx *c, Loc loc, int w);
int pack_cols_shape(Graph *g, Node *n);
int pack_cols_grad(AdCtx *ad, int n, int dy);
void pack_cols_emit(Emit *e, const Node *n);
double pack_cols_flops(const Graph *g, const Node *n, int batch);

/* ---------------------------------------------------------- ops/softmax.c */
int layer_softmax(LowerCtx *c, const Expr *call, const Bound *b); /* softmax, log_softmax */
int axis_op_shape(Graph *g, Node *n);
int softmax_grad(AdCtx *ad, int n, int dy);
int log_softmax_grad(AdCtx *ad, int n, int dy);
void softmax_emit(Emit *e, const Node *n);
void log_softmax_emit(Emit *e, const Node *n);
void softmax_grad_emit(Emit *e, const Node *n);
void log_softmax_grad_emit(Emit *e, const Node *n);
double softmax_flops(const Graph *g, const Node *n, int batch);

/* ------------------------------------------------------------- ops/loss.c */
/* every loss: lowering, shape rules, the derivative rule */
int layer_loss(LowerCtx *c, const Expr *call, const Bound *b);
int layer_cross_entropy(LowerCtx *c, const Expr *call, const Bound *b);
int layer_loss_arg(LowerCtx *c, const Expr *call, const Bound *b); /* smooth_l1(beta), hinge(margin) */
int loss_shape(Graph *g, Node *n);
int class_loss_shape(Graph *g, Node *n);
int loss_grad_shape(Graph *g, Node *n);
int loss_grad(AdCtx *ad, int n, int dy);
/* Pieces of the loss kernels. The element count of s as a float
 * ("((float)n * 6.0f)" or "6.0f"); a sum over the elements of in[0]
 * ("{ float acc = 0.0f; for (long i ...) {", the term lines, then out[0] =
 * acc / div, div NULL: the element count); and an elementwise derivative
 * term * dloss / the count of n's shape. */
void loss_count_float(Buf *b, const Shape *s);
void loss_sum_open(Emit *e, const Node *n);
void loss_sum_close(Emit *e, const Node *n, const char *div);
void loss_scaled(const Emit *e, Buf *o, const Node *n, const char *dl, const char *term);

/* -------------------------------------------------- ops/loss_regression.c */
void mse_emit(Emit *e, const Node *n);
void mae_emit(Emit *e, const Node *n);
void huber_emit(Emit *e, const Node *n);
void smooth_l1_emit(Emit *e, const Node *n);
void log_cosh_emit(Emit *e, const Node *n);
void msle_emit(Emit *e, const Node *n);
void mse_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void mae_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void huber_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void smooth_l1_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void log_cosh_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void msle_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);

/* ------------------------------------------------------- ops/loss_class.c */
void bce_emit(Emit *e, const Node *n);
void bce_logits_emit(Emit *e, const Node *n);
void ce_class_emit(Emit *e, const Node *n);
void ce_prob_emit(Emit *e, const Node *n);
void nll_emit(Emit *e, const Node *n);
void kl_div_emit(Emit *e, const Node *n);
void hinge_emit(Emit *e, const Node *n);
void bce_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void bce_logits_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void ce_class_grad_emit(Emit *e, const Node *n);
void ce_prob_grad_emit(Emit *e, const Node *n);
void nll_grad_emit(Emit *e, const Node *n);
void kl_div_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void hinge_grad_emit(Emit *e, const Node *n);

/* ------------------------------------------------------------ ops/prelu.c */
int layer_prelu(LowerCtx *c, const Expr *call, const Bound *b);
int prelu_grad(AdCtx *ad, int n, int dy);
void prelu_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void prelu_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);
void prelu_alpha_grad_expr(const Emit *e, Buf *out, const Node *n, const char *const *args);

/* -------------------------------------------------------------- ops/glu.c */
int layer_glu(LowerCtx *c, const Expr *call, const Bound *b);
int glu_shape(Graph *g, Node *n);
int glu_grad_shape(Graph *g, Node *n);
int glu_grad(AdCtx *ad, int n, int dy);
void glu_emit(Emit *e, const Node *n);
void glu_grad_emit(Emit *e, const Node *n);
double glu_flops(const Graph *g, const Node *n, int batch);

/* ----------------------------------------------------------- ops/maxout.c */
int layer_maxout(LowerCtx *c, const Expr *call, const Bound *b);
int maxout_shape(Graph *g, Node *n);
int maxout_grad_shape(Graph *g, Node *n);
int maxout_grad(AdCtx *ad, int n, int dy);
void maxout_emit(Emit *e, const Node *n);
void maxout_grad_emit(Emit *e, const Node *n);

/* -------------------------------------------------------- ops/recurrent.c */
/* rnn, lstm, gru unrolled over T into existing ops; last(x) */
int layer_rnn(LowerCtx *c, const Expr *call, const Bound *b);
int layer_lstm(LowerCtx *c, const Expr *call, const Bound *b);
int layer_gru(LowerCtx *c, const Expr *call, const Bound *b);
int layer_last(LowerCtx *c, const Expr *call, const Bound *b);

/* ---------------------------------------------------------- ops/dropout.c */
int layer_dropout(LowerCtx *c, const Expr *call, const Bound *b);
int dropout_mask_shape(Graph *g, Node *n);
void dropout_mask_emit(Emit *e, const Node *n);

/* -------------------------------------------------------- ops/batchnorm.c */
int layer_batchnorm(LowerCtx *c, const Expr *call, const Bound *b);
int mean_to_shape(Graph *g, Node *n);
int mean_to_grad(AdCtx *ad, int n, int dy);
void mean_to_emit(Emit *e, const Node *n);
int running_update_shape(Graph *g, Node *n);
void running_update_emit(Emit *e, const Node *n);

/* ------------------------------------------------------------- ops/conv.c */
/* 2-D convolution over NCHW images, conv1d over [N, C, L] as one-row images,
 * and the checks pool.c shares. */
int layer_conv2d(LowerCtx *c, const Expr *call, const Bound *b);
/* x a batch of [C, H, W] images (dims into chw); argument i, an int or
 * [h, w], >= lo in both parts; a node of a windowed op with i[0..3] =
 * window and f[0..nf) = fattr set before its shape rule */
int cnn_image(LowerCtx *c, const char *layer, int x, Loc loc, int chw[3]);
int cnn_pair_at_least(const char *layer, const Bound *b, int i, const char *what, int lo);
int cnn_node(LowerCtx *c, Op op, Loc loc, int nin, const int *in, const int window[4], const double *fattr, int nf);
/* 1-D: x a batch of [C, L] sequences (dims into cl); argument i, an int,
 * >= lo; [C, L] as the one-row image [C, 1, L] and back (views) */
int layer_conv1d(LowerCtx *c, const Expr *call, const Bound *b);
int cnn_sequence(LowerCtx *c, const char *layer, int x, Loc loc, int cl[2]);
int cnn_int_at_least(const char *layer, const Bound *b, int i, const char *what, int lo);
int cnn_rows(LowerCtx *c, int x, Loc loc);
int cnn_unrows(LowerCtx *c, int y, Loc loc);
int conv2d_shape(Graph *g, Node *n);
int conv2d_grad_x_shape(Graph *g, Node *n);
int conv2d_grad_w_shape(Graph *g, Node *n);
int conv2d_grad(AdCtx *ad, int n, int dy);
void conv2d_emit(Emit *e, const Node *n);
void conv2d_grad_x_emit(Emit *e, const Node *n);
void conv2d_grad_w_emit(Emit *e, const Node *n);
double conv2d_flops(const Graph *g, const Node *n, int batch);
long conv2d_scratch(const Graph *g, const Node *n);

/* ------------------------------------------------------------- ops/pool.c */
int layer_maxpool2d(LowerCtx *c, const Expr *call, const Bound *b);
int layer_avgpool2d(LowerCtx *c, const Expr *call, const Bound *b);
int layer_global_avgpool(LowerCtx *c, const Expr *call, const Bound *b);
int layer_maxpool1d(LowerCtx *c, const Expr *call, const Bound *b);
int layer_avgpool1d(LowerCtx *c, const Expr *call, const Bound *b);
int pool2d_shape(Graph *g, Node *n);
int maxpool2d_grad_shape(Graph *g, Node *n);
int avgpool2d_grad_shape(Graph *g, Node *n);
int maxpool2d_grad(AdCtx *ad, int n, int dy);
int avgpool2d_grad(AdCtx *ad, int n, int dy);
void maxpool2d_emit(Emit *e, const Node *n);
void maxpool2d_grad_emit(Emit *e, const Node *n);
void avgpool2d_emit(Emit *e, const Node *n);
void avgpool2d_grad_emit(Emit *e, const Node *n);
double pool2d_flops(const Graph *g, const Node *n, int batch);

/* ------------------------------------------------------------- autodiff.c */
/* Builds FN_BACKWARD from g->loss_train to every parameter. */
int ad_differentiate(Graph *g);
/* Used by ops' grad rules. */
Graph *ad_graph(AdCtx *ad);
int ad_node(AdCtx *ad, Op op, int like, int nin, const int *in); /* FN_BACKWARD, loc of node `like` */
int ad_node_shaped(AdCtx *ad, Op op, int like, int nin, const int *in, const Shape *shape);
/* ... with integer attributes i[0..2] set before the shape rule runs */
int ad_node_i(AdCtx *ad, Op op, int like, int nin, const int *in, int i0, int i1, int i2);
int ad_const(AdCtx *ad, double v, int like);
/* Adds g to the gradient of forward node `x`, reducing over broadcast dims. */
void ad_accumulate(AdCtx *ad, int x, int g);
int ad_needs_grad(AdCtx *ad, int x);
/* Reduces gradient g to the shape of forward node x (sum over broadcast dims). */
int ad_sum_to(AdCtx *ad, int g, int x);

/* ------------------------------------------------------------ optim/ */
/* The optimizers. Each is one descriptor, `const OptimDesc optim_NAME` in
 * compiler/optim/NAME.c, and one OPTIMIZER row of ir/ops.def (its update
 * op and its place in the table optim.c builds from those rows). Every
 * other part of the compiler learns about optimizers from the descriptor,
 * through the functions below: the builtins (its signature), the model
 * struct and NET_init (its state), NET_run_update (its prologue and
 * kernels), emit/names.c (the names it declares), --report (its state and FLOPs).
 * Optimizer.hp[k] and an update node's f[k] are argument k + 1 of the
 * signature; argument 0 is lr (runtime state m->lr, NET_set_lr). */
#define OPTIM_MAX_STATE 4
#define OPTIM_MAX_LOCALS 12

typedef struct OptimDesc {
    /* its name and signature: a CK_OPT row of the builtins (builtin_at lists
     * it), arguments in docs/language.md's order, lr first */
    Builtin call;
    /* PyTorch 1.13's constructor checks after lr >= 0 (which optim.c makes):
     * a located error per bad argument (optim_check); 1 if any */
    int (*validate)(const Bound *b);
    /* its per-parameter state arrays: each a member of the model struct
     * (one float per parameter element, zeroed by NET_init) and the local
     * of the same name in its kernel. A configuration uses the first
     * nstate(hp) of them (nstate NULL: all). */
    const char *state[OPTIM_MAX_STATE];
    int (*nstate)(const double *hp);
    /* at most one scalar: a double member of the model struct, its value after NET_init */
    const char *scalar;
    double scalar_init;
    /* every other name its prologue and kernel declare (emit/names.c keeps C names off them) */
    const char *locals[OPTIM_MAX_LOCALS];
    /* the per-step scalars (bias corrections, step sizes; m->step + 1 is the
     * step), at the top of NET_run_update, which runs once per accepted step */
    void (*prologue)(Emit *e, const Optimizer *o);
    /* the statements of element i of one parameter: p[i], g[i] and the used
     * state arrays are in scope (optim_update_emit writes the loop) */
    void (*kernel)(Emit *e, const Node *n);
    /* floating-point operations per parameter element */
    double (*flops)(const double *hp);
} OptimDesc;

/* the descriptors, one per OPTIMIZER row of ops.def */
#define OP(id, name, arity, flags, shape, grad, expr, emit, flops, scratch, attrs)
#define OPTIMIZER(ID, name, attrs) extern const OptimDesc optim_##name;
#include "ir/ops.def"
#undef OP

/* optim.c: the table, in ops.def's order */
int optim_count(void);
const OptimDesc *optim_at(int i); /* 0 <= i < optim_count(), else NULL */
const OptimDesc *optim_find(const char *name);
/* optimizer OPT(k=v, ...): binds and validates the arguments into g->opt. */
int optim_configure(LowerCtx *c, const Stmt *s);
/* Adds FN_UPDATE nodes, one per parameter with a gradient, for g->opt. */
int optim_build(Graph *g);
/* The optimizer's per-parameter state arrays ("adam_m", ...) into names[OPTIM_MAX_STATE]. */
int optim_state(const Optimizer *o, const char **names);
/* The optimizer's per-step prologue of NET_run_update (emit_function's hook). */
void optim_prologue(Emit *e);
/* The optimizer's scalar state (a double member of the model struct, e.g.
 * nadam's "mu_product") and its initial value; NULL when it has none. */
const char *optim_scalar(const Optimizer *o, double *init);
/* 1 when some optimizer's code declares `name` (a local or a state array). */
int optim_declares(const char *name);
/* the hooks of every update op (ops.def): the parameter's shape; the loop
 * over its elements around the descriptor's kernel; the descriptor's FLOPs */
int optim_update_shape(Graph *g, Node *n);
void optim_update_emit(Emit *e, const Node *n);
double optim_update_flops(const Graph *g, const Node *n, int batch);
/* for the descriptors: "invalid NAME: it must be COND, got V" at argument i
 * unless ok (1 if bad); lr in float ("lr"); gi = g + wd p ("gi") */
int optim_check(const Bound *b, int i, const char *name, int ok, const char *cond);
void optim_lr_prologue(Emit *e, const Optimizer *o);
void optim_decayed_grad(Emit *e, double wd);
/* adam.c, shared with adamw.c (and the checks with adamax.c) */
int optim_adam_validate(const Bound *b);
int optim_adam_nstate(const double *hp);
void optim_adam_prologue(Emit *e, const Optimizer *o);

/* ------------------------------------------------------------- schedule.c */
/* schedule SCHED(k=v, ...): binds and validates the arguments into g->sched. */
int sched_configure(LowerCtx *c, const Stmt *s);
/* The learning rate after NET_init: the optimizer's, or cyclic's base_lr. */
double sched_initial_lr(const Graph *g);
/* The schedule's code in the generated API (each writes nothing without a
 * schedule): its struct member, its part of NET_init, of NET_epoch_end
 * (after the epoch count), of NET_update (after an accepted step) and of
 * NET_set_lr (after m->lr = lr). */
void sched_emit_member(Emit *e);
void sched_emit_init(Emit *e);
void sched_emit_epoch(Emit *e);
void sched_emit_update(Emit *e);
void sched_emit_set_lr(Emit *e);

/* ---------------------------------------------------------- passes/pass.c */
typedef struct PassOptions {
    const char *dump_after; /* pass name, "all", or NULL */
    int verify;             /* run shape_verify after every pass */
    int opt_level;          /* 0: required passes only */
    FILE *dump;             /* where --dump-after writes */
} PassOptions;

typedef struct Pass {
    const char *name;
    int (*run)(Graph *g);
    int required;    /* runs at -O0 too */
    const char *why; /* the reason for its place in the order */
} Pass;

extern const Pass pass_table[];
extern const int pass_count;
int pass_run_all(Graph *g, const PassOptions *o);
const Pass *pass_find(const char *name);

int pass_verify(Graph *g);   /* passes/pass.c: shape_verify as a pass */
int pass_dce(Graph *g);      /* passes/dce.c */
int pass_fold(Graph *g);     /* passes/fold.c */
int pass_simplify(Graph *g); /* passes/simplify.c */
int pass_cse(Graph *g);      /* passes/cse.c */
int pass_fuse(Graph *g);     /* passes/fuse.c */
int pass_plan(Graph *g);     /* passes/plan.c */
/* Every reader of `from` (and the outputs and losses) reads `to` instead. */
void pass_replace_uses(Graph *g, int from, int to);
/* fuse.c: the node whose code computes v (v itself when not fused) */
int fuse_top(const Graph *g, int v);
/* fuse.c's limits on one group, which the emitter's loops are sized by (it
 * stops on a group beyond them): members, the root included, and distinct
 * values the members read from outside the group (constants counted) */
enum { FUSE_MAX_MEMBERS = 32, FUSE_MAX_OPERANDS = 12 };
/* plan.c: the nodes of the inference group (outputs and loss) and of the
 * training group (forward, backward, update), in execution order. */
int plan_group(const Graph *g, int train, int **out);

/* ---------------------------------------------------------- emit/names.c */
/* The C names of one compilation (names.c lists them), decided once from
 * the planned graph, in its arena. */
typedef struct CNames {
    const char **param;   /* per parameter, table order: "W1", "h_weight" */
    const char **port;    /* per input and target: "x", "n_" */
    const char **output;  /* per output: "p" (NET_output_p) */
    const char **buffer;  /* per buffer: "bn_running_mean" */
    const char **ref;     /* per node id: its data pointer's C expression
                             ("h", "m->param.W1", "x"); NULL when it has none */
    const char *in_model; /* per node id: 1 when its ref is a member of the model
                             struct (m->param.W1, not NET_weights.W1) */
} CNames;
const CNames *cnames_of(const Graph *g);

/* ---------------------------------------------------------- emit/emit.c */
typedef struct EmitOptions {
    const char *header_name; /* "net.h" as included by net.c */
    const char *cmdline;     /* for the banner */
    const char *source;      /* the .nn path, for the banner */
    int standalone;
    int freestanding; /* implies standalone: libm calls routed to the runtime, no files */
} EmitOptions;

/* What the code of one generated function reads, recorded as it is written
 * (emit_ref, emit_scratch, emit_reads_model, emit_reads_batch) so that the
 * function declares exactly the locals its code uses. */
typedef struct EmitUses {
    char *node; /* per node id: the code reads the storage node id owns */
    int extent; /* it reads a batched tensor (emit_ref): a whole-tensor loop runs to n */
    int batch;  /* it writes n itself (emit_reads_batch): a divisor, a kernel's argument */
    int model;  /* it reads the model struct m other than through locals */
} EmitUses;

/* A file-level helper function written into net.c (an epilogue): the same
 * code is written once per network, before the first run function calling
 * it, under the name it was first given. */
typedef struct EmitHelper {
    const char *name, *text; /* text: from its first statement to its end */
    struct EmitHelper *next;
} EmitHelper;

struct Emit {
    Buf *out;
    int indent;
    const Graph *g;
    const EmitOptions *o;
    const CNames *names;  /* cnames_of(g), made once by emit_c */
    Func fn;              /* function being emitted */
    Buf *helpers;         /* file-level functions the body needs (epilogues), written before it */
    EmitHelper **written; /* the helpers net.c has so far (one list per emit_c) */
    EmitUses *uses;       /* of that function (NULL outside run functions) */
};

/* emit/api.c: writes net.c into c and net.h into h. */
int emit_c(const Graph *g, const EmitOptions *o, Buf *c, Buf *h);
/* emit/emit.c: one static run function over the nodes of `order`, between the
 * prologue and the epilogue hooks (either may be NULL); the locals its code
 * recorded are declared at its top. */
void emit_function(Emit *e, const char *ret, const char *name, const int *order, int count, void (*prologue)(Emit *),
                   void (*epilogue)(Emit *));
void emit_elem(Buf *b, const Emit *e, int id); /* a scalar node's value: literal or ref[0] */
const char *emit_param_cname(const Emit *e, int param_node);
/* "(m->arena + 4096)": the node's scratch memory (its op's scratch hook) */
const char *emit_scratch(const Emit *e, const Node *n);
/* Nested loops over `iter`; body gets each operand's index expression.
 * `written` is the operand the body stores to at its index (-1: none or
 * not that simple): when each iteration of the innermost loop writes its
 * own element of it, and no other operand is that memory at another index
 * (plan.c shares a slot only at the same index), that loop is marked
 * NNRT_IVDEP (iterations independent). */
void emit_loops(Emit *e, const Shape *iter, int nops, const Shape *const *shapes, int written,
                void (*body)(Emit *, const char *const *, void *), void *ctx);
void emit_comment_text(Buf *b, const char *s, size_t len, size_t max);
/* The name generated code calls the maths function `name` by ("fabsf"):
 * libm's, or under --freestanding the runtime's replacement ("nnrt_fabsf")
 * when libm's is not one of expf logf tanhf sqrtf. */
const char *emit_libm(const Emit *e, const char *name);
void emit_libm_decls(Emit *e);
void emit_line(Emit *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void emit_open(Emit *e, const char *fmt, ...) /* the line, then " {", indent */
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void emit_begin(Emit *e); /* "{", indent */
void emit_close(Emit *e); /* dedent, "}" */
/* The C expression for node id's data pointer ("a1", "m->W1", "x"), the use
 * recorded (e->uses): write it into code only, never into a comment. */
const char *emit_ref(const Emit *e, int id);
/* Records that the code being written reads the model struct m itself
 * (m->rng, m->step, m as a callback's context). */
void emit_reads_model(const Emit *e);
/* Records that it writes the batch size n other than as the extent of a
 * loop over a batched tensor it reads or writes (emit_ref records those):
 * a divisor in an expression hook, which an epilogue's block needs too. */
void emit_reads_batch(const Emit *e);
/* The C expression for node id's total element count in this call ("n * 3", "6"). */
void emit_count(Buf *b, const Graph *g, int id);
/* The C literal of a float ("0.5f", "1e-08f"), exactly round-tripping. */
void emit_float(Buf *b, double v);
/* The same, as a string in the compilation's arena. */
const char *emit_float_lit(const Emit *e, double v);
/* The shortest double literal that reads back as v ("0.1", "20.0"), in the arena. */
const char *emit_double_lit(const Emit *e, double v);
/* Emits a loop computing elementwise node n (used for single ops and fused groups). */
void emit_elementwise(Emit *e, const Node *n);
/* Writes the epilogue function of kernel n (n->epilogue >= 0) into e->helpers
 * unless net.c has the same code already, and returns its name
 * (NET_epilogue_ID, ID that of the kernel first written with it), for
 * nnrt_sgemm_ws's (epi, ctx) = (name, m) (m's use is recorded). */
const char *emit_epilogue(Emit *e, const Node *n);

/* --------------------------------------------------------------- driver.c */
typedef struct CompileOptions {
    const char *path;        /* the .nn file, for messages and the banner */
    const char *header_name; /* "net.h", as net.c includes it */
    const char *cmdline;     /* for the banner */
    const char *emit;        /* "c" (default) or "ir" */
    const char *dump_after;  /* --dump-after=PASS */
    int infer_only, standalone, max_batch, opt_level, verify;
    int blas;                 /* --blas=openblas */
    int freestanding;         /* --freestanding (implies standalone) */
    const char *weights_path; /* --weights FILE: its name, for messages */
    const void *weights;      /* ... and its bytes (NULL: no --weights) */
    size_t weights_len;
    FILE *diag;   /* where errors go */
    FILE *dump;   /* where --dump-after goes */
    FILE *report; /* where --report goes (NULL: no report) */
    /* Called once with the optimized, planned graph before C is emitted (the
     * CLI's train, check and graph commands read ports, outputs and nodes
     * there); a non-zero return fails the compilation. NULL: not called. */
    int (*inspect)(const Graph *g, void *ctx);
    void *inspect_ctx;
    int no_emit;       /* stop after the passes (and inspect): c and h stay empty */
    int ignore_freeze; /* compile as if the file had no freeze statement */
    int no_warnings;   /* skip lint.c's warnings (a second compilation of the same text) */
} CompileOptions;

/* The whole pipeline on one source text. On success returns 0 with net.c in
 * c and net.h in h (or the IR dump in c for emit=ir); on error returns -1
 * after reporting, and c / h hold nothing to write. */
int nngen_compile(const char *text, size_t len, const CompileOptions *o, Buf *c, Buf *h);

/* -------------------------------------------------------------- weights.c */
/* --weights: validates the weight file image (data, len) against g's
 * parameter and buffer tables exactly as NET_load does and keeps the values
 * in g->weights and g->buffer_values (the emitter then writes them as the
 * const structs NET_weights and NET_weights_buffer and names the parameters
 * and buffers there). Reports to diag (naming path) and returns -1 on any
 * error. */
int weights_embed(Graph *g, const char *path, const void *data, size_t len, FILE *diag);
/* --weights without --infer-only (a training build): W of any network. Each
 * tensor takes W's values of the same name and shape (g->weights[i] NULL
 * when W has none); a frozen one W lacks is a located error. -1 then, or
 * for a damaged file (a message to diag). */
int weights_start(Graph *g, const char *path, const void *data, size_t len, FILE *diag);

/* ----------------------------------------------------------- emit/int8.c */
/* nngen quantize: the int8 model of a trained network (see int8.c's header).
 * q8_plan reads g (optimized, inference-only, with --weights) into a chain
 * of int8 layers and float islands, copying what it needs; NULL after
 * located errors. q8_calibrate widens every tensor's range with n samples
 * of the one input (q8_input_size floats each); q8_quantize then fixes
 * scales, zero points, int8 weights, int32 biases and rescaling; q8_emit
 * writes net.c / net.h. */
typedef struct Q8Net Q8Net;
Q8Net *q8_plan(const Graph *g);
int q8_input_size(const Q8Net *q);
void q8_calibrate(Q8Net *q, const float *x, int n);
void q8_quantize(Q8Net *q);
void q8_emit(const Q8Net *q, const EmitOptions *o, Buf *c, Buf *h);
void q8_report(const Q8Net *q, FILE *f); /* layers, float islands, flash and RAM */
long q8_flash_bytes(const Q8Net *q);     /* const data of the int8 build */
long q8_ram_bytes(const Q8Net *q);       /* its model struct's activations */
/* TFLite's QuantizeMultiplier: real = mult * 2^(shift - 31), mult in [2^30, 2^31) (0 for 0) */
void q8_quantize_multiplier(double real, int32_t *mult, int *shift);
void q8_free(Q8Net *q);

/* --------------------------------------------------------------- report.c */
/* The summary table of --report: tensors, parameters, memory, FLOPs.
 * o0_arena_floats: the arena of the same network at -O0, or -1 (not shown). */
typedef struct ReportCost {
    long struct32; /* sizeof the model struct on a 32-bit target */
    long arena_floats;
    long trainable;     /* trainable scalars */
    double train_flops; /* of a training step for one sample */
} ReportCost;
void report_cost(const Graph *g, ReportCost *out);
/* unfrozen: the same network compiled without its freeze statements, or
 * NULL (no comparison shown). */
int report_write(FILE *out, const Graph *g, long o0_arena_floats, const ReportCost *unfrozen);

/* -------------------------------------------------------- runtime embed */
/* The runtime sources, embedded by the build (runtime_embed.c, generated). */
extern const char nnrt_embedded_h[];
extern const char nnrt_embedded_c[];

#endif
