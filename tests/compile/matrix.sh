#!/bin/sh
# tests/compile/matrix.sh - the build matrix: every network given, in every
# build mode, compiles warning-free, and a build with embedded weights gives
# the outputs of the same network after NET_load. Run by CTest from
# tests/compile/CMakeLists.txt (a few networks in the default run, every
# network of the repository under the label slow).
#
#   matrix.sh NNGEN RUNTIME_DIR LIBNNRT WORKDIR "CC..." NET.nn...
#
# For each NET.nn, six outputs of nngen (each must be generated, exit 0):
#   plain            nngen NET.nn                     (with -I RUNTIME_DIR)
#   standalone       nngen NET.nn --standalone
#   freestanding     nngen NET.nn --freestanding
#   infer-only       nngen NET.nn --infer-only        (with -I RUNTIME_DIR)
#   max-batch-1      nngen NET.nn --max-batch 1       (with -I RUNTIME_DIR)
#   weights          nngen NET.nn --infer-only --weights W.nnw (with -I
#                    RUNTIME_DIR), W.nnw saved by the plain build
# With every compiler given (gcc and clang), net.c compiles with -std=c99
# -Wall -Wextra -Wpedantic -Werror (the first compiler present makes the
# object: gcc gives some warnings only when it generates code; the others
# check with -fsyntax-only, which is where clang warns), and so does a file
# that includes net.h alone. With the first compiler, the weight round trip
# runs (links cost more than the compiles they check):
#   1. the plain build: NET_init (seed 7), one NET_train_step on fixed data
#      when the network trains (so the parameters and batchnorm's running
#      statistics are not the initial ones), NET_save(W.nnw), then a second
#      model NET_init (seed 99) + NET_load(W.nnw), NET_forward on 2 fixed
#      samples, every output value printed exactly (%a);
#   2. the weights build: NET_init (seed 99), the same NET_forward, printed
#      the same way;
#   the two printouts must be identical. A network without parameters or
#   buffers has nothing to embed: nngen's refusal is then the expected
#   outcome, checked by its message.
#
# NN_LDFLAGS (environment) is added to every link (the sanitizer build sets it).
# Exit 0 when everything passed, 1 on any failure, 77 (CTest: skipped) when
# everything that could run passed but a compiler of the list is missing.
set -u

[ $# -ge 6 ] || {
    echo "usage: matrix.sh NNGEN RUNTIME_DIR LIBNNRT WORKDIR \"CC...\" NET.nn..."
    exit 2
}
nngen=$1 rtdir=$2 libnnrt=$3 work=$4 compilers=$5
shift 5

CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror"
MODES="plain standalone freestanding infer-only max-batch-1 weights"
failures=0
missing=0
# fail, run, line, net_of, up_of, call_of, have
. "$(dirname "$0")/lib.sh"

flags_of() {
    case $1 in
    plain) ;;
    standalone) echo --standalone ;;
    freestanding) echo --freestanding ;;
    infer-only) echo --infer-only ;;
    max-batch-1) echo --max-batch 1 ;;
    weights) echo "--infer-only --weights ../plain/w.nnw" ;;
    esac
}

# gen_rt_main OUT HEADER SAVE: the round trip's main.c (SAVE 1: the plain
# build's, which trains a step, saves and loads; 0: the weights build's)
gen_rt_main() {
    out=$1 h=$2 save=$3
    net=$(net_of "$h")
    up=$(up_of "$h")
    big=1
    for s in $(sed -n 's/^#define [A-Za-z0-9_]*_SIZE \([0-9][0-9]*\)$/\1/p' "$h"); do
        [ "$s" -gt "$big" ] && big=$s
    done
    {
        line "#include \"$(basename "$h")\""
        line '#include <stdint.h>'
        line '#include <stdio.h>'
        line "static float fbuf[2 * $big];"
        line 'static int32_t ibuf[2];'
        line "static $net m0, m1;"
        line 'static void show(const char *name, const float *p, long count) {'
        line '    long i;'
        line '    for (i = 0; i < count; i++)'
        line '        printf("%s[%ld] = %a\n", name, i, (double)p[i]);'
        line '}'
        line 'int main(void) {'
        line '    long i;'
        line '    (void)ibuf; /* class targets only */'
        line '    (void)show; /* networks with outputs only */'
        line '    (void)m0; /* the plain build only */'
        line "    for (i = 0; i < 2L * $big; i++)"
        line '        fbuf[i] = 0.1f + 0.8f * (float)(i % 7) / 6.0f;'
        if [ "$save" = 1 ]; then
            line "    ${net}_init(&m0, 7);"
            grep -q "^float ${net}_train_step(" "$h" && line "    (void)$(call_of "$h" "${net}_train_step" m0);"
            line "    if (${net}_save(&m0, \"w.nnw\") != 0) {"
            line '        printf("save failed\n");'
            line '        return 1;'
            line '    }'
            line "    ${net}_init(&m1, 99);"
            line "    if (${net}_load(&m1, \"w.nnw\") != 0) {"
            line '        printf("load failed\n");'
            line '        return 1;'
            line '    }'
        else
            line "    ${net}_init(&m1, 99);"
        fi
        line "    $(call_of "$h" "${net}_forward" m1);"
        for o in $(sed -n "s/^const float \*${net}_output_\([A-Za-z0-9_]*\)(.*/\1/p" "$h"); do
            ou=$(line "$o" | tr 'a-z' 'A-Z')
            line "    show(\"$o\", ${net}_output_$o(&m1), 2L * ${up}_OUT_${ou}_SIZE);"
        done
        line '    return 0;'
        line '}'
    } >"$out"
}

check_net() {
    nn=$1
    base=$(basename "$nn" .nn)
    top=$work/$base
    for mode in $MODES; do
        dir=$top/$mode
        mkdir -p "$dir"
        flags=$(flags_of "$mode")
        if [ "$mode" = weights ] && [ ! -f "$top/plain/w.nnw" ]; then
            continue # the plain build failed: reported there
        fi
        # shellcheck disable=SC2086
        if ! (cd "$dir" && "$nngen" "$nn" $flags -o "$base.c" >run.log 2>&1); then
            if [ "$mode" = weights ] && grep -q 'nothing to embed\|no parameters' "$dir/run.log"; then
                echo "ok: $base: --weights refused (nothing to embed)"
                continue
            fi
            fail "$base $mode: nngen $flags"
            sed 's/^/  | /' "$dir/run.log" | head -20
            continue
        fi
        case $mode in
        standalone | freestanding) inc= ;;
        *) inc="-I$rtdir" ;;
        esac
        line "#include \"$base.h\"" >"$dir/header.c"
        line 'typedef int header_alone; /* a translation unit is not empty */' >>"$dir/header.c"
        first=1
        for cc in $compilers; do
            have "$cc" || continue
            tag=$(basename "$cc")
            # the first compiler makes the object (gcc warns about some
            # things, e.g. a missing return, only when it generates code);
            # the others check the syntax and their warnings
            if [ "$first" = 1 ]; then
                out="-c -o $base.o"
            else
                out=-fsyntax-only
            fi
            (
                cd "$dir" || exit 1
                # shellcheck disable=SC2086
                run "$tag $mode: $base.c" "$cc" $CFLAGS $inc $out "$base.c" &&
                    run "$tag $mode: $base.h alone" "$cc" $CFLAGS $inc -fsyntax-only header.c
            ) || failures=$((failures + 1))
            # the round trip: the plain build saves the weight file that the
            # weights build embeds; both print their outputs
            if [ "$first" = 1 ] && { [ "$mode" = plain ] || [ "$mode" = weights ]; } && [ -f "$dir/$base.o" ]; then
                save=0
                [ "$mode" = plain ] && save=1
                gen_rt_main "$dir/rt.c" "$dir/$base.h" $save
                (
                    cd "$dir" || exit 1
                    # shellcheck disable=SC2086
                    run "$base $mode: round-trip main" "$cc" $CFLAGS $inc -o rt rt.c "$base.o" "$libnnrt" \
                        ${NN_LDFLAGS:-} -lm && run "$base $mode: round-trip run" ./rt && cp run.log out.txt
                ) || failures=$((failures + 1))
                if [ "$mode" = weights ] && [ -f "$top/plain/out.txt" ] && [ -f "$dir/out.txt" ] &&
                    ! cmp -s "$top/plain/out.txt" "$dir/out.txt"; then
                    fail "$base: the --weights build's outputs differ from the plain build's after NET_load"
                    diff "$top/plain/out.txt" "$dir/out.txt" | head -10 | sed 's/^/  | /'
                fi
            fi
            first=0
        done
    done
}

abs() { case $1 in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
nngen=$(abs "$nngen") rtdir=$(abs "$rtdir") libnnrt=$(abs "$libnnrt")
rm -rf "$work"
mkdir -p "$work" || exit 1
for nn in "$@"; do
    check_net "$(abs "$nn")"
done

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
[ "$missing" = 1 ] && exit 77
echo "ok: $# network(s), modes: $MODES"
exit 0
