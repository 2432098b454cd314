import assert from "node:assert/strict";
import { checkGrad, grad, key, matmul, mul, sin, split, sum, type Tensor, tensor } from "../mod.ts";
import * as T from "../mod.ts";

Deno.test("matmul, grad and grad of grad on a small example", () => {
  const x = tensor([[1, 2], [3, 4]], { dtype: "float64" });
  assert.deepEqual(matmul(x, x).arraySync(), [[7, 10], [15, 22]]);
  const f = (a: Tensor) => sum(mul(sin(a), a));
  const g = grad(f)(x).dataSync();
  assert.ok(Math.abs(g[0] - (Math.cos(1) + Math.sin(1))) < 1e-15);
  const h = grad((a: Tensor) => sum(grad(f)(a)))(x).dataSync();
  assert.ok(Math.abs(h[0] - (2 * Math.cos(1) - Math.sin(1))) < 1e-15);
  assert.ok(checkGrad(f, [x]) <= 1);
});

Deno.test("split(key(0)) matches jax.random.split(PRNGKey(0))", () => {
  assert.deepEqual(split(key(0)).map((k) => k.words), [[4146024105, 967050713], [2718843009, 1272950319]]);
});

Deno.test("console.log shows a tensor's summary, inside vmap and jit too (no fields, no throw, jit stays a graph)", () => {
  const t = T.tensor([[1, 2], [3, 4]]);
  assert.equal(Deno.inspect(t), "Tensor([[1, 2], [3, 4]], shape=[2,2], dtype=float32)");
  assert.equal(Deno.inspect({ w: t }), "{ w: Tensor([[1, 2], [3, 4]], shape=[2,2], dtype=float32) }");
  const seen: string[] = [];
  T.vmap((x: T.Tensor) => (seen.push(Deno.inspect(x)), x))(T.tensor([[1, 2], [3, 4], [5, 6]]));
  assert.deepEqual(seen, ["Tensor(… one example of 3 (batched by vmap), shape=[2], dtype=float32)"]);
  const f = T.jit((x: T.Tensor) => (seen.push(Deno.inspect(x)), T.mul(x, 2)));
  f(t);
  f(T.tensor([[5, 6], [7, 8]]));
  assert.equal(seen.at(-1), "Tensor([[1, 2], [3, 4]], shape=[2,2], dtype=float32)", "printed when traced");
  assert.equal(T.jitInfo(f)[0].mode, "graph");
});
