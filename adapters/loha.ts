/**
 * LoHa (Hyeon-Woo et al. 2022, FedPara; LyCORIS): ΔW = s·(W₁ₐW₁ᵦ) ⊙ (W₂ₐW₂ᵦ), the Hadamard product
 * of two rank-r products, so rank(ΔW) ≤ r² with 2r(in + out) parameters.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { matmul, mul, reshape, sub, zeros } from "../core/ops/mod.ts";
import { split } from "../core/random.ts";
import type { Key } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import {
  baseShape,
  checkAlpha,
  countScalars,
  floatDType,
  type Frozen,
  frozenLinear,
  kaimingUniform,
  linear,
  type LinearBase,
  onBaseBackend,
  type PeftAdapter,
  type PeftConfig,
  peftName,
  type PeftNameOptions,
  renameToPeft,
  rowsMatmulT,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";

/** LoHa's four factors. */
export interface LohaParams {
  /** `[out, r]` (PEFT `hada_w1_a`). */
  readonly w1a: Tensor;
  /** `[r, in]` (PEFT `hada_w1_b`). */
  readonly w1b: Tensor;
  /** `[out, r]` (PEFT `hada_w2_a`). */
  readonly w2a: Tensor;
  /** `[r, in]` (PEFT `hada_w2_b`). */
  readonly w2b: Tensor;
}

/** Options of `loha`. */
export interface LohaOptions {
  /** Rank r of each factor product. */
  r: number;
  /** α in the scale s = α/r (default r). */
  alpha?: number;
}

const NAMES = [
  peftName("w1a", "hada_w1_a"),
  peftName("w1b", "hada_w1_b"),
  peftName("w2a", "hada_w2_a"),
  peftName("w2b", "hada_w2_b"),
];

/**
 * The face-splitting factors of a Hadamard product of two products:
 * `(A₁B₁) ⊙ (A₂B₂) = C D` with `C[:, j·r + k] = A₁[:, j] ⊙ A₂[:, k]` (`[out, r₁r₂]`) and
 * `D[j·r + k, :] = B₁[j, :] ⊙ B₂[k, :]` (`[r₁r₂, in]`).
 * @example
 * ```ts
 * import { key, matmul, mul, normal } from "@tangent/tangent";
 * import { hadamardFactors } from "@tangent/tangent/adapters";
 * const [a1, b1, a2, b2] = [[4, 2], [2, 5], [4, 2], [2, 5]].map((s, i) => normal(key(i), s));
 * const [C, D] = hadamardFactors(a1, b1, a2, b2); // C D = (a1 b1) ⊙ (a2 b2), C [4, 4], D [4, 5]
 * ```
 */
export function hadamardFactors(a1: Tensor, b1: Tensor, a2: Tensor, b2: Tensor): [Tensor, Tensor] {
  [a1, b1, a2, b2].forEach((t, i) => checkTensor("hadamardFactors", t, ["a1", "b1", "a2", "b2"][i]));
  const [out, r1] = a1.shape, r2 = a2.shape[1], inF = b1.shape[1];
  const C = reshape(mul(reshape(a1, [out, r1, 1]), reshape(a2, [out, 1, r2])), [out, r1 * r2]);
  const D = reshape(mul(reshape(b1, [r1, 1, inF]), reshape(b2, [1, r2, inF])), [r1 * r2, inF]);
  return [C, D];
}

/**
 * LoHa: `ΔW = s·(W₁ₐW₁ᵦ) ⊙ (W₂ₐW₂ᵦ)`, s = α/r, `y = x Wᵀ + b + x ΔWᵀ`. The forward uses
 * `x ΔWᵀ = s·(x Dᵀ) Cᵀ` with the r²-column face-splitting factors (`hadamardFactors`) while
 * r²(in + out) < in·out, which keeps the backward pass free of an out × in weight gradient;
 * beyond that it forms ΔW. Init (PEFT): W₁ₐ, W₁ᵦ, W₂ₐ kaiming-uniform, W₂ᵦ = 0. Parameters:
 * 2r(in + out). `peftConfig()`: PEFT's LoHa config (`r`, `alpha`, `init_weights`).
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { loha } from "@tangent/tangent/adapters";
 * const ad = loha({ r: 4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function loha(opts: LohaOptions): PeftAdapter<LohaParams, Frozen> {
  requireOptions("loha", opts, "{ r: 8 }", optionKeys<LohaOptions>({ r: true, alpha: true }));
  checkAlpha("loha", opts?.alpha);
  const r = opts.r, s = (opts.alpha ?? r) / r;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`loha: r must be a positive integer, got ${r}`);
  const delta = (p: LohaParams) => mul(mul(matmul(p.w1a, p.w1b), matmul(p.w2a, p.w2b)), s);
  return {
    kind: "loha",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("loha", base);
        const dtype = floatDType(base);
        const [k1, k2, k3] = split(key, 3);
        const params = {
          w1a: kaimingUniform(k1, [out, r], dtype),
          w1b: kaimingUniform(k2, [r, inF], dtype),
          w2a: kaimingUniform(k3, [out, r], dtype),
          w2b: zeros([r, inF], { dtype }),
        };
        return { params, frozen: { weight: base.weight, bias: base.bias } };
      });
    },
    apply(p: LohaParams, f: Frozen, x: Tensor): Tensor {
      const [out, inF] = f.weight.shape;
      const rr = p.w1a.shape[1] * p.w2a.shape[1];
      if (rr * (inF + out) >= inF * out) return linear(x, f.weight.add(delta(p)), f.bias);
      // x ΔWᵀ = s·(x Dᵀ) Cᵀ
      const [C, D] = hadamardFactors(p.w1a, p.w1b, p.w2a, p.w2b);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, mul(rowsMatmulT(rowsMatmulT(x, D), C), s)));
    },
    merge: (p: LohaParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: LohaParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: LohaParams): Tensor => zeroLike(p),
    trainableCount: (p: LohaParams): number => countScalars(p),
    toPeft: (t: LohaParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: (): PeftConfig => ({ peft_type: "LOHA", r, alpha: opts.alpha ?? r, init_weights: true }),
  };
}
