import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { BackendError } from "../../errors.ts";
import type { LinalgTuning } from "./linalg_tuning.ts";
export function blockJacobiSvd(
  _g: WebGPUBackend,
  _a: GPUBuffer,
  _o: GPUBuffer[],
  _r: GPUBuffer,
  _m: number,
  _n: number,
  _c: number,
  _p: LinalgTuning,
): void {
  throw new BackendError("todo");
}
export function blockJacobiEigh(
  _g: WebGPUBackend,
  _a: GPUBuffer,
  _o: GPUBuffer[],
  _r: GPUBuffer,
  _n: number,
  _c: number,
  _tol: number,
  _p: LinalgTuning,
): void {
  throw new BackendError("todo");
}
