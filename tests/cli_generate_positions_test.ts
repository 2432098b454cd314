/**
 * `deno task generate` with more new tokens asked for (its default 32 included) than the model has positions left
 * after the prompt: it adds as many as fit and says so on stderr, rather than failing after the work (needs
 * --allow-run).
 */
import assert from "node:assert/strict";
import { canRun, runGenerate, writeCharModel } from "./cli_helpers.ts";

Deno.test({
  name: "deno task generate: --max-new-tokens beyond the model's positions adds what fits, with a note",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-generate-positions-" });
    try {
      await writeCharModel(dir); // no EOS: nothing stops it early
      const { code, stdout: out, stderr: err } = await runGenerate(["--model", dir, "--prompt", "abc"]);
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
