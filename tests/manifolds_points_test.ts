// deno-lint-ignore-file no-explicit-any
import "../mod.ts";
import assert from "node:assert/strict";
import { grad, key, ManifoldError, mul, ShapeError, sum, type Tensor, tensor } from "../mod.ts";
import { type Sphere, sphere } from "../manifolds/sphere.ts";
import { oblique } from "../manifolds/oblique.ts";
import { asPoint, manifoldOf, type Point } from "../manifolds/point.ts";

Deno.test("points carry their manifold; plain tensors do not type-check as points", () => {
  const S = sphere(3);
  const x = S.random(key(0));
  assert.equal(x.manifold, S);
  const needsPoint = (p: Point<Sphere>) => p.manifold.n;
  needsPoint(x);
  const plain = tensor([1, 0, 0]);
  // @ts-expect-error a plain tensor is not a Point<Sphere> until projected or asserted
  assert.throws(() => needsPoint(plain));
  assert.equal(needsPoint(S.project(plain)), 3);
  assert.equal(needsPoint(S.assertOn(plain)), 3);
  // @ts-expect-error an oblique point is not a sphere point
  needsPoint(oblique(3, 1).random(key(1)));
  assert.equal(manifoldOf(plain), undefined);
});

Deno.test("assertOn reports an off-manifold tensor with its measured violation", () => {
  const S = sphere(2);
  const off = tensor([3, 4], { dtype: "float64" }); // ‖x‖² − 1 = 24
  assert.throws(() => S.assertOn(off), (e: Error) => e instanceof ManifoldError && /violation 24 /.test(e.message));
  assert.throws(() => S.assertOn(tensor([1, 0, 0])), ShapeError);
  const near = tensor([1 + 1e-9, 0], { dtype: "float64" });
  assert.equal(S.assertOn(near, 1e-6).manifold, S);
  assert.throws(() => S.assertOn(near, 1e-12), ManifoldError);
});

Deno.test("operations that need a point reject an untagged off-manifold tensor", async () => {
  const S = sphere(3), OB = oblique(3, 2);
  const off = tensor([1, 1, 1], { dtype: "float64" }) as unknown as Point<Sphere>;
  const v = tensor([0, 1, -1], { dtype: "float64" });
  assert.throws(() => S.retract(off, v), (e: Error) => e instanceof ManifoldError && /violation 2 /.test(e.message));
  assert.throws(() => S.toTangent(off, v), ManifoldError);
  assert.throws(
    () => OB.retract(tensor([[2, 0], [0, 1], [0, 0]]) as any, tensor([[0, 0], [0, 0], [0, 0]])),
    ManifoldError,
  );
  // an untagged tensor that is on the manifold is accepted
  const on = tensor([1, 0, 0], { dtype: "float64" }) as unknown as Point<Sphere>;
  assert.equal(S.retract(on, v).manifold, S);
  await assert.rejects(() => S.assertOnAsync(tensor([2, 0, 0])), ManifoldError);
});

Deno.test("a point keeps its tensor's gradient identity", () => {
  const S = sphere(3);
  const c = tensor([1, 2, 3], { dtype: "float64" });
  // d/dx ⟨c, R(x, 0)⟩ through the tag equals d/dx ⟨c, x/‖x‖⟩
  const f = (x: Tensor) => sum(mul(S.project(asPoint(x, S)), c));
  const g = grad(f)(tensor([1, 0, 0], { dtype: "float64" }));
  assert.deepEqual(Array.from(g.dataSync()), [0, 2, 3]);
});
