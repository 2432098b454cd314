/**
 * Householder-reflector steps on rows of float64 buffers in the shared memory, with the Wasm kernels
 * of `reflect_kernel.ts` (on the calling thread). Each returns false, doing nothing, when a buffer
 * is not in the memory or the module is unavailable; the caller then runs its JavaScript loop.
 * Offsets, strides and lengths are in elements.
 * @module
 */
import { fnIndex, getEngine } from "./engine.ts";
import { heapAddress, scratch } from "./heap.ts";

/** Each of `count` rows (`rows[ro + r·stride …]`, `len` long) ← row − τ(row·v)v, v = `v[vo …]`. */
export function wasmReflectRows(
  v: Float64Array,
  vo: number,
  rows: Float64Array,
  ro: number,
  stride: number,
  count: number,
  len: number,
  tau: number,
): boolean {
  const e = getEngine(), va = heapAddress(v), ra = heapAddress(rows);
  if (!e || va < 0 || ra < 0) return false;
  if (count > 0 && len > 0) e.fns[fnIndex("reflectRows64")](va + 8 * vo, ra + 8 * ro, 8 * stride, count, len, tau);
  return true;
}

/** out[oo …< oo+len] = Σ_t u[uo + t] · rows[ro + t·stride …] over `count` rows. */
export function wasmSumRows(
  u: Float64Array,
  uo: number,
  rows: Float64Array,
  ro: number,
  stride: number,
  count: number,
  len: number,
  out: Float64Array,
  oo: number,
): boolean {
  const e = getEngine(), ua = heapAddress(u), ra = heapAddress(rows), oa = heapAddress(out);
  if (!e || ua < 0 || ra < 0 || oa < 0) return false;
  e.fns[fnIndex("sumRows64")](ua + 8 * uo, ra + 8 * ro, 8 * stride, count, len, oa + 8 * oo);
  return true;
}

/** rows[ro + t·stride + i] += (alpha·u[uo + t]) · w[wo + i] for t < count, i < len. */
export function wasmRank1Rows(
  u: Float64Array,
  uo: number,
  rows: Float64Array,
  ro: number,
  stride: number,
  count: number,
  len: number,
  w: Float64Array,
  wo: number,
  alpha: number,
): boolean {
  const e = getEngine(), ua = heapAddress(u), ra = heapAddress(rows), wa = heapAddress(w);
  if (!e || ua < 0 || ra < 0 || wa < 0) return false;
  const at = scratch("reflect", 8);
  if (at < 0) return false;
  new Float64Array(e.heap.memory.buffer, at, 1)[0] = alpha;
  e.fns[fnIndex("rank1Rows64")](ua + 8 * uo, ra + 8 * ro, 8 * stride, count, len, wa + 8 * wo, at);
  return true;
}
