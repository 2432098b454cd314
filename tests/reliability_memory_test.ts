/**
 * Memory that must stay bounded (issue 14): tests of growth, not of speed. Values returned by
 * `grad`/`valueAndGrad`/`vjp` hold no trace, so a loop that keeps every loss does not keep every
 * step's intermediates. On WebGPU, a loop without `scope` that yields to the event loop stays
 * bounded (finalizers hand buffers back), and a synchronous one, which cannot, is told once to use
 * `scope`.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("reliability_memory_test: no WebGPU adapter; the WebGPU tests are skipped");

/** Bytes V8 holds for JavaScript objects and for typed arrays' backing stores. */
function heapBytes(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

Deno.test("grad, valueAndGrad, vjp: returned values and gradients carry no trace", () => {
  const x = T.tensor([1, 2, 3]);
  const f = (t: Tensor) => T.sum(T.mul(T.tanh(t), t));
  const [y, g] = T.valueAndGrad(f)(x);
  assert.equal(y._tr, undefined, "valueAndGrad's value");
  assert.equal(g._tr, undefined, "valueAndGrad's gradient");
  assert.equal(T.grad(f)(x)._tr, undefined, "grad's gradient");
  const [out, pullback] = T.vjp((t: Tensor) => ({ a: T.exp(t), b: [t] }), x);
  assert.equal(out.a._tr, undefined, "vjp's output");
  assert.equal(out.b[0]._tr, undefined, "vjp's output that is the input itself");
  assert.equal((pullback({ a: T.onesLike(x), b: [T.onesLike(x)] })[0] as Tensor)._tr, undefined, "vjp's cotangent");
  // inside an outer grad the value keeps its outer identity: gradients of gradients still work
  const outer = T.grad((t: Tensor) => {
    const [v, gi] = T.valueAndGrad(f)(t);
    return T.add(v, T.sum(gi));
  })(x);
  const h = 1e-3, base = x.dataSync();
  const num = (i: number) => {
    const at = (d: number) => {
      const v = Float32Array.from(base);
      v[i] += d;
      const t = T.tensor(v, { dtype: "float64" });
      const [fv, gv] = T.valueAndGrad(f)(t);
      return T.add(fv, T.sum(gv)).item();
    };
    return (at(h) - at(-h)) / (2 * h);
  };
  outer.dataSync().forEach((v: number, i: number) => assert.ok(Math.abs(v - num(i)) < 1e-3, `second order ${i}`));
});

Deno.test("valueAndGrad: 10,000 CPU steps keeping every loss stay bounded", () => {
  const [k1, k2, k3] = T.split(T.key(0), 3);
  const x = T.normal(k1, [32, 16]), y = T.normal(k2, [32, 1]);
  let p = { w1: T.mul(T.normal(k3, [16, 32]), 0.3), w2: T.zeros([32, 1]) };
  const loss = (q: typeof p) => T.mean(T.square(T.sub(T.matmul(T.tanh(T.matmul(x, q.w1)), q.w2), y)));
  const step = T.valueAndGrad(loss);
  const losses: Tensor[] = [];
  let before = 0;
  for (let i = 0; i < 10_000; i++) {
    const [l, g] = step(p);
    losses.push(l);
    p = T.treeMap((a: Tensor, b: Tensor) => T.sub(a, T.mul(b, 0.01)), p, g);
    if (i === 2000) before = heapBytes();
  }
  const grown = heapBytes() - before;
  // a kept scalar costs well under 1 KB; a kept trace of this MLP costs over 20 KB a step (177 MB here)
  assert.ok(grown < 40e6, `memory grew by ${(grown / 1e6).toFixed(1)} MB over 8,000 steps`);
  assert.ok(losses[losses.length - 1].item() < losses[0].item(), "the loop trains");
});

interface Params {
  w: Tensor;
  b: Tensor;
}

/** A linear regression on the default backend: its data, loss and one gradient step (no scope). */
function regression() {
  const [k1, k2] = T.split(T.key(7));
  const x = T.normal(k1, [16, 3]);
  const y = T.add(T.matmul(x, T.tensor([[1], [-2], [0.5]])), 0.5);
  const loss = (q: Params) => T.mean(T.square(T.sub(T.add(T.matmul(x, q.w), q.b), y)));
  const step = (q: Params): Params => {
    const g = T.grad(loss)(q);
    return { w: T.sub(q.w, T.mul(g.w, 0.1)), b: T.sub(q.b, T.mul(g.b, 0.1)) };
  };
  return { p: { w: T.mul(T.normal(k2, [3, 1]), 0.1), b: T.zeros([1]) } as Params, loss, step };
}

Deno.test({
  name: "webgpu: 1,000 steps without scope that await between steps stay bounded",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await T.useBackend("webgpu");
    try {
      let { p, loss, step } = regression();
      const first = (await loss(p).data())[0];
      const before = webgpuMemory().liveBuffers;
      let most = 0;
      for (let i = 0; i < 1000; i++) {
        p = step(p);
        if (i % 50 === 49) {
          await p.w.data(); // a read: the event loop turns and finalizers return unreachable buffers
          most = Math.max(most, webgpuMemory().liveBuffers - before);
        }
      }
      assert.ok((await loss(p).data())[0] < first * 1e-2, "the loop trains");
      // without any release every step keeps ~8.5 buffers: 8,500 after 1,000 steps
      assert.ok(most < 4000, `live buffers grew by up to ${most} over 1,000 steps`);
    } finally {
      await T.useBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu: a synchronous loop without scope is told once to use scope",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await T.useBackend("webgpu");
    const runtime = (T.getBackend() as WebGPUBackend).runtime;
    const saved = runtime.syncWarn;
    const warn = console.warn;
    const warnings: string[] = [];
    try {
      await T.zeros([1]).data(); // a fresh turn of the event loop: the growth count starts at 0
      runtime.syncWarn = { buffers: 2000, bytes: 2 ** 30 };
      console.warn = (m: string) => warnings.push(m);
      let { p, step } = regression();
      for (let i = 0; i < 1000; i++) p = step(p); // never yields: ~8,500 new buffers
      await p.w.data();
      for (let i = 0; i < 1000; i++) p = step(p); // a second loop: no second warning
      await p.w.data();
    } finally {
      console.warn = warn;
      runtime.syncWarn = saved;
      await T.useBackend("cpu");
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    for (const w of ["webgpu", "scope", "event loop", "await"]) assert.ok(warnings[0].includes(w), warnings[0]);
  },
});
