/**
 * `deno task demo`: the adapter study. With no arguments it pretrains a small GPT-2 on reversing
 * strings (cached in `--out`), fine-tunes it to a shifted task with every adapter at comparable
 * budgets, prints a table, and writes results.json, results.md and SVG plots. `--help` lists the
 * options (a Hugging Face model folder or hub id, a text file, methods, targets, budgets, backend,
 * PEFT export).
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { readFile, stat } from "node:fs/promises";
import {
  adapters,
  adaptModel,
  createModel,
  FormatError,
  initModel,
  key,
  parseConfig,
  type Tensor,
  tensor,
  useBackend,
} from "../mod.ts";
import { getPath } from "../models/mod.ts";
import { adaptablePaths } from "../models/adapted.ts";
import { generate, loadModel, loadTokenizer, resolveModel, saveModel, savePeftAdapter } from "../models/mod.ts";
import type { CausalLM, TextTokenizer } from "../models/mod.ts";
import { type Progress, progress } from "../report/mod.ts";
import { defaultBaseModel } from "../study/base.ts";
import { selectMethods } from "../study/methods.ts";
import { bestAdapter, writeStudyReport } from "../study/report.ts";
import { studyTable } from "../study/report.ts";
import { runStudy, type StudyResult, type TrainedMethod } from "../study/run.ts";
import { type Task, textTask, transductionTask } from "../study/tasks.ts";
import {
  backendOption,
  checkByteVocabulary,
  helpText,
  intOption,
  numberOption,
  type OptionSpec,
  parseCommandLine,
  runMain,
  seedOption,
  weightDType,
} from "./cli.ts";

const USAGE = "deno task demo [options]";
const ABOUT = "Fine-tune one base model with every adapter at comparable budgets and compare them.\n" +
  "Without --model: a small GPT-2 is pretrained here on reversing 6 letters (cached in --out), then\n" +
  "fine-tuned to reverse them and map each letter through a fixed permutation. Progress goes to\n" +
  "stderr, the table to stdout, results.json, results.md, loss.svg and accuracy.svg to --out.";
const OPTIONS: Record<string, OptionSpec> = {
  model: { type: "string", value: "<dir|hub id>", help: "a Hugging Face model folder, or a hub id to download" },
  data: { type: "string", value: "<file>", help: "fine-tune on next-token prediction over this UTF-8 text" },
  adapters: {
    type: "string",
    value: "<list>",
    help: "methods, comma-separated (lora,dora,pissa,hra,oft,boft,loha,lokr,lokh,vera,sorsa,polar,full)",
    default: "all",
  },
  target: {
    type: "string",
    value: "<modules>",
    help: "target modules (default: c_attn for GPT-2, q_proj,v_proj for Llama)",
  },
  rank: { type: "string", value: "<r>", help: "rank the budgets are set from", default: "4" },
  steps: { type: "string", value: "<n>", help: "optimizer steps per method (default: 100, --quick 30)" },
  lr: { type: "string", value: "<rate>", help: "one learning rate for every method (default: each method's own)" },
  batch: { type: "string", value: "<n>", help: "sequences per step", default: "64" },
  seq: {
    type: "string",
    value: "<n>",
    help: "letters per example (built-in task, default 6; another length pretrains a new base model) or tokens per " +
      "window (--data, default 64)",
  },
  backend: { type: "string", value: "cpu|webgpu", help: "where to compute", default: "cpu" },
  dtype: {
    type: "string",
    value: "float32|float16",
    help: "the base model's frozen weights (float16: half the bytes; adapters and full fine-tuning train in float32)",
    default: "float32",
  },
  seed: { type: "string", value: "<n>", help: "seed of initialisations and data", default: "0" },
  "export-peft": {
    type: "string",
    value: "<dir>",
    help: "write each trained adapter in PEFT's folder layout under <dir>/<method>",
  },
  out: { type: "string", value: "<dir>", help: "where results and the cached base model go", default: "./out" },
  quick: { type: "boolean", help: "a short run (CI): fewer pretraining and fine-tuning steps" },
  help: { type: "boolean", short: "h", help: "print this help" },
};

async function readText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FormatError(`--data: cannot read ${path} (${(e as Error).message}); pass a UTF-8 text file`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`--data: ${path} is not UTF-8 text; convert it (e.g. iconv -t UTF-8) or pass another file`);
  }
}

/**
 * Stops before pretraining when --target names no module of the default GPT-2: its module names do
 * not depend on its size, so a one-block stand-in answers at once.
 */
function checkDefaultTarget(target: string): void {
  const config = parseConfig({ model_type: "gpt2", vocab_size: 2, n_embd: 2, n_layer: 1, n_head: 1, n_positions: 2 });
  const stand = createModel(config, initModel(config, key(0)));
  try {
    adaptModel(stand, { target, adapter: adapters.lora({ r: 1 }) });
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    const names = [...new Set(adaptablePaths(stand).map((p) => p.split(".").pop()))].join(", ");
    throw new FormatError(`--target ${target} matches no linear module of the default GPT-2; its modules are ${names}`);
  }
}

/** Throws unless `dir` is a folder that can be written, or can be created under its nearest existing parent. */
async function checkWritable(flag: string, dir: string): Promise<void> {
  let at = dir;
  for (;;) {
    const info = await stat(at).catch(() => undefined);
    if (info) {
      const why = !info.isDirectory()
        ? `${at} is a file`
        : await Deno.makeTempDir({ dir: at, prefix: ".tangent-probe-" }).then(
          (probe) => Deno.remove(probe).then(() => ""),
          (e: Error) => e.message,
        );
      if (why) throw new FormatError(`${flag}: cannot create ${dir} (${why}); pass a folder you can write`);
      return;
    }
    if (dirname(at) === at) return;
    at = dirname(at);
  }
}

async function main(): Promise<void> {
  const o = parseCommandLine(Deno.args, USAGE, ABOUT, OPTIONS);
  if (o.help) {
    console.log(helpText(USAGE, ABOUT, OPTIONS));
    return;
  }
  const quick = o.quick === true;
  const seed = seedOption("seed", o.seed);
  const rank = intOption("rank", o.rank, 4);
  const batch = intOption("batch", o.batch, 64);
  const steps = intOption("steps", o.steps, quick ? 30 : 100);
  const lr = numberOption("lr", o.lr);
  const out = resolve(String(o.out ?? "./out"));
  const backend = backendOption(o.backend);
  if (backend === "webgpu") await useBackend("webgpu");
  const dtype = weightDType(o.dtype);
  const methods = selectMethods(o.adapters as string | undefined, rank);
  // the output folders can be made, before the work whose results they hold (nothing is created yet)
  for (const [flag, dir] of [["out", out], ["export-peft", o["export-peft"]]] as const) {
    if (typeof dir === "string") await checkWritable(`--${flag}`, resolve(dir));
  }

  let model: CausalLM, tokenizer: TextTokenizer, modelName: string, modelDir: string;
  if (o.model) {
    modelDir = await resolveModel(String(o.model), { onProgress: (m) => console.error(m) });
    model = await loadModel(modelDir, { backend, dtype });
    tokenizer = await loadTokenizer(modelDir);
    modelName = String(o.model);
    checkByteVocabulary(String(o.model), tokenizer.kind, model.config.vocabSize);
  } else {
    if (o.target !== undefined) checkDefaultTarget(String(o.target));
    if (o.data) {
      throw new FormatError(
        "--data needs --model: the embedded default model knows only the 12 symbols of its task; pass a Hugging Face " +
          "model folder (or hub id) whose tokenizer covers the text",
      );
    }
    modelDir = join(out, "base-model");
    let bar: Progress | undefined;
    const base = await defaultBaseModel({
      dir: modelDir,
      quick,
      seed,
      backend,
      length: o.seq === undefined ? undefined : intOption("seq", o.seq, 6),
      onPretrain: (reason) => console.error(`pretraining the default GPT-2: ${reason}`),
      onProgress: (s, n, loss) => {
        bar ??= progress({ label: "pretraining the default GPT-2", total: n });
        if (s > 0) bar.tick(s, { loss });
      },
    });
    if (bar) bar.done({ "exact match": base.accuracy });
    console.error(`base model: ${base.reused ? "reused" : "saved to"} ${modelDir}`);
    ({ model, tokenizer } = base);
    // pretrained in float32; a float16 study reads the saved folder back with its weights rounded
    if (dtype === "float16") model = await loadModel(modelDir, { backend, dtype });
    modelName = `embedded GPT-2 (n_embd ${model.config.hiddenSize}, ${model.config.numLayers} blocks, ` +
      `${model.config.numHeads} heads), pretrained on string reversal to ${(100 * base.accuracy).toFixed(1)}% ` +
      `exact match; saved in ${modelDir}`;
  }

  let task: Task;
  if (o.data) {
    const text = await readText(String(o.data));
    task = textTask(tokenizer.encode(text, { addSpecialTokens: false }), intOption("seq", o.seq, 64), { seed });
  } else {
    const length = o.model ? intOption("seq", o.seq, 6) : (model.config.maxPositions - 4) / 2;
    task = transductionTask({
      rule: "reverse-permute",
      length,
      seed: seed + 2,
      tokenizer: o.model ? tokenizer : undefined,
    });
  }
  checkFits(task, tokenizer, model.config.maxPositions, o.data ? intOption("seq", o.seq, 64) : undefined);
  const target = String(o.target ?? (model.config.architecture === "gpt2" ? "c_attn" : "q_proj,v_proj"));
  console.error(`task: ${task.description}; ${methods.length} methods × ${steps} steps on ${target}`);

  const trained = new Map<string, TrainedMethod>();
  const notes: string[] = [];
  const bars = new Map<string, Progress>();
  const result = await runStudy({
    model,
    task,
    methods,
    target,
    steps,
    batch,
    lr,
    keyByName: true, // --adapters lora trains lora as the full table does
    onProgress: (m, step, total, loss) => {
      if (step === 0) return void bars.set(m.name, progress({ label: m.name.padEnd(6), total }));
      bars.get(m.name)!.tick(step, { loss });
      if (step === total) bars.get(m.name)!.done({ loss });
    },
    async onTrained(m, t) {
      trained.set(m.name, t);
      if (!o["export-peft"]) return;
      const dir = join(resolve(String(o["export-peft"])), m.name);
      if (t.adapted) {
        const saved = await savePeftAdapter(dir, t.adapted, t.params as never, { baseModelNameOrPath: modelDir });
        for (const n of saved.notes) notes.push(`- \`${m.name}\` (${dir}): ${n}`);
      } else {
        await saveModel(dir, model, t.params as never);
        notes.push(`- \`full\` (${dir}): a whole model folder (config.json + model.safetensors), not an adapter`);
      }
    },
  });

  console.log(`\n${studyTable(result, task.exact)}`);
  const extra = notes.length ? ["PEFT export:", "", ...notes] : [];
  const samples = await sampleGenerations(result, trained, model, tokenizer, task);
  if (samples.length) extra.push("", "Greedy generations on held-out prompts (best adapter):", "", ...samples);
  const files = await writeStudyReport(out, result, {
    model: modelName,
    task: task.description,
    target,
    steps,
    batch,
    rank,
    backend,
    seed,
    exact: task.exact,
  }, extra);
  if (samples.length) console.log(`\n${samples.join("\n")}`);
  if (notes.length) console.log(`\n${notes.join("\n")}`);
  console.log(`\nwrote ${files.join(", ")}`);
}

/** Stops before training when one example (prompt and answer, or a --data window) is longer than the model's positions. */
function checkFits(task: Task, tokenizer: TextTokenizer, maxPositions: number, window?: number): void {
  const [ex] = window === undefined ? task.samples(1) : [];
  // the model reads every token but the last (teacher forcing; greedy decoding stops there too)
  const n = window ?? tokenizer.encode(ex.prompt + ex.answer, { addSpecialTokens: false }).length - 1;
  if (n > maxPositions) {
    throw new FormatError(
      `--seq: one ${window === undefined ? "example (prompt and answer)" : "window"} takes ${n} positions, but the ` +
        `model holds ${maxPositions}; pass a smaller --seq`,
    );
  }
}

/** A few held-out prompts continued greedily by the best adapter (`bestAdapter`, the one results.md names). */
async function sampleGenerations(
  result: StudyResult,
  trained: Map<string, TrainedMethod>,
  model: CausalLM,
  tokenizer: TextTokenizer,
  task: Task,
): Promise<string[]> {
  const best = bestAdapter(result);
  if (!best) return [];
  const t = trained.get(best.name);
  if (!t?.adapted) return [];
  const like = getPath(model.params, `${model.linearPaths[0]}.weight`) as Tensor;
  const lines: string[] = [];
  for (const ex of task.samples(3)) {
    const ids = tokenizer.encode(ex.prompt, { addSpecialTokens: false });
    const input = tensor([ids], { dtype: "int32", like });
    const answerLength = tokenizer.encode(ex.prompt + ex.answer, { addSpecialTokens: false }).length - ids.length;
    const [seq] = await generate(t.adapted, t.params as never, input, { maxNewTokens: answerLength });
    const got = tokenizer.decode(seq.slice(ids.length));
    lines.push(`- \`${best.name}\`: \`${ex.prompt}\` → \`${got}\` (expected \`${ex.answer}\`)`);
  }
  return lines;
}

if (import.meta.main) await runMain(main);
