/*
 * commands.c - the subcommands of nngen (`nngen COMMAND ...`), as a
 * table main.c consults before it reads its own options, and
 * `nngen --list-builtins`: the callable names that are implemented, one
 * "KIND NAME" a line, read from builtins.c's table (the docs test checks
 * docs/language.md against it, so the reference cannot fall behind).
 */
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"train", cli_train_main, "compile, train and evaluate a network on IDX or CSV data"},
    {"predict", cli_predict_main, "print a trained network's predictions as CSV"},
    {"check", cli_check_main, "parse and shape-check; print tensors, parameters, memory, FLOPs"},
    {"graph", cli_graph_main, "draw the forward (or backward) graph as Graphviz DOT / SVG"},
    {"quantize", cli_quantize_main, "the int8 C of a trained network, calibrated on data"},
};

int cli_command(int argc, char **argv, int *status) {
    if (argc < 2)
        return 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            *status = commands[i].run(argc - 1, argv + 1);
            return 1;
        }
    return 0;
}

void cli_print_commands(FILE *f) {
    fprintf(f, "\ncommands (nngen COMMAND --help for each):\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  nngen %-8s %s\n", commands[i].name, commands[i].what);
}

static const char *kind_word(CallKind k) {
    static const char *const words[] = {
        [CK_PRIM] = "primitive", [CK_ACT] = "activation", [CK_LAYER] = "layer",      [CK_LOSS] = "loss",
        [CK_OPT] = "optimizer",  [CK_SCHED] = "schedule", [CK_INIT] = "initializer", [CK_REG] = "regularizer",
    };
    return words[k];
}

void cli_list_builtins(FILE *f, int pending) {
    for (int i = 0; i < builtin_count(); i++) {
        const Builtin *b = builtin_at(i);
        if (!b->pending || pending)
            fprintf(f, "%s %s%s\n", kind_word(b->kind), b->name, b->pending ? " pending" : "");
    }
}
