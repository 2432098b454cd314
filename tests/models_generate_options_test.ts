/**
 * generate's options are checked before any step: a topK that is not a positive integer (0, 2.5, -1, NaN)
 * used to sample from every token without a word (the cut-off read past the sorted scores).
 */
import assert from "node:assert/strict";
import { DomainError } from "../core/errors.ts";
import {
  createModel,
  generate,
  initModel,
  key,
  loadModel,
  parseConfig,
  tensor,
  toBackend,
  useBackend,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

Deno.test("generate: topK must be a positive integer; a valid one restricts the samples to the top k", async () => {
  const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 32 });
  const model = createModel(config, initModel(config, key(0)));
  const ids = tensor([[1, 2, 3]], { dtype: "int32" });
  for (const topK of [0, 2.5, -1, NaN]) {
    await assert.rejects(
      () => generate(model, model.params, ids, { maxNewTokens: 2, temperature: 1, key: key(1), topK }),
      (e: unknown) => e instanceof DomainError && /topK must be a positive integer/.test(e.message),
      String(topK),
    );
  }
  // top 1 is greedy, whatever the key and temperature
  const greedy = await generate(model, model.params, ids, { maxNewTokens: 6, eosTokenId: null });
  for (const k of [1, 2, 3]) {
    const top1 = await generate(model, model.params, ids, {
      maxNewTokens: 6,
      temperature: 5,
      topK: 1,
      key: key(k),
      eosTokenId: null,
    });
    assert.deepEqual(top1, greedy);
  }
});

Deno.test({
  name: "generate: sampling on WebGPU draws the CPU's tokens (the uniforms come from the host; it failed on float64)",
  ignore: !(await webgpuAvailable()),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const model = await loadModel("../shared/fixtures/models/tiny_llama");
    const gpu = await loadModel("../shared/fixtures/models/tiny_llama", { backend: "webgpu" });
    const ids = tensor([[1, 2, 3], [7, 8, 9]], { dtype: "int32" });
    for (const opts of [{ temperature: 0.8, key: key(1) }, { temperature: 1.5, topK: 5, key: key(2) }]) {
      const want = await generate(model, model.params, ids, { maxNewTokens: 5, eosTokenId: null, ...opts });
      await useBackend("webgpu");
      try {
        const got = await generate(gpu, gpu.params, await toBackend(ids, "webgpu"), {
          maxNewTokens: 5,
          eosTokenId: null,
          ...opts,
        });
        assert.deepEqual(got, want, JSON.stringify(opts));
      } finally {
        await useBackend("cpu");
      }
    }
  },
});
