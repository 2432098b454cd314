/**
 * Shared pieces of the CPU linear-algebra kernels (`kernels.ts` lists them): the failure report
 * types, batch and shape checks, and the small float64 vector helpers (dot, axpy, one plane
 * rotation, norms, row permutations, triangular substitution, a blocked transpose) every
 * factorization is written with. Householder reflectors are in `reflectors.ts`, sequences and logs
 * of plane rotations in `rotation_log.ts`. All work buffers are Float64Array, so V8 keeps these
 * helpers monomorphic.
 * @module
 */
import { takeArray } from "../backend/cpu/pool.ts";

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

/** Shape of a batch of m×n matrices. */
export interface MatrixDims {
  /** Rows of each matrix. */
  m: number;
  /** Columns of each matrix. */
  n: number;
  /** Number of matrices; inferred from the array length when omitted (required if m·n = 0). */
  batch?: number;
}

/** Shape of a batch of n×n matrices. */
export interface SquareDims {
  /** Order of each matrix. */
  n: number;
  /** Number of matrices; inferred from the array length when omitted (required if n = 0). */
  batch?: number;
}

/** Machine epsilon of float64 (2⁻⁵²). */
export const EPS = 2 ** -52;

/** Smallest magnitude the iterative kernels treat as non-negligible on their own. */
export const TINY = 2 ** -966;

/**
 * A zeroed array of `len` elements of `a`'s type (the precision results are returned in), from the
 * CPU backend's array pool: a result released by `scope` is recycled, and a recycled array costs no
 * page faults (a fresh 2 MB array costs about 5 ms of them on a small VM).
 */
export function like<T extends FloatArray>(a: T, len: number): T {
  return takeArray(a instanceof Float32Array ? "float32" : "float64", len, true) as T;
}

/** Throws a RangeError naming `op` unless `v` is a non-negative integer. */
export function checkDim(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/** Number of matrices of `per` entries in an array of `len` entries (or the given batch, checked). */
export function batchOf(op: string, len: number, per: number, batch?: number): number {
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

/** Batch of A (of `per` entries) for `batch` right-hand sides: 1 (shared) or `batch`, else a RangeError. */
export function aBatchOf(op: string, aLen: number, per: number, batch: number): number {
  const ab = batchOf(op, aLen, per);
  if (ab !== 1 && ab !== batch) {
    throw new RangeError(`${op}: A has batch ${ab} but B has batch ${batch}; broadcast A first`);
  }
  return ab;
}

/** Flat index of the first non-finite entry of a[off, off+len), or −1. */
export function firstNonFinite(a: FloatArray, off: number, len: number): number {
  for (let i = 0; i < len; i++) {
    const v = a[off + i];
    if (v - v !== 0) return i; // NaN or ±Infinity
  }
  return -1;
}

/** max |a[i]| over a[off, off+len). */
export function maxAbs(a: FloatArray, off: number, len: number): number {
  let mx = 0;
  for (let i = 0; i < len; i++) {
    const v = Math.abs(a[off + i]);
    if (v > mx) mx = v;
  }
  return mx;
}

/** A power of two s with s·x in [1, 2): scaling by it is exact and keeps squares in range. */
export function pow2Scale(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return 1;
  let e = Math.floor(Math.log2(x));
  if (e > 1000) e = 1000;
  if (e < -1000) e = -1000;
  return Math.pow(2, -e);
}

/** √(a² + b²) without overflow or harmful underflow. */
export function hypot(a: number, b: number): number {
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

/** Σ x[xo+i]·y[yo+i] over `len` entries. */
export function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
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
export function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): void {
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
export function rot(b: Float64Array, xo: number, yo: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = b[xo + i], y = b[yo + i];
    b[xo + i] = c * x + s * y;
    b[yo + i] = c * y - s * x;
  }
}

/** ‖x[off, off+len)‖₂, scaled so that it neither overflows nor underflows. */
export function norm2(x: Float64Array, off: number, len: number): number {
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

/** Stable order of indices sorting `vals` descending (ascending when `asc`). */
export function sortOrder(vals: Float64Array, count: number, asc: boolean): Int32Array {
  const idx = Array.from({ length: count }, (_, i) => i);
  idx.sort((i, j) => (asc ? vals[i] - vals[j] : vals[j] - vals[i]) || i - j);
  return Int32Array.from(idx);
}

/** Reorders the rows of buf (count rows of len) and vals by `order` (row i ← old row order[i]). */
export function permuteRows(buf: Float64Array, len: number, order: Int32Array, tmp: Float64Array): void {
  const count = order.length;
  tmp.set(buf.subarray(0, count * len));
  for (let i = 0; i < count; i++) {
    buf.set(tmp.subarray(order[i] * len, order[i] * len + len), i * len);
  }
}

/** Reorders vals by `order` (vals[i] ← old vals[order[i]]). */
export function permuteVals(vals: Float64Array, order: Int32Array): void {
  const old = vals.slice(0, order.length);
  for (let i = 0; i < order.length; i++) vals[i] = old[order[i]];
}

/** Index of the entry of largest magnitude in buf[off, off+len) (first on ties). */
export function argMaxAbs(buf: Float64Array, off: number, len: number): number {
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
export function completeOrthonormal(z: Float64Array, r: number, len: number, valid: Uint8Array): void {
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

/**
 * In-place substitution X ← T⁻¹X for T (n×n, row-major) lower (forward) or upper (back)
 * triangular. Returns the first zero-diagonal index or −1.
 */
export function substitute(
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

/**
 * `dst[dof + c·rows + i] = src[so + i·cols + c] · scale` for an i < rows, c < cols row-major block:
 * a transpose through tiles of 8 lines of the longer side by 128 of the shorter one, walked along
 * the shorter one, so neither side's cache lines alias (a plain double loop, or square 32×32 tiles,
 * stride by a power of two through one side: 1.6 ms for 4096 × 64 float64 against 0.25).
 */
export function transposeScaled(
  src: FloatArray,
  so: number,
  rows: number,
  cols: number,
  dst: FloatArray,
  dof: number,
  scale: number,
): void {
  if (rows >= cols) {
    // 8 source columns × 128 rows, each destination row written contiguously
    for (let c0 = 0; c0 < cols; c0 += 8) {
      const c1 = Math.min(cols, c0 + 8);
      for (let i0 = 0; i0 < rows; i0 += 128) {
        const i1 = Math.min(rows, i0 + 128);
        for (let c = c0; c < c1; c++) {
          const d = dof + c * rows;
          for (let i = i0; i < i1; i++) dst[d + i] = src[so + i * cols + c] * scale;
        }
      }
    }
    return;
  }
  // 8 source rows × 128 columns, each source row read contiguously
  for (let i0 = 0; i0 < rows; i0 += 8) {
    const i1 = Math.min(rows, i0 + 8);
    for (let c0 = 0; c0 < cols; c0 += 128) {
      const c1 = Math.min(cols, c0 + 128);
      for (let i = i0; i < i1; i++) {
        const s = so + i * cols;
        for (let c = c0; c < c1; c++) dst[dof + c * rows + i] = src[s + c] * scale;
      }
    }
  }
}
