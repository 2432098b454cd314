/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors. Other values (numbers,
 * strings, null) pass through untouched.
 * @module
 */
import { Tensor } from "./tensor.ts";

/** A nested structure of arrays and plain objects with tensor leaves. */
export type Tree =
  | Tensor
  | readonly Tree[]
  | { readonly [k: string]: Tree }
  | number
  | string
  | boolean
  | null
  | undefined;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object" || x instanceof Tensor) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** The tensor leaves in a fixed order (arrays by index, objects by sorted key). */
export function treeLeaves(tree: unknown): Tensor[] {
  const out: Tensor[] = [];
  const walk = (t: unknown) => {
    if (t instanceof Tensor) out.push(t);
    else if (Array.isArray(t)) t.forEach(walk);
    else if (isPlainObject(t)) { for (const k of Object.keys(t).sort()) walk(t[k]); }
  };
  walk(tree);
  return out;
}

/** Rebuilds `tree` with its tensor leaves replaced, in `treeLeaves` order, by `leaves`. */
export function treeUnflatten<T>(tree: T, leaves: readonly unknown[]): T {
  let i = 0;
  const walk = (t: unknown): unknown => {
    if (t instanceof Tensor) return leaves[i++];
    if (Array.isArray(t)) return t.map(walk);
    if (isPlainObject(t)) {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(t).sort()) o[k] = walk(t[k]);
      return o;
    }
    return t;
  };
  return walk(tree) as T;
}

/**
 * Applies `fn` to corresponding tensor leaves of one or more trees of the same structure.
 * @example
 * ```ts
 * import { mul, type Tensor, tensor, treeMap } from "@tangent/tangent";
 * const halved = treeMap((p: Tensor) => mul(p, 0.5), { w: tensor([2, 4]), b: [tensor(1)] });
 * ```
 */
// deno-lint-ignore no-explicit-any
export function treeMap<T>(fn: (...leaves: any[]) => unknown, tree: T, ...rest: unknown[]): T {
  const others = rest.map(treeLeaves);
  const leaves = treeLeaves(tree).map((l, i) => fn(l, ...others.map((o) => o[i])));
  return treeUnflatten(tree, leaves);
}
