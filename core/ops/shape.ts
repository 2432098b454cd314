/**
 * Shape operations: views, permutations, slicing, joining, indexing.
 * @module
 */
import { checkedIndices } from "../backend/backend.ts";
import { promote } from "../dtype.ts";
import { DomainError, DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { bind1 } from "../primitive.ts";
import {
  broadcastP,
  broadcastShapes,
  concatP,
  gatherP,
  padP,
  reshapeP,
  scatterAddP,
  sliceP,
  transposeP,
} from "../primitives.ts";
import { checkTensor, Tensor } from "../tensor.ts";
import { arange, eye, tensor } from "./creation.ts";
import { add, astype, equal, greaterEqual, less, mul, sub, where } from "./elementwise.ts";
import { normAxes, sum } from "./reduce.ts";

/** Throws a ShapeError naming `op` unless `v` is an integer (an axis, a diagonal offset). */
function checkInteger(op: string, what: string, v: unknown): void {
  if (!Number.isInteger(v)) throw new ShapeError(`${op}: ${what} must be an integer, got ${String(v)}`);
}

/** Throws a ShapeError naming `op` unless `v` is a list of numbers (a shape, a permutation). */
function checkList(op: string, what: string, v: unknown): void {
  if (!Array.isArray(v) || v.some((d) => typeof d !== "number")) {
    throw new ShapeError(
      `${op}: ${what} must be a list of numbers, got ${Array.isArray(v) ? `[${v.join(", ")}]` : String(v)}`,
    );
  }
}

function checkTensorList(op: string, xs: unknown): asserts xs is Tensor[] {
  if (!Array.isArray(xs)) throw new ShapeError(`${op}: give a list of tensors, got ${String(xs)}`);
  xs.forEach((x, i) => checkTensor(op, x, `tensor ${i}`));
}

function axisOf(op: string, ndim: number, axis: number): number {
  return normAxes(op, ndim, axis)[0];
}

/**
 * Same elements in a new shape; one extent may be −1, inferred from the others. A −1 beside extents
 * that multiply to 0 is a ShapeError (any extent would fit: `[0, 3]` as `[0, -1]`), as NumPy, JAX
 * and PyTorch refuse it; give that extent.
 * @example
 * ```ts
 * import { arange, reshape, zeros } from "@tangent/tangent";
 * reshape(arange(6), [2, -1]).shape; // [2, 3]
 * reshape(zeros([0, 3]), [0, 3]).shape; // [0, 3]; reshape(zeros([0, 3]), [0, -1]) throws
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor("reshape", x);
  checkList("reshape", "shape", shape);
  const s = [...shape];
  const hole = s.indexOf(-1);
  const known = s.reduce((a, d, i) => (i === hole ? a : a * d), 1);
  if (hole >= 0 && known === 0) {
    // beside extents multiplying to 0 any extent fits (NumPy, JAX and PyTorch refuse it too)
    throw new ShapeError(
      `reshape: the -1 in ${fmtShape(shape)} is ambiguous: the other extents multiply to 0, so any extent fits; ` +
        `give it (e.g. x.shape[1] / c rather than -1)`,
    );
  }
  if (hole >= 0) s[hole] = x.size / known;
  if (s.some((d) => !Number.isInteger(d) || d < 0) || s.reduce((a, b) => a * b, 1) !== x.size) {
    throw new ShapeError(
      `reshape: cannot view ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)}; ` +
        `the new shape must hold ${x.size} elements (one extent may be -1)`,
    );
  }
  if (s.length === x.ndim && s.every((d, i) => d === x.shape[i])) return x;
  return bind1(reshapeP, [x], { shape: s });
}

/**
 * Permutes axes (reverses them by default); a negative entry of `perm` counts from the end, as in
 * `jnp.transpose`.
 * @example
 * ```ts
 * import { transpose, zeros } from "@tangent/tangent";
 * transpose(zeros([2, 3, 4])).shape; // [4, 3, 2]
 * transpose(zeros([2, 3, 4]), [-1, 0, 1]).shape; // [4, 2, 3]
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkTensor("transpose", x);
  if (perm !== undefined) checkList("transpose", "perm", perm);
  const p = perm
    ? perm.map((a) => (Number.isInteger(a) && a < 0 && a >= -x.ndim ? a + x.ndim : a))
    : [...Array(x.ndim).keys()].reverse();
  if (p.length !== x.ndim || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(
      `transpose: perm [${perm ?? p}] is not a permutation of the ${x.ndim} axes of ${fmtShape(x.shape)}; ` +
        `list each axis 0..${x.ndim - 1} exactly once`,
    );
  }
  if (p.every((v, i) => v === i)) return x;
  return bind1(transposeP, [x], { perm: p });
}

/** Swaps the last two axes. */
export function matrixTranspose(x: Tensor): Tensor {
  checkTensor("matrixTranspose", x);
  if (x.ndim < 2) {
    throw new ShapeError(`matrixTranspose: needs 2+ axes, got ${fmtShape(x.shape)}; expandDims a vector first`);
  }
  const p = [...Array(x.ndim).keys()];
  [p[x.ndim - 2], p[x.ndim - 1]] = [p[x.ndim - 1], p[x.ndim - 2]];
  return transpose(x, p);
}

/** Inserts an axis of extent 1 at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  checkTensor("expandDims", x);
  checkInteger("expandDims", "axis", axis);
  const a = axis < 0 ? axis + x.ndim + 1 : axis;
  if (!Number.isInteger(a) || a < 0 || a > x.ndim) {
    throw new ShapeError(
      `expandDims: axis ${axis} out of range for ${fmtShape(x.shape)}; use an axis in [${-x.ndim - 1}, ${x.ndim}]`,
    );
  }
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes axes of extent 1 (all of them, or the given ones). */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  checkTensor("squeeze", x);
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes("squeeze", x.ndim, axis);
  for (const a of axes) {
    if (x.shape[a] !== 1) {
      throw new ShapeError(
        `squeeze: axis ${a} of ${fmtShape(x.shape)} has extent ${x.shape[a]}, not 1; squeeze only axes of extent 1`,
      );
    }
  }
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Broadcasts to `shape` by NumPy rules. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor("broadcastTo", x);
  checkList("broadcastTo", "shape", shape);
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const lead = shape.length - x.ndim;
  const r = lead > 0 ? reshape(x, [...Array(lead).fill(1), ...x.shape]) : x;
  return bind1(broadcastP, [r], { shape: [...shape] });
}

/** Broadcasts several tensors to their common shape. */
export function broadcastArrays(...xs: Tensor[]): Tensor[] {
  xs.forEach((x, i) => checkTensor("broadcastArrays", x, `argument ${i}`));
  const s = xs.reduce<number[]>((acc, t) => broadcastShapes("broadcastArrays", acc, t.shape), []);
  return xs.map((t) => broadcastTo(t, s));
}

/**
 * `x[start:stop]` on each axis: `ranges[i]` is `[start, stop]` (negative counts from the end; a
 * `null` start or stop is the axis' start or end, as NumPy's `x[-2:]` is `[-2, null]`) or
 * `null`/absent for the whole axis.
 * @example
 * ```ts
 * import { slice, tensor } from "@tangent/tangent";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * slice(x, [null, [-2, null]]); // x[:, -2:] = [[2, 3], [5, 6]]
 * slice(x, [[0, 1], [null, -1]]); // x[0:1, :-1] = [[1, 2]]
 * ```
 */
export function slice(x: Tensor, ranges: readonly ([number | null, number | null] | null | undefined)[]): Tensor {
  checkTensor("slice", x);
  if (!Array.isArray(ranges)) {
    throw new ShapeError(`slice: ranges must be a list of [start, stop] or null, got ${String(ranges)}`);
  }
  if (ranges.length > x.ndim) {
    throw new ShapeError(`slice: ${ranges.length} ranges for ${fmtShape(x.shape)}; give at most ${x.ndim}`);
  }
  const starts: number[] = [], stops: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    const d = x.shape[i];
    const r = ranges[i];
    if (r != null && (!Array.isArray(r) || r.length !== 2)) {
      throw new ShapeError(`slice: range ${i} must be [start, stop] or null, got ${JSON.stringify(r)}`);
    }
    let [s, e] = r ?? [0, d];
    s ??= 0;
    e ??= d;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > d || s > e) {
      throw new ShapeError(
        `slice: range [${r}] is outside axis ${i} of ${fmtShape(x.shape)}; ` +
          `use integers with 0 <= start <= stop <= ${d} (negative ones count from the end)`,
      );
    }
    starts.push(s);
    stops.push(e);
  }
  if (starts.every((s, i) => s === 0 && stops[i] === x.shape[i])) return x;
  return bind1(sliceP, [x], { starts, stops });
}

/**
 * Pads each axis with `[before, after]` elements equal to `value` (missing axes: none). The value
 * must fit x's dtype: an integer in int32's range for an int32 input (else a DTypeError, as `full`
 * gives), any number for bool (nonzero is true).
 * @example
 * ```ts
 * import { pad, tensor } from "@tangent/tangent";
 * pad(tensor([1, 2]), [[1, 2]], -1); // [-1, 1, 2, -1, -1]
 * ```
 */
export function pad(x: Tensor, widths: readonly (readonly [number, number])[], value = 0): Tensor {
  checkTensor("pad", x);
  if (!Array.isArray(widths)) {
    throw new ShapeError(`pad: widths must be a list of [before, after], got ${String(widths)}`);
  }
  widths.forEach((w, i) => {
    if (w != null && (!Array.isArray(w) || w.length !== 2)) {
      throw new ShapeError(`pad: width ${i} must be [before, after], got ${JSON.stringify(w)}`);
    }
  });
  const w = x.shape.map((_, i) => [...(widths[i] ?? [0, 0])] as [number, number]);
  if (w.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
    throw new ShapeError(
      `pad: widths ${JSON.stringify(widths)} for ${fmtShape(x.shape)} are not all non-negative integers; ` +
        `give [before, after] counts >= 0 per axis`,
    );
  }
  if (typeof value !== "number" && typeof value !== "boolean") {
    const got = typeof value === "string"
      ? `"${value}"`
      : typeof value === "object" && value !== null
      ? ""
      : String(value);
    throw new DTypeError(`pad: value must be a number, got ${typeof value} ${got}`.trimEnd());
  }
  let v = Number(value);
  if (x.dtype === "bool") v = Number(v !== 0);
  if (x.dtype === "int32" && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) {
    throw new DTypeError(
      `pad: value ${v} is not an int32 value (an integer in [-2147483648, 2147483647]) for the int32 input ` +
        `${fmtShape(x.shape)}; round it, or pad astype(x, "float32")`,
    );
  }
  if (w.every(([a, b]) => a === 0 && b === 0)) return x;
  return bind1(padP, [x], { widths: w, value: v });
}

/** Joins tensors along an existing axis (mixed dtypes promote as a binary op's operands do). */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  checkTensorList("concat", xs);
  if (xs.length === 0) throw new ShapeError("concat: needs at least one tensor");
  const a = axisOf("concat", xs[0].ndim, axis);
  if (xs.length === 1) return xs[0];
  const d = xs.map((x) => x.dtype).reduce(promote);
  return bind1(concatP, xs.map((x) => astype(x, d)), { axis: a });
}

/** Joins tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  checkTensorList("stack", xs);
  if (xs.length === 0) throw new ShapeError("stack: needs at least one tensor");
  const s0 = xs[0].shape;
  if (xs.some((x) => x.ndim !== s0.length || x.shape.some((d, i) => d !== s0[i]))) {
    throw new ShapeError(
      `stack: shapes ${xs.map((x) => fmtShape(x.shape)).join(", ")} differ; stacked tensors need one shape`,
    );
  }
  return concat(xs.map((x) => expandDims(x, axis)), axis < 0 ? axis : axis);
}

/**
 * Elements at `indices` along `axis` (NumPy `take`); without `axis`, indexes the flattened tensor.
 * Negative indices count from the end; one outside `[−n, n)` is a DomainError (on WebGPU at the
 * next read). The axis is the third argument itself, not an options object.
 * @example
 * ```ts
 * import { take, tensor } from "@tangent/tangent";
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * take(x, tensor([2, -3], { dtype: "int32" }), 0); // rows 2 and 0: [[5, 6], [1, 2]]
 * take(x, [1, 4]); // the flattened x: [2, 5]
 * ```
 */
export function take(x: Tensor, indices: Tensor | readonly number[], axis?: number): Tensor {
  checkTensor("take", x);
  if (!(indices instanceof Tensor) && !Array.isArray(indices)) checkTensor("take", indices, "indices");
  const src = axis === undefined ? reshape(x, [x.size]) : x;
  const a = axis === undefined ? 0 : axisOf("take", x.ndim, axis);
  let idx: Tensor;
  if (indices instanceof Tensor) {
    if (indices.dtype !== "int32") {
      throw new DTypeError(`take: indices must be int32, got ${indices.dtype}; convert with astype(indices, "int32")`);
    }
    idx = indices;
  } else {
    const d = src.shape[a];
    const fixed = indices.map((i) => {
      const j = i < 0 ? i + d : i;
      if (!Number.isInteger(j) || j < 0 || j >= d) {
        throw new DomainError( // as for an index tensor: the value, not a shape, is wrong
          `take: index ${i} is out of range for axis ${a} of ${fmtShape(src.shape)}; use indices in [${-d}, ${d - 1}]`,
        );
      }
      return j;
    });
    idx = tensor(Int32Array.from(fixed), { like: x });
    checkedIndices.set(idx._storage, d); // checked here: a device-side bounds check may skip it
  }
  return bind1(gatherP, [src, idx], { axis: a });
}

/**
 * The elements of `x` at `indices` along `axis`, index by index (`np.take_along_axis`,
 * `jnp.take_along_axis`): `indices` has `x`'s number of axes, its other axes broadcast against
 * `x`'s, and the result has its shape along `axis`. Negative indices count from the end; one outside
 * `[−n, n)` is take's DomainError. The usual use: per-row entries picked by int32 labels, as
 * `x[arange(n), labels]` in JAX. Differentiable with respect to `x`.
 * @example
 * ```ts
 * import { expandDims, logSoftmax, takeAlongAxis, tensor } from "@tangent/tangent";
 * const logits = tensor([[1, 2, 3], [0, 0, 5]]), labels = tensor([2, 0], { dtype: "int32" });
 * const picked = takeAlongAxis(logSoftmax(logits), expandDims(labels, 1), 1); // [2, 1]: log p(label) per row
 * ```
 */
export function takeAlongAxis(x: Tensor, indices: Tensor, axis: number): Tensor {
  const op = "takeAlongAxis";
  checkTensor(op, x);
  checkTensor(op, indices, "indices");
  if (indices.dtype !== "int32") {
    throw new DTypeError(`${op}: indices must be int32, got ${indices.dtype}; convert with astype(indices, "int32")`);
  }
  if (indices.ndim !== x.ndim) {
    throw new ShapeError(
      `${op}: indices ${fmtShape(indices.shape)} need the ${x.ndim} axes of x ${fmtShape(x.shape)} (extent 1 where ` +
        `they broadcast); add them with expandDims or reshape`,
    );
  }
  const a = axisOf(op, x.ndim, axis), n = x.shape[a], k = indices.shape[a];
  const perm = [...Array(x.ndim).keys()].filter((i) => i !== a).concat([a]);
  const back = perm.map((_, i) => perm.indexOf(i));
  const batch = broadcastShapes(
    op,
    x.shape.filter((_, i) => i !== a),
    indices.shape.filter((_, i) => i !== a),
  );
  const m = batch.reduce((p, d) => p * d, 1);
  const xs = broadcastTo(transpose(x, perm), [...batch, n]);
  const is = broadcastTo(transpose(indices, perm), [...batch, k]);
  // each index checked against its own row's extent (a gather of zeros: take's error, and it stays in a jit
  // graph), wrapped, then offset to its row of the flattened x
  const checked = bind1(gatherP, [tensor(new Int32Array(n), { like: is }), is], {
    axis: 0,
    op: `${op} (axis ${a})`,
  });
  const wrapped = add(where(less(is, 0), add(is, n), is), checked);
  const rows = reshape(mul(arange(m, undefined, 1, { like: is }), n), [...batch, 1]);
  const picked = take(reshape(xs, [m * n]), reshape(add(wrapped, rows), [m * k]));
  return transpose(reshape(picked, [...batch, k]), back);
}

/**
 * Zeros of `shape` with `updates` added at `indices` along `axis` (repeated indices add up; negative
 * ones count from the end, one outside `[−n, n)` is a DomainError, on WebGPU at the next read).
 * @example
 * ```ts
 * import { scatterAdd, tensor } from "@tangent/tangent";
 * scatterAdd(tensor([0, 2, 0], { dtype: "int32" }), tensor([1, 2, 3]), 0, [4]); // [4, 0, 2, 0]
 * ```
 */
export function scatterAdd(indices: Tensor, updates: Tensor, axis: number, shape: readonly number[]): Tensor {
  checkTensor("scatterAdd", indices, "indices");
  checkTensor("scatterAdd", updates, "updates");
  if (!Array.isArray(shape)) throw new ShapeError(`scatterAdd: shape must be a list of extents, got ${String(shape)}`);
  return bind1(scatterAddP, [indices, updates], { axis: axisOf("scatterAdd", shape.length, axis), shape: [...shape] });
}

/**
 * With a vector: the square matrix with it on diagonal `k`. With a matrix (or a batch of them,
 * last two axes): its diagonal `k` as a vector.
 */
export function diag(x: Tensor, k = 0): Tensor {
  checkTensor("diag", x);
  checkInteger("diag", "k", k);
  if (x.ndim === 1) {
    const n = x.shape[0] + Math.abs(k);
    const d = mul(eye(x.shape[0], { dtype: x.dtype, like: x }), x); // rows scaled: M[i][j] = δᵢⱼ vⱼ
    return pad(d, [[Math.max(0, -k), Math.max(0, k)], [Math.max(0, k), Math.max(0, -k)]]).reshape([n, n]);
  }
  if (x.ndim < 2) throw new ShapeError(`diag: needs a vector or a matrix, got ${fmtShape(x.shape)}; reshape it`);
  const [m, n] = x.shape.slice(-2);
  const len = Math.max(0, Math.min(m, n - k, m + k, n));
  const idx: number[] = [];
  for (let i = 0; i < len; i++) {
    const r = k >= 0 ? i : i - k, c = k >= 0 ? i + k : i;
    idx.push(r * n + c);
  }
  return take(reshape(x, [...x.shape.slice(0, -2), m * n]), idx, -1);
}

/**
 * Sum of the main diagonal of the last two axes (one per matrix of a batch). `jnp.trace` and
 * `np.trace` take the first two axes by default (`axis1=0, axis2=1`): for a 3-D `x` port
 * `jnp.trace(x)` as `trace(transpose(x, [2, 0, 1]))`.
 * @example
 * ```ts
 * import { reshape, arange, trace, transpose } from "@tangent/tangent";
 * const x = reshape(arange(24), [2, 3, 4]);
 * trace(x); // [15, 51]: one trace per [3, 4] matrix
 * trace(transpose(x, [2, 0, 1])); // [16, 18, 20, 22], as jnp.trace(x)
 * ```
 */
export function trace(x: Tensor): Tensor {
  checkTensor("trace", x);
  if (x.ndim < 2) {
    throw new ShapeError(`trace: needs a matrix (2+ axes), got ${fmtShape(x.shape)}; for a vector use sum`);
  }
  return sum(diag(x), { axis: -1 });
}

function triMask(x: Tensor, k: number, upper: boolean): Tensor {
  const [m, n] = x.shape.slice(-2);
  const rows = reshape(arange(m, undefined, 1, { like: x }), [m, 1]);
  const cols = reshape(arange(n, undefined, 1, { like: x }), [1, n]);
  return upper ? greaterEqual(sub(cols, rows), k) : greaterEqual(sub(rows, cols), -k);
}

/** Upper triangle (on and above diagonal `k`), zeros elsewhere. */
export function triu(x: Tensor, k = 0): Tensor {
  checkTensor("triu", x);
  checkInteger("triu", "k", k);
  if (x.ndim < 2) throw new ShapeError(`triu: needs 2+ axes, got ${fmtShape(x.shape)}`);
  return where(triMask(x, k, true), x, 0);
}

/** Lower triangle (on and below diagonal `k`), zeros elsewhere. */
export function tril(x: Tensor, k = 0): Tensor {
  checkTensor("tril", x);
  checkInteger("tril", "k", k);
  if (x.ndim < 2) throw new ShapeError(`tril: needs 2+ axes, got ${fmtShape(x.shape)}`);
  return where(triMask(x, k, false), x, 0);
}

/** Flattens to one axis. */
export function flatten(x: Tensor): Tensor {
  checkTensor("flatten", x);
  return reshape(x, [x.size]);
}

/**
 * One-hot rows (float32) of int32 `indices` with `n` classes. As in JAX, an index outside
 * `[0, n)` (a negative one too) gives a row of zeros, not an error (PyTorch raises), so -1 can mark
 * an ignored position.
 * @example
 * ```ts
 * import { oneHot, tensor } from "@tangent/tangent";
 * oneHot(tensor([2, 0, -1], { dtype: "int32" }), 3); // [[0, 0, 1], [1, 0, 0], [0, 0, 0]]
 * ```
 */
export function oneHot(indices: Tensor, n: number): Tensor {
  checkTensor("oneHot", indices, "indices");
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new ShapeError(`oneHot: n = ${String(n)} must be a non-negative integer (the number of classes)`);
  }
  const hit = equal(
    reshape(indices, [...indices.shape, 1]),
    reshape(arange(n, undefined, 1, { like: indices }), [...indices.shape.map(() => 1), n]),
  );
  return astype(hit, "float32");
}
