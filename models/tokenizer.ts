/**
 * Text ⇄ token ids for Hugging Face checkpoints.
 *
 * The tokenizer algorithms are Hugging Face's own (`@huggingface/tokenizers`, pure TypeScript, the
 * same `tokenizer.json` the Rust and Python libraries read); this file only finds the files, the
 * special-token ids, and turns the library's failures into {@link FormatError}s. A folder without a
 * `tokenizer.json` falls back to UTF-8 bytes as tokens.
 * @module
 */

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { DomainError, FormatError } from "../core/errors.ts";

/** A tokenizer: text to ids and back. */
export interface TextTokenizer {
  /** `"huggingface"` for a `tokenizer.json`, `"bytes"` for the UTF-8 byte fallback. */
  readonly kind: "huggingface" | "bytes";
  /** One more than the largest id (added tokens included). */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, when the tokenizer or model config names one. */
  readonly bosId?: number;
  /** End-of-sequence id, when the tokenizer or model config names one. */
  readonly eosId?: number;
  /** Padding id, when the tokenizer or model config names one. */
  readonly padId?: number;
  /** Ids of `text`; `addSpecialTokens` (default true) lets the post-processor add BOS/EOS as the model expects. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; `skipSpecialTokens` (default false) drops special tokens such as EOS and padding. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
}

type Json = Record<string, unknown>;

function checkIds(op: string, ids: readonly number[], vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new DomainError(
        `${op}: id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize}); pass ids the tokenizer produced`,
      );
    }
  }
}

/** The content of a special-token entry of `tokenizer_config.json`: a string or `{ content }`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Json).content === "string") return (v as Json).content as string;
  return undefined;
}

/** A config's `*_token_id`: a number, or the first of a list (generation configs list several EOS ids). */
function firstId(v: unknown): number | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return Number.isInteger(x) && (x as number) >= 0 ? x as number : undefined;
}

/** Special-token ids a model config (`config.json`, `generation_config.json`) names. */
export interface SpecialIds {
  /** Beginning-of-sequence id. */
  bosId?: number;
  /** End-of-sequence id. */
  eosId?: number;
  /** Padding id. */
  padId?: number;
}

/**
 * A {@link TextTokenizer} from the parsed contents of a `tokenizer.json` and `tokenizer_config.json`.
 * Special ids come from the tokenizer config's `bos_token`/`eos_token`/`pad_token`, else from
 * `fallbackIds` (what `config.json`/`generation_config.json` say) when they lie in the vocabulary. Decoding cleans up spaces only
 * where transformers 5 does (`clean_up_tokenization_spaces: true` on a non-BPE model).
 * @param tokenizerJson the parsed `tokenizer.json`
 * @param tokenizerConfig the parsed `tokenizer_config.json` (default `{}`)
 * @param fallbackIds ids to use where the tokenizer config names no special token
 * @param source what to call the tokenizer in error messages (a file path)
 * @throws FormatError when the library rejects the tokenizer
 * @example
 * ```ts
 * import { charTokenizerJson, tokenizerFromJson } from "@tangent/tangent/models";
 * const { tokenizerJson, tokenizerConfig } = charTokenizerJson("ab()", { eos: "<eos>" });
 * const tok = tokenizerFromJson(tokenizerJson, tokenizerConfig);
 * tok.encode("(ab)"); // [2, 0, 1, 3]
 * tok.eosId; // 4
 * tok.decode([2, 0, 1, 3, 4], { skipSpecialTokens: true }); // "(ab)"
 * ```
 */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig: unknown = {},
  fallbackIds: SpecialIds = {},
  source = "tokenizer.json",
): TextTokenizer {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
  } catch (e) {
    throw new FormatError(
      `loadTokenizer: ${source} is not a tokenizer @huggingface/tokenizers can read: ${(e as Error).message}; ` +
        `save it again with Python's tokenizers or transformers (tokenizer.save_pretrained(dir))`,
    );
  }
  const config = (tokenizerConfig ?? {}) as Json;
  let vocabSize = 0;
  for (const id of tok.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  const idOf = (key: string): number | undefined => {
    const content = tokenContent(config[key]);
    return content === undefined ? undefined : tok.token_to_id(content);
  };
  const inVocab = (id: number | undefined) => id !== undefined && id < vocabSize ? id : undefined;
  const bosId = idOf("bos_token") ?? inVocab(fallbackIds.bosId);
  const eosId = idOf("eos_token") ?? inVocab(fallbackIds.eosId);
  const padId = idOf("pad_token") ?? inVocab(fallbackIds.padId);
  const modelType = ((tokenizerJson as Json).model as Json | undefined)?.type;
  const cleanUp = config.clean_up_tokenization_spaces === true &&
    (modelType !== "BPE" || config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true);
  return {
    kind: "huggingface",
    vocabSize,
    ...(bosId !== undefined && { bosId }),
    ...(eosId !== undefined && { eosId }),
    ...(padId !== undefined && { padId }),
    encode(text, opts = {}) {
      return tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
    },
    decode(ids, opts = {}) {
      checkIds("decode", ids, vocabSize);
      if (ids.length === 0) return "";
      return tok.decode([...ids], {
        skip_special_tokens: opts.skipSpecialTokens ?? false,
        clean_up_tokenization_spaces: cleanUp,
      });
    },
  };
}

/**
 * UTF-8 bytes as tokens: ids 0..255, and an optional end-of-sequence id above them.
 * Decoding replaces invalid UTF-8 with U+FFFD (a model may emit a partial character) and drops
 * the EOS id, which has no text.
 * @param opts `eosId` (≥ 256; vocabSize becomes `eosId + 1`)
 * @throws DomainError when `eosId` is below 256 (it would collide with a byte) or not an integer
 * @example
 * ```ts
 * import { byteTokenizer } from "@tangent/tangent/models";
 * const tok = byteTokenizer({ eosId: 256 });
 * tok.encode("hé"); // [104, 195, 169]
 * tok.vocabSize; // 257
 * tok.decode([104, 195, 169, 256]); // "hé"
 * ```
 */
export function byteTokenizer(opts: { eosId?: number } = {}): TextTokenizer {
  const { eosId } = opts;
  if (eosId !== undefined && (!Number.isInteger(eosId) || eosId < 256)) {
    throw new DomainError(`byteTokenizer: eosId ${eosId} would collide with a byte (ids 0..255); use 256`);
  }
  const vocabSize = eosId === undefined ? 256 : eosId + 1;
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  return {
    kind: "bytes",
    vocabSize,
    ...(eosId !== undefined && { eosId }),
    encode(text) {
      return Array.from(new TextEncoder().encode(text));
    },
    decode(ids) {
      checkIds("decode", ids, vocabSize);
      return utf8.decode(Uint8Array.from(ids.filter((id) => id < 256)));
    },
  };
}

/**
 * A `tokenizer.json` and `tokenizer_config.json` for a character-level vocabulary: one id per
 * character (code point) in the order given, then `eos` and `pad` as special tokens. It is a BPE
 * with no merges, no normalizer and no pre-tokenizer, and a `Fuse` decoder, so Python's
 * `tokenizers`, `transformers.AutoTokenizer` (as `PreTrainedTokenizerFast`) and
 * `@huggingface/tokenizers` all encode a string to one id per character and decode it back. Like
 * those libraries, encoding drops characters outside the vocabulary. Write both objects as JSON
 * beside a model's `config.json` to make a folder transformers loads.
 * @param chars the vocabulary, each character once
 * @param opts `eos` and `pad`: special-token strings (e.g. `"<eos>"`), given ids after the characters
 * @throws DomainError when `chars` is empty or repeats a character, or a special token clashes
 * @example
 * ```ts
 * import { charTokenizerJson } from "@tangent/tangent/models";
 * const { tokenizerJson, tokenizerConfig } = charTokenizerJson("01+=", { eos: "<eos>", pad: "<pad>" });
 * // tokenizerJson.model.vocab: { "0": 0, "1": 1, "+": 2, "=": 3 }; "<eos>" is 4, "<pad>" is 5
 * ```
 */
export function charTokenizerJson(
  chars: string,
  opts: { eos?: string; pad?: string } = {},
): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } {
  const list = Array.from(chars);
  if (list.length === 0) throw new DomainError("charTokenizerJson: chars is empty; pass the vocabulary's characters");
  const vocab: Record<string, number> = {};
  list.forEach((c, i) => {
    if (Object.hasOwn(vocab, c)) {
      throw new DomainError(
        `charTokenizerJson: character ${JSON.stringify(c)} appears twice in chars (at ${vocab[c]} and ${i}); ` +
          `list each character once`,
      );
    }
    vocab[c] = i;
  });
  const specials = ([["eos", opts.eos], ["pad", opts.pad]] as const).filter(([, t]) => t !== undefined);
  const added = specials.map(([name, content], k) => {
    if (content === "" || Object.hasOwn(vocab, content!) || specials.some(([n, t]) => n !== name && t === content)) {
      throw new DomainError(
        `charTokenizerJson: ${name} token ${JSON.stringify(content)} is empty or also a character or another ` +
          `special token; use a distinct string such as "<${name}>"`,
      );
    }
    return {
      id: list.length + k,
      content: content!,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    };
  });
  const tokenizerJson: Json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Fuse" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const tokenizerConfig: Json = {
    tokenizer_class: "PreTrainedTokenizerFast",
    clean_up_tokenization_spaces: false,
    ...(opts.eos !== undefined && { eos_token: opts.eos }),
    ...(opts.pad !== undefined && { pad_token: opts.pad }),
  };
  return { tokenizerJson, tokenizerConfig };
}

/** Parsed JSON of `dir/name`, or undefined when the file does not exist. */
async function readJson(dir: string, name: string): Promise<unknown | undefined> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`loadTokenizer: ${path} is not valid JSON (${(e as Error).message}); download it again`);
  }
}

const warned = new Set<string>();

/**
 * The tokenizer of a Hugging Face model folder: `tokenizer.json` with `tokenizer_config.json`
 * (optional); special ids the tokenizer config lacks come from `generation_config.json`, then
 * `config.json`. A folder with no `tokenizer.json` gets {@link byteTokenizer} (with EOS 256 when
 * the model config's `eos_token_id` is 256), and a warning on stderr, once per folder.
 * @param dir the model folder
 * @throws FormatError when `dir` is not a folder, a file is not valid JSON or the library rejects `tokenizer.json`
 * @example
 * ```ts
 * import { loadTokenizer } from "@tangent/tangent/models";
 * // The fixture model ships no tokenizer.json: this warns and falls back to bytes.
 * const tok = await loadTokenizer("../shared/fixtures/models/tiny_gpt2");
 * tok.kind; // "bytes"
 * ```
 */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  let why: string | undefined;
  try {
    if (!(await stat(dir)).isDirectory()) why = "a file, not a folder";
  } catch (e) {
    why = (e as Error).message;
  }
  if (why !== undefined) {
    throw new FormatError(`loadTokenizer: cannot read the folder ${dir} (${why}); pass the model's folder`);
  }
  const config = (await readJson(dir, "config.json") ?? {}) as Json;
  const generation = (await readJson(dir, "generation_config.json") ?? {}) as Json;
  const pick = (key: string) => firstId(generation[key]) ?? firstId(config[key]);
  const fallbackIds: SpecialIds = {
    bosId: pick("bos_token_id"),
    eosId: pick("eos_token_id"),
    padId: pick("pad_token_id"),
  };
  const tokenizerJson = await readJson(dir, "tokenizer.json");
  if (tokenizerJson === undefined) {
    const eosId = fallbackIds.eosId === 256 ? 256 : undefined;
    if (!warned.has(dir)) {
      warned.add(dir);
      console.warn(
        `loadTokenizer: ${dir} has no tokenizer.json; using UTF-8 bytes as token ids 0..255` +
          (eosId === undefined ? "" : " and 256 as EOS"),
      );
    }
    return byteTokenizer({ eosId });
  }
  const tokenizerConfig = await readJson(dir, "tokenizer_config.json") ?? {};
  return tokenizerFromJson(tokenizerJson, tokenizerConfig, fallbackIds, join(dir, "tokenizer.json"));
}
