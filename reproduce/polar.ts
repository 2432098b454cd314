/**
 * Experiment 2 (PoLAR, Lion et al. 2025): convergence on a canonical low-rank problem. Fit a target
 * ΔW* of rank r* and condition number κ by LoRA's B·A (gradient descent from a small start) and by
 * PoLAR's X Θ Yᵀ (Riemannian gradient descent, and the landing method), and count the iterations
 * each needs to reach a relative error of 1e-6.
 * @module
 */
import {
  adapters,
  type Key,
  key,
  manifolds,
  matmul,
  mul,
  normal,
  split,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from "../mod.ts";
import { DomainError } from "../core/errors.ts";
import { fmt, linePlot, type LineSeries, markdownTable, PALETTE } from "../report/mod.ts";
import {
  downsample,
  type ExperimentReport,
  image,
  iterationsTo,
  type OnProgress,
  quote,
  type Verdict,
  verdictLine,
} from "./common.ts";

/** The three ways of fitting the target. */
export type ConvergenceMethod = "lora" | "polar-rgd" | "polar-landing";

/** Options of `polarConvergence`. */
export interface PolarConvergenceOptions {
  /** The target is size × size (default 48). */
  size?: number;
  /** Its rank r* (default 4). */
  targetRank?: number;
  /** Adapter ranks, at least one; the first is the main set-up (default [2r*, r*]: over-parameterised, then exact). */
  ranks?: readonly number[];
  /** Condition numbers κ ≥ 1 of the target (default [1, 10, 100]; at least one). */
  kappas?: readonly number[];
  /** Iterations per run (default 4000). */
  iterations?: number;
  /** Step size of all three methods (default 0.5). */
  lr?: number;
  /** LoRA's small start: A and B have N(0, ε²) entries (default ε = 1e-3). */
  initScale?: number;
  /** The relative error to reach (default 1e-6). */
  threshold?: number;
  /** A run stops once its error is below this (default 1e-13, near float64 rounding). */
  stopBelow?: number;
  /** Random seed (default 0). */
  seed?: number;
  /** Progress: iterations done of all runs. */
  onProgress?: OnProgress;
}

/** One run: a method at a rank on a target of condition number κ. */
export interface ConvergenceRun {
  /** The method. */
  readonly method: ConvergenceMethod;
  /** Adapter rank r. */
  readonly rank: number;
  /** Target condition number κ. */
  readonly kappa: number;
  /** Relative error ‖ΔW − ΔW*‖_F / ‖ΔW*‖_F after i iterations (errors[0]: at the start). */
  readonly errors: readonly number[];
  /** The first iteration with error below the threshold, if any. */
  readonly iterationsToThreshold?: number;
  /** Slope of log₁₀(error) over the last half of the run, in decades per 1000 iterations (negative: falling). */
  readonly tailSlope: number;
}

/** What `polarConvergence` returns. */
export interface PolarConvergenceResult extends ExperimentReport {
  /** Every run. */
  readonly runs: readonly ConvergenceRun[];
  /** κ values at the main rank where PoLAR (either optimiser) reached the threshold in fewer iterations than LoRA. */
  readonly polarFasterAt: readonly number[];
  /** The options used, defaults filled in. */
  readonly setup: Required<Omit<PolarConvergenceOptions, "onProgress">>;
}

const METHODS: readonly ConvergenceMethod[] = ["lora", "polar-rgd", "polar-landing"];
const NAMES: Record<ConvergenceMethod, string> = {
  lora: "LoRA B·A, GD",
  "polar-rgd": "PoLAR XΘYᵀ, Riemannian GD",
  "polar-landing": "PoLAR XΘYᵀ, landing",
};

/** ΔW* = U diag(σ) Vᵀ with U, V random orthonormal and σ geometric from 1 down to 1/κ. */
function target(k: Key, size: number, rank: number, kappa: number): Tensor {
  const [ku, kv] = split(k);
  const St = manifolds.stiefel(size, rank);
  const U = St.random(ku, { dtype: "float64" }), V = St.random(kv, { dtype: "float64" });
  const sigma = Array.from({ length: rank }, (_, i) => (rank === 1 ? 1 : kappa ** (-i / (rank - 1))));
  return matmul(mul(U, tensor(sigma, { dtype: "float64" })), V.mT);
}

/** One run of `method`: errors after each iteration. */
function fit(
  method: ConvergenceMethod,
  T: Tensor,
  r: number,
  o: Required<Omit<PolarConvergenceOptions, "onProgress">>,
  k: Key,
  tick: (i: number) => void,
): number[] {
  const size = T.shape[0];
  const base = { weight: zeros([size, size], { dtype: "float64" }) };
  const tNorm = Math.sqrt(sum(square(T)).item());
  let adapter: adapters.Adapter<unknown, adapters.Frozen>, params: unknown, opt: manifolds.Optimizer;
  if (method === "lora") {
    adapter = adapters.lora({ r }) as adapters.Adapter<unknown, adapters.Frozen>;
    const [ka, kb] = split(k);
    params = {
      A: normal(ka, [r, size], { dtype: "float64" }).mul(o.initScale),
      B: normal(kb, [size, r], { dtype: "float64" }).mul(o.initScale),
    };
    opt = manifolds.sgd({ lr: o.lr });
  } else {
    adapter = adapters.polar({ r }) as adapters.Adapter<unknown, adapters.Frozen>;
    params = adapter.init(k, base).params;
    opt = method === "polar-rgd" ? manifolds.riemannianSgd({ lr: o.lr }) : manifolds.landing({ lr: o.lr });
  }
  // f = ½‖ΔW − ΔW*‖²_F on the merged weight (base weight 0, so merge = ΔW)
  const loss = (p: unknown) => mul(sum(square(sub(adapter.merge(p, base), T))), 0.5);
  const step = valueAndGrad(loss);
  let state = opt.init(params);
  const errors: number[] = [];
  for (let i = 0; i <= o.iterations; i++) {
    const [f, g] = step(params);
    const e = Math.sqrt(2 * f.item()) / tNorm;
    errors.push(e);
    tick(i);
    if (!(e >= o.stopBelow) || i === o.iterations) break; // below the floor, or NaN
    ({ params, state } = opt.update(g, state, params));
  }
  return errors;
}

function tailSlope(errors: readonly number[]): number {
  const n = errors.length - 1, h = Math.floor(n / 2);
  if (n < 2) return NaN;
  return ((Math.log10(errors[n]) - Math.log10(errors[h])) / (n - h)) * 1000;
}

/**
 * Experiment 2: PoLAR against LoRA on fitting a rank-r* target of condition number κ, for each
 * κ and adapter rank: LoRA's `B·A` by plain gradient descent from N(0, ε²) factors, PoLAR's
 * `X Θ Yᵀ` (Tangent's `adapters.polar`, X and Y on Stiefel manifolds, Θ = 0 at the start) by
 * `manifolds.riemannianSgd` and by `manifolds.landing`, all on `f = ½‖ΔW − ΔW*‖²_F` with one step
 * size. Returns every error curve, the iterations to the threshold, a Markdown section and plots.
 * @param opts sizes, ranks, κ values, iterations, step size, seed
 * @example
 * ```ts
 * import { polarConvergence } from "./mod.ts";
 * const res = polarConvergence({ size: 12, targetRank: 2, kappas: [1], iterations: 200 });
 * res.runs.map((r) => [r.method, r.rank, r.iterationsToThreshold]);
 * ```
 */
export function polarConvergence(opts: PolarConvergenceOptions = {}): PolarConvergenceResult {
  const rs = opts.targetRank ?? 4;
  const o: Required<Omit<PolarConvergenceOptions, "onProgress">> = {
    size: opts.size ?? 48,
    targetRank: rs,
    ranks: opts.ranks ?? [2 * rs, rs],
    kappas: opts.kappas ?? [1, 10, 100],
    iterations: opts.iterations ?? 4000,
    lr: opts.lr ?? 0.5,
    initScale: opts.initScale ?? 1e-3,
    threshold: opts.threshold ?? 1e-6,
    stopBelow: opts.stopBelow ?? 1e-13,
    seed: opts.seed ?? 0,
  };
  if (!o.kappas.length || !o.ranks.length) {
    throw new DomainError(
      `polarConvergence: kappas [${o.kappas.join(", ")}] and ranks [${
        o.ranks.join(", ")
      }] must each name at least one ` +
        `value (a verdict needs a run); e.g. { kappas: [1, 10], ranks: [${2 * rs}, ${rs}] }`,
    );
  }
  const badKappa = o.kappas.filter((k) => !(k >= 1 && Number.isFinite(k)));
  if (badKappa.length) {
    throw new DomainError(
      `polarConvergence: a condition number κ = σ_max/σ_min is finite and at least 1, got ${badKappa.join(", ")}`,
    );
  }
  const total = o.ranks.length * o.kappas.length * METHODS.length * o.iterations;
  let done = 0;
  const runs: ConvergenceRun[] = [];
  const [kt, kf] = split(key(o.seed));
  for (const kappa of o.kappas) {
    const T = target(kt, o.size, o.targetRank, kappa); // the same directions for every κ
    for (const rank of o.ranks) {
      for (const method of METHODS) {
        const errors = fit(method, T, rank, o, kf, (i) => {
          if (i % 100 === 0) opts.onProgress?.(done + i, total, { κ: kappa, r: rank, method });
        });
        done += o.iterations;
        runs.push({
          method,
          rank,
          kappa,
          errors,
          iterationsToThreshold: iterationsTo(errors, o.threshold),
          tailSlope: tailSlope(errors),
        });
      }
    }
  }
  opts.onProgress?.(total, total);
  return { ...summarise(runs, o), runs, setup: o };
}

function summarise(
  runs: ConvergenceRun[],
  o: Required<Omit<PolarConvergenceOptions, "onProgress">>,
): ExperimentReport & { polarFasterAt: number[] } {
  const its = (r: ConvergenceRun | undefined) => r?.iterationsToThreshold ?? Infinity;
  const find = (m: ConvergenceMethod, rank: number, kappa: number) =>
    runs.find((r) => r.method === m && r.rank === rank && r.kappa === kappa);
  const main = o.ranks[0];
  const fasterAt = (rank: number) =>
    o.kappas.filter((k) => {
      const p = Math.min(its(find("polar-rgd", rank, k)), its(find("polar-landing", rank, k)));
      return Number.isFinite(p) && p < its(find("lora", rank, k));
    });
  const polarFasterAt = fasterAt(main);
  const neither = o.kappas.filter((k) => METHODS.every((m) => !Number.isFinite(its(find(m, main, k)))));
  const cell = (r: ConvergenceRun | undefined) =>
    r?.iterationsToThreshold !== undefined
      ? fmt(r.iterationsToThreshold)
      : `> ${fmt(o.iterations)} (${fmt(r?.errors.at(-1), { digits: 2 })})`;
  const rows = o.kappas.flatMap((kappa) =>
    o.ranks.map((rank) => ({
      kappa,
      rank: rank === o.targetRank ? `${rank} (= r*)` : `${rank}`,
      lora: cell(find("lora", rank, kappa)),
      rgd: cell(find("polar-rgd", rank, kappa)),
      landing: cell(find("polar-landing", rank, kappa)),
      slope: METHODS.map((m) => fmt(find(m, rank, kappa)?.tailSlope, { digits: 2 })).join(" / "),
    }))
  );
  const table = markdownTable([
    { key: "kappa", title: "κ" },
    { key: "rank", title: "adapter rank r" },
    { key: "lora", title: "LoRA GD", align: "right" },
    { key: "rgd", title: "PoLAR RGD", align: "right" },
    { key: "landing", title: "PoLAR landing", align: "right" },
    { key: "slope", title: "tail slope, decades/1000 it (LoRA / RGD / landing)", align: "right" },
  ], rows);

  const plots: Record<string, string> = {};
  for (const kappa of o.kappas) {
    const series: LineSeries[] = o.ranks.flatMap((rank, ri) =>
      METHODS.map((m, mi) => {
        const d = downsample(find(m, rank, kappa)!.errors);
        return { name: `${NAMES[m]}, r = ${rank}`, ...d, dashed: ri > 0, color: PALETTE[mi] };
      })
    );
    plots[`exp2_polar_kappa${kappa}.svg`] = linePlot({
      title: `Fitting a rank-${o.targetRank} target with κ = ${kappa} (${o.size} × ${o.size})`,
      xLabel: "iteration",
      yLabel: "relative error ‖ΔW − ΔW*‖_F / ‖ΔW*‖_F",
      logY: true,
      series,
      hlines: [{ y: o.threshold, label: `${fmt(o.threshold)} target` }],
    });
  }

  const verdict: Verdict = polarFasterAt.length === o.kappas.length
    ? "reproduced"
    : polarFasterAt.length > 0
    ? "partly"
    : "not";
  const kset = (ks: readonly number[]) => (ks.length ? `κ ∈ {${ks.join(", ")}}` : "no κ");
  const others = o.ranks.slice(1).map((rank) => {
    const f = fasterAt(rank);
    const lora = o.kappas.filter((k) => !f.includes(k) && Number.isFinite(its(find("lora", rank, k))));
    return `at r = ${rank}${
      rank === o.targetRank ? " (= r*, exactly parameterised)" : ""
    } PoLAR reached it first for ` +
      `${kset(f)} and LoRA for ${kset(lora)}`;
  });
  // where neither reached the threshold: whose final error is lower; and whose error fell faster over the last half
  const final = (r: ConvergenceRun | undefined) => r?.errors.at(-1) ?? NaN;
  const polarRuns = (k: number) => [find("polar-rgd", main, k), find("polar-landing", main, k)];
  const polarFinal = (k: number) => Math.min(...polarRuns(k).map(final));
  const polarTail = (k: number) => Math.max(...polarRuns(k).map((r) => -(r?.tailSlope ?? NaN)));
  const loraTail = (k: number) => -(find("lora", main, k)?.tailSlope ?? NaN);
  const loraLowerAt = neither.filter((k) => final(find("lora", main, k)) < polarFinal(k));
  const polarLowerAt = neither.filter((k) => polarFinal(k) < final(find("lora", main, k)));
  const loraNotThere = o.kappas.filter((k) => !Number.isFinite(its(find("lora", main, k))));
  const loraSlowerAt = loraNotThere.filter((k) => loraTail(k) < polarTail(k));
  const loraFasterAt = loraNotThere.filter((k) => loraTail(k) >= polarTail(k));
  // PoLAR's best run by κ: iterations to the threshold, then (not reached) its final error
  const polarCost = (k: number) => [Math.min(...polarRuns(k).map(its)), polarFinal(k)];
  const polarSlowsWithKappa = o.kappas.length > 1 &&
    o.kappas.every((k, i) => {
      if (i === 0) return true;
      const [a, ea] = polarCost(o.kappas[i - 1]), [b, eb] = polarCost(k);
      return b > a || (b === Infinity && a === Infinity && eb >= ea);
    });
  const tails = loraNotThere.map((k) =>
    `${fmt(loraTail(k), { digits: 2 })} / ${fmt(polarTail(k), { digits: 2 })} at κ = ${k}`
  );
  const why =
    `At r = ${main} > r* = ${o.targetRank}, PoLAR reached ${fmt(o.threshold)} in fewer iterations than LoRA for ` +
    `${kset(polarFasterAt)} of {${o.kappas.join(", ")}}` +
    (neither.length
      ? `; for ${kset(neither)} no method reached it within ${
        fmt(o.iterations)
      } iterations, and the lower final error ` +
        `was LoRA's for ${kset(loraLowerAt)} and PoLAR's for ${kset(polarLowerAt)}`
      : "") +
    `. ` +
    (loraNotThere.length
      ? `Where LoRA did not reach it, its error fell over the last half of the run by ${tails.join(", ")} decades ` +
        `per 1000 iterations (LoRA / PoLAR's faster optimiser): ` +
        (loraSlowerAt.length
          ? `LoRA's tail is the slower for ${kset(loraSlowerAt)} (the slow tail of over-parameterised gradient ` +
            `descent from a small start)`
          : "LoRA's tail is the slower for no κ") +
        (loraFasterAt.length ? ` and the faster for ${kset(loraFasterAt)}` : "") +
        `. `
      : "") +
    (polarSlowsWithKappa
      ? `PoLAR needs more iterations (or ends higher) as κ grows (plain Riemannian gradient descent sees σ² in its ` +
        `gradients). `
      : "") +
    (others.length ? `As a control, ${others.join("; ")}.` : "");

  const markdown = [
    `### Claim`,
    quote(
      `"Our theory shows that PoLAR yields an exponentially faster convergence rate on a canonical low-rank adaptation problem."`,
    ),
    ``,
    `PoLAR (Lion, Zhang, Li & He 2025, arXiv 2506.03133), abstract. The text available here (\`../shared/papers/polar-2506.03133.txt\`) ` +
    `is the abstract and reference list only, so the theorem, its exact problem, rates and figure number could not be read; ` +
    `the claim has no number to compare with beyond "exponentially faster".`,
    ``,
    `### Our set-up`,
    `Target ΔW* = U diag(σ) Vᵀ, ${o.size} × ${o.size}, rank r* = ${o.targetRank}, U and V random orthonormal, σ geometric from 1 ` +
    `down to 1/κ, κ ∈ {${
      o.kappas.join(", ")
    }}; loss f = ½‖ΔW − ΔW*‖²_F (a zero base weight, so the adapter's merged weight is ΔW). ` +
    `LoRA: ΔW = B·A (\`adapters.lora\`, scale 1), A and B with N(0, ${
      fmt(o.initScale)
    }²) entries, plain gradient descent ` +
    `(\`manifolds.sgd\`). PoLAR: ΔW = X Θ Yᵀ (\`adapters.polar\`, scale 1), X and Y uniformly random Stiefel points, Θ = 0; ` +
    `X and Y by Riemannian gradient descent (\`manifolds.riemannianSgd\`, Euclidean metric, QR retraction) or by landing ` +
    `(\`manifolds.landing\`, λ = 1, safe step), Θ by gradient descent. One step size η = ${o.lr} for all, ${
      fmt(o.iterations)
    } ` +
    `iterations at most, float64. The main set-up has adapter rank r = ${main} > r* (the adapter's rank exceeds the rank of ` +
    `the change, as in fine-tuning); ${
      o.ranks.slice(1).map((r) => `r = ${r}`).join(", ") || "no other rank"
    } is a control.`,
    ``,
    `### Our numbers`,
    `Iterations to a relative error below ${fmt(o.threshold)} (when not reached: the final error in brackets).`,
    ``,
    table,
    ...o.kappas.map((k) => image(`exp2_polar_kappa${k}.svg`, `relative error against iterations at κ = ${k}`)),
    ``,
    verdictLine(verdict, why),
  ].join("\n");
  return { markdown, plots, verdict, polarFasterAt };
}
