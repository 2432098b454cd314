/**
 * Real models: Hugging Face checkpoints in and out (safetensors, configs, sharded folders),
 * GPT-2 and Llama-family forward passes with a KV cache, generation, tokenizers, adapters on a
 * model by target-module names, and PEFT's adapter folders.
 *
 * @example
 * ```ts
 * import { adapters, models, tensor } from "@tangent/tangent";
 * const model = await models.loadModel("../shared/fixtures/models/tiny_llama");
 * const peft = models.adaptModel(model, { target: "q_proj,v_proj", adapter: adapters.lora({ r: 4 }) });
 * const logits = peft.apply(peft.params, tensor([[1, 2, 3]], { dtype: "int32" })); // [1, 3, 64]
 * ```
 * @module
 */
export { type Architecture, type ModelConfig, parseConfig, type RopeConfig, SUPPORTED_MODEL_TYPES } from "./config.ts";
export {
  type CausalLM,
  type ForwardOptions,
  type ForwardResult,
  getPath,
  type KVCache,
  type LinearHook,
  type LinearModule,
  type ModelParams,
} from "./model.ts";
export {
  activation,
  applyRope,
  attention,
  type AttentionOptions,
  crossEntropy,
  embedding,
  type LayerCache,
  layerNorm,
  rmsNorm,
  ropeInverseFrequencies,
  ropeTables,
  silu,
} from "./nn.ts";
export { createModel } from "./architectures.ts";
export { initModel } from "./init.ts";
export { loadModel, type LoadModelOptions, type ModelSource, modelStateDict, saveModel } from "./load.ts";
export { type AdaptedLayer, type AdaptedModel, adaptedModel, adaptModel, type AdaptModelOptions } from "./adapted.ts";
export { generate, type GenerateOptions } from "./generate.ts";
export {
  byteTokenizer,
  charTokenizerJson,
  loadTokenizer,
  type SpecialIds,
  type TextTokenizer,
  tokenizerFromJson,
} from "./tokenizer.ts";
export { resolveModel, type ResolveOptions } from "./hub.ts";
export type { Fetch, FileURL } from "./web_types.ts";
export { writeAtomic, writeFileAtomic } from "./files.ts";
export {
  loadPeftAdapter,
  type LoadPeftOptions,
  type PeftLayer,
  type PeftLayerReader,
  type PeftLayerState,
  type SavedPeftAdapter,
  savePeftAdapter,
  type SavePeftOptions,
} from "./peft_io.ts";
