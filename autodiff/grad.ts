/**
 * Reverse-mode autodiff by tracing: `grad(f)` runs `f` while a Trace records the primitive
 * applications that depend on its inputs, then walks them backward applying each primitive's VJP
 * rule. VJP rules are ordinary ops, so when an outer `grad` is tracing they are recorded too and
 * gradients of gradients work. Nothing outside `grad` pays for recording.
 * @module
 */
import { checkFunction, DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { isFloat } from "../core/dtype.ts";
import { idIn, makeLeaf, suspended, Trace, untracked, withTrace } from "../core/primitive.ts";
import { isPlainObject, treeDifference, treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { isKey } from "../core/random.ts";
import { Tensor } from "../core/tensor.ts";
import { add, astype, onesLike, zerosLike } from "../core/ops/mod.ts";

/** Walks `trace` backward from `seeds` (output id → cotangent); returns cotangents by id. */
function backward(trace: Trace, seeds: Map<number, Tensor>): Map<number, Tensor> {
  const ct = new Map(seeds);
  return suspended(trace, () => {
    for (let n = trace.nodes.length - 1; n >= 0; n--) {
      const node = trace.nodes[n];
      let any = false;
      const outCts = node.outIds.map((id) => {
        const c = ct.get(id);
        if (c) any = true;
        return c ?? null;
      });
      if (!any) continue;
      if (!node.prim.vjp) continue; // no gradient flows through (comparisons, random)
      const needs = node.inIds.map((id) => id !== undefined);
      const inCts = node.prim.vjp(outCts, node.inputs, node.outputs, node.params, needs);
      if (inCts.length !== node.inputs.length) {
        throw new ShapeError(
          `${node.prim.name}: the VJP rule returned ${inCts.length} cotangents for ${node.inputs.length} inputs; ` +
            `return one per input (null for none)`,
        );
      }
      node.inIds.forEach((id, i) => {
        const g = inCts[i];
        if (id === undefined || !g) return;
        const x = node.inputs[i];
        if (g.ndim !== x.ndim || g.shape.some((d, j) => d !== x.shape[j])) {
          throw new ShapeError(
            `${node.prim.name}: the VJP rule returned a cotangent of shape ${fmtShape(g.shape)} for input ${i} ` +
              `of shape ${fmtShape(x.shape)}; a cotangent has its input's shape (sum over broadcast axes)`,
          );
        }
        const gi = g.dtype === x.dtype ? g : astype(g, x.dtype);
        const prev = ct.get(id);
        ct.set(id, prev ? add(prev, gi) : gi);
      });
    }
    return ct;
  });
}

/** Output leaf with its trace id (undefined when the output does not depend on the inputs). */
function outIds(trace: Trace, outs: Tensor[]): (number | undefined)[] {
  return outs.map((o) => idIn(o, trace));
}

/**
 * Runs `f` on `primals`, returning its output and a pullback that maps an output cotangent (same
 * structure as the output) to cotangents of each primal (same structures as the primals; a plain
 * number or other non-tensor leaf of a primal comes back as it is, not differentiated).
 * @example
 * ```ts
 * import { mul, type Tensor, tensor, vjp } from "@tangent/tangent";
 * const [y, pullback] = vjp((x: Tensor) => mul(x, x), tensor([1, 2, 3]));
 * const [dx] = pullback(tensor([1, 1, 1])); // [2, 4, 6]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vjp<Out>(f: (...args: any[]) => Out, ...primals: unknown[]): [Out, (ct: Out) => unknown[]] {
  checkFunction("vjp", f);
  const [out, pullback] = vjpAux((...args) => [f(...args), undefined], primals);
  return [out, pullback];
}

/**
 * `vjp` of `f` returning `[out, aux]`: `aux` is carried along, not differentiated (its tensors hold
 * no trace afterwards).
 */
function vjpAux<Out, Aux>(
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => [Out, Aux],
  primals: readonly unknown[],
): [Out, (ct: Out) => unknown[], Aux] {
  const trace = new Trace();
  const leafIds: number[][] = [];
  const args = primals.map((p) => {
    const ids: number[] = [];
    const leaves = treeLeaves(p).map((t) => {
      const [leaf, id] = makeLeaf(t, trace);
      ids.push(id);
      return leaf;
    });
    leafIds.push(ids);
    return treeUnflatten(p, leaves);
  });
  const [traced, auxTraced] = withTrace(trace, () => f(...args));
  const auxLeaves = treeLeaves(auxTraced);
  const aux = auxLeaves.length ? treeUnflatten(auxTraced, auxLeaves.map((t) => untracked(t, trace))) : auxTraced;
  const outLeaves = treeLeaves(traced);
  const ids = outIds(trace, outLeaves);
  // what the caller keeps holds no identity in this trace, so it does not keep the trace alive
  const kept = outLeaves.map((t) => untracked(t, trace));
  const out = kept.some((t, i) => t !== outLeaves[i]) ? treeUnflatten(traced, kept) : traced;
  const pullback = (ct: Out): unknown[] => {
    const ctLeaves = treeLeaves(ct);
    if (ctLeaves.length !== outLeaves.length) {
      throw new ShapeError(`vjp: cotangent has ${ctLeaves.length} tensors, the output has ${outLeaves.length}`);
    }
    const seeds = new Map<number, Tensor>();
    ctLeaves.forEach((c, i) => {
      const o = outLeaves[i];
      if (c.shape.length !== o.shape.length || c.shape.some((d, j) => d !== o.shape[j])) {
        throw new ShapeError(
          `vjp: cotangent shape ${fmtShape(c.shape)} differs from output shape ${fmtShape(o.shape)}`,
        );
      }
      const id = ids[i];
      if (id !== undefined) seeds.set(id, seeds.has(id) ? add(seeds.get(id)!, c) : c);
    });
    const cts = backward(trace, seeds);
    return primals.map((p, k) => {
      const ls = treeLeaves(p);
      return treeUnflatten(p, ls.map((l, j) => untracked(cts.get(leafIds[k][j]) ?? zerosLike(l), trace)));
    });
  };
  return [out, pullback, aux];
}

const GRAD_KEYS = optionKeys<GradOptions>({ argnums: true, hasAux: true });

/** Options for `grad` and `valueAndGrad`. */
export interface GradOptions<N extends number | readonly number[] = number | readonly number[]> {
  /** Which positional argument(s) to differentiate (default 0; a negative one counts from the end, as JAX's). */
  argnums?: N;
  /**
   * The function returns `[loss, aux]`: aux (any pytree: metrics, logits, new state) is returned
   * beside the gradient, not differentiated (JAX's `has_aux`). Default false.
   */
  hasAux?: boolean;
}

/**
 * The type of a gradient: the differentiated argument's own type (a tensor, or a pytree of the same
 * structure), or a tuple of them when `argnums` lists several (a negative position counts from the
 * end, as JAX's `argnums=-1`).
 */
export type GradOf<A extends readonly unknown[], N> = N extends number ? ArgAt<A, N>
  : N extends readonly number[] ? { -readonly [K in keyof N]: ArgAt<A, N[K] & number> }
  : never;

/**
 * `A[N]`, a negative `N` counting from the end of the tuple `A` (its element type if `A` is no tuple):
 * the argument `argnums: N` picks, as `GradOf` uses it.
 * @internal
 * @example
 * ```ts
 * import type { ArgAt, Tensor } from "@tangent/tangent";
 * const last: ArgAt<[Tensor, number, string], -1> = "the last argument's type";
 * ```
 */
export type ArgAt<A extends readonly unknown[], N extends number> = `${N}` extends `-${infer P extends number}`
  ? FromEnd<A, P>
  : A[N];

/**
 * The `P`-th element of the tuple `A` from the end (1 is the last; `A`'s element type if `A` is no
 * tuple), as `ArgAt` reads a negative position. `C` counts the recursion; leave it out.
 * @internal
 * @example
 * ```ts
 * import type { FromEnd } from "@tangent/tangent";
 * const second: FromEnd<[boolean, number, string], 2> = 42;
 * ```
 */
export type FromEnd<A extends readonly unknown[], P extends number, C extends unknown[] = [unknown]> = A extends
  readonly [...infer H, infer L] ? (C["length"] extends P ? L : FromEnd<H, P, [...C, unknown]>)
  : A[number];

/**
 * A differentiated argument that holds values (numbers, keys, strings) but no tensor would get
 * itself back as its "gradient" (a JavaScript array of numbers is data to autodiff, not a parameter,
 * where JAX differentiates Python floats and refuses ints): a DTypeError naming `op` and the fix.
 * An empty container (`[]`, `{}`) is allowed, as JAX allows an empty pytree.
 * @internal
 */
export function checkHoldsTensor(op: string, i: number, a: unknown): void {
  if (treeLeaves(a).length > 0) return;
  let value: unknown = undefined, found = false;
  const walk = (t: unknown): void => {
    if (found) return;
    if (Array.isArray(t)) t.forEach(walk);
    else if (isPlainObject(t) && !isKey(t)) Object.values(t).forEach(walk);
    else if (t !== undefined && t !== null) [value, found] = [t, true];
  };
  walk(a);
  if (!found) return;
  const what = isKey(value) ? "a key" : typeof value === "number" ? `the number ${value}` : `a ${typeof value}`;
  throw new DTypeError(
    `${op}: argument ${i} holds no tensor (it holds ${what}); numbers and keys are constants to autodiff, so its ` +
      `gradient would be the value itself: make the parameters tensors (tensor([1, 2, 3])), or leave the argument ` +
      `out of argnums`,
  );
}

/**
 * `argnums` as positions in `[0, n)`, a negative one counting from the end (JAX's `argnums=-1`);
 * one out of range or listed twice is a ShapeError naming `op`.
 * @internal
 */
export function argPositions(op: string, argnums: number | readonly number[], n: number): number[] {
  const given = typeof argnums === "number" ? [argnums] : [...argnums];
  const ks = given.map((i) => {
    if (!Number.isInteger(i) || i < -n || i >= n) {
      const fix = n === 0
        ? "the call passes none"
        : `use a position in [${-n}, ${n - 1}] (negative counts from the end)`;
      throw new ShapeError(`${op}: argnums ${i} is out of range for ${n} argument${n === 1 ? "" : "s"}; ${fix}`);
    }
    return i < 0 ? i + n : i;
  });
  ks.forEach((k, j) => {
    if (ks.indexOf(k) !== j) {
      throw new ShapeError(`${op}: argnums [${given.join(", ")}] names argument ${k} twice; list each argument once`);
    }
  });
  return ks;
}

function checkScalar(y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new ShapeError(`grad: the function must return a scalar tensor, got ${typeof y}`);
  if (y.size !== 1) {
    throw new ShapeError(
      `grad: the function must return a scalar, got shape ${fmtShape(y.shape)}; reduce it (e.g. sum) or use vjp`,
    );
  }
  if (!isFloat(y.dtype)) throw new DTypeError(`grad: the function returned ${y.dtype}; it must return a float scalar`);
  return y;
}

/**
 * The function returning both `f(...args)` and its gradient with respect to `args[argnums]`
 * (each a pytree; gradients have the same structure). With `hasAux`, `f` returns `[loss, aux]` and
 * the result is `[[loss, aux], gradient]`.
 *
 * Only float tensors are differentiated. Every other leaf of a differentiated pytree (a plain number,
 * boolean, string, key, null) is a constant: `f` receives it as it is, and the gradient holds that
 * same value in its place, as structure, not a derivative (`grad(f)({ w, scale: 3 })` is `{ w: ∂f/∂w,
 * scale: 3 }`); optimizers and `treeMap` read the tensor leaves only. This differs from JAX:
 * `jax.grad` traces a Python float leaf and gives its true derivative (a float32 scalar: `{'lr':
 * Array(2.)}` for `p['w'].sum() * p['lr']`), and refuses an int leaf unless `allow_int=True` (then a
 * float0 zero). JavaScript has one number type, and numbers in parameter trees are usually
 * configuration (ranks, scales) that code uses as numbers, so Tangent traces none of them: make a
 * number you want differentiated a tensor (`tensor(3)`). An argument holding numbers or keys but no
 * tensor is a DTypeError (its "gradient" would be itself).
 * @example
 * ```ts
 * import { argmax, mean, square, type Tensor, tensor, valueAndGrad } from "@tangent/tangent";
 * const loss = (w: Tensor) => [mean(square(w)), { best: argmax(w) }] as const;
 * const [[value, aux], g] = valueAndGrad(loss, { hasAux: true })(tensor([1, 3])); // 5, { best: 1 }, [1, 3]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], Aux, const N extends number | readonly number[] = 0>(
  f: (...args: A) => readonly [Tensor, Aux],
  opts: GradOptions<N> & { hasAux: true },
): (...args: A) => [[Tensor, Aux], GradOf<A, N>];
/** The function returning both `f(...args)` and its gradient. */
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], const N extends number | readonly number[] = 0>(
  f: (...args: A) => Tensor,
  opts?: GradOptions<N>,
): (...args: A) => [Tensor, GradOf<A, N>];
// deno-lint-ignore no-explicit-any
export function valueAndGrad<A extends any[], const N extends number | readonly number[] = 0>(
  f: (...args: A) => unknown,
  opts: GradOptions<N> = {},
): (...args: A) => [unknown, GradOf<A, N>] {
  checkFunction("grad", f);
  checkOptions("valueAndGrad", opts, GRAD_KEYS, "{ argnums: 1 }");
  const argnums: number | readonly number[] = opts.argnums ?? 0;
  const hasAux = opts.hasAux ?? false;
  return (...args: A) => {
    const which = argPositions("grad", argnums, args.length);
    which.forEach((i) => {
      const a: unknown = args[i];
      if (!(a instanceof Tensor) && !Array.isArray(a) && (a === null || typeof a !== "object")) {
        throw new DTypeError(
          `grad: argument ${i} is ${a === null ? "null" : typeof a}, not a tensor or a pytree of tensors; ` +
            `differentiate tensors (tensor(${typeof a === "number" ? a : "…"}))`,
        );
      }
      checkHoldsTensor("grad", i, a);
      const bad = treeLeaves(a).find((t) => !isFloat(t.dtype));
      if (bad) {
        throw new DTypeError(
          `grad: argument ${i} holds a tensor of dtype ${bad.dtype}, shape ${
            fmtShape(bad.shape)
          }; gradients are defined ` +
            `for float inputs only: convert it with astype(x, "float32"), or leave that argument out of argnums`,
        );
      }
    });
    const diffArgs = which.map((i) => args[i]);
    const [y, pullback, aux] = vjpAux((...d: unknown[]): [Tensor, unknown] => {
      const full = [...args] as A;
      which.forEach((i, k) => (full[i] = d[k]));
      const r = f(...full);
      if (!hasAux) return [checkScalar(r), undefined];
      if (!Array.isArray(r) || r.length !== 2) {
        throw new ShapeError(
          `grad: with hasAux the function must return [loss, aux], got ${
            r instanceof Tensor
              ? `a tensor ${fmtShape(r.shape)}`
              : Array.isArray(r)
              ? `an array of ${r.length}`
              : typeof r
          }`,
        );
      }
      return [checkScalar(r[0]), r[1]];
    }, diffArgs);
    const grads = pullback(onesLike(y));
    const g = (typeof argnums === "number" ? grads[0] : grads) as GradOf<A, N>;
    return [hasAux ? [y, aux] : y, g];
  };
}

/**
 * The gradient of a scalar function with respect to its first argument (or `argnums`). With
 * `hasAux`, `f` returns `[loss, aux]` and the result is `[gradient, aux]` (JAX's `has_aux`).
 * A plain number in the differentiated pytree is a constant, returned as it is in the gradient's
 * place (JAX differentiates a Python float leaf; see {@linkcode valueAndGrad} for the difference and
 * the fix).
 * @example
 * ```ts
 * import { grad, mul, sum, type Tensor, tensor } from "@tangent/tangent";
 * const g = grad((x: Tensor) => sum(mul(x, x)))(tensor([1, 2])); // [2, 4]
 * const [g2, aux] = grad((x: Tensor) => [sum(x), { n: x.size }] as const, { hasAux: true })(tensor([1, 2]));
 * ```
 */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], Aux, const N extends number | readonly number[] = 0>(
  f: (...args: A) => readonly [Tensor, Aux],
  opts: GradOptions<N> & { hasAux: true },
): (...args: A) => [GradOf<A, N>, Aux];
/** The gradient of a scalar function. */
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], const N extends number | readonly number[] = 0>(
  f: (...args: A) => Tensor,
  opts?: GradOptions<N>,
): (...args: A) => GradOf<A, N>;
// deno-lint-ignore no-explicit-any
export function grad<A extends any[], const N extends number | readonly number[] = 0>(
  f: (...args: A) => unknown,
  opts: GradOptions<N> = {},
): (...args: A) => unknown {
  checkOptions("grad", opts, GRAD_KEYS, "{ argnums: 1 }");
  const vg = valueAndGrad<A, N>(f as (...args: A) => Tensor, opts);
  if (!opts.hasAux) return (...args: A) => vg(...args)[1];
  return (...args: A) => {
    const [[, aux], g] = vg(...args) as unknown as [[Tensor, unknown], GradOf<A, N>];
    return [g, aux];
  };
}

/**
 * Forward mode: `f(...primals)` and the directional derivative along `tangents`, computed by
 * transposing the (linear) pullback, so it works wherever reverse mode does. `tangents` holds one
 * tangent per primal, laid out as it (the same pytree, each leaf of its primal's shape and dtype, as
 * `jax.jvp` requires); anything else is a `ShapeError` or `DTypeError` naming the argument. A plain
 * number (or other non-tensor leaf) `f` returns comes back as it is in the tangent, as structure (JAX
 * gives a Python float output a zero tangent).
 * @example
 * ```ts
 * import { jvp, mul, sin, type Tensor, tensor } from "@tangent/tangent";
 * const [y, dy] = jvp((x: Tensor) => mul(sin(x), x), [tensor([0, 1])], [tensor([1, 0])]); // dy = [0, 0]
 * ```
 */
export function jvp<Out>(
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => Out,
  primals: readonly unknown[],
  tangents: readonly unknown[],
): [Out, Out] {
  checkFunction("jvp", f);
  checkTangents(primals, tangents);
  const [out, pullback] = vjp(f, ...primals);
  const zero = treeUnflatten(out, treeLeaves(out).map(zerosLike));
  // u ↦ pullback(u) is linear; its transpose applied to the tangents is the JVP.
  const [, pb2] = vjp((u: Out) => pullback(u), zero);
  const [tOut] = pb2(tangents as unknown[]) as [Out];
  return [out, tOut];
}

/** jvp's tangents: one per primal, the same pytree, each leaf of its primal's shape and dtype (as JAX). */
function checkTangents(primals: readonly unknown[], tangents: readonly unknown[]): void {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    const kind = (v: unknown) => (Array.isArray(v) ? "an array" : v instanceof Tensor ? "a tensor" : typeof v);
    throw new ShapeError(
      `jvp: primals and tangents must be arrays with one entry per argument, got ${kind(primals)} and ` +
        `${kind(tangents)}; write jvp(f, [x], [dx])`,
    );
  }
  if (primals.length !== tangents.length) {
    throw new ShapeError(
      `jvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per argument, laid out as it`,
    );
  }
  primals.forEach((p, i) => {
    const d = treeDifference(p, tangents[i]);
    if (d !== null) throw new ShapeError(`jvp: tangent ${i} is not laid out as primal ${i} (${d})`);
    const ps = treeLeaves(p), ts = treeLeaves(tangents[i]);
    ps.forEach((x, j) => {
      const t = ts[j];
      const where = ps.length > 1 ? `leaf ${j} of argument ${i}` : `argument ${i}`;
      if (x.ndim !== t.ndim || x.shape.some((n, k) => n !== t.shape[k])) {
        throw new ShapeError(
          `jvp: the tangent of ${where} has shape ${fmtShape(t.shape)}, its primal ${fmtShape(x.shape)}; ` +
            `a tangent has its primal's shape`,
        );
      }
      if (t.dtype !== x.dtype) {
        throw new DTypeError(
          `jvp: the tangent of ${where} is ${t.dtype}, its primal ${x.dtype}; a tangent has its primal's dtype ` +
            `(cast it with astype(t, "${x.dtype}"))`,
        );
      }
    });
  });
}

export { stopGradient } from "../core/ops/elementwise.ts";
export { customVjp } from "../core/custom_vjp.ts";
