/**
 * Float64 references in plain JavaScript for the op table (reliability_table.ts) and the API property
 * test: host tensors, NumPy broadcasting, elementwise maps, reductions with NaN propagation, shape
 * ops, and small dense linear algebra (Gauss–Jordan inverse, LU determinant, Cholesky, closed-form
 * eigenvalues of 2×2 and 3×3 symmetric matrices).
 */
import type { DType } from "../mod.ts";

/** A tensor on the host: shape, elements in row-major order, dtype. */
export interface Host {
  shape: number[];
  data: number[];
  dtype: DType;
}

/** A host tensor. */
export function h(shape: number[], data: number[], dtype: DType = "float64"): Host {
  return { shape, data, dtype };
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    c[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return c;
}

export function broadcastShape(...shapes: number[][]): number[] | null {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - n + i] ?? 1;
      if (e !== 1 && d !== 1 && e !== d) return null;
      if (e !== 1) d = e;
    }
    out.push(d);
  }
  return out;
}

/** The element of `x` at output coordinate `c` under broadcasting. */
export function at(x: Host, c: readonly number[]): number {
  const off = c.length - x.shape.length, st = stridesOf(x.shape);
  let k = 0;
  for (let a = 0; a < x.shape.length; a++) k += (x.shape[a] === 1 ? 0 : c[a + off]) * st[a];
  return x.data[k];
}

/** Elementwise reference with broadcasting. */
export function ew(f: (...v: number[]) => number, dtype?: DType): (...xs: Host[]) => Host {
  return (...xs) => {
    const shape = broadcastShape(...xs.map((x) => x.shape));
    if (!shape) throw new Error("reference: shapes do not broadcast");
    const n = size(shape);
    const data = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const c = unravel(i, shape);
      data[i] = f(...xs.map((x) => at(x, c)));
    }
    return h(shape, data, dtype ?? xs[xs.length - 1].dtype);
  };
}

/** Reduction reference over `axes` (all when undefined). */
export function reduceRef(
  x: Host,
  f: (vals: number[]) => number,
  axis?: number | number[],
  keepdims = false,
  dtype?: DType,
): Host {
  const nd = x.shape.length;
  const axes = axis === undefined ? [...Array(nd).keys()] : [axis].flat().map((a) => (a < 0 ? a + nd : a));
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const ost = stridesOf(outShape);
  for (let i = 0; i < x.data.length; i++) {
    const c = unravel(i, x.shape);
    let k = 0;
    for (let a = 0; a < nd; a++) k += (axes.includes(a) ? 0 : c[a]) * ost[a];
    let g = groups.get(k);
    if (!g) groups.set(k, g = []);
    g.push(x.data[i]);
  }
  const n = size(outShape);
  const data = Array.from({ length: n }, (_, k) => f(groups.get(k) ?? []));
  return h(keepdims ? outShape : x.shape.filter((_, i) => !axes.includes(i)), data, dtype ?? x.dtype);
}

export const nanMax = (v: number[]) =>
  v.reduce((a, b) => (Number.isNaN(a) ? a : b > a || Number.isNaN(b) ? b : a), -Infinity);
export const nanMin = (v: number[]) =>
  v.reduce((a, b) => (Number.isNaN(a) ? a : b < a || Number.isNaN(b) ? b : a), Infinity);
/** NaN-propagating maximum / minimum of two numbers (NumPy's `maximum`, `minimum`). */
export const max2 = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
export const min2 = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

/** erf to ~1e-15 by Simpson's rule on 2/√π e^{−t²} (independent of the library's own). */
export function erfRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) > 6) return Math.sign(x);
  const n = 2000, hh = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * hh) ** 2));
  return (s * hh) / 3 * (2 / Math.sqrt(Math.PI));
}

// ---------------------------------------------------------------------------------------------
// Shape and linear-algebra references

export function transposeRef(x: Host, perm: number[]): Host {
  const shape = perm.map((p) => x.shape[p]);
  const st = stridesOf(x.shape);
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    return x.data[c.reduce((k, ci, a) => k + ci * st[perm[a]], 0)];
  });
  return h(shape, data, x.dtype);
}

export function sliceRef(x: Host, ranges: ([number, number] | null)[]): Host {
  const r = x.shape.map((d, i) => ranges[i] ?? [0, d]);
  const shape = r.map(([a, b]) => b - a);
  const st = stridesOf(x.shape);
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    return x.data[c.reduce((k, ci, a) => k + (ci + r[a][0]) * st[a], 0)];
  });
  return h(shape, data, x.dtype);
}

export function takeRef(x: Host, idx: number[], axis: number): Host {
  const D = x.shape[axis];
  const shape = [...x.shape.slice(0, axis), idx.length, ...x.shape.slice(axis + 1)];
  const st = stridesOf(x.shape);
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    const j = idx[c[axis]] < 0 ? idx[c[axis]] + D : idx[c[axis]];
    c[axis] = j;
    return x.data[c.reduce((k, ci, a) => k + ci * st[a], 0)];
  });
  return h(shape, data, x.dtype);
}

export function matmulRef(a: Host, b: Host): Host {
  const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))!;
  const shape = [...batch, m, n];
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    const bc = c.slice(0, -2), r = c[c.length - 2], col = c[c.length - 1];
    // float32 sums in float32, in order of k, one rounding per multiply-add (as the kernels do: a
    // float64 sum would stay finite where theirs overflows, and give ∞ where theirs gives NaN)
    const f32 = a.dtype === "float32";
    let s = 0;
    for (let q = 0; q < k; q++) {
      s += at(a, [...bc, r, q]) * at(b, [...bc, q, col]);
      if (f32) s = Math.fround(s);
    }
    return s;
  });
  return h(shape, data, a.dtype);
}

/** Gauss–Jordan inverse of one n×n matrix (row-major), float64. */
export function invRef(a: number[], n: number): number[] {
  const m = a.slice(), inv = Array.from({ length: n * n }, (_, i): number => (i % (n + 1) === 0 ? 1 : 0));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    for (let j = 0; j < n; j++) {
      [m[c * n + j], m[p * n + j]] = [m[p * n + j], m[c * n + j]];
      [inv[c * n + j], inv[p * n + j]] = [inv[p * n + j], inv[c * n + j]];
    }
    const d = m[c * n + c];
    for (let j = 0; j < n; j++) {
      m[c * n + j] /= d;
      inv[c * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c];
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}

export function detRef(a: number[], n: number): number {
  const m = a.slice();
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (m[p * n + c] === 0) return 0;
    if (p !== c) {
      det = -det;
      for (let j = 0; j < n; j++) [m[c * n + j], m[p * n + j]] = [m[p * n + j], m[c * n + j]];
    }
    det *= m[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let j = c; j < n; j++) m[r * n + j] -= f * m[c * n + j];
    }
  }
  return det;
}

/** Applies `f` to each n×n matrix of a batch. */
export function perMatrix(
  x: Host,
  f: (m: number[], n: number) => number[],
  outShape: (batch: number[], n: number) => number[],
): Host {
  const n = x.shape[x.shape.length - 1], batch = x.shape.slice(0, -2);
  const data: number[] = [];
  for (let b = 0; b < size(batch); b++) data.push(...f(x.data.slice(b * n * n, (b + 1) * n * n), n));
  return h(outShape(batch, n), data, x.dtype);
}

/** Eigenvalues of a symmetric 2×2 or 3×3 matrix in float64, ascending (closed forms). */
export function eigvalsRef(m: number[], n: number): number[] {
  if (n === 0) return [];
  if (n === 1) return [m[0]];
  if (n === 2) {
    const tr = m[0] + m[3], disc = Math.sqrt((m[0] - m[3]) ** 2 + 4 * m[1] * m[2]);
    return [(tr - disc) / 2, (tr + disc) / 2];
  }
  // trigonometric solution of the characteristic cubic (Smith 1961)
  const q = (m[0] + m[4] + m[8]) / 3;
  const p1 = m[1] ** 2 + m[2] ** 2 + m[5] ** 2;
  const p2 = (m[0] - q) ** 2 + (m[4] - q) ** 2 + (m[8] - q) ** 2 + 2 * p1;
  const p = Math.sqrt(p2 / 6);
  const b = m.map((v, i) => (v - (i % 4 === 0 ? q : 0)) / p);
  const r =
    (b[0] * (b[4] * b[8] - b[5] * b[7]) - b[1] * (b[3] * b[8] - b[5] * b[6]) + b[2] * (b[3] * b[7] - b[4] * b[6])) / 2;
  const phi = Math.acos(Math.max(-1, Math.min(1, r))) / 3;
  const e1 = q + 2 * p * Math.cos(phi), e3 = q + 2 * p * Math.cos(phi + (2 * Math.PI) / 3);
  return [e1, 3 * q - e1 - e3, e3].sort((a, b) => a - b);
}

export function choleskyRef(m: number[], n: number): number[] {
  const l = new Array<number>(n * n).fill(0);
  for (let j = 0; j < n; j++) {
    let s = m[j * n + j];
    for (let k = 0; k < j; k++) s -= l[j * n + k] ** 2;
    l[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = m[i * n + j];
      for (let k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = t / l[j * n + j];
    }
  }
  return l;
}
