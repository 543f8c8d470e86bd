#!/bin/sh
# tests/compile/lib.sh - helpers of check.sh, matrix.sh, embed.sh and
# tests/firmware/freestanding.sh (sourced): they
# count failures in $failures and missing compilers in $missing.

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run DESCRIPTION CMD...: runs CMD in the current directory, shows its
# output only when it fails
run() {
    what=$1
    shift
    if ! "$@" >run.log 2>&1; then
        fail "$what"
        echo "  \$ $*"
        sed 's/^/  | /' run.log | head -40
        return 1
    fi
    return 0
}

# one line of C, verbatim (dash's echo would expand the backslashes)
line() { printf '%s\n' "$*"; }

# header facts: NET (the C name), UP (the macro prefix)
net_of() { sed -n 's/^typedef struct \([A-Za-z_][A-Za-z0-9_]*\) \1;$/\1/p' "$1"; }
up_of() { sed -n 's/^#define \([A-Za-z0-9_]*\)_MAX_BATCH [0-9]*$/\1/p' "$1"; }

# A prototype of header $1 turned into a call on model $3 with 2 samples:
#   "float xor_train_step(xor *m, const float *x, const float *y, int n);"
#   -> "xor_train_step(&m0, fbuf, fbuf, 2)"
call_of() {
    grep "^[a-z]* $2(" "$1" | sed -e 's/^[a-z]* //' -e "s/(\([A-Za-z0-9_]*\) \*m/(\&$3/" \
        -e 's/const float \*[A-Za-z0-9_]*/fbuf/g' -e 's/const int32_t \*[A-Za-z0-9_]*/ibuf/g' \
        -e 's/int n);$/2)/'
}

# have CC: the compiler exists (a missing one is reported and skipped)
have() {
    if command -v "$1" >/dev/null 2>&1; then
        return 0
    fi
    echo "SKIP: compiler '$1' not found"
    missing=1
    return 1
}
