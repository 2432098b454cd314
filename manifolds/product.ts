/**
 * The product M₁ × … × M_k. A point is one flat tensor holding the factors' points one after the
 * other (as geoopt's ProductManifold); `split` and `combine` convert. Every operation acts factor by
 * factor: `⟨u, v⟩ = Σᵢ ⟨uᵢ, vᵢ⟩_{Mᵢ}`, `R(x, v) = (R₁(x₁, v₁), …)`, and the violation is
 * `√(Σᵢ violationᵢ²)`. `exp`, `log` and `dist` exist when every factor has them:
 * `log(x, y) = (log₁(x₁, y₁), …)`, `dist(x, y) = √(Σᵢ distᵢ(xᵢ, yᵢ)²)`.
 * `product(sphere(4), euclidean([3]))` is geoopt's `ProductManifold((Sphere(), 4), (Euclidean(), 3))`
 * (0.5.1; same layout, projx, proju, inner, component_inner, retr, transp, expmap to 1e-16); a
 * `euclidean` factor has elementwise components, as geoopt's `Euclidean()` (not `Euclidean(ndim=1)`).
 * @module
 */
import { DTypeError, ShapeError } from "../core/errors.ts";
import { add, broadcastTo, concat, mul, reshape, slice, sqrt } from "../core/ops/mod.ts";
import { type Key, split as splitKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Manifold, ManifoldBase, type RandomOptions, safeSqrt } from "./manifold.ts";
import { asPoint, type Point } from "./point.ts";

/** The product of manifolds, with points flattened into one vector. */
export interface Product<Ms extends readonly Manifold[] = readonly Manifold[]> extends Manifold {
  /** `"product"`. */
  readonly kind: "product";
  /** The factors. */
  readonly factors: Ms;
  /** The factors' parts of a flat point or vector, each in its factor's shape. */
  split(x: Tensor): Tensor[];
  /** A flat point or vector from the factors' parts. */
  combine(parts: readonly Tensor[]): Tensor;
}

class ProductImpl<Ms extends readonly Manifold[]> extends ManifoldBase implements Product<Ms> {
  readonly kind = "product" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  readonly exp?: (x: Point<this>, v: Tensor) => Point<this>;
  readonly log?: (x: Point<this>, y: Point<this>) => Tensor;
  readonly dist?: (x: Point<this>, y: Point<this>) => Tensor;
  private readonly offsets: number[];
  private readonly sizes: number[];

  constructor(readonly factors: Ms) {
    super();
    this.sizes = factors.map((m) => m.shape.reduce((a, b) => a * b, 1));
    this.offsets = [];
    let o = 0;
    for (const s of this.sizes) {
      this.offsets.push(o);
      o += s;
    }
    this.shape = Object.freeze([o]);
    this.dim = factors.reduce((a, m) => a + m.dim, 0);
    this.name = `product(${factors.map((m) => m.name).join(", ")})`;
    if (factors.every((m) => typeof m.exp === "function")) {
      this.exp = (x: Point<this>, v: Tensor): Point<this> => {
        this.checkPoint("exp", x);
        this.checkVector("exp", x, v);
        const xs = this.points(x), vs = this.split(v);
        return this.point(this.combine(this.factors.map((m, i) => m.exp!(xs[i], vs[i]))));
      };
    }
    if (factors.every((m) => typeof m.log === "function")) {
      this.log = (x: Point<this>, y: Point<this>): Tensor => {
        this.checkPoint("log", x);
        this.checkPoint("log", y);
        this.checkVector("log", x, y);
        const xs = this.points(x), ys = this.points(y);
        return this.combine(this.factors.map((m, i) => m.log!(xs[i], ys[i])));
      };
    }
    if (factors.every((m) => typeof m.dist === "function")) {
      this.dist = (x: Point<this>, y: Point<this>): Tensor => {
        this.checkPoint("dist", x);
        this.checkPoint("dist", y);
        this.checkVector("dist", x, y);
        const xs = this.points(x), ys = this.points(y);
        return safeSqrt(this.total(this.factors.map((m, i) => {
          const d = m.dist!(xs[i], ys[i]);
          return mul(d, d);
        })));
      };
    }
  }

  split(x: Tensor): Tensor[] {
    if (x.ndim !== 1 || x.shape[0] !== this.shape[0]) {
      throw new ShapeError(`${this.name}.split: expected a tensor of shape [${this.shape[0]}], got [${x.shape}]`);
    }
    return this.factors.map((m, i) => reshape(slice(x, [[this.offsets[i], this.offsets[i] + this.sizes[i]]]), m.shape));
  }
  combine(parts: readonly Tensor[]): Tensor {
    if (parts.length !== this.factors.length) {
      throw new ShapeError(`${this.name}.combine: expected ${this.factors.length} parts, got ${parts.length}`);
    }
    return concat(parts.map((p, i) => reshape(p, [this.sizes[i]])), 0);
  }
  /** The factors' parts of x, tagged as the factors' points. */
  private points(x: Tensor): Point<Manifold>[] {
    return this.split(x).map((p, i) => asPoint(p, this.factors[i]));
  }
  /** Applies `f` factor by factor to a point and one vector and combines. */
  private each(x: Point<this>, u: Tensor, f: (m: Manifold, x: Point<Manifold>, u: Tensor) => Tensor): Tensor {
    const xs = this.points(x), us = this.split(u);
    return this.combine(this.factors.map((m, i) => f(m, xs[i], us[i])));
  }
  /** Sums a scalar per factor. */
  private total(parts: Tensor[]): Tensor {
    return parts.reduce((a, b) => add(a, b));
  }

  random(key: Key, opts: RandomOptions = {}): Point<this> {
    const keys = splitKey(key, this.factors.length);
    return this.point(this.combine(this.factors.map((m, i) => m.random(keys[i], opts))));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    const keys = splitKey(key, this.factors.length), xs = this.points(x);
    return this.combine(this.factors.map((m, i) => m.randomTangent(keys[i], xs[i])));
  }
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(this.combine(this.split(x).map((p, i) => this.factors[i].project(p))));
  }
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return this.each(x, u, (m, xi, ui) => m.toTangent(xi, ui));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    this.checkPoint("egradToRgrad", x);
    this.checkVector("egradToRgrad", x, g);
    return this.each(x, g, (m, xi, gi) => m.egradToRgrad(xi, gi));
  }
  inner(x: Point<this>, u: Tensor, v: Tensor): Tensor {
    const xs = this.points(x), us = this.split(u), vs = this.split(v);
    return this.total(this.factors.map((m, i) => m.inner(xs[i], us[i], vs[i])));
  }
  // each factor's components, broadcast over its part
  override componentInner(x: Point<this>, u: Tensor): Tensor {
    return this.each(x, u, (m, xi, ui) => broadcastTo(m.componentInner(xi, ui), m.shape));
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    return this.point(this.each(x, v, (m, xi, vi) => m.retract(xi, vi)));
  }
  transport(x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    const xs = this.points(x), ys = this.points(y), vs = this.split(v);
    return this.combine(this.factors.map((m, i) => m.transport(xs[i], ys[i], vs[i])));
  }
  // √(Σᵢ violationᵢ²)
  constraintViolation(x: Tensor): Tensor {
    const parts = this.split(x).map((p, i) => this.factors[i].constraintViolation(p));
    return sqrt(this.total(parts.map((v) => mul(v, v))));
  }
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    const xs = this.points(x), us = this.split(u);
    const parts = this.factors.map((m, i) => m.tangentViolation(xs[i], us[i]));
    return sqrt(this.total(parts.map((v) => mul(v, v))));
  }
}

/**
 * The product manifold `M₁ × … × M_k`; a point is the factors' points flattened and concatenated.
 * @param factors the manifolds (all points must share a dtype)
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { euclidean, product, sphere } from "@tangent/tangent/manifolds";
 * const M = product(sphere(3), euclidean([2]));
 * const x = M.random(key(0)); // shape [5]
 * const [s, e] = M.split(x); // shapes [3] and [2]
 * const d = M.dist?.(x, x); // 0: both factors have a logarithm
 * ```
 */
export function product<Ms extends readonly Manifold[]>(...factors: Ms): Product<Ms> {
  if (factors.length === 0) throw new ShapeError("product: needs at least one manifold");
  factors.forEach((m, i) => {
    if (m === null || typeof m !== "object" || !Array.isArray(m.shape) || typeof m.project !== "function") {
      throw new DTypeError(
        `product: factor ${i} must be a manifold (sphere(3), stiefel(4, 2), ...), got ${
          m === null ? "null" : typeof m
        }`,
      );
    }
  });
  return new ProductImpl(factors);
}
