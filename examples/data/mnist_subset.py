#!/usr/bin/env python3
"""mnist_subset.py - some digits of an MNIST IDX pair, relabelled, as a new
IDX pair: the data of the CNN fine-tuning example (docs/tutorial.md, step 9;
examples/digits_cnn.nn, examples/digits_head.nn). Standard library only.

    python3 examples/data/mnist_subset.py IMAGES LABELS DIGITS OUT [--per-class N]

IMAGES, LABELS: an IDX image file and its label file (gzip-compressed when
the name ends in .gz), such as examples/data/mnist10k/train-images.idx.gz.
DIGITS: the digits to keep, e.g. 0-4 or 5-9 or 1,7; digit DIGITS[k] is
written as label k (5-9: 5 becomes 0, ..., 9 becomes 4). --per-class N: the
first N samples of each digit, in file order (a few-shot set); default: all.
Writes OUT-images.idx and OUT-labels.idx (uncompressed; the samples in
their original order) and prints how many of each digit it kept.
"""
import argparse
import gzip
import struct
import sys


def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def digits_arg(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    if not out or len(set(out)) != len(out) or not all(0 <= d <= 9 for d in out):
        raise argparse.ArgumentTypeError("digits between 0 and 9, each once: 0-4, 5-9, 1,7")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("digits", type=digits_arg)
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=0)
    a = ap.parse_args()
    img, lab = read(a.images), read(a.labels)
    magic, n, rows, cols = struct.unpack(">IIII", img[:16])
    lmagic, ln = struct.unpack(">II", lab[:8])
    if magic != 2051 or lmagic != 2049 or n != ln or len(img) != 16 + n * rows * cols or len(lab) != 8 + n:
        sys.exit("%s, %s: not a matching IDX image and label pair" % (a.images, a.labels))
    size = rows * cols
    label_of = {d: k for k, d in enumerate(a.digits)}
    kept, count = [], {d: 0 for d in a.digits}
    for i in range(n):
        d = lab[8 + i]
        if d in label_of and (a.per_class <= 0 or count[d] < a.per_class):
            kept.append(i)
            count[d] += 1
    with open(a.out + "-images.idx", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(kept), rows, cols))
        f.write(b"".join(img[16 + i * size:16 + (i + 1) * size] for i in kept))
    with open(a.out + "-labels.idx", "wb") as f:
        f.write(struct.pack(">II", 2049, len(kept)))
        f.write(bytes(label_of[lab[8 + i]] for i in kept))
    print("%s: %d samples (%s)" % (a.out, len(kept), ", ".join("digit %d as %d: %d" % (d, label_of[d], count[d])
                                                                for d in a.digits)))


if __name__ == "__main__":
    main()
