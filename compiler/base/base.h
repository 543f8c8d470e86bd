/*
 * base.h - what every phase of the compiler stands on, and nothing else:
 *   alloc.c   the heap allocator and the one out-of-memory policy
 *   arena.c   bump allocation (one arena per compilation, freed at once) and
 *             a growable byte buffer
 *   diag.c    the one diagnostics reporter: file:line:col, the line, a caret
 *   hash.c    the one hash function (FNV-1a) and hash table (strings to ints)
 * This library calls nothing of the compiler (tests/unit links it alone).
 */
#ifndef NNGEN_BASE_H
#define NNGEN_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NNGEN_VERSION "0.1.0"

#define NN_MAX_RANK 4     /* dims of a tensor, batch dimension not counted */
#define NN_MAX_IN 4       /* inputs of one IR node */
#define NN_MAX_LINE 65536 /* bytes in one source line (the language's limit) */
#define NN_MAX_NEST 256   /* bracket depth (the language's limit) */

/* ---------------------------------------------------------------- alloc.c */
/* Out of memory, one policy for the compiler and the commands (cli/): every
 * heap allocation goes through these (or an Arena, or a Buf, which do), and
 * none returns NULL. When memory runs out they print "nngen: error: out of
 * memory (allocating N bytes)" on stderr and exit with status 2, the status
 * of I/O and resource errors: it is not the input's fault (status 1) nor a
 * bug (nn_unreachable aborts). Outputs are renamed into place when
 * complete, so the exit leaves none half-written. The generated code and
 * the runtime never allocate. Release with free(). */
void *base_xmalloc(size_t size);
void *base_xcalloc(size_t count, size_t size); /* zeroed; count * size overflowing is out of memory */
void *base_xrealloc(void *p, size_t size);
char *base_xstrdup(const char *s);
char *base_xstrndup(const char *s, size_t n); /* at most n bytes of s, then a NUL */
/* Prints the message (the size when not 0) and exits with status 2. */
void base_out_of_memory(size_t size)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/* ---------------------------------------------------------------- arena.c */
/* A bump allocator: blocks chained, everything freed by arena_free. */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
} Arena;

void *arena_alloc(Arena *a, size_t size); /* zeroed, 16-aligned; never NULL (alloc.c) */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void arena_free(Arena *a);

/* A growable byte buffer (the emitter writes into these, never to files). */
typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

void buf_putc(Buf *b, char c);
void buf_puts(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void buf_vprintf(Buf *b, const char *fmt, va_list ap);
void buf_free(Buf *b);

/* ----------------------------------------------------------------- hash.c */
/* FNV-1a over len bytes, continuing from h (start with the _INIT value). */
#define HASH_FNV32_INIT 2166136261u
#define HASH_FNV64_INIT 0xcbf29ce484222325ULL
uint32_t hash_fnv32(uint32_t h, const void *data, size_t len);
uint64_t hash_fnv64(uint64_t h, const void *data, size_t len);

/* A map from strings to ints in an arena (open addressing). Keys are not
 * copied: they must live as long as the map. */
typedef struct StrMap {
    Arena *arena;
    const char **key; /* NULL: an empty slot */
    int *value;
    int cap, count;
} StrMap;

void strmap_init(StrMap *m, Arena *a);
/* 1 and *value (when value is not NULL) if key is in the map, else 0. */
int strmap_get(const StrMap *m, const char *key, int *value);
/* Adds key -> value and returns 1; returns 0 (the map unchanged) when key is
 * there already. */
int strmap_put(StrMap *m, const char *key, int value);

/* -------------------------------------------------------------- suggest.c */
/* The candidate closest to a misspelled word ("did you mean"): one equal but
 * for case, else the closest within 1 edit (words up to 4 bytes) or 2 (longer;
 * a swap of neighbours is one edit); NULL when none is that close. */
const char *base_suggest(const char *word, const char *const *cands, int n);

/* ----------------------------------------------------------------- diag.c */
/* A source position: 1-based line and column (column counts bytes). */
typedef struct Loc {
    int line, col;
} Loc;

/* One compilation has one source file. diag_begin copies nothing: the text
 * must outlive the compilation. Errors go to the stream set by diag_begin
 * (stderr in the CLI, a memory stream in tests). */
void diag_begin(const char *file, const char *text, size_t len, FILE *out);
void diag_error(Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void diag_note(Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void diag_verror(Loc loc, const char *kind, const char *fmt, va_list ap);
int diag_count(void); /* errors so far */
const char *diag_file(void);
/* The text of source line `line` (without newline) and its length; NULL if none. */
const char *diag_line(int line, size_t *len);
/* An internal compiler bug: prints and aborts. Never for user errors. */
#define nn_unreachable(...) nn_fatal_bug(__FILE__, __LINE__, __VA_ARGS__)
void nn_fatal_bug(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 3, 4)))
#endif
    ;

#endif
