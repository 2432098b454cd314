/**
 * loadPeftAdapter on PEFT folders whose config reaches beyond the adapter: fields that change
 * PEFT's forward in ways Tangent does not hold are refused by name with the fix (never loaded
 * into other logits); the base-layer tensors PEFT saves beside an adapter on the output layer are
 * read into the base, as PEFT loads them.
 */
import assert from "node:assert/strict";
import { FormatError, ShapeError } from "../core/errors.ts";
import {
  adapters,
  adaptModel,
  key,
  loadModel,
  loadPeftAdapter,
  normal,
  safetensors,
  savePeftAdapter,
  tensor,
} from "../mod.ts";
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

Deno.test('loadPeftAdapter: bias = "lora_only" on a model without biases (Llama) saves none and loads', async () => {
  const plain = await folder({}, {});
  const none = await folder({}, { bias: "lora_only" });
  try {
    const a = await loadPeftAdapter(model, plain.dir), b = await loadPeftAdapter(model, none.dir);
    assert.equal(maxDiff(await a.apply(a.params, ids).data(), await b.apply(b.params, ids).data()), 0);
  } finally {
    for (const f of [plain, none]) await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test('loadPeftAdapter: bias = "lora_only" reads the adapted modules\' trained biases; savePeftAdapter writes them back', async () => {
  const gpt2 = await loadModel(`${ROOT}tiny_gpt2`);
  const paths = ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"];
  const tensors: Record<string, Tensor> = {}, biases: Record<string, Tensor> = {};
  paths.forEach((p, i) => {
    tensors[`${P}${p}.lora_A.weight`] = normal(key(20 + i), [2, 32]).mul(0.3);
    tensors[`${P}${p}.lora_B.weight`] = normal(key(30 + i), [96, 2]).mul(0.3);
    biases[p] = tensors[`${P}${p}.base_layer.bias`] = normal(key(40 + i), [96]);
  });
  const config = { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["c_attn"], fan_in_fan_out: true };
  const dirs = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir({ dir: "/tmp" })));
  try {
    await safetensors.write(`${dirs[0]}/adapter_model.safetensors`, tensors);
    await Deno.writeTextFile(`${dirs[0]}/adapter_config.json`, JSON.stringify({ ...config, bias: "lora_only" }));
    const loaded = await loadPeftAdapter(gpt2, dirs[0]);
    // the same LoRA by hand on a base whose c_attn biases are the trained ones
    type Tree = { transformer: { h: { attn: { c_attn: Record<string, Tensor> } }[] } };
    const tree = gpt2.params as unknown as Tree;
    const h = tree.transformer.h.map((b, i) => ({
      ...b,
      attn: { ...b.attn, c_attn: { ...b.attn.c_attn, bias: biases[paths[i]] } },
    }));
    const base = { ...gpt2, params: { ...tree, transformer: { ...tree.transformer, h } } } as unknown as typeof gpt2;
    const peft = adaptModel(base, { target: "c_attn", adapter: adapters.lora({ r: 2, alpha: 4 }) });
    const params = Object.fromEntries(
      paths.map((p) => [p, { A: tensors[`${P}${p}.lora_A.weight`], B: tensors[`${P}${p}.lora_B.weight`] }]),
    );
    const want = await peft.apply(params as never, ids).data(), got = await loaded.apply(loaded.params, ids).data();
    assert.ok(maxDiff(want, got) < 1e-5, `logits differ by ${maxDiff(want, got)}`);
    assert.ok(maxDiff(want, await gpt2.apply(gpt2.params, ids).data()) > 1e-2, "the biases matter");
    const saved = await savePeftAdapter(dirs[1], loaded, loaded.params);
    assert.equal(saved.config.bias, "lora_only"); // PEFT reads base_layer.bias back under lora_only
    const back = await loadPeftAdapter(gpt2, dirs[1]);
    assert.equal(maxDiff(got, await back.apply(back.params, ids).data()), 0);
    // "all" with the bias of a module without an adapter is state an adapter does not hold
    await safetensors.write(`${dirs[2]}/adapter_model.safetensors`, {
      ...tensors,
      [`${P}transformer.h.0.attn.c_proj.bias`]: normal(key(5), [32]),
    });
    await Deno.writeTextFile(`${dirs[2]}/adapter_config.json`, JSON.stringify({ ...config, bias: "all" }));
    await assert.rejects(
      () => loadPeftAdapter(gpt2, dirs[2]),
      /bias = "all" saved base_model\.model\.transformer\.h\.0\.attn\.c_proj\.bias, the bias of a module without an adapter.*merge_and_unload/,
    );
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
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

Deno.test("savePeftAdapter on an adapter of your own: without peftConfig() the error names tangentPeftConfig; with it the folder says only Tangent's rebuild reads it", async () => {
  const { peftConfig: _drop, ...noConfig } = adapters.lora({ r: 2 });
  const own: adapters.Adapter<adapters.LoraParams> = { ...noConfig, kind: "my_lora" };
  const peft = adaptModel(model, { target: "q_proj", adapter: own });
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    await assert.rejects(() => savePeftAdapter(dir, peft, peft.params), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /\(my_lora\) has no peftConfig\(\).*adapters\.tangentPeftConfig\("MY_LORA"/);
      return true;
    });
    const configured = { ...own, peftConfig: () => adapters.tangentPeftConfig("MY_LORA", { r: 2 }) };
    const withConfig = adaptModel(model, { target: "q_proj", adapter: configured });
    const saved = await savePeftAdapter(dir, withConfig, withConfig.params);
    assert.equal(saved.config.peft_type, "MY_LORA");
    assert.equal(saved.config.library, "tangent");
    assert.match(String(saved.config.note), /no MY_LORA type; a method of your own.*\{ adapters: \{ MY_LORA: /);
    assert.match(saved.notes.join("\n"), /MY_LORA is a type of your own.*loadPeftAdapter.*\{ adapters: \{ MY_LORA: /);
    assert.doesNotMatch(saved.notes.join("\n"), /frozen weight/, "this adapter keeps the base weight");
    // an adapter that changes the frozen weight at init (a folded start) without frozenToPeft: the note says so
    const folded = {
      ...configured,
      init: (k: Parameters<typeof configured.init>[0], base: adapters.LinearBase) => {
        const { params, frozen } = configured.init(k, base);
        return { params, frozen: { ...frozen, weight: base.weight.mul(2) } };
      },
    };
    const withFolded = adaptModel(model, { target: "q_proj", adapter: folded });
    const lost = await savePeftAdapter(dir, withFolded, withFolded.params);
    assert.match(
      lost.notes.join("\n"),
      /frozen weight of model\.layers\.0\.self_attn\.q_proj \(and 1 more\).*frozenToPeft/,
    );
    await assert.rejects(() => loadPeftAdapter(model, dir), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /^loadPeftAdapter: \/tmp\/.*adapter_config\.json: peft_type 'MY_LORA' is not one/);
      assert.match(
        e.message,
        /an adapter of your own.*pass a reader for it: loadPeftAdapter\(model, dir, \{ adapters: \{ MY_LORA: /,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
