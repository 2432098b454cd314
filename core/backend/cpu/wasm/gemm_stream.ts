/**
 * Products with a small inner dimension (k ≤ 8: LoRA's (xAᵀ)·Bᵀ, 512 × 8 · 8 × 1024) by the
 * row-streaming kernel of `skinny_kernel.ts`, for `gemm.ts`'s `wasmGemm`: op(B) packed into the
 * narrow kernels' B panels, then strips of columns as tasks on the engine's threads. Same bits as
 * the tiled path (each output summed in order of k from zero, one multiply-add a step).
 * @module
 */
import { type Engine, fnIndex, runJob, THREAD_MIN_FLOPS, views } from "./engine.ts";
import { heapAddress, scratch } from "./heap.ts";
import { type Float, ranges, roundUp } from "./gemm_layout.ts";
import { STREAM_MAX_K } from "./skinny_kernel.ts";

/** Products computed by the row-streaming kernel, for tests. */
let streamedJobs = 0;

/** How many products so far went through the row-streaming kernel for small k (testing hook). */
export function streamJobs(): number {
  return streamedJobs;
}

// the narrow kernels' B packing function (EXPORTS)
const PACK32N = fnIndex("packB32n"), PACK64N = fnIndex("packB64n");

/** Columns of C per task of the row-streaming kernel (its panels of op(B) stay in L1: 8 KiB for k = 8). */
const STREAM_COLS = 256;
/** Largest k for which the row-streaming kernel is used (at most `STREAM_MAX_K`; 0: never). */
let streamMaxK = STREAM_MAX_K;
const STREAM32 = fnIndex("stream32"), STREAM64 = fnIndex("stream64");

/**
 * Testing and measuring hook: the largest k for which products go through the row-streaming kernel
 * (0: never, the tiled path; at most 8); returns the previous value.
 */
export function setStreamK(k: number): number {
  const old = streamMaxK;
  streamMaxK = Math.min(k, STREAM_MAX_K);
  return old;
}

/**
 * C = op(A)·op(B) by the row-streaming kernel of `skinny_kernel.ts` when k ≤ `streamMaxK`, C has
 * at least 16 rows and whole panels of columns, and A, B and C are in the memory: op(B) is packed
 * into the narrow kernels' B panels (any layout), then each strip of `STREAM_COLS` columns is a
 * task (on threads, of one band of rows per thread). Same bits as the tiled path. Returns false
 * (nothing written) where the shape or placement does not fit.
 */
export function stream(
  e: Engine,
  A: Float,
  ao: number,
  ars: number,
  acs: number,
  B: Float,
  bo: number,
  brs: number,
  bcs: number,
  C: Float,
  co: number,
  m: number,
  n: number,
  k: number,
): boolean {
  const f64 = C instanceof Float64Array, es = f64 ? 8 : 4, nr = 32 / es;
  if (k > streamMaxK || m < 16 || n % nr !== 0) return false;
  const aAt = heapAddress(A), bAt = heapAddress(B), cAt = heapAddress(C);
  if (aAt < 0 || bAt < 0 || cAt < 0) return false;
  // op(B) packed into panels of nr columns (two vectors), step p of panel t at bs + (t·kp + p)·32
  const np = n / nr, kp = roundUp(k, 4), bs = scratch("gemmR", np * kp * 32 + 64);
  if (bs < 0) return false;
  views(e);
  e.fns[f64 ? PACK64N : PACK32N](bAt + bo * es, bcs, brs, 0, np, k, kp, bs, np);
  const fn = f64 ? STREAM64 : STREAM32, strips = ranges(np, Math.min(120, Math.ceil(n / STREAM_COLS)));
  // on threads, a band of rows per thread, its strips in order (each thread starts at its band, see
  // `engine.ts`): each writes whole rows of C, so no row's cache lines are shared between cores
  // ((xAᵀ)·Bᵀ of 512 tokens on two cores that share no cache: 158–177 → 117–124 µs median)
  runJob(e, "stream", 2 * m * n * k, THREAD_MIN_FLOPS, (threads) => ({
    tasks: ranges(m, threads).flatMap(([r0, r1]) =>
      strips.map(([ta, tb]) => [
        fn,
        aAt + (ao + r0 * ars) * es,
        ars * es,
        acs * es,
        bs + ta * kp * 32,
        kp,
        cAt + (co + r0 * n + ta * nr) * es,
        n * es,
        r1 - r0,
        tb - ta,
        k,
      ])
    ),
  }));
  streamedJobs++;
  return true;
}
