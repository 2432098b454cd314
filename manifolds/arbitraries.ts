/**
 * fast-check arbitraries for manifold points, tangent vectors and ambient matrices. They draw from
 * the library's counter-based PRNG under a fast-check-chosen seed, so a failing case replays
 * exactly from its seed. Points, tangents and ambient tensors use separate key streams, so equal
 * seeds still give independent draws.
 * @module
 */
import fc from "fast-check";
import type { Arbitrary } from "../testing/fast_check.ts";
import { foldIn, key, normal, split } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import type { FloatDType, Manifold } from "./manifold.ts";
import type { Point } from "./point.ts";
import { mul } from "../core/ops/mod.ts";
import { DomainError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";

/** Options of the manifold arbitraries. */
export interface ManifoldArbOptions {
  /** Element type (default float64). */
  dtype?: FloatDType;
}

/** A point and a tangent vector at it. */
export interface PointAndTangent<M extends Manifold = Manifold> {
  /** The point. */
  x: Point<M>;
  /** A Gaussian tangent vector at x. */
  u: Tensor;
}

const ARB_KEYS = optionKeys<ManifoldArbOptions>({ dtype: true });
const AMBIENT_KEYS = optionKeys<AmbientArbOptions>({ dtype: true, scale: true });

/**
 * Throws a DomainError naming `op` unless `dtype` is absent, "float32" or "float64" (the dtypes the
 * law kit draws).
 * @internal
 */
export function checkFloatDTypeOption(op: string, dtype: unknown): void {
  if (dtype !== undefined && dtype !== "float32" && dtype !== "float64") {
    throw new DomainError(`${op}: option dtype must be "float32" or "float64", got ${JSON.stringify(dtype)}`);
  }
}

function checkArbOptions(op: string, opts: AmbientArbOptions, keys: readonly string[]): void {
  checkOptions(op, opts, keys, `{ dtype: "float64" }`);
  checkFloatDTypeOption(op, opts.dtype);
  if (opts.scale !== undefined && !(typeof opts.scale === "number" && Number.isFinite(opts.scale))) {
    throw new DomainError(`${op}: option scale must be a finite number, got ${String(opts.scale)}`);
  }
}

const seeds = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 2 ** 31 - 1 });

/**
 * Random points of `m` (`m.random` under a random seed).
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { arbitraryPoint } from "@tangent/tangent/testing";
 * import { sphere } from "@tangent/tangent/manifolds";
 * fc.assert(fc.property(arbitraryPoint(sphere(3)), (x) => x.shape[0] === 3), { numRuns: 5 });
 * ```
 */
export function arbitraryPoint<M extends Manifold>(m: M, opts: ManifoldArbOptions = {}): Arbitrary<Point<M>> {
  checkArbOptions("arbitraryPoint", opts, ARB_KEYS);
  return seeds().map((s) => m.random(split(key(s))[0], { dtype: opts.dtype ?? "float64" }) as Point<M>);
}

/**
 * Random points of `m` with a random tangent vector at each.
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { arbitraryTangent } from "@tangent/tangent/testing";
 * import { sphere } from "@tangent/tangent/manifolds";
 * fc.assert(fc.property(arbitraryTangent(sphere(3)), ({ x, u }) => u.shape[0] === x.shape[0]), { numRuns: 5 });
 * ```
 */
export function arbitraryTangent<M extends Manifold>(
  m: M,
  opts: ManifoldArbOptions = {},
): Arbitrary<PointAndTangent<M>> {
  checkArbOptions("arbitraryTangent", opts, ARB_KEYS);
  return seeds().map((s) => {
    const [kx, ku] = split(key(s));
    const x = m.random(kx, { dtype: opts.dtype ?? "float64" }) as Point<M>;
    return { x, u: m.randomTangent(ku, x) };
  });
}

/** Options of `arbitraryMatrix` / `arbitraryAmbient`. */
export interface AmbientArbOptions extends ManifoldArbOptions {
  /** Standard deviation of the entries (default 1). */
  scale?: number;
}

/**
 * Random Gaussian tensors of `shape` (e.g. ambient matrices, Euclidean gradients).
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { arbitraryMatrix } from "@tangent/tangent/testing";
 * fc.assert(fc.property(arbitraryMatrix([4, 2]), (a) => a.size === 8), { numRuns: 5 });
 * ```
 */
export function arbitraryMatrix(shape: readonly number[], opts: AmbientArbOptions = {}): Arbitrary<Tensor> {
  checkArbOptions("arbitraryMatrix", opts, AMBIENT_KEYS);
  return seeds().map((s) => {
    const g = normal(foldIn(key(s), 0xa), shape, { dtype: opts.dtype ?? "float64" }); // a stream apart from points
    return opts.scale === undefined ? g : mul(g, opts.scale);
  });
}

/**
 * Random Gaussian tensors of the manifold's ambient shape.
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { arbitraryAmbient } from "@tangent/tangent/testing";
 * import { stiefel } from "@tangent/tangent/manifolds";
 * const St = stiefel(5, 2);
 * fc.assert(fc.property(arbitraryAmbient(St), (a) => St.project(a).shape[1] === 2), { numRuns: 3 });
 * ```
 */
export function arbitraryAmbient(m: Manifold, opts: AmbientArbOptions = {}): Arbitrary<Tensor> {
  checkArbOptions("arbitraryAmbient", opts, AMBIENT_KEYS);
  return arbitraryMatrix(m.shape, opts);
}
