#!/bin/sh
# shellcheck disable=SC2317 # cases run by name
# tests/firmware/cli.sh - `nngen --freestanding` and `--weights FILE` on the
# command line, one CTest test per case.
#
#   cli.sh --list                            the case names, one a line
#   cli.sh NNGEN ROOT NN_RUNTIME_C TRAIN_XOR WORK CASE
#                                            runs CASE; ROOT is the source
#                                            tree, NN_RUNTIME_C the runtime in
#                                            one file (the build tree's, pasted
#                                            together from runtime/src/),
#                                            TRAIN_XOR the example driver (it
#                                            writes the weight file the cases
#                                            use), WORK a scratch dir
#
# Each case runs in WORK/run, which holds xor.nn (examples/xor.nn), xor.nnw
# (xor trained for 2000 epochs, seed 1) and variants of xor.nn; it checks
# exit statuses, messages and exactly which files exist afterwards. A C
# compiler (cc, or $CC) compiles the generated code where a case runs it.
set -u

cases="help freestanding_api weights_exported_exactly weights_freestanding_run weights_deterministic
weights_other_network weights_other_shape weights_damaged weights_truncated weights_not_weights
weights_missing weights_training_build weights_overwrite_refused weights_old_output_kept
weights_checked_for_ir_and_report weights_report weights_buffers weights_buffers_freestanding
weights_buffers_other_shape weights_buffers_report"

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

[ $# -eq 6 ] || { echo "usage: cli.sh --list | cli.sh NNGEN ROOT NN_RUNTIME_C TRAIN_XOR WORK CASE" >&2; exit 2; }
nngen=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$2" && pwd)
rtc=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
train=$4
work=$5
case=$6
cc=${CC:-cc}
{ rm -rf "$work" && mkdir -p "$work/run"; } || fail "cannot make $work"
work=$(cd "$work" && pwd)
run=$work/run
cp "$root/examples/xor.nn" "$run/" || fail "cannot copy xor.nn"
"$train" --train "$root/examples/data/xor.csv" --test "$root/examples/data/xor.csv" --epochs 2000 --batch 4 \
    --seed 1 --save "$run/xor.nnw" >"$work/train.log" 2>&1 || fail "train_xor could not write xor.nnw"
sed 's/^network xor$/network other/' "$run/xor.nn" >"$run/other.nn"
sed 's/dense(x, 2,/dense(x, 3,/' "$run/xor.nn" >"$run/wide.nn"

# ---- helpers (as tests/cli/cli.sh)

nngen() {
    last="nngen $*"
    (cd "$run" && "$nngen" "$@") >"$work/out" 2>"$work/err"
    rc=$?
}
expect_rc() {
    [ "$rc" -eq "$1" ] || fail "'$last' exited with $rc, expected $1"
}
expect_usage_error() {
    expect_rc 2
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    grep -q '^nngen: error: ' "$work/err" || fail "'$last': no 'nngen: error:' message"
    grep -q -F -- "$1" "$work/err" || fail "'$last': the message does not mention '$1'"
}
# a bad weight file: exit 1, "nngen: error: FILE: SENTENCE...", a note, nothing written
expect_weights_error() {
    expect_rc 1
    [ ! -s "$work/out" ] || fail "'$last' wrote to stdout"
    head -n 1 "$work/err" | grep -q -F -- "nngen: error: $1: $2" ||
        fail "'$last': expected 'nngen: error: $1: $2', got: $(head -n 1 "$work/err")"
    grep -q '^nngen: note: --weights takes a file that' "$work/err" || fail "'$last': no note"
}
files() {
    want=$(for f in "$@"; do echo "$f"; done | LC_ALL=C sort)
    got=$(cd "$run" && ls -A | LC_ALL=C sort)
    [ "$got" = "$want" ] || fail "after '$last', the directory holds: [$got], expected: [$want]"
}
inputs_only() { files xor.nn xor.nnw other.nn wide.nn "$@"; }
contains() {
    grep -q -F -- "$2" "$1" || fail "$1 does not contain '$2'"
}
lacks() {
    ! grep -q -F -- "$2" "$1" || fail "$1 contains '$2'"
}

# main.c: the embedded model's NET_export must give the weight file back,
# byte for byte, and xor must come out right on its four rows
export_main() {
    cat >"$run/main.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "xor.h"
static xor m;
static unsigned char image[XOR_WEIGHTS_BYTES], file[XOR_WEIGHTS_BYTES + 1];
int main(int argc, char **argv) {
    static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    size_t n = f ? fread(file, 1, sizeof file, f) : 0;
    long len;
    int i, bad = 0;
    xor_init(&m, 7);
    len = xor_export(&m, image, sizeof image);
    if (len != (long)n || memcmp(image, file, n)) {
        printf("export: %ld bytes, the file %lu: not the same bytes\n", len, (unsigned long)n);
        bad = 1;
    }
    xor_forward(&m, x, 4);
    for (i = 0; i < 4; i++)
        if ((xor_output_p(&m)[i] > 0.5f) != (i == 1 || i == 2))
            bad = 1;
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad;
}
EOF
}

# ---- the cases

case_help() {
    nngen --help
    expect_rc 0
    contains "$work/out" "--freestanding"
    contains "$work/out" "--weights FILE"
    inputs_only
}

# the header of freestanding output: export/import, no file functions
case_freestanding_api() {
    nngen xor.nn --freestanding -o xor.c
    expect_rc 0
    contains "$run/xor.h" "long xor_export(const xor *m, void *buf, size_t cap);"
    contains "$run/xor.h" "int xor_import(xor *m, const void *buf, size_t len);"
    contains "$run/xor.h" "#define XOR_WEIGHTS_BYTES 147"
    lacks "$run/xor.h" "xor_save"
    lacks "$run/xor.h" "xor_load"
    lacks "$run/xor.h" "nn_runtime.h"
    contains "$run/xor.c" "#define NN_FREESTANDING"
    lacks "$run/xor.c" "_POSIX_C_SOURCE 200809L /* fsync"
    # hosted output has both pairs
    nngen xor.nn -o hosted.c
    expect_rc 0
    contains "$run/hosted.h" "long xor_export("
    contains "$run/hosted.h" "int xor_import("
    contains "$run/hosted.h" "int xor_save("
    contains "$run/hosted.h" "int xor_load("
    inputs_only xor.c xor.h hosted.c hosted.h
}

case_weights_exported_exactly() {
    nngen xor.nn --weights xor.nnw --infer-only -o xor.c
    expect_rc 0
    contains "$run/xor.h" "#define XOR_WEIGHTS_EMBEDDED 1"
    lacks "$run/xor.h" "xor_load"
    lacks "$run/xor.h" "xor_import"
    lacks "$run/xor.h" "float h_weight" # no parameters in the model struct
    contains "$run/xor.c" "static const struct xor_weights {"
    export_main
    (cd "$run" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" main.c xor.c \
        "$rtc" -lm -o main) >"$work/cc.log" 2>&1 || {
        cat "$work/cc.log" >&2
        fail "the --weights output does not compile"
    }
    (cd "$run" && ./main xor.nnw) >"$work/run.log" 2>&1 || {
        cat "$work/run.log" >&2
        fail "the embedded weights are not the file's"
    }
}

case_weights_freestanding_run() {
    nngen xor.nn --weights=xor.nnw --infer-only --freestanding -o xor.c
    expect_rc 0
    lacks "$run/xor.h" "xor_save"
    export_main
    (cd "$run" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror main.c xor.c -lm -o main) >"$work/cc.log" 2>&1 || {
        cat "$work/cc.log" >&2
        fail "the --freestanding --weights output does not compile"
    }
    (cd "$run" && ./main xor.nnw) >"$work/run.log" 2>&1 || {
        cat "$work/run.log" >&2
        fail "the embedded weights are not the file's"
    }
}

case_weights_deterministic() {
    mkdir "$run/d1" "$run/d2"
    for d in d1 d2; do
        (cd "$run/$d" && "$nngen" ../xor.nn --weights ../xor.nnw --infer-only --freestanding -o xor.c) \
            >"$work/out" 2>"$work/err" || fail "nngen in $d failed"
    done
    for f in xor.c xor.h; do
        cmp -s "$run/d1/$f" "$run/d2/$f" || fail "two runs wrote different $f"
    done
    rm -r "$run/d1" "$run/d2"
    inputs_only
}

case_weights_other_network() {
    nngen other.nn --weights xor.nnw --infer-only -o other.c
    expect_weights_error xor.nnw "the weight file was written by another network: it holds network 'xor', this is network 'other'"
    inputs_only
}

case_weights_other_shape() {
    nngen wide.nn --weights xor.nnw --infer-only -o wide.c
    expect_weights_error xor.nnw "the tensor count, names, ranks or dims differ: parameter 0 is 'h.weight' [2, 2] in the file, 'h.weight' [2, 3] in network 'xor'"
    inputs_only
}

case_weights_damaged() {
    # the last byte of the last tensor's data (then u32 buffer count, u32 CRC)
    size=$(wc -c <"$run/xor.nnw")
    cp "$run/xor.nnw" "$run/bad.nnw"
    printf '\377' | dd of="$run/bad.nnw" bs=1 seek=$((size - 9)) conv=notrunc 2>/dev/null
    cmp -s "$run/xor.nnw" "$run/bad.nnw" && fail "could not damage the copy"
    nngen xor.nn --weights bad.nnw --infer-only -o xor.c
    expect_weights_error bad.nnw "CRC-32 mismatch: the file is damaged"
    inputs_only bad.nnw
}

case_weights_truncated() {
    head -c 100 "$run/xor.nnw" >"$run/short.nnw"
    nngen xor.nn --weights short.nnw --infer-only -o xor.c
    expect_weights_error short.nnw "the data ends early"
    : >"$run/empty.nnw"
    nngen xor.nn --weights empty.nnw --infer-only -o xor.c
    expect_weights_error empty.nnw "the data ends early"
    inputs_only short.nnw empty.nnw
}

case_weights_not_weights() {
    nngen xor.nn --weights xor.nn --infer-only -o xor.c
    expect_weights_error xor.nn "not a valid file of the expected format"
    inputs_only
}

case_weights_missing() {
    nngen xor.nn --weights nosuch.nnw --infer-only -o xor.c
    expect_usage_error "cannot read the weight file 'nosuch.nnw'"
    nngen xor.nn --infer-only --weights
    expect_usage_error "--weights needs a weight file"
    nngen xor.nn --infer-only --weights=
    expect_usage_error "--weights needs a weight file"
    inputs_only
}

# without --infer-only: a training build that starts from the file (the
# network name not checked: other.nn takes xor.nnw's tensors of its shapes)
case_weights_training_build() {
    nngen xor.nn --weights xor.nnw -o xor.c
    expect_rc 0
    contains "$run/xor.h" "#define XOR_CONST_SCALARS 0 " # nothing frozen
    lacks "$run/xor.h" "WEIGHTS_EMBEDDED"
    contains "$run/xor.c" "nnrt_init_copy(m->param.h_weight, xor_weights.h_weight, 4);"
    nngen other.nn --weights xor.nnw -o other.c
    expect_rc 0
    inputs_only xor.c xor.h other.c other.h
}

case_weights_overwrite_refused() {
    cp "$run/xor.nnw" "$work/xor.nnw.orig"
    nngen xor.nn --weights xor.nnw --infer-only -o xor.nnw
    expect_usage_error "would overwrite the weight file 'xor.nnw'"
    cmp -s "$run/xor.nnw" "$work/xor.nnw.orig" || fail "the weight file changed"
    nngen xor.nn --weights xor.nnw --infer-only -o ok.c
    expect_rc 0
    inputs_only ok.c ok.h
}

case_weights_old_output_kept() {
    printf 'old\n' >"$run/out.c"
    printf 'old\n' >"$run/out.h"
    nngen other.nn --weights xor.nnw --infer-only -o out.c
    expect_rc 1
    [ "$(cat "$run/out.c" "$run/out.h")" = "$(printf 'old\nold')" ] || fail "a failed run changed the old output"
    inputs_only out.c out.h
}

case_weights_checked_for_ir_and_report() {
    nngen other.nn --weights xor.nnw --infer-only --emit=ir
    expect_rc 1
    nngen other.nn --weights xor.nnw --infer-only --report
    expect_rc 1
    inputs_only
}

case_weights_report() {
    nngen xor.nn --weights xor.nnw --infer-only --max-batch 1 --report
    expect_rc 0
    grep -q '^  flash: const weights  *36  ' "$work/out" || fail "no flash figure of 36 bytes: $(cat "$work/out")"
    # arena 32 floats, pointers x and y, int n: 140 bytes on 32-bit, 152 (padded to 8) on 64-bit
    grep -q '^  RAM: model struct  *140  (sizeof the model struct on a 32-bit target, 152 on a 64-bit host)' \
        "$work/out" || fail "RAM figure: $(grep RAM "$work/out")"
    nngen xor.nn --report
    expect_rc 0
    grep -q '^  flash: const weights  *0  ' "$work/out" || fail "flash without --weights: $(grep flash "$work/out")"
    inputs_only
}

# ---- networks with buffers (batchnorm's running statistics)

# bn.nn (2-8-2 with batchnorm, network bn) trained on moons by nngen train:
# bn.nnw holds running statistics far from their initial 0 and 1
bn_setup() {
    cat >"$run/bn.nn" <<'EOF'
network bn
input  x[2]
target y : class(2)
h = relu(batchnorm(dense(x, 8)))
z = dense(h, 2)
output p = softmax(z)
loss cross_entropy(z, y)
optimizer sgd(lr=0.1, momentum=0.9)
EOF
    (cd "$run" && NNGEN_CACHE_DIR="$work/cache" "$nngen" train bn.nn --train "$root/examples/data/moons.csv" \
        --epochs 5 --batch 8 --save bn.nnw) >"$work/train_bn.log" 2>&1 || {
        cat "$work/train_bn.log" >&2
        fail "nngen train bn.nn failed"
    }
    # bn_main.c: the outputs of 8 points and the buffers, printed exactly;
    # -DLOAD: reads the file with bn_load (the reference), -DEXPORT: checks
    # that the embedded model exports the file back byte for byte
    cat >"$run/bn_main.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "bn.h"
static bn m;
static unsigned char image[BN_WEIGHTS_BYTES], file[BN_WEIGHTS_BYTES + 1];
int main(int argc, char **argv) {
    static const float x[16] = {-1, 0.5f, 0, 0, 0.5f, -0.3f, 1, 0.2f, 2, 0.5f, 1.5f, -0.4f, 0.2f, 0.9f, -0.7f, 0.8f};
    int i, k;
    bn_init(&m, 3);
    if (argc != 2)
        return 2;
#ifdef LOAD
    if (bn_load(&m, argv[1]) != 0) {
        printf("bn_load failed\n");
        return 1;
    }
#endif
#ifdef EXPORT
    {
        FILE *f = fopen(argv[1], "rb");
        size_t n = f ? fread(file, 1, sizeof file, f) : 0;
        long len = bn_export(&m, image, sizeof image);
        if (f)
            fclose(f);
        if (len != (long)n || memcmp(image, file, n)) {
            printf("export: %ld bytes, the file %lu: not the same bytes\n", len, (unsigned long)n);
            return 1;
        }
    }
#endif
    bn_forward(&m, x, 8);
    for (i = 0; i < 8; i++)
        printf("p %d: %.9g %.9g\n", i, (double)bn_output_p(&m)[2 * i], (double)bn_output_p(&m)[2 * i + 1]);
    for (i = 0; i < bn_buffer_count(); i++) {
        nn_param b = bn_buffer(&m, i);
        printf("buffer %s [%ld]:", b.name, b.size);
        for (k = 0; k < b.size; k++)
            printf(" %.9g", (double)b.value[k]);
        printf("\n");
    }
    (void)argv;
    (void)image;
    (void)file;
    return 0;
}
EOF
}
# bn_build OUT DEFS FLAGS...: nngen bn.nn FLAGS into OUT.d/bn.c, compiled
# with bn_main.c (DEFS: a -D option, or "") into OUT, the runtime library
# linked unless the output holds the runtime
bn_build() {
    out=$1 defs=$2
    shift 2
    mkdir -p "$run/$out.d" || fail "cannot make $out.d"
    nngen bn.nn "$@" -o "$out.d/bn.c"
    expect_rc 0
    rt="$rtc"
    ! grep -q 'NN_STANDALONE\|NN_FREESTANDING' "$run/$out.d/bn.c" || rt=
    # shellcheck disable=SC2086 # $defs and $rt: zero or one word
    (cd "$run/$out.d" && "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror $defs -I. -I"$root/runtime" ../bn_main.c bn.c \
        $rt -lm -o "../$out") >"$work/cc.log" 2>&1 || {
        cat "$work/cc.log" >&2
        fail "bn.nn $*: the output does not compile"
    }
}
bn_run() {
    (cd "$run" && "./$1" bn.nnw) >"$work/$1.txt" 2>&1 || {
        cat "$work/$1.txt" >&2
        fail "$1 failed"
    }
}

# the reference: bn.nn without --weights, bn_load reads the file; the same
# network with the file embedded must print exactly the same outputs and
# buffers, export the file back, and keep no buffer in its model struct
bn_compare() {
    bn_build ref -DLOAD --infer-only
    bn_run ref
    bn_build init "" --infer-only # bn_init alone: what the file must change
    bn_run init
    cmp -s "$work/ref.txt" "$work/init.txt" && fail "the trained file does not change the outputs: a weak test"
    grep -q '^buffer h.running_var \[8\]: 1 1 1 1 1 1 1 1$' "$work/ref.txt" &&
        fail "the running variances are still 1 after training: a weak test"
    bn_build emb -DEXPORT --infer-only --weights bn.nnw "$@"
    bn_run emb
    diff "$work/ref.txt" "$work/emb.txt" >&2 || fail "embedded (--weights $*) and loaded (bn_load) outputs differ"
    contains "$run/emb.d/bn.c" "static const struct bn_weights_buffer {"
    contains "$run/emb.d/bn.c" "bn_weights_buffer.h_running_var"
    contains "$run/ref.d/bn.h" "float h_running_mean[8]"
    lacks "$run/emb.d/bn.h" "running_mean" # no buffer block in the model struct
    lacks "$run/emb.d/bn.h" "bn_import"
}

case_weights_buffers() {
    bn_setup
    bn_compare
}

case_weights_buffers_freestanding() {
    bn_setup
    bn_compare --freestanding
}

# a file whose buffers are not the network's: refused, naming the difference
case_weights_buffers_other_shape() {
    bn_setup
    sed 's/dense(x, 8)/dense(x, 8, bias=false)/' "$run/bn.nn" >"$run/nobias.nn"
    nngen nobias.nn --weights bn.nnw --infer-only -o nobias.c
    expect_weights_error bn.nnw "the tensor count, names, ranks or dims differ: it holds 6 parameter tensors, network 'bn' has 5"
    # xor.nnw has no buffers; a xor with batchnorm wants two
    sed 's/^h = sigmoid(dense(x, 2, init=uniform(-1, 1)))$/h = sigmoid(batchnorm(dense(x, 2, init=uniform(-1, 1), bias=false)))/' \
        "$run/xor.nn" >"$run/xorbn.nn"
    nngen xorbn.nn --weights xor.nnw --infer-only -o xorbn.c
    expect_rc 1
    [ -e "$run/xorbn.c" ] && fail "a refused file wrote xorbn.c"
    head -n 1 "$work/err" | grep -q -F -- "nngen: error: xor.nnw: the tensor count, names, ranks or dims differ" ||
        fail "xorbn: $(head -n 1 "$work/err")"
}

# flash: parameters and buffers (58 + 16 floats); RAM: the buffers leave the struct
case_weights_buffers_report() {
    bn_setup
    nngen bn.nn --weights bn.nnw --infer-only --max-batch 1 --report
    expect_rc 0
    grep -q '^  flash: const weights  *296  (nngen --weights: 232 of parameters, 64 of buffers, as const data)' \
        "$work/out" || fail "flash figure: $(grep flash "$work/out")"
    grep -q '^  buffers  *64  (running statistics; const data, not in the model struct: --weights)' "$work/out" ||
        fail "buffers line: $(grep buffers "$work/out")"
    ram=$(sed -n 's/^  RAM: model struct *\([0-9,]*\) .*, \([0-9,]*\) on a 64-bit host)$/\1 \2/p' "$work/out" | tr -d ,)
    nngen bn.nn --infer-only --max-batch 1 --report
    expect_rc 0
    grep -q '^  flash: const weights  *0  ' "$work/out" || fail "flash without --weights: $(grep flash "$work/out")"
    ram_file=$(sed -n 's/^  RAM: model struct *\([0-9,]*\) .*, \([0-9,]*\) on a 64-bit host)$/\1 \2/p' "$work/out" | tr -d ,)
    # without --weights the struct holds the parameters (232 bytes) and the
    # buffers (64) too; 4-byte floats after 4-byte members: no padding changes
    # shellcheck disable=SC2086
    set -- $ram $ram_file
    [ $# -eq 4 ] || fail "no RAM figures"
    if [ $(($3 - $1)) -ne 296 ] || [ $(($4 - $2)) -ne 296 ]; then
        fail "RAM with --weights $1 / $2, without $3 / $4: the difference should be 296 bytes"
    fi
    # and the 64-bit figure is sizeof on this host (size.sh does the 32-bit one)
    nngen bn.nn --weights bn.nnw --infer-only --max-batch 1 -o emb.c
    expect_rc 0
    printf '#include <stdio.h>\n#include "emb.h"\nint main(void) { printf("%%d %%lu\\n", (int)sizeof(void *), (unsigned long)sizeof(bn)); return 0; }\n' \
        >"$run/host.c"
    (cd "$run" && "$cc" -std=c99 -I"$root/runtime" host.c -o host) >"$work/cc.log" 2>&1 || {
        cat "$work/cc.log" >&2
        fail "host.c does not compile"
    }
    # shellcheck disable=SC2046,SC2086
    set -- $(cd "$run" && ./host) $ram
    [ "$1" != 8 ] || [ "$2" = "$4" ] || fail "sizeof(bn) is $2 on this host, the report says $4"
}

case_fn=case_$case
command -v "$case_fn" >/dev/null 2>&1 || { echo "no case '$case'" >&2; exit 2; }
"$case_fn"
echo "ok ($case)"
exit 0
