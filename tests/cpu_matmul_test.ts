import assert from "node:assert/strict";
import fc from "fast-check";
import { type DType, matmulT, tensor } from "../mod.ts";
import { gemm } from "../core/backend/cpu/matmul.ts";
import { setDirectPanels, setMatmulThreads, setPassBytes, workerTaskCount } from "../core/backend/cpu/wasm/gemm.ts";
import { F32_SHAPE, F64_SHAPE, gemmModuleBytes } from "../core/backend/cpu/wasm/gemm_kernel.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";

/** Deterministic uniform [-1, 1) values (mulberry32). */
function randoms(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out.push((((t ^ (t >>> 14)) >>> 0) / 2 ** 31) - 1);
  }
  return out;
}

/** One product case: batch shapes of a and b (broadcasting), m, n, k and the transposes. */
interface Case {
  batchA: number[];
  batchB: number[];
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/**
 * op(a) @ op(b) by a naive float64 loop (batch broadcast); also returns Σ|a||b| per output, the
 * scale of rounding errors.
 */
function naive(c: Case, a: ArrayLike<number>, b: ArrayLike<number>) {
  const { m, n, k, transA, transB } = c;
  const nd = Math.max(c.batchA.length, c.batchB.length);
  const pa = [...Array(nd - c.batchA.length).fill(1), ...c.batchA];
  const pb = [...Array(nd - c.batchB.length).fill(1), ...c.batchB];
  const batch = pa.map((x, i) => Math.max(x, pb[i]));
  const nb = batch.reduce((x, y) => x * y, 1);
  const out = new Float64Array(nb * m * n), scale = new Float64Array(nb * m * n);
  for (let t = 0; t < nb; t++) {
    // batch index → offsets into a and b (size-1 axes broadcast)
    let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const x = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      ia += (pa[d] === 1 ? 0 : x) * sa;
      ib += (pb[d] === 1 ? 0 : x) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, g = 0;
        for (let p = 0; p < k; p++) {
          const x = a[ia * m * k + (transA ? p * m + i : i * k + p)];
          const y = b[ib * k * n + (transB ? j * k + p : p * n + j)];
          s += x * y;
          g += Math.abs(x * y);
        }
        out[t * m * n + i * n + j] = s;
        scale[t * m * n + i * n + j] = g;
      }
    }
  }
  return { out, scale, shape: [...batch, m, n] };
}

/** Runs `matmulT` on the case and checks it against `naive` within `tol`·Σ|a||b|; returns the result. */
function check(c: Case, dtype: DType, seed: number, tol: number): Float64Array | Float32Array {
  const aShape = [...c.batchA, ...(c.transA ? [c.k, c.m] : [c.m, c.k])];
  const bShape = [...c.batchB, ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const T = dtype === "float32" ? Float32Array : Float64Array;
  const a = T.from(randoms(size(aShape), seed)), b = T.from(randoms(size(bShape), seed + 1));
  const got = matmulT(tensor(a, { shape: aShape, dtype }), tensor(b, { shape: bShape, dtype }), c.transA, c.transB);
  const want = naive(c, a, b);
  assert.deepEqual(got.shape, want.shape);
  const g = got.dataSync() as Float32Array | Float64Array;
  for (let i = 0; i < g.length; i++) {
    const err = Math.abs(g[i] - want.out[i]);
    if (!(err <= tol * want.scale[i])) {
      assert.fail(`${dtype} ${JSON.stringify(c)}: element ${i} is ${g[i]}, want ${want.out[i]} (err ${err})`);
    }
  }
  return g;
}

const tol = (dtype: DType) => (dtype === "float32" ? 1e-5 : 1e-12);

const dims = fc.integer({ min: 1, max: 70 });
const batch = fc.oneof(
  fc.constant<[number[], number[]]>([[], []]),
  fc.constant<[number[], number[]]>([[3], [3]]),
  fc.constant<[number[], number[]]>([[2, 1], [3]]),
  fc.constant<[number[], number[]]>([[], [2]]),
);
const cases = fc.record({ bt: batch, m: dims, n: dims, k: dims, transA: fc.boolean(), transB: fc.boolean() })
  .map(({ bt, ...r }): Case => ({ batchA: bt[0], batchB: bt[1], ...r }));

Deno.test("cpu matmul float64: random odd shapes, transposes, batches vs naive loop (1e-12)", () => {
  fc.assert(fc.property(cases, fc.nat(1000), (c, seed) => void check(c, "float64", seed, tol("float64"))), {
    numRuns: 80,
  });
});

Deno.test("cpu matmul float32: random odd shapes, transposes, batches vs naive loop (1e-5)", () => {
  fc.assert(fc.property(cases, fc.nat(1000), (c, seed) => void check(c, "float32", seed, tol("float32"))), {
    numRuns: 80,
  });
});

Deno.test("cpu matmul: 257×129×300 (threaded size) vs naive; same bits on one thread and in small passes", () => {
  const c = (transA: boolean, transB: boolean): Case => ({
    batchA: [],
    batchB: [],
    m: 257,
    n: 129,
    k: 300,
    transA,
    transB,
  });
  for (const dtype of ["float32", "float64"] as const) {
    for (const [ta, tb] of [[false, false], [true, true], [true, false]]) {
      const many = check(c(ta, tb), dtype, 7, tol(dtype));
      setMatmulThreads(1);
      const old = setPassBytes(64 * 1024);
      try {
        assert.deepEqual(check(c(ta, tb), dtype, 7, tol(dtype)), many, "one thread, small passes");
      } finally {
        setPassBytes(old);
        setMatmulThreads(navigator.hardwareConcurrency);
      }
    }
  }
});

Deno.test("cpu matmul: batched products split into passes give the same bits", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (
      const c of [
        { batchA: [2], batchB: [], m: 150, n: 90, k: 200, transA: false, transB: true },
        { batchA: [], batchB: [], m: 40, n: 300, k: 100, transA: true, transB: false },
      ]
    ) {
      const whole = check(c, dtype, 3, tol(dtype));
      const old = setPassBytes(64 * 1024);
      try {
        assert.deepEqual(check(c, dtype, 3, tol(dtype)), whole);
      } finally {
        setPassBytes(old);
      }
    }
  }
});

Deno.test("cpu matmul: rank-8 shapes with 4 KiB rows (narrow tiles, restrided copy, swapped product) keep the packed path's bits", () => {
  // the LoRA step's products: x·Aᵀ, (xAᵀ)·Bᵀ, gᵀ·u, (gB)ᵀ·x, with rows of 1024 float32 / 512 float64
  const shapes = (w: number): Case[] =>
    [
      [64, 8, w, false, true],
      [64, w, 8, false, true],
      [w, 8, 64, true, false],
      [8, w, 64, true, false],
      [12, w, 40, true, false],
    ].map(([m, n, k, transA, transB]) => ({ batchA: [], batchB: [], m, n, k, transA, transB } as Case));
  for (const [dtype, w] of [["float32", 1024], ["float64", 512]] as const) {
    for (const c of shapes(w)) {
      const fast = check(c, dtype, 11, tol(dtype));
      const old = setDirectPanels(0); // every operand packed, C in place: the reference path
      try {
        assert.deepEqual(check(c, dtype, 11, tol(dtype)), fast, `${dtype} ${JSON.stringify(c)}`);
      } finally {
        setDirectPanels(old);
      }
    }
  }
  // operands and result in the Wasm memory (the copy and the transposed result stay inside it)
  for (const [T, d, w] of [[Float32Array, "float32", 1024], [Float64Array, "float64", 512]] as const) {
    for (const [m, n, k, ta] of [[8, w, 48, true], [w, 8, 48, true]] as const) {
      const A = heapArray(d, m * k, false), B = heapArray(d, k * n, false);
      const C = heapArray(d, m * n, false), D = new T(m * n);
      if (!A || !B || !C) return; // no shared memory here
      A.set(randoms(m * k, 1));
      B.set(randoms(k * n, 2));
      gemm(A, 0, ta, B, 0, false, C, 0, m, n, k);
      const old = setDirectPanels(0);
      try {
        gemm(A, 0, ta, B, 0, false, D, 0, m, n, k);
      } finally {
        setDirectPanels(old);
      }
      assert.deepEqual(C, D, `${d} ${m}×${n}×${k}`);
    }
  }
});

Deno.test("cpu matmul: inf and nan propagate like the naive loop; padding never leaks", () => {
  for (const T of [Float32Array, Float64Array]) {
    const m = 5, n = 9, k = 130; // neither a whole number of register tiles
    const A = T.from(randoms(m * k, 1)), B = T.from(randoms(k * n, 2));
    A[3] = 0; // 0 · inf = nan in row 0
    B[3 * n + 2] = Infinity;
    B[7 * n + 8] = NaN;
    A[4 * k + 100] = -Infinity;
    const C = new T(m * n);
    gemm(A, 0, false, B, 0, false, C, 0, m, n, k);
    const c: Case = { batchA: [], batchB: [], m, n, k, transA: false, transB: false };
    const { out: want, scale } = naive(c, A, B);
    for (let i = 0; i < m * n; i++) {
      const ok = Number.isFinite(want[i]) ? Math.abs(C[i] - want[i]) <= 1e-5 * scale[i] : Object.is(C[i], want[i]);
      assert.ok(ok, `${T.name} element ${i}: ${C[i]} vs ${want[i]}`);
    }
  }
});

Deno.test("cpu matmul: offsets inside larger arrays, k = 0 and int32", () => {
  const A = Float64Array.from(randoms(3 + 40 * 50, 5)), B = Float64Array.from(randoms(2 + 50 * 30, 6));
  const C = new Float64Array(1 + 40 * 30 + 1).fill(7);
  gemm(A, 3, false, B, 2, false, C, 1, 40, 30, 50);
  const want = naive(
    { batchA: [], batchB: [], m: 40, n: 30, k: 50, transA: false, transB: false },
    A.subarray(3),
    B.subarray(2),
  );
  for (let i = 0; i < 1200; i++) assert.ok(Math.abs(C[1 + i] - want.out[i]) <= 1e-12 * want.scale[i]);
  assert.equal(C[0], 7);
  assert.equal(C[1201], 7);
  const Z = new Float32Array(6).fill(3);
  gemm(new Float32Array(0), 0, false, new Float32Array(0), 0, false, Z, 0, 2, 3, 0);
  assert.deepEqual(Array.from(Z), [0, 0, 0, 0, 0, 0]);
  const I = new Int32Array(4);
  gemm(Int32Array.of(1, 2, 3, 4), 0, false, Int32Array.of(5, 6, 7, 8), 0, false, I, 0, 2, 2, 2);
  assert.deepEqual(Array.from(I), [19, 22, 43, 50]);
});

Deno.test({
  name: "cpu matmul: a worker thread takes tasks of large products (when there are 2+ cores)",
  ignore: navigator.hardwareConcurrency < 2,
  fn: async () => {
    const c: Case = { batchA: [], batchB: [], m: 200, n: 300, k: 150, transA: false, transB: false };
    const before = workerTaskCount();
    // the worker starts in the background on the first large product; give it up to 20 s
    for (let t = 0; t < 200 && workerTaskCount() === before; t++) {
      check(c, "float32", t, tol("float32"));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(workerTaskCount() > before, "no task ran on a worker");
    // a product larger than any before grows the shared memory under the running worker
    const a = tensor(Float64Array.from(randoms(600 * 300, 1)), { shape: [600, 300], dtype: "float64" });
    const b = tensor(Float64Array.from(randoms(300 * 500, 2)), { shape: [300, 500], dtype: "float64" });
    const many = matmulT(a, b, false, false).dataSync();
    setMatmulThreads(1);
    try {
      assert.deepEqual(matmulT(a, b, false, false).dataSync(), many);
    } finally {
      setMatmulThreads(navigator.hardwareConcurrency);
    }
  },
});

Deno.test("cpu matmul: the generated module validates with and without relaxed SIMD (fallback)", () => {
  const mem = { initial: 1, maximum: 16, shared: true };
  assert.ok(WebAssembly.validate(gemmModuleBytes(mem, F32_SHAPE, F64_SHAPE)));
  assert.ok(WebAssembly.validate(gemmModuleBytes(mem, { ...F32_SHAPE, fma: false }, { ...F64_SHAPE, fma: false })));
});
