#!/usr/bin/env bash
# scripts/demo.sh - the main job: builds nngen, compiles examples/mnist_mlp.nn
# to C, and trains it for 5 epochs (batch 32) on the 10,000 real MNIST digits
# that ship with the repository (examples/data/mnist10k), printing loss and
# accuracy per epoch and the final test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target nngen train_mnist_mlp mnist_data >/dev/null
d=build/examples/data/mnist10k
exec build/examples/train_mnist_mlp \
    --train "$d/train-images.idx,$d/train-labels.idx" \
    --test "$d/test-images.idx,$d/test-labels.idx" \
    --epochs 5 --batch 32 --seed 1 "$@"
