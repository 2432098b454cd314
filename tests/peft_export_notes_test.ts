/**
 * savePeftAdapter's notes say when PEFT 0.21 cannot load what it wrote. OLoRA on GPT-2's Conv1D modules:
 * PEFT's olora_init takes the QR of the stored in × out weight, ignoring fan_in_fan_out, and builds
 * lora_A [r, out], lora_B [in, r]; PeftModel.from_pretrained then refuses Tangent's (correct) [r, in] / [out, r]
 * tensors with a size mismatch (checked with PEFT 0.21 on the tiny GPT-2). On nn.Linear (Llama) it loads.
 */
import assert from "node:assert/strict";
import { adapters, adaptModel, loadModel, loadPeftAdapter, savePeftAdapter, tensor } from "../mod.ts";

const F = "../shared/fixtures/models";

Deno.test("savePeftAdapter: OLoRA on GPT-2's Conv1D says PEFT refuses it; on a Llama it says nothing", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const gpt2 = await loadModel(`${F}/tiny_gpt2`);
    const olora = adaptModel(gpt2, { target: "c_attn", adapter: adapters.lora({ r: 2, init: "olora" }) });
    const saved = await savePeftAdapter(`${dir}/g`, olora, olora.params);
    assert.equal(saved.notes.length, 1, saved.notes.join("\n"));
    assert.match(saved.notes[0], /OLoRA init ignores fan_in_fan_out.*PeftModel\.from_pretrained refuses this folder/);
    // Tangent itself reads it back to the same logits
    const back = await loadPeftAdapter(gpt2, `${dir}/g`);
    const ids = tensor([[1, 2, 3, 4]], { dtype: "int32" });
    assert.deepEqual(await back.apply(back.params, ids).data(), await olora.apply(olora.params, ids).data());
    // kaiming / pissa on GPT-2 and OLoRA on a Llama load in PEFT: no note
    for (const init of ["kaiming", "pissa"] as const) {
      const a = adaptModel(gpt2, { target: "c_attn", adapter: adapters.lora({ r: 2, init }) });
      assert.deepEqual((await savePeftAdapter(`${dir}/${init}`, a, a.params)).notes, []);
    }
    const llama = await loadModel(`${F}/tiny_llama`);
    const l = adaptModel(llama, { target: "q_proj", adapter: adapters.lora({ r: 2, init: "olora" }) });
    assert.deepEqual((await savePeftAdapter(`${dir}/l`, l, l.params)).notes, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
