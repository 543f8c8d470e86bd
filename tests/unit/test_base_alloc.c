/*
 * test_base_alloc.c - the out-of-memory policy (base/alloc.c): the x*
 * allocators never return NULL; a request that cannot be met, or whose
 * size overflows, prints "nngen: error: out of memory ..." and exits with
 * status 2, also from inside an Arena. Each failing request runs in a
 * child process, whose exit status and stderr are checked. Links
 * nngen_base alone.
 *
 * A sanitized build runs this with ASAN_OPTIONS=allocator_may_return_null=1
 * (tests/CMakeLists.txt), so that malloc fails as the C library's does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

/* more than any machine has: malloc refuses it at once */
static volatile size_t huge = (size_t)-1 / 2;

/* Runs f in a child; its exit status (-1: killed), its stderr in err. */
static int in_child(void (*f)(void), char *err, size_t cap) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        f();
        _exit(0); /* f returned: the allocation succeeded */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], err + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void malloc_huge(void) { free(base_xmalloc(huge)); }
static void realloc_huge(void) { free(base_xrealloc(NULL, huge)); }
static void calloc_overflow(void) { free(base_xcalloc(huge, 4)); }
static void arena_huge(void) {
    Arena a = {0};
    arena_alloc(&a, 1);
    arena_alloc(&a, (size_t)-1 - 8); /* the block's size overflows */
    arena_free(&a);
}

static void expect_oom(void (*f)(void), const char *message) {
    char err[512];
    assert_int_equal(in_child(f, err, sizeof err), 2);
    assert_non_null(strstr(err, message));
}

static void test_out_of_memory_exits_2(void **state) {
    (void)state;
    char want[128];
    snprintf(want, sizeof want, "nngen: error: out of memory (allocating %lu bytes)\n", (unsigned long)huge);
    expect_oom(malloc_huge, want);
    expect_oom(realloc_huge, want);
    expect_oom(calloc_overflow, "nngen: error: out of memory (allocating ");
    expect_oom(arena_huge, "nngen: error: out of memory (allocating ");
}

static void test_small_requests(void **state) {
    (void)state;
    void *p = base_xmalloc(0), *q = base_xcalloc(0, 8);
    assert_non_null(p); /* never NULL, even for nothing */
    assert_non_null(q);
    free(p);
    free(q);
    int *z = base_xcalloc(4, sizeof(int));
    assert_true(z[0] == 0 && z[3] == 0);
    z = base_xrealloc(z, 8 * sizeof(int));
    assert_int_equal(z[3], 0);
    free(z);
    char *s = base_xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    s = base_xstrndup("ab", 10); /* the string ends first */
    assert_string_equal(s, "ab");
    free(s);
    s = base_xstrdup("");
    assert_string_equal(s, "");
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_memory_exits_2),
        cmocka_unit_test(test_small_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
