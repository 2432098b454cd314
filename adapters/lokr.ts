/**
 * LoKr (Yeh et al. 2024, LyCORIS): ΔW = s·(W₁ ⊗ W₂), a Kronecker product of a small outer factor
 * W₁ and an inner factor W₂ (either may itself be a rank-r product).
 * @module
 */
import { fmtShape, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { matmul, mul, reshape, sub, transpose, zeros } from "../core/ops/mod.ts";
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

/**
 * LoKr's factors: W₁ `[outL, inM]` as `w1` or `w1a [outL, r]`·`w1b [r, inM]`; W₂ `[outK, inN]` as
 * `w2` or `w2a [outK, r]`·`w2b [r, inN]` (PEFT `lokr_w1`, `lokr_w1_a`, …).
 */
export interface LokrParams {
  /** Full outer factor `[outL, inM]`. */
  readonly w1?: Tensor;
  /** Low-rank outer factor, left `[outL, r]`. */
  readonly w1a?: Tensor;
  /** Low-rank outer factor, right `[r, inM]`. */
  readonly w1b?: Tensor;
  /** Full inner factor `[outK, inN]`. */
  readonly w2?: Tensor;
  /** Low-rank inner factor, left `[outK, r]`. */
  readonly w2a?: Tensor;
  /** Low-rank inner factor, right `[r, inN]`. */
  readonly w2b?: Tensor;
}

/** Options of `lokr` (PEFT's names in brackets). */
export interface LokrOptions {
  /** Rank r of the factors that are decomposed. */
  r: number;
  /** α in the scale s = α/r (default r). */
  alpha?: number;
  /** Decompose W₁ too when r < max(outL, inM)/2 [`decompose_both`] (default false). */
  decomposeBoth?: boolean;
  /** Factor sizes near this divisor; −1: near √dim [`decompose_factor`] (default −1). */
  decomposeFactor?: number;
  /** "peft": W₁ = 0, the rest kaiming (default); "lycoris": W₂ (or W₂ᵦ) = 0, the rest kaiming. */
  init?: "peft" | "lycoris";
}

const NAMES = [
  peftName("w1", "lokr_w1"),
  peftName("w1a", "lokr_w1_a"),
  peftName("w1b", "lokr_w1_b"),
  peftName("w2", "lokr_w2"),
  peftName("w2a", "lokr_w2_a"),
  peftName("w2b", "lokr_w2_b"),
];

/**
 * LyCORIS's `factorization(dim, factor)`, as PEFT uses it: `(factor, dim/factor)` when factor > 0
 * divides dim; otherwise the divisor pair (m ≤ n) reached by growing m while m + n shrinks and
 * m ≤ factor (factor −1: no bound), which is the pair nearest √dim. 12 → (3, 4), 16 → (4, 4).
 * @example
 * ```ts
 * import { factorization } from "@tangent/tangent/adapters";
 * factorization(12); // [3, 4]
 * factorization(128, 4); // [4, 32]
 * ```
 */
export function factorization(dim: number, factor = -1): [number, number] {
  if (factor > 0 && dim % factor === 0) return [factor, dim / factor];
  const bound = factor === -1 ? dim : factor;
  let m = 1, n = dim;
  while (m < n) {
    let nm = m + 1;
    while (dim % nm !== 0) nm++;
    const nn = dim / nm;
    if (nm + nn > m + n || nm > bound) break;
    [m, n] = [nm, nn];
  }
  return m > n ? [n, m] : [m, n];
}

/** The outer and inner factors W₁, W₂ of a LoKr parameter set. */
export function lokrFactors(p: LokrParams): [Tensor, Tensor] {
  const w1 = p.w1 ?? matmul(p.w1a!, p.w1b!);
  const w2 = p.w2 ?? matmul(p.w2a!, p.w2b!);
  return [w1, w2];
}

/**
 * `A ⊗ B` for matrices: `(A ⊗ B)[i·p + k, j·q + l] = A[i, j]·B[k, l]`.
 * @example
 * ```ts
 * import { eye, tensor } from "@tangent/tangent";
 * import { kron } from "@tangent/tangent/adapters";
 * kron(eye(2), tensor([[1, 2]])); // [[1, 2, 0, 0], [0, 0, 1, 2]]
 * ```
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  checkTensor("kron", a, "a");
  checkTensor("kron", b, "b");
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new ShapeError(
      `kron: needs two matrices, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; reshape them to 2-D`,
    );
  }
  const [m, n] = a.shape, [p, q] = b.shape;
  return reshape(mul(reshape(a, [m, 1, n, 1]), reshape(b, [1, p, 1, q])), [m * p, n * q]);
}

/**
 * `x (W₁ ⊗ W₂)ᵀ` without forming the Kronecker product: with x viewed as `[batch, inM, inN]`,
 * `Y[n, a, b] = Σ_c Σ_d W₁[a, c] W₂[b, d] X[n, c, d]` — two small matrix products.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { kron, kronApply } from "@tangent/tangent/adapters";
 * const [w1, w2, x] = [normal(key(0), [3, 4]), normal(key(1), [4, 4]), normal(key(2), [5, 16])];
 * kronApply(x, w1, w2); // = x kron(w1, w2)ᵀ, [5, 12]
 * ```
 */
export function kronApply(x: Tensor, w1: Tensor, w2: Tensor): Tensor {
  [x, w1, w2].forEach((t, i) => checkTensor("kronApply", t, ["x", "w1", "w2"][i]));
  const [outL, inM] = w1.shape, [outK, inN] = w2.shape;
  const x2 = reshape(x, [-1, inM * inN]);
  const n = x2.shape[0];
  const z = reshape(rowsMatmulT(reshape(x2, [n * inM, inN]), w2), [n, inM, outK]); // X W₂ᵀ
  const zt = reshape(transpose(z, [0, 2, 1]), [n * outK, inM]);
  const y = reshape(rowsMatmulT(zt, w1), [n, outK, outL]); // · W₁ᵀ
  return unflattenRows(x, reshape(transpose(y, [0, 2, 1]), [n, outL * outK]));
}

/**
 * LoKr: `ΔW = s·(W₁ ⊗ W₂)`, s = α/r (applied even when both factors are full, as PEFT does),
 * `y = x Wᵀ + b + x ΔWᵀ` computed with two small products (`kronApply`), never forming ΔW.
 * Shapes (PEFT/LyCORIS): `out = outL·outK`, `in = inM·inN` from `factorization`; W₁ `[outL, inM]`
 * (the outer, slow factor), W₂ `[outK, inN]`, each full or rank r by PEFT's rule
 * (`use_w1 = !(decomposeBoth && r < max(outL, inM)/2)`, `use_w2 = !(r < max(outK, inN)/2)`).
 * Init "peft": W₁ (or W₁ₐ) = 0. Parameters: the factors' sizes. `peftConfig()`: PEFT's LoKr config
 * (`r`, `alpha`, `decompose_both`, `decompose_factor`, `init_weights`: true, or "lycoris" for
 * `init: "lycoris"`).
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { lokr } from "@tangent/tangent/adapters";
 * const ad = lokr({ r: 4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function lokr(opts: LokrOptions): PeftAdapter<LokrParams, Frozen> {
  requireOptions(
    "lokr",
    opts,
    "{ r: 8 }",
    optionKeys<LokrOptions>({ r: true, alpha: true, decomposeBoth: true, decomposeFactor: true, init: true }),
  );
  checkAlpha("lokr", opts?.alpha);
  const r = opts.r, s = (opts.alpha ?? r) / r;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`lokr: r must be a positive integer, got ${r}`);
  const delta = (p: LokrParams) => mul(kron(...lokrFactors(p)), s);
  return {
    kind: "lokr",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("lokr", base);
        const dtype = floatDType(base);
        const [inM, inN] = factorization(inF, opts.decomposeFactor ?? -1);
        const [outL, outK] = factorization(out, opts.decomposeFactor ?? -1);
        const useW1 = !((opts.decomposeBoth ?? false) && r < Math.max(outL, inM) / 2);
        const useW2 = !(r < Math.max(outK, inN) / 2);
        const lycoris = opts.init === "lycoris";
        const [k1, k2, k3, k4] = split(key, 4);
        const kai = (k: Key, shape: number[]) => kaimingUniform(k, shape, dtype);
        const zero = (shape: number[]) => zeros(shape, { dtype });
        const params: Record<string, Tensor> = {};
        if (useW1) params.w1 = lycoris ? kai(k1, [outL, inM]) : zero([outL, inM]);
        else {
          params.w1a = lycoris ? kai(k1, [outL, r]) : zero([outL, r]);
          params.w1b = kai(k2, [r, inM]);
        }
        if (useW2) params.w2 = lycoris ? zero([outK, inN]) : kai(k3, [outK, inN]);
        else {
          params.w2a = kai(k3, [outK, r]);
          params.w2b = lycoris ? zero([r, inN]) : kai(k4, [r, inN]);
        }
        return { params: params as LokrParams, frozen: { weight: base.weight, bias: base.bias } };
      });
    },
    apply(p: LokrParams, f: Frozen, x: Tensor): Tensor {
      // y = x Wᵀ + b + s·x (W₁ ⊗ W₂)ᵀ
      const [w1, w2] = lokrFactors(p);
      return frozenLinear(x, f.weight, f.bias).add(mul(kronApply(x, w1, w2), s));
    },
    merge: (p: LokrParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: LokrParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: LokrParams): Tensor => zeroLike(p),
    trainableCount: (p: LokrParams): number => countScalars(p),
    toPeft: (t: LokrParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: (): PeftConfig => ({
      peft_type: "LOKR",
      r,
      alpha: opts.alpha ?? r,
      decompose_both: opts.decomposeBoth ?? false,
      decompose_factor: opts.decomposeFactor ?? -1,
      init_weights: opts.init === "lycoris" ? "lycoris" : true,
    }),
  };
}
