#!/bin/sh
# tests/firmware/parity_device.sh - a PyTorch parity case run on the
# Cortex-M4F (QEMU mps2-an386): the case's network generated with
# --freestanding (--max-batch: the fixture's batch), cross-compiled at -O2 with the host's fixture runner
# (tests/parity: parity.c, adapter.c) and linked with newlib's semihosting
# (rdimon: the runner reads the fixture file from the host); it then runs
# the fixture's training steps on the device and compares the loss trace,
# the gradients, the final parameters (and buffers, output o) with
# PyTorch's values at the same tolerance as on the host (1e-5 relative).
#
#   parity_device.sh ARMGCC QEMU NNGEN ROOT WORKDIR CASE
#
# Exit 0 when the device matches, 1 when not, 77 (CTest: skipped) when
# arm-none-eabi-gcc or qemu-system-arm is missing.
set -u
armgcc=$1 qemu=$2 nngen=$3 root=$4 work=$5 case=$6
[ -n "$armgcc" ] && [ -x "$armgcc" ] || { echo "SKIP: arm-none-eabi-gcc not found"; exit 77; }
[ -n "$qemu" ] && [ -x "$qemu" ] || { echo "SKIP: qemu-system-arm not found"; exit 77; }
die() {
    echo "FAIL: $*"
    exit 1
}
nn=$root/tests/parity/cases/$case.nn
fixture=$root/tests/parity/fixtures/$case.txt
net=pt_$case
up=$(echo "$net" | tr 'a-z' 'A-Z')
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
defs=
grep -q '^target[ 	]*y[ 	]*:[ 	]*class' "$nn" && defs="$defs -DCLASS_TARGET"
grep -q '^output[ 	]*o[ 	]*=' "$nn" && defs="$defs -DPARITY_OUTPUT"
# the model sized for the fixture's batch (the board has 4 MiB of RAM)
batch=$(awk '$1 == "batch" { print $2; exit }' "$fixture")
[ -n "$batch" ] || die "$fixture: no batch line"
"$nngen" "$nn" --freestanding --max-batch "$batch" -o "$net.c" || die "nngen --freestanding $nn"
cpu="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
cflags="$cpu -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -DNN_FREESTANDING -I. -I$root/tests/parity -I$root/runtime"
# shellcheck disable=SC2086
"$armgcc" $cflags -ffreestanding -c "$net.c" -o net.o || die "compiling $net.c"
# shellcheck disable=SC2086
"$armgcc" $cflags -DNET="$net" -DNETU="$up" -DNET_HEADER="\"$net.h\"" $defs \
    -c "$root/tests/parity/adapter.c" -o adapter.o || die "compiling adapter.c"
# shellcheck disable=SC2086
"$armgcc" $cflags -c "$root/tests/parity/parity.c" -o parity.o || die "compiling parity.c"
# shellcheck disable=SC2086
"$armgcc" $cpu -std=c99 -O2 -c "$root/examples/firmware/startup.c" -o startup.o || die "compiling startup.c"
# shellcheck disable=SC2086
"$armgcc" $cpu --specs=rdimon.specs -T"$root/examples/firmware/cortex-m4.ld" -Wl,--gc-sections \
    parity.o adapter.o net.o startup.o -lm -o parity.elf || die "linking parity.elf"
cp "$fixture" fixture.txt || exit 1
timeout 300 "$qemu" -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native,arg=parity.elf,arg=fixture.txt -kernel parity.elf >device.txt 2>&1
rc=$?
cat device.txt
[ $rc = 0 ] || die "on the device: exit status $rc"
grep -q "^$net: [0-9]* steps, .* 0 failing elements" device.txt || die "no passing summary line from the device"
echo "the Cortex-M4F matches PyTorch's fixture for $case"
