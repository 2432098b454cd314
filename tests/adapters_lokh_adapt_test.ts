import assert from "node:assert/strict";
import {
  FormatError,
  key,
  linalg,
  mul,
  normal,
  ShapeError,
  split,
  sum,
  type Tensor,
  tensor,
  vjp,
  zeros,
} from "../mod.ts";
import { adapt, fromPeft, khatriRao, lokh, type LokhParams, lora } from "../adapters/mod.ts";
import { lokhOutFactors } from "../adapters/lokh.ts";
import { checkAdapterLaws } from "../testing.ts";
import { relErr } from "./adapters_helpers.ts";

Deno.test("lokh: ΔW equals the dense Khatri–Rao formula, forward and gradients", () => {
  const [k0, k1, k2, k3, k4, k5] = split(key(3), 6);
  const [m1, m2, r, inF, n] = [3, 4, 2, 5, 3];
  const W = normal(k0, [m1 * m2, inF], { dtype: "float64" });
  const params = {
    B1: normal(k1, [m1, r], { dtype: "float64" }),
    A1: normal(k2, [r, inF], { dtype: "float64" }),
    B2: normal(k3, [m2, r], { dtype: "float64" }),
    A2: normal(k4, [r, inF], { dtype: "float64" }),
  };
  const x = normal(k5, [n, inF], { dtype: "float64" });
  const s = 3 / r;
  // dense ΔW[a·m2 + b, j] = s·(B1 A1)[a, j]·(B2 A2)[b, j], by loops
  const P = params.B1.matmul(params.A1).arraySync() as number[][];
  const Q = params.B2.matmul(params.A2).arraySync() as number[][];
  const D: number[][] = [];
  for (let a = 0; a < m1; a++) for (let b = 0; b < m2; b++) D.push(P[a].map((p, j) => s * p * Q[b][j]));
  const dense = tensor(D, { dtype: "float64" });
  const ad = lokh({ r, alpha: 3 });
  const frozen = { weight: W };
  assert.ok(relErr(ad.merge(params, frozen), W.add(dense)) < 1e-14);
  assert.ok(relErr(khatriRao(tensor([[1, 2]]), tensor([[3, 4], [5, 6]])), tensor([[3, 8], [5, 12]])) === 0);
  const G = normal(key(9), [n, m1 * m2], { dtype: "float64" });
  const [y, pb] = vjp((p: typeof params, xx: Tensor) => ad.apply(p, frozen, xx), params, x);
  const [yd, pbd] = vjp(
    (p: typeof params, xx: Tensor) => xx.matmul(ad.merge(p, frozen).mT),
    params,
    x,
  );
  assert.ok(relErr(y, yd) < 1e-13);
  const [g, gx] = pb(G) as [typeof params, Tensor], [gd, gxd] = pbd(G) as [typeof params, Tensor];
  for (const k of ["A1", "A2", "B1", "B2"] as const) assert.ok(relErr(g[k], gd[k]) < 1e-13, k);
  assert.ok(relErr(gx, gxd) < 1e-13);
  assert.equal(ad.trainableCount(params), r * (m1 + m2 + 2 * inF));
});

Deno.test("lokh: the adapter laws hold (rank r² is checked in adapters_analysis_test)", async () => {
  await checkAdapterLaws(lokh({ r: 2, alpha: 4 }), { out: 6, in: 8 });
  await checkAdapterLaws(lokh({ r: 3 }), { out: 12, in: 10, numRuns: 2 });
});

Deno.test("adapt: targets by PEFT-style name, merges, sums regularisers and names tensors as PEFT", () => {
  const ks = split(key(0), 6);
  const lin = (k: typeof ks[0], o: number, i: number) => ({
    weight: normal(k, [o, i], { dtype: "float64" }),
    bias: zeros([o], { dtype: "float64" }),
  });
  const model = {
    embed: normal(ks[0], [10, 8], { dtype: "float64" }),
    layers: [
      { self_attn: { q_proj: lin(ks[1], 8, 8), v_proj: lin(ks[2], 4, 8) }, mlp: { up_proj: lin(ks[3], 16, 8) } },
      { self_attn: { q_proj: lin(ks[4], 8, 8), v_proj: lin(ks[5], 4, 8) }, mlp: { up_proj: lin(ks[0], 16, 8) } },
    ],
  };
  const a = adapt(model, { target: ["q_proj", "v_proj"], adapter: lora({ r: 2, alpha: 4 }) });
  assert.deepEqual(a.paths, [
    "layers.0.self_attn.q_proj",
    "layers.0.self_attn.v_proj",
    "layers.1.self_attn.q_proj",
    "layers.1.self_attn.v_proj",
  ]);
  assert.equal(a.trainableCount(a.params), 2 * (2 * (8 + 8) + 2 * (8 + 4)));
  const names = Object.keys(a.toPeft(a.params)).sort();
  assert.equal(names[0], "base_model.model.layers.0.self_attn.q_proj.lora_A.weight");
  assert.equal(names.length, 8);
  // merged model: B = 0 at init, so weights are unchanged; other entries pass through
  const merged = a.merge(a.params) as typeof model;
  assert.equal(merged.embed, model.embed);
  assert.equal(merged.layers[0].mlp.up_proj, model.layers[0].mlp.up_proj);
  assert.ok(relErr(merged.layers[1].self_attn.v_proj.weight, model.layers[1].self_attn.v_proj.weight) === 0);
  // gradients flow through merge to every adapted layer
  const x = normal(key(7), [3, 8], { dtype: "float64" });
  const loss = (p: typeof a.params) => {
    const m = a.merge(p) as typeof model;
    return sum(mul(x.matmul(m.layers[1].self_attn.q_proj.weight.mT), 1));
  };
  const [, pb] = vjp(loss, a.params);
  const [g] = pb(tensor(1, { dtype: "float64" })) as [typeof a.params];
  assert.ok(Math.abs(sum(g["layers.1.self_attn.q_proj"].B).item()) > 0);
  assert.equal(sum(g["layers.0.self_attn.q_proj"].B).item(), 0);
  assert.throws(() => adapt(model, { target: "nope", adapter: lora({ r: 2 }) }), /no linear module matches/);
});

// Recorded from the two-factor lokh before `factors` existed (commit 5a2027f): with `factors` absent or 2,
// the adapter must draw the same init from the same key and compute the same forward and merge, bit for bit.
const BEFORE_K = {
  B1: [-0.45432297946211486, -0.5687276475685279, 0.26667539676702523, 0.10690319037864326],
  A1: [
    0.45363210010066646,
    -0.2500325048007723,
    0.39934238645614284,
    -0.486332803072247,
    0.19815432144423495,
    0.3527402650381397,
    0.3119671648479946,
    -0.42753650007719024,
  ],
  A2: [
    -0.19153504319603254,
    0.09342900218672423,
    0.05444216845358263,
    0.3388681076209764,
    -0.11913256094435087,
    -0.1727433001464156,
    0.24002033870782158,
    0.16539796541728913,
  ],
  y: [
    0.9993100689508941,
    -5.21678114797093,
    1.0558820131852775,
    2.101864712075362,
    1.0083056641106187,
    1.166881812417013,
    -1.6183692311123228,
    -1.4211407176929223,
    -0.954608122291903,
    1.2146032253039898,
    -1.777617993853778,
    -3.793794427311531,
  ],
  merged: [
    0.6155438588655541,
    0.08837125549899282,
    1.288249415441856,
    -0.9760183492062492,
    -1.5073819471485386,
    -0.6694765212221645,
    -1.3361244458390287,
    -0.047529012653640235,
    -0.1478546638557782,
    0.7392775235739806,
    -0.023553093089177794,
    -0.20406334760019085,
    0.2444620263320899,
    0.27862153401940026,
    -0.28513970071227634,
    -0.2343822576460718,
    -0.3062849739989217,
    1.1249908320161046,
    -0.44820030694107976,
    -0.42928821940335554,
    -1.2431295481770848,
    1.5861085080889306,
    0.6550177979888152,
    -1.1693832989634088,
  ],
};

Deno.test("lokh factors: 2 is the two-factor adapter as it was (init, forward, merge, names, config bit for bit)", () => {
  const f64 = { dtype: "float64" } as const;
  const base = { weight: normal(key(11), [6, 4], f64), bias: normal(key(12), [6], f64) };
  for (const ad of [lokh({ r: 2, alpha: 3 }), lokh({ r: 2, alpha: 3, factors: 2 })]) {
    const { params } = ad.init(key(5), base);
    assert.deepEqual(Object.keys(params), ["B1", "A1", "B2", "A2"]);
    assert.deepEqual(Array.from(params.B1.dataSync()), BEFORE_K.B1);
    assert.deepEqual(Array.from(params.A1.dataSync()), BEFORE_K.A1);
    assert.deepEqual(Array.from(params.A2.dataSync()), BEFORE_K.A2);
    assert.deepEqual(Array.from(params.B2.dataSync()), [0, 0, 0, 0, 0, 0]);
    const p = { ...params, B2: normal(key(13), [3, 2], f64) };
    const x = normal(key(14), [2, 4], f64);
    assert.deepEqual(Array.from(ad.apply(p, base, x).dataSync()), BEFORE_K.y);
    assert.deepEqual(Array.from(ad.merge(p, base).dataSync()), BEFORE_K.merged);
    assert.deepEqual(Object.keys(ad.toPeft(p)), ["lokh_B1", "lokh_A1", "lokh_B2", "lokh_A2"]);
    const { library: _l, note: _n, ...config } = ad.peftConfig();
    assert.deepEqual(config, { peft_type: "LOKH", r: 2, alpha: 3, out_factors: null }, "no num_factors at k = 2");
  }
});

Deno.test("lokh factors: k: ΔW is the cascade (B₁A₁) ⊙ ⋯ ⊙ (B_kA_k), forward and gradients, r(Σmᵢ + k·in) scalars", () => {
  const f64 = { dtype: "float64" } as const;
  for (const [k, ms, r] of [[3, [2, 3, 2], 2], [4, [2, 2, 1, 3], 2]] as [number, number[], number][]) {
    const out = ms.reduce((a, b) => a * b, 1), inF = 5, n = 3;
    const ks = split(key(20 + k), 2 * k + 2);
    const params: Record<string, Tensor> = {};
    ms.forEach((m, i) => {
      params[`B${i + 1}`] = normal(ks[2 * i], [m, r], f64);
      params[`A${i + 1}`] = normal(ks[2 * i + 1], [r, inF], f64);
    });
    const W = normal(ks[2 * k], [out, inF], f64), x = normal(ks[2 * k + 1], [n, inF], f64);
    // dense ΔW[(a₁, …, a_k), j] = s·Πᵢ (BᵢAᵢ)[aᵢ, j], by loops over the mixed-radix row index
    const P = ms.map((_, i) => params[`B${i + 1}`].matmul(params[`A${i + 1}`]).arraySync() as number[][]);
    const s = 3 / r;
    const D: number[][] = [];
    for (let row = 0; row < out; row++) {
      const digits: number[] = [];
      for (let i = k - 1, rest = row; i >= 0; i--) {
        digits[i] = rest % ms[i];
        rest = Math.floor(rest / ms[i]);
      }
      D.push(Array.from({ length: inF }, (_, j) => s * digits.reduce((acc, a, i) => acc * P[i][a][j], 1)));
    }
    const ad = lokh({ r, alpha: 3, factors: k, outFactors: ms });
    const frozen = { weight: W };
    const lp = params as unknown as LokhParams;
    assert.ok(relErr(ad.merge(lp, frozen), W.add(tensor(D, f64))) < 1e-14, `k = ${k}: merge`);
    const G = normal(key(9), [n, out], f64);
    const [y, pb] = vjp((p: LokhParams, xx: Tensor) => ad.apply(p, frozen, xx), lp, x);
    const [yd, pbd] = vjp((p: LokhParams, xx: Tensor) => xx.matmul(ad.merge(p, frozen).mT), lp, x);
    assert.ok(relErr(y, yd) < 1e-13, `k = ${k}: apply`);
    const [g, gx] = pb(G) as [Record<string, Tensor>, Tensor], [gd, gxd] = pbd(G) as [Record<string, Tensor>, Tensor];
    for (const name of Object.keys(params)) assert.ok(relErr(g[name], gd[name]) < 1e-13, `k = ${k}: ${name}`);
    assert.ok(relErr(gx, gxd) < 1e-13);
    assert.equal(ad.trainableCount(lp), r * (ms.reduce((a, b) => a + b, 0) + k * inF));
    // init: keys B1, A1, …, Bk, Ak; the last B is zero, so ΔW = 0
    const init = ad.init(key(0), frozen).params as unknown as Record<string, Tensor>;
    assert.deepEqual(Object.keys(init), ms.flatMap((_, i) => [`B${i + 1}`, `A${i + 1}`]));
    assert.equal(init[`B${k}`].abs().sum().item(), 0);
    assert.ok(init.B1.abs().sum().item() > 0);
  }
});

Deno.test("lokh factors: k: the rank of ΔW reaches min(r^k, out, in); default splits; errors name the fix", () => {
  const f64 = { dtype: "float64" } as const;
  // out = 27 = 3·3·3, in = 30, r = 2: generic factors give rank 2³ = 8 (LoRA at r = 2 gives 2)
  const ad = lokh({ r: 2, factors: 3 });
  const W = normal(key(1), [27, 30], f64);
  const p0 = ad.init(key(2), { weight: W }).params;
  const p = { ...p0, B3: normal(key(3), [3, 2], f64) };
  const s = Array.from(linalg.svdvals(ad.merge(p, { weight: W }).sub(W)).dataSync());
  assert.equal(s.filter((v) => v > 1e-10 * s[0]).length, 8);
  assert.deepEqual(lokhOutFactors(64, 3), [4, 4, 4]);
  assert.deepEqual(lokhOutFactors(64, 6), [2, 2, 2, 2, 2, 2]);
  assert.deepEqual(lokhOutFactors(192, 3), [4, 6, 8]);
  assert.deepEqual(lokhOutFactors(12, 2), [3, 4]);
  assert.deepEqual(lokhOutFactors(7, 3), [1, 1, 7]);
  assert.throws(
    () => lokh({ r: 2, factors: 1 }),
    (e: unknown) => e instanceof ShapeError && /k = 1 is LoRA/.test(e.message),
  );
  assert.throws(() => lokh({ r: 2, factors: 3, outFactors: [2, 6] }), /must list k = 3 numbers/);
  assert.throws(
    () => lokh({ r: 2, factors: 3, outFactors: [2, 2, 2] }).init(key(0), { weight: W }),
    (e: unknown) => e instanceof ShapeError && /2 × 2 × 2 ≠ out = 27/.test(e.message),
  );
});

Deno.test("lokh factors: k: the adapter laws hold and the PEFT config round-trips through fromPeft", async () => {
  await checkAdapterLaws(lokh({ r: 2, alpha: 4, factors: 3 }), { out: 8, in: 6, numRuns: 3 });
  const f64 = { dtype: "float64" } as const;
  for (const ad of [lokh({ r: 2, alpha: 5, factors: 3 }), lokh({ r: 3, factors: 3, outFactors: [3, 1, 4] })]) {
    const base = { weight: normal(key(4), [12, 7], f64), bias: normal(key(5), [12], f64) };
    const init = ad.init(key(6), base);
    const params = { ...init.params, B3: normal(key(7), init.params.B3.shape as number[], f64) };
    const config = JSON.parse(JSON.stringify(ad.peftConfig()));
    assert.equal(config.num_factors, 3);
    const got = fromPeft({ config, base, tensors: ad.toPeft(params, { prefix: "m", adapterName: "default" }) });
    const x = normal(key(8), [4, 7], f64);
    assert.ok(relErr(got.adapter.apply(got.params, got.frozen, x), ad.apply(params, init.frozen, x)) < 1e-14);
    assert.deepEqual(got.adapter.peftConfig(), ad.peftConfig());
    assert.deepEqual(Object.keys(ad.toPeft(params)), [
      "lokh_B1",
      "lokh_A1",
      "lokh_B2",
      "lokh_A2",
      "lokh_B3",
      "lokh_A3",
    ]);
  }
  const tensors = lokh({ r: 2, factors: 3 }).toPeft(
    lokh({ r: 2, factors: 3 }).init(key(0), { weight: normal(key(4), [12, 7], f64) }).params,
  );
  assert.throws(
    () =>
      fromPeft({
        config: { peft_type: "LOKH", r: 2, num_factors: 3, out_factors: [3, 4] },
        base: { weight: normal(key(4), [12, 7], f64) },
        tensors,
      }),
    (e: unknown) => e instanceof FormatError && /3 integers/.test(e.message),
  );
  // without num_factors the config is the two-factor one (out = 3·4), which these tensors do not fit
  assert.throws(
    () =>
      fromPeft({
        config: { peft_type: "LOKH", r: 2, out_factors: null },
        base: { weight: normal(key(4), [12, 7], f64) },
        tensors,
      }),
    (e: unknown) => e instanceof ShapeError && /lokh_B1.*\[3, 2\]/.test(e.message),
  );
});
