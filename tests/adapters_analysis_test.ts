import assert from "node:assert/strict";
import { key, matmul, normal, split, tensor } from "../mod.ts";
import { svdvals } from "../core/linalg/mod.ts";
import {
  conditionNumber,
  lokh,
  type LokhParams,
  lora,
  orthogonalityError,
  spectralDrift,
  stableRank,
} from "../adapters/mod.ts";
import { stiefel } from "../manifolds/mod.ts";

const f64 = { dtype: "float64" as const };
const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

Deno.test("stableRank, conditionNumber, orthogonalityError on known matrices", () => {
  const m = tensor([[3, 0], [0, 4], [0, 0]], f64);
  close(stableRank(m).item(), 25 / 16);
  close(conditionNumber(m).item(), 4 / 3);
  const Q = stiefel(6, 3).random(key(0), f64);
  assert.ok(orthogonalityError(Q).item() < 1e-13 && orthogonalityError(Q.mT).item() < 1e-13);
  close(orthogonalityError(tensor([[2, 0], [0, 1]], f64)).item(), 3);
  // a rank-1 update has stable rank 1
  close(stableRank(matmul(normal(key(1), [5, 1], f64), normal(key(2), [1, 4], f64))).item(), 1, 1e-10);
});

Deno.test("spectralDrift: ΔΣ and ΔD of SORSA", () => {
  const w = normal(key(3), [7, 5], f64);
  const s = Array.from(svdvals(w).dataSync());
  const scaled = spectralDrift(w, w.mul(1.5));
  close(scaled.deltaSigma.item(), s.reduce((a, b) => a + b, 0) * 0.5 / s.length);
  assert.ok(Math.abs(scaled.deltaD.item()) < 1e-12);
  // a rotation of the output space keeps σ and moves U: ΔΣ = 0, ΔD > 0
  const rotated = spectralDrift(w, matmul(stiefel(7, 7).random(key(4), f64), w));
  assert.ok(rotated.deltaSigma.item() < 1e-12 && rotated.deltaD.item() > 0.05);
  close(spectralDrift(w, w.mul(-1)).deltaD.item(), 0); // signs cancel
});

Deno.test("rank of ΔW: LoRA ≤ r, LoKH reaches r² (LoHa's ceiling)", () => {
  const W = normal(key(5), [12, 10], f64);
  const rank = (d: ReturnType<typeof matmul>) => {
    const s = svdvals(d).dataSync();
    return s.filter((v) => v > 1e-10 * s[0]).length;
  };
  const ks = split(key(6), 4);
  const lk = lokh({ r: 2 });
  const { frozen } = lk.init(key(0), { weight: W });
  const p: LokhParams = {
    B1: normal(ks[0], [3, 2], f64),
    A1: normal(ks[1], [2, 10], f64),
    B2: normal(ks[2], [4, 2], f64),
    A2: normal(ks[3], [2, 10], f64),
  };
  assert.equal(rank(lk.merge(p, frozen).sub(W)), 4);
  const lr = lora({ r: 2 });
  const s = lr.init(key(0), { weight: W });
  const q = { A: s.params.A, B: normal(ks[0], [12, 2], f64) };
  assert.equal(rank(lr.merge(q, s.frozen).sub(W)), 2);
});
