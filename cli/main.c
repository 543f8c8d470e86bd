/*
 * main.c - the command line:  nngen net.nn -o net.c [options]
 *
 * Reads the whole file, runs the pipeline (driver.c) into memory, and only
 * when that succeeded writes net.c and net.h: each to a temporary file in
 * the same directory, then renamed over the target, so that an error never
 * leaves an output file and a crash never leaves half of one. Exit status:
 * 0 success, 1 errors in the input, 2 usage or I/O errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nngen.h"

static const char usage[] = "usage: nngen NET.nn [-o NET.c] [options]\n"
                            "       nngen train|predict|check|graph NET.nn [options]   (see commands below)\n"
                            "\n"
                            "Compiles a network description into C: NET.c and NET.h (the header beside\n"
                            "the source, same base name) with forward, backward and update functions.\n";

typedef struct Cli {
    const char *input, *output;
    const char *weights; /* --weights FILE */
    int report;          /* --report */
    int list;            /* --list-builtins: 1, =all: 2 */
    int version;
    CompileOptions co;
} Cli;

static int fail(const char *fmt, const char *arg) {
    fprintf(stderr, "nngen: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}

static void print_passes(FILE *f) {
    fprintf(f, "passes, in order:");
    for (int i = 0; i < pass_count; i++)
        fprintf(f, " %s", pass_table[i].name);
    fprintf(f, "\n");
}

/* --help's end: the passes --dump-after names, the commands */
static void more_help(FILE *f) {
    print_passes(f);
    cli_print_commands(f);
}

/* returns 0 to go on, CLI_EXIT to exit 0 (help, version, builtins), 2 on a usage error */
static int parse_args(int argc, char **argv, Cli *cli) {
    CompileOptions *co = &cli->co;
    /* one option per entry, fields packed (not reflowed by clang-format) */
    /* clang-format off */
    const CliOpt opts[] = {
        {.name = "-o", .kind = CLI_TEXT, .value = "FILE", .text = &cli->output,
         .help = "the C file to write (default: NET.c in the current\n"
                 "directory; the header goes beside it)"},
        {.name = "--max-batch", .kind = CLI_INT, .value = "N", .lo = 1, .hi = 2147483647.0, .ival = &co->max_batch,
         .help = "samples per call the model struct has room for\n"
                 "(default 64)"},
        {.name = "--infer-only", .kind = CLI_FLAG, .set = 1, .ival = &co->infer_only,
         .help = "no training code, no gradients, no optimizer state"},
        {.name = "--standalone", .kind = CLI_FLAG, .set = 1, .ival = &co->standalone,
         .help = "paste the runtime in: the output needs only libm"},
        {.name = "--blas", .kind = CLI_CHOICE, .value = "LIB", .choices = "builtin|openblas", .ival = &co->blas,
         .help = "builtin (default): the runtime's own GEMM; openblas:\n"
                 "matrix products call cblas_sgemm (link -lopenblas)"},
        {.name = "--freestanding", .kind = CLI_FLAG, .set = 1, .ival = &co->freestanding,
         .help = "for bare metal (implies --standalone): no stdio, no\n"
                 "stdlib, no files; libm's expf logf tanhf sqrtf only;\n"
                 "NET_export/NET_import on a caller's buffer instead of\n"
                 "NET_save/NET_load"},
        {.name = "--weights", .kind = CLI_TEXT, .value = "FILE", .needs = "a weight file", .text = &cli->weights,
         .help = "with --infer-only: embed the trained weights of FILE\n"
                 "(written by NET_save) as const data; RAM then holds the\n"
                 "activations only. Without it (fine-tuning): the frozen\n"
                 "parameters become const data from FILE (of any network,\n"
                 "matched by name and shape), NET_init starts the others\n"
                 "from FILE where it holds them"},
        {.name = "--emit", .kind = CLI_CHOICE, .value = "c|ir", .choices = "c|ir", .text = &co->emit,
         .help = "write C (default) or the optimized IR as text"},
        {.name = "--dump-after", .kind = CLI_TEXT, .value = "PASS", .text = &co->dump_after,
         .help = "print the IR after a pass to stderr (PASS: a name\n"
                 "below, or all)"},
        {.name = "--verify", .kind = CLI_FLAG, .set = 1, .ival = &co->verify,
         .help = "check the IR's invariants after every pass"},
        {.name = "--report", .kind = CLI_FLAG, .set = 1, .ival = &cli->report,
         .help = "print tensors, parameters, memory and FLOPs to stdout\n"
                 "(writes C only when -o is given too)"},
        {.name = "-O0", .kind = CLI_FLAG, .set = 0, .ival = &co->opt_level, .help = "the required passes only"},
        {.name = "-O1", .kind = CLI_FLAG, .set = 1, .ival = &co->opt_level}, /* as -O2; accepted, not listed */
        {.name = "-O2", .kind = CLI_FLAG, .set = 2, .ival = &co->opt_level, .help = "all the passes (the default)"},
        {.name = "--list-builtins", .kind = CLI_STOP, .set = 1, .ival = &cli->list,
         .help = "print the implemented builtins, one \"KIND NAME\" a\n"
                 "line (--list-builtins=all: every name, unimplemented\n"
                 "ones marked)"},
        {.name = "--list-builtins=all", .kind = CLI_STOP, .set = 2, .ival = &cli->list}, /* listed above */
        {.name = "--version", .kind = CLI_STOP, .set = 1, .ival = &cli->version, .help = "print the version"},
    };
    /* clang-format on */
    const CliCommand cmd = {"nngen", usage, "input file", opts, sizeof opts / sizeof opts[0], more_help};
    int rc = cli_parse(&cmd, argc, argv, &cli->input);
    if (cli->list)
        cli_list_builtins(stdout, cli->list == 2);
    else if (cli->version)
        printf("nngen %s\n", NNGEN_VERSION);
    if (rc != CLI_PARSED)
        return rc;
    if (co->dump_after && strcmp(co->dump_after, "all") && !pass_find(co->dump_after)) {
        fail("no pass is named '%s'", co->dump_after);
        print_passes(stderr);
        return 2;
    }
    if (cli->report)
        co->report = stdout;
    return 0;
}

static char *join_args(int argc, char **argv) {
    Buf b = {0};
    for (int i = 0; i < argc; i++)
        buf_printf(&b, "%s%s", i ? " " : "", i ? argv[i] : "nngen");
    return b.data;
}

/* The weight file of --weights, whole: a regular file as large as it is
 * (a weight file is sized by its network, which nnrt_import checks against
 * the file's header: 69 MB for 17 M parameters), anything else (a pipe,
 * /dev/zero) up to CLI_MAX_FILE. NULL after a message naming the file. */
static char *read_weights(const char *path, size_t *len) {
    struct stat st;
    long max = CLI_MAX_FILE;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (long)st.st_size > max)
        max = (long)st.st_size;
    char *data = cli_read_file_max(path, max, len);
    if (!data && *len == SIZE_MAX)
        cli_error("cannot read the weight file '%s': it is not a regular file and holds more than %ld MiB "
                  "(or it grew while it was read)",
                  path, CLI_MAX_FILE >> 20);
    else if (!data)
        cli_error("cannot read the weight file '%s': %s", path, strerror(errno));
    return data;
}

/* -o and the header beside it: not an input, a file that may be written */
static int check_outputs(const Cli *cli, const char *c_path, const char *h_path) {
    const CliInput inputs[] = {{cli->input, "the input"}, {cli->weights, "the weight file"}};
    int rc = cli_check_output(c_path, "the output", 1, inputs, 2);
    if (rc == 0 && h_path && cli_is_stream(c_path))
        rc = cli_error("the output '%s' is a device or FIFO: the header would go beside it, as '%s'; give a file "
                       "name (or --emit=ir, which writes no header)",
                       c_path, h_path);
    if (rc == 0 && h_path)
        rc = cli_check_output(h_path, "the header", 1, inputs, 2);
    return rc;
}

static int run(int argc, char **argv) {
    Cli cli = {0};
    cli.co.opt_level = 2;
    int rc;
    if (cli_command(argc, argv, &rc))
        return rc;
    rc = parse_args(argc, argv, &cli);
    if (rc)
        return rc == CLI_EXIT ? 0 : 2;
    size_t len, wlen = 0;
    char *text = cli_read_file(cli.input, &len), *weights = NULL;
    if (!text && len == SIZE_MAX)
        return cli_error("'%s' is larger than %ld MiB, the most a source file may hold", cli.input, CLI_MAX_FILE >> 20);
    if (!text)
        return fail("cannot read '%s'", cli.input);
    if (cli.weights && !(weights = read_weights(cli.weights, &wlen))) {
        free(text);
        return 2;
    }
    cli.co.weights_path = cli.weights;
    cli.co.weights = weights;
    cli.co.weights_len = wlen;
    int ir = cli.co.emit && !strcmp(cli.co.emit, "ir");
    char *out = cli.output ? NULL : cli_default_output(cli.input);
    const char *c_path = cli.output ? cli.output : out;
    char *h_path = cli_header_path(c_path);
    const char *slash = strrchr(h_path, '/');
    cli.co.path = cli.input;
    cli.co.header_name = slash ? slash + 1 : h_path;
    if (!ir && strpbrk(cli.co.header_name, "\"\\\n")) /* it goes into #include "..." */
        rc = fail("the header name '%s' cannot stand in an #include: choose an -o name without "
                  "'\"', '\\' or a newline",
                  cli.co.header_name);
    else if (cli.output || (!ir && !cli.co.report))
        rc = check_outputs(&cli, c_path, ir ? NULL : h_path);
    if (rc) {
        free(text);
        free(weights);
        free(out);
        free(h_path);
        return rc;
    }
    cli.co.cmdline = join_args(argc, argv);
    Buf c = {0}, h = {0};
    rc = nngen_compile(text, len, &cli.co, &c, &h) < 0 ? 1 : 0;
    if (rc == 0 && ir && !cli.output)
        fwrite(c.data, 1, c.len, stdout);
    else if (rc == 0 && cli.co.report && !cli.output)
        ; /* --report alone writes no file */
    else if (rc == 0)
        rc = cli_write_pair(c_path, h_path, &c, ir ? NULL : &h);
    buf_free(&c);
    buf_free(&h);
    free(text);
    free(weights);
    free(out);
    free(h_path);
    free((char *)cli.co.cmdline);
    return rc;
}

/* every command; then stdout must have been written (nngen check > /dev/full) */
int main(int argc, char **argv) {
    return cli_flush_stdout(run(argc, argv));
}
