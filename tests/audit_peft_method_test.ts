/**
 * What a PEFT researcher needs to train a method of their own (the PEFT-user audit): parameter
 * groups (`optim.partition`: Riemannian Adam on the manifold factor, AdamW on the rest, under jit),
 * and the worked example of a method of one's own (examples/scaled_rotation.ts) through the law kit
 * and a model round trip.
 */
import assert from "node:assert/strict";
import {
  DomainError,
  jit,
  jitInfo,
  key,
  loadModel,
  loadPeftAdapter,
  normal,
  savePeftAdapter,
  ShapeError,
  type Tensor,
  tensor,
  treeMap,
  zeros,
} from "../mod.ts";
import { manifoldOf, type Point, type Stiefel, stiefel } from "../manifolds/mod.ts";
import { checkAdapterLaws } from "../testing.ts";
import {
  readScaledRotation,
  scaledRotation,
  scaledRotationOptimizer,
  type ScaledRotationParams,
  trainScaledRotation,
} from "../examples/scaled_rotation.ts";
import { type Method, selectMethods } from "../study/methods.ts";
import { runStudy } from "../study/run.ts";
import { studyTable } from "../study/report.ts";
import { transductionTask } from "../study/tasks.ts";
import { tinyModel } from "./study_helpers.ts";
import { adamw, chain, clipByGlobalNorm, masked, partition, riemannianAdam, sgd } from "../optim/mod.ts";

const f64 = { dtype: "float64" } as const;
type SP = { U: Point<Stiefel>; d: Tensor };
const byManifold = (p: unknown) => treeMap((t: Tensor) => (manifoldOf(t) ? "riemannian" : "euclidean"), p);
const same = (a: Tensor, b: Tensor) => assert.deepEqual([...a.dataSync()], [...b.dataSync()]);

Deno.test("partition steps each group with its own optimizer, as each would alone, eager and under jit", () => {
  const p0 = { layer: { U: stiefel(6, 2).random(key(0), f64), d: tensor([0.5, -0.25], f64) } as SP };
  const grads = [1, 2, 3].map((i) => ({
    layer: { U: normal(key(10 + i), [6, 2], f64), d: normal(key(20 + i), [2], f64) },
  }));
  const ra = riemannianAdam({ lr: 0.05 }), aw = adamw({ lr: 0.1, weightDecay: 0.01 });
  const opt = partition({ riemannian: ra, euclidean: aw }, byManifold);
  // the reference: each optimizer alone on its own leaf
  let u = p0.layer.U, su = ra.init([u]), d = p0.layer.d, sd = aw.init([d]);
  let p = p0, s = opt.init(p0);
  const step = jit((p: typeof p0, s: unknown, g: typeof grads[0]) => opt.update(g, s as never, p));
  let pj = p0, sj: unknown = opt.init(p0);
  for (const g of grads) {
    const ru = ra.update([g.layer.U], su, [u]), rd = aw.update([g.layer.d], sd, [d]);
    [u, su, d, sd] = [ru.params[0], ru.state, rd.params[0], rd.state];
    ({ params: p, state: s } = opt.update(g, s, p));
    ({ params: pj, state: sj } = step(pj, sj, g));
  }
  same(p.layer.U, u);
  same(p.layer.d, d);
  same(pj.layer.U, u);
  same(pj.layer.d, d);
  assert.equal(p.layer.U.manifold, p0.layer.U.manifold); // still a Stiefel point
  assert.ok(stiefel(6, 2).constraintViolation(p.layer.U).item() < 1e-12);
  assert.deepEqual(Object.keys(s).sort(), ["euclidean", "riemannian"]);
  // the state a step returns has the next call's signature: one trace, replayed
  const infos = jitInfo(step);
  assert.equal(infos.length, 1);
  assert.equal(infos[0].mode, "graph");
});

Deno.test("partition: LoRA+ rates by a label tree; a chain inside one group clips that group only", () => {
  const params = { A: tensor([[1, 2]], f64), B: tensor([[0], [0]], f64) };
  const g = { A: tensor([[30, 40]], f64), B: tensor([[1], [0]], f64) };
  const clipped = partition({ a: chain(clipByGlobalNorm(1), sgd({ lr: 1 })), b: sgd({ lr: 1 }) }, { A: "a", B: "b" });
  const c = clipped.update(g, clipped.init(params), params).params;
  assert.deepEqual([...c.A.dataSync()].map((v) => +v.toFixed(12)), [0.4, 1.2]); // A's gradient [30, 40] clipped to [0.6, 0.8]
  assert.deepEqual([...c.B.dataSync()], [-1, 0]); // B's not, though the global norm is 50
  const plus = partition({ a: adamw({ lr: 0.1, weightDecay: 0 }), b: adamw({ lr: 1.6, weightDecay: 0 }) }, {
    A: "a",
    B: "b",
  });
  const { params: next } = plus.update(g, plus.init(params), params);
  // Adam's first step moves each coordinate with a non-zero gradient by its group's rate
  assert.ok(Math.abs(next.A.dataSync()[0] - 0.9) < 1e-6);
  assert.ok(Math.abs(next.B.dataSync()[0] + 1.6) < 1e-6);
  assert.equal(next.B.dataSync()[1], 0);
  // a transformation is not an optimizer: the message says to end it with one
  assert.throws(() => partition({ a: clipByGlobalNorm(1) as never }, { A: "a" }), /chain\(…, adamw\(…\)\)/);
});

Deno.test("partition: a label naming no optimizer, a missing entry and a bad optimizers argument are errors", () => {
  const params = { layer: { U: zeros([3, 1]), d: zeros([1]) } };
  const opt = partition({ riemannian: riemannianAdam({ lr: 1 }), euclidean: adamw({ lr: 1 }) }, {
    layer: { U: "riemannian", d: "euclidan" },
  });
  assert.throws(
    () => opt.init(params),
    (e: Error) =>
      e instanceof DomainError && /layer\.d is labelled "euclidan", which names no optimizer/.test(e.message) &&
      /"riemannian", "euclidean"/.test(e.message),
  );
  const missing = partition({ x: adamw({ lr: 1 }) }, { layer: { U: "x" } });
  assert.throws(
    () => missing.init(params),
    (e: Error) => e instanceof ShapeError && /no entry for "layer\.d"/.test(e.message),
  );
  assert.throws(() => partition({} as never, {}), DomainError);
  assert.throws(() => partition([adamw({ lr: 1 })] as never, {}), /an array/);
  // a mislabelled manifold point: the group's optimizer names it by its path in the parameters
  const mislabelled = partition({ e: adamw({ lr: 1, strict: true }) }, "e");
  const pts = { "layers.0.q": { U: stiefel(5, 2).random(key(0)), d: zeros([2]) } };
  assert.throws(
    () => mislabelled.update({ "layers.0.q": { U: zeros([5, 2]), d: zeros([2]) } }, mislabelled.init(pts), pts),
    /adamw: parameter layers\.0\.q\.U \[5, 2\] is a point of stiefel/,
  );
  // masked likewise (before: "adamw: parameter 0 [5, 2] …", its index among the trained leaves)
  const m = masked(adamw({ lr: 1, strict: true }), { "layers.0.q": { U: true, d: false } });
  assert.throws(
    () => m.update({ "layers.0.q": { U: zeros([5, 2]), d: zeros([2]) } }, m.init(pts), pts),
    /adamw: parameter layers\.0\.q\.U \[5, 2\] is a point of stiefel/,
  );
  // one tensor as the whole tree
  const one = partition({ e: adamw({ lr: 1 }) }, "e");
  assert.ok(Math.abs(one.update(tensor([1]), one.init(tensor([0])), tensor([0])).params.item() + 1) < 1e-6);
  // a group nobody is labelled with holds no parameters' state
  const unused = partition({ x: adamw({ lr: 1 }), y: adamw({ lr: 1 }) }, "x");
  const r = unused.update({ w: tensor([1]) }, unused.init({ w: tensor([0]) }), { w: tensor([0]) });
  assert.ok(Math.abs(r.params.w.item() + 1) < 1e-6);
});

Deno.test("examples/scaled_rotation.ts: the adapter passes the law kit (float64, float32, after Riemannian Adam); a wrong unmerge fails it", async () => {
  await checkAdapterLaws(scaledRotation(3), { numRuns: 3 });
  await checkAdapterLaws(scaledRotation(3), { numRuns: 2, dtype: "float32" });
  await checkAdapterLaws(scaledRotation(3), { numRuns: 2, optimizer: scaledRotationOptimizer(0.1) });
  // H⁻¹ is not I − U diag(d) Uᵀ: the law says so with the seed that replays it
  const good = scaledRotation(3);
  const bad: typeof good = { ...good, unmerge: (p, _f, m) => m.sub(m.matmul(p.U.mul(p.d).matmul(p.U.mT))) };
  const e = await checkAdapterLaws(bad, { seed: 3 }).then(() => undefined, (e: Error) => e);
  assert.ok(e instanceof DomainError);
  assert.match(e.message, /^scaled_rotation: law "unmerge ∘ merge" fails: .*replay: \{ seed: 3 \}/s);
});

Deno.test("examples/scaled_rotation.ts: trained on the tiny Llama under jit, saved, read back, merged: the same logits", async () => {
  const model = await loadModel(new URL("../../shared/fixtures/models/tiny_llama", import.meta.url).pathname);
  const tokens = [[1, 5, 9, 3, 7, 2, 4, 11], [3, 8, 1, 12, 5, 9, 2, 7]];
  const { peft, params, losses } = trainScaledRotation(model, {
    target: "q_proj,v_proj",
    r: 2,
    steps: 4,
    lr: 0.05,
    tokens,
  });
  assert.ok(losses[1] < losses[0], `loss ${losses[0]} → ${losses[1]}`);
  for (const p of Object.values(params)) {
    assert.ok(stiefel(32, 2).constraintViolation(p.U).item() < 1e-5); // Riemannian Adam kept U on St(32, 2)
    assert.ok(p.d.abs().max().item() > 0); // AdamW moved d
  }
  const dir = await Deno.makeTempDir({ prefix: "audit_peft_" });
  try {
    const saved = await savePeftAdapter(dir, peft, params);
    assert.equal(saved.config.peft_type, "SCALED_ROTATION");
    const back = await loadPeftAdapter(model, dir, { adapters: { SCALED_ROTATION: readScaledRotation } });
    const x = tensor(tokens, { dtype: "int32" });
    const want = peft.apply(params, x);
    same(back.apply(back.params, x), want);
    assert.ok(manifoldOf((back.params as Record<string, ScaledRotationParams>)[peft.paths[0]].U));
    const merged = model.apply(peft.merge(params), x);
    assert.ok(merged.sub(want).abs().max().item() < 1e-5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("study: a method of one's own (study/README.md) trains beside built-ins and gets its row", async () => {
  const mine: Method = {
    name: "srot",
    family: "orthogonal",
    label: "scaled rotation r=2",
    adapter: () => scaledRotation(2),
    optimizer: (lr) => scaledRotationOptimizer(lr),
    lr: 3e-2,
  };
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  const result = await runStudy({
    model: tinyModel(),
    task,
    methods: [...selectMethods("lora", 2), mine],
    target: "c_attn",
    steps: 4,
    batch: 8,
    heldOut: 16,
    keyByName: true,
  });
  const row = result.methods.find((m) => m.name === "srot")!;
  assert.equal(row.trainable, 2 * 16 + 2);
  assert.ok(row.losses.length === 4 && row.losses.every(Number.isFinite) && Number.isFinite(row.heldOutLoss));
  assert.ok(row.orthogonalityError < 1e-5); // U kept on St(16, 2)
  assert.match(studyTable(result, task.exact), /^srot +34 /m);
});
