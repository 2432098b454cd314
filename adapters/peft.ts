/**
 * Loading PEFT adapters: `fromPeft` builds the adapter with PEFT's own parameterisation from a
 * PEFT config (`adapter_config.json`) and state-dict tensors, checking every tensor first as
 * PEFT's `load_state_dict` does (`./peft_check.ts`).
 * @module
 */
import { FormatError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys, requireOptions } from "../core/options.ts";
import { diag, matrixTranspose } from "../core/ops/mod.ts";
import { key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { asPoint, oblique, stiefel } from "../manifolds/mod.ts";
import { baseShape, type Frozen, type LinearBase, type PeftAdapter, type PeftConfig } from "./adapter.ts";
import { boft } from "./boft.ts";
import { dora } from "./dora.ts";
import { hra, hraFoldedWeight } from "./hra.ts";
import { loha } from "./loha.ts";
import { lokh, lokhOutFactors } from "./lokh.ts";
import { factorization, lokr } from "./lokr.ts";
import { lora, type LoraInit, loraInit } from "./lora.ts";
import { oft } from "./oft.ts";
import { adjustOftParameter, intField, numField, patternValue, PeftState } from "./peft_check.ts";
import { polar, type PolarTheta } from "./polar.ts";
import { sorsa } from "./sorsa.ts";
import { vera } from "./vera.ts";

export type { PeftConfig } from "./adapter.ts";

/** Input of `fromPeft`. */
export interface FromPeftOptions {
  /** PEFT's config (or an adapter's `peftConfig()`). */
  config: PeftConfig;
  /**
   * The layer before PEFT touched it (out × in; with `fan_in_fan_out` in the config, the stored
   * in × out Conv1D weight, which is transposed here).
   */
  base: LinearBase;
  /**
   * Tensors by PEFT's state-dict names, with or without the `.default` adapter segment and any
   * module prefix (`base_model.model.proj.lora_A.default.weight`, `lora_A.weight`, …). Tensors of
   * other modules or adapters may be present; unused ones of this module are an error.
   */
  tensors: Record<string, Tensor>;
  /** Adapter name to pick when the tensors hold several (default: the only one present). */
  adapterName?: string;
  /**
   * PiSSA / OLoRA / SORSA: `base.weight` already is the residual `W − s·B₀A₀` (default false: it
   * is the original weight and the residual is recomputed by SVD / QR, as PEFT does when it loads).
   */
  baseIsResidual?: boolean;
  /**
   * The layer's name in the model (PEFT's key, e.g. `model.layers.0.self_attn.q_proj`), needed
   * only to resolve a non-empty `rank_pattern` / `alpha_pattern` as PEFT does.
   */
  module?: string;
}

/** What `fromPeft` returns: the adapter and its state. */
export interface FromPeftResult {
  /** The adapter, with PEFT's parameterisation. */
  // deno-lint-ignore no-explicit-any
  adapter: PeftAdapter<any, any>;
  /** Trainable parameters in Tangent's names (`adapter.toPeft` maps them back). */
  params: Record<string, Tensor>;
  /** Frozen tensors, the base weight and bias included. */
  frozen: Frozen;
}

/** What a reader sees: the options, the checked tensors, the (transposed) base and its sizes. */
interface Ctx {
  config: PeftConfig;
  opts: FromPeftOptions;
  st: PeftState;
  base: LinearBase;
  frozen: Frozen;
  out: number;
  inF: number;
}

/** Reads and checks one type's tensors, then returns the builder (run after the leftover check). */
type Reader = (c: Ctx) => () => FromPeftResult;

/** The fix for PEFT state an adapter does not hold. */
const MERGED =
  "load the merged model instead (in Python: model.merge_and_unload().save_pretrained(dir); then loadModel(dir))";

function refuse(config: PeftConfig, field: string, ok: (v: unknown) => boolean, why: string): void {
  if (config[field] !== undefined && config[field] !== null && !ok(config[field])) {
    throw new FormatError(`fromPeft: ${config.peft_type} with ${field} = ${JSON.stringify(config[field])} ${why}`);
  }
}

/** Tangent-only options recorded under `config.tangent`. */
function extras(config: PeftConfig): Record<string, unknown> {
  const t = config.tangent;
  if (t === undefined || t === null) return {};
  if (typeof t !== "object" || Array.isArray(t)) {
    throw new FormatError(
      `fromPeft: config.tangent must be an object of Tangent-only options, got ${JSON.stringify(t)}`,
    );
  }
  return t as Record<string, unknown>;
}

function manifoldField(v: unknown): "oblique" | "stiefel" | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === "oblique" || v === "stiefel") return v;
  throw new FormatError(`fromPeft: HRA manifold must be "oblique", "stiefel" or null, got ${JSON.stringify(v)}`);
}

/** rank and alpha of the LoRA family (`rank_pattern` / `alpha_pattern` resolved for `module`). */
function rankAlpha(c: Ctx, alphaField: string): { r: number; alpha: number } {
  const r = patternValue(c.config, "rank_pattern", c.opts.module, intField(c.config, "r", 8));
  const alpha = patternValue(c.config, "alpha_pattern", c.opts.module, numField(c.config, alphaField, 8));
  if (!Number.isInteger(r) || r < 1) throw new FormatError(`fromPeft: rank r must be a positive integer, got ${r}`);
  c.st.context += `; r = ${r} from the config`;
  return { r, alpha };
}

function checkRankFits(c: Ctx, r: number, why: string): void {
  if (r > Math.min(c.out, c.inF)) {
    throw new ShapeError(
      `fromPeft: ${c.st.type} rank r = ${r} exceeds min(out, in) = ${Math.min(c.out, c.inF)} of base.weight ` +
        `[${c.out}, ${c.inF}] (${why}); pass this layer's base weight and config`,
    );
  }
}

const lora_: Reader = (c) => {
  const { config, st, out, inF } = c;
  refuse(
    config,
    "lora_bias",
    (v) => v === false,
    `is not supported (a trainable bias on lora_B); ${MERGED}, or train with lora_bias = false`,
  );
  refuse(config, "use_qalora", (v) => v === false, "is not supported");
  const { r, alpha } = rankAlpha(c, "lora_alpha");
  const A = st.tensor("lora_A", [r, inF], "[r, in]");
  const B = st.tensor("lora_B", [out, r], "[out, r]");
  const useDora = config.use_dora === true;
  const m = useDora ? st.tensor("lora_magnitude_vector", [out], "[out]") : undefined;
  const rslora = config.use_rslora === true;
  const iw = config.init_lora_weights ?? true;
  const init: LoraInit = iw === "pissa" || iw === "olora" || iw === "gaussian" ? iw : "kaiming";
  // PEFT's "orthogonal" and "eva" only choose A and B (saved): the base weight stays as it was
  if (typeof iw === "string" && iw !== init && iw !== "orthogonal" && iw !== "eva" && !c.opts.baseIsResidual) {
    throw new FormatError(
      `fromPeft: init_lora_weights = "${iw}" changes the base weight in a way fromPeft does not rebuild; ` +
        `pass the residual base weight with baseIsResidual: true, or in Python save the adapter as a plain LoRA ` +
        `(save_pretrained(dir, path_initial_model_for_weight_conversion=<the adapter saved at init>)) or ${MERGED}`,
    );
  }
  // PiSSA / OLoRA: the frozen weight is the residual W − s·B₀A₀, rebuilt as PEFT's init computes it
  const residual = (init === "pissa" || init === "olora") && !c.opts.baseIsResidual;
  if (residual) checkRankFits(c, r, `init_lora_weights = "${init}"`);
  return (): FromPeftResult => {
    const o = { r, alpha, rslora, init };
    const frozen = residual ? { ...c.frozen, weight: loraInit("fromPeft", o, makeKey(0), c.base).W } : c.frozen;
    if (m) return { adapter: dora(o), params: { A, B, m }, frozen };
    return { adapter: lora(o), params: { A, B }, frozen };
  };
};

const hra_: Reader = (c) => {
  const { config, st, inF } = c;
  const r = intField(config, "r", 8);
  st.context += `; r = ${r} from config.r`;
  const U = st.tensor("hra_u", [inF, r], "[in, r]");
  const ex = extras(config);
  const manifold = manifoldField(ex.manifold);
  const lambda = ex.lambda === undefined ? 0 : numField(ex as PeftConfig, "lambda");
  const gs = config.apply_GS === true;
  const M = manifold === "oblique" ? oblique(inF, r) : manifold === "stiefel" ? stiefel(inF, r) : undefined;
  return () => ({
    adapter: hra({ r, gramSchmidt: gs, lambda, manifold, foldInit: false }),
    params: { U: M ? asPoint(U, M) : U },
    frozen: c.frozen,
  });
};

const hraFolded: Reader = (c) => {
  const { config, st, inF } = c;
  const r = intField(config, "r");
  st.context += `; r = ${r} from config.r`;
  const gs = config.apply_GS === true, manifold = manifoldField(config.manifold);
  if (gs === (manifold === "stiefel")) {
    throw new FormatError(
      `fromPeft: HRA_FOLDED needs exactly one of apply_GS = true and manifold = "stiefel", got apply_GS = ${gs}, ` +
        `manifold = ${JSON.stringify(config.manifold)}`,
    );
  }
  const lambda = numField(config, "lambda", 0);
  const U = st.tensor("hra_u", [inF, r], "[in, r]");
  const U0 = st.tensor("hra_u0", [inF, r], "[in, r] (the initial vectors whose reflection is folded in)");
  return () => ({
    adapter: hra({ r, gramSchmidt: gs, lambda, manifold, foldInit: true }),
    params: { U: manifold === "stiefel" ? asPoint(U, stiefel(inF, r)) : U },
    frozen: { ...c.frozen, weight: hraFoldedWeight(c.base.weight, U0, gs), U0 },
  });
};

const oft_: Reader = (c) => {
  const { config, st, inF } = c;
  refuse(config, "coft", (v) => v === false, "is not supported (constrained OFT rewrites its parameter)");
  refuse(config, "oft_scaled", (v) => v === false, "is not supported");
  refuse(config, "oft_cans", (v) => v === false, "is not supported");
  const rCfg = intField(config, "r", 0, 0), bsCfg = intField(config, "oft_block_size", 32, 0);
  if ((rCfg !== 0) === (bsCfg !== 0)) {
    throw new FormatError(
      `fromPeft: OFT needs exactly one of r and oft_block_size non-zero (r × oft_block_size = in), ` +
        `got r = ${rCfg}, oft_block_size = ${bsCfg}`,
    );
  }
  // PEFT moves a block size (or count) that does not divide `in` to the nearest divisor
  const adjust = (p: number) => (inF % p !== 0 || p > inF ? adjustOftParameter(inF, p) : p);
  const bs = bsCfg ? adjust(bsCfg) : inF / adjust(rCfg);
  const nb = inF / bs, share = config.block_share === true;
  st.context += `; block size ${bs}, ${nb} blocks from config ${bsCfg ? "oft_block_size" : "r"}` +
    (share ? ", one shared block (block_share)" : "");
  const R = st.tensor("oft_R", [share ? 1 : nb, (bs * (bs - 1)) / 2], "[blocks, bs(bs−1)/2]");
  const cayley = config.use_cayley_neumann === false ? "exact" : "neumann";
  const terms = intField(config, "num_cayley_neumann_terms", 5);
  const blocks = bsCfg ? { blockSize: bs } : { r: nb };
  return () => ({ adapter: oft({ ...blocks, cayley, terms, blockShare: share }), params: { R }, frozen: c.frozen });
};

const boft_: Reader = (c) => {
  const { config, st, inF, out } = c;
  const bsCfg = intField(config, "boft_block_size", 4, 0), nbCfg = intField(config, "boft_block_num", 0, 0);
  if ((bsCfg !== 0) === (nbCfg !== 0)) {
    throw new FormatError(
      `fromPeft: BOFT needs exactly one of boft_block_size and boft_block_num non-zero, ` +
        `got ${bsCfg} and ${nbCfg}`,
    );
  }
  const given = bsCfg || nbCfg;
  if (inF % given !== 0) {
    throw new ShapeError(
      `fromPeft: BOFT ${bsCfg ? "boft_block_size" : "boft_block_num"} = ${given} does not divide in = ${inF} ` +
        `of base.weight [${out}, ${inF}]; pass this layer's base weight and config`,
    );
  }
  const bs = bsCfg || inF / nbCfg, nb = inF / bs;
  const N = intField(config, "boft_n_butterfly_factor", 1);
  // PEFT without its fbd_cuda extension builds one factor whatever the config says
  const key = st.key("boft_R");
  const n = (st.tensors[key!]?.shape?.[0] === 1) ? 1 : N;
  if (n > 1 && (bs % 2 !== 0 || nb % 2 ** (n - 1) !== 0)) {
    throw new ShapeError(
      `fromPeft: BOFT with ${n} butterfly factors needs an even block size and 2^${n - 1} | blocks, ` +
        `got block size ${bs}, ${nb} blocks for in = ${inF}; fix boft_n_butterfly_factor`,
    );
  }
  st.context += `; block size ${bs}, ${nb} blocks, ${n} butterfly factors from the config`;
  const R = st.tensor("boft_R", [n, nb, bs, bs], "[factors, blocks, bs, bs]");
  const s = st.tensor("boft_s", [out, 1], "[out, 1]");
  const blocks = bsCfg ? { blockSize: bs } : { blockNum: nb };
  return () => ({ adapter: boft({ ...blocks, butterflyFactors: n }), params: { R, s }, frozen: c.frozen });
};

const loha_: Reader = (c) => {
  const { config, st, out, inF } = c;
  refuse(config, "use_effective_conv2d", (v) => v === false, "applies to convolutions only");
  const { r, alpha } = rankAlpha(c, "alpha");
  const params = {
    w1a: st.tensor("hada_w1_a", [out, r], "[out, r]"),
    w1b: st.tensor("hada_w1_b", [r, inF], "[r, in]"),
    w2a: st.tensor("hada_w2_a", [out, r], "[out, r]"),
    w2b: st.tensor("hada_w2_b", [r, inF], "[r, in]"),
  };
  return () => ({ adapter: loha({ r, alpha }), params, frozen: c.frozen });
};

const lokr_: Reader = (c) => {
  const { config, st, out, inF } = c;
  const { r, alpha } = rankAlpha(c, "alpha");
  const decomposeBoth = config.decompose_both === true;
  const decomposeFactor = numField(config, "decompose_factor", -1);
  // PEFT's shapes: in = inM·inN, out = outL·outK; each factor full or rank r by its rule
  const [inM, inN] = factorization(inF, decomposeFactor);
  const [outL, outK] = factorization(out, decomposeFactor);
  const useW1 = !(decomposeBoth && r < Math.max(outL, inM) / 2);
  const useW2 = !(r < Math.max(outK, inN) / 2);
  st.context += `, decompose_both = ${decomposeBoth}, decompose_factor = ${decomposeFactor}: ` +
    `out = ${outL}·${outK}, in = ${inM}·${inN}, W₁ ${useW1 ? "full" : "rank r"}, W₂ ${useW2 ? "full" : "rank r"}`;
  const why = (full: boolean, n: string) =>
    `this config makes PEFT build ${full ? `lokr_${n} (full)` : `lokr_${n}_a and lokr_${n}_b (rank r)`}`;
  const params: Record<string, Tensor> = {};
  if (useW1) {
    st.absent("lokr_w1_a", why(true, "w1"));
    st.absent("lokr_w1_b", why(true, "w1"));
    params.w1 = st.tensor("lokr_w1", [outL, inM], "[outL, inM]");
  } else {
    st.absent("lokr_w1", why(false, "w1"));
    params.w1a = st.tensor("lokr_w1_a", [outL, r], "[outL, r]");
    params.w1b = st.tensor("lokr_w1_b", [r, inM], "[r, inM]");
  }
  if (useW2) {
    st.absent("lokr_w2_a", why(true, "w2"));
    st.absent("lokr_w2_b", why(true, "w2"));
    params.w2 = st.tensor("lokr_w2", [outK, inN], "[outK, inN]");
  } else {
    st.absent("lokr_w2", why(false, "w2"));
    params.w2a = st.tensor("lokr_w2_a", [outK, r], "[outK, r]");
    params.w2b = st.tensor("lokr_w2_b", [r, inN], "[r, inN]");
  }
  const init = config.init_weights === "lycoris" ? "lycoris" as const : "peft" as const;
  return () => ({
    adapter: lokr({ r, alpha, decomposeBoth, decomposeFactor, init }),
    params,
    frozen: c.frozen,
  });
};

const vera_: Reader = (c) => {
  const { config, st, out, inF } = c;
  const r = intField(config, "r", 256);
  st.context += `; r = ${r} from config.r`;
  const lambdaB = st.tensor("vera_lambda_b", [out], "[out]");
  const lambdaD = st.tensor("vera_lambda_d", [r], "[r]");
  const shared = { shared: true, optional: true } as const;
  const A = st.tensor("vera_A", [r, { atLeast: inF }], "[r, ≥ in] (shared, each layer uses A[:, :in])", shared);
  const B = st.tensor("vera_B", [{ atLeast: out }, r], "[≥ out, r] (shared, each layer uses B[:out])", shared);
  const dInitial = numField(config, "d_initial", 0.1);
  const words = extras(config).projection_key;
  if (!A !== !B || (!A && words === undefined)) {
    throw new FormatError(
      `fromPeft: VERA needs the shared projections vera_A and vera_B (PEFT's save_projection = true), found ` +
        `${A ? "only vera_A" : B ? "only vera_B" : "neither"}; PEFT's redraw from projection_prng_key uses torch's ` +
        `generator, which Tangent cannot reproduce`,
    );
  }
  const ok = Array.isArray(words) && words.length === 2 && words.every((w) => Number.isInteger(w) && w >= 0);
  if (words !== undefined && !ok) {
    throw new FormatError(`fromPeft: tangent.projection_key must be two uint32 words, got ${JSON.stringify(words)}`);
  }
  const layout = extras(config).projection_key_layout;
  if (layout !== undefined && layout !== "partitionable" && layout !== "classic") {
    throw new FormatError(
      `fromPeft: tangent.projection_key_layout must be "classic" or "partitionable", got ${JSON.stringify(layout)}`,
    );
  }
  const projectionKey = ok
    ? { words: [words[0], words[1]] as [number, number], ...(layout === "partitionable" ? { layout } as const : {}) }
    : undefined;
  return () => {
    // the saved projections (sliced to this layer), or Tangent's own, redrawn from their key as init draws them
    const adapter = vera({ r, dInitial, projectionKey, projection: A && B ? { A, B } : undefined });
    return { adapter, params: { lambdaB, lambdaD }, frozen: adapter.init(makeKey(0), c.base).frozen };
  };
};

const lokh_: Reader = (c) => {
  const { config, st, out, inF } = c;
  const r = intField(config, "r");
  const alpha = numField(config, "alpha", r);
  const k = intField(config, "num_factors", 2, 2);
  const f = config.out_factors;
  if (f !== undefined && f !== null && (!Array.isArray(f) || f.length !== k || !f.every(Number.isInteger))) {
    throw new FormatError(
      `fromPeft: LOKH out_factors must be ${k} integers [m1, …, m${k}] (one per factor, num_factors = ${k}) or null, ` +
        `got ${JSON.stringify(f)}`,
    );
  }
  const ms = (f as number[] | null | undefined) ?? lokhOutFactors(out, k);
  if (ms.reduce((a, b) => a * b, 1) !== out) {
    throw new ShapeError(
      `fromPeft: LOKH out_factors ${ms.join(" × ")} ≠ out = ${out} of base.weight [${out}, ${inF}]; fix out_factors`,
    );
  }
  st.context += `; r = ${r} from config.r, out = ${ms.join("·")}`;
  const params: Record<string, Tensor> = {};
  ms.forEach((m, i) => {
    params[`B${i + 1}`] = st.tensor(`lokh_B${i + 1}`, [m, r], `[m${i + 1}, r]`);
    params[`A${i + 1}`] = st.tensor(`lokh_A${i + 1}`, [r, inF], "[r, in]");
  });
  const outFactors = f ? ms : undefined;
  return () => ({
    adapter: lokh({ r, alpha, factors: k, outFactors }),
    params,
    frozen: c.frozen,
  });
};

const sorsa_: Reader = (c) => {
  const { config, st, out, inF } = c;
  const r = intField(config, "r");
  st.context += `; r = ${r} from config.r`;
  const A = st.tensor("sorsa_A", [r, inF], "[r, in] (V_pᵀ)");
  const B = st.tensor("sorsa_B", [out, r], "[out, r] (U_p)");
  const S = st.tensor("sorsa_S", [r], "[r] (Σ_p)");
  checkRankFits(c, r, "SORSA's principal part");
  const o = {
    r,
    alpha: numField(config, "alpha", r),
    gamma: numField(config, "gamma", 0),
    peakLr: numField(config, "peak_lr", 1),
  };
  return () => {
    const adapter = sorsa(o);
    // the residual W − s·U_r diag(σ_r) V_rᵀ, by the same SVD as init
    const frozen = c.opts.baseIsResidual ? c.frozen : adapter.init(makeKey(0), c.base).frozen;
    return { adapter, params: { U: B, S, V: A.mT }, frozen };
  };
};

const polar_: Reader = (c) => {
  const { config, st, out, inF } = c;
  const r = intField(config, "r");
  st.context += `; r = ${r} from config.r`;
  const theta = (config.theta ?? "full") as PolarTheta;
  if (theta !== "full" && theta !== "diagonal" && theta !== "identity") {
    throw new FormatError(`fromPeft: POLAR theta must be "full", "diagonal" or "identity", got ${theta}`);
  }
  checkRankFits(c, r, "X and Y are Stiefel points");
  const A = st.tensor("lora_A", [r, inF], "[r, in] (Yᵀ)");
  const B = st.tensor("lora_B", [out, r], "[out, r] (X)");
  const S = theta === "identity" ? undefined : st.tensor("lora_S", [r, r], "[r, r] (Θ)");
  const alpha = numField(config, "lora_alpha", r);
  return () => {
    const params: Record<string, Tensor> = {
      X: asPoint(B, stiefel(out, r)),
      Y: asPoint(A.mT, stiefel(inF, r)),
    };
    if (S) params.Theta = theta === "diagonal" ? diag(S) : S;
    return { adapter: polar({ r, alpha, theta }), params, frozen: c.frozen };
  };
};

/**
 * Config fields of PEFT 0.21 that change the adapted model's forward in ways fromPeft does not
 * reproduce, with the fix: set to anything but null, false, [] or {}, they are refused rather than
 * loaded into different logits. (Training-only fields, such as dropouts and VeLoRA's backward, pass.)
 */
const UNSUPPORTED: readonly [string, string][] = [
  [
    "modules_to_save",
    `PEFT saved whole trained copies of these modules, which an adapter does not hold; ${MERGED}, or train without modules_to_save`,
  ],
  [
    "trainable_token_indices",
    `PEFT trained these embedding rows, which an adapter does not hold; ${MERGED}, or train without trainable_token_indices`,
  ],
  [
    "layer_replication",
    `it stacks the base layers into another model; ${MERGED}`,
  ],
  ["alora_invocation_tokens", "activated LoRA applies the adapter only after the invocation tokens"],
  ["target_parameters", "LoRA on bare nn.Parameters (mixture-of-experts weights) has no linear module here"],
  ["use_bdlora", "block-diagonal LoRA factors are not implemented"],
  ["kasa_config", "KaSA truncates the base weight's singular values"],
  ["arrow_config", "Arrow routes between several adapters"],
  ["monteclora_config", "MonteCLoRA samples its adapter weights"],
];

const READERS: Record<string, Reader> = {
  LORA: lora_,
  HRA: hra_,
  OFT: oft_,
  BOFT: boft_,
  LOHA: loha_,
  LOKR: lokr_,
  VERA: vera_,
  HRA_FOLDED: hraFolded,
  LOKH: lokh_,
  SORSA: sorsa_,
  POLAR: polar_,
};

/**
 * Whether `fromPeft` (and so `loadPeftAdapter`) rebuilds adapters of this `peft_type`: PEFT's types
 * it supports and Tangent's own; a type of your own (from `tangentPeftConfig`) is not (`loadPeftAdapter` reads
 * it with a reader of your own, its `adapters` option).
 * @example
 * ```ts
 * import { readsPeftType } from "./peft.ts";
 * readsPeftType("lora"); // true
 * readsPeftType("ETHER_PLUS"); // false
 * ```
 */
export function readsPeftType(peftType: string): boolean {
  return Object.hasOwn(READERS, peftType.toUpperCase());
}

/**
 * Refuses a PEFT config whose fields change the forward in ways `fromPeft` does not reproduce
 * (`bias` other than "none", `modules_to_save`, `trainable_token_indices`, …), with a
 * `FormatError` naming the field and the fix; `loadPeftAdapter` calls it before reading tensors.
 * @example
 * ```ts
 * import { checkPeftFields } from "./peft.ts";
 * checkPeftFields({ peft_type: "LORA", r: 4, modules_to_save: null }); // passes
 * ```
 */
export function checkPeftFields(config: PeftConfig): void {
  refuse(
    config,
    "bias",
    (v) => v === "none",
    "trains the base layers' biases, which an adapter does not hold; load the merged model instead (in Py" +
      'thon: model.merge_and_unload().save_pretrained(dir); then loadModel(dir)), or train with bias = "none"',
  );
  for (const [field, why] of UNSUPPORTED) {
    const v = config[field];
    const set = v !== undefined && v !== null && v !== false &&
      !(Array.isArray(v) && v.length === 0) && !(typeof v === "object" && Object.keys(v).length === 0);
    if (set) {
      throw new FormatError(
        `fromPeft: ${config.peft_type} with ${field} = ${JSON.stringify(v)} is not supported: ${why}`,
      );
    }
  }
}

/**
 * Builds `{ adapter, params, frozen }` from PEFT's config and tensors so that `adapter.apply`
 * reproduces PEFT's forward (eval mode: dropouts are the identity), gradients included, and
 * `adapter.toPeft(grads)` gives PEFT's names. Supported: LoRA (rsLoRA, DoRA, PiSSA, OLoRA, Gaussian),
 * HRA (with and without Gram–Schmidt), OFT (Cayley–Neumann or exact, block sharing), BOFT, LoHa,
 * LoKr and VeRA on linear layers, and the Tangent-only types an adapter's `peftConfig()` may give
 * (`HRA_FOLDED`, `LOKH`, `SORSA`, `POLAR`), so `fromPeft({ config: ad.peftConfig(), base, tensors:
 * { ...ad.toPeft(params), ...ad.frozenToPeft?.(frozen) } })` rebuilds any adapter. PiSSA, OLoRA and
 * SORSA rebuild the residual base weight from `base.weight` by SVD / QR unless `baseIsResidual`.
 *
 * Checked before anything is built, as PEFT's loader checks them: every tensor is float32/float64
 * (DTypeError) and of the shape that the base weight (out × in) and the config give (ShapeError
 * naming the key, its shape and the expected one: LoRA A `[r, in]`, B `[out, r]`, DoRA magnitude
 * `[out]`, HRA U `[in, r]`, …); tensors of this module and adapter that the method does not use are
 * a FormatError listing them (other modules' and adapters' tensors pass).
 * @example
 * ```ts
 * import { normal, key } from "@tangent/tangent";
 * import { fromPeft } from "@tangent/tangent/adapters";
 * const { adapter, params, frozen } = fromPeft({
 *   config: { peft_type: "LORA", r: 2, lora_alpha: 4 },
 *   base: { weight: normal(key(0), [3, 4]) },
 *   tensors: { "lora_A.weight": normal(key(1), [2, 4]), "lora_B.weight": normal(key(2), [3, 2]) },
 * });
 * const y = adapter.apply(params, frozen, normal(key(3), [5, 4])); // [5, 3]
 * ```
 */
export function fromPeft(opts: FromPeftOptions): FromPeftResult {
  requireOptions("fromPeft", opts, "{ config, base, tensors }");
  const { config } = opts;
  if (!config || typeof config !== "object" || typeof config.peft_type !== "string") {
    throw new FormatError(`fromPeft: config must be an object with a string peft_type, got ${JSON.stringify(config)}`);
  }
  checkOptions(
    "fromPeft",
    opts,
    optionKeys<FromPeftOptions>({
      config: true,
      base: true,
      tensors: true,
      adapterName: true,
      baseIsResidual: true,
      module: true,
    }),
  );
  const type = config.peft_type.toUpperCase();
  const read = READERS[type];
  if (!read) {
    throw new FormatError(
      `fromPeft: peft_type '${config.peft_type}' is not supported; use ${Object.keys(READERS).join(", ")}` +
        ` (an adapter of your own, written from its tangentPeftConfig: its own reader rebuilds it, given to ` +
        `loadPeftAdapter(model, dir, { adapters: { ${config.peft_type}: ({ config, base, tensors }) => ` +
        `({ adapter, params, frozen }) } }))`,
    );
  }
  checkPeftFields(config);
  const weight = config.fan_in_fan_out === true ? matrixTranspose(opts.base.weight) : opts.base.weight;
  const base: LinearBase = { weight, bias: opts.base.bias };
  const [out, inF] = baseShape("fromPeft", base);
  const context = `out = ${out}, in = ${inF} from base.weight [${out}, ${inF}]`;
  const st = new PeftState(type, opts.tensors, opts.adapterName, context);
  const build = read({ config, opts, st, base, frozen: { weight, bias: opts.base.bias }, out, inF });
  st.finish(type === "LORA" ? `use_dora = ${config.use_dora === true}` : "");
  return build();
}
