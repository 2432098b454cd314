/**
 * DoRA (Liu et al. 2024): weight-decomposed LoRA. The adapted weight is
 * `W' = diag(m / ‖W + s·B A‖_row) (W + s·B A)`: a trainable magnitude m per output row times the
 * row-normalised LoRA-adapted direction.
 * @module
 */
import { requireOptions } from "../core/options.ts";
import { div, matmul, mul, norm, sub } from "../core/ops/mod.ts";
import { split } from "../core/random.ts";
import type { Key } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { stopGradient } from "../autodiff/grad.ts";
import {
  checkAlpha,
  countScalars,
  type Frozen,
  frozenLinear,
  type LinearBase,
  onBaseBackend,
  type PeftAdapter,
  peftName,
  type PeftNameOptions,
  renameToPeft,
  rowsMatmulT,
  unflattenRows,
  zeroLike,
} from "./adapter.ts";
import { LORA_KEYS, loraInit, type LoraOptions, loraPeftConfig, loraScale } from "./lora.ts";

/** DoRA's trainable tensors. */
export interface DoraParams {
  /** LoRA down-projection `[r, in]`. */
  readonly A: Tensor;
  /** LoRA up-projection `[out, r]`. */
  readonly B: Tensor;
  /** Magnitude per output row `[out]` (PEFT `lora_magnitude_vector`). */
  readonly m: Tensor;
}

const NAMES = [
  peftName("A", "lora_A", ".weight"),
  peftName("B", "lora_B", ".weight"),
  peftName("m", "lora_magnitude_vector", ".weight", ""),
];

/**
 * DoRA: `y = k ⊙ (x Wᵀ + s·(x Aᵀ) Bᵀ) + b` with `k = m / n`, `n = ‖W + s·B A‖` per output row.
 * As the paper's §4.3 prescribes and PEFT implements, n (and the B A inside it) is treated as a
 * constant by autodiff, so gradients are those of PEFT. m starts at `‖W‖_row`, so the layer starts
 * equal to the base. The bias is not scaled. Parameters: r(in + out) + out. `peftConfig()` is
 * PEFT's LoRA config with `use_dora: true` (PiSSA / OLoRA residuals as for `lora`).
 * @example
 * ```ts
 * import { key, normal } from "@tangent/tangent";
 * import { dora } from "@tangent/tangent/adapters";
 * const ad = dora({ r: 4 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const y = ad.apply(params, frozen, normal(key(2), [5, 16])); // [5, 12]
 * ```
 */
export function dora(opts: LoraOptions): PeftAdapter<DoraParams, Frozen> {
  requireOptions("dora", opts, "{ r: 8 }", LORA_KEYS);
  checkAlpha("dora", opts?.alpha);
  const s = loraScale(opts);
  const adapted = (p: LoraParamsLike, W: Tensor) => W.add(mul(matmul(p.B, p.A), s));
  // n = ‖W + s·B A‖ per row, detached
  const rowNorm = (p: DoraParams, W: Tensor) => stopGradient(norm(adapted(detached(p), W), { axis: 1 }));
  const magnitude = (p: DoraParams, W: Tensor) => div(p.m, rowNorm(p, W)).reshape([-1, 1]);
  return {
    kind: "dora",
    identityAtInit: true,
    init(key: Key, base: LinearBase) {
      return onBaseBackend(base, () => {
        const { A, B, W } = loraInit("dora", opts, split(key, 1)[0], base);
        const m = norm(adapted({ A, B }, W), { axis: 1 });
        return { params: { A, B, m }, frozen: { weight: W, bias: base.bias } };
      });
    },
    apply(p: DoraParams, f: Frozen, x: Tensor): Tensor {
      // y = k ⊙ (x Wᵀ + s·(x Aᵀ) Bᵀ) + b,  k = m / stopGradient(‖W + s·B A‖_row)
      const k = div(p.m, rowNorm(p, f.weight));
      const z = frozenLinear(x, f.weight).add(unflattenRows(x, mul(rowsMatmulT(rowsMatmulT(x, p.A), p.B), s)));
      const y = mul(z, k);
      return f.bias ? y.add(f.bias) : y;
    },
    merge: (p: DoraParams, f: Frozen): Tensor => mul(adapted(p, f.weight), magnitude(p, f.weight)),
    // merged = diag(m/n)(W + s·B A) with n from the frozen W, so W = merged·diag(n/m) − s·B A
    unmerge: (p: DoraParams, f: Frozen, merged: Tensor): Tensor =>
      sub(div(merged, magnitude(p, f.weight)), mul(matmul(p.B, p.A), s)),
    regularizer: (p: DoraParams): Tensor => zeroLike(p),
    trainableCount: (p: DoraParams): number => countScalars(p),
    toPeft: (t: DoraParams, o?: PeftNameOptions) => renameToPeft(NAMES, t as never, o),
    peftConfig: () => loraPeftConfig(opts, true),
  };
}

interface LoraParamsLike {
  readonly A: Tensor;
  readonly B: Tensor;
}

function detached(p: LoraParamsLike): LoraParamsLike {
  return { A: stopGradient(p.A), B: stopGradient(p.B) };
}
