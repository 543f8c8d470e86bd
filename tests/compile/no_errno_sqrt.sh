#!/bin/sh
# tests/compile/no_errno_sqrt.sh NNGEN RUNTIME_DIR WORK CC... - the Adam update
# of examples/mnist_mlp.nn compiled with the plain line (CC -std=c99 -O2, no
# -fno-math-errno) calls no scalar sqrtf: the generated C declares libm's
# float functions const (compiler/emit/emit.c, emit_libm_decls), so the
# square root is an instruction. x86-64 only (the assembly's call syntax);
# skips (77) elsewhere or without a compiler.
set -u
nngen=$1 rt=$2 work=$3
shift 3
[ "$(uname -m)" = x86_64 ] || exit 77
rm -rf "$work" && mkdir -p "$work" || exit 1
"$nngen" "$(dirname "$0")/../../examples/mnist_mlp.nn" -o "$work/net.c" || exit 1
grep -q "sqrtf(adam_v" "$work/net.c" || { echo "FAIL: no sqrtf in the Adam update"; exit 1; }
ran=0
for cc in "$@"; do
    command -v "$cc" >/dev/null 2>&1 || continue
    "$cc" -std=c99 -O2 -I"$rt" -I"$work" -S "$work/net.c" -o "$work/net.s" || exit 1
    if grep -E "(call|jmp)[[:space:]].*sqrtf" "$work/net.s" >/dev/null; then
        echo "FAIL: $cc -O2 left a scalar call of sqrtf"
        exit 1
    fi
    ran=1
done
[ "$ran" = 1 ] || exit 77
