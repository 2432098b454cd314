/**
 * Text generation with a key/value cache: the prompt runs once, then each new token costs one
 * position.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { slice, tensor } from "../core/ops/mod.ts";
import { scope } from "../core/memory.ts";
import { foldIn, type Key } from "../core/random.ts";
import { fillRandom } from "../core/threefry.ts";
import type { Tensor } from "../core/tensor.ts";
import { type CausalLM, checkIdsTensor, type ForwardResult } from "./model.ts";

/** Options of `generate`. */
export interface GenerateOptions {
  /** How many tokens to add. */
  maxNewTokens: number;
  /** Sampling temperature; 0 or absent: greedy (the most likely token). */
  temperature?: number;
  /** Sample only among the k most likely tokens (default: all). */
  topK?: number;
  /** Randomness for sampling (required when temperature > 0). */
  key?: Key;
  /** Stop a sequence once it produced this token (default: the config's `eos_token_id`, if any). */
  eosTokenId?: number | null;
  /** Called with each new token per sequence (streaming). */
  onToken?: (tokens: readonly number[], step: number) => void;
}

/** The index of the largest of `v[off .. off+n)` (the first on ties, as NumPy's argmax). */
function argmaxRow(v: ArrayLike<number>, off: number, n: number): number {
  let best = 0, bv = -Infinity;
  for (let j = 0; j < n; j++) {
    const x = v[off + j];
    if (x > bv || (Number.isNaN(x) && !Number.isNaN(bv))) [best, bv] = [j, x];
  }
  return best;
}

/**
 * Continues each sequence of `inputIds` (`[B, T]`, int32) by up to `maxNewTokens` tokens and
 * returns the whole sequences `[B, T + n]` as arrays. Greedy by default; with a temperature, it
 * samples from softmax(logits / temperature) (optionally restricted to the top k) by the
 * Gumbel-max trick with `foldIn(key, step)`, so the same key gives the same text on every
 * backend. A sequence that produced the EOS token is padded with it until all have stopped.
 * With LongRoPE, the step whose position first passes `original_max_position_embeddings` runs
 * the whole sequence again (its frequencies switch to the long factors at every position), so the
 * tokens are those of the uncached forward pass. A sequence that would pass the model's positions
 * (`n_positions` / `max_position_embeddings`) is a ShapeError naming the `maxNewTokens` that fit.
 * @example
 * ```ts
 * import { createModel, generate, initModel, key, parseConfig, tensor } from "@tangent/tangent";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
 * const model = createModel(config, initModel(config, key(0)));
 * const out = await generate(model, model.params, tensor([[1, 2, 3]], { dtype: "int32" }), { maxNewTokens: 4 });
 * out[0].length; // 7
 * ```
 */
export async function generate<P>(
  model: CausalLM<P>,
  params: P,
  inputIds: Tensor,
  opts: GenerateOptions,
): Promise<number[][]> {
  if (!opts || typeof opts !== "object") {
    throw new ShapeError("generate: give the options, e.g. generate(model, params, ids, { maxNewTokens: 16 })");
  }
  checkOptions(
    "generate",
    opts,
    optionKeys<GenerateOptions>({
      maxNewTokens: true,
      temperature: true,
      topK: true,
      key: true,
      eosTokenId: true,
      onToken: true,
    }),
  );
  const n = opts.maxNewTokens;
  if (!Number.isInteger(n) || n < 0) {
    throw new ShapeError(`generate: maxNewTokens must be a non-negative integer, got ${n}`);
  }
  const temperature = opts.temperature ?? 0;
  if (!(temperature >= 0)) throw new DomainError(`generate: temperature must be ≥ 0, got ${temperature}`);
  const k = opts.topK;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1)) {
    throw new DomainError(`generate: topK must be a positive integer (or absent: every token), got ${k}`);
  }
  if (temperature > 0 && !opts.key) {
    throw new DomainError("generate: sampling (temperature > 0) needs a key, e.g. { key: key(0) }");
  }
  checkIdsTensor("generate", inputIds);
  if (inputIds.ndim !== 2) {
    throw new ShapeError(`generate: inputIds must be [batch, seq], got [${inputIds.shape}]`);
  }
  const [B, T] = inputIds.shape;
  const V = model.config.vocabSize;
  const eos = opts.eosTokenId === undefined ? model.config.eosTokenId : opts.eosTokenId ?? undefined;
  const seqs = (await inputIds.array() as number[][]).map((r) => [...r]);
  const done = new Array<boolean>(B).fill(false);
  const rope = model.config.rope;
  const restartAt = rope?.type === "longrope" ? rope.originalMaxPositions : undefined;
  let step: ForwardResult = scope(() => model.forward(params, inputIds));
  let last = T;
  for (let s = 0; s < n && !done.every(Boolean); s++) {
    const logits = await slice(step.logits, [null, [last - 1, last], null]).data();
    const scores = Float64Array.from(logits);
    if (temperature > 0) {
      // Gumbel-max: argmax(logits/τ − log(−log u)) samples softmax(logits/τ)
      // drawn on the host (the bits of uniform(…, { dtype: "float64" }) on the CPU): WebGPU has no float64, and
      // a draw there would cost a second read per token
      const u = new Float64Array(B * V);
      fillRandom(foldIn(opts.key!, s).words, "uniform", u);
      for (let b = 0; b < B; b++) {
        const off = b * V;
        let cut = -Infinity;
        if (opts.topK !== undefined && opts.topK < V) {
          cut = scores.slice(off, off + V).sort()[V - opts.topK]; // the k-th largest (a typed sort is numeric)
        }
        for (let j = 0; j < V; j++) {
          const x = scores[off + j];
          scores[off + j] = x < cut ? -Infinity : x / temperature - Math.log(-Math.log(Math.max(u[off + j], 1e-300)));
        }
      }
    }
    const next = seqs.map((_, b) => (done[b] ? eos! : argmaxRow(scores, b * V, V)));
    next.forEach((t, b) => {
      seqs[b].push(t);
      if (eos !== undefined && t === eos) done[b] = true;
    });
    opts.onToken?.(next, s);
    if (s === n - 1 || done.every(Boolean)) break;
    const P = model.config.maxPositions;
    if (seqs[0].length > P) {
      const room = P - T + 1; // the last new token is never fed back
      throw new ShapeError(
        `generate: after ${s + 1} new tokens the sequences fill the model's ${P} positions (config.json's ` +
          `n_positions / max_position_embeddings); with this ${T}-token prompt ask for maxNewTokens ≤ ${room}, ` +
          `or shorten the prompt`,
      );
    }
    const prev = step;
    if (prev.cache.length === restartAt) {
      // LongRoPE's next position passes original_max_position_embeddings: the whole sequence now runs
      // with the long factors, and the cached keys were rotated with the short ones, so it runs
      // again without the cache (as transformers' Phi-3 does), once
      const all = tensor(Int32Array.from(seqs.flat()), { shape: [B, seqs[0].length], like: inputIds });
      step = scope(() => model.forward(params, all), { release: prev });
      last = seqs[0].length;
    } else {
      const ids = tensor(Int32Array.from(next), { shape: [B, 1], like: inputIds });
      step = scope(() => model.forward(params, ids, { cache: prev.cache }), { release: prev });
      last = 1;
    }
  }
  return seqs;
}
