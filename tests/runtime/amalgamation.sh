#!/bin/sh
# tests/runtime/amalgamation.sh - the runtime in one file (nn_runtime.c,
# pasted together from runtime/src/ by cmake/amalgamate.cmake) is C99 that
# CC compiles without a warning, in MODE hosted or freestanding, both as a
# file of its own (NNRT_API: external functions, as a program compiles it
# beside nn_runtime.h) and as `nngen --standalone` pastes it (NNRT_API
# `static inline`), at -O0 and -O2 (some warnings need the optimizer):
#   -std=c99 -Wall -Wextra -Wpedantic -Werror
# freestanding adds -DNN_FREESTANDING -ffreestanding, and then the -O2
# object may reference no symbol but libm's expf, logf and sqrtf (the
# runtime calls no tanhf: nnrt_tanhf is its own). Not at -O0: clang copies
# a struct there with a memcpy call, as C compilers may even freestanding
# (the firmware tests hold arm-none-eabi-gcc to it at every level).
#
#   amalgamation.sh CC NN_RUNTIME_C RUNTIME_DIR MODE WORK
# Exit 0 when all passed, 1 on a failure, 77 (CTest: skipped) without CC.
set -u
[ $# -eq 5 ] || { echo "usage: amalgamation.sh CC NN_RUNTIME_C RUNTIME_DIR MODE WORK" >&2; exit 2; }
cc=$1 src=$2 rtdir=$3 mode=$4 work=$5
[ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1 || { echo "skipped: no compiler '$cc'"; exit 77; }
rm -rf "$work" && mkdir -p "$work" || exit 1
flags="-std=c99 -Wall -Wextra -Wpedantic -Werror -I$rtdir"
case $mode in
hosted) ;;
freestanding) flags="$flags -DNN_FREESTANDING -ffreestanding" ;;
*) echo "amalgamation.sh: MODE is hosted or freestanding" >&2; exit 2 ;;
esac
failures=0
grep -q '^#include "internal.h"' "$src" && { echo "FAIL: $src still includes internal.h"; failures=1; }
for opt in -O0 -O2; do
    for api in extern static; do
        obj=$work/rt$opt-$api.o
        # shellcheck disable=SC2086 # $flags: several words
        if [ $api = static ]; then
            "$cc" $flags $opt "-DNNRT_API=static inline" -c "$src" -o "$obj" >"$work/log" 2>&1
        else
            "$cc" $flags $opt -c "$src" -o "$obj" >"$work/log" 2>&1
        fi || {
            echo "FAIL: $cc $mode $opt NNRT_API=$api:"
            head -n 30 "$work/log"
            failures=$((failures + 1))
            continue
        }
        [ $mode = freestanding ] && [ $opt = -O2 ] || continue
        extra=$(nm -u "$obj" | awk '{print $NF}' | grep -v -x -e expf -e logf -e sqrtf)
        if [ -n "$extra" ]; then
            echo "FAIL: $cc $mode $opt NNRT_API=$api references $(echo $extra)"
            failures=$((failures + 1))
        fi
    done
done
[ "$failures" -eq 0 ] || exit 1
echo "ok: $cc $mode"
