/*
 * nn_data.c - the IDX and CSV loaders behind nn_data.h.
 *
 * Invariants:
 *   - hosted C99 only (stdio, strtof, isfinite): no POSIX call, no malloc,
 *     no file-scope mutable state; at most ~4 KiB of stack per call;
 *   - every reader works on a source (nndata_src): a file opened by path or
 *     a buffer the caller read once (the *_mem functions); the two give the
 *     same results for the same bytes, except that a file's CSV field is
 *     bounded (NNDATA_FIELD) and a buffer's is not;
 *   - a source is checked whole before anything is reported: an IDX header
 *     must describe exactly the bytes that follow it, a CSV source is walked
 *     to the end (or to the caller's cap) with every line checked;
 *   - every function returns a count or a negative nn_status, never stops
 *     the program; the destination is written only up to the caller's cap.
 *
 * `nngen train` pastes nn_data.h and this file after the network's net.c
 * (cli/train.c), hence the guard around the include below.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NN_DATA_H
#include "nn_data.h"
#endif

enum {
    NNDATA_CHUNK = 4096, /* stack staging buffer of the IDX reader */
    NNDATA_FIELD = 320   /* a CSV field read from a file, at most (a buffer's: any length) */
};

/* Where bytes come from: a FILE, or p[0..n) with p[n] == '\0'. */
typedef struct nndata_src {
    FILE *f;
    const char *p;
    size_t n, at;
} nndata_src;

static int nndata_get(nndata_src *s) {
    if (s->f)
        return getc(s->f);
    return s->at < s->n ? (unsigned char)s->p[s->at++] : EOF;
}

static void nndata_unget(nndata_src *s, int c) {
    if (c == EOF)
        return;
    if (s->f)
        ungetc(c, s->f);
    else
        s->at--;
}

static int nndata_failed(const nndata_src *s) {
    return s->f ? ferror(s->f) != 0 : 0;
}

/* Up to n bytes into dst; returns how many. */
static size_t nndata_take(nndata_src *s, unsigned char *dst, size_t n) {
    size_t m;
    if (s->f)
        return fread(dst, 1, n, s->f);
    m = s->n - s->at < n ? s->n - s->at : n;
    memcpy(dst, s->p + s->at, m);
    s->at += m;
    return m;
}

/* Bytes from the current position to the end; a file is left where it was. */
static long nndata_rest(nndata_src *s) {
    long here, end;
    if (!s->f)
        return s->n - s->at > (size_t)LONG_MAX ? -1 : (long)(s->n - s->at);
    here = ftell(s->f);
    if (here < 0 || fseek(s->f, 0L, SEEK_END) != 0)
        return -1;
    end = ftell(s->f);
    if (end < 0 || fseek(s->f, here, SEEK_SET) != 0)
        return -1;
    return end - here;
}

/* A buffer source; 0, or NN_ERR_ARG when there is none or when text must
 * be NUL-terminated (CSV: strtof reads up to a character that ends a number)
 * and is not. */
static int nndata_mem(nndata_src *s, const char *text, size_t len, int nul) {
    if (!text || (nul && text[len] != '\0'))
        return NN_ERR_ARG;
    s->f = NULL;
    s->p = text;
    s->n = len;
    s->at = 0;
    return NN_OK;
}

/* a * b, saturating at UINT64_MAX (a corrupt header's product of dims). */
static uint64_t nndata_mul_sat(uint64_t a, uint64_t b) {
    if (b != 0 && a > UINT64_MAX / b)
        return UINT64_MAX;
    return a * b;
}

/* ---- IDX: bytes 0, 0, type, rank, then rank big-endian u32 dims, then the
 * data: exactly prod(dims) bytes for type 0x08 (unsigned byte). */
static uint32_t nndata_get_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads and checks the header; s is left at the data. FORMAT for a bad
 * magic, another type, rank 0 or above 4, or bytes after the data;
 * TRUNCATED when the header or the data are shorter than claimed. */
static int nndata_idx_header(nndata_src *s, nndata_idx_info *info) {
    unsigned char h[4 * 5];
    uint64_t item = 1, total;
    long rest;
    int i, rank;
    if (nndata_take(s, h, 4) != 4)
        return nndata_failed(s) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    rank = h[3];
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || rank < 1 || rank > 4)
        return NN_ERR_FORMAT;
    if (nndata_take(s, h + 4, 4 * (size_t)rank) != 4 * (size_t)rank)
        return nndata_failed(s) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    if ((rest = nndata_rest(s)) < 0)
        return NN_ERR_IO;
    for (i = 0; i < 4; i++) {
        uint32_t d = i < rank ? nndata_get_be32(h + 4 + 4 * i) : 0u;
        if (d > 0x7fffffffu) /* fits a long everywhere */
            return NN_ERR_FORMAT;
        info->dims[i] = (long)d;
        if (i > 0 && i < rank)
            item = nndata_mul_sat(item, d);
    }
    total = nndata_mul_sat((uint64_t)info->dims[0], item);
    if (total != (uint64_t)rest)
        return total > (uint64_t)rest ? NN_ERR_TRUNCATED : NN_ERR_FORMAT;
    if (item > (uint64_t)LONG_MAX)
        return NN_ERR_FORMAT;
    info->rank = rank;
    info->count = info->dims[0];
    info->item_size = (long)item;
    info->data_offset = 4 + 4 * (long)rank;
    return NN_OK;
}

static int nndata_idx_check(nndata_src *s, nndata_idx_info *info) {
    nndata_idx_info tmp;
    int st = nndata_idx_header(s, &tmp);
    if (st == NN_OK)
        *info = tmp;
    return st;
}

int nndata_idx_open(const char *path, nndata_idx_info *info) {
    nndata_src s = {NULL, NULL, 0, 0};
    int st;
    if (!path || !info)
        return NN_ERR_ARG;
    if (!(s.f = fopen(path, "rb")))
        return NN_ERR_IO;
    st = nndata_idx_check(&s, info);
    fclose(s.f);
    return st;
}

int nndata_idx_open_mem(const void *buf, size_t len, nndata_idx_info *info) {
    nndata_src s;
    if (!info || nndata_mem(&s, buf, len, 0) != NN_OK)
        return NN_ERR_ARG;
    return nndata_idx_check(&s, info);
}

/* Reads up to cap data bytes of an IDX source, as floats (byte * scale) when
 * df is set, as int32 when di is, as bytes otherwise. Returns the elements
 * read. */
static long nndata_idx_read(nndata_src *s, float *df, int32_t *di, unsigned char *du, long cap, float scale) {
    unsigned char b[NNDATA_CHUNK];
    nndata_idx_info info;
    long n, i = 0, j;
    int st;
    if ((st = nndata_idx_header(s, &info)) != NN_OK)
        return st;
    n = info.count * info.item_size < cap ? info.count * info.item_size : cap;
    while (i < n) {
        long m = n - i < NNDATA_CHUNK ? n - i : NNDATA_CHUNK;
        if (nndata_take(s, b, (size_t)m) != (size_t)m)
            break;
        for (j = 0; j < m; j++) {
            if (df)
                df[i + j] = (float)b[j] * scale;
            else if (di)
                di[i + j] = (int32_t)b[j];
            else
                du[i + j] = b[j];
        }
        i += m;
    }
    return i == n ? n : NN_ERR_IO; /* the size was checked: a short read is I/O */
}

static long nndata_idx_read_path(const char *path, float *df, int32_t *di, unsigned char *du, long cap, float scale) {
    nndata_src s = {NULL, NULL, 0, 0};
    long got;
    if (!path || cap < 0 || (cap > 0 && !df && !di && !du))
        return NN_ERR_ARG;
    if (!(s.f = fopen(path, "rb")))
        return NN_ERR_IO;
    got = nndata_idx_read(&s, df, di, du, cap, scale);
    fclose(s.f);
    return got;
}

long nndata_idx_read_f32(const char *path, float *dst, long cap, float scale) {
    return nndata_idx_read_path(path, dst, NULL, NULL, cap, scale);
}

long nndata_idx_read_i32(const char *path, int32_t *dst, long cap) {
    return nndata_idx_read_path(path, NULL, dst, NULL, cap, 1.0f);
}

long nndata_idx_read_u8(const char *path, unsigned char *dst, long cap) {
    return nndata_idx_read_path(path, NULL, NULL, dst, cap, 1.0f);
}

long nndata_idx_read_f32_mem(const void *buf, size_t len, float *dst, long cap, float scale) {
    nndata_src s;
    if (nndata_mem(&s, buf, len, 0) != NN_OK || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nndata_idx_read(&s, dst, NULL, NULL, cap, scale);
}

long nndata_idx_read_i32_mem(const void *buf, size_t len, int32_t *dst, long cap) {
    nndata_src s;
    if (nndata_mem(&s, buf, len, 0) != NN_OK || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nndata_idx_read(&s, NULL, dst, NULL, cap, 1.0f);
}

long nndata_idx_read_u8_mem(const void *buf, size_t len, unsigned char *dst, long cap) {
    nndata_src s;
    if (nndata_mem(&s, buf, len, 0) != NN_OK || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nndata_idx_read(&s, NULL, NULL, dst, cap, 1.0f);
}

/* ---- CSV. source = [ BOM ] line { line }     (BOM: the UTF-8 bytes EF BB BF)
 *          line   = field { ',' field } ( LF | CR | CR LF | EOF )
 *          field  = blanks [ text ] blanks     (blanks: ' ' '\t')
 * A line of blanks only is skipped. A field parses when strtof consumes all
 * of it (NUL bytes included); it is a number when it parses to a finite
 * float ("nan", "inf", 1e39 parse but are not data). The first other line is
 * a header when none of its fields parses; otherwise it is data, like every
 * line after it: all numbers, with the column count of the first line. */
static int nndata_csv_blank(int c) {
    return c == ' ' || c == '\t';
}

/* Skips a UTF-8 byte-order mark at the start of s. */
static void nndata_csv_bom(nndata_src *s) {
    int c = nndata_get(s), c2, c3;
    if (c != 0xEF) {
        nndata_unget(s, c);
        return;
    }
    c2 = nndata_get(s);
    c3 = c2 == 0xBB ? nndata_get(s) : EOF;
    if (c2 == 0xBB && c3 == 0xBF)
        return;
    if (s->f) /* not a BOM: back to the start (a FILE takes back one character only) */
        (void)fseek(s->f, 0L, SEEK_SET);
    else
        s->at = 0;
}

/* One field's verdict. */
typedef struct nndata_field {
    char text[64]; /* its start, for messages */
    size_t len;    /* its length, blanks around it not counted */
    int parses;    /* strtof consumes all of it */
    float v;       /* its value when it parses */
    int end;       /* what ended it: ',', '\n' (any line end) or EOF */
} nndata_field;

/* strtof over all of s[0..len) (s[len] is not part of a number). */
static int nndata_csv_parse(const char *s, size_t len, float *v) {
    char *e;
    if (len == 0)
        return 0;
    *v = strtof(s, &e);
    return e == s + len;
}

/* Reads one field into fd; a CR or CR LF is taken as '\n'. */
static void nndata_csv_field(nndata_src *s, nndata_field *fd) {
    char buf[NNDATA_FIELD];
    size_t len = 0, start = 0, last = 0;
    int c, too_long = 0, seen = 0;
    while ((c = nndata_get(s)) != EOF && c != ',' && c != '\n' && c != '\r') {
        if (!seen && nndata_csv_blank(c))
            continue;
        if (!seen && !s->f)
            start = s->at - 1;
        seen = 1;
        if (s->f) {
            if (len + 1 < sizeof buf)
                buf[len] = (char)c;
            else
                too_long = 1;
        }
        len++;
        if (!nndata_csv_blank(c))
            last = len;
    }
    if (c == '\r') {
        int next = nndata_get(s);
        if (next != '\n')
            nndata_unget(s, next);
        c = '\n';
    }
    fd->end = c;
    fd->len = len = last; /* trailing blanks off */
    if (s->f) {
        size_t kept = len < sizeof buf ? len : sizeof buf - 1;
        buf[kept] = '\0';
        memcpy(fd->text, buf, kept < sizeof fd->text ? kept + 1 : sizeof fd->text);
        fd->parses = !too_long && nndata_csv_parse(buf, len, &fd->v);
    } else {
        size_t kept = len < sizeof fd->text ? len : sizeof fd->text - 1;
        memcpy(fd->text, s->p + start, kept);
        fd->text[kept] = '\0';
        fd->parses = nndata_csv_parse(s->p + start, len, &fd->v);
    }
    fd->text[sizeof fd->text - 1] = '\0';
}

/* One line. */
typedef struct nndata_line {
    int cols;    /* its fields (0: a blank line) */
    int parsed;  /* fields that parse */
    int numbers; /* fields that are numbers (parse, finite) */
    int bad;     /* the first field that is not a number, 1-based (0: none) */
    char bad_text[64];
} nndata_line;

/* Reads one line; values go to dst[0..room). Returns 0 at the end, 1 after
 * a line, NN_ERR_IO. */
static int nndata_csv_line(nndata_src *s, float *dst, long room, nndata_line *ln) {
    nndata_field fd;
    int c;
    if ((c = nndata_get(s)) == EOF)
        return nndata_failed(s) ? NN_ERR_IO : 0;
    nndata_unget(s, c);
    memset(ln, 0, sizeof *ln);
    do {
        nndata_csv_field(s, &fd);
        if (ln->cols == 0 && fd.len == 0 && fd.end != ',')
            break; /* a blank line */
        if (fd.parses && isfinite(fd.v)) {
            if (ln->cols < room)
                dst[ln->cols] = fd.v;
            ln->numbers++;
        } else if (!ln->bad) {
            ln->bad = ln->cols + 1;
            memcpy(ln->bad_text, fd.text, sizeof fd.text);
        }
        ln->parsed += fd.parses;
        ln->cols++;
    } while (fd.end == ',');
    return nndata_failed(s) ? NN_ERR_IO : 1;
}

/* Walks s: counts data rows, stores values into dst until cap values were
 * stored (then stops). When why is given, the first malformed line's
 * 1-based number goes to *bad_line and what is wrong to why (cap bytes).
 * Returns the values stored or a status. */
static long nndata_csv_walk(nndata_src *s, float *dst, long cap, long *rows, int *cols, int *has_header, long *bad_line,
                            char *why, size_t why_cap) {
    nndata_line ln;
    long got = 0, nrows = 0, lines = 0, line = 0;
    int st = 0, ncols = 0, header = 0;
    nndata_csv_bom(s);
    while ((!dst || got < cap) && (st = nndata_csv_line(s, dst ? dst + got : NULL, cap - got, &ln)) == 1) {
        line++;
        if (ln.cols == 0)
            continue;
        if (lines++ == 0 && ln.parsed == 0) {
            header = 1;
        } else if (ln.numbers != ln.cols) {
            if (why)
                snprintf(why, why_cap, "field %d, '%.40s', is not a number%s", ln.bad, ln.bad_text,
                         lines == 1 ? " (and the line is no header: a header holds no number)" : "");
            st = NN_ERR_FORMAT;
            break;
        } else if (ncols != 0 && ln.cols != ncols) {
            if (why)
                snprintf(why, why_cap, "%d field%s where the first line has %d", ln.cols, ln.cols == 1 ? "" : "s",
                         ncols);
            st = NN_ERR_FORMAT;
            break;
        } else {
            nrows++;
            got += ln.cols < cap - got ? ln.cols : cap - got;
        }
        ncols = ln.cols;
    }
    if (bad_line)
        *bad_line = st == NN_ERR_FORMAT ? line : 0;
    if (st < 0)
        return st;
    *rows = nrows;
    *cols = ncols;
    *has_header = header;
    return got;
}

/* Opens path as a CSV source, walks it, closes it. */
static long nndata_csv_walk_path(const char *path, float *dst, long cap, long *rows, int *cols, int *has_header,
                                 long *bad_line, char *why, size_t why_cap) {
    nndata_src s = {NULL, NULL, 0, 0};
    long got;
    if (!(s.f = fopen(path, "rb")))
        return NN_ERR_IO;
    got = nndata_csv_walk(&s, dst, cap, rows, cols, has_header, bad_line, why, why_cap);
    fclose(s.f);
    return got;
}

int nndata_csv_info(const char *path, long *rows, int *cols, int *has_header) {
    long st;
    if (!path || !rows || !cols || !has_header)
        return NN_ERR_ARG;
    st = nndata_csv_walk_path(path, NULL, 0, rows, cols, has_header, NULL, NULL, 0);
    return st < 0 ? (int)st : NN_OK;
}

/* Values of the data rows, row-major; stops after cap values (rows past
 * that point are not read, so not checked). */
long nndata_csv_read(const char *path, float *dst, long cap) {
    long rows;
    int cols, has_header;
    if (!path || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nndata_csv_walk_path(path, dst, cap, &rows, &cols, &has_header, NULL, NULL, 0);
}

long nndata_csv_find_error(const char *path, char *why, size_t cap) {
    long rows, line = 0, st;
    int cols, has_header;
    if (!path || !why || cap == 0)
        return NN_ERR_ARG;
    why[0] = '\0';
    st = nndata_csv_walk_path(path, NULL, 0, &rows, &cols, &has_header, &line, why, cap);
    return st < 0 && st != NN_ERR_FORMAT ? st : line;
}

int nndata_csv_info_mem(const char *text, size_t len, long *rows, int *cols, int *has_header) {
    nndata_src s;
    long st;
    if (!rows || !cols || !has_header || nndata_mem(&s, text, len, 1) != NN_OK)
        return NN_ERR_ARG;
    st = nndata_csv_walk(&s, NULL, 0, rows, cols, has_header, NULL, NULL, 0);
    return st < 0 ? (int)st : NN_OK;
}

long nndata_csv_read_mem(const char *text, size_t len, float *dst, long cap) {
    nndata_src s;
    long rows;
    int cols, has_header;
    if (cap < 0 || (cap > 0 && !dst) || nndata_mem(&s, text, len, 1) != NN_OK)
        return NN_ERR_ARG;
    return nndata_csv_walk(&s, dst, cap, &rows, &cols, &has_header, NULL, NULL, 0);
}

long nndata_csv_find_error_mem(const char *text, size_t len, char *why, size_t cap) {
    nndata_src s;
    long rows, line = 0, st;
    int cols, has_header;
    if (!why || cap == 0 || nndata_mem(&s, text, len, 1) != NN_OK)
        return NN_ERR_ARG;
    why[0] = '\0';
    st = nndata_csv_walk(&s, NULL, 0, &rows, &cols, &has_header, &line, why, cap);
    return st < 0 && st != NN_ERR_FORMAT ? st : line;
}
