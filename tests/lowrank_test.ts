import assert from "node:assert/strict";
import {
  checkGrad,
  greater,
  key,
  linalg,
  lowrank,
  matmul,
  mul,
  normal,
  ShapeError,
  split,
  sum,
  type Tensor,
  tensor,
  uniform,
  where,
} from "../mod.ts";

const f64 = { dtype: "float64" as const };
const ROUNDING = 1e-13; // "float64 rounding": a few hundred ulps of a relative error
const randn = (seed: number, shape: number[]) => normal(key(seed), shape, f64);
const svdvalsOf = (t: Tensor) => Array.from(linalg.svdvals(t).dataSync());
const planted = (seed: number, m: number, n: number, k: number) => matmul(randn(seed, [m, k]), randn(seed + 1, [k, n]));

/** Non-increasing up to rounding. */
function assertNonIncreasing(errors: readonly number[], what: string) {
  for (let i = 1; i < errors.length; i++) {
    assert.ok(
      errors[i] <= errors[i - 1] * (1 + 1e-9) + 1e-15,
      `${what}: sweep ${i + 1} rose ${errors[i - 1]} → ${errors[i]}`,
    );
  }
}

Deno.test("als: a planted rank-k matrix is recovered to rounding in one sweep", () => {
  for (const [m, n, k] of [[30, 20, 3], [12, 40, 5], [25, 25, 1]]) {
    const W = planted(m + n, m, n, k);
    const { C, R, errors } = lowrank.als(W, { rank: k, sweeps: 3 });
    assert.deepEqual([C.shape, R.shape], [[m, k], [k, n]]);
    assert.ok(errors.every((e) => e < ROUNDING), `${m}×${n} rank ${k}: ${errors}`);
    assert.ok(lowrank.relativeError(matmul(C, R), W).item() < ROUNDING);
  }
  // rank too small: not exact
  assert.ok(lowrank.als(planted(1, 20, 20, 4), { rank: 3, sweeps: 5 }).errors.at(-1)! > 1e-3);
});

Deno.test("als: with noise it converges to the truncated SVD's error, never increasing", () => {
  const W = planted(3, 40, 30, 4).add(randn(9, [40, 30]).mul(0.05));
  const s = svdvalsOf(W);
  const optimum = Math.sqrt(s.slice(4).reduce((a, b) => a + b * b, 0) / s.reduce((a, b) => a + b * b, 0));
  const { errors } = lowrank.als(W, { rank: 4, sweeps: 30 });
  assertNonIncreasing(errors, "als");
  assert.ok(Math.abs(errors.at(-1)! - optimum) < 1e-10 * optimum, `${errors.at(-1)} vs Eckart–Young ${optimum}`);
});

Deno.test("als: the ridge objective never increases; ridge biases the fit", () => {
  const W = planted(5, 20, 15, 3);
  const lam = 0.5;
  const objective: number[] = [];
  lowrank.als(W, {
    rank: 3,
    lambda: lam,
    sweeps: 15,
    onSweep: (_s, _e, { C, R }) => {
      const fit = sum(mul(matmul(C, R).sub(W), matmul(C, R).sub(W))).item();
      objective.push(fit + lam * (sum(mul(C, C)).item() + sum(mul(R, R)).item()));
    },
  });
  assert.equal(objective.length, 15);
  assertNonIncreasing(objective, "ridge objective");
  const biased = lowrank.als(W, { rank: 3, lambdaC: lam, lambdaR: lam, sweeps: 15 }).errors.at(-1)!;
  assert.ok(biased > 1e-4 && biased < 0.1, `${biased}`);
});

Deno.test("alsMasked: completes a planted matrix from half its entries (tolerance 1e-10)", () => {
  const [m, n, k] = [40, 36, 3];
  const W = planted(11, m, n, k);
  const mask = greater(uniform(key(12), [m, n], f64), 0.5);
  // unobserved entries are never read: poison them
  const poisoned = where(mask, W, NaN);
  const heldOut: number[] = [];
  const { C, R, errors } = lowrank.alsMasked(poisoned, mask, {
    rank: k,
    sweeps: 120,
    onSweep: (_s, _e, f) => heldOut.push(lowrank.relativeError(matmul(f.C, f.R), W).item()),
  });
  assertNonIncreasing(errors, "alsMasked");
  assert.ok(errors.at(-1)! < 1e-10, `observed ${errors.at(-1)}`);
  assert.ok(lowrank.relativeError(matmul(C, R), W).item() < 1e-10, `whole matrix ${heldOut.at(-1)}`);
  assert.ok(heldOut[4] > 1e-6, "it does take sweeps");
  // an all-true mask is plain ALS
  const all = lowrank.alsMasked(W, greater(W.mul(0), -1), { rank: k, sweeps: 2 });
  assert.ok(all.errors[0] < ROUNDING);
});

Deno.test("hadamardAls: recovers (C₁R₁)∘(C₂R₂) (tolerance 1e-10) with restarts; runs never increase", () => {
  const [a, b, c, d] = split(key(21), 4);
  const W = lowrank.hadamardProduct(
    normal(a, [32, 2], f64),
    normal(b, [2, 28], f64),
    normal(c, [32, 2], f64),
    normal(d, [2, 28], f64),
  );
  const fit = lowrank.hadamardAls(W, { ranks: [2, 2], sweeps: 150, restarts: 8, probeSweeps: 20, key: key(3) });
  assert.equal(fit.restartErrors.length, 8);
  assertNonIncreasing(fit.errors, "hadamardAls");
  assert.ok(fit.errors.at(-1)! < 1e-10, `best start ${fit.errors.at(-1)}; starts ${fit.restartErrors}`);
  const back = lowrank.hadamardProduct(fit.C1, fit.R1, fit.C2, fit.R2);
  assert.ok(lowrank.relativeError(back, W).item() < 1e-10);
  // rank one ∘ rank one is rank one: one start suffices
  const one = lowrank.hadamardProduct(randn(1, [9, 1]), randn(2, [1, 7]), randn(3, [9, 1]), randn(4, [1, 7]));
  assert.ok(lowrank.hadamardAls(one, { ranks: [1, 1], sweeps: 30 }).errors.at(-1)! < ROUNDING);
});

Deno.test("rearrange: ℛ(A ⊗ B) = vec(A) vec(B)ᵀ exactly", () => {
  const A = randn(1, [3, 4]), B = randn(2, [2, 5]);
  const R = lowrank.rearrange(lowrank.kron(A, B), [3, 4], [2, 5]);
  const outer = matmul(A.reshape([12, 1]), B.reshape([1, 10]));
  assert.deepEqual(Array.from(R.dataSync()), Array.from(outer.dataSync()));
  assert.throws(() => lowrank.rearrange(randn(0, [6, 20]), [3, 4], [2, 4]), ShapeError);
});

Deno.test("nearestKronecker: exact for A ⊗ B; the Eckart–Young optimum otherwise", () => {
  for (const [a, b] of [[[3, 4], [5, 2]], [[6, 8], [8, 5]], [[1, 7], [4, 1]]] as [number, number][][]) {
    const W = lowrank.kron(randn(a[0], a as number[]), randn(b[0] + 50, b as number[]));
    const { A, B } = lowrank.nearestKronecker(W, a as [number, number], b as [number, number]);
    assert.deepEqual([A.shape, B.shape], [a, b]);
    assert.ok(lowrank.relativeError(lowrank.kron(A, B), W).item() < ROUNDING);
  }
  // noisy: the error is that of the best rank-one approximation of ℛ(W), and moving A only hurts
  const W = lowrank.kron(randn(1, [4, 3]), randn(2, [5, 6])).add(randn(3, [20, 18]).mul(0.1));
  const { A, B } = lowrank.nearestKronecker(W, [4, 3], [5, 6]);
  const s = svdvalsOf(lowrank.rearrange(W, [4, 3], [5, 6]));
  const bound = Math.sqrt(s.slice(1).reduce((p, q) => p + q * q, 0) / s.reduce((p, q) => p + q * q, 0));
  const err = lowrank.relativeError(lowrank.kron(A, B), W).item();
  assert.ok(Math.abs(err - bound) < 1e-12, `${err} vs ${bound}`);
  for (let i = 0; i < 5; i++) {
    const moved = lowrank.relativeError(lowrank.kron(A.add(randn(10 + i, [4, 3]).mul(1e-3)), B), W).item();
    assert.ok(moved > err);
  }
  // sums of Kronecker products
  const W2 = lowrank.kron(randn(4, [2, 3]), randn(5, [4, 4])).add(lowrank.kron(randn(6, [2, 3]), randn(7, [4, 4])));
  const two = lowrank.kroneckerDecomposition(W2, { a: [2, 3], b: [4, 4], rank: 2 });
  const parts = [0, 1].map((k) => lowrank.kron(pick(two.A, k), pick(two.B, k)));
  assert.ok(lowrank.relativeError(parts[0].add(parts[1]), W2).item() < ROUNDING);
  assert.ok(lowrank.relativeError(lowrank.kron(pick(two.A, 0), pick(two.B, 0)), W2).item() > 1e-3);
});

function pick(t: Tensor, k: number): Tensor {
  const [, p, q] = t.shape;
  return tensor(Array.from(t.dataSync()).slice(k * p * q, (k + 1) * p * q), { shape: [p, q], dtype: "float64" });
}

Deno.test("khatriRaoDecomposition: exact for P ⊙ Q; each column its best rank-one fit otherwise", () => {
  const P = randn(1, [4, 6]), Q = randn(2, [3, 6]);
  const W = lowrank.khatriRao(P, Q);
  const fit = lowrank.khatriRaoDecomposition(W, [4, 3]);
  assert.deepEqual([fit.P.shape, fit.Q.shape], [[4, 6], [3, 6]]);
  assert.ok(lowrank.relativeError(lowrank.khatriRao(fit.P, fit.Q), W).item() < ROUNDING);
  const noisy = W.add(randn(3, [12, 6]).mul(0.1));
  const nf = lowrank.khatriRaoDecomposition(noisy, [4, 3]);
  const resid = Array.from(lowrank.khatriRao(nf.P, nf.Q).sub(noisy).dataSync());
  const cols = Array.from(noisy.dataSync());
  for (let j = 0; j < 6; j++) {
    const col = Array.from({ length: 12 }, (_, i) => cols[i * 6 + j]);
    const s = svdvalsOf(tensor(col, { shape: [4, 3], dtype: "float64" }));
    const best = s.slice(1).reduce((p, q) => p + q * q, 0);
    const got = Array.from({ length: 12 }, (_, i) => resid[i * 6 + j] ** 2).reduce((p, q) => p + q, 0);
    assert.ok(Math.abs(got - best) < 1e-12, `column ${j}: ${got} vs ${best}`);
  }
  assert.throws(() => lowrank.khatriRaoDecomposition(W, [5, 3]), ShapeError);
});

Deno.test("lowrank: gradients through als, nearestKronecker and khatriRaoDecomposition match finite differences", () => {
  const W = randn(1, [6, 5]);
  const viaAls = (w: Tensor) => {
    const { C, R } = lowrank.als(w, { rank: 2, sweeps: 3, lambda: 0.1, key: key(4) });
    return sum(mul(matmul(C, R), randn(2, [6, 5])));
  };
  assert.ok(checkGrad(viaAls, [W]) <= 1);
  const viaKron = (w: Tensor) => {
    const { A, B } = lowrank.nearestKronecker(w, [2, 5], [3, 1]);
    return sum(mul(lowrank.kron(A, B), randn(3, [6, 5])));
  };
  assert.ok(checkGrad(viaKron, [W]) <= 1);
  const viaKr = (w: Tensor) => {
    const { P, Q } = lowrank.khatriRaoDecomposition(w, [3, 2]);
    return sum(mul(lowrank.khatriRao(P, Q), randn(4, [6, 5])));
  };
  assert.ok(checkGrad(viaKr, [W]) <= 1);
});

Deno.test("lowrank: bad ranks, shapes and options are typed errors naming the fix", () => {
  const W = randn(0, [5, 4]);
  assert.throws(() => lowrank.als(W, { rank: 5 }), /rank 5 exceeds min\(m, n\) = 4/);
  assert.throws(() => lowrank.als(W, { rank: 2, sweeps: 0 }), /sweeps must be a positive integer/);
  assert.throws(() => lowrank.als(W, { rank: 2, lambda: -1 }), /lambdaC must be/);
  assert.throws(
    () => lowrank.alsMasked(W, greater(randn(1, [4, 5]), 0), { rank: 2 }),
    /mask \[4, 5\] must have W's shape/,
  );
  assert.throws(() => lowrank.nearestKronecker(W, [2, 2], [2, 2]), /choose m₁m₂ = 5/);
});
