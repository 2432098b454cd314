/**
 * Runs the reproductions one after another and writes `report.md` with their plots: what
 * `deno task reproduce` does, callable from code too.
 * @module
 */
import { join } from "node:path";
import { DomainError } from "../core/errors.ts";
import { fmt, markdownTable, type Progress, progress, type ProgressOptions, writeFileAtomic } from "../report/mod.ts";
import type { ExperimentReport, OnProgress, Verdict } from "./common.ts";
import { verdictLine } from "./common.ts";
import { decompositions } from "./decompositions.ts";
import { type DemoSetup, demoSetup } from "./demo.ts";
import { hraIdentity, hraLambdaSweep } from "./hra.ts";
import { lokhCascade } from "./lokh_cascade.ts";
import { polarConvergence } from "./polar.ts";
import { polarStableRank } from "./polar_rank.ts";
import { sorsaDrift } from "./sorsa_drift.ts";

/** What an experiment is given besides its size. */
export interface ExperimentContext {
  /** The report's folder. */
  readonly out: string;
  /** The demo transformer and its task (for experiments with `needsDemo`). */
  readonly demo?: DemoSetup;
}

/** One experiment of the report. */
export interface Experiment {
  /** Its number in issue 10's list. */
  readonly id: number;
  /** Its title. */
  readonly title: string;
  /** The paper it checks. */
  readonly paper: string;
  /** Whether it fine-tunes the demo transformer (prepared once, in `<out>/base-model`, before the experiments). */
  readonly needsDemo?: boolean;
  /** Runs it at full or quick sizes. */
  run(quick: boolean, onProgress: OnProgress, context: ExperimentContext): ExperimentReport | Promise<ExperimentReport>;
}

/** Issue 10's six experiments, in its order. */
export const EXPERIMENTS: readonly Experiment[] = [
  {
    id: 1,
    title: "PoLAR: the stable rank of the weight change",
    paper: "PoLAR (arXiv 2506.03133)",
    needsDemo: true,
    run: (quick, onProgress, { demo }) =>
      polarStableRank({
        demo,
        onProgress,
        ...(quick ? { steps: 30, batch: 16, heldOut: 64, every: 10 } : { steps: 300, batch: 64, every: 25 }),
      }),
  },
  {
    id: 2,
    title: "PoLAR: convergence on a canonical low-rank problem",
    paper: "PoLAR (arXiv 2506.03133)",
    run: (quick, onProgress) =>
      polarConvergence(quick ? { size: 24, iterations: 1000, onProgress } : { size: 48, iterations: 4000, onProgress }),
  },
  {
    id: 3,
    title: "SORSA: singular-structure drift",
    paper: "SORSA (arXiv 2409.00055)",
    needsDemo: true,
    run: (quick, onProgress, { demo }) =>
      sorsaDrift({
        demo,
        onProgress,
        ...(quick
          ? { steps: 30, batch: 16, heldOut: 64, every: 5, lrFactors: [1] }
          : { steps: 300, batch: 64, every: 20, lrFactors: [1 / 3, 1, 3] }),
      }),
  },
  {
    id: 4,
    title: "HRA: the low-rank identity and the λ trade-off",
    paper: "HRA (arXiv 2405.17484)",
    run(quick, onProgress) {
      // progress: the identity as one step, then the sweep's own steps
      const sweepOpts = quick ? { size: 16, tokens: 128, steps: 300 } : { steps: 600 };
      const total = 1 + 5 * sweepOpts.steps; // four λ values and the Stiefel run
      onProgress(0, total, { part: "identity" });
      const a = hraIdentity(quick ? { sizes: [16, 64, 256], reflections: [2, 8] } : {});
      const b = hraLambdaSweep({
        ...sweepOpts,
        onProgress: (step, _t, fields) => onProgress(1 + step, total, { part: "λ sweep", ...fields }),
      });
      const verdict: Verdict = a.verdict === "reproduced" && b.verdict === "reproduced"
        ? "reproduced"
        : a.verdict === "not" && b.verdict === "not"
        ? "not"
        : "partly";
      const markdown = [
        a.markdown,
        "",
        b.markdown,
        "",
        verdictLine(verdict, `Experiment 4 as a whole: the identity ${a.verdict}, the λ trade-off ${b.verdict}.`),
      ].join("\n");
      return { markdown, plots: { ...a.plots, ...b.plots }, verdict };
    },
  },
  {
    id: 5,
    title: "The survey's decompositions",
    paper: "Lu, Low-Rank Approximation, Adaptation, and Other Tales (arXiv 2408.05883)",
    run: (quick, onProgress) =>
      decompositions(
        quick ? { rows: 32, cols: 28, rank: 3, missing: [0.3, 0.5], hadamardStarts: 6, onProgress } : { onProgress },
      ),
  },
  {
    id: 6,
    title: "LoKH as the survey draws it",
    paper: "Lu, Low-Rank Approximation, Adaptation, and Other Tales (arXiv 2408.05883)",
    run: (quick, onProgress) =>
      lokhCascade(
        quick ? { size: 16, factors: [2, 4], budgets: [96, 192], iterations: 400, onProgress } : { onProgress },
      ),
  },
];

/** Options of `runReproductions`. */
export interface RunOptions {
  /** Folder for `report.md` and the SVG plots (created if missing). */
  out: string;
  /** Small sizes (under 2 minutes in all). */
  quick?: boolean;
  /** Which experiments (default all of `EXPERIMENTS`). */
  only?: readonly number[];
  /**
   * The model and task for experiments 1 and 3 (default: the demo transformer, pretrained into or read back from
   * `<out>/base-model`, and its shifted task).
   */
  demo?: DemoSetup;
  /** Progress line options for each experiment (default: stderr, as `progress` does). */
  progress?: Omit<ProgressOptions, "label" | "total">;
}

/** One experiment's outcome. */
export interface RunSummary {
  /** Experiment number. */
  readonly id: number;
  /** Title. */
  readonly title: string;
  /** Verdict. */
  readonly verdict: Verdict;
  /** Wall-clock seconds. */
  readonly seconds: number;
  /** Files written (report.md excluded). */
  readonly files: readonly string[];
}

/**
 * Runs the experiments in order with a progress line each (stderr), writes every plot and then
 * `report.md` (atomically) into `out`, and returns what each concluded.
 * @param opts output folder, quick mode, selection, progress options
 * @example
 * ```ts ignore
 * import { runReproductions } from "./mod.ts";
 * const summary = await runReproductions({ out: "./out/reproduce", quick: true });
 * ```
 */
export async function runReproductions(opts: RunOptions): Promise<RunSummary[]> {
  const quick = opts.quick ?? false;
  const unknown = (opts.only ?? []).filter((id) => !EXPERIMENTS.some((e) => e.id === id));
  if (unknown.length || opts.only?.length === 0) {
    throw new DomainError(
      `runReproductions: only [${opts.only!.join(", ")}] must name experiments from ${
        EXPERIMENTS.map((e) => e.id).join(", ")
      } (${unknown.length ? `no experiment ${unknown.join(", ")}` : "none named"}); leave it out to run all`,
    );
  }
  const chosen = EXPERIMENTS.filter((e) => !opts.only || opts.only.includes(e.id));
  const sections: string[] = [];
  const summary: RunSummary[] = [];
  let demo = opts.demo;
  if (!demo && chosen.some((e) => e.needsDemo)) {
    // the demo transformer, pretrained once (or read back) for every experiment that fine-tunes it
    let line: Progress | undefined;
    const baseDir = join(opts.out, "base-model");
    demo = await demoSetup({
      baseDir,
      quickBase: quick,
      onPretrain: (step, total, loss) => {
        line ??= progress({ label: "demo transformer: pretraining", total, ...opts.progress });
        line.tick(step, { loss });
      },
    });
    (line ?? progress({ label: "demo transformer", total: 0, ...opts.progress })).done({
      model: line ? `saved to ${baseDir}` : `read back from ${baseDir}`,
    });
  }
  for (const exp of chosen) {
    let line: Progress | undefined;
    const label = `experiment ${exp.id}`;
    const t0 = performance.now();
    const res = await exp.run(quick, (step, total, fields) => {
      line ??= progress({ label, total, ...opts.progress });
      line.tick(step, fields);
    }, { out: opts.out, demo });
    (line ?? progress({ label, total: 1, ...opts.progress })).done({ verdict: res.verdict });
    const files = Object.keys(res.plots).sort();
    for (const f of files) await writeFileAtomic(join(opts.out, f), res.plots[f]);
    const seconds = (performance.now() - t0) / 1000;
    summary.push({ id: exp.id, title: exp.title, verdict: res.verdict, seconds, files });
    sections.push(`## ${exp.id}. ${exp.title}\n\n${res.markdown}\n`);
  }
  const overview = markdownTable([
    {
      key: "id",
      title: "experiment",
      align: "left",
      format: (v) => `[${v}](#${anchorOf(chosen.find((e) => e.id === v)!)})`,
    },
    { key: "paper", title: "paper" },
    { key: "verdict", title: "verdict" },
    { key: "seconds", title: "seconds", format: (v) => fmt(v, { digits: 2 }) },
  ], summary.map((s) => ({ ...s, paper: chosen.find((e) => e.id === s.id)!.paper })));
  const report = [
    `# Reproductions`,
    ``,
    `Written by \`deno task reproduce${quick ? " --quick" : ""}${
      opts.only ? ` --only ${chosen.map((e) => e.id).join(",")}` : ""
    }\` (${quick ? "quick mode: small sizes" : "full sizes"}). ` +
    `Each section quotes the paper's claim and says where it comes from, states our set-up, gives our numbers and plots, ` +
    `and ends with a one-line verdict (reproduced / partly / not) drawn from those numbers. Every experiment is a ` +
    `function in \`reproduce/\` (\`polarStableRank\`, \`polarConvergence\`, \`sorsaDrift\`, \`hraIdentity\`, ` +
    `\`hraLambdaSweep\`, \`decompositions\`, \`lokhCascade\`) that takes its own sizes.` +
    (demo ? ` Experiments 1 and 3 fine-tune ${demo.description}.` : ""),
    ``,
    overview,
    ...sections,
  ].join("\n");
  await writeFileAtomic(join(opts.out, "report.md"), report);
  return summary;
}

/** GitHub's anchor for an experiment's heading. */
function anchorOf(e: Experiment): string {
  return `${e.id}. ${e.title}`.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, "").trim().replace(/\s/g, "-");
}
