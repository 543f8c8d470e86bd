#!/bin/sh
# run.sh - the tests of nngen quantize (CMakeLists.txt here runs each):
#   run.sh exact NNGEN SRC WORK        tiny.nn and resid.nn quantized: the C equals
#                                      reference.py bit for bit (rescaling and whole networks),
#                                      NET_forward_int8 equals NET_forward bit for bit,
#                                      gcc and clang -Werror in every mode (plain, --standalone,
#                                      --freestanding); resid.nn also at --max-batch 1,
#                                      -march=native and -mavx2 (the convolution's intrinsics:
#                                      AVX-512 VNNI, AVX2; where the host has them)
#   run.sh accuracy NNGEN SRC WORK NET DATA EPOCHS   train NET (SRC/NET.nn, else
#                                      examples/NET.nn), quantize it on the training images,
#                                      test accuracy of float and int8 (within 0.5 points)
#   run.sh errors NNGEN SRC WORK       misuse: located or one-line errors, inputs untouched
set -eu
mode=$1 nngen=$2 src=$3 work=$4
root=$src/../..
rm -rf "$work" && mkdir -p "$work" && cd "$work"
W="-std=c99 -Wall -Wextra -Wpedantic -Werror"
fail() { echo "FAIL: $*"; exit 1; }

case $mode in
exact)
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        for flags in "" --standalone --freestanding; do
            "$nngen" quantize "$src/tiny.nn" --weights "$src/tiny.nnw" --calibrate "$src/tiny.csv" -o tiny.c $flags
            $cc $W -O2 -I. -I"$root/runtime" -DNET_SOURCE='"tiny.c"' "$src/exact.c" -lm -o exact \
                || fail "$cc $flags"
            ./exact rescale "$src/rescale.txt" >/dev/null || { ./exact rescale "$src/rescale.txt"; fail "rescale ($cc $flags)"; }
            ./exact run "$src/tiny.csv" > tiny.out
            cmp tiny.out "$src/tiny.expected" || { diff tiny.out "$src/tiny.expected" | head; fail "outputs ($cc $flags)"; }
            ./exact int8 || fail "NET_forward_int8 ($cc $flags)"
            ./exact quantize >/dev/null || { ./exact quantize | head; fail "input quantization ($cc $flags)"; }
        done
        # the residual network: one mode per compiler, batch 1 (one sample a call), the host's own
        # instruction set (-march=native: on x86-64 with AVX-512 VNNI the convolution's intrinsics) and
        # AVX2 (its other intrinsics) where the processor has it; clang compiles those two without -Werror
        # warnings, gcc runs them
        for mode in plain "--freestanding --max-batch 1" native avx2; do
            flags= copt=
            case $mode in
            native) copt=-march=native
                    echo 'int main(void) { return 0; }' > native.c
                    $cc $copt native.c -o native 2>/dev/null || continue ;;
            avx2) copt=-mavx2
                  echo 'int main(void) { return !__builtin_cpu_supports("avx2"); }' > avx2.c
                  { $cc $copt avx2.c -o avx2 2>/dev/null && ./avx2; } || continue ;;
            plain) ;;
            *) [ $cc = gcc ] || continue; flags=$mode ;;
            esac
            "$nngen" quantize "$src/resid.nn" --weights "$src/resid.nnw" --calibrate "$src/resid.csv" -o resid.c $flags
            if [ -n "$copt" ] && [ $cc != gcc ]; then # the same intrinsics: clang only checks the warnings
                $cc $W -O2 $copt -fsyntax-only -I. -I"$root/runtime" resid.c || fail "$cc resid $mode"
                continue
            fi
            $cc $W -O2 $copt -I. -I"$root/runtime" -DNET_SOURCE='"resid.c"' -DNET=resid -DNETU=RESID "$src/exact.c" -lm \
                -o exact_resid || fail "$cc resid $mode"
            ./exact_resid $([ -z "$flags" ] && echo run || echo run1) "$src/resid.csv" > resid.out
            # at batch 1 the arena is 712 bytes: the second convolution's windows (392: 8 of 48 bytes, 8 of
            # slack) live with its input a (160) and output b (160); the add writes over a, the largest first
            [ -z "$flags" ] || grep -q "^#define RESID_ARENA_BYTES 712 " resid.h || fail "resid arena: $(grep ARENA_BYTES resid.h)"
            cmp resid.out "$src/resid.expected" || { diff resid.out "$src/resid.expected" | head; fail "resid outputs ($cc $mode)"; }
            ./exact_resid int8 || fail "resid: NET_forward_int8 ($cc $mode)"
            ./exact_resid rescale "$src/rescale.txt" >/dev/null || { ./exact_resid rescale "$src/rescale.txt"; fail "resid: rescale ($cc $mode)"; }
        done
        echo "$cc: rescaling and outputs equal the reference bit for bit (plain, standalone, freestanding)"
    done
    ;;
accuracy)
    net=$5 data=$6 epochs=$7
    nn="$root/examples/$net.nn"
    [ -f "$src/$net.nn" ] && nn="$src/$net.nn" # a network of this directory
    d="$data"
    for f in train-images train-labels test-images test-labels; do gzip -dc "$d/$f.idx.gz" > $f.idx; done
    "$nngen" train "$nn" --train train-images.idx,train-labels.idx --epochs "$epochs" \
        --batch 32 --seed 1 --save net.nnw --progress never --cache-dir cache > train.log || { cat train.log; fail train; }
    "$nngen" "$nn" --infer-only --weights net.nnw -o float.c
    "$nngen" quantize "$nn" --weights net.nnw --calibrate train-images.idx -o int8.c --report > report.txt
    up=$(echo "$net" | tr a-z A-Z)
    for v in float int8; do
        gcc $W -O2 -I. -I"$root/runtime" -I"$root/runtime/data" -DNET=$net -DNETU=$up -DNET_HEADER="\"$v.h\"" "$src/accuracy.c" "$root/runtime/data/nn_data.c" $v.c \
            "${NNRT_C:?the runtime amalgamation (NNRT_C) is not set}" -lm -o acc_$v || fail "compile $v"
    done
    fa=$(./acc_float test-images.idx test-labels.idx | awk '{print $2}')
    qa=$(./acc_int8 test-images.idx test-labels.idx | awk '{print $2}')
    cat report.txt
    echo "$net: float $fa %, int8 $qa % on the 2000 test digits"
    awk -v f="$fa" -v q="$qa" 'BEGIN { exit !(q >= f - 0.5) }' || fail "int8 accuracy $qa % is more than 0.5 points below float $fa %"
    ;;
errors)
    cp "$root/examples/xor.nn" xor.nn
    "$nngen" quantize xor.nn --calibrate "$root/examples/data/xor.csv" 2> e1 && fail "no --weights accepted"
    grep -q "needs the trained weights: --weights" e1 || fail "no --weights: $(cat e1)"
    d="$root/examples/data/mnist10k"
    gzip -dc "$d/test-images.idx.gz" > imgs.idx
    printf 'network m\ninput x[784]\nh = relu(dense(x, 4))\noutput p = softmax(h)\n' > m.nn
    printf 'network m\ninput x[784]\noutput p = softmax(x)\n' > islands.nn
    # weights of m.nn: an inference build saves its initial ones
    "$nngen" m.nn --infer-only -o m0.c >/dev/null
    cat > save.c <<'C'
#include "m0.h"
static m net;
int main(int argc, char **argv) { (void)argc; m_init(&net, 1); return m_save(&net, argv[1]) != 0; }
C
    gcc -std=c99 -I. -I"$root/runtime" save.c m0.c "${NNRT_C:?the runtime amalgamation (NNRT_C) is not set}" -lm -o save && ./save m.nnw
    "$nngen" quantize m.nn --weights m.nnw --calibrate "$root/examples/data/xor.csv" -o out.c 2> e2 && fail "wrong shape accepted"
    grep -q "xor.csv' has 3 columns; the network's input takes 784" e2 || fail "wrong shape: $(cat e2)"
    [ ! -e out.c ] || fail "out.c written after an error"
    # a comma in an existing file's name is part of the name, not IMAGES,LABELS
    cp "$root/examples/data/xor.csv" "x,y.csv"
    "$nngen" quantize m.nn --weights m.nnw --calibrate "x,y.csv" -o out.c 2> e5 && fail "wrong shape accepted"
    grep -q "x,y.csv' has 3 columns; the network's input takes 784" e5 || fail "comma in a name: $(cat e5)"
    "$nngen" quantize m.nn --weights m.nnw --calibrate imgs.idx -o out.c || fail "a valid run"
    # the arena by liveness at batch 1: the quantized input, the hidden layer and the dense layer's
    # int16 copy of its input, live together (784 + 4 + 1568 bytes); the logits' float copy reuses
    # the input's bytes
    "$nngen" quantize m.nn --weights m.nnw --calibrate imgs.idx -o one.c --max-batch 1 >/dev/null
    grep -q "^#define M_ARENA_BYTES 2356 " one.h || fail "arena at batch 1: $(grep ARENA_BYTES one.h)"
    cp m.nn m.keep
    "$nngen" quantize m.nn --weights m.nnw --calibrate imgs.idx -o m.nn 2> e3 && fail "overwrote the network"
    grep -q "would overwrite the network 'm.nn'" e3 && cmp m.nn m.keep || fail "overwrite: $(cat e3)"
    "$nngen" quantize m.nn --weights m.nnw --calibrate imgs.idx -o imgs.idx 2> e4 && fail "overwrote the data"
    grep -q "would overwrite the calibration data" e4 || fail "data: $(cat e4)"
    # an add of a constant after the relu, and a mean over the channels: located, no kernel
    printf 'network m\ninput x[784]\nh = relu(dense(x, 4))\noutput p = h + 1.0\n' > addc.nn
    "$nngen" quantize addc.nn --weights m.nnw --calibrate imgs.idx -o a.c 2> e6 && fail "add of a constant accepted"
    grep -q "addc.nn:4:14: error: nngen quantize: this add has no int8 kernel" e6 || fail "add: $(cat e6)"
    printf 'network m\ninput x[784]\nh = relu(dense(x, 4))\noutput p = softmax(h)\noutput q = mean(reshape(x, [28, 28]), axis=0)\n' > mean0.nn
    "$nngen" quantize mean0.nn --weights m.nnw --calibrate imgs.idx -o a.c 2> e7 && fail "mean over axis 0 accepted"
    grep -q "mean0.nn:5:12: error: nngen quantize: this mean has no int8 kernel" e7 || fail "mean: $(cat e7)"
    [ ! -e a.c ] || fail "a.c written after an error"
    set +e
    "$nngen" quantize islands.nn --weights m.nnw --calibrate imgs.idx -o i.c 2> e5; rc=$?
    set -e
    [ $rc = 1 ] || fail "islands only: status $rc"
    # the weight file names another network: NET_load's check, located at nothing but named
    grep -q "islands.nn:2:8: error: nngen quantize: network m has no dense or conv2d layer" e5 \
        || grep -q "weight" e5 || fail "islands: $(cat e5)"
    echo "errors: all reported, no input overwritten"
    ;;
esac
