/**
 * Recycling of the CPU backend's element arrays. When `scope` releases a CPU tensor, its typed
 * array goes to a free list by dtype and length, and the next kernel output of that dtype and
 * length reuses it. A training loop then allocates almost nothing after its first step, which
 * spares V8 the garbage collections that fresh array buffers provoke ("external memory
 * pressure") and keeps the arrays warm in cache.
 *
 * Recycled arrays of `MIN_BYTES` (4 KiB) and more live in the WebAssembly memory the CPU kernels
 * share (`wasm/heap.ts`, where it is shared memory), so the Wasm GEMM and elementwise kernels read
 * and write them in place: a released plain array is dropped and a block of that memory of the same
 * dtype and length goes on the free list in its place. Smaller ones are recycled as the plain arrays
 * they are, and arrays of at most `ON_HEAP_BYTES` are not recycled at all. New arrays (a miss) are plain typed arrays, whose memory the garbage collector
 * sees and reclaims: tensors dropped without `scope` (an evaluation loop) never grow the Wasm
 * memory, which the collector cannot see (its blocks come back only through a
 * `FinalizationRegistry`, whose callbacks wait for the event loop). So the Wasm memory holds what
 * scoped loops recycle; a training loop runs in it from its second step on.
 * Plain operands the GEMM reads again and again (frozen weights, an input batch reused by every
 * step) are moved into it too, once (`settle`).
 *
 * Only arrays this module handed out are recycled, and only once: `disown` (called when an array
 * is wrapped from outside the CPU kernels, for instance by a linear-algebra kernel that may return
 * an input's array) removes an array from recycling for good, so an array shared by two storages
 * is never handed out while one of them still reads it (an array in the Wasm memory that is
 * disowned returns its bytes to the memory when it is garbage collected).
 * @module
 */
import { allocate, type DType, type TypedArray } from "../../dtype.ts";
import { heapAddress, heapArray, heapRelease, heapStats } from "./wasm/heap.ts";
import { dropPanels } from "./wasm/panels.ts";

/** Arrays below this size are recycled as plain arrays, never moved into the Wasm memory (see `giveArray`). */
const MIN_BYTES = 4096;
/**
 * Arrays of at most this many bytes are always allocated fresh: V8 keeps them inside its own heap.
 * Larger ones get a separately allocated buffer (malloc'd, with its bookkeeping, and freed by the
 * collector's sweep), which took ~15% of a cross-entropy step on [128, 10] logits (its 128-element
 * rows and masks) before these were recycled too.
 */
const ON_HEAP_BYTES = 64;
/** Most bytes kept on the free lists; beyond it released arrays are left to the garbage collector. */
let maxBytes = 2 * 1024 * 1024 * 1024;

const owned = new WeakSet<TypedArray>();
/** Free arrays by dtype and length. */
const free = new Map<DType, Map<number, TypedArray[]>>();
let freeBytes = 0;
const stats = { fresh: 0, freshBytes: 0, reused: 0, reusedBytes: 0, dropped: 0 };

const BYTES: Record<DType, number> = { float16: 2, float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * An array for `n` elements of dtype `d`: recycled when one of that dtype and length is free,
 * else new. `zero`: the caller needs zeros (a recycled array is cleared first); otherwise the
 * caller must write every element.
 */
export function takeArray(d: DType, n: number, zero: boolean): TypedArray {
  const bytes = n * BYTES[d];
  if (bytes <= ON_HEAP_BYTES) return allocate(d, n);
  const a = free.get(d)?.get(n)?.pop();
  if (a) {
    freeBytes -= bytes;
    stats.reused++;
    stats.reusedBytes += bytes;
    if (zero) a.fill(0);
    return a;
  }
  const fresh = allocate(d, n);
  owned.add(fresh);
  stats.fresh++;
  stats.freshBytes += bytes;
  return fresh;
}

/** Hands a released array back for reuse (ignored unless `takeArray` made it and nothing disowned it). */
export function giveArray(a: TypedArray, d: DType): void {
  if (!owned.has(a)) return;
  unsettle(a);
  dropPanels(a);
  if (freeBytes + a.byteLength > maxBytes) {
    stats.dropped++;
    heapRelease(a);
    return;
  }
  let byLength = free.get(d);
  if (!byLength) free.set(d, byLength = new Map());
  let list = byLength.get(a.length);
  if (!list) byLength.set(a.length, list = []);
  let keep = a;
  // (a small array stays a plain one: in the Wasm memory, operands that small would take the Wasm
  // kernels' per-call setup, and `settle` would move them)
  if (a.byteLength >= MIN_BYTES && heapAddress(a) < 0) {
    // recycle in the Wasm memory instead (the plain array is left to the garbage collector)
    const h = heapArray(d, a.length, false);
    if (h) {
      owned.delete(a);
      owned.add(h);
      keep = h;
    }
  }
  list.push(keep);
  freeBytes += keep.byteLength;
}

/** Smallest operand (bytes) `settle` moves into the Wasm memory (smaller ones the GEMM copies in microseconds). */
const SETTLE_MIN_BYTES = MIN_BYTES;
/** Operands of at least this size move on their second sight, smaller ones on their third. */
const SETTLE_LARGE_BYTES = 1 << 20;
/** Live bytes of the Wasm memory (of its 4 GiB) past which `settle` moves nothing more. */
const SETTLE_MAX_LIVE = 2 * 1024 * 1024 * 1024;
/**
 * Most bytes of copies `settle` made of operands under `SETTLE_LARGE_BYTES` that are not yet
 * released, and of larger ones: past it nothing of that size moves until a copy comes back (a
 * scope's release, or the garbage collector's `FinalizationRegistry` callback, which a synchronous
 * loop never lets run). The small budget holds a few input batches (an MLP's x is 392 KiB) and
 * bounds a loop without scope that makes fresh operands read thrice; the large one holds a frozen
 * model's weights (GPT-2 small's, ~0.5 GB in float32).
 */
const SETTLE_BUDGET = { small: 4 * 1024 * 1024, large: 1024 * 1024 * 1024 };
/** Bytes of `settle`'s copies alive and not handed back to the free lists, by budget. */
const settledBytes = { small: 0, large: 0 };
/** Each live copy `settle` made, to its budget: the count comes down when it is collected. */
const settledCopies = new FinalizationRegistry<[keyof typeof settledBytes, number]>(([which, bytes]) => {
  settledBytes[which] -= bytes;
});
/** Plain float arrays `settle` has seen, and how often. */
const sightings = new WeakMap<TypedArray, number>();

/** A copy `settle` made leaves its budget (released to the free lists: its bytes are the pool's now). */
function unsettle(h: TypedArray): void {
  if (!settledCopies.unregister(h)) return;
  settledBytes[h.byteLength >= SETTLE_LARGE_BYTES ? "large" : "small"] -= h.byteLength;
}

/**
 * For an operand the GEMM reads: a copy of `a` inside the Wasm memory when `a` is a plain float
 * array read here often enough to be reused, else null (`a` stays where it is, and the GEMM copies
 * it into scratch). Arrays of 1 MiB or more move on their second read (a frozen weight read by
 * every step: without the copy, each product would copy it into scratch first, 154 MB for GPT-2's
 * tied embedding); smaller ones (from 4 KiB) on their third, since a training step's activation is
 * read twice (its forward product and its weight's gradient) and then dropped, while an input batch
 * reused by every step (an MLP's x, read by x·W₁ and xᵀ·∂h) moves once and is read in place from then
 * on. Moving costs one copy, the copy a product would make of it anyway, so it never costs a product
 * more than before; an array read once or twice never grows the memory. The copies not yet released
 * are bounded (4 MiB of operands under 1 MiB, 1 GiB of larger ones, `SETTLE_BUDGET`), since a copy
 * nobody releases comes back only when the garbage collector's callback runs, never inside a
 * synchronous loop: past the budget an operand stays where it is, as before `settle`; nothing moves
 * either once the memory's live bytes would pass 2 GiB. The storage then holds the copy (storages
 * are immutable): the copy takes `a`'s place in recycling when `a` was recycled (so a release hands
 * it back), else it is freed when collected.
 */
export function settle(a: TypedArray): TypedArray | null {
  if (a.byteLength < SETTLE_MIN_BYTES || !(a instanceof Float32Array || a instanceof Float64Array)) return null;
  if (heapAddress(a) >= 0) return null;
  const which = a.byteLength >= SETTLE_LARGE_BYTES ? "large" : "small";
  const seen = (sightings.get(a) ?? 0) + 1;
  if (seen < (which === "large" ? 2 : 3)) {
    sightings.set(a, seen);
    return null;
  }
  if (settledBytes[which] + a.byteLength > SETTLE_BUDGET[which]) return null;
  if (heapStats().liveBytes + a.byteLength > SETTLE_MAX_LIVE) return null;
  const h = heapArray(a instanceof Float32Array ? "float32" : "float64", a.length, false);
  if (!h) return null;
  sightings.delete(a);
  h.set(a);
  if (owned.delete(a)) owned.add(h);
  settledBytes[which] += h.byteLength;
  settledCopies.register(h, [which, h.byteLength], h);
  return h;
}

/** Removes an array from recycling for good (it may be shared with storage this module cannot see). */
export function disown(a: TypedArray): void {
  owned.delete(a);
}

/**
 * Sets the most bytes the free lists keep (default 2 GiB; 0 turns recycling off) and empties
 * them; returns the previous limit.
 */
export function setPoolBytes(bytes: number): number {
  const prev = maxBytes;
  maxBytes = bytes;
  releaseFree();
  return prev;
}

/** Empties the free lists, handing arrays that live in the Wasm memory back to it. */
function releaseFree(): void {
  for (const byLength of free.values()) for (const list of byLength.values()) for (const a of list) heapRelease(a);
  free.clear();
  freeBytes = 0;
}

/**
 * Counts since the last call (then reset): arrays taken fresh and recycled (number and bytes),
 * released arrays dropped for want of room, and the bytes on the free lists now.
 */
export function poolStats(): {
  fresh: number;
  freshBytes: number;
  reused: number;
  reusedBytes: number;
  dropped: number;
  freeBytes: number;
} {
  const out = { ...stats, freeBytes };
  stats.fresh =
    stats.freshBytes =
    stats.reused =
    stats.reusedBytes =
    stats.dropped =
      0;
  return out;
}
