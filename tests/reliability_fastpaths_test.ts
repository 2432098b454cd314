/**
 * Reliability of the fast paths added for speed (issue 14's spirit: no silent wrong answers, no
 * unbounded memory): `jit` signatures of unusual non-tensor values, the CPU's `settle` of product
 * operands into the Wasm memory, and what a moved tensor's readers get.
 */
import assert from "node:assert/strict";
import { add, jit, mul, type Tensor, tensor } from "../mod.ts";

Deno.test("jit keys null and bigint values beside the tensors (it threw a TypeError) and keeps them apart", () => {
  const f = jit((x: Tensor, o: { a: unknown }) => (o.a === null ? add(x, 1) : mul(x, 2)));
  const x = tensor([1, 2]);
  assert.deepEqual([...f(x, { a: null }).dataSync()], [2, 3]);
  assert.deepEqual([...f(x, { a: 5n }).dataSync()], [2, 4]);
  assert.deepEqual([...f(x, { a: "null" }).dataSync()], [2, 4]);
  assert.deepEqual([...f(x, { a: null }).dataSync()], [2, 3]);
});
