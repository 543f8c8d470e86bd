#!/bin/sh
# tests/firmware/gemm_device.sh - the runtime's GEMM checked on the
# Cortex-M4F under QEMU (gemm_device.c: a sweep of shapes, transpositions,
# alpha and beta against a double-precision product): the runtime as
# --freestanding pastes it (the build tree's nn_runtime.c, NN_FREESTANDING),
# cross-compiled at -O2 with the firmware example's startup and linker
# script.
#
#   gemm_device.sh ARMGCC QEMU ROOT NN_RUNTIME_C WORKDIR
#
# Exit 0 when every case agrees, 1 when not, 77 (CTest: skipped) when
# arm-none-eabi-gcc or qemu-system-arm is missing.
set -u
armgcc=$1 qemu=$2 root=$3 rtc=$4 work=$5
[ -n "$armgcc" ] && [ -x "$armgcc" ] || { echo "SKIP: arm-none-eabi-gcc not found"; exit 77; }
[ -n "$qemu" ] && [ -x "$qemu" ] || { echo "SKIP: qemu-system-arm not found"; exit 77; }
die() {
    echo "FAIL: $*"
    exit 1
}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
cpu="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
cflags="$cpu -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -DNN_FREESTANDING -I$root/runtime"
# shellcheck disable=SC2086
"$armgcc" $cflags -ffreestanding -c "$rtc" -o rt.o || die "compiling $rtc"
# shellcheck disable=SC2086
"$armgcc" $cflags -c "$root/tests/firmware/gemm_device.c" -o gemm.o || die "compiling gemm_device.c"
# shellcheck disable=SC2086
"$armgcc" $cpu -std=c99 -O2 -c "$root/examples/firmware/startup.c" -o startup.o || die "compiling startup.c"
# shellcheck disable=SC2086
"$armgcc" $cpu --specs=rdimon.specs -T"$root/examples/firmware/cortex-m4.ld" -Wl,--gc-sections \
    gemm.o rt.o startup.o -lm -o gemm.elf || die "linking gemm.elf"
timeout 300 "$qemu" -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel gemm.elf >device.txt 2>&1
rc=$?
cat device.txt
[ $rc = 0 ] || die "on the device: exit status $rc"
grep -q '^gemm on the device: [0-9]* cases, 0 failing$' device.txt || die "no passing summary from the device"
