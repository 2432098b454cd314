/**
 * The Khatri–Rao decomposition W ≈ P ⊙ Q (column-wise Kronecker product, LoKH's building block):
 * column j of W, read as an m₁ × m₂ matrix, is pⱼ qⱼᵀ, so each column is a best rank-one fit.
 * @module
 */
import { fmtShape, ShapeError } from "../core/errors.ts";
import { mul, reshape, slice, sqrt, transpose } from "../core/ops/mod.ts";
import { svd } from "../core/linalg/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { matrixOf } from "./error.ts";

/**
 * The best `W ≈ P ⊙ Q` with P `[m₁, n]`, Q `[m₂, n]` (`(P ⊙ Q)[a·m₂ + b, j] = P[a, j] Q[b, j]`),
 * one rank-one SVD per column, all as one batch:
 * ```
 * mat(wⱼ) = Σ σₖ uₖ vₖᵀ  (m₁ × m₂),    pⱼ = √σ₁ u₁,    qⱼ = √σ₁ v₁
 * ```
 * Exact for W = P ⊙ Q; otherwise each column gets its Eckart–Young optimum, so the whole is the
 * best Khatri–Rao fit. Differentiable through the SVD.
 * @param W the matrix `[m₁m₂, n]`
 * @param rows the row counts [m₁, m₂] of P and Q
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { khatriRao, khatriRaoDecomposition } from "@tangent/tangent/lowrank";
 * const W = khatriRao(normal(key(0), [3, 5], { dtype: "float64" }), normal(key(1), [4, 5], { dtype: "float64" }));
 * const { P, Q } = khatriRaoDecomposition(W, [3, 4]); // khatriRao(P, Q) equals W to rounding
 * ```
 */
export function khatriRaoDecomposition(W: Tensor, rows: readonly [number, number]): { P: Tensor; Q: Tensor } {
  const [m, n] = matrixOf("khatriRaoDecomposition", W);
  if (!Array.isArray(rows) || rows.length !== 2) {
    throw new ShapeError(
      `khatriRaoDecomposition: rows must be a pair [m1, m2] with m1·m2 = ${m}, got ${
        JSON.stringify(rows) ?? String(rows)
      }`,
    );
  }
  const [m1, m2] = rows;
  if (!(Number.isInteger(m1) && Number.isInteger(m2) && m1 >= 1 && m2 >= 1) || m1 * m2 !== m) {
    throw new ShapeError(
      `khatriRaoDecomposition: rows ${fmtShape(rows)} must multiply to W's ${m} rows (W is [${m}, ${n}])`,
    );
  }
  const cols = reshape(transpose(W), [n, m1, m2]); // mat(wⱼ) for every j
  const { U, S, Vh } = svd(cols);
  const root = sqrt(slice(S, [null, [0, 1]])); // [n, 1]
  const P = mul(reshape(slice(U, [null, null, [0, 1]]), [n, m1]), root);
  const Q = mul(reshape(slice(Vh, [null, [0, 1], null]), [n, m2]), root);
  return { P: transpose(P), Q: transpose(Q) };
}
