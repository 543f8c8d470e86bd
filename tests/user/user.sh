#!/bin/sh
# shellcheck disable=SC2317,SC2086 # cases run by name; $flags splits on purpose
# tests/user/user.sh - the user's commands, run for real: nngen train,
# predict, check, graph and --list-builtins, one CTest test per case.
#
#   user.sh --list                  the case names, one a line
#   user.sh NNGEN ROOT WORK CASE    runs CASE; ROOT is the source tree, WORK a
#                                   scratch directory (emptied first)
#
# Trainers are compiled with NNGEN_CFLAGS=-O0 (fast to build; the numbers
# are the same) into the cache $NNGEN_CACHE_DIR (CMake gives every case the
# same one, so a driver is built once per build tree), except where a case
# says otherwise. Needs: a C compiler, gzip, xmllint (libxml2-utils) for the
# SVG checks, script (util-linux) for the terminal case; Graphviz's dot is
# used when installed.
set -u

cases="train_classifier train_regression train_binary_no_validation early_stop target_by_name
progress_on_a_terminal cache predict_classifier predict_regression_and_inference_only
predict_errors train_errors mnist check graph list_builtins_and_docs man_page driver_warnings
interrupt fine_tune loss_warnings train_diverged stop_signals cache_damaged
data_sources data_names huge_numbers threads"

if [ "${1:-}" = "--list" ]; then
    for c in $cases; do echo "$c"; done
    exit 0
fi

fail() {
    echo "FAIL ($case): $*" >&2
    for f in out err; do
        if [ -s "$work/$f" ]; then
            echo "--- std$f of the last run:" >&2
            tail -n 25 "$work/$f" >&2
        fi
    done
    exit 1
}

[ $# -eq 4 ] || { echo "usage: user.sh --list | user.sh NNGEN ROOT WORK CASE" >&2; exit 2; }
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$2" && pwd)
work=$3
case=$4
[ -x "$nngen" ] || fail "no nngen at $nngen"
{ rm -rf "$work" && mkdir -p "$work/run"; } || fail "cannot make $work"
work=$(cd "$work" && pwd)
run=$work/run
ex=$root/examples
data=$ex/data
mnist=$data/mnist10k
export NNGEN_CFLAGS="${NNGEN_CFLAGS--O0}"
export NNGEN_CACHE_DIR="${NNGEN_CACHE_DIR:-$work/cache}"
export TMPDIR="$work/tmp" # nngen's temporary directories (unpacked .gz, history) must not outlive a run
mkdir -p "$TMPDIR"

# ---- helpers

# nngen ARGS...: runs nngen in $run; sets $rc, stdout in $work/out, stderr in $work/err
nngen() {
    last="nngen $*"
    (cd "$run" && "$nngen" "$@") >"$work/out" 2>"$work/err"
    rc=$?
}
expect_rc() {
    [ "$rc" -eq "$1" ] || fail "'$last' exited with $rc, expected $1"
}
contains() { # contains FILE TEXT
    grep -q -F -- "$2" "$1" || fail "$1 does not contain '$2' (after '$last')"
}
lacks() { # lacks FILE TEXT
    ! grep -q -F -- "$2" "$1" || fail "$1 contains '$2' (after '$last')"
}
# a clear command-line error: exit 2, "nngen: error: ..." naming $1
expect_error() {
    expect_rc 2
    grep -q '^nngen: error: ' "$work/err" || fail "'$last': no 'nngen: error:' line"
    grep -q -F -- "$1" "$work/err" || fail "'$last': the message does not mention '$1'"
}
# the number after "accuracy" (or "mse") on the line starting with $2 in file $1
number_after() { # number_after FILE LINE-PREFIX WORD
    sed -n "s/^$2.* $3 *\([0-9.]*\).*/\1/p" "$1" | tail -n 1
}
at_least() { # at_least VALUE MIN WHAT
    awk -v v="$1" -v m="$2" 'BEGIN { exit !(v != "" && v + 0 >= m + 0) }' || fail "$3 is '$1', expected >= $2"
}
at_most() {
    awk -v v="$1" -v m="$2" 'BEGIN { exit !(v != "" && v + 0 <= m + 0) }' || fail "$3 is '$1', expected <= $2"
}
# svg_paths FILE: the number of <path> elements, after checking it is well-formed XML
svg_paths() {
    command -v xmllint >/dev/null || fail "xmllint is needed (Debian: libxml2-utils; scripts/setup.sh installs it)"
    xmllint --noout "$1" || fail "$1 is not well-formed XML"
    xmllint --xpath "count(//*[local-name()='path'])" "$1"
}
lines() { wc -l <"$1" | tr -d ' '; }
moons_train() { # trains moons with extra options; weights in $run/moons.nnw
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --test "$data/moons.csv" --epochs 40 --batch 4 \
        --lr 0.1 "$@"
}

# ---- cases

case_train_classifier() {
    moons_train --save moons.nnw --plot curve.svg --history history.csv --progress never
    expect_rc 0
    contains "$work/out" "network moons: 17 parameters; classifier"
    contains "$work/out" "data: 180 training, 20 validation (10 %), 200 test samples"
    [ "$(grep -c '^epoch ' "$work/out")" -eq 40 ] || fail "expected 40 epoch lines"
    contains "$work/out" "epoch  1/40  train loss "
    contains "$work/out" "val loss "
    grep -q '^epoch.*  \*$' "$work/out" || fail "no epoch is marked as the best so far"
    contains "$work/out" "best epoch "
    contains "$work/out" "saved moons.nnw (the weights of epoch "
    contains "$work/out" "wrote curve.svg"
    acc=$(number_after "$work/out" "test (200 samples)" accuracy)
    at_least "$acc" 90 "the test accuracy"
    [ "$(head -c 4 "$run/moons.nnw")" = NNW1 ] || fail "moons.nnw is not a weight file"
    [ "$(head -n 1 "$run/history.csv")" = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds" ] ||
        fail "history.csv header: $(head -n 1 "$run/history.csv")"
    [ "$(lines "$run/history.csv")" -eq 41 ] || fail "history.csv should have 40 epochs"
    [ "$(svg_paths "$run/curve.svg")" = 4 ] || fail "curve.svg: expected 4 paths (train/val loss, train/val accuracy)"
    contains "$run/curve.svg" ">validation accuracy</text>"
    contains "$run/curve.svg" ">accuracy (%)</text>"
    lacks "$run/curve.svg" "href"
    ! ls "$run" | grep -q "moons[.]nnw[.]tmp" || fail "a temporary weight file was left"
}

# nngen train --init: a network with moons' hidden layer frozen starts from
# moons' trained weights, reports the tensors it took, and keeps the frozen
# ones: its saved W1 equals the pre-trained one byte for byte
case_fine_tune() {
    moons_train --save moons.nnw --progress never
    expect_rc 0
    sed 's/^optimizer /freeze W1, b1\noptimizer /; s/^regularize l2(0.001, W1, W2)$/regularize l2(0.001, W2)/' \
        "$ex/moons.nn" >"$run/ft.nn"
    nngen train "$run/ft.nn" --train "$data/moons.csv" --epochs 3 --batch 4 --init "$run/moons.nnw" \
        --save ft.nnw --progress never
    expect_rc 0
    contains "$work/out" "took 4 tensors from $run/moons.nnw"
    # after the 21-byte header (magic, version, "moons", count) the records
    # of W1 [2, 3] (42 bytes) and b1 [3] (26), then W2 [3, 2] (42) and b2 [2] (22)
    a=$(od -An -tx1 -j 21 -N 68 "$run/moons.nnw")
    b=$(od -An -tx1 -j 21 -N 68 "$run/ft.nnw")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "the frozen W1, b1 changed in fine-tuning"
    c=$(od -An -tx1 -j 89 -N 64 "$run/moons.nnw")
    d=$(od -An -tx1 -j 89 -N 64 "$run/ft.nnw")
    [ "$c" != "$d" ] || fail "the trainable W2, b2 did not change"
    nngen train "$run/ft.nn" --train "$data/moons.csv" --epochs 1 --init "$run/nosuch.nnw"
    expect_rc 2
    contains "$work/err" "cannot read '$run/nosuch.nnw'"
}

case_train_regression() {
    nngen train "$ex/poly.nn" --train "$data/poly.csv" --test "$data/poly.csv" --epochs 60 --batch 16 --plot p.svg
    expect_rc 0
    contains "$work/out" "regression: mean squared error of output p against target y"
    contains "$work/out" "  mse "
    lacks "$work/out" "accuracy"
    mse=$(number_after "$work/out" "test (200 samples)" mse)
    at_most "$mse" 0.05 "the test MSE"
    [ "$(svg_paths "$run/p.svg")" = 4 ] || fail "p.svg: expected 4 paths"
    contains "$run/p.svg" ">mean squared error</text>"
}

case_train_binary_no_validation() {
    nngen train "$ex/xor.nn" --train "$data/xor.csv" --test "$data/xor.csv" --val-split 0 --epochs 2000 \
        --batch 4 --seed 1 --plot x.svg --history h.csv
    expect_rc 0
    contains "$work/out" "binary classifier: accuracy of output p against target y (p > 0.5)"
    contains "$work/out" "data: 4 training samples (no validation)"
    lacks "$work/out" "val loss"
    lacks "$work/out" "best epoch"
    contains "$work/out" "test (4 samples): loss"
    contains "$work/out" "accuracy 100.00 %"
    n=$(grep -c '^epoch ' "$work/out")
    [ "$n" -ge 40 ] && [ "$n" -le 52 ] || fail "2000 epochs should print about 50 lines, not $n"
    [ "$(lines "$run/h.csv")" -eq 2001 ] || fail "the history should have every epoch"
    [ "$(head -n 1 "$run/h.csv")" = "epoch,train_loss,train_accuracy,seconds" ] || fail "h.csv header"
    [ "$(svg_paths "$run/x.svg")" = 2 ] || fail "x.svg: expected 2 paths (train loss, train accuracy)"
}

case_early_stop() {
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 300 --batch 1 --early-stop 3 --save m.nnw \
        --history h.csv
    expect_rc 0
    contains "$work/out" "early stop: no lower validation loss for 3 epochs"
    best=$(sed -n 's/^best epoch \([0-9]*\):.*/\1/p' "$work/out")
    [ -n "$best" ] || fail "no best epoch line"
    contains "$work/out" "saved m.nnw (the weights of epoch $best)"
    last=$(tail -n 1 "$run/h.csv" | cut -d, -f1)
    [ "$last" -eq $((best + 3)) ] || fail "stopped at epoch $last, expected best ($best) + 3"
    # the saved weights are the best epoch's: their validation loss is the best one
    best_loss=$(awk -F, -v e="$best" 'NR > 1 && $1 == e { print $4 }' "$run/h.csv")
    min_loss=$(awk -F, 'NR > 1 && (m == "" || $4 < m) { m = $4 } END { print m }' "$run/h.csv")
    [ "$best_loss" = "$min_loss" ] || fail "best epoch's val loss $best_loss is not the minimum $min_loss"
}

case_target_by_name() {
    # the same data with the label first: --target label must give the same run
    awk -F, 'BEGIN { OFS = "," } { print $3, $1, $2 }' "$data/moons.csv" >"$run/first.csv"
    moons_train --progress never
    expect_rc 0
    grep -v -e '^data:' -e '^training data ' -e '^test data ' "$work/out" >"$work/a"
    nngen train "$ex/moons.nn" --train first.csv --test first.csv --epochs 40 --batch 4 --lr 0.1 --target label
    expect_rc 0
    grep -v -e '^data:' -e '^training data ' -e '^test data ' "$work/out" >"$work/b"
    cmp -s "$work/a" "$work/b" || fail "--target label on first.csv differs from the last-column run"
    nngen train "$ex/moons.nn" --train first.csv --target nosuch
    expect_error "has no column named 'nosuch'"
    tail -n +2 "$run/first.csv" >"$run/noheader.csv"
    nngen train "$ex/moons.nn" --train noheader.csv --target label
    expect_error "has no header line"
}

case_progress_on_a_terminal() {
    command -v script >/dev/null || fail "script (util-linux) is needed for a terminal"
    cmd="cd '$run' && '$nngen' train '$ex/moons.nn' --train '$data/moons.csv' --epochs 3 --batch 1"
    script -qec "$cmd" /dev/null >"$work/out" 2>"$work/err" </dev/null
    rc=$?
    last="$cmd (on a terminal)"
    expect_rc 0
    contains "$work/out" "steps/s"
    contains "$work/out" "ETA "
    contains "$work/out" "epoch 1/3 ["
    grep -q "$(printf '\r')" "$work/out" || fail "the bar is not redrawn in place"
    contains "$work/out" "epoch 1/3  train loss"
    # not a terminal: plain lines only
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 3 --batch 1
    expect_rc 0
    lacks "$work/out" "steps/s"
    lacks "$work/err" "steps/s"
    [ "$(grep -c '^epoch ' "$work/out")" -eq 3 ] || fail "expected 3 plain epoch lines"
    # forced
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 1 --batch 1 --progress always
    expect_rc 0
    contains "$work/err" "steps/s"
    lacks "$work/out" "steps/s"
}

# entries DIR: the trainers in cache DIR (16 hex digits; besides them
# compilers/ keeps what each C compiler answered)
entries() { ls "$1" | grep -c '^[0-9a-f]\{16\}$'; }

case_cache() {
    export NNGEN_CACHE_DIR="$work/cache"
    cp "$ex/xor.nn" "$run/x.nn"
    nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 2
    expect_rc 0
    contains "$work/err" "compiled the trainer"
    nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 2 --verbose
    expect_rc 0
    lacks "$work/err" "compiled the trainer"
    contains "$work/err" "using the cached trainer in $work/cache/"
    [ "$(entries "$work/cache")" -eq 1 ] || fail "expected one cache entry"
    entry=$(ls -d "$work/cache"/????????????????)
    for f in key net.c net.h driver.c nntrain; do [ -f "$entry/$f" ] || fail "the cache entry has no $f"; done
    contains "$entry/key" "network xor"
    # a change of the source (a comment), of the flags or of the compiler is another entry
    echo "# changed" >>"$run/x.nn"
    nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 2
    contains "$work/err" "compiled the trainer"
    NNGEN_CFLAGS=-O1 nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 2
    contains "$work/err" "compiled the trainer"
    [ "$(entries "$work/cache")" -eq 3 ] || fail "expected three cache entries"
    # the CPU is in the key: another model name or flags line is another entry, the same is a hit
    printf 'processor\t: 0\nmodel name\t: Test CPU 1\nflags\t\t: fpu sse2 avx2\n' >"$work/cpu1"
    printf 'processor\t: 0\nmodel name\t: Test CPU 1\nflags\t\t: fpu sse2 avx2 avx512f\n' >"$work/cpu2"
    printf 'processor\t: 0\nmodel name\t: Test CPU 2\nflags\t\t: fpu sse2 avx2\n' >"$work/cpu3"
    for c in cpu1 cpu2 cpu3 cpu1; do
        NNGEN_CPUINFO="$work/$c" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
        expect_rc 0
    done
    [ "$(entries "$work/cache")" -eq 6 ] || fail "expected six cache entries after three CPUs"
    grep -l "^cpu: Test CPU 2, flags " "$work/cache"/*/key >/dev/null || fail "no key names the CPU"
    # the default flags (the tests set NNGEN_CFLAGS=-O0): -march=native when the compiler takes it
    (unset NNGEN_CFLAGS; nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1 --cache-dir "$work/native")
    if "${CC:-cc}" -march=native -E -x c /dev/null >/dev/null 2>&1; then
        grep -q "^cflags: -O3 -march=native$" "$work/native"/*/key || fail "the default flags lack -march=native"
    else
        grep -q "^cflags: -O3$" "$work/native"/*/key || fail "the default flags are not -O3"
    fi
    # the compiler is asked once: a run whose trainer is cached runs no compiler,
    # until the compiler's file changes
    printf '#!/bin/sh\necho "$*" >>"%s/cc.log"\nexec cc "$@"\n' "$work" >"$work/logcc"
    chmod +x "$work/logcc"
    CC="$work/logcc" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
    expect_rc 0
    grep -q -e '--version' "$work/cc.log" && grep -q -e '-march=native -E' "$work/cc.log" &&
        grep -q -e '-o nntrain' "$work/cc.log" || fail "the first run did not ask and use the compiler: $(cat "$work/cc.log")"
    grep -q -x "cc: $work/logcc" "$work/cache/compilers"/* || fail "no compilers/ file names $work/logcc"
    rm "$work/cc.log"
    CC="$work/logcc" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
    expect_rc 0
    [ ! -e "$work/cc.log" ] || fail "a run with a cached trainer ran the compiler: $(cat "$work/cc.log")"
    touch -d '2001-02-03 04:05:06' "$work/logcc"
    CC="$work/logcc" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
    expect_rc 0
    grep -q -e '--version' "$work/cc.log" || fail "a compiler whose file changed was not asked again"
    ! grep -q -e '-o nntrain' "$work/cc.log" || fail "the same compiler's answers rebuilt the trainer"
    # --cache-dir wins over the environment
    nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1 --cache-dir "$work/other"
    expect_rc 0
    [ -d "$work/other" ] && [ "$(entries "$work/other")" -eq 1 ] || fail "--cache-dir was not used"
    # XDG_CACHE_HOME, then HOME
    (unset NNGEN_CACHE_DIR; XDG_CACHE_HOME="$work/xdg" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1)
    [ -d "$work/xdg/nngen" ] || fail "XDG_CACHE_HOME/nngen was not used"
    (unset NNGEN_CACHE_DIR XDG_CACHE_HOME; HOME="$work/home" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1)
    [ -d "$work/home/.cache/nngen" ] || fail "~/.cache/nngen was not used"
    # two runs at once on an empty cache: both succeed, one entry, nothing half-built left
    export NNGEN_CACHE_DIR="$work/race"
    (cd "$run" && "$nngen" train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1 >"$work/r1" 2>&1) &
    (cd "$run" && "$nngen" train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1 >"$work/r2" 2>&1) &
    wait
    grep -q "^epoch 1/1" "$work/r1" && grep -q "^epoch 1/1" "$work/r2" || fail "a concurrent run failed: $(cat "$work/r1" "$work/r2")"
    [ "$(ls "$work/race")" = "$(ls "$work/race" | grep -v '^tmp\.')" ] || fail "a temporary build directory was left"
    [ "$(entries "$work/race")" -eq 1 ] || fail "expected one entry after the race"
    # no compiler: a clear error
    CC=/nonexistent/cc nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
    expect_error "no C compiler: '/nonexistent/cc' was not found"
    # a compiler that fails: its output and the command are shown
    CC="$(command -v false)" nngen train x.nn --train "$data/xor.csv" --val-split 0 --epochs 1
    expect_rc 2
    grep -q '^nngen: error: ' "$work/err" || fail "no error for a failing compiler"
    # an unwritable cache directory
    nngen train x.nn --train "$data/xor.csv" --cache-dir /proc/nngen-cache
    expect_error "cannot create the cache directory"
}

case_predict_classifier() {
    moons_train --save moons.nnw --progress never
    expect_rc 0
    acc=$(number_after "$work/out" "test (200 samples)" accuracy)
    nngen predict "$ex/moons.nn" --weights moons.nnw --input "$data/moons.csv"
    expect_rc 0
    cp "$work/out" "$run/pred.csv"
    [ "$(head -n 1 "$run/pred.csv")" = "class,p_0,p_1" ] || fail "predict header: $(head -n 1 "$run/pred.csv")"
    [ "$(lines "$run/pred.csv")" -eq 201 ] || fail "expected 200 prediction rows"
    # class is the argmax, probabilities sum to 1
    awk -F, 'NR > 1 { if (($2 > $3) != ($1 == 0)) exit 1; s = $2 + $3; if (s < 0.999 || s > 1.001) exit 1 }' \
        "$run/pred.csv" || fail "a row's class is not its argmax, or its probabilities do not sum to 1"
    # the predictions score exactly the test accuracy train printed
    tail -n +2 "$data/moons.csv" >"$work/labels"
    tail -n +2 "$run/pred.csv" >"$work/preds"
    got=$(paste -d, "$work/labels" "$work/preds" | awk -F, '{ n++; r += ($3 == $4) } END { printf "%.2f", 100 * r / n }')
    [ "$got" = "$acc" ] || fail "predict's accuracy $got differs from train's test accuracy $acc"
    # an input without the label column works too
    cut -d, -f1,2 "$data/moons.csv" >"$run/x.csv"
    nngen predict "$ex/moons.nn" --weights moons.nnw --input x.csv
    expect_rc 0
    cmp -s "$work/out" "$run/pred.csv" || fail "predict on the inputs alone differs"
}

case_predict_regression_and_inference_only() {
    nngen train "$ex/poly.nn" --train "$data/poly.csv" --epochs 5 --save poly.nnw
    expect_rc 0
    nngen predict "$ex/poly.nn" --weights poly.nnw --input "$data/poly.csv"
    expect_rc 0
    [ "$(head -n 1 "$work/out")" = "p" ] || fail "regression header: $(head -n 1 "$work/out")"
    [ "$(lines "$work/out")" -eq 201 ] || fail "expected 200 rows"
    # an inference-only file of the same network reads the weights and predicts the same
    moons_train --save moons.nnw
    nngen predict "$ex/moons.nn" --weights moons.nnw --input "$data/moons.csv"
    cut -d, -f2,3 "$work/out" >"$work/trainable"
    grep -v -e '^target' -e '^loss' -e '^regularize' -e '^optimizer' "$ex/moons.nn" >"$run/infer.nn"
    nngen predict infer.nn --weights moons.nnw --input "$data/moons.csv"
    expect_error "has 3 columns; moons takes 2 input value(s) and 0 target value(s)"
    cut -d, -f1,2 "$data/moons.csv" >"$run/x.csv"
    nngen predict infer.nn --weights moons.nnw --input x.csv
    expect_rc 0
    [ "$(head -n 1 "$work/out")" = "p_0,p_1" ] || fail "an inference-only network prints its outputs: $(head -n 1 "$work/out")"
    cmp -s "$work/out" "$work/trainable" || fail "the inference-only network predicts differently"
    nngen train infer.nn --train "$data/moons.csv"
    expect_error "has no loss"
}

case_predict_errors() {
    nngen train "$ex/xor.nn" --train "$data/xor.csv" --val-split 0 --epochs 1 --save xor.nnw
    expect_rc 0
    nngen predict "$ex/moons.nn" --input "$data/moons.csv"
    expect_error "needs --weights"
    nngen predict "$ex/moons.nn" --weights xor.nnw --input "$data/moons.csv"
    expect_error "written by another network"
    nngen predict "$ex/moons.nn" --weights nosuch.nnw --input "$data/moons.csv"
    expect_error "cannot load 'nosuch.nnw'"
    cut -d, -f1 "$data/xor.csv" >"$run/one.csv"
    nngen predict "$ex/xor.nn" --weights xor.nnw --input one.csv
    expect_error "has 1 column; xor takes 2 input value(s) and 1 target value(s) per sample (3 columns, or the inputs alone)"
    nngen predict "$ex/xor.nn" --weights xor.nnw --input "$data/xor.csv" --bogus
    expect_error "unknown option '--bogus'"
}

# --lr 1e30: the first epoch's loss is not finite: reported, training stops,
# nothing saved (no epoch had a finite loss), exit 2; with validation and
# without (then the training loss of the epoch's weights tells)
case_train_diverged() {
    for split in 0.1 0; do
        nngen train "$ex/moons.nn" --train "$data/moons.csv" --lr 1e30 --epochs 3 --val-split $split --save w.nnw
        expect_error "training diverged in epoch 1"
        contains "$work/out" "diverged in epoch 1: the loss is not finite"
        contains "$work/out" "nothing saved to w.nnw"
        lacks "$work/out" "epoch 2/3"
        [ ! -e "$run/w.nnw" ] || fail "'$last' saved diverged weights"
    done
}

case_train_errors() {
    nngen train "$ex/moons.nn"
    expect_error "no training data"
    nngen train
    expect_error "no network file"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 0
    expect_error "--epochs takes an integer from 1"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --val-split 1.5
    expect_error "--val-split takes a number from 0 to 0.99"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --seed -1
    expect_error "--seed takes an integer"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --progress sometimes
    expect_error "--progress takes one of auto|always|never"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs
    expect_error "--epochs needs a value"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --bogus 3
    expect_error "unknown option '--bogus'"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --threads 65
    expect_error "--threads takes an integer from 0 to 64, not '65'"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --threads two
    expect_error "--threads takes an integer from 0 to 64, not 'two'"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --val-split 0 --early-stop 2
    expect_error "--early-stop needs validation data"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --plot nodir/c.svg
    expect_error "cannot write 'nodir/c.svg' (--plot): the directory 'nodir' does not exist"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --save nodir/w.nnw
    expect_error "cannot write 'nodir/w.nnw' (--save): the directory 'nodir' does not exist"
    nngen train "$ex/moons.nn" --train nosuch.csv
    expect_error "cannot read 'nosuch.csv'"
    # a malformed CSV line is named: its line number and what is wrong
    printf 'x0,x1,label\n0.5,0.5,1\n\n0.1,oops,0\n' >"$run/badfield.csv"
    nngen train "$ex/moons.nn" --train badfield.csv
    expect_error "cannot read 'badfield.csv': line 4: field 2, 'oops', is not a number"
    printf 'x0,x1,label\n0.5,0.5,1\n0.1,0\n' >"$run/badcols.csv"
    nngen train "$ex/moons.nn" --train badcols.csv
    expect_error "cannot read 'badcols.csv': line 3: 2 fields where the first line has 3"
    nngen train "$ex/moons.nn" --train "$data/poly.csv"
    expect_error "has 2 columns; moons takes 2 input value(s) and 1 target value(s)"
    printf 'x0,x1,label\n0.5,0.5,2\n' >"$run/badlabel.csv"
    nngen train "$ex/moons.nn" --train badlabel.csv --val-split 0
    expect_error "data row 1: 2 is not a class of target y, an integer in [0, 2)"
    printf 'x0,x1,label\n0.5,zz,1\n' >"$run/garbage.csv"
    nngen train "$ex/moons.nn" --train garbage.csv
    expect_error "cannot read 'garbage.csv'"
    echo "not gzip" >"$run/fake.csv.gz"
    nngen train "$ex/moons.nn" --train fake.csv.gz
    expect_error "'fake.csv.gz' is not a valid gzip file"
    nngen train "$ex/moons.nn" --train "$mnist/train-images.idx.gz,$mnist/train-labels.idx.gz"
    expect_error "holds items of 784 values; input x takes 2"
    nngen train "$ex/mnist_mlp.nn" --train "$mnist/train-images.idx.gz"
    expect_error "need labels"
    # an error in the network: located, exit 1, nothing run
    cp "$root/tests/cli/bad.nn" "$run/bad.nn"
    nngen train bad.nn --train "$data/moons.csv" --save w.nnw --plot c.svg
    expect_rc 1
    grep -q '^bad.nn:4:16: error: ' "$work/err" || fail "no located error for bad.nn"
    [ ! -e "$run/w.nnw" ] && [ ! -e "$run/c.svg" ] || fail "files were written after an error"
}

# Data sources (xor: 4 samples, one epoch, so each run takes milliseconds
# once the trainer is cached). Each source is read once, with a bound:
# /dev/zero is refused at once, a FIFO and a pipe (what <(cmd) gives) train
# like the file, NNGEN_DATA_MAX bounds a source.
xor_line() { # the test line of a run of xor on $1 (DATA), from $work/out
    nngen train "$ex/xor.nn" --train "$1" --test "$data/xor.csv" --val-split 0 --epochs 3 --batch 4 \
        --progress never
}
case_data_sources() {
    xor_line "$data/xor.csv"
    expect_rc 0
    contains "$work/out" "training data $data/xor.csv: CSV, 4 rows of 3 columns, header: yes"
    want=$(grep '^test ' "$work/out")
    [ -n "$want" ] || fail "no test line"
    last="nngen train --train /dev/zero"
    (cd "$run" && timeout 60 "$nngen" train "$ex/xor.nn" --train /dev/zero) >"$work/out" 2>"$work/err"
    rc=$?
    expect_error "'/dev/zero' is neither an IDX file nor CSV text (a NUL byte at offset 0)"
    mkfifo "$run/fifo" || fail "mkfifo"
    timeout 60 sh -c "cat \"$data/xor.csv\" >\"$run/fifo\"" &
    xor_line fifo
    wait
    expect_rc 0
    [ "$(grep '^test ' "$work/out")" = "$want" ] || fail "a FIFO trains otherwise than the file"
    contains "$work/out" "training data fifo: CSV, 4 rows of 3 columns, header: yes"
    last="nngen train --train /dev/stdin (a pipe)"
    (cd "$run" && gzip -c "$data/xor.csv" | gzip -dc | timeout 60 "$nngen" train "$ex/xor.nn" --train /dev/stdin \
        --test "$data/xor.csv" --val-split 0 --epochs 3 --batch 4 --progress never) >"$work/out" 2>"$work/err"
    rc=$?
    expect_rc 0
    [ "$(grep '^test ' "$work/out")" = "$want" ] || fail "a pipe trains otherwise than the file"
    NNGEN_DATA_MAX=20 nngen train "$ex/xor.nn" --train "$data/xor.csv"
    expect_error "'$data/xor.csv' holds more than 20 bytes, the limit of one data source (NNGEN_DATA_MAX raises it)"
    timeout 60 sh -c "cat \"$data/xor.csv\" >\"$run/fifo\"" &
    NNGEN_DATA_MAX=1K nngen train "$ex/xor.nn" --train fifo --epochs 1
    wait
    expect_rc 0
    NNGEN_DATA_MAX=lots nngen train "$ex/xor.nn" --train "$data/xor.csv"
    expect_error "NNGEN_DATA_MAX takes a number of bytes"
    # what the CSV reader decides is said; a first row with a typo or a nan is
    # an error on line 1, not a header; a BOM is skipped; CR alone ends lines
    printf '0.5,O.3,1\n0,0,0\n0,1,1\n' >"$run/typo.csv"
    nngen train "$ex/xor.nn" --train typo.csv
    expect_error "cannot read 'typo.csv': line 1: field 2, 'O.3', is not a number (and the line is no header"
    printf 'nan,0,1\n0,0,0\n0,1,1\n' >"$run/nan.csv"
    nngen train "$ex/xor.nn" --train nan.csv
    expect_error "cannot read 'nan.csv': line 1: field 1, 'nan', is not a number"
    printf '\357\273\277' >"$run/bom.csv"
    cat "$data/xor.csv" >>"$run/bom.csv"
    xor_line bom.csv
    expect_rc 0
    contains "$work/out" "training data bom.csv: CSV, 4 rows of 3 columns, header: yes"
    [ "$(grep '^test ' "$work/out")" = "$want" ] || fail "a BOM changes training"
    sed 1d "$data/xor.csv" | tr '\n' '\r' >"$run/cr.csv"
    xor_line cr.csv
    expect_rc 0
    contains "$work/out" "training data cr.csv: CSV, 4 rows of 3 columns, header: no"
    [ "$(grep '^test ' "$work/out")" = "$want" ] || fail "CR line ends change training"
    printf 'a,b,y\r0,0,0\r1\r' >"$run/crbad.csv"
    nngen train "$ex/xor.nn" --train crbad.csv
    expect_error "cannot read 'crbad.csv': line 3: 1 field where the first line has 3"
    long=0.$(printf '%0100d' 0)
    sed "s/^0,/$long,/" "$data/xor.csv" >"$run/long.csv"
    xor_line long.csv
    expect_rc 0
    [ "$(grep '^test ' "$work/out")" = "$want" ] || fail "a 102-character number changes training"
}

# Data names: a missing .gz file is named; errors inside a .gz file name it,
# not the temporary file it was unpacked to; a comma in an existing file's
# name is part of the name; a name starting with '-' never reaches gzip as
# an option.
case_data_names() {
    nngen train "$ex/xor.nn" --train nosuch.csv.gz
    expect_error "cannot read 'nosuch.csv.gz': No such file or directory"
    nngen train "$ex/xor.nn" --train "$data/xor.csv" --test nosuch.csv.gz
    expect_error "cannot read 'nosuch.csv.gz'"
    nngen train "$ex/mnist_mlp.nn" --train "$mnist/train-images.idx.gz,nosuch.idx.gz"
    expect_error "cannot read 'nosuch.idx.gz'"
    nngen predict "$ex/xor.nn" --weights w.nnw --input nosuch.csv.gz
    expect_error "cannot read 'nosuch.csv.gz'"
    printf 'x0,x1,y\n0,0,0\n0,oops,1\n' | gzip >"$run/bad.csv.gz"
    nngen train "$ex/xor.nn" --train bad.csv.gz
    expect_error "cannot read 'bad.csv.gz': line 3: field 2, 'oops', is not a number"
    lacks "$work/err" "$TMPDIR"
    nngen train "$ex/mnist_mlp.nn" --train "$mnist/train-images.idx.gz,bad.csv.gz"
    expect_error "cannot read 'bad.csv.gz': "
    lacks "$work/err" "$TMPDIR"
    cp "$data/xor.csv" "$run/a,b.csv"
    nngen train "$ex/xor.nn" --train a,b.csv --epochs 1
    expect_rc 0
    contains "$work/out" "training data a,b.csv: CSV, 4 rows of 3 columns, header: yes"
    gzip -c "$data/xor.csv" >"$run/c,d.csv.gz"
    nngen train "$ex/xor.nn" --train c,d.csv.gz --epochs 1
    expect_rc 0
    contains "$work/out" "training data c,d.csv.gz: CSV, 4 rows of 3 columns, header: yes"
    gzip -c "$data/xor.csv" >"$run/-v.csv.gz"
    nngen train "$ex/xor.nn" --train -v.csv.gz --epochs 1
    expect_rc 0
    contains "$work/out" "training data -v.csv.gz: CSV, 4 rows of 3 columns, header: yes"
    lacks "$work/err" "gzip"
}

# a diverged regression's MSE (1e+60) prints in e-notation (1.0000e+60), not as 60 digits
# (the exit status of a diverged run is not what this case checks)
case_huge_numbers() {
    nngen train "$ex/poly.nn" --train "$data/poly.csv" --test "$data/poly.csv" --epochs 2 --lr 1e30 \
        --progress never
    grep -q 'mse 1.0000e+60' "$work/out" || fail "no 'mse 1.0000e+60' line"
    ! grep -q '[0-9]\{16\}' "$work/out" || fail "a number of 16 digits or more is printed"
}

case_mnist() {
    # the README's main job, shortened to 1 epoch, with the default C flags
    unset NNGEN_CFLAGS
    nngen train "$ex/mnist_mlp.nn" --train "$mnist/train-images.idx.gz,$mnist/train-labels.idx.gz" \
        --test "$mnist/test-images.idx.gz,$mnist/test-labels.idx.gz" --epochs 1 --plot mnist.svg --save mnist.nnw
    expect_rc 0
    contains "$work/out" "network mnist_mlp: 101770 parameters; classifier"
    contains "$work/out" "data: 7200 training, 800 validation"
    acc=$(number_after "$work/out" "test (2000 samples)" accuracy)
    at_least "$acc" 88 "the MNIST test accuracy after one epoch"
    [ "$(svg_paths "$run/mnist.svg")" = 4 ] || fail "mnist.svg: expected 4 paths"
    nngen predict "$ex/mnist_mlp.nn" --weights mnist.nnw --input "$mnist/test-images.idx.gz"
    expect_rc 0
    [ "$(lines "$work/out")" -eq 2001 ] || fail "expected 2000 predictions"
    contains "$work/out" "class,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9"
}

# --threads N: a convolution (the batch split between threads) and a dense
# layer big enough to be split inside the GEMM train to the same bits on
# 1, 2 and 3 threads: the same printed losses and the same saved weights;
# the default (0) is one thread per core, said in the header line
case_threads() {
    # -O2 (-O0 trains this for seconds per run); the threshold below which a
    # product runs alone at 2^20, so that this small network's products and
    # convolutions (3.7 million multiply-adds) run in parts
    export NNGEN_CFLAGS="-O2 -DNNRT_MT_FLOPS=1048576"
    printf 'network tconv\ninput x[1, 28, 28]\ntarget y : class(10)\nc = relu(conv2d(x, 8, 5))\n%s\n%s\n%s\n%s\n%s\n' \
        'p = maxpool2d(c, 2)' 'h = relu(dense(p, 128))' 'z = dense(h, 10)' 'output q = softmax(z)' \
        'loss cross_entropy(z, y)' >"$run/t.nn"
    echo 'optimizer adam(lr=1e-3)' >>"$run/t.nn"
    for t in 1 2 3; do
        nngen train t.nn --train "$mnist/test-images.idx.gz,$mnist/test-labels.idx.gz" --val-split 0.5 --epochs 1 \
            --batch 32 --threads $t --save "w$t.nnw" --progress never
        expect_rc 0
        contains "$work/out" "seed 1, $t thread"
        # the output without its times and thread count
        sed -e 's/[0-9]*[.][0-9] s//g' -e 's/, [0-9]* threads*$//' -e '/^saved /d' "$work/out" >"$work/out$t"
    done
    grep -q '^epoch 1/1  train loss ' "$work/out1" || fail "no epoch line"
    for t in 2 3; do
        cmp -s "$work/out1" "$work/out$t" || fail "--threads $t prints other figures than --threads 1: $(diff "$work/out1" "$work/out$t")"
        cmp -s "$run/w1.nnw" "$run/w$t.nnw" || fail "--threads $t saved other weights than --threads 1"
    done
    grep -q "^flags: .*threaded" "$NNGEN_CACHE_DIR"/*/key || fail "the cache key does not say the trainer is threaded"
    for t in 1 2; do
        nngen predict t.nn --weights w1.nnw --input "$mnist/test-images.idx.gz" --threads $t
        expect_rc 0
        mv "$work/out" "$work/pred$t"
    done
    [ "$(lines "$work/pred1")" -eq 2001 ] || fail "expected 2000 predictions"
    cmp -s "$work/pred1" "$work/pred2" || fail "nngen predict --threads 2 printed other predictions than --threads 1"
    nngen train t.nn --train "$mnist/test-images.idx.gz,$mnist/test-labels.idx.gz" --val-split 0.9 --epochs 1 \
        --progress never
    expect_rc 0
    cores=$(getconf _NPROCESSORS_ONLN)
    contains "$work/out" "seed 1, $cores thread"
}

case_check() {
    nngen check "$ex/moons.nn"
    expect_rc 0
    contains "$work/out" "network moons"
    contains "$work/out" "total parameters: 17"
    contains "$work/out" "floating-point operations:"
    [ ! -s "$work/err" ] || fail "check wrote to stderr"
    [ -z "$(ls "$run")" ] || fail "check wrote files"
    cp "$root/tests/cli/bad.nn" "$run/bad.nn"
    nngen check bad.nn
    expect_rc 1
    grep -q '^bad.nn:4:16: error: ' "$work/err" || fail "no located error"
    [ ! -s "$work/out" ] || fail "check printed a table for a bad network"
    nngen check
    expect_error "no input file"
    nngen check "$ex/moons.nn" --max-batch 8
    contains "$work/out" "for up to 8 samples per call"
    nngen check --help
    expect_rc 0
    contains "$work/out" "usage: nngen check"
    # --report's total is the model struct's real sizeof on this (64-bit) host
    nngen "$ex/xor.nn" -o xs.c --report
    expect_rc 0
    total=$(sed -n 's/^  total  *\([0-9,]*\) .*/\1/p' "$work/out" | tr -d ,)
    printf '#include <stdio.h>\n#include "xs.h"\nint main(void) { printf("%%zu\\n", sizeof(xor)); return 0; }\n' >"$run/sz.c"
    (cd "$run" && ${CC:-cc} -std=c99 -I"$root/runtime" sz.c -o sz) || fail "sz.c does not compile"
    [ "$("$run/sz")" = "$total" ] || fail "--report's total is '$total', sizeof the struct $("$run/sz")"
}

case_graph() {
    nngen graph "$ex/moons.nn" -o g.dot
    expect_rc 0
    contains "$run/g.dot" "digraph \"moons\""
    contains "$run/g.dot" "a1 = tanh\\n[N, 3]\\nmoons.nn:17"
    contains "$run/g.dot" "cluster_infer"
    lacks "$run/g.dot" "_grad"
    nngen graph "$ex/moons.nn" -o gb.dot --backward
    expect_rc 0
    contains "$run/gb.dot" "cluster_backward"
    contains "$run/gb.dot" "cluster_update"
    contains "$run/gb.dot" "d(a1) = "
    contains "$run/gb.dot" "sgd_update"
    if command -v dot >/dev/null; then
        for g in g gb; do
            dot -Tsvg "$run/$g.dot" -o "$work/$g.check.svg" || fail "dot rejects $g.dot"
            [ -s "$run/$g.svg" ] || fail "nngen graph did not render $g.svg"
            xmllint --noout "$run/$g.svg" || fail "$g.svg is not XML"
        done
        contains "$work/out" "wrote gb.dot and gb.svg"
    else
        echo "note: Graphviz's dot is not installed: the DOT files were not rendered" >&2
        [ ! -e "$run/g.svg" ] || fail "an SVG appeared without dot"
    fi
    nngen graph "$ex/moons.nn" -o n.dot --no-svg
    expect_rc 0
    [ -f "$run/n.dot" ] && [ ! -e "$run/n.svg" ] || fail "--no-svg"
    # -o follows its extension: .svg and .png are the picture alone
    if command -v dot >/dev/null; then
        nngen graph "$ex/moons.nn" -o p.svg
        expect_rc 0
        contains "$work/out" "wrote p.svg"
        xmllint --noout "$run/p.svg" || fail "-o p.svg did not write an SVG"
        contains "$run/p.svg" "<svg"
        nngen graph "$ex/moons.nn" -o p.png --backward
        expect_rc 0
        [ "$(head -c 4 "$run/p.png" | od -An -tx1 | tr -d ' \n')" = "89504e47" ] || fail "-o p.png did not write a PNG"
        ls "$run" | grep -q -e '\.tmp' -e '\.svg\.svg' -e '\.png\.svg' && fail "nngen graph left other files: $(ls "$run")"
    fi
    nngen graph "$ex/moons.nn" -o p.txt
    expect_error "the extension names the format"
    [ ! -e "$run/p.txt" ] || fail "-o p.txt wrote a file"
    nngen graph "$ex/moons.nn" -o q.svg --no-svg
    expect_error "--no-svg goes with -o NAME.dot"
    # without dot: -o q.svg is an error and writes nothing
    mkdir -p "$work/nodot"
    last="nngen graph -o q.svg (no dot in PATH)"
    (cd "$run" && PATH="$work/nodot" "$nngen" graph "$ex/moons.nn" -o q.svg) >"$work/out" 2>"$work/err"
    rc=$?
    expect_error "needs Graphviz's \`dot\`, which is not in PATH"
    [ -z "$(ls "$run" | grep '^q\.')" ] || fail "-o q.svg without dot wrote $(ls "$run" | grep '^q\.')"
    nngen graph "$ex/moons.nn"
    expect_rc 0
    head -n 2 "$work/out" | grep -q '^digraph' || fail "no -o: the DOT goes to stdout"
    grep -v -e '^loss' -e '^regularize' -e '^optimizer' "$ex/moons.nn" >"$run/infer.nn"
    nngen graph infer.nn -o i.dot --backward
    expect_error "has no loss"
    cp "$root/tests/cli/bad.nn" "$run/bad.nn"
    nngen graph bad.nn -o bad.dot
    expect_rc 1
    [ ! -e "$run/bad.dot" ] || fail "a DOT file was written for a bad network"
}

# a loss given the output of the activation it applies itself (or the wrong
# one) compiles with a located warning, a note on where the name is defined
# and how to silence it; '# nngen: no-warn' on the loss's line silences it
case_loss_warnings() {
    net() { # net FILE OUTPUT-EXPR LOSS-LINE [TARGET]
        printf 'network w\ninput x[4]\n%s\nz = dense(x, 3)\noutput p = %s\nloss %s\noptimizer sgd(lr=0.1)\n' \
            "${4:-target y : class(3)}" "$2" "$3" >"$run/$1"
    }
    net ce_softmax.nn 'softmax(z)' 'cross_entropy(p, y)'
    net ce_log_softmax.nn 'log_softmax(z)' 'cross_entropy(p, y)'
    net bce_sigmoid.nn 'sigmoid(z)' 'bce_logits(p, t)' 'target t[3]'
    net nll_softmax.nn 'softmax(z)' 'nll(p, y)'
    net ce_inline.nn 'z * 1' 'cross_entropy(softmax(z), y)'
    for f in ce_softmax ce_log_softmax bce_sigmoid nll_softmax ce_inline; do
        nngen $f.nn -o $f.c
        expect_rc 0
        [ -s "$run/$f.c" ] || fail "$f.nn: no C written (a warning is not an error)"
        [ "$(grep -c ': warning: ' "$work/err")" -eq 1 ] || fail "$f.nn: not one warning"
        contains "$work/err" "no-warn"
    done
    nngen ce_softmax.nn -o ce_softmax.c
    contains "$work/err" "ce_softmax.nn:6:20: warning: 'p' is softmax(...): cross_entropy applies softmax itself, so softmax is applied twice"
    contains "$work/err" "ce_softmax.nn:5:8: note: 'p' is defined here"
    contains "$work/err" "give cross_entropy the logits"
    nngen ce_log_softmax.nn -o ce_log_softmax.c
    contains "$work/err" "cross_entropy applies log_softmax itself"
    nngen bce_sigmoid.nn -o bce_sigmoid.c
    contains "$work/err" "bce_sigmoid.nn:6:17: warning: 'p' is sigmoid(...): bce_logits applies sigmoid itself"
    nngen nll_softmax.nn -o nll_softmax.c
    contains "$work/err" "nll expects log-probabilities, but softmax gives probabilities"
    nngen ce_inline.nn -o ce_inline.c
    contains "$work/err" "ce_inline.nn:6:20: warning: cross_entropy applies softmax itself"
    # once per command, also with --report (which compiles twice)
    nngen ce_softmax.nn -o ce_softmax.c --report
    [ "$(grep -c ': warning: ' "$work/err")" -eq 1 ] || fail "--report: not one warning"
    # silenced; and the right inputs give none
    net quiet.nn 'softmax(z)' 'cross_entropy(p, y)   # nngen: no-warn'
    net right.nn 'softmax(z)' 'cross_entropy(z, y)'
    net right_nll.nn 'log_softmax(z)' 'nll(p, y)'
    for f in quiet right right_nll; do
        nngen $f.nn -o $f.c
        expect_rc 0
        [ ! -s "$work/err" ] || fail "$f.nn: a warning: $(cat "$work/err")"
    done
}

# every builtin nngen implements is named in docs/language.md's "Implemented"
# table, and no unimplemented one is (nngen --list-builtins is the truth)
case_list_builtins_and_docs() {
    nngen --list-builtins
    expect_rc 0
    cp "$work/out" "$work/implemented"
    nngen --list-builtins=all
    grep ' pending$' "$work/out" | cut -d' ' -f2 >"$work/pending"
    contains "$work/implemented" "layer dense"
    # the words inside `backquotes` of the Implemented section
    awk '/^## Implemented/ { on = 1; next } /^## / { on = 0 } on' "$root/docs/language.md" |
        grep -o '`[^`]*`' | tr -c 'A-Za-z0-9_\n' '\n' | grep . | sort -u >"$work/documented"
    [ -s "$work/documented" ] || fail "docs/language.md has no '## Implemented' section with names in backquotes"
    missing=$(cut -d' ' -f2 "$work/implemented" | sort -u | comm -23 - "$work/documented" | tr '\n' ' ')
    [ -z "$missing" ] || fail "docs/language.md's Implemented section does not name: $missing"
    extra=$(sort -u "$work/pending" | comm -12 - "$work/documented" | tr '\n' ' ')
    [ -z "$extra" ] || fail "docs/language.md lists as implemented what nngen does not implement: $extra"
    # the Builtins reference names every builtin of the language
    awk '/^## Builtins/ { on = 1; next } /^## / { on = 0 } on' "$root/docs/language.md" |
        grep -o '`[^`]*`' | tr -c 'A-Za-z0-9_\n' '\n' | grep . | sort -u >"$work/reference"
    missing=$(cut -d' ' -f2 "$work/out" | sort -u | comm -23 - "$work/reference" | tr '\n' ' ')
    [ -z "$missing" ] || fail "docs/language.md's Builtins reference does not name: $missing"
    # and the not-yet list names exactly the pending ones
    for n in $(cat "$work/pending"); do
        awk '/^Every other name/,/^$/' "$root/docs/language.md" | grep -q -w -- "$n" ||
            fail "docs/language.md's list of names not supported yet misses '$n'"
    done
}

case_man_page() {
    page=$root/docs/nngen.1
    [ -f "$page" ] || fail "no docs/nngen.1"
    command -v groff >/dev/null || fail "groff is needed (Debian: groff-base)"
    groff -man -Tutf8 -ww -z "$page" 2>"$work/err" || fail "groff rejects the man page"
    [ ! -s "$work/err" ] || fail "groff warns: $(cat "$work/err")"
    groff -man -Tascii -P-cbu "$page" >"$work/out" 2>/dev/null || fail "groff cannot format the man page"
    for w in "nngen train" "nngen predict" "nngen check" "nngen graph" "--standalone" "--max-batch" \
        "--early-stop" "--plot" "NNGEN_CACHE_DIR" "EXIT STATUS" "find_package"; do
        contains "$work/out" "$w"
    done
    # every option of nngen --help is documented
    last="nngen --help"
    "$nngen" --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$work/opts"
    for o in $(cat "$work/opts"); do contains "$work/out" "$o"; done
}

# the driver nngen compiles is clean C99 under gcc and clang with -Werror,
# for a classifier, a binary classifier, a two-input regression and an
# inference-only network
case_driver_warnings() {
    export NNGEN_CACHE_DIR="$work/cache"
    printf 'network r\ninput a[2]\ninput b[3]\ntarget t[2]\noutput q = dense(concat(a, b), 2)\nloss mse(q, t)\noptimizer adam(lr=0.01)\n' >"$run/r.nn"
    printf '1,2,3,4,5,6,7\n2,3,4,5,6,7,8\n' >"$run/r.csv"
    grep -v -e '^loss' -e '^regularize' -e '^optimizer' "$ex/moons.nn" >"$run/infer.nn"
    nngen train r.nn --train r.csv --val-split 0 --epochs 2 --save r.nnw
    expect_rc 0
    contains "$work/out" "regression: mean squared error of output q against target t"
    nngen predict r.nn --weights r.nnw --input r.csv
    expect_rc 0
    [ "$(head -n 1 "$work/out")" = "q_0,q_1" ] || fail "two-value output header"
    nngen predict infer.nn --weights nosuch --input "$data/moons.csv"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 1
    nngen train "$ex/xor.nn" --train "$data/xor.csv" --epochs 1 --val-split 0
    n=0
    for d in "$work/cache"/????????????????/; do
        n=$((n + 1))
        # gcc at -O2 (some of its warnings need the optimizer), clang's front end
        for c in "gcc -O2 -c -o /dev/null" "clang -fsyntax-only"; do
            command -v ${c%% *} >/dev/null || continue
            $c -std=c99 -Wall -Wextra -Wpedantic -Werror "$d/driver.c" 2>"$work/err" ||
                fail "${c%% *} warns on $(grep -o 'network [a-z_]*' "$d/key" | head -1)'s driver"
        done
    done
    [ "$n" -eq 4 ] || fail "expected 4 drivers in the cache, found $n"
}

# Ctrl-C (SIGINT to the process group) stops training after the current
# step; the best weights so far are restored, saved and tested, the curve
# drawn, the status is 130 and nothing is left in TMPDIR
case_interrupt() {
    command -v setsid >/dev/null || fail "setsid (util-linux) is needed"
    nngen train "$ex/moons.nn" --train "$data/moons.csv" --epochs 1 # the trainer is built before the clock runs
    expect_rc 0
    rm -f "$work/out" # that run's "epoch" line must not be taken for this one's
    # setsid: nngen and its trainer in a process group of their own (pgid = $pid), as a terminal's job
    (cd "$run" && exec setsid "$nngen" train "$ex/moons.nn" --train "$data/moons.csv" --test "$data/moons.csv" \
        --epochs 100000 --batch 1 --save s.nnw --plot p.svg >"$work/out" 2>"$work/err") &
    pid=$!
    n=0
    until grep -q '^epoch' "$work/out" 2>/dev/null || [ $n -ge 600 ]; do sleep 0.1; n=$((n + 1)); done
    sleep 1
    kill -s INT -- "-$pid" || { kill -s KILL -- "-$pid"; fail "cannot signal the process group $pid"; }
    wait "$pid"
    rc=$?
    last="nngen train ... interrupted"
    expect_rc 130
    contains "$work/out" "interrupted in epoch"
    contains "$work/out" "saved s.nnw (the weights of epoch"
    contains "$work/out" "test (200 samples): loss"
    contains "$work/out" "wrote p.svg"
    [ "$(svg_paths "$run/p.svg")" = 4 ] || fail "p.svg: expected 4 paths"
    [ "$(head -c 4 "$run/s.nnw")" = NNW1 ] || fail "s.nnw is not a weight file"
}

# a damaged cached trainer (cut short: a crash, a full disk) is found out by its
# digest and rebuilt, the message naming it; never run as it is. A cache of
# its own, -O0 builds (about a second each)
case_cache_damaged() {
    c="$work/cache"
    for damage in truncate; do
        NNGEN_CFLAGS=-O0 nngen train "$ex/xor.nn" --train "$data/xor.csv" --val-split 0 --epochs 1 --cache-dir "$c"
        expect_rc 0
        exe=$(ls "$c"/*/nntrain)
        [ -x "$exe" ] || fail "no cached trainer in $c"
        if [ "$damage" = garbage ]; then printf 'not a program\n' >"$exe"; else
            head -c 1000 "$exe" >"$work/cut" && cat "$work/cut" >"$exe"; fi
        NNGEN_CFLAGS=-O0 nngen train "$ex/xor.nn" --train "$data/xor.csv" --val-split 0 --epochs 1 --cache-dir "$c"
        expect_rc 0
        contains "$work/err" "the cached trainer $exe is damaged"
        contains "$work/err" "compiled the trainer"
        contains "$work/out" "epoch 1/1"
        NNGEN_CFLAGS=-O0 nngen train "$ex/xor.nn" --train "$data/xor.csv" --val-split 0 --epochs 1 --cache-dir "$c"
        expect_rc 0
        lacks "$work/err" "compiled the trainer"
        rm -rf "$c"
    done
}

# SIGTERM, SIGHUP, and SIGINT sent by kill to nngen alone (not its process
# group) reach the trainer: it stops, nngen reaps it, removes the unpacked
# data (a .gz file: a directory in TMPDIR, checked empty after every case)
# and exits 128 + the signal (SIGINT: the trainer finishes as after Ctrl-C,
# 130). No trainer is left running.
case_stop_signals() {
    gzip -c "$data/moons.csv" >"$run/moons.csv.gz"
    nngen train "$ex/moons.nn" --train moons.csv.gz --epochs 1 # the trainer is built before the clock runs
    expect_rc 0
    for sig in TERM HUP INT; do
        rm -f "$work/out" # the last round's "epoch" lines must not be taken for this one's
        (cd "$run" && exec "$nngen" train "$ex/moons.nn" --train moons.csv.gz --epochs 100000 --batch 1 \
            --progress never >"$work/out" 2>"$work/err") &
        pid=$!
        n=0
        until grep -q '^epoch' "$work/out" 2>/dev/null || [ $n -ge 600 ]; do sleep 0.1; n=$((n + 1)); done
        child=$(ps -o pid= --ppid "$pid" | tr -d ' ')
        [ -n "$child" ] || { kill -s KILL "$pid"; fail "no trainer under nngen ($pid)"; }
        [ -n "$(ls -A "$work/tmp")" ] || fail "no unpacked data in TMPDIR while training"
        kill -s "$sig" "$pid"
        wait "$pid"
        rc=$?
        last="nngen train ... (kill -$sig)"
        case $sig in TERM) expect_rc 143 ;; HUP) expect_rc 129 ;; INT) expect_rc 130 ;; esac
        if kill -0 "$child" 2>/dev/null; then
            kill -s KILL "$child"
            fail "'$last' left its trainer ($child) running"
        fi
        [ -z "$(ls -A "$work/tmp")" ] || fail "'$last' left files in TMPDIR: $(ls -A "$work/tmp")"
        [ "$sig" = INT ] && contains "$work/out" "interrupted in epoch"
        [ "$sig" = INT ] || contains "$work/err" "stopped by signal"
    done
}

case "$case" in
*[!a-z_]* | "") fail "bad case name" ;;
esac
echo " $cases " | tr '\n' ' ' | grep -q " $case " || fail "no case named $case"
"case_$case"
[ -z "$(ls -A "$work/tmp")" ] || fail "temporary files were left in TMPDIR: $(ls -A "$work/tmp")"
echo "ok: $case"
