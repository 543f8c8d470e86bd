#!/bin/sh
# shellcheck disable=SC2317,SC2086,SC2012 # cases run by name; $flags splits on purpose
# tests/cli/cli.sh - the command line of nngen, one CTest test per case.
#
#   cli.sh --list                   the case names, one a line
#   cli.sh NNGEN ROOT WORK CASE     runs CASE; ROOT is the source tree, WORK a
#                                   scratch directory (emptied first)
#
# Each case runs nngen inside WORK/run, which holds copies of net.nn (valid)
# and bad.nn (an error at 4:16) from tests/cli, and checks exit statuses,
# stdout / stderr and exactly which files exist afterwards. POSIX sh; a
# C compiler (cc, or $CC) for the cases that compile generated code.
set -u

cases="help version no_input unknown_option bad_max_batch two_inputs missing_o_argument
unreadable_input input_error emit_ir_stdout emit_ir_file bad_emit bad_blas blas_openblas dump_after_dce
dump_after_all dump_after_nosuch output_dir output_name_without_c default_output
unwritable_dir failed_compile_keeps_old_output header_name_refused
overwrite_input_refused max_batch determinism infer_only standalone opt_levels
crlf_input limits_ok output_is_input output_not_regular output_checked_first stdout_full
weights_over_64mib comment_start_escaped standalone_wconversion check_32bit_warning"

if [ "${1:-}" = "--list" ]; then
    for c in $cases; do echo "$c"; done
    exit 0
fi

fail() {
    echo "FAIL ($case): $*" >&2
    if [ -s "$work/err" ]; then
        echo "--- stderr of the last nngen run:" >&2
        head -n 20 "$work/err" >&2
    fi
    exit 1
}

[ $# -eq 4 ] || { echo "usage: cli.sh --list | cli.sh NNGEN ROOT WORK CASE" >&2; exit 2; }
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$2" && pwd)
work=$3
case=$4
cc=${CC:-cc}
[ -x "$nngen" ] || fail "no nngen at $nngen"
{ rm -rf "$work" && mkdir -p "$work/run"; } || fail "cannot make $work"
work=$(cd "$work" && pwd)
run=$work/run
cp "$root/tests/cli/net.nn" "$root/tests/cli/bad.nn" "$run/" || fail "cannot copy the inputs"

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
# a usage or I/O error: exit 2, a one-line "nngen: error: ..." naming $1, no stdout
expect_usage_error() {
    expect_rc 2
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    grep -q '^nngen: error: ' "$work/err" || fail "'$last': no 'nngen: error:' message"
    grep -q -- "$1" "$work/err" || fail "'$last': the message does not mention '$1'"
}
expect_quiet() { # stdout and stderr both empty
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    [ ! -s "$work/err" ] || fail "'$last' wrote to stderr"
}
# files DIR NAME...: DIR holds exactly these names
files() {
    dir=$1
    shift
    want=$(for f in "$@"; do echo "$f"; done | LC_ALL=C sort)
    got=$(cd "$dir" && ls -A | LC_ALL=C sort)
    [ "$got" = "$want" ] || fail "after '$last', $dir holds: [$got], expected: [$want]"
}
inputs_only() { files "$run" net.nn bad.nn "$@"; }
contains() { # contains FILE TEXT
    grep -q -F -- "$2" "$1" || fail "$1 does not contain '$2'"
}
lacks() {
    ! grep -q -F -- "$2" "$1" || fail "$1 contains '$2'"
}
compile() { # compile FILE.c [more cc args]: C99, no warnings
    src=$1
    shift
    "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror "$@" -c "$src" -o "$work/obj.o" ||
        fail "$cc does not compile $src cleanly"
    rm -f "$work/obj.o"
}
repeat() { awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'; }

# ---- the cases

case_help() {
    for opt in --help -h; do
        nngen $opt
        expect_rc 0
        contains "$work/out" "usage: nngen"
        contains "$work/out" "--max-batch"
        contains "$work/out" "passes, in order:"
        [ ! -s "$work/err" ] || fail "'$last' wrote to stderr"
    done
    inputs_only
}

case_version() {
    nngen --version
    expect_rc 0
    grep -q -x 'nngen [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' "$work/out" ||
        fail "--version printed: $(cat "$work/out")"
    [ ! -s "$work/err" ] || fail "'$last' wrote to stderr"
}

case_no_input() {
    nngen
    expect_usage_error "no input file"
    nngen --infer-only -o x.c
    expect_usage_error "no input file"
    inputs_only
}

case_unknown_option() {
    nngen net.nn --frobnicate
    expect_usage_error "--frobnicate"
    nngen -x net.nn
    expect_usage_error "'-x'"
    inputs_only
}

case_bad_max_batch() {
    for v in 0 -1 abc 8x 2147483648 ""; do
        nngen net.nn --max-batch "$v"
        expect_usage_error "--max-batch"
        nngen net.nn "--max-batch=$v"
        expect_usage_error "--max-batch"
    done
    nngen net.nn --max-batch
    expect_usage_error "--max-batch"
    inputs_only
}

case_two_inputs() {
    nngen net.nn bad.nn
    expect_usage_error "bad.nn"
    inputs_only
}

case_missing_o_argument() {
    nngen net.nn -o
    expect_usage_error "-o"
    inputs_only
}

case_unreadable_input() {
    nngen nosuch.nn
    expect_usage_error "cannot read 'nosuch.nn'"
    mkdir "$run/dir.nn"
    nngen dir.nn
    expect_usage_error "cannot read 'dir.nn'"
    rmdir "$run/dir.nn"
    if [ "$(id -u)" != 0 ]; then # root reads everything
        cp "$run/net.nn" "$run/locked.nn" && chmod 000 "$run/locked.nn"
        nngen locked.nn
        expect_usage_error "cannot read 'locked.nn'"
        rm -f "$run/locked.nn"
    fi
    inputs_only
}

case_input_error() {
    nngen bad.nn -o out.c
    expect_rc 1
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    head -n 1 "$work/err" | grep -q "^bad.nn:4:16: error: " || fail "unexpected message"
    inputs_only
}

case_emit_ir_stdout() {
    nngen net.nn --emit=ir
    expect_rc 0
    [ ! -s "$work/err" ] || fail "'$last' wrote to stderr"
    head -n 1 "$work/out" | grep -q '^# network clinet' || fail "stdout does not start with the IR"
    grep -q '^v0 = ' "$work/out" || fail "no v0 in the IR"
    inputs_only
}

case_emit_ir_file() {
    nngen net.nn --emit=ir -o net.ir
    expect_rc 0
    expect_quiet
    head -n 1 "$run/net.ir" | grep -q '^# network clinet' || fail "net.ir does not hold the IR"
    inputs_only net.ir
}

case_bad_emit() {
    nngen net.nn --emit=asm
    expect_usage_error "'asm'"
    inputs_only
}

case_bad_blas() {
    nngen net.nn --blas=mkl
    expect_usage_error "'mkl'"
    inputs_only
}

case_blas_openblas() {
    nngen net.nn --blas=openblas -o out.c
    expect_rc 0
    contains "$run/out.c" "cblas_sgemm(CblasRowMajor"
    contains "$run/out.c" "#include <cblas.h>"
    inputs_only out.c out.h
}

case_dump_after_dce() {
    nngen net.nn --dump-after=dce -o out.c
    expect_rc 0
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    contains "$work/err" "# after dce"
    grep -q '^v0 = ' "$work/err" || fail "no IR on stderr"
    [ "$(grep -c '^# after ' "$work/err")" -eq 1 ] || fail "more than one dump"
    inputs_only out.c out.h
}

case_dump_after_all() {
    nngen --help
    passes=$(sed -n 's/^passes, in order://p' "$work/out")
    [ -n "$passes" ] || fail "--help lists no passes"
    nngen net.nn --dump-after=all --emit=ir
    expect_rc 0
    for p in $passes; do
        grep -q -x "# after $p" "$work/err" || fail "no dump after $p"
    done
    inputs_only
}

case_dump_after_nosuch() {
    nngen net.nn --dump-after=nosuch
    expect_usage_error "nosuch"
    contains "$work/err" "passes, in order: "
    contains "$work/err" "dce"
    inputs_only
}

case_output_dir() {
    mkdir "$run/sub"
    nngen net.nn -o sub/x.c
    expect_rc 0
    expect_quiet
    files "$run/sub" x.c x.h
    contains "$run/sub/x.c" '#include "x.h"'
    lacks "$run/sub/x.c" '#include "sub/x.h"'
    compile "$run/sub/x.c" -I"$run/sub" -I"$root/runtime"
    inputs_only sub
}

case_output_name_without_c() {
    mkdir "$run/sub"
    nngen net.nn -o sub/model
    expect_rc 0
    files "$run/sub" model model.h
    contains "$run/sub/model" '#include "model.h"'
}

case_default_output() {
    mkdir "$run/src"
    cp "$run/net.nn" "$run/src/"
    nngen src/net.nn
    expect_rc 0
    expect_quiet
    inputs_only src net.c net.h
    files "$run/src" net.nn
    contains "$run/net.c" '#include "net.h"'
}

case_unwritable_dir() {
    nngen net.nn -o nodir/x.c
    expect_usage_error "cannot write 'nodir/x.c'"
    inputs_only
    if [ "$(id -u)" != 0 ]; then # root writes everywhere
        mkdir "$run/ro" && chmod 555 "$run/ro"
        nngen net.nn -o ro/x.c
        expect_usage_error "cannot write"
        files "$run/ro"
        chmod 755 "$run/ro" && rmdir "$run/ro"
    fi
}

case_failed_compile_keeps_old_output() {
    nngen net.nn -o out.c
    expect_rc 0
    cp "$run/out.c" "$work/old.c" && cp "$run/out.h" "$work/old.h"
    nngen bad.nn -o out.c
    expect_rc 1
    cmp -s "$run/out.c" "$work/old.c" || fail "a failed compilation changed out.c"
    cmp -s "$run/out.h" "$work/old.h" || fail "a failed compilation changed out.h"
    inputs_only out.c out.h
}

case_header_name_refused() {
    nngen net.nn -o 'q"x.c'
    expect_usage_error "#include"
    nngen net.nn -o 'back\slash.c'
    expect_usage_error "#include"
    inputs_only
}

case_overwrite_input_refused() {
    cp "$run/net.nn" "$work/orig.nn"
    nngen net.nn -o net.nn
    expect_usage_error "overwrite the input"
    nngen net.nn -o ./net.nn --emit=ir
    expect_usage_error "overwrite the input"
    cmp -s "$run/net.nn" "$work/orig.nn" || fail "net.nn changed"
    inputs_only
}

case_max_batch() {
    nngen net.nn --max-batch 8 -o a.c
    expect_rc 0
    contains "$run/a.h" "#define CLINET_MAX_BATCH 8"
    nngen net.nn --max-batch=8 -o b.c
    expect_rc 0
    contains "$run/b.h" "#define CLINET_MAX_BATCH 8"
    nngen net.nn -o c.c
    expect_rc 0
    contains "$run/c.h" "#define CLINET_MAX_BATCH 64"
    compile "$run/a.c" -I"$run" -I"$root/runtime"
}

# the same file and flags, run in two directories, give the same bytes
case_determinism() {
    for flags in "" "--infer-only" "--standalone" "-O0 --max-batch 3" "--emit=ir"; do
        for d in d1 d2; do
            mkdir -p "$run/$d"
            cp "$run/net.nn" "$run/$d/"
            (cd "$run/$d" && "$nngen" net.nn -o net.c $flags) 2>"$work/err" ||
                fail "nngen net.nn -o net.c $flags failed in $d"
        done
        for f in net.c net.h; do
            if [ -f "$run/d1/$f" ] || [ -f "$run/d2/$f" ]; then
                cmp "$run/d1/$f" "$run/d2/$f" || fail "$f differs between two runs with '$flags'"
            fi
        done
        cp "$run/d1/net.c" "$work/first.c"
        (cd "$run/d1" && "$nngen" net.nn -o net.c $flags) 2>"$work/err"
        cmp -s "$run/d1/net.c" "$work/first.c" || fail "a second run in one directory differs ('$flags')"
        rm -rf "$run/d1" "$run/d2"
    done
}

case_infer_only() {
    nngen net.nn --infer-only -o i.c
    expect_rc 0
    for f in i.c i.h; do
        lacks "$run/$f" "train_step"
        lacks "$run/$f" "clinet_backward"
        lacks "$run/$f" "clinet_update"
    done
    contains "$run/i.h" "clinet_forward"
    compile "$run/i.c" -I"$run" -I"$root/runtime"
    nngen net.nn -o t.c
    contains "$run/t.h" "clinet_train_step"
}

case_standalone() {
    mkdir "$run/sa"
    nngen net.nn --standalone -o sa/clinet.c
    expect_rc 0
    lacks "$run/sa/clinet.h" "nn_runtime.h"
    cp "$root/tests/cli/main.c" "$run/sa/"
    (cd "$run/sa" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror clinet.c main.c -o prog -lm) ||
        fail "the standalone output does not build with libm alone"
    "$run/sa/prog" || fail "the standalone program failed"
}

# "/*" in a .nn comment and in the input's path is copied into C comments:
# it must not open one there (gcc -Wall: -Wcomment, an error with -Werror)
case_comment_start_escaped() {
    mkdir "$run/a*" "$run/out"
    sed 's|^h = relu(dense(x, 4))$|h = relu(dense(x, 4))  # hidden /* layer */ /*|' "$run/net.nn" >"$run/a*/net.nn"
    grep -q '/\*' "$run/a*/net.nn" || fail "the test network lacks its /*"
    nngen "a*/net.nn" -o out/clinet.c
    expect_rc 0
    nngen "a*/net.nn" --standalone -o out/sa.c
    expect_rc 0
    (cd "$run/out" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" -c clinet.c -o c.o &&
        "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror -c sa.c -o sa.o) ||
        fail "a /* in a comment or path breaks -Wall -Werror"
}

# the runtime that --standalone and --freestanding paste is -Wconversion
# clean (it used to give 16 -Wsign-conversion warnings in the GEMM)
case_standalone_wconversion() {
    mkdir "$run/wc"
    nngen net.nn --standalone -o wc/sa.c
    expect_rc 0
    nngen net.nn --freestanding -o wc/fs.c
    expect_rc 0
    (cd "$run/wc" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror -c sa.c -o sa.o &&
        "$cc" -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Werror -c fs.c -o fs.o) ||
        fail "the pasted runtime warns under -Wconversion"
}

# nngen check warns when the model struct cannot exist on a 32-bit target
# (over 2 GiB: 4 GB of arena at --max-batch 1000000), and only then
case_check_32bit_warning() {
    printf 'network big\ninput x[1000]\ntarget y[1000]\nh = dense(x, 1000)\noutput p = h\nloss mse(h, y)\noptimizer sgd(lr=0.1)\n' \
        >"$run/big.nn"
    nngen check big.nn --max-batch 1000000
    expect_rc 0
    contains "$work/out" "warning: the model struct exceeds 2 GiB, the largest object a 32-bit target can hold"
    nngen check big.nn --max-batch 1000
    expect_rc 0
    ! grep -q "warning" "$work/out" || fail "a 4 MB model struct is warned about"
}

case_opt_levels() {
    for o in -O0 -O2; do
        nngen net.nn $o --verify -o o.c
        expect_rc 0
        expect_quiet
        compile "$run/o.c" -I"$run" -I"$root/runtime"
    done
}

case_crlf_input() {
    mkdir "$run/lf" "$run/crlf"
    cp "$run/net.nn" "$run/lf/"
    sed 's/$/\r/' "$run/net.nn" >"$run/crlf/net.nn"
    for d in lf crlf; do
        (cd "$run/$d" && "$nngen" net.nn -o net.c) 2>"$work/err" || fail "nngen failed on $d line ends"
    done
    cmp "$run/lf/net.c" "$run/crlf/net.c" || fail "CRLF line ends change net.c"
    cmp "$run/lf/net.h" "$run/crlf/net.h" || fail "CRLF line ends change net.h"
}

# docs/language.md's limits are inclusive: a line of exactly 65,536 bytes and
# brackets 256 deep compile
case_limits_ok() {
    {
        printf 'network limits\ninput x[2]\n'
        line='output p = x  #'
        printf '%s' "$line"
        repeat $((65536 - ${#line})) c
        printf '\noutput q = '
        repeat 256 '('
        printf x
        repeat 256 ')'
        printf '\n'
    } >"$run/limits.nn"
    [ "$(awk 'NR == 3 { print length($0) }' "$run/limits.nn")" -eq 65536 ] || fail "bad test input"
    nngen limits.nn -o limits.c
    expect_rc 0
    expect_quiet
}

# ---- outputs never destroy inputs (docs/hostile-input.md, "Files, saves
# and processes"): the same file under another spelling or a hard link is
# refused, exit 2, nothing written; train's outputs are checked before any
# work (no trainer is built: --cache-dir stays absent)

# refused ARGS...: exit 2 naming "would overwrite", net.nn and d.csv unchanged
refused_overwrite() {
    nngen "$@"
    expect_usage_error "would overwrite"
    cmp -s "$run/net.nn" "$work/net.orig" || fail "'$last' changed net.nn"
    cmp -s "$run/d.csv" "$work/d.orig" || fail "'$last' changed d.csv"
}
case_output_is_input() {
    printf '0.1,0.2,0.3,1\n0.3,0.2,0.1,0\n' >"$run/d.csv"
    cp "$run/net.nn" "$work/net.orig" && cp "$run/d.csv" "$work/d.orig"
    ln "$run/net.nn" "$run/hard.nn" && ln "$run/net.nn" "$run/hard.dot" && ln "$run/d.csv" "$run/hard.csv"
    mkdir "$run/sub"
    refused_overwrite net.nn -o hard.nn
    refused_overwrite net.nn --emit=ir -o sub/../hard.nn
    refused_overwrite graph net.nn -o hard.dot
    c="--cache-dir $work/cache"
    refused_overwrite train net.nn --train d.csv --history d.csv $c
    refused_overwrite train net.nn --train d.csv --history ./sub/../hard.csv $c
    refused_overwrite train net.nn --train d.csv --save net.nn $c
    refused_overwrite train net.nn --train d.csv --plot "$run/net.nn" $c
    refused_overwrite train net.nn --train d.csv --plot hard.nn $c
    refused_overwrite train net.nn --train d.csv --test hard.csv --history d.csv $c
    refused_overwrite train net.nn --train d.csv,hard.nn --save net.nn $c
    refused_overwrite train net.nn --train d.csv --init hard.nn --save net.nn $c
    nngen train net.nn --train d.csv --history h.csv --plot ./h.csv $c
    expect_usage_error "are one file"
    [ ! -e "$work/cache" ] || fail "a trainer was built before the outputs were refused"
    files "$run" net.nn bad.nn d.csv hard.nn hard.dot hard.csv sub
}

# a symlink is refused (not followed, not replaced); a FIFO or character
# device is written directly (never replaced) where a stream may go, and
# refused for --save (whose rename would replace it); a directory is refused
case_output_not_regular() {
    ln -s victim.c "$run/link.c"
    printf 'precious\n' >"$run/victim.c"
    nngen net.nn -o link.c
    expect_usage_error "symbolic link"
    [ -L "$run/link.c" ] || fail "the symlink link.c was replaced"
    [ "$(cat "$run/victim.c")" = precious ] || fail "the symlink was followed"
    ln -s nowhere.dot "$run/dangling.dot"
    nngen graph net.nn -o dangling.dot
    expect_usage_error "symbolic link"
    [ ! -e "$run/nowhere.dot" ] || fail "graph -o followed a dangling symlink"
    mkdir "$run/dir.c"
    nngen net.nn -o dir.c
    expect_usage_error "is a directory"
    [ -c /dev/null ] || { echo "/dev/null is not a character device here: skipped"; exit 77; }
    nngen net.nn --emit=ir -o /dev/null
    expect_rc 0
    [ -c /dev/null ] || fail "/dev/null is no longer a character device"
    nngen net.nn -o /dev/null
    expect_usage_error "the header would go beside it"
    [ ! -e /dev/null.h ] || fail "nngen wrote /dev/null.h"
    mkfifo "$run/fifo" || fail "mkfifo"
    cat "$run/fifo" >"$work/from_fifo" &
    reader=$!
    nngen net.nn --emit=ir -o fifo
    expect_rc 0
    wait "$reader"
    [ -p "$run/fifo" ] || fail "the FIFO was replaced"
    grep -q . "$work/from_fifo" || fail "nothing came through the FIFO"
    nngen net.nn --emit=ir
    cmp -s "$work/out" "$work/from_fifo" || fail "the FIFO got other text than stdout"
    c="--cache-dir $work/cache"
    printf '0.1,0.2,0.3,1\n' >"$run/d.csv"
    nngen train net.nn --train d.csv --save fifo $c
    expect_usage_error "not a regular file"
    nngen train net.nn --train d.csv --history link.c $c
    expect_usage_error "symbolic link"
    [ -p "$run/fifo" ] && [ -L "$run/link.c" ] || fail "train replaced an output"
    [ ! -e "$work/cache" ] || fail "a trainer was built before the outputs were refused"
    files "$run" net.nn bad.nn d.csv link.c victim.c dangling.dot dir.c fifo
}

# nngen train checks --save, --plot and --history before it builds or
# trains anything: a directory, a missing parent
case_output_checked_first() {
    printf '0.1,0.2,0.3,1\n' >"$run/d.csv"
    mkdir "$run/out"
    c="--cache-dir $work/cache"
    nngen train net.nn --train d.csv --save out $c
    expect_usage_error "'out' (--save): it is a directory"
    nngen train net.nn --train d.csv --plot out $c
    expect_usage_error "'out' (--plot): it is a directory"
    nngen train net.nn --train d.csv --history nodir/h.csv $c
    expect_usage_error "the directory 'nodir' does not exist"
    nngen train net.nn --train d.csv --save d.csv/w.nnw $c
    expect_usage_error "'d.csv' is not a directory"
    [ ! -e "$work/cache" ] || fail "a trainer was built before the outputs were refused"
    files "$run" net.nn bad.nn d.csv out
}

# what cannot be written is an error (exit 2, a message), never exit 0:
# stdout on a full disk, -o /dev/full
case_stdout_full() {
    [ -c /dev/full ] || { echo "no /dev/full: skipped"; exit 77; }
    for args in "check net.nn" "graph net.nn" "net.nn --emit=ir" "net.nn --report"; do
        # shellcheck disable=SC2086
        (cd "$run" && "$nngen" $args) >/dev/full 2>"$work/err"
        rc=$?
        last="nngen $args >/dev/full"
        expect_rc 2
        grep -q "cannot write to the standard output" "$work/err" || fail "'$last': no message"
    done
    nngen net.nn --emit=ir -o /dev/full
    expect_usage_error "cannot write '/dev/full'"
    [ -c /dev/full ] || fail "/dev/full is no longer a character device"
    inputs_only
}

# --weights takes a valid weight file over 64 MiB (17 M parameters: 68 MB;
# the bound of a regular weight file is its size, which the import checks
# against the network); a stream over 64 MiB is refused naming the file.
# Slow (CTest label): 68 MB of weights become 200 MB of C (about 10 s)
case_weights_over_64mib() {
    printf 'network big\ninput x[1]\nparam w[17000000] init=zeros\noutput y = x * sum(w)\n' >"$run/big.nn"
    nngen big.nn --infer-only -o big.c
    expect_rc 0
    printf '#include "big.h"\n#include <stdlib.h>\nint main(void) { big *m = malloc(sizeof *m);\n' >"$run/mk.c"
    printf '    big_init(m, 1); return !m || big_save(m, "big.nnw") != 0; }\n' >>"$run/mk.c"
    (cd "$run" && "$cc" -std=c99 -I"$root/runtime" mk.c big.c -L"$(dirname "$nngen")" -lnnrt -lm -o mk && ./mk) ||
        fail "cannot write big.nnw"
    [ "$(wc -c <"$run/big.nnw")" -gt $((64 << 20)) ] || fail "big.nnw is not over 64 MiB"
    nngen big.nn --infer-only --weights big.nnw --report
    expect_rc 0
    contains "$work/out" "big"
    mkfifo "$run/pipe.nnw"
    cat "$run/big.nnw" >"$run/pipe.nnw" 2>/dev/null &
    nngen big.nn --infer-only --weights pipe.nnw --report
    expect_usage_error "cannot read the weight file 'pipe.nnw': it is not a regular file and holds more than 64 MiB"
    wait
}

# ---- run the case
type "case_$case" >/dev/null 2>&1 || fail "no case named '$case'"
"case_$case"
exit 0
