// 10,000 Riemannian Adam steps on stiefel(8, 3) in float32 keep ‖XᵀX − I‖_F under 1e-5.
import assert from "node:assert/strict";
import { riemannianAdam, stiefel } from "../manifolds/mod.ts";
import { longRun } from "./manifolds_helpers.ts";

for (
  const St of [
    stiefel(8, 3),
    stiefel(8, 3, { metric: "canonical", retraction: "cayley" }),
  ]
) {
  Deno.test(`10,000 Riemannian Adam steps on ${St.name} stay on the manifold in float32`, () => {
    const worst = longRun(St, riemannianAdam({ lr: 0.01 }), 10_000);
    console.log(`${St.name}: largest ‖XᵀX − I‖_F over 10,000 float32 steps: ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-5, `constraint violation reached ${worst}`);
  });
}
