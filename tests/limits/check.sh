#!/bin/sh
# tests/limits/check.sh - inputs that are not regular files of a sane size.
#
#   check.sh NNGEN WORK
#
#   - an endless input (/dev/zero): exit 2, "larger than 64 MiB", no output
#     (nngen NET.nn and the commands check, graph, train and predict, which
#     read through the same function; train and predict get valid other
#     arguments, so the source is what they refuse)
#   - a sparse file of 64 MiB + 1 byte: the same
#   - a FIFO fed a valid network: compiles like the file would
set -u
fail() {
    echo "FAIL: $*" >&2
    [ -s "$work/err" ] && head -n 5 "$work/err" >&2
    exit 1
}
[ $# -eq 2 ] || { echo "usage: check.sh NNGEN WORK" >&2; exit 2; }
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$2
{ rm -rf "$work" && mkdir -p "$work/run"; } || fail "cannot make $work"
cd "$work/run" || fail "cannot enter $work/run"

too_big() { # too_big INPUT
    "$nngen" "$1" -o out.c >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc -eq 2 ] || fail "nngen $1: exit status $rc, expected 2"
    grep -q "^nngen: error: '$1' is larger than 64 MiB" "$work/err" || fail "nngen $1: no size message"
    [ ! -e out.c ] && [ ! -e out.h ] || fail "nngen $1 wrote an output"
}

too_big /dev/zero
printf 'x,y\n0,0\n1,1\n' >d.csv && printf 'not weights\n' >w.nnw || fail "cannot write d.csv, w.nnw"
for command in check graph train predict; do
    case $command in
    check) args= ;;
    graph) args="-o g.dot" ;;
    train) args="--train d.csv --save s.nnw --history h.csv --cache-dir $work/cache" ;;
    predict) args="--weights w.nnw --input d.csv --cache-dir $work/cache" ;;
    esac
    "$nngen" $command /dev/zero $args >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc -eq 2 ] || fail "nngen $command /dev/zero: exit status $rc, expected 2"
    grep -q "^nngen: error: '/dev/zero' is larger than 64 MiB" "$work/err" || fail "nngen $command: no size message"
    [ ! -e g.dot ] && [ ! -e s.nnw ] && [ ! -e h.csv ] && [ ! -s "$work/out" ] ||
        fail "nngen $command /dev/zero wrote an output"
done
rm -f d.csv w.nnw
: >big.nn && truncate -s $((64 * 1024 * 1024 + 1)) big.nn || fail "cannot make big.nn"
too_big big.nn
rm -f big.nn

mkdir a b || fail "cannot make a, b"
printf 'network fifo\ninput x[2]\noutput p = relu(x)\n' >a/net.nn
(cd a && "$nngen" net.nn -o net.c) 2>"$work/err" || fail "net.nn does not compile"
mkfifo b/net.nn || fail "cannot make a FIFO"
cat a/net.nn >b/net.nn &
(cd b && "$nngen" net.nn -o net.c) 2>"$work/err"
rc=$?
wait
[ $rc -eq 0 ] || fail "a FIFO input: exit status $rc"
cmp a/net.c b/net.c && cmp a/net.h b/net.h || fail "a FIFO input gives other C than the file"
echo "limits: endless input (compiler and commands), oversized file and FIFO input as expected"
