/**
 * Applies a recorded list of plane rotations to the rows of a float64 matrix with the Wasm kernels
 * of `rotations_kernel.ts`, the columns split among the threads of `engine.ts` (each thread owns a
 * range of columns, so results do not depend on the number of threads). The SVD's and eigh's QR
 * iterations record their rotations as they go and apply them here at the end: one pass over the
 * vectors' columns, chunk by chunk in cache, instead of one pass over whole rows per QR step.
 * @module
 */
import { fnIndex, getEngine, runJob, views } from "./engine.ts";
import { heapAddress, scratch } from "./heap.ts";
import { ROT_STEP } from "./rotations_kernel.ts";

/** Column bytes each row keeps in cache while every rotation passes (all rows × 512 B ≈ L2). */
const CHUNK = 512;
/** Work (rotations × row bytes) from which the columns are split among threads. */
const THREAD_MIN_WORK = 1 << 22;

/**
 * Rotates the rows of `rows` (`count` rows of `len` float64, contiguous) by the operations `ops`
 * (int32 records `[kind, a, b, ci]`, `nops` of them: kind 0 a chain of rotations j = a …< b on
 * rows (j, j+1), kind 1 one rotation of rows (a, b); (c, s) pairs in `cs` from index ci) in order.
 * `rotations` (the total count) sizes the split among threads. Returns false (rows untouched) where
 * the Wasm module or its memory is unavailable.
 */
export function wasmRotateRows(
  rows: Float64Array,
  len: number,
  count: number,
  ops: Int32Array,
  nops: number,
  cs: Float64Array,
  csLen: number,
  rotations: number,
): boolean {
  const e = getEngine();
  if (!e || len === 0 || count === 0 || nops === 0) return e !== null;
  // operands in the memory are read in place, the others copied into scratch
  let at = heapAddress(rows), opsAt = heapAddress(ops), csAt = heapAddress(cs);
  const opsBytes = opsAt < 0 ? nops * 16 : 0, csBytes = csAt < 0 ? csLen * 8 : 0;
  const rowBytes = at < 0 ? count * len * 8 : 0;
  const base = scratch("rotations", opsBytes + csBytes + rowBytes + 192);
  if (base < 0) return false;
  views(e);
  const csTo = base + Math.ceil(opsBytes / 64) * 64, rowsAt = csTo + Math.ceil(csBytes / 64) * 64;
  if (opsAt < 0) {
    opsAt = base;
    new Int32Array(e.heap.memory.buffer, opsAt, nops * 4).set(ops.subarray(0, nops * 4));
  }
  if (csAt < 0) {
    csAt = csTo;
    e.v64.set(cs.subarray(0, csLen), csAt / 8);
  }
  if (at < 0) {
    e.v64.set(rows.subarray(0, count * len), rowsAt / 8);
    at = rowsAt;
  }
  // column ranges: whole 16-byte steps split among the tasks, then an 8-byte rest
  const stride = len * 8, wide = Math.floor(stride / ROT_STEP.v) * ROT_STEP.v;
  const fv = fnIndex("rot64v"), fs = fnIndex("rot64s");
  const steps = wide / ROT_STEP.v;
  runJob(e, "rotations", rotations * stride, THREAD_MIN_WORK, (threads) => {
    const parts = threads > 1 ? 4 * threads : 1, tasks: number[][] = [];
    for (let t = 0; t < parts; t++) {
      const s0 = Math.floor((steps * t) / parts) * ROT_STEP.v, s1 = Math.floor((steps * (t + 1)) / parts) * ROT_STEP.v;
      if (s1 > s0) tasks.push([fv, at, stride, s0, s1, opsAt, nops, csAt, CHUNK]);
    }
    if (stride > wide) tasks.push([fs, at, stride, wide, stride, opsAt, nops, csAt, CHUNK]);
    return { tasks };
  });
  if (at === rowsAt) rows.set(e.v64.subarray(rowsAt / 8, rowsAt / 8 + count * len));
  return true;
}
