/**
 * LoKH, low-rank Khatri–Rao adaptation, after Jun Lu's survey "Low-Rank Approximation, Adaptation,
 * and Other Tales" (arXiv 2408.05883), which names LoKH beside LoRA, LoHA and LoKr. The survey's
 * own LoKH section could not be retrieved; its Figure 4 caption draws LoKH as a *cascade* of
 * Khatri–Rao products with the dimension split as n = n₁n₂⋯n_k. The definition here is a
 * reconstruction from that caption and by analogy with its LoHA (Hadamard of low-rank products)
 * and LoKr (Kronecker), with the Khatri–Rao (column-wise Kronecker) product
 * `(P ⊙ Q)[:, j] = P[:, j] ⊗ Q[:, j]` in their place, over k factors (default 2):
 *
 * ```
 * ΔW = s · (B₁A₁) ⊙ (B₂A₂) ⊙ ⋯ ⊙ (B_kA_k),   out = m₁m₂⋯m_k,  B_i [m_i, r], A_i [r, in]
 * ```
 *
 * Column j of ΔW is `⊗ᵢ (Bᵢaᵢⱼ) = (B₁ ⊗ ⋯ ⊗ B_k)(a₁ⱼ ⊗ ⋯ ⊗ a_kⱼ)`, so
 * `ΔW = s·(B₁ ⊗ ⋯ ⊗ B_k)(A₁ ⊙ ⋯ ⊙ A_k)`: rank ≤ min(r^k, out, in) with r(m₁ + ⋯ + m_k + k·in)
 * parameters. At k = 2 (the default, and the adapter as it was before k existed) that is LoHa's
 * rank ceiling r² at about LoRA's parameter count r(out + in), since m₁ + m₂ ≈ 2√out ≪ out; each
 * further factor multiplies the ceiling by r and costs r(m + in) more. The split of out comes from
 * LoKr's `factorization(out)` at k = 2 (nearest √out) and `lokhOutFactors` otherwise.
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
  tangentPeftConfig,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";
import { factorization, kronApply } from "./lokr.ts";

/**
 * LoKH's factors: ΔW = s·(B₁A₁) ⊙ ⋯ ⊙ (B_kA_k). With k = 2 exactly `B1, A1, B2, A2`; a cascade of
 * k > 2 adds `B3, A3, …` (keys in the order B1, A1, B2, A2, …).
 */
export interface LokhParams {
  /** `[m₁, r]`. */
  readonly B1: Tensor;
  /** `[r, in]`. */
  readonly A1: Tensor;
  /** `[m₂, r]` (zero at init when k = 2: the last B starts at 0). */
  readonly B2: Tensor;
  /** `[r, in]`. */
  readonly A2: Tensor;
  /** B_i `[m_i, r]` and A_i `[r, in]` of the further factors, i = 3 … k. */
  readonly [factor: `${"A" | "B"}${number}`]: Tensor;
}

/** Options of `lokh`. */
export interface LokhOptions {
  /** Rank r of each factor product (rank(ΔW) ≤ r^k). */
  r: number;
  /** α in the scale s = α/r (default r). */
  alpha?: number;
  /** Number k ≥ 2 of Khatri–Rao factors in the cascade (default 2). */
  factors?: number;
  /**
   * Split of `out` as m₁⋯m_k, k numbers (default: LoKr's `factorization(out)` at k = 2,
   * `lokhOutFactors(out, k)` otherwise).
   */
  outFactors?: readonly number[];
}

/** PEFT-style tensor names of a k-factor LoKH: `lokh_B1`, `lokh_A1`, …, `lokh_Bk`, `lokh_Ak` (no PEFT version). */
function peftNames(k: number) {
  return Array.from({ length: k }, (_, i) => [
    peftName(`B${i + 1}`, `lokh_B${i + 1}`),
    peftName(`A${i + 1}`, `lokh_A${i + 1}`),
  ]).flat();
}

/**
 * The default split of `out` into k factors m₁ ≤ ⋯ ≤ m_k with product `out`: LoKr's
 * `factorization(out)` at k = 2 (what LoKH has always used), else the largest divisor d of `out`
 * with d^k ≤ out, then the split of out/d into k − 1 factors. Factors of 1 appear when `out` has
 * too few divisors (a prime `out` gives [1, …, 1, out]).
 * @example
 * ```ts
 * import { lokhOutFactors } from "@tangent/tangent/adapters";
 * lokhOutFactors(64, 3); // [4, 4, 4]
 * lokhOutFactors(192, 3); // [4, 6, 8]
 * lokhOutFactors(12, 2); // [3, 4]
 * ```
 */
export function lokhOutFactors(out: number, k: number): number[] {
  if (!Number.isInteger(out) || out < 1 || !Number.isInteger(k) || k < 1) {
    throw new ShapeError(`lokhOutFactors: needs positive integers out and k, got out = ${out}, k = ${k}`);
  }
  if (k === 1) return [out];
  if (k === 2) return factorization(out);
  let d = 1;
  for (let c = 2; c ** k <= out; c++) if (out % c === 0) d = c;
  return [d, ...lokhOutFactors(out / d, k - 1)].sort((a, b) => a - b);
}

/**
 * The Khatri–Rao (column-wise Kronecker) product: `(P ⊙ Q)[a·m₂ + b, j] = P[a, j]·Q[b, j]`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { khatriRao } from "@tangent/tangent/adapters";
 * khatriRao(tensor([[1, 2]]), tensor([[3, 4], [5, 6]])); // [[3, 8], [5, 12]]
 * ```
 */
export function khatriRao(p: Tensor, q: Tensor): Tensor {
  checkTensor("khatriRao", p, "p");
  checkTensor("khatriRao", q, "q");
  if (p.ndim !== 2 || q.ndim !== 2) {
    throw new ShapeError(
      `khatriRao: needs two matrices, got ${fmtShape(p.shape)} and ${fmtShape(q.shape)}; reshape them to 2-D`,
    );
  }
  const [m1, n] = p.shape, m2 = q.shape[0];
  if (q.shape[1] !== n) throw new ShapeError(`khatriRao: column counts differ: [${p.shape}] and [${q.shape}]`);
  return reshape(mul(reshape(p, [m1, 1, n]), reshape(q, [1, m2, n])), [m1 * m2, n]);
}

/**
 * `x (B₁ ⊗ ⋯ ⊗ B_k)ᵀ` without forming the Kronecker product: LoKr's `kronApply` at k = 2; for
 * k > 2 the inner factors act first (recursively) on x viewed as `[batch·c₁, c₂⋯c_k]`, then B₁ on
 * the outer mode. x is `[batch, c₁⋯c_k]` for B_i `[m_i, c_i]`; the result `[batch, m₁⋯m_k]`.
 */
function kronCascadeApply(x: Tensor, bs: readonly Tensor[]): Tensor {
  if (bs.length === 1) return rowsMatmulT(x, bs[0]);
  if (bs.length === 2) return kronApply(x, bs[0], bs[1]);
  const [m1, c1] = bs[0].shape, n = x.shape[0];
  const inner = kronCascadeApply(reshape(x, [n * c1, x.shape[1] / c1]), bs.slice(1)); // [n·c₁, m₂⋯m_k]
  const rest = inner.shape[1];
  const t = reshape(transpose(reshape(inner, [n, c1, rest]), [0, 2, 1]), [n * rest, c1]);
  const y = reshape(rowsMatmulT(t, bs[0]), [n, rest, m1]); // · B₁ᵀ on the outer mode
  return reshape(transpose(y, [0, 2, 1]), [n, m1 * rest]);
}

/**
 * LoKH: `y = x Wᵀ + b + s·x ΔWᵀ` with `ΔW = (B₁A₁) ⊙ ⋯ ⊙ (B_kA_k)` (see the module doc for the
 * shapes and why). The forward never forms ΔW: `x (A₁ ⊙ ⋯ ⊙ A_k)ᵀ` is one GEMM against the r^k
 * Khatri–Rao rows `A₁[j₁] ⊙ ⋯ ⊙ A_k[j_k]` (O(batch·r^k·in)), then `(B₁ ⊗ ⋯ ⊗ B_k)` acts on it one
 * mode at a time, as LoKr's `kronApply` does for two. Init: every A_i and B_1 … B_{k−1}
 * kaiming-uniform (keys `split(key, 2k − 1)` in the order B₁, A₁, B₂, A₂, …, A_k) and B_k = 0, so
 * ΔW = 0 (as LoHa zeroes one factor). Parameters: r(m₁ + ⋯ + m_k + k·in). `factors: 2` (the
 * default) is the two-factor adapter exactly: same init, forward, names and config.
 * `peftConfig()`: `peft_type: "LOKH"` (PEFT 0.21 has none; `fromPeft` loads it) with `r`, `alpha`,
 * `out_factors` (the k factors, or null for the default split) and, when k ≠ 2, `num_factors`;
 * tensors `lokh_B1`, `lokh_A1`, …, `lokh_Bk`, `lokh_Ak`.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { lokh } from "@tangent/tangent/adapters";
 * const ad = lokh({ r: 2 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * const deep = lokh({ r: 2, factors: 3 }); // out = 12 = 2·2·3, rank(ΔW) ≤ 8
 * const y3 = deep.apply(deep.init(key(0), frozen).params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function lokh(opts: LokhOptions): PeftAdapter<LokhParams, Frozen> {
  requireOptions(
    "lokh",
    opts,
    "{ r: 8 }",
    optionKeys<LokhOptions>({ r: true, alpha: true, factors: true, outFactors: true }),
  );
  checkAlpha("lokh", opts?.alpha);
  const r = opts.r, s = (opts.alpha ?? r) / r, k = opts.factors ?? 2;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`lokh: r must be a positive integer, got ${r}`);
  if (!Number.isInteger(k) || k < 2) {
    throw new ShapeError(`lokh: factors must be an integer ≥ 2 (k = 1 is LoRA), got ${k}`);
  }
  if (opts.outFactors && opts.outFactors.length !== k) {
    throw new ShapeError(`lokh: outFactors [${opts.outFactors}] must list k = ${k} numbers, one per factor`);
  }
  const names = peftNames(k);
  const get = (p: LokhParams, name: string) => (p as unknown as Record<string, Tensor>)[name];
  const products = (p: LokhParams) =>
    Array.from({ length: k }, (_, i) => matmul(get(p, `B${i + 1}`), get(p, `A${i + 1}`)));
  const delta = (p: LokhParams) => mul(products(p).reduce((acc, q) => khatriRao(acc, q)), s);
  return {
    kind: "lokh",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("lokh", base);
        const ms = opts.outFactors ? [...opts.outFactors] : lokhOutFactors(out, k);
        if (ms.reduce((a, b) => a * b, 1) !== out || !ms.every((m) => Number.isInteger(m) && m >= 1)) {
          throw new ShapeError(
            `lokh: outFactors ${ms.join(" × ")} ≠ out = ${out}; give k positive integers with product out`,
          );
        }
        const dtype = floatDType(base);
        const keys = split(key, 2 * k - 1);
        const params: Record<string, Tensor> = {};
        for (let i = 0; i < k; i++) {
          const last = i === k - 1;
          params[`B${i + 1}`] = last ? zeros([ms[i], r], { dtype }) : kaimingUniform(keys[2 * i], [ms[i], r], dtype);
          params[`A${i + 1}`] = kaimingUniform(keys[last ? 2 * i : 2 * i + 1], [r, inF], dtype);
        }
        return { params: params as unknown as LokhParams, frozen: { weight: base.weight, bias: base.bias } };
      });
    },
    apply(p: LokhParams, f: Frozen, x: Tensor): Tensor {
      // Z = x (A₁ ⊙ ⋯ ⊙ A_k)ᵀ with the Khatri–Rao rows (A₁ ⊙ A₂)[j·r + l] = A₁[j] ⊙ A₂[l], … ([r^k, in], one GEMM)
      let rows = get(p, "A1");
      for (let i = 2; i <= k; i++) {
        const a = get(p, `A${i}`), [r1, inF] = rows.shape, r2 = a.shape[0];
        rows = reshape(mul(reshape(rows, [r1, 1, inF]), reshape(a, [1, r2, inF])), [r1 * r2, inF]);
      }
      const z = rowsMatmulT(x, rows);
      // y += s·Z (B₁ ⊗ ⋯ ⊗ B_k)ᵀ
      const bs = Array.from({ length: k }, (_, i) => get(p, `B${i + 1}`));
      const low = mul(kronCascadeApply(z, bs), s);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge: (p: LokhParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: LokhParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: LokhParams): Tensor => zeroLike(p),
    trainableCount: (p: LokhParams): number => countScalars(p),
    toPeft: (t: LokhParams, o?: PeftNameOptions) => renameToPeft(names, t as never, o),
    peftConfig: (): PeftConfig =>
      tangentPeftConfig("LOKH", {
        r,
        alpha: opts.alpha ?? r,
        out_factors: opts.outFactors ? [...opts.outFactors] : null,
        ...(k === 2 ? {} : { num_factors: k }),
      }),
  };
}
