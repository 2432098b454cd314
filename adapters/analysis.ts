/**
 * Spectral diagnostics for comparing adapters: stable rank, condition number, orthogonality error,
 * and SORSA's singular-value and singular-vector drift between a base and an adapted weight.
 * All return scalar tensors (read them with `.item()`) and are differentiable where their
 * definitions are.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { checkOptions } from "../core/options.ts";
import { abs, div, eye, matmulT, mean, mul, norm, slice, square, sub, sum } from "../core/ops/mod.ts";
import { svd, svdvals } from "../core/linalg/mod.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";

function matrix(op: string, a: Tensor, what?: string): void {
  checkTensor(op, a, what);
  if (a.ndim !== 2) throw new ShapeError(`${op}: needs a matrix, got shape [${a.shape}]`);
}

/**
 * Stable rank `‖M‖_F² / ‖M‖₂²` (between 1 and rank M; Rudelson & Vershynin 2007), e.g. of
 * `ΔW = merge(p, f) − W`. PoLAR's motivation: LoRA updates drift to stable rank ≈ 1.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { stableRank } from "@tangent/tangent/adapters";
 * stableRank(tensor([[3, 0], [0, 4]], { dtype: "float64" })).item(); // 25/16
 * ```
 */
export function stableRank(m: Tensor): Tensor {
  matrix("stableRank", m);
  const s = svdvals(m);
  return div(sum(square(s)), square(slice(s, [[0, 1]]).reshape([])));
}

/**
 * Condition number `σ_max / σ_min` over the min(m, n) singular values (Infinity when singular).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { conditionNumber } from "@tangent/tangent/adapters";
 * conditionNumber(tensor([[3, 0], [0, 4]], { dtype: "float64" })).item(); // 4/3
 * ```
 */
export function conditionNumber(m: Tensor): Tensor {
  matrix("conditionNumber", m);
  const s = svdvals(m), k = s.shape[0];
  return div(slice(s, [[0, 1]]).reshape([]), slice(s, [[k - 1, k]]).reshape([]));
}

/**
 * `‖QᵀQ − I‖_F` for a tall or square Q (`‖QQᵀ − I‖_F` for a wide one); batched over leading axes
 * (the largest). 0 exactly when Q has orthonormal columns (rows).
 * @example
 * ```ts
 * import { eye } from "@tangent/tangent";
 * import { orthogonalityError } from "@tangent/tangent/adapters";
 * orthogonalityError(eye(3, { dtype: "float64" })).item(); // 0
 * ```
 */
export function orthogonalityError(q: Tensor): Tensor {
  checkTensor("orthogonalityError", q);
  if (q.ndim < 2) throw new ShapeError(`orthogonalityError: needs a matrix, got shape [${q.shape}]`);
  const [m, n] = q.shape.slice(-2);
  const g = m >= n ? matmulT(q, q, true, false) : matmulT(q, q, false, true);
  const e = norm(sub(g, eye(Math.min(m, n), { dtype: q.dtype, like: q })), { axis: [-2, -1] });
  return e.ndim === 0 ? e : e.max();
}

/** SORSA's drift measures between a base weight and an adapted one. */
export interface SpectralDrift {
  /** ΔΣ = mean over the k singular values of |σ_t − σ_0|. */
  deltaSigma: Tensor;
  /** ΔD = 1 − mean over the k singular pairs of (|⟨u_t, u_0⟩| + |⟨v_t, v_0⟩|)/2. */
  deltaD: Tensor;
}

/**
 * SORSA's (Cao 2024, §3.2) singular-value drift ΔΣ and singular-vector drift ΔD between `w0` and
 * `wt` (same shape), over the top `k` singular triplets (default all, min(out, in)); sign
 * conventions cancel in |⟨·,·⟩|. ΔD = 0 when the singular vectors did not move.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { spectralDrift } from "@tangent/tangent/adapters";
 * const w = normal(key(0), [6, 4], { dtype: "float64" });
 * spectralDrift(w, w.mul(2)).deltaD.item(); // 0 (only the singular values moved)
 * ```
 */
export function spectralDrift(w0: Tensor, wt: Tensor, opts: { k?: number } = {}): SpectralDrift {
  checkOptions("spectralDrift", opts, ["k"], "{ k: 4 }");
  matrix("spectralDrift", w0, "w0");
  checkTensor("spectralDrift", wt, "wt");
  if (w0.shape.join() !== wt.shape.join()) {
    throw new ShapeError(`spectralDrift: shapes [${w0.shape}] and [${wt.shape}] differ`);
  }
  const k = opts.k ?? Math.min(...w0.shape);
  const a = svd(w0), b = svd(wt);
  const top = (t: Tensor, axis: 0 | 1) => slice(t, axis === 0 ? [[0, k]] : [null, [0, k]]);
  const deltaSigma = mean(abs(sub(top(b.S, 0), top(a.S, 0))));
  const cu = abs(sum(mul(top(b.U, 1), top(a.U, 1)), { axis: 0 })); // |⟨u_t, u_0⟩| per pair
  const cv = abs(sum(mul(slice(b.Vh, [[0, k], null]), slice(a.Vh, [[0, k], null])), { axis: 1 }));
  const deltaD = sub(1, mean(mul(cu.add(cv), 0.5)));
  return { deltaSigma, deltaD };
}
