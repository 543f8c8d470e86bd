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

static const char usage[] =
    "usage: nngen NET.nn [-o NET.c] [options]\n"
    "       nngen train|predict|check|graph NET.nn [options]   (see commands below)\n"
    "\n"
    "Compiles a network description into C: NET.c and NET.h (the header beside\n"
    "the source, same base name) with forward, backward and update functions.\n"
    "\n"
    "options:\n"
    "  -o FILE            the C file to write (default: NET.c in the current directory)\n"
    "  --max-batch N      samples per call the model struct has room for (default 64)\n"
    "  --infer-only       no training code, no gradients, no optimizer state\n"
    "  --standalone       paste the runtime in: the output needs only libm\n"
    "  --blas=openblas    matrix products call cblas_sgemm (link -lopenblas);\n"
    "                     --blas=builtin (default): the runtime's own GEMM\n"
    "  --freestanding     for bare metal (implies --standalone): no stdio, no stdlib, no\n"
    "                     files; libm's expf logf tanhf sqrtf only; NET_export/NET_import\n"
    "                     on a caller's buffer instead of NET_save/NET_load\n"
    "  --weights FILE     with --infer-only: embed the trained weights of FILE (written by\n"
    "                     NET_save) as const data; RAM then holds the activations only\n"
    "  --emit=c|ir        write C (default) or the optimized IR as text\n"
    "  --dump-after=PASS  print the IR after a pass to stderr (PASS: a name below, or all)\n"
    "  --verify           check the IR's invariants after every pass\n"
    "  --report           print tensors, parameters, memory and FLOPs to stdout\n"
    "                     (writes C only when -o is given too)\n"
    "  -O0, -O2           passes: required only, or all (default -O2)\n"
    "  --list-builtins    print the implemented builtins, one \"KIND NAME\" a line\n"
    "                     (--list-builtins=all: every name, unimplemented ones marked)\n"
    "  --version          print the version\n"
    "  --help             this text\n";

typedef struct Cli {
    const char *input, *output;
    const char *weights; /* --weights FILE */
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

/* --max-batch N: an integer in [1, 2^31) */
static int parse_batch(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > 2147483647L)
        return -1;
    *out = (int)v;
    return 0;
}

/* returns 0 to go on, 1 to exit 0 (help, version), 2 on a usage error */
static int parse_args(int argc, char **argv, Cli *cli) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            print_passes(stdout);
            cli_print_commands(stdout);
            return 1;
        } else if (!strcmp(a, "--list-builtins") || !strcmp(a, "--list-builtins=all")) {
            cli_list_builtins(stdout, a[15] == '=');
            return 1;
        } else if (!strcmp(a, "--version")) {
            printf("nngen %s\n", NNGEN_VERSION);
            return 1;
        } else if (!strcmp(a, "-o")) {
            if (++i == argc)
                return fail("-o needs a file name", "");
            cli->output = argv[i];
        } else if (!strcmp(a, "--max-batch")) {
            if (++i == argc || parse_batch(argv[i], &cli->co.max_batch) < 0)
                return fail("--max-batch needs an integer >= 1", "");
        } else if (!strncmp(a, "--max-batch=", 12)) {
            if (parse_batch(a + 12, &cli->co.max_batch) < 0)
                return fail("--max-batch needs an integer >= 1", "");
        } else if (!strcmp(a, "--infer-only")) {
            cli->co.infer_only = 1;
        } else if (!strcmp(a, "--standalone")) {
            cli->co.standalone = 1;
        } else if (!strncmp(a, "--blas=", 7)) {
            if (strcmp(a + 7, "openblas") && strcmp(a + 7, "builtin"))
                return fail("--blas takes builtin or openblas, not '%s'", a + 7);
            cli->co.blas = !strcmp(a + 7, "openblas");
        } else if (!strcmp(a, "--freestanding")) {
            cli->co.freestanding = 1;
        } else if (!strcmp(a, "--weights")) {
            if (++i == argc || !argv[i][0])
                return fail("--weights needs a weight file", "");
            cli->weights = argv[i];
        } else if (!strncmp(a, "--weights=", 10)) {
            if (!a[10])
                return fail("--weights needs a weight file", "");
            cli->weights = a + 10;
        } else if (!strcmp(a, "--verify")) {
            cli->co.verify = 1;
        } else if (!strcmp(a, "--report")) {
            cli->co.report = stdout;
        } else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2")) {
            cli->co.opt_level = a[2] - '0';
        } else if (!strncmp(a, "--emit=", 7)) {
            cli->co.emit = a + 7;
            if (strcmp(cli->co.emit, "c") && strcmp(cli->co.emit, "ir"))
                return fail("--emit takes c or ir, not '%s'", cli->co.emit);
        } else if (!strncmp(a, "--dump-after=", 13)) {
            cli->co.dump_after = a + 13;
            if (strcmp(a + 13, "all") && !pass_find(a + 13)) {
                fail("no pass is named '%s'", a + 13);
                print_passes(stderr);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            return fail("unknown option '%s' (see nngen --help)", a);
        } else if (cli->input) {
            return fail("one input file at a time ('%s' is a second)", a);
        } else {
            cli->input = a;
        }
    }
    if (!cli->input)
        return fail("no input file (see nngen --help)", "");
    if (cli->weights && !cli->co.infer_only)
        return fail("--weights makes the parameters read-only data: add --infer-only", "");
    return 0;
}

/* writes data to path.tmp.PID, ready for rename */
static char *write_temp(const char *path, const Buf *data) {
    char *tmp = malloc(strlen(path) + 32);
    if (!tmp)
        return NULL;
    sprintf(tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return NULL;
    }
    int ok = fwrite(data->data, 1, data->len, f) == data->len;
    ok &= fclose(f) == 0;
    if (!ok) {
        remove(tmp);
        free(tmp);
        return NULL;
    }
    return tmp;
}

/* NET.c -> NET.h beside it; the include names the header without directory */
static char *header_path(const char *c_path) {
    size_t n = strlen(c_path);
    char *h = malloc(n + 3);
    if (!h)
        return NULL;
    strcpy(h, c_path);
    if (n > 2 && !strcmp(h + n - 2, ".c"))
        h[n - 1] = 'h';
    else
        strcat(h, ".h");
    return h;
}

/* both files or neither */
static int write_outputs(const char *c_path, const char *h_path, const Buf *c, const Buf *h) {
    char *tc = write_temp(c_path, c), *th = h ? write_temp(h_path, h) : NULL;
    int ok = tc && (!h || th);
    if (ok && h)
        ok = rename(th, h_path) == 0;
    if (ok)
        ok = rename(tc, c_path) == 0;
    if (!ok) {
        if (tc)
            remove(tc);
        if (th)
            remove(th);
        fprintf(stderr, "nngen: error: cannot write '%s': %s\n", c_path, strerror(errno));
    }
    free(tc);
    free(th);
    return ok ? 0 : 2;
}

static char *default_output(const char *input) {
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    char *out = malloc(strlen(base) + 3);
    if (!out)
        return NULL;
    strcpy(out, base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
    strcat(out, ".c");
    return out;
}

/* 1 when both paths name one existing file (nngen net.nn -o net.nn) */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static char *join_args(int argc, char **argv) {
    Buf b = {0};
    for (int i = 0; i < argc; i++)
        buf_printf(&b, "%s%s", i ? " " : "", i ? argv[i] : "nngen");
    return b.data;
}

int main(int argc, char **argv) {
    Cli cli = {0};
    cli.co.opt_level = 2;
    int rc;
    if (cli_command(argc, argv, &rc))
        return rc;
    rc = parse_args(argc, argv, &cli);
    if (rc)
        return rc == 1 ? 0 : 2;
    size_t len, wlen = 0;
    char *text = cli_read_file(cli.input, &len), *weights = NULL;
    if (!text && len == SIZE_MAX)
        return cli_error("'%s' is larger than %ld MiB, the most a source file may hold", cli.input,
                         CLI_MAX_FILE >> 20);
    if (!text)
        return fail("cannot read '%s'", cli.input);
    if (cli.weights && !(weights = cli_read_file(cli.weights, &wlen))) {
        free(text);
        return fail("cannot read the weight file '%s'", cli.weights);
    }
    cli.co.weights_path = cli.weights;
    cli.co.weights = weights;
    cli.co.weights_len = wlen;
    int ir = cli.co.emit && !strcmp(cli.co.emit, "ir");
    char *out = cli.output ? NULL : default_output(cli.input);
    const char *c_path = cli.output ? cli.output : out;
    char *h_path = header_path(c_path);
    const char *slash = strrchr(h_path, '/');
    cli.co.path = cli.input;
    cli.co.header_name = slash ? slash + 1 : h_path;
    if (!ir && strpbrk(cli.co.header_name, "\"\\\n")) /* it goes into #include "..." */
        rc = fail("the header name '%s' cannot stand in an #include: choose an -o name without "
                  "'\"', '\\' or a newline", cli.co.header_name);
    else if ((cli.output || !ir) &&
             (same_file(cli.input, c_path) || (!ir && same_file(cli.input, h_path))))
        rc = fail("the output would overwrite the input '%s'", cli.input);
    else if (cli.weights && (cli.output || !ir) &&
             (same_file(cli.weights, c_path) || (!ir && same_file(cli.weights, h_path))))
        rc = fail("the output would overwrite the weight file '%s'", cli.weights);
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
        rc = write_outputs(c_path, h_path, &c, ir ? NULL : &h);
    buf_free(&c);
    buf_free(&h);
    free(text);
    free(weights);
    free(out);
    free(h_path);
    free((char *)cli.co.cmdline);
    return rc;
}
