/**
 * The property-test kit: fast-check arbitraries and the law suites that a correct manifold or
 * adapter satisfies. Import it only in tests, so fast-check is loaded only there.
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
