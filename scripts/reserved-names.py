#!/usr/bin/env python3
"""Writes compiler/lower/reserved.c: the ordinary identifiers and macros that the
headers included by generated code declare (glibc, C99 with POSIX 2008:
stddef stdint math, and for --standalone limits errno fcntl stdio stdlib
unistd string). A network named like one of them would make
`typedef struct NAME NAME;` clash with the library, so lower.c refuses it
with a located error. Names starting with '_' are reserved anyway.

Run from the repository root (needs clang and gcc); the output is committed.
"""
import json
import subprocess
import tempfile

HEADERS = ["stddef.h", "stdint.h", "math.h", "limits.h", "errno.h", "fcntl.h",
           "stdio.h", "stdlib.h", "unistd.h", "string.h"]
FLAGS = ["-std=c99", "-D_POSIX_C_SOURCE=200809L"]


def declared(src):
    ast = subprocess.run(["clang", *FLAGS, "-fsyntax-only", "-Xclang", "-ast-dump=json", src],
                         capture_output=True, text=True, check=True).stdout
    names = set()

    def walk(node):
        kind = node.get("kind")
        if kind in ("FunctionDecl", "VarDecl", "TypedefDecl", "EnumConstantDecl") and "name" in node:
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
    names = declared(f.name)
    with open("compiler/lower/reserved.c", "w") as out:
        out.write("/*\n * reserved.c - the names the C library headers of generated code declare\n")
        out.write(" * (%s), sorted for bsearch.\n" % " ".join(HEADERS))
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
