/**
 * Euclidean space ℝ^shape: every tensor is a point, every tensor a tangent vector.
 * `R(x, v) = exp(x, v) = x + v`, `log(x, y) = y − x`, `dist(x, y) = ‖y − x‖`, transport is the
 * identity, `⟨u, v⟩ = Σ uᵢvᵢ`.
 * As geoopt's `Euclidean` (0.5.1): `inner` sums over the whole point (`Euclidean(ndim=len(shape))`),
 * and `componentInner` is elementwise (`Euclidean()`, ndim 0, geoopt's default: Adam's per-element
 * second moment).
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { add, mul, sub, zeros } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import { frobInner } from "./matrix.ts";
import type { Point } from "./point.ts";

/** Euclidean space of tensors of a fixed shape. */
export interface Euclidean extends Manifold {
  /** `"euclidean"`. */
  readonly kind: "euclidean";
  /** `R(x, v) = x + v`. */
  exp(x: Point<this>, v: Tensor): Point<this>;
  /** `log(x, y) = y − x`. */
  log(x: Point<this>, y: Point<this>): Tensor;
  /** `dist(x, y) = ‖y − x‖` (over the whole point; gradient 0 at y = x). */
  dist(x: Point<this>, y: Point<this>): Tensor;
}

class EuclideanImpl extends ManifoldBase implements Euclidean {
  readonly kind = "euclidean" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;

  constructor(shape: readonly number[]) {
    super();
    this.shape = Object.freeze([...shape]);
    this.dim = shape.reduce((a, b) => a * b, 1);
    this.name = `euclidean([${shape.join(", ")}])`;
  }

  // x ~ N(0, I)
  random(key: Key, opts: RandomOptions = {}): Point<this> {
    return this.point(normal(key, this.shape, { dtype: opts.dtype ?? "float32" }));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" });
  }
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(x);
  }
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkVector("toTangent", x, u);
    return u;
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    this.checkVector("egradToRgrad", x, g);
    return g;
  }
  // ⟨u, v⟩ = Σ uᵢvᵢ
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return frobInner(u, v);
  }
  // elementwise u², as Adam keeps it
  override componentInner(_x: Point<this>, u: Tensor): Tensor {
    return mul(u, u);
  }
  // R(x, v) = x + v
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkVector("retract", x, v);
    return this.point(add(x, v));
  }
  exp(x: Point<this>, v: Tensor): Point<this> {
    return this.retract(x, v);
  }
  log(x: Point<this>, y: Point<this>): Tensor {
    this.checkVector("log", x, y);
    return sub(y, x);
  }
  dist(x: Point<this>, y: Point<this>): Tensor {
    const d = this.log(x, y);
    return safeSqrt(frobInner(d, d));
  }
  transport(_x: Point<this>, _y: Point<this>, v: Tensor): Tensor {
    return v;
  }
  constraintViolation(x: Tensor): Tensor {
    return zeros([], { dtype: x.dtype, like: x });
  }
  tangentViolation(x: Point<this>, _u: Tensor): Tensor {
    return zeros([], { dtype: x.dtype, like: x });
  }
}

/**
 * Euclidean space of tensors of `shape`: the geometry optimizers give plain tensors.
 * @param shape the shape of a point
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { euclidean } from "@tangent/tangent/manifolds";
 * const E = euclidean([2, 3]);
 * const x = E.random(key(0), { dtype: "float64" });
 * const y = E.retract(x, x); // 2x
 * const d = E.dist(x, y); // ‖x‖, and E.log(x, y) is x
 * ```
 */
export function euclidean(shape: readonly number[]): Euclidean {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`euclidean: shape [${shape}] must hold non-negative integers`);
  }
  return new EuclideanImpl(shape);
}
