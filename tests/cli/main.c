/* tests/cli/main.c - links against a --standalone network: every API
 * function must be defined by the generated file and libm alone. */
#include "clinet.h"

static clinet model;

int main(void) {
    const float x[3] = {0.5f, -1.0f, 2.0f};
    const int32_t y[1] = {1};
    clinet_init(&model, 42);
    clinet_forward(&model, x, 1);
    float loss = clinet_train_step(&model, x, y, 1);
    return loss == loss && clinet_output_p(&model)[0] >= 0.0f ? 0 : 1;
}
