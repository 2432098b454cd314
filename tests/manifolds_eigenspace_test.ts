// deno-lint-ignore-file no-explicit-any
import "../mod.ts";
import assert from "node:assert/strict";
import { key, matmul, mul, norm, normal, scope, slice, split, sub, type Tensor, tensor } from "../mod.ts";
import { eigh, qr } from "../core/linalg/mod.ts";
import {
  type Optimizer,
  riemannianAdam,
  riemannianSgd,
  type Stiefel,
  stiefel,
  warmupCosineSchedule,
} from "../manifolds/mod.ts";

// A = Q diag(λ) Qᵀ, Q a random orthogonal matrix, with a gap after the top 3 eigenvalues
const problem = (n: number): Tensor => {
  const q = qr(normal(key(11), [n, n], { dtype: "float64" })).Q;
  const lam = tensor([5, 4, 3, 1, 0.8, 0.6, 0.4, 0.2, 0, -0.5], { dtype: "float64" });
  return matmul(mul(q, lam), q.mT);
};

/** ‖XXᵀ − VVᵀ‖_F: distance between span(X) and the top-p eigenspace V of A (eigenvalues ascending). */
function subspaceError(x: Tensor, a: Tensor, p: number): number {
  const n = a.shape[0];
  const v = slice(eigh(a).eigenvectors, [null, [n - p, n]]);
  return norm(sub(matmul(x, x.mT), matmul(v, v.mT))).item();
}

function maximise(St: Stiefel, opt: Optimizer<any>, a: Tensor, steps: number): Tensor {
  let x: any = St.random(split(key(5))[0], { dtype: "float64" });
  let state = opt.init(x);
  for (let i = 0; i < steps; i++) {
    [x, state] = scope(() => {
      const g = mul(matmul(a, x), -2); // ∇(−tr(XᵀAX))
      const r = opt.update(g, state, x);
      return [r.params, r.state];
    });
  }
  return x;
}

const n = 10, p = 3;
const A = problem(n);
for (
  const St of [
    stiefel(n, p, { metric: "euclidean", retraction: "qr" }),
    stiefel(n, p, { metric: "canonical", retraction: "cayley" }),
  ]
) {
  Deno.test(`Riemannian SGD on ${St.name} finds the top-${p} eigenspace of A (eigh)`, () => {
    const x = maximise(St, riemannianSgd({ lr: 0.05, momentum: 0.5 }), A, 300);
    const err = subspaceError(x, A, p);
    assert.ok(err < 1e-10, `subspace error ${err}`);
    assert.ok(St.constraintViolation(x).item() < 1e-12);
  });
  Deno.test(`Riemannian Adam on ${St.name} finds the top-${p} eigenspace of A (eigh)`, () => {
    const lr = warmupCosineSchedule({ peakValue: 0.05, warmupSteps: 10, decaySteps: 400 });
    const x = maximise(St, riemannianAdam({ lr }), A, 400);
    const err = subspaceError(x, A, p);
    assert.ok(err < 1e-5, `subspace error ${err}`);
    assert.ok(St.constraintViolation(x).item() < 1e-12);
  });
}
