/**
 * The fast-check types that the testing kit's signatures name, under names of the kit, so that its
 * documentation needs none of fast-check's own.
 *
 * Each is fast-check's type itself (an alias, not a copy): what `arbitraryTensor` returns goes into
 * `fc.property`/`fc.assert` as any arbitrary does. They carry `@internal` only for `deno doc --lint`,
 * which otherwise asks for every type that fast-check's declarations mention (`Random`, `Stream`,
 * `Value`, …) to be exported from this package (denoland/deno#27364: types from another package
 * count as private). The types are exported from `@tangent/tangent/testing` all the same; the
 * generated HTML names them in the signatures but gives them no page of their own (it leaves out
 * `@internal` symbols), as it gave fast-check's types none before.
 * @module
 */
import type fc from "fast-check";

/**
 * fast-check's `Arbitrary<T>`: a generator of values of type `T` with shrinking, as the testing
 * kit's arbitraries return it (pass it to `fc.property`, `fc.asyncProperty`, `fc.assert`).
 * @internal
 * @example
 * ```ts
 * import fc from "fast-check";
 * import type { Tensor } from "@tangent/tangent";
 * import { type Arbitrary, arbitraryTensor } from "@tangent/tangent/testing";
 * const arb: Arbitrary<Tensor> = arbitraryTensor({ shape: [2, 3] });
 * fc.assert(fc.property(arb, (t) => t.shape.length === 2), { numRuns: 5 });
 * ```
 */
export type Arbitrary<T> = fc.Arbitrary<T>;

/**
 * fast-check's `IAsyncProperty<Ts>`: an asynchronous property over the tuple of generated values
 * `Ts`, as the law suites return them (run it with `await fc.assert(property)`).
 * @internal
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { sphere } from "@tangent/tangent/manifolds";
 * import { type IAsyncProperty, manifoldLaws } from "@tangent/tangent/testing";
 * const property: IAsyncProperty<[unknown]> = manifoldLaws(sphere(3))[0].property;
 * await fc.assert(property, { numRuns: 2 });
 * ```
 */
export type IAsyncProperty<Ts> = fc.IAsyncProperty<Ts>;
