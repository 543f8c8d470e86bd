/*
 * count_main.c - the instructions of one call of a generated network on the
 * Cortex-M4F, counted under QEMU (tests/firmware/count.sh builds and runs
 * it). With `-icount shift=0` every executed instruction advances QEMU's
 * virtual clock by 1 ns, and on mps2-an386 (25 MHz) SysTick, clocked by
 * the processor, then falls by one every 40 instructions, exactly and the
 * same on every run. The count is 40 x (SysTick before - SysTick after),
 * less the same reading around an empty interval.
 *
 * The call is NET_forward of one sample (-DINFER) or NET_train_step of one
 * batch of BATCH samples (-DBATCH=n; class targets). Inputs are a fixed
 * pseudo-random pattern in [0, 1) (the counts depend on the data only
 * through a few branches: relu, max pooling, softmax). One call is made
 * before the counted one (for training: the optimizer's first step differs
 * from the others in nothing the count sees, but the warm call keeps the
 * counted one typical). Prints "instructions N" and exits 0; exits 1 when
 * the call took more than SysTick can count (2^24 ticks). An inference
 * then prints its outputs ("p" and the values, %.9g), which count.sh
 * compares with the same program built for the host with -DCOUNT_HOST
 * (no SysTick there: the outputs only).
 *
 * Build: -DNET=mnist_mlp -DNETU=MNIST_MLP -DNET_HEADER='"mnist_mlp.h"'
 * -DINFER or -DBATCH=1 [-DCOUNT_HOST].
 */
#include <stdint.h>
#include <stdio.h>

#include "../net_api.h"

#include NET_HEADER

#define IN_SIZE MACRO(IN_X_SIZE)
#ifdef INFER
#define BATCH 1
#endif

/* SysTick (ARMv7-M): control and status, reload value, current value */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TICK_INSNS 40u /* instructions per tick: 1 ns each under -icount shift=0, 25 MHz */

static NET model;
static float x[BATCH * IN_SIZE];
#ifndef INFER
static int32_t y[BATCH];
#endif

/* xorshift32: the same inputs on every run */
static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void run(void)
{
#ifdef INFER
    API(forward)(&model, x, 1);
#else
    (void)API(train_step)(&model, x, y, BATCH);
#endif
}

/* ticks elapsed over fn() (SysTick counts down from 0xFFFFFF, no wrap
 * handled: the caller checks the result against the counter's range) */
static uint32_t ticks(void (*fn)(void))
{
    SYST_CVR = 0u; /* any write clears it: the next tick reloads 0xFFFFFF */
    uint32_t t0 = SYST_CVR;
    fn();
    uint32_t t1 = SYST_CVR;
    return (t0 - t1) & 0xFFFFFFu;
}

static void nothing(void)
{
}

static void print_outputs(void)
{
#ifdef INFER
    const float *p = API(output_p)(&model);
    printf("p");
    for (int k = 0; k < MACRO(OUT_P_SIZE); k++)
        printf(" %.9g", (double)p[k]);
    printf("\n");
#endif
}

int main(void)
{
    uint32_t s = 0x2545F491u;
    for (int i = 0; i < BATCH * IN_SIZE; i++)
        x[i] = (float)(next(&s) >> 8) * (1.0f / 16777216.0f);
#ifndef INFER
    for (int i = 0; i < BATCH; i++)
        y[i] = (int32_t)(next(&s) % (uint32_t)MACRO(OUT_P_SIZE));
#endif
    API(init)(&model, 1);
#ifdef COUNT_HOST
    run();
    run();
    print_outputs();
    return 0;
#endif
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* enabled, processor clock, no interrupt */
    run();
    uint32_t empty = ticks(nothing), t = ticks(run);
    if (t >= 0xFFFFF0u) {
        printf("%s: the call took more than SysTick counts (2^24 ticks)\n", STR(NET));
        return 1;
    }
    printf("instructions %lu\n", (unsigned long)(t - empty) * TICK_INSNS);
    print_outputs();
    return 0;
}
