/**
 * logSoftmax as one primitive (`logSoftmaxP`, its VJP `logSoftmaxVjpP` in core/primitives.ts): the
 * values, gradients and second derivatives of the composed form it replaced (written out below),
 * ±∞ and NaN rows, every axis, float16 through float32, one kernel forward and one backward under
 * `jit`, vmap, and the same answer on WebGPU where an adapter is present.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

/** The composition logSoftmax was before it became a primitive (ten operations). */
function composed(x: Tensor, axis: number): Tensor {
  const mx = T.max(x, { axis, keepdims: true });
  const z = T.sub(x, T.stopGradient(T.where(T.less(T.abs(mx), Infinity), mx, 0)));
  return T.sub(z, T.log(T.sum(T.exp(z), { axis, keepdims: true })));
}

const f64 = (shape: number[], seed: number, scale = 3) =>
  T.mul(T.normal(T.key(seed), shape, { dtype: "float64" }), scale);

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (a[i] === b[i]) continue;
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Example b of a batch (the first axis dropped). */
const at = (t: Tensor, b: number) =>
  T.reshape(T.slice(t, [[b, b + 1], ...t.shape.slice(1).map((d) => [0, d] as [number, number])]), t.shape.slice(1));

const SPECIAL = [
  [-Infinity, -Infinity, -Infinity],
  [Infinity, 0, 1],
  [-Infinity, 0, 2],
  [NaN, 1, 2],
  [
    Infinity,
    Infinity,
    -Infinity,
  ],
  [-1e30, 3, -Infinity],
  [1, 2, 3],
];

Deno.test("logSoftmax primitive: the composed form's values and gradients, float64, every axis", () => {
  for (const shape of [[7], [3, 5], [2, 4, 6], [2, 1, 3]]) {
    const x = f64(shape, shape.length), g = f64(shape, 9, 1);
    for (let axis = -shape.length; axis < shape.length; axis++) {
      const a = ((axis % shape.length) + shape.length) % shape.length;
      close(T.logSoftmax(x, { axis }).dataSync(), composed(x, a).dataSync(), 1e-15, `value ${shape} axis ${axis}`);
      const loss = (f: (t: Tensor) => Tensor) => (t: Tensor) => T.sum(T.mul(f(t), g));
      const ga = T.grad(loss((t) => T.logSoftmax(t, { axis })))(x) as Tensor;
      const gb = T.grad(loss((t) => composed(t, a)))(x) as Tensor;
      close(ga.dataSync(), gb.dataSync(), 1e-14, `grad ${shape} axis ${axis}`);
      // second derivatives: the gradient of a function of the gradient
      const h = (f: (t: Tensor) => Tensor) => (t: Tensor) => T.sum(T.sin(T.grad(loss(f))(t) as Tensor));
      const ha = T.grad(h((t) => T.logSoftmax(t, { axis })))(x) as Tensor;
      const hb = T.grad(h((t) => composed(t, a)))(x) as Tensor;
      close(ha.dataSync(), hb.dataSync(), 1e-13, `grad of grad ${shape} axis ${axis}`);
    }
  }
});

Deno.test("logSoftmax primitive: checkGrad in float64, first and second order, through a cross-entropy", () => {
  const x = f64([4, 5], 3), w = f64([4, 5], 4, 1);
  const y = T.oneHot(T.tensor([1, 0, 4, 2], { dtype: "int32" }), 5);
  for (const axis of [0, 1]) {
    T.checkGrad((t: Tensor) => T.sum(T.mul(T.logSoftmax(t, { axis }), w)), [x]);
    T.checkGrad((t: Tensor) => T.sum(T.square(T.grad((u: Tensor) => T.sum(T.mul(T.logSoftmax(u, { axis }), w)))(t))), [
      x,
    ]);
  }
  T.checkGrad((t: Tensor) => T.mean(T.neg(T.sum(T.mul(y, T.logSoftmax(t)), { axis: -1 }))), [x]);
  // the VJP primitive's own rule, in both of its inputs (y = logSoftmax(x) and the cotangent g)
  T.checkGrad((t: Tensor, c: Tensor) => T.sum(T.sin(T.vjp((u: Tensor) => T.logSoftmax(u), t)[1](c)[0] as Tensor)), [
    x,
    w,
  ]);
});

Deno.test("logSoftmax primitive: rows with ±∞ and NaN as the composed form, values and gradients", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const x = T.tensor(SPECIAL, { dtype });
    const want = composed(x, 1).dataSync(), got = T.logSoftmax(x).dataSync();
    assert.deepEqual(
      [...got].map((v) => Number.isFinite(v) ? "finite" : String(v)),
      [...want].map((v) => Number.isFinite(v) ? "finite" : String(v)),
      dtype,
    );
    close(got, want, dtype === "float32" ? 2e-7 : 1e-15, `${dtype} finite values`);
    const g = T.tensor(SPECIAL.map((r) => r.map((_, j) => j - 0.5)), { dtype });
    const loss = (f: (t: Tensor) => Tensor) => (t: Tensor) => T.sum(T.mul(f(t), g));
    const ga = (T.grad(loss((t) => T.logSoftmax(t)))(x) as Tensor).dataSync();
    const gb = (T.grad(loss((t) => composed(t, 1)))(x) as Tensor).dataSync();
    assert.deepEqual([...ga].map((v) => Number.isNaN(v)), [...gb].map((v) => Number.isNaN(v)), `${dtype} grad NaN`);
    close(ga, gb, dtype === "float32" ? 1e-6 : 1e-15, `${dtype} grad`);
  }
  // the documented cases, exactly
  const y = T.logSoftmax(T.tensor([[-Infinity, -Infinity], [Infinity, 0], [NaN, 0], [-Infinity, 0]])).dataSync();
  assert.deepEqual([...y].map(String), ["NaN", "NaN", "NaN", "-Infinity", "NaN", "NaN", "-Infinity", "0"]);
});

Deno.test("logSoftmax primitive: float32 is rounded once from float64; float16 goes through float32", () => {
  const x = T.astype(f64([6, 9], 5), "float32");
  const want = T.astype(composed(T.astype(x, "float64"), 1), "float32").dataSync();
  const got = T.logSoftmax(x).dataSync();
  // within an ulp of the float64 result rounded (the fast float32 exp is within 1e-12 before rounding)
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1.2e-7 * Math.max(1, Math.abs(want[i])), `${i}`));
  const h = T.astype(x, "float16");
  const y16 = T.logSoftmax(h);
  assert.equal(y16.dtype, "float16");
  assert.deepEqual([...y16.dataSync()], [...T.astype(T.logSoftmax(T.astype(h, "float32")), "float16").dataSync()]);
  const g16 = T.grad((t: Tensor) => T.sum(T.mul(T.logSoftmax(t), T.astype(x, "float16"))))(h) as Tensor;
  assert.equal(g16.dtype, "float16");
});

Deno.test("logSoftmax primitive: an empty axis, errors", () => {
  assert.deepEqual(T.logSoftmax(T.zeros([2, 0])).shape, [2, 0]);
  assert.deepEqual(T.logSoftmax(T.zeros([0, 3]), { axis: 0 }).shape, [0, 3]);
  assert.deepEqual(T.logSoftmax(T.zeros([0, 3])).shape, [0, 3]); // no rows
  assert.deepEqual((T.grad((t: Tensor) => T.sum(T.logSoftmax(t)))(T.zeros([0, 3])) as Tensor).shape, [0, 3]);
  assert.throws(
    () => T.logSoftmax(T.tensor([1, 2], { dtype: "int32" })),
    (e: Error) => e instanceof T.DTypeError && e.message.startsWith("logSoftmax: "),
  );
  assert.throws(() => T.logSoftmax(T.zeros([2, 3]), { axis: 2 }), T.ShapeError);
});

Deno.test("logSoftmax primitive: one kernel forward and one backward under jit, the same numbers replayed", () => {
  const g = f64([5, 4], 11, 1);
  const step = T.jit((t: Tensor) => T.valueAndGrad((u: Tensor) => T.sum(T.mul(T.logSoftmax(u, { axis: 0 }), g)))(t));
  for (const seed of [1, 2]) {
    const x = f64([5, 4], seed);
    const [v, d] = step(x) as [Tensor, Tensor];
    const [v0, d0] = T.valueAndGrad((u: Tensor) => T.sum(T.mul(composed(u, 0), g)))(x);
    close(v.dataSync(), v0.dataSync(), 1e-14, "jit value");
    close(d.dataSync(), d0.dataSync(), 1e-14, "jit grad");
  }
  const [info] = T.jitInfo(step);
  const prims = info.steps.map((s) => s.primitive);
  assert.equal(prims.filter((p) => p === "logSoftmax").length, 1, String(info));
  assert.equal(prims.filter((p) => p === "logSoftmaxVjp").length, 1, String(info));
  assert.ok(!prims.includes("reduce") || prims.filter((p) => p === "reduce").length <= 1, String(info)); // the loss's sum
});

Deno.test("logSoftmax primitive: vmap over examples equals the loop, with the gradient inside", () => {
  const xs = f64([3, 4, 5], 21), gs = f64([3, 4, 5], 22, 1);
  const f = (x: Tensor, g: Tensor) => T.grad((t: Tensor) => T.sum(T.mul(T.logSoftmax(t, { axis: 0 }), g)))(x);
  const batched = T.vmap(f)(xs, gs) as Tensor;
  const shared = T.vmap(f, { inAxes: [0, null] })(xs, at(gs, 0)) as Tensor;
  for (let b = 0; b < 3; b++) {
    const x = at(xs, b);
    close(at(batched, b).dataSync(), (f(x, at(gs, b)) as Tensor).dataSync(), 1e-15, `batched ${b}`);
    close(at(shared, b).dataSync(), (f(x, at(gs, 0)) as Tensor).dataSync(), 1e-15, `shared ${b}`);
  }
  close(
    T.vmap((x: Tensor) => T.logSoftmax(x, { axis: 1 }))(xs).dataSync(),
    T.logSoftmax(xs, { axis: 2 }).dataSync(),
    0,
    "vmap",
  );
});

const gpuOk = await webgpuAvailable();
Deno.test({
  name: "logSoftmax primitive: WebGPU gives the CPU's answer (values, gradients, ±∞ and NaN rows, long rows)",
  ignore: !gpuOk,
  fn: async () => {
    await T.useBackend("cpu");
    const cases: [number[], number][] = [[[7, 3], 1], [[3, 5, 7], 0], [[3, 5, 7], 1], [[2, 3000], 1], [[4, 600, 3], 1]];
    for (const [shape, axis] of cases) {
      const x = T.astype(f64(shape, shape.length + axis), "float32"), g = T.astype(f64(shape, 30, 1), "float32");
      const loss = (gg: Tensor) => (t: Tensor) => T.sum(T.mul(T.logSoftmax(t, { axis }), gg));
      const yc = T.logSoftmax(x, { axis }).dataSync(), dc = (T.grad(loss(g))(x) as Tensor).dataSync();
      const xg = await T.toBackend(x, "webgpu"), gg = await T.toBackend(g, "webgpu");
      const yg = T.logSoftmax(xg, { axis }), dg = T.grad(loss(gg))(xg) as Tensor;
      assert.equal(yg.backend.name, "webgpu");
      close(await yg.data(), yc, 2e-6, `value ${shape} axis ${axis}`);
      close(await dg.data(), dc, 2e-6, `grad ${shape} axis ${axis}`);
    }
    const s = T.tensor(SPECIAL, { dtype: "float32" });
    const want = T.logSoftmax(s).dataSync();
    const got = await T.logSoftmax(await T.toBackend(s, "webgpu")).data();
    assert.deepEqual(
      [...got].map((v) => Number.isFinite(v) ? "finite" : String(v)),
      [...want].map((v) => Number.isFinite(v) ? "finite" : String(v)),
    );
    close(got, want, 2e-6, "special rows");
    const h = T.astype(s, "float16");
    const got16 = await T.logSoftmax(await T.toBackend(h, "webgpu")).data();
    assert.deepEqual([...got16].map(String), [...T.logSoftmax(h).dataSync()].map(String), "float16");
  },
});
