#!/usr/bin/env bash
# scripts/setup.sh - installs what nngen needs to build and test, on Debian
# (run as root, or it re-runs itself with sudo; without sudo it stops and
# says so). The package list is
# scripts/debian-packages.txt (build: gcc, cmake, ninja (scripts/test.sh's
# generator; make works too), flex, bison; tests: CMocka,
# clang; gzip unpacks the MNIST copy; the firmware tests: gcc-arm-none-eabi,
# libnewlib-arm-none-eabi, qemu-system-arm; hostile-input tests: valgrind,
# libclang-rt-14-dev (libFuzzer); graphviz renders `nngen graph`; tests of
# the user commands: libxml2-utils (xmllint parses the SVGs), pkgconf (the
# install test), groff-base (the man page), bsdutils (`script`, a terminal
# for the progress bar)).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup: error: installing packages needs root, and sudo is not installed:" \
            "run $0 as root (e.g. su -c '$0')" >&2
        exit 1
    fi
    exec sudo "$0" "$@"
fi
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
xargs -a debian-packages.txt apt-get install -y -qq --no-install-recommends >/dev/null
echo "setup: done (gcc $(gcc -dumpversion), $(cmake --version | head -1), $(bison --version | head -1))"
