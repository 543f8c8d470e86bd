#!/usr/bin/python3
"""mnist_lstm_pytorch.py - PyTorch 1.13's side of examples/mnist_lstm.nn.

The same recipe as `nngen train examples/mnist_lstm.nn ... --epochs 5
--batch 32`: row-wise MNIST (each digit a sequence of 28 rows of 28 pixels
in [0, 1]), nn.LSTM(28, 64, batch_first=True), the last state into
nn.Linear(64, 10), cross-entropy, Adam(lr=2e-3), batch 32, 5 epochs, on
the shipped digits: 90 % of the 8,000 training digits (a seeded random
split, as nngen train holds out 10 % for validation), tested on the 2,000
test digits. Prints the test accuracy and the CPU seconds per epoch for each
seed given (default 1 2 3), on one thread (PyTorch's fastest setting for
a network this small on this machine).

    /usr/bin/python3 examples/mnist_lstm_pytorch.py [SEED...]
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
        self.lstm = torch.nn.LSTM(28, 64, batch_first=True)
        self.dense = torch.nn.Linear(64, 10)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.dense(h[:, -1])


def run(seed, epochs=5, batch=32):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(idx("train-images").astype(np.float32) / 255)
    y = torch.from_numpy(idx("train-labels").astype(np.int64))
    tx = torch.from_numpy(idx("test-images").astype(np.float32) / 255)
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
    with torch.no_grad():
        acc = (net(tx).argmax(1) == ty).double().mean().item() * 100
    print("seed %d: test accuracy %.2f %%, %.1f s of CPU per epoch (best %.1f)"
          % (seed, acc, sum(times) / len(times), min(times)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for s in sys.argv[1:] or ["1", "2", "3"]:
        run(int(s))
