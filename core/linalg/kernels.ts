/**
 * Numeric kernels of Tangent's linear-algebra primitives, on typed arrays.
 *
 * Pure functions over `Float32Array` / `Float64Array` with no dependency on the rest of the core.
 * Every kernel
 * - reads a batch of row-major matrices laid out contiguously (the batch count is the array length
 *   divided by the matrix size, or `dims.batch` when given);
 * - computes in float64 and writes its results in the input's precision (a `Float32Array` in gives
 *   `Float32Array`s out);
 * - never throws on bad values: a matrix with a non-finite entry, a singular or non-positive-definite
 *   matrix, or an iteration that did not converge is reported in `failures` (one entry per failing
 *   matrix, see {@linkcode KernelFailure}); the outputs of a matrix reported `nonFinite`,
 *   `notPositiveDefinite` or `notConverged` are filled with NaN. Wrong sizes throw `RangeError`
 *   (the public ops validate shapes before calling a kernel).
 *
 * Sign and ordering conventions (deterministic, so a kernel's output is a function of its input):
 * - QR: `R` has a non-negative diagonal.
 * - SVD: singular values descending; the entry of largest magnitude in each column of `U` (the first
 *   such entry on ties) is positive; the matching row of `Vh` carries the sign.
 * - eigh: eigenvalues ascending; the entry of largest magnitude of each eigenvector is positive.
 *
 * @module
 */

/** A floating-point typed array accepted by the kernels. */
export type FloatArray = Float32Array | Float64Array;

/** What went wrong with one matrix of a batch. */
export type KernelFailureKind =
  | "nonFinite"
  | "notPositiveDefinite"
  | "singular"
  | "notConverged";

/** A failure report for one matrix of a batch. */
export interface KernelFailure {
  /** Position of the matrix in the batch. */
  batch: number;
  /** The kind of failure. */
  kind: KernelFailureKind;
  /**
   * `nonFinite`: flat row-major index (inside its matrix) of the first NaN/±Infinity;
   * `notPositiveDefinite`: the column j whose pivot a[j][j] − Σ l[j][k]² was not positive;
   * `singular`: the first column whose pivot (LU) or diagonal entry (triangular solve) is exactly 0;
   * `notConverged`: −1.
   */
  index: number;
  /** For kernels with two matrix inputs: which one was bad (`"a"` or `"b"`). */
  input?: "a" | "b";
}

/** Machine epsilon of float64 (2⁻⁵²). */
const EPS = 2 ** -52;
/** Smallest magnitude the iterative kernels treat as non-negligible on their own. */
const TINY = 2 ** -966;
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

// ---------------------------------------------------------------------------------------------
// Small helpers (all on Float64Array work buffers, so V8 keeps them monomorphic)
// ---------------------------------------------------------------------------------------------

function like<T extends FloatArray>(a: T, len: number): T {
  return (a instanceof Float32Array ? new Float32Array(len) : new Float64Array(len)) as T;
}

function checkDim(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/** Number of matrices of `per` entries in an array of `len` entries (or the given batch, checked). */
function batchOf(op: string, len: number, per: number, batch?: number): number {
  if (batch !== undefined) {
    checkDim(op, "batch", batch);
    if (batch * per !== len) {
      throw new RangeError(
        `${op}: array length ${len} != batch ${batch} × matrix size ${per}; pass matching dims`,
      );
    }
    return batch;
  }
  if (per === 0) {
    if (len !== 0) throw new RangeError(`${op}: matrix size 0 but array length ${len}`);
    return 0;
  }
  if (len % per !== 0) {
    throw new RangeError(
      `${op}: array length ${len} is not a multiple of the matrix size ${per}; check the dims`,
    );
  }
  return len / per;
}

/** Flat index of the first non-finite entry of a[off, off+len), or −1. */
function firstNonFinite(a: FloatArray, off: number, len: number): number {
  for (let i = 0; i < len; i++) {
    const v = a[off + i];
    if (v - v !== 0) return i; // NaN or ±Infinity
  }
  return -1;
}

function maxAbs(a: FloatArray, off: number, len: number): number {
  let mx = 0;
  for (let i = 0; i < len; i++) {
    const v = Math.abs(a[off + i]);
    if (v > mx) mx = v;
  }
  return mx;
}

/** A power of two s with s·x in [1, 2): scaling by it is exact and keeps squares in range. */
function pow2Scale(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return 1;
  let e = Math.floor(Math.log2(x));
  if (e > 1000) e = 1000;
  if (e < -1000) e = -1000;
  return Math.pow(2, -e);
}

/** √(a² + b²) without overflow or harmful underflow. */
function hypot(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  if (a < b) {
    const t = a;
    a = b;
    b = t;
  }
  if (a === 0) return 0;
  const r = b / a;
  return a * Math.sqrt(1 + r * r);
}

function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  // four partial sums: hides the add latency
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += x[xo + i] * y[yo + i];
    s1 += x[xo + i + 1] * y[yo + i + 1];
    s2 += x[xo + i + 2] * y[yo + i + 2];
    s3 += x[xo + i + 3] * y[yo + i + 3];
  }
  for (; i < len; i++) s0 += x[xo + i] * y[yo + i];
  return (s0 + s1) + (s2 + s3);
}

/** y ← y + α x. */
function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): void {
  let i = 0;
  for (; i + 3 < len; i += 4) {
    y[yo + i] += alpha * x[xo + i];
    y[yo + i + 1] += alpha * x[xo + i + 1];
    y[yo + i + 2] += alpha * x[xo + i + 2];
    y[yo + i + 3] += alpha * x[xo + i + 3];
  }
  for (; i < len; i++) y[yo + i] += alpha * x[xo + i];
}

/** Plane rotation of two rows: x ← c·x + s·y, y ← c·y − s·x. */
function rot(b: Float64Array, xo: number, yo: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = b[xo + i], y = b[yo + i];
    b[xo + i] = c * x + s * y;
    b[yo + i] = c * y - s * x;
  }
}

/** ‖x[off, off+len)‖₂, scaled so that it neither overflows nor underflows. */
function norm2(x: Float64Array, off: number, len: number): number {
  let ss = 0;
  for (let i = 0; i < len; i++) ss += x[off + i] * x[off + i];
  if (ss > 1e-280 && ss < 1e280) return Math.sqrt(ss);
  let mx = 0;
  for (let i = 0; i < len; i++) mx = Math.max(mx, Math.abs(x[off + i]));
  if (mx === 0 || !Number.isFinite(mx)) return mx;
  ss = 0;
  for (let i = 0; i < len; i++) {
    const v = x[off + i] / mx;
    ss += v * v;
  }
  return mx * Math.sqrt(ss);
}

/**
 * Householder reflector of x = buf[off, off+len) (LAPACK dlarfg): H = I − τ v vᵀ with v₀ = 1 and
 * H x = β e₁, β = −sign(x₀)‖x‖. Overwrites buf[off] with β and buf[off+1 …] with v[1 …]; returns τ
 * (0, H = I and buf untouched, when ‖x[1 …]‖ < 1e-280: negligible for the pre-scaled inputs).
 */
function householder(buf: Float64Array, off: number, len: number): number {
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
function applyReflector(
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
function applyReflectorMany(
  v: Float64Array,
  vo: number,
  c: Float64Array,
  co: number,
  stride: number,
  count: number,
  len: number,
  tau: number,
): void {
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

/**
 * Householder QR of the m×n matrix X given by its columns as rows: `xt` is n×m (row c = column c).
 * Reflectors j < k = min(m, n) are stored below the diagonal of the column rows, R on and above it
 * (R[j][c] = xt[c·m + j], c ≥ j); τ in `tau`.
 */
function householderQr(xt: Float64Array, m: number, n: number, tau: Float64Array): void {
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
function formQt(xt: Float64Array, m: number, k: number, tau: Float64Array, qt: Float64Array): void {
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

/** out (r×len) ← coef (r×r) · rows (r×len): out row c = Σ_k coef[c][k] · rows row k. */
function combineRows(
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

/** Stable order of indices sorting `vals` descending (ascending when `asc`). */
function sortOrder(vals: Float64Array, count: number, asc: boolean): Int32Array {
  const idx = Array.from({ length: count }, (_, i) => i);
  idx.sort((i, j) => (asc ? vals[i] - vals[j] : vals[j] - vals[i]) || i - j);
  return Int32Array.from(idx);
}

/** Reorders the rows of buf (count rows of len) and vals by `order` (row i ← old row order[i]). */
function permuteRows(buf: Float64Array, len: number, order: Int32Array, tmp: Float64Array): void {
  const count = order.length;
  tmp.set(buf.subarray(0, count * len));
  for (let i = 0; i < count; i++) {
    buf.set(tmp.subarray(order[i] * len, order[i] * len + len), i * len);
  }
}

function permuteVals(vals: Float64Array, order: Int32Array): void {
  const old = vals.slice(0, order.length);
  for (let i = 0; i < order.length; i++) vals[i] = old[order[i]];
}

/** Index of the entry of largest magnitude in buf[off, off+len) (first on ties). */
function argMaxAbs(buf: Float64Array, off: number, len: number): number {
  let best = 0, mx = -1;
  for (let i = 0; i < len; i++) {
    const v = Math.abs(buf[off + i]);
    if (v > mx) {
      mx = v;
      best = i;
    }
  }
  return best;
}

/**
 * Completes the rows of z (r rows of len, r ≤ len) marked invalid to an orthonormal set: each
 * missing row is the unit vector e_k whose component orthogonal to the valid rows is largest,
 * orthogonalized twice (classical Gram–Schmidt with re-orthogonalization) and normalized.
 */
function completeOrthonormal(z: Float64Array, r: number, len: number, valid: Uint8Array): void {
  for (let i = 0; i < r; i++) {
    if (valid[i]) continue;
    // ‖P⊥ e_k‖² = 1 − Σ_valid z_j[k]²: pick the largest
    let best = 0, bestRes = -Infinity;
    for (let k = 0; k < len; k++) {
      let s = 0;
      for (let j = 0; j < r; j++) if (valid[j]) s += z[j * len + k] * z[j * len + k];
      if (1 - s > bestRes) {
        bestRes = 1 - s;
        best = k;
      }
    }
    const o = i * len;
    z.fill(0, o, o + len);
    z[o + best] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < r; j++) {
        if (!valid[j]) continue;
        const pj = dot(z, o, z, j * len, len);
        if (pj !== 0) axpy(-pj, z, j * len, z, o, len);
      }
    }
    const nn = norm2(z, o, len);
    for (let t = 0; t < len; t++) z[o + t] /= nn;
    valid[i] = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// QR
// ---------------------------------------------------------------------------------------------

/** Shape of a batch of m×n matrices. */
export interface MatrixDims {
  /** Rows of each matrix. */
  m: number;
  /** Columns of each matrix. */
  n: number;
  /** Number of matrices; inferred from the array length when omitted (required if m·n = 0). */
  batch?: number;
}

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
  const xt = new Float64Array(n * m), qt = new Float64Array(k * m), tau = new Float64Array(k);
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
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < n; c++) xt[c * m + i] = a[off + i * n + c] * scale;
    }
    householderQr(xt, m, n, tau);
    formQt(xt, m, k, tau, qt);
    for (let j = 0; j < k; j++) {
      // R[j][j] < 0: negate row j of R and column j of Q (exact)
      const flip = xt[j * m + j] < 0 ? -1 : 1;
      for (let c = 0; c < n; c++) {
        r[ro + j * n + c] = c < j ? 0 : (flip * xt[c * m + j]) / scale;
      }
      for (let i = 0; i < m; i++) q[qo + i * k + j] = flip * qt[j * m + i];
    }
  }
  return { q, r, failures };
}

// ---------------------------------------------------------------------------------------------
// SVD
// ---------------------------------------------------------------------------------------------

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

/**
 * Applies the plane rotations j = j0 … j1−1, in that order, to the rows (j, j+1) of buf (rows of
 * length len): rowⱼ ← cⱼ rowⱼ + sⱼ rowⱼ₊₁, rowⱼ₊₁ ← cⱼ rowⱼ₊₁ − sⱼ rowⱼ. Four rotations share one
 * pass over five rows, so each element is loaded and stored once per four rotations.
 */
function rotSeqUp(
  b: Float64Array,
  len: number,
  j0: number,
  j1: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  let j = j0;
  for (; j + 3 < j1; j += 4) {
    const c0 = cs[j], s0 = sn[j], c1 = cs[j + 1], s1 = sn[j + 1];
    const c2 = cs[j + 2], s2 = sn[j + 2], c3 = cs[j + 3], s3 = sn[j + 3];
    const o0 = j * len, o1 = o0 + len, o2 = o1 + len, o3 = o2 + len, o4 = o3 + len;
    for (let i = 0; i < len; i++) {
      const x0 = b[o0 + i], x1 = b[o1 + i], x2 = b[o2 + i], x3 = b[o3 + i], x4 = b[o4 + i];
      b[o0 + i] = c0 * x0 + s0 * x1;
      const y1 = c0 * x1 - s0 * x0;
      b[o1 + i] = c1 * y1 + s1 * x2;
      const y2 = c1 * x2 - s1 * y1;
      b[o2 + i] = c2 * y2 + s2 * x3;
      const y3 = c2 * x3 - s2 * y2;
      b[o3 + i] = c3 * y3 + s3 * x4;
      b[o4 + i] = c3 * x4 - s3 * y3;
    }
  }
  for (; j < j1; j++) rot(b, j * len, (j + 1) * len, len, cs[j], sn[j]);
}

/**
 * Applies the plane rotations i = i1−1 down to i0, in that order, to the rows (i, i+1) of buf:
 * rowᵢ ← cᵢ rowᵢ + sᵢ rowᵢ₊₁, rowᵢ₊₁ ← cᵢ rowᵢ₊₁ − sᵢ rowᵢ (four rotations per pass).
 */
function rotSeqDown(
  b: Float64Array,
  len: number,
  i0: number,
  i1: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  let j = i1 - 1;
  for (; j - 3 >= i0; j -= 4) {
    // rotations j, j−1, j−2, j−3 on rows j−3 … j+1
    const c0 = cs[j], s0 = sn[j], c1 = cs[j - 1], s1 = sn[j - 1];
    const c2 = cs[j - 2], s2 = sn[j - 2], c3 = cs[j - 3], s3 = sn[j - 3];
    const o4 = (j + 1) * len, o3 = o4 - len, o2 = o3 - len, o1 = o2 - len, o0 = o1 - len;
    for (let i = 0; i < len; i++) {
      const x0 = b[o0 + i], x1 = b[o1 + i], x2 = b[o2 + i], x3 = b[o3 + i], x4 = b[o4 + i];
      b[o4 + i] = c0 * x4 - s0 * x3;
      const y3 = c0 * x3 + s0 * x4;
      b[o3 + i] = c1 * y3 - s1 * x2;
      const y2 = c1 * x2 + s1 * y3;
      b[o2 + i] = c2 * y2 - s2 * x1;
      const y1 = c2 * x1 + s2 * y2;
      b[o1 + i] = c3 * y1 - s3 * x0;
      b[o0 + i] = c3 * x0 + s3 * y1;
    }
  }
  for (; j >= i0; j--) rot(b, j * len, (j + 1) * len, len, cs[j], sn[j]);
}

/**
 * Golub–Kahan SVD of the p×q matrix X (p ≥ q) given by its columns as rows (xt is q×p; destroyed):
 * Householder bidiagonalization X = U B Vᵀ, then implicit-shift QR on the bidiagonal B (the
 * LINPACK dsvdc iteration: Wilkinson-type shift from the trailing 2×2 of BᵀB, zero-chasing, and
 * deflation where |e_k| ≤ ε(|s_k| + |s_{k+1}|)). Writes ut (q×p, rows = left vectors), s (q,
 * non-negative, unsorted) and vt (q×q, rows = right vectors). Returns false on no convergence.
 */
function golubKahan(
  xt: Float64Array,
  p: number,
  q: number,
  ut: Float64Array,
  s: Float64Array,
  vt: Float64Array,
): boolean {
  const e = new Float64Array(q);
  const tauL = new Float64Array(q), tauR = new Float64Array(q);
  const rv = new Float64Array(q * q); // right reflectors, row k = [1, u₁, …] on coords k+1 …
  const w = new Float64Array(p);
  // Bidiagonalize: left reflector on column k (contiguous row k of xt), right reflector on row k.
  for (let k = 0; k < q; k++) {
    const ko = k * p + k, len = p - k;
    const tl = householder(xt, ko, len);
    tauL[k] = tl;
    s[k] = xt[ko];
    if (tl !== 0) applyReflectorMany(xt, ko, xt, (k + 1) * p + k, p, q - k - 1, len, tl);
    if (k < q - 2) {
      // u = X[k, k+1:] (strided in xt), reflect it to β e₁
      const ul = q - k - 1, uo = k * q;
      for (let t = 0; t < ul; t++) rv[uo + t] = xt[(k + 1 + t) * p + k];
      const tr = householder(rv, uo, ul);
      tauR[k] = tr;
      e[k] = rv[uo];
      rv[uo] = 1;
      if (tr !== 0) rightReflect(xt, p, k, ul, rv, uo, tr, w);
    } else if (k === q - 2) {
      e[k] = xt[(k + 1) * p + k];
    }
  }
  e[q - 1] = 0;
  // U from the left reflectors; V = G₀G₁⋯G_{q−3}, G_k on coords k+1 … (both as rows: vectors)
  formQt(xt, p, q, tauL, ut);
  vt.fill(0, 0, q * q);
  for (let c = 0; c < q; c++) vt[c * q + c] = 1;
  for (let k = q - 3; k >= 0; k--) {
    const t = tauR[k];
    if (t !== 0) applyReflectorMany(rv, k * q, vt, (k + 1) * q + k + 1, q, q - k - 1, q - k - 1, t);
  }

  // Implicit-shift QR on the bidiagonal (s on the diagonal, e above it). The rotations of a QR
  // step are recorded and applied afterwards to the vector rows of U and V, four per pass.
  const csU = new Float64Array(q), snU = new Float64Array(q);
  const csV = new Float64Array(q), snV = new Float64Array(q);
  let pa = q; // active size
  let steps = 0;
  const maxSteps = 100 + 75 * q;
  while (pa > 0) {
    if (steps > maxSteps) return false;
    let k: number, kase: number;
    for (k = pa - 2; k >= 0; k--) {
      if (Math.abs(e[k]) <= TINY + EPS * (Math.abs(s[k]) + Math.abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    }
    if (k === pa - 2) {
      kase = 4;
    } else {
      let ks: number;
      for (ks = pa - 1; ks > k; ks--) {
        const t = (ks !== pa ? Math.abs(e[ks]) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]) : 0);
        if (Math.abs(s[ks]) <= TINY + EPS * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks === k) kase = 3;
      else if (ks === pa - 1) kase = 1;
      else {
        kase = 2;
        k = ks;
      }
    }
    k++;
    if (kase === 1) {
      // deflate a negligible s[pa−1]: chase e[pa−2] up with rotations from the right
      let f = e[pa - 2];
      e[pa - 2] = 0;
      for (let j = pa - 2; j >= k; j--) {
        const t = hypot(s[j], f);
        const cs = t === 0 ? 1 : s[j] / t, sn = t === 0 ? 0 : f / t;
        s[j] = t;
        if (j !== k) {
          f = -sn * e[j - 1];
          e[j - 1] = cs * e[j - 1];
        }
        rot(vt, j * q, (pa - 1) * q, q, cs, sn);
      }
    } else if (kase === 2) {
      // split at a negligible s[k−1]: chase e[k−1] down with rotations from the left
      let f = e[k - 1];
      e[k - 1] = 0;
      for (let j = k; j < pa; j++) {
        const t = hypot(s[j], f);
        const cs = t === 0 ? 1 : s[j] / t, sn = t === 0 ? 0 : f / t;
        s[j] = t;
        f = -sn * e[j];
        e[j] = cs * e[j];
        rot(ut, j * p, (k - 1) * p, p, cs, sn);
      }
    } else if (kase === 3) {
      // one QR step on rows/columns k … pa−1, shift from the trailing 2×2 of BᵀB
      steps++;
      const scale = Math.max(
        Math.abs(s[pa - 1]),
        Math.abs(s[pa - 2]),
        Math.abs(e[pa - 2]),
        Math.abs(s[k]),
        Math.abs(e[k]),
      );
      const sp = s[pa - 1] / scale, spm1 = s[pa - 2] / scale, epm1 = e[pa - 2] / scale;
      const sk = s[k] / scale, ek = e[k] / scale;
      const bb = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
      const cc = sp * epm1 * (sp * epm1);
      let shift = 0;
      if (bb !== 0 || cc !== 0) {
        shift = Math.sqrt(bb * bb + cc);
        if (bb < 0) shift = -shift;
        shift = cc / (bb + shift);
      }
      let f = (sk + sp) * (sk - sp) + shift;
      let g = sk * ek;
      for (let j = k; j < pa - 1; j++) {
        let t = hypot(f, g);
        let cs = t === 0 ? 1 : f / t, sn = t === 0 ? 0 : g / t;
        if (j !== k) e[j - 1] = t;
        f = cs * s[j] + sn * e[j];
        e[j] = cs * e[j] - sn * s[j];
        g = sn * s[j + 1];
        s[j + 1] = cs * s[j + 1];
        csV[j] = cs;
        snV[j] = sn;
        t = hypot(f, g);
        cs = t === 0 ? 1 : f / t;
        sn = t === 0 ? 0 : g / t;
        s[j] = t;
        f = cs * e[j] + sn * s[j + 1];
        s[j + 1] = -sn * e[j] + cs * s[j + 1];
        g = sn * e[j + 1];
        e[j + 1] = cs * e[j + 1];
        csU[j] = cs;
        snU[j] = sn;
      }
      e[pa - 2] = f;
      rotSeqUp(vt, q, k, pa - 1, csV, snV);
      rotSeqUp(ut, p, k, pa - 1, csU, snU);
    } else {
      // converged: s[k] is a singular value; make it non-negative
      if (s[k] < 0) {
        s[k] = -s[k];
        for (let t = 0; t < q; t++) vt[k * q + t] = -vt[k * q + t];
      } else if (s[k] === 0) s[k] = 0; // −0 → 0
      pa--;
    }
  }
  return true;
}

/**
 * Right Householder update of the bidiagonalization, in the columns-as-rows storage xt (q×p):
 * rows i > k of X get X[i, k+1:] −= τ (X[i, k+1:]·u) uᵀ. With wᵢ = Σ_t u_t xt[k+1+t][i], that is
 * xt[k+1+t][i] −= τ u_t wᵢ: four column rows per pass for both the product and the update.
 */
function rightReflect(
  xt: Float64Array,
  p: number,
  k: number,
  ul: number,
  rv: Float64Array,
  uo: number,
  tau: number,
  w: Float64Array,
): void {
  const wl = p - k - 1, base = (k + 1) * p + k + 1;
  w.fill(0, 0, wl);
  let t = 0;
  for (; t + 3 < ul; t += 4) {
    const u0 = rv[uo + t], u1 = rv[uo + t + 1], u2 = rv[uo + t + 2], u3 = rv[uo + t + 3];
    const o0 = base + t * p, o1 = o0 + p, o2 = o1 + p, o3 = o2 + p;
    for (let i = 0; i < wl; i++) w[i] += u0 * xt[o0 + i] + u1 * xt[o1 + i] + u2 * xt[o2 + i] + u3 * xt[o3 + i];
  }
  for (; t < ul; t++) axpy(rv[uo + t], xt, base + t * p, w, 0, wl);
  t = 0;
  for (; t + 3 < ul; t += 4) {
    const u0 = -tau * rv[uo + t], u1 = -tau * rv[uo + t + 1];
    const u2 = -tau * rv[uo + t + 2], u3 = -tau * rv[uo + t + 3];
    const o0 = base + t * p, o1 = o0 + p, o2 = o1 + p, o3 = o2 + p;
    for (let i = 0; i < wl; i++) {
      const wi = w[i];
      xt[o0 + i] += u0 * wi;
      xt[o1 + i] += u1 * wi;
      xt[o2 + i] += u2 * wi;
      xt[o3 + i] += u3 * wi;
    }
  }
  for (; t < ul; t++) axpy(-tau * rv[uo + t], w, 0, xt, base + t * p, wl);
}

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
  const xt = new Float64Array(k * p), ut = new Float64Array(k * p), vt = new Float64Array(k * k);
  const sig = new Float64Array(k), tmp = new Float64Array(k * p);
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
    if (tall) {
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < n; c++) xt[c * m + i] = a[off + i * n + c] * scale;
      }
    } else {
      for (let t = 0; t < m * n; t++) xt[t] = a[off + t] * scale; // Aᵀ's columns = A's rows
    }
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
      const flip = uRows[c * uLen + i] < 0 ? -1 : 1;
      s[so + c] = sig[c] / scale;
      for (let t = 0; t < m; t++) u[uo + t * k + c] = flip * uRows[c * uLen + t];
      for (let t = 0; t < n; t++) vh[vo + c * n + t] = flip * vRows[c * vLen + t];
    }
  }
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
    const tau = new Float64Array(q), qt = new Float64Array(q * p);
    householderQr(xt, p, q, tau);
    formQt(xt, p, q, tau, qt);
    const core = new Float64Array(q * q), w = new Float64Array(q * q);
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
    // left vectors: ut row c = Σ_k w[c][k] · Q[:, k]
    combineRows(w, qt, q, p, ut);
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

// ---------------------------------------------------------------------------------------------
// Symmetric eigendecomposition
// ---------------------------------------------------------------------------------------------

/** Shape of a batch of n×n matrices. */
export interface SquareDims {
  /** Order of each matrix. */
  n: number;
  /** Number of matrices; inferred from the array length when omitted (required if n = 0). */
  batch?: number;
}

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

// ---------------------------------------------------------------------------------------------
// Cholesky, LU, triangular solves, determinants
// ---------------------------------------------------------------------------------------------

/** Result of {@linkcode choleskyKernel}. */
export interface CholeskyResult<T extends FloatArray = FloatArray> {
  /** L, batch × n × n, lower triangular with positive diagonal, zeros above. */
  l: T;
  /** Failing matrices (`nonFinite`, `notPositiveDefinite` with the failing column). */
  failures: KernelFailure[];
}

/**
 * Cholesky factorization A = L Lᵀ of a batch of symmetric positive-definite n×n matrices.
 * Reads only the lower triangle (and diagonal) of A. Row-oriented Cholesky–Crout: every inner
 * product runs over two contiguous rows of L. A non-positive (or NaN) pivot at column j reports
 * `notPositiveDefinite` with index j and fills that matrix's L with NaN.
 *
 * @example
 * ```ts
 * choleskyKernel(new Float64Array([4, 2, 2, 5]), { n: 2 }).l; // [2, 0, 1, 2]
 * ```
 */
export function choleskyKernel<T extends FloatArray>(a: T, dims: SquareDims): CholeskyResult<T> {
  const { n } = dims;
  checkDim("choleskyKernel", "n", n);
  const batch = batchOf("choleskyKernel", a.length, n * n, dims.batch);
  const l = like(a, batch * n * n);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n);
  for (let b = 0; b < batch; b++) {
    const off = b * n * n;
    const bad = firstNonFinite(a, off, n * n);
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      l.fill(NaN, off, off + n * n);
      continue;
    }
    w.fill(0);
    let failed = -1;
    outer: for (let i = 0; i < n; i++) {
      const io = i * n;
      for (let j = 0; j <= i; j++) {
        // s = a_ij − Σ_{k<j} l_ik l_jk
        const s = a[off + io + j] - dot(w, io, w, j * n, j);
        if (i === j) {
          if (!(s > 0)) {
            failed = i;
            break outer;
          }
          w[io + i] = Math.sqrt(s);
        } else {
          w[io + j] = s / w[j * n + j];
        }
      }
    }
    if (failed >= 0) {
      failures.push({ batch: b, kind: "notPositiveDefinite", index: failed });
      l.fill(NaN, off, off + n * n);
      continue;
    }
    for (let t = 0; t < n * n; t++) l[off + t] = w[t];
  }
  return { l, failures };
}

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

/** Shape and options of {@linkcode triangularSolveKernel}. */
export interface TriangularSolveOptions {
  /** Order of A. */
  n: number;
  /** Number of right-hand sides (columns of B). */
  k: number;
  /** A is lower triangular (only that triangle is read); otherwise upper. */
  lower: boolean;
  /** Solve Aᵀ X = B instead of A X = B. */
  transpose?: boolean;
  /** Take A's diagonal as ones (it is not read). */
  unitDiagonal?: boolean;
  /** Number of systems (B's batch); A's batch must be 1 (shared) or equal. Inferred from B. */
  batch?: number;
}

/** Result of {@linkcode triangularSolveKernel} and {@linkcode luSolveKernel}. */
export interface SolveResult<T extends FloatArray = FloatArray> {
  /** X, batch × n × k. */
  x: T;
  /** `nonFinite` (with `input`), `singular` (a zero diagonal entry of the triangular factor). */
  failures: KernelFailure[];
}

function aBatchOf(op: string, aLen: number, per: number, batch: number): number {
  const ab = batchOf(op, aLen, per);
  if (ab !== 1 && ab !== batch) {
    throw new RangeError(`${op}: A has batch ${ab} but B has batch ${batch}; broadcast A first`);
  }
  return ab;
}

/**
 * Solves op(A) X = B for a batch of n×n triangular A and n×k right-hand sides B, op(A) = A or
 * Aᵀ, by forward or back substitution over contiguous rows of X. Reads only the triangle of A named
 * by `lower` (and not the diagonal when `unitDiagonal`). A zero diagonal entry is reported as
 * `singular` (X then holds ±Infinity/NaN).
 *
 * @example
 * ```ts
 * triangularSolveKernel(new Float64Array([2, 0, 1, 4]), new Float64Array([2, 9]), { n: 2, k: 1, lower: true }).x;
 * // [1, 2]
 * ```
 */
export function triangularSolveKernel<T extends FloatArray>(
  a: T,
  b: T,
  opts: TriangularSolveOptions,
): SolveResult<T> {
  const { n, k, lower } = opts;
  const transpose = opts.transpose ?? false, unit = opts.unitDiagonal ?? false;
  const op = "triangularSolveKernel";
  checkDim(op, "n", n);
  checkDim(op, "k", k);
  const batch = batchOf(op, b.length, n * k, opts.batch);
  const aBatch = aBatchOf(op, a.length, n * n, batch);
  const x = like(b, batch * n * k);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n), xw = new Float64Array(n * k);
  for (let bi = 0; bi < batch; bi++) {
    const ao = (aBatch === 1 ? 0 : bi) * n * n, bo = bi * n * k;
    const badA = firstNonFinite(a, ao, n * n), badB = firstNonFinite(b, bo, n * k);
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
    // op(A) as a row-major f64 matrix
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        w[i * n + j] = transpose ? a[ao + j * n + i] : a[ao + i * n + j];
      }
    }
    for (let t = 0; t < n * k; t++) xw[t] = b[bo + t];
    const singular = substitute(w, xw, n, k, lower !== transpose, unit);
    if (singular >= 0) failures.push({ batch: bi, kind: "singular", index: singular });
    for (let t = 0; t < n * k; t++) x[bo + t] = xw[t];
  }
  return { x, failures };
}

/**
 * In-place substitution X ← T⁻¹X for T (n×n, row-major) lower (forward) or upper (back)
 * triangular. Returns the first zero-diagonal index or −1.
 */
function substitute(
  t: Float64Array,
  x: Float64Array,
  n: number,
  k: number,
  lower: boolean,
  unit: boolean,
): number {
  let singular = -1;
  // x_i = (b_i − Σ_j t_ij x_j) / t_ii over the already-solved rows j
  for (let s = 0; s < n; s++) {
    const i = lower ? s : n - 1 - s;
    const xo = i * k;
    const j0 = lower ? 0 : i + 1, j1 = lower ? i : n;
    for (let j = j0; j < j1; j++) {
      const tij = t[i * n + j];
      if (tij !== 0) axpy(-tij, x, j * k, x, xo, k);
    }
    if (!unit) {
      const d = t[i * n + i];
      if (d === 0 && singular < 0) singular = i;
      for (let c = 0; c < k; c++) x[xo + c] /= d;
    }
  }
  return singular;
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
