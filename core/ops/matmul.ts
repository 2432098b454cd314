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

/** Inner product `Σ aᵢbᵢ` over the last axis (vectors give a scalar). */
export function dot(a: Tensor, b: Tensor): Tensor {
  checkTensor("dot", a);
  checkTensor("dot", b);
  return sum(mul(a, b), { axis: -1 });
}
