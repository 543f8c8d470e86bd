/*
 * seeds.c - writes the generated part of a harness's seed corpus into a
 * directory (tests/fuzz/corpus.sh adds the committed files):
 *   weights   the weight file of fuzz_weights' own table as nnrt_export
 *             writes it, and the same file of another network, of other
 *             shapes, of another version, truncated, with a trailing byte;
 *   data      small IDX files (labels, images) and CSV files (header, CRLF,
 *             blank lines, a bad row)
 * Written when the corpus is assembled, so that they follow the formats as
 * they are.
 *
 *   fuzz_seeds weights|data DIR
 */
#include "fuzz_weights.c"

static int put(const char *dir, const char *name, const unsigned char *b, size_t n) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || (n > 0 && fwrite(b, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int put_str(const char *dir, const char *name, const char *s) {
    return put(dir, name, (const unsigned char *)s, strlen(s));
}

static int data_seeds(const char *dir) {
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 5, 3, 1, 4, 1, 5};
    static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                           0, 255, 128, 7, 1, 2, 3, 4};
    static const unsigned char rank4[] = {0, 0, 8, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                          0, 0, 0, 2, 9, 9};
    int rc = 0;
    rc |= put(dir, "labels.idx", labels, sizeof labels);
    rc |= put(dir, "images.idx", images, sizeof images);
    rc |= put(dir, "rank4.idx", rank4, sizeof rank4);
    rc |= put(dir, "short.idx", images, sizeof images - 1);
    rc |= put_str(dir, "header.csv", "x1,x2,label\n0.5,-1e-3,1\n.25,2E5,0\n");
    rc |= put_str(dir, "plain.csv", "1,2\n3,4\n\n5,6");
    rc |= put_str(dir, "crlf.csv", " 1 ,\t2\r\n3,4\r\n");
    rc |= put_str(dir, "ragged.csv", "1,2\n3\n");
    rc |= put_str(dir, "word.csv", "1,2\n3,x\n");
    return rc;
}

int main(int argc, char **argv) {
    unsigned char img[512], other[512];
    long n, k;
    Table t;
    int rc = 0;
    if (argc != 3 || (strcmp(argv[1], "weights") != 0 && strcmp(argv[1], "data") != 0)) {
        fprintf(stderr, "usage: fuzz_seeds weights|data DIR\n");
        return 2;
    }
    if (strcmp(argv[1], "data") == 0)
        return data_seeds(argv[2]) ? 1 : 0;
    const char *dir = argv[2];
    table_init(&t);
    n = nnrt_export("fuzznet", t.params, 3, t.bufs, 1, img, sizeof img);
    if (n <= 0)
        return 1;
    rc |= put(dir, "valid.nnw", img, (size_t)n);
    rc |= put(dir, "truncated.nnw", img, (size_t)n / 2);
    img[n] = 0;
    rc |= put(dir, "trailing.nnw", img, (size_t)n + 1);
    k = nnrt_export("othernet", t.params, 3, t.bufs, 1, other, sizeof other);
    rc |= k > 0 ? put(dir, "network.nnw", other, (size_t)k) : -1;
    t.params[0].dims[0] = 3, t.params[0].dims[1] = 2;
    k = nnrt_export("fuzznet", t.params, 3, t.bufs, 1, other, sizeof other);
    rc |= k > 0 ? put(dir, "shape.nnw", other, (size_t)k) : -1;
    t.params[0].dims[0] = 2, t.params[0].dims[1] = 3;
    k = nnrt_export("fuzznet", t.params, 2, NULL, 0, other, sizeof other);
    rc |= k > 0 ? put(dir, "count.nnw", other, (size_t)k) : -1;
    img[4] = 2; /* version 2, CRC not updated */
    rc |= put(dir, "version.nnw", img, (size_t)n);
    return rc ? 1 : 0;
}
