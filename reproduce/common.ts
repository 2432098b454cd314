/**
 * What every reproduction returns and the small helpers they share: a verdict, a Markdown
 * section with the paper's claim beside our numbers, and SVG plots by file name.
 * @module
 */
import type { ProgressFields } from "../report/mod.ts";

/** How well our numbers bear out the paper's claim. */
export type Verdict = "reproduced" | "partly" | "not";

/** Reports progress: `step` of `total` steps done, with optional fields (loss, phase, …). */
export type OnProgress = (step: number, total: number, fields?: ProgressFields) => void;

/** What a reproduction hands to the report. */
export interface ExperimentReport {
  /** A Markdown section: the paper's claim (quoted, with where it comes from), our set-up, numbers, plots and verdict. */
  readonly markdown: string;
  /** SVG documents by file name; the Markdown links them by that name, relative to the report. */
  readonly plots: Readonly<Record<string, string>>;
  /** The one-word verdict. */
  readonly verdict: Verdict;
}

/**
 * The verdict line of a section: `**Verdict: partly.** <why>`.
 * @example
 * ```ts
 * import { verdictLine } from "./mod.ts";
 * verdictLine("reproduced", "every error is below 1e-13."); // "**Verdict: reproduced.** every error is below 1e-13."
 * ```
 */
export function verdictLine(v: Verdict, why: string): string {
  return `**Verdict: ${v}.** ${why}`;
}

/**
 * The first index at which `errors` is below `threshold` (errors[i] = after i iterations), or
 * undefined when it never is.
 * @example
 * ```ts
 * import { iterationsTo } from "./mod.ts";
 * iterationsTo([1, 0.1, 1e-7], 1e-6); // 2
 * ```
 */
export function iterationsTo(errors: readonly number[], threshold: number): number | undefined {
  const i = errors.findIndex((e) => e < threshold);
  return i < 0 ? undefined : i;
}

/**
 * At most about `max` evenly spaced points of a curve (the last one always kept), for plots.
 * @example
 * ```ts
 * import { downsample } from "./mod.ts";
 * downsample([5, 4, 3, 2, 1], 2); // { x: [0, 2, 4], y: [5, 3, 1] }
 * ```
 */
export function downsample(ys: readonly number[], max = 500): { x: number[]; y: number[] } {
  const every = Math.max(1, Math.ceil(ys.length / max));
  const x: number[] = [];
  for (let i = 0; i < ys.length; i += every) x.push(i);
  if (x.at(-1) !== ys.length - 1 && ys.length) x.push(ys.length - 1);
  return { x, y: x.map((i) => ys[i]) };
}

/** A Markdown image link to a plot file. */
export const image = (file: string, alt: string): string => `![${alt.replace(/[[\]]/g, "")}](${file})`;

/** A Markdown block quote. */
export const quote = (text: string): string => text.split("\n").map((l) => `> ${l}`).join("\n");
