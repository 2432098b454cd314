/**
 * Packed GEMM panels kept between products for operands read again with the same layout: the
 * frozen weight of a LoRA layer (x·Wᵀ packs Wᵀ, a million elements, at every step), the input batch
 * of an MLP (xᵀ·∂h packs xᵀ at every step). The public `matmul` kernel opts in (`gemm(…, cache)`):
 * its operands are immutable tensor storage. Nothing else does, since other callers (the blocked
 * Householder QR) run the GEMM on arrays they change in place.
 *
 * An entry is keyed weakly by the operand's array and by its layout (role, kernel shape, offset,
 * strides, lanes, k): it is made on the second product that packs that array with that layout (an
 * array packed once, an activation, never takes room) and read from the third on; `dropPanels`
 * (called by `pool.ts` when it recycles an array, whose contents then change) forgets the array's
 * entries. The blocks live in the Wasm memory, at most `maxBytes` of them (default 32 MiB), the
 * least recently read evicted first and freed at once (not left to the garbage collector). The
 * kernel reads the same packed bytes it would have packed, so the results are bit for bit those of
 * the uncached product.
 * @module
 */
import type { TypedArray } from "../../../dtype.ts";
import { heapAddress, heapArray, heapRelease } from "./heap.ts";

/** A block of packed panels of one operand layout. */
export interface Panels {
  /** Byte address of the packed block. */
  at: number;
  /** Its bytes. */
  bytes: number;
  /** The typed array over the block (released on eviction). */
  block: TypedArray;
  /** The list of its array's entries (for removal), and its layout key. */
  list: Panels[];
  key: string;
}

let maxBytes = 32 * 1024 * 1024;
let usedBytes = 0;
/** Entries in order of last use, least recent first. */
const recency = new Set<Panels>();
const byArray = new WeakMap<TypedArray, Panels[]>();
/** Layouts each array has been packed with once (the second packing makes an entry). */
const sightings = new WeakMap<TypedArray, Set<string>>();
const stats = { hits: 0, made: 0, evicted: 0 };

/** The entry for `src` packed with layout `key`, marked as just used; null when there is none. */
export function findPanels(src: TypedArray, key: string): Panels | null {
  const got = byArray.get(src)?.find((p) => p.key === key);
  if (!got) return null;
  recency.delete(got);
  recency.add(got);
  stats.hits++;
  return got;
}

/**
 * A new entry of `bytes` for `src` packed with `key`, for the caller to pack into, or null: on the
 * first sighting of that layout, when the budget cannot hold it without evicting `keep` (the other
 * operand's entry of the same product), or when the memory cannot.
 */
export function reservePanels(
  src: TypedArray,
  key: string,
  bytes: number,
  f64: boolean,
  keep: Panels | null,
): Panels | null {
  let seen = sightings.get(src);
  if (!seen) sightings.set(src, seen = new Set());
  if (!seen.has(key)) {
    seen.add(key);
    return null;
  }
  if (bytes + (keep ? keep.bytes : 0) > maxBytes) return null;
  for (const p of recency) {
    if (usedBytes + bytes <= maxBytes) break;
    if (p !== keep) evict(p);
  }
  if (usedBytes + bytes > maxBytes) return null;
  const block = heapArray(f64 ? "float64" : "float32", Math.ceil(bytes / (f64 ? 8 : 4)), false);
  if (!block) return null;
  let list = byArray.get(src);
  if (!list) byArray.set(src, list = []);
  const p: Panels = { at: heapAddress(block), bytes, block, list, key };
  list.push(p);
  recency.add(p);
  usedBytes += bytes;
  stats.made++;
  return p;
}

function evict(p: Panels): void {
  recency.delete(p);
  const i = p.list.indexOf(p);
  if (i >= 0) p.list.splice(i, 1);
  heapRelease(p.block);
  usedBytes -= p.bytes;
  stats.evicted++;
}

/** Forgets every entry and sighting of `a` (its contents are about to change: `pool.ts` recycles it). */
export function dropPanels(a: TypedArray): void {
  sightings.delete(a);
  const list = byArray.get(a);
  if (!list) return;
  for (const p of [...list]) evict(p);
  byArray.delete(a);
}

/**
 * Sets the most bytes of packed panels kept (0: none), evicting down to it; returns the previous
 * limit (testing and tuning hook).
 */
export function setPanelBytes(bytes: number): number {
  const old = maxBytes;
  maxBytes = bytes;
  for (const p of recency) {
    if (usedBytes <= maxBytes) break;
    evict(p);
  }
  return old;
}

/** Counts since the last call (then reset): hits, entries made and evicted; and the bytes held now. */
export function panelStats(): { hits: number; made: number; evicted: number; bytes: number } {
  const out = { ...stats, bytes: usedBytes };
  stats.hits = stats.made = stats.evicted = 0;
  return out;
}
