/**
 * CPU-versus-WebGPU parity of the ordering and special-function ops (argmax, sort, topk, cumsum,
 * einsum, log1p, softplus, clip, ...): the same values (exactly where the op is exact), dtypes,
 * shapes and errors on both backends, with NaN, ties, negative axes, empty and int32 inputs. Runs
 * on whatever adapter is present (llvmpipe in CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Backend, Tensor } from "../mod.ts";
import { loadBackend, registerBackendFactory } from "../core/backend/backend.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_ops_parity_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

/** Same shape, dtype and values; `exact` compares bits (NaN matches NaN, −0 only −0). */
async function parity(
  what: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  tol: { exact?: boolean; rtol?: number; atol?: number } = {},
): Promise<void> {
  const cpuOut = [f(...inputs)].flat();
  const gpuIn = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  await T.useBackend("webgpu");
  let gpuOut: Tensor[];
  try {
    gpuOut = [f(...gpuIn)].flat();
  } finally {
    await T.useBackend("cpu");
  }
  for (const [i, c] of cpuOut.entries()) {
    const g = gpuOut[i];
    assert.equal(g.backend.name, "webgpu", `${what}: output ${i} left the gpu`);
    assert.deepEqual(g.shape, c.shape, `${what}: shape`);
    assert.equal(g.dtype, c.dtype, `${what}: dtype`);
    const got = await g.data(), want = c.dataSync();
    for (let j = 0; j < want.length; j++) {
      const a = Number(got[j]), b = Number(want[j]);
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const ok = !tol.exact && Math.abs(a - b) <= (tol.atol ?? 2e-6) + (tol.rtol ?? 2e-5) * Math.abs(b);
      assert.ok(ok, `${what}: output ${i} element ${j}: webgpu ${a}, cpu ${b}`);
    }
  }
}

const f32 = (v: number[]) => T.tensor(v, { dtype: "float32" });

Deno.test({
  name: "loadBackend: concurrent first loads share one backend; a failed creation is tried again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let made = 0, fail = true;
    registerBackendFactory("ops-parity-fake", async () => {
      await new Promise((r) => setTimeout(r, 5));
      if (fail) {
        fail = false;
        throw new T.BackendError("ops-parity-fake: not yet");
      }
      made++;
      return { name: "ops-parity-fake", kernels: new Map() } as unknown as Backend;
    });
    await assert.rejects(loadBackend("ops-parity-fake"), /not yet/);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => loadBackend("ops-parity-fake")));
    assert.equal(made, 1);
    assert.ok(a === b && b === c);
    assert.equal(await loadBackend("ops-parity-fake"), a);
  },
});

Deno.test({
  name: "webgpu parity: log1p, expm1, softplus, logSigmoid, isnan, isfinite at small, huge and special arguments",
  ...opt,
  async fn() {
    // log1p of tiny x must keep x's digits (a compiler that folds (1 + x) − 1 to x gave 0 for 1e−30)
    const specials = f32([-1, -0.999999, -0.5, -0.3, -1e-7, -1e-30, 0, -0, 1e-30, 1e-7, 1e-3, 0.4, 0.5, 1, 10, 88, 89]);
    const more = f32([1e30, -2, -1e30, Infinity, -Infinity, NaN]);
    const sweep = T.mul(T.normal(T.key(30), [4, 250]), 5);
    const tiny = T.mul(
      T.sign(T.normal(T.key(31), [300])),
      T.pow(10, T.uniform(T.key(32), [300], { min: -30, max: -1 })),
    );
    for (const x of [specials, more, sweep, tiny]) {
      // 4e−7 relative: a few float32 ulps (the CPU rounds the float64 result once)
      await parity("log1p, expm1", [x], (a) => [T.log1p(a), T.expm1(a)], { rtol: 4e-7, atol: 0 });
      // softplus(−100) = 3.8e−44 is subnormal: a GPU may flush it to zero
      await parity("softplus, logSigmoid", [x], (a) => [T.softplus(a), T.logSigmoid(a)], { rtol: 4e-7, atol: 1e-37 });
      await parity("isnan, isfinite", [x], (a) => [T.isnan(a), T.isfinite(a)], { exact: true });
    }
    const ints = T.tensor([-3, 0, 2, 40], { dtype: "int32" });
    await parity("int32", [ints], (a) => [T.log1p(a), T.expm1(a), T.softplus(a), T.isnan(a), T.isfinite(a)], {
      rtol: 4e-7,
    });
  },
});

/** `f` fails on both backends (the WebGPU one at the latest when its result is read) with `cls` matching `re`. */
async function sameError(
  what: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  cls: new (...a: never[]) => Error,
  re: RegExp,
  gpu = gpuOk,
): Promise<void> {
  const check = (e: unknown) => {
    assert.ok(e instanceof cls, `${what}: ${String(e)} is not a ${cls.name}`);
    assert.match((e as Error).message, re, what);
    return true;
  };
  assert.throws(() => [f(...inputs)].flat().map((t) => t.dataSync()), check, `${what} (cpu)`);
  if (!gpu) return;
  const gpuIn = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  await assert.rejects(
    async () => {
      await T.useBackend("webgpu");
      try {
        for (const t of [f(...gpuIn)].flat()) await t.data();
      } finally {
        await T.useBackend("cpu");
      }
    },
    check,
    `${what} (webgpu)`,
  );
}

Deno.test({
  name: "vmap of take and scatterAdd: an index outside its own example's axis is the eager error on both backends",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const x = T.normal(T.key(40), [3, 5]), u = T.tensor([[1, 2], [3, 4], [5, 6]]);
    const i32 = (v: number[][] | number[]) => T.tensor(v, { dtype: "int32" });
    const take = (a: Tensor, i: Tensor) => T.vmap((a: Tensor, i: Tensor) => T.take(a, i))(a, i);
    const scatter = (i: Tensor, v: Tensor) => T.vmap((i: Tensor, v: Tensor) => T.scatterAdd(i, v, 0, [4]))(i, v);
    // in range, negative indices included: each example's own rows
    const inRange = i32([[0, -1], [3, 2], [-4, 0]]);
    assert.deepEqual(await scatter(inRange, u).array(), [[1, 0, 0, 2], [0, 0, 4, 3], [11, 0, 0, 0]]);
    if (gpuOk) await parity("vmap scatterAdd", [inRange, u], scatter, { exact: true });
    // index 4 of example 1 used to land in example 2's row 0 (and −5 in example 0's last row), silently
    for (const bad of [[[0, -1], [4, 2], [1, 0]], [[0, -5], [3, 2], [1, 0]]]) {
      await sameError("vmap scatterAdd", [i32(bad), u], scatter, T.DomainError, /^scatterAdd: index -?\d .*extent 4/);
    }
    await sameError("vmap take", [x, i32([[0, 1], [5, 1], [2, 2]])], take, T.DomainError, /^take: index 5 .*extent 5/);
    await sameError(
      "vmap take shared",
      [x, i32([0, -6])],
      (a, i) => T.vmap((a: Tensor) => T.take(a, i))(a),
      T.DomainError,
      /^take: index -6 .*extent 5/,
    );
    await sameError(
      "jit vmap scatterAdd",
      [i32([[0, 1], [2, 9], [1, 0]]), u],
      T.jit(scatter),
      T.DomainError,
      /^scatterAdd: index 9 .*extent 4/,
    );
  },
});

Deno.test({
  name: "logSigmoid of a bool or int tensor is float32, as softplus (it threw naming neg for bool)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const b = T.tensor([true, false]), i = T.tensor([1, 0], { dtype: "int32" });
    for (const x of [b, i]) {
      const y = T.logSigmoid(x);
      assert.equal(y.dtype, "float32");
      assert.deepEqual(Array.from(y.dataSync()), [Math.fround(-Math.log1p(Math.exp(-1))), Math.fround(-Math.LN2)]);
      if (gpuOk) await parity("logSigmoid", [x], (a) => [T.logSigmoid(a), T.softplus(a)], { rtol: 4e-7 });
    }
    assert.throws(() => T.logSigmoid("x" as never), /logSigmoid/);
  },
});

const rnd = (seed: number, shape: number[]) => T.normal(T.key(seed), shape);
/** Normal values floored to integers: many ties. */
const ties = (seed: number, shape: number[]) => T.floor(T.mul(rnd(seed, shape), 2));
const special = () =>
  f32([3, NaN, 1, 2, NaN, 1, NaN, NaN, NaN, 0, 0, 0, -Infinity, Infinity, 0, -0, Infinity, -Infinity]).reshape([3, 6]);

Deno.test({
  name:
    "webgpu parity: argmax, argmin, sort, argsort, topk, cumsum, cumprod exactly (NaN, ties, ±0, ±∞, axes, int32, bool)",
  ...opt,
  async fn() {
    const inputs: [string, Tensor][] = [
      ["random", rnd(1, [5, 7])],
      ["ties", ties(2, [4, 6])],
      ["special", special()],
      ["int32", T.tensor([[3, -1, 7, 7, 0], [-5, -5, 2, 9, 9]], { dtype: "int32" })],
      ["bool", T.tensor([[true, false, true], [false, false, true]])],
    ];
    for (const [name, x] of inputs) {
      for (const axis of [undefined, 0, 1, -1, -2]) {
        await parity(`${name} axis ${axis}`, [x], (a) => [
          T.argmax(a, { axis }),
          T.argmin(a, { axis, keepdims: true }),
          T.sort(a, { axis }),
          T.argsort(a, { axis }),
          T.sort(a, { axis, descending: true }),
          T.argsort(a, { axis, descending: true }),
          T.topk(a, 2, { axis }).values,
          T.topk(a, 2, { axis }).indices,
          T.cumsum(a, axis),
          T.cumprod(a, axis, { reverse: true }),
        ], { exact: true });
      }
    }
    // a 3-d tensor, long rows (several workgroups of rows), k = 0 and k = n, 0-d and empty tensors
    await parity("3-d", [rnd(3, [3, 4, 5])], (a) => [
      T.argmax(a, { axis: 1 }),
      T.sort(a, { axis: -3 }),
      T.topk(a, 4, { axis: 1 }).indices,
      T.cumsum(a, 1, { reverse: true }),
    ], { exact: true });
    await parity("long rows", [ties(4, [2, 3000])], (a) => [T.argmax(a, { axis: 1 }), T.argsort(a), T.cumsum(a, 1)], {
      exact: true,
    });
    await parity("k = 0, n", [ties(5, [3, 4])], (a) => [T.topk(a, 0).values, T.topk(a, 4).indices], { exact: true });
    await parity("0-d", [f32([2.5]).reshape([])], (a) => [T.argmax(a), T.cumsum(a), T.cumprod(a, 0)], {
      exact: true,
    });
    await parity("empty", [T.zeros([3, 0])], (a) => [
      T.argmax(a, { axis: 0 }),
      T.sort(a),
      T.argsort(a, { axis: 0 }),
      T.topk(a, 0).values,
      T.cumsum(a, 0),
      T.cumprod(a),
    ], { exact: true });
    const x = rnd(6, [5, 7]);
    await sameError(
      "argmax empty",
      [T.zeros([3, 0])],
      (a) => T.argmax(a, { axis: 1 }),
      T.ShapeError,
      /^argmax: .*empty/,
    );
    await sameError("topk k > n", [x], (a) => T.topk(a, 8).values, T.ShapeError, /^topk: k = 8/);
    await sameError("sort axis", [x], (a) => T.sort(a, { axis: -3 }), T.ShapeError, /^sort: axis -3/);
    await sameError(
      "sort 0-d",
      [f32([2.5]).reshape([])],
      (a) => T.sort(a),
      T.ShapeError,
      /^sort: needs at least one axis/,
    );
    await sameError("cumprod axis", [x], (a) => T.cumprod(a, 2), T.ShapeError, /^cumprod: axis 2/);
  },
});

Deno.test({
  name: "webgpu parity: einsum with ..., broadcasting, traces, outer products, int32; its errors",
  ...opt,
  async fn() {
    const a = rnd(10, [3, 4]), b = rnd(11, [4, 5]), v = rnd(12, [4]), sq = rnd(13, [4, 4]), c3 = rnd(14, [2, 3, 4]);
    const cases: [string, Tensor[]][] = [
      ["ij,jk->ik", [a, b]],
      ["ij,jk", [a, b]],
      ["i,i", [v, v]],
      ["i,j->ij", [v, v]],
      ["ii->i", [sq]],
      ["ii", [sq]],
      ["bij->b", [c3]],
      ["...ij,...jk->...ik", [rnd(15, [2, 1, 3, 4]), rnd(16, [5, 4, 2])]],
      ["...ij,jk->...ik", [c3, b]],
      ["i...->...", [c3]],
      ["...,...->...", [v, a]],
      ["ij,jk,kl->il", [a, b, rnd(17, [5, 2])]],
      ["ij,jk->ik", [T.zeros([3, 0]), T.zeros([0, 2])]],
      ["ij,jk->ik", [special(), rnd(18, [6, 2])]],
      ["ij,jk->ik", [T.tensor([[1, 2]], { dtype: "int32" }), T.tensor([[3], [4]], { dtype: "int32" })]],
    ];
    for (const [spec, ops] of cases) {
      await parity(`einsum ${spec}`, ops, (...xs) => T.einsum(spec, ...xs), { rtol: 1e-5, atol: 1e-5 });
    }
    await sameError("einsum sizes", [a, a], (x, y) => T.einsum("ij,jk->ik", x, y), T.ShapeError, /^einsum: .*label j/);
    await sameError(
      "einsum ... sizes",
      [c3, rnd(19, [3, 4, 5])],
      (x, y) => T.einsum("...ij,...jk->...ik", x, y),
      T.ShapeError,
      /^einsum: /,
    );
  },
});

Deno.test({
  name: "webgpu parity: clip, maximum, minimum, relu, max/min reductions keep NaN exactly",
  ...opt,
  async fn() {
    const x = f32([-2, -1, -0.5, 0, 0.5, 1, 2, NaN, Infinity, -Infinity, -0]);
    await parity("clip", [x], (a) => [
      T.clip(a, 0, 1),
      T.clip(a, -0.5, null),
      T.clip(a, null, 0.5),
      T.clip(a, 1, 0),
      T.clip(a, NaN, 1),
      T.relu(a),
    ], { exact: true });
    await parity("clip tensor bounds", [rnd(20, [3, 4]), rnd(21, [4]), T.add(rnd(22, [3, 1]), 1)], T.clip, {
      exact: true,
    });
    await parity(
      "clip int32",
      [T.tensor([3, -1, 7, 0], { dtype: "int32" })],
      (a) => [T.clip(a, 0, 5), T.clip(a, 0.5, 5.5)],
      {
        exact: true,
      },
    );
    await parity("maximum, minimum", [x, f32([NaN])], (a, n) => [
      T.maximum(a, n),
      T.minimum(n, a),
      T.maximum(a, 0),
      T.minimum(0, a),
    ], { exact: true });
    const holes = T.where(T.greater(rnd(23, [3, 5000]), 3), NaN, rnd(24, [3, 5000]));
    for (const s of [special(), holes]) {
      await parity(
        "max, min",
        [s],
        (a) => [T.max(a), T.min(a, { axis: 0 }), T.max(a, { axis: 1 }), T.argmin(a, { axis: 1 })],
        {
          exact: true,
        },
      );
    }
    await sameError(
      "clip broadcast",
      [rnd(25, [3, 4]), rnd(26, [3])],
      (a, l) => T.clip(a, l, null),
      T.ShapeError,
      /^clip:/,
    );
  },
});

const g1 = (f: (x: Tensor) => Tensor) => T.grad((x: Tensor) => T.sum(f(x)));

Deno.test({
  name: "webgpu parity: gradients of the ordering and special ops (ties, NaN, zeros of cumprod, clip at its bounds)",
  ...opt,
  async fn() {
    const tied = ties(30, [4, 6]), w = rnd(31, [4, 6]);
    await parity("sort, topk, max", [tied, w, special(), rnd(35, [3, 6])], (x, v, s, u) => [
      g1((a) => T.mul(T.sort(a, { axis: 0, descending: true }), v))(x),
      g1((a) => T.mul(T.sort(a), u))(s),
      g1((a) => T.topk(a, 3).values)(x),
      g1((a) => T.max(a, { axis: 1 }))(x),
    ], { exact: true });
    const zeros = f32([1, 0, 2, 0, 3, 2, -1, 0.5, 4, 0]).reshape([2, 5]);
    await parity("cumsum, cumprod", [rnd(32, [5, 7]), zeros], (x, z) => [
      g1((a) => T.mul(T.cumsum(a, -1, { reverse: true }), T.sin(a)))(x),
      g1((a) => T.mul(T.cumprod(a, 1), T.cos(a)))(z),
      g1((a) => T.cumprod(a, 0, { reverse: true }))(z),
    ], { rtol: 1e-5, atol: 1e-6 });
    const sp = f32([-100, -20, -1, -1e-7, 0, 1e-7, 1, 20, 100, 1e30]);
    await parity("special", [sp], (x) => [
      g1((a) => T.log1p(T.abs(a)))(x),
      g1((a) => T.expm1(T.clip(a, -50, 50)))(x),
      g1(T.softplus)(x),
      g1(T.logSigmoid)(x),
    ], { rtol: 1e-6, atol: 1e-37 });
    await parity("clip", [f32([-1, 0, 0.5, 1, 2, NaN]), T.zeros([6]), T.ones([6])], (x, lo, hi) => [
      ...T.grad((a: Tensor, l: Tensor, h: Tensor) => T.sum(T.clip(a, l, h)), { argnums: [0, 1, 2] })(x, lo, hi),
      g1((a) => T.maximum(a, f32([NaN, 1, 3, 1, 2, 0])))(x),
    ], { exact: true });
    await parity(
      "einsum",
      [rnd(33, [2, 1, 3, 4]), rnd(34, [5, 4, 2])],
      (a, b) =>
        T.grad((x: Tensor, y: Tensor) => T.sum(T.sin(T.einsum("...ij,...jk->...ik", x, y))), { argnums: [0, 1] })(a, b),
      { rtol: 1e-5, atol: 1e-6 },
    );
  },
});

Deno.test({
  name: "webgpu parity: vmap, jit replay, scan, foriLoop, checkpoint, jacrev/jacfwd/hessian on webgpu tensors",
  ...opt,
  async fn() {
    const B = rnd(40, [3, 5, 7]), BT = ties(41, [3, 4, 6]);
    const tol = { rtol: 1e-5, atol: 1e-6 };
    await parity("vmap ordering", [BT], (x) => [
      T.vmap((a: Tensor) => T.sort(a, { axis: 0 }), { inAxes: 1 })(x),
      T.vmap((a: Tensor) => T.argsort(a, { descending: true, axis: -2 }))(x),
      T.vmap((a: Tensor) => T.argmax(a))(x),
      T.vmap((a: Tensor) => T.topk(a, 2, { axis: 0 }).values, { outAxes: 1 })(x),
      T.vmap((a: Tensor) => T.cumprod(a, 0, { reverse: true }), { inAxes: 2 })(x),
      T.vmap(T.vmap((r: Tensor) => T.sort(r)))(x),
      T.vmap(g1((a) => T.topk(a, 2).values))(x),
    ], { exact: true });
    await parity("vmap clip, special, einsum", [B, rnd(42, [3]), rnd(43, [4, 7])], (x, lo, m) => [
      T.vmap((a: Tensor, l: Tensor) => T.clip(a, l, 1))(x, lo),
      T.vmap((a: Tensor) => T.stack([T.log1p(T.abs(a)), T.expm1(a), T.softplus(a), T.logSigmoid(a)]))(x),
      T.vmap((a: Tensor) => T.einsum("...j,kj->...k", a, m))(x),
      T.vmap(g1((a) => T.cumprod(T.add(a, 2), -1)))(x),
    ], { rtol: 1e-5, atol: 1e-6 });
    // per-example gradients of a softplus regression
    await parity("vmap(grad)", [rnd(44, [4, 3]), rnd(45, [3, 2]), rnd(46, [4, 2])], (xs, w, ys) =>
      T.vmap(
        T.grad((p: Tensor, x: Tensor, y: Tensor) => T.sum(T.softplus(T.sub(T.matmul(T.reshape(x, [1, 3]), p), y)))),
        { inAxes: [null, 0, 0] },
      )(w, xs, ys), tol);
    // jit: traced on the first call, replayed on the next ones (the replay must use the new values)
    const f = T.jit((x: Tensor, v: Tensor) => T.sum(T.mul(T.softplus(T.cumsum(x, -1)), v), { axis: -1 }));
    const g = T.jit(g1((x) => T.mul(T.sort(x), T.arange(7, undefined, 1, { like: x }))));
    const h = T.jit((x: Tensor) => [T.topk(x, 3).indices, T.argmax(x, { axis: 0 }), T.clip(x, -0.5, 0.5)]);
    await parity("jit", [rnd(47, [5, 7]), rnd(48, [7])], (x, v) => [
      f(x, v),
      f(T.mul(x, 2), v),
      g(x),
      g(T.neg(x)),
      ...h(x),
      ...h(T.mul(x, 3)),
    ], tol);
    // scan, foriLoop and checkpoint
    const X = rnd(49, [5, 7]);
    await parity("scan", [X, rnd(50, [7])], (x, v) => [
      ...T.scan(
        (c: Tensor, r: Tensor) => {
          const m = T.maximum(c, r);
          return [m, T.argmax(m)];
        },
        T.full([7], -Infinity, { like: x }),
        x,
      ),
      T.scan((c: Tensor, r: Tensor) => [T.add(c, r), T.add(c, r)], T.zeros([7], { like: x }), x, { reverse: true })[1],
      T.grad((p: Tensor) =>
        T.sum(
          T.scan(
            (c: Tensor, r: Tensor) => {
              const s = T.tanh(T.add(T.mul(c, p), r));
              return [s, T.softplus(s)];
            },
            T.zeros([7], { like: p }),
            x,
          )[1],
        )
      )(v),
    ], tol);
    await parity("foriLoop, checkpoint", [f32([0.5, -0.2]), X, rnd(51, [7, 7])], (c, x, w) => [
      T.foriLoop(0, 5, (i, a: Tensor) => T.add(T.mul(a, T.log1p(T.abs(a))), i), c),
      g1((a) => T.foriLoop(0, 4, (_i, b: Tensor) => T.softplus(T.mul(b, 1.5)), a))(c),
      g1((v) => T.checkpoint((a: Tensor, b: Tensor) => T.logSigmoid(T.einsum("ij,jk->ik", a, b)))(x, v))(w),
      g1((a) => T.checkpoint((b: Tensor) => T.cumsum(T.sort(b), -1))(a))(ties(52, [4, 6])),
    ], tol);
    const p = f32([0.3, -1, 2, 0.5]);
    await parity("jacobians", [p], (x) => [
      T.jacrev((a: Tensor) => T.cumsum(T.softplus(a)))(x),
      T.jacfwd((a: Tensor) => T.cumsum(T.softplus(a)))(x),
      T.jacrev((a: Tensor) => T.sort(a))(x),
      T.jacfwd((a: Tensor) => T.topk(a, 2).values)(x),
      T.hessian((a: Tensor) => T.sum(T.logSigmoid(T.einsum("i,i->i", a, a))))(x),
      T.hessian((a: Tensor) => T.sum(T.cumprod(a)))(x),
      T.vmap(T.jacrev((a: Tensor) => T.cumsum(T.log1p(T.square(a)))))(T.reshape(T.concat([x, x, x]), [3, 4])),
    ], tol);
  },
});

Deno.test({
  name: "webgpu parity: optim chain, clipByGlobalNorm, masked, sgd, adam, adamw and schedules over several steps",
  ...opt,
  async fn() {
    const { optim: O } = T;
    type P = { a: Tensor; b: Tensor; frozen: Tensor };
    const loss = (p: P) => {
      const x = T.reshape(T.arange(8, undefined, 1, { dtype: "float32", like: p.a }), [2, 4]);
      return T.add(T.sum(T.softplus(T.matmul(x, p.a))), T.add(T.sum(T.square(p.b)), T.sum(T.mul(p.frozen, 0.1))));
    };
    // deno-lint-ignore no-explicit-any
    const steps = (opt: any, n = 4) => (a: Tensor, b: Tensor, frozen: Tensor) => {
      let p: P = { a, b, frozen }, s = opt.init(p);
      for (let i = 0; i < n; i++) ({ params: p, state: s } = opt.update(T.grad(loss)(p), s, p));
      return [p.a, p.b, p.frozen];
    };
    const ins = [rnd(60, [4, 3]), rnd(61, [3]), rnd(62, [2, 2])];
    const mask = { a: true, b: true, frozen: false };
    const opts: [string, unknown][] = [
      ["sgd", O.sgd({ lr: 0.1 })],
      ["sgd nesterov", O.sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
      ["adam", O.adam({ lr: 0.05 })],
      ["adamw", O.adamw({ lr: 0.05, weightDecay: 0.1 })],
      ["warmup cosine", O.adam({ lr: O.warmupCosineSchedule({ peakValue: 0.1, warmupSteps: 2, decaySteps: 5 }) })],
      ["tensorSchedule", O.sgd({ lr: O.tensorSchedule((c) => T.div(0.1, T.add(T.astype(c, "float32"), 1))) })],
      ["chain", O.chain(O.clipByGlobalNorm(0.5), O.adam({ lr: 0.05 }))],
      ["chain masked", O.chain(O.clipByGlobalNorm(1), O.masked(O.adamw({ lr: 0.05 }), mask))],
      ["masked sgd", O.masked(O.sgd({ lr: 0.1 }), { a: false, b: true, frozen: false })],
    ];
    // float32 rounding only: Adam's 1 − β₂ᵗ is −expm1(t·ln β₂) in float32 (1 − β₂ᵗ from β₂ rounded to
    // float32 moved every step by ~6e−6 of itself, past this tolerance)
    for (const [name, o] of opts) await parity(name, ins, steps(o), { rtol: 1e-5, atol: 1e-6 });
    await parity("transformations", ins, (a, b, frozen) => {
      const t = O.chain(O.clipByGlobalNorm(0.3), O.addDecayedWeights(0.01), O.scaleByLearningRate(0.1));
      let p: P = { a, b, frozen }, s = t.init(p);
      for (let i = 0; i < 3; i++) {
        const r = t.update(T.grad(loss)(p), s, p);
        p = O.applyUpdates(p, r.updates);
        s = r.state;
      }
      return [p.a, p.b, p.frozen];
    }, { rtol: 1e-5, atol: 1e-6 });
    await parity("clip of zero and NaN gradients", [T.zeros([3]), f32([NaN, 1, 2])], (z, n) => {
      const t = O.clipByGlobalNorm(1);
      const up = (g: Tensor) => (t.update({ g }, t.init({}), {}).updates as { g: Tensor }).g;
      return [up(z), up(n)];
    }, { exact: true });
  },
});

Deno.test({
  name: "webgpu parity: x − x and x + (−x) are NaN at ±∞ and NaN, fused or not (a compiler may fold them to 0)",
  ...opt,
  async fn() {
    const gpu = (await T.toBackend(T.zeros([1]), "webgpu")).backend as unknown as { fusion: boolean };
    const x = f32([Infinity, -Infinity, NaN, -0, 0, 1, 3e38]);
    try {
      for (const fusion of [true, false]) {
        gpu.fusion = fusion;
        await parity(`fusion ${fusion}`, [x], (a) => {
          const big = T.mul(a, a);
          return [
            T.sub(a, a),
            T.add(a, T.neg(a)),
            T.add(T.neg(a), a),
            T.isnan(T.sub(big, big)),
            T.isfinite(T.sub(T.add(a, 1), a)),
            T.sub(T.add(a, 1e-8), 1e-8),
          ];
        }, { exact: true });
      }
    } finally {
      gpu.fusion = true;
    }
  },
});

Deno.test({
  name: "webgpu parity: int32 matmul and einsum exact past 2²⁴ (they went through float32 and rounded)",
  ...opt,
  async fn() {
    const ints = (seed: number, shape: number[], hi: number) =>
      T.astype(T.floor(T.uniform(T.key(seed), shape, { min: -hi, max: hi })), "int32");
    const one = T.tensor([[4097]], { dtype: "int32" }); // 4097² = 16785409 is no float32
    await parity("4097²", [one, one], T.matmul, { exact: true });
    const [a, b] = [ints(1, [3, 5, 7], 5000), ints(2, [3, 7, 5], 5000)];
    await parity("transposes", [a, b], (x, y) => [
      T.matmul(x, y),
      T.matmulT(T.matrixTranspose(x), y, true, false),
      T.matmulT(x, T.matrixTranspose(y), false, true),
    ], { exact: true });
    await parity("batches", [ints(3, [2, 1, 4, 6], 3000), ints(4, [3, 6, 2], 3000), ints(5, [6], 3000)], (x, y, v) => [
      T.matmul(x, y),
      T.matmul(v, y),
      T.einsum("...ij,...jk->...ik", x, y),
      T.einsum("bcij,bcij->b", x, x),
    ], { exact: true });
  },
});

Deno.test({
  name: "an axis given for a 0-d tensor is a ShapeError saying it has no axes (it read 'use an axis in [0, -1]')",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = T.tensor(2.5);
    for (
      const [op, f] of [["argmax", (x: Tensor) => T.argmax(x, { axis: 0 })], [
        "sum",
        (x: Tensor) => T.sum(x, { axis: -1 }),
      ]] as const
    ) {
      await sameError(
        op,
        [s],
        f,
        T.ShapeError,
        new RegExp(`^${op}: axis -?[01] is out of range for a 0-d tensor, which has no axes`),
      );
    }
    assert.throws(
      () => T.sort(T.ones([3]), { axis: 1 }),
      /sort: axis 1 is out of range for a tensor with 1 axis; use an axis in \[-1, 0\]/,
    );
  },
});
