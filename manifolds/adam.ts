/**
 * Adam, AdamW and Riemannian Adam (geoopt's RiemannianAdam; Bécigneul & Ganea 2019). One step on a
 * leaf x with gradient g at step t:
 * ```
 * g ← rgrad(x, g + wd·x)                       (L2 decay; AdamW decays the step instead)
 * m ← β₁m + (1 − β₁)g
 * v ← β₂v + (1 − β₂)⟨g, g⟩ₓ                    (component-wise: elementwise on plain tensors,
 *                                               one scalar per point on a manifold)
 * v̄ ← max(v̄, v)                                (amsgrad only; v̄ replaces v below)
 * d ← (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)  (+ wd·x for AdamW)
 * x' ← R(x, −η·d);  m ← T_{x→x'}(m)
 * ```
 * On a plain tensor this is Adam exactly (torch.optim.Adam, optax.adam; `adamw`: their AdamW).
 * @module
 */
import { DomainError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import type { DType } from "../core/dtype.ts";
import { add, astype, div, expm1, maximum, mul, neg, pow, sqrt, sub, zerosLike } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  checkEuclidean,
  checkHyper,
  checkLearningRate,
  checkState,
  everyKth,
  fusedOnCpu,
  leafGeometry,
  type Optimizer,
  type OptimizerUpdate,
  pairLeaves,
  rebuild,
  stabilized,
} from "./optimizer.ts";
import { type LearningRate, learningRateAt, nextCount, stepDType, zeroCount } from "./schedules.ts";

/** Options of `adam`, `adamw` and `riemannianAdam`. */
export interface AdamOptions {
  /**
   * Learning rate or schedule of the step count (default 1e-3, torch's; optax has none). The other
   * hyperparameters are numbers (optax's `inject_hyperparams` has no counterpart).
   */
  lr?: LearningRate;
  /** β₁ (default 0.9). */
  b1?: number;
  /** β₂ (default 0.999). */
  b2?: number;
  /**
   * ε (default 1e-8), added outside the square root, `m̂ / (√v̂ + ε)`: torch's `eps` and optax's `eps`
   * (optax's `eps_root`, inside the root, is 0 here).
   */
  eps?: number;
  /**
   * Weight decay: L2 added to the gradient for `adam`/`riemannianAdam` (torch Adam's
   * `weight_decay`, default 0), decoupled for `adamw` (default 1e-4 as optax's `adamw`; torch's
   * `AdamW` defaults to 0.01).
   */
  weightDecay?: number;
  /** `adam`/`adamw` given a manifold point throw instead of warning once (they would step off it). */
  strict?: boolean;
  /**
   * AMSGrad (Reddi, Kale & Kumar 2018; default false): keep the running maximum v̄ of the raw second
   * moment (`AdamState.vmax`) and divide by `√(v̄ / (1 − β₂ᵗ)) + ε`, as torch.optim.Adam/AdamW's and
   * geoopt's RiemannianAdam's `amsgrad=True` (on a manifold v̄ is the per-point maximum, not
   * transported). optax's `amsgrad` differs: it takes the maximum of the bias-corrected `v̂` (and has
   * no weight decay), so its steps are not these.
   */
  amsgrad?: boolean;
}

/** Options of `riemannianAdam`. */
export interface RiemannianAdamOptions extends AdamOptions {
  /**
   * Every this many steps, project manifold leaves back onto their manifold (and first moments onto
   * the tangent spaces). The projection is computed at every step and kept at every k-th, so one
   * `jit` trace serves every step.
   */
  stabilize?: number;
}

/** State of the Adam family: the step count and the two moments per leaf. */
export interface AdamState {
  /** Updates done so far: an int32 scalar tensor (optax's `count`), so a jitted step traces once. */
  readonly count: Tensor;
  /** First moments, in `treeLeaves` order. */
  readonly mu: readonly Tensor[];
  /** Second moments (component-wise squared norms), in `treeLeaves` order. */
  readonly nu: readonly Tensor[];
  /**
   * With `amsgrad` only (the key is absent otherwise): the running maxima of the second moments,
   * shaped as `nu`, in `treeLeaves` order (torch's `max_exp_avg_sq`).
   */
  readonly vmax?: readonly Tensor[];
}

const ADAM_KEYS = optionKeys<AdamOptions>({
  lr: true,
  b1: true,
  b2: true,
  eps: true,
  weightDecay: true,
  strict: true,
  amsgrad: true,
});
const RIEMANNIAN_ADAM_KEYS = [...ADAM_KEYS, "stabilize"];

function makeAdam(
  op: string,
  o: RiemannianAdamOptions,
  riemannian: boolean,
  decoupled: boolean,
): Optimizer<AdamState> {
  checkOptions(op, o, riemannian ? RIEMANNIAN_ADAM_KEYS : ADAM_KEYS, "{ lr: 1e-3 }");
  const b1 = o.b1 ?? 0.9, b2 = o.b2 ?? 0.999, eps = o.eps ?? 1e-8, lrOpt = o.lr ?? 1e-3;
  const wd = o.weightDecay ?? (decoupled ? 1e-4 : 0);
  const amsgrad = o.amsgrad ?? false;
  if (typeof amsgrad !== "boolean") {
    throw new DomainError(`${op}: amsgrad = ${String(amsgrad)} must be true or false`);
  }
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) {
    throw new DomainError(`${op}: b1 and b2 must be in [0, 1), got ${b1}, ${b2}`);
  }
  checkLearningRate(op, lrOpt);
  checkHyper(op, "eps", eps);
  checkHyper(op, "weightDecay", wd);
  if (o.stabilize !== undefined && !(Number.isInteger(o.stabilize) && o.stabilize > 0)) {
    throw new DomainError(`${op}: stabilize = ${o.stabilize} must be a positive whole number of steps`);
  }
  // the Euclidean step, fused on the CPU (`fusedOnCpu`)
  const fused = fusedOnCpu(step);
  return {
    init<P>(params: P): AdamState {
      const xs = pairLeaves(op, params, params)[0];
      if (!riemannian) checkEuclidean(op, xs, o.strict, params);
      const nu = xs.map((x) => zerosLike(leafGeometry(x, riemannian).sqInner(x, zerosLike(x))));
      const count = zeroCount(xs[0]), mu = xs.map(zerosLike);
      return amsgrad ? { count, mu, nu, vmax: nu.map(zerosLike) } : { count, mu, nu };
    },
    update<P>(grads: unknown, state: AdamState, params: P) {
      return (riemannian ? step : fused)(grads, state, params);
    },
  };
  function step<P>(grads: unknown, state: AdamState, params: P): OptimizerUpdate<P, AdamState> {
    const [xs, gs] = pairLeaves(op, params, grads);
    if (!riemannian) checkEuclidean(op, xs, o.strict, params);
    checkState(op, state, xs, { mu: true, nu: false });
    // t, 1 − β₁ᵗ, 1 − β₂ᵗ and the rate as scalar tensors from the count: float64 on the CPU, the
    // same bits as on numbers (PyTorch's); in float32 (WebGPU) as −expm1(t·ln β), since β rounded to
    // float32 alone moves 1 − β₂ᵗ by 1.3e−5 of itself at t = 1; each cast once to the leaves' dtype
    const t = nextCount(state.count), dt = stepDType(t), ft = astype(t, dt);
    const lr = learningRateAt(lrOpt, state.count, op);
    const corr = (b: number) => (dt === "float64" ? sub(1, pow(b, ft)) : neg(expm1(mul(ft, Math.log(b)))));
    const bc = [corr(b1), corr(b2), neg(lr)];
    const scalars = new Map<DType, Tensor[]>();
    const at = (d: DType) => scalars.get(d) ?? scalars.set(d, bc.map((v) => astype(v, d))).get(d)!;
    const stabilize = riemannian && o.stabilize !== undefined ? everyKth(t, o.stabilize) : undefined;
    if (amsgrad && state.vmax?.length !== xs.length) {
      throw new DomainError(
        `${op}: amsgrad needs the state's vmax (one running maximum per leaf, ${xs.length} here), got ` +
          `${state.vmax === undefined ? "none" : state.vmax.length}; start from this optimizer's init(params)`,
      );
    }
    const newX: Tensor[] = [], newM: Tensor[] = [], newV: Tensor[] = [], newVmax: Tensor[] = [];
    xs.forEach((x, i) => {
      const [bc1, bc2, negLr] = at(x.dtype);
      const geo = leafGeometry(x, riemannian);
      const g = geo.rgrad(x, wd && !decoupled ? add(gs[i], mul(x, wd)) : gs[i]);
      let m = add(mul(state.mu[i], b1), mul(g, 1 - b1));
      const v = add(mul(state.nu[i], b2), mul(geo.sqInner(x, g), 1 - b2));
      const vHat = amsgrad ? maximum(state.vmax![i], v) : v;
      if (amsgrad) newVmax.push(vHat);
      let d = div(div(m, bc1), add(sqrt(div(vHat, bc2)), eps));
      if (wd && decoupled) d = add(d, mul(x, wd));
      let y = geo.retract(x, mul(d, negLr));
      m = geo.transport(x, y, m);
      if (stabilize && geo.manifold) [y, m] = stabilized(geo.manifold, stabilize, y, m);
      newX.push(y);
      newM.push(m);
      newV.push(v);
    });
    const next: AdamState = amsgrad
      ? { count: t, mu: newM, nu: newV, vmax: newVmax }
      : { count: t, mu: newM, nu: newV };
    return { params: rebuild(params, newX), state: next };
  }
}

/**
 * Adam (Kingma & Ba 2015) with optional L2 weight decay added to the gradient: PyTorch's
 * `torch.optim.Adam` and optax's `adam` (they agree; optax's L2 is `chain(add_decayed_weights(wd),
 * adam(…))`): `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)`, `x ← x − η·m̂/(√v̂ + ε)`, the rate of a
 * schedule taken at the step count before the update (0 first), as optax. Matches both to ~1e-15
 * over 30 float64 steps (tests/optim_parity_steps_test.ts), fused on the CPU or eager.
 * `{ amsgrad: true }` is torch's `Adam(amsgrad=True)` (the maximum of the raw second moment, then the
 * bias correction; optax's `amsgrad` takes the maximum after the correction, a different step), which
 * it matches to ~1e-15 too; the state then carries `vmax`. Not offered: torch's `maximize`; optax's
 * `eps_root`, `nesterov`, `mu_dtype`.
 * Given a manifold point it warns once (its steps leave the manifold; `{ strict: true }` throws):
 * use `riemannianAdam` there.
 * @param opts lr (number or schedule, default 1e-3), b1, b2, eps, weightDecay, strict, amsgrad
 * @example
 * ```ts
 * import { grad, sum, square, tensor } from "@tangent/tangent";
 * import { adam } from "@tangent/tangent/manifolds";
 * const opt = adam({ lr: 1e-2 });
 * let w = tensor([1, 2]);
 * let state = opt.init(w);
 * ({ params: w, state } = opt.update(grad((w: any) => sum(square(w)))(w), state, w));
 * ```
 */
export function adam(opts: AdamOptions = {}): Optimizer<AdamState> {
  return makeAdam("adam", opts, false, false);
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay `x ← x − η(d + wd·x)`, the
 * decay scaled by the (scheduled) rate η as in both PyTorch's `AdamW` (`x ← x(1 − η·wd)` first, the
 * same value) and optax's `adamw`, which it matches to ~1e-15 over 30 float64 steps. The default
 * `weightDecay` is 1e-4, optax's; torch's `AdamW` defaults to 0.01, so pass `{ weightDecay: 0.01 }`
 * to reproduce `torch.optim.AdamW(params, lr)`. optax's `mask` is `masked(adamw(…), mask)` here
 * (which freezes the leaves it leaves out). `{ amsgrad: true }` is torch's `AdamW(amsgrad=True)`.
 * Warns once given a manifold point (`{ strict: true }` throws).
 * @param opts as `adam`; `weightDecay` is decoupled
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { adamw } from "@tangent/tangent/manifolds";
 * const opt = adamw({ lr: 1e-3, weightDecay: 0.01 });
 * const state = opt.init({ w: tensor([1, 2]) });
 * ```
 */
export function adamw(opts: AdamOptions = {}): Optimizer<AdamState> {
  return makeAdam("adamw", opts, false, true);
}

/**
 * Riemannian Adam (geoopt's RiemannianAdam): on each leaf carrying a manifold, the Riemannian
 * gradient, the second moment as the manifold's component-wise inner product (one scalar per
 * Stiefel point, one per column of an oblique point), a step by the retraction, and the first
 * moment moved by the transport. On plain tensors exactly `adam`. `{ amsgrad: true }` is geoopt's
 * `RiemannianAdam(amsgrad=True)`: the running maximum of the per-point second moment, kept as it is
 * (a scalar per point needs no transport).
 * @param opts as `adam` (L2 weight decay, amsgrad), plus `stabilize` (re-project every k steps)
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { riemannianAdam, stiefel } from "@tangent/tangent/manifolds";
 * const St = stiefel(8, 3);
 * const params = { u: St.random(key(0)) };
 * const opt = riemannianAdam({ lr: 1e-2 });
 * const state = opt.init(params);
 * ```
 */
export function riemannianAdam(opts: RiemannianAdamOptions = {}): Optimizer<AdamState> {
  return makeAdam("riemannianAdam", opts, true, false);
}
