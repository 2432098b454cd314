/**
 * jit's Wasm SIMD fusion on the CPU (issue 11): chains of float32/float64 arithmetic, comparisons,
 * where, float32 exp/tanh/log (fastmath's operations), sin, cos, float64 exp/log and pow (imported
 * `Math.*` called lane by lane), erf, sign and float↔bool casts run as one generated WebAssembly
 * kernel, and a sum/prod/max/min over one run of axes at the end of such a chain runs in the same
 * kernel; `jit(f)` equals `f` bit for bit either way (random chains and shapes, row tails,
 * four-partial sums from 64 elements, NaN, ±0, ±∞, subnormals, log's table boundaries), in place in
 * the Wasm memory and through copies; what has no SIMD form (float64 tanh, log1p, expm1, int32,
 * mixed float32/float64; reductions over axes that are not one run) keeps the JavaScript loop
 * and the eager reduction.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { jitGraphs } from "../autodiff/jit.ts";
import { getHeap, heapAddress } from "../core/backend/cpu/wasm/heap.ts";
import { type FusedChain, fusedKernel } from "../core/backend/cpu/fuse.ts";
import { wasmFusable } from "../core/backend/cpu/wasm/fused_kernel.ts";
import { arr } from "../core/backend/cpu/mod.ts";

/** Same elements, compared with Object.is (NaN equals NaN, 0 differs from −0). */
function identical(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
}

type Steps = { kind: string; prim?: string; size?: number; wasm?: boolean; reduce?: string }[];
function steps(f: unknown): Steps {
  const [g] = jitGraphs(f);
  assert.ok(g && g !== "eager", "a compiled graph");
  return g.steps;
}

const simd = getHeap() !== null && fusedKernel({
  inputs: [{ dtype: "float32", scalar: false }],
  steps: [{ kind: "unary", op: "neg", args: [0], argDtypes: ["float32"], dtype: "float32" }],
  outputs: [1],
}).wasm;

type Op = (x: Tensor, y: Tensor) => Tensor;
/** Operations with a SIMD form (each a few primitives). */
const SIMD_OPS: Op[] = [
  (x, y) => T.add(x, y),
  (x, y) => T.sub(x, T.mul(y, 0.5)),
  (x, y) => T.mul(x, y),
  (x, y) => T.div(x, T.add(T.abs(y), 0.25)),
  (x, y) => T.div(x, y), // ±∞ and NaN where y is 0
  (x, y) => T.maximum(x, y),
  (x, y) => T.minimum(y, x),
  (x) => T.neg(x),
  (x) => T.sqrt(T.abs(x)),
  (x) => T.sqrt(x), // NaN below 0
  (x) => T.floor(T.mul(x, 3)),
  (x, y) => T.where(T.greater(x, y), x, T.neg(y)),
  (x, y) => T.where(T.lessEqual(x, 0), 0, T.mul(x, y)),
  (x, y) => T.where(T.equal(x, y), y, T.sub(x, 1)),
  (x) => T.relu(x),
  (x) => T.square(x),
];

/** Values with the special cases mixed in: NaN, ±0, ±∞, ties. */
function values(seed: number, shape: number[], dtype: "float32" | "float64", special: boolean): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = T.normal(T.key(seed), [n]).dataSync();
  const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, 1, -1];
  // every third element special (so two operands meet special against special: 0 against −0, NaN against ∞)
  const out = Array.from(base, (v, i) => (special && i % 3 === 0 ? SPECIAL[(i * (1 + (seed % 5)) + seed) % 7] : v));
  return T.tensor(out, { dtype, shape });
}

Deno.test("Wasm fusion: random float32/float64 chains of arithmetic, comparisons and where equal the eager ops bit for bit", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: SIMD_OPS.length - 1 }), { minLength: 2, maxLength: 30 }),
      fc.constantFrom("float32" as const, "float64" as const),
      fc.array(fc.integer({ min: 1, max: 37 }), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      (ops, dtype, shape, special, seed) => {
        const x = values(seed, shape, dtype, special), y = values(seed + 1, shape, dtype, special);
        const f = (a: Tensor, b: Tensor) => {
          let h = a;
          ops.forEach((o, i) => (h = SIMD_OPS[o](h, i % 4 === 3 ? T.reshape(T.sum(b), []) : b)));
          return h;
        };
        const jf = T.jit(f);
        const want = f(x, y);
        identical(jf(x, y), want, "trace");
        identical(jf(x, y), want, "replay");
        if (simd) assert.ok(steps(jf).some((s) => s.kind === "fused" && s.wasm), JSON.stringify(steps(jf)));
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("Wasm fusion: float32 exp and tanh in the kernel equal fastmath's values bit for bit (a sweep across every branch)", () => {
  // random values over many scales, the special values, and 41 neighbours of every branch point
  const n = 1 << 15;
  const f = new Float32Array(n), bits = new Int32Array(f.buffer);
  const key = T.normal(T.key(7), [n]).dataSync();
  const scales = [0.004, 0.5, 5, 20, 120, 1e-7, 3e38];
  for (let i = 0; i < n; i++) f[i] = key[i] * scales[i % scales.length];
  let p = 0;
  for (const v of [NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45]) f[p++] = v;
  for (const t of [-104, 89, 9.5, -9.5, 0.00390625, -0.00390625, 88.72283, -87.33655, 44.5, -52]) {
    const b = new Int32Array(Float32Array.of(t).buffer)[0];
    for (let d = -20; d <= 20; d++) bits[p++] = b + d;
  }
  const x = T.tensor(f, { dtype: "float32" });
  for (const op of [T.exp, T.tanh]) {
    const g = (a: Tensor) => op(T.mul(a, 1));
    const jg = T.jit(g);
    const want = g(x);
    identical(jg(x), want, `${op.name} trace`);
    identical(jg(x), want, `${op.name} replay`);
    if (simd) assert.deepEqual(steps(jg), [{ kind: "fused", size: 2, wasm: true }]);
  }
});

/**
 * A property over random chains of `ops` (2 to `maxLength` of them, then a sum) on random or special
 * values of one of `dtypes`: the jitted value and gradient equal the eager ones bit for bit, traced
 * and replayed, and (with SIMD) the chain ran as a Wasm kernel.
 */
function randomChains(ops: Op[], dtypes: ("float32" | "float64")[], maxLength: number): void {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: ops.length - 1 }), { minLength: 2, maxLength }),
      fc.constantFrom(...dtypes),
      fc.integer({ min: 1, max: 90 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      (chain, dtype, n, special, seed) => {
        const x = values(seed, [n], dtype, special), y = values(seed + 1, [n], dtype, special);
        const f = (a: Tensor, b: Tensor) => {
          let h = a;
          chain.forEach((o) => (h = ops[o](h, b)));
          return T.sum(h);
        };
        const jf = T.jit(f), jg = T.jit(T.grad(f));
        identical(jf(x, y), f(x, y), "value");
        identical(jf(x, y), f(x, y), "value replay");
        const gw = T.grad(f)(x, y);
        identical(jg(x, y), gw, "gradient");
        identical(jg(x, y), gw, "gradient replay");
        if (simd) assert.ok(steps(jf).some((s) => s.kind === "fused" && s.wasm), JSON.stringify(steps(jf)));
      },
    ),
    { numRuns: 40 },
  );
}

Deno.test("Wasm fusion: random float32 chains with exp and tanh (and their gradients) equal the eager ops bit for bit", () => {
  const MATH: Op[] = [
    (x) => T.exp(T.mul(x, 0.3)),
    (x) => T.tanh(x),
    (x) => T.sigmoid(x),
    (x, y) => T.mul(T.tanh(T.add(T.mul(x, 1.01), 0.1)), y),
  ];
  randomChains([...SIMD_OPS, ...MATH], ["float32"], 20);
});

Deno.test("Wasm fusion: constant scalars are embedded in the kernel; chains that differ only in a constant (even 0 and −0) get their own", () => {
  const x = values(31, [37], "float32", true);
  for (const dtype of ["float32", "float64"] as const) {
    const xd = T.astype(x, dtype);
    for (const c of [0, -0, 1.5, -2.25, NaN, Infinity, 1e-40]) {
      const k = T.tensor(c, { dtype });
      const f = (a: Tensor) => T.add(T.mul(a, k), T.mul(k, 0.5));
      const jf = T.jit(f);
      identical(jf(xd), f(xd), `${dtype} constant ${c} trace`);
      identical(jf(xd), f(xd), `${dtype} constant ${c} replay`);
      if (simd) assert.ok(steps(jf).some((s) => s.kind === "fused" && s.wasm));
    }
  }
});

Deno.test("Wasm fusion: several outputs and bool masks written out (float32), intermediates used after the chain", () => {
  for (const n of [1, 3, 4, 9, 64, 101]) {
    const x = values(n, [n], "float32", true), y = values(n + 5, [n], "float32", true);
    const f = (a: Tensor, b: Tensor) => {
      const d = T.sub(T.mul(a, 2), b);
      const m = T.less(d, b);
      const e = T.where(m, T.abs(d), T.neg(b));
      return { d, m, e, s: T.matmul(T.reshape(e, [1, n]), T.reshape(d, [n, 1])) };
    };
    const jf = T.jit(f);
    const want = f(x, y);
    for (const got of [jf(x, y), jf(x, y)]) {
      identical(got.d, want.d, `d ${n}`);
      identical(got.m, want.m, `mask ${n}`);
      identical(got.e, want.e, `e ${n}`);
      identical(got.s, want.s, `s ${n}`);
    }
    if (simd) assert.ok(steps(jf).some((s) => s.kind === "fused" && s.wasm));
  }
});

const REDUCTIONS: [string, (h: Tensor) => Tensor][] = [
  ["sum all", (h) => T.sum(h)],
  ["sum last", (h) => T.sum(h, { axis: -1 })],
  ["mean all", (h) => T.mean(h)],
  ["mean last keepdims", (h) => T.mean(h, { axis: -1, keepdims: true })],
  ["max all", (h) => T.max(h)],
  ["max last", (h) => T.max(h, { axis: -1 })],
  ["min last", (h) => T.min(h, { axis: -1 })],
  // leading axes: a sweep of float64 column accumulators, in row order
  ["sum first", (h) => T.sum(h, { axis: 0 })],
  ["mean first keepdims", (h) => T.mean(h, { axis: 0, keepdims: true })],
  ["max first", (h) => T.max(h, { axis: 0 })],
  ["min first", (h) => T.min(h, { axis: 0 })],
];

Deno.test("Wasm fusion: a sum, mean, max or min over the last axis, all axes or the first joins the chain's kernel, bit for bit the eager reduction", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...REDUCTIONS.map((_, i) => i)),
      fc.array(fc.integer({ min: 0, max: SIMD_OPS.length - 1 }), { minLength: 1, maxLength: 8 }),
      fc.constantFrom("float32" as const, "float64" as const),
      // lengths around the four-partial threshold (64) and its multiples of 4
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(1, 2, 3, 4, 5, 7, 13, 63, 64, 65, 66, 67, 68, 130, 257),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      (r, ops, dtype, rows, len, special, seed) => {
        const x = values(seed, [rows, len], dtype, special), y = values(seed + 1, [rows, len], dtype, special);
        const f = (a: Tensor, b: Tensor) => {
          let h = a;
          ops.forEach((o) => (h = SIMD_OPS[o](h, b)));
          return REDUCTIONS[r][1](h);
        };
        const jf = T.jit(f);
        const want = f(x, y);
        identical(jf(x, y), want, `${REDUCTIONS[r][0]} trace`);
        identical(jf(x, y), want, `${REDUCTIONS[r][0]} replay`);
        if (simd) {
          const op = REDUCTIONS[r][0].split(" ")[0];
          const red = op === "mean" ? "sum" : op;
          assert.ok(
            steps(jf).some((s) => s.kind === "fused" && s.wasm && s.reduce === red),
            JSON.stringify(steps(jf)),
          );
          assert.ok(!steps(jf).some((s) => s.prim === "reduce"), "no separate reduction");
        }
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("Wasm fusion: reductions over middle and leading axes of 3-D values (column accumulators) equal the eager ones, special values included", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const shape of [[3, 66, 5], [2, 7, 9], [4, 1, 3], [5, 3, 64]]) {
      const x = values(41, shape, dtype, true), y = values(42, shape, dtype, true);
      for (const axis of [[1], [0, 1], [0]]) {
        for (const red of [T.sum, T.max, T.min, T.mean]) {
          const f = (a: Tensor, b: Tensor) => red(T.maximum(T.sub(a, T.mul(b, 0.5)), T.neg(b)), { axis });
          const jf = T.jit(f);
          const want = f(x, y);
          identical(jf(x, y), want, `${red.name} ${shape} over ${axis} trace`);
          identical(jf(x, y), want, `${red.name} ${shape} over ${axis} replay`);
          if (simd) assert.ok(steps(jf).some((s) => s.kind === "fused" && s.wasm && s.reduce !== undefined));
        }
      }
    }
  }
});

Deno.test("Wasm fusion: max and min keep the eager order's choice between 0 and −0, and NaN wherever it sits", () => {
  const rowsOf = [
    [0, -0, -1, -2, -3, -4, -5, -0],
    [-0, 0, -1, -2, -3, -4, -5, 0],
    [-1, NaN, 2, 3, 4, 5, 6, 7],
    [1, 2, 3, 4, 5, 6, 7, NaN],
  ];
  const x = T.tensor(rowsOf, { dtype: "float32" });
  for (const red of [T.max, T.min]) {
    const f = (a: Tensor) => red(T.mul(T.neg(a), -1), { axis: -1 });
    const g = (a: Tensor) => red(T.neg(T.neg(a)));
    for (const h of [f, g]) {
      const jh = T.jit(h);
      identical(jh(x), h(x), `${red.name} trace`);
      identical(jh(x), h(x), `${red.name} replay`);
    }
  }
  // elementwise: ties between 0 and −0 keep the second operand, NaN from either side propagates
  const a = T.tensor([0, -0, 0, -0, NaN, 1, 2, -0, 0], { dtype: "float32" });
  const b = T.tensor([-0, 0, 0, -0, 1, NaN, 2, 0, -0], { dtype: "float32" });
  for (const op of [T.maximum, T.minimum]) {
    const h = (u: Tensor, v: Tensor) => op(T.neg(T.neg(u)), T.neg(T.neg(v)));
    const jh = T.jit(h);
    identical(jh(a, b), h(a, b), `${op.name} trace`);
    identical(jh(a, b), h(a, b), `${op.name} replay`);
    if (simd) assert.ok(steps(jh).some((s) => s.kind === "fused" && s.wasm));
  }
  // over the first axis (column accumulators, vector and scalar columns): the same choices per column
  const cols = T.tensor([[0, -0, 0, -0, NaN, 1, -0], [-0, 0, -0, 0, 1, NaN, 0], [0, -0, -0, 0, 2, 3, -0]], {
    dtype: "float32",
  });
  for (const red of [T.max, T.min]) {
    for (const dtype of ["float32", "float64"] as const) {
      const c = T.astype(cols, dtype);
      const h = (a: Tensor) => red(T.neg(T.neg(a)), { axis: 0 });
      const jh = T.jit(h);
      identical(jh(c), h(c), `${red.name} ${dtype} over the first axis trace`);
      identical(jh(c), h(c), `${red.name} ${dtype} over the first axis replay`);
    }
  }
  // the eager values themselves: the first of the equal zeros wins
  const m = T.jit((a: Tensor) => T.max(T.neg(T.neg(a)), { axis: -1 }))(x).dataSync();
  assert.ok(Object.is(m[0], 0) && Object.is(m[1], -0) && Number.isNaN(m[2]) && Number.isNaN(m[3]));
});

Deno.test("Wasm fusion in place: operands and results in the Wasm memory (a scoped loop), the same values as eager", () => {
  const shape = [16, 96]; // 6 KiB per float32 array: pooled in the Wasm memory once released
  const x = values(3, shape, "float32", false), y = values(4, shape, "float32", false);
  const f = (a: Tensor, b: Tensor) => {
    const d = T.sub(T.mul(a, 1.5), b);
    return { d, s: T.sum(T.square(d), { axis: -1 }), m: T.max(T.add(d, b)), c: T.sum(T.mul(d, b), { axis: 0 }) };
  };
  const jf = T.jit(f);
  const want = f(x, y);
  let inHeap = false;
  for (let i = 0; i < 4; i++) {
    T.scope(() => {
      // made inside the scope: from the pool, in the memory from the second round on
      const a = T.add(x, 0), spare = T.add(x, 1);
      const r = jf(a, y);
      identical(r.d, want.d, `d round ${i}`);
      identical(r.s, want.s, `s round ${i}`);
      identical(r.m, want.m, `m round ${i}`);
      identical(r.c, want.c, `c round ${i}`);
      inHeap ||= heapAddress(arr(a._storage)) >= 0 && heapAddress(arr(r.d._storage)) >= 0;
      return spare.shape;
    });
  }
  if (simd && getHeap()?.shared) assert.ok(inHeap, "the loop ran in the Wasm memory");
});

Deno.test("Wasm fusion: jitted value and gradient of a mean squared error (the loss's sum fused), equal to eager", () => {
  const x = values(11, [32, 80], "float32", false), t = values(12, [32, 80], "float32", false);
  const w = values(13, [80], "float32", false);
  const loss = (v: Tensor, xs: Tensor, ys: Tensor) => T.mean(T.square(T.sub(T.mul(xs, v), ys)));
  const vg = (v: Tensor, xs: Tensor, ys: Tensor) => T.valueAndGrad(loss)(v, xs, ys);
  const jvg = T.jit(vg);
  const want = vg(w, x, t);
  for (const got of [jvg(w, x, t), jvg(w, x, t)]) {
    identical(got[0], want[0], "loss");
    identical(got[1], want[1], "gradient");
  }
  if (simd) assert.ok(steps(jvg).some((s) => s.kind === "fused" && s.wasm && s.reduce === "sum"));
});

/**
 * Random values over many scales, the special values, subnormals, and the 41 neighbours (in bits)
 * of each point (and their negatives); 7 past a multiple of 8, so that the last 7 run in the scalar tail.
 */
function sweep(dtype: "float32" | "float64", points: number[], seed: number): Tensor {
  const n = 1 << 13;
  const key = T.normal(T.key(seed), [n]).dataSync();
  const scales = [1e-6, 0.01, 0.7, 3, 40, 800, 1e7, 1e30];
  const special = [
    NaN,
    0,
    -0,
    Infinity,
    -Infinity,
    1,
    -1,
    5e-324,
    -5e-324,
    1e-45,
    -1e-45,
    1e-310,
    2e-40,
    1.7e308,
    3.4e38,
  ];
  const out: number[] = [...special];
  const f32 = dtype === "float32";
  const a = f32 ? new Float32Array(1) : new Float64Array(1);
  const bits = f32 ? new Int32Array(a.buffer) : new BigInt64Array(a.buffer);
  for (const p of points) {
    a[0] = p;
    const b0 = bits[0];
    for (let d = -20; d <= 20; d++) {
      if (f32) (bits as Int32Array)[0] = (b0 as number) + d;
      else (bits as BigInt64Array)[0] = (b0 as bigint) + BigInt(d);
      out.push(a[0], -a[0]);
    }
  }
  for (let i = out.length; i < n || i % 8 !== 0; i++) out.push(key[i % n] * scales[i % scales.length]);
  // 7 more: the kernel's scalar tail (past the last block of 8) sees special values too
  out.push(NaN, -0, Infinity, -1, 1e-45, -2.5, 0.75);
  return T.tensor(out, { dtype });
}

/** float32 bit patterns at every boundary of `log32`'s tables: each j = 0…127 with the low 16 bits 0, 1, 0xfffe, 0xffff. */
function logTableEdges(): number[] {
  const f = new Float32Array(1), b = new Int32Array(f.buffer), out: number[] = [];
  for (const e of [1, 100, 126, 127, 128, 200, 254]) {
    for (let j = 0; j < 128; j++) {
      for (const low of [0, 1, 0xfffe, 0xffff]) {
        b[0] = (e << 23) | (j << 16) | low;
        out.push(f[0]);
      }
    }
  }
  return out;
}

const UNARY_NEW: [string, (x: Tensor) => Tensor, ("float32" | "float64")[], number[]][] = [
  ["log", T.log, ["float32", "float64"], [
    1,
    2,
    0.5,
    1.1754944e-38,
    3.4028235e38,
    2.2250738585072014e-308,
    ...logTableEdges(),
  ]],
  ["sin", T.sin, ["float32", "float64"], [Math.PI / 4, Math.PI / 2, Math.PI, 2 * Math.PI, 1e5, 1e22, 1e300, 1e-8]],
  ["cos", T.cos, ["float32", "float64"], [Math.PI / 4, Math.PI / 2, Math.PI, 2 * Math.PI, 1e5, 1e22, 1e300, 1e-8]],
  ["exp", T.exp, ["float64"], [709.782712893384, -745.1332191019411, -708.3964185322641, 1e-300, 0.5]],
  ["log", T.log, ["float64"], [1, 0.9999999999999999, 1e-320]],
  ["erf", T.erf, ["float32", "float64"], [1.25, 6, 0.5, 3, 1e-300, 5.9, 1.2]],
  ["sign", T.sign, ["float32", "float64"], [1e-300, 1e-40]],
];

Deno.test("Wasm fusion: log, sin, cos, float64 exp, erf and sign in the kernel equal the eager ops bit for bit (sweeps over NaN, ±0, ±∞, subnormals, huge and tiny values and log's table boundaries)", () => {
  for (const [name, op, dtypes, points] of UNARY_NEW) {
    for (const dtype of dtypes) {
      const chain: FusedChain = {
        inputs: [{ dtype, scalar: false }],
        steps: [{ kind: "unary", op: name, args: [0], argDtypes: [dtype], dtype }],
        outputs: [1],
      };
      assert.ok(wasmFusable(chain), `${dtype} ${name}: wasmFusable`);
      const x = sweep(dtype, points, name.length);
      const g = (a: Tensor) => op(T.mul(a, 1));
      const jg = T.jit(g);
      const want = g(x);
      identical(jg(x), want, `${dtype} ${name} trace`);
      identical(jg(x), want, `${dtype} ${name} replay`);
      if (simd) assert.deepEqual(steps(jg), [{ kind: "fused", size: 2, wasm: true }], `${dtype} ${name}`);
    }
  }
});

Deno.test("Wasm fusion: pow (Math.pow called lane by lane) equals the eager op bit for bit, special pairs included", () => {
  const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 1 / 3, 1e-45, 1e-310, 1e30, 3.4e38];
  for (const dtype of ["float32", "float64"] as const) {
    const chain: FusedChain = {
      inputs: [{ dtype, scalar: false }, { dtype, scalar: false }],
      steps: [{ kind: "binary", op: "pow", args: [0, 1], argDtypes: [dtype, dtype], dtype }],
      outputs: [2],
    };
    assert.ok(wasmFusable(chain), `${dtype} pow: wasmFusable`);
    // every special against every special, then random bases against random exponents
    const a: number[] = [], b: number[] = [];
    for (const u of SPECIAL) for (const v of SPECIAL) a.push(u), b.push(v);
    const ra = sweep(dtype, [1, 2], 5).dataSync(), rb = values(6, [ra.length], "float64", true).dataSync();
    ra.forEach((v, i) => (a.push(v), b.push(rb[i] * (i % 2 ? 3 : 0.01))));
    const x = T.tensor(a, { dtype }), y = T.tensor(b, { dtype });
    const g = (p: Tensor, q: Tensor) => T.pow(T.mul(p, 1), T.mul(q, 1));
    const jg = T.jit(g);
    const want = g(x, y);
    identical(jg(x, y), want, `${dtype} pow trace`);
    identical(jg(x, y), want, `${dtype} pow replay`);
    if (simd) assert.ok(steps(jg).some((s) => s.kind === "fused" && s.wasm), JSON.stringify(steps(jg)));
  }
});

Deno.test("Wasm fusion: casts between a float dtype and bool in the kernel (x ≠ 0, NaN true; true → 1) equal the eager casts", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (
      const [from, to] of [[dtype, "bool"], ["bool", dtype], [dtype, dtype]] as const
    ) {
      const chain: FusedChain = {
        inputs: [{ dtype, scalar: false }],
        steps: [
          { kind: "unary", op: "neg", args: [0], argDtypes: [dtype], dtype },
          { kind: "binary", op: "ne", args: [0, 1], argDtypes: [dtype, dtype], dtype: "bool" },
          from === "bool"
            ? { kind: "cast", args: [2], argDtypes: ["bool"], dtype: to }
            : { kind: "cast", args: [1], argDtypes: [from], dtype: to },
          { kind: "where", args: [2, 0, 1], argDtypes: ["bool", dtype, dtype], dtype },
        ],
        outputs: [4],
      };
      assert.ok(wasmFusable(chain), `${dtype}: cast ${from} → ${to}: wasmFusable`);
    }
    const x = sweep(dtype, [1e-40, 1e-310], 9);
    const fs: [string, (a: Tensor) => Tensor][] = [
      ["float → bool → float", (a) => T.astype(T.astype(T.mul(a, 1), "bool"), dtype)],
      ["bool → float times x", (a) => T.mul(T.astype(T.greater(T.mul(a, 1), 0.5), dtype), a)],
      ["float → bool as where's mask", (a) => T.where(T.astype(T.sub(a, 1), "bool"), a, T.neg(a))],
    ];
    if (dtype === "float32") fs.push(["float → bool written out", (a) => T.astype(T.mul(a, 2), "bool")]);
    for (const [what, g] of fs) {
      const jg = T.jit(g);
      const want = g(x);
      identical(jg(x), want, `${dtype} ${what} trace`);
      identical(jg(x), want, `${dtype} ${what} replay`);
      if (simd) {
        assert.ok(
          steps(jg).some((s) => s.kind === "fused" && s.wasm),
          `${dtype} ${what}: ${JSON.stringify(steps(jg))}`,
        );
      }
    }
  }
});

Deno.test("Wasm fusion: random float32/float64 chains with log, sin, cos, pow, erf, sign, gelu and casts (and their gradients) equal the eager ops bit for bit", () => {
  const CALLS: Op[] = [
    (x) => T.log(T.add(T.abs(x), 0.5)),
    (x) => T.log(x),
    (x) => T.sin(T.mul(x, 3)),
    (x) => T.cos(x),
    (x, y) => T.pow(T.add(T.abs(x), 0.1), T.mul(y, 0.5)),
    (x) => T.erf(x),
    (x) => T.sign(x),
    (x) => T.exp(T.mul(x, 0.3)),
    (x) => T.gelu(x),
    (x, y) => T.mul(T.astype(T.greater(x, y), x.dtype), x),
  ];
  randomChains([...SIMD_OPS, ...CALLS], ["float32", "float64"], 12);
});

Deno.test("what has no SIMD form stays as before: float64 tanh, log1p, expm1, int32 and mixed float32/float64 chains in JavaScript, reductions over axes that are not one run not fused", () => {
  const x = values(21, [6, 70], "float32", false), y = values(22, [6, 70], "float32", false);
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, (s: Steps) => boolean][] = [
    ["log1p chain + sum", (a, b) => T.sum(T.log1p(T.add(T.abs(a), b))), (s) => s.some((q) => q.prim === "reduce")],
    [
      "float64 tanh chain",
      (a, b) => T.tanh(T.add(T.astype(a, "float64"), T.astype(b, "float64"))),
      (s) => s.every((q) => !q.wasm),
    ],
    ["expm1 chain", (a, b) => T.expm1(T.sub(a, b)), (s) => s.some((q) => q.kind === "fused" && !q.wasm)],
    [
      "float32 → float64 in one chain",
      (a, b) => T.mul(T.astype(T.mul(a, b), "float64"), 2),
      (s) => s.some((q) => q.kind === "fused" && !q.wasm),
    ],
    [
      "sum over axes that are not one run",
      (a, b) => T.sum(T.reshape(T.mul(a, b), [2, 3, 70]), { axis: [0, 2] }),
      (s) => s.some((q) => q.prim === "reduce"),
    ],
    ["int32 chain", (a, b) => T.add(T.astype(a, "int32"), T.astype(b, "int32")), (s) => s.every((q) => !q.wasm)],
  ];
  for (const [what, f, shape] of cases) {
    const jf = T.jit(f);
    const want = f(x, y);
    identical(jf(x, y), want, `${what} trace`);
    identical(jf(x, y), want, `${what} replay`);
    assert.ok(shape(steps(jf)), `${what}: ${JSON.stringify(steps(jf))}`);
  }
});
