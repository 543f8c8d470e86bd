/*
 * check.c - `nngen check NET.nn`: parse, lower and shape-check the
 * network without writing anything, then print report.c's summary table
 * (tensors and shapes, parameters, memory, FLOPs). The whole pipeline up
 * to the emitter runs, so every error `nngen NET.nn` would report is
 * reported, located, with exit status 1.
 */
#include <string.h>

#include "cli.h"

static const char check_usage[] =
    "usage: nngen check NET.nn [--max-batch N] [--infer-only]\n"
    "\n"
    "Parses and shape-checks NET.nn and prints its summary: every tensor with its\n"
    "shape, the parameter count, the memory of the model struct and the FLOPs of\n"
    "an inference and of a training step. Writes no file. Exit status 0 when the\n"
    "network is valid, 1 after errors (file:line:col), 2 on usage errors.\n";

int cli_check_main(int argc, char **argv) {
    const char *input = NULL, *v;
    CompileOptions co = {0};
    co.opt_level = 2;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(check_usage, stdout);
            return 0;
        } else if ((r = cli_opt(argc, argv, &i, "--max-batch", &v)) != 0) {
            long n;
            if (r < 0 || cli_parse_long(v, 1, 2147483647L, &n) < 0)
                return cli_error("--max-batch needs an integer >= 1");
            co.max_batch = (int)n;
        } else if (!strcmp(argv[i], "--infer-only")) {
            co.infer_only = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error("unknown option '%s' (see nngen check --help)", argv[i]);
        } else if (input) {
            return cli_error("one input file at a time ('%s' is a second)", argv[i]);
        } else {
            input = argv[i];
        }
    }
    if (!input)
        return cli_error("no input file (see nngen check --help)");
    co.report = stdout;
    co.no_emit = 1;
    co.cmdline = "nngen check";
    return cli_compile(input, &co, NULL, NULL);
}
