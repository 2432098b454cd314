/**
 * Triangular solves of a batch of systems (`triangularSolveKernel`).
 * @module
 */
import {
  aBatchOf,
  batchOf,
  checkDim,
  firstNonFinite,
  type FloatArray,
  type KernelFailure,
  like,
  substitute,
} from "./kernel_util.ts";

/** Shape and options of {@linkcode triangularSolveKernel}. */
export interface TriangularSolveOptions {
  /** Order of A. */
  n: number;
  /** Number of right-hand sides (columns of B). */
  k: number;
  /** A is lower triangular (only that triangle is read); otherwise upper. */
  lower: boolean;
  /** Solve Aᵀ X = B instead of A X = B. */
  transpose?: boolean;
  /** Take A's diagonal as ones (it is not read). */
  unitDiagonal?: boolean;
  /** Number of systems (B's batch); A's batch must be 1 (shared) or equal. Inferred from B. */
  batch?: number;
}

/** Result of {@linkcode triangularSolveKernel} and {@linkcode luSolveKernel}. */
export interface SolveResult<T extends FloatArray = FloatArray> {
  /** X, batch × n × k. */
  x: T;
  /** `nonFinite` (with `input`), `singular` (a zero diagonal entry of the triangular factor). */
  failures: KernelFailure[];
}

/**
 * Solves op(A) X = B for a batch of n×n triangular A and n×k right-hand sides B, op(A) = A or
 * Aᵀ, by forward or back substitution over contiguous rows of X. Reads only the triangle of A named
 * by `lower` (and not the diagonal when `unitDiagonal`). A zero diagonal entry is reported as
 * `singular` (X then holds ±Infinity/NaN).
 *
 * @example
 * ```ts
 * triangularSolveKernel(new Float64Array([2, 0, 1, 4]), new Float64Array([2, 9]), { n: 2, k: 1, lower: true }).x;
 * // [1, 2]
 * ```
 */
export function triangularSolveKernel<T extends FloatArray>(
  a: T,
  b: T,
  opts: TriangularSolveOptions,
): SolveResult<T> {
  const { n, k, lower } = opts;
  const transpose = opts.transpose ?? false, unit = opts.unitDiagonal ?? false;
  const op = "triangularSolveKernel";
  checkDim(op, "n", n);
  checkDim(op, "k", k);
  const batch = batchOf(op, b.length, n * k, opts.batch);
  const aBatch = aBatchOf(op, a.length, n * n, batch);
  const x = like(b, batch * n * k);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n), xw = new Float64Array(n * k);
  for (let bi = 0; bi < batch; bi++) {
    const ao = (aBatch === 1 ? 0 : bi) * n * n, bo = bi * n * k;
    const badA = firstNonFinite(a, ao, n * n), badB = firstNonFinite(b, bo, n * k);
    if (badA >= 0 || badB >= 0) {
      failures.push({
        batch: bi,
        kind: "nonFinite",
        index: badA >= 0 ? badA : badB,
        input: badA >= 0 ? "a" : "b",
      });
      x.fill(NaN, bo, bo + n * k);
      continue;
    }
    // op(A) as a row-major f64 matrix
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        w[i * n + j] = transpose ? a[ao + j * n + i] : a[ao + i * n + j];
      }
    }
    for (let t = 0; t < n * k; t++) xw[t] = b[bo + t];
    const singular = substitute(w, xw, n, k, lower !== transpose, unit);
    if (singular >= 0) failures.push({ batch: bi, kind: "singular", index: singular });
    for (let t = 0; t < n * k; t++) x[bo + t] = xw[t];
  }
  return { x, failures };
}
