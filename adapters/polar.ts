/**
 * PoLAR (Lion, Zhang, Li & He 2025, arXiv 2506.03133): polar-decomposed low-rank adaptation,
 * ΔW = (α/r)·X Θ Yᵀ with X and Y on Stiefel manifolds (direction) and Θ an r × r scale.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { diag, matmulT, mul, sub, zeros } from "../core/ops/mod.ts";
import { type Key, split } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Point, type Stiefel, stiefel } from "../manifolds/mod.ts";
import {
  baseShape,
  checkAlpha,
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
  rowsMatmul,
  rowsMatmulT,
  tangentPeftConfig,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";

/** PoLAR's trainable tensors. */
export interface PolarParams {
  /** Output directions, a point of St(out, r) (reference code `lora_B`). */
  readonly X: Point<Stiefel> | Tensor;
  /** Input directions, a point of St(in, r) (`lora_A` is Yᵀ). */
  readonly Y: Point<Stiefel> | Tensor;
  /** Θ: `[r, r]` ("full") or its diagonal `[r]` ("diagonal"); absent for "identity" (`lora_S`). */
  readonly Theta?: Tensor;
}

/** How Θ is parameterised. */
export type PolarTheta = "full" | "diagonal" | "identity";

/** Options of `polar`. */
export interface PolarOptions {
  /** Rank r. */
  r: number;
  /** α in the scale α/r (default r). */
  alpha?: number;
  /**
   * "full" (default; the reference code's "identity" parametrisation, Θ free in ℝ^{r×r}),
   * "diagonal" (Θ = diag(θ)), or "identity" (Θ = I fixed, the reference code's "removal":
   * ΔW = (α/r)XYᵀ ≠ 0 at init, so `identityAtInit` is false).
   */
  theta?: PolarTheta;
}

const NAMES = [
  peftName("A", "lora_A", ".weight"),
  peftName("B", "lora_B", ".weight"),
  peftName("S", "lora_S", ".weight"),
];

/**
 * PoLAR: `y = x Wᵀ + b + (α/r)·((x Y) Θᵀ) Xᵀ`, merged `W + (α/r) X Θ Yᵀ`, with X ∈ St(out, r) and
 * Y ∈ St(in, r) as manifold points (uniform random at init, as `orthogonal_`) and Θ = 0 at init.
 * Train X and Y with `landing({ lambda, base: adam(...) })` from `manifolds` (PoLAR's choice: the
 * landing field replaces their gradients, Θ gets its plain gradient) or with `riemannianAdam`.
 * `orthogonalFactors` returns [X, Y]. Parameters: r(out + in) + r² ("full"), + r ("diagonal").
 *
 * `peftConfig()`: `peft_type: "POLAR"` (PEFT 0.21 has none; `fromPeft` loads it, X and Y as
 * Stiefel points) with `r`, `lora_alpha`, `theta`; tensors `lora_A` = Yᵀ, `lora_B` = X, `lora_S` = Θ
 * as an r × r matrix (diag(θ) for "diagonal", whose diagonal `fromPeft` reads back; none for
 * "identity").
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { polar } from "@tangent/tangent/adapters";
 * const ad = polar({ r: 4, alpha: 8 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function polar(opts: PolarOptions): PeftAdapter<PolarParams, Frozen> {
  requireOptions("polar", opts, "{ r: 8 }", optionKeys<PolarOptions>({ r: true, alpha: true, theta: true }));
  checkAlpha("polar", opts?.alpha);
  const r = opts.r, s = (opts.alpha ?? r) / r, theta = opts.theta ?? "full";
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`polar: r must be a positive integer, got ${r}`);
  if (theta !== "full" && theta !== "diagonal" && theta !== "identity") {
    throw new DomainError(`polar: theta must be "full", "diagonal" or "identity", got '${theta}'`);
  }
  // Θ as a matrix (for merge and naming)
  const thetaMatrix = (p: PolarParams): Tensor | undefined =>
    theta === "full" ? p.Theta! : theta === "diagonal" ? diag(p.Theta!) : undefined;
  // (α/r) X Θ Yᵀ
  const delta = (p: PolarParams): Tensor => {
    const T = thetaMatrix(p);
    const XT = T ? matmulT(p.X, T, false, false) : p.X;
    return mul(matmulT(XT, p.Y, false, true), s);
  };
  return {
    kind: "polar",
    identityAtInit: theta !== "identity",
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const [out, inF] = baseShape("polar", base);
        if (r > Math.min(out, inF)) {
          throw new ShapeError(`polar: r = ${r} exceeds min(out, in) = ${Math.min(out, inF)}`);
        }
        const dtype = floatDType(base);
        const [kx, ky] = split(key);
        const params: PolarParams = {
          X: stiefel(out, r).random(kx, { dtype }),
          Y: stiefel(inF, r).random(ky, { dtype }),
          ...(theta === "identity" ? {} : { Theta: zeros(theta === "full" ? [r, r] : [r], { dtype }) }),
        };
        return { params, frozen: { weight: base.weight, bias: base.bias } };
      });
    },
    apply(p: PolarParams, f: Frozen, x: Tensor): Tensor {
      // y = x Wᵀ + b + (α/r)·((x Y) Θᵀ) Xᵀ
      let z = rowsMatmul(x, p.Y);
      if (theta === "full") z = matmulT(z, p.Theta!, false, true);
      else if (theta === "diagonal") z = mul(z, p.Theta!);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, mul(rowsMatmulT(z, p.X), s)));
    },
    merge: (p: PolarParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: PolarParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: PolarParams): Tensor => zeroLike(p),
    trainableCount: (p: PolarParams): number => countScalars(p),
    toPeft: (t: PolarParams, o?: PeftNameOptions) =>
      renameToPeft(NAMES, { A: t.Y.mT, B: t.X, ...(t.Theta ? { S: thetaMatrix(t) } : {}) }, o),
    peftConfig: (): PeftConfig => tangentPeftConfig("POLAR", { r, lora_alpha: opts.alpha ?? r, theta }),
    orthogonalFactors: (p: PolarParams): Tensor[] => [p.X, p.Y],
  };
}
