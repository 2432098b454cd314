/**
 * Adapter and device set-up: the adapter's larger limits are requested (WebGPU's defaults cap a
 * storage binding at 128 MiB), `shader-f16` is enabled where the adapter has it.
 * @module
 */
import { BackendError } from "../../errors.ts";
import type { GPU, GPUAdapter, GPUDevice } from "./gpu_types.ts";

/** What `requestWebGPUDevice` found. */
export interface WebGPUDeviceInfo {
  /** The device, created with the adapter's limits. */
  device: GPUDevice;
  /** Adapter description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or the GPU's name). */
  description: string;
  /** True for a software (fallback) adapter such as llvmpipe. */
  isFallback: boolean;
  /** Whether `shader-f16` was enabled. */
  f16: boolean;
}

const LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxBindGroups",
] as const;

/**
 * Requests an adapter (high-performance preference) and a device with the adapter's larger
 * limits. Throws a BackendError naming the fix when WebGPU or an adapter is absent.
 */
export async function requestWebGPUDevice(): Promise<WebGPUDeviceInfo> {
  // read as unknown: Node has no navigator.gpu, and a project's lib may declare no WebGPU at all
  const nav: unknown = Reflect.get(globalThis, "navigator");
  const gpu = (nav as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new BackendError(
      `WebGPU is not available: navigator.gpu is undefined; use the cpu backend (await useBackend("cpu"))`,
    );
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    throw new BackendError(`WebGPU is not available: requestAdapter failed (${e}); use the cpu backend`);
  }
  if (!adapter) {
    throw new BackendError(
      `WebGPU is not available: no adapter (no GPU driver, or no Vulkan/Metal/DX12 loader); use the cpu backend`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS) {
    const v = adapter.limits[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  const f16 = adapter.features.has("shader-f16");
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: f16 ? ["shader-f16"] : [],
  });
  const info = adapter.info;
  return {
    device,
    description: info?.description || info?.device || info?.vendor || "unknown adapter",
    isFallback: info?.isFallbackAdapter ?? false,
    f16,
  };
}
