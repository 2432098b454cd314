/**
 * Models with float16 frozen weights: the tiny GPT-2 and Llama fixtures loaded with
 * `dtype: "float16"` keep every weight in float16 (half the bytes), compute float32 logits within
 * float16 tolerance of the float32 model's on the CPU and on WebGPU, read an F16 checkpoint as it
 * is, generate the float32 model's tokens, save F16, and take PEFT adapters (loaded, or trained
 * here) in float32 on top.
 *
 * Tolerance: max |Δlogit| ≤ 5e-3 · max |logit|. Rounding a weight to float16 changes it by at most
 * 2⁻¹¹ ≈ 4.9e-4 relative; the errors of the 2-layer fixtures' products and residual sums add up to
 * about that size (measured: 1.9e-4 for GPT-2, 4.9e-4 for Llama), so 5e-3 leaves a tenfold margin
 * while a wrong weight or a float16 activation path (about 1e-2 and beyond) fails.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  adapters,
  adaptModel,
  type CausalLM,
  DomainError,
  generate,
  loadModel,
  loadPeftAdapter,
  manifolds,
  safetensors,
  saveModel,
  savePeftAdapter,
  slice,
  type Tensor,
  tensor,
  treeLeaves,
  treeMap,
  useBackend,
  valueAndGrad,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { crossEntropy } from "../models/mod.ts";

const ROOT = "../shared/fixtures/models/";
const MODELS = ["tiny_gpt2", "tiny_llama"] as const;
const TOL = 5e-3;

const ids = async (m: string): Promise<Tensor> => {
  const g = JSON.parse(await readFile(`${ROOT}${m}_golden.json`, "utf8"));
  return tensor(g.input_ids, { dtype: "int32" });
};

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

const bytesOf = (m: CausalLM) =>
  treeLeaves(m.params).reduce((s, t) => s + t.size * (t.dtype === "float16" ? 2 : t.dtype === "float64" ? 8 : 4), 0);

for (const m of MODELS) {
  Deno.test(`loadModel ${m} with dtype float16: float16 weights (half the bytes), float32 logits within ${TOL}`, async () => {
    const x = await ids(m);
    const full = await loadModel(`${ROOT}${m}`);
    const half = await loadModel(`${ROOT}${m}`, { dtype: "float16" });
    assert.deepEqual([...new Set(treeLeaves(half.params).map((t) => t.dtype))], ["float16"]);
    assert.equal(bytesOf(half) * 2, bytesOf(full));
    const want = full.apply(full.params, x).dataSync();
    const logits = half.apply(half.params, x);
    assert.equal(logits.dtype, "float32");
    const e = relErr(logits.dataSync(), want);
    assert.ok(e < TOL, `relative error ${e}`);
    assert.ok(e > 0, "the float16 weights were used"); // rounding the weights changes the logits
  });
}

Deno.test("an F16 checkpoint loads as it is with dtype float16, and widens exactly by default", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const m = "tiny_llama";
    const src = await safetensors.read(`${ROOT}${m}/model.safetensors`);
    await Deno.copyFile(`${ROOT}${m}/config.json`, `${dir}/config.json`);
    await safetensors.write(`${dir}/model.safetensors`, src.tensors, { format: "pt" }, { dtype: "F16" });
    const header = await safetensors.readHeader(`${dir}/model.safetensors`);
    assert.ok(header.entries.every((e) => e.dtype === "F16"));
    const fromF16 = await loadModel(dir, { dtype: "float16" });
    const fromF32 = await loadModel(`${ROOT}${m}`, { dtype: "float16" });
    const a = treeLeaves(fromF16.params), b = treeLeaves(fromF32.params);
    a.forEach((t, i) => assert.deepEqual(t.dataSync(), b[i].dataSync())); // the same roundings
    // written back: float16 tensors are F16, bit for bit the file's
    const again = safetensors.serialize({ w: a[0] });
    const back = safetensors.deserialize(again, { dtype: "float16" }).tensors.w;
    assert.equal(back.dtype, "float16");
    assert.deepEqual(back.dataSync(), a[0].dataSync());
    const wide = await loadModel(dir);
    assert.equal(treeLeaves(wide.params)[0].dtype, "float32");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a float16 model generates the float32 model's greedy tokens (KV cache included) and saves F16", async () => {
  const prompt = tensor([[1, 2, 3]], { dtype: "int32" });
  for (const m of MODELS) {
    const half = await loadModel(`${ROOT}${m}`, { dtype: "float16" });
    const full = await loadModel(`${ROOT}${m}`);
    const opts = { maxNewTokens: 8 };
    assert.deepEqual(await generate(half, half.params, prompt, opts), await generate(full, full.params, prompt, opts));
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      await saveModel(dir, half);
      const header = await safetensors.readHeader(`${dir}/model.safetensors`);
      assert.ok(header.entries.every((e) => e.dtype === "F16"), m);
      const back = await loadModel(dir, { dtype: "float16" });
      treeLeaves(back.params).forEach((t, i) => assert.deepEqual(t.dataSync(), treeLeaves(half.params)[i].dataSync()));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("a LoRA on a float16 base trains in float32 and lowers the loss", async () => {
  const base = await loadModel(`${ROOT}tiny_gpt2`, { dtype: "float16" });
  const peft = adaptModel(base, { target: "c_attn", adapter: adapters.lora({ r: 4, alpha: 8 }) });
  assert.deepEqual([...new Set(treeLeaves(peft.params).map((t) => t.dtype))], ["float32"]);
  const x = await ids("tiny_gpt2");
  const inputs = slice(x, [null, [0, -1]]), labels = slice(x, [null, [1, x.shape[1]]]);
  const loss = (p: typeof peft.params) => crossEntropy(peft.apply(p, inputs), labels);
  const step = valueAndGrad(loss);
  const opt = manifolds.adam({ lr: 1e-2 });
  let params = peft.params, state = opt.init(params);
  const losses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const [value, g] = step(params);
    losses.push(value.item());
    assert.ok(treeLeaves(g).every((t) => t.dtype === "float32"));
    ({ params, state } = opt.update(g, state, params));
  }
  assert.ok(losses[7] < losses[0] - 0.05, `loss ${losses[0]} → ${losses[7]}`);
  assert.ok(treeLeaves(params).every((t) => t.dtype === "float32"));
  assert.ok(treeLeaves(base.params).every((t) => t.dtype === "float16"));
  // PEFT's adapter loaded onto the float16 base: float32 parameters, PEFT's logits within float16 tolerance
  const loaded = await loadPeftAdapter(base, `${ROOT}tiny_gpt2_lora_adapter`);
  assert.ok(treeLeaves(loaded.params).every((t) => t.dtype === "float32"));
  const full = await loadPeftAdapter(await loadModel(`${ROOT}tiny_gpt2`), `${ROOT}tiny_gpt2_lora_adapter`);
  const e = relErr(loaded.apply(loaded.params, x).dataSync(), full.apply(full.params, x).dataSync());
  assert.ok(e < TOL, `adapted logits: relative error ${e}`);
});

Deno.test("adapters initialise on a float16 base (PiSSA's and SORSA's SVD in float32), freezing in float16 without a second copy", async () => {
  const base = await loadModel(`${ROOT}tiny_llama`, { dtype: "float16" });
  const wide = await loadModel(`${ROOT}tiny_llama`);
  const x = await ids("tiny_llama");
  const q = "model.layers.0.self_attn.q_proj";
  const weight = (base.params as { model: { layers: { self_attn: { q_proj: { weight: Tensor } } }[] } })
    .model.layers[0].self_attn.q_proj.weight;
  const cases = [
    ["lora", adapters.lora({ r: 4 }), true],
    ["pissa", adapters.lora({ r: 4, init: "pissa" }), false], // freezes the residual W − U_r Σ_r V_rᵀ
    ["sorsa", adapters.sorsa({ r: 4 }), false],
    ["oft", adapters.oft({ blockSize: 4 }), true],
    ["vera", adapters.vera({ r: 4 }), true],
  ] as [string, adapters.Adapter<unknown, adapters.Frozen>, boolean][];
  for (const [name, adapter, shares] of cases) {
    const peft = adaptModel(base, { target: "q_proj,v_proj", adapter });
    const ref = adaptModel(wide, { target: "q_proj,v_proj", adapter });
    assert.ok(treeLeaves(peft.params).every((t) => t.dtype === "float32"), `${name}: float32 parameters`);
    const frozen = peft.layers[q].frozen as Record<string, Tensor | undefined>;
    assert.ok(treeLeaves(frozen).every((t) => t.dtype === "float16"), `${name}: frozen tensors stay float16`);
    assert.equal(frozen.weight === weight, shares, `${name}: the base's own weight tensor is frozen (no copy)`);
    const e = relErr(peft.apply(peft.params, x).dataSync(), ref.apply(ref.params, x).dataSync());
    assert.ok(e > 0 && e < TOL, `${name}: adapted logits relative error ${e} against the float32 base`);
  }
});

const gpu = await webgpuAvailable();
Deno.test({
  name: `WebGPU: the fixtures loaded with dtype float16 give the float32 logits within ${TOL}; a LoRA on them trains`,
  ignore: !gpu,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const m of MODELS) {
      const x = await ids(m);
      const full = await loadModel(`${ROOT}${m}`);
      const want = full.apply(full.params, x).dataSync();
      const half = await loadModel(`${ROOT}${m}`, { dtype: "float16", backend: "webgpu" });
      assert.equal(treeLeaves(half.params)[0].backend.name, "webgpu");
      assert.equal(bytesOf(half) * 2, bytesOf(full));
      await useBackend("webgpu");
      try {
        const logits = half.apply(half.params, tensor(await x.array(), { dtype: "int32" }));
        assert.equal(logits.dtype, "float32");
        const e = relErr(await logits.data(), want);
        assert.ok(e < TOL && e > 0, `${m}: relative error ${e}`);
        // a token id outside the vocabulary fails the next read with the CPU's message (the packed
        // float16 lookup checks the ids; a negative one is not counted from the end)
        for (const bad of [-2, half.config.vocabSize]) {
          const message = `${half.config.modelType}: token id ${bad} at position 1 is outside the vocabulary ` +
            `[0, ${half.config.vocabSize}); pass ids from this model's tokenizer`;
          await assert.rejects(
            () => half.apply(half.params, tensor([[1, bad, 3]], { dtype: "int32" })).data(),
            (err: Error) => err instanceof DomainError && err.message === message,
          );
        }
        // a LoRA on the float16 base trains on the GPU in float32
        const target = m === "tiny_gpt2" ? "c_attn" : "q_proj,v_proj";
        const peft = adaptModel(half, { target, adapter: adapters.lora({ r: 4, alpha: 8 }) });
        const ids = tensor([[1, 5, 9, 3, 7, 2, 4, 8]], { dtype: "int32" });
        const inputs = slice(ids, [null, [0, 7]]), labels = slice(ids, [null, [1, 8]]);
        const loss = (p: typeof peft.params) => crossEntropy(peft.apply(p, inputs), labels);
        const opt = manifolds.adam({ lr: 1e-2 });
        let params = peft.params, state = opt.init(params);
        const first = (await loss(params).data())[0];
        for (let i = 0; i < 6; i++) {
          const [, g] = valueAndGrad(loss)(params);
          ({ params, state } = opt.update(g, state, params));
        }
        const last = (await loss(params).data())[0];
        assert.ok(last < first - 0.05, `${m} on WebGPU: loss ${first} → ${last}`);
        assert.ok(treeLeaves(params).every((t) => t.dtype === "float32" && t.backend.name === "webgpu"));
      } finally {
        await useBackend("cpu");
      }
    }
  },
});

Deno.test("savePeftAdapter on a float16 base writes the float32 adapters it trained (half would round them)", async () => {
  const model = await loadModel(`${ROOT}tiny_llama`, { dtype: "float16" });
  const peft = adaptModel(model, { target: "q_proj,v_proj", adapter: adapters.lora({ r: 4 }) });
  // parameters off the float16 grid, as training leaves them
  const params = treeMap((t: Tensor) => t.add(0.3001).mul(1.0001), peft.params);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    await savePeftAdapter(dir, peft, params);
    const { tensors } = await safetensors.read(`${dir}/adapter_model.safetensors`);
    assert.ok(Object.values(tensors).every((t) => t.dtype === "float32"), "F32 in the file");
    const back = await loadPeftAdapter(model, dir);
    const x = tensor([[1, 2, 3, 4, 5, 6]], { dtype: "int32" });
    assert.deepEqual(await back.apply(back.params, x).data(), await peft.apply(params, x).data());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
