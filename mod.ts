/**
 * Tangent: a functional tensor library with reverse-mode autodiff, first-class manifolds and
 * parameter-efficient fine-tuning adapters, for Deno, on the CPU and WebGPU.
 *
 * @example
 * ```ts
 * import { grad, matmul, mean, normal, key, split, square, sub } from "@tangent/tangent";
 * const [k1, k2] = split(key(0));
 * const x = normal(k1, [32, 4]), w = normal(k2, [4, 1]);
 * const loss = (w: any) => mean(square(sub(matmul(x, w), 1)));
 * const g = grad(loss)(w); // shape [4, 1]
 * ```
 * @module
 */
import "./core/backend/cpu/mod.ts";
import "./core/backend/webgpu/mod.ts";

export type { DType, Float16ArrayConstructorType, Float16ArrayType, TypedArray } from "./core/dtype.ts";
export { promote } from "./core/dtype.ts";
export {
  BackendError,
  DomainError,
  DTypeError,
  FormatError,
  ManifoldError,
  ShapeError,
  TangentError,
} from "./core/errors.ts";
export { isTensor, type NestedArray, Tensor } from "./core/tensor.ts";
export * from "./core/ops/mod.ts";
export { foldIn, type Key, key, type KeyLayout, normal, randomBits, split, uniform } from "./core/random.ts";
export { type Tree, treeDifference, treeLeaves, treeMap, treeUnflatten } from "./core/pytree.ts";
export { scope } from "./core/memory.ts";
export {
  type Aval,
  type Backend,
  type GapCheck,
  getBackend,
  type Kernel,
  type Storage,
  useBackend,
} from "./core/backend/backend.ts";
export { toBackend } from "./core/device.ts";
export { setMatmulSpin, setMatmulThreads } from "./core/backend/cpu/wasm/gemm.ts";
export {
  flushWebGPU,
  syncWebGPU,
  webgpuAvailable,
  type WebGPUMemory,
  webgpuMemory,
} from "./core/backend/webgpu/mod.ts";
export {
  type ArgAt,
  customVjp,
  type FromEnd,
  grad,
  type GradOf,
  type GradOptions,
  jvp,
  stopGradient,
  valueAndGrad,
  vjp,
} from "./autodiff/grad.ts";
export { checkGrad, type CheckGradOptions } from "./autodiff/check.ts";
export { type AxisSpec, vmap, type VmapArg, type VmapOptions, type VmapOut, type Vmapped } from "./autodiff/vmap.ts";
export { hessian, jacfwd, type JacobianOf, type JacobianOptions, jacrev } from "./autodiff/jacobian.ts";
export { checkpoint, foriLoop, scan } from "./autodiff/control.ts";
export { jit, type JitOptions } from "./autodiff/jit.ts";
export { type JitInfo, jitInfo, type JitStep, type JitValue } from "./autodiff/jit_info.ts";
export type { Primitive } from "./core/primitive.ts";
export * as linalg from "./core/linalg/mod.ts";
export * as manifolds from "./manifolds/mod.ts";
export * as optim from "./optim/mod.ts";
export * as adapters from "./adapters/mod.ts";
export * as lowrank from "./lowrank/mod.ts";
export * as safetensors from "./models/safetensors.ts";
export * as models from "./models/mod.ts";
export {
  type AdaptedLayer,
  type AdaptedModel,
  adaptModel,
  type AdaptModelOptions,
  type CausalLM,
  createModel,
  type ForwardOptions,
  type ForwardResult,
  generate,
  type GenerateOptions,
  initModel,
  loadModel,
  type LoadModelOptions,
  loadPeftAdapter,
  loadTokenizer,
  type ModelConfig,
  type ModelParams,
  type ModelSource,
  parseConfig,
  type RopeConfig,
  type SavedPeftAdapter,
  saveModel,
  savePeftAdapter,
  type SavePeftOptions,
  type TextTokenizer,
} from "./models/mod.ts";
export type {
  Architecture,
  KVCache,
  LayerCache,
  LinearHook,
  LinearModule,
  LoadPeftOptions,
  PeftLayer,
  PeftLayerReader,
  PeftLayerState,
} from "./models/mod.ts";
export type {
  Adapter,
  AdaptTarget,
  Frozen,
  LinearBase,
  PeftAdapter,
  PeftConfig,
  PeftNameOptions,
} from "./adapters/mod.ts";
