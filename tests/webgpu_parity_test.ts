/**
 * CPU-versus-WebGPU parity: every core primitive and a gradient of a small MLP, on random shapes
 * and values (fast-check), at float32 tolerance. Runs on whatever adapter is present (llvmpipe in
 * CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { DType, Tensor, TypedArray } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_parity_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const RUNS = 8;

/** |g − c| ≤ atol + rtol·|c| elementwise (NaN matches NaN, ±∞ matches itself). */
function assertClose(got: TypedArray, want: TypedArray, what: string, rtol = 2e-5, atol = 2e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = Number(got[i]), c = Number(want[i]);
    if (Number.isNaN(c) && Number.isNaN(g)) continue;
    if (g === c) continue;
    assert.ok(Math.abs(g - c) <= atol + rtol * Math.abs(c), `${what}: element ${i}: webgpu ${g}, cpu ${c}`);
  }
}

/** Runs `f` on CPU tensors and on their WebGPU copies; compares every output. */
async function parity(
  what: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  tol: { rtol?: number; atol?: number } = {},
): Promise<void> {
  const cpuOut = [f(...inputs)].flat();
  const gpuIn = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  // ops that make helper tensors (take's index list, eye, arange) make them on the default backend
  await T.useBackend("webgpu");
  let gpuOut: Tensor[];
  try {
    gpuOut = [f(...gpuIn)].flat();
  } finally {
    await T.useBackend("cpu");
  }
  const got = await Promise.all(gpuOut.map((t) => t.data()));
  cpuOut.forEach((c, i) => {
    assert.deepEqual(gpuOut[i].shape, c.shape, `${what}: shape`);
    assert.equal(gpuOut[i].dtype, c.dtype, `${what}: dtype`);
    assertClose(got[i], c.dataSync(), what, tol.rtol, tol.atol);
  });
}

/** Runs a creation function with each backend as the default. */
async function parityCreate(what: string, f: () => Tensor, tol: { rtol?: number; atol?: number } = {}) {
  const c = f();
  await T.useBackend("webgpu");
  let g: Tensor;
  try {
    g = f();
  } finally {
    await T.useBackend("cpu");
  }
  assert.equal(g.backend.name, "webgpu");
  assert.deepEqual(g.shape, c.shape);
  assertClose(await g.data(), c.dataSync(), what, tol.rtol, tol.atol);
}

const shapeArb = (maxRank = 3, maxDim = 5) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 0, maxLength: maxRank });

function tensorArb(shape: number[], lo = -2, hi = 2, dtype: DType = "float32"): fc.Arbitrary<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  // GPUs flush float32 subnormals to zero: keep magnitudes ≥ 1e-30 (or exactly 0)
  const el = dtype === "float32"
    ? fc.oneof(
      fc.double({ min: lo, max: hi, noNaN: true }).map((v) => (Math.abs(v) < 1e-30 ? 0 : v)),
      fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }),
    )
    : fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) });
  return fc.array(el, { minLength: n, maxLength: n }).map((v) =>
    T.tensor(dtype === "bool" ? v.map((x) => x > 0) : v, { shape, dtype })
  );
}

/** Two shapes that broadcast together: drop leading axes and set some extents to 1. */
const broadcastPair = shapeArb(4).chain((s) =>
  fc.tuple(
    fc.integer({ min: 0, max: s.length }),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
  ).map(([drop, ma, mb]) => [s.slice(drop).map((d, i) => (ma[i + drop] ? 1 : d)), s.map((d, i) => (mb[i] ? 1 : d))])
);

const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "webgpu parity: unary ops on random shapes",
  ...opt,
  async fn() {
    const ops: [string, (x: Tensor) => Tensor, number, number][] = [
      ["neg", T.neg, -3, 3],
      ["abs", T.abs, -3, 3],
      ["sign", T.sign, -3, 3],
      ["exp", T.exp, -20, 20],
      ["log", T.log, 1e-3, 100],
      ["sqrt", T.sqrt, 0, 100],
      ["tanh", T.tanh, -12, 12],
      ["sin", T.sin, -20, 20],
      ["cos", T.cos, -20, 20],
      ["erf", T.erf, -5, 5],
      ["floor", T.floor, -5, 5],
      ["sigmoid", T.sigmoid, -10, 10],
      ["gelu", (x) => T.gelu(x), -5, 5],
    ];
    for (const [name, f, lo, hi] of ops) {
      await fc.assert(
        fc.asyncProperty(shapeArb().chain((s) => tensorArb(s, lo, hi)), (x) => parity(name, [x], f, { atol: 1e-6 })),
        { numRuns: 4 },
      );
    }
    // int32 unary ops
    await fc.assert(
      fc.asyncProperty(
        shapeArb().chain((s) => tensorArb(s, -50, 50, "int32")),
        (x) => parity("int unary", [x], (a) => [T.neg(a), T.abs(a), T.sign(a)]),
      ),
      { numRuns: 4 },
    );
  },
});

Deno.test({
  name: "webgpu parity: binary ops with broadcasting, comparisons, where",
  ...opt,
  async fn() {
    const arb = broadcastPair.chain(([sa, sb]) => fc.tuple(tensorArb(sa, -3, 3), tensorArb(sb, -3, 3)));
    await fc.assert(
      fc.asyncProperty(arb, (xs) =>
        parity("arith", xs, (a, b) => [
          T.add(a, b),
          T.sub(a, b),
          T.mul(a, b),
          T.div(a, T.add(T.abs(b), 0.5)),
          T.maximum(a, b),
          T.minimum(a, b),
          T.pow(T.add(T.abs(a), 0.1), b),
          T.add(a, 2.5),
          T.mul(3, b),
        ])),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(arb, (xs) =>
        parity("compare", xs, (a, b) => [
          T.equal(a, b),
          T.notEqual(a, b),
          T.less(a, b),
          T.lessEqual(a, b),
          T.greater(a, b),
          T.greaterEqual(a, b),
          T.where(T.greater(a, b), a, b),
          T.where(T.less(a, 0), 1, b),
        ])),
      { numRuns: RUNS },
    );
    const iarb = broadcastPair.chain(([sa, sb]) =>
      fc.tuple(tensorArb(sa, -9, 9, "int32"), tensorArb(sb, -9, 9, "int32"))
    );
    await fc.assert(
      fc.asyncProperty(
        iarb,
        (xs) => parity("int", xs, (a, b) => [T.add(a, b), T.sub(a, b), T.mul(a, b), T.maximum(a, b), T.less(a, b)]),
      ),
      { numRuns: 6 },
    );
  },
});

Deno.test({
  name: "webgpu parity: casts between float32, int32 and bool",
  ...opt,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shapeArb().chain((s) => tensorArb(s, -9, 9)), (x) =>
        parity("cast", [x], (a) => {
          const i = T.astype(a, "int32"), b = T.astype(a, "bool");
          return [i, b, T.astype(i, "float32"), T.astype(b, "float32"), T.astype(b, "int32"), T.astype(i, "bool")];
        })),
      { numRuns: RUNS },
    );
  },
});

Deno.test({
  name: "webgpu parity: reductions over random axes",
  ...opt,
  async fn() {
    const arb = shapeArb(4, 4).filter((s) => s.length > 0).chain((s) =>
      fc.tuple(
        tensorArb(s, 0.5, 1.5),
        fc.subarray([...s.keys()], { minLength: 1 }),
        fc.boolean(),
      )
    );
    await fc.assert(
      fc.asyncProperty(arb, ([x, axes, keepdims]) =>
        parity("reduce", [x], (a) => [
          T.sum(a, { axis: axes, keepdims }),
          T.prod(a, { axis: axes, keepdims }),
          T.max(a, { axis: axes, keepdims }),
          T.min(T.neg(a), { axis: axes, keepdims }),
          T.mean(a, { axis: axes }),
          T.sum(T.astype(T.greater(a, 1), "int32"), { axis: axes }),
          T.max(T.greater(a, 1), { axis: axes }),
        ])),
      { numRuns: RUNS },
    );
    // multi-pass paths: long rows, a full reduction of many elements, long columns
    const big = (shape: number[]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return T.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.25), { shape });
    };
    await parity("rows", [big([3, 5000])], (a) => [T.sum(a, { axis: 1 }), T.max(a, { axis: 1 })], { rtol: 1e-4 });
    await parity("full", [big([70001])], (a) => [T.sum(a), T.min(a)], { rtol: 1e-4 });
    await parity("cols", [big([300, 70])], (a) => [T.sum(a, { axis: 0 }), T.max(a, { axis: 0 })], { rtol: 1e-4 });
    await parity("middle", [big([2, 700, 3])], (a) => [T.sum(a, { axis: 1 }), T.sum(a, { axis: [0, 2] })], {
      rtol: 1e-4,
    });
    await parity("logsumexp", [big([4, 33])], (a) => [T.logsumexp(a, { axis: 1 }), T.softmax(a)]);
  },
});

Deno.test({
  name: "webgpu parity: transpose, broadcast, slice, pad, concat, take, scatterAdd",
  ...opt,
  async fn() {
    const arb = shapeArb(4).filter((s) => s.length > 0).chain((s) =>
      fc.tuple(
        tensorArb(s),
        fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }),
        fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: s.length, maxLength: s.length }),
        fc.nat(s.length - 1),
      )
    );
    await fc.assert(
      fc.asyncProperty(arb, ([x, perm, widths, axis]) =>
        parity("layout", [x], (a) => {
          const d = a.shape[axis];
          const ranges = a.shape.map((e, i) => (i === axis ? [Math.floor(e / 2), e] as [number, number] : null));
          return [
            T.transpose(a, perm),
            T.broadcastTo(a, [2, ...a.shape]),
            T.slice(a, ranges),
            T.pad(a, widths, 1.5),
            T.concat([a, T.mul(a, 2), a], axis),
            T.take(a, [d - 1, 0, -1, Math.floor(d / 2)], axis),
            T.scatterAdd(
              T.tensor(Int32Array.from([0, d - 1, 0, -1]), { shape: [2, 2] }),
              T.reshape(T.take(a, [0, d - 1, 1 % d, 0], axis), [
                ...a.shape.slice(0, axis),
                2,
                2,
                ...a.shape.slice(axis + 1),
              ]),
              axis,
              a.shape,
            ),
            T.diag(T.reshape(a, [a.size])),
            T.triu(T.reshape(a, [1, a.size])),
          ];
        })),
      { numRuns: RUNS },
    );
  },
});

Deno.test({
  name: "webgpu parity: scatterAdd by atomics (many indices) and by the deterministic loop agree with the cpu",
  ...opt,
  async fn() {
    const gpu = (await T.toBackend(T.zeros([1]), "webgpu")).backend as unknown as { scatterLoopLimit: number };
    const idx = T.tensor(Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 13 - (i % 5 === 0 ? 13 : 0)));
    const upd = T.normal(T.key(9), [3, 300, 4]);
    const f = (
      i: Tensor,
      u: Tensor,
    ) => [T.scatterAdd(i, u, 1, [3, 13, 4]), T.scatterAdd(i, T.astype(T.floor(u), "int32"), 1, [3, 13, 4])];
    const saved = gpu.scatterLoopLimit;
    try {
      for (const limit of [0, saved]) {
        gpu.scatterLoopLimit = limit;
        await parity(`scatterAdd (limit ${limit})`, [idx, upd], f, { rtol: 1e-5, atol: 1e-5 });
      }
    } finally {
      gpu.scatterLoopLimit = saved;
    }
  },
});

Deno.test({
  name: "webgpu parity: matmul with transposes and broadcast batches",
  ...opt,
  async fn() {
    const arb = fc.tuple(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom<number[][]>([[], []], [[3], [3]], [[2], []], [[], [2]], [[2, 1], [1, 3]]),
      fc.boolean(),
      fc.boolean(),
    ).chain(([m, n, k, [ba, bb], ta, tb]) =>
      fc.tuple(
        tensorArb([...ba, ...(ta ? [k, m] : [m, k])]),
        tensorArb([...bb, ...(tb ? [n, k] : [k, n])]),
        fc.constant([ta, tb]),
      )
    );
    await fc.assert(
      fc.asyncProperty(
        arb,
        ([a, b, [ta, tb]]) => parity("matmul", [a, b], (x, y) => T.matmulT(x, y, ta, tb), { rtol: 1e-5, atol: 1e-5 }),
      ),
      { numRuns: RUNS },
    );
    const ia = T.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    await parity("int matmul", [ia, T.transpose(ia)], (x, y) => T.matmul(x, y));
    await parity("vector matmul", [ia], (x) => T.matmul(T.astype(x, "float32"), T.ones([3])));
  },
});

Deno.test({
  name: "webgpu parity: full and random (bits and float32 uniforms bit-identical)",
  ...opt,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 3 }),
        async (seed, shape) => {
          const k = T.key(seed);
          await parityCreate("bits", () => T.randomBits(k, shape), { rtol: 0, atol: 0 });
          await parityCreate("uniform", () => T.uniform(k, shape), { rtol: 0, atol: 0 });
          await parityCreate("normal", () => T.normal(k, shape), { rtol: 1e-5, atol: 1e-6 });
        },
      ),
      { numRuns: 6 },
    );
    // u·(max − min) + min may be one fused multiply-add on a GPU: one rounding instead of two
    await parityCreate("uniform range", () => T.uniform(T.key(3), [1001], { min: -2, max: 5 }), {
      rtol: 0,
      atol: 5e-7,
    });
    await parityCreate("full", () => T.full([3, 2], 2.5));
    await parityCreate("full int", () => T.full([5], -7, { dtype: "int32" }));
    await parityCreate("full bool", () => T.full([2, 2], 1, { dtype: "bool" }));
    await parityCreate("eye", () => T.eye(4, { m: 3, k: 1 }));
  },
});

Deno.test({
  name: "webgpu parity: gradient of an MLP with cross-entropy",
  ...opt,
  async fn() {
    const arb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.nat(2 ** 31));
    await fc.assert(
      fc.asyncProperty(arb, async ([batch, hidden, seed]) => {
        const ks = T.split(T.key(seed), 5);
        const params = {
          w1: T.mul(T.normal(ks[0], [4, hidden]), 0.5),
          b1: T.normal(ks[1], [hidden]),
          w2: T.mul(T.normal(ks[2], [hidden, 3]), 0.5),
          b2: T.zeros([3]),
        };
        const x = T.normal(ks[3], [batch, 4]);
        const labels = T.astype(T.floor(T.mul(T.uniform(ks[4], [batch]), 3)), "int32");
        const gp = {
          w1: await T.toBackend(params.w1, "webgpu"),
          b1: await T.toBackend(params.b1, "webgpu"),
          w2: await T.toBackend(params.w2, "webgpu"),
          b2: await T.toBackend(params.b2, "webgpu"),
        };
        const gx = await T.toBackend(x, "webgpu"), gl = await T.toBackend(labels, "webgpu");
        const lossOf = (xx: Tensor, ll: Tensor) => (p: typeof params) => {
          const h = T.gelu(T.add(T.matmul(xx, p.w1), p.b1));
          const logits = T.add(T.matmul(h, p.w2), p.b2);
          const lp = T.logSoftmax(logits);
          const picked = T.sum(T.mul(lp, T.oneHot(ll, 3)), { axis: -1 });
          return T.add(T.neg(T.mean(picked)), T.mul(T.sum(T.square(p.w1)), 1e-2));
        };
        const [lc, gc] = T.valueAndGrad(lossOf(x, labels))(params);
        await T.useBackend("webgpu"); // oneHot's arange is made on the default backend
        const [lg, gg] = T.valueAndGrad(lossOf(gx, gl))(gp);
        await T.useBackend("cpu");
        assert.equal(lg.backend.name, "webgpu");
        assertClose(await lg.data(), lc.dataSync(), "loss", 1e-5, 1e-6);
        for (const name of ["w1", "b1", "w2", "b2"] as const) {
          assertClose(await gg[name].data(), gc[name].dataSync(), `grad ${name}`, 1e-4, 1e-5);
        }
      }),
      { numRuns: 5 },
    );
  },
});

Deno.test({
  name: "webgpu parity: triangularSolve (every flag, batched) and an HRA gradient through it",
  ...opt,
  async fn() {
    const arb = fc.tuple(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom<number[]>([], [2]),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      fc.nat(2 ** 31),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ([n, k, batch, lower, transpose, unitDiagonal]) => {
        // well conditioned: diagonal in [1, 2], off-diagonal in [-0.5, 0.5]
        const off = T.uniform(T.key(n * 7 + k), [...batch, n, n], { min: -0.5, max: 0.5 });
        const a = T.add(off, T.mul(T.eye(n), 1.5));
        const b = T.normal(T.key(k), [...batch, n, k]);
        await parity(
          "triangularSolve",
          [a, b],
          (x, y) => T.linalg.solveTriangular(x, y, { lower, transpose, unitDiagonal }),
          { rtol: 1e-4, atol: 1e-5 },
        );
      }),
      { numRuns: 10 },
    );
    // HRA's WY factor: Γ = −2(I + 2·striu(ÛᵀÛ))⁻¹ by a triangular solve, and its gradient
    const { householderWY, unitColumns } = await import("../adapters/hra.ts");
    const U = T.normal(T.key(3), [12, 4]);
    const C = T.normal(T.key(4), [4, 4]);
    const f = (u: Tensor, c: Tensor) => T.grad((v: Tensor) => T.sum(T.mul(householderWY(unitColumns(v)), c)))(u);
    await parity("hra Γ gradient", [U, C], (u, c) => [householderWY(unitColumns(u)), f(u, c)], {
      rtol: 1e-4,
      atol: 1e-5,
    });
  },
});
