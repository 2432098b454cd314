/**
 * The least-squares step every alternating method here shares: with C fixed, each column of R
 * solves a small ridge-regularised weighted problem, all columns at once as one batch of k × k
 * systems.
 * @module
 */
import { fmtShape, ShapeError } from "../core/errors.ts";
import { add, expandDims, eye, matmulT, mul, reshape, transpose } from "../core/ops/mod.ts";
import { solve } from "../core/linalg/mod.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";

/**
 * For each column j, `r_j = argmin ‖(C r_j) ∘ p_j − t_j‖² + λ‖r_j‖²`, i.e.
 * ```
 * r_j = (Cⱼᵀ Cⱼ + λI)⁻¹ Cⱼᵀ t_j,    Cⱼ = diag(p_j) C
 * ```
 * for C `[m, k]`, targets T `[m, n]` and weights P `[m, n]`; returns R `[k, n]`. With P a 0/1 mask
 * and T = W ∘ P this is least squares on the observed entries; with P = C₂R₂ it is the Hadamard
 * step. Built from batched matmul and `solve`, so it is differentiable.
 * @param C the fixed factor, `[m, k]`
 * @param T the targets, `[m, n]`
 * @param P the weights, `[m, n]`
 * @param lambda the ridge weight λ ≥ 0 (0 needs every Cⱼ of full column rank)
 * @example
 * ```ts
 * import { ones, tensor } from "@tangent/tangent";
 * import { weightedLeastSquares } from "@tangent/tangent/lowrank";
 * const C = tensor([[1], [2]], { dtype: "float64" });
 * weightedLeastSquares(C, tensor([[2], [4]], { dtype: "float64" }), ones([2, 1], { dtype: "float64" }), 0); // [[2]]
 * ```
 */
export function weightedLeastSquares(C: Tensor, T: Tensor, P: Tensor, lambda: number): Tensor {
  checkTensor("weightedLeastSquares", C, "C");
  checkTensor("weightedLeastSquares", T, "T");
  checkTensor("weightedLeastSquares", P, "P");
  const [m, k] = C.shape, n = T.shape[1];
  if (C.ndim !== 2 || T.ndim !== 2 || T.shape[0] !== m || P.shape.join() !== T.shape.join()) {
    throw new ShapeError(
      `weightedLeastSquares: C [m, k], T and P [m, n] expected, got C ${fmtShape(C.shape)}, T ${fmtShape(T.shape)}, P ${
        fmtShape(P.shape)
      }`,
    );
  }
  // Cⱼ = diag(p_j) C for every column j: [n, m, k]
  const Cj = mul(expandDims(transpose(P), -1), expandDims(C, 0));
  const G = matmulT(Cj, Cj, true, false); // [n, k, k]
  const rhs = matmulT(Cj, expandDims(transpose(T), -1), true, false); // [n, k, 1]
  const A = lambda > 0 ? add(G, mul(eye(k, { dtype: C.dtype, like: C }), lambda)) : G;
  return transpose(reshape(solve(A, rhs), [n, k]));
}
