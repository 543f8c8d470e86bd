/*
 * ir.h - the intermediate representation: a graph of primitive ops.
 *   ops.def   every op once (an X-macro): name, arity, flags, hooks, and how
 *             its attributes print; this library reads the first and last
 *             columns, compiler/ops/ops.c builds the hook table from the rest
 *   ir.c      nodes in one growable array addressed by integer ids,
 *             schedules, use counts, the text dump
 *   shape.c   shapes: element counts, printing, broadcasting, size limits
 *   query.c   what a node is to the network: the parameter, buffer or port
 *             it stands for, whose gradient it is, output, loss
 * It calls no hook: what dispatches on an op's rules lives in the core.
 */
#ifndef NNGEN_IR_H
#define NNGEN_IR_H

#include "base/base.h"

struct Expr; /* an initializer's syntax (front.h), kept for the emitter's comments */

/* ------------------------------------------------------------------ ops.def */
typedef enum Op {
#define OP(id, name, arity, flags, shape, grad, expr, emit, flops, scratch, attrs) OP_##id,
#include "ops.def"
#undef OP
    OP__COUNT
} Op;

enum {
    OPF_LEAF = 1 << 0,        /* no inputs: input, param, const, ... */
    OPF_ELEMENTWISE = 1 << 1, /* out[i] = f(in0[i'], in1[i'], ...) with broadcasting: has expr */
    OPF_EFFECT = 1 << 2,      /* writes state (optimizer update): a root, never removed */
    OPF_VIEW = 1 << 3,        /* output aliases input 0 (reshape) */
    OPF_NOGRAD = 1 << 4,      /* differentiating through it is an error (grad kernels) */
    OPF_INT = 1 << 5,         /* produces int32 data (class labels) */
    OPF_COMMUTES = 1 << 6,    /* binary, commutative (cse canonicalizes operand order) */
    OPF_IMPURE = 1 << 7,      /* not a function of its inputs and attributes alone (random
                                 draws, state it reads or advances, as the dropout PRNG): cse
                                 never merges two of them, fuse never moves one */
    OPF_EPILOGUE = 1 << 8,    /* its kernel can apply an elementwise epilogue to its output
                                 blocks while they are in cache (fuse.c; Node.epilogue) */
    OPF_SHAPE_IN0 = 1 << 9    /* elementwise, input 0 gives the shape only: the expression
                                 never reads it (the emitter passes no argument for it) */
};

/* ------------------------------------------------------------------- ir.c */
typedef enum Func {
    FN_NONE,
    FN_INFER,    /* NET_forward / NET_loss: inference mode */
    FN_TRAIN,    /* NET_forward_train: training-mode forward to the loss */
    FN_BACKWARD, /* NET_backward: the gradient graph */
    FN_UPDATE,   /* NET_update: the optimizer */
    FN__COUNT
} Func;

typedef struct Shape {
    int batched; /* leads with the symbolic batch dimension N */
    int rank;    /* dims below, N not counted; 0 = scalar per sample */
    int dims[NN_MAX_RANK];
} Shape;

/* Where a node's data lives; decided by passes/plan.c. */
typedef enum Storage {
    STO_UNPLANNED,
    STO_ARENA,  /* m->arena + offset */
    STO_MEMBER, /* a named struct member (params, grads, optimizer state) */
    STO_ARG,    /* a caller's pointer kept in the struct (inputs, targets) */
    STO_CONST,  /* a scalar literal, no storage */
    STO_ALIAS,  /* the storage of node `alias` (views; a kernel's epilogue result) */
    STO_NONE,   /* writes nothing of its own (optimizer updates) */
    STO_FUSED   /* inside a fused loop: a local temporary, no memory (fuse.c) */
} Storage;

typedef struct Node {
    int id;
    Op op;
    int nin;
    int in[NN_MAX_IN];
    Shape shape;
    Func func;
    Loc loc;          /* source position; gradient nodes inherit their forward op's */
    const char *name; /* DSL name when the node is a named statement's value, else NULL */
    double f[8];      /* float attributes (see each op's file) */
    int i[4];         /* integer attributes: axis, flags, ... */
    const char *s;    /* string attribute: param / input name */
    int grad_of;      /* -1, or the forward node this is the (accumulated) gradient of */
    int dead;         /* removed by a pass; ignored everywhere */
    /* set by passes/fuse.c (-1 otherwise): `fuse` is the node whose code
     * computes this one (the root of its elementwise group, or the kernel
     * whose epilogue the group is); `epilogue` is, on a kernel, the root of
     * the group it applies to its output */
    int fuse, epilogue;
    /* filled by passes/plan.c */
    Storage storage;
    long offset;  /* STO_ARENA: float offset into the arena */
    int alias;    /* STO_ALIAS: the node whose storage this one shares */
    long scratch; /* floats of scratch its kernel uses (0: none), at scratch_offset */
    long scratch_offset;
} Node;

/* One parameter tensor of the network, in docs/language.md's table order. */
typedef struct Param {
    const char *name;      /* "W1", "h.weight" */
    int node;              /* the OP_PARAM node */
    int grad;              /* its gradient node after autodiff, -1 if none */
    int is_weight;         /* counts as a weight for regularize without names */
    struct Expr *init;     /* initializer expression (NAME or CALL) */
    int init_kind;         /* INIT_* */
    double init_a, init_b; /* initializer arguments after defaults */
    long sort_key;         /* statement, layer, slot: the table order */
    Loc loc;
    int frozen;    /* named by a freeze statement: no gradient, state or decay */
    Loc frozen_at; /* the freeze statement's name that covers it */
} Param;

typedef enum InitKind {
    INIT_ZEROS,
    INIT_ONES,
    INIT_CONSTANT,
    INIT_UNIFORM,
    INIT_NORMAL,
    INIT_XAVIER_UNIFORM,
    INIT_XAVIER_NORMAL,
    INIT_HE_UNIFORM,
    INIT_HE_NORMAL
} InitKind;

/* One input or target of the network, in declaration order. */
typedef struct Port {
    const char *name;
    int node; /* its leaf node (shared by every function) */
    Shape shape;
    int is_class; /* class target: int32, K classes */
    int classes;
    int is_target;
} Port;

typedef struct Output {
    const char *name;
    int node; /* in FN_INFER */
} Output;

/* One buffer of the network (batchnorm's running statistics): model state
 * that is saved and loaded with the parameters but is not trained. Table
 * order as parameters (statement, layer, slot). */
typedef struct Buffer {
    const char *name; /* "bn.running_mean" */
    int node;         /* the OP_BUFFER leaf */
    double init;      /* every element's value after NET_init */
    long sort_key;
    Loc loc;
    int frozen;    /* of a frozen batchnorm: read, never updated */
    Loc frozen_at; /* the freeze statement's name that covers it */
} Buffer;

struct OptimDesc; /* an optimizer's rules (nngen.h, compiler/optim/NAME.c) */

/* The optimizer statement, bound and validated (compiler/optim/optim.c). */
typedef struct Optimizer {
    const struct OptimDesc *desc; /* NULL: none */
    const char *name;             /* its name ("adam") */
    double lr;                    /* the initial learning rate: argument 0 */
    double hp[8];                 /* hp[k] = argument k + 1 of the optimizer's signature */
    Loc loc;
} Optimizer;

typedef enum SchedKind {
    SCHED_NONE,
    SCHED_STEP,
    SCHED_EXPONENTIAL,
    SCHED_COSINE,
    SCHED_COSINE_RESTARTS,
    SCHED_CYCLIC
} SchedKind;

typedef struct Schedule {
    SchedKind kind;
    const char *name; /* as written */
    double a[8];      /* the arguments, per kind: see schedule.c */
    Loc loc;
} Schedule;

typedef struct Graph {
    Arena *arena;
    Node *nodes;
    int count, cap;
    const char *net; /* network name */
    Param *params;
    int nparams;
    Port *ports;
    int nports;
    Output *outputs;
    int noutputs;
    int loss_infer; /* loss node in FN_INFER, -1 for inference-only files */
    int loss_train; /* loss node in FN_TRAIN, -1 likewise */
    Optimizer opt;
    int infer_only;
    int max_batch;
    long arena_floats; /* set by plan */
    Schedule sched;    /* the learning-rate schedule (kind SCHED_NONE: none) */
    /* buffers and training-forward state (ops/batchnorm.c, ops/dropout.c) */
    Buffer *buffers; /* table order, like params */
    int nbuffers;
    int min_train_batch;   /* NET_forward_train refuses n below this (batchnorm with one value per channel: 2) */
    int uses_rng;          /* the training forward draws dropout masks from the model's PRNG */
    int opt_level;         /* set by pass_run_all: 0 plans without in-place reuse */
    int blas;              /* --blas=openblas: GEMMs call cblas_sgemm (no workspace) */
    int freestanding;      /* --freestanding: a microcontroller's code (no pack_cols: see matmul.c) */
    float **weights;       /* --weights: each parameter's values from the file (weights.c); NULL: no
                              --weights; weights[i] NULL: the file lacks it (training builds only) */
    float **buffer_values; /* --weights: each buffer's values likewise (NULL when nbuffers is 0) */
    /* freeze (lower.c): per statement index, 1 when a freeze names the statement */
    char *frozen_stmts;
    int nfrozen;       /* frozen parameters */
    int ignore_freeze; /* lower as if there were no freeze (--report's comparison) */
} Graph;

/* An op's name ("matmul") and OPF_* flags, from ops.def. */
const char *ir_op_name(Op op);
unsigned ir_op_flags(Op op);

void ir_init(Graph *g, Arena *a);
void ir_free(Graph *g); /* the node array; the arena belongs to the caller */
int ir_add(Graph *g, Op op, Func fn, Loc loc, int nin, const int *in);
Node *ir_node(Graph *g, int id);
const Node *ir_cnode(const Graph *g, int id);
/* Node ids a function runs, in an order where inputs come first. `roots` lists
 * what must be computed; returns the count, ids in *out (arena memory). */
int ir_schedule(const Graph *g, Func fn, int **out);
/* The live non-leaf nodes that `roots` need, in id order (arena memory). */
int ir_schedule_roots(const Graph *g, const int *roots, int nroots, int **out);
/* Every node (live, not leaf) whose func is fn, in id order (topological). */
int ir_func_nodes(const Graph *g, Func fn, int **out);
long shape_numel(const Shape *s);         /* per-sample element count (1 for scalar) */
void shape_print(Buf *b, const Shape *s); /* "[N, 3]", "[2, 3]", "[]" */
int shape_equal(const Shape *a, const Shape *b);
void ir_dump(FILE *out, const Graph *g);
void ir_dump_node(Buf *b, const Graph *g, const Node *n);
void ir_node_attrs(Buf *b, const Node *n); /* " axis=0", " k=2": the dump's attribute text */
/* Users of every node: counts of non-dead nodes reading it. */
int *ir_use_counts(const Graph *g);

/* ---------------------------------------------------------------- query.c */
/* The parameter whose PARAM node is `node`, or NULL. */
const Param *ir_param_of(const Graph *g, int node);
/* The buffer whose BUFFER node is `node`, or NULL. */
const Buffer *ir_buffer_of(const Graph *g, int node);
/* The input or target whose leaf is `node`, or NULL. */
const Port *ir_port_of(const Graph *g, int node);
/* The parameter whose gradient (Param.grad) v is, or NULL; and as a test. */
const Param *ir_param_of_grad(const Graph *g, int v);
int ir_is_param_grad(const Graph *g, int v);
/* Held as const data in net.c, not in the model struct (--weights). */
int ir_param_const(const Graph *g, const Param *p);
int ir_buffer_const(const Graph *g, const Buffer *b);
/* Scalars of the parameters (buffers) of a kind: every one; the trainable ones
 * (not frozen, 0 for inference-only builds; buffers: none); those in the model
 * struct; those held as const data. */
enum { IR_ALL, IR_TRAINABLE, IR_WRITABLE, IR_CONST };
long ir_param_scalars(const Graph *g, int which);
long ir_buffer_scalars(const Graph *g, int which);
int ir_is_output(const Graph *g, int v); /* some output's node */
int ir_is_loss(const Graph *g, int v);   /* the inference or the training loss */
/* 1 when v's value is something the API exposes or owns storage of its own
 * (an output, a loss, a parameter's gradient): passes keep it where it is. */
int ir_is_root(const Graph *g, int v);

/* ---------------------------------------------------------------- shape.c */
int shape_broadcast(Graph *g, Node *n, const Shape *a, const Shape *b, Shape *out);
/* Reports a shape whose size for the largest batch reaches 2^31; -1 then. */
int shape_check_size(Graph *g, Loc loc, const char *what, const Shape *s);
/* A shape error: "op shapes [N, 3] @ [4, 2] do not agree (3 != 4)". */
void shape_error2(Graph *g, const Node *n, const char *what, const Shape *a, const char *opname, const Shape *b,
                  const char *why);

#endif
