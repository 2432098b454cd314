// Manifold operations are built from differentiable ops: gradients through retractions, exp maps,
// projections and the landing field match central differences.
import "../mod.ts";
import assert from "node:assert/strict";
import { checkGrad, key, mul, normal, split, sum, type Tensor } from "../mod.ts";
import {
  asPoint,
  grassmann,
  landingField,
  type Manifold,
  orthogonal,
  type Point,
  sphere,
  stiefel,
} from "../manifolds/mod.ts";

const cases: Manifold[] = [
  stiefel(5, 2, { retraction: "qr" }),
  stiefel(5, 2, { retraction: "polar" }),
  stiefel(3, 3, { retraction: "polar" }), // X + V has repeated singular values: the polar factor's own VJP
  stiefel(5, 2, { metric: "canonical", retraction: "cayley" }),
  stiefel(5, 2, { retraction: "cayley", cayleyIterations: 2 }),
  orthogonal(3, { retraction: "cayley" }),
  orthogonal(3, { retraction: "exp" }),
  orthogonal(3, { special: true }),
  grassmann(5, 2),
  sphere(4),
];

for (const M of cases) {
  Deno.test(`gradients through ${M.name}: retract, exp and project`, () => {
    const [k1, k2, k3] = split(key(31), 3);
    const x = M.random(k1, { dtype: "float64" });
    const v = mul(M.randomTangent(k2, x), 0.3);
    const c = normal(k3, M.shape, { dtype: "float64" });
    const at = (t: Tensor) => asPoint(t, M) as Point<Manifold>; // finite differences step off the manifold
    const opts = { rtol: 1e-5, atol: 1e-7 };
    assert.ok(checkGrad((x, v) => sum(mul(M.retract(at(x), v), c)), [x, v], opts) <= 1);
    if (M.exp) assert.ok(checkGrad((x, v) => sum(mul(M.exp!(at(x), v), c)), [x, v], opts) <= 1);
    assert.ok(checkGrad((a) => sum(mul(M.project(a), c)), [x.add(v)], opts) <= 1);
    assert.ok(checkGrad((x, v) => M.inner(at(x), v, M.egradToRgrad(at(x), c)), [x, v], opts) <= 1);
  });
}

Deno.test("gradients through the landing field", () => {
  const [k1, k2, k3] = split(key(32), 3);
  const x = normal(k1, [6, 2], { dtype: "float64" });
  const g = normal(k2, [6, 2], { dtype: "float64" }), c = normal(k3, [6, 2], { dtype: "float64" });
  assert.ok(checkGrad((x, g) => sum(mul(landingField(x, g, 0.7), c)), [x, g]) <= 1);
});
