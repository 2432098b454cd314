/**
 * Stochastic gradient descent with momentum and Nesterov, Euclidean (`sgd`) and Riemannian
 * (`riemannianSgd`, geoopt's RiemannianSGD). One step on a leaf x with gradient g:
 * ```
 * g ← rgrad(x, g + wd·x)
 * b ← μ·b + (1 − τ)·g                      (with momentum μ, dampening τ; b₁ = g at the first step)
 * d ← g + μ·b (Nesterov) | b | g (no momentum)
 * x' ← R(x, −η·d);  b ← T_{x→x'}(b)
 * ```
 * On a plain tensor rgrad is the identity, `R(x, v) = x + v` and T the identity, which is `sgd`
 * exactly; `riemannianSgd` uses the manifold a leaf carries.
 * @module
 */
import { DomainError } from "../core/errors.ts";
import { checkOptions as checkKeys, optionKeys } from "../core/options.ts";
import type { DType } from "../core/dtype.ts";
import { add, astype, equal, mul, neg, where, zerosLike } from "../core/ops/mod.ts";
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
import { type LearningRate, learningRateAt, nextCount, zeroCount } from "./schedules.ts";

/** Options of `sgd` and `riemannianSgd`. */
export interface SgdOptions {
  /** Learning rate or schedule. */
  lr: LearningRate;
  /** Momentum μ (default 0). */
  momentum?: number;
  /** Nesterov momentum `g + μb`, torch's and optax's form (default false; needs μ > 0). */
  nesterov?: boolean;
  /**
   * Dampening τ of the momentum (default 0), torch.optim.SGD's `dampening`: `b ← μb + (1 − τ)g` from
   * the second step on, `b = g` at the first (torch starts the buffer as the gradient). In [0, 1];
   * with `nesterov` it must be 0 (torch's rule too). Without momentum it does nothing.
   */
  dampening?: number;
  /** L2 weight decay added to the gradient before the momentum (default 0; torch's `weight_decay`). */
  weightDecay?: number;
  /** `sgd` given a manifold point throws instead of warning once (it would step off the manifold). */
  strict?: boolean;
}

/** Options of `riemannianSgd`. */
export interface RiemannianSgdOptions extends SgdOptions {
  /**
   * Every this many steps, project manifold leaves back onto their manifold (and momenta onto the
   * tangent spaces). The projection is computed at every step and kept at every k-th, so one `jit`
   * trace serves every step.
   */
  stabilize?: number;
}

/** State of `sgd` / `riemannianSgd`: the step count and one momentum buffer per leaf. */
export interface SgdState {
  /** Updates done so far: an int32 scalar tensor (optax's `count`), so a jitted step traces once. */
  readonly count: Tensor;
  /** Momentum buffers in `treeLeaves` order (empty without momentum). */
  readonly momentum: readonly Tensor[];
}

const SGD_KEYS = optionKeys<SgdOptions>({
  lr: true,
  momentum: true,
  nesterov: true,
  dampening: true,
  weightDecay: true,
  strict: true,
});

function checkOptions(op: string, o: RiemannianSgdOptions, riemannian: boolean): void {
  if (o === null || typeof o !== "object") throw new DomainError(`${op}: give options with a learning rate, { lr }`);
  checkKeys(op, o, riemannian ? [...SGD_KEYS, "stabilize"] : SGD_KEYS, "{ lr: 0.1 }");
  checkLearningRate(op, o.lr);
  checkHyper(op, "weightDecay", o.weightDecay ?? 0);
  if (o.stabilize !== undefined && !(Number.isInteger(o.stabilize) && o.stabilize > 0)) {
    throw new DomainError(`${op}: stabilize = ${o.stabilize} must be a positive whole number of steps`);
  }
  const mu = o.momentum ?? 0;
  if (!(mu >= 0 && mu < 1)) throw new DomainError(`${op}: momentum must be in [0, 1), got ${mu}`);
  if (o.nesterov && mu === 0) throw new DomainError(`${op}: nesterov needs momentum > 0`);
  checkHyper(op, "dampening", o.dampening ?? 0, 0, 1);
  if (o.nesterov && o.dampening) {
    throw new DomainError(
      `${op}: nesterov needs dampening = 0, got dampening = ${o.dampening} (as torch.optim.SGD); drop one of them`,
    );
  }
}

function makeSgd(op: string, o: RiemannianSgdOptions, riemannian: boolean): Optimizer<SgdState> {
  checkOptions(op, o, riemannian);
  const mu = o.momentum ?? 0, wd = o.weightDecay ?? 0, nesterov = o.nesterov ?? false, damp = o.dampening ?? 0;
  // the Euclidean step, fused on the CPU (`fusedOnCpu`)
  const fused = fusedOnCpu(step);
  return {
    init<P>(params: P): SgdState {
      const leaves = pairLeaves(op, params, params)[0];
      if (!riemannian) checkEuclidean(op, leaves, o.strict, params);
      return { count: zeroCount(leaves[0]), momentum: mu > 0 ? leaves.map(zerosLike) : [] };
    },
    update<P>(grads: unknown, state: SgdState, params: P) {
      return (riemannian ? step : fused)(grads, state, params);
    },
  };
  function step<P>(grads: unknown, state: SgdState, params: P): OptimizerUpdate<P, SgdState> {
    const [xs, gs] = pairLeaves(op, params, grads);
    if (!riemannian) checkEuclidean(op, xs, o.strict, params);
    checkState(op, state, xs, mu > 0 ? { momentum: true } : {});
    const count = nextCount(state.count), lr = neg(learningRateAt(o.lr, state.count, op));
    const negLr = new Map<DType, Tensor>();
    const lrAs = (d: DType) => negLr.get(d) ?? negLr.set(d, astype(lr, d)).get(d)!;
    const stabilize = riemannian && o.stabilize !== undefined ? everyKth(count, o.stabilize) : undefined;
    // with dampening the first step's buffer is g itself (torch's): selected by the count, so a
    // traced step serves every step
    const first = mu > 0 && damp ? equal(state.count, 0) : undefined;
    const newX: Tensor[] = [], newB: Tensor[] = [];
    xs.forEach((x, i) => {
      const geo = leafGeometry(x, riemannian);
      const g = geo.rgrad(x, wd ? add(gs[i], mul(x, wd)) : gs[i]);
      let d = g, b: Tensor | undefined;
      if (mu > 0) {
        b = first
          ? where(first, g, add(mul(state.momentum[i], mu), mul(g, 1 - damp)))
          : add(mul(state.momentum[i], mu), g);
        d = nesterov ? add(g, mul(b, mu)) : b;
      }
      let y = geo.retract(x, mul(d, lrAs(x.dtype)));
      if (b) b = geo.transport(x, y, b);
      if (stabilize && geo.manifold) [y, b] = stabilized(geo.manifold, stabilize, y, b);
      newX.push(y);
      if (b) newB.push(b);
    });
    return { params: rebuild(params, newX), state: { count, momentum: newB } };
  }
}

/**
 * Euclidean SGD with momentum and Nesterov, PyTorch's `torch.optim.SGD` and optax's `sgd` (they
 * agree): `g ← g + wd·x`, `b ← μb + g`, `x ← x − η(g + μb)` (Nesterov) or `x ← x − ηb`. With a
 * schedule, η is the rate at the step count (0 at the first update) times the whole step, as
 * torch's param-group lr and optax's `scale_by_learning_rate` do. Matches both to ~1e-15 over 30
 * float64 steps (tests/optim_parity_steps_test.ts). `weightDecay` is torch's (L2 added to the
 * gradient, before the momentum); optax's `sgd` has none: `chain(add_decayed_weights(wd), sgd(…))`
 * there, `chain(addDecayedWeights(wd), sgd(…))` or `{ weightDecay }` here. `dampening` τ is torch's
 * (`b ← μb + (1 − τ)g` after a first buffer `b = g`; not with `nesterov`), matched to ~1e-15 as
 * well; optax's `sgd` has none. Not offered: torch's `maximize`. Given a manifold point it warns
 * once (its steps leave the manifold; `{ strict: true }` throws): use `riemannianSgd` there.
 * @param opts learning rate (number or schedule), momentum, nesterov, dampening, weight decay
 * @example
 * ```ts
 * import { grad, sum, square, tensor } from "@tangent/tangent";
 * import { sgd } from "@tangent/tangent/manifolds";
 * const opt = sgd({ lr: 0.1, momentum: 0.9 });
 * let params = { w: tensor([1, 2]) };
 * let state = opt.init(params);
 * const g = grad((p: { w: any }) => sum(square(p.w)))(params);
 * ({ params, state } = opt.update(g, state, params));
 * ```
 */
export function sgd(opts: SgdOptions): Optimizer<SgdState> {
  return makeSgd("sgd", opts, false);
}

/**
 * Riemannian SGD (geoopt's RiemannianSGD): on each leaf carrying a manifold, the Riemannian
 * gradient, a step by the manifold's retraction, and the momentum moved by its transport; on plain
 * tensors exactly `sgd`. The iterates are geoopt's (to ~1e-14 in float64) except at momentum's
 * first step: the buffer starts as the (Riemannian) gradient, as in `torch.optim.SGD`, where geoopt
 * starts it as μ·(raw gradient) + (Riemannian gradient). `dampening` τ is torch.optim.SGD's on the
 * transported buffer, `b ← μ·T(b) + (1 − τ)·rgrad` (geoopt's RiemannianSGD has the same update after
 * its first step, which is μ·(raw gradient) + (1 − τ)·(Riemannian gradient) there).
 * @param opts as `sgd`, plus `stabilize` (re-project every k steps)
 * @example
 * ```ts
 * import { key, matmul, mul, sum, grad } from "@tangent/tangent";
 * import { riemannianSgd, sphere } from "@tangent/tangent/manifolds";
 * const S = sphere(3);
 * let x = S.random(key(0));
 * const opt = riemannianSgd({ lr: 0.1 });
 * let state = opt.init(x);
 * const g = grad((x: any) => sum(mul(x, x)))(x);
 * ({ params: x, state } = opt.update(g, state, x)); // x is still a point of S
 * ```
 */
export function riemannianSgd(opts: RiemannianSgdOptions): Optimizer<SgdState> {
  return makeSgd("riemannianSgd", opts, true);
}
