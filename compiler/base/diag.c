/*
 * diag.c - the one diagnostics reporter.
 *
 * Every user-facing error of every phase goes through diag_error, in gcc's
 * format, to the stream chosen by diag_begin:
 *
 *     moons.nn:12:9: error: matmul shapes [N, 3] @ [4, 2] do not agree (3 != 4)
 *        12 | z2 = a1 @ W2 + b2
 *           |         ^
 *
 * Invariants:
 *  - The only state is the static `diag` below; diag_begin resets all of it,
 *    so one process can run many compilations (the tests do).
 *  - A quoted line never exceeds about DIAG_WINDOW bytes: longer lines show a
 *    window around the column, marked with "..." on the cut sides.
 *  - The quote shows bytes outside printable ASCII (tab aside) as '?', one
 *    '?' per byte, so columns (which count bytes) still line up; the caret
 *    line repeats the tabs that precede the column.
 *  - Loc.line == 0 means "no position": `file: error: msg`, no quote. A line
 *    past the end of the text is printed without a quote as well.
 *  - Notes print like errors but do not count.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#define DIAG_WINDOW 160 /* widest quoted excerpt, in bytes */

static struct {
    const char *file;
    const char *text;
    size_t len;
    FILE *out;
    int errors;
} diag;

void diag_begin(const char *file, const char *text, size_t len, FILE *out) {
    diag.file = file;
    diag.text = text;
    diag.len = text ? len : 0;
    diag.out = out;
    diag.errors = 0;
}

int diag_count(void) {
    return diag.errors;
}

const char *diag_file(void) {
    return diag.file ? diag.file : "<input>";
}

/* line -> its first byte and length, without "\n" (nor the "\r" of "\r\n"). */
const char *diag_line(int line, size_t *len) {
    if (line < 1 || !diag.text)
        return NULL;
    const char *p = diag.text, *end = diag.text + diag.len;
    for (int n = 1; n < line; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (nl && n > 0 && p[n - 1] == '\r')
        n--;
    if (len)
        *len = n;
    return p;
}

/* Writes bytes [from, to) of a line, with '?' for what a terminal may not show. */
static void diag_put_bytes(const char *s, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c == '\t' || (c >= 0x20 && c < 0x7f) ? c : '?', diag.out);
    }
}

/*
 *    12 | z2 = a1 @ W2 + b2
 *       |         ^
 * col may be one past the end (an error at the newline or end of file).
 */
static void diag_quote(Loc loc) {
    size_t len;
    const char *s = diag_line(loc.line, &len);
    if (!s)
        return;
    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > len)
        col = len;
    size_t from = 0, to = len;
    if (len > DIAG_WINDOW) { /* a window around the column */
        from = col > DIAG_WINDOW / 2 ? col - DIAG_WINDOW / 2 : 0;
        if (from > len - DIAG_WINDOW)
            from = len - DIAG_WINDOW;
        to = from + DIAG_WINDOW;
    }
    const char *pre = from > 0 ? "..." : "";
    int width = fprintf(diag.out, "%5d", loc.line);
    fprintf(diag.out, " | %s", pre);
    diag_put_bytes(s, from, to);
    fprintf(diag.out, "%s\n", to < len ? "..." : "");
    if (loc.col <= 0)
        return;
    fprintf(diag.out, "%*s | %s", width > 0 ? width : 5, "", from > 0 ? "   " : "");
    for (size_t i = from; i < col; i++)
        fputc(s[i] == '\t' ? '\t' : ' ', diag.out);
    fputs("^\n", diag.out);
}

void diag_verror(Loc loc, const char *kind, const char *fmt, va_list ap) {
    if (!diag.out)
        diag.out = stderr;
    if (loc.line <= 0)
        fprintf(diag.out, "%s: %s: ", diag_file(), kind);
    else if (loc.col <= 0)
        fprintf(diag.out, "%s:%d: %s: ", diag_file(), loc.line, kind);
    else
        fprintf(diag.out, "%s:%d:%d: %s: ", diag_file(), loc.line, loc.col, kind);
    vfprintf(diag.out, fmt, ap);
    fputc('\n', diag.out);
    if (loc.line > 0)
        diag_quote(loc);
    if (strcmp(kind, "error") == 0)
        diag.errors++;
}

void diag_error(Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(loc, "error", fmt, ap);
    va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(loc, "note", fmt, ap);
    va_end(ap);
}

void nn_fatal_bug(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fflush(diag.out);
    fprintf(stderr, "nngen: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputs("\n(this is a bug in nngen, not in your program)\n", stderr);
    va_end(ap);
    abort();
}
