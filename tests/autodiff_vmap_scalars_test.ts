/**
 * vmap of a function returning plain numbers or booleans (issue 11): as `jax.vmap`, a Python scalar
 * the function returns is broadcast along the batch axis (`jax.vmap(lambda x: 1.0)(jnp.ones(3))` is
 * `[1., 1., 1.]`), in pytrees too; under `outAxes` `null` it stays the scalar. JavaScript has one
 * number type: a number comes back float32 (JAX gives an `int` int32), a boolean bool.
 */
import assert from "node:assert/strict";
import { grad, jit, type Key, key, ones, scan, split, sum, type Tensor, tensor, vmap } from "../mod.ts";

const vals = (t: Tensor) => Array.from(t.dataSync(), Number);

function assertTensor(t: unknown, shape: number[], dtype: string, values: number[], what: string) {
  assert.ok(t && typeof t === "object" && "shape" in t, `${what}: a tensor, got ${String(t)}`);
  const x = t as Tensor;
  assert.deepEqual(x.shape, shape, `${what}: shape`);
  assert.equal(x.dtype, dtype, `${what}: dtype`);
  assert.deepEqual(vals(x), values, `${what}: values`);
}

Deno.test("vmap: a returned number is broadcast along the batch axis (jax.vmap(lambda x: 1.0)(ones(3)) = [1, 1, 1])", () => {
  const xs = ones([3]);
  assertTensor(vmap((_x: Tensor) => 1.0)(xs), [3], "float32", [1, 1, 1], "bare number");
  const out = vmap((x: Tensor) => [x, 2, true, "label", null] as const)(xs);
  assertTensor(out[0], [3], "float32", [1, 1, 1], "tensor beside");
  assertTensor(out[1], [3], "float32", [2, 2, 2], "number in an array");
  assertTensor(out[2], [3], "bool", [1, 1, 1], "boolean");
  assert.equal(out[3], "label", "a string passes through");
  assert.equal(out[4], null, "null passes through");
  // keyed by the batch as its axis says; nested vmaps broadcast over both
  const obj = vmap((_x: Tensor) => ({ a: 1.5, b: -2 }), { outAxes: { a: -1, b: 0 } })(ones([2]));
  assertTensor(obj.a, [2], "float32", [1.5, 1.5], "outAxes -1");
  assertTensor(obj.b, [2], "float32", [-2, -2], "outAxes 0");
  assertTensor(vmap(vmap((_x: Tensor) => 3))(ones([2, 3])), [2, 3], "float32", [3, 3, 3, 3, 3, 3], "nested");
  // a batch of keys alone gives the size too
  assertTensor(vmap((_k: Key) => 4)(split(key(0), 2)), [2], "float32", [4, 4], "over keys");
});

Deno.test("vmap: under outAxes null a returned number stays the number (as JAX)", () => {
  const out = vmap((x: Tensor) => ({ n: 7, y: x }), { outAxes: { n: null, y: 0 } })(tensor([1, 2]));
  assert.equal(out.n as unknown, 7);
  assertTensor(out.y, [2], "float32", [1, 2], "the tensor beside");
});

Deno.test("vmap returning numbers composes with jit and grad", () => {
  const f = (x: Tensor) => [sum(x), 0.5] as const;
  const [s, half] = jit(vmap(f))(tensor([[1, 2], [3, 4]]));
  assertTensor(s, [2], "float32", [3, 7], "jit sum");
  assertTensor(half, [2], "float32", [0.5, 0.5], "jit number");
  // the broadcast number is a constant: no gradient flows through it
  const g = grad((x: Tensor) => sum(vmap((_r: Tensor) => 2)(x)))(tensor([[1, 2], [3, 4]]));
  assertTensor(g, [2, 2], "float32", [0, 0, 0, 0], "grad of a constant");
});

Deno.test("scan stacks plain numbers and booleans of y over the steps (as jax.lax.scan: (1.0, True) → [1, 1, 1], [T, T, T])", () => {
  const [c, ys] = scan(
    (c: Tensor, x: Tensor) => [c.add(x), { one: 1, yes: true, label: "s", x }] as const,
    tensor(0),
    tensor([1, 2, 3]),
  );
  assert.deepEqual(vals(c), [6]);
  assertTensor(ys.one, [3], "float32", [1, 1, 1], "number");
  assertTensor(ys.yes, [3], "bool", [1, 1, 1], "boolean");
  assert.equal(ys.label, "s", "a string stays");
  assertTensor(ys.x, [3], "float32", [1, 2, 3], "tensor");
  // no steps: an empty [0] tensor, as JAX's
  const [, none] = scan((c: Tensor, _x: Tensor) => [c, 2] as const, tensor(0), tensor([]));
  assertTensor(none, [0], "float32", [], "no steps");
});
