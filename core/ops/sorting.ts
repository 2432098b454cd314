/**
 * Ordering: arg-extremes, sorting, top-k and running sums and products, with NumPy's semantics
 * (stable sorts, NaN sorted last, the first extreme's index, negative axes from the end).
 * @module
 */
import { DomainError, fmtShape, ShapeError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { bind, bind1 } from "../primitive.ts";
import { argReduceP, cumulativeP, sortP } from "../primitives.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import { astype } from "./elementwise.ts";
import { normAxes, type ReduceOptions } from "./reduce.ts";
import { expandDims, reshape, slice } from "./shape.ts";

const ARG_KEYS = optionKeys<ReduceOptions>({ axis: true, keepdims: true });

function axisOf(op: string, x: Tensor, axis: number): number {
  return normAxes(op, x.ndim, axis)[0];
}

function argReduce(op: "max" | "min", x: Tensor, opts: { axis?: number; keepdims?: boolean } = {}): Tensor {
  checkTensor(`arg${op}`, x);
  opts ??= {};
  checkOptions(`arg${op}`, opts, ARG_KEYS, "{ axis: 1 }");
  const src = opts.axis === undefined ? reshape(x, [x.size]) : x;
  const axis = opts.axis === undefined ? 0 : axisOf(`arg${op}`, x, opts.axis);
  if (src.ndim === 0) return argReduce(op, reshape(x, [1]), {});
  const r = bind1(argReduceP, [src], { op, axis });
  if (!opts.keepdims) return r;
  return opts.axis === undefined ? reshape(r, x.shape.map(() => 1)) : expandDims(r, axis);
}

/**
 * Index (int32) of the first maximum along `axis` (over the flattened tensor without one, as
 * NumPy); a NaN counts as the maximum. No gradient (an index).
 * @example
 * ```ts
 * import { argmax, tensor } from "@tangent/tangent";
 * argmax(tensor([[1, 5, 5], [7, 0, 7]]), { axis: 1 }); // [1, 0]: ties give the first
 * ```
 */
export function argmax(x: Tensor, opts: { axis?: number; keepdims?: boolean } = {}): Tensor {
  return argReduce("max", x, opts);
}

/**
 * Index (int32) of the first minimum along `axis` (over the flattened tensor without one); a NaN
 * counts as the minimum, as in NumPy. No gradient (an index).
 * @example
 * ```ts
 * import { argmin, tensor } from "@tangent/tangent";
 * argmin(tensor([3, 1, 1, NaN])); // 3: the NaN
 * ```
 */
export function argmin(x: Tensor, opts: { axis?: number; keepdims?: boolean } = {}): Tensor {
  return argReduce("min", x, opts);
}

const SORT_KEYS = optionKeys<SortOptions>({ axis: true, descending: true });

/** Options of `sort` and `argsort`. */
export interface SortOptions {
  /** The axis to sort along (default −1). */
  axis?: number;
  /** Largest first (ties keep their input order, NaN first); default ascending with NaN last. */
  descending?: boolean;
}

function sortBoth(op: string, x: Tensor, opts: SortOptions | null | undefined): [Tensor, Tensor] {
  checkTensor(op, x);
  opts ??= {};
  checkOptions(op, opts, SORT_KEYS, "{ axis: 0 }");
  if (x.ndim === 0) throw new ShapeError(`${op}: needs at least one axis, got a scalar; reshape it to [1]`);
  const axis = axisOf(op, x, opts.axis ?? -1);
  const t = x.dtype === "bool" ? astype(x, "int32") : x;
  const [v, i] = bind(sortP, [t], { axis, descending: opts.descending ?? false }, op);
  return [x.dtype === "bool" ? astype(v, "bool") : v, i];
}

/**
 * The values sorted along `axis` (default −1), stably; NaN last (NumPy's `np.sort`). The gradient
 * flows back to each value's original position.
 * @example
 * ```ts
 * import { sort, tensor } from "@tangent/tangent";
 * sort(tensor([3, NaN, 1, 2])); // [1, 2, 3, NaN]
 * ```
 */
export function sort(x: Tensor, opts: SortOptions = {}): Tensor {
  return sortBoth("sort", x, opts)[0];
}

/**
 * The int32 positions that sort `x` along `axis` (default −1), stably: equal values keep their order
 * (NumPy's `argsort(kind="stable")`), NaN last.
 * @example
 * ```ts
 * import { argsort, tensor } from "@tangent/tangent";
 * argsort(tensor([2, 1, 2, 0])); // [3, 1, 0, 2]
 * ```
 */
export function argsort(x: Tensor, opts: SortOptions = {}): Tensor {
  return sortBoth("argsort", x, opts)[1];
}

/**
 * The `k` largest values along `axis` (default −1), largest first, and their int32 positions; equal
 * values in input order, NaN counted largest (as `torch.topk`). Gradients flow to the chosen
 * positions.
 * @example
 * ```ts
 * import { tensor, topk } from "@tangent/tangent";
 * const { values, indices } = topk(tensor([1, 4, 2, 4]), 2); // [4, 4], [1, 3]
 * ```
 */
export function topk(x: Tensor, k: number, opts: { axis?: number } = {}): { values: Tensor; indices: Tensor } {
  checkTensor("topk", x);
  opts ??= {};
  checkOptions("topk", opts, ["axis"], "{ axis: 0 }");
  if (x.ndim === 0) throw new ShapeError(`topk: needs at least one axis, got a scalar; reshape it to [1]`);
  const axis = axisOf("topk", x, opts.axis ?? -1);
  const n = x.shape[axis];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ShapeError(`topk: k = ${k} for axis ${axis} of ${fmtShape(x.shape)}; use an integer in [0, ${n}]`);
  }
  const [v, i] = sortBoth("topk", x, { axis, descending: true });
  const r = x.shape.map((_, j) => (j === axis ? [0, k] as [number, number] : null));
  return { values: slice(v, r), indices: slice(i, r) };
}

function cumulative(op: "sum" | "prod", x: Tensor, axis: number | undefined, opts: unknown): Tensor {
  checkOptions(`cum${op}`, opts ?? undefined, ["reverse"], "{ reverse: true }");
  const reverse = (opts as { reverse?: boolean } | undefined)?.reverse ?? false;
  checkTensor(`cum${op}`, x);
  if (axis !== undefined && typeof axis !== "number") {
    throw new DomainError(
      `cum${op}: the axis is the second argument as a number, cum${op}(x, 0), and the options the third, ` +
        `cum${op}(x, 0, { reverse: true }); got ${Array.isArray(axis) ? "an array" : typeof axis}`,
    );
  }
  const src = axis === undefined || x.ndim === 0 ? reshape(x, [x.size]) : x;
  const a = axis === undefined || x.ndim === 0 ? 0 : axisOf(`cum${op}`, x, axis);
  const t = src.dtype === "bool" ? astype(src, "int32") : src;
  return bind1(cumulativeP, [t], { op, axis: a, reverse });
}

/**
 * Running sum along `axis` (over the flattened tensor without one, as `np.cumsum`); `reverse`
 * sums from the end. Bool counts as int32.
 * @example
 * ```ts
 * import { cumsum, tensor } from "@tangent/tangent";
 * cumsum(tensor([[1, 2], [3, 4]]), 0); // [[1, 2], [4, 6]]
 * ```
 */
export function cumsum(x: Tensor, axis?: number, opts: { reverse?: boolean } = {}): Tensor {
  return cumulative("sum", x, axis, opts);
}

/**
 * Running product along `axis` (over the flattened tensor without one, as `np.cumprod`). The
 * gradient is exact where `x` has zeros (it costs n² per row of length n).
 * @example
 * ```ts
 * import { cumprod, tensor } from "@tangent/tangent";
 * cumprod(tensor([1, 2, 3, 4])); // [1, 2, 6, 24]
 * ```
 */
export function cumprod(x: Tensor, axis?: number, opts: { reverse?: boolean } = {}): Tensor {
  return cumulative("prod", x, axis, opts);
}
