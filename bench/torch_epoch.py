#!/usr/bin/python3
"""bench/torch_epoch.py - the PyTorch side of bench/threads.sh: trains
examples/mnist_mlp.nn's or examples/lenet.nn's network as nngen train does
(Adam lr 1e-3, batch 32, a fresh permutation per epoch, then the training
set's accuracy with the epoch's weights) and prints the mean seconds per
epoch. PyTorch keeps its default thread count (no OMP_NUM_THREADS, no
set_num_threads); the first line says what it is.

Usage: torch_epoch.py mlp|lenet TRAIN_IMAGES TRAIN_LABELS EPOCHS
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    t = torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8)
    return t.reshape(dims) if rank > 1 else t


def network(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def main(argv):
    kind, images, labels, epochs = argv[0], argv[1], argv[2], int(argv[3])
    x = read_idx(images).reshape(-1, 1, 28, 28)
    y = read_idx(labels).long()
    torch.manual_seed(1)
    net = network(kind)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    print("torch %s, %d threads (its default)" % (torch.__version__, torch.get_num_threads()))
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y))
        for i in range(0, len(y), 32):
            idx = perm[i:i + 32]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx].float() / 255.0), y[idx]).backward()
            opt.step()
        with torch.inference_mode():  # the epoch's train metric, as nngen train computes it
            for i in range(0, len(y), 256):
                net(x[i:i + 256].float() / 255.0).argmax(1)
    print("%.3f s per epoch" % ((time.perf_counter() - t0) / epochs))


if __name__ == "__main__":
    main(sys.argv[1:])
