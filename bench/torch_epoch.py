#!/usr/bin/python3
"""bench/torch_epoch.py - the PyTorch side of bench/threads.sh and of
bench/run.sh's end-to-end rows: trains examples/mnist_mlp.nn's or
examples/lenet.nn's network as nngen train does (Adam lr 1e-3, batch 32, a
fresh permutation per epoch, then the training set's accuracy with the
epoch's weights) and prints the mean seconds per epoch. PyTorch keeps its
default thread count (no OMP_NUM_THREADS, no set_num_threads); the first
line says what it is. Images stay uint8; each batch is scaled to [0, 1].

With TEST_IMAGES TEST_LABELS it also does what `nngen train` does by default
(--val-split 0.1): the last VAL_SPLIT of a seeded permutation of the training
data is held out and scored (loss, accuracy) after every epoch, the weights of
the lowest validation loss are restored at the end and scored on the test
data ("test accuracy A %"). The validation pass is part of an epoch's time.

Usage: torch_epoch.py mlp|lenet TRAIN_IMAGES TRAIN_LABELS EPOCHS [TEST_IMAGES TEST_LABELS [VAL_SPLIT]]
(IDX files, gzipped or not)
"""
import copy
import gzip
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
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


def score(net, x, y):
    """(mean loss, accuracy %) of net on x, y, batches of 256."""
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(y), 256):
            z = net(x[i:i + 256].float() / 255.0)
            loss += F.cross_entropy(z, y[i:i + 256], reduction="sum").item()
            correct += (z.argmax(1) == y[i:i + 256]).sum().item()
    return loss / len(y), 100.0 * correct / len(y)


def main(argv):
    kind, images, labels, epochs = argv[0], argv[1], argv[2], int(argv[3])
    x = read_idx(images).reshape(-1, 1, 28, 28)
    y = read_idx(labels).long()
    torch.manual_seed(1)
    test = None
    if len(argv) > 5:
        test = (read_idx(argv[4]).reshape(-1, 1, 28, 28), read_idx(argv[5]).long())
        split = float(argv[6]) if len(argv) > 6 else 0.1
        order = torch.randperm(len(y))
        n_val = int(len(y) * split)
        xv, yv = x[order[len(y) - n_val:]], y[order[len(y) - n_val:]]
        x, y = x[order[:len(y) - n_val]], y[order[:len(y) - n_val]]
    net = network(kind)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n = torch.get_num_threads()
    print("torch %s, %d thread%s (its default)" % (torch.__version__, n, "" if n == 1 else "s"))
    best, best_loss = None, float("inf")
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y))
        for i in range(0, len(y), 32):
            idx = perm[i:i + 32]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx].float() / 255.0), y[idx]).backward()
            opt.step()
        score(net, x, y)  # the epoch's train metric, as nngen train computes it
        if test is not None and len(yv) > 0:
            val_loss = score(net, xv, yv)[0]
            if val_loss < best_loss:
                best, best_loss = copy.deepcopy(net.state_dict()), val_loss
    seconds = (time.perf_counter() - t0) / epochs
    if test is not None:
        if best is not None:
            net.load_state_dict(best)
        print("test accuracy %.2f %%" % score(net, *test)[1])
    print("%.3f s per epoch" % seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
