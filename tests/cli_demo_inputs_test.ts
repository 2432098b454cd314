/**
 * The demo's inputs and its cache: `--adapters ,` names no method (it ran an empty study and wrote an
 * empty table), and the cached base model's record is dropped before its weights are rewritten, so a
 * run stopped in between cannot leave new weights under an old run's settings (read back as that run's).
 */
import assert from "node:assert/strict";
import { mkdir, readFile, stat } from "node:fs/promises";
import { FormatError } from "../core/errors.ts";
import { baseSettings, defaultBaseModel } from "../study/base.ts";
import { selectMethods } from "../study/methods.ts";

Deno.test("selectMethods: a list naming no method is a FormatError listing them", () => {
  for (const names of [",", " , ,", [] as string[], [" "]]) {
    assert.throws(
      () => selectMethods(names, 2),
      (e: unknown) => e instanceof FormatError && /names no method; choose from full, lora, .*polar/.test(e.message),
      JSON.stringify(names),
    );
  }
  assert.equal(selectMethods("all", 2).length, 13);
  assert.deepEqual(selectMethods("lora,", 2).map((m) => m.name), ["lora"]);
});

Deno.test("defaultBaseModel: a run stopped after the weights changed leaves no record of the old settings", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    // the cache of another run (other settings: seed 1), whose weights this run replaces
    const old = baseSettings({ quick: true, length: 2, seed: 1 });
    await Deno.writeTextFile(`${dir}/pretraining.json`, JSON.stringify({ settings: old, accuracy: 1 }));
    // stopped after the weights are written: tokenizer.json cannot be (a folder holds its name)
    await mkdir(`${dir}/tokenizer.json`);
    const reasons: string[] = [];
    await assert.rejects(() =>
      defaultBaseModel({ dir, quick: true, length: 2, seed: 0, onPretrain: (r) => reasons.push(r) })
    );
    // why it pretrained, for the CLI to say (a --seq or --seed of its own silently cost a new pretraining)
    assert.deepEqual(reasons, [`the base model in ${dir} was pretrained with seed 1; this run asks for seed 0`]);
    assert.ok((await stat(`${dir}/model.safetensors`)).isFile(), "this run's weights were written");
    const record = await readFile(`${dir}/pretraining.json`, "utf8").catch(() => undefined);
    assert.equal(record, undefined, `the old record still vouches for the new weights: ${record}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
