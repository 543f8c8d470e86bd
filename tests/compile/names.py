#!/usr/bin/env python3
"""tests/compile/names.py - the naming rule, as a property: every name of
compiler/lower/reserved.c's table (the names the headers of generated code
and of nngen train's trainer declare, and the trainer's own), and nngen's own
prefixes and macros, in every role (network, input, output, layer, param),
either compiles warning-free or is refused with a located error. Never C
that fails.

    names.py NNGEN ROOT WORK [--all]

Without --all, a sample: a few names of each kind (every header, the
trainer, nngen's prefixes) in every role, a few seconds. With --all, every
name of the table (the slow label: minutes). Each role but the network packs
up to 60 names into one network; a network that is refused is tried again
one name at a time, so that one refused name hides no other.

Accepted output is compiled three ways (plain with -I ROOT/runtime,
--standalone, --freestanding) with -std=c99 -Wall -Wextra -Wpedantic -Werror
(-fsyntax-only: names are a front-end matter): plain and standalone by gcc
and clang, standalone also by gcc in its default (GNU) mode, where math.h
defines M_PI, freestanding by the first compiler; with --all and always for one sample network, the names go
through `nngen train` too (a trainer compiled with them). A refusal must be
exit status 1 with `FILE:LINE:COL: error:` and a caret line on stderr.
Exit 77 (skip) when neither gcc nor clang is installed.
"""
import os
import re
import shutil
import subprocess
import sys

FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
# a sample of the table: names from each header and the trainer, plus nngen's own
SAMPLE = ["M_PI", "EOF", "errno", "SIGINT", "sig_atomic_t", "clock_gettime", "timespec", "ioctl",
          "TIOCGWINSZ", "winsize", "va_list", "stat", "S_ISREG", "INT_MAX", "O_RDONLY", "size_t",
          "uint8_t", "NAN", "fabsf", "memcpy", "FILE", "exit", "main", "Data", "Run", "die", "load",
          "train", "Options", "Batch", "NI", "KIND_NONE", "alloc", "describe", "nnrt", "nnrt_rng",
          "NN_OK", "NN_ERR_IO", "NNRT_API", "nn_param", "nnt_forward", "nndata_idx_open", "NNT_NET",
          "PT_MAX_BATCH", "pt_init", "pt", "m", "n"]


def table(root):
    text = open(os.path.join(root, "compiler/lower/reserved.c")).read()
    body = text[text.index("reserved[] = {"):text.index("};")]
    return re.findall(r'"(\w+)"', body)


class Check:
    def __init__(self, nngen, root, work):
        self.nngen, self.root, self.work = nngen, root, work
        self.ccs = [c for c in ("gcc", "clang") if shutil.which(c)]
        self.count = 0
        self.failures = []

    def fail(self, what):
        self.failures.append(what)
        print("FAIL: " + what, file=sys.stderr)

    def run(self, argv, cwd=None, env=None):
        return subprocess.run(argv, cwd=cwd or self.work, capture_output=True, text=True, env=env)

    def refused_well(self, r, src):
        """exit 1, a located error naming the file, a caret"""
        return (r.returncode == 1 and re.search(r"^%s:\d+:\d+: error: " % re.escape(src), r.stderr, re.M)
                and re.search(r"^ +\| +\^", r.stderr, re.M))

    def network(self, tag, text):
        """nngen + the compilers on one network; True when accepted and compiled, False when refused"""
        src = tag + ".nn"
        with open(os.path.join(self.work, src), "w") as f:
            f.write(text)
        accepted = None
        for mode, flags in (("plain", []), ("standalone", ["--standalone"]),
                            ("freestanding", ["--freestanding"])):
            out = "%s_%s.c" % (tag, mode)
            r = self.run([self.nngen, src, *flags, "-o", out])
            if r.returncode != 0:
                if not self.refused_well(r, src):
                    self.fail("%s (%s): not a located refusal, status %d: %s" % (tag, mode, r.returncode,
                                                                              r.stderr.strip()[:300]))
                if accepted:
                    self.fail("%s: accepted in one mode, refused with %s" % (tag, mode))
                accepted = False
                continue
            if accepted is False:
                self.fail("%s: refused in one mode, accepted with %s" % (tag, mode))
            accepted = True
            inc = ["-I", os.path.join(self.root, "runtime")] if mode == "plain" else []
            for cc in self.ccs:
                # gcc's GNU mode (M_PI) once, with --standalone; freestanding output by gcc alone
                stds = [FLAGS] + ([FLAGS[1:]] if cc == "gcc" and mode == "standalone" else [])
                if mode == "freestanding" and cc != self.ccs[0]:
                    continue
                for std in stds:
                    self.count += 1
                    c = self.run([cc, *std, *inc, "-fsyntax-only", out])
                    if c.returncode != 0:
                        self.fail("%s (%s, %s %s): %s" % (tag, mode, cc, std[0], c.stderr.strip()[:400]))
        return bool(accepted)

    def train(self, tag, text, data):
        """through nngen train: the trainer compiles and trains one epoch"""
        src, csv = tag + ".nn", tag + ".csv"
        with open(os.path.join(self.work, src), "w") as f:
            f.write(text)
        with open(os.path.join(self.work, csv), "w") as f:
            f.write(data)
        env = dict(os.environ, NNGEN_CFLAGS="-O0")
        env.setdefault("NNGEN_CACHE_DIR", os.path.join(self.work, "cache"))
        r = self.run([self.nngen, "train", src, "--train", csv, "--epochs", "1", "--val-split", "0",
                      "--progress", "never"], env=env)
        if r.returncode != 0 and not self.refused_well(r, src):
            self.fail("%s through nngen train: status %d: %s" % (tag, r.returncode, r.stderr.strip()[:400]))


def role_text(role, names):
    """a network holding names in one role"""
    lines = ["network pt"]
    if role == "network":
        return "network %s\ninput x[2]\noutput p = x * 2\n" % names[0]
    if role == "input":
        lines += ["input %s[2]" % n for n in names]
        lines += ["param w[2]", "output o = (%s) * w" % " + ".join(names)]
    elif role == "output":
        lines += ["input x[2]", "param w[2]"]
        lines += ["output %s = x * w + %d" % (n, i) for i, n in enumerate(names)]
    elif role == "layer":
        prev = "x"
        lines += ["input x[2]"]
        for n in names:
            lines.append("%s = relu(dense(%s, 2))" % (n, prev))
            prev = n
        lines.append("output o = %s" % prev)
    elif role == "param":
        lines += ["input x[2]"]
        lines += ["param %s[2]" % n for n in names]
        lines.append("output o = x * %s" % " * ".join(names))
    lines += ["target y[2]", "loss mse(o, y)" if role != "output" else "loss mse(x * w, y)",
              "optimizer sgd(lr=0.1)"]
    return "\n".join(lines) + "\n"


def main():
    args = [a for a in sys.argv[1:] if a != "--all"]
    full = "--all" in sys.argv[1:]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    nngen, root, work = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    work = os.path.abspath(work)
    chk = Check(nngen, root, work)
    if not chk.ccs:
        print("names.py: neither gcc nor clang: skipped", file=sys.stderr)
        return 77
    names = sorted(set(table(root)) | set(SAMPLE)) if full else SAMPLE
    for role in ("network", "input", "output", "layer", "param"):
        if role == "network":
            for n in (names if full else [n for n in names if not n.lower().startswith("pt")]):
                chk.network("net_%s" % n, role_text(role, [n]))
            continue
        for start in range(0, len(names), 60):
            chunk = names[start:start + 60]
            tag = "%s_%d" % (role, start)
            if not chk.network(tag, role_text(role, chunk)):
                for n in chunk:  # one refused name must not hide the others
                    chk.network("%s_%s" % (role, n), role_text(role, [n]))
    # the trainer: names in every role at once (one trainer build), and the
    # network's own macros as names (input QQ_MAX_BATCH in network qq)
    trainer_names = SAMPLE if not full else names
    for start in range(0, len(trainer_names), 40 if full else len(trainer_names)):
        chunk = [n for n in trainer_names[start:start + (40 if full else len(trainer_names))]
                 if not n.lower().startswith("nn") and n not in ("m", "n")]
        ins = chunk[: len(chunk) // 2]
        layers = chunk[len(chunk) // 2:]
        text = ["network qq"] + ["input %s[1]" % n for n in ins] + ["input QQ_MAX_BATCH[1]", "input qq_init[1]"]
        prev = "QQ_MAX_BATCH"
        for n in layers:
            text.append("%s = tanh(dense(%s, 1))" % (n, prev))
            prev = n
        text += ["output %s = %s + %s + qq_init" % ("train", prev, " + ".join(ins) if ins else "0"),
                 "target y[1]", "loss mse(%s + %s, y)" % (prev, " + ".join(ins) if ins else "0"),
                 "optimizer sgd(lr=0.01)"]
        ncols = len(ins) + 2 + 1
        data = "\n".join(",".join("0.%d" % ((r + c) % 10) for c in range(ncols)) for r in range(8)) + "\n"
        chk.network("qq_%d" % start, "\n".join(text) + "\n")
        chk.train("qq_%d" % start, "\n".join(text) + "\n", data)
    print("names.py: %d names, %d compilations, %d failures" % (len(names), chk.count, len(chk.failures)))
    return 1 if chk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
