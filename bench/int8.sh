#!/bin/sh
# bench/int8.sh [NET...] - int8 (nngen quantize) against float (--infer-only
# --weights) inference of the same network on the host, batch 1 and 32,
# timed by bench.c (-DBENCH_INFER_ONLY); prints the median times and the
# ratio int8 / float. Default networks: mnist_mlp lenet (examples/). The
# weights are the networks' initial ones (NET_init seed 1, saved): the time
# of integer arithmetic does not depend on the values. Calibration: the
# shipped test digits. Both builds --standalone, -O3 -march=native, as
# bench/README.md's; BUILD_DIR (default build) provides nngen.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
B=${BUILD_DIR:-build}
[ $# -gt 0 ] || set -- mnist_mlp lenet
cmake -S . -B "$B" >/dev/null
cmake --build "$B" -j2 --target nngen >/dev/null
nngen=$root/$B/nngen
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
gzip -dc examples/data/mnist10k/test-images.idx.gz > "$w/images.idx"
CC=${CC:-cc}
O="-std=c99 -O3 -march=native -I$w"
printf '%-10s %6s %12s %12s %8s\n' network batch float_us int8_us int8/float
for net in "$@"; do
    up=$(echo "$net" | tr a-z A-Z)
    nn=examples/$net.nn
    # the initial weights, saved by an inference build
    "$nngen" "$nn" --infer-only --standalone -o "$w/init.c" >/dev/null
    printf '#include "init.h"\nstatic %s m;\nint main(int c, char **v) { (void)c; %s_init(&m, 1); return %s_save(&m, v[1]) != 0; }\n' \
        "$net" "$net" "$net" > "$w/save.c"
    $CC $O "$w/save.c" "$w/init.c" -lm -o "$w/save" && "$w/save" "$w/$net.nnw"
    "$nngen" "$nn" --infer-only --weights "$w/$net.nnw" --standalone --max-batch 32 -o "$w/float.c" >/dev/null
    "$nngen" quantize "$nn" --weights "$w/$net.nnw" --calibrate "$w/images.idx" --standalone --max-batch 32 \
        -o "$w/int8.c" >/dev/null
    for v in float int8; do
        $CC $O -DBENCH_INFER_ONLY -DNET=$net -DNETU=$up -DNET_HEADER="\"$v.h\"" bench/bench.c "$w/$v.c" -lm \
            -o "$w/bench_$v"
        "$w/bench_$v" --only infer 1 32 > "$w/$v.txt"
    done
    for batch in 1 32; do
        f=$(awk -v b=$batch '$3 == b { print $4 }' "$w/float.txt")
        q=$(awk -v b=$batch '$3 == b { print $4 }' "$w/int8.txt")
        awk -v n="$net" -v b="$batch" -v f="$f" -v q="$q" 'BEGIN { printf "%-10s %6d %12.2f %12.2f %8.2f\n", n, b, f, q, q / f }'
    done
done
