/*
 * hash.c - the one hash function (FNV-1a, 32 and 64 bits) and the one
 * hash table of the compiler: a map from strings to ints, open addressing
 * with linear probing, in an arena.
 *
 * FNV-1a over bytes:  h = (h xor byte) * prime, from the offset basis
 *   32 bits: basis 2166136261, prime 16777619
 *   64 bits: basis 0xcbf29ce484222325, prime 0x100000001b3
 * The 64-bit one keys the CLI's build cache, so its values are fixed.
 *
 * StrMap invariants: the capacity is a power of two at least twice the
 * count (an empty slot ends every probe); keys are not copied and must
 * outlive the map; a key is never removed and its value never replaced.
 * Growing allocates a new table in the arena (the old one stays until the
 * arena is freed, as everything of one compilation does).
 */
#include <string.h>

#include "base/base.h"

uint32_t hash_fnv32(uint32_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

uint64_t hash_fnv64(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* the slot holding key, or the empty slot where it would go */
static int strmap_slot(const StrMap *m, const char *key) {
    unsigned mask = (unsigned)m->cap - 1;
    unsigned i = hash_fnv32(HASH_FNV32_INIT, key, strlen(key)) & mask;
    while (m->key[i] && strcmp(m->key[i], key) != 0)
        i = (i + 1) & mask;
    return (int)i;
}

static void strmap_grow(StrMap *m) {
    StrMap bigger = *m;
    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.key = arena_alloc(m->arena, sizeof(const char *) * (size_t)bigger.cap);
    bigger.value = arena_alloc(m->arena, sizeof(int) * (size_t)bigger.cap);
    for (int i = 0; i < m->cap; i++)
        if (m->key[i]) {
            int s = strmap_slot(&bigger, m->key[i]);
            bigger.key[s] = m->key[i];
            bigger.value[s] = m->value[i];
        }
    *m = bigger;
}

void strmap_init(StrMap *m, Arena *a) {
    memset(m, 0, sizeof *m);
    m->arena = a;
    strmap_grow(m);
}

int strmap_get(const StrMap *m, const char *key, int *value) {
    int s = strmap_slot(m, key);
    if (!m->key[s])
        return 0;
    if (value)
        *value = m->value[s];
    return 1;
}

int strmap_put(StrMap *m, const char *key, int value) {
    if ((m->count + 1) * 2 > m->cap)
        strmap_grow(m);
    int s = strmap_slot(m, key);
    if (m->key[s])
        return 0;
    m->key[s] = key;
    m->value[s] = value;
    m->count++;
    return 1;
}
