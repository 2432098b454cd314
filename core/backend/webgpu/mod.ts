/**
 * The WebGPU backend. Importing this module registers a factory, so `await useBackend("webgpu")`
 * creates the device on first use (throwing a BackendError that names the fix where WebGPU or an
 * adapter is absent). Every core primitive has a WGSL kernel with the CPU backend's semantics
 * (float32, int32 and bool; float16 stored as packed pairs in u32 words and computed in f32, see
 * half.ts; float64 is CPU-only). Kernels are encoded into one command encoder
 * and submitted without waiting; only reads (`await t.data()`) wait.
 *
 * @example
 * ```ts
 * import { useBackend, normal, key, matmul, toBackend } from "@tangent/tangent";
 * import "./mod.ts";
 * try {
 *   await useBackend("webgpu");
 *   const x = normal(key(0), [64, 64]);
 *   const y = await matmul(x, x).data(); // one wait, here
 *   await useBackend("cpu");
 * } catch {
 *   // no WebGPU here: stay on the cpu backend
 * }
 * ```
 * @module
 */
import { loadBackend, registerBackendFactory } from "../backend.ts";
import { BackendError } from "../../errors.ts";
import { WebGPUBackend } from "./backend.ts";
import { requestWebGPUDevice } from "./device.ts";
import { registerElementwise } from "./elementwise.ts";
import { registerFloat16 } from "./half.ts";
import { registerLayout } from "./layout.ts";
import { registerLinalg } from "./linalg.ts";
import { failureLog } from "./linalg_status.ts";
import { registerMatmul } from "./matmul.ts";
import { registerRandom } from "./random.ts";
import { registerReduce } from "./reduce.ts";
import { registerSoftmax } from "./softmax.ts";
import { registerSorting } from "./sorting.ts";
import { GpuRuntime, type WebGPUMemory } from "./runtime.ts";

export type { WebGPUMemory } from "./runtime.ts";

let instance: WebGPUBackend | undefined;

/** Creates the WebGPU backend: device with the adapter's limits, runtime, every kernel. */
async function createWebGPUBackend(): Promise<WebGPUBackend> {
  const info = await requestWebGPUDevice();
  const gpu = new WebGPUBackend(new GpuRuntime(info.device), info.description);
  registerElementwise(gpu);
  registerLayout(gpu);
  registerReduce(gpu);
  registerSorting(gpu);
  registerSoftmax(gpu);
  registerRandom(gpu);
  registerMatmul(gpu, { fallbackAdapter: info.isFallback });
  registerLinalg(gpu);
  registerFloat16(gpu); // wraps every kernel above
  // last: a failure a kernel reports because of an earlier failed kernel is not raised twice
  const log = failureLog(gpu);
  for (const [name, k] of gpu.kernels) gpu.kernels.set(name, log.track(k));
  instance = gpu;
  return gpu;
}

registerBackendFactory("webgpu", createWebGPUBackend);

/**
 * Byte counts of the WebGPU buffer pool: `liveBytes` held by live tensors, `pooledBytes` kept for
 * reuse. All zero before the backend is created.
 * @example
 * ```ts
 * import { webgpuMemory } from "@tangent/tangent";
 * const { liveBytes } = webgpuMemory();
 * ```
 */
export function webgpuMemory(): WebGPUMemory {
  return instance?.memory() ?? { liveBytes: 0, pooledBytes: 0, liveBuffers: 0, createdBuffers: 0 };
}

/**
 * Submits the encoded WebGPU work now (it is otherwise submitted in batches and at the end of the
 * current synchronous run of JavaScript). Never waits.
 */
export function flushWebGPU(): void {
  instance?.runtime.flush();
}

/**
 * Waits until the GPU has finished everything submitted so far (about 11 ms in Deno: for
 * benchmarks and tests, never per training step).
 */
export async function syncWebGPU(): Promise<void> {
  if (!instance) return;
  instance.runtime.flush();
  await instance.runtime.device.queue.onSubmittedWorkDone();
  instance.runtime.throwIfFailed();
}

/**
 * Whether a WebGPU adapter can be created here (creates the backend on success, so a later
 * `useBackend("webgpu")` is immediate).
 * @example
 * ```ts
 * import { webgpuAvailable } from "@tangent/tangent";
 * if (!(await webgpuAvailable())) console.log("no WebGPU: staying on the cpu backend");
 * ```
 */
export async function webgpuAvailable(): Promise<boolean> {
  try {
    await loadBackend("webgpu");
    return true;
  } catch (e) {
    if (e instanceof BackendError) return false;
    throw e;
  }
}

/** The adapter's description ("llvmpipe (LLVM …)" or the GPU's name), or null before the backend exists. */
export function webgpuAdapterName(): string | null {
  return instance?.description ?? null;
}
