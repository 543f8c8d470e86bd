/*
 * internal.h - what the parts of the runtime share: the feature macros and
 * includes, the bit tools, the private functions one part defines for
 * another, and the invariants every part keeps.
 *
 * The runtime behind nn_runtime.h is built from these parts (runtime/src/):
 *   core.c     status strings, the PRNG and normal deviates, initializers,
 *              the finiteness check, zeroing
 *   libm.c     the freestanding maths replacements (and the logarithm the
 *              PRNG's normal deviates use)
 *   gemm.c     the GEMM kernels: unpacked loops, and packed / blocked with a
 *              caller's workspace
 *   conv.c     convolution (im2col + GEMM) and pooling
 *   weights.c  CRC-32 and the weight image: size, export, import, and the
 *              byte streams that files.c drives too
 *   files.c    hosted only: weight files on disk (atomic save, validating load)
 *   threads.c  hosted NNRT_THREADS builds only (nngen train's trainer): the
 *              worker pool of the threaded GEMM and convolutions
 * libnnrt compiles each part on its own. cmake/amalgamate.cmake pastes this
 * header and the parts, in that order, into one nn_runtime.c in the build
 * tree (its `#include "internal.h"` lines dropped): the file `nngen
 * --standalone` pastes into generated code, and that the firmware and
 * amalgamation tests compile. The data loaders of the tools are not part of
 * the runtime: runtime/data/nn_data.c.
 *
 * Invariants:
 *   - no malloc, no file-scope mutable state, no rand() (threads.c, compiled
 *     only with NNRT_THREADS for nngen train's trainer, is the one
 *     exception: its worker pool): all state lives in
 *     caller-owned structs or on the stack (at most ~1 KiB per call outside
 *     files.c, ~8 KiB in nnrt_save / nnrt_load);
 *   - outside files.c (all of it inside `#ifndef NN_FREESTANDING`) no libc is
 *     used, only <math.h>'s sqrtf (correctly rounded by IEEE 754), and expf
 *     and logf in the libm replacements nnrt_expm1f and nnrt_log1pf; no call
 *     of memset or memcpy either (compilers turn some loops into them: see
 *     the fences);
 *   - every definition of nn_runtime.h's functions starts with NNRT_API
 *     (external linkage in the library, `static inline` when `nngen
 *     --standalone` pastes the runtime after the header); functions one part
 *     defines for another start with NNRT_PRIVATE (declared below); every
 *     other helper is plain `static inline`, local to its part;
 *   - the PRNG, normal deviates and initializers give bit-identical results
 *     on every platform with IEEE-754 binary32/binary64 arithmetic: integers,
 *     exact operations, one rounding per operation (nnrt_fence_* below stop
 *     FMA contraction and excess precision) and the runtime's own logarithm;
 *   - weight images are little-endian byte by byte, whatever the host;
 *   - ASCII and C99 only (cmake/amalgamate.cmake checks the bytes; the
 *     runtime.amalgamation tests compile the result with gcc and clang,
 *     hosted and freestanding, -Wall -Wextra -Wpedantic -Werror).
 */
#ifndef NNRT_INTERNAL_H
#define NNRT_INTERNAL_H

#if !defined(_POSIX_C_SOURCE) && !defined(NN_FREESTANDING)
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef NN_RUNTIME_H
#include "nn_runtime.h"
#endif
#include <math.h>

/* Functions one part defines for another: external linkage between the
 * parts of libnnrt, which are compiled one by one; the amalgamation, one
 * translation unit, defines NNRT_PRIVATE as `static inline` before this
 * header, so that nothing of them leaves it. */
#ifndef NNRT_PRIVATE
#define NNRT_PRIVATE
#endif

/* LONG_MAX without <limits.h>: freestanding output includes <stdint.h>,
 * <stddef.h> and <math.h> only. */
#define NNRT_LONG_MAX ((long)(~0UL >> 1))

/* ------------------------------------------------------------- bit tools */
/* Type punning through a union is defined in C99 (TC3, 6.5.2.3 note 82). */
static inline uint32_t nnrt_f2u(float f) {
    union {
        float f;
        uint32_t u;
    } c;
    c.f = f;
    return c.u;
}

static inline float nnrt_u2f(uint32_t u) {
    union {
        float f;
        uint32_t u;
    } c;
    c.u = u;
    return c.f;
}

/* A value forced through memory: the compiler can neither fuse the product
 * that produced it into an FMA (gcc contracts across statements outside
 * strict ISO modes, clang within expressions) nor keep excess precision. */
static inline double nnrt_fence_d(double x) {
    volatile double v = x;
    return v;
}

static inline float nnrt_fence_f(float x) {
    volatile float v = x;
    return v;
}

/* ------------------------------------------- the kernels' arithmetic (gemm.c, conv.c) */
/* The Cortex-M4F (and -M7): ARMv7E-M with the single-precision FPU of VFPv4 (gcc and clang define
 * __ARM_ARCH_7EM__, __thumb2__, __ARM_FP with bit 2, __ARM_FEATURE_FMA for
 * -mcpu=cortex-m4 -mfpu=fpv4-sp-d16): a single-issue core without vectors,
 * with 32 single-precision registers and a fused multiply-add instruction
 * (VFMA), whose C library does not announce FP_FAST_FMAF. gemm.c's
 * kernels, written for vector units, keep their sums in memory there (a load,
 * a multiply, an add and a store per multiply-add). NNRT_M4 selects, at
 * compile time, kernels that keep a block of C in registers instead: each
 * loaded value of B (or A) serves several sums, and one VFMA makes each
 * multiply-add. The sums are fused (rounded once), as on the host when the
 * target has FMA; their order differs from the host's kernels (the device
 * agrees with the host within 1e-5, tests/firmware). */
#if defined(__GNUC__) && defined(__ARM_ARCH_7EM__) && defined(__thumb2__) && defined(__ARM_FEATURE_FMA) &&             \
    defined(__ARM_FP) && (__ARM_FP & 4)
#define NNRT_M4 1
#if defined(__clang__) && !defined(__NO_MATH_ERRNO__)
/* clang (14) calls fmaf for __builtin_fmaf here unless -fno-math-errno
 * (fmaf may set errno), and does not contract a product and a sum on the
 * M4: a VMUL and a VADD then, no libm call */
#define NNRT_M4_MADD(acc, a, b) ((acc) + (a) * (b))
#else
#define NNRT_M4_MADD(acc, a, b) __builtin_fmaf((a), (b), (acc)) /* gcc: VFMA, even with -ffreestanding */
#endif
#else
#define NNRT_M4 0
#endif

/* acc + a b. Strict ISO C modes (-std=c99) make gcc keep products and sums
 * apart (-ffp-contract=off); where the target has a fused multiply-add
 * (C99's FP_FAST_FMAF), fmaf is one instruction and gcc vectorizes it, which
 * doubles the kernels' throughput. Elsewhere fmaf would be a slow library
 * call: a product and a sum then. */
#if defined(FP_FAST_FMAF) && defined(__GNUC__)
#define NNRT_MADD(acc, a, b) __builtin_fmaf((a), (b), (acc)) /* an instruction even with -ffreestanding */
#elif defined(FP_FAST_FMAF)
#define NNRT_MADD(acc, a, b) fmaf((a), (b), (acc))
#else
#define NNRT_MADD(acc, a, b) ((acc) + (a) * (b))
#endif

/* a function gcc and clang keep out of line (a fixed-size kernel that no
 * longer vectorizes inside its caller's loop nest) */
#if defined(__GNUC__)
#define NNRT_NOINLINE __attribute__((noinline))
#else
#define NNRT_NOINLINE
#endif

/* NNRT_UNROLL(n): the loop that follows unrolled n times, which for a loop
 * of at most n iterations means completely, at every -O level (gcc 8+ and
 * clang read `#pragma GCC unroll`). A register tile such as `float
 * t[6][32]` stays in registers only when every loop over it is unrolled:
 * -O3 does that by itself, but -O2 unrolls no loop that grows the code, and
 * the tile then lives in memory (a load, an FMA and a store per 16 sums).
 * With it the GEMM's micro-kernel and the direct convolution tiles compile
 * at -O2 to the code of -O3. n is a literal. The Cortex-M4F's kernels
 * (NNRT_M4) were tuned and counted without it, and keep their code. */
#if !NNRT_M4 && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8))
#define NNRT_PRAGMA(text) _Pragma(#text)
#define NNRT_UNROLL(n) NNRT_PRAGMA(GCC unroll n)
#else
#define NNRT_UNROLL(n)
#endif

/* Length of s, at most UINT32_MAX (what a u32 length field can hold). The
 * bound also keeps gcc from replacing the loop by a call to strlen. */
static inline size_t nnrt_strlen(const char *s) {
    size_t n = 0;
    while (n < 0xffffffffu && s[n] != '\0')
        n++;
    return n;
}

/* --------------------------------------------------------- threads.c */
/* NNRT_MT: the threaded kernels, in hosted builds with NNRT_THREADS defined
 * (nngen train's trainer defines it and links -pthread); 0 everywhere else,
 * where no line of them is compiled. */
#if defined(NNRT_THREADS) && !defined(NN_FREESTANDING)
#define NNRT_MT 1
#else
#define NNRT_MT 0
#endif

#if NNRT_MT
enum { NNRT_MT_MAX = 64 /* threads at most */ };
#ifndef NNRT_MT_FLOPS /* multiply-adds below which a kernel runs alone (docs/performance.md: 2^22 measured) */
#define NNRT_MT_FLOPS (1 << 22)
#endif
/* one part of a job: part (0 <= part < parts) with its own scratch */
typedef void (*nnrt_mt_fn)(void *ctx, int part, int parts, float *work);
/* the thread count of the next jobs, 1 to NNRT_MT_MAX (before the first) */
NNRT_PRIVATE void nnrt_mt_set_threads(int n);
/* the thread count a kernel may use now: 1 inside a job */
NNRT_PRIVATE int nnrt_mt_threads(void);
/* the job running (on any thread), NULL outside one */
NNRT_PRIVATE nnrt_mt_fn nnrt_mt_job(void);
/* scratch of `floats` for every worker's part; 0 when it cannot be had */
NNRT_PRIVATE int nnrt_mt_reserve(long floats);
/* runs fn's parts 0..parts-1 (any number of them), claimed one at a time
 * by this thread (with work0) and the workers, and returns after the
 * last; parts, or 0 when the job could not be started (the caller then
 * runs it alone) */
NNRT_PRIVATE int nnrt_mt_run(nnrt_mt_fn fn, void *ctx, int parts, float *work0);
#endif

/* ------------------------------------------------------------ libm.c */
/* ln x for finite x > 0, with +, -, *, / only: the same bits on every
 * platform (nnrt_pow, and nnrt_rng_normal in core.c). */
NNRT_PRIVATE double nnrt_log(double x);

/* --------------------------------------------------------- weights.c */
/* The byte streams of the weight image. nnrt_export / nnrt_import run them
 * over a caller's buffer; nnrt_save / nnrt_load (files.c) over a file,
 * through flush / refill. */

/* ---- writing: bytes go through a staging buffer; flush (hosted) empties it
 * into a file, without flush the buffer is the whole destination. */
typedef struct nnrt_out {
    unsigned char *buf;
    size_t cap, len;
    uint32_t crc;                     /* CRC-32 of every byte put so far */
    int (*flush)(struct nnrt_out *w); /* writes buf[0..len), sets len = 0 */
    int fd;
    int status; /* the first error, sticky */
} nnrt_out;

NNRT_PRIVATE void nnrt_out_init(nnrt_out *w, void *buf, size_t cap, int (*flush)(nnrt_out *), int fd);
/* The whole image (docs/c-api.md "Weight file"), ending with the CRC-32 of every
 * byte before it; flushed at the end when w has a flush. The first error. */
NNRT_PRIVATE int nnrt_out_image(nnrt_out *w, const char *net, const nn_param *params, int np, const nn_param *bufs,
                                int nb);

/* ---- reading: a chunk of bytes at a time; refill (hosted) loads the next
 * chunk of a file, without refill the first chunk is the whole image. */
typedef struct nnrt_in {
    const unsigned char *p;
    size_t n, pos;                    /* chunk length, position in it */
    uint32_t crc;                     /* CRC-32 of every byte consumed */
    int (*refill)(struct nnrt_in *r); /* NN_OK, NN_ERR_TRUNCATED at the end, NN_ERR_IO */
    void *file;                       /* a FILE * */
    unsigned char *store;
    size_t cap;
} nnrt_in;

NNRT_PRIVATE void nnrt_in_init(nnrt_in *r, const void *p, size_t n, int (*refill)(nnrt_in *), void *file,
                               unsigned char *store, size_t cap);
/* Walks a whole image; the order of the checks (weights.c) decides which
 * status wins. With store, matching tensors are filled: only ever called
 * after a walk without store returned NN_OK. */
NNRT_PRIVATE int nnrt_in_image(nnrt_in *r, const char *net, const nn_param *params, int np, const nn_param *bufs,
                               int nb, int store);
/* weights.c: whether ps[0..n) are well-formed tensor descriptions. */
NNRT_PRIVATE int nnrt_group_ok(const nn_param *ps, int n);
/* weights.c: the same, but a NULL value (a tensor reading skips) is allowed. */
NNRT_PRIVATE int nnrt_group_readable(const nn_param *ps, int n);
/* weights.c: one walk over a weight image of any network, copying (when
 * store) every tensor that matches one of ts by name, rank and dims. */
NNRT_PRIVATE int nnrt_in_pretrained(nnrt_in *r, const nn_param *ts, int nt, int store, int *copied);

#endif
