/*
 * check.c - `nngen check NET.nn`: parse, lower and shape-check the
 * network without writing anything, then print report.c's summary table
 * (tensors and shapes, parameters, memory, FLOPs). The whole pipeline up
 * to the emitter runs, so every error `nngen NET.nn` would report is
 * reported, located, with exit status 1.
 */
#include <string.h>

#include "cli.h"

static const char check_usage[] = "usage: nngen check NET.nn [options]\n"
                                  "\n"
                                  "Parses and shape-checks NET.nn and prints its summary: every tensor with its\n"
                                  "shape, the parameter count, the memory of the model struct and the FLOPs of\n"
                                  "an inference and of a training step. Writes no file. Exit status 0 when the\n"
                                  "network is valid, 1 after errors (file:line:col), 2 on usage errors.\n";

int cli_check_main(int argc, char **argv) {
    const char *input;
    CompileOptions co = {0};
    co.opt_level = 2;
    /* one option per entry, fields packed (not reflowed by clang-format) */
    /* clang-format off */
    const CliOpt opts[] = {
        {.name = "--max-batch", .kind = CLI_INT, .value = "N", .lo = 1, .hi = 2147483647.0, .ival = &co.max_batch,
         .help = "samples per call the model struct has room for\n"
                 "(default 64)"},
        {.name = "--infer-only", .kind = CLI_FLAG, .set = 1, .ival = &co.infer_only,
         .help = "the inference code only: no gradients, no optimizer state"},
    };
    /* clang-format on */
    const CliCommand cmd = {"nngen check", check_usage, "input file", opts, sizeof opts / sizeof opts[0], NULL};
    int rc = cli_parse(&cmd, argc, argv, &input);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    co.report = stdout;
    co.no_emit = 1;
    co.cmdline = "nngen check";
    return cli_compile(input, &co, NULL, NULL);
}
