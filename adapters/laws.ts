/**
 * The laws every adapter satisfies, as fast-check properties: what `checkAdapterLaws` runs on each
 * built-in adapter, and what a researcher's own adapter should pass.
 *
 * On a random base layer (float64, or float32 with `dtype`) and parameters perturbed away from their initial values (so
 * nothing sits at an identity start):
 * - `trainableCount(p)` is the number of scalars in p, every parameter has the base weight's dtype,
 *   and `regularizer(p)` is a finite scalar
 * - `toPeft(p)` (where it exists) changes with every parameter (a parameter it leaves out would not
 *   be saved), under the prefix it is given, and `peftConfig()` has a `peft_type`
 * - at `init` the adapted layer equals the base layer, where `adapter.identityAtInit` promises it
 * - `apply(p, f, x) = x · merge(p, f)ᵀ + bias`, and `apply` keeps leading batch axes (`[1, batch, in]`
 *   gives `[1, batch, out]`)
 * - `unmerge(p, f, merge(p, f)) = f.weight`
 * - `orthogonalFactors` are orthogonal (`‖QᵀQ − I‖_F ≤ orthoTol`), and every parameter that is a
 *   manifold point is on its manifold (`constraintViolation ≤ orthoTol`), also after `steps`
 *   optimizer steps when an optimizer is given
 * - the gradients of `sum(apply(p, f, x) ⊙ G) + regularizer(p)` with respect to every parameter
 *   leaf and to x match central finite differences (`checkGrad`)
 * @module
 */
import fc from "fast-check";
import type { IAsyncProperty } from "../testing/fast_check.ts";
import { DomainError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { abs, add, eye, matmulT, max, mul, norm, reshape, sub, sum } from "../core/ops/mod.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { type Key, key as makeKey, normal, split } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { grad } from "../autodiff/grad.ts";
import { checkGrad, type CheckGradOptions } from "../autodiff/check.ts";
import { checkLawNumbers, runLaw } from "../manifolds/laws.ts";
import { checkFloatDTypeOption } from "../manifolds/arbitraries.ts";
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
  /**
   * Element type of the base layer, x and the cotangent (default float64). In float32 the default
   * tolerances are 1e-5 and the gradients are still compared in float64 (`checkGrad` converts the
   * parameters and x; the frozen float32 weight is exact in float64).
   */
  dtype?: "float32" | "float64";
  /** Runs per property (default 3). */
  numRuns?: number;
  /**
   * fast-check seed (default: a random one, which a failure's message prints): the same seed draws the
   * same cases and reproduces the same failure.
   */
  seed?: number;
  /** Relative tolerance of the identities (default 1e-9 in float64, 1e-5 in float32). */
  tol?: number;
  /** Standard deviation of the perturbation added to each parameter (default 0.1; manifold leaves are retracted). */
  perturb?: number;
  /**
   * Tolerance on `‖QᵀQ − I‖_F` of `orthogonalFactors` and on manifold parameters' `constraintViolation`
   * (default 1e-9 in float64, 1e-5 in float32).
   */
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

const ADAPTER_LAW_KEYS = optionKeys<AdapterLawOptions>({
  out: true,
  in: true,
  batch: true,
  bias: true,
  dtype: true,
  numRuns: true,
  seed: true,
  tol: true,
  perturb: true,
  orthoTol: true,
  optimizer: true,
  steps: true,
  detachedGradients: true,
  gradCheck: true,
});

const GRAD_CHECK_KEYS = optionKeys<CheckGradOptions>({ eps: true, rtol: true, atol: true, maxCoords: true });

function checkAdapterLawOptions(op: string, opts: AdapterLawOptions): void {
  checkOptions(op, opts, ADAPTER_LAW_KEYS, "{ numRuns: 3, seed: 1 }");
  checkLawNumbers(op, opts, {
    out: "int",
    in: "int",
    batch: "int",
    numRuns: "int",
    seed: "seed",
    tol: "nonneg",
    perturb: "nonneg",
    orthoTol: "nonneg",
    steps: "int",
  });
  checkFloatDTypeOption(op, opts.dtype);
  if (opts.bias !== undefined && typeof opts.bias !== "boolean") {
    throw new DomainError(`${op}: option bias must be true or false, got ${String(opts.bias)}`);
  }
  const o = opts.optimizer as Partial<LawOptimizer> | undefined;
  if (o !== undefined && (typeof o?.init !== "function" || typeof o?.update !== "function")) {
    throw new DomainError(
      `${op}: option optimizer must have init(params) and update(grads, state, params), such as riemannianAdam({ lr: 1e-2 })`,
    );
  }
  if (opts.gradCheck !== undefined) {
    checkOptions(`${op}: gradCheck`, opts.gradCheck, GRAD_CHECK_KEYS, "{ rtol: 1e-5 }");
    checkLawNumbers(`${op}: gradCheck`, opts.gradCheck, {
      eps: "pos",
      rtol: "nonneg",
      atol: "nonneg",
      maxCoords: "int",
    });
  }
  const d = opts.detachedGradients;
  if (d !== undefined && (!Array.isArray(d) || d.some((k) => typeof k !== "string"))) {
    throw new DomainError(`${op}: option detachedGradients must be an array of parameter keys, such as ["A", "B"]`);
  }
}

/** One named adapter law as a fast-check property over seeds. */
export interface AdapterLaw {
  /** What the law says. */
  name: string;
  /** The property. */
  property: IAsyncProperty<[number]>;
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

/** Fails unless `got` has `want`'s shape and `max|got − want| ≤ tol · max(1, max|want|)`. */
async function expectClose(
  a: AnyAdapter,
  law: string,
  what: [string, string],
  got: Tensor,
  want: Tensor,
  tol: number,
): Promise<void> {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    fail(a, law, `${what[0]} has shape [${got.shape.join(", ")}], ${what[1]} [${want.shape.join(", ")}]`);
  }
  const err = await maxAbs(sub(got, want)), scale = Math.max(1, await maxAbs(want));
  if (!(err <= tol * scale)) {
    fail(a, law, `max|${what[0]} − ${what[1]}| = ${err} > tol ${tol} × max(1, max|${what[1]}|) = ${tol * scale}`);
  }
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

/** The base layer's sizes and the parameters' perturbation, defaults filled in. */
function layerOf(opts: AdapterLawOptions): { out: number; inF: number; batch: number; perturb: number } {
  return { out: opts.out ?? 6, inF: opts.in ?? 8, batch: opts.batch ?? 3, perturb: opts.perturb ?? 0.1 };
}

/**
 * The adapter laws as named fast-check properties over integer seeds (for running one by one).
 * @param adapter the adapter under test (its options fix r, block sizes, …)
 * @param opts sizes, dtype, tolerances, perturbation, optimizer (numRuns and seed are fc.assert's here)
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { lora } from "@tangent/tangent/adapters";
 * import { adapterLaws } from "@tangent/tangent/testing";
 * for (const law of adapterLaws(lora({ r: 2 }))) await fc.assert(law.property, { numRuns: 2 });
 * ```
 */
export function adapterLaws(adapter: AnyAdapter, opts: AdapterLawOptions = {}): AdapterLaw[] {
  checkAdapterLawOptions("adapterLaws", opts);
  if (opts.numRuns !== undefined || opts.seed !== undefined) {
    throw new DomainError(
      "adapterLaws: numRuns and seed go to fast-check here, fc.assert(law.property, { numRuns, seed }); " +
        "checkAdapterLaws takes them as options",
    );
  }
  const { out, inF, batch, perturb: scale } = layerOf(opts);
  const dtype = opts.dtype ?? "float64", defaultTol = dtype === "float64" ? 1e-9 : 1e-5;
  const tol = opts.tol ?? defaultTol, orthoTol = opts.orthoTol ?? defaultTol;
  const setup = (seed: number): Setup => {
    const [kw, kb, ki, kp, kx, kg] = split(makeKey(seed), 6);
    const weight = normal(kw, [out, inF], { dtype });
    const base: LinearBase = opts.bias === false ? { weight } : { weight, bias: normal(kb, [out], { dtype }) };
    const { params: params0, frozen } = adapter.init(ki, base);
    const params = perturb(params0, kp, scale);
    const x = normal(kx, [batch, inF], { dtype });
    const G = normal(kg, [batch, out], { dtype });
    return { base, params0, params, frozen, x, G };
  };
  const laws: AdapterLaw[] = [];
  const law = (name: string, body: (s: Setup) => Promise<void>): void => {
    laws.push({
      name,
      property: fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => body(setup(seed))),
    });
  };

  law(
    "trainableCount counts the scalars of params, in the base layer's dtype; the regularizer is a finite scalar",
    async (s) => {
      const keys = leafKeys(s.params);
      for (const [i, l] of treeLeaves(s.params).entries()) {
        if (l.dtype !== s.base.weight.dtype) {
          fail(
            adapter,
            "dtype",
            `init made parameter ${keys[i] || i} [${
              l.shape.join(", ")
            }] ${l.dtype} for a ${s.base.weight.dtype} base ` +
              `layer; build them in the base weight's dtype (the dtype option of zeros, normal, M.random: ` +
              `manifold points default to float32)`,
          );
        }
      }
      const n = adapter.trainableCount(s.params);
      if (n !== countScalars(s.params)) fail(adapter, "trainableCount", `${n} ≠ ${countScalars(s.params)} scalars`);
      const r = adapter.regularizer(s.params);
      if (r.size !== 1) fail(adapter, "regularizer", `regularizer(p) has shape [${r.shape.join(", ")}], not a scalar`);
      const v = Number((await r.data())[0]);
      if (!Number.isFinite(v)) fail(adapter, "regularizer", `regularizer(p) = ${v} is not finite`);
    },
  );

  law("toPeft saves every parameter, under the prefix; peftConfig has a peft_type", async (s) => {
    // savePeftAdapter writes what toPeft returns: a parameter it leaves out is lost on saving
    if (adapter.toPeft) {
      const leaves = treeLeaves(s.params), keys = leafKeys(s.params);
      const saved = Object.values(adapter.toPeft(s.params));
      const keysOf = split(makeKey(leaves.length), Math.max(2, leaves.length));
      for (let i = 0; i < leaves.length; i++) {
        // moving leaf i alone must move what is saved (whatever layout toPeft gives it)
        const moved = leaves.map((l, j) => (j === i ? add(l, normal(keysOf[i], l.shape, { dtype: l.dtype })) : l));
        const after = Object.values(adapter.toPeft(treeUnflatten(s.params, moved)));
        let changed = after.length !== saved.length;
        for (let j = 0; !changed && j < after.length; j++) {
          changed = after[j].size !== saved[j].size ||
            Number((await max(abs(sub(after[j], saved[j]))).data())[0]) > 0;
        }
        if (!changed) {
          const name = leafName(keys, keys[i], i);
          fail(
            adapter,
            "toPeft",
            `toPeft(p) does not change when parameter ${name} [${leaves[i].shape.join(", ")}] does (it gives ${
              Object.entries(adapter.toPeft(s.params)).map(([k, t]) => `${k} [${t.shape.join(", ")}]`).join(", ")
            }); savePeftAdapter writes only what toPeft returns, so ${name} would not be saved: name every ` +
              `parameter, or leave toPeft out (the params are then saved under their pytree paths)`,
          );
        }
      }
      const off = Object.keys(adapter.toPeft(s.params, { prefix: "m" })).filter((k) => !k.startsWith("m."));
      if (off.length) {
        fail(adapter, "toPeft", `toPeft(p, { prefix: "m" }) gives names not under "m.": ${off.join(", ")}`);
      }
    }
    if (adapter.peftConfig) {
      const c = adapter.peftConfig() as { peft_type?: unknown } | undefined;
      if (typeof c?.peft_type !== "string" || c.peft_type === "") {
        fail(
          adapter,
          "peftConfig",
          `peftConfig() gives peft_type ${JSON.stringify(c?.peft_type)}; return one, ` +
            `tangentPeftConfig("MY_TYPE", { ...options }) for a method of your own`,
        );
      }
    }
  });

  law("at init the adapted layer equals the base layer (where promised)", async (s) => {
    if (!adapter.identityAtInit) return;
    await expectClose(
      adapter,
      "identity at init",
      ["apply(init, x)", "base layer(x)"],
      adapter.apply(s.params0, s.frozen, s.x),
      linear(s.x, s.base.weight, s.base.bias),
      tol,
    );
  });

  law("apply(p, f, x) = x·merge(p, f)ᵀ + bias, batch axes kept", async (s) => {
    const y = adapter.apply(s.params, s.frozen, s.x);
    if (y.dtype !== s.x.dtype) {
      fail(adapter, "dtype", `apply(p, f, x) is ${y.dtype} for x and a base layer of ${s.x.dtype}`);
    }
    const viaMerge = linear(s.x, adapter.merge(s.params, s.frozen), s.frozen.bias);
    await expectClose(adapter, "apply = merge", ["apply(p, f, x)", "x·merge(p, f)ᵀ + bias"], y, viaMerge, tol);
    const x3 = reshape(s.x, [1, batch, inF]);
    const y3 = adapter.apply(s.params, s.frozen, x3);
    await expectClose(
      adapter,
      "batch axes",
      ["apply on x of [1, batch, in]", "apply on x of [batch, in], as [1, batch, out]"],
      y3,
      reshape(y, [1, batch, out]),
      tol,
    );
  });

  law("unmerge(merge(W)) = W", async (s) => {
    const merged = adapter.merge(s.params, s.frozen);
    const back = adapter.unmerge(s.params, s.frozen, merged);
    await expectClose(
      adapter,
      "unmerge ∘ merge",
      ["unmerge(p, f, merge(p, f))", "f.weight"],
      back,
      s.frozen.weight,
      tol,
    );
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
    const keys = leafKeys(s.params);
    const unknown = [...skip].filter((k) => !keys.includes(k));
    if (unknown.length) {
      fail(
        adapter,
        "gradients",
        `detachedGradients names ${unknown.map((k) => `"${k}"`).join(", ")}, not a key of params ` +
          `(the keys are ${[...new Set(keys)].map((k) => `"${k}"`).join(", ")})`,
      );
    }
    const all = [...leaves, s.x];
    const free = [...keys.map((k) => !skip.has(k)), true];
    const names = [...keys.map((k, i) => leafName(keys, k, i)), "x"].filter((_, i) => free[i]);
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
      const inputs = names.map((n, i) => `${i} = ${n} [${args[i].shape.join(", ")}]`).join(", ");
      fail(
        adapter,
        "gradients",
        `of sum(apply(p, f, x) ⊙ G) + regularizer(p): ${(e as Error).message} (inputs: ${inputs})` +
          zeroGradientHint(loss, args, names),
      );
    }
    return Promise.resolve();
  });

  return laws;
}

/**
 * The usual cause when a parameter's whole autodiff gradient is 0 (and the check failed): it is
 * used only inside a constant to autodiff, `frozenLinear`'s weight or a `stopGradient`.
 */
function zeroGradientHint(loss: (...xs: Tensor[]) => Tensor, args: Tensor[], names: string[]): string {
  let zero: string[];
  try {
    const gs = grad(loss, { argnums: args.map((_, i) => i) })(...args) as Tensor[];
    zero = names.filter((n, i) => n !== "x" && args[i].size > 0 && max(abs(gs[i])).item() === 0);
  } catch {
    return "";
  }
  if (zero.length === 0) return "";
  return `; ${zero.join(", ")} get${zero.length === 1 ? "s" : ""} no gradient at all: a parameter used only ` +
    `inside frozenLinear's weight (frozenLinear(x, W + D)) or behind stopGradient is a constant to autodiff; ` +
    `add its term outside, frozenLinear(x, W, b).add(x.matmul(D.mT))`;
}

/** `key` for a top-level leaf, `key.j` for the j-th leaf under one key. */
function leafName(keys: readonly string[], k: string, i: number): string {
  if (!k) return `leaf ${i}`;
  const first = keys.indexOf(k), count = keys.filter((x) => x === k).length;
  return count === 1 ? k : `${k}.${i - first}`;
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
 * Runs every adapter law (`adapterLaws`) with fast-check. On the first failure it throws a
 * DomainError whose first line names the adapter, the law and the measured error against its
 * tolerance (or the exception the adapter threw, with its first stack frames), and whose second
 * line gives the base layer's sizes and the fast-check seed that replays it: pass that `seed` back
 * to get the same failure. Options are checked: an unknown name or a value of the wrong kind is a
 * DomainError. On a random base layer (`out` × `in`, with a bias, float64 unless `dtype` says
 * float32) and parameters moved off
 * their initial values by `perturb` (manifold points retracted, so they stay on their manifolds),
 * the laws are:
 * - `trainableCount(p)` counts the scalars of `p`, each parameter has the base weight's dtype
 *   (and so has `apply`'s output), and `regularizer(p)` is a finite scalar;
 * - where they exist, `toPeft(p)` changes with every parameter (it is what `savePeftAdapter` writes:
 *   a parameter it leaves out is not saved) and puts its names under the `prefix` it is given, and
 *   `peftConfig()` has a `peft_type`;
 * - at `init` the layer equals the base where `identityAtInit` is true;
 * - `apply(p, f, x) = x·merge(p, f)ᵀ + bias`, and `apply` keeps leading batch axes (`x` as `[1, batch, in]`
 *   gives `[1, batch, out]`);
 * - `unmerge(p, f, merge(p, f)) = f.weight`;
 * - each of `orthogonalFactors(p, f)` has `‖QᵀQ − I‖_F ≤ orthoTol` and each parameter that is a
 *   manifold point (`Point`) has `constraintViolation ≤ orthoTol`, also after `steps` steps of
 *   `optimizer` when one is given (so give your Riemannian optimizer to check it keeps them there);
 * - the gradients with respect to every parameter leaf and to x match finite differences (the
 *   message names the parameter by its key: `input 1 … (inputs: 0 = A [8, 2], 1 = B [6, 2], …)`).
 * An adapter of your own is checked the same way (see `Adapter` in `adapters` for a full one).
 * @param adapter the adapter under test
 * @param opts sizes, dtype, tolerances, perturbation, optimizer, runs, seed
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
  checkAdapterLawOptions("checkAdapterLaws", opts);
  const { out, inF, batch, perturb } = layerOf(opts);
  const where =
    `on a ${opts.dtype ?? "float64"} ${out} × ${inF} base layer ${opts.bias === false ? "without" : "with"} a bias, ` +
    `x of [${batch}, ${inF}], params perturbed by ${perturb}`;
  const { numRuns: _n, seed: _s, ...lawOpts } = opts;
  for (const law of adapterLaws(adapter, lawOpts)) {
    await runLaw(
      adapter.kind,
      where,
      law.name,
      law.property,
      { numRuns: opts.numRuns ?? 3, seed: opts.seed },
      (c) => `the case drawn from key(${c})`,
    );
  }
}
