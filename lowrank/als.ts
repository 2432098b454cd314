/**
 * Alternating least squares for a low-rank factorisation W ≈ C R with ridge terms (the survey's
 * core method, Lu 2024, §2): with one factor fixed the problem in the other is a convex least
 * squares problem with a closed-form solution, so the objective never increases.
 * @module
 */
import { DomainError, fmtShape, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, eye, matmul, matmulT, mul, transpose } from "../core/ops/mod.ts";
import { solve } from "../core/linalg/mod.ts";
import { type Key, key as makeKey, normal } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { matrixOf, relativeError } from "./error.ts";

/** Options of `als`. */
export interface AlsOptions {
  /** The rank k of the factors C `[m, k]` and R `[k, n]`. */
  rank: number;
  /** Ridge weight on both factors (default 0); `lambdaC` / `lambdaR` override it per factor. */
  lambda?: number;
  /** Ridge weight λ_C on C. */
  lambdaC?: number;
  /** Ridge weight λ_R on R. */
  lambdaR?: number;
  /** Number of sweeps (one update of R, then of C; default 20). */
  sweeps?: number;
  /** Stop once the relative error is at most this (default 0: run every sweep). */
  tol?: number;
  /** Random key for the initial C (default key(0)); ignored when `init` is given. */
  key?: Key;
  /** The initial C `[m, k]` (default: standard normal entries). */
  init?: Tensor;
  /** Called after every sweep (for progress lines and per-sweep measurements). */
  onSweep?: (sweep: number, error: number, factors: { C: Tensor; R: Tensor }) => void;
}

/** A factorisation W ≈ C R and how it got there. */
export interface Factorization {
  /** Left factor `[m, k]`. */
  readonly C: Tensor;
  /** Right factor `[k, n]`. */
  readonly R: Tensor;
  /** Relative Frobenius error ‖W − CR‖_F / ‖W‖_F after each sweep. */
  readonly errors: readonly number[];
}

/** Validates the shared options; returns rank, sweeps, tol. */
export function sweepOptions(
  op: string,
  opts: { sweeps?: number; tol?: number },
  defaults = 20,
): { sweeps: number; tol: number } {
  const sweeps = opts.sweeps ?? defaults, tol = opts.tol ?? 0;
  if (!Number.isInteger(sweeps) || sweeps < 1) {
    throw new DomainError(`${op}: sweeps must be a positive integer, got ${sweeps}`);
  }
  if (!(tol >= 0)) throw new DomainError(`${op}: tol must be ≥ 0, got ${tol}`);
  return { sweeps, tol };
}

/** Validates a rank against a matrix size. */
export function checkRank(op: string, k: number, m: number, n: number): void {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`${op}: rank must be a positive integer, got ${k}`);
  if (k > Math.min(m, n)) {
    throw new ShapeError(`${op}: rank ${k} exceeds min(m, n) = ${Math.min(m, n)} of the [${m}, ${n}] matrix`);
  }
}

/** Validates a ridge weight. */
export function ridge(op: string, name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!(x >= 0) || !Number.isFinite(x)) throw new DomainError(`${op}: ${name} must be a finite number ≥ 0, got ${v}`);
  return x;
}

/** The option names of `als` (and `alsMasked`, whose options have the same names). @internal */
export const ALS_KEYS: readonly string[] = optionKeys<AlsOptions>({
  rank: true,
  lambda: true,
  lambdaC: true,
  lambdaR: true,
  sweeps: true,
  tol: true,
  key: true,
  init: true,
  onSweep: true,
});

/**
 * Alternating least squares for `min ‖W − C R‖²_F + λ_C‖C‖²_F + λ_R‖R‖²_F`:
 * ```
 * R ← (CᵀC + λ_R I)⁻¹ Cᵀ W
 * C ← W Rᵀ (R Rᵀ + λ_C I)⁻¹
 * ```
 * With λ = 0 and W of rank k exactly, one sweep recovers W to rounding (R's rows then span W's
 * row space); with noise it converges to the truncated SVD's error. Differentiable (unrolled
 * sweeps of matmul and `solve`).
 * @param W the matrix `[m, n]`
 * @param opts rank, ridge weights, sweeps, stopping tolerance, initial C or its key
 * @example
 * ```ts
 * import { key, matmul, normal } from "@tangent/tangent";
 * import { als } from "@tangent/tangent/lowrank";
 * const W = matmul(normal(key(1), [8, 2], { dtype: "float64" }), normal(key(2), [2, 6], { dtype: "float64" }));
 * const { C, R, errors } = als(W, { rank: 2, sweeps: 3 }); // errors[0] ≈ 1e-16
 * ```
 */
export function als(W: Tensor, opts: AlsOptions): Factorization {
  checkOptions("als", opts, ALS_KEYS, "{ rank: 4 }");
  const [m, n] = matrixOf("als", W);
  const k = opts.rank;
  checkRank("als", k, m, n);
  const lamC = ridge("als", "lambdaC", opts.lambdaC, opts.lambda ?? 0);
  const lamR = ridge("als", "lambdaR", opts.lambdaR, opts.lambda ?? 0);
  const { sweeps, tol } = sweepOptions("als", opts);
  let C = opts.init ?? normal(opts.key ?? makeKey(0), [m, k], { dtype: W.dtype });
  if (C.shape.join() !== `${m},${k}`) throw new ShapeError(`als: init must be [${m}, ${k}], got ${fmtShape(C.shape)}`);
  const I = eye(k, { dtype: W.dtype, like: W });
  const plus = (G: Tensor, lam: number) => (lam > 0 ? add(G, mul(I, lam)) : G);
  let R = W;
  const errors: number[] = [];
  for (let s = 0; s < sweeps; s++) {
    // R ← (CᵀC + λ_R I)⁻¹ CᵀW
    R = solve(plus(matmulT(C, C, true, false), lamR), matmulT(C, W, true, false));
    // C ← W Rᵀ (RRᵀ + λ_C I)⁻¹ = ((RRᵀ + λ_C I)⁻¹ R Wᵀ)ᵀ
    C = transpose(solve(plus(matmulT(R, R, false, true), lamC), matmulT(R, W, false, true)));
    const e = relativeError(matmul(C, R), W).item();
    errors.push(e);
    opts.onSweep?.(s + 1, e, { C, R });
    if (e <= tol) break;
  }
  return { C, R, errors };
}
