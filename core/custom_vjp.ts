/**
 * Functions with a hand-written gradient. The forward runs without recording; one primitive per
 * function records the application, its VJP rule calls the given backward. Lives in `core/` so
 * composed functions in `core/` (linear algebra's polar factor) need nothing from `autodiff/`.
 * @module
 */
import { checkFunction, DomainError, fmtShape, ShapeError } from "./errors.ts";
import {
  activeTraces,
  definePrimitive,
  type Interpreter,
  liveVmapLevels,
  type Primitive,
  record,
  withInterpreter,
  withoutTracing,
} from "./primitive.ts";
import { Tensor } from "./tensor.ts";

/**
 * What encloses this point, as a snapshot: the grads' traces and the running vmaps' levels; `outside`
 * tells whether a tensor a function reads (not one of `given`) is tracked or batched there, i.e.
 * read from its closure.
 * @internal for `customVjp` and `checkpoint`.
 */
export function enclosing(): {
  tracing: boolean;
  any: boolean;
  batched(t: Tensor): boolean;
  outside(t: Tensor, given: ReadonlySet<Tensor>): boolean;
} {
  const outer = activeTraces(), levels = new Set(liveVmapLevels);
  const batched = (t: Tensor) => t._bt !== undefined && levels.has(t._bt.level);
  return {
    tracing: outer.length > 0,
    any: outer.length > 0 || levels.size > 0,
    batched,
    outside: (t, given) => !given.has(t) && (batched(t) || (t._tr?.some(([tr]) => outer.includes(tr)) ?? false)),
  };
}

/**
 * A function with a hand-written gradient: `f` runs without recording, and `bwd(ct, out, ...xs)`
 * gives the cotangent of each input (null for none). `bwd` should use differentiable ops if
 * gradients of gradients are wanted. A tensor that an enclosing `grad` differentiates, or that an
 * enclosing `vmap` batches, must reach `f` as an argument: one read from `f`'s closure would get no
 * gradient, or be batched where the rule does not expect it, so it is a DomainError (as JAX refuses
 * it). Under `vmap`, `f` and `bwd` run on the batch (the rule is batched, so a `grad` taken outside
 * the `vmap` uses it too).
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
  checkFunction("customVjp", f);
  checkFunction("customVjp", bwd, "the backward rule (bwd)");
  return customVjpChecked(f, bwd, name, true);
}

/**
 * How a customVjp runs when a vmap batches some of its arguments, set by `vmap`: at the innermost
 * such level, the rule applied to the batched values (`f` and `bwd` vmapped), returned batched at
 * that level; an enclosing `grad` records that application, at the values' level.
 * @internal
 */
export const customVjpBatching: {
  rule?: (
    level: number,
    xs: readonly Tensor[],
    f: (...xs: Tensor[]) => Tensor,
    bwd: (ct: Tensor, out: Tensor, ...xs: Tensor[]) => (Tensor | null)[],
    name: string,
  ) => Tensor;
} = {};

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
    // what encloses this call: tensors tracked or batched there are read from outside f
    const around = checkClosures ? enclosing() : undefined;
    // f with the check: a read of such a tensor that is not an argument (nor an argument's batched value)
    const guarded = (...as: Tensor[]): Tensor => {
      let closure: Tensor | undefined;
      const given = new Set<Tensor>();
      for (const a of as) for (let t: Tensor | undefined = a; t; t = t._bt?.value) given.add(t);
      const watch: Interpreter = (_prim, inputs) => {
        closure ??= inputs.find((t) => around!.outside(t, given));
        return undefined;
      };
      const y = withInterpreter(watch, () => f(...as));
      if (closure && around!.batched(closure)) {
        throw new DomainError(
          `${name}: the function reads a tensor ${fmtShape(closure.shape)} that an enclosing vmap batches ` +
            `(${closure._bt!.value.shape[0]} examples) from its closure; the hand-written rule sees only its ` +
            `arguments (a grad outside the vmap would lose that tensor's part, and the backward function would get ` +
            `the batch where it expects one example's value): pass it as an argument, and the rule runs batched`,
        );
      }
      if (closure) {
        throw new DomainError(
          `${name}: the function reads a tensor ${fmtShape(closure.shape)} that grad differentiates from its ` +
            `closure, and the hand-written gradient covers only its arguments, so that tensor's gradient would be ` +
            `lost; pass it as an argument (and return its cotangent from the backward function), or stopGradient it ` +
            `outside`,
        );
      }
      return y;
    };
    const run = around?.any ? guarded : f;
    let level = 0; // the innermost vmap batching an argument
    for (const x of xs) if (x._bt && x._bt.level > level) level = x._bt.level;
    // (a level whose vmap returned: the arguments escaped it, and the kernels say so)
    const y = level > 0 && liveVmapLevels.has(level) && customVjpBatching.rule
      ? customVjpBatching.rule(level, xs, run, bwd, name)
      : withoutTracing(() => run(...xs));
    if (!(y instanceof Tensor)) {
      const r: unknown = y; // the function is typed to return a tensor; JavaScript lets it return anything
      const got = r === null ? "null" : Array.isArray(r) ? `an array of ${r.length}` : typeof r;
      throw new ShapeError(
        `${name}: the function must return one tensor, got ${got}; the rule is written for one output ` +
          `(unlike jax.custom_vjp's pytrees): stack or concat the outputs into one tensor, or give each its own customVjp`,
      );
    }
    const out = y._alias();
    record(prim, xs, [out], null);
    return out;
  };
}
