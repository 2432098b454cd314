/**
 * jit fuses a `prod` ending an elementwise chain into the chain's Wasm kernel (issue 11), bit for bit
 * the eager kernel (`core/backend/cpu/reduce.ts`: one float64 running product per result in index
 * order, rounded once): over the last axes (rows shorter than a vector, whole vectors, vectors and a
 * scalar tail, long rows), over leading or middle axes (the column sweep: fewer columns than a
 * vector, whole vectors, a tail), over all axes, over axes apart only by axes of extent 1, float32
 * and float64, with values whose product depends on the order of multiplication (factors near 1,
 * whose roundings differ by order; huge and tiny factors, which overflow or underflow in some
 * orders and not others) and ±0, ±∞ and NaN.
 */
import assert from "node:assert/strict";
import { jit, jitInfo, mul, prod, type Tensor, tensor } from "../mod.ts";

/** Bits of `t` as integers (so NaN and −0 compare exactly). */
function bits(t: Tensor): number[] {
  const d = t.dataSync();
  if (d instanceof Float64Array) return Array.from(new BigInt64Array(d.buffer, d.byteOffset, d.length), Number);
  if (d instanceof Float32Array) return Array.from(new Int32Array(d.buffer, d.byteOffset, d.length));
  return Array.from(d, Number);
}

/** A deterministic generator in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 13;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * `n` factors: mostly near ±1 (the rounding of each product depends on the order), some huge or tiny
 * (an overflow to ∞ or underflow to 0 in some orders only: the float64 accumulator of a float32
 * product too), and, when `special`, about one ±0, ±∞ or NaN per `every` elements.
 */
function factors(n: number, dtype: "float32" | "float64", seed: number, special: boolean, every: number): number[] {
  const r = rng(seed);
  const big = dtype === "float64" ? 700 : 120; // float32: 2^±120, about 20 in a row leave float64's range
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const sign = r() < 0.3 ? -1 : 1;
    const u = r();
    let v: number;
    if (u < 0.7) v = 1 + (r() - 0.5) / 4;
    else if (u < 0.85) v = (1 + r()) * 2 ** Math.round(big * (0.5 + r() / 2));
    else v = (1 + r()) * 2 ** -Math.round(big * (0.5 + r() / 2));
    if (special && r() < 1 / every) v = [0, Infinity, NaN][Math.floor(r() * 3)];
    out.push(sign * v);
  }
  return out;
}

/** The product of each `[rows, length, inner]` result, its factors in `order` (after rounding to `dtype`). */
function byHand(x: Float32Array | Float64Array, rows: number, length: number, inner: number, reverse: boolean) {
  const out = new (x.constructor as Float64ArrayConstructor)(rows * inner);
  for (let a = 0; a < rows; a++) {
    for (let i = 0; i < inner; i++) {
      let s = 1;
      for (let k = 0; k < length; k++) s *= x[(a * length + (reverse ? length - 1 - k : k)) * inner + i];
      out[a * inner + i] = s === s ? s : NaN; // a NaN stored as the quiet NaN, as the eager kernel does
    }
  }
  return out;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * jit of `prod(x · s)` (s = ±1: the factors exactly x's, signs flipped) over `axis` of `shape` equals
 * the eager result bit for bit, traced and replayed, the prod inside the fused Wasm step; the eager
 * result is the in-order product (and, over more than two factors, some result differs from the
 * reversed order, so the values do test the order).
 */
function check(shape: number[], axis: number[], seed: number) {
  const n = size(shape);
  for (const dtype of ["float32", "float64"] as const) {
    for (const special of [false, true]) {
      const x = tensor(factors(n, dtype, seed, special, 8), { dtype }).reshape(shape);
      const s = tensor(factors(n, dtype, seed + 1, false, 1).map((v) => (v < 0 ? -1 : 1)), { dtype }).reshape(shape);
      for (const keepdims of [false, true]) {
        const what = `prod ${dtype} [${shape}] over [${axis}]${keepdims ? " keepdims" : ""}${
          special ? " ±0 ±∞ NaN" : ""
        }`;
        const f = (a: Tensor, b: Tensor) => prod(mul(a, b), { axis, keepdims });
        const want = f(x, s);
        const jf = jit(f);
        const traced = jf(x, s), replayed = jf(x, s);
        assert.deepEqual(traced.shape, want.shape, what);
        assert.deepEqual(bits(traced), bits(want), `${what}: traced`);
        assert.deepEqual(bits(replayed), bits(want), `${what}: replayed`);
        const [info] = jitInfo(jf);
        const step = info.steps.find((st) => st.primitive === "fused" && st.ops.at(-1) === "prod");
        assert.ok(step && step.wasm, `${what}: ${String(info)}`);
        assert.ok(!info.steps.some((st) => st.primitive === "reduce"), `${what}: ${String(info)}`);
      }
      // the eager result is the in-order float64 product, and the data make the order matter
      const moved = axis.every((a, k) => k === 0 || a === axis[k - 1] + 1);
      if (!moved) continue;
      const length = size(axis.map((a) => shape[a]));
      const inner = size(shape.slice(axis.at(-1)! + 1));
      const xs = mul(x, s).dataSync() as Float32Array | Float64Array;
      const eager = prod(mul(x, s), { axis }).dataSync() as Float32Array | Float64Array;
      const rows = n / length / inner;
      const inOrder = new (eager.constructor as Float64ArrayConstructor)(byHand(xs, rows, length, inner, false));
      assert.deepEqual(bits(tensor(Array.from(inOrder), { dtype })), bits(tensor(Array.from(eager), { dtype })));
      // (float32 factors multiplied in float64 and rounded once hide the order's roundings: the
      // overflow and underflow test below shows it for them)
      if (dtype === "float64" && length > 2 && rows * inner >= 8 && !special) {
        const reversed = new (eager.constructor as Float64ArrayConstructor)(byHand(xs, rows, length, inner, true));
        assert.ok(reversed.some((v, i) => !Object.is(v, eager[i])), `${dtype} [${shape}]: order-insensitive data`);
      }
    }
  }
}

Deno.test("jit fuses a prod over the last axes, bit for bit the eager in-order product", () => {
  // rows shorter than one vector (4 elements: four float32 lanes, two float64 vectors), whole
  // vectors, vectors and a tail, long rows, one row of everything
  let seed = 1;
  for (const len of [1, 2, 3, 4, 5, 7, 8, 13, 64, 67, 129, 1000]) check([9, len], [1], seed++);
  check([3, 4, 5], [1, 2], seed++);
  check([6, 11], [0, 1], seed++);
  check([2, 4096], [1], seed++);
});

Deno.test("jit fuses a prod over leading or middle axes (the column sweep), bit for bit the eager one", () => {
  // columns fewer than a vector, whole vectors, a tail; one reduced row, several, many
  let seed = 100;
  for (const inner of [2, 3, 4, 5, 8, 9, 17]) {
    for (const r of [1, 3, 23]) check([2, r, inner], [1], seed++);
  }
  check([31, 6], [0], seed++);
  check([5, 7, 2, 3], [0, 1], seed++);
});

Deno.test("jit fuses a prod over axes apart only by axes of extent 1, bit for bit the eager one", () => {
  check([3, 1, 5], [0, 2], 200);
  check([2, 7, 1, 9], [1, 3], 201);
  check([16, 1, 70], [0, 2], 202);
});

Deno.test("jit's fused prod overflows and underflows where the eager in-order product does", () => {
  // 2^120 nine times overflows float64 (2^1080), 2^-120 nine times underflows it: in index order
  // these rows give ∞, 0, −∞, −0, NaN (∞ · 0) and 1, any other order (reversed, lanes or partial
  // products) something else; 18 factors: four vectors and a tail
  const H = Array(9).fill(2 ** 120), T = Array(9).fill(2 ** -120);
  const rows = [
    [...H, ...T],
    [...T, ...H],
    [-H[0], ...H.slice(1), ...T],
    [-T[0], ...T.slice(1), ...H],
    [...H, 0, ...T.slice(1)],
    H.flatMap((h, i) => [h, T[i]]),
  ];
  const want = [Infinity, 0, -Infinity, -0, NaN, 1];
  for (const dtype of ["float32", "float64"] as const) {
    const x = tensor(rows.flat(), { dtype }).reshape([6, 18]);
    const cases: [string, Tensor, number[]][] = [["rows", x, [1]], ["columns", x.transpose([1, 0]), [0]]];
    for (const [layout, v, axis] of cases) {
      // a copy of the transpose: the columns contiguous, the chain reading them in place
      const input = mul(v, 1);
      const f = (a: Tensor) => prod(mul(a, 1), { axis });
      const jf = jit(f);
      jf(input);
      const got = jf(input);
      const what = `${dtype} ${layout}`;
      assert.deepEqual(bits(got), bits(tensor(want, { dtype })), what);
      assert.deepEqual(bits(got), bits(f(input)), what);
      const [info] = jitInfo(jf);
      assert.ok(info.steps.some((st) => st.primitive === "fused" && st.wasm && st.ops.at(-1) === "prod"), String(info));
    }
  }
});
