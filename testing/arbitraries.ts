/**
 * fast-check arbitraries for tensors, shared by the law suites and by users' own property tests.
 * @module
 */
import fc from "fast-check";
import type { DType } from "../core/dtype.ts";
import { tensor } from "../core/ops/creation.ts";
import type { Tensor } from "../core/tensor.ts";

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
  /** Element type (default float64). */
  dtype?: DType;
}

/** Random shapes. */
export function arbitraryShape(opts: TensorArbOptions = {}): fc.Arbitrary<number[]> {
  if (opts.shape) return fc.constant([...opts.shape]);
  return fc.array(fc.integer({ min: 1, max: opts.maxDim ?? 4 }), {
    minLength: opts.minRank ?? 0,
    maxLength: opts.maxRank ?? 3,
  });
}

/** Random tensors of a fixed or random shape with finite elements. */
export function arbitraryTensor(opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  return arbitraryShape(opts).chain((shape) => tensorOfShape(shape, opts));
}

/** Random tensors of the given shape. */
export function tensorOfShape(shape: readonly number[], opts: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const b = opts.bound ?? 2;
  return fc.array(fc.double({ min: -b, max: b, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
    .map((v) => tensor(Float64Array.from(v), { shape, dtype: opts.dtype ?? "float64" }));
}
