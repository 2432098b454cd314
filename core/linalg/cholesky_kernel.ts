/**
 * Cholesky factorization of a batch of symmetric positive-definite matrices (`choleskyKernel`).
 * @module
 */
import {
  batchOf,
  checkDim,
  dot,
  firstNonFinite,
  type FloatArray,
  type KernelFailure,
  like,
  type SquareDims,
} from "./kernel_util.ts";

/** Result of {@linkcode choleskyKernel}. */
export interface CholeskyResult<T extends FloatArray = FloatArray> {
  /** L, batch × n × n, lower triangular with positive diagonal, zeros above. */
  l: T;
  /** Failing matrices (`nonFinite`, `notPositiveDefinite` with the failing column). */
  failures: KernelFailure[];
}

/**
 * Cholesky factorization A = L Lᵀ of a batch of symmetric positive-definite n×n matrices.
 * Reads only the lower triangle (and diagonal) of A. Row-oriented Cholesky–Crout: every inner
 * product runs over two contiguous rows of L. A non-positive (or NaN) pivot at column j reports
 * `notPositiveDefinite` with index j and fills that matrix's L with NaN.
 *
 * @example
 * ```ts
 * choleskyKernel(new Float64Array([4, 2, 2, 5]), { n: 2 }).l; // [2, 0, 1, 2]
 * ```
 */
export function choleskyKernel<T extends FloatArray>(a: T, dims: SquareDims): CholeskyResult<T> {
  const { n } = dims;
  checkDim("choleskyKernel", "n", n);
  const batch = batchOf("choleskyKernel", a.length, n * n, dims.batch);
  const l = like(a, batch * n * n);
  const failures: KernelFailure[] = [];
  const w = new Float64Array(n * n);
  for (let b = 0; b < batch; b++) {
    const off = b * n * n;
    const bad = firstNonFinite(a, off, n * n);
    if (bad >= 0) {
      failures.push({ batch: b, kind: "nonFinite", index: bad });
      l.fill(NaN, off, off + n * n);
      continue;
    }
    w.fill(0);
    let failed = -1;
    outer: for (let i = 0; i < n; i++) {
      const io = i * n;
      for (let j = 0; j <= i; j++) {
        // s = a_ij − Σ_{k<j} l_ik l_jk
        const s = a[off + io + j] - dot(w, io, w, j * n, j);
        if (i === j) {
          if (!(s > 0)) {
            failed = i;
            break outer;
          }
          w[io + i] = Math.sqrt(s);
        } else {
          w[io + j] = s / w[j * n + j];
        }
      }
    }
    if (failed >= 0) {
      failures.push({ batch: b, kind: "notPositiveDefinite", index: failed });
      l.fill(NaN, off, off + n * n);
      continue;
    }
    for (let t = 0; t < n * n; t++) l[off + t] = w[t];
  }
  return { l, failures };
}
