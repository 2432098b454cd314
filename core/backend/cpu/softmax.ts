/**
 * CPU kernels of `logSoftmax` and its VJP, one pass set per row along one axis of a contiguous
 * array `outer × n × inner` (the rows of one outer index are walked together, so an axis that is not
 * last still reads memory in order):
 *
 *   y = z − log Σ eᶻ,  p = eᶻ / Σ eᶻ,  z = x − m,  m = max x (0 when the maximum is ±∞ or NaN)
 *   dx = g − p·Σg
 *
 * Sums and the shifted values are float64; a float32 y is rounded once at the store (the composed
 * form rounded at each of its operations), p twice (eᶻ is kept in p's array until Σ is known).
 * float32 uses the fast `exp` of `fastmath.ts` (within 1 ulp before the store); float64 keeps
 * `Math.exp`, the reference. The backward pass reads p instead of computing eʸ again.
 * @module
 */
import { type Aval, axisSplit, type Kernel, type Storage } from "../backend.ts";
import type { TypedArray } from "../../dtype.ts";
import { expCore } from "./fastmath.ts";
import { compileLoop, tagOf } from "./loops.ts";
import { takeArray } from "./pool.ts";

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The forward loops over `outer × n × inner` (rows along the middle axis; a contiguous row when
 * inner is 1), compiled once per array types (`loops.ts`'s `compileLoop`), so the element reads stay
 * monomorphic: one shared function that had seen float64 and float32 arrays ran float32 rows 2.4×
 * slower. `EXP` is `expCore` for float32, `Math.exp` otherwise. A NaN maximum sticks (v > NaN is
 * false, and a later v is not NaN); a non-finite one shifts by 0.
 */
const FORWARD = `
if (inner === 1) {
  for (let a = 0; a < outer; a++) {
    const base = a * n;
    let m = -Infinity;
    for (let k = 0; k < n; k++) { const v = x[base + k]; if (v > m || v !== v) m = v; }
    const shift = Math.abs(m) < Infinity ? m : 0;
    let s = 0;
    for (let k = 0; k < n; k++) s += prob[base + k] = EXP(x[base + k] - shift);
    const l = Math.log(s);
    for (let k = 0; k < n; k++) { out[base + k] = x[base + k] - shift - l; prob[base + k] /= s; }
  }
  return;
}
const m = new Float64Array(inner), s = new Float64Array(inner), l = new Float64Array(inner);
for (let a = 0; a < outer; a++) {
  const base = a * n * inner;
  m.fill(-Infinity);
  s.fill(0);
  for (let k = 0; k < n; k++) {
    const at = base + k * inner;
    for (let b = 0; b < inner; b++) { const v = x[at + b]; if (v > m[b] || v !== v) m[b] = v; }
  }
  for (let b = 0; b < inner; b++) if (!(Math.abs(m[b]) < Infinity)) m[b] = 0;
  for (let k = 0; k < n; k++) {
    const at = base + k * inner;
    for (let b = 0; b < inner; b++) s[b] += prob[at + b] = EXP(x[at + b] - m[b]);
  }
  for (let b = 0; b < inner; b++) l[b] = Math.log(s[b]);
  for (let k = 0; k < n; k++) {
    const at = base + k * inner;
    for (let b = 0; b < inner; b++) { out[at + b] = x[at + b] - m[b] - l[b]; prob[at + b] /= s[b]; }
  }
}`;

/** The VJP's loops, compiled the same way: `out = g − p·Σg` per row. */
const BACKWARD = `
if (inner === 1) {
  for (let a = 0; a < outer; a++) {
    const base = a * n;
    let s = 0;
    for (let k = 0; k < n; k++) s += g[base + k];
    for (let k = 0; k < n; k++) out[base + k] = g[base + k] - p[base + k] * s;
  }
  return;
}
const s = new Float64Array(inner);
for (let a = 0; a < outer; a++) {
  const base = a * n * inner;
  s.fill(0);
  for (let k = 0; k < n; k++) {
    const at = base + k * inner;
    for (let b = 0; b < inner; b++) s[b] += g[at + b];
  }
  for (let k = 0; k < n; k++) {
    const at = base + k * inner;
    for (let b = 0; b < inner; b++) out[at + b] = g[at + b] - p[at + b] * s[b];
  }
}`;

/** Log-softmax of `x` (aval `xa`) along `axis` into `out`, and softmax (`eᶻ / Σ eᶻ`) into `prob`. */
export function logSoftmaxKernel(x: TypedArray, xa: Aval, axis: number, out: TypedArray, prob: TypedArray): void {
  const [outer, n, inner] = axisSplit(xa.shape, axis);
  const exp = xa.dtype === "float32" ? "expCore" : "Math.exp";
  const loop = compileLoop("logSoftmax", `${tagOf(x)}${tagOf(out)}${tagOf(prob)}${exp}`, () => [
    "x, out, prob, outer, n, inner",
    FORWARD.replaceAll("EXP", exp),
  ], { expCore });
  loop(x, out, prob, outer, n, inner);
}

/** `g − p·Σg` along `axis` (p's aval `pa`) into `out`. */
export function logSoftmaxVjpKernel(p: TypedArray, g: TypedArray, pa: Aval, axis: number, out: TypedArray): void {
  const [outer, n, inner] = axisSplit(pa.shape, axis);
  const loop = compileLoop("logSoftmaxVjp", `${tagOf(p)}${tagOf(g)}${tagOf(out)}`, () => [
    "p, g, out, outer, n, inner",
    BACKWARD,
  ]);
  loop(p, g, out, outer, n, inner);
}

/** Registers `logSoftmax` and `logSoftmaxVjp` through `k` (the CPU backend's registration function). */
export function registerSoftmax(
  k: (name: string, fn: Kernel) => void,
  arr: (s: Storage) => TypedArray,
  own: (a: TypedArray) => Storage,
): void {
  k("logSoftmax", ([x], [xa], p: { axis: number }, [o]) => {
    const out = takeArray(o.dtype, size(o.shape), false), prob = takeArray(o.dtype, size(o.shape), false);
    logSoftmaxKernel(arr(x), xa, p.axis, out, prob);
    return [own(out), own(prob)];
  });
  k("logSoftmaxVjp", ([prob, g], [pa], p: { axis: number }, [o]) => {
    const out = takeArray(o.dtype, size(o.shape), false);
    logSoftmaxVjpKernel(arr(prob), arr(g), pa, p.axis, out);
    return [own(out)];
  });
}
