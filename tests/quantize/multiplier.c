/*
 * multiplier.c - q8_quantize_multiplier (compiler/emit/int8.c) against
 * reference.py's "multiplier REAL Q SHIFT" lines of rescale.txt, exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

int main(int argc, char **argv) {
    FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
    char kind[32];
    int lines = 0, bad = 0;
    if (!f)
        return 2;
    while (fscanf(f, "%31s", kind) == 1) {
        if (strcmp(kind, "multiplier") != 0) {
            int c;
            while ((c = getc(f)) != '\n' && c != EOF)
                ;
            continue;
        }
        double real;
        long long want_q, want_s;
        if (fscanf(f, "%lf %lld %lld", &real, &want_q, &want_s) != 3)
            return 2;
        int32_t q;
        int s;
        q8_quantize_multiplier(real, &q, &s);
        lines++;
        if ((q != want_q || s != want_s) && bad++ < 10)
            printf("multiplier(%.17g) = (%ld, %d), the reference says (%lld, %lld)\n", real, (long)q, s, want_q, want_s);
    }
    fclose(f);
    printf("%d multipliers, %d differ\n", lines, bad);
    return bad || lines < 50;
}
