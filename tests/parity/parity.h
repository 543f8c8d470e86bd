/*
 * parity.h - what parity.c needs of one generated network: its sizes and
 * its API as plain functions on one static model. adapter.c fills it for
 * the network it is compiled with (NET, NETU, NET_HEADER; CLASS_TARGET,
 * PARITY_OUTPUT), so the fixture runner, parity.c, is compiled once and
 * only the adapter, a few lines, once per case.
 */
#ifndef NNGEN_PARITY_H
#define NNGEN_PARITY_H

#include <stdint.h>
#include "nn_runtime.h"

typedef struct ParityNet {
    const char *name;          /* the network's C name (fixture line `network NAME`) */
    int nparam, nbuffer, max_batch;
    long in_x_size;            /* floats per sample of input x */
    long target_size;          /* per sample: 1 for a class target */
    int target_classes;        /* > 0: target y is a class (int32_t labels) */
    long out_o_size;           /* > 0: the network has output o (floats per sample) */
    void (*init)(uint64_t seed);
    nn_param (*param)(int i);
    nn_param (*buffer)(int i);
    float (*train_step)(const float *x, const void *y, int n);
    void (*forward_train)(const float *x, const void *y, int n);
    void (*backward)(void);
    float (*loss)(void);       /* the loss of the last forward_train */
    void (*update)(void);
    void (*epoch_end)(void);
    void (*set_lr)(float lr);
    float (*get_lr)(void);
    void (*forward)(const float *x, int n);
    const float *(*output_o)(void);
} ParityNet;

extern const ParityNet parity_net;

#endif
