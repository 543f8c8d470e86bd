/*
 * weights.c - `nngen --weights trained.nnw --infer-only`: a weight file
 * (docs/c-api.md's format) compiled into the generated code as const data, so
 * that on a microcontroller the parameters stay in flash and RAM holds the
 * activations alone.
 *
 * The file is checked by the runtime's own nnrt_import against the
 * network's parameter table: the very checks NET_load makes (magic,
 * version, structure, CRC, then network name, tensor count, names, ranks,
 * dims), so a file NET_load would refuse is refused here, with the same
 * sentence (nnrt_strerror) and, for an intact file of another network or
 * shape, what differs. Only then is anything changed: the values go to
 * arena buffers (g->weights, g->buffer_values). With them the emitter reads
 * each parameter from the const struct net.c will hold (NET_weights.W1)
 * instead of the model struct (m->param.W1), each buffer (batchnorm's
 * running statistics) likewise from a second const struct
 * (NET_weights_buffer.bn_running_mean instead of m->buffer.bn_running_mean):
 * buffer cnames are a namespace of their own, so they get a struct of their
 * own rather than members beside the parameters' (emit/names.c).
 *
 * Without --infer-only (a training build: weights_start), W may come from any
 * network, as for NET_load_pretrained: each tensor of the network takes the
 * values of W's tensor of the same name and shape. The frozen parameters
 * (and frozen batchnorms' buffers) become const data and must be in W; the
 * others (g->weights[i] NULL when W lacks them) start from W in NET_init.
 */
#include <string.h>

#include "nngen.h"
#include "nn_runtime.h"

/* ---- reading an image nnrt_import found intact (for the explanations) ---- */

typedef struct Reader {
    const unsigned char *p;
    size_t n, pos;
} Reader;

static uint32_t rd_u32(Reader *r) {
    uint32_t v = 0;
    if (r->pos + 4 <= r->n)
        v = (uint32_t)r->p[r->pos] | (uint32_t)r->p[r->pos + 1] << 8 | (uint32_t)r->p[r->pos + 2] << 16 |
            (uint32_t)r->p[r->pos + 3] << 24;
    r->pos += 4;
    return v;
}

/* a u32 length and that many bytes, as a NUL-terminated copy */
static const char *rd_str(Reader *r, Arena *a) {
    uint32_t len = rd_u32(r);
    if (r->pos > r->n || len > r->n - r->pos)
        return "";
    const char *s = arena_strndup(a, (const char *)r->p + r->pos, len);
    r->pos += len;
    return s;
}

static void dims_text(Buf *b, int rank, const long *dims) {
    buf_putc(b, '[');
    for (int i = 0; i < rank; i++)
        buf_printf(b, "%s%ld", i ? ", " : "", dims[i]);
    buf_putc(b, ']');
}

/* Compares the file's tensor group at r (a count, then name, rank, dims and
 * data per tensor) with the network's `count` tensors called `what`
 * ("parameter" or "buffer"; `plural` names them in the count's message),
 * given by names[] and their nodes[]; writes the
 * first difference as a clause into why and returns 1, or returns 0 with r
 * past the group when they agree. */
static int explain_group(Buf *why, const Graph *g, Reader *r, const char *what, const char *plural, int count,
                         const char *const *names, const int *nodes) {
    uint32_t held = rd_u32(r);
    if (held != (uint32_t)count) {
        buf_printf(why, ": it holds %lu %s, network '%s' has %d", (unsigned long)held, plural, g->net, count);
        return 1;
    }
    for (int i = 0; i < count; i++) {
        const Shape *s = &g->nodes[nodes[i]].shape;
        const char *name = rd_str(r, g->arena);
        uint32_t rank = rd_u32(r);
        long fdims[NN_MAX_RANK] = {0}, ndims[NN_MAX_RANK];
        uint64_t numel = 1; /* saturating: the file's dims are anything */
        for (uint32_t k = 0; k < rank && r->pos < r->n; k++) {
            uint32_t d = rd_u32(r);
            if (k < NN_MAX_RANK)
                fdims[k] = (long)d;
            numel = d && numel > UINT64_MAX / 4 / d ? UINT64_MAX / 4 : numel * d;
        }
        for (int k = 0; k < s->rank; k++)
            ndims[k] = s->dims[k];
        if (strcmp(name, names[i]) || rank != (uint32_t)s->rank ||
            memcmp(fdims, ndims, sizeof(long) * (size_t)s->rank)) {
            buf_printf(why, ": %s %d is '%s' ", what, i, name);
            dims_text(why, rank <= NN_MAX_RANK ? (int)rank : NN_MAX_RANK, fdims);
            buf_printf(why, " in the file, '%s' ", names[i]);
            dims_text(why, s->rank, ndims);
            buf_printf(why, " in network '%s'", g->net);
            return 1;
        }
        if (numel > (r->n - (r->pos < r->n ? r->pos : r->n)) / 4)
            return 1; /* cannot happen in an image nnrt_import walked */
        r->pos += 4 * (size_t)numel;
    }
    return 0;
}

/* NN_ERR_NETWORK / NN_ERR_SHAPE: the first difference between the file's
 * tables and the network's (np parameters, then the buffers, as names[] and
 * nodes[] list them), as a clause for the error message. */
static void explain(Buf *why, const Graph *g, const unsigned char *img, size_t len, const char *const *names,
                    const int *nodes) {
    Reader r = {img, len, 8};
    const char *net = rd_str(&r, g->arena);
    int np = g->nparams;
    if (strcmp(net, g->net))
        buf_printf(why, ": it holds network '%s', this is network '%s'", net, g->net);
    else if (!explain_group(why, g, &r, "parameter", "parameter tensors", np, names, nodes))
        explain_group(why, g, &r, "buffer", "buffers (running statistics)", g->nbuffers, names + np, nodes + np);
}

/* ---- embedding ---------------------------------------------------------------------- */

/* a table for nnrt_import: name, shape and a fresh value array of each
 * tensor (count nodes), the arrays also in *values */
static nn_param *import_table(Graph *g, int count, const char *const *names, const int *nodes, float ***values) {
    nn_param *t = arena_alloc(g->arena, sizeof(nn_param) * (size_t)(count + 1));
    float **v = arena_alloc(g->arena, sizeof(float *) * (size_t)(count + 1));
    for (int i = 0; i < count; i++) {
        const Shape *s = &g->nodes[nodes[i]].shape;
        t[i].name = names[i];
        t[i].rank = s->rank;
        for (int k = 0; k < s->rank; k++)
            t[i].dims[k] = s->dims[k];
        t[i].size = shape_numel(s);
        t[i].value = v[i] = arena_alloc(g->arena, sizeof(float) * (size_t)(t[i].size + 1));
    }
    *values = v;
    return t;
}

int weights_embed(Graph *g, const char *path, const void *data, size_t len, FILE *diag) {
    int np = g->nparams, nb = g->nbuffers;
    const char **names = arena_alloc(g->arena, sizeof(char *) * (size_t)(np + nb + 1));
    int *nodes = arena_alloc(g->arena, sizeof(int) * (size_t)(np + nb + 1));
    for (int i = 0; i < np; i++) {
        names[i] = g->params[i].name;
        nodes[i] = g->params[i].node;
    }
    for (int i = 0; i < nb; i++) {
        names[np + i] = g->buffers[i].name;
        nodes[np + i] = g->buffers[i].node;
    }
    float **values, **bvalues;
    nn_param *t = import_table(g, np, names, nodes, &values);
    nn_param *b = import_table(g, nb, names + np, nodes + np, &bvalues);
    int st = nnrt_import(g->net, np ? t : NULL, np, nb ? b : NULL, nb, data, len);
    if (st != NN_OK) {
        Buf why = {0};
        if (st == NN_ERR_NETWORK || st == NN_ERR_SHAPE)
            explain(&why, g, data, len, names, nodes);
        fprintf(diag, "nngen: error: %s: %s%s\n", path, nnrt_strerror(st), why.data ? why.data : "");
        fprintf(diag, "nngen: note: --weights takes a file that %s_save wrote for this very network\n", g->net);
        buf_free(&why);
        return -1;
    }
    g->weights = values;
    g->buffer_values = nb ? bvalues : NULL;
    return 0;
}

/* ---- training builds: W of any network ------------------------------------------------- */

/* What W holds for the network's tensors: values (by name and shape), or
 * the shape W holds a name with when it differs (for the error). */
typedef struct Held {
    float **values;     /* per tensor, NULL when W has no tensor of that name and shape */
    const char **other; /* per tensor, "[3, 8]" when W holds the name with another shape */
} Held;

static float get_f32(const unsigned char *b) {
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One tensor record at r: matched by name against the network's count
 * tensors (names[], nodes[]); the last record of a name wins, as in
 * nnrt_import_pretrained. */
static void take_record(Reader *r, const Graph *g, int count, const char *const *names, const int *nodes, Held *h) {
    const char *name = rd_str(r, g->arena);
    uint32_t rank = rd_u32(r);
    long dims[NN_MAX_RANK] = {0};
    uint64_t numel = 1; /* the image is intact (nnrt_import_pretrained said so) */
    for (uint32_t k = 0; k < rank; k++) {
        uint32_t d = rd_u32(r);
        if (k < NN_MAX_RANK)
            dims[k] = (long)d;
        numel *= d;
    }
    size_t at = r->pos;
    r->pos += 4 * (size_t)numel;
    for (int i = 0; i < count; i++) {
        const Shape *s = &g->nodes[nodes[i]].shape;
        if (strcmp(name, names[i]))
            continue;
        int same = rank == (uint32_t)s->rank;
        for (int k = 0; same && k < s->rank; k++)
            same = dims[k] == s->dims[k];
        if (!same) {
            Buf b = {0};
            dims_text(&b, rank <= NN_MAX_RANK ? (int)rank : NN_MAX_RANK, dims);
            h->other[i] = arena_strdup(g->arena, b.data);
            buf_free(&b);
            continue;
        }
        float *v = arena_alloc(g->arena, sizeof(float) * (size_t)(numel + 1));
        for (uint64_t j = 0; j < numel; j++)
            v[j] = get_f32(r->p + at + 4 * j);
        h->values[i] = v;
    }
}

/* A frozen tensor (a parameter, or a frozen batchnorm's buffer) that W does
 * not hold with its shape: a located error at the freeze that covers it. */
static int check_frozen(const Graph *g, const char *path, const char *what, const char *name, int node, Loc at,
                        const float *values, const char *other) {
    if (values)
        return 0;
    Buf b = {0};
    shape_print(&b, &g->nodes[node].shape);
    if (other)
        diag_error(at, "frozen %s '%s' is %s, the weight file '%s' holds it as %s", what, name, b.data, path, other);
    else
        diag_error(at, "frozen %s '%s' %s is not in the weight file '%s' (a frozen tensor is const data from it)", what,
                   name, b.data, path);
    buf_free(&b);
    return -1;
}

int weights_start(Graph *g, const char *path, const void *data, size_t len, FILE *diag) {
    int np = g->nparams, nb = g->nbuffers, rc = 0;
    int st = nnrt_import_pretrained(NULL, 0, data, len); /* the image is intact: magic ... CRC */
    if (st < 0) {
        fprintf(diag, "nngen: error: %s: %s\n", path, nnrt_strerror(st));
        return -1;
    }
    const char **names = arena_alloc(g->arena, sizeof(char *) * (size_t)(np + nb + 1));
    int *nodes = arena_alloc(g->arena, sizeof(int) * (size_t)(np + nb + 1));
    Held h = {arena_alloc(g->arena, sizeof(float *) * (size_t)(np + nb + 1)),
              arena_alloc(g->arena, sizeof(char *) * (size_t)(np + nb + 1))};
    for (int i = 0; i < np + nb; i++) {
        names[i] = i < np ? g->params[i].name : g->buffers[i - np].name;
        nodes[i] = i < np ? g->params[i].node : g->buffers[i - np].node;
        h.values[i] = NULL;
        h.other[i] = NULL;
    }
    Reader r = {data, len, 8};
    rd_str(&r, g->arena); /* the network name: not checked */
    for (int group = 0; group < 2; group++)
        for (uint32_t k = 0, n = rd_u32(&r); k < n; k++)
            take_record(&r, g, np + nb, names, nodes, &h);
    for (int i = 0; i < np; i++)
        if (g->params[i].frozen)
            rc |=
                check_frozen(g, path, "parameter", names[i], nodes[i], g->params[i].frozen_at, h.values[i], h.other[i]);
    for (int i = 0; i < nb; i++)
        if (g->buffers[i].frozen)
            rc |= check_frozen(g, path, "buffer", names[np + i], nodes[np + i], g->buffers[i].frozen_at,
                               h.values[np + i], h.other[np + i]);
    if (rc)
        return -1;
    g->weights = h.values;
    g->buffer_values = nb ? h.values + np : NULL;
    return 0;
}
