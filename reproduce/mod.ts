/**
 * Reproductions of the founding papers' claims, each a function a user can call with their own
 * sizes; each returns its numbers, a Markdown section (claim, set-up, numbers, verdict) and SVG
 * plots. `runReproductions` runs them all and writes `report.md` (what `deno task reproduce`
 * does). Not part of the tensor API; import `reproduce/mod.ts`.
 *
 * @example
 * ```ts
 * import { hraIdentity } from "./mod.ts";
 * const { rows, verdict } = hraIdentity({ sizes: [8, 32], reflections: [2, 4] });
 * // rows[i].error ≈ 1e-16, verdict "reproduced"
 * ```
 * @module
 */
export {
  downsample,
  type ExperimentReport,
  image,
  iterationsTo,
  type OnProgress,
  quote,
  type Verdict,
  verdictLine,
} from "./common.ts";
export {
  type ConvergenceMethod,
  type ConvergenceRun,
  polarConvergence,
  type PolarConvergenceOptions,
  type PolarConvergenceResult,
} from "./polar.ts";
export {
  hraIdentity,
  type HraIdentityOptions,
  type HraIdentityResult,
  type HraIdentityRow,
  hraLambdaSweep,
  type HraLambdaSweepOptions,
  type HraLambdaSweepResult,
  type HraSweepRow,
} from "./hra.ts";
export {
  type DecompositionRow,
  decompositions,
  type DecompositionsOptions,
  type DecompositionsResult,
} from "./decompositions.ts";
export {
  baseWeight,
  type DemoModelOptions,
  type DemoSetup,
  demoSetup,
  demoTask,
  median,
  mergedWeights,
  quantile,
  watching,
} from "./demo.ts";
export {
  polarStableRank,
  type PolarStableRankOptions,
  type PolarStableRankResult,
  type StableRankRow,
} from "./polar_rank.ts";
export {
  type DriftFinal,
  type DriftMethod,
  type DriftPoint,
  type DriftRun,
  type DriftVerdict,
  driftVerdict,
  sorsaDrift,
  type SorsaDriftOptions,
  type SorsaDriftResult,
} from "./sorsa_drift.ts";
export {
  type CascadeCheck,
  type CascadeFit,
  lokhCascade,
  type LokhCascadeOptions,
  type LokhCascadeResult,
} from "./lokh_cascade.ts";
export {
  type Experiment,
  type ExperimentContext,
  EXPERIMENTS,
  type RunOptions,
  runReproductions,
  type RunSummary,
} from "./run.ts";
