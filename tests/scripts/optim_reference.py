"""Writes tests/data/optim_reference.json: PyTorch's and optax's iterates for Tangent's Euclidean optimizers,
schedules and optax-style transformations, for tests/optim_parity_*_test.ts.

Everything is float64 (jax_enable_x64). Two parameter tensors (a: 3x4, b: 5) and 30 gradients per tensor are
drawn once (numpy, seed 0) and stored; the gradients do not depend on the parameters, so both sides replay the
same sequence. Each case stores the parameters after every step (30 x 17 numbers) from one reference; where
PyTorch and optax implement the same algorithm, the script checks that they agree (to 1e-13 relative) and the
case names both. A case one library lacks is computed with its closest equivalent (written in "equivalent").

Run from the repository root: python tests/scripts/optim_reference.py   (torch 2.13, jax 0.10, optax 0.2.8)
"""
import json
import math

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

STEPS = 30
rng = np.random.default_rng(0)
PARAMS = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
# gradient scale varies so that clipping at 1 both clips and does not
SCALES = [0.05, 0.3, 1.5, 4.0, 0.0]
GRADS = []
for k in range(STEPS):
    s = SCALES[k % len(SCALES)] if k > 0 else 2.0
    GRADS.append({"a": s * rng.standard_normal((3, 4)), "b": s * rng.standard_normal(5)})
GRADS[7] = {"a": np.zeros((3, 4)), "b": np.zeros(5)}  # a zero gradient (global norm 0)


def flat(tree):
    return np.concatenate([np.asarray(tree["a"]).ravel(), np.asarray(tree["b"]).ravel()]).tolist()


def rel_diff(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return float(np.max(np.abs(x - y) / np.maximum(1.0, np.abs(y))))


# ---- references ----

def run_optax(tx):
    params = {k: jnp.asarray(v) for k, v in PARAMS.items()}
    state = tx.init(params)
    out = []
    for g in GRADS:
        g = {k: jnp.asarray(v) for k, v in g.items()}
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        out.append(flat(params))
    return out


def run_torch(make, lr_at=None):
    ps = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in PARAMS.items()}
    opt = make([ps["a"], ps["b"]])
    out = []
    for k, g in enumerate(GRADS):
        if lr_at is not None:
            for group in opt.param_groups:
                group["lr"] = lr_at(k)
        for name in ("a", "b"):
            ps[name].grad = torch.tensor(g[name], dtype=torch.float64)
        opt.step()
        out.append(flat({n: ps[n].detach().numpy() for n in ps}))
    return out


SCHED = dict(init_value=1e-3, peak_value=0.05, warmup_steps=5, decay_steps=25, end_value=1e-3)
# optax's warmup_cosine_decay_schedule of an int32 count (what its optimizers keep) is float32 even under
# jax_enable_x64 (linear_schedule divides the int32 count: ~1e-7 relative off the float64 formula); the
# references evaluate it at the count cast to float64, the formula in float64 (what Tangent computes on the CPU)
sched32 = optax.warmup_cosine_decay_schedule(**SCHED)
sched = lambda count: sched32(jnp.asarray(count).astype(jnp.float64))  # noqa: E731
sched_at = lambda k: float(sched(k))  # noqa: E731
TANGENT_SCHED = {"initValue": 1e-3, "peakValue": 0.05, "warmupSteps": 5, "decaySteps": 25, "endValue": 1e-3}

cases = []


def case(name, tangent, refs, equivalent=None):
    """refs: {"torch": iterates, "optax": iterates}; they must agree; the first one is stored."""
    names = list(refs)
    first = refs[names[0]]
    agree = {}
    for n in names[1:]:
        d = rel_diff(refs[n], first)
        agree[n] = d
        assert d < 1e-13, f"{name}: {n} vs {names[0]} differ by {d}"
    cases.append({"name": name, "tangent": tangent, "references": names, "referenceAgreement": agree,
                  "equivalent": equivalent or {}, "iterates": first})


T = torch.optim
# SGD: torch.optim.SGD and optax.sgd (optax has no weight decay in sgd: add_decayed_weights before it is L2)
case("sgd", {"kind": "sgd", "lr": 0.1},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1)), "optax": run_optax(optax.sgd(0.1))})
case("sgd momentum", {"kind": "sgd", "lr": 0.1, "momentum": 0.9},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1, momentum=0.9)),
      "optax": run_optax(optax.sgd(0.1, momentum=0.9))})
case("sgd nesterov", {"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
      "optax": run_optax(optax.sgd(0.1, momentum=0.9, nesterov=True))})
case("sgd weight decay", {"kind": "sgd", "lr": 0.1, "weightDecay": 0.05},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1, weight_decay=0.05)),
      "optax": run_optax(optax.chain(optax.add_decayed_weights(0.05), optax.sgd(0.1)))},
     {"optax": "chain(add_decayed_weights(0.05), sgd(0.1))"})
case("sgd nesterov weight decay", {"kind": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True, "weightDecay": 0.1},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
      "optax": run_optax(optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.05, momentum=0.8, nesterov=True)))},
     {"optax": "chain(add_decayed_weights(0.1), sgd(0.05, momentum=0.8, nesterov=True))"})
case("sgd momentum warmup-cosine", {"kind": "sgd", "lr": TANGENT_SCHED, "momentum": 0.9},
     {"optax": run_optax(optax.sgd(sched, momentum=0.9)),
      "torch": run_torch(lambda p: T.SGD(p, lr=0.0, momentum=0.9), sched_at)},
     {"torch": "param_groups' lr set to the schedule's value before each step"})
# Adam: torch.optim.Adam and optax.adam (eps outside the square root, eps_root = 0)
case("adam", {"kind": "adam", "lr": 0.01},
     {"torch": run_torch(lambda p: T.Adam(p, lr=0.01)), "optax": run_optax(optax.adam(0.01))})
case("adam b1 b2 eps", {"kind": "adam", "lr": 0.02, "b1": 0.8, "b2": 0.95, "eps": 1e-3},
     {"torch": run_torch(lambda p: T.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-3)),
      "optax": run_optax(optax.adam(0.02, b1=0.8, b2=0.95, eps=1e-3))})
case("adam weight decay", {"kind": "adam", "lr": 0.01, "weightDecay": 0.1},
     {"torch": run_torch(lambda p: T.Adam(p, lr=0.01, weight_decay=0.1)),
      "optax": run_optax(optax.chain(optax.add_decayed_weights(0.1), optax.adam(0.01)))},
     {"optax": "chain(add_decayed_weights(0.1), adam(0.01))"})
case("adam warmup-cosine", {"kind": "adam", "lr": TANGENT_SCHED},
     {"optax": run_optax(optax.adam(sched)), "torch": run_torch(lambda p: T.Adam(p, lr=0.0), sched_at)},
     {"torch": "param_groups' lr set to the schedule's value before each step"})
case("adamw", {"kind": "adamw", "lr": 0.01, "weightDecay": 0.1},
     {"torch": run_torch(lambda p: T.AdamW(p, lr=0.01, weight_decay=0.1)),
      "optax": run_optax(optax.adamw(0.01, weight_decay=0.1))})
case("adamw optax default weight decay", {"kind": "adamw", "lr": 0.01},
     {"optax": run_optax(optax.adamw(0.01)),
      "torch": run_torch(lambda p: T.AdamW(p, lr=0.01, weight_decay=1e-4))},
     {"torch": "AdamW(lr=0.01, weight_decay=1e-4): torch's default is 0.01"})
case("adamw torch default weight decay", {"kind": "adamw", "lr": 0.01, "weightDecay": 0.01},
     {"torch": run_torch(lambda p: T.AdamW(p, lr=0.01)),
      "optax": run_optax(optax.adamw(0.01, weight_decay=0.01))})
case("adamw warmup-cosine", {"kind": "adamw", "lr": TANGENT_SCHED, "weightDecay": 0.1},
     {"optax": run_optax(optax.adamw(sched, weight_decay=0.1)),
      "torch": run_torch(lambda p: T.AdamW(p, lr=0.0, weight_decay=0.1), sched_at)},
     {"torch": "param_groups' lr set to the schedule's value before each step"})
# AMSGrad: torch's (the maximum of the raw second moment, then the bias correction); optax.amsgrad takes the
# maximum of the bias-corrected moment, a different algorithm, so torch is the only reference
case("adam amsgrad", {"kind": "adam", "lr": 0.01, "amsgrad": True},
     {"torch": run_torch(lambda p: T.Adam(p, lr=0.01, amsgrad=True))})
case("adam amsgrad b1 b2 weight decay",
     {"kind": "adam", "lr": 0.02, "b1": 0.8, "b2": 0.95, "weightDecay": 0.1, "amsgrad": True},
     {"torch": run_torch(lambda p: T.Adam(p, lr=0.02, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True))})
case("adamw amsgrad", {"kind": "adamw", "lr": 0.01, "weightDecay": 0.1, "amsgrad": True},
     {"torch": run_torch(lambda p: T.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True))})
# SGD dampening: torch only (optax.sgd has none); the first step's buffer is the gradient itself
case("sgd momentum dampening 0.1", {"kind": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.1},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1, momentum=0.9, dampening=0.1))})
case("sgd momentum dampening 0.5 weight decay",
     {"kind": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weightDecay": 0.05},
     {"torch": run_torch(lambda p: T.SGD(p, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.05))})
# transformations (optax only)
case("chain clip scale", {"kind": "chain", "pieces": [["clipByGlobalNorm", 1.0], ["scaleByLearningRate", 0.1]]},
     {"optax": run_optax(optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_learning_rate(0.1)))})
case("chain decay clip scale schedule",
     {"kind": "chain", "pieces": [["addDecayedWeights", 0.05], ["clipByGlobalNorm", 2.0],
                                  ["scaleByLearningRate", TANGENT_SCHED]]},
     {"optax": run_optax(optax.chain(optax.add_decayed_weights(0.05), optax.clip_by_global_norm(2.0),
                                     optax.scale_by_learning_rate(sched)))})
case("chain clip adamw", {"kind": "chain", "pieces": [["clipByGlobalNorm", 1.0], ["adamw", 0.01, 0.1]]},
     {"optax": run_optax(optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(0.01, weight_decay=0.1)))})
# optax.masked passes the masked-out updates through (so b would move by +g); Tangent freezes them: the
# reference keeps b by masking the complement with set_to_zero (what Tangent's masked does)
MASK = {"a": True, "b": False}
NOT_MASK = {"a": False, "b": True}
case("masked adam", {"kind": "masked", "inner": ["adam", 0.01], "mask": MASK},
     {"optax": run_optax(optax.chain(optax.masked(optax.adam(0.01), MASK),
                                     optax.masked(optax.set_to_zero(), NOT_MASK)))},
     {"optax": "chain(masked(adam(0.01), mask), masked(set_to_zero(), not mask)): optax.masked alone passes b's "
               "gradient through as its update"})
case("masked scale", {"kind": "masked", "inner": ["scaleByLearningRate", 0.1], "mask": MASK},
     {"optax": run_optax(optax.chain(optax.masked(optax.scale_by_learning_rate(0.1), MASK),
                                     optax.masked(optax.set_to_zero(), NOT_MASK)))},
     {"optax": "chain(masked(scale_by_learning_rate(0.1), mask), masked(set_to_zero(), not mask))"})

# optax.masked's own behaviour on the masked-out leaf, one step, for the documented difference
tx = optax.masked(optax.scale_by_learning_rate(0.1), MASK)
g0 = {k: jnp.asarray(v) for k, v in GRADS[0].items()}
u, _ = tx.update(g0, tx.init({k: jnp.asarray(v) for k, v in PARAMS.items()}))
masked_passthrough = flat(u)

# clip_by_global_norm alone: norm 0, below, equal to and above max_norm
clip_cases = []
for max_norm, g in [(1.0, {"a": np.zeros((3, 4)), "b": np.zeros(5)}), (10.0, GRADS[0]), (1.0, GRADS[1]),
                    (0.5, GRADS[3]), (1.0, {"a": np.zeros((3, 4)), "b": np.array([0.6, 0.8, 0, 0, 0])})]:
    jg = {k: jnp.asarray(v) for k, v in g.items()}
    u, _ = optax.clip_by_global_norm(max_norm).update(jg, optax.EmptyState())
    clip_cases.append({"maxNorm": max_norm, "grads": flat(g), "updates": flat(u),
                       "norm": float(optax.tree.norm(jg))})
# torch.nn.utils.clip_grad_norm_ for the documented difference (scale max_norm / (norm + 1e-6))
t = [torch.tensor(GRADS[3]["a"]), torch.tensor(GRADS[3]["b"])]
for x in t:
    x.grad = x.clone()
torch.nn.utils.clip_grad_norm_(t, 0.5)
torch_clip = flat({"a": t[0].grad.numpy(), "b": t[1].grad.numpy()})

# schedules: optax's values at steps 0..decay_steps + 5
schedules = []
for o in [dict(init_value=0.0, peak_value=1e-3, warmup_steps=10, decay_steps=30, end_value=0.0),
          dict(init_value=1e-3, peak_value=0.05, warmup_steps=5, decay_steps=25, end_value=1e-3),
          dict(init_value=0.3, peak_value=1.0, warmup_steps=0, decay_steps=20, end_value=0.1),
          dict(init_value=0.0, peak_value=2.5, warmup_steps=7, decay_steps=8, end_value=0.25),
          dict(init_value=0.1, peak_value=0.7, warmup_steps=3, decay_steps=1000, end_value=0.0)]:
    s = optax.warmup_cosine_decay_schedule(**o)
    n = o["decay_steps"] + 5
    schedules.append({"options": {"initValue": o["init_value"], "peakValue": o["peak_value"],
                                  "warmupSteps": o["warmup_steps"], "decaySteps": o["decay_steps"],
                                  "endValue": o["end_value"]},
                      "values": [float(s(jnp.asarray(k, dtype=jnp.float64))) for k in range(n + 1)],
                      "valuesInt32Count": [float(s(jnp.asarray(k, dtype=jnp.int32))) for k in range(n + 1)]})
constant = [float(optax.constant_schedule(0.0123)(jnp.asarray(k, dtype=jnp.int32))) for k in range(10)]

# optax.amsgrad on the same problem, for the documented difference (maximum after the bias correction)
optax_amsgrad = run_optax(optax.amsgrad(0.01))

out = {
    "about": "made by tests/scripts/optim_reference.py (torch %s, jax %s, optax %s), float64"
             % (torch.__version__, jax.__version__, optax.__version__),
    "params": {"a": PARAMS["a"].tolist(), "b": PARAMS["b"].tolist()},
    "grads": [{"a": g["a"].tolist(), "b": g["b"].tolist()} for g in GRADS],
    "cases": cases,
    "clip": clip_cases,
    "torchClip": {"maxNorm": 0.5, "grads": flat(GRADS[3]), "updates": torch_clip},
    "maskedPassthrough": {"scale": 0.1, "updates": masked_passthrough},
    "schedules": schedules,
    "constant": {"value": 0.0123, "values": constant},
    "optaxAmsgrad": {"lr": 0.01, "iterates": optax_amsgrad},
}
path = "tests/data/optim_reference.json"
with open(path + ".tmp", "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
import os  # noqa: E402

os.replace(path + ".tmp", path)
for c in cases:
    print(f"{c['name']:40s} {c['references']} {c['referenceAgreement']}")
