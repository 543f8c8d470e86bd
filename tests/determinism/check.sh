#!/bin/sh
# tests/determinism/check.sh - the same .nn file and flags give byte-identical
# output (docs/c-api.md "Deterministic"), for every network the project ships and
# one flag combination per CTest test.
#
#   check.sh --list                   the flag combinations' names
#   check.sh NNGEN ROOT WORK NAME     runs combination NAME
#   check.sh NNGEN ROOT WORK NAME once   ... each network compiled once
#
# Each network (examples/, tests/golden/, tests/gradcheck/cases/,
# tests/compile/cases/, tests/baddata/) is compiled twice, in
# two directories, under different environments (locale, time zone, umask,
# a day apart in the file's modification time), and the two runs' net.c,
# net.h, stdout and stderr must be identical, and the exit status 0.
# With `once` (the sanitized build) each network is compiled once, in a/,
# and only its exit status is checked: the sanitizers watch the run.
set -u

# No separate "plain" or "infer_only": verify_report writes the plain net.c
# (its extra flags print to stdout and stderr, which are compared too) and
# standalone_infer_only's net.c holds infer_only's network code after the
# pasted runtime, so those two would repeat what is checked here.
combos="standalone_infer_only o0 max_batch_1 emit_ir verify_report"

if [ "${1:-}" = "--list" ]; then
    for c in $combos; do echo "$c"; done
    exit 0
fi
fail() {
    echo "FAIL ($name): $*" >&2
    exit 1
}
[ $# -eq 4 ] || [ $# -eq 5 ] && [ "${5:-once}" = once ] ||
    { echo "usage: check.sh --list | check.sh NNGEN ROOT WORK NAME [once]" >&2; exit 2; }
once=${5:-}
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$2" && pwd)
work=$3
name=$4
case $name in
plain) flags="" ;;
infer_only) flags="--infer-only" ;;
standalone_infer_only) flags="--standalone --infer-only" ;;
o0) flags="-O0" ;;
max_batch_1) flags="--max-batch 1" ;;
emit_ir) flags="--emit=ir" ;;
verify_report) flags="--verify --dump-after=all --report" ;;
*) fail "no combination named '$name'" ;;
esac
{ rm -rf "$work" && mkdir -p "$work/a" "$work/b"; } || fail "cannot make $work"
work=$(cd "$work" && pwd)

count=0
dirs="a b"
[ -z "$once" ] || dirs=a # compiled once: in a/ only
for nn in "$root"/examples/*.nn "$root"/tests/golden/*.nn "$root"/tests/gradcheck/cases/*.nn \
    "$root"/tests/compile/cases/*.nn "$root"/tests/baddata/*.nn; do
    [ -f "$nn" ] || continue
    base=$(basename "$nn" .nn)
    for d in $dirs; do
        rm -rf "${work:?}/$d" && mkdir "$work/$d" && cp "$nn" "$work/$d/net.nn"
    done
    [ -n "$once" ] || touch -d '2001-02-03 04:05:06' "$work/b/net.nn"
    # shellcheck disable=SC2086 # $flags splits on purpose
    (cd "$work/a" && LC_ALL=C TZ=UTC "$nngen" net.nn -o net.c $flags >out 2>err)
    rc_a=$?
    if [ -n "$once" ]; then
        [ $rc_a -eq 0 ] || fail "$base: exit status $rc_a; stderr: $(head -n 5 "$work/a/err")"
        count=$((count + 1))
        continue
    fi
    # shellcheck disable=SC2086
    (cd "$work/b" && umask 077 && LC_ALL=C.UTF-8 LANG=C.UTF-8 TZ=Asia/Tokyo "$nngen" net.nn -o net.c $flags >out 2>err)
    rc_b=$?
    [ $rc_a -eq 0 ] && [ $rc_b -eq 0 ] || fail "$base: exit status $rc_a / $rc_b; stderr: $(head -n 5 "$work/a/err")"
    for f in net.c net.h out err; do
        if [ -f "$work/a/$f" ] || [ -f "$work/b/$f" ]; then
            cmp "$work/a/$f" "$work/b/$f" >&2 || fail "$base: $f differs between two runs with '$flags'"
        fi
    done
    count=$((count + 1))
done
[ $count -ge 20 ] || fail "only $count networks found"
if [ -n "$once" ]; then
    echo "$name: $count networks compiled once each, exit status 0"
else
    echo "$name: $count networks, identical output"
fi
