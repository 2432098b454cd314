/**
 * How far an approximation is from its target.
 * @module
 */
import { DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { div, norm, sub } from "../core/ops/mod.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";

/**
 * The relative Frobenius error `‖approx − target‖_F / ‖target‖_F` (a scalar tensor, so it can be
 * differentiated).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { relativeError } from "@tangent/tangent/lowrank";
 * relativeError(tensor([[3, 4.5]]), tensor([[3, 4]])).item(); // 0.1
 * ```
 */
export function relativeError(approx: Tensor, target: Tensor): Tensor {
  checkTensor("relativeError", approx, "approx");
  checkTensor("relativeError", target, "target");
  if (approx.shape.join() !== target.shape.join()) {
    throw new ShapeError(`relativeError: shapes ${fmtShape(approx.shape)} and ${fmtShape(target.shape)} differ`);
  }
  return div(norm(sub(approx, target)), norm(target));
}

/** Checks that `w` is a floating-point matrix; returns its [rows, columns]. */
export function matrixOf(op: string, w: Tensor): [number, number] {
  checkTensor(op, w);
  if (w.ndim !== 2) throw new ShapeError(`${op}: needs a matrix (2-D tensor), got shape ${fmtShape(w.shape)}`);
  if (w.dtype !== "float32" && w.dtype !== "float64") {
    throw new DTypeError(`${op}: needs a float32 or float64 matrix, got ${w.dtype}; cast it with astype`);
  }
  return [w.shape[0], w.shape[1]];
}
