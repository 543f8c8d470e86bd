/*
 * seeds_weights.c - writes the seed corpus of fuzz_weights into a directory:
 * the weight file of fuzz_weights' own table as nnrt_export writes it, and
 * the same file of another network, of other shapes, of another version,
 * truncated and with a trailing byte. Written at build time so that the
 * seeds follow the format as it is.
 *
 *   seeds_weights DIR
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

int main(int argc, char **argv) {
    unsigned char img[512], other[512];
    long n, k;
    Table t;
    int rc = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: seeds_weights DIR\n");
        return 2;
    }
    table_init(&t);
    n = nnrt_export("fuzznet", t.params, 3, t.bufs, 1, img, sizeof img);
    if (n <= 0)
        return 1;
    rc |= put(argv[1], "valid.nnw", img, (size_t)n);
    rc |= put(argv[1], "truncated.nnw", img, (size_t)n / 2);
    img[n] = 0;
    rc |= put(argv[1], "trailing.nnw", img, (size_t)n + 1);
    k = nnrt_export("othernet", t.params, 3, t.bufs, 1, other, sizeof other);
    rc |= k > 0 ? put(argv[1], "network.nnw", other, (size_t)k) : -1;
    t.params[0].dims[0] = 3, t.params[0].dims[1] = 2;
    k = nnrt_export("fuzznet", t.params, 3, t.bufs, 1, other, sizeof other);
    rc |= k > 0 ? put(argv[1], "shape.nnw", other, (size_t)k) : -1;
    t.params[0].dims[0] = 2, t.params[0].dims[1] = 3;
    k = nnrt_export("fuzznet", t.params, 2, NULL, 0, other, sizeof other);
    rc |= k > 0 ? put(argv[1], "count.nnw", other, (size_t)k) : -1;
    img[4] = 2; /* version 2, CRC not updated */
    rc |= put(argv[1], "version.nnw", img, (size_t)n);
    return rc ? 1 : 0;
}
