/**
 * The linear algebra the adapters need (interim: replaced by core/linalg once it lands).
 * @module
 */
import { BackendError } from "../core/errors.ts";
import type { Tensor } from "../core/tensor.ts";

/** The subset of core/linalg used here. */
export interface LinalgApi {
  svd(a: Tensor, opts?: { fullMatrices?: boolean }): { U: Tensor; S: Tensor; Vh: Tensor };
  qr(a: Tensor): { Q: Tensor; R: Tensor };
  solve(a: Tensor, b: Tensor): Tensor;
  solveTriangular(a: Tensor, b: Tensor, opts: { lower: boolean }): Tensor;
  svdvals(a: Tensor): Tensor;
}

/** core/linalg. */
export function linalg(): LinalgApi {
  throw new BackendError("adapters: core/linalg is not available yet");
}
