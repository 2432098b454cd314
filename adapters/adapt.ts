/**
 * `adapt`: one adapter on every linear layer of a model whose path matches a target.
 * @module
 */
import { FormatError } from "../core/errors.ts";
import { requireOptions } from "../core/options.ts";
import { add, full } from "../core/ops/mod.ts";
import { foldIn, type Key, key as makeKey } from "../core/random.ts";
import { Tensor } from "../core/tensor.ts";
import { type Adapter, type LinearBase, onBaseBackend, type PeftNameOptions, tangentTensorNames } from "./adapter.ts";

/** Which modules to adapt: PEFT-style names (a module whose path equals or ends in `.name`; a string may list several, comma-separated), a RegExp on the path, or a predicate. */
export type AdaptTarget = string | readonly string[] | RegExp | ((path: string) => boolean);

/** Options of `adapt`. */
export interface AdaptOptions<P, F extends LinearBase> {
  /** Modules to adapt (a module is an object with a 2-D `weight` tensor and an optional `bias`). */
  target: AdaptTarget;
  /** The adapter applied to each of them. */
  adapter: Adapter<P, F>;
  /** Key for the adapters' init; layer i uses `foldIn(key, i)` (default `key(0)`). */
  key?: Key;
}

/** A model with adapters on its target layers. Paths are dot-joined keys (`layers.0.q_proj`). */
export interface Adapted<P, F extends LinearBase> {
  /** The adapter. */
  readonly adapter: Adapter<P, F>;
  /** The adapted modules' paths, in model order. */
  readonly paths: readonly string[];
  /** Trainable parameters by module path (a pytree: differentiate or optimise it as a whole). */
  readonly params: Record<string, P>;
  /** Frozen tensors by module path. */
  readonly frozen: Record<string, F>;
  /** The adapted layer at `path` on `x`: `adapter.apply(params[path], frozen[path], x)`. */
  apply(params: Record<string, P>, path: string, x: Tensor): Tensor;
  /**
   * The model's parameters with each adapted module's weight replaced by `adapter.merge(...)`
   * (differentiable in `params`); other entries are passed through.
   */
  merge(params: Record<string, P>): unknown;
  /** Sum of the layers' regularisers. */
  regularizer(params: Record<string, P>): Tensor;
  /** Trainable scalars over all layers. */
  trainableCount(params: Record<string, P>): number;
  /**
   * PEFT names: `base_model.model.<path>.<tensor>` (prefix replaceable); for an adapter without
   * `toPeft`, `<tensor>` is each param's pytree path (`tangentTensorNames`).
   */
  toPeft(tree: Record<string, P>, opts?: PeftNameOptions): Record<string, Tensor>;
}

function isModule(x: unknown): x is LinearBase {
  return x !== null && typeof x === "object" && !(x instanceof Tensor) && (x as LinearBase).weight instanceof Tensor &&
    (x as LinearBase).weight.ndim === 2;
}

/**
 * The predicate a target stands for: PEFT-style names (a comma-separated string or a list; a
 * module matches when its path equals a name or ends in `.name`), a RegExp tested on the path, or
 * a predicate itself.
 * @example
 * ```ts
 * import { targetMatcher } from "@tangent/tangent/adapters";
 * targetMatcher("q_proj,v_proj")("model.layers.0.self_attn.v_proj"); // true
 * ```
 */
export function targetMatcher(t: AdaptTarget): (path: string) => boolean {
  if (typeof t === "function") return t;
  if (t instanceof RegExp) return (p) => t.test(p);
  if (typeof t !== "string" && !(Array.isArray(t) && t.every((n) => typeof n === "string"))) {
    throw new FormatError(
      `targetMatcher: the target must be module names ("q_proj,v_proj" or a list), a RegExp or a function of the ` +
        `path, got ${Array.isArray(t) ? "a list holding a non-string" : String(t)}`,
    );
  }
  const names = (typeof t === "string" ? t.split(",") : t).map((n) => n.trim()).filter((n) => n.length > 0);
  return (p) => names.some((n) => p === n || p.endsWith(`.${n}`));
}

/** Each module (object with a 2-D `weight`) in the tree, with its dot-joined path. */
function modules(tree: unknown, path: string[] = [], out: [string, LinearBase][] = []): [string, LinearBase][] {
  if (isModule(tree)) out.push([path.join("."), tree]);
  if (tree !== null && typeof tree === "object" && !(tree instanceof Tensor)) {
    const entries = Array.isArray(tree) ? tree.map((v, i) => [String(i), v] as const) : Object.entries(tree);
    for (const [k, v] of entries) modules(v, [...path, k], out);
  }
  return out;
}

function replaceAt(tree: unknown, path: readonly string[], fn: (m: LinearBase) => unknown): unknown {
  if (path.length === 0) return fn(tree as LinearBase);
  const [k, ...rest] = path;
  if (Array.isArray(tree)) return tree.map((v, i) => (String(i) === k ? replaceAt(v, rest, fn) : v));
  const o = tree as Record<string, unknown>;
  return { ...o, [k]: replaceAt(o[k], rest, fn) };
}

/**
 * Applies `adapter` to every linear module of `model` whose path matches `target` (PEFT's
 * `target_modules`: `"q_proj"` matches `layers.0.self_attn.q_proj`). Returns the adapters' params
 * and frozen tensors by path and functions to run, merge and name them.
 * @example
 * ```ts
 * import { key, normal, zeros } from "@tangent/tangent";
 * import { adapt, lora } from "@tangent/tangent/adapters";
 * const model = { layers: [{ q: { weight: normal(key(0), [8, 8]), bias: zeros([8]) }, k: { weight: normal(key(1), [8, 8]) } }] };
 * const a = adapt(model, { target: "q", adapter: lora({ r: 2 }) });
 * a.paths; // ["layers.0.q"]
 * const y = a.apply(a.params, "layers.0.q", normal(key(2), [3, 8]));
 * ```
 */
export function adapt<P, F extends LinearBase>(model: unknown, opts: AdaptOptions<P, F>): Adapted<P, F> {
  requireOptions("adapt", opts, '{ target: "q_proj,v_proj", adapter: lora({ r: 8 }) }');
  const match = targetMatcher(opts.target);
  const found = modules(model).filter(([p]) => match(p));
  if (found.length === 0) {
    const all = modules(model).map(([p]) => p);
    throw new FormatError(`adapt: no linear module matches the target; modules are [${all.join(", ")}]`);
  }
  const k = opts.key ?? makeKey(0);
  const ad = opts.adapter.forLayers?.(found.map(([, m]) => m)) ?? opts.adapter;
  const params: Record<string, P> = {}, frozen: Record<string, F> = {};
  found.forEach(([path, m], i) => {
    const s = onBaseBackend(m, () => ad.init(foldIn(k, i), m)); // beside the base, a method of one's own too
    params[path] = s.params;
    frozen[path] = s.frozen;
  });
  const paths = found.map(([p]) => p);
  const layer = (path: string): F => {
    const f = frozen[path];
    if (!f) throw new FormatError(`adapt: '${path}' is not an adapted module; adapted: [${paths.join(", ")}]`);
    return f;
  };
  return {
    adapter: ad,
    paths,
    params,
    frozen,
    apply: (p: Record<string, P>, path: string, x: Tensor): Tensor => ad.apply(p[path], layer(path), x),
    merge(p: Record<string, P>): unknown {
      let tree = model;
      for (const path of paths) {
        tree = replaceAt(tree, path.split("."), (m) => ({ ...m, weight: ad.merge(p[path], frozen[path]) }));
      }
      return tree;
    },
    regularizer(p: Record<string, P>): Tensor {
      return paths.reduce<Tensor>(
        (acc, path) => add(acc, ad.regularizer(p[path])),
        full([], 0, { dtype: frozen[paths[0]].weight.dtype, like: frozen[paths[0]].weight }),
      );
    },
    trainableCount: (p: Record<string, P>): number => paths.reduce((n, path) => n + ad.trainableCount(p[path]), 0),
    toPeft(tree: Record<string, P>, o: PeftNameOptions = {}): Record<string, Tensor> {
      const out: Record<string, Tensor> = {};
      const prefix = o.prefix ?? "base_model.model";
      for (const path of paths) {
        const named = { ...o, prefix: `${prefix}.${path}` };
        Object.assign(out, ad.toPeft ? ad.toPeft(tree[path], named) : tangentTensorNames(tree[path], named));
      }
      return out;
    },
  };
}
