#!/bin/sh
# tests/install/install.sh - `cmake --install` into a temporary prefix, then a
# user's project built against it, twice: with CMake (find_package(nngen) +
# nngen_add_network, plain, --standalone and --freestanding, regenerated
# when the .nn changes; nngen::nn_data for a program reading a CSV) and with make +
# pkg-config (and the program once more with the installed runtime source,
# share/nngen/nn_runtime.c, compiled in instead of libnnrt.a). Both cases
# first check that the installed libnnrt.a is portable (no AVX on x86-64).
#
#   install.sh BUILD ROOT WORK CASE     CASE: cmake_package | pkg_config
set -u
fail() {
    echo "FAIL ($case): $*" >&2
    [ -s "$work/log" ] && tail -n 30 "$work/log" >&2
    exit 1
}
[ $# -eq 4 ] || { echo "usage: install.sh BUILD ROOT WORK CASE" >&2; exit 2; }
build=$(cd "$1" && pwd)
root=$(cd "$2" && pwd)
work=$3
case=$4
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
work=$(cd "$work" && pwd)
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/log" 2>&1 || fail "cmake --install failed"
for f in bin/nngen include/nngen/nn_runtime.h include/nngen/nn_data.h lib/cmake/nngen/nngenConfig.cmake \
    lib/cmake/nngen/nngenConfigVersion.cmake lib/cmake/nngen/nngen_network.cmake \
    share/man/man1/nngen.1 share/nngen/nn_runtime.c; do
    [ -f "$prefix/$f" ] || fail "the install has no $f"
done
ls "$prefix"/lib*/libnnrt.a >/dev/null 2>&1 || fail "the install has no libnnrt.a"
ls "$prefix"/lib*/libnn_data.a >/dev/null 2>&1 || fail "the install has no libnn_data.a"
"$prefix/bin/nngen" --version | grep -q '^nngen ' || fail "the installed nngen does not run"

# the installed libnnrt.a runs on any machine of its architecture: built
# without -march=native unless the build asked for it (NN_NATIVE=ON, from
# CMake's NNGEN_NATIVE). On x86-64 the baseline has SSE2 only, so the
# library's code names no AVX register (%ymm, %zmm): the vectorized GEMM
# kernels of a -march=native build on an AVX2 or AVX-512 machine do.
if [ "${NN_NATIVE:-OFF}" = OFF ] && [ "$(uname -m)" = x86_64 ] && command -v objdump >/dev/null; then
    objdump -d "$(ls "$prefix"/lib*/libnnrt.a | head -n 1)" >"$work/nnrt.dis" 2>"$work/log" ||
        fail "objdump cannot read the installed libnnrt.a"
    grep -q 'xmm' "$work/nnrt.dis" || fail "objdump shows no SSE code in libnnrt.a (not x86-64 code?)"
    ! grep -q '%[yz]mm' "$work/nnrt.dis" ||
        fail "the installed libnnrt.a uses AVX registers (built for this machine, not portable): $(grep -m1 '%[yz]mm' "$work/nnrt.dis")"
fi
cp -r "$root/tests/install/project" "$work/project"

# the user's data_app (the installed loaders, nn_data) reads examples/data/xor.csv
check_data_app() {
    "$1" "$root/examples/data/xor.csv" >"$work/data_out" || fail "data_app failed"
    grep -q '^rows 4 cols 3 header 1 sum 6$' "$work/data_out" || fail "data_app printed: $(cat "$work/data_out")"
}

case_cmake_package() {
    cmake -S "$work/project" -B "$work/pbuild" -DCMAKE_PREFIX_PATH="$prefix" >"$work/log" 2>&1 ||
        fail "configuring the user project failed"
    cmake --build "$work/pbuild" >"$work/log" 2>&1 || fail "building the user project failed"
    "$work/pbuild/app" >"$work/out" || fail "app failed: $(cat "$work/out")"
    grep -q '^parameters 17 loss' "$work/out" || fail "app printed: $(cat "$work/out")"
    check_data_app "$work/pbuild/data_app"
    "$work/pbuild/app_standalone" >"$work/out2" || fail "app_standalone failed"
    cmp -s "$work/out" "$work/out2" || fail "standalone and library builds differ"
    # the standalone build links nothing of nngen's
    link=$work/pbuild/CMakeFiles/app_standalone.dir/link.txt
    [ -s "$link" ] || fail "no $link: cannot tell what app_standalone links"
    grep -q 'app_standalone' "$link" || fail "$link is not app_standalone's link line"
    grep -q 'libnnrt' "$link" && fail "app_standalone links libnnrt"
    # nor does the freestanding one (its C holds the runtime it needs), and
    # it gives the same results
    [ -f "$work/pbuild/CMakeFiles/app_freestanding.dir/link.txt" ] || fail "no link line for app_freestanding"
    grep -q 'libnnrt' "$work/pbuild/CMakeFiles/app_freestanding.dir/link.txt" &&
        fail "app_freestanding links libnnrt"
    "$work/pbuild/app_freestanding" >"$work/out2" || fail "app_freestanding failed"
    cmp -s "$work/out" "$work/out2" || fail "freestanding and library builds differ"
    # editing the .nn regenerates the C and rebuilds the program
    sed 's/dense(x, 4)/dense(x, 8)/' "$work/project/tiny.nn" >"$work/net.tmp" && mv "$work/net.tmp" "$work/project/tiny.nn"
    cmake --build "$work/pbuild" >"$work/log" 2>&1 || fail "rebuilding after the .nn changed failed"
    grep -q 'nngen .*tiny.nn -> tiny.c' "$work/log" || fail "the rebuild did not run nngen"
    "$work/pbuild/app" >"$work/out" || fail "app failed after the change"
    grep -q '^parameters 33 loss' "$work/out" || fail "app was not rebuilt from the new .nn: $(cat "$work/out")"
    # nothing to do when nothing changed
    cmake --build "$work/pbuild" >"$work/log" 2>&1
    ! grep -q 'nngen .*tiny.nn' "$work/log" || fail "nngen ran again with nothing changed"
}

case_pkg_config() {
    command -v pkg-config >/dev/null || fail "pkg-config is needed (Debian: pkgconf)"
    PKG_CONFIG_PATH=$(dirname "$(ls "$prefix"/lib*/pkgconfig/nngen.pc | head -n 1)")
    export PKG_CONFIG_PATH
    pkg-config --exists nngen || fail "pkg-config does not find nngen.pc"
    [ "$(pkg-config --modversion nngen)" = "$("$prefix/bin/nngen" --version | cut -d' ' -f2)" ] ||
        fail "nngen.pc's version differs from nngen --version"
    nngen=$(pkg-config --variable=nngen nngen)
    [ -x "$nngen" ] || fail "pkg-config --variable=nngen gives '$nngen', not the installed compiler"
    case $nngen in *//*) fail "pkg-config --variable=nngen gives '$nngen' (a // in the path)" ;; esac
    [ -f "$(pkg-config --variable=docdir nngen)/docs/tutorial.md" ] || fail "pkg-config --variable=docdir is not the installed docs"
    # every relative link of the installed pages leads to an installed file
    docdir=$(pkg-config --variable=docdir nngen)
    for page in "$docdir"/README.md "$docdir"/docs/*.md; do
        for link in $(grep -o '](\([a-z][^):#]*\.md\)' "$page" | sed 's/^](//' | sort -u); do
            [ -f "$(dirname "$page")/$link" ] || fail "the installed $(basename "$page") links to $link, which is not installed"
        done
    done
    ! grep -q '^URL: docs/' "$(ls "$prefix"/lib*/pkgconfig/nngen.pc | head -n 1)" || fail "nngen.pc has a URL that is a path"
    pkg-config --cflags nngen | grep -q -- "-I" || fail "no include flag"
    make -C "$work/project" CC="${CC:-cc}" >"$work/log" 2>&1 || fail "make failed"
    "$work/project/app" >"$work/out" || fail "app failed"
    grep -q '^parameters 17 loss' "$work/out" || fail "app printed: $(cat "$work/out")"
    check_data_app "$work/project/data_app"
    # the runtime as one installed source file instead of the library
    "${CC:-cc}" -std=c99 -O2 -I"$prefix/include/nngen" -o "$work/app_src" "$work/project/main.c" \
        "$work/project/tiny.c" "$prefix/share/nngen/nn_runtime.c" -lm >"$work/log" 2>&1 ||
        fail "main.c, tiny.c and the installed nn_runtime.c do not compile"
    "$work/app_src" >"$work/out3" || fail "app_src failed"
    cmp -s "$work/out" "$work/out3" || fail "the runtime's source and its library give other results"
    # the man page's examples that compile net.nn, as printed (the prefix for /usr/local,
    # LIBRARY_PATH for the linker's default /usr/local/lib)
    mkdir -p "$work/man" && cp "$work/project/tiny.nn" "$work/man/net.nn" || fail "cannot copy tiny.nn"
    printf '#include "net.h"\nint main(void) { return 0; }\n' >"$work/man/main.c"
    grep '^nngen net\.nn ' "$prefix/share/man/man1/nngen.1" | sed 's/\\-/-/g' >"$work/man/examples"
    [ "$(wc -l <"$work/man/examples")" -ge 3 ] || fail "the man page has no examples compiling net.nn"
    while IFS= read -r line; do
        (cd "$work/man" && rm -f a.out && PATH="$prefix/bin:$PATH" && LIBRARY_PATH=$(echo "$prefix"/lib*) && export LIBRARY_PATH &&
            eval "$(printf '%s\n' "$line" | sed "s|/usr/local|$prefix|g")" && [ -x a.out ]) \
            >"$work/log" 2>&1 || fail "the man page's example fails: $line"
    done <"$work/man/examples"
    # the prefix can move: nngen.pc is relative to itself
    mv "$prefix" "$work/moved"
    PKG_CONFIG_PATH=$(dirname "$(ls "$work"/moved/lib*/pkgconfig/nngen.pc | head -n 1)")
    [ -x "$(pkg-config --variable=nngen nngen)" ] || fail "nngen.pc is not relocatable"
}

"case_$case"
echo "ok: $case"
