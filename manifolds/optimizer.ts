/**
 * The functional optimizer interface (optax style) and the per-leaf geometry the optimizers use:
 * a leaf that carries a manifold (`x.manifold`) is updated with that manifold's Riemannian gradient,
 * retraction and transport; a plain tensor is Euclidean (`R(x, v) = x + v`, transport = identity).
 * @module
 */
import { jit, jitCacheSize } from "../autodiff/jit.ts";
import { DomainError, DTypeError, fmtShape, ManifoldError, ShapeError } from "../core/errors.ts";
import { add, astype, div, equal, floor, mul, where } from "../core/ops/mod.ts";
import { treeDifference, treeLeaves, treePaths, treeUnflatten } from "../core/pytree.ts";
import { Tensor } from "../core/tensor.ts";
import type { Manifold } from "./manifold.ts";
import { asPoint, manifoldOf, type Point } from "./point.ts";
import { stepDType } from "./schedules.ts";

/** What `update` returns: the new parameters (same structure) and the new state. */
export interface OptimizerUpdate<P, S> {
  /** The updated parameters; manifold leaves stay points of their manifold. */
  params: P;
  /** The state to pass to the next `update`. */
  state: S;
}

/**
 * A functional optimizer: `init(params)` gives the state; `update(grads, state, params)` gives the
 * new parameters and state. Nothing is mutated. `params` and `grads` are pytrees of the same
 * structure (grads are Euclidean gradients, e.g. from `grad`).
 */
export interface Optimizer<S = unknown> {
  /** The initial state for `params`. */
  init<P>(params: P): S;
  /** One step. */
  update<P>(grads: unknown, state: S, params: P): OptimizerUpdate<P, S>;
}

/**
 * How an optimizer moves one leaf: its Riemannian gradient, retraction, transport and the
 * component-wise squared norm Adam keeps.
 * @internal
 */
export interface LeafGeometry {
  /** The manifold, or undefined for a plain (Euclidean) tensor. */
  readonly manifold?: Manifold;
  rgrad(x: Tensor, g: Tensor): Tensor;
  retract(x: Tensor, v: Tensor): Tensor;
  transport(x: Tensor, y: Tensor, v: Tensor): Tensor;
  sqInner(x: Tensor, g: Tensor): Tensor;
}

const flat: LeafGeometry = {
  rgrad: (_x, g) => g,
  retract: (x, v) => add(x, v),
  transport: (_x, _y, v) => v,
  sqInner: (_x, g) => mul(g, g),
};

/**
 * The geometry of a leaf: its manifold's (when `riemannian` and it carries one) or flat.
 * @internal
 */
export function leafGeometry(x: Tensor, riemannian: boolean): LeafGeometry {
  const m = riemannian ? (manifoldOf(x) as Manifold | undefined) : undefined;
  if (!m) return flat;
  return {
    manifold: m,
    rgrad: (x, g) => m.egradToRgrad(x as Point<Manifold>, g),
    retract: (x, v) => m.retract(x as Point<Manifold>, v),
    transport: (x, y, v) => m.transport(x as Point<Manifold>, y as Point<Manifold>, v),
    sqInner: (x, g) => m.componentInner(x as Point<Manifold>, g),
  };
}

/**
 * The leaves of params and grads, checked to correspond (count, shapes), grads cast to the
 * params' dtypes.
 * @internal
 */
export function pairLeaves(op: string, params: unknown, grads: unknown): [Tensor[], Tensor[]] {
  if (params === undefined || params === null) {
    // optax lets update(updates, state) leave params out; a step that reads them needs them
    throw new ShapeError(
      `${op}: the parameters are ${params}; pass them, update(grads, state, params) (this step reads or returns ` +
        `them; only transformations such as clipByGlobalNorm or scaleByLearningRate run without)`,
    );
  }
  const ps = treeLeaves(params), gs = treeLeaves(grads);
  const diff = params === grads ? null : treeDifference(params, grads);
  if (diff) {
    throw new ShapeError(
      `${op}: grads are not laid out as params (params vs grads ${diff}); pass grad(loss)(params) for the same tree`,
    );
  }
  if (ps.length !== gs.length) {
    throw new ShapeError(
      `${op}: grads have ${gs.length} tensors but params have ${ps.length}; pass grad(loss)(params)`,
    );
  }
  return [
    ps,
    gs.map((g, i) => {
      const p = ps[i];
      if (g.ndim !== p.ndim || g.shape.some((d, j) => d !== p.shape[j])) {
        throw new ShapeError(`${op}: gradient ${i} has shape ${fmtShape(g.shape)}, its parameter ${fmtShape(p.shape)}`);
      }
      if (p.dtype !== "float32" && p.dtype !== "float64") {
        throw new DTypeError(
          `${op}: parameter ${i} is ${p.dtype}; optimizers update float32 and float64 tensors` +
            (p.dtype === "float16"
              ? ` (float16 is for frozen weights: train a float32 copy, astype(p, "float32"))`
              : ` (leave integer and bool tensors out of the trained tree, or mask them out with masked)`),
        );
      }
      return astype(g, p.dtype);
    }),
  ];
}

/**
 * Throws a DomainError naming `op` unless `state` is one that this optimizer's `init` made for these
 * parameters: an object with a step count, and per leaf one buffer in each list of `buffers` (of
 * the leaf's shape where its flag is true; Riemannian second moments may have another). A state
 * from another tree or optimizer failed inside an op (`add: shapes [3] and [2] do not broadcast`)
 * or as a TypeError.
 * @internal
 */
export function checkState(op: string, state: unknown, xs: readonly Tensor[], buffers: Record<string, boolean>): void {
  const fix = "pass the state that this optimizer's init(params) made for these params";
  const count = state !== null && typeof state === "object" ? (state as { count?: unknown }).count : undefined;
  if (!(count instanceof Tensor)) {
    throw new DomainError(`${op}: the state has no step count (got ${state === null ? "null" : typeof state}); ${fix}`);
  }
  for (const [key, sameShape] of Object.entries(buffers)) {
    const b = (state as Record<string, unknown>)[key];
    if (!Array.isArray(b) || b.length !== xs.length) {
      throw new DomainError(
        `${op}: the state's ${key} holds ${Array.isArray(b) ? b.length : "no"} buffers for ${xs.length} ` +
          `parameters; ${fix}`,
      );
    }
    b.forEach((t, i) => {
      if (!(t instanceof Tensor) || (sameShape && t.shape.join() !== xs[i].shape.join())) {
        throw new DomainError(
          `${op}: the state's ${key}[${i}] is ${
            t instanceof Tensor ? `of shape ${fmtShape(t.shape)}` : "not a tensor"
          }` +
            ` but parameter ${i} has shape ${fmtShape(xs[i].shape)}; ${fix}`,
        );
      }
    });
  }
}

/**
 * `v` when it is a finite number in [lo, hi] (or undefined when `optional`); otherwise a DomainError
 * naming the optimizer and the hyperparameter, before any step runs.
 * @internal
 */
export function checkHyper(op: string, name: string, v: unknown, lo = 0, hi = Infinity): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) {
    const range = hi === Infinity ? `≥ ${lo}` : `in [${lo}, ${hi}]`;
    throw new DomainError(`${op}: ${name} = ${String(v)} must be a finite number ${range}`);
  }
}

/**
 * Throws a DomainError naming `op` unless `lr` is a finite rate ≥ 0 or a schedule (a function).
 * @internal
 */
export function checkLearningRate(op: string, lr: unknown): void {
  if (typeof lr === "function") return;
  if (lr === undefined) throw new DomainError(`${op}: lr is undefined; give a learning rate or a schedule`);
  checkHyper(op, "lr", lr);
}

/**
 * Rebuilds `params`' structure with new leaves.
 * @internal
 */
export function rebuild<P>(params: P, leaves: readonly Tensor[]): P {
  return treeUnflatten(params, leaves);
}

/**
 * An optimizer's `update` that runs as `jit` traces when every parameter is on the CPU: one trace per
 * signature (structure, shapes, dtypes), replayed at every later step with each leaf's elementwise
 * chain as one fused WebAssembly kernel, bit for bit what `update` computes eagerly (an Adam step of
 * LoRA r=8's two 8×1024 factors: ~130 → ~35 µs; the first step pays the trace, ~10 ms). Under
 * another transformation (`grad`, `vmap`, an outer `jit`) and for a step that reads values (a
 * schedule of numbers reads the count), `jit` runs `update` as it is; so does any other backend, a
 * tree with a leaf other than a tensor, a string, a boolean or undefined (`keyable`), and an optimizer
 * that has already traced 16 signatures.
 * @internal
 */
export function fusedOnCpu<S>(update: Optimizer<S>["update"]): Optimizer<S>["update"] {
  const fused = jit(update);
  const run: Optimizer<S>["update"] = (grads, state, params) =>
    (treeLeaves(params).every((x) => x.backend.name === "cpu") && keyable(params) && keyable(grads) &&
        jitCacheSize(fused) < MAX_SIGNATURES
      ? fused
      : update)(grads, state, params);
  fusedJits.set(run, fused);
  return run;
}

const fusedJits = new WeakMap<object, unknown>();

/**
 * Signatures (structures, shapes, dtypes) one optimizer traces before it steps as it is from then
 * on: parameters whose shapes change at every step would otherwise trace (and keep) a graph per step.
 */
const MAX_SIGNATURES = 16;

/**
 * How many signatures a `fusedOnCpu` update has traced (0 for any other function), for tests.
 * @internal
 */
export function fusedTraceCount(update: unknown): number {
  return typeof update === "function" ? jitCacheSize(fusedJits.get(update)) : 0;
}

/**
 * Whether every leaf of `tree` that is not a tensor is a string, a boolean or undefined: values a
 * `jit` signature keys on that stay the same from step to step. A number (a step counter kept
 * beside the weights), null or any other object in params or grads would key a new trace at each
 * new value (one cached graph per step, without bound), so such a step runs as it is.
 */
function keyable(tree: unknown): boolean {
  if (tree instanceof Tensor) return true;
  if (Array.isArray(tree)) return tree.every(keyable);
  const proto = tree !== null && typeof tree === "object" ? Object.getPrototypeOf(tree) : undefined;
  if (proto === Object.prototype || proto === null) {
    return Object.values(tree as object).every(keyable);
  }
  return tree === undefined || typeof tree === "string" || typeof tree === "boolean";
}

const warnedEuclidean = new Set<string>();

/**
 * A Euclidean optimizer given a point of a manifold steps off the manifold (`x − ηg` is not on it):
 * throws a ManifoldError when `strict`, else warns once per optimizer kind. Names the fix.
 * @internal
 */
export function checkEuclidean(
  op: string,
  xs: readonly Tensor[],
  strict: boolean | undefined,
  params?: unknown,
): void {
  const curved = (x: Tensor) => {
    const m = manifoldOf(x) as Manifold | undefined;
    return m !== undefined && !m.name.startsWith("euclidean("); // a Euclidean point is a plain tensor here
  };
  const i = xs.findIndex(curved);
  if (i < 0) return;
  const m = manifoldOf(xs[i]) as Manifold;
  const path = params === undefined ? String(i) : treePaths(params)[i] ?? String(i);
  const where = path === "" ? "" : `${path} `;
  const msg = `${op}: parameter ${where}${fmtShape(xs[i].shape)} is a point of ${m.name}, but ${op} is Euclidean: ` +
    `its steps leave the manifold. Use the Riemannian form (riemannianSgd / riemannianAdam, or landing), or ` +
    `pass a plain tensor`;
  if (strict) throw new ManifoldError(msg);
  if (warnedEuclidean.has(op)) return;
  warnedEuclidean.add(op);
  console.warn(`${msg} (shown once; { strict: true } makes it an error)`);
}

/**
 * `params` with every manifold point replaced by a plain tensor sharing its elements (trace
 * identities kept), for a Euclidean base optimizer that is meant to see them as plain.
 * @internal
 */
export function asEuclidean<P>(params: P): P {
  const leaves = treeLeaves(params);
  if (!leaves.some((x) => manifoldOf(x) !== undefined)) return params;
  return treeUnflatten(
    params,
    leaves.map((x) => {
      if (manifoldOf(x) === undefined) return x;
      const a = x._alias();
      if (x._tr) a._tr = x._tr;
      return a;
    }),
  );
}

/**
 * Whether the step count `t` (an int32 scalar tensor) is a multiple of `k`, as a bool scalar
 * tensor (exact in float64 on the CPU; in float32 elsewhere, exact up to 2²⁴ steps).
 * @internal
 */
export function everyKth(t: Tensor, k: number): Tensor {
  const ft = astype(t, stepDType(t));
  return equal(mul(floor(div(ft, k)), k), ft);
}

/**
 * The `stabilize` option's re-projection, selected by `when` (a bool scalar tensor): `y` projected
 * onto `m` and the moment `v` (if any) moved to the tangent space there, or both as they are. Both
 * are computed, so a traced step does not depend on the count's value.
 * @internal
 */
export function stabilized<V extends Tensor | undefined>(m: Manifold, when: Tensor, y: Tensor, v: V): [Tensor, V] {
  const yp = m.project(y);
  const vNew = v && where(when, m.toTangent(yp as Point<Manifold>, v), v);
  return [asPoint(where(when, yp, y), m), vNew as V];
}
