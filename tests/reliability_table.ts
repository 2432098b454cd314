/**
 * The op table behind `reliability_ops_test.ts` and `reliability_api_property_test.ts`: each public
 * op with its sample inputs and a float64 reference in plain JavaScript (NumPy's semantics: NaN
 * propagates through comparisons-based ops and reductions, broadcasting, negative indices).
 */
import * as T from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import {
  broadcastShape,
  choleskyRef,
  detRef,
  eigvalsRef,
  erfRef,
  ew,
  h,
  type Host,
  invRef,
  matmulRef,
  max2,
  min2,
  nanMax,
  nanMin,
  perMatrix,
  reduceRef,
  size,
  sliceRef,
  takeRef,
  transposeRef,
} from "./reliability_refs.ts";
import { MORE_OPS } from "./reliability_table_more.ts";

export type { Host } from "./reliability_refs.ts";

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
  /** An elementwise op of one tensor or of two tensors of one dtype: any shape and dtype may be fed. */
  kind?: "unary" | "binary";
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
    kind: "unary",
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
    kind: "binary",
    ref: (a: Host, b: Host) => {
      const isF = a.dtype === "float32" || a.dtype === "float64";
      return ew(f, opts.out ?? (isF ? a.dtype : opts.intTo ?? a.dtype))(a, b);
    },
    tol: opts.tol ? { float32: opts.tol } : undefined,
  };
}

const cmp = (f: (a: number, b: number) => boolean) => (a: number, b: number) => (f(a, b) ? 1 : 0);

/** Symmetric matrices with known spectra: 2×2, 3×3 diagonal-plus, a batch, 0×0. */
function spdSamples(d: DType): Host[] {
  return [
    h([2, 2], [4, 1, 1, 3], d),
    h([3, 3], [6, 2, 1, 2, 5, 2, 1, 2, 4], d),
    h([2, 2, 2], [2, 0, 0, 3, 5, 2, 2, 5], d),
    h([0, 0], [], d),
  ];
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
  binaryOp("pow", T.pow, Math.pow, { dtypes: FLOATS, tol: 8e-6, intTo: "float32" }),
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
  ...MORE_OPS,
];
