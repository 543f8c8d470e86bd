#!/usr/bin/python3
"""bench/table.py - runs the nngen benchmarks (build/bench/bench_NAME) and
bench/torch_bench.py alternately for R rounds, takes for each case the
median of its per-round medians, and prints the table with the ratio
nngen/PyTorch and the issue's targets; then the peak RSS of a 5-epoch MNIST
training run for both (examples/train.c on mnist_mlp.nn, bench/torch_mnist.py);
then, end to end, `nngen train` as a user types it against bench/torch_epoch.py
(seconds per epoch, peak RSS, test accuracy), alternating. Prints one markdown
table at the end, with the load average at the start and the end.
Called by bench/run.sh, which builds first; `--only e2e` runs the end-to-end
rows alone, `--list` lists the networks. The per-call rows run pinned to one
CPU, both sides on the same one (`--cpu N`; `--cpu none`: wherever the
scheduler puts them; default `--cpu auto`: the fastest of a short probe on
each CPU this process may use): on a virtual machine the CPUs need not be
equal (bench/README.md). The end-to-end rows are not pinned."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (network, batch): rows of the table; each gives inference and a training step
CASES = [("mlp", 1), ("mlp", 32), ("mlp", 128), ("wide", 128), ("lenet", 32), ("digits", 32), ("tanh", 200),
         ("lstm", 1), ("lstm", 32)]
# targets: (network, batch, kind) -> the largest acceptable ratio nngen/PyTorch
TARGETS = {("mlp", 32, "adam"): 0.40, ("mlp", 1, "infer"): 0.35, ("wide", 128, "sgd"): 1.0,
           ("lenet", 32, "adam"): 0.50, ("digits", 32, "adam"): 0.50, ("tanh", 200, "adam"): 0.05,
           ("lstm", 32, "adam"): 0.50, ("lstm", 1, "infer"): 0.20}
RSS_TARGET = 0.1
# end to end: the .nn files trained by `nngen train` on the shipped digits
E2E = [("mlp", "examples/mnist_mlp.nn"), ("lenet", "examples/lenet.nn")]
MNIST = os.path.join(ROOT, "examples", "data", "mnist10k")


def torch_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456"
    return env


def parse(out, results):
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] in ("infer", "train"):
            results.setdefault((parts[0], parts[1], int(parts[2])), []).append(float(parts[3]))


def pinned(cpu):
    """a preexec_fn that pins the child to CPU cpu (None: no pinning)"""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def probe_cpus(build, env):
    """the CPU on which a short nngen case runs fastest (the best of 3 tries
    on each, alternating), and a line saying what each took"""
    cpus = sorted(os.sched_getaffinity(0))
    exe = os.path.join(build, "bench", "bench_mlp_adam")
    if len(cpus) == 1 or not os.path.exists(exe):
        return cpus[-1], "CPU %d (no probe)" % cpus[-1]
    best = {}
    for _ in range(3):
        for c in cpus:
            out = run([exe, "--samples", "5", "--only", "train", "32"], env, c)
            us = float(out.split()[3])
            best[c] = min(best.get(c, us), us)
    cpu = min(cpus, key=lambda c: best[c])
    return cpu, "CPU %d (probe, 784-128-10 b32 Adam step: %s)" % (
        cpu, ", ".join("CPU %d %.1f µs" % (c, best[c]) for c in cpus))


def run(cmd, env, cpu=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       preexec_fn=pinned(cpu))
    if p.returncode != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(cmd, env):
    """Runs cmd under /usr/bin/time; returns (stdout, peak RSS KiB of the process tree)."""
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss %M"] + cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout, int([line for line in p.stderr.splitlines() if line.startswith("maxrss ")][-1].split()[1])


def last_number(out, prefix):
    """The number after prefix on the last line of out that contains it."""
    line = [line for line in out.splitlines() if prefix in line][-1]
    return float(line.split(prefix)[1].split()[0])


def end_to_end(build, rounds, epochs, rows):
    """`nngen train NET.nn --train ... --test ...` (default flags but --progress
    and --history; --epochs only when given) against bench/torch_epoch.py on
    the same job, alternating for `rounds`; appends the table's rows."""
    files = [os.path.join(MNIST, f + ".idx.gz") for f in ("train-images", "train-labels", "test-images", "test-labels")]
    cache = tempfile.mkdtemp(prefix="nngen-bench-")
    try:
        env = dict(os.environ, NNGEN_CACHE_DIR=cache)
        for var in ("NNGEN_CFLAGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.pop(var, None)  # both sides with their defaults
        tenv = torch_env()
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            tenv.pop(var, None)
        data = ["--train", files[0] + "," + files[1], "--test", files[2] + "," + files[3]]
        for _, nn_file in E2E:  # the trainer's one-off compile, not timed
            run([os.path.join(build, "nngen"), "train", nn_file, "--train", files[0] + "," + files[1],
                 "--val-split", "0", "--epochs", "1", "--progress", "never"], env)
        history = os.path.join(cache, "history.csv")
        res = {}
        for r in range(rounds):
            for net, nn_file in E2E:
                cmd = [os.path.join(build, "nngen"), "train", nn_file] + data + ["--progress", "never",
                                                                                   "--history", history]
                out, rss = timed(cmd + (["--epochs", str(epochs)] if epochs else []), env)
                with open(history) as f:
                    last = f.read().split()[-1].split(",")
                n = int(last[0])
                res.setdefault((net, "nngen"), []).append((float(last[-1]) / n, rss, last_number(out, "accuracy ")))
                out, rss = timed([sys.executable, os.path.join(HERE, "torch_epoch.py"), net, files[0], files[1],
                                  str(n), files[2], files[3]], tenv)
                res.setdefault((net, "torch"), []).append((float(out.split()[-4]), rss,
                                                           last_number(out, "test accuracy ")))
                threads = out.splitlines()[0].split(", ")[1].split(" (")[0]
            print("end to end: round %d of %d done" % (r + 1, rounds), file=sys.stderr)
    finally:
        shutil.rmtree(cache)
    for net, nn_file in E2E:
        a, t = res[(net, "nngen")], res[(net, "torch")]
        name = "`nngen train %s`, %d epoch%s" % (os.path.basename(nn_file), n, "" if n == 1 else "s")
        sa, st = statistics.median(x[0] for x in a), statistics.median(x[0] for x in t)
        ra, rt = statistics.median(x[1] for x in a), statistics.median(x[1] for x in t)
        rows.append(("%s: s per epoch (nngen: all cores; PyTorch: %s)" % (name, threads), "%.3f" % sa, "%.3f" % st,
                     "%.3f" % (sa / st), ""))
        rows.append(("%s: peak RSS (KiB)" % name, "%d" % ra, "%d" % rt, "%.3f" % (ra / rt), ""))
        rows.append(("%s: test accuracy (%%)" % name, "%.2f" % a[-1][2], "%.2f" % t[-1][2], "", ""))


def main(argv):
    build, rounds, samples, quick, only, epochs = "build", 3, 31, False, None, None
    cpu = "auto"
    start = load()
    i = 0
    while i < len(argv):
        if argv[i] == "--build":
            build = argv[i + 1]
            i += 1
        elif argv[i] == "--rounds":
            rounds = int(argv[i + 1])
            i += 1
        elif argv[i] == "--cpu":
            v = argv[i + 1]
            if v in ("none", "auto"):
                cpu = None if v == "none" else v
            elif v.isdigit():
                cpu = int(v)
            else:
                sys.exit("bench: --cpu takes a CPU number, auto or none, not '%s'" % v)
            if cpu not in (None, "auto") and cpu not in os.sched_getaffinity(0):
                sys.exit("bench: --cpu %d: not a CPU this process may use (%s)"
                         % (cpu, ", ".join(str(c) for c in sorted(os.sched_getaffinity(0)))))
            i += 1
        elif argv[i] == "--quick":
            rounds, samples, quick = 1, 5, True
        elif argv[i] == "--epochs":
            epochs = int(argv[i + 1])
            i += 1
        elif argv[i] in ("--help", "-h"):
            print(__doc__.strip())
            return
        elif argv[i] == "--list":
            print(" ".join(sorted({n for n, _ in CASES})) + " e2e")
            return
        elif argv[i] == "--only":
            only = set(argv[i + 1].split(","))
            unknown = only - {n for n, _ in CASES} - {"e2e"}
            if unknown:
                sys.exit("bench: --only: unknown network %s (networks: %s)"
                         % (", ".join(sorted(unknown)), ", ".join(sorted({n for n, _ in CASES}))))
            i += 1
        i += 1
    env = torch_env()
    have = {n for n, _ in CASES if only is None or n in only}
    missing = [n for n in have for o in ("sgd", "adam")
               if not os.path.exists(os.path.join(build, "bench", "bench_%s_%s" % (n, o)))]
    if missing:
        sys.exit("bench: %s not built in %s (bench/run.sh builds them)" % (", ".join(sorted(set(missing))), build))
    if cpu == "auto":
        cpu, where = probe_cpus(build, env)
        print("bench: per-call rows on %s" % where, file=sys.stderr)
    else:
        where = "not pinned" if cpu is None else "CPU %d" % cpu
    nn, pt = {}, {}
    torch_args = [sys.executable, os.path.join(HERE, "torch_bench.py"), "--samples", str(samples)]
    for r in range(rounds if have else 0):
        for net in sorted(have):
            for opt in ("sgd", "adam"):
                batches = [str(b) for n, b in CASES if n == net]
                parse(run([os.path.join(build, "bench", "bench_%s_%s" % (net, opt)), "--samples", str(samples)]
                          + batches, env, cpu), nn)
                torch_args += ["%s_%s" % (net, opt)] + batches + ["--"]
        parse(run(torch_args, env, cpu), pt)
        torch_args = torch_args[:4]
        print("round %d of %d done" % (r + 1, rounds), file=sys.stderr)

    def med(res, net, opt, kind, b):
        v = res.get(("%s_%s" % (net, opt), kind, b))
        return statistics.median(v) if v else None

    rows = []
    for net, b in CASES:
        if net not in have:
            continue
        for kind, opt, label in (("infer", "sgd", "inference"), ("train", "sgd", "SGD step"),
                                 ("train", "adam", "Adam step")):
            name = "%s b%d %s" % ({"mlp": "784-128-10", "wide": "784-512-512-10", "lenet": "lenet", "digits": "digits_cnn 8/16",
                                   "tanh": "2-16-2 tanh",
                                   "lstm": "lstm128 T28"}[net], b, label)
            target = TARGETS.get((net, b, "infer" if kind == "infer" else opt))
            tgt = "<= %.2f" % target if target else ""
            a, t = med(nn, net, opt, kind, b), med(pt, net, opt, kind, b)
            ratio = a / t
            mark = "" if not target else (" met" if ratio <= target else " **missed**")
            rows.append((name, "%.2f" % a, "%.2f" % t, "%.3f" % ratio, tgt + mark))
    if not quick and only is None:
        rss_run(build, env, rows)
    if only is None or "e2e" in only:
        end_to_end(build, rounds, epochs or (2 if quick else None), rows)
    print("nngen vs PyTorch %s, median of %d alternating round(s); load average (uptime) %s at the start, %s at"
          " the end" % (run([sys.executable, "-c", "import torch; print(torch.__version__)"], env).strip(),
                        rounds, start, load()))
    print("Per call (µs): PyTorch on 1 thread, best settings, %s. End to end: both with their default threads.\n"
          % (where if cpu is None else "both on " + where))
    print("| case | nngen | PyTorch | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| %s |" % " | ".join(row))


def rss_run(build, env, rows):
    """Peak RSS of a 5-epoch MNIST training: examples/train.c against bench/torch_mnist.py."""
    data = os.path.join(build, "examples", "data", "mnist10k")
    files = [os.path.join(data, f + ".idx") for f in ("train-images", "train-labels", "test-images", "test-labels")]
    nn_cmd = [os.path.join(build, "examples", "train_mnist_mlp"), "--train", files[0] + "," + files[1],
              "--test", files[2] + "," + files[3], "--epochs", "5", "--batch", "32", "--seed", "1"]
    pt_cmd = [sys.executable, os.path.join(HERE, "torch_mnist.py")] + files + ["5"]
    rss = []
    for cmd in (nn_cmd, pt_cmd):
        out, kib = timed(cmd, env)
        rss.append(kib)
        last = [line for line in out.splitlines() if "accuracy" in line][-1]
        print("  %s: %s" % ("nngen  " if cmd is nn_cmd else "PyTorch", last.strip()), file=sys.stderr)
    ratio = rss[0] / rss[1]
    rows.append(("peak RSS, 5-epoch MNIST (KiB)", "%d" % rss[0], "%d" % rss[1], "%.3f" % ratio,
                 "<= %.2f%s" % (RSS_TARGET, " met" if ratio <= RSS_TARGET else " **missed**")))


if __name__ == "__main__":
    main(sys.argv[1:])
