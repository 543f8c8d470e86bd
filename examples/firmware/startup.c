/*
 * startup.c - the reset path of the firmware example on a Cortex-M4F:
 * the vector table at address 0 (initial stack pointer, then handlers),
 * and a reset handler that enables the FPU, copies .data from flash to RAM
 * and calls newlib's _start (which zeroes .bss, sets up semihosting for
 * printf, runs main and passes its return value to exit: under QEMU with
 * -semihosting that becomes the emulator's exit status).
 *
 * A fault does not hang: it prints a line and exits with status 1 through
 * semihosting, so a test sees a failure at once instead of a timeout.
 */
#include <stdint.h>

extern uint32_t __stack, __data_start__, __data_end__, __data_load__;
extern void _start(void);

void Reset_Handler(void);
void Fault_Handler(void);

/* System Control Block: Coprocessor Access Control Register */
#define NN_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Semihosting (ARM DUI 0471): SYS_WRITE0 prints a string, SYS_EXIT stops
 * with a reason; QEMU exits with status 1 for any reason but
 * ADP_Stopped_ApplicationExit. */
static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

void Fault_Handler(void)
{
    semihost(0x04, "firmware: fault (hard, memory, bus or usage)\n");
    semihost(0x18, (const void *)0x20023u); /* ADP_Stopped_RunTimeErrorUnknown */
    for (;;)
        ;
}

void Reset_Handler(void)
{
    /* CP10 and CP11 (the FPU) full access, before any floating-point
     * instruction runs; the barriers make it effective at once */
    NN_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *src = &__data_load__, *dst = &__data_start__; dst < &__data_end__;)
        *dst++ = *src++;
    _start();
    for (;;)
        ;
}

/* Cortex-M4 exceptions 0-15; no device interrupt is enabled. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack, /* initial stack pointer */
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};
