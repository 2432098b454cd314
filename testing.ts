/**
 * The property-test kit: fast-check arbitraries and the law suites that a correct manifold or
 * adapter satisfies. Import it only in tests, so fast-check is loaded only there.
 *
 * `checkAdapterLaws` and `checkManifoldLaws` throw a DomainError on the first law that fails: its
 * first line names the adapter or manifold, the law and the measured error against the tolerance
 * (or the exception your code threw, with its first stack frames), its second line the sizes, the
 * counterexample and the `seed` that replays it. Their options are checked: an unknown name is a
 * DomainError that suggests the intended one.
 * @example An adapter of one's own (a full-rank additive update W + D) through the adapter laws
 * ```ts
 * import { DomainError, type Tensor, zeros } from "@tangent/tangent";
 * import { type Adapter, countScalars, frozenLinear, zeroLike } from "@tangent/tangent/adapters";
 * import { checkAdapterLaws } from "@tangent/tangent/testing";
 * const additive: Adapter<{ D: Tensor }> = {
 *   kind: "additive",
 *   identityAtInit: true,
 *   init: (_k, { weight, bias }) => ({ params: { D: zeros(weight.shape, { dtype: weight.dtype }) }, frozen: { weight, bias } }),
 *   apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(p.D.mT)), // not frozenLinear(x, W + D): D would get no gradient
 *   merge: (p, f) => f.weight.add(p.D),
 *   unmerge: (p, _f, merged) => merged.sub(p.D),
 *   regularizer: zeroLike,
 *   trainableCount: countScalars,
 * };
 * await checkAdapterLaws(additive, { numRuns: 2, seed: 1 });
 * // an unmerge that forgets D fails with the law, the error against its tolerance and the seed
 * const e = await checkAdapterLaws({ ...additive, unmerge: (_p, _f, m) => m }, { seed: 1 }).catch((e) => e);
 * e instanceof DomainError; // true: 'additive: law "unmerge ∘ merge" fails: max|…| = 0.2… > tol 1e-9 × …'
 * ```
 * @example A manifold through the manifold laws, in float32
 * ```ts
 * import "@tangent/tangent";
 * import { sphere } from "@tangent/tangent/manifolds";
 * import { checkManifoldLaws } from "@tangent/tangent/testing";
 * await checkManifoldLaws(sphere(3), { dtype: "float32", numRuns: 3, seed: 1 });
 * ```
 * @module
 */
export {
  arbitraryAxes,
  arbitraryBroadcastShapes,
  arbitraryPerm,
  arbitraryShape,
  arbitraryTensor,
  arbitraryValues,
  type TensorArbOptions,
  tensorOfShape,
} from "./testing/arbitraries.ts";
export {
  type AmbientArbOptions,
  arbitraryAmbient,
  arbitraryMatrix,
  arbitraryPoint,
  arbitraryTangent,
  type ManifoldArbOptions,
  type PointAndTangent,
} from "./manifolds/arbitraries.ts";
export { checkManifoldLaws, type ManifoldLaw, type ManifoldLawOptions, manifoldLaws } from "./manifolds/laws.ts";
export type { FloatDType, Manifold } from "./manifolds/manifold.ts";
export type { Point } from "./manifolds/point.ts";
export {
  type AdapterLaw,
  type AdapterLawOptions,
  adapterLaws,
  type AnyAdapter,
  checkAdapterLaws,
  type LawOptimizer,
} from "./adapters/laws.ts";
export type { Adapter } from "./adapters/adapter.ts";
export type { Arbitrary, IAsyncProperty } from "./testing/fast_check.ts";
