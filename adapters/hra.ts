/**
 * HRA (Yuan et al. 2024): Householder reflection adaptation. The adapted weight is `W H` with
 * `H = H₀H₁⋯H_{r−1}`, `Hᵢ = I − 2ûᵢûᵢᵀ` (input side, as in PEFT), applied through the compact WY
 * form `H = I + Û Γ Ûᵀ`, `Γ = −2(I + 2·striu(ÛᵀÛ))⁻¹` for unit columns Û (Schreiber & Van Loan
 * 1989), so a forward pass costs a rank-r update and never forms the in × in H.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { broadcastTo, concat, div, eye, matmulT, mul, norm, slice, sub, sum } from "../core/ops/mod.ts";
import { unitTriangularInverse } from "../core/linalg/mod.ts";
import { split } from "../core/random.ts";
import { oblique, stiefel } from "../manifolds/mod.ts";
import type { Key } from "../core/random.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import {
  baseShape,
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
  rowsMatmul,
  rowsMatmulT,
  tangentPeftConfig,
  unflattenRows,
  withTangentExtras,
} from "./adapter.ts";

/** HRA's trainable reflection vectors. */
export interface HraParams {
  /** Reflection vectors as columns, `[in, r]` (PEFT `hra_u`). */
  readonly U: Tensor;
}

/** Options of `hra`. */
export interface HraOptions {
  /** Number of reflections r. */
  r: number;
  /** Weight λ of the orthogonality regulariser λ‖I − ÛᵀÛ‖_F (default 0: none). */
  lambda?: number;
  /**
   * PEFT's `apply_GS`: orthonormalise the columns by modified Gram–Schmidt into Ŵ and use the single
   * reflection `H = I − 2ŴŴᵀ` (default false). See `hra` for how it is initialised.
   */
  gramSchmidt?: boolean;
  /**
   * Keep the reflection vectors on a manifold, as manifold points the Riemannian optimizers
   * retract (default: none, plain tensors normalised in the forward pass):
   * - "oblique": unit columns (the same paired start, so H = I at init);
   * - "stiefel": orthonormal columns, so `H = I − 2UUᵀ` and `ÛᵀÛ = I` exactly (the regulariser's
   *   target is a constraint). Pairs cannot be orthonormal, so the initial reflection is folded into
   *   the frozen weight (`W_frozen = W H₀ᵀ`) and the layer still starts at W.
   */
  manifold?: "oblique" | "stiefel";
  /**
   * With `gramSchmidt` or `manifold: "stiefel"`: fold the initial reflection H₀ into the frozen
   * weight (`W_frozen = W H₀ᵀ`, the initial U kept as `frozen.U0`) so the layer starts exactly at W
   * (default true). False keeps PEFT's semantics, frozen weight = W, with PEFT's initial vectors
   * (paired for even r, so with Gram–Schmidt the start is rounding noise, see `hra`); `fromPeft`
   * builds PEFT's `apply_GS` HRA this way. Ignored elsewhere (nothing is folded).
   */
  foldInit?: boolean;
}

const NAMES = [peftName("U", "hra_u")];
// Tangent's own name: a folded layer's initial vectors (frozen), from which fromPeft rebuilds W H₀ᵀ
const FROZEN_NAMES = [peftName("U0", "hra_u0")];

/**
 * `U` with unit columns: `ûᵢ = uᵢ / ‖uᵢ‖`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { unitColumns } from "@tangent/tangent/adapters";
 * unitColumns(tensor([[3, 0], [4, 2]])); // [[0.6, 0], [0.8, 1]]
 * ```
 */
export function unitColumns(U: Tensor): Tensor {
  return div(U, norm(U, { axis: 0, keepdims: true }));
}

/**
 * The WY factor Γ of `H₀H₁⋯H_{r−1} = I + ÛΓÛᵀ` for unit columns Û:
 * `Γ = −2(I + 2·striu(ÛᵀÛ))⁻¹`.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { householderWY, unitColumns } from "@tangent/tangent/adapters";
 * const U = unitColumns(normal(key(0), [6, 3], { dtype: "float64" }));
 * const Gamma = householderWY(U); // I + U Γ Uᵀ = H₀H₁H₂
 * ```
 */
export function householderWY(Uhat: Tensor): Tensor {
  const G = matmulT(Uhat, Uhat, true, false);
  // (I + 2·striu(G))⁻¹ with matrix products only (the strict triangle is nilpotent), so HRA runs on any backend
  return mul(unitTriangularInverse(mul(G, 2), { lower: false }), -2);
}

/**
 * Modified Gram–Schmidt on the columns of U (PEFT's order): `w₀ = u₀/‖u₀‖`; `v ← uᵢ`, then
 * `v ← v − (wⱼᵀv) wⱼ` for j < i with the updated v; `wᵢ = v/‖v‖`.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { gramSchmidt } from "@tangent/tangent/adapters";
 * gramSchmidt(tensor([[1, 1], [0, 1]], { dtype: "float64" })); // [[1, 0], [0, 1]]
 * ```
 */
export function gramSchmidt(U: Tensor): Tensor {
  checkTensor("gramSchmidt", U);
  const cols: Tensor[] = [];
  for (let i = 0; i < U.shape[1]; i++) {
    let v = slice(U, [null, [i, i + 1]]);
    for (const w of cols) v = sub(v, mul(w, sum(mul(w, v))));
    cols.push(div(v, norm(v)));
  }
  return concat(cols, 1);
}

/**
 * The reflection as `H = I + V Γ Vᵀ`: for plain HRA, V = Û and Γ from `householderWY`; for the
 * Gram–Schmidt variant, V = Ŵ and Γ = −2I.
 */
function factors(U: Tensor, gs: boolean): { V: Tensor; Gamma: Tensor } {
  if (gs) {
    const V = gramSchmidt(U);
    return { V, Gamma: mul(eye(U.shape[1], { dtype: U.dtype, like: U }), -2) };
  }
  const V = unitColumns(U);
  return { V, Gamma: householderWY(V) };
}

/** `M H` (or `M Hᵀ`) for the rows of M, `[..., in]`: `M + ((M V) Γ) Vᵀ`. */
function timesH(M: Tensor, V: Tensor, Gamma: Tensor, transpose = false): Tensor {
  const MV = rowsMatmul(M, V);
  const low = rowsMatmulT(matmulT(MV, Gamma, false, transpose), V);
  return M.add(unflattenRows(M, low));
}

/**
 * The frozen weight of a folded HRA: `W H₀ᵀ`, H₀ the reflection of the initial vectors `U0`
 * (Householder product, or `I − 2Ŵ₀Ŵ₀ᵀ` with `gramSchmidt`); what `hra`'s init freezes and what
 * `fromPeft` rebuilds from PEFT's base weight and `hra_u0`.
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { hraFoldedWeight } from "./hra.ts";
 * const W0 = hraFoldedWeight(normal(key(0), [3, 6]), normal(key(1), [6, 2]), true); // [3, 6]
 * ```
 */
export function hraFoldedWeight(weight: Tensor, U0: Tensor, gramSchmidt: boolean): Tensor {
  const { V, Gamma } = factors(U0, gramSchmidt);
  return timesH(weight, V, Gamma, true);
}

/**
 * HRA: `W' = W H`, `H = Π(I − 2ûᵢûᵢᵀ) = I + ÛΓÛᵀ` with the columns of U normalised in every
 * forward pass (as PEFT does); `y = x (W H)ᵀ + b = (x + ((x Û) Γᵀ) Ûᵀ) Wᵀ + b` costs
 * O(batch·in·r) on top of the base layer. Unmerge is `W' Hᵀ` (H is orthogonal).
 *
 * Initialisation: for even r the columns come in identical pairs (u₀, u₀, u₁, u₁, …), each half
 * kaiming-uniform, so each pair of reflections cancels and H = I (as PEFT does); for odd r they
 * are independent and H ≠ I (`identityAtInit` is false).
 *
 * Regulariser (the paper's): `λ‖I − ÛᵀÛ‖_F`. Parameters: in·r.
 *
 * Gram–Schmidt variant (`gramSchmidt: true`, PEFT's `apply_GS`): `H = I − 2ŴŴᵀ` with Ŵ the
 * modified Gram–Schmidt of U. PEFT initialises it with the same pairs, which Gram–Schmidt turns
 * into rounding noise (the second vector of a pair is u − (ŵᵀu)ŵ ≈ 1e-16, then normalised), so its
 * start is neither the identity nor reproducible, and the gradient of that normalisation is huge.
 * Here the columns start independent instead, and the initial reflection H₀ (an involution) is
 * folded into the frozen weight, `W_frozen = W H₀`, so the adapted layer `W_frozen H` starts
 * exactly at W (as PiSSA keeps a residual). Loading PEFT's tensors with `fromPeft` keeps PEFT's
 * semantics (frozen weight = base weight): `foldInit: false`.
 *
 * `peftConfig()`: PEFT's HRA config (`r`, `apply_GS`, `init_weights`) when PEFT rebuilds the same
 * layer from it and `hra_u`, with the Tangent-only options under `tangent` (`lambda`, which only
 * adds the regulariser, and `manifold`: on "oblique", or on "stiefel" unfolded, PEFT's forward is
 * the same since it normalises the columns anyway; only Tangent's optimizers use the manifold).
 * A folded layer (`gramSchmidt` or "stiefel" with `foldInit`) is `peft_type: "HRA_FOLDED"`, which
 * PEFT refuses rather than silently computing `W H` instead of `W H₀ᵀ H`: PEFT cannot rebuild it
 * from the base weight, `hra_u` and a config. `frozenToPeft(frozen)` gives the initial vectors as
 * `hra_u0` (`[in, r]`), from which `fromPeft` rebuilds the frozen weight `W H₀ᵀ` bit for bit. (To
 * run it in PEFT, replace the base weight by `frozen.weight`, or note that `H₀ᵀ H` is itself a
 * product of 2r reflections, a plain PEFT HRA of rank 2r.)
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { hra } from "@tangent/tangent/adapters";
 * const ad = hra({ r: 4, lambda: 1e-4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // equals x Wᵀ at init
 * ```
 */
export function hra(opts: HraOptions): PeftAdapter<HraParams, Frozen> {
  requireOptions(
    "hra",
    opts,
    "{ r: 8 }",
    optionKeys<HraOptions>({ r: true, lambda: true, gramSchmidt: true, manifold: true, foldInit: true }),
  );
  const r = opts.r, lambda = opts.lambda ?? 0, gs = opts.gramSchmidt ?? false, on = opts.manifold;
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`hra: r must be a positive integer, got ${r}`);
  if (!(lambda >= 0)) throw new DomainError(`hra: lambda must be ≥ 0, got ${lambda}`);
  if (on !== undefined && on !== "oblique" && on !== "stiefel") {
    throw new DomainError(`hra: manifold must be "oblique" or "stiefel", got '${on}'`);
  }
  if (on && gs) {
    throw new DomainError(`hra: gramSchmidt and manifold exclude each other; on "stiefel" no Gram–Schmidt is needed`);
  }
  const foldable = gs || on === "stiefel";
  if (opts.foldInit === true && !foldable) {
    throw new DomainError(`hra: foldInit applies with gramSchmidt or manifold "stiefel" only`);
  }
  const fold = foldable && opts.foldInit !== false;
  return {
    kind: gs ? "hra_gs" : "hra",
    identityAtInit: fold || (!foldable && r % 2 === 0),
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [, inF] = baseShape("hra", base);
        if (r > inF) throw new ShapeError(`hra: r = ${r} reflections exceed the input dimension ${inF}`);
        const dtype = floatDType(base);
        const k = split(key, 1)[0];
        if (fold || on === "stiefel") {
          // independent columns (Gram–Schmidt stays well conditioned) or a random Stiefel point;
          // folded: the initial reflection H₀ goes into the frozen weight, W_frozen = W H₀ᵀ
          const U = on === "stiefel" ? stiefel(inF, r).random(k, { dtype }) : kaimingUniform(k, [inF, r], dtype);
          const weight = fold ? hraFoldedWeight(base.weight, U, gs) : base.weight;
          return { params: { U }, frozen: { weight, bias: base.bias, ...(fold ? { U0: U } : {}) } };
        }
        let U: Tensor;
        if (r % 2 === 0) {
          // repeat_interleave(half, 2): columns (c₀, c₀, c₁, c₁, …) so Hᵢ Hᵢ₊₁ = I
          const half = kaimingUniform(k, [inF, r / 2], dtype);
          U = broadcastTo(half.reshape([inF, r / 2, 1]), [inF, r / 2, 2]).reshape([inF, r]);
        } else {
          U = kaimingUniform(k, [inF, r], dtype);
        }
        return {
          params: { U: on === "oblique" ? oblique(inF, r).project(U) : U },
          frozen: { weight: base.weight, bias: base.bias },
        };
      });
    },
    apply(p: HraParams, f: Frozen, x: Tensor): Tensor {
      // y = x (W H)ᵀ + b = x Wᵀ + b + ((x V) Γᵀ)(W V)ᵀ: the base product plus a rank-r update, whose
      // backward needs only rank-r products (written as (x Hᵀ) Wᵀ it would need a second x·W-sized one)
      const { V, Gamma } = factors(p.U, gs);
      const WV = matmulT(f.weight, V, false, false);
      const low = rowsMatmulT(matmulT(rowsMatmul(x, V), Gamma, false, true), WV);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge(p: HraParams, f: Frozen): Tensor {
      // W H = W + ((W V) Γ) Vᵀ
      const { V, Gamma } = factors(p.U, gs);
      return timesH(f.weight, V, Gamma);
    },
    unmerge(p: HraParams, _f: Frozen, merged: Tensor): Tensor {
      // W = W' Hᵀ = W' + ((W' V) Γᵀ) Vᵀ
      const { V, Gamma } = factors(p.U, gs);
      return timesH(merged, V, Gamma, true);
    },
    regularizer(p: HraParams): Tensor {
      // λ‖I − ÛᵀÛ‖_F
      const Uh = unitColumns(p.U);
      const G = matmulT(Uh, Uh, true, false);
      return mul(norm(sub(eye(r, { dtype: G.dtype, like: G }), G)), lambda);
    },
    trainableCount: (p: HraParams): number => countScalars(p),
    toPeft: (t: HraParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig(): PeftConfig {
      if (fold) {
        return tangentPeftConfig("HRA_FOLDED", { r, apply_GS: gs, manifold: on ?? null, lambda });
      }
      const config = { peft_type: "HRA", r, apply_GS: gs, init_weights: true };
      return withTangentExtras(config, { lambda: lambda || undefined, manifold: on });
    },
    frozenToPeft: (f: Frozen, o?: PeftNameOptions) => renameToPeft(FROZEN_NAMES, f as never, o),
    orthogonalFactors(p: HraParams): Tensor[] {
      // the dense in × in H (for tests and diagnostics only), and U itself on Stiefel
      const { V, Gamma } = factors(p.U, gs);
      const H = timesH(eye(p.U.shape[0], { dtype: p.U.dtype, like: p.U }), V, Gamma);
      return on === "stiefel" ? [H, p.U] : [H];
    },
  };
}
