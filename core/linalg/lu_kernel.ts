/**
 * LU factorization with partial pivoting (`luKernel`), solves from it (`luSolveKernel`) and
 * determinants (`detFromLu`, `slogdetFromLu`).
 * @module
 */
import {
  aBatchOf,
  axpy,
  batchOf,
  checkDim,
  firstNonFinite,
  type FloatArray,
  type KernelFailure,
  like,
  type SquareDims,
  substitute,
} from "./kernel_util.ts";
import type { SolveResult } from "./triangular_kernel.ts";

/** Result of {@linkcode luKernel}. */
export interface LuResult<T extends FloatArray = FloatArray> {
  /** L (unit lower, diagonal not stored) and U packed in one batch × n × n array. */
  lu: T;
  /** LAPACK-style pivots, batch × n (0-based): at step k rows k and pivots[k] were swapped. */
  pivots: Int32Array;
  /** The row permutation, batch × n: (P A)[i] = A[perm[i]], and P A = L U. */
  perm: Int32Array;
  /** det(P) = ±1 per matrix. */
  sign: Int32Array;
  /** `nonFinite`, or `singular` with the first column whose pivot is exactly 0 (LU still completed). */
  failures: KernelFailure[];
}

/**
 * LU factorization with partial pivoting of a batch of n×n matrices: P A = L U (right-looking,
 * row-major rank-1 updates on contiguous rows; the pivot is the first entry of largest magnitude).
 * An exactly zero pivot column is skipped, reported as `singular` (first such column) and leaves a
 * zero on U's diagonal, as LAPACK dgetrf does.
 *
 * @example
 * ```ts
 * const { lu, perm, sign } = luKernel(new Float64Array([1, 2, 3, 4]), { n: 2 });
 * // perm = [1, 0], sign = [-1], lu = [3, 4, 1/3, 2/3]
 * ```
 */
export function luKernel<T extends FloatArray>(a: T, dims: SquareDims): LuResult<T> {
  const { n } = dims;
  checkDim("luKernel", "n", n);
  const batch = batchOf("luKernel", a.length, n * n, dims.batch);
  const lu = like(a, batch * n * n);
  const pivots = new Int32Array(batch * n), perm = new Int32Array(batch * n);
  const sign = new Int32Array(batch);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n), rowTmp = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    const off = b * n * n, po = b * n;
    const bad = firstNonFinite(a, off, n * n);
    for (let i = 0; i < n; i++) perm[po + i] = i;
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      lu.fill(NaN, off, off + n * n);
      for (let i = 0; i < n; i++) pivots[po + i] = i;
      sign[b] = 1;
      continue;
    }
    for (let t = 0; t < n * n; t++) w[t] = a[off + t];
    let sg = 1, singular = -1;
    for (let k = 0; k < n; k++) {
      let piv = k, mx = Math.abs(w[k * n + k]);
      for (let i = k + 1; i < n; i++) {
        const v = Math.abs(w[i * n + k]);
        if (v > mx) {
          mx = v;
          piv = i;
        }
      }
      pivots[po + k] = piv;
      if (mx === 0) {
        if (singular < 0) singular = k;
        continue;
      }
      if (piv !== k) {
        rowTmp.set(w.subarray(k * n, k * n + n));
        w.copyWithin(k * n, piv * n, piv * n + n);
        w.set(rowTmp, piv * n);
        const t = perm[po + k];
        perm[po + k] = perm[po + piv];
        perm[po + piv] = t;
        sg = -sg;
      }
      // l_ik = a_ik / u_kk; row_i −= l_ik row_k (columns > k)
      const pk = w[k * n + k], len = n - k - 1;
      for (let i = k + 1; i < n; i++) {
        const li = w[i * n + k] / pk;
        w[i * n + k] = li;
        if (li !== 0) axpy(-li, w, k * n + k + 1, w, i * n + k + 1, len);
      }
    }
    if (singular >= 0) failures.push({ batch: b, kind: "singular", index: singular });
    sign[b] = sg;
    for (let t = 0; t < n * n; t++) lu[off + t] = w[t];
  }
  return { lu, pivots, perm, sign, failures };
}

/** Shape and options of {@linkcode luSolveKernel}. */
export interface LuSolveOptions {
  /** Order of A. */
  n: number;
  /** Number of right-hand sides (columns of B). */
  k: number;
  /** Solve Aᵀ X = B instead of A X = B. */
  transpose?: boolean;
  /** Number of systems (B's batch); the LU batch must be 1 (shared) or equal. Inferred from B. */
  batch?: number;
}

/**
 * Solves A X = B (or Aᵀ X = B) from the factorization P A = L U of {@linkcode luKernel}, for n×k
 * right-hand sides B. A = Pᵀ L U: X = U⁻¹ L⁻¹ P B; Aᵀ = Uᵀ Lᵀ P: X = Pᵀ L⁻ᵀ U⁻ᵀ B. A zero on U's
 * diagonal is reported as `singular` (X then holds ±Infinity/NaN).
 *
 * @example
 * ```ts
 * const f = luKernel(new Float64Array([1, 2, 3, 4]), { n: 2 });
 * luSolveKernel(f.lu, f.pivots, new Float64Array([5, 11]), { n: 2, k: 1 }).x; // [1, 2]
 * ```
 */
export function luSolveKernel<T extends FloatArray>(
  lu: T,
  pivots: Int32Array,
  b: T,
  opts: LuSolveOptions,
): SolveResult<T> {
  const { n, k } = opts;
  const transpose = opts.transpose ?? false;
  const op = "luSolveKernel";
  checkDim(op, "n", n);
  checkDim(op, "k", k);
  const batch = batchOf(op, b.length, n * k, opts.batch);
  const aBatch = aBatchOf(op, lu.length, n * n, batch);
  if (pivots.length !== aBatch * n) {
    throw new RangeError(`${op}: pivots length ${pivots.length} != LU batch ${aBatch} × n ${n}`);
  }
  const x = like(b, batch * n * k);
  const failures: KernelFailure[] = [];
  const l = new Float64Array(n * n), uu = new Float64Array(n * n);
  const xw = new Float64Array(n * k), row = new Float64Array(k);
  const swap = (i: number, j: number) => {
    if (i === j) return;
    row.set(xw.subarray(i * k, i * k + k));
    xw.copyWithin(i * k, j * k, j * k + k);
    xw.set(row, j * k);
  };
  for (let bi = 0; bi < batch; bi++) {
    const ai = aBatch === 1 ? 0 : bi;
    const ao = ai * n * n, po = ai * n, bo = bi * n * k;
    const badA = firstNonFinite(lu, ao, n * n), badB = firstNonFinite(b, bo, n * k);
    if (badA >= 0 || badB >= 0) {
      failures.push({
        batch: bi,
        kind: "nonFinite",
        index: badA >= 0 ? badA : badB,
        input: badA >= 0 ? "a" : "b",
      });
      x.fill(NaN, bo, bo + n * k);
      continue;
    }
    // op(L), op(U) as row-major triangles
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = transpose ? lu[ao + j * n + i] : lu[ao + i * n + j];
        l[i * n + j] = v;
        uu[i * n + j] = v;
      }
    }
    for (let t = 0; t < n * k; t++) xw[t] = b[bo + t];
    let singular: number;
    if (!transpose) {
      for (let i = 0; i < n; i++) swap(i, pivots[po + i]);
      substitute(l, xw, n, k, true, true);
      singular = substitute(uu, xw, n, k, false, false);
    } else {
      singular = substitute(uu, xw, n, k, true, false); // Uᵀ is lower
      substitute(l, xw, n, k, false, true); // Lᵀ is unit upper
      for (let i = n - 1; i >= 0; i--) swap(i, pivots[po + i]);
    }
    if (singular >= 0) failures.push({ batch: bi, kind: "singular", index: singular });
    for (let t = 0; t < n * k; t++) x[bo + t] = xw[t];
  }
  return { x, failures };
}

/**
 * Determinants from an LU factorization: det A = sign · Π u_ii (one per matrix, in the LU's
 * precision; exactly 0 for a singular factorization).
 *
 * @example
 * ```ts
 * const f = luKernel(new Float64Array([1, 2, 3, 4]), { n: 2 });
 * detFromLu(f.lu, f.sign, { n: 2 }); // [-2]
 * ```
 */
export function detFromLu<T extends FloatArray>(lu: T, sign: Int32Array, dims: SquareDims): T {
  const { n } = dims;
  const batch = batchOf("detFromLu", lu.length, n * n, dims.batch ?? sign.length);
  const out = like(lu, batch);
  for (let b = 0; b < batch; b++) {
    let d: number = sign[b];
    for (let i = 0; i < n; i++) d *= lu[b * n * n + i * n + i];
    out[b] = d === 0 ? 0 : d; // no −0
  }
  return out;
}

/** Result of {@linkcode slogdetFromLu}. */
export interface SlogdetResult<T extends FloatArray = FloatArray> {
  /** sign(det A) ∈ {−1, 0, 1} per matrix. */
  sign: T;
  /** log |det A| per matrix (−Infinity when singular). */
  logabsdet: T;
}

/**
 * Sign and log-magnitude of determinants from an LU factorization: log|det A| = Σ log|u_ii|,
 * sign = det(P) · Π sign(u_ii). Does not overflow where {@linkcode detFromLu} would.
 *
 * @example
 * ```ts
 * const f = luKernel(new Float64Array([1, 2, 3, 4]), { n: 2 });
 * slogdetFromLu(f.lu, f.sign, { n: 2 }); // { sign: [-1], logabsdet: [Math.log(2)] }
 * ```
 */
export function slogdetFromLu<T extends FloatArray>(
  lu: T,
  sign: Int32Array,
  dims: SquareDims,
): SlogdetResult<T> {
  const { n } = dims;
  const batch = batchOf("slogdetFromLu", lu.length, n * n, dims.batch ?? sign.length);
  const sg = like(lu, batch), lad = like(lu, batch);
  for (let b = 0; b < batch; b++) {
    let s: number = sign[b], acc = 0;
    for (let i = 0; i < n; i++) {
      const u = lu[b * n * n + i * n + i];
      if (u < 0) s = -s;
      else if (u === 0) s = 0;
      acc += Math.log(Math.abs(u));
    }
    sg[b] = s;
    lad[b] = s === 0 ? -Infinity : acc;
  }
  return { sign: sg, logabsdet: lad };
}
