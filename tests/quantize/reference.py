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
  resid.nnw, resid.csv, resid.expected   the same for resid.nn: conv1d with
                  a batchnorm folded in, a residual add (TFLite's int8 ADD)
                  with a relu, global_avgpool (TFLite's MEAN), dense

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


def conv1d_float(x, w, b, pad, relu):
    """the calibration run of a conv1d (stride 1, one group): x [C][L], w [F, C, KW];
    double accumulation from the bias in C's order (c, then kx), then float32"""
    F, C, KW = w.shape
    L = len(x[0])
    y = []
    for f in range(F):
        row = []
        for ox in range(L + 2 * pad - KW + 1):
            acc = float(b[f])
            for c in range(C):
                for kx in range(KW):
                    ix = ox - pad + kx
                    if 0 <= ix < L:
                        acc += float(x[c][ix]) * float(w[f, c, kx])
            row.append(f32(0.0 if relu and acc < 0 else acc))
        y.append(row)
    return y


def channel_weights(col):
    """per-output-channel symmetric int8: the scale and the int8 values"""
    mx = max(abs(float(v)) for v in col)
    sw = mx / 127.0 if mx > 0 else 1.0
    return sw, [max(-127, min(127, int(round_away(float(v) / sw)))) for v in col]


def conv1d_layer(x_q, zin, s_in, w, b, pad, s_out, zout, relu):
    """int8 conv1d of one sample x_q [C][L]: the padding reads the input's zero point,
    so (x - zin) is 0 there; the bias is not shifted by the zero point"""
    F, C, KW = w.shape
    L = len(x_q[0])
    y = []
    for f in range(F):
        sw, wq = channel_weights(w[f].reshape(-1))
        bq = round_away(float(b[f]) / (s_in * sw))
        mult, shift = quantize_multiplier(s_in * sw / s_out)
        shift = max(-31, min(30, shift))
        row = []
        for ox in range(L + 2 * pad - KW + 1):
            acc = bq
            for c in range(C):
                for kx in range(KW):
                    ix = ox - pad + kx
                    if 0 <= ix < L:
                        acc += (x_q[c][ix] - zin) * wq[c * KW + kx]
            row.append(max(zout if relu else -128, min(127, scale(acc, mult, shift) + zout)))
        y.append(row)
    return y


def add_multipliers(s1, s2, so):
    """TFLite's int8 ADD: inputs shifted left by 20 bits, rescaled to twice the larger scale"""
    twice_max = 2 * max(s1, s2)
    ms = [quantize_multiplier(s1 / twice_max), quantize_multiplier(s2 / twice_max),
          quantize_multiplier(twice_max / (float(1 << 20) * so))]
    return [(m, max(-31, min(30, e))) for m, e in ms]


def add_layer(a, za, b, zb, ms, zo, relu):
    (ma, sa), (mb, sb), (mo, so) = ms
    u = scale((a - za) * (1 << 20), ma, sa)
    v = scale((b - zb) * (1 << 20), mb, sb)
    return max(zo if relu else -128, min(127, scale(u + v, mo, so) + zo))


def mean_layer(row, zin, s_in, s_out, zout):
    """TFLite's MEAN: the sum of (x - zin) rescaled by s_in / (count s_out)"""
    mult, shift = quantize_multiplier(s_in / (len(row) * s_out))
    shift = max(-31, min(30, shift))
    return max(-128, min(127, scale(sum(v - zin for v in row), mult, shift) + zout))


def write_nnw(path, net, tensors, buffers=()):
    body = b"NNW1" + struct.pack("<I", 1) + struct.pack("<I", len(net)) + net.encode()
    for group in (tensors, buffers):
        body += struct.pack("<I", len(group))
        for name, arr in group:
            body += struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", arr.ndim)
            body += b"".join(struct.pack("<I", d) for d in arr.shape) + arr.astype("<f4").tobytes()
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


def ranges(rows):
    """activation parameters of a tensor from its values over the calibration samples"""
    flat = [v for r in rows for v in (r if not isinstance(r[0], list) else [u for x in r for u in x])]
    return act_params(min(flat), max(flat))


def resid_fixture(rng):
    # 16 filters and 10 positions: on x86-64 with AVX-512 VNNI the generated convolution's full tiles
    # (8 positions x 16 filters) and a partial one (2 positions)
    C, L, F, N = 2, 10, 16, 40
    wa = rng.normal(0, 0.5, (F, C, 3)).astype(np.float32)
    wb = rng.normal(0, 0.4, (F, F, 3)).astype(np.float32)
    bb = rng.normal(0, 0.2, F).astype(np.float32)
    wz = rng.normal(0, 0.8, (F, 2)).astype(np.float32)
    bz = rng.normal(0, 0.1, 2).astype(np.float32)
    # batchnorm (eps=0): dyadic statistics, so that folding them is exact in float32
    # whatever the order of the operations: a = gamma / sqrt(var), b = beta - mean a
    gamma = np.float32([1.0, 0.5, 2.0, 0.25] * 4)
    beta = np.float32([0.25, 0.0, -0.5, 0.75] * 4)
    mean = np.float32([0.5, -0.25, 0.125, 1.0] * 4)
    var = np.float32([4.0, 1.0, 0.25, 16.0] * 4)
    fa = [float(gamma[f]) / math.sqrt(float(var[f])) for f in range(F)]
    fb = [float(beta[f]) - float(mean[f]) * fa[f] for f in range(F)]
    wa_folded = np.float32([[[float(wa[f, c, k]) * fa[f] for k in range(3)] for c in range(C)] for f in range(F)])
    assert all(f32(v) == v for v in fb)
    x = rng.uniform(-1.5, 2.5, (N, C * L)).astype(np.float32)
    write_nnw("resid.nnw", "resid",
              [("a.gamma", gamma), ("a.beta", beta), ("a.1.weight", wa), ("b.weight", wb), ("b.bias", bb),
               ("z.weight", wz), ("z.bias", bz)],
              [("a.running_mean", mean), ("a.running_var", var)])
    with open("resid.csv", "w") as f:
        for row in x:
            f.write(",".join(g9(float(v)) for v in row) + "\n")
    xs = [[float(v) for v in np.float32([float(g9(float(v))) for v in row])] for row in x]
    xs = [[row[c * L:(c + 1) * L] for c in range(C)] for row in xs]  # [N][C][L]
    # calibration: the float network in inference mode
    a = [conv1d_float(s, wa_folded, fb, 1, True) for s in xs]
    b = [conv1d_float(s, wb, bb, 1, False) for s in a]
    r = [[[max(0.0, f32(np.float32(u) + np.float32(v))) for u, v in zip(ra, rb)] for ra, rb in zip(sa, sb)]
         for sa, sb in zip(a, b)]
    g = [[f32(sum(row) / L) for row in s] for s in r]  # double sum in order, then float32
    z = dense_float(g, wz, bz, False)
    (s_x, z_x), (s_a, z_a), (s_b, z_b) = ranges(xs), ranges(a), ranges(b)
    (s_r, z_r), (s_g, z_g), (s_z, z_z) = ranges(r), ranges(g), ranges(z)
    ms = add_multipliers(s_a, s_b, s_r)
    out = []
    for s in xs:
        xq = [[quantize_input(v, s_x, z_x) for v in row] for row in s]
        aq = conv1d_layer(xq, z_x, s_x, wa_folded, fb, 1, s_a, z_a, True)
        bq = conv1d_layer(aq, z_a, s_a, wb, bb, 1, s_b, z_b, False)
        rq = [[add_layer(u, z_a, v, z_b, ms, z_r, True) for u, v in zip(ra, rb)] for ra, rb in zip(aq, bq)]
        gq = [mean_layer(row, z_r, s_r, s_g, z_g) for row in rq]
        out.append(dense_layer([gq], z_g, s_g, wz, bz, s_z, z_z, False)[0])
    with open("resid.expected", "w") as f:
        for row in out:
            f.write(" ".join(g9(float(np.float32(q - z_z) * np.float32(s_z))) for q in row) + "\n")


if __name__ == "__main__":
    rng = np.random.default_rng(15)
    rescale_fixture(rng)
    tiny_fixture(rng)
    resid_fixture(rng)
