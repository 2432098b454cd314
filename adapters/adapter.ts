/**
 * The adapter contract and the helpers every adapter shares: the base linear layer, PEFT tensor
 * names, parameter counting and PyTorch's initialisers.
 *
 * Layout is PyTorch's throughout: a weight is `out × in` and a layer computes `y = x Wᵀ + b` for
 * `x` of shape `[..., in]`.
 * @module
 */
import { DomainError, FormatError, ShapeError } from "../core/errors.ts";
import { add, full, matmulT, reshape } from "../core/ops/mod.ts";
import { treeLeaves, treePaths } from "../core/pytree.ts";
import { stopGradient } from "../autodiff/grad.ts";
import { type Key, uniform } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import { getBackend, registerBackend } from "../core/backend/backend.ts";
import type { DType } from "../core/dtype.ts";

/** A linear layer: `weight` is `out × in` (PyTorch layout), `bias` is `[out]`. */
export interface LinearBase {
  /** The weight, `out × in`. */
  readonly weight: Tensor;
  /** The bias, `[out]` (absent: none). */
  readonly bias?: Tensor;
}

/**
 * What an adapter does not train: the (possibly re-initialised) base weight and bias, plus the
 * adapter's own fixed tensors (VeRA's shared projections), the default frozen type of `Adapter`.
 * Its index signature lets any adapter's frozen tensors pass where one kind of adapter is not
 * known (`AdaptedLayer.frozen`), so an extra field read through `Frozen` is `Tensor | undefined`;
 * an adapter with fields of its own names them in its frozen type instead, `Adapter<P, F>` with
 * `F` any `LinearBase` that has them (`LinearBase & { u0: Tensor }`, an interface extending
 * `LinearBase` or `Frozen`), and reads `f.u0` as a `Tensor`.
 */
export interface Frozen extends LinearBase {
  /** Adapter-specific frozen tensors. */
  readonly [name: string]: Tensor | undefined;
}

/** Options naming tensors the way PEFT's state dict does. */
export interface PeftNameOptions {
  /**
   * Module path put in front, e.g. `"base_model.model.proj"` (default: none, so names start at
   * the adapter's own tensor, e.g. `lora_A.weight`).
   */
  prefix?: string;
  /**
   * The adapter name PEFT inserts in memory (`lora_A.default.weight`); leave it out for the
   * on-disk names (`lora_A.weight`), which also drop `.weight` where PEFT does (DoRA's magnitude).
   */
  adapterName?: string;
}

/**
 * An adapter's config as PEFT serialises it in `adapter_config.json`: `peft_type` and the method's
 * own fields under PEFT's names (`r`, `lora_alpha`, `use_dora`, `apply_GS`, `oft_block_size`, …).
 * Module-level fields (`target_modules`, `fan_in_fan_out`, `base_model_name_or_path`, `task_type`)
 * belong to the folder, not to one adapter. Two Tangent additions, which PEFT ignores or refuses:
 * - `tangent`: an object of Tangent-only options on a PEFT type (HRA's `lambda`, a `manifold`,
 *   VeRA's `projection_key`) that change training, not the forward PEFT rebuilds; PEFT's
 *   `PeftConfig.from_pretrained` drops unknown keys with a warning, its config classes reject them,
 *   so strip it (`const { tangent, ...peft } = config`) for a clean PEFT file;
 * - a `peft_type` PEFT 0.21 does not have (`SORSA`, `POLAR`, `LOKH`, `HRA_FOLDED`) with
 *   `library: "tangent"` and a `note`: only Tangent's `fromPeft` loads those.
 */
export interface PeftConfig {
  /** "LORA", "HRA", "OFT", "BOFT", "LOHA", "LOKR", "VERA", or a Tangent-only type. */
  peft_type: string;
  /** The method's fields (`r`, `lora_alpha`, `use_dora`, `apply_GS`, `oft_block_size`, …). */
  [field: string]: unknown;
}

/**
 * A PEFT config with Tangent-only options under `tangent`, left out when every one is undefined.
 * @example
 * ```ts
 * import { withTangentExtras } from "./adapter.ts";
 * withTangentExtras({ peft_type: "HRA", r: 4 }, { lambda: 1e-4 }); // { peft_type: "HRA", r: 4, tangent: { lambda: 1e-4 } }
 * withTangentExtras({ peft_type: "HRA", r: 4 }, { lambda: undefined }); // { peft_type: "HRA", r: 4 }
 * ```
 */
export function withTangentExtras(config: PeftConfig, extras: Record<string, unknown>): PeftConfig {
  const set = Object.entries(extras).filter(([, v]) => v !== undefined);
  return set.length ? { ...config, tangent: Object.fromEntries(set) } : config;
}

/**
 * A config for a method PEFT 0.21 does not have: `peft_type`, the fields that rebuild it, and
 * `library: "tangent"` with a note saying who loads it.
 * @example
 * ```ts
 * import { tangentPeftConfig } from "@tangent/tangent/adapters";
 * tangentPeftConfig("SORSA", { r: 4, alpha: 4 }).library; // "tangent"
 * // an adapter of your own: peftConfig: () => tangentPeftConfig("ETHER_PLUS", {}), so savePeftAdapter writes it
 * ```
 */
export function tangentPeftConfig(peftType: string, fields: Record<string, unknown>): PeftConfig {
  if (typeof peftType !== "string" || peftType.length === 0) {
    throw new FormatError(
      `tangentPeftConfig: the PEFT type must be a non-empty string such as "MY_METHOD", got ${String(peftType)}`,
    );
  }
  const reader = TANGENT_TYPES.has(peftType.toUpperCase())
    ? "Tangent's loadPeftAdapter / fromPeft loads it"
    : `a method of your own: Tangent's loadPeftAdapter reads it given a reader, loadPeftAdapter(model, dir, { adapters: { ${peftType}: ({ config, base, tensors }) => ({ adapter, params, frozen }) } })`;
  return { peft_type: peftType, ...fields, library: "tangent", note: `PEFT 0.21 has no ${peftType} type; ${reader}` };
}

/** The Tangent-only types `fromPeft` reads (see its readers). */
const TANGENT_TYPES = new Set(["SORSA", "POLAR", "LOKH", "HRA_FOLDED"]);

/**
 * A pytree's tensors under Tangent's own names: each leaf's dotted path (`treePaths`: `A`, `B`,
 * `U.0`; `params` for a tree that is one tensor) after `prefix`, with `adapterName` as a segment
 * after the first (where PEFT puts it: `A.default`, `U.default.0`). What `adapt`, `adaptModel` and
 * `savePeftAdapter` name the params of an adapter without `toPeft`; manifold points keep their tag.
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { tangentTensorNames } from "@tangent/tangent/adapters";
 * Object.keys(tangentTensorNames({ B: zeros([3, 2]), U: [zeros([4])] }, { prefix: "base_model.model.proj" }));
 * // ["base_model.model.proj.B", "base_model.model.proj.U.0"]
 * ```
 */
export function tangentTensorNames(tree: unknown, opts: PeftNameOptions = {}): Record<string, Tensor> {
  const pre = opts.prefix ? `${opts.prefix}.` : "";
  const leaves = treeLeaves(tree);
  const out: Record<string, Tensor> = {};
  treePaths(tree).forEach((path, i) => {
    const [first, ...rest] = (path === "" ? "params" : path).split(".");
    const name = opts.adapterName ? [first, opts.adapterName, ...rest].join(".") : [first, ...rest].join(".");
    out[pre + name] = leaves[i];
  });
  return out;
}

/**
 * A parameter-efficient adapter of one linear layer. Every function is pure; `params` is a pytree
 * (its leaves may be manifold points), `frozen` holds what is not trained.
 *
 * Laws (checked by `checkAdapterLaws` in `./testing`): `apply(p, f, x) = x·merge(p, f)ᵀ + bias`,
 * keeping x's leading axes; `unmerge(p, f, merge(p, f)) = f.weight`; at `init` the adapted layer
 * equals the base where `identityAtInit` says so; `trainableCount(p)` is the number of scalars in
 * `p`, each in the base weight's dtype; `regularizer(p)` is a finite scalar; autodiff gradients
 * match finite differences; manifold parameters and `orthogonalFactors` stay on their manifolds;
 * `toPeft` (what `savePeftAdapter` writes) changes with every parameter.
 *
 * A method of your own is an object of this shape: a manifold-constrained factor is a `Point` from
 * `manifolds` (train it with `riemannianAdam`), the base path goes through `frozenLinear` (which
 * treats its weight as a constant: a trainable term inside it, `frozenLinear(x, W + D)`, gets no
 * gradient, and the gradient law reports `autodiff 0`),
 * `countScalars` and `zeroLike` fill in `trainableCount` and a `regularizer` the method lacks,
 * `peftConfig` (for `savePeftAdapter`) is `tangentPeftConfig` of a type name of your own, and
 * `loadPeftAdapter(model, dir, { adapters: { MY_TYPE: reader } })` reads the folder back. `toPeft`
 * may be left out (its params are then named by their pytree paths, `tangentTensorNames`), and
 * frozen tensors of its own are typed by naming them in `F` (second example).
 * @example LoRA with A on the Stiefel manifold, checked by the law suite
 * ```ts
 * import { type Tensor, zeros } from "@tangent/tangent";
 * import { type Adapter, countScalars, frozenLinear, tangentPeftConfig, zeroLike } from "@tangent/tangent/adapters";
 * import { type Point, type Stiefel, stiefel } from "@tangent/tangent/manifolds";
 * import { checkAdapterLaws } from "@tangent/tangent/testing";
 * type P = { A: Point<Stiefel>; B: Tensor }; // ΔW = B Aᵀ, A ∈ St(in, r), B = 0 at init
 * const stiefelLora = (r: number): Adapter<P> => ({
 *   kind: "stiefel_lora",
 *   identityAtInit: true,
 *   init: (k, { weight, bias }) => {
 *     const dtype = weight.dtype === "float64" ? "float64" : "float32";
 *     const A = stiefel(weight.shape[1], r).random(k, { dtype });
 *     return { params: { A, B: zeros([weight.shape[0], r], { dtype }) }, frozen: { weight, bias } };
 *   },
 *   apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(p.A).matmul(p.B.mT)),
 *   merge: (p, f) => f.weight.add(p.B.matmul(p.A.mT)),
 *   unmerge: (p, _f, merged) => merged.sub(p.B.matmul(p.A.mT)),
 *   regularizer: zeroLike,
 *   trainableCount: countScalars,
 *   toPeft: (p, o) => {
 *     const pre = o?.prefix ? `${o.prefix}.` : ""; // PEFT's names: `${prefix}.lora_A.weight`
 *     return { [`${pre}lora_A.weight`]: p.A.mT, [`${pre}lora_B.weight`]: p.B };
 *   },
 *   orthogonalFactors: (p) => [p.A],
 *   peftConfig: () => tangentPeftConfig("STIEFEL_LORA", { r }),
 * });
 * await checkAdapterLaws(stiefelLora(2), { numRuns: 1 });
 * ```
 * @example A frozen tensor of its own (LoRA-FA: A drawn once and frozen), typed in F; no toPeft
 * ```ts
 * import { normal, type Tensor, zeros } from "@tangent/tangent";
 * import { type Adapter, countScalars, frozenLinear, type LinearBase, tangentPeftConfig, zeroLike } from "@tangent/tangent/adapters";
 * import { checkAdapterLaws } from "@tangent/tangent/testing";
 * type F = LinearBase & { A: Tensor }; // f.A is a Tensor: no `f.A!`
 * const loraFa = (r: number): Adapter<{ B: Tensor }, F> => ({
 *   kind: "lora_fa",
 *   identityAtInit: true,
 *   init: (k, { weight, bias }) => {
 *     const dtype = weight.dtype === "float64" ? "float64" : "float32", [out, inF] = weight.shape;
 *     const A = normal(k, [r, inF], { dtype }).div(Math.sqrt(inF));
 *     return { params: { B: zeros([out, r], { dtype }) }, frozen: { weight, bias, A } };
 *   },
 *   apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(f.A.mT).matmul(p.B.mT)),
 *   merge: (p, f) => f.weight.add(p.B.matmul(f.A)),
 *   unmerge: (p, f, merged) => merged.sub(p.B.matmul(f.A)),
 *   regularizer: zeroLike,
 *   trainableCount: countScalars,
 *   // no toPeft: B is saved as `<module>.B`; the frozen A must be saved too, to rebuild the layer
 *   frozenToPeft: (f, o) => ({ [`${o?.prefix ? `${o.prefix}.` : ""}lora_fa_A`]: f.A }),
 *   peftConfig: () => tangentPeftConfig("LORA_FA", { r }), // loadPeftAdapter's adapters.LORA_FA reads it back
 * });
 * await checkAdapterLaws(loraFa(2), { numRuns: 1 });
 * ```
 */
export interface Adapter<P = unknown, F extends LinearBase = Frozen> {
  /** Short method name (`"lora"`, `"hra"`, …). */
  readonly kind: string;
  /** Whether `init` promises an adapted layer equal to the base layer. */
  readonly identityAtInit: boolean;
  /** Trainable parameters and frozen tensors for `base`, drawn from `key`. */
  init(key: Key, base: LinearBase): { params: P; frozen: F };
  /** The adapted layer on a batch `x` of shape `[..., in]`: `[..., out]`. */
  apply(params: P, frozen: F, x: Tensor): Tensor;
  /** The adapted weight, `out × in`. */
  merge(params: P, frozen: F): Tensor;
  /** The base weight that `merge` maps to `merged` (its inverse for these params). */
  unmerge(params: P, frozen: F, merged: Tensor): Tensor;
  /** The method's regularising loss (a scalar; 0 where the method has none). */
  regularizer(params: P): Tensor;
  /** Number of trainable scalars. */
  trainableCount(params: P): number;
  /**
   * `params` (or gradients shaped like them) under PEFT's tensor names. Every built-in has it; a
   * method with no PEFT names may leave it out, and `adapt`, `adaptModel` and `savePeftAdapter`
   * then name its params by their pytree paths (`tangentTensorNames`: `<module>.A`, `<module>.B`),
   * which only a config of a type of your own may carry (`savePeftAdapter` refuses PEFT's types).
   */
  toPeft?(tree: P, opts?: PeftNameOptions): Record<string, Tensor>;
  /**
   * Matrices the method keeps orthogonal (square, or with orthonormal columns), for the laws and
   * for `orthogonalityError`; absent or empty where there are none. May build dense matrices.
   */
  orthogonalFactors?(params: P, frozen: F): Tensor[];
  /**
   * The method's config as PEFT names it (see `PeftConfig`), enough for `fromPeft` (and, for the
   * PEFT types, PEFT itself) to rebuild this adapter from it and `toPeft(params)` plus
   * `frozenToPeft(frozen)`; module-level fields are left to the folder writer. `savePeftAdapter`
   * needs it: a method of your own that PEFT does not have returns
   * `tangentPeftConfig("MY_METHOD", { ...its options })`, which `fromPeft` does not read;
   * `loadPeftAdapter(model, dir, { adapters: { MY_METHOD: reader } })` reads such a folder back.
   */
  peftConfig?(): PeftConfig;
  /**
   * The frozen tensors besides the base layer that `fromPeft` needs to rebuild `frozen`, by the
   * names it reads (VeRA's `vera_A`/`vera_B`, a folded HRA's `hra_u0`); absent or empty where the
   * base layer and the config suffice.
   */
  frozenToPeft?(frozen: F, opts?: PeftNameOptions): Record<string, Tensor>;
  /**
   * The adapter to put on each of `bases` when one adapter serves several layers (`adapt` and
   * `adaptModel` call it before `init`): VeRA draws its one pair of shared projections at the
   * widest layer's size, so every layer's are slices of it, as PEFT keeps them. Absent where layers
   * share nothing.
   */
  forLayers?(bases: readonly LinearBase[]): Adapter<P, F>;
}

/**
 * An adapter that names its tensors as PEFT does and describes itself by a config: every built-in
 * (`lora`, `hra`, `oft`, …) and what `fromPeft` rebuilds, so `toPeft` and `peftConfig` need no `!`.
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { lora, type PeftAdapter } from "@tangent/tangent/adapters";
 * const ad: PeftAdapter = lora({ r: 2 });
 * ad.peftConfig().peft_type; // "LORA"
 * ```
 */
export interface PeftAdapter<P = unknown, F extends LinearBase = Frozen> extends Adapter<P, F> {
  /** `params` (or gradients shaped like them) under PEFT's tensor names. */
  toPeft(tree: P, opts?: PeftNameOptions): Record<string, Tensor>;
  /** The method's config as PEFT names it (see `Adapter.peftConfig`). */
  peftConfig(): PeftConfig;
}

/**
 * `x Wᵀ + b` for `x` of shape `[..., in]` (flattened to one matrix product).
 * @example
 * ```ts
 * import { ones, zeros } from "@tangent/tangent";
 * import { linear } from "@tangent/tangent/adapters";
 * linear(ones([5, 4]), ones([3, 4]), zeros([3])); // [5, 3], every entry 4
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  checkTensor("linear", x, "x");
  checkTensor("linear", weight, "weight");
  const [out, inF] = weight.shape;
  if (x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(
      `linear: input [${x.shape}] has ${x.shape[x.ndim - 1]} features, the weight [${weight.shape}] expects ${inF}`,
    );
  }
  const y = rowsMatmulT(x, weight);
  const yb = bias ? add(y, bias) : y;
  return x.ndim === 2 ? yb : reshape(yb, [...x.shape.slice(0, -1), out]);
}

/**
 * `x Wᵀ + b` for a frozen layer: W and b are constants to autodiff, so a backward pass computes
 * only x's cotangent `G W` and never the weight gradient `Gᵀx` (a full out × in × batch product
 * that a frozen weight does not need). Every adapter's base path goes through it.
 * @example
 * ```ts
 * import { grad, ones, sum } from "@tangent/tangent";
 * import { frozenLinear } from "@tangent/tangent/adapters";
 * const W = ones([3, 4]);
 * grad((x) => sum(frozenLinear(x, W)))(ones([5, 4])); // d/dx = 1ᵀW: every entry 3
 * ```
 */
export function frozenLinear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  checkTensor("frozenLinear", x, "x");
  checkTensor("frozenLinear", weight, "weight");
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, x.shape[x.ndim - 1]]);
  if (x2.shape[1] !== weight.shape[1]) {
    throw new ShapeError(
      `linear: input [${x.shape}] has ${x.shape[x.ndim - 1]} features, the weight [${weight.shape}] expects ${
        weight.shape[1]
      }`,
    );
  }
  // a constant weight: matmul's VJP is told nobody differentiates it and skips its cotangent
  const y = rowsMatmulT(x2, stopGradient(weight));
  return unflattenRows(x, bias ? add(y, stopGradient(bias)) : y);
}

/** `x2 Mᵀ` with `x` flattened to rows `[n, k]` and `M` `[m, k]`: `[n, m]`. */
export function rowsMatmulT(x: Tensor, m: Tensor): Tensor {
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, x.shape[x.ndim - 1]]);
  return matmulT(x2, m, false, true);
}

/** `x2 M` with `x` flattened to rows `[n, k]` and `M` `[k, m]`: `[n, m]`. */
export function rowsMatmul(x: Tensor, m: Tensor): Tensor {
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, x.shape[x.ndim - 1]]);
  return matmulT(x2, m, false, false);
}

/** Restores the leading axes of `x` on a row matrix `y2` `[n, m]`. */
export function unflattenRows(x: Tensor, y2: Tensor): Tensor {
  return x.ndim === 2 ? y2 : reshape(y2, [...x.shape.slice(0, -1), y2.shape[1]]);
}

/**
 * Throws a DomainError naming `op` unless the scale option `alpha` is absent or a finite number:
 * NaN or ±∞ made every output NaN, silently, from the first step (LoRA's B is zero at init).
 */
export function checkAlpha(op: string, alpha: unknown): void {
  if (alpha === undefined || (typeof alpha === "number" && Number.isFinite(alpha))) return;
  const got = typeof alpha === "string" ? `"${alpha}" (a string)` : String(alpha);
  throw new DomainError(
    `${op}: alpha = ${got} must be a finite number (the update is scaled by alpha / r); leave it out for the default`,
  );
}

/** Checks that `base.weight` is a matrix and returns `[out, in]`. */
export function baseShape(op: string, base: LinearBase): [number, number] {
  const w = base?.weight;
  if (!w || w.ndim !== 2) {
    throw new ShapeError(`${op}: base.weight must be an out × in matrix, got ${w ? `[${w.shape}]` : String(w)}`);
  }
  if (base.bias && (base.bias.ndim !== 1 || base.bias.shape[0] !== w.shape[0])) {
    throw new ShapeError(`${op}: base.bias [${base.bias.shape}] must be [${w.shape[0]}] for weight [${w.shape}]`);
  }
  return [w.shape[0], w.shape[1]];
}

/**
 * Number of scalars in a pytree's tensor leaves (an adapter's `trainableCount`).
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { countScalars } from "@tangent/tangent/adapters";
 * countScalars({ A: zeros([4, 2]), B: [zeros([3])] }); // 11
 * ```
 */
export function countScalars(tree: unknown): number {
  return treeLeaves(tree).reduce((n, t) => n + t.size, 0);
}

/**
 * A scalar 0 of the dtype and on the backend of the first leaf of `tree` (float32 when it has none):
 * the `regularizer` of an adapter that has none.
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { zeroLike } from "@tangent/tangent/adapters";
 * zeroLike({ B: zeros([3], { dtype: "float64" }) }); // 0, float64
 * ```
 */
export function zeroLike(tree: unknown): Tensor {
  const l = treeLeaves(tree)[0];
  return full([], 0, { dtype: l?.dtype ?? "float32", like: l });
}

/**
 * PyTorch's `kaiming_uniform_(t, a=√5)` bound for a matrix `[fanOut, fanIn]`: U(±1/√fanIn), the
 * default initialisation of `nn.Linear` and of LoRA's A.
 */
export function kaimingUniform(key: Key, shape: readonly number[], dtype: DType): Tensor {
  const bound = 1 / Math.sqrt(shape[shape.length - 1]);
  return uniform(key, shape, { dtype, min: -bound, max: bound });
}

/**
 * Runs an adapter's `init` with the backend `base.weight` lives on as the default, so its random
 * draws and constants (which have no tensor input to follow) land beside the base: a base on WebGPU
 * with the CPU as the default gave CPU parameters, and `apply` then failed mixing backends. Internal
 * (not exported from the adapters' module).
 */
export function onBaseBackend<R>(base: LinearBase, fn: () => R): R {
  const prev = getBackend(), own = base?.weight?.backend;
  if (!own || own === prev) return fn();
  registerBackend(own, true); // already registered under its name: this only makes it the default
  try {
    return fn();
  } finally {
    registerBackend(prev, true);
  }
}

/** The float dtype adapters compute in for `base`. */
export function floatDType(base: LinearBase): "float32" | "float64" {
  const d = base.weight.dtype;
  return d === "float64" ? "float64" : "float32";
}

/**
 * One PEFT tensor: the param key in Tangent's pytree, PEFT's module name, and the suffix after the
 * adapter name in memory (`".weight"` or `""`) and on disk.
 */
export interface PeftTensorName {
  /** Key in the adapter's params object. */
  key: string;
  /** PEFT's name, e.g. `lora_A`. */
  peft: string;
  /** Suffix in memory (`lora_A.default.weight` → `".weight"`). */
  memory: string;
  /** Suffix on disk (`lora_magnitude_vector` → `""`). */
  disk: string;
}

/** Builds a PEFT name table entry. */
export function peftName(key: string, peft: string, memory = "", disk = memory): PeftTensorName {
  return { key, peft, memory, disk };
}

/** Renames `tree[key]` to PEFT's names (see `PeftNameOptions`). */
export function renameToPeft(
  names: readonly PeftTensorName[],
  tree: Record<string, unknown>,
  opts: PeftNameOptions = {},
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const pre = opts.prefix ? `${opts.prefix}.` : "";
  for (const n of names) {
    const t = tree[n.key] as Tensor | undefined;
    if (t === undefined) continue;
    const name = opts.adapterName ? `${n.peft}.${opts.adapterName}${n.memory}` : `${n.peft}${n.disk}`;
    out[pre + name] = t;
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Where PEFT's tensor `peft` sits in a state-dict key: the module prefix before it (`""` for none)
 * and the adapter-name segment after it (undefined for none), or undefined when `key` is not a
 * name of `peft` (see `findPeftKey`).
 * @example
 * ```ts
 * import { parsePeftKey } from "./adapter.ts";
 * parsePeftKey("base_model.model.proj.lora_A.default.weight", "lora_A"); // { prefix: "base_model.model.proj", segment: "default" }
 * ```
 */
export function parsePeftKey(
  key: string,
  peft: string,
  adapterName?: string,
): { prefix: string; segment?: string } | undefined {
  const name = adapterName ? `\\.(${escapeRe(adapterName)})` : "(?:\\.([A-Za-z0-9_-]+))?";
  const m = new RegExp(`(^|\\.)${escapeRe(peft)}${name}(\\.weight)?$`).exec(key);
  if (!m) return undefined;
  // "x.lora_A.weight": the optional segment would swallow "weight"; it is the suffix
  const segment = m[2] === "weight" && m[3] === undefined ? undefined : m[2];
  return { prefix: key.slice(0, m.index), segment };
}

/**
 * The key of PEFT's tensor `peft` in a state dict: any key ending in `peft`, optionally followed by
 * an adapter name and/or `.weight` (`x.lora_A.default.weight`, `x.lora_A.weight`, `lora_A`).
 * Throws a FormatError when it is missing (unless `optional`) or ambiguous.
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { findPeftKey } from "./adapter.ts";
 * findPeftKey({ "m.lora_A.weight": zeros([2, 3]), "m.lora_B.weight": zeros([4, 2]) }, "lora_A"); // "m.lora_A.weight"
 * ```
 */
export function findPeftKey(
  tensors: Record<string, Tensor>,
  peft: string,
  opts: { adapterName?: string; optional?: boolean } = {},
): string | undefined {
  const uniq = Object.keys(tensors).filter((k) => parsePeftKey(k, peft, opts.adapterName) !== undefined);
  if (uniq.length === 0) {
    if (opts.optional) return undefined;
    throw new FormatError(
      `fromPeft: no tensor named like '${peft}' among [${Object.keys(tensors).join(", ")}]; pass PEFT's state dict`,
    );
  }
  if (uniq.length > 1) {
    throw new FormatError(
      `fromPeft: several tensors match '${peft}' ([${uniq.join(", ")}]); pass adapterName to choose one`,
    );
  }
  return uniq[0];
}

/**
 * Finds PEFT's tensor `peft` in a state dict (see `findPeftKey` for the names it matches). Throws a
 * FormatError when it is missing (unless `optional`) or ambiguous.
 */
export function findPeftTensor(
  tensors: Record<string, Tensor>,
  peft: string,
  opts: { adapterName?: string; optional?: boolean } = {},
): Tensor | undefined {
  const k = findPeftKey(tensors, peft, opts);
  return k === undefined ? undefined : tensors[k];
}
