/**
 * The options a torch/geoopt user looks for: `amsgrad` (adam, adamw, riemannianAdam) and `dampening`
 * (sgd, riemannianSgd). Their Euclidean parity with torch over 30 float64 steps is in
 * tests/optim_parity_steps_test.ts; here riemannianAdam's amsgrad on a sphere against geoopt's
 * RiemannianAdam(amsgrad=True) written out in numbers, riemannianSgd's dampening likewise, the state
 * shapes, the errors, the fused path, and the documented difference from optax.amsgrad.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tensor, toBackend, useBackend } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { DomainError } from "../core/errors.ts";
import { fusedOnCpu, fusedTraceCount } from "../manifolds/optimizer.ts";
import { asPoint, sphere } from "../manifolds/mod.ts";
import * as optim from "../optim/mod.ts";

const ref = JSON.parse(readFileSync(new URL("./data/optim_reference.json", import.meta.url), "utf8"));
const f64 = (a: any) => tensor(a, { dtype: "float64" });
const N = 5, STEPS = 25;
const X0 = (() => {
  const x = [1, 2, -1, 0.5, -0.3], n = Math.hypot(...x);
  return x.map((v) => v / n);
})();
// large gradients first, then small ones, so the running maximum of v outlives v
const GRADS = Array.from(
  { length: STEPS },
  (_, k) => Array.from({ length: N }, (_, i) => (k < 5 ? 3 : 0.05) * Math.sin(1.3 * k + 0.7 * i + 0.4)),
);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const proj = (x: number[], u: number[]) => {
  const c = dot(x, u);
  return u.map((v, i) => v - c * x[i]);
};

/** geoopt's RiemannianAdam step on the sphere (retraction (x+v)/‖x+v‖, transport by projection). */
function adamReference(o: { lr: number; b1: number; b2: number; eps: number; amsgrad: boolean }): number[][] {
  let x = X0, m = new Array(N).fill(0), v = 0, vmax = 0;
  const out: number[][] = [];
  GRADS.forEach((eg, k) => {
    const t = k + 1, g = proj(x, eg);
    m = m.map((mi, i) => o.b1 * mi + (1 - o.b1) * g[i]);
    v = o.b2 * v + (1 - o.b2) * dot(g, g);
    vmax = Math.max(vmax, v);
    const denom = Math.sqrt((o.amsgrad ? vmax : v) / (1 - o.b2 ** t)) + o.eps;
    const y0 = x.map((xi, i) => xi - o.lr * (m[i] / (1 - o.b1 ** t)) / denom), n = Math.hypot(...y0);
    x = y0.map((yi) => yi / n);
    m = proj(x, m);
    out.push(x);
  });
  return out;
}

/** torch.optim.SGD's dampened momentum on the sphere: b₁ = g, then b ← μ·T(b) + (1 − τ)g. */
function sgdReference(lr: number, mu: number, damp: number): number[][] {
  let x = X0, b: number[] | undefined;
  const out: number[][] = [];
  GRADS.forEach((eg) => {
    const g = proj(x, eg);
    b = b === undefined ? g : b.map((bi, i) => mu * bi + (1 - damp) * g[i]);
    const y0 = x.map((xi, i) => xi - lr * b![i]), n = Math.hypot(...y0);
    x = y0.map((yi) => yi / n);
    b = proj(x, b);
    out.push(x);
  });
  return out;
}

function runOnSphere(opt: optim.Optimizer<any>): number[][] {
  const S = sphere(N);
  let x: any = asPoint(f64(X0), S);
  let state = opt.init(x);
  const out: number[][] = [];
  for (const g of GRADS) {
    ({ params: x, state } = opt.update(f64(g), state, x));
    out.push([...x.dataSync()] as number[]);
  }
  return out;
}

/** As `runOnSphere` in float32 on WebGPU. */
async function runOnSphereGpu(opt: optim.Optimizer<any>): Promise<number[][]> {
  const f32 = (a: number[]) => toBackend(tensor(a, { dtype: "float32" }), "webgpu");
  let x: any = asPoint(await f32(X0), sphere(N));
  let state = opt.init(x);
  const out: number[][] = [];
  for (const g of GRADS) {
    ({ params: x, state } = opt.update(await f32(g), state, x));
    assert.equal(x.backend.name, "webgpu");
    out.push([...await x.data()] as number[]);
  }
  return out;
}

const maxDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, k) => row.map((v, i) => Number.isNaN(v) ? Infinity : Math.abs(v - b[k][i]))));

const ADAM = { lr: 0.05, b1: 0.9, b2: 0.99, eps: 1e-8 };

Deno.test("riemannianAdam amsgrad on a sphere follows RiemannianAdam(amsgrad=True) to 1e-12", () => {
  const want = adamReference({ ...ADAM, amsgrad: true });
  const d = maxDiff(runOnSphere(optim.riemannianAdam({ ...ADAM, amsgrad: true })), want);
  assert.ok(d <= 1e-12, `amsgrad: ${d}`);
  // the maximum matters on this sequence: plain Adam is another trajectory, and follows its own formula
  const plain = runOnSphere(optim.riemannianAdam(ADAM));
  assert.ok(maxDiff(plain, want) > 1e-4, `amsgrad changed nothing: ${maxDiff(plain, want)}`);
  assert.ok(maxDiff(plain, adamReference({ ...ADAM, amsgrad: false })) <= 1e-12);
});

Deno.test("riemannianSgd dampening on a sphere: the first buffer is g, then μ·T(b) + (1 − τ)g, to 1e-12", () => {
  for (const damp of [0.1, 0.5]) {
    const got = runOnSphere(optim.riemannianSgd({ lr: 0.1, momentum: 0.9, dampening: damp }));
    const d = maxDiff(got, sgdReference(0.1, 0.9, damp));
    assert.ok(d <= 1e-12, `dampening ${damp}: ${d}`);
    assert.ok(maxDiff(got, sgdReference(0.1, 0.9, 0)) > 1e-3, `dampening ${damp} changed nothing`);
  }
});

Deno.test("amsgrad adds state.vmax (shaped as nu) and only then; dampening keeps sgd's state", () => {
  const p = { a: f64([[1, 2], [3, 4]]), b: f64([5]) };
  const plain = optim.adam().init(p);
  assert.deepEqual(Object.keys(plain).sort(), ["count", "mu", "nu"]);
  const s = optim.adamw({ amsgrad: true }).init(p);
  assert.deepEqual(s.vmax!.map((t) => t.shape), s.nu.map((t) => t.shape));
  const S = sphere(3);
  const r = optim.riemannianAdam({ amsgrad: true }).init(asPoint(f64([1, 0, 0]), S));
  assert.deepEqual(r.vmax!.map((t) => t.shape), r.nu.map((t) => t.shape));
  assert.deepEqual(Object.keys(optim.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.2 }).init(p)).sort(), [
    "count",
    "momentum",
  ]);
});

Deno.test("amsgrad and dampening steps trace once for the fused CPU path (no value read, no retrace)", () => {
  // the optimizers' own fused update is internal; the same jit wrapper around their update shows the
  // step traces (a read of the count's value would run it as it is: 0 traces) and replays one trace
  for (const opt of [optim.adam({ amsgrad: true }), optim.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.3 })]) {
    const update = fusedOnCpu((g, s, p) => (opt as optim.Optimizer<any>).update(g, s, p));
    let p: any = { w: f64([1, 2, 3]) };
    let s: any = (opt as any).init(p);
    for (let k = 0; k < 3; k++) ({ params: p, state: s } = update({ w: f64([0.1, -k, 2]) }, s, p));
    assert.equal(fusedTraceCount(update), 1);
    assert.equal(s.count.item(), 3);
  }
});

Deno.test("option errors name the optimizer and the fix", () => {
  assert.throws(
    () => optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true, dampening: 0.1 }),
    (e: any) => e instanceof DomainError && /sgd: nesterov needs dampening = 0/.test(e.message),
  );
  assert.throws(
    () => optim.riemannianSgd({ lr: 0.1, momentum: 0.9, nesterov: true, dampening: 0.5 }),
    (e: any) => e instanceof DomainError && /riemannianSgd: nesterov/.test(e.message),
  );
  for (const dampening of [-0.1, 1.5, NaN]) {
    assert.throws(() => optim.sgd({ lr: 0.1, momentum: 0.9, dampening }), /sgd: dampening/);
  }
  assert.throws(() => optim.adam({ amsgrad: "yes" as any }), /adam: amsgrad = yes must be true or false/);
  // a state made without amsgrad given to an amsgrad optimizer
  const p = { w: f64([1, 2]) };
  assert.throws(
    () => optim.adam({ amsgrad: true }).update({ w: f64([1, 1]) }, optim.adam().init(p), p),
    (e: any) => e instanceof DomainError && /adam: amsgrad needs the state's vmax/.test(e.message),
  );
});

Deno.test("optax.amsgrad is another algorithm (maximum of the bias-corrected moment): documented", () => {
  const c = ref.cases.find((c: any) => c.name === "adam amsgrad");
  const ox = ref.optaxAmsgrad.iterates;
  const d = Math.max(...c.iterates.flatMap((row: number[], k: number) => row.map((v, i) => Math.abs(v - ox[k][i]))));
  assert.ok(d > 1e-3, `torch's and optax's amsgrad agree to ${d}`);
});

const gpuOk = await webgpuAvailable();
await useBackend("cpu");

Deno.test({
  name: "webgpu (float32): riemannianAdam amsgrad and riemannianSgd dampening on a sphere",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await useBackend("webgpu");
    try {
      const a = await runOnSphereGpu(optim.riemannianAdam({ ...ADAM, amsgrad: true }));
      const da = maxDiff(a, adamReference({ ...ADAM, amsgrad: true }));
      const s = await runOnSphereGpu(optim.riemannianSgd({ lr: 0.1, momentum: 0.9, dampening: 0.5 }));
      const ds = maxDiff(s, sgdReference(0.1, 0.9, 0.5));
      assert.ok(da <= 1e-5 && ds <= 1e-5, `amsgrad ${da}, dampening ${ds}`);
    } finally {
      await useBackend("cpu");
    }
  },
});
