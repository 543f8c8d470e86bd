#!/usr/bin/env bash
# tests/golden/regen.sh - rewrites every expected file from the given nngen:
#
#   tests/golden/NAME.c, NAME.h   what `nngen NAME.nn -o NAME.c` writes when run
#                                 inside tests/golden
#   tests/errors/NAME.err         the stderr of `nngen NAME.nn -o NAME.c` run inside
#                                 tests/errors (inputs that tests/errors/gen.sh
#                                 writes, under the same name)
#
# Each command runs in a scratch directory holding a copy of NAME.nn, so
# nothing but the expected files is ever written into the source tree; the
# relative name makes the output the same as a run inside the directory.
#
# usage: tests/golden/regen.sh PATH/TO/nngen [NAME...]
# With names, only those cases are rewritten. Relative paths in the commands
# keep `file:line:col` and the banners independent of where the tree lives.
# Review the diff before committing: every changed .err must still name
# file:line:col, quote the line, put the caret at the right column and say
# what was expected. Fails (and writes nothing for that case) when a golden
# case does not compile or an error case does not exit with status 1 or
# leaves an output file behind.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 PATH/TO/nngen [NAME...]" >&2
    exit 2
fi
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
[[ -x $nngen ]] || { echo "regen: no executable nngen at $nngen" >&2; exit 2; }

tests=$(cd "$(dirname "$0")/.." && pwd)
golden=$tests/golden
errors=$tests/errors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

wanted() { # is case $1 among the names given (or were none given)?
    [[ ${#names[@]} -eq 0 ]] && return 0
    local n
    for n in "${names[@]}"; do [[ $n == "$1" ]] && return 0; done
    return 1
}
names=("$@")

# ---- golden: NAME.nn -> NAME.c, NAME.h
for nn in "$golden"/*.nn; do
    name=$(basename "$nn" .nn)
    wanted "$name" || continue
    rm -rf "$tmp/g" && mkdir "$tmp/g" && cp "$nn" "$tmp/g/"
    if (cd "$tmp/g" && "$nngen" "$name.nn" -o "$name.c") 2>"$tmp/stderr"; then
        cp "$tmp/g/$name.c" "$tmp/g/$name.h" "$golden/"
        echo "golden/$name.c, $name.h"
    else
        echo "regen: golden/$name.nn does not compile:" >&2
        cat "$tmp/stderr" >&2
        failed=1
    fi
done

# ---- errors: NAME.nn (or gen.sh NAME) -> NAME.err
error_cases() {
    local nn
    for nn in "$errors"/*.nn; do basename "$nn" .nn; done
    sh "$errors/gen.sh" --list
}

for name in $(error_cases); do
    wanted "$name" || continue
    rm -rf "$tmp/e" && mkdir "$tmp/e"
    if [[ -f $errors/$name.nn ]]; then
        cp "$errors/$name.nn" "$tmp/e/"
    else
        sh "$errors/gen.sh" "$name" "$tmp/e/$name.nn"
    fi
    rc=0
    (cd "$tmp/e" && "$nngen" "$name.nn" -o "$name.c") >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
    left=$(cd "$tmp/e" && ls -A)
    if [[ $rc -ne 1 || -s $tmp/stdout || $left != "$name.nn" ]]; then
        echo "regen: errors/$name: exit status $rc (expected 1), stdout $(wc -c <"$tmp/stdout") bytes," \
             "left: $(echo "$left" | tr '\n' ' ')" >&2
        cat "$tmp/stderr" >&2
        failed=1
        continue
    fi
    cp "$tmp/stderr" "$errors/$name.err"
    echo "errors/$name.err"
done

exit $failed
