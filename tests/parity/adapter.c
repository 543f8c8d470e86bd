/*
 * adapter.c - one generated network seen through parity.h, compiled once
 * per case with NET (its C name), NETU (its macro prefix), NET_HEADER, and
 * CLASS_TARGET when target y is a class, PARITY_OUTPUT when it has
 * `output o`.
 */
#include "parity.h"

#include "../net_api.h"

#include NET_HEADER

#ifdef CLASS_TARGET
typedef int32_t target_t;
#define TARGET_SIZE 1
#define TARGET_CLASSES MACRO(TARGET_Y_CLASSES)
#else
typedef float target_t;
#define TARGET_SIZE MACRO(TARGET_Y_SIZE)
#define TARGET_CLASSES 0
#endif

static NET model;

static void a_init(uint64_t seed) {
    API(init)(&model, seed);
}
static nn_param a_param(int i) {
    return API(param)(&model, i);
}
static nn_param a_buffer(int i) {
    return API(buffer)(&model, i);
}
static float a_train_step(const float *x, const void *y, int n) {
    return API(train_step)(&model, x, (const target_t *)y, n);
}
static void a_forward_train(const float *x, const void *y, int n) {
    API(forward_train)(&model, x, (const target_t *)y, n);
}
static void a_backward(void) {
    API(backward)(&model);
}
static float a_loss(void) {
    return model.loss;
}
static void a_update(void) {
    API(update)(&model);
}
static void a_epoch_end(void) {
    API(epoch_end)(&model);
}
static void a_set_lr(float lr) {
    API(set_lr)(&model, lr);
}
static float a_get_lr(void) {
    return API(get_lr)(&model);
}
static void a_forward(const float *x, int n) {
    API(forward)(&model, x, n);
}
#ifdef PARITY_OUTPUT
static const float *a_output_o(void) {
    return API(output_o)(&model);
}
#define OUT_O_SIZE MACRO(OUT_O_SIZE)
#define OUTPUT_O a_output_o
#else
#define OUT_O_SIZE 0
#define OUTPUT_O NULL
#endif

const ParityNet parity_net = {
    STR(NET), MACRO(PARAM_COUNT), MACRO(BUFFER_COUNT), MACRO(MAX_BATCH), MACRO(IN_X_SIZE), TARGET_SIZE,
    TARGET_CLASSES, OUT_O_SIZE, a_init, a_param, a_buffer, a_train_step, a_forward_train, a_backward,
    a_loss, a_update, a_epoch_end, a_set_lr, a_get_lr, a_forward, OUTPUT_O,
};
