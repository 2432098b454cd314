/**
 * Batching rules, one per primitive (the table's type lists every primitive, so a missing rule is a
 * compile error). A rule receives the inputs of one primitive application where `batched[i]` says
 * whether input i carries the batch as its first axis (size `size`); the others are one example's
 * value, shared by all. It returns the outputs with the batch as their first axis, computed with
 * ordinary ops on the batched values (so rules compose with grad, jit and an outer vmap).
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import * as o from "../core/ops/mod.ts";
import { bind } from "../core/primitive.ts";
import type { ParamsOf, PrimitiveName } from "./rules.ts";
import { ALL_PRIMITIVES } from "./rules.ts";

/** How one primitive runs on a batch. */
export type BatchRule<P> = (args: Tensor[], batched: readonly boolean[], params: P, size: number) => Tensor[];

/** `x` (one example) repeated `size` times along a new first axis. */
export function repeat(x: Tensor, size: number): Tensor {
  return o.broadcastTo(o.expandDims(x, 0), [size, ...x.shape]);
}

/** Every input with the batch first (unbatched ones repeated). */
function all(args: Tensor[], batched: readonly boolean[], size: number): Tensor[] {
  return args.map((a, i) => (batched[i] ? a : repeat(a, size)));
}

/** Batched inputs reshaped to `[B, 1…, ...shape]` of `rank` example axes, so they broadcast right-aligned. */
function alignRank(args: Tensor[], batched: readonly boolean[], rank: number): Tensor[] {
  return args.map((a, i) => {
    if (!batched[i] || a.ndim - 1 === rank) return a;
    return o.reshape(a, [a.shape[0], ...Array(rank - (a.ndim - 1)).fill(1), ...a.shape.slice(1)]);
  });
}

function exampleRank(args: Tensor[], batched: readonly boolean[]): number {
  return Math.max(...args.map((a, i) => a.ndim - (batched[i] ? 1 : 0)));
}

/** The primitive applied to the inputs as they are (the batch axis is just a leading axis). */
function direct<N extends PrimitiveName>(name: N): BatchRule<ParamsOf<N>> {
  return (args, _b, params) => bind(ALL_PRIMITIVES[name] as never, args, params as never);
}

/** Elementwise with NumPy broadcasting: ranks aligned after the batch axis. */
function broadcasting<N extends PrimitiveName>(name: N): BatchRule<ParamsOf<N>> {
  return (args, batched, params) =>
    bind(ALL_PRIMITIVES[name] as never, alignRank(args, batched, exampleRank(args, batched)), params as never);
}

/** Primitives on the last two axes (matrices) with leading batch axes: the vmap axis is one more. */
function matrixBatched<N extends PrimitiveName>(name: N): BatchRule<ParamsOf<N>> {
  return direct(name);
}

const shift = (axes: readonly number[]) => axes.map((a) => a + 1);

/** In-range, non-negative indices (negative ones count from the end of an axis of extent `d`). */
function wrapIndex(idx: Tensor, d: number): Tensor {
  return o.where(o.less(idx, 0), o.add(idx, d), idx);
}

/** The batching rule of every primitive. */
export const BATCH_RULES: { readonly [N in PrimitiveName]: BatchRule<ParamsOf<N>> } = {
  unary: direct("unary"),
  cast: direct("cast"),
  stopGradient: direct("stopGradient"),
  binary: broadcasting("binary"),
  where: broadcasting("where"),
  reduce: ([x], _b, { op, axes }) => bind(ALL_PRIMITIVES.reduce, [x], { op, axes: shift(axes) }),
  argReduce: ([x], _b, { op, axis }) => bind(ALL_PRIMITIVES.argReduce, [x], { op, axis: axis + 1 }),
  sort: ([x], _b, { axis, descending }) => bind(ALL_PRIMITIVES.sort, [x], { axis: axis + 1, descending }),
  cumulative: ([x], _b, p) => bind(ALL_PRIMITIVES.cumulative, [x], { ...p, axis: p.axis + 1 }),
  logSoftmax: ([x], _b, { axis }) => bind(ALL_PRIMITIVES.logSoftmax, [x], { axis: axis + 1 }),
  logSoftmaxVjp: (args, batched, { axis }, size) =>
    bind(ALL_PRIMITIVES.logSoftmaxVjp, all(args, batched, size), { axis: axis + 1 }),
  transpose: ([x], _b, { perm }) => [o.transpose(x, [0, ...shift(perm)])],
  reshape: ([x], _b, { shape }) => [o.reshape(x, [x.shape[0], ...shape])],
  broadcast: ([x], _b, { shape }) => [o.broadcastTo(x, [x.shape[0], ...shape])],
  slice: ([x], _b, { starts, stops }) =>
    bind(ALL_PRIMITIVES.slice, [x], { starts: [0, ...starts], stops: [x.shape[0], ...stops] }),
  pad: ([x], _b, { widths, value }) => bind(ALL_PRIMITIVES.pad, [x], { widths: [[0, 0], ...widths], value }),
  concat: (xs, batched, { axis }, size) => bind(ALL_PRIMITIVES.concat, all(xs, batched, size), { axis: axis + 1 }),
  gather: ([x, idx], batched, { axis, ids, op }, size) => {
    if (!batched[1]) return bind(ALL_PRIMITIVES.gather, [x, idx], { axis: axis + 1, ids, op });
    // out[b, p, i, q] = x[b, p, idx[b, i], q]: one gather over the batch and the axis merged
    const xb = batched[0] ? x : repeat(x, size);
    const pre = xb.shape.slice(1, axis + 1), post = xb.shape.slice(axis + 2), d = xb.shape[axis + 1];
    const P = pre.reduce((a, b) => a * b, 1), Q = post.reduce((a, b) => a * b, 1);
    const merged = o.reshape(o.transpose(o.reshape(xb, [size, P, d, Q]), [1, 0, 2, 3]), [P, size * d, Q]);
    const ishape = idx.shape.slice(1);
    const I = ishape.reduce((a, b) => a * b, 1);
    // every example's indices checked against its own axis first (a gather of zeros: its error names
    // the example's extent; an index past it would otherwise read the next example's rows), the
    // zeros added so the check stays in a jit graph
    const checked =
      bind(ALL_PRIMITIVES.gather, [o.zeros([d], { dtype: "int32", like: idx }), idx], { axis: 0, ids, op })[0];
    const flat = o.reshape(
      o.add(
        o.reshape(o.add(wrapIndex(idx, d), checked), [size, I]),
        o.reshape(o.mul(o.arange(size, undefined, 1, { like: idx }), d), [size, 1]),
      ),
      [-1],
    );
    const out = o.take(merged, flat, 1); // [P, B·I, Q]
    return [o.reshape(o.transpose(o.reshape(out, [P, size, I, Q]), [1, 0, 2, 3]), [size, ...pre, ...ishape, ...post])];
  },
  scatterAdd: ([idx, upd], batched, { axis, shape }, size) => {
    const u = batched[1] ? upd : repeat(upd, size);
    if (!batched[0]) return bind(ALL_PRIMITIVES.scatterAdd, [idx, u], { axis: axis + 1, shape: [size, ...shape] });
    const pre = shape.slice(0, axis), post = shape.slice(axis + 1), d = shape[axis];
    const P = pre.reduce((a, b) => a * b, 1), Q = post.reduce((a, b) => a * b, 1);
    const I = idx.shape.slice(1).reduce((a, b) => a * b, 1); // per example (idx.size / size is NaN for none)
    const ub = o.reshape(o.transpose(o.reshape(u, [size, P, I, Q]), [1, 0, 2, 3]), [P, size * I, Q]);
    // every example's indices checked against its own axis first (a scatter of zeros into [d]: its
    // error is scatterAdd's, naming the example's extent; an index past it would otherwise add into
    // the next example's rows), the zero sum added so the check stays in a jit graph
    const zero = o.sum(
      bind(ALL_PRIMITIVES.scatterAdd, [idx, o.zeros(idx.shape, { dtype: "int32", like: idx })], {
        axis: 0,
        shape: [d],
      })[0],
    );
    const flat = o.reshape(
      o.add(
        o.reshape(o.add(wrapIndex(idx, d), zero), [size, I]),
        o.reshape(o.mul(o.arange(size, undefined, 1, { like: idx }), d), [size, 1]),
      ),
      [-1],
    );
    const out = o.scatterAdd(flat, ub, 1, [P, size * d, Q]);
    return [o.reshape(o.transpose(o.reshape(out, [P, size, d, Q]), [1, 0, 2, 3]), [size, ...shape])];
  },
  matmul: ([a, b], batched, params) => {
    // batch axes broadcast right-aligned: pad the batched operand's example axes to the longer rank
    const rank = exampleRank([a, b], batched);
    const [x, y] = alignRank([a, b], batched, rank);
    if (batched[0] && !batched[1] && b.ndim === 2 && !params.transA && a.ndim === 3) {
      // [B, m, k] @ [k, n]: one product of [B·m, k] with the shared matrix
      const m = a.shape[1], k = a.shape[2];
      const r = bind(ALL_PRIMITIVES.matmul, [o.reshape(a, [a.shape[0] * m, k]), b], params)[0];
      return [o.reshape(r, [a.shape[0], m, r.shape[1]])];
    }
    return bind(ALL_PRIMITIVES.matmul, [x, y], params);
  },
  full: direct("full"),
  random: direct("random"),
  qr: matrixBatched("qr"),
  svd: matrixBatched("svd"),
  eigh: matrixBatched("eigh"),
  cholesky: matrixBatched("cholesky"),
  lu: matrixBatched("lu"),
  // the squaring count of a batch is its largest: every example is scaled enough
  expmSquarings: ([x], _b, params, size) => [repeat(bind(ALL_PRIMITIVES.expmSquarings, [x], params)[0], size)],
  triangularSolve: ([a, b], batched, params, size) => {
    // A's batch axes are B's or none: a shared 2-D A serves every example
    if (!batched[0] && a.ndim === 2) return bind(ALL_PRIMITIVES.triangularSolve, [a, b], params);
    const [x, y] = all([a, b], batched, size);
    return bind(ALL_PRIMITIVES.triangularSolve, [x, y], params);
  },
};
