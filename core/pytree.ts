/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors. Other values (numbers,
 * strings, null) pass through untouched.
 * @module
 */
import { ShapeError } from "./errors.ts";
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

/**
 * Whether `x` is a plain object (a pytree node with named children), not an array, tensor or class instance.
 * @internal
 */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
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

/**
 * The path of each tensor leaf, in `treeLeaves`' order: keys and array indices joined by dots
 * (`layers.0.A`), "" for a bare tensor; for messages that name a leaf.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { treePaths } from "./pytree.ts";
 * treePaths({ b: [tensor([1])], a: tensor([2]) }); // ["a", "b.0"]
 * ```
 */
export function treePaths(tree: unknown): string[] {
  const out: string[] = [];
  const join = (path: string, k: string | number) => (path === "" ? `${k}` : `${path}.${k}`);
  const walk = (t: unknown, path: string) => {
    if (t instanceof Tensor) out.push(path);
    else if (Array.isArray(t)) t.forEach((c, j) => walk(c, join(path, j)));
    else if (isPlainObject(t)) { for (const k of Object.keys(t).sort()) walk(t[k], join(path, k)); }
  };
  walk(tree, "");
  return out;
}

/** Whether a subtree holds any tensor (subtrees without tensors do not count as structure). */
function hasTensor(t: unknown): boolean {
  if (t instanceof Tensor) return true;
  if (Array.isArray(t)) return t.some(hasTensor);
  if (isPlainObject(t)) return Object.values(t).some(hasTensor);
  return false;
}

function fmtPath(path: string): string {
  return path === "" ? "the root" : path;
}

/**
 * The first place where `b`'s tensors are not laid out as `a`'s (keys, array lengths, tensor or
 * not), described with both sides' names; null when their tensor leaves correspond one to one.
 * Subtrees without tensors (numbers, strings, configs) are ignored.
 * @example
 * ```ts
 * import { tensor, treeDifference } from "@tangent/tangent";
 * treeDifference({ w: tensor([1]) }, { v: tensor([1]) }); // "at the root: keys [w] vs [v]"
 * ```
 */
export function treeDifference(a: unknown, b: unknown, path = ""): string | null {
  const ta = a instanceof Tensor, tb = b instanceof Tensor;
  if (ta || tb) {
    if (ta && tb) return null;
    return `at ${fmtPath(path)}: ${ta ? "a tensor" : hasTensor(a) ? "a tree" : "no tensor"} vs ${
      tb ? "a tensor" : hasTensor(b) ? "a tree" : "no tensor"
    }`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ia = a.flatMap((v, i) => (hasTensor(v) ? [i] : [])), ib = b.flatMap((v, i) => (hasTensor(v) ? [i] : []));
    if (ia.length !== ib.length || ia.some((v, i) => v !== ib[i])) {
      return `at ${fmtPath(path)}: tensors at indices [${ia.join(", ")}] vs [${ib.join(", ")}]`;
    }
    for (const i of ia) {
      const d = treeDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => hasTensor(a[k])).sort();
    const kb = Object.keys(b).filter((k) => hasTensor(b[k])).sort();
    if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
      return `at ${fmtPath(path)}: keys [${ka.join(", ")}] vs [${kb.join(", ")}]`;
    }
    for (const k of ka) {
      const d = treeDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  if (!hasTensor(a) && !hasTensor(b)) return null;
  const kind = (t: unknown) => (Array.isArray(t) ? "an array" : isPlainObject(t) ? "an object" : "no tensor");
  return `at ${fmtPath(path)}: ${kind(a)} vs ${kind(b)}`;
}

/**
 * Rebuilds `tree` with its tensor leaves replaced, in `treeLeaves` order, by `leaves`: one per
 * tensor leaf (a ShapeError otherwise, as JAX's `tree_unflatten` raises; the tree's non-tensor
 * values are kept).
 * @example
 * ```ts
 * import { tensor, treeLeaves, treeUnflatten } from "@tangent/tangent";
 * const tree = { w: tensor([1, 2]), b: [tensor(0), "name"] };
 * const back = treeUnflatten(tree, treeLeaves(tree).map((t) => t.mul(2))); // { b: [0, "name"], w: [2, 4] }
 * ```
 */
export function treeUnflatten<T>(tree: T, leaves: readonly unknown[]): T {
  if (!Array.isArray(leaves)) {
    throw new ShapeError(`treeUnflatten: leaves must be an array (one value per tensor leaf), got ${typeof leaves}`);
  }
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
  const out = walk(tree) as T;
  if (i !== leaves.length) {
    throw new ShapeError(
      `treeUnflatten: the tree has ${i} tensor leaves but ${leaves.length} values were given; ` +
        `pass one value per tensor leaf, in treeLeaves(tree) order`,
    );
  }
  return out;
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
  rest.forEach((r, i) => {
    const d = treeDifference(tree, r);
    if (d) {
      throw new ShapeError(
        `treeMap: tree ${i + 1} is not laid out as the first (${treeLeaves(tree).length} vs ${
          treeLeaves(r).length
        } tensors), ${d}; pass trees of one structure`,
      );
    }
  });
  const others = rest.map(treeLeaves);
  const leaves = treeLeaves(tree).map((l, i) => fn(l, ...others.map((o) => o[i])));
  return treeUnflatten(tree, leaves);
}
