/**
 * The adapter study: fine-tune one base model on one task with each method at a comparable
 * budget, and measure what each gives: losses, held-out accuracy, speed, memory, how orthogonal
 * its orthogonal factors stayed and the stable rank of the weight change it made.
 * @module
 */
import { DomainError, FormatError } from "../core/errors.ts";
import {
  add,
  astype,
  concat,
  equal,
  greaterEqual,
  logicalNot,
  max,
  mul,
  reshape,
  sum,
  take,
  where,
} from "../core/ops/mod.ts";
import { scope } from "../core/memory.ts";
import { arange } from "../core/ops/mod.ts";
import { treeMap } from "../core/pytree.ts";
import { foldIn, type Key, key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { toBackend } from "../core/device.ts";
import { orthogonalityError, stableRank } from "../adapters/analysis.ts";
import { countScalars } from "../adapters/adapter.ts";
import { adaptablePaths, type AdaptedModel, adaptModel, linearModuleAt } from "../models/adapted.ts";
import { type CausalLM, getPath, type ModelParams } from "../models/model.ts";
import { crossEntropy, widenHalf } from "../models/nn.ts";
import { targetMatcher } from "../adapters/adapt.ts";
import { type Method, studyMethods } from "./methods.ts";
import type { Task } from "./tasks.ts";
import { batchTensors, train } from "./train.ts";

/** Options of `runStudy`. */
export interface StudyOptions {
  /** The base model (frozen for every method but full fine-tuning). */
  model: CausalLM;
  /** The task to fine-tune on. */
  task: Task;
  /** The methods to compare. */
  methods: readonly Method[];
  /** Target modules (PEFT's `target_modules`: `"c_attn"`, `"q_proj,v_proj"`). */
  target: string;
  /** Optimizer steps per method. */
  steps: number;
  /** Sequences per batch. */
  batch: number;
  /** Held-out sequences. */
  heldOut?: number;
  /** One learning rate for every method (default: each method's own). */
  lr?: number;
  /** Key of the adapters' initialisation (default `key(0)`). */
  key?: Key;
  /**
   * Key each built-in method by its place in `studyMethods` (its name) rather than its position in
   * `methods`, so a method starts and trains the same whichever others run with it (the demo's
   * `--adapters lora` gives the full table's lora row). Default false: by position. All methods in
   * `studyMethods`' order give the same keys either way.
   */
  keyByName?: boolean;
  /** Progress of a method's training: steps done of `total` (0 when it starts), latest loss. */
  onProgress?: (method: Method, step: number, total: number, loss: number) => void;
  /** Called when a method is done, with the trained model and parameters (to export them). */
  onTrained?: (method: Method, trained: TrainedMethod) => Promise<void> | void;
  /**
   * Train each method with one jitted step (default true, `train`'s `jit`); false for an optimizer
   * with host side effects (`reproduce`'s `watching`), which a replayed trace would not run.
   */
  jit?: boolean;
}

/** A method's trained state. */
export interface TrainedMethod {
  /** The adapted model (absent for full fine-tuning). */
  adapted?: AdaptedModel;
  /** The trained parameters: the adapters' or (full fine-tuning) the whole model's. */
  params: unknown;
}

/** What one method achieved. */
export interface MethodResult {
  /** The method's identifier. */
  name: string;
  /** How it was set up. */
  label: string;
  /** Which kind of update it makes. */
  family: string;
  /** Learning rate used. */
  lr: number;
  /** Trainable scalars. */
  trainable: number;
  /** Mean training cross-entropy over the last 10% of steps (a method's regulariser not included). */
  trainLoss: number;
  /** Loss on the held-out set. */
  heldOutLoss: number;
  /** Exact-match accuracy on the held-out set (next-token top-1 accuracy for text). */
  heldOutAccuracy: number;
  /** Milliseconds per optimizer step. */
  msPerStep: number;
  /** Peak resident memory during its training, in MB. */
  peakMemoryMB: number;
  /** Largest ‖QᵀQ − I‖_F over its orthogonal factors (NaN where it has none). */
  orthogonalityError: number;
  /** Median over the adapted modules of the stable rank ‖ΔW‖_F²/‖ΔW‖₂² of its weight change. */
  stableRank: number;
  /** Training loss at every step. */
  losses: number[];
}

/** What `runStudy` returns. */
export interface StudyResult {
  /** One entry per method, in the order run. */
  methods: MethodResult[];
  /** The base model before fine-tuning, on the held-out set. */
  base: { heldOutLoss: number; heldOutAccuracy: number };
  /** The adapted module paths. */
  targets: string[];
}

/**
 * Held-out loss and accuracy: exact match when the task has exact answers (every answer token is
 * the model's top-1 under teacher forcing, which is exactly when greedy decoding reproduces the
 * answer), else next-token top-1 accuracy. Computed in chunks of 64 sequences on the model's
 * backend; only per-position hits are read back.
 */
export async function evaluate<P>(
  model: CausalLM<P>,
  params: P,
  task: Task,
  size: number,
  like: Tensor,
): Promise<{ heldOutLoss: number; heldOutAccuracy: number }> {
  const b = task.heldOut(size);
  let lossSum = 0, count = 0, hits = 0, total = 0;
  for (let start = 0; start < b.batch; start += 64) {
    const n = Math.min(64, b.batch - start);
    const part = {
      inputs: b.inputs.subarray(start * b.seq, (start + n) * b.seq),
      labels: b.labels.subarray(start * b.seq, (start + n) * b.seq),
      batch: n,
      seq: b.seq,
    };
    // one scope per chunk: its intermediates go back at once; one read brings the loss, count and hits
    const packed = scope(() => {
      const { inputs, labels } = batchTensors(part, like);
      const logits = model.apply(params, inputs);
      const V = logits.shape[2], N = n * b.seq;
      const counted = reshape(logicalNot(equal(labels, -100)), [N]);
      const k = sum(counted);
      // a position is right when the label's logit is the largest (ties count as right)
      const flat = reshape(logits, [N * V]);
      const idx = add(mul(arange(N, undefined, 1, { like: labels }), V), where(counted, reshape(labels, [N]), 0));
      const right = greaterEqual(take(flat, idx), reshape(max(logits, { axis: -1 }), [N]));
      const loss = mul(crossEntropy(logits, labels), astype(k, logits.dtype));
      const f = (t: Tensor) => reshape(astype(t, logits.dtype), [-1]);
      return concat([f(loss), f(k), f(right), f(counted)]);
    });
    const values = await packed.data();
    const N = n * b.seq;
    lossSum += Number(values[0]);
    count += Number(values[1]);
    const ok = values.subarray(2, 2 + N), mask = values.subarray(2 + N, 2 + 2 * N);
    for (let r = 0; r < n; r++) {
      let all = true;
      for (let t = 0; t < b.seq; t++) {
        const i = r * b.seq + t;
        if (!mask[i]) continue;
        if (task.exact) all &&= ok[i] === 1;
        else {
          hits += ok[i];
          total++;
        }
      }
      if (task.exact) {
        hits += all ? 1 : 0;
        total++;
      }
    }
  }
  return { heldOutLoss: lossSum / Math.max(1, count), heldOutAccuracy: hits / Math.max(1, total) };
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function onCpu(t: Tensor): Promise<Tensor> {
  return t.backend.name === "cpu" ? t : await toBackend(t, "cpu");
}

/** Stable rank of each target's weight change and the largest orthogonality error. */
async function analyse(
  base: CausalLM,
  targets: readonly string[],
  merged: (path: string) => Tensor,
  factors: (path: string) => Tensor[],
): Promise<{ stableRank: number; orthogonalityError: number }> {
  const ranks: number[] = [];
  let ortho = NaN;
  for (const path of targets) {
    const w0 = linearModuleAt(base, path).weight;
    const delta = await onCpu(merged(path).sub(w0));
    ranks.push(stableRank(delta).item());
    for (const f of factors(path)) {
      const e = orthogonalityError(await onCpu(f)).item();
      ortho = Number.isNaN(ortho) ? e : Math.max(ortho, e);
    }
  }
  return { stableRank: median(ranks), orthogonalityError: ortho };
}

/** The built-in methods' names in `studyMethods`' order (the rank does not change it). */
const CANONICAL = studyMethods(1).map((m) => m.name);

/**
 * Fine-tunes `model` on `task` with each method in turn and measures each. Deterministic given
 * the key: every method sees the same batches in the same order.
 * @example
 * ```ts ignore
 * const result = await runStudy({ model, task, methods: studyMethods(4), target: "c_attn", steps: 200, batch: 64 });
 * ```
 */
export async function runStudy(opts: StudyOptions): Promise<StudyResult> {
  const { model, task } = opts;
  const like = getPath(model.params, `${model.linearPaths[0]}.weight`) as Tensor;
  const heldOut = opts.heldOut ?? 512;
  const selects = targetMatcher(opts.target);
  // lm_head is a target also where it is tied to the token embedding (the embedded GPT-2's), as in PEFT
  const targets = adaptablePaths(model).filter(selects);
  if (!targets.length) {
    throw new FormatError(
      `--target ${opts.target} matches no linear module of the ${model.config.modelType} model; its modules are ` +
        `${[...new Set(adaptablePaths(model).map((p) => p.split(".").pop()))].join(", ")}`,
    );
  }
  const base = await evaluate(model, model.params, task, heldOut, like);
  const results: MethodResult[] = [];
  const k = opts.key ?? makeKey(0);
  const lossOf = <P>(m: CausalLM<P>) => (p: P, x: Tensor, y: Tensor) => crossEntropy(m.apply(p, x), y);
  for (const [i, method] of opts.methods.entries()) {
    const lr = opts.lr ?? method.lr;
    const common = {
      optimizer: method.optimizer(lr),
      steps: opts.steps,
      batch: (step: number) => task.trainBatch(step, opts.batch),
      like,
      onProgress: (step: number, loss: number) => opts.onProgress?.(method, step, opts.steps, loss),
      jit: opts.jit,
    };
    let row: Omit<MethodResult, "name" | "label" | "family" | "lr">;
    if (!method.adapter) {
      // a float16 base (`--dtype float16`) keeps only its frozen copy in half: full fine-tuning trains float32
      const start = treeMap(widenHalf, model.params);
      const r = await train({ ...common, params: start as ModelParams, loss: lossOf(model) });
      const ev = await evaluate(model, r.params, task, heldOut, like);
      checkFinite(method, r.losses, lr, ev.heldOutLoss);
      const an = await analyse(model, targets, (p) => linearModuleAt(model, p, r.params).weight, () => []);
      row = summary(r, ev, an, countScalars(model.params));
      await opts.onTrained?.(method, { params: r.params });
    } else {
      const shapes = targets.map((p) => linearModuleAt(model, p).weight.shape);
      const adapter = method.adapter({
        inF: Math.max(...shapes.map((s) => s[1])),
        outF: Math.max(...shapes.map((s) => s[0])),
      });
      const at = opts.keyByName ? CANONICAL.indexOf(method.name) : -1;
      const adapted = adaptModel(model, {
        target: (p) => targets.includes(p),
        adapter,
        key: foldIn(k, at >= 0 ? at : i),
      });
      // a regulariser (SORSA's γ, HRA's λ) is trained with, but the losses recorded are the cross-entropy alone
      const regularizer = (p: Record<string, unknown>) => adapted.regularizer(p);
      const r = await train({ ...common, params: adapted.params, loss: lossOf(adapted), regularizer });
      const ev = await evaluate(adapted, r.params, task, heldOut, like);
      checkFinite(method, r.losses, lr, ev.heldOutLoss);
      const an = await analyse(
        model,
        targets,
        (p) => adapted.layers[p].adapter.merge(r.params[p], adapted.layers[p].frozen),
        (p) =>
          method.nearlyOrthogonal?.(r.params[p]) ??
            adapted.layers[p].adapter.orthogonalFactors?.(r.params[p], adapted.layers[p].frozen) ?? [],
      );
      row = summary(r, ev, an, adapted.trainableCount(r.params));
      await opts.onTrained?.(method, { adapted: adapted as AdaptedModel, params: r.params });
    }
    results.push({ name: method.name, label: method.label, family: method.family, lr, ...row });
  }
  return { methods: results, base, targets };
}

/** A method whose training loss left the finite numbers stops the study with the step and the rate to lower. */
function checkFinite(method: Method, losses: readonly number[], lr: number, heldOutLoss = 0): void {
  const k = losses.findIndex((v) => !Number.isFinite(v));
  if (k < 0 && Number.isFinite(heldOutLoss)) return;
  const when = k < 0
    ? `held-out loss became ${heldOutLoss} after the last of ${losses.length} steps`
    : `training loss became ${losses[k]} at step ${k + 1} of ${losses.length}`;
  throw new DomainError(
    `runStudy: ${method.name}'s ${when} with learning rate ${lr}; lower it (${method.name}'s own rate is ${method.lr})`,
  );
}

function summary(
  r: { losses: number[]; msPerStep: number; peakRss: number },
  ev: { heldOutLoss: number; heldOutAccuracy: number },
  an: { stableRank: number; orthogonalityError: number },
  trainable: number,
): Omit<MethodResult, "name" | "label" | "family" | "lr"> {
  const tail = r.losses.slice(-Math.max(1, Math.floor(r.losses.length / 10)));
  return {
    trainable,
    trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    ...ev,
    msPerStep: r.msPerStep,
    peakMemoryMB: r.peakRss / 2 ** 20,
    ...an,
    losses: r.losses,
  };
}
