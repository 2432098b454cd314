/**
 * The `Manifold` interface every built-in implements, and the shared base that validates inputs
 * and reports off-manifold points.
 *
 * Conventions (as in geoopt): a point is a tensor of `manifold.shape`; a tangent vector at `x` is an
 * ambient tensor of the same shape; `inner` is the Riemannian metric at `x`. Every method is built
 * from core ops and `linalg`, so it is differentiable and runs on any backend.
 * @module
 */
import type { DType } from "../core/dtype.ts";
import { BackendError, DTypeError, fmtShape, ManifoldError, ShapeError } from "../core/errors.ts";
import { greater, mul, sqrt, where } from "../core/ops/mod.ts";
import type { Key } from "../core/random.ts";
import { batchMaxSync, type Tensor } from "../core/tensor.ts";
import { asPoint, type Point } from "./point.ts";

/** Floating dtypes a manifold point may have. */
export type FloatDType = "float32" | "float64";

/** Options of `Manifold.random`. */
export interface RandomOptions {
  /** Element type of the point (default float32). */
  dtype?: FloatDType;
}

/**
 * A Riemannian manifold embedded in the tensors of `shape`.
 *
 * Methods that take a `Point<this>` trust a tagged point of this manifold; given a plain tensor
 * (e.g. through `as any`) they measure its constraint violation on the CPU and throw a
 * `ManifoldError` with the measured value when it is off the manifold.
 */
export interface Manifold {
  /** Which family (`"stiefel"`, `"sphere"`, ...). */
  readonly kind: string;
  /** A readable name with the sizes and options, e.g. `stiefel(8, 3, euclidean, qr)`. */
  readonly name: string;
  /** Shape of a point (and of its tangent vectors). */
  readonly shape: readonly number[];
  /** Dimension of the manifold. */
  readonly dim: number;
  /** A random point (uniform under the natural measure where one exists). */
  random(key: Key, opts?: RandomOptions): Point<this>;
  /** A random (Gaussian, projected) tangent vector at `x`. */
  randomTangent(key: Key, x: Point<this>): Tensor;
  /** The nearest point of the manifold to the ambient tensor `x`. */
  project(x: Tensor): Point<this>;
  /** The orthogonal projection of the ambient `u` onto the tangent space at `x`. */
  toTangent(x: Point<this>, u: Tensor): Tensor;
  /** The Riemannian gradient at `x` of a function whose Euclidean gradient is `g`. */
  egradToRgrad(x: Point<this>, g: Tensor): Tensor;
  /** The metric `⟨u, v⟩ₓ` (a scalar tensor). */
  inner(x: Point<this>, u: Tensor, v: Tensor): Tensor;
  /**
   * `⟨u, u⟩ₓ` per component, broadcastable against a point: elementwise on Euclidean space, one
   * scalar per column on the oblique manifold, one scalar per point on the others. Riemannian Adam
   * keeps its second moment in this shape.
   */
  componentInner(x: Point<this>, u: Tensor): Tensor;
  /** `‖u‖ₓ = √⟨u, u⟩ₓ`. */
  norm(x: Point<this>, u: Tensor): Tensor;
  /** A retraction `R(x, v)`: a point, with `R(x, 0) = x` and `d/dt R(x, tv)|₀ = v`. */
  retract(x: Point<this>, v: Tensor): Point<this>;
  /** A vector transport of the tangent vector `v` at `x` to the tangent space at `y`. */
  transport(x: Point<this>, y: Point<this>, v: Tensor): Tensor;
  /** The Riemannian exponential map, where a closed form exists. */
  exp?(x: Point<this>, v: Tensor): Point<this>;
  /**
   * The Riemannian logarithm, where a closed form exists (geoopt's `logmap`): the tangent vector at
   * `x` whose exponential reaches `y` (`exp(x, log(x, y)) = y`), of minimal length. Optional: a
   * manifold of one's own need not define it.
   */
  log?(x: Point<this>, y: Point<this>): Tensor;
  /**
   * The geodesic distance `‖log(x, y)‖ₓ` (a scalar tensor), where `log` has a closed form (geoopt's
   * `dist`). Optional, as `log`.
   */
  dist?(x: Point<this>, y: Point<this>): Tensor;
  /** How far `x` is from the manifold, e.g. `‖XᵀX − I‖_F` (a scalar tensor, 0 on the manifold). */
  constraintViolation(x: Tensor): Tensor;
  /** How far `u` is from the tangent space at `x`, e.g. `‖XᵀU + UᵀX‖_F` (a scalar tensor). */
  tangentViolation(x: Point<this>, u: Tensor): Tensor;
  /**
   * `x` as a point of this manifold, after checking (synchronously, CPU) that its constraint
   * violation is at most `tol`; throws a ManifoldError with the measured violation otherwise.
   */
  assertOn(x: Tensor, tol?: number): Point<this>;
  /** `assertOn` for any backend (reads the violation back asynchronously). */
  assertOnAsync(x: Tensor, tol?: number): Promise<Point<this>>;
}

/**
 * Default tolerance on `constraintViolation` when a plain tensor is given where a point is needed:
 * 1e-3 in float32, 1e-6 in float64.
 * @example
 * ```ts
 * import { defaultTolerance } from "@tangent/tangent/manifolds";
 * defaultTolerance("float64"); // 1e-6
 * ```
 */
export function defaultTolerance(dtype: DType): number {
  return dtype === "float64" ? 1e-6 : 1e-3;
}

/**
 * `√s` with a zero (not NaN) gradient at s = 0, for norms of tangent vectors; NaN stays NaN.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { safeSqrt } from "@tangent/tangent/manifolds";
 * safeSqrt(tensor(4)); // 2
 * ```
 */
export function safeSqrt(s: Tensor): Tensor {
  const pos = greater(s, 0);
  return where(pos, sqrt(where(pos, s, 1)), mul(s, 0)); // s·0 keeps a NaN a NaN
}

/**
 * Shared machinery of the built-in manifolds: shape and dtype validation at the public boundary,
 * the off-manifold check, `assertOn`, and defaults for `norm` and `componentInner`.
 */
export abstract class ManifoldBase implements Manifold {
  abstract readonly kind: string;
  abstract readonly name: string;
  abstract readonly shape: readonly number[];
  abstract readonly dim: number;
  abstract random(key: Key, opts?: RandomOptions): Point<this>;
  abstract randomTangent(key: Key, x: Point<this>): Tensor;
  abstract project(x: Tensor): Point<this>;
  abstract toTangent(x: Point<this>, u: Tensor): Tensor;
  abstract egradToRgrad(x: Point<this>, g: Tensor): Tensor;
  abstract inner(x: Point<this>, u: Tensor, v: Tensor): Tensor;
  abstract retract(x: Point<this>, v: Tensor): Point<this>;
  abstract transport(x: Point<this>, y: Point<this>, v: Tensor): Tensor;
  abstract constraintViolation(x: Tensor): Tensor;
  abstract tangentViolation(x: Point<this>, u: Tensor): Tensor;

  /** `‖u‖ₓ = √⟨u, u⟩ₓ` (gradient 0 at u = 0). */
  norm(x: Point<this>, u: Tensor): Tensor {
    return safeSqrt(this.inner(x, u, u));
  }

  /** `⟨u, u⟩ₓ` as one scalar per point (override for finer components). */
  componentInner(x: Point<this>, u: Tensor): Tensor {
    return this.inner(x, u, u);
  }

  /** Checks `x` and tags it after measuring its violation synchronously (CPU). */
  assertOn(x: Tensor, tol?: number): Point<this> {
    this.checkShape("assertOn", x);
    if (x.backend.name !== "cpu") {
      throw new BackendError(
        `${this.name}.assertOn: cannot read the violation synchronously on ${x.backend.name}; use assertOnAsync`,
      );
    }
    return this.verdict("assertOn", x, batchMaxSync(this.constraintViolation(x)), tol);
  }

  /** Checks `x` and tags it after reading its violation back (any backend). */
  async assertOnAsync(x: Tensor, tol?: number): Promise<Point<this>> {
    this.checkShape("assertOnAsync", x);
    const v = Number((await this.constraintViolation(x).data())[0]);
    return this.verdict("assertOnAsync", x, v, tol);
  }

  /** Throws a ManifoldError naming the measured violation unless it is at most the tolerance. */
  private verdict(op: string, x: Tensor, v: number, tol?: number): Point<this> {
    const t = tol ?? defaultTolerance(x.dtype);
    if (!(v <= t)) {
      throw new ManifoldError(
        `${this.name}.${op}: the tensor of shape ${
          fmtShape(x.shape)
        } is off the manifold: constraint violation ${v} > tolerance ${t}; project it first with ${this.kind}.project(x)`,
      );
    }
    return asPoint(x, this);
  }

  /** Tags `x` as a point of this manifold, unchecked. */
  protected point(x: Tensor): Point<this> {
    return asPoint(x, this);
  }

  /** Throws a ShapeError unless `x` has this manifold's shape and a float dtype. */
  protected checkShape(op: string, x: Tensor): void {
    const s = this.shape;
    if (x.ndim !== s.length || x.shape.some((d, i) => d !== s[i])) {
      throw new ShapeError(`${this.name}.${op}: expected a tensor of shape ${fmtShape(s)}, got ${fmtShape(x.shape)}`);
    }
    if (x.dtype !== "float32" && x.dtype !== "float64") {
      throw new DTypeError(
        `${this.name}.${op}: points and tangent vectors must be float32 or float64, got ${x.dtype}; convert with astype(x, "float32")`,
      );
    }
  }

  /**
   * Validates a point argument: shape and dtype always; a tensor not tagged with this manifold is
   * measured (CPU only) and rejected with a ManifoldError when off the manifold.
   */
  protected checkPoint(op: string, x: Tensor): void {
    this.checkShape(op, x);
    const m = (x as Partial<Point<Manifold>>).manifold;
    if (m === this || (m !== undefined && m.name === this.name)) return;
    if (x.backend.name !== "cpu") return; // no synchronous read-back elsewhere; trust the caller
    // under vmap, every example's violation: the largest decides
    this.verdict(op, x, batchMaxSync(this.constraintViolation(x)));
  }

  /** Validates a tangent/ambient argument against the point `x`: same shape, same dtype. */
  protected checkVector(op: string, x: Tensor, u: Tensor): void {
    this.checkShape(op, u);
    if (u.dtype !== x.dtype) {
      throw new DTypeError(`${this.name}.${op}: the vector is ${u.dtype} but the point is ${x.dtype}; cast one`);
    }
  }
}
