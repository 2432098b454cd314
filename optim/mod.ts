/**
 * Optimizers, in one namespace: the functional optimizers (`sgd`, `adam`, `adamw`, the Riemannian
 * `riemannianSgd` / `riemannianAdam`, the retraction-free `landing`), learning-rate schedules, and
 * optax's composition pieces (`chain`, `clipByGlobalNorm`, `masked`, `partition` (parameter groups),
 * `scaleByLearningRate`, `addDecayedWeights`, `applyUpdates`). The optimizers are the same functions as
 * `manifolds.sgd` & co. (kept there as aliases). A Euclidean optimizer given a manifold point warns
 * once, or throws with `{ strict: true }`.
 *
 * @example
 * ```ts
 * import { grad, key, matmul, normal, square, sum, type Tensor } from "@tangent/tangent";
 * import { adamw, chain, clipByGlobalNorm, masked } from "@tangent/tangent/optim";
 * const params = { frozen: normal(key(0), [4, 4]), a: normal(key(1), [4, 2]) };
 * const opt = chain(clipByGlobalNorm(1), masked(adamw({ lr: 1e-2 }), { frozen: false, a: true }));
 * let state = opt.init(params);
 * const loss = (p: typeof params) => sum(square(matmul(p.frozen, p.a)));
 * const { params: next } = opt.update(grad(loss)(params), state, params);
 * ```
 * @module
 */
export type { Optimizer, OptimizerUpdate } from "../manifolds/optimizer.ts";
export {
  constantSchedule,
  type LearningRate,
  learningRateAt,
  type Schedule,
  type TensorSchedule,
  tensorSchedule,
  type WarmupCosineOptions,
  warmupCosineSchedule,
} from "../manifolds/schedules.ts";
export { riemannianSgd, type RiemannianSgdOptions, sgd, type SgdOptions, type SgdState } from "../manifolds/sgd.ts";
export {
  adam,
  type AdamOptions,
  type AdamState,
  adamw,
  riemannianAdam,
  type RiemannianAdamOptions,
} from "../manifolds/adam.ts";
export {
  landing,
  landingField,
  type LandingOptions,
  landingSafeStep,
  type LandingSafeStepOptions,
  type LandingState,
} from "../manifolds/landing.ts";
export {
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  type CountState,
  type GradientTransformation,
  type Labels,
  type LabelTree,
  type Mask,
  masked,
  partition,
  scaleByLearningRate,
  type TransformUpdate,
} from "./transform.ts";
