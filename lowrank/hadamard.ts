/**
 * The Hadamard decomposition W ≈ (C₁R₁) ∘ (C₂R₂) (the survey's, Lu 2024): an elementwise product of
 * two rank-k factorisations reaches rank k₁k₂ with (k₁ + k₂)(m + n) parameters (LoHa's form).
 * Fitted by ALS: with three factors fixed the fourth solves a weighted least-squares problem.
 * The problem is not convex jointly, and from a random start ALS can stall at a spurious
 * stationary point, so `restarts` tries several starts and keeps the best.
 * @module
 */
import { DomainError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { matmul, mul, transpose } from "../core/ops/mod.ts";
import { type Key, key as makeKey, normal, split } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkRank, ridge, sweepOptions } from "./als.ts";
import { matrixOf, relativeError } from "./error.ts";
import { weightedLeastSquares } from "./weighted.ts";

/** Options of `hadamardAls`. */
export interface HadamardOptions {
  /** The ranks [k₁, k₂] of C₁R₁ and C₂R₂. */
  ranks: readonly [number, number];
  /** Ridge weight on all four factors (default 0). */
  lambda?: number;
  /** Sweeps in all (default 100); a sweep updates R₁, C₁, R₂, C₂ in turn. */
  sweeps?: number;
  /** Stop once the relative error is at most this (default 0: run every sweep). */
  tol?: number;
  /** Random starts to try (default 1); each runs `probeSweeps` sweeps and the best one continues. */
  restarts?: number;
  /** Sweeps per start before choosing (default 10). */
  probeSweeps?: number;
  /** Random key for the starts (default key(0)). */
  key?: Key;
  /** Called after every sweep of the run that continues. */
  onSweep?: (sweep: number, error: number) => void;
}

/** W ≈ (C₁R₁) ∘ (C₂R₂) and how it got there. */
export interface HadamardFactorization {
  /** `[m, k₁]`. */
  readonly C1: Tensor;
  /** `[k₁, n]`. */
  readonly R1: Tensor;
  /** `[m, k₂]`. */
  readonly C2: Tensor;
  /** `[k₂, n]`. */
  readonly R2: Tensor;
  /** Relative error after each sweep of the chosen start (its probe sweeps included). */
  readonly errors: readonly number[];
  /** Each start's relative error after its probe sweeps. */
  readonly restartErrors: readonly number[];
}

/**
 * `(C₁R₁) ∘ (C₂R₂)`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { hadamardProduct } from "@tangent/tangent/lowrank";
 * const one = tensor([[1], [2]]), row = tensor([[3, 4]]);
 * hadamardProduct(one, row, one, row); // [[9, 16], [36, 64]]
 * ```
 */
export function hadamardProduct(C1: Tensor, R1: Tensor, C2: Tensor, R2: Tensor): Tensor {
  return mul(matmul(C1, R1), matmul(C2, R2));
}

interface State {
  C1: Tensor;
  R1: Tensor;
  C2: Tensor;
  R2: Tensor;
}

/**
 * One ALS sweep for `min ‖(C₁R₁) ∘ (C₂R₂) − W‖²_F` (+ λ on every factor). With P = C₂R₂ fixed,
 * column j of R₁ and row i of C₁ solve
 * ```
 * r₁ⱼ ← argmin ‖(C₁ r₁ⱼ) ∘ pⱼ − wⱼ‖² + λ‖r₁ⱼ‖²,    c₁ᵢ ← argmin ‖(c₁ᵢᵀ R₁) ∘ pᵢᵀ − wᵢᵀ‖² + λ‖c₁ᵢ‖²
 * ```
 * then the same for (C₂, R₂) with P = C₁R₁.
 */
function sweep(W: Tensor, s: State, lam: number): State {
  const Wt = transpose(W);
  let P = matmul(s.C2, s.R2);
  const R1 = weightedLeastSquares(s.C1, W, P, lam);
  const C1 = transpose(weightedLeastSquares(transpose(R1), Wt, transpose(P), lam));
  P = matmul(C1, R1);
  const R2 = weightedLeastSquares(s.C2, W, P, lam);
  const C2 = transpose(weightedLeastSquares(transpose(R2), Wt, transpose(P), lam));
  return { C1, R1, C2, R2 };
}

/**
 * Fits `W ≈ (C₁R₁) ∘ (C₂R₂)` by alternating weighted least squares (see `sweep` in the source for
 * the update). From `restarts` random starts, each run for `probeSweeps` sweeps, the one with the
 * lowest error continues to `sweeps` sweeps in all. The error never increases along a run (each
 * step minimises the objective in one factor). Differentiable (unrolled sweeps).
 * @param W the matrix `[m, n]`
 * @param opts ranks, ridge weight, sweeps, restarts, key
 * @example
 * ```ts
 * import { key, normal, split } from "@tangent/tangent";
 * import { hadamardAls, hadamardProduct } from "@tangent/tangent/lowrank";
 * const [a, b, c, d] = split(key(0), 4).map((k, i) => normal(k, i % 2 ? [1, 9] : [8, 1], { dtype: "float64" }));
 * const W = hadamardProduct(a, b, c, d); // rank one
 * const fit = hadamardAls(W, { ranks: [1, 1], sweeps: 20 }); // fit.errors.at(-1) ≈ 1e-16
 * ```
 */
export function hadamardAls(W: Tensor, opts: HadamardOptions): HadamardFactorization {
  requireOptions(
    "hadamardAls",
    opts,
    "{ ranks: [2, 2] }",
    optionKeys<HadamardOptions>({
      ranks: true,
      lambda: true,
      sweeps: true,
      tol: true,
      restarts: true,
      probeSweeps: true,
      key: true,
      onSweep: true,
    }),
  );
  const [m, n] = matrixOf("hadamardAls", W);
  if (!Array.isArray(opts.ranks) || opts.ranks.length !== 2) {
    throw new DomainError(
      `hadamardAls: ranks must be a pair [k1, k2], got ${JSON.stringify(opts.ranks) ?? String(opts.ranks)}`,
    );
  }
  const [k1, k2] = opts.ranks;
  checkRank("hadamardAls", k1, m, n);
  checkRank("hadamardAls", k2, m, n);
  const lam = ridge("hadamardAls", "lambda", opts.lambda, 0);
  const { sweeps, tol } = sweepOptions("hadamardAls", opts, 100);
  const restarts = opts.restarts ?? 1, probe = Math.min(opts.probeSweeps ?? 10, sweeps);
  if (!Number.isInteger(restarts) || restarts < 1) {
    throw new DomainError(`hadamardAls: restarts must be a positive integer, got ${restarts}`);
  }
  const err = (s: State) => relativeError(hadamardProduct(s.C1, s.R1, s.C2, s.R2), W).item();
  const dtype = W.dtype;
  const runs = split(opts.key ?? makeKey(0), restarts).map((k) => {
    const [a, b, c, d] = split(k, 4);
    let s: State = {
      C1: normal(a, [m, k1], { dtype }),
      R1: normal(b, [k1, n], { dtype }),
      C2: normal(c, [m, k2], { dtype }),
      R2: normal(d, [k2, n], { dtype }),
    };
    const errors: number[] = [];
    for (let i = 0; i < probe; i++) {
      s = sweep(W, s, lam);
      errors.push(err(s));
      if (errors.at(-1)! <= tol) break;
    }
    return { s, errors };
  });
  const restartErrors = runs.map((r) => r.errors.at(-1)!);
  const best = runs[restartErrors.indexOf(Math.min(...restartErrors))];
  let s = best.s;
  const errors = best.errors;
  errors.forEach((e, i) => opts.onSweep?.(i + 1, e));
  while (errors.length < sweeps && errors.at(-1)! > tol) {
    s = sweep(W, s, lam);
    errors.push(err(s));
    opts.onSweep?.(errors.length, errors.at(-1)!);
  }
  return { ...s, errors, restartErrors };
}
