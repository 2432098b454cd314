/**
 * Experiment 3 (SORSA, Cao 2024): how far fine-tuning moves a weight's singular structure. ΔΣ is
 * the mean |σ_t − σ_0| over the singular values, ΔD = 1 − mean(|⟨u_t, u_0⟩| + |⟨v_t, v_0⟩|)/2 over
 * the singular-vector pairs (`adapters.spectralDrift`, the paper's §3.2 equations 1–4). The paper:
 * with its orthonormal regulariser SORSA keeps both much smaller than LoRA and (partial) full
 * fine-tuning; without it SORSA drifts like LoRA. Here each method fine-tunes the demo
 * transformer, learning rates picked for similar final losses, and both measures are tracked per
 * layer every few steps.
 * @module
 */
import { spectralDrift } from "../adapters/analysis.ts";
import { DomainError } from "../core/errors.ts";
import { targetMatcher } from "../adapters/adapt.ts";
import { adaptablePaths } from "../models/adapted.ts";
import { sorsa } from "../adapters/sorsa.ts";
import { key, linalg } from "../mod.ts";
import { fmt, linePlot, type LineSeries, markdownTable, PALETTE, scatterPlot } from "../report/mod.ts";
import { type Method, studyMethods } from "../study/methods.ts";
import { runStudy } from "../study/run.ts";
import { type ExperimentReport, image, type OnProgress, quote, type Verdict, verdictLine } from "./common.ts";
import { baseWeight, type DemoModelOptions, demoSetup, median, mergedWeights, watching } from "./demo.ts";

/** The five ways of fine-tuning compared. */
export type DriftMethod = "full" | "lora" | "pissa" | "sorsa-unreg" | "sorsa";

/** Options of `sorsaDrift`. */
export interface SorsaDriftOptions extends DemoModelOptions {
  /** Rank of LoRA, PiSSA and SORSA (default 8). */
  r?: number;
  /** SORSA's regulariser weight γ for the regularised run (default 0.1, the study's; the paper's γ/η_d is 16.7). */
  gamma?: number;
  /** Target modules (default `"c_attn,c_fc,c_proj"`: every linear module of GPT-2). */
  target?: string;
  /** Optimizer steps per run (default 300). */
  steps?: number;
  /** Sequences per step (default 64). */
  batch?: number;
  /** Held-out sequences (default 256). */
  heldOut?: number;
  /** Measure ΔΣ and ΔD every this many steps (default 20). */
  every?: number;
  /**
   * Multipliers (at least one, each > 0) of each method's study learning rate to try (default [1/3, 1, 3]); LoRA runs at its
   * own, and every other method keeps the multiplier whose final held-out loss is nearest LoRA's
   * (in log ratio). `[1]`: no sweep.
   */
  lrFactors?: readonly number[];
  /** Seed of the adapters' initialisation (default 0). */
  seed?: number;
  /** Progress: optimizer steps done over all runs. */
  onProgress?: OnProgress;
}

/** ΔΣ and ΔD of one module at one step. */
export interface DriftPoint {
  /** Steps done. */
  readonly step: number;
  /** Module path. */
  readonly path: string;
  /** Mean |σ_t − σ_0|. */
  readonly deltaSigma: number;
  /** 1 − mean(|⟨u_t, u_0⟩| + |⟨v_t, v_0⟩|)/2. */
  readonly deltaD: number;
}

/** One method's run. */
export interface DriftRun {
  /** Which method. */
  readonly method: DriftMethod;
  /** Its set-up. */
  readonly label: string;
  /** The learning rate kept. */
  readonly lr: number;
  /** Every learning rate tried and its final held-out loss. */
  readonly tried: readonly { readonly lr: number; readonly heldOutLoss: number }[];
  /** Mean training cross-entropy over the last 10% of steps (the regulariser is trained with, not counted). */
  readonly trainLoss: number;
  /** Final held-out loss (cross-entropy, no regulariser): the loss the runs are matched on. */
  readonly heldOutLoss: number;
  /** Held-out exact match. */
  readonly heldOutAccuracy: number;
  /** ΔΣ and ΔD of every module at every measured step (step 0 included) and at the end. */
  readonly points: readonly DriftPoint[];
  /** Medians over the modules at the end. */
  readonly final: { readonly deltaSigma: number; readonly deltaD: number };
}

/** What `sorsaDrift` returns. */
export interface SorsaDriftResult extends ExperimentReport {
  /** One run per method. */
  readonly runs: readonly DriftRun[];
  /** The tracked module paths. */
  readonly paths: readonly string[];
  /** Regularised SORSA's final median ΔΣ and ΔD are both at most half of LoRA's and of full fine-tuning's. */
  readonly regularisedSmaller: boolean;
  /** Unregularised SORSA's final median ΔΣ and ΔD are both within a factor 2 of LoRA's. */
  readonly unregularisedLikeLora: boolean;
  /** Largest over smallest final held-out loss. */
  readonly lossSpread: number;
}

const NAMES: Record<DriftMethod, string> = {
  full: "full fine-tuning",
  lora: "LoRA",
  pissa: "PiSSA",
  "sorsa-unreg": "SORSA, γ = 0",
  sorsa: "SORSA, γ > 0",
};

/**
 * Experiment 3: fine-tunes the demo transformer (or `opts.model` on `opts.task`) by full
 * fine-tuning, LoRA, PiSSA, SORSA with γ = 0 and SORSA with γ > 0 (the study's set-ups and
 * optimizers), learning rates picked from a small sweep so the final held-out losses are close
 * to LoRA's, and records ΔΣ and ΔD (float64 SVD) of every target module against the pretrained
 * weight every `every` steps.
 * @param opts rank, γ, targets, steps, batch, sweep, model or cache folder, seed, progress
 * @example
 * ```ts ignore
 * import { sorsaDrift } from "./mod.ts";
 * const res = await sorsaDrift({ steps: 100, lrFactors: [1], baseDir: "./out/base-model" });
 * res.runs.map((r) => [r.method, r.final.deltaSigma, r.final.deltaD]);
 * ```
 */
export async function sorsaDrift(opts: SorsaDriftOptions = {}): Promise<SorsaDriftResult> {
  const r = opts.r ?? 8, gamma = opts.gamma ?? 0.1, target = opts.target ?? "c_attn,c_fc,c_proj";
  const steps = opts.steps ?? 300, batch = opts.batch ?? 64, every = opts.every ?? 20;
  const factors = opts.lrFactors ?? [1 / 3, 1, 3];
  if (!factors.length || !factors.every((f) => f > 0 && Number.isFinite(f))) {
    throw new DomainError(
      `sorsaDrift: lrFactors must be at least one positive multiplier of the study rates, got [${
        factors.join(", ")
      }]; ` +
        `[1] runs without a sweep`,
    );
  }
  const setup = await demoSetup(opts);
  const { model, task } = setup;
  const paths = adaptablePaths(model).filter(targetMatcher(target));
  const study = (name: string) => studyMethods(r).find((m) => m.name === name)!;
  const sorsaStudy = study("sorsa");
  const methods: Record<DriftMethod, Method> = {
    full: study("full"),
    lora: study("lora"),
    pissa: study("pissa"),
    "sorsa-unreg": {
      ...sorsaStudy,
      name: "sorsa-unreg",
      label: `SORSA r=${r}, γ=0`,
      adapter: () => sorsa({ r, gamma: 0 }),
    },
    sorsa: { ...sorsaStudy, label: `SORSA r=${r}, γ=${gamma}`, adapter: () => sorsa({ r, gamma }) },
  };
  const order: DriftMethod[] = ["lora", "full", "pissa", "sorsa-unreg", "sorsa"];
  const total = steps * (1 + 4 * factors.length);
  let done = 0;
  const w0 = new Map(paths.map((p) => [p, baseWeight(model, p)]));

  /** One run of `name` at learning rate `lr`, with ΔΣ and ΔD recorded. */
  const run = async (name: DriftMethod, lr: number) => {
    const m = methods[name];
    const merged = mergedWeights(m, model, paths);
    const points: DriftPoint[] = [];
    const record = (step: number, params: unknown) => {
      for (const p of paths) {
        const d = spectralDrift(w0.get(p)!, merged(params, p));
        points.push({ step, path: p, deltaSigma: d.deltaSigma.item(), deltaD: d.deltaD.item() });
      }
    };
    const watched: Method = { ...m, optimizer: (l: number) => watching(m.optimizer(l), every, record) };
    const res = await runStudy({
      jit: false, // `watching` looks at the parameters on the host every few steps: no replayed trace
      model,
      task,
      methods: [watched],
      target,
      steps,
      batch,
      lr,
      heldOut: opts.heldOut ?? 256,
      key: key(opts.seed ?? 0),
      onProgress: (_m, step, _t, loss) => opts.onProgress?.(done + step, total, { method: name, lr, loss }),
      onTrained: (_m, t) => record(steps, t.params),
    });
    done += steps;
    return { m, res: res.methods[0], points };
  };

  const runs: DriftRun[] = [];
  let reference = NaN;
  for (const name of order) {
    const lrs = name === "lora" ? [methods.lora.lr] : factors.map((f) => methods[name].lr * f);
    const tries = [];
    for (const lr of lrs) tries.push(await run(name, lr));
    if (name === "lora") reference = tries[0].res.heldOutLoss;
    const gap = (l: number) => (Number.isFinite(l) ? Math.abs(Math.log(l / reference)) : Infinity);
    const best = tries.reduce((a, b) => (gap(b.res.heldOutLoss) < gap(a.res.heldOutLoss) ? b : a));
    const last = best.points.filter((p) => p.step === steps);
    runs.push({
      method: name,
      label: best.m.label,
      lr: best.res.lr,
      tried: tries.map((t) => ({ lr: t.res.lr, heldOutLoss: t.res.heldOutLoss })),
      trainLoss: best.res.trainLoss,
      heldOutLoss: best.res.heldOutLoss,
      heldOutAccuracy: best.res.heldOutAccuracy,
      points: best.points,
      final: { deltaSigma: median(last.map((p) => p.deltaSigma)), deltaD: median(last.map((p) => p.deltaD)) },
    });
  }
  opts.onProgress?.(total, total);
  const finals = Object.fromEntries(runs.map((x) => [x.method, x.final])) as Record<DriftMethod, DriftFinal>;
  // how close the pretrained singular values lie: updates larger than the gaps reorder the singular vectors
  const gap = median(paths.map((p) => {
    const sv = Array.from(linalg.svdvals(w0.get(p)!).dataSync() as Float64Array);
    return median(sv.slice(0, -1).map((v, i) => v - sv[i + 1]));
  }));
  const losses = runs.map((x) => x.heldOutLoss);
  const lossSpread = Math.max(...losses) / Math.min(...losses);
  const judged = driftVerdict(finals, lossSpread);
  const { regularisedSmaller, unregularisedLikeLora } = judged;
  const s = { r, gamma, target, steps, batch, every, factors, gap, description: setup.description };
  return {
    ...summarise(runs, paths, s, judged, lossSpread),
    runs,
    paths,
    regularisedSmaller,
    unregularisedLikeLora,
    lossSpread,
  };
}

/** A method's final medians over the modules. */
export interface DriftFinal {
  /** Median ΔΣ. */
  readonly deltaSigma: number;
  /** Median ΔD. */
  readonly deltaD: number;
}

/** What `driftVerdict` concludes. */
export interface DriftVerdict {
  /** The verdict. */
  readonly verdict: Verdict;
  /** Regularised SORSA's ΔΣ, and its ΔD, at most half of LoRA's and of full fine-tuning's. */
  readonly regularisedHalves: { readonly deltaSigma: boolean; readonly deltaD: boolean };
  /** Both halved. */
  readonly regularisedSmaller: boolean;
  /** Unregularised SORSA's ΔΣ and ΔD both within a factor 2 of LoRA's. */
  readonly unregularisedLikeLora: boolean;
  /** Final held-out losses within a factor 1.25 (the paper's runs: ±10%). */
  readonly similar: boolean;
}

/**
 * Experiment 3's verdict from each method's final medians and the spread of final losses: reproduced when
 * regularised SORSA halves both ΔΣ and ΔD of LoRA and full fine-tuning, unregularised SORSA is within a factor 2 of
 * LoRA in both, and the losses are similar; partly when any one of these holds for one measure; otherwise not.
 * @param f final medians by method
 * @param lossSpread largest over smallest final held-out loss
 * @example
 * ```ts
 * import { driftVerdict } from "./mod.ts";
 * const d = (deltaSigma: number, deltaD: number) => ({ deltaSigma, deltaD });
 * const v = driftVerdict(
 *   { sorsa: d(0.03, 0.66), lora: d(0.12, 0.79), full: d(0.074, 0.8), "sorsa-unreg": d(0.12, 0.26), pissa: d(0.11, 0.35) },
 *   1.3,
 * );
 * // v.verdict === "partly": the regulariser halves ΔΣ, not ΔD
 * ```
 */
export function driftVerdict(f: Readonly<Record<DriftMethod, DriftFinal>>, lossSpread: number): DriftVerdict {
  const { sorsa: reg, "sorsa-unreg": unreg, lora, full } = f;
  const regularisedHalves = {
    deltaSigma: reg.deltaSigma <= 0.5 * Math.min(lora.deltaSigma, full.deltaSigma),
    deltaD: reg.deltaD <= 0.5 * Math.min(lora.deltaD, full.deltaD),
  };
  const regularisedSmaller = regularisedHalves.deltaSigma && regularisedHalves.deltaD;
  const unregularisedLikeLora = within2(unreg.deltaSigma, lora.deltaSigma) && within2(unreg.deltaD, lora.deltaD);
  const similar = lossSpread <= 1.25;
  const verdict: Verdict = regularisedSmaller && unregularisedLikeLora && similar
    ? "reproduced"
    : regularisedHalves.deltaSigma || regularisedHalves.deltaD || unregularisedLikeLora
    ? "partly"
    : "not";
  return { verdict, regularisedHalves, regularisedSmaller, unregularisedLikeLora, similar };
}

/** Whether a is within a factor 2 of b. */
const within2 = (a: number, b: number) => a >= b / 2 && a <= 2 * b;

function summarise(
  runs: DriftRun[],
  paths: readonly string[],
  s: {
    r: number;
    gamma: number;
    target: string;
    steps: number;
    batch: number;
    every: number;
    factors: readonly number[];
    gap: number;
    description: string;
  },
  judged: DriftVerdict,
  lossSpread: number,
): ExperimentReport {
  const { regularisedSmaller, unregularisedLikeLora, regularisedHalves } = judged;
  const table = markdownTable(
    [
      { key: "name", title: "method", align: "left" },
      { key: "label", title: "set-up" },
      { key: "lr", title: "learning rate", format: (v) => fmt(v, { digits: 3 }) },
      { key: "tried", title: "held-out loss at the rates tried" },
      { key: "heldOutLoss", title: "final held-out loss", format: (v) => fmt(v, { digits: 3 }) },
      { key: "heldOutAccuracy", title: "exact match", format: (v) => `${fmt(100 * Number(v), { digits: 3 })}%` },
      { key: "dS", title: "ΔΣ (median over modules)", format: (v) => fmt(v, { digits: 3 }) },
      { key: "dD", title: "ΔD (median over modules)", format: (v) => fmt(v, { digits: 3 }) },
    ],
    runs.map((x) => ({
      ...x,
      name: NAMES[x.method],
      tried: x.tried.map((t) => `${fmt(t.lr, { digits: 2 })}: ${fmt(t.heldOutLoss, { digits: 3 })}`).join(", "),
      dS: x.final.deltaSigma,
      dD: x.final.deltaD,
    })),
  );
  // attention and MLP both have a c_proj: keep attn/mlp so the names stay distinct
  const short = (p: string) => p.replace(/^transformer\.h\./, "h");
  const perModule = markdownTable(
    [
      { key: "path", title: "module (h<block>.attn|mlp.<name>)", align: "left" },
      ...runs.map((x) => ({ key: x.method, title: NAMES[x.method] })),
    ],
    paths.map((p) => ({
      path: `\`${short(p)}\``,
      ...Object.fromEntries(runs.map((x) => {
        const q = x.points.find((pt) => pt.step === s.steps && pt.path === p)!;
        return [x.method, `${fmt(q.deltaSigma, { digits: 2 })} / ${fmt(q.deltaD, { digits: 2 })}`];
      })),
    })),
  );
  const scatter = scatterPlot({
    title: `ΔΣ against ΔD for every module, every ${s.every} steps (the paper's Figure 2 in one panel)`,
    xLabel: "ΔD = 1 − mean(|⟨u_t, u_0⟩| + |⟨v_t, v_0⟩|)/2",
    yLabel: "ΔΣ = mean |σ_t − σ_0|",
    logX: true,
    logY: true,
    points: runs.flatMap((x) =>
      x.points.filter((p) => p.step > 0).map((p) => ({ x: p.deltaD, y: p.deltaSigma, group: NAMES[x.method] }))
    ),
  });
  // one panel per method with the modules told apart, as the paper's Figure 2 has one per method with layer numbers
  const panels = Object.fromEntries(runs.map((x) => [
    `exp3_sorsa_drift_${x.method}.svg`,
    scatterPlot({
      title: `${NAMES[x.method]}: ΔΣ against ΔD per module, every ${s.every} steps`,
      xLabel: "ΔD = 1 − mean(|⟨u_t, u_0⟩| + |⟨v_t, v_0⟩|)/2",
      yLabel: "ΔΣ = mean |σ_t − σ_0|",
      logX: true,
      logY: true,
      points: x.points.filter((p) => p.step > 0).map((p) => ({ x: p.deltaD, y: p.deltaSigma, group: short(p.path) })),
    }),
  ]));
  const means = (x: DriftRun, f: (p: DriftPoint) => number) => {
    const steps = [...new Set(x.points.map((p) => p.step))].filter((t) => t > 0).sort((a, b) => a - b);
    return { x: steps, y: steps.map((t) => median(x.points.filter((p) => p.step === t).map(f))) };
  };
  const series: LineSeries[] = runs.flatMap((x, i) => [
    { name: `${NAMES[x.method]}: ΔD`, ...means(x, (p) => p.deltaD), color: PALETTE[i] },
    { name: `${NAMES[x.method]}: ΔΣ`, ...means(x, (p) => p.deltaSigma), color: PALETTE[i], dashed: true },
  ]);
  const lines = linePlot({
    title: "Median over the modules of ΔD (solid) and ΔΣ (dashed) during training",
    xLabel: "optimizer step",
    yLabel: "drift from the pretrained weight",
    logY: true,
    series,
  });

  const f = (m: DriftMethod) => runs.find((x) => x.method === m)!;
  // how far ΔD has moved at the first measurement: LoRA's and full fine-tuning's updates reach the spectrum's bulk,
  // PiSSA's and SORSA's train the top r triplets; said only when the numbers bear it out
  const first = Math.min(...runs.flatMap((x) => x.points.map((p) => p.step)).filter((t) => t > 0));
  const firstD = (m: DriftMethod) => median(f(m).points.filter((p) => p.step === first).map((p) => p.deltaD));
  const bulk: DriftMethod[] = ["lora", "full"], principal: DriftMethod[] = ["pissa", "sorsa-unreg", "sorsa"];
  const steep = Math.min(...bulk.map(firstD)) > Math.max(...principal.map(firstD));
  const early = `After ${first} steps the median ΔD is ` +
    runs.map((x) => `${fmt(firstD(x.method), { digits: 2 })} for ${NAMES[x.method]}`).join(", ") +
    (steep
      ? `: LoRA's and full fine-tuning's updates, which reach the bulk, have moved ΔD further than PiSSA's and ` +
        `SORSA's, which train the top r triplets and leave the residual's alone.`
      : `: LoRA's and full fine-tuning's are not both above every principal-part method's (PiSSA, SORSA).`);
  const pair = (m: DriftMethod) =>
    `${fmt(f(m).final.deltaSigma, { digits: 2 })} / ${fmt(f(m).final.deltaD, { digits: 2 })}`;
  const { similar, verdict } = judged;
  const likePissa = within2(f("sorsa-unreg").final.deltaSigma, f("pissa").final.deltaSigma) &&
    within2(f("sorsa-unreg").final.deltaD, f("pissa").final.deltaD);
  const why = `Final median ΔΣ / ΔD: SORSA (γ = ${s.gamma}) ${pair("sorsa")}; LoRA ${pair("lora")}; full fine-tuning ` +
    `${pair("full")}; SORSA (γ = 0) ${pair("sorsa-unreg")}; PiSSA ${pair("pissa")}. ` +
    (regularisedSmaller
      ? `The regularised SORSA stays at most half of LoRA's and full fine-tuning's drift in both measures, as claimed. `
      : regularisedHalves.deltaSigma || regularisedHalves.deltaD
      ? `The regularised SORSA stays at most half of LoRA's and full fine-tuning's ${
        regularisedHalves.deltaSigma ? "ΔΣ" : "ΔD"
      }, as claimed, but not their ${regularisedHalves.deltaSigma ? "ΔD" : "ΔΣ"}. `
      : `The regularised SORSA does not stay below half of LoRA's and full fine-tuning's drift in either measure. `) +
    (unregularisedLikeLora
      ? `Without the regulariser SORSA drifts like LoRA (within a factor 2 in both), as claimed. `
      : `Without the regulariser SORSA does not drift like LoRA (not within a factor 2 in both)` +
        (likePissa
          ? `: it drifts like PiSSA (within a factor 2), which adapts the same principal part` +
            (f("pissa").final.deltaD < f("lora").final.deltaD
              ? `, so here the principal-part parameterisation, more than the regulariser, keeps ΔD below LoRA's. `
              : `. `)
          : `. `)) +
    `Final held-out losses range over a factor ${fmt(lossSpread, { digits: 3 })} (the paper's runs: ±10%)` +
    (similar ? "." : `, wider than the 1.25 counted as similar, so the comparison is loose.`);

  const markdown = [
    `### Claim`,
    quote(
      `"SORSA with regularizer shows ΔD and ΔΣ are in a much smaller range than other analysis methods. ... In ` +
        `contrast, SORSA without the orthonormal regularizer exhibits a greater ΔD and ΔΣ alteration at each training ` +
        `step compared to SORSA with the regularizer. SORSA without regularizer also shows a linear-like updating ` +
        `pattern, similar to LoRA and partial FT."`,
    ),
    ``,
    `SORSA (Cao 2024, arXiv 2409.00055), §3.3 and Figure 2 (\`../shared/papers/sorsa-2409.00055.txt\`, lines 77–83); ` +
    `the measures are §3.2's equations 1–4 (lines 57–67): ΔΣ_t = Σᵢ|σᵢ_t − σᵢ_0|/k and ` +
    `ΔD_t = 1 − (1/2k)Σᵢ(|⟨uᵢ_t, uᵢ_0⟩| + |⟨vᵢ_t, vᵢ_0⟩|) over the k = min(m, n) singular triplets paired by index, ` +
    `which is what \`adapters.spectralDrift\` computes. The paper's runs (Llama 2 7B on 100K MetaMathQA examples, q_proj ` +
    `and v_proj, r = 128, γ = 5e-4 at learning rate 3e-5, Appendix A.1 Table 2) "obtained similar final loss (±10%)"; the ` +
    `figure has no numbers that could be read here, so the comparison is of orders: regularised SORSA much below LoRA and ` +
    `partial fine-tuning, unregularised SORSA like LoRA.`,
    ``,
    `### Our set-up`,
    `${s.description}. Targets \`${s.target}\` (${paths.length} matrices). Full fine-tuning trains every parameter (the ` +
    `paper's "partial FT" trained only the target matrices); LoRA, PiSSA and SORSA are the adapter study's set-ups at ` +
    `r = ${s.r} under Adam (\`study/methods.ts\`), SORSA once with γ = 0 and once with γ = ${s.gamma} (its regulariser ` +
    `γ(‖UᵀU − I‖_F + ‖VᵀV − I‖_F) added to the loss). ${s.steps} steps of ${s.batch} sequences, the same batches for all. ` +
    (s.factors.length > 1
      ? `Learning rates: LoRA at its study rate; each other method tried its study rate × {${
        s.factors.map((x) => fmt(x, { digits: 2 })).join(", ")
      }} and kept the one whose final held-out loss is nearest LoRA's. `
      : `Learning rates: each method's study rate (no sweep at this size). `) +
    `ΔΣ and ΔD of every module's merged weight against the pretrained one, float64 SVD on the CPU (as the paper ` +
    `advises), every ${s.every} steps.`,
    ``,
    `### Our numbers`,
    table,
    ``,
    `The pretrained matrices' consecutive singular values lie a median ${
      fmt(s.gap, { digits: 2 })
    } apart (median over ` +
    `the modules). ΔD pairs singular vectors by index, so an update larger than these gaps reorders the vectors of the ` +
    `spectrum's bulk. ${early}`,
    ``,
    `Per module at the end (ΔΣ / ΔD):`,
    ``,
    perModule,
    ``,
    image("exp3_sorsa_drift.svg", "ΔΣ against ΔD per module and step"),
    ``,
    `Per method, each module in its own colour (the paper's Figure 2 numbers each layer):`,
    ``,
    ...Object.keys(panels).map((f, i) => image(f, `ΔΣ against ΔD per module, ${NAMES[runs[i].method]}`)),
    ``,
    image("exp3_sorsa_drift_steps.svg", "median ΔD and ΔΣ during training"),
    ``,
    verdictLine(verdict, why),
  ].join("\n");
  return {
    markdown,
    plots: { "exp3_sorsa_drift.svg": scatter, ...panels, "exp3_sorsa_drift_steps.svg": lines },
    verdict,
  };
}
