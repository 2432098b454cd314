/**
 * Model configurations: a Hugging Face `config.json` read into one typed description of a
 * decoder-only transformer, for the GPT-2 family and the Llama family (Llama, Mistral, Qwen2).
 * @module
 */
import { FormatError } from "../core/errors.ts";

/** The architectures `loadModel` runs. */
export type Architecture = "gpt2" | "llama";

/** The `model_type`s read, and the architecture each runs as. */
export const SUPPORTED_MODEL_TYPES: Readonly<Record<string, Architecture>> = {
  gpt2: "gpt2",
  llama: "llama",
  mistral: "llama",
  qwen2: "llama",
};

/** The MLP activations `activation` runs (transformers' `ACT2FN` names). */
const ACTIVATIONS = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu", "silu", "swish"];

/** The config's activation, checked when the config is read rather than on the first forward pass. */
function activationOf(raw: Record<string, unknown>, field: string, fallback: string): string {
  const name = String(raw[field] ?? fallback);
  if (!ACTIVATIONS.includes(name)) {
    throw new FormatError(
      `config: ${field} '${name}' is not supported; Tangent runs ${ACTIVATIONS.join(", ")}`,
    );
  }
  return name;
}

/** How RoPE's frequencies are scaled (transformers' `rope_type`). */
export interface RopeConfig {
  /** θ in 1/θ^(2i/d). */
  theta: number;
  /**
   * "default"; "linear" (frequencies / factor); "llama3" (Llama 3.1's smooth band); "yarn"
   * (YaRN: a ramp between interpolated and original frequencies, cos and sin times an attention
   * factor); "longrope" (LongRoPE, Phi-3's: frequency i divided by `shortFactor[i]` while a forward
   * pass's longest position stays within `originalMaxPositions`, by `longFactor[i]` beyond, cos and
   * sin times an attention factor at every length); "dynamic" (NTK scaling, which changes nothing up
   * to `max_position_embeddings`, the positions Tangent runs, so it runs as "default").
   */
  type: "default" | "linear" | "llama3" | "yarn" | "longrope" | "dynamic";
  /** The scaling factor ("linear", "llama3", "yarn"; "longrope": only for its default attention factor). */
  factor?: number;
  /** Llama 3.1: low-frequency factor. */
  lowFreqFactor?: number;
  /** Llama 3.1: high-frequency factor. */
  highFreqFactor?: number;
  /**
   * Llama 3.1, YaRN, LongRoPE: the context length the frequencies were trained for (`parseConfig`
   * resolves it as transformers does: a top-level `original_max_position_embeddings` first, then
   * the RoPE parameters', then `max_position_embeddings`).
   */
  originalMaxPositions?: number;
  /**
   * YaRN, LongRoPE: cos and sin are multiplied by this (resolved when absent: YaRN's from `factor`,
   * `mscale`, `mscale_all_dim`; LongRoPE's √(1 + ln factor / ln originalMaxPositions), 1 for factor ≤ 1).
   */
  attentionFactor?: number;
  /** YaRN: rotations at which the ramp starts extrapolating (default 32). */
  betaFast?: number;
  /** YaRN: rotations at which the ramp ends (default 1). */
  betaSlow?: number;
  /** YaRN: round the ramp's ends outwards to whole dimensions (default true). */
  truncate?: boolean;
  /** LongRoPE: per-frequency divisors (headDim / 2 of them) for sequences up to `originalMaxPositions`. */
  shortFactor?: readonly number[];
  /** LongRoPE: per-frequency divisors (headDim / 2 of them) for longer sequences. */
  longFactor?: readonly number[];
}

/** A decoder-only transformer's shape and conventions, whatever the config file called them. */
export interface ModelConfig {
  /** The config's own `model_type` (`gpt2`, `llama`, `mistral`, `qwen2`). */
  readonly modelType: string;
  /** The forward pass it runs. */
  readonly architecture: Architecture;
  /** Vocabulary size V. */
  readonly vocabSize: number;
  /** Width of the residual stream. */
  readonly hiddenSize: number;
  /** Number of transformer blocks. */
  readonly numLayers: number;
  /** Attention heads (queries). */
  readonly numHeads: number;
  /** Key/value heads (grouped-query attention; equal to `numHeads` without grouping). */
  readonly numKvHeads: number;
  /** Width of one head. */
  readonly headDim: number;
  /** Width of the MLP's hidden layer. */
  readonly intermediateSize: number;
  /** The longest sequence the positions cover. */
  readonly maxPositions: number;
  /** ε of LayerNorm (GPT-2) or RMSNorm (Llama). */
  readonly normEps: number;
  /** The output projection shares the token embedding. */
  readonly tieWordEmbeddings: boolean;
  /** RoPE (Llama family). */
  readonly rope?: RopeConfig;
  /** Tokens a query sees back (Mistral's and Qwen2's sliding window); absent: all earlier tokens. */
  readonly slidingWindow?: number;
  /**
   * Which layers use `slidingWindow` (Qwen2's `layer_types`, from `max_window_layers` when the
   * config has none: layers i ≥ max_window_layers slide); absent: every layer does.
   */
  readonly layerTypes?: readonly ("full_attention" | "sliding_attention")[];
  /** GPT-2: divide attention scores by (layer index + 1) too. */
  readonly scaleAttnByInverseLayerIdx?: boolean;
  /** GPT-2: scale attention scores by 1/√headDim (`scale_attn_weights`, default true); false: unscaled. */
  readonly scaleAttnWeights?: boolean;
  /** The MLP's activation: `gelu_new` (GPT-2's tanh form), `gelu`, `relu` or `silu`. */
  readonly activation: string;
  /** Token ids from the config (absent when it names none). */
  readonly bosTokenId?: number;
  /** End-of-sequence id. */
  readonly eosTokenId?: number;
  /** The config file as read, written back unchanged when the model is saved. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function int(raw: Record<string, unknown>, names: readonly string[], fallback?: number): number {
  for (const n of names) {
    const v = raw[n];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new FormatError(
        `config: ${n} must be a non-negative integer, got ${JSON.stringify(v)}; correct it in config.json`,
      );
    }
    return v;
  }
  if (fallback !== undefined) return fallback;
  throw new FormatError(
    `config: ${
      names.join(" / ")
    } is missing; the ${raw.model_type} config needs it (add it to config.json, as the model's original config has it)`,
  );
}

function real(raw: Record<string, unknown>, name: string, fallback: number): number {
  const v = raw[name] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new FormatError(
      `config: ${name} must be a finite number, got ${JSON.stringify(v)}; correct it in config.json`,
    );
  }
  return v;
}

function tokenId(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (Array.isArray(v) && typeof v[0] === "number") return v[0];
  return undefined;
}

const ROPE_TYPES = ["default", "linear", "llama3", "yarn", "longrope", "dynamic"];

/** LongRoPE's `short_factor` or `long_factor`: one finite positive divisor per rotated frequency. */
function longropeFactors(params: Record<string, unknown>, field: string, half: number): number[] {
  const v = params[field];
  if (v === undefined || v === null) {
    throw new FormatError(
      `config: rope_type 'longrope' needs rope_parameters.${field}, a list of head_dim / 2 = ${half} numbers`,
    );
  }
  if (!Array.isArray(v) || v.length !== half) {
    throw new FormatError(
      `config: rope_parameters.${field} has ${
        Array.isArray(v) ? `${v.length} entries` : JSON.stringify(v)?.slice(0, 60)
      }; ` +
        `longrope needs one per frequency, head_dim / 2 = ${half}`,
    );
  }
  const bad = v.findIndex((x) => typeof x !== "number" || !Number.isFinite(x) || x <= 0);
  if (bad >= 0) {
    throw new FormatError(
      `config: rope_parameters.${field}[${bad}] = ${JSON.stringify(v[bad])}; longrope's factors are positive ` +
        `numbers, correct it in config.json`,
    );
  }
  return v as number[];
}

function ropeOf(raw: Record<string, unknown>, headDim: number): RopeConfig {
  // transformers 5 writes `rope_parameters`; 4.x wrote `rope_theta` and `rope_scaling`
  const params = (raw.rope_parameters ?? raw.rope_scaling ?? {}) as Record<string, unknown>;
  const theta = Number(params.rope_theta ?? raw.rope_theta ?? 10000);
  const type = String(params.rope_type ?? params.type ?? "default") as RopeConfig["type"];
  if (!ROPE_TYPES.includes(type)) {
    throw new FormatError(
      `config: rope_type '${type}' (rope_parameters / rope_scaling) is not supported; Tangent runs ` +
        `${ROPE_TYPES.join(", ")}`,
    );
  }
  const partial = params.partial_rotary_factor ?? raw.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    // transformers 5.18's Llama, Mistral and Qwen2 rotate whole heads: their default RoPE ignores the
    // field, the scaled types build cos/sin for part of the head and the forward pass fails on the shapes
    throw new FormatError(
      `config: partial_rotary_factor = ${JSON.stringify(partial)} is not supported: the ${raw.model_type} ` +
        `architecture rotates whole heads. transformers 5.18's Llama, Mistral and Qwen2 do not rotate part of a ` +
        `head either (with rope_type 'default' they ignore the field and rotate all head_dim = ${headDim} ` +
        `dimensions; with a scaled rope_type their cos/sin cover only part of the head and the forward pass ` +
        `fails); remove the field or set it to 1 for whole-head RoPE`,
    );
  }
  const num = (k: string) => (params[k] === undefined || params[k] === null ? undefined : Number(params[k]));
  const rope: RopeConfig = {
    theta,
    type,
    factor: num("factor"),
    lowFreqFactor: num("low_freq_factor"),
    highFreqFactor: num("high_freq_factor"),
    originalMaxPositions: num("original_max_position_embeddings"),
  };
  if (type !== "yarn" && type !== "llama3" && type !== "longrope") return rope;
  // transformers' standardize_rope_params (run again when the model is built): a top-level
  // original_max_position_embeddings (Phi-3's place for it) wins, else the RoPE parameters', else
  // max_position_embeddings
  const maxPositions = int(raw, ["max_position_embeddings"], 2048);
  const given = rope.originalMaxPositions;
  if (given !== undefined && !(Number.isInteger(given) && given > 0)) {
    throw new FormatError(
      `config: rope_parameters.original_max_position_embeddings must be a positive integer, got ${
        JSON.stringify(params.original_max_position_embeddings)
      }; correct it in config.json`,
    );
  }
  const original = int(raw, ["original_max_position_embeddings"], rope.originalMaxPositions ?? maxPositions);
  if (!(original > 0)) {
    throw new FormatError(
      `config: original_max_position_embeddings must be a positive integer, got ${original}; correct it in config.json`,
    );
  }
  if (type === "llama3") return { ...rope, originalMaxPositions: original };
  if (type === "longrope") {
    // transformers' _compute_longrope_parameters: factor defaults to max / original, the attention
    // factor to √(1 + ln factor / ln original) (1 for factor ≤ 1)
    const half = Math.floor(headDim / 2);
    const factor = rope.factor ?? maxPositions / original;
    if (!Number.isFinite(factor)) {
      throw new FormatError(
        `config: rope_parameters.factor must be a number, got ${
          JSON.stringify(params.factor)
        }; correct it in config.json`,
      );
    }
    const attentionFactor = num("attention_factor") ??
      (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
    if (!(attentionFactor >= 0) || !Number.isFinite(attentionFactor)) {
      throw new FormatError(
        `config: rope_parameters.attention_factor must be a number ≥ 0, got ${JSON.stringify(params.attention_factor)}`,
      );
    }
    return {
      ...rope,
      factor,
      originalMaxPositions: original,
      attentionFactor,
      shortFactor: longropeFactors(params, "short_factor", half),
      longFactor: longropeFactors(params, "long_factor", half),
    };
  }
  // transformers' _compute_yarn_parameters: factor defaults to max / original, the attention factor
  // to 0.1·ln(factor) + 1 (or DeepSeek's mscale ratio)
  const factor = rope.factor ?? maxPositions / original;
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const m = num("mscale"), mAll = num("mscale_all_dim");
  return {
    ...rope,
    factor,
    originalMaxPositions: original,
    attentionFactor: num("attention_factor") ??
      (m && mAll ? mscale(factor, m) / mscale(factor, mAll) : mscale(factor)),
    betaFast: num("beta_fast") || 32,
    betaSlow: num("beta_slow") || 1,
    truncate: params.truncate !== false,
  };
}

/** Qwen2's attention type per layer: `layer_types`, or sliding from `max_window_layers` (default 28) on. */
function qwen2LayerTypes(raw: Record<string, unknown>, numLayers: number): ("full_attention" | "sliding_attention")[] {
  const given = raw.layer_types;
  if (given === undefined || given === null) {
    const from = int(raw, ["max_window_layers"], 28);
    return Array.from({ length: numLayers }, (_, i) => (i >= from ? "sliding_attention" : "full_attention"));
  }
  if (
    !Array.isArray(given) || given.length !== numLayers ||
    given.some((t) => t !== "full_attention" && t !== "sliding_attention")
  ) {
    throw new FormatError(
      `config: layer_types ${JSON.stringify(given)?.slice(0, 120)} is not supported; Tangent runs one of ` +
        `"full_attention" or "sliding_attention" per layer (${numLayers} entries, one per num_hidden_layers)`,
    );
  }
  return given;
}

/**
 * Reads a Hugging Face `config.json` (parsed) into a `ModelConfig`. An unsupported `model_type`
 * is a `FormatError` naming the supported ones.
 * @example
 * ```ts
 * import { parseConfig } from "@tangent/tangent";
 * const c = parseConfig({ model_type: "gpt2", vocab_size: 64, n_embd: 32, n_layer: 2, n_head: 2, n_positions: 32 });
 * c.headDim; // 16
 * ```
 */
export function parseConfig(raw: Record<string, unknown>): ModelConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FormatError(
      `config: expected a JSON object (config.json), got ${
        JSON.stringify(raw)?.slice(0, 40)
      }; pass the parsed file, JSON.parse(text)`,
    );
  }
  const modelType = String(raw.model_type ?? "");
  const architecture = SUPPORTED_MODEL_TYPES[modelType];
  if (!modelType) {
    throw new FormatError(
      `config: config.json has no model_type; add the one the checkpoint was saved with (Tangent loads ${
        Object.keys(SUPPORTED_MODEL_TYPES).join(", ")
      })`,
    );
  }
  if (!architecture) {
    throw new FormatError(
      `config: model_type '${modelType}' is not supported; Tangent loads ${
        Object.keys(SUPPORTED_MODEL_TYPES).join(", ")
      }`,
    );
  }
  const common = {
    modelType,
    architecture,
    vocabSize: int(raw, ["vocab_size"]),
    bosTokenId: tokenId(raw.bos_token_id),
    eosTokenId: tokenId(raw.eos_token_id),
    raw,
  };
  if (architecture === "gpt2") {
    const hidden = int(raw, ["n_embd", "hidden_size"]);
    const heads = int(raw, ["n_head", "num_attention_heads"]);
    if (hidden % heads !== 0) {
      throw new FormatError(
        `config: n_embd = ${hidden} is not a multiple of n_head = ${heads}; each head takes n_embd / n_head features, so correct one of them in config.json`,
      );
    }
    if (raw.add_cross_attention === true) {
      throw new FormatError("config: GPT-2 with add_cross_attention is an encoder-decoder; Tangent runs decoders only");
    }
    return {
      ...common,
      hiddenSize: hidden,
      numLayers: int(raw, ["n_layer", "num_hidden_layers"]),
      numHeads: heads,
      numKvHeads: heads,
      headDim: hidden / heads,
      intermediateSize: int(raw, ["n_inner"], 4 * hidden),
      maxPositions: int(raw, ["n_positions", "max_position_embeddings"]),
      normEps: real(raw, "layer_norm_epsilon", 1e-5),
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
      scaleAttnByInverseLayerIdx: raw.scale_attn_by_inverse_layer_idx === true,
      scaleAttnWeights: raw.scale_attn_weights !== false,
      activation: activationOf(raw, "activation_function", "gelu_new"),
    };
  }
  const hidden = int(raw, ["hidden_size"]);
  const heads = int(raw, ["num_attention_heads"]);
  const kvHeads = int(raw, ["num_key_value_heads"], heads);
  if (heads % kvHeads !== 0) {
    throw new FormatError(
      `config: num_attention_heads = ${heads} is not a multiple of num_key_value_heads = ${kvHeads}; each key/value ` +
        `head serves num_attention_heads / num_key_value_heads query heads, so correct one of them in config.json`,
    );
  }
  const numLayers = int(raw, ["num_hidden_layers"]);
  const headDim = int(raw, ["head_dim"], Math.floor(hidden / heads));
  // transformers: Llama has no sliding window (it ignores the field), Mistral slides in every layer,
  // Qwen2 only with use_sliding_window and only in the layers its layer_types name
  const window = raw.sliding_window;
  const useWindow = typeof window === "number" &&
    (modelType === "mistral" || (modelType === "qwen2" && raw.use_sliding_window === true));
  const layerTypes = modelType === "qwen2" && useWindow ? qwen2LayerTypes(raw, numLayers) : undefined;
  return {
    ...common,
    hiddenSize: hidden,
    numLayers,
    numHeads: heads,
    numKvHeads: kvHeads,
    headDim,
    intermediateSize: int(raw, ["intermediate_size"]),
    maxPositions: int(raw, ["max_position_embeddings"], 2048),
    normEps: real(raw, "rms_norm_eps", 1e-6),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    rope: ropeOf(raw, headDim),
    slidingWindow: useWindow ? (window as number) : undefined,
    layerTypes,
    activation: activationOf(raw, "hidden_act", "silu"),
  };
}
