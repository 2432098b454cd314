/**
 * `deno task generate` with a prompt holding characters the tokenizer has no token for (and with an adapter of
 * one's own, which it cannot read: the error names the merged-model way): they are
 * dropped (as Hugging Face's tokenizers drop them), and the CLI names them rather than saying the
 * prompt is empty or continuing a different prompt without a word (needs --allow-run).
 */
import assert from "node:assert/strict";
import { createModel, initModel, key, parseConfig, saveModel } from "../mod.ts";
import { charTokenizerJson } from "../models/mod.ts";

const canRun = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted";

async function generate(
  dir: string,
  prompt: string,
  extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "examples/generate.ts",
      "--model",
      dir,
      "--prompt",
      prompt,
      "--max-new-tokens",
      "2",
      ...extra,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test({
  name: "deno task generate: characters outside the vocabulary are named (an error when none is left)",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-generate-" });
    try {
      const { tokenizerJson, tokenizerConfig } = charTokenizerJson("abc=");
      const config = parseConfig({
        model_type: "gpt2",
        vocab_size: 4,
        n_embd: 8,
        n_layer: 1,
        n_head: 2,
        n_positions: 16,
      });
      await saveModel(dir, createModel(config, initModel(config, key(0))));
      await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(tokenizerJson));
      await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(tokenizerConfig));

      const none = await generate(dir, "xyz");
      assert.equal(none.code, 1, none.stderr);
      assert.match(none.stderr, /encodes to no tokens: the tokenizer has none for "x", "y", "z"/);

      const some = await generate(dir, "abxz=");
      assert.equal(some.code, 0, some.stderr);
      assert.match(some.stderr, /no token for "x", "z": the model reads the prompt as "ab="/);
      assert.ok(some.stdout.length > 0, "the continuation is printed");

      const all = await generate(dir, "ab=");
      assert.equal(all.code, 0, all.stderr);
      assert.doesNotMatch(all.stderr, /no token/);

      // an adapter of one's own: the command line cannot take a reader, so it names the merged-model way
      const mine = `${dir}/mine`;
      await Deno.mkdir(mine);
      await Deno.writeTextFile(
        `${mine}/adapter_config.json`,
        JSON.stringify({ peft_type: "MINE", library: "tangent", target_modules: ["c_attn"], r: 2 }),
      );
      const own = await generate(dir, "ab=", ["--adapter", mine]);
      assert.equal(own.code, 1, own.stderr);
      assert.match(own.stderr, /peft_type 'MINE' is not one Tangent reads/);
      assert.match(own.stderr, /the command line reads no type of your own: .*saveModel\(out, model, peft\.merge/);
      assert.doesNotMatch(own.stderr, /pass a reader/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
