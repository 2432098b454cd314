/**
 * `vmap`: a function of one example made a function of a batch. While `f` runs, each batched
 * argument is a tensor with one example's shape whose elements live in a batched value (batch axis
 * first); `bind` is interpreted by applying the primitive's batching rule (autodiff/batching.ts)
 * to the batched values. Nested vmaps are levels (the innermost active one interprets first), and
 * a `grad` inside or outside records as usual, so vmap composes with grad, jvp, jit and itself.
 * An array of keys whose axis is a number is one key per example: a batched key (core/random.ts)
 * whose draws are tensors batched at this level.
 * @module
 */
import { checkFunction, fmtShape, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import type { Aval } from "../core/backend/backend.ts";
import { customVjpBatching, customVjpChecked } from "../core/custom_vjp.ts";
import { liveVmapLevels, type Primitive, withInterpreter } from "../core/primitive.ts";
import { isPlainObject, treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { batchedKey, isKey, type Key, wrapAt as wrap } from "../core/random.ts";
import { Tensor } from "../core/tensor.ts";
import * as o from "../core/ops/mod.ts";
import { BATCH_RULES, repeat } from "./batching.ts";
import type { PrimitiveName } from "./rules.ts";

/** An axis per argument or output: a number (negative from the end), `null` (not batched), or a pytree of them. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [k: string]: AxisSpec };

/** Options of {@linkcode vmap}. */
export interface VmapOptions {
  /**
   * Where each argument's batch axis is: one spec for all arguments, or an array with one per
   * argument; a spec is a number, `null` (the argument is shared by every example) or a pytree of
   * them matching the argument's structure (a prefix: a number applies to a whole subtree).
   * Default 0.
   */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in each output (same forms; default 0; `null` for an unbatched output). */
  outAxes?: AxisSpec;
}

/**
 * What `vmap(f)` takes where `f` takes a `T`: the same, except that a key may also come as an array
 * of keys (one per example), in pytrees too.
 */
export type VmapArg<T> = 0 extends (1 & T) ? T
  : T extends Tensor ? T
  : T extends Key ? T | readonly Key[]
  : T extends (...args: never[]) => unknown ? T
  : T extends readonly unknown[] ? { [I in keyof T]: VmapArg<T[I]> }
  : T extends object ? { [K in keyof T]: VmapArg<T[K]> }
  : T;

/**
 * What `vmap(f)` returns where `f` returns a `T`: the same, except that a returned key comes back
 * as an array of keys (one per example; `Key[]` becomes `Key[][]`) and a returned number or boolean
 * as a tensor (one element per example), in pytrees too. (A key, number or boolean returned with
 * `outAxes` `null` stays as it is: cast it.)
 */
export type VmapOut<T> = 0 extends (1 & T) ? T
  : T extends Tensor ? T
  : T extends number | boolean ? Tensor
  : T extends Key ? Key[]
  : T extends (...args: never[]) => unknown ? T
  : T extends readonly unknown[] ? { [I in keyof T]: VmapOut<T[I]> }
  : T extends object ? { [K in keyof T]: VmapOut<T[K]> }
  : T;

/** The type of `vmap(f)` for `f` of type `F`: arguments as {@linkcode VmapArg}, result as {@linkcode VmapOut}. */
export type Vmapped<F> = F extends (...args: infer A) => infer R
  ? (...args: { [I in keyof A]: VmapArg<A[I]> }) => VmapOut<R>
  : F;

let nextLevel = 1;

/** The batched value of `t` at `level` (batch first), or null when `t` is not batched there. */
function batchedAt(t: Tensor, level: number): Tensor | null {
  return t._bt && t._bt.level === level ? t._bt.value : null;
}

/** The interpreter of the vmap at `level`. */
function interpreter(level: number, size: number) {
  return (prim: Primitive<unknown>, inputs: readonly Tensor[], params: unknown, outAvals: readonly Aval[]) => {
    let any = false;
    const batched = inputs.map((t) => {
      const b = t._bt !== undefined && t._bt.level === level;
      any ||= b;
      return b;
    });
    if (!any) return undefined;
    const rule = (BATCH_RULES as Record<string, unknown>)[prim.name] as
      | ((a: Tensor[], b: boolean[], p: unknown, s: number) => Tensor[])
      | undefined;
    if (!rule) {
      throw new ShapeError(
        `vmap: ${prim.name} has no batching rule (inputs ${inputs.map((t) => fmtShape(t.shape)).join(", ")}); ` +
          `compute it per example in a loop, or compose it from primitives that have one`,
      );
    }
    const outs = rule(inputs.map((t, i) => (batched[i] ? t._bt!.value : t)), batched, params, size);
    return outs.map((v, i) => {
      const want = outAvals[i];
      if (v.shape[0] !== size || v.ndim !== want.shape.length + 1 || want.shape.some((d, j) => d !== v.shape[j + 1])) {
        throw new ShapeError(
          `vmap: the batching rule of ${prim.name} gave ${fmtShape(v.shape)} for output ${i}, expected ` +
            `${fmtShape([size, ...want.shape])}`,
        );
      }
      return wrap(v, level);
    });
  };
}

/** Spreads `spec` over `tree`'s leaves (a number or null covers a whole subtree). */
function axesOf(spec: AxisSpec | undefined, tree: unknown, what: string): (number | null)[] {
  const n = treeLeaves(tree).length;
  if (spec === undefined) return Array(n).fill(0);
  if (spec === null || typeof spec === "number") return Array(n).fill(spec);
  if (tree instanceof Tensor) {
    throw new ShapeError(`vmap: ${what} is a tensor but its axis spec is a ${Array.isArray(spec) ? "list" : "tree"}`);
  }
  const out: (number | null)[] = [];
  if (Array.isArray(spec)) {
    if (!Array.isArray(tree) || tree.length !== spec.length) {
      throw new ShapeError(
        `vmap: ${what}: the axis spec lists ${spec.length} entries for ${
          Array.isArray(tree) ? `${tree.length} elements` : "a value that is not an array"
        }; give one axis (or null) per element`,
      );
    }
    spec.forEach((s, i) => out.push(...axesOf(s, tree[i], `${what}[${i}]`)));
    return out;
  }
  if (tree === null || typeof tree !== "object" || Array.isArray(tree)) {
    throw new ShapeError(
      `vmap: ${what}: the axis spec is an object of keys but the argument is ${
        Array.isArray(tree) ? "an array" : tree === null ? "null" : typeof tree
      }; give a number or null for it`,
    );
  }
  const obj = tree as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  const extra = Object.keys(spec).find((k) => !(k in obj));
  if (extra !== undefined) {
    throw new ShapeError(
      `vmap: ${what}: the axis spec has an entry for key "${extra}", which the argument lacks (its keys: ${
        keys.join(", ")
      }); give the spec the argument's keys`,
    );
  }
  for (const k of keys) {
    if (!(k in spec)) throw new ShapeError(`vmap: ${what}: the axis spec has no entry for key "${k}"`);
    out.push(...axesOf((spec as Record<string, AxisSpec>)[k], obj[k], `${what}.${k}`));
  }
  return out;
}

function normAxis(a: number, ndim: number, what: string): number {
  const r = a < 0 ? a + ndim : a;
  if (!Number.isInteger(r) || r < 0 || r >= ndim) {
    throw new ShapeError(`vmap: axis ${a} of ${what} is out of range for ${ndim} axes`);
  }
  return r;
}

/** The shape of a key array (a key `[]`, `Key[]` `[n]`, `Key[][]` `[n, m]`), or null when `x` is none. */
function keyArrayShape(x: unknown): number[] | null {
  if (isKey(x)) return [];
  if (!Array.isArray(x) || x.length === 0) return null;
  const subs = x.map(keyArrayShape);
  const s0 = subs[0];
  if (s0 === null || subs.some((s) => s === null || s.length !== s0.length || s.some((d, j) => d !== s0[j]))) {
    return null;
  }
  return [x.length, ...s0];
}

const kindOf = (x: unknown): string =>
  isKey(x)
    ? "a key"
    : x instanceof Tensor
    ? `a tensor ${fmtShape(x.shape)}`
    : Array.isArray(x)
    ? (keyArrayShape(x) ? `keys ${fmtShape(keyArrayShape(x)!)}` : "an array")
    : x === null
    ? "null"
    : typeof x;

/** A key node of a tree: its place, key array shape and axis. */
type KeyVisit = (node: unknown, shape: number[], axis: number | null, what: string) => unknown;

/**
 * Rebuilds `tree` with each key array under a number or null of `spec` replaced by `visit`'s result
 * (an array of keys is one node; a key alone is a node of shape []). On the inputs (`strict`), an
 * array mixing keys with other values, or key arrays of different shapes, is a ShapeError.
 */
function mapKeys(spec: AxisSpec | undefined, tree: unknown, what: string, strict: boolean, visit: KeyVisit): unknown {
  if (spec === undefined || spec === null || typeof spec === "number") {
    const ax = spec === undefined ? 0 : spec;
    const walk = (t: unknown, at: string): unknown => {
      if (t instanceof Tensor) return t;
      const shape = keyArrayShape(t);
      if (shape) return visit(t, shape, ax, at);
      if (Array.isArray(t)) {
        if (strict && ax !== null) {
          const keyish = t.filter((c) => keyArrayShape(c) !== null);
          if (keyish.length > 0 && (keyish.length < t.length ? t.some(isKey) : true)) {
            throw new ShapeError(
              `vmap: ${at} is an array of ${t.map(kindOf).join(", ")} with inAxes ${ax}: ` +
                (keyish.length < t.length
                  ? "it mixes keys with other values; vmap batches an array of keys only (one key per example, " +
                    "e.g. split(k, n)): pass the keys as an array of their own, or give a key shared by every " +
                    "example the inAxes entry null"
                  : "its key arrays differ in shape (an array of key arrays is one key array); give every " +
                    "example the same number of keys, or give this array an inAxes list with one entry per element"),
            );
          }
        }
        return t.map((c, i) => walk(c, `${at}[${i}]`));
      }
      if (isPlainObject(t)) {
        const o: Record<string, unknown> = {};
        for (const k of Object.keys(t)) o[k] = walk(t[k], `${at}.${k}`);
        return o;
      }
      return t;
    };
    return walk(tree, what);
  }
  if (Array.isArray(spec)) {
    return (tree as unknown[]).map((c, i) => mapKeys(spec[i], c, `${what}[${i}]`, strict, visit));
  }
  const obj = tree as Record<string, unknown>, o: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    o[k] = mapKeys((spec as Record<string, AxisSpec>)[k], obj[k], `${what}.${k}`, strict, visit);
  }
  return o;
}

/** The element of a nested array at `idx`. */
const at = (x: unknown, idx: readonly number[]): unknown => idx.reduce((y: unknown, i) => (y as unknown[])[i], x);

/** Builds a nested array of `shape` whose element at `idx` is `f(idx)`. */
function build(shape: readonly number[], f: (idx: number[]) => unknown, prefix: number[] = []): unknown {
  if (prefix.length === shape.length) return f(prefix);
  return Array.from({ length: shape[prefix.length] }, (_, j) => build(shape, f, [...prefix, j]));
}

/** An input key array of `shape` batched along `axis` as keys of one example's shape, batched at `level`. */
function batchKeys(node: unknown, shape: number[], axis: number, level: number): unknown {
  const rest = shape.filter((_, j) => j !== axis);
  return build(rest, (idx) =>
    batchedKey(
      level,
      Array.from({ length: shape[axis] }, (_, i) => at(node, [...idx.slice(0, axis), i, ...idx.slice(axis)]) as Key),
    ));
}

/** An output key array: the examples of its keys batched at `level` along `axis` (unbatched ones repeated). */
function unbatchKeys(node: unknown, shape: number[], axis: number | null, level: number, size: number, what: string) {
  const here = (k: unknown) => (k as Key)._bk?.level === level;
  if (axis === null) {
    const keys: unknown[] = [];
    build(shape, (idx) => keys.push(at(node, idx)));
    if (keys.some(here)) {
      throw new ShapeError(
        `vmap: ${what} holds keys that differ per example but its outAxes entry is null; give it an axis`,
      );
    }
    return node;
  }
  const a = normAxis(axis, shape.length + 1, `${what} (keys ${fmtShape(shape)})`);
  const full = [...shape.slice(0, a), size, ...shape.slice(a)];
  return build(full, (idx) => {
    const k = at(node, [...idx.slice(0, a), ...idx.slice(a + 1)]) as Key;
    return here(k) ? k._bk!.keys[idx[a]] : k;
  });
}

/**
 * `tree` with each number or boolean leaf under a number (or the default) of `spec` made a scalar
 * tensor on `like`'s backend (float32 for a number, bool for a boolean), which vmap then repeats
 * along the batch axis, as `jax.vmap` broadcasts a Python scalar the function returns. Keys, strings,
 * null and leaves under a `null` entry stay as they are; a spec that does not fit is left to
 * `axesOf` to report.
 * @internal
 */
export function scalarsToTensors(spec: AxisSpec | undefined, tree: unknown, like: Tensor | undefined): unknown {
  if (spec === null) return tree;
  if (typeof tree === "number") return o.full([], tree, { like });
  if (typeof tree === "boolean") return o.full([], tree ? 1 : 0, { dtype: "bool", like });
  if (tree instanceof Tensor || isKey(tree)) return tree;
  if (spec === undefined || typeof spec === "number") {
    if (Array.isArray(tree)) return tree.map((c) => scalarsToTensors(spec, c, like));
    if (!isPlainObject(tree)) return tree;
    const obj: Record<string, unknown> = {};
    for (const k of Object.keys(tree)) obj[k] = scalarsToTensors(spec, tree[k], like);
    return obj;
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(tree) || tree.length !== spec.length) return tree;
    return tree.map((c, i) => scalarsToTensors(spec[i], c, like));
  }
  if (!isPlainObject(tree)) return tree;
  const obj: Record<string, unknown> = {};
  for (const k of Object.keys(tree)) {
    const sub = (spec as Record<string, AxisSpec>)[k];
    obj[k] = sub === undefined ? tree[k] : scalarsToTensors(sub, tree[k], like);
  }
  return obj;
}

/** Moves axis `from` of `x` to position `to`. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = [...Array(x.ndim).keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  return o.transpose(x, perm);
}

/**
 * Vectorises `f` over a batch axis: `vmap(f)(xs)` is `stack([f(xs[0]), f(xs[1]), …])`, computed as
 * one batched call of each primitive instead of a loop. `inAxes` says where each argument's batch
 * axis is (`null`: shared by every example; pytrees allowed), `outAxes` where it goes in the
 * outputs. Composes with `grad` in either order: `vmap(grad(loss), { inAxes: [null, 0, 0] })(params,
 * x, y)` gives per-example gradients.
 *
 * Random keys batch too: an array of keys (`split(k, n)`; `Key[][]` is a key array of two axes) whose
 * `inAxes` entry is a number is one key per example, and `uniform`, `normal`, `randomBits`, `split`
 * and `foldIn` draw each example with its own key, bit for bit what a loop over the keys draws (as
 * `jax.vmap` over `jax.random.split`): per-example dropout masks, noise, ensembles. A key given
 * `null` is shared (every example draws the same numbers); a single key with a number is refused.
 * Keys `f` returns come back as arrays (`Key[]` per returned key, `Key[][]` per returned `Key[]`,
 * the batch axis where `outAxes` puts it), plain keys usable anywhere; a key batched by a vmap cannot
 * be used after that vmap returns.
 *
 * A plain number or boolean `f` returns (in a pytree too) is broadcast along the batch axis as
 * `jax.vmap` broadcasts a Python scalar: `vmap(() => 1)(ones([3]))` is a float32 tensor `[1, 1, 1]`
 * (a boolean gives a bool tensor). JavaScript has one number type, so an integer comes back float32
 * where JAX gives a Python `int` int32; make it `tensor(n, { dtype: "int32" })` for that. Under an
 * `outAxes` entry `null` it is returned as it is (as JAX does). Strings, `null` and `undefined` pass
 * through unchanged (JAX refuses a string).
 * @example
 * ```ts
 * import { dot, grad, mean, square, sub, type Tensor, tensor, vmap } from "@tangent/tangent";
 * const loss = (w: Tensor, x: Tensor, y: Tensor) => square(sub(dot(w, x), y));
 * const w = tensor([1, 2]), xs = tensor([[1, 0], [0, 1], [1, 1]]), ys = tensor([0, 0, 0]);
 * const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, xs, ys); // shape [3, 2]
 * ```
 * @example Per-example randomness: one key per example
 * ```ts
 * import { greater, key, type Key, mul, normal, split, type Tensor, tensor, uniform, vmap } from "@tangent/tangent";
 * const noise = vmap((k: Key) => normal(k, [3]))(split(key(0), 5)); // [5, 3]; row i is normal(split(key(0), 5)[i], [3])
 * const dropout = (x: Tensor, k: Key) => mul(x, greater(uniform(k, x.shape), 0.5).astype(x.dtype)).div(0.5);
 * const xs = tensor([[1, 2, 3, 4], [5, 6, 7, 8]]);
 * const masked = vmap(dropout)(xs, split(key(1), 2)); // a different mask per row
 * const same = vmap(dropout, { inAxes: [0, null] })(xs, key(1)); // one mask shared by both rows
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vmap<F extends (...args: any[]) => any>(f: F, opts: VmapOptions = {}): Vmapped<F> {
  checkFunction("vmap", f);
  checkOptions("vmap", opts, optionKeys<VmapOptions>({ inAxes: true, outAxes: true }), "{ inAxes: [0, null] }");
  // deno-lint-ignore no-explicit-any
  return ((...args: any[]) => {
    const inAxes = opts.inAxes;
    const perArg: (AxisSpec | undefined)[] = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes);
    if (perArg.length !== args.length) {
      throw new ShapeError(
        `vmap: inAxes lists ${perArg.length} entries for ${args.length} arguments; give one per argument`,
      );
    }
    let size = -1, sizeFrom = "", sizeFromKeys = false;
    const setSize = (d: number, from: string, keys: boolean) => {
      if (size >= 0 && d !== size) {
        throw new ShapeError(
          `vmap: batch sizes differ: ${from} has ${d}, ${sizeFrom} has ${size}; batch every argument over the ` +
            `same number of examples${
              keys || sizeFromKeys
                ? ` (split(k, ${
                  keys ? size : d
                }) gives one key per example; a key shared by every example takes inAxes null)`
                : ""
            }`,
        );
      }
      if (size < 0) [size, sizeFrom, sizeFromKeys] = [d, from, keys];
    };
    const plan = args.map((a, i) => {
      const leaves = treeLeaves(a);
      const axes = axesOf(perArg[i], a, `argument ${i}`);
      axes.forEach((ax, j) => {
        if (ax === null) return;
        const t = leaves[j];
        const d = t.shape[normAxis(ax, t.ndim, `argument ${i} ${fmtShape(t.shape)}`)];
        setSize(d, `argument ${i} ${fmtShape(t.shape)} along axis ${ax}`, false);
      });
      let keyed = false;
      mapKeys(perArg[i], a, `argument ${i}`, true, (node, shape, ax, what) => {
        if (ax === null) return node;
        if (shape.length === 0) {
          throw new ShapeError(
            `vmap: ${what} is a single key with inAxes ${ax}${
              (node as Key)._bk ? " (batched by an enclosing vmap: one key per example of that one)" : ""
            }; vmap batches an array of keys, one per example (e.g. split(k, n)); give it inAxes null to share ` +
              `it (every example then draws the same numbers)`,
          );
        }
        const axis = normAxis(ax, shape.length, `${what} (keys ${fmtShape(shape)})`);
        setSize(shape[axis], `${what} (keys ${fmtShape(shape)}) along axis ${ax}`, true);
        keyed = true;
        return node;
      });
      return { leaves, axes, keyed };
    });
    if (size < 0 && perArg.some((ax) => ax !== null)) {
      // numbered entries, but over no tensor or key: an empty array (split(k, 0)) has no batch size to take
      const i = perArg.findIndex((ax) => ax !== null);
      const a: unknown = args[i];
      const what = Array.isArray(a)
        ? (a.length ? "an array with no tensor or key" : "an empty array")
        : a === null || typeof a !== "object"
        ? `${typeof a === "object" || typeof a === "undefined" ? "" : "the " + typeof a + " "}${String(a)}`
        : "an object with no tensor or key";
      throw new ShapeError(
        `vmap: no batched argument holds a tensor or key (argument ${i} is ${what}), so there is no batch size; ` +
          `an array of no keys (split(k, 0)) or of no tensors gives vmap nothing to count zero examples by: ` +
          `handle zero examples outside vmap, or batch a tensor with a leading 0 extent`,
      );
    }
    if (size < 0) {
      throw new ShapeError(`vmap: no argument is batched (every inAxes entry is null); batch at least one`);
    }
    const level = nextLevel++;
    liveVmapLevels.add(level);
    try {
      const wrapped = args.map((a0, i) => {
        const { leaves, axes, keyed } = plan[i];
        const a = keyed
          ? mapKeys(
            perArg[i],
            a0,
            `argument ${i}`,
            true,
            (
              node,
              shape,
              ax,
            ) => (ax === null ? node : batchKeys(node, shape, normAxis(ax, shape.length, ""), level)),
          )
          : a0;
        if (leaves.length === 0) return a;
        return treeUnflatten(
          a,
          leaves.map((t, j) => {
            const ax = axes[j];
            return ax === null ? t : wrap(moveAxis(t, normAxis(ax, t.ndim, "argument"), 0), level);
          }),
        );
      });
      const like = plan.flatMap((p) => p.leaves.filter((_, j) => p.axes[j] !== null))[0];
      const out = scalarsToTensors(
        opts.outAxes,
        withInterpreter(interpreter(level, size), () => f(...wrapped)),
        like,
      );
      const outLeaves = treeLeaves(out);
      const outAxes = axesOf(opts.outAxes, out, "the output");
      const done = outLeaves.map((t, j) => {
        const v = batchedAt(t, level);
        const ax = outAxes[j];
        if (ax === null) {
          if (v) {
            throw new ShapeError(
              `vmap: output ${j} ${fmtShape(t.shape)} depends on the batch but its outAxes entry is null; ` +
                `give it an axis`,
            );
          }
          return t;
        }
        const full = v ?? repeat(t, size);
        return moveAxis(full, 0, normAxis(ax, full.ndim, `output ${j}`));
      });
      if (out instanceof Tensor) return done[0];
      return mapKeys(
        opts.outAxes,
        treeUnflatten(out, done),
        "the output",
        false,
        (node, shape, ax, what) => unbatchKeys(node, shape, ax, level, size, what),
      );
    } finally {
      liveVmapLevels.delete(level);
    }
  }) as Vmapped<F>;
}

/**
 * A customVjp whose arguments this level batches runs on the batched values: `f` and `bwd` vmapped
 * (the cotangent of an argument shared by every example summed over the batch), applied as one
 * customVjp there, so a `grad` outside the vmap records it (it saw only the per-example application,
 * whose outputs it could not follow into the batch: a zero gradient).
 */
customVjpBatching.rule = (level, xs, f, bwd, name) => {
  const axes = xs.map((x) => (x._bt?.level === level ? 0 : null));
  const values = xs.map((x) => (x._bt?.level === level ? x._bt.value : x));
  const batchedF = (...vs: Tensor[]) => vmap(f, { inAxes: axes })(...vs.map((v) => v._alias())); // forward unrecorded
  const batchedBwd = (ct: Tensor, out: Tensor, ...vs: Tensor[]) => {
    const cts = vmap((c: Tensor, y: Tensor, ...e: Tensor[]) => bwd(c, y, ...e), { inAxes: [0, 0, ...axes] })(
      ct,
      out,
      ...vs,
    ) as (Tensor | null)[];
    return cts.map((c, i) => (c === null || axes[i] === 0 ? c : o.sum(c, { axis: 0 })));
  };
  return wrap(customVjpChecked(batchedF, batchedBwd, name, false)(...values), level);
};

/** Names of the primitives with batching rules (all of them; for tests). */
export const BATCHED_PRIMITIVES: readonly PrimitiveName[] = Object.keys(BATCH_RULES) as PrimitiveName[];
