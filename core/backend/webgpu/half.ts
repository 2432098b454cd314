/**
 * float16 on WebGPU without the `shader-f16` feature: a float16 tensor is stored as packed pairs,
 * two halves per `u32` word (element 2i in the low 16 bits, 2i + 1 in the high 16 bits, the last
 * word padded with zero), so it takes half the bytes of float32 on every adapter. Kernels read it
 * with WGSL's core builtin `unpack2x16float` (exact; fused elementwise kernels read float16 leaves
 * this way, see fusion.ts) and compute in f32; a float16 result is rounded
 * to nearest even in integer arithmetic on the f32 bits (`pack2x16float`'s rounding is
 * implementation-defined and its result indeterminate beyond float16's range, so the store does not
 * rely on it), bit for bit `Math.f16round` of the f32 value.
 *
 * Every kernel of the backend takes float16 through one wrapper: float16 inputs are widened into
 * float32 temporaries, the float32 kernel runs (float32 accumulation in matmul and reductions), and
 * each float16 result is rounded once into packed storage. The temporaries are released at once.
 * `take` of rows with an even row length (an embedding lookup) moves the packed words as they are.
 * @module
 */
import type { Aval, Kernel, Storage } from "../backend.ts";
import { float16Array, type Float16ArrayType } from "../../dtype.ts";
import type { WebGPUBackend, WebGPUStorage } from "./backend.ts";
import { opNode } from "./elementwise.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG } from "./wgsl.ts";

/** WGSL: the float16 bits (low 16) of an f32, rounded to nearest even; overflow gives ±inf, NaN stays NaN. */
export const F32_TO_F16_WGSL = `fn f16bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let s = (b >> 16u) & 0x8000u;
  let e = (b >> 23u) & 0xffu;
  let m = b & 0x7fffffu;
  if (e == 255u) { return s | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u); }
  let ee = i32(e) - 112;
  if (ee >= 31) { return s | 0x7c00u; }
  if (ee <= 0) {
    let sh = u32(14 - ee);
    if (sh > 24u) { return s; }
    let mm = m | 0x800000u;
    var q = mm >> sh;
    let rem = mm & ((1u << sh) - 1u);
    let half = 1u << (sh - 1u);
    if (rem > half || (rem == half && (q & 1u) == 1u)) { q += 1u; }
    return s | q;
  }
  var h = (u32(ee) << 10u) | (m >> 13u);
  let r = m & 0x1fffu;
  if (r > 0x1000u || (r == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
  return s | h;
}`;

/** Bytes of `n` float16 elements packed two per u32 word. */
export function packedBytes(n: number): number {
  return Math.ceil(n / 2) * 4;
}

/** The `Float16Array` of `n` elements in `bytes` (packed words as the GPU stores them). */
export function unpackHost(bytes: ArrayBuffer, n: number): Float16ArrayType {
  return new (float16Array("data"))(bytes, 0, n);
}

/** The packed words of a host float16 array (its own bytes, padded to whole words). */
export function packHost(data: Float16ArrayType): Uint16Array {
  const words = new Uint16Array(Math.ceil(data.length / 2) * 2);
  words.set(new Uint16Array(data.buffer, data.byteOffset, data.length));
  return words;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A float32 storage holding the float16 storage `s` (of `aval`) widened exactly: a lazy elementwise
 * expression whose leaf reads the packed buffer (fusion.ts), so an elementwise consumer reads the
 * halves directly (no kernel of its own) and any other kernel materialises it in one dispatch.
 */
export function widen16(gpu: WebGPUBackend, s: Storage, aval: Aval): WebGPUStorage {
  const o: Aval = { shape: aval.shape, dtype: "float32" };
  return gpu.elementwise([s], [aval], o, (args) => opNode("f16:widen", "a0", [], args, o));
}

/** A packed float16 storage holding the float32 storage `s` (of `aval`, lazy or not) rounded to nearest even. */
export function narrow16(gpu: WebGPUBackend, s: Storage, aval: Aval): WebGPUStorage {
  const n = size(aval.shape);
  const out = gpu.runtime.alloc(packedBytes(n));
  if (n > 0) {
    const code = memoCode("f16|narrow", () =>
      `struct U { n: u32, m: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
${F32_TO_F16_WGSL}
${entry("u.m")}
  let lo = f16bits(src[2u * i]);
  var hi = 0u;
  if (2u * i + 1u < u.n) { hi = f16bits(src[2u * i + 1u]); }
  out[i] = lo | (hi << 16u);
}`);
    const m = Math.ceil(n / 2);
    gpu.runtime.dispatch({
      code,
      inputs: [gpu.buf(s)],
      output: out,
      uniforms: new Uniforms().u(n, m).u32,
      groups: grid(Math.ceil(m / WG)),
    });
  }
  return gpu.wrap(out, { shape: aval.shape, dtype: "float16" });
}

/** Kernels that pass a storage through unchanged (the packed buffer serves the new shape as is). */
const PASS_THROUGH = new Set(["reshape", "stopGradient"]);

/**
 * Wraps every kernel registered on `gpu` so that float16 operands and results work: float16 inputs
 * widened to float32 temporaries, the float32 kernel, float16 results rounded once into packed
 * storage. `cast` to and from float16 is one widening or rounding kernel.
 */
export function registerFloat16(gpu: WebGPUBackend): void {
  const is16 = (a: Aval) => a.dtype === "float16";
  const as32 = (a: Aval): Aval => (is16(a) ? { shape: a.shape, dtype: "float32" } : a);
  for (const [name, kernel] of [...gpu.kernels]) {
    if (PASS_THROUGH.has(name)) continue;
    const wrapped: Kernel = (ins, inAvals, params, outAvals) => {
      if (!inAvals.some(is16) && !outAvals.some(is16)) return kernel(ins, inAvals, params, outAvals);
      if (name === "cast") return [cast16(gpu, kernel, ins[0], inAvals[0], params, outAvals[0])];
      if (name === "gather") {
        const r = packedGather(kernel, ins, inAvals, params as { axis: number; ids?: string });
        if (r) return [r];
      }
      const temps: Storage[] = [];
      const wide = ins.map((s, i) => {
        if (!is16(inAvals[i])) return s;
        const w = widen16(gpu, s, inAvals[i]);
        temps.push(w);
        return w;
      });
      const outs = kernel(wide, inAvals.map(as32), params, outAvals.map(as32));
      const result = outs.map((s, i) => {
        if (!is16(outAvals[i])) return s;
        const r = narrow16(gpu, s, outAvals[i]);
        if (!wide.includes(s)) gpu.release(s);
        return r;
      });
      for (const t of temps) if (!outs.includes(t)) gpu.release(t);
      return result;
    };
    gpu.kernels.set(name, wrapped);
  }
}

/**
 * `take` of rows from a float16 tensor (an embedding lookup) without widening it: when the elements
 * after the gathered axis are an even count, a row is a run of whole packed words, so the int32
 * gather moves the words as they are (checking the indices as always). Null otherwise.
 */
function packedGather(
  gather: Kernel,
  [x, idx]: readonly Storage[],
  [xa, ia]: readonly Aval[],
  { axis, ids }: { axis: number; ids?: string },
): Storage | null {
  const B = size(xa.shape.slice(axis + 1));
  if (B % 2 !== 0) return null;
  const A = size(xa.shape.slice(0, axis)), D = xa.shape[axis], I = size(ia.shape);
  const words: Aval = { shape: [A, D, B / 2], dtype: "int32" };
  return gather([x, idx], [words, ia], { axis: 1, ids }, [{ shape: [A, I, B / 2], dtype: "int32" }])[0];
}

/** `cast` with float16 on either side: widening, rounding, or a float32 step between. */
function cast16(
  gpu: WebGPUBackend,
  cast: Kernel,
  x: Storage,
  from: Aval,
  params: unknown,
  to: Aval,
): Storage {
  if (from.dtype === to.dtype) return x;
  const f32: Aval = { shape: from.shape, dtype: "float32" };
  if (from.dtype === "float16") {
    const w = widen16(gpu, x, from);
    if (to.dtype === "float32") return w;
    const [r] = cast([w], [f32], params, [to]);
    gpu.release(w);
    return r;
  }
  const src = from.dtype === "float32" ? x : cast([x], [from], params, [f32])[0];
  const r = narrow16(gpu, src, to);
  if (src !== x) gpu.release(src);
  return r;
}
