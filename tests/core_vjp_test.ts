/**
 * Every core primitive's VJP rule against central finite differences (`checkGrad`, float64), on
 * random shapes and values with broadcasting; then grad of grad the same way. Each loss is
 * `Σ w ⊙ f(x)` with fixed, non-uniform weights w, so the cotangent reaching the rule is not all ones.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  abs,
  astype,
  broadcastTo,
  checkGrad,
  clip,
  concat,
  cos,
  diag,
  div,
  dot,
  equal,
  erf,
  exp,
  expandDims,
  floor,
  gelu,
  grad,
  greater,
  less,
  log,
  logSoftmax,
  logsumexp,
  matmul,
  matmulT,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  norm,
  outer,
  pad,
  pow,
  prod,
  reciprocal,
  relu,
  reshape,
  scatterAdd,
  sigmoid,
  sign,
  sin,
  slice,
  softmax,
  sqrt,
  square,
  squeeze,
  stack,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  trace,
  transpose,
  tril,
  triu,
  variance,
  where,
} from "../mod.ts";
import { arbitraryMatmulCase } from "./core_ops_helpers.ts";
import { add } from "../core/ops/mod.ts";
import {
  arbitraryAxes,
  arbitraryBroadcastShapes,
  arbitraryPerm,
  arbitraryShape,
  arbitraryTensor,
  arbitraryValues,
  type TensorArbOptions,
  tensorOfShape,
} from "../testing/arbitraries.ts";

const RUNS = { numRuns: 50 };
const f64 = (v: number[], shape: readonly number[]) => tensor(Float64Array.from(v), { shape, dtype: "float64" });

/** Fixed weights `1 + ½ sin(1.7 i + 0.3)` of a shape. */
function weights(shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return f64(Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(1.7 * i + 0.3)), shape);
}
/** `Σ w ⊙ y`: a scalar loss that sends a non-uniform cotangent into `y`. */
const weighted = (y: Tensor): Tensor => sum(mul(y, weights(y.shape)));

/** Two float64 tensors of the given shapes whose elements are all distinct (no ties between them). */
function distinctPair(sa: number[], sb: number[], opts: TensorArbOptions = {}): fc.Arbitrary<[Tensor, Tensor]> {
  const na = sa.reduce((a, b) => a * b, 1), nb = sb.reduce((a, b) => a * b, 1);
  return arbitraryValues(na + nb, { ...opts, distinct: true })
    .map((v) => [f64(v.slice(0, na), sa), f64(v.slice(na), sb)]);
}

// ------------------------------------------------------------------------------------------------
// unary

const UNARY: [string, (x: Tensor) => Tensor, TensorArbOptions][] = [
  ["neg", neg, {}],
  ["exp", exp, {}],
  ["log", log, { min: 0.2, max: 3 }],
  ["sqrt", sqrt, { min: 0.2, max: 3 }],
  ["abs", abs, { distinct: true }],
  ["sign", sign, { distinct: true }],
  ["tanh", tanh, {}],
  ["sin", sin, {}],
  ["cos", cos, {}],
  ["erf", erf, {}],
  ["floor", floor, { distinct: true }],
];

for (const [name, op, range] of UNARY) {
  Deno.test(`vjp: unary ${name}`, () => {
    fc.assert(fc.property(arbitraryTensor(range), (x) => checkGrad((a) => weighted(op(a)), [x]) <= 1), RUNS);
  });
}

// ------------------------------------------------------------------------------------------------
// binary, with broadcasting

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, TensorArbOptions, TensorArbOptions][] = [
  ["add", add, {}, {}],
  ["sub", sub, {}, {}],
  ["mul", mul, {}, {}],
  ["div", div, {}, { min: 0.5, max: 2 }],
  ["pow", pow, { min: 0.3, max: 2 }, { min: -2, max: 2 }],
];

for (const [name, op, ra, rb] of BINARY) {
  Deno.test(`vjp: binary ${name} with broadcasting`, () => {
    const arb = arbitraryBroadcastShapes().chain(([sa, sb]) => fc.tuple(tensorOfShape(sa, ra), tensorOfShape(sb, rb)));
    fc.assert(fc.property(arb, ([a, b]) => checkGrad((x, y) => weighted(op(x, y)), [a, b]) <= 1), RUNS);
  });
}

for (const [name, op] of [["max", maximum], ["min", minimum]] as const) {
  Deno.test(`vjp: binary ${name} with broadcasting (distinct values), ties split evenly`, () => {
    const arb = arbitraryBroadcastShapes().chain(([sa, sb]) => distinctPair(sa, sb));
    fc.assert(fc.property(arb, ([a, b]) => checkGrad((x, y) => weighted(op(x, y)), [a, b]) <= 1), RUNS);
    // a tie sends half the cotangent to each side, as JAX does
    const [ga, gb] = grad((x: Tensor, y: Tensor) => sum(op(x, y)), { argnums: [0, 1] })(
      f64([1, 2], [2]),
      f64([1, 3], [2]),
    ) as Tensor[];
    assert.deepEqual([...ga.dataSync()], name === "max" ? [0.5, 0] : [0.5, 1]);
    assert.deepEqual([...gb.dataSync()], name === "max" ? [0.5, 1] : [0.5, 0]);
  });
}

Deno.test("vjp: comparisons pass no gradient", () => {
  const a = f64([1, 2, 3], [3]), b = f64([2, 2, 2], [3]);
  for (const cmp of [less, greater, equal]) {
    const [ga, gb] = grad((x: Tensor, y: Tensor) => sum(mul(astype(cmp(x, y), "float64"), x)), { argnums: [0, 1] })(
      a,
      b,
    ) as Tensor[];
    assert.deepEqual([...ga.dataSync()], [...astype(cmp(a, b), "float64").dataSync()]);
    assert.deepEqual([...gb.dataSync()], [0, 0, 0]);
  }
});

Deno.test("vjp: where with cond, a and b all broadcasting", () => {
  const arb = arbitraryBroadcastShapes({}, 3).chain(([sc, sa, sb]) =>
    fc.tuple(tensorOfShape(sc, { dtype: "bool" }), tensorOfShape(sa), tensorOfShape(sb))
  );
  fc.assert(
    fc.property(arb, ([c, a, b]) => checkGrad((x, y) => weighted(where(c, x, y)), [a, b]) <= 1),
    RUNS,
  );
});

Deno.test("vjp: cast float64 → float32 → float64 is the identity's gradient; to int32 passes none", () => {
  fc.assert(
    fc.property(arbitraryTensor(), (x) =>
      // float32 rounding makes finite differences noisy: a larger step and tolerance
      checkGrad((a) => weighted(astype(astype(a, "float32"), "float64")), [x], { eps: 1e-2, rtol: 1e-3, atol: 1e-5 }) <=
        1),
    RUNS,
  );
  const g = grad((a: Tensor) => sum(astype(astype(mul(a, 3), "int32"), "float64")))(f64([1.5, 2.5], [2]));
  assert.deepEqual([...g.dataSync()], [0, 0]);
});

// ------------------------------------------------------------------------------------------------
// reductions

const REDUCE: [string, typeof sum, TensorArbOptions][] = [
  ["sum", sum, {}],
  ["max", max, { distinct: true }],
  ["min", min, { distinct: true }],
  ["prod", prod, { min: 0.5, max: 1.5 }],
];

for (const [name, op, range] of REDUCE) {
  Deno.test(`vjp: reduce ${name} over random axes, keepdims or not`, () => {
    const arb = arbitraryShape({ minRank: 1 }).chain((s) =>
      fc.tuple(tensorOfShape(s, range), arbitraryAxes(s.length), fc.boolean())
    );
    fc.assert(
      fc.property(arb, ([x, axes, keepdims]) => checkGrad((a) => weighted(op(a, { axis: axes, keepdims })), [x]) <= 1),
      RUNS,
    );
  });
}

Deno.test("vjp: prod with a zero element (gradient is the product of the others)", () => {
  const x = f64([0, 2, 3, 0.5, -1, 4], [2, 3]);
  assert.ok(checkGrad((a) => weighted(prod(a, { axis: 1 })), [x]) <= 1);
  assert.deepEqual([...grad((a: Tensor) => prod(a))(f64([0, 2, 3], [3])).dataSync()], [6, 0, 0]);
});

Deno.test("vjp: max shares the gradient among tied maxima", () => {
  const g = grad((a: Tensor) => max(a))(f64([1, 3, 3, 3], [4]));
  assert.deepEqual([...g.dataSync()], [0, 1 / 3, 1 / 3, 1 / 3]);
});

// ------------------------------------------------------------------------------------------------
// shape primitives

Deno.test("vjp: transpose with a random permutation", () => {
  const arb = arbitraryTensor().chain((x) => fc.tuple(fc.constant(x), arbitraryPerm(x.ndim)));
  fc.assert(fc.property(arb, ([x, perm]) => checkGrad((a) => weighted(transpose(a, perm)), [x]) <= 1), RUNS);
});

Deno.test("vjp: reshape to a permuted shape with extra unit axes", () => {
  const arb = arbitraryTensor().chain((x) =>
    fc.tuple(fc.constant(x), arbitraryPerm(x.ndim), fc.integer({ min: 0, max: 2 }))
      .map(([t, p, ones]) => [t, [...p.map((i) => t.shape[i]), ...Array(ones).fill(1)]] as const)
  );
  fc.assert(fc.property(arb, ([x, shape]) => checkGrad((a) => weighted(reshape(a, shape)), [x]) <= 1), RUNS);
});

Deno.test("vjp: broadcastTo", () => {
  const arb = arbitraryBroadcastShapes().chain(([sa, sb]) => {
    const n = Math.max(sa.length, sb.length);
    const out = Array.from({ length: n }, (_, i) => Math.max(sa[sa.length - n + i] ?? 1, sb[sb.length - n + i] ?? 1));
    return fc.tuple(tensorOfShape(sa), fc.constant(out));
  });
  fc.assert(fc.property(arb, ([x, out]) => checkGrad((a) => weighted(broadcastTo(a, out)), [x]) <= 1), RUNS);
});

Deno.test("vjp: slice with random (also negative) ranges", () => {
  const arb = arbitraryShape({ minRank: 1 }).chain((s) =>
    fc.tuple(
      tensorOfShape(s),
      fc.tuple(...s.map((d) =>
        fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d }), fc.boolean())
          .map(([p, q, negative]) => {
            const [lo, hi] = p <= q ? [p, q] : [q, p];
            return (negative && hi < d ? [lo - d, hi - d] : [lo, hi]) as [number, number];
          })
      )),
    )
  );
  fc.assert(fc.property(arb, ([x, ranges]) => checkGrad((a) => weighted(slice(a, ranges)), [x]) <= 1), RUNS);
});

Deno.test("vjp: pad with random widths and value", () => {
  const arb = arbitraryTensor().chain((x) =>
    fc.tuple(
      fc.constant(x),
      fc.tuple(...x.shape.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
      fc.double({ min: -3, max: 3, noNaN: true }),
    )
  );
  fc.assert(
    fc.property(arb, ([x, widths, value]) => checkGrad((a) => weighted(pad(a, widths, value)), [x]) <= 1),
    RUNS,
  );
});

Deno.test("vjp: concat of 1 to 3 tensors along a random axis", () => {
  const arb = arbitraryShape({ minRank: 1 }).chain((s) =>
    fc.tuple(
      fc.integer({ min: 0, max: s.length - 1 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    )
      .chain(([axis, extents]) =>
        fc.tuple(
          fc.constant(axis),
          fc.tuple(...extents.map((e) => tensorOfShape(s.map((d, i) => (i === axis ? e : d))))),
        )
      )
  );
  fc.assert(
    fc.property(arb, ([axis, xs]) => checkGrad((...as) => weighted(concat(as, axis)), xs) <= 1),
    RUNS,
  );
});

/** A tensor, an axis and int32 indices (repeats and negatives included) along it. */
const gatherCase = arbitraryShape({ minRank: 1 }).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
    fc.tuple(
      tensorOfShape(s),
      fc.constant(axis),
      arbitraryShape({ maxRank: 2, maxDim: 3 }).chain((is) =>
        tensorOfShape(is, { dtype: "int32", min: -s[axis], max: s[axis] - 1 })
      ),
    )
  )
);

Deno.test("vjp: gather (take) with repeated and negative indices", () => {
  fc.assert(
    fc.property(gatherCase, ([x, axis, idx]) => checkGrad((a) => weighted(take(a, idx, axis)), [x]) <= 1),
    RUNS,
  );
});

Deno.test("vjp: scatterAdd with respect to the updates", () => {
  const arb = gatherCase.chain(([x, axis, idx]) =>
    fc.tuple(
      fc.constant(x.shape),
      fc.constant(axis),
      fc.constant(idx),
      tensorOfShape([...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)]),
    )
  );
  fc.assert(
    fc.property(arb, ([shape, axis, idx, u]) => checkGrad((a) => weighted(scatterAdd(idx, a, axis, shape)), [u]) <= 1),
    RUNS,
  );
});

// ------------------------------------------------------------------------------------------------
// matmul

/** Operands for matmulT: broadcasting batch axes, m, k, n in 1..4, random transposes. */
const matmulCase = arbitraryMatmulCase(2, 4, 1);

Deno.test("vjp: matmul with transA/transB and batch broadcasting", () => {
  fc.assert(
    fc.property(matmulCase, ([a, b, tA, tB]) => checkGrad((x, y) => weighted(matmulT(x, y, tA, tB)), [a, b]) <= 1),
    RUNS,
  );
});

Deno.test("vjp: matmul with 1-D operands", () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }))
    .chain(([k, n, which]) =>
      fc.tuple(
        tensorOfShape(which === 1 ? [n, k] : [k]),
        tensorOfShape(which === 0 ? [2, k, n] : [k]),
      )
    );
  fc.assert(fc.property(arb, ([a, b]) => checkGrad((x, y) => weighted(matmul(x, y)), [a, b]) <= 1), RUNS);
});

// ------------------------------------------------------------------------------------------------
// composite ops: built from the primitives, so their gradients come for free — check them anyway

const sq: TensorArbOptions = { minRank: 2, maxRank: 2, shape: [3, 3] };
const COMPOSITE: [string, (a: Tensor) => Tensor, TensorArbOptions][] = [
  ["softmax", (a) => softmax(a, { axis: 0 }), { minRank: 1 }],
  ["logSoftmax", (a) => logSoftmax(a), { minRank: 1 }],
  ["logsumexp", (a) => logsumexp(a, { axis: -1, keepdims: true }), { minRank: 1 }],
  ["mean", (a) => mean(a, { axis: 0 }), { minRank: 1 }],
  ["variance", (a) => variance(a, { axis: -1, ddof: 1 }), { shape: [3, 4] }],
  ["norm 2", (a) => norm(a, { axis: -1 }), { minRank: 1, distinct: true }],
  ["norm 1", (a) => norm(a, { ord: 1 }), { distinct: true }],
  ["norm 3", (a) => norm(a, { ord: 3 }), { distinct: true }],
  ["norm inf", (a) => norm(a, { ord: Infinity }), { distinct: true }],
  ["sigmoid", sigmoid, {}],
  ["relu", relu, { distinct: true }],
  ["gelu", (a) => gelu(a), {}],
  ["gelu tanh", (a) => gelu(a, { approximate: "tanh" }), {}],
  ["clip", (a) => clip(a, -0.5, 0.7), { distinct: true }],
  ["square, reciprocal", (a) => reciprocal(add(square(a), 1)), {}],
  ["diag, trace, triu, tril", (a) => add(mul(trace(a), diag(diag(a, 1), -1)), sub(triu(a, 1), tril(a))), sq],
  ["outer, dot", (a) => mul(outer(diag(a), diag(a)), dot(a, a)), sq],
  ["stack, expandDims, squeeze", (a) => squeeze(stack([a, expandDims(sum(a), 0)], 0), 1), { shape: [1] }],
];

for (const [name, f, range] of COMPOSITE) {
  Deno.test(`vjp: composite ${name}`, () => {
    fc.assert(fc.property(arbitraryTensor(range), (x) => checkGrad((a) => weighted(f(a)), [x]) <= 1), RUNS);
  });
}

Deno.test("vjp: norm's gradient at zero is zero (a subgradient), not NaN", () => {
  assert.deepEqual([...grad((a: Tensor) => norm(a))(f64([0, 0], [2])).dataSync()], [0, 0]);
});

// ------------------------------------------------------------------------------------------------
// grad of grad: the VJP rules are differentiable ops, so their own VJPs must be right too

const GG_RUNS = { numRuns: 25 };
const gg = (f: (a: Tensor) => Tensor) => (x: Tensor) => weighted(grad((a: Tensor) => weighted(f(a)))(x));
const small: TensorArbOptions = { maxRank: 2, maxDim: 3 };
/** A threshold far (relative to the step) from every point of the `distinct` grids. */
const KINK = Math.SQRT2 / 100;

const SECOND: [string, (a: Tensor) => Tensor, TensorArbOptions][] = [
  ["exp", exp, small],
  ["log", log, { ...small, min: 0.3, max: 3 }],
  ["sqrt", sqrt, { ...small, min: 0.3, max: 3 }],
  ["tanh", tanh, small],
  ["sin", sin, small],
  ["cos", cos, small],
  ["erf", erf, small],
  ["abs ∘ sin", (a) => abs(sin(a)), { ...small, min: 0.1, max: 3 }],
  ["div", (a) => div(sin(a), add(mul(a, a), 1)), small],
  ["pow", (a) => pow(a, a), { ...small, min: 0.3, max: 2 }],
  ["maximum", (a) => mul(maximum(a, KINK), a), { ...small, distinct: true }],
  ["where", (a) => where(greater(a, KINK), mul(a, a), exp(a)), { ...small, distinct: true }],
  ["prod", (a) => prod(a, { axis: -1 }), { ...small, minRank: 1, min: 0.5, max: 1.5 }],
  ["max", (a) => mul(max(a, { axis: 0, keepdims: true }), a), { ...small, minRank: 1, distinct: true }],
  ["transpose/reshape/slice/pad", (a) => {
    const t = reshape(transpose(pad(mul(a, a), [[1, 0]], 0.5)), [-1]);
    return slice(mul(t, t), [[1, t.shape[0]]]);
  }, small],
  ["broadcast/concat/take", (a) => {
    const c = concat([a, mul(a, a)], 0);
    return mul(take(c, [0, -1, 0], 0), sin(broadcastTo(sum(a), [3, ...a.shape.slice(1)])));
  }, { ...small, minRank: 1 }],
];

for (const [name, f, range] of SECOND) {
  Deno.test(`grad of grad: ${name}`, () => {
    fc.assert(fc.property(arbitraryTensor(range), (x) => checkGrad(gg(f), [x]) <= 1), GG_RUNS);
  });
}

Deno.test("grad of grad: matmul with transposes and batch broadcasting", () => {
  fc.assert(
    fc.property(matmulCase, ([a, b, tA, tB]) => {
      // second derivative of Σ w ⊙ (AB)² in A and B jointly
      const f = (x: Tensor, y: Tensor) => {
        const [gx, gy] = grad((p: Tensor, q: Tensor) => weighted(mul(matmulT(p, q, tA, tB), matmulT(p, q, tA, tB))), {
          argnums: [0, 1],
        })(x, y) as Tensor[];
        return add(weighted(gx), weighted(gy));
      };
      return checkGrad(f, [a, b]) <= 1;
    }),
    GG_RUNS,
  );
});

Deno.test("grad of grad of grad: x³ has third derivative 6", () => {
  const d3 = grad((a: Tensor) => grad((b: Tensor) => grad((c: Tensor) => mul(mul(c, c), c))(b))(a));
  assert.equal(d3(tensor(1.7, { dtype: "float64" })).item(), 6);
});
