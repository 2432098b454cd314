/**
 * Symmetric eigendecomposition of a batch of matrices (`eighKernel`): Householder
 * tridiagonalization and the implicit QL iteration; and the asymmetry measure `symmetryError`.
 * @module
 */
import {
  argMaxAbs,
  batchOf,
  checkDim,
  dot,
  EPS,
  firstNonFinite,
  type FloatArray,
  hypot,
  type KernelFailure,
  like,
  maxAbs,
  pow2Scale,
  sortOrder,
  type SquareDims,
} from "./kernel_util.ts";
import { applyReflectorMany, householder } from "./reflectors.ts";
import { rotSeqDown } from "./rotation_log.ts";

/**
 * Relative asymmetry of each n×n matrix of a batch: max |a_ij − a_ji| / max |a_ij| (0 for a zero
 * matrix, NaN for a matrix with a non-finite entry). Exactly symmetric input gives 0; a Gram
 * matrix XᵀX computed in floating point gives about n·ε. The `eigh` op should reject inputs above
 * a tolerance such as 1e-5 (float32) or 1e-10 (float64).
 *
 * @example
 * ```ts
 * symmetryError(new Float64Array([1, 2, 2.5, 1]), { n: 2 }); // Float64Array [0.2]
 * ```
 */
export function symmetryError(a: FloatArray, dims: SquareDims): Float64Array {
  const { n } = dims;
  checkDim("symmetryError", "n", n);
  const batch = batchOf("symmetryError", a.length, n * n, dims.batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const off = b * n * n;
    if (firstNonFinite(a, off, n * n) >= 0) {
      out[b] = NaN;
      continue;
    }
    const mx = maxAbs(a, off, n * n);
    let d = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        d = Math.max(d, Math.abs(a[off + i * n + j] - a[off + j * n + i]));
      }
    }
    out[b] = mx === 0 ? 0 : d / mx;
  }
  return out;
}

/** Result of {@linkcode eighKernel}. */
export interface EighResult<T extends FloatArray = FloatArray> {
  /** Eigenvalues, batch × n, ascending. */
  eigenvalues: T;
  /** Eigenvectors as the columns of batch × n × n orthogonal matrices V (A = V diag(λ) Vᵀ). */
  eigenvectors: T;
  /** Failing matrices (`nonFinite`, `notConverged`). */
  failures: KernelFailure[];
}

/**
 * Symmetric eigendecomposition of a batch of n×n matrices: A = V diag(λ) Vᵀ.
 *
 * Uses the symmetric part (A + Aᵀ)/2 (check {@linkcode symmetryError} first to reject
 * non-symmetric input); Householder tridiagonalization, then the implicit QL iteration with
 * Wilkinson-type shifts (EISPACK tql2), rotations applied to contiguous eigenvector rows.
 *
 * Conventions: eigenvalues ascending; the entry of largest magnitude of each eigenvector (the first
 * on ties) is positive. Eigenvectors of repeated eigenvalues are an arbitrary orthonormal basis of
 * their eigenspace.
 *
 * @example
 * ```ts
 * const { eigenvalues } = eighKernel(new Float64Array([2, 1, 1, 2]), { n: 2 }); // [1, 3]
 * ```
 */
export function eighKernel<T extends FloatArray>(a: T, dims: SquareDims): EighResult<T> {
  const { n } = dims;
  checkDim("eighKernel", "n", n);
  const batch = batchOf("eighKernel", a.length, n * n, dims.batch);
  const vals = like(a, batch * n), vecs = like(a, batch * n * n);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n), vt = new Float64Array(n * n);
  const d = new Float64Array(n), e = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    const off = b * n * n, lo = b * n;
    const bad = firstNonFinite(a, off, n * n);
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      vals.fill(NaN, lo, lo + n);
      vecs.fill(NaN, off, off + n * n);
      continue;
    }
    if (n === 0) continue;
    const scale = pow2Scale(maxAbs(a, off, n * n));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        w[i * n + j] = 0.5 * (a[off + i * n + j] + a[off + j * n + i]) * scale;
      }
    }
    tridiagonalize(w, n, d, e, vt);
    if (!tql2(d, e, n, vt)) {
      failures.push({ batch: b, kind: "notConverged", index: -1 });
      vals.fill(NaN, lo, lo + n);
      vecs.fill(NaN, off, off + n * n);
      continue;
    }
    const order = sortOrder(d, n, true);
    for (let c = 0; c < n; c++) {
      // eigenvector order[c] (a row of vt), largest-magnitude entry made positive
      const vo = order[c] * n;
      const flip = vt[vo + argMaxAbs(vt, vo, n)] < 0 ? -1 : 1;
      vals[lo + c] = d[order[c]] / scale;
      for (let r = 0; r < n; r++) vecs[off + r * n + c] = flip * vt[vo + r];
    }
  }
  return { eigenvalues: vals, eigenvectors: vecs, failures };
}

/**
 * Householder tridiagonalization of the full symmetric n×n matrix w (destroyed): A = Q T Qᵀ with
 * T = tridiag(e, d, e) (e[i] couples i and i+1, e[n−1] = 0); qt receives Q's columns as rows.
 */
function tridiagonalize(
  w: Float64Array,
  n: number,
  d: Float64Array,
  e: Float64Array,
  qt: Float64Array,
): void {
  const vs = new Float64Array(n * n); // reflector k in row k, coords k+1 …
  const tau = new Float64Array(n);
  const pv = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const len = n - k - 1, vo = k * n;
    for (let i = 0; i < len; i++) vs[vo + i] = w[k * n + k + 1 + i]; // column k below the diagonal
    const t = householder(vs, vo, len);
    tau[k] = t;
    d[k] = w[k * n + k];
    e[k] = vs[vo];
    vs[vo] = 1;
    if (t === 0) continue;
    // p = τ A₂₂ v; w = p − (τ/2)(pᵀv) v; A₂₂ −= v wᵀ + w vᵀ
    const base = (k + 1) * n + k + 1;
    for (let i = 0; i < len; i++) pv[i] = t * dot(w, base + i * n, vs, vo, len);
    const kk = 0.5 * t * dot(pv, 0, vs, vo, len);
    for (let i = 0; i < len; i++) pv[i] -= kk * vs[vo + i];
    for (let i = 0; i < len; i++) {
      const vi = vs[vo + i], wi = pv[i], ro = base + i * n;
      for (let j = 0; j < len; j++) w[ro + j] -= vi * pv[j] + wi * vs[vo + j];
    }
  }
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + n - 2];
    e[n - 2] = w[(n - 2) * n + n - 1];
  }
  d[n - 1] = w[(n - 1) * n + n - 1];
  e[n - 1] = 0;
  // Q = H₀⋯H_{n−3}, H_k on coords k+1 …; accumulate backwards on Q's columns (rows of qt)
  qt.fill(0, 0, n * n);
  for (let c = 0; c < n; c++) qt[c * n + c] = 1;
  for (let k = n - 3; k >= 0; k--) {
    const t = tau[k];
    if (t === 0) continue;
    applyReflectorMany(vs, k * n, qt, (k + 1) * n + k + 1, n, n - k - 1, n - k - 1, t);
  }
}

/**
 * Implicit QL iteration on the symmetric tridiagonal (d, e) (EISPACK tql2, Bowdler–Martin–
 * Reinsch–Wilkinson): d receives the eigenvalues (unsorted); the rotations are applied to the rows
 * of vt (eigenvectors as rows). Returns false if some eigenvalue needed more than 100 iterations.
 */
function tql2(d: Float64Array, e: Float64Array, n: number, vt: Float64Array): boolean {
  const cs = new Float64Array(n), sn = new Float64Array(n);
  let f = 0, tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= EPS * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) return false;
        // implicit shift from the leading 2×2
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // implicit QL transformation (rotations recorded, applied to V's rows afterwards)
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          cs[i] = c;
          sn[i] = -s; // rowsᵢ ← c vᵢ − s vᵢ₊₁, vᵢ₊₁ ← c vᵢ₊₁ + s vᵢ
        }
        rotSeqDown(vt, n, l, m, cs, sn);
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return true;
}
