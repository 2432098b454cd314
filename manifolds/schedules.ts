/**
 * Learning-rate schedules: functions from the step count (0 at the first update) to a rate, as in
 * optax.
 * @module
 */
import { DomainError } from "../core/errors.ts";

/** A learning-rate schedule: the rate at step `count` (0 at the first update). */
export type Schedule = (count: number) => number;

/** A fixed rate or a schedule. */
export type LearningRate = number | Schedule;

/**
 * The rate of `lr` at step `count`.
 * @example
 * ```ts
 * import { learningRateAt } from "@tangent/tangent/manifolds";
 * learningRateAt(0.1, 5); // 0.1
 * learningRateAt((t) => 1 / (t + 1), 1); // 0.5
 * ```
 */
export function learningRateAt(lr: LearningRate, count: number, op = "learningRateAt"): number {
  const v = typeof lr === "number" ? lr : lr(count);
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
 * The same rate at every step.
 * @example
 * ```ts
 * import { constantSchedule } from "@tangent/tangent/manifolds";
 * constantSchedule(1e-3)(100); // 0.001
 * ```
 */
export function constantSchedule(value: number): Schedule {
  return () => value;
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
 * at `decaySteps` (optax's `warmup_cosine_decay_schedule`):
 * `η(t) = init + (peak − init)·t/w` for t < w, then
 * `end + (peak − end)·½(1 + cos(π·min(t − w, T − w)/(T − w)))`.
 * @example
 * ```ts
 * import { warmupCosineSchedule } from "@tangent/tangent/manifolds";
 * const lr = warmupCosineSchedule({ peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000 });
 * lr(50); // 5e-4
 * lr(1000); // 0
 * ```
 */
export function warmupCosineSchedule(opts: WarmupCosineOptions): Schedule {
  const init = opts.initValue ?? 0, peak = opts.peakValue, end = opts.endValue ?? 0;
  const w = opts.warmupSteps ?? 0, total = opts.decaySteps;
  return (t: number): number => {
    if (t < w) return init + ((peak - init) * t) / w;
    const span = Math.max(1, total - w);
    const frac = Math.min(t - w, span) / span;
    return end + (peak - end) * 0.5 * (1 + Math.cos(Math.PI * frac));
  };
}
