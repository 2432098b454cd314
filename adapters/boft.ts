/**
 * BOFT (Liu et al. 2024): orthogonal fine-tuning with a butterfly product of block-diagonal
 * rotations, `W' = diag(s) W Mᵀ`, `M = M_{N−1}⋯M₀`, `Mᵢ = Pᵢ blockdiag(Cay(½(Rᵢⱼ − Rᵢⱼᵀ))) Pᵢᵀ`.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { add, div, eye, mul, ones, reshape, slice, sub, take, zeros } from "../core/ops/mod.ts";
import type { Key } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
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
  zeroLike,
} from "./adapter.ts";
import { blockRotate, cayleyExact, resolveBlocks } from "./oft.ts";

/** BOFT's trainable tensors. */
export interface BoftParams {
  /** One full bs × bs block per factor and block position, `[N, nb, bs, bs]`; only its skew part acts (PEFT `boft_R`). */
  readonly R: Tensor;
  /** Output scale per row, `[out, 1]` (PEFT `boft_s`). */
  readonly s: Tensor;
}

/** Options of `boft`. */
export interface BoftOptions {
  /** Block size bs (give this or `blockNum`). */
  blockSize?: number;
  /** Number of blocks (give this or `blockSize`). */
  blockNum?: number;
  /** Number of butterfly factors N (default 1: plain block-diagonal OFT with an output scale). */
  butterflyFactors?: number;
}

const NAMES = [peftName("R", "boft_R"), peftName("s", "boft_s")];

/**
 * PEFT's `block_butterfly_perm(n, b, r, ·)`: within each of the b chunks of n/b indices, the groups
 * of r indices are reordered even-numbered groups first, then odd-numbered.
 * @example
 * ```ts
 * import { butterflyPerm } from "@tangent/tangent/adapters";
 * butterflyPerm(8, 2, 1); // [0, 2, 1, 3, 4, 6, 5, 7]
 * ```
 */
export function butterflyPerm(n: number, b: number, r: number): number[] {
  const chunk = n / b, groups = chunk / r;
  const order: number[] = [];
  for (let g = 0; g < groups; g += 2) order.push(g);
  for (let g = 1; g < groups; g += 2) order.push(g);
  const perm: number[] = [];
  for (let c = 0; c < n; c += chunk) {
    for (const g of order) for (let k = 0; k < r; k++) perm.push(c + g * r + k);
  }
  return perm;
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, k) => (inv[p] = k));
  return inv;
}

function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, k) => p === k);
}

/**
 * BOFT: `y = ((x M) Wᵀ) ⊙ sᵀ + b`, merged `diag(s) W Mᵀ`, with `x M = x M_{N−1}⋯M₀` computed
 * factor by factor: `x Mᵢ = ((x Pᵢ) Bᵢ) Pᵢᵀ` is a gather, a block rotation and a gather, so no
 * in × in matrix is formed. Each block is PEFT's exact Cayley map `(I − S)(I + S)⁻¹` of
 * `S = ½(R − Rᵀ)`; the permutations are PEFT's `block_butterfly_perm` (P₀ = I). Starts at R = 0,
 * s = 1 (the base layer). Parameters: N·nb·bs² + out (PEFT stores full blocks).
 *
 * `peftConfig()`: PEFT's BOFT config: `boft_block_size` or `boft_block_num` (the other 0, as PEFT
 * requires), `boft_n_butterfly_factor` = N, the number of factors (PEFT subtracts 1 internally "to
 * be consistent with the paper", then builds N factors: `boft_R` is `[N, nb, bs, bs]`), and
 * `init_weights`. Caveat: PEFT 0.21 builds N > 1 factors only where its `fbd_cuda` extension
 * compiles (CUDA and ninja); elsewhere it warns and sets the factor count to 1, so a checkpoint with
 * N > 1 then fails to load there (size mismatch on `boft_R`).
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { boft } from "@tangent/tangent/adapters";
 * const ad = boft({ blockSize: 4, butterflyFactors: 2 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function boft(opts: BoftOptions): PeftAdapter<BoftParams, Frozen> {
  requireOptions(
    "boft",
    opts,
    "{ blockSize: 4 }",
    optionKeys<BoftOptions>({ blockSize: true, blockNum: true, butterflyFactors: true }),
  );
  const N = opts.butterflyFactors ?? 1;
  if (!Number.isInteger(N) || N < 1) throw new DomainError(`boft: butterflyFactors must be ≥ 1, got ${N}`);
  // per factor: rotation blocks [nb, bs, bs] and its permutation
  const factors = (p: BoftParams): { B: Tensor; perm: number[]; inv: number[] }[] => {
    const [, nb, bs] = p.R.shape;
    const inF = nb * bs;
    const S = mul(sub(p.R, p.R.mT), 0.5);
    const C = cayleyExact(reshape(S, [N * nb, bs, bs]));
    return Array.from({ length: N }, (_, i) => {
      const perm = butterflyPerm(inF, nb / 2 ** i, bs / 2);
      return { B: reshape(slice(C, [[i * nb, (i + 1) * nb]]), [nb, bs, bs]), perm, inv: inverse(perm) };
    });
  };
  // z ↦ z M (transpose = false) or z Mᵀ (true), on the rows of z
  const butterfly = (z: Tensor, p: BoftParams, transpose: boolean): Tensor => {
    const fs = factors(p);
    const order = transpose ? fs : [...fs].reverse();
    for (const { B, perm, inv } of order) {
      const id = isIdentity(perm);
      const zp = id ? z : take(z, inv, -1); // z Pᵢ
      const zb = blockRotate(zp, B, transpose); // · Bᵢ (or Bᵢᵀ)
      z = id ? zb : take(zb, perm, -1); // · Pᵢᵀ
    }
    return z;
  };
  return {
    kind: "boft",
    identityAtInit: true,
    init(_key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("boft", base);
        const [bs, nb] = opts.blockNum
          ? resolveBlocks("boft", inF, undefined, opts.blockNum)
          : resolveBlocks("boft", inF, opts.blockSize);
        if (N > 1 && (bs % 2 !== 0 || nb % 2 ** (N - 1) !== 0)) {
          throw new ShapeError(
            `boft: ${N} butterfly factors need an even block size and 2^${
              N - 1
            } | blocks, got bs = ${bs}, blocks = ${nb}`,
          );
        }
        const dtype = floatDType(base);
        return {
          params: { R: zeros([N, nb, bs, bs], { dtype }), s: ones([out, 1], { dtype }) },
          frozen: { weight: base.weight, bias: base.bias },
        };
      });
    },
    apply(p: BoftParams, f: Frozen, x: Tensor): Tensor {
      // y = ((x M) Wᵀ) ⊙ sᵀ + b
      const y = mul(frozenLinear(butterfly(x, p, false), f.weight), reshape(p.s, [-1]));
      return f.bias ? add(y, f.bias) : y;
    },
    // W' = diag(s) W Mᵀ
    merge: (p: BoftParams, f: Frozen): Tensor => mul(butterfly(f.weight, p, true), p.s),
    // W = diag(1/s) W' M
    unmerge: (p: BoftParams, _f: Frozen, merged: Tensor): Tensor => butterfly(div(merged, p.s), p, false),
    regularizer: (p: BoftParams): Tensor => zeroLike(p),
    trainableCount: (p: BoftParams): number => countScalars(p),
    toPeft: (t: BoftParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: (): PeftConfig => ({
      peft_type: "BOFT",
      boft_block_size: opts.blockNum ? 0 : opts.blockSize ?? 0,
      boft_block_num: opts.blockNum ?? 0,
      boft_n_butterfly_factor: N,
      init_weights: true,
    }),
    orthogonalFactors(p: BoftParams): Tensor[] {
      const [, nb, bs] = p.R.shape;
      return [butterfly(eye(nb * bs, { dtype: p.R.dtype, like: p.R }), p, false)];
    },
  };
}
