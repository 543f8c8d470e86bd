#!/usr/bin/env python3
"""Writes compiler/lower/reserved.c: the ordinary identifiers and macros that
the headers of generated code and of `nngen train`'s trainer declare (glibc;
C99 with POSIX 2008 as the trainer compiles, and gcc's default GNU mode, in
which math.h adds M_PI and its kind): stddef stdint math, for --standalone
limits errno fcntl stdio stdlib unistd string, for the trainer signal stdarg
time sys/ioctl.h sys/stat.h; then the trainer's own top-level names (types,
functions, macros of cli/trainer.c) and `main`. A network named like one of
them would make `typedef struct NAME NAME;` clash, so lower.c refuses it with
a located error, and names.c renames a port, parameter or value so named.
Names starting with '_' are reserved anyway; names starting with "nn" in any
case (nn_, nnrt_, NN_, nnt_, nndata_: the runtime's, the loaders', the
trainer glue's) are refused or renamed by their prefix, not listed here.

Run from the repository root (needs clang and gcc); the output is committed.
"""
import json
import subprocess
import tempfile

import re

HEADERS = ["stddef.h", "stdint.h", "math.h", "limits.h", "errno.h", "fcntl.h",
           "stdio.h", "stdlib.h", "unistd.h", "string.h",
           "signal.h", "stdarg.h", "time.h", "sys/ioctl.h", "sys/stat.h"]
MODES = [["-std=c99", "-D_POSIX_C_SOURCE=200809L"], []]  # the trainer's; gcc's default (gnu17)


def trainer_names():
    """Top-level names of cli/trainer.c: typedefs, struct tags, functions, macros, globals."""
    text = open("cli/trainer.c").read()
    names = set(re.findall(r"^#define\s+(\w+)", text, re.M))
    names |= set(re.findall(r"^typedef\s+struct\s+(\w+)", text, re.M))
    names |= set(re.findall(r"^}\s*(\w+);", text, re.M))
    names |= set(re.findall(r"^(?:static +)?(?:const +)?(?:volatile +)?[A-Za-z_]\w*(?: \w+)*[ *]+(\w+) *[(\[=;]",
                            text, re.M))
    return {n for n in names if not n.startswith("_")} | {"main"}


def declared(src, FLAGS):
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
    macros = subprocess.run(["gcc", *FLAGS, "-dM", "-E", src], capture_output=True, text=True,
                            check=True).stdout
    for line in macros.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names.add(parts[1].split("(")[0])
    return sorted(n for n in names if n.isidentifier() and not n.startswith("_"))


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write("".join("#include <%s>\n" % h for h in HEADERS))
    names = set()
    for mode in MODES:
        names |= set(declared(f.name, mode))
    names |= trainer_names()
    names = sorted(n for n in names if not n.lower().startswith("nn"))
    with open("compiler/lower/reserved.c", "w") as out:
        out.write("/*\n * reserved.c - the names the C library headers of generated code and of the\n")
        out.write(" * trainer declare (%s;\n" % " ".join(HEADERS))
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
    main()
