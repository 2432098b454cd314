/**
 * The orthogonal group O(n) = { X ∈ ℝⁿˣⁿ : XᵀX = I } and the rotations SO(n) (det X = 1), with the
 * metric of ℝⁿˣⁿ (as Pymanopt's SpecialOrthogonalGroup). Tangent vectors are ambient: `U = XΩ`
 * with Ω skew-symmetric.
 * - projection onto the tangent space: `X skew(XᵀU)`
 * - retraction "cayley" (default): `R(X, V) = X (I − ½Ω)⁻¹(I + ½Ω)`, `Ω = skew(XᵀV)`
 *   (`= X · cayley(−½Ω)` with `cayley(S) = (I − S)(I + S)⁻¹`)
 * - retraction "exp": the exponential `exp(X, V) = X expm(Ω)`
 * - both retractions end with one Newton–Schulz step `Y(3I − YᵀY)/2` (the identity on O(n)) so
 *   that rounding does not accumulate over many steps
 * - transport: projection onto the tangent space at the destination
 * - logarithm: `log(X, Y) = X log(XᵀY)` with the principal (skew) logarithm of the rotation XᵀY,
 *   computed by inverse scaling and squaring: four square roots `R ← polar(I + R)` (the polar factor
 *   of I + R is R^½ when R has no eigenvalue −1; its gradient is stable at repeated singular values),
 *   then `log R = 2 artanh(C) = 2 Σ C²ᵏ⁺¹/(2k+1)`, `C = (R + I)⁻¹(R − I)` (skew, ‖C‖₂ ≤ tan(π/32)), nine
 *   terms, times 2⁴; `dist(X, Y) = ‖log(XᵀY)‖_F`. Where XᵀY has the eigenvalue −1 (always when X and
 *   Y lie in different components of O(n), det XᵀY = −1) no real logarithm is skew or unique: on the
 *   CPU `log` and `dist` throw a DomainError there (the smallest singular value of I + XᵀY is below
 *   √ε); on other backends the result is not finite. Gradients flow through every step (away from
 *   that set).
 * - nearest point: `U Vh` of the SVD; for SO(n), `U diag(1, …, 1, det(UVh)) Vh`
 *
 * geoopt 0.5.1 has no orthogonal group; against its square Stiefel manifolds (float64,
 * `tests/manifolds_geoopt_ops_test.ts`): `project`, `toTangent`, `inner` and `transport` are
 * `EuclideanStiefel`'s; retraction "exp" (and `exp`) is `EuclideanStiefel.expmap`; retraction "cayley"
 * `X(I − ½Ω)⁻¹(I + ½Ω)` is `CanonicalStiefel.retr(X, V/2)` (geoopt's Cayley map moves twice as far);
 * geoopt's canonical inner on O(n) is half of this metric.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, arange, equal, greater, mul, norm, relu, sign, sub, where } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { cayley, det, expm, solve, svd } from "../core/linalg/mod.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import {
  checkSmallestSingularValue,
  eyeOf,
  frobInner,
  mm,
  newtonSchulzStep,
  orthonormalityError,
  polarFactor,
  skew,
  tmm,
} from "./matrix.ts";
import type { Point } from "./point.ts";
import { qf } from "./stiefel.ts";

/** The retraction of the orthogonal group. */
export type OrthogonalRetraction = "cayley" | "exp";

/** Options of `orthogonal`. */
export interface OrthogonalOptions {
  /** SO(n) (det = 1) instead of O(n) (default false). */
  special?: boolean;
  /** `"cayley"` (default) or `"exp"`. */
  retraction?: OrthogonalRetraction;
}

/** n×n orthogonal matrices, or rotations. */
export interface Orthogonal extends Manifold {
  /** `"orthogonal"`. */
  readonly kind: "orthogonal";
  /** Matrix size. */
  readonly n: number;
  /** True for SO(n). */
  readonly special: boolean;
  /** The retraction. */
  readonly retraction: OrthogonalRetraction;
  /** `exp(X, V) = X expm(skew(XᵀV))`. */
  exp(x: Point<this>, v: Tensor): Point<this>;
  /** `log(X, Y) = X log(XᵀY)`, the principal skew logarithm (DomainError on the CPU at eigenvalue −1). */
  log(x: Point<this>, y: Point<this>): Tensor;
  /** `dist(X, Y) = ‖log(XᵀY)‖_F`. */
  dist(x: Point<this>, y: Point<this>): Tensor;
}

/**
 * The principal logarithm of an orthogonal `r` without the eigenvalue −1, a skew matrix: four square
 * roots `polar(I + R)`, then `2⁵ Σₖ₌₀⁸ C²ᵏ⁺¹/(2k+1)` with `C = (R + I)⁻¹(R − I)`. `op` names the
 * caller in the DomainError that the CPU throws when I + R is (numerically) singular.
 * @internal
 */
export function skewLog(op: string, r: Tensor): Tensor {
  const n = r.shape[r.ndim - 1];
  const id = eyeOf(n, r);
  checkSmallestSingularValue(add(r, id), (smin, bound) =>
    new DomainError(
      `${op}: XᵀY has the eigenvalue −1 (smallest singular value of I + XᵀY is ${smin} ≤ √ε = ${bound}): ` +
        `X and Y are in different components of O(n) (det XᵀY = −1) or a half-turn apart, where no ` +
        `unique skew logarithm exists; use orthogonal(n, { special: true }) points, or move Y off the half-turn`,
    ));
  let q = r;
  for (let i = 0; i < 4; i++) q = polarFactor(add(id, q));
  const c = skew(solve(add(q, id), sub(q, id)));
  const c2 = mm(c, c);
  // Horner in C²: 1 + C²/3 + C⁴/5 + … + C¹⁶/17
  let acc = mul(id, 1 / 17);
  for (let k = 7; k >= 0; k--) acc = add(mm(c2, acc), mul(id, 1 / (2 * k + 1)));
  return skew(mul(mm(c, acc), 32));
}

class OrthogonalImpl extends ManifoldBase implements Orthogonal {
  readonly kind = "orthogonal" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  readonly special: boolean;
  readonly retraction: OrthogonalRetraction;

  constructor(readonly n: number, opts: OrthogonalOptions) {
    super();
    this.shape = Object.freeze([n, n]);
    this.dim = (n * (n - 1)) / 2;
    this.special = opts.special ?? false;
    this.retraction = opts.retraction ?? "cayley";
    this.name = `${this.special ? "special" : ""}orthogonal(${n}, ${this.retraction})`;
  }

  /** Multiplies the last column of `u` by `s` (a scalar tensor). */
  private scaleLastColumn(u: Tensor, s: Tensor | number): Tensor {
    return mul(u, where(equal(arange(this.n, undefined, 1, { like: u }), this.n - 1), s, 1));
  }

  // qf(G), G ~ N(0, I) is Haar on O(n); for SO(n) flip a column when det < 0 (Haar on SO(n))
  random(key: Key, opts: RandomOptions = {}): Point<this> {
    const q = qf(normal(key, this.shape, { dtype: opts.dtype ?? "float32" }));
    return this.point(this.special ? this.scaleLastColumn(q, sign(det(q))) : q);
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  // U Vh, or U diag(1, …, 1, det(UVh)) Vh for SO(n)
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    const q = polarFactor(x);
    if (!this.special) return this.point(q);
    const { U, Vh } = svd(x);
    return this.point(where(greater(det(q), 0), q, mm(this.scaleLastColumn(U, -1), Vh)));
  }
  // X skew(XᵀU)
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return mm(x, skew(tmm(x, u)));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return frobInner(u, v);
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    if (this.retraction === "exp") return this.exp(x, v);
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    // X (I − ½Ω)⁻¹(I + ½Ω) = X cayley(−½Ω)
    return this.point(newtonSchulzStep(mm(x, cayley(mul(skew(tmm(x, v)), -0.5)))));
  }
  // X expm(skew(XᵀV))
  exp(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("exp", x);
    this.checkVector("exp", x, v);
    return this.point(newtonSchulzStep(mm(x, expm(skew(tmm(x, v))))));
  }
  // X log(XᵀY)
  log(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("log", x);
    this.checkPoint("log", y);
    this.checkVector("log", x, y);
    return mm(x, skewLog(`${this.name}.log`, tmm(x, y)));
  }
  // ‖log(XᵀY)‖_F
  dist(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("dist", x);
    this.checkPoint("dist", y);
    this.checkVector("dist", x, y);
    const w = skewLog(`${this.name}.dist`, tmm(x, y));
    return safeSqrt(frobInner(w, w));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  // ‖XᵀX − I‖_F, plus max(0, −det X) for SO(n)
  constraintViolation(x: Tensor): Tensor {
    const e = orthonormalityError(x);
    return this.special ? add(e, relu(sub(0, det(x)))) : e;
  }
  // ‖XᵀU + UᵀX‖_F
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    const a = tmm(x, u);
    return norm(add(a, a.mT));
  }
}

/**
 * The orthogonal group O(n), or SO(n) with `special: true` (dimension n(n − 1)/2).
 * @param n matrix size
 * @param opts `special` for SO(n); `retraction` `"cayley"` (default) or `"exp"`
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { orthogonal } from "@tangent/tangent/manifolds";
 * const SO3 = orthogonal(3, { special: true });
 * const r = SO3.random(key(0), { dtype: "float64" }); // a random rotation
 * const v = SO3.log(r, SO3.exp(r, SO3.randomTangent(key(1), r))); // the tangent back (norm < π)
 * ```
 */
export function orthogonal(n: number, opts: OrthogonalOptions = {}): Orthogonal {
  checkOptions(
    "orthogonal",
    opts,
    optionKeys<OrthogonalOptions>({ special: true, retraction: true }),
    "{ special: true }",
  );
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`orthogonal: n must be a positive integer, got ${n}`);
  if (opts.retraction !== undefined && opts.retraction !== "cayley" && opts.retraction !== "exp") {
    throw new ShapeError(`orthogonal: retraction must be "cayley" or "exp", got ${opts.retraction}`);
  }
  return new OrthogonalImpl(n, opts);
}
