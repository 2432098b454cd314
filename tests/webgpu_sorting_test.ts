/**
 * The WebGPU ordering kernels (bitonic sort, tree arg-reduction, parallel scan) against the CPU
 * backend: sort, argsort, topk, argmax and argmin exactly (ties, NaN, ±0, ±∞; rows of 1, 2, 3,
 * 1000, 5000 and one past the sort tile; several axes; int32 and float16), the multi-pass sort with
 * a lowered tile, and cumsum/cumprod (sequential rows exactly, parallel ones within the rounding of a
 * float32 sum in another order; int32 exactly, wrapping). Runs on llvmpipe in CI; skipped with a
 * warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";
import { sortingTuning, sortTile } from "../core/backend/webgpu/sorting_bitonic.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_sorting_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

/** Deterministic values: small integers (many ties), with NaN, ±0 and ±∞ sprinkled in when `special`. */
function data(seed: number, count: number, special = true): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    const r = next();
    if (special && r < 0.03) out[i] = NaN;
    else if (special && r < 0.04) out[i] = [0, -0, Infinity, -Infinity][i % 4];
    else out[i] = Math.floor((next() - 0.5) * 40) / 4;
  }
  return out;
}

const f32 = (seed: number, shape: number[], special = true) =>
  T.tensor(data(seed, shape.reduce((a, b) => a * b, 1), special), { dtype: "float32" }).reshape(shape);

/** `f` on both backends; every output equal bit for bit (NaN matches NaN), or within `close(cpu, i)`. */
async function parity(
  what: string,
  x: Tensor,
  f: (x: Tensor) => Tensor[],
  close?: (cpu: Float64Array, i: number, got: number) => boolean,
): Promise<void> {
  const cpu = f(x);
  const gx = await T.toBackend(x, "webgpu");
  await T.useBackend("webgpu");
  let gpu: Tensor[];
  try {
    gpu = f(gx);
  } finally {
    await T.useBackend("cpu");
  }
  for (const [i, c] of cpu.entries()) {
    assert.equal(gpu[i].backend.name, "webgpu", `${what}: output ${i} left the gpu`);
    assert.deepEqual(gpu[i].shape, c.shape, `${what}: output ${i} shape`);
    assert.equal(gpu[i].dtype, c.dtype, `${what}: output ${i} dtype`);
    const got = await gpu[i].data(), want = Float64Array.from(c.dataSync() as ArrayLike<number>);
    for (let j = 0; j < want.length; j++) {
      const a = Number(got[j]), b = want[j];
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      assert.ok(close?.(want, j, a), `${what}: output ${i} element ${j}: webgpu ${a}, cpu ${b}`);
    }
  }
}

const ordering = (axis: number) => (a: Tensor): Tensor[] => [
  T.sort(a, { axis }),
  T.argsort(a, { axis }),
  T.sort(a, { axis, descending: true }),
  T.argsort(a, { axis, descending: true }),
  T.topk(a, Math.min(3, a.shape.at(axis)!), { axis }).indices,
  T.argmax(a, { axis }),
  T.argmin(a, { axis }),
];

Deno.test({
  name: "webgpu sorting: sort, argsort, topk, argmax, argmin equal the CPU's exactly (rows of 1 … past the tile)",
  ...opt,
  async fn() {
    await T.useBackend("webgpu");
    const tile = sortTile(T.getBackend() as WebGPUBackend);
    await T.useBackend("cpu");
    for (const n of [1, 2, 3, 1000, 5000, tile + 1]) {
      await parity(`rows of ${n}`, f32(n, [3, n]), ordering(-1));
    }
    // every row NaN, or a single row: the first NaN wins, NaN keeps its place among equals
    await parity("all NaN", T.full([2, 37], NaN), ordering(1));
    await parity("one row of 4097", f32(7, [4097]), ordering(0));
    // past 65,535 loop iterations per invocation (llvmpipe ends longer loops: the old one-thread-per-row kernels broke)
    await parity("one row of 100,000", f32(8, [100_000]), (a) => [T.argsort(a), T.argmax(a), T.cumsum(T.isnan(a))]);
    // other axes (strided rows), 3-d
    const x = f32(11, [5, 300, 3]);
    for (const axis of [0, 1, 2]) await parity(`3-d axis ${axis}`, x, ordering(axis));
    // many short rows: several rows per workgroup
    await parity("many short rows", f32(12, [700, 5]), ordering(1));
  },
});

Deno.test({
  name: "webgpu sorting: int32 and float16 rows sort and arg-reduce as on the CPU",
  ...opt,
  async fn() {
    const ints = Int32Array.from(
      data(21, 3 * 2000, false),
      (v, i) => (i % 97 === 0 ? (i % 2 ? -(2 ** 31) : 2 ** 31 - 1) : v * 8),
    );
    const xi = T.tensor(ints, { dtype: "int32" }).reshape([3, 2000]);
    await parity("int32", xi, ordering(1));
    await parity("int32 axis 0", xi, ordering(0));
    const h = T.astype(f32(22, [4, 1500]), "float16");
    await parity("float16", h, ordering(1));
  },
});

Deno.test({
  name: "webgpu sorting: the multi-pass sort (a tile of 64) equals the CPU's, frees its scratch buffers",
  ...opt,
  async fn() {
    const old = sortingTuning.tile;
    sortingTuning.tile = 64;
    try {
      for (const n of [65, 300, 1000]) await parity(`tile 64, rows of ${n}`, f32(30 + n, [3, n]), ordering(-1));
      await parity("tile 64, axis 0", f32(33, [513, 2, 3]), ordering(0));
      const x = await T.toBackend(f32(34, [4, 1000]), "webgpu");
      await T.useBackend("webgpu");
      try {
        const before = webgpuMemory().liveBuffers;
        const v = T.scope(() => {
          const v = T.sort(x);
          // the two scratch buffers went back to the pool: only the values and positions are live
          assert.equal(webgpuMemory().liveBuffers - before, 2);
          return v;
        });
        assert.equal(webgpuMemory().liveBuffers - before, 1);
        assert.deepEqual(Array.from(await v.data()), Array.from(T.sort(await T.toBackend(x, "cpu")).dataSync()));
      } finally {
        await T.useBackend("cpu");
      }
    } finally {
      sortingTuning.tile = old;
    }
  },
});

/**
 * Within the rounding of a float32 scan in any order of depth ≲ 30: |webgpu − exact| ≤ rtol · Σ|x|
 * over the running sum's terms (rtol · |exact| · √terms / 5 for a product), the exact scan in float64 over the
 * [outer, n, inner] layout (from the end when `reverse`). Where the exact scan is ±∞ or NaN the
 * values must match the CPU's bit for bit.
 */
function scanClose(
  x: Float32Array,
  [outer, n, inner]: [number, number, number],
  op: "sum" | "prod",
  reverse = false,
  rtol = 2e-6,
) {
  const exact = new Float64Array(x.length), scale = new Float64Array(x.length);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      let acc = op === "sum" ? 0 : 1, abs = 0;
      for (let j = 0; j < n; j++) {
        const at = a * n * inner + (reverse ? n - 1 - j : j) * inner + b;
        acc = op === "sum" ? acc + x[at] : acc * x[at];
        abs += Math.abs(x[at]);
        exact[at] = acc;
        // a product in any order rounds once per factor: a random walk of j + 1 roundings
        scale[at] = op === "sum" ? abs : Math.abs(acc) * Math.sqrt(j + 1) / 5;
      }
    }
  }
  return (_cpu: Float64Array, i: number, got: number) =>
    Number.isFinite(exact[i]) && Math.abs(got - exact[i]) <= rtol * scale[i];
}

Deno.test({
  name:
    "webgpu sorting: cumsum and cumprod (sequential rows exactly, parallel ones within a float32 scan's rounding of the exact one, int32 exactly)",
  ...opt,
  async fn() {
    // short rows run sequentially: the CPU's rounding, bit for bit
    await parity("short rows", f32(40, [9, 64]), (a) => [
      T.cumsum(a, 1),
      T.cumprod(a, 1, { reverse: true }),
      T.cumsum(a, 0, { reverse: true }),
    ]);
    for (const n of [65, 1000, 2049, 5000]) {
      const v = Float32Array.from(data(41 + n, 2 * n, false), (t) => t + 0.1);
      const x = T.tensor(v).reshape([2, n]);
      await parity(`cumsum rows of ${n}`, x, (a) => [T.cumsum(a, 1)], scanClose(v, [2, n, 1], "sum"));
      await parity(
        `cumsum reverse rows of ${n}`,
        x,
        (a) => [T.cumsum(a, 1, { reverse: true })],
        scanClose(v, [2, n, 1], "sum", true),
      );
      // a product that stays near 1
      const p = Float32Array.from(data(42 + n, 2 * n, false), (t) => 1 + t / 1000);
      await parity(
        `cumprod rows of ${n}`,
        T.tensor(p).reshape([2, n]),
        (a) => [T.cumprod(a, 1)],
        scanClose(p, [2, n, 1], "prod"),
      );
    }
    // NaN and ∞ propagate forward as on the CPU
    await parity("NaN", f32(43, [2, 3000]), (a) => [T.cumsum(a, 1)], scanClose(data(43, 6000), [2, 3000, 1], "sum"));
    // strided rows (axis 0 of a 3-d tensor) and a second parallel level (block totals scanned in parallel)
    const old = sortingTuning.seqScan;
    sortingTuning.seqScan = 2;
    try {
      const v = Float32Array.from(data(44, 5000 * 3, false), (t) => t + 0.1);
      const x = T.tensor(v).reshape([5000, 3]);
      await parity("axis 0, two levels", x, (a) => [T.cumsum(a, 0)], scanClose(v, [1, 5000, 3], "sum"));
      const r = T.reshape(x, [2, 2500, 3]);
      await parity(
        "axis 1 reversed, two levels",
        r,
        (a) => [T.cumprod(T.add(T.mul(a, 1e-3), 1), 1, { reverse: true })],
        scanClose(Float32Array.from(v, (t) => Math.fround(Math.fround(t * 1e-3) + 1)), [2, 2500, 3], "prod", true),
      );
    } finally {
      sortingTuning.seqScan = old;
    }
    // int32 wraps identically whatever the order of the sums and products
    const ints = Int32Array.from(data(45, 3 * 4000, false), (t, i) => (i % 50 === 0 ? 2 ** 30 + i : t * 4 + 1));
    const xi = T.tensor(ints, { dtype: "int32" }).reshape([3, 4000]);
    await parity(
      "int32",
      xi,
      (a) => [T.cumsum(a, 1), T.cumprod(a, 1), T.cumsum(a, 0), T.cumsum(a, 1, { reverse: true })],
    );
  },
});
