#!/usr/bin/env bash
# scripts/test.sh - builds everything and runs the test suite twice: a normal
# build (build/) and one under AddressSanitizer + UndefinedBehaviorSanitizer
# (build-asan/). This is the README's test command and what CI runs; it is
# kept under 15 minutes on two cores.
#
#   scripts/test.sh           the suite without the `slow` label
#   scripts/test.sh --full    also the `slow` label (full-accuracy trainings,
#                             the LSTM's compile checks) in the plain build,
#                             then, when clang links libFuzzer, a 60-second
#                             fuzzing run (scripts/fuzz.sh: 40 s on the
#                             compiler, 10 s each on the weight reader and the
#                             data loaders; it builds build-fuzz/ first)
#
# The sanitized pass runs what exercises the compiler's and the runtime's
# own code: it leaves out the labels `compile` (gcc and clang compiling
# generated code: compiler work, not ours, on C that is byte-identical to
# the plain build's, which tests/determinism shows) and `firmware` (cross
# builds for the Cortex-M4F and QEMU runs, not instrumented), and of
# tests/determinism keeps the two cases the sanitized build registers. Both
# passes replay the fuzzers' regression inputs (fuzz.replay_*).
# Exit status 0 only when all of it passes.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
full=0
case ${1:-} in
--full) full=1 ;;
"") ;;
*) echo "usage: scripts/test.sh [--full]" >&2; exit 2 ;;
esac
# Ninja when it is installed (scripts/debian-packages.txt has it): the same
# build as make's in about half the CPU time (make's per-target dependency
# scans cost as much as compiling the ~300 small generated test networks).
# A build directory configured before keeps its generator.
generator() {
    if [ ! -f "$1/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
        echo "-GNinja"
    fi
}
run() {
    local dir=$1 skip=$2; shift 2
    echo "== $dir: configure and build"
    cmake -S . -B "$dir" $(generator "$dir") "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
    echo "== $dir: ctest"
    (cd "$dir" && ctest -j"$jobs" -LE "$skip" --output-on-failure)
}
if [ $full = 1 ]; then plain_skip='^$'; else plain_skip=slow; fi
# The plain build's flags are RelWithDebInfo's with line tables only (-g1 for
# -g): backtraces keep their files and lines, and gcc spends about a quarter
# less CPU on the build (the whole plain build: 333 CPU-s with -g, 243 with
# no debug information; -g1 costs a few percent over none, while -g makes the
# LSTM example's 400 kB of generated C take 2.5 times as long).
run build "$plain_skip" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-asan 'slow|compile|firmware' -DCMAKE_BUILD_TYPE=Debug -DNNGEN_SANITIZE=ON
if [ $full = 0 ]; then
    echo "== all tests passed (plain and sanitized builds; scripts/test.sh --full adds the slow label and fuzzing)"
elif scripts/fuzz.sh --available; then
    scripts/fuzz.sh 40 compile
    scripts/fuzz.sh 10 weights data
    echo "== all tests passed (plain build with the slow label, sanitized build, fuzzing run)"
else
    echo "== all tests passed (plain build with the slow label, sanitized build; no libFuzzer, fuzzing skipped)"
fi
