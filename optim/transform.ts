/**
 * optax's composition pieces over Tangent's functional optimizers. A `GradientTransformation` maps
 * gradients to updates (`init(params)`, `update(updates, state, params)`); an `Optimizer` (sgd,
 * adam, riemannianAdam, landing, …) takes the step itself. `chain` runs transformations in order
 * and, when the last piece is an optimizer, hands it the transformed gradients, so
 * `chain(clipByGlobalNorm(1), adamw({ lr }))` is an optimizer; a chain of transformations ending in
 * `scaleByLearningRate` is applied with `applyUpdates`.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { add, astype, div, maximum, mul, neg, sqrt, sum, zerosLike } from "../core/ops/mod.ts";
import { treeLeaves, treePaths, treeUnflatten } from "../core/pytree.ts";
import { Tensor } from "../core/tensor.ts";
import type { Optimizer, OptimizerUpdate } from "../manifolds/optimizer.ts";
import { checkEuclidean, checkLearningRate, checkState, pairLeaves } from "../manifolds/optimizer.ts";
import { type LearningRate, learningRateAt, nextCount, zeroCount } from "../manifolds/schedules.ts";

/** What a transformation's `update` returns: the transformed updates and its new state. */
export interface TransformUpdate<S> {
  /** The updates (same structure as the gradients). */
  updates: unknown;
  /** The state for the next call. */
  state: S;
}

/** A gradient transformation (optax's `GradientTransformation`): gradients in, updates out. */
export interface GradientTransformation<S = unknown> {
  /** Marks a transformation (an optimizer has no such field). */
  readonly kind: "transformation";
  /** The initial state for `params`. */
  init<P>(params: P): S;
  /** Transforms `updates` (gradients, or the previous piece's output). */
  update<P>(updates: unknown, state: S, params: P): TransformUpdate<S>;
}

function isTransformation(x: unknown): x is GradientTransformation {
  return (x as GradientTransformation | null)?.kind === "transformation";
}

function mapLeaves(tree: unknown, f: (t: Tensor, i: number) => Tensor): unknown {
  return treeUnflatten(tree, treeLeaves(tree).map(f));
}

/**
 * Scales all gradients by `min(1, maxNorm / ‖g‖)`, ‖g‖ the norm of all leaves together (optax's
 * `clip_by_global_norm`): unchanged when ‖g‖ ≤ maxNorm (‖g‖ = 0 included), else `g·(maxNorm/‖g‖)`,
 * which is optax's `(g/‖g‖)·maxNorm` up to one rounding (~1e-16 relative; written without a
 * division by ‖g‖, so its gradient is finite at ‖g‖ = 0). PyTorch's `clip_grad_norm_` scales by
 * `maxNorm/(‖g‖ + 1e-6)`, ~1e-6 relative smaller. Runs on the device: nothing is read back.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { clipByGlobalNorm } from "@tangent/tangent/optim";
 * const t = clipByGlobalNorm(1);
 * const { updates } = t.update({ w: tensor([3, 4]) }, t.init({}), {}); // { w: [0.6, 0.8] }
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<Record<never, never>> {
  if (!(typeof maxNorm === "number" && maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new DomainError(`clipByGlobalNorm: maxNorm = ${maxNorm} must be a finite number > 0`);
  }
  return {
    kind: "transformation",
    init: () => ({}),
    update(updates, state) {
      const leaves = treeLeaves(updates);
      if (leaves.length === 0) return { updates, state };
      const norm = sqrt(leaves.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
      // maxNorm / max(‖g‖, maxNorm): 1 at or below the threshold, never a division by zero
      const scale = div(maxNorm, maximum(norm, maxNorm));
      return { updates: mapLeaves(updates, (g) => mul(g, scale.astype(g.dtype))), state };
    },
  };
}

/** State of `scaleByLearningRate`: the step count (for schedules). */
export interface CountState {
  /** Updates done so far: an int32 scalar tensor (optax's `count`), so a jitted step traces once. */
  readonly count: Tensor;
}

/**
 * Multiplies updates by `−lr` (a number or a schedule of the step count, 0 at the first update),
 * optax's `scale_by_learning_rate` (the same values): the last piece of a chain applied with
 * `applyUpdates`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { applyUpdates, chain, clipByGlobalNorm, scaleByLearningRate } from "@tangent/tangent/optim";
 * const t = chain(clipByGlobalNorm(1), scaleByLearningRate(0.1));
 * const params = { w: tensor([1, 1]) };
 * const { updates } = t.update({ w: tensor([3, 4]) }, t.init(params), params);
 * applyUpdates(params, updates); // { w: [0.94, 0.92] }
 * ```
 */
export function scaleByLearningRate(lr: LearningRate): GradientTransformation<CountState> {
  checkLearningRate("scaleByLearningRate", lr);
  return {
    kind: "transformation",
    init: (params) => ({ count: zeroCount(treeLeaves(params)[0]) }),
    update(updates, state) {
      checkState("scaleByLearningRate", state, [], {});
      const r = neg(learningRateAt(lr, state.count, "scaleByLearningRate"));
      return {
        updates: mapLeaves(updates, (g) => mul(g, astype(r, g.dtype))),
        state: { count: nextCount(state.count) },
      };
    },
  };
}

/**
 * Adds `weightDecay · params` to the updates (optax's `add_decayed_weights`, the same values).
 * Before an optimizer in a chain it is L2 decay, part of the gradient the optimizer sees:
 * `chain(addDecayedWeights(wd), adam(…))` is `adam({ weightDecay: wd })`, torch Adam's
 * `weight_decay`. Decay decoupled from Adam's scaling (optax's `adamw` puts this piece after
 * `scale_by_adam`) is `adamw({ weightDecay })`: an optimizer ends a chain, so nothing follows it.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { addDecayedWeights } from "@tangent/tangent/optim";
 * const t = addDecayedWeights(0.1);
 * const p = { w: tensor([1, 2]) };
 * t.update({ w: tensor([0, 0]) }, t.init(p), p).updates; // { w: [0.1, 0.2] }
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation<Record<never, never>> {
  if (!(typeof weightDecay === "number" && weightDecay >= 0 && Number.isFinite(weightDecay))) {
    throw new DomainError(`addDecayedWeights: weightDecay = ${weightDecay} must be a finite number ≥ 0`);
  }
  return {
    kind: "transformation",
    init: () => ({}),
    update(updates, state, params) {
      const [ps, us] = pairLeaves("addDecayedWeights", params, updates);
      return { updates: treeUnflatten(updates, us.map((u, i) => add(u, mul(ps[i], weightDecay)))), state };
    },
  };
}

/** `params + updates` leaf by leaf (Euclidean; warns once for manifold points, as `sgd` does). */
export function applyUpdates<P>(params: P, updates: unknown): P {
  const [ps, us] = pairLeaves("applyUpdates", params, updates);
  checkEuclidean("applyUpdates", ps, false, params);
  return treeUnflatten(params, ps.map((p, i) => add(p, us[i])));
}

/**
 * Runs the pieces in order. All transformations: a transformation (apply its updates with
 * `applyUpdates`). Transformations then an optimizer: an optimizer that transforms the gradients,
 * then steps (`chain(clipByGlobalNorm(1), riemannianAdam({ lr }))` keeps points on their manifolds).
 * @example
 * ```ts
 * import { grad, sum, square, type Tensor, tensor } from "@tangent/tangent";
 * import { adamw, chain, clipByGlobalNorm } from "@tangent/tangent/optim";
 * const opt = chain(clipByGlobalNorm(1), adamw({ lr: 1e-2 }));
 * let params = { w: tensor([1, 2]) };
 * let state = opt.init(params);
 * ({ params, state } = opt.update(grad((p: { w: Tensor }) => sum(square(p.w)))(params), state, params));
 * ```
 */
export function chain(...pieces: GradientTransformation[]): GradientTransformation<unknown[]>;
/** Transformations then an optimizer: an optimizer that transforms the gradients, then steps. */
export function chain(...pieces: [...GradientTransformation[], Optimizer]): Optimizer<unknown[]>;
export function chain(
  ...pieces: (GradientTransformation | Optimizer)[]
): GradientTransformation<unknown[]> | Optimizer<unknown[]> {
  if (pieces.length === 0) throw new ShapeError("chain: give at least one transformation or optimizer");
  const last = pieces[pieces.length - 1];
  const transforms = pieces.slice(0, isTransformation(last) ? pieces.length : -1);
  const bad = transforms.findIndex((t) => !isTransformation(t));
  if (bad >= 0) {
    throw new ShapeError(`chain: piece ${bad} is an optimizer; only the last piece may be one (it takes the step)`);
  }
  const ts = transforms as GradientTransformation[];
  const pieceCount = pieces.length;
  const run = <P>(grads: unknown, states: unknown[], params: P): [unknown, unknown[]] => {
    if (!Array.isArray(states) || states.length !== pieceCount) {
      throw new DomainError(
        `chain: the state must be an array of ${pieceCount} states, one per piece, got ${
          Array.isArray(states) ? `an array of ${states.length}` : states === null ? "null" : typeof states
        }; pass the state that this chain's init(params) made`,
      );
    }
    let u = grads;
    const next = ts.map((t, i) => {
      const r = t.update(u, states[i], params);
      u = r.updates;
      return r.state;
    });
    return [u, next];
  };
  if (isTransformation(last)) {
    return {
      kind: "transformation",
      init: (params) => ts.map((t) => t.init(params)),
      update(updates, state, params) {
        const [u, next] = run(updates, state, params);
        return { updates: u, state: next };
      },
    };
  }
  const opt = last as Optimizer;
  return {
    init: (params) => [...ts.map((t) => t.init(params)), opt.init(params)],
    update<P>(grads: unknown, state: unknown[], params: P): OptimizerUpdate<P, unknown[]> {
      const [u, next] = run(grads, state, params);
      const r = opt.update(u, state[ts.length], params);
      return { params: r.params, state: [...next, r.state] };
    },
  };
}

/** A mask: a pytree of booleans shaped as the parameters (true = trained), or a function making one. */
export type Mask = unknown | ((params: unknown) => unknown);

/**
 * The value `spec` gives each parameter leaf, in `treeLeaves` order: `spec` (or what it returns
 * when it is a function of the parameters) is a pytree shaped as the parameters whose values pass
 * `isValue`, one value covering a whole subtree. Errors name `op`, the spec (`noun`) and what to
 * put in it (`fix`).
 */
function spreadLeaves<T>(
  op: string,
  spec: unknown,
  params: unknown,
  isValue: (v: unknown) => v is T,
  noun: string,
  fix: string,
): T[] {
  const m = typeof spec === "function" ? (spec as (p: unknown) => unknown)(params) : spec;
  const n = treeLeaves(params).length;
  const out: T[] = [];
  const walk = (mk: unknown, p: unknown, path: string) => {
    if (isValue(mk)) {
      for (let i = 0; i < treeLeaves(p).length; i++) out.push(mk);
    } else if (p instanceof Tensor) {
      const got = mk !== null && typeof mk === "object" ? "a subtree" : JSON.stringify(mk) ?? String(mk);
      throw new ShapeError(
        `${op}: the ${noun} has ${got} where the parameters have a tensor${path ? ` (${path})` : ""}; use ${fix} there`,
      );
    } else if (Array.isArray(p)) {
      if (!Array.isArray(mk) || mk.length !== p.length) {
        throw new ShapeError(`${op}: the ${noun} is not laid out as the parameters${path ? ` at ${path}` : ""}`);
      }
      p.forEach((v, i) => walk(mk[i], v, path ? `${path}.${i}` : `${i}`));
    } else if (p !== null && typeof p === "object") {
      for (const k of Object.keys(p as object).sort()) {
        const sub = (mk as Record<string, unknown> | null)?.[k];
        const at = path ? `${path}.${k}` : k;
        if (sub === undefined) {
          if (treeLeaves((p as Record<string, unknown>)[k]).length) {
            throw new ShapeError(`${op}: the ${noun} has no entry for "${at}"; give ${fix}`);
          }
          continue;
        }
        walk(sub, (p as Record<string, unknown>)[k], at);
      }
    }
  };
  walk(m, params, "");
  if (out.length !== n) throw new ShapeError(`${op}: the ${noun} covers ${out.length} of ${n} parameter tensors`);
  return out;
}

/**
 * The leaves `keep` selects, keyed by their paths: what `masked` and `partition` hand an optimizer,
 * so that its messages name the parameters as the caller's tree does.
 */
function byPath(xs: readonly Tensor[], paths: readonly string[], keep: readonly boolean[]): Record<string, Tensor> {
  return Object.fromEntries(xs.flatMap((x, i) => (keep[i] ? [[paths[i], x]] : [])));
}

function maskLeaves(mask: Mask, params: unknown): boolean[] {
  const isBool = (v: unknown): v is boolean => typeof v === "boolean";
  return spreadLeaves("masked", mask, params, isBool, "mask", "true (train) or false (freeze)");
}

/**
 * `inner` applied only where `mask` is true; the other parameters are frozen (an optimizer leaves
 * them as they are, a transformation gives them zero updates) and hold no state. The mask is a
 * pytree of booleans shaped as the parameters (a boolean covers a whole subtree) or a function of
 * the parameters giving one. Unlike optax's `masked`, which passes the other updates through
 * unchanged, this freezes them: two masked transformations in one `chain` do not split the
 * parameters between them (the second zeroes what the first made); `partition` gives each group of
 * parameters its own optimizer.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { masked, sgd } from "@tangent/tangent/optim";
 * const opt = masked(sgd({ lr: 0.1 }), { base: false, lora: true });
 * const params = { base: tensor([1]), lora: tensor([1]) };
 * const { params: next } = opt.update({ base: tensor([1]), lora: tensor([1]) }, opt.init(params), params);
 * // next.base is unchanged, next.lora = 0.9
 * ```
 */
export function masked<S>(inner: Optimizer<S>, mask: Mask): Optimizer<S>;
/** A transformation applied only where `mask` is true; frozen leaves get zero updates. */
export function masked<S>(inner: GradientTransformation<S>, mask: Mask): GradientTransformation<S>;
export function masked<S>(
  inner: Optimizer<S> | GradientTransformation<S>,
  mask: Mask,
): Optimizer<S> | GradientTransformation<S> {
  const pick = <T>(xs: T[], m: boolean[]) => xs.filter((_, i) => m[i]);
  const init = <P>(params: P): S => {
    const m = maskLeaves(mask, params);
    return isTransformation(inner)
      ? inner.init(pick(treeLeaves(params), m))
      : inner.init(byPath(treeLeaves(params), treePaths(params), m));
  };
  if (isTransformation(inner)) {
    return {
      kind: "transformation",
      init,
      update(updates, state, params) {
        const m = maskLeaves(mask, params);
        const [ps, us] = pairLeaves("masked", params, updates);
        const r = inner.update(pick(us, m), state, pick(ps, m));
        const sub = treeLeaves(r.updates);
        let k = 0;
        return {
          updates: treeUnflatten(updates, us.map((u, i) => (m[i] ? sub[k++] : zerosLike(u)))),
          state: r.state,
        };
      },
    };
  }
  const opt = inner as Optimizer<S>;
  return {
    init,
    update<P>(grads: unknown, state: S, params: P): OptimizerUpdate<P, S> {
      const m = maskLeaves(mask, params), paths = treePaths(params);
      const [ps, gs] = pairLeaves("masked", params, grads);
      const r = opt.update(byPath(gs, paths, m), state, byPath(ps, paths, m));
      const stepped = r.params as Record<string, Tensor>;
      return { params: treeUnflatten(params, ps.map((p, i) => (m[i] ? stepped[paths[i]] : p))), state: r.state };
    },
  };
}

/**
 * Which optimizer of a `partition` steps each parameter: a pytree of labels (keys of the
 * optimizers) shaped as the parameters, one label covering a whole subtree, or a function of the
 * parameters making one.
 * @example The same grouping three ways
 * ```ts
 * import { type Tensor, treeMap } from "@tangent/tangent";
 * import type { Labels } from "@tangent/tangent/optim";
 * // params: { layer: { A, B }, head: { w } }
 * const leafByLeaf: Labels = { layer: { A: "slow", B: "fast" }, head: { w: "slow" } };
 * const bySubtree: Labels = { layer: { A: "slow", B: "fast" }, head: "slow" }; // one label for all of head
 * const byFunction: Labels = (p) => treeMap((_t: Tensor) => "slow", p); // every leaf "slow"
 * ```
 */
export type Labels = LabelTree | ((params: unknown) => unknown);

/**
 * A pytree of labels: a label, or arrays and plain objects of them.
 * @example
 * ```ts
 * import type { LabelTree } from "@tangent/tangent/optim";
 * const labels: LabelTree = { blocks: ["a", "a", "b"], head: "b" };
 * ```
 */
export type LabelTree = string | readonly LabelTree[] | { readonly [key: string]: LabelTree };

/**
 * Parameter groups (optax's `partition`, `multi_transform`; torch's param groups): each leaf is
 * stepped by the optimizer its label names, with that optimizer's own state, and sees only its
 * group (a global clip inside one group's chain measures that group). Two optimizers for one adapter,
 * Riemannian Adam on its manifold factor and AdamW (decoupled decay) on the rest, or LoRA+ (B at a
 * larger rate than A), are one optimizer this way; `masked` only freezes. The state is an object
 * keyed by label, so a jitted step traces once. A label that names no optimizer is a DomainError
 * listing the labels; an optimizer no leaf is labelled with holds the state of no parameters.
 * @example Riemannian Adam on Stiefel points, AdamW on the rest, labelled leaf by leaf
 * ```ts
 * import { key, type Tensor, tensor, treeMap, zeros } from "@tangent/tangent";
 * import { manifoldOf, stiefel } from "@tangent/tangent/manifolds";
 * import { adamw, partition, riemannianAdam } from "@tangent/tangent/optim";
 * const params = { U: stiefel(5, 2).random(key(0)), d: zeros([2]) };
 * const opt = partition(
 *   { riemannian: riemannianAdam({ lr: 1e-2 }), euclidean: adamw({ lr: 1e-3, weightDecay: 0.01 }) },
 *   (p) => treeMap((t: Tensor) => (manifoldOf(t) ? "riemannian" : "euclidean"), p),
 * );
 * const grads = { U: tensor([[1, 0], [0, 1], [0, 0], [0, 0], [0, 0]]), d: tensor([1, -1]) };
 * const { params: next } = opt.update(grads, opt.init(params), params); // next.U still on St(5, 2)
 * ```
 * @example LoRA+: B at 16 times A's rate
 * ```ts
 * import { zeros, ones } from "@tangent/tangent";
 * import { adamw, partition } from "@tangent/tangent/optim";
 * const params = { A: ones([2, 4]), B: zeros([3, 2]) };
 * const opt = partition({ a: adamw({ lr: 1e-4 }), b: adamw({ lr: 16e-4 }) }, { A: "a", B: "b" });
 * const { params: next } = opt.update({ A: ones([2, 4]), B: ones([3, 2]) }, opt.init(params), params);
 * ```
 */
export function partition<L extends string>(
  optimizers: Record<L, Optimizer>,
  labels: Labels,
): Optimizer<Record<L, unknown>> {
  if (optimizers === null || typeof optimizers !== "object" || Array.isArray(optimizers)) {
    throw new DomainError(
      `partition: optimizers must be an object of optimizers by label ({ riemannian: riemannianAdam(…), euclidean: adamw(…) }), got ${
        Array.isArray(optimizers) ? "an array" : String(optimizers)
      }`,
    );
  }
  const names = Object.keys(optimizers) as L[];
  if (names.length === 0) throw new DomainError("partition: give at least one optimizer, by label");
  for (const l of names) {
    const o = optimizers[l] as Partial<Optimizer> & { kind?: string } | null;
    if (typeof o?.init !== "function" || typeof o?.update !== "function" || o.kind === "transformation") {
      throw new DomainError(
        `partition: optimizers.${l} is not an optimizer${
          o?.kind === "transformation" ? " but a transformation; end it with one: chain(…, adamw(…))" : ""
        }`,
      );
    }
  }
  const list = names.map((l) => JSON.stringify(l)).join(", ");
  const isLabel = (v: unknown): v is L => typeof v === "string";
  const labelLeaves = (params: unknown): L[] => {
    const ls = spreadLeaves("partition", labels, params, isLabel, "labels", `a label (${list})`);
    const paths = treePaths(params);
    ls.forEach((l, i) => {
      if (!Object.hasOwn(optimizers, l)) {
        throw new DomainError(
          `partition: parameter ${paths[i] || "(root)"} is labelled ${
            JSON.stringify(l)
          }, which names no optimizer; the labels are ${list}`,
        );
      }
    });
    return ls;
  };
  const group = (xs: readonly Tensor[], paths: readonly string[], ls: readonly L[], l: L) =>
    byPath(xs, paths, ls.map((x) => x === l));
  return {
    init<P>(params: P): Record<L, unknown> {
      const ls = labelLeaves(params), leaves = treeLeaves(params), paths = treePaths(params);
      return Object.fromEntries(names.map((l) => [l, optimizers[l].init(group(leaves, paths, ls, l))])) as Record<
        L,
        unknown
      >;
    },
    update<P>(grads: unknown, state: Record<L, unknown>, params: P): OptimizerUpdate<P, Record<L, unknown>> {
      const ls = labelLeaves(params), paths = treePaths(params);
      const [ps, gs] = pairLeaves("partition", params, grads);
      const missing = state !== null && typeof state === "object"
        ? names.filter((l) => !Object.hasOwn(state, l))
        : names;
      if (missing.length) {
        throw new DomainError(
          `partition: the state must be an object with one state per label (${list}), got ${
            state === null || typeof state !== "object" ? String(state) : `one without ${missing.join(", ")}`
          }; pass the state that this partition's init(params) made`,
        );
      }
      const out = ps.slice();
      const next = {} as Record<L, unknown>;
      for (const l of names) {
        const r = optimizers[l].update(group(gs, paths, ls, l), state[l], group(ps, paths, ls, l));
        const stepped = r.params as Record<string, Tensor>;
        ls.forEach((x, i) => {
          if (x === l) out[i] = stepped[paths[i]];
        });
        next[l] = r.state;
      }
      return { params: treeUnflatten(params, out), state: next };
    },
  };
}
