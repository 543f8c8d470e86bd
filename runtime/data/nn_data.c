/*
 * nn_data.c - the IDX and CSV loaders behind nn_data.h.
 *
 * Invariants:
 *   - hosted C99 only (stdio, strtof, isfinite): no POSIX call, no malloc,
 *     no file-scope mutable state; at most ~4 KiB of stack per call;
 *   - a file is checked whole before anything is reported: an IDX header
 *     must describe exactly the bytes that follow it, a CSV file is walked
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

enum { NNDATA_CHUNK = 4096 /* stack staging buffer of the IDX reader */ };

/* a * b, saturating at UINT64_MAX (a corrupt header's product of dims). */
static uint64_t nndata_mul_sat(uint64_t a, uint64_t b)
{
    if (b != 0 && a > UINT64_MAX / b)
        return UINT64_MAX;
    return a * b;
}

/* ---- IDX: bytes 0, 0, type, rank, then rank big-endian u32 dims, then the
 * data: exactly prod(dims) bytes for type 0x08 (unsigned byte). */
static uint32_t nndata_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Bytes from the current position of f to its end; f is left where it was. */
static long nndata_file_rest(FILE *f)
{
    long here = ftell(f), end;
    if (here < 0 || fseek(f, 0L, SEEK_END) != 0)
        return -1;
    end = ftell(f);
    if (end < 0 || fseek(f, here, SEEK_SET) != 0)
        return -1;
    return end - here;
}

/* Reads and checks the header; f is left at the data. FORMAT for a bad
 * magic, another type, rank 0 or above 4, or bytes after the data;
 * TRUNCATED when the header or the data are shorter than claimed. */
static int nndata_idx_header(FILE *f, nndata_idx_info *info)
{
    unsigned char h[4 * 5];
    uint64_t item = 1, total;
    long rest;
    int i, rank;
    if (fread(h, 1, 4, f) != 4)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    rank = h[3];
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || rank < 1 || rank > 4)
        return NN_ERR_FORMAT;
    if (fread(h + 4, 4, (size_t)rank, f) != (size_t)rank)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    if ((rest = nndata_file_rest(f)) < 0)
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
    return NN_OK;
}

int nndata_idx_open(const char *path, nndata_idx_info *info)
{
    nndata_idx_info tmp;
    FILE *f;
    int st;
    if (!path || !info)
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    st = nndata_idx_header(f, &tmp);
    fclose(f);
    if (st == NN_OK)
        *info = tmp;
    return st;
}

/* Reads up to cap data bytes of an IDX file, as floats (byte * scale) when
 * df is set, as int32 otherwise. Returns the elements read. */
static long nndata_idx_read(const char *path, float *df, int32_t *di, unsigned char *du, long cap,
                            float scale)
{
    unsigned char b[NNDATA_CHUNK];
    nndata_idx_info info;
    long n, i = 0, j;
    FILE *f;
    int st;
    if (!path || cap < 0 || (cap > 0 && !df && !di && !du))
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    if ((st = nndata_idx_header(f, &info)) != NN_OK) {
        fclose(f);
        return st;
    }
    n = info.count * info.item_size < cap ? info.count * info.item_size : cap;
    while (i < n) {
        long m = n - i < NNDATA_CHUNK ? n - i : NNDATA_CHUNK;
        if (fread(b, 1, (size_t)m, f) != (size_t)m)
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
    fclose(f);
    return i == n ? n : NN_ERR_IO; /* the size was checked: a short read is I/O */
}

long nndata_idx_read_f32(const char *path, float *dst, long cap, float scale)
{
    return nndata_idx_read(path, dst, NULL, NULL, cap, scale);
}

long nndata_idx_read_i32(const char *path, int32_t *dst, long cap)
{
    return nndata_idx_read(path, NULL, dst, NULL, cap, 1.0f);
}

long nndata_idx_read_u8(const char *path, unsigned char *dst, long cap)
{
    return nndata_idx_read(path, NULL, NULL, dst, cap, 1.0f);
}

/* ---- CSV. line   = field { ',' field } ( '\n' | EOF )
 *          field  = blanks [ number ] blanks     (blanks: ' ' '\t' '\r')
 * A line of blanks only is skipped. The first other line is a header when
 * one of its fields is not a number (strtof must consume all of it, NUL bytes
 * included, and give a finite value: "nan" and "inf" are not data); every
 * data line must be all numbers with the column count of the first line. */
static int nndata_csv_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Reads one field into buf (blanks stripped); *end gets the character that
 * ended it (',', '\n' or EOF). Returns its length, -1 when it was too long. */
static int nndata_csv_field(FILE *f, char *buf, size_t cap, int *end)
{
    size_t len = 0;
    int c, too_long = 0;
    while ((c = getc(f)) != EOF && c != ',' && c != '\n') {
        if (len == 0 && nndata_csv_blank(c))
            continue;
        if (len + 1 < cap)
            buf[len++] = (char)c;
        else
            too_long = 1;
    }
    while (len > 0 && nndata_csv_blank((unsigned char)buf[len - 1]))
        len--;
    buf[len] = '\0';
    *end = c;
    return too_long ? -1 : (int)len;
}

/* One line: *cols fields (0 for a blank line), *numeric when all are
 * numbers; values go to dst[0..room). When bad is given, *bad gets the
 * 1-based index of the first field that is not a number (0: none) and
 * bad_text (64 bytes) its text. Returns 0 at end of file, 1 after a line,
 * NN_ERR_IO. */
static int nndata_csv_line(FILE *f, float *dst, long room, int *cols, int *numeric, int *bad,
                           char *bad_text)
{
    char buf[64], *e;
    int c, end, len, n = 0;
    if ((c = getc(f)) == EOF)
        return ferror(f) ? NN_ERR_IO : 0;
    ungetc(c, f);
    *numeric = 1;
    if (bad)
        *bad = 0;
    do {
        float v;
        len = nndata_csv_field(f, buf, sizeof buf, &end);
        if (n == 0 && len == 0 && end != ',')
            break; /* a blank line */
        v = len > 0 ? strtof(buf, &e) : 0.0f;
        if (len <= 0 || e != buf + len || !isfinite(v)) { /* all of it (a NUL ends strtof early), finite */
            if (bad && *numeric) {
                *bad = n + 1;
                memcpy(bad_text, buf, sizeof buf);
            }
            *numeric = 0;
        } else if (n < room)
            dst[n] = v;
        n++;
    } while (end == ',');
    *cols = n;
    return ferror(f) ? NN_ERR_IO : 1;
}

/* Walks the file: counts data rows, and stores values into dst until cap
 * values were stored (then stops). Returns the values stored or a status. */
static long nndata_csv_walk(const char *path, float *dst, long cap, long *rows, int *cols,
                            int *has_header)
{
    long got = 0, nrows = 0, lines = 0;
    int st = 0, c, numeric, ncols = 0, header = 0;
    FILE *f;
    if (!(f = fopen(path, "r")))
        return NN_ERR_IO;
    while ((!dst || got < cap) &&
           (st = nndata_csv_line(f, dst ? dst + got : NULL, cap - got, &c, &numeric, NULL, NULL)) == 1) {
        if (c == 0)
            continue;
        if (lines++ == 0 && !numeric) {
            header = 1;
        } else if (!numeric || (ncols != 0 && c != ncols)) {
            st = NN_ERR_FORMAT;
            break;
        } else {
            nrows++;
            got += c < cap - got ? c : cap - got;
        }
        ncols = c;
    }
    fclose(f);
    if (st < 0)
        return st;
    *rows = nrows;
    *cols = ncols;
    *has_header = header;
    return got;
}

int nndata_csv_info(const char *path, long *rows, int *cols, int *has_header)
{
    long st;
    if (!path || !rows || !cols || !has_header)
        return NN_ERR_ARG;
    st = nndata_csv_walk(path, NULL, 0, rows, cols, has_header);
    return st < 0 ? (int)st : NN_OK;
}

/* Values of the data rows, row-major; stops after cap values (rows past
 * that point are not read, so not checked). */
long nndata_csv_read(const char *path, float *dst, long cap)
{
    long rows;
    int cols, has_header;
    if (!path || cap < 0 || (cap > 0 && !dst))
        return NN_ERR_ARG;
    return nndata_csv_walk(path, dst, cap, &rows, &cols, &has_header);
}

/* The first malformed line (as nndata_csv_info finds it): its 1-based line
 * number, with what is wrong in why ("field 2, 'x', is not a number", "3
 * fields where the first line has 2"); 0 when every line is well formed,
 * or a negative status. */
long nndata_csv_find_error(const char *path, char *why, size_t cap)
{
    char text[64];
    long line = 0, found = 0, lines = 0;
    int st, c, numeric, bad, ncols = 0;
    FILE *f;
    if (!path || !why || cap == 0)
        return NN_ERR_ARG;
    why[0] = '\0';
    if (!(f = fopen(path, "r")))
        return NN_ERR_IO;
    while ((st = nndata_csv_line(f, NULL, 0, &c, &numeric, &bad, text)) == 1) {
        line++;
        if (c == 0)
            continue;
        if (lines++ == 0 && !numeric) {
            ncols = c; /* the header */
            continue;
        }
        if (!numeric) {
            snprintf(why, cap, "field %d, '%.40s', is not a number", bad, text);
            found = line;
            break;
        }
        if (ncols != 0 && c != ncols) {
            snprintf(why, cap, "%d field%s where the first line has %d", c, c == 1 ? "" : "s", ncols);
            found = line;
            break;
        }
        ncols = c;
    }
    fclose(f);
    return st < 0 ? st : found;
}
