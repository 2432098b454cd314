/**
 * Householder QR of a batch of matrices (`qrKernel`) and its building blocks, shared with the SVD:
 * the factorization on the columns-as-rows storage and the thin Q.
 * @module
 */
import {
  batchOf,
  checkDim,
  firstNonFinite,
  type FloatArray,
  type KernelFailure,
  like,
  type MatrixDims,
  maxAbs,
  pow2Scale,
  transposeScaled,
} from "./kernel_util.ts";
import { applyReflectorMany, householder } from "./reflectors.ts";
import { BLOCK, done, formQtBlocked, householderQrBlocked, work } from "./householder_blocked.ts";

/** Result of {@linkcode qrKernel}. */
export interface QrResult<T extends FloatArray = FloatArray> {
  /** Q, batch × m × k with orthonormal columns (k = min(m, n)). */
  q: T;
  /** R, batch × k × n, upper triangular (trapezoidal when m < n) with non-negative diagonal. */
  r: T;
  /** Failing matrices (only `nonFinite` is possible). */
  failures: KernelFailure[];
}

/**
 * Reduced Householder QR of a batch of m×n matrices: A = Q R with Q m×k orthonormal columns and R
 * k×n upper triangular, k = min(m, n) (the case m ≥ n is the one the `qr` primitive uses).
 *
 * Convention: R's diagonal is non-negative (a column of Q and the matching row of R are negated
 * where Householder gave a negative diagonal; where R[j][j] = 0 the column is whatever the
 * reflectors give). Computed on the transposed copy so every inner loop runs over a contiguous
 * column; backward stable (‖QR − A‖ ≈ ε‖A‖, ‖QᵀQ − I‖ ≈ ε).
 *
 * @example
 * ```ts
 * const { q, r } = qrKernel(new Float64Array([3, 0, 4, 5]), { m: 2, n: 2 });
 * // r = [5, 4, 0, 3], q = [0.6, -0.8, 0.8, 0.6]
 * ```
 */
export function qrKernel<T extends FloatArray>(a: T, dims: MatrixDims): QrResult<T> {
  const { m, n } = dims;
  checkDim("qrKernel", "m", m);
  checkDim("qrKernel", "n", n);
  const batch = batchOf("qrKernel", a.length, m * n, dims.batch);
  const k = Math.min(m, n);
  const q = like(a, batch * m * k), r = like(a, batch * k * n);
  const failures: KernelFailure[] = [];
  // blocked (compact WY through the GEMM) once there is a whole block of columns to reuse
  const blocked = k >= BLOCK && m * k >= 32768;
  const xt = blocked ? work(n * m) : new Float64Array(n * m);
  const qt = blocked ? work(k * m) : new Float64Array(k * m);
  const tau = new Float64Array(k);
  for (let b = 0; b < batch; b++) {
    const off = b * m * n, qo = b * m * k, ro = b * k * n;
    const bad = firstNonFinite(a, off, m * n);
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      q.fill(NaN, qo, qo + m * k);
      r.fill(NaN, ro, ro + k * n);
      continue;
    }
    const scale = pow2Scale(maxAbs(a, off, m * n));
    transposeScaled(a, off, m, n, xt, 0, scale);
    if (blocked) {
      householderQrBlocked(xt, m, n, tau);
      formQtBlocked(xt, m, k, tau, qt);
    } else {
      householderQr(xt, m, n, tau);
      formQt(xt, m, k, tau, qt);
    }
    for (let j = 0; j < k; j++) {
      // R[j][j] < 0: negate row j of R and column j of Q (exact)
      const flip = xt[j * m + j] < 0 ? -1 : 1;
      for (let c = 0; c < n; c++) {
        r[ro + j * n + c] = c < j ? 0 : (flip * xt[c * m + j]) / scale;
      }
      if (flip < 0) { for (let i = 0; i < m; i++) qt[j * m + i] = -qt[j * m + i]; }
    }
    transposeScaled(qt, 0, k, m, q, qo, 1);
  }
  if (blocked) done(xt, qt);
  return { q, r, failures };
}

/**
 * Householder QR of the m×n matrix X given by its columns as rows: `xt` is n×m (row c = column c).
 * Reflectors j < k = min(m, n) are stored below the diagonal of the column rows, R on and above it
 * (R[j][c] = xt[c·m + j], c ≥ j); τ in `tau`.
 */
export function householderQr(xt: Float64Array, m: number, n: number, tau: Float64Array): void {
  const k = Math.min(m, n);
  for (let j = 0; j < k; j++) {
    const vo = j * m + j, len = m - j;
    const t = householder(xt, vo, len);
    tau[j] = t;
    if (t === 0) continue;
    applyReflectorMany(xt, vo, xt, (j + 1) * m + j, m, n - j - 1, len, t);
  }
}

/** Thin Q (m×k) of {@linkcode householderQr} as its columns as rows: qt is k×m, qt row c = Q[:, c]. */
export function formQt(xt: Float64Array, m: number, k: number, tau: Float64Array, qt: Float64Array): void {
  // Q = H₀H₁⋯H_{k−1}[I; 0], applied backwards; column c < j is still e_c when H_j is applied.
  qt.fill(0, 0, k * m);
  for (let c = 0; c < k; c++) qt[c * m + c] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const t = tau[j];
    if (t === 0) continue;
    const vo = j * m + j, len = m - j;
    applyReflectorMany(xt, vo, qt, j * m + j, m, k - j, len, t);
  }
}
