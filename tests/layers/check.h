/*
 * check.h - the layer tests' CHECK: a failed condition prints its place and
 * message and counts in `failures`, and the test goes on (main returns
 * failures ? 1 : 0).
 */
#ifndef NN_TESTS_LAYERS_CHECK_H
#define NN_TESTS_LAYERS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                                \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

#endif
