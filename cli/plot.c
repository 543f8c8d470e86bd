/*
 * plot.c - training curves as a self-contained SVG: one panel for the loss
 * and one for the metric (accuracy in percent, or mean squared error), x =
 * epochs. Each curve is exactly one <path> element (a gap, where a value
 * is missing, is a new subpath "M" of the same path); axes, ticks and the
 * legend's samples are <line> elements, all text is <text>. Nothing
 * external: no fonts, images, styles or scripts are referenced.
 *
 * Axis ranges: the data's range widened to "nice" tick steps (1, 2 or 5
 * times a power of ten, about five ticks, Heckbert's labelling); a flat
 * series gets a small range around its value.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PANEL_W 470
#define PANEL_H 360
#define M_LEFT 70
#define M_RIGHT 20
#define M_TOP 56
#define M_BOTTOM 56

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

static void xml_text(Buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        default:
            buf_putc(b, *s);
            break;
        }
    }
}

/* the nice step of about range / ticks: 1, 2 or 5 times 10^k */
static double nice_step(double range, int ticks) {
    double raw = range / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

typedef struct Axis {
    double lo, hi, step;
} Axis;

static Axis value_axis(const PlotPanel *p, int n) {
    double lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < p->ncurves; c++)
        for (int i = 0; i < n; i++)
            if (isfinite(p->curves[c].y[i])) {
                lo = fmin(lo, p->curves[c].y[i]);
                hi = fmax(hi, p->curves[c].y[i]);
            }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) {
        double d = fmax(fabs(lo) * 0.05, 1e-3);
        lo -= d;
        hi += d;
    }
    Axis a;
    a.step = nice_step(hi - lo, 5);
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

typedef struct Frame {
    double x0, y0, w, h; /* the plotting area */
    int n;               /* epochs */
    Axis ya;
} Frame;

static double fx(const Frame *f, double epoch) {
    return f->n <= 1 ? f->x0 + f->w / 2 : f->x0 + f->w * (epoch - 1) / (f->n - 1);
}

static double fy(const Frame *f, double v) {
    return f->y0 + f->h - f->h * (v - f->ya.lo) / (f->ya.hi - f->ya.lo);
}

static void axes(Buf *b, const Frame *f, const char *ylabel) {
    buf_printf(b,
               "  <rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" stroke=\"#333333\"/>\n",
               f->x0, f->y0, f->w, f->h);
    for (double v = f->ya.lo; v <= f->ya.hi + f->ya.step * 1e-6; v += f->ya.step) {
        double y = fy(f, v);
        buf_printf(b, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", f->x0, y,
                   f->x0 + f->w, y);
        buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.4g</text>\n", f->x0 - 6,
                   y + 4, fabs(v) < f->ya.step * 1e-6 ? 0.0 : v);
    }
    int xs = f->n <= 10 ? 1 : (int)nice_step(f->n - 1, 8);
    xs = xs < 1 ? 1 : xs;
    for (int e = 1; e <= f->n; e += (e == 1 && xs > 1) ? xs - 1 : xs) {
        double x = fx(f, e);
        buf_printf(b, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", x, f->y0 + f->h,
                   x, f->y0 + f->h + 5);
        buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%d</text>\n", x,
                   f->y0 + f->h + 18, e);
    }
    buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n",
               f->x0 + f->w / 2, f->y0 + f->h + 38);
    buf_printf(b,
               "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
               "transform=\"rotate(-90 %.1f %.1f)\">",
               f->x0 - 52, f->y0 + f->h / 2, f->x0 - 52, f->y0 + f->h / 2);
    xml_text(b, ylabel);
    buf_puts(b, "</text>\n");
}

/* one <path> per curve; a missing value starts a new subpath */
static void curve(Buf *b, const Frame *f, const PlotCurve *c, const char *color) {
    buf_puts(b, "  <path class=\"curve\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" "
                "stroke-linecap=\"round\" stroke=\"");
    buf_puts(b, color);
    buf_puts(b, c->dashed ? "\" stroke-dasharray=\"6 4\" d=\"" : "\" d=\"");
    int pen = 0, points = 0;
    for (int i = 0; i < f->n; i++) {
        if (!isfinite(c->y[i])) {
            pen = 0;
            continue;
        }
        double x = fx(f, i + 1), y = fy(f, c->y[i]);
        buf_printf(b, "%s%c%.1f %.1f", points++ ? " " : "", pen ? 'L' : 'M', x, y);
        if (!pen && (i + 1 >= f->n || !isfinite(c->y[i + 1])))
            buf_printf(b, " L%.1f %.1f", x, y); /* a lone point: a dot under the round cap */
        pen = 1;
    }
    if (!points)
        buf_puts(b, "M0 0");
    buf_puts(b, "\"><title>");
    xml_text(b, c->label);
    buf_puts(b, "</title></path>\n");
}

static void legend(Buf *b, const Frame *f, const PlotPanel *p) {
    double x = f->x0 + 10, y = f->y0 - 12;
    for (int c = 0; c < p->ncurves; c++) {
        buf_printf(b, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                   x, y, x + 22, y, colors[c % 4], p->curves[c].dashed ? " stroke-dasharray=\"6 4\"" : "");
        buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", x + 27, y + 4);
        xml_text(b, p->curves[c].label);
        buf_puts(b, "</text>\n");
        x += 34 + 7.0 * (double)strlen(p->curves[c].label);
    }
}

void plot_svg(Buf *out, const char *title, int n, const PlotPanel *panels, int npanels) {
    int width = PANEL_W * npanels, height = PANEL_H;
    buf_printf(out,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n  <title>",
               width, height, width, height);
    xml_text(out, title);
    buf_printf(out, "</title>\n  <rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", width, height);
    buf_printf(out, "  <text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">",
               width / 2);
    xml_text(out, title);
    buf_puts(out, "</text>\n");
    for (int k = 0; k < npanels; k++) {
        Frame f = {PANEL_W * k + M_LEFT, M_TOP, PANEL_W - M_LEFT - M_RIGHT, PANEL_H - M_TOP - M_BOTTOM, n, {0, 1, 1}};
        f.ya = value_axis(&panels[k], n);
        buf_printf(out, "  <g>\n");
        axes(out, &f, panels[k].ylabel);
        for (int c = 0; c < panels[k].ncurves; c++)
            curve(out, &f, &panels[k].curves[c], colors[c % 4]);
        legend(out, &f, &panels[k]);
        buf_printf(out, "  </g>\n");
    }
    buf_puts(out, "</svg>\n");
}

/* ---- the driver's history file -------------------------------------------------------------------- */

#define MAX_COLS 8

typedef struct History {
    char *names[MAX_COLS];
    int ncols;
    double *col[MAX_COLS];
    int rows;
} History;

/* epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds: numbers, NaN allowed */
static int read_history(const char *text, History *h) {
    const char *p = text, *eol = strchr(p, '\n');
    if (!eol)
        return -1;
    while (p < eol && h->ncols < MAX_COLS) {
        const char *c = memchr(p, ',', (size_t)(eol - p));
        const char *end = c ? c : eol;
        h->names[h->ncols++] = base_xstrndup(p, (size_t)(end - p));
        p = c ? c + 1 : eol;
    }
    int cap = 16;
    for (int k = 0; k < h->ncols; k++)
        h->col[k] = base_xcalloc((size_t)cap, sizeof(double));
    for (p = eol + 1; *p; h->rows++) {
        if (h->rows == cap) {
            cap *= 2;
            for (int k = 0; k < h->ncols; k++)
                h->col[k] = base_xrealloc(h->col[k], sizeof(double) * (size_t)cap);
        }
        for (int k = 0; k < h->ncols; k++) {
            char *end;
            h->col[k][h->rows] = strtod(p, &end);
            if (end == p)
                return -1;
            p = end;
            if (*p == ',')
                p++;
        }
        if (*p == '\r')
            p++;
        if (*p != '\n' && *p)
            return -1;
        if (*p)
            p++;
    }
    return h->rows > 0 ? 0 : -1;
}

static const double *column(const History *h, const char *name) {
    for (int k = 0; k < h->ncols; k++)
        if (!strcmp(h->names[k], name))
            return h->col[k];
    return NULL;
}

static void add_curve(PlotPanel *p, const History *h, const char *name, const char *label, int dashed) {
    const double *y = column(h, name);
    if (y) {
        p->curves[p->ncurves].label = label;
        p->curves[p->ncurves].y = y;
        p->curves[p->ncurves].dashed = dashed;
        p->ncurves++;
    }
}

int plot_history(const char *history_path, const char *svg_path, const char *title) {
    size_t len;
    char *text = cli_read_file(history_path, &len);
    History h;
    memset(&h, 0, sizeof h);
    int rc = 0;
    if (!text || read_history(text, &h) < 0) {
        rc = cli_error("cannot read the training history '%s'", history_path);
    } else {
        PlotPanel panels[2];
        memset(panels, 0, sizeof panels);
        panels[0].ylabel = "loss";
        add_curve(&panels[0], &h, "train_loss", "train loss", 0);
        add_curve(&panels[0], &h, "val_loss", "validation loss", 1);
        int np = 1;
        if (column(&h, "train_accuracy")) {
            panels[1].ylabel = "accuracy (%)";
            add_curve(&panels[1], &h, "train_accuracy", "train accuracy", 0);
            add_curve(&panels[1], &h, "val_accuracy", "validation accuracy", 1);
            np = 2;
        } else if (column(&h, "train_mse")) {
            panels[1].ylabel = "mean squared error";
            add_curve(&panels[1], &h, "train_mse", "train MSE", 0);
            add_curve(&panels[1], &h, "val_mse", "validation MSE", 1);
            np = 2;
        }
        Buf svg = {0};
        plot_svg(&svg, title, h.rows, panels, np);
        if (cli_write_file(svg_path, svg.data, svg.len) < 0)
            rc = cli_error("cannot write '%s': %s", svg_path, strerror(errno));
        buf_free(&svg);
    }
    for (int k = 0; k < h.ncols; k++) {
        free(h.names[k]);
        free(h.col[k]);
    }
    free(text);
    return rc;
}
