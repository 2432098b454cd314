/**
 * Alternating least squares with missing entries (the survey's ALS for data with missing values):
 * only the entries a boolean mask marks as observed enter the loss, so each column of R (row of
 * C) has its own k × k normal equations. Filling the unobserved entries with C R is low-rank
 * matrix completion.
 * @module
 */
import { fmtShape, ShapeError } from "../core/errors.ts";
import { checkOptions } from "../core/options.ts";
import { astype, matmul, mul, notEqual, slice, sum, transpose, where } from "../core/ops/mod.ts";
import { svd } from "../core/linalg/mod.ts";
import { type Key, key as makeKey, normal } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import { ALS_KEYS, checkRank, type Factorization, ridge, sweepOptions } from "./als.ts";
import { matrixOf } from "./error.ts";
import { weightedLeastSquares } from "./weighted.ts";

/** Options of `alsMasked`. */
export interface AlsMaskedOptions {
  /** The rank k. */
  rank: number;
  /** Ridge weight on both factors (default 0); `lambdaC` / `lambdaR` override it. */
  lambda?: number;
  /** Ridge weight λ_C on C. */
  lambdaC?: number;
  /** Ridge weight λ_R on R. */
  lambdaR?: number;
  /** Number of sweeps (default 50). */
  sweeps?: number;
  /** Stop once the relative error on the observed entries is at most this (default 0). */
  tol?: number;
  /** Random key for the "random" start (default key(0)). */
  key?: Key;
  /**
   * The initial C `[m, k]`, or how to choose it: "spectral" (default; the top k left singular
   * vectors of the zero-filled W ∘ M, as in Keshavan, Montanari & Oh 2010) or "random" (standard
   * normal; ALS then stalls at a spurious stationary point more often).
   */
  init?: Tensor | "spectral" | "random";
  /** Called after every sweep with the error on the observed entries. */
  onSweep?: (sweep: number, error: number, factors: { C: Tensor; R: Tensor }) => void;
}

/**
 * ALS on the observed entries Ω (`mask` true) only, from a spectral start (see `init`):
 * `min Σ_{(i,j)∈Ω} (W − CR)²ᵢⱼ + λ_C‖C‖²_F + λ_R‖R‖²_F`, column by column
 * ```
 * r_j ← (Cᵀ D_j C + λ_R I)⁻¹ Cᵀ D_j w_j,    D_j = diag(mask_j)
 * c_i ← (R D_i Rᵀ + λ_C I)⁻¹ R D_i w_iᵀ,    D_i = diag(mask row i)
 * ```
 * `errors` are relative on the observed entries, ‖(W − CR) ∘ M‖_F / ‖W ∘ M‖_F. With λ = 0 every
 * column and row needs at least k observed entries; give a small λ otherwise. Unobserved entries
 * of W are never read (they may be NaN). Differentiable in W and the init.
 * @param W the matrix `[m, n]`
 * @param mask which entries are observed, a bool (or 0/1) tensor `[m, n]`
 * @param opts rank, ridge weights, sweeps, stopping tolerance, initial C or its key
 * @example
 * ```ts
 * import { greater, key, matmul, normal, uniform } from "@tangent/tangent";
 * import { alsMasked } from "@tangent/tangent/lowrank";
 * const W = matmul(normal(key(1), [12, 2], { dtype: "float64" }), normal(key(2), [2, 10], { dtype: "float64" }));
 * const mask = greater(uniform(key(3), [12, 10]), 0.3); // ~70% observed
 * const { C, R } = alsMasked(W, mask, { rank: 2, sweeps: 30 }); // C R fills in the rest
 * ```
 */
export function alsMasked(W: Tensor, mask: Tensor, opts: AlsMaskedOptions): Factorization {
  checkOptions("alsMasked", opts, ALS_KEYS, "{ rank: 4 }");
  const [m, n] = matrixOf("alsMasked", W);
  checkTensor("alsMasked", mask, "mask");
  if (mask.shape.join() !== W.shape.join()) {
    throw new ShapeError(`alsMasked: mask ${fmtShape(mask.shape)} must have W's shape ${fmtShape(W.shape)}`);
  }
  const k = opts.rank;
  checkRank("alsMasked", k, m, n);
  const lamC = ridge("alsMasked", "lambdaC", opts.lambdaC, opts.lambda ?? 0);
  const lamR = ridge("alsMasked", "lambdaR", opts.lambdaR, opts.lambda ?? 0);
  const { sweeps, tol } = sweepOptions("alsMasked", opts, 50);
  const observed = mask.dtype === "bool" ? mask : notEqual(mask, 0);
  const M = astype(observed, W.dtype);
  // W ∘ M by a select, so unobserved entries (even NaN) never enter
  const WM = where(observed, W, 0);
  const init = opts.init ?? "spectral";
  let C = init === "spectral"
    ? slice(svd(WM).U, [null, [0, k]])
    : init === "random"
    ? normal(opts.key ?? makeKey(0), [m, k], { dtype: W.dtype })
    : init;
  if (C.shape.join() !== `${m},${k}`) {
    throw new ShapeError(`alsMasked: init must be [${m}, ${k}], got ${fmtShape(C.shape)}`);
  }
  const norm2 = Math.sqrt(sum(mul(WM, WM)).item());
  let R = W;
  const errors: number[] = [];
  for (let s = 0; s < sweeps; s++) {
    R = weightedLeastSquares(C, WM, M, lamR);
    C = transpose(weightedLeastSquares(transpose(R), transpose(WM), transpose(M), lamC));
    const D = mul(matmul(C, R).sub(WM), M);
    const e = Math.sqrt(sum(mul(D, D)).item()) / norm2;
    errors.push(e);
    opts.onSweep?.(s + 1, e, { C, R });
    if (e <= tol) break;
  }
  return { C, R, errors };
}
