/**
 * Strict reading of one module's adapter tensors from a PEFT state dict, as PEFT's
 * `load_state_dict` checks them: every tensor a float, of the shape the config and the base weight
 * give, named in the error (key, shape, expected shape, fix) before anything is built; tensors of
 * the same module and adapter that the method does not use are reported. Also PEFT's resolution of
 * `rank_pattern` / `alpha_pattern` and its OFT block-size adjustment.
 * @module
 */
import { DTypeError, FormatError, ShapeError } from "../core/errors.ts";
import { isFloat } from "../core/dtype.ts";
import type { Tensor } from "../core/tensor.ts";
import { findPeftKey, parsePeftKey, type PeftConfig } from "./adapter.ts";

/** One expected dimension: a size, or a lower bound (VeRA's shared projections). */
export type PeftDim = number | { atLeast: number };

function fmtDims(dims: readonly PeftDim[]): string {
  return `[${dims.map((d) => (typeof d === "number" ? String(d) : `≥${d.atLeast}`)).join(", ")}]`;
}

function fits(shape: readonly number[], dims: readonly PeftDim[]): boolean {
  return shape.length === dims.length &&
    dims.every((d, i) => (typeof d === "number" ? shape[i] === d : shape[i] >= d.atLeast));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The tensors of one module's adapter, read by PEFT name and checked one by one; `finish` reports
 * what was left over. `context` ("out = 12, in = 16 from base.weight [12, 16]; r = 4 from
 * config.r") goes into every shape error.
 * @example
 * ```ts
 * import { zeros } from "@tangent/tangent";
 * import { PeftState } from "./peft_check.ts";
 * const st = new PeftState("LORA", { "lora_A.weight": zeros([2, 3]) }, undefined, "r = 2");
 * st.tensor("lora_A", [2, 3], "[r, in]"); // the tensor, checked
 * st.finish(); // nothing left over
 * ```
 */
export class PeftState {
  /** Keys read so far. */
  readonly used: Set<string> = new Set();
  /** Module prefix and adapter segment of the first per-module tensor read. */
  private module?: { prefix: string; segment?: string };

  /**
   * @param type the config's `peft_type`, for messages
   * @param tensors the state dict (any module prefix, with or without the adapter name)
   * @param adapterName the adapter name to pick (`fromPeft`'s option)
   * @param context the sizes the expected shapes come from, for messages
   */
  constructor(
    readonly type: string,
    readonly tensors: Record<string, Tensor>,
    readonly adapterName: string | undefined,
    public context: string,
  ) {}

  /** The key of `peft`, or undefined when it is absent and `optional` (throws when ambiguous). */
  key(peft: string, optional = false): string | undefined {
    return findPeftKey(this.tensors, peft, { adapterName: this.adapterName, optional });
  }

  /**
   * PEFT's tensor `peft`, checked: a float tensor of shape `dims` (`what` names the dimensions,
   * e.g. "[out, r]"). `shared` tensors (VeRA's projections) live outside the module's prefix.
   */
  tensor(peft: string, dims: readonly PeftDim[], what: string, opts: { shared?: boolean }): Tensor;
  /** As above; undefined when `optional` and absent. */
  tensor(
    peft: string,
    dims: readonly PeftDim[],
    what: string,
    opts: { shared?: boolean; optional: true },
  ): Tensor | undefined;
  /** As above, not shared. */
  tensor(peft: string, dims: readonly PeftDim[], what: string): Tensor;
  tensor(
    peft: string,
    dims: readonly PeftDim[],
    what: string,
    opts: { shared?: boolean; optional?: boolean } = {},
  ): Tensor | undefined {
    const k = this.key(peft, opts.optional ?? false);
    if (k === undefined) return undefined;
    const t = this.tensors[k];
    if (!t || typeof t !== "object" || !Array.isArray(t.shape)) {
      throw new FormatError(`fromPeft: ${this.type} entry '${k}' is not a tensor; pass tensors by PEFT's names`);
    }
    if (!isFloat(t.dtype)) {
      throw new DTypeError(
        `fromPeft: ${this.type} tensor '${k}' has dtype ${t.dtype}; adapter tensors must be float32 or float64 ` +
          `(convert F16/BF16/integer data to float32 before fromPeft)`,
      );
    }
    if (!fits(t.shape, dims)) {
      throw new ShapeError(
        `fromPeft: ${this.type} tensor '${k}' has shape [${t.shape.join(", ")}], expected ${fmtDims(dims)} = ${what} ` +
          `(${this.context}); PEFT refuses it too (size mismatch): pass this layer's tensors with its config`,
      );
    }
    this.used.add(k);
    if (!opts.shared && !this.module) this.module = parsePeftKey(k, peft, this.adapterName);
    return t;
  }

  /** Throws a FormatError when `peft` is present (an alternative the config rules out). */
  absent(peft: string, why: string): void {
    const k = this.key(peft, true);
    if (k !== undefined) throw new FormatError(`fromPeft: ${this.type} tensor '${k}' is unexpected: ${why}`);
  }

  /**
   * Throws a FormatError listing the tensors of this module and adapter (same prefix, a single
   * name, the same or no adapter segment, optional `.weight`) that were not read. Tensors of other
   * modules or adapters are someone else's and pass.
   */
  finish(hint = ""): void {
    if (!this.module) return;
    const { prefix, segment } = this.module;
    const seg = segment ? `(\\.${escapeRe(segment)})?` : "";
    const mine = new RegExp(`^${prefix ? `${escapeRe(prefix)}\\.` : ""}[^.]+${seg}(\\.weight)?$`);
    const left = Object.keys(this.tensors).filter((k) => !this.used.has(k) && mine.test(k));
    if (left.length) {
      throw new FormatError(
        `fromPeft: ${this.type} does not use [${left.join(", ")}] of module '${prefix}'${hint ? ` (${hint})` : ""}; ` +
          `remove them or fix the config`,
      );
    }
  }
}

/** A number field of the config (PEFT's default when absent); throws a FormatError otherwise. */
export function numField(config: PeftConfig, field: string, fallback?: number): number {
  const v = config[field] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new FormatError(`fromPeft: config.${field} must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A positive integer field of the config (a rank, a block size). */
export function intField(config: PeftConfig, field: string, fallback?: number, min = 1): number {
  const v = numField(config, field, fallback);
  if (!Number.isInteger(v) || v < min) {
    throw new FormatError(`fromPeft: config.${field} must be an integer ≥ ${min}, got ${v}`);
  }
  return v;
}

/**
 * A regular expression of a PEFT config (Python's `re`) as a JavaScript RegExp matched in full
 * (`^(?:…)$`, as `re.fullmatch`): Python's named groups `(?P<n>…)` /
 * `(?P=n)`, `\A`, `\Z` and a leading `(?i)` are translated; anything else JavaScript does not read is
 * a `FormatError` naming `op` and the field, not a `SyntaxError` (or a `\Z` read as the letter Z).
 * @example
 * ```ts
 * import { pythonRegex } from "./peft_check.ts";
 * pythonRegex("fromPeft", "target_modules", String.raw`.*\.(?P<p>q|v)_proj\Z`).test("model.layers.0.self_attn.v_proj"); // true
 * ```
 */
export function pythonRegex(op: string, field: string, source: string): RegExp {
  let src = source, flags = "";
  const lead = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (lead && /^i+$/.test(lead[1])) [src, flags] = [src.slice(lead[0].length), "i"];
  src = src.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>").replace(/\\A/g, "^").replace(/\\Z/g, "$");
  try {
    return new RegExp(`^(?:${src})$`, flags);
  } catch (e) {
    throw new FormatError(
      `${op}: config.${field} ${JSON.stringify(source)} is a Python regular expression JavaScript does not read ` +
        `(${(e as Error).message}); write it without Python-only syntax (inline flags other than a leading (?i), ` +
        `possessive quantifiers, …) or as a list of module names`,
    );
  }
}

/**
 * PEFT's `rank_pattern` / `alpha_pattern` lookup: the first key `k` with `(.*\.)?(k)$` matching the
 * module's name (PEFT's `get_pattern_key`), else `fallback`. A non-empty pattern needs `module`.
 * @example
 * ```ts
 * import { patternValue } from "./peft_check.ts";
 * patternValue({ peft_type: "LORA", rank_pattern: { q_proj: 2 } }, "rank_pattern", "model.layers.0.q_proj", 8); // 2
 * ```
 */
export function patternValue(config: PeftConfig, field: string, module: string | undefined, fallback: number): number {
  let pattern = config[field];
  if (pattern === undefined || pattern === null || pattern === "{}") return fallback;
  if (typeof pattern === "string") {
    try {
      pattern = JSON.parse(pattern);
    } catch {
      throw new FormatError(`fromPeft: config.${field} must be an object of module pattern → value, got ${pattern}`);
    }
  }
  if (typeof pattern !== "object" || pattern === null || Array.isArray(pattern)) {
    throw new FormatError(`fromPeft: config.${field} must be an object, got ${JSON.stringify(pattern)}`);
  }
  const entries = Object.entries(pattern as Record<string, unknown>);
  if (entries.length === 0) return fallback;
  if (module === undefined) {
    throw new FormatError(
      `fromPeft: config.${field} ${JSON.stringify(pattern)} sets values per module; pass module (the layer's name, ` +
        `e.g. "model.layers.0.self_attn.q_proj") so fromPeft resolves it as PEFT does`,
    );
  }
  for (const [k, v] of entries) {
    if (pythonRegex("fromPeft", `${field} key`, `(.*\\.)?(${k})`).test(module)) {
      if (typeof v !== "number") throw new FormatError(`fromPeft: config.${field}["${k}"] must be a number, got ${v}`);
      return v;
    }
  }
  return fallback;
}

/**
 * PEFT's `adjust_oft_parameters`: an OFT block size (or block count) that does not divide `in` is
 * moved to the nearest divisor (the lower one on a tie); one ≥ `in` becomes `in`.
 * @example
 * ```ts
 * import { adjustOftParameter } from "./peft_check.ts";
 * adjustOftParameter(16, 5); // 4
 * ```
 */
export function adjustOftParameter(inF: number, p: number): number {
  if (p >= inF) return inF;
  let hi = p;
  while (hi <= inF && inF % hi !== 0) hi++;
  let lo = p;
  while (lo > 1 && inF % lo !== 0) lo--;
  return p - lo <= hi - p ? lo : hi;
}
