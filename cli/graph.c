/*
 * graph.c - `nngen graph NET.nn -o g.dot [--backward]`: the optimized
 * IR, as the generated C computes it, drawn as a Graphviz DOT digraph.
 *
 * Without --backward: the inference function (NET_forward and NET_loss:
 * the outputs and the loss). With --backward: the training functions,
 * each in its own cluster: the training forward, the backward graph, the
 * optimizer updates. Leaves (inputs, targets, parameters, constants) sit
 * outside the clusters. Each node is labelled with its IR id, its DSL name
 * if it has one (gradients: d(name)), its op and attributes, its shape and
 * its source line; edges run from operand to user in operand order.
 * -o's extension names the format: g.dot (g.gv) is the DOT, with g.svg
 * rendered beside it when `dot` is in PATH; g.svg and g.png are the picture
 * alone, rendered by `dot` (an error, nothing written, without it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

static const char graph_usage[] = "usage: nngen graph NET.nn [-o FILE.dot|FILE.svg|FILE.png] [options]\n"
                                  "\n"
                                  "Draws the network's graph: the inference graph, or with --backward the\n"
                                  "training forward, backward and update graphs. Nodes show the op, its shape\n"
                                  "and its source line. -o's extension names the format: FILE.dot (or .gv) is\n"
                                  "Graphviz DOT, with FILE.svg rendered beside it when Graphviz's `dot` is\n"
                                  "installed; FILE.svg and FILE.png are the picture alone, rendered by `dot`\n"
                                  "(an error without it). Without -o the DOT goes to stdout.\n";

/* a DOT string body: quotes and backslashes escaped, newlines as \n */
static void dot_text(Buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        if (*s == '\n')
            buf_puts(b, "\\n");
        else
            buf_putc(b, *s);
    }
}

static const char *base_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path ? path : "?";
}

/* "v8  a1 = tanh\n[N, 3]\nmoons.nn:17" */
static void node_label(Buf *b, const Graph *g, const Node *n) {
    Buf t = {0};
    const OpInfo *oi = op_info(n->op);
    buf_printf(&t, "v%d  ", n->id);
    if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_LABEL || n->op == OP_PARAM)
        buf_printf(&t, "%s %s", oi->name, n->s ? n->s : n->name ? n->name : "?");
    else {
        if (n->name)
            buf_printf(&t, "%s = ", n->name);
        else if (n->grad_of >= 0 && g->nodes[n->grad_of].name)
            buf_printf(&t, "d(%s) = ", g->nodes[n->grad_of].name);
        else if (n->grad_of >= 0)
            buf_printf(&t, "d(v%d) = ", n->grad_of);
        buf_puts(&t, oi->name);
        ir_node_attrs(&t, n);
        if (n->s && !(oi->flags & OPF_LEAF))
            buf_printf(&t, " \"%s\"", n->s);
    }
    buf_putc(&t, '\n');
    shape_print(&t, &n->shape);
    if (n->loc.line)
        buf_printf(&t, "\n%s:%d", base_name(diag_file()), n->loc.line);
    dot_text(b, t.data);
    buf_free(&t);
}

static const char *node_style(const Graph *g, const Node *n) {
    switch (n->op) {
    case OP_INPUT:
        return "shape=ellipse, style=filled, fillcolor=\"#cfe2f3\"";
    case OP_TARGET:
    case OP_LABEL:
        return "shape=ellipse, style=filled, fillcolor=\"#d9ead3\"";
    case OP_PARAM:
        return "shape=box, style=filled, fillcolor=\"#fff2cc\"";
    case OP_CONST:
        return "shape=plaintext, fontsize=10";
    default:
        break;
    }
    if (ir_is_loss(g, n->id))
        return "shape=box, style=\"rounded,filled\", fillcolor=\"#f4cccc\"";
    if (ir_is_output(g, n->id))
        return "shape=box, style=\"rounded,filled,bold\", fillcolor=\"#d0e0e3\"";
    if (n->func == FN_UPDATE)
        return "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\"";
    return "shape=box, style=rounded";
}

static void write_node(Buf *b, const Graph *g, const Node *n, const char *indent) {
    buf_printf(b, "%sv%d [label=\"", indent, n->id);
    node_label(b, g, n);
    buf_printf(b, "\", %s];\n", node_style(g, n));
}

static int wanted(const Node *n, int backward) {
    if (n->dead || (op_info(n->op)->flags & OPF_LEAF))
        return 0;
    return backward ? (n->func == FN_TRAIN || n->func == FN_BACKWARD || n->func == FN_UPDATE) : n->func == FN_INFER;
}

void graph_write_dot(Buf *out, const Graph *g, int backward) {
    static const struct {
        Func fn;
        const char *name, *label;
    } clusters[] = {
        {FN_INFER, "infer", "inference (NET_forward, NET_loss)"},
        {FN_TRAIN, "train", "training forward (NET_forward_train)"},
        {FN_BACKWARD, "backward", "backward (NET_backward)"},
        {FN_UPDATE, "update", "optimizer update (NET_update)"},
    };
    char *leaf = base_xcalloc((size_t)g->count + 1, 1);
    for (int v = 0; v < g->count; v++)
        if (wanted(&g->nodes[v], backward))
            for (int k = 0; k < g->nodes[v].nin; k++)
                if (op_info(g->nodes[g->nodes[v].in[k]].op)->flags & OPF_LEAF)
                    leaf[g->nodes[v].in[k]] = 1;
    buf_printf(out, "// nngen %s: network %s, %s graph, from %s\n", NNGEN_VERSION, g->net,
               backward ? "training (forward, backward, update)" : "inference", base_name(diag_file()));
    buf_puts(out, "digraph \"");
    dot_text(out, g->net);
    buf_printf(out, "\" {\n  rankdir=TB;\n  fontname=\"Helvetica\";\n  node [fontname=\"Helvetica\", fontsize=11];\n"
                    "  edge [color=\"#555555\", arrowsize=0.7];\n");
    for (int v = 0; v < g->count; v++)
        if (leaf[v])
            write_node(out, g, &g->nodes[v], "  ");
    for (size_t c = 0; c < sizeof clusters / sizeof clusters[0]; c++) {
        if ((clusters[c].fn == FN_INFER) == (backward != 0))
            continue;
        buf_printf(out, "  subgraph cluster_%s {\n    label=\"%s\";\n    color=\"#999999\";\n", clusters[c].name,
                   clusters[c].label);
        for (int v = 0; v < g->count; v++)
            if (wanted(&g->nodes[v], backward) && g->nodes[v].func == clusters[c].fn)
                write_node(out, g, &g->nodes[v], "    ");
        buf_puts(out, "  }\n");
    }
    for (int v = 0; v < g->count; v++) {
        const Node *n = &g->nodes[v];
        if (!wanted(n, backward))
            continue;
        for (int k = 0; k < n->nin; k++)
            buf_printf(out, "  v%d -> v%d;\n", n->in[k], v);
    }
    buf_puts(out, "}\n");
    free(leaf);
}

typedef struct GraphCtx {
    Buf dot;
    int backward;
    int no_training; /* --backward on a network without a loss */
} GraphCtx;

static int collect(const Graph *g, void *ctx) {
    GraphCtx *gc = ctx;
    if (gc->backward && (g->infer_only || g->loss_train < 0)) {
        gc->no_training = 1;
        return 0;
    }
    graph_write_dot(&gc->dot, g, gc->backward);
    return 0;
}

/* what -o's extension asks for: DOT text, or a picture dot renders */
typedef enum { GRAPH_DOT, GRAPH_SVG, GRAPH_PNG, GRAPH_UNKNOWN } GraphFormat;

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

static GraphFormat format_of(const char *path) {
    if (has_ext(path, ".dot") || has_ext(path, ".gv"))
        return GRAPH_DOT;
    if (has_ext(path, ".svg"))
        return GRAPH_SVG;
    if (has_ext(path, ".png"))
        return GRAPH_PNG;
    return GRAPH_UNKNOWN;
}

/* g.dot -> g.svg, g.gv -> g.svg */
static char *svg_path(const char *dot_path) {
    size_t n = strlen(dot_path);
    Buf b = {0};
    n -= has_ext(dot_path, ".dot") ? 4 : 3;
    buf_printf(&b, "%.*s.svg", (int)n, dot_path);
    return b.data;
}

/* dot -TFMT dot_path into out: rendered beside (into a new O_EXCL
 * temporary of ours, so dot follows no planted link), then renamed, so out
 * is whole or untouched; 0, or an error printed and 2 */
static int render(const char *dot, const char *dot_path, const char *fmt, const char *out) {
    Buf flag = {0};
    buf_printf(&flag, "-T%s", fmt);
    char *tmp = cli_write_temp(out, "", 0);
    int rc = -1;
    if (tmp) {
        char *argv[] = {(char *)dot, flag.data, (char *)dot_path, "-o", tmp, NULL};
        rc = cli_run(argv, NULL);
        if (rc != 0)
            unlink(tmp);
        else if (cli_rename_over(tmp, out) != 0)
            rc = -1;
    }
    if (rc != 0)
        cli_error("`dot %s` failed (status %d): no %s written", flag.data, rc, out);
    free(tmp);
    buf_free(&flag);
    return rc == 0 ? 0 : 2;
}

/* -o g.dot: the DOT, and g.svg beside it when dot is installed (not --no-svg) */
static int write_dot(const Buf *text, const char *path, int no_svg) {
    if (cli_write_file(path, text->data, text->len) < 0)
        return cli_error("cannot write '%s': %s", path, strerror(errno));
    char *dot = no_svg ? NULL : cli_which("dot");
    if (!dot) {
        if (!no_svg)
            fprintf(stderr, "nngen: note: Graphviz's `dot` is not installed: wrote %s only\n", path);
        printf("wrote %s\n", path);
        return 0;
    }
    char *svg = svg_path(path);
    int rc = render(dot, path, "svg", svg);
    if (rc == 0)
        printf("wrote %s and %s\n", path, svg);
    free(dot);
    free(svg);
    return rc;
}

/* -o g.svg / g.png: the picture only, rendered by dot from a DOT file that
 * is removed afterwards; nothing is written when dot is missing or fails */
static int write_picture(const Buf *text, const char *path, const char *fmt) {
    char *dot = cli_which("dot");
    if (!dot)
        return cli_error("writing %s needs Graphviz's `dot`, which is not in PATH: install Graphviz "
                         "(Debian: apt-get install graphviz), or write the DOT text with -o NAME.dot",
                         path);
    char *src = cli_write_temp(path, text->data, text->len);
    int rc = 0;
    if (!src)
        rc = cli_error("cannot write a temporary beside '%s': %s", path, strerror(errno));
    else
        rc = render(dot, src, fmt, path);
    if (src)
        unlink(src);
    if (rc == 0)
        printf("wrote %s\n", path);
    free(src);
    free(dot);
    return rc;
}

/* -o and, for a DOT file, the SVG beside it: not the input, files that may
 * be written; a DOT file may go to a FIFO or device */
static int check_outputs(const char *input, const char *output, int no_svg) {
    const CliInput inputs[] = {{input, "the network"}};
    int dot = format_of(output) == GRAPH_DOT;
    int rc = cli_check_output(output, "-o", dot, inputs, 1);
    if (rc == 0 && dot && !no_svg) {
        char *svg = svg_path(output);
        rc = cli_check_output(svg, "the SVG beside -o", 0, inputs, 1);
        free(svg);
    }
    return rc;
}

int cli_graph_main(int argc, char **argv) {
    const char *input, *output = NULL;
    int no_svg = 0;
    GraphCtx gc = {{0}, 0, 0};
    CompileOptions co = {0};
    co.opt_level = 2;
    /* one option per entry, fields packed (not reflowed by clang-format) */
    /* clang-format off */
    const CliOpt opts[] = {
        {.name = "-o", .kind = CLI_TEXT, .value = "FILE", .text = &output,
         .help = "FILE.dot: the DOT (and FILE.svg beside it); FILE.svg, FILE.png: the picture"},
        {.name = "--backward", .kind = CLI_FLAG, .set = 1, .ival = &gc.backward,
         .help = "draw the training forward, backward and update graphs"},
        {.name = "--no-svg", .kind = CLI_FLAG, .set = 1, .ival = &no_svg, .help = "with -o: do not render the SVG"},
        {.name = "-O0", .kind = CLI_FLAG, .set = 0, .ival = &co.opt_level,
         .help = "the graph after the required passes only"},
        {.name = "-O2", .kind = CLI_FLAG, .set = 2, .ival = &co.opt_level,
         .help = "the graph after all the passes (the default)"},
    };
    /* clang-format on */
    const CliCommand cmd = {"nngen graph", graph_usage, "input file", opts, sizeof opts / sizeof opts[0], NULL};
    int rc = cli_parse(&cmd, argc, argv, &input);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    if (output && format_of(output) == GRAPH_UNKNOWN)
        return cli_error("-o %s: the extension names the format: .dot or .gv (DOT text), .svg or .png "
                         "(rendered by Graphviz's `dot`)",
                         output);
    if (output && no_svg && format_of(output) != GRAPH_DOT)
        return cli_error("--no-svg goes with -o NAME.dot; -o %s asks for the picture", output);
    if (output && (rc = check_outputs(input, output, no_svg)) != 0)
        return rc;
    co.inspect = collect;
    co.inspect_ctx = &gc;
    co.no_emit = 1;
    rc = cli_compile(input, &co, NULL, NULL);
    if (rc == 0 && gc.no_training)
        rc = cli_error("%s has no loss: there is no backward graph to draw (drop --backward)", input);
    if (rc == 0 && !output) {
        fwrite(gc.dot.data, 1, gc.dot.len, stdout);
    } else if (rc == 0 && format_of(output) == GRAPH_DOT) {
        rc = write_dot(&gc.dot, output, no_svg);
    } else if (rc == 0) {
        rc = write_picture(&gc.dot, output, format_of(output) == GRAPH_SVG ? "svg" : "png");
    }
    buf_free(&gc.dot);
    return rc;
}
