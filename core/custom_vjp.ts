/**
 * Functions with a hand-written gradient. The forward runs without recording; one primitive per
 * function records the application, its VJP rule calls the given backward. Lives in `core/` so
 * composed functions in `core/` (linear algebra's polar factor) need nothing from `autodiff/`.
 * @module
 */
import { definePrimitive, type Primitive, record, withoutTracing } from "./primitive.ts";
import type { Tensor } from "./tensor.ts";

/**
 * A function with a hand-written gradient: `f` runs without recording, and `bwd(ct, out, ...xs)`
 * gives the cotangent of each input (null for none). `bwd` should use differentiable ops if
 * gradients of gradients are wanted.
 * @example
 * ```ts
 * import { customVjp, grad, mul, sin, type Tensor, tensor } from "@tangent/tangent";
 * const f = customVjp((x: Tensor) => sin(x), (ct, _out, x) => [mul(ct, 2)]);
 * grad(f)(tensor(0.5)); // 2: the hand-written rule, not cos(0.5)
 * ```
 */
export function customVjp(
  f: (...xs: Tensor[]) => Tensor,
  bwd: (ct: Tensor, out: Tensor, ...xs: Tensor[]) => (Tensor | null)[],
  name = "customVjp",
): (...xs: Tensor[]) => Tensor {
  const prim: Primitive<null> = definePrimitive<null>({
    name,
    abstract: () => [],
    vjp: ([ct], xs, [out]) => (ct ? bwd(ct, out, ...xs) : xs.map(() => null)),
  });
  return (...xs: Tensor[]) => {
    const out = withoutTracing(() => f(...xs))._alias();
    record(prim, xs, [out], null);
    return out;
  };
}
