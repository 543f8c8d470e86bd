#!/bin/sh
# tests/compile/finetune.sh - training builds with --weights (fine-tuning:
# the frozen tensors const data from a weight file, the others started from
# it by NET_init), run by CTest from tests/compile/CMakeLists.txt (label
# compile).
#
#   finetune.sh NNGEN SRCDIR RUNTIME_DIR LIBNNRT WORKDIR "CC..."
#
# SRCDIR is the repository. The first compiler builds and runs:
#   - finetune_src.c on tests/layers/ly_src.nn: src.nnw, a pre-trained file
#   - finetune_main.c against `nngen finetune/ft.nn` (plain:
#     NET_load_pretrained of src.nnw after NET_init) and against `nngen
#     ft.nn --weights src.nnw` (libnnrt; and --standalone): the outputs, every tensor after
#     NET_init, the losses of four steps and every tensor after them, must
#     be equal bit for bit, the --weights build's own checks pass (NET_param,
#     NET_load / NET_save / the pretrained loads skipping const tensors) and
#     its model struct is smaller, as --report says (RAM, flash)
#   - the --weights build's net.c holds feat's tensors in const structs and
#     its model struct none of them
# Every compiler checks the --weights build under -std=c99 -Wall -Wextra
# -Wpedantic -Werror (the first compiles it -O2, and --freestanding
# --max-batch 1). Then the errors: a frozen tensor the file lacks
# (finetune/ft_missing.nn) or holds with another shape (ft_shape.nn):
# stderr equal to NAME.err, exit 1, no output; a damaged file: exit 1.
# About 5 s of CPU, most of it compiling. When a message changes on purpose,
# WORKDIR/NAME/stderr.txt of a failed run is the new NAME.err.
# Exit 0 passed, 1 failed, 77 (CTest: skipped) when a compiler is missing.
set -u

nngen=$1 src=$2 rtdir=$3 libnnrt=$4 work=$5 compilers=$6
CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror"
failures=0
missing=0
. "$src/tests/compile/lib.sh"

abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
nngen=$(abs "$nngen")
libnnrt=$(abs "$libnnrt")
src=$(cd "$src" && pwd)
rtdir=$(cd "$rtdir" && pwd)
rm -rf "$work" && mkdir -p "$work" || {
    echo "FAIL: cannot make $work"
    exit 1
}
cd "$work" || exit 1
first=
for cc in $compilers; do
    have "$cc" && [ -z "$first" ] && first=$cc
done
[ -n "$first" ] || exit 77

layers=$src/tests/layers
t=$src/tests/compile
# a --report figure: the number of the line that starts with $2
figure() { sed -n "s/^  $2  *\([0-9,]*\) .*/\1/p" "$1" | tr -d ,; }

run "nngen ly_src.nn" "$nngen" "$layers/ly_src.nn" -o ly_src.c &&
    run "$first: the pre-training" "$first" $CFLAGS -O2 -I . -I "$rtdir" -o pretrain "$t/finetune_src.c" ly_src.c \
        "$libnnrt" ${NN_LDFLAGS:-} -lm &&
    run "pre-training: save src.nnw" ./pretrain || exit 1

mkdir plain weights standalone
run "nngen ft.nn" "$nngen" "$t/finetune/ft.nn" -o plain/ft.c
run "nngen ft.nn --weights src.nnw" "$nngen" "$t/finetune/ft.nn" --weights src.nnw -o weights/ft.c
run "nngen ft.nn --weights src.nnw --standalone" "$nngen" "$t/finetune/ft.nn" --weights src.nnw --standalone \
    -o standalone/ft.c
[ $failures -eq 0 ] || exit 1

# the const data and the struct
sed -n '/^struct ft {/,/^};/p' weights/ft.h >struct.txt
grep -q 'h_weight' struct.txt || fail "the --weights build's model struct lacks h.weight"
grep -q 'feat_' struct.txt && fail "the --weights build's model struct holds feat's (frozen) tensors"
grep -q '^static const struct ft_weights {' weights/ft.c || fail "no const struct ft_weights in net.c"
grep -q '^static const struct ft_weights_buffer {' weights/ft.c ||
    fail "no const struct ft_weights_buffer in net.c (feat's running statistics)"
grep -q 'float feat_1_weight\[36\]; /\* feat.1.weight (frozen) \*/' weights/ft.c ||
    fail "feat.1.weight is not a frozen member of the const data"

# the same training, both builds (and --standalone: -O0, the network's code
# is the --weights build's, compiled -O2 just before; the pasted runtime
# alone is new, and -O0 halves the test's time)
for b in plain weights standalone; do
    lib=$libnnrt opt=-O2
    [ $b = standalone ] && lib= opt=-O0
    run "$first: $b build" "$first" $CFLAGS $opt -I "$b" -I "$rtdir" -o "$b/main" "$t/finetune_main.c" "$b/ft.c" \
        $lib ${NN_LDFLAGS:-} -lm || continue
    (cd "$b" && cp ../src.nnw . && ./main >out.txt 2>err.txt) || {
        fail "$b build: the program failed"
        sed 's/^/  | /' "$b/err.txt" | head -20
    }
done
[ $failures -eq 0 ] || exit 1
[ -s plain/out.txt ] || fail "the plain build printed nothing"
for b in weights standalone; do
    cmp -s plain/out.txt $b/out.txt || {
        fail "the $b build's tensors or losses differ from the plain build's after NET_load_pretrained"
        diff plain/out.txt $b/out.txt | head -10
    }
done
size_plain=$(sed -n 's/^sizeof //p' plain/err.txt)
size_weights=$(sed -n 's/^sizeof //p' weights/err.txt)
[ "$size_weights" -lt "$size_plain" ] || fail "model struct: --weights build $size_weights bytes, plain $size_plain"

# --report: RAM as sizeof on this host (64-bit), flash = the const scalars
# and the start values (z.weight [16, 3] and z.bias [3]: 51 scalars)
run "nngen --report" "$nngen" "$t/finetune/ft.nn" --weights src.nnw --report
cp run.log report.txt
[ "$(figure report.txt total)" = "$size_weights" ] ||
    fail "--report's total $(figure report.txt total), sizeof $size_weights"
consts=$(sed -n 's/^#define FT_CONST_SCALARS \([0-9]*\) .*/\1/p' weights/ft.h)
[ "$(figure report.txt 'flash: const weights')" = "$((4 * consts + 4 * 51))" ] ||
    fail "--report's flash $(figure report.txt 'flash: const weights'), FT_CONST_SCALARS $consts + 51 start values"
grep -q "^  RAM: model struct .*(unfrozen " report.txt || fail "--report does not compare with the unfrozen network"

# warning-free: the first compiler built it -O2 above; the others check it
# (their warnings come from the front end); the first also --freestanding
# --max-batch 1
for cc in $compilers; do
    command -v "$cc" >/dev/null 2>&1 && [ "$cc" != "$first" ] || continue
    run "$cc: --weights build -Werror" "$cc" $CFLAGS -fsyntax-only -I weights -I "$rtdir" weights/ft.c
done
run "nngen --weights --freestanding --max-batch 1" "$nngen" "$t/finetune/ft.nn" --weights src.nnw --freestanding \
    --max-batch 1 -o free.c &&
    run "$first: --freestanding --weights build -Werror" "$first" $CFLAGS -O2 -ffreestanding -c free.c -o free.o

# the errors, located at the freeze that covers the tensor
for name in ft_missing ft_shape; do
    mkdir "$name" && cp "$t/finetune/$name.nn" src.nnw "$name/"
    (cd "$name" && "$nngen" "$name.nn" --weights src.nnw -o out.c >stdout.txt 2>stderr.txt)
    rc=$?
    [ $rc -eq 1 ] || fail "$name: exit status $rc, expected 1"
    [ -s "$name/stdout.txt" ] && fail "$name: output on stdout"
    [ -e "$name/out.c" ] && fail "$name: out.c written"
    cmp -s "$t/finetune/$name.err" "$name/stderr.txt" || {
        fail "$name: stderr differs from tests/compile/finetune/$name.err"
        diff "$t/finetune/$name.err" "$name/stderr.txt" | head -20
    }
done
head -c 100 src.nnw >cut.nnw
"$nngen" "$t/finetune/ft.nn" --weights cut.nnw -o cut.c >/dev/null 2>cut.txt
[ $? -eq 1 ] && grep -q "cut.nnw: " cut.txt || fail "a truncated weight file: not refused with its name"

[ $failures -eq 0 ] || exit 1
[ $missing -eq 0 ] || exit 77
echo "passed"
exit 0
