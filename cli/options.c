/*
 * options.c - the one option parser of every command (nngen NET.nn, check,
 * graph, train, predict) and the help writer that prints the same table,
 * so that --help lists exactly the options that are accepted.
 *
 * The command line, for every command:
 *   argument := option | OPERAND
 *   option   := NAME                   a flag (CLI_FLAG, CLI_STOP)
 *             | NAME VALUE | NAME=VALUE  an option with a value
 *             | --help | -h            the command's help, on stdout
 * NAME is an option's name or its short alias, spelled whole (no
 * abbreviations, no bundling of short options); an option given twice keeps
 * its last value. An argument that starts with '-' and is not an option is
 * an error ("-" alone is an operand); a command takes one OPERAND.
 *
 * Invariants: arguments are read left to right and the first error stops
 * the parse with one "nngen: error: ..." line and status 2; --help and a
 * CLI_STOP option end it at once with status CLI_EXIT (nothing after them
 * is read, as `nngen --version --bogus` prints the version); nothing is
 * stored for an option whose value is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* the help's left column: "  NAME VALUE" padded to this many characters */
#define HELP_COLUMN 20

/* every command's last option: the parser prints the help when it meets it */
static const CliOpt help_opt = {"--help", "-h", CLI_STOP, NULL, "this text", 0, 0, NULL, NULL, 1, NULL, NULL, NULL};

/* the k-th option of cmd, then --help */
static const CliOpt *opt_at(const CliCommand *cmd, int k) {
    return k < cmd->nopts ? &cmd->opts[k] : k == cmd->nopts ? &help_opt : NULL;
}

/* 1 when the n bytes at s spell the name (NULL: none) */
static int spelled(const char *s, size_t n, const char *name) {
    return name && strlen(name) == n && !strncmp(s, name, n);
}

/* The option arg names: whole (name or alias, no value attached) or as
 * "NAME=VALUE" (*attached is VALUE then). NULL when none does. */
static const CliOpt *opt_find(const CliCommand *cmd, const char *arg, const char **attached) {
    const CliOpt *o;
    *attached = NULL;
    for (int k = 0; (o = opt_at(cmd, k)) != NULL; k++)
        if (spelled(arg, strlen(arg), o->name) || spelled(arg, strlen(arg), o->alias))
            return o;
    const char *eq = strchr(arg, '=');
    if (arg[0] != '-' || !eq)
        return NULL;
    size_t n = (size_t)(eq - arg);
    for (int k = 0; (o = opt_at(cmd, k)) != NULL; k++)
        if (spelled(arg, n, o->name) || spelled(arg, n, o->alias)) {
            *attached = eq + 1;
            return o;
        }
    return NULL;
}

/* 1 when v is one of the '|'-separated words of choices; *index is its place */
static int choice_index(const char *choices, const char *v, int *index) {
    size_t n = strlen(v);
    int k = 0;
    for (const char *c = choices;; k++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (n && len == n && !strncmp(c, v, n)) {
            *index = k;
            return 1;
        }
        if (!bar)
            return 0;
        c = bar + 1;
    }
}

/* a decimal integer from 0 to 2^64 - 1, no sign */
static int parse_u64(const char *v) {
    char *end;
    errno = 0;
    strtoull(v, &end, 10);
    return !errno && end != v && !*end && v[0] != '-' && v[0] != '+';
}

/* Checks v against o's kind and stores it; 0, or 2 after the message. */
static int opt_store(const CliOpt *o, const char *v) {
    long l = 0;
    double d = 0;
    int index = 0;
    switch (o->kind) {
    case CLI_TEXT:
        if (!*v)
            return cli_error("%s needs %s, not an empty string", o->name, o->needs ? o->needs : "a value");
        break;
    case CLI_INT:
        if (cli_parse_long(v, (long)o->lo, (long)o->hi, &l) < 0)
            return cli_error("%s takes an integer from %.0f to %.0f, not '%s'", o->name, o->lo, o->hi, v);
        break;
    case CLI_NUM:
        if (cli_parse_double(v, o->lo, o->hi, &d) < 0)
            return cli_error("%s takes a number from %g to %g, not '%s'", o->name, o->lo, o->hi, v);
        break;
    case CLI_U64:
        if (!parse_u64(v))
            return cli_error("%s takes an integer from 0 to 2^64 - 1, not '%s'", o->name, v);
        break;
    case CLI_CHOICE:
        if (!choice_index(o->choices, v, &index))
            return cli_error("%s takes one of %s, not '%s'", o->name, o->choices, v);
        break;
    case CLI_FLAG:
    case CLI_STOP:
        nn_unreachable("opt_store: %s takes no value", o->name);
    }
    if (o->ival)
        *o->ival = o->kind == CLI_CHOICE ? index : (int)l;
    if (o->dval)
        *o->dval = d;
    if (o->text)
        *o->text = v;
    return 0;
}

/* the flag o: 0, or CLI_EXIT for a CLI_STOP option */
static int opt_set(const CliOpt *o) {
    if (o->ival)
        *o->ival = o->set;
    if (o->text)
        *o->text = o->name;
    return o->kind == CLI_STOP ? CLI_EXIT : 0;
}

int cli_parse(const CliCommand *cmd, int argc, char **argv, const char **operand) {
    *operand = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        const CliOpt *o = opt_find(cmd, arg, &v);
        if (!o && arg[0] == '-' && arg[1])
            return cli_error("unknown option '%s' (see %s --help)", arg, cmd->name);
        if (!o && *operand)
            return cli_error("one %s at a time ('%s' is a second)", cmd->operand, arg);
        if (!o) {
            *operand = arg;
            continue;
        }
        if (o->kind == CLI_FLAG || o->kind == CLI_STOP) {
            if (v)
                return cli_error("%s takes no value (%s)", o->name, arg);
            if (o == &help_opt)
                cli_help(cmd, stdout);
            if (opt_set(o) == CLI_EXIT)
                return CLI_EXIT;
            continue;
        }
        if (!v && i + 1 >= argc)
            return cli_error("%s needs %s", o->name, o->needs ? o->needs : "a value");
        if (opt_store(o, v ? v : argv[++i]))
            return 2;
    }
    if (!*operand)
        return cli_error("no %s (see %s --help)", cmd->operand, cmd->name);
    return CLI_PARSED;
}

/* "  LEFT      first line\n                    next line\n" */
static void help_entry(FILE *f, const char *left, const char *help) {
    int width = fprintf(f, "  %s", left) - 2;
    if (width > HELP_COLUMN) {
        fputc('\n', f);
        width = -2;
    }
    for (const char *line = help; line;) {
        const char *nl = strchr(line, '\n');
        int n = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(f, "%*s%.*s\n", HELP_COLUMN - width + 1, "", n, line);
        width = -2;
        line = nl ? nl + 1 : NULL;
    }
}

void cli_help(const CliCommand *cmd, FILE *f) {
    fputs(cmd->usage, f);
    fputs("\noptions (a value is the next argument, or follows an '=' in the same one):\n", f);
    const CliOpt *o;
    for (int k = 0; (o = opt_at(cmd, k)) != NULL; k++) {
        if (!o->help)
            continue;
        Buf left = {0};
        buf_puts(&left, o->name);
        if (o->alias)
            buf_printf(&left, ", %s", o->alias);
        if (o->value)
            buf_printf(&left, " %s", o->value);
        help_entry(f, left.data, o->help);
        buf_free(&left);
    }
    if (cmd->more_help)
        cmd->more_help(f);
}
