/*
 * test_hash.c - base/hash.c: FNV-1a against the published test vectors
 * (the 64-bit values key the CLI's build cache and must never change), and
 * the string map: found and missing keys, a second put refused with the
 * first value kept, growth far past the first capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"

static void test_fnv(void **state) {
    (void)state;
    assert_true(hash_fnv32(HASH_FNV32_INIT, "", 0) == 0x811c9dc5u);
    assert_true(hash_fnv32(HASH_FNV32_INIT, "a", 1) == 0xe40c292cu);
    assert_true(hash_fnv32(HASH_FNV32_INIT, "foobar", 6) == 0xbf9cf968u);
    assert_true(hash_fnv32(hash_fnv32(HASH_FNV32_INIT, "foo", 3), "bar", 3) == 0xbf9cf968u);
    assert_true(hash_fnv64(HASH_FNV64_INIT, "", 0) == 0xcbf29ce484222325ULL);
    assert_true(hash_fnv64(HASH_FNV64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(hash_fnv64(HASH_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_strmap(void **state) {
    (void)state;
    Arena a = {0};
    StrMap m;
    int v = -1;
    strmap_init(&m, &a);
    assert_false(strmap_get(&m, "x", &v));
    assert_true(strmap_put(&m, "x", 7));
    assert_false(strmap_put(&m, "x", 8)); /* refused: the first value stays */
    assert_true(strmap_get(&m, "x", &v));
    assert_int_equal(v, 7);
    assert_true(strmap_get(&m, "x", NULL));
    assert_false(strmap_get(&m, "y", NULL));
    const char *keys[1000];
    for (int i = 0; i < 1000; i++)
        keys[i] = arena_printf(&a, "k%d", i);
    for (int i = 0; i < 1000; i++)
        assert_true(strmap_put(&m, keys[i], i));
    assert_int_equal(m.count, 1001);
    assert_true(m.cap >= 2 * m.count);
    for (int i = 0; i < 1000; i++) {
        char probe[16];
        snprintf(probe, sizeof probe, "k%d", i); /* an equal string, not the same pointer */
        assert_true(strmap_get(&m, probe, &v));
        assert_int_equal(v, i);
    }
    assert_true(strmap_get(&m, "x", &v));
    assert_int_equal(v, 7);
    assert_false(strmap_get(&m, "k1000", NULL));
    arena_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
