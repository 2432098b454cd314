/**
 * The WebGPU backend object: storage (a pooled GPU buffer per tensor, returned to the pool when
 * the storage is released by a scope or garbage-collected), host transfers, and the kernel table.
 * @module
 */
import type { Aval, Backend, Kernel, Storage } from "../backend.ts";
import type { TypedArray } from "../../dtype.ts";
import { BackendError } from "../../errors.ts";
import type { GpuRuntime, WebGPUMemory } from "./runtime.ts";
import { GPU_ITEM, wgslType } from "./wgsl.ts";

/** WebGPU storage: a GPU buffer holding the elements (float32, int32, or bool as u32). */
export class WebGPUStorage implements Storage {
  /** The backend that owns this storage. */
  readonly backend: Backend;
  /** The buffer (from the pool; possibly larger than `byteSize`). */
  readonly buffer: GPUBuffer;
  /** Bytes of elements. */
  readonly byteSize: number;
  /** Set once released by a scope. */
  released?: boolean;
  /**
   * @param backend the owning backend
   * @param buffer the buffer
   * @param byteSize bytes of elements
   */
  constructor(backend: Backend, buffer: GPUBuffer, byteSize: number) {
    this.backend = backend;
    this.buffer = buffer;
    this.byteSize = byteSize;
  }
}

/** The WebGPU backend. */
export class WebGPUBackend implements Backend {
  /** `"webgpu"`. */
  readonly name = "webgpu";
  /** Kernels by primitive name. */
  readonly kernels: Map<string, Kernel> = new Map();
  /** Device, pool, pipelines, batching. */
  readonly runtime: GpuRuntime;
  /** Adapter description. */
  readonly description: string;
  private readonly registry: FinalizationRegistry<GPUBuffer>;

  /**
   * @param runtime the runtime over the device
   * @param description the adapter's description
   */
  constructor(runtime: GpuRuntime, description: string) {
    this.runtime = runtime;
    this.description = description;
    this.registry = new FinalizationRegistry((buf) => runtime.free(buf));
  }

  /** Number of elements of a shape. */
  size(shape: readonly number[]): number {
    let n = 1;
    for (const d of shape) n *= d;
    return n;
  }

  /** A pooled buffer for a tensor of `aval` (throws DTypeError for float64). */
  alloc(aval: Aval): GPUBuffer {
    wgslType(aval.dtype);
    return this.runtime.alloc(this.size(aval.shape) * GPU_ITEM);
  }

  /** Wraps a buffer holding `aval`'s elements as storage freed when unreachable. */
  wrap(buffer: GPUBuffer, aval: Aval): WebGPUStorage {
    const s = new WebGPUStorage(this, buffer, this.size(aval.shape) * GPU_ITEM);
    this.registry.register(s, buffer, s);
    return s;
  }

  /** The buffer of a storage. */
  buf(s: Storage): GPUBuffer {
    if (s.released) {
      throw new BackendError("webgpu: tensor was released by scope(); return it from the scope to keep it");
    }
    return (s as WebGPUStorage).buffer;
  }

  /** Copies host elements into a new storage. */
  fromHost(data: TypedArray, aval: Aval): Storage {
    const t = wgslType(aval.dtype, "tensor");
    const buffer = this.alloc(aval);
    let words: Float32Array | Int32Array | Uint32Array;
    if (t === "u32") words = Uint32Array.from(data as Uint8Array, (v) => (v ? 1 : 0));
    else if (t === "f32") words = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    else words = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
    this.runtime.upload(buffer, words);
    return this.wrap(buffer, aval);
  }

  /** Reads a storage back (waits for the work encoded so far; about 11 ms in Deno). */
  async toHost(s: Storage, aval: Aval): Promise<TypedArray> {
    const n = this.size(aval.shape);
    const t = wgslType(aval.dtype, "data");
    if (n === 0) return t === "f32" ? new Float32Array(0) : t === "i32" ? new Int32Array(0) : new Uint8Array(0);
    const bytes = await this.runtime.read(this.buf(s), n * GPU_ITEM);
    if (t === "f32") return new Float32Array(bytes);
    if (t === "i32") return new Int32Array(bytes);
    return Uint8Array.from(new Uint32Array(bytes), (v) => (v ? 1 : 0));
  }

  /** Throws: WebGPU reads are asynchronous. */
  toHostSync(): TypedArray {
    throw new BackendError(
      'dataSync: the webgpu backend reads asynchronously; use `await t.data()` (or toBackend(t, "cpu") first)',
    );
  }

  /** Returns the storage's buffer to the pool now. */
  release(s: Storage): void {
    if (s.released) return;
    const g = s as WebGPUStorage;
    this.registry.unregister(g);
    g.released = true;
    this.runtime.free(g.buffer);
  }

  /** Pool counters. */
  memory(): WebGPUMemory {
    return this.runtime.memory();
  }
}
