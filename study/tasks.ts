/**
 * Tasks for the adapter study: deterministic string transductions with exact answers (so a
 * held-out set measures exact-match accuracy), and next-token prediction on a text file.
 *
 * A transduction example is `prompt` (the input string and `=`) and `answer` (the output string
 * and `;`). Example `i` of a split is a pure function of (seed, split, i): the same on every run
 * and machine; the held-out split never repeats a training input.
 * @module
 */
import { DomainError, FormatError } from "../core/errors.ts";
import type { TextTokenizer } from "../models/tokenizer.ts";

/** One example: the model reads `prompt` and must continue with `answer`. */
export interface Example {
  /** What the model is given (`"cabd="`). */
  readonly prompt: string;
  /** What it must produce (`"dbac;"`). */
  readonly answer: string;
}

/** A training or evaluation batch as host arrays: `inputs` and `labels` are `[batch, seq]` row-major. */
export interface Batch {
  /** Token ids. */
  readonly inputs: Int32Array;
  /** The next token at each position, −100 where no loss is taken (the prompt, padding). */
  readonly labels: Int32Array;
  /** Number of sequences. */
  readonly batch: number;
  /** Positions per sequence. */
  readonly seq: number;
}

/** A task the study trains on: batches for training and a fixed held-out batch. */
export interface Task {
  /** Short name (`reverse`, `reverse-permute`, `text`). */
  readonly name: string;
  /** One sentence for reports. */
  readonly description: string;
  /** Whether examples have exact answers (then accuracy is exact match; otherwise next-token top-1). */
  readonly exact: boolean;
  /** The training batch of step `step` (deterministic). */
  trainBatch(step: number, size: number): Batch;
  /** The held-out batch (the same every call). */
  heldOut(size: number): Batch;
  /** A few held-out prompts and answers, to show generations. */
  samples(n: number): Example[];
}

/** A 32-bit mix of integers (splitmix-style finaliser). */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Options of `transductionTask`. */
export interface TransductionOptions {
  /** The input alphabet (default "abcdefghij"). */
  alphabet?: string;
  /** Input length (default 6). */
  length?: number;
  /** What the answer is: the input reversed, or reversed and each letter mapped by a fixed permutation. */
  rule: "reverse" | "reverse-permute";
  /** Seed of the example stream (default 0). */
  seed?: number;
  /**
   * Encode with this tokenizer (a real model's); default: one id per character of the task's
   * vocabulary `alphabet + "=;"` (the embedded model's).
   */
  tokenizer?: Pick<TextTokenizer, "encode" | "eosId" | "padId">;
}

/** The fixed letter permutation of "reverse-permute": letter i ↦ (3i + 7) mod n (a bijection for n prime to 3). */
function permuted(alphabet: string, c: string): string {
  const n = alphabet.length;
  return alphabet[(3 * alphabet.indexOf(c) + 7) % n];
}

/**
 * A string transduction over a small alphabet: the prompt is `length` random letters and `=`,
 * the answer the letters reversed (`"reverse"`), or reversed and mapped by the fixed permutation
 * i ↦ (3i + 7) mod n (`"reverse-permute"`), then `;`. One in eight input strings (by hash) is
 * held out: training never shows them.
 * @example
 * ```ts
 * import { transductionTask } from "./tasks.ts";
 * const t = transductionTask({ rule: "reverse", length: 4 });
 * t.samples(1)[0]; // e.g. { prompt: "cabd=", answer: "dbac;" }
 * ```
 */
export function transductionTask(
  opts: TransductionOptions,
): Task & { vocabulary: string; example(i: number, heldOut: boolean): Example } {
  const alphabet = opts.alphabet ?? "abcdefghij", L = opts.length ?? 6, seed = opts.seed ?? 0;
  if (alphabet.length < 2 || new Set(alphabet).size !== alphabet.length || /[=;]/.test(alphabet)) {
    throw new DomainError(`transductionTask: alphabet '${alphabet}' needs 2+ distinct letters other than '=' and ';'`);
  }
  if (opts.rule === "reverse-permute" && alphabet.length % 3 === 0) {
    throw new DomainError(
      `transductionTask: reverse-permute needs an alphabet size prime to 3, got ${alphabet.length}`,
    );
  }
  const held = (s: string) => mix(seed, 7777, ...[...s].map((c) => c.charCodeAt(0))) % 8 === 0;
  const answerOf = (s: string) => {
    const r = [...s].reverse();
    return (opts.rule === "reverse" ? r : r.map((c) => permuted(alphabet, c))).join("") + ";";
  };
  const example = (i: number, heldOut: boolean): Example => {
    // draw strings from the stream until one falls in the wanted split
    for (let attempt = 0;; attempt++) {
      let s = "";
      for (let j = 0; j < L; j++) s += alphabet[mix(seed, heldOut ? 1 : 0, i, attempt, j) % alphabet.length];
      if (held(s) === heldOut) return { prompt: s + "=", answer: answerOf(s) };
    }
  };
  const vocabulary = alphabet + "=;";
  const tok = opts.tokenizer;
  const encode = (e: Example[]) => tok ? encodeExamples(tok, e, tok.padId ?? tok.eosId ?? 0) : charBatch(vocabulary, e);
  return {
    name: opts.rule,
    description: opts.rule === "reverse"
      ? `reverse ${L} letters of '${alphabet}' ("${example(0, true).prompt}" → "${example(0, true).answer}")`
      : `reverse ${L} letters of '${alphabet}' and map each by i ↦ (3i + 7) mod ${alphabet.length} ` +
        `("${example(0, true).prompt}" → "${example(0, true).answer}")`,
    exact: true,
    vocabulary,
    example,
    trainBatch: (step, size) => encode(Array.from({ length: size }, (_, j) => example(step * size + j, false))),
    heldOut: (size) => encode(Array.from({ length: size }, (_, j) => example(j, true))),
    samples: (n) => Array.from({ length: n }, (_, j) => example(j, true)),
  };
}

/** Encodes examples one character per token over `vocabulary` (the char tokenizer's ids). */
function charBatch(vocabulary: string, examples: readonly Example[]): Batch {
  return encodeExamples({ encode: (s) => [...s].map((c) => vocabulary.indexOf(c)) }, examples, 0);
}

/**
 * Encodes examples for a causal model: each row is `prompt + answer` shifted by one (inputs drop
 * the last token, labels the first), labels −100 on the prompt and on padding (right-padded with
 * `padId`). With a subword tokenizer the answer's tokens are those after the prompt's.
 */
export function encodeExamples(
  tokenizer: Pick<TextTokenizer, "encode">,
  examples: readonly Example[],
  padId: number,
): Batch {
  const rows = examples.map((e) => {
    const p = tokenizer.encode(e.prompt, { addSpecialTokens: false });
    const all = tokenizer.encode(e.prompt + e.answer, { addSpecialTokens: false });
    if (all.some((id) => id < 0)) {
      throw new FormatError(`task: '${e.prompt}${e.answer}' has a symbol the tokenizer lacks`);
    }
    return { ids: all, answerFrom: Math.min(p.length, all.length - 1) };
  });
  const seq = Math.max(...rows.map((r) => r.ids.length)) - 1;
  const B = rows.length;
  const inputs = new Int32Array(B * seq).fill(padId), labels = new Int32Array(B * seq).fill(-100);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length - 1; t++) {
      inputs[b * seq + t] = r.ids[t];
      if (t + 1 >= r.answerFrom) labels[b * seq + t] = r.ids[t + 1];
    }
  });
  return { inputs, labels, batch: B, seq };
}

/**
 * Next-token prediction on a text: the first 90% of its tokens train (windows of `seq + 1`
 * tokens at positions drawn from (seed, step)), the last 10% are held out (consecutive windows).
 */
export function textTask(tokens: readonly number[], seq: number, opts: { seed?: number; name?: string } = {}): Task {
  const cut = Math.floor(tokens.length * 0.9);
  if (cut < seq + 1 || tokens.length - cut < seq + 1) {
    throw new FormatError(
      `textTask: ${tokens.length} tokens are too few for windows of ${seq + 1} (90% train, 10% held out); ` +
        `give a longer text or a shorter --seq`,
    );
  }
  const seed = opts.seed ?? 0;
  const window = (start: number, b: number, inputs: Int32Array, labels: Int32Array) => {
    for (let t = 0; t < seq; t++) {
      inputs[b * seq + t] = tokens[start + t];
      labels[b * seq + t] = tokens[start + t + 1];
    }
  };
  return {
    name: opts.name ?? "text",
    description: `next-token prediction on ${tokens.length} tokens (${cut} train, ${tokens.length - cut} held out)`,
    exact: false,
    trainBatch(step, size) {
      const inputs = new Int32Array(size * seq), labels = new Int32Array(size * seq);
      for (let b = 0; b < size; b++) window(mix(seed, step, b) % (cut - seq), b, inputs, labels);
      return { inputs, labels, batch: size, seq };
    },
    heldOut(size) {
      const n = Math.min(size, Math.floor((tokens.length - cut - 1) / seq));
      const inputs = new Int32Array(n * seq), labels = new Int32Array(n * seq);
      for (let b = 0; b < n; b++) window(cut + b * seq, b, inputs, labels);
      return { inputs, labels, batch: n, seq };
    },
    samples: () => [],
  };
}
