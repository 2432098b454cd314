/**
 * OFT (Qiu et al. 2023; PEFT 0.21's OFTv2 form): a block-diagonal rotation of the input,
 * `W' = W R_bdᵀ`, `y = (x R_bd) Wᵀ + b`, each block a Cayley map of a skew-symmetric matrix.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { add, broadcastTo, concat, eye, matmulT, mul, neg, reshape, take, transpose, zeros } from "../core/ops/mod.ts";
import type { Key } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import {
  baseShape,
  countScalars,
  floatDType,
  type Frozen,
  frozenLinear,
  type LinearBase,
  onBaseBackend,
  type PeftAdapter,
  type PeftConfig,
  peftName,
  type PeftNameOptions,
  renameToPeft,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";
import { cayley, solve } from "../core/linalg/mod.ts";

/** OFT's trainable skew generators. */
export interface OftParams {
  /**
   * Strict upper triangles (row-major, as `torch.triu_indices(bs, bs, 1)`) of one skew block per
   * row, `[nBlocks, bs(bs−1)/2]` (`[1, …]` with `blockShare`) (PEFT `oft_R.weight`).
   */
  readonly R: Tensor;
}

/** How a skew block Q becomes a rotation. */
export type CayleyMode = "exact" | "neumann";

/** Options of `oft`. */
export interface OftOptions {
  /** Block size bs (it must divide `in`); give this or `r`. */
  blockSize?: number;
  /** Number of blocks r (`in / r` is the block size); give this or `blockSize`. */
  r?: number;
  /**
   * "neumann" (PEFT 0.21's default): `R = I + 2Q + 2Q² + … + 2Q^{t−2} + Q^{t−1}` with t = `terms`,
   * a truncation of `(I − Q)⁻¹(I + Q)`, only approximately orthogonal; "exact": PEFT's
   * `R = (I − Q)(I + Q)⁻¹`, exactly orthogonal. Note the series approximates the *transpose* of
   * PEFT's exact map, as PEFT's does; both are kept as PEFT defines them so tensors transfer.
   */
  cayley?: CayleyMode;
  /** Neumann terms t (default 5; t = 3 and t = 4 give the same series, as in PEFT). */
  terms?: number;
  /** One block shared by all block positions (default false). */
  blockShare?: boolean;
}

const NAMES = [peftName("R", "oft_R", ".weight")];

/**
 * Index map for `skewFromPacked`: entry (i, j) of a bs × bs block reads slot 0 (zero), 1 + k
 * (+vₖ, the k-th strict-upper entry in row-major order) or 1 + n + k (−vₖ, its mirror).
 */
function skewIndex(bs: number): number[] {
  const n = (bs * (bs - 1)) / 2;
  const idx = new Array<number>(bs * bs).fill(0);
  let k = 0;
  for (let i = 0; i < bs; i++) {
    for (let j = i + 1; j < bs; j++, k++) {
      idx[i * bs + j] = 1 + k;
      idx[j * bs + i] = 1 + n + k;
    }
  }
  return idx;
}

/** Block size bs from the packed length n = bs(bs−1)/2. */
export function blockSizeOfPacked(n: number): number {
  const bs = (1 + Math.sqrt(1 + 8 * n)) / 2;
  if (!Number.isInteger(bs)) throw new ShapeError(`oft: ${n} is not bs(bs−1)/2 for any block size bs`);
  return bs;
}

/**
 * Skew blocks `Q = U − Uᵀ` from packed strict upper triangles `[nb, bs(bs−1)/2]` → `[nb, bs, bs]`
 * (one gather, so it is differentiable).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { skewFromPacked } from "@tangent/tangent/adapters";
 * skewFromPacked(tensor([[1, 2, 3]])); // [[[0, 1, 2], [-1, 0, 3], [-2, -3, 0]]]
 * ```
 */
export function skewFromPacked(v: Tensor): Tensor {
  checkTensor("skewFromPacked", v);
  const [nb, n] = v.shape;
  const bs = blockSizeOfPacked(n);
  const src = concat([zeros([nb, 1], { dtype: v.dtype, like: v }), v, neg(v)], 1);
  return reshape(take(src, skewIndex(bs), 1), [nb, bs, bs]);
}

/**
 * `I + 2Q + 2Q² + … + 2Q^m + Q^{m+1}` with m = max(2, t − 2) (t ≥ 3), `I + 2Q` (t = 2), `I` (t = 1).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cayleyNeumann, skewFromPacked } from "@tangent/tangent/adapters";
 * cayleyNeumann(skewFromPacked(tensor([[0.1]], { dtype: "float64" })), 5); // ≈ (I − Q)⁻¹(I + Q)
 * ```
 */
export function cayleyNeumann(Q: Tensor, terms: number): Tensor {
  checkTensor("cayleyNeumann", Q);
  const bs = Q.shape[Q.ndim - 1];
  const I = broadcastTo(eye(bs, { dtype: Q.dtype, like: Q }), Q.shape);
  if (terms <= 1) return I;
  let R = add(I, mul(Q, 2));
  if (terms === 2) return R;
  let P = Q;
  const m = Math.max(2, terms - 2);
  for (let k = 2; k <= m; k++) {
    P = matmulT(P, Q, false, false);
    R = add(R, mul(P, 2));
  }
  return add(R, matmulT(P, Q, false, false));
}

/**
 * PEFT's exact Cayley map `(I − Q)(I + Q)⁻¹ = (I + Q)⁻¹(I − Q)` (Q skew, so the factors commute).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cayleyExact, skewFromPacked } from "@tangent/tangent/adapters";
 * cayleyExact(skewFromPacked(tensor([[0.1]], { dtype: "float64" }))); // orthogonal 2 × 2
 * ```
 */
export function cayleyExact(Q: Tensor): Tensor {
  return cayley(Q);
}

/**
 * Multiplies each length-bs block of the rows of `M` (`[..., nb·bs]`) by its block:
 * `mᵢ ↦ mᵢ Rᵢ` (or `mᵢ Rᵢᵀ` with `transposeBlocks`), i.e. `M R_bd` (or `M R_bdᵀ`), without forming
 * the block-diagonal matrix. `R` is `[nb, bs, bs]`.
 * @example
 * ```ts
 * import { eye, key, normal } from "@tangent/tangent";
 * import { blockRotate } from "@tangent/tangent/adapters";
 * const R = eye(2).reshape([1, 2, 2]).add(normal(key(0), [2, 2, 2]).mul(0));
 * blockRotate(normal(key(1), [5, 4]), R); // x R_bd = x (identity blocks)
 * ```
 */
export function blockRotate(M: Tensor, R: Tensor, transposeBlocks = false): Tensor {
  checkTensor("blockRotate", M, "M");
  checkTensor("blockRotate", R, "R");
  const [nb, bs] = R.shape;
  const m3 = reshape(M, [-1, nb, bs]);
  const rows = m3.shape[0];
  const out = matmulT(transpose(m3, [1, 0, 2]), R, false, transposeBlocks); // [nb, rows, bs]
  return unflattenRows(M, reshape(transpose(out, [1, 0, 2]), [rows, nb * bs]));
}

/** Solves `X Rᵢᵀ = Mᵢ` block by block: `M R_bd^{−T}` for `M` `[rows, nb·bs]`. */
function blockUnrotate(M: Tensor, R: Tensor): Tensor {
  const [nb, bs] = R.shape;
  const rows = M.shape[0];
  const mt = transpose(reshape(M, [rows, nb, bs]), [1, 2, 0]); // [nb, bs, rows] = Mᵢᵀ
  const xt = solve(R, mt); // Rᵢ Xᵢᵀ = Mᵢᵀ
  return reshape(transpose(xt, [2, 0, 1]), [rows, nb * bs]);
}

/** Resolves `blockSize` / `r` against `in` (throws when neither or a non-divisor is given). */
export function resolveBlocks(op: string, inF: number, blockSize?: number, r?: number): [number, number] {
  const bs = blockSize ?? (r ? inF / r : NaN);
  if (!Number.isInteger(bs) || bs < 1 || inF % bs !== 0) {
    throw new ShapeError(
      `${op}: block size ${blockSize ?? `in/r = ${inF}/${r}`} must be a positive divisor of in = ${inF}; ` +
        `pass blockSize or r that divides it`,
    );
  }
  return [bs, inF / bs];
}

/**
 * OFT: `y = (x R_bd) Wᵀ + b`, merged `W R_bdᵀ`, where `R_bd = blockdiag(R₀ … R_{nb−1})` and each
 * `Rᵢ` is the Cayley map (exact or Neumann, see `OftOptions.cayley`) of the skew `Qᵢ = Uᵢ − Uᵢᵀ`
 * packed in `params.R`. Costs O(batch·in·bs) on top of the base layer; never forms R_bd. Starts at
 * Q = 0, R = I. Parameters: nb·bs(bs−1)/2 (bs(bs−1)/2 with `blockShare`).
 *
 * `peftConfig()`: PEFT's OFT config, `oft_block_size` with `r = 0` when `blockSize` is given, else
 * `r` (the number of blocks) with `oft_block_size = 0` (PEFT takes exactly one of them), plus
 * `use_cayley_neumann` ("neumann"), `num_cayley_neumann_terms`, `block_share`, `init_weights`.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { oft } from "@tangent/tangent/adapters";
 * const ad = oft({ blockSize: 4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function oft(opts: OftOptions): PeftAdapter<OftParams, Frozen> {
  requireOptions(
    "oft",
    opts,
    "{ blockSize: 4 }",
    optionKeys<OftOptions>({ blockSize: true, r: true, cayley: true, terms: true, blockShare: true }),
  );
  const mode = opts.cayley ?? "neumann", terms = opts.terms ?? 5, share = opts.blockShare ?? false;
  if (mode !== "exact" && mode !== "neumann") {
    throw new DomainError(`oft: cayley must be "exact" or "neumann", got '${mode}'`);
  }
  if (!Number.isInteger(terms) || terms < 1) {
    throw new DomainError(`oft: terms must be a positive integer, got ${terms}`);
  }
  // the rotation blocks [nb, bs, bs] for the frozen weight's input size
  const blocks = (p: OftParams, inF: number): Tensor => {
    const Q = skewFromPacked(p.R);
    const R = mode === "exact" ? cayleyExact(Q) : cayleyNeumann(Q, terms);
    const bs = R.shape[1];
    return share ? broadcastTo(R, [inF / bs, bs, bs]) : R;
  };
  return {
    kind: "oft",
    identityAtInit: true,
    init(_key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [, inF] = baseShape("oft", base);
        const [bs, nb] = resolveBlocks("oft", inF, opts.blockSize, opts.r);
        const R = zeros([share ? 1 : nb, (bs * (bs - 1)) / 2], { dtype: floatDType(base) });
        return { params: { R }, frozen: { weight: base.weight, bias: base.bias } };
      });
    },
    // y = (x R_bd) Wᵀ + b
    apply: (p: OftParams, f: Frozen, x: Tensor): Tensor =>
      frozenLinear(blockRotate(x, blocks(p, f.weight.shape[1])), f.weight, f.bias),
    // W' = W R_bdᵀ
    merge: (p: OftParams, f: Frozen): Tensor => blockRotate(f.weight, blocks(p, f.weight.shape[1]), true),
    unmerge(p: OftParams, f: Frozen, merged: Tensor): Tensor {
      // W = W' R_bd^{−T}: W' R_bd when R is exactly orthogonal, a block solve for the Neumann series
      const R = blocks(p, f.weight.shape[1]);
      return mode === "exact" ? blockRotate(merged, R) : blockUnrotate(merged, R);
    },
    regularizer: (p: OftParams): Tensor => zeroLike(p),
    trainableCount: (p: OftParams): number => countScalars(p),
    toPeft: (t: OftParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: (): PeftConfig => ({
      peft_type: "OFT",
      r: opts.blockSize !== undefined ? 0 : opts.r ?? 0,
      oft_block_size: opts.blockSize ?? 0,
      use_cayley_neumann: mode === "neumann",
      num_cayley_neumann_terms: terms,
      block_share: share,
      init_weights: true,
    }),
    orthogonalFactors: (p: OftParams): Tensor[] => mode === "exact" ? [cayleyExact(skewFromPacked(p.R))] : [],
  };
}
