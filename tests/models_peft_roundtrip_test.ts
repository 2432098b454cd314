/**
 * Every method of the study, on attention and MLP modules of different shapes, survives
 * savePeftAdapter → loadPeftAdapter with the same logits, away from its initial point.
 */
import assert from "node:assert/strict";
import {
  adapters,
  adaptModel,
  key,
  loadModel,
  loadPeftAdapter,
  normal,
  savePeftAdapter,
  tensor,
  treeMap,
} from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { asPoint, type Manifold, manifoldOf } from "../manifolds/mod.ts";
import { studyMethods } from "../study/methods.ts";

const model = await loadModel("../shared/fixtures/models/tiny_llama", { dtype: "float64" });
const ids = tensor([[3, 1, 4, 1, 5, 9, 2, 6]], { dtype: "int32" });
const targets = "q_proj,v_proj,up_proj,down_proj";

for (const method of studyMethods(2).filter((m) => m.adapter)) {
  Deno.test(`${method.name}: savePeftAdapter then loadPeftAdapter gives the same logits`, async () => {
    const adapter = method.adapter!({ inF: 64, outF: 64 });
    const peft = adaptModel(model, { target: targets, adapter, key: key(1) });
    assert.equal(peft.paths.length, 8);
    // move every parameter off its start (manifold points are retracted back onto their manifold)
    let i = 0;
    const params = treeMap((t: Tensor) => {
      const moved = t.add(normal(key(100 + i++), t.shape, { dtype: t.dtype }).mul(0.05));
      const m = manifoldOf(t) as Manifold | undefined;
      return m ? asPoint(m.project(moved), m) : moved;
    }, peft.params);
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      await savePeftAdapter(dir, peft, params);
      const back = await loadPeftAdapter(model, dir);
      assert.deepEqual(back.paths, peft.paths);
      const a = await peft.apply(params, ids).data(), b = await back.apply(back.params, ids).data();
      const base = await model.apply(model.params, ids).data();
      let diff = 0, moved = 0;
      for (let j = 0; j < a.length; j++) {
        diff = Math.max(diff, Math.abs(a[j] - b[j]));
        moved = Math.max(moved, Math.abs(a[j] - base[j]));
      }
      assert.ok(moved > 1e-3, `${method.name}: the adapter should change the logits (moved ${moved})`);
      assert.ok(diff < 1e-9, `${method.name}: logits differ by ${diff} after the round trip`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("vera({ r }) on modules of different sizes shares one pair of projections, so savePeftAdapter writes it", async () => {
  const peft = adaptModel(model, { target: targets, adapter: adapters.vera({ r: 4 }), key: key(1) });
  let i = 0;
  const params = treeMap(
    (t: Tensor) => t.add(normal(key(200 + i++), t.shape, { dtype: t.dtype }).mul(0.05)),
    peft.params,
  );
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const saved = await savePeftAdapter(dir, peft, params); // was a FormatError: "not slices of one shared pair"
    assert.equal(saved.config.peft_type, "VERA");
    const back = await loadPeftAdapter(model, dir);
    const a = await peft.apply(params, ids).data(), b = await back.apply(back.params, ids).data();
    let diff = 0;
    for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(a[j] - b[j]));
    assert.ok(diff < 1e-9, `logits differ by ${diff} after the round trip`);
    // the widest layer's projections (down_proj: in 64; up_proj: out 64) hold every layer's as slices
    const f = (p: string) => peft.layers[p].frozen as unknown as { A: Tensor; B: Tensor };
    const q = f("model.layers.0.self_attn.q_proj"), down = f("model.layers.0.mlp.down_proj");
    assert.deepEqual([q.A.shape, down.A.shape], [[4, 32], [4, 64]]);
    assert.deepEqual(await q.A.data(), (await down.A.data()).filter((_, j) => j % 64 < 32));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
