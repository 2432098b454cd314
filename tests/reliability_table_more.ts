/**
 * More rows of the op table (reliability_table.ts spreads them into `OPS`): the public ops the first
 * table left out (log1p, expm1, softplus, logSigmoid, isnan, isfinite, cumsum, cumprod, argmax,
 * argmin, sort, argsort, topk, einsum, takeAlongAxis, matmulT and the rest of linalg), each with
 * 0-d or zero-size, NaN/±∞ and ordinary samples and a float64 reference in plain JavaScript. The
 * decompositions whose factors are defined up to signs (qr, svd, lu, polar) are held by what is
 * unique: their products and orthogonality.
 */
import * as T from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import {
  detRef,
  eigvalsRef,
  ew,
  h,
  type Host,
  invRef,
  matmulRef,
  perMatrix,
  size,
  transposeRef,
} from "./reliability_refs.ts";
import type { OpInfo } from "./reliability_table.ts";

const FLOATS: DType[] = ["float64", "float32"];
const NUMERIC: DType[] = ["float64", "float32", "int32"];
const SPECIAL = [NaN, Infinity, -Infinity, 0, 1, -1, 0.5, -0.5];

const isF = (d: DType) => d === "float32" || d === "float64";
/** int32 samples replace non-finite values by 7. */
const fit = (v: number[], d: DType) => (isF(d) ? v : v.map((e) => (Number.isFinite(e) ? Math.trunc(e) : 7)));

/**
 * Rows along the last axis: `f` maps each row to an output row of `len` elements (the row's length
 * by default), or to one element that replaces the axis when `len` is "reduce".
 */
function rows(x: Host, f: (r: number[]) => number[], dtype: DType = x.dtype, len?: number | "reduce"): Host {
  const n = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  const lead = x.shape.slice(0, -1);
  const out: number[] = [];
  for (let i = 0; i < size(lead); i++) out.push(...f(x.data.slice(i * n, i * n + n)));
  return h(len === "reduce" ? lead : [...lead, len ?? n], out, dtype);
}

const softplusRef = (v: number) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));

function unary(name: string, op: (x: Tensor) => Tensor, f: (v: number) => number, tol = 4e-6): OpInfo {
  return {
    name,
    dtypes: FLOATS,
    kind: "unary",
    samples: (d) => [
      [h([], [0.75], d)],
      [h([0, 3], [], d)],
      [h([8], SPECIAL, d)],
      [h([2, 3], [-3, -1e-7, 1e-7, 2.5, 20, -20], d)],
      [h([4], d === "float64" ? [1e300, -1e300, 1e-300, -1e-300] : [1e30, -1e30, 1e-30, -1e-30], d)],
    ],
    op,
    ref: (x: Host) => ew(f, isF(x.dtype) ? x.dtype : "float32")(x),
    tol: { float32: tol },
  };
}

/** Index of the first NaN, else of the first extreme (NumPy's argmax/argmin). */
function argRef(r: number[], better: (a: number, b: number) => boolean): number {
  const nan = r.findIndex(Number.isNaN);
  if (nan >= 0) return nan;
  let k = 0;
  for (let i = 1; i < r.length; i++) if (better(r[i], r[k])) k = i;
  return k;
}

/** Ascending order with NaN last, stable (ties keep their order). */
function order(r: number[], descending = false): number[] {
  const idx = r.map((_, i) => i);
  const key = (v: number) => (Number.isNaN(v) ? Infinity : descending ? -v : v);
  const nanRank = (v: number) => (Number.isNaN(v) ? (descending ? -1 : 1) : 0);
  return idx.sort((i, j) => nanRank(r[i]) - nanRank(r[j]) || key(r[i]) - key(r[j]) || i - j);
}

/** einsum by brute force over every assignment of the labels. */
function einsumRef(spec: string, ...xs: Host[]): Host {
  const [lhs, out] = spec.split("->");
  const ins = lhs.split(",");
  const dims = new Map<string, number>();
  ins.forEach((s, k) => [...s].forEach((c, a) => dims.set(c, xs[k].shape[a])));
  const labels = [...dims.keys()];
  const outShape = [...out].map((c) => dims.get(c)!);
  const data = new Array<number>(size(outShape)).fill(0);
  const total = size(labels.map((c) => dims.get(c)!));
  for (let i = 0; i < total; i++) {
    const val = new Map<string, number>();
    let r = i;
    for (let l = labels.length - 1; l >= 0; l--) {
      const d = dims.get(labels[l])!;
      val.set(labels[l], r % d);
      r = Math.floor(r / d);
    }
    let p = 1;
    ins.forEach((s, k) => {
      let off = 0;
      [...s].forEach((c, a) => (off = off * xs[k].shape[a] + val.get(c)!));
      p *= xs[k].data[off];
    });
    let o = 0;
    [...out].forEach((c, a) => (o = o * outShape[a] + val.get(c)!));
    data[o] += p;
  }
  return h(outShape, data, xs[0].dtype);
}

const eye = (n: number, d: DType) => h([n, n], Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)), d);

/** exp(A) by its Taylor series (small norms only). */
function expmRef(m: number[], n: number): number[] {
  let term = eye(n, "float64").data, sum = [...term];
  for (let k = 1; k < 40; k++) {
    term = matmulRef(h([n, n], term), h([n, n], m)).data.map((v) => v / k);
    sum = sum.map((v, i) => v + term[i]);
  }
  return sum;
}

/** Singular values of an m × n matrix (n ≤ 3), descending: square roots of AᵀA's eigenvalues. */
function singularRef(a: Host): number[] {
  const n = a.shape[1];
  const ata = matmulRef(transposeRef(a, [1, 0]), a).data;
  return eigvalsRef(ata, n).reverse().slice(0, Math.min(a.shape[0], n)).map((v) => Math.sqrt(Math.max(0, v)));
}

const mT = (x: Tensor) => T.matrixTranspose(x);

export const MORE_OPS: OpInfo[] = [
  unary("log1p", T.log1p, Math.log1p),
  unary("expm1", T.expm1, Math.expm1),
  unary("softplus", T.softplus, softplusRef),
  unary("logSigmoid", T.logSigmoid, (v) => -softplusRef(-v)),
  {
    name: "isnan / isfinite",
    dtypes: NUMERIC,
    samples: (d) => [[h([8], fit(SPECIAL, d), d)], [h([], [1], d)], [h([0, 2], [], d)]],
    op: (x: Tensor) => [T.isnan(x), T.isfinite(x)],
    ref: (x: Host) => [
      ew((v) => (Number.isNaN(v) ? 1 : 0), "bool")(x),
      ew((v) => (Number.isFinite(v) ? 1 : 0), "bool")(x),
    ],
  },
  {
    name: "cumsum / cumprod",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([2, 4], fit([1, NaN, 3, -2, 0.5, Infinity, -1, 2], d), d)],
      [h([3], [2, -3, 4], d)],
      [h([0, 3], [], d)],
    ],
    op: (x: Tensor) => [
      T.cumsum(x, -1),
      T.cumprod(x, -1),
      T.cumsum(x, -1, { reverse: true }),
      T.cumsum(x, 0),
    ],
    ref: (x: Host) => {
      const scan = (r: number[], f: (a: number, b: number) => number) => r.map((_, i) => r.slice(0, i + 1).reduce(f));
      const cs = (r: number[]) => scan(r, (a, b) => a + b);
      const first = x.shape.length === 1 ? cs(x.data) : (() => {
        const [m, n] = x.shape, out = [...x.data];
        for (let j = 0; j < n; j++) for (let i = 1; i < m; i++) out[i * n + j] += out[(i - 1) * n + j];
        return out;
      })();
      return [
        rows(x, cs),
        rows(x, (r) => scan(r, (a, b) => a * b)),
        rows(x, (r) => cs([...r].reverse()).reverse()),
        h(x.shape, first, x.dtype),
      ];
    },
  },
  {
    name: "argmax / argmin",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([2, 4], fit([1, 3, 3, -2, 0.5, NaN, 9, NaN], d), d)],
      [h([5], fit([-Infinity, -Infinity, 2, 2, -1], d), d)],
      [h([3, 1], [4, 5, 6], d)],
    ],
    op: (x: Tensor) => [T.argmax(x, { axis: -1 }), T.argmin(x, { axis: -1 }), T.argmax(x)],
    ref: (x: Host) => [
      rows(x, (r) => [argRef(r, (a, b) => a > b)], "int32", "reduce"),
      rows(x, (r) => [argRef(r, (a, b) => a < b)], "int32", "reduce"),
      h([], [argRef(x.data, (a, b) => a > b)], "int32"),
    ],
  },
  {
    name: "sort / argsort / topk",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([2, 5], isF(d) ? [3, NaN, -1, Infinity, 0.5, 2, 2.5, -Infinity, 7, 1] : [3, 8, -1, 6, 0, 2, 4, -9, 7, 1], d)],
      [h([4], [5, -2, 9, -2], d)],
    ],
    op: (x: Tensor) => {
      const top = T.topk(x, 2);
      return [T.sort(x), T.argsort(x), T.sort(x, { descending: true }), top.values, top.indices];
    },
    ref: (x: Host) => {
      // topk: the k largest, NaN counting as the largest (PyTorch); no ties among the two picked
      const top = (r: number[]) => order(r, true).slice(0, 2);
      return [
        rows(x, (r) => order(r).map((i) => r[i])),
        rows(x, (r) => order(r), "int32"),
        rows(x, (r) => order(r, true).map((i) => r[i])),
        rows(x, (r) => top(r).map((i) => r[i]), x.dtype, 2),
        rows(x, top, "int32", 2),
      ];
    },
  },
  {
    name: "einsum",
    dtypes: NUMERIC,
    samples: (d) => [
      ["ij,jk->ik", h([2, 3], fit([1, 2, -1, 0.5, NaN, 3], d), d), h([3, 2], [1, 0, 2, 1, -1, 3], d)],
      ["ii->i", h([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9], d)],
      ["bij,bjk->bik", h([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8], d), h([2, 2, 1], [1, -1, 2, 0], d)],
      ["i,j->ij", h([2], [3, -2], d), h([3], fit([1, Infinity, 0], d), d)],
      ["ij->", h([0, 3], [], d)],
    ],
    op: (spec: string, ...xs: Tensor[]) => T.einsum(spec, ...xs),
    ref: einsumRef,
  },
  {
    name: "takeAlongAxis",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([2, 3], fit([1, NaN, 3, 4, 5, 6], d), d), h([2, 2], [2, -3, -1, 0], "int32"), 1],
      [h([2, 3], [1, 2, 3, 4, 5, 6], d), h([1, 3], [1, 0, -1], "int32"), 0],
      [h([0, 3], [], d), h([0, 1], [], "int32"), 1],
    ],
    op: (x: Tensor, i: Tensor, axis: number) => T.takeAlongAxis(x, i, axis),
    ref: (x: Host, i: Host, axis: number) => {
      const [m, n] = x.shape;
      const outShape = axis === 1 ? [m, i.shape[1]] : [i.shape[0], n];
      const data: number[] = [];
      for (let r = 0; r < outShape[0]; r++) {
        for (let c = 0; c < outShape[1]; c++) {
          const k = i.data[(i.shape[0] === 1 ? 0 : r) * i.shape[1] + (i.shape[1] === 1 ? 0 : c)];
          data.push(axis === 1 ? x.data[r * n + (k < 0 ? k + n : k)] : x.data[(k < 0 ? k + m : k) * n + c]);
        }
      }
      return h(outShape, data, x.dtype);
    },
  },
  {
    name: "matmulT",
    dtypes: NUMERIC,
    samples: (d) => [
      [h([3, 2], fit([1, 2, -1, NaN, 0.5, 3], d), d), h([4, 3], [1, 0, 2, 1, -1, 3, 0, 1, 1, 2, 2, 0], d), true, true],
      [h([2, 3], [1, 2, 3, 4, 5, 6], d), h([2, 3], [1, -1, 0, 2, 1, 1], d), false, true],
      [h([0, 3], [], d), h([3, 2], [1, 0, 2, 1, -1, 3], d), false, false],
    ],
    op: (a: Tensor, b: Tensor, ta: boolean, tb: boolean) => T.matmulT(a, b, ta, tb),
    ref: (a: Host, b: Host, ta: boolean, tb: boolean) =>
      matmulRef(ta ? transposeRef(a, [1, 0]) : a, tb ? transposeRef(b, [1, 0]) : b),
  },
  {
    name: "linalg.qr / svd / polar (products and orthogonality)",
    dtypes: FLOATS,
    samples: (d) => [[h([3, 2], [3, 1, -1, 2, 0.5, 4], d)], [h([2, 2], [2, 1, 1, 3], d)]],
    op: (a: Tensor) => {
      const { Q, R } = T.linalg.qr(a), { U, S, Vh } = T.linalg.svd(a), p = T.linalg.polar(a);
      return [
        T.matmul(Q, R),
        T.matmul(mT(Q), Q),
        T.matmul(T.mul(U, S), Vh),
        S,
        T.matmul(p.U, p.P),
        T.matmul(mT(p.U), p.U),
      ];
    },
    ref: (a: Host) => {
      const n = a.shape[1];
      return [a, eye(n, a.dtype), a, h([n], singularRef(a), a.dtype), a, eye(n, a.dtype)];
    },
    tol: { float32: 2e-5 },
  },
  {
    name: "linalg.lu / slogdet / solveTriangular / unitTriangularInverse",
    dtypes: FLOATS,
    samples: (d) => [[h([3, 3], [0, 2, 1, 4, -1, 3, 2, 5, -2], d)], [h([2, 2], [1, 2, 2, 4], d)], [h([0, 0], [], d)]],
    op: (a: Tensor) => {
      const { P, L, U } = T.linalg.lu(a), sl = T.linalg.slogdet(a);
      const lower = T.add(
        T.tril(a, -1),
        T.linalg.matrixNorm(a, 1).add(1).mul(T.eye(a.shape[0], { dtype: a.dtype, like: a })),
      );
      const b = T.ones([a.shape[0], 1], { dtype: a.dtype, like: a });
      return [
        T.matmul(P, T.matmul(L, U)),
        sl.sign,
        sl.logabsdet,
        T.linalg.solveTriangular(lower, b, { lower: true }),
        T.linalg.unitTriangularInverse(a, { lower: true }),
      ];
    },
    ref: (a: Host) => {
      const n = a.shape[0];
      const det = detRef(a.data, n);
      const norm1 = n
        ? Math.max(
          ...Array.from({ length: n }, (_, j) => a.data.filter((_, k) => k % n === j))
            .map((c) => c.reduce((s, v) => s + Math.abs(v), 0)),
        )
        : 0;
      const lower = a.data.map((v, k) => (k % n < Math.floor(k / n) ? v : k % n === Math.floor(k / n) ? norm1 + 1 : 0));
      const unit = a.data.map((v, k) => (k % n < Math.floor(k / n) ? v : k % n === Math.floor(k / n) ? 1 : 0));
      const x = n
        ? invRef(lower, n).reduce((acc, v, k) => (acc[Math.floor(k / n)] += v, acc), new Array(n).fill(0))
        : [];
      return [
        a,
        h([], [Math.sign(det)], a.dtype),
        h([], [Math.log(Math.abs(det))], a.dtype),
        h([n, 1], x, a.dtype),
        h([n, n], n ? invRef(unit, n) : [], a.dtype),
      ];
    },
    tol: { float32: 2e-5 },
  },
  {
    name: "linalg.expm / cayley / matrixNorm",
    dtypes: FLOATS,
    samples: (d) => [
      [h([2, 2], [0, 1, -1, 0], d)],
      [h([3, 3], [0.1, 0.5, -0.2, -0.5, 0.3, 0.4, 0.2, -0.4, 0.6], d)],
      [h([2, 2, 2], [0, 2, -2, 0, 1, 0, 0, -1], d)],
    ],
    op: (a: Tensor) => [
      T.linalg.expm(a),
      T.linalg.cayley(T.sub(a, mT(a))),
      T.linalg.matrixNorm(a),
      T.linalg.matrixNorm(a, 1),
      T.linalg.matrixNorm(a, Infinity),
      T.linalg.matrixNorm(a, 2),
      T.linalg.matrixNorm(a, "nuc"),
    ],
    ref: (a: Host) => {
      const n = a.shape[a.shape.length - 1];
      const one = (m: number[], byCol: boolean) =>
        Math.max(
          ...Array.from({ length: n }, (_, i) =>
            Array.from({ length: n }, (_, j) =>
              Math.abs(byCol ? m[j * n + i] : m[i * n + j])).reduce((s, v) =>
                s + v, 0)),
        );
      const sv = (m: number[]) => singularRef(h([n, n], m));
      const scalar = (f: (m: number[]) => number) => perMatrix(a, (m) => [f(m)], (b) => b);
      return [
        perMatrix(a, (m) => expmRef(m, n), (b) => [...b, n, n]),
        perMatrix(a, (m) => {
          const s = m.map((v, k) => v - m[(k % n) * n + Math.floor(k / n)]);
          const ip = s.map((v, k) => v + (k % (n + 1) === 0 ? 1 : 0));
          const im = s.map((v, k) => -v + (k % (n + 1) === 0 ? 1 : 0));
          return matmulRef(h([n, n], invRef(ip, n)), h([n, n], im)).data;
        }, (b) => [...b, n, n]),
        scalar((m) => Math.hypot(...m)),
        scalar((m) => one(m, true)),
        scalar((m) => one(m, false)),
        scalar((m) => sv(m)[0]),
        scalar((m) => sv(m).reduce((s, v) => s + v, 0)),
      ];
    },
    tol: { float32: 2e-5 },
  },
];
