/**
 * A jitted training step over a transformer is traced once and replayed: nothing in the model reads
 * the ids' values (an eager token-id check once did, and every jitted model step then ran eagerly),
 * the replay gives the eager step's numbers, and its embedding lookup rejects a bad id as the eager
 * step does.
 */
import assert from "node:assert/strict";
import {
  adapters,
  adaptModel,
  createModel,
  DomainError,
  initModel,
  jit,
  key,
  manifolds,
  parseConfig,
  scope,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../mod.ts";
import { jitGraphs } from "../autodiff/jit.ts";
import { crossEntropy } from "../models/nn.ts";

for (const modelType of ["gpt2", "llama"]) {
  Deno.test(`models jit: a ${modelType} LoRA step is traced once, replayed, and equals the eager step`, () => {
    const config = parseConfig(
      modelType === "gpt2"
        ? { model_type: "gpt2", vocab_size: 20, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 16 }
        : {
          model_type: "llama",
          vocab_size: 20,
          hidden_size: 16,
          intermediate_size: 32,
          num_hidden_layers: 2,
          num_attention_heads: 2,
          num_key_value_heads: 1,
          max_position_embeddings: 16,
        },
    );
    const peft = adaptModel(createModel(config, initModel(config, key(1))), {
      target: modelType === "gpt2" ? "c_attn" : "q_proj,v_proj",
      adapter: adapters.lora({ r: 2 }),
      key: key(2),
    });
    const opt = manifolds.adam({ lr: 1e-2 });
    const loss = valueAndGrad((p: typeof peft.params, x: Tensor, y: Tensor) => crossEntropy(peft.apply(p, x), y));
    const step = (p: typeof peft.params, s: ReturnType<typeof opt.init>, x: Tensor, y: Tensor) => {
      const [l, g] = loss(p, x, y);
      return { ...opt.update(g, s, p), l };
    };
    const jitted = jit(step);
    const batches = [0, 1, 2].map((b) => {
      const ids = Array.from({ length: 2 * 7 }, (_, i) => (i * 7 + b * 3 + 1) % 20);
      return [
        tensor([ids.slice(0, 6), ids.slice(7, 13)], { dtype: "int32" }),
        tensor([ids.slice(1, 7), ids.slice(8, 14)], { dtype: "int32" }),
      ];
    });
    let [pe, se] = [peft.params, opt.init(peft.params)];
    let [pj, sj] = [peft.params, opt.init(peft.params)];
    for (const [x, y] of batches) {
      const e = scope(() => step(pe, se, x, y));
      const j = scope(() => jitted(pj, sj, x, y));
      const [le, lj] = [e.l.item(), j.l.item()];
      assert.ok(Math.abs(le - lj) <= 1e-5 * Math.abs(le), `loss ${lj} under jit, ${le} eager`);
      [pe, se, pj, sj] = [e.params, e.state, j.params, j.state];
    }
    const graphs = jitGraphs(jitted);
    assert.equal(graphs.length, 1, "one signature, traced once");
    assert.notEqual(graphs[0], "eager", "the trace read no values");
    // an id outside the vocabulary is rejected by the embedding lookup, eagerly and in a replay with
    // the same message: past the end, and negative (which take would count from the end)
    for (const [id, at] of [[25, 5], [-1, 8]]) {
      const ids = [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6];
      ids[at] = id;
      const bad = tensor([ids.slice(0, 6), ids.slice(6)], { dtype: "int32" });
      const message =
        `${modelType}: token id ${id} at position ${at} is outside the vocabulary [0, 20); pass ids from this model's tokenizer`;
      for (const run of [() => step(pe, se, bad, batches[0][1]), () => jitted(pj, sj, bad, batches[0][1])]) {
        assert.throws(() => scope(run), (e: Error) => e instanceof DomainError && e.message === message);
      }
    }
    assert.notEqual(jitGraphs(jitted)[0], "eager", "still replayed after the failures");
  });
}
