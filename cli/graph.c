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
 * When -o is given and `dot` is in PATH, g.svg is rendered beside g.dot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char graph_usage[] =
    "usage: nngen graph NET.nn [-o FILE.dot] [options]\n"
    "\n"
    "Writes the network's graph as Graphviz DOT: the inference graph, or with\n"
    "--backward the training forward, backward and update graphs. Nodes show the\n"
    "op, its shape and its source line. With -o, FILE.svg is rendered beside\n"
    "FILE.dot when Graphviz's `dot` is installed; without -o the DOT goes to stdout.\n";

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
    case OP_INPUT: return "shape=ellipse, style=filled, fillcolor=\"#cfe2f3\"";
    case OP_TARGET: case OP_LABEL: return "shape=ellipse, style=filled, fillcolor=\"#d9ead3\"";
    case OP_PARAM: return "shape=box, style=filled, fillcolor=\"#fff2cc\"";
    case OP_CONST: return "shape=plaintext, fontsize=10";
    default: break;
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
    return backward ? (n->func == FN_TRAIN || n->func == FN_BACKWARD || n->func == FN_UPDATE)
                    : n->func == FN_INFER;
}

void graph_write_dot(Buf *out, const Graph *g, int backward) {
    static const struct { Func fn; const char *name, *label; } clusters[] = {
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
        buf_printf(out, "  subgraph cluster_%s {\n    label=\"%s\";\n    color=\"#999999\";\n",
                   clusters[c].name, clusters[c].label);
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

/* g.dot -> g.svg (any other name: NAME.svg) */
static char *svg_path(const char *dot_path) {
    size_t n = strlen(dot_path);
    Buf b = {0};
    if (n > 4 && !strcmp(dot_path + n - 4, ".dot"))
        n -= 4;
    else if (n > 3 && !strcmp(dot_path + n - 3, ".gv"))
        n -= 3;
    buf_printf(&b, "%.*s.svg", (int)n, dot_path);
    return b.data;
}

static int render_svg(const char *dot_path) {
    char *dot = cli_which("dot");
    if (!dot) {
        fprintf(stderr, "nngen: note: Graphviz's `dot` is not installed: wrote %s only\n", dot_path);
        return 0;
    }
    char *svg = svg_path(dot_path);
    Buf tmp = {0};
    buf_printf(&tmp, "%s.tmp.svg", svg);
    char *argv[] = {dot, "-Tsvg", (char *)dot_path, "-o", tmp.data, NULL};
    int rc = cli_run(argv, NULL);
    if (rc == 0 && rename(tmp.data, svg) != 0)
        rc = -1;
    if (rc != 0) {
        remove(tmp.data);
        cli_error("`dot -Tsvg %s` failed (status %d): no %s written", dot_path, rc, svg);
    } else {
        printf("wrote %s and %s\n", dot_path, svg);
    }
    free(dot);
    free(svg);
    buf_free(&tmp);
    return rc == 0 ? 0 : 2;
}

int cli_graph_main(int argc, char **argv) {
    const char *input, *output = NULL;
    int no_svg = 0;
    GraphCtx gc = {{0}, 0, 0};
    CompileOptions co = {0};
    co.opt_level = 2;
    const CliOpt opts[] = {
        {.name = "-o", .kind = CLI_TEXT, .value = "FILE.dot", .text = &output,
         .help = "write the DOT to FILE.dot (and render FILE.svg beside it)"},
        {.name = "--backward", .kind = CLI_FLAG, .set = 1, .ival = &gc.backward,
         .help = "draw the training forward, backward and update graphs"},
        {.name = "--no-svg", .kind = CLI_FLAG, .set = 1, .ival = &no_svg, .help = "with -o: do not render the SVG"},
        {.name = "-O0", .kind = CLI_FLAG, .set = 0, .ival = &co.opt_level,
         .help = "the graph after the required passes only"},
        {.name = "-O2", .kind = CLI_FLAG, .set = 2, .ival = &co.opt_level,
         .help = "the graph after all the passes (the default)"},
    };
    const CliCommand cmd = {"nngen graph", graph_usage, "input file", opts, sizeof opts / sizeof opts[0], NULL};
    int rc = cli_parse(&cmd, argc, argv, &input);
    if (rc != CLI_PARSED)
        return rc == CLI_EXIT ? 0 : rc;
    co.inspect = collect;
    co.inspect_ctx = &gc;
    co.no_emit = 1;
    rc = cli_compile(input, &co, NULL, NULL);
    if (rc == 0 && gc.no_training)
        rc = cli_error("%s has no loss: there is no backward graph to draw (drop --backward)", input);
    if (rc == 0 && !output) {
        fwrite(gc.dot.data, 1, gc.dot.len, stdout);
    } else if (rc == 0) {
        if (cli_write_file(output, gc.dot.data, gc.dot.len) < 0)
            rc = cli_error("cannot write '%s': %s", output, strerror(errno));
        else if (!no_svg)
            rc = render_svg(output);
        else
            printf("wrote %s\n", output);
    }
    buf_free(&gc.dot);
    return rc;
}
