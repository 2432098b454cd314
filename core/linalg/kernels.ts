/**
 * Numeric kernels of Tangent's linear-algebra primitives, on typed arrays: one file per
 * factorization (`qr_kernel.ts`, `svd_kernel.ts` with `golub_kahan.ts`, `eigh_kernel.ts`,
 * `cholesky_kernel.ts`, `lu_kernel.ts`, `triangular_kernel.ts`, shared pieces in `kernel_util.ts`),
 * all exported from here.
 *
 * Pure functions over `Float32Array` / `Float64Array` with no dependency on the rest of the core.
 * Every kernel
 * - reads a batch of row-major matrices laid out contiguously (the batch count is the array length
 *   divided by the matrix size, or `dims.batch` when given);
 * - computes in float64 and writes its results in the input's precision (a `Float32Array` in gives
 *   `Float32Array`s out);
 * - never throws on bad values: a matrix with a non-finite entry, a singular or non-positive-definite
 *   matrix, or an iteration that did not converge is reported in `failures` (one entry per failing
 *   matrix, see {@linkcode KernelFailure}); the outputs of a matrix reported `nonFinite`,
 *   `notPositiveDefinite` or `notConverged` are filled with NaN. Wrong sizes throw `RangeError`
 *   (the public ops validate shapes before calling a kernel).
 *
 * Sign and ordering conventions (deterministic, so a kernel's output is a function of its input):
 * - QR: `R` has a non-negative diagonal.
 * - SVD: singular values descending; the entry of largest magnitude in each column of `U` (the first
 *   such entry on ties) is positive; the matching row of `Vh` carries the sign.
 * - eigh: eigenvalues ascending; the entry of largest magnitude of each eigenvector is positive.
 *
 * @module
 */
export type { FloatArray, KernelFailure, KernelFailureKind, MatrixDims, SquareDims } from "./kernel_util.ts";
export { qrKernel, type QrResult } from "./qr_kernel.ts";
export { type SvdDims, svdKernel, type SvdResult } from "./svd_kernel.ts";
export { eighKernel, type EighResult, symmetryError } from "./eigh_kernel.ts";
export { choleskyKernel, type CholeskyResult } from "./cholesky_kernel.ts";
export {
  detFromLu,
  luKernel,
  type LuResult,
  luSolveKernel,
  type LuSolveOptions,
  slogdetFromLu,
  type SlogdetResult,
} from "./lu_kernel.ts";
export { type SolveResult, triangularSolveKernel, type TriangularSolveOptions } from "./triangular_kernel.ts";
