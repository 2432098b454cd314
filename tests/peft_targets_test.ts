/**
 * loadPeftAdapter selects modules as PEFT 0.21's check_target_module_exists does: `layers_to_transform: []`
 * (what LoraConfig(layers_to_transform=[]) saves) is every layer, and a module named by its whole path in
 * `target_modules` is adapted whatever `layers_to_transform` says (both checked with PEFT 0.21 on the tiny
 * Llama: [] gives both layers' q_proj; ["model.layers.1.self_attn.q_proj", "v_proj"] with [0] gives layer 1's
 * q_proj and layer 0's v_proj). `[]` used to select nothing ("selects no linear module").
 */
import assert from "node:assert/strict";
import { FormatError } from "../core/errors.ts";
import { adapters, adaptModel, key, loadModel, loadPeftAdapter, normal, savePeftAdapter, tensor } from "../mod.ts";

const F = "../shared/fixtures/models";
const ids = tensor([[1, 5, 9, 3, 7, 2]], { dtype: "int32" });

async function withConfig(dir: string, fields: Record<string, unknown>): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
  await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify({ ...config, ...fields }));
}

Deno.test("loadPeftAdapter: layers_to_transform [] is every layer, as PEFT reads it", async () => {
  const model = await loadModel(`${F}/tiny_llama`);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const peft = adaptModel(model, { target: "q_proj", adapter: adapters.lora({ r: 2 }) });
    const params = Object.fromEntries(
      Object.entries(peft.params).map(([p, v], i) => [p, { ...v, B: normal(key(i + 1), v.B.shape) }]),
    );
    await savePeftAdapter(dir, peft, params as typeof peft.params);
    await withConfig(dir, { layers_to_transform: [], layers_pattern: null });
    const back = await loadPeftAdapter(model, dir);
    assert.deepEqual(back.paths, ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"]);
    assert.deepEqual(await back.apply(back.params, ids).data(), await peft.apply(params as never, ids).data());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadPeftAdapter: a whole path in target_modules is adapted whatever layers_to_transform says", async () => {
  const model = await loadModel(`${F}/tiny_llama`);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const want = ["model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj"];
    const peft = adaptModel(model, { target: (p) => want.includes(p), adapter: adapters.lora({ r: 2 }) });
    await savePeftAdapter(dir, peft, peft.params);
    await withConfig(dir, { target_modules: ["model.layers.1.self_attn.q_proj", "v_proj"], layers_to_transform: [0] });
    assert.deepEqual((await loadPeftAdapter(model, dir)).paths, want);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadPeftAdapter: target_modules / exclude_modules regexes in Python's syntax read as PEFT reads them", async () => {
  const model = await loadModel(`${F}/tiny_llama`);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const init = adaptModel(model, { target: "q_proj", adapter: adapters.lora({ r: 2 }) });
    await savePeftAdapter(dir, init, init.params);
    const both = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"];
    // named groups, \Z and a leading (?i): re.fullmatch selects both layers' q_proj (PEFT 0.21)
    for (const t of [String.raw`model\.layers\.(?P<i>\d+)\.self_attn\.q_proj\Z`, String.raw`(?i).*\.Q_PROJ`]) {
      await withConfig(dir, { target_modules: t, exclude_modules: null });
      assert.deepEqual((await loadPeftAdapter(model, dir)).paths, both, t);
    }
    // an exclude regex ending in \Z excludes (as the letter Z it excluded nothing)
    await withConfig(dir, { target_modules: ["q_proj", "v_proj"], exclude_modules: String.raw`.*v_proj\Z` });
    assert.deepEqual((await loadPeftAdapter(model, dir)).paths, both);
    await withConfig(dir, { target_modules: ["q_proj"], exclude_modules: String.raw`.*layers\.1\..*\Z` });
    await assert.rejects(() => loadPeftAdapter(model, dir), /model\.layers\.1\.self_attn\.q_proj.*does not select/);
    // what JavaScript cannot read is a FormatError naming the field
    await withConfig(dir, { target_modules: String.raw`.*q_proj(?x)`, exclude_modules: null });
    await assert.rejects(
      () => loadPeftAdapter(model, dir),
      (e: unknown) =>
        e instanceof FormatError && /loadPeftAdapter: config\.target_modules ".*" is a Python/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
