#!/usr/bin/python3
"""lenet-torch.py - the PyTorch 1.13 reference for examples/lenet.nn.

The same model, data and settings as `build/examples/train_lenet ... --epochs 3
--batch 32`: conv 1->16 5x5 pad 2, relu, maxpool 2, conv 16->32 5x5 pad 2,
relu, maxpool 2, dense 1568->10, cross-entropy, Adam(lr=1e-3), batch 32,
3 epochs, a fresh shuffle per epoch, pixels / 255; test accuracy on the 2,000
test images. Run with Debian's torch (docs/cnn.md has the figures):

    /usr/bin/python3 scripts/lenet-torch.py nngen,torch 1,2,3

INITS: "nngen" initializes as lenet.nn does by docs/language.md's defaults
(he_uniform conv weights, xavier_uniform dense weight, zero biases),
"torch" keeps PyTorch's defaults (U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
"""
import gzip
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# the repository's own copy of the data (the same bytes as the shared mnist10k)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data", "mnist10k")


def idx(path):
    with gzip.open(path + ".gz", "rb") as f:
        b = f.read()
    rank = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * rank).reshape(dims)


def images(name):
    return torch.tensor(idx(os.path.join(DATA, name)), dtype=torch.float32).div(255).unsqueeze(1)


def labels(name):
    return torch.tensor(idx(os.path.join(DATA, name)), dtype=torch.int64)


class LeNet(nn.Module):
    def __init__(self, nngen_init):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 5, padding=2)
        self.c2 = nn.Conv2d(16, 32, 5, padding=2)
        self.z = nn.Linear(1568, 10)
        if nngen_init:
            for m in (self.c1, self.c2):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            nn.init.xavier_uniform_(self.z.weight)
            nn.init.zeros_(self.z.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.z(x.flatten(1))


def main():
    torch.set_num_threads(1)
    inits = sys.argv[1].split(",") if len(sys.argv) > 1 else ["nngen"]
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2, 3]
    xtr, ytr = images("train-images.idx"), labels("train-labels.idx")
    xte, yte = images("test-images.idx"), labels("test-labels.idx")
    for init in inits:
        for seed in seeds:
            torch.manual_seed(seed)
            net = LeNet(init == "nngen")
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            t0 = time.process_time()
            for _ in range(3):
                perm = torch.randperm(len(xtr))
                for i in range(0, len(xtr), 32):
                    b = perm[i:i + 32]
                    opt.zero_grad()
                    F.cross_entropy(net(xtr[b]), ytr[b]).backward()
                    opt.step()
            with torch.no_grad():
                acc = (net(xte).argmax(1) == yte).float().mean().item() * 100
            print("init %-5s seed %2d: test accuracy %.2f %%  (%.1f s CPU)" % (init, seed, acc,
                                                                              time.process_time() - t0), flush=True)


if __name__ == "__main__":
    main()
