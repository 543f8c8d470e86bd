#!/usr/bin/python3
"""bench/torch_bench.py - the PyTorch side of bench/run.sh: the networks of
bench/models/*.nn in PyTorch 1.13 eager mode, timed exactly as bench.c times
the generated code (median over S samples of one call, each sample as many
consecutive calls as fill T ms, after a warm-up), on the same kind of data.

Usage: torch_bench.py [--samples S] [--min-ms T] NET BATCH... [-- NET BATCH...]
Prints "NET infer BATCH MEDIAN_US" and "NET train BATCH MEDIAN_US" lines.

The best settings for one thread are the caller's job (bench/run.sh sets
them before Python starts): OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1,
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, glibc malloc thresholds raised.
This script refuses to run without the thread variables, and uses
torch.set_num_threads(1), inference_mode for inference, and for Adam the
faster of PyTorch's two implementations (foreach or the per-tensor loop),
measured here.
"""
import os
import sys
import time

if os.environ.get("OPENBLAS_NUM_THREADS") != "1" or os.environ.get("OMP_NUM_THREADS") != "1":
    sys.exit("torch_bench.py: set OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 before Python starts (bench/run.sh does)")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)


class LastLSTM(nn.Module):
    """lstm_*.nn: nn.LSTM(28, 128) over 28 steps (batch_first), dense 128->10 on the last state"""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.dense = nn.Linear(128, 10)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.dense(h[:, -1])


def two_conv(f1, f2, k, classes):
    """lenet_*.nn and digits_*.nn: two k x k convolutions (f1, f2 filters,
    "same" padding), each with relu and 2x2 max pooling, on 28 x 28 images,
    then a dense layer from the 7 x 7 x f2 features"""
    return nn.Sequential(
        nn.Conv2d(1, f1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(f1, f2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(f2 * 7 * 7, classes))


def make_net(name):
    """The architecture of bench/models/NAME.nn, and its optimizer kind."""
    kind, opt = name.split("_")
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        shape, classes = (784,), 10
    elif kind == "wide":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        shape, classes = (784,), 10
    elif kind == "tanh":
        net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
        shape, classes = (2,), 2
    elif kind == "lenet":
        net, shape, classes = two_conv(16, 32, 5, 10), (1, 28, 28), 10
    elif kind == "digits":
        net, shape, classes = two_conv(8, 16, 3, 5), (1, 28, 28), 5
    elif kind == "lstm":
        net = LastLSTM()
        shape, classes = (28, 28), 10
    else:
        raise SystemExit("torch_bench.py: unknown network " + name)
    return net, opt, shape, classes


def make_opt(net, opt, foreach):
    if opt == "sgd":
        return torch.optim.SGD(net.parameters(), lr=0.01)
    return torch.optim.Adam(net.parameters(), lr=1e-4, foreach=foreach)


def measure(fn, samples, min_ms):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.1:
        fn()
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        if (time.perf_counter() - t) * 1e3 >= min_ms or reps > (1 << 24):
            break
        reps *= 2
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t) / reps * 1e6)
    times.sort()
    return times[len(times) // 2]


def bench(name, batches, samples, min_ms):
    torch.manual_seed(1)
    net, opt_kind, shape, classes = make_net(name)
    gen = torch.Generator().manual_seed(12345)
    for b in batches:
        x = torch.rand((b,) + shape, generator=gen)
        y = torch.randint(0, classes, (b,), generator=gen)

        def infer():
            with torch.inference_mode():
                return F.softmax(net(x), dim=1)

        print("%s infer %d %.3f" % (name, b, measure(infer, samples, min_ms)), flush=True)
        best = None
        for foreach in ([False, True] if opt_kind == "adam" else [False]):
            opt = make_opt(net, opt_kind, foreach)

            def train():
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                opt.step()
                return loss

            t = measure(train, samples, min_ms)
            best = t if best is None else min(best, t)
        print("%s train %d %.3f" % (name, b, best), flush=True)


def main(argv):
    samples, min_ms = 31, 2.0
    jobs, cur = [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--samples":
            samples = int(argv[i + 1])
            i += 2
            continue
        if a == "--min-ms":
            min_ms = float(argv[i + 1])
            i += 2
            continue
        if a == "--":
            cur = None
        elif cur is None:
            cur = (a, [])
            jobs.append(cur)
        else:
            cur[1].append(int(a))
        i += 1
    for name, batches in jobs:
        bench(name, batches, samples, min_ms)


if __name__ == "__main__":
    main(sys.argv[1:])
