/**
 * The study's embedded default base model: a small GPT-2 pretrained in-process on string
 * reversal, saved as a Hugging Face folder (so transformers, `loadModel` and `deno task generate`
 * all read it) and reused while its settings are unchanged and its first pretraining steps, rerun,
 * give the losses it recorded (a model pretrained by another version of Tangent is pretrained again).
 * @module
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { getBackend } from "../core/backend/backend.ts";
import { key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { adamw } from "../manifolds/mod.ts";
import { createModel } from "../models/architectures.ts";
import { parseConfig } from "../models/config.ts";
import { writeFileAtomic } from "../models/files.ts";
import { initModel } from "../models/init.ts";
import { loadModel, saveModel } from "../models/load.ts";
import type { CausalLM } from "../models/model.ts";
import { getPath } from "../models/model.ts";
import { crossEntropy } from "../models/nn.ts";
import { charTokenizerJson, loadTokenizer, type TextTokenizer } from "../models/tokenizer.ts";
import { evaluate } from "./run.ts";
import { transductionTask } from "./tasks.ts";
import { train } from "./train.ts";

/** The default base model's settings (its cache key). */
export interface BaseSettings {
  /** The task's alphabet. */
  alphabet: string;
  /** Letters per example. */
  length: number;
  /** GPT-2 width. */
  n_embd: number;
  /** GPT-2 blocks. */
  n_layer: number;
  /** GPT-2 heads. */
  n_head: number;
  /** Pretraining steps. */
  steps: number;
  /** Sequences per step. */
  batch: number;
  /** AdamW learning rate. */
  lr: number;
  /** Initialisation key and example stream. */
  seed: number;
}

/** The settings of the default base model (`quick`: fewer pretraining steps). */
export function baseSettings(opts: { quick?: boolean; seed?: number; length?: number } = {}): BaseSettings {
  return {
    alphabet: "abcdefghij",
    length: opts.length ?? 6,
    n_embd: 64,
    n_layer: 2,
    n_head: 4,
    steps: opts.quick ? 250 : 500,
    batch: 64,
    lr: 3e-3,
    seed: opts.seed ?? 0,
  };
}

/** What `defaultBaseModel` returns. */
export interface BaseModel {
  /** The pretrained model. */
  model: CausalLM;
  /** Its character tokenizer. */
  tokenizer: TextTokenizer;
  /** The folder it is saved in. */
  dir: string;
  /** Whether it was read from `dir` rather than trained now. */
  reused: boolean;
  /** Held-out exact-match accuracy on the pretraining task. */
  accuracy: number;
}

/** Pretraining steps rerun from the seed when a saved base model is reused (see `defaultBaseModel`). */
const CHECK_STEPS = 3;

/** The pretraining run of `settings` (model, data, optimizer) for `steps` steps, with its losses. */
async function pretrain(settings: BaseSettings, steps: number, onProgress?: (step: number, loss: number) => void) {
  const task = transductionTask({ rule: "reverse", alphabet: settings.alphabet, length: settings.length, seed: 1 });
  const vocab = task.vocabulary;
  const config = parseConfig({
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: vocab.length,
    n_embd: settings.n_embd,
    n_layer: settings.n_layer,
    n_head: settings.n_head,
    n_positions: 2 * settings.length + 4,
    activation_function: "gelu_new",
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    bos_token_id: vocab.indexOf(";"),
    eos_token_id: vocab.indexOf(";"),
    torch_dtype: "float32",
  });
  const model = createModel(config, initModel(config, makeKey(settings.seed)));
  const like = getPath(model.params, `${model.linearPaths[0]}.weight`) as Tensor;
  const r = await train({
    params: model.params,
    optimizer: adamw({ lr: settings.lr, weightDecay: 0 }),
    steps,
    loss: (p, x, y) => crossEntropy(model.apply(p, x), y),
    batch: (step) => task.trainBatch(step, settings.batch),
    like,
    onProgress,
  });
  return { task, config, like, r };
}

/**
 * The default base model in `dir`: read back when `dir/pretraining.json` records the same
 * settings and the first pretraining steps, rerun from the seed, give the losses it recorded (so a
 * model pretrained by another version of Tangent, whose arithmetic differs at rounding level, is
 * not taken for this version's), else pretrained now (GPT-2 architecture, `n_embd` 64, 2 blocks, 4 heads, vocabulary
 * `abcdefghij=;`, on reversing 6 letters) and saved there with its tokenizer.
 */
export async function defaultBaseModel(opts: {
  dir: string;
  quick?: boolean;
  seed?: number;
  /** Letters per example (default 6). */
  length?: number;
  backend?: "cpu" | "webgpu";
  /** Called once before pretraining with why the folder's model is not reused. */
  onPretrain?: (reason: string) => void;
  onProgress?: (step: number, total: number, loss: number) => void;
}): Promise<BaseModel> {
  const settings = baseSettings(opts);
  const recordPath = join(opts.dir, "pretraining.json");
  let reason = `no pretrained base model in ${opts.dir} yet`;
  try {
    const record = JSON.parse(await readFile(recordPath, "utf8"));
    const differ = Object.keys(settings).filter((k) =>
      JSON.stringify(record.settings?.[k]) !== JSON.stringify(settings[k as keyof BaseSettings])
    );
    reason = `the base model in ${opts.dir} was pretrained with ` +
      differ.map((k) => `${k} ${JSON.stringify(record.settings?.[k])}`).join(", ") + `; this run asks for ` +
      differ.map((k) => `${k} ${JSON.stringify(settings[k as keyof BaseSettings])}`).join(", ");
    const check = differ.length === 0 ? await checkLosses(settings, record) : undefined;
    if (check) reason = `the base model in ${opts.dir} was pretrained by another version of Tangent (${check})`;
    if (differ.length === 0 && !check) {
      const model = await loadModel(opts.dir, { backend: opts.backend });
      return {
        model,
        tokenizer: await loadTokenizer(opts.dir),
        dir: opts.dir,
        reused: true,
        accuracy: record.accuracy,
      };
    }
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT" && !(e instanceof SyntaxError)) throw e;
  }
  opts.onPretrain?.(reason);
  const { task, config, like, r } = await pretrain(
    settings,
    settings.steps,
    (step, loss) => opts.onProgress?.(step, settings.steps, loss),
  );
  const trained = createModel(config, r.params);
  const { heldOutAccuracy } = await evaluate(trained, trained.params, task, 512, like);
  // the record is the cache's seal: dropped before the folder's files change, so a run stopped while
  // they are rewritten leaves no record, and the next run pretrains again instead of reading these
  // weights under another run's settings
  await rm(recordPath, { force: true });
  await saveModel(opts.dir, trained);
  const { tokenizerJson, tokenizerConfig } = charTokenizerJson(task.vocabulary);
  await writeFileAtomic(join(opts.dir, "tokenizer.json"), JSON.stringify(tokenizerJson, null, 2) + "\n");
  await writeFileAtomic(join(opts.dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig, null, 2) + "\n");
  const record = {
    settings,
    task: task.description,
    accuracy: heldOutAccuracy,
    finalLoss: r.losses.at(-1),
    // what a later run reruns to tell this version's model from another's (see checkLosses)
    check: { backend: like.backend.name, losses: r.losses.slice(0, CHECK_STEPS) },
  };
  await writeFileAtomic(recordPath, JSON.stringify(record, null, 2) + "\n");
  return {
    model: trained,
    tokenizer: await loadTokenizer(opts.dir),
    dir: opts.dir,
    reused: false,
    accuracy: heldOutAccuracy,
  };
}

/**
 * Why a saved model's record does not match this version's pretraining (its first `CHECK_STEPS`
 * losses, rerun from the seed on the same backend, bit for bit), or undefined when it does.
 */
async function checkLosses(settings: BaseSettings, record: { check?: { backend?: string; losses?: number[] } }) {
  const want = record.check?.losses;
  if (!Array.isArray(want) || want.length !== CHECK_STEPS) return "its record has no check losses";
  // pretraining runs on the default backend; another backend's rounding is not comparable
  if (record.check?.backend !== getBackend().name) return undefined;
  const { r } = await pretrain(settings, CHECK_STEPS);
  const i = r.losses.findIndex((l, j) => l !== want[j]);
  return i < 0 ? undefined : `pretraining step ${i} gives loss ${r.losses[i]}, the record ${want[i]}`;
}
