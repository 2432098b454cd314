import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DomainError, FormatError } from "../core/errors.ts";
import { byteTokenizer, charTokenizerJson, loadTokenizer, tokenizerFromJson } from "../models/tokenizer.ts";

/** A fresh folder under /tmp holding the given JSON files (objects) or raw texts (strings). */
async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp("/tmp/tangent-tokenizer-");
  for (const [name, v] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof v === "string" ? v : JSON.stringify(v));
  }
  return dir;
}

/** Runs `fn` with console.warn captured. */
async function captureWarn<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.join(" "));
  try {
    return [await fn(), seen];
  } finally {
    console.warn = warn;
  }
}

const CHARS = "()[]ab é😀\n01";

Deno.test("char tokenizer: round trip through loadTokenizer, ids equal Python's tokenizers and transformers", async () => {
  const { tokenizerJson, tokenizerConfig } = charTokenizerJson(CHARS, { eos: "<eos>", pad: "<pad>" });
  const dir = await folder({
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": tokenizerConfig,
    "config.json": { model_type: "gpt2", vocab_size: 14 },
  });
  try {
    const tok = await loadTokenizer(dir);
    assert.equal(tok.kind, "huggingface");
    assert.equal(tok.vocabSize, 14);
    assert.equal(tok.eosId, 12);
    assert.equal(tok.padId, 13);
    assert.equal(tok.bosId, undefined);
    // Python (tokenizers 0.23.2 Tokenizer.from_file, and transformers 5.18 AutoTokenizer, which loads
    // this folder as PreTrainedTokenizerFast) on the same files:
    const expected: [string, number[]][] = [
      ["(a[b])", [0, 4, 2, 5, 3, 1]],
      ["()\n", [0, 1, 9]],
      ["é😀 ab", [7, 8, 6, 4, 5]],
      ["([]) <eos><pad>", [0, 2, 3, 1, 6, 12, 13]],
      ["0110<eos>", [10, 11, 11, 10, 12]],
      ["a x b", [4, 6, 6, 5]], // "x" is outside the vocabulary: both libraries drop it
    ];
    for (const [text, ids] of expected) assert.deepEqual(tok.encode(text), ids, text);
    for (const [text] of expected.slice(0, 5)) assert.equal(tok.decode(tok.encode(text)), text);
    assert.equal(tok.decode([0, 2, 3, 1, 6, 12, 13], { skipSpecialTokens: true }), "([]) ");
    assert.equal(tok.decode([]), "");
    assert.throws(() => tok.decode([0, 14]), DomainError);
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("charTokenizerJson: one id per code point in order, specials last, bad vocabularies rejected", () => {
  const { tokenizerJson, tokenizerConfig } = charTokenizerJson("ab😀", { eos: "<eos>" });
  const model = tokenizerJson.model as { vocab: Record<string, number>; merges: unknown[] };
  assert.deepEqual(model.vocab, { a: 0, b: 1, "😀": 2 });
  assert.deepEqual(model.merges, []);
  assert.deepEqual((tokenizerJson.added_tokens as { id: number; content: string }[]).map((t) => [t.id, t.content]), [
    [3, "<eos>"],
  ]);
  assert.equal(tokenizerConfig.eos_token, "<eos>");
  assert.equal(tokenizerConfig.tokenizer_class, "PreTrainedTokenizerFast");
  assert.throws(() => charTokenizerJson("aba"), /appears twice/);
  assert.throws(() => charTokenizerJson(""), DomainError);
  assert.throws(() => charTokenizerJson("ab", { eos: "a" }), DomainError);
  assert.throws(() => charTokenizerJson("ab", { eos: "<x>", pad: "<x>" }), DomainError);
});

// tests/data/bytelevel_bpe/tokenizer.json: ByteLevelBPETokenizer (Python tokenizers 0.23.2), vocab_size=400,
// min_frequency=2, special token <|endoftext|>, trained on these sentences repeated three times:
//   "Tangent is a pure functional tensor library with reverse-mode autodiff."
//   "Hello world! Hello tensors, hello gradients."
//   "Le café est déjà prêt; naïve façade, Straße, Ærøskøbing."
//   "Emoji travel well: 🤗 ❤️ 🚀 and 日本語 too."
//   "  Two  spaces,\ttabs\tand\nnew lines\n  matter."
// Expected ids: Tokenizer.from_file("tokenizer.json").encode(text).ids in Python.
const BPE_CASES: [string, number[]][] = [
  ["Hello world", [267, 380]],
  ["café déjà vu, naïve Straße", [302, 277, 361, 314, 255, 221, 86, 85, 12, 366, 345, 358, 374, 69]],
  ["I ❤️ 🤗 tokens 🚀", [41, 369, 338, 346, 394, 260, 79, 75, 258, 83, 395]],
  ["  two  spaces\tand\ttabs\n end ", [
    221,
    260,
    87,
    79,
    221,
    367,
    263,
    198,
    287,
    198,
    330,
    83,
    199,
    221,
    258,
    68,
    221,
  ]],
  ["unseen: Zürich ½ 𝔘", [
    85,
    78,
    326,
    258,
    26,
    221,
    58,
    128,
    121,
    82,
    73,
    67,
    72,
    221,
    127,
    122,
    221,
    173,
    252,
    243,
    247,
  ]],
  ["<|endoftext|>Hello<|endoftext|>", [0, 267, 0]],
];

Deno.test("byte-level BPE: ids equal Python's for ASCII, accents, emoji and whitespace; decode round trips", async () => {
  const tok = await loadTokenizer("tests/data/bytelevel_bpe");
  assert.equal(tok.kind, "huggingface");
  assert.equal(tok.vocabSize, 400);
  for (const [text, ids] of BPE_CASES) {
    assert.deepEqual(tok.encode(text), ids, text);
    assert.equal(tok.decode(ids), text, text);
  }
  assert.equal(tok.decode([0, 267, 0], { skipSpecialTokens: true }), "Hello");
});

Deno.test("special ids: tokenizer_config first, then generation_config.json, then config.json", async () => {
  const { tokenizerJson } = charTokenizerJson("abc", { eos: "<eos>", pad: "<pad>" });
  const dir = await folder({
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": { pad_token: { content: "<pad>", __type: "AddedToken" } },
    "generation_config.json": { eos_token_id: [3, 4], bos_token_id: 3 },
    "config.json": { eos_token_id: 1, bos_token_id: 2, pad_token_id: 0 },
  });
  try {
    const tok = await loadTokenizer(dir);
    assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [3, 3, 4]);
  } finally {
    await rm(dir, { recursive: true });
  }
  const alone = tokenizerFromJson(tokenizerJson, {}, { eosId: 99 }); // outside the vocabulary: ignored
  assert.equal(alone.eosId, undefined);
});

Deno.test("no tokenizer.json: byte fallback, with one warning naming the folder", async () => {
  const dir = await folder({ "config.json": { eos_token_id: 256 } });
  try {
    const [tok, warnings] = await captureWarn(async () => [await loadTokenizer(dir), await loadTokenizer(dir)]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`${dir}.*tokenizer\\.json`));
    assert.equal(tok[0].kind, "bytes");
    assert.equal(tok[0].eosId, 256);
    assert.equal(tok[0].vocabSize, 257);
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("byteTokenizer: UTF-8 bytes, lenient decoding, EOS above the bytes", () => {
  const tok = byteTokenizer();
  assert.equal(tok.vocabSize, 256);
  assert.equal(tok.eosId, undefined);
  assert.deepEqual(tok.encode("aé😀"), [97, 195, 169, 240, 159, 152, 128]);
  assert.equal(tok.decode([97, 195, 169, 240, 159, 152, 128]), "aé😀");
  assert.equal(tok.decode([97, 240, 159]), "a\uFFFD"); // a cut character decodes to U+FFFD, no throw
  assert.throws(() => tok.decode([256]), DomainError);
  const withEos = byteTokenizer({ eosId: 256 });
  assert.equal(withEos.vocabSize, 257);
  assert.equal(withEos.decode([104, 105, 256]), "hi");
  assert.throws(() => byteTokenizer({ eosId: 10 }), DomainError);
});

Deno.test("corrupt tokenizer.json: FormatError naming the file and the cause", async () => {
  const dir = await folder({ "tokenizer.json": '{"model": {"type": "BPE", "vocab": {' });
  const rejected = await folder({
    "tokenizer.json": {
      model: { type: "NoSuchModel" },
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
    },
  });
  try {
    await assert.rejects(loadTokenizer(dir), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, new RegExp(`${join(dir, "tokenizer.json")} is not valid JSON`));
      return true;
    });
    await assert.rejects(loadTokenizer(rejected), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.ok(e.message.includes(join(rejected, "tokenizer.json")), e.message);
      assert.match(e.message, /Unknown TokenizerModel type: NoSuchModel/); // the library's own message
      return true;
    });
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "sub", "tokenizer.json"), JSON.stringify({ ...charTokenizerJson("ab").tokenizerJson }));
    await writeFile(join(dir, "sub", "tokenizer_config.json"), "not json");
    await assert.rejects(loadTokenizer(join(dir, "sub")), /tokenizer_config\.json is not valid JSON/);
  } finally {
    await rm(dir, { recursive: true });
    await rm(rejected, { recursive: true });
  }
});
