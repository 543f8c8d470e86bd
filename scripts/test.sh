#!/usr/bin/env bash
# scripts/test.sh - builds everything and runs the whole test suite twice:
# a normal build (build/) and one under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan/); then, when clang can link libFuzzer, a 60-second
# fuzzing smoke run (scripts/fuzz.sh: 40 s on the compiler, 10 s each on the
# weight reader and the data loaders). Tests labelled `slow` (acceptance runs:
# full-accuracy training) are left out: run them with `ctest -L slow`.
#
# The sanitized pass runs what exercises the compiler's and the runtime's
# own code: it leaves out the labels `compile` (gcc and clang compiling
# generated code: compiler work, not ours, on C that is byte-identical to
# the plain build's, which tests/determinism shows) and `firmware` (cross
# builds for the Cortex-M4F and QEMU runs, not instrumented), and of
# tests/determinism keeps the two cases the sanitized build registers.
# Exit status 0 only when all of it passes.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
run() {
    local dir=$1 skip=$2; shift 2
    echo "== $dir: configure and build"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
    echo "== $dir: ctest"
    (cd "$dir" && ctest -j"$jobs" -LE "$skip" --output-on-failure)
}
run build slow -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-asan 'slow|compile|firmware' -DCMAKE_BUILD_TYPE=Debug -DNNGEN_SANITIZE=ON
if scripts/fuzz.sh --available; then
    scripts/fuzz.sh 40 compile
    scripts/fuzz.sh 10 weights data
    echo "== all tests passed (plain and sanitized builds, fuzzing smoke run)"
else
    echo "== all tests passed (plain and sanitized builds; no libFuzzer, fuzzing skipped)"
fi
