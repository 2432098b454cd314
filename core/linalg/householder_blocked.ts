/**
 * Blocked Householder transformations in compact WY form (Schreiber–Van Loan; LAPACK dlarft /
 * dlarfb): `nb` reflectors H_j = I − τ_j v_j v_jᵀ multiply to H_0 H_1 ⋯ H_{nb−1} = I − V T Vᵀ with T
 * upper triangular, so applying a block of reflectors to many vectors is two matrix products
 * through the Wasm GEMM instead of nb passes of dot products and axpys.
 *
 * Storage (as in `qr_kernel.ts`): matrices are kept as rows ("columns as rows"); reflector j is row
 * j of `xt` (row length `m`), with v_j[j] = 1 implicit (the row holds β there) and v_j[i] for i > j
 * in place; entries before j are not part of v_j.
 * @module
 */
import { wasmGemm } from "../backend/cpu/wasm/gemm.ts";
import { heapArray, heapRelease } from "../backend/cpu/wasm/heap.ts";
import { applyReflectorMany, householder } from "./reflectors.ts";

/** Reflectors per block. */
export const BLOCK = 32;

/** A float64 work array in the Wasm memory where possible (so the GEMM reads it in place). */
export function work(n: number): Float64Array {
  return (heapArray("float64", n, false) as Float64Array | null) ?? new Float64Array(n);
}

/** Returns a `work` array's memory. */
export function done(...arrays: Float64Array[]): void {
  for (const a of arrays) heapRelease(a);
}

/**
 * `C (m×n, row-major at co, row stride ldc) = op(A)·op(B)` with general strides: element (i, p) of
 * op(A) at `A[ao + i·ars + p·acs]`, (p, j) of op(B) at `B[bo + p·brs + j·bcs]`. The Wasm GEMM, or a
 * plain loop where WebAssembly SIMD is missing.
 */
export function gemmInto(
  A: Float64Array,
  ao: number,
  ars: number,
  acs: number,
  B: Float64Array,
  bo: number,
  brs: number,
  bcs: number,
  C: Float64Array,
  co: number,
  m: number,
  n: number,
  k: number,
): void {
  let ok = false;
  try {
    ok = wasmGemm(A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  if (ok) return;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[ao + i * ars + p * acs] * B[bo + p * brs + j * bcs];
      C[co + i * n + j] = s;
    }
  }
}

/**
 * The block of reflectors `j0 … j0+jb−1` of `xt` restricted to positions `j0 …< m` as explicit rows
 * (`vt`, jb × (m − j0): zeros before each diagonal, 1 on it) and T (jb × jb, upper triangular) with
 * H_{j0} ⋯ H_{j0+jb−1} = I − V T Vᵀ.
 */
export function blockReflectors(
  xt: Float64Array,
  m: number,
  j0: number,
  jb: number,
  tau: Float64Array,
  vt: Float64Array,
  t: Float64Array,
): void {
  const len = m - j0;
  for (let i = 0; i < jb; i++) {
    const o = i * len, src = (j0 + i) * m + j0;
    vt.fill(0, o, o + i);
    vt[o + i] = 1;
    for (let p = i + 1; p < len; p++) vt[o + p] = xt[src + p];
  }
  // dlarft, forward, columnwise: T[i][i] = τ_i, T[0:i, i] = −τ_i · T[0:i, 0:i] · (V[:, 0:i]ᵀ v_i),
  // with the Gram matrix VᵀV from one product
  const g = new Float64Array(jb * jb);
  gemmInto(vt, 0, len, 1, vt, 0, 1, len, g, 0, jb, jb, len);
  t.fill(0, 0, jb * jb);
  for (let i = 0; i < jb; i++) {
    const ti = tau[j0 + i];
    t[i * jb + i] = ti;
    if (ti === 0) continue;
    for (let r = 0; r < i; r++) {
      let s = 0;
      for (let c = r; c < i; c++) s += t[r * jb + c] * g[c * jb + i];
      t[r * jb + i] = -ti * s;
    }
  }
}

/**
 * Applies a block Q_b = I − V T Vᵀ to `rows` vectors stored as the rows of `w` (row stride `ld`,
 * from `wo`; each `len` long, the positions the block's reflectors span). As rows, x ← Q_bᵀx is
 * x − (xV) T Vᵀ (`transposeT` false: the factorization's update of the columns to the right) and
 * x ← Q_b x is x − (xV) Tᵀ Vᵀ (`transposeT` true: forming Q). `y` and `z` are scratch of
 * rows × max(len, jb) and rows × jb.
 */
export function applyBlock(
  w: Float64Array,
  wo: number,
  ld: number,
  rows: number,
  len: number,
  vt: Float64Array,
  t: Float64Array,
  jb: number,
  transposeT: boolean,
  y: Float64Array,
  z: Float64Array,
): void {
  if (rows === 0) return;
  // y = rows · V (rows × jb); z = y · T or y · Tᵀ; rows −= z · Vt
  gemmInto(w, wo, ld, 1, vt, 0, 1, len, y, 0, rows, jb, len);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < jb; c++) {
      let s = 0;
      if (transposeT) { for (let q = c; q < jb; q++) s += y[r * jb + q] * t[c * jb + q]; }
      else for (let q = 0; q <= c; q++) s += y[r * jb + q] * t[q * jb + c];
      z[r * jb + c] = s;
    }
  }
  gemmInto(z, 0, jb, 1, vt, 0, len, 1, y, 0, rows, len, jb);
  for (let r = 0; r < rows; r++) {
    const o = wo + r * ld, yo = r * len;
    for (let p = 0; p < len; p++) w[o + p] -= y[yo + p];
  }
}

/**
 * Householder QR of the m×n matrix given by its columns as rows (`xt`, n×m), blocked: each panel of
 * `BLOCK` columns is factored column by column, then the columns right of it are updated at once
 * through `applyBlock`. Same storage and result as the unblocked `householderQr`.
 */
export function householderQrBlocked(xt: Float64Array, m: number, n: number, tau: Float64Array): void {
  const k = Math.min(m, n);
  const nb = BLOCK;
  const vt = work(nb * m), t = new Float64Array(nb * nb);
  const y = work(Math.max(n, nb) * m), z = work(n * nb);
  for (let j0 = 0; j0 < k; j0 += nb) {
    const jb = Math.min(nb, k - j0);
    for (let j = j0; j < j0 + jb; j++) {
      const vo = j * m + j, len = m - j;
      const tj = householder(xt, vo, len);
      tau[j] = tj;
      if (tj !== 0) applyReflectorMany(xt, vo, xt, (j + 1) * m + j, m, j0 + jb - j - 1, len, tj);
    }
    const right = n - j0 - jb;
    if (right === 0) continue;
    blockReflectors(xt, m, j0, jb, tau, vt, t);
    // trailing columns c ≥ j0 + jb: x ← (I − V T Vᵀ)ᵀ x
    applyBlock(xt, (j0 + jb) * m + j0, m, right, m - j0, vt, t, jb, false, y, z);
  }
  done(vt, y, z);
}

/**
 * Thin Q (m×k) of a Householder QR as its columns as rows (`qt`, k×m), blocked: Q = Q_0 Q_1 ⋯ [I; 0]
 * with each Q_b = I − V T Vᵀ applied, last block first, to the columns it touches.
 */
export function formQtBlocked(xt: Float64Array, m: number, k: number, tau: Float64Array, qt: Float64Array): void {
  qt.fill(0, 0, k * m);
  for (let c = 0; c < k; c++) qt[c * m + c] = 1;
  const nb = BLOCK;
  const vt = work(nb * m), t = new Float64Array(nb * nb);
  const y = work(Math.max(k, nb) * m), z = work(k * nb);
  for (let j0 = Math.floor((k - 1) / nb) * nb; j0 >= 0; j0 -= nb) {
    const jb = Math.min(nb, k - j0);
    blockReflectors(xt, m, j0, jb, tau, vt, t);
    // columns c ≥ j0 (the columns before are still e_c, which the block leaves alone)
    applyBlock(qt, j0 * m + j0, m, k - j0, m - j0, vt, t, jb, true, y, z);
  }
  done(vt, y, z);
}
