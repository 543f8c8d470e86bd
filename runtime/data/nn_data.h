/*
 * nn_data.h - the IDX and CSV data loaders of nngen's tools and examples:
 * `nngen train` / `nngen predict` (their trainer pastes this header and
 * nn_data.c after the network), the example drivers (examples/train.c,
 * examples/optimizers) and the tests. CMake: the library nn_data.
 *
 * Hosted C99 (stdio), allocation-free: the caller owns every buffer. Not
 * part of the runtime that generated code links against or pastes
 * (nn_runtime.h): a network never reads data files itself. Errors are the
 * runtime's status codes (nn_status: NN_ERR_IO, NN_ERR_FORMAT,
 * NN_ERR_TRUNCATED, NN_ERR_ARG; nnrt_strerror says them in words).
 */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#ifndef NN_PARAM_DEFINED
#include "nn_runtime.h" /* nn_status (a --standalone net.h defines it itself) */
#endif

/* IDX files (MNIST's format): big-endian header, magic 0x00000800 | type << 8
 * | rank. Only type 0x08 (unsigned byte) is read. */
typedef struct nndata_idx_info {
    int rank;
    long dims[4];
    long count;       /* dims[0] */
    long item_size;   /* product of dims[1..] (1 for labels) */
    long data_offset; /* bytes before the first element (4 + 4 rank); the file ends with the last one */
} nndata_idx_info;

/* 0, NN_ERR_IO, NN_ERR_FORMAT (bad magic, another type, rank 0 or > 4, a
 * dim >= 2^31, bytes after the data) or NN_ERR_TRUNCATED (shorter than the
 * header claims). info is written only on success. */
int nndata_idx_open(const char *path, nndata_idx_info *info);
/* Reads up to cap elements as floats, value = byte * scale. Returns elements
 * read, or a negative status (nndata_idx_open's checks; NN_ERR_IO). */
long nndata_idx_read_f32(const char *path, float *dst, long cap, float scale);
/* Reads up to cap elements as int32 (labels). Returns elements read, or a
 * negative status. */
long nndata_idx_read_i32(const char *path, int32_t *dst, long cap);
/* Reads up to cap elements as they are stored, bytes (a quarter of the
 * memory of floats: a trainer can keep a data set so and convert a batch at
 * a time). Returns elements read, or a negative status. */
long nndata_idx_read_u8(const char *path, unsigned char *dst, long cap);

/* CSV: comma-separated numbers, one row per line. Line ends are LF, CR or
 * CR LF; a UTF-8 byte-order mark at the start is skipped; blank lines are
 * skipped; blanks (spaces, tabs) around fields are allowed. The first line is
 * a header, and skipped, only when none of its fields parses as a number
 * (strtof takes all of it); a first line with some numbers is data, and an
 * error if any of its fields is not one ("0.5,O.3,1", "nan,1,0"). Every data
 * field must be a finite float; fields read from a file are at most 319
 * characters (a buffer's, below, any length). nndata_csv_info returns 0,
 * NN_ERR_IO, or NN_ERR_FORMAT for a malformed line (as nndata_csv_read). */
int nndata_csv_info(const char *path, long *rows, int *cols, int *has_header);
/* Reads up to cap values row-major. Returns values read, or a negative status
 * on a malformed line (a row with another column count, a non-number: NaN,
 * infinity, out of float range or with a NUL byte in it). Lines
 * after the cap-th value are not read. */
long nndata_csv_read(const char *path, float *dst, long cap);
/* The first malformed line's 1-based number (LF, CR and CR LF each end one),
 * what is wrong with it in why (cap bytes: "field 2, 'x', is not a number",
 * "2 fields where the first line has 3"); 0 when there is none, or a
 * negative status. */
long nndata_csv_find_error(const char *path, char *why, size_t cap);

/* The same readers over bytes the caller read once (a pipe or a FIFO cannot
 * be read twice): buf[0..len). CSV text must be followed by a NUL byte
 * (text[len] == '\0', not part of the data; NN_ERR_ARG otherwise). */
int nndata_idx_open_mem(const void *buf, size_t len, nndata_idx_info *info);
long nndata_idx_read_f32_mem(const void *buf, size_t len, float *dst, long cap, float scale);
long nndata_idx_read_i32_mem(const void *buf, size_t len, int32_t *dst, long cap);
long nndata_idx_read_u8_mem(const void *buf, size_t len, unsigned char *dst, long cap);
int nndata_csv_info_mem(const char *text, size_t len, long *rows, int *cols, int *has_header);
long nndata_csv_read_mem(const char *text, size_t len, float *dst, long cap);
long nndata_csv_find_error_mem(const char *text, size_t len, char *why, size_t cap);

#endif
