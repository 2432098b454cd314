/**
 * vmap (issue 11): for every primitive, `vmap(f)` equals the loop over the batch (a property over
 * random shapes, batch sizes and batch axes, `null` included); the case table is typed over every
 * primitive, so a new primitive needs a case here too. Then pytrees in inAxes/outAxes, nesting,
 * composition with grad in both orders, per-example gradients, and the errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { vmap } from "../autodiff/vmap.ts";
import type { PrimitiveName } from "../autodiff/rules.ts";
import { ALL_PRIMITIVES } from "../autodiff/rules.ts";
import * as linalg from "../core/linalg/mod.ts";

/** A small deterministic generator (mulberry32). */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    shape: (minRank: number, maxRank: number, maxDim = 3) =>
      Array.from({ length: lo(minRank, maxRank) }, () => 1 + Math.floor(next() * maxDim)),
  };
  function lo(a: number, b: number) {
    return a + Math.floor(next() * (b - a + 1));
  }
}
type Rng = ReturnType<typeof rng>;

interface Case {
  /** Example shapes of the inputs. */
  shapes: number[][];
  /** One example's value of input i (default: normal float64). */
  make?: (i: number, shape: number[], r: Rng) => Tensor;
  /** The function of one example. */
  f: (...xs: Tensor[]) => Tensor | Tensor[];
}

const normal64 = (shape: number[], r: Rng) =>
  T.tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next() * 4 - 2), { shape });
const spd = (n: number, r: Rng) => {
  const a = normal64([n, n], r);
  return T.add(T.matmul(a, T.matrixTranspose(a)), T.mul(T.eye(n, { dtype: "float64" }), n));
};

/** One case generator per primitive: the table's type lists them all. */
const CASES: { readonly [N in PrimitiveName]: (r: Rng) => Case } = {
  unary: (r) => {
    const ops = [T.exp, T.tanh, T.sin, T.neg, T.abs, T.erf, T.expm1, (x: Tensor) => T.log1p(T.abs(x))];
    const op = ops[r.int(0, ops.length - 1)];
    return { shapes: [r.shape(0, 3)], f: (x) => op(x) };
  },
  binary: (r) => {
    const out = r.shape(0, 3);
    const sub = () => out.slice(r.int(0, out.length)).map((d) => (r.next() < 0.3 ? 1 : d));
    const ops = [T.add, T.mul, T.sub, T.maximum, T.greater, (a: Tensor, b: Tensor) => T.div(a, T.add(T.abs(b), 1))];
    const op = ops[r.int(0, ops.length - 1)];
    return { shapes: [sub(), sub()], f: (a, b) => op(a, b) };
  },
  where: (r) => {
    const s = r.shape(0, 3);
    return { shapes: [s, s.slice(r.int(0, s.length))], f: (a, b) => T.where(T.greater(a, 0), a, b) };
  },
  stopGradient: (r) => ({ shapes: [r.shape(0, 3)], f: (x) => T.stopGradient(T.mul(x, 2)) }),
  cast: (r) => ({ shapes: [r.shape(0, 3)], f: (x) => T.astype(T.mul(x, 3), "int32") }),
  reduce: (r) => {
    const s = r.shape(1, 3);
    const axes = s.flatMap((_, i) => (r.next() < 0.5 ? [i] : []));
    const ops = [T.sum, T.max, T.min, T.prod];
    const op = ops[r.int(0, 3)];
    const keepdims = r.next() < 0.5;
    return { shapes: [s], f: (x) => op(x, { axis: axes, keepdims }) };
  },
  argReduce: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(-s.length, s.length - 1);
    return { shapes: [s], f: (x) => [T.argmax(x, { axis: ax }), T.argmin(x, { axis: ax })] };
  },
  sort: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(-s.length, s.length - 1);
    return { shapes: [s], f: (x) => [T.sort(x, { axis: ax }), T.argsort(x, { axis: ax, descending: true })] };
  },
  cumulative: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(0, s.length - 1);
    return { shapes: [s], f: (x) => [T.cumsum(x, ax), T.cumprod(x, ax, { reverse: true })] };
  },
  logSoftmax: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(-s.length, s.length - 1);
    return { shapes: [s], f: (x) => T.logSoftmax(x, { axis: ax }) };
  },
  logSoftmaxVjp: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(-s.length, s.length - 1);
    // the gradient of ⟨logSoftmax(x), g⟩ binds the VJP primitive on (y, g), each batched or shared
    const f = (x: Tensor, g: Tensor) => T.grad((t: Tensor) => T.sum(T.mul(T.logSoftmax(t, { axis: ax }), g)))(x);
    return { shapes: [s, s], f: (x, g) => f(x, g) as Tensor };
  },
  transpose: (r) => {
    const s = r.shape(2, 4);
    const perm = [...s.keys()].sort(() => r.next() - 0.5);
    return { shapes: [s], f: (x) => T.transpose(x, perm) };
  },
  reshape: (r) => ({ shapes: [r.shape(1, 3)], f: (x) => T.reshape(x, [-1]) }),
  broadcast: (r) => {
    const s = r.shape(1, 3);
    const small = s.map((d) => (r.next() < 0.5 ? 1 : d));
    return { shapes: [small], f: (x) => T.broadcastTo(x, [2, ...s]) };
  },
  slice: (r) => {
    const s = r.shape(1, 3, 4);
    const ranges = s.map((d) => [r.int(0, d - 1), d] as [number, number]);
    return { shapes: [s], f: (x) => T.slice(x, ranges) };
  },
  pad: (r) => {
    const s = r.shape(1, 3);
    const w = s.map(() => [r.int(0, 2), r.int(0, 2)] as [number, number]);
    return { shapes: [s], f: (x) => T.pad(x, w, 1.5) };
  },
  concat: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(0, s.length - 1);
    const s2 = s.map((d, i) => (i === ax ? r.int(1, 3) : d));
    return { shapes: [s, s2], f: (a, b) => T.concat([a, b], ax) };
  },
  gather: (r) => {
    const s = r.shape(1, 3, 4);
    const ax = r.int(0, s.length - 1);
    const d = s[ax];
    return {
      shapes: [s, [r.int(1, 4)]],
      make: (i, shape, rr) =>
        i === 0 ? normal64(shape, rr) : T.tensor(Int32Array.from({ length: shape[0] }, () => rr.int(-d, d - 1))),
      f: (x, idx) => T.take(x, idx, ax),
    };
  },
  scatterAdd: (r) => {
    const s = r.shape(1, 3);
    const ax = r.int(0, s.length - 1);
    const n = r.int(1, 4);
    const upd = s.map((d, i) => (i === ax ? n : d));
    return {
      shapes: [[n], upd],
      make: (i, shape, rr) =>
        i === 1 ? normal64(shape, rr) : T.tensor(Int32Array.from({ length: n }, () => rr.int(0, s[ax] - 1))),
      f: (idx, u) => T.scatterAdd(idx, u, ax, s),
    };
  },
  matmul: (r) => {
    const [m, k, n] = [r.int(1, 3), r.int(1, 3), r.int(1, 3)];
    const batch = r.shape(0, 2);
    const a = r.next() < 0.5 ? [...batch, m, k] : [m, k];
    const b = r.next() < 0.5 ? [...batch, k, n] : [k, n];
    return { shapes: [a, b], f: (x, y) => T.matmul(x, y) };
  },
  full: (r) => ({ shapes: [r.shape(0, 2)], f: (x) => T.add(x, T.full(x.shape, 2, { dtype: "float64" })) }),
  random: (r) => ({
    shapes: [r.shape(0, 2)],
    f: (x) => T.add(x, T.astype(T.normal(T.key(3), x.shape), "float64")),
  }),
  qr: (r) => ({ shapes: [[r.int(2, 4), r.int(1, 3)]], f: (x) => Object.values(linalg.qr(x)) }),
  svd: (r) => ({ shapes: [[r.int(1, 3), r.int(1, 3)]], f: (x) => linalg.svd(x).S }),
  eigh: (r) => {
    const n = r.int(1, 3);
    return { shapes: [[n, n]], make: (_i, _s, rr) => spd(n, rr), f: (x) => linalg.eigh(x).eigenvalues };
  },
  cholesky: (r) => {
    const n = r.int(1, 3);
    return { shapes: [[n, n]], make: (_i, _s, rr) => spd(n, rr), f: (x) => linalg.cholesky(x) };
  },
  lu: (r) => {
    const n = r.int(1, 3);
    return { shapes: [[n, n]], make: (_i, _s, rr) => spd(n, rr), f: (x) => [linalg.det(x), linalg.luFactor(x).lu] };
  },
  triangularSolve: (r) => {
    const n = r.int(1, 3);
    return {
      shapes: [[n, n], [n, r.int(1, 2)]],
      make: (i, s, rr) => (i === 0 ? spd(n, rr) : normal64(s, rr)),
      f: (a, b) => linalg.solve(a, b),
    };
  },
  expmSquarings: (r) => {
    const n = r.int(1, 3);
    return { shapes: [[n, n]], f: (x) => linalg.expm(T.mul(x, 0.3)) };
  },
};

function assertNear(got: Tensor, want: Tensor, what: string, tol = 1e-9): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  const g = got.dataSync(), w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    const a = Number(g[i]), b = Number(w[i]);
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: element ${i}: vmap ${a}, loop ${b}`);
  }
}

/** Runs a case: random batch size and batch axes; vmap against the loop. */
function check(name: string, seed: number): void {
  const r = rng(seed);
  const c = CASES[name as PrimitiveName](r);
  const size = r.int(1, 3);
  const make = c.make ?? ((_i: number, s: number[], rr: Rng) => normal64(s, rr));
  let axes = c.shapes.map((s) => (r.next() < 0.25 ? null : r.int(0, s.length)));
  if (axes.every((a) => a === null)) axes = axes.map((_, i) => (i === 0 ? 0 : null));
  const examples = c.shapes.map((s, i) =>
    axes[i] === null ? [make(i, s, r)] : Array.from({ length: size }, () => make(i, s, r))
  );
  const inputs = examples.map((ex, i) => (axes[i] === null ? ex[0] : T.stack(ex, axes[i]!)));
  const got = [vmap(c.f, { inAxes: axes })(...inputs)].flat();
  const loop = Array.from(
    { length: size },
    (_, b) => [c.f(...examples.map((ex, i) => ex[axes[i] === null ? 0 : b]))].flat(),
  );
  got.forEach((g, k) =>
    assertNear(
      g,
      T.stack(loop.map((outs) => outs[k])),
      `${name} (seed ${seed}, axes ${JSON.stringify(axes)}) output ${k}`,
    )
  );
}

for (const name of Object.keys(ALL_PRIMITIVES)) {
  Deno.test(`vmap equals the loop over the batch: ${name}`, () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => check(name, seed)), { numRuns: 12 });
  });
}

Deno.test("vmap: pytrees in inAxes and outAxes, null, negative axes, nesting", () => {
  const params = { w: T.tensor([[1, 2], [3, 4]]), b: T.tensor([0.5, -0.5]) };
  const xs = T.tensor([[1, 0], [0, 1], [2, 2]]);
  const f = (p: { w: Tensor; b: Tensor }, x: Tensor) => ({ y: T.add(T.matmul(p.w, x), p.b), n: T.sum(x) });
  const out = vmap(f, { inAxes: [{ w: null, b: null }, 0], outAxes: { y: 1, n: 0 } })(params, xs);
  assert.deepEqual(out.y.shape, [2, 3]);
  assert.deepEqual(out.y.arraySync(), [[1.5, 2.5, 6.5], [2.5, 3.5, 13.5]]);
  assert.deepEqual(out.n.arraySync(), [1, 1, 4]);
  // the batch along the last axis
  assert.deepEqual(vmap((x: Tensor) => T.sum(x), { inAxes: -1 })(T.tensor([[1, 2, 3], [4, 5, 6]])).arraySync(), [
    5,
    7,
    9,
  ]);
  // nested: an outer product of two batches
  const outer = vmap((a: Tensor) => vmap((b: Tensor) => T.mul(a, b))(T.tensor([1, 2, 3])))(T.tensor([10, 20]));
  assert.deepEqual(outer.arraySync(), [[10, 20, 30], [20, 40, 60]]);
  // an output that does not depend on the batch is repeated
  assert.deepEqual(vmap((_x: Tensor) => T.tensor(7))(T.tensor([1, 2])).arraySync(), [7, 7]);
});

Deno.test("vmap and grad compose: per-example gradients, grad of a vmapped loss, second order", () => {
  const loss = (w: Tensor, x: Tensor, y: Tensor) => T.square(T.sub(T.dot(w, x), y));
  const w = T.tensor([1, 2], { dtype: "float64" });
  const xs = T.tensor([[1, 0], [0, 1], [1, 1]], { dtype: "float64" }), ys = T.tensor([0, 1, 0], { dtype: "float64" });
  const per = vmap(T.grad(loss), { inAxes: [null, 0, 0] })(w, xs, ys) as Tensor;
  const loop = T.stack(
    [0, 1, 2].map((i) => T.grad(loss)(w, T.take(xs, [i], 0).reshape([2]), T.take(ys, [i]).reshape([])) as Tensor),
  );
  assertNear(per, loop, "per-example gradients", 0);
  const total = T.grad((v: Tensor) => T.sum(vmap(loss, { inAxes: [null, 0, 0] })(v, xs, ys)))(w) as Tensor;
  assertNear(total, T.sum(loop, { axis: 0 }), "grad of the vmapped loss", 1e-15);
  // per-example Hessian diagonals: vmap(grad(grad)) of a scalar function
  const h = vmap(T.grad(T.grad((x: Tensor) => T.mul(T.sin(x), x))))(
    T.tensor([0.1, 0.7], { dtype: "float64" }),
  ) as Tensor;
  const d2 = (x: number) => 2 * Math.cos(x) - x * Math.sin(x);
  assert.ok(Math.abs(h.dataSync()[1] - d2(0.7)) < 1e-14);
  // jvp through vmap
  const [, t] = T.jvp(vmap((x: Tensor) => T.mul(x, x)), [T.tensor([1, 2, 3])], [T.tensor([1, 1, 1])]);
  assert.deepEqual((t as Tensor).arraySync(), [2, 4, 6]);
});

Deno.test("vmap errors: mismatched batch sizes, nothing batched, a spec that does not fit, null outAxes of a batched output", () => {
  const f = (a: Tensor, b: Tensor) => T.add(a, b);
  assert.throws(() => vmap(f)(T.zeros([2, 3]), T.zeros([3, 3])), /batch sizes differ/);
  assert.throws(() => vmap(f, { inAxes: [null, null] })(T.zeros([2]), T.zeros([2])), /no argument is batched/);
  assert.throws(() => vmap(f, { inAxes: [0] })(T.zeros([2]), T.zeros([2])), /one per argument/);
  assert.throws(() => vmap((x: Tensor) => x, { outAxes: null })(T.zeros([2])), /depends on the batch/);
  assert.throws(() => vmap((x: Tensor) => x, { inAxes: 3 })(T.zeros([2])), T.ShapeError);
  let leaked: Tensor | undefined;
  vmap((x: Tensor) => (leaked = T.mul(x, 2)))(T.zeros([2]));
  assert.throws(() => T.add(leaked!, 1), /escaped/);
});

Deno.test("vmap of take with batched indices: an index outside its example's axis fails as it does alone", () => {
  const x = T.tensor([[0, 1, 2], [10, 11, 12]]);
  const pick = vmap((row: Tensor, i: Tensor) => T.take(row, i, 0));
  assert.deepEqual(
    pick(x, T.tensor([[2, -1], [0, -3]], { dtype: "int32" })).dataSync(),
    Float32Array.from([2, 2, 10, 10]),
  );
  // 3 in example 0 would be example 1's first element in the merged gather
  const message = "take: index 3 is out of range for an axis of extent 3; use indices in [-3, 2]";
  assert.throws(
    () => pick(x, T.tensor([[3], [0]], { dtype: "int32" })),
    (e: Error) => e instanceof T.DomainError && e.message === message,
  );
  // and in a jit replay of the batched gather
  const jitted = T.jit(pick);
  assert.deepEqual(jitted(x, T.tensor([[1], [2]], { dtype: "int32" })).dataSync(), Float32Array.from([1, 12]));
  assert.throws(() => jitted(x, T.tensor([[0], [-4]], { dtype: "int32" })), T.DomainError);
});
