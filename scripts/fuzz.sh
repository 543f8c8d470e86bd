#!/usr/bin/env bash
# scripts/fuzz.sh - builds the libFuzzer harnesses (clang, ASan + UBSan) in
# build-fuzz/ and runs them.
#
#   scripts/fuzz.sh [SECONDS [HARNESS...]]    default: 60 s each, compile weights data
#   scripts/fuzz.sh --available               exit 0 when clang can link libFuzzer
#
# Each harness starts from its seed corpus (tests/fuzz/corpus.sh) plus what
# earlier runs found (build-fuzz/corpus/HARNESS, kept between runs), runs for
# SECONDS seconds with the .nn dictionary (compile harness) and stops at the
# first crash: the input is then in build-fuzz/crashes/ and the exit status is
# 1. To keep a fixed crash as a regression test, copy the input to
# tests/fuzz/regress/HARNESS/ (CTest replays that directory in every build).
# FUZZ_OUT=DIR builds and keeps everything in DIR instead of build-fuzz/.
# The last lines of each run's log (build-fuzz/HARNESS.log) give the figures:
# execs, cov (edges) and ft (features).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cc=${FUZZ_CC:-clang}

available() {
    local t
    t=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$t/f.c"
    "$cc" -fsanitize=fuzzer,address,undefined "$t/f.c" -o "$t/f" >/dev/null 2>&1
    local rc=$?
    rm -rf "$t"
    return $rc
}

if [ "${1:-}" = "--available" ]; then
    available
    exit $?
fi
secs=${1:-60}
shift || true
harnesses=${*:-compile weights data}
if ! available; then
    echo "fuzz.sh: $cc cannot link libFuzzer (apt-get install clang, libclang-rt-dev)" >&2
    exit 2
fi

out=${FUZZ_OUT:-$root/build-fuzz} # another directory lets two runs go at once
echo "== build-fuzz: configure and build ($cc, libFuzzer, ASan + UBSan)"
cmake -S . -B "$out" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNGEN_FUZZ=ON >/dev/null
cmake --build "$out" -j"$(nproc)" --target fuzz_compile_fuzzer fuzz_weights_fuzzer fuzz_data_fuzzer \
    fuzz_seeds >/dev/null
mkdir -p "$out/crashes"
status=0
for h in $harnesses; do
    seeds=$out/seeds/$h
    corpus=$out/corpus/$h
    mkdir -p "$corpus"
    sh tests/fuzz/corpus.sh "$h" "$root" "$seeds" "$out/tests/fuzz/fuzz_seeds"
    opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$out/crashes/$h-")
    case $h in
    compile) opts+=(-dict=tests/fuzz/nn.dict -max_len=16384) ;;
    weights | data) opts+=(-max_len=1024) ;;
    *) echo "fuzz.sh: no harness '$h'" >&2; exit 2 ;;
    esac
    echo "== fuzz_$h: $secs s"
    # new inputs go to the first directory, the corpus kept between runs
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/tests/fuzz/fuzz_${h}_fuzzer" "${opts[@]}" "$corpus" "$seeds" >"$out/$h.log" 2>&1; then
        grep -E '^#[0-9]+.*(DONE|pulse)' "$out/$h.log" | tail -n 1 || true
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$out/$h.log" || true
    else
        echo "fuzz_$h FAILED: see $out/$h.log; the input is in $out/crashes/" >&2
        tail -n 40 "$out/$h.log" >&2
        status=1
    fi
done
exit $status
