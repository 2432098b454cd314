/**
 * float16 on WebGPU (llvmpipe in CI, which has no `shader-f16`): packed pairs in u32 buffers, read
 * with `unpack2x16float`, rounded to nearest even on store. Uploads and reads keep every bit pattern,
 * casts equal `Math.f16round`, layout ops move halves exactly, elementwise ops and reductions equal
 * the CPU's float16 results (to one float16 ulp where the GPU's f32 math may round differently),
 * products with a float16 weight equal the float32 product of the widened weight, gradients flow,
 * and a float16 tensor takes half the bytes of a float32 one.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_float16_test: no WebGPU adapter; skipping");
const gopt = { sanitizeOps: false, sanitizeResources: false, ignore: !gpuOk };

async function onGpu<R>(f: () => R | Promise<R>): Promise<R> {
  await T.useBackend("webgpu");
  try {
    return await f();
  } finally {
    await T.useBackend("cpu");
  }
}

const sameNumber = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** One float16 ulp at `v`. */
const ulp16 = (v: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v) || 2 ** -24)), -14) - 10);

function assertWithinUlps(got: ArrayLike<number>, want: ArrayLike<number>, ulps: number, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    if (sameNumber(got[i], want[i])) continue;
    assert.ok(
      ulps > 0 && Math.abs(got[i] - want[i]) <= ulps * ulp16(want[i]),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

function allHalves(n = 65536): Float16Array {
  const bits = new Uint16Array(n);
  for (let i = 0; i < n; i++) bits[i] = i;
  return new Float16Array(bits.buffer);
}

Deno.test({
  name: "webgpu float16: uploads and reads keep every bit pattern (odd lengths too); casts to float32 are exact",
  ...gopt,
  async fn() {
    await onGpu(async () => {
      for (const n of [65536, 65535, 3, 1]) {
        const h = allHalves(n);
        const t = T.tensor(h);
        assert.equal(t.dtype, "float16");
        const back = await t.data();
        assert.ok(back instanceof Float16Array);
        const wide = await T.astype(t, "float32").data();
        const rt = await T.astype(T.astype(t, "float32"), "float16").data();
        for (let i = 0; i < n; i++) {
          assert.ok(sameNumber(back[i], h[i]), `read 0x${i.toString(16)}`);
          assert.ok(sameNumber(wide[i], h[i]), `widen 0x${i.toString(16)}: ${wide[i]}`);
          assert.ok(sameNumber(rt[i], h[i]), `round trip 0x${i.toString(16)}: ${rt[i]}`);
        }
      }
    });
  },
});

Deno.test({
  name:
    "webgpu float16: float32 → float16 rounds to nearest even, bit for bit Math.f16round (ties, overflow, subnormals)",
  ...gopt,
  async fn() {
    const v: number[] = [0, -0, NaN, Infinity, -Infinity, 65504, 65519.99, 65520, -65520, 1e6, 2 ** -24, 2 ** -25];
    v.push(3 * 2 ** -26, 2 ** -26, 1e-7, -3e-6);
    for (const e of [-24, -20, -15, -14, -1, 0, 1, 10, 15]) {
      for (const k of [0, 1, 2, 3, 1023]) {
        const u = 2 ** (Math.max(e, -14) - 10), base = 2 ** e + k * u;
        v.push(base + u / 2, base - u / 2, base + u / 2 + u / 1024, -(base + u / 2));
      }
    }
    let s = 99;
    for (let i = 0; i < 4000; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      v.push((s / 2 ** 31 - 0.5) * 2 ** ((i % 44) - 28));
    }
    const x32 = Float32Array.from(v);
    const got = await onGpu(() => T.astype(T.tensor(x32), "float16").data());
    x32.forEach((x, i) =>
      assert.ok(sameNumber(got[i], Math.f16round(x)), `${x} → ${got[i]}, want ${Math.f16round(x)}`)
    );
    // to and from int32 and bool
    const [toInt, toBool, fromInt] = await onGpu(async () => {
      const h = T.tensor([-2.5, -0.5, 0, 0.75, 3.99], { dtype: "float16" });
      return [
        await T.astype(h, "int32").data(),
        await T.astype(h, "bool").data(),
        await T.astype(T.tensor([3, -7, 4097], { dtype: "int32" }), "float16").data(),
      ];
    });
    assert.deepEqual([...toInt], [-2, 0, 0, 0, 3]);
    assert.deepEqual([...toBool], [1, 1, 0, 1, 1]);
    assert.deepEqual([...fromInt], [3, -7, 4096]);
  },
});

Deno.test({
  name: "webgpu float16: layout ops, elementwise ops and reductions equal the CPU's float16 results",
  ...gopt,
  async fn() {
    const a = T.astype(T.normal(T.key(1), [16, 33]), "float16");
    const b = T.astype(T.normal(T.key(2), [16, 33]), "float16");
    const row = T.astype(T.normal(T.key(3), [33]), "float16");
    const ids = T.tensor([3, 0, 15, 3], { dtype: "int32" });
    const cases: [string, (a: Tensor, b: Tensor, row: Tensor, ids: Tensor) => Tensor, number][] = [
      ["transpose", (a) => T.transpose(a), 0],
      ["slice", (a) => T.slice(a, [[1, 9], [2, 30]]), 0],
      ["take", (a, _b, _r, ids) => T.take(a, ids, 0), 0],
      [
        "take (even rows: packed words moved as they are)",
        (a, _b, _r, ids) => T.take(T.slice(a, [null, [0, 32]]), ids, 0),
        0,
      ],
      ["take (columns)", (a, _b, _r, ids) => T.take(a, ids, 1), 0],
      [
        "take (3-d, even rows)",
        (a) =>
          T.take(T.reshape(T.slice(a, [null, [0, 32]]), [4, 4, 32]), T.tensor([3, 0, -1, 2], { dtype: "int32" }), 1),
        0,
      ],
      ["concat", (a, b) => T.concat([a, b], 0), 0],
      ["reshape", (a) => T.reshape(a, [33, 16]), 0],
      ["add", (a, b) => T.add(a, b), 0],
      ["sub (row)", (a, _b, row) => T.sub(a, row), 0],
      ["mul", (a, b) => T.mul(a, b), 0],
      ["mul by a number", (a) => T.mul(a, 0.3), 0],
      ["div", (a, b) => T.div(a, T.add(T.abs(b), 0.5)), 1],
      ["exp", (a) => T.exp(a), 1],
      ["tanh", (a) => T.tanh(a), 1],
      ["where", (a, b) => T.where(T.greater(a, b), a, b), 0],
      ["sum", (a) => T.sum(a, { axis: 1 }), 1],
      ["mean", (a) => T.mean(a, { axis: 0 }), 1],
      ["max", (a) => T.max(a, { axis: 1 }), 0],
      ["softmax", (a) => T.softmax(a), 1],
    ];
    for (const [name, f, ulps] of cases) {
      const want = f(a, b, row, ids);
      assert.equal(want.dtype, "float16", name);
      const got = await onGpu(async () => {
        const [ga, gb, gr, gi] = await Promise.all([a, b, row, ids].map((t) => T.toBackend(t, "webgpu")));
        const r = f(ga, gb, gr, gi);
        assert.equal(r.dtype, "float16", name);
        return await r.data();
      });
      assertWithinUlps(got, want.dataSync(), ulps, name);
    }
  },
});

Deno.test({
  name: "webgpu float16: x·Wᵀ with W float16 equals the float32 product of the widened W; gradients flow",
  ...gopt,
  async fn() {
    await onGpu(async () => {
      for (const [m, k, n] of [[3, 8, 5], [64, 96, 80]]) {
        const x = T.normal(T.key(m), [m, k]);
        const W = T.astype(T.normal(T.key(n), [n, k]), "float16");
        const Ww = T.astype(W, "float32");
        const y = T.matmulT(x, W, false, true);
        assert.equal(y.dtype, "float32");
        assert.deepEqual(await y.data(), await T.matmulT(x, Ww, false, true).data());
        assert.deepEqual(await T.matmul(x, W.mT).data(), await T.matmul(x, Ww.mT).data());
        // float16 · float16 → float16: the float32 product rounded once
        const xh = T.astype(x, "float16");
        const yh = T.matmulT(xh, W, false, true);
        assert.equal(yh.dtype, "float16");
        const ref = await T.matmulT(T.astype(xh, "float32"), Ww, false, true).data();
        assertWithinUlps(await yh.data(), Float32Array.from(ref, (v) => Math.f16round(v)), 0, `[${m},${k},${n}]`);
      }
      const x = T.normal(T.key(7), [6, 12]);
      const W = T.astype(T.normal(T.key(8), [10, 12]), "float16");
      const loss = (x: Tensor, W: Tensor) => T.sum(T.tanh(T.matmulT(x, W, false, true)));
      const dW = T.grad((w: Tensor) => loss(x, w))(W);
      assert.equal(dW.dtype, "float16");
      const dW32 = await T.grad((w: Tensor) => loss(x, w))(T.astype(W, "float32")).data();
      assertWithinUlps(await dW.data(), Float32Array.from(dW32, (v) => Math.f16round(v)), 0, "dW");
      const dx = T.grad((xx: Tensor) => loss(xx, W))(x);
      assert.equal(dx.dtype, "float32");
      assert.deepEqual(await dx.data(), await T.grad((xx: Tensor) => loss(xx, T.astype(W, "float32")))(x).data());
    });
  },
});

Deno.test({
  name: "webgpu float16: x·Wᵀ widens a float16 W into a temporary released at once (no float32 copy stays alive)",
  ...gopt,
  async fn() {
    await onGpu(async () => {
      const W = T.astype(T.normal(T.key(1), [1024, 512]), "float16"); // 1 MiB; 2 MiB widened
      const x = T.normal(T.key(2), [4, 512]);
      await W.data();
      const before = webgpuMemory().liveBytes;
      const y = T.matmulT(x, W, false, true);
      const grown = webgpuMemory().liveBytes - before;
      assert.ok(grown < 1 << 20, `live bytes grew by ${grown}: the widened weight stayed alive`);
      assert.deepEqual(await y.data(), await T.matmulT(x, T.astype(W, "float32"), false, true).data());
      // an embedding lookup moves the packed rows: no widened copy of the table at all
      const ids = T.tensor([5, 1023, 0], { dtype: "int32" });
      await ids.data();
      const runtime = (T.getBackend() as WebGPUBackend).runtime;
      // a float16 bias beside float32 activations: read packed inside the fused add (one kernel, not two)
      const bias = T.astype(T.normal(T.key(3), [512]), "float16");
      const x2 = T.normal(T.key(4), [4, 512]);
      await Promise.all([bias.data(), x2.data()]);
      const before2 = runtime.dispatched;
      const sum = T.add(x2, bias);
      assert.equal(sum.dtype, "float32");
      const got = await sum.data();
      assert.equal(runtime.dispatched - before2, 1);
      const [xc, bc] = [await T.toBackend(x2, "cpu"), await T.toBackend(bias, "cpu")];
      assert.deepEqual(got, T.add(xc, bc).dataSync());
      const dispatched = runtime.dispatched;
      const rows = T.take(W, ids, 0);
      // the gather and its index checks (3), not widen, gather and round (8)
      assert.ok(runtime.dispatched - dispatched <= 3, `${runtime.dispatched - dispatched} kernels`);
      const want = T.take(await T.toBackend(W, "cpu"), await T.toBackend(ids, "cpu"), 0).dataSync();
      assert.deepEqual(await rows.data(), want);
    });
  },
});

Deno.test({
  name: "webgpu float16: a float16 tensor's buffer takes half the bytes of a float32 one",
  ...gopt,
  async fn() {
    await onGpu(async () => {
      const n = 1 << 20;
      const host = new Float16Array(n).fill(1.5);
      const before = webgpuMemory().liveBytes;
      const h = T.tensor(host);
      const mid = webgpuMemory().liveBytes;
      const f = T.tensor(new Float32Array(n).fill(1.5));
      const after = webgpuMemory().liveBytes;
      assert.equal(mid - before, 2 * n);
      assert.equal(after - mid, 4 * n);
      assert.equal((await h.data())[n - 1], 1.5);
      assert.equal((await f.data())[0], 1.5);
    });
  },
});
