/**
 * The laws every adapter satisfies, as fast-check properties: what `checkAdapterLaws` runs on each
 * built-in adapter, and what a researcher's own adapter should pass.
 *
 * On a random base layer (float64) and parameters perturbed away from their initial values (so
 * nothing sits at an identity start):
 * - at `init` the adapted layer equals the base layer, where `adapter.identityAtInit` promises it
 * - `apply(p, f, x) = x · merge(p, f)ᵀ + bias`, and `apply` keeps leading batch axes
 * - `unmerge(p, f, merge(p, f)) = f.weight`
 * - `orthogonalFactors` are orthogonal (`‖QᵀQ − I‖_F ≤ orthoTol`), and every parameter that is a
 *   manifold point is on its manifold (`constraintViolation ≤ orthoTol`), also after `steps`
 *   optimizer steps when an optimizer is given
 * - the gradients of `sum(apply(p, f, x) ⊙ G) + regularizer(p)` with respect to every parameter
 *   leaf and to x match central finite differences (`checkGrad`)
 * - `trainableCount(p)` is the number of scalars in p, and `regularizer(p)` is a finite scalar
 * @module
 */
import fc from "fast-check";
import { DomainError } from "../core/errors.ts";
import { abs, add, eye, matmulT, max, mul, norm, reshape, sub, sum } from "../core/ops/mod.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { type Key, key as makeKey, normal, split } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { grad } from "../autodiff/grad.ts";
import { checkGrad, type CheckGradOptions } from "../autodiff/check.ts";
import { type Adapter, countScalars, type Frozen, linear, type LinearBase } from "./adapter.ts";

/** The structural optimizer interface the orthogonality law steps with (`manifolds` optimizers fit). */
export interface LawOptimizer {
  /** Initial state. */
  init(params: unknown): unknown;
  /** One step. */
  update(grads: unknown, state: unknown, params: unknown): { params: unknown; state: unknown };
}

/** Options of `checkAdapterLaws`. */
export interface AdapterLawOptions {
  /** Output features of the random base layer (default 6). */
  out?: number;
  /** Input features of the random base layer (default 8). */
  in?: number;
  /** Batch rows of x (default 3). */
  batch?: number;
  /** Give the base layer a bias (default true). */
  bias?: boolean;
  /** Runs per property (default 3). */
  numRuns?: number;
  /** fast-check seed (default: fast-check's). */
  seed?: number;
  /** Relative tolerance of the identities (default 1e-9). */
  tol?: number;
  /** Standard deviation of the perturbation added to each parameter (default 0.1; manifold leaves are retracted). */
  perturb?: number;
  /** Tolerance on `‖QᵀQ − I‖_F` of `orthogonalFactors` and on manifold parameters' `constraintViolation` (default 1e-9). */
  orthoTol?: number;
  /** Optimizer to take `steps` steps with before checking orthogonality again (default: none). */
  optimizer?: LawOptimizer;
  /** Optimizer steps (default 3). */
  steps?: number;
  /**
   * Parameter keys whose gradients are not those of the forward's value (DoRA's A and B, whose
   * weight norm PEFT detaches); their gradient check is skipped.
   */
  detachedGradients?: readonly string[];
  /** Options of the gradient check (default rtol 1e-6, atol 1e-8·max(1, |loss|)). */
  gradCheck?: CheckGradOptions;
}

/** One named adapter law as a fast-check property over seeds. */
export interface AdapterLaw {
  /** What the law says. */
  name: string;
  /** The property. */
  property: fc.IAsyncProperty<[number]>;
}

/** Any adapter (the laws only call its methods). */
// deno-lint-ignore no-explicit-any
export type AnyAdapter = Adapter<any, any>;

interface Setup {
  base: LinearBase;
  params0: unknown;
  params: unknown;
  frozen: Frozen;
  x: Tensor;
  G: Tensor;
}

async function maxAbs(t: Tensor): Promise<number> {
  return Number((await max(abs(t)).data())[0]);
}

function fail(a: AnyAdapter, law: string, detail: string): never {
  throw new DomainError(`${a.kind}: law "${law}" fails: ${detail}`);
}

async function expectClose(a: AnyAdapter, law: string, got: Tensor, want: Tensor, tol: number): Promise<void> {
  const err = await maxAbs(sub(got, want)), scale = Math.max(1, await maxAbs(want));
  if (!(err <= tol * scale)) fail(a, law, `max|difference| = ${err} > ${tol} × ${scale}`);
}

interface ManifoldLike {
  name: string;
  randomTangent(k: Key, x: Tensor): Tensor;
  retract(x: Tensor, v: Tensor): Tensor;
  constraintViolation(x: Tensor): Tensor;
}

/** Adds `scale · N(0, 1)` to each leaf; manifold points move by a retracted random tangent instead. */
function perturb(tree: unknown, k: Key, scale: number): unknown {
  const leaves = treeLeaves(tree);
  const keys = split(k, Math.max(1, leaves.length));
  return treeUnflatten(
    tree,
    leaves.map((l, i) => {
      const m = (l as Tensor & { manifold?: ManifoldLike }).manifold;
      if (m && typeof m.retract === "function") return m.retract(l, mul(m.randomTangent(keys[i], l), scale));
      return add(l, mul(normal(keys[i], l.shape, { dtype: l.dtype === "float32" ? "float32" : "float64" }), scale));
    }),
  );
}

function orthoError(q: Tensor): Tensor {
  // ‖QᵀQ − I‖_F over the last two axes (the largest over a batch of blocks)
  const g = matmulT(q, q, true, false);
  const p = q.shape[q.ndim - 1];
  const d = sub(g, eye(p, { dtype: q.dtype, like: q }));
  return max(reshape(norm(d, { axis: [-2, -1] }), [-1]));
}

/**
 * The adapter laws as named fast-check properties over integer seeds (for running one by one).
 * @param adapter the adapter under test (its options fix r, block sizes, …)
 * @param opts sizes, tolerances, perturbation, optimizer
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { lora } from "@tangent/tangent/adapters";
 * import { adapterLaws } from "@tangent/tangent/testing";
 * for (const law of adapterLaws(lora({ r: 2 }))) await fc.assert(law.property, { numRuns: 2 });
 * ```
 */
export function adapterLaws(adapter: AnyAdapter, opts: AdapterLawOptions = {}): AdapterLaw[] {
  const out = opts.out ?? 6, inF = opts.in ?? 8, batch = opts.batch ?? 3;
  const tol = opts.tol ?? 1e-9, orthoTol = opts.orthoTol ?? 1e-9, scale = opts.perturb ?? 0.1;
  const setup = (seed: number): Setup => {
    const [kw, kb, ki, kp, kx, kg] = split(makeKey(seed), 6);
    const weight = normal(kw, [out, inF], { dtype: "float64" });
    const base: LinearBase = opts.bias === false
      ? { weight }
      : { weight, bias: normal(kb, [out], { dtype: "float64" }) };
    const { params: params0, frozen } = adapter.init(ki, base);
    const params = perturb(params0, kp, scale);
    const x = normal(kx, [batch, inF], { dtype: "float64" });
    const G = normal(kg, [batch, out], { dtype: "float64" });
    return { base, params0, params, frozen, x, G };
  };
  const laws: AdapterLaw[] = [];
  const law = (name: string, body: (s: Setup) => Promise<void>): void => {
    laws.push({
      name,
      property: fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => body(setup(seed))),
    });
  };

  law("at init the adapted layer equals the base layer (where promised)", async (s) => {
    if (!adapter.identityAtInit) return;
    await expectClose(
      adapter,
      "identity at init",
      adapter.apply(s.params0, s.frozen, s.x),
      linear(s.x, s.base.weight, s.base.bias),
      tol,
    );
  });

  law("apply(p, f, x) = x·merge(p, f)ᵀ + bias, batch axes kept", async (s) => {
    const y = adapter.apply(s.params, s.frozen, s.x);
    await expectClose(adapter, "apply = merge", y, linear(s.x, adapter.merge(s.params, s.frozen), s.frozen.bias), tol);
    const x3 = reshape(s.x, [1, batch, inF]);
    await expectClose(adapter, "batch axes", reshape(adapter.apply(s.params, s.frozen, x3), [batch, out]), y, tol);
  });

  law("unmerge(merge(W)) = W", async (s) => {
    const merged = adapter.merge(s.params, s.frozen);
    await expectClose(adapter, "unmerge ∘ merge", adapter.unmerge(s.params, s.frozen, merged), s.frozen.weight, tol);
  });

  law("orthogonal factors stay orthogonal, manifold parameters on their manifolds", async (s) => {
    const check = async (p: unknown, when: string) => {
      for (const q of adapter.orthogonalFactors?.(p, s.frozen) ?? []) {
        const e = await maxAbs(orthoError(q));
        if (!(e <= orthoTol)) fail(adapter, "orthogonality", `‖QᵀQ − I‖_F = ${e} > ${orthoTol} ${when}`);
      }
      // each leaf that started as a manifold point, by the manifold it started on (a Euclidean
      // optimizer returns plain tensors, so the stepped leaves may no longer say)
      const keys = leafKeys(p), start = treeLeaves(s.params);
      for (const [i, l] of treeLeaves(p).entries()) {
        const m = (start[i] as Tensor & { manifold?: ManifoldLike }).manifold;
        if (!m || typeof m.constraintViolation !== "function") continue;
        const e = await maxAbs(m.constraintViolation(l));
        if (!(e <= orthoTol)) {
          fail(adapter, "on the manifold", `parameter ${keys[i] || i} is ${e} > ${orthoTol} off ${m.name} ${when}`);
        }
      }
    };
    await check(s.params, "after the perturbation");
    if (!opts.optimizer) return;
    const loss = (p: unknown) => add(sum(mul(adapter.apply(p, s.frozen, s.x), s.G)), adapter.regularizer(p));
    let p = s.params, state = opts.optimizer.init(p);
    for (let i = 0; i < (opts.steps ?? 3); i++) ({ params: p, state } = opts.optimizer.update(grad(loss)(p), state, p));
    await check(p, `after ${opts.steps ?? 3} optimizer steps`);
  });

  law("gradients match finite differences", (s) => {
    // loss(p, x) = sum(apply(p, f, x) ⊙ G) + regularizer(p), checked on every leaf not detached, and on x
    const skip = new Set(opts.detachedGradients ?? []);
    const leaves = treeLeaves(s.params);
    const all = [...leaves, s.x];
    const free = [...leafKeys(s.params).map((k) => !skip.has(k)), true];
    const loss = (...xs: Tensor[]) => {
      let j = 0;
      const args = all.map((t, i) => (free[i] ? xs[j++] : t));
      const p = treeUnflatten(s.params, args.slice(0, leaves.length));
      return add(sum(mul(adapter.apply(p, s.frozen, args[leaves.length]), s.G)), adapter.regularizer(p));
    };
    // central differences lose about ε_machine·|L|/h: scale atol with the loss
    const args = all.filter((_, i) => free[i]);
    const atol = 1e-8 * Math.max(1, Math.abs(loss(...args).item()));
    try {
      checkGrad(loss, args, { rtol: 1e-6, atol, ...opts.gradCheck });
    } catch (e) {
      fail(adapter, "gradients", (e as Error).message);
    }
    return Promise.resolve();
  });

  law("trainableCount counts the scalars of params; the regularizer is a finite scalar", async (s) => {
    const n = adapter.trainableCount(s.params);
    if (n !== countScalars(s.params)) fail(adapter, "trainableCount", `${n} ≠ ${countScalars(s.params)} scalars`);
    const r = adapter.regularizer(s.params);
    if (r.size !== 1) fail(adapter, "regularizer", `shape [${r.shape}] is not a scalar`);
    const v = Number((await r.data())[0]);
    if (!Number.isFinite(v)) fail(adapter, "regularizer", `value ${v} is not finite`);
  });
  return laws;
}

/** The top-level key of each leaf of a params object, in `treeLeaves` order. */
function leafKeys(params: unknown): string[] {
  if (params === null || typeof params !== "object" || Array.isArray(params) || "shape" in (params as object)) {
    return treeLeaves(params).map(() => "");
  }
  const obj = params as Record<string, unknown>;
  return Object.keys(obj).sort().flatMap((k) => treeLeaves(obj[k]).map(() => k));
}

/**
 * Runs every adapter law (`adapterLaws`) with fast-check; throws a DomainError naming the adapter,
 * the law and the measured discrepancy on the first failure. On a random float64 base layer
 * (`out` × `in`, with a bias) and parameters moved off their initial values by `perturb` (manifold
 * points retracted, so they stay on their manifolds), the laws are:
 * - at `init` the layer equals the base where `identityAtInit` is true;
 * - `apply(p, f, x) = x·merge(p, f)ᵀ + bias`, and `apply` keeps leading batch axes (`x` as `[1, batch, in]`);
 * - `unmerge(p, f, merge(p, f)) = f.weight`;
 * - each of `orthogonalFactors(p, f)` has `‖QᵀQ − I‖_F ≤ orthoTol` and each parameter that is a
 *   manifold point (`Point`) has `constraintViolation ≤ orthoTol`, also after `steps` steps of
 *   `optimizer` when one is given (so give your Riemannian optimizer to check it keeps them there);
 * - the gradients with respect to every parameter leaf and to x match finite differences;
 * - `trainableCount(p)` counts the scalars of `p`, and `regularizer(p)` is a finite scalar.
 * An adapter of your own is checked the same way (see `Adapter` in `adapters` for a full one).
 * @param adapter the adapter under test
 * @param opts sizes, tolerances, perturbation, optimizer, runs
 * @example
 * ```ts
 * import { hra } from "@tangent/tangent/adapters";
 * import { riemannianAdam } from "@tangent/tangent/manifolds";
 * import { checkAdapterLaws } from "@tangent/tangent/testing";
 * await checkAdapterLaws(hra({ r: 4 }), { numRuns: 1 });
 * // an exactly orthogonal variant, also checked after 3 Riemannian Adam steps
 * await checkAdapterLaws(hra({ r: 4, manifold: "stiefel" }), { numRuns: 1, optimizer: riemannianAdam({ lr: 1e-2 }) });
 * ```
 */
export async function checkAdapterLaws(adapter: AnyAdapter, opts: AdapterLawOptions = {}): Promise<void> {
  for (const law of adapterLaws(adapter, opts)) {
    await fc.assert(law.property, { numRuns: opts.numRuns ?? 3, seed: opts.seed, includeErrorInReport: true });
  }
}
