#!/usr/bin/python3
"""bench/torch_mnist.py - the PyTorch twin of examples/train.c on
examples/mnist_mlp.nn, for bench/run.sh's peak-RSS comparison: 784-128-10
relu, cross-entropy, Adam(lr=1e-3), batch 32, a fresh permutation per epoch,
train and test accuracy after every epoch.

Usage: torch_mnist.py TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS [EPOCHS]
Images stay uint8 in memory; each batch is converted to float in [0, 1]
(train.c holds the whole set as floats, which is the heavier choice).
"""
import os
import sys

if os.environ.get("OPENBLAS_NUM_THREADS") != "1" or os.environ.get("OMP_NUM_THREADS") != "1":
    sys.exit("torch_mnist.py: set OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 before Python starts (bench/run.sh does)")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    t = torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8)
    return t.reshape(dims[0], -1) if rank > 1 else t


def accuracy(net, x, y):
    with torch.inference_mode():
        correct = 0
        for i in range(0, len(y), 256):
            p = net(x[i:i + 256].float() / 255.0)
            correct += (p.argmax(1) == y[i:i + 256]).sum().item()
    return 100.0 * correct / len(y)


def main(argv):
    xtr, ytr, xte, yte = (read_idx(p) for p in argv[:4])
    ytr, yte = ytr.long(), yte.long()
    epochs = int(argv[4]) if len(argv) > 4 else 5
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(ytr))
        total = 0.0
        for i in range(0, len(ytr), 32):
            idx = perm[i:i + 32]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xtr[idx].float() / 255.0), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print("epoch %3d  loss %.6f  train accuracy %6.2f %%  test accuracy %6.2f %%"
              % (epoch, total / len(ytr), accuracy(net, xtr, ytr), accuracy(net, xte, yte)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
