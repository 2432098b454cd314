/**
 * einsum's contraction order (core/ops/einsum.ts): the pair with the smallest result first, so a
 * chain never forms more than it needs. Read from the products a jitted einsum replays.
 */
import assert from "node:assert/strict";
import { einsum, jit, jitInfo, key, matmul, normal, split, type Tensor } from "../mod.ts";

/** The output shapes of the matmuls a jitted einsum runs, in order. */
function products(spec: string, ...xs: Tensor[]): number[][] {
  const f = jit((...a: Tensor[]) => einsum(spec, ...a));
  f(...xs);
  const [info] = jitInfo(f);
  assert.equal(info.mode, "graph");
  return info.steps.filter((s) => s.primitive === "matmul").map((s) => [...s.outputs[0].shape]);
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

Deno.test("einsum: a chain of thin products contracts the small pair first (never the 200 × 200 matrix)", () => {
  const [k1, k2, k3] = split(key(0), 3);
  const a = normal(k1, [200, 2]), b = normal(k2, [2, 200]), c = normal(k3, [200, 2]);
  const shapes = products("ij,jk,kl->il", a, b, c);
  assert.equal(shapes.length, 2);
  assert.ok(shapes.every((s) => size(s) <= 400), `products formed: ${JSON.stringify(shapes)}`);
  // left to right would form A·B, 200 × 200 = 40,000 entries
  assert.ok(size(matmul(a, b).shape) === 40000);
  const got = einsum("ij,jk,kl->il", a, b, c), want = matmul(a, matmul(b, c));
  const g = got.dataSync(), w = want.dataSync();
  assert.ok(g.every((v, i) => Math.abs(v - w[i]) <= 1e-4 * (1 + Math.abs(w[i]))));
});

Deno.test("einsum: the other association when it is the smaller one, and no 4-D intermediate for ij,jk,kl->il", () => {
  const [k1, k2, k3] = split(key(1), 3);
  const a = normal(k1, [2, 200]), b = normal(k2, [200, 2]), c = normal(k3, [2, 200]);
  const shapes = products("ij,jk,kl->il", a, b, c);
  // A·B is 2 × 2, then (AB)·C is 2 × 200; B·C first would form 200 × 200
  assert.deepEqual(shapes[0], [2, 2]);
  assert.deepEqual(shapes.map(size), [4, 400]); // the second may be formed as its transpose
  assert.ok(shapes.every((s) => s.length <= 2));
});
