#!/bin/sh
# bench/run.sh [--rounds R] [--quick] [--only NET,...] - nngen's generated code against
# PyTorch 1.13 on the same networks, batch sizes and one thread, in one run;
# prints a table of median times and the ratios nngen/PyTorch, and the peak
# RSS of a 5-epoch MNIST training in each. See bench/README.md.
# BUILD_DIR (default build) is configured and built first.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
cmake -S . -B "$B" >/dev/null
cmake --build "$B" -j2 --target bench >/dev/null
exec /usr/bin/python3 bench/table.py --build "$B" "$@"
