#!/usr/bin/env bash
# scripts/demo.sh - the main job: builds nngen and runs
#   nngen train examples/mnist_mlp.nn
# on the 10,000 real MNIST digits the repository ships (gzip-compressed IDX
# files, read as they are): 5 epochs, batch 32, a progress bar on a terminal,
# per-epoch loss and accuracy, the test accuracy at the end, the weights of
# the best epoch and the training curve written to build/demo/.
# Extra arguments go to nngen train (e.g. --epochs 10).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target nngen >/dev/null
mkdir -p build/demo
d=examples/data/mnist10k
exec build/nngen train examples/mnist_mlp.nn \
    --train "$d/train-images.idx.gz,$d/train-labels.idx.gz" \
    --test "$d/test-images.idx.gz,$d/test-labels.idx.gz" \
    --epochs 5 --batch 32 --seed 1 \
    --save build/demo/mnist_mlp.nnw --plot build/demo/mnist_curve.svg "$@"
