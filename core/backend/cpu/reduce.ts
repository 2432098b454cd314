/**
 * The CPU reduction kernel. Axes are reduced as one contiguous run `[outer, R, inner]` (other axes
 * are moved last first): over the last axis each output is one float64 running value in a tight
 * loop; over leading or middle axes a float64 row of `inner` accumulators is swept once per reduced
 * row (a sum over 8 or more columns: blocks of 8 columns summed down the rows in float64 locals, the
 * same order). All are compiled per operation and array types (`loops.ts`). Elements are combined in index
 * order in float64, then rounded once to the output dtype; a sum of 64 or more elements along the
 * last axis keeps four interleaved float64 partial sums (the add latency no longer serializes it).
 * @module
 */
import { type DType, dtypeOfArray, type TypedArray } from "../../dtype.ts";
import type { ReduceOp } from "../../primitives.ts";
import { stridedCopy } from "./copy.ts";
import { compileLoop, tagOf } from "./loops.ts";
import { giveArray, takeArray } from "./pool.ts";
import { contiguousStrides } from "./strided.ts";
import { wasmReduce } from "./wasm/fused.ts";

/** Float sums, maxima and minima of at least this many elements run as Wasm SIMD (`wasmReduce`). */
let wasmMin = 4096;

/**
 * Sets the fewest elements a float sum, max or min needs to run as Wasm SIMD (`Infinity`: never;
 * testing and tuning hook, the bits are the same either way); returns the previous value.
 */
export function setWasmReduceMin(n: number): number {
  const old = wasmMin;
  wasmMin = n;
  return old;
}

const INIT: Record<ReduceOp, string> = { sum: "0", prod: "1", max: "-Infinity", min: "Infinity" };

/** `acc ← acc ∘ v` for each operation (max/min propagate NaN; an int32 product wraps mod 2³², as NumPy's). */
function combine(op: ReduceOp, acc: string, int32 = false): string {
  switch (op) {
    case "sum":
      return `${acc} += v;`;
    case "prod":
      return int32 ? `${acc} = Math.imul(${acc}, v);` : `${acc} *= v;`;
    case "max":
      return `if (v > ${acc} || v !== v) ${acc} = v;`;
    case "min":
      return `if (v < ${acc} || v !== v) ${acc} = v;`;
  }
}

/**
 * The value stored for a finished `acc`: a product's NaN as the one quiet NaN. The sign of a NaN a
 * product meets twice (∞ · 0 gives −NaN on x86, a NaN input +NaN) is that of the multiplication's
 * first operand, which the JIT may swap; stored as it came, the same product gave either sign by
 * tier, and jit's fused product (`wasm/fused_kernel.ts`) could not repeat it.
 */
function result(op: ReduceOp, acc: string): string {
  return op === "prod" ? `(${acc} === ${acc} ? ${acc} : NaN)` : acc;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reduces `src` (of `shape`) over the sorted `axes` into a new array of `dtype` (from the pool). */
export function reduceKernel(
  op: ReduceOp,
  src: TypedArray,
  shape: readonly number[],
  axes: readonly number[],
  dtype: DType,
): TypedArray {
  let sh = shape;
  let ax = axes;
  let temp: TypedArray | undefined;
  const contiguousRun = ax.every((a, i) => i === 0 || a === ax[i - 1] + 1);
  if (!contiguousRun) {
    // move the reduced axes last
    const keep = sh.map((_, i) => i).filter((i) => !ax.includes(i));
    const perm = [...keep, ...ax];
    const cs = contiguousStrides(sh);
    const ps = perm.map((q) => sh[q]);
    const moved = takeArray(dtypeOfArray(src), src.length, false);
    stridedCopy(src, 0, perm.map((q) => cs[q]), moved, 0, contiguousStrides(ps), ps);
    src = temp = moved;
    sh = ps;
    ax = ax.map((_, i) => keep.length + i);
  }
  const outer = size(sh.slice(0, ax[0]));
  const R = size(ax.map((a) => sh[a]));
  const inner = size(sh.slice(ax[ax.length - 1] + 1));
  const out = takeArray(dtype, outer * inner, false);
  if (out.length === 0) return out;
  const tags = tagOf(out) + tagOf(src);
  const int32 = out instanceof Int32Array;
  if (
    op !== "prod" && outer * R * inner >= wasmMin && dtypeOfArray(src) === dtype &&
    (dtype === "float32" || dtype === "float64") &&
    wasmReduce(op, src as Float32Array, out as Float32Array, outer, R, inner)
  ) {
    // the Wasm SIMD reduction of jit's fused chains: the same order, the same bits
  } else if (inner === 1 && op === "sum" && R >= 64) {
    // four float64 partial sums: one accumulator waits on its previous add every element (about
    // 0.45 ms for 512 × 1024 float32), four run side by side (the order of summation changes within
    // float64's rounding, far below a float32 result's)
    compileLoop("reduce-last4", op + tags, () => [
      "src, out, outer, R",
      `let p = 0;
for (let a = 0; a < outer; a++) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, r = 0;
  for (; r + 3 < R; r += 4, p += 4) { s0 += src[p]; s1 += src[p + 1]; s2 += src[p + 2]; s3 += src[p + 3]; }
  for (; r < R; r++) s0 += src[p++];
  out[a] = (s0 + s1) + (s2 + s3);
}`,
    ])(src, out, outer, R);
  } else if (inner === 1) {
    compileLoop("reduce-last", op + tags, () => [
      "src, out, outer, R",
      `let p = 0;
for (let a = 0; a < outer; a++) {
  let s = ${INIT[op]};
  for (let r = 0; r < R; r++) { const v = src[p++]; ${combine(op, "s", int32)} }
  out[a] = ${result(op, "s")};
}`,
    ])(src, out, outer, R);
  } else if (op === "sum" && inner >= 8) {
    // blocks of 8 columns summed down the rows in 8 float64 locals (a bias gradient, 128 × 256:
    // 30 → ~10 µs); each column still adds its rows in order, so the bits are those of the row sweep
    compileLoop("reduce-cols8", op + tags, () => [
      "src, out, outer, R, inner",
      `for (let a = 0; a < outer; a++) {
  const base = a * R * inner, d = a * inner;
  let j = 0;
  for (; j + 8 <= inner; j += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let r = 0, p = base + j; r < R; r++, p += inner) {
      s0 += src[p]; s1 += src[p + 1]; s2 += src[p + 2]; s3 += src[p + 3];
      s4 += src[p + 4]; s5 += src[p + 5]; s6 += src[p + 6]; s7 += src[p + 7];
    }
    out[d + j] = s0; out[d + j + 1] = s1; out[d + j + 2] = s2; out[d + j + 3] = s3;
    out[d + j + 4] = s4; out[d + j + 5] = s5; out[d + j + 6] = s6; out[d + j + 7] = s7;
  }
  for (; j < inner; j++) {
    let s = 0;
    for (let r = 0, p = base + j; r < R; r++, p += inner) s += src[p];
    out[d + j] = s;
  }
}`,
    ])(src, out, outer, R, inner);
  } else {
    compileLoop("reduce-rows", op + tags, () => [
      "src, out, outer, R, inner",
      `const acc = new Float64Array(inner);
let p = 0;
for (let a = 0; a < outer; a++) {
  acc.fill(${INIT[op]});
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < inner; i++) { const v = src[p++]; ${combine(op, "acc[i]", int32)} }
  }
  const d = a * inner;
  for (let i = 0; i < inner; i++) out[d + i] = ${result(op, "acc[i]")};
}`,
    ])(src, out, outer, R, inner);
  }
  if (temp) giveArray(temp, dtypeOfArray(temp));
  return out;
}
