/**
 * The unit sphere Sⁿ⁻¹ = { x ∈ ℝⁿ : ‖x‖ = 1 } with the metric of ℝⁿ.
 * - tangent space: `xᵀu = 0`; projection `P_x(u) = u − x⟨x, u⟩`
 * - retraction: `R(x, v) = (x + v) / ‖x + v‖`
 * - exponential: `exp(x, v) = cos(‖v‖) x + sin(‖v‖) v / ‖v‖`
 * - transport: projection onto the tangent space at y
 *
 * It is geoopt's `Sphere` (0.5.1; float64, `tests/manifolds_geoopt_ops_test.ts`): projx, proju,
 * egrad2rgrad, inner, retr, transp and expmap agree to 1e-16, except that `project(0)` is e₁ where
 * geoopt gives NaN. geoopt's `SphereExact` retracts by the exponential: call `exp` for that step.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import {
  abs,
  add,
  cos,
  div,
  equal,
  eye,
  greater,
  max,
  mul,
  norm,
  reshape,
  sin,
  sub,
  sum,
  where,
} from "../core/ops/mod.ts";
import { stopGradient } from "../autodiff/grad.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Manifold, ManifoldBase, type RandomOptions } from "./manifold.ts";
import type { Point } from "./point.ts";

/** The unit sphere in ℝⁿ. */
export interface Sphere extends Manifold {
  /** `"sphere"`. */
  readonly kind: "sphere";
  /** Ambient dimension. */
  readonly n: number;
  /** `exp(x, v) = cos(‖v‖) x + sin(‖v‖) v / ‖v‖`. */
  exp(x: Point<this>, v: Tensor): Point<this>;
}

/**
 * `sin(t) / t` along an axis-reduced norm `t` (1 at t = 0, no NaN in value or gradient).
 * @internal
 */
export function sinc(t: Tensor): Tensor {
  const pos = greater(t, 1e-30);
  const safe = where(pos, t, 1);
  return where(pos, div(sin(safe), safe), 1);
}

/**
 * `‖v‖` over `axis` (all axes when absent, kept as extent 1 otherwise) computed as `m·‖v/m‖` with
 * `m = max |v|`, so a float32 vector of 1e20s does not overflow to ∞ (nor one of 1e-25s underflow
 * to 0).
 * @internal
 */
export function scaledNorm(v: Tensor, axis?: number): Tensor {
  const keep = axis === undefined ? {} : { axis, keepdims: true };
  const m = stopGradient(max(abs(v), keep));
  const zero = equal(m, 0);
  return mul(norm(div(v, where(zero, 1, m)), keep), m);
}

/**
 * `y / ‖y‖` over `axis` (the whole tensor when absent), scaled by `max |y|` first so that ‖y‖²
 * neither overflows nor underflows. Where `y` is exactly zero every unit vector is equally near,
 * and the result is the first basis vector e₁ (a point on the sphere, not NaN); NaN stays NaN.
 * @internal
 */
export function normalize(y: Tensor, axis?: number): Tensor {
  const keep = axis === undefined ? {} : { axis, keepdims: true };
  const m = stopGradient(max(abs(y), keep));
  const zero = equal(m, 0);
  const s = div(y, where(zero, 1, m));
  const u = div(s, where(zero, 1, norm(s, keep)));
  const n = y.shape[axis === undefined ? 0 : axis < 0 ? axis + y.ndim : axis];
  const e1 = eye(n, { m: 1, dtype: y.dtype, like: y }); // [n, 1]: the first basis vector as a column
  return where(zero, axis === undefined ? reshape(e1, y.shape) : e1, u);
}

class SphereImpl extends ManifoldBase implements Sphere {
  readonly kind = "sphere" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;

  constructor(readonly n: number) {
    super();
    this.shape = Object.freeze([n]);
    this.dim = n - 1;
    this.name = `sphere(${n})`;
  }

  // x = g / ‖g‖, g ~ N(0, I): uniform on the sphere
  random(key: Key, opts: RandomOptions = {}): Point<this> {
    const g = normal(key, this.shape, { dtype: opts.dtype ?? "float32" });
    return this.point(div(g, norm(g)));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  // x / ‖x‖ (e₁ for x = 0: every point is then equally near)
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(normalize(x));
  }
  // u − x⟨x, u⟩
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return sub(u, mul(x, sum(mul(x, u))));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return sum(mul(u, v));
  }
  // (x + v) / ‖x + v‖
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    return this.point(normalize(add(x, v)));
  }
  // cos(‖v‖) x + sin(‖v‖) v / ‖v‖
  exp(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("exp", x);
    this.checkVector("exp", x, v);
    const t = scaledNorm(v);
    return this.point(add(mul(cos(t), x), mul(sinc(t), v)));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  // |‖x‖² − 1|
  constraintViolation(x: Tensor): Tensor {
    return abs(sub(sum(mul(x, x)), 1));
  }
  // |⟨x, u⟩|
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    return abs(sum(mul(x, u)));
  }
}

/**
 * The unit sphere `{ x ∈ ℝⁿ : ‖x‖ = 1 }` (dimension n − 1).
 * @param n the ambient dimension
 * @example
 * ```ts
 * import { key, split } from "@tangent/tangent";
 * import { sphere } from "@tangent/tangent/manifolds";
 * const S = sphere(3);
 * const [k1, k2] = split(key(0));
 * const x = S.random(k1);
 * const y = S.retract(x, S.randomTangent(k2, x)); // ‖y‖ = 1
 * ```
 */
export function sphere(n: number): Sphere {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`sphere: n must be a positive integer, got ${n}`);
  return new SphereImpl(n);
}
