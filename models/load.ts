/**
 * Loading and saving models in the Hugging Face folder layout: `config.json` plus
 * `model.safetensors` (or shards named by `model.safetensors.index.json`).
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isFloat } from "../core/dtype.ts";
import { FormatError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { astype, matrixTranspose } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { type ModelConfig, parseConfig } from "./config.ts";
import { type CausalLM, checkNames, type ModelParams, paramsFromTensors, stateDict } from "./model.ts";
import { createModel, specOf } from "./architectures.ts";
import * as safetensors from "./safetensors.ts";
import { writeFileAtomic } from "./files.ts";

/** Options of `loadModel`. */
export interface LoadModelOptions {
  /**
   * Float dtype of the parameters (default float32; F16/BF16 weights are widened exactly).
   * `"float16"` keeps the frozen weights in float16, half the memory of float32: F16 checkpoints
   * as they are, BF16, F32 and F64 ones rounded to float16 (nearest even; values beyond ±65504
   * become ±Infinity, which some BF16 checkpoints hold). The model then computes its activations
   * in float32 (the embeddings are widened after the lookup; norms, attention and every product
   * promote the float16 weights to float32), and adapters put on it train in float32.
   */
  dtype?: "float16" | "float32" | "float64";
  /** Backend to put the parameters on (default: the current default backend). */
  backend?: "cpu" | "webgpu";
}

/** A model in memory: its config (a parsed config or `config.json`'s object) and its tensors by checkpoint name. */
export interface ModelSource {
  /** The configuration. */
  config: ModelConfig | Record<string, unknown>;
  /** The tensors, by checkpoint name. */
  tensors: Record<string, Tensor>;
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new FormatError(`loadModel: cannot read ${what} at ${path} (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`loadModel: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** The safetensors files of a folder, from its shard index when there is one. */
async function weightFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const hub = /^[\w.-]+\/[\w.-]+$/.test(dir)
      ? `; for a hub id, resolveModel("${dir}") downloads the folder first`
      : "";
    throw new FormatError(
      `loadModel: cannot read the folder ${dir} (${(e as Error).message}); pass a Hugging Face model folder ` +
        `(config.json + model.safetensors)${hub}`,
    );
  }
  if (names.includes("model.safetensors.index.json")) {
    const index = await readJson(join(dir, "model.safetensors.index.json"), "the shard index");
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== "object") {
      throw new FormatError(`loadModel: ${join(dir, "model.safetensors.index.json")} has no weight_map`);
    }
    return [...new Set(Object.values(map))].map((f) => join(dir, f));
  }
  if (names.includes("model.safetensors")) return [join(dir, "model.safetensors")];
  const st = names.filter((n) => n.endsWith(".safetensors") && !n.startsWith("adapter_")).sort();
  if (st.length) return st.map((n) => join(dir, n));
  const bin = names.find((n) => n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth"));
  throw new FormatError(
    `loadModel: ${dir} has no .safetensors weights` +
      (bin
        ? ` (only ${bin}, a pickle Tangent does not read); convert it in Python with ` +
          `model.save_pretrained(dir, safe_serialization=True)`
        : "; expected model.safetensors or model.safetensors.index.json"),
  );
}

/**
 * Loads a decoder-only transformer: a Hugging Face folder (`config.json` + `model.safetensors`,
 * sharded checkpoints included), a list of files (one `config.json` and the safetensors shards),
 * or a config with tensors already in memory. GPT-2 (`gpt2`) and the Llama family (`llama`,
 * `mistral`, `qwen2`) are supported; any other `model_type` is a `FormatError` naming these. Every
 * tensor the config needs must be present with its shape, and nothing else (buffers such as
 * GPT-2's causal mask excepted). The file is read tensor by tensor, never whole. With `{ backend: "webgpu" }` the
 * parameters live on the GPU, and token ids go there too (`await toBackend(ids, "webgpu")`, or make them under
 * `useBackend("webgpu")`): ops run where their inputs are, and ids on the CPU are a `BackendError` naming both
 * backends, as PyTorch refuses tensors on two devices.
 * @example
 * ```ts
 * import { loadModel, tensor } from "@tangent/tangent";
 * const model = await loadModel("../shared/fixtures/models/tiny_gpt2");
 * const logits = model.apply(model.params, tensor([[1, 2, 3]], { dtype: "int32" })); // [1, 3, 64]
 * ```
 */
export async function loadModel(
  source: string | readonly string[] | ModelSource,
  opts: LoadModelOptions = {},
): Promise<CausalLM> {
  checkOptions("loadModel", opts, optionKeys<LoadModelOptions>({ dtype: true, backend: true }), '{ dtype: "float64" }');
  const dtype = opts.dtype ?? "float32";
  if (source === null || (typeof source !== "string" && typeof source !== "object")) {
    throw new FormatError(
      `loadModel: expected a folder path, a list of files or { config, tensors }, got ${
        source === null ? "null" : typeof source
      }`,
    );
  }
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "float16") {
    throw new FormatError(
      `loadModel: dtype must be "float16", "float32" or "float64", got ${JSON.stringify(dtype)}`,
    );
  }
  if (typeof source === "object" && !Array.isArray(source)) {
    const src = source as ModelSource;
    const config = "architecture" in src.config ? src.config as ModelConfig : parseConfig(src.config);
    const tensors: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(src.tensors)) {
      tensors[k] = isFloat(t.dtype) ? astype(t, dtype) : t;
    }
    return createModel(config, paramsFromTensors(specOf(config), config, tensors, matrixTranspose));
  }
  let configPath: string, files: string[];
  if (typeof source === "string") {
    configPath = join(source, "config.json");
    files = await weightFiles(source);
  } else {
    const list = source as readonly string[];
    const cfgs = list.filter((f) => f.endsWith(".json") && !f.endsWith(".index.json"));
    if (cfgs.length !== 1) {
      throw new FormatError(`loadModel: give exactly one config.json among the files, got [${list.join(", ")}]`);
    }
    configPath = cfgs[0];
    files = list.filter((f) => f.endsWith(".safetensors"));
    if (!files.length) throw new FormatError(`loadModel: no .safetensors file among [${list.join(", ")}]`);
  }
  const config = parseConfig(await readJson(configPath, "config.json"));
  const spec = specOf(config);
  // check every name and shape from the headers before reading any tensor data
  const shapes: Record<string, readonly number[]> = {};
  const owner = new Map<string, string>();
  for (const f of files) {
    const header = await safetensors.readHeader(f);
    for (const e of header.entries) {
      if (owner.has(e.name)) {
        throw new FormatError(`loadModel: tensor ${e.name} appears in both ${owner.get(e.name)} and ${f}`);
      }
      owner.set(e.name, f);
      shapes[e.name] = e.shape;
    }
  }
  checkNames(spec, config, shapes);
  const tensors: Record<string, Tensor> = {};
  for (const f of files) {
    const names = [...owner].filter(([n, file]) => file === f && !spec.isIgnoredBuffer(n, config)).map(([n]) => n);
    if (!names.length) continue;
    const r = await safetensors.read(f, { names, dtype, backend: opts.backend });
    Object.assign(tensors, r.tensors);
  }
  return createModel(config, paramsFromTensors(spec, config, tensors, matrixTranspose));
}

/**
 * The parameters as a state dict in the checkpoint's names and layouts (what transformers'
 * `state_dict()` would give), e.g. to save a fully fine-tuned model.
 */
export function modelStateDict(model: CausalLM, params: ModelParams = model.params): Record<string, Tensor> {
  return stateDict(specOf(model.config), model.config, params, matrixTranspose);
}

/**
 * Saves `params` (default the model's) as a Hugging Face folder: `config.json` and
 * `model.safetensors`, each written whole (temporary name, then rename), loadable by
 * `loadModel` and by transformers' `from_pretrained`.
 * @example
 * ```ts
 * import { createModel, initModel, key, loadModel, parseConfig, saveModel } from "@tangent/tangent";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const model = createModel(config, initModel(config, key(0)));
 * const dir = await Deno.makeTempDir();
 * await saveModel(dir, model);
 * const back = await loadModel(dir);
 * ```
 */
export async function saveModel(dir: string, model: CausalLM, params: ModelParams = model.params): Promise<void> {
  const tensors = modelStateDict(model, params);
  await safetensors.write(join(dir, "model.safetensors"), tensors, { format: "pt" });
  await writeFileAtomic(join(dir, "config.json"), JSON.stringify(model.config.raw, null, 2) + "\n");
}
