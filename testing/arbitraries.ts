/**
 * fast-check arbitraries for tensors, shared by the law suites and by users' own property tests.
 * @module
 */
import fc from "fast-check";
import type { Arbitrary } from "./fast_check.ts";
import type { DType } from "../core/dtype.ts";
import { tensor } from "../core/ops/creation.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkOptions, optionKeys } from "../core/options.ts";

/** Options for `arbitraryTensor`. */
export interface TensorArbOptions {
  /** Exact shape; otherwise a random shape of `minRank..maxRank` axes with extents in `1..maxDim`. */
  shape?: readonly number[];
  /** Fewest axes (default 0). */
  minRank?: number;
  /** Most axes (default 3). */
  maxRank?: number;
  /** Largest extent (default 4). */
  maxDim?: number;
  /** Element bound: values in `[-bound, bound]` (default 2). */
  bound?: number;
  /** Smallest element (overrides `-bound`); e.g. 0.2 for inputs of log or sqrt. */
  min?: number;
  /** Largest element (overrides `bound`). */
  max?: number;
  /**
   * Elements pairwise at least `(max − min) / (8·size + 8)` apart (magnitudes too, on a symmetric
   * range), so max, min, abs and sorting see no ties or kinks within a finite-difference step
   * (default false).
   */
  distinct?: boolean;
  /** Element type (default float64); int32 draws integers in the range, bool draws booleans. */
  dtype?: DType;
}

const TENSOR_KEYS = optionKeys<TensorArbOptions>({
  shape: true,
  minRank: true,
  maxRank: true,
  maxDim: true,
  bound: true,
  min: true,
  max: true,
  distinct: true,
  dtype: true,
});

/** Random shapes. */
export function arbitraryShape(opts: TensorArbOptions = {}): Arbitrary<number[]> {
  checkOptions("arbitraryShape", opts, TENSOR_KEYS, "{ maxRank: 2 }");
  if (opts.shape) return fc.constant([...opts.shape]);
  return fc.array(fc.integer({ min: 1, max: opts.maxDim ?? 4 }), {
    minLength: opts.minRank ?? 0,
    maxLength: opts.maxRank ?? 3,
  });
}

/** Random tensors of a fixed or random shape with finite elements. */
export function arbitraryTensor(opts: TensorArbOptions = {}): Arbitrary<Tensor> {
  checkOptions("arbitraryTensor", opts, TENSOR_KEYS, "{ maxRank: 2 }");
  return arbitraryShape(opts).chain((shape) => tensorOfShape(shape, opts));
}

/** Random elements for `n` entries, as `tensorOfShape` draws them (plain numbers). */
export function arbitraryValues(n: number, opts: TensorArbOptions = {}): Arbitrary<number[]> {
  checkOptions("arbitraryValues", opts, TENSOR_KEYS, '{ dtype: "float32" }');
  const lo = opts.min ?? -(opts.bound ?? 2), hi = opts.max ?? (opts.bound ?? 2);
  if (opts.dtype === "bool") return fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((v) => v.map(Number));
  if (opts.dtype === "int32") {
    return fc.array(fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }), { minLength: n, maxLength: n });
  }
  if (opts.distinct) {
    // distinct grid points k ↦ lo + (k + ⅓)·step, step = (hi − lo) / slots; off-centre, so on a
    // symmetric range no two share a magnitude and none is 0 or an integer
    const slots = 8 * n + 8, step = (hi - lo) / slots;
    return fc.uniqueArray(fc.integer({ min: 0, max: slots - 1 }), { minLength: n, maxLength: n })
      .map((ks) => ks.map((k) => lo + (k + 1 / 3) * step));
  }
  return fc.array(fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }), {
    minLength: n,
    maxLength: n,
  });
}

/** Random tensors of the given shape. */
export function tensorOfShape(shape: readonly number[], opts: TensorArbOptions = {}): Arbitrary<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = opts.dtype ?? "float64";
  return arbitraryValues(n, opts).map((v) =>
    tensor(dtype === "int32" ? Int32Array.from(v) : Float64Array.from(v), { shape, dtype })
  );
}

/**
 * `count` shapes (default 2) that broadcast together by NumPy rules: a random result shape, then
 * each operand drops some leading axes and turns some extents into 1.
 */
export function arbitraryBroadcastShapes(opts: TensorArbOptions = {}, count = 2): Arbitrary<number[][]> {
  const operand = (out: number[]) =>
    fc.tuple(
      fc.integer({ min: 0, max: out.length }),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    ).map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
  return arbitraryShape(opts).chain((out) => fc.tuple(...Array.from({ length: count }, () => operand(out))));
}

/** A permutation of `0..n−1`. */
export function arbitraryPerm(n: number): Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((keys) => [...Array(n).keys()].sort((a, b) => keys[a] - keys[b] || a - b));
}

/** A subset of the axes `0..ndim−1` (sorted, possibly empty). */
export function arbitraryAxes(ndim: number): Arbitrary<number[]> {
  return fc.array(fc.boolean(), { minLength: ndim, maxLength: ndim })
    .map((pick) => pick.flatMap((p, i) => (p ? [i] : [])));
}
