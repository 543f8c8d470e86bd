/*
 * trainer.c - the fixed half of the program that `nngen train` and
 * `nngen predict` compile for a network. nngen embeds this text and builds
 * one C file from, in order: `#include "net.c"` (the network, generated with
 * --standalone, so the runtime comes along and nothing but libm is linked),
 * the glue of glue.c (port tables and nnt_* wrappers of the NET_*
 * API), the data loaders (runtime/data/nn_data.h and nn_data.c), and this
 * file. It uses only the generated API, the runtime and the loaders.
 *
 *   nntrain train --train DATA [--test DATA] [--epochs N] [--batch B]
 *                 [--val-split F] [--seed S] [--early-stop P] [--lr LR]
 *                 [--save FILE.nnw] [--history FILE.csv] [--target NAME]
 *                 [--progress auto|always|never] [--init FILE.nnw] [--threads N]
 *   nntrain predict --weights FILE.nnw --input DATA [--target NAME] [--threads N]
 *   (both: --train-name, --test-name, --input-name NAME: the name messages
 *   give a DATA that nngen unpacked from NAME.gz)
 *
 * DATA is IMAGES.idx,LABELS.idx (pixels scaled to [0, 1]), IMAGES.idx alone
 * (predict), or FILE.csv: the inputs' values in declaration order, then the
 * targets' (the last columns, or the columns from the one whose header is
 * --target NAME); a DATA naming an existing file is that file, commas and
 * all. Each file is read once, whole, into memory (a FIFO or a pipe works),
 * up to $NNGEN_DATA_MAX bytes. Status: 0, 2 on any usage or data error and
 * when training diverged, 130 when training was interrupted (its results
 * are written all the same).
 *
 * Training: the training data is shuffled (seeded) and its last --val-split
 * fraction held out for validation; each epoch visits the rest in a fresh
 * order, in batches; the epoch's train loss is the mean of its steps'
 * losses, its train metric an inference pass at the epoch's end. The best
 * epoch by validation loss is kept (its weights restored at the end, saved
 * with --save); --early-stop P stops after P epochs without a lower one.
 * Ctrl-C stops after the current step and finishes as after the last
 * epoch (status 130). An epoch whose train loss (or validation loss, with
 * validation) is not finite has diverged: training stops there, the last
 * epoch with a finite loss is kept and saved (nothing is saved when there
 * is none), status 2. Up to 50 epochs print a line each; longer runs print about 50 (every
 * k-th epoch, the first, the last), the history file has every epoch.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__)
#include <sys/ioctl.h> /* TIOCGWINSZ: the progress bar's width */
#endif

/* NNT_KIND's values (macros: the preprocessor compares them) */
#define KIND_NONE 0
#define KIND_CLASSIFIER 1
#define KIND_BINARY 2
#define KIND_REGRESSION 3
#define NI (NNT_N_INPUTS > 0 ? NNT_N_INPUTS : 1)
#define NT (NNT_N_TARGETS > 0 ? NNT_N_TARGETS : 1)

typedef struct Options {
    const char *mode, *train, *test, *save, *history, *target, *weights, *input, *progress, *init;
    const char *train_name, *test_name, *input_name; /* the DATA specs as the user gave them (nngen unpacks .gz) */
    long epochs, batch, patience, threads;
    double val_split, lr;
    unsigned long long seed;
} Options;

/* One data set in memory: per input count x size floats, per target count
 * x size values (int32_t for class targets, float otherwise). IDX images
 * stay bytes (x8, a quarter of the memory), scaled to [0, 1] a batch at a
 * time by gather. */
typedef struct Data {
    const char *spec;
    long count;
    int has_targets;
    int csv, header, cols; /* read from CSV; with a header line; its columns */
    float *x[NI];
    unsigned char *x8; /* IDX images (input 0) when set; x[0] is then NULL */
    void *x8_block;    /* the allocation x8 points into: the IDX file's own bytes (x8 is past its header) */
    void *t[NT];
} Data;

typedef struct Metrics {
    double loss;   /* NAN when there is no loss to compute */
    double metric; /* accuracy in percent, or MSE; NAN when none */
} Metrics;

/* ---- errors and memory --------------------------------------------------------------- */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("nngen: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *alloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p)
        die("out of memory (%lu bytes)", (unsigned long)n);
    return p;
}

static long sum_sizes(const long *sizes, int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        s += sizes[i];
    return s;
}

static size_t tg_elem(int j) {
    return nnt_tg_classes[j] ? sizeof(int32_t) : sizeof(float);
}

/* ---- sources: each data file is read once, whole, into memory (a FIFO or
 * a pipe can be read only once; /dev/zero never ends) ---------------------- */

/* One file's bytes, NUL-terminated (the CSV readers need that); shown is
 * the name messages give (the user's, not an unpacked temporary file's). */
typedef struct Source {
    char *bytes;
    size_t len;
    const char *shown;
} Source;

/* The most bytes one data source may hold: $NNGEN_DATA_MAX (bytes, or with
 * a suffix K, M, G: KiB, MiB, GiB), 1 GiB by default. */
static size_t data_limit(void) {
    const char *v = getenv("NNGEN_DATA_MAX");
    if (!v || !*v)
        return (size_t)1 << 30;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (errno || end == v || *end || v[0] == '-' || n == 0 || n > (SIZE_MAX >> (shift + 1)))
        die("NNGEN_DATA_MAX takes a number of bytes (a suffix K, M or G allowed), not '%s'", v);
    return (size_t)n << shift;
}

static void source_too_big(const Source *s, size_t limit) {
    die("'%s' holds more than %zu bytes, the limit of one data source (NNGEN_DATA_MAX raises it)", s->shown, limit);
}

/* A stream (FIFO, pipe, device) whose first bytes are neither IDX (0 0 8
 * rank) nor text without NUL bytes cannot be data: said at once. */
static void source_sniff(const Source *s, size_t from) {
    const unsigned char *b = (const unsigned char *)s->bytes;
    if (s->len >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 8)
        return;
    const char *nul = memchr(s->bytes + from, '\0', s->len - from);
    if (nul)
        die("'%s' is neither an IDX file nor CSV text (a NUL byte at offset %zu)", s->shown, (size_t)(nul - s->bytes));
}

static void source_read(const char *path, const char *shown, Source *s) {
    size_t limit = data_limit(), cap = 65536;
    struct stat st;
    s->shown = shown;
    s->len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read '%s': %s", shown, strerror(errno));
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (regular && (unsigned long long)st.st_size > limit)
        source_too_big(s, limit);
    if (regular)
        cap = (size_t)st.st_size + 2; /* the NUL, and a byte to see the end without growing */
    s->bytes = alloc(cap);
    for (;;) {
        if (s->len + 1 >= cap) { /* a stream, or a file that grew */
            if (cap > limit)
                source_too_big(s, limit);
            cap = cap * 2 > limit + 2 ? limit + 2 : cap * 2;
            if (!(s->bytes = realloc(s->bytes, cap)))
                die("out of memory reading '%s' (%zu bytes)", shown, cap);
        }
        size_t before = s->len, got = fread(s->bytes + s->len, 1, cap - 1 - s->len, f);
        s->len += got;
        if (s->len > limit)
            source_too_big(s, limit);
        if (!regular)
            source_sniff(s, before);
        if (got == 0)
            break;
    }
    if (ferror(f))
        die("cannot read '%s': %s", shown, strerror(errno));
    fclose(f);
    s->bytes[s->len] = '\0';
}

static void source_free(Source *s) {
    free(s->bytes);
    s->bytes = NULL;
}

/* ---- IDX: IMAGES.idx[,LABELS.idx] -------------------------------------------------------- */

static void idx_open(const Source *s, nndata_idx_info *info) {
    int st = nndata_idx_open_mem(s->bytes, s->len, info);
    if (st < 0)
        die("cannot read '%s': %s", s->shown, nnrt_strerror(st));
}

static void load_idx_labels(const Source *s, Data *d) {
    nndata_idx_info li;
    idx_open(s, &li);
    const char *path = s->shown;
    if (NNT_N_TARGETS != 1 || nnt_tg_size[0] != 1)
        die("'%s': IDX labels fit a network with one target of one value; %s has %d target(s): use CSV", path, NNT_NET,
            NNT_N_TARGETS);
    if (li.count != d->count || li.item_size != 1)
        die("'%s' holds %ld labels of %ld value(s) for %ld images", path, li.count, li.item_size, d->count);
    int32_t *labels = alloc(sizeof(int32_t) * (size_t)d->count);
    if (nndata_idx_read_i32_mem(s->bytes, s->len, labels, d->count) != d->count)
        die("cannot read '%s'", path);
    if (nnt_tg_classes[0]) {
        for (long r = 0; r < d->count; r++)
            if (labels[r] < 0 || labels[r] >= nnt_tg_classes[0])
                die("'%s': label %ld (item %ld) is not a class of target %s, [0, %d)", path, (long)labels[r], r,
                    nnt_tg_name[0], nnt_tg_classes[0]);
        d->t[0] = labels;
    } else {
        float *v = alloc(sizeof(float) * (size_t)d->count);
        for (long r = 0; r < d->count; r++)
            v[r] = (float)labels[r];
        free(labels);
        d->t[0] = v;
    }
    d->has_targets = 1;
}

/* images, then (labels given and wanted) the labels */
static void load_idx(Source *im, const char *labels, const char *labels_shown, int want_targets, Data *d) {
    nndata_idx_info ii;
    const char *images = im->shown;
    idx_open(im, &ii);
    if (NNT_N_INPUTS != 1)
        die("'%s': IDX images fit a network with one input; %s has %d: use CSV", images, NNT_NET, NNT_N_INPUTS);
    if (ii.item_size != nnt_in_size[0])
        die("'%s' holds items of %ld values; input %s takes %ld", images, ii.item_size, nnt_in_name[0], nnt_in_size[0]);
    if (ii.count < 1)
        die("'%s' holds no items", images);
    d->count = ii.count;
    /* idx_open checked the file whole, unsigned bytes to its end: the
     * images are the file's own bytes, kept (no copy: half the memory and
     * page faults) */
    d->x8_block = im->bytes;
    d->x8 = (unsigned char *)im->bytes + ii.data_offset;
    im->bytes = NULL;
    if (labels && want_targets) { /* predict reads the images only */
        Source ls;
        source_read(labels, labels_shown, &ls);
        load_idx_labels(&ls, d);
        source_free(&ls);
    } else if (want_targets) {
        die("'%s': training and test data need labels: IMAGES.idx,LABELS.idx", images);
    }
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* The column whose header is `name` in the first non-blank line of s (a
 * UTF-8 byte-order mark skipped; fields trimmed, one pair of quotes off). */
static int csv_column(const Source *s, const char *name, int has_header) {
    if (!has_header)
        die("'%s' has no header line: --target %s needs one to find the column", s->shown, name);
    const char *p = s->bytes, *end = s->bytes + s->len;
    if (s->len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t'))
        p++;
    size_t nlen = strlen(name);
    for (int col = 0; p <= end; col++) {
        const char *f = p, *e;
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            p++;
        e = p;
        while (f < e && (*f == ' ' || *f == '\t'))
            f++;
        while (e > f && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - f >= 2 && *f == '"' && e[-1] == '"')
            f++, e--;
        if ((size_t)(e - f) == nlen && !memcmp(f, name, nlen))
            return col;
        if (p == end || *p != ',')
            break;
        p++;
    }
    die("'%s' has no column named '%s' in its header line", s->shown, name);
    return -1;
}

static void csv_store(Data *d, long r, int col, int start, long ntg, float v, const char *path) {
    int rel = col - start;
    if (rel >= 0 && rel < ntg) { /* target columns, targets in declaration order */
        int j = 0;
        if (!d->has_targets)
            return;
        while (rel >= nnt_tg_size[j])
            rel -= (int)nnt_tg_size[j++];
        if (nnt_tg_classes[j]) {
            if (!(v >= 0 && v < nnt_tg_classes[j] && v == floorf(v)))
                die("'%s', data row %ld: %g is not a class of target %s, an integer in [0, %d)", path, r + 1, (double)v,
                    nnt_tg_name[j], nnt_tg_classes[j]);
            ((int32_t *)d->t[j])[r] = (int32_t)v;
        } else {
            ((float *)d->t[j])[r * nnt_tg_size[j] + rel] = v;
        }
        return;
    }
    int k = col - (rel >= 0 ? (int)ntg : 0), i = 0; /* the k-th input value of the row */
    while (k >= nnt_in_size[i])
        k -= (int)nnt_in_size[i++];
    d->x[i][r * nnt_in_size[i] + k] = v;
}

static void load_csv(const Source *s, const Options *o, int want_targets, Data *d) {
    long rows;
    int cols, header, st;
    const char *path = s->shown;
    long nin = sum_sizes(nnt_in_size, NNT_N_INPUTS), ntg = NNT_N_TARGETS ? sum_sizes(nnt_tg_size, NNT_N_TARGETS) : 0;
    if ((st = nndata_csv_info_mem(s->bytes, s->len, &rows, &cols, &header)) < 0) {
        char why[128];
        long line = st == NN_ERR_FORMAT ? nndata_csv_find_error_mem(s->bytes, s->len, why, sizeof why) : 0;
        if (line > 0)
            die("cannot read '%s': line %ld: %s", path, line, why);
        die("cannot read '%s': %s", path,
            st == NN_ERR_FORMAT ? "a line is not comma-separated numbers" : nnrt_strerror(st));
    }
    if (rows < 1)
        die("'%s' holds no data rows", path);
    d->csv = 1;
    d->header = header;
    d->cols = cols;
    int with_tg = cols == nin + ntg && ntg > 0; /* the file has target columns */
    d->has_targets = with_tg && want_targets;   /* predict skips them unread */
    if (!with_tg && !(cols == nin && !want_targets))
        die("'%s' has %d column%s; %s takes %ld input value(s)%s and %ld target value(s) per sample (%ld columns%s)",
            path, cols, cols == 1 ? "" : "s", NNT_NET, nin, NNT_N_INPUTS > 1 ? " over its inputs" : "", ntg, nin + ntg,
            want_targets ? "" : ", or the inputs alone");
    int start = with_tg ? cols - (int)ntg : cols;
    if (with_tg && o->target) {
        start = csv_column(s, o->target, header);
        if (start + ntg > cols)
            die("'%s': the %ld target column(s) starting at '%s' run past the last column", path, ntg, o->target);
    }
    float *all = alloc(sizeof(float) * (size_t)rows * (size_t)cols);
    if (nndata_csv_read_mem(s->bytes, s->len, all, rows * cols) != rows * cols)
        die("cannot read '%s'", path);
    d->count = rows;
    for (int i = 0; i < NNT_N_INPUTS; i++)
        d->x[i] = alloc(sizeof(float) * (size_t)(rows * nnt_in_size[i]));
    for (int j = 0; j < NNT_N_TARGETS && d->has_targets; j++)
        d->t[j] = alloc(tg_elem(j) * (size_t)(rows * nnt_tg_size[j]));
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            csv_store(d, r, c, start, with_tg ? ntg : 0, all[r * cols + c], path);
    free(all);
}

/* The parts of a DATA spec: the whole spec when a file has that name (a
 * comma in a CSV file's name), else IMAGES,LABELS split at the first comma.
 * shown (the user's spec, when nngen unpacked .gz files) splits alike. */
static char *spec_part(const char *spec, int second) {
    const char *comma = access(spec, F_OK) == 0 ? NULL : strchr(spec, ',');
    if (second)
        return comma ? strcpy(alloc(strlen(comma)), comma + 1) : NULL;
    size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
    char *p = alloc(n + 1);
    memcpy(p, spec, n);
    return p;
}

/* IMAGES.idx,LABELS.idx, an IDX file, or else a CSV file; each read once */
static void load(const char *spec, const char *shown, const Options *o, int want_targets, Data *d) {
    nndata_idx_info info;
    memset(d, 0, sizeof *d);
    d->spec = spec;
    char *first = spec_part(spec, 0), *second = spec_part(spec, 1);
    char *first_shown = spec_part(shown ? shown : spec, 0), *second_shown = spec_part(shown ? shown : spec, 1);
    if (second && !second_shown) /* a shown spec that does not split alike: the real names */
        free(first_shown), first_shown = spec_part(spec, 0), second_shown = spec_part(spec, 1);
    Source s;
    source_read(first, first_shown, &s);
    if (second || nndata_idx_open_mem(s.bytes, s.len, &info) == 0)
        load_idx(&s, second, second_shown, want_targets, d);
    else
        load_csv(&s, o, want_targets, d);
    source_free(&s);
    free(first);
    free(second);
    free(first_shown);
    free(second_shown);
}

static void data_free(Data *d) {
    free(d->x8_block);
    for (int i = 0; i < NI; i++)
        free(d->x[i]);
    for (int j = 0; j < NT; j++)
        free(d->t[j]);
}

/* ---- batches and metrics ---------------------------------------------------------------- */

typedef struct Batch {
    float *x[NI];
    void *t[NT];
} Batch;

static void batch_alloc(Batch *b, long n) {
    for (int i = 0; i < NI; i++)
        b->x[i] = alloc(sizeof(float) * (size_t)(n * (NNT_N_INPUTS ? nnt_in_size[i] : 1)));
    for (int j = 0; j < NT; j++)
        b->t[j] = alloc(sizeof(float) * (size_t)(n * (NNT_N_TARGETS ? nnt_tg_size[j] : 1)));
}

static void batch_free(Batch *b) {
    for (int i = 0; i < NI; i++)
        free(b->x[i]);
    for (int j = 0; j < NT; j++)
        free(b->t[j]);
}

/* asks for the cache lines of IDX sample r's bytes (gcc, clang; a no-op elsewhere) */
static void prefetch_sample(const Data *d, long r) {
#if defined(__GNUC__)
    const char *at = (const char *)d->x8 + r * nnt_in_size[0];
    for (long k = 0; k < nnt_in_size[0] + 64; k += 64)
        __builtin_prefetch(at + k);
#else
    (void)d;
    (void)r;
#endif
}

/* copies samples idx[0..n) of d into b. The samples are shuffled across the
 * whole set, so each one's bytes come from memory: the next sample's are
 * fetched while this one converts (the gather took 30 % less time) */
static void gather(const Data *d, const long *idx, int n, Batch *b) {
    for (int s = 0; s < n; s++) {
        long r = idx[s];
        if (d->x8 && s + 1 < n)
            prefetch_sample(d, idx[s + 1]);
        for (int i = 0; i < NNT_N_INPUTS; i++) {
            float *to = b->x[i] + s * nnt_in_size[i];
            if (d->x8) { /* IDX bytes: pixels scaled to [0, 1] as the float path did */
                const unsigned char *from = d->x8 + r * nnt_in_size[i];
                for (long k = 0; k < nnt_in_size[i]; k++)
                    to[k] = (float)from[k] * (1.0f / 255.0f);
            } else {
                memcpy(to, d->x[i] + r * nnt_in_size[i], sizeof(float) * (size_t)nnt_in_size[i]);
            }
        }
        for (int j = 0; j < NNT_N_TARGETS && d->has_targets; j++) {
            size_t sz = tg_elem(j) * (size_t)nnt_tg_size[j];
            memcpy((char *)b->t[j] + (size_t)s * sz, (const char *)d->t[j] + (size_t)r * sz, sz);
        }
    }
}

/* ---- options ----------------------------------------------------------------------------------- */

static const char driver_usage[] =
    "usage: nntrain train --train DATA [--test DATA] [--epochs N] [--batch B] [--val-split F]\n"
    "                     [--seed S] [--early-stop P] [--lr LR] [--save FILE] [--history FILE]\n"
    "                     [--target NAME] [--progress auto|always|never] [--init FILE]\n"
    "                     [--threads N]\n"
    "       nntrain predict --weights FILE --input DATA [--target NAME] [--threads N]\n";

static double num(const char *opt, const char *v, double lo, double hi, int integer) {
    char *end;
    errno = 0;
    double d = integer ? (double)strtoll(v, &end, 10) : strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi))
        die("%s takes %s in [%g, %g], not '%s'", opt, integer ? "an integer" : "a number", lo, hi, v);
    return d;
}

static unsigned long long seed_value(const char *v) {
    char *end;
    errno = 0;
    unsigned long long s = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-')
        die("--seed takes an integer in [0, 2^64), not '%s'", v);
    return s;
}

/* the cores this process may run on, 1 to NNRT_MT_MAX */
static long cores(void) {
    long n = 1;
#ifdef _SC_NPROCESSORS_ONLN
    n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n < 1 ? 1 : n > NNRT_MT_MAX ? NNRT_MT_MAX : n;
}

static void parse(int argc, char **argv, Options *o) {
    if (argc < 2 || (strcmp(argv[1], "train") && strcmp(argv[1], "predict"))) {
        fputs(driver_usage, stderr);
        exit(2);
    }
    o->mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", k);
        i++;
        if (!strcmp(k, "--train"))
            o->train = v;
        else if (!strcmp(k, "--test"))
            o->test = v;
        else if (!strcmp(k, "--save"))
            o->save = v;
        else if (!strcmp(k, "--history"))
            o->history = v;
        else if (!strcmp(k, "--target"))
            o->target = v;
        else if (!strcmp(k, "--weights"))
            o->weights = v;
        else if (!strcmp(k, "--init"))
            o->init = v;
        else if (!strcmp(k, "--input"))
            o->input = v;
        else if (!strcmp(k, "--train-name"))
            o->train_name = v;
        else if (!strcmp(k, "--test-name"))
            o->test_name = v;
        else if (!strcmp(k, "--input-name"))
            o->input_name = v;
        else if (!strcmp(k, "--progress"))
            o->progress = v;
        else if (!strcmp(k, "--epochs"))
            o->epochs = (long)num(k, v, 1, 1e9, 1);
        else if (!strcmp(k, "--batch"))
            o->batch = (long)num(k, v, 1, NNT_MAX_BATCH, 1);
        else if (!strcmp(k, "--early-stop"))
            o->patience = (long)num(k, v, 0, 1e9, 1);
        else if (!strcmp(k, "--val-split"))
            o->val_split = num(k, v, 0, 0.99, 0);
        else if (!strcmp(k, "--lr"))
            o->lr = num(k, v, 0, 1e30, 0);
        else if (!strcmp(k, "--seed"))
            o->seed = seed_value(v);
        else if (!strcmp(k, "--threads"))
            o->threads = (long)num(k, v, 0, NNRT_MT_MAX, 1);
        else
            die("unknown option '%s'\n%s", k, driver_usage);
    }
    if (strcmp(o->progress, "auto") && strcmp(o->progress, "always") && strcmp(o->progress, "never"))
        die("--progress takes auto, always or never, not '%s'", o->progress);
    if (o->threads == 0) /* one per core */
        o->threads = cores();
    nnrt_mt_set_threads((int)o->threads);
}

/* ---- training ----------------------------------------------------------------------------------- */

#if NNT_TRAINABLE
/* ---- progress ----------------------------------------------------------------------------------- */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A loss or metric as Keras prints it: 4 decimals, in e-notation when that
 * would hide its digits (|v| < 1e-3: "2.5000e-05", not "0.0000") or print
 * dozens of them (|v| >= 1e6, a diverging run). buf: 32 bytes. */
static const char *figure_text(char *buf, double v) {
    double a = fabs(v);
    snprintf(buf, 32, a != 0 && (a < 1e-3 || a >= 1e6) ? "%.4e" : "%.4f", v);
    return buf;
}

/* "1:05", "2:03:04" */
static void clock_text(char *buf, size_t cap, double seconds) {
    long s = seconds > 0 && seconds < 1e8 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
}

/* the terminal's width: the window size of stderr, else $COLUMNS, else 80 */
static int terminal_columns(void) {
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40)
        return ws.ws_col;
#endif
    const char *env = getenv("COLUMNS");
    return env && atoi(env) > 40 ? atoi(env) : 80;
}

typedef struct Progress {
    int on;
    double start, last, train_time; /* train_time: seconds spent in training steps */
    long steps_done, steps_total;
} Progress;

/* epoch 2/5 [==========>         ]  120/225  1234 steps/s  ETA 0:03  loss 0.2563 */
static void progress_draw(Progress *p, long epoch, long epochs, long step, long steps, double loss) {
    double t = now();
    if (!p->on || (t - p->last < 0.1 && step != steps))
        return;
    p->last = t;
    double rate = p->train_time > 0 ? (double)p->steps_done / p->train_time : 0;
    double per_step = p->steps_done ? (t - p->start) / (double)p->steps_done : 0;
    char eta[32], head[64], tail[160];
    clock_text(eta, sizeof eta, per_step * (double)(p->steps_total - p->steps_done));
    snprintf(head, sizeof head, "epoch %ld/%ld ", epoch, epochs);
    char lt[32];
    snprintf(tail, sizeof tail, " %ld/%ld  %.0f steps/s  ETA %s  loss %s", step, steps, rate, eta,
             figure_text(lt, loss));
    int width = terminal_columns() - 1 - (int)strlen(head) - 50 - 2; /* 50: room for the usual tail */
    width = width > 30 ? 30 : width < 8 ? 8 : width;
    int filled = steps ? (int)((double)width * (double)step / (double)steps) : width;
    char bar[40];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r%s[%s]%s\033[K", head, bar, tail);
    fflush(stderr);
}

static void progress_clear(const Progress *p) {
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* adds what the batch's outputs score against its targets: right answers or squared errors */
static double score(const nnt_model *m, const Batch *b, int n) {
    double acc = 0;
#if NNT_KIND != KIND_NONE
    const float *p = nnt_output(m, NNT_PRED);
    long k = nnt_out_size[NNT_PRED];
    for (int s = 0; s < n; s++) {
        const float *ps = p + s * k;
#if NNT_KIND == KIND_CLASSIFIER
        long best = 0;
        for (long c = 1; c < k; c++)
            if (ps[c] > ps[best])
                best = c;
        acc += best == ((const int32_t *)b->t[NNT_TARGET])[s];
#elif NNT_KIND == KIND_BINARY
        acc += (ps[0] > 0.5f) == (((const float *)b->t[NNT_TARGET])[s] > 0.5f);
#else
        for (long c = 0; c < k; c++) {
            double e = (double)ps[c] - ((const float *)b->t[NNT_TARGET])[s * k + c];
            acc += e * e;
        }
#endif
    }
#else
    (void)m, (void)b, (void)n;
#endif
    return acc;
}

static const char *metric_name(void) {
    return NNT_KIND == KIND_REGRESSION ? "mse" : NNT_KIND == KIND_NONE ? "" : "accuracy";
}

/* loss and metric over samples idx[0..count) of d, in inference mode */
static Metrics evaluate(nnt_model *m, const Data *d, const long *idx, long count, Batch *b) {
    double loss = 0, sc = 0;
    for (long s = 0; s < count; s += NNT_MAX_BATCH) {
        int n = (int)(count - s < NNT_MAX_BATCH ? count - s : NNT_MAX_BATCH);
        gather(d, idx + s, n, b);
        int outputs = 0; /* NET_loss leaves the outputs as well: one pass for both */
#if NNT_TRAINABLE
        float l = nnt_loss(m, (const float *const *)b->x, (const void *const *)b->t, n);
        loss += (double)l * n;
        outputs = !isnan(l); /* NaN: refused input, or diverged weights */
#endif
        if (NNT_KIND != KIND_NONE) {
            if (!outputs)
                nnt_forward(m, (const float *const *)b->x, n);
            sc += score(m, b, n);
        }
    }
    Metrics r = {NAN, NAN};
    if (NNT_TRAINABLE)
        r.loss = loss / (double)count;
    if (NNT_KIND == KIND_REGRESSION)
        r.metric = sc / ((double)count * (double)nnt_out_size[NNT_PRED > 0 ? NNT_PRED : 0]);
    else if (NNT_KIND != KIND_NONE)
        r.metric = 100.0 * sc / (double)count;
    return r;
}

/* Ctrl-C during training: finish the step, then stop as after the last
 * epoch (restore the best weights, save, test); a second one kills. One
 * SIGINT can arrive twice (`kill -INT -PGID` reaches the trainer directly and
 * through nngen, which passes on what kill() sent): a second within half a
 * second of the first is that same one, not a second Ctrl-C. */
static volatile sig_atomic_t interrupted;
static struct timespec interrupted_at;

static void on_interrupt(int sig) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!interrupted) {
        interrupted = 1;
        interrupted_at = now;
        return;
    }
    double since = (double)(now.tv_sec - interrupted_at.tv_sec) + 1e-9 * (double)(now.tv_nsec - interrupted_at.tv_nsec);
    if (since < 0.5)
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void shuffle(long *a, long n, nnrt_rng *rng) {
    for (long i = n - 1; i > 0; i--) { /* Fisher-Yates */
        long j = (long)(nnrt_rng_u32(rng) % (uint32_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* one epoch over train_idx in a fresh order; returns the mean step loss */
static double run_epoch(nnt_model *m, const Data *d, long *idx, long count, const Options *o, nnrt_rng *rng, Batch *b,
                        Progress *p, long epoch, long *skipped) {
    long steps = (count + o->batch - 1) / o->batch, step = 0;
    double total = 0;
    long counted = 0;
    shuffle(idx, count, rng);
    for (long s = 0; s < count; s += o->batch, step++) {
        int n = (int)(count - s < o->batch ? count - s : o->batch);
        gather(d, idx + s, n, b);
        double t0 = now();
        float loss = nnt_train_step(m, (const float *const *)b->x, (const void *const *)b->t, n);
        p->train_time += now() - t0;
        p->steps_done++;
        if (isfinite(loss)) {
            total += (double)loss * n;
            counted += n;
        } else {
            ++*skipped;
        }
        progress_draw(p, epoch, o->epochs, step + 1, steps, counted ? total / (double)counted : NAN);
        if (interrupted)
            break;
    }
    return counted ? total / (double)counted : NAN;
}

static int digits(long v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static void print_metrics(const char *what, Metrics r) {
    char t[32];
    printf("  %s loss %s", what, figure_text(t, r.loss));
    if (NNT_KIND == KIND_REGRESSION)
        printf("  mse %s", figure_text(t, r.metric));
    else if (NNT_KIND != KIND_NONE)
        printf("  accuracy %6.2f %%", r.metric);
}

static void history_row(FILE *h, long epoch, Metrics tr, Metrics va, int has_val, double seconds) {
    if (!h)
        return;
    fprintf(h, "%ld,%.9g,", epoch, tr.loss);
    if (NNT_KIND != KIND_NONE)
        fprintf(h, "%.9g,", tr.metric);
    if (has_val) {
        fprintf(h, "%.9g,", va.loss);
        if (NNT_KIND != KIND_NONE)
            fprintf(h, "%.9g,", va.metric);
    }
    fprintf(h, "%.3f\n", seconds);
    fflush(h);
}

static FILE *history_open(const char *path, int has_val) {
    if (!path)
        return NULL;
    FILE *h = fopen(path, "w");
    if (!h)
        die("cannot write '%s': %s", path, strerror(errno));
    const char *mn = metric_name();
    fprintf(h, "epoch,train_loss,");
    if (*mn)
        fprintf(h, "train_%s,", mn);
    if (has_val) {
        fprintf(h, "val_loss,");
        if (*mn)
            fprintf(h, "val_%s,", mn);
    }
    fprintf(h, "seconds\n");
    return h;
}

/* "training data moons.csv: CSV, 200 rows of 3 columns, header: yes": what the CSV reader decided */
static void describe_csv(const Data *d, const char *what, const char *shown) {
    if (d->csv)
        printf("%s data %s: CSV, %ld rows of %d columns, header: %s\n", what, shown ? shown : d->spec, d->count,
               d->cols, d->header ? "yes" : "no");
}

static void describe(const nnt_model *m, long ntrain, long nval, const Data *tr, const Data *te, const Options *o) {
    static const char *const what[] = {"the loss only", "classifier: accuracy of the argmax of output",
                                       "binary classifier: accuracy of output",
                                       "regression: mean squared error of output"};
    printf("network %s: %ld parameters; %s", NNT_NET, (long)NNT_PARAM_SCALARS, what[NNT_KIND]);
    if (NNT_KIND != KIND_NONE)
        printf(" %s against target %s%s", nnt_out_name[NNT_PRED > 0 ? NNT_PRED : 0], nnt_tg_name[0],
               NNT_KIND == KIND_BINARY ? " (p > 0.5)" : "");
    if (nval > 0)
        printf("\ndata: %ld training, %ld validation (%g %%)", ntrain, nval, 100.0 * o->val_split);
    else
        printf("\ndata: %ld training samples (no validation)", ntrain);
    if (te)
        printf(", %ld test samples", te->count);
    printf("; batch %ld, %ld epoch%s, learning rate %g, seed %llu, %ld thread%s\n", o->batch, o->epochs,
           o->epochs == 1 ? "" : "s", (double)nnt_get_lr(m), o->seed, o->threads, o->threads == 1 ? "" : "s");
    describe_csv(tr, "training", o->train_name);
    if (te)
        describe_csv(te, "test", o->test_name);
    /* the train loss comes free with the steps, so it is their running mean
     * (as Keras's "loss"); every other figure is an inference pass over the
     * data with the epoch's final weights: the two differ, say why once */
    if (NNT_KIND != KIND_NONE || nval > 0)
        printf("train loss: the mean over the epoch's steps as the weights change; the other figures: "
               "the weights at the epoch's end\n");
    fflush(stdout);
}

/* One training run: the data, the split, the model and the best copy. */
typedef struct Run {
    const Options *o;
    Data tr, te;
    long *idx; /* train samples idx[0..ntrain), validation idx[ntrain..ntrain+nval) */
    long ntrain, nval;
    nnt_model *m, *best;
    Batch b;
    nnrt_rng rng;
    Progress p;
    FILE *hist;
    long best_epoch, wait;
    long diverged; /* the first epoch whose loss is not finite, or 0 */
    double best_loss;
} Run;

/* loads the data, splits it, initializes the model */
static void run_setup(Run *r, const Options *o) {
    memset(r, 0, sizeof *r);
    r->o = o;
    if (!o->train)
        die("train needs --train DATA");
    load(o->train, o->train_name, o, 1, &r->tr);
    if (o->test)
        load(o->test, o->test_name, o, 1, &r->te);
    r->idx = alloc(sizeof(long) * (size_t)r->tr.count);
    for (long i = 0; i < r->tr.count; i++)
        r->idx[i] = i;
    r->nval = (long)floor((double)r->tr.count * o->val_split + 0.5);
    r->ntrain = r->tr.count - r->nval;
    if (r->ntrain < 1)
        die("--val-split %g leaves no training sample of %ld", o->val_split, r->tr.count);
    if (o->patience > 0 && r->nval == 0)
        die("--early-stop needs validation data: --val-split > 0 (%ld samples give no validation sample)", r->tr.count);
    nnrt_rng_seed(&r->rng, o->seed, 0x5917);
    if (r->nval > 0)
        shuffle(r->idx, r->tr.count, &r->rng); /* the split draws from the whole set */
    r->m = alloc(sizeof *r->m);
    r->best = alloc(sizeof *r->best);
    nnt_init(r->m, o->seed);
    if (o->init) { /* fine-tuning: the matching tensors of any network's weights */
        int got = nnt_load_pretrained(r->m, o->init);
        if (got < 0)
            die("cannot read '%s': %s", o->init, nnrt_strerror(got));
        printf("took %d tensor%s from %s\n", got, got == 1 ? "" : "s", o->init);
    }
    if (o->lr >= 0)
        nnt_set_lr(r->m, (float)o->lr);
    batch_alloc(&r->b, NNT_MAX_BATCH);
    r->hist = history_open(o->history, r->nval > 0);
    r->p.on = !strcmp(o->progress, "always") || (!strcmp(o->progress, "auto") && isatty(2));
    r->p.start = now();
    r->p.steps_total = o->epochs * ((r->ntrain + o->batch - 1) / o->batch);
    r->best_loss = INFINITY;
}

/* the epoch's line: losses, metrics, time, "*" for a new best */
static void print_epoch(const Run *r, long epoch, Metrics trm, Metrics vam, double seconds, int improved,
                        long skipped) {
    printf("epoch %*ld/%ld", digits(r->o->epochs), epoch, r->o->epochs);
    print_metrics("train", trm);
    if (r->nval > 0)
        print_metrics("  val", vam);
    printf("  %.1f s%s", seconds, r->nval > 0 && improved ? "  *" : "");
    if (skipped)
        printf("  (%ld step%s skipped: non-finite loss)", skipped, skipped == 1 ? "" : "s");
    printf("\n");
    fflush(stdout);
}

/* one epoch: train, evaluate, keep the best; returns 1 when training stops */
static int run_epoch_and_score(Run *r, long epoch, long every) {
    const Options *o = r->o;
    double t0 = now();
    long skipped = 0;
    Metrics trm, vam = {NAN, NAN};
    trm.loss = run_epoch(r->m, &r->tr, r->idx, r->ntrain, o, &r->rng, &r->b, &r->p, epoch, &skipped);
    if (interrupted) {
        progress_clear(&r->p);
        printf("interrupted in epoch %ld: training stops (that epoch is not counted)\n", epoch);
        return 1;
    }
    nnt_epoch_end(r->m);
    /* the epoch's weights on the training data: the metric, and without
     * validation the loss that tells a diverged model */
    Metrics fit = {NAN, NAN};
    if (NNT_KIND != KIND_NONE || r->nval == 0)
        fit = evaluate(r->m, &r->tr, r->idx, r->ntrain, &r->b);
    trm.metric = NNT_KIND != KIND_NONE ? fit.metric : NAN;
    int improved = isfinite(fit.loss); /* without validation the last finite epoch is the one kept */
    if (r->nval > 0) {
        vam = evaluate(r->m, &r->tr, r->idx + r->ntrain, r->nval, &r->b);
        improved = vam.loss < r->best_loss;
    }
    if (!isfinite(trm.loss) || !isfinite(r->nval > 0 ? vam.loss : fit.loss))
        r->diverged = epoch;
    if (improved) {
        r->best_loss = r->nval > 0 ? vam.loss : r->best_loss;
        r->best_epoch = epoch;
        *r->best = *r->m;
        r->wait = 0;
    } else {
        r->wait++;
    }
    progress_clear(&r->p);
    history_row(r->hist, epoch, trm, vam, r->nval > 0, now() - r->p.start);
    int stop = o->patience > 0 && r->wait >= o->patience;
    if (epoch % every == 0 || epoch == 1 || epoch == o->epochs || stop || r->diverged)
        print_epoch(r, epoch, trm, vam, now() - t0, improved, skipped);
    if (r->diverged) {
        printf("diverged in epoch %ld: the loss is not finite; training stops (a lower --lr may help)\n", epoch);
        return 1;
    }
    if (stop)
        printf("early stop: no lower validation loss for %ld epoch%s\n", r->wait, r->wait == 1 ? "" : "s");
    return stop;
}

/* the best weights back, saved, scored on the test data */
static void run_finish(Run *r) {
    const Options *o = r->o;
    if (r->hist && fclose(r->hist) != 0)
        die("cannot write '%s'", o->history);
    if (r->nval > 0 && r->best_epoch > 0) {
        *r->m = *r->best;
        char t[32];
        printf("best epoch %ld: validation loss %s; its weights are kept\n", r->best_epoch,
               figure_text(t, r->best_loss));
    } else if (r->diverged && r->best_epoch > 0) {
        *r->m = *r->best;
        printf("epoch %ld, the last with a finite loss, is kept\n", r->best_epoch);
    }
    if (o->save && r->diverged && r->best_epoch == 0) {
        printf("nothing saved to %s: no epoch had a finite loss\n", o->save);
    } else if (o->save) {
        int st = nnt_save(r->m, o->save);
        if (st < 0)
            die("cannot save '%s': %s", o->save, nnrt_strerror(st));
        if (r->best_epoch)
            printf("saved %s (the weights of epoch %ld)\n", o->save, r->best_epoch);
        else
            printf("saved %s (the weights of the interrupted first epoch)\n", o->save);
    }
    if (o->test) {
        long *all = alloc(sizeof(long) * (size_t)r->te.count);
        for (long i = 0; i < r->te.count; i++)
            all[i] = i;
        Metrics tm = evaluate(r->m, &r->te, all, r->te.count, &r->b);
        char t[32];
        printf("test (%ld samples): loss %s", r->te.count, figure_text(t, tm.loss));
        if (NNT_KIND == KIND_REGRESSION)
            printf("  mse %s", figure_text(t, tm.metric));
        else if (NNT_KIND != KIND_NONE)
            printf("  accuracy %.2f %%", tm.metric);
        printf("\n");
        free(all);
        data_free(&r->te);
    }
    batch_free(&r->b);
    data_free(&r->tr);
    free(r->idx);
    free(r->m);
    free(r->best);
}

static int train(const Options *o) {
    Run r;
    run_setup(&r, o);
    describe(r.m, r.ntrain, r.nval, &r.tr, o->test ? &r.te : NULL, o);
    /* sigaction: under -std=c99, signal() resets the handler on delivery
     * (System V), and the duplicate would kill */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    long every = o->epochs <= 50 ? 1 : o->epochs / 50; /* about 50 lines */
    for (long epoch = 1; epoch <= o->epochs; epoch++)
        if (run_epoch_and_score(&r, epoch, every))
            break;
    run_finish(&r);
    if (r.diverged) {
        fprintf(stderr, "nngen: error: training diverged in epoch %ld (the loss is not finite)\n", r.diverged);
        return 2;
    }
    return interrupted ? 130 : 0;
}
#endif

/* ---- prediction ----------------------------------------------------------------------------------- */

/* the CSV header: class,p_0,...  or every output's columns */
static void predict_header(void) {
    if (NNT_KIND == KIND_CLASSIFIER || NNT_KIND == KIND_BINARY) {
        int k = NNT_PRED > 0 ? NNT_PRED : 0;
        printf("class");
        if (nnt_out_size[k] == 1)
            printf(",%s", nnt_out_name[k]);
        else
            for (long c = 0; c < nnt_out_size[k]; c++)
                printf(",%s_%ld", nnt_out_name[k], c);
        printf("\n");
        return;
    }
    for (int k = 0; k < NNT_N_OUTPUTS; k++) {
        if (nnt_out_size[k] == 1)
            printf("%s%s", k ? "," : "", nnt_out_name[k]);
        else
            for (long c = 0; c < nnt_out_size[k]; c++)
                printf("%s%s_%ld", k || c ? "," : "", nnt_out_name[k], c);
    }
    printf("\n");
}

static void predict_rows(const nnt_model *m, int n) {
    for (int s = 0; s < n; s++) {
        if (NNT_KIND == KIND_CLASSIFIER || NNT_KIND == KIND_BINARY) {
            int k = NNT_PRED > 0 ? NNT_PRED : 0;
            const float *p = nnt_output(m, k) + s * nnt_out_size[k];
            long best = 0;
            for (long c = 1; c < nnt_out_size[k]; c++)
                if (p[c] > p[best])
                    best = c;
            printf("%ld", NNT_KIND == KIND_BINARY ? (long)(p[0] > 0.5f) : best);
            for (long c = 0; c < nnt_out_size[k]; c++)
                printf(",%.6g", (double)p[c]);
        } else {
            for (int k = 0; k < NNT_N_OUTPUTS; k++) {
                const float *p = nnt_output(m, k) + s * nnt_out_size[k];
                for (long c = 0; c < nnt_out_size[k]; c++)
                    printf("%s%.6g", k || c ? "," : "", (double)p[c]);
            }
        }
        printf("\n");
    }
}

static int predict(const Options *o) {
    Data d;
    Batch b;
    if (!o->weights || !o->input)
        die("predict needs --weights FILE and --input DATA");
    if (NNT_N_OUTPUTS == 0)
        die("network %s has no output to predict", NNT_NET);
    nnt_model *m = alloc(sizeof *m);
    nnt_init(m, 0);
    int st = nnt_load(m, o->weights);
    if (st < 0)
        die("cannot load '%s': %s", o->weights, nnrt_strerror(st));
    load(o->input, o->input_name, o, 0, &d);
    batch_alloc(&b, NNT_MAX_BATCH);
    long *idx = alloc(sizeof(long) * (size_t)d.count);
    for (long i = 0; i < d.count; i++)
        idx[i] = i;
    predict_header();
    for (long s = 0; s < d.count; s += NNT_MAX_BATCH) {
        int n = (int)(d.count - s < NNT_MAX_BATCH ? d.count - s : NNT_MAX_BATCH);
        gather(&d, idx + s, n, &b);
        nnt_forward(m, (const float *const *)b.x, n);
        predict_rows(m, n);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        die("cannot write the predictions: %s", strerror(errno));
    free(idx);
    batch_free(&b);
    data_free(&d);
    free(m);
    return 0;
}

int main(int argc, char **argv) {
    Options o;
    memset(&o, 0, sizeof o);
    o.epochs = 10;
    o.batch = NNT_MAX_BATCH < 32 ? NNT_MAX_BATCH : 32;
    o.val_split = 0.1;
    o.seed = 1;
    o.lr = -1;
    o.progress = "auto";
    parse(argc, argv, &o);
    if (!strcmp(o.mode, "predict"))
        return predict(&o);
#if NNT_TRAINABLE
    return train(&o);
#else
    die("network %s has no loss: there is nothing to train", NNT_NET);
    return 2;
#endif
}
