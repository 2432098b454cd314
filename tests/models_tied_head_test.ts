/**
 * A target naming `lm_head` on a model whose head is tied to the token embedding (GPT-2): PEFT adapts it,
 * Tangent has no module there. It used to be dropped without a word (`"c_attn,lm_head"` adapted c_attn
 * only), and a PEFT folder with a LoRA on GPT-2's lm_head was said to come from "another architecture";
 * both now name the tie and the fix. An untied head (the tiny Llama's) is adapted as before.
 */
import assert from "node:assert/strict";
import { FormatError } from "../core/errors.ts";
import { adapters, adaptModel, loadModel, loadPeftAdapter, savePeftAdapter } from "../mod.ts";
import { runStudy } from "../study/run.ts";
import { selectMethods } from "../study/methods.ts";
import { transductionTask } from "../study/tasks.ts";

const F = "../shared/fixtures/models";
const tied =
  /lm_head of this gpt2 model is its token embedding \(tie_word_embeddings\), which Tangent does not adapt;.*untie it/;

Deno.test("adaptModel: lm_head of a tied GPT-2 is refused by name (names, lists and RegExps), not dropped", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`);
  for (const target of ["c_attn,lm_head", ["c_attn", "lm_head"], "lm_head", /c_attn|lm_head/]) {
    assert.throws(
      () => adaptModel(model, { target, adapter: adapters.lora({ r: 2 }) }),
      (e: unknown) => e instanceof FormatError && tied.test(e.message),
      String(target),
    );
  }
  assert.equal(adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) }).paths.length, 2);
  const llama = await loadModel(`${F}/tiny_llama`);
  assert.deepEqual(
    adaptModel(llama, { target: "q_proj,lm_head", adapter: adapters.lora({ r: 2 }) }).paths.at(-1),
    "lm_head",
  );
});

Deno.test("runStudy: --target naming a tied lm_head is refused before training", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`);
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  await assert.rejects(
    () => runStudy({ model, task, methods: selectMethods("lora", 2), target: "c_attn,lm_head", steps: 1, batch: 2 }),
    (e: unknown) => e instanceof FormatError && tied.test(e.message),
  );
});

Deno.test("loadPeftAdapter: PEFT's LoRA on GPT-2's tied lm_head names the tie, not another architecture", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    // the folder PEFT 0.21 writes for LoraConfig(target_modules=["c_attn", "lm_head"], fan_in_fan_out=True)
    await savePeftAdapter(dir, adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) }));
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    await Deno.writeTextFile(
      `${dir}/adapter_config.json`,
      JSON.stringify({ ...config, target_modules: ["c_attn", "lm_head"] }),
    );
    await assert.rejects(
      () => loadPeftAdapter(model, dir),
      (e: unknown) => e instanceof FormatError && tied.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
