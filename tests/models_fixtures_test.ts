/**
 * Held to transformers and PEFT: the tiny GPT-2 and Llama checkpoints in ../shared/fixtures/models
 * give transformers' logits, with and without PEFT's adapters, on the CPU (float32 and float64) and
 * on WebGPU (llvmpipe in CI); adapters written by Tangent read back to the same logits with PEFT's
 * names and config fields.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  adapters,
  adaptModel,
  DomainError,
  loadModel,
  loadPeftAdapter,
  models,
  safetensors,
  savePeftAdapter,
  type Tensor,
  tensor,
  useBackend,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const ROOT = "../shared/fixtures/models/";
const CASES = [
  { model: "tiny_gpt2", adapter: "tiny_gpt2_lora_adapter", logits: "logits_with_lora" },
  { model: "tiny_llama", adapter: "tiny_llama_lora_adapter", logits: "logits_with_lora" },
  { model: "tiny_llama", adapter: "tiny_llama_hra_adapter", logits: "logits_with_hra" },
] as const;

interface Golden {
  input_ids: number[][];
  [k: string]: unknown;
}
const golden = async (m: string): Promise<Golden> => JSON.parse(await readFile(`${ROOT}${m}_golden.json`, "utf8"));
const flat = (v: unknown): number[] => (v as { data?: number[] }).data ?? (v as number[][][]).flat(2);

/** max |a − b| / max |b| */
async function relErr(a: Tensor, want: number[]): Promise<number> {
  const got = await a.data();
  assert.equal(got.length, want.length, "logits size");
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(Number(got[i]) - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / den;
}

for (const dtype of ["float32", "float64"] as const) {
  for (const m of ["tiny_gpt2", "tiny_llama"]) {
    Deno.test(`loadModel ${m} (${dtype}) gives transformers' logits to 1e-4`, async () => {
      const g = await golden(m);
      const model = await loadModel(`${ROOT}${m}`, { dtype });
      const logits = model.apply(model.params, tensor(g.input_ids, { dtype: "int32" }));
      assert.deepEqual(logits.shape, [2, 12, 64]);
      assert.equal(logits.dtype, dtype);
      const e = await relErr(logits, flat(g.logits));
      assert.ok(e < 1e-4, `relative error ${e}`);
    });
  }
}

for (const c of CASES) {
  Deno.test(`loadPeftAdapter ${c.adapter} gives PEFT's logits; savePeftAdapter writes PEFT's names and reads back`, async () => {
    const g = await golden(c.model);
    const ids = tensor(g.input_ids, { dtype: "int32" });
    const model = await loadModel(`${ROOT}${c.model}`);
    const peft = await loadPeftAdapter(model, `${ROOT}${c.adapter}`);
    const want = flat(g[c.logits]);
    const e = await relErr(peft.apply(peft.params, ids), want);
    assert.ok(e < 1e-4, `adapted logits: relative error ${e}`);
    // the base logits differ from the adapted ones by far more than the tolerance
    assert.ok(await relErr(model.apply(model.params, ids), want) > 1e-2);

    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const saved = await savePeftAdapter(dir, peft, peft.params);
      const theirs = JSON.parse(await readFile(`${ROOT}${c.adapter}/adapter_config.json`, "utf8"));
      const ours = JSON.parse(await readFile(`${dir}/adapter_config.json`, "utf8"));
      for (const field of ["peft_type", "r", "lora_alpha", "use_rslora", "use_dora", "apply_GS", "fan_in_fan_out"]) {
        if (field in theirs) assert.deepEqual(ours[field], theirs[field], `config field ${field}`);
      }
      assert.deepEqual([...ours.target_modules].sort(), [...theirs.target_modules].sort());
      assert.deepEqual(saved.notes, []);
      const names = async (f: string) => (await safetensors.readHeader(f)).entries.map((e) => e.name).sort();
      assert.deepEqual(
        await names(`${dir}/adapter_model.safetensors`),
        await names(`${ROOT}${c.adapter}/adapter_model.safetensors`),
      );
      const back = await loadPeftAdapter(model, dir);
      assert.ok(await relErr(back.apply(back.params, ids), want) < 1e-4);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("adapters without a PEFT type save their own type, say so, and load back", async () => {
  const model = await loadModel(`${ROOT}tiny_llama`);
  const ids = tensor([[3, 1, 4, 1, 5]], { dtype: "int32" });
  const list: adapters.Adapter<unknown>[] = [
    adapters.sorsa({ r: 2 }),
    adapters.polar({ r: 2 }),
    adapters.lokh({ r: 2 }),
  ] as never;
  for (const adapter of list) {
    const peft = adaptModel(model, { target: "q_proj,v_proj", adapter });
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const saved = await savePeftAdapter(dir, peft, peft.params);
      assert.match(saved.notes.join(" "), /not a PEFT 0\.21 type/);
      assert.equal(saved.config.library, "tangent");
      const back = await loadPeftAdapter(model, dir);
      const a = await peft.apply(peft.params, ids).data(), b = await back.apply(back.params, ids).data();
      assert.ok(a.every((v, i) => Math.abs(v - b[i]) <= 1e-6 * (1 + Math.abs(v))), `${adapter.kind} round trip`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("loadPeftAdapter: a tensor for a module the config does not target is a FormatError naming it", async () => {
  const model = await loadModel(`${ROOT}tiny_llama`);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const config = JSON.parse(await readFile(`${ROOT}tiny_llama_lora_adapter/adapter_config.json`, "utf8"));
    await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify({ ...config, target_modules: ["q_proj"] }));
    await Deno.copyFile(`${ROOT}tiny_llama_lora_adapter/adapter_model.safetensors`, `${dir}/adapter_model.safetensors`);
    await assert.rejects(() => loadPeftAdapter(model, dir), /v_proj.*does not select/);
    await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify({ ...config, target_modules: ["c_attn"] }));
    await assert.rejects(() => loadPeftAdapter(model, dir), /selects no linear module.*q_proj/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const gpu = await webgpuAvailable();
Deno.test({
  name: "WebGPU: the fixtures' base and adapted logits match transformers and PEFT to 1e-4",
  ignore: !gpu,
  async fn() {
    try {
      for (const c of CASES) {
        const g = await golden(c.model);
        const model = await loadModel(`${ROOT}${c.model}`, { backend: "webgpu" });
        await useBackend("webgpu");
        const ids = tensor(g.input_ids, { dtype: "int32" });
        assert.equal(ids.backend.name, "webgpu");
        const eb = await relErr(model.apply(model.params, ids), flat(g.logits));
        assert.ok(eb < 1e-4, `${c.model} base: relative error ${eb}`);
        const peft = await loadPeftAdapter(model, `${ROOT}${c.adapter}`);
        const ea = await relErr(peft.apply(peft.params, ids), flat(g[c.logits]));
        assert.ok(ea < 1e-4, `${c.adapter}: relative error ${ea}`);
        await useBackend("cpu");
      }
    } finally {
      await useBackend("cpu");
    }
  },
});

Deno.test("crossEntropy: a label outside the classes is a DomainError naming it (a label of V read the next row's logit)", () => {
  const logits = tensor([[1, 2, 3, 4], [0, 1, 0, 1]]);
  for (const bad of [4, -1]) {
    assert.throws(
      () => models.crossEntropy(logits, tensor([bad, 0], { dtype: "int32" })),
      (e: unknown) =>
        e instanceof DomainError &&
        new RegExp(`crossEntropy: label ${bad} at position 0 is outside the classes \\[0, 4\\)`).test(e.message),
    );
  }
  // ignoreIndex (-100 by default) is not a label
  const want = Math.log(Math.exp(0) + Math.exp(1) + Math.exp(0) + Math.exp(1)) - 0;
  assert.ok(Math.abs(models.crossEntropy(logits, tensor([-100, 2], { dtype: "int32" })).item() - want) < 1e-6);
});
