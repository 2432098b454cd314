/**
 * Shared pieces of the CPU linear-algebra kernels (`kernels.ts` lists them): the failure report
 * types, batch and shape checks, and the small float64 vector helpers (dot, axpy, plane rotations,
 * Householder reflectors) every factorization is written with. All work buffers are Float64Array,
 * so V8 keeps these helpers monomorphic.
 * @module
 */
import { takeArray } from "../backend/cpu/pool.ts";
import { wasmRotateRows } from "../backend/cpu/wasm/rotations.ts";
import { wasmReflectRows } from "../backend/cpu/wasm/reflect.ts";
import { heapArray, heapRelease } from "../backend/cpu/wasm/heap.ts";

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
 * Applies the plane rotations j = j0 … j1−1, in that order, to the rows (j, j+1) of buf (rows of
 * length len): rowⱼ ← cⱼ rowⱼ + sⱼ rowⱼ₊₁, rowⱼ₊₁ ← cⱼ rowⱼ₊₁ − sⱼ rowⱼ. Four rotations share one
 * pass over five rows, so each element is loaded and stored once per four rotations.
 */
export function rotSeqUp(
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
export function rotSeqDown(
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

/** A log buffer: in the Wasm memory where possible (the rotation kernels read it in place). */
function logArray(d: "int32" | "float64", n: number): Int32Array | Float64Array {
  return (heapArray(d, n, false) as Int32Array | Float64Array | null) ??
    (d === "int32" ? new Int32Array(n) : new Float64Array(n));
}

/**
 * Plane rotations of a QR iteration recorded in order, to be applied to the vector rows at the end
 * (`apply`): the iteration on the bidiagonal or tridiagonal never reads the vectors, so they can
 * wait, and then go through the Wasm kernels column chunk by column chunk on all threads
 * (`wasmRotateRows`), the same arithmetic as `rot`, bit for bit.
 */
export class RotationLog {
  /** Records `[kind, a, b, ci]`: kind 0 a chain of rotations j = a …< b of rows (j, j+1), kind 1 one of rows (a, b). */
  ops: Int32Array = logArray("int32", 256) as Int32Array;
  /** Number of records. */
  nops = 0;
  /** (c, s) pairs, in the order the records use them. */
  cs: Float64Array = logArray("float64", 1024) as Float64Array;
  /** Entries of `cs` in use. */
  ncs = 0;
  /** Rotations recorded. */
  rotations = 0;

  private push(kind: number, a: number, b: number, pairs: number): number {
    if ((this.nops + 1) * 4 > this.ops.length) {
      const o = logArray("int32", this.ops.length * 2) as Int32Array;
      o.set(this.ops);
      heapRelease(this.ops);
      this.ops = o;
    }
    if (this.ncs + 2 * pairs > this.cs.length) {
      const c = logArray("float64", Math.max(this.cs.length * 2, this.ncs + 2 * pairs)) as Float64Array;
      c.set(this.cs);
      heapRelease(this.cs);
      this.cs = c;
    }
    const o = 4 * this.nops++;
    this.ops[o] = kind;
    this.ops[o + 1] = a;
    this.ops[o + 2] = b;
    this.ops[o + 3] = this.ncs;
    this.rotations += pairs;
    return this.ncs;
  }

  /** Forgets the recorded rotations. */
  clear(): void {
    this.nops = this.ncs = this.rotations = 0;
  }

  /** Rotations j = a …< b of rows (j, j+1) with (c, s) = (cs[j], sn[j]), as `rotSeqUp` applies them. */
  chain(a: number, b: number, cs: Float64Array, sn: Float64Array): void {
    if (b <= a) return;
    let at = this.push(0, a, b, b - a);
    for (let j = a; j < b; j++) {
      this.cs[at++] = cs[j];
      this.cs[at++] = sn[j];
    }
    this.ncs = at;
  }

  /** One rotation of rows (a, b), as `rot(buf, a·len, b·len, len, c, s)` (a = b: the row times c − s). */
  one(a: number, b: number, c: number, s: number): void {
    const at = this.push(1, a, b, 1);
    this.cs[at] = c;
    this.cs[at + 1] = s;
    this.ncs = at + 2;
  }

  /** Applies the recorded rotations to `count` rows of `len` in `rows`, then forgets them. */
  apply(rows: Float64Array, len: number, count: number): void {
    if (
      this.nops > 0 &&
      !wasmRotateRows(rows, len, count, this.ops, this.nops, this.cs, this.ncs, this.rotations)
    ) {
      for (let t = 0; t < this.nops; t++) {
        const [kind, a, b, ci] = this.ops.subarray(4 * t, 4 * t + 4);
        if (kind === 0) {
          for (let j = a; j < b; j++) {
            const k = ci + 2 * (j - a);
            rot(rows, j * len, (j + 1) * len, len, this.cs[k], this.cs[k + 1]);
          }
        } else if (a === b) {
          const f = this.cs[ci] - this.cs[ci + 1];
          for (let i = 0; i < len; i++) rows[a * len + i] *= f;
        } else rot(rows, a * len, b * len, len, this.cs[ci], this.cs[ci + 1]);
      }
    }
    this.clear();
  }
}
