/*
 * fuzz_data.c - libFuzzer harness over the data loaders (nn_data), which
 * read files a user hands to a training program: the input bytes are written
 * to a file, then read as CSV (nndata_csv_info, nndata_csv_read) and as IDX
 * (nndata_idx_open, nndata_idx_read_f32, nndata_idx_read_i32).
 *
 * Oracle, besides crashes and sanitizer reports (destinations are exactly
 * as large as the cap passed, so a write past it is caught):
 *   - CSV: info gives 0 or FORMAT; on 0, read with cap = rows * cols gives
 *     exactly that many values, read with a smaller cap gives the cap; on
 *     FORMAT, read with room for every byte fails with FORMAT too;
 *   - IDX: open gives 0, FORMAT or TRUNCATED; on 0 both reads give count *
 *     item_size elements, each a byte (times the scale); otherwise both reads
 *     fail with open's status.
 *
 * Built with clang -fsanitize=fuzzer (NNGEN_FUZZ=ON, scripts/fuzz.sh) and
 * as a plain program with replay.c, which CTest runs over the corpora.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *why, long st) {
    fprintf(stderr, "fuzz_data: %s (status %ld)\n", why, st);
    abort();
}

static char tmp_path[64];

static void cleanup(void) {
    if (tmp_path[0])
        remove(tmp_path);
}

static const char *write_tmp(const uint8_t *data, size_t size) {
    FILE *f;
    if (!tmp_path[0]) {
        int fd;
        snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz_data.XXXXXX");
        if ((fd = mkstemp(tmp_path)) < 0) {
            perror("fuzz_data: mkstemp");
            abort();
        }
        close(fd);
        atexit(cleanup);
    }
    if (!(f = fopen(tmp_path, "wb")) || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz_data: cannot write the temporary file");
        abort();
    }
    return tmp_path;
}

static void check_csv(const char *path, size_t size) {
    long rows = -1, got;
    int cols = -1, header = -1;
    int st = nndata_csv_info(path, &rows, &cols, &header);
    if (st == NN_OK) {
        long want = rows * cols;
        if (rows < 0 || cols < 0 || (header != 0 && header != 1) || want > (long)size)
            fuzz_fail("csv_info: impossible counts", rows);
        float *dst = malloc(want > 0 ? (size_t)want * sizeof(float) : 1);
        if ((got = nndata_csv_read(path, dst, want)) != want)
            fuzz_fail("csv_read with cap rows * cols did not read them all", got);
        if (want > 1 && (got = nndata_csv_read(path, dst, want - 1)) != want - 1)
            fuzz_fail("csv_read with a smaller cap did not fill it", got);
        free(dst);
    } else if (st == NN_ERR_FORMAT) {
        long cap = (long)size + 1;
        float *dst = malloc((size_t)cap * sizeof(float));
        if ((got = nndata_csv_read(path, dst, cap)) != NN_ERR_FORMAT)
            fuzz_fail("csv_info says FORMAT, csv_read does not", got);
        free(dst);
    } else {
        fuzz_fail("csv_info: an unexpected status", st);
    }
}

static void check_idx(const char *path) {
    nndata_idx_info info;
    long got;
    int st = nndata_idx_open(path, &info);
    if (st == NN_OK) {
        long n = info.count * info.item_size;
        if (info.rank < 1 || info.rank > 4 || info.count < 0 || info.item_size < 0)
            fuzz_fail("idx_open: impossible info", info.rank);
        float *f = malloc(n > 0 ? (size_t)n * sizeof(float) : 1);
        int32_t *i = malloc(n > 0 ? (size_t)n * sizeof(int32_t) : 1);
        if ((got = nndata_idx_read_f32(path, f, n, 0.5f)) != n)
            fuzz_fail("idx_read_f32 did not read count * item_size", got);
        if ((got = nndata_idx_read_i32(path, i, n)) != n)
            fuzz_fail("idx_read_i32 did not read count * item_size", got);
        for (long k = 0; k < n; k++)
            if (i[k] < 0 || i[k] > 255 || f[k] != 0.5f * (float)i[k])
                fuzz_fail("an IDX value is not a byte", k);
        free(f);
        free(i);
    } else if (st == NN_ERR_FORMAT || st == NN_ERR_TRUNCATED) {
        float f[4];
        int32_t i[4];
        if ((got = nndata_idx_read_f32(path, f, 4, 1.0f)) != st || (got = nndata_idx_read_i32(path, i, 4)) != st)
            fuzz_fail("idx_open and idx_read disagree", got);
    } else {
        fuzz_fail("idx_open: an unexpected status", st);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = write_tmp(data, size);
    check_csv(path, size);
    check_idx(path);
    return 0;
}
