/**
 * The nearest Kronecker product (Van Loan & Pitsianis 1993): rearranging W so that each block
 * becomes a row turns `min ‖W − A ⊗ B‖_F` into a best rank-one approximation, solved by the SVD;
 * the top r singular triplets give the best sum of r Kronecker products.
 * @module
 */
import { fmtShape, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { mul, reshape, slice, sqrt, transpose } from "../core/ops/mod.ts";
import { svd } from "../core/linalg/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { matrixOf } from "./error.ts";

/**
 * The Van Loan–Pitsianis rearrangement ℛ(W) `[m₁n₁, m₂n₂]` of W `[m₁m₂, n₁n₂]`: row (i₁, j₁) is
 * block W[i₁m₂ : (i₁+1)m₂, j₁n₂ : (j₁+1)n₂] read row by row, so that
 * `ℛ(A ⊗ B) = vec(A) vec(B)ᵀ` (vec row-major) and `‖W − A ⊗ B‖_F = ‖ℛ(W) − vec(A)vec(B)ᵀ‖_F`.
 * @param W the matrix `[m₁m₂, n₁n₂]`
 * @param a the shape [m₁, n₁] of the left factor
 * @param b the shape [m₂, n₂] of the right factor
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { kron, rearrange } from "@tangent/tangent/lowrank";
 * const A = tensor([[1, 2]]), B = tensor([[1], [3]]);
 * rearrange(kron(A, B), [1, 2], [2, 1]); // [[1, 3], [2, 6]] = vec(A) vec(B)ᵀ
 * ```
 */
export function rearrange(W: Tensor, a: readonly [number, number], b: readonly [number, number]): Tensor {
  const [m, n] = matrixOf("rearrange", W);
  for (const [name, f] of [["a", a], ["b", b]] as const) {
    if (!Array.isArray(f) || f.length !== 2) {
      throw new ShapeError(`rearrange: the factor shape ${name} must be a pair [rows, columns], got ${String(f)}`);
    }
  }
  const [m1, n1] = a, [m2, n2] = b;
  if (m1 * m2 !== m || n1 * n2 !== n) {
    throw new ShapeError(
      `rearrange: factor shapes ${fmtShape(a)} ⊗ ${fmtShape(b)} give [${m1 * m2}, ${
        n1 * n2
      }], but W is [${m}, ${n}]; choose m₁m₂ = ${m} and n₁n₂ = ${n}`,
    );
  }
  // W[(i₁, i₂), (j₁, j₂)] → ℛ[(i₁, j₁), (i₂, j₂)]
  return reshape(transpose(reshape(W, [m1, m2, n1, n2]), [0, 2, 1, 3]), [m1 * n1, m2 * n2]);
}

/** Options of `kroneckerDecomposition`. */
export interface KroneckerOptions {
  /** The shape [m₁, n₁] of each left factor. */
  a: readonly [number, number];
  /** The shape [m₂, n₂] of each right factor. */
  b: readonly [number, number];
  /** The number r of Kronecker terms (default 1). */
  rank?: number;
}

/**
 * The best approximation of W by a sum of r Kronecker products, `W ≈ Σₖ Aₖ ⊗ Bₖ`:
 * ```
 * ℛ(W) = Σ σₖ uₖ vₖᵀ (SVD),    vec(Aₖ) = √σₖ uₖ,    vec(Bₖ) = √σₖ vₖ
 * ```
 * (Eckart–Young on ℛ(W); exact for W = Σ of r Kronecker products). Returns A `[r, m₁, n₁]` and
 * B `[r, m₂, n₂]`. Differentiable through the SVD (where σ_r > σ_{r+1}).
 * @param W the matrix `[m₁m₂, n₁n₂]`
 * @param opts the factor shapes and the number of terms
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { kroneckerDecomposition } from "@tangent/tangent/lowrank";
 * const W = normal(key(0), [6, 8], { dtype: "float64" });
 * const { A, B } = kroneckerDecomposition(W, { a: [2, 2], b: [3, 4], rank: 2 }); // [2, 2, 2], [2, 3, 4]
 * ```
 */
export function kroneckerDecomposition(W: Tensor, opts: KroneckerOptions): { A: Tensor; B: Tensor } {
  requireOptions(
    "kroneckerDecomposition",
    opts,
    "{ a: [2, 2], b: [3, 3] }",
    optionKeys<KroneckerOptions>({ a: true, b: true, rank: true }),
  );
  const Rw = rearrange(W, opts.a, opts.b);
  const r = opts.rank ?? 1, k = Math.min(...Rw.shape);
  if (!Number.isInteger(r) || r < 1 || r > k) {
    throw new ShapeError(`kroneckerDecomposition: rank must be an integer in 1…${k} for these factor shapes, got ${r}`);
  }
  const { U, S, Vh } = svd(Rw);
  const root = sqrt(slice(S, [[0, r]])); // [r]
  const A = mul(transpose(slice(U, [null, [0, r]])), reshape(root, [r, 1])); // [r, m₁n₁]
  const B = mul(slice(Vh, [[0, r], null]), reshape(root, [r, 1])); // [r, m₂n₂]
  return { A: reshape(A, [r, ...opts.a]), B: reshape(B, [r, ...opts.b]) };
}

/**
 * The nearest Kronecker product `argmin ‖W − A ⊗ B‖_F` (Van Loan & Pitsianis): the rank-one SVD of
 * the rearranged ℛ(W), `vec(A) = √σ₁ u₁`, `vec(B) = √σ₁ v₁`.
 * @param W the matrix `[m₁m₂, n₁n₂]`
 * @param a the shape [m₁, n₁] of A
 * @param b the shape [m₂, n₂] of B
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { kron, nearestKronecker } from "@tangent/tangent/lowrank";
 * const W = kron(normal(key(0), [2, 3], { dtype: "float64" }), normal(key(1), [4, 2], { dtype: "float64" }));
 * const { A, B } = nearestKronecker(W, [2, 3], [4, 2]); // kron(A, B) equals W to rounding
 * ```
 */
export function nearestKronecker(
  W: Tensor,
  a: readonly [number, number],
  b: readonly [number, number],
): { A: Tensor; B: Tensor } {
  const { A, B } = kroneckerDecomposition(W, { a, b, rank: 1 });
  return { A: reshape(A, [...a]), B: reshape(B, [...b]) };
}
