#!/bin/sh
# bench/run.sh [--rounds R] [--quick] [--only NET,...] [--epochs N] [--cpu N|auto|none] [--list] [--help]
# nngen's generated code against PyTorch 1.13 on the same networks, batch
# sizes and one thread, in one run; the peak RSS of a 5-epoch MNIST training
# in each; and end to end (`--only e2e` alone), `nngen train` on
# examples/mnist_mlp.nn and examples/lenet.nn (default flags: 10 epochs, 2
# with --quick, or --epochs N) against the same training in PyTorch. Prints
# one markdown table (medians of alternating rounds, ratios nngen/PyTorch)
# and the load average at the start and the end. See bench/README.md.
# BUILD_DIR (default build) is configured and built first.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
case " $* " in
*" --list "* | *" --help "* | *" -h "*) exec /usr/bin/python3 bench/table.py "$@" ;;
esac
cmake -S . -B "$B" >/dev/null
cmake --build "$B" -j2 --target nngen bench >/dev/null
exec /usr/bin/python3 bench/table.py --build "$B" "$@"
