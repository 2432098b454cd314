/**
 * The architectures Tangent runs, and a model made from a config and parameters in memory.
 * @module
 */
import type { Architecture, ModelConfig } from "./config.ts";
import { FormatError } from "../core/errors.ts";
import { gpt2 } from "./gpt2.ts";
import { llama } from "./llama.ts";
import { type ArchitectureSpec, type CausalLM, linearPathsOf, type ModelParams } from "./model.ts";

const SPECS: Record<Architecture, ArchitectureSpec> = { gpt2, llama };

/** The architecture spec that runs `config`. */
export function specOf(config: ModelConfig, op = "model"): ArchitectureSpec {
  const spec = config !== null && typeof config === "object" ? SPECS[config.architecture] : undefined;
  if (!spec) {
    throw new FormatError(
      `${op}: config must be a ModelConfig, got ${
        config === null || typeof config !== "object" ? String(config) : "an object without a known architecture"
      }; make one with parseConfig(JSON.parse(config.json text)) or take loadModel(dir).config`,
    );
  }
  return spec;
}

/**
 * A model from parameters already in memory: the closures `apply` and `forward` over the
 * architecture's forward pass.
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig, tensor } from "@tangent/tangent";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const model = createModel(config, initModel(config, key(0)));
 * const logits = model.apply(model.params, tensor([[1, 2, 3]], { dtype: "int32" })); // [1, 3, 16]
 * ```
 */
export function createModel(config: ModelConfig, params: ModelParams): CausalLM {
  const spec = specOf(config, "createModel");
  if (params === null || typeof params !== "object") {
    throw new FormatError(
      `createModel: params must be the model's parameter tree, got ${String(params)}; make it with ` +
        `initModel(config, key(0)) or take loadModel(dir).params`,
    );
  }
  const embeddings = ["transformer.wte.weight", "transformer.wpe.weight", "model.embed_tokens.weight"];
  return {
    config,
    params,
    linearPaths: linearPathsOf(spec, config, embeddings),
    apply: (p, ids) => spec.forward(config, p, ids, {}).logits,
    forward: (p, ids, opts = {}) => spec.forward(config, p, ids, opts),
  };
}
