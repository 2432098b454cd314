/**
 * Core ops against naive float64 reference loops, part 1: creation, reading, NumPy broadcasting for
 * every binary op, reductions with axis/keepdims, shape ops and their laws (part 2, matmul, special
 * functions and dtype promotion: `core_ops_matmul_test.ts`).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  abs,
  add,
  arange,
  astype,
  broadcastTo,
  concat,
  diag,
  div,
  equal,
  expandDims,
  eye,
  full,
  greater,
  greaterEqual,
  less,
  lessEqual,
  linspace,
  log,
  logSoftmax,
  logsumexp,
  matrixTranspose,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  norm,
  notEqual,
  ones,
  onesLike,
  pad,
  pow,
  prod,
  reshape,
  slice,
  softmax,
  squeeze,
  stack,
  sub,
  sum,
  take,
  type Tensor,
  tensor,
  trace,
  transpose,
  tril,
  triu,
  variance,
  where,
  zeros,
  zerosLike,
} from "../mod.ts";
import {
  arbitraryAxes,
  arbitraryBroadcastShapes,
  arbitraryPerm,
  arbitraryShape,
  arbitraryTensor,
  tensorOfShape,
} from "../testing/arbitraries.ts";

import { close, naiveBroadcast, size, strides, unravel, vals } from "./core_ops_helpers.ts";

const RUNS = { numRuns: 40 };

// ------------------------------------------------------------------------------------------------
// creation and reading

Deno.test("tensor: from nested arrays, numbers and typed arrays", () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([x.shape, x.dtype, x.size, x.ndim], [[2, 3], "float32", 6, 2]);
  assert.deepEqual(x.arraySync(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(tensor(3.5).shape, []);
  assert.equal(tensor(3.5).item(), 3.5);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.deepEqual(tensor([[true, false]]).dtype, "bool");
  assert.deepEqual(tensor([[true, false]]).arraySync(), [[true, false]]);
  assert.deepEqual(tensor([1.5, 2], { dtype: "float64" }).dtype, "float64");
  assert.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2], dtype: "int32" }).arraySync(), [[1, 2], [3, 4]]);
  assert.equal(tensor(new Float64Array([1, 2])).dtype, "float64");
  assert.equal(tensor(new Int32Array([1, 2])).dtype, "int32");
  assert.equal(tensor(new Uint8Array([1, 0])).dtype, "bool");
  const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
  assert.deepEqual(t.arraySync(), [[1, 2], [3, 4], [5, 6]]);
  // the tensor owns a copy: mutating the source changes nothing
  const src = new Float64Array([1, 2]);
  const c = tensor(src);
  src[0] = 9;
  assert.deepEqual(vals(c), [1, 2]);
  // float32 rounds
  assert.equal(tensor([0.1]).item(), Math.fround(0.1));
});

Deno.test("zeros, ones, full, zerosLike, onesLike", () => {
  assert.deepEqual(zeros([2, 2]).arraySync(), [[0, 0], [0, 0]]);
  assert.deepEqual(ones([3], { dtype: "int32" }).arraySync(), [1, 1, 1]);
  assert.equal(ones([3], { dtype: "int32" }).dtype, "int32");
  assert.deepEqual(full([2], 7.5, { dtype: "float64" }).arraySync(), [7.5, 7.5]);
  assert.deepEqual(full([2], 2, { dtype: "bool" }).arraySync(), [true, true]);
  assert.deepEqual(vals(full([2], 2, { dtype: "bool" })), [1, 1]);
  assert.deepEqual(full([], 3).shape, []);
  assert.deepEqual(zeros([0, 3]).shape, [0, 3]);
  const x = tensor([[1, 2]], { dtype: "float64" });
  assert.deepEqual([zerosLike(x).shape, zerosLike(x).dtype, vals(zerosLike(x))], [[1, 2], "float64", [0, 0]]);
  assert.deepEqual([onesLike(x).shape, onesLike(x).dtype, vals(onesLike(x))], [[1, 2], "float64", [1, 1]]);
});

Deno.test("eye with m and k (both signs)", () => {
  assert.deepEqual(eye(2).arraySync(), [[1, 0], [0, 1]]);
  assert.deepEqual(eye(2, { m: 3, k: 1 }).arraySync(), [[0, 1, 0], [0, 0, 1]]);
  assert.deepEqual(eye(3, { m: 2, k: -1 }).arraySync(), [[0, 0], [1, 0], [0, 1]]);
  assert.deepEqual(eye(2, { k: 5 }).arraySync(), [[0, 0], [0, 0]]);
  assert.deepEqual(eye(2, { k: -5 }).arraySync(), [[0, 0], [0, 0]]);
  assert.deepEqual(eye(2 ** 40, { m: 0 }).shape, [2 ** 40, 0]); // an empty result costs nothing, however tall
  assert.equal(eye(2, { dtype: "float64" }).dtype, "float64");
});

Deno.test("arange and linspace", () => {
  assert.deepEqual(arange(4).arraySync(), [0, 1, 2, 3]);
  assert.equal(arange(4).dtype, "int32");
  assert.deepEqual(arange(2, 5).arraySync(), [2, 3, 4]);
  assert.deepEqual(arange(5, 0, -2).arraySync(), [5, 3, 1]);
  assert.deepEqual(arange(3, 1).arraySync(), []);
  const f = arange(0, 1, 0.25);
  assert.deepEqual([f.dtype, f.arraySync()], ["float32", [0, 0.25, 0.5, 0.75]]);
  assert.equal(arange(0, 3, 1, { dtype: "float64" }).dtype, "float64");
  assert.deepEqual(linspace(0, 1, 5).arraySync(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linspace(2, 2, 1).arraySync(), [2]);
  assert.deepEqual(linspace(0, 1, 0).shape, [0]);
  const l = linspace(-1, 1, 7, { dtype: "float64" });
  assert.equal(l.dtype, "float64");
  assert.deepEqual([vals(l)[0], vals(l)[6]], [-1, 1]);
});

Deno.test("item, array, data, arraySync, toString", async () => {
  const x = tensor([[1, 2.5], [-3, 1e-7]]);
  assert.deepEqual(await x.array(), x.arraySync());
  assert.deepEqual([...(await x.data())], vals(x));
  assert.ok((await x.data()) instanceof Float32Array);
  assert.equal(tensor([[4]]).item(), 4);
  assert.equal(x.toString(), "Tensor([[1, 2.5], [-3, 1e-7]], shape=[2,2], dtype=float32)");
  assert.equal(tensor(2, { dtype: "int32" }).toString(), "Tensor(2, shape=[], dtype=int32)");
  assert.equal(tensor([true, false]).toString(), "Tensor([true, false], shape=[2], dtype=bool)");
  assert.equal(tensor([1 / 3], { dtype: "float64" }).toString(), "Tensor([0.333333], shape=[1], dtype=float64)");
  assert.equal(String(tensor([NaN, Infinity])), "Tensor([NaN, Infinity], shape=[2], dtype=float32)");
  // dataSync is a copy
  const d = x.dataSync();
  d[0] = 100;
  assert.equal(x.dataSync()[0], 1);
});

// ------------------------------------------------------------------------------------------------
// NumPy broadcasting for every binary op

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
  ["add", add, (x, y) => x + y],
  ["sub", sub, (x, y) => x - y],
  ["mul", mul, (x, y) => x * y],
  ["div", div, (x, y) => x / y],
  ["pow", (a, b) => pow(abs(a), b), (x, y) => Math.pow(Math.abs(x), y)],
  ["maximum", maximum, Math.max],
  ["minimum", minimum, Math.min],
  ["equal", equal, (x, y) => Number(x === y)],
  ["notEqual", notEqual, (x, y) => Number(x !== y)],
  ["less", less, (x, y) => Number(x < y)],
  ["lessEqual", lessEqual, (x, y) => Number(x <= y)],
  ["greater", greater, (x, y) => Number(x > y)],
  ["greaterEqual", greaterEqual, (x, y) => Number(x >= y)],
];

for (const [name, op, ref] of BINARY) {
  Deno.test(`broadcasting: ${name} matches NumPy semantics`, () => {
    const arb = arbitraryBroadcastShapes({ maxRank: 4 }).chain(([sa, sb]) =>
      // small integers make ties (for the comparisons) common
      fc.tuple(tensorOfShape(sa, { dtype: "int32", min: -2, max: 2 }), tensorOfShape(sb))
    );
    fc.assert(
      fc.property(arb, ([ai, b]) => {
        const a = astype(ai, "float64");
        const [out, [ia, ib]] = naiveBroadcast([a.shape, b.shape]);
        const z = op(a, b);
        assert.deepEqual(z.shape, out);
        const av = a.dataSync(), bv = b.dataSync();
        close(z.dataSync(), ia.map((i, k) => ref(av[i], bv[ib[k]])));
        // swapping operands broadcasts the same way
        assert.deepEqual(op(b, a).shape, out);
      }),
      RUNS,
    );
  });
}

Deno.test("broadcasting: where broadcasts its three operands", () => {
  const arb = arbitraryBroadcastShapes({ maxRank: 4 }, 3).chain(([sc, sa, sb]) =>
    fc.tuple(tensorOfShape(sc, { dtype: "bool" }), tensorOfShape(sa), tensorOfShape(sb))
  );
  fc.assert(
    fc.property(arb, ([c, a, b]) => {
      const [out, [ic, ia, ib]] = naiveBroadcast([c.shape, a.shape, b.shape]);
      const z = where(c, a, b);
      assert.deepEqual(z.shape, out);
      const cv = c.dataSync(), av = a.dataSync(), bv = b.dataSync();
      assert.deepEqual(vals(z), ic.map((i, k) => (cv[i] ? av[ia[k]] : bv[ib[k]])));
    }),
    RUNS,
  );
});

Deno.test("broadcasting: plain numbers on either side", () => {
  const x = tensor([1, 2, 3]);
  assert.deepEqual(vals(sub(10, x)), [9, 8, 7]);
  assert.deepEqual(vals(div(x, 2)), [0.5, 1, 1.5]);
  assert.deepEqual(vals(pow(2, x)), [2, 4, 8]);
  assert.deepEqual(vals(where(greater(x, 1.5), x, -1)), [-1, 2, 3]);
  assert.deepEqual(add(1, 2).arraySync(), 3);
});

// ------------------------------------------------------------------------------------------------
// reductions

/** Naive reduction of `x` over `axes` with `fn` from `init`. */
function naiveReduce(
  x: Tensor,
  axes: number[],
  init: number,
  fn: (acc: number, v: number) => number,
): [number[], number[]] {
  const out = x.shape.filter((_, i) => !axes.includes(i));
  const acc = new Array(size(out)).fill(init);
  const v = x.dataSync(), os = strides(out);
  for (let f = 0; f < x.size; f++) {
    const o = unravel(f, x.shape).filter((_, i) => !axes.includes(i)).reduce((a, idx, k) => a + idx * os[k], 0);
    acc[o] = fn(acc[o], v[f]);
  }
  return [out, acc];
}

const REDUCE: [string, typeof sum, number, (a: number, v: number) => number][] = [
  ["sum", sum, 0, (a, v) => a + v],
  ["prod", prod, 1, (a, v) => a * v],
  ["max", max, -Infinity, Math.max],
  ["min", min, Infinity, Math.min],
];

for (const [name, op, init, fn] of REDUCE) {
  Deno.test(`reduce: ${name} over random axes (negative too) with keepdims`, () => {
    const arb = arbitraryShape({ maxRank: 4 }).chain((s) =>
      fc.tuple(tensorOfShape(s), arbitraryAxes(s.length), fc.boolean(), fc.boolean())
    );
    fc.assert(
      fc.property(arb, ([x, axes, keepdims, negative]) => {
        const [out, ref] = naiveReduce(x, axes, init, fn);
        const axis = negative ? axes.map((a) => a - x.ndim) : axes;
        const y = op(x, { axis, keepdims });
        assert.deepEqual(y.shape, keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : out);
        close(y.dataSync(), ref);
      }),
      RUNS,
    );
  });
}

Deno.test("reduce: all axes by default; a single axis as a number; bool sums count", () => {
  const x = tensor([[1, 2], [3, 4]], { dtype: "float64" });
  assert.equal(sum(x).item(), 10);
  assert.deepEqual(sum(x).shape, []);
  assert.deepEqual(vals(sum(x, { axis: -1 })), [3, 7]);
  assert.deepEqual(sum(x, { keepdims: true }).shape, [1, 1]);
  assert.deepEqual([vals(max(x, { axis: 0 })), vals(min(x, { axis: 1 }))], [[3, 4], [1, 3]]);
  assert.equal(prod(x).item(), 24);
  const b = sum(tensor([true, true, false]));
  assert.deepEqual([b.dtype, b.item()], ["int32", 2]);
  assert.equal(sum(zeros([0])).item(), 0);
  assert.equal(prod(zeros([0])).item(), 1);
  assert.ok(Number.isNaN(max(tensor([1, NaN, 3])).item()));
});

Deno.test("reduce: mean and variance (ddof) match naive formulas", () => {
  const arb = arbitraryShape({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.tuple(tensorOfShape(s), arbitraryAxes(s.length), fc.boolean())
  );
  fc.assert(
    fc.property(arb, ([x, axes, keepdims]) => {
      const [, s] = naiveReduce(x, axes, 0, (a, v) => a + v);
      const [, s2] = naiveReduce(x, axes, 0, (a, v) => a + v * v);
      const n = axes.reduce((a, i) => a * x.shape[i], 1);
      close(mean(x, { axis: axes, keepdims }).dataSync(), s.map((v) => v / n));
      const varRef = s.map((v, i) => (s2[i] - (v * v) / n) / n);
      close(variance(x, { axis: axes, keepdims }).dataSync(), varRef, 1e-9, 1e-12);
      if (n > 1) {
        close(variance(x, { axis: axes, ddof: 1 }).dataSync(), varRef.map((v) => (v * n) / (n - 1)), 1e-9, 1e-12);
      }
    }),
    RUNS,
  );
  assert.equal(mean(tensor([1, 2], { dtype: "int32" })).dtype, "float32");
  assert.equal(mean(tensor([1, 2], { dtype: "int32" })).item(), 1.5);
});

Deno.test("reduce: logsumexp, softmax and logSoftmax", () => {
  const arb = arbitraryShape({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.tuple(tensorOfShape(s, { bound: 5 }), fc.integer({ min: 0, max: s.length - 1 }))
  );
  fc.assert(
    fc.property(arb, ([x, axis]) => {
      const [, ref] = naiveReduce(x, [axis], 0, (a, v) => a + Math.exp(v));
      close(logsumexp(x, { axis }).dataSync(), ref.map(Math.log), 1e-13, 1e-13);
      const p = softmax(x, { axis });
      close(sum(p, { axis }).dataSync(), ref.map(() => 1), 1e-14, 1e-14);
      close(logSoftmax(x, { axis }).dataSync(), log(p).dataSync(), 1e-12, 1e-12);
      close(softmax(x, { axis: axis - x.ndim }).dataSync(), p.dataSync(), 0, 0);
    }),
    RUNS,
  );
  // stable far from zero
  const big = tensor([1000, 1000, -1000], { dtype: "float64" });
  assert.equal(logsumexp(big).item(), 1000 + Math.log(2));
  close(softmax(big).dataSync(), [0.5, 0.5, 0]);
  assert.deepEqual(logsumexp(ones([2, 3]), { axis: [0, 1], keepdims: true }).shape, [1, 1]);
  // infinities give infinities, not NaN (as in JAX)
  assert.deepEqual(vals(logsumexp(tensor([[-Infinity, -Infinity], [Infinity, 0], [-Infinity, 0]]), { axis: 1 })), [
    -Infinity,
    Infinity,
    0,
  ]);
  // default axis is the last
  close(softmax(tensor([[0, Math.log(3)]], { dtype: "float64" })).dataSync(), [0.25, 0.75], 1e-15);
});

Deno.test("reduce: norm with ord 1, 2, 'fro', Infinity and p = 3, over axes", () => {
  const x = tensor([[3, -4], [0, 12]], { dtype: "float64" });
  assert.equal(norm(x).item(), 13);
  assert.equal(norm(x, { ord: "fro" }).item(), 13);
  assert.equal(norm(x, { ord: 1 }).item(), 19);
  assert.equal(norm(x, { ord: Infinity }).item(), 12);
  close([norm(x, { ord: 3 }).item()], [Math.cbrt(27 + 64 + 1728)], 1e-15);
  assert.deepEqual(vals(norm(x, { axis: 1 })), [5, 12]);
  assert.deepEqual(norm(x, { axis: 0, keepdims: true }).shape, [1, 2]);
  assert.equal(norm(zeros([3])).item(), 0);
});

// ------------------------------------------------------------------------------------------------
// shape ops and their laws

Deno.test("shape laws: reshape round trip (with -1) and transpose round trip", () => {
  fc.assert(
    fc.property(
      arbitraryTensor({ maxRank: 4 }).chain((x) => fc.tuple(fc.constant(x), arbitraryPerm(x.ndim))),
      ([x, p]) => {
        const flat = reshape(x, [-1]);
        assert.deepEqual(flat.shape, [x.size]);
        assert.deepEqual(reshape(flat, x.shape).arraySync(), x.arraySync());
        const permuted = p.map((i) => x.shape[i]);
        assert.deepEqual(vals(reshape(reshape(x, permuted), x.shape)), vals(x));
        const inv = p.map((_, i) => p.indexOf(i));
        const t = transpose(x, p);
        assert.deepEqual(t.shape, permuted);
        assert.deepEqual(transpose(t, inv).arraySync(), x.arraySync());
        // transpose moves element at index idx to index idx∘p
        const tv = t.dataSync(), xv = x.dataSync(), xs = strides(x.shape);
        for (let f = 0; f < t.size; f++) {
          const idx = unravel(f, t.shape);
          assert.equal(tv[f], xv[idx.reduce((a, v, k) => a + v * xs[p[k]], 0)]);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("shape ops: reshape -1, T, mT, matrixTranspose, expandDims and squeeze", () => {
  const x = arange(24).reshape([2, 3, 4]);
  assert.deepEqual(reshape(x, [4, -1]).shape, [4, 6]);
  assert.deepEqual(reshape(x, [-1, 2, 3]).shape, [4, 2, 3]);
  assert.deepEqual(reshape(zeros([0, 3]), [-1, 3]).shape, [0, 3]);
  assert.deepEqual(x.T.shape, [4, 3, 2]);
  assert.deepEqual(x.mT.shape, [2, 4, 3]);
  assert.deepEqual(matrixTranspose(x).arraySync(), transpose(x, [0, 2, 1]).arraySync());
  assert.deepEqual(transpose(tensor([[1, 2], [3, 4]])).arraySync(), [[1, 3], [2, 4]]);
  assert.deepEqual(expandDims(x, 0).shape, [1, 2, 3, 4]);
  assert.deepEqual(expandDims(x, -1).shape, [2, 3, 4, 1]);
  assert.deepEqual(expandDims(x, 2).shape, [2, 3, 1, 4]);
  assert.deepEqual(squeeze(zeros([1, 2, 1, 3])).shape, [2, 3]);
  assert.deepEqual(squeeze(zeros([1, 2, 1, 3]), -2).shape, [1, 2, 3]);
  assert.deepEqual(squeeze(zeros([1, 2, 1]), [0, 2]).shape, [2]);
  fc.assert(
    fc.property(
      arbitraryTensor({ maxRank: 3 }).chain((t) => fc.tuple(fc.constant(t), fc.integer({ min: 0, max: t.ndim }))),
      ([t, a]) => {
        assert.deepEqual(squeeze(expandDims(t, a), a).arraySync(), t.arraySync());
      },
    ),
    RUNS,
  );
});

Deno.test("shape ops: broadcastTo", () => {
  const x = tensor([[1], [2]]);
  assert.deepEqual(broadcastTo(x, [2, 3]).arraySync(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(broadcastTo(x, [2, 2, 2]).arraySync(), [[[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
  assert.deepEqual(broadcastTo(tensor(5), [2]).arraySync(), [5, 5]);
});

Deno.test("shape laws: slice and concat are inverse; negative indices count from the end", () => {
  const arb = arbitraryShape({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.tuple(tensorOfShape(s), fc.integer({ min: 0, max: s.length - 1 }))
      .chain(([x, axis]) => fc.tuple(fc.constant(x), fc.constant(axis), fc.integer({ min: 0, max: s[axis] })))
  );
  fc.assert(
    fc.property(arb, ([x, axis, at]) => {
      const d = x.shape[axis];
      const r = (a: number, b: number) => x.shape.map((_, i) => (i === axis ? [a, b] as [number, number] : null));
      const left = slice(x, r(0, at)), right = slice(x, r(at, d));
      assert.deepEqual(concat([left, right], axis).arraySync(), x.arraySync());
      assert.deepEqual(concat([left, right], axis - x.ndim).arraySync(), x.arraySync());
      if (at < d) assert.deepEqual(slice(x, r(at - d, d)).arraySync(), right.arraySync());
      assert.equal(left.shape[axis] + right.shape[axis], d);
    }),
    RUNS,
  );
  const x = arange(10);
  assert.deepEqual(slice(x, [[-3, -1]]).arraySync(), [7, 8]);
  assert.deepEqual(slice(x, [[2, -5]]).arraySync(), [2, 3, 4]);
  assert.deepEqual(slice(arange(6).reshape([2, 3]), [null, [1, 3]]).arraySync(), [[1, 2], [4, 5]]);
  assert.deepEqual(slice(arange(6).reshape([2, 3]), [[1, 2]]).arraySync(), [[3, 4, 5]]);
  assert.deepEqual(slice(x, [[4, 4]]).shape, [0]);
});

Deno.test("shape ops: concat, stack, pad", () => {
  const a = tensor([[1, 2]]), b = tensor([[3, 4]]);
  assert.deepEqual(concat([a, b]).arraySync(), [[1, 2], [3, 4]]);
  assert.deepEqual(concat([a, b], 1).arraySync(), [[1, 2, 3, 4]]);
  assert.deepEqual(concat([a]).arraySync(), [[1, 2]]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])]).arraySync(), [[1, 2], [3, 4]]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).arraySync(), [[1, 3], [2, 4]]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], -1).arraySync(), [[1, 3], [2, 4]]);
  assert.deepEqual(stack([tensor(1), tensor(2)]).arraySync(), [1, 2]);
  assert.deepEqual(pad(tensor([[1]]), [[1, 0], [0, 2]], 9).arraySync(), [[9, 9, 9], [1, 9, 9]]);
  assert.deepEqual(pad(tensor([1, 2]), [[2, 1]]).arraySync(), [0, 0, 1, 2, 0]);
  assert.deepEqual(pad(tensor([[1, 2]]), [[1, 1]]).arraySync(), [[0, 0], [1, 2], [0, 0]]);
});

Deno.test("shape ops: take with negative indices, tensor indices, no axis (flattened)", () => {
  const x = arange(6).reshape([2, 3]);
  assert.deepEqual(take(x, [2, -3, 2], 1).arraySync(), [[2, 0, 2], [5, 3, 5]]);
  assert.deepEqual(take(x, [-1], 0).arraySync(), [[3, 4, 5]]);
  assert.deepEqual(take(x, [5, 0]).arraySync(), [5, 0]);
  const idx = tensor([[1, 0], [0, -1]], { dtype: "int32" });
  assert.deepEqual(take(x, idx, 0).shape, [2, 2, 3]);
  assert.deepEqual(take(x, idx, 0).arraySync(), [[[3, 4, 5], [0, 1, 2]], [[0, 1, 2], [3, 4, 5]]]);
  assert.deepEqual(take(x, tensor(2, { dtype: "int32" }), 1).arraySync(), [2, 5]);
  assert.deepEqual(take(x, [], 1).shape, [2, 0]);
});

Deno.test("shape ops: diag both ways with k ≠ 0, batched; triu/tril with k; trace", () => {
  assert.deepEqual(diag(tensor([1, 2])).arraySync(), [[1, 0], [0, 2]]);
  assert.deepEqual(diag(tensor([1, 2]), 1).arraySync(), [[0, 1, 0], [0, 0, 2], [0, 0, 0]]);
  assert.deepEqual(diag(tensor([1, 2]), -1).arraySync(), [[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
  const m = arange(12).reshape([3, 4]);
  assert.deepEqual(diag(m).arraySync(), [0, 5, 10]);
  assert.deepEqual(diag(m, 1).arraySync(), [1, 6, 11]);
  assert.deepEqual(diag(m, 2).arraySync(), [2, 7]);
  assert.deepEqual(diag(m, -1).arraySync(), [4, 9]);
  assert.deepEqual(diag(m, -3).arraySync(), []);
  assert.deepEqual(diag(m, 4).arraySync(), []);
  assert.deepEqual(diag(arange(8).reshape([2, 2, 2])).arraySync(), [[0, 3], [4, 7]]);
  fc.assert(
    fc.property(arbitraryTensor({ minRank: 1, maxRank: 1 }), fc.integer({ min: -3, max: 3 }), (v, k) => {
      assert.deepEqual(diag(diag(v, k), k).arraySync(), v.arraySync());
    }),
    RUNS,
  );
  const a = arange(1, 10).reshape([3, 3]);
  assert.deepEqual(triu(a).arraySync(), [[1, 2, 3], [0, 5, 6], [0, 0, 9]]);
  assert.deepEqual(triu(a, 1).arraySync(), [[0, 2, 3], [0, 0, 6], [0, 0, 0]]);
  assert.deepEqual(triu(a, -1).arraySync(), [[1, 2, 3], [4, 5, 6], [0, 8, 9]]);
  assert.deepEqual(tril(a).arraySync(), [[1, 0, 0], [4, 5, 0], [7, 8, 9]]);
  assert.deepEqual(tril(a, -1).arraySync(), [[0, 0, 0], [4, 0, 0], [7, 8, 0]]);
  assert.deepEqual(tril(a, 1).arraySync(), [[1, 2, 0], [4, 5, 6], [7, 8, 9]]);
  assert.deepEqual(add(triu(a, 1), tril(a)).arraySync(), a.arraySync());
  assert.deepEqual(triu(ones([2, 2, 3])).arraySync(), [[[1, 1, 1], [0, 1, 1]], [[1, 1, 1], [0, 1, 1]]]);
  assert.equal(trace(a).item(), 15);
  assert.deepEqual(trace(arange(8).reshape([2, 2, 2])).arraySync(), [3, 11]);
});

Deno.test("reshape: a -1 beside extents multiplying to 0 is ambiguous, refused as NumPy/JAX/PyTorch do; LoKH's cascade on an empty batch", async () => {
  const { adapters, key: makeKey, ShapeError: SE, zeros: z } = await import("../mod.ts");
  assert.throws(
    () => reshape(z([0, 6]), [0, -1]),
    (e: unknown) => e instanceof SE && /reshape: the -1 in \[0, -1\] is ambiguous.*give it/.test(e.message),
  );
  assert.deepEqual(reshape(z([0, 6]), [0, 3, 2]).shape, [0, 3, 2]);
  assert.deepEqual(reshape(z([2, 6]), [-1, 4]).shape, [3, 4]);
  const deep = adapters.lokh({ r: 2, factors: 3 });
  const s = deep.init(makeKey(0), { weight: z([12, 8], { dtype: "float64" }) });
  assert.deepEqual(deep.apply(s.params, s.frozen, z([0, 8], { dtype: "float64" })).shape, [0, 12]);
});
