/**
 * Control flow and memory: `checkpoint` (recompute a function's intermediates in the backward pass
 * instead of storing them), `scan` (a loop carrying state and stacking per-step outputs) and
 * `foriLoop`. All are differentiable: they are built from ordinary ops (and `customVjp`).
 * @module
 */
import { checkFunction, fmtShape, ShapeError } from "../core/errors.ts";
import { customVjpChecked, enclosing } from "../core/custom_vjp.ts";
import { type Interpreter, withInterpreter } from "../core/primitive.ts";
import { isPlainObject, treeDifference, treeLeaves, treePaths, treeUnflatten } from "../core/pytree.ts";
import { isKey } from "../core/random.ts";
import { Tensor } from "../core/tensor.ts";
import { isFloat } from "../core/dtype.ts";
import * as o from "../core/ops/mod.ts";
import { vjp } from "./grad.ts";
import { jit } from "./jit.ts";
import { scalarsToTensors, type VmapOut } from "./vmap.ts";

let warnedClosure = false;

/**
 * `f` with rematerialisation: the forward pass keeps only `f`'s inputs and output, and the backward
 * pass runs `f` again to get the intermediates it needs. Same values and gradients, less memory
 * held between the passes (one recorded application instead of all of `f`'s), at the cost of a
 * second forward. Arguments may be pytrees of tensors; the result one tensor or a pytree of tensors
 * of one float dtype (as `jax.checkpoint`'s; they travel packed in one vector between the passes). A
 * tensor an enclosing `grad` differentiates must reach `f` as an argument to be rematerialised: one
 * `f` reads from its closure makes `f` run as itself (recorded as usual, the gradient right; warned
 * once).
 * @example
 * ```ts
 * import { checkpoint, grad, mul, sum, tanh, type Tensor, tensor } from "@tangent/tangent";
 * const block = checkpoint((x: Tensor) => tanh(tanh(tanh(x))));
 * grad((x: Tensor) => sum(block(x)))(tensor([0.5, 1])); // as without checkpoint
 * const pair = checkpoint((x: Tensor) => ({ h: tanh(x), s: sum(mul(x, x)) }));
 * grad((x: Tensor) => { const { h, s } = pair(x); return sum(mul(h, s)); })(tensor([0.5, 1]));
 * ```
 */
// deno-lint-ignore no-explicit-any
export function checkpoint<A extends any[], R = Tensor>(f: (...args: A) => R): (...args: A) => R {
  checkFunction("checkpoint", f);
  return (...args: A) => {
    const leaves = args.map((a) => treeLeaves(a));
    const counts = leaves.map((l) => l.length);
    const rebuild = (flat: Tensor[]): A => {
      let at = 0;
      return args.map((a, i) => {
        const part = flat.slice(at, at + counts[i]);
        at += counts[i];
        return counts[i] === 0 ? a : treeUnflatten(a, part);
      }) as A;
    };
    // a pytree result travels packed in one vector (its leaves raveled and concatenated), unpacked
    // after by its layout (structure and shapes only: the forward's tensors are not kept)
    let layout: { tree: unknown; shapes: number[][] } | undefined;
    const call = (...flat: Tensor[]): Tensor => {
      const y: unknown = f(...rebuild(flat));
      if (y instanceof Tensor) return y;
      const packed = pack(y);
      const ls = treeLeaves(y), mark = o.zeros([]);
      layout = { tree: treeUnflatten(y, ls.map(() => mark)), shapes: ls.map((t) => [...t.shape]) };
      return packed;
    };
    const unpack = (y: Tensor): R => (layout === undefined ? y as R : unpackLike(layout, y) as R);
    // the forward runs unrecorded: a tensor an enclosing grad tracks (or an enclosing vmap batches)
    // that f reads from its closure (not an argument) would get no gradient, so the forward looks for one
    const around = enclosing();
    const args0 = new Set(leaves.flat());
    let closure: Tensor | undefined;
    const watch: Interpreter = (_prim, inputs) => {
      closure ??= inputs.find((t) => around.outside(t, args0));
      return undefined;
    };
    let forward = around.tracing;
    const run = (...flat: Tensor[]) => (forward ? withInterpreter(watch, () => call(...flat)) : call(...flat));
    const remat = customVjpChecked(
      run,
      (ct, _out, ...flat) => {
        const [, pullback] = vjp(call, ...flat);
        return pullback(ct) as Tensor[];
      },
      "checkpoint",
      false,
    );
    const y = remat(...leaves.flat());
    forward = false;
    if (!closure) return unpack(y);
    if (!warnedClosure) {
      warnedClosure = true;
      console.warn(
        `checkpoint: the function reads a tensor ${fmtShape(closure.shape)} that ${
          closure._tr ? "grad differentiates" : "an enclosing vmap batches"
        } from its closure; it runs without ` +
          `rematerialisation (its gradient stays right): pass such tensors as arguments to save the memory (shown once)`,
      );
    }
    return unpack(call(...leaves.flat()));
  };
}

/** checkpoint's result leaves raveled into one vector; they must share one float dtype. */
function pack(y: unknown): Tensor {
  const ls = treeLeaves(y);
  if (ls.length === 0) {
    throw new ShapeError(`checkpoint: the function must return a tensor or a pytree of tensors, got ${describe(y)}`);
  }
  const dt = ls[0].dtype;
  const other = ls.find((t) => t.dtype !== dt || !isFloat(t.dtype));
  if (other) {
    throw new ShapeError(
      `checkpoint: the function's result holds ${dt} and ${other.dtype} tensors; a pytree result is rematerialised ` +
        `as one ${isFloat(dt) ? dt : "float"} vector, so its tensors must share one float dtype: cast them (astype), ` +
        `or compute the others outside the checkpoint`,
    );
  }
  return ls.length === 1 ? o.reshape(ls[0], [ls[0].size]) : o.concat(ls.map((t) => o.reshape(t, [t.size])));
}

/** The result's tree with its tensor leaves cut back out of the packed vector `v`, shaped as they were. */
function unpackLike(layout: { tree: unknown; shapes: number[][] }, v: Tensor): unknown {
  let at = 0;
  const parts = layout.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const part = o.reshape(o.slice(v, [[at, at + n]]), shape);
    at += n;
    return part;
  });
  return treeUnflatten(layout.tree, parts);
}

function describe(y: unknown): string {
  return y === null ? "null" : Array.isArray(y) ? `an array with no tensor` : typeof y;
}

/** Slice `t` at step `i` of axis 0. */
function step(t: Tensor, i: number): Tensor {
  return o.squeeze(o.slice(t, [[i, i + 1]]), 0);
}

/** What a scan body returns: `[carry, y]`, checked. */
function carryAndY<C, Y>(r: [C, Y]): [C, Y] {
  if (Array.isArray(r) && r.length === 2) return r;
  const got = r instanceof Tensor
    ? `a tensor ${fmtShape(r.shape)}`
    : Array.isArray(r)
    ? `an array of ${(r as unknown[]).length}`
    : r === null
    ? "null"
    : typeof r;
  throw new ShapeError(`scan: the body must return [carry, y] (y may be null), got ${got}`);
}

/** The carry a step returns must be laid out as `init`, leaf for leaf of the same shape and dtype (as JAX). */
function checkCarry(initLeaves: readonly Tensor[], init: unknown, c: unknown, k: number): void {
  const d = treeDifference(init, c);
  const leaves = treeLeaves(c);
  const bad = d === null ? initLeaves.findIndex((t, j) => !sameAval(t, leaves[j])) : -1;
  if (d === null && bad < 0) return;
  const why = d ??
    `at ${treePaths(init)[bad] || "the root"}: ${fmtShape(initLeaves[bad].shape)} ${initLeaves[bad].dtype} in, ${
      fmtShape(leaves[bad].shape)
    } ${leaves[bad].dtype} out`;
  throw new ShapeError(
    `scan: step ${k} returned a carry not laid out as init (${why}); the carry must keep its structure, shapes and ` +
      `dtypes from step to step: broadcast or cast init to the carry's form (or reduce what the body adds to it)`,
  );
}

function sameAval(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * A loop with state: for each slice `x` of `xs` along axis 0 (a pytree of tensors sharing that
 * length), `[carry, y] = f(carry, x)`; returns the last carry and the `y`s stacked along a new
 * axis 0 (pytrees allowed; with no steps, empty `[0, ...y.shape]` tensors from one run of `f` on
 * zeros). A plain number (boolean) in `y` is stacked too, into a float32 (bool) tensor `[n]`, as
 * `jax.lax.scan` stacks a Python scalar (JAX gives an `int` int32; JavaScript has one number type); a key in `y` becomes an
 * array of the steps' keys (JAX stacks a key array). With `xs` null, `length` steps run with `x` undefined. The carry keeps `init`'s structure,
 * shapes and dtypes (a step that changes them is a `ShapeError`, as in JAX). The body is
 * traced once (`jit`) and replayed for the other steps; differentiable through every step.
 * @example
 * ```ts
 * import { add, scan, type Tensor, tensor } from "@tangent/tangent";
 * const [total, running] = scan((c: Tensor, x: Tensor) => { const s = add(c, x); return [s, s]; },
 *   tensor(0), tensor([1, 2, 3])); // 6, [1, 3, 6]
 * ```
 */
export function scan<C, X, Y>(
  f: (carry: C, x: X) => [C, Y],
  init: C,
  xs: X | null,
  opts: { length?: number; reverse?: boolean } = {},
): [C, VmapOut<Y>] {
  checkFunction("scan", f, "the body");
  const xLeaves = xs === null ? [] : treeLeaves(xs);
  if (opts.length !== undefined && !(Number.isInteger(opts.length) && opts.length >= 0)) {
    throw new ShapeError(`scan: length = ${opts.length} must be a whole number of steps ≥ 0`);
  }
  let n = opts.length ?? (xLeaves.length ? xLeaves[0].shape[0] : undefined);
  if (n === undefined) throw new ShapeError(`scan: give xs with a leading axis, or opts.length when xs is null`);
  for (const t of xLeaves) {
    if (t.ndim === 0 || t.shape[0] !== n) {
      throw new ShapeError(`scan: every xs leaf needs leading extent ${n}, got shape [${t.shape.join(", ")}]`);
    }
  }
  n = n as number;
  if (n === 0) {
    // no step runs, but ys still has each y's shape behind a leading 0 (JAX traces the body for it)
    const x0 = (xs === null ? undefined : treeUnflatten(
      xs,
      xLeaves.map((t) => o.zeros(t.shape.slice(1), { dtype: t.dtype, like: t })),
    )) as X;
    const y0 = scalarsToTensors(undefined, carryAndY(f(init, x0))[1], xLeaves[0]);
    return [init, emptySteps(y0) as VmapOut<Y>];
  }
  // the body is traced once and replayed for the other steps (under grad or vmap it simply runs)
  const body = jit(f);
  const initLeaves = treeLeaves(init);
  let carry = init;
  const ys: Y[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = opts.reverse ? n - 1 - k : k;
    const x = (xs === null ? undefined : treeUnflatten(xs, xLeaves.map((t) => step(t, i)))) as X;
    const [c, y] = carryAndY(body(carry, x));
    checkCarry(initLeaves, init, c, k);
    carry = c;
    ys[i] = scalarsToTensors(undefined, y, xLeaves[0]) as Y;
  }
  return [carry, stackSteps(ys) as VmapOut<Y>];
}

/** `y` of no steps: each tensor as an empty `[0, ...shape]` one, each key as an empty array of keys. */
function emptySteps(y: unknown): unknown {
  if (y instanceof Tensor) return o.zeros([0, ...y.shape], { dtype: y.dtype, like: y });
  if (isKey(y)) return [];
  if (Array.isArray(y)) return y.map(emptySteps);
  if (!isPlainObject(y)) return y;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(y)) out[k] = emptySteps(y[k]);
  return out;
}

/** The steps' `y`s stacked leaf by leaf: tensors along a new axis 0, keys into an array of keys (one per step). */
function stackSteps(ys: readonly unknown[]): unknown {
  const y0 = ys[0];
  if (y0 instanceof Tensor) return o.stack(ys as Tensor[]);
  if (isKey(y0)) return [...ys];
  if (Array.isArray(y0)) return y0.map((_, j) => stackSteps(ys.map((y) => (y as unknown[])[j])));
  if (!isPlainObject(y0)) return y0;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(y0)) out[k] = stackSteps(ys.map((y) => (y as Record<string, unknown>)[k]));
  return out;
}

/**
 * `for (i = lower; i < upper; i++) carry = body(i, carry)`; returns the final carry (any pytree).
 * Differentiable through every step.
 * @example
 * ```ts
 * import { foriLoop, mul, tensor } from "@tangent/tangent";
 * foriLoop(0, 3, (_i, x) => mul(x, 2), tensor(1)); // 8
 * ```
 */
export function foriLoop<C>(lower: number, upper: number, body: (i: number, carry: C) => C, init: C): C {
  if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
    throw new ShapeError(`foriLoop: bounds ${lower}, ${upper} must be integers`);
  }
  checkFunction("foriLoop", body, "the body");
  let c = init;
  for (let i = lower; i < upper; i++) c = body(i, c);
  return c;
}
