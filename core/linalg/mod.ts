/**
 * Linear algebra. Six primitives carry the factorizations — `qr`, `svd`, `eigh`, `cholesky`, `lu`
 * and triangular solves — each with a CPU kernel (core/linalg/kernels.ts) and a VJP rule written
 * with differentiable ops, so gradients of gradients work (`primitives.ts`, `cpu_kernels.ts`). Everything else (`solve`, `inv`, `det`,
 * `slogdet`, `expm`, `polar`, `cayley`, `newtonSchulz`, `svdvals`, `matrixNorm`) is composed from
 * them and needs no gradient of its own.
 *
 * Every function takes float32 or float64 matrices in the last two axes; leading axes are a batch.
 * Bad input throws before or instead of returning garbage: `ShapeError` (not a matrix, not square),
 * `DTypeError` (not float), `DomainError` (non-finite entries, singular matrix in a solve, not
 * symmetric in `eigh`, not positive definite in `cholesky`).
 *
 * Files: `decompositions.ts` (the factorizations), `solve.ts` (solve, inv, det, slogdet), `expm.ts`,
 * `matrix_functions.ts` (polar, cayley, unitTriangularInverse, newtonSchulz, matrixNorm),
 * `helpers.ts` (shape checks and tolerances).
 * @module
 */
import "./cpu_kernels.ts";

export {
  cholesky,
  eigh,
  lu,
  luFactor,
  qr,
  solveTriangular,
  type SolveTriangularOptions,
  svd,
  svdvals,
} from "./decompositions.ts";
export { det, inv, slogdet, solve } from "./solve.ts";
export { expm, EXPM_DEVICE_SQUARINGS } from "./expm.ts";
export {
  cayley,
  matrixNorm,
  newtonSchulz,
  type NewtonSchulzOptions,
  polar,
  unitTriangularInverse,
} from "./matrix_functions.ts";
