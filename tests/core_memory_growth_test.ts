/**
 * Memory stays bounded across whole training runs on the CPU: the adapter study trains thirteen
 * methods one after another in one process, so what one run leaves behind must not add up. Three
 * runs of the same training loop on a small GPT-2 must not grow the resident set much after the
 * first (a test of growth, not of speed).
 */
import assert from "node:assert/strict";
import { adapters, adaptModel, createModel, initModel, key, manifolds, parseConfig, scope, tensor } from "../mod.ts";
import { valueAndGrad } from "../mod.ts";
import { crossEntropy } from "../models/nn.ts";

Deno.test("CPU: consecutive training runs do not accumulate memory", () => {
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: 12,
    n_embd: 64,
    n_layer: 2,
    n_head: 4,
    n_positions: 16,
  });
  const model = createModel(config, initModel(config, key(0)));
  const ids = new Int32Array(64 * 14).map((_, i) => (i * 7 + 3) % 12);
  const x = tensor(ids.slice(0, 64 * 13), { shape: [64, 13], dtype: "int32" });
  const y = tensor(ids.slice(64, 64 * 14), { shape: [64, 13], dtype: "int32" });
  const run = (seed: number) => {
    const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 4 }), key: key(seed) });
    const opt = manifolds.adam({ lr: 1e-2 });
    const vg = valueAndGrad((p: typeof peft.params) => crossEntropy(peft.apply(p, x), y));
    let params = peft.params, state = opt.init(params);
    for (let i = 0; i < 15; i++) {
      ({ params, state } = scope(() => opt.update(vg(params)[1], state, params), { release: { params, state } }));
    }
    return Deno.memoryUsage().rss;
  };
  const rss = [run(1), run(2), run(3), run(4)];
  const growth = (rss[3] - rss[1]) / 2 ** 20;
  assert.ok(
    growth < 64,
    `resident memory grew by ${growth.toFixed(0)} MB over two more runs (${
      rss.map((b) => (b / 2 ** 20).toFixed(0)).join(" → ")
    } MB)`,
  );
});

Deno.test("CPU: tensors dropped without scope (an evaluation loop) do not accumulate memory", async () => {
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: 12,
    n_embd: 64,
    n_layer: 2,
    n_head: 4,
    n_positions: 16,
  });
  const model = createModel(config, initModel(config, key(0)));
  const x = tensor(new Int32Array(64 * 13).map((_, i) => (i * 5 + 1) % 12), { shape: [64, 13], dtype: "int32" });
  const rss: number[] = [];
  for (let round = 0; round < 4; round++) {
    // forward passes whose intermediates are left to the garbage collector, as evaluation code does
    for (let i = 0; i < 8; i++) await model.apply(model.params, x).data();
    await new Promise((r) => setTimeout(r, 10));
    rss.push(Deno.memoryUsage().rss);
  }
  const growth = (rss[3] - rss[1]) / 2 ** 20;
  assert.ok(
    growth < 64,
    `resident memory grew by ${growth.toFixed(0)} MB over two more rounds of unscoped forwards ` +
      `(${rss.map((b) => (b / 2 ** 20).toFixed(0)).join(" → ")} MB)`,
  );
});
