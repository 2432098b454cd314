/**
 * The Grassmann manifold Gr(n, p) of p-dimensional subspaces of ℝⁿ, as the quotient of St(n, p) by
 * O(p) (as in Pymanopt): a point is an n×p matrix X with orthonormal columns representing span(X).
 * - horizontal (tangent) space: `XᵀU = 0`; projection `U − X(XᵀU)`
 * - metric: `⟨U, V⟩ = tr(UᵀV)`; Riemannian gradient: the projection of G
 * - retraction "polar" (default): `U Vh` of the thin SVD of `X + V`; "qr": `qf(X + V)`
 * - exponential: with `V = U S Vh` (thin SVD), `exp(X, V) = qf(X Vhᵀ cos(S) Vh + U sin(S) Vh)`
 * - transport: projection onto the horizontal space at the destination
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, cos, expandDims, mul, norm, sin, sub } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { svd } from "../core/linalg/mod.ts";
import { type Manifold, ManifoldBase, type RandomOptions } from "./manifold.ts";
import { frobInner, mm, orthonormalityError, polarFactor, tmm } from "./matrix.ts";
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
