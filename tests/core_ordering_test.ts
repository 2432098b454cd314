/**
 * The ops researchers reach for (issue 11): argmax/argmin, sort/argsort/topk, cumsum/cumprod, einsum,
 * log1p/expm1, softplus/logSigmoid, isnan/isfinite, clip. Expected values are NumPy 2's answers
 * (computed once with numpy and written here as literals): ties, NaN ordering, negative axes.
 * Gradients against central differences; the new primitives against the CPU on WebGPU where present.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });
const X = [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9]];
const Z = [[2, NaN, 1, 2, -Infinity], [0, 0, -1, NaN, NaN]];

Deno.test("argmax / argmin: first of ties, NaN wins, negative axes, flattened without an axis", () => {
  assert.deepEqual(T.argmax(f64(X), { axis: 0 }).arraySync(), [1, 2, 2, 2, 2]);
  assert.deepEqual(T.argmax(f64(X), { axis: 1 }).arraySync(), [4, 0, 2]);
  assert.equal(T.argmax(f64(X)).item(), 5);
  assert.deepEqual(T.argmin(f64(X), { axis: -1 }).arraySync(), [1, 1, 0]);
  assert.equal(T.argmax(f64([1, NaN, 3, NaN])).item(), 1);
  assert.equal(T.argmin(f64([1, NaN, 3, NaN])).item(), 1);
  assert.deepEqual(T.argmax(f64(X), { axis: 1, keepdims: true }).shape, [3, 1]);
  assert.equal(T.argmax(f64(X)).dtype, "int32");
  assert.throws(() => T.argmax(T.zeros([2, 0]), { axis: 1 }), T.ShapeError);
});

Deno.test("sort / argsort: stable, NaN last, -inf first, along any axis", () => {
  assert.deepEqual(T.sort(f64(Z)).arraySync(), [[-Infinity, 1, 2, 2, NaN], [-1, 0, 0, NaN, NaN]]);
  assert.deepEqual(T.argsort(f64(Z)).arraySync(), [[4, 2, 0, 3, 1], [2, 0, 1, 3, 4]]);
  assert.deepEqual(T.sort(f64(Z), { axis: 0 }).arraySync(), [[0, 0, -1, 2, -Infinity], [2, NaN, 1, NaN, NaN]]);
  assert.deepEqual(T.argsort(f64(Z), { axis: -2 }).arraySync(), [[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]]);
  assert.deepEqual(T.argsort(T.tensor([2, 1, 2, 0], { dtype: "int32" })).arraySync(), [3, 1, 0, 2]);
  assert.deepEqual(T.sort(f64([3, 1, 2]), { descending: true }).arraySync(), [3, 2, 1]);
});

Deno.test("0-d input: ops along an axis need one (as NumPy and JAX); whole-tensor reductions and cumsum take it", () => {
  const s = f64(3);
  for (
    const [name, f] of [
      ["sort", () => T.sort(s)],
      ["argsort", () => T.argsort(s)],
      ["topk", () => T.topk(s, 1)],
      ["softmax", () => T.softmax(s)],
      ["logSoftmax", () => T.logSoftmax(s)],
      ["sum", () => T.sum(s, { axis: 0 })],
      ["argmax", () => T.argmax(s, { axis: -1 })],
    ] as const
  ) {
    assert.throws(
      f,
      (e: Error) =>
        e instanceof T.ShapeError && e.message.startsWith(`${name}: `) && /reshape it to \[1\]/.test(e.message),
    );
  }
  assert.equal(T.sum(s).item(), 3);
  assert.equal(T.argmax(s).item(), 0);
  assert.equal(T.logsumexp(s).item(), 3);
  assert.deepEqual(T.cumsum(s, 0).arraySync(), [3]); // np.cumsum(np.array(3.0), axis=0) is [3.]
});

Deno.test("topk: largest first, ties in input order, NaN largest", () => {
  const { values, indices } = T.topk(f64([1, 4, 2, 4]), 2);
  assert.deepEqual(values.arraySync(), [4, 4]);
  assert.deepEqual(indices.arraySync(), [1, 3]);
  const r = T.topk(f64([[1, NaN, 3], [0, 5, 5]]), 2, { axis: -1 });
  assert.deepEqual(r.values.arraySync(), [[NaN, 3], [5, 5]]);
  assert.deepEqual(r.indices.arraySync(), [[1, 2], [1, 2]]);
  assert.throws(() => T.topk(f64([1, 2]), 3), T.ShapeError);
});

Deno.test("cumsum / cumprod: NumPy's values, flattened without an axis, bool counts as int", () => {
  const w = f64([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(T.cumsum(w, 0).arraySync(), [[1, 2, 3], [5, 7, 9]]);
  assert.deepEqual(T.cumsum(w, -1).arraySync(), [[1, 3, 6], [4, 9, 15]]);
  assert.deepEqual(T.cumsum(w).arraySync(), [1, 3, 6, 10, 15, 21]);
  assert.deepEqual(T.cumprod(w, 1).arraySync(), [[1, 2, 6], [4, 20, 120]]);
  assert.deepEqual(T.cumprod(w).arraySync(), [1, 2, 6, 24, 120, 720]);
  assert.deepEqual(T.cumsum(T.tensor([true, false, true])).arraySync(), [1, 1, 2]);
  assert.deepEqual(T.cumsum(f64([1, 2, 3]), 0, { reverse: true }).arraySync(), [6, 5, 3]);
});

Deno.test("einsum: NumPy's values for products, chains, diagonals, traces, implicit outputs", () => {
  const A = T.reshape(T.arange(6, undefined, 1, { dtype: "float64" }), [2, 3]);
  const B = T.reshape(T.arange(12, undefined, 1, { dtype: "float64" }), [3, 4]);
  const C = T.reshape(T.arange(8, undefined, 1, { dtype: "float64" }), [4, 2]);
  const S = T.reshape(T.arange(9, undefined, 1, { dtype: "float64" }), [3, 3]);
  assert.deepEqual(T.einsum("ij,jk->ik", A, B).arraySync(), [[20, 23, 26, 29], [56, 68, 80, 92]]);
  assert.deepEqual(T.einsum("ij,jk,kl->il", A, B, C).arraySync(), [[324, 422], [1008, 1304]]);
  assert.deepEqual(T.einsum("ii->i", S).arraySync(), [0, 4, 8]);
  assert.equal(T.einsum("ii", S).item(), 12);
  assert.equal(T.einsum("ij->", A).item(), 15);
  assert.deepEqual(T.einsum("ij,ij->i", A, A).arraySync(), [5, 50]);
  assert.deepEqual(T.einsum("ji", A).arraySync(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(T.einsum("ij,kj", A, A).arraySync(), [[5, 14], [14, 50]]);
  assert.deepEqual(T.einsum("i,j->ij", f64([1, 2]), f64([3, 4, 5])).arraySync(), [[3, 4, 5], [6, 8, 10]]);
  const D = T.reshape(T.arange(24, undefined, 1, { dtype: "float64" }), [2, 3, 4]);
  const E = T.reshape(T.arange(40, undefined, 1, { dtype: "float64" }), [2, 4, 5]);
  assert.deepEqual(T.einsum("bij,bjk->bik", D, E).arraySync(), [
    [[70, 76, 82, 88, 94], [190, 212, 234, 256, 278], [310, 348, 386, 424, 462]],
    [[1510, 1564, 1618, 1672, 1726], [1950, 2020, 2090, 2160, 2230], [2390, 2476, 2562, 2648, 2734]],
  ]);
  assert.throws(() => T.einsum("ij,jk->ik", A, A), T.ShapeError);
  assert.throws(() => T.einsum("ij->k", A), T.ShapeError);
});

Deno.test("log1p / expm1 / softplus / logSigmoid: NumPy's float64 values, finite at the extremes", () => {
  assert.equal(T.log1p(f64([1e-10])).item(), 9.999999999500001e-11);
  assert.equal(T.log1p(f64([-0.5])).item(), -0.6931471805599453);
  assert.equal(T.expm1(f64([1e-10])).item(), 1.00000000005e-10);
  assert.equal(T.expm1(f64([2])).item(), 6.38905609893065);
  const sp = [
    9.357622968839737e-14,
    0.31326168751822286,
    0.6931471805599453,
    1.3132616875182228,
    30.000000000000092,
    1000,
  ];
  T.softplus(f64([-30, -1, 0, 1, 30, 1000])).dataSync().forEach((v, i) =>
    assert.ok(Math.abs(v - sp[i]) <= 1e-15 * Math.max(1, sp[i]), `softplus ${i}: ${v} vs ${sp[i]}`)
  );
  const ls = [-1000, -1.3132616875182228, -0.6931471805599453, -0.1269280110429725];
  T.logSigmoid(f64([-1000, -1, 0, 2])).dataSync().forEach((v, i) =>
    assert.ok(Math.abs(v - ls[i]) <= 1e-15 * Math.max(1, Math.abs(ls[i])), `logSigmoid ${i}`)
  );
  // float32 keeps small arguments too
  assert.ok(Math.abs(T.log1p(T.tensor([1e-7])).item() - 1e-7) < 1e-13);
});

Deno.test("isnan / isfinite / clip: NumPy's answers, NaN stays NaN, hi wins when lo > hi", () => {
  assert.deepEqual(T.isnan(f64([1, NaN, Infinity])).arraySync(), [false, true, false]);
  assert.deepEqual(T.isfinite(f64([1, NaN, -Infinity])).arraySync(), [true, false, false]);
  assert.deepEqual(T.isfinite(T.tensor([1, 2], { dtype: "int32" })).arraySync(), [true, true]);
  assert.deepEqual(T.clip(f64([-2, 0.5, NaN, 3]), 0, 1).arraySync(), [0, 0.5, NaN, 1]);
  assert.deepEqual(T.clip(f64([-1, 0.5, 2]), 1, 0).arraySync(), [0, 0, 0]);
  assert.deepEqual(T.clip(f64([-2, 0.5, 3]), null, 1).arraySync(), [-2, 0.5, 1]);
});

Deno.test("gradients: sort, topk, cumsum, cumprod (with a zero), einsum, log1p, expm1, softplus, logSigmoid, clip", () => {
  const x = f64([[0.3, -1.2, 2.5, 0.7], [1.1, 0.4, -0.6, 2.2]]);
  const wts = f64([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const dot = (t: Tensor) => T.sum(T.mul(t, wts));
  const cases: [string, (t: Tensor) => Tensor][] = [
    ["sort", (t) => dot(T.sort(t))],
    ["sort axis 0", (t) => dot(T.sort(t, { axis: 0, descending: true }))],
    ["topk", (t) => T.sum(T.mul(T.topk(t, 2).values, f64([[1, 2], [3, 4]])))],
    ["cumsum", (t) => dot(T.cumsum(t, -1))],
    ["cumsum reverse", (t) => dot(T.cumsum(t, 0, { reverse: true }))],
    ["cumprod", (t) => dot(T.cumprod(t, 1))],
    ["cumprod reverse", (t) => dot(T.cumprod(t, 1, { reverse: true }))],
    ["einsum", (t) => T.sum(T.einsum("ij,kj->ik", t, T.square(t)))],
    ["log1p", (t) => dot(T.log1p(T.square(t)))],
    ["expm1", (t) => dot(T.expm1(t))],
    ["softplus", (t) => dot(T.softplus(t))],
    ["logSigmoid", (t) => dot(T.logSigmoid(t))],
    ["clip", (t) => dot(T.clip(t, -1, 1))],
  ];
  for (const [what, f] of cases) {
    try {
      T.checkGrad(f, [x], { rtol: 1e-6, atol: 1e-8 });
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  }
  // cumprod at a zero: exact, where y/x would divide by zero
  const z = f64([2, 0, 3, 0.5]);
  T.checkGrad((t) => T.sum(T.mul(T.cumprod(t), f64([1, 2, 3, 4]))), [z], { rtol: 1e-6, atol: 1e-8 });
  const g = T.grad((t: Tensor) => T.sum(T.cumprod(t)))(z) as Tensor;
  // d/dx1 Σ cumprod = x0 + x0·x2 + x0·x2·x3 = 2 + 6 + 3
  assert.equal(g.dataSync()[1], 11);
  // the gradient of sort goes to the original positions
  assert.deepEqual(
    (T.grad((t: Tensor) => T.sum(T.mul(T.sort(t), f64([1, 2, 3]))))(f64([5, 1, 3])) as Tensor).arraySync(),
    [3, 1, 2],
  );
  // clip's gradient is 1 on the closed interval, 0 outside
  assert.deepEqual((T.grad((t: Tensor) => T.sum(T.clip(t, 0, 1)))(f64([-1, 0, 0.5, 1, 2])) as Tensor).arraySync(), [
    0,
    1,
    1,
    1,
    0,
  ]);
});

Deno.test("webgpu parity: argReduce, sort (NaN, ties), cumulative, log1p, expm1 against the cpu", async (t) => {
  if (!(await webgpuAvailable())) {
    console.warn("core_ordering_test: no WebGPU adapter; parity skipped");
    return;
  }
  const vals = [[2, NaN, 1, 2, -Infinity, 7], [0, 0, -1, NaN, NaN, 3], [5, 4, 3, 2, 1, 0]];
  const x = T.tensor(vals);
  const xi = T.tensor([[3, 1, 3, 2], [0, 0, 5, -1]], { dtype: "int32" });
  const small = T.tensor([[1e-6, -0.3, 2, 40], [-1e-4, 0.5, -20, 0]]);
  const cases: [string, Tensor, (t: Tensor) => Tensor[]][] = [
    ["argmax", x, (t) => [T.argmax(t, { axis: 1 }), T.argmax(t, { axis: 0 }), T.argmin(t, { axis: -1 })]],
    ["argmax int", xi, (t) => [T.argmax(t, { axis: 1 }), T.argmin(t)]],
    ["sort", x, (t) => [T.sort(t), T.argsort(t), T.argsort(t, { axis: 0 }), T.argsort(t, { descending: true })]],
    ["sort int", xi, (t) => [T.sort(t), T.argsort(t, { axis: 0 })]],
    ["topk", x, (t) => [T.topk(t, 3).values, T.topk(t, 3).indices]],
    ["cumsum", small, (t) => [T.cumsum(t, 1), T.cumsum(t, 0, { reverse: true }), T.cumprod(t, -1)]],
    ["cumsum int", xi, (t) => [T.cumsum(t, 1)]],
    ["log1p", small, (t) => [T.log1p(T.abs(t)), T.expm1(t)]],
  ];
  for (const [what, input, f] of cases) {
    await t.step(what, async () => {
      const want = f(input);
      const gi = await T.toBackend(input, "webgpu");
      const got = f(gi);
      for (let k = 0; k < want.length; k++) {
        const a = await got[k].data(), b = want[k].dataSync();
        assert.deepEqual(got[k].shape, want[k].shape);
        for (let i = 0; i < b.length; i++) {
          const g = Number(a[i]), c = Number(b[i]);
          if ((Number.isNaN(c) && Number.isNaN(g)) || g === c) continue;
          assert.ok(Math.abs(g - c) <= 1e-6 + 2e-6 * Math.abs(c), `${what} output ${k} element ${i}: ${g} vs ${c}`);
        }
      }
    });
  }
});
