/**
 * The optim namespace (issue 11, step 5): the optimizers are manifolds'; chain, clipByGlobalNorm,
 * masked, scaleByLearningRate, addDecayedWeights against hand-computed steps (optax's definitions);
 * a Euclidean optimizer on a manifold point warns once or throws with strict; landing with a
 * Euclidean base does not warn.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
const { optim, manifolds } = T;

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });
const near = (a: Tensor, b: number[], tol = 1e-12) =>
  a.dataSync().forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `element ${i}: ${v} vs ${b[i]}`));

Deno.test("optim: the optimizers are manifolds' (aliases)", () => {
  assert.equal(optim.sgd, manifolds.sgd);
  assert.equal(optim.adam, manifolds.adam);
  assert.equal(optim.adamw, manifolds.adamw);
  assert.equal(optim.riemannianAdam, manifolds.riemannianAdam);
  assert.equal(optim.landing, manifolds.landing);
  assert.equal(optim.warmupCosineSchedule, manifolds.warmupCosineSchedule);
});

Deno.test("clipByGlobalNorm, scaleByLearningRate, addDecayedWeights, chain, applyUpdates", () => {
  const clip = optim.clipByGlobalNorm(1);
  const g = { a: f64([3]), b: f64([4]) }; // ‖g‖ = 5
  const c = clip.update(g, clip.init(g), g).updates as typeof g;
  near(c.a, [0.6]);
  near(c.b, [0.8]);
  const small = clip.update({ a: f64([0.3]), b: f64([0.4]) }, {}, g).updates as typeof g;
  near(small.a, [0.3]); // below the threshold: unchanged
  const t = optim.chain(optim.addDecayedWeights(0.5), optim.clipByGlobalNorm(1), optim.scaleByLearningRate(0.1));
  const params = { w: f64([2, 0]) };
  let state = t.init(params);
  const r = t.update({ w: f64([0, 1]) }, state, params);
  state = r.state;
  // u = g + 0.5·w = [1, 1]; clipped to [1/√2, 1/√2]; times −0.1
  near((r.updates as { w: Tensor }).w, [-0.1 / Math.SQRT2, -0.1 / Math.SQRT2]);
  near(optim.applyUpdates(params, r.updates).w, [2 - 0.1 / Math.SQRT2, -0.1 / Math.SQRT2]);
  // a schedule reads the step count
  const s = optim.scaleByLearningRate((k: number) => 1 / (k + 1));
  let st = s.init({});
  for (const want of [-1, -0.5, -1 / 3]) {
    const out = s.update(f64([1]), st, {});
    st = out.state;
    near(out.updates as Tensor, [want]);
  }
});

Deno.test("chain(transformations…, optimizer) is an optimizer: clipped gradients into adamw / riemannianAdam", () => {
  const params = { w: f64([1, 2]) };
  const grads = { w: f64([30, 40]) };
  const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ lr: 0.1 }));
  const st = opt.init(params);
  near(opt.update(grads, st, params).params.w, [1 - 0.06, 2 - 0.08]);
  // on a manifold the last piece's retraction keeps the point on it
  const S = manifolds.sphere(3);
  const x = S.random(T.key(0));
  const ro = optim.chain(optim.clipByGlobalNorm(0.5), optim.riemannianAdam({ lr: 0.1 }));
  const y = ro.update(T.normal(T.key(1), [3]), ro.init(x), x).params;
  assert.ok(Math.abs(T.norm(y).item() - 1) < 1e-6);
  assert.throws(() => optim.chain(optim.sgd({ lr: 1 }) as never, optim.clipByGlobalNorm(1)), /only the last piece/);
});

Deno.test("masked: frozen subtrees keep their values and hold no state; transformations give them zero updates", () => {
  const params = { base: { w: f64([1, 1]), b: f64([5]) }, lora: { a: f64([1]), b: f64([2]) } };
  const grads = { base: { w: f64([1, 1]), b: f64([1]) }, lora: { a: f64([1]), b: f64([1]) } };
  const opt = optim.masked(optim.adam({ lr: 0.1 }), { base: false, lora: true });
  const st = opt.init(params);
  assert.equal(st.mu.length, 2, "state only for the trained leaves");
  const next = opt.update(grads, st, params).params;
  assert.equal(next.base.w, params.base.w);
  assert.equal(next.base.b, params.base.b);
  near(next.lora.a, [0.9], 1e-7);
  // a function mask
  const byFn = optim.masked(
    optim.sgd({ lr: 1 }),
    (_p: unknown) => ({ base: false, lora: { a: true, b: false } }) as unknown,
  );
  const n2 = byFn.update(grads, byFn.init(params), params).params;
  near(n2.lora.a, [0]);
  near(n2.lora.b, [2]);
  const mt = optim.masked(optim.scaleByLearningRate(1), { base: true, lora: false });
  const u = mt.update(grads, mt.init(params), params).updates as typeof grads;
  near(u.lora.a, [0]);
  near(u.base.w, [-1, -1]);
  assert.throws(() => optim.masked(optim.sgd({ lr: 1 }), { base: false }).init(params), /no entry for "lora"/);
});

Deno.test("a Euclidean optimizer on a manifold point warns once, throws with strict; landing's Euclidean base does not warn", () => {
  const S = manifolds.sphere(3);
  const x = S.random(T.key(2));
  const warnings: string[] = [];
  const orig = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const opt = optim.adamw({ lr: 0.1 });
    const st = opt.init(x);
    opt.update(T.onesLike(x), st, x);
    opt.update(T.onesLike(x), st, x);
    assert.equal(warnings.filter((w) => w.startsWith("adamw:")).length, 1, warnings.join("\n"));
    assert.match(warnings.find((w) => w.startsWith("adamw:"))!, /riemannianAdam/);
    assert.throws(() => optim.sgd({ lr: 0.1, strict: true }).init(x), T.ManifoldError);
    assert.throws(() => optim.adam({ strict: true }).init({ p: x }), /Sphere|sphere/);
    // the message names the leaf by its path in the parameter tree, not by its index among the leaves
    const tree = { "layer.0": { B: T.zeros([3]), u: x } };
    assert.throws(
      () => optim.adam({ strict: true }).init(tree),
      /adam: parameter layer\.0\.u \[3\] is a point of sphere/,
    );
    assert.throws(() => optim.sgd({ lr: 1, strict: true }).init([T.zeros([2]), x]), /parameter 1 \[3\]/);
    assert.throws(() => optim.sgd({ lr: 1, strict: true }).init(x), /sgd: parameter \[3\] is a point/);
    // landing hands its Euclidean base plain tensors
    const St = manifolds.stiefel(4, 2);
    const z = St.random(T.key(3));
    const land = optim.landing({ base: optim.adam({ lr: 0.01, strict: true }) });
    const out = land.update(T.normal(T.key(4), [4, 2]), land.init(z), z).params;
    assert.equal(T.manifolds.manifoldOf(out), St);
  } finally {
    console.warn = orig;
  }
});
