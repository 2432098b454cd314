/**
 * LoRA (Hu et al. 2021) and its initialisations: ΔW = s·B A with A `[r, in]`, B `[out, r]`,
 * s = α/r (or α/√r with rsLoRA, Kalajdzievski 2023). PiSSA (Meng et al. 2024) and OLoRA
 * (Büyükakyüz 2024) start A, B from the principal part of W and freeze the residual instead of W.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { optionKeys, requireOptions } from "../core/options.ts";
import { div, matmul, mul, slice, sqrt, sub, zeros } from "../core/ops/mod.ts";
import { normal, split } from "../core/random.ts";
import type { Key } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
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
import { qr, svd } from "../core/linalg/mod.ts";

/** LoRA's trainable factors: ΔW = s·B A. */
export interface LoraParams {
  /** Down-projection `[r, in]` (PEFT `lora_A.weight`). */
  readonly A: Tensor;
  /** Up-projection `[out, r]` (PEFT `lora_B.weight`). */
  readonly B: Tensor;
}

/** How LoRA's factors start. */
export type LoraInit = "kaiming" | "gaussian" | "pissa" | "olora";

/** Options of `lora` and `dora`. */
export interface LoraOptions {
  /** Rank r. */
  r: number;
  /** α in the scale s = α/r (default r, so s = 1). */
  alpha?: number;
  /** rsLoRA: s = α/√r instead of α/r (default false). */
  rslora?: boolean;
  /**
   * Initialisation (default "kaiming"):
   * - "kaiming": A ~ U(±1/√in) (PyTorch's kaiming_uniform with a = √5), B = 0;
   * - "gaussian": A ~ N(0, (1/r)²) (PEFT's `init_lora_weights="gaussian"`), B = 0;
   * - "pissa": SVD W = U diag(σ) Vᵀ, A = diag(√(σ_r/s)) V_rᵀ, B = U_r diag(√(σ_r/s)), and the frozen
   *   weight becomes W − s·B A (the residual);
   * - "olora": reduced QR W = Q R, B = Q_r, A = R_r (first r rows), frozen weight W − s·B A.
   */
  init?: LoraInit;
}

/** The option names of `lora` and `dora`. @internal */
export const LORA_KEYS: readonly string[] = optionKeys<LoraOptions>({ r: true, alpha: true, rslora: true, init: true });

/**
 * The LoRA scale s = α/r, or α/√r with rsLoRA.
 * @example
 * ```ts
 * import { loraScale } from "@tangent/tangent/adapters";
 * loraScale({ r: 4, alpha: 8 }); // 2
 * loraScale({ r: 4, alpha: 8, rslora: true }); // 4
 * ```
 */
export function loraScale(opts: LoraOptions): number {
  requireOptions("loraScale", opts, "{ r: 8, alpha: 16 }");
  const alpha = opts.alpha ?? opts.r;
  return opts.rslora ? alpha / Math.sqrt(opts.r) : alpha / opts.r;
}

const LORA_NAMES = [peftName("A", "lora_A", ".weight"), peftName("B", "lora_B", ".weight")];

function checkRank(op: string, r: number, out: number, inF: number): void {
  if (!Number.isInteger(r) || r < 1) throw new ShapeError(`${op}: rank r must be a positive integer, got ${r}`);
  if (r > Math.min(out, inF)) {
    throw new ShapeError(
      `${op}: rank r = ${r} exceeds min(out, in) = ${Math.min(out, inF)} of the ${out} × ${inF} weight`,
    );
  }
}

/**
 * LoRA's factors and frozen weight at initialisation (shared by `lora` and `dora`).
 * Returns the frozen weight too: the residual for PiSSA and OLoRA, W itself otherwise.
 */
export function loraInit(op: string, opts: LoraOptions, key: Key, base: LinearBase): LoraParams & { W: Tensor } {
  const [out, inF] = baseShape(op, base);
  const r = opts.r;
  checkRank(op, r, out, inF);
  const dtype = floatDType(base);
  const s = loraScale(opts);
  const W = base.weight;
  switch (opts.init ?? "kaiming") {
    case "kaiming":
      return { A: kaimingUniform(key, [r, inF], dtype), B: zeros([out, r], { dtype }), W };
    case "gaussian":
      return { A: mul(normal(key, [r, inF], { dtype }), 1 / r), B: zeros([out, r], { dtype }), W };
    case "pissa": {
      // W = U diag(σ) Vᵀ; A = diag(√(σ_r/s)) V_rᵀ, B = U_r diag(√(σ_r/s)); W_res = W − s·B A
      const { U, S, Vh } = svd(W);
      const root = sqrt(div(slice(S, [[0, r]]), s));
      const A = mul(slice(Vh, [[0, r], null]), root.reshape([r, 1]));
      const B = mul(slice(U, [null, [0, r]]), root);
      return { A, B, W: sub(W, mul(matmul(B, A), s)) };
    }
    case "olora": {
      // W = Q R (reduced); B = Q_r, A = R_r; W_res = W − s·B A
      const { Q, R } = qr(W);
      const A = slice(R, [[0, r], null]), B = slice(Q, [null, [0, r]]);
      return { A, B, W: sub(W, mul(matmul(B, A), s)) };
    }
    default:
      throw new DomainError(`${op}: unknown init '${opts.init}'; use "kaiming", "gaussian", "pissa" or "olora"`);
  }
}

/**
 * PEFT's LoRA config fields for `opts` (shared by `lora` and `dora`): `r`, `lora_alpha`,
 * `use_rslora`, `use_dora`, `init_lora_weights` (true for "kaiming", or "gaussian" / "pissa" /
 * "olora").
 * @example
 * ```ts
 * import { loraPeftConfig } from "./lora.ts";
 * loraPeftConfig({ r: 4, alpha: 8 }, false); // { peft_type: "LORA", r: 4, lora_alpha: 8, use_rslora: false, … }
 * ```
 */
export function loraPeftConfig(opts: LoraOptions, dora: boolean): PeftConfig {
  const init = opts.init ?? "kaiming";
  return {
    peft_type: "LORA",
    r: opts.r,
    lora_alpha: opts.alpha ?? opts.r,
    use_rslora: opts.rslora ?? false,
    use_dora: dora,
    init_lora_weights: init === "kaiming" ? true : init,
  };
}

/**
 * LoRA: `y = x Wᵀ + b + s·(x Aᵀ) Bᵀ`, merged `W + s·B A`, s = α/r (α/√r with `rslora`).
 * Parameters: r(in + out). With `init: "pissa" | "olora"` the frozen weight is the residual
 * `W − s·B₀A₀`, so the adapted layer still starts equal to the base layer.
 *
 * `peftConfig()` is PEFT's LoRA config (`loraPeftConfig`). PiSSA and OLoRA: the frozen residual is
 * not saved; PEFT (whose `pissa_init` / `olora_init` run again when it loads the adapter, on the
 * original base weight, in float32, and refuse a float64 base) and `fromPeft` (same SVD / QR as
 * `init`, bit for bit) recompute it from the original weight. PEFT's float32 residual differs from a
 * float64 one by float32 rounding (≈1e-7 relative; the residual does not depend on SVD / QR sign
 * conventions).
 * @example
 * ```ts
 * import { key, normal, zeros } from "@tangent/tangent";
 * import { lora } from "@tangent/tangent/adapters";
 * const ad = lora({ r: 4, alpha: 8 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]), bias: zeros([12]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function lora(opts: LoraOptions): PeftAdapter<LoraParams, Frozen> {
  requireOptions("lora", opts, "{ r: 8 }", LORA_KEYS);
  checkAlpha("lora", opts?.alpha);
  const s = loraScale(opts);
  const delta = (p: LoraParams) => mul(matmul(p.B, p.A), s);
  return {
    kind: "lora",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const { A, B, W } = loraInit("lora", opts, split(key, 1)[0], base);
        return { params: { A, B }, frozen: { weight: W, bias: base.bias } };
      });
    },
    apply(p: LoraParams, f: Frozen, x: Tensor): Tensor {
      // y = x Wᵀ + b + s·(x Aᵀ) Bᵀ
      const low = mul(rowsMatmulT(rowsMatmulT(x, p.A), p.B), s);
      return frozenLinear(x, f.weight, f.bias).add(unflattenRows(x, low));
    },
    merge: (p: LoraParams, f: Frozen): Tensor => f.weight.add(delta(p)),
    unmerge: (p: LoraParams, _f: Frozen, merged: Tensor): Tensor => sub(merged, delta(p)),
    regularizer: (p: LoraParams): Tensor => zeroLike(p),
    trainableCount: (p: LoraParams): number => countScalars(p),
    toPeft: (t: LoraParams, o?: PeftNameOptions) => renameToPeft(LORA_NAMES, t as never, o),
    peftConfig: () => loraPeftConfig(opts, false),
  };
}
