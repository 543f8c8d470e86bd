#!/usr/bin/env python3
"""reference.py - an exact model of nngen quantize's integer arithmetic
(TensorFlow Lite's int8 scheme and reference kernels), written from the
scheme, not from nngen's C, and the fixtures the bit-exact tests compare
nngen's generated C with:

  rescale.txt     x, multiplier, shift, MultiplyByQuantizedMultiplier(x);
                  then real, QuantizeMultiplier(real) as (multiplier, shift)
  tiny.nnw        weights of tiny.nn (C-API's weight-file format)
  tiny.csv        its calibration data (also the test inputs)
  tiny.expected   the int8 network's outputs on tiny.csv, '%.9g'

Run it from this directory (numpy only); the outputs are committed, so
CTest needs no Python. Re-running writes the same bytes (fixed seed).
"""
import math
import struct
import zlib

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def round_away(x):
    """round half away from zero (TFLite's TfLiteRound, C's round)"""
    return -math.floor(-x + 0.5) if x < 0 else math.floor(x + 0.5)


def quantize_multiplier(real):
    """TFLite QuantizeMultiplier: real = q * 2^(shift - 31), q in [2^30, 2^31)"""
    if real == 0:
        return 0, 0
    m, e = math.frexp(real)
    q = int(round_away(m * 2147483648.0))
    if q == 1 << 31:
        q //= 2
        e += 1
    if e < -31:
        return 0, 0
    return q, e


def high_mul(a, b):
    """SaturatingRoundingDoublingHighMul: C's division truncates toward zero"""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    t = ab + nudge
    return int(abs(t) // (1 << 31)) * (1 if t >= 0 else -1)


def div_pot(x, e):
    """RoundingDivideByPOT: arithmetic shift, then round half away from zero"""
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def scale(x, mult, shift):
    """MultiplyByQuantizedMultiplier; x * 2^shift saturates to int32"""
    if shift > 0:
        x = max(INT32_MIN, min(INT32_MAX, x * (1 << shift)))
    return div_pot(high_mul(x, mult), 0 if shift > 0 else -shift)


def f32(x):
    return float(np.float32(x))


def act_params(lo, hi):
    """per-tensor asymmetric int8: the range always holds 0"""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = (hi - lo) / 255.0 if hi > lo else 1.0
    s = f32(s)  # as the generated code holds it
    zp = int(round_away(-128.0 - lo / s))
    return s, max(-128, min(127, zp))


def quantize_input(x, s, zp):
    """float32 arithmetic, as the generated code: v = x * (1/s), round half away"""
    inv = np.float32(1.0 / s)
    v = np.float32(x) * inv
    v = np.float32(max(-1024.0, min(1024.0, float(v))))
    r = int(v)  # toward zero
    frac = np.float32(v - np.float32(r))
    r += 1 if frac >= 0.5 else -1 if frac <= -0.5 else 0
    return max(-128, min(127, r + zp))


def dense_layer(x_q, zin, s_in, w, b, s_out, zout, relu):
    """w [K, M] float32: per-output-channel symmetric int8, int32 bias, rescale"""
    K, M = w.shape
    out = []
    for c in range(M):
        col = [float(np.float32(w[k, c]) * np.float32(1.0)) for k in range(K)]
        mx = max(abs(v) for v in col)
        sw = mx / 127.0 if mx > 0 else 1.0
        wq = [max(-127, min(127, int(round_away(v / sw)))) for v in col]
        bq = round_away(float(b[c]) / (s_in * sw)) - zin * sum(wq)
        mult, shift = quantize_multiplier(s_in * sw / s_out)
        shift = max(-31, min(30, shift))
        lo = zout if relu else -128
        col_out = []
        for xs in x_q:
            acc = sum(xs[k] * wq[k] for k in range(K))
            v = scale(acc + bq, mult, shift) + zout
            col_out.append(max(lo, min(127, v)))
        out.append(col_out)
    return [list(r) for r in zip(*out)]


def dense_float(x, w, b, relu):
    """the calibration run: double accumulation in C's order, then float32"""
    K, M = w.shape
    y = []
    for xs in x:
        row = []
        for c in range(M):
            acc = float(b[c])
            for k in range(K):
                acc += float(xs[k]) * float(np.float32(w[k, c]) * np.float32(1.0))
            row.append(f32(0.0 if relu and acc < 0 else acc))
        y.append(row)
    return y


def write_nnw(path, net, tensors):
    body = b"NNW1" + struct.pack("<I", 1) + struct.pack("<I", len(net)) + net.encode()
    body += struct.pack("<I", len(tensors))
    for name, arr in tensors:
        body += struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", arr.ndim)
        body += b"".join(struct.pack("<I", d) for d in arr.shape) + arr.astype("<f4").tobytes()
    body += struct.pack("<I", 0)  # buffers
    body += struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(body)


def g9(v):
    return "%.9g" % v


def rescale_fixture(rng):
    lines = []
    cases = [(0, 1 << 30, 0), (1, 1 << 30, 0), (-1, 1 << 30, 0), (INT32_MIN, INT32_MIN, 0), (INT32_MAX, INT32_MAX, 0),
             (5, 1 << 30, -1), (-5, 1 << 30, -1), (7, 1 << 30, -2), (-7, 1 << 30, -2), (100000, 1518500250, 3),
             (INT32_MAX, 1 << 30, 2), (INT32_MIN, 1 << 30, 2), (-3, 1 << 30, -31)]
    for _ in range(300):
        x = int(rng.integers(-(1 << 24), 1 << 24)) if rng.random() < 0.7 else int(rng.integers(INT32_MIN, INT32_MAX))
        m = int(rng.integers(1 << 30, 1 << 31))
        s = int(rng.integers(-31, 4))
        cases.append((x, m, s))
    for x, m, s in cases:
        lines.append("scale %d %d %d %d" % (x, m, s, scale(x, m, s)))
    reals = [0.0, 1.0, 0.5, 0.75, 2.0 ** -40, 0.999999999999, 1e-3, 3.0, 0.0078125]
    reals += [float(v) for v in rng.uniform(1e-6, 2.0, 100)]
    for r in reals:
        q, e = quantize_multiplier(r)
        lines.append("multiplier %s %d %d" % (repr(r), q, e))
    with open("rescale.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def tiny_fixture(rng):
    K, H, M, N = 6, 5, 3, 40
    w1 = rng.normal(0, 0.6, (K, H)).astype(np.float32)
    b1 = rng.normal(0, 0.2, H).astype(np.float32)
    w2 = rng.normal(0, 0.6, (H, M)).astype(np.float32)
    b2 = rng.normal(0, 0.2, M).astype(np.float32)
    w2[:, 1] *= 0.01  # a channel with a much smaller scale than its neighbours
    x = rng.uniform(-1.5, 2.5, (N, K)).astype(np.float32)
    x[3, 2] = 0.0
    write_nnw("tiny.nnw", "tiny", [("h.weight", w1), ("h.bias", b1), ("z.weight", w2), ("z.bias", b2)])
    with open("tiny.csv", "w") as f:
        for row in x:
            f.write(",".join(g9(float(v)) for v in row) + "\n")
    xs = [[float(v) for v in np.float32([float(g9(float(v))) for v in row])] for row in x]
    # calibration: ranges of the input, h and z in float
    h = dense_float(xs, w1, b1, True)
    z = dense_float(h, w2, b2, False)
    s_x, z_x = act_params(min(min(r) for r in xs), max(max(r) for r in xs))
    s_h, z_h = act_params(min(min(r) for r in h), max(max(r) for r in h))
    s_z, z_z = act_params(min(min(r) for r in z), max(max(r) for r in z))
    xq = [[quantize_input(v, s_x, z_x) for v in row] for row in xs]
    hq = dense_layer(xq, z_x, s_x, w1, b1, s_h, z_h, True)
    zq = dense_layer(hq, z_h, s_h, w2, b2, s_z, z_z, False)
    with open("tiny.expected", "w") as f:
        for row in zq:
            f.write(" ".join(g9(float(np.float32(q - z_z) * np.float32(s_z))) for q in row) + "\n")


if __name__ == "__main__":
    rng = np.random.default_rng(15)
    rescale_fixture(rng)
    tiny_fixture(rng)
