/*
 * builtins.c - every callable name of the language, with its signature.
 *
 * One row per name, as docs/language.md writes it: the arguments in signature
 * order, each with its kind and its default ("" = optional without default,
 * "=kernel" = defaults to the value of argument `kernel`, NULL = required),
 * and its lowering function, which lives in the ops/ file of the op family
 * it builds (layer_dense in ops/matmul.c, layer_conv2d in ops/conv.c).
 * lower.c binds calls against these rows; a row marked pending is part of
 * the language but not built yet, and a call to it is a located error.
 * The optimizers' rows are their descriptors' signatures (compiler/optim/),
 * listed between the losses and the schedules.
 */
#include <string.h>

#include "nngen.h"

#define T(n)                                                                                                           \
    { n, AK_TENSOR, NULL }
#define NUM(n, d)                                                                                                      \
    { n, AK_NUM, d }
#define INT(n, d)                                                                                                      \
    { n, AK_INT, d }
#define BOOL(n, d)                                                                                                     \
    { n, AK_BOOL, d }
#define STR(n, d)                                                                                                      \
    { n, AK_STR, d }
#define INIT(n, d)                                                                                                     \
    { n, AK_INIT, d }
#define INT2(n, d)                                                                                                     \
    { n, AK_INT2, d }
#define DIMS(n)                                                                                                        \
    { n, AK_DIMS, NULL }

/* clang-format off */
static const Builtin builtins[] = {
    /* primitives */
    {"exp",  CK_PRIM, 1, {T("x")}, layer_unary, OP_EXP, 0},
    {"log",  CK_PRIM, 1, {T("x")}, layer_unary, OP_LOG, 0},
    {"sqrt", CK_PRIM, 1, {T("x")}, layer_unary, OP_SQRT, 0},
    {"abs",  CK_PRIM, 1, {T("x")}, layer_unary, OP_ABS, 0},
    {"sum",  CK_PRIM, 2, {T("x"), INT("axis", "")}, layer_reduce, OP_SUM_ALL, 0},
    {"mean", CK_PRIM, 2, {T("x"), INT("axis", "")}, layer_reduce, OP_MEAN_ALL, 0},
    {"max",  CK_PRIM, 2, {T("a"), T("b")}, layer_binary, OP_MAX, 0},
    {"min",  CK_PRIM, 2, {T("a"), T("b")}, layer_binary, OP_MIN, 0},
    {"reshape",   CK_PRIM, 2, {T("x"), DIMS("dims")}, layer_reshape, OP_RESHAPE, 0},
    {"flatten",   CK_PRIM, 1, {T("x")}, layer_flatten, OP_RESHAPE, 0},
    {"transpose", CK_PRIM, 1, {T("x")}, layer_transpose, OP_TRANSPOSE, 0},
    {"concat",    CK_PRIM, 3, {T("a"), T("b"), INT("axis", "-1")}, layer_concat, OP_CONCAT, 0},
    {"last",      CK_PRIM, 1, {T("x")}, layer_last, OP_SLICE, 0},

    /* activations */
    {"sigmoid",    CK_ACT, 1, {T("x")}, layer_unary, OP_SIGMOID, 0},
    {"tanh",       CK_ACT, 1, {T("x")}, layer_unary, OP_TANH, 0},
    {"relu",       CK_ACT, 1, {T("x")}, layer_unary, OP_RELU, 0},
    {"leaky_relu", CK_ACT, 2, {T("x"), NUM("alpha", "0.01")}, layer_unary, OP_LEAKY_RELU, 0},
    {"elu",        CK_ACT, 2, {T("x"), NUM("alpha", "1.0")}, layer_unary, OP_ELU, 0},
    {"softplus",   CK_ACT, 1, {T("x")}, layer_unary, OP_SOFTPLUS, 0},
    {"swish",      CK_ACT, 2, {T("x"), NUM("beta", "1.0")}, layer_unary, OP_SWISH, 0},
    {"silu",       CK_ACT, 1, {T("x")}, layer_unary, OP_SWISH, 0},
    {"gelu",       CK_ACT, 2, {T("x"), STR("approximate", "\"none\"")}, layer_gelu, OP_GELU, 0},
    {"softmax",    CK_ACT, 2, {T("x"), INT("axis", "-1")}, layer_softmax, OP_SOFTMAX, 0},
    {"log_softmax",CK_ACT, 2, {T("x"), INT("axis", "-1")}, layer_softmax, OP_LOG_SOFTMAX, 0},
    {"glu",        CK_ACT, 2, {T("x"), INT("axis", "-1")}, layer_glu, OP_GLU, 0},

    /* layers: they own parameters */
    {"dense",   CK_LAYER, 5, {T("x"), INT("units", NULL), BOOL("bias", "true"),
                 INIT("init", "xavier_uniform"), INIT("bias_init", "zeros")}, layer_dense, OP_MATMUL, 0},
    {"conv2d",  CK_LAYER, 9, {T("x"), INT("filters", NULL), INT2("kernel", NULL), INT2("stride", "1"),
                 INT2("pad", "0"), INT("groups", "1"), BOOL("bias", "true"),
                 INIT("init", "he_uniform"), INIT("bias_init", "zeros")}, layer_conv2d, OP_CONV2D, 0},
    {"maxpool2d", CK_LAYER, 3, {T("x"), INT2("kernel", NULL), INT2("stride", "=kernel")}, layer_maxpool2d, OP_MAXPOOL2D, 0},
    {"avgpool2d", CK_LAYER, 3, {T("x"), INT2("kernel", NULL), INT2("stride", "=kernel")}, layer_avgpool2d, OP_AVGPOOL2D, 0},
    {"conv1d",  CK_LAYER, 9, {T("x"), INT("filters", NULL), INT("kernel", NULL), INT("stride", "1"),
                 INT("pad", "0"), INT("groups", "1"), BOOL("bias", "true"),
                 INIT("init", "he_uniform"), INIT("bias_init", "zeros")}, layer_conv1d, OP_CONV2D, 0},
    {"maxpool1d", CK_LAYER, 3, {T("x"), INT("kernel", NULL), INT("stride", "=kernel")}, layer_maxpool1d, OP_MAXPOOL2D, 0},
    {"avgpool1d", CK_LAYER, 3, {T("x"), INT("kernel", NULL), INT("stride", "=kernel")}, layer_avgpool1d, OP_AVGPOOL2D, 0},
    {"global_avgpool", CK_LAYER, 1, {T("x")}, layer_global_avgpool, OP_MEAN_AXIS, 0},
    {"batchnorm", CK_LAYER, 3, {T("x"), NUM("momentum", "0.1"), NUM("eps", "1e-5")}, layer_batchnorm, OP_MEAN_TO, 0},
    {"dropout",   CK_LAYER, 2, {T("x"), NUM("p", NULL)}, layer_dropout, OP_DROPOUT_MASK, 0},
    {"prelu",     CK_LAYER, 1, {T("x")}, layer_prelu, OP_PRELU, 0},
    {"maxout",    CK_LAYER, 5, {T("x"), INT("units", NULL), INT("pieces", NULL),
                   INIT("init", "xavier_uniform"), INIT("bias_init", "zeros")}, layer_maxout, OP_MAXOUT, 0},
    /* recurrent layers: init= / bias_init= default to uniform(-1/sqrt(units), 1/sqrt(units)) */
    {"rnn",  CK_LAYER, 6, {T("x"), INT("units", NULL), STR("nonlinearity", "\"tanh\""), BOOL("bias", "true"),
              INIT("init", ""), INIT("bias_init", "")}, layer_rnn, OP_MATMUL, 0},
    {"lstm", CK_LAYER, 5, {T("x"), INT("units", NULL), BOOL("bias", "true"), INIT("init", ""),
              INIT("bias_init", "")}, layer_lstm, OP_MATMUL, 0},
    {"gru",  CK_LAYER, 5, {T("x"), INT("units", NULL), BOOL("bias", "true"), INIT("init", ""),
              INIT("bias_init", "")}, layer_gru, OP_MATMUL, 0},

    /* losses (reduction = "mean") */
    {"mse",        CK_LOSS, 2, {T("pred"), T("t")}, layer_loss, OP_MSE, 0},
    {"mae",        CK_LOSS, 2, {T("pred"), T("t")}, layer_loss, OP_MAE, 0},
    {"huber",      CK_LOSS, 3, {T("pred"), T("t"), NUM("delta", "1.0")}, layer_loss, OP_HUBER, 0},
    {"smooth_l1",  CK_LOSS, 3, {T("pred"), T("t"), NUM("beta", "1.0")}, layer_loss_arg, OP_SMOOTH_L1, 0},
    {"log_cosh",   CK_LOSS, 2, {T("pred"), T("t")}, layer_loss, OP_LOG_COSH, 0},
    {"msle",       CK_LOSS, 2, {T("pred"), T("t")}, layer_loss, OP_MSLE, 0},
    {"bce",        CK_LOSS, 2, {T("p"), T("t")}, layer_loss, OP_BCE, 0},
    {"bce_logits", CK_LOSS, 2, {T("z"), T("t")}, layer_loss, OP_BCE_LOGITS, 0},
    {"cross_entropy", CK_LOSS, 2, {T("z"), T("y")}, layer_cross_entropy, OP_CE_CLASS, 0},
    {"nll",        CK_LOSS, 2, {T("logp"), T("y")}, layer_loss, OP_NLL, 0},
    {"kl_div",     CK_LOSS, 2, {T("logq"), T("p")}, layer_loss, OP_KL_DIV, 0},
    {"hinge",      CK_LOSS, 3, {T("z"), T("y"), NUM("margin", "1.0")}, layer_loss_arg, OP_HINGE, 0},

    /* optimizers: not here; each is the signature of its descriptor
     * (compiler/optim/NAME.c), which builtin_at lists after the losses */

    /* learning-rate schedules */
    {"step",        CK_SCHED, 2, {INT("step_size", NULL), NUM("gamma", "0.1")}, 0, OP__COUNT, 0},
    {"exponential", CK_SCHED, 1, {NUM("gamma", NULL)}, 0, OP__COUNT, 0},
    {"cosine",      CK_SCHED, 2, {INT("t_max", NULL), NUM("eta_min", "0")}, 0, OP__COUNT, 0},
    {"cosine_restarts", CK_SCHED, 3, {INT("t0", NULL), INT("t_mult", "1"), NUM("eta_min", "0")}, 0, OP__COUNT, 0},
    /* gamma (exp_range's, PyTorch's default 1.0) is an extension */
    {"cyclic",      CK_SCHED, 5, {NUM("base_lr", NULL), NUM("max_lr", NULL), INT("step_size_up", NULL),
                     STR("mode", "\"triangular\""), NUM("gamma", "1.0")}, 0, OP__COUNT, 0},

    /* initializers */
    {"zeros",          CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},
    {"ones",           CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},
    {"constant",       CK_INIT, 1, {NUM("v", NULL)}, 0, OP__COUNT, 0},
    {"uniform",        CK_INIT, 2, {NUM("a", NULL), NUM("b", NULL)}, 0, OP__COUNT, 0},
    {"normal",         CK_INIT, 2, {NUM("mean", NULL), NUM("std", NULL)}, 0, OP__COUNT, 0},
    {"xavier_uniform", CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},
    {"xavier_normal",  CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},
    {"he_uniform",     CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},
    {"he_normal",      CK_INIT, 0, {{0}}, 0, OP__COUNT, 0},

    /* regularizers: l2(LAMBDA[, P...]); the names are bound by lower.c */
    {"l1", CK_REG, 1, {NUM("lambda", NULL)}, 0, OP__COUNT, 0},
    {"l2", CK_REG, 1, {NUM("lambda", NULL)}, 0, OP__COUNT, 0},
};
/* clang-format on */

/* rows of the table before the optimizers (the table is grouped by kind,
 * in CallKind's order) */
static int rows_before_optimizers(void) {
    int i = 0;
    while (i < (int)(sizeof builtins / sizeof builtins[0]) && builtins[i].kind < CK_OPT)
        i++;
    return i;
}

const Builtin *builtin_find(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    const OptimDesc *opt = optim_find(name);
    return opt ? &opt->call : NULL;
}

/* the implemented function of tensors (primitive, activation, layer, loss)
 * closest to a misspelled name, or NULL (base_suggest says how close) */
const char *builtin_suggest(const char *name) {
    const char *names[sizeof builtins / sizeof builtins[0]];
    int n = 0;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        CallKind k = builtins[i].kind;
        if (!builtins[i].pending && (k == CK_PRIM || k == CK_ACT || k == CK_LAYER || k == CK_LOSS))
            names[n++] = builtins[i].name;
    }
    return base_suggest(name, names, n);
}

const char *builtin_kind_name(CallKind k) {
    switch (k) {
    case CK_PRIM:
        return "a primitive function";
    case CK_ACT:
        return "an activation";
    case CK_LAYER:
        return "a layer";
    case CK_LOSS:
        return "a loss";
    case CK_OPT:
        return "an optimizer";
    case CK_SCHED:
        return "a schedule";
    case CK_INIT:
        return "an initializer";
    case CK_REG:
        return "a regularizer";
    }
    return "a function";
}

int builtin_count(void) {
    return (int)(sizeof builtins / sizeof builtins[0]) + optim_count();
}

/* the table's rows, with the optimizers' signatures in their place */
const Builtin *builtin_at(int i) {
    int before = rows_before_optimizers();
    if (i < 0 || i >= builtin_count())
        return NULL;
    if (i < before)
        return &builtins[i];
    if (i < before + optim_count())
        return &optim_at(i - before)->call;
    return &builtins[i - optim_count()];
}
