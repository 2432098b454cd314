/**
 * The op table behind `reliability_ops_test.ts` and `reliability_api_property_test.ts`: each public
 * op with its sample inputs and a float64 reference in plain JavaScript (NumPy's semantics: NaN
 * propagates through comparisons-based ops and reductions, broadcasting, negative indices).
 */
import * as T from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";

/** A tensor on the host: shape, elements in row-major order, dtype. */
export interface Host {
  shape: number[];
  data: number[];
  dtype: DType;
}

/** One op of the table. */
export interface OpInfo {
  name: string;
  /** The dtypes its samples run in. */
  dtypes: DType[];
  /** Sample argument lists for a dtype: Host values become tensors, the rest pass through. */
  samples: (dtype: DType) => unknown[][];
  /** The op under test. */
  // deno-lint-ignore no-explicit-any
  op: (...args: any[]) => Tensor | Tensor[];
  /** The float64 reference on the same (dtype-rounded) inputs. */
  // deno-lint-ignore no-explicit-any
  ref: (...args: any[]) => Host | Host[];
  /** Tolerance per dtype, relative to max(1, |reference|), when the default does not fit. */
  tol?: Partial<Record<DType, number>>;
  /** Runs on the CPU only (float64-only or CPU-only functions). */
  cpuOnly?: boolean;
}

/** A host tensor. */
export function h(shape: number[], data: number[], dtype: DType = "float64"): Host {
  return { shape, data, dtype };
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
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
function at(x: Host, c: readonly number[]): number {
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

const nanMax = (v: number[]) => v.reduce((a, b) => (Number.isNaN(a) ? a : b > a || Number.isNaN(b) ? b : a), -Infinity);
const nanMin = (v: number[]) => v.reduce((a, b) => (Number.isNaN(a) ? a : b < a || Number.isNaN(b) ? b : a), Infinity);
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
// Sample inputs

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5];
const EXTREME32 = [1e30, -1e30, 1e-30, -1e-30, 3e38, -3e38];
const EXTREME64 = [1e300, -1e300, 1e-300, -1e-300, 1.7e308, -1.7e308];

/** Float samples: 0-d, zero-size, special values, extreme magnitudes, ordinary values. */
function floatSamples(d: DType, opts: { extremes?: boolean; lo?: number; hi?: number } = {}): Host[] {
  const lo = opts.lo ?? -3, hi = opts.hi ?? 3;
  const spread = (n: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * (i + 0.37)) / n);
  const out = [h([], [spread(1)[0]], d), h([0, 3], [], d), h([8], SPECIAL, d), h([2, 3], spread(6), d)];
  if (opts.extremes !== false) out.push(h([6], d === "float64" ? EXTREME64 : EXTREME32, d));
  return out;
}

function intSamples(d: DType): Host[] {
  if (d === "bool") return [h([], [1], d), h([0, 2], [], d), h([2, 3], [1, 0, 0, 1, 1, 0], d)];
  return [h([], [-4], d), h([0, 2], [], d), h([2, 3], [-7, 0, 3, 100000, -5, 1], d)];
}

function samplesFor(d: DType, opts?: { extremes?: boolean; lo?: number; hi?: number }): Host[] {
  return d === "float32" || d === "float64" ? floatSamples(d, opts) : intSamples(d);
}

const FLOATS: DType[] = ["float64", "float32"];
const NUMERIC: DType[] = ["float64", "float32", "int32"];

/** A unary elementwise op applied to float inputs (integers are computed in float32). */
function unaryOp(
  name: string,
  op: (x: Tensor) => Tensor,
  f: (v: number) => number,
  opts: { dtypes?: DType[]; extremes?: boolean; lo?: number; hi?: number; keepInt?: boolean; tol?: number } = {},
): OpInfo {
  return {
    name,
    dtypes: opts.dtypes ?? FLOATS,
    samples: (d) => samplesFor(d, opts).map((x) => [x]),
    op,
    ref: (x: Host) => ew(f, opts.keepInt || x.dtype === "float64" || x.dtype === "float32" ? x.dtype : "float32")(x),
    tol: opts.tol ? { float32: opts.tol } : undefined,
  };
}

/** Pairs for binary ops: broadcasting, 0-d, zero-size, NaN/±∞ against ordinary values. */
function binarySamples(d: DType): [Host, Host][] {
  if (d === "bool") return [[h([2, 2], [1, 0, 1, 0], d), h([2], [1, 0], d)]];
  if (d === "int32") {
    return [
      [h([2, 3], [-7, 0, 3, 9, -5, 1], d), h([3], [2, -3, 5], d)],
      [h([], [4], d), h([0, 3], [], d)],
    ];
  }
  return [
    [h([2, 3], [-2.5, -1, 0, 0.75, 1.5, 3], d), h([3], [0.5, -2, 1.25], d)],
    [h([], [1.5], d), h([0, 3], [], d)],
    [h([8], SPECIAL, d), h([8], [1, NaN, 2, -Infinity, Infinity, NaN, 0, -0.5], d)],
    [h([2, 1], [NaN, 2], d), h([1, 3], [1, NaN, Infinity], d)],
  ];
}

function binaryOp(
  name: string,
  op: (a: Tensor, b: Tensor) => Tensor,
  f: (a: number, b: number) => number,
  opts: { dtypes?: DType[]; out?: DType; tol?: number; intTo?: DType } = {},
): OpInfo {
  return {
    name,
    dtypes: opts.dtypes ?? NUMERIC,
    samples: (d) => binarySamples(d),
    op,
    ref: (a: Host, b: Host) => {
      const isF = a.dtype === "float32" || a.dtype === "float64";
      return ew(f, opts.out ?? (isF ? a.dtype : opts.intTo ?? a.dtype))(a, b);
    },
    tol: opts.tol ? { float32: opts.tol } : undefined,
  };
}

const cmp = (f: (a: number, b: number) => boolean) => (a: number, b: number) => (f(a, b) ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// Shape and linear-algebra references

function transposeRef(x: Host, perm: number[]): Host {
  const shape = perm.map((p) => x.shape[p]);
  const st = stridesOf(x.shape);
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    return x.data[c.reduce((k, ci, a) => k + ci * st[perm[a]], 0)];
  });
  return h(shape, data, x.dtype);
}

function sliceRef(x: Host, ranges: ([number, number] | null)[]): Host {
  const r = x.shape.map((d, i) => ranges[i] ?? [0, d]);
  const shape = r.map(([a, b]) => b - a);
  const st = stridesOf(x.shape);
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    return x.data[c.reduce((k, ci, a) => k + (ci + r[a][0]) * st[a], 0)];
  });
  return h(shape, data, x.dtype);
}

function takeRef(x: Host, idx: number[], axis: number): Host {
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

function matmulRef(a: Host, b: Host): Host {
  const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))!;
  const shape = [...batch, m, n];
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const c = unravel(i, shape);
    const bc = c.slice(0, -2), r = c[c.length - 2], col = c[c.length - 1];
    let s = 0;
    for (let q = 0; q < k; q++) s += at(a, [...bc, r, q]) * at(b, [...bc, q, col]);
    return s;
  });
  return h(shape, data, a.dtype);
}

/** Gauss–Jordan inverse of one n×n matrix (row-major), float64. */
function invRef(a: number[], n: number): number[] {
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

function detRef(a: number[], n: number): number {
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
function perMatrix(
  x: Host,
  f: (m: number[], n: number) => number[],
  outShape: (batch: number[], n: number) => number[],
): Host {
  const n = x.shape[x.shape.length - 1], batch = x.shape.slice(0, -2);
  const data: number[] = [];
  for (let b = 0; b < size(batch); b++) data.push(...f(x.data.slice(b * n * n, (b + 1) * n * n), n));
  return h(outShape(batch, n), data, x.dtype);
}

/** Symmetric matrices with known spectra: 2×2, 3×3 diagonal-plus, a batch, 0×0. */
function spdSamples(d: DType): Host[] {
  return [
    h([2, 2], [4, 1, 1, 3], d),
    h([3, 3], [6, 2, 1, 2, 5, 2, 1, 2, 4], d),
    h([2, 2, 2], [2, 0, 0, 3, 5, 2, 2, 5], d),
    h([0, 0], [], d),
  ];
}

/** Eigenvalues of a symmetric 2×2 or 3×3 matrix in float64, ascending (closed forms). */
function eigvalsRef(m: number[], n: number): number[] {
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

function choleskyRef(m: number[], n: number): number[] {
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

// ---------------------------------------------------------------------------------------------
// The table

export const OPS: OpInfo[] = [
  unaryOp("neg", T.neg, (v) => -v, { dtypes: NUMERIC, keepInt: true }),
  unaryOp("abs", T.abs, Math.abs, { dtypes: NUMERIC, keepInt: true }),
  unaryOp("sign", T.sign, (v) => (Number.isNaN(v) ? NaN : Math.sign(v)), { dtypes: NUMERIC, keepInt: true }),
  unaryOp("exp", T.exp, Math.exp, { tol: 4e-6 }),
  unaryOp("log", T.log, Math.log, { tol: 4e-6 }),
  unaryOp("sqrt", T.sqrt, Math.sqrt),
  unaryOp("tanh", T.tanh, Math.tanh, { tol: 4e-6 }),
  unaryOp("sin", T.sin, Math.sin, { extremes: false, lo: -40, hi: 40, tol: 4e-6 }),
  unaryOp("cos", T.cos, Math.cos, { extremes: false, lo: -40, hi: 40, tol: 4e-6 }),
  unaryOp("erf", T.erf, erfRef, { tol: 4e-6 }),
  unaryOp("floor", T.floor, Math.floor),
  unaryOp("square", T.square, (v) => v * v, { dtypes: NUMERIC, keepInt: true }),
  unaryOp("reciprocal", T.reciprocal, (v) => 1 / v),
  unaryOp("sigmoid", T.sigmoid, (v) => 1 / (1 + Math.exp(-v)), { tol: 4e-6 }),
  unaryOp("relu", T.relu, (v) => (Number.isNaN(v) ? NaN : v > 0 ? v : 0), { dtypes: NUMERIC, keepInt: true }),
  // x/2 · (1 + erf(x/√2)); at −∞ that is −∞ · 0 = NaN, as PyTorch gives
  unaryOp(
    "gelu",
    (x) => T.gelu(x),
    (v) => (v === -Infinity ? NaN : v === Infinity ? v : (v / 2) * (1 + erfRef(v / Math.SQRT2))),
    {
      extremes: false,
      tol: 4e-6,
    },
  ),
  {
    name: "clip",
    dtypes: NUMERIC,
    samples: (d) => samplesFor(d).map((x) => [x, -1, 2]),
    op: (x: Tensor, lo: number, hi: number) => T.clip(x, lo, hi),
    ref: (x: Host, lo: number, hi: number) => ew((v) => min2(max2(v, lo), hi), x.dtype)(x),
  },
  binaryOp("add", T.add, (a, b) => a + b),
  binaryOp("sub", T.sub, (a, b) => a - b),
  binaryOp("mul", T.mul, (a, b) => a * b),
  binaryOp("div", T.div, (a, b) => a / b, { intTo: "float32" }),
  binaryOp("pow", T.pow, Math.pow, { dtypes: FLOATS, tol: 8e-6 }),
  binaryOp("maximum", T.maximum, max2),
  binaryOp("minimum", T.minimum, min2),
  binaryOp("equal", T.equal, cmp((a, b) => a === b), { out: "bool", dtypes: [...NUMERIC, "bool"] }),
  binaryOp("notEqual", T.notEqual, cmp((a, b) => a !== b), { out: "bool" }),
  binaryOp("less", T.less, cmp((a, b) => a < b), { out: "bool" }),
  binaryOp("lessEqual", T.lessEqual, cmp((a, b) => a <= b), { out: "bool" }),
  binaryOp("greater", T.greater, cmp((a, b) => a > b), { out: "bool" }),
  binaryOp("greaterEqual", T.greaterEqual, cmp((a, b) => a >= b), { out: "bool" }),
  {
    name: "where",
    dtypes: NUMERIC,
    samples: (d) =>
      binarySamples(d).map(([a, b]) => {
        const n = broadcastShape(a.shape, b.shape)!;
        const last = n[n.length - 1] ?? 1;
        return [h([last], Array.from({ length: last }, (_, i) => i % 2), "bool"), a, b];
      }),
    op: T.where,
    ref: (c: Host, a: Host, b: Host) => ew((cv, av, bv) => (cv ? av : bv), a.dtype)(c, a, b),
  },
  {
    name: "logicalAnd / logicalNot",
    dtypes: ["bool"],
    samples: () => [[h([4], [1, 1, 0, 0], "bool"), h([4], [1, 0, 1, 0], "bool")]],
    op: (a: Tensor, b: Tensor) => [T.logicalAnd(a, b), T.logicalNot(a)],
    ref: (a: Host, b: Host) => [ew((x, y) => (x && y ? 1 : 0), "bool")(a, b), ew((x) => (x ? 0 : 1), "bool")(a)],
  },
  {
    name: "astype",
    dtypes: NUMERIC,
    // NaN and ±∞ to int32 are undefined (README, "Errors and guarantees"); finite values in range truncate
    samples: (d) => [[h([5], d === "int32" ? [-2, 0, 1, 7, -9] : [-2.75, -0.5, 0, 1.5, 7], d)], [h([0], [], d)]],
    op: (x: Tensor) => [T.astype(x, "float32"), T.astype(x, "int32"), T.astype(x, "bool")],
    ref: (
      x: Host,
    ) => [ew((v) => v, "float32")(x), ew((v) => Math.trunc(v), "int32")(x), ew((v) => (v !== 0 ? 1 : 0), "bool")(x)],
  },
  // reductions
  ...(["sum", "prod", "max", "min"] as const).map((name): OpInfo => {
    const f = {
      sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
      prod: (v: number[]) => v.reduce((a, b) => a * b, 1),
      max: nanMax,
      min: nanMin,
    }[name];
    return {
      name,
      dtypes: NUMERIC,
      samples: (d) => {
        const xs = samplesFor(d).filter((x) => (name === "sum" || name === "prod") || size(x.shape) > 0);
        const out: unknown[][] = xs.map((x) => [x, {}]);
        out.push([
          h([2, 3], [1, NaN, 3, 4, 5, -Infinity].map((v) => (d === "int32" ? (Number.isFinite(v) ? v : 0) : v)), d),
          { axis: -1 },
        ]);
        out.push([h([2, 3], [1, 2, 3, 4, 5, 6], d), { axis: 0, keepdims: true }]);
        if (name === "sum" || name === "prod") out.push([h([0, 3], [], d), { axis: 0 }]);
        return out;
      },
      op: (x: Tensor, o: T.ReduceOptions) => T[name](x, o),
      ref: (x: Host, o: T.ReduceOptions) => reduceRef(x, f, o.axis as number, o.keepdims),
    };
  }),
  {
    name: "mean / variance",
    dtypes: FLOATS,
    samples: (
      d,
    ) => [...floatSamples(d).filter((x) => size(x.shape) > 0).map((x) => [x]), [h([2, 3], [1, NaN, 3, 4, 5, 6], d)]],
    op: (x: Tensor) => [T.mean(x), T.variance(x)],
    ref: (x: Host) => {
      const m = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      return [reduceRef(x, m), reduceRef(x, (v) => m(v.map((e) => (e - m(v)) ** 2)))];
    },
    tol: { float32: 1e-5 },
  },
  {
    name: "logsumexp / softmax / logSoftmax",
    dtypes: FLOATS,
    samples: (d) => [
      [h([2, 3], [-1, 0, 2.5, 100, 101, 99], d)],
      [h([5, 2], [-Infinity, -Infinity, Infinity, 0, -Infinity, 0, NaN, 1, -1e30, 3], d)],
      [h([1], [4], d)],
    ],
    op: (x: Tensor) => [T.logsumexp(x, { axis: -1 }), T.softmax(x), T.logSoftmax(x)],
    ref: (x: Host) => {
      const lse = (v: number[]) => {
        const m = nanMax(v);
        if (Number.isNaN(m)) return NaN;
        if (!Number.isFinite(m)) return v.includes(Infinity) ? Infinity : -Infinity;
        return m + Math.log(v.reduce((s, e) => s + Math.exp(e - m), 0));
      };
      const rows = x.shape[x.shape.length - 1];
      const l = reduceRef(x, lse, -1);
      const ls = h(x.shape, x.data.map((v, i) => v - l.data[Math.floor(i / rows)]), x.dtype);
      // softmax = e / Σe with e = exp(x − max) (shifted by 0 when the max is not finite)
      const sm = x.data.map((v, i) => {
        const row = x.data.slice(Math.floor(i / rows) * rows, Math.floor(i / rows) * rows + rows);
        const m = nanMax(row), s = Number.isFinite(m) ? m : 0;
        return Math.exp(v - s) / row.reduce((a, e) => a + Math.exp(e - s), 0);
      });
      return [l, h(x.shape, sm, x.dtype), ls];
    },
    tol: { float32: 1e-5 },
  },
  {
    name: "norm",
    dtypes: FLOATS,
    samples: (d) => [
      ...floatSamples(d, { extremes: false }).map((x) => [x, 2]),
      [h([2, 3], [3, -4, 0, 1, NaN, 2], d), 1],
      [h([2, 3], [3, -4, 0, 1, -7, 2], d), Infinity],
      [h([3], [1, -2, 3], d), 3],
    ],
    op: (x: Tensor, ord: number) => T.norm(x, { ord }),
    ref: (x: Host, ord: number) =>
      reduceRef(
        x,
        (v) => ord === Infinity ? nanMax(v.map(Math.abs)) : v.reduce((s, e) => s + Math.abs(e) ** ord, 0) ** (1 / ord),
      ),
    tol: { float32: 1e-5 },
  },
  // shape ops
  {
    name: "reshape / flatten / expandDims / squeeze",
    dtypes: [...NUMERIC, "bool"],
    samples: (d) => [[h([2, 3], [1, 0, 1, 1, 0, 1], d)], [h([0, 3], [], d)]],
    op: (x: Tensor) => [T.reshape(x, [3, -1]), T.flatten(x), T.expandDims(x, 1), T.squeeze(T.expandDims(x, 0))],
    ref: (x: Host) => [
      h([3, size(x.shape) / 3], x.data, x.dtype),
      h([size(x.shape)], x.data, x.dtype),
      h([x.shape[0], 1, x.shape[1]], x.data, x.dtype),
      h(x.shape.filter((dd) => dd !== 1), x.data, x.dtype),
    ],
  },
  {
    name: "transpose / matrixTranspose",
    dtypes: [...NUMERIC, "bool"],
    samples: (d) => [[h([2, 3, 2], Array.from({ length: 12 }, (_, i) => i % 2), d)], [h([0, 2, 1], [], d)]],
    op: (x: Tensor) => [T.transpose(x, [2, 0, 1]), T.matrixTranspose(x)],
    ref: (x: Host) => [transposeRef(x, [2, 0, 1]), transposeRef(x, [0, 2, 1])],
  },
  {
    name: "broadcastTo / slice / pad",
    dtypes: NUMERIC,
    samples: (d) => [[h([2, 1], [NaN, 2].map((v) => (d === "int32" ? 5 : v)), d)], [h([1, 1], [-3], d)]],
    op: (
      x: Tensor,
    ) => [
      T.broadcastTo(x, [3, 2, 4]),
      T.slice(T.broadcastTo(x, [2, 4]), [null, [1, -1]]),
      T.pad(x, [[1, 0], [0, 2]], 7),
    ],
    ref: (x: Host) => {
      const b = ew((v) => v, x.dtype)(x, h([3, 2, 4], new Array(24).fill(0), x.dtype));
      const b2 = ew((v) => v, x.dtype)(x, h([2, 4], new Array(8).fill(0), x.dtype));
      const p = h([x.shape[0] + 1, x.shape[1] + 2], [], x.dtype);
      for (let i = 0; i < p.shape[0]; i++) {
        for (let j = 0; j < p.shape[1]; j++) {
          p.data.push(i >= 1 && j < x.shape[1] ? x.data[(i - 1) * x.shape[1] + j] : 7);
        }
      }
      return [b, sliceRef(b2, [null, [1, 3]]), p];
    },
  },
  {
    name: "concat / stack",
    dtypes: NUMERIC,
    samples: (d) => [[h([2, 2], [1, 2, 3, 4], d), h([2, 1], [5, 6], d)], [h([0, 2], [], d), h([0, 1], [], d)]],
    op: (a: Tensor, b: Tensor) => [T.concat([a, b], 1), T.stack([b, b], 0)],
    ref: (a: Host, b: Host) => {
      const rows = a.shape[0], data: number[] = [];
      for (let i = 0; i < rows; i++) data.push(...a.data.slice(i * 2, i * 2 + 2), b.data[i]);
      return [h([rows, 3], data, a.dtype), h([2, ...b.shape], [...b.data, ...b.data], b.dtype)];
    },
  },
  {
    name: "take",
    dtypes: [...NUMERIC, "bool"],
    samples: (d) => [
      [h([3, 2], [1, 0, 1, 1, 0, 1], d), h([4], [2, -1, 0, 0], "int32"), 0],
      [h([3, 2], [1, 0, 1, 1, 0, 1], d), [1, -2], 1],
      [h([3, 2], [1, 0, 1, 1, 0, 1], d), h([0], [], "int32"), 0],
      [h([4], [1, 0, 0, 1], d), [3], undefined],
    ],
    op: (x: Tensor, idx: Tensor | number[], axis?: number) => T.take(x, idx, axis),
    ref: (x: Host, idx: Host | number[], axis?: number) =>
      takeRef(
        axis === undefined ? h([size(x.shape)], x.data, x.dtype) : x,
        Array.isArray(idx) ? idx : idx.data,
        axis ?? 0,
      ),
  },
  {
    name: "scatterAdd",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([4], [0, 2, 0, -1], "int32"), h([2, 4], [1, 2, 3, 4, 5, 6, 7, 8], d), 1, [2, 3]],
      [h([0], [], "int32"), h([2, 0], [], d), 1, [2, 3]],
    ],
    op: (i: Tensor, u: Tensor, axis: number, shape: number[]) => T.scatterAdd(i, u, axis, shape),
    ref: (i: Host, u: Host, _axis: number, shape: number[]) => {
      const out = h(shape, new Array(size(shape)).fill(0), u.dtype);
      for (let a = 0; a < shape[0]; a++) {
        i.data.forEach((
          j,
          k,
        ) => (out.data[a * shape[1] + (j < 0 ? j + shape[1] : j)] += u.data[a * i.data.length + k]));
      }
      return out;
    },
  },
  {
    name: "diag / trace / triu / tril",
    dtypes: NUMERIC,
    samples: (
      d,
    ) => [[h([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, NaN].map((v) => (d === "int32" && !Number.isFinite(v) ? 9 : v)), d)], [
      h([0, 0], [], d),
    ]],
    op: (x: Tensor) => [T.diag(x), T.trace(x), T.triu(x, 1), T.tril(x)],
    ref: (x: Host) => {
      const n = x.shape[0];
      const dg = Array.from({ length: n }, (_, i) => x.data[i * n + i]);
      return [
        h([n], dg, x.dtype),
        h([], [dg.reduce((a, b) => a + b, 0)], x.dtype),
        h([n, n], x.data.map((v, k) => (k % n > Math.floor(k / n) ? v : 0)), x.dtype),
        h([n, n], x.data.map((v, k) => (k % n <= Math.floor(k / n) ? v : 0)), x.dtype),
      ];
    },
  },
  {
    name: "diag of a vector / oneHot",
    dtypes: ["int32"],
    samples: (d) => [[h([3], [2, 0, 1], d)]],
    op: (v: Tensor) => [T.diag(v, 1), T.oneHot(v, 3)],
    ref: (_v: Host) => [
      h([4, 4], [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], "int32"),
      h([3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0], "float32"),
    ],
  },
  {
    name: "matmul / dot / outer",
    dtypes: NUMERIC,
    samples: (d) => [
      [
        h([2, 3], [1, 2, 3, -1, 0.5, 2].map((v) => (d === "int32" ? Math.round(v) : v)), d),
        h([3, 2], [1, 0, 2, 1, -1, 3], d),
      ],
      [h([0, 3], [], d), h([3, 2], [1, 0, 2, 1, -1, 3], d)],
      [h([2, 0], [], d), h([0, 2], [], d)],
    ],
    op: (a: Tensor, b: Tensor) => [T.matmul(a, b), T.dot(a, a), T.outer(T.flatten(a), T.flatten(b))],
    ref: (a: Host, b: Host) => [
      matmulRef(a, b),
      reduceRef(ew((x, y) => x * y, a.dtype)(a, a), (v) => v.reduce((s, e) => s + e, 0), -1),
      h([a.data.length, b.data.length], a.data.flatMap((x) => b.data.map((y) => x * y)), a.dtype),
    ],
  },
  {
    name: "matmul (batched, vectors)",
    dtypes: FLOATS,
    samples: (d) => [[h([2, 1, 2, 2], [1, 2, 3, 4, NaN, 1, 0, 2], d), h([3, 2, 1], [1, -1, 2, 0, 0.5, 3], d)]],
    op: (a: Tensor, b: Tensor) => [T.matmul(a, b), T.matmul(T.tensor([1, 2], { dtype: a.dtype, like: a }), b)],
    // a vector on the left is a row: [1, 2] @ b[i] for each of b's three 2×1 matrices
    ref: (a: Host, b: Host) => [matmulRef(a, b), h([3, 1], [-1, 2, 6.5], a.dtype)],
  },
  // creation
  {
    name: "zeros / ones / full / eye / arange / linspace",
    dtypes: NUMERIC,
    samples: () => [[]],
    op: () => [
      T.zeros([2, 0]),
      T.ones([2], { dtype: "int32" }),
      T.full([], -2.5),
      T.eye(2, { m: 3, k: 1 }),
      T.arange(1, 2, 0.25),
      T.arange(5),
      T.linspace(0, 1, 5),
      T.linspace(3, 3, 0),
    ],
    ref: () => [
      h([2, 0], [], "float32"),
      h([2], [1, 1], "int32"),
      h([], [-2.5], "float32"),
      h([2, 3], [0, 1, 0, 0, 0, 1], "float32"),
      h([4], [1, 1.25, 1.5, 1.75], "float32"),
      h([5], [0, 1, 2, 3, 4], "int32"),
      h([5], [0, 0.25, 0.5, 0.75, 1], "float32"),
      h([0], [], "float32"),
    ],
  },
  {
    name: "tensor (nested arrays, typed arrays, int32 bounds)",
    dtypes: ["int32"],
    samples: () => [[]],
    op: () => [
      T.tensor([[true, false]]),
      T.tensor([2147483647, -2147483648], { dtype: "int32" }),
      T.tensor(new Float64Array([1e300, -0]), { dtype: "float64" }),
      T.tensor([]),
      T.tensor(3),
    ],
    ref: () => [
      h([1, 2], [1, 0], "bool"),
      h([2], [2147483647, -2147483648], "int32"),
      h([2], [1e300, -0], "float64"),
      h([0], [], "float32"),
      h([], [3], "float32"),
    ],
    cpuOnly: true,
  },
  // linear algebra
  {
    name: "linalg.inv / det",
    dtypes: FLOATS,
    samples: (d) => spdSamples(d).map((x) => [x]),
    op: (a: Tensor) => [T.linalg.inv(a), T.linalg.det(a)],
    ref: (a: Host) => [perMatrix(a, invRef, (b, n) => [...b, n, n]), perMatrix(a, (m, n) => [detRef(m, n)], (b) => b)],
    tol: { float32: 2e-5 },
  },
  {
    name: "linalg.solve / cholesky",
    dtypes: FLOATS,
    samples: (d) => spdSamples(d).filter((x) => x.shape.length === 2 && x.shape[0] > 0).map((x) => [x]),
    op: (a: Tensor) => [T.linalg.solve(a, T.onesLike(T.slice(a, [null, [0, 1]]))), T.linalg.cholesky(a)],
    ref: (a: Host) => {
      const n = a.shape[0], inv = invRef(a.data, n);
      const x = Array.from({ length: n }, (_, i) => inv.slice(i * n, i * n + n).reduce((s, v) => s + v, 0));
      return [h([n, 1], x, a.dtype), h([n, n], choleskyRef(a.data, n), a.dtype)];
    },
    tol: { float32: 2e-5 },
  },
  {
    name: "linalg.eigh eigenvalues / svdvals",
    dtypes: FLOATS,
    samples: (d) => spdSamples(d).map((x) => [x]),
    op: (a: Tensor) => [T.linalg.eigh(a).eigenvalues, T.linalg.svdvals(a)],
    ref: (a: Host) => [
      perMatrix(a, eigvalsRef, (b, n) => [...b, n]),
      perMatrix(a, (m, n) => eigvalsRef(m, n).reverse(), (b, n) => [...b, n]),
    ],
    tol: { float32: 2e-5 },
  },
];
