#!/usr/bin/env bash
# examples/optimizers/compare.sh - trains examples/mnist_mlp's network with
# SGD, SGD + momentum, AdaGrad, RMSprop and Adam on the 10,000 MNIST digits
# the repository ships (same initial weights, same batches) and prints the
# test accuracy of each after every epoch. Builds what it needs first.
#
#   examples/optimizers/compare.sh [--epochs 10] [--batch 32] [--seed 1]
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target compare_optimizers mnist_data >/dev/null
d=build/examples/data/mnist10k
exec build/examples/optimizers/compare_optimizers \
    --train "$d/train-images.idx,$d/train-labels.idx" \
    --test "$d/test-images.idx,$d/test-labels.idx" "$@"
