/**
 * Run by tests/core_memory_growth_test.ts in a process of its own (the test runner's workers share
 * one process, so their resident sets mix): prints, as JSON, the resident set after each of four
 * rounds of a scenario.
 *
 * `deno run --allow-read --allow-env --v8-flags=--expose-gc tests/scripts/memory_growth.ts training|forward`
 */
import { adapters, adaptModel, createModel, initModel, key, manifolds, parseConfig, scope, tensor } from "../../mod.ts";
import { valueAndGrad } from "../../mod.ts";
import { crossEntropy } from "../../models/nn.ts";

const config = parseConfig({ model_type: "gpt2", vocab_size: 12, n_embd: 64, n_layer: 2, n_head: 4, n_positions: 16 });
const model = createModel(config, initModel(config, key(0)));
const ids = new Int32Array(64 * 14).map((_, i) => (i * 7 + 3) % 12);
const x = tensor(ids.slice(0, 64 * 13), { shape: [64, 13], dtype: "int32" });
const y = tensor(ids.slice(64, 64 * 14), { shape: [64, 13], dtype: "int32" });

/** 15 scoped LoRA training steps (a run of the adapter study, in small). */
function training(seed: number): void {
  const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 4 }), key: key(seed) });
  const opt = manifolds.adam({ lr: 1e-2 });
  const vg = valueAndGrad((p: typeof peft.params) => crossEntropy(peft.apply(p, x), y));
  let params = peft.params, state = opt.init(params);
  for (let i = 0; i < 15; i++) {
    ({ params, state } = scope(() => opt.update(vg(params)[1], state, params), { release: { params, state } }));
  }
}

/** 8 forward passes whose intermediates are left to the garbage collector (evaluation code). */
async function forward(): Promise<void> {
  for (let i = 0; i < 8; i++) await model.apply(model.params, x).data();
}

const rss: number[] = [];
for (let round = 0; round < 4; round++) {
  if (Deno.args[0] === "training") training(round);
  else await forward();
  // a full collection first (with --expose-gc): what is measured is what stays reachable, not when
  // V8 gets round to collecting (on a loaded machine it may wait a round or two)
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 10));
  rss.push(Deno.memoryUsage().rss);
}
console.log(JSON.stringify(rss));
