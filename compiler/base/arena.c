/*
 * arena.c - memory for one compilation: a bump allocator and a growable buffer.
 *
 * Arena: blocks are chained from Arena.head; the head block is the one being
 * bumped. Every allocation is zeroed and 16-byte aligned (the alignment is
 * computed on the address, so it does not depend on malloc's). A request
 * larger than a quarter block gets a block of its own, linked behind the head
 * so the head keeps serving small requests. arena_free releases everything.
 *
 * Buf: data is NULL until the first write, then always NUL-terminated
 * (cap > len). buf_free returns it to the empty state.
 *
 * Memory comes from alloc.c, whose policy applies: running out prints one
 * line and exits with status 2.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)
#define ARENA_ALIGN 16

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, cap; /* bytes of data[] in use / available */
    unsigned char data[];
};

/* A zeroed block with room for `cap` bytes plus the alignment slack. */
static ArenaBlock *arena_block(size_t cap) {
    if (cap > (size_t)-1 - sizeof(ArenaBlock) - ARENA_ALIGN)
        base_out_of_memory((size_t)-1);
    ArenaBlock *b = base_xcalloc(1, sizeof(ArenaBlock) + cap + ARENA_ALIGN);
    b->cap = cap + ARENA_ALIGN;
    return b;
}

/* The aligned address for `size` bytes in b, or NULL when they do not fit. */
static void *arena_take(ArenaBlock *b, size_t size) {
    uintptr_t base = (uintptr_t)b->data;
    uintptr_t at = (base + b->used + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    size_t off = (size_t)(at - base);
    if (off > b->cap || b->cap - off < size)
        return NULL;
    b->used = off + size;
    return b->data + off;
}

void *arena_alloc(Arena *a, size_t size) {
    if (size == 0)
        size = 1;
    void *p = a->head ? arena_take(a->head, size) : NULL;
    if (p)
        return p;
    ArenaBlock *b;
    if (a->head && size > ARENA_BLOCK / 4) { /* its own block, behind the head */
        b = arena_block(size);
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b = arena_block(size > ARENA_BLOCK ? size : ARENA_BLOCK);
        b->next = a->head;
        a->head = b;
    }
    p = arena_take(b, size);
    if (!p)
        nn_unreachable("arena block too small for %lu bytes", (unsigned long)size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
    if (n == (size_t)-1)
        base_out_of_memory(n);
    char *d = arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *arena_strdup(Arena *a, const char *s) {
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        nn_unreachable("arena_printf: bad format \"%s\"", fmt);
    char *d = arena_alloc(a, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

void arena_free(Arena *a) {
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static void buf_reserve(Buf *b, size_t extra) {
    if (extra > (size_t)-1 / 2 - b->len)
        base_out_of_memory((size_t)-1);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = base_xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_putc(Buf *b, char c) {
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_puts(Buf *b, const char *s) {
    size_t n = strlen(s);
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        nn_unreachable("buf_vprintf: bad format \"%s\"", fmt);
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_free(Buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
