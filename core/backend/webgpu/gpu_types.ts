/**
 * The part of the WebGPU API the backend uses, declared here (module-scoped, not global) so that
 * Tangent type-checks in any project: a Deno project without `@webgpu/types`, a browser project
 * whose `lib` has no WebGPU, or Node with no DOM at all. The names and member types follow the
 * WebGPU specification; `tests/package_webgpu_types_test.ts` checks that the real types (Deno's,
 * TypeScript's DOM and `@webgpu/types`) have every member named here, with the same value types
 * for the plain values, and that a real device has them at run time.
 *
 * Files that touch the device import their types from here, which shadows any global declarations.
 * @module
 */

/** A GPU object's common part (every WebGPU object has a label). */
export interface GPUObjectBase {
  /** The debug label. */
  label: string;
}

/** `navigator.gpu`. */
export interface GPU {
  /** Finds an adapter, or null when none fits. */
  requestAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
}

/** Options of `requestAdapter`. */
export interface GPURequestAdapterOptions {
  /** Which adapter to prefer where there are several. */
  powerPreference?: "low-power" | "high-performance";
}

/** The limits the backend reads or raises (a subset of GPUSupportedLimits). */
export interface GPUSupportedLimits {
  /** Largest storage-buffer binding, bytes. */
  readonly maxStorageBufferBindingSize: number;
  /** Largest buffer, bytes. */
  readonly maxBufferSize: number;
  /** Workgroup memory, bytes. */
  readonly maxComputeWorkgroupStorageSize: number;
  /** Invocations in one workgroup. */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** Workgroup size along x. */
  readonly maxComputeWorkgroupSizeX: number;
  /** Workgroup size along y. */
  readonly maxComputeWorkgroupSizeY: number;
  /** Workgroup size along z. */
  readonly maxComputeWorkgroupSizeZ: number;
  /** Workgroups along one dispatch dimension. */
  readonly maxComputeWorkgroupsPerDimension: number;
  /** Storage buffers visible to one shader stage. */
  readonly maxStorageBuffersPerShaderStage: number;
  /** Bind groups in a pipeline layout. */
  readonly maxBindGroups: number;
}

/** What an adapter says about itself. */
export interface GPUAdapterInfo {
  /** Vendor name (may be empty). */
  readonly vendor: string;
  /** Device name (may be empty). */
  readonly device: string;
  /** A readable description (may be empty). */
  readonly description: string;
  /** True for a software (fallback) adapter; absent in older implementations. */
  readonly isFallbackAdapter?: boolean;
}

/** A physical (or software) GPU. */
export interface GPUAdapter {
  /** Optional features, by name (e.g. `shader-f16`). */
  readonly features: { has(name: string): boolean };
  /** The adapter's limits. */
  readonly limits: GPUSupportedLimits;
  /** The adapter's description (absent in older implementations). */
  readonly info?: GPUAdapterInfo;
  /** Creates a device. */
  requestDevice(descriptor?: GPUDeviceDescriptor): Promise<GPUDevice>;
}

/** Options of `requestDevice`. */
export interface GPUDeviceDescriptor {
  /** Limits to raise above the defaults. */
  requiredLimits?: Record<string, number>;
  /** Features to enable. */
  requiredFeatures?: "shader-f16"[];
}

/** Why a device was lost. */
export interface GPUDeviceLostInfo {
  /** `"destroyed"` or `"unknown"`. */
  readonly reason: string;
  /** Details. */
  readonly message: string;
}

/** The event of an error no error scope caught. */
export interface GPUUncapturedErrorEvent {
  /** The error. */
  readonly error: { readonly message: string };
}

/** A logical device: creates resources and pipelines, owns the queue. */
export interface GPUDevice extends GPUObjectBase {
  /** The limits it was created with. */
  readonly limits: GPUSupportedLimits;
  /** The queue work is submitted to. */
  readonly queue: GPUQueue;
  /** Settles when the device is lost. */
  readonly lost: Promise<GPUDeviceLostInfo>;
  /** Creates a buffer. */
  createBuffer(descriptor: GPUBufferDescriptor): GPUBuffer;
  /** Creates a bind group layout. */
  createBindGroupLayout(descriptor: { entries: GPUBindGroupLayoutEntry[] }): GPUBindGroupLayout;
  /** Creates a pipeline layout. */
  createPipelineLayout(descriptor: { bindGroupLayouts: GPUBindGroupLayout[] }): GPUPipelineLayout;
  /** Compiles WGSL. */
  createShaderModule(descriptor: { code: string }): GPUShaderModule;
  /** Creates a compute pipeline. */
  createComputePipeline(descriptor: GPUComputePipelineDescriptor): GPUComputePipeline;
  /** Creates a bind group. */
  createBindGroup(descriptor: { layout: GPUBindGroupLayout; entries: GPUBindGroupEntry[] }): GPUBindGroup;
  /** Creates a command encoder. */
  createCommandEncoder(): GPUCommandEncoder;
  /** Listens for errors no error scope caught. */
  addEventListener(type: "uncapturederror", listener: (event: GPUUncapturedErrorEvent) => void): void;
}

/** Options of `createBuffer`. */
export interface GPUBufferDescriptor {
  /** Bytes. */
  size: number;
  /** GPUBufferUsage flags. */
  usage: number;
}

/** A block of GPU memory. */
export interface GPUBuffer extends GPUOpaque<"GPUBuffer"> {
  /** Bytes. */
  readonly size: number;
  /** Maps the buffer for host access (GPUMapMode flags). */
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  /** The mapped bytes. */
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  /** Ends the mapping. */
  unmap(): void;
  /** Frees the memory. */
  destroy(): void;
}

/** A queue. */
export interface GPUQueue extends GPUObjectBase {
  /** Runs command buffers in order. */
  submit(commandBuffers: GPUCommandBuffer[]): void;
  /** Copies host bytes into a buffer (queued before the next submission). */
  writeBuffer(
    buffer: GPUBuffer,
    bufferOffset: number,
    data: ArrayBuffer | ArrayBufferView<ArrayBuffer>,
    dataOffset?: number,
    size?: number,
  ): void;
  /** Settles when everything submitted so far has run. */
  onSubmittedWorkDone(): Promise<void>;
}

/** One bind group layout entry (buffers only). */
export interface GPUBindGroupLayoutEntry {
  /** Binding index. */
  binding: number;
  /** GPUShaderStage flags. */
  visibility: number;
  /** The buffer binding's kind. */
  buffer: {
    type: "uniform" | "storage" | "read-only-storage";
    hasDynamicOffset?: boolean;
    minBindingSize?: number;
  };
}

/** A buffer range bound to a binding. */
export interface GPUBufferBinding {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Offset, bytes. */
  offset?: number;
  /** Size, bytes (default: to the end). */
  size?: number;
}

/** One bind group entry. */
export interface GPUBindGroupEntry {
  /** Binding index. */
  binding: number;
  /** The bound buffer range. */
  resource: GPUBufferBinding;
}

/** Options of `createComputePipeline`. */
export interface GPUComputePipelineDescriptor {
  /** The pipeline layout. */
  layout: GPUPipelineLayout;
  /** The compute stage. */
  compute: { module: GPUShaderModule; entryPoint?: string };
}

/** Records commands. */
export interface GPUCommandEncoder extends GPUObjectBase {
  /** Starts a compute pass. */
  beginComputePass(): GPUComputePassEncoder;
  /** Copies between buffers. */
  copyBufferToBuffer(
    source: GPUBuffer,
    sourceOffset: number,
    destination: GPUBuffer,
    destinationOffset: number,
    size: number,
  ): void;
  /** Ends recording. */
  finish(): GPUCommandBuffer;
}

/** Records dispatches. */
export interface GPUComputePassEncoder extends GPUObjectBase {
  /** Sets the pipeline. */
  setPipeline(pipeline: GPUComputePipeline): void;
  /** Sets a bind group, with its dynamic offsets. */
  setBindGroup(index: number, bindGroup: GPUBindGroup, dynamicOffsets?: number[]): void;
  /** Dispatches workgroups. */
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  /** Ends the pass. */
  end(): void;
}

/**
 * An opaque GPU object. `__brand` (type-level only, never read; `@webgpu/types` tags its types the
 * same way) keeps the kinds apart: a bind group cannot be passed where a pipeline is expected.
 */
export interface GPUOpaque<Brand extends string> extends GPUObjectBase {
  /** Type-level tag. */
  readonly __brand: Brand;
}

/** A compiled WGSL module. */
export type GPUShaderModule = GPUOpaque<"GPUShaderModule">;
/** A compute pipeline. */
export type GPUComputePipeline = GPUOpaque<"GPUComputePipeline">;
/** A bind group layout. */
export type GPUBindGroupLayout = GPUOpaque<"GPUBindGroupLayout">;
/** A pipeline layout. */
export type GPUPipelineLayout = GPUOpaque<"GPUPipelineLayout">;
/** A bind group. */
export type GPUBindGroup = GPUOpaque<"GPUBindGroup">;
/** A finished command buffer. */
export type GPUCommandBuffer = GPUOpaque<"GPUCommandBuffer">;
