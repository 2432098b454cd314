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

Deno.test("defaultBaseModel: a model pretrained by another version (other rounding) is not reused as this one's", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const opts = { dir, quick: true, length: 2, seed: 0 };
    const reasons: string[] = [];
    const first = await defaultBaseModel({ ...opts, onPretrain: (r) => reasons.push(r) });
    assert.equal(first.reused, false);
    const record = JSON.parse(await readFile(`${dir}/pretraining.json`, "utf8"));
    assert.equal(record.check.losses.length, 3);
    // the same version: reused, its first steps rerun to the same losses bit for bit
    assert.equal((await defaultBaseModel({ ...opts, onPretrain: (r) => reasons.push(r) })).reused, true);
    assert.equal(reasons.length, 1);
    // another version's record: the same settings, a first loss one ulp away
    const other = { ...record, check: { ...record.check, losses: [...record.check.losses] } };
    other.check.losses[1] = other.check.losses[1] * (1 + 2 ** -52);
    await Deno.writeTextFile(`${dir}/pretraining.json`, JSON.stringify(other));
    assert.equal((await defaultBaseModel({ ...opts, onPretrain: (r) => reasons.push(r) })).reused, false);
    assert.match(reasons[1], /was pretrained by another version of Tangent \(pretraining step 1 gives loss/);
    // a record from before the check (no check losses) is pretrained again too
    const { check: _, ...bare } = record;
    await Deno.writeTextFile(`${dir}/pretraining.json`, JSON.stringify(bare));
    assert.equal((await defaultBaseModel({ ...opts, onPretrain: (r) => reasons.push(r) })).reused, false);
    assert.match(reasons[2], /another version of Tangent \(its record has no check losses\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
