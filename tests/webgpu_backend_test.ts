/**
 * The WebGPU backend as a backend: the error where WebGPU is absent, switching the default
 * backend, moving tensors, dtype errors, asynchronous reads, scope release, and elementwise
 * fusion (long chains, many inputs, reshapes, released lazy results, fusion off = fusion on).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { BackendError, DTypeError, type Tensor } from "../mod.ts";
import { requestWebGPUDevice } from "../core/backend/webgpu/device.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";

const opt = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "webgpu absent: a BackendError that names the cpu backend",
  ...opt,
  async fn() {
    const nav = globalThis.navigator as unknown as Record<string, unknown>;
    const saved = Object.getOwnPropertyDescriptor(nav, "gpu");
    try {
      Object.defineProperty(nav, "gpu", { value: undefined, configurable: true });
      await assert.rejects(requestWebGPUDevice(), (e: Error) => {
        assert.ok(e instanceof BackendError);
        assert.match(e.message, /WebGPU is not available: navigator\.gpu is undefined; use the cpu backend/);
        return true;
      });
      Object.defineProperty(nav, "gpu", { value: { requestAdapter: () => Promise.resolve(null) }, configurable: true });
      await assert.rejects(requestWebGPUDevice(), /WebGPU is not available: no adapter .*use the cpu backend/);
    } finally {
      if (saved) Object.defineProperty(nav, "gpu", saved);
      else delete nav.gpu;
    }
  },
});

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_backend_test: no WebGPU adapter; skipping");
const gopt = { ...opt, ignore: !gpuOk };

async function onGpu<R>(f: () => R | Promise<R>): Promise<R> {
  await T.useBackend("webgpu");
  try {
    return await f();
  } finally {
    await T.useBackend("cpu");
  }
}

Deno.test({
  name: "webgpu: useBackend sets the default, toBackend moves both ways, reads are async",
  ...gopt,
  async fn() {
    const x = await onGpu(() => T.tensor([[1, 2], [3, 4]]));
    assert.equal(x.backend.name, "webgpu");
    assert.equal(T.getBackend().name, "cpu");
    assert.deepEqual(await x.array(), [[1, 2], [3, 4]]);
    assert.throws(() => x.dataSync(), BackendError);
    assert.match(x.toString(), /shape=\[2,2\]/);
    const c = await T.toBackend(T.mul(x, 2), "cpu");
    assert.equal(c.backend.name, "cpu");
    assert.deepEqual(c.arraySync(), [[2, 4], [6, 8]]);
    const back = await T.toBackend(T.tensor([true, false]), "webgpu");
    assert.deepEqual(await back.array(), [true, false]);
    assert.deepEqual(Array.from(await (await T.toBackend(T.arange(4), "webgpu")).data()), [0, 1, 2, 3]);
    // named by the public op, with each input's shape and backend
    assert.throws(
      () => T.add(x, T.ones([2, 2])),
      /^BackendError: add: inputs live on different backends \(\[2, 2\] on webgpu, \[2, 2\] on cpu\); move them/,
    );
    assert.throws(() => T.take(x, T.tensor([0], { dtype: "int32" }), 0), /^BackendError: take: inputs live on/);
    assert.throws(() => T.stack([x, T.ones([2, 2])]), /^BackendError: concat: inputs live on/);
    await assert.rejects(() => T.useBackend("tpu"), /unknown backend "tpu"; known: cpu, webgpu$/);
  },
});

Deno.test({
  name: "webgpu: float64 is refused with a DTypeError naming the cpu backend",
  ...gopt,
  async fn() {
    await onGpu(() => {
      assert.throws(() => T.tensor([1, 2], { dtype: "float64" }), (e: Error) => {
        assert.ok(e instanceof DTypeError);
        assert.match(e.message, /float64 is not supported on the webgpu backend.*cpu backend/);
        return true;
      });
      assert.throws(() => T.astype(T.ones([2]), "float64"), DTypeError);
      assert.throws(() => T.normal(T.key(0), [2], { dtype: "float64" }), DTypeError);
    });
    await assert.rejects(T.toBackend(T.tensor([1], { dtype: "float64" }), "webgpu"), DTypeError);
  },
});

Deno.test({
  name: "webgpu: scope releases intermediates (buffers return to the pool) and kept results survive",
  ...gopt,
  async fn() {
    await onGpu(async () => {
      const x = T.normal(T.key(1), [32, 32]); // small: tiled matmul kernels compile slowly on llvmpipe
      await x.data();
      const before = webgpuMemory().liveBytes;
      const y = T.scope(() => T.sum(T.matmul(T.exp(x), x), { axis: 0 }));
      const during = webgpuMemory().liveBytes;
      assert.ok(during <= before + 1024, `live ${before} → ${during}`);
      assert.equal((await y.data()).length, 32);
      const z = T.scope(() => T.reshape(x, [1024]));
      assert.equal((await z.data()).length, 1024);
      assert.equal((await x.data()).length, 1024); // the scope never frees its inputs
    });
  },
});

Deno.test({
  name: "webgpu fusion: long chains, many inputs, reshapes, broadcasts, and fusion off agree",
  ...gopt,
  async fn() {
    const gpu = (await onGpu(() => T.getBackend())) as WebGPUBackend;
    const run = async (fusion: boolean) => {
      gpu.fusion = fusion;
      try {
        return await onGpu(() => {
          const ks = T.split(T.key(5), 14);
          const xs = ks.map((k) => T.uniform(k, [3, 5], { min: -1, max: 1 }));
          // 14 inputs: more buffers than one kernel binds
          let s: Tensor = xs[0];
          for (const x of xs.slice(1)) s = T.add(s, T.mul(x, 0.5));
          // 60 ops on one input: more ops than one kernel holds
          let c: Tensor = xs[0];
          for (let i = 0; i < 60; i++) c = T.add(T.mul(c, 0.9), 0.01);
          const r = T.reshape(T.exp(xs[1]), [5, 3]); // reshape of a lazy result
          const b = T.mul(T.reshape(T.sum(xs[2], { axis: 1 }), [3, 1]), xs[3]); // broadcast of a reduction
          const folded = T.add(T.div(T.full([2], 1), 3), T.exp(T.full([], 1)));
          const sq = T.square(T.sub(xs[4], xs[5])); // one input used twice
          const dead = T.scope(() => {
            T.exp(xs[6]); // released unread: never runs
            return T.neg(xs[7]);
          });
          return Promise.all([s, c, r, b, folded, sq, dead].map((t) => t.data()));
        });
      } finally {
        gpu.fusion = true;
      }
    };
    const [on, off] = [await run(true), await run(false)];
    on.forEach((a, i) => {
      for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - off[i][j]) <= 1e-6 * (1 + Math.abs(off[i][j])));
    });
    assert.ok(Math.abs(on[4][0] - (1 / 3 + Math.E)) < 1e-6);
  },
});

Deno.test({
  name: "webgpu fusion: the widest kernels (strided leaves and constants at their limits) fit their uniform block",
  ...gopt,
  async fn() {
    // 11 broadcast (strided) leaves and 19 constants: past the limits of one kernel, on both backends
    const f = (xs: Tensor[]) => {
      let s: Tensor = T.zeros([3, 2, 10, 2]);
      xs.forEach((x, i) => (s = T.add(s, T.mul(x, i + 0.5))));
      for (let c = 0; c < 7; c++) s = T.add(s, c + 0.25);
      return s;
    };
    const xs = Array.from({ length: 11 }, (_, i) => T.uniform(T.key(i), i % 2 ? [3, 1, 10, 1] : [1, 2, 10, 1]));
    const want = f(xs).dataSync();
    const gx = await Promise.all(xs.map((x) => T.toBackend(x, "webgpu")));
    const got = await onGpu(() => f(gx).data());
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5);
  },
});
