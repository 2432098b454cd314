/**
 * Householder reflectors for the CPU linear-algebra kernels: forming one (LAPACK dlarfg), applying
 * it to one vector or to many (four at a time in JS, or the Wasm f64x2 kernel of
 * `../backend/cpu/wasm/reflect.ts` when the rows live in the Wasm memory), and combining rows by a
 * small coefficient matrix.
 * @module
 */
import { wasmReflectRows } from "../backend/cpu/wasm/reflect.ts";
import { axpy, dot, hypot, norm2 } from "./kernel_util.ts";

/**
 * Householder reflector of x = buf[off, off+len) (LAPACK dlarfg): H = I − τ v vᵀ with v₀ = 1 and
 * H x = β e₁, β = −sign(x₀)‖x‖. Overwrites buf[off] with β and buf[off+1 …] with v[1 …]; returns τ
 * (0, H = I and buf untouched, when ‖x[1 …]‖ < 1e-280: negligible for the pre-scaled inputs).
 */
export function householder(buf: Float64Array, off: number, len: number): number {
  if (len <= 1) return 0;
  const alpha = buf[off];
  const xnorm = norm2(buf, off + 1, len - 1);
  // callers pre-scale to max |a_ij| ∈ [1, 2): a sub-column this small is treated as zero (H = I)
  // instead of dividing by a subnormal α − β
  if (xnorm < 1e-280) return 0;
  const h = hypot(alpha, xnorm);
  const beta = alpha >= 0 ? -h : h;
  const tau = (beta - alpha) / beta;
  const scal = 1 / (alpha - beta);
  for (let i = 1; i < len; i++) buf[off + i] *= scal;
  buf[off] = beta;
  return tau;
}

/** c ← (I − τ v vᵀ) c for v = [1, v[vo+1 …]] and c = c[co, co+len). */
export function applyReflector(
  v: Float64Array,
  vo: number,
  c: Float64Array,
  co: number,
  len: number,
  tau: number,
): void {
  // w = τ vᵀc; c −= w v
  const w = tau * (c[co] + dot(v, vo + 1, c, co + 1, len - 1));
  c[co] -= w;
  axpy(-w, v, vo + 1, c, co + 1, len - 1);
}

/**
 * Applies H = I − τ v vᵀ (v₀ = 1) to `count` vectors c[co + t·stride, … + len), four at a time so
 * that v is read once per four vectors.
 */
export function applyReflectorMany(
  v: Float64Array,
  vo: number,
  c: Float64Array,
  co: number,
  stride: number,
  count: number,
  len: number,
  tau: number,
): void {
  if (count * len >= 2048 && len > 1) {
    // the Wasm kernel (f64x2, four rows per pass) when both live in the Wasm memory; v₀ = 1 explicit
    const beta = v[vo];
    v[vo] = 1;
    const ok = wasmReflectRows(v, vo, c, co, stride, count, len, tau);
    v[vo] = beta;
    if (ok) return;
  }
  let t = 0;
  for (; t + 3 < count; t += 4) {
    const o0 = co + t * stride, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    let w0 = c[o0], w1 = c[o1], w2 = c[o2], w3 = c[o3];
    for (let i = 1; i < len; i++) {
      const vi = v[vo + i];
      w0 += vi * c[o0 + i];
      w1 += vi * c[o1 + i];
      w2 += vi * c[o2 + i];
      w3 += vi * c[o3 + i];
    }
    w0 *= tau;
    w1 *= tau;
    w2 *= tau;
    w3 *= tau;
    c[o0] -= w0;
    c[o1] -= w1;
    c[o2] -= w2;
    c[o3] -= w3;
    for (let i = 1; i < len; i++) {
      const vi = v[vo + i];
      c[o0 + i] -= w0 * vi;
      c[o1 + i] -= w1 * vi;
      c[o2 + i] -= w2 * vi;
      c[o3 + i] -= w3 * vi;
    }
  }
  for (; t < count; t++) applyReflector(v, vo, c, co + t * stride, len, tau);
}

/** out (r×len) ← coef (r×r) · rows (r×len): out row c = Σ_k coef[c][k] · rows row k. */
export function combineRows(
  coef: Float64Array,
  rows: Float64Array,
  r: number,
  len: number,
  out: Float64Array,
): void {
  out.fill(0, 0, r * len);
  for (let c = 0; c < r; c++) {
    const oo = c * len;
    let k = 0;
    for (; k + 3 < r; k += 4) {
      // four rows per pass over the output row
      const w0 = coef[c * r + k], w1 = coef[c * r + k + 1];
      const w2 = coef[c * r + k + 2], w3 = coef[c * r + k + 3];
      const r0 = k * len, r1 = r0 + len, r2 = r1 + len, r3 = r2 + len;
      for (let i = 0; i < len; i++) {
        out[oo + i] += w0 * rows[r0 + i] + w1 * rows[r1 + i] + w2 * rows[r2 + i] + w3 * rows[r3 + i];
      }
    }
    for (; k < r; k++) {
      const w = coef[c * r + k];
      if (w !== 0) axpy(w, rows, k * len, out, oo, len);
    }
  }
}
