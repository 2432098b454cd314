/**
 * The WebGPU backend object: storage, host transfers, the kernel table, and the bookkeeping that
 * frees GPU buffers. A storage is either concrete (a pooled GPU buffer) or lazy (a fused
 * elementwise expression, see fusion.ts). Buffers are reference-counted: a concrete storage holds
 * its buffer, a lazy one holds every buffer its expression reads; a buffer returns to the pool
 * when its count drops to zero (storage released by a scope, or garbage-collected).
 * @module
 */
import type { Aval, Backend, Kernel, Storage } from "../backend.ts";
import { float16Array, isFloat16Array, type TypedArray } from "../../dtype.ts";
import { BackendError } from "../../errors.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import {
  compileFused,
  type ConstNode,
  fits,
  type FNode,
  fusedGroups,
  type FusionLimits,
  leafBuffers,
  type LeafNode,
} from "./fusion.ts";
import type { GpuRuntime, WebGPUMemory } from "./runtime.ts";
import { GPU_ITEM, wgslType } from "./wgsl.ts";
import { packedBytes, packHost, unpackHost } from "./half.ts";
import { StatusWarning, warningShown } from "./linalg_status.ts";
import { encodeDroppedGapCheck } from "./spectral_gaps.ts";

/** What a storage keeps alive; the finalizer releases it. */
interface Holder {
  /** The concrete buffer, once there is one. */
  buffer: GPUBuffer | null;
  /** Buffers read by the lazy expression, until it is materialised. */
  leaves: GPUBuffer[];
}

/**
 * WebGPU storage: a GPU buffer (float32, int32, bool as u32, or float16 as packed pairs in u32
 * words, see half.ts), or a lazy fused expression.
 */
export class WebGPUStorage implements Storage {
  /** The backend that owns this storage. */
  readonly backend: Backend;
  /** Bytes of elements. */
  readonly byteSize: number;
  /** Set once released by a scope. */
  released?: boolean;
  /** @internal what this storage keeps alive */
  readonly holder: Holder;
  /** @internal the lazy expression (null once concrete) */
  node: FNode | null;
  /** @internal times the expression was inlined into another */
  inlined = 0;
  /** @internal leaf nodes reading this storage's buffer, by shape */
  leafCache?: Map<string, LeafNode>;

  /**
   * @param backend the owning backend
   * @param holder what it keeps alive
   * @param node the lazy expression, or null for a concrete buffer
   * @param byteSize bytes of elements
   */
  constructor(backend: Backend, holder: Holder, node: FNode | null, byteSize: number) {
    this.backend = backend;
    this.holder = holder;
    this.node = node;
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
  /** Limits of one fused elementwise kernel. */
  readonly limits: FusionLimits;
  /** Whether elementwise ops are fused (lazy); false runs each op as its own kernel. */
  fusion = true;
  /**
   * scatterAdd loops over the indices per output element (deterministic) while
   * outputs × indices ≤ this; beyond, it adds atomically per update (order varies).
   */
  scatterLoopLimit: number = 1 << 26;
  /**
   * Checks run beside every read (linear algebra's failure log, see linalg_status.ts); one that
   * throws fails the read. They read in the same wait as the data.
   */
  readonly readChecks: (() => Promise<void>)[] = [];
  private readonly refs = new Map<GPUBuffer, number>();
  private readonly registry: FinalizationRegistry<Holder>;

  /**
   * @param runtime the runtime over the device
   * @param description the adapter's description
   */
  constructor(runtime: GpuRuntime, description: string) {
    this.runtime = runtime;
    this.description = description;
    const bindings = runtime.device.limits.maxStorageBuffersPerShaderStage;
    // 10 strided leaves, 16 constants: 4 + 8 + 10·8 + 16 + 12 = 120 uniform words ≤ 128
    this.limits = { maxBuffers: Math.min(12, bindings - 1), maxStrided: 10, maxConsts: 16, maxOps: 48 };
    this.registry = new FinalizationRegistry((h) => this.drop(h));
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

  private retain(b: GPUBuffer): void {
    this.refs.set(b, (this.refs.get(b) ?? 0) + 1);
  }

  private unref(b: GPUBuffer): void {
    const c = (this.refs.get(b) ?? 1) - 1;
    if (c > 0) this.refs.set(b, c);
    else {
      this.refs.delete(b);
      this.runtime.free(b);
    }
  }

  private drop(h: Holder): void {
    if (h.buffer) this.unref(h.buffer);
    for (const b of h.leaves) this.unref(b);
    h.buffer = null;
    h.leaves = [];
  }

  /** Wraps a freshly allocated buffer holding `aval`'s elements as concrete storage. */
  wrap(buffer: GPUBuffer, aval: Aval): WebGPUStorage {
    this.retain(buffer);
    const h: Holder = { buffer, leaves: [] };
    const s = new WebGPUStorage(this, h, null, this.size(aval.shape) * GPU_ITEM);
    this.registry.register(s, h, s);
    return s;
  }

  /** A lazy storage computing `node` (its leaf buffers are kept alive until it is materialised). */
  lazy(node: FNode, aval: Aval): WebGPUStorage {
    this.runtime.checkBytes(this.size(aval.shape) * GPU_ITEM); // fail now, in the op, not at a later read
    const leaves = leafBuffers(node);
    for (const b of leaves) this.retain(b);
    const h: Holder = { buffer: null, leaves };
    const s = new WebGPUStorage(this, h, node, this.size(aval.shape) * GPU_ITEM);
    this.registry.register(s, h, s);
    return s;
  }

  /** The buffer of a storage, running its fused kernel first if it is lazy. */
  buf(s: Storage): GPUBuffer {
    if (s.released) {
      throw new BackendError("webgpu: tensor was released by scope(); return it from the scope to keep it");
    }
    const g = s as WebGPUStorage;
    if (g.node) this.materialize(g);
    return g.holder.buffer!;
  }

  /** Encodes the fused kernel of a lazy storage into a new buffer; the storage becomes concrete. */
  private materialize(s: WebGPUStorage): void {
    const node = s.node!;
    const out = this.alloc(node);
    const n = this.size(node.shape);
    if (n > 0) {
      const k = compileFused(node, node.shape);
      this.runtime.dispatch({
        code: k.code,
        inputs: k.inputs,
        output: out,
        uniforms: k.uniforms,
        groups: fusedGroups(n),
      });
    }
    this.retain(out);
    const old = s.holder.leaves;
    s.holder.buffer = out;
    s.holder.leaves = [];
    s.node = null;
    s.leafCache = undefined;
    for (const b of old) this.unref(b);
  }

  /** The node to use for input storage `s` (of aval `a`) in an elementwise op producing `out`. */
  nodeOf(s: Storage, a: Aval, out: Aval): FNode {
    const g = s as WebGPUStorage;
    if (g.released) this.buf(s); // throws
    const node = g.node;
    if (node && this.fusion) {
      if (node.kind === "const") return node;
      const sameShape = a.shape.length === node.shape.length && a.shape.every((d, i) => d === node.shape[i]);
      const sameOut = sameShape && a.shape.length === out.shape.length && a.shape.every((d, i) => d === out.shape[i]);
      // inline once (a second consumer reads a materialised buffer), or always when it is cheap
      const cheap = node.kind === "op" && node.cost <= 2;
      if (sameShape && (g.inlined === 0 || cheap) && (sameOut || (node.kind === "op" && node.cost <= 4))) {
        g.inlined++;
        return node;
      }
    }
    const buffer = this.buf(s);
    const key = a.shape.join(",");
    g.leafCache ??= new Map();
    let leaf = g.leafCache.get(key);
    if (!leaf) {
      leaf = { kind: "leaf", buffer, shape: a.shape, dtype: a.dtype };
      g.leafCache.set(key, leaf);
    }
    return leaf;
  }

  /**
   * A storage for the elementwise result `make(args)` of `inputs`: lazy when fusion is on and the
   * DAG fits one kernel (otherwise the inputs are materialised first), concrete when fusion is off.
   */
  elementwise(
    inputs: readonly Storage[],
    inAvals: readonly Aval[],
    out: Aval,
    make: (args: FNode[]) => FNode,
    fold?: (values: number[]) => number,
  ): WebGPUStorage {
    // constants in, constant out: folded on the host
    const consts = inputs.map((s) => (s as WebGPUStorage).node);
    if (fold && this.fusion && consts.every((c) => c?.kind === "const")) {
      return this.constant(fold(consts.map((c) => (c as ConstNode).value)), out);
    }
    wgslType(out.dtype);
    // an input passed twice (square = x·x) is one node
    const memo = new Map<string, FNode>();
    const ids = new Map<Storage, number>();
    let node = make(inputs.map((s, i) => {
      if (!ids.has(s)) ids.set(s, ids.size);
      const key = `${ids.get(s)}|${inAvals[i].shape}`;
      let nd = memo.get(key);
      if (!nd) memo.set(key, nd = this.nodeOf(s, inAvals[i], out));
      return nd;
    }));
    if (!fits(node, this.limits)) {
      const leaf = (s: Storage, a: Aval): FNode => {
        const g = s as WebGPUStorage;
        return g.node?.kind === "const"
          ? g.node
          : { kind: "leaf", buffer: this.buf(s), shape: a.shape, dtype: a.dtype } as LeafNode;
      };
      node = make(inputs.map((s, i) => leaf(s, inAvals[i])));
    }
    const s = this.lazy(node, out);
    if (!this.fusion) this.materialize(s);
    return s;
  }

  /**
   * The reshape of a lazy storage to `to` as a new lazy storage, when its expression reads every
   * buffer contiguously at its own shape or as a scalar; otherwise null (the caller shares storage).
   */
  reshapeLazy(s: Storage, to: Aval): WebGPUStorage | null {
    const g = s as WebGPUStorage;
    const node = g.node;
    if (!node || !this.fusion || g.released) return null;
    if (node.kind === "const") return this.constant(node.value, to);
    const from = node.shape;
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    const memo = new Map<FNode, FNode | null>();
    const remap = (x: FNode): FNode | null => {
      if (memo.has(x)) return memo.get(x)!;
      let r: FNode | null;
      if (x.kind === "const") r = { ...x, shape: to.shape };
      else if (x.kind === "leaf") {
        r = this.size(x.shape) === 1 ? x : same(x.shape, from) ? { ...x, shape: to.shape } : null;
      } else if (!same(x.shape, from)) r = null;
      else {
        const args = x.args.map(remap);
        r = args.every((a) => a !== null) ? { ...x, args: args as FNode[], shape: to.shape } : null;
      }
      memo.set(x, r);
      return r;
    };
    const moved = remap(node);
    if (!moved) return null;
    g.inlined++;
    return this.lazy(moved, to);
  }

  /** A lazy constant of `aval`. */
  constant(value: number, aval: Aval): WebGPUStorage {
    const t = wgslType(aval.dtype, "full");
    const v = t === "u32" ? (value !== 0 ? 1 : 0) : value;
    const node: ConstNode = { kind: "const", value: v, shape: aval.shape, dtype: aval.dtype };
    const s = this.lazy(node, aval);
    if (!this.fusion) this.materialize(s);
    return s;
  }

  /** Copies host elements into a new storage. */
  fromHost(data: TypedArray, aval: Aval): Storage {
    if (aval.dtype === "float16") {
      // packed pairs in u32 words (half.ts)
      const host = isFloat16Array(data) ? data : float16Array("tensor").from(data as ArrayLike<number>);
      const buffer = this.runtime.alloc(packedBytes(host.length), true);
      this.runtime.upload(buffer, packHost(host));
      return this.wrap(buffer, aval);
    }
    const t = wgslType(aval.dtype, "tensor");
    const buffer = this.runtime.alloc(this.size(aval.shape) * GPU_ITEM, true);
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
    if (aval.dtype === "float16") {
      if (n === 0) return new (float16Array("data"))(0);
      const bytes = this.runtime.read(this.buf(s), packedBytes(n));
      const all = this.readChecks.length
        ? await Promise.all([bytes, ...this.readChecks.map((c) => c())])
        : [await bytes];
      return unpackHost(all[0] as ArrayBuffer, n);
    }
    const t = wgslType(aval.dtype, "data");
    if (n === 0) return t === "f32" ? new Float32Array(0) : t === "i32" ? new Int32Array(0) : new Uint8Array(0);
    const read = this.runtime.read(this.buf(s), n * GPU_ITEM);
    const bytes = this.readChecks.length
      ? (await Promise.all([read, ...this.readChecks.map((check) => check())]))[0]
      : await read;
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

  /** Releases the storage now: its buffer (or its expression's buffers) lose this holder. */
  release(s: Storage): void {
    if (s.released) return;
    const g = s as WebGPUStorage;
    this.registry.unregister(g);
    g.released = true;
    g.node = null;
    g.leafCache = undefined;
    this.drop(g.holder);
  }

  /**
   * The dropped-gap check as kernels (`spectral_gaps.ts`) whose status the failure log's next read
   * finds and prints as a warning (`linalg_status.ts`), once per `once`.
   */
  checkDroppedGaps: NonNullable<Backend["checkDroppedGaps"]> = (v, scale, k, check, once, key, message) => {
    if (warningShown(once)) return;
    encodeDroppedGapCheck(this, v, scale, k, check, key, (f) => new StatusWarning(message(f.index, f.value), once));
  };

  /** Pool counters. */
  memory(): WebGPUMemory {
    return this.runtime.memory();
  }
}
