/*
 * train.c - `nngen train` and `nngen predict`.
 *
 * Both compile the network in memory with --standalone (the runtime comes
 * inside net.c, so nothing but a C compiler and libm is needed at run
 * time), add the driver (glue.c's glue, the embedded data loaders
 * runtime/data/nn_data.h and nn_data.c, and the embedded cli/trainer.c),
 * build it through the cache (cache.c) and run
 * it with the options that concern it. nngen itself checks every option
 * first, unpacks gzip-compressed data files (DATA.gz, through `gzip -dc`)
 * into a private temporary directory, and after training draws the curve
 * (plot.c) from the driver's history file.
 *
 * Option table (topts): each option's entry for the parser (options.c:
 * its name, kind, range and help), whether the driver takes it and whether
 * it names data. train and predict each use the part they accept.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* the options packed, in --help's order (not reflowed by clang-format) */
/* clang-format off */
enum {
    O_TRAIN, O_TEST, O_WEIGHTS, O_INIT, O_INPUT, O_EPOCHS, O_BATCH, O_VAL_SPLIT, O_SEED, O_EARLY_STOP, O_LR, O_SAVE,
    O_PLOT, O_HISTORY, O_TARGET, O_PROGRESS, O_THREADS, O_CACHE_DIR, O_VERBOSE, O__COUNT
};
/* clang-format on */

typedef struct TrainOpt {
    CliOpt opt;    /* its value goes to Args.val (set when the table is used) */
    int to_driver; /* passed on as --name VALUE */
    int data;      /* a DATA spec: .gz parts are unpacked first */
} TrainOpt;

/* the options of both commands, in --help's order (the driver's ranges are the same: trainer.c) */
/* one option per entry, fields packed (not reflowed by clang-format) */
/* clang-format off */
static const TrainOpt topts[O__COUNT] = {
    [O_TRAIN] = {{.name = "--train", .kind = CLI_TEXT, .value = "DATA", .help = "the training data (required)"}, 1, 1},
    [O_TEST] = {{.name = "--test", .kind = CLI_TEXT, .value = "DATA",
                 .help = "the test data, evaluated after training"}, 1, 1},
    [O_WEIGHTS] = {{.name = "--weights", .kind = CLI_TEXT, .value = "FILE.nnw",
                    .help = "the trained weights (from nngen train --save)"}, 1, 0},
    [O_INIT] = {{.name = "--init", .kind = CLI_TEXT, .value = "FILE.nnw",
                 .help = "start from the tensors of FILE (any network's weights)\n"
                         "whose name and shape match: fine-tuning"}, 1, 0},
    [O_INPUT] = {{.name = "--input", .kind = CLI_TEXT, .value = "DATA", .help = "the samples to predict"}, 1, 1},
    [O_EPOCHS] = {{.name = "--epochs", .kind = CLI_INT, .value = "N", .lo = 1, .hi = 1e9,
                   .help = "passes over the training data (default 10)"}, 1, 0},
    [O_BATCH] = {{.name = "--batch", .kind = CLI_INT, .value = "B", .lo = 1, .hi = 65536,
                  .help = "samples per step (default 32)"}, 1, 0},
    [O_VAL_SPLIT] = {{.name = "--val-split", .kind = CLI_NUM, .value = "F", .lo = 0, .hi = 0.99,
                      .help = "fraction of the training data held out for\n"
                              "validation (default 0.1)"}, 1, 0},
    [O_SEED] = {{.name = "--seed", .kind = CLI_U64, .value = "S",
                 .help = "initialization, split and shuffling (default 1)"}, 1, 0},
    [O_EARLY_STOP] = {{.name = "--early-stop", .kind = CLI_INT, .value = "P", .lo = 0, .hi = 1e9,
                       .help = "stop after P epochs without a lower validation\n"
                               "loss (default 0: off)"}, 1, 0},
    [O_LR] = {{.name = "--lr", .kind = CLI_NUM, .value = "LR", .lo = 0, .hi = 1e30,
               .help = "override the optimizer's learning rate"}, 1, 0},
    [O_SAVE] = {{.name = "--save", .kind = CLI_TEXT, .value = "FILE.nnw",
                 .help = "save the weights of the best epoch (the lowest\n"
                         "validation loss)"}, 1, 0},
    [O_PLOT] = {{.name = "--plot", .kind = CLI_TEXT, .value = "FILE.svg",
                 .help = "draw loss and accuracy (or MSE) per epoch as an SVG"}, 0, 0},
    [O_HISTORY] = {{.name = "--history", .kind = CLI_TEXT, .value = "FILE.csv",
                    .help = "write the per-epoch numbers as CSV"}, 1, 0},
    [O_TARGET] = {{.name = "--target", .kind = CLI_TEXT, .value = "NAME",
                   .help = "the CSV column (by header name) holding the target"}, 1, 0},
    [O_PROGRESS] = {{.name = "--progress", .kind = CLI_CHOICE, .value = "WHEN", .choices = "auto|always|never",
                     .help = "the progress bar: auto (on a terminal), always, never"}, 1, 0},
    [O_THREADS] = {{.name = "--threads", .kind = CLI_INT, .value = "N", .lo = 0, .hi = 64,
                    .help = "threads of the trainer's matrix products and\n"
                            "convolutions (default 0: one per core); the\n"
                            "results are the same bits for every N"}, 1, 0},
    [O_CACHE_DIR] = {{.name = "--cache-dir", .kind = CLI_TEXT, .value = "DIR",
                      .help = "where compiled trainers are kept (default\n"
                              "$NNGEN_CACHE_DIR, $XDG_CACHE_HOME/nngen or\n"
                              "~/.cache/nngen)"}, 0, 0},
    [O_VERBOSE] = {{.name = "--verbose", .kind = CLI_FLAG, .set = 1,
                    .help = "say where the trainer is built or found"}, 0, 0},
};
/* clang-format on */

static const char train_usage[] = "usage: nngen train NET.nn --train DATA [--test DATA] [options]\n"
                                  "\n"
                                  "Generates C for NET.nn, compiles it with a driver (cc, or $CC; cached), trains\n"
                                  "it and evaluates it on the test data.\n"
                                  "\n"
                                  "DATA: IMAGES.idx,LABELS.idx (MNIST-style IDX, pixels scaled to [0, 1]) or FILE.csv\n"
                                  "(the inputs' columns, then the target's: the last, or --target NAME); any file\n"
                                  "may be gzip-compressed (NAME.gz).\n";

static const char predict_usage[] = "usage: nngen predict NET.nn --weights FILE.nnw --input DATA [options]\n"
                                    "\n"
                                    "Prints the network's predictions for DATA as CSV on stdout, one row per sample:\n"
                                    "a classifier's rows are `class,P_0,...,P_K-1` (the argmax, then output P's\n"
                                    "values); other networks print every output's values (`NAME` or `NAME_i`).\n"
                                    "DATA as for nngen train; target columns or a labels file, if present, are\n"
                                    "ignored.\n";

typedef struct Args {
    const char *input;
    const char *val[O__COUNT];   /* as given; a flag: its name */
    const char *given[O__COUNT]; /* a DATA spec as given, val[] the unpacked one */
    int batch, patience;         /* --batch, --early-stop */
    double split;                /* --val-split */
} Args;

/* The options allowed (a bit per O_*), each storing into a->val; returns
 * CLI_PARSED, CLI_EXIT (help printed) or 2. */
static int parse(int argc, char **argv, unsigned allowed, const char *cmd, const char *usage, Args *a) {
    CliOpt opts[O__COUNT];
    int n = 0;
    for (int k = 0; k < O__COUNT; k++) {
        if (!(allowed & (1u << k)))
            continue;
        opts[n] = topts[k].opt;
        opts[n].text = &a->val[k];
        opts[n].ival = k == O_BATCH ? &a->batch : k == O_EARLY_STOP ? &a->patience : NULL;
        opts[n].dval = k == O_VAL_SPLIT ? &a->split : NULL;
        n++;
    }
    const CliCommand c = {cmd, usage, "network file", opts, n, NULL};
    return cli_parse(&c, argc, argv, &a->input);
}

/* ---- data: gzip-compressed files are unpacked first ------------------------------------------- */

const char *cli_work_dir(CliWork *w) {
    if (!w->tmp && !(w->tmp = cli_temp_dir("train")))
        cli_error("cannot create a temporary directory: %s", strerror(errno));
    return w->tmp;
}

/* part, a NAME.gz file, unpacked into the work directory; appends the
 * unpacked file's path to out; 0 or 2 after a message naming part */
static int unpack_gz(const char *part, CliWork *w, Buf *out) {
    if (access(part, R_OK) != 0)
        return cli_error("cannot read '%s': %s", part, strerror(errno));
    if (!cli_work_dir(w))
        return 2;
    const char *base = strrchr(part, '/') ? strrchr(part, '/') + 1 : part;
    Buf dst = {0};
    buf_printf(&dst, "%s/%d-%.*s", w->tmp, ++w->files, (int)(strlen(base) - 3), base);
    char *argv[] = {"gzip", "-dc", "--", (char *)part, NULL}; /* "--": a name starting with '-' is no option */
    int rc = cli_run(argv, dst.data);
    if (rc != 0)
        rc = cli_error(rc < 0 ? "cannot run gzip to unpack '%s'" : "'%s' is not a valid gzip file", part);
    else
        buf_puts(out, dst.data);
    buf_free(&dst);
    return rc;
}

/* "a.idx.gz,b.idx" -> "TMP/1-a.idx,b.idx"; NULL after an error. A spec that
 * names an existing file as a whole is that one file (a comma in a CSV
 * file's name); otherwise its commas separate IMAGES,LABELS. The trainer
 * splits alike (trainer.c, spec_part). */
char *cli_resolve_data(const char *spec, CliWork *w) {
    Buf out = {0};
    const char *p = spec;
    int whole = access(spec, F_OK) == 0;
    for (;;) {
        const char *comma = whole ? NULL : strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *part = base_xstrndup(p, n);
        int rc = 0;
        if (n > 3 && !strcmp(part + n - 3, ".gz"))
            rc = unpack_gz(part, w, &out);
        else
            buf_puts(&out, part);
        free(part);
        if (rc != 0) {
            buf_free(&out);
            return NULL;
        }
        if (!comma)
            break;
        buf_putc(&out, ',');
        p = comma + 1;
    }
    return out.data;
}

/* ---- the network: compile, check, glue ----------------------------------------------------- */

typedef struct NetCtx {
    int need_training; /* train: a network without a loss is refused */
    int untrainable;
    char *net; /* the network name */
    Buf glue;
} NetCtx;

static int inspect(const Graph *g, void *ctx) {
    NetCtx *nc = ctx;
    DriverInfo di;
    glue_info(g, &di);
    nc->net = base_xstrdup(g->net);
    if (nc->need_training && !di.trainable) {
        nc->untrainable = 1;
        return 0;
    }
    glue_write(g, &nc->glue);
    return 0;
}

typedef struct Built {
    CacheEntry entry;
    char *net;
} Built;

/* compiles the network and gets its driver; 0, 1 or 2 */
static int build_driver(const Args *a, int training, int max_batch, Built *out) {
    CompileOptions co = {0};
    NetCtx nc = {training, 0, NULL, {0}};
    Buf c = {0}, h = {0}, driver = {0}, flags = {0};
    co.opt_level = 2;
    co.standalone = 1;
    co.max_batch = max_batch;
    co.cmdline = training ? "nngen train" : "nngen predict";
    co.header_name = "net.h";
    co.inspect = inspect;
    co.inspect_ctx = &nc;
    int rc = cli_compile(a->input, &co, &c, &h);
    if (rc == 0 && nc.untrainable)
        rc = cli_error("%s: network %s has no loss (or is inference-only): there is nothing to train; "
                       "nngen predict runs it",
                       a->input, nc.net);
    if (rc == 0) {
        size_t len;
        char *text = cli_read_file(a->input, &len);
        buf_printf(&driver,
                   "/* The trainer of network %s, built by nngen %s for nngen train and predict.\n"
                   " * net.c is the network (--standalone); the glue, the data loaders (nn_data.h,\n"
                   " * nn_data.c) and trainer.c follow. */\n"
                   "#define _POSIX_C_SOURCE 200809L\n"
                   "#define NNRT_THREADS 1 /* the runtime's threaded kernels (linked with -pthread) */\n"
                   "#include \"net.c\"\n\n%s\n"
                   "#line 1 \"nn_data.h\"\n%s#line 1 \"nn_data.c\"\n%s"
                   "#line 1 \"trainer.c\"\n%s",
                   nc.net, NNGEN_VERSION, nc.glue.data, nn_embedded_data_h, nn_embedded_data_c,
                   nn_embedded_train_driver);
        buf_printf(&flags, "--standalone --max-batch %d, threaded", max_batch);
        BuildRequest r = {text ? text : "",    text ? len : 0,           flags.data, &c, &h, &driver,
                          a->val[O_CACHE_DIR], a->val[O_VERBOSE] != NULL};
        rc = text ? cache_get(&r, &out->entry) : cli_error("cannot read '%s': %s", a->input, strerror(errno));
        free(text);
    }
    out->net = nc.net;
    buf_free(&nc.glue);
    buf_free(&c);
    buf_free(&h);
    buf_free(&driver);
    buf_free(&flags);
    return rc;
}

/* ---- running the driver -------------------------------------------------------------------------------- */

/* exe MODE --opt value ... for the options the driver takes */
static int run_driver(const Built *b, const char *mode, const Args *a, const char *history) {
    const char *argv[4 * O__COUNT + 6];
    int n = 0;
    argv[n++] = b->entry.exe;
    argv[n++] = mode;
    for (int k = 0; k < O__COUNT; k++) {
        if (!topts[k].to_driver || !a->val[k])
            continue;
        argv[n++] = topts[k].opt.name;
        argv[n++] = a->val[k];
    }
    for (int k = 0; k < O__COUNT; k++) /* the user's names of unpacked data, for the trainer's messages */
        if (topts[k].data && a->val[k] && a->given[k] && strcmp(a->val[k], a->given[k]) != 0) {
            argv[n++] = k == O_TRAIN ? "--train-name" : k == O_TEST ? "--test-name" : "--input-name";
            argv[n++] = a->given[k];
        }
    if (history && !a->val[O_HISTORY]) {
        argv[n++] = "--history";
        argv[n++] = history;
    }
    argv[n] = NULL;
    fflush(stdout);
    int rc = cli_run((char *const *)argv, NULL);
    if (rc < 0)
        return cli_error("cannot run the trainer '%s': %s (delete its cache directory '%s' to rebuild it)",
                         b->entry.exe, strerror(errno), b->entry.dir);
    if (cli_stop_signal()) /* finish reports it */
        return rc;
    if (rc == 256 + SIGINT || rc == 256 + SIGPIPE) /* the user knows; `| head` closed the pipe */
        return rc - 128;
    if (rc > 256)
        return cli_error("the trainer '%s' stopped on signal %d (if it keeps doing so, delete its cache directory "
                         "'%s' to rebuild it)",
                         b->entry.exe, rc - 256, b->entry.dir);
    return rc; /* 0; 2 after its message; 130 interrupted by Ctrl-C, its results written */
}

/* Before hours of training: every output (--save, --plot, --history) may
 * be written (output.c's rules: not an input, not a directory or symlink,
 * its directory there; --save a regular file, as NET_save replaces only
 * those) and no two name one file. 0, or 2 after a message. */
static int check_outputs(const Args *a) {
    static const int outputs[] = {O_SAVE, O_PLOT, O_HISTORY};
    const CliInput inputs[] = {{a->input, "the network"},
                               {a->val[O_TRAIN], "the training data"},
                               {a->val[O_TEST], "the test data"},
                               {a->val[O_INIT], "the initial weights"}};
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++) {
        const char *path = a->val[outputs[k]], *name = topts[outputs[k]].opt.name;
        if (!path)
            continue;
        int rc = cli_check_output(path, name, outputs[k] != O_SAVE, inputs, 4);
        for (size_t j = 0; rc == 0 && j < k; j++) {
            const char *other = a->val[outputs[j]];
            if (other && cli_same_target(other, path))
                rc = cli_error("%s '%s' and %s '%s' are one file: give each output its own", name, path,
                               topts[outputs[j]].opt.name, other);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int resolve_all(Args *a, CliWork *w, char **owned) {
    for (int k = 0; k < O__COUNT; k++) {
        if (!topts[k].data || !a->val[k])
            continue;
        if (!(owned[k] = cli_resolve_data(a->val[k], w)))
            return 2;
        a->given[k] = a->val[k];
        a->val[k] = owned[k];
    }
    return 0;
}

/* Cleans up: the unpacked data, a trainer built outside the cache. After
 * a stop signal (SIGTERM, SIGHUP, SIGINT; passed on to the trainer, which
 * has ended), the status is 128 + the signal's number, as a shell reports a
 * process the signal killed; an interrupted trainer's own 130 stays. */
static int finish(int rc, CliWork *w, char **owned, Built *b) {
    for (int k = 0; k < O__COUNT; k++)
        free(owned[k]);
    if (w->tmp)
        cli_remove_tree(w->tmp);
    free(w->tmp);
    int had_trainer = b->entry.exe != NULL;
    cache_release(&b->entry);
    free(b->net);
    int sig = cli_stop_signal();
    if (sig && !(sig == SIGINT && rc == 130)) {
        fprintf(stderr, "nngen: stopped by signal %d (%s)%s\n", sig,
                sig == SIGTERM  ? "SIGTERM"
                : sig == SIGHUP ? "SIGHUP"
                                : "SIGINT",
                had_trainer ? ": the trainer was stopped too" : "");
        rc = 128 + sig;
    }
    return rc;
}

int cli_train_main(int argc, char **argv) {
    Args a = {.batch = 32, .split = 0.1}; /* the driver's defaults */
    CliWork w = {0};
    Built b = {{0}, 0};
    char *owned[O__COUNT] = {0};
    unsigned allowed = ((1u << O__COUNT) - 1) & ~(1u << O_WEIGHTS) & ~(1u << O_INPUT);
    int rc = parse(argc, argv, allowed, "nngen train", train_usage, &a);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    cli_catch_stop_signals();
    if (!a.val[O_TRAIN])
        return cli_error("no training data: --train IMAGES.idx,LABELS.idx or --train FILE.csv");
    if (a.patience > 0 && a.split <= 0)
        return cli_error("--early-stop needs validation data: give --val-split a fraction > 0");
    if ((rc = check_outputs(&a)) != 0)
        return rc;
    if ((rc = build_driver(&a, 1, a.batch > 64 ? a.batch : 64, &b)) != 0)
        return finish(rc, &w, owned, &b);
    if ((rc = resolve_all(&a, &w, owned)) != 0)
        return finish(rc, &w, owned, &b);
    Buf hist = {0};
    if (a.val[O_PLOT] && !a.val[O_HISTORY]) {
        if (!cli_work_dir(&w))
            return finish(2, &w, owned, &b);
        buf_printf(&hist, "%s/history.csv", w.tmp);
    }
    rc = run_driver(&b, "train", &a, hist.data);
    if ((rc == 0 || rc == 130) && a.val[O_PLOT]) {
        Buf title = {0};
        buf_printf(&title, "%s: training curves", b.net);
        int prc = plot_history(a.val[O_HISTORY] ? a.val[O_HISTORY] : hist.data, a.val[O_PLOT], title.data);
        if (prc == 0)
            printf("wrote %s\n", a.val[O_PLOT]);
        rc = prc ? prc : rc;
        buf_free(&title);
    }
    buf_free(&hist);
    return finish(rc, &w, owned, &b);
}

int cli_predict_main(int argc, char **argv) {
    Args a = {0};
    CliWork w = {0};
    Built b = {{0}, 0};
    char *owned[O__COUNT] = {0};
    unsigned allowed = (1u << O_WEIGHTS) | (1u << O_INPUT) | (1u << O_TARGET) | (1u << O_THREADS) |
                       (1u << O_CACHE_DIR) | (1u << O_VERBOSE);
    int rc = parse(argc, argv, allowed, "nngen predict", predict_usage, &a);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    cli_catch_stop_signals();
    if (!a.val[O_WEIGHTS] || !a.val[O_INPUT])
        return cli_error("nngen predict needs --weights FILE.nnw (from nngen train --save) and --input DATA");
    if ((rc = build_driver(&a, 0, 64, &b)) != 0)
        return finish(rc, &w, owned, &b);
    if ((rc = resolve_all(&a, &w, owned)) != 0)
        return finish(rc, &w, owned, &b);
    rc = run_driver(&b, "predict", &a, NULL);
    return finish(rc, &w, owned, &b);
}
