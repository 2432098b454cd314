/**
 * An adapted model's `merge` gives a model with the adapted logits. A LoRA that PEFT trained with
 * `bias = "lora_only"` runs with the trained biases of its modules (loadPeftAdapter keeps them frozen);
 * merge kept the base's biases instead, so the merged GPT-2 was another model (logits 0.66 apart,
 * relative, on a PEFT-trained adapter of the tiny GPT-2).
 */
import assert from "node:assert/strict";
import {
  adapters,
  adaptModel,
  createModel,
  key,
  loadModel,
  loadPeftAdapter,
  normal,
  savePeftAdapter,
  type Tensor,
  tensor,
} from "../mod.ts";
import * as safetensors from "../models/safetensors.ts";

const F = "../shared/fixtures/models";

Deno.test('merge: a LoRA with biases PEFT trained (bias = "lora_only") merges to the adapted logits', async () => {
  const model = await loadModel(`${F}/tiny_gpt2`, { dtype: "float64" });
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2, alpha: 4 }) });
    const params = Object.fromEntries(
      Object.entries(peft.params).map((
        [p, v],
        i,
      ) => [p, { ...v, B: normal(key(i + 1), v.B.shape, { dtype: "float64" }) }]),
    );
    await savePeftAdapter(dir, peft, params as typeof peft.params);
    // the folder PEFT writes under bias = "lora_only": each adapted module's trained bias beside its LoRA
    const file = `${dir}/adapter_model.safetensors`;
    const { tensors } = await safetensors.read(file, { dtype: "float64" });
    const biased: Record<string, Tensor> = { ...tensors };
    peft.paths.forEach((p, i) => {
      biased[`base_model.model.${p}.base_layer.bias`] = normal(key(20 + i), [96], { dtype: "float64" });
    });
    await safetensors.write(file, biased);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify({ ...config, bias: "lora_only" }));

    const back = await loadPeftAdapter(model, dir);
    const ids = tensor([[1, 5, 9, 3, 7, 2, 40, 63]], { dtype: "int32" });
    const want = await back.apply(back.params, ids).data();
    const merged = createModel(model.config, back.merge(back.params));
    const got = await merged.apply(merged.params, ids).data();
    let d = 0, s = 0;
    for (let i = 0; i < want.length; i++) {
      [d, s] = [Math.max(d, Math.abs(want[i] - got[i])), Math.max(s, Math.abs(want[i]))];
    }
    assert.ok(d / s < 1e-12, `merged logits ${d / s} (relative) from the adapted ones`);
    // without trained biases the merge keeps the base's own, the very tensors
    type Gpt2 = { transformer: { h: { attn: { c_attn: { bias: Tensor } } }[] } };
    const plain = peft.merge(params as typeof peft.params) as unknown as Gpt2;
    assert.equal(
      plain.transformer.h[0].attn.c_attn.bias,
      (model.params as unknown as Gpt2).transformer.h[0].attn.c_attn.bias,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
