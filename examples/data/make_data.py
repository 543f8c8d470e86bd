#!/usr/bin/env python3
"""Writes the small example data sets of examples/data (run once; the output
is committed, so neither the build nor CI needs Python):

  moons.csv  200 points of scikit-learn's make_moons(n_samples=200,
             noise=0.2, shuffle=True): two interleaving half circles,
             Gaussian noise of standard deviation 0.2, label 0 or 1
  poly.csv   200 points x ~ U[-1, 1], y = 3 x^2 + 2 + N(0, 0.05^2)
  xor.csv    the four rows of XOR

make_moons is re-implemented here with its exact recipe (linspace over
[0, pi] for each moon, inner moon shifted by (1, -0.5)) so that only numpy
is needed. Seeds are fixed: the files are reproducible.
"""
import numpy as np
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def make_moons(n_samples, noise, rng):
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=int), np.ones(n_in, dtype=int)])
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")


def main():
    X, y = make_moons(200, 0.2, np.random.RandomState(0))
    write("moons.csv", "x0,x1,label", [("%.6f" % a, "%.6f" % b, "%d" % c) for (a, b), c in zip(X, y)])
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, 200)
    t = 3 * x**2 + 2 + rng.normal(scale=0.05, size=200)
    write("poly.csv", "x,y", [("%.6f" % a, "%.6f" % b) for a, b in zip(x, t)])
    write("xor.csv", "x0,x1,y", [("0", "0", "0"), ("0", "1", "1"), ("1", "0", "1"), ("1", "1", "0")])


if __name__ == "__main__":
    main()
