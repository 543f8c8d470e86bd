#!/usr/bin/env python3
"""Writes compiler/lower/reserved.c: the ordinary identifiers and macros that
the headers of generated code and of `nngen train`'s trainer declare (glibc;
C99 with POSIX 2008 as the trainer compiles, and gcc's default GNU mode, in
which math.h adds M_PI and its kind): stddef stdint math, for --standalone
limits errno fcntl stdio stdlib unistd string, for the trainer signal stdarg
time sys/ioctl.h sys/stat.h; arm_acle.h for the Cortex-M4F (int8 code
includes it where the target has the DSP extension: its typedefs int8x4_t
and the like; its macros are all reserved `__` names); then the trainer's
own top-level names (types,
functions, macros of cli/trainer.c) and `main`. A network named like one of
them would make `typedef struct NAME NAME;` clash, so lower.c refuses it with
a located error, and names.c renames a port, parameter or value so named.
Names starting with '_' are reserved anyway; names starting with "nn" in any
case (nn_, nnrt_, NN_, nnt_, nndata_: the runtime's, the loaders', the
trainer glue's) are refused or renamed by their prefix, not listed here.

Run from the repository root (needs clang and gcc); the output is committed.
With --check (CTest's lint.reserved_names) it writes nothing and fails when
a top-level name of cli/trainer.c is missing from the committed list: the
trainer changes more often than the C library does.
"""
import json
import subprocess
import tempfile

import re
import sys

HEADERS = ["stddef.h", "stdint.h", "math.h", "limits.h", "errno.h", "fcntl.h",
           "stdio.h", "stdlib.h", "unistd.h", "string.h",
           "signal.h", "stdarg.h", "time.h", "sys/ioctl.h", "sys/stat.h"]
MODES = [["-std=c99", "-D_POSIX_C_SOURCE=200809L"], []]  # the trainer's; gcc's default (gnu17)
# the int8 Cortex-M4 kernels' header, read by clang for the target (declarations only)
ACLE = ("arm_acle.h", ["--target=thumbv7em-none-eabihf", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99"])


def trainer_names():
    """Top-level names of cli/trainer.c: typedefs, struct tags, functions, macros, globals."""
    text = open("cli/trainer.c").read()
    names = set(re.findall(r"^#define\s+(\w+)", text, re.M))
    names |= set(re.findall(r"^typedef\s+struct\s+(\w+)", text, re.M))
    names |= set(re.findall(r"^}\s*(\w+);", text, re.M))
    names |= set(re.findall(r"^(?:static +)?(?:const +)?(?:volatile +)?[A-Za-z_]\w*(?: \w+)*[ *]+(\w+) *[(\[=;]",
                            text, re.M))
    return {n for n in names if not n.startswith("_")} | {"main"}


def ordinary(names):
    """the identifiers a network could take (those starting with '_' are reserved anyway)"""
    return {n for n in names if n.isidentifier() and not n.startswith("_")}


def ast_names(src, FLAGS):
    """the functions, variables, typedefs, enum constants and tags clang sees declared"""
    ast = subprocess.run(["clang", *FLAGS, "-fsyntax-only", "-Xclang", "-ast-dump=json", src],
                         capture_output=True, text=True, check=True).stdout
    names = set()

    def walk(node):
        kind = node.get("kind")
        if kind in ("FunctionDecl", "VarDecl", "TypedefDecl", "EnumConstantDecl", "RecordDecl") and "name" in node:
            names.add(node["name"])
        if kind == "EnumDecl":
            for child in node.get("inner", []):
                walk(child)
    for node in json.loads(ast).get("inner", []):
        walk(node)
    return names


def declared(src, FLAGS):
    names = ast_names(src, FLAGS)
    macros = subprocess.run(["gcc", *FLAGS, "-dM", "-E", src], capture_output=True, text=True,
                            check=True).stdout
    for line in macros.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names.add(parts[1].split("(")[0])
    return sorted(ordinary(names))


def check():
    text = open("compiler/lower/reserved.c").read()
    listed = set(re.findall(r'^    "(\w+)",$', text, re.M))
    missing = sorted(n for n in trainer_names() if not n.lower().startswith("nn") and n not in listed)
    if missing:
        print("compiler/lower/reserved.c lacks cli/trainer.c's %s: run scripts/reserved-names.py"
              % ", ".join(missing))
        return 1
    print("reserved.c lists all %d top-level names of cli/trainer.c" % len(trainer_names()))
    return 0


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write("".join("#include <%s>\n" % h for h in HEADERS))
    names = set()
    for mode in MODES:
        names |= set(declared(f.name, mode))
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write("#include <%s>\n" % ACLE[0])
    names |= ordinary(ast_names(f.name, ACLE[1]))
    names |= trainer_names()
    names = sorted(n for n in names if not n.lower().startswith("nn"))
    with open("compiler/lower/reserved.c", "w") as out:
        out.write("/*\n * reserved.c - the names the C library headers of generated code and of the\n")
        out.write(" * trainer declare (%s;\n" % " ".join(HEADERS))
        out.write(" * %s for the Cortex-M4F;\n" % ACLE[0])
        out.write(" * C99 + POSIX 2008 and GNU modes), the trainer's own (cli/trainer.c) and main,\n")
        out.write(" * sorted for bsearch.\n")
        out.write(" * Written by scripts/reserved-names.py: do not edit.\n */\n")
        out.write('#include <stdlib.h>\n#include <string.h>\n\n#include "nngen.h"\n\n')
        out.write("static const char *const reserved[] = {\n")
        for n in names:
            out.write('    "%s",\n' % n)
        out.write("};\n\n")
        out.write("static int cmp_name(const void *key, const void *elem) {\n")
        out.write("    return strcmp((const char *)key, *(const char *const *)elem);\n}\n\n")
        out.write("int lower_is_library_name(const char *s) {\n")
        out.write("    return bsearch(s, reserved, sizeof reserved / sizeof reserved[0], sizeof reserved[0], cmp_name) != NULL;\n}\n")


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else main())
