#!/bin/sh
# tests/errors/check.sh - one error-catalogue test (CTest runs it; POSIX sh, any cwd).
#
#   check.sh NNGEN SRCDIR NAME WORK
#
# Puts the input in a fresh directory WORK/run (SRCDIR/NAME.nn, or what
# gen.sh writes for a generated case), runs `nngen NAME.nn -o NAME.c` there,
# the command regen.sh uses to write the expected NAME.err, and checks:
#   - the exit status is 1 (an error in the input; not 0, not 2, not a signal)
#   - stdout is empty and stderr equals SRCDIR/NAME.err byte for byte
#   - WORK/run holds nothing but NAME.nn afterwards (no .c, .h or temp file)
set -u

die() {
    echo "FAIL: $*" >&2
    exit 1
}

abspath() {
    if [ -d "$1" ]; then (cd "$1" && pwd); else echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; fi
}

[ $# -eq 4 ] || die "usage: check.sh NNGEN SRCDIR NAME WORK"
nngen=$(abspath "$1")
src=$(abspath "$2")
name=$3
work=$4
[ -x "$nngen" ] || die "no nngen at $nngen"
[ -f "$src/$name.err" ] || die "no expected stderr $src/$name.err"

{ rm -rf "$work" && mkdir -p "$work/run"; } || die "cannot make $work"
work=$(abspath "$work")
if [ -f "$src/$name.nn" ]; then
    cp "$src/$name.nn" "$work/run/" || die "cannot copy $name.nn"
else
    sh "$src/gen.sh" "$name" "$work/run/$name.nn" || die "gen.sh cannot make $name"
fi

(cd "$work/run" && "$nngen" "$name.nn" -o "$name.c") >"$work/stdout" 2>"$work/stderr"
rc=$?

bad=0
if [ $rc -ne 1 ]; then
    if [ $rc -gt 128 ]; then
        echo "nngen was killed by signal $((rc - 128))" >&2
    fi
    echo "exit status $rc, expected 1" >&2
    bad=1
fi
if [ -s "$work/stdout" ]; then
    echo "stdout is not empty:" >&2
    head -n 20 "$work/stdout" >&2
    bad=1
fi
if ! cmp -s "$src/$name.err" "$work/stderr"; then
    echo "stderr differs from $name.err (first 60 lines of the diff):" >&2
    diff -u "$src/$name.err" "$work/stderr" | head -n 60 >&2
    bad=1
fi
left=$(cd "$work/run" && ls -A)
if [ "$left" != "$name.nn" ]; then
    echo "files left in the output directory:" >&2
    echo "$left" | grep -v -x "$name.nn" >&2
    bad=1
fi
[ $bad -eq 0 ] || die "$name (if a message changed on purpose, run tests/golden/regen.sh PATH/TO/nngen)"
exit 0
