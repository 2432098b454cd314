import assert from "node:assert/strict";
import { add, diag, eye, grad, key, matmul, mul, normal, split, sum, type Tensor } from "../mod.ts";
import { norm } from "../mod.ts";
import {
  orthogonalityError,
  polar,
  type PolarParams,
  sorsa,
  type SorsaParams,
  spectralDrift,
} from "../adapters/mod.ts";
import { adam, landing, type Optimizer, riemannianAdam, sgd } from "../manifolds/mod.ts";
import { relErr } from "./adapters_helpers.ts";

const f64 = { dtype: "float64" as const };

Deno.test("sorsa: SVD split, residual, forward, toPeft names", () => {
  const [kw, kx] = split(key(1));
  const W = normal(kw, [8, 6], f64), x = normal(kx, [4, 6], f64);
  const ad = sorsa({ r: 3, gamma: 4e-4, peakLr: 1e-4 });
  const { params, frozen } = ad.init(key(0), { weight: W });
  assert.ok(orthogonalityError(params.U).item() < 1e-13 && orthogonalityError(params.V).item() < 1e-13);
  // W = W_res + U diag(S) Vᵀ and the adapted layer starts at the base layer
  assert.ok(relErr(add(frozen.weight, matmul(mul(params.U, params.S), params.V.mT)), W) < 1e-14);
  assert.ok(relErr(ad.apply(params, frozen, x), matmul(x, W.mT)) < 1e-14);
  const names = ad.toPeft(params, { prefix: "m.proj" });
  assert.deepEqual(Object.keys(names).sort(), ["m.proj.sorsa_A.weight", "m.proj.sorsa_B.weight", "m.proj.sorsa_S"]);
  assert.deepEqual(names["m.proj.sorsa_A.weight"].shape, [3, 6]);
  assert.equal(ad.trainableCount(params), 3 * (8 + 6 + 1));
  assert.ok(spectralDrift(W, ad.merge(params, frozen)).deltaD.item() < 1e-12);
});

Deno.test("sorsa: SGD on L_train + regularizer is the paper's update θ − η(∇L_train + (γ/η_d)∇L_reg)", () => {
  const [kw, kx, kg, kp] = split(key(2), 4);
  const W = normal(kw, [7, 5], f64), x = normal(kx, [3, 5], f64), G = normal(kg, [3, 7], f64);
  const gamma = 0.3, peak = 0.1, eta = 0.05;
  const ad = sorsa({ r: 2, gamma, peakLr: peak });
  const init = ad.init(key(0), { weight: W });
  const frozen = init.frozen;
  // move away from the Stiefel manifold so the regulariser acts
  const [k1, k2, k3] = split(kp, 3);
  const p: SorsaParams = {
    U: add(init.params.U, mul(normal(k1, [7, 2], f64), 0.1)),
    S: add(init.params.S, mul(normal(k2, [2], f64), 0.1)),
    V: add(init.params.V, mul(normal(k3, [5, 2], f64), 0.1)),
  };
  const loss = (q: SorsaParams) => add(sum(mul(ad.apply(q, frozen, x), G)), ad.regularizer(q));
  const opt = sgd({ lr: eta });
  const { params: next } = opt.update(grad(loss)(p), opt.init(p), p);
  // dense: ∂L_train/∂ΔW = Gᵀx; ∇_U‖UᵀU − I‖_F = 2U M/‖M‖_F, M = UᵀU − I
  const D = matmul(G.mT, x);
  const regGrad = (M0: Tensor) => {
    const M = matmul(M0.mT, M0).sub(eye(2, f64));
    return mul(matmul(M0, M), 2 / norm(M).item());
  };
  const dU = add(matmul(matmul(D, p.V), diag(p.S)), mul(regGrad(p.U), gamma / peak));
  const dV = add(matmul(matmul(D.mT, p.U), diag(p.S)), mul(regGrad(p.V), gamma / peak));
  const dS = sum(mul(matmul(p.U.mT, matmul(D, p.V)), eye(2, f64)), { axis: 1 });
  assert.ok(relErr(next.U, p.U.sub(mul(dU, eta))) < 1e-13);
  assert.ok(relErr(next.V, p.V.sub(mul(dV, eta))) < 1e-13);
  assert.ok(relErr(next.S, p.S.sub(mul(dS, eta))) < 1e-13);
});

Deno.test("polar: ΔW = (α/r) X Θ Yᵀ densely, PoLAR's tensor names, Θ parameterisations", () => {
  const [kw, kt, kx] = split(key(3), 3);
  const W = normal(kw, [9, 7], f64), x = normal(kx, [4, 7], f64);
  for (const theta of ["full", "diagonal", "identity"] as const) {
    const ad = polar({ r: 3, alpha: 6, theta });
    const { params: p0, frozen } = ad.init(key(0), { weight: W });
    assert.ok(orthogonalityError(p0.X).item() < 1e-13 && orthogonalityError(p0.Y).item() < 1e-13);
    const Theta = theta === "full" ? normal(kt, [3, 3], f64) : theta === "diagonal" ? normal(kt, [3], f64) : undefined;
    const p: PolarParams = Theta ? { ...p0, Theta } : p0;
    const T = theta === "full" ? Theta! : theta === "diagonal" ? diag(Theta!) : eye(3, f64);
    const dense = add(W, mul(matmul(matmul(p.X, T), p.Y.mT), 2));
    assert.ok(relErr(ad.merge(p, frozen), dense) < 1e-14);
    assert.ok(relErr(ad.apply(p, frozen, x), matmul(x, dense.mT)) < 1e-13);
    const names = ad.toPeft(p);
    assert.deepEqual(names["lora_A.weight"].shape, [3, 7]);
    assert.deepEqual(names["lora_B.weight"].shape, [9, 3]);
    if (Theta) assert.ok(relErr(names["lora_S.weight"], T) === 0);
    assert.equal(ad.trainableCount(p), 3 * 16 + (theta === "full" ? 9 : theta === "diagonal" ? 3 : 0));
  }
});

Deno.test("polar: training with landing + Adam (PoLAR's recipe) and with Riemannian Adam", () => {
  const [kw, ka, kb, kx] = split(key(4), 4);
  const W = normal(kw, [10, 8], f64), x = normal(kx, [32, 8], f64);
  const target = matmul(normal(ka, [10, 2], f64), normal(kb, [2, 8], f64)); // a rank-2 update to learn
  const ad = polar({ r: 2, alpha: 2 });
  const { params, frozen } = ad.init(key(0), { weight: W });
  const loss = (p: PolarParams) => {
    const d = ad.apply(p, frozen, x).sub(matmul(x, add(W, target).mT));
    // normalised to O(1) at the start: under Adam, the landing's distance to the manifold grows
    // with the gradient's scale relative to λ (Adam divides the attraction by the gradient's size)
    return mul(sum(mul(d, d)), 1 / (32 * 156));
  };
  const runs: [Optimizer<unknown>, number][] = [
    [landing({ lambda: 1, base: adam({ lr: 0.03 }) }), 0.01],
    [riemannianAdam({ lr: 0.1 }), 1e-12],
  ];
  for (const [opt, tol] of runs) {
    let p = params, state = opt.init(p);
    const l0 = loss(p).item();
    for (let i = 0; i < 150; i++) ({ params: p, state } = opt.update(grad(loss)(p), state, p));
    assert.ok(loss(p).item() < 0.5 * l0, `loss ${l0} → ${loss(p).item()}`);
    const ex = orthogonalityError(p.X).item(), ey = orthogonalityError(p.Y).item();
    assert.ok(ex < tol && ey < tol, `‖XᵀX − I‖ = ${ex}, ‖YᵀY − I‖ = ${ey}`);
  }
});
