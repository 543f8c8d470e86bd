/*
 * nn_runtime.h - the small runtime that nngen's generated code links against.
 *
 * Everything here is C99, allocation-free and has no global mutable state.
 * Three parts:
 *   - always: nn_param / nn_status, the PRNG, initializers, the GEMM kernel,
 *     finiteness checks, CRC-32 and weight (de)serialization to caller buffers;
 *   - hosted only (absent when NN_FREESTANDING is defined): weight files on
 *     disk (atomic save, validating load) and the IDX / CSV data loaders.
 *
 * `nngen --standalone` pastes this header and nn_runtime.c into the generated
 * source with NNRT_API defined as `static inline`, so that the output needs
 * nothing but libm and several networks can be linked into one program.
 */
#ifndef NN_RUNTIME_H
#define NN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifndef NNRT_API
#define NNRT_API /* external linkage; `static inline` when inlined */
#endif

#ifndef NN_PARAM_DEFINED
#define NN_PARAM_DEFINED
/* One parameter (or buffer) tensor of a generated network. */
typedef struct nn_param {
    const char *name; /* "W1", "fc1.weight", ... as in LANGUAGE.md */
    int rank;
    int dims[4];      /* stored shape */
    long size;        /* element count */
    float *value;     /* the parameter */
    float *grad;      /* its gradient after the last backward (NULL with --infer-only) */
} nn_param;

/* Status codes: 0 is success, errors are negative. */
typedef enum nn_status {
    NN_OK = 0,
    NN_ERR_IO = -1,        /* the file could not be opened, read, written or renamed */
    NN_ERR_FORMAT = -2,    /* not a weight file (bad magic) or malformed structure */
    NN_ERR_VERSION = -3,   /* a weight file of another format version */
    NN_ERR_NETWORK = -4,   /* written by another network (name differs) */
    NN_ERR_SHAPE = -5,     /* tensor count, names, ranks or dims differ */
    NN_ERR_CHECKSUM = -6,  /* CRC-32 mismatch: the file is damaged */
    NN_ERR_TRUNCATED = -7, /* the data ends early */
    NN_ERR_CAPACITY = -8,  /* the caller's buffer is too small */
    NN_ERR_ARG = -9        /* an invalid argument (NULL pointer, bad size) */
} nn_status;
#endif

/* A human-readable sentence for a status code (never NULL). */
NNRT_API const char *nnrt_strerror(int status);

/* ------------------------------------------------------------------ PRNG */
/* PCG32 (O'Neill, pcg_setseq_64_xsh_rr_32): 64-bit state, 64-bit stream
 * selector, 32-bit output. Seeding: state = 0, inc = (stream << 1) | 1,
 * step, state += seed, step (the reference pcg32_srandom_r). The same seed and
 * stream give the same numbers on every platform. */
typedef struct nnrt_rng {
    uint64_t state;
    uint64_t inc;
} nnrt_rng;

NNRT_API void nnrt_rng_seed(nnrt_rng *r, uint64_t seed, uint64_t stream);
NNRT_API uint32_t nnrt_rng_u32(nnrt_rng *r);
/* Uniform in [0, 1): the top 24 bits of one u32, times 2^-24 (exact in float). */
NNRT_API float nnrt_rng_uniform(nnrt_rng *r);
/* Standard normal, Marsaglia's polar method in double precision with the
 * runtime's own logarithm (so no libm result can differ between platforms);
 * the second value of each pair is kept in no state: each call draws afresh. */
NNRT_API float nnrt_rng_normal(nnrt_rng *r);

/* ----------------------------------------------------------- initializers */
/* fan_in / fan_out as LANGUAGE.md computes them (the compiler passes them). */
NNRT_API void nnrt_init_fill(float *w, long n, float v);
NNRT_API void nnrt_init_uniform(nnrt_rng *r, float *w, long n, float a, float b);   /* a + (b-a)*u */
NNRT_API void nnrt_init_normal(nnrt_rng *r, float *w, long n, float mean, float std);
/* U(-s, s), s = sqrt(6 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_uniform(nnrt_rng *r, float *w, long n, long fan_in, long fan_out);
/* N(0, s), s = sqrt(2 / (fan_in + fan_out)) */
NNRT_API void nnrt_init_xavier_normal(nnrt_rng *r, float *w, long n, long fan_in, long fan_out);
/* U(-s, s), s = sqrt(2) * sqrt(3 / fan_in) = sqrt(6 / fan_in) */
NNRT_API void nnrt_init_he_uniform(nnrt_rng *r, float *w, long n, long fan_in);
/* N(0, s), s = sqrt(2 / fan_in) */
NNRT_API void nnrt_init_he_normal(nnrt_rng *r, float *w, long n, long fan_in);

/* ------------------------------------------------- libm replacements */
/* `nngen --freestanding` output may call four libm functions only: expf,
 * logf, tanhf and sqrtf. Every other maths function generated code would
 * call is routed here instead (the table is compiler/emit_c.c's), computed
 * with +, -, *, / and those four. Accuracy against a correctly rounded
 * result: nnrt_sqrt exact (correctly rounded, as IEEE 754 requires of
 * sqrt); nnrt_exp, nnrt_pow within a few ulps of double; the float
 * functions within 2 ulps (nnrt_erff and nnrt_powf are evaluated in double
 * precision: slow where double is emulated in software, e.g. Cortex-M4). */
NNRT_API float nnrt_fabsf(float x);            /* |x|: the sign bit cleared */
NNRT_API float nnrt_fmaxf(float a, float b);   /* C99 fmaxf: a NaN loses to a number */
NNRT_API float nnrt_fminf(float a, float b);   /* C99 fminf */
NNRT_API float nnrt_expm1f(float x);           /* e^x - 1, accurate near 0 */
NNRT_API float nnrt_log1pf(float x);           /* ln(1 + x), accurate near 0 */
NNRT_API float nnrt_erff(float x);             /* the error function */
NNRT_API float nnrt_powf(float x, float y);    /* x^y, C99's special cases */
NNRT_API double nnrt_sqrt(double x);           /* correctly rounded square root */
NNRT_API double nnrt_exp(double x);            /* e^x */
NNRT_API double nnrt_pow(double x, double y);  /* x^y, C99's special cases */
/* Zeroes n bytes through a volatile pointer: never turned into a call of
 * memset, which a freestanding program need not have. */
NNRT_API void nnrt_zero_bytes(void *p, size_t n);

/* ---------------------------------------------------------------- kernels */
/* C = alpha * op(A) * op(B) + beta * C, row-major, single precision.
 * op(A) is M x K: A is M x K with leading dimension lda, or K x M when ta.
 * op(B) is K x N: B is K x N (ldb), or N x K when tb. C is M x N (ldc).
 * beta == 0 ignores C's old contents (NaN included); alpha == 0 or K == 0
 * reads neither A nor B. Impossible sizes (M, N or K negative, a leading
 * dimension below its row length) leave C untouched. */
NNRT_API void nnrt_sgemm(int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc);
/* 1 when every x[i] is finite. */
NNRT_API int nnrt_all_finite(const float *x, long n);

/* --------------------------------------------------------- weight format */
/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) continuing from crc; as
 * zlib's crc32(crc, data, n): start with 0. */
NNRT_API uint32_t nnrt_crc32(uint32_t crc, const void *data, size_t n);
/* Bytes of the weight file (C-API.md layout) for these tensors; 0 when they
 * cannot be described (NULL name, rank outside 0..4, size != product of dims,
 * NULL value with size > 0, negative count). */
NNRT_API size_t nnrt_weights_size(const char *net, const nn_param *params, int np,
                                  const nn_param *bufs, int nb);
/* Writes the weight file into buf; returns the byte count, NN_ERR_CAPACITY
 * (buf untouched) or NN_ERR_ARG. */
NNRT_API long nnrt_export(const char *net, const nn_param *params, int np,
                          const nn_param *bufs, int nb, void *buf, size_t cap);
/* Validates the whole image (magic, version, network name, tensor count,
 * names, ranks, dims, length, CRC) and only then copies the values into
 * params[i].value / bufs[i].value: on any error nothing is written.
 * When several errors apply: FORMAT (magic), VERSION, then the structure is
 * walked with the file's own lengths: TRUNCATED (ends early), FORMAT (bytes
 * after the CRC), CHECKSUM, and only for an intact image NETWORK, SHAPE.
 * So damage reports CHECKSUM even where it hits a name. */
NNRT_API int nnrt_import(const char *net, nn_param *params, int np, nn_param *bufs,
                         int nb, const void *buf, size_t len);

#ifndef NN_FREESTANDING
/* ------------------------------------------------------ hosted: files */
/* Atomic save: writes "<path>.tmp", flushes, fsyncs, renames over path;
 * on any failure the old file is untouched and the temporary removed. */
NNRT_API int nnrt_save(const char *path, const char *net, const nn_param *params,
                       int np, const nn_param *bufs, int nb);
/* Reads and validates the whole file (as nnrt_import, streaming, no
 * allocation) before it writes any tensor, then reads it again into the
 * tensors, checking the CRC once more. */
NNRT_API int nnrt_load(const char *path, const char *net, nn_param *params, int np,
                       nn_param *bufs, int nb);

/* IDX files (MNIST's format): big-endian header, magic 0x00000800 | type << 8
 * | rank. Only type 0x08 (unsigned byte) is read. */
typedef struct nnrt_idx_info {
    int rank;
    long dims[4];
    long count;      /* dims[0] */
    long item_size;  /* product of dims[1..] (1 for labels) */
} nnrt_idx_info;

/* 0, NN_ERR_IO, NN_ERR_FORMAT (bad magic, another type, rank 0 or > 4, a
 * dim >= 2^31, bytes after the data) or NN_ERR_TRUNCATED (shorter than the
 * header claims). info is written only on success. */
NNRT_API int nnrt_idx_open(const char *path, nnrt_idx_info *info);
/* Reads up to cap elements as floats, value = byte * scale. Returns elements
 * read, or a negative status (nnrt_idx_open's checks; NN_ERR_IO). */
NNRT_API long nnrt_idx_read_f32(const char *path, float *dst, long cap, float scale);
/* Reads up to cap elements as int32 (labels). Returns elements read, or a
 * negative status. */
NNRT_API long nnrt_idx_read_i32(const char *path, int32_t *dst, long cap);

/* CSV: comma-separated numbers, one row per line; a first line that does not
 * parse as numbers is a header and is skipped. Blank lines are skipped; blanks
 * around fields and CRLF are allowed. nnrt_csv_info returns 0, NN_ERR_IO, or
 * NN_ERR_FORMAT for a malformed line (as nnrt_csv_read). */
NNRT_API int nnrt_csv_info(const char *path, long *rows, int *cols, int *has_header);
/* Reads up to cap values row-major. Returns values read, or a negative status
 * on a malformed line (a row with another column count, a non-number). Lines
 * after the cap-th value are not read. */
NNRT_API long nnrt_csv_read(const char *path, float *dst, long cap);
#endif

#endif
