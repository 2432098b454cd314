/**
 * GPU memory stays flat over a 10,000-step training loop on the WebGPU backend: each step's
 * intermediates are released by its `scope`, and the pool hands the same buffers out again (no
 * new buffers after warm-up). No step waits for the GPU; one readback at the end checks that the
 * loop trained.
 *
 * The previous step's parameters are handed back with `scope(fn, { release })`, so the counts are
 * deterministic (garbage-collection callbacks never run inside a synchronous loop).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_memory_test: no WebGPU adapter; skipping");

interface Params {
  w: Tensor;
  b: Tensor;
}

Deno.test({
  name: "webgpu memory: 10,000 training steps in scopes keep live bytes and buffer count flat",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await T.useBackend("webgpu");
    try {
      const [k1, k2] = T.split(T.key(7));
      // y = x·w* + 0.5: a linear regression the loop must fit
      const x = T.normal(k1, [16, 3]);
      const wStar = T.tensor([[1], [-2], [0.5]]);
      const y = T.add(T.matmul(x, wStar), 0.5);
      let p: Params = { w: T.mul(T.normal(k2, [3, 1]), 0.1), b: T.zeros([1]) };
      const loss = (q: Params) => T.mean(T.square(T.sub(T.add(T.matmul(x, q.w), q.b), y)));
      const step = (q: Params): Params => {
        const g = T.grad(loss)(q);
        return { w: T.sub(q.w, T.mul(g.w, 0.1)), b: T.sub(q.b, T.mul(g.b, 0.1)) };
      };
      const first = await loss(p).data();
      const STEPS = 10_000;
      const live: number[] = [], created: number[] = [];
      for (let i = 0; i < STEPS; i++) {
        p = T.scope(() => step(p), { release: p });
        if (i % 100 === 99) {
          const m = webgpuMemory();
          live.push(m.liveBytes);
          created.push(m.createdBuffers);
        }
      }
      const last = await loss(p).data();
      assert.ok(last[0] < first[0] * 1e-3, `loss ${first[0]} → ${last[0]}`);
      const w = await p.w.data();
      assert.ok(Math.abs(w[0] - 1) < 1e-2 && Math.abs(w[1] + 2) < 1e-2, `w = ${w}`);
      // after the first 100 steps (warm-up) nothing grows
      assert.ok(live.every((v) => v === live[1]), `live bytes per chunk vary: ${[...new Set(live)]}`);
      assert.ok(created.every((v) => v === created[1]), `buffers created per chunk grow: ${[...new Set(created)]}`);
    } finally {
      await T.useBackend("cpu");
    }
  },
});

Deno.test({
  name:
    "webgpu memory: linalg.expm without a scope hands its ~60 intermediates back at once (a sync loop keeps only results)",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await T.useBackend("webgpu");
    try {
      const a = T.mul(T.normal(T.key(3), [8, 8]), 0.3);
      const results: Tensor[] = [];
      results.push(T.linalg.expm(a));
      const before = webgpuMemory().liveBuffers;
      // a synchronous loop: no garbage collector callback can run inside it
      for (let i = 0; i < 20; i++) results.push(T.linalg.expm(a));
      const grown = webgpuMemory().liveBuffers - before;
      // each call keeps its result and the status of its deferred checks, not its intermediates
      assert.ok(grown <= 20 * 4, `20 unscoped calls kept ${grown} buffers (before: ~58 a call)`);
      const want = await T.linalg.expm(await T.toBackend(a, "cpu")).data();
      const got = await results[20].data();
      assert.ok(got.every((v, j) => Math.abs(v - want[j]) < 1e-4 * (1 + Math.abs(want[j]))), `${got}`);
      // under grad the intermediates stay for the backward pass: the gradient is still right
      const g = await T.grad((x: Tensor) => T.sum(T.linalg.expm(x)))(a).data();
      const gw = await T.grad((x: Tensor) => T.sum(T.linalg.expm(x)))(await T.toBackend(a, "cpu")).data();
      assert.ok(g.every((v, j) => Math.abs(v - gw[j]) < 1e-3 * (1 + Math.abs(gw[j]))), `${g} vs ${gw}`);
    } finally {
      await T.useBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu memory: 20 calls of linalg.expm in scopes reuse the pool (no new buffers after the first calls)",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await T.useBackend("webgpu");
    try {
      // ‖A‖₁ ≈ 2.5: a few squarings, a Padé solve, the status fold; ~60 buffers per call
      const a = T.mul(T.normal(T.key(3), [8, 8]), 0.3);
      const want = await T.linalg.expm(await T.toBackend(a, "cpu")).data();
      let r: Tensor | undefined;
      const created: number[] = [], live: number[] = [];
      for (let i = 0; i < 20; i++) {
        r = T.scope(() => T.linalg.expm(a), { release: r });
        const got = await r.data();
        assert.ok(got.every((v, j) => Math.abs(v - want[j]) < 1e-4 * (1 + Math.abs(want[j]))), `call ${i}: ${got}`);
        const m = webgpuMemory();
        created.push(m.createdBuffers);
        live.push(m.liveBuffers);
      }
      // the first call creates its buffers (~60); uploads that may not reuse a buffer freed in the
      // open batch (eye, arange) add a few more over the next calls, then nothing grows
      const late = created.slice(10);
      assert.ok(late.every((v) => v === late[0]), `buffers created after calls 11–20 grow: ${late}`);
      assert.ok(created[19] - created[0] <= 8, `buffers created per call: ${created}`);
      // scope hands back every intermediate: live buffers never rise above the first call's
      // (garbage collection of tensors made before the loop may lower them)
      assert.ok(live.every((v) => v <= live[0]), `live buffers grow: ${live}`);
      console.log(`expm ×20 in scopes: buffers created ${created.join(",")}`);
    } finally {
      await T.useBackend("cpu");
    }
  },
});
