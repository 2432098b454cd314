/**
 * Points: tensors that carry their manifold. `Point<M>` is a Tensor with a `manifold` field, so a
 * function that needs a point of `M` does not type-check with a plain tensor until it is projected
 * (`M.project(x)`), drawn (`M.random(key)`), retracted, or asserted (`M.assertOn(x, tol)`).
 * @module
 */
import { checkTensor, type Tensor } from "../core/tensor.ts";

/**
 * A tensor known to lie on the manifold `M` (`x.manifold === M`). It is the same tensor: it shares
 * storage and gradient identity with the tensor it was made from.
 * @example
 * ```ts
 * import { key } from "@tangent/tangent";
 * import { type Point, sphere, type Sphere } from "@tangent/tangent/manifolds";
 * const S = sphere(3);
 * const x: Point<Sphere> = S.random(key(0));
 * x.manifold === S; // true
 * ```
 */
export type Point<M = unknown> = Tensor & { readonly manifold: M };

/**
 * Tags `x` with `manifold` without checking it: a new Tensor object that shares `x`'s storage and
 * autodiff identity (so gradients flow through it as through `x`), with a read-only `manifold`
 * field. Use `M.assertOn(x, tol)` to tag a tensor with a check; this unchecked form is for the
 * manifolds' own results and for infeasible methods (the landing keeps iterates near, not on, the
 * manifold).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { asPoint, sphere } from "@tangent/tangent/manifolds";
 * const S = sphere(2);
 * const x = asPoint(tensor([1, 0]), S); // x.manifold === S
 * ```
 */
export function asPoint<M>(x: Tensor, manifold: M): Point<M> {
  checkTensor("asPoint", x);
  const p = x._alias();
  if (x._tr) p._tr = [...x._tr];
  Object.defineProperty(p, "manifold", { value: manifold, enumerable: false });
  return p as Point<M>;
}

/**
 * The manifold a tensor carries, or undefined for a plain tensor (which optimizers treat as
 * Euclidean).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { manifoldOf } from "@tangent/tangent/manifolds";
 * manifoldOf(tensor([1, 2])); // undefined
 * ```
 */
export function manifoldOf(x: Tensor): unknown {
  checkTensor("manifoldOf", x);
  return (x as Partial<Point>).manifold;
}
