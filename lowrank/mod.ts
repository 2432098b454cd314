/**
 * Low-rank decompositions from Jun Lu's survey "Low-Rank Approximation, Adaptation, and Other
 * Tales" (arXiv 2408.05883): alternating least squares for W ≈ C R with ridge terms, the same with
 * missing entries, the Hadamard decomposition (C₁R₁) ∘ (C₂R₂), the nearest Kronecker product
 * (Van Loan–Pitsianis) and the Khatri–Rao decomposition. Built from Tangent ops and `linalg`, so
 * they are differentiable; the structured products themselves (`kron`, `khatriRao`) are LoKr's
 * and LoKH's.
 *
 * @example
 * ```ts
 * import { key, lowrank, matmul, normal } from "@tangent/tangent";
 * const W = matmul(normal(key(1), [10, 3], { dtype: "float64" }), normal(key(2), [3, 7], { dtype: "float64" }));
 * const { C, R, errors } = lowrank.als(W, { rank: 3, sweeps: 2 }); // errors ≈ [1e-16, 1e-16]
 * ```
 * @module
 */
export { relativeError } from "./error.ts";
export { weightedLeastSquares } from "./weighted.ts";
export { als, type AlsOptions, type Factorization } from "./als.ts";
export { alsMasked, type AlsMaskedOptions } from "./masked.ts";
export { hadamardAls, type HadamardFactorization, type HadamardOptions, hadamardProduct } from "./hadamard.ts";
export { kroneckerDecomposition, type KroneckerOptions, nearestKronecker, rearrange } from "./kronecker.ts";
export { khatriRaoDecomposition } from "./khatriRao.ts";
export { kron } from "../adapters/lokr.ts";
export { khatriRao } from "../adapters/lokh.ts";
