/**
 * `deno task generate --model <dir> [--adapter <dir>] --prompt "..."`: continues a prompt with a
 * Hugging Face model (and optionally a PEFT adapter), greedily or by sampling, with a KV cache.
 * @module
 */
import { resolve } from "node:path";
import { FormatError, key, TangentError, tensor, useBackend } from "../mod.ts";
import { generate, loadModel, loadPeftAdapter, loadTokenizer, resolveModel } from "../models/mod.ts";
import type { CausalLM } from "../models/mod.ts";
import {
  backendOption,
  checkByteVocabulary,
  helpText,
  intOption,
  type OptionSpec,
  parseCommandLine,
  runMain,
  seedOption,
  weightDType,
} from "./cli.ts";

const USAGE = 'deno task generate --model <dir|hub id> [--adapter <dir>] --prompt "..."';
const ABOUT = "Prints the prompt's continuation (stdout) by a model and, with --adapter, a PEFT adapter on it.";
const OPTIONS: Record<string, OptionSpec> = {
  model: {
    type: "string",
    value: "<dir|hub id>",
    help: "a Hugging Face model folder (e.g. out/base-model), or a hub id",
  },
  adapter: {
    type: "string",
    value: "<dir>",
    help: "a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)",
  },
  prompt: { type: "string", value: "<text>", help: "the text to continue" },
  "max-new-tokens": { type: "string", value: "<n>", help: "tokens to add at most", default: "32" },
  temperature: { type: "string", value: "<t>", help: "sampling temperature; 0 is greedy", default: "0" },
  "top-k": { type: "string", value: "<k>", help: "sample among the k most likely tokens" },
  seed: { type: "string", value: "<n>", help: "sampling seed", default: "0" },
  backend: { type: "string", value: "cpu|webgpu", help: "where to compute", default: "cpu" },
  dtype: {
    type: "string",
    value: "float32|float16",
    help: "the model's weights in memory (float16: half the bytes, computed in float32)",
    default: "float32",
  },
  help: { type: "boolean", short: "h", help: "print this help" },
};

/** The adapter folder on `base`; a type of one's own (read only by a reader in code) names the command line's way. */
async function adapterOn(base: CausalLM, dir: string): Promise<CausalLM<unknown>> {
  try {
    return await loadPeftAdapter(base, dir);
  } catch (e) {
    if (!(e instanceof FormatError) || !/is not one Tangent reads/.test(e.message)) throw e;
    throw new FormatError(
      `${
        e.message.replace(/; pass a reader for it:.*$/s, "")
      }; the command line reads no type of your own: merge it in ` +
        `code and save the model, saveModel(out, model, peft.merge(params)) (as PEFT's merge_and_unload + ` +
        `save_pretrained), then pass that folder as --model without --adapter`,
    );
  }
}

async function main(): Promise<void> {
  const o = parseCommandLine(Deno.args, USAGE, ABOUT, OPTIONS);
  if (o.help) {
    console.log(helpText(USAGE, ABOUT, OPTIONS));
    return;
  }
  if (!o.model || o.prompt === undefined) {
    console.error(`error: --model and --prompt are required\n\n${helpText(USAGE, ABOUT, OPTIONS)}`);
    Deno.exit(2);
  }
  const backend = backendOption(o.backend);
  if (backend === "webgpu") await useBackend("webgpu");
  const dir = await resolveModel(String(o.model), { onProgress: (m) => console.error(m) });
  const base = await loadModel(dir, { backend, dtype: weightDType(o.dtype) });
  const model: CausalLM<unknown> = o.adapter ? await adapterOn(base, resolve(String(o.adapter))) : base;
  const tokenizer = await loadTokenizer(dir);
  checkByteVocabulary(String(o.model), tokenizer.kind, base.config.vocabSize);
  const prompt = String(o.prompt);
  const ids = tokenizer.encode(prompt);
  // characters the tokenizer has no token for are dropped (as Hugging Face's tokenizers drop them): name them
  const kept = tokenizer.decode(ids, { skipSpecialTokens: true });
  const lost = [...new Set([...prompt].filter((c) => c.trim() !== "" && !kept.includes(c)))];
  const lostText = lost.map((c) => JSON.stringify(c)).join(", ");
  if (!ids.length) {
    throw new TangentError(
      prompt.trim() === ""
        ? "generate: the prompt is empty; give a non-empty --prompt"
        : `generate: the prompt encodes to no tokens: the tokenizer has none for ${lostText}; use characters of the model's vocabulary`,
    );
  }
  if (lost.length) {
    console.error(
      `note: the tokenizer has no token for ${lostText}: the model reads the prompt as ${JSON.stringify(kept)}`,
    );
  }
  const temperature = Number(o.temperature ?? 0);
  // as many new tokens as the model's positions hold after the prompt (the last one is never fed back)
  const asked = intOption("max-new-tokens", o["max-new-tokens"], 32), P = base.config.maxPositions;
  const room = Math.max(1, P - ids.length + 1), maxNewTokens = Math.min(asked, room);
  if (maxNewTokens < asked && ids.length <= P) {
    console.error(
      `note: the model has ${P} positions: ${room} new tokens fit after the ${ids.length}-token prompt (asked for ${asked})`,
    );
  }
  const out = await generate(model, model.params, tensor([ids], { dtype: "int32" }), {
    maxNewTokens,
    temperature,
    topK: o["top-k"] === undefined ? undefined : intOption("top-k", o["top-k"], 1),
    key: key(seedOption("seed", o.seed)),
    eosTokenId: tokenizer.eosId,
  });
  console.log(tokenizer.decode(out[0].slice(ids.length), { skipSpecialTokens: true }));
}

if (import.meta.main) await runMain(main);
