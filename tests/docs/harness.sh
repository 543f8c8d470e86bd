#!/bin/sh
# tests/docs/harness.sh - the docs harness checks itself: pages/good.md (every
# kind of block and comparison run_doc.py knows) must pass, and each
# pages/bad_*.md (good.md with one line changed: a shown line, a line added
# or left out, a failing status not shown, a ```sh block's output) must fail
# with status 1, naming the page and line of the command that differs.
#
#   harness.sh PYTHON SOURCE BUILD WORK
set -u
[ $# -eq 4 ] || { echo "usage: harness.sh PYTHON SOURCE BUILD WORK" >&2; exit 2; }
py=$1 src=$2 build=$3 work=$4
here=$src/tests/docs
rm -rf "$work" && mkdir -p "$work" || exit 1
run() { # run PAGE: the harness on tests/docs/pages/PAGE, output in $work/PAGE.log
    (cd "$here/pages" && "$py" "$here/run_doc.py" --source "$src" --build "$build" \
        --work "$work/$1.d" "$1") >"$work/$1.log" 2>&1
}
run good.md || { cat "$work/good.md.log"; echo "FAIL: good.md does not pass"; exit 1; }
n=0
for page in "$here"/pages/bad_*.md; do
    name=$(basename "$page")
    run "$name"
    rc=$?
    [ "$rc" -eq 1 ] || { cat "$work/$name.log"; echo "FAIL: $name: status $rc, expected 1"; exit 1; }
    grep -q "^$name:[0-9]*: " "$work/$name.log" ||
        { cat "$work/$name.log"; echo "FAIL: $name: no 'PAGE:LINE:' report"; exit 1; }
    n=$((n + 1))
done
[ "$n" -ge 5 ] || { echo "FAIL: expected at least 5 bad pages, found $n"; exit 1; }
echo "ok: good.md passes, $n changed pages fail"
