/**
 * The property-test kit: fast-check arbitraries and the law suites that a correct manifold or
 * adapter satisfies. Import it only in tests, so fast-check is loaded only there.
 * @module
 */
export { arbitraryShape, arbitraryTensor, type TensorArbOptions, tensorOfShape } from "./testing/arbitraries.ts";
