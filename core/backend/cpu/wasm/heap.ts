/**
 * The one WebAssembly memory the CPU backend's Wasm kernels share (GEMM, elementwise arithmetic,
 * linear algebra), and an allocator that places CPU tensor storage inside it, so that a kernel reads
 * its operands and writes its result in place instead of copying them in and out on every call.
 *
 * The memory is shared (`shared: true`) where the platform allows it: growing a shared memory never
 * detaches the typed arrays over it, so a tensor's array stays valid while the heap grows, and the
 * GEMM's worker threads see the same bytes. Where only unshared memory exists (a browser page without
 * cross-origin isolation) growth would detach every view, so no tensor lives in it: `heapArray`
 * returns null, and the kernels copy operands into scratch regions as before.
 *
 * Allocator: 64-byte aligned blocks (a cache line; SIMD loads want 16), exact-size free lists, a bump
 * pointer, growth by at least a quarter of the size so far (16 MiB at least), and, when the memory
 * cannot grow, one compaction (adjacent free blocks merged, the topmost returned to the bump pointer)
 * and a first-fit search with splitting. A block is freed explicitly (`heapRelease`, from the array
 * pool) or, for an array nobody released, when its typed array is garbage collected
 * (`FinalizationRegistry`). A WebAssembly memory never shrinks: the bytes the heap reached stay
 * reserved by the process and are reused.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import type { MemoryDef } from "./emit.ts";

const PAGE = 65536;
const ALIGN = 64;
/** Bytes at the bottom of the memory kept for the kernels' control blocks (GEMM task table). */
export const RESERVED_BYTES = 64 * 1024;
/** Pages at creation (16 MiB). */
const INITIAL_PAGES = 256;

/**
 * `WebAssembly.Memory` where the program's globals declare WebAssembly (Deno's, the DOM lib's), else
 * the members the kernels use: the npm package's declarations then name no `WebAssembly` namespace,
 * which a consumer without the DOM lib (ES2022 alone, or with @types/node) does not have.
 */
export type WasmMemory = typeof globalThis extends { WebAssembly: { Memory: { prototype: infer M } } } ? M
  : { readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(delta: number): number };

/** The memory, how it was declared (modules must import it with the same limits), and whether tensors may live in it. */
export interface WasmHeap {
  /** The memory every CPU Wasm module imports as `env.memory`. */
  memory: WasmMemory;
  /** Its limits, for `assemble`. */
  def: MemoryDef;
  /** Shared memory: views survive growth, tensors may live here, workers may run on it. */
  shared: boolean;
}

let heap: WasmHeap | null | undefined;
/** Buffers (one per size the shared memory has had) whose views are heap arrays. */
const buffers = new WeakSet<ArrayBufferLike>();

// allocator state (byte offsets)
let top = RESERVED_BYTES;
/** Bytes at and above this offset have never been handed out (still zero). */
let clean = RESERVED_BYTES;
const freeLists = new Map<number, number[]>();
let freeBytes = 0;
let liveBytes = 0;

const registry = new FinalizationRegistry<[number, number]>(([off, size]) => free(off, size));

/**
 * The memory (created on first use: shared with a 4 GiB, then 2 GiB, maximum, else unshared);
 * null where WebAssembly memories cannot be created.
 */
export function getHeap(): WasmHeap | null {
  if (heap !== undefined) return heap;
  heap = null;
  const attempts: MemoryDef[] = [
    { initial: INITIAL_PAGES, maximum: 65536, shared: true },
    { initial: INITIAL_PAGES, maximum: 32768, shared: true },
    { initial: INITIAL_PAGES, maximum: 32768, shared: false },
  ];
  for (const def of attempts) {
    try {
      const memory = new WebAssembly.Memory(def as WebAssembly.MemoryDescriptor);
      heap = { memory, def, shared: def.shared === true };
      if (heap.shared) buffers.add(memory.buffer);
      return heap;
    } catch {
      // next
    }
  }
  return heap;
}

const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;

/** Grows the memory so that `end` bytes are addressable; false when it cannot. */
function growTo(h: WasmHeap, end: number): boolean {
  const have = h.memory.buffer.byteLength;
  if (end <= have) return true;
  const max = h.def.maximum! * PAGE;
  if (end > max) return false;
  const want = Math.min(max, Math.max(end, have + Math.max(have / 4, 16 * 1024 * 1024)));
  for (const target of [want, end]) {
    try {
      h.memory.grow(Math.ceil((target - have) / PAGE));
      if (h.shared) buffers.add(h.memory.buffer);
      return true;
    } catch {
      // try the bare minimum, then give up
    }
  }
  return false;
}

/** Merges adjacent free blocks and hands the topmost back to the bump pointer. */
function compact(): void {
  const blocks: [number, number][] = [];
  for (const [size, offs] of freeLists) for (const o of offs) blocks.push([o, size]);
  blocks.sort((a, b) => a[0] - b[0]);
  freeLists.clear();
  const merged: [number, number][] = [];
  for (const [o, s] of blocks) {
    const last = merged[merged.length - 1];
    if (last && last[0] + last[1] === o) last[1] += s;
    else merged.push([o, s]);
  }
  const last = merged[merged.length - 1];
  if (last && last[0] + last[1] === top) {
    top = last[0];
    freeBytes -= last[1];
    merged.pop();
  }
  for (const [o, s] of merged) pushFree(o, s);
}

function pushFree(off: number, size: number): void {
  let list = freeLists.get(size);
  if (!list) freeLists.set(size, list = []);
  list.push(off);
}

function free(off: number, size: number): void {
  pushFree(off, size);
  freeBytes += size;
  liveBytes -= size;
}

/**
 * A block of at least `bytes` bytes: `[offset, fresh]` (fresh: never handed out, so zero), or null
 * when the memory cannot hold it.
 */
function alloc(h: WasmHeap, bytes: number): [number, boolean] | null {
  const size = roundUp(Math.max(bytes, 1), ALIGN);
  const list = freeLists.get(size);
  if (list && list.length > 0) {
    freeBytes -= size;
    liveBytes += size;
    return [list.pop()!, false];
  }
  if (!growTo(h, top + size)) {
    compact();
    // first fit among the merged blocks, the rest of the block going back to the free lists
    for (const [s, offs] of freeLists) {
      if (s < size || offs.length === 0) continue;
      const off = offs.pop()!;
      freeBytes -= s;
      if (s > size) {
        pushFree(off + size, s - size);
        freeBytes += s - size;
      }
      liveBytes += size;
      return [off, false];
    }
    if (!growTo(h, top + size)) return null;
  }
  const off = top;
  top += size;
  const fresh = off >= clean;
  if (top > clean) clean = top;
  liveBytes += size;
  return [off, fresh];
}

/** A typed array of dtype `d` over `buf` (one constructor per branch: a union of them has no call signature a consumer's lib accepts). */
function view(d: DType, buf: ArrayBufferLike, off: number, n: number): TypedArray {
  switch (d) {
    case "float16":
      return new Float16Array(buf, off, n);
    case "float32":
      return new Float32Array(buf, off, n);
    case "float64":
      return new Float64Array(buf, off, n);
    case "int32":
      return new Int32Array(buf, off, n);
    case "bool":
      return new Uint8Array(buf, off, n);
  }
}
const BYTES: Record<DType, number> = { float16: 2, float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * A typed array of `n` elements of dtype `d` inside the shared memory (zeroed when `zero`; otherwise
 * its contents are arbitrary), freed when released with `heapRelease` or garbage collected; null
 * where the memory is not shared or is full.
 */
export function heapArray(d: DType, n: number, zero: boolean): TypedArray | null {
  const h = getHeap();
  if (!h?.shared) return null;
  const bytes = n * BYTES[d];
  const got = alloc(h, bytes);
  if (!got) return null;
  const [off, fresh] = got;
  const a = view(d, h.memory.buffer, off, n);
  if (zero && !fresh) a.fill(0);
  registry.register(a, [off, roundUp(Math.max(bytes, 1), ALIGN)], a);
  return a;
}

/**
 * Frees the block of an array `heapArray` returned (at once: the caller guarantees nothing reads it
 * any more); returns false, doing nothing, for any other array (or one already released).
 */
export function heapRelease(a: TypedArray): boolean {
  if (!registry.unregister(a)) return false;
  free(a.byteOffset, roundUp(Math.max(a.byteLength, 1), ALIGN));
  return true;
}

/** Byte address of `a[0]` in the shared memory, or −1 when `a` does not live there. */
export function heapAddress(a: TypedArray): number {
  return buffers.has(a.buffer) ? a.byteOffset : -1;
}

/**
 * A scratch region of at least `bytes` bytes kept per `slot` between calls (it grows as needed; the
 * previous region of the slot is freed then). Returns its byte address, or −1 when the memory
 * cannot hold it. Not reentrant per slot: one kernel call uses it at a time.
 */
export function scratch(slot: string, bytes: number): number {
  const h = getHeap();
  if (!h) return -1;
  const have = scratchRegions.get(slot);
  if (have && have[1] >= bytes) return have[0];
  if (have) free(have[0], have[1]);
  const size = roundUp(have ? Math.max(bytes, have[1] * 1.25) : bytes, ALIGN);
  const got = alloc(h, size);
  if (!got) {
    scratchRegions.delete(slot);
    return -1;
  }
  scratchRegions.set(slot, [got[0], size]);
  return got[0];
}
const scratchRegions = new Map<string, [number, number]>();

/** Bytes in use, on the free lists, and reached so far (the memory's high-water mark), for tests and diagnostics. */
export function heapStats(): { liveBytes: number; freeBytes: number; topBytes: number; memoryBytes: number } {
  return { liveBytes, freeBytes, topBytes: top, memoryBytes: heap ? heap.memory.buffer.byteLength : 0 };
}
