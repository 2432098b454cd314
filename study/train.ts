/**
 * A training loop for language models: batches from a task, a loss, any optimizer; memory kept
 * flat with `scope`, the loss read back only every few steps (a WebGPU read waits ~11 ms).
 * @module
 */
import { DomainError } from "../core/errors.ts";
import { add, stack, tensor } from "../core/ops/mod.ts";
import { scope } from "../core/memory.ts";
import type { Tensor } from "../core/tensor.ts";
import { valueAndGrad } from "../autodiff/grad.ts";
import { jit } from "../autodiff/jit.ts";
import type { Optimizer } from "../manifolds/optimizer.ts";
import type { Batch } from "./tasks.ts";

/** A batch as int32 tensors `[batch, seq]` on `like`'s backend. */
export function batchTensors(b: Batch, like: Tensor): { inputs: Tensor; labels: Tensor } {
  const shape = [b.batch, b.seq];
  return {
    inputs: tensor(b.inputs, { shape, dtype: "int32", like }),
    labels: tensor(b.labels, { shape, dtype: "int32", like }),
  };
}

/** Options of `train`. */
export interface TrainOptions<P> {
  /** The starting parameters (a pytree; not released by the loop, so they may be shared). */
  params: P;
  /** The optimizer. */
  optimizer: Optimizer;
  /** Number of steps. */
  steps: number;
  /** The scalar loss of `params` on a batch (what `losses` records). */
  loss: (params: P, inputs: Tensor, labels: Tensor) => Tensor;
  /**
   * A penalty on the parameters added to the loss for the gradient (SORSA's orthonormality term, HRA's
   * λ): the step minimises `loss + regularizer`, while `losses` records `loss` alone, so methods with and
   * without a regulariser report the same quantity (the cross-entropy the held-out loss measures too).
   */
  regularizer?: (params: P) => Tensor;
  /** The batch of step `step`. */
  batch: (step: number) => Batch;
  /** Any tensor on the backend to train on (batches are created beside it). */
  like: Tensor;
  /**
   * Compile the whole step (loss, gradient and the optimizer's update) with `jit` (default true):
   * traced at the first step, replayed after (bit for bit the eager values on the CPU). The
   * optimizer's state holds its step count as a tensor, so one trace serves every step.
   */
  jit?: boolean;
  /** Read the loss back every this many steps (default 1 on the CPU, 10 elsewhere). */
  readEvery?: number;
  /** Called at the start (step 0, loss NaN) and after each read with the steps done and the latest loss. */
  onProgress?: (step: number, loss: number) => void;
}

/** What `train` returns. */
export interface TrainResult<P> {
  /** The trained parameters. */
  params: P;
  /** Loss at each step, without the regularizer (every step is recorded, read back in groups). */
  losses: number[];
  /** Wall-clock milliseconds per step after the first two (warm-up, compilation). */
  msPerStep: number;
  /** Largest resident set size seen during training, in bytes. */
  peakRss: number;
}

/**
 * Runs `steps` optimizer steps of `loss`. Each step runs in a `scope` that releases the previous
 * step's parameters and optimizer state (never the starting parameters), so memory stays flat on
 * every backend.
 * @example
 * ```ts
 * import { key, manifolds, mean, normal, square, sub, type Tensor } from "@tangent/tangent";
 * import { train } from "./train.ts";
 * const w0 = normal(key(0), [2, 2]);
 * const r = await train({
 *   params: w0, optimizer: manifolds.adam({ lr: 0.1 }), steps: 20, like: w0,
 *   batch: () => ({ inputs: new Int32Array(4), labels: new Int32Array(4), batch: 2, seq: 2 }),
 *   loss: (w: Tensor) => mean(square(sub(w, 1))),
 * });
 * r.losses.length; // 20
 * ```
 */
export async function train<P>(opts: TrainOptions<P>): Promise<TrainResult<P>> {
  const { optimizer, steps } = opts;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new DomainError(`train: steps must be a positive integer, got ${steps}`);
  }
  const every = opts.readEvery ?? (opts.like.backend.name === "cpu" ? 1 : 10);
  const reg = opts.regularizer;
  const eager = (p: P, s: unknown, x: Tensor, y: Tensor) => {
    const [value, grads] = reg
      ? ((q: P) => {
        // the gradient of loss + penalty; the value recorded is the loss alone
        const [[, fit], g] = valueAndGrad((r: P) => {
          const l = opts.loss(r, x, y);
          return [add(l, reg(r)), l] as const;
        }, { hasAux: true })(q);
        return [fit, g] as const;
      })(p)
      : valueAndGrad((q: P) => opts.loss(q, x, y))(p);
    const next = optimizer.update(grads, s, p);
    return { value, params: next.params, state: next.state };
  };
  const trainStep = opts.jit === false ? eager : jit(eager);
  let params = opts.params;
  let state = optimizer.init(params);
  const losses: number[] = [];
  let pending: Tensor[] = [];
  let peakRss = Deno.memoryUsage().rss;
  let t0 = performance.now();
  opts.onProgress?.(0, NaN);
  const flush = async () => {
    if (!pending.length) return;
    const values = await scope(() => stack(pending)).data();
    losses.push(...Array.from(values, Number));
    pending = [];
  };
  for (let step = 0; step < steps; step++) {
    if (step === 2) t0 = performance.now();
    const { inputs, labels } = batchTensors(opts.batch(step), opts.like);
    const first = step === 0;
    const out = scope(() => trainStep(params, state, inputs, labels), {
      release: first ? { state } : { params, state },
    });
    params = out.params;
    state = out.state;
    pending.push(out.value);
    if (pending.length >= every || step === steps - 1) {
      await flush();
      peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
      opts.onProgress?.(step + 1, losses[losses.length - 1]);
    }
  }
  const timed = Math.max(1, steps - 2);
  return { params, losses, msPerStep: (performance.now() - t0) / timed, peakRss };
}
