/*
 * matmul.c - the matrix product: the @ operator and the dense layer that
 * lower to it, its derivative rule and its kernel call.
 *
 * dense(x, units, bias=true, init=xavier_uniform, bias_init=zeros) is
 * flatten(x) @ weight[in, units] + bias[units].
 *
 * a @ b multiplies the rows of a (all leading dims, the batch included,
 * flattened) by a matrix b without batch dimension:
 *   [L..., k] @ [k, m] -> [L..., m]            (i[0] = 0, i[1] = 0)
 * Autodiff adds the two transposed forms:
 *   [L..., m] @ [k, m]^T -> [L..., k]          (i[1] = 1: d a = dy b^T)
 *   [L..., k]^T @ [L..., m] -> [k, m]          (i[0] = 1: d b = a^T dy, which
 *                                               sums over the batch)
 * All three are one call of the runtime's GEMM on row-major matrices:
 * nnrt_sgemm_ws with a workspace from the arena (matmul_scratch) for
 * products large enough to pay for packing, nnrt_sgemm for the others;
 * but a product whose dimensions other than the rows are small constants
 * (matmul_small: at most 16 each) becomes loops with those constant
 * bounds (small_emit), which the C compiler unrolls and vectorizes.
 *
 * pack_cols(b): b itself (its value, for autodiff and for every product
 * but one), stored as the runtime's column panels (nnrt_pack_cols) when the
 * batch is 1. A matrix that several one-row products read in turn (a
 * recurrent layer's W_hh, once per step) is packed once per call, then
 * each step's matrix-vector product streams its panels (nnrt_sgemm_packed)
 * instead of reading 128-column pieces of its rows: a third faster where
 * the matrix lives in L2, the same sums in the same order. The products'
 * derivative rules read and accumulate into b directly, so the pack lives
 * in the forward pass only.
 */
#include "nngen.h"

/* ---- lowering ------------------------------------------------------------------ */

/* x @ W: W a matrix [k, m] or a vector [k] (then the result drops the last dim) */
int layer_matmul(LowerCtx *c, Loc loc, int a, int b) {
    Shape sb = c->g->nodes[b].shape;
    if (sb.rank == 1 && !sb.batched) {
        Shape col = sb, out;
        col.rank = 2;
        col.dims[1] = 1;
        int r = lower_node2(c, OP_MATMUL, loc, a, lower_reshape(c, b, &col, loc));
        if (r < 0)
            return -1;
        out = c->g->nodes[r].shape;
        out.rank--;
        return lower_reshape(c, r, &out, loc);
    }
    return lower_node2(c, OP_MATMUL, loc, a, b);
}

/* dense(x, units, bias=true, init=xavier_uniform, bias_init=zeros):
 * flatten(x) @ weight[in, units] + bias[units] */
int layer_dense(LowerCtx *c, const Expr *call, const Bound *b) {
    int units = (int)b->num[1];
    if (units < 1) {
        diag_error(b->loc[1], "dense needs units >= 1, got %d", units);
        return -1;
    }
    Shape fs = lower_flat_shape(&c->g->nodes[b->node[0]].shape);
    int x = lower_reshape(c, b->node[0], &fs, call->loc);
    Shape ws = {0, 2, {fs.dims[0], units, 0, 0}};
    int w = lower_layer_param(c, call, 0, "weight", &ws, b->init[3], "xavier_uniform", 1);
    int z = lower_node2(c, OP_MATMUL, call->loc, x, w);
    if (!b->num[2] || z < 0)
        return z;
    Shape bs = {0, 1, {units, 0, 0, 0}};
    int bias = lower_layer_param(c, call, 1, "bias", &bs, b->init[4], "zeros", 0);
    return lower_node2(c, OP_ADD, call->loc, z, bias);
}

/* ---- shape rule ------------------------------------------------------------------ */

static int matmul_error(Graph *g, Node *n, const char *why) {
    shape_error2(g, n, "matmul", &g->nodes[n->in[0]].shape, "@", &g->nodes[n->in[1]].shape, why);
    return -1;
}

/* a^T @ b: equal leading dims, the result has no batch dimension */
static int shape_ta(Graph *g, Node *n, const Shape *a, const Shape *b) {
    int lead_ok = a->batched == b->batched && a->rank == b->rank;
    for (int d = 0; lead_ok && d + 1 < a->rank; d++)
        lead_ok = a->dims[d] == b->dims[d];
    if (!lead_ok || a->rank < 1)
        return matmul_error(g, n, "the leading dimensions differ");
    Shape s = {0, 2, {a->dims[a->rank - 1], b->dims[b->rank - 1], 0, 0}};
    n->shape = s;
    return 0;
}

int matmul_shape(Graph *g, Node *n) {
    const Shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
    int tb = n->i[1];
    char why[64];
    if (n->i[0])
        return shape_ta(g, n, a, b);
    if (a->rank < 1)
        return matmul_error(g, n, "the left operand needs at least one dimension per sample");
    if (b->batched)
        return matmul_error(g, n, "the right operand must not have the batch dimension: write x @ W");
    if (b->rank != 2)
        return matmul_error(g, n, "the right operand must be a matrix or a vector");
    int k = a->dims[a->rank - 1], kb = b->dims[tb ? 1 : 0];
    if (k != kb) {
        snprintf(why, sizeof why, "%d != %d", k, kb);
        return matmul_error(g, n, why);
    }
    n->shape = *a;
    n->shape.dims[a->rank - 1] = b->dims[tb ? 0 : 1];
    return 0;
}

/* pack_cols(b): a matrix without batch dimension, the same shape */
int pack_cols_shape(Graph *g, Node *n) {
    const Shape *b = &g->nodes[n->in[0]].shape;
    if (b->batched || b->rank != 2)
        nn_unreachable("pack_cols of a tensor that is not a matrix");
    n->shape = *b;
    return 0;
}

/* Below 32 KB (L1) the panels gain nothing: the matrix stays as it is. */
enum { PACK_MIN_FLOATS = 8192 };

/* w, or pack_cols(w) when w is a matrix of more than PACK_MIN_FLOATS read by
 * several one-row products in turn (the caller knows). Not with --blas (its
 * GEMM reads w), nor --freestanding: a microcontroller without a cache
 * (the Cortex-M4F's kernels read w in place) would only lose the RAM. */
int matmul_pack(LowerCtx *c, Loc loc, int w) {
    if (w < 0 || c->g->blas || c->g->freestanding || shape_numel(&c->g->nodes[w].shape) <= PACK_MIN_FLOATS)
        return w;
    return lower_node1(c, OP_PACK_COLS, loc, w);
}

/* the matrix a product's operand holds: pack_cols(b)'s is b */
static int matrix_of(const Graph *g, int b) {
    return g->nodes[b].op == OP_PACK_COLS ? g->nodes[b].in[0] : b;
}

/* ---- derivative rule ------------------------------------------------------------- */

/* the identity: its value is b's */
int pack_cols_grad(AdCtx *ad, int n, int dy) {
    ad_accumulate(ad, ad_graph(ad)->nodes[n].in[0], dy);
    return 0;
}

/* C = A B:  dA = dC B^T,  dB = A^T dC (B = pack_cols(W): W itself).
 * A packed W is read by several products in turn (a recurrent layer's
 * steps): their dA read W^T transposed once per call (cse merges the
 * transposes of W into one node) as a plain matrix the GEMM reads in
 * place, where nnrt_sgemm_ws(tb = 1) would copy W^T into its workspace
 * for every product. */
int matmul_grad(AdCtx *ad, int n, int dy) {
    Graph *g = ad_graph(ad);
    int a = g->nodes[n].in[0], b = matrix_of(g, g->nodes[n].in[1]);
    if (g->nodes[n].i[0] || g->nodes[n].i[1])
        nn_unreachable("differentiating a transposed matmul");
    if (ad_needs_grad(ad, a)) {
        int packed = g->nodes[n].in[1] != b;
        int in[2] = {dy, packed ? ad_node_i(ad, OP_TRANSPOSE, n, 1, &b, 0, 0, 0) : b};
        ad_accumulate(ad, a, ad_node_i(ad, OP_MATMUL, n, 2, in, 0, !packed, 0));
    }
    if (ad_needs_grad(ad, b)) {
        int in[2] = {a, dy};
        ad_accumulate(ad, b, ad_node_i(ad, OP_MATMUL, n, 2, in, 1, 0, 0));
    }
    return 0;
}

/* ---- kernel ---------------------------------------------------------------------- */

/* rows of a tensor seen as a matrix with its last dim as columns */
static void rows_of(Buf *b, const Shape *s) {
    long r = 1;
    for (int d = 0; d + 1 < s->rank; d++)
        r *= s->dims[d];
    if (s->batched)
        buf_printf(b, r == 1 ? "n" : "n * %ld", r);
    else
        buf_printf(b, "%ld", r);
}

/* The GEMM's M, N, K for `batch` samples. */
static void gemm_dims(const Graph *g, const Node *n, int batch, long *M, long *N, long *K) {
    const Shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
    long rows = shape_numel(a) / a->dims[a->rank - 1] * (a->batched ? batch : 1);
    if (n->i[0]) {
        *M = a->dims[a->rank - 1];
        *N = b->dims[b->rank - 1];
        *K = rows;
    } else {
        *M = rows;
        *N = b->dims[n->i[1] ? 0 : 1];
        *K = a->dims[a->rank - 1];
    }
}

/* ---- small static shapes: loop nests instead of a GEMM call -------------------- */

/* A product whose two dimensions other than the rows (the batch) are both
 * at most SMALL_DIM: the weight of a layer of at most 16 x 16, and the two
 * products of its derivative. Measured (docs/performance.md, "Small
 * matrices"): at 200 rows, loops with these constant bounds take 0.07-0.8 us
 * where nnrt_sgemm takes 1-8 us (its bounds are variables: the compiler can
 * neither unroll nor pick the vector width); from 32 on either side gcc's
 * unrolling of the same loops goes wrong (2-40 times slower than the GEMM). */
enum { SMALL_DIM = 16, SMALL_SUMS = 128 };

/* Fewer rows than this at NET_MAX_BATCH (a --max-batch 1 firmware build):
 * no transposed copy of B, no vectors of sums, no partial sums: each sum a
 * scalar, which gcc -O2 keeps in a register on the Cortex-M4F (a short
 * vector of sums it keeps in memory); what pays off over many rows costs
 * more than it saves over one (moons' training step, tests/firmware/count.sh) */
enum { SMALL_FEW_ROWS = 4 };

/* The product's two dimensions other than the rows: (K, N) of C = A op(B),
 * (M, N) of C = A^T B, whose K is the rows. */
static void fixed_dims(const Graph *g, const Node *n, long *d0, long *d1) {
    const Shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
    *d0 = a->dims[a->rank - 1];
    *d1 = n->i[0] ? b->dims[b->rank - 1] : b->dims[n->i[1] ? 0 : 1];
}

/* 1 when matmul_emit writes n as loops (small_emit), 0 for a GEMM call. The
 * one place that chooses. */
static int matmul_small(const Graph *g, const Node *n) {
    long d0, d1;
    if (g->blas || g->nodes[n->in[1]].op == OP_PACK_COLS)
        return 0;
    fixed_dims(g, n, &d0, &d1);
    return d0 <= SMALL_DIM && d1 <= SMALL_DIM && (!n->i[0] || d0 * d1 <= SMALL_SUMS);
}

/* "x * s + y" without the "* 1" and "+ 0" that would not help a reader */
static const char *index_of(Arena *a, const char *x, long s, const char *y) {
    const char *xs = s == 1 ? x : arena_printf(a, "%s * %ld", x, s);
    return y ? arena_printf(a, "%s + %s", xs, y) : xs;
}

/* C[rows, N] = A[rows, K] op(B), op(B) K x N. Two forms, by measurement:
 * with N <= 2 and many rows, a row's N sums side by side (acc0, acc1), one
 * term of each per p; else each sum a dot product over p, along rows of op(B)^T:
 * B itself when transposed, else a copy of it transposed on the stack (b,
 * at most SMALL_DIM^2 floats), unless K = 1 (then B's layout is the same)
 * or the rows are few (then B is read down its columns). Every sum adds
 * its terms in the order of p, from the first term (no 0.0f). */
static void small_rows_emit(Emit *e, const char *rows, const char *A, const char *B, const char *C, long K, long N,
                            int tb, int few) {
    Arena *ar = e->g->arena;
    if (N <= 2 && !few) { /* scalars acc0, acc1: an array stays in memory at gcc -O2 */
        emit_open(e, "for (long i = 0; i < %s; i++)", rows);
        for (long j = 0; j < N; j++) /* op(B)'s (p, j): B[p * N + j], or B[j * K + p] transposed */
            emit_line(e, "float acc%ld = %s[%s] * %s[%ld];", j, A, index_of(ar, "i", K, NULL), B, tb ? j * K : j);
        if (K > 1) {
            emit_open(e, "for (long p = 1; p < %ld; p++)", K);
            for (long j = 0; j < N; j++)
                emit_line(e, "acc%ld += %s[%s] * %s[%s];", j, A, index_of(ar, "i", K, "p"), B,
                          tb ? (j ? arena_printf(ar, "%ld + p", j * K) : "p")
                             : index_of(ar, "p", N, j ? arena_printf(ar, "%ld", j) : NULL));
            emit_close(e);
        }
        for (long j = 0; j < N; j++)
            emit_line(e, "%s[%s] = acc%ld;", C, index_of(ar, "i", N, j ? arena_printf(ar, "%ld", j) : NULL), j);
        emit_close(e);
        return;
    }
    const char *bt = B, *bj = index_of(ar, "j", K, NULL), *bjp = index_of(ar, "j", K, "p");
    if (!tb && few) /* B's column j */
        bj = "j", bjp = index_of(ar, "p", N, "j");
    int copy = !tb && !few && K > 1;
    if (copy) {
        emit_begin(e);
        bt = "b";
        emit_line(e, "float b[%ld * %ld]; /* %s transposed: the dot products read its rows */", N, K, B);
        emit_line(e, "for (long j = 0; j < %ld; j++)", N);
        emit_line(e, "    for (long p = 0; p < %ld; p++) b[%s] = %s[%s];", K, index_of(ar, "j", K, "p"), B,
                  index_of(ar, "p", N, "j"));
    }
    emit_open(e, "for (long i = 0; i < %s; i++)", rows);
    emit_line(e, "NNRT_IVDEP"); /* C's row i, an element each; A and B are other memory */
    emit_open(e, "for (long j = 0; j < %ld; j++)", N);
    emit_line(e, "float dot = %s[%s] * %s[%s];", A, index_of(ar, "i", K, NULL), bt, bj);
    if (K > 1)
        emit_line(e, "for (long p = 1; p < %ld; p++) dot += %s[%s] * %s[%s];", K, A, index_of(ar, "i", K, "p"), bt,
                  bjp);
    emit_line(e, "%s[%s] = dot;", C, index_of(ar, "i", N, "j"));
    emit_close(e);
    emit_close(e);
    if (copy)
        emit_close(e);
}

/* C[M, N] = A[rows, M]^T B[rows, N], summed over the rows. The sums of
 * one row of C (j < N) or, when M > N, of one column (p < M) are a vector
 * (acc), four of them: rows r, r + 1, r + 2, r + 3 go to four partial sums,
 * added pairwise at the end, so that four chains of additions run at once
 * instead of one chain as long as the batch (a third of the time at 200
 * rows). When the rows are few, each sum is a dot product down the
 * columns of A and B. */
static void small_sum_emit(Emit *e, const char *rows, const char *A, const char *B, const char *C, long M, long N,
                           int few) {
    Arena *ar = e->g->arena;
    int by_row = N >= M;
    const char *o = by_row ? "p" : "j", *v = by_row ? "j" : "p"; /* outer, vector index */
    long O = by_row ? M : N, V = by_row ? N : M;
    const char *a4 = index_of(ar, "(r + k)", M, "p"), *b4 = index_of(ar, "(r + k)", N, "j");
    emit_open(e, "for (long %s = 0; %s < %ld; %s++)", o, o, O, o);
    if (few) {
        emit_open(e, "for (long %s = 0; %s < %ld; %s++)", v, v, V, v);
        emit_line(e, "float dot = 0.0f;");
        emit_line(e, "for (long r = 0; r < %s; r++) dot += %s[%s] * %s[%s];", rows, A, index_of(ar, "r", M, "p"), B,
                  index_of(ar, "r", N, "j"));
        emit_line(e, "%s[%s] = dot;", C, index_of(ar, "p", N, "j"));
        emit_close(e);
        emit_close(e);
        return;
    }
    emit_line(e, "float acc[4 * %ld]; /* partial sums of rows r, r + 1, r + 2, r + 3 */", V);
    emit_line(e, "long r = 0;");
    emit_line(e, "for (long %s = 0; %s < 4 * %ld; %s++) acc[%s] = 0.0f;", v, v, V, v, v);
    emit_line(e, "for (; r + 4 <= %s; r += 4)", rows);
    emit_line(e, "    for (long k = 0; k < 4; k++)");
    emit_line(e, "        for (long %s = 0; %s < %ld; %s++) acc[k * %ld + %s] += %s[%s] * %s[%s];", v, v, V, v, V, v, A,
              a4, B, b4);
    emit_line(e, "for (; r < %s; r++)", rows);
    emit_line(e, "    for (long %s = 0; %s < %ld; %s++) acc[%s] += %s[%s] * %s[%s];", v, v, V, v, v, A,
              index_of(ar, "r", M, "p"), B, index_of(ar, "r", N, "j"));
    emit_line(e, "for (long %s = 0; %s < %ld; %s++)", v, v, V, v);
    emit_line(e, "    %s[%s] = (acc[%s] + acc[%ld + %s]) + (acc[%ld + %s] + acc[%ld + %s]);", C,
              index_of(ar, "p", N, "j"), v, V, v, 2 * V, v, 3 * V, v);
    emit_close(e);
}

/* n as loops with constant bounds (matmul_small), then its epilogue over
 * the whole result */
static void small_emit(Emit *e, const Node *n, const char *A, const char *B, const char *C) {
    const Shape *a = &e->g->nodes[n->in[0]].shape;
    long d0, d1, M, N, K;
    Buf rows = {0};
    fixed_dims(e->g, n, &d0, &d1);
    gemm_dims(e->g, n, e->g->max_batch, &M, &N, &K);
    long max_rows = n->i[0] ? K : M; /* at NET_MAX_BATCH */
    int few = max_rows < SMALL_FEW_ROWS;
    rows_of(&rows, a);
    const char *bound = a->batched ? arena_printf(e->g->arena, "(long)%s", rows.data) : rows.data;
    if (a->batched && e->g->max_batch == 1) /* n is 1: the bound a constant too */
        bound = arena_printf(e->g->arena, "%ld", max_rows);
    emit_line(e, "/* %ld x %ld: loops with constant bounds (matmul.c, small_emit) */", d0, d1);
    if (n->i[0])
        small_sum_emit(e, bound, A, B, C, d0, d1, few);
    else
        small_rows_emit(e, bound, A, B, C, d0, d1, n->i[1], few);
    if (n->epilogue >= 0)
        emit_line(e, "%s(m, 0, %s, 0, %ld);", emit_epilogue(e, n), rows.data, d1);
    buf_free(&rows);
}

/* The workspace of nnrt_sgemm_ws at NET_MAX_BATCH: the runtime's
 * nnrt_sgemm_ws_size, evaluated here (test_emit checks that the two
 * agree): a KC x NC block of op(B) and an MC x KC block of op(A), NC and MC
 * rounded up to the register tile, plus 16 floats to align them. Products
 * below the runtime's NNRT_SMALL_FLOPS multiply-adds even at the largest
 * batch never pack: they get none (and the call passes NULL); neither do
 * products of one row, which take the matrix-vector path (a firmware
 * build at --max-batch 1 has no workspace in RAM). */
long matmul_scratch(const Graph *g, const Node *n) {
    enum { MR = 6, NR = 32, KC = 256, MC = 120, NC = 512, SMALL = 16384 };
    long M, N, K;
    gemm_dims(g, n, g->max_batch, &M, &N, &K);
    if (matmul_small(g, n) || g->blas || M <= 1 || N <= 0 || K <= 0 || (double)M * N * K < SMALL)
        return 0; /* one row (batch 1 inference) takes the matrix-vector path: no packing */
    long kc = K < KC ? K : KC;
    long mc = ((M < MC ? M : MC) + MR - 1) / MR * MR;
    long nc = ((N < NC ? N : NC) + NR - 1) / NR * NR;
    return kc * (mc + nc) + 16;
}

/* --blas=openblas: the same product through CBLAS; an epilogue then runs
 * once over the whole result */
static void blas_emit(Emit *e, const Node *n, int ta, int tb, const char *M, long N, const char *K, const char *A,
                      long lda, const char *B, long ldb, const char *C) {
    emit_line(e, "cblas_sgemm(CblasRowMajor, %s, %s, %s, %ld, %s, 1.0f, %s, %ld, %s, %ld, 0.0f, %s, %ld);",
              ta ? "CblasTrans" : "CblasNoTrans", tb ? "CblasTrans" : "CblasNoTrans", M, N, K, A, lda, B, ldb, C, N);
    if (n->epilogue >= 0)
        emit_line(e, "%s(m, 0, %s, 0, %ld);", emit_epilogue(e, n), M, N);
}

/* pack_cols(b): b's panels, packed when the batch is 1 */
void pack_cols_emit(Emit *e, const Node *n) {
    const Shape *s = &e->g->nodes[n->in[0]].shape;
    emit_reads_batch(e);
    emit_open(e, "if (n == 1)");
    emit_line(e, "nnrt_pack_cols(%d, %d, %s, %d, %s);", s->dims[0], s->dims[1], emit_ref(e, n->in[0]), s->dims[1],
              emit_ref(e, n->id));
    emit_close(e);
}

/* a copy: no arithmetic */
double pack_cols_flops(const Graph *g, const Node *n, int batch) {
    (void)g, (void)n, (void)batch;
    return 0.0;
}

void matmul_emit(Emit *e, const Node *n) {
    const Shape *a = &e->g->nodes[n->in[0]].shape, *b = &e->g->nodes[n->in[1]].shape;
    int packed = e->g->nodes[n->in[1]].op == OP_PACK_COLS;
    if (e->g->blas) {
        Buf rows = {0};
        const char *A = emit_ref(e, n->in[0]), *B = emit_ref(e, matrix_of(e->g, n->in[1])), *C = emit_ref(e, n->id);
        rows_of(&rows, a);
        int k = a->dims[a->rank - 1];
        const char *ks = arena_printf(e->g->arena, "%d", k);
        if (n->i[0]) /* C[k, m] = A^T B over the rows */
            blas_emit(e, n, 1, 0, ks, b->dims[b->rank - 1], rows.data, A, k, B, b->dims[b->rank - 1], C);
        else
            blas_emit(e, n, 0, n->i[1], rows.data, b->dims[n->i[1] ? 0 : 1], ks, A, k, B, b->dims[1], C);
        buf_free(&rows);
        return;
    }
    const char *A = emit_ref(e, n->in[0]), *B = emit_ref(e, matrix_of(e->g, n->in[1])), *C = emit_ref(e, n->id);
    if (matmul_small(e->g, n)) {
        small_emit(e, n, A, B, C);
        return;
    }
    /* with a workspace: the packed kernel; without (a small product): the
     * plain one; a large product of one row: nnrt_sgemm_ws without a
     * workspace, which takes it as a matrix-vector product */
    long M1, N1, K1;
    gemm_dims(e->g, n, e->g->max_batch, &M1, &N1, &K1);
    int ws = n->scratch > 0 || n->epilogue >= 0 || (M1 == 1 && (double)N1 * K1 >= 16384);
    const char *epi = n->epilogue >= 0 ? arena_printf(e->g->arena, "%s, m", emit_epilogue(e, n)) : "NULL, NULL";
    const char *tail =
        ws ? arena_printf(e->g->arena, ", %s, %s", n->scratch > 0 ? emit_scratch(e, n) : "NULL", epi) : "";
    Buf rows = {0};
    if (n->i[0]) { /* C[k, m] = A^T B, A: rows x k, B: rows x m */
        int k = a->dims[a->rank - 1], m = b->dims[b->rank - 1];
        rows_of(&rows, a);
        emit_line(e, "nnrt_sgemm%s(1, 0, %d, %d, %s, 1.0f, %s, %d, %s, %d, 0.0f, %s, %d%s);", ws ? "_ws" : "", k, m,
                  rows.data, A, k, B, m, C, m, tail);
    } else if (packed && !n->i[1]) { /* C[rows, m] = A B, B's panels read at batch 1 */
        int k = a->dims[a->rank - 1], m = b->dims[1];
        rows_of(&rows, a);
        emit_line(e, "nnrt_sgemm_packed(%s, %d, %d, 1.0f, %s, %d, %s, %d, %s, 0.0f, %s, %d, %s, %s);", rows.data, m, k,
                  A, k, B, m, emit_ref(e, n->in[1]), C, m, n->scratch > 0 ? emit_scratch(e, n) : "NULL", epi);
    } else { /* C[rows, m] = A op(B) */
        int k = a->dims[a->rank - 1], tb = n->i[1], m = b->dims[tb ? 0 : 1];
        rows_of(&rows, a);
        emit_line(e, "nnrt_sgemm%s(0, %d, %s, %d, %d, 1.0f, %s, %d, %s, %d, 0.0f, %s, %d%s);", ws ? "_ws" : "", tb,
                  rows.data, m, k, A, k, B, b->dims[1], C, m, tail);
    }
    buf_free(&rows);
}

/* 2 M N K: one multiply and one add per term of every dot product */
double matmul_flops(const Graph *g, const Node *n, int batch) {
    const Shape *a = &g->nodes[n->in[0]].shape;
    double rows = (double)shape_numel(a) / a->dims[a->rank - 1] * (a->batched ? batch : 1);
    double k = a->dims[a->rank - 1];
    double m = n->i[0] ? (double)shape_numel(&n->shape) / k : n->shape.dims[n->shape.rank - 1];
    return 2.0 * rows * k * m;
}
