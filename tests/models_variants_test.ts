/**
 * Config variants of the supported families (issue 9's audit against transformers 5.18): every
 * config field that changes transformers' numbers either changes Tangent's the same way or is
 * refused with an error naming the field, its value and what is supported. Features are checked
 * by invariants where one exists (an equivalent model with other weights), else against
 * transformers' logits in `tests/data/models_variants.json` (see `tests/data/README.md`).
 */
import assert from "node:assert/strict";
import {
  createModel,
  FormatError,
  generate,
  initModel,
  key,
  loadModel,
  parseConfig,
  type Tensor,
  tensor,
} from "../mod.ts";
import { modelStateDict } from "../models/mod.ts";

const ids = tensor([[5, 3, 9, 1, 14, 2, 8, 8, 0, 11], [7, 7, 0, 12, 13, 4, 15, 6, 1, 2]], { dtype: "int32" });

async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  const x = await a.data(), y = await b.data();
  assert.equal(x.length, y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

/** The state dict of `raw`'s model with random float64 weights, tensor by tensor as plain arrays. */
async function randomWeights(raw: Record<string, unknown>, seed: number) {
  const config = parseConfig(raw);
  const model = createModel(config, initModel(config, key(seed), { dtype: "float64" }));
  const out: Record<string, { data: Float64Array; shape: number[] }> = {};
  for (const [n, t] of Object.entries(modelStateDict(model))) {
    // larger than init's 0.02 so that every feature moves the logits visibly
    out[n] = { data: Float64Array.from(await t.data(), (v) => 10 * v), shape: [...t.shape] };
  }
  return out;
}

function tensorsOf(w: Record<string, { data: Float64Array; shape: number[] }>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(w).map(([n, t]) => [n, tensor(t.data, { shape: t.shape })]));
}

const gpt2 = { model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16 };

Deno.test("GPT-2 scale_attn_weights: false leaves the scores unscaled (= q scaled by √headDim)", async () => {
  const w = await randomWeights(gpt2, 1);
  const unscaled = await loadModel({ config: { ...gpt2, scale_attn_weights: false }, tensors: tensorsOf(w) }, {
    dtype: "float64",
  });
  // the same model with scaled scores and the query columns of c_attn (Conv1D: in × 3E) times √D
  const E = 8, D = 4;
  for (let l = 0; l < 2; l++) {
    const cw = w[`transformer.h.${l}.attn.c_attn.weight`].data, cb = w[`transformer.h.${l}.attn.c_attn.bias`].data;
    for (let r = 0; r < E; r++) for (let c = 0; c < E; c++) cw[r * 3 * E + c] *= Math.sqrt(D);
    for (let c = 0; c < E; c++) cb[c] *= Math.sqrt(D);
  }
  const scaled = await loadModel({ config: gpt2, tensors: tensorsOf(w) }, { dtype: "float64" });
  const a = unscaled.apply(unscaled.params, ids), b = scaled.apply(scaled.params, ids);
  assert.ok(await maxDiff(a, b) < 1e-12, `unscaled vs rescaled q: ${await maxDiff(a, b)}`);
  const plain = await loadModel({ config: gpt2, tensors: tensorsOf(await randomWeights(gpt2, 1)) }, {
    dtype: "float64",
  });
  assert.ok(await maxDiff(a, plain.apply(plain.params, ids)) > 1e-3, "scale_attn_weights: false changes the logits");
});

const qwen2 = {
  model_type: "qwen2",
  vocab_size: 16,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 12,
  max_position_embeddings: 32,
  sliding_window: 3,
  use_sliding_window: true,
};

Deno.test("Qwen2's sliding window applies to the layers layer_types names (max_window_layers), not to all", async () => {
  // layer `inert` adds nothing to the residual stream (o_proj and down_proj zero), so a model whose
  // other layer is full attention equals the windowless model, and one whose other layer slides
  // equals the model where both slide
  for (const inert of [0, 1]) {
    const w = await randomWeights(qwen2, 2);
    for (const n of ["self_attn.o_proj", "mlp.down_proj"]) w[`model.layers.${inert}.${n}.weight`].data.fill(0);
    const run = async (cfg: Record<string, unknown>) => {
      const m = await loadModel({ config: cfg, tensors: tensorsOf(w) }, { dtype: "float64" });
      return m.apply(m.params, ids);
    };
    const mixed = await run({ ...qwen2, max_window_layers: 1 }); // layer 0 full, layer 1 sliding
    const full = await run({ ...qwen2, use_sliding_window: false });
    const sliding = await run({ ...qwen2, max_window_layers: 0 });
    const live = 1 - inert;
    const [same, other] = live === 0 ? [full, sliding] : [sliding, full];
    assert.ok(await maxDiff(mixed, same) < 1e-12, `layer ${live} live: ${await maxDiff(mixed, same)}`);
    assert.ok(await maxDiff(mixed, other) > 1e-3, `layer ${live} live: the window changes the logits`);
    // layer_types written out (transformers 5) wins over max_window_layers
    const given = (types: string[]) => run({ ...qwen2, max_window_layers: 1, layer_types: types });
    assert.ok(await maxDiff(await given(["full_attention", "sliding_attention"]), same) < 1e-12);
    assert.ok(await maxDiff(await given(["sliding_attention", "full_attention"]), other) < 1e-12);
  }
});

Deno.test("sliding-window configs read as transformers reads them", () => {
  const types = (raw: Record<string, unknown>) => parseConfig(raw).layerTypes;
  // max_window_layers defaults to 28: a shallow Qwen2 with use_sliding_window slides nowhere
  assert.deepEqual(types({ ...qwen2, max_window_layers: undefined }), ["full_attention", "full_attention"]);
  assert.deepEqual(types({ ...qwen2, max_window_layers: 1 }), ["full_attention", "sliding_attention"]);
  assert.equal(parseConfig({ ...qwen2, use_sliding_window: false }).slidingWindow, undefined);
  // Llama has no sliding window: transformers' forward ignores a stray sliding_window
  assert.equal(parseConfig({ ...qwen2, model_type: "llama" }).slidingWindow, undefined);
  assert.equal(parseConfig({ ...qwen2, model_type: "mistral" }).slidingWindow, 3);
  assert.throws(
    () => parseConfig({ ...qwen2, layer_types: ["full_attention", "chunked_attention"] }),
    (e: Error) => e instanceof FormatError && /layer_types/.test(e.message) && /chunked_attention/.test(e.message),
  );
});

Deno.test("an activation Tangent does not run is refused when the config is read, naming the field", () => {
  for (
    const [raw, field] of [[{ ...gpt2, activation_function: "quick_gelu" }, "activation_function"], [
      { ...qwen2, hidden_act: "tanh" },
      "hidden_act",
    ]] as const
  ) {
    assert.throws(
      () => parseConfig(raw),
      (e: Error) => e instanceof FormatError && e.message.includes(field) && /quick_gelu|tanh/.test(e.message),
    );
  }
  for (const act of ["gelu_new", "gelu", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu"]) {
    assert.equal(parseConfig({ ...gpt2, activation_function: act }).activation, act);
  }
});

interface Reference {
  ids: number[][];
  base: Record<string, unknown>;
  names: [string, number[]][];
  variants: Record<
    string,
    {
      rope_parameters: Record<string, unknown>;
      /** Other config.json fields of this variant. */
      config?: Record<string, unknown>;
      /** This variant's ids when not the shared ones. */
      ids?: number[][];
      logits: number[];
    }
  >;
}
const REF: Reference = JSON.parse(await Deno.readTextFile(new URL("./data/models_variants.json", import.meta.url)));

/** The fixture's weights: the formula tests/scripts/models_variants_reference.py fills them with. */
function formulaWeights(): Record<string, Tensor> {
  return Object.fromEntries(REF.names.map(([name, shape], k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Float64Array.from({ length: n }, (_, j) => {
      const w = ((((j + 1) * 7919 + (k + 1) * 104729) % 61) - 30) / 64;
      return name.includes("norm") ? 1 + w : w;
    });
    return [name, tensor(v, { shape })];
  }));
}

async function referenceModel(
  rope: Record<string, unknown>,
  dtype: "float32" | "float64" = "float64",
  extra: Record<string, unknown> = {},
) {
  return await loadModel({ config: { ...REF.base, ...extra, rope_parameters: rope }, tensors: formulaWeights() }, {
    dtype,
  });
}

for (const [name, v] of Object.entries(REF.variants)) {
  Deno.test(`RoPE ${name}: logits match transformers' (float64 to 1e-8, float32 to 1e-4)`, async () => {
    const rows = v.ids ?? REF.ids;
    const ids = tensor(rows, { dtype: "int32" });
    const want = tensor(Float64Array.from(v.logits), { shape: [2, rows[0].length, 12] });
    for (const [dtype, tol] of [["float64", 1e-8], ["float32", 1e-4]] as const) {
      const m = await referenceModel(v.rope_parameters, dtype, v.config);
      const d = await maxDiff(m.apply(m.params, ids), want);
      assert.ok(d < tol, `${name} ${dtype}: max |Δlogit| = ${d}`);
    }
    // the scaling matters here: unscaled RoPE gives other logits
    const plain = await referenceModel({ rope_type: "default", rope_theta: v.rope_parameters.rope_theta });
    assert.ok(await maxDiff(plain.apply(plain.params, ids), want) > 1e-3, `${name} differs from default RoPE`);
  });
}

Deno.test("dynamic (NTK) RoPE runs as default RoPE within max_position_embeddings, as transformers", async () => {
  const ids = tensor(REF.ids, { dtype: "int32" });
  const dyn = await referenceModel({ rope_type: "dynamic", factor: 4, rope_theta: 1000 });
  const plain = await referenceModel({ rope_type: "default", rope_theta: 1000 });
  assert.ok(await maxDiff(dyn.apply(dyn.params, ids), plain.apply(plain.params, ids)) === 0);
});

Deno.test("RoPE Tangent does not run is refused naming rope_type or partial_rotary_factor", () => {
  // transformers 5.18's Llama has no "proportional" (Gemma's) and no "su" (Phi-3's old name for longrope)
  for (const rope_type of ["proportional", "su"]) {
    assert.throws(
      () => parseConfig({ ...REF.base, rope_parameters: { rope_type, rope_theta: 1e4 } }),
      (e: Error) =>
        e instanceof FormatError && e.message.includes(`rope_type '${rope_type}'`) && /yarn, longrope/.test(e.message),
    );
  }
  // transformers' Llama family rotates whole heads: it ignores the field (default RoPE) or fails (scaled
  // types), so a checkpoint trained with partial rotation has no transformers numbers to match here
  for (
    const raw of [
      { ...REF.base, rope_parameters: { rope_type: "default", partial_rotary_factor: 0.5 } },
      { ...REF.base, partial_rotary_factor: 0.5, rope_parameters: { rope_type: "linear", factor: 2 } },
    ]
  ) {
    assert.throws(
      () => parseConfig(raw),
      (e: Error) =>
        e instanceof FormatError && /partial_rotary_factor = 0\.5/.test(e.message) &&
        /transformers 5\.18/.test(e.message) && /whole heads/.test(e.message) && /head_dim = 16/.test(e.message),
    );
  }
  assert.equal(parseConfig({ ...REF.base, partial_rotary_factor: 1 }).rope!.type, "default");
  // transformers 4.x's rope_scaling with `type` reads as rope_parameters
  const legacy = parseConfig({ ...REF.base, rope_theta: 500, rope_scaling: { type: "yarn", factor: 2 } }).rope!;
  assert.equal(legacy.type, "yarn");
  assert.equal(legacy.theta, 500);
  assert.equal(legacy.originalMaxPositions, 128); // max_position_embeddings, as transformers fills it
  assert.ok(Math.abs(legacy.attentionFactor! - (0.1 * Math.log(2) + 1)) < 1e-15);
});

Deno.test("attention_bias and mlp_bias are Llama's fields: Qwen2 and Mistral keep their own biases, as transformers", async () => {
  for (const modelType of ["qwen2", "mistral"]) {
    const raw = { ...qwen2, model_type: modelType };
    const w = await randomWeights(raw, 3);
    const hasBias = (n: string) => Object.keys(w).some((k) => k.endsWith(`${n}.bias`));
    assert.equal(hasBias("q_proj"), modelType === "qwen2");
    assert.ok(!hasBias("o_proj") && !hasBias("down_proj"));
    // the same checkpoint loads to the same logits with the fields set (transformers ignores them there)
    const a = await loadModel({ config: raw, tensors: tensorsOf(w) }, { dtype: "float64" });
    const b = await loadModel({ config: { ...raw, attention_bias: true, mlp_bias: true }, tensors: tensorsOf(w) }, {
      dtype: "float64",
    });
    assert.equal(await maxDiff(a.apply(a.params, ids), b.apply(b.params, ids)), 0);
  }
  const llama = parseConfig({ ...qwen2, model_type: "llama", attention_bias: true, mlp_bias: true });
  const names = Object.keys(modelStateDict(createModel(llama, initModel(llama, key(0)))));
  for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"]) {
    assert.ok(names.includes(`model.layers.0.self_attn.${n}.bias`));
  }
  for (const n of ["gate_proj", "up_proj", "down_proj"]) assert.ok(names.includes(`model.layers.0.mlp.${n}.bias`));
});

Deno.test("generate with the KV cache past a per-layer sliding window continues as the whole-sequence forward", async () => {
  const m = await loadModel({
    config: { ...qwen2, max_window_layers: 1 },
    tensors: tensorsOf(await randomWeights(qwen2, 4)),
  }, {
    dtype: "float64",
  });
  const prompt = [[5, 3, 9, 1, 14], [7, 7, 0, 12, 13]];
  const out = await generate(m, m.params, tensor(prompt, { dtype: "int32" }), { maxNewTokens: 8, eosTokenId: null });
  // each new token is the argmax of the uncached forward pass over everything before it
  for (let t = prompt[0].length; t < out[0].length; t++) {
    const logits = await m.apply(m.params, tensor(out.map((s) => s.slice(0, t)), { dtype: "int32" })).data();
    for (let b = 0; b < 2; b++) {
      const row = Array.from(logits.slice(((b + 1) * t - 1) * 16, (b + 1) * t * 16));
      assert.equal(out[b][t], row.indexOf(Math.max(...row)), `sequence ${b}, position ${t}`);
    }
  }
});

const LONGROPE = REF.variants.longrope.rope_parameters;

Deno.test("LongRoPE switches every position's frequencies once the sequence passes original_max_position_embeddings", async () => {
  // the fixture's 4-token ids are the 6-token ids' prefixes: transformers' logits for those 4 positions
  // change when two more tokens push the sequence past original_max_position_embeddings = 4
  const short = REF.variants.longrope_short.logits, long = REF.variants.longrope.logits;
  let d = 0;
  for (let i = 0; i < 4 * 12; i++) d = Math.max(d, Math.abs(short[i] - long[i]));
  assert.ok(d > 1e-3, `prefix logits short vs long: ${d}`);
  // and Tangent's cached forward agrees with its whole-sequence forward within either regime
  const m = await referenceModel(LONGROPE);
  for (const split of [2, 5]) { // 2 + 2 tokens: short factors throughout; 5 + 1: long throughout
    const end = split === 2 ? 4 : 6;
    const head = m.forward(m.params, slice2(REF.ids, 0, split));
    const tail = m.forward(m.params, slice2(REF.ids, split, end), { cache: head.cache });
    const whole = m.apply(m.params, slice2(REF.ids, 0, end));
    const wd = await whole.data(), td = await tail.logits.data();
    let e = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = split; t < end; t++) {
        for (let j = 0; j < 12; j++) {
          e = Math.max(e, Math.abs(wd[(b * end + t) * 12 + j] - td[(b * (end - split) + t - split) * 12 + j]));
        }
      }
    }
    assert.ok(e < 1e-10, `cached after ${split} vs whole ${end}: ${e}`);
  }
});

function slice2(rows: number[][], from: number, to: number): Tensor {
  return tensor(rows.map((r) => r.slice(from, to)), { dtype: "int32" });
}

Deno.test("generate with LongRoPE across original_max_position_embeddings continues as the whole-sequence forward", async () => {
  const m = await referenceModel(LONGROPE);
  for (const promptLength of [2, 4, 5]) {
    // the logits generate chose each token from (the last position of each forward call it made)
    const seen: Float64Array[] = [];
    const spy = {
      ...m,
      forward: (p: typeof m.params, x: Tensor, o?: Parameters<typeof m.forward>[2]) => {
        const r = m.forward(p, x, o);
        const [B, T, V] = r.logits.shape, all = r.logits.dataSync();
        seen.push(Float64Array.from({ length: B * V }, (_, i) => all[(Math.floor(i / V) * T + T - 1) * V + (i % V)]));
        return r;
      },
    };
    const prompt = REF.ids.map((r) => r.slice(0, promptLength));
    const out = await generate(spy, m.params, tensor(prompt, { dtype: "int32" }), {
      maxNewTokens: 7,
      eosTokenId: null,
    });
    assert.equal(out[0].length, promptLength + 7);
    assert.equal(seen.length, 7);
    // each step's logits are those of the uncached forward pass over everything before the new token
    for (let t = promptLength; t < out[0].length; t++) {
      const logits = await m.apply(m.params, tensor(out.map((s) => s.slice(0, t)), { dtype: "int32" })).data();
      let d = 0;
      for (let b = 0; b < 2; b++) {
        const row = Array.from(logits.slice(((b + 1) * t - 1) * 12, (b + 1) * t * 12));
        assert.equal(out[b][t], row.indexOf(Math.max(...row)), `prompt ${promptLength}, sequence ${b}, position ${t}`);
        for (let j = 0; j < 12; j++) d = Math.max(d, Math.abs(row[j] - seen[t - promptLength][b * 12 + j]));
      }
      assert.ok(d < 1e-10, `prompt ${promptLength}, position ${t}: generate's logits vs the whole forward: ${d}`);
    }
  }
  // a cache made with the short factors does not continue the long-factor sequence: the reason generate
  // runs the whole sequence again at that step
  const head = m.forward(m.params, slice2(REF.ids, 0, 4));
  const step = await m.forward(m.params, slice2(REF.ids, 4, 5), { cache: head.cache }).logits.data();
  const whole = await m.apply(m.params, slice2(REF.ids, 0, 5)).data();
  let d = 0;
  for (let b = 0; b < 2; b++) {
    for (let j = 0; j < 12; j++) d = Math.max(d, Math.abs(step[b * 12 + j] - whole[(b * 5 + 4) * 12 + j]));
  }
  assert.ok(d > 1e-3, `short-factor cache vs long-factor forward: ${d}`);
});

Deno.test("LongRoPE configs read as transformers reads them; bad ones are refused naming the field", () => {
  const cfg = (rope: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    parseConfig({ ...REF.base, ...extra, rope_parameters: { ...LONGROPE, ...rope } }).rope!;
  const r = cfg({});
  assert.equal(r.type, "longrope");
  assert.equal(r.originalMaxPositions, 4);
  assert.equal(r.factor, 128 / 4); // max_position_embeddings / original
  assert.ok(Math.abs(r.attentionFactor! - Math.sqrt(1 + Math.log(32) / Math.log(4))) < 1e-15);
  assert.equal(cfg({ factor: 1 }).attentionFactor, 1);
  assert.equal(cfg({ attention_factor: 0.5 }).attentionFactor, 0.5);
  // a top-level original_max_position_embeddings wins (transformers' standardize_rope_params), also for llama3
  assert.equal(cfg({}, { original_max_position_embeddings: 8 }).originalMaxPositions, 8);
  assert.equal(
    parseConfig({
      ...REF.base,
      original_max_position_embeddings: 16,
      rope_parameters: REF.variants.llama3.rope_parameters,
    })
      .rope!.originalMaxPositions,
    16,
  );
  // absent everywhere: max_position_embeddings, where the long factors never apply and the attention factor is 1
  const noOriginal = cfg({ original_max_position_embeddings: undefined });
  assert.equal(noOriginal.originalMaxPositions, 128);
  assert.equal(noOriginal.attentionFactor, 1);
  // transformers 4.x's rope_scaling with `type`
  const legacy = parseConfig({
    ...REF.base,
    rope_theta: 500,
    rope_scaling: { type: "longrope", short_factor: LONGROPE.short_factor, long_factor: LONGROPE.long_factor },
  }).rope!;
  assert.equal(legacy.type, "longrope");
  assert.equal(legacy.theta, 500);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ short_factor: [1, 1, 1, 1, 1, 1, 1] }, /short_factor has 7 entries.*head_dim \/ 2 = 8/],
    [{ long_factor: Array(9).fill(1) }, /long_factor has 9 entries.*head_dim \/ 2 = 8/],
    [{ long_factor: undefined }, /needs rope_parameters\.long_factor, a list of head_dim \/ 2 = 8/],
    [{ short_factor: null }, /needs rope_parameters\.short_factor, a list of head_dim \/ 2 = 8/],
    [{ short_factor: 2 }, /short_factor has 2;.*head_dim \/ 2 = 8/],
    [{ long_factor: [1, 1, 1, "2", 1, 1, 1, 1] }, /long_factor\[3\] = "2"/],
    [{ long_factor: [1, 1, 1, 1, 1, 1, 0, 1] }, /long_factor\[6\] = 0/],
    [{ original_max_position_embeddings: 4.5 }, /original_max_position_embeddings must be a positive integer/],
    [{ original_max_position_embeddings: 0 }, /original_max_position_embeddings must be a positive integer/],
    [{ attention_factor: -1 }, /attention_factor must be a number ≥ 0/],
  ];
  for (const [rope, message] of refused) {
    assert.throws(() => cfg(rope), (e: Error) => e instanceof FormatError && message.test(e.message), message.source);
  }
});
