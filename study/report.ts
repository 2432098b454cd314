/**
 * The study's outputs: a terminal table, `results.json`, `results.md` and two SVG plots (training
 * loss per method; held-out accuracy against trainable parameters).
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../models/files.ts";
import { type Column, fmt, linePlot, markdownTable, scatterPlot, textTable } from "../report/mod.ts";
import type { MethodResult, StudyResult } from "./run.ts";

/** What the study ran on, recorded beside its results. */
export interface StudySettings {
  /** The base model (a folder, or a description of the embedded default). */
  model: string;
  /** The task's description. */
  task: string;
  /** Target modules. */
  target: string;
  /** Steps per method. */
  steps: number;
  /** Sequences per batch. */
  batch: number;
  /** Rank the budgets are set from. */
  rank: number;
  /** Backend. */
  backend: string;
  /** Seed. */
  seed: number;
  /** Whether the accuracy is exact match (else next-token top-1). */
  exact: boolean;
}

const pct = (v: unknown) => (typeof v === "number" && !Number.isNaN(v) ? `${(100 * v).toFixed(1)}%` : "–");
const num = (digits: number) => (v: unknown) => fmt(v, { digits });

/** The table's columns. */
function columns(exact: boolean): Column[] {
  return [
    { key: "name", title: "adapter" },
    { key: "trainable", title: "trainable" },
    { key: "trainLoss", title: "train loss", format: num(3) },
    { key: "heldOutLoss", title: "held-out loss", format: num(3) },
    { key: "heldOutAccuracy", title: exact ? "exact match" : "next-token acc.", format: pct },
    { key: "msPerStep", title: "ms/step", format: num(3) },
    { key: "peakMemoryMB", title: "peak MB", format: (v) => fmt(Math.round(v as number)) },
    { key: "orthogonalityError", title: "‖QᵀQ−I‖", format: num(2) },
    { key: "stableRank", title: "srank ΔW", format: num(3) },
  ];
}

/** The results as an aligned terminal table. */
export function studyTable(result: StudyResult, exact: boolean): string {
  return textTable(columns(exact), result.methods as unknown as Record<string, unknown>[]);
}

/** Training loss per method (an exponential moving average over ~5 steps), log scale. */
export function lossPlot(result: StudyResult): string {
  const smooth = (xs: number[]) => {
    let m = xs[0];
    return xs.map((x) => (m = 0.8 * m + 0.2 * x));
  };
  return linePlot({
    title: "Training loss (moving average over ~5 steps)",
    xLabel: "step",
    yLabel: "cross-entropy",
    logY: true,
    series: result.methods.map((m) => ({
      name: m.name,
      x: m.losses.map((_, i) => i + 1),
      y: smooth(m.losses),
      dashed: m.name === "full",
    })),
  });
}

const FAMILY: Record<string, string> = {
  full: "full fine-tuning",
  "low-rank": "low-rank (LoRA family, VeRA, SORSA, PoLAR)",
  orthogonal: "orthogonal (HRA, OFT, BOFT)",
  structured: "Hadamard / Kronecker / Khatri–Rao products",
};

/** Held-out accuracy against trainable parameters (log scale), one labelled point per method. */
export function accuracyPlot(result: StudyResult, exact: boolean): string {
  return scatterPlot({
    title: `Held-out ${exact ? "exact-match" : "next-token"} accuracy against trainable parameters`,
    xLabel: "trainable parameters",
    yLabel: exact ? "exact match" : "next-token accuracy",
    logX: true,
    hlines: [{ y: result.base.heldOutAccuracy, label: "base model" }],
    points: result.methods.map((m) => ({
      x: m.trainable,
      y: m.heldOutAccuracy,
      label: m.name,
      group: FAMILY[m.family] ?? m.family,
    })),
  });
}

/**
 * The adapter the report calls best: the highest held-out accuracy, ties broken by the lower held-out loss
 * (full fine-tuning, the reference, is not an adapter); undefined when no adapter ran. `results.md` names it and the
 * demo's greedy generations come from it.
 * @example
 * ```ts
 * import { bestAdapter } from "./report.ts";
 * const m = (name: string, heldOutAccuracy: number, heldOutLoss: number) => ({ name, heldOutAccuracy, heldOutLoss });
 * bestAdapter({ methods: [m("full", 1, 0.004), m("lora", 1, 0.015), m("boft", 1, 0.012)] })?.name; // "boft"
 * ```
 */
export function bestAdapter<M extends Pick<MethodResult, "name" | "heldOutAccuracy" | "heldOutLoss">>(
  result: { methods: readonly M[] },
): M | undefined {
  return [...result.methods].filter((m) => m.name !== "full")
    .sort((a, b) => b.heldOutAccuracy - a.heldOutAccuracy || a.heldOutLoss - b.heldOutLoss)[0];
}

/** `results.md`: the settings, the table, how to read it, and the plots. */
export function studyMarkdown(result: StudyResult, settings: StudySettings, extra: string[] = []): string {
  const best = bestAdapter(result);
  const lines = [
    "# Adapter study",
    "",
    `- base model: ${settings.model}`,
    `- task: ${settings.task}`,
    `- target modules: \`${settings.target}\` (${result.targets.length} modules)`,
    `- ${settings.steps} steps per method, batch ${settings.batch}, budgets set from rank ${settings.rank}, ` +
    `backend ${settings.backend}, seed ${settings.seed}`,
    `- base model before fine-tuning: held-out loss ${fmt(result.base.heldOutLoss, { digits: 3 })}, ` +
    `accuracy ${pct(result.base.heldOutAccuracy)}`,
    "",
    markdownTable(columns(settings.exact), result.methods as unknown as Record<string, unknown>[]),
    "",
    "How to read it: *trainable* counts the scalars each method trains; *train loss* averages the cross-entropy of the last " +
    "10% of steps (a regulariser a method trains with, such as SORSA's, is not counted, so it compares with the " +
    "held-out loss); " +
    (settings.exact
      ? "*exact match* is the share of held-out prompts whose whole answer is the model's top-1 prediction at " +
        "every position, which is exactly when greedy decoding reproduces the answer; "
      : "*next-token acc.* is the share of held-out tokens predicted top-1; ") +
    "*peak MB* is the process's resident memory; *‖QᵀQ−I‖* is the largest Frobenius distance from " +
    "orthogonality among the matrices the method keeps orthogonal (OFT: its Cayley–Neumann rotation, orthogonal up to " +
    "the series' truncation; – where it has none); *srank ΔW* is the " +
    "median over target modules of the stable rank ‖ΔW‖²_F/‖ΔW‖²₂ of the weight change.",
    "",
    ...(best ? [`Best adapter on held-out accuracy: **${best.name}** (${best.label}).`, ""] : []),
    "Methods:",
    "",
    ...result.methods.map((m) => `- \`${m.name}\`: ${m.label}, learning rate ${m.lr}`),
    "",
    ...extra,
    ...(extra.length ? [""] : []),
    "![training loss](loss.svg)",
    "",
    "![accuracy against trainable parameters](accuracy.svg)",
    "",
  ];
  return lines.join("\n");
}

/** Writes `results.json`, `results.md`, `loss.svg` and `accuracy.svg` into `out`. */
export async function writeStudyReport(
  out: string,
  result: StudyResult,
  settings: StudySettings,
  extra: string[] = [],
): Promise<string[]> {
  const files: [string, string][] = [
    ["results.json", JSON.stringify({ settings, ...result }, jsonNumbers, 2) + "\n"],
    ["results.md", studyMarkdown(result, settings, extra)],
    ["loss.svg", lossPlot(result)],
    ["accuracy.svg", accuracyPlot(result, settings.exact)],
  ];
  for (const [name, text] of files) await writeFileAtomic(join(out, name), text);
  return files.map(([name]) => join(out, name));
}

/** NaN and infinities as null (JSON has no NaN). */
function jsonNumbers(_k: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? null : v;
}
