/**
 * `vmap`: a function of one example made a function of a batch. While `f` runs, each batched
 * argument is a tensor with one example's shape whose elements live in a batched value (batch axis
 * first); `bind` is interpreted by applying the primitive's batching rule (autodiff/batching.ts)
 * to the batched values. Nested vmaps are levels (the innermost active one interprets first), and
 * a `grad` inside or outside records as usual, so vmap composes with grad, jvp, jit and itself.
 * @module
 */
import { checkFunction, fmtShape, ShapeError } from "../core/errors.ts";
import type { Aval } from "../core/backend/backend.ts";
import { type Primitive, withInterpreter } from "../core/primitive.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
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

let nextLevel = 1;
const activeLevels = new Set<number>();

/** A tensor with one example's shape whose elements are `value`'s (batch axis first) at `level`. */
function wrap(value: Tensor, level: number): Tensor {
  const t = new Tensor(value._storage, value.shape.slice(1), value.dtype);
  t._bt = { level, value };
  return t;
}

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
 * @example
 * ```ts
 * import { dot, grad, mean, square, sub, type Tensor, tensor, vmap } from "@tangent/tangent";
 * const loss = (w: Tensor, x: Tensor, y: Tensor) => square(sub(dot(w, x), y));
 * const w = tensor([1, 2]), xs = tensor([[1, 0], [0, 1], [1, 1]]), ys = tensor([0, 0, 0]);
 * const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, xs, ys); // shape [3, 2]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function vmap<F extends (...args: any[]) => any>(f: F, opts: VmapOptions = {}): F {
  checkFunction("vmap", f);
  // deno-lint-ignore no-explicit-any
  return ((...args: any[]) => {
    const inAxes = opts.inAxes;
    const perArg: (AxisSpec | undefined)[] = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes);
    if (perArg.length !== args.length) {
      throw new ShapeError(
        `vmap: inAxes lists ${perArg.length} entries for ${args.length} arguments; give one per argument`,
      );
    }
    let size = -1;
    const plan = args.map((a, i) => {
      const leaves = treeLeaves(a);
      const axes = axesOf(perArg[i], a, `argument ${i}`);
      axes.forEach((ax, j) => {
        if (ax === null) return;
        const t = leaves[j];
        const d = t.shape[normAxis(ax, t.ndim, `argument ${i} ${fmtShape(t.shape)}`)];
        if (size >= 0 && d !== size) {
          throw new ShapeError(
            `vmap: batch sizes differ: argument ${i} ${fmtShape(t.shape)} has ${d} along axis ${ax}, ` +
              `another argument ${size}; batch every argument over the same number of examples`,
          );
        }
        size = d;
      });
      return { leaves, axes };
    });
    if (size < 0) {
      throw new ShapeError(`vmap: no argument is batched (every inAxes entry is null); batch at least one`);
    }
    const level = nextLevel++;
    activeLevels.add(level);
    try {
      const wrapped = args.map((a, i) => {
        const { leaves, axes } = plan[i];
        if (leaves.length === 0) return a;
        return treeUnflatten(
          a,
          leaves.map((t, j) => {
            const ax = axes[j];
            return ax === null ? t : wrap(moveAxis(t, normAxis(ax, t.ndim, "argument"), 0), level);
          }),
        );
      });
      const out = withInterpreter(interpreter(level, size), () => f(...wrapped));
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
      return out instanceof Tensor ? done[0] : treeUnflatten(out, done);
    } finally {
      activeLevels.delete(level);
    }
  }) as F;
}

/** Names of the primitives with batching rules (all of them; for tests). */
export const BATCHED_PRIMITIVES: readonly PrimitiveName[] = Object.keys(BATCH_RULES) as PrimitiveName[];
