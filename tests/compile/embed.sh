#!/bin/sh
# tests/compile/embed.sh - nngen --infer-only --weights builds compile and
# compute what the trained network computes, run by CTest from
# tests/compile/CMakeLists.txt (label compile).
#
#   embed.sh NNGEN RUNTIME_DIR LIBNNRT WORKDIR "CC..." NET.nn
#
# For NET.nn: a training build (first compiler, libnnrt) runs NET_init,
# NET_save to w.nnw, NET_load into a model initialized with another seed,
# and a NET_forward on 2 fixed samples; then `nngen NET.nn --infer-only
# --weights w.nnw` is compiled with every compiler given under -std=c99
# -Wall -Wextra -Wpedantic -Werror and linked with libnnrt (the same with
# --max-batch 1: the first compiler), and its forward on
# the same samples must print the same outputs (relative 1e-6). A convolution with a bias
# once emitted m->param.BIAS into such a build, which has no param block.
# Exit 0 passed, 1 failed, 77 (CTest: skipped) when a compiler is missing.
set -u

nngen=$1 rtdir=$2 libnnrt=$3 work=$4 compilers=$5 nn=$6
CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror"

failures=0
missing=0
# fail, run, line, net_of, up_of, have
. "$(dirname "$0")/lib.sh"
# die MESSAGE: a failure that ends the test (each step needs the one before)
die() {
    fail "$*"
    exit 1
}

# the forward prototype of header $1 as a call on m with n = $2
forward_of() {
    grep "^[a-z]* $(net_of "$1")_forward(" "$1" | sed -e 's/^[a-z]* //' -e 's/(\([A-Za-z0-9_]*\) \*m/(\&m/' \
        -e 's/const float \*[A-Za-z0-9_]*/fbuf/g' -e "s/int n);\$/$2)/"
}

# gen_main OUT HEADER N: NET_init (and with SAVE, save and load back), a
# forward on N samples, every output value printed
gen_main() {
    h=$2
    net=$(net_of "$h")
    up=$(up_of "$h")
    big=1
    for s in $(sed -n 's/^#define [A-Za-z0-9_]*_SIZE \([0-9][0-9]*\)$/\1/p' "$h"); do
        [ "$s" -gt "$big" ] && big=$s
    done
    {
        line "#include \"$(basename "$h")\""
        line '#include <stdio.h>'
        line "static float fbuf[2 * $big];"
        line "static $net m;"
        line 'int main(void) {'
        line '    long i;'
        line "    for (i = 0; i < 2L * $big; i++)"
        line '        fbuf[i] = 0.1f + 0.8f * (float)(i % 7) / 6.0f - 0.3f * (float)(i % 3);'
        line '#ifdef SAVE'
        line "    ${net}_init(&m, 7);"
        line "    if (${net}_save(&m, \"w.nnw\") != 0) { puts(\"save failed\"); return 1; }"
        line "    ${net}_init(&m, 99);"
        line "    if (${net}_load(&m, \"w.nnw\") != 0) { puts(\"load failed\"); return 1; }"
        line '#else'
        line "    ${net}_init(&m, 0);"
        line '#endif'
        line "    $(forward_of "$h" "$3");"
        for o in $(sed -n "s/^const float \*${net}_output_\([A-Za-z0-9_]*\)(.*/\1/p" "$h"); do
            ou=$(line "$o" | tr 'a-z' 'A-Z')
            line "    for (i = 0; i < $3L * ${up}_OUT_${ou}_SIZE; i++)"
            line "        printf(\"$o %ld %.9g\\n\", i, (double)${net}_output_$o(&m)[i]);"
        done
        line '    return 0;'
        line '}'
    } >"$1"
}

# same A B: equal lines but for the value, within 1e-6 relative
same() {
    awk 'NR == FNR { v[FNR] = $3; k[FNR] = $1 " " $2; n = FNR; next }
         { if (k[FNR] != $1 " " $2) { print "line " FNR ": " $1 " " $2 " against " k[FNR]; bad = 1; exit }
           d = v[FNR] - $3; if (d < 0) d = -d; a = $3 < 0 ? -$3 : $3
           if (d > 1e-6 * (1 + a)) { print "line " FNR ": " $0 " against " v[FNR]; bad = 1 } m = FNR }
         END { if (!bad && m != n) { print m " lines against " n; bad = 1 } exit bad }' "$1" "$2"
}

nngen=$(cd "$(dirname "$nngen")" && pwd)/$(basename "$nngen")
nn=$(cd "$(dirname "$nn")" && pwd)/$(basename "$nn")
rtdir=$(cd "$rtdir" && pwd)
libnnrt=$(cd "$(dirname "$libnnrt")" && pwd)/$(basename "$libnnrt")
rm -rf "$work" && mkdir -p "$work" || die "cannot make $work"
cd "$work" || exit 1
first=
for cc in $compilers; do
    if have "$cc"; then
        [ -n "$first" ] || first=$cc
    fi
done
[ -n "$first" ] || exit 77

run "nngen: training build" "$nngen" "$nn" -o full.c || exit 1
gen_main main_full.c full.h 2
run "$first: training build" "$first" -std=c99 -DSAVE -I "$rtdir" -o full main_full.c full.c "$libnnrt" ${NN_LDFLAGS:-} -lm || exit 1
run "training build: save, load, forward" sh -c './full > ref.txt' || exit 1
[ -s ref.txt ] || die "the training build printed no output"

# embedded N CC FLAGS...: the --weights build with FLAGS, forward on N samples
embedded() {
    n=$1 cc=$2
    shift 2
    tag="$(basename "$cc") $*"
    run "nngen --weights $*" "$nngen" "$nn" --infer-only --weights w.nnw "$@" -o emb.c || exit 1
    gen_main main_emb.c emb.h "$n"
    run "$tag: the --weights build compiles -Werror" "$cc" $CFLAGS -I "$rtdir" -o emb main_emb.c emb.c \
        "$libnnrt" ${NN_LDFLAGS:-} -lm || exit 1
    run "$tag: run" sh -c "./emb > got.txt" || exit 1
    if [ "$n" -eq 2 ]; then cp ref.txt want.txt; else
        # one sample: the first half of each output's values
        awk '{ c[$1]++; l[NR] = $0; o[NR] = $1; i[NR] = $2 }
             END { for (k = 1; k <= NR; k++) if (i[k] < c[o[k]] / 2) print l[k] }' ref.txt >want.txt
    fi
    same want.txt got.txt || die "$tag: the --weights build's outputs differ from the loaded model's"
}

for cc in $compilers; do
    command -v "$cc" >/dev/null 2>&1 && embedded 2 "$cc"
done
embedded 1 "$first" --max-batch 1
[ "$missing" -eq 0 ] || exit 77
echo "ok: $(wc -l <ref.txt) output values, equal in every --weights build"
exit 0
