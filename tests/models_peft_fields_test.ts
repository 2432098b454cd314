/**
 * loadPeftAdapter on PEFT folders whose config reaches beyond the adapter: fields that change
 * PEFT's forward in ways Tangent does not hold are refused by name with the fix (never loaded
 * into other logits); the base-layer tensors PEFT saves beside an adapter on the output layer are
 * read into the base, as PEFT loads them.
 */
import assert from "node:assert/strict";
import { FormatError, ShapeError } from "../core/errors.ts";
import { adapters, adaptModel, key, loadModel, loadPeftAdapter, normal, safetensors, tensor } from "../mod.ts";
import type { Tensor } from "../mod.ts";

const ROOT = "../shared/fixtures/models/";
const model = await loadModel(`${ROOT}tiny_llama`);
const ids = tensor([[3, 1, 4, 1, 5, 9, 2, 6]], { dtype: "int32" });
const P = "base_model.model.";

/** A PEFT LoRA folder on q_proj (r = 2) and, optionally, lm_head, with `extra` tensors and config fields. */
async function folder(extra: Record<string, Tensor>, fields: Record<string, unknown>, modules = ["q_proj"]) {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  const tensors: Record<string, Tensor> = { ...extra };
  let i = 0;
  for (const p of model.linearPaths.filter((p) => modules.some((m) => p.endsWith(m)))) {
    const [out, inF] = p.endsWith("lm_head") ? [64, 32] : [32, 32];
    tensors[`${P}${p}.lora_A.weight`] = normal(key(10 + i++), [2, inF]).mul(0.3);
    tensors[`${P}${p}.lora_B.weight`] = normal(key(10 + i++), [out, 2]).mul(0.3);
  }
  await safetensors.write(`${dir}/adapter_model.safetensors`, tensors);
  const config = { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: modules, bias: "none", ...fields };
  await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify(config));
  return { dir, tensors };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j] - b[j]));
  return d;
};

for (
  const [field, value] of [
    ["modules_to_save", ["lm_head"]],
    ["trainable_token_indices", [3, 5]],
    ["layer_replication", [[0, 2], [1, 2]]],
  ] as const
) {
  Deno.test(`loadPeftAdapter refuses ${field} by name, with the fix`, async () => {
    const { dir } = await folder({}, { [field]: value });
    try {
      await assert.rejects(() => loadPeftAdapter(model, dir), (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, new RegExp(`loadPeftAdapter: .*adapter_config\\.json: LORA with ${field}`));
        assert.match(e.message, /merge_and_unload\(\)\.save_pretrained\(dir\); then loadModel\(dir\)/);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test('loadPeftAdapter: bias = "lora_only" loads where the model has no biases to save, refuses where it saved some', async () => {
  const plain = await folder({}, {});
  const none = await folder({}, { bias: "lora_only" });
  const some = await folder({ [`${P}model.layers.0.self_attn.q_proj.base_layer.bias`]: normal(key(3), [32]) }, {
    bias: "all",
  });
  try {
    const a = await loadPeftAdapter(model, plain.dir), b = await loadPeftAdapter(model, none.dir);
    assert.equal(maxDiff(await a.apply(a.params, ids).data(), await b.apply(b.params, ids).data()), 0);
    await assert.rejects(() => loadPeftAdapter(model, some.dir), /bias = "all" trains the base layers' biases/);
  } finally {
    for (const f of [plain, none, some]) await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("loadPeftAdapter: an output layer's base_layer.weight saved beside its LoRA is read into the base", async () => {
  const head = (model.params as unknown as { lm_head: { weight: Tensor } }).lm_head.weight;
  const moved = head.mul(2); // as after a vocabulary resize or a retied head
  const { dir, tensors } = await folder({ [`${P}lm_head.base_layer.weight`]: moved }, {}, ["q_proj", "lm_head"]);
  const bad = await folder({ [`${P}lm_head.base_layer.weight`]: normal(key(4), [65, 32]) }, {}, ["q_proj", "lm_head"]);
  try {
    const loaded = await loadPeftAdapter(model, dir);
    assert.deepEqual(loaded.paths, ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj", "lm_head"]);
    // the same adapter built by hand on a base whose head is `moved`
    const base = { ...model, params: { ...model.params, lm_head: { weight: moved } } } as typeof model;
    const peft = adaptModel(base, { target: "q_proj,lm_head", adapter: adapters.lora({ r: 2, alpha: 4 }) });
    const params = Object.fromEntries(peft.paths.map((p) => [p, {
      A: tensors[`${P}${p}.lora_A.weight`],
      B: tensors[`${P}${p}.lora_B.weight`],
    }]));
    const want = await peft.apply(params as never, ids).data();
    const got = await loaded.apply(loaded.params, ids).data();
    const plain = await model.apply(model.params, ids).data();
    assert.ok(maxDiff(want, plain) > 1e-2, "the moved head changes the logits");
    assert.ok(maxDiff(want, got) < 1e-5, `logits differ by ${maxDiff(want, got)}`);
    await assert.rejects(() => loadPeftAdapter(model, bad.dir), (e: unknown) => {
      assert.ok(e instanceof ShapeError, String(e));
      assert.match(e.message, /lm_head\.base_layer\.weight has shape \[65, 32\].*\[64, 32\]/);
      return true;
    });
  } finally {
    for (const d of [dir, bad.dir]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("loadPeftAdapter on a whole model folder (the demo's full fine-tuning export) says to load it as a model", async () => {
  await assert.rejects(() => loadPeftAdapter(model, `${ROOT}tiny_llama`), (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.match(e.message, /tiny_llama holds a whole model \(config\.json\), not an adapter: load it with loadModel/);
    return true;
  });
});
