/**
 * Matrix functions composed from the factorizations: `polar`, `cayley`, `unitTriangularInverse`,
 * `newtonSchulz` and `matrixNorm`.
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { customVjp } from "../custom_vjp.ts";
import * as o from "../ops/mod.ts";
import type { Tensor } from "../tensor.ts";
import { EPS, guardedReciprocal, identityLike, matrixShape } from "./helpers.ts";
import { svdAs } from "./decompositions.ts";
import { solveAs } from "./solve.ts";

/**
 * Polar decomposition A = U P through the SVD: U = U_svd Vh has orthonormal columns (rows when
 * m < n) and P = Vhᵀ diag(S) Vh (…, n, n) is symmetric positive semi-definite. The gradient is exact
 * for A of full column rank, also where singular values repeat; at a rank-deficient A (where U is
 * not unique) it is the gradient of the full-rank part: finite, the null-space terms dropped.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { polar } from "@tangent/tangent/linalg";
 * const { U, P } = polar(tensor([[2, 0], [0, -3]], { dtype: "float64" })); // U = diag(1, −1), P = diag(2, 3)
 * ```
 */
export function polar(a: Tensor): { U: Tensor; P: Tensor } {
  const { m, n } = matrixShape("polar", a, false);
  if (m < n) {
    throw new ShapeError(`polar: needs a tall or square matrix (m ≥ n), got ${fmtShape(a.shape)}; polar-decompose aᵀ`);
  }
  const U = polarFactor(a);
  const P = o.matmulT(U, a, true, false); // P = UᵀA = V S Vᵀ, symmetrised against rounding
  return { U, P: o.mul(o.add(P, o.matrixTranspose(P)), 0.5) };
}

/**
 * The orthogonal polar factor Q = U Vᵀ with its own gradient, which stays finite and exact when
 * singular values repeat (the SVD's own rule must drop those terms):
 * Ā = U (F ∘ (K − Kᵀ)) Vᵀ + (I − UUᵀ) Ḡ V S⁻¹ Vᵀ, with K = UᵀḠV and Fᵢⱼ = 1/(sᵢ + sⱼ).
 * At a rank-deficient A, Q is not unique and has no derivative along the null space: the terms with
 * sᵢ + sⱼ or sᵢ at rounding level (≤ ε·max(m, n)·s₁) are dropped, so the gradient is the one of the
 * full-rank part, finite instead of NaN.
 */
const polarFactor = customVjp(
  (a: Tensor): Tensor => {
    const { U, Vh } = svdAs(a, "polar");
    return o.matmul(U, Vh);
  },
  (g: Tensor, _q: Tensor, a: Tensor): Tensor[] => {
    const { U, S, Vh } = svdAs(a, "polar");
    const k = o.matmulT(o.matmulT(U, g, true, false), Vh, false, true);
    const tol = o.mul(o.max(S, { axis: -1, keepdims: true }), EPS[a.dtype] * Math.max(...a.shape.slice(-2)));
    const f = guardedReciprocal(o.add(o.expandDims(S, -1), o.expandDims(S, -2)), o.expandDims(tol, -1));
    const inRange = o.matmul(o.matmul(U, o.mul(f, o.sub(k, o.matrixTranspose(k)))), Vh);
    const off = o.sub(g, o.matmul(U, o.matmulT(U, g, true, false)));
    return [
      o.add(inRange, o.matmul(o.matmulT(off, Vh, false, true), o.mul(Vh, o.expandDims(guardedReciprocal(S, tol), -1)))),
    ];
  },
  "polar",
);

/**
 * Cayley transform (I − S)(I + S)⁻¹, orthogonal for skew-symmetric S (computed as
 * solve(I + S, I − S): the two factors commute).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cayley } from "@tangent/tangent/linalg";
 * cayley(tensor([[0, 1], [-1, 0]], { dtype: "float64" })); // [[0, -1], [1, 0]]
 * ```
 */
export function cayley(s: Tensor): Tensor {
  const { n } = matrixShape("cayley", s, true);
  const id = identityLike(s, n);
  return solveAs("cayley", o.add(id, s), o.sub(id, s));
}

/**
 * Inverse of the unit triangular matrix I + N (N strictly triangular, the only part of `n` read),
 * with matrix products only, so it runs and differentiates on any backend: N is nilpotent, so
 * (I + N)⁻¹ = Σₖ (−N)ᵏ = (I − N)(I + N²)(I + N⁴)⋯ exactly after ⌈log₂ r⌉ factors. The same
 * numbers as back substitution up to rounding; use `solveTriangular` for large, badly conditioned
 * triangles.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { unitTriangularInverse } from "@tangent/tangent/linalg";
 * unitTriangularInverse(tensor([[0, 2], [0, 0]], { dtype: "float64" }), { lower: false }); // [[1, -2], [0, 1]]
 * ```
 */
export function unitTriangularInverse(n: Tensor, opts: { lower: boolean }): Tensor {
  const { n: r } = matrixShape("unitTriangularInverse", n, true);
  const id = identityLike(n, r);
  let p = opts.lower ? o.tril(n, -1) : o.triu(n, 1); // strict triangle
  let inv = o.sub(id, p);
  for (let span = 2; span < r; span *= 2) {
    p = o.matmul(p, p); // N^{span}
    inv = o.matmul(inv, o.add(id, p));
  }
  return inv;
}

/** Options of {@linkcode newtonSchulz}. */
export interface NewtonSchulzOptions {
  /** Number of iterations (default 5). */
  steps?: number;
  /**
   * Polynomial X ← aX + b(XXᵀ)X + c(XXᵀ)²X: `"cubic"` (default, (1.5, −0.5, 0): converges to the
   * polar factor), `"muon"` ((3.4445, −4.7750, 2.0315): fast, approximately orthogonal), or explicit.
   */
  coefficients?: "cubic" | "muon" | readonly [number, number, number];
}

/**
 * Newton–Schulz iteration towards the orthogonal polar factor of A (…, m, n): X₀ = A/‖A‖_F, then
 * `steps` times X ← aX + b(XXᵀ)X + c(XXᵀ)²X, using the smaller Gram matrix (XᵀX on the right when
 * m ≥ n). Only matmuls, so it is differentiable and runs on every backend.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { newtonSchulz } from "@tangent/tangent/linalg";
 * newtonSchulz(tensor([[2, 0], [0, 1]], { dtype: "float64" }), { steps: 20 }); // ≈ identity
 * ```
 */
export function newtonSchulz(a: Tensor, opts: NewtonSchulzOptions = {}): Tensor {
  checkOptions(
    "newtonSchulz",
    opts,
    optionKeys<NewtonSchulzOptions>({ steps: true, coefficients: true }),
    "{ steps: 5 }",
  );
  const { m, n } = matrixShape("newtonSchulz", a);
  const steps = opts.steps ?? 5;
  const c = opts.coefficients ?? "cubic";
  const [ca, cb, cc] = c === "cubic" ? [1.5, -0.5, 0] : c === "muon" ? [3.4445, -4.775, 2.0315] : c;
  const fro = o.sqrt(o.sum(o.square(a), { axis: [-2, -1], keepdims: true }));
  let x = o.div(a, o.add(fro, EPS[a.dtype]));
  const tall = m >= n;
  for (let i = 0; i < steps; i++) {
    // tall: X (aI + bG + cG²) with G = XᵀX; wide: (aI + bG + cG²) X with G = XXᵀ
    const g = tall ? o.matmulT(x, x, true, false) : o.matmulT(x, x, false, true);
    const k = tall ? n : m;
    let poly = o.add(o.mul(identityLike(a, k), ca), o.mul(g, cb));
    if (cc !== 0) poly = o.add(poly, o.mul(o.matmul(g, g), cc));
    x = tall ? o.matmul(x, poly) : o.matmul(poly, x);
  }
  return x;
}

/**
 * Matrix norms over the last two axes: `"fro"` (default), `"nuc"` (sum of singular values), `2`
 * (largest singular value), `-2` (smallest), `1` / `-1` (max / min column sum of |a|), `Infinity`
 * / `-Infinity` (max / min row sum).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { matrixNorm } from "@tangent/tangent/linalg";
 * matrixNorm(tensor([[3, 0], [0, 4]]), 2); // 4
 * ```
 */
export function matrixNorm(a: Tensor, ord: "fro" | "nuc" | number = "fro"): Tensor {
  const { m, n, batch } = matrixShape("matrixNorm", a);
  // an empty matrix has no column sums (±1), row sums (±∞) or singular values (±2): the largest of
  // none is 0, as NumPy and PyTorch give (norms are ≥ 0); the smallest of none is undefined
  const count = ord === 1 || ord === -1 ? n : ord === Infinity || ord === -Infinity ? m : Math.min(m, n);
  if (count === 0 && (ord === 1 || ord === 2 || ord === Infinity)) return o.zeros(batch, { dtype: a.dtype, like: a });
  if (count === 0 && (ord === -1 || ord === -2 || ord === -Infinity)) {
    throw new ShapeError(
      `matrixNorm: ord ${ord} of the empty matrix ${fmtShape(a.shape)} is the smallest of no ` +
        `${ord === -1 ? "column sums" : ord === -2 ? "singular values" : "row sums"}, which is undefined; ` +
        `use ord ${-ord}, "fro" or "nuc" (0 there)`,
    );
  }
  switch (ord) {
    case "fro":
      return o.norm(a, { axis: [-2, -1] });
    case "nuc":
      return o.sum(svdAs(a, "matrixNorm").S, { axis: -1 });
    case 2:
      return o.max(svdAs(a, "matrixNorm").S, { axis: -1 });
    case -2:
      return o.min(svdAs(a, "matrixNorm").S, { axis: -1 });
    case 1:
      return o.max(o.sum(o.abs(a), { axis: -2 }), { axis: -1 });
    case -1:
      return o.min(o.sum(o.abs(a), { axis: -2 }), { axis: -1 });
    case Infinity:
      return o.max(o.sum(o.abs(a), { axis: -1 }), { axis: -1 });
    case -Infinity:
      return o.min(o.sum(o.abs(a), { axis: -1 }), { axis: -1 });
    default:
      throw new ShapeError(
        `matrixNorm: ord must be "fro", "nuc", ±1, ±2 or ±Infinity, got ${ord} (shape ${fmtShape(a.shape)})`,
      );
  }
}
