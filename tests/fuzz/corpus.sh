#!/bin/sh
# tests/fuzz/corpus.sh - assembles a harness's corpus in a directory.
#
#   corpus.sh compile ROOT DIR          every .nn of examples/, tests/errors/,
#                                       tests/golden/, tests/gradcheck/cases/,
#                                       the inputs tests/errors/gen.sh writes,
#                                       and tests/fuzz/regress/compile/*
#   corpus.sh weights ROOT DIR SEEDS    what SEEDS (the fuzz_seeds program)
#                                       writes, and tests/fuzz/regress/weights/*
#   corpus.sh data ROOT DIR SEEDS       what SEEDS writes, examples/data/*.csv
#                                       and tests/fuzz/regress/data/*
#
# DIR is emptied first. Regression inputs (crashes fuzzing found, fixed since)
# are committed under tests/fuzz/regress/KIND/, one file each.
set -eu
[ $# -ge 3 ] || { echo "usage: corpus.sh compile|weights|data ROOT DIR [SEEDS]" >&2; exit 2; }
kind=$1
root=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
case $kind in
compile)
    for d in examples tests/errors tests/golden tests/gradcheck/cases tests/compile/cases; do
        for f in "$root/$d"/*.nn; do
            [ -f "$f" ] || continue
            cp "$f" "$dir/$(echo "$d" | tr / _)_$(basename "$f")"
        done
    done
    for c in $(sh "$root/tests/errors/gen.sh" --list); do
        sh "$root/tests/errors/gen.sh" "$c" "$dir/gen_$c.nn"
    done ;;
weights|data)
    [ $# -eq 4 ] || { echo "corpus.sh $kind needs the fuzz_seeds program" >&2; exit 2; }
    "$4" "$kind" "$dir"
    if [ "$kind" = data ]; then
        for f in "$root"/examples/data/*.csv; do
            [ -f "$f" ] && cp "$f" "$dir/examples_$(basename "$f")"
        done
    fi ;;
*)
    echo "corpus.sh: unknown kind '$kind'" >&2
    exit 2 ;;
esac
for f in "$root/tests/fuzz/regress/$kind"/*; do
    [ -f "$f" ] || continue
    cp "$f" "$dir/regress_$(basename "$f")"
done
n=$(ls "$dir" | wc -l)
[ "$n" -gt 0 ] || { echo "corpus.sh: no input for $kind" >&2; exit 1; }
