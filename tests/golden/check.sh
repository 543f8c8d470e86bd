#!/bin/sh
# tests/golden/check.sh - one golden test (CTest runs it; POSIX sh, any cwd).
#
#   check.sh diff NNGEN SRCDIR NAME WORK
#       copies SRCDIR/NAME.nn into a fresh WORK, runs `nngen NAME.nn -o NAME.c`
#       there (the command regen.sh runs inside tests/golden, so the banner's
#       paths and command line match) and compares NAME.c and NAME.h byte for
#       byte with SRCDIR/NAME.c and SRCDIR/NAME.h.
#   check.sh cc NNGEN SRCDIR NAME WORK CC RUNTIME_DIR
#       generates NAME.c the same way and compiles it with
#       CC -std=c99 -Wall -Wextra -Wpedantic -Werror -c against RUNTIME_DIR.
#
# Exit status 0 when the test passes; the reason is printed otherwise.
set -u

die() {
    echo "FAIL: $*" >&2
    exit 1
}

abspath() { # an existing file or directory, made absolute
    if [ -d "$1" ]; then (cd "$1" && pwd); else echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; fi
}

[ $# -ge 5 ] || die "usage: check.sh diff|cc NNGEN SRCDIR NAME WORK [CC RUNTIME_DIR]"
mode=$1
nngen=$(abspath "$2")
src=$(abspath "$3")
name=$4
work=$5
[ -x "$nngen" ] || die "no nngen at $nngen"
[ -f "$src/$name.nn" ] || die "no case $src/$name.nn"

{ rm -rf "$work" && mkdir -p "$work/run"; } || die "cannot make $work"
work=$(abspath "$work")
cp "$src/$name.nn" "$work/run/" || die "cannot copy $name.nn"

(cd "$work/run" && "$nngen" "$name.nn" -o "$name.c") >"$work/stdout" 2>"$work/stderr"
rc=$?
if [ $rc -ne 0 ] || [ -s "$work/stderr" ] || [ -s "$work/stdout" ]; then
    cat "$work/stderr" >&2
    die "nngen $name.nn -o $name.c exited with $rc (expected 0 and no output on stdout or stderr)"
fi

case $mode in
diff)
    bad=0
    for ext in c h; do
        if ! cmp -s "$src/$name.$ext" "$work/run/$name.$ext"; then
            echo "--- $name.$ext differs from the golden file (first 60 lines of the diff):" >&2
            diff -u "$src/$name.$ext" "$work/run/$name.$ext" | head -n 60 >&2
            bad=1
        fi
    done
    [ $bad -eq 0 ] || die "$name: generated code changed; if the change is intended, run" \
        "tests/golden/regen.sh PATH/TO/nngen and commit the new expected files"
    ;;
cc)
    [ $# -ge 7 ] || die "cc mode needs CC and RUNTIME_DIR"
    cc=$6
    rt=$(abspath "$7")
    (cd "$work/run" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror -I. -I"$rt" \
        -c "$name.c" -o "$name.o") || die "$cc does not compile the generated $name.c cleanly"
    ;;
*)
    die "unknown mode '$mode'"
    ;;
esac
exit 0
