/**
 * Loading PEFT adapters: `fromPeft` builds the adapter with PEFT's own parameterisation from a
 * PEFT config (`adapter_config.json`) and state-dict tensors.
 * @module
 */
import { FormatError } from "../core/errors.ts";
import { matrixTranspose, slice } from "../core/ops/mod.ts";
import { key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Adapter, findPeftTensor, type Frozen, type LinearBase } from "./adapter.ts";
import { boft } from "./boft.ts";
import { dora } from "./dora.ts";
import { hra } from "./hra.ts";
import { loha } from "./loha.ts";
import { lokr } from "./lokr.ts";
import { lora, type LoraInit, loraInit } from "./lora.ts";
import { blockSizeOfPacked, oft } from "./oft.ts";
import { vera } from "./vera.ts";

/** A PEFT config as PEFT serialises it (`adapter_config.json`); only the fields used are typed. */
export interface PeftConfig {
  /** "LORA", "HRA", "OFT", "BOFT", "LOHA", "LOKR" or "VERA". */
  peft_type: string;
  /** Other fields (`r`, `lora_alpha`, `use_dora`, `apply_GS`, `oft_block_size`, …). */
  [field: string]: unknown;
}

/** Input of `fromPeft`. */
export interface FromPeftOptions {
  /** PEFT's config. */
  config: PeftConfig;
  /**
   * The layer before PEFT touched it (out × in; with `fan_in_fan_out` in the config, the stored
   * in × out Conv1D weight, which is transposed here).
   */
  base: LinearBase;
  /**
   * Tensors by PEFT's state-dict names, with or without the `.default` adapter segment and any
   * module prefix (`base_model.model.proj.lora_A.default.weight`, `lora_A.weight`, …).
   */
  tensors: Record<string, Tensor>;
  /** Adapter name to pick when the tensors hold several (default: the only one present). */
  adapterName?: string;
  /**
   * PiSSA / OLoRA: `base.weight` already is the residual `W − s·B₀A₀` (default false: it is the
   * original weight and the residual is recomputed by SVD / QR, as PEFT does when it loads).
   */
  baseIsResidual?: boolean;
}

/** What `fromPeft` returns: the adapter and its state. */
export interface FromPeftResult {
  /** The adapter, with PEFT's parameterisation. */
  // deno-lint-ignore no-explicit-any
  adapter: Adapter<any, any>;
  /** Trainable parameters in Tangent's names (`adapter.toPeft` maps them back). */
  params: Record<string, Tensor>;
  /** Frozen tensors, the base weight and bias included. */
  frozen: Frozen;
}

function num(config: PeftConfig, field: string, fallback?: number): number {
  const v = config[field] ?? fallback;
  if (typeof v !== "number") {
    throw new FormatError(`fromPeft: config.${field} must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function refuse(config: PeftConfig, field: string, ok: (v: unknown) => boolean, why: string): void {
  if (config[field] !== undefined && config[field] !== null && !ok(config[field])) {
    throw new FormatError(`fromPeft: ${config.peft_type} with ${field} = ${JSON.stringify(config[field])} ${why}`);
  }
}

/**
 * Builds `{ adapter, params, frozen }` from PEFT's config and tensors so that `adapter.apply`
 * reproduces PEFT's forward (eval mode: dropouts are the identity), gradients included, and
 * `adapter.toPeft(grads)` gives PEFT's names. Supported: LoRA (rsLoRA, DoRA, PiSSA, OLoRA, Gaussian),
 * HRA (with and without Gram–Schmidt), OFT (Cayley–Neumann or exact, block sharing), BOFT, LoHa,
 * LoKr and VeRA on linear layers. PiSSA and OLoRA rebuild PEFT's residual base weight from
 * `base.weight` by SVD / QR unless `baseIsResidual`.
 * @example
 * ```ts
 * import { normal, key } from "../mod.ts";
 * import { fromPeft } from "./mod.ts";
 * const { adapter, params, frozen } = fromPeft({
 *   config: { peft_type: "LORA", r: 2, lora_alpha: 4 },
 *   base: { weight: normal(key(0), [3, 4]) },
 *   tensors: { "lora_A.weight": normal(key(1), [2, 4]), "lora_B.weight": normal(key(2), [3, 2]) },
 * });
 * const y = adapter.apply(params, frozen, normal(key(3), [5, 4])); // [5, 3]
 * ```
 */
export function fromPeft(opts: FromPeftOptions): FromPeftResult {
  const { config } = opts;
  const get = (name: string, optional = false) =>
    findPeftTensor(opts.tensors, name, { adapterName: opts.adapterName, optional });
  const weight = config.fan_in_fan_out === true ? matrixTranspose(opts.base.weight) : opts.base.weight;
  const base: LinearBase = { weight, bias: opts.base.bias };
  const frozen: Frozen = { weight, bias: opts.base.bias };
  const type = String(config.peft_type).toUpperCase();
  switch (type) {
    case "LORA": {
      refuse(config, "lora_bias", (v) => v === false, "is not supported (a trainable LoRA bias)");
      refuse(config, "use_qalora", (v) => v === false, "is not supported");
      const A = get("lora_A")!, B = get("lora_B")!;
      const r = A.shape[0];
      const alpha = num(config, "lora_alpha", 8), rslora = config.use_rslora === true;
      const iw = config.init_lora_weights ?? true;
      const init: LoraInit = iw === "pissa" || iw === "olora" || iw === "gaussian" ? iw : "kaiming";
      if (typeof iw === "string" && iw !== init) {
        throw new FormatError(
          `fromPeft: init_lora_weights = "${iw}" cannot be rebuilt exactly; pass the residual base weight with baseIsResidual: true`,
        );
      }
      const o = { r, alpha, rslora, init };
      // PiSSA / OLoRA: the frozen weight is the residual W − s·B₀A₀, rebuilt as PEFT's init computes it
      const residual = (init === "pissa" || init === "olora") && !opts.baseIsResidual;
      const fz = residual ? { ...frozen, weight: loraInit("fromPeft", o, makeKey(0), base).W } : frozen;
      if (config.use_dora === true) {
        const m = get("lora_magnitude_vector")!;
        return { adapter: dora(o), params: { A, B, m }, frozen: fz };
      }
      return { adapter: lora(o), params: { A, B }, frozen: fz };
    }
    case "HRA": {
      const U = get("hra_u")!;
      return { adapter: hra({ r: U.shape[1], gramSchmidt: config.apply_GS === true }), params: { U }, frozen };
    }
    case "OFT": {
      refuse(config, "coft", (v) => v === false, "is not supported (constrained OFT rewrites its parameter)");
      refuse(config, "oft_scaled", (v) => v === false, "is not supported");
      refuse(config, "oft_cans", (v) => v === false, "is not supported");
      const R = get("oft_R")!;
      const blockSize = blockSizeOfPacked(R.shape[1]);
      const cayley = config.use_cayley_neumann === false ? "exact" : "neumann";
      const terms = num(config, "num_cayley_neumann_terms", 5);
      return {
        adapter: oft({ blockSize, cayley, terms, blockShare: config.block_share === true }),
        params: { R },
        frozen,
      };
    }
    case "BOFT": {
      const R = get("boft_R")!, s = get("boft_s")!;
      return { adapter: boft({ blockSize: R.shape[2], butterflyFactors: R.shape[0] }), params: { R, s }, frozen };
    }
    case "LOHA": {
      refuse(config, "use_effective_conv2d", (v) => v === false, "applies to convolutions only");
      const params = { w1a: get("hada_w1_a")!, w1b: get("hada_w1_b")!, w2a: get("hada_w2_a")!, w2b: get("hada_w2_b")! };
      const r = params.w1a.shape[1];
      return { adapter: loha({ r, alpha: num(config, "alpha", 8) }), params, frozen };
    }
    case "LOKR": {
      const names = ["w1", "w1a", "w1b", "w2", "w2a", "w2b"] as const;
      const peft = ["lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b"];
      const params: Record<string, Tensor> = {};
      names.forEach((n, i) => {
        const t = get(peft[i], true);
        if (t) params[n] = t;
      });
      if (!(params.w1 || (params.w1a && params.w1b)) || !(params.w2 || (params.w2a && params.w2b))) {
        throw new FormatError(`fromPeft: LoKr needs lokr_w1 (or _a and _b) and lokr_w2 (or _a and _b)`);
      }
      const r = num(config, "r", 8);
      return {
        adapter: lokr({
          r,
          alpha: num(config, "alpha", 8),
          decomposeBoth: config.decompose_both === true,
          decomposeFactor: num(config, "decompose_factor", -1),
        }),
        params,
        frozen,
      };
    }
    case "VERA": {
      const lambdaB = get("vera_lambda_b")!, lambdaD = get("vera_lambda_d")!;
      const A = get("vera_A")!, B = get("vera_B")!;
      const [out, inF] = weight.shape;
      const r = lambdaD.shape[0];
      const fz = { ...frozen, A: slice(A, [null, [0, inF]]), B: slice(B, [[0, out], null]) };
      return { adapter: vera({ r, projection: { A, B } }), params: { lambdaB, lambdaD }, frozen: fz };
    }
    default:
      throw new FormatError(
        `fromPeft: peft_type '${config.peft_type}' is not supported; use LORA, HRA, OFT, BOFT, LOHA, LOKR or VERA`,
      );
  }
}
