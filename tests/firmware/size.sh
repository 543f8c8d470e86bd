#!/bin/sh
# tests/firmware/size.sh - nngen --report's firmware figures against a real
# build for the Cortex-M4F:
#
#   size.sh NNGEN ARMGCC WORKDIR NET.nn [NNGEN FLAGS...]
#
# generates NET.nn with --freestanding, the flags and --report, then
#   - compiles NET.c (-O2 -ffreestanding): `arm-none-eabi-size` must show
#     no .data and no .bss (no global mutable state: all of it is in the
#     model struct); with --weights, `nm -S` must give NET_weights (the
#     const parameters, in .rodata: flash; in a training build with
#     --weights the frozen ones and the start values of the others) and
#     NET_weights_buffer (the const buffers, when the network has any)
#     together exactly the report's flash bytes;
#   - compiles model.c, which holds nothing but one model struct
#     (`NET nn_model;`): its .bss must be the report's RAM bytes exactly.
# With NN_RAM_MAX in the environment, the RAM figure must also be at most
# that many bytes (a memory goal: a regression fails the test).
# Prints the figures (text/data/bss of both objects). Exit 0 when they
# agree, 1 when not, 77 (skipped) without arm-none-eabi-gcc.
set -u

nngen=$1 armgcc=$2 work=$3 nn=$4
shift 4
flags="$*"
[ -n "$armgcc" ] && [ -x "$armgcc" ] || {
    echo "SKIP: arm-none-eabi-gcc not found"
    exit 77
}
tools=$(dirname "$armgcc")
size=$tools/arm-none-eabi-size
nm=$tools/arm-none-eabi-nm
[ -x "$size" ] && [ -x "$nm" ] || {
    echo "SKIP: arm-none-eabi-size or arm-none-eabi-nm not found"
    exit 77
}
ARMFLAGS="-std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -ffreestanding -Wall -Wextra -Werror"

die() {
    echo "FAIL: $*"
    exit 1
}

rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
base=$(basename "$nn" .nn)
"$nngen" "$nn" --freestanding "$@" --report -o "$base.c" >report.txt || die "nngen $nn $*"
# the firmware table's lines (with freeze, the comparison with the network
# unfrozen repeats "RAM: model struct" below them)
flash=$(sed -n 's/^  flash: const weights *\([0-9,]*\) .*/\1/p' report.txt | head -n 1 | tr -d ,)
ram=$(sed -n 's/^  RAM: model struct *\([0-9,]*\) .*/\1/p' report.txt | head -n 1 | tr -d ,)
[ -n "$flash" ] && [ -n "$ram" ] || {
    cat report.txt
    die "no firmware figures in the report"
}
net=$(sed -n 's/^typedef struct \([A-Za-z_][A-Za-z0-9_]*\) \1;$/\1/p' "$base.h")
printf '#include "%s.h"\n%s nn_model;\n' "$base" "$net" >model.c
"$armgcc" $ARMFLAGS -c "$base.c" -o net.o || die "compiling $base.c"
"$armgcc" $ARMFLAGS -c model.c -o model.o || die "compiling model.c"

# Berkeley format: text data bss dec hex filename
set -- $("$size" net.o | tail -n 1)
ntext=$1 ndata=$2 nbss=$3
set -- $("$size" model.o | tail -n 1)
mdata=$2 mbss=$3
echo "$base $flags: net.o text $ntext data $ndata bss $nbss; model struct (model.o bss) $mbss"
echo "report: flash (const weights) $flash, RAM (model struct) $ram"
bad=0
if [ "$ndata" != 0 ] || [ "$nbss" != 0 ]; then
    echo "FAIL: $base.o has .data $ndata / .bss $nbss bytes: generated code must keep no global state"
    bad=1
fi
if [ "$mdata" != 0 ] || [ "$mbss" != "$ram" ]; then
    echo "FAIL: the model struct takes $mbss bytes of .bss ($mdata of .data), the report says $ram"
    bad=1
fi
# NET_weights (the parameters) and NET_weights_buffer (the buffers: running
# statistics), when --weights made them
weights=0
for sym in "${net}_weights" "${net}_weights_buffer"; do
    bytes=$("$nm" -S net.o | awk -v s="$sym" '$NF == s { print $2 }')
    [ -n "$bytes" ] || continue
    bytes=$(printf '%d' "0x$bytes")
    sec=$("$nm" -S net.o | awk -v s="$sym" '$NF == s { print $3 }')
    echo "$sym: $bytes bytes, nm type '$sec' (r: read-only data, flash)"
    [ "$sec" = r ] || [ "$sec" = R ] || { echo "FAIL: $sym is not read-only data"; bad=1; }
    weights=$((weights + bytes))
done
if [ -n "${NN_RAM_MAX:-}" ]; then
    echo "RAM goal: at most $NN_RAM_MAX bytes"
    [ "$ram" -le "$NN_RAM_MAX" ] || {
        echo "FAIL: the model struct takes $ram bytes, over the goal of $NN_RAM_MAX"
        bad=1
    }
fi
[ "$weights" = "$flash" ] || {
    echo "FAIL: the const weights take $weights bytes, the report says $flash"
    bad=1
}
# the report's second figure: sizeof on a 64-bit host, when this is one
host64=$(sed -n 's/^  RAM: model struct .*, \([0-9,]*\) on a 64-bit host)$/\1/p' report.txt | tr -d ,)
hostcc=${CC:-cc}
printf '#include <stdio.h>\n#include "%s.h"\nint main(void) { printf("%%d %%lu\\n", (int)sizeof(void *), (unsigned long)sizeof(%s)); return 0; }\n' \
    "$base" "$net" >host.c
if "$hostcc" -std=c99 host.c -o host 2>/dev/null; then
    set -- $(./host)
    if [ "$1" = 8 ]; then
        echo "host: sizeof the model struct $2 (report: $host64)"
        [ "$2" = "$host64" ] || { echo "FAIL: on this 64-bit host the model struct takes $2 bytes, the report says $host64"; bad=1; }
    fi
fi
[ $bad = 0 ] || exit 1
echo ok
