/**
 * `deno task generate` with a prompt holding characters the tokenizer has no token for (and with an adapter of
 * one's own, which it cannot read: the error names the merged-model way): they are
 * dropped (as Hugging Face's tokenizers drop them), and the CLI names them rather than saying the
 * prompt is empty or continuing a different prompt without a word (needs --allow-run).
 */
import assert from "node:assert/strict";
import { canRun, runGenerate, writeCharModel } from "./cli_helpers.ts";

/** The continuation of `prompt` by the model in `dir`, at most 2 new tokens. */
function generate(dir: string, prompt: string, extra: string[] = []) {
  return runGenerate(["--model", dir, "--prompt", prompt, "--max-new-tokens", "2", ...extra]);
}

Deno.test({
  name: "deno task generate: characters outside the vocabulary are named (an error when none is left)",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-generate-" });
    try {
      await writeCharModel(dir);

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
