#!/bin/sh
# tests/firmware/qemu.sh - the firmware example (examples/firmware) built
# for a Cortex-M4F and run under QEMU (mps2-an386, semihosting: printf goes
# to stdout, main's return value becomes QEMU's exit status), each run
# under `timeout` (a fault hangs nothing, startup.c exits, but a loop could).
#
#   qemu.sh build ARMGCC SOURCE_DIR BUILD_DIR NNGEN WEIGHTS_DIR MNIST_DIR
#       configures and builds the cross project (arm-none-eabi.cmake)
#   qemu.sh toolchain ARMGCC REPO_ROOT WORKDIR NNGEN WEIGHTS_DIR MNIST_DIR
#       configures (only) the cross project from the repository's root as
#       the docs show it: with no -DCMAKE_TOOLCHAIN_FILE (the default,
#       examples/firmware/arm-none-eabi.cmake) and with that path given
#       relative to the root; both must pick arm-none-eabi-gcc
#   qemu.sh mnist QEMU ELF REFERENCE WEIGHTS.nnw MNIST_DIR COUNT WORKDIR
#       runs the inference firmware and the host reference (the same network
#       on the host, weights loaded from the file); every line must agree:
#       label and prediction equal, each output within 1e-5 of the host's
#   qemu.sh train QEMU ELF MIN_RIGHT WORKDIR
#       runs a training firmware: exit status 0 (its export/import check),
#       the loss of the last epoch below half the first's, and at least
#       MIN_RIGHT samples right
#   qemu.sh finetune QEMU ELF NNGEN REPO_ROOT FW_BUILD_DIR WEIGHTS_DIR MIN_PERCENT WORKDIR
#       runs fw_digits_head.elf (the CNN fine-tuning) and the same program
#       built for the host ($CC, default cc) from the same generated C
#       (nngen --freestanding --weights digits_cnn.nnw) and the same data
#       headers: every line must agree (the counts exactly, each epoch's
#       loss within 1e-4 relative as printed, each printed output within 1e-5), and
#       the device's test accuracy must be at least MIN_PERCENT
#
# Exit 0 when it passed, 1 when not, 77 (CTest: skipped) when the tool the
# mode needs (arm-none-eabi-gcc, qemu-system-arm) is missing or, for the
# runs, when the cross build never ran (no arm-none-eabi-gcc). The build
# leaves BUILD_DIR.attempted before it starts and checks that every ELF of
# the example exists afterwards; a run whose ELF is missing after a build
# was attempted fails, it is not skipped.
set -u

skip() {
    echo "SKIP: $*"
    exit 77
}

die() {
    echo "FAIL: $*"
    exit 1
}

# need_elf ELF: fails when ELF is missing though the cross build ran (its
# BUILD_DIR.attempted marker, BUILD_DIR the ELF's directory), skips when the
# build never ran
need_elf() {
    [ -f "$1" ] && return 0
    [ -f "$(dirname "$1").attempted" ] && die "no $1: the cross build ran but did not produce it"
    skip "no $1 (firmware.build did not run: no cross compiler)"
}

# qemu_run QEMU ELF OUT: the firmware's stdout in OUT; its status returned
qemu_run() {
    timeout 300 "$1" -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$2" >"$3" 2>"$3.err"
}

mode=$1
shift
case $mode in
build)
    armgcc=$1 src=$2 build=$3 nngen=$4 weights=$5 mnist=$6
    [ -n "$armgcc" ] && [ -x "$armgcc" ] || skip "arm-none-eabi-gcc not found"
    mkdir -p "$(dirname "$build")" && : >"$build.attempted" || die "cannot write $build.attempted"
    for f in "$weights/mnist_mlp32.nnw" "$weights/mnist_mlp.nnw" "$weights/mnist_bn.nnw" "$weights/moons.nnw"; do
        [ -f "$f" ] || die "$f is missing: the host build trains it (target firmware_weights)"
    done
    cmake -S "$src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$src/arm-none-eabi.cmake" -DNNGEN="$nngen" \
        -DNN_WEIGHTS_DIR="$weights" -DNN_MNIST_DIR="$mnist" >"$build.configure.log" 2>&1 || {
        cat "$build.configure.log"
        die "configuring the cross build"
    }
    cmake --build "$build" -j2 || die "the cross build"
    for f in "$weights/digits_cnn.nnw" "$weights/few59-images.idx" "$weights/test59-images.idx"; do
        [ -f "$f" ] || die "$f is missing: the host build makes it (target firmware_weights)"
    done
    for elf in fw_mnist_mlp32 fw_mnist_mlp fw_mnist_bn fw_xor fw_moons fw_moons_head fw_digits_head; do
        [ -f "$build/$elf.elf" ] || die "the cross build succeeded but $build/$elf.elf is missing"
    done
    ;;
toolchain)
    armgcc=$1 root=$2 work=$3 nngen=$4 weights=$5 mnist=$6
    [ -n "$armgcc" ] && [ -x "$armgcc" ] || skip "arm-none-eabi-gcc not found"
    rm -rf "$work" && mkdir -p "$work" || exit 1
    cd "$root" || exit 1
    for how in default relative; do
        case $how in
        default) tc= ;;
        relative) tc=-DCMAKE_TOOLCHAIN_FILE=examples/firmware/arm-none-eabi.cmake ;;
        esac
        # the build directory is relative too, as in the docs (build-fw)
        rel=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1]))' "$work/$how")
        cmake -S examples/firmware -B "$rel" $tc -DNNGEN="$nngen" -DNN_WEIGHTS_DIR="$weights" \
            -DNN_MNIST_DIR="$mnist" >"$work/$how.log" 2>&1 || {
            cat "$work/$how.log"
            die "configuring the cross build ($how toolchain path)"
        }
        grep -q '^set(CMAKE_C_COMPILER ".*arm-none-eabi-gcc")' "$work/$how"/CMakeFiles/*/CMakeCCompiler.cmake ||
            die "the $how toolchain path did not select arm-none-eabi-gcc"
    done
    echo "the default and the relative toolchain path both configure the cross build"
    ;;
mnist)
    qemu=$1 elf=$2 ref=$3 nnw=$4 mnist=$5 count=$6 work=$7
    [ -n "$qemu" ] && [ -x "$qemu" ] || skip "qemu-system-arm not found"
    need_elf "$elf"
    rm -rf "$work" && mkdir -p "$work" || exit 1
    qemu_run "$qemu" "$elf" "$work/device.txt" || {
        cat "$work/device.txt" "$work/device.txt.err"
        die "the firmware exited with status $?"
    }
    "$ref" "$nnw" "$mnist/test-images.idx" "$mnist/test-labels.idx" "$count" >"$work/host.txt" ||
        die "the host reference failed"
    grep -v '^network ' "$work/device.txt" >"$work/device.cmp"
    awk -v count="$count" '
        NR == FNR { host[FNR] = $0; nhost = FNR; next }
        {
            n++
            if (n > nhost) { print "the device printed more lines than the host"; bad = 1; exit }
            nh = split(host[n], h, " ")
            if ($1 == "digit") {
                if (h[1] != "digit" || $2 != h[2] || $4 != h[4] || $6 != h[6] || NF != nh) {
                    print "digit " $2 ": device says label " $4 " pred " $6 ", host label " h[4] " pred " h[6]
                    bad = 1
                }
                for (i = 8; i <= NF; i++) {
                    d = $i - h[i]
                    if (d < 0) d = -d
                    if (d > worst) worst = d
                    if (d > 1e-5) { print "digit " $2 " output " i - 8 ": device " $i ", host " h[i]; bad = 1 }
                }
                digits++
            } else if ($0 != host[n]) {
                print "device: " $0 "\nhost:   " host[n]
                bad = 1
            }
        }
        END {
            if (n != nhost) { print "the device printed " n " lines, the host " nhost; bad = 1 }
            if (digits != count) { print digits " digits compared, expected " count; bad = 1 }
            printf "%d digits, outputs within %.3g of the host (limit 1e-5)\n", digits, worst
            exit bad
        }' "$work/host.txt" "$work/device.cmp" || {
        echo "--- device:"
        cat "$work/device.txt"
        die "on-target inference differs from the host's"
    }
    head -n 1 "$work/device.txt"
    tail -n 1 "$work/device.txt"
    ;;
train)
    qemu=$1 elf=$2 min=$3 work=$4
    [ -n "$qemu" ] && [ -x "$qemu" ] || skip "qemu-system-arm not found"
    need_elf "$elf"
    rm -rf "$work" && mkdir -p "$work" || exit 1
    out=$work/device.txt
    qemu_run "$qemu" "$elf" "$out"
    st=$?
    cat "$out"
    [ $st = 0 ] || die "the firmware exited with status $st"
    grep -q '^export/import: .* round trip exact, damaged image: status -6$' "$out" ||
        die "no successful export/import check"
    awk -v min="$min" '
        $1 == "epoch" { if (first == "") first = $4; last = $4 }
        $1 == "accuracy" { right = $2; seen = 1 }
        END {
            if (first == "" || !(last < first / 2)) { print "the loss did not fall: " first " -> " last; exit 1 }
            if (!seen || right < min) { print "accuracy: " right " right, at least " min " needed"; exit 1 }
            printf "loss %s -> %s, %d right (at least %d)\n", first, last, right, min
        }' "$out" || die "training on the device did not converge"
    ;;
finetune)
    qemu=$1 elf=$2 nngen=$3 root=$4 fw=$5 weights=$6 min=$7 work=$8
    [ -n "$qemu" ] && [ -x "$qemu" ] || skip "qemu-system-arm not found"
    need_elf "$elf"
    rm -rf "$work" && mkdir -p "$work" || exit 1
    "$nngen" "$root/examples/digits_head.nn" --freestanding --max-batch 1 --weights "$weights/digits_cnn.nnw" \
        -o "$work/digits_head.c" || die "nngen digits_head.nn --weights digits_cnn.nnw"
    ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -I "$work" -I "$root/examples/firmware" \
        -I "$fw/digits59" -DNET=digits_head -DNETU=DIGITS_HEAD -DNET_HEADER='"digits_head.h"' -DEPOCHS=10 \
        -o "$work/host" "$root/examples/firmware/finetune_main.c" "$work/digits_head.c" -lm ||
        die "building the host's finetune_main.c"
    "$work/host" >"$work/host.txt" || die "the host run failed"
    qemu_run "$qemu" "$elf" "$work/device.txt" || {
        cat "$work/device.txt" "$work/device.txt.err"
        die "the firmware exited with status $?"
    }
    cat "$work/device.txt"
    # the model struct's size is the target's (32-bit) on one side, the host's on the other
    sed 's/, model struct [0-9]* bytes$//' "$work/host.txt" >"$work/host.cmp"
    sed 's/, model struct [0-9]* bytes$//' "$work/device.txt" >"$work/device.cmp"
    awk -v min="$min" '
        function rel(a, b,   d) { d = a - b; if (d < 0) d = -d; b = b < 0 ? -b : b; return d / (b > 1e-3 ? b : 1e-3) }
        NR == FNR { host[FNR] = $0; nhost = FNR; next }
        {
            n++
            nh = split(host[n], h, " ")
            if ($1 == "epoch" && h[1] == "epoch" && $2 == h[2]) {
                e = rel($4, h[4]); if (e > worst_loss) worst_loss = e
                if (e > 1e-4) { print "epoch " $2 ": device loss " $4 ", host " h[4]; bad = 1 }
            } else if ($1 == "digit" && h[1] == "digit" && NF == nh && $2 == h[2] && $4 == h[4] && $6 == h[6]) {
                for (i = 8; i <= NF; i++) {
                    d = $i - h[i]; if (d < 0) d = -d
                    if (d > worst_out) worst_out = d
                    if (d > 1e-5) { print "digit " $2 " output " i - 8 ": device " $i ", host " h[i]; bad = 1 }
                }
            } else if ($0 != host[n]) {
                print "device: " $0 "\nhost:   " host[n]; bad = 1
            }
            if ($1 == "test" && $2 == "accuracy") { right = $3; total = $5 }
        }
        END {
            if (n != nhost) { print "the device printed " n " lines, the host " nhost; bad = 1 }
            if (total == "" || 100 * right < min * total) { print "device accuracy " right " of " total ", at least " min " % needed"; bad = 1 }
            printf "device against host: losses within %.3g relative, outputs within %.3g; %d of %d right\n", worst_loss, worst_out, right, total
            exit bad
        }' "$work/host.cmp" "$work/device.cmp" || die "the fine-tuning on the device differs from the host run"
    ;;
*)
    echo "usage: qemu.sh build|toolchain|mnist|train|finetune ..." >&2
    exit 2
    ;;
esac
exit 0
