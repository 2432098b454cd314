// deno-lint-ignore-file no-explicit-any
// stiefel(n, p, { retraction: "exp" }): geoopt's EuclideanStiefelExact (retraction by the exponential)
// for a geoopt user switching over; its optimizer iterates are checked against geoopt's in
// tests/manifolds_geoopt_optim_test.ts ("stiefel_exact"). Here: the manifold laws, the mapping, and
// geoopt's drift off the manifold (its expmap has no correction; Tangent's ends with Newton–Schulz).
import "../mod.ts";
import assert from "node:assert/strict";
import { key, matmul, mul, reshape, split, type Tensor, tensor } from "../mod.ts";
import { checkManifoldLaws } from "../testing.ts";
import { riemannianSgd, stiefel } from "../manifolds/mod.ts";

const arr = (t: Tensor) => Array.from(t.dataSync() as Float64Array);

for (
  const m of [
    stiefel(6, 3, { retraction: "exp" }),
    stiefel(5, 2, { metric: "canonical", retraction: "exp" }),
    stiefel(4, 4, { metric: "canonical", retraction: "exp" }),
  ]
) {
  for (const dtype of ["float64", "float32"] as const) {
    Deno.test(`geoopt parity: manifold laws of ${m.name} ${dtype}`, async () => {
      await checkManifoldLaws(m, { dtype, numRuns: 8 });
    });
  }
}

Deno.test("geoopt parity: retraction 'exp' is the metric's exponential, named and validated", () => {
  for (const metric of ["euclidean", "canonical"] as const) {
    const St = stiefel(6, 3, { metric, retraction: "exp" });
    assert.equal(St.name, `stiefel(6, 3, ${metric}, exp)`);
    const [k1, k2] = split(key(5));
    const x = St.random(k1, { dtype: "float64" });
    const v = St.randomTangent(k2, x);
    const a = arr(St.retract(x, v)), b = arr(St.exp(x, v));
    const d = a.reduce((m, z, i) => Math.max(m, Math.abs(z - b[i])), 0);
    assert.ok(d < 1e-14, `${metric}: retract vs exp ${d}`);
  }
  assert.throws(() => stiefel(6, 3, { retraction: "exp", cayleyIterations: 2 }), /cayleyIterations needs/);
  assert.throws(() => stiefel(6, 3, { retraction: "expm" as any }), /"qr", "polar", "cayley" or "exp"/);
});

Deno.test("geoopt parity: geoopt's exact Stiefel drifts off the manifold, Tangent's 'exp' retraction does not", async () => {
  const REF = JSON.parse(await Deno.readTextFile(new URL("./data/geoopt_reference.json", import.meta.url)));
  const p = REF.problems.stiefel_exact;
  const St = stiefel(5, 3, { retraction: "exp" });
  const a = reshape(tensor(p.A, { dtype: "float64" }), [5, 5]);
  const n = reshape(tensor([3, 0, 0, 0, 2, 0, 0, 0, 1], { dtype: "float64" }), [3, 3]);
  const opt = riemannianSgd({ lr: REF.configs.sgd_nesterov.lr, momentum: 0.9, nesterov: true });
  let x: any = St.assertOn(reshape(tensor(p.x0, { dtype: "float64" }), [5, 3]));
  let state = opt.init(x);
  for (let i = 0; i < REF.meta.steps; i++) {
    ({ params: x, state } = opt.update(mul(matmul(matmul(a, x), n), 2), state, x));
  }
  const mine = St.constraintViolation(x).item();
  const runs: number[][] = REF.optim["stiefel_exact/sgd_nesterov_zero_buffer"];
  const theirs = St.constraintViolation(reshape(tensor(runs[runs.length - 1], { dtype: "float64" }), [5, 3])).item();
  // geoopt's grows ~1.3× a step (5e-14 after 20); Tangent's stays at rounding
  assert.ok(mine < 5e-15, `Tangent's violation after ${REF.meta.steps} steps: ${mine}`);
  assert.ok(theirs > 2e-14, `geoopt's violation after ${REF.meta.steps} steps: ${theirs}`);
});
