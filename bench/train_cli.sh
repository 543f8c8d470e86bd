#!/bin/sh
# bench/train_cli.sh [ROUNDS] - `nngen train` end to end against the generated
# code's best build (build/examples/train_mnist_mlp: -O3 -march=native
# -fno-math-errno) on the same job, both on one thread (--threads 1): the
# 784-128-10 MLP, Adam, batch 32, 5 epochs of the 8,000 shipped MNIST
# digits, seed 1. The two alternate for
# ROUNDS rounds (default 5); prints each side's median wall time and peak
# RSS and the ratio (goal: time <= 1.10). The trainer is compiled once,
# before the rounds, into a scratch cache with nngen's default flags.
# BUILD_DIR (default build) must hold nngen and train_mnist_mlp
# (cmake --build build --target nngen train_mnist_mlp).
set -eu
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
R=${1:-5}
D=$B/examples/data/mnist10k
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
unset NNGEN_CFLAGS
export NNGEN_CACHE_DIR="$cache"
data="--train $D/train-images.idx,$D/train-labels.idx --test $D/test-images.idx,$D/test-labels.idx --epochs 5 --batch 32 --seed 1"
cli="$B/nngen train examples/mnist_mlp.nn $data --val-split 0 --threads 1" # one thread, as the generated program
gen="$B/examples/train_mnist_mlp $data"
$cli --epochs 1 >/dev/null 2>&1 # compiles the trainer
one() { # one COMMAND...: prints "seconds KiB"
    /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1
}
: >"$cache/cli" && : >"$cache/gen"
i=0
while [ "$i" -lt "$R" ]; do
    # shellcheck disable=SC2086
    one $cli >>"$cache/cli"
    # shellcheck disable=SC2086
    one $gen >>"$cache/gen"
    i=$((i + 1))
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ct=$(cut -d' ' -f1 "$cache/cli" | median) gt=$(cut -d' ' -f1 "$cache/gen" | median)
cr=$(cut -d' ' -f2 "$cache/cli" | median) gr=$(cut -d' ' -f2 "$cache/gen" | median)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "5 epochs of mnist10k, 784-128-10 Adam b32, median of $R alternating rounds:"
echo "  nngen train ($(grep '^cflags:' "$cache"/*/key | head -1)): $ct s, peak RSS $cr KiB"
echo "  train_mnist_mlp (-O3 -march=native -fno-math-errno): $gt s, peak RSS $gr KiB"
awk -v a="$ct" -v b="$gt" 'BEGIN {r = a / b; printf "  time ratio %.2f (goal <= 1.10)%s\n", r, r <= 1.10 ? " met" : " MISSED"}'
