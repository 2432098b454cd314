/**
 * SORSA (Cao 2024, arXiv 2409.00055): singular values and orthonormal regularised singular-vector
 * adaptation. W is split by SVD into a trainable principal part `U_p diag(Σ_p) V_pᵀ` and a frozen
 * residual; an orthonormality regulariser keeps U_p and V_p near the Stiefel manifold.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { add, eye, matmulT, mul, norm, reshape, slice, sub } from "../core/ops/mod.ts";
import { svd } from "../core/linalg/mod.ts";
import type { Key } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import {
  baseShape,
  checkAlpha,
  countScalars,
  type Frozen,
  frozenLinear,
  type LinearBase,
  onBaseBackend,
  type PeftAdapter,
  type PeftConfig,
  peftName,
  type PeftNameOptions,
  renameToPeft,
  rowsMatmul,
  rowsMatmulT,
  tangentPeftConfig,
  unflattenRows,
} from "./adapter.ts";

/** SORSA's trainable principal part: W_p = U diag(S) Vᵀ. */
export interface SorsaParams {
  /** Left singular vectors U_p, `[out, r]` (reference code `sorsa_B`). */
  readonly U: Tensor;
  /** Singular values Σ_p, `[r]` (`sorsa_S`). */
  readonly S: Tensor;
  /** Right singular vectors V_p, `[in, r]` (`sorsa_A` is V_pᵀ). */
  readonly V: Tensor;
}

/** Options of `sorsa`. */
export interface SorsaOptions {
  /** Rank r of the principal part. */
  r: number;
  /** γ, the regulariser's weight (default 0; the package README uses 4e-4). */
  gamma?: number;
  /**
   * η_d, the peak learning rate (default 1). `regularizer` returns `(γ/η_d)·L_reg`, so plain SGD at
   * rate η_t on `L_train + regularizer` is the paper's update `θ ← θ − η_t(∇L_train + (γ/η_d)∇L_reg)`;
   * with the default it is `γ·L_reg`, the reference training loop's `backward(γ·L_reg)`.
   */
  peakLr?: number;
  /** α in an extra scale s = α/r on the principal part (default: none, s = 1, as in the paper). */
  alpha?: number;
}

// The reference code's names: sorsa_A = V_pᵀ [r, in], sorsa_B = U_p [out, r], sorsa_S = Σ_p.
const NAMES = [peftName("A", "sorsa_A", ".weight"), peftName("B", "sorsa_B", ".weight"), peftName("S", "sorsa_S")];

/**
 * `‖UᵀU − I‖_F + ‖VᵀV − I‖_F` (Frobenius norms, not squared, as in the paper).
 * @example
 * ```ts
 * import { eye, ones, zeros } from "@tangent/tangent";
 * import { sorsaOrthonormality } from "@tangent/tangent/adapters";
 * sorsaOrthonormality({ U: eye(4, { m: 2 }), S: ones([2]), V: eye(3, { m: 2 }) }); // 0
 * ```
 */
export function sorsaOrthonormality(p: SorsaParams): Tensor {
  checkTensor("sorsaOrthonormality", p?.U, "p.U");
  checkTensor("sorsaOrthonormality", p?.V, "p.V");
  const dev = (M: Tensor) => {
    const G = matmulT(M, M, true, false);
    return norm(sub(G, eye(G.shape[0], { dtype: G.dtype, like: G })));
  };
  return add(dev(p.U), dev(p.V));
}

/**
 * SORSA: with the thin SVD `W = U diag(σ) Vᵀ`, `U_p = U[:, :r]`, `Σ_p = σ[:r]`, `V_p = V[:, :r]`
 * are trained and `W_res = W − s·U_p diag(Σ_p) V_pᵀ` is frozen;
 * `y = x W_resᵀ + b + s·((x V_p) ⊙ Σ_p) U_pᵀ`, merged `W_res + s·U_p diag(Σ_p) V_pᵀ` (equal to W at
 * init). Regulariser `(γ/η_d)(‖U_pᵀU_p − I‖_F + ‖V_pᵀV_p − I‖_F)` (see `SorsaOptions.peakLr`).
 * Caveat (as in the paper's code): the Frobenius norm is not differentiable at 0, and at init
 * `U_pᵀU_p − I` is rounding noise, so the regulariser's first gradients are unit-scale noise
 * directions scaled by γ/η_d. Parameters: r(out + in + 1).
 *
 * `peftConfig()`: `peft_type: "SORSA"` (PEFT 0.21 has none; `fromPeft` loads it) with `r`, `alpha`
 * (r when unset: the same scale 1), `gamma`, `peak_lr`; tensors `sorsa_A` = V_pᵀ, `sorsa_B` = U_p,
 * `sorsa_S` = Σ_p. The frozen residual is not saved: `fromPeft` recomputes it from the original
 * base weight by the same SVD as `init` (bit for bit), or takes `base.weight` as the residual
 * with `baseIsResidual`.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { sorsa } from "@tangent/tangent/adapters";
 * const ad = sorsa({ r: 4, gamma: 4e-4, peakLr: 3e-5 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16], { dtype: "float64" }) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16], { dtype: "float64" })); // = x Wᵀ at init
 * ```
 */
export function sorsa(opts: SorsaOptions): PeftAdapter<SorsaParams, Frozen> {
  requireOptions(
    "sorsa",
    opts,
    "{ r: 8 }",
    optionKeys<SorsaOptions>({ r: true, gamma: true, peakLr: true, alpha: true }),
  );
  checkAlpha("sorsa", opts?.alpha);
  const r = opts.r, s = opts.alpha === undefined ? 1 : opts.alpha / r;
  const weight = (opts.gamma ?? 0) / (opts.peakLr ?? 1);
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`sorsa: r must be a positive integer, got ${r}`);
  // s·U diag(S) Vᵀ
  const principal = (p: SorsaParams) => mul(matmulT(mul(p.U, p.S), p.V, false, true), s);
  return {
    kind: "sorsa",
    identityAtInit: true,
    init(_key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("sorsa", base);
        if (r > Math.min(out, inF)) {
          throw new ShapeError(`sorsa: r = ${r} exceeds min(out, in) = ${Math.min(out, inF)}`);
        }
        const { U, S, Vh } = svd(base.weight);
        const params = {
          U: slice(U, [null, [0, r]]),
          S: slice(S, [[0, r]]),
          V: slice(Vh, [[0, r], null]).mT,
        };
        return { params, frozen: { weight: sub(base.weight, principal(params)), bias: base.bias } };
      });
    },
    apply(p: SorsaParams, f: Frozen, x: Tensor): Tensor {
      // y = x W_resᵀ + b + s·((x V) ⊙ S) Uᵀ
      const low = mul(rowsMatmulT(mul(rowsMatmul(x, p.V), p.S), p.U), s);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge: (p: SorsaParams, f: Frozen): Tensor => f.weight.add(principal(p)),
    unmerge: (p: SorsaParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, principal(p)),
    regularizer: (p: SorsaParams): Tensor => mul(sorsaOrthonormality(p), weight),
    trainableCount: (p: SorsaParams): number => countScalars(p),
    toPeft: (t: SorsaParams, o?: PeftNameOptions) =>
      renameToPeft(NAMES, { A: t.V.mT, B: t.U, S: reshape(t.S, [-1]) }, o),
    peftConfig: (): PeftConfig =>
      tangentPeftConfig("SORSA", { r, alpha: opts.alpha ?? r, gamma: opts.gamma ?? 0, peak_lr: opts.peakLr ?? 1 }),
  };
}
