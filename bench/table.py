#!/usr/bin/python3
"""bench/table.py - runs the nngen benchmarks (build/bench/bench_NAME) and
bench/torch_bench.py alternately for R rounds, takes for each case the
median of its per-round medians, and prints the table with the ratio
nngen/PyTorch and the issue's targets; then the peak RSS of a 5-epoch MNIST
training run for both (examples/train.c on mnist_mlp.nn, bench/torch_mnist.py).
Called by bench/run.sh, which builds first."""
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (network, batch): rows of the table; each gives inference and a training step
CASES = [("mlp", 1), ("mlp", 32), ("mlp", 128), ("wide", 128), ("lenet", 32), ("tanh", 200), ("lstm", 1), ("lstm", 32)]
# targets: (network, batch, kind) -> the largest acceptable ratio nngen/PyTorch
TARGETS = {("mlp", 32, "adam"): 0.40, ("mlp", 1, "infer"): 0.35, ("wide", 128, "sgd"): 1.0,
           ("lenet", 32, "adam"): 0.50, ("tanh", 200, "adam"): 0.05,
           ("lstm", 32, "adam"): 0.50, ("lstm", 1, "infer"): 0.20}
RSS_TARGET = 0.1


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


def run(cmd, env):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout


def main(argv):
    build, rounds, samples, quick, only = "build", 3, 31, False, None
    i = 0
    while i < len(argv):
        if argv[i] == "--build":
            build = argv[i + 1]
            i += 1
        elif argv[i] == "--rounds":
            rounds = int(argv[i + 1])
            i += 1
        elif argv[i] == "--quick":
            rounds, samples, quick = 1, 5, True
        elif argv[i] == "--only":
            only = set(argv[i + 1].split(","))
            unknown = only - {n for n, _ in CASES}
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
    nn, pt = {}, {}
    torch_args = [sys.executable, os.path.join(HERE, "torch_bench.py"), "--samples", str(samples)]
    for r in range(rounds):
        for net in sorted(have):
            for opt in ("sgd", "adam"):
                batches = [str(b) for n, b in CASES if n == net]
                parse(run([os.path.join(build, "bench", "bench_%s_%s" % (net, opt)), "--samples", str(samples)]
                          + batches, env), nn)
                torch_args += ["%s_%s" % (net, opt)] + batches + ["--"]
        parse(run(torch_args, env), pt)
        torch_args = torch_args[:4]
        print("round %d of %d done" % (r + 1, rounds), file=sys.stderr)

    def med(res, net, opt, kind, b):
        v = res.get(("%s_%s" % (net, opt), kind, b))
        return statistics.median(v) if v else None

    print("nngen vs PyTorch %s, 1 thread, median time of one call (us); ratio = nngen / PyTorch"
          % run([sys.executable, "-c", "import torch; print(torch.__version__)"], env).strip())
    print("%-26s %12s %12s %8s %10s" % ("case", "nngen us", "PyTorch us", "ratio", "target"))
    for net, b in CASES:
        if net not in have:
            continue
        for kind, opt, label in (("infer", "sgd", "inference"), ("train", "sgd", "SGD step"),
                                 ("train", "adam", "Adam step")):
            name = "%s b%d %s" % ({"mlp": "784-128-10", "wide": "784-512-512-10", "lenet": "lenet",
                                   "tanh": "2-16-2 tanh",
                                   "lstm": "lstm128 T28"}[net], b, label)
            target = TARGETS.get((net, b, "infer" if kind == "infer" else opt))
            tgt = "<= %.2f" % target if target else ""
            a, t = med(nn, net, opt, kind, b), med(pt, net, opt, kind, b)
            ratio = a / t
            mark = "" if not target else (" met" if ratio <= target else " MISSED")
            print("%-26s %12.2f %12.2f %8.3f %10s%s" % (name, a, t, ratio, tgt, mark))
    if quick or only is not None:
        return
    data = os.path.join(build, "examples", "data", "mnist10k")
    files = [os.path.join(data, f + ".idx") for f in ("train-images", "train-labels", "test-images", "test-labels")]
    nn_cmd = [os.path.join(build, "examples", "train_mnist_mlp"), "--train", files[0] + "," + files[1],
              "--test", files[2] + "," + files[3], "--epochs", "5", "--batch", "32", "--seed", "1"]
    pt_cmd = [sys.executable, os.path.join(HERE, "torch_mnist.py")] + files + ["5"]
    rss = []
    for cmd in (nn_cmd, pt_cmd):
        p = subprocess.run(["/usr/bin/time", "-f", "maxrss %M"] + cmd, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit("bench: %s failed:\n%s" % (" ".join(cmd), p.stderr))
        rss.append(int([line for line in p.stderr.splitlines() if line.startswith("maxrss ")][-1].split()[1]))
        last = [line for line in p.stdout.splitlines() if "accuracy" in line][-1]
        print("  %s: %s" % ("nngen  " if cmd is nn_cmd else "PyTorch", last.strip()))
    ratio = rss[0] / rss[1]
    print("%-26s %9d KiB %9d KiB %8.3f %10s%s" % ("peak RSS, 5-epoch MNIST", rss[0], rss[1], ratio,
                                                 "<= %.2f" % RSS_TARGET, " met" if ratio <= RSS_TARGET else " MISSED"))


if __name__ == "__main__":
    main(sys.argv[1:])
