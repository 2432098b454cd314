/**
 * Regressions found by the WebGPU audit (a new user comparing every WebGPU result with the CPU
 * backend's): each case gave another number, or another error, on WebGPU than on the CPU. Runs on
 * whatever adapter is present (llvmpipe in CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_audit_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

const gpu = (t: Tensor) => T.toBackend(t, "webgpu");

Deno.test({
  name: "webgpu audit: pow at −∞ and −0 follows Math.pow as the cpu does (pow(−∞, 0.5) was NaN, pow(−0, 3) +0)",
  ...opt,
  fn: async () => {
    const xs = [-Infinity, Infinity, -0, 0, -2, 2, -1, 1, NaN];
    const ys = [0.5, -0.5, 2.5, -2.5, 3, -3, 2, 1, 0, Infinity, -Infinity, NaN, 0.3];
    const X: number[] = [], Y: number[] = [];
    for (const x of xs) for (const y of ys) X.push(x), Y.push(y);
    const want = T.pow(T.tensor(X), T.tensor(Y)).dataSync();
    const got = await T.pow(await gpu(T.tensor(X)), await gpu(T.tensor(Y))).data();
    for (let i = 0; i < X.length; i++) {
      const ok = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= 2e-6 * Math.abs(want[i]);
      assert.ok(ok, `pow(${X[i]}, ${Y[i]}): webgpu ${got[i]}, cpu ${want[i]} (Math.pow ${Math.pow(X[i], Y[i])})`);
    }
  },
});
