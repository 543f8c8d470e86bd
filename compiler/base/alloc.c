/*
 * alloc.c - the one out-of-memory policy of the compiler and the commands.
 *
 * Every heap allocation of nngen goes through these (the Arena and the Buf
 * of arena.c too): they never return NULL. When the system has no memory
 * left, nothing useful can go on and there is no input position to blame,
 * so base_out_of_memory prints one line, "nngen: error: out of memory
 * (N bytes)", and exits with status 2, the status of I/O and resource
 * errors. An exit leaves no half-written output: nngen writes every file
 * to a temporary name and renames it into place.
 *
 * A size computation that overflows size_t is out of memory too (no
 * allocation can satisfy it), so callers pass counts and element sizes
 * (base_xcalloc) or check before adding. A zero-byte request gets one byte,
 * so NULL always means failure.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

void base_out_of_memory(size_t size) {
    fflush(stdout);
    if (size)
        fprintf(stderr, "nngen: error: out of memory (allocating %lu bytes)\n", (unsigned long)size);
    else
        fprintf(stderr, "nngen: error: out of memory\n");
    exit(2);
}

void *base_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p)
        base_out_of_memory(size);
    return p;
}

void *base_xcalloc(size_t count, size_t size) {
    if (size && count > (size_t)-1 / size)
        base_out_of_memory((size_t)-1);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        base_out_of_memory(count * size);
    return p;
}

void *base_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q)
        base_out_of_memory(size);
    return q;
}

char *base_xstrndup(const char *s, size_t n) {
    size_t len = 0;
    while (len < n && s[len])
        len++;
    char *d = base_xmalloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *base_xstrdup(const char *s) {
    return base_xstrndup(s, strlen(s));
}
