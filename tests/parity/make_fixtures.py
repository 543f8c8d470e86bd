#!/usr/bin/python3
"""make_fixtures.py - PyTorch 1.13 reference fixtures for tests/parity.

Run with the interpreter that has torch 1.13 (Debian's python3-torch):

    /usr/bin/python3 tests/parity/make_fixtures.py

For every case below it writes two committed files:

  cases/<case>.nn        the network, `network pt_<case>`, one input x[4], one
                         target y (real [K], probabilities [K] or class(K)),
                         a hidden layer of 6 units and an output layer of K
  fixtures/<case>.txt    initial parameters, one data batch, the loss of each
                         of STEPS training steps and the parameters after them

The same network is built in PyTorch with nn.Linear (weight [out, in];
nngen stores dense weights [in, out], so weights are transposed when
written), the initial parameters and the batch are drawn here in float32,
and training runs in float64 from those float32 values: the fixture is the
exact answer, and the float32 C code is measured against it.

Training: STEPS steps on the SAME batch, each
    opt.zero_grad(); loss = f(params, batch); record loss.item();
    loss.backward(); opt.step()
so the recorded loss is the one before that step's update, as
NET_train_step returns it, and it includes the regularize terms (docs/language.md:
"The loss a step returns is the full loss expression").

Format of a fixture (whitespace-separated tokens; '#' starts a comment to the
end of the line; counts precede their numbers):

    network NAME
    batch N
    input x COUNT v...             N * NET_IN_X_SIZE floats, row-major
    target y real COUNT v...       N * NET_TARGET_Y_SIZE floats, or
    target y class COUNT v...      N integer labels
    loss COUNT v...                the loss returned by each step (float64)
    init NAME COUNT v...           a parameter's initial value, nngen layout (or a
                                   frozen batchnorm's running statistic)
    grad NAME COUNT v...           its gradient in the first step (before any update;
                                   none for a frozen parameter: the freeze cases)
    final NAME COUNT v...          the same parameter after the last step

Float32 data and initial values are written with %.9g (exact round trip),
float64 results with %.17g.

The layer cases (LAYER_CASES) and the primitive op cases (OP_CASES: every
primitive of docs/language.md between parameters and an mse loss) add first-step
gradients and the inference output; the convolution and pooling cases
(CNN_CASES, below the dense ones) write the same format for networks on
image inputs; see their sections.

Every case is checked here to stay away from kinks (relu at 0, mae at
p = t, huber at |p - t| = delta, ...) at every step by a margin that
float32 rounding cannot cross, and huber to use both of its branches.
"""
import gzip
import os
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

assert torch.__version__.startswith("1.13"), torch.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 10
BATCH = 8
IN = 4
HIDDEN = 6
K = 3
KINK_MARGIN = 1e-4

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore", module="torch.optim.lr_scheduler")   # "get_lr() outside step()" etc.

# ---- hidden activations: .nn text, torch function, kinks (points where the
#      derivative jumps) -------------------------------------------------------

ACTS = {
    "sigmoid": ("sigmoid({})", torch.sigmoid, []),
    "tanh": ("tanh({})", torch.tanh, []),
    "relu": ("relu({})", F.relu, [0.0]),
    "leaky_relu": ("leaky_relu({}, alpha=0.1)", lambda h: F.leaky_relu(h, 0.1), [0.0]),
    "elu": ("elu({}, alpha=0.7)", lambda h: F.elu(h, alpha=0.7), [0.0]),
    "softplus": ("softplus({})", lambda h: F.softplus(h, beta=1, threshold=20), [20.0]),
    "swish": ("swish({}, beta=1.5)", lambda h: h * torch.sigmoid(1.5 * h), []),
    "silu": ("silu({})", F.silu, []),
    "gelu": ("gelu({})", lambda h: F.gelu(h, approximate="none"), []),
    "gelu_tanh": ('gelu({}, approximate="tanh")', lambda h: F.gelu(h, approximate="tanh"), []),
    "softmax": ("softmax({})", lambda h: F.softmax(h, dim=-1), []),
    "log_softmax": ("log_softmax({})", lambda h: F.log_softmax(h, dim=-1), []),
}

# ---- losses: target kind, output head, .nn loss text, torch loss ----------------
# head: "none" (the loss reads the logits z), "sigmoid" (p = sigmoid(z)),
# "log_softmax" (lp = log_softmax(z)), "shifted_exp" (p = exp(z) - 0.5, above
# -1 as msle needs, negative too).
# target kinds: "real" uniform in [-1.2, 1.2], "wide" in [-3, 3], "unit" in
# [0.05, 0.95], "prob" softmax rows, "prob0" softmax rows with zeros (0 log 0),
# "class" labels.


def huber_kinks(pred, y):
    d = (pred - y).abs()
    near = (d - 0.5).abs().min().item()
    small, large = (d < 0.5).sum().item(), (d > 0.5).sum().item()
    assert small > 0 and large > 0, "huber: both branches must occur (%d, %d)" % (small, large)
    return near


def smooth_l1_kinks(beta):
    def kinks(pred, y):
        d = (pred - y).abs()
        if beta == 0:
            return d.min().item()
        small, large = (d < beta).sum().item(), (d > beta).sum().item()
        assert small > 0 and large > 0, "smooth_l1: both branches must occur (%d, %d)" % (small, large)
        return (d - beta).abs().min().item()
    return kinks


def log_cosh(pred, y):
    return torch.log(torch.cosh(pred - y)).mean()


def log_cosh_branches(pred, y):
    """nngen computes log(cosh(d)) one way below |d| = 1 and another above: use both"""
    d = (pred - y).abs()
    assert (d < 1).sum().item() > 0 and (d > 1).sum().item() > 0, "log_cosh: both formulas must occur"
    return (d - 1).abs().min().item()


def msle(pred, y):
    return ((torch.log(1 + pred) - torch.log(1 + y)) ** 2).mean()


def hinge_kinks(margin):
    def kinks(z, y):
        zy = z.gather(1, y.view(-1, 1))
        terms = margin - zy + z
        terms = terms.masked_fill(F.one_hot(y, z.shape[1]).bool(), 1.0)   # k == y is no term
        return terms.abs().min().item()
    return kinks


LOSSES = {
    "mse": ("real", "none", "mse({}, y)", F.mse_loss, None),
    "mae": ("real", "none", "mae({}, y)", F.l1_loss, lambda p, y: (p - y).abs().min().item()),
    "huber": ("real", "none", "huber({}, y, delta=0.5)", lambda p, y: F.huber_loss(p, y, delta=0.5), huber_kinks),
    "bce": ("unit", "sigmoid", "bce({}, y)", F.binary_cross_entropy, None),
    "bce_logits": ("unit", "none", "bce_logits({}, y)", F.binary_cross_entropy_with_logits, None),
    "cross_entropy": ("class", "none", "cross_entropy({}, y)", F.cross_entropy, None),
    "cross_entropy_prob": ("prob", "none", "cross_entropy({}, y)", F.cross_entropy, None),
    "nll": ("class", "log_softmax", "nll({}, y)", F.nll_loss, None),
    "smooth_l1": ("real", "none", "smooth_l1({}, y, beta=0.5)", lambda p, y: F.smooth_l1_loss(p, y, beta=0.5),
                  smooth_l1_kinks(0.5)),
    "smooth_l1_default": ("wide", "none", "smooth_l1({}, y)", F.smooth_l1_loss, smooth_l1_kinks(1.0)),
    "smooth_l1_beta0": ("real", "none", "smooth_l1({}, y, 0)", lambda p, y: F.smooth_l1_loss(p, y, beta=0.0),
                        smooth_l1_kinks(0.0)),
    "log_cosh": ("wide", "none", "log_cosh({}, y)", log_cosh, log_cosh_branches),
    "msle": ("unit", "shifted_exp", "msle({}, y)", msle, None),
    "kl_div": ("prob0", "log_softmax", "kl_div({}, y)", lambda lp, y: F.kl_div(lp, y, reduction="batchmean"), None),
    "hinge": ("class", "none", "hinge({}, y)", F.multi_margin_loss, hinge_kinks(1.0)),
    "hinge_margin": ("class", "none", "hinge({}, y, margin=0.4)", lambda z, y: F.multi_margin_loss(z, y, margin=0.4),
                     hinge_kinks(0.4)),
}

# ---- optimizers: .nn text and the torch.optim constructor ------------------------
# foreach=False pins the single-tensor code path (_single_tensor_sgd,
# _single_tensor_adam, ...), which is also 1.13's default (foreach=None -> False).
# optimizer(NAME, k=v, ...) gives both: the .nn call with the arguments as written
# (only those given) and the constructor with PyTorch's spelling (beta1 and
# beta2 become betas=(beta1, beta2), with the .nn defaults for the other one).

TORCH_OPT = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad", "rmsprop": "RMSprop",
             "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam"}


def optimizer(name, **kw):
    def show(v):
        return "true" if v is True else "false" if v is False else "%g" % v
    text = "%s(%s)" % (name, ", ".join("%s=%s" % (k, show(v)) for k, v in kw.items()))
    targs = dict(kw)
    if "beta1" in targs or "beta2" in targs:
        targs["betas"] = (targs.pop("beta1", 0.9), targs.pop("beta2", 0.999))
    targs["foreach"] = False
    return text, lambda ps: getattr(torch.optim, TORCH_OPT[name])(ps, **targs)


def sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    kw = dict(lr=lr)
    if momentum:
        kw["momentum"] = momentum
    if dampening:
        kw["dampening"] = dampening
    if nesterov:
        kw["nesterov"] = True
    if weight_decay:
        kw["weight_decay"] = weight_decay
    return optimizer("sgd", **kw)


def adam(lr=None, betas=None, eps=None, weight_decay=0.0, amsgrad=False):
    kw = {}
    if lr is not None:
        kw["lr"] = lr
    if betas is not None:
        kw["beta1"], kw["beta2"] = betas
    if eps is not None:
        kw["eps"] = eps
    if weight_decay:
        kw["weight_decay"] = weight_decay
    if amsgrad:
        kw["amsgrad"] = True
    return optimizer("adam", **kw)


# ---- schedules: .nn text, the torch.optim.lr_scheduler constructor, how it is stepped
# schedule(NAME, positional..., k=v...): "epoch" schedules are stepped once per
# epoch (the runner calls NET_epoch_end after each step: one step per epoch),
# cyclic once per step (NET_update steps it). Both are stepped after
# opt.step(), as PyTorch asks.

TORCH_SCHED = {"step": ("StepLR", ["step_size", "gamma"]), "exponential": ("ExponentialLR", ["gamma"]),
               "cosine": ("CosineAnnealingLR", ["T_max", "eta_min"]),
               "cosine_restarts": ("CosineAnnealingWarmRestarts", ["T_0", "T_mult", "eta_min"]),
               "cyclic": ("CyclicLR", ["base_lr", "max_lr", "step_size_up", "mode", "gamma"])}
NN_SCHED_ARGS = {"step": ["step_size", "gamma"], "exponential": ["gamma"], "cosine": ["t_max", "eta_min"],
                 "cosine_restarts": ["t0", "t_mult", "eta_min"],
                 "cyclic": ["base_lr", "max_lr", "step_size_up", "mode", "gamma"]}


def schedule(name, *pos, **kw):
    def show(v):
        return '"%s"' % v if isinstance(v, str) else "%g" % v
    text = "%s(%s)" % (name, ", ".join([show(v) for v in pos] + ["%s=%s" % (k, show(v)) for k, v in kw.items()]))
    cls, torch_names = TORCH_SCHED[name]
    targs = dict(zip(torch_names, pos))
    targs.update({torch_names[NN_SCHED_ARGS[name].index(k)]: v for k, v in kw.items()})
    if name == "cyclic":
        targs["cycle_momentum"] = False
    return text, lambda o: getattr(torch.optim.lr_scheduler, cls)(o, **targs), (
        "step" if name == "cyclic" else "epoch")


# ---- the cases ------------------------------------------------------------------


class Case:
    def __init__(self, name, loss="mse", act="tanh", opt=None, reg=(), style="dense", comment="",
                 sched=None, steps=STEPS, set_lr=None, x_scale=1.5, reach=None, freeze=()):
        self.name, self.loss, self.act, self.reg, self.style = name, loss, act, list(reg), style
        self.freeze = freeze   # the names of a `freeze` statement (statements, parameters)
        # inputs uniform in [-x_scale, x_scale]; reach(pre, z): the branch a
        # large-input case exists for is taken at the first step
        self.x_scale, self.reach = x_scale, reach
        self.opt = opt if opt is not None else sgd(0.1)
        self.comment = comment
        self.sched, self.steps, self.set_lr = sched, steps, set_lr   # set_lr: (step, float32 value)


CASES = []
for loss, act in [("mse", "tanh"), ("mae", "tanh"), ("huber", "tanh"), ("bce", "tanh"),
                  ("bce_logits", "sigmoid"), ("cross_entropy", "tanh"), ("cross_entropy_prob", "tanh"),
                  ("nll", "relu"), ("smooth_l1", "tanh"), ("smooth_l1_default", "tanh"),
                  ("smooth_l1_beta0", "tanh"), ("log_cosh", "tanh"), ("msle", "tanh"), ("kl_div", "tanh"),
                  ("hinge", "tanh"), ("hinge_margin", "sigmoid")]:
    CASES.append(Case("loss_" + loss, loss=loss, act=act, comment="the loss %s, plain sgd" % loss))
for name, opt in [
        ("sgd", sgd(0.2)),
        ("sgd_momentum", sgd(0.05, momentum=0.9)),
        ("sgd_dampening", sgd(0.05, momentum=0.9, dampening=0.3)),
        ("sgd_nesterov", sgd(0.05, momentum=0.9, nesterov=True)),
        ("sgd_weight_decay", sgd(0.05, momentum=0.9, weight_decay=0.01)),
        ("adam_default", adam()),
        ("adam", adam(lr=0.02)),
        ("adam_weight_decay", adam(lr=0.02, weight_decay=0.01)),
        ("adam_amsgrad", adam(lr=0.02, amsgrad=True)),
        ("adam_betas", adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
]:
    CASES.append(Case("opt_" + name, loss="cross_entropy", opt=opt, comment="the optimizer " + opt[0]))
for name, o in [
        ("adagrad_default", optimizer("adagrad")),
        ("adagrad", optimizer("adagrad", lr=0.1)),
        ("adagrad_weight_decay", optimizer("adagrad", lr=0.1, eps=1e-6, weight_decay=0.05)),
        ("rmsprop_default", optimizer("rmsprop")),
        ("rmsprop", optimizer("rmsprop", lr=0.005, alpha=0.9)),
        ("rmsprop_momentum", optimizer("rmsprop", lr=0.005, momentum=0.8)),
        ("rmsprop_weight_decay", optimizer("rmsprop", lr=0.005, alpha=0.95, eps=1e-6, momentum=0.5,
                                           weight_decay=0.05)),
        ("adadelta_default", optimizer("adadelta")),
        ("adadelta", optimizer("adadelta", lr=2.0, rho=0.8, eps=1e-4)),
        ("adadelta_weight_decay", optimizer("adadelta", lr=2.0, weight_decay=0.05)),
        ("adamw_default", optimizer("adamw")),
        ("adamw", optimizer("adamw", lr=0.02, beta1=0.8, beta2=0.99, weight_decay=0.1)),
        ("adamw_no_decay", optimizer("adamw", lr=0.02, weight_decay=0)),
        ("adamw_amsgrad", optimizer("adamw", lr=0.02, weight_decay=0.05, amsgrad=True)),
        ("adamax_default", optimizer("adamax")),
        ("adamax", optimizer("adamax", lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6)),
        ("adamax_weight_decay", optimizer("adamax", lr=0.02, weight_decay=0.05)),
        ("nadam_default", optimizer("nadam")),
        ("nadam", optimizer("nadam", lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, momentum_decay=0.05)),
        ("nadam_weight_decay", optimizer("nadam", lr=0.02, weight_decay=0.05)),
]:
    CASES.append(Case("opt_" + name, loss="cross_entropy", opt=o, comment="the optimizer " + o[0]))
CASES.append(Case("opt_adam_mse", loss="mse", act="relu", opt=adam(lr=0.02, weight_decay=0.01, amsgrad=True),
                  comment="adam with weight decay and amsgrad on mse"))
for name, reg, style in [
        ("reg_l2", [("l2", 0.05, ())], "dense"),
        ("reg_l1", [("l1", 0.02, ())], "dense"),
        ("reg_l2_named", [("l2", 0.1, ("h.weight", "z.bias"))], "dense"),
        ("reg_l1_named", [("l1", 0.03, ("W2", "b1"))], "param"),
        ("reg_param_all", [("l2", 0.05, ()), ("l1", 0.01, ())], "param"),
]:
    CASES.append(Case(name, loss="mse", reg=reg, style=style,
                      comment="regularize " + ", ".join("%s(%g%s)" % (k, lam, "".join(", " + n for n in names))
                                                        for k, lam, names in reg)))
# regularize and an optimizer's weight_decay together: both act (the term in
# the loss, the decay in the update), as in PyTorch with a penalty in the loss
for name, reg, style, o in [
        ("reg_l2_sgd_weight_decay", [("l2", 0.05, ())], "dense", sgd(0.1, momentum=0.5, weight_decay=0.02)),
        ("reg_l1_adam_weight_decay", [("l1", 0.02, ())], "dense", adam(lr=0.02, weight_decay=0.05)),
        ("reg_l2_adamw", [("l2", 0.05, ("W1", "b2"))], "param", optimizer("adamw", lr=0.02, weight_decay=0.1)),
        ("reg_l2_rmsprop_weight_decay", [("l2", 0.1, ()), ("l1", 0.01, ("b1",))], "param",
         optimizer("rmsprop", lr=0.005, momentum=0.5, weight_decay=0.05)),
]:
    CASES.append(Case(name, loss="mse", reg=reg, style=style, opt=o,
                      comment="regularize %s with %s" % (", ".join("%s(%g%s)" % (k, lam, "".join(", " + n for n in names))
                                                                  for k, lam, names in reg), o[0])))

# Large inputs (x in [-12, 12], [-30, 30]): the branches of the activations and losses
# that inputs within +-1.5 never reach: softplus above its threshold 20,
# saturated sigmoid and tanh, elu's exp far below 0, gelu's tails, and
# bce_logits at large |z| (its two stable forms). Plain sgd, lr 0.001: the
# gradients are large.
for name, act, loss, scale, reach, why in [
        ("large_softplus", "softplus", "mse", 30.0, lambda pre, z: (pre > 20).any() and (pre < 20).any(),
         "softplus above its threshold 20 (x) and below"),
        ("large_sigmoid", "sigmoid", "mse", 12.0, lambda pre, z: (pre.abs() > 10).any(), "sigmoid saturated"),
        ("large_tanh", "tanh", "mse", 12.0, lambda pre, z: (pre.abs() > 10).any(), "tanh saturated"),
        ("large_elu", "elu", "mse", 12.0, lambda pre, z: (pre < -10).any(), "elu far below 0"),
        ("large_gelu", "gelu", "mse", 12.0, lambda pre, z: (pre.abs() > 6).any(), "gelu's tails"),
        ("large_bce_logits", "relu", "bce_logits", 30.0, lambda pre, z: (z > 10).any() and (z < -10).any(),
         "bce_logits at large positive and negative logits"),
]:
    CASES.append(Case(name, loss=loss, act=act, opt=sgd(0.001), x_scale=scale, reach=reach,
                      comment="large inputs: " + why))

EPOCHS = 40
for name, sched, o, steps, set_lr in [
        ("step", schedule("step", step_size=7, gamma=0.5), sgd(0.1), EPOCHS, None),
        ("step_default", schedule("step", 10), sgd(0.2, momentum=0.5), EPOCHS, None),
        ("exponential", schedule("exponential", 0.9), sgd(0.2), EPOCHS, None),
        ("exponential_adamw", schedule("exponential", gamma=0.95), optimizer("adamw", lr=0.02, weight_decay=0.1),
         EPOCHS, None),
        ("cosine", schedule("cosine", t_max=10, eta_min=0.001), sgd(0.1), EPOCHS, None),
        ("cosine_default", schedule("cosine", 40), adam(lr=0.01), EPOCHS, None),
        ("cosine_restarts", schedule("cosine_restarts", t0=5, t_mult=2, eta_min=0.01), sgd(0.1), EPOCHS, None),
        ("cosine_restarts_default", schedule("cosine_restarts", 7), optimizer("rmsprop", lr=0.003), EPOCHS, None),
        ("cyclic", schedule("cyclic", 0.01, 0.1, 25), sgd(0.1), 300, None),
        ("cyclic_triangular2", schedule("cyclic", base_lr=0.005, max_lr=0.1, step_size_up=20, mode="triangular2"),
         sgd(0.1, momentum=0.5), 300, None),
        ("cyclic_exp_range", schedule("cyclic", 0.001, 0.02, 30, mode="exp_range", gamma=0.995), adam(), 300,
         None),
        ("set_lr_step", schedule("step", 5, gamma=0.5), sgd(0.1), EPOCHS, (12, 0.0625)),
        ("set_lr_cosine", schedule("cosine", 8, eta_min=0.01), sgd(0.1), EPOCHS, (13, 0.25)),
        ("set_lr_cosine_restarts", schedule("cosine_restarts", 6, t_mult=2), sgd(0.1), EPOCHS, (9, 0.03125)),
        ("set_lr_cyclic", schedule("cyclic", 0.01, 0.1, 10), sgd(0.1), 100, (37, 0.0625)),
        ("set_lr_none", None, adam(lr=0.01), 20, (7, 0.001953125)),
]:
    CASES.append(Case("sched_" + name, opt=o, sched=sched, steps=steps, set_lr=set_lr,
                      comment="the schedule %s, %s%s" % (sched[0] if sched else "none", o[0],
                                                          ", NET_set_lr(%g) before step %d" % (set_lr[1], set_lr[0])
                                                          if set_lr else "")))
for act in ACTS:
    CASES.append(Case("act_" + act, loss="mse", act=act, comment="the hidden activation " + act))
# Freezing (docs/language.md, "Freezing parameters"): PyTorch's
# requires_grad=False on the frozen tensors, all of them still handed to the
# optimizer (their .grad stays None, so torch.optim skips them: no step, no
# state, no weight decay, AdamW's included), and the regularize terms without
# names summed over the trainable weights only. The fixture has no grad line
# for a frozen tensor (the runner requires NET_param's grad to be NULL for
# exactly those) and its final value is its init.
for name, freeze, reg, style, o in [
        ("freeze_adam", ("h",), [], "dense", adam(lr=0.02)),
        ("freeze_adamw_l2", ("W1",), [("l2", 0.05, ())], "param", optimizer("adamw", lr=0.02, weight_decay=0.1)),
        ("freeze_sgd_l1_weight_decay", ("h.weight", "z.bias"), [("l1", 0.02, ())], "dense",
         sgd(0.1, momentum=0.5, weight_decay=0.05)),
]:
    CASES.append(Case(name, loss="cross_entropy", reg=reg, style=style, opt=o, freeze=freeze,
                      comment="freeze %s, %s%s" % (", ".join(freeze), o[0], "".join(
                          ", regularize %s(%g)" % (k, lam) for k, lam, _ in reg))))


# ---- parameters: nngen names and layout ---------------------------------------------

def param_names(case):
    if case.style == "dense":
        return ["h.weight", "h.bias", "z.weight", "z.bias"]
    return ["W1", "b1", "W2", "b2"]


def is_weight(name):
    """docs/language.md: dense weights and rank >= 2 params are weights."""
    return name in ("h.weight", "z.weight", "W1", "W2")


def frozen_names(freeze, names):
    """the parameters a `freeze` statement covers: a full name, or every
    parameter of a statement (`h`: h.weight, h.bias, h.1.weight, ...)"""
    return [n for n in names if any(n == f or n.startswith(f + ".") for f in freeze)]


# ---- .nn text -----------------------------------------------------------------------

def nn_text(case):
    kind, head, loss_text, _, _ = LOSSES[case.loss]
    act_text = ACTS[case.act][0]
    lines = ["# parity case %s: %s (generated by make_fixtures.py)" % (case.name, case.comment),
             "network pt_" + case.name, "input x[%d]" % IN]
    lines.append("target y : class(%d)" % K if kind == "class" else "target y[%d]" % K)
    if case.style == "dense":
        lines += ["h = %s" % act_text.format("dense(x, %d)" % HIDDEN), "z = dense(h, %d)" % K]
    else:
        lines += ["param W1[%d, %d]" % (IN, HIDDEN), "param b1[%d]" % HIDDEN,
                  "param W2[%d, %d]" % (HIDDEN, K), "param b2[%d]" % K,
                  "h = %s" % act_text.format("x @ W1 + b1"), "z = h @ W2 + b2"]
    out = "z"
    if head == "sigmoid":
        lines.append("p = sigmoid(z)")
        out = "p"
    elif head == "log_softmax":
        lines.append("lp = log_softmax(z)")
        out = "lp"
    elif head == "shifted_exp":
        lines.append("p = exp(z) - 0.5")
        out = "p"
    lines.append("loss " + loss_text.format(out))
    for kind_r, lam, names in case.reg:
        lines.append("regularize %s(%s)" % (kind_r, ", ".join(["%g" % lam] + list(names))))
    if case.freeze:
        lines.append("freeze " + ", ".join(case.freeze))
    lines.append("optimizer " + case.opt[0])
    if case.sched:
        lines.append("schedule " + case.sched[0])
    return "\n".join(lines) + "\n"


# ---- data and initial values (float32) --------------------------------------------------

def draw(case):
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    f32 = np.float32
    init = {}
    names = param_names(case)
    for name, (fi, fo) in zip(names[0::2], [(IN, HIDDEN), (HIDDEN, K)]):
        a = np.sqrt(6.0 / (fi + fo))
        init[name] = rng.uniform(-a, a, size=(fi, fo)).astype(f32)      # stored [in, out]
    for name, n in zip(names[1::2], [HIDDEN, K]):
        init[name] = rng.uniform(-0.3, 0.3, size=(n,)).astype(f32)
    x = rng.uniform(-case.x_scale, case.x_scale, size=(BATCH, IN)).astype(f32)
    kind = LOSSES[case.loss][0]
    if kind == "real":
        y = rng.uniform(-1.2, 1.2, size=(BATCH, K)).astype(f32)
    elif kind == "wide":
        y = rng.uniform(-3.0, 3.0, size=(BATCH, K)).astype(f32)
    elif kind == "unit":
        y = rng.uniform(0.05, 0.95, size=(BATCH, K)).astype(f32)
    elif kind in ("prob", "prob0"):
        z = rng.normal(0.0, 1.5, size=(BATCH, K))
        if kind == "prob0":   # a zero in every other row: 0 log 0 = 0
            z[0::2, 0] = -np.inf
        y = (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype(f32)   # rows sum to 1 (to float32)
    else:
        y = (np.arange(BATCH) % K).astype(np.int32)
        rng.shuffle(y)
    return init, x, y


# ---- the PyTorch side ----------------------------------------------------------------------

class Net(torch.nn.Module):
    def __init__(self, case, init):
        super().__init__()
        names = param_names(case)
        self.case = case
        self.hidden = torch.nn.Linear(IN, HIDDEN)
        self.out = torch.nn.Linear(HIDDEN, K)
        with torch.no_grad():   # nngen [in, out] -> torch [out, in]; float32 -> float64 exactly
            self.hidden.weight.copy_(torch.from_numpy(init[names[0]].T.astype(np.float64)))
            self.hidden.bias.copy_(torch.from_numpy(init[names[1]].astype(np.float64)))
            self.out.weight.copy_(torch.from_numpy(init[names[2]].T.astype(np.float64)))
            self.out.bias.copy_(torch.from_numpy(init[names[3]].astype(np.float64)))
        self.by_name = dict(zip(names, [self.hidden.weight, self.hidden.bias, self.out.weight, self.out.bias]))
        for name in frozen_names(case.freeze, names):
            self.by_name[name].requires_grad_(False)

    def forward(self, x):
        pre = self.hidden(x)
        z = self.out(ACTS[self.case.act][1](pre))
        return pre, z

    def nngen_value(self, name):
        """a parameter in nngen's layout (dense weights [in, out])"""
        t = self.by_name[name].detach()
        return (t.T if t.dim() == 2 else t).contiguous().numpy()

    def nngen_grad(self, name):
        """a parameter's gradient in nngen's layout"""
        t = self.by_name[name].grad.detach()
        return (t.T if t.dim() == 2 else t).contiguous().numpy().copy()


def loss_of(case, net, x, y):
    """the full loss: the loss term plus the regularize terms of docs/language.md"""
    _, head, _, fn, kinks = LOSSES[case.loss]
    pre, z = net(x)
    out = (torch.sigmoid(z) if head == "sigmoid" else F.log_softmax(z, dim=-1) if head == "log_softmax"
           else torch.exp(z) - 0.5 if head == "shifted_exp" else z)
    loss = fn(out, y)
    margins = [kinks(out, y)] if kinks else []
    margins += [(pre - k).abs().min().item() for k in ACTS[case.act][2]]
    for kind_r, lam, names in case.reg:
        frozen = frozen_names(case.freeze, param_names(case))
        for name in names or [n for n in param_names(case) if is_weight(n) and n not in frozen]:
            w = net.by_name[name]
            loss = loss + (lam / 2 * (w * w).sum() if kind_r == "l2" else lam * w.abs().sum())
            if kind_r == "l1":
                margins.append(w.abs().min().item())
    return loss, margins


def train(case, init, x_np, y_np):
    net = Net(case, init)
    opt = case.opt[1](list(net.parameters()))
    x = torch.from_numpy(x_np.astype(np.float64))
    y = torch.from_numpy(y_np.astype(np.int64)) if y_np.dtype == np.int32 else torch.from_numpy(
        y_np.astype(np.float64))
    sched = case.sched[1](opt) if case.sched else None
    losses, grads, lrs = [], None, []
    for step in range(case.steps):
        if case.set_lr and step == case.set_lr[0]:   # NET_set_lr: the lr and the schedule's base
            for group in opt.param_groups:
                group["lr"] = case.set_lr[1]
            if sched:
                sched.base_lrs = [case.set_lr[1]]
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss, margins = loss_of(case, net, x, y)
        if margins and min(margins) < KINK_MARGIN:
            raise SystemExit("%s: step %d is %.3g from a kink; change the case" % (case.name, step, min(margins)))
        losses.append(loss.item())
        loss.backward()
        if grads is None:   # the trainable tensors' (a frozen one has no .grad)
            grads = {n: net.nngen_grad(n) for n in param_names(case) if n not in frozen_names(case.freeze,
                                                                                              param_names(case))}
        opt.step()
        if sched:
            sched.step()
    for v in losses + lrs + [net.nngen_value(n) for n in param_names(case)] + list(grads.values()):
        assert np.all(np.isfinite(v)), case.name
    return losses, grads, {n: net.nngen_value(n) for n in param_names(case)}, lrs


# ---- writing ------------------------------------------------------------------------------------

def numbers(values, fmt, per_line=6):
    flat = [fmt % v for v in np.asarray(values).reshape(-1).tolist()]
    return "\n".join("  " + " ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line))


def fixture_text(case, init, x, y, losses, grads, final, lrs):
    out = ["# PyTorch %s parity fixture for cases/%s.nn, written by make_fixtures.py: do not edit."
           % (torch.__version__, case.name),
           "# %d steps on the same batch; losses are those returned before each update;" % case.steps,
           "# training in float64 from the float32 values below.",
           "network pt_" + case.name, "batch %d" % BATCH,
           "input x %d" % x.size, numbers(x, "%.9g")]
    if y.dtype == np.int32:
        out += ["target y class %d" % y.size, numbers(y, "%d", 16)]
    else:
        out += ["target y real %d" % y.size, numbers(y, "%.9g")]
    out += ["loss %d" % len(losses), numbers(losses, "%.17g", 3)]
    if case.sched:
        out += ["# the learning rate of each step; " + ("NET_epoch_end after each step"
                if case.sched[2] == "epoch" else "the schedule steps with each update"),
                "lr %s %d" % (case.sched[2], len(lrs)), numbers(lrs, "%.17g", 3)]
    if case.set_lr:
        out += ["set_lr %d %.9g" % case.set_lr]
    for name in param_names(case):
        out += ["init %s %d" % (name, init[name].size), numbers(init[name], "%.9g")]
    if case.freeze:
        out += ["# frozen (requires_grad=False: no grad line, final = init): "
                + " ".join(frozen_names(case.freeze, param_names(case)))]
    for name in param_names(case):
        if name in grads:
            out += ["grad %s %d" % (name, grads[name].size), numbers(grads[name], "%.17g", 3)]
    for name in param_names(case):
        out += ["final %s %d" % (name, final[name].size), numbers(final[name], "%.17g", 3)]
    return "\n".join(out) + "\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# ---- layer cases: each layer of docs/language.md beyond dense in a 2-layer network ----------
#
# Written with raw parameters in nngen's layout (dense weights [in, out], so
# dense(x, k) is x @ W + b) and PyTorch 1.13's own layer functions and
# modules: F.prelu, F.glu, torch.max over the pieces of a view (maxout),
# nn.BatchNorm1d / nn.BatchNorm2d (running statistics included), and
# dropout as F.dropout computes it, x * mask / (1 - p), with the masks that
# nngen draws: PCG32 (the runtime's nnrt_rng) seeded by NET_init's seed (the
# runner uses 1) on the stream "dropout", one uniform per element of each
# training forward in row-major order, kept when below float32(1 - p).
# Every case is trained with sgd; the fixture adds each parameter's
# gradient at the first step, the buffers after the last step and the
# inference output o after the last step. Kinks (prelu at 0, maxout ties)
# are kept KINK_MARGIN away at every step, as above.

M64 = (1 << 64) - 1
DROPOUT_STREAM = 0x64726f706f7574   # "dropout" in ASCII
RUNNER_SEED = 1                     # parity.c's NET_init seed


class PCG32:
    """nnrt_rng: pcg32_srandom_r / pcg32_random_r, nnrt_rng_uniform"""

    def __init__(self, seed, stream):
        self.state, self.inc = 0, ((stream << 1) | 1) & M64
        self.u32()
        self.state = (self.state + seed) & M64
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & M64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & 0xFFFFFFFF

    def uniform(self):
        return np.float32(self.u32() >> 8) * np.float32(1.0 / 16777216.0)


class LayerNet(torch.nn.Module):
    def __init__(self, case, init):
        super().__init__()
        self.case, self.P, self.bn = case, {}, torch.nn.ModuleDict()
        for stmt, (dims, momentum, eps) in case.batchnorms.items():
            m = (torch.nn.BatchNorm1d if dims == 1 else torch.nn.BatchNorm2d)(case.bn_channels[stmt], eps=eps,
                                                                               momentum=momentum)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(init[stmt + ".gamma"].astype(np.float64)))
                m.bias.copy_(torch.from_numpy(init[stmt + ".beta"].astype(np.float64)))
            if stmt in case.frozen_bn:   # pre-trained statistics
                with torch.no_grad():
                    m.running_mean.copy_(torch.from_numpy(init[stmt + ".running_mean"].astype(np.float64)))
                    m.running_var.copy_(torch.from_numpy(init[stmt + ".running_var"].astype(np.float64)))
            self.bn[stmt] = m
            self.P[stmt + ".gamma"], self.P[stmt + ".beta"] = m.weight, m.bias
        for name, _, _ in case.params:
            if name not in self.P:
                t = torch.nn.Parameter(torch.from_numpy(init[name].astype(np.float64)))
                self.register_parameter(name.replace(".", "_"), t)
                self.P[name] = t
        for name in case.frozen:
            self.P[name].requires_grad_(False)
        self.rng = PCG32(RUNNER_SEED, DROPOUT_STREAM)

    def train(self, mode=True):
        """a frozen batchnorm stays in .eval() (docs/language.md: it normalizes with
        its running statistics in training too and never updates them)"""
        super().train(mode)
        for stmt in self.case.frozen_bn:
            self.bn[stmt].eval()
        return self

    def dense(self, x, stmt):
        z = x.reshape(x.shape[0], -1) @ self.P[stmt + ".weight"]
        return z + self.P[stmt + ".bias"] if stmt + ".bias" in self.P else z

    def dropout(self, x, p):
        if not self.training:
            return x
        keep = np.float32(1.0 - p)
        u = np.array([self.rng.uniform() for _ in range(x.numel())], dtype=np.float32).reshape(x.shape)
        mask = torch.from_numpy((u < keep).astype(np.float64))
        return x * mask / (1.0 - p)


class LayerCase:
    def __init__(self, name, body, params, fwd, steps=STEPS, batchnorms=None, comment="", freeze=()):
        self.name, self.body, self.params, self.fwd, self.steps = name, body, params, fwd, steps
        self.batchnorms = batchnorms or {}   # statement -> (1 or 2, momentum, eps)
        # freeze: statements and parameter names of a `freeze` line (added to
        # the body); a frozen batchnorm statement runs in .eval() from
        # running statistics drawn here (`init` lines for its buffers)
        self.freeze = freeze
        self.frozen = frozen_names(freeze, [n for n, _, _ in params])
        self.frozen_bn = [stmt for stmt in self.batchnorms if stmt in freeze]
        self.bn_channels = {}   # statement -> channels (the size of its gamma)
        for pname, dims, _ in params:
            if pname.endswith(".gamma"):
                self.bn_channels[pname[:-len(".gamma")]] = dims[0]
        self.comment = comment

    def buffers(self):
        return [s + suffix for s in self.batchnorms for suffix in (".running_mean", ".running_var")]


def fwd_prelu_1d(net, x):
    pre = net.dense(x, "h.1")
    h = F.prelu(pre, net.P["h.alpha"])
    return net.dense(h, "z"), [pre.abs().min().item()]


def fwd_prelu_2d(net, x):
    a = net.dense(x, "a").reshape(-1, 2, 3, 2)
    h = F.prelu(a, net.P["h.alpha"])           # alpha per channel (dim 1)
    return net.dense(h, "z"), [a.abs().min().item()]


def fwd_maxout(net, x):
    zz = net.dense(x, "h").reshape(-1, 3, 2)   # column u * pieces + k: piece k of unit u
    h = zz.max(dim=2).values
    return net.dense(h, "z"), [(zz[:, :, 0] - zz[:, :, 1]).abs().min().item()]


def fwd_glu_last(net, x):
    return net.dense(F.glu(net.dense(x, "h"), dim=-1), "z"), []


def fwd_glu_axis0(net, x):
    a = net.dense(x, "a").reshape(-1, 4, 3)
    return net.dense(F.glu(a, dim=1), "z"), []


def fwd_dropout(net, x):
    h = net.dropout(torch.tanh(net.dense(x, "h.1")), 0.3)
    return net.dense(h, "z"), []


def fwd_batchnorm_1d(net, x):
    return net.dense(torch.tanh(net.bn["h"](net.dense(x, "h.1"))), "z"), []


def fwd_batchnorm_2d(net, x):
    a = net.dense(x, "a").reshape(-1, 2, 3, 2)
    return net.dense(torch.tanh(net.bn["h"](a)), "z"), []


def fwd_frozen_batchnorm_1d(net, x):
    return net.dense(torch.tanh(net.bn["h"](net.dense(x, "a"))), "z"), []


def dense_params(stmt, fi, fo):
    return [(stmt + ".weight", (fi, fo), "w"), (stmt + ".bias", (fo,), "b")]


# a dense layer before batchnorm has no bias: the gradient of a bias that
# batchnorm subtracts again is zero, and float32 rounding noise around zero
# is no test (PyTorch users write nn.Linear(..., bias=False) there too)
BN1D_BODY = "h = tanh(batchnorm(dense(x, 6, bias=false){args}))\nz = dense(h, 3)"
BN2D_BODY = "a = reshape(dense(x, 12), [2, 3, 2])\nh = tanh(batchnorm(a{args}))\nz = dense(h, 3)"
BN1D_PARAMS = [("h.gamma", (6,), "gamma"), ("h.beta", (6,), "beta"), ("h.1.weight", (IN, 6), "w")] + \
    dense_params("z", 6, K)
BN2D_PARAMS = dense_params("a", IN, 12) + [("h.gamma", (2,), "gamma"), ("h.beta", (2,), "beta")] + \
    dense_params("z", 12, K)

LAYER_CASES = [
    LayerCase("layer_prelu_1d", "h = prelu(dense(x, 6))\nz = dense(h, 3)",
              [("h.alpha", (6,), "alpha")] + dense_params("h.1", IN, 6) + dense_params("z", 6, K), fwd_prelu_1d,
              comment="prelu over the last dim of [F]"),
    LayerCase("layer_prelu_2d", "a = reshape(dense(x, 12), [2, 3, 2])\nh = prelu(a)\nz = dense(h, 3)",
              dense_params("a", IN, 12) + [("h.alpha", (2,), "alpha")] + dense_params("z", 12, K), fwd_prelu_2d,
              comment="prelu over the channels of [C, H, W]"),
    LayerCase("layer_maxout", "h = maxout(x, 3, 2)\nz = dense(h, 3)",
              dense_params("h", IN, 6) + dense_params("z", 3, K), fwd_maxout, comment="maxout, 3 units of 2 pieces"),
    LayerCase("layer_glu", "h = glu(dense(x, 6))\nz = dense(h, 3)",
              dense_params("h", IN, 6) + dense_params("z", 3, K), fwd_glu_last, comment="glu over the last axis"),
    LayerCase("layer_glu_axis0", "a = reshape(dense(x, 12), [4, 3])\nh = glu(a, axis=0)\nz = dense(h, 3)",
              dense_params("a", IN, 12) + dense_params("z", 6, K), fwd_glu_axis0, comment="glu over axis 0 of [4, 3]"),
    LayerCase("layer_dropout", "h = dropout(tanh(dense(x, 6)), 0.3)\nz = dense(h, 3)",
              dense_params("h.1", IN, 6) + dense_params("z", 6, K), fwd_dropout,
              comment="dropout(p=0.3), masks from the seed"),
    LayerCase("layer_batchnorm_1d", BN1D_BODY.format(args=""), BN1D_PARAMS, fwd_batchnorm_1d,
              batchnorms={"h": (1, 0.1, 1e-5)}, comment="batchnorm per feature of [F]"),
    LayerCase("layer_batchnorm_2d", BN2D_BODY.format(args=""), BN2D_PARAMS, fwd_batchnorm_2d,
              batchnorms={"h": (2, 0.1, 1e-5)}, comment="batchnorm per channel of [C, H, W]"),
    LayerCase("layer_batchnorm_stats_1d", BN1D_BODY.format(args=", momentum=0.3, eps=1e-3"), BN1D_PARAMS, fwd_batchnorm_1d,
              steps=5, batchnorms={"h": (1, 0.3, 1e-3)}, comment="batchnorm's running statistics after 5 steps, [F]"),
    LayerCase("layer_batchnorm_stats_2d", BN2D_BODY.format(args=", momentum=0.05, eps=0.01"), BN2D_PARAMS, fwd_batchnorm_2d,
              steps=5, batchnorms={"h": (2, 0.05, 0.01)},
              comment="batchnorm's running statistics after 5 steps, [C, H, W]"),
    # a frozen batchnorm (PyTorch: the module in .eval(), gamma and beta
    # requires_grad=False) between trainable layers: pre-trained running
    # statistics used in training and kept; the dense layer before it has
    # its bias (eval-mode batchnorm does not cancel it)
    LayerCase("freeze_batchnorm_1d", "a = dense(x, 6)\nh = tanh(batchnorm(a))\nz = dense(h, 3)\nfreeze h",
              dense_params("a", IN, 6) + [("h.gamma", (6,), "gamma"), ("h.beta", (6,), "beta")] +
              dense_params("z", 6, K), fwd_frozen_batchnorm_1d, batchnorms={"h": (1, 0.1, 1e-5)}, freeze=("h",),
              comment="a frozen batchnorm over [F]: .eval(), its running statistics kept"),
    LayerCase("freeze_batchnorm_2d", BN2D_BODY.format(args=", momentum=0.3") + "\nfreeze h", BN2D_PARAMS,
              fwd_batchnorm_2d, batchnorms={"h": (2, 0.3, 1e-5)}, freeze=("h",),
              comment="a frozen batchnorm over the channels of [C, H, W]: .eval(), its running statistics kept"),
]


def layer_nn_text(case):
    lines = ["# parity case %s: %s (generated by make_fixtures.py)" % (case.name, case.comment),
             "network pt_" + case.name, "input x[%d]" % IN, "target y[%d]" % K]
    lines += case.body.split("\n")
    lines += ["output o = z", "loss mse(z, y)", "optimizer sgd(lr=0.1)"]
    return "\n".join(lines) + "\n"


def layer_draw(case):
    rng = np.random.default_rng(zlib.crc32(getattr(case, "draw_key", case.name).encode()))
    f32 = np.float32
    init = {}
    for name, dims, kind in case.params:
        if kind == "w":
            a = np.sqrt(6.0 / (dims[0] + dims[1]))
            init[name] = rng.uniform(-a, a, size=dims).astype(f32)
        elif kind == "ones":
            init[name] = np.ones(dims, f32)
        elif isinstance(kind, tuple):   # (lo, hi): uniform in that range (op cases)
            init[name] = rng.uniform(kind[0], kind[1], size=dims).astype(f32)
        else:
            lo, hi = {"b": (-0.3, 0.3), "alpha": (0.05, 0.5), "gamma": (0.5, 1.5), "beta": (-0.3, 0.3)}[kind]
            init[name] = rng.uniform(lo, hi, size=dims).astype(f32)
    for stmt in getattr(case, "frozen_bn", []):   # pre-trained running statistics, float32
        c = case.bn_channels[stmt]
        init[stmt + ".running_mean"] = rng.uniform(-0.5, 0.5, size=(c,)).astype(f32)
        init[stmt + ".running_var"] = rng.uniform(0.3, 2.0, size=(c,)).astype(f32)
    x = rng.uniform(-1.5, 1.5, size=(BATCH, IN)).astype(f32)
    y = rng.uniform(-1.2, 1.2, size=(BATCH, K)).astype(f32)
    return init, x, y


def layer_train(case, init, x_np, y_np, dtype=torch.float64):
    """dtype float32 (with that default dtype): the same training in float32, for op_float32_error"""
    net = LayerNet(case, init).to(dtype)   # parameters converted in place: net.P stays valid
    opt = torch.optim.SGD(list(net.parameters()), lr=0.1, foreach=False)
    x, y = torch.from_numpy(x_np.astype(np.float64)).to(dtype), torch.from_numpy(y_np.astype(np.float64)).to(dtype)
    losses, grads = [], None
    value = lambda t: t.detach().contiguous().numpy().copy()
    for step in range(case.steps):
        net.train()
        opt.zero_grad()
        z, margins = case.fwd(net, x)
        loss = F.mse_loss(z, y)
        if margins and min(margins) < KINK_MARGIN:
            raise SystemExit("%s: step %d is %.3g from a kink; change the case" % (case.name, step, min(margins)))
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            grads = {n: value(net.P[n].grad) for n, _, _ in case.params if n not in getattr(case, "frozen", [])}
        opt.step()
    net.eval()
    with torch.no_grad():
        out, _ = case.fwd(net, x)
    final = {n: value(net.P[n]) for n, _, _ in case.params}
    buffers = {}
    for stmt in case.batchnorms:
        buffers[stmt + ".running_mean"] = value(net.bn[stmt].running_mean)
        buffers[stmt + ".running_var"] = value(net.bn[stmt].running_var)
    for v in losses + list(final.values()) + list(grads.values()) + list(buffers.values()) + [value(out)]:
        assert np.all(np.isfinite(v)), case.name
    return losses, grads, final, buffers, value(out)


def layer_fixture_text(case, init, x, y, losses, grads, final, buffers, out):
    names = [n for n, _, _ in case.params]
    text = ["# PyTorch %s parity fixture for cases/%s.nn, written by make_fixtures.py: do not edit."
            % (torch.__version__, case.name),
            "# %d sgd steps on the same batch; losses are those returned before each update; grad is" % case.steps,
            "# the first step's gradient; buffer and output o are those after the last step;",
            "# training in float64 from the float32 values below.",
            "network pt_" + case.name, "batch %d" % BATCH,
            "input x %d" % x.size, numbers(x, "%.9g"),
            "target y real %d" % y.size, numbers(y, "%.9g"),
            "loss %d" % len(losses), numbers(losses, "%.17g", 3)]
    for n in names:
        text += ["init %s %d" % (n, init[n].size), numbers(init[n], "%.9g")]
    if getattr(case, "freeze", ()):
        text += ["# frozen (requires_grad=False: no grad line, final = init): " + " ".join(case.frozen)]
        for n in case.buffers():
            if n.rsplit(".", 1)[0] in case.frozen_bn:   # a frozen batchnorm's statistics: .eval() uses them
                text += ["init %s %d" % (n, init[n].size), numbers(init[n], "%.9g")]
    for n in names:
        if n in grads:
            text += ["grad %s %d" % (n, grads[n].size), numbers(grads[n], "%.17g", 3)]
    for n in names:
        text += ["final %s %d" % (n, final[n].size), numbers(final[n], "%.17g", 3)]
    for n in case.buffers():
        text += ["buffer %s %d" % (n, buffers[n].size), numbers(buffers[n], "%.17g", 3)]
    text += ["output o %d" % out.size, numbers(out, "%.17g", 3)]
    return "\n".join(text) + "\n"


def layer_main():
    names = [c.name for c in LAYER_CASES] + [c.name for c in CASES]
    assert len(set(names)) == len(names)
    for case in LAYER_CASES:
        init, x, y = layer_draw(case)
        losses, grads, final, buffers, out = layer_train(case, init, x, y)
        write(os.path.join(HERE, "cases", case.name + ".nn"), layer_nn_text(case))
        write(os.path.join(HERE, "fixtures", case.name + ".txt"),
              layer_fixture_text(case, init, x, y, losses, grads, final, buffers, out))
        print("%-22s loss %.6g -> %.6g" % (case.name, losses[0], losses[-1]))


# ---- op cases: every primitive of docs/language.md between parameters and the loss ----------
#
# Each op case is a layer case (the machinery above: raw parameters in
# nngen's layout, sgd(lr=0.1) on mse, first-step gradients, the inference
# output o after the last step) whose body computes a tensor h with the op
# under test from dense layers and `param` tensors, followed by
# z = dense(h, 3): the losses and the output o check the op's forward value,
# the first-step gradients of everything upstream of it and the parameters
# after 10 steps check its derivative. The PyTorch side writes the same
# expression with torch operators (`+ - * / @ **`, torch.exp/log/sqrt/abs,
# Tensor.sum/mean over the same dims, torch.maximum/minimum, reshape,
# flatten, permute, torch.cat).
#
# Data stays away from kinks and domain edges at every step: abs inputs and
# the two sides of max/min stay KINK_MARGIN apart (torch.maximum/minimum
# split the gradient equally at a tie, like nngen, and the *_ties cases
# check that on exact ties that persist: max(x * s, x * t) with s = t),
# and the operands of log, sqrt, / and the fractional and negative powers
# stay above POS_MARGIN (a dense layer with weights in +-0.2 and biases in
# [1.5, 2.5] starts above 0.3 on inputs in [-1.5, 1.5]).

POS_MARGIN = 0.1
SMALL_W = (-0.25, 0.25)   # dense weights that keep x ^ 3, exp(x) moderate
POS_W, POS_B = (-0.3, 0.3), (1.2, 2.0)


def positive(t):
    if t.min().item() < POS_MARGIN:
        raise SystemExit("an operand that must stay positive reached %.3g; change the case" % t.min().item())
    return t


def gap(u, v):
    return [(u - v).abs().min().item()]


def small_dense(stmt, fi, fo):
    return [(stmt + ".weight", (fi, fo), SMALL_W), (stmt + ".bias", (fo,), "b")]


def pos_dense(stmt, fi, fo):
    return [(stmt + ".weight", (fi, fo), POS_W), (stmt + ".bias", (fo,), POS_B)]


def exact_ties(u, v):
    assert torch.equal(u, v), "the ties case lost its ties"
    return u, v


def op_case(name, lines, params, hsize, h_of, comment, draw_key=None):
    """lines compute h; h_of(D, P, x) -> (h, margins) with D(x, stmt) a dense layer;
    draw_key (default: the name) seeds the draw, to leave one that comes near a kink"""
    def fwd(net, x):
        h, margins = h_of(net.dense, net.P, x)
        return net.dense(h, "z"), margins
    case = LayerCase(name, "\n".join(lines + ["z = dense(h, %d)" % K]), params + dense_params("z", hsize, K), fwd,
                     comment=comment)
    if draw_key:
        case.draw_key = draw_key
    return case


A, AP = ["a = dense(x, 6)"], dense_params("a", IN, 6)
SA, SAP = ["a = dense(x, 6)"], small_dense("a", IN, 6)
PA, PAP = ["a = dense(x, 6)"], pos_dense("a", IN, 6)
B, BP, PBP = ["b = dense(x, 6)"], dense_params("b", IN, 6), pos_dense("b", IN, 6)
R43 = ["a = reshape(dense(x, 12), [4, 3])"]
R232 = ["a = reshape(dense(x, 12), [2, 3, 2])"]
A12 = dense_params("a", IN, 12)


def r(t, *dims):
    return t.reshape((-1,) + dims)


OP_CASES = [
    # binary arithmetic, both operands batched [N, 6]
    op_case("op_add", A + B + ["h = tanh(a + b)"], AP + BP, 6,
            lambda D, P, x: (torch.tanh(D(x, "a") + D(x, "b")), []), "a + b"),
    op_case("op_sub", A + B + ["h = tanh(a - b)"], AP + BP, 6,
            lambda D, P, x: (torch.tanh(D(x, "a") - D(x, "b")), []), "a - b"),
    op_case("op_mul", A + B + ["h = a * b"], AP + BP, 6,
            lambda D, P, x: (D(x, "a") * D(x, "b"), []), "a * b"),
    op_case("op_div", A + B + ["h = a / b"], AP + PBP, 6,
            lambda D, P, x: (D(x, "a") / positive(D(x, "b")), []), "a / b, b positive"),
    # matrix products: [N, 2, 3] @ [3, 4] and [N, 4, 3] @ [3]
    op_case("op_matmul", ["param W[3, 4]"] + ["a = reshape(dense(x, 6), [2, 3])", "h = a @ W"],
            [("W", (3, 4), "w")] + dense_params("a", IN, 6), 8,
            lambda D, P, x: (r(D(x, "a"), 2, 3) @ P["W"], []), "[N, 2, 3] @ [3, 4]"),
    op_case("op_matmul_vector", ["param v[3]"] + R43 + ["h = a @ v"], [("v", (3,), (-1.0, 1.0))] + A12, 4,
            lambda D, P, x: (r(D(x, "a"), 4, 3) @ P["v"], []), "[N, 4, 3] @ [3] (a vector: the last dim drops)"),
    # powers by constants
    op_case("op_pow2", SA + ["h = a ^ 2"], SAP, 6, lambda D, P, x: (D(x, "a") ** 2, []), "a ^ 2, a of both signs"),
    op_case("op_pow3", SA + ["h = a ^ 3"], SAP, 6, lambda D, P, x: (D(x, "a") ** 3, []), "a ^ 3, a of both signs"),
    op_case("op_pow_half", PA + ["h = a ^ 0.5"], PAP, 6,
            lambda D, P, x: (positive(D(x, "a")) ** 0.5, []), "a ^ 0.5, a positive"),
    op_case("op_pow_neg1", PA + ["h = a ^ -1"], PAP, 6,
            lambda D, P, x: (positive(D(x, "a")) ** -1, []), "a ^ -1, a positive"),
    op_case("op_pow_neg", PA + ["h = a ^ -1.5"], PAP, 6,
            lambda D, P, x: (positive(D(x, "a")) ** -1.5, []), "a ^ -1.5, a positive"),
    # unary minus, and its precedence below ^: -a ^ 2 is -(a ^ 2)
    op_case("op_neg", A + ["h = tanh(-a)"], AP, 6, lambda D, P, x: (torch.tanh(-D(x, "a")), []), "-a"),
    op_case("op_neg_pow", SA + B + ["h = -a ^ 2 + b"], SAP + BP, 6,
            lambda D, P, x: (-(D(x, "a") ** 2) + D(x, "b"), []), "-a ^ 2 + b, which is -(a ^ 2) + b"),
    # elementwise functions
    op_case("op_exp", SA + ["h = exp(a)"], SAP, 6, lambda D, P, x: (torch.exp(D(x, "a")), []), "exp(a)"),
    op_case("op_log", PA + ["h = log(a)"], PAP, 6,
            lambda D, P, x: (torch.log(positive(D(x, "a"))), []), "log(a), a positive"),
    op_case("op_sqrt", PA + ["h = sqrt(a)"], PAP, 6,
            lambda D, P, x: (torch.sqrt(positive(D(x, "a"))), []), "sqrt(a), a positive"),
    op_case("op_abs", A + ["h = abs(a)"], AP, 6,
            lambda D, P, x: (D(x, "a").abs(), [D(x, "a").abs().min().item()]), "abs(a), a away from 0"),
    # reductions over a per-sample axis (axis numbers skip the batch)
    op_case("op_sum_axis0", R43 + ["h = sum(a, 0)"], A12, 3,
            lambda D, P, x: (r(D(x, "a"), 4, 3).sum(1), []), "sum over axis 0 of [4, 3]"),
    op_case("op_sum_axis_last", R43 + ["h = sum(a, axis=-1)"], A12, 4,
            lambda D, P, x: (r(D(x, "a"), 4, 3).sum(2), []), "sum over axis -1 of [4, 3]"),
    op_case("op_sum_axis_mid", R232 + ["h = sum(a, 1)"], A12, 4,
            lambda D, P, x: (r(D(x, "a"), 2, 3, 2).sum(2), []), "sum over axis 1 of [2, 3, 2]"),
    op_case("op_mean_axis0", R43 + ["h = mean(a, 0)"], A12, 3,
            lambda D, P, x: (r(D(x, "a"), 4, 3).mean(1), []), "mean over axis 0 of [4, 3]"),
    op_case("op_mean_axis1", R43 + ["h = mean(a, axis=1)"], A12, 4,
            lambda D, P, x: (r(D(x, "a"), 4, 3).mean(2), []), "mean over axis 1 of [4, 3]"),
    op_case("op_mean_axis_last", R232 + ["h = mean(a, -1)"], A12, 6,
            lambda D, P, x: (r(D(x, "a"), 2, 3, 2).mean(3), []), "mean over axis -1 of [2, 3, 2]"),
    # reductions without an axis: every element, the batch included, to a scalar
    op_case("op_sum_all", SA + ["s = dense(x, 1)", "h = a * sum(s)"],
            SAP + [("s.weight", (IN, 1), (-0.1, 0.1)), ("s.bias", (1,), (0.05, 0.15))], 6,
            lambda D, P, x: (D(x, "a") * D(x, "s").sum(), []), "a * sum(s): a scalar over the batch"),
    op_case("op_mean_all", A + ["h = tanh(a - mean(a))"], AP, 6,
            lambda D, P, x: (torch.tanh(D(x, "a") - D(x, "a").mean()), []), "a - mean(a): a scalar over the batch"),
    # elementwise max and min, away from ties; then on exact ties
    op_case("op_max", A + B + ["h = max(a, b)"], AP + BP, 6,
            lambda D, P, x: (torch.maximum(D(x, "a"), D(x, "b")), gap(D(x, "a"), D(x, "b"))), "max(a, b)"),
    op_case("op_min", A + B + ["h = min(a, b)"], AP + BP, 6,
            lambda D, P, x: (torch.minimum(D(x, "a"), D(x, "b")), gap(D(x, "a"), D(x, "b"))), "min(a, b)",
            draw_key="op_min 2"),   # the first draw comes 8.7e-5 from a tie at step 7
    op_case("op_max_param", ["param c[6]"] + A + ["h = max(a, c)"], [("c", (6,), (-0.5, 0.5))] + AP, 6,
            lambda D, P, x: (torch.maximum(D(x, "a"), P["c"]), gap(D(x, "a"), P["c"])), "max(a, c), c a [6] param"),
    op_case("op_min_param", ["param c[6]"] + A + ["h = min(c, a)"], [("c", (6,), (-0.5, 0.5))] + AP, 6,
            lambda D, P, x: (torch.minimum(P["c"], D(x, "a")), gap(D(x, "a"), P["c"])), "min(c, a), c a [6] param"),
    op_case("op_max_scalar", A + ["h = max(a, -0.2)"], AP, 6,
            lambda D, P, x: (torch.maximum(D(x, "a"), torch.tensor(-0.2)), gap(D(x, "a"), -0.2)),
            "max(a, -0.2)"),
    op_case("op_min_scalar", A + ["h = min(0.3, a)"], AP, 6,
            lambda D, P, x: (torch.minimum(torch.tensor(0.3), D(x, "a")), gap(D(x, "a"), 0.3)), "min(0.3, a)"),
    op_case("op_max_ties", ["param s[4] init=ones", "param t[4] init=ones", "h = max(x * s, x * t)"],
            [("s", (IN,), "ones"), ("t", (IN,), "ones")], IN,
            lambda D, P, x: (torch.maximum(*exact_ties(x * P["s"], x * P["t"])), []),
            "max on exact ties at every step: each side gets half the gradient"),
    op_case("op_min_ties", ["param s[4] init=ones", "param t[4] init=ones", "h = min(x * s, x * t)"],
            [("s", (IN,), "ones"), ("t", (IN,), "ones")], IN,
            lambda D, P, x: (torch.minimum(*exact_ties(x * P["s"], x * P["t"])), []),
            "min on exact ties at every step: each side gets half the gradient"),
    # layout
    op_case("op_reshape", ["param c[4]", "a = dense(x, 12)", "h = reshape(a, [3, 4]) * c"],
            [("c", (4,), (0.5, 1.5))] + A12, 12,
            lambda D, P, x: (r(D(x, "a"), 3, 4) * P["c"], []), "reshape [12] to [3, 4], then a [4] broadcast"),
    op_case("op_reshape_infer", ["param c[3]", "a = dense(x, 12)", "h = reshape(a, [-1, 3]) * c"],
            [("c", (3,), (0.5, 1.5))] + A12, 12,
            lambda D, P, x: (r(D(x, "a"), 4, 3) * P["c"], []), "reshape [12] to [-1, 3] (an extension)"),
    op_case("op_flatten", ["param c[3, 2]", "param W[12, 5]"] + R232 + ["h = flatten(a * c) @ W"],
            [("c", (3, 2), (0.5, 1.5)), ("W", (12, 5), "w")] + A12, 5,
            lambda D, P, x: ((r(D(x, "a"), 2, 3, 2) * P["c"]).flatten(1) @ P["W"], []),
            "flatten [2, 3, 2] to [12] before a matrix product"),
    op_case("op_transpose", ["param W[2, 4]", "a = reshape(dense(x, 6), [2, 3])", "h = transpose(a) @ W"],
            [("W", (2, 4), "w")] + dense_params("a", IN, 6), 12,
            lambda D, P, x: (r(D(x, "a"), 2, 3).transpose(1, 2) @ P["W"], []), "transpose [2, 3] to [3, 2]"),
    op_case("op_transpose_3d", ["param c[3, 2]", "a = reshape(dense(x, 24), [2, 3, 4])", "h = transpose(a) * c"],
            [("c", (3, 2), (0.5, 1.5))] + dense_params("a", IN, 24), 24,
            lambda D, P, x: (r(D(x, "a"), 2, 3, 4).permute(0, 3, 2, 1) * P["c"], []),
            "transpose [2, 3, 4] to [4, 3, 2] (the per-sample dims reversed)"),
    op_case("op_transpose_tiled", ["param W[33, 1]", "a = reshape(dense(x, 1122), [33, 34])", "h = transpose(a) @ W"],
            [("W", (33, 1), "w")] + small_dense("a", IN, 1122), 34,
            lambda D, P, x: (r(D(x, "a"), 33, 34).transpose(1, 2) @ P["W"], []),
            "transpose [33, 34] to [34, 33]: over 1,024 elements, copied in 16 x 16 tiles (partial at the edges)"),
    op_case("op_concat", ["a = dense(x, 4)", "b = dense(x, 2)", "h = tanh(concat(a, b))"],
            dense_params("a", IN, 4) + dense_params("b", IN, 2), 6,
            lambda D, P, x: (torch.tanh(torch.cat([D(x, "a"), D(x, "b")], 1)), []), "concat [4] and [2]"),
    op_case("op_concat_axis0", ["param W[3, 2]", "a = reshape(dense(x, 6), [2, 3])",
                                "b = reshape(dense(x, 3), [1, 3])", "h = concat(a, b, axis=0) @ W"],
            [("W", (3, 2), "w")] + dense_params("a", IN, 6) + dense_params("b", IN, 3), 6,
            lambda D, P, x: (torch.cat([r(D(x, "a"), 2, 3), r(D(x, "b"), 1, 3)], 1) @ P["W"], []),
            "concat [2, 3] and [1, 3] on axis 0"),
    op_case("op_concat_axis1", ["param c[3]", "a = reshape(dense(x, 6), [3, 2])", "b = reshape(dense(x, 3), [3, 1])",
                                "h = concat(a, b, 1) * c"],
            [("c", (3,), (0.5, 1.5))] + dense_params("a", IN, 6) + dense_params("b", IN, 3), 9,
            lambda D, P, x: (torch.cat([r(D(x, "a"), 3, 2), r(D(x, "b"), 3, 1)], 2) * P["c"], []),
            "concat [3, 2] and [3, 1] on axis 1"),
    # broadcasting: [N, 6] with [6] params on either side, [N, 2, 3] with [2, 3] and [3], scalars
    op_case("op_broadcast_param", ["param c[6]", "param d[6]", "param e[6]", "param f[6]"] + A +
            ["h = (c - a) * d / e + f"],
            [("c", (6,), (-0.5, 0.5)), ("d", (6,), (0.5, 1.5)), ("e", (6,), (1.0, 2.0)), ("f", (6,), (-0.5, 0.5))]
            + AP, 6,
            lambda D, P, x: ((P["c"] - D(x, "a")) * P["d"] / positive(P["e"]) + P["f"], []),
            "[6] params against [N, 6] through - * / +"),
    op_case("op_broadcast_rank", ["param M[2, 3]", "param c[3]", "a = reshape(dense(x, 6), [2, 3])",
                                  "h = a * M + c"],
            [("M", (2, 3), (0.5, 1.5)), ("c", (3,), (-0.5, 0.5))] + dense_params("a", IN, 6), 6,
            lambda D, P, x: (r(D(x, "a"), 2, 3) * P["M"] + P["c"], []), "[N, 2, 3] with [2, 3] and [3]"),
    op_case("op_broadcast_scalar", A + B + ["h = (0.5 - 2 * a) * 0.25 + 1.5 / b - b / 4"], AP + PBP, 6,
            lambda D, P, x: ((0.5 - 2 * D(x, "a")) * 0.25 + 1.5 / positive(D(x, "b")) - D(x, "b") / 4, []),
            "numbers on either side of - * / with [N, 6]"),
    op_case("op_broadcast_scalar_param", ["param s[1]"] + A + ["h = tanh(a * s + s)"],
            [("s", (1,), (0.5, 1.5))] + AP, 6,
            lambda D, P, x: (torch.tanh(D(x, "a") * P["s"] + P["s"]), []), "a [1] param against [N, 6]"),
]


def op_float32_error(case, init, x, y, losses, grads, final, out, train=None):
    """How far the same training in float32 PyTorch ends from the float64
    reference, in parity.c's measure, over everything the fixture compares
    (losses, first gradients, final parameters, output o): as for the CNN
    cases, a case whose float32 run comes within a factor 3 of the tolerance
    (F32_LIMIT) is ill-conditioned (an output that is a small difference of
    large terms, say) and would pass or fail on the rounding of the C code.
    train is the case family's trainer (layer_train by default), which
    returns the losses, gradients and final parameters first and the output
    last."""
    torch.set_default_dtype(torch.float32)
    try:
        r32 = (train or layer_train)(case, init, x, y, torch.float32)
    finally:
        torch.set_default_dtype(torch.float64)
    l32, g32, f32, o32 = r32[0], r32[1], r32[2], r32[-1]
    return max([parity_error(l32, losses), parity_error(o32, out)] +
               [parity_error(g32[n], grads[n]) for n in grads] + [parity_error(f32[n], final[n]) for n in final])


def op_main():
    names = [c.name for c in OP_CASES] + [c.name for c in LAYER_CASES] + [c.name for c in CASES]
    assert len(set(names)) == len(names)
    for case in OP_CASES:
        init, x, y = layer_draw(case)
        losses, grads, final, buffers, out = layer_train(case, init, x, y)
        err32 = op_float32_error(case, init, x, y, losses, grads, final, out)
        if err32 > F32_LIMIT:
            raise SystemExit("%s: float32 training ends %.3g from float64 (limit %g): change the case"
                             % (case.name, err32, F32_LIMIT))
        write(os.path.join(HERE, "cases", case.name + ".nn"), layer_nn_text(case))
        write(os.path.join(HERE, "fixtures", case.name + ".txt"),
              layer_fixture_text(case, init, x, y, losses, grads, final, buffers, out))
        print("%-26s loss %.6g -> %.6g  (float32 %.2g)" % (case.name, losses[0], losses[-1], err32))


# ---- convolution and pooling (cnn) ------------------------------------------------------
# A CNN case is a chain of layers on an image input x[C, H, W], one statement
# per layer, ending in a dense layer to the class logits and cross_entropy.
# Layers (kernel, stride and pad are an int or (h, w); stride None: the default):
#   ("conv", NAME, filters, kernel, stride, pad, groups, bias, act)   act: None, "tanh", "relu"
#   ("maxpool", NAME, kernel, stride), ("avgpool", NAME, kernel, stride)
#   ("gap", NAME)        global_avgpool
#   ("scale", NAME)      NAME = previous * NAME_s, a [C, H, W] param starting at ones
#   ("dense", NAME, K)   the logits, dense weights [in, out] as nngen stores them
# Data: x uniform in [-1, 1] ("uniform"), in {-1, -0.5, 0, 0.5, 1} ("ties":
# exact ties in every max-pooling window of a scale case), or the first
# training images of examples/data/mnist10k from `start` on ("mnist", pixels / 255). The PyTorch
# side runs F.conv2d / F.max_pool2d / F.avg_pool2d in float64 on NCHW data.
# Margins, checked at every step: relu inputs stay CNN_MARGIN away from 0,
# and each max-pooling window's two largest values are equal (a tie, which
# float32 reproduces exactly) or CNN_MARGIN apart, so float32 rounding
# cannot pick another maximum than float64 does. CNN_MARGIN is below the
# dense cases' KINK_MARGIN because a CNN case has thousands of relu inputs
# and windows per step (1e-4 would reject nearly every draw); these values
# are O(1) sums of at most 36 products, which float32 computes within a few
# 1e-7 of float64 (parameters included, after 10 steps), a factor of more
# than 10 below 1e-5. A case with strict=False (lenet: 60,000 relu inputs
# per step) only reports its smallest margins.

MNIST = os.path.join(HERE, "..", "..", "examples", "data", "mnist10k")  # the repository's digits
CNN_MARGIN = 1e-5
F32_LIMIT = 3e-6   # a third of parity.c's RTOL


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def nn_int2(v):
    return str(v) if isinstance(v, int) else "[%d, %d]" % tuple(v)


class CnnCase:
    def __init__(self, name, comment, image, layers, opt, steps=STEPS, batch=BATCH, data="uniform", classes=K,
                 strict=True, start=0):
        self.name, self.comment, self.image, self.layers, self.opt = name, comment, image, layers, opt
        self.steps, self.batch, self.data, self.classes, self.strict = steps, batch, data, classes, strict
        self.start = start   # the first MNIST image of the batch


CNN_CASES = [
    CnnCase("conv2d", "two convolutions: odd sizes, padding, a [2, 3] kernel, stride 2", (3, 8, 7),
            [("conv", "a", 4, 3, 1, 1, 1, True, "tanh"), ("conv", "b", 5, (2, 3), 2, (1, 0), 1, True, "tanh"),
             ("dense", "z", K)], sgd(0.1)),
    CnnCase("conv2d_groups", "grouped, depthwise (two filters per channel, stride 2) and pointwise convolutions",
            (4, 6, 6),
            [("conv", "g", 6, 3, 1, 1, 2, True, "tanh"), ("conv", "d", 12, 3, 2, 1, 6, False, "tanh"),
             ("conv", "q", 4, 1, 1, 0, 1, True, "tanh"), ("dense", "z", K)], sgd(0.1)),
    CnnCase("maxpool2d", "relu convolutions and max pooling: overlapping 3x3 windows every 2, then [2, 1]",
            (2, 7, 8),
            [("conv", "a", 4, 3, 1, 1, 1, True, "relu"), ("maxpool", "m", 3, 2),
             ("conv", "b", 3, (1, 2), 1, 0, 1, True, "tanh"), ("maxpool", "n", (2, 1), None), ("dense", "z", K)],
            sgd(0.1)),
    CnnCase("maxpool2d_ties", "max pooling over exact ties (the first maximum takes the gradient)", (2, 6, 6),
            [("scale", "h"), ("maxpool", "m", 2, None), ("dense", "z", K)], sgd(0.5), data="ties"),
    CnnCase("maxpool2d_ties_rect", "max pooling over exact ties, [2, 3] windows every [1, 2]", (2, 5, 7),
            [("scale", "h"), ("maxpool", "m", (2, 3), (1, 2)), ("dense", "z", K)], sgd(0.5), data="ties"),
    CnnCase("avgpool2d", "average pooling: [3, 2] windows every [2, 1], then 2x2 (rows and columns dropped)",
            (3, 9, 7),
            [("conv", "a", 4, 3, 1, 0, 1, True, "tanh"), ("avgpool", "m", (3, 2), (2, 1)),
             ("avgpool", "n", 2, None), ("dense", "z", K)], sgd(0.1)),
    CnnCase("global_avgpool", "global average pooling after a convolution", (3, 6, 5),
            [("conv", "a", 6, 3, 1, 1, 1, True, "tanh"), ("gap", "g"), ("dense", "z", K)], sgd(0.2)),
    # Images 664..671: most batches of 8 are ill-conditioned for a 5-step Adam
    # comparison in float32: a barely positive relu output gives a tiny
    # gradient whose float32 error Adam turns into a full step. Over the 200
    # batches at 0, 8, ..., 1592, the generated C code ends within 3e-6 of
    # float64 on 20, between 3e-6 and 1e-5 on 98, beyond 1e-5 (parity.c's
    # tolerance) on 82, on rounding alone; this batch gives 1.7e-6 (gcc -O0
    # to -O3 -march=native, clang with FMA, other GEMM blockings: 1.7e-6 to
    # 2.0e-6). float32 PyTorch does not predict it well enough to choose by
    # (3.2e-6 here), so for this case float32_error is reported, not enforced.
    CnnCase("lenet", "examples/lenet.nn: 5 Adam steps on 8 MNIST training images", (1, 28, 28),
            [("conv", "c1", 16, 5, 1, 2, 1, True, "relu"), ("maxpool", "p1", 2, None),
             ("conv", "c2", 32, 5, 1, 2, 1, True, "relu"), ("maxpool", "p2", 2, None), ("dense", "z", 10)],
            adam(lr=1e-3), steps=5, data="mnist", classes=10, strict=False, start=664),
]


def cnn_shapes(case):
    """[(layer, input shape [C, H, W] or [F], output shape)] from a float64 dry run"""
    h = torch.zeros((1,) + case.image)
    out = []
    for layer in case.layers:
        kind = layer[0]
        before = tuple(h.shape[1:])
        if kind == "conv":
            _, _, f, k, st, pd, g, _, _ = layer
            h = F.conv2d(h, torch.zeros((f, h.shape[1] // g) + pair(k)), stride=pair(st), padding=pair(pd), groups=g)
        elif kind in ("maxpool", "avgpool"):
            h = F.avg_pool2d(h, pair(layer[2]), pair(layer[3] or layer[2]))
        elif kind == "gap":
            h = h.mean(dim=(2, 3))
        elif kind == "dense":
            h = torch.zeros((1, layer[2]))
        out.append((layer, before, tuple(h.shape[1:])))
    return out


def cnn_params(case):
    """[(nngen name, shape, init bound)] in the parameter table's order"""
    ps = []
    for layer, before, after in cnn_shapes(case):
        kind, name = layer[0], layer[1]
        if kind == "scale":
            ps.insert(0, (name + "_s", before, None))   # a param statement before the layers
        elif kind == "conv":
            f, k, g = layer[2], pair(layer[3]), layer[6]
            fan_in = before[0] // g * k[0] * k[1]
            ps.append((name + ".weight", (f, before[0] // g) + k, np.sqrt(3.0 / fan_in)))
            if layer[7]:
                ps.append((name + ".bias", (f,), 0.1 if case.data == "mnist" else 0.2))
        elif kind == "dense":
            fan_in = int(np.prod(before))
            ps.append((name + ".weight", (fan_in, layer[2]), np.sqrt(6.0 / (fan_in + layer[2]))))
            ps.append((name + ".bias", (layer[2],), 0.1 if case.data == "mnist" else 0.3))
    return ps


def cnn_nn_text(case):
    lines = ["# parity case %s: %s (generated by make_fixtures.py)" % (case.name, case.comment),
             "network pt_" + case.name, "input x[%d, %d, %d]" % case.image, "target y : class(%d)" % case.classes]
    lines += ["param %s[%s] init=ones" % (n, ", ".join(map(str, shp))) for n, shp, b in cnn_params(case) if b is None]
    prev = "x"
    for layer in case.layers:
        kind, name = layer[0], layer[1]
        if kind == "conv":
            _, _, f, k, st, pd, g, bias, act = layer
            args = ["%s, %d, %s" % (prev, f, nn_int2(k))]
            args += ["stride=" + nn_int2(st)] if st != 1 else []
            args += ["pad=" + nn_int2(pd)] if pd != 0 else []
            args += ["groups=%d" % g] if g != 1 else []
            args += ["bias=false"] if not bias else []
            text = "conv2d(%s)" % ", ".join(args)
            lines.append("%s = %s" % (name, "%s(%s)" % (act, text) if act else text))
        elif kind in ("maxpool", "avgpool"):
            stride = ", stride=" + nn_int2(layer[3]) if layer[3] is not None else ""
            lines.append("%s = %s2d(%s, %s%s)" % (name, kind, prev, nn_int2(layer[2]), stride))
        elif kind == "gap":
            lines.append("%s = global_avgpool(%s)" % (name, prev))
        elif kind == "scale":
            lines.append("%s = %s * %s_s" % (name, prev, name))
        elif kind == "dense":
            lines.append("%s = dense(%s, %d)" % (name, prev, layer[2]))
        prev = name
    lines += ["output p = softmax(%s)" % prev, "loss cross_entropy(%s, y)" % prev, "optimizer " + case.opt[0]]
    return "\n".join(lines) + "\n"


def read_idx(path):
    """An IDX file as the repository ships it, gzip-compressed (path + ".gz")."""
    with gzip.open(path + ".gz", "rb") as f:
        b = f.read()
    rank = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * rank).reshape(dims)


def cnn_draw(case):
    rng = np.random.default_rng(zlib.crc32(("cnn_" + case.name).encode()))
    f32 = np.float32
    init = {}
    for name, shp, bound in cnn_params(case):
        init[name] = np.ones(shp, f32) if bound is None else rng.uniform(-bound, bound, size=shp).astype(f32)
    shape = (case.batch,) + case.image
    if case.data == "mnist":
        pick = slice(case.start, case.start + case.batch)
        x = (read_idx(MNIST + "/train-images.idx")[pick].astype(f32) / f32(255)).reshape(shape)
        y = read_idx(MNIST + "/train-labels.idx")[pick].astype(np.int32)
    else:
        if case.data == "ties":
            x = (rng.integers(-2, 3, size=shape) / 2).astype(f32)
        else:
            x = rng.uniform(-1.0, 1.0, size=shape).astype(f32)
        y = (np.arange(case.batch) % case.classes).astype(np.int32)
        rng.shuffle(y)
    return init, x, y


def pool_gaps(h, kernel, stride):
    """per window: the largest value minus the second largest (0 for a tie)"""
    kh, kw = pair(kernel)
    win = h.unfold(2, kh, pair(stride)[0]).unfold(3, kw, pair(stride)[1])
    top = win.reshape(win.shape[:4] + (-1,)).topk(2, dim=-1).values
    return top[..., 0] - top[..., 1]


def cnn_loss(case, P, x, y, margins):
    h = x
    for layer in case.layers:
        kind, name = layer[0], layer[1]
        if kind == "conv":
            _, _, f, k, st, pd, g, bias, act = layer
            h = F.conv2d(h, P[name + ".weight"], P.get(name + ".bias"), stride=pair(st), padding=pair(pd), groups=g)
            if act == "relu":
                margins["relu"] = min(margins["relu"], h.abs().min().item())
            h = torch.tanh(h) if act == "tanh" else F.relu(h) if act == "relu" else h
        elif kind == "maxpool":
            stride = layer[3] or layer[2]
            gaps = pool_gaps(h.detach(), layer[2], stride)
            nonzero = gaps[gaps > 0]
            if nonzero.numel():
                margins["pool"] = min(margins["pool"], nonzero.min().item())
            margins["ties"] += int((gaps == 0).sum().item())
            h = F.max_pool2d(h, pair(layer[2]), pair(stride))
        elif kind == "avgpool":
            h = F.avg_pool2d(h, pair(layer[2]), pair(layer[3] or layer[2]))
        elif kind == "gap":
            h = h.mean(dim=(2, 3))
        elif kind == "scale":
            h = h * P[name + "_s"]
        elif kind == "dense":
            h = h.flatten(1) @ P[name + ".weight"] + P[name + ".bias"]
    return F.cross_entropy(h, y)


def cnn_train(case, init, x_np, y_np, dtype=np.float64):
    P = {n: torch.tensor(v.astype(dtype), requires_grad=True) for n, v in init.items()}
    names = [n for n, _, _ in cnn_params(case)]
    opt = case.opt[1]([P[n] for n in names])
    x = torch.from_numpy(x_np.astype(dtype))
    y = torch.from_numpy(y_np.astype(np.int64))
    losses, margins = [], {"relu": np.inf, "pool": np.inf, "ties": 0}
    for step in range(case.steps):
        opt.zero_grad()
        loss = cnn_loss(case, P, x, y, margins)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    small = min(margins["relu"], margins["pool"])
    if dtype != np.float64:
        return losses, {n: P[n].detach().numpy() for n in names}, margins
    if case.strict and small < CNN_MARGIN:
        raise SystemExit("%s: the smallest relu input is %.3g, the smallest max-pooling gap %.3g: change the case"
                         % (case.name, margins["relu"], margins["pool"]))
    final = {n: P[n].detach().numpy() for n in names}
    for v in losses + list(final.values()):
        assert np.all(np.isfinite(v)), case.name
    return losses, final, margins


def parity_error(got, want):
    """parity.c's measure: the worst |c - t| / max(|t|, 0.1 S) over a set"""
    got, want = np.asarray(got, np.float64).reshape(-1), np.asarray(want, np.float64).reshape(-1)
    ref = np.maximum(np.abs(want), 0.1 * np.abs(want).max())
    return float((np.abs(got - want) / np.where(ref > 0, ref, 1)).max())


def float32_error(case, init, x, y, losses, final):
    """How far the same training in float32 (PyTorch's float32 kernels) ends
    from the float64 reference, in parity.c's measure: the generated C code
    works in float32 too, so a case whose float32 run comes near the
    tolerance (Adam turns a tiny gradient computed with a large relative
    error, from a barely positive relu output, into a full step) would pass
    or fail on the rounding of the C kernels. Such a case is refused."""
    torch.set_default_dtype(torch.float32)
    try:
        l32, f32, _ = cnn_train(case, init, x, y, np.float32)
    finally:
        torch.set_default_dtype(torch.float64)
    return max([parity_error(l32, losses)] + [parity_error(f32[n], final[n]) for n in final])


def cnn_fixture_text(case, init, x, y, losses, final):
    out = ["# PyTorch %s parity fixture for cases/%s.nn, written by make_fixtures.py: do not edit."
           % (torch.__version__, case.name),
           "# %d steps on the same batch; losses are those returned before each update;" % case.steps,
           "# training in float64 from the float32 values below.",
           "network pt_" + case.name, "batch %d" % case.batch,
           "input x %d" % x.size, numbers(x, "%.9g"),
           "target y class %d" % y.size, numbers(y, "%d", 16),
           "loss %d" % len(losses), numbers(losses, "%.17g", 3)]
    names = [n for n, _, _ in cnn_params(case)]
    for name in names:
        out += ["init %s %d" % (name, init[name].size), numbers(init[name], "%.9g")]
    for name in names:
        out += ["final %s %d" % (name, final[name].size), numbers(final[name], "%.17g", 3)]
    return "\n".join(out) + "\n"


def cnn_main():
    for case in CNN_CASES:
        init, x, y = cnn_draw(case)
        losses, final, margins = cnn_train(case, init, x, y)
        err32 = float32_error(case, init, x, y, losses, final)
        if err32 > F32_LIMIT and case.strict:
            raise SystemExit("%s: float32 training ends %.3g from float64 (limit %g): change the case"
                             % (case.name, err32, F32_LIMIT))
        write(os.path.join(HERE, "cases", case.name + ".nn"), cnn_nn_text(case))
        write(os.path.join(HERE, "fixtures", case.name + ".txt"), cnn_fixture_text(case, init, x, y, losses, final))
        print("%-22s loss %.6g -> %.6g  (smallest relu input %.3g, pooling gap %.3g, %d exact ties; float32 %.2g)"
              % (case.name, losses[0], losses[-1], margins["relu"], margins["pool"], margins["ties"], err32))

# ---- sequence cases: the recurrent layers and last(x) ----------------------------------
# A sequence case has the input x[T, F] (time first, batch_first=True) and
# runs PyTorch 1.13's own modules nn.RNN / nn.LSTM / nn.GRU (one layer, one
# direction, zero initial state) in float64. nngen stores the recurrent
# weights transposed, [in, G * units] (x @ W), with the same column blocks
# (gate order i, f, g, o for lstm, r, z, n for gru): the module's
# weight_ih_l0 is weight_ih^T, and its gradients and final values are
# transposed back. Biases are the same vectors. Dense layers are raw
# parameters in nngen's layout, as in the layer cases. Each case trains
# STEPS steps of its optimizer on mse, with first-step gradients and the
# inference output o after the last step (layer fixture format). Recurrent
# parameters start uniform in +-1/sqrt(units) (PyTorch's default init); a
# relu rnn's pre-activations stay KINK_MARGIN away from 0 at every step;
# and a case whose float32 PyTorch run ends within F32_LIMIT of the
# tolerance is refused, as for the op cases.

SEQ_MODULES = {"rnn": (torch.nn.RNN, 1), "lstm": (torch.nn.LSTM, 4), "gru": (torch.nn.GRU, 3)}


class SeqCase:
    def __init__(self, name, T, F, layers, head, opt, comment):
        """layers: (stmt, kind, input stmt or "x", units, bias, nonlinearity) in order;
        head: (".nn expression of the dense input", torch function of the outputs dict);
        opt: ("sgd", lr) or ("adam", lr)"""
        self.name, self.T, self.F, self.layers, self.head, self.opt = name, T, F, layers, head, opt
        self.comment, self.steps, self.batchnorms = comment, STEPS, {}
        self.params = []
        sizes = {"x": F}
        for stmt, kind, src, units, bias, _ in layers:
            G = SEQ_MODULES[kind][1]
            self.params += [(stmt + ".weight_ih", (sizes[src], G * units), "rec"),
                            (stmt + ".weight_hh", (units, G * units), "rec")]
            if bias:
                self.params += [(stmt + ".bias_ih", (G * units,), "rec"), (stmt + ".bias_hh", (G * units,), "rec")]
            sizes[stmt] = units
        self.units = {stmt: units for stmt, _, _, units, _, _ in layers}
        self.params += dense_params("z", head[2], K)

    def buffers(self):
        return []


def seq_nn_text(case):
    lines = ["# parity case %s: %s (generated by make_fixtures.py)" % (case.name, case.comment),
             "network pt_" + case.name, "input x[%d, %d]" % (case.T, case.F), "target y[%d]" % K]
    for stmt, kind, src, units, bias, act in case.layers:
        args = [src, str(units)]
        if act != "tanh":
            args.append('nonlinearity="%s"' % act)
        if not bias:
            args.append("bias=false")
        lines.append("%s = %s(%s)" % (stmt, kind, ", ".join(args)))
    lines += ["z = dense(%s, %d)" % (case.head[0], K), "output o = z", "loss mse(z, y)",
              "optimizer %s(lr=%g)" % case.opt]
    return "\n".join(lines) + "\n"


def seq_draw(case):
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    f32 = np.float32
    init = {}
    for name, dims, kind in case.params:
        if kind == "rec":
            a = 1.0 / np.sqrt(case.units[name.split(".")[0]])
            init[name] = rng.uniform(-a, a, size=dims).astype(f32)
        elif kind == "w":
            a = np.sqrt(6.0 / (dims[0] + dims[1]))
            init[name] = rng.uniform(-a, a, size=dims).astype(f32)
        else:
            init[name] = rng.uniform(-0.3, 0.3, size=dims).astype(f32)
    x = rng.uniform(-1.5, 1.5, size=(BATCH, case.T, case.F)).astype(f32)
    y = rng.uniform(-1.2, 1.2, size=(BATCH, K)).astype(f32)
    return init, x, y


class SeqNet(torch.nn.Module):
    """the modules own their parameters in PyTorch's layout; P maps an nngen
    name to (tensor, transposed)"""

    def __init__(self, case, init, dtype):
        super().__init__()
        self.case, self.mods, self.P = case, torch.nn.ModuleDict(), {}
        t = lambda a: torch.from_numpy(a.astype(np.float64)).to(dtype)
        sizes = {"x": case.F}
        for stmt, kind, src, units, bias, act in case.layers:
            cls = SEQ_MODULES[kind][0]
            kw = {"nonlinearity": act} if kind == "rnn" else {}
            m = cls(sizes[src], units, num_layers=1, bias=bias, batch_first=True, **kw).to(dtype)
            sizes[stmt] = units
            with torch.no_grad():
                m.weight_ih_l0.copy_(t(init[stmt + ".weight_ih"]).T)
                m.weight_hh_l0.copy_(t(init[stmt + ".weight_hh"]).T)
                self.P[stmt + ".weight_ih"], self.P[stmt + ".weight_hh"] = (m.weight_ih_l0, 1), (m.weight_hh_l0, 1)
                if bias:
                    m.bias_ih_l0.copy_(t(init[stmt + ".bias_ih"]))
                    m.bias_hh_l0.copy_(t(init[stmt + ".bias_hh"]))
                    self.P[stmt + ".bias_ih"], self.P[stmt + ".bias_hh"] = (m.bias_ih_l0, 0), (m.bias_hh_l0, 0)
            self.mods[stmt] = m
        for name in ("z.weight", "z.bias"):
            p = torch.nn.Parameter(t(init[name]))
            self.register_parameter(name.replace(".", "_"), p)
            self.P[name] = (p, 0)

    def forward(self, x):
        outs, margin = {"x": x}, float("inf")
        for stmt, kind, src, units, bias, act in self.case.layers:
            m = self.mods[stmt]
            h, _ = m(outs[src])
            if kind == "rnn" and act == "relu":   # the pre-activations, from the states
                prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
                pre = outs[src] @ m.weight_ih_l0.T + prev @ m.weight_hh_l0.T
                if bias:
                    pre = pre + m.bias_ih_l0 + m.bias_hh_l0
                margin = min(margin, pre.abs().min().item())
            outs[stmt] = h
        hin = self.case.head[1](outs)
        z = hin.reshape(hin.shape[0], -1) @ self.P["z.weight"][0] + self.P["z.bias"][0]
        return z, margin

    def value(self, name, grad=False):
        p, tr = self.P[name]
        v = p.grad if grad else p
        v = v.detach()
        return (v.T if tr else v).contiguous().numpy().copy()


def seq_train(case, init, x_np, y_np, dtype=torch.float64):
    net = SeqNet(case, init, dtype)
    params = list(net.parameters())
    kind, lr = case.opt
    opt = torch.optim.SGD(params, lr=lr, foreach=False) if kind == "sgd" else \
        torch.optim.Adam(params, lr=lr, foreach=False)
    x, y = torch.from_numpy(x_np.astype(np.float64)).to(dtype), torch.from_numpy(y_np.astype(np.float64)).to(dtype)
    losses, grads = [], None
    for step in range(case.steps):
        opt.zero_grad()
        z, margin = net(x)
        if margin < KINK_MARGIN:
            raise SystemExit("%s: step %d is %.3g from relu's kink; change the case" % (case.name, step, margin))
        loss = F.mse_loss(z, y)
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            grads = {n: net.value(n, grad=True) for n, _, _ in case.params}
        opt.step()
    with torch.no_grad():
        out, _ = net(x)
    final = {n: net.value(n) for n, _, _ in case.params}
    out = out.detach().numpy().copy()
    for v in losses + list(final.values()) + list(grads.values()) + [out]:
        assert np.all(np.isfinite(v)), case.name
    return losses, grads, final, out


LAST = ("last({})", lambda s: (lambda o: o[s][:, -1]))
FLAT = ("flatten({})", lambda s: (lambda o: o[s]))


def seq_head(form, stmt, size):
    return (form[0].format(stmt), form[1](stmt), size)


SEQ_CASES = [
    SeqCase("seq_rnn_tanh", 5, 3, [("h", "rnn", "x", 4, True, "tanh")], seq_head(LAST, "h", 4), ("sgd", 0.1),
            "rnn (tanh), T = 5, F = 3, 4 units, the last step into dense"),
    SeqCase("seq_rnn_relu", 4, 3, [("h", "rnn", "x", 5, True, "relu")], seq_head(FLAT, "h", 20), ("sgd", 0.05),
            "rnn (relu), every step flattened into dense"),
    SeqCase("seq_lstm", 6, 3, [("h", "lstm", "x", 5, True, "tanh")], seq_head(LAST, "h", 5), ("adam", 0.01),
            "lstm, T = 6, F = 3, 5 units, adam"),
    SeqCase("seq_lstm_nobias", 3, 4, [("h", "lstm", "x", 4, False, "tanh")], seq_head(FLAT, "h", 12), ("sgd", 0.1),
            "lstm without biases, every step flattened into dense"),
    SeqCase("seq_gru", 5, 3, [("h", "gru", "x", 4, True, "tanh")], seq_head(LAST, "h", 4), ("adam", 0.01),
            "gru, T = 5, F = 3, 4 units, adam"),
    SeqCase("seq_stacked", 4, 3, [("a", "lstm", "x", 4, True, "tanh"), ("h", "gru", "a", 3, False, "tanh")],
            seq_head(LAST, "h", 3), ("sgd", 0.1), "lstm into a gru without biases"),
]


def run_layer_family(cases, draw, train, nn_text):
    """the sequence and 1-D convolution cases: each trained in float64 and in
    float32 (refused when float32 ends too far off), its .nn and fixture
    written as the layer cases' are"""
    for case in cases:
        init, x, y = draw(case)
        r = train(case, init, x, y)
        losses, grads, final, out = r[0], r[1], r[2], r[-1]
        buffers = r[3] if len(r) == 5 else {}
        err32 = op_float32_error(case, init, x, y, losses, grads, final, out, train)
        if err32 > F32_LIMIT:
            raise SystemExit("%s: float32 training ends %.3g from float64 (limit %g): change the case"
                             % (case.name, err32, F32_LIMIT))
        write(os.path.join(HERE, "cases", case.name + ".nn"), nn_text(case))
        text = layer_fixture_text(case, init, x, y, losses, grads, final, buffers, out)
        write(os.path.join(HERE, "fixtures", case.name + ".txt"), text.replace(" sgd steps", " %s steps" % case.opt[0]))
        print("%-26s loss %.6g -> %.6g  (float32 %.2g)" % (case.name, losses[0], losses[-1], err32))


def seq_main():
    run_layer_family(SEQ_CASES, seq_draw, seq_train, seq_nn_text)

# ---- one-dimensional convolution cases: conv1d, the 1-D pools, and
#      global_avgpool and batchnorm over [C, L] ----------------------------------------
# A conv1d case has the input x[C, L] (channels first, PyTorch's (N, C, L))
# and runs PyTorch 1.13's own modules nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d
# and nn.BatchNorm1d (momentum 0.1, eps 1e-5) in float64; global_avgpool is
# the mean over L. nn.Conv1d's weight [filters, C/groups, k] is nngen's
# layout as it is, so nothing is transposed. The layers end in a dense layer
# (raw parameters in nngen's layout, its input flattened row-major), then
# mse, STEPS steps of sgd or adam, first-step gradients, batchnorm's running
# statistics and the inference output o after the last step (layer fixture
# format). Conv weights start uniform in +-sqrt(3 / fan_in), conv biases in
# +-0.2; relu inputs and the gap between the two largest values of every
# max-pooling window stay CNN_MARGIN away from 0 at every step (unless the
# gap is exactly 0, as for windows of relu's zeros), and a case
# whose float32 PyTorch run ends within F32_LIMIT of the tolerance is refused.


class Conv1dCase:
    def __init__(self, name, C, L, layers, opt, comment):
        """layers, in order, each reading the one before (x first):
        ("conv", stmt, filters, kernel, stride, pad, groups, bias, act), act "tanh", "relu" or None;
        ("maxpool" | "avgpool", stmt, kernel, stride or None); ("bn", stmt, act); ("gap", stmt);
        then the head z = dense(last, K). opt: ("sgd", lr) or ("adam", lr)"""
        self.name, self.C, self.L, self.layers, self.opt, self.comment = name, C, L, layers, opt, comment
        self.steps, self.params, self.batchnorms = STEPS, [], {}
        shape = (C, L)
        for layer in layers:
            kind, stmt = layer[0], layer[1]
            if kind == "conv":
                _, _, f, k, st, pd, g, bias, _ = layer
                self.params.append((stmt + ".weight", (f, shape[0] // g, k), ("conv", shape[0] // g * k)))
                if bias:
                    self.params.append((stmt + ".bias", (f,), (-0.2, 0.2)))
                shape = (f, (shape[1] + 2 * pd - k) // st + 1)
            elif kind in ("maxpool", "avgpool"):
                k, st = layer[2], layer[3] or layer[2]
                shape = (shape[0], (shape[1] - k) // st + 1)
            elif kind == "bn":
                self.params += [(stmt + ".gamma", (shape[0],), "gamma"), (stmt + ".beta", (shape[0],), "beta")]
                self.batchnorms[stmt] = shape[0]
            elif kind == "gap":
                shape = (shape[0],)
        self.params += dense_params("z", int(np.prod(shape)), K)

    def buffers(self):
        return [s + suffix for s in self.batchnorms for suffix in (".running_mean", ".running_var")]


def act_text(act, text):
    return "%s(%s)" % (act, text) if act else text


def conv1d_nn_text(case):
    lines = ["# parity case %s: %s (generated by make_fixtures.py)" % (case.name, case.comment),
             "network pt_" + case.name, "input x[%d, %d]" % (case.C, case.L), "target y[%d]" % K]
    prev = "x"
    for layer in case.layers:
        kind, stmt = layer[0], layer[1]
        if kind == "conv":
            _, _, f, k, st, pd, g, bias, act = layer
            args = ["%s, %d, %d" % (prev, f, k)]
            args += ["stride=%d" % st] if st != 1 else []
            args += ["pad=%d" % pd] if pd != 0 else []
            args += ["groups=%d" % g] if g != 1 else []
            args += ["bias=false"] if not bias else []
            text = act_text(act, "conv1d(%s)" % ", ".join(args))
        elif kind in ("maxpool", "avgpool"):
            stride = ", stride=%d" % layer[3] if layer[3] is not None else ""
            text = "%s1d(%s, %d%s)" % (kind, prev, layer[2], stride)
        elif kind == "bn":
            text = act_text(layer[2], "batchnorm(%s)" % prev)
        elif kind == "gap":
            text = "global_avgpool(%s)" % prev
        lines.append("%s = %s" % (stmt, text))
        prev = stmt
    lines += ["z = dense(%s, %d)" % (prev, K), "output o = z", "loss mse(z, y)", "optimizer %s(lr=%g)" % case.opt]
    return "\n".join(lines) + "\n"


def conv1d_draw(case):
    rng = np.random.default_rng(zlib.crc32(("conv1d_" + case.name).encode()))
    f32 = np.float32
    init = {}
    for name, dims, kind in case.params:
        if isinstance(kind, tuple) and kind[0] == "conv":
            a = np.sqrt(3.0 / kind[1])
            init[name] = rng.uniform(-a, a, size=dims).astype(f32)
        elif isinstance(kind, tuple):
            init[name] = rng.uniform(kind[0], kind[1], size=dims).astype(f32)
        elif kind == "w":
            a = np.sqrt(6.0 / (dims[0] + dims[1]))
            init[name] = rng.uniform(-a, a, size=dims).astype(f32)
        else:
            lo, hi = {"b": (-0.3, 0.3), "gamma": (0.5, 1.5), "beta": (-0.3, 0.3)}[kind]
            init[name] = rng.uniform(lo, hi, size=dims).astype(f32)
    x = rng.uniform(-1.0, 1.0, size=(BATCH, case.C, case.L)).astype(f32)
    y = rng.uniform(-1.2, 1.2, size=(BATCH, K)).astype(f32)
    return init, x, y


class Conv1dNet(torch.nn.Module):
    """PyTorch's modules, owning their parameters in nngen's layout; P maps an
    nngen name to its tensor"""

    def __init__(self, case, init, dtype):
        super().__init__()
        self.case, self.mods, self.P = case, torch.nn.ModuleDict(), {}
        t = lambda a: torch.from_numpy(a.astype(np.float64)).to(dtype)
        channels = case.C
        for layer in case.layers:
            kind, stmt = layer[0], layer[1]
            if kind == "conv":
                _, _, f, k, st, pd, g, bias, _ = layer
                m = torch.nn.Conv1d(channels, f, k, stride=st, padding=pd, groups=g, bias=bias).to(dtype)
                with torch.no_grad():
                    m.weight.copy_(t(init[stmt + ".weight"]))
                    self.P[stmt + ".weight"] = m.weight
                    if bias:
                        m.bias.copy_(t(init[stmt + ".bias"]))
                        self.P[stmt + ".bias"] = m.bias
                channels = f
            elif kind == "maxpool":
                m = torch.nn.MaxPool1d(layer[2], layer[3] or layer[2])
            elif kind == "avgpool":
                m = torch.nn.AvgPool1d(layer[2], layer[3] or layer[2])
            elif kind == "bn":
                m = torch.nn.BatchNorm1d(channels, eps=1e-5, momentum=0.1).to(dtype)
                with torch.no_grad():
                    m.weight.copy_(t(init[stmt + ".gamma"]))
                    m.bias.copy_(t(init[stmt + ".beta"]))
                self.P[stmt + ".gamma"], self.P[stmt + ".beta"] = m.weight, m.bias
            else:
                continue
            self.mods[stmt] = m
        for name in ("z.weight", "z.bias"):
            p = torch.nn.Parameter(t(init[name]))
            self.register_parameter(name.replace(".", "_"), p)
            self.P[name] = p

    def forward(self, x):
        h, margins = x, {"relu": np.inf, "pool": np.inf}
        for layer in self.case.layers:
            kind, stmt = layer[0], layer[1]
            if kind == "gap":
                h = h.mean(dim=2)
                continue
            if kind == "maxpool":
                k, st = layer[2], layer[3] or layer[2]
                top = h.detach().unfold(2, k, st).topk(2, dim=-1).values
                gaps = top[..., 0] - top[..., 1]
                nonzero = gaps[gaps > 0]   # exact ties (relu's zeros) send the gradient to the first maximum
                if nonzero.numel():
                    margins["pool"] = min(margins["pool"], nonzero.min().item())
            h = self.mods[stmt](h)
            act = layer[8] if kind == "conv" else layer[2] if kind == "bn" else None
            if act == "relu":
                margins["relu"] = min(margins["relu"], h.abs().min().item())
            h = torch.tanh(h) if act == "tanh" else F.relu(h) if act == "relu" else h
        z = h.reshape(h.shape[0], -1) @ self.P["z.weight"] + self.P["z.bias"]
        return z, margins


def conv1d_train(case, init, x_np, y_np, dtype=torch.float64):
    net = Conv1dNet(case, init, dtype)
    kind, lr = case.opt
    opt = torch.optim.SGD(list(net.parameters()), lr=lr, foreach=False) if kind == "sgd" else \
        torch.optim.Adam(list(net.parameters()), lr=lr, foreach=False)
    x, y = torch.from_numpy(x_np.astype(np.float64)).to(dtype), torch.from_numpy(y_np.astype(np.float64)).to(dtype)
    value = lambda v: v.detach().contiguous().numpy().copy()
    losses, grads = [], None
    for step in range(case.steps):
        net.train()
        opt.zero_grad()
        z, margins = net(x)
        if dtype == torch.float64 and min(margins.values()) < CNN_MARGIN:
            raise SystemExit("%s: step %d: the smallest relu input is %.3g, the smallest max-pooling gap %.3g: "
                             "change the case" % (case.name, step, margins["relu"], margins["pool"]))
        loss = F.mse_loss(z, y)
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            grads = {n: value(net.P[n].grad) for n, _, _ in case.params}
        opt.step()
    net.eval()
    with torch.no_grad():
        out, _ = net(x)
    final = {n: value(net.P[n]) for n, _, _ in case.params}
    buffers = {}
    for stmt in case.batchnorms:
        buffers[stmt + ".running_mean"] = value(net.mods[stmt].running_mean)
        buffers[stmt + ".running_var"] = value(net.mods[stmt].running_var)
    for v in losses + list(final.values()) + list(grads.values()) + list(buffers.values()) + [value(out)]:
        assert np.all(np.isfinite(v)), case.name
    return losses, grads, final, buffers, value(out)


CONV1D_CASES = [
    Conv1dCase("conv1d", 3, 11, [("conv", "a", 5, 3, 2, 1, 1, True, "tanh"),
                                 ("conv", "b", 4, 4, 1, 2, 1, False, "tanh")], ("sgd", 0.1),
               "conv1d: odd C and L, stride 2 with padding, then a kernel of 4 with pad 2 and no bias"),
    Conv1dCase("conv1d_groups", 6, 9, [("conv", "g", 6, 3, 1, 1, 3, True, "tanh"),
                                       ("conv", "d", 12, 3, 2, 0, 6, False, "tanh"),
                                       ("conv", "q", 4, 1, 1, 0, 1, True, "tanh")], ("sgd", 0.1),
               "grouped, depthwise (two filters per channel, stride 2) and pointwise conv1d"),
    Conv1dCase("maxpool1d", 2, 13, [("conv", "a", 4, 3, 1, 1, 1, True, "relu"), ("maxpool", "m", 3, 2),
                                    ("conv", "b", 3, 2, 1, 0, 1, True, "tanh"), ("maxpool", "n", 2, None)],
               ("sgd", 0.1), "relu conv1d and max pooling: overlapping windows of 3 every 2, then of 2"),
    Conv1dCase("avgpool1d", 3, 12, [("conv", "a", 4, 3, 1, 0, 1, True, "tanh"), ("avgpool", "m", 3, 2),
                                    ("avgpool", "n", 2, None)], ("sgd", 0.1),
               "average pooling: windows of 3 every 2 (the last step dropped), then of 2"),
    Conv1dCase("conv1d_batchnorm", 4, 10, [("conv", "a", 6, 3, 1, 1, 1, False, None), ("bn", "b", "tanh"),
                                           ("gap", "g")], ("adam", 0.01),
               "conv1d without bias, batchnorm per channel over N * L, global_avgpool over L, adam"),
]


def conv1d_main():
    run_layer_family(CONV1D_CASES, conv1d_draw, conv1d_train, conv1d_nn_text)


def main():
    os.makedirs(os.path.join(HERE, "cases"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "fixtures"), exist_ok=True)
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    for case in CASES:
        init, x, y = draw(case)
        if case.reach:
            pre, z = Net(case, init)(torch.from_numpy(x.astype(np.float64)))
            assert case.reach(pre, z), "%s: the inputs miss the branch it is for" % case.name
        losses, grads, final, lrs = train(case, init, x, y)
        write(os.path.join(HERE, "cases", case.name + ".nn"), nn_text(case))
        write(os.path.join(HERE, "fixtures", case.name + ".txt"), fixture_text(case, init, x, y, losses, grads, final, lrs))
        print("%-22s loss %.6g -> %.6g" % (case.name, losses[0], losses[-1]))
    layer_main()
    op_main()
    assert not set(names + [c.name for c in OP_CASES]) & set(c.name for c in CNN_CASES)
    cnn_main()
    assert not set(c.name for c in SEQ_CASES) & set(names + [c.name for c in OP_CASES + CNN_CASES])
    seq_main()
    others = names + [c.name for c in OP_CASES + CNN_CASES + SEQ_CASES]
    assert not set(c.name for c in CONV1D_CASES) & set(others)
    conv1d_main()


if __name__ == "__main__":
    main()
