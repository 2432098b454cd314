// deno-lint-ignore-file no-explicit-any
import "../mod.ts";
import assert from "node:assert/strict";
import { add, eye, key, ManifoldError, matmul, mul, norm, normal, scope, split, sub, type Tensor } from "../mod.ts";
import {
  adam,
  asPoint,
  landing,
  landingField,
  landingSafeStep,
  manifoldOf,
  type Optimizer,
  skew,
  sphere,
  stiefel,
} from "../manifolds/mod.ts";

const St = stiefel(8, 3);
const dist = (x: Tensor) => St.constraintViolation(x).item();

function offManifoldStart(dtype: "float32" | "float64", noise: number): Tensor {
  const [k1, k2] = split(key(21));
  return add(St.random(k1, { dtype }), mul(normal(k2, [8, 3], { dtype }), noise));
}

function symmetric(dtype: "float32" | "float64"): Tensor {
  const g = normal(key(22), [8, 8], { dtype });
  return mul(g.add(g.mT), 0.25);
}

/** Runs `steps` landing updates on −tr(XᵀAX); returns the violation every `every` steps. */
function trajectory(opt: Optimizer<any>, x0: Tensor, a: Tensor, steps: number, every: number): number[] {
  let x: any = asPoint(x0, St);
  let state = opt.init(x);
  const out = [dist(x)];
  for (let i = 1; i <= steps; i++) {
    [x, state] = scope(() => {
      const r = opt.update(mul(matmul(a, x), -2), state, x);
      return [r.params, r.state];
    });
    if (i % every === 0) out.push(dist(x));
  }
  assert.equal(manifoldOf(x), St); // iterates stay tagged
  return out;
}

Deno.test("the landing field is skew(GXᵀ)X + λX(XᵀX − I), computed without n×n matrices", () => {
  const x = offManifoldStart("float64", 0.3), g = normal(key(5), [8, 3], { dtype: "float64" });
  const direct = add(
    matmul(skew(matmul(g, x.mT)), x),
    mul(matmul(x, sub(matmul(x.mT, x), eye(3, { dtype: "float64" }))), 0.7),
  );
  assert.ok(norm(sub(landingField(x, g, 0.7), direct)).item() < 1e-12);
  // on the manifold it is half the canonical Riemannian gradient, a tangent vector
  const y = St.random(key(6), { dtype: "float64" });
  const half = mul(sub(g, matmul(y, matmul(g.mT, y))), 0.5);
  assert.ok(norm(sub(landingField(y, g), half)).item() < 1e-12);
  assert.ok(St.tangentViolation(y, landingField(y, g)).item() < 1e-12);
});

Deno.test("the safe step keeps ‖XᵀX − I‖ within ε, even with a huge learning rate", () => {
  for (let s = 0; s < 20; s++) {
    const [k1, k2] = split(key(100 + s));
    const x = offManifoldStart("float64", 0.05 * (s % 5));
    const g = mul(normal(k1, [8, 3], { dtype: "float64" }), 1 + s);
    const f = landingField(x, g, 1);
    const eta = landingSafeStep(x, f, { lambda: 1, eps: 0.5 });
    const d0 = dist(x);
    if (d0 > 0.5) continue;
    const y = sub(x, mul(f, eta));
    assert.ok(dist(y) <= 0.5 + 1e-9, `d = ${d0} → ${dist(y)} with η* = ${eta.item()}`);
    void k2;
  }
  // on the manifold η* = √(ε) / ‖Λ‖
  const y = St.random(key(7), { dtype: "float64" });
  const f = landingField(y, normal(key(8), [8, 3], { dtype: "float64" }));
  assert.ok(Math.abs(landingSafeStep(y, f).item() - Math.sqrt(0.5) / norm(f).item()) < 1e-9);
});

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`landing drives ‖XᵀX − I‖ toward 0 from an off-manifold start (${dtype})`, () => {
    const a = symmetric(dtype);
    const traj = trajectory(landing({ lr: 0.1, lambda: 1 }), offManifoldStart(dtype, 0.15), a, 400, 25);
    console.log(`landing, ${dtype}: ‖XᵀX − I‖_F every 25 steps:`, traj.map((d) => d.toExponential(1)).join(" → "));
    assert.ok(traj[0] > 0.2, `start ${traj[0]}`);
    for (let i = 1; i < traj.length; i++) assert.ok(traj[i] <= traj[i - 1] * 1.01 + 1e-6, `not decreasing at ${i}`);
    assert.ok(traj[traj.length - 1] < (dtype === "float64" ? 1e-8 : 1e-5), `final ${traj[traj.length - 1]}`);
  });
}

Deno.test("landing fed to Adam (PoLAR) also lands", () => {
  const a = symmetric("float64");
  const traj = trajectory(
    landing({ lambda: 1, base: adam({ lr: 0.01 }) }),
    offManifoldStart("float64", 0.15),
    a,
    400,
    50,
  );
  console.log("landing + Adam: ‖XᵀX − I‖_F every 50 steps:", traj.map((d) => d.toExponential(1)).join(" → "));
  assert.ok(traj[traj.length - 1] < traj[0] / 10, `final ${traj[traj.length - 1]}, start ${traj[0]}`);
});

Deno.test("landing treats plain leaves as Euclidean and rejects other manifolds", () => {
  const opt = landing({ lr: 0.5 });
  const w = normal(key(9), [2], { dtype: "float64" });
  const st = opt.init({ w });
  const r = opt.update({ w }, st, { w });
  assert.deepEqual(Array.from(r.params.w.dataSync()), Array.from(mul(w, 0.5).dataSync()));
  assert.throws(() => opt.init({ s: sphere(3).random(key(1)) }), ManifoldError);
  assert.throws(() => landing({}), ManifoldError);
});
