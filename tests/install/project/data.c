/* data.c - a user's program that reads a CSV data set with the installed
 * loaders (nn_data.h): prints its row and column counts and the sum of its
 * values. */
#include <stdio.h>

#include "nn_data.h"

int main(int argc, char **argv) {
    float v[64];
    long rows;
    int cols, header;
    if (argc != 2 || nndata_csv_info(argv[1], &rows, &cols, &header) != NN_OK || rows * cols > 64)
        return 1;
    long n = nndata_csv_read(argv[1], v, rows * cols);
    if (n != rows * cols) {
        fprintf(stderr, "%s\n", nnrt_strerror(n < 0 ? (int)n : NN_ERR_FORMAT));
        return 1;
    }
    double sum = 0.0;
    for (long i = 0; i < n; i++)
        sum += v[i];
    printf("rows %ld cols %d header %d sum %g\n", rows, cols, header, sum);
    return 0;
}
