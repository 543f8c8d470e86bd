#!/bin/sh
# tests/compile/check.sh - generated code compiles everywhere (docs/c-api.md,
# "Rules for generated code"), run by CTest from tests/compile/CMakeLists.txt.
#
#   check.sh one   NNGEN RUNTIME_DIR LIBNNRT WORKDIR "CC..." NET.nn
#   check.sh ops   NNGEN RUNTIME_DIR LIBNNRT WORKDIR "CC..." NET.nn
#   check.sh multi NNGEN RUNTIME_DIR LIBNNRT WORKDIR "CC..." A.nn B.nn ...
#
# one: NET.nn is compiled by nngen four ways (plain, --standalone,
#   --infer-only, both); each output must be byte-identical when generated
#   again, and with every compiler given (gcc and clang):
#     - net.c compiles with -std=c99 -Wall -Wextra -Wpedantic -Werror
#       (plain output with -I RUNTIME_DIR; standalone output without it);
#       plain output by gcc at -O2 (which enables gcc's flow-based warnings
#       such as -Wmaybe-uninitialized, besides the front end's, the same at
#       any level), the rest at -O0; clang's warnings come from its front
#       end whatever the -O level, so a compiler that does not link checks
#       with -fsyntax-only; the standalone output differs only by the
#       pasted runtime, slow to optimize;
#     - a generated main.c compiles; it includes net.h first, so net.h
#       compiles alone, as the first include of a file;
#     - with the first compiler present, main.c (NET_init, NET_forward on 2
#       samples, every output finite; NET_train_step and NET_loss finite
#       when there is training) links with nothing but -lm (standalone) or
#       libnnrt and -lm (plain), and runs. (Linking and running once is
#       enough: the second compiler's warnings are what this test adds;
#       each link costs more than the compile it checks.)
# ops: as one for plain and --infer-only; the two --standalone outputs are
#   generated (twice, identical) but not compiled: their network code must
#   equal the plain and --infer-only outputs' byte for byte (the .c after the
#   pasted runtime, the .h but for its nn_param/nn_status block), so they add
#   only the pasted runtime, which the examples', compile.case.* and
#   runtime.amalgamation.* tests compile. For the ~50 gradient-check
#   networks, whose point is each op's code: half the compiler calls. When
#   the environment has NN_O2_BUILT=TAG, the build compiled the plain output
#   with that compiler at -O2 -Werror, linked it and ran it (tests/gradcheck):
#   that compiler's pass over the plain output is left out here (the other
#   compilers check it, and its header first in main.c, without linking).
# multi: the networks' headers are included in one main.c, their sources
#   linked together, and a forward pass of each runs: all standalone, all
#   plain (with libnnrt), and mixed (the first standalone, the rest plain).
#   The sources are compiled, linked and run with the first compiler; the
#   others compile main.c only (each source's warnings are mode one's).
#
# NN_LDFLAGS (environment) is added to every link (the sanitizer build sets it).
# Exit 0 when everything passed, 1 on any failure, 77 (CTest: skipped) when
# everything that could run passed but a compiler of the list is missing.
set -u

mode=$1 nngen=$2 rtdir=$3 libnnrt=$4 work=$5 compilers=$6
shift 6

CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror"
failures=0
missing=0
# fail, run, line, net_of, up_of, call_of, have
. "$(dirname "$0")/lib.sh"

# gen_main OUT HEADER...: a main that drives every network of the headers
gen_main() {
    out=$1
    shift
    big=1
    for h in "$@"; do
        for s in $(sed -n 's/^#define [A-Za-z0-9_]*_SIZE \([0-9][0-9]*\)$/\1/p' "$h"); do
            [ "$s" -gt "$big" ] && big=$s
        done
    done
    {
        # the networks' headers first: the first compiles as the only
        # include before it, which is the "header alone" check
        for h in "$@"; do line "#include \"$(basename "$h")\""; done
        line '#include <math.h>'
        line '#include <stdint.h>'
        line '#include <stdio.h>'
        line "static float fbuf[2 * $big];"
        line 'static int32_t ibuf[2];'
        i=0
        for h in "$@"; do line "static $(net_of "$h") m$i;"; i=$((i + 1)); done
        line 'static int finite_all(const float *p, long count) {'
        line '    long i;'
        line '    for (i = 0; i < count; i++)'
        line '        if (!isfinite(p[i]))'
        line '            return 0;'
        line '    return 1;'
        line '}'
        line 'int main(void) {'
        line '    int bad = 0;'
        line '    long i;'
        line '    (void)ibuf; /* class targets only */'
        line '    (void)finite_all; /* networks with outputs only */'
        line "    for (i = 0; i < 2L * $big; i++)"
        line '        fbuf[i] = 0.1f + 0.8f * (float)(i % 7) / 6.0f;'
        i=0
        for h in "$@"; do
            net=$(net_of "$h")
            up=$(up_of "$h")
            line "    ${net}_init(&m$i, 1);"
            line "    if (${net}_param_count() != ${up}_PARAM_COUNT) {"
            line "        printf(\"$net: param_count\\n\");"
            line '        bad = 1;'
            line '    }'
            line "    $(call_of "$h" "${net}_forward" "m$i");"
            for o in $(sed -n "s/^const float \*${net}_output_\([A-Za-z0-9_]*\)(.*/\1/p" "$h"); do
                ou=$(line "$o" | tr 'a-z' 'A-Z')
                line "    if (!finite_all(${net}_output_$o(&m$i), 2L * ${up}_OUT_${ou}_SIZE)) {"
                line "        printf(\"$net: output $o not finite\\n\");"
                line '        bad = 1;'
                line '    }'
                line "    printf(\"$net $o[0] = %g\\n\", (double)${net}_output_$o(&m$i)[0]);"
            done
            if grep -q "^float ${net}_train_step(" "$h"; then
                line "    if (!isfinite($(call_of "$h" "${net}_train_step" "m$i")) ||"
                line "        !isfinite($(call_of "$h" "${net}_loss" "m$i"))) {"
                line "        printf(\"$net: loss not finite\\n\");"
                line '        bad = 1;'
                line '    }'
            fi
            i=$((i + 1))
        done
        line '    return bad;'
        line '}'
    } >"$out"
}

# generate DIR NN FLAGS...: nngen into DIR/BASE.c and .h, twice, identical
generate() {
    dir=$1 nn=$2
    shift 2
    base=$(basename "$nn" .nn)
    mkdir -p "$dir/again"
    (cd "$dir" && run "nngen $* $nn" "$nngen" "$nn" "$@" -o "$base.c") || {
        failures=$((failures + 1))
        return 1
    }
    (cd "$dir/again" && run "nngen $* $nn (again)" "$nngen" "$nn" "$@" -o "$base.c") || {
        failures=$((failures + 1))
        return 1
    }
    for ext in c h; do
        cmp -s "$dir/$base.$ext" "$dir/again/$base.$ext" || fail "$base.$ext with '$*' differs between two runs"
    done
}

# same_network PLAIN_DIR STANDALONE_DIR BASE: the standalone output is the
# plain one plus the pasted runtime (ops mode)
same_network() {
    awk 'f { print } /^#endif$/ && !f { f = 1 }' "$1/$3.c" >"$2/net.plain"
    awk 'f { print } /^\/\* ---- network / { f = 1 }' "$2/$3.c" >"$2/net.standalone"
    [ -s "$2/net.plain" ] && cmp -s "$2/net.plain" "$2/net.standalone" ||
        fail "$2/$3.c: the network code differs from the plain output's ($1/$3.c)"
    sed -e 2d -e '/^#include "nn_runtime.h"$/d' "$1/$3.h" >"$2/h.plain"
    sed -e 2d -e '/^#ifndef NN_PARAM_DEFINED$/,/^#endif$/d' "$2/$3.h" >"$2/h.standalone"
    cmp -s "$2/h.plain" "$2/h.standalone" ||
        fail "$2/$3.h: differs from the plain header ($1/$3.h) beyond the nn_param/nn_status block"
}

check_one() {
    nn=$1 compile_standalone=$2
    base=$(basename "$nn" .nn)
    for variant in plain standalone infer-only standalone+infer-only; do
        case $variant in
        plain) flags= ;;
        standalone) flags=--standalone ;;
        infer-only) flags=--infer-only ;;
        *) flags="--standalone --infer-only" ;;
        esac
        dir=$work/$variant
        # shellcheck disable=SC2086
        generate "$dir" "$nn" $flags || continue
        if [ "$compile_standalone" = 0 ]; then
            case $variant in
            standalone) same_network "$work/plain" "$dir" "$base"; continue ;;
            standalone+infer-only) same_network "$work/infer-only" "$dir" "$base"; continue ;;
            esac
        fi
        case $variant in
        standalone*) inc= lib= ;;
        *) inc="-I$rtdir" lib=$libnnrt ;;
        esac
        gen_main "$dir/main.c" "$dir/$base.h"
        first=1
        for cc in $compilers; do
            have "$cc" || continue
            tag=$(basename "$cc")
            # link and run with the first compiler present; the others
            # compile net.c and main.c (the header, first in main.c) only
            linkrun=$first
            first=0
            # clang's warnings come from its front end, the same at any -O
            # level: the -O2 pass is gcc's (its flow-based warnings)
            o2=1
            case $tag in *clang*) o2=0 ;; esac
            # ops mode: the build compiled the plain output with this
            # compiler at -O2 -Werror already, linked it with a driver and
            # ran it (NN_O2_BUILT, set by CMake; tests/gradcheck): nothing
            # left for this compiler to check (the others still check the
            # header first in main.c)
            if [ "$compile_standalone" = 0 ] && [ "$variant" = plain ] &&
                [ "$tag" = "${NN_O2_BUILT:-}" ]; then
                continue
            fi
            # one compile of net.c: at -O2 where that pass is due (its
            # warnings include the -O0 compile's: the front end's are the
            # same at any level), the object then linked; a compiler that
            # neither links nor optimizes checks syntax only (no code made)
            lvl=
            [ -z "$inc" ] || [ "$o2" = 0 ] || lvl=-O2
            out="-c -o $base.$tag.o"
            mout="-c -o main.$tag.o"
            if [ "$linkrun" = 0 ] && [ -z "$lvl" ]; then
                out=-fsyntax-only mout=-fsyntax-only
            fi
            (
                cd "$dir" || exit 1
                # shellcheck disable=SC2086
                run "$tag $variant: $base.c $lvl" "$cc" $CFLAGS $lvl $inc $out "$base.c" &&
                    run "$tag $variant: main.c ($base.h first)" "$cc" $CFLAGS $inc $mout main.c &&
                    { [ "$linkrun" = 0 ] ||
                        { run "$tag $variant: link" "$cc" -o "main.$tag" "main.$tag.o" "$base.$tag.o" $lib ${NN_LDFLAGS:-} -lm &&
                            run "$tag $variant: run" "./main.$tag"; }; }
            ) || failures=$((failures + 1))
        done
    done
}

check_multi() {
    for variant in standalone plain mixed; do
        dir=$work/$variant
        headers=
        objs_needed=
        first=1
        for nn in "$@"; do
            flags=
            if [ "$variant" = standalone ] || { [ "$variant" = mixed ] && [ $first = 1 ]; }; then
                flags=--standalone
            fi
            first=0
            # shellcheck disable=SC2086
            generate "$dir" "$nn" $flags || continue
            headers="$headers $dir/$(basename "$nn" .nn).h"
            objs_needed="$objs_needed $(basename "$nn" .nn)"
        done
        case $variant in
        standalone) inc= lib= ;;
        *) inc="-I$rtdir" lib=$libnnrt ;;
        esac
        # shellcheck disable=SC2086
        gen_main "$dir/main.c" $headers
        first=1
        for cc in $compilers; do
            have "$cc" || continue
            tag=$(basename "$cc")
            if [ $first = 0 ]; then
                # the other compilers: main.c with every header (each
                # network's source is compile.example's, with each compiler)
                # shellcheck disable=SC2086
                (cd "$dir" && run "$tag $variant: main.c with every header" "$cc" $CFLAGS $inc -c main.c -o "main.$tag.o") ||
                    failures=$((failures + 1))
                continue
            fi
            first=0
            (
                cd "$dir" || exit 1
                objs=
                for b in $objs_needed; do
                    # shellcheck disable=SC2086
                    run "$tag $variant: $b.c" "$cc" $CFLAGS $inc -c "$b.c" -o "$b.$tag.o" || exit 1
                    objs="$objs $b.$tag.o"
                done
                # shellcheck disable=SC2086
                run "$tag $variant: main.c with every header" "$cc" $CFLAGS $inc -c main.c -o "main.$tag.o" &&
                    run "$tag $variant: link" "$cc" -o "main.$tag" "main.$tag.o" $objs $lib ${NN_LDFLAGS:-} -lm &&
                    run "$tag $variant: run" "./main.$tag" &&
                    cat run.log
            ) || failures=$((failures + 1))
        done
    done
}

rm -rf "$work"
mkdir -p "$work" || exit 1
case $mode in
one) check_one "$1" 1 ;;
ops) check_one "$1" 0 ;;
multi) check_multi "$@" ;;
*)
    echo "usage: check.sh one|ops|multi NNGEN RUNTIME_DIR LIBNNRT WORKDIR COMPILERS FILE.nn..."
    exit 2
    ;;
esac

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
[ "$missing" = 1 ] && exit 77
echo "ok"
exit 0
