/**
 * Functions with a hand-written gradient. The forward runs without recording; one primitive per
 * function records the application, its VJP rule calls the given backward. Lives in `core/` so
 * composed functions in `core/` (linear algebra's polar factor) need nothing from `autodiff/`.
 * @module
 */
import { DomainError, fmtShape } from "./errors.ts";
import {
  activeTraces,
  definePrimitive,
  type Interpreter,
  type Primitive,
  record,
  withInterpreter,
  withoutTracing,
} from "./primitive.ts";
import type { Tensor } from "./tensor.ts";

/**
 * A function with a hand-written gradient: `f` runs without recording, and `bwd(ct, out, ...xs)`
 * gives the cotangent of each input (null for none). `bwd` should use differentiable ops if
 * gradients of gradients are wanted. A tensor that an enclosing `grad` differentiates must reach `f`
 * as an argument: one read from `f`'s closure would get no gradient, so it is a DomainError (as JAX
 * refuses it).
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
  return customVjpChecked(f, bwd, name, true);
}

/**
 * `customVjp`, with the closure check optional (`checkpoint` finds such tensors itself and then
 * runs its function recorded instead).
 * @internal
 */
export function customVjpChecked(
  f: (...xs: Tensor[]) => Tensor,
  bwd: (ct: Tensor, out: Tensor, ...xs: Tensor[]) => (Tensor | null)[],
  name: string,
  checkClosures: boolean,
): (...xs: Tensor[]) => Tensor {
  const prim: Primitive<null> = definePrimitive<null>({
    name,
    abstract: () => [],
    vjp: ([ct], xs, [out]) => (ct ? bwd(ct, out, ...xs) : xs.map(() => null)),
  });
  return (...xs: Tensor[]) => {
    const outer = checkClosures ? activeTraces() : [];
    let closure: Tensor | undefined;
    const given = new Set(xs);
    const watch: Interpreter = (_prim, inputs) => {
      closure ??= inputs.find((t) => !given.has(t) && t._tr?.some(([tr]) => outer.includes(tr)));
      return undefined;
    };
    const y = withoutTracing(() => (outer.length ? withInterpreter(watch, () => f(...xs)) : f(...xs)));
    if (closure) {
      throw new DomainError(
        `${name}: the function reads a tensor ${fmtShape(closure.shape)} that grad differentiates from its ` +
          `closure, and the hand-written gradient covers only its arguments, so that tensor's gradient would be ` +
          `lost; pass it as an argument (and return its cotangent from the backward function), or stopGradient it ` +
          `outside`,
      );
    }
    const out = y._alias();
    record(prim, xs, [out], null);
    return out;
  };
}
