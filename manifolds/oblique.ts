/**
 * The oblique manifold OB(n, k) = { X ∈ ℝⁿˣᵏ : ‖X_{:,j}‖ = 1 for every column j }: k unit columns,
 * a product of k spheres Sⁿ⁻¹ (where HRA's reflection vectors live). Every operation is the
 * sphere's, column by column:
 * - tangent space: `diag(XᵀU) = 0`; projection `U − X diag(XᵀU)`
 * - retraction: normalise the columns of `X + V`
 * - exponential: per column `cos(‖vⱼ‖) xⱼ + sin(‖vⱼ‖) vⱼ / ‖vⱼ‖`
 * - logarithm: per column the sphere's, `θⱼ/sin θⱼ · (yⱼ − cos θⱼ·xⱼ)` with `θⱼ = arccos⟨xⱼ, yⱼ⟩`;
 *   `dist(X, Y) = √(Σⱼ θⱼ²)` (a DomainError on the CPU where a column of Y is minus X's)
 *
 * geoopt (0.5.1) has it as `Sphere()` on a [k, n] tensor (unit rows): `oblique(n, k)` on the transpose
 * agrees with it to 1e-16 in every operation, and `riemannianAdam` keeps one second moment per column
 * as geoopt keeps one per row (`tests/manifolds_geoopt_ops_test.ts`).
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { add, cos, div, mul, norm, sub, sum } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import type { Point } from "./point.ts";
import { normalize, scaledNorm, sinc, sphereLog } from "./sphere.ts";

/** k unit columns in ℝⁿ. */
export interface Oblique extends Manifold {
  /** `"oblique"`. */
  readonly kind: "oblique";
  /** Length of each column. */
  readonly n: number;
  /** Number of columns. */
  readonly k: number;
  /** Column exponential maps of the spheres. */
  exp(x: Point<this>, v: Tensor): Point<this>;
  /** Column logarithms of the spheres. */
  log(x: Point<this>, y: Point<this>): Tensor;
  /** `√(Σⱼ θⱼ²)`, θⱼ the columns' angles. */
  dist(x: Point<this>, y: Point<this>): Tensor;
}

const colDots = (a: Tensor, b: Tensor): Tensor => sum(mul(a, b), { axis: 0, keepdims: true }); // [1, k]
const colNorms = (a: Tensor): Tensor => norm(a, { axis: 0, keepdims: true }); // [1, k]

class ObliqueImpl extends ManifoldBase implements Oblique {
  readonly kind = "oblique" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;

  constructor(readonly n: number, readonly k: number) {
    super();
    this.shape = Object.freeze([n, k]);
    this.dim = k * (n - 1);
    this.name = `oblique(${n}, ${k})`;
  }

  random(key: Key, opts: RandomOptions = {}): Point<this> {
    const g = normal(key, this.shape, { dtype: opts.dtype ?? "float32" });
    return this.point(div(g, colNorms(g)));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  // X / ‖X_{:,j}‖ (e₁ for a zero column: every unit column is then equally near)
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(normalize(x, 0));
  }
  // U − X diag(XᵀU)
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return sub(u, mul(x, colDots(x, u)));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return sum(mul(u, v));
  }
  // one scalar per column (per sphere)
  override componentInner(_x: Point<this>, u: Tensor): Tensor {
    return colDots(u, u);
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    return this.point(normalize(add(x, v), 0));
  }
  exp(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("exp", x);
    this.checkVector("exp", x, v);
    const t = scaledNorm(v, 0);
    return this.point(add(mul(cos(t), x), mul(sinc(t), v)));
  }
  // per column θⱼ/sin θⱼ · (yⱼ − cos θⱼ·xⱼ)
  log(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("log", x);
    this.checkPoint("log", y);
    this.checkVector("log", x, y);
    return sphereLog(`${this.name}.log`, x, y, 0).vector();
  }
  // √(Σⱼ θⱼ²)
  dist(x: Point<this>, y: Point<this>): Tensor {
    this.checkPoint("dist", x);
    this.checkPoint("dist", y);
    this.checkVector("dist", x, y);
    const t = sphereLog(`${this.name}.dist`, x, y, 0).theta;
    return safeSqrt(sum(mul(t, t)));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  // ‖diag(XᵀX) − 1‖₂
  constraintViolation(x: Tensor): Tensor {
    return norm(sub(colDots(x, x), 1));
  }
  // ‖diag(XᵀU)‖₂
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    return norm(colDots(x, u));
  }
}

/**
 * The oblique manifold: n×k matrices with unit columns (dimension k(n − 1)).
 * @param n the length of each column
 * @param k the number of columns
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { oblique } from "@tangent/tangent/manifolds";
 * const OB = oblique(16, 4);
 * const U = OB.random(key(0)); // 4 unit vectors in ℝ¹⁶, as columns
 * const d = OB.dist(U, U); // 0
 * ```
 */
export function oblique(n: number, k: number): Oblique {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 1 || k < 1) {
    throw new ShapeError(`oblique: n and k must be positive integers, got n = ${n}, k = ${k}`);
  }
  return new ObliqueImpl(n, k);
}
