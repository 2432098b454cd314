/**
 * Products with a long inner dimension k and a rank-r outer one, by the outer-product kernel of
 * `outer_kernel.ts`, for `gemm.ts`'s `wasmGemm`: the weight gradients of a LoRA step.
 *
 * - "tall", gᵀ·u (1024 × 512 · 512 × 8): op(A) adjacent along its rows i (the transpose of a
 *   row-major g), op(B) row-major with n of one, two or four vectors (4, 8 or 16 float32
 *   columns, 2, 4 or 8 float64); C is written directly.
 * - "wide", (gB)ᵀ·x (8 × 512 · 512 × 1024): op(B) row-major, op(A) adjacent along i with m of one,
 *   two or four vectors (four only for k ≥ `WIDE4_MIN_K`); computed as Cᵀ = op(B)ᵀ·op(A)ᵀ into
 *   scratch, each task then transposing its columns into C.
 *
 * The long operand is read once, in place, along its rows: no restriding copy or packing. On
 * threads each task takes a range of the long operand's columns, whole cache lines of every row,
 * so no two cores touch the same line of it or of C (LoRA's gradients of 512 tokens on two cores
 * that share no cache: gᵀ·u 181–190 → 120 µs median, (gB)ᵀ·x 154–167 → 128–139). Same bits as
 * the tiled path: each output summed in order of k from zero, one multiply-add a step.
 * @module
 */
import { type Engine, fnIndex, runJob, THREAD_MIN_FLOPS, views } from "./engine.ts";
import { heapAddress, scratch } from "./heap.ts";
import { type Float, ranges } from "./gemm_layout.ts";

/** Products computed by the outer-product kernel, for tests. */
let outerCount = 0;

/** How many products so far went through the outer-product kernel (testing hook). */
export function outerJobs(): number {
  return outerCount;
}

/** Fewest steps k for the outer-product kernel (the tiled path's copies cost little below). */
const OUTER_MIN_K = 64;
/**
 * Vectors the rank side may have (4, 8 or 16 float32 columns; 2, 4 or 8 float64). One thread, against
 * the tiles, long sides of 256–4096 and k of 64–2048 (`bench/cpu_rank_products.ts --sweep`; the same
 * path both ways read 0.92–1.11, the figures' noise): one or two vectors took 0.20–1.14 of the time,
 * four 0.23–1.08 (the wide form 1.76–1.94 at k = 64, whence `WIDE4_MIN_K`), three 0.37–1.72 (float32
 * r = 12, mostly over 1): left to the tiles.
 */
const OUTER_VECTORS = [1, 2, 4];
/** Fewest steps k for the wide form with four vectors. */
const WIDE4_MIN_K = 256;
let outerOn = true;

/** Testing and measuring hook: whether the outer-product kernel is used; returns the previous setting. */
export function setOuter(on: boolean): boolean {
  const old = outerOn;
  outerOn = on;
  return old;
}

const TALL32 = fnIndex("outerTall32"), TALL64 = fnIndex("outerTall64");
const TRANSPOSE32 = fnIndex("transpose32"), TRANSPOSE64 = fnIndex("transpose64");

/**
 * C = op(A)·op(B) by the outer-product kernel when the shape is a rank-r gradient (see the module
 * doc) and A, B and C are in the memory; returns false (nothing written) otherwise.
 */
export function outer(
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
  if (!outerOn || k < OUTER_MIN_K) return false;
  const f64 = C instanceof Float64Array, es = f64 ? 8 : 4, lanes = 16 / es, line = 64 / es;
  const narrow = (r: number) => r % lanes === 0 && OUTER_VECTORS.includes(r / lanes);
  // tall: op(A) read along its rows i (gᵀ), op(B) rows of 1, 2 or 4 vectors; wide: the same for
  // Cᵀ = op(B)ᵀ·op(A)ᵀ
  const tall = ars === 1 && bcs === 1 && narrow(n) && m >= 4 * line;
  const wide = !tall && ars === 1 && bcs === 1 && narrow(m) && n >= 4 * line && (m < 4 * lanes || k >= WIDE4_MIN_K);
  if (!tall && !wide) return false;
  const aAt = heapAddress(A), bAt = heapAddress(B), cAt = heapAddress(C);
  if (aAt < 0 || bAt < 0 || cAt < 0) return false;
  const r = tall ? n : m, long = tall ? m : n;
  const t = wide ? scratch("gemmOuter", long * r * es) : -1;
  if (wide && t < 0) return false;
  views(e);
  // the long operand: its element (x, p) at `at` + x·es + p·`sp`; the short one's row p at `bt` + p·`sb`
  const [at, sp, bt, sb] = tall
    ? [aAt + ao * es, acs * es, bAt + bo * es, brs * es]
    : [bAt + bo * es, brs * es, aAt + ao * es, acs * es];
  // a range of whole cache lines of the long dimension per task (two a thread); wide: then its columns
  // of Cᵀ into C
  runJob(e, "outer", 2 * m * n * k, THREAD_MIN_FLOPS, (threads) => {
    const tasks: number[][] = [], then: number[][][] = [];
    for (const [l0, l1] of ranges(Math.ceil(long / line), threads > 1 ? 2 * threads : 1)) {
      const x0 = l0 * line, x1 = Math.min(long, l1 * line);
      const c = tall ? cAt + (co + x0 * n) * es : t + x0 * r * es;
      tasks.push([f64 ? TALL64 : TALL32, at + x0 * es, sp, bt, sb, c, x1 - x0, k, r / lanes]);
      then.push(wide ? [[f64 ? TRANSPOSE64 : TRANSPOSE32, c, cAt + (co + x0) * es, m, x1 - x0, n, 0]] : []);
    }
    return { tasks, then };
  });
  outerCount++;
  return true;
}
