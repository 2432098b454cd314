/**
 * Loading and saving models: sharded checkpoints, the names and shapes a config needs, configs of
 * the Llama family's relatives, saveModel round trips, and generation with the KV cache.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  createModel,
  FormatError,
  generate,
  initModel,
  key,
  loadModel,
  parseConfig,
  safetensors,
  saveModel,
  ShapeError,
  type Tensor,
  tensor,
} from "../mod.ts";
import { modelStateDict } from "../models/mod.ts";

const ROOT = "../shared/fixtures/models/";
const ids = tensor([[5, 3, 9, 1, 60, 2], [7, 7, 0, 12, 33, 41]], { dtype: "int32" });

async function same(a: Tensor, b: Tensor, tol = 0): Promise<void> {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `element ${i}`);
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ dir: "/tmp" });
}

Deno.test("a sharded checkpoint (model.safetensors.index.json) loads to the same logits", async () => {
  const whole = await loadModel(`${ROOT}tiny_llama`);
  const { tensors, metadata } = await safetensors.read(`${ROOT}tiny_llama/model.safetensors`);
  const dir = await tempDir();
  try {
    const names = Object.keys(tensors).sort();
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await safetensors.write(`${dir}/${file}`, Object.fromEntries(shard.map((n) => [n, tensors[n]])), metadata);
      for (const n of shard) weightMap[n] = file;
    }
    await Deno.writeTextFile(
      `${dir}/model.safetensors.index.json`,
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    await Deno.copyFile(`${ROOT}tiny_llama/config.json`, `${dir}/config.json`);
    const sharded = await loadModel(dir);
    await same(sharded.apply(sharded.params, ids), whole.apply(whole.params, ids));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel: a missing, extra or misshapen tensor, or another architecture, stops with the name", async () => {
  const { tensors } = await safetensors.read(`${ROOT}tiny_gpt2/model.safetensors`);
  const config = JSON.parse(await readFile(`${ROOT}tiny_gpt2/config.json`, "utf8"));
  const { ["transformer.h.1.mlp.c_fc.bias"]: _dropped, ...missing } = tensors;
  await assert.rejects(() => loadModel({ config, tensors: missing }), (e) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /lacks 1 tensor.*transformer\.h\.1\.mlp\.c_fc\.bias/);
    return true;
  });
  const extra = { ...tensors, "transformer.h.2.ln_1.weight": tensors["transformer.ln_f.weight"] };
  await assert.rejects(() => loadModel({ config, tensors: extra }), /does not use: transformer\.h\.2\.ln_1\.weight/);
  const wrong = { ...tensors, "transformer.wpe.weight": tensor(new Float32Array(31 * 32), { shape: [31, 32] }) };
  await assert.rejects(() => loadModel({ config, tensors: wrong }), (e) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /transformer\.wpe\.weight has shape \[31, 32\].*expects \[32, 32\]/);
    return true;
  });
  await assert.rejects(() => loadModel({ config: { ...config, model_type: "bert" }, tensors }), (e) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /model_type 'bert' is not supported; Tangent loads gpt2, llama, mistral, qwen2/);
    return true;
  });
  // the original GPT-2 checkpoints omit the `transformer.` prefix and carry causal-mask buffers
  const old = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k.replace(/^transformer\./, ""), v]));
  old["h.0.attn.bias"] = tensor([1]);
  const m = await loadModel({ config, tensors: old });
  const ref = await loadModel(`${ROOT}tiny_gpt2`);
  await same(m.apply(m.params, ids), ref.apply(ref.params, ids));
});

Deno.test("loadModel: a folder with only a pickle says how to convert it", async () => {
  const dir = await tempDir();
  try {
    await Deno.copyFile(`${ROOT}tiny_gpt2/config.json`, `${dir}/config.json`);
    await Deno.writeFile(`${dir}/pytorch_model.bin`, new Uint8Array(8));
    await assert.rejects(() => loadModel(dir), /only pytorch_model\.bin.*safe_serialization=True/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Qwen2 (q, k, v biases) and Mistral (sliding window) configs run as the Llama family", async () => {
  const base = {
    vocab_size: 32,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 32,
  };
  const qwen = parseConfig({ ...base, model_type: "qwen2", rope_theta: 1e6 });
  const params = initModel(qwen, key(0));
  const attn = (params.model as { layers: { self_attn: Record<string, { bias?: Tensor }> }[] }).layers[0].self_attn;
  assert.ok(attn.q_proj.bias && attn.k_proj.bias && attn.v_proj.bias && !attn.o_proj.bias);
  assert.equal(qwen.rope?.theta, 1e6);
  const logits = createModel(qwen, params).apply(params, tensor([[1, 2, 3]], { dtype: "int32" }));
  assert.deepEqual(logits.shape, [1, 3, 32]);
  // a sliding window of 2: the last position's logits do not depend on the first token
  const mistral = parseConfig({ ...base, model_type: "mistral", sliding_window: 2 });
  const m = createModel(mistral, initModel(mistral, key(1)));
  const a = m.apply(m.params, tensor([[1, 2, 3, 4]], { dtype: "int32" }));
  const b = m.apply(m.params, tensor([[9, 2, 3, 4]], { dtype: "int32" }));
  const last = async (t: Tensor) => (await t.data()).slice(3 * 32);
  assert.deepEqual(await last(a), await last(b));
  assert.throws(
    () => parseConfig({ ...base, model_type: "llama", rope_scaling: { rope_type: "longrope" } }),
    /longrope/,
  );
});

Deno.test("saveModel writes a folder loadModel reads back exactly, in the checkpoint's names and layouts", async () => {
  const ref = await loadModel(`${ROOT}tiny_gpt2`);
  const dir = await tempDir();
  try {
    await saveModel(dir, ref);
    const back = await loadModel(dir);
    await same(back.apply(back.params, ids), ref.apply(ref.params, ids));
    const theirs = await safetensors.readHeader(`${ROOT}tiny_gpt2/model.safetensors`);
    const ours = await safetensors.readHeader(`${dir}/model.safetensors`);
    const shapes = (h: typeof ours) => Object.fromEntries(h.entries.map((e) => [e.name, e.shape]));
    assert.deepEqual(shapes(ours), shapes(theirs)); // Conv1D weights back to in × out
    assert.equal(Object.keys(modelStateDict(ref)).length, theirs.entries.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const m of ["tiny_gpt2", "tiny_llama"]) {
  Deno.test(`generate (${m}): the KV cache gives the logits of the whole sequence; sampling is keyed`, async () => {
    const model = await loadModel(`${ROOT}${m}`);
    const prompt = tensor([[1, 5, 9], [2, 2, 7]], { dtype: "int32" });
    const out = await generate(model, model.params, prompt, { maxNewTokens: 6, eosTokenId: null });
    assert.equal(out[0].length, 9);
    // greedy: each new token is the argmax of the full forward pass at the position before it
    const full = await model.apply(model.params, tensor(out, { dtype: "int32" })).array() as number[][][];
    for (let b = 0; b < 2; b++) {
      for (let t = 3; t < 9; t++) {
        const row = full[b][t - 1];
        assert.equal(out[b][t], row.indexOf(Math.max(...row)), `sequence ${b}, position ${t}`);
      }
    }
    // the cached step's logits equal the uncached forward's
    const { logits: l1, cache } = model.forward(model.params, prompt);
    const step = model.forward(model.params, tensor([[4], [8]], { dtype: "int32" }), { cache });
    const whole = model.apply(model.params, tensor([[1, 5, 9, 4], [2, 2, 7, 8]], { dtype: "int32" }));
    assert.equal(l1.shape[1], 3);
    const last = (await whole.array() as number[][][]).map((r) => r[3]);
    const got = (await step.logits.array() as number[][][]).map((r) => r[0]);
    for (let b = 0; b < 2; b++) got[b].forEach((v, j) => assert.ok(Math.abs(v - last[b][j]) < 1e-4));
    const s1 = await generate(model, model.params, prompt, { maxNewTokens: 5, temperature: 1, key: key(3) });
    const s2 = await generate(model, model.params, prompt, { maxNewTokens: 5, temperature: 1, key: key(3) });
    const s3 = await generate(model, model.params, prompt, { maxNewTokens: 5, temperature: 1, key: key(4) });
    assert.deepEqual(s1, s2);
    assert.notDeepEqual(s1, s3);
    await assert.rejects(
      () => generate(model, model.params, prompt, { maxNewTokens: 2, temperature: 1 }),
      /needs a key/,
    );
  });
}

Deno.test("model functions called without their arguments say what to pass", async () => {
  const model = await loadModel(`${ROOT}tiny_gpt2`);
  // deno-lint-ignore no-explicit-any
  const none = undefined as any;
  await assert.rejects(() => generate(model, model.params, ids, none), /give the options.*maxNewTokens/);
  await assert.rejects(() => loadModel(none), /expected a folder path/);
  await assert.rejects(() => loadModel(`${ROOT}tiny_gpt2`, { dtype: "int32" as never }), /dtype must be/);
  const { adaptModel } = await import("../mod.ts");
  assert.throws(() => adaptModel(model, none), /give \{ target, adapter \}/);
});

Deno.test("adaptModel: an adapter of one's own whose apply drops x's leading axes is named at its module", async () => {
  const { adapters, adaptModel } = await import("../mod.ts");
  const model = await loadModel(`${ROOT}tiny_gpt2`);
  const lora = adapters.lora({ r: 2 });
  const flat: typeof lora = {
    ...lora,
    kind: "flat",
    apply: (p, f, x) => lora.apply(p, f, x.reshape([-1, x.shape.at(-1)!])),
  };
  const peft = adaptModel(model, { target: "c_attn", adapter: flat });
  assert.throws(
    () => peft.apply(peft.params, ids),
    (e: unknown) =>
      e instanceof ShapeError &&
      /transformer\.h\.0\.attn\.c_attn: the flat adapter's apply gave \[12,96\] for x \[2,6,32\].*\[2,6,96\]/
        .test(e.message),
  );
  const ok = adaptModel(model, { target: "c_attn", adapter: lora }); // the built-in keeps the axes
  assert.deepEqual(ok.apply(ok.params, ids).shape, [2, 6, model.config.vocabSize]);
});
