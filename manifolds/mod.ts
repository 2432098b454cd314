/**
 * Riemannian manifolds and optimizers: the manifolds users know from geoopt and Pymanopt
 * (Euclidean, sphere, oblique, Stiefel with the euclidean or canonical metric and QR / polar /
 * Cayley retractions, O(n) and SO(n), Grassmann, products), points that carry their manifold, and
 * functional (optax-style) optimizers that read `x.manifold` per pytree leaf: `sgd`, `adam`,
 * `adamw`, `riemannianSgd`, `riemannianAdam` and the retraction-free `landing`.
 *
 * Everything is built from core ops and `linalg`, so it is differentiable and runs on any backend.
 * The property laws a manifold satisfies live in `./testing` (`checkManifoldLaws`).
 *
 * @example
 * ```ts
 * import { eye, key, matmul, mul, sum, grad, tensor } from "@tangent/tangent";
 * import { riemannianAdam, stiefel } from "@tangent/tangent/manifolds";
 * const A = tensor([[3, 0, 0], [0, 2, 0], [0, 0, 1]]);
 * const St = stiefel(3, 1);
 * let x = St.random(key(0));
 * const opt = riemannianAdam({ lr: 0.05 });
 * let state = opt.init(x);
 * const loss = (x: any) => mul(sum(mul(x, matmul(A, x))), -1); // maximise xᵀAx
 * for (let i = 0; i < 100; i++) ({ params: x, state } = opt.update(grad(loss)(x), state, x));
 * ```
 * @module
 */
export { asPoint, manifoldOf, type Point } from "./point.ts";
export {
  defaultTolerance,
  type FloatDType,
  type Manifold,
  ManifoldBase,
  type RandomOptions,
  safeSqrt,
} from "./manifold.ts";
export { type Euclidean, euclidean } from "./euclidean.ts";
export { type Sphere, sphere } from "./sphere.ts";
export { type Oblique, oblique } from "./oblique.ts";
export { type Stiefel, stiefel, type StiefelMetric, type StiefelOptions, type StiefelRetraction } from "./stiefel.ts";
export { type Grassmann, grassmann, type GrassmannOptions, type GrassmannRetraction } from "./grassmann.ts";
export { type Orthogonal, orthogonal, type OrthogonalOptions, type OrthogonalRetraction } from "./orthogonal.ts";
export { type Product, product } from "./product.ts";
export { frobInner, mm, mmt, orthonormalityError, skew, sym, tmm } from "./matrix.ts";
export type { Optimizer, OptimizerUpdate } from "./optimizer.ts";
export {
  constantSchedule,
  type LearningRate,
  learningRateAt,
  type Schedule,
  type TensorSchedule,
  tensorSchedule,
  type WarmupCosineOptions,
  warmupCosineSchedule,
} from "./schedules.ts";
export { riemannianSgd, type RiemannianSgdOptions, sgd, type SgdOptions, type SgdState } from "./sgd.ts";
export { adam, type AdamOptions, type AdamState, adamw, riemannianAdam, type RiemannianAdamOptions } from "./adam.ts";
export {
  landing,
  landingField,
  type LandingOptions,
  landingSafeStep,
  type LandingSafeStepOptions,
  type LandingState,
} from "./landing.ts";
