/**
 * Sizes at which the WebGPU linear algebra switches from one workgroup per matrix to the blocked
 * algorithms. Tests lower them to reach the blocked paths with small matrices.
 * @module
 */

/** Switch points and block sizes of the WebGPU linear algebra. */
export interface LinalgTuning {
  /** Cholesky, LU and triangular solves of larger order are blocked. */
  smallMax: number;
  /** Block size of the blocked Cholesky, LU and triangular solve. */
  block: number;
  /** SVDs with min(m, n) above this, and eigh above this order, use block Jacobi. */
  jacobiMax: number;
  /** Columns per block of the block Jacobi (pairs of blocks are decomposed by one workgroup). */
  jacobiBlock: number;
  /** Sweeps of the block Jacobi (it cannot stop early without reading back). */
  jacobiSweeps: number;
  /** Largest workgroup of the one-workgroup-per-matrix kernels (a power of two, ≥ 32). */
  maxGroup: number;
}

/** The switch points in use (mutable, for tests and benchmarks). */
export const linalgTuning: LinalgTuning = {
  smallMax: 128,
  block: 64,
  jacobiMax: 128,
  jacobiBlock: 16,
  jacobiSweeps: 10,
  maxGroup: 256,
};
