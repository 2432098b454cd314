import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { BackendError } from "../../errors.ts";
import type { LinalgTuning as BlockedParams } from "./linalg_tuning.ts";
export function blockedCholesky(
  _g: WebGPUBackend,
  _a: GPUBuffer,
  _o: GPUBuffer,
  _r: GPUBuffer,
  _n: number,
  _c: number,
  _p: BlockedParams,
): void {
  throw new BackendError("todo");
}
export function blockedLu(
  _g: WebGPUBackend,
  _a: GPUBuffer,
  _o: GPUBuffer[],
  _r: GPUBuffer,
  _n: number,
  _c: number,
  _p: BlockedParams,
): void {
  throw new BackendError("todo");
}
export function blockedTriangularSolve(
  _g: WebGPUBackend,
  _a: GPUBuffer,
  _b: GPUBuffer,
  _o: GPUBuffer,
  _d: unknown,
  _p: unknown,
  _t: BlockedParams,
): void {
  throw new BackendError("todo");
}
