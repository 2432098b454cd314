/**
 * The Grassmann manifold Gr(n, p) of p-dimensional subspaces of ℝⁿ, as the quotient of St(n, p) by
 * O(p) (as in Pymanopt): a point is an n×p matrix X with orthonormal columns representing span(X).
 * - horizontal (tangent) space: `XᵀU = 0`; projection `U − X(XᵀU)`
 * - metric: `⟨U, V⟩ = tr(UᵀV)`; Riemannian gradient: the projection of G
 * - retraction "polar" (default): `U Vh` of the thin SVD of `X + V`; "qr": `qf(X + V)`
 * - exponential: with `V = U S Vh` (thin SVD), `exp(X, V) = qf(X Vhᵀ cos(S) Vh + U sin(S) Vh)`
 * - transport: projection onto the horizontal space at the destination
 * - logarithm (Absil, Mahony & Sepulchre 2004): with `U Σ Vh = (I − XXᵀ) Y (XᵀY)⁻¹` (thin SVD),
 *   `log(X, Y) = U atan(Σ) Vh`, horizontal at X and independent of the basis chosen for span(Y);
 *   `dist(X, Y) = ‖atan(Σ)‖ = √(Σᵢ θᵢ²)`, θᵢ the principal angles. `exp(X, log(X, Y))` spans span(Y)
 *   (it is another basis of it: `exp` orthonormalises by QR). Where some principal angle is π/2 (XᵀY
 *   singular) the logarithm is not unique: on the CPU `log` and `dist` throw a DomainError there (the
 *   smallest singular value of XᵀY is below √ε); elsewhere the result is not finite. Gradients go
 *   through the SVD, so they are finite only where the nonzero tangents tan θᵢ are distinct (not at
 *   Y = X, where every θᵢ = 0).
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, cos, expandDims, mul, norm, onesLike, sin, sub, sum } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { solve, svd } from "../core/linalg/mod.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import { atan2Pos } from "./sphere.ts";
import { checkSmallestSingularValue, frobInner, mm, orthonormalityError, polarFactor, tmm } from "./matrix.ts";
import type { Point } from "./point.ts";
import { qf } from "./stiefel.ts";

/** The retraction of a Grassmann manifold. */
export type GrassmannRetraction = "polar" | "qr";

/** Options of `grassmann`. */
export interface GrassmannOptions {
  /** `"polar"` (default) or `"qr"`. */
  retraction?: GrassmannRetraction;
}

/** p-dimensional subspaces of ℝⁿ, represented by orthonormal bases. */
export interface Grassmann extends Manifold {
  /** `"grassmann"`. */
  readonly kind: "grassmann";
  /** Ambient dimension. */
  readonly n: number;
  /** Subspace dimension. */
  readonly p: number;
  /** The retraction. */
  readonly retraction: GrassmannRetraction;
  /** The geodesic (closed form by the SVD of the tangent vector). */
  exp(x: Point<this>, v: Tensor): Point<this>;
  /** `log(X, Y) = U atan(Σ) Vh`, `U Σ Vh = (I − XXᵀ) Y (XᵀY)⁻¹` (DomainError on the CPU at a right angle). */
  log(x: Point<this>, y: Point<this>): Tensor;
  /** `dist(X, Y) = √(Σᵢ θᵢ²)`, the principal angles θᵢ between span(X) and span(Y). */
  dist(x: Point<this>, y: Point<this>): Tensor;
}

class GrassmannImpl extends ManifoldBase implements Grassmann {
  readonly kind = "grassmann" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  readonly retraction: GrassmannRetraction;

  constructor(readonly n: number, readonly p: number, opts: GrassmannOptions) {
    super();
    this.shape = Object.freeze([n, p]);
    this.dim = p * (n - p);
    this.retraction = opts.retraction ?? "polar";
    this.name = `grassmann(${n}, ${p}, ${this.retraction})`;
  }

  random(key: Key, opts: RandomOptions = {}): Point<this> {
    return this.point(qf(normal(key, this.shape, { dtype: opts.dtype ?? "float32" })));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(polarFactor(x));
  }
  // U − X(XᵀU)
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return sub(u, mm(x, tmm(x, u)));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return frobInner(u, v);
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    const y = add(x, v);
    return this.point(this.retraction === "qr" ? qf(y) : polarFactor(y));
  }
  // qf(X Vhᵀ cos(S) Vh + U sin(S) Vh), V = U S Vh
  exp(x: Point<this>, v: Tensor): Point<this> {
    const { U, S, Vh } = svd(this.toTangent(x, v));
    const c = expandDims(cos(S), 0), s = expandDims(sin(S), 0);
    return this.point(qf(mm(add(mm(x, mul(Vh.mT, c)), mul(U, s)), Vh)));
  }
  /** The SVD of `(I − XXᵀ) Y (XᵀY)⁻¹` and the principal angles `atan(Σ)`. */
  private angles(op: string, x: Point<this>, y: Point<this>): { U: Tensor; theta: Tensor; Vh: Tensor } {
    this.checkPoint(op, x);
    this.checkPoint(op, y);
    this.checkVector(op, x, y);
    const b = tmm(x, y);
    checkSmallestSingularValue(b, (smin, bound) =>
      new DomainError(
        `${this.name}.${op}: XᵀY is singular (smallest singular value ${smin} ≤ √ε = ${bound}): ` +
          `span(Y) has a direction at a right angle to span(X), where the logarithm is not unique; ` +
          `move Y off that set`,
      ));
    // (I − XXᵀ) Y (XᵀY)⁻¹ = (B⁻ᵀ Aᵀ)ᵀ, A = Y − X(XᵀY)
    const a = sub(y, mm(x, b));
    const { U, S, Vh } = svd(solve(b.mT, a.mT).mT);
    return { U, theta: atan2Pos(S, onesLike(S)), Vh };
  }
  // U atan(Σ) Vh
  log(x: Point<this>, y: Point<this>): Tensor {
    const { U, theta, Vh } = this.angles("log", x, y);
    return mm(mul(U, expandDims(theta, 0)), Vh);
  }
  // √(Σᵢ θᵢ²)
  dist(x: Point<this>, y: Point<this>): Tensor {
    const { theta } = this.angles("dist", x, y);
    return safeSqrt(sum(mul(theta, theta)));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  // ‖XᵀX − I‖_F
  constraintViolation(x: Tensor): Tensor {
    return orthonormalityError(x);
  }
  // ‖XᵀU‖_F
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    return norm(tmm(x, u));
  }
}

/**
 * The Grassmann manifold of p-planes in ℝⁿ (dimension p(n − p)), points as orthonormal n×p bases.
 * @param n ambient dimension
 * @param p subspace dimension (1 ≤ p ≤ n)
 * @param opts the retraction (`"polar"` default, or `"qr"`)
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { grassmann } from "@tangent/tangent/manifolds";
 * const G = grassmann(6, 2);
 * const x = G.random(key(0), { dtype: "float64" }); // a basis of a random plane in ℝ⁶
 * const y = G.random(key(1), { dtype: "float64" });
 * const d = G.dist(x, y); // √(θ₁² + θ₂²), the principal angles between the planes
 * ```
 */
export function grassmann(n: number, p: number, opts: GrassmannOptions = {}): Grassmann {
  checkOptions("grassmann", opts, optionKeys<GrassmannOptions>({ retraction: true }));
  if (!Number.isInteger(n) || !Number.isInteger(p) || p < 1 || n < p) {
    throw new ShapeError(`grassmann: need integers n ≥ p ≥ 1, got n = ${n}, p = ${p}`);
  }
  if (opts.retraction !== undefined && opts.retraction !== "polar" && opts.retraction !== "qr") {
    throw new ShapeError(`grassmann: retraction must be "polar" or "qr", got ${opts.retraction}`);
  }
  return new GrassmannImpl(n, p, opts);
}
