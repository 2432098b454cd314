/**
 * The causal language model contract every architecture implements, and the map between a
 * checkpoint's tensor names and the parameter tree.
 *
 * Parameters form a pytree whose paths are the checkpoint's module names
 * (`transformer.h.0.attn.c_attn`, `model.layers.0.self_attn.q_proj`), so PEFT's
 * `target_modules` and state-dict names apply to it unchanged. Every linear module is
 * `{ weight: out × in, bias? }` in PyTorch's `nn.Linear` layout, GPT-2's Conv1D weights included
 * (they are transposed on load and back on save).
 * @module
 */
import { fmtShape, FormatError, ShapeError } from "../core/errors.ts";
import { checkTensor, type Tensor } from "../core/tensor.ts";
import { linear } from "../adapters/adapter.ts";
import type { ModelConfig } from "./config.ts";
import type { LayerCache } from "./nn.ts";

/** A linear layer: `weight` `[out, in]`, optional `bias` `[out]`. */
export interface LinearModule {
  /** The weight, `out × in`. */
  readonly weight: Tensor;
  /** The bias, `[out]`. */
  readonly bias?: Tensor;
}

/**
 * Runs the linear module at `path` on `x` `[..., in]`. The default is `x Wᵀ + b`; an adapted
 * model routes its target modules through their adapters instead.
 */
export type LinearHook = (path: string, module: LinearModule, x: Tensor) => Tensor;

/** The default `LinearHook`: `x Wᵀ + b`. */
export const defaultLinear: LinearHook = (_path, m, x) => linear(x, m.weight, m.bias);

/** Keys and values of the positions a model has seen, one entry per layer. */
export interface KVCache {
  /** Per layer, `[B, kvHeads, length, headDim]` keys and values. */
  readonly layers: readonly LayerCache[];
  /** Number of positions cached. */
  readonly length: number;
}

/** Options of `forward`. */
export interface ForwardOptions {
  /** How linear modules run (default `x Wᵀ + b`). */
  linear?: LinearHook;
  /** Earlier positions' keys and values: the input continues that sequence. */
  cache?: KVCache;
}

/** What `forward` returns. */
export interface ForwardResult {
  /** Next-token logits `[B, T, V]`. */
  logits: Tensor;
  /** The cache extended by this call's positions. */
  cache: KVCache;
}

/** A pytree of tensors keyed by module names. */
export type ModelParams = Record<string, unknown>;

/**
 * A decoder-only language model: its config, its parameters, and pure functions of them.
 * `apply(params, inputIds)` is the forward pass to differentiate; `forward` adds the KV cache and
 * the linear hook that adapters use.
 */
export interface CausalLM<P = ModelParams> {
  /** The architecture's shape and conventions. */
  readonly config: ModelConfig;
  /** The parameters (trainable ones for an adapted model). */
  readonly params: P;
  /** Paths of the linear modules, in model order (what `target_modules` can match). */
  readonly linearPaths: readonly string[];
  /** Logits `[B, T, V]` for int32 token ids `[B, T]`. */
  apply(params: P, inputIds: Tensor): Tensor;
  /** The forward pass with a cache and a linear hook. */
  forward(params: P, inputIds: Tensor, opts?: ForwardOptions): ForwardResult;
}

/** One tensor an architecture expects in a checkpoint. */
export interface ExpectedTensor {
  /** The checkpoint name (`transformer.h.0.attn.c_attn.weight`). */
  readonly name: string;
  /** Its shape as stored. */
  readonly shape: readonly number[];
  /** Stored as `in × out` (GPT-2's Conv1D): transposed to `out × in` in the parameter tree. */
  readonly conv1d?: boolean;
}

/** What an architecture provides: its checkpoint layout and its forward pass. */
export interface ArchitectureSpec {
  /** Every tensor a checkpoint of `config` holds, in checkpoint names. */
  expected(config: ModelConfig): ExpectedTensor[];
  /** A checkpoint name in its canonical form (adds a prefix some checkpoints omit). */
  canonicalName(name: string): string;
  /** Buffers some checkpoints carry that are not parameters, or tied copies (ignored on load). */
  isIgnoredBuffer(name: string, config: ModelConfig): boolean;
  /** The forward pass. */
  forward(config: ModelConfig, params: ModelParams, inputIds: Tensor, opts: ForwardOptions): ForwardResult;
}

/** Sets `tree[a][b]…` for a dot-joined path; numeric segments make arrays. */
function setPath(tree: Record<string, unknown>, segments: readonly string[], value: Tensor): void {
  let node: Record<string, unknown> | unknown[] = tree;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    const k = /^\d+$/.test(seg) ? Number(seg) : seg;
    const n = node as Record<string | number, unknown>;
    if (last) {
      n[k] = value;
    } else {
      n[k] ??= /^\d+$/.test(segments[i + 1]) ? [] : {};
      node = n[k] as Record<string, unknown>;
    }
  }
}

/** The tensor at a dot-joined path of a parameter tree (undefined when absent). */
export function getPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const seg of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/**
 * Builds the parameter tree from checkpoint tensors (canonical names), checking that every
 * expected tensor is present with its shape and that nothing else is there.
 */
export function paramsFromTensors(
  spec: ArchitectureSpec,
  config: ModelConfig,
  tensors: Record<string, Tensor>,
  transpose: (t: Tensor) => Tensor,
): ModelParams {
  const expected = spec.expected(config);
  checkNames(spec, config, Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape])), expected);
  const tree: Record<string, unknown> = {};
  const byName = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(tensors)) byName.set(spec.canonicalName(k), t);
  for (const e of expected) {
    const t = byName.get(e.name)!;
    setPath(tree, e.name.split("."), e.conv1d ? transpose(t) : t);
  }
  return tree;
}

/**
 * Checks a checkpoint's names and shapes against what the config expects: a missing tensor, an
 * unexpected one or a shape that disagrees is a `FormatError`/`ShapeError` naming it.
 */
export function checkNames(
  spec: ArchitectureSpec,
  config: ModelConfig,
  shapes: Record<string, readonly number[]>,
  expected: readonly ExpectedTensor[] = spec.expected(config),
): void {
  const present = new Map<string, readonly number[]>();
  for (const [k, s] of Object.entries(shapes)) {
    if (spec.isIgnoredBuffer(k, config)) continue;
    present.set(spec.canonicalName(k), s);
  }
  const want = new Set(expected.map((e) => e.name));
  const missing = expected.filter((e) => !present.has(e.name)).map((e) => e.name);
  const extra = [...present.keys()].filter((k) => !want.has(k));
  const cfg = `${config.modelType} config (${config.numLayers} layers, width ${config.hiddenSize})`;
  if (missing.length) {
    throw new FormatError(
      `loadModel: the checkpoint lacks ${missing.length} tensor(s) the ${cfg} needs: ${list(missing)}; ` +
        `check that config.json belongs to these weights`,
    );
  }
  if (extra.length) {
    throw new FormatError(
      `loadModel: the checkpoint holds ${extra.length} tensor(s) the ${cfg} does not use: ${list(extra)}; ` +
        `check that config.json belongs to these weights`,
    );
  }
  for (const e of expected) {
    const s = present.get(e.name)!;
    if (s.length !== e.shape.length || s.some((d, i) => d !== e.shape[i])) {
      throw new ShapeError(
        `loadModel: ${e.name} has shape ${fmtShape(s)}, the ${cfg} expects ${fmtShape(e.shape)}; ` +
          `check that config.json belongs to these weights`,
      );
    }
  }
}

function list(names: readonly string[]): string {
  return names.length <= 6 ? names.join(", ") : `${names.slice(0, 6).join(", ")}, … (${names.length - 6} more)`;
}

/**
 * The parameter tree as a state dict in the checkpoint's names and layouts (Conv1D weights back
 * to `in × out`), ready for `safetensors.write`.
 */
export function stateDict(
  spec: ArchitectureSpec,
  config: ModelConfig,
  params: ModelParams,
  transpose: (t: Tensor) => Tensor,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const e of spec.expected(config)) {
    const t = getPath(params, e.name) as Tensor | undefined;
    if (!t) throw new FormatError(`stateDict: the parameters lack ${e.name}`);
    out[e.name] = e.conv1d ? transpose(t) : t;
  }
  return out;
}

/** Paths of the linear modules (the expected 2-D `.weight`s other than embeddings), in order. */
export function linearPathsOf(spec: ArchitectureSpec, config: ModelConfig, embeddings: readonly string[]): string[] {
  return spec.expected(config)
    .filter((e) => e.name.endsWith(".weight") && e.shape.length === 2 && !embeddings.includes(e.name))
    .map((e) => e.name.slice(0, -".weight".length));
}

/**
 * Throws a DTypeError naming `op` unless the token ids are a tensor (a plain array, or the promise
 * of an un-awaited `toBackend`, would otherwise fail inside as a TypeError).
 */
export function checkIdsTensor(op: string, ids: unknown): asserts ids is Tensor {
  checkTensor(op, ids, "inputIds", 'build them with tensor(ids, { dtype: "int32" })');
}

/**
 * Checks token ids: an int32 `[B, T]` tensor with T ≥ 1, within the positions. The vocabulary is
 * checked by the embedding gather (`embedding`), on every backend and in every `jit` replay.
 */
export function checkInputIds(op: string, ids: Tensor, maxPositions: number, past = 0): void {
  checkIdsTensor(op, ids);
  if (ids.dtype !== "int32" || ids.ndim !== 2 || ids.shape[1] < 1) {
    throw new ShapeError(
      `${op}: inputIds must be int32 [batch, seq] with seq ≥ 1, got ${ids.dtype} ${fmtShape(ids.shape)}; ` +
        `build them with tensor(ids, { dtype: "int32" })`,
    );
  }
  if (past + ids.shape[1] > maxPositions) {
    throw new ShapeError(
      `${op}: ${past + ids.shape[1]} positions exceed the model's ${maxPositions}; shorten the input`,
    );
  }
}
