/*
 * cli.h - the subcommands of the nngen command line, for the user's day:
 *
 *   main.c      nngen NET.nn -o net.c [options]: the compiler's own command
 *   commands.c  the command table, nngen --list-builtins
 *   util.c      shared helpers: files, the compile call, child processes,
 *               temporary directories, number parsing
 *   options.c   the option parser and --help of every command, from a table
 *   check.c     nngen check NET.nn: parse, shape-check, the summary table
 *   graph.c     nngen graph NET.nn -o g.dot [--backward]: Graphviz DOT
 *   train.c     nngen train / nngen predict: generate, compile (cached),
 *               run the trainer, plot
 *   cache.c     the build cache of train / predict
 *   glue.c      the network-specific half of the trainer program
 *   trainer.c   its fixed half: not compiled into nngen, embedded as text
 *               and compiled with the generated code by the user's compiler
 *   plot.c      the loss / accuracy curve as a self-contained SVG
 *
 * This library sits on top of the compiler (nngen.h), which knows nothing
 * of it (cmake/layering.cmake makes a call back a link error); the
 * commands reach the graph through CompileOptions.inspect. Every command returns its exit
 * status: 0 success, 1 errors in the .nn input (located), 2 usage, I/O,
 * data or tool errors (one "nngen: error: ..." line, or a few).
 */
#ifndef NNGEN_CLI_H
#define NNGEN_CLI_H

#include <stdint.h>

#include "nngen.h"

/* ----------------------------------------------------------------- util.c */
/* "nngen: error: <message>" on stderr; returns 2. */
int cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The most bytes a file nngen reads may have: an endless input (/dev/zero,
 * a pipe that never closes its end) stops here instead of filling the memory. */
#define CLI_MAX_FILE (64L << 20)
/* The whole file, NUL-terminated (len excludes the NUL); NULL on error, with
 * *len = SIZE_MAX when the file is larger than CLI_MAX_FILE. */
char *cli_read_file(const char *path, size_t *len);
/* The same with another bound: max bytes. */
char *cli_read_file_max(const char *path, long max, size_t *len);
/* Reads path and runs the pipeline with co (path, header name and diag set
 * here). Returns 0, 1 after located errors, 2 when the file is unreadable. */
int cli_compile(const char *path, CompileOptions *co, Buf *c, Buf *h);
/* Numbers in [lo, hi], the whole string (no sign rules beyond strtol's,
 * no NaN); 0 with *out set, or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out); /* 0 or -1 */
int cli_parse_double(const char *s, double lo, double hi, double *out);
/* Runs argv[0] (searched in PATH) with the given stdout file (NULL: ours)
 * and waits, ignoring SIGINT / SIGQUIT meanwhile (as system()). Returns its
 * exit status, 256 + the signal when one killed it, -1 when it could not be
 * started. */
int cli_run(char *const argv[], const char *stdout_path);
/* From now on SIGTERM, SIGHUP and SIGINT do not kill nngen: they are
 * passed on to the running child (cli_run, cli_shell; a SIGINT only when
 * sent by kill, the terminal's reached it already), no new child starts,
 * and the command cleans up and exits 128 + cli_stop_signal(). */
void cli_catch_stop_signals(void);
/* the first stop signal received since, or 0 */
int cli_stop_signal(void);
/* Runs `sh -c cmd` in directory dir (NULL: here), stdout and stderr into
 * *out when out is given; returns as cli_run. */
int cli_shell(const char *cmd, const char *dir, Buf *out);
/* The program's full path if it is found in PATH (malloc'd), else NULL. */
char *cli_which(const char *prog);
/* 'text' quoted for sh (single quotes, embedded ones escaped). */
void cli_shell_quote(Buf *b, const char *text);
/* A fresh private directory under $TMPDIR (or /tmp); NULL on error. */
char *cli_temp_dir(const char *tag);
/* Removes a directory tree made by this process (files and subdirectories). */
void cli_remove_tree(const char *path);
/* mkdir -p with mode 0700 for new directories; 0 or -1. */
int cli_make_dirs(const char *path);
/* The directory part of path ("." when none), malloc'd. */
char *cli_dirname(const char *path);
/* NET.c -> NET.h beside it (malloc'd); the default output of NET.nn:
 * NET.c in the current directory (malloc'd); 1 when both paths name one
 * existing file. */
char *cli_header_path(const char *c_path);
char *cli_default_output(const char *input);
int cli_same_file(const char *a, const char *b);

/* --------------------------------------------------------------- output.c */
/* An input a command reads: a file, or a data spec IMAGES,LABELS (each
 * part counts); what it is in messages ("the network"); path NULL: none. */
typedef struct CliInput {
    const char *path, *what;
} CliInput;
/* Before any work: path (the option or role `what`, "-o", "--save") may be
 * written: not one of the inputs (same device and inode: links and other
 * spellings too), not a directory or symlink, its directory writable; a
 * FIFO or character device only when streams_ok. 0, or 2 after a message. */
int cli_check_output(const char *path, const char *what, int streams_ok, const CliInput *inputs, int ninputs);
/* 1 when path is a FIFO or character device (through a symlink too) */
int cli_is_stream(const char *path);
/* 1 when a and b name one file, existing or to be created ("h.csv",
 * "./h.csv"): the same file, or the same name in the same directory */
int cli_same_target(const char *a, const char *b);
/* Writes path: a FIFO or character device directly, else to a new O_EXCL
 * temporary beside it renamed over it (only over a regular file); 0 or -1
 * (errno set). */
int cli_write_file(const char *path, const void *data, size_t len);
/* The two halves: data in a new temporary beside path (malloc'd name, NULL
 * with errno set); renamed over path if that is absent or a regular file,
 * else removed (-1, errno set). */
char *cli_write_temp(const char *path, const void *data, size_t len);
int cli_rename_over(const char *tmp, const char *path);
/* Writes both files or neither (the temporaries are made first); h may be
 * NULL. 0, or 2 after the error message. */
int cli_write_pair(const char *c_path, const char *h_path, const Buf *c, const Buf *h);
/* rc, or 2 after a message when stdout could not be written (/dev/full) */
int cli_flush_stdout(int rc);

/* -------------------------------------------------------------- options.c */
/* Every command's options are one table of CliOpt: the parser reads it and
 * --help prints it, so the help lists exactly what is accepted. A value
 * follows its option as the next argument (--batch 8) or after an '='
 * (--batch=8). Where a value is stored: any of ival, dval, text that is
 * set (a table may be built at run time around the command's locals). */
typedef enum CliOptKind {
    CLI_FLAG,  /* no value: *ival = set */
    CLI_STOP,  /* no value: *ival = set, and the parse ends (CLI_EXIT) */
    CLI_TEXT,  /* a non-empty string */
    CLI_INT,   /* an integer in [lo, hi] (within int): *ival */
    CLI_NUM,   /* a number in [lo, hi]: *dval */
    CLI_U64,   /* a decimal integer from 0 to 2^64 - 1: kept as its text */
    CLI_CHOICE /* one of the words of choices ("auto|always|never"): *ival = its place */
} CliOptKind;

typedef struct CliOpt {
    const char *name;  /* "--max-batch", "-o" */
    const char *alias; /* a short spelling ("-h" of --help), or NULL */
    CliOptKind kind;
    const char *value;   /* the value's name in the help ("N"); NULL for flags */
    const char *help;    /* one or more lines ('\n'); NULL: accepted, not listed */
    double lo, hi;       /* CLI_INT, CLI_NUM: the accepted range */
    const char *choices; /* CLI_CHOICE */
    const char *needs;   /* a missing value, in "--weights needs a weight file"; NULL: "a value" */
    int set;             /* CLI_FLAG, CLI_STOP: what *ival becomes */
    int *ival;
    double *dval;
    const char **text; /* the value as given; a flag's name for a flag */
} CliOpt;

typedef struct CliCommand {
    const char *name;    /* "nngen check": in the messages */
    const char *usage;   /* --help's text before the options: the usage line(s), what it does */
    const char *operand; /* what the one argument that is not an option is: "input file" */
    const CliOpt *opts;
    int nopts;
    void (*more_help)(FILE *f); /* printed after the options, or NULL */
} CliCommand;

/* cli_parse's results besides 2 (a usage error, reported) */
enum { CLI_PARSED = 0, CLI_EXIT = 1 /* --help printed, or a CLI_STOP option given: exit 0 */ };
/* Reads argv[1..argc-1] against cmd's table; *operand is the one argument
 * that is not an option (required: its absence is a usage error). */
int cli_parse(const CliCommand *cmd, int argc, char **argv, const char **operand);
/* cmd->usage, the options with their help, --help, cmd->more_help. */
void cli_help(const CliCommand *cmd, FILE *f);

/* ------------------------------------------------------------- commands.c */
/* Runs `nngen COMMAND ...` when argv[1] names a command: 1 with *status set;
 * 0 when it does not (main.c then compiles argv as before). */
int cli_command(int argc, char **argv, int *status);
void cli_print_commands(FILE *f);
/* "KIND NAME" per implemented builtin (with pending: all, marked "pending"). */
void cli_list_builtins(FILE *f, int pending);

/* ---------------------------------------------------------------- check.c */
int cli_check_main(int argc, char **argv);

/* ---------------------------------------------------------------- graph.c */
int cli_graph_main(int argc, char **argv);
/* The graph as DOT: the inference graph, or with backward the training
 * forward, backward and update functions, in clusters. */
void graph_write_dot(Buf *out, const Graph *g, int backward);

/* ------------------------------------------------------------- quantize.c */
int cli_quantize_main(int argc, char **argv);

/* ---------------------------------------------------------------- train.c */
int cli_train_main(int argc, char **argv);
/* A private temporary directory made on first need (cli_work_dir; NULL
 * after an error message), for unpacked data files. */
typedef struct CliWork {
    char *tmp;
    int files;
} CliWork;
const char *cli_work_dir(CliWork *w);
/* A DATA spec with its gzip-compressed parts unpacked into w's directory:
 * "a.idx.gz,b.idx" -> "TMP/1-a.idx,b.idx" (malloc'd); NULL after an error. */
char *cli_resolve_data(const char *spec, CliWork *w);
int cli_predict_main(int argc, char **argv);

/* ---------------------------------------------------------------- cache.c */
/* A built driver: the directory holding net.c, net.h, driver.c, key and
 * the executable nntrain. */
typedef struct CacheEntry {
    char *dir;     /* malloc'd */
    char *exe;     /* dir/nntrain, malloc'd */
    int temporary; /* not in the cache (it was unusable): remove after use */
    int built;     /* compiled now (0: found in the cache) */
} CacheEntry;

typedef struct BuildRequest {
    const char *nn_text; /* the .nn source */
    size_t nn_len;
    const char *flags; /* the nngen options that shaped the code ("--max-batch 64") */
    const Buf *net_c, *net_h, *driver_c;
    const char *cache_dir; /* NULL: the default (cache_default_dir) */
    int verbose;           /* say where the build goes and the compile command */
} BuildRequest;

/* --cache-dir, else $NNGEN_CACHE_DIR, else $XDG_CACHE_HOME/nngen, else
 * $HOME/.cache/nngen (malloc'd; NULL when none can be formed). */
char *cache_default_dir(void);
/* Finds or builds the driver executable; 0, or 2 after an error message. */
int cache_get(const BuildRequest *r, CacheEntry *out);
void cache_release(CacheEntry *e);

/* ----------------------------------------------------------------- glue.c */
/* What the metrics read, decided from the graph (see glue.c). */
typedef enum DriverKind {
    DK_NONE,       /* no target, or no output shaped like it: the loss only */
    DK_CLASSIFIER, /* a class target: accuracy of the argmax */
    DK_BINARY,     /* a real [1] target under bce / bce_logits: accuracy of p > 0.5 */
    DK_REGRESSION  /* a real target: mean squared error */
} DriverKind;

typedef struct DriverInfo {
    DriverKind kind;
    int pred;   /* the output the metric reads, -1 for none */
    int target; /* the port of the first target, -1 for none */
    int ninputs, ntargets;
    int trainable; /* has NET_train_step */
} DriverInfo;

void glue_info(const Graph *g, DriverInfo *info);
/* The network-specific glue the fixed driver (trainer.c) is
 * written against: port tables and nnt_* wrappers of the NET_* API. */
void glue_write(const Graph *g, Buf *out);
/* The fixed half's text (trainer.c), embedded at build time (driver_embed.c),
 * and the data loaders it calls (runtime/data/nn_data.h, nn_data.c:
 * data_embed_h.c, data_embed_c.c), pasted before it. */
extern const char nn_embedded_train_driver[];
extern const char nn_embedded_data_h[];
extern const char nn_embedded_data_c[];

/* ------------------------------------------------------------------ plot.c */
/* One curve: values per epoch (NaN where absent). */
typedef struct PlotCurve {
    const char *label;
    const double *y;
    int dashed;
} PlotCurve;

typedef struct PlotPanel {
    const char *ylabel;
    PlotCurve curves[4];
    int ncurves;
} PlotPanel;

/* An SVG of one or two panels side by side, x = epochs 1..n. Only
 * elements SVG 1.1 defines, no scripts, no external references. */
void plot_svg(Buf *out, const char *title, int n, const PlotPanel *panels, int npanels);
/* Reads the driver's history CSV and writes the curves of loss and of the
 * metric (accuracy or MSE) to svg_path; 0, or 2 after an error message. */
int plot_history(const char *history_path, const char *svg_path, const char *title);

#endif
