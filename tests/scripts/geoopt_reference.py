"""Writes tests/data/geoopt_reference.json: geoopt's float64 results on fixed inputs, for
tests/manifolds_geoopt_ops_test.ts and tests/manifolds_geoopt_optim_test.ts.

geoopt is a tool here, never a dependency: the tests read only the JSON. Inputs are fixed (written into
the JSON as well), so both sides compute on the same numbers.

What is stored:
- ops: projx, proju, egrad2rgrad, inner, component_inner, retr, transp, expmap of Sphere, EuclideanStiefel,
  CanonicalStiefel, EuclideanStiefelExact (square: the orthogonal group), Euclidean, a ProductManifold, and
  Sphere on the rows of a [k, n] tensor (Tangent's oblique(n, k), stored transposed to its layout).
- optim: 20 iterates of RiemannianSGD (plain, momentum, Nesterov, weight decay) and RiemannianAdam
  (amsgrad off, with and without weight decay; both also with stabilize = 5) on f(X) = tr(XᵀAXN) over a sphere, a Euclidean-metric
  (QR and exact) and a canonical-metric Stiefel manifold, two products and row-wise spheres (oblique). For every
  momentum run a second one whose momentum buffer starts at zero (torch.optim.SGD's first step), as "<name>_zero_buffer": geoopt's own
  first momentum step uses μ·(raw gradient) + (Riemannian gradient) (its buffer starts as a clone of
  the raw gradient, then is multiplied by μ and added to).
- stiefel.canonical.geodesic_ode: the canonical geodesic by RK4 on its ODE (torch), for Tangent's exp.
- grads: torch autograd of Σ W∘f(x, u) through those maps, with respect to u (or the ambient a).
- laws: moments of geoopt's random points (Sphere.random_uniform, Stiefel.random = random_naive).

Run from the repository root with geoopt importable (0.5.1; e.g. PYTHONPATH=<geoopt source tree>):
    python tests/scripts/geoopt_reference.py
"""
import json
import os
import tempfile

import geoopt
import torch

torch.set_default_dtype(torch.float64)
DT = torch.float64


def expm_taylor(a):
    """exp(a) by scaling to ‖a/2ˢ‖₁ ≤ ½, a degree-18 Taylor sum (remainder < 1e-22) and s squarings:
    differentiable, and accurate where torch 2.13's matrix_exp is not (see TORCH_EXPM_NOTE)."""
    n1 = torch.linalg.matrix_norm(a.detach(), 1).item()
    s = max(0, int(torch.ceil(torch.log2(torch.tensor(max(n1, 1e-300) / 0.5))).item()))
    b = a / (2 ** s)
    term = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a)
    out = term
    for k in range(1, 19):
        term = term @ b / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


# torch 2.13's CPU float64 matrix_exp is off by 5.8e-11 on the skew 3×3 XᵀV of one exact-Stiefel step
# here (1-norm 0.047; 3e-16 at 1.1× that matrix; against mpmath at 40 digits), which geoopt's expmap
# inherits (EuclideanStiefel.expmap calls geoopt.linalg.expm = torch.matrix_exp). The reference
# replaces it with expm_taylor, so the stored numbers are geoopt's formulas, accurately evaluated.
TORCH_EXPM_NOTE = "geoopt.linalg.expm replaced by a degree-18 Taylor with scaling and squaring"
geoopt.linalg.expm = expm_taylor


def t(a):
    return torch.tensor(a, dtype=DT)


def lst(x):
    return x.detach().reshape(-1).tolist()


def fixed(shape, seed):
    """A fixed matrix from a small formula (no RNG), so the inputs read the same anywhere."""
    n = 1
    for d in shape:
        n *= d
    vals = [((i * 7 + seed * 13) % 17 - 8) / 8.0 + 0.03 * ((i * i + seed) % 5) for i in range(n)]
    return t(vals).reshape(shape)


def qf(a):
    q, r = torch.linalg.qr(a)
    s = torch.sign(torch.diagonal(r)).add(0.5).sign()
    return q * s


inputs = {}
ops = {}


def put(name, val):
    ops[name] = lst(val) if isinstance(val, torch.Tensor) else val


# ---- sphere S^3 in R^4 --------------------------------------------------------------------------
S = geoopt.Sphere()
sa = fixed([4], 1)
sx = S.projx(sa)
su = S.proju(sx, fixed([4], 2)) * 0.4
sv = S.proju(sx, fixed([4], 3))
sg = fixed([4], 4)
inputs["sphere"] = {"a": lst(sa), "x": lst(sx), "u": lst(su), "v": lst(sv), "g": lst(sg)}
sy = S.retr(sx, su)
put("sphere.projx", S.projx(sa))
put("sphere.proju", S.proju(sx, sg))
put("sphere.egrad2rgrad", S.egrad2rgrad(sx, sg))
put("sphere.inner", S.inner(sx, su, sv).item())
put("sphere.retr", sy)
put("sphere.transp", S.transp(sx, sy, sv))
put("sphere.expmap", S.expmap(sx, su))
put("sphere.retr_transp.point", S.retr_transp(sx, su, sv)[0])
put("sphere.retr_transp.vector", S.retr_transp(sx, su, sv)[1])

# ---- Stiefel St(5, 3) ---------------------------------------------------------------------------
E = geoopt.EuclideanStiefel()
C = geoopt.CanonicalStiefel()
EX = geoopt.EuclideanStiefelExact()
ta = fixed([5, 3], 5)
tx = E.projx(ta)
tu = E.proju(tx, fixed([5, 3], 6)) * 0.3
tv = E.proju(tx, fixed([5, 3], 7))
tg = fixed([5, 3], 8)
inputs["stiefel"] = {"a": lst(ta), "x": lst(tx), "u": lst(tu), "v": lst(tv), "g": lst(tg)}
ey = E.retr(tx, tu)
put("stiefel.projx", E.projx(ta))
put("stiefel.euclidean.proju", E.proju(tx, tg))
put("stiefel.euclidean.egrad2rgrad", E.egrad2rgrad(tx, tg))
put("stiefel.euclidean.inner", E.inner(tx, tu, tv).item())
put("stiefel.euclidean.component_inner", E.component_inner(tx, tu))
put("stiefel.euclidean.retr", ey)
put("stiefel.euclidean.transp", E.transp(tx, ey, tv))
put("stiefel.euclidean.expmap", E.expmap(tx, tu))
put("stiefel.euclidean_exact.retr", EX.retr(tx, tu))
put("stiefel.canonical.proju", C.proju(tx, tg))
put("stiefel.canonical.proju_of_tangent", C.proju(tx, tv))
put("stiefel.canonical.egrad2rgrad", C.egrad2rgrad(tx, tg))
put("stiefel.canonical.inner", C.inner(tx, tu, tv).item())
cy, cv = C.retr_transp(tx, tu, tv)
put("stiefel.canonical.retr", C.retr(tx, tu))
put("stiefel.canonical.expmap", C.expmap(tx, tu))
put("stiefel.canonical.retr_transp.point", cy)
put("stiefel.canonical.retr_transp.vector", cv)
put("stiefel.canonical.transp_follow_retr", C.transp_follow_retr(tx, tu, tv))
put("stiefel.canonical.retr_at_pu", C.retr(tx, tu - 0.5 * tx @ (tx.T @ tu)))


def geodesic_ode(x, u, steps=4000):
    """The canonical-metric geodesic at t = 1 by RK4 on Edelman, Arias & Smith (1998) eq. 2.41,
    Y'' + Y'Y'ᵀY + Y((YᵀY')² + Y'ᵀY') = 0 (torch, not geoopt: geoopt's expmap is its Cayley map)."""
    def f(y, yd):
        a = y.T @ yd
        return yd, -(yd @ yd.T @ y) - y @ (a @ a + yd.T @ yd)
    h = 1.0 / steps
    y, yd = x.clone(), u.clone()
    for _ in range(steps):
        k1 = f(y, yd)
        k2 = f(y + h / 2 * k1[0], yd + h / 2 * k1[1])
        k3 = f(y + h / 2 * k2[0], yd + h / 2 * k2[1])
        k4 = f(y + h * k3[0], yd + h * k3[1])
        y = y + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        yd = yd + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return y


put("stiefel.canonical.geodesic_ode", geodesic_ode(tx, tu))

# ---- square Stiefel = O(4) ----------------------------------------------------------------------
oa = fixed([4, 4], 9)
ox = E.projx(oa)
ou = E.proju(ox, fixed([4, 4], 10)) * 0.3
ov = E.proju(ox, fixed([4, 4], 11))
og = fixed([4, 4], 12)
inputs["orthogonal"] = {"a": lst(oa), "x": lst(ox), "u": lst(ou), "v": lst(ov), "g": lst(og)}
oy = E.retr(ox, ou)
put("orthogonal.projx", E.projx(oa))
put("orthogonal.euclidean.proju", E.proju(ox, og))
put("orthogonal.euclidean.inner", E.inner(ox, ou, ov).item())
put("orthogonal.euclidean.retr", oy)
put("orthogonal.euclidean.transp", E.transp(ox, oy, ov))
put("orthogonal.euclidean.expmap", E.expmap(ox, ou))
put("orthogonal.canonical.inner", C.inner(ox, ou, ov).item())
put("orthogonal.canonical.retr", C.retr(ox, ou))
put("orthogonal.canonical.retr_half", C.retr(ox, ou * 0.5))

# ---- Euclidean R^{2x3} --------------------------------------------------------------------------
R = geoopt.Euclidean(ndim=2)
R0 = geoopt.Euclidean()
ex = fixed([2, 3], 13)
eu = fixed([2, 3], 14)
ev = fixed([2, 3], 15)
inputs["euclidean"] = {"x": lst(ex), "u": lst(eu), "v": lst(ev)}
put("euclidean.projx", R.projx(ex))
put("euclidean.proju", R.proju(ex, eu))
put("euclidean.egrad2rgrad", R.egrad2rgrad(ex, eu))
put("euclidean.inner", R.inner(ex, eu, ev).item())
put("euclidean.component_inner_ndim0", R0.component_inner(ex, eu))
put("euclidean.retr", R.retr(ex, eu))
put("euclidean.expmap", R.expmap(ex, eu))
put("euclidean.transp", R.transp(ex, R.retr(ex, eu), ev))

# ---- product S^3 x R^3 (Euclidean with ndim 0: elementwise components) ---------------------------
P = geoopt.ProductManifold((geoopt.Sphere(), 4), (geoopt.Euclidean(), 3))
pa = torch.cat([fixed([4], 16), fixed([3], 17)])
px = P.projx(pa)
pu = P.proju(px, torch.cat([fixed([4], 18), fixed([3], 19)])) * 0.3
pv = P.proju(px, torch.cat([fixed([4], 20), fixed([3], 21)]))
pg = torch.cat([fixed([4], 22), fixed([3], 23)])
inputs["product"] = {"a": lst(pa), "x": lst(px), "u": lst(pu), "v": lst(pv), "g": lst(pg)}
py = P.retr(px, pu)
put("product.projx", P.projx(pa))
put("product.proju", P.proju(px, pg))
put("product.egrad2rgrad", P.egrad2rgrad(px, pg))
put("product.inner", P.inner(px, pu, pv).item())
put("product.component_inner", P.component_inner(px, pu))
put("product.retr", py)
put("product.transp", P.transp(px, py, pv))
put("product.expmap", P.expmap(px, pu))

# ---- oblique OB(4, 3): geoopt's Sphere on the rows of a [3, 4] tensor = Tangent's oblique(4, 3) on
# the columns of its transpose; stored in Tangent's [4, 3] layout ---------------------------------
ba = fixed([4, 3], 24)
bx = S.projx(ba.T).T
bu = S.proju(bx.T, fixed([4, 3], 25).T).T * 0.4
bv = S.proju(bx.T, fixed([4, 3], 26).T).T
bg = fixed([4, 3], 27)
inputs["oblique"] = {"a": lst(ba), "x": lst(bx), "u": lst(bu), "v": lst(bv), "g": lst(bg)}
by = S.retr(bx.T, bu.T).T
put("oblique.projx", S.projx(ba.T).T)
put("oblique.proju", S.proju(bx.T, bg.T).T)
put("oblique.egrad2rgrad", S.egrad2rgrad(bx.T, bg.T).T)
put("oblique.inner", S.inner(bx.T, bu.T, bv.T).sum().item())
put("oblique.component_inner", S.component_inner(bx.T, bu.T).T)
put("oblique.retr", by)
put("oblique.transp", S.transp(bx.T, by.T, bv.T).T)
put("oblique.expmap", S.expmap(bx.T, bu.T).T)

# ---- gradients through the maps (torch autograd of geoopt's formulas): d/du Σ W∘f(x, u) ---------------
grads = {}


def vjp(name, f, arg, w):
    a = arg.clone().requires_grad_(True)
    (f(a) * w).sum().backward()
    grads[name] = lst(a.grad)


w4, w53, w44 = fixed([4], 40), fixed([5, 3], 41), fixed([4, 4], 42)
vjp("sphere.retr", lambda u: S.retr(sx, u), su, w4)
vjp("sphere.expmap", lambda u: S.expmap(sx, u), su, w4)
vjp("sphere.projx", lambda a: S.projx(a), sa, w4)
vjp("stiefel.projx", lambda a: E.projx(a), ta, w53)
# geoopt's retr flips the signs of Q in place, which autograd refuses: the same formula out of place
vjp("stiefel.euclidean.retr", lambda u: qf(tx + u), tu, w53)
# Tangent's Stiefel/O(n) exp projects v onto the tangent space first; geoopt's expmap does not
vjp("stiefel.euclidean.expmap_of_proju", lambda u: E.expmap(tx, E.proju(tx, u)), tu, w53)
vjp("stiefel.canonical.retr_at_pu", lambda u: C.retr(tx, u - 0.5 * tx @ (tx.T @ u)), tu, w53)
vjp("orthogonal.euclidean.expmap_of_proju", lambda u: E.expmap(ox, E.proju(ox, u)), ou, w44)
vjp("orthogonal.canonical.retr_half", lambda u: C.retr(ox, u * 0.5), ou, w44)
inputs["grad_weights"] = {"w4": lst(w4), "w53": lst(w53), "w44": lst(w44)}

# ---- optimizers ---------------------------------------------------------------------------------
# f(X) = tr(XᵀAXN) (A symmetric, N diagonal; for vectors N = 1): Euclidean gradient 2AXN.
problems = {}
a5 = fixed([5, 5], 30)
a5 = a5 + a5.T
a4 = fixed([4, 4], 31)
a4 = a4 + a4.T
a7 = fixed([7, 7], 32)
a7 = a7 + a7.T
problems["sphere"] = {"A": a4, "N": None, "x0": S.projx(fixed([4], 33)), "m": S}
problems["stiefel_euclidean"] = {"A": a5, "N": torch.diag(t([3.0, 2.0, 1.0])), "x0": tx, "m": E}
# geoopt's exact Stiefel drifts off the manifold (its expmap has no correction: ‖XᵀX − I‖ grows by ~1.3×
# a step, to 5e-14 in 20 steps here) where Tangent's "exp" retraction ends with a Newton–Schulz step
problems["stiefel_exact"] = {"A": a5, "N": torch.diag(t([3.0, 2.0, 1.0])), "x0": tx, "m": EX}
problems["stiefel_canonical"] = {"A": a5, "N": torch.diag(t([3.0, 2.0, 1.0])), "x0": tx, "m": C}
problems["product"] = {"A": a7, "N": None, "x0": px, "m": P}
P2 = geoopt.ProductManifold((geoopt.EuclideanStiefel(), (3, 2)), (geoopt.Sphere(), 3))
a9 = fixed([9, 9], 34)
a9 = a9 + a9.T
problems["product_stiefel"] = {"A": a9, "N": None, "x0": P2.projx(fixed([9], 35)), "m": P2}
# rows of the geoopt parameter are the columns of Tangent's oblique point
problems["oblique"] = {"A": a4, "N": torch.diag(t([3.0, 2.0, 1.0])), "x0": bx.T.contiguous(), "m": S,
                       "transposed": True}


def egrad(prob, x):
    a, nmat = prob["A"], prob["N"]
    if prob.get("transposed"):
        return (2 * a @ x.T @ nmat).T
    return 2 * a @ x if nmat is None else 2 * a @ x @ nmat


CONFIGS = {
    "sgd": ("sgd", {"lr": 0.05}),
    "sgd_momentum": ("sgd", {"lr": 0.05, "momentum": 0.9}),
    "sgd_nesterov": ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd_momentum_wd": ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    "adam": ("adam", {"lr": 0.05, "amsgrad": False}),
    "adam_wd": ("adam", {"lr": 0.05, "amsgrad": False, "weight_decay": 0.1}),
    "sgd_momentum_stabilize": ("sgd", {"lr": 0.05, "momentum": 0.9, "stabilize": 5}),
    "adam_stabilize": ("adam", {"lr": 0.05, "amsgrad": False, "stabilize": 5}),
}
STEPS = 20


def run(prob, kind, hyper, zero_buffer):
    p = geoopt.ManifoldParameter(prob["x0"].clone(), manifold=prob["m"])
    opt = geoopt.optim.RiemannianSGD([p], **hyper) if kind == "sgd" else geoopt.optim.RiemannianAdam([p], **hyper)
    if zero_buffer:
        opt.state[p]["momentum_buffer"] = torch.zeros_like(p)
    its = []
    for _ in range(STEPS):
        p.grad = egrad(prob, p.detach()).clone()
        opt.step()
        its.append(lst(p.T) if prob.get("transposed") else lst(p))
    return its


optim = {}
for pname, prob in problems.items():
    for cname, (kind, hyper) in CONFIGS.items():
        optim[f"{pname}/{cname}"] = run(prob, kind, hyper, False)
        if hyper.get("momentum", 0) > 0:
            optim[f"{pname}/{cname}_zero_buffer"] = run(prob, kind, hyper, True)

problem_json = {k: {"A": lst(v["A"]), "N": None if v["N"] is None else lst(torch.diagonal(v["N"])),
                    "x0": lst(v["x0"].T if v.get("transposed") else v["x0"])} for k, v in problems.items()}
config_json = {k: {"kind": kind, **hyper} for k, (kind, hyper) in CONFIGS.items()}

# ---- laws of random points ----------------------------------------------------------------------
torch.manual_seed(0)
K = 20000
sp = S.random_uniform(K, 4)
st = geoopt.Stiefel().random(K, 5, 3)
laws = {
    "samples": K,
    "sphere4.mean": lst(sp.mean(0)),
    "sphere4.second_moment_diag": lst((sp * sp).mean(0)),
    "stiefel53.mean": lst(st.mean(0)),
    "stiefel53.second_moment": lst((st * st).mean(0)),
}

out = {
    "meta": {"geoopt": geoopt.__version__, "torch": torch.__version__, "dtype": "float64", "steps": STEPS,
             "expm": TORCH_EXPM_NOTE},
    "inputs": inputs,
    "ops": ops,
    "grads": grads,
    "problems": problem_json,
    "configs": config_json,
    "optim": optim,
    "laws": laws,
}
path = os.path.join(os.path.dirname(__file__), "..", "data", "geoopt_reference.json")
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
with os.fdopen(fd, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
os.chmod(tmp, 0o644)
os.replace(tmp, path)
print("wrote", path, len(ops), "ops,", len(optim), "runs")
