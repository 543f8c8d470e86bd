#!/bin/sh
# tests/firmware/count.sh - instructions of one inference or one training
# step of a generated network on the Cortex-M4F (gcc -O2, -mcpu=cortex-m4
# -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16), counted under QEMU
# (mps2-an386) with -icount shift=0 by count_main.c (SysTick: one tick per
# 40 instructions, deterministic), against a committed ceiling.
#
#   count.sh --list
#       the cases, one a line
#   count.sh run ARMGCC QEMU NNGEN ROOT WEIGHTS_DIR MNIST_DIR WORKDIR CASE
#       (ARMGCC and QEMU: paths or names on PATH)
#       builds the case's firmware in WORKDIR, counts, prints
#       "CASE: N instructions, M multiply-adds, R per multiply-add (ceiling C)"
#       and fails when N exceeds the ceiling of CASE in counts.txt (beside
#       this script); a count more than 2 % under its ceiling is reported
#       (lower the ceiling: counts.txt keeps them tight). An inference's
#       outputs are compared with the same C built for the host ($CC, else
#       cc): equal for the int8 build (integer arithmetic, bit for bit; lenet_int8
#       also against -march=native, the host's vector kernels, where it builds),
#       within 1e-5 for float (the device's kernels sum in another order)
#
# The cases (multiply-adds: those of the network's matrix products and
# convolutions, forward only for inference, forward and backward for a
# training step):
#   mnist_mlp         examples/mnist_mlp.nn --infer-only --max-batch 1 with
#                     the host-trained weights in flash (as fw_mnist_mlp.elf)
#   mnist_mlp_int8    the same, `nngen quantize` (calibrated on the test digits)
#   lenet             examples/lenet.nn --infer-only --max-batch 1 (its
#                     initial weights: the count does not depend on them)
#   lenet_int8        the same weights (saved by a host build of NET_init),
#                     `nngen quantize` (calibrated on the test digits)
#   moons_train       a training step of examples/moons.nn at batch 1 (SGD)
#   lenet_train       a training step of examples/lenet.nn at batch 1 (Adam)
#
# Exit 0 when within the ceiling (and an inference's outputs agree with the
# host's), 1 when not, 77 (CTest: skipped) when
# arm-none-eabi-gcc or qemu-system-arm is missing.
set -u

cases="mnist_mlp mnist_mlp_int8 lenet lenet_int8 moons_train lenet_train"
if [ "${1:-}" = --list ]; then
    for c in $cases; do echo "$c"; done
    exit 0
fi
[ "${1:-}" = run ] && [ $# = 9 ] || {
    echo "usage: count.sh --list | run ARMGCC QEMU NNGEN ROOT WEIGHTS_DIR MNIST_DIR WORKDIR CASE" >&2
    exit 2
}
armgcc=$2 qemu=$3 nngen=$4 root=$5 weights=$6 mnist=$7 work=$8 case=$9
# the tools by path or by name (on PATH); the other paths made absolute
armgcc=$(command -v "${armgcc:-/nonexistent}") || { echo "SKIP: arm-none-eabi-gcc not found"; exit 77; }
qemu=$(command -v "${qemu:-/nonexistent}") || { echo "SKIP: qemu-system-arm not found"; exit 77; }
absolute() {
    case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
    esac
}
nngen=$(absolute "$nngen") root=$(absolute "$root") weights=$(absolute "$weights") mnist=$(absolute "$mnist")
die() {
    echo "FAIL: $*"
    exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
ceiling=$(awk -v c="$case" '$1 == c { print $2 }' "$here/counts.txt")
[ -n "$ceiling" ] || die "no ceiling for $case in $here/counts.txt"

# the case: network, nngen's command line, mode, multiply-adds
#   mnist_mlp: 784 x 128 + 128 x 10; lenet: conv1 28x28x16x25, conv2
#   14x14x32x16x25, dense 1568 x 10 (forward); a training step adds the
#   gradients of the inputs (but conv1's) and of the weights: moons 2x3 +
#   3x2, forward 12 multiply-adds, backward 6 (dx of layer 2) + 12 (dW)
mlp="$root/examples/mnist_mlp.nn"
lenet="$root/examples/lenet.nn"
case $case in
mnist_mlp) net=mnist_mlp nn=$mlp mode=-DINFER macs=101632 ;;
mnist_mlp_int8) net=mnist_mlp nn=$mlp mode=-DINFER macs=101632 ;;
lenet | lenet_int8) net=lenet nn=$lenet mode=-DINFER macs=$((28 * 28 * 16 * 25 + 14 * 14 * 32 * 16 * 25 + 1568 * 10)) ;;
moons_train) net=moons nn=$root/examples/moons.nn mode=-DBATCH=1 macs=30 ;;
lenet_train)
    # forward; dW of all three; dx of dense and conv2 (conv1's input needs none)
    net=lenet nn=$lenet mode=-DBATCH=1
    macs=$((3 * (28 * 28 * 16 * 25 + 14 * 14 * 32 * 16 * 25 + 1568 * 10) - 28 * 28 * 16 * 25))
    ;;
*) die "unknown case $case (count.sh --list)" ;;
esac
up=$(echo "$net" | tr 'a-z' 'A-Z')
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
case $case in
mnist_mlp)
    "$nngen" "$nn" --freestanding --infer-only --max-batch 1 --weights "$weights/mnist_mlp.nnw" -o "$net.c" ||
        die "nngen $nn"
    ;;
mnist_mlp_int8)
    "$nngen" quantize "$nn" --weights "$weights/mnist_mlp.nnw" --calibrate "$mnist/test-images.idx" \
        --freestanding --max-batch 1 -o "$net.c" >quantize.log 2>&1 || {
        cat quantize.log
        die "nngen quantize $nn"
    }
    ;;
lenet) "$nngen" "$nn" --freestanding --infer-only --max-batch 1 -o "$net.c" || die "nngen $nn" ;;
lenet_int8)
    # the initial weights (NET_init seed 1), saved by a host build: the count does not depend on them
    "$nngen" "$nn" --infer-only --standalone -o init.c || die "nngen $nn"
    printf '#include "init.h"\nstatic %s m;\nint main(int c, char **v) { (void)c; %s_init(&m, 1); return %s_save(&m, v[1]) != 0; }\n' \
        "$net" "$net" "$net" >save.c
    ${CC:-cc} -std=c99 -O2 -I. save.c init.c -lm -o save && ./save "$net.nnw" || die "saving the initial weights"
    "$nngen" quantize "$nn" --weights "$net.nnw" --calibrate "$mnist/test-images.idx" \
        --freestanding --max-batch 1 -o "$net.c" >quantize.log 2>&1 || {
        cat quantize.log
        die "nngen quantize $nn"
    }
    ;;
*) "$nngen" "$nn" --freestanding --max-batch 1 -o "$net.c" || die "nngen $nn" ;;
esac
cpu="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
cflags="$cpu -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -I."
# shellcheck disable=SC2086
"$armgcc" $cflags -ffreestanding -c "$net.c" -o net.o || die "compiling $net.c"
# shellcheck disable=SC2086
"$armgcc" $cflags -DNET="$net" -DNETU="$up" -DNET_HEADER="\"$net.h\"" $mode \
    -c "$here/count_main.c" -o count.o || die "compiling count_main.c"
# shellcheck disable=SC2086
"$armgcc" $cpu -std=c99 -O2 -c "$root/examples/firmware/startup.c" -o startup.o || die "compiling startup.c"
# shellcheck disable=SC2086
"$armgcc" $cpu --specs=rdimon.specs -T"$root/examples/firmware/cortex-m4.ld" -Wl,--gc-sections \
    count.o net.o startup.o -lm -o count.elf || die "linking count.elf"
timeout 300 "$qemu" -M mps2-an386 -cpu cortex-m4 -icount shift=0 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel count.elf >device.txt 2>&1
rc=$?
cat device.txt
[ $rc = 0 ] || die "on the device: exit status $rc"
if [ "$mode" = -DINFER ]; then
    tol=1e-5
    [ "$case" = mnist_mlp_int8 ] && tol=0
    # lenet_int8: the softmax after the int8 logits runs in float with each side's expf (newlib,
    # glibc: a unit in the last place apart); one step of an int8 logit moves p by far more
    [ "$case" = lenet_int8 ] && tol=1e-7
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c99 -O2 -I. -DNET="$net" -DNETU="$up" -DNET_HEADER="\"$net.h\"" -DINFER -DCOUNT_HOST \
        "$here/count_main.c" "$net.c" -lm -o host || die "building the host program"
    ./host >host.txt || die "the host program failed"
    # lenet_int8: the host's own instruction set (x86-64 with AVX-512 VNNI: the convolution's
    # intrinsics) gives the same outputs bit for bit
    # shellcheck disable=SC2086
    if [ "$case" = lenet_int8 ] && ${CC:-cc} -std=c99 -O2 -march=native -I. -DNET="$net" -DNETU="$up" \
        -DNET_HEADER="\"$net.h\"" -DINFER -DCOUNT_HOST "$here/count_main.c" "$net.c" -lm -o host_native 2>/dev/null; then
        ./host_native >host_native.txt || die "the host program (-march=native) failed"
        cmp -s host.txt host_native.txt || die "the host's outputs differ with -march=native"
    fi
    awk -v tol="$tol" '
        NR == FNR { if ($1 == "p") { n = split($0, h, " ") } next }
        $1 == "p" {
            seen = 1
            if (NF != n) { print "the device printed " NF - 1 " outputs, the host " n - 1; exit 1 }
            for (i = 2; i <= NF; i++) {
                d = $i - h[i]
                if (d < 0) d = -d
                if (d > worst) worst = d
            }
        }
        END {
            if (!seen || !n) { print "no outputs to compare"; exit 1 }
            printf "outputs within %.3g of the host'"'"'s (limit %s)\n", worst, tol
            exit worst > tol + 0
        }' host.txt device.txt || die "the device's outputs differ from the host's"
fi
n=$(awk '$1 == "instructions" { print $2 }' device.txt)
[ -n "$n" ] || die "no count from the device"
awk -v c="$case" -v n="$n" -v m="$macs" -v ceil="$ceiling" 'BEGIN {
    printf "%s: %d instructions, %d multiply-adds, %.2f per multiply-add (ceiling %d)\n", c, n, m, n / m, ceil
    if (n > ceil) { printf "FAIL: %d instructions, over the ceiling %d (+%.1f %%)\n", n, ceil, 100 * (n / ceil - 1); exit 1 }
    if (n < ceil / 1.02) printf "note: %.1f %% under the ceiling: lower it in counts.txt\n", 100 * (1 - n / ceil)
}'
