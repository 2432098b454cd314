/**
 * The factorizations as public functions: `qr`, `svd`, `svdvals`, `eigh`, `cholesky`,
 * `solveTriangular`, `luFactor` and `lu`.
 * @module
 */
import { ShapeError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import * as o from "../ops/mod.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import { bindNonEmpty, identityLike, matrixShape } from "./helpers.ts";
import { choleskyP, eighP, luP, permutationMatrix, qrP, svdP, triangularSolveRaw } from "./primitives.ts";

/**
 * Reduced QR decomposition A = Q R by Householder reflections: for A (…, m, n), Q (…, m, k) has
 * orthonormal columns and R (…, k, n) is upper triangular with a non-negative diagonal,
 * k = min(m, n). Differentiable (the gradient needs R invertible, i.e. A of full column rank).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { qr } from "@tangent/tangent/linalg";
 * const { Q, R } = qr(tensor([[3, 1], [4, 2]], { dtype: "float64" })); // R = [[5, 2.2], [0, 0.4]]
 * ```
 */
export function qr(a: Tensor): { Q: Tensor; R: Tensor } {
  const [Q, R] = bindNonEmpty(qrP, [a], {});
  return { Q, R };
}

/**
 * Thin singular value decomposition A = U diag(S) Vh: U (…, m, k), S (…, k) descending and
 * non-negative, Vh (…, k, n), k = min(m, n). Signs: the largest-magnitude entry of each column of
 * U is positive. The gradient includes the terms for U's and V's complements and drops the
 * 1/(σᵢ² − σⱼ²) terms of (numerically) repeated singular values, so losses that do not depend on
 * the basis chosen inside a repeated singular subspace get finite, correct gradients.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { svd } from "@tangent/tangent/linalg";
 * const { S } = svd(tensor([[3, 0], [0, -4]], { dtype: "float64" })); // [4, 3]
 * ```
 */
export function svd(a: Tensor): { U: Tensor; S: Tensor; Vh: Tensor } {
  return svdAs(a, "svd");
}

/** `svd` whose errors (a non-finite entry) name `op`, the public function that factors `a`. */
export function svdAs(a: Tensor, op: string): { U: Tensor; S: Tensor; Vh: Tensor } {
  const [U, S, Vh] = bindNonEmpty(svdP, [a], op === "svd" ? {} : { op });
  return { U, S, Vh };
}

/**
 * Singular values (…, min(m, n)), descending. Gradient: U diag(S̄) Vh.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { svdvals } from "@tangent/tangent/linalg";
 * svdvals(tensor([[1, 0], [0, 2]])); // [2, 1]
 * ```
 */
export function svdvals(a: Tensor): Tensor {
  return svdAs(a, "svdvals").S;
}

/**
 * Eigendecomposition of symmetric matrices, A = V diag(w) Vᵀ: eigenvalues (…, n) ascending and
 * orthonormal eigenvectors as the columns of (…, n, n); the largest-magnitude entry of each
 * eigenvector is positive. Throws a DomainError if A is not symmetric (relative asymmetry above
 * 1e-10 in float64, 1e-4 in float32); the symmetric part is used. The gradient is symmetric and
 * drops the 1/(λⱼ − λᵢ) terms of (numerically) repeated eigenvalues: gaps up to 2·n·ε·max|λ| of the
 * dtype (float32, n = 4: 9.5e-7 relative), the eigenvalues' own rounding. That is exact for losses
 * of the eigenvalues and of whole eigenspaces (projectors); a loss that depends on the basis chosen
 * inside a repeated eigenspace has no gradient there, and on the CPU a warning (once) says when such
 * terms were dropped. A matrix function V f(Λ) Vᵀ loses its f′(λ) term inside a repeated
 * eigenspace (the rule sees V̄, not f): compute those with expm or from the matrix itself.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { eigh } from "@tangent/tangent/linalg";
 * const { eigenvalues } = eigh(tensor([[2, 1], [1, 2]], { dtype: "float64" })); // [1, 3]
 * ```
 */
export function eigh(a: Tensor): { eigenvalues: Tensor; eigenvectors: Tensor } {
  const [eigenvalues, eigenvectors] = bindNonEmpty(eighP, [a], {});
  return { eigenvalues, eigenvectors };
}

/**
 * Cholesky factor L (lower triangular, positive diagonal) with A = L Lᵀ, for symmetric
 * positive-definite A (only its lower triangle is read; the gradient is symmetrized). Throws a
 * DomainError naming the failing column when A is not positive definite.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cholesky } from "@tangent/tangent/linalg";
 * cholesky(tensor([[4, 2], [2, 5]], { dtype: "float64" })); // [[2, 0], [1, 2]]
 * ```
 */
export function cholesky(a: Tensor): Tensor {
  return bindNonEmpty(choleskyP, [a], {})[0];
}

/** Options of {@linkcode solveTriangular}. */
export interface SolveTriangularOptions {
  /** A is lower triangular (only that triangle is read); otherwise upper. */
  lower: boolean;
  /** Solve Aᵀ X = B instead. */
  transpose?: boolean;
  /** Take A's diagonal as ones (it is not read). */
  unitDiagonal?: boolean;
}

/**
 * Solves A X = B (or Aᵀ X = B) for triangular A (…, n, n); B is (…, n, k) or a vector (…, n).
 * Batch axes broadcast. Throws a DomainError when a diagonal entry of A is exactly zero.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { solveTriangular } from "@tangent/tangent/linalg";
 * solveTriangular(tensor([[2, 0], [1, 4]]), tensor([2, 9]), { lower: true }); // [1, 2]
 * ```
 */
export function solveTriangular(a: Tensor, b: Tensor, opts: SolveTriangularOptions): Tensor {
  checkTensor("solveTriangular", b, "the right-hand side");
  if (opts === null || typeof opts !== "object" || typeof opts.lower !== "boolean") {
    throw new ShapeError("solveTriangular: give options { lower: true } or { lower: false } (which triangle A holds)");
  }
  checkOptions(
    "solveTriangular",
    opts,
    optionKeys<SolveTriangularOptions>({ lower: true, transpose: true, unitDiagonal: true }),
    "{ lower: true }",
  );
  matrixShape("solveTriangular", a, true);
  const vector = b.ndim === a.ndim - 1 || b.ndim === 1;
  const b2 = vector ? o.expandDims(b, -1) : b;
  const x = triangularSolveRaw(
    a,
    b2,
    opts.lower,
    opts.transpose ?? false,
    opts.unitDiagonal ?? false,
    "solveTriangular",
  );
  return vector ? o.squeeze(x, -1) : x;
}

/**
 * LU factorization with partial pivoting, packed: `lu` holds L (unit lower, below the diagonal)
 * and U (on and above it) with P A = L U, where (P A)ᵢ = A_{perm[i]}; `sign` = det P = ±1.
 * Differentiable in `lu`. A singular matrix factors without error (U has a zero on its diagonal).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { luFactor } from "@tangent/tangent/linalg";
 * const { lu, perm, sign } = luFactor(tensor([[1, 2], [3, 4]], { dtype: "float64" }));
 * // lu = [[3, 4], [1/3, 2/3]], perm = [1, 0], sign = -1
 * ```
 */
export function luFactor(a: Tensor): { lu: Tensor; perm: Tensor; sign: Tensor } {
  return luFactorAs(a, "lu");
}

/** `luFactor` whose errors (a non-finite entry) name `op`, the public function that factors `a`. */
export function luFactorAs(a: Tensor, op: string): { lu: Tensor; perm: Tensor; sign: Tensor } {
  const [lu, perm, sign] = bindNonEmpty(luP, [a], op === "lu" ? {} : { op });
  return { lu, perm, sign };
}

/**
 * LU factorization with partial pivoting as three matrices, A = P L U (P a permutation matrix,
 * L unit lower triangular, U upper triangular), as `torch.linalg.lu` returns them.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { lu } from "@tangent/tangent/linalg";
 * const { P, L, U } = lu(tensor([[1, 2], [3, 4]], { dtype: "float64" }));
 * ```
 */
export function lu(a: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const f = luFactor(a);
  const n = a.shape[a.ndim - 1];
  return {
    P: o.matrixTranspose(permutationMatrix(f.perm, a.dtype)),
    L: o.add(o.tril(f.lu, -1), identityLike(a, n)),
    U: o.triu(f.lu),
  };
}
