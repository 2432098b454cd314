/**
 * The layer functions decoder-only transformers share: normalisations, activations, rotary
 * position embeddings, causal (grouped-query) attention with a key/value cache, and the
 * next-token cross-entropy. Each is a few lines of core ops, so each is differentiable and runs
 * on every backend.
 * @module
 */
import { fmtShape, FormatError, ShapeError } from "../core/errors.ts";
import {
  add,
  arange,
  astype,
  concat,
  div,
  equal,
  gelu,
  logicalNot,
  logSoftmax,
  matmulT,
  maximum,
  mean,
  mul,
  neg,
  reciprocal,
  relu,
  reshape,
  sigmoid,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  take,
  tensor,
  transpose,
  where,
} from "../core/ops/mod.ts";
import { bind1 } from "../core/primitive.ts";
import { gatherP } from "../core/primitives.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import type { RopeConfig } from "./config.ts";

/**
 * `x` as float32 when it is float16, else `x`: a model with float16 weights (frozen, half the
 * memory) computes its activations in float32, so its norms, attention and residual sums never
 * round to float16; the float16 weights promote to float32 where they meet the activations.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { widenHalf } from "./nn.ts";
 * widenHalf(tensor([1, 2], { dtype: "float16" })).dtype; // "float32"
 * ```
 */
export function widenHalf(x: Tensor): Tensor {
  return x.dtype === "float16" ? astype(x, "float32") : x;
}

/**
 * Rows of an embedding table `weight` (`[vocab, dim]`) at the int32 token `ids`: `take(weight,
 * ids, 0)` as PyTorch's `F.embedding` reads it, so every id must lie in `[0, vocab)` (a negative id
 * is an error, not a row from the end). The gather checks the ids itself, on every backend and in
 * every `jit` replay, and its message names `op`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { embedding } from "@tangent/tangent/models";
 * const w = tensor([[0, 1], [2, 3], [4, 5]]);
 * embedding(w, tensor([[2, 0]], { dtype: "int32" })).shape; // [1, 2, 2]
 * ```
 */
export function embedding(weight: Tensor, ids: Tensor, op = "embedding"): Tensor {
  checkTensor(op, weight, "the embedding table");
  checkTensor(op, ids, "ids");
  if (weight.ndim < 1) throw new ShapeError(`${op}: the embedding table must have a vocabulary axis, got a scalar`);
  return bind1(gatherP, [weight, ids], { axis: 0, ids: op });
}

/** `1/√(v + ε)` */
function rsqrtEps(v: Tensor, eps: number): Tensor {
  return reciprocal(sqrt(add(v, eps)));
}

/**
 * LayerNorm over the last axis: `(x − mean) / √(var + ε) · weight + bias` (biased variance, as
 * PyTorch).
 * @example
 * ```ts
 * import { ones, tensor } from "@tangent/tangent";
 * import { layerNorm } from "@tangent/tangent/models";
 * layerNorm(tensor([[1, 2, 3]]), { weight: ones([3]) }, 1e-5); // ≈ [[-1.22, 0, 1.22]]
 * ```
 */
export function layerNorm(x: Tensor, p: { weight: Tensor; bias?: Tensor }, eps: number): Tensor {
  const d = sub(x, mean(x, { axis: -1, keepdims: true }));
  const y = mul(d, rsqrtEps(mean(mul(d, d), { axis: -1, keepdims: true }), eps));
  const w = mul(y, p.weight);
  return p.bias ? add(w, p.bias) : w;
}

/**
 * RMSNorm over the last axis: `x / √(mean(x²) + ε) · weight` (Llama).
 * @example
 * ```ts
 * import { ones, tensor } from "@tangent/tangent";
 * import { rmsNorm } from "@tangent/tangent/models";
 * rmsNorm(tensor([[3, 4]]), { weight: ones([2]) }, 0); // [[0.85, 1.13]]
 * ```
 */
export function rmsNorm(x: Tensor, p: { weight: Tensor }, eps: number): Tensor {
  return mul(mul(x, rsqrtEps(mean(mul(x, x), { axis: -1, keepdims: true }), eps)), p.weight);
}

/** `x · σ(x)` (SiLU, Llama's gate activation). */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/**
 * The activation a config names: `gelu_new`/`gelu_pytorch_tanh` (tanh form), `gelu`, `relu`,
 * `silu`/`swish`.
 */
export function activation(name: string): (x: Tensor) => Tensor {
  switch (name) {
    case "gelu_new":
    case "gelu_pytorch_tanh":
    case "gelu_fast":
      return (x) => gelu(x, { approximate: "tanh" });
    case "gelu":
      return (x) => gelu(x);
    case "relu":
      return relu;
    case "silu":
    case "swish":
      return silu;
    default:
      throw new FormatError(
        `activation: '${name}' is not supported; use gelu_new, gelu_pytorch_tanh, gelu, relu or silu`,
      );
  }
}

/**
 * RoPE's inverse frequencies `1/θ^(2i/d)`, scaled as the config says (transformers' rope types;
 * "dynamic" changes nothing within `max_position_embeddings`). `seqLen` is the length a forward
 * pass covers (cached positions plus new ones): LongRoPE divides by its long factors when it
 * exceeds `originalMaxPositions`, by its short factors otherwise (and when absent), as
 * transformers decides per call from the longest position. YaRN's and LongRoPE's attention factor
 * is not part of them: `ropeTables` takes it.
 * @example
 * ```ts
 * import { parseConfig, ropeInverseFrequencies } from "@tangent/tangent/models";
 * const c = parseConfig({
 *   model_type: "llama", vocab_size: 16, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
 *   intermediate_size: 16, max_position_embeddings: 64,
 *   rope_parameters: { rope_type: "longrope", rope_theta: 100, original_max_position_embeddings: 16,
 *     short_factor: [1, 1], long_factor: [1, 4] },
 * });
 * ropeInverseFrequencies(c.rope!, 4, 16)[1]; // 0.1: 1/100^(2/4) with the short factor 1
 * ropeInverseFrequencies(c.rope!, 4, 17)[1]; // 0.025: past 16 positions, with the long factor 4
 * ```
 */
export function ropeInverseFrequencies(rope: RopeConfig, headDim: number, seqLen?: number): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / headDim);
  if (rope.type === "linear") { for (let i = 0; i < half; i++) inv[i] /= rope.factor ?? 1; }
  if (rope.type === "llama3") {
    // Llama 3.1: long wavelengths divided by `factor`, short ones kept, a smooth blend between
    const factor = rope.factor ?? 8, lo = rope.lowFreqFactor ?? 1, hi = rope.highFreqFactor ?? 4;
    const old = rope.originalMaxPositions ?? 8192;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > old / lo) inv[i] /= factor;
      else if (wavelen >= old / hi) {
        const s = (old / wavelen - lo) / (hi - lo);
        inv[i] = (1 - s) * (inv[i] / factor) + s * inv[i];
      }
    }
  }
  if (rope.type === "longrope") {
    // LongRoPE (Ding et al. 2024): a searched divisor per frequency, one list for the trained
    // context, one for longer sequences
    const long = seqLen !== undefined && seqLen > (rope.originalMaxPositions ?? Infinity);
    const ext = long ? rope.longFactor : rope.shortFactor;
    if (!ext || ext.length !== half) {
      throw new ShapeError(
        `ropeInverseFrequencies: longrope needs ${long ? "longFactor" : "shortFactor"} with headDim / 2 = ${half} ` +
          `entries, got ${ext ? ext.length : "none"}`,
      );
    }
    for (let i = 0; i < half; i++) inv[i] /= ext[i];
  }
  if (rope.type === "yarn") {
    // YaRN (Peng et al. 2023): dimensions that turn fewer than beta_slow times over the original
    // context are interpolated (/ factor), those that turn more than beta_fast times are kept, a
    // linear ramp between
    const factor = rope.factor ?? 1, old = rope.originalMaxPositions ?? 2048;
    const dimOf = (rotations: number) =>
      (headDim * Math.log(old / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
    let lo = dimOf(rope.betaFast ?? 32), hi = dimOf(rope.betaSlow ?? 1);
    if (rope.truncate !== false) [lo, hi] = [Math.floor(lo), Math.ceil(hi)];
    lo = Math.max(lo, 0);
    hi = Math.min(hi, headDim - 1);
    if (lo === hi) hi += 0.001;
    for (let i = 0; i < half; i++) {
      const keep = 1 - Math.min(1, Math.max(0, (i - lo) / (hi - lo)));
      inv[i] = (inv[i] / factor) * (1 - keep) + inv[i] * keep;
    }
  }
  return inv;
}

/**
 * `cos` and `sin` tables `[T, headDim]` for positions `offset … offset + T − 1`, in the
 * "rotate half" layout (each frequency repeated for the two halves), on `like`'s backend, times
 * `scale` (YaRN's or LongRoPE's attention factor; default 1).
 */
export function ropeTables(
  inv: Float64Array,
  offset: number,
  T: number,
  like: Tensor,
  scale = 1,
): { cos: Tensor; sin: Tensor } {
  const half = inv.length, d = 2 * half;
  const Arr = like.dtype === "float64" ? Float64Array : Float32Array;
  const c = new Arr(T * d), s = new Arr(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = (offset + t) * inv[i];
      c[t * d + i] = c[t * d + half + i] = scale * Math.cos(a);
      s[t * d + i] = s[t * d + half + i] = scale * Math.sin(a);
    }
  }
  const make = (a: Float32Array | Float64Array) => tensor(a, { shape: [T, d], like });
  return { cos: make(c), sin: make(s) };
}

/**
 * Rotary embedding of `x` `[B, T, H, D]`: `x·cos + rotateHalf(x)·sin`, with
 * `rotateHalf([x₁, x₂]) = [−x₂, x₁]` over the last axis (the Hugging Face layout).
 */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const [B, T, H, D] = x.shape;
  const x1 = slice(x, [null, null, null, [0, D / 2]]), x2 = slice(x, [null, null, null, [D / 2, D]]);
  const rot = concat([neg(x2), x1], 3);
  const c = reshape(cos, [1, T, 1, D]), s = reshape(sin, [1, T, 1, D]);
  return add(mul(x, c), mul(rot, s)).reshape([B, T, H, D]);
}

/** One layer's cached keys and values, `[B, kvHeads, S, D]` each. */
export interface LayerCache {
  /** Keys of the positions seen so far (after RoPE). */
  readonly k: Tensor;
  /** Values of the positions seen so far. */
  readonly v: Tensor;
}

/** Options of `attention`. */
export interface AttentionOptions {
  /** Multiplies the scores (default 1/√D). */
  scale?: number;
  /** Keys and values of earlier positions, prepended to this call's. */
  cache?: LayerCache;
  /** A query at position i sees keys i − window < j ≤ i (default: all j ≤ i). */
  slidingWindow?: number;
}

/** The causal mask `[T, S]` for T queries after `past` cached positions. */
function causalMask(T: number, S: number, past: number, window: number | undefined, like: Tensor): Tensor {
  const m = new Uint8Array(T * S);
  for (let i = 0; i < T; i++) {
    const lo = window === undefined ? 0 : Math.max(0, past + i - window + 1);
    for (let j = lo; j <= past + i && j < S; j++) m[i * S + j] = 1;
  }
  return tensor(m, { shape: [T, S], dtype: "bool", like });
}

/**
 * Causal multi-head attention with grouped key/value heads: `q` `[B, T, H, D]`, `k`, `v`
 * `[B, T, Hkv, D]` with H a multiple of Hkv (query head h reads key head ⌊h / (H/Hkv)⌋, as
 * transformers' `repeat_kv`); the groups share one product, so keys are never repeated in memory.
 * Returns the output `[B, T, H·D]` and the layer's cache extended by this call's keys and values.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { attention } from "@tangent/tangent/models";
 * const q = normal(key(0), [1, 5, 4, 8]), kv = normal(key(1), [1, 5, 2, 8]);
 * const { out } = attention(q, kv, kv); // [1, 5, 32]
 * ```
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): { out: Tensor; cache: LayerCache } {
  const [B, T, H, D] = q.shape;
  const Hkv = k.shape[2];
  if (k.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== T || k.shape[3] !== D || H % Hkv !== 0) {
    throw new ShapeError(
      `attention: q ${fmtShape(q.shape)} and k ${fmtShape(k.shape)} do not fit; k needs [B, T, Hkv, D] with H a ` +
        `multiple of Hkv`,
    );
  }
  const g = H / Hkv;
  let kh = transpose(k, [0, 2, 1, 3]), vh = transpose(v, [0, 2, 1, 3]); // [B, Hkv, T, D]
  const past = opts.cache ? opts.cache.k.shape[2] : 0;
  if (opts.cache) {
    kh = concat([opts.cache.k, kh], 2);
    vh = concat([opts.cache.v, vh], 2);
  }
  const S = past + T;
  // queries grouped by their key head: [B, Hkv, g·T, D]
  const qh = reshape(transpose(q, [0, 2, 1, 3]), [B, Hkv, g * T, D]);
  const scores = reshape(mul(matmulT(qh, kh, false, true), opts.scale ?? 1 / Math.sqrt(D)), [B, Hkv, g, T, S]);
  const masked = where(causalMask(T, S, past, opts.slidingWindow, q), scores, -1e30);
  const probs = reshape(softmax(masked, { axis: -1 }), [B, Hkv, g * T, S]);
  const o = reshape(matmulT(probs, vh, false, false), [B, H, T, D]);
  return { out: reshape(transpose(o, [0, 2, 1, 3]), [B, T, H * D]), cache: { k: kh, v: vh } };
}

/**
 * Mean next-token cross-entropy: `logits` `[..., V]` against int32 `labels` `[...]`; labels equal
 * to `ignoreIndex` (default −100, PyTorch's) do not count. Picks each row's log-probability with
 * one gather, so no one-hot `[..., V]` is formed.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { crossEntropy } from "@tangent/tangent/models";
 * crossEntropy(tensor([[0, 0]]), tensor([1], { dtype: "int32" })); // log 2
 * ```
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: { ignoreIndex?: number } = {}): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const lead = logits.shape.slice(0, -1);
  if (labels.dtype !== "int32" || labels.ndim !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(
      `crossEntropy: labels ${fmtShape(labels.shape)} (${labels.dtype}) must be int32 of the logits' leading shape ` +
        `${fmtShape(lead)}`,
    );
  }
  const N = labels.size;
  const flatLabels = reshape(labels, [N]);
  const ignored = equal(flatLabels, opts.ignoreIndex ?? -100);
  // each label is checked against [0, V) (a DomainError naming it; on WebGPU when a result is read): picked
  // from an arange of the classes, it comes back unchanged (PyTorch raises too; a label of V read the next row's)
  const safe = embedding(arange(V, undefined, 1, { like: labels }), where(ignored, 0, flatLabels), "crossEntropy");
  const idx = add(mul(arange(N, undefined, 1, { like: labels }), V), safe);
  // −log softmax(z)_y picked from the log-probabilities: one kernel forward (logSoftmax), one backward
  const flat = reshape(logSoftmax(reshape(logits, [N, V]), { axis: -1 }), [N * V]);
  const nll = neg(take(flat, idx));
  const kept = astype(logicalNot(ignored), logits.dtype);
  return div(sum(mul(nll, kept)), maximum(sum(kept), 1));
}
