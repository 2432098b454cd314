/**
 * LoKH, low-rank Khatri–Rao adaptation, after Jun Lu's survey "Low-Rank Approximation, Adaptation,
 * and Other Tales" (arXiv 2408.05883), which names LoKH beside LoRA, LoHA and LoKr. The survey's
 * own LoKH section could not be retrieved, so the definition here is a reconstruction by analogy
 * with its LoHA (Hadamard of two low-rank products) and LoKr (Kronecker), with the Khatri–Rao
 * (column-wise Kronecker) product `(P ⊙ Q)[:, j] = P[:, j] ⊗ Q[:, j]` in place of theirs:
 *
 * ```
 * ΔW = s · (B₁A₁) ⊙ (B₂A₂),   out = m₁·m₂,  B₁ [m₁, r], A₁ [r, in], B₂ [m₂, r], A₂ [r, in]
 * ```
 *
 * Column j of ΔW is `(B₁a₁ⱼ) ⊗ (B₂a₂ⱼ) = (B₁ ⊗ B₂)(a₁ⱼ ⊗ a₂ⱼ)`, so `ΔW = s·(B₁ ⊗ B₂)(A₁ ⊙ A₂)`:
 * rank ≤ min(r², out, in) — LoHa's bound, above LoRA's r — with r(m₁ + m₂ + 2·in) parameters, close
 * to LoRA's r(out + in) because m₁ + m₂ ≈ 2√out ≪ out, and half of LoHa's 2r(out + in). That
 * trade (LoHa's rank ceiling at about LoRA's parameter count) is why these shapes were chosen;
 * m₁ ≤ m₂ come from LoKr's `factorization(out)` (nearest √out).
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { matmul, mul, reshape, sub, zeros } from "../core/ops/mod.ts";
import { split } from "../core/random.ts";
import type { Key } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import {
  type Adapter,
  baseShape,
  countScalars,
  floatDType,
  type Frozen,
  frozenLinear,
  kaimingUniform,
  type LinearBase,
  type PeftConfig,
  peftName,
  type PeftNameOptions,
  renameToPeft,
  rowsMatmulT,
  tangentPeftConfig,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";
import { factorization, kronApply } from "./lokr.ts";

/** LoKH's factors: ΔW = s·(B₁A₁) ⊙ (B₂A₂). */
export interface LokhParams {
  /** `[m₁, r]`. */
  readonly B1: Tensor;
  /** `[r, in]`. */
  readonly A1: Tensor;
  /** `[m₂, r]` (zero at init). */
  readonly B2: Tensor;
  /** `[r, in]`. */
  readonly A2: Tensor;
}

/** Options of `lokh`. */
export interface LokhOptions {
  /** Rank r of each factor product (rank(ΔW) ≤ r²). */
  r: number;
  /** α in the scale s = α/r (default r). */
  alpha?: number;
  /** Split of `out` as m₁·m₂ (default LoKr's `factorization(out)`). */
  outFactors?: [number, number];
}

// No PEFT version: Tangent's own names, in PEFT's style.
const NAMES = [
  peftName("B1", "lokh_B1"),
  peftName("A1", "lokh_A1"),
  peftName("B2", "lokh_B2"),
  peftName("A2", "lokh_A2"),
];

/**
 * The Khatri–Rao (column-wise Kronecker) product: `(P ⊙ Q)[a·m₂ + b, j] = P[a, j]·Q[b, j]`.
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { khatriRao } from "./mod.ts";
 * khatriRao(tensor([[1, 2]]), tensor([[3, 4], [5, 6]])); // [[3, 8], [5, 12]]
 * ```
 */
export function khatriRao(p: Tensor, q: Tensor): Tensor {
  const [m1, n] = p.shape, m2 = q.shape[0];
  if (q.shape[1] !== n) throw new ShapeError(`khatriRao: column counts differ: [${p.shape}] and [${q.shape}]`);
  return reshape(mul(reshape(p, [m1, 1, n]), reshape(q, [1, m2, n])), [m1 * m2, n]);
}

/**
 * LoKH: `y = x Wᵀ + b + s·x ΔWᵀ` with `ΔW = (B₁A₁) ⊙ (B₂A₂)` (see the module doc for the shapes and
 * why). The forward never forms ΔW: `x (A₁ ⊙ A₂)ᵀ` is `Z[n, j, k] = Σᵢ x[n, i] A₁[j, i] A₂[k, i]`
 * (O(batch·r²·in)), then `(B₁ ⊗ B₂)` acts on Z as LoKr's `kronApply` does. Init: B₁, A₁, A₂
 * kaiming-uniform and B₂ = 0, so ΔW = 0 (as LoHa zeroes one factor). Parameters: r(m₁ + m₂ + 2·in).
 * `peftConfig()`: `peft_type: "LOKH"` (PEFT 0.21 has none; `fromPeft` loads it) with `r`, `alpha`
 * and `out_factors` ([m₁, m₂], or null for `factorization(out)`); tensors `lokh_B1`, `lokh_A1`,
 * `lokh_B2`, `lokh_A2`.
 * @example
 * ```ts
 * import { key, normal } from "../mod.ts";
 * import { lokh } from "./mod.ts";
 * const ad = lokh({ r: 2 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function lokh(opts: LokhOptions): Adapter<LokhParams, Frozen> {
  const r = opts.r, s = (opts.alpha ?? r) / r;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`lokh: r must be a positive integer, got ${r}`);
  const delta = (p: LokhParams) => mul(khatriRao(matmul(p.B1, p.A1), matmul(p.B2, p.A2)), s);
  return {
    kind: "lokh",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      const [out, inF] = baseShape("lokh", base);
      const [m1, m2] = opts.outFactors ?? factorization(out);
      if (m1 * m2 !== out) throw new ShapeError(`lokh: outFactors ${m1} × ${m2} ≠ out = ${out}`);
      const dtype = floatDType(base);
      const [k1, k2, k3] = split(key, 3);
      const params = {
        B1: kaimingUniform(k1, [m1, r], dtype),
        A1: kaimingUniform(k2, [r, inF], dtype),
        B2: zeros([m2, r], { dtype }),
        A2: kaimingUniform(k3, [r, inF], dtype),
      };
      return { params, frozen: { weight: base.weight, bias: base.bias } };
    },
    apply(p: LokhParams, f: Frozen, x: Tensor): Tensor {
      // Z = x (A₁ ⊙ A₂)ᵀ with the Khatri–Rao rows (A₁ ⊙ A₂)[j·r + k] = A₁[j] ⊙ A₂[k] ([r², in], one GEMM)
      const [r1, inF] = p.A1.shape, r2 = p.A2.shape[0];
      const rows = reshape(mul(reshape(p.A1, [r1, 1, inF]), reshape(p.A2, [1, r2, inF])), [r1 * r2, inF]);
      const z = rowsMatmulT(x, rows);
      // y += s·Z (B₁ ⊗ B₂)ᵀ
      const low = mul(kronApply(z, p.B1, p.B2), s);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge: (p: LokhParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: LokhParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: LokhParams): Tensor => zeroLike(p),
    trainableCount: (p: LokhParams): number => countScalars(p),
    toPeft: (t: LokhParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: (): PeftConfig =>
      tangentPeftConfig("LOKH", { r, alpha: opts.alpha ?? r, out_factors: opts.outFactors ?? null }),
  };
}
