/*
 * exact.c - bit-exactness of nngen quantize's generated C against the
 * fixtures of reference.py. It includes the generated source of tiny.nn
 * (NET_SOURCE) to reach its static integer kernels:
 *
 *   exact rescale rescale.txt   every "scale X M S R" line: nnq_scale(X, M, S) == R
 *   exact run tiny.csv          prints the network's outputs per input row, '%.9g'
 *                               (CTest compares them with tiny.expected)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include NET_SOURCE

static int check_rescale(const char *path) {
    FILE *f = fopen(path, "r");
    char kind[32];
    long long x, mult, shift, want;
    int lines = 0, bad = 0;
    if (!f)
        return 2;
    while (fscanf(f, "%31s", kind) == 1) {
        if (strcmp(kind, "scale") != 0) {
            int c;
            while ((c = getc(f)) != '\n' && c != EOF)
                ;
            continue;
        }
        if (fscanf(f, "%lld %lld %lld %lld", &x, &mult, &shift, &want) != 4)
            return 2;
        int32_t got = nnq_scale((int32_t)x, (int32_t)mult, (int)shift);
        lines++;
        if (got != want && bad++ < 10)
            printf("scale(%lld, %lld, %lld) = %ld, the reference says %lld\n", x, mult, shift, (long)got, want);
    }
    fclose(f);
    printf("%d rescalings, %d differ\n", lines, bad);
    return bad || lines < 100;
}

static tiny model;

static int run(const char *path) {
    static float x[TINY_MAX_BATCH * TINY_IN_X_SIZE];
    FILE *f = fopen(path, "r");
    int count = 0;
    if (!f)
        return 2;
    while (count < TINY_MAX_BATCH * TINY_IN_X_SIZE && fscanf(f, "%f%*[,\n]", &x[count]) == 1)
        count++;
    fclose(f);
    if (count % TINY_IN_X_SIZE || !count)
        return 2;
    int rows = count / TINY_IN_X_SIZE;
    tiny_init(&model, 0);
    tiny_forward(&model, x, rows);
    const float *z = tiny_output_z(&model);
    for (long r = 0; r < rows; r++)
        for (int k = 0; k < TINY_OUT_Z_SIZE; k++)
            printf("%.9g%c", (double)z[r * TINY_OUT_Z_SIZE + k], k + 1 < TINY_OUT_Z_SIZE ? ' ' : '\n');
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "rescale"))
        return check_rescale(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "run"))
        return run(argv[2]);
    fprintf(stderr, "usage: exact rescale FILE | exact run FILE.csv\n");
    return 2;
}
