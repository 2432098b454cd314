/**
 * A model with adapters on some of its linear modules: the base stays frozen, the adapters'
 * parameters are the model's parameters (a pytree by module path), and the forward pass routes
 * each adapted module through its adapter, as PEFT's `get_peft_model` does.
 * @module
 */
import { FormatError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, astype, full } from "../core/ops/mod.ts";
import { treeMap } from "../core/pytree.ts";
import { foldIn, type Key, key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  type Adapter,
  type Frozen,
  onBaseBackend,
  type PeftNameOptions,
  tangentTensorNames,
} from "../adapters/adapter.ts";
import { type AdaptTarget, targetMatcher } from "../adapters/adapt.ts";
import type { ModelConfig } from "./config.ts";
import type { CausalLM, ForwardOptions, LinearHook, LinearModule, ModelParams } from "./model.ts";
import { defaultLinear, getPath } from "./model.ts";
import { widenHalf } from "./nn.ts";

/** One adapted module: its adapter and what it keeps frozen (the base weight and bias included). */
export interface AdaptedLayer<P = unknown> {
  /** The adapter of this module. */
  // deno-lint-ignore no-explicit-any
  readonly adapter: Adapter<P, any>;
  /** The adapter's frozen tensors for this module. */
  readonly frozen: Frozen;
}

/**
 * A base model with adapters: a `CausalLM` whose parameters are the adapters' (by module path),
 * so `valueAndGrad` and the optimizers train exactly them.
 */
export interface AdaptedModel<P = unknown> extends CausalLM<Record<string, P>> {
  /** The frozen base model. */
  readonly base: CausalLM;
  /** The adapted module paths, in model order. */
  readonly paths: readonly string[];
  /** Each adapted module's adapter and frozen tensors. */
  readonly layers: Readonly<Record<string, AdaptedLayer<P>>>;
  /**
   * The base parameters with each adapted weight replaced by its merged weight (and its bias by the one the
   * adapter runs with, where that differs: a bias PEFT trained under `bias = "lora_only"`). An adapted `lm_head`
   * that is the token embedding (tied) is a `FormatError` naming the fix (untie it): its merged weight would
   * change the token lookup too, which is what PEFT's `merge_and_unload` does, giving another model.
   */
  merge(params: Record<string, P>): ModelParams;
  /** Sum of the adapters' regularisers (0 where a method has none). */
  regularizer(params: Record<string, P>): Tensor;
  /** Trainable scalars over all adapted modules. */
  trainableCount(params: Record<string, P>): number;
  /**
   * The parameters under PEFT's state-dict names (`base_model.model.<path>.<tensor>`); for an
   * adapter without `toPeft`, `<tensor>` is each param's pytree path (`tangentTensorNames`).
   */
  toPeft(params: Record<string, P>, opts?: PeftNameOptions): Record<string, Tensor>;
}

function replaceAt(tree: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [k, ...rest] = path;
  if (Array.isArray(tree)) return tree.map((v, i) => (String(i) === k ? replaceAt(v, rest, value) : v));
  const o = tree as Record<string, unknown>;
  return { ...o, [k]: replaceAt(o[k], rest, value) };
}

/** The token embedding a tied head reads: GPT-2's `wte`, the Llama family's `embed_tokens`. */
function embeddingPath(config: ModelConfig): string {
  return config.architecture === "gpt2" ? "transformer.wte.weight" : "model.embed_tokens.weight";
}

/** Is `lm_head` of `model` its token embedding (`tie_word_embeddings`, no weight of its own)? */
function tiedHead(model: CausalLM): boolean {
  return model.config.tieWordEmbeddings && !model.linearPaths.includes("lm_head");
}

/**
 * The modules an adapter can go on, in model order: the linear modules (`model.linearPaths`) and, where
 * the head is tied to the token embedding (GPT-2; Llama or Qwen2 with `tie_word_embeddings`), `lm_head`,
 * whose weight is the embedding's (PEFT wraps that `nn.Linear` too).
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * import { adaptablePaths } from "./adapted.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const model = createModel(config, initModel(config, key(0)));
 * adaptablePaths(model).at(-1); // "lm_head" (model.linearPaths ends at transformer.h.0.mlp.c_proj)
 * ```
 */
export function adaptablePaths(model: CausalLM): readonly string[] {
  return tiedHead(model) ? [...model.linearPaths, "lm_head"] : model.linearPaths;
}

/**
 * The linear module at `path` of a parameter tree of `model` (default its own): `{ weight, bias? }`, and for
 * a tied `lm_head` `{ weight }` with the token embedding's weight (the very tensor).
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * import { linearModuleAt } from "./adapted.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const model = createModel(config, initModel(config, key(0)));
 * linearModuleAt(model, "lm_head").weight.shape; // [16, 8]: transformer.wte.weight
 * ```
 */
export function linearModuleAt(model: CausalLM, path: string, params: unknown = model.params): LinearModule {
  if (path === "lm_head" && tiedHead(model)) return { weight: getPath(params, embeddingPath(model.config)) as Tensor };
  return getPath(params, path) as LinearModule;
}

/**
 * `model` with its token embedding replaced by `weight`: a tied head reads it too, as in PyTorch, where
 * the two share one parameter (what PEFT loads into a tied `lm_head`'s base layer lands there).
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig, zeros } from "@tangent/tangent";
 * import { linearModuleAt, withEmbedding } from "./adapted.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const model = withEmbedding(createModel(config, initModel(config, key(0))), zeros([16, 8]));
 * linearModuleAt(model, "lm_head").weight.abs().max().item(); // 0
 * ```
 */
export function withEmbedding(model: CausalLM, weight: Tensor): CausalLM {
  const params = replaceAt(model.params, embeddingPath(model.config).split("."), weight) as ModelParams;
  return { ...model, params };
}

/**
 * An adapter's output on `x` `[..., in]` must be `[..., out]` with x's leading axes: a method of
 * one's own that drops them (or gives the wrong width) is named here, at its module, instead of
 * failing later inside the model with a shape that names neither.
 */
function checkedOutput<P>(path: string, l: AdaptedLayer<P>, x: Tensor, y: Tensor): Tensor {
  const out = l.frozen.weight.shape[0];
  const want = [...x.shape.slice(0, -1), out];
  if (y.ndim !== want.length || y.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `${path}: the ${l.adapter.kind} adapter's apply gave [${y.shape}] for x [${x.shape}]; a layer maps [..., in] ` +
        `to [..., out], here [${want}]: keep x's leading axes (checkAdapterLaws checks apply on a batched x)`,
    );
  }
  return y;
}

/**
 * The adapted model for given layers and parameters (what `adaptModel` and `loadPeftAdapter`
 * build).
 */
export function adaptedModel<P>(
  base: CausalLM,
  layers: Record<string, AdaptedLayer<P>>,
  params: Record<string, P>,
): AdaptedModel<P> {
  const paths = adaptablePaths(base).filter((p) => layers[p]);
  const route = (p: Record<string, P>, outer?: LinearHook): LinearHook => (path, m, x) => {
    const l = layers[path];
    if (l) return checkedOutput(path, l, x, l.adapter.apply(p[path], l.frozen, x));
    return (outer ?? defaultLinear)(path, m, x);
  };
  const forward = (p: Record<string, P>, ids: Tensor, opts: ForwardOptions = {}) =>
    base.forward(base.params, ids, { ...opts, linear: route(p, opts.linear) });
  return {
    config: base.config,
    params,
    linearPaths: base.linearPaths,
    base,
    paths,
    layers,
    forward,
    apply: (p, ids) => forward(p, ids).logits,
    merge(p) {
      if (layers.lm_head && tiedHead(base)) throw tiedMerge(base);
      let tree: unknown = base.params;
      for (const path of paths) {
        const m = getPath(base.params, path) as LinearModule;
        const { frozen, adapter } = layers[path];
        // the bias the adapter runs with: PEFT's bias = "lora_only" trained it (loadPeftAdapter keeps it frozen)
        const merged = { ...m, weight: adapter.merge(p[path], frozen), ...(frozen.bias && { bias: frozen.bias }) };
        tree = replaceAt(tree, path.split("."), merged);
      }
      return tree as ModelParams;
    },
    regularizer(p) {
      const w0 = linearModuleAt(base, paths[0]).weight;
      const zero = full([], 0, { dtype: w0.dtype === "float16" ? "float32" : w0.dtype, like: w0 });
      return paths.reduce<Tensor>((acc, path) => add(acc, layers[path].adapter.regularizer(p[path])), zero);
    },
    trainableCount: (p) => paths.reduce((n, path) => n + layers[path].adapter.trainableCount(p[path]), 0),
    toPeft(p, o = {}) {
      const out: Record<string, Tensor> = {};
      const prefix = o.prefix ?? "base_model.model";
      for (const path of paths) {
        const ad = layers[path].adapter, named = { ...o, prefix: `${prefix}.${path}` };
        Object.assign(out, ad.toPeft ? ad.toPeft(p[path], named) : tangentTensorNames(p[path], named));
      }
      return out;
    },
  };
}

/** Options of `adaptModel`. */
export interface AdaptModelOptions<P> {
  /**
   * Which linear modules: PEFT's `target_modules` names (`"q_proj,v_proj"`, `["c_attn"]`: a
   * module matches when its path equals a name or ends in `.name`), a RegExp on the path, or a
   * predicate.
   */
  target: AdaptTarget;
  /** The adapter put on each of them. */
  // deno-lint-ignore no-explicit-any
  adapter: Adapter<P, any>;
  /** Key for the adapters' init; the i-th adapted module uses `foldIn(key, i)` (default `key(0)`). */
  key?: Key;
}

/**
 * Puts `adapter` on every linear module of `model` whose path matches `target`, keeping the base
 * frozen. The result is a model whose `params` are the adapters' parameters; differentiate its
 * `apply` and step any optimizer on them. A target matching no module is a `FormatError` that
 * lists the linear modules. `lm_head` is a module also where the head is tied to the token embedding
 * (GPT-2; Llama or Qwen2 with `tie_word_embeddings`), as in PEFT: its adapter's base weight is the
 * frozen embedding (logits = h Wteᵀ + the adapter's change) and the embedding lookup is not adapted;
 * such a model's `merge` is a `FormatError` (it would change the lookup too). On a float16 base (`loadModel(dir, { dtype: "float16" })`) the
 * adapters' trainable parameters are float32 (the frozen weights stay float16).
 * @example
 * ```ts
 * import { adapters, adaptModel, createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 8 });
 * const model = createModel(config, initModel(config, key(0)));
 * const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) });
 * peft.paths; // ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]
 * peft.trainableCount(peft.params); // 2 · 2 · (8 + 24) = 128
 * ```
 */
export function adaptModel<P>(model: CausalLM, opts: AdaptModelOptions<P>): AdaptedModel<P> {
  if (!opts?.adapter || opts.target === undefined) {
    throw new FormatError(
      'adaptModel: give { target, adapter }, e.g. adaptModel(model, { target: "q_proj,v_proj", adapter: adapters.lora({ r: 8 }) })',
    );
  }
  checkOptions("adaptModel", opts, optionKeys<AdaptModelOptions<P>>({ target: true, adapter: true, key: true }));
  const found = adaptablePaths(model).filter(targetMatcher(opts.target));
  if (found.length === 0) {
    const shown = typeof opts.target === "function" ? "the predicate" : String(opts.target);
    throw new FormatError(
      `adaptModel: target ${shown} matches no linear module; the ${model.config.modelType} model's are ` +
        `${describeModules(adaptablePaths(model))}`,
    );
  }
  const k = opts.key ?? makeKey(0);
  const layers: Record<string, AdaptedLayer<P>> = {};
  const params: Record<string, P> = {};
  const bases = found.map((path) => linearModuleAt(model, path));
  // a float16 base (frozen weights loaded with dtype "float16"): the adapter initialises from the
  // weights widened to float32 (PiSSA's and SORSA's SVD, OFT's solves need float32 or float64), trains
  // its parameters in float32, and keeps what it freezes in float16 (the base's own tensors where
  // it froze them unchanged: no second copy)
  const wides = bases.map((m): LinearModule =>
    m.weight.dtype === "float16" ? { weight: widenHalf(m.weight), ...(m.bias ? { bias: widenHalf(m.bias) } : {}) } : m
  );
  // one adapter for all the layers (VeRA's shared projections at the widest layer's size)
  const adapter = opts.adapter.forLayers?.(wides) ?? opts.adapter;
  found.forEach((path, i) => {
    const m = bases[i], wide = wides[i], half = m.weight.dtype === "float16";
    const s = onBaseBackend(wide, () => adapter.init(foldIn(k, i), wide)); // beside the base, a method of one's own too
    params[path] = s.params; // float32 when the weight was widened
    const frozen = half
      ? treeMap(
        (t: Tensor) =>
          t === wide.weight ? m.weight : t === wide.bias ? m.bias : t.dtype === "float32" ? astype(t, "float16") : t,
        s.frozen,
      )
      : s.frozen;
    layers[path] = { adapter, frozen };
  });
  initialParams.add(params);
  return adaptedModel(model, layers, params);
}

/**
 * The `params` of `adaptModel`'s results: the adapters as initialised, so that `savePeftAdapter`
 * given no params can tell an untrained adapter from a loaded one.
 * @internal
 */
export const initialParams: WeakSet<object> = new WeakSet();

/**
 * Why an adapted tied head does not merge: its merged weight would be the token embedding's too. PEFT 0.21's
 * `merge_and_unload` adds ΔW to the shared parameter, so its merged model also looks tokens up in W + ΔW and is
 * another model than the adapted one (logits 8.8 apart, at most 2.1, for a LoRA on the tiny GPT-2's c_attn and
 * lm_head); Tangent refuses instead, naming the fix: untie the head, then adapt or load onto that model.
 */
function tiedMerge(model: CausalLM): FormatError {
  const emb = embeddingPath(model.config);
  return new FormatError(
    `merge: lm_head of this ${model.config.modelType} model is its token embedding ${emb} (tie_word_embeddings), ` +
      `so a merged lm_head would change the embedding lookup too (PEFT 0.21's merge_and_unload does that, and its ` +
      `merged model is not the adapted one); keep the adapter unmerged, or untie the head first and adapt that ` +
      `model (the adapter's params carry over): createModel(parseConfig({ ...model.config.raw, ` +
      `tie_word_embeddings: false }), { ...model.params, lm_head: { weight: <${emb}> } })`,
  );
}

/**
 * The distinct module names (last path segments) with an example path, for error messages.
 * @example
 * ```ts
 * import { describeModules } from "./adapted.ts";
 * describeModules(["h.0.c_attn", "h.0.c_proj", "h.1.c_attn"]); // "c_attn, c_proj (e.g. h.0.c_attn)"
 * ```
 */
export function describeModules(paths: readonly string[]): string {
  const names = [...new Set(paths.map((p) => p.split(".").pop()))];
  return `${names.join(", ")} (e.g. ${paths[0]})`;
}
