/**
 * Learning-rate schedules: functions from the step count (0 at the first update) to a rate, as in
 * optax. An optimizer's state holds the count as an int32 scalar tensor, so the built-in schedules
 * (and any made with `tensorSchedule`) compute the rate with tensor ops from it: one `jit` trace of
 * a training step serves every step. A schedule written on numbers still works, on every backend:
 * the count's value is kept on the host for the counts the optimizers make eagerly (a count made
 * otherwise is read back, on the CPU), and under `jit` such a step runs as itself.
 * @module
 */
import { DomainError, DTypeError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { isFloat } from "../core/dtype.ts";
import { add, astype, cos, div, full, less, minimum, mul, sub, where } from "../core/ops/mod.ts";
import { noteValueRead, Tensor } from "../core/tensor.ts";

/**
 * A schedule: the rate at step `count` (0 at the first update). A function written on numbers reads
 * the step count's value (see `learningRateAt`); a `TensorSchedule` is one too.
 */
export type Schedule = (count: number) => number;

/**
 * A schedule written with tensor ops (a built-in one, or made by `tensorSchedule`): the step count
 * tensor (int32 scalar) in gives the rate as a float scalar tensor, so the optimizers read no value
 * and one `jit` trace serves every step; a number in gives a number (`lr(50)`).
 */
export interface TensorSchedule {
  /** The rate at step `count`, as a number. */
  (count: number): number;
  /** The rate at the step count tensor, as a float scalar tensor beside it. */
  (count: Tensor): Tensor;
  /** Marks a schedule computed with tensor ops. */
  readonly tensorOps: true;
}

/** A fixed rate or a schedule (a `TensorSchedule` is a `Schedule`). */
export type LearningRate = number | Schedule;

/**
 * The dtype rates and Adam's bias corrections are computed in beside `count`: float64 on the CPU
 * (the same bits as the same formula on JS numbers), float32 where there is no float64 (WebGPU).
 * @internal
 */
export function stepDType(count: Tensor): "float64" | "float32" {
  return count.backend.name === "cpu" ? "float64" : "float32";
}

/**
 * The value of step counts made eagerly by `zeroCount` / `nextCount`, so that a schedule of numbers
 * needs no read back from the device (a count a `jit` replay made has none and is read).
 */
const hostCounts = new WeakMap<Tensor, number>();

/**
 * A fresh step count: an int32 zero on `like`'s backend (the default one without it).
 * @internal
 */
export function zeroCount(like?: Tensor): Tensor {
  const c = full([], 0, { dtype: "int32", like });
  hostCounts.set(c, 0);
  return c;
}

/**
 * `count + 1` (an int32 scalar tensor).
 * @internal
 */
export function nextCount(count: Tensor): Tensor {
  const c = add(count, 1);
  const n = hostCounts.get(count);
  if (n !== undefined) hostCounts.set(c, n + 1);
  return c;
}

/** The count's value for a schedule of numbers: known on the host, else read back (the CPU only). */
function countValue(op: string, count: Tensor): number {
  const n = hostCounts.get(count);
  if (n !== undefined) {
    noteValueRead(`${op}'s schedule of numbers (the step count)`); // a jit trace of what follows is not replayable
    return n;
  }
  try {
    return count.item();
  } catch (e) {
    throw new DomainError(
      `${op}: the lr schedule is a function of numbers, and this step count (made by a jit replay or by hand) ` +
        `must be read back from the ${count.backend.name} backend (${(e as Error).message}); write the schedule ` +
        `with tensor ops, tensorSchedule((count) => ...), or use a built-in schedule`,
    );
  }
}

/** Whether `lr` is computed with tensor ops. */
function isTensorSchedule(lr: Schedule): lr is TensorSchedule {
  return typeof lr === "function" && (lr as Partial<TensorSchedule>).tensorOps === true;
}

function checkRate(op: string, count: number | string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new DomainError(
      `${op}: lr at step ${count} is ${
        String(v)
      }; a learning rate (or its schedule's value) must be a finite number ≥ 0`,
    );
  }
  return v;
}

/**
 * The rate of `lr` at step `count`: a number for a number count; for a count tensor (an
 * optimizer's state), a scalar tensor beside it (float64 on the CPU, float32 on WebGPU). A fixed
 * rate and a schedule of numbers are checked (finite, ≥ 0) at every step; a schedule of numbers
 * needs the count's value (known on the host for counts the optimizers made eagerly, else read back
 * on the CPU), so under `jit` its step runs as itself. A tensor schedule's value is not read (its shape and
 * dtype are checked; the built-ins check their options when made).
 * @example
 * ```ts
 * import { learningRateAt } from "@tangent/tangent/manifolds";
 * learningRateAt(0.1, 5); // 0.1
 * learningRateAt((t) => 1 / (t + 1), 1); // 0.5
 * ```
 */
export function learningRateAt(lr: LearningRate, count: number, op?: string): number;
/** The rate at the step count tensor, as a scalar tensor beside it. */
export function learningRateAt(lr: LearningRate, count: Tensor, op?: string): Tensor;
export function learningRateAt(lr: LearningRate, count: number | Tensor, op = "learningRateAt"): number | Tensor {
  if (typeof lr !== "number" && typeof lr !== "function") {
    throw new DomainError(`${op}: lr must be a number or a schedule (a function of the step), got ${String(lr)}`);
  }
  if (!(count instanceof Tensor)) return checkRate(op, count, typeof lr === "number" ? lr : lr(count));
  const dtype = stepDType(count);
  if (typeof lr === "number") return full([], checkRate(op, "(any)", lr), { dtype, like: count });
  if (isTensorSchedule(lr)) return astype(lr(count), dtype);
  const c = countValue(op, count);
  return full([], checkRate(op, c, lr(c)), { dtype, like: count });
}

/**
 * Marks `f`, a schedule written with tensor ops on the step count (an int32 scalar tensor), so the
 * optimizers hand it the count tensor: under `jit` one trace then serves every step. Its values are
 * not read back (a negative rate is not caught); the result must be a float scalar. The optimizers'
 * step on the CPU is such a trace: a tensor `f` reads from its closure is frozen at the first step,
 * so compute the rate from the count; a plain number returned by `f` (read from a variable the
 * caller changes) is followed at every step, the step then running as it is.
 * @example
 * ```ts
 * import { astype, div, type Tensor } from "@tangent/tangent";
 * import { adam, tensorSchedule } from "@tangent/tangent/optim";
 * const invSqrt = tensorSchedule((t: Tensor) => div(1e-2, astype(t, "float32").add(1).sqrt()));
 * const opt = adam({ lr: invSqrt });
 * ```
 */
export function tensorSchedule(f: (count: Tensor) => Tensor | number): TensorSchedule {
  const op = "tensorSchedule";
  if (typeof f !== "function") throw new DomainError(`${op}: give a function of the count tensor`);
  const onTensor = (count: Tensor): Tensor => {
    const r = f(count);
    if (typeof r === "number") {
      // a number is not computed from the count tensor (it comes from the closure, e.g. a rate the
      // caller lowers on a plateau): a jit trace (the optimizers' fused CPU step) would freeze it
      noteValueRead(`${op}'s schedule returning a number`);
      return full([], r, { dtype: stepDType(count), like: count });
    }
    if (!(r instanceof Tensor) || r.size !== 1) {
      const got = r instanceof Tensor ? `a tensor of shape [${r.shape.join(", ")}]` : String(r);
      throw new ShapeError(`${op}: the schedule gave ${got}; it must return a scalar (one element)`);
    }
    if (!isFloat(r.dtype)) {
      throw new DTypeError(`${op}: the schedule gave a ${r.dtype} rate; return a float scalar (astype(x, "float32"))`);
    }
    return r.ndim === 0 ? r : r.reshape([]);
  };
  return stepSchedule(op, (t) => onTensor(full([], t, { dtype: "int32" })).item(), onTensor);
}

function checkOption(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new DomainError(`${op}: ${name} = ${String(v)} must be a finite number ≥ 0`);
  }
  return v;
}

/** A schedule from its number form and its tensor form (the same formula). */
function stepSchedule(
  op: string,
  onNumber: (t: number) => number,
  onTensor: (t: Tensor) => Tensor,
): TensorSchedule {
  const s = (t: number | Tensor) => {
    if (t instanceof Tensor) return onTensor(t);
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0) {
      throw new DomainError(
        `${op}: the step count is ${String(t)}; it must be a whole number ≥ 0 (0 at the first update)`,
      );
    }
    return onNumber(t);
  };
  return Object.assign(s, { tensorOps: true as const }) as TensorSchedule;
}

/**
 * The same rate at every step.
 * @example
 * ```ts
 * import { constantSchedule } from "@tangent/tangent/manifolds";
 * constantSchedule(1e-3)(100); // 0.001
 * ```
 */
export function constantSchedule(value: number): TensorSchedule {
  checkOption("constantSchedule", "value", value);
  return stepSchedule("constantSchedule", () => value, (t) => full([], value, { dtype: stepDType(t), like: t }));
}

/** Options of `warmupCosineSchedule`. */
export interface WarmupCosineOptions {
  /** Rate at step 0 (default 0). */
  initValue?: number;
  /** Rate at the end of the warmup. */
  peakValue: number;
  /** Steps of linear warmup (default 0). */
  warmupSteps?: number;
  /** Total steps, warmup included, after which the rate stays at `endValue`. */
  decaySteps: number;
  /** Final rate (default 0). */
  endValue?: number;
}

/**
 * Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then cosine decay to `endValue`
 * at `decaySteps` (optax's `warmup_cosine_decay_schedule`, with its operations in its order, so
 * the float64 rates are optax's bit for bit under `jax_enable_x64`):
 * `η(t) = (init − peak)·(1 − t/w) + peak` for t < w, then
 * `peak·((1 − α)·½(1 + cos(π·min(t − w, T − w)/(T − w))) + α)`, α = end/peak. Every rate lies between
 * the three values, so checking them (finite, ≥ 0) when the schedule is made covers every step.
 *
 * Differences from optax: the rate is float64 on the CPU (optax's schedule of the int32 count its
 * optimizers keep is float32 even under x64, ~1e-7 relative off); `decaySteps ≤ warmupSteps`, which
 * optax rejects, steps to `endValue` one step after the warmup; `peakValue` 0 decays from 0 towards
 * `endValue` (optax takes α = 0 there and stays at 0); there is no `exponent` option (optax's
 * default 1).
 * @example
 * ```ts
 * import { warmupCosineSchedule } from "@tangent/tangent/manifolds";
 * const lr = warmupCosineSchedule({ peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000 });
 * lr(50); // 5e-4
 * lr(1000); // 0
 * ```
 */
export function warmupCosineSchedule(opts: WarmupCosineOptions): TensorSchedule {
  const op = "warmupCosineSchedule";
  if (opts === null || typeof opts !== "object") throw new DomainError(`${op}: give { peakValue, decaySteps }`);
  checkOptions(
    op,
    opts,
    optionKeys<WarmupCosineOptions>({
      initValue: true,
      peakValue: true,
      warmupSteps: true,
      decaySteps: true,
      endValue: true,
    }),
  );
  const init = checkOption(op, "initValue", opts.initValue ?? 0);
  const peak = checkOption(op, "peakValue", opts.peakValue);
  const end = checkOption(op, "endValue", opts.endValue ?? 0);
  const w = checkOption(op, "warmupSteps", opts.warmupSteps ?? 0);
  const total = checkOption(op, "decaySteps", opts.decaySteps);
  const span = Math.max(1, total - w);
  // optax's cosine_decay_schedule scales by peak with alpha = end / peak; with peak 0 that loses
  // endValue, so the decay is then written as end − end·c (the same value for peak > 0, other bits)
  const alpha = peak === 0 ? 0 : end / peak;
  const scaled = (c: number) => (peak === 0 ? end - end * c : peak * ((1 - alpha) * c + alpha));
  return stepSchedule(
    op,
    (t) => {
      if (t < w) return (init - peak) * (1 - t / w) + peak;
      const c = 0.5 * (1 + Math.cos((Math.PI * Math.min(t - w, span)) / span));
      return scaled(c);
    },
    (count) => {
      // the same operations in the same order as on numbers (and as optax): the same bits in float64
      const t = astype(count, stepDType(count));
      const c = mul(0.5, add(1, cos(div(mul(Math.PI, minimum(sub(t, w), span)), span))));
      const decay = peak === 0 ? sub(end, mul(end, c)) : mul(peak, add(mul(1 - alpha, c), alpha));
      if (w === 0) return decay;
      const warm = add(mul(init - peak, sub(1, div(t, w))), peak);
      return where(less(t, w), warm, decay);
    },
  );
}
