/**
 * `deno task generate` with more new tokens asked for (its default 32 included) than the model has positions left
 * after the prompt: it adds as many as fit and says so on stderr, rather than failing after the work (needs
 * --allow-run).
 */
import assert from "node:assert/strict";
import { createModel, initModel, key, parseConfig, saveModel } from "../mod.ts";
import { charTokenizerJson } from "../models/mod.ts";

const canRun = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted";

Deno.test({
  name: "deno task generate: --max-new-tokens beyond the model's positions adds what fits, with a note",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-generate-positions-" });
    try {
      const { tokenizerJson, tokenizerConfig } = charTokenizerJson("abc="); // no EOS: nothing stops it early
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
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-env", "examples/generate.ts", "--model", dir, "--prompt", "abc"],
        env: { DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const [out, err] = [new TextDecoder().decode(stdout), new TextDecoder().decode(stderr)];
      assert.equal(code, 0, err);
      assert.equal(out.trimEnd().length, 16 - 3 + 1, `16 positions, a 3-token prompt: 14 new tokens; got ${out}`);
      assert.match(
        err,
        /note: the model has 16 positions: 14 new tokens fit after the 3-token prompt \(asked for 32\)/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
