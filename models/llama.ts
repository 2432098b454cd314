/**
 * The Llama family (Touvron et al. 2023) as transformers defines it, which Mistral and Qwen2
 * share: RMSNorm, rotary positions (RoPE with the config's θ and scaling), grouped key/value
 * heads, a SwiGLU MLP, tied or untied output.
 *
 *   hᵢ' = hᵢ + o(Attn(RoPE(q(x)), RoPE(k(x)), v(x))),  x = RMSNorm(hᵢ)
 *   hᵢ₊₁ = hᵢ' + down(silu(gate(y)) ⊙ up(y)),         y = RMSNorm(hᵢ')
 * @module
 */
import { add, mul } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import type { ModelConfig } from "./config.ts";
import {
  type ArchitectureSpec,
  checkInputIds,
  defaultLinear,
  type ExpectedTensor,
  type ForwardOptions,
  type ForwardResult,
  type LinearModule,
  type ModelParams,
} from "./model.ts";
import {
  activation,
  applyRope,
  attention,
  embedding,
  type LayerCache,
  rmsNorm,
  ropeInverseFrequencies,
  ropeTables,
  widenHalf,
} from "./nn.ts";

interface Layer {
  input_layernorm: { weight: Tensor };
  self_attn: { q_proj: LinearModule; k_proj: LinearModule; v_proj: LinearModule; o_proj: LinearModule };
  post_attention_layernorm: { weight: Tensor };
  mlp: { gate_proj: LinearModule; up_proj: LinearModule; down_proj: LinearModule };
}
interface LlamaParams {
  model: { embed_tokens: { weight: Tensor }; layers: Layer[]; norm: { weight: Tensor } };
  lm_head?: LinearModule;
}

function forward(c: ModelConfig, params: ModelParams, ids: Tensor, opts: ForwardOptions): ForwardResult {
  const p = params as unknown as LlamaParams;
  const lin = opts.linear ?? defaultLinear;
  const past = opts.cache?.length ?? 0;
  checkInputIds(c.modelType, ids, c.maxPositions, past);
  const [B, T] = ids.shape;
  const H = c.numHeads, Hkv = c.numKvHeads, D = c.headDim;
  const act = activation(c.activation);
  // float16 embeddings are widened: the activations are float32 (float16 weights promote to it)
  let h = widenHalf(embedding(p.model.embed_tokens.weight, ids, c.modelType));
  // the frequencies can depend on the length this call reaches (LongRoPE's short and long factors)
  const inv = ropeInverseFrequencies(c.rope!, D, past + T);
  const { cos, sin } = ropeTables(inv, past, T, h, c.rope!.attentionFactor ?? 1);
  const caches: LayerCache[] = [];
  p.model.layers.forEach((l, i) => {
    const at = `model.layers.${i}`;
    const x = rmsNorm(h, l.input_layernorm, c.normEps);
    const proj = (name: "q_proj" | "k_proj" | "v_proj", heads: number) =>
      lin(`${at}.self_attn.${name}`, l.self_attn[name], x).reshape([B, T, heads, D]);
    const q = applyRope(proj("q_proj", H), cos, sin);
    const k = applyRope(proj("k_proj", Hkv), cos, sin);
    const a = attention(q, k, proj("v_proj", Hkv), {
      cache: opts.cache?.layers[i],
      slidingWindow: c.layerTypes?.[i] === "full_attention" ? undefined : c.slidingWindow,
    });
    caches.push(a.cache);
    h = add(h, lin(`${at}.self_attn.o_proj`, l.self_attn.o_proj, a.out));
    const y = rmsNorm(h, l.post_attention_layernorm, c.normEps);
    const gated = mul(act(lin(`${at}.mlp.gate_proj`, l.mlp.gate_proj, y)), lin(`${at}.mlp.up_proj`, l.mlp.up_proj, y));
    h = add(h, lin(`${at}.mlp.down_proj`, l.mlp.down_proj, gated));
  });
  h = rmsNorm(h, p.model.norm, c.normEps);
  // a tied head is a linear module too (PEFT adapts it), whose weight is the token embedding's
  const logits = lin("lm_head", c.tieWordEmbeddings ? { weight: p.model.embed_tokens.weight } : p.lm_head!, h);
  return { logits, cache: { layers: caches, length: past + T } };
}

function expected(c: ModelConfig): ExpectedTensor[] {
  const E = c.hiddenSize, I = c.intermediateSize, D = c.headDim;
  const raw = c.raw;
  // Llama's attention_bias covers q, k, v and o, its mlp_bias the MLP; transformers' Qwen2 always has
  // q, k, v biases and none on o or the MLP, Mistral none at all, whatever those two fields say
  const isLlama = c.modelType === "llama";
  const qkvBias = (isLlama && raw.attention_bias === true) || c.modelType === "qwen2";
  const oBias = isLlama && raw.attention_bias === true;
  const mlpBias = isLlama && raw.mlp_bias === true;
  const lin = (n: string, outF: number, inF: number, bias: boolean): ExpectedTensor[] => [
    { name: `${n}.weight`, shape: [outF, inF] },
    ...(bias ? [{ name: `${n}.bias`, shape: [outF] }] : []),
  ];
  const out: ExpectedTensor[] = [{ name: "model.embed_tokens.weight", shape: [c.vocabSize, E] }];
  for (let i = 0; i < c.numLayers; i++) {
    const at = `model.layers.${i}`;
    out.push(
      { name: `${at}.input_layernorm.weight`, shape: [E] },
      ...lin(`${at}.self_attn.q_proj`, c.numHeads * D, E, qkvBias),
      ...lin(`${at}.self_attn.k_proj`, c.numKvHeads * D, E, qkvBias),
      ...lin(`${at}.self_attn.v_proj`, c.numKvHeads * D, E, qkvBias),
      ...lin(`${at}.self_attn.o_proj`, E, c.numHeads * D, oBias),
      { name: `${at}.post_attention_layernorm.weight`, shape: [E] },
      ...lin(`${at}.mlp.gate_proj`, I, E, mlpBias),
      ...lin(`${at}.mlp.up_proj`, I, E, mlpBias),
      ...lin(`${at}.mlp.down_proj`, E, I, mlpBias),
    );
  }
  out.push({ name: "model.norm.weight", shape: [E] });
  if (!c.tieWordEmbeddings) out.push({ name: "lm_head.weight", shape: [c.vocabSize, E] });
  return out;
}

/** The Llama family's checkpoint layout and forward pass (Llama, Mistral, Qwen2). */
export const llama: ArchitectureSpec = {
  expected,
  // a bare LlamaModel checkpoint names the body without the `model.` prefix
  canonicalName: (n) => (n.startsWith("model.") || n.startsWith("lm_head.") ? n : `model.${n}`),
  isIgnoredBuffer: (n, c) => /rotary_emb\.inv_freq$/.test(n) || (c.tieWordEmbeddings && n === "lm_head.weight"),
  forward,
};
