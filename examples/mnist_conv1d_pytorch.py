#!/usr/bin/python3
"""mnist_conv1d_pytorch.py - PyTorch 1.13's side of examples/mnist_conv1d.nn.

The same recipe as `nngen train examples/mnist_conv1d.nn ... --epochs 5
--batch 32`: each digit a signal of 28 steps (its columns) of 28 channels
(its rows), pixels in [0, 1], as (N, C, L) = (N, 28, 28);
nn.Conv1d(28, 32, 5, padding=2, bias=False), nn.BatchNorm1d(32), relu,
nn.MaxPool1d(2), nn.Conv1d(32, 64, 3, padding=1), relu, the mean over the
steps, nn.Linear(64, 10), cross-entropy, Adam(lr=2e-3), batch 32, 5 epochs, on
the shipped digits: 90 % of the 8,000 training digits (a seeded random
split, as nngen train holds out 10 % for validation), tested on the 2,000
test digits. Prints the test accuracy and the CPU seconds per epoch for each
seed given (default 1 2 3), on one thread (PyTorch's fastest setting for
a network this small on this machine).

PyTorch's own initialization (nngen's conv default is he_uniform), the
test in eval mode (batchnorm's running statistics).

    /usr/bin/python3 examples/mnist_conv1d_pytorch.py [SEED...]
"""
import gzip
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "mnist10k")


def idx(name):
    with gzip.open(os.path.join(DATA, name + ".idx.gz"), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Conv1d(28, 32, 5, padding=2, bias=False)
        self.bn = torch.nn.BatchNorm1d(32)
        self.b = torch.nn.Conv1d(32, 64, 3, padding=1)
        self.dense = torch.nn.Linear(64, 10)

    def forward(self, x):
        a = torch.relu(self.bn(self.a(x)))
        b = torch.relu(self.b(torch.nn.functional.max_pool1d(a, 2)))
        return self.dense(b.mean(dim=2))


def run(seed, epochs=5, batch=32):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(idx("train-images").astype(np.float32) / 255).reshape(-1, 28, 28)
    y = torch.from_numpy(idx("train-labels").astype(np.int64))
    tx = torch.from_numpy(idx("test-images").astype(np.float32) / 255).reshape(-1, 28, 28)
    ty = torch.from_numpy(idx("test-labels").astype(np.int64))
    keep = torch.from_numpy(rng.permutation(len(x))[:len(x) * 9 // 10])
    x, y = x[keep], y[keep]
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    times = []
    for _ in range(epochs):
        t = time.process_time()
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            b = order[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[b]), y[b]).backward()
            opt.step()
        times.append(time.process_time() - t)
    net.eval()
    with torch.no_grad():
        acc = (net(tx).argmax(1) == ty).double().mean().item() * 100
    print("seed %d: test accuracy %.2f %%, %.1f s of CPU per epoch (best %.1f)"
          % (seed, acc, sum(times) / len(times), min(times)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for s in sys.argv[1:] or ["1", "2", "3"]:
        run(int(s))
