#!/usr/bin/env bash
# scripts/test.sh - builds everything and runs the whole test suite twice:
# a normal build (build/) and one under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan/). Exit status 0 only when both pass.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
run() {
    local dir=$1; shift
    echo "== $dir: configure and build"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
    echo "== $dir: ctest"
    (cd "$dir" && ctest -j"$jobs" --output-on-failure)
}
run build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-asan -DCMAKE_BUILD_TYPE=Debug -DNNGEN_SANITIZE=ON
echo "== all tests passed (plain and sanitized builds)"
