/**
 * GPT-2 (Radford et al. 2019) as transformers defines it: learned positions, pre-LayerNorm
 * blocks, fused `c_attn` projection to q, k, v, `gelu_new` MLP, final LayerNorm, output tied to
 * the token embedding.
 *
 *   h₀ = wte[ids] + wpe[pos]
 *   hᵢ₊₁ = hᵢ' + MLP(LN₂(hᵢ')),  hᵢ' = hᵢ + Attn(LN₁(hᵢ))
 *   logits = LN_f(h_L) wteᵀ
 * @module
 */
import { add, arange, slice, take } from "../core/ops/mod.ts";
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
import { activation, attention, embedding, type LayerCache, layerNorm, widenHalf } from "./nn.ts";

interface Norm {
  weight: Tensor;
  bias: Tensor;
}
interface Block {
  ln_1: Norm;
  attn: { c_attn: LinearModule; c_proj: LinearModule };
  ln_2: Norm;
  mlp: { c_fc: LinearModule; c_proj: LinearModule };
}
interface Gpt2Params {
  transformer: { wte: { weight: Tensor }; wpe: { weight: Tensor }; h: Block[]; ln_f: Norm };
  lm_head?: LinearModule;
}

function forward(c: ModelConfig, params: ModelParams, ids: Tensor, opts: ForwardOptions): ForwardResult {
  const p = params as unknown as Gpt2Params;
  const lin = opts.linear ?? defaultLinear;
  const past = opts.cache?.length ?? 0;
  checkInputIds("gpt2", ids, c.maxPositions, past);
  const [B, T] = ids.shape;
  const E = c.hiddenSize, H = c.numHeads, D = c.headDim;
  const act = activation(c.activation);
  const pos = arange(past, past + T, 1, { like: ids });
  // float16 embeddings are widened: the activations are float32 (float16 weights promote to it)
  let h = add(
    widenHalf(embedding(p.transformer.wte.weight, ids, "gpt2")),
    widenHalf(take(p.transformer.wpe.weight, pos, 0)),
  );
  const caches: LayerCache[] = [];
  p.transformer.h.forEach((l, i) => {
    const at = `transformer.h.${i}`;
    const qkv = lin(`${at}.attn.c_attn`, l.attn.c_attn, layerNorm(h, l.ln_1, c.normEps));
    const part = (j: number) => slice(qkv, [null, null, [j * E, (j + 1) * E]]).reshape([B, T, H, D]);
    // transformers: 1/√D unless scale_attn_weights is false, then / (i + 1) with scale_attn_by_inverse_layer_idx
    const scale = (c.scaleAttnWeights === false ? 1 : 1 / Math.sqrt(D)) / (c.scaleAttnByInverseLayerIdx ? i + 1 : 1);
    const a = attention(part(0), part(1), part(2), { scale, cache: opts.cache?.layers[i] });
    caches.push(a.cache);
    h = add(h, lin(`${at}.attn.c_proj`, l.attn.c_proj, a.out));
    const m = lin(`${at}.mlp.c_fc`, l.mlp.c_fc, layerNorm(h, l.ln_2, c.normEps));
    h = add(h, lin(`${at}.mlp.c_proj`, l.mlp.c_proj, act(m)));
  });
  h = layerNorm(h, p.transformer.ln_f, c.normEps);
  // a tied head is a linear module too (PEFT adapts it), whose weight is the token embedding's
  const logits = lin("lm_head", c.tieWordEmbeddings ? { weight: p.transformer.wte.weight } : p.lm_head!, h);
  return { logits, cache: { layers: caches, length: past + T } };
}

function expected(c: ModelConfig): ExpectedTensor[] {
  const E = c.hiddenSize, I = c.intermediateSize;
  const out: ExpectedTensor[] = [
    { name: "transformer.wte.weight", shape: [c.vocabSize, E] },
    { name: "transformer.wpe.weight", shape: [c.maxPositions, E] },
  ];
  const norm = (n: string) => [{ name: `${n}.weight`, shape: [E] }, { name: `${n}.bias`, shape: [E] }];
  const conv = (n: string, inF: number, outF: number) => [
    { name: `${n}.weight`, shape: [inF, outF], conv1d: true },
    { name: `${n}.bias`, shape: [outF] },
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const at = `transformer.h.${i}`;
    out.push(
      ...norm(`${at}.ln_1`),
      ...conv(`${at}.attn.c_attn`, E, 3 * E),
      ...conv(`${at}.attn.c_proj`, E, E),
      ...norm(`${at}.ln_2`),
      ...conv(`${at}.mlp.c_fc`, E, I),
      ...conv(`${at}.mlp.c_proj`, I, E),
    );
  }
  out.push(...norm("transformer.ln_f"));
  if (!c.tieWordEmbeddings) out.push({ name: "lm_head.weight", shape: [c.vocabSize, E] });
  return out;
}

/** GPT-2's checkpoint layout and forward pass. */
export const gpt2: ArchitectureSpec = {
  expected,
  // the original checkpoints name the body's tensors without the `transformer.` prefix
  canonicalName: (n) => (n.startsWith("transformer.") || n.startsWith("lm_head.") ? n : `transformer.${n}`),
  // causal-mask buffers of older checkpoints; a tied checkpoint may also store lm_head
  isIgnoredBuffer: (n, c) =>
    /(^|\.)attn\.(bias|masked_bias)$/.test(n) || (c.tieWordEmbeddings && n === "lm_head.weight"),
  forward,
};
