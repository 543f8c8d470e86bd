/* main.c - a user's program: trains the generated network on XOR with the
 * C API alone and prints the parameter count and the loss before / after. */
#include <stdio.h>

#include "tiny.h"

int main(void) {
    static tiny m;
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    tiny_init(&m, 1);
    float first = tiny_train_step(&m, x, y, 4), last = first;
    for (int i = 0; i < 2000; i++)
        last = tiny_train_step(&m, x, y, 4);
    printf("parameters %d loss %.4f -> %.4f\n", TINY_PARAM_SCALARS, first, last);
    return last < first ? 0 : 1;
}
