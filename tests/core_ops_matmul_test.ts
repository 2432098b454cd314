/**
 * Core ops against naive float64 reference loops, part 2: matmul, special functions and the dtype
 * promotion rule (part 1, creation, broadcasting, reductions and shape ops: `core_ops_test.ts`).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  arange,
  astype,
  broadcastArrays,
  broadcastTo,
  clip,
  concat,
  cumprod,
  diag,
  div,
  dot,
  type DType,
  einsum,
  equal,
  erf,
  exp,
  flatten,
  floor,
  gelu,
  jit,
  less,
  log,
  logicalAnd,
  logicalNot,
  matmul,
  matmulT,
  matrixTranspose,
  maximum,
  mul,
  type NestedArray,
  oneHot,
  ones,
  outer,
  pad,
  prod,
  promote,
  reciprocal,
  relu,
  reshape,
  sigmoid,
  sign,
  softmax,
  square,
  stack,
  sub,
  sum,
  take,
  type Tensor,
  tensor,
  transpose,
  where,
  zeros,
} from "../mod.ts";
import { DTYPES, isFloat } from "../core/dtype.ts";

import { arbitraryMatmulCase, close, f64, naiveBroadcast, size, vals } from "./core_ops_helpers.ts";

const RUNS = { numRuns: 40 };

// ------------------------------------------------------------------------------------------------
// matmul against a naive float64 triple loop

/** `op(A) @ op(B)` for row-major matrices at offsets, the textbook way. */
function naiveMatmul(a: Tensor, b: Tensor, tA = false, tB = false): [number[], number[]] {
  const [ra, ca] = a.shape.slice(-2), [rb, cb] = b.shape.slice(-2);
  const [m, k] = tA ? [ca, ra] : [ra, ca];
  const n = tB ? rb : cb;
  const [batch, [ia, ib]] = naiveBroadcast([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
  const av = a.dataSync(), bv = b.dataSync(), out: number[] = [];
  for (let t = 0; t < size(batch); t++) {
    const ao = ia[t] * m * k, bo = ib[t] * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += av[ao + (tA ? p * m + i : i * k + p)] * bv[bo + (tB ? j * k + p : p * n + j)];
        out.push(s);
      }
    }
  }
  return [[...batch, m, n], out];
}

const matmulCase = arbitraryMatmulCase(3, 9, 0);

Deno.test("matmul: batch broadcasting and transposes match a naive triple loop (float64)", () => {
  fc.assert(
    fc.property(matmulCase, ([a, b, tA, tB]) => {
      const [shape, ref] = naiveMatmul(a, b, tA, tB);
      const c = matmulT(a, b, tA, tB);
      assert.deepEqual(c.shape, shape);
      close(c.dataSync(), ref, 1e-13, 1e-13);
      if (!tA && !tB) close(matmul(a, b).dataSync(), ref, 1e-13, 1e-13);
      // op(a) @ op(b) is the plain product of the transposed copies
      const a2 = tA ? matrixTranspose(a) : a, b2 = tB ? matrixTranspose(b) : b;
      close(matmul(a2, b2).dataSync(), ref, 1e-13, 1e-13);
    }),
    RUNS,
  );
});

Deno.test("matmul: 1-D operands as in NumPy", () => {
  const v = tensor([1, 2, 3], { dtype: "float64" }), m = arange(6, undefined, 1, { dtype: "float64" }).reshape([3, 2]);
  assert.deepEqual([matmul(v, v).shape, matmul(v, v).item()], [[], 14]);
  assert.deepEqual(matmul(v, m).arraySync(), [16, 22]);
  assert.deepEqual(matmul(m.T, v).arraySync(), [16, 22]);
  const batch = arange(12, undefined, 1, { dtype: "float64" }).reshape([2, 3, 2]);
  assert.deepEqual(matmul(v, batch).arraySync(), [[16, 22], [52, 58]]);
  assert.deepEqual(matmul(batch.mT, v).arraySync(), [[16, 22], [52, 58]]);
  assert.deepEqual(matmul(ones([2, 0]), ones([0, 3])).arraySync(), [[0, 0, 0], [0, 0, 0]]);
});

Deno.test("matmul: sizes past the kernel's blocking, float32 and float64", () => {
  for (const [m, k, n] of [[67, 300, 33], [5, 513, 130], [130, 17, 260]]) {
    const a = f64(Array.from({ length: m * k }, (_, i) => Math.sin(i)), [m, k]);
    const b = f64(Array.from({ length: k * n }, (_, i) => Math.cos(0.7 * i)), [k, n]);
    const [, ref] = naiveMatmul(a, b);
    close(matmul(a, b).dataSync(), ref, 1e-12, 1e-12);
    // float32 inputs: each product is exact in float64, so the error is float32 rounding of the inputs and output
    const c32 = matmul(astype(a, "float32"), astype(b, "float32"));
    assert.equal(c32.dtype, "float32");
    close(c32.dataSync(), ref, 1e-4, 1e-4 * Math.sqrt(k));
    const [, refT] = naiveMatmul(b, a, true, true);
    close(matmulT(b, a, true, true).dataSync(), refT, 1e-12, 1e-12);
  }
});

// ------------------------------------------------------------------------------------------------
// elementwise functions

Deno.test("erf: known values to 1e-15, odd, saturates", () => {
  // erf to 17 digits, computed from its Maclaurin series in 80-digit decimal arithmetic
  const known = [
    [1e-8, 1.1283791670955126e-8],
    [0.001, 0.0011283787909692365],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.25, 0.9229001282564583],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [2.5, 0.999593047982555],
    [2.531, 0.9996555824330718],
    [3, 0.9999779095030014],
    [3.5, 0.9999992569016276],
    [4, 0.9999999845827421],
    [5, 0.9999999999984626],
    [5.9, 0.9999999999999999],
  ];
  const x = f64(known.map(([v]) => v), [known.length]);
  const y = erf(x).dataSync(), yn = erf(sub(0, x)).dataSync();
  known.forEach(([v, e], i) => {
    assert.ok(Math.abs(y[i] - e) <= 1e-15, `erf(${v}) = ${y[i]}, expected ${e}`);
    assert.equal(yn[i], -y[i]);
  });
  assert.deepEqual(vals(erf(f64([0, 6, -7, Infinity, -Infinity], [5]))), [0, 1, -1, 1, -1]);
  assert.ok(Number.isNaN(erf(f64([NaN], [1])).item()));
});

Deno.test("gelu: exact form equals PyTorch's x·½(1 + erf(x/√2)); tanh form equals PyTorch's approximation", () => {
  // [x, torch.nn.functional.gelu(x), gelu(x, approximate="tanh")] in float64, from those formulas
  const ref = [
    [-3, -0.00404969409489031, -0.0036373920817729943],
    [-1.5, -0.10021080190328713, -0.10042842301976707],
    [-1, -0.15865525393145707, -0.15880800939172324],
    [-0.5, -0.15426876936299344, -0.15428599017485606],
    [-0.001, -0.000499601057786089, -0.000499601057786418],
    [0, 0, 0],
    [0.25, 0.14967658142073093, 0.149675350701685],
    [0.5, 0.34573123063700656, 0.34571400982514394],
    [1, 0.8413447460685429, 0.8411919906082768],
    [2, 1.9544997361036416, 1.954597694087775],
    [3, 2.99595030590511, 2.996362607918227],
  ];
  const x = f64(ref.map(([v]) => v), [ref.length]);
  // 1 + erf(x/√2) cancels for x < 0, so an ulp of erf becomes ~1e-15 relative there; the two
  // forms differ by up to 4e-4, so this still tells them apart by eleven orders of magnitude
  close(gelu(x).dataSync(), ref.map(([, e]) => e), 1e-14, 1e-16);
  close(gelu(x, { approximate: "tanh" }).dataSync(), ref.map(([, , t]) => t), 1e-14, 1e-16);
  // float32 stays float32
  assert.equal(gelu(tensor([1])).dtype, "float32");
  close(gelu(tensor([1])).dataSync(), [0.8413447460685429], 1e-7);
});

Deno.test("relu, sigmoid, sign, square, reciprocal, clip, exp/log", () => {
  const x = f64([-2, -0.5, 0, 0.5, 2], [5]);
  assert.deepEqual(vals(relu(x)), [0, 0, 0, 0.5, 2]);
  close(sigmoid(x).dataSync(), vals(x).map((v) => 1 / (1 + Math.exp(-v))), 1e-15);
  assert.equal(sigmoid(f64([-800], [1])).item(), 0);
  assert.equal(sigmoid(f64([800], [1])).item(), 1);
  assert.deepEqual(vals(sign(x)), [-1, -1, 0, 1, 1]);
  assert.deepEqual(vals(sign(tensor([-3, 0, 4], { dtype: "int32" }))), [-1, 0, 1]);
  assert.deepEqual(vals(square(x)), [4, 0.25, 0, 0.25, 4]);
  assert.deepEqual(vals(reciprocal(f64([2, -4], [2]))), [0.5, -0.25]);
  assert.deepEqual(vals(clip(x, -1, 1)), [-1, -0.5, 0, 0.5, 1]);
  close(log(exp(x)).dataSync(), vals(x), 1e-15, 1e-15);
});

Deno.test("outer, dot, flatten, oneHot, broadcastArrays, logicalAnd/Not, floor", () => {
  assert.deepEqual(outer(tensor([1, 2]), tensor([3, 4, 5])).arraySync(), [[3, 4, 5], [6, 8, 10]]);
  assert.deepEqual(dot(tensor([[1, 2], [3, 4]]), tensor([1, 1])).arraySync(), [3, 7]);
  assert.equal(dot(tensor([1, 2]), tensor([3, 4])).item(), 11);
  assert.deepEqual(flatten(ones([2, 3])).shape, [6]);
  assert.deepEqual(oneHot(tensor([0, 2], { dtype: "int32" }), 3).arraySync(), [[1, 0, 0], [0, 0, 1]]);
  const [p, q] = broadcastArrays(tensor([1, 2]), tensor([[1], [2]]));
  assert.deepEqual([p.arraySync(), q.arraySync()], [[[1, 2], [1, 2]], [[1, 1], [2, 2]]]);
  assert.deepEqual(logicalNot(tensor([true, false])).arraySync(), [false, true]);
  assert.deepEqual(logicalAnd(tensor([true, false, true]), tensor([true, true, false])).arraySync(), [
    true,
    false,
    false,
  ]);
  assert.deepEqual(floor(tensor([-1.5, 1.5, 2])).arraySync(), [-2, 1, 2]);
});

Deno.test("zero-size tensors flow through every kind of op", () => {
  const z = zeros([0, 3]);
  assert.deepEqual(add(z, ones([3])).shape, [0, 3]);
  assert.deepEqual(add(zeros([2, 0, 3]), ones([2, 1, 3])).shape, [2, 0, 3]);
  assert.deepEqual([sum(z, { axis: 0 }).arraySync(), sum(z, { axis: 1 }).shape], [[0, 0, 0], [0]]);
  assert.deepEqual(transpose(zeros([0, 3, 2]), [2, 0, 1]).shape, [2, 0, 3]);
  assert.deepEqual(concat([z, ones([1, 3])]).arraySync(), [[1, 1, 1]]);
  assert.deepEqual(pad(z, [[1, 0]]).arraySync(), [[0, 0, 0]]);
  assert.deepEqual(softmax(z).shape, [0, 3]);
  assert.deepEqual(matmul(zeros([0, 2, 3]), ones([3, 4])).shape, [0, 2, 4]);
  assert.deepEqual(take(zeros([2, 0]), [1], 0).shape, [1, 0]);
  assert.deepEqual(broadcastTo(ones([1, 3]), [0, 3]).shape, [0, 3]);
  assert.deepEqual(reshape(z, [3, -1]).shape, [3, 0]);
  assert.deepEqual(diag(zeros([0])).shape, [0, 0]);
});

// ------------------------------------------------------------------------------------------------
// the dtype promotion rule (core/dtype.ts)

Deno.test("dtype promotion: bool < int32 < float16 < float32 < float64; numbers are weak; bool arithmetic counts in int32", () => {
  const make = (d: DType) => tensor([1, 0], { dtype: d });
  for (const da of DTYPES) {
    for (const db of DTYPES) {
      const want = promote(da, db);
      assert.equal(add(make(da), make(db)).dtype, want === "bool" ? "int32" : want, `${da} + ${db}`);
      assert.equal(maximum(make(da), make(db)).dtype, want, `maximum(${da}, ${db})`);
      assert.equal(less(make(da), make(db)).dtype, "bool");
      assert.equal(div(make(da), make(db)).dtype, isFloat(want) ? want : "float32", `${da} / ${db}`);
    }
  }
  assert.equal(promote("int32", "float32"), "float32");
  assert.equal(promote("float64", "bool"), "float64");
  // weak numbers take the tensor's dtype
  assert.equal(add(make("float32"), 1.5).dtype, "float32");
  assert.equal(add(2, make("float64")).dtype, "float64");
  assert.equal(add(make("int32"), 2).dtype, "int32");
  assert.equal(add(make("int32"), 2.5).dtype, "float32");
  assert.deepEqual(vals(add(make("int32"), 2.5)), [3.5, 2.5]);
  // bool arithmetic never leaves a 2 in a bool tensor
  const t = tensor([true, false]);
  assert.deepEqual([add(t, t).dtype, vals(add(t, t))], ["int32", [2, 0]]);
  assert.deepEqual(vals(add(t, 1)), [2, 1]);
  assert.deepEqual(vals(sub(tensor([false]), tensor([true]))), [-1]);
  assert.deepEqual(vals(equal(add(t, t), 2)), [1, 0]);
  assert.equal(matmul(ones([1, 300], { dtype: "bool" }), ones([300, 1], { dtype: "bool" })).item(), 300);
  // integers: division and pow go to float32, mean too; casts truncate
  assert.deepEqual(vals(div(tensor([3], { dtype: "int32" }), 2)), [1.5]);
  assert.deepEqual(vals(astype(f64([-1.7, 2.9], [2]), "int32")), [-1, 2]);
  assert.deepEqual(vals(astype(f64([-1.7, 0], [2]), "bool")), [1, 0]);
  // a plain number converts as a scalar tensor would
  assert.deepEqual([astype(-1.7, "int32").shape, astype(-1.7, "int32").item()], [[], -1]);
  assert.deepEqual([astype(-3, "float16").dtype, astype(0.1, "float16").item()], ["float16", Math.f16round(0.1)]);
  assert.deepEqual([astype(-1.7, "bool").item(), astype(0, "bool").item(), astype(2, "float64").item()], [1, 0, 2]);
  assert.equal(exp(tensor([0], { dtype: "int32" })).dtype, "float32");
  // several operands: concat and stack promote like a binary op
  const mixed = concat([tensor([1], { dtype: "int32" }), tensor([0.5], { dtype: "float64" }), tensor([true])]);
  assert.deepEqual([mixed.dtype, vals(mixed)], ["float64", [1, 0.5, 1]]);
  assert.equal(stack([tensor([1], { dtype: "int32" }), tensor([2])]).dtype, "float32");
  assert.equal(
    where(tensor([true]), tensor([1], { dtype: "int32" }), tensor([2], { dtype: "float64" })).dtype,
    "float64",
  );
});

Deno.test("int32 products wrap mod 2³² as NumPy's int32: mul, square, prod, cumprod, matmul, einsum, a jitted chain", () => {
  const i32 = (a: NestedArray) => tensor(a, { dtype: "int32" });
  const x = i32([2147483647, 65537, -7, -2147483648]);
  // NumPy 2.4: x * x, np.prod(m, axis, dtype=int32), np.cumprod, a @ b
  assert.deepEqual(vals(mul(x, x)), [1, 131073, 49, 0]);
  assert.deepEqual(vals(square(x)), [1, 131073, 49, 0]);
  const m = i32([[2147483647, 3, -5], [2147483647, 5, 7]]);
  assert.deepEqual(vals(prod(m, { axis: 0 })), [1, 15, -35]);
  assert.deepEqual(vals(prod(m, { axis: 1 })), [-2147483633, 2147483613]);
  assert.deepEqual(vals(cumprod(i32([2147483647, 1, 2147483647, 5]))), [2147483647, 2147483647, 1, 5]);
  const a = i32([[4097, 2147483647], [3, -2147483648]]), b = i32([[4097, 1], [2147483647, 2]]);
  assert.deepEqual(vals(matmul(a, b)), [16785410, 4095, -2147471357, 3]);
  assert.deepEqual(vals(einsum("ij,jk->ik", a, b)), [16785410, 4095, -2147471357, 3]);
  const f = jit((t: Tensor) => add(mul(t, t), 1));
  f(x);
  assert.deepEqual(vals(f(x)), [2, 131074, 50, 1], "the replayed fused chain wraps as the one-op kernel");
});
