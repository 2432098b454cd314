/**
 * Functions composed from the LU factorization: `solve`, `inv`, `det` and `slogdet`.
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import * as o from "../ops/mod.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import { identityLike, matrixShape } from "./helpers.ts";
import { broadcastBatch, broadcastMatrix, permutationMatrix, triangularSolveRaw } from "./primitives.ts";
import { luFactorAs } from "./decompositions.ts";
import { asOneCall } from "./failure.ts";

/**
 * Solves A X = B for square A (…, n, n) through LU with partial pivoting; B is (…, n, k) or a
 * vector (…, n). Batch axes broadcast. Throws a DomainError for an exactly singular A.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { solve } from "@tangent/tangent/linalg";
 * solve(tensor([[1, 2], [3, 4]], { dtype: "float64" }), tensor([5, 11], { dtype: "float64" })); // [1, 2]
 * ```
 */
export function solve(a: Tensor, b: Tensor): Tensor {
  return solveAs("solve", a, b);
}

/** `solve` whose errors (shapes, a non-finite entry, a singular matrix) name `op`, the function called. */
export function solveAs(op: string, a: Tensor, b: Tensor): Tensor {
  return asOneCall(() => solveIn(op, a, b));
}

function solveIn(op: string, a: Tensor, b: Tensor): Tensor {
  checkTensor(op, b, "the right-hand side");
  const { n } = matrixShape(op, a, true);
  const vector = b.ndim === 1 || b.ndim === a.ndim - 1;
  let b2 = vector ? o.expandDims(b, -1) : b;
  if (b2.ndim < 2 || b2.shape[b2.ndim - 2] !== n) {
    throw new ShapeError(`${op}: right-hand side ${fmtShape(b.shape)} does not match the ${n}×${n} matrix`);
  }
  const { lu: f, perm } = luFactorAs(a, op);
  const batch = broadcastBatch(op, a.shape.slice(0, -2), b2.shape.slice(0, -2));
  b2 = broadcastMatrix(b2, batch);
  // x = U⁻¹ L⁻¹ P b
  const pb = o.matmul(permutationMatrix(perm, a.dtype), b2);
  const y = triangularSolveRaw(f, pb, true, false, true, op);
  const x = triangularSolveRaw(f, y, false, false, false, op);
  return vector ? o.squeeze(x, -1) : x;
}

/**
 * Matrix inverse (…, n, n) through LU; throws a DomainError for an exactly singular matrix.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { inv } from "@tangent/tangent/linalg";
 * inv(tensor([[2, 0], [0, 4]], { dtype: "float64" })); // [[0.5, 0], [0, 0.25]]
 * ```
 */
export function inv(a: Tensor): Tensor {
  const { n, batch } = matrixShape("inv", a, true);
  return solveAs("inv", a, o.broadcastTo(identityLike(a, n), [...batch, n, n]));
}

/**
 * Determinant (…) = det P · Π uᵢᵢ from LU (0 for a singular matrix, no error).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { det } from "@tangent/tangent/linalg";
 * det(tensor([[1, 2], [3, 4]], { dtype: "float64" })); // -2
 * ```
 */
export function det(a: Tensor): Tensor {
  matrixShape("det", a, true);
  const { lu: f, sign } = luFactorAs(a, "det");
  return o.add(o.mul(sign, o.prod(o.diag(f), { axis: -1 })), 0); // + 0: a singular matrix gives 0, not −0
}

/**
 * Sign and log-magnitude of the determinant, det A = sign · exp(logabsdet), without overflow:
 * logabsdet = Σ log|uᵢᵢ| (−Infinity and sign 0 for a singular matrix).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { slogdet } from "@tangent/tangent/linalg";
 * const { sign, logabsdet } = slogdet(tensor([[1, 2], [3, 4]], { dtype: "float64" })); // -1, log 2
 * ```
 */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  matrixShape("slogdet", a, true);
  const { lu: f, sign } = luFactorAs(a, "slogdet");
  const d = o.diag(f);
  return {
    sign: o.mul(sign, o.prod(o.sign(d), { axis: -1 })),
    logabsdet: o.sum(o.log(o.abs(d)), { axis: -1 }),
  };
}

/** Padé [13/13] coefficients b₀ … b₁₃ of the exponential (Higham 2005). */
