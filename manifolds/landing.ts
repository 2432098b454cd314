/**
 * The landing algorithm (Ablin & Peyré, AISTATS 2022; Ablin, Vary, Gao & Absil 2023 for tall
 * matrices): optimisation with orthonormality constraints without retractions. For X ∈ ℝⁿˣᵖ
 * (n ≥ p) with Euclidean gradient G, the landing field is
 * ```
 * Λ(X) = skew(GXᵀ)·X + λ·X(XᵀX − I)
 *      = G·(½XᵀX) + X·(λ(XᵀX − I) − ½GᵀX)      (only p×p intermediates: O(np²), no n×n matrix)
 * ```
 * and a step is `X ← X − η Λ(X)`. The first term is a Riemannian gradient (relative to the
 * current X), the second pulls X back to the manifold, so iterates converge to it from an
 * off-manifold start. The safe step keeps `d = ‖XᵀX − I‖_F ≤ ε`: with `g = ‖Λ(X)‖_F`,
 * `β = λd(d − 1)`, `α = g²`,
 * ```
 * η* = (−β + √(β² − α(d − ε))) / α,     η = min(η_lr, η*)
 * ```
 * (when the square root is not real, i.e. d > ε already, the plain rate is used). PoLAR feeds Λ to
 * Adam as if it were the gradient: `landing({ base: adam(...) })`.
 * @module
 */
import { DomainError, ManifoldError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import {
  add,
  astype,
  div,
  greater,
  greaterEqual,
  logicalAnd,
  maximum,
  minimum,
  mul,
  neg,
  norm,
  sqrt,
  sub,
  where,
} from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Manifold } from "./manifold.ts";
import { eyeOf, mm, tmm } from "./matrix.ts";
import {
  asEuclidean,
  checkHyper,
  checkLearningRate,
  checkState,
  type Optimizer,
  pairLeaves,
  rebuild,
} from "./optimizer.ts";
import { asPoint, manifoldOf } from "./point.ts";
import { type LearningRate, learningRateAt, nextCount, zeroCount } from "./schedules.ts";

/**
 * The landing field `Λ(X) = skew(GXᵀ)X + λX(XᵀX − I)` for a tall X (n ≥ p), computed with p×p
 * intermediates only.
 * @param x the iterate, n×p (need not be orthonormal)
 * @param g the Euclidean gradient at x, n×p
 * @param lambda the attraction λ to the manifold (default 1)
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { landingField, stiefel } from "@tangent/tangent/manifolds";
 * const x = stiefel(6, 2).random(key(0));
 * const field = landingField(x, normal(key(1), [6, 2]), 1);
 * ```
 */
export function landingField(x: Tensor, g: Tensor, lambda = 1): Tensor {
  const xtx = tmm(x, x);
  // G·(½XᵀX) + X·(λ(XᵀX − I) − ½GᵀX)
  const inner = sub(mul(sub(xtx, eyeOf(x.shape[x.ndim - 1], x)), lambda), mul(tmm(g, x), 0.5));
  return add(mm(g, mul(xtx, 0.5)), mm(x, inner));
}

/** Options of `landingSafeStep`. */
export interface LandingSafeStepOptions {
  /** The attraction λ (default 1). */
  lambda?: number;
  /** The largest allowed distance ε = ‖XᵀX − I‖_F (default 0.5). */
  eps?: number;
}

/**
 * The safe step η* of Ablin et al. (a scalar tensor; Infinity where it does not apply):
 * `(−β + √(β² − α(d − ε))) / α` with `d = ‖XᵀX − I‖_F`, `α = ‖Λ‖²_F`, `β = λd(d − 1)`. A step
 * `X − ηΛ` with η ≤ η* keeps the distance to the manifold at most ε.
 * @param x the iterate
 * @param field the landing field at x
 * @param opts λ and ε
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { landingField, landingSafeStep, stiefel } from "@tangent/tangent/manifolds";
 * const x = stiefel(6, 2).random(key(0));
 * const f = landingField(x, normal(key(1), [6, 2]));
 * landingSafeStep(x, f).item(); // ≈ ε / ‖Λ‖ on the manifold
 * ```
 */
export function landingSafeStep(x: Tensor, field: Tensor, opts: LandingSafeStepOptions = {}): Tensor {
  checkOptions("landingSafeStep", opts, optionKeys<LandingSafeStepOptions>({ lambda: true, eps: true }));
  const lambda = opts.lambda ?? 1, eps = opts.eps ?? 0.5;
  const d = norm(sub(tmm(x, x), eyeOf(x.shape[x.ndim - 1], x)));
  const alpha = mul(norm(field), norm(field));
  const beta = mul(mul(d, sub(d, 1)), lambda);
  const disc = sub(mul(beta, beta), mul(alpha, sub(d, eps)));
  const ok = logicalAnd(greaterEqual(disc, 0), greater(alpha, 0));
  const eta = div(add(neg(beta), sqrt(maximum(disc, 0))), where(ok, alpha, 1));
  return where(ok, eta, Infinity);
}

/** Options of `landing`. */
export interface LandingOptions {
  /** Learning rate or schedule (of the plain landing step; `base` has its own). */
  lr?: LearningRate;
  /** Attraction λ to the manifold (default 1). */
  lambda?: number;
  /** The safe-step tolerance ε (default 0.5), or false to always use the rate. Plain landing only. */
  safeStep?: number | false;
  /**
   * An optimizer to feed the landing field to as if it were the gradient (PoLAR: `adam(...)`).
   * Without it, the step is `X ← X − η Λ(X)` (and `x − ηg` on plain leaves).
   */
  base?: Optimizer<unknown>;
}

/** State of `landing`. */
export interface LandingState {
  /** Updates done so far: an int32 scalar tensor (optax's `count`), so a jitted step traces once. */
  readonly count: Tensor;
  /** The base optimizer's state, if any. */
  readonly base?: unknown;
}

const landable = (m: Manifold | undefined): boolean => m?.kind === "stiefel" || m?.kind === "orthogonal";

/**
 * The landing optimizer: leaves tagged with a Stiefel or orthogonal manifold are moved along the
 * landing field (retraction-free; iterates stay tagged but are only near the manifold, and converge
 * to it); plain leaves take a gradient step. With `base`, the field is handed to that optimizer as
 * the gradient (PoLAR uses Adam).
 * @param opts lr, λ, safe-step ε, base optimizer
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { adam, landing, stiefel } from "@tangent/tangent/manifolds";
 * const St = stiefel(16, 4);
 * const params = { a: St.random(key(0)) };
 * const opt = landing({ lambda: 1, base: adam({ lr: 1e-3 }) }); // PoLAR's choice
 * const state = opt.init(params);
 * ```
 */
export function landing(opts: LandingOptions): Optimizer<LandingState> {
  if (opts === null || typeof opts !== "object") {
    throw new DomainError("landing: give options with a learning rate `lr` or a `base` optimizer");
  }
  checkOptions("landing", opts, optionKeys<LandingOptions>({ lr: true, lambda: true, safeStep: true, base: true }));
  const lambda = opts.lambda ?? 1, eps = opts.safeStep ?? 0.5;
  if (!opts.base && opts.lr === undefined) {
    throw new ManifoldError("landing: give a learning rate `lr`, or a `base` optimizer such as adam({ lr })");
  }
  if (opts.lr !== undefined) checkLearningRate("landing", opts.lr);
  checkHyper("landing", "lambda", lambda);
  if (eps !== false) checkHyper("landing", "safeStep", eps);
  const base = opts.base;
  return {
    init<P>(params: P): LandingState {
      const xs = pairLeaves("landing", params, params)[0];
      for (const x of xs) {
        const m = manifoldOf(x) as Manifold | undefined;
        if (m && !landable(m)) {
          throw new ManifoldError(
            `landing: a parameter lies on ${m.name}; landing handles Stiefel and orthogonal leaves and plain tensors (use riemannianSgd for others)`,
          );
        }
      }
      return { count: zeroCount(xs[0]), base: base?.init(asEuclidean(params)) };
    },
    update<P>(grads: unknown, state: LandingState, params: P) {
      const [xs, gs] = pairLeaves("landing", params, grads);
      checkState("landing", state, xs, {});
      const ms = xs.map((x) => manifoldOf(x) as Manifold | undefined);
      const fields = xs.map((x, i) => (landable(ms[i]) ? landingField(x, gs[i], lambda) : gs[i]));
      const count = nextCount(state.count);
      let ys: Tensor[];
      let baseState: unknown;
      if (base) {
        // the base steps along the landing field in the ambient space: it sees plain tensors
        const r = base.update(rebuild(params, fields), state.base, asEuclidean(params));
        ys = pairLeaves("landing", params, r.params)[1];
        baseState = r.state;
      } else {
        const rate = learningRateAt(opts.lr!, state.count, "landing");
        ys = xs.map((x, i) => {
          const lr = astype(rate, x.dtype);
          if (!landable(ms[i]) || eps === false) return sub(x, mul(fields[i], lr));
          const eta = minimum(landingSafeStep(x, fields[i], { lambda, eps }), lr);
          return sub(x, mul(fields[i], eta));
        });
      }
      ys = ys.map((y, i) => (ms[i] ? asPoint(y, ms[i]) : y));
      return { params: rebuild(params, ys), state: { count, base: baseState } };
    },
  };
}
