import assert from "node:assert/strict";
import { DomainError, DTypeError, FormatError, ShapeError } from "../core/errors.ts";
import { checkAdapterLaws } from "../testing.ts";
import { add, key, mul, normal, split, type Tensor, zeros } from "../mod.ts";
import {
  boft,
  dora,
  fromPeft,
  hra,
  loha,
  lokh,
  lokr,
  lora,
  oft,
  type PeftAdapter,
  type PeftConfig,
  polar,
  sorsa,
  vera,
} from "../adapters/mod.ts";
import { type Manifold, manifoldOf, riemannianAdam } from "../manifolds/mod.ts";
import { treeLeaves } from "../core/pytree.ts";
import { loadPeftFixture, relErr, t64 } from "./adapters_helpers.ts";

const f64 = { dtype: "float64" as const };
const OUT = 12, IN = 16;
const PREFIX = "base_model.model.proj";
const TANGENT_KEYS = new Set(["tangent", "library", "note"]);

function layer(seed: number, out = OUT, inF = IN) {
  const [kw, kb] = split(key(seed));
  return { weight: normal(kw, [out, inF], f64), bias: normal(kb, [out], f64) };
}

/** Moves every leaf off its init: plain tensors by 0.1·N(0, 1), manifold points along a retraction. */
function perturb<P>(params: P, seed: number): P {
  let i = 0;
  const move = (t: Tensor): Tensor => {
    const k = key(1000 * seed + i++);
    const M = manifoldOf(t) as Manifold | undefined;
    // deno-lint-ignore no-explicit-any
    if (M) return M.retract(t as any, mul(M.randomTangent(k, t as any), 0.3));
    return add(t, mul(normal(k, t.shape, f64), 0.1));
  };
  const walk = (x: unknown): unknown => {
    if (x === undefined || x === null) return x;
    if (typeof x === "object" && "shape" in (x as object)) return move(x as Tensor);
    return Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, walk(v)]));
  };
  return walk(params) as P;
}

// deno-lint-ignore no-explicit-any
type AnyAdapter = PeftAdapter<any, any>;

const CASES: [string, AnyAdapter][] = [
  ["lora r4 α8", lora({ r: 4, alpha: 8 })],
  ["lora rslora", lora({ r: 4, alpha: 8, rslora: true })],
  ["lora gaussian", lora({ r: 2, alpha: 3, init: "gaussian" })],
  ["lora pissa", lora({ r: 3, alpha: 6, init: "pissa" })],
  ["lora olora", lora({ r: 4, alpha: 4, init: "olora" })],
  ["dora", dora({ r: 4, alpha: 4 })],
  ["dora pissa rslora", dora({ r: 2, alpha: 4, rslora: true, init: "pissa" })],
  ["hra r4 λ", hra({ r: 4, lambda: 1e-3 })],
  ["hra r3", hra({ r: 3 })],
  ["hra Gram–Schmidt folded", hra({ r: 4, gramSchmidt: true, lambda: 0.1 })],
  ["hra Gram–Schmidt as PEFT", hra({ r: 4, gramSchmidt: true, foldInit: false })],
  ["hra oblique", hra({ r: 4, lambda: 0.1, manifold: "oblique" })],
  ["hra stiefel folded", hra({ r: 3, manifold: "stiefel" })],
  ["hra stiefel unfolded", hra({ r: 3, manifold: "stiefel", foldInit: false })],
  ["oft bs4", oft({ blockSize: 4 })],
  ["oft r2 exact", oft({ r: 2, cayley: "exact" })],
  ["oft shared, 3 terms", oft({ blockSize: 8, blockShare: true, terms: 3 })],
  ["boft bs4", boft({ blockSize: 4 })],
  ["boft 4 blocks, 2 factors", boft({ blockNum: 4, butterflyFactors: 2 })],
  ["boft bs2, 3 factors", boft({ blockSize: 2, butterflyFactors: 3 })],
  ["loha", loha({ r: 4, alpha: 4 })],
  ["loha r2 α3", loha({ r: 2, alpha: 3 })],
  ["lokr", lokr({ r: 4, alpha: 4 })],
  ["lokr r1 decompose_both", lokr({ r: 1, alpha: 2, decomposeBoth: true })],
  ["lokr factor 2 lycoris", lokr({ r: 2, decomposeFactor: 2, init: "lycoris" })],
  ["vera", vera({ r: 4 })],
  ["vera key, d_initial", vera({ r: 3, projectionKey: key(7), dInitial: 0.2 })],
  [
    "vera shared projection",
    vera({ r: 4, projection: { A: normal(key(8), [4, 20], f64), B: normal(key(9), [15, 4], f64) } }),
  ],
  ["lokh", lokh({ r: 2 })],
  ["lokh out factors", lokh({ r: 3, alpha: 5, outFactors: [2, 6] })],
  ["sorsa", sorsa({ r: 3, gamma: 4e-4, peakLr: 1e-4 })],
  ["sorsa α", sorsa({ r: 4, alpha: 8, gamma: 0.1 })],
  ["polar full", polar({ r: 4, alpha: 8 })],
  ["polar diagonal", polar({ r: 3, theta: "diagonal" })],
  ["polar identity", polar({ r: 2, alpha: 3, theta: "identity" })],
];

CASES.forEach(([name, ad], i) => {
  Deno.test(`peftConfig round trip: ${name}: fromPeft rebuilds apply, merge, regularizer, config`, () => {
    const base = layer(i + 1);
    const init = ad.init(key(100 + i), base);
    const params = perturb(init.params, i + 1), frozen = init.frozen;
    const config = ad.peftConfig();
    const x = normal(key(200 + i), [5, IN], f64);
    const y = ad.apply(params, frozen, x), merged = ad.merge(params, frozen);
    for (const names of [{}, { prefix: PREFIX, adapterName: "default" }]) {
      const tensors = { ...ad.toPeft(params, names), ...ad.frozenToPeft?.(frozen, names) };
      const got = fromPeft({ config: JSON.parse(JSON.stringify(config)), base, tensors });
      assert.ok(relErr(got.adapter.apply(got.params, got.frozen, x), y) <= 1e-12, `${name}: apply`);
      assert.ok(relErr(got.adapter.merge(got.params, got.frozen), merged) <= 1e-12, `${name}: merge`);
      assert.ok(relErr(got.frozen.weight, frozen.weight) <= 1e-12, `${name}: frozen weight`);
      assert.ok(relErr(got.adapter.regularizer(got.params), ad.regularizer(params)) <= 1e-12, `${name}: regularizer`);
      assert.equal(got.adapter.trainableCount(got.params), ad.trainableCount(params));
      assert.deepEqual(got.adapter.peftConfig(), config, `${name}: the rebuilt adapter describes itself the same`);
      // manifold points come back as points of the same manifold (Riemannian optimizers dispatch on them)
      const before = treeLeaves(params).map((t) => (manifoldOf(t) as Manifold | undefined)?.name);
      const after = treeLeaves(got.params).map((t) => (manifoldOf(t) as Manifold | undefined)?.name);
      assert.deepEqual(after, before, `${name}: manifolds`);
    }
    // from toPeft(params) alone: everything but a folded HRA (needs hra_u0) and given VeRA projections
    const alone = () => fromPeft({ config, base, tensors: ad.toPeft(params) });
    const vs = config.peft_type === "VERA" && !(config.tangent as { projection_key?: unknown })?.projection_key;
    if (config.peft_type === "HRA_FOLDED" || vs) {
      assert.throws(alone, (e: unknown) => e instanceof FormatError && /hra_u0|vera_A/.test(e.message), name);
    } else {
      const got = alone();
      assert.ok(relErr(got.adapter.apply(got.params, got.frozen, x), y) <= 1e-12, `${name}: apply from toPeft alone`);
    }
  });
});

Deno.test("peftConfig: Tangent-only methods say so; PEFT types carry only PEFT's fields (extras under tangent)", () => {
  for (const [name, ad] of CASES) {
    const c = ad.peftConfig();
    const peft = ["LORA", "HRA", "OFT", "BOFT", "LOHA", "LOKR", "VERA"].includes(c.peft_type);
    for (const k of ["target_modules", "fan_in_fan_out", "base_model_name_or_path", "task_type"]) {
      assert.ok(!(k in c), `${name}: module-level field ${k}`);
    }
    if (peft) {
      assert.ok(!("library" in c) && !("note" in c), name);
    } else {
      assert.equal(c.library, "tangent", name);
      assert.match(String(c.note), new RegExp(`PEFT 0\\.21 has no ${c.peft_type} type.*fromPeft`), name);
    }
  }
  assert.equal(sorsa({ r: 2 }).peftConfig().peft_type, "SORSA");
  assert.equal(polar({ r: 2 }).peftConfig().peft_type, "POLAR");
  assert.equal(lokh({ r: 2 }).peftConfig().peft_type, "LOKH");
  assert.equal(hra({ r: 2, manifold: "stiefel" }).peftConfig().peft_type, "HRA_FOLDED");
  assert.equal(hra({ r: 2, gramSchmidt: true }).peftConfig().peft_type, "HRA_FOLDED");
  assert.deepEqual(hra({ r: 2, lambda: 0.5, manifold: "oblique" }).peftConfig().tangent, {
    lambda: 0.5,
    manifold: "oblique",
  });
  assert.deepEqual(vera({ r: 2 }).peftConfig().tangent, { projection_key: [0, 0] });
  assert.equal(lora({ r: 2 }).peftConfig().tangent, undefined);
});

// The fixture configs are what PEFT 0.21 serialises for these options (see the fixtures' shapes).
const FIXTURE_CASES: [string, AnyAdapter, string[]][] = [
  ["lora", lora({ r: 4, alpha: 8 }), ["r", "lora_alpha", "use_rslora", "use_dora", "init_lora_weights"]],
  ["lora_rslora", lora({ r: 4, alpha: 8, rslora: true }), ["r", "lora_alpha", "use_rslora", "use_dora"]],
  ["dora", dora({ r: 4, alpha: 4 }), ["r", "lora_alpha", "use_rslora", "use_dora", "init_lora_weights"]],
  ["pissa", lora({ r: 4, alpha: 4, init: "pissa" }), ["r", "lora_alpha", "use_dora", "init_lora_weights"]],
  ["olora", lora({ r: 4, alpha: 4, init: "olora" }), ["r", "lora_alpha", "use_dora", "init_lora_weights"]],
  ["hra", hra({ r: 4 }), ["r", "apply_GS", "init_weights"]],
  ["hra_gs", hra({ r: 4, gramSchmidt: true, foldInit: false }), ["r", "apply_GS", "init_weights"]],
  [
    "oft",
    oft({ blockSize: 4 }),
    ["r", "oft_block_size", "use_cayley_neumann", "num_cayley_neumann_terms", "block_share", "init_weights"],
  ],
  ["boft", boft({ blockSize: 4 }), ["boft_block_size", "boft_block_num", "boft_n_butterfly_factor", "init_weights"]],
  ["loha", loha({ r: 4, alpha: 4 }), ["r", "alpha", "init_weights"]],
  ["lokr", lokr({ r: 4, alpha: 4 }), ["r", "alpha", "decompose_both", "decompose_factor", "init_weights"]],
  ["vera", vera({ r: 4 }), ["r", "d_initial", "projection_prng_key", "save_projection", "init_weights"]],
];

for (const [kind, ad, fields] of FIXTURE_CASES) {
  Deno.test(`peftConfig equals PEFT 0.21's config for the same options: ${kind}`, () => {
    const fx = loadPeftFixture(kind);
    const ours = ad.peftConfig();
    for (const f of ["peft_type", ...fields]) assert.ok(f in ours, `${kind}: ${f} missing`);
    for (const [k, v] of Object.entries(ours)) {
      if (TANGENT_KEYS.has(k)) continue;
      assert.ok(k in fx.config, `${kind}: PEFT has no field ${k}`);
      assert.deepEqual(v, fx.config[k], `${kind}.${k}`);
    }
    // and the adapter fromPeft builds from PEFT's config describes itself with PEFT's values
    const tensors: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries({ ...fx.adapter_params, ...(fx.frozen_adapter_tensors ?? {}) })) {
      tensors[k] = t64(v);
    }
    const got = fromPeft({ config: fx.config, base: { weight: t64(fx.base.weight) }, tensors }).adapter.peftConfig();
    for (const f of fields) assert.deepEqual(got[f], fx.config[f], `${kind}: rebuilt ${f}`);
  });
}

// ---- strict checking ----

const W8 = { weight: normal(key(1), [8, 16], f64) };
const r4 = (shape: number[], seed = 0) => normal(key(50 + seed), shape, f64);

interface Bad {
  what: string;
  config: PeftConfig;
  base?: { weight: Tensor };
  tensors: Record<string, Tensor>;
  error: typeof ShapeError | typeof FormatError | typeof DTypeError;
  mentions: string[];
}

const LORA = { peft_type: "LORA", r: 4, lora_alpha: 8 };
const BAD: Bad[] = [
  {
    what: "lora_B [1, 4] for an 8-row weight (it would broadcast)",
    config: LORA,
    tensors: { "p.lora_A.weight": r4([4, 16]), "p.lora_B.weight": r4([1, 4]) },
    error: ShapeError,
    mentions: ["p.lora_B.weight", "[1, 4]", "[8, 4]"],
  },
  {
    what: "config r = 2 with rank-4 tensors",
    config: { ...LORA, r: 2 },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: ShapeError,
    mentions: ["lora_A.weight", "[4, 16]", "[2, 16]", "r = 2"],
  },
  {
    what: "lora_A with in ≠ 16",
    config: LORA,
    tensors: { "lora_A.weight": r4([4, 15]), "lora_B.weight": r4([8, 4]) },
    error: ShapeError,
    mentions: ["lora_A.weight", "[4, 16]"],
  },
  {
    what: "int32 lora_A",
    config: LORA,
    tensors: { "lora_A.weight": zeros([4, 16], { dtype: "int32" }), "lora_B.weight": r4([8, 4]) },
    error: DTypeError,
    mentions: ["lora_A.weight", "int32"],
  },
  {
    what: "DoRA magnitude [1]",
    config: { ...LORA, use_dora: true },
    tensors: {
      "lora_A.weight": r4([4, 16]),
      "lora_B.weight": r4([8, 4]),
      "lora_magnitude_vector": r4([1]),
    },
    error: ShapeError,
    mentions: ["lora_magnitude_vector", "[1]", "[8]"],
  },
  {
    what: "a DoRA magnitude left over when use_dora is false",
    config: LORA,
    tensors: {
      "m.proj.lora_A.weight": r4([4, 16]),
      "m.proj.lora_B.weight": r4([8, 4]),
      "m.proj.lora_magnitude_vector": r4([8]),
    },
    error: FormatError,
    mentions: ["m.proj.lora_magnitude_vector", "use_dora = false"],
  },
  {
    what: "an unknown tensor of the same module and adapter",
    config: LORA,
    tensors: {
      "m.proj.lora_A.default.weight": r4([4, 16]),
      "m.proj.lora_B.default.weight": r4([8, 4]),
      "m.proj.lora_C.default.weight": r4([8, 4]),
    },
    error: FormatError,
    mentions: ["m.proj.lora_C.default.weight"],
  },
  {
    what: "HRA U [17, 4]",
    config: { peft_type: "HRA", r: 4 },
    tensors: { "hra_u": r4([17, 4]) },
    error: ShapeError,
    mentions: ["hra_u", "[17, 4]", "[16, 4]"],
  },
  {
    what: "HRA r = 2 with 4 vectors",
    config: { peft_type: "HRA", r: 2 },
    tensors: { "x.hra_u.default": r4([16, 4]) },
    error: ShapeError,
    mentions: ["x.hra_u.default", "[16, 2]"],
  },
  {
    what: "HRA_FOLDED without hra_u0",
    config: { peft_type: "HRA_FOLDED", r: 4, apply_GS: true },
    tensors: { "hra_u": r4([16, 4]) },
    error: FormatError,
    mentions: ["hra_u0"],
  },
  {
    what: "OFT with 3 packed blocks for in = 16, block size 4",
    config: { peft_type: "OFT", r: 0, oft_block_size: 4 },
    tensors: { "oft_R.weight": r4([3, 6]) },
    error: ShapeError,
    mentions: ["oft_R.weight", "[3, 6]", "[4, 6]"],
  },
  {
    what: "OFT packed length of another block size",
    config: { peft_type: "OFT", r: 0, oft_block_size: 4 },
    tensors: { "oft_R.weight": r4([4, 10]) },
    error: ShapeError,
    mentions: ["oft_R.weight", "[4, 6]"],
  },
  {
    what: "OFT shared block stored per block",
    config: { peft_type: "OFT", r: 0, oft_block_size: 4, block_share: true },
    tensors: { "oft_R.weight": r4([4, 6]) },
    error: ShapeError,
    mentions: ["oft_R.weight", "[1, 6]"],
  },
  {
    what: "BOFT blocks of size 8 for block size 4",
    config: { peft_type: "BOFT", boft_block_size: 4, boft_block_num: 0, boft_n_butterfly_factor: 1 },
    tensors: { "boft_R": r4([1, 2, 8, 8]), "boft_s": r4([8, 1]) },
    error: ShapeError,
    mentions: ["boft_R", "[1, 4, 4, 4]"],
  },
  {
    what: "BOFT scale [8]",
    config: { peft_type: "BOFT", boft_block_size: 4, boft_block_num: 0, boft_n_butterfly_factor: 1 },
    tensors: { "boft_R": r4([1, 4, 4, 4]), "boft_s": r4([8]) },
    error: ShapeError,
    mentions: ["boft_s", "[8, 1]"],
  },
  {
    what: "BOFT with 3 factors stored for a 2-factor config",
    config: { peft_type: "BOFT", boft_block_size: 4, boft_block_num: 0, boft_n_butterfly_factor: 2 },
    tensors: { "boft_R": r4([3, 4, 4, 4]), "boft_s": r4([8, 1]) },
    error: ShapeError,
    mentions: ["boft_R", "[2, 4, 4, 4]"],
  },
  {
    what: "LoHa w2b of rank 3",
    config: { peft_type: "LOHA", r: 4, alpha: 4 },
    tensors: {
      "hada_w1_a": r4([8, 4]),
      "hada_w1_b": r4([4, 16]),
      "hada_w2_a": r4([8, 4]),
      "hada_w2_b": r4([3, 16]),
    },
    error: ShapeError,
    mentions: ["hada_w2_b", "[3, 16]", "[4, 16]"],
  },
  {
    what: "LoKr w1 of the wrong factor shape",
    config: { peft_type: "LOKR", r: 4, alpha: 4 },
    tensors: { "lokr_w1": r4([4, 4]), "lokr_w2": r4([4, 4]) },
    error: ShapeError,
    mentions: ["lokr_w1", "[4, 4]", "[2, 4]"],
  },
  {
    what: "LoKr w1 decomposed where the config makes it full",
    config: { peft_type: "LOKR", r: 4, alpha: 4 },
    tensors: { "lokr_w1_a": r4([2, 4]), "lokr_w1_b": r4([4, 4]), "lokr_w2": r4([4, 4]) },
    error: FormatError,
    mentions: ["lokr_w1_a", "lokr_w1 (full)"],
  },
  {
    what: "VeRA lambda_d of the wrong rank",
    config: { peft_type: "VERA", r: 4 },
    tensors: {
      "vera_lambda_b": r4([8]),
      "vera_lambda_d": r4([3]),
      "base_model.vera_A": r4([4, 16]),
      "base_model.vera_B": r4([8, 4]),
    },
    error: ShapeError,
    mentions: ["vera_lambda_d", "[3]", "[4]"],
  },
  {
    what: "VeRA projection narrower than in",
    config: { peft_type: "VERA", r: 4 },
    tensors: {
      "vera_lambda_b": r4([8]),
      "vera_lambda_d": r4([4]),
      "base_model.vera_A": r4([4, 12]),
      "base_model.vera_B": r4([8, 4]),
    },
    error: ShapeError,
    mentions: ["base_model.vera_A", "[4, 12]", "[4, ≥16]"],
  },
  {
    what: "VeRA without saved projections",
    config: { peft_type: "VERA", r: 4, save_projection: false },
    tensors: { "vera_lambda_b": r4([8]), "vera_lambda_d": r4([4]) },
    error: FormatError,
    mentions: ["vera_A", "vera_B"],
  },
  {
    what: "LoKH B2 of the wrong size",
    config: { peft_type: "LOKH", r: 2, alpha: 2, out_factors: null },
    tensors: { "lokh_B1": r4([2, 2]), "lokh_A1": r4([2, 16]), "lokh_B2": r4([2, 2]), "lokh_A2": r4([2, 16]) },
    error: ShapeError,
    mentions: ["lokh_B2", "[2, 2]", "[4, 2]"],
  },
  {
    what: "SORSA S of the wrong length",
    config: { peft_type: "SORSA", r: 3 },
    tensors: { "sorsa_A.weight": r4([3, 16]), "sorsa_B.weight": r4([8, 3]), "sorsa_S": r4([4]) },
    error: ShapeError,
    mentions: ["sorsa_S", "[4]", "[3]"],
  },
  {
    what: "PoLAR Θ not square",
    config: { peft_type: "POLAR", r: 2, theta: "full" },
    tensors: { "lora_A.weight": r4([2, 16]), "lora_B.weight": r4([8, 2]), "lora_S.weight": r4([2, 3]) },
    error: ShapeError,
    mentions: ["lora_S.weight", "[2, 2]"],
  },
  {
    what: "PoLAR identity with a Θ left over",
    config: { peft_type: "POLAR", r: 2, theta: "identity" },
    tensors: { "lora_A.weight": r4([2, 16]), "lora_B.weight": r4([8, 2]), "lora_S.weight": r4([2, 2]) },
    error: FormatError,
    mentions: ["lora_S.weight"],
  },
  {
    what: "a randomized PiSSA (pissa_niter_4), naming the conversion to a plain LoRA",
    config: { ...LORA, init_lora_weights: "pissa_niter_4" },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["pissa_niter_4", "baseIsResidual", "path_initial_model_for_weight_conversion", "merge_and_unload"],
  },
  {
    what: "modules_to_save (whole trained modules an adapter does not hold)",
    config: { ...LORA, modules_to_save: ["lm_head"] },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["modules_to_save", '["lm_head"]', "merge_and_unload"],
  },
  {
    what: "trainable_token_indices",
    config: { ...LORA, trainable_token_indices: [3, 5] },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["trainable_token_indices", "merge_and_unload"],
  },
  {
    what: "activated LoRA (alora_invocation_tokens)",
    config: { ...LORA, alora_invocation_tokens: [7, 8] },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["alora_invocation_tokens"],
  },
  {
    what: 'bias = "lora_only", naming the fix',
    config: { ...LORA, bias: "lora_only" },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["bias", "lora_only", "merge_and_unload", '"none"'],
  },
  {
    what: "a rank_pattern without the module name",
    config: { ...LORA, rank_pattern: { q_proj: 2 } },
    tensors: { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) },
    error: FormatError,
    mentions: ["rank_pattern", "module"],
  },
];

for (const b of BAD) {
  Deno.test(`fromPeft refuses ${b.what}`, () => {
    assert.throws(
      () => fromPeft({ config: b.config, base: b.base ?? W8, tensors: b.tensors }),
      (e: unknown) => {
        assert.ok(e instanceof b.error, `${b.what}: ${e}`);
        for (const m of b.mentions) {
          assert.ok((e as Error).message.includes(m), `'${m}' not in: ${(e as Error).message}`);
        }
        return true;
      },
    );
  });
}

Deno.test("fromPeft: other modules' and adapters' tensors pass; rank_pattern resolves with module", () => {
  const tensors = {
    "base_model.model.a.q_proj.lora_A.weight": r4([2, 16]),
    "base_model.model.a.q_proj.lora_B.weight": r4([8, 2]),
    "base_model.model.a.q_proj.inner.lora_C.weight": r4([8, 2]), // a submodule
    "base_model.model.b.lora_C.weight": r4([8, 2]), // another module
  };
  const config = { ...LORA, rank_pattern: { "q_proj": 2 } };
  const got = fromPeft({ config, base: W8, tensors, module: "model.a.q_proj" });
  assert.deepEqual(got.params.A.shape, [2, 16]);
  // PEFT's scale: lora_alpha / the pattern's rank
  const x = r4([3, 16], 9);
  const want = add(
    x.matmul(W8.weight.mT),
    x.matmul(tensors["base_model.model.a.q_proj.lora_A.weight"].mT)
      .matmul(tensors["base_model.model.a.q_proj.lora_B.weight"].mT).mul(8 / 2),
  );
  assert.ok(relErr(got.adapter.apply(got.params, got.frozen, x), want) < 1e-14);
  // another adapter in the same module, chosen away by adapterName
  const two = {
    "m.lora_A.default.weight": r4([4, 16]),
    "m.lora_B.default.weight": r4([8, 4]),
    "m.lora_A.other.weight": r4([4, 16]),
    "m.lora_B.other.weight": r4([8, 4]),
  };
  assert.doesNotThrow(() => fromPeft({ config: LORA, base: W8, tensors: two, adapterName: "default" }));
  assert.throws(() => fromPeft({ config: LORA, base: W8, tensors: two }), FormatError);
});

Deno.test("fromPeft: BOFT stored with one factor loads as PEFT without its CUDA extension builds it", () => {
  const config = { peft_type: "BOFT", boft_block_size: 4, boft_block_num: 0, boft_n_butterfly_factor: 2 };
  const got = fromPeft({ config, base: W8, tensors: { "boft_R": r4([1, 4, 4, 4]), "boft_s": r4([8, 1]) } });
  assert.equal(got.adapter.peftConfig().boft_n_butterfly_factor, 1);
});

Deno.test("fromPeft: PEFT's OFT block-size adjustment and pissa_niter with baseIsResidual", () => {
  // PEFT moves oft_block_size 5 (not a divisor of 16) to 4
  const got = fromPeft({
    config: { peft_type: "OFT", r: 0, oft_block_size: 5 },
    base: W8,
    tensors: { oft_R: r4([4, 6]) },
  });
  assert.equal(got.adapter.peftConfig().oft_block_size, 4);
  const niter = { ...LORA, init_lora_weights: "pissa_niter_4" };
  const tensors = { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4]) };
  assert.throws(() => fromPeft({ config: niter, base: W8, tensors }), FormatError);
  const res = fromPeft({ config: niter, base: W8, tensors, baseIsResidual: true });
  assert.equal(res.frozen.weight, W8.weight);
});

Deno.test("hra foldInit: false (PEFT's semantics) satisfies the adapter laws; the folded init keeps U0", async () => {
  await checkAdapterLaws(hra({ r: 3, gramSchmidt: true, foldInit: false }), { numRuns: 2 });
  const optimizer = riemannianAdam({ lr: 0.05 });
  await checkAdapterLaws(hra({ r: 3, manifold: "stiefel", foldInit: false }), {
    optimizer,
    orthoTol: 1e-12,
    numRuns: 2,
  });
  assert.equal(hra({ r: 4, gramSchmidt: true, foldInit: false }).identityAtInit, false);
  assert.throws(() => hra({ r: 4, foldInit: true }), DomainError);
  const base = layer(3);
  const { params, frozen } = hra({ r: 4, gramSchmidt: true }).init(key(4), base);
  assert.equal(frozen.U0, params.U);
  assert.deepEqual(Object.keys(hra({ r: 4 }).frozenToPeft!(hra({ r: 4 }).init(key(4), base).frozen)), []);
});

Deno.test('fromPeft: init_lora_weights "orthogonal" and "eva" leave the base as it was: a plain LoRA', async () => {
  const tensors = { "lora_A.weight": r4([4, 16]), "lora_B.weight": r4([8, 4], 1) };
  const plain = fromPeft({ config: LORA, base: W8, tensors });
  const x = r4([3, 16], 2);
  const want = await plain.adapter.apply(plain.params, plain.frozen, x).data();
  for (const iw of ["orthogonal", "eva"]) {
    const b = fromPeft({ config: { ...LORA, init_lora_weights: iw }, base: W8, tensors });
    assert.deepEqual(await b.adapter.apply(b.params, b.frozen, x).data(), want, iw);
  }
});

Deno.test("VeRA: a projection key of JAX's partitionable layout is recorded with it, and fromPeft redraws the same projections", () => {
  const k = key(5, { layout: "partitionable" });
  const ad = vera({ r: 2, projectionKey: k });
  assert.deepEqual(ad.peftConfig().tangent, { projection_key: [...k.words], projection_key_layout: "partitionable" });
  const base = { weight: normal(key(1), [OUT, IN], f64) };
  const s = ad.init(key(0), base);
  const x = normal(key(2), [3, IN], f64);
  // trained scalings, the projections left out of the tensors: fromPeft redraws them from the recorded key
  const tensors = ad.toPeft({ lambdaB: normal(key(3), [OUT], f64), lambdaD: normal(key(4), [2], f64) });
  delete tensors["vera_A"], delete tensors["vera_B"];
  const back = fromPeft({ config: ad.peftConfig(), base, tensors });
  const want = ad.apply({ lambdaB: tensors["vera_lambda_b"], lambdaD: tensors["vera_lambda_d"] }, s.frozen, x);
  assert.deepEqual([...back.adapter.apply(back.params, back.frozen, x).dataSync()], [...want.dataSync()]);
  assert.throws(
    () =>
      fromPeft({
        config: { ...ad.peftConfig(), tangent: { projection_key: [1, 2], projection_key_layout: "x" } },
        base,
        tensors,
      }),
    (e: unknown) =>
      e instanceof FormatError && /projection_key_layout must be "classic" or "partitionable"/.test(e.message),
  );
});
