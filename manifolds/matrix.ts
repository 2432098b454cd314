/**
 * Small matrix helpers shared by the manifolds: symmetric and skew parts, Gram matrices, the
 * Frobenius inner product. Built from core ops, so differentiable and backend-independent.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { eye, matmulT, min, mul, norm, stopGradient, sub, sum } from "../core/ops/mod.ts";
import { polar, svdvals } from "../core/linalg/mod.ts";
import { EPS } from "../core/linalg/helpers.ts";
import { batchElementsSync, checkTensor, type Tensor } from "../core/tensor.ts";

/**
 * `sym(A) = (A + Aᵀ) / 2` over the last two axes.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { sym } from "@tangent/tangent/manifolds";
 * sym(tensor([[0, 2], [0, 0]])); // [[0, 1], [1, 0]]
 * ```
 */
export function sym(a: Tensor): Tensor {
  checkTensor("sym", a);
  return mul(a.add(a.mT), 0.5);
}

/**
 * `skew(A) = (A − Aᵀ) / 2` over the last two axes.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { skew } from "@tangent/tangent/manifolds";
 * skew(tensor([[0, 2], [0, 0]])); // [[0, 1], [-1, 0]]
 * ```
 */
export function skew(a: Tensor): Tensor {
  checkTensor("skew", a);
  return mul(sub(a, a.mT), 0.5);
}

/**
 * `AᵀB` without materialising the transpose.
 * @example
 * ```ts
 * import { ones } from "@tangent/tangent";
 * import { tmm } from "@tangent/tangent/manifolds";
 * tmm(ones([5, 2]), ones([5, 3])); // shape [2, 3]
 * ```
 */
export function tmm(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, true, false);
}

/**
 * `ABᵀ` without materialising the transpose.
 * @example
 * ```ts
 * import { ones } from "@tangent/tangent";
 * import { mmt } from "@tangent/tangent/manifolds";
 * mmt(ones([5, 2]), ones([3, 2])); // shape [5, 3]
 * ```
 */
export function mmt(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, false, true);
}

/**
 * `AB` (2-D or batched).
 * @example
 * ```ts
 * import { ones } from "@tangent/tangent";
 * import { mm } from "@tangent/tangent/manifolds";
 * mm(ones([5, 2]), ones([2, 3])); // shape [5, 3]
 * ```
 */
export function mm(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, false, false);
}

/**
 * The Frobenius inner product `⟨U, V⟩ = Σᵢⱼ UᵢⱼVᵢⱼ` (a scalar tensor).
 * @example
 * ```ts
 * import { ones } from "@tangent/tangent";
 * import { frobInner } from "@tangent/tangent/manifolds";
 * frobInner(ones([2, 2]), ones([2, 2])); // 4
 * ```
 */
export function frobInner(u: Tensor, v: Tensor): Tensor {
  return sum(mul(u, v));
}

/**
 * `‖XᵀX − I‖_F`: how far the columns of X are from orthonormal (a scalar tensor).
 * @example
 * ```ts
 * import { eye } from "@tangent/tangent";
 * import { orthonormalityError } from "@tangent/tangent/manifolds";
 * orthonormalityError(eye(3, { m: 2 })); // 0
 * ```
 */
export function orthonormalityError(x: Tensor): Tensor {
  checkTensor("orthonormalityError", x);
  const p = x.shape[x.ndim - 1];
  return norm(sub(tmm(x, x), eye(p, { dtype: x.dtype, like: x })));
}

/**
 * The p×p identity in `like`'s dtype.
 * @example
 * ```ts
 * import { ones } from "@tangent/tangent";
 * import { eyeOf } from "./matrix.ts";
 * eyeOf(2, ones([1], { dtype: "float64" })); // float64 identity
 * ```
 */
export function eyeOf(p: number, like: Tensor): Tensor {
  return eye(p, { dtype: like.dtype, like: like });
}

/**
 * One Newton–Schulz step towards the orthonormal polar factor, `Y (3I − YᵀY) / 2`: the identity on
 * matrices with orthonormal columns, and it squares a small violation (‖YᵀY − I‖ = δ becomes
 * O(δ²)). The Cayley retractions end with it so that float32 rounding does not accumulate over
 * many steps.
 * @example
 * ```ts
 * import { eye, mul } from "@tangent/tangent";
 * import { newtonSchulzStep, orthonormalityError } from "./matrix.ts";
 * orthonormalityError(newtonSchulzStep(mul(eye(3), 1.001))); // ≈ 5e-6 (from 3.5e-3)
 * ```
 */
export function newtonSchulzStep(y: Tensor): Tensor {
  return sub(mul(y, 1.5), mul(mm(y, tmm(y, y)), 0.5));
}

/**
 * The orthonormal polar factor `Q = U Vh` of a tall or square `a = U diag(S) Vh` (thin SVD): the
 * nearest matrix with orthonormal columns in the Frobenius norm. Its gradient is the polar
 * factor's own, stable where singular values repeat (e.g. at `X + V` on O(n)), unlike the SVD's:
 * with `K = UᵀḠV`, `Fᵢⱼ = 1/(sᵢ + sⱼ)`,
 * `Ā = U (F ∘ (K − Kᵀ)) Vᵀ + (I − UUᵀ) Ḡ V S⁻¹ Vᵀ` (needs full column rank).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { polarFactor } from "./matrix.ts";
 * polarFactor(tensor([[2, 0], [0, -3]], { dtype: "float64" })); // [[1, 0], [0, -1]]
 * ```
 */
export function polarFactor(a: Tensor): Tensor {
  if (a.ndim !== 2 || a.shape[0] < a.shape[1]) {
    throw new ShapeError(`polarFactor: needs a tall or square matrix, got [${a.shape.join(", ")}]`);
  }
  return polar(a).U;
}

/**
 * On the CPU, throws `error(smallest, bound)` when the smallest singular value of `a` (over its
 * batch) is at most √ε of its dtype, or NaN: where a logarithm stops being unique. Other backends
 * cannot read at once and skip the check.
 * @internal
 */
export function checkSmallestSingularValue(a: Tensor, error: (smallest: number, bound: number) => Error): void {
  if (a.backend.name !== "cpu") return;
  const bound = Math.sqrt(EPS[a.dtype]);
  let smallest = Infinity;
  for (const v of batchElementsSync(min(svdvals(stopGradient(a))))) smallest = Math.min(smallest, v);
  if (!(smallest > bound)) throw error(smallest, bound);
}
