#!/bin/sh
# bench/threads.sh [ROUNDS] - `nngen train --threads 1` and `--threads 2`
# against PyTorch with its default thread count (bench/torch_epoch.py: no
# OMP_NUM_THREADS) on the same jobs: examples/mnist_mlp.nn (EPOCHS_MLP,
# default 3) and examples/lenet.nn (EPOCHS_LENET, default 1) on the 8,000
# shipped MNIST digits, Adam, batch 32, seed 1, no validation; each epoch is
# the steps and the training set's accuracy. The three alternate for
# ROUNDS rounds (default 3); prints the median seconds per epoch of each
# (nngen: its history's last time over the epochs), with the load.
# Trainers are compiled once, before the rounds, into a scratch cache with
# nngen's default flags. BUILD_DIR (default build) must hold nngen and the
# unpacked data (cmake --build build --target nngen mnist_data).
set -eu
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
R=${1:-3}
D=$B/examples/data/mnist10k
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
unset NNGEN_CFLAGS OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS
export NNGEN_CACHE_DIR="$cache"
train="$D/train-images.idx $D/train-labels.idx"
for net in mlp lenet; do
    nn=examples/mnist_mlp.nn
    [ $net = lenet ] && nn=examples/lenet.nn
    "$B/nngen" train $nn --train "$D/train-images.idx,$D/train-labels.idx" --val-split 0 --epochs 1 \
        --progress never >/dev/null # compiles the trainer
done
nngen_epoch() { # NET EPOCHS THREADS: seconds per epoch
    nn=examples/mnist_mlp.nn
    [ "$1" = lenet ] && nn=examples/lenet.nn
    "$B/nngen" train $nn --train "$D/train-images.idx,$D/train-labels.idx" --val-split 0 --epochs "$2" \
        --batch 32 --seed 1 --threads "$3" --progress never --history "$cache/h.csv" >/dev/null
    tail -n 1 "$cache/h.csv" | awk -F, -v e="$2" '{printf "%.3f\n", $NF / e}'
}
torch_epoch() { # NET EPOCHS
    # shellcheck disable=SC2086
    /usr/bin/python3 bench/torch_epoch.py "$1" $train "$2" >"$cache/torch.out"
    head -n 1 "$cache/torch.out" >"$cache/torch.threads"
    tail -n 1 "$cache/torch.out" | cut -d' ' -f1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for net in mlp lenet; do
    e=${EPOCHS_MLP:-3}
    [ $net = lenet ] && e=${EPOCHS_LENET:-1}
    : >"$cache/t1" && : >"$cache/t2" && : >"$cache/tt"
    i=0
    while [ "$i" -lt "$R" ]; do
        nngen_epoch $net "$e" 1 >>"$cache/t1"
        nngen_epoch $net "$e" 2 >>"$cache/t2"
        torch_epoch $net "$e" >>"$cache/tt"
        i=$((i + 1))
    done
    a=$(median <"$cache/t1") b=$(median <"$cache/t2") c=$(median <"$cache/tt")
    echo "$net, $e epoch(s) of 8000, batch 32, median of $R alternating rounds, s per epoch:"
    echo "  nngen train --threads 1: $a   --threads 2: $b   $(cat "$cache/torch.threads"): $c"
    awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "  2 threads / 1: %.2f   nngen 2 threads / torch: %.2f\n", b / a, b / c}'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
