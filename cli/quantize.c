/*
 * quantize.c - `nngen quantize NET.nn --weights W.nnw --calibrate DATA`:
 * the int8 C of a trained network (compiler/emit/int8.c does the work).
 *
 * In order, so that nothing long runs before a mistake is reported and no
 * input is ever overwritten:
 *   1. options; the outputs (NET.c, NET.h) must not be the network, the
 *      weight file or a calibration file;
 *   2. the network compiles inference-only with W embedded (W passes
 *      NET_load's checks, network name included), and int8.c reads it as
 *      a chain of int8 layers and float islands (located errors, status 1);
 *   3. DATA is read as `nngen train --train` reads it (IDX pair or CSV,
 *      .gz unpacked, IDX pixels scaled to [0, 1]); its samples must fit
 *      the network's one input (status 2 otherwise);
 *   4. calibration over every sample, quantization, the C written
 *      atomically (both files or neither).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nn_data.h"
#include "nn_runtime.h"

static const char quantize_usage[] =
    "usage: nngen quantize NET.nn --weights W.nnw --calibrate DATA [-o NET.c] [options]\n"
    "\n"
    "Writes NET.c and NET.h: the int8 inference code of NET.nn with the trained\n"
    "weights of W.nnw (TensorFlow Lite's int8 scheme: weights symmetric per output\n"
    "channel, activations per tensor with ranges measured by running the float\n"
    "network over DATA, int32 biases and accumulators, fixed-point rescaling,\n"
    "batchnorm folded). The API is the float one of an --infer-only --weights\n"
    "build: float inputs, float outputs. DATA is what nngen train --train takes\n"
    "(IMAGES.idx,LABELS.idx with pixels scaled to [0, 1], or a CSV file; .gz\n"
    "files are unpacked); labels and target columns are not needed.\n";

typedef struct QArgs {
    const char *input, *output, *weights, *calibrate;
    int max_batch, standalone, freestanding, report;
} QArgs;

typedef struct QCtx {
    Q8Net *plan;
} QCtx;

static int inspect(const Graph *g, void *ctx) {
    QCtx *q = ctx;
    q->plan = q8_plan(g);
    return q->plan ? 0 : -1;
}

/* the samples of an IDX images file (with or without ",LABELS"; a spec that
 * names an existing file is that file, as cli_resolve_data decides) */
static float *load_idx(const char *spec, int size, long *count) {
    const char *comma = access(spec, F_OK) == 0 ? NULL : strchr(spec, ',');
    char *images = base_xstrndup(spec, comma ? (size_t)(comma - spec) : strlen(spec));
    nndata_idx_info ii;
    float *x = NULL;
    int st = nndata_idx_open(images, &ii);
    if (st < 0)
        cli_error("cannot read '%s': %s", images, nnrt_strerror(st));
    else if (ii.item_size != size)
        cli_error("'%s' holds items of %ld values; the network's input takes %d", images, ii.item_size, size);
    else if (ii.count < 1)
        cli_error("'%s' holds no items", images);
    else {
        x = base_xmalloc(sizeof(float) * (size_t)(ii.count * ii.item_size));
        if (nndata_idx_read_f32(images, x, ii.count * ii.item_size, 1.0f / 255.0f) != ii.count * ii.item_size) {
            cli_error("cannot read '%s'", images);
            free(x);
            x = NULL;
        }
        *count = ii.count;
    }
    free(images);
    return x;
}

/* a CSV file's inputs: the first `size` columns (any after them are targets) */
static float *load_csv(const char *path, int size, long *count) {
    long rows;
    int cols, header, st = nndata_csv_info(path, &rows, &cols, &header);
    if (st < 0) {
        char why[128];
        long line = st == NN_ERR_FORMAT ? nndata_csv_find_error(path, why, sizeof why) : 0;
        if (line > 0)
            cli_error("cannot read '%s': line %ld: %s", path, line, why);
        else
            cli_error("cannot read '%s': %s", path,
                      st == NN_ERR_FORMAT ? "a line is not comma-separated numbers" : nnrt_strerror(st));
        return NULL;
    }
    if (rows < 1) {
        cli_error("'%s' holds no data rows", path);
        return NULL;
    }
    if (cols < size) {
        cli_error("'%s' has %d column%s; the network's input takes %d values per sample (then, optionally, "
                  "the targets)",
                  path, cols, cols == 1 ? "" : "s", size);
        return NULL;
    }
    float *all = base_xmalloc(sizeof(float) * (size_t)rows * (size_t)cols);
    if (nndata_csv_read(path, all, rows * cols) != rows * cols) {
        free(all);
        cli_error("cannot read '%s'", path);
        return NULL;
    }
    for (long r = 0; r < rows; r++)
        memmove(all + r * size, all + r * cols, sizeof(float) * (size_t)size);
    *count = rows;
    return all;
}

static float *load_data(const char *spec, int size, long *count) {
    nndata_idx_info info;
    if ((access(spec, F_OK) != 0 && strchr(spec, ',')) || nndata_idx_open(spec, &info) == 0)
        return load_idx(spec, size, count);
    return load_csv(spec, size, count);
}

/* Calibrates on DATA (unpacked first) and quantizes; 0 or 2. */
static int calibrate(const QArgs *a, Q8Net *plan) {
    CliWork w = {0};
    char *spec = cli_resolve_data(a->calibrate, &w);
    long count = 0;
    int size = q8_input_size(plan);
    float *x = spec ? load_data(spec, size, &count) : NULL;
    if (x) {
        for (long s = 0; s < count; s += 256)
            q8_calibrate(plan, x + s * size, (int)(count - s < 256 ? count - s : 256));
        q8_quantize(plan);
        if (a->report)
            printf("calibrated on %ld sample%s of %s\n", count, count == 1 ? "" : "s", a->calibrate);
    }
    free(x);
    free(spec);
    if (w.tmp)
        cli_remove_tree(w.tmp);
    free(w.tmp);
    return x ? 0 : 2;
}

static int parse(int argc, char **argv, QArgs *a) {
    /* one option per entry, fields packed (not reflowed by clang-format) */
    /* clang-format off */
    const CliOpt opts[] = {
        {.name = "--weights", .kind = CLI_TEXT, .value = "W.nnw", .needs = "a weight file", .text = &a->weights,
         .help = "the trained weights (from nngen train --save or\n"
                 "NET_save); required"},
        {.name = "--calibrate", .kind = CLI_TEXT, .value = "DATA", .needs = "calibration data",
         .text = &a->calibrate,
         .help = "samples the ranges of the activations are measured\n"
                 "on (as nngen train --train takes them); required"},
        {.name = "-o", .kind = CLI_TEXT, .value = "FILE", .text = &a->output,
         .help = "the C file to write (default: NET.c in the current\n"
                 "directory; the header goes beside it)"},
        {.name = "--max-batch", .kind = CLI_INT, .value = "N", .lo = 1, .hi = 1 << 20, .ival = &a->max_batch,
         .help = "samples per call the model struct has room for\n"
                 "(default 64)"},
        {.name = "--standalone", .kind = CLI_FLAG, .set = 1, .ival = &a->standalone,
         .help = "needs no runtime header or library (only libm for\n"
                 "float islands)"},
        {.name = "--freestanding", .kind = CLI_FLAG, .set = 1, .ival = &a->freestanding,
         .help = "for bare metal (implies --standalone)"},
        {.name = "--report", .kind = CLI_FLAG, .set = 1, .ival = &a->report,
         .help = "print the layers with their scales, the float\n"
                 "islands, flash and RAM"},
    };
    /* clang-format on */
    const CliCommand cmd = {"nngen quantize", quantize_usage, "network file", opts, sizeof opts / sizeof opts[0], NULL};
    int rc = cli_parse(&cmd, argc, argv, &a->input);
    if (rc != CLI_PARSED)
        return rc;
    if (!a->weights)
        return cli_error("nngen quantize needs the trained weights: --weights W.nnw");
    if (!a->calibrate)
        return cli_error("nngen quantize needs calibration data: --calibrate DATA (IMAGES.idx[,LABELS.idx] or "
                         "FILE.csv)");
    return CLI_PARSED;
}

/* The outputs must not be an input, and must be writable: 0 or 2. */
static int check_outputs(const QArgs *a, const char *c_path, const char *h_path) {
    const CliInput inputs[] = {
        {a->input, "the network"}, {a->weights, "the weight file"}, {a->calibrate, "the calibration data"}};
    int rc = cli_check_output(c_path, "the output", 1, inputs, 3);
    if (rc == 0 && cli_is_stream(c_path))
        rc = cli_error("the output '%s' is a device or FIFO: the header would go beside it, as '%s'; give a file "
                       "name",
                       c_path, h_path);
    if (rc == 0)
        rc = cli_check_output(h_path, "the header", 1, inputs, 3);
    if (rc)
        return rc;
    const char *slash = strrchr(h_path, '/');
    if (strpbrk(slash ? slash + 1 : h_path, "\"\\\n"))
        return cli_error("the header name '%s' cannot stand in an #include: choose an -o name without '\"', "
                         "'\\' or a newline",
                         h_path);
    return 0;
}

static char *join_args(int argc, char **argv) {
    Buf b = {0};
    for (int i = 0; i < argc; i++)
        buf_printf(&b, "%s%s", i ? " " : "nngen ", argv[i]);
    return b.data;
}

int cli_quantize_main(int argc, char **argv) {
    QArgs a = {0};
    int rc = parse(argc, argv, &a);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    char *def = a.output ? NULL : cli_default_output(a.input);
    const char *c_path = a.output ? a.output : def;
    char *h_path = cli_header_path(c_path);
    const char *slash = strrchr(h_path, '/');
    char *cmdline = join_args(argc, argv), *weights = NULL;
    size_t wlen = 0;
    QCtx ctx = {0};
    if ((rc = check_outputs(&a, c_path, h_path)) == 0 && !(weights = cli_read_file(a.weights, &wlen)))
        rc = cli_error("cannot read the weight file '%s': %s", a.weights,
                       wlen == SIZE_MAX ? "too large" : strerror(errno));
    if (rc == 0) {
        CompileOptions co = {0};
        co.opt_level = 2;
        co.infer_only = 1;
        co.max_batch = a.max_batch;
        co.weights_path = a.weights;
        co.weights = weights;
        co.weights_len = wlen;
        co.cmdline = cmdline;
        co.no_emit = 1;
        co.inspect = inspect;
        co.inspect_ctx = &ctx;
        rc = cli_compile(a.input, &co, NULL, NULL);
    }
    if (rc == 0)
        rc = calibrate(&a, ctx.plan);
    if (rc == 0) {
        Buf c = {0}, h = {0};
        EmitOptions eo = {slash ? slash + 1 : h_path, cmdline, a.input, a.standalone || a.freestanding, a.freestanding};
        q8_emit(ctx.plan, &eo, &c, &h);
        if (a.report)
            q8_report(ctx.plan, stdout);
        rc = cli_write_pair(c_path, h_path, &c, &h);
        buf_free(&c);
        buf_free(&h);
    }
    q8_free(ctx.plan);
    free(weights);
    free(cmdline);
    free(def);
    free(h_path);
    return rc;
}
