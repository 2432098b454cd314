/**
 * The CPU backend's compiled loops (core/backend/cpu/loops.ts and the kernels on them) against
 * naive index-by-index references on random shapes: broadcasting binary ops and where over every
 * array type, strided copies (transpose, slice, pad-like destinations, the tiled transpose),
 * reductions over random axes, casts; and the recycling of released arrays.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { add, broadcastTo, mul, ones, scope, tensor } from "../mod.ts";
import { allocate, type DType, type TypedArray } from "../core/dtype.ts";
import type { BinaryOp, ReduceOp } from "../core/primitives.ts";
import { binaryKernel, castKernel, whereKernel } from "../core/backend/cpu/elementwise.ts";
import { stridedCopy } from "../core/backend/cpu/copy.ts";
import { reduceKernel } from "../core/backend/cpu/reduce.ts";
import { broadcastStrides, contiguousStrides } from "../core/backend/cpu/strided.ts";
import { arr, wrap } from "../core/backend/cpu/mod.ts";
import { giveArray, poolStats, takeArray } from "../core/backend/cpu/pool.ts";
import { getHeap, heapAddress } from "../core/backend/cpu/wasm/heap.ts";
import { gemm, gemmBatch } from "../core/backend/cpu/matmul.ts";

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Visits every multi-index of `shape` in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = size(shape);
  const idx = shape.map(() => 0);
  for (let t = 0; t < n; t++) {
    yield idx;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

const dot = (idx: readonly number[], st: readonly number[]) => idx.reduce((a, v, i) => a + v * st[i], 0);

function randomArray(d: DType, n: number, seed: number): TypedArray {
  const a = allocate(d, n);
  let s = seed | 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    const u = (s >>> 8) / 2 ** 24;
    a[i] = d === "bool" ? (u < 0.5 ? 1 : 0) : d === "int32" ? Math.floor(u * 20 - 10) : u * 4 - 2;
  }
  // a few special values in float arrays
  if ((d === "float32" || d === "float64") && n > 3) {
    a[0] = NaN;
    a[n - 1] = -0;
  }
  return a;
}

/** An output shape and two shapes that broadcast to it (axes set to 1 or dropped at random). */
const broadcastCase = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 5 }).chain((out) =>
  fc.tuple(
    fc.constant(out),
    ...[0, 1, 2].map(() =>
      fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 })).map((
        [drop, ones],
      ) => out.slice(drop).map((d, i) => (ones[i] ? 1 : d)))
    ),
  )
);

const same = (a: TypedArray, b: TypedArray) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Object.is(a[i], b[i]), `element ${i}: ${a[i]} vs ${b[i]}`);
  }
};

const REF: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  mul: (x, y) => x * y,
  sub: (x, y) => x - y,
  max: (x, y) => (x > y || x !== x ? x : y),
  lt: (x, y) => (x < y ? 1 : 0),
};

Deno.test("cpu kernels: broadcasting binary ops equal a naive loop on random shapes and types", () => {
  fc.assert(
    fc.property(
      broadcastCase,
      fc.constantFrom<DType>("float32", "float64", "int32"),
      fc.constantFrom("add", "mul", "sub", "max", "lt"),
      fc.integer(),
      ([out, aS, bS], d, op, seed) => {
        const a = randomArray(d, size(aS), seed), b = randomArray(d, size(bS), seed + 1);
        const od: DType = op === "lt" ? "bool" : d;
        const got = allocate(od, size(out)), want = allocate(od, size(out));
        binaryKernel(op as BinaryOp, a, aS, b, bS, got, out);
        const sa = broadcastStrides(aS, out), sb = broadcastStrides(bS, out);
        let k = 0;
        for (const idx of indices(out)) want[k++] = REF[op](a[dot(idx, sa)], b[dot(idx, sb)]);
        same(got, want);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("cpu kernels: float32 SIMD arithmetic (same shape, scalars, rows, columns, chunks) is bit-identical to JS", () => {
  const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -3.4028235e38, 1, -1, 2 ** -126];
  const cases: [number[], number[], number[]][] = [
    [[1037], [1037], [1037]], // odd length: a padded last vector
    [[33001], [33001], []], // two chunks, scalar right
    [[3, 11001], [], [3, 11001]], // scalar left
    [[300, 64], [300, 64], [64]], // row vector
    [[300, 64], [300, 1], [300, 64]], // column vector on the left
    [[2, 1500, 12], [2, 1500, 12], [2, 1500, 1]], // rows of 12 after coalescing
    [[5000, 8], [1, 8], [5000, 1]], // row and column: an outer product
    [[4, 9000], [4, 9000], [4, 1]], // long rows (one row per chunk)
    [[3, 2001], [3, 2001], [3, 1]], // rows that are not whole vectors, one at a time
    [[6, 301], [301], [6, 301]],
    [[9, 30], [9, 30], [30]], // short rows of 30: left to JS
  ];
  for (const [out, aS, bS] of cases) {
    for (const op of ["add", "sub", "mul", "div", "max", "min"] as const) {
      const a = randomArray("float32", size(aS), size(out) + 1) as Float32Array;
      const b = randomArray("float32", size(bS), size(out) + 2) as Float32Array;
      specials.forEach((v, i) => {
        if (i < a.length) a[(i * 7919) % a.length] = v;
        if (i < b.length) b[(i * 104729) % b.length] = specials[(i + 3) % specials.length];
      });
      if (b.length > 5) b[5] = a.length > 5 ? a[5] : 0; // a tie
      const got = new Float32Array(size(out)), want = new Float32Array(size(out));
      binaryKernel(op, a, aS, b, bS, got, out);
      const sa = broadcastStrides(aS, out), sb = broadcastStrides(bS, out);
      const f = op === "div"
        ? (x: number, y: number) => x / y
        : REF[op] ?? ((x: number, y: number) => (x < y || x !== x ? x : y));
      let k = 0;
      for (const idx of indices(out)) want[k++] = f(a[dot(idx, sa)], b[dot(idx, sb)]);
      same(got, want);
    }
  }
});

Deno.test("cpu kernels: where (bit select for 4-byte types, branch otherwise) equals a naive loop", () => {
  fc.assert(
    fc.property(
      broadcastCase,
      fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
      fc.integer(),
      ([out, cS, aS, bS], d, seed) => {
        const c = randomArray("bool", size(cS), seed);
        if (c.length) c[0] = 7; // any non-zero byte counts as true
        const a = randomArray(d, size(aS), seed + 1), b = randomArray(d, size(bS), seed + 2);
        const got = allocate(d, size(out)), want = allocate(d, size(out));
        whereKernel(c, cS, a, aS, b, bS, got, out);
        const sc = broadcastStrides(cS, out), sa = broadcastStrides(aS, out), sb = broadcastStrides(bS, out);
        let k = 0;
        for (const idx of indices(out)) want[k++] = c[dot(idx, sc)] ? a[dot(idx, sa)] : b[dot(idx, sb)];
        same(got, want);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("cpu kernels: strided copies (permutations, slices, padded destinations) equal a naive loop", () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 });
  fc.assert(
    fc.property(
      shapeArb,
      fc.integer(),
      fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
      fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: 5, maxLength: 5 }),
      (shape, seed, d, margins) => {
        // source: a view of `shape` inside a larger array, axes permuted; destination: inside padding
        const perm = shape.map((_, i) => i).sort((x, y) => ((seed >> (x + y)) & 1) - 0.5 || x - y);
        const big = shape.map((s, i) => s + margins[i][0] + margins[i][1]);
        const src = randomArray(d, size(big), seed);
        const bs = contiguousStrides(big);
        const srcOff = dot(margins.map((m) => m[0]).slice(0, shape.length), bs);
        const viewShape = perm.map((p) => shape[p]), viewStrides = perm.map((p) => bs[p]);
        const dstBig = viewShape.map((s, i) => s + margins[i][1]);
        const ds = contiguousStrides(dstBig);
        const dstOff = dot(margins.map((m) => m[1]).slice(0, shape.length), ds);
        const got = allocate(d, size(dstBig)), want = allocate(d, size(dstBig));
        stridedCopy(src, srcOff, viewStrides, got, dstOff, ds, viewShape);
        for (const idx of indices(viewShape)) want[dstOff + dot(idx, ds)] = src[srcOff + dot(idx, viewStrides)];
        same(got, want);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("cpu kernels: the tiled transpose of large matrices equals a naive loop", () => {
  for (const [b, r, c] of [[1, 70, 90], [3, 64, 65], [2, 129, 33]]) {
    const src = randomArray("float32", b * r * c, r * c);
    const got = new Float32Array(b * r * c), want = new Float32Array(b * r * c);
    // out[b, j, i] = src[b, i, j]
    stridedCopy(src, 0, [r * c, 1, c], got, 0, [r * c, r, 1], [b, c, r]);
    for (let t = 0; t < b; t++) {
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) want[t * r * c + j * r + i] = src[t * r * c + i * c + j];
    }
    same(got, want);
  }
});

Deno.test("cpu kernels: reductions over random axes equal a float64 naive loop", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.constantFrom<ReduceOp>("sum", "prod", "max", "min"),
      fc.constantFrom<DType>("float32", "float64", "int32"),
      fc.integer(),
      (shape, pick, op, d, seed) => {
        const axes = shape.map((_, i) => i).filter((i) => pick[i]);
        if (axes.length === 0) return;
        const x = randomArray(d, size(shape), seed);
        const got = reduceKernel(op, x, shape, axes, d);
        const outShape = shape.filter((_, i) => !axes.includes(i));
        const want = allocate(d, size(outShape));
        const acc = new Float64Array(want.length).fill(
          op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity,
        );
        const os = contiguousStrides(outShape);
        for (const idx of indices(shape)) {
          const o = dot(idx.filter((_, i) => !axes.includes(i)), os);
          const v = x[dot(idx, contiguousStrides(shape))];
          if (op === "sum") acc[o] += v;
          // int32 products wrap mod 2³² (as NumPy's int32): exact with imul in any order, where a
          // float64 product of many int32 values loses the low bits past 2⁵³
          else if (op === "prod") acc[o] = d === "int32" ? Math.imul(acc[o], v) : acc[o] * v;
          else if (op === "max" ? v > acc[o] || v !== v : v < acc[o] || v !== v) acc[o] = v;
        }
        want.set(acc);
        // the order of summation may differ when axes are not contiguous: compare to rounding
        for (let i = 0; i < want.length; i++) {
          const g = got[i], w = want[i];
          assert.ok(Object.is(g, w) || Math.abs(g - w) <= 1e-12 * Math.abs(w) + 1e-300, `${op} ${i}: ${g} vs ${w}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("cpu kernels: casts truncate to int32 and test non-zero for bool", () => {
  const src = new Float64Array([1.7, -1.7, NaN, Infinity, -0, 2 ** 31 + 5, -(2 ** 33) - 3.5, 0.2]);
  const i = new Int32Array(src.length), b = new Uint8Array(src.length), f = new Float32Array(src.length);
  castKernel(src, i, "int32");
  castKernel(src, b, "bool");
  castKernel(src, f, "float32");
  assert.deepEqual([...i], [...src].map((v) => Math.trunc(v) | 0));
  assert.deepEqual([...b], [...src].map((v) => (v !== 0 ? 1 : 0)));
  assert.deepEqual([...f], [...src].map(Math.fround));
});

Deno.test("cpu kernels: batched small products give the bits of one gemm per item", () => {
  const shapes = [[24, 24, 16], [24, 16, 24], [7, 13, 5], [61, 9, 33], [2, 2, 300], [128, 128, 64]];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [m, n, k] of shapes) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
        const count = 5;
        const A = randomArray(dtype, 3 * m * k, m + k), B = randomArray(dtype, count * k * n, n * k);
        // A broadcast over the batch (three matrices, read as 0, 1, 2, 0, 1), B one per item
        const aOffs = [0, 1, 2, 0, 1].map((i) => i * m * k), bOffs = [0, 1, 2, 3, 4].map((i) => i * k * n);
        const got = allocate(dtype, count * m * n), want = allocate(dtype, count * m * n);
        gemmBatch(A, aOffs, ta, B, bOffs, tb, got, 0, m, n, k, count);
        for (let t = 0; t < count; t++) gemm(A, aOffs[t], ta, B, bOffs[t], tb, want, t * m * n, m, n, k);
        same(got, want);
      }
    }
  }
});

Deno.test("cpu pool: released arrays are reused with the right contents; wrapped arrays never are", () => {
  const a = takeArray("float32", 4096, false);
  a.fill(5);
  poolStats();
  giveArray(a, "float32");
  const b = takeArray("float32", 4096, true);
  assert.equal(poolStats().reused, 1); // recycled
  assert.ok(b.every((v) => v === 0)); // and cleared when zeros were asked for
  // a released plain array is recycled as a block of the kernels' Wasm memory (where it is shared)
  if (getHeap()?.shared) assert.ok(heapAddress(b) >= 0);
  b.fill(7);
  giveArray(b, "float32");
  const c = takeArray("float32", 4096, false);
  assert.equal(c, b); // the same array from then on
  const shared = new Float32Array(4096);
  wrap(shared);
  giveArray(shared, "float32");
  assert.notEqual(takeArray("float32", 4096, false), shared);

  // a training-like loop: the scope releases intermediates, the next step reuses them, results stay right
  let x = ones([64, 64]);
  for (let step = 0; step < 3; step++) {
    x = scope(() => add(mul(x, 2), 1), { release: x });
  }
  assert.ok(arr(x._storage).every((v) => v === 15));
  assert.deepEqual([...tensor([1, 2]).dataSync()], [1, 2]);
});

Deno.test("cpu kernels: broadcast copies (a scalar filled, a row repeated, a column) equal a naive loop", () => {
  for (const [from, to] of [[[1, 1], [37, 65]], [[65], [9, 65]], [[1, 20], [3, 7, 20]], [[7, 1], [7, 9]], [[], [5]]]) {
    const n = from.reduce((a, b) => a * b, 1);
    const x = tensor(Float32Array.from({ length: n }, (_, i) => i + 0.5), { shape: from });
    const got = broadcastTo(x, to).dataSync();
    const src = x.dataSync(), pad = [...Array(to.length - from.length).fill(1), ...from];
    for (let i = 0; i < got.length; i++) {
      // the source element of output i: its index along each axis, 0 on axes of extent 1
      let rem = i, j = 0, stride = 1;
      for (let d = to.length - 1; d >= 0; d--) {
        const c = rem % to[d];
        rem = Math.floor(rem / to[d]);
        j += (pad[d] === 1 ? 0 : c) * stride;
        stride *= pad[d];
      }
      assert.equal(got[i], src[j], `${JSON.stringify(from)} → ${JSON.stringify(to)} at ${i}`);
    }
  }
});
