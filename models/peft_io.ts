/**
 * PEFT's adapter folders: `adapter_config.json` and `adapter_model.safetensors`, read onto a
 * loaded model and written from an adapted one, with PEFT's tensor names and config fields so
 * `PeftModel.from_pretrained` loads what Tangent trained.
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { FormatError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { astype, slice } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Frozen, type PeftConfig, tangentTensorNames } from "../adapters/adapter.ts";
import { checkPeftFields, fromPeft, readsPeftType } from "../adapters/peft.ts";
import { patternValue, pythonRegex } from "../adapters/peft_check.ts";
import {
  adaptablePaths,
  type AdaptedLayer,
  type AdaptedModel,
  adaptedModel,
  describeModules,
  initialParams,
  linearModuleAt,
  withEmbedding,
} from "./adapted.ts";
import { writeFileAtomic } from "./files.ts";
import { type CausalLM, getPath, type LinearModule } from "./model.ts";
import { compatibilityNotes, CONV1D_TYPES, PEFT_TYPES } from "./peft_notes.ts";
import * as safetensors from "./safetensors.ts";
import {
  checkedState,
  type LoadPeftOptions,
  ownReader,
  type PeftLayer,
  type PeftLayerReader,
  type PeftLayerState,
} from "./peft_readers.ts";

export type { LoadPeftOptions, PeftLayer, PeftLayerReader, PeftLayerState };

const PREFIX = "base_model.model.";

/** Does PEFT's `target_modules` (a list of names, or a regex string matched in full) select `path`? */
function peftTargets(config: PeftConfig): (path: string) => boolean {
  const t = config.target_modules;
  const exclude = config.exclude_modules;
  let pick: (p: string) => boolean;
  if (typeof t === "string") {
    const re = pythonRegex("loadPeftAdapter", "target_modules", t);
    pick = (p) => re.test(p);
  } else if (Array.isArray(t)) {
    pick = (p) => t.some((n) => p === n || p.endsWith(`.${n}`));
  } else {
    throw new FormatError(`loadPeftAdapter: adapter_config.json has no target_modules (got ${JSON.stringify(t)})`);
  }
  let skip: (p: string) => boolean = () => false;
  if (typeof exclude === "string") {
    const re = pythonRegex("loadPeftAdapter", "exclude_modules", exclude);
    skip = (p) => re.test(p);
  } else if (Array.isArray(exclude)) skip = (p) => exclude.some((n) => p === n || p.endsWith(`.${n}`));
  // PEFT: layers_to_transform [] (or null) is every layer, and a module named by its whole path in
  // target_modules is adapted whatever layer it is in (check_target_module_exists)
  const layers = config.layers_to_transform;
  const only = typeof layers === "number"
    ? [layers]
    : Array.isArray(layers) && layers.length
    ? layers as number[]
    : undefined;
  const layerOf = (p: string) => Number(/\.(?:h|layers)\.(\d+)\./.exec(p)?.[1]);
  const named = (p: string) => Array.isArray(t) && t.includes(p);
  return (p) => !skip(p) && (named(p) || (pick(p) && (!only || only.includes(layerOf(p)))));
}

async function readConfig(dir: string): Promise<PeftConfig> {
  const path = join(dir, "adapter_config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const model = await readFile(join(dir, "config.json")).then(() => true, () => false);
    throw new FormatError(
      `loadPeftAdapter: cannot read ${path} (${(e as Error).message}); ` +
        (model
          ? `${dir} holds a whole model (config.json), not an adapter: load it with loadModel (--model)`
          : "pass a PEFT adapter folder"),
    );
  }
  let config: PeftConfig;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`loadPeftAdapter: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!config || typeof config !== "object" || typeof config.peft_type !== "string") {
    throw new FormatError(`loadPeftAdapter: ${path} has no peft_type; it is not a PEFT adapter config`);
  }
  return config;
}

/** `config` as one module sees it: `r` and alpha from `rank_pattern` / `alpha_pattern`, if set there. */
function moduleConfig(config: PeftConfig, module: string): PeftConfig {
  const alpha = config.peft_type.toUpperCase() === "LORA" ? "lora_alpha" : "alpha";
  let out: PeftConfig = config.fan_in_fan_out === undefined ? config : { ...config, fan_in_fan_out: false };
  for (const [pattern, field] of [["rank_pattern", "r"], ["alpha_pattern", alpha]]) {
    const v = patternValue(config, pattern, module, NaN);
    if (!Number.isNaN(v)) out = { ...out, [field]: v };
  }
  return out;
}

/**
 * Applies the PEFT adapter in `dir` (`adapter_config.json` + `adapter_model.safetensors`, as
 * `PeftModel.save_pretrained` writes them) to `model`: every PEFT type `adapters.fromPeft` knows
 * (LoRA with rsLoRA/DoRA/PiSSA/OLoRA, HRA, OFT, BOFT, LoHa, LoKr, VeRA) and Tangent's own (SORSA,
 * PoLAR, LoKH), on any target module, with `rank_pattern`, `alpha_pattern`, `exclude_modules` and
 * `layers_to_transform`. Each tensor is checked against its module (a size mismatch names the
 * key); a tensor for a module the model lacks or the config does not target is an error. Config
 * fields whose state an adapter does not hold (`modules_to_save`, `trainable_token_indices`, the
 * biases `bias = "all"` saves of modules without an adapter, …) are a `FormatError` naming the field
 * and the fix (load the merged model). A `<module>.base_layer.weight` or `.bias` saved beside the
 * adapter (PEFT's `save_embedding_layers` on an output layer; `bias = "lora_only"`) replaces the
 * model's for that module, as PEFT loads it (`savePeftAdapter` writes such a bias back). The
 * tensors take the model's dtype and backend. An `lm_head` tied to the token embedding (GPT-2's) is a module
 * too, as in PEFT: its base weight is the embedding, and what PEFT puts into that shared parameter (a saved
 * `lm_head.base_layer.weight`, PiSSA's or OLoRA's residual) becomes the embedding of the returned model's
 * `base` as well, so the token lookup reads what it reads in PEFT.
 *
 * A `peft_type` of your own (an adapter whose `peftConfig` is `tangentPeftConfig("MY_TYPE", …)`) is
 * read by a reader you pass for it, `opts.adapters.MY_TYPE`, called for each adapted module with
 * its config, base layer and tensors (`PeftLayer`); without one it is a `FormatError` that names
 * this option. What the reader returns is held to its adapter's own `init` on that layer: the same
 * params leaves (a name the folder lacks, read as `undefined`, is a `FormatError` listing the
 * folder's names), each manifold factor a point of the same manifold (`M.assertOn(t)`; a plain
 * tensor there is refused, since a Riemannian optimizer would step it as a Euclidean one), and
 * frozen tensors with a weight.
 * @example
 * ```ts
 * import { loadModel, loadPeftAdapter, tensor } from "@tangent/tangent";
 * const model = await loadModel("../shared/fixtures/models/tiny_llama");
 * const peft = await loadPeftAdapter(model, "../shared/fixtures/models/tiny_llama_lora_adapter");
 * const logits = peft.apply(peft.params, tensor([[1, 2, 3]], { dtype: "int32" })); // with LoRA
 * ```
 * @example An adapter of your own, saved and read back by its reader
 * ```ts
 * import { adapters, adaptModel, loadModel, loadPeftAdapter, savePeftAdapter } from "@tangent/tangent";
 * const model = await loadModel("../shared/fixtures/models/tiny_gpt2");
 * const { toPeft: _, ...lora } = adapters.lora({ r: 2 }); // no PEFT names: params saved as <module>.A, .B
 * const mine = { ...lora, kind: "mine", peftConfig: () => adapters.tangentPeftConfig("MINE", { r: 2 }) };
 * const dir = await Deno.makeTempDir();
 * const peft = adaptModel(model, { target: "c_attn", adapter: mine });
 * await savePeftAdapter(dir, peft, peft.params); // the params as trained (here as initialised)
 * const back = await loadPeftAdapter(model, dir, {
 *   adapters: { MINE: ({ base, tensors }) => ({ adapter: mine, params: { A: tensors.A, B: tensors.B }, frozen: base }) },
 * });
 * back.paths; // ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]
 * ```
 */
export async function loadPeftAdapter(model: CausalLM, dir: string, opts: LoadPeftOptions = {}): Promise<AdaptedModel> {
  checkOptions(
    "loadPeftAdapter",
    opts,
    optionKeys<LoadPeftOptions>({ adapters: true }),
    "{ adapters: { MY_TYPE: reader } }",
  );
  const read = await readConfig(dir);
  const where = join(dir, "adapter_config.json");
  const own = ownReader(read.peft_type, opts, where);
  if (!own && !readsPeftType(read.peft_type)) {
    const given = Object.keys(opts.adapters ?? {});
    throw new FormatError(
      `loadPeftAdapter: ${where}: peft_type '${read.peft_type}' is not one Tangent ` +
        `reads (PEFT's LORA, HRA, OFT, BOFT, LOHA, LOKR, VERA; Tangent's SORSA, POLAR, LOKH, HRA_FOLDED)` +
        (read.library === "tangent" ? "; it is an adapter of your own that savePeftAdapter wrote" : "") +
        `; pass a reader for it: loadPeftAdapter(model, dir, { adapters: { ${read.peft_type}: ({ config, base, ` +
        `tensors }) => ({ adapter, params, frozen }) } })` +
        (given.length ? ` (readers were given for ${given.join(", ")} only)` : ""),
    );
  }
  const names = await readdir(dir);
  if (!names.includes("adapter_model.safetensors")) {
    const bin = names.includes("adapter_model.bin");
    throw new FormatError(
      `loadPeftAdapter: ${dir} has no adapter_model.safetensors` +
        (bin
          ? " (only adapter_model.bin); save it again in Python with save_pretrained(dir, safe_serialization=True)"
          : ""),
    );
  }
  const w0 = getPath(model.params, `${model.linearPaths[0]}.weight`) as Tensor;
  const dtype = w0.dtype === "float64" ? "float64" : "float32";
  const { tensors } = await safetensors.read(join(dir, "adapter_model.safetensors"), {
    dtype,
    backend: w0.backend.name as "cpu" | "webgpu",
  });
  // lm_head is a module also where it is tied to the token embedding (GPT-2's), as PEFT wraps it
  const modules = adaptablePaths(model);
  const targets = modules.filter(peftTargets(read));
  // bias = "lora_only" saves each adapted module's trained bias as <module>.base_layer.bias, read into
  // the base below (so does "all" where only adapted modules have biases, and neither saves any on a
  // model without biases); a bias of any other module is state an adapter does not hold: refused
  const otherBias = Object.keys(tensors).find((k) =>
    k.endsWith(".bias") && !targets.some((p) => k === `${PREFIX}${p}.base_layer.bias`)
  );
  if (otherBias && read.bias !== undefined && read.bias !== "none") {
    throw new FormatError(
      `loadPeftAdapter: ${join(dir, "adapter_config.json")}: bias = ${JSON.stringify(read.bias)} saved ${otherBias}, ` +
        `the bias of a module without an adapter, which an adapter does not hold; load the merged model instead ` +
        `(in Python: model.merge_and_unload().save_pretrained(dir); then loadModel(dir)), or train with ` +
        `bias = "lora_only" or "none"`,
    );
  }
  const config = read.bias !== undefined ? { ...read, bias: "none" } : read;
  try {
    checkPeftFields(config);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    throw new FormatError(
      `loadPeftAdapter: ${join(dir, "adapter_config.json")}: ${e.message.replace(/^fromPeft: /, "")}`,
    );
  }
  if (!targets.length) {
    throw new FormatError(
      `loadPeftAdapter: target_modules ${JSON.stringify(config.target_modules)} selects no linear module of the ` +
        `${model.config.modelType} model; its modules are ${describeModules(modules)}`,
    );
  }
  // every tensor belongs to a targeted module, or is shared (VeRA's base_model.vera_A / vera_B)
  const owner = (k: string) => targets.find((p) => k.startsWith(`${PREFIX}${p}.`));
  const shared: Record<string, Tensor> = {};
  for (const k of Object.keys(tensors)) {
    if (owner(k)) continue;
    const other = modules.find((p) => k.startsWith(`${PREFIX}${p}.`));
    if (other) {
      throw new FormatError(
        `loadPeftAdapter: ${k} belongs to ${other}, which target_modules ${
          JSON.stringify(config.target_modules)
        } does not select; the folder and its config disagree`,
      );
    }
    if (k.startsWith(PREFIX)) {
      throw new FormatError(
        `loadPeftAdapter: ${k} names no linear module of the ${model.config.modelType} model (modules: ` +
          `${describeModules(modules)}); was the adapter trained on another architecture?`,
      );
    }
    shared[k] = tensors[k];
  }
  const layers: Record<string, AdaptedLayer> = {};
  const params: Record<string, unknown> = {};
  const expected = new Map<string, unknown>(); // a reader's params as its adapter's init lays them out
  let base = model;
  for (const path of targets) {
    const mine: Record<string, Tensor> = { ...shared };
    for (const [k, t] of Object.entries(tensors)) if (owner(k) === path) mine[k] = t;
    const before = linearModuleAt(model, path);
    // GPT-2's Conv1D modules are stored in × out under fan_in_fan_out; lm_head is an nn.Linear (out × in)
    const conv1d = model.config.architecture === "gpt2" && path !== "lm_head";
    const m = baseLayer(before, mine, `${PREFIX}${path}.base_layer.`, conv1d && config.fan_in_fan_out === true);
    // a base weight PEFT saved beside a PiSSA / OLoRA adapter is already the residual it trained on
    const baseIsResidual = m.weight !== before.weight;
    // the loaded model already holds GPT-2's Conv1D weights as out × in
    const built = own
      ? checkedState(
        read.peft_type,
        path,
        own({ config: moduleConfig(config, path), base: m, tensors: unprefixed(mine, path), module: path }),
        m,
        Object.keys(unprefixed(mine, path)),
        expected,
      )
      : fromPeft({
        config: { ...config, fan_in_fan_out: false },
        base: m,
        tensors: mine,
        module: path,
        baseIsResidual,
      });
    layers[path] = { adapter: built.adapter, frozen: built.frozen as Frozen };
    params[path] = built.params;
    // a tied lm_head's base weight is the embedding's parameter in PyTorch: what PEFT loads into it (a saved
    // base_layer.weight) or makes of it at init (PiSSA's, OLoRA's residual) is the embedding too
    if (path === "lm_head" && model.config.tieWordEmbeddings && !model.linearPaths.includes("lm_head")) {
      const w = PEFT_TYPES.has(read.peft_type.toUpperCase()) && !own ? built.frozen.weight : m.weight;
      if (w !== before.weight) base = withEmbedding(model, w);
    }
  }
  return adaptedModel(base, layers, params);
}

/** A module's tensors without its `base_model.model.<module>.` prefix (shared ones keep their names). */
function unprefixed(tensors: Record<string, Tensor>, module: string): Record<string, Tensor> {
  const pre = `${PREFIX}${module}.`;
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k.startsWith(pre) ? k.slice(pre.length) : k, t]));
}

/**
 * The module's base layer as the folder has it: PEFT saves `<module>.base_layer.weight` (and
 * `.bias`) beside the adapter when it targets an embedding or output layer (`save_embedding_layers`),
 * and loads them into the base, so they replace the model's here too (taken out of `own`).
 */
function baseLayer(m: LinearModule, own: Record<string, Tensor>, prefix: string, fanInFanOut: boolean): LinearModule {
  let out = m;
  for (const leaf of ["weight", "bias"] as const) {
    const k = `${prefix}${leaf}`;
    const t = own[k];
    if (!t) continue;
    delete own[k];
    const mine = m[leaf];
    const shape = leaf === "weight" && fanInFanOut ? [...t.shape].reverse() : t.shape;
    if (!mine || shape.join() !== mine.shape.join()) {
      const name = `${prefix.slice(PREFIX.length)}${leaf}`;
      throw new ShapeError(
        `loadPeftAdapter: ${k} has shape [${t.shape.join(", ")}] but the model's ${name} is ` +
          (mine
            ? `[${mine.shape.join(", ")}]; was the vocabulary resized? Load the base it was saved with (in Python: ` +
              `model.resize_token_embeddings(n) then save_pretrained)`
            : "absent; the adapter was saved on another model (pass the base it was trained on)"),
      );
    }
    const v = leaf === "weight" && fanInFanOut ? t.mT : t;
    out = { ...out, [leaf]: mine.dtype === v.dtype ? v : astype(v, mine.dtype) };
  }
  return out;
}

/** Options of `savePeftAdapter`. */
export interface SavePeftOptions {
  /** `base_model_name_or_path` in the config (default: none). */
  baseModelNameOrPath?: string;
}

/** What `savePeftAdapter` wrote and what a reader should know. */
export interface SavedPeftAdapter {
  /** The config written. */
  config: PeftConfig;
  /** Number of tensors written. */
  tensors: number;
  /** Facts about loading it elsewhere (a Tangent-only type, a module PEFT cannot adapt). */
  notes: string[];
}

/** `a` and `b` equal as JSON, ignoring the fields `ignore`. */
function sameConfig(a: PeftConfig, b: PeftConfig, ignore: readonly string[]): boolean {
  const strip = (c: PeftConfig) =>
    JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => !ignore.includes(k))));
  return strip(a) === strip(b);
}

/**
 * Writes an adapted model's adapters, with `params` (the trained ones; Tangent's params live outside the
 * model, so without them it saves the model's own: a loaded adapter's, while `adaptModel`'s, the adapters as
 * initialised, are refused, naming the fix), in PEFT's folder layout: `adapter_config.json` (the
 * adapter's `peftConfig()` plus `target_modules`, `fan_in_fan_out` for GPT-2's Conv1D modules,
 * `rank_pattern`/`alpha_pattern` where layers differ, `task_type: "CAUSAL_LM"`) and
 * `adapter_model.safetensors` with PEFT's on-disk names (`base_model.model.<module>.lora_A.weight`,
 * VeRA's shared `base_model.vera_A`), in the base weights' dtype (float32 on a float16 base, whose
 * adapters train in float32); a module whose frozen bias differs from the base's (read from PEFT's
 * `bias = "lora_only"`) adds its `base_layer.bias` under `bias: "lora_only"`. Both files are written
 * whole (temporary name, rename). Methods PEFT 0.21 does not have (SORSA, PoLAR, LoKH, folded HRA) are written under their own
 * `peft_type` and the returned notes say that only Tangent loads them; an adapter of your own needs a `peftConfig()`
 * (`adapters.tangentPeftConfig("MY_TYPE", options)`), and the notes then say how to read the folder back (PEFT does
 * not; `loadPeftAdapter` does with a reader of yours, its `adapters` option) and flag a frozen weight the folder does
 * not hold. An adapter without `toPeft` has its params saved under their pytree paths (`tangentTensorNames`:
 * `base_model.model.<module>.A`), with `tensor_names: "tangent"` in the config and a note; that needs a type of
 * your own (a PEFT or Tangent type without `toPeft` is a `FormatError`).
 * @example
 * ```ts
 * import { adapters, adaptModel, loadModel, loadPeftAdapter, savePeftAdapter } from "@tangent/tangent";
 * const model = await loadModel("../shared/fixtures/models/tiny_llama");
 * const peft = adaptModel(model, { target: "q_proj,v_proj", adapter: adapters.lora({ r: 2 }) });
 * const dir = await Deno.makeTempDir();
 * await savePeftAdapter(dir, peft, peft.params);
 * const back = await loadPeftAdapter(model, dir);
 * ```
 */
export async function savePeftAdapter<P>(
  dir: string,
  adapted: AdaptedModel<P>,
  given?: Record<string, P>,
  opts: SavePeftOptions = {},
): Promise<SavedPeftAdapter> {
  if (!adapted || !Array.isArray(adapted.paths) || typeof adapted.layers !== "object" || adapted.layers === null) {
    throw new FormatError(
      `savePeftAdapter: the model has no adapters (a base model from loadModel?); adapt it first, ` +
        `const peft = adaptModel(model, { target: "q_proj,v_proj", adapter }), train peft.params, then ` +
        `savePeftAdapter(dir, peft, params); a whole model (full fine-tuning) is saved with saveModel(dir, model, params)`,
    );
  }
  if (given === undefined && initialParams.has(adapted.params)) {
    throw new FormatError(
      `savePeftAdapter: no params given, and this model's own are its adapters as adaptModel initialised them ` +
        `(for LoRA, B = 0: an adapter that changes nothing); Tangent's params live outside the model, so pass the ` +
        `trained ones: savePeftAdapter(dir, peft, params); to save the initial adapters on purpose, pass peft.params`,
    );
  }
  const params = given ?? adapted.params;
  checkOptions(
    "savePeftAdapter",
    opts,
    optionKeys<SavePeftOptions>({ baseModelNameOrPath: true }),
    '{ baseModelNameOrPath: "gpt2" }',
  );
  const paths = adapted.paths;
  const configs = paths.map((p) => {
    const c = adapted.layers[p].adapter.peftConfig?.();
    if (!c) {
      throw new FormatError(
        `savePeftAdapter: the adapter at ${p} (${adapted.layers[p].adapter.kind}) has no peftConfig(), so there is ` +
          `no adapter_config.json to write; give it one: for a method PEFT does not have, ` +
          `peftConfig: () => adapters.tangentPeftConfig("${
            adapted.layers[p].adapter.kind.toUpperCase()
          }", { ...its options })`,
      );
    }
    return c;
  });
  const first = configs[0];
  const type = String(first.peft_type).toUpperCase();
  const rankKey = "r", alphaKey = type === "LORA" ? "lora_alpha" : "alpha";
  const rankPattern: Record<string, unknown> = {}, alphaPattern: Record<string, unknown> = {};
  configs.forEach((c, i) => {
    if (!sameConfig(c, first, [rankKey, alphaKey])) {
      throw new FormatError(
        `savePeftAdapter: ${paths[i]} and ${paths[0]} have different adapter configs; PEFT's folder holds one ` +
          `(layers may differ only in ${rankKey} and ${alphaKey})`,
      );
    }
    if (c[rankKey] !== first[rankKey]) rankPattern[paths[i]] = c[rankKey];
    if (c[alphaKey] !== first[alphaKey]) alphaPattern[paths[i]] = c[alphaKey];
  });
  // PEFT's target_modules: the modules' own names when they select exactly these paths, else the paths
  const linear = adaptablePaths(adapted.base);
  const names = [...new Set(paths.map((p) => p.split(".").pop()!))].sort();
  const exact = linear.filter((p) => names.some((n) => p === n || p.endsWith(`.${n}`))).length === paths.length;
  // GPT-2's modules are Conv1D, but for lm_head (an nn.Linear, tied or not)
  const conv1d = adapted.config.architecture === "gpt2" && paths.some((p) => p !== "lm_head");
  const config: PeftConfig = {
    ...first,
    target_modules: exact ? names : [...paths],
    ...(Object.keys(rankPattern).length && { rank_pattern: rankPattern }),
    ...(Object.keys(alphaPattern).length && { alpha_pattern: alphaPattern }),
    ...(CONV1D_TYPES.has(type) && { fan_in_fan_out: conv1d }),
    base_model_name_or_path: opts.baseModelNameOrPath ?? null,
    task_type: "CAUSAL_LM",
    inference_mode: true,
  };
  const notes: string[] = [];
  const ownType = !PEFT_TYPES.has(type) && !readsPeftType(type);
  // an adapter without toPeft has no PEFT names: its params go under their pytree paths, which only a
  // type of your own may hold (a PEFT or Tangent type's reader looks for its own names)
  const unnamed = paths.filter((p) => !adapted.layers[p].adapter.toPeft);
  if (unnamed.length && !ownType) {
    const kind = adapted.layers[unnamed[0]].adapter.kind, mine = `MY_${kind.toUpperCase()}`;
    throw new FormatError(
      `savePeftAdapter: the adapter at ${unnamed[0]} (${kind}) has no toPeft(), so its tensors have no ${type} ` +
        `names, and a ${type} folder without them does not load; give it a toPeft that names its params as ${type} ` +
        `does, or save it as a type of your own: peftConfig: () => adapters.tangentPeftConfig("${mine}", ` +
        `{ ...its options })`,
    );
  }
  if (unnamed.length) {
    config.tensor_names = "tangent";
    notes.push(
      `the ${adapted.layers[unnamed[0]].adapter.kind} adapter has no toPeft(): its params are saved under Tangent's ` +
        `own names, each one's pytree path after ${PREFIX}<module>. (e.g. ${
          Object.keys(tangentTensorNames(params[unnamed[0]], { prefix: `${PREFIX}${unnamed[0]}` }))[0]
        }; tensor_names: "tangent" in the config)`,
    );
  }
  notes.push(...compatibilityNotes(adapted, type, first, ownType, conv1d));
  const tensors: Record<string, Tensor> = {};
  for (const path of paths) {
    const l = adapted.layers[path];
    const prefix = `${PREFIX}${path}`;
    Object.assign(
      tensors,
      l.adapter.toPeft ? l.adapter.toPeft(params[path], { prefix }) : tangentTensorNames(params[path], { prefix }),
    );
    const frozen = l.adapter.frozenToPeft?.(l.frozen, { prefix }) ?? {};
    for (const [k, t] of Object.entries(frozen)) {
      const leaf = k.slice(prefix.length + 1);
      if (type === "VERA" && (leaf === "vera_A" || leaf === "vera_B")) continue;
      tensors[k] = t;
    }
  }
  if (type === "VERA") Object.assign(tensors, await sharedVera(adapted as AdaptedModel));
  // a module whose bias differs from the base's (loaded from PEFT's bias = "lora_only") keeps it
  let biases = 0;
  for (const path of paths) {
    const own = adapted.layers[path].frozen.bias, base = linearModuleAt(adapted.base, path).bias;
    if (!own || !base || own === base) continue;
    const [a, b] = [await own.data(), await base.data()];
    if (a.length === b.length && a.every((v, j) => Object.is(v, b[j]))) continue;
    tensors[`${PREFIX}${path}.base_layer.bias`] = own;
    biases++;
  }
  if (biases) config.bias = "lora_only";
  // the weights' dtype, but float32 on a float16 base: its adapters trained in float32 (PEFT keeps them
  // so too, autocast_adapter_dtype), and half would round them away from the trained model
  const w = linearModuleAt(adapted.base, paths[0]).weight;
  const out = w.dtype === "float16" ? "float32" : w.dtype;
  for (const [k, t] of Object.entries(tensors)) if (t.dtype !== out) tensors[k] = astype(t, out);
  await safetensors.write(join(dir, "adapter_model.safetensors"), tensors, { format: "pt" });
  await writeFileAtomic(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2) + "\n");
  return { config, tensors: Object.keys(tensors).length, notes };
}

/**
 * VeRA's one pair of projections for the model, `base_model.vera_A` `[r, max in]` and
 * `base_model.vera_B` `[max out, r]`: the widest layer's, checked to contain every layer's as
 * its leading slice (as PEFT slices them).
 */
async function sharedVera(adapted: AdaptedModel): Promise<Record<string, Tensor>> {
  const fz = adapted.paths.map((p) => adapted.layers[p].frozen as unknown as { A: Tensor; B: Tensor });
  const A = fz.reduce((a, f) => (f.A.shape[1] > a.shape[1] ? f.A : a), fz[0].A);
  const B = fz.reduce((b, f) => (f.B.shape[0] > b.shape[0] ? f.B : b), fz[0].B);
  for (const [i, f] of fz.entries()) {
    const a = await slice(A, [null, [0, f.A.shape[1]]]).data(), b = await slice(B, [[0, f.B.shape[0]], null]).data();
    const fa = await f.A.data(), fb = await f.B.data();
    if (a.some((v, j) => v !== fa[j]) || b.some((v, j) => v !== fb[j])) {
      throw new FormatError(
        `savePeftAdapter: VeRA's projections at ${adapted.paths[i]} are not slices of one shared pair, as PEFT ` +
          `requires; create the adapter with vera({ r, projection: { A, B } }) so every layer shares them`,
      );
    }
  }
  return { "base_model.vera_A": A, "base_model.vera_B": B };
}
