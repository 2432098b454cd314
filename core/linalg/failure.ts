/**
 * The DomainErrors of the linear-algebra kernels, built in one place so that every backend reports
 * a failure in the same words: the CPU kernels throw them at once, the WebGPU kernels record a
 * failure on the GPU and throw it when a result is read.
 * @module
 */
import { DomainError, fmtShape } from "../errors.ts";
import type { KernelFailure } from "./kernels.ts";

/**
 * `" (batch index [i, j, …])"` for entry `b` of a batch of shape `batch` (empty for one matrix).
 * @example
 * ```ts
 * import { batchIndex } from "./failure.ts";
 * batchIndex(5, [2, 3]); // " (batch index [1, 2])"
 * ```
 */
export function batchIndex(b: number, batch: readonly number[]): string {
  if (batch.length === 0) return "";
  const idx = new Array<number>(batch.length);
  for (let i = batch.length - 1; i >= 0; i--) {
    idx[i] = b % batch[i];
    b = Math.floor(b / batch[i]);
  }
  return ` (batch index [${idx.join(", ")}])`;
}

let call = 0, calls = 0;

/**
 * Runs `fn` (a public linear-algebra function) as one call: the failures its kernels report on a
 * backend that reports them late (WebGPU) surface as one error, the first, as the CPU throws at
 * the first and runs no other (expm's input check and its Padé solve's LU both see a NaN). Nested
 * calls belong to the outermost.
 * @example
 * ```ts
 * import { asOneCall, currentCall } from "./failure.ts";
 * asOneCall(() => asOneCall(() => currentCall())); // the outer call's number, not 0
 * ```
 */
export function asOneCall<R>(fn: () => R): R {
  if (call !== 0) return fn();
  call = calls = calls >= 0x7fffffff ? 1 : calls + 1;
  try {
    return fn();
  } finally {
    call = 0;
  }
}

/**
 * The call `asOneCall` runs now (0: none).
 * @example
 * ```ts
 * import { currentCall } from "./failure.ts";
 * currentCall(); // 0 outside asOneCall
 * ```
 */
export function currentCall(): number {
  return call;
}

/**
 * The DomainError describing a kernel failure of `op` on an input of `shape` whose rows have
 * `cols` entries (`input` names it in the message: "input", "matrix", "right-hand side").
 * @example
 * ```ts
 * import { failureError } from "./failure.ts";
 * const e = failureError("cholesky", { batch: 0, kind: "notPositiveDefinite", index: 1 }, [2, 2], 2);
 * // e.message starts "cholesky: matrix [2, 2] is not positive definite"
 * ```
 */
export function failureError(
  op: string,
  f: KernelFailure,
  shape: readonly number[],
  cols: number,
  input = "input",
): DomainError {
  const where = batchIndex(f.batch, shape.slice(0, -2));
  switch (f.kind) {
    case "nonFinite":
      return new DomainError(
        `${op}: ${input} ${fmtShape(shape)} has a non-finite entry (NaN or ±Infinity) at row ${
          Math.floor(f.index / cols)
        }, column ${f.index % cols}${where}; remove or replace non-finite values first`,
      );
    case "notPositiveDefinite":
      return new DomainError(
        `${op}: matrix ${fmtShape(shape)} is not positive definite${where}: the pivot of column ${f.index} is ≤ 0; ` +
          `add a multiple of the identity (a + λI) or use eigh for indefinite matrices`,
      );
    case "singular":
      return new DomainError(
        `${op}: matrix ${fmtShape(shape)} is singular${where}: zero pivot in column ${f.index}; ` +
          `use lstsq-style regularization (a + λI) or check the input`,
      );
    case "notConverged":
      return new DomainError(
        `${op}: the iteration did not converge for the matrix ${fmtShape(shape)}${where}; ` +
          `this indicates badly scaled input, please report it`,
      );
  }
}

/**
 * The DomainError of `eigh` for a matrix whose relative asymmetry max |a − aᵀ| / max |a| is
 * `asym`, above the dtype's tolerance `tol`.
 * @example
 * ```ts
 * import { asymmetryError } from "./failure.ts";
 * asymmetryError([2, 2], 0, 0.2, 1e-4).message; // "eigh: matrix [2, 2] is not symmetric: …"
 * ```
 */
export function asymmetryError(shape: readonly number[], b: number, asym: number, tol: number): DomainError {
  return new DomainError(
    `eigh: matrix ${fmtShape(shape)} is not symmetric${batchIndex(b, shape.slice(0, -2))}: ` +
      `max |a − aᵀ| / max |a| = ${asym.toExponential(2)} (tolerance ${tol}); ` +
      `symmetrize it with mul(add(a, a.mT), 0.5) or use svd`,
  );
}

/**
 * The DomainError of `expm` for an input with a non-finite entry.
 * @example
 * ```ts
 * import { expmNonFiniteError } from "./failure.ts";
 * expmNonFiniteError([2, 2]).message; // "expm: input [2, 2] has non-finite entries; remove them first"
 * ```
 */
export function expmNonFiniteError(shape: readonly number[]): DomainError {
  return new DomainError(`expm: input ${fmtShape(shape)} has non-finite entries; remove them first`);
}
