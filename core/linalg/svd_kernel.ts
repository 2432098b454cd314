/**
 * Thin SVD of a batch of matrices (`svdKernel`): QR first for tall inputs, then one-sided Jacobi on
 * small cores or Golub–Kahan (`golub_kahan.ts`) on larger ones.
 * @module
 */
import { golubKahan } from "./golub_kahan.ts";
import {
  argMaxAbs,
  batchOf,
  checkDim,
  completeOrthonormal,
  dot,
  EPS,
  firstNonFinite,
  type FloatArray,
  type KernelFailure,
  like,
  type MatrixDims,
  maxAbs,
  norm2,
  permuteRows,
  permuteVals,
  pow2Scale,
  rot,
  sortOrder,
  transposeScaled,
} from "./kernel_util.ts";
import { formQt, householderQr } from "./qr_kernel.ts";
import { BLOCK, done, formQtBlocked, gemmInto, householderQrBlocked, work } from "./householder_blocked.ts";

/** Largest core size (min(m, n)) for which `svdKernel` uses one-sided Jacobi under `method: "auto"`. */
const JACOBI_MAX = 64;

/** Maximum number of one-sided Jacobi sweeps before reporting `notConverged`. */
const MAX_SWEEPS = 80;

/**
 * Squared row norm below which one-sided Jacobi treats a row as zero. Inputs are pre-scaled so that
 * max |a_ij| ∈ [1, 2); below 1e-280 squares lose precision to underflow, so such a singular value
 * (< 1e-140 ‖A‖) is returned as 0 with a completed singular vector.
 */
const NEGLIGIBLE_SQ = 1e-280;

/** Options and shape of {@linkcode svdKernel}. */
export interface SvdDims extends MatrixDims {
  /**
   * Core algorithm: `"jacobi"` (QR, then one-sided Jacobi on the rows of R: the most accurate),
   * `"gk"` (Householder bidiagonalization + implicit-shift QR; QR first when m ≥ 1.6n), or
   * `"auto"` (default: Jacobi when min(m, n) ≤ 64, else Golub–Kahan).
   */
  method?: "auto" | "jacobi" | "gk";
}

/** Result of {@linkcode svdKernel}. */
export interface SvdResult<T extends FloatArray = FloatArray> {
  /** U, batch × m × k, orthonormal columns (k = min(m, n)). */
  u: T;
  /** Singular values, batch × k, descending, non-negative. */
  s: T;
  /** Vᴴ = Vᵀ, batch × k × n, orthonormal rows. */
  vh: T;
  /** Failing matrices (`nonFinite`, `notConverged`). */
  failures: KernelFailure[];
}

/**
 * Thin SVD of a batch of m×n matrices: A = U diag(S) Vh, k = min(m, n), U m×k, S k, Vh k×n.
 *
 * A wide matrix is decomposed through its transpose. Tall and square matrices are first reduced by
 * Householder QR (A = QR) when that pays off; the k×k core is then decomposed by one-sided Jacobi
 * (on the rows of R, i.e. Jacobi on Rᵀ, which converges fast and keeps small singular values
 * accurate) or by Golub–Kahan for larger cores (see {@linkcode SvdDims.method}). Exactly zero
 * singular values get singular vectors completed to an orthonormal basis.
 *
 * Conventions: S descending; the entry of largest magnitude of each column of U (the first on
 * ties) is positive, the matching row of Vh carries the sign. Singular vectors of repeated
 * singular values are an arbitrary orthonormal basis of their subspace.
 *
 * @example
 * ```ts
 * const { s } = svdKernel(new Float64Array([3, 0, 0, -4]), { m: 2, n: 2 }); // s = [4, 3]
 * ```
 */
export function svdKernel<T extends FloatArray>(a: T, dims: SvdDims): SvdResult<T> {
  const { m, n } = dims;
  const method = dims.method ?? "auto";
  checkDim("svdKernel", "m", m);
  checkDim("svdKernel", "n", n);
  const batch = batchOf("svdKernel", a.length, m * n, dims.batch);
  const k = Math.min(m, n), p = Math.max(m, n), tall = m >= n;
  const u = like(a, batch * m * k), s = like(a, batch * k), vh = like(a, batch * k * n);
  const failures: KernelFailure[] = [];
  // work buffers: X has columns as rows (k rows of length p)
  // (in the Wasm memory, so the blocked steps' products read them in place)
  const xt = work(k * p), ut = work(k * p), vt = work(k * k);
  const sig = new Float64Array(k), tmp = work(k * p);
  for (let b = 0; b < batch; b++) {
    const off = b * m * n, uo = b * m * k, so = b * k, vo = b * k * n;
    const bad = firstNonFinite(a, off, m * n);
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      u.fill(NaN, uo, uo + m * k);
      s.fill(NaN, so, so + k);
      vh.fill(NaN, vo, vo + k * n);
      continue;
    }
    if (k === 0) continue;
    const scale = pow2Scale(maxAbs(a, off, m * n));
    if (tall) transposeScaled(a, off, m, n, xt, 0, scale);
    else for (let t = 0; t < m * n; t++) xt[t] = a[off + t] * scale; // Aᵀ's columns = A's rows
    const ok = svdCore(xt, p, k, method, ut, sig, vt, tmp);
    if (!ok) {
      failures.push({ batch: b, kind: "notConverged", index: -1 });
      u.fill(NaN, uo, uo + m * k);
      s.fill(NaN, so, so + k);
      vh.fill(NaN, vo, vo + k * n);
      continue;
    }
    // X = Ut ᵀ Σ Vt. Tall: U = Utᵀ, Vh = Vt. Wide (X = Aᵀ): U = Vtᵀ, Vh = Ut.
    const uRows = tall ? ut : vt, uLen = tall ? p : k;
    const vRows = tall ? vt : ut, vLen = tall ? k : p;
    for (let c = 0; c < k; c++) {
      const i = argMaxAbs(uRows, c * uLen, uLen);
      s[so + c] = sig[c] / scale;
      if (uRows[c * uLen + i] < 0) {
        for (let t = 0; t < m; t++) uRows[c * uLen + t] = -uRows[c * uLen + t];
        for (let t = 0; t < n; t++) vRows[c * vLen + t] = -vRows[c * vLen + t];
      }
      for (let t = 0; t < n; t++) vh[vo + c * n + t] = vRows[c * vLen + t];
    }
    transposeScaled(uRows, 0, k, m, u, uo, 1);
  }
  done(xt, ut, vt, tmp);
  return { u, s, vh, failures };
}

/**
 * SVD of the p×q matrix X (p ≥ q) given as its columns as rows (xt, q×p; destroyed): writes
 * ut (q×p, left vectors as rows), sig (q, descending), vt (q×q, right vectors as rows).
 */
function svdCore(
  xt: Float64Array,
  p: number,
  q: number,
  method: "auto" | "jacobi" | "gk",
  ut: Float64Array,
  sig: Float64Array,
  vt: Float64Array,
  tmp: Float64Array,
): boolean {
  const jacobi = method === "jacobi" || (method === "auto" && q <= JACOBI_MAX);
  const qrFirst = jacobi || p >= 1.6 * q;
  let ok: boolean;
  if (qrFirst) {
    // X = Q R; decompose the q×q core R.
    const tau = new Float64Array(q), qt = work(q * p);
    if (q >= BLOCK && p * q >= 32768) {
      householderQrBlocked(xt, p, q, tau);
      formQtBlocked(xt, p, q, tau, qt);
    } else {
      householderQr(xt, p, q, tau);
      formQt(xt, p, q, tau, qt);
    }
    const core = work(q * q), w = work(q * q);
    core.fill(0);
    if (jacobi) {
      // rows of R: R = W Σ Z → U_X = Q W, Vᵀ = Z
      for (let i = 0; i < q; i++) {
        for (let j = i; j < q; j++) core[i * q + j] = xt[j * p + i];
      }
      ok = jacobiRows(core, q, q, w, sig, new Float64Array(q));
      vt.set(core.subarray(0, q * q));
    } else {
      // R's columns as rows = Rᵀ row-major: rt[c][i] = R[i][c], i ≤ c
      for (let c = 0; c < q; c++) {
        for (let i = 0; i <= c; i++) core[c * q + i] = xt[c * p + i];
      }
      ok = golubKahan(core, q, q, w, sig, vt);
    }
    // left vectors: ut row c = Σ_k w[c][k] · Q[:, k], i.e. ut = w · qt
    gemmInto(w, 0, q, 1, qt, 0, p, 1, ut, 0, q, p, q);
    done(qt, core, w);
  } else {
    ok = golubKahan(xt, p, q, ut, sig, vt);
  }
  if (!ok) return false;
  const order = sortOrder(sig, q, false);
  permuteVals(sig, order);
  permuteRows(ut, p, order, tmp);
  permuteRows(vt, q, order, tmp);
  return true;
}

/**
 * One-sided (Hestenes) Jacobi on the rows of x (r rows of len, r ≤ len): finds W orthogonal with
 * x = W Σ Z, Z with orthonormal rows. On return x holds Z (rows completed to an orthonormal set
 * where σ = 0), wt holds W's columns as rows, sig holds σ (unsorted). Returns false if the
 * sweeps did not converge.
 *
 * Pair (i, j) is rotated while |xᵢ·xⱼ| > tol·‖xᵢ‖‖xⱼ‖, tol = √len·ε (LAPACK dgesvj's criterion); the
 * rotation angle is Rutishauser's: ζ = (‖xⱼ‖² − ‖xᵢ‖²)/(2xᵢ·xⱼ), t = sign(ζ)/(|ζ| + √(1+ζ²)).
 */
function jacobiRows(
  x: Float64Array,
  r: number,
  len: number,
  wt: Float64Array,
  sig: Float64Array,
  norms: Float64Array,
): boolean {
  wt.fill(0, 0, r * r);
  for (let i = 0; i < r; i++) wt[i * r + i] = 1;
  const tol = Math.sqrt(len) * EPS;
  let converged = false;
  for (let sweep = 0; sweep < MAX_SWEEPS && !converged; sweep++) {
    for (let i = 0; i < r; i++) norms[i] = dot(x, i * len, x, i * len, len);
    let rotated = false;
    for (let i = 0; i < r - 1; i++) {
      const io = i * len;
      for (let j = i + 1; j < r; j++) {
        const a = norms[i], b = norms[j];
        if (a < NEGLIGIBLE_SQ || b < NEGLIGIBLE_SQ) continue; // a zero row (see below)
        const jo = j * len;
        const g = dot(x, io, x, jo, len);
        if (Math.abs(g) <= tol * Math.sqrt(a) * Math.sqrt(b)) continue;
        rotated = true;
        const zeta = (b - a) / (2 * g);
        const t = Math.abs(zeta) > 1e150
          ? 1 / (2 * zeta)
          : (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        // xᵢ ← c xᵢ − s xⱼ, xⱼ ← s xᵢ + c xⱼ (same on W's columns)
        rot(x, io, jo, len, c, -s);
        rot(wt, i * r, j * r, r, c, -s);
        // ‖xᵢ‖² ← ‖xᵢ‖² − t g, ‖xⱼ‖² ← ‖xⱼ‖² + t g; recompute a norm that lost most of itself
        const na = a - t * g, nb = b + t * g;
        norms[i] = na > 0.1 * a ? na : dot(x, io, x, io, len);
        norms[j] = nb > 0.1 * b ? nb : dot(x, jo, x, jo, len);
      }
    }
    if (!rotated) converged = true;
  }
  const valid = new Uint8Array(r);
  for (let i = 0; i < r; i++) {
    const o = i * len;
    // rows whose squared norm underflows carry no direction: σ = 0, vector completed
    let s = norm2(x, o, len);
    if (s * s < NEGLIGIBLE_SQ) s = 0;
    sig[i] = s;
    if (s > 0) {
      for (let t = 0; t < len; t++) x[o + t] /= s;
      valid[i] = 1;
    }
  }
  completeOrthonormal(x, r, len, valid);
  return converged;
}
