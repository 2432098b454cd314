import assert from "node:assert/strict";
import { checkGrad, eye, linalg, matmul, mul, norm, sum, type Tensor, tensor } from "../mod.ts";

// An orthogonal matrix has all singular values equal to 1: the SVD's own gradient must drop its
// 1/(σᵢ² − σⱼ²) terms there, the polar factor's rule (terms 1/(σᵢ + σⱼ)) need not.
const q = tensor([[0.6, -0.8, 0], [0.8, 0.6, 0], [0, 0, 1]], { dtype: "float64" });
const g = tensor([[0.3, -1.2, 0.5], [0.7, 0.1, -0.4], [-0.9, 0.2, 1.1]], { dtype: "float64" });

Deno.test("polar: U and P reconstruct the input, P symmetric", () => {
  const a = tensor([[2, 1], [0, 3], [1, -1]], { dtype: "float64" });
  const { U, P } = linalg.polar(a);
  assert.ok(norm(matmul(U, P).sub(a)).item() < 1e-13);
  assert.ok(norm(P.sub(P.mT)).item() < 1e-15);
});

Deno.test("polar: gradient of the polar factor is exact where singular values repeat", () => {
  checkGrad((a: Tensor) => sum(mul(linalg.polar(a).U, g)), [q]);
  checkGrad((a: Tensor) => sum(mul(linalg.polar(a).P, g)), [q.mul(2)]);
});

Deno.test("polar: tall input, gradient through both factors", () => {
  const a = tensor([[1, 2], [3, -1], [0.5, 0.25], [2, 2]], { dtype: "float64" });
  const w = tensor([[1, -2], [0.5, 3]], { dtype: "float64" });
  checkGrad((x: Tensor) => sum(mul(linalg.polar(x).P, w)).add(sum(linalg.polar(x).U)), [a]);
});

Deno.test("unitTriangularInverse: matmul-only inverse equals back substitution", () => {
  for (const r of [1, 2, 3, 5, 8, 13]) {
    const n = linalg.qr(tensor(
      Array.from({ length: r * r }, (_, i) => Math.sin(i + 1)),
      { shape: [r, r], dtype: "float64" },
    )).R;
    for (const lower of [false, true]) {
      const t = lower ? n.mT : n;
      const inv = linalg.unitTriangularInverse(t, { lower });
      const ref = linalg.solveTriangular(t, eye(r, { dtype: "float64" }), { lower, unitDiagonal: true });
      assert.ok(norm(inv.sub(ref)).item() < 1e-12 * Math.max(1, norm(ref).item()), `r=${r} lower=${lower}`);
    }
  }
  checkGrad((a: Tensor) => sum(mul(linalg.unitTriangularInverse(a, { lower: false }), g)), [q]);
});
