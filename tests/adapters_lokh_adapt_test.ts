import assert from "node:assert/strict";
import { key, mul, normal, split, sum, type Tensor, tensor, vjp, zeros } from "../mod.ts";
import { adapt, khatriRao, lokh, lora } from "../adapters/mod.ts";
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
