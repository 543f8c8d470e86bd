/*
 * fuzz_weights.c - libFuzzer harness over the weight-file reader: the input
 * bytes are a weight file for a fixed table of tensors (two parameters of
 * rank 2 and 0, one empty tensor, one buffer), read by nnrt_import from
 * memory and by nnrt_load from a file (its streaming reader).
 *
 * Oracle, besides crashes and sanitizer reports:
 *   - the status is 0 or one of FORMAT VERSION NETWORK SHAPE CHECKSUM
 *     TRUNCATED (never IO, ARG or CAPACITY for readable bytes);
 *   - nnrt_load gives the same status and the same values as nnrt_import;
 *   - on an error no tensor value changed (compared bit for bit);
 *   - on success nnrt_export of the tensors gives back exactly the input
 *     bytes (the format has one encoding per content).
 *
 * Built with clang -fsanitize=fuzzer (NNGEN_FUZZ=ON, scripts/fuzz.sh) and
 * as a plain program with replay.c, which CTest runs over the corpora.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NW = 6, NS = 1, NB = 3 };

typedef struct Table {
    float w[NW], s[NS], b[NB];
    nn_param params[3], bufs[1];
} Table;

/* net "fuzznet": w [2, 3], s [] (rank 0), e [4, 0] (empty); buffer bn.mean [3] */
static void table_init(Table *t) {
    static const nn_param zero;
    for (int i = 0; i < NW; i++)
        t->w[i] = 0.25f * (float)i - 1.0f;
    t->s[0] = 42.0f;
    for (int i = 0; i < NB; i++)
        t->b[i] = -3.5f * (float)i;
    for (int i = 0; i < 3; i++)
        t->params[i] = zero;
    t->params[0] = (nn_param){"w", 2, {2, 3, 0, 0}, NW, t->w, NULL};
    t->params[1] = (nn_param){"s", 0, {0, 0, 0, 0}, NS, t->s, NULL};
    t->params[2] = (nn_param){"e", 2, {4, 0, 0, 0}, 0, NULL, NULL};
    t->bufs[0] = (nn_param){"bn.mean", 1, {NB, 0, 0, 0}, NB, t->b, NULL};
}

static int table_same(const Table *a, const Table *b) {
    return memcmp(a->w, b->w, sizeof a->w) == 0 && memcmp(a->s, b->s, sizeof a->s) == 0 &&
           memcmp(a->b, b->b, sizeof a->b) == 0;
}

static void fuzz_fail(const char *why, int st) {
    fprintf(stderr, "fuzz_weights: %s (status %d: %s)\n", why, st, nnrt_strerror(st));
    abort();
}

static char tmp_path[64];

/* writes the bytes to a private temporary file, once created per process */
static int write_tmp(const uint8_t *data, size_t size) {
    FILE *f;
    if (!tmp_path[0]) {
        int fd;
        snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz_weights.XXXXXX");
        if ((fd = mkstemp(tmp_path)) < 0)
            return -1;
        close(fd);
    }
    if (!(f = fopen(tmp_path, "wb")))
        return -1;
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static void cleanup(void) {
    if (tmp_path[0])
        remove(tmp_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int registered;
    Table before, mem, file;
    int st, st_file;

    if (!registered) {
        registered = 1;
        atexit(cleanup);
    }
    table_init(&before);
    table_init(&mem);
    table_init(&file);

    st = nnrt_import("fuzznet", mem.params, 3, mem.bufs, 1, data, size);
    if (st != NN_OK && st != NN_ERR_FORMAT && st != NN_ERR_VERSION && st != NN_ERR_NETWORK &&
        st != NN_ERR_SHAPE && st != NN_ERR_CHECKSUM && st != NN_ERR_TRUNCATED)
        fuzz_fail("nnrt_import: an unexpected status", st);
    if (st != NN_OK && !table_same(&before, &mem))
        fuzz_fail("nnrt_import failed but changed a tensor", st);
    if (st == NN_OK) {
        unsigned char *out = malloc(size ? size : 1);
        long k = out ? nnrt_export("fuzznet", mem.params, 3, mem.bufs, 1, out, size) : -1;
        if (k != (long)size || memcmp(out, data, size) != 0)
            fuzz_fail("an accepted image does not export back to the same bytes", (int)k);
        free(out);
    }

    if (write_tmp(data, size) != 0) {
        perror("fuzz_weights: cannot write the temporary file");
        abort();
    }
    st_file = nnrt_load(tmp_path, "fuzznet", file.params, 3, file.bufs, 1);
    if (st_file != st)
        fuzz_fail("nnrt_load and nnrt_import disagree", st_file);
    if (!table_same(&mem, &file))
        fuzz_fail("nnrt_load and nnrt_import read different values", st_file);
    return 0;
}
