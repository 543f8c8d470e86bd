#!/bin/sh
# format.sh - applies .clang-format to the compiler, the commands and the
# runtime; with --check, changes nothing and lists the files that differ
# (exit status 1 if any). Generated code is not formatted by this: the
# emitter writes it in the same style.
#   scripts/format.sh [--check]
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files 'compiler/*.[ch]' 'cli/*.[ch]' 'runtime/*.[ch]')
if [ "${1:-}" = "--check" ]; then
    # one clang-format for all files; file by file only to name them
    # shellcheck disable=SC2086
    clang-format --style=file --dry-run --Werror $files >/dev/null 2>&1 && exit 0
    status=0
    for f in $files; do
        if ! clang-format --style=file "$f" | cmp -s "$f" -; then
            echo "$f: not formatted (scripts/format.sh)"
            status=1
        fi
    done
    exit $status
fi
# shellcheck disable=SC2086
clang-format --style=file -i $files
