/**
 * `lm_head` tied to the token embedding (GPT-2; Llama or Qwen2 with `tie_word_embeddings`) is adapted as PEFT
 * 0.21 adapts it: the adapter wraps the head, whose base weight is the (frozen) embedding, and the token lookup
 * is not adapted. It used to be refused (and before that dropped without a word from `"c_attn,lm_head"`).
 * `tests/data/models_tied_head.json` holds PEFT's LoRA on c_attn and lm_head of the tiny GPT-2 and the logits
 * PEFT computes (`tests/scripts/models_tied_head_reference.py`). PEFT's `merge_and_unload` adds ΔW to the shared
 * parameter, so its merged model looks tokens up in W + ΔW too (8.8 from the adapted logits, which stay under
 * 2.2): Tangent's `merge` refuses, naming the tie and the fix (untie), which this file checks.
 */
import assert from "node:assert/strict";
import { FormatError } from "../core/errors.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import {
  adapters,
  adaptModel,
  type CausalLM,
  createModel,
  initModel,
  key,
  loadModel,
  loadPeftAdapter,
  mean,
  normal,
  parseConfig,
  savePeftAdapter,
  square,
  type Tensor,
  tensor,
  useBackend,
  valueAndGrad,
} from "../mod.ts";
import { linearModuleAt } from "../models/adapted.ts";
import { treeLeaves, treeMap } from "../core/pytree.ts";
import * as safetensors from "../models/safetensors.ts";
import { runStudy } from "../study/run.ts";
import { selectMethods, studyMethods } from "../study/methods.ts";
import { transductionTask } from "../study/tasks.ts";
import { relErr } from "./adapters_helpers.ts";

const F = "../shared/fixtures/models";
interface Reference {
  ids: number[][];
  adapter_config: Record<string, unknown>;
  saved_names: string[];
  tensors: Record<string, { shape: number[]; data: number[] }>;
  logits: number[];
  merged_minus_adapted_max_abs: number;
  pissa: {
    adapter_config: Record<string, unknown>;
    tensors: Record<string, { shape: number[]; data: number[] }>;
    logits: number[];
    init_minus_base_max_abs: number;
  };
}
const REF: Reference = JSON.parse(
  await Deno.readTextFile(new URL("./data/models_tied_head.json", import.meta.url)),
);
const HEAD_BASE = "base_model.model.lm_head.base_layer.weight";

/** The folder PEFT 0.21 saved (the head's base weight, wte's values, taken from the model when `withBase`). */
async function peftFolder(
  model: CausalLM,
  withBase: boolean,
  ref: Pick<Reference, "tensors" | "adapter_config"> = REF,
) {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(ref.tensors)) {
    tensors[k] = tensor(Float64Array.from(t.data), { shape: t.shape, dtype: "float64" });
  }
  if (withBase) tensors[HEAD_BASE] = linearModuleAt(model, "lm_head").weight;
  await safetensors.write(`${dir}/adapter_model.safetensors`, tensors, { format: "pt" });
  await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify(ref.adapter_config));
  return dir;
}

const ids = () => tensor(REF.ids, { dtype: "int32" });
const want = () => tensor(Float64Array.from(REF.logits), { shape: [REF.ids.length, REF.ids[0].length, 64] });

/** The model with its head untied: `lm_head` a module of its own holding the embedding's weight. */
function untie(model: CausalLM): CausalLM {
  const config = parseConfig({ ...model.config.raw, tie_word_embeddings: false });
  return createModel(config, { ...model.params, lm_head: { weight: linearModuleAt(model, "lm_head").weight } });
}

Deno.test("loadPeftAdapter: PEFT's LoRA on c_attn and GPT-2's tied lm_head gives PEFT's logits", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`, { dtype: "float64" });
  for (const withBase of [true, false]) {
    const dir = await peftFolder(model, withBase);
    try {
      const peft = await loadPeftAdapter(model, dir);
      assert.deepEqual(peft.paths, ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn", "lm_head"]);
      const e = relErr(peft.apply(peft.params, ids()), want());
      assert.ok(e < 1e-10, `withBase ${withBase}: relative error ${e} from PEFT's logits`);
      // the head's adapter is what moves the logits: without it they are another model's
      const { lm_head: _, ...rest } = peft.params;
      const partial = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2, alpha: 4 }) });
      assert.ok(relErr(partial.apply(rest as typeof partial.params, ids()), want()) > 1e-2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("loadPeftAdapter: PEFT's PiSSA on a tied lm_head makes the lookup read the residual too, as PEFT does", async () => {
  for (const dtype of ["float32", "float64"] as const) {
    const model = await loadModel(`${F}/tiny_gpt2`, { dtype });
    const dir = await peftFolder(model, false, REF.pissa);
    try {
      const peft = await loadPeftAdapter(model, dir);
      // PEFT's init wrote W − s·B₀A₀ into the shared parameter: the embedding is the head's residual
      const residual = peft.layers.lm_head.frozen.weight;
      assert.equal(linearModuleAt(peft.base, "lm_head").weight, residual);
      assert.ok(relErr(residual, linearModuleAt(model, "lm_head").weight) > 1e-3);
      const got = peft.apply(peft.params, ids());
      const e = relErr(got, tensor(Float64Array.from(REF.pissa.logits), { shape: got.shape, dtype }));
      // 1.5e-5 in both dtypes: PEFT's residual comes from a float32 SVD (a lookup left at W would be 8e-2 off)
      assert.ok(e < 1e-4, `${dtype}: relative error ${e} from PEFT's logits`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  assert.ok(REF.pissa.init_minus_base_max_abs > 0.1, "in PEFT, the PiSSA model at init is not the base");
});

Deno.test("savePeftAdapter: a LoRA on a tied lm_head is written under PEFT's names and reads back", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`, { dtype: "float64" });
  const from = await peftFolder(model, true);
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const peft = await loadPeftAdapter(model, from);
    const saved = await savePeftAdapter(dir, peft, peft.params);
    assert.deepEqual(saved.notes, []);
    assert.deepEqual(saved.config.target_modules, ["c_attn", "lm_head"]);
    const { tensors } = await safetensors.read(`${dir}/adapter_model.safetensors`, { dtype: "float64" });
    // PEFT's names; the head's base weight (wte, which PEFT saves by default) is the model's own: not written
    assert.deepEqual(Object.keys(tensors).sort(), REF.saved_names.filter((n) => n !== HEAD_BASE));
    for (const [k, t] of Object.entries(REF.tensors)) assert.deepEqual([...tensors[k].dataSync()], t.data, k);
    const back = await loadPeftAdapter(model, dir);
    const e = relErr(back.apply(back.params, ids()), want());
    assert.ok(e < 1e-10, `read back: ${e}`);
    // lm_head alone: an nn.Linear, so no fan_in_fan_out
    const head = adaptModel(model, { target: "lm_head", adapter: adapters.lora({ r: 2 }) });
    const only = await savePeftAdapter(dir, head, head.params);
    assert.deepEqual([only.config.target_modules, only.config.fan_in_fan_out], [["lm_head"], false]);
    assert.deepEqual(only.notes, []);
    // PiSSA's residual is the head's own here, the embedding's in PEFT: said on export
    const [pissa] = studyMethods(2).filter((m) => m.name === "pissa");
    const residual = adaptModel(model, { target: "lm_head", adapter: pissa.adapter!({ inF: 32, outF: 64 }) });
    const said = await savePeftAdapter(dir, residual, residual.params);
    assert.ok(
      said.notes.some((n) => /lm_head is tied to the token embedding.*PEFT makes that weight the embedding's/.test(n)),
    );
  } finally {
    await Deno.remove(from, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every leaf that is not a manifold point moved off its init (LoRA's B = 0 would hide the adapter). */
function perturbed<P>(params: P): P {
  let i = 0;
  return treeMap(
    (t: Tensor) =>
      (t as Tensor & { manifold?: unknown }).manifold || t.dtype !== "float64"
        ? t
        : t.add(normal(key(100 + i++), t.shape, { dtype: "float64" }).mul(0.05)),
    params,
  );
}

for (
  const [name, base] of [
    ["gpt2", { model_type: "gpt2", vocab_size: 24, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 8 }],
    ["qwen2", {
      model_type: "qwen2",
      vocab_size: 24,
      hidden_size: 16,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 8,
      tie_word_embeddings: true,
    }],
  ] as const
) {
  Deno.test(`adaptModel: every adapter on the tied lm_head of a ${name} is that adapter on its untied copy`, () => {
    const config = parseConfig(base);
    assert.ok(config.tieWordEmbeddings);
    const tied = createModel(config, initModel(config, key(1), { dtype: "float64" }));
    const open = untie(tied);
    const target = name === "gpt2" ? "c_attn,lm_head" : "q_proj,lm_head";
    const x = tensor([[1, 5, 9, 23, 0, 7]], { dtype: "int32" });
    const methods = studyMethods(2).filter((m) => m.adapter);
    assert.ok(methods.length >= 12, methods.map((m) => m.name).join());
    for (const m of methods) {
      const adapter = m.adapter!({ inF: 16, outF: 48 });
      const a = adaptModel(tied, { target, adapter, key: key(3) });
      const b = adaptModel(open, { target, adapter, key: key(3) });
      assert.deepEqual(a.paths, b.paths, m.name);
      assert.equal(a.paths.at(-1), "lm_head", m.name);
      // the head's frozen weight is the embedding itself, not a copy (where the method keeps the base)
      const frozen = a.layers.lm_head.frozen.weight;
      if (m.name === "lora") assert.equal(frozen, linearModuleAt(tied, "lm_head").weight);
      const p = perturbed(a.params);
      const loss = (mm: CausalLM<typeof p>) => (q: typeof p) => mean(square(mm.apply(q, x)));
      const [la, ga] = valueAndGrad(loss(a))(p);
      const [lb, gb] = valueAndGrad(loss(b))(p);
      assert.ok(relErr(la, lb) < 1e-10, `${m.name}: loss ${la.item()} vs untied ${lb.item()}`);
      const [fa, fb] = [treeLeaves(ga) as Tensor[], treeLeaves(gb) as Tensor[]];
      assert.equal(fa.length, fb.length);
      fa.forEach((g, i) => assert.ok(relErr(g, fb[i]) < 1e-10, `${m.name}: gradient ${i}`));
      // the head's adapter takes part: its gradient is not zero
      const gh = treeLeaves((ga as Record<string, unknown>).lm_head) as Tensor[];
      assert.ok(gh.some((g) => g.abs().max().item() > 0), `${m.name}: the head's adapter has no gradient`);
    }
  });
}

Deno.test("savePeftAdapter, loadPeftAdapter: every adapter on a tied lm_head reads back to its logits", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`, { dtype: "float64" });
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    for (const m of studyMethods(2).filter((m) => m.adapter)) {
      const adapted = adaptModel(model, { target: "c_attn,lm_head", adapter: m.adapter!({ inF: 32, outF: 96 }) });
      const p = perturbed(adapted.params);
      const saved = await savePeftAdapter(dir, adapted, p);
      const back = await loadPeftAdapter(model, dir);
      assert.deepEqual(back.paths, adapted.paths, m.name);
      const e = relErr(back.apply(back.params, ids()), adapted.apply(p, ids()));
      if (m.name === "pissa") {
        // the residual is the head's own here; PEFT, and loadPeftAdapter after it, make it the embedding's too
        assert.ok(e > 1e-3 && saved.notes.some((n) => /lm_head is tied/.test(n)), `pissa: ${e}`);
      } else {
        assert.ok(e < 1e-10, `${m.name}: read back ${e} from the saved model's logits`);
        assert.ok(!saved.notes.some((n) => /lm_head is tied/.test(n)), m.name);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("adaptModel: a float16 tied GPT-2 keeps the head's base in float16 and trains it in float32", async () => {
  const half = await loadModel(`${F}/tiny_gpt2`, { dtype: "float16" });
  const full = await loadModel(`${F}/tiny_gpt2`);
  const opts = { target: "c_attn,lm_head", adapter: adapters.lora({ r: 2, alpha: 4 }), key: key(2) };
  const a = adaptModel(half, opts), b = adaptModel(full, opts);
  assert.equal(a.layers.lm_head.frozen.weight, linearModuleAt(half, "lm_head").weight, "no float32 copy of wte");
  assert.equal(a.layers.lm_head.frozen.weight.dtype, "float16");
  assert.equal((a.params.lm_head as { B: Tensor }).B.dtype, "float32");
  const p = perturbed32(b.params);
  const e = relErr(a.apply(p, ids()), b.apply(p, ids()));
  assert.ok(e < 5e-3, `float16 against float32: ${e}`);
});

function perturbed32<P>(params: P): P {
  let i = 0;
  return treeMap((t: Tensor) => t.add(normal(key(200 + i++), t.shape).mul(0.1)), params);
}

Deno.test("merge: an adapted tied head is refused naming the tie and the fix; the untied model merges", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`, { dtype: "float64" });
  const dir = await peftFolder(model, true);
  try {
    const peft = await loadPeftAdapter(model, dir);
    assert.throws(
      () => peft.merge(peft.params),
      (e: unknown) =>
        e instanceof FormatError &&
        /lm_head of this gpt2 model is its token embedding transformer\.wte\.weight \(tie_word_embeddings\)/.test(
          e.message,
        ) && /tie_word_embeddings: false/.test(e.message),
    );
    // the fix the message names: the same adapter on the untied model merges to PEFT's adapted logits
    const open = untie(model);
    const adapted = await loadPeftAdapter(open, dir);
    assert.ok(relErr(adapted.apply(adapted.params, ids()), want()) < 1e-10);
    const merged = createModel(open.config, adapted.merge(adapted.params));
    const e = relErr(merged.apply(merged.params, ids()), want());
    assert.ok(e < 1e-10, `untied merge: ${e}`);
    // c_attn alone still merges on the tied model
    const attn = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) });
    assert.doesNotThrow(() => attn.merge(attn.params));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(REF.merged_minus_adapted_max_abs > 1, "PEFT's merged model is another model");
});

Deno.test("runStudy: --target c_attn,lm_head adapts the tied head of GPT-2 (and full fine-tuning measures it)", async () => {
  const model = await loadModel(`${F}/tiny_gpt2`);
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  const res = await runStudy({
    model,
    task,
    methods: selectMethods("full,lora", 2),
    target: "c_attn,lm_head",
    steps: 1,
    batch: 2,
    heldOut: 4,
  });
  assert.deepEqual(res.targets, ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn", "lm_head"]);
  for (const m of res.methods) assert.ok(Number.isFinite(m.trainLoss), m.name);
});

Deno.test({
  name: "WebGPU: PEFT's LoRA on GPT-2's tied lm_head gives PEFT's logits (1e-4)",
  ignore: !(await webgpuAvailable()),
  async fn() {
    const cpu = await loadModel(`${F}/tiny_gpt2`);
    const dir = await peftFolder(cpu, true);
    try {
      const model = await loadModel(`${F}/tiny_gpt2`, { backend: "webgpu" });
      await useBackend("webgpu");
      const peft = await loadPeftAdapter(model, dir);
      const got = peft.apply(peft.params, ids());
      assert.equal(got.backend.name, "webgpu");
      const data = await got.data();
      await useBackend("cpu");
      const e = relErr(tensor(Float64Array.from(data), { shape: got.shape, dtype: "float64" }), want());
      assert.ok(e < 1e-4, `relative error ${e}`);
    } finally {
      await useBackend("cpu");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "WebGPU: every adapter on GPT-2's tied lm_head is that adapter on its untied copy, values and gradients",
  ignore: !(await webgpuAvailable()),
  async fn() {
    await useBackend("webgpu");
    try {
      const config = parseConfig({
        model_type: "gpt2",
        vocab_size: 24,
        n_embd: 16,
        n_layer: 1,
        n_head: 2,
        n_positions: 8,
      });
      const tied = createModel(config, initModel(config, key(1)));
      assert.equal(linearModuleAt(tied, "lm_head").weight.backend.name, "webgpu");
      const open = untie(tied);
      const x = tensor([[1, 5, 9, 23, 0, 7]], { dtype: "int32" });
      for (const m of studyMethods(2).filter((m) => m.adapter)) {
        const adapter = m.adapter!({ inF: 16, outF: 48 });
        const a = adaptModel(tied, { target: "c_attn,lm_head", adapter, key: key(3) });
        const b = adaptModel(open, { target: "c_attn,lm_head", adapter, key: key(3) });
        const p = perturbed32(a.params);
        const loss = (mm: CausalLM<typeof p>) => (q: typeof p) => mean(square(mm.apply(q, x)));
        const [la, ga] = valueAndGrad(loss(a))(p);
        const [lb, gb] = valueAndGrad(loss(b))(p);
        const host = async (t: Tensor) => Float64Array.from(await t.data());
        const close = async (u: Tensor, v: Tensor, what: string) => {
          const [hu, hv] = [await host(u), await host(v)];
          const s = Math.max(...hv.map(Math.abs)) || 1;
          assert.ok(hu.every((e, i) => Math.abs(e - hv[i]) <= 1e-5 * s), `${m.name}: ${what}`);
        };
        await close(la, lb, "loss");
        const head = treeLeaves((ga as Record<string, unknown>).lm_head) as Tensor[];
        const other = treeLeaves((gb as Record<string, unknown>).lm_head) as Tensor[];
        for (const [i, g] of head.entries()) await close(g, other[i], `head gradient ${i}`);
        assert.ok(
          (await Promise.all(head.map(host))).some((h) => h.some((v) => v !== 0)),
          `${m.name}: no head gradient`,
        );
      }
    } finally {
      await useBackend("cpu");
    }
  },
});
