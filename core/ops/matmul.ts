/**
 * Matrix products.
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import { bind1 } from "../primitive.ts";
import { halfWithSingle, matmulP } from "../primitives.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import { astype, coerce, mul } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import { expandDims, reshape, squeeze } from "./shape.ts";

/**
 * `op(a) @ op(b)` where op transposes the last two axes when its flag is set; batch axes
 * broadcast. The backends read transposed operands in place (no copy).
 */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  checkTensor("matmul", a);
  checkTensor("matmul", b);
  // float16 · float32 (a frozen float16 weight): widened inside the kernel, float32 accumulation
  if (halfWithSingle(a.dtype, b.dtype)) return bind1(matmulP, [a, b], { transA, transB });
  const [x, y] = coerce("matmul", a, b);
  // bool products count in int32, like bool arithmetic
  if (x.dtype === "bool") return bind1(matmulP, [astype(x, "int32"), astype(y, "int32")], { transA, transB });
  return bind1(matmulP, [x, y], { transA, transB });
}

/**
 * Matrix product with NumPy semantics: batch axes broadcast; a 1-D left operand is a row, a 1-D
 * right operand a column, and the added axis is removed from the result.
 * @example
 * ```ts
 * import { matmul, ones } from "@tangent/tangent";
 * matmul(ones([2, 3]), ones([3, 4])); // shape [2, 4]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor("matmul", a);
  checkTensor("matmul", b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: scalar operand (${fmtShape(a.shape)} @ ${fmtShape(b.shape)}); use mul for scaling`);
  }
  const ka = a.shape[a.ndim - 1], kb = b.shape[b.ndim === 1 ? 0 : b.ndim - 2];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${ka} vs ${kb}); ` +
        `transpose an operand or fix its shape`,
    );
  }
  const a2 = a.ndim === 1 ? expandDims(a, 0) : a;
  const b2 = b.ndim === 1 ? expandDims(b, -1) : b;
  let c = matmulT(a2, b2, false, false);
  if (b.ndim === 1) c = squeeze(c, -1);
  if (a.ndim === 1) c = squeeze(c, c.ndim - (b.ndim === 1 ? 1 : 2));
  return c;
}

/** Outer product of two vectors. */
export function outer(a: Tensor, b: Tensor): Tensor {
  checkTensor("outer", a);
  checkTensor("outer", b);
  return mul(reshape(a, [a.size, 1]), reshape(b, [1, b.size]));
}

/**
 * Inner product `Σ aᵢbᵢ` over the last axis of both, the other axes broadcast (vectors give a
 * scalar; `[n, d]` with `[d]` or `[n, d]` gives `[n]`).
 *
 * Not `jnp.dot` / `np.dot` beyond vectors and matrix·vector: those take two matrices as a matrix
 * product and a vector·matrix over the matrix's first axis, so `jnp.dot(x, w)` is `matmul(x, w)` here.
 * Operands whose shapes do not broadcast are a ShapeError saying so.
 * @example
 * ```ts
 * import { dot, matmul, tensor } from "@tangent/tangent";
 * const a = tensor([[1, 2], [3, 4]]), b = tensor([[1, 0], [0, 1]]);
 * dot(tensor([1, 2]), tensor([3, 4])); // 11
 * dot(a, b); // [1, 4]: row i of a with row i of b
 * matmul(a, b); // [[1, 2], [3, 4]], which is jnp.dot(a, b)
 * ```
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  checkTensor("dot", a);
  checkTensor("dot", b);
  const [sa, sb] = [a.shape, b.shape];
  for (let i = 1; i <= Math.min(sa.length, sb.length); i++) {
    const [m, n] = [sa[sa.length - i], sb[sb.length - i]];
    if (m !== n && m !== 1 && n !== 1) {
      throw new ShapeError(
        `dot: ${fmtShape(sa)} · ${fmtShape(sb)}: dot is the inner product over the last axis of both (other axes ` +
          `broadcast), and axis ${-i} is ${m} against ${n}; for a matrix product (jnp.dot of matrices) use ` +
          `matmul(a, b)`,
      );
    }
  }
  return sum(mul(a, b), { axis: -1 });
}
