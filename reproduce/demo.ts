/**
 * What experiments 1 and 3 share: the demo transformer (the adapter study's embedded GPT-2,
 * pretrained on string reversal and cached as a Hugging Face folder) with its shifted fine-tuning
 * task, an optimizer wrapper that looks at the parameters every few steps, and each method's
 * merged weights from its parameters.
 * @module
 */
import { join } from "node:path";
import type { Adapter, Frozen } from "../adapters/adapter.ts";
import { astype, key as makeKey, type Tensor } from "../mod.ts";
import type { Optimizer } from "../manifolds/optimizer.ts";
import type { CausalLM } from "../models/mod.ts";
import { linearModuleAt } from "../models/adapted.ts";
import { defaultBaseModel } from "../study/base.ts";
import type { Method } from "../study/methods.ts";
import { type Task, transductionTask } from "../study/tasks.ts";

/** Options shared by the experiments that fine-tune the demo transformer. */
export interface DemoModelOptions {
  /** A set-up `demoSetup` already made (shared by several experiments; the options below are then unused). */
  demo?: DemoSetup;
  /** The model to fine-tune (default: the demo transformer, cached in `baseDir`). */
  model?: CausalLM;
  /** The task (default: the study's shifted task, `demoTask(model)`). */
  task?: Task;
  /** Folder of the cached demo transformer (default `./out/reproduce/base-model`; `deno task reproduce` uses `<out>/base-model`). */
  baseDir?: string;
  /** Pretrain the demo transformer with fewer steps, as `deno task demo --quick` does (`baseSettings({ quick })`). */
  quickBase?: boolean;
  /** Progress of the pretraining, when the demo transformer is not cached yet. */
  onPretrain?: (step: number, total: number, loss: number) => void;
}

/** The model, the task and a sentence describing both. */
export interface DemoSetup {
  /** The model to fine-tune. */
  readonly model: CausalLM;
  /** The task. */
  readonly task: Task;
  /** One sentence for the report. */
  readonly description: string;
}

/**
 * The study's shifted fine-tuning task for the demo transformer: reverse the letters and map each
 * through the fixed permutation (`transductionTask({ rule: "reverse-permute" })`, the example
 * stream `deno task demo` uses at seed 0), as long as the model's positions allow.
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * import { demoTask } from "./mod.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 12, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
 * demoTask(createModel(config, initModel(config, key(0)))).samples(1); // [{ prompt: "hbfeia=", answer: "hbjcai;" }]
 * ```
 */
export function demoTask(model: CausalLM): Task {
  return transductionTask({ rule: "reverse-permute", length: (model.config.maxPositions - 4) / 2, seed: 2 });
}

/**
 * The model and task of `opts` (`opts.demo` as it is when given): the demo transformer
 * (`defaultBaseModel`, read back from `baseDir` when cached with the same settings, else
 * pretrained there) and `demoTask` by default.
 * @example
 * ```ts ignore
 * import { demoSetup } from "./mod.ts";
 * const { model, task, description } = await demoSetup({ baseDir: "./out/reproduce/base-model" }); // pretrains once
 * ```
 */
export async function demoSetup(opts: DemoModelOptions): Promise<DemoSetup> {
  if (opts.demo) return opts.demo;
  if (opts.model) {
    const task = opts.task ?? demoTask(opts.model);
    return {
      model: opts.model,
      task,
      description: `the given ${opts.model.config.modelType} model; ${task.description}`,
    };
  }
  const dir = opts.baseDir ?? join("out", "reproduce", "base-model");
  const base = await defaultBaseModel({ dir, quick: opts.quickBase, onProgress: opts.onPretrain });
  const c = base.model.config;
  const task = opts.task ?? demoTask(base.model);
  return {
    model: base.model,
    task,
    description: `the demo transformer (GPT-2, n_embd ${c.hiddenSize}, ${c.numLayers} blocks, ${c.numHeads} heads, ` +
      `pretrained on string reversal to ${(100 * base.accuracy).toFixed(1)}% held-out exact match, ` +
      `${base.reused ? "read back from" : "saved to"} \`${dir}\`), fine-tuned to ${task.description}`,
  };
}

/**
 * `optimizer` that calls `look(step, params)` with the parameters before update `step` whenever
 * `step` is a multiple of `every` (step 0: the starting parameters). Its updates are the
 * wrapped optimizer's; it counts the updates it has made. It runs on the host at every update, so
 * train with it eagerly (`runStudy`'s `jit: false`): a jitted step would call it only while tracing.
 * @example
 * ```ts
 * import { grad, key, manifolds, normal, square, sum, type Tensor } from "@tangent/tangent";
 * import { watching } from "./mod.ts";
 * const seen: number[] = [];
 * const opt = watching(manifolds.sgd({ lr: 0.1 }), 2, (step, p) => seen.push(step, sum(square(p as Tensor)).item()));
 * let w = normal(key(0), [3]), state = opt.init(w);
 * for (let i = 0; i < 4; i++) ({ params: w, state } = opt.update(grad((x: Tensor) => sum(square(x)))(w), state, w));
 * seen.length; // 4: steps 0 and 2, each with ‖w‖²
 * ```
 */
export function watching(
  optimizer: Optimizer,
  every: number,
  look: (step: number, params: unknown) => void,
): Optimizer {
  let step = 0;
  return {
    init: (params) => optimizer.init(params),
    update(grads, state, params) {
      if (step % every === 0) look(step, params);
      step++;
      return optimizer.update(grads, state, params);
    },
  };
}

/**
 * The merged weight of module `path` under `method` with parameters `params` (the whole model's
 * for full fine-tuning, the adapters' by module path otherwise), in float64. The adapter's frozen
 * tensors (the base weight, or the residual of PiSSA and SORSA) are rebuilt by its `init`, which
 * for these methods does not depend on the key.
 * @example
 * ```ts
 * import { createModel, initModel, key, models, parseConfig } from "@tangent/tangent";
 * import { selectMethods } from "../study/methods.ts";
 * import { baseWeight, mergedWeights } from "./mod.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 12, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
 * const model = createModel(config, initModel(config, key(0)));
 * const [pissa] = selectMethods("pissa", 2), paths = model.linearPaths;
 * const adapted = models.adaptModel(model, { target: (p) => paths.includes(p), adapter: pissa.adapter!({ inF: 32, outF: 24 }) });
 * const w = mergedWeights(pissa, model, paths)(adapted.params, paths[0]); // = the base weight at init
 * w.sub(baseWeight(model, paths[0])).abs().max().item(); // ≈ 4e-9 (float32 rounding of the SVD split)
 * ```
 */
export function mergedWeights(
  method: Method,
  model: CausalLM,
  targets: readonly string[],
): (params: unknown, path: string) => Tensor {
  const base = (p: string) => linearModuleAt(model, p);
  if (!method.adapter) return (params, path) => astype(linearModuleAt(model, path, params).weight, "float64");
  // the dims runStudy gives the method: the widest target's
  const shapes = targets.map((p) => base(p).weight.shape);
  const inF = Math.max(...shapes.map((s) => s[1])), outF = Math.max(...shapes.map((s) => s[0]));
  // deno-lint-ignore no-explicit-any
  const adapter = method.adapter({ inF, outF }) as Adapter<any, Frozen>;
  const frozen = new Map(targets.map((p) => [p, adapter.init(makeKey(0), base(p)).frozen]));
  return (params, path) =>
    astype(adapter.merge((params as Record<string, unknown>)[path], frozen.get(path)!), "float64");
}

/**
 * The base model's weight of module `path`, in float64.
 * @example
 * ```ts
 * import { createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * import { baseWeight } from "./mod.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 12, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
 * const model = createModel(config, initModel(config, key(0)));
 * baseWeight(model, model.linearPaths[0]).shape; // [24, 8]
 * ```
 */
export function baseWeight(model: CausalLM, path: string): Tensor {
  return astype(linearModuleAt(model, path).weight, "float64");
}

/**
 * Quantile q ∈ [0, 1] of the numbers (linear interpolation; NaN for none).
 * @example
 * ```ts
 * import { quantile } from "./mod.ts";
 * quantile([4, 1, 3, 2], 0.25); // 1.75
 * ```
 */
export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

/**
 * The median (NaN for none).
 * @example
 * ```ts
 * import { median } from "./mod.ts";
 * median([3, 1, 2, 10]); // 2.5
 * ```
 */
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
