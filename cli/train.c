/*
 * train.c - `nngen train` and `nngen predict`.
 *
 * Both compile the network in memory with --standalone (the runtime comes
 * inside net.c, so nothing but a C compiler and libm is needed at run
 * time), add the driver (emit_driver.c's glue + the embedded
 * tools/train_driver.c), build it through the cache (cli_cache.c) and run
 * it with the options that concern it. nngen itself checks every option
 * first, unpacks gzip-compressed data files (DATA.gz, through `gzip -dc`)
 * into a private temporary directory, and after training draws the curve
 * (plot.c) from the driver's history file.
 *
 * Option table: each option's name, kind (a path, an integer or a number
 * in a range, a choice, a flag) and whether the driver takes it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef enum OptionKind { OV_TEXT, OV_INT, OV_NUM, OV_SEED, OV_CHOICE, OV_FLAG } OptionKind;

typedef struct OptSpec {
    const char *name;
    OptionKind kind;
    double lo, hi;       /* OV_INT, OV_NUM: the accepted range */
    const char *choices; /* OV_CHOICE: "auto|always|never" */
    int to_driver;       /* passed on as --name VALUE */
    int data;            /* a DATA spec: .gz parts are unpacked first */
} OptSpec;

enum {
    O_TRAIN, O_TEST, O_EPOCHS, O_BATCH, O_VAL_SPLIT, O_SEED, O_EARLY_STOP, O_LR, O_SAVE, O_HISTORY,
    O_TARGET, O_PROGRESS, O_PLOT, O_CACHE_DIR, O_VERBOSE, O_WEIGHTS, O_INPUT, O__COUNT
};

static const OptSpec opts[O__COUNT] = {
    [O_TRAIN] = {"--train", OV_TEXT, 0, 0, NULL, 1, 1},
    [O_TEST] = {"--test", OV_TEXT, 0, 0, NULL, 1, 1},
    [O_EPOCHS] = {"--epochs", OV_INT, 1, 1e9, NULL, 1, 0},
    [O_BATCH] = {"--batch", OV_INT, 1, 65536, NULL, 1, 0},
    [O_VAL_SPLIT] = {"--val-split", OV_NUM, 0, 0.99, NULL, 1, 0},
    [O_SEED] = {"--seed", OV_SEED, 0, 0, NULL, 1, 0},
    [O_EARLY_STOP] = {"--early-stop", OV_INT, 0, 1e9, NULL, 1, 0},
    [O_LR] = {"--lr", OV_NUM, 0, 1e30, NULL, 1, 0},
    [O_SAVE] = {"--save", OV_TEXT, 0, 0, NULL, 1, 0},
    [O_HISTORY] = {"--history", OV_TEXT, 0, 0, NULL, 1, 0},
    [O_TARGET] = {"--target", OV_TEXT, 0, 0, NULL, 1, 0},
    [O_PROGRESS] = {"--progress", OV_CHOICE, 0, 0, "auto|always|never", 1, 0},
    [O_PLOT] = {"--plot", OV_TEXT, 0, 0, NULL, 0, 0},
    [O_CACHE_DIR] = {"--cache-dir", OV_TEXT, 0, 0, NULL, 0, 0},
    [O_VERBOSE] = {"--verbose", OV_FLAG, 0, 0, NULL, 0, 0},
    [O_WEIGHTS] = {"--weights", OV_TEXT, 0, 0, NULL, 1, 0},
    [O_INPUT] = {"--input", OV_TEXT, 0, 0, NULL, 1, 1},
};

static const char train_usage[] =
    "usage: nngen train NET.nn --train DATA [--test DATA] [options]\n"
    "\n"
    "Generates C for NET.nn, compiles it with a driver (cc, or $CC; cached), trains\n"
    "it and evaluates it on the test data.\n"
    "\n"
    "DATA: IMAGES.idx,LABELS.idx (MNIST-style IDX, pixels scaled to [0, 1]) or FILE.csv\n"
    "(the inputs' columns, then the target's: the last, or --target NAME); any file\n"
    "may be gzip-compressed (NAME.gz).\n"
    "\n"
    "options:\n"
    "  --epochs N          passes over the training data (default 10)\n"
    "  --batch B           samples per step (default 32)\n"
    "  --val-split F       fraction of the training data held out for validation (0.1)\n"
    "  --seed S            initialization, split and shuffling (default 1)\n"
    "  --early-stop P      stop after P epochs without a lower validation loss (0: off)\n"
    "  --lr LR             override the optimizer's learning rate\n"
    "  --save FILE.nnw     save the weights of the best epoch (lowest validation loss)\n"
    "  --plot FILE.svg     draw loss and accuracy (or MSE) per epoch as an SVG\n"
    "  --history FILE.csv  write the per-epoch numbers as CSV\n"
    "  --target NAME       the CSV column (by header name) holding the target\n"
    "  --progress WHEN     the progress bar: auto (on a terminal), always, never\n"
    "  --cache-dir DIR     where compiled trainers are kept (default $NNGEN_CACHE_DIR,\n"
    "                      $XDG_CACHE_HOME/nngen or ~/.cache/nngen)\n"
    "  --verbose           say where the trainer is built or found\n";

static const char predict_usage[] =
    "usage: nngen predict NET.nn --weights FILE.nnw --input DATA [--target NAME]\n"
    "\n"
    "Prints the network's predictions for DATA as CSV on stdout, one row per sample:\n"
    "a classifier's rows are `class,P_0,...,P_K-1` (the argmax, then output P's\n"
    "values); other networks print every output's values (`NAME` or `NAME_i`).\n"
    "DATA as for nngen train; target columns or a labels file, if present, are\n"
    "ignored. Options: --cache-dir DIR, --verbose.\n";

typedef struct Args {
    const char *input;
    const char *val[O__COUNT];
} Args;

static int check_value(const OptSpec *o, const char *v) {
    double d;
    long l;
    switch (o->kind) {
    case OV_INT:
        if (cli_parse_long(v, (long)o->lo, (long)o->hi, &l) < 0)
            return cli_error("%s takes an integer from %.0f to %.0f, not '%s'", o->name, o->lo, o->hi, v);
        break;
    case OV_NUM:
        if (cli_parse_double(v, o->lo, o->hi, &d) < 0)
            return cli_error("%s takes a number from %g to %g, not '%s'", o->name, o->lo, o->hi, v);
        break;
    case OV_SEED: {
        char *end;
        errno = 0;
        strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-' || v[0] == '+')
            return cli_error("--seed takes an integer from 0 to 2^64 - 1, not '%s'", v);
        break;
    }
    case OV_CHOICE: {
        size_t n = strlen(v);
        const char *c = strstr(o->choices, v);
        if (!n || !c || (c != o->choices && c[-1] != '|') || (c[n] && c[n] != '|'))
            return cli_error("%s takes one of %s, not '%s'", o->name, o->choices, v);
        break;
    }
    default:
        if (!*v)
            return cli_error("%s needs a non-empty value", o->name);
        break;
    }
    return 0;
}

/* options allowed: a bit per O_*; returns 0, 1 (help printed) or 2 */
static int parse(int argc, char **argv, unsigned allowed, const char *cmd, const char *usage, Args *a) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage, stdout);
            return 1;
        }
        int k, r = 0;
        for (k = 0; k < O__COUNT; k++) {
            if (!(allowed & (1u << k)))
                continue;
            if (opts[k].kind == OV_FLAG) {
                if (!strcmp(arg, opts[k].name)) {
                    a->val[k] = "1";
                    break;
                }
            } else if ((r = cli_opt(argc, argv, &i, opts[k].name, &v)) != 0) {
                break;
            }
        }
        if (r < 0)
            return 2;
        if (k < O__COUNT) {
            if (opts[k].kind != OV_FLAG && check_value(&opts[k], v))
                return 2;
            if (opts[k].kind != OV_FLAG)
                a->val[k] = v;
        } else if (arg[0] == '-' && arg[1]) {
            return cli_error("unknown option '%s' (see nngen %s --help)", arg, cmd);
        } else if (a->input) {
            return cli_error("one network at a time ('%s' is a second)", arg);
        } else {
            a->input = arg;
        }
    }
    return a->input ? 0 : cli_error("no network file (see nngen %s --help)", cmd);
}

/* ---- data: gzip-compressed files are unpacked first ------------------------------------------- */

typedef struct Work {
    char *tmp; /* private temporary directory, made on first need */
    int files;
} Work;

static const char *work_dir(Work *w) {
    if (!w->tmp && !(w->tmp = cli_temp_dir("train")))
        cli_error("cannot create a temporary directory: %s", strerror(errno));
    return w->tmp;
}

/* "a.idx.gz,b.idx" -> "TMP/1-a.idx,b.idx"; NULL after an error */
static char *resolve_data(const char *spec, Work *w) {
    Buf out = {0};
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *part = strndup(p, n);
        if (n > 3 && !strcmp(part + n - 3, ".gz")) {
            if (access(part, R_OK) != 0 || !work_dir(w)) {
                if (w->tmp)
                    cli_error("cannot read '%s': %s", part, strerror(errno));
                free(part);
                buf_free(&out);
                return NULL;
            }
            const char *base = strrchr(part, '/') ? strrchr(part, '/') + 1 : part;
            Buf dst = {0};
            buf_printf(&dst, "%s/%d-%.*s", w->tmp, ++w->files, (int)(strlen(base) - 3), base);
            char *argv[] = {"gzip", "-dc", part, NULL};
            int rc = cli_run(argv, dst.data);
            if (rc != 0) {
                cli_error(rc < 0 ? "cannot run gzip to unpack '%s'" : "'%s' is not a valid gzip file", part);
                buf_free(&dst);
                free(part);
                buf_free(&out);
                return NULL;
            }
            buf_puts(&out, dst.data);
            buf_free(&dst);
        } else {
            buf_puts(&out, part);
        }
        free(part);
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
    char *net;         /* the network name */
    Buf glue;
} NetCtx;

static int inspect(const Graph *g, void *ctx) {
    NetCtx *nc = ctx;
    DriverInfo di;
    glue_info(g, &di);
    nc->net = strdup(g->net);
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
                       "nngen predict runs it", a->input, nc.net);
    if (rc == 0) {
        size_t len;
        char *text = cli_read_file(a->input, &len);
        buf_printf(&driver, "/* The trainer of network %s, built by nngen %s for nngen train and predict.\n"
                            " * net.c is the network (--standalone); the glue and train_driver.c follow. */\n"
                            "#define _POSIX_C_SOURCE 200809L\n#include \"net.c\"\n\n%s\n#line 1 \"train_driver.c\"\n%s",
                   nc.net, NNGEN_VERSION, nc.glue.data, nn_embedded_train_driver);
        buf_printf(&flags, "--standalone --max-batch %d", max_batch);
        BuildRequest r = {text ? text : "", text ? len : 0, flags.data, &c, &h, &driver,
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
    const char *argv[2 * O__COUNT + 6];
    int n = 0;
    argv[n++] = b->entry.exe;
    argv[n++] = mode;
    for (int k = 0; k < O__COUNT; k++) {
        if (!opts[k].to_driver || !a->val[k])
            continue;
        argv[n++] = opts[k].name;
        argv[n++] = a->val[k];
    }
    if (history && !a->val[O_HISTORY]) {
        argv[n++] = "--history";
        argv[n++] = history;
    }
    argv[n] = NULL;
    fflush(stdout);
    int rc = cli_run((char *const *)argv, NULL);
    if (rc < 0)
        return cli_error("cannot run the trainer '%s': %s", b->entry.exe, strerror(errno));
    if (rc == 256 + SIGINT || rc == 256 + SIGPIPE) /* the user knows; `| head` closed the pipe */
        return rc - 128;
    if (rc > 256)
        return cli_error("the trainer stopped on signal %d", rc - 256);
    return rc; /* 0; 2 after its message; 130 interrupted by Ctrl-C, its results written */
}

/* the outputs' directories must be writable before hours of training */
static int check_writable(const char *path, const char *what) {
    char *dir = cli_dirname(path);
    int ok = access(dir, W_OK) == 0;
    int rc = ok ? 0 : cli_error("%s '%s': cannot write in '%s': %s", what, path, dir, strerror(errno));
    free(dir);
    return rc;
}

static int resolve_all(Args *a, Work *w, char **owned) {
    for (int k = 0; k < O__COUNT; k++) {
        if (!opts[k].data || !a->val[k])
            continue;
        if (!(owned[k] = resolve_data(a->val[k], w)))
            return 2;
        a->val[k] = owned[k];
    }
    return 0;
}

static int finish(int rc, Work *w, char **owned, Built *b) {
    for (int k = 0; k < O__COUNT; k++)
        free(owned[k]);
    if (w->tmp)
        cli_remove_tree(w->tmp);
    free(w->tmp);
    cache_release(&b->entry);
    free(b->net);
    return rc;
}

int cli_train_main(int argc, char **argv) {
    Args a = {0};
    Work w = {0};
    Built b = {{0}, 0};
    char *owned[O__COUNT] = {0};
    unsigned allowed = ~0u & ~(1u << O_WEIGHTS) & ~(1u << O_INPUT);
    int rc = parse(argc, argv, allowed, "train", train_usage, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!a.val[O_TRAIN])
        return cli_error("no training data: --train IMAGES.idx,LABELS.idx or --train FILE.csv");
    double split = 0.1;
    long patience = 0, batch = 32;
    if (a.val[O_VAL_SPLIT])
        cli_parse_double(a.val[O_VAL_SPLIT], 0, 1, &split);
    if (a.val[O_EARLY_STOP])
        cli_parse_long(a.val[O_EARLY_STOP], 0, 1000000000L, &patience);
    if (a.val[O_BATCH])
        cli_parse_long(a.val[O_BATCH], 1, 65536, &batch);
    if (patience > 0 && split <= 0)
        return cli_error("--early-stop needs validation data: give --val-split a fraction > 0");
    static const int outputs[] = {O_PLOT, O_SAVE, O_HISTORY};
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++)
        if (a.val[outputs[k]] && (rc = check_writable(a.val[outputs[k]], opts[outputs[k]].name)) != 0)
            return rc;
    if ((rc = build_driver(&a, 1, batch > 64 ? (int)batch : 64, &b)) != 0)
        return finish(rc, &w, owned, &b);
    if ((rc = resolve_all(&a, &w, owned)) != 0)
        return finish(rc, &w, owned, &b);
    Buf hist = {0};
    if (a.val[O_PLOT] && !a.val[O_HISTORY]) {
        if (!work_dir(&w))
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
    Work w = {0};
    Built b = {{0}, 0};
    char *owned[O__COUNT] = {0};
    unsigned allowed = (1u << O_WEIGHTS) | (1u << O_INPUT) | (1u << O_TARGET) | (1u << O_CACHE_DIR) |
                       (1u << O_VERBOSE);
    int rc = parse(argc, argv, allowed, "predict", predict_usage, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!a.val[O_WEIGHTS] || !a.val[O_INPUT])
        return cli_error("nngen predict needs --weights FILE.nnw (from nngen train --save) and --input DATA");
    if ((rc = build_driver(&a, 0, 64, &b)) != 0)
        return finish(rc, &w, owned, &b);
    if ((rc = resolve_all(&a, &w, owned)) != 0)
        return finish(rc, &w, owned, &b);
    rc = run_driver(&b, "predict", &a, NULL);
    return finish(rc, &w, owned, &b);
}
