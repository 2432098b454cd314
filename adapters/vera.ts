/**
 * VeRA (Kopiczko et al. 2024): frozen random projections shared across layers, trained only
 * through two scaling vectors: ΔW = diag(λ_b) B diag(λ_d) A.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { full, mul, reshape, slice, sub, zeros } from "../core/ops/mod.ts";
import { type Key, key as makeKey, split, uniform } from "../core/random.ts";
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
  rowsMatmulT,
  unflattenRows,
  withTangentExtras,
  zeroLike,
} from "./adapter.ts";

/** VeRA's trainable scaling vectors. */
export interface VeraParams {
  /** Output scaling `[out]` (PEFT `vera_lambda_b`). */
  readonly lambdaB: Tensor;
  /** Rank scaling `[r]` (PEFT `vera_lambda_d`). */
  readonly lambdaD: Tensor;
}

/** VeRA's frozen tensors: the base layer and this layer's slices of the shared projections. */
export interface VeraFrozen extends Frozen {
  /** `[r, in]`: the first `in` columns of the shared `vera_A`. */
  readonly A: Tensor;
  /** `[out, r]`: the first `out` rows of the shared `vera_B`. */
  readonly B: Tensor;
}

/** Options of `vera`. */
export interface VeraOptions {
  /** Rank r of the shared projections. */
  r: number;
  /** Initial value of λ_d (default 0.1, PEFT's `d_initial`). */
  dInitial?: number;
  /**
   * Shared projections `A [r, maxIn]` and `B [maxOut, r]` (PEFT's `vera_A`, `vera_B`); each layer
   * uses `A[:, :in]` and `B[:out, :]`. When absent they are drawn from `projectionKey` with this
   * layer's sizes, so layers of equal shape share them.
   */
  projection?: { A: Tensor; B: Tensor };
  /** Key the projections are drawn from when `projection` is absent (default `key(0)`). */
  projectionKey?: Key;
}

const NAMES = [peftName("lambdaB", "vera_lambda_b"), peftName("lambdaD", "vera_lambda_d")];
const FROZEN_NAMES = [peftName("A", "vera_A"), peftName("B", "vera_B")];

/**
 * VeRA: `y = x Wᵀ + b + λ_b ⊙ ((λ_d ⊙ (x Aᵀ)) Bᵀ)` (no α/r scale), merged
 * `W + diag(λ_b) B diag(λ_d) A`. A and B are frozen, drawn as PEFT draws them,
 * U(±√(6/fan_in)) (kaiming-uniform with gain √2, fan_in the last dimension); PEFT's torch
 * generator stream cannot be reproduced, so load them (`fromPeft`) to match PEFT. Starts at
 * λ_b = 0, λ_d = `dInitial`. Parameters: out + r.
 *
 * `peftConfig()`: PEFT's VeRA config (`r`, `d_initial`, `save_projection: true`,
 * `projection_prng_key: 0`, `init_weights`): PEFT cannot redraw Tangent's projections from a torch
 * seed, so they must be saved. `frozenToPeft(frozen)` gives this layer's slices as `vera_A`
 * `[r, in]` and `vera_B` `[out, r]`; PEFT keeps one shared pair per model (`base_model.vera_A`,
 * `[r, max in]`, each layer using `A[:, :in]`), so a model whose layers differ in shape needs
 * `projection` (one shared pair) for its slices to agree. Without `projection`, the key the
 * projections were drawn from is recorded as `tangent.projection_key` (its two words; also when
 * `projectionKey` is given with `projection`), from which `fromPeft` redraws them when `vera_A` /
 * `vera_B` are absent.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { vera } from "@tangent/tangent/adapters";
 * const ad = vera({ r: 4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function vera(opts: VeraOptions): PeftAdapter<VeraParams, VeraFrozen> {
  requireOptions(
    "vera",
    opts,
    "{ r: 8 }",
    optionKeys<VeraOptions>({ r: true, dInitial: true, projection: true, projectionKey: true }),
  );
  const r = opts.r;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`vera: r must be a positive integer, got ${r}`);
  const delta = (p: VeraParams, f: VeraFrozen) => mul(mul(f.B, p.lambdaD), reshape(p.lambdaB, [-1, 1])).matmul(f.A);
  const self: PeftAdapter<VeraParams, VeraFrozen> = {
    kind: "vera",
    identityAtInit: true,
    init(_key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("vera", base);
        const dtype = floatDType(base);
        let A: Tensor, B: Tensor;
        if (opts.projection) {
          ({ A, B } = opts.projection);
          if (A.shape[0] !== r || B.shape[1] !== r || A.shape[1] < inF || B.shape[0] < out) {
            throw new ShapeError(
              `vera: projections A [${A.shape}] and B [${B.shape}] must be [${r}, ≥${inF}] and [≥${out}, ${r}]`,
            );
          }
          A = slice(A, [null, [0, inF]]);
          B = slice(B, [[0, out], null]);
        } else {
          const [ka, kb] = split(opts.projectionKey ?? makeKey(0));
          const bound = (fanIn: number) => Math.sqrt(6 / fanIn);
          A = uniform(ka, [r, inF], { dtype, min: -bound(inF), max: bound(inF) });
          B = uniform(kb, [out, r], { dtype, min: -bound(r), max: bound(r) });
        }
        return {
          params: { lambdaB: zeros([out], { dtype }), lambdaD: full([r], opts.dInitial ?? 0.1, { dtype }) },
          frozen: { weight: base.weight, bias: base.bias, A, B },
        };
      });
    },
    apply(p: VeraParams, f: VeraFrozen, x: Tensor): Tensor {
      // y = x Wᵀ + b + λ_b ⊙ ((λ_d ⊙ (x Aᵀ)) Bᵀ)
      const low = mul(rowsMatmulT(mul(rowsMatmulT(x, f.A), p.lambdaD), f.B), p.lambdaB);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge: (p: VeraParams, f: VeraFrozen): Tensor => f.weight.add(delta(p, f)),
    unmerge: (p: VeraParams, f: VeraFrozen, merged: Tensor): Tensor => sub(merged, delta(p, f)),
    regularizer: (p: VeraParams): Tensor => zeroLike(p),
    trainableCount: (p: VeraParams): number => countScalars(p),
    toPeft: (t: VeraParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig(): PeftConfig {
      const config = {
        peft_type: "VERA",
        r,
        d_initial: opts.dInitial ?? 0.1,
        projection_prng_key: 0,
        save_projection: true,
        init_weights: true,
      };
      // the key the projections were (or, with `projection`, would have been) drawn from
      const pk = opts.projection && !opts.projectionKey ? undefined : (opts.projectionKey ?? makeKey(0));
      const k = pk?.words;
      return withTangentExtras(config, {
        projection_key: k ? [k[0], k[1]] : undefined,
        // the key's layout (absent: classic), so a redraw makes the same projections
        projection_key_layout: pk?.layout === "partitionable" ? "partitionable" : undefined,
      });
    },
    frozenToPeft: (f: VeraFrozen, o?: PeftNameOptions) => renameToPeft(FROZEN_NAMES, f as never, o),
    forLayers(bases: readonly LinearBase[]): PeftAdapter<VeraParams, VeraFrozen> {
      // layers of different sizes share one pair drawn at the widest size (each init slices it)
      const shapes = bases.map((b) => baseShape("vera", b));
      const maxOut = Math.max(...shapes.map(([o]) => o)), maxIn = Math.max(...shapes.map(([, i]) => i));
      if (opts.projection || shapes.every(([o, i]) => o === maxOut && i === maxIn)) return self;
      const [ka, kb] = split(opts.projectionKey ?? makeKey(0));
      const dtype = floatDType(bases[0]), bound = (fanIn: number) => Math.sqrt(6 / fanIn);
      const A = uniform(ka, [r, maxIn], { dtype, min: -bound(maxIn), max: bound(maxIn) });
      const B = uniform(kb, [maxOut, r], { dtype, min: -bound(r), max: bound(r) });
      return vera({ ...opts, projection: { A, B }, projectionKey: undefined });
    },
  };
  return self;
}
