/**
 * The whole training step under `jit` (issue 11): an optimizer's state holds its step count as an
 * int32 scalar tensor, so `jit((params, state, batch) => …)` traces once and replays every later
 * step (the returned state is the next call's input with the same signature), bit for bit the
 * eager loop on the CPU, for adam, adamw, sgd with momentum, a scheduled rate, a chain with
 * gradient clipping, Riemannian optimizers on a Stiefel parameter and landing. A schedule written
 * on numbers still runs (eagerly: the count is read back), and its checks still fire.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import {
  add,
  astype,
  div,
  DomainError,
  jit,
  key,
  matmul,
  mean,
  normal,
  ShapeError,
  split,
  sqrt,
  square,
  sub,
  type Tensor,
  tensor,
  toBackend,
  treeLeaves,
  useBackend,
  valueAndGrad,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { jitGraphs } from "../autodiff/jit.ts";
import { stiefel } from "../manifolds/stiefel.ts";
import * as optim from "../optim/mod.ts";

/** Same elements, compared with Object.is (NaN equals NaN, 0 differs from −0). */
function identical(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
}

/** The step's trees (loss, params, state) are the same: structure, manifolds and every element. */
function sameTrees(a: unknown, b: unknown, what: string): void {
  const la = treeLeaves(a), lb = treeLeaves(b);
  assert.equal(la.length, lb.length, `${what}: number of leaves`);
  la.forEach((t, i) => {
    identical(t, lb[i], `${what}: leaf ${i}`);
    assert.equal((t as any).manifold, (lb[i] as any).manifold, `${what}: leaf ${i}'s manifold`);
  });
}

const STEPS = 5;
const [kw, kb] = split(key(11));
const St = stiefel(6, 3);
const plain = () => ({ w: normal(kw, [6, 3]), b: normal(kb, [3]) });
const onStiefel = () => ({ u: St.random(kw), b: normal(kb, [3]) });
const batches = Array.from({ length: STEPS }, (_, i) => {
  const [a, b] = split(key(100 + i));
  return { x: normal(a, [16, 6]), y: normal(b, [16, 3]) };
});
const lossOf = (p: any, batch: { x: Tensor; y: Tensor }) =>
  mean(square(sub(add(matmul(batch.x, p.u ?? p.w), p.b), batch.y)));

/** One training step: the loss and gradient, then the optimizer's update (or a transformation's, applied). */
function makeStep(opt: optim.Optimizer<any> | optim.GradientTransformation<any>) {
  return (params: any, state: any, batch: { x: Tensor; y: Tensor }) => {
    const [loss, g] = valueAndGrad((p: any) => lossOf(p, batch))(params);
    if ((opt as optim.GradientTransformation).kind === "transformation") {
      const r = (opt as optim.GradientTransformation).update(g, state, params);
      return { loss, params: optim.applyUpdates(params, r.updates), state: r.state };
    }
    const r = (opt as optim.Optimizer<any>).update(g, state, params);
    return { loss, params: r.params, state: r.state };
  };
}

/** Runs STEPS steps eagerly and jitted; returns the jitted function (for its trace count). */
function runBoth(opt: optim.Optimizer<any> | optim.GradientTransformation<any>, init: () => any, what: string) {
  const f = makeStep(opt);
  const step = jit(f);
  let pe = init(), se = opt.init(pe);
  let pj = init(), sj = opt.init(pj);
  for (let i = 0; i < STEPS; i++) {
    const e = f(pe, se, batches[i]);
    const j = step(pj, sj, batches[i]);
    sameTrees(j, e, `${what}, step ${i}`);
    ({ params: pe, state: se } = e);
    ({ params: pj, state: sj } = j);
  }
  return { step, state: sj };
}

const sched = optim.warmupCosineSchedule({
  initValue: 1e-3,
  peakValue: 5e-2,
  warmupSteps: 2,
  decaySteps: 4,
  endValue: 2e-3,
});

const CASES: [string, () => optim.Optimizer<any> | optim.GradientTransformation<any>, () => any][] = [
  ["adam", () => optim.adam({ lr: 1e-2 }), plain],
  ["adamw", () => optim.adamw({ lr: 1e-2, weightDecay: 0.1 }), plain],
  ["sgd with momentum", () => optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true }), plain],
  ["adam with a warmup-cosine schedule", () => optim.adam({ lr: sched }), plain],
  ["chain(clipByGlobalNorm, adamw)", () => optim.chain(optim.clipByGlobalNorm(0.5), optim.adamw({ lr: 1e-2 })), plain],
  [
    "chain(clipByGlobalNorm, scaleByLearningRate(schedule)) + applyUpdates",
    () => optim.chain(optim.clipByGlobalNorm(0.5), optim.scaleByLearningRate(sched)),
    plain,
  ],
  ["riemannianAdam on a Stiefel parameter", () => optim.riemannianAdam({ lr: 1e-2 }), onStiefel],
  ["riemannianSgd with stabilize: 2", () => optim.riemannianSgd({ lr: 0.05, momentum: 0.5, stabilize: 2 }), onStiefel],
  ["landing", () => optim.landing({ lr: 0.1 }), onStiefel],
  ["landing with a schedule, no safe step", () => optim.landing({ lr: sched, safeStep: false }), onStiefel],
  ["landing fed to adam (PoLAR)", () => optim.landing({ base: optim.adam({ lr: 1e-2 }) }), onStiefel],
];

for (const [what, make, init] of CASES) {
  Deno.test(`jit((params, state, batch) => step): ${what}: one trace for ${STEPS} steps, bit for bit eager`, () => {
    const { step, state } = runBoth(make(), init, what);
    const graphs = jitGraphs(step);
    assert.equal(graphs.length, 1, `${what}: ${graphs.length} traces`);
    assert.notEqual(graphs[0], "eager", `${what}: the trace read a value and runs eagerly`);
    // the count is an int32 scalar that counted every step
    const counts = treeLeaves(state).filter((t) => t.dtype === "int32");
    assert.ok(counts.length >= 1, `${what}: no int32 count in the state`);
    for (const c of counts) {
      assert.deepEqual(c.shape, []);
      assert.equal(c.item(), STEPS);
    }
  });
}

Deno.test("a float64 adam step under jit is bit for bit eager too (β^t in float64)", () => {
  const init = () => ({ w: normal(kw, [6, 3], { dtype: "float64" }), b: normal(kb, [3], { dtype: "float64" }) });
  const f64Batches = batches.map((b) => ({ x: astype(b.x, "float64"), y: astype(b.y, "float64") }));
  const opt = optim.adam({ lr: 1e-2, weightDecay: 0.01 });
  const f = makeStep(opt), step = jit(f);
  let pe = init(), se = opt.init(pe), pj = init(), sj = opt.init(pj);
  for (let i = 0; i < STEPS; i++) {
    const e = f(pe, se, f64Batches[i]), j = step(pj, sj, f64Batches[i]);
    sameTrees(j, e, `float64 adam, step ${i}`);
    ({ params: pe, state: se } = e);
    ({ params: pj, state: sj } = j);
  }
  assert.equal(jitGraphs(step).length, 1);
});

Deno.test("a schedule written on numbers still works: under jit the step runs as itself", () => {
  const opt = optim.sgd({ lr: (t: number) => 0.1 / (t + 1) });
  const { step } = runBoth(opt, plain, "a number schedule");
  assert.deepEqual(jitGraphs(step), ["eager"]);
  // a count made by hand (not by the optimizer) is read back
  const p = { w: tensor([1, 2]) };
  const { params } = opt.update({ w: tensor([1, 1]) }, { count: tensor(3, { dtype: "int32" }), momentum: [] }, p);
  assert.deepEqual(Array.from(params.w.dataSync()), [1, 2].map((w) => Math.fround(w - Math.fround(0.025))));
});

Deno.test("a tensor schedule traces once; its checks run at the trace", () => {
  const invSqrt = optim.tensorSchedule((t: Tensor) => div(1e-2, sqrt(add(astype(t, "float32"), 1))));
  const { step } = runBoth(optim.adam({ lr: invSqrt }), plain, "a tensor schedule");
  assert.equal(jitGraphs(step).length, 1);
  const bad = optim.tensorSchedule(() => tensor([0.1, 0.2]));
  const f = jit(makeStep(optim.sgd({ lr: bad })));
  const p = plain();
  assert.throws(() => f(p, optim.sgd({ lr: bad }).init(p), batches[0]), ShapeError);
  const ints = optim.tensorSchedule((t: Tensor) => t);
  assert.throws(() => optim.learningRateAt(ints, tensor(0, { dtype: "int32" })), /float scalar/);
});

Deno.test("a schedule's rate is still checked at every step eagerly, and under jit", () => {
  const opt = optim.sgd({ lr: (t: number) => (t < 2 ? 0.1 : NaN) });
  const p = plain();
  let s = opt.init(p);
  const eager = makeStep(opt), step = jit(makeStep(opt));
  let q = p, r = p;
  for (let i = 0; i < 2; i++) {
    ({ params: q, state: s } = eager(q, s, batches[i]));
  }
  assert.throws(
    () => eager(q, s, batches[2]),
    (e: Error) => e instanceof DomainError && /lr at step 2 is NaN/.test(e.message),
  );
  let sj = opt.init(p);
  for (let i = 0; i < 2; i++) ({ params: r, state: sj } = step(r, sj, batches[i]));
  assert.throws(() => step(r, sj, batches[2]), DomainError);
  // the built-in schedules check their options when made (every rate lies between their values)
  assert.throws(() => optim.warmupCosineSchedule({ peakValue: -1, decaySteps: 10 }), DomainError);
  assert.throws(() => optim.warmupCosineSchedule({ peakValue: 1, decaySteps: NaN }), DomainError);
  assert.throws(() => optim.constantSchedule(Infinity), DomainError);
});

Deno.test("the built-in schedules give the same numbers from a number and from the count tensor", () => {
  const lr = optim.warmupCosineSchedule({
    initValue: 0.01,
    peakValue: 1,
    warmupSteps: 10,
    decaySteps: 110,
    endValue: 0.1,
  });
  for (const t of [0, 1, 5, 9, 10, 11, 50, 109, 110, 111, 500]) {
    const c = tensor(t, { dtype: "int32" });
    assert.ok(Object.is(lr(c).item(), lr(t)), `step ${t}`);
    assert.equal(lr(c).dtype, "float64");
    assert.ok(Object.is(optim.learningRateAt(lr, c).item(), optim.learningRateAt(lr, t)), `learningRateAt, step ${t}`);
  }
  assert.equal(optim.constantSchedule(0.3)(tensor(7, { dtype: "int32" })).item(), 0.3);
});

const gpuOk = await webgpuAvailable();
await useBackend("cpu");

Deno.test({
  name: "webgpu: the jitted step traces once and follows the eager one; a schedule on numbers needs no read back",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const near = async (a: Tensor, b: Tensor, tol: number, what: string) => {
      const [x, y] = [await a.data(), await b.data()];
      x.forEach((v, i) =>
        assert.ok(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])), `${what}[${i}]: ${v} vs ${y[i]}`)
      );
    };
    const cpu = { p: plain(), b: batches };
    const gpu = {
      p: { w: await toBackend(cpu.p.w, "webgpu"), b: await toBackend(cpu.p.b, "webgpu") },
      b: await Promise.all(
        batches.map(async (b) => ({ x: await toBackend(b.x, "webgpu"), y: await toBackend(b.y, "webgpu") })),
      ),
    };
    await useBackend("webgpu");
    try {
      for (const lr of [sched, (t: number) => 0.01 / (t + 1)]) {
        const opt = optim.adam({ lr });
        const f = makeStep(opt), step = jit(f);
        let pj = gpu.p, sj = opt.init(pj), pe = gpu.p, se = opt.init(pe);
        assert.equal(sj.count.backend.name, "webgpu");
        for (let i = 0; i < STEPS; i++) {
          ({ params: pj, state: sj } = step(pj, sj, gpu.b[i]));
          ({ params: pe, state: se } = f(pe, se, gpu.b[i]));
        }
        const graphs = jitGraphs(step);
        assert.equal(graphs.length, 1);
        assert.equal(graphs[0] === "eager", typeof lr === "function" && !("tensorOps" in lr));
        await near(pj.w, pe.w, 1e-6, "jit vs eager");
        // against the CPU's float64 rates and bias corrections
        await useBackend("cpu");
        let pc = cpu.p, sc = opt.init(pc);
        for (let i = 0; i < STEPS; i++) ({ params: pc, state: sc } = f(pc, sc, cpu.b[i]));
        await useBackend("webgpu");
        await near(pj.w, pc.w, 1e-5, "webgpu vs cpu");
      }
    } finally {
      await useBackend("cpu");
    }
  },
});
