/**
 * Fresh parameters for a config, initialised as transformers initialises a new model.
 * @module
 */
import { matrixTranspose, mul, ones, zeros } from "../core/ops/mod.ts";
import { foldIn, type Key, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import type { ModelConfig } from "./config.ts";
import { type ModelParams, paramsFromTensors } from "./model.ts";
import { specOf } from "./architectures.ts";

/**
 * Random parameters for `config`: weights ~ N(0, σ²) with σ = `initializer_range` (0.02 by
 * default), GPT-2's residual projections (`c_proj`) scaled by 1/√(2·layers) as in its paper,
 * biases 0, norm weights 1. Tensor i of the checkpoint order draws from `foldIn(key, i)`.
 * @example
 * ```ts
 * import { initModel, key, parseConfig } from "@tangent/tangent";
 * const config = parseConfig({ model_type: "llama", vocab_size: 32, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const params = initModel(config, key(0));
 * ```
 */
export function initModel(config: ModelConfig, key: Key, opts: { dtype?: "float32" | "float64" } = {}): ModelParams {
  const spec = specOf(config, "initModel");
  const dtype = opts.dtype ?? "float32";
  const std = Number(config.raw.initializer_range ?? 0.02);
  const tensors: Record<string, Tensor> = {};
  spec.expected(config).forEach((e, i) => {
    const leaf = e.name.split(".").pop();
    const isNorm = e.shape.length === 1 && /(ln_|norm|layernorm)/.test(e.name);
    if (leaf === "bias") tensors[e.name] = zeros(e.shape, { dtype });
    else if (isNorm) tensors[e.name] = ones(e.shape, { dtype });
    else {
      const residual = config.architecture === "gpt2" && e.name.endsWith("c_proj.weight");
      const s = residual ? std / Math.sqrt(2 * config.numLayers) : std;
      tensors[e.name] = mul(normal(foldIn(key, i), e.shape, { dtype }), s);
    }
  });
  return paramsFromTensors(spec, config, tensors, matrixTranspose);
}
