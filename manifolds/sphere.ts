/**
 * The unit sphere Sⁿ⁻¹ = { x ∈ ℝⁿ : ‖x‖ = 1 } with the metric of ℝⁿ.
 * - tangent space: `xᵀu = 0`; projection `P_x(u) = u − x⟨x, u⟩`
 * - retraction: `R(x, v) = (x + v) / ‖x + v‖`
 * - exponential: `exp(x, v) = cos(‖v‖) x + sin(‖v‖) v / ‖v‖`
 * - transport: projection onto the tangent space at y
 * - logarithm: with `θ = atan2(‖u‖, ⟨x, y⟩)` (= arccos⟨x, y⟩) and `u = P_x(y − x) = y − ⟨x, y⟩x`,
 *   `log(x, y) = θ u / ‖u‖ = θ/sin θ · (y − cos θ·x)`; `dist(x, y) = θ`. θ comes from atan2, not
 *   arccos, so it is accurate (value and gradient) down to θ = 0, where θ/sin θ takes its series.
 *   At antipodal points (y = −x: every direction is a shortest geodesic) `log` and `dist` on the CPU
 *   throw a DomainError; on other backends (no synchronous read) `log` is 0 there and `dist` π, as
 *   geoopt's `logmap`/`dist`.
 *
 * It is geoopt's `Sphere` (0.5.1; float64, `tests/manifolds_geoopt_ops_test.ts`): projx, proju,
 * egrad2rgrad, inner, retr, transp and expmap agree to 1e-16, except that `project(0)` is e₁ where
 * geoopt gives NaN. geoopt's `SphereExact` retracts by the exponential: call `exp` for that step.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import {
  abs,
  add,
  cos,
  div,
  equal,
  eye,
  greater,
  less,
  lessEqual,
  logicalAnd,
  max,
  mul,
  norm,
  reshape,
  sin,
  sqrt,
  sub,
  sum,
  where,
} from "../core/ops/mod.ts";
import { stopGradient } from "../autodiff/grad.ts";
import { type Key, normal } from "../core/random.ts";
import { batchMaxSync, type Tensor } from "../core/tensor.ts";
import { EPS } from "../core/linalg/helpers.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import type { Point } from "./point.ts";

/** The unit sphere in ℝⁿ. */
export interface Sphere extends Manifold {
  /** `"sphere"`. */
  readonly kind: "sphere";
  /** Ambient dimension. */
  readonly n: number;
  /** `exp(x, v) = cos(‖v‖) x + sin(‖v‖) v / ‖v‖`. */
  exp(x: Point<this>, v: Tensor): Point<this>;
  /** `log(x, y) = θ/sin θ · (y − cos θ·x)`, θ = arccos⟨x, y⟩ (DomainError at y = −x on the CPU). */
  log(x: Point<this>, y: Point<this>): Tensor;
  /** `dist(x, y) = arccos⟨x, y⟩` (computed by atan2: accurate near 0). */
  dist(x: Point<this>, y: Point<this>): Tensor;
}

/**
 * `atan2(s, c)` for `s ≥ 0` (an angle in [0, π]) from the ops at hand: Newton steps
 * `θ ← θ + tan(φ − θ)` from `π/2·(1 − c/r)` (error ≤ 0.35, cubic convergence, 5 steps reach rounding),
 * then one differentiable step `t + (s cos t − c sin t)/r` from the stopped iterate t, so the
 * gradient is atan2's own, `(c, −s)/(s² + c²)`. `(0, 0)` gives 0.
 * @internal
 */
export function atan2Pos(s: Tensor, c: Tensor): Tensor {
  const s0 = stopGradient(s), c0 = stopGradient(c);
  const r2 = add(mul(s0, s0), mul(c0, c0));
  const r = sqrt(where(greater(r2, 0), r2, 1));
  let t = mul(sub(1, div(c0, r)), Math.PI / 2);
  for (let i = 0; i < 5; i++) {
    const ct = cos(t), st = sin(t);
    const den = add(mul(c0, ct), mul(s0, st));
    t = add(t, div(sub(mul(s0, ct), mul(c0, st)), where(equal(den, 0), 1, den)));
  }
  // θ = t + (s cos t − c sin t)/r = t + sin(φ − t): its gradient at the converged t is (cos t, −sin t)/r
  const ct = cos(t), st = sin(t);
  return add(t, div(sub(mul(s, ct), mul(c, st)), r));
}

/**
 * The sphere's logarithm over `axis` (the whole tensor when absent, per column with `axis` 0):
 * `θ u / ‖u‖` with `u = (y − x) − x⟨x, y − x⟩`, `θ = atan2(‖u‖, ⟨x, y⟩)`, and θ/sin θ by its series
 * below θ = 1e-3. Returns θ (reduced over `axis`, kept as extent 1) and the vector, made when asked
 * for (a distance needs θ alone). On the CPU it
 * throws a DomainError naming `op` where y = −x; elsewhere the vector there is 0 (geoopt's).
 * @internal
 */
export function sphereLog(op: string, x: Tensor, y: Tensor, axis?: number): { vector(): Tensor; theta: Tensor } {
  const keep = axis === undefined ? {} : { axis, keepdims: true };
  const d = sub(y, x);
  const u = sub(d, mul(x, sum(mul(x, d), keep)));
  const s = safeSqrt(sum(mul(u, u), keep));
  const c = sum(mul(x, y), keep);
  if (x.backend.name === "cpu") {
    const eps = EPS[x.dtype];
    // > 0 where y is (numerically) −x: ‖u‖ below 64 ulps while ⟨x, y⟩ < 0
    const bad = batchMaxSync(where(logicalAnd(lessEqual(s, 64 * eps), less(c, 0)), 1, 0).astype(x.dtype));
    if (bad > 0) {
      throw new DomainError(
        `${op}: y = −x (antipodal${
          axis === undefined ? "" : " columns"
        }): every direction is a shortest geodesic, so the logarithm is not unique; ` +
          `the distance is π there; pick a direction yourself (any unit tangent at x times π)`,
      );
    }
  }
  const theta = atan2Pos(s, c);
  const vector = () => {
    const t2 = mul(theta, theta);
    // θ/sin θ = 1 + θ²/6 + 7θ⁴/360 + 31θ⁶/15120 + O(θ⁸)
    const series = add(1, mul(t2, add(1 / 6, mul(t2, add(7 / 360, mul(t2, 31 / 15120))))));
    const big = greater(theta, 1e-3);
    const ratio = where(big, div(theta, where(greater(s, 0), s, 1)), series);
    return mul(where(logicalAnd(big, equal(s, 0)), 0, ratio), u);
  };
  return { vector, theta };
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
  // θ/sin θ · (y − cos θ·x), θ = atan2(‖u‖, ⟨x, y⟩)
  log(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("log", x);
    this.checkPoint("log", y);
    this.checkVector("log", x, y);
    return sphereLog(`${this.name}.log`, x, y).vector();
  }
  // θ = arccos⟨x, y⟩, by atan2
  dist(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("dist", x);
    this.checkPoint("dist", y);
    this.checkVector("dist", x, y);
    return sphereLog(`${this.name}.dist`, x, y).theta;
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
 * const v = S.log(x, y); // tangent at x, and S.exp(x, v) ≈ y
 * const d = S.dist(x, y); // ‖v‖ = arccos⟨x, y⟩
 * ```
 */
export function sphere(n: number): Sphere {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`sphere: n must be a positive integer, got ${n}`);
  return new SphereImpl(n);
}
