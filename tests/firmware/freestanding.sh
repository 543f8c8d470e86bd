#!/bin/sh
# tests/firmware/freestanding.sh - `nngen --freestanding` output is what
# docs/language.md's firmware users need: standard headers <stdint.h>,
# <stddef.h> and <math.h> only, no file functions, and an object that
# references no symbol outside libm's expf, logf, tanhf and sqrtf.
#
#   freestanding.sh net NNGEN "HOSTCC..." ARMGCC WORKDIR NET.nn
#     NET.nn is generated with --freestanding, with and without
#     --infer-only; each output is byte-identical when generated again and
#       - includes nothing but its header, <stdint.h>, <stddef.h>, <math.h>
#         and declares no NET_save / NET_load;
#       - compiles with every host compiler given (networks of examples/
#         only: for test networks the compile label holds their warnings,
#         and only the training build's include set and Cortex-M4 object are
#         checked here, its --infer-only build not) (-std=c99 -Wall -Wextra
#         -Wpedantic -Werror); with the first, a generated main runs
#         NET_init, NET_forward, NET_train_step (when there is training),
#         NET_export into a buffer of NET_WEIGHTS_BYTES, NET_import into a
#         model initialized with another seed, and checks that both models
#         then give the same outputs and that a damaged image is refused;
#       - compiles with arm-none-eabi-gcc for a Cortex-M4F with -std=c99
#         -Wall -Wextra -Wpedantic -Werror -ffreestanding, at -O2 (and,
#         for the shipped examples, at -O0, -Os and -O3), and `nm -u` of the
#         object lists nothing but expf, logf, tanhf, sqrtf and gcc's
#         run-time helpers (__aeabi_*: soft double arithmetic, 64-bit
#         division). -ffreestanding matters: without it gcc may turn a
#         zero-filling loop into a call of memset. Only the network's code
#         is compiled (runtime/nn_runtime.h included in place of the pasted
#         runtime, whose nnrt_* functions nm may then list), but for
#         examples mnist_mlp and lenet, compiled whole at -O2 as well: the
#         runtime is checked on its own, by the runtime mode, at -O0, -O2,
#         -Os and -O3.
#   freestanding.sh runtime NN_RUNTIME_C "" ARMGCC WORKDIR NN_RUNTIME_H
#     the runtime in one file (the build tree's nn_runtime.c, pasted
#     together from runtime/src/) beside its header, with NN_FREESTANDING:
#     the same arm-none-eabi checks.
#
# Exit 0 when all passed, 1 on a failure, 77 (CTest: skipped) when the
# host part passed but arm-none-eabi-gcc is missing.
set -u

mode=$1 nngen=$2 hostcc=$3 armgcc=$4 work=$5
shift 5
# the runtime's header directory (test networks' code is compiled against it)
rtdir=$(cd "$(dirname "$0")/../../runtime" && pwd)
case $nngen in /*) ;; *) nngen=$(pwd)/$nngen ;; esac
ARMFLAGS="-std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Wall -Wextra -Wpedantic -Werror -ffreestanding"
CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror"
failures=0

# fail, run, line (run shows a failing command's output, counts it)
. "$(dirname "$0")/../compile/lib.sh"

# arm_check OBJ.c FLAGS...: compiles for the Cortex-M4F, then nm
arm_check() {
    src=$1
    shift
    obj=${src%.c}.arm.o
    run "arm-none-eabi-gcc $* $src" "$armgcc" $ARMFLAGS "$@" -c "$src" -o "$obj" || return
    nm=$(dirname "$armgcc")/arm-none-eabi-nm
    [ -x "$nm" ] || nm=arm-none-eabi-nm
    bad=$("$nm" -u "$obj" | awk '{print $NF}' | grep -v '^__aeabi_' | grep -v -x -e expf -e logf -e tanhf -e sqrtf |
        { if [ "$src" != "${src%.net.c}" ]; then grep -v '^nnrt_'; else cat; fi; })
    if [ -n "$bad" ]; then
        fail "$src $*: references symbols outside libm's expf logf tanhf sqrtf: $(echo $bad)"
    fi
}

have_arm() {
    [ -n "$armgcc" ] && [ -x "$armgcc" ]
}

# main.c for network NET (header H, macros UP_...)
gen_main() {
    net=$1 up=$2 h=$3 train=$4
    inputs=$(sed -n "s/^void ${net}_forward(${net} \*m\(.*\), int n);$/\1/p" "$h")
    args=$(echo "$inputs" | sed -e 's/const float \*[A-Za-z0-9_]*/fs_fbuf/g' -e 's/^, //')
    targs=$(sed -n "s/^float ${net}_train_step(${net} \*m\(.*\), int n);$/\1/p" "$h" |
        sed -e 's/const float \*[A-Za-z0-9_]*/fs_fbuf/g' -e 's/const int32_t \*[A-Za-z0-9_]*/fs_ibuf/g' -e 's/^, //')
    outs=$(sed -n "s/^const float \*${net}_output_\([A-Za-z0-9_]*\)(.*/\1/p" "$h")
    big=1
    for s in $(sed -n 's/^#define [A-Za-z0-9_]*_SIZE \([0-9][0-9]*\)$/\1/p' "$h"); do
        [ "$s" -gt "$big" ] && big=$s
    done
    big=$((2 * big * 4))
    cat <<EOF
#include <stdio.h>
#include <string.h>
#include "$h"
static float fs_fbuf[$big];
static int32_t fs_ibuf[2];
static $net fs_a, fs_b; /* prefixed: a network may be named a, b, image, ... */
static unsigned char fs_image[${up}_WEIGHTS_BYTES + 1];
static float fs_first[$big];
int main(void) {
    int bad = 0, i;
    long len, off = 0;
    (void)fs_ibuf;
    (void)fs_first;
    (void)off;
    for (i = 0; i < $big; i++)
        fs_fbuf[i] = 0.1f + 0.8f * (float)(i % 7) / 6.0f;
    ${net}_init(&fs_a, 1);
EOF
    if [ "$train" = 1 ]; then
        line "    ${net}_train_step(&fs_a, $targs, 2);"
    fi
    cat <<EOF
    len = ${net}_export(&fs_a, fs_image, sizeof fs_image);
    if (len != ${up}_WEIGHTS_BYTES) {
        printf("export: %ld bytes, ${up}_WEIGHTS_BYTES is %ld\n", len, (long)${up}_WEIGHTS_BYTES);
        bad = 1;
    }
    if (${net}_export(&fs_a, fs_image, ${up}_WEIGHTS_BYTES - 1) != NN_ERR_CAPACITY) {
        printf("export into a buffer too small: not NN_ERR_CAPACITY\n");
        bad = 1;
    }
    ${net}_init(&fs_b, 2);
    if (${net}_import(&fs_b, fs_image, (size_t)len) != 0) {
        printf("import of the exported image failed\n");
        bad = 1;
    }
    ${net}_forward(&fs_a, ${args:+$args, }2);
EOF
    for o in $outs; do
        ou=$(echo "$o" | tr 'a-z' 'A-Z')
        line "    memcpy(fs_first + off, ${net}_output_$o(&fs_a), sizeof(float) * 2 * ${up}_OUT_${ou}_SIZE);"
        line "    off += 2 * ${up}_OUT_${ou}_SIZE;"
    done
    line "    ${net}_forward(&fs_b, ${args:+$args, }2);"
    line "    off = 0;"
    for o in $outs; do
        ou=$(echo "$o" | tr 'a-z' 'A-Z')
        line "    if (memcmp(fs_first + off, ${net}_output_$o(&fs_b), sizeof(float) * 2 * ${up}_OUT_${ou}_SIZE)) {"
        line "        printf(\"output $o differs after export and import\\n\");"
        line "        bad = 1;"
        line "    }"
        line "    off += 2 * ${up}_OUT_${ou}_SIZE;"
    done
    cat <<EOF
    fs_image[len - 5] ^= 1u; /* in the buffer count or the last data: damage */
    if (${net}_import(&fs_b, fs_image, (size_t)len) >= 0) {
        printf("a damaged image was imported\n");
        bad = 1;
    }
    printf("${net}: export/import of %ld bytes %s\n", len, bad ? "FAILED" : "ok");
    return bad;
}
EOF
}

# check_variant DIR NET.nn "HOSTCC..." "LEVEL..." [NNGEN FLAGS]: one variant
# of NET.nn in DIR, compiled and run with the host compilers given (none: the
# include set and the Cortex-M4 object only), for the target at the levels
check_variant() {
    dir=$1 nn=$2 run_ccs=$3 levels=$4
    shift 4
    base=$(basename "$nn" .nn)
    mkdir -p "$dir/again"
    # in subshells: a failure counted there is lost, so count it here
    (cd "$dir" && run "nngen --freestanding $*" "$nngen" "$nn" --freestanding "$@" -o "$base.c") || {
        failures=$((failures + 1))
        return
    }
    (cd "$dir/again" && run "nngen --freestanding $* (again)" "$nngen" "$nn" --freestanding "$@" -o "$base.c") || {
        failures=$((failures + 1))
        return
    }
    for ext in c h; do
        cmp -s "$dir/$base.$ext" "$dir/again/$base.$ext" || fail "$base.$ext with '$*' differs between two runs"
    done
    cd "$dir" || return
    # the headers the preprocessor really opens (gcc -H: one dot per level)
    first_cc=$(for cc in $hostcc; do echo "$cc"; break; done)
    if [ -n "$first_cc" ]; then
        "$first_cc" -std=c99 -H -fsyntax-only "$base.c" 2>incs.log
        incs=$(sed -n 's/^\. //p' incs.log | sed 's|.*/||' | sort -u |
            grep -v -x -e stdint.h -e stddef.h -e math.h -e "$base.h")
        [ -z "$incs" ] || fail "$base.c includes $(echo $incs)"
    fi
    ! grep -q -e '_save(' -e '_load(' "$base.h" || fail "$base.h declares NET_save / NET_load"
    grep -q '_export(' "$base.h" || fail "$base.h declares no NET_export"
    net=$(sed -n 's/^typedef struct \([A-Za-z_][A-Za-z0-9_]*\) \1;$/\1/p' "$base.h")
    up=$(sed -n 's/^#define \([A-Za-z0-9_]*\)_MAX_BATCH [0-9]*$/\1/p' "$base.h")
    train=0
    grep -q "^float ${net}_train_step(" "$base.h" && train=1
    first=1
    for cc in $run_ccs; do
        [ -x "$cc" ] || command -v "$cc" >/dev/null 2>&1 || continue
        tag=$(basename "$cc")
        if [ $first = 1 ]; then
            gen_main "$net" "$up" "$base.h" $train >main.c
            run "$tag: $base.c" "$cc" $CFLAGS -c "$base.c" -o "$base.$tag.o" &&
                run "$tag: main.c" "$cc" $CFLAGS -c main.c -o "main.$tag.o" &&
                run "$tag: link with libm alone" "$cc" -o "main.$tag" "main.$tag.o" "$base.$tag.o" -lm &&
                run "$tag: run" "./main.$tag"
            first=0
        else
            run "$tag: $base.c" "$cc" $CFLAGS -fsyntax-only "$base.c"
        fi
    done
    if have_arm; then
        # LEVEL compiles the whole file; net:LEVEL the network part alone
        for o in $levels; do
            case $o in
            net:*)
                if network_part "$base.c" >"$base.net.c"; then
                    arm_check "$base.net.c" "${o#net:}" -I"$rtdir"
                else
                    fail "$base.c: no '/* ---- network' line after the pasted runtime"
                fi
                ;;
            *) arm_check "$base.c" "$o" ;;
            esac
        done
    fi
    cd - >/dev/null || exit 1
}

# network_part NET.c: the network's own code of a --freestanding output, to be
# compiled without the pasted runtime (freestanding.sh runtime checks that, at
# four levels): the lines before the runtime but the one making it static
# inline, nn_runtime.h (its functions then external: nm lists the ones the
# network calls) and everything from the network's banner on
network_part() {
    grep -q '^/\* ---- network ' "$1" || return 1
    awk '/^\/\* ---- the nngen runtime / { exit } !/^#define NNRT_API / { print }' "$1"
    line '#include "nn_runtime.h" /* freestanding.sh: the runtime as a library */'
    awk '/^\/\* ---- network / { f = 1 } f { print }' "$1"
}

rm -rf "$work"
mkdir -p "$work" || exit 1
case $mode in
net)
    nn=$1
    # the shipped examples' network code at the levels firmware is built
    # with, -O0, -O2, -Os and -O3; two of them (mnist_mlp, lenet) whole at
    # -O2 besides, the pasted runtime as --freestanding pastes it: its
    # warnings and symbols in a network's file (the runtime alone at all
    # four levels is the runtime mode's; the pasted text is the same in
    # every output, and compiling it whole again for each example took half
    # of these tests' time); test networks: their network code at -O2
    levels=net:-O2 whole=
    case $nn in */examples/mnist_mlp.nn | */examples/lenet.nn) whole=-O2 ;; esac
    case $nn in */examples/*) levels="${whole:-net:-O2} net:-O0 net:-Os net:-O3" ;; esac
    case $nn in
    */examples/*)
        check_variant "$work/train" "$nn" "$hostcc" "$levels"
        check_variant "$work/infer-only" "$nn" "$hostcc" "${whole:-net:-O2}" --infer-only
        ;;
    *)
        # a test network (an op's case): what is freestanding about its code
        # is checked here, the include set and the symbols its network code
        # references on the Cortex-M4F (compiled without the pasted runtime,
        # which firmware.freestanding.runtime checks: a fifth of the time);
        # its warnings under gcc and clang and its --infer-only build are the
        # compile label's (the network code is the hosted output's), the
        # export/import round trip the examples'
        check_variant "$work/train" "$nn" "" "$levels"
        ;;
    esac
    ;;
runtime)
    rtc=$nngen rth=$1
    if have_arm; then
        cd "$work" || exit 1
        cp "$rtc" "$rth" . || exit 1
        for o in -O0 -O2 -Os -O3; do
            arm_check nn_runtime.c -DNN_FREESTANDING "$o"
        done
    fi
    ;;
*)
    echo "usage: freestanding.sh net|runtime ..." >&2
    exit 2
    ;;
esac

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
if ! have_arm; then
    echo "SKIP: arm-none-eabi-gcc not found: the Cortex-M4 checks did not run"
    exit 77
fi
echo ok
exit 0
