/**
 * The Stiefel manifold St(n, p) = { X ∈ ℝⁿˣᵖ : XᵀX = I } (n ≥ p), with geoopt's two metrics and
 * four retractions.
 *
 * - tangent space: `XᵀU + UᵀX = 0`; projection `P_X(U) = U − X sym(XᵀU)`
 * - metric "euclidean": `⟨U, V⟩ = tr(UᵀV)`; Riemannian gradient `P_X(G)`
 * - metric "canonical": `⟨U, V⟩ = tr(Uᵀ(I − ½XXᵀ)V)`; Riemannian gradient `G − XGᵀX`
 * - retraction "qr": `R(X, V) = qf(X + V)` (Q of the QR factorisation with diag(R) ≥ 0)
 * - retraction "polar": `R(X, V) = (X + V)((X + V)ᵀ(X + V))^{-1/2} = U Vh` of the thin SVD
 * - retraction "cayley": `R(X, V) = (I − ½W)⁻¹(I + ½W)X` with `W = P V Xᵀ − X VᵀP`,
 *   `P = I − ½XXᵀ` (so `WX = V` for tangent V; Wen & Yin 2013). W = A Bᵀ has rank 2p with
 *   `A = [PV, X]`, `B = [X, −PV]`, so by Sherman–Morrison–Woodbury
 *   `R(X, V) = X + A (I₂ₚ − ½BᵀA)⁻¹ BᵀX`: O(np²) work and a 2p×2p solve, never an n×n matrix.
 *   With `cayleyIterations: s` the fixed point `Y ← X + ½W(X + Y)` from `Y = X + V` is run s times
 *   instead (Li, Li & Todorovic 2020): matrix products only, accurate for ‖V‖ small. It contracts
 *   only while ‖½W‖ < 1 (‖½W‖₂ ≤ ‖PV‖_F), so, as in their Cayley SGD, a longer step is shortened
 *   to ‖PV‖_F = ½ (V scaled by min(1, ½/‖PV‖_F)) instead of diverging to ∞.
 *   Both end with one Newton–Schulz step `Y(3I − YᵀY)/2` (the identity on the manifold) so that
 *   rounding does not accumulate over thousands of float32 steps.
 * - retraction "exp": the metric's exponential `exp(X, V)` below (geoopt's `EuclideanStiefelExact` with
 *   the euclidean metric), also ended by one Newton–Schulz step
 * - transport: projection onto the tangent space at the destination
 * - exponential (closed forms, Edelman, Arias & Smith 1998): euclidean
 *   `[X, V] expm([[A, −S], [I, A]]) [expm(−A); 0]` with `A = XᵀV`, `S = VᵀV`; canonical
 *   `X M + Q N` with `QR = (I − XXᵀ)V`, `[M; N] = expm([[A, −Rᵀ], [R, 0]]) [I; 0]`.
 * - random: Haar (uniform), `qf(G)` of a Gaussian G
 * - no `log` / `dist`: the Stiefel logarithm has no closed form under either metric (it needs an
 *   iterative solve, e.g. Zimmermann's algorithm for the canonical metric; geoopt has no `logmap`
 *   for Stiefel either), so these optional members are absent. For p = n use `orthogonal(n)`, for
 *   subspaces `grassmann(n, p)`, and for p = 1 `sphere(n)`, which have them.
 *
 * Against geoopt 0.5.1 (float64, `tests/manifolds_geoopt_ops_test.ts`):
 * - `stiefel(n, p)` (euclidean, qr) is geoopt's `EuclideanStiefel`: projx, proju, egrad2rgrad, inner,
 *   component_inner, retr (QR with diag(R) ≥ 0), transp and expmap agree to 1e-15, and `exp` is
 *   `EuclideanStiefelExact`'s retraction (`retraction: "exp"` steps as it does); so do their gradients. `exp(X, V)` projects V onto the
 *   tangent space first (geoopt's expmap takes V as it is: the same at a tangent V, but the gradient
 *   in V is geoopt's of `expmap(X, proju(X, V))`). Note geoopt's `Stiefel()` defaults to the
 *   canonical metric.
 * - `stiefel(n, p, { metric: "canonical" })` has geoopt `CanonicalStiefel`'s inner and egrad2rgrad, but
 *   not its other choices. geoopt's proju is its egrad2rgrad `U − XUᵀX`, not a projection (on a tangent
 *   V it doubles the `XᵀV` part); `toTangent` is the orthogonal projection. geoopt's retr is the
 *   Cayley map with `W = UXᵀ − XUᵀ`, whose velocity `WX = U − XUᵀX` is not U: geoopt's `retr(X, U)` is
 *   `retract(X, egradToRgrad(X, U))`, and `retract(X, V)` is geoopt's `retr(X, V − ½XXᵀV)`. geoopt
 *   transports along its Cayley map, `(I − ½W)⁻¹(I + ½W)v`, where `transport` projects; geoopt's
 *   expmap is its Cayley retr, where `exp` is the geodesic. So `riemannianSgd` / `riemannianAdam`
 *   steps on a canonical Stiefel leaf differ from geoopt's (geoopt moves the `XᵀV` part twice as far).
 * - `random` is Haar; geoopt's `Stiefel.random` (`random_naive`, QR without the sign fix) is not
 *   (E X₁₁ ≈ −0.37 on St(5, 3)).
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, concat, div, maximum, mul, neg, norm, slice, sub, zeros } from "../core/ops/mod.ts";
import { type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { expm, qr, solve } from "../core/linalg/mod.ts";
import { type Manifold, ManifoldBase, type RandomOptions } from "./manifold.ts";
import { eyeOf, frobInner, mm, newtonSchulzStep, orthonormalityError, polarFactor, sym, tmm } from "./matrix.ts";
import type { Point } from "./point.ts";

/** The metric of a Stiefel manifold. */
export type StiefelMetric = "euclidean" | "canonical";
/** The retraction of a Stiefel manifold. */
export type StiefelRetraction = "qr" | "polar" | "cayley" | "exp";

/** Options of `stiefel`. */
export interface StiefelOptions {
  /** `"euclidean"` (default) or `"canonical"`. */
  metric?: StiefelMetric;
  /**
   * `"qr"` (default with the euclidean metric), `"polar"`, `"cayley"` (default with the canonical one)
   * or `"exp"` (the exponential of the metric).
   */
  retraction?: StiefelRetraction;
  /** With the Cayley retraction: run this many fixed-point iterations instead of the exact solve. */
  cayleyIterations?: number;
}

/** n×p matrices with orthonormal columns. */
export interface Stiefel extends Manifold {
  /** `"stiefel"`. */
  readonly kind: "stiefel";
  /** Rows. */
  readonly n: number;
  /** Columns. */
  readonly p: number;
  /** The metric. */
  readonly metric: StiefelMetric;
  /** The retraction. */
  readonly retraction: StiefelRetraction;
  /** The geodesic of the metric (closed form). */
  exp(x: Point<this>, v: Tensor): Point<this>;
}

/**
 * The Q factor of `a`'s thin QR with a non-negative diagonal of R.
 * @internal
 */
export function qf(a: Tensor): Tensor {
  return qr(a).Q;
}

class StiefelImpl extends ManifoldBase implements Stiefel {
  readonly kind = "stiefel" as const;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  readonly metric: StiefelMetric;
  readonly retraction: StiefelRetraction;
  readonly cayleyIterations?: number;

  constructor(readonly n: number, readonly p: number, opts: StiefelOptions) {
    super();
    this.shape = Object.freeze([n, p]);
    this.dim = n * p - (p * (p + 1)) / 2;
    this.metric = opts.metric ?? "euclidean";
    this.retraction = opts.retraction ?? (this.metric === "canonical" ? "cayley" : "qr");
    this.cayleyIterations = opts.cayleyIterations;
    const it = this.cayleyIterations !== undefined ? `, ${this.cayleyIterations} iterations` : "";
    this.name = `stiefel(${n}, ${p}, ${this.metric}, ${this.retraction}${it})`;
  }

  // qf(G), G ~ N(0, I): uniform (Haar) on St(n, p)
  random(key: Key, opts: RandomOptions = {}): Point<this> {
    return this.point(qf(normal(key, this.shape, { dtype: opts.dtype ?? "float32" })));
  }
  randomTangent(key: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(key, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  // U Vh of the thin SVD
  project(x: Tensor): Point<this> {
    this.checkShape("project", x);
    return this.point(polarFactor(x));
  }
  // U − X sym(XᵀU)
  toTangent(x: Point<this>, u: Tensor): Tensor {
    this.checkPoint("toTangent", x);
    this.checkVector("toTangent", x, u);
    return sub(u, mm(x, sym(tmm(x, u))));
  }
  // euclidean: P_X(G); canonical: G − X GᵀX
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    if (this.metric === "euclidean") return this.toTangent(x, g);
    this.checkPoint("egradToRgrad", x);
    this.checkVector("egradToRgrad", x, g);
    return sub(g, mm(x, tmm(g, x)));
  }
  // euclidean: tr(UᵀV); canonical: tr(UᵀV) − ½ tr((XᵀU)ᵀ(XᵀV))
  inner(x: Point<this>, u: Tensor, v: Tensor): Tensor {
    if (this.metric === "euclidean") return frobInner(u, v);
    return sub(frobInner(u, v), mul(frobInner(tmm(x, u), tmm(x, v)), 0.5));
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    this.checkPoint("retract", x);
    this.checkVector("retract", x, v);
    if (this.retraction === "qr") return this.point(qf(add(x, v)));
    if (this.retraction === "polar") return this.point(polarFactor(add(x, v)));
    if (this.retraction === "exp") return this.point(newtonSchulzStep(this.exp(x, v)));
    const y = this.cayleyIterations === undefined ? this.cayley(x, v) : this.cayleyIterative(x, v);
    return this.point(newtonSchulzStep(y)); // removes rounding drift; the identity on St(n, p)
  }
  // X + A (I − ½BᵀA)⁻¹ BᵀX,  A = [PV, X], B = [X, −PV],  PV = V − ½X(XᵀV)
  private cayley(x: Tensor, v: Tensor): Tensor {
    const pv = sub(v, mul(mm(x, tmm(x, v)), 0.5));
    const a = concat([pv, x], 1), b = concat([x, neg(pv)], 1);
    const m = sub(eyeOf(2 * this.p, x), mul(tmm(b, a), 0.5));
    return add(x, mm(a, solve(m, tmm(b, x))));
  }
  // Y ← X + ½ A Bᵀ(X + Y), from Y = X + cV, the step scaled by c = min(1, ½/‖PV‖_F) so it contracts
  private cayleyIterative(x: Tensor, v0: Tensor): Tensor {
    const pv0 = sub(v0, mul(mm(x, tmm(x, v0)), 0.5));
    const c = div(0.5, maximum(norm(pv0), 0.5)); // exactly 1 for ordinary steps
    const v = mul(v0, c), pv = mul(pv0, c);
    const a = mul(concat([pv, x], 1), 0.5), b = concat([x, neg(pv)], 1);
    let y = add(x, v);
    for (let i = 0; i < this.cayleyIterations!; i++) y = add(x, mm(a, tmm(b, add(x, y))));
    return y;
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  exp(x: Point<this>, v: Tensor): Point<this> {
    const u = this.toTangent(x, v);
    const p = this.p;
    const a = tmm(x, u);
    if (this.metric === "euclidean") {
      // [X, U] expm([[A, −S], [I, A]]) [expm(−A); 0]
      const s = tmm(u, u), i = eyeOf(p, x);
      const w = expm(concat([concat([a, neg(s)], 1), concat([i, a], 1)], 0));
      const z = concat([expm(neg(a)), zeros([p, p], { dtype: x.dtype, like: x })], 0);
      return this.point(mm(concat([x, u], 1), mm(w, z)));
    }
    // QR = (I − XXᵀ)U; [M; N] = expm([[A, −Rᵀ], [R, 0]])[:, :p]; Y = XM + QN
    const { Q, R } = qr(sub(u, mm(x, a)));
    const blk = concat([concat([a, neg(R.mT)], 1), concat([R, zeros([p, p], { dtype: x.dtype, like: x })], 1)], 0);
    const mn = slice(expm(blk), [null, [0, p]]);
    return this.point(add(mm(x, slice(mn, [[0, p]])), mm(Q, slice(mn, [[p, 2 * p]]))));
  }
  // ‖XᵀX − I‖_F
  constraintViolation(x: Tensor): Tensor {
    return orthonormalityError(x);
  }
  // ‖XᵀU + UᵀX‖_F
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    const a = tmm(x, u);
    return norm(add(a, a.mT));
  }
}

/**
 * The Stiefel manifold of n×p matrices with orthonormal columns (dimension np − p(p+1)/2).
 * @param n rows (n ≥ p)
 * @param p columns
 * @param opts metric (`"euclidean"` default, `"canonical"`), retraction (`"qr"`, `"polar"`,
 *   `"cayley"`, `"exp"`; default qr with the euclidean metric, cayley with the canonical one) and
 *   `cayleyIterations` for the iterative Cayley retraction
 * @example
 * ```ts
 * import { key, split } from "@tangent/tangent";
 * import { stiefel } from "@tangent/tangent/manifolds";
 * const St = stiefel(8, 3, { metric: "canonical", retraction: "cayley" });
 * const [k1, k2] = split(key(0));
 * const x = St.random(k1, { dtype: "float64" });
 * const y = St.retract(x, St.randomTangent(k2, x));
 * St.constraintViolation(y); // ≈ 1e-15
 * ```
 */
export function stiefel(n: number, p: number, opts: StiefelOptions = {}): Stiefel {
  checkOptions(
    "stiefel",
    opts,
    optionKeys<StiefelOptions>({ metric: true, retraction: true, cayleyIterations: true }),
    '{ retraction: "qr" }',
  );
  if (!Number.isInteger(n) || !Number.isInteger(p) || p < 1 || n < p) {
    throw new ShapeError(`stiefel: need integers n ≥ p ≥ 1, got n = ${n}, p = ${p}`);
  }
  if (opts.metric !== undefined && opts.metric !== "euclidean" && opts.metric !== "canonical") {
    throw new ShapeError(`stiefel: metric must be "euclidean" or "canonical", got ${opts.metric}`);
  }
  if (opts.retraction !== undefined && !["qr", "polar", "cayley", "exp"].includes(opts.retraction)) {
    throw new ShapeError(`stiefel: retraction must be "qr", "polar", "cayley" or "exp", got ${opts.retraction}`);
  }
  const it = opts.cayleyIterations;
  if (it !== undefined && (!Number.isInteger(it) || it < 1)) {
    throw new ShapeError(`stiefel: cayleyIterations must be a positive integer, got ${it}`);
  }
  if (it !== undefined && (opts.retraction ?? (opts.metric === "canonical" ? "cayley" : "qr")) !== "cayley") {
    throw new ShapeError(`stiefel: cayleyIterations needs retraction "cayley"`);
  }
  return new StiefelImpl(n, p, opts);
}
