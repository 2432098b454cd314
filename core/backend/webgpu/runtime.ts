/**
 * The WebGPU runtime under the backend: one device, a size-bucketed buffer pool with live and
 * pooled byte counters, a pipeline cache keyed by WGSL source, and one command encoder that
 * accumulates dispatches and is submitted without waiting (when enough dispatches are pending,
 * at the end of the current synchronous run of JavaScript, or when a value is read back).
 *
 * Ordering rules that make the pool and the uniforms safe without any wait:
 * - a buffer returned to the pool may still be read by encoded, unsubmitted dispatches; it is
 *   handed out to later dispatches (queue order), and `upload` (a `writeBuffer`, queued before the
 *   open batch) only writes buffers released before the open batch began;
 * - each batch's uniforms are staged on the host and written with one `writeBuffer` just before the
 *   batch is submitted (queue order puts it after the previous batch).
 * @module
 */
import { BackendError } from "../../errors.ts";
import type {
  GPUBindGroup,
  GPUBindGroupEntry,
  GPUBindGroupLayout,
  GPUBindGroupLayoutEntry,
  GPUBuffer,
  GPUBufferBinding,
  GPUCommandEncoder,
  GPUComputePassEncoder,
  GPUComputePipeline,
  GPUDevice,
  GPUPipelineLayout,
} from "./gpu_types.ts";

// GPUBufferUsage / GPUMapMode / GPUShaderStage values, spelled out so that importing this module
// works where WebGPU's globals are absent.
const MAP_READ = 0x1, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, STORAGE = 0x80;
const MAP_MODE_READ = 0x1, STAGE_COMPUTE = 0x4;

/** Bytes of one dispatch's uniform slot (a multiple of minUniformBufferOffsetAlignment, ≤ 256). */
export const UNIFORM_SLOT = 512;
/** Dispatches encoded before a batch is submitted. */
const MAX_PENDING = 128;
/** Largest workgroup count along one dispatch dimension. */
const MAX_GROUPS = 65535;

/** Byte counts of the WebGPU buffer pool. */
export interface WebGPUMemory {
  /** Bytes in buffers held by live tensors (their pool bucket sizes). */
  liveBytes: number;
  /** Bytes in released buffers kept for reuse. */
  pooledBytes: number;
  /** Number of live buffers. */
  liveBuffers: number;
  /** Buffers created so far (a flat count over a loop means the pool is reused). */
  createdBuffers: number;
}

/**
 * The pool bucket a request of `bytes` falls in: powers of two up to 4 KiB, then four buckets per
 * octave (at most 25% slack), always a multiple of 16 bytes.
 */
export function bucketSize(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const quarter = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / quarter) * quarter;
}

/** Workgroup counts covering `groups` workgroups, folded into y when x would exceed 65535. */
export function grid(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [Math.max(1, groups), 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new BackendError(`webgpu: ${groups} workgroups exceed one dispatch; split the tensor`);
  return [Math.ceil(groups / y), y, 1];
}

/** Little builder for a dispatch's uniform block (u32/i32/f32 words). */
export class Uniforms {
  /** The words as u32. */
  readonly u32: Uint32Array = new Uint32Array(UNIFORM_SLOT / 4);
  private readonly f32 = new Float32Array(this.u32.buffer);
  private readonly i32 = new Int32Array(this.u32.buffer);
  private n = 0;
  /** Appends u32 words. */
  u(...v: number[]): this {
    for (const x of v) this.u32[this.n++] = x >>> 0;
    return this;
  }
  /** Appends i32 words. */
  i(...v: number[]): this {
    for (const x of v) this.i32[this.n++] = x | 0;
    return this;
  }
  /** Appends f32 words. */
  f(...v: number[]): this {
    for (const x of v) this.f32[this.n++] = x;
    return this;
  }
  /** Pads to a multiple of 4 words (a WGSL vec4 boundary). */
  align4(): this {
    while (this.n % 4) this.u32[this.n++] = 0;
    return this;
  }
  /** Appends `values` padded with zeros to `len` words (len a multiple of 4: `array<vec4<u32>, len/4>`). */
  arr(values: readonly number[], len: number): this {
    this.align4();
    for (let j = 0; j < len; j++) this.u32[this.n++] = (values[j] ?? 0) >>> 0;
    return this;
  }
  /** Words written so far. */
  get length(): number {
    return this.n;
  }
}

/** One compute dispatch. */
export interface Dispatch {
  /** WGSL source (pipelines are cached by it). */
  code: string;
  /** Entry point (default `main`). */
  entryPoint?: string;
  /** Read-only storage buffers, bound at 0..k−1. */
  inputs: readonly GPUBuffer[];
  /** The read-write storage buffer, bound at k. */
  output: GPUBuffer;
  /** More read-write storage buffers, bound at k+1 … k+e (the uniforms then follow them). */
  outputs?: readonly GPUBuffer[];
  /** Uniform words, bound after the outputs (at most 256 bytes). */
  uniforms: Uint32Array;
  /** Workgroup counts. */
  groups: readonly [number, number, number];
}

/** A BackendError marked as an allocation failure (`bind` adds the op and the shapes). */
function allocationFailure(message: string): BackendError {
  return Object.assign(new BackendError(message), { allocation: true });
}

/** The device, pool, pipeline cache and batch encoder. */
export class GpuRuntime {
  /** The device. */
  readonly device: GPUDevice;
  /** Largest storage binding, bytes. */
  readonly maxBinding: number;
  /** Largest buffer, bytes. */
  readonly maxBuffer: number;
  /** Workgroup memory available to one workgroup, bytes. */
  readonly maxWorkgroupStorage: number;
  /** Pooled bytes above which released buffers are destroyed instead of kept. */
  poolLimit = 4 * 2 ** 30;
  /**
   * New buffers (count and bytes) created without JavaScript yielding to the event loop beyond which
   * a warning (once) says that a synchronous loop without `scope` grows: unreachable tensors return
   * their buffers only when their finalizers run, after a garbage collection and after the loop
   * yields (nothing leaks). A small regression step keeps ~8.5 buffers, so the count warns after
   * ~2,000 such steps; the bytes warn first for large tensors. Not lower: the first step of a large
   * model can create thousands of buffers before the pool holds any.
   */
  syncWarn: { buffers: number; bytes: number } = { buffers: 16384, bytes: 2 ** 30 };
  private syncBuffers = 0;
  private syncBytes = 0;
  private syncResetQueued = false;
  private syncWarned = false;

  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  private live = 0;
  private pooled = 0;
  private liveCount = 0;
  private created = 0;
  private readonly pipelines: Map<string, GPUComputePipeline>[] = [];
  /** Pipelines compiled so far. */
  compiled = 0;
  /** Dispatches encoded so far. */
  dispatched = 0;
  /** Bind groups created so far (flat over a training loop when the cache works). */
  bindGroupsCreated = 0;
  private readonly layouts: GPUPipelineLayout[] = [];
  private readonly groupLayouts: GPUBindGroupLayout[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private batch = 0;
  private readonly freedIn = new WeakMap<GPUBuffer, number>();
  private doomed: GPUBuffer[] = [];
  private readonly uniformHost: Uint32Array<ArrayBuffer>;
  private uniformBuffer: GPUBuffer;
  private uniformUsed = 0;
  private flushQueued = false;
  private firstError: string | null = null;
  private readonly groupTries: Map<GPUBuffer, unknown>[] = [];
  private groupCount = 0;
  private lastPipeline: GPUComputePipeline | null = null;

  /** @param device a device created with the adapter's larger limits */
  constructor(device: GPUDevice) {
    this.device = device;
    this.maxBinding = device.limits.maxStorageBufferBindingSize;
    this.maxBuffer = device.limits.maxBufferSize;
    this.maxWorkgroupStorage = device.limits.maxComputeWorkgroupStorageSize;
    this.uniformHost = new Uint32Array((MAX_PENDING * UNIFORM_SLOT) / 4);
    this.uniformBuffer = device.createBuffer({ size: MAX_PENDING * UNIFORM_SLOT, usage: UNIFORM | COPY_DST });
    device.lost?.then((info) => {
      this.firstError ??= `the device was lost (${info.reason}): ${info.message}; create a new backend`;
    });
    device.addEventListener("uncapturederror", (e) => {
      const msg = e.error?.message ?? String(e);
      if (this.firstError === null) this.firstError = msg;
    });
  }

  /** Pool counters. */
  memory(): WebGPUMemory {
    return {
      liveBytes: this.live,
      pooledBytes: this.pooled,
      liveBuffers: this.liveCount,
      createdBuffers: this.created,
    };
  }

  /** A storage buffer of at least `bytes` bytes, from the pool when one of its bucket is free. */
  alloc(bytes: number, clean = false): GPUBuffer {
    this.checkBytes(bytes);
    const size = bucketSize(bytes);
    const free = this.pool.get(size);
    // Last in, first out: a training step frees and reallocates in the same order every time, so
    // kernels see the same buffers step after step and their bind groups are reused.
    let buf: GPUBuffer | undefined;
    if (!clean) buf = free?.pop();
    else if (free) {
      // a buffer no unsubmitted dispatch can still read: released before the open batch began
      const i = free.findIndex((b) => this.freedIn.get(b) !== this.batch);
      if (i >= 0) buf = free.splice(i, 1)[0];
    }
    if (buf) {
      this.pooled -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
      this.sizes.set(buf, size);
      this.created++;
      this.noteGrowth(size);
    }
    this.live += size;
    this.liveCount++;
    return buf;
  }

  /**
   * Counts a new buffer towards the growth since JavaScript last yielded (reset at the next microtask
   * checkpoint, which a synchronous loop never reaches) and warns once past `syncWarn`.
   */
  private noteGrowth(bytes: number): void {
    this.syncBuffers++;
    this.syncBytes += bytes;
    if (!this.syncResetQueued) {
      this.syncResetQueued = true;
      queueMicrotask(() => {
        this.syncBuffers = this.syncBytes = 0;
        this.syncResetQueued = false;
      });
    }
    if (this.syncWarned || (this.syncBuffers <= this.syncWarn.buffers && this.syncBytes <= this.syncWarn.bytes)) return;
    this.syncWarned = true;
    console.warn(
      `webgpu: ${this.syncBuffers} new GPU buffers (${(this.syncBytes / 2 ** 20).toFixed(1)} MiB) were created ` +
        `without JavaScript yielding to the event loop. Tensors that became unreachable give their buffers back ` +
        `only when their finalizers run, after it yields, so a synchronous loop grows without bound: wrap each ` +
        `step in scope(() => step(params), { release: params }) (see scope), or await between steps (await ` +
        `loss.data()), which returns them only as fast as garbage collection finds them. Shown once.`,
    );
  }

  /** Throws (an allocation failure `bind` names the op for) when one tensor cannot have `bytes` bytes. */
  checkBytes(bytes: number): void {
    if (bytes > this.maxBinding) {
      throw allocationFailure(
        `webgpu: a tensor of ${bytes} bytes exceeds this adapter's largest storage binding (${this.maxBinding} bytes); ` +
          `split it or use the cpu backend`,
      );
    }
  }

  /** Returns a buffer to the pool (encoded dispatches that read it still see its old contents). */
  free(buf: GPUBuffer): void {
    const size = this.sizes.get(buf) ?? buf.size;
    this.live -= size;
    this.liveCount--;
    if (this.pooled + size > this.poolLimit) {
      this.clearGroups();
      if (this.encoder) this.doomed.push(buf);
      else buf.destroy();
      return;
    }
    this.pooled += size;
    this.freedIn.set(buf, this.encoder ? this.batch : -1);
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, list = []);
    list.push(buf);
  }

  /** Destroys every pooled buffer (after the pending batch is submitted). */
  trim(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.clearGroups();
    this.pooled = 0;
  }

  /**
   * Writes host data into `buf` at offset 0. `buf` must come from `alloc(bytes, true)`: no encoded,
   * unsubmitted dispatch reads it, so the write (queued before the open batch) cannot be seen by
   * earlier work, and later dispatches (submitted after it) see it. No submit, no wait.
   */
  upload(buf: GPUBuffer, data: ArrayBufferView): void {
    if (data.byteLength === 0) return;
    // writeBuffer takes bytes in an ArrayBuffer: a view of shared memory (a threaded WebAssembly
    // memory, say) is copied out first
    const bytes = data.buffer instanceof ArrayBuffer
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data.byteLength);
    if (bytes.buffer !== data.buffer) bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(buf, 0, bytes);
  }

  /** `k` read-only inputs and `1 + e` read-write outputs, one table index per combination. */
  private layoutFor(k: number, e = 0): GPUPipelineLayout {
    const key = k + 32 * e;
    let layout = this.layouts[key];
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < k; i++) {
        entries.push({ binding: i, visibility: STAGE_COMPUTE, buffer: { type: "read-only-storage" } });
      }
      for (let i = 0; i <= e; i++) {
        entries.push({ binding: k + i, visibility: STAGE_COMPUTE, buffer: { type: "storage" } });
      }
      entries.push({
        binding: k + e + 1,
        visibility: STAGE_COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: UNIFORM_SLOT },
      });
      const group = this.device.createBindGroupLayout({ entries });
      this.groupLayouts[key] = group;
      layout = this.device.createPipelineLayout({ bindGroupLayouts: [group] });
      this.layouts[key] = layout;
    }
    return layout;
  }

  /**
   * The pipeline for `code` with `k` read-only inputs and `e` extra outputs (compiled once per
   * source). Kernels pass the same string object for the same source (see `memoCode`), so the
   * lookup hashes it once.
   */
  pipeline(code: string, k: number, entryPoint = "main", e = 0): GPUComputePipeline {
    const byCode = this.pipelines[k + 32 * e] ??= new Map();
    const key = entryPoint === "main" ? code : `${entryPoint}\u0000${code}`;
    let p = byCode.get(key);
    if (!p) {
      this.compiled++;
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({ layout: this.layoutFor(k, e), compute: { module, entryPoint } });
      byCode.set(key, p);
    }
    return p;
  }

  private binding(buf: GPUBuffer): GPUBufferBinding {
    const size = this.sizes.get(buf) ?? buf.size;
    return size > this.maxBinding ? { buffer: buf, size: this.maxBinding - (this.maxBinding % 16) } : { buffer: buf };
  }

  /** Encodes one dispatch into the current batch. */
  dispatch(d: Dispatch): void {
    if (d.groups[0] * d.groups[1] * d.groups[2] === 0) return;
    this.dispatched++;
    const k = d.inputs.length, extra = d.outputs ?? [];
    const pipeline = this.pipeline(d.code, k, d.entryPoint, extra.length);
    if (this.uniformUsed + UNIFORM_SLOT > this.uniformBuffer.size) this.flush();
    const offset = this.uniformUsed;
    this.uniformHost.set(d.uniforms.subarray(0, UNIFORM_SLOT / 4), offset / 4);
    this.uniformUsed += UNIFORM_SLOT;
    const group = extra.length
      ? this.bindGroup(k, [...d.inputs, d.output, ...extra], null)
      : this.bindGroup(k, d.inputs, d.output);
    const pass = this.computePass();
    if (pipeline !== this.lastPipeline) pass.setPipeline(pipeline);
    this.lastPipeline = pipeline;
    pass.setBindGroup(0, group, [offset]);
    pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
    if (++this.pending >= MAX_PENDING) this.flush();
    else this.scheduleFlush();
  }

  /**
   * The bind group of (inputs, output, the uniform buffer at a dynamic offset), cached in a trie
   * keyed by the buffers: the pool hands the same buffers to the same kernels step after step, so a
   * training loop reuses them. With `output` null, `inputs` lists every buffer (k read-only ones,
   * then the outputs).
   */
  private bindGroup(k: number, inputs: readonly GPUBuffer[], output: GPUBuffer | null): GPUBindGroup {
    const all = output ? [...inputs, output] : inputs;
    const key = k + 32 * (all.length - k - 1);
    let node = this.groupTries[key] ??= new Map();
    for (let i = 0; i < all.length - 1; i++) {
      let next = node.get(all[i]) as Map<GPUBuffer, unknown> | undefined;
      if (!next) node.set(all[i], next = new Map());
      node = next;
    }
    const last = all[all.length - 1];
    let group = node.get(last) as GPUBindGroup | undefined;
    if (!group) {
      if (++this.groupCount > 8192) this.clearGroups();
      const entries: GPUBindGroupEntry[] = all.map((b, i) => ({ binding: i, resource: this.binding(b) }));
      entries.push({
        binding: all.length,
        resource: { buffer: this.uniformBuffer, offset: 0, size: UNIFORM_SLOT },
      });
      group = this.device.createBindGroup({ layout: this.groupLayouts[key], entries });
      this.bindGroupsCreated++;
      node.set(last, group);
    }
    return group;
  }

  private clearGroups(): void {
    this.groupTries.length = 0;
    this.groupCount = 0;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.lastPipeline = null;
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    return this.pass;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Submits the pending batch (no wait). */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    const cmd = this.encoder.finish();
    this.encoder = null;
    if (this.uniformUsed) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformHost.buffer, 0, this.uniformUsed);
    }
    this.device.queue.submit([cmd]);
    this.uniformUsed = 0;
    this.pending = 0;
    this.batch++;
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
  }

  /** Copies `bytes` bytes of `buf` to the host once every dispatch encoded so far has run. */
  async read(buf: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(buf, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      staging.destroy();
      this.throwIfFailed();
    }
  }

  /** Throws the first validation error the device reported (a kernel bug), if any. */
  throwIfFailed(): void {
    if (this.firstError !== null) {
      const msg = this.firstError;
      this.firstError = null;
      throw new BackendError(`webgpu: the device reported an error: ${msg}`);
    }
  }
}
