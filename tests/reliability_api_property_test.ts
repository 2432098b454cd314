/**
 * A fast-check property over the public API (issue 14): random shapes (0-d, zero-size, mismatched),
 * dtypes and values (NaN, ±Infinity, extreme magnitudes) give either a TangentError subclass or the
 * float64 reference's value, and odd arguments (NaN, fractional or negative sizes and axes, missing
 * or mistyped options) give a TangentError or a tensor: never a TypeError or RangeError. The
 * references are those of the op table (reliability_table.ts, reliability_refs.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import {
  broadcastShape,
  h,
  type Host,
  matmulRef,
  nanMax,
  nanMin,
  reduceRef,
  size,
  sliceRef,
  takeRef,
  transposeRef,
} from "./reliability_refs.ts";
import { OPS } from "./reliability_table.ts";

await T.useBackend("cpu");
const RUNS = 300;

const DTYPES: DType[] = ["float64", "float32", "int32", "bool"];
const round: Record<DType, (v: number) => number> = {
  float64: (v) => v,
  float32: Math.fround,
  float16: Math.f16round,
  int32: (v) => v | 0,
  bool: (v) => (v ? 1 : 0),
};
const TOL: Record<DType, number> = { float64: 1e-12, float32: 2e-6, float16: 2e-3, int32: 0, bool: 0 };

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
/** Shapes of 2 to 4 axes (matmul's vector forms are in the op table). */
const matShape = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 4 });

const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: -9, max: 9 }) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e30, -1e-30, 3e38) },
);

/** A host tensor of the given shape and dtype, values already rounded to the dtype. */
function hostArb(shape: number[], dtype: DType): fc.Arbitrary<Host> {
  const n = size(shape);
  return fc.array(valueArb, { minLength: n, maxLength: n }).map((v) =>
    h(
      shape,
      v.map((x) => (dtype === "int32" ? (Math.abs(x) < 2 ** 31 ? Math.trunc(x) | 0 : 0) : round[dtype](x))),
      dtype,
    )
  );
}

const anyHost = fc.tuple(shapeArb, fc.constantFrom(...DTYPES)).chain(([s, d]) => hostArb(s, d));
// bool operands of arithmetic follow their own rules (counted in int32); the op table covers them
const numericHost = fc.tuple(shapeArb, fc.constantFrom<DType>("float64", "float32", "int32")).chain(([s, d]) =>
  hostArb(s, d)
);

function make(x: Host): Tensor {
  return T.tensor(x.data, { shape: x.shape, dtype: x.dtype });
}

/** `run()` either throws a TangentError or returns what `ref()` gives (which then must not throw). */
function check(
  what: string,
  run: () => Tensor | Tensor[],
  ref: () => Host | Host[],
  tol?: Partial<Record<DType, number>>,
) {
  let out: Tensor[];
  try {
    const r = run();
    out = Array.isArray(r) ? r : [r];
  } catch (e) {
    assert.ok(e instanceof T.TangentError, `${what}: threw ${(e as Error).name}: ${(e as Error).message}`);
    return;
  }
  let want: Host[];
  try {
    const r = ref();
    want = Array.isArray(r) ? r : [r];
  } catch (e) {
    assert.fail(`${what}: returned a result where the reference fails (${(e as Error).message})`);
  }
  assert.equal(out.length, want.length, `${what}: outputs`);
  out.forEach((o, k) => {
    assert.deepEqual([...o.shape], want[k].shape, `${what}: output ${k} shape`);
    assert.equal(o.dtype, want[k].dtype, `${what}: output ${k} dtype`);
    const got = o.dataSync(), d = want[k].dtype, t = tol?.[d] ?? TOL[d];
    want[k].data.forEach((v, i) => {
      const w = round[d](v), g = Number(got[i]);
      if (Number.isNaN(w)) return assert.ok(Number.isNaN(g), `${what}: [${i}] ${g}, reference NaN`);
      if (g === w) return;
      assert.ok(Number.isFinite(w) && Math.abs(g - w) <= t * Math.max(1, Math.abs(w)), `${what}: [${i}] ${g} vs ${w}`);
    });
  });
}

Deno.test("API property: elementwise ops on random shapes, dtypes and values", () => {
  const unary = OPS.filter((o) => o.kind === "unary"), binary = OPS.filter((o) => o.kind === "binary");
  fc.assert(
    fc.property(fc.constantFrom(...unary), numericHost, (info, x) => {
      check(`${info.name}(${x.dtype} [${x.shape}])`, () => info.op(make(x)), () => info.ref(x), info.tol);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...binary),
      fc.tuple(shapeArb, shapeArb, fc.constantFrom<DType>("float64", "float32", "int32")).chain(([sa, sb, d]) =>
        fc.tuple(hostArb(sa, d), hostArb(sb, d))
      ),
      (info, [a, b]) => {
        const what = `${info.name}(${a.dtype} [${a.shape}], [${b.shape}])`;
        check(what, () => info.op(make(a), make(b)), () => {
          if (!broadcastShape(a.shape, b.shape)) throw new Error("shapes do not broadcast");
          return info.ref(a, b);
        }, info.tol);
      },
    ),
    { numRuns: RUNS },
  );
});

const axisArb = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -4, max: 4 }),
  fc.constantFrom(0.5, NaN),
  fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 3 }),
);

Deno.test("API property: reductions over random axes", () => {
  const fns: Record<string, (v: number[]) => number> = {
    sum: (v) => v.reduce((a, b) => a + b, 0),
    prod: (v) => v.reduce((a, b) => a * b, 1),
    max: nanMax,
    min: nanMin,
  };
  fc.assert(
    fc.property(
      fc.constantFrom("sum", "prod", "max", "min"),
      fc.tuple(shapeArb, fc.constantFrom<DType>("float64", "float32", "int32")).chain(([s, d]) => hostArb(s, d)),
      axisArb,
      fc.boolean(),
      (name, x, axis, keepdims) => {
        const what = `${name}(${x.dtype} [${x.shape}], axis ${JSON.stringify(axis)}, keepdims ${keepdims})`;
        const opts = { axis: axis as number | number[] | undefined, keepdims };
        check(what, () => T[name as "sum"](make(x), opts), () => {
          const nd = x.shape.length, axes = axis === undefined ? [...Array(nd).keys()] : [axis].flat();
          if (axes.some((a) => !Number.isInteger(a) || a < -nd || a >= nd)) throw new Error("axis out of range");
          const norm = [...new Set(axes.map((a) => (a < 0 ? a + nd : a)))];
          if ((name === "max" || name === "min") && norm.some((a) => x.shape[a] === 0)) throw new Error("empty");
          return reduceRef(x, fns[name], norm, keepdims);
        }, { float32: 1e-5 });
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("API property: shape ops with random targets, permutations, ranges and indices", () => {
  const numArb = fc.oneof(fc.integer({ min: -5, max: 6 }), fc.constantFrom(0.5, NaN, -1));
  fc.assert(
    fc.property(anyHost, fc.array(numArb, { maxLength: 3 }), (x, target) => {
      check(`reshape([${x.shape}] → [${target}])`, () => T.reshape(make(x), target), () => {
        const s = [...target], hole = s.indexOf(-1);
        const known = s.reduce((a, d, i) => (i === hole ? a : a * d), 1);
        if (hole >= 0 && known === 0) throw new Error("ambiguous -1");
        if (hole >= 0 && s.lastIndexOf(-1) === hole) s[hole] = size(x.shape) / known;
        if (s.some((d) => !Number.isInteger(d) || d < 0) || size(s) !== size(x.shape)) throw new Error("bad shape");
        return h(s, x.data, x.dtype);
      });
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(anyHost, fc.array(numArb, { maxLength: 3 }), (x, perm) => {
      check(`transpose([${x.shape}], [${perm}])`, () => T.transpose(make(x), perm), () => {
        // negative entries count from the end, as NumPy's
        const p = perm.map((v) => (Number.isInteger(v) && v < 0 && v >= -x.shape.length ? v + x.shape.length : v));
        if (p.length !== x.shape.length || [...p].sort().some((v, i) => v !== i)) throw new Error("not a perm");
        return transposeRef(x, p);
      });
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(anyHost, fc.array(fc.option(fc.tuple(numArb, numArb)), { maxLength: 3 }), (x, ranges) => {
      check(`slice([${x.shape}], ${JSON.stringify(ranges)})`, () => T.slice(make(x), ranges), () => {
        if (ranges.length > x.shape.length) throw new Error("too many ranges");
        const r = x.shape.map((d, i) => {
          let [a, b] = ranges[i] ?? [0, d];
          if (a < 0) a += d;
          if (b < 0) b += d;
          if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > d || a > b) throw new Error("range");
          return [a, b] as [number, number];
        });
        return sliceRef(x, r);
      });
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(
      anyHost.filter((x) => x.shape.length > 0),
      fc.array(fc.integer({ min: -6, max: 6 }), { maxLength: 4 }),
      fc.integer({ min: -2, max: 2 }),
      fc.boolean(),
      (x, idx, axis, asTensor) => {
        const what = `take([${x.shape}], [${idx}], ${axis}, ${asTensor ? "tensor" : "list"})`;
        const indices = asTensor ? T.tensor(idx, { dtype: "int32" }) : idx;
        check(what, () => T.take(make(x), indices, axis), () => {
          const nd = x.shape.length;
          if (axis < -nd || axis >= nd) throw new Error("axis");
          const a = axis < 0 ? axis + nd : axis, d = x.shape[a];
          if (idx.some((i) => i < -d || i >= d)) throw new Error("index");
          return takeRef(x, idx, a);
        });
      },
    ),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(
      fc.tuple(matShape, matShape, fc.constantFrom<DType>("float64", "float32", "int32")).chain(([sa, sb, d]) =>
        fc.tuple(hostArb(sa, d), hostArb(sb, d))
      ),
      ([a, b]) => {
        check(`matmul([${a.shape}], [${b.shape}])`, () => T.matmul(make(a), make(b)), () => {
          if (a.shape[a.shape.length - 1] !== b.shape[b.shape.length - 2]) throw new Error("inner");
          if (!broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))) throw new Error("batch");
          return matmulRef(a, b);
        }, { float32: 1e-5 });
      },
    ),
    { numRuns: RUNS },
  );
});

/** Odd values for tensor and number arguments: wrong types, NaN, fractions, negatives, huge numbers. */
const oddArb = fc.oneof(
  fc.constantFrom(undefined, null, NaN, Infinity, -1, 0.5, 2 ** 40, "a", "float16", true, 7n),
  fc.constantFrom({}, [], [NaN], [-1, 2], [0.5], [[1, 2], [3]], { words: [1] }),
  fc.integer({ min: -3, max: 5 }),
);

/** A plausible argument: sometimes a small tensor of any dtype, a key, a shape, an axis. */
const argArb = fc.oneof(
  { weight: 3, arbitrary: anyHost.map(make) },
  { weight: 1, arbitrary: fc.constant(T.key(1)) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) },
  { weight: 3, arbitrary: oddArb },
);

/** Options objects: absent, empty, or with odd fields (options themselves are objects, as typed). */
const optsArb = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc.record(
    {
      axis: oddArb,
      keepdims: fc.constantFrom(true, "yes", 0),
      dtype: fc.constantFrom("float32", "int64", "bool", undefined, 3),
      ord: fc.constantFrom(1, 2, -3, "fro", "nuc", NaN, Infinity),
      lr: fc.constantFrom(0.1, -1, NaN, "a", undefined),
      shape: oddArb,
      argnums: fc.constantFrom(0, 1, [0, 0], -1, 0.5, "a"),
      approximate: fc.constantFrom("tanh", "none", "x"),
      lower: fc.boolean(),
      m: oddArb,
      k: oddArb,
      min: oddArb,
      max: oddArb,
    },
    { requiredKeys: [] },
  ),
);

// deno-lint-ignore no-explicit-any
type Fn = (...a: any[]) => unknown;
/** Public functions with the position of their options argument (where it has one). */
const API: [string, Fn, number?][] = [
  ["tensor", T.tensor, 1],
  ["zeros", T.zeros, 1],
  ["ones", T.ones, 1],
  ["full", T.full, 2],
  ["eye", T.eye, 1],
  ["arange", T.arange, 3],
  ["linspace", T.linspace, 3],
  ["zerosLike", T.zerosLike],
  ["astype", T.astype],
  ["reshape", T.reshape],
  ["transpose", T.transpose],
  ["expandDims", T.expandDims],
  ["squeeze", T.squeeze],
  ["broadcastTo", T.broadcastTo],
  ["slice", T.slice],
  ["pad", T.pad],
  ["concat", T.concat],
  ["stack", T.stack],
  ["take", T.take],
  ["scatterAdd", T.scatterAdd],
  ["diag", T.diag],
  ["trace", T.trace],
  ["triu", T.triu],
  ["oneHot", T.oneHot],
  ["sum", T.sum, 1],
  ["mean", T.mean, 1],
  ["max", T.max, 1],
  ["variance", T.variance, 1],
  ["norm", T.norm, 1],
  ["softmax", T.softmax, 1],
  ["logsumexp", T.logsumexp, 1],
  ["matmul", T.matmul],
  ["dot", T.dot],
  ["outer", T.outer],
  ["add", T.add],
  ["div", T.div],
  ["maximum", T.maximum],
  ["where", T.where],
  ["clip", T.clip],
  ["relu", T.relu],
  ["gelu", T.gelu, 1],
  ["sqrt", T.sqrt],
  ["key", T.key],
  ["split", T.split],
  ["foldIn", T.foldIn],
  ["normal", T.normal, 2],
  ["uniform", T.uniform, 2],
  ["randomBits", T.randomBits],
  ["treeMap", (a: unknown, b: unknown) => T.treeMap((x: Tensor, y: Tensor) => T.add(x, y), a, b)],
  ["grad", (a: unknown, o: unknown) => T.grad((x: Tensor) => T.sum(x), o as T.GradOptions)(a as Tensor), 1],
  ["linalg.inv", T.linalg.inv],
  ["linalg.det", T.linalg.det],
  ["linalg.qr", T.linalg.qr],
  ["linalg.svd", T.linalg.svd],
  ["linalg.eigh", T.linalg.eigh],
  ["linalg.cholesky", T.linalg.cholesky],
  ["linalg.solve", T.linalg.solve],
  ["linalg.solveTriangular", T.linalg.solveTriangular, 2],
  ["linalg.matrixNorm", T.linalg.matrixNorm],
  ["linalg.expm", T.linalg.expm],
  ["manifolds.sphere", T.manifolds.sphere],
  ["manifolds.stiefel", T.manifolds.stiefel, 2],
  ["manifolds.adam", T.manifolds.adam, 0],
  ["manifolds.sgd", T.manifolds.sgd, 0],
  ["manifolds.landing", T.manifolds.landing, 0],
];

const callArb = fc.constantFrom(...API).chain(([name, fn, at]) =>
  fc.tuple(fc.constant(name), fc.constant(fn), fc.array<unknown>(argArb, { maxLength: 4 }), optsArb).map(
    ([n, f, args, opts]) => {
      if (at !== undefined) {
        while (args.length < at) args.push(undefined);
        args[at] = opts;
      }
      return [n, f, args] as [string, Fn, unknown[]];
    },
  )
);

Deno.test("API property: odd arguments give a TangentError or a result, never a TypeError or RangeError", () => {
  fc.assert(
    fc.property(callArb, ([name, fn, args]) => {
      try {
        const out = fn(...args);
        // a result must be usable: its tensors can be read
        for (const t of T.treeLeaves(out)) t.dataSync();
      } catch (e) {
        const shown = args.map((a) =>
          a instanceof T.Tensor
            ? `tensor ${a.dtype} [${a.shape}]`
            : JSON.stringify(a, (_, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(a)
        );
        assert.ok(
          e instanceof T.TangentError,
          `${name}(${shown.join(", ")}) threw ${(e as Error).name}: ${(e as Error).message}`,
        );
      }
    }),
    { numRuns: 5000, endOnFailure: true }, // no shrinking: the first counterexample is readable
  );
});
