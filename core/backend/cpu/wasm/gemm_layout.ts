/**
 * Operand placement and C layout for the WebAssembly SIMD GEMM (`gemm.ts`): one pass's packing of the
 * A and B blocks into panels (whole panels by the module's packing functions, split among threads;
 * the partial panel and the zero padding in JavaScript), the copy into scratch of an operand outside
 * the shared memory, and where each block's register tiles of C go (in place with scratch strips
 * for the partial panels, or all into a padded scratch) and how they are copied out.
 * @module
 */
import type { KernelShape } from "./gemm_kernel.ts";
import { type Engine, runTasks } from "./engine.ts";

/** The element arrays the kernels take. */
export type Float = Float32Array | Float64Array;

// function indices (EXPORTS) of the packing functions, after the three kernels; + 5 for float64
const PACK_A = 3, PACK_B = 4;

/** `count` split into `parts` nearly equal ranges `[start, end)` (empty ones dropped). */
export function ranges(count: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const a = Math.floor((count * i) / parts), b = Math.floor((count * (i + 1)) / parts);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** `x` rounded up to a multiple of `q`. */
export const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;
/** `x` rounded up to a multiple of 64 (a cache line: the scratch regions' alignment). */
export const align = (x: number): number => roundUp(x, 64);
/** Elements spanned by `rows` lanes of `kk` steps with strides `rs`, `ks`. */
export const rawLen = (rows: number, kk: number, rs: number, ks: number): number => (rows - 1) * rs + (kk - 1) * ks + 1;

/**
 * Packs, in JS, what the Wasm packing leaves: the lanes of the last, partial panel `t` (`lanes` of
 * `w`; the rest zero) and the zero padding steps `k ≤ p < kp` of every panel.
 */
function packRest(
  src: Float,
  off: number,
  sq: number,
  sk: number,
  count: number,
  k: number,
  kp: number,
  w: number,
  kc: number,
  dst: Float,
  d0: number,
): void {
  const panels = Math.ceil(count / w), full = Math.floor(count / w), lanes = count - full * w;
  for (let b0 = 0; b0 < kp; b0 += kc) {
    const kcb = Math.min(kc, kp - b0), kb = Math.min(kcb, k - b0);
    const base = d0 + b0 * panels * w;
    if (lanes > 0) {
      const d = base + full * kcb * w;
      for (let p = 0; p < kb; p++) {
        for (let x = 0; x < w; x++) dst[d + p * w + x] = x < lanes ? src[off + (full * w + x) * sq + (b0 + p) * sk] : 0;
      }
    }
    if (kb < kcb) { for (let t = 0; t < panels; t++) dst.fill(0, base + (t * kcb + kb) * w, base + (t + 1) * kcb * w); }
  }
}

/** One operand of a block product: its array, element offset and strides (lane, step), and its byte address in the memory (−1: copy it in). */
export interface Operand {
  src: Float;
  off: number;
  /** Stride from lane to lane (row of op(A), column of op(B)). */
  sq: number;
  /** Stride from k step to k step. */
  sk: number;
  at: number;
}

/**
 * Where C's tiles go for one block: in place (whole tiles at `C + (i·n + j)·es`, the partial last
 * column panel and last row panel into scratch strips) or all into a padded scratch.
 */
export interface CLayout {
  /** Tasks' C arguments per region: [cp, ldc, i0, i1, j0, j1] (panel ranges). */
  regions: [number, number, number, number, number, number][];
  /** Copies the scratch parts into C once the block is done. */
  finish: () => void;
}

/**
 * The layout of C for the block of rows `i0 …` (mi of them) and columns `j0 …` (nj) of a product
 * writing `C[co + i·n + j]`; `cs` is a scratch region of `cBytes(...)` bytes.
 */
export function cLayout(
  e: Engine,
  s: KernelShape,
  C: Float,
  co: number,
  n: number,
  cAt: number,
  i0: number,
  mi: number,
  j0: number,
  nj: number,
  cs: number,
): CLayout {
  const { es, mr, nr } = s;
  const mp = Math.ceil(mi / mr), np = Math.ceil(nj / nr), fullM = Math.floor(mi / mr), fullN = Math.floor(nj / nr);
  const view = () => (es === 8 ? e.v64 : e.v32);
  if (cAt < 0) {
    // all tiles in a padded scratch, then the rows copied out
    const ldc = np * nr;
    return {
      regions: [[cs, ldc * es, 0, mp, 0, np]],
      finish: () => {
        const v = view(), c0 = cs / es;
        if (nj === ldc && n === nj) C.set(v.subarray(c0, c0 + mi * n), co + i0 * n);
        else for (let i = 0; i < mi; i++) C.set(v.subarray(c0 + i * ldc, c0 + i * ldc + nj), co + (i0 + i) * n + j0);
      },
    };
  }
  const regions: CLayout["regions"] = [];
  if (fullM > 0 && fullN > 0) regions.push([cAt + (co + i0 * n + j0) * es, n * es, 0, fullM, 0, fullN]);
  // right strip: every row panel of the last, partial column panel (tile (ip, fullN) at cs + ip·mr·nr·es)
  const right = fullN < np, bottom = fullM < mp && fullN > 0;
  const bs = cs + (right ? mp * mr * nr * es : 0); // bottom strip: tile (fullM, jp) at bs + jp·nr·es
  if (right) regions.push([cs - fullN * nr * es, nr * es, 0, mp, fullN, np]);
  if (bottom) regions.push([bs - fullM * mr * fullN * nr * es, fullN * nr * es, fullM, mp, 0, fullN]);
  return {
    regions,
    finish: () => {
      const v = view();
      if (right) {
        const w = nj - fullN * nr, c0 = cs / es;
        for (let i = 0; i < mi; i++) {
          C.set(v.subarray(c0 + i * nr, c0 + i * nr + w), co + (i0 + i) * n + j0 + fullN * nr);
        }
      }
      if (bottom) {
        const w = fullN * nr, b0 = bs / es;
        for (let i = fullM * mr; i < mi; i++) {
          const r = i - fullM * mr;
          C.set(v.subarray(b0 + r * w, b0 + (r + 1) * w), co + (i0 + i) * n + j0);
        }
      }
    },
  };
}

/** Scratch bytes `cLayout` needs for an mi × nj block (strips when C is in place, else the padded block). */
export function cBytes(s: KernelShape, inPlace: boolean, mi: number, nj: number): number {
  const { es, mr, nr } = s;
  const mp = Math.ceil(mi / mr), np = Math.ceil(nj / nr);
  return inPlace ? es * (mp * mr * nr + mr * np * nr) + 128 : es * mp * mr * np * nr;
}

/**
 * The task row packing B's whole panels `t0 ≤ t < t1` (of `np`) from `srcB` (the operand's byte
 * address, as `pack` placed it) into `bp`.
 */
export function packBTask(
  fn0: number,
  srcB: number,
  b: Operand,
  t0: number,
  t1: number,
  kk: number,
  kp: number,
  bp: number,
  np: number,
): number[] {
  return [fn0 + PACK_B, srcB, b.sq, b.sk, t0, t1, kk, kp, bp, np];
}

/**
 * Packs one k pass of the A block (mi lanes) and B block (nj lanes) into `ap` / `bp`: whole panels
 * in Wasm (split among threads), the partial panel and padding in JS; an operand the kernel reads in
 * place (`direct`) is not packed. An operand not in the memory is first copied to `raw`. Returns
 * the byte addresses of the two blocks as the kernel reads them (direct: the operand, else packed).
 * `deferB`: B's whole panels are left to the caller (`packBTask` from the third address returned,
 * where B was placed; its partial panel and padding are done here), which packs each with the
 * products that read it.
 */
export function pack(
  e: Engine,
  s: KernelShape,
  fn0: number,
  a: Operand,
  b: Operand,
  mi: number,
  nj: number,
  kk: number,
  kp: number,
  ap: number,
  bp: number,
  rawA: number,
  rawB: number,
  direct: Direct,
  parallel: boolean,
  nThreads: number,
  packedA = false,
  packedB = false,
  deferB = false,
): [number, number, number] {
  const { es, mr, nr } = s;
  const view = es === 8 ? e.v64 : e.v32;
  // (an operand whose panels are already at ap / bp, from the panel cache, is neither placed nor packed)
  const packA = direct !== "A" && !packedA, packB = direct !== "B" && !packedB;
  const place = (o: Operand, lanes: number, raw: number, need: boolean) => {
    if (!need) return -1;
    if (o.at >= 0) return o.at + o.off * es;
    const len = rawLen(lanes, kk, o.sq, o.sk);
    view.set(o.src.subarray(o.off, o.off + len), raw / es);
    return raw;
  };
  const srcA = place(a, mi, rawA, packA || direct === "A"), srcB = place(b, nj, rawB, packB || direct === "B");
  const mp = Math.ceil(mi / mr), np = Math.ceil(nj / nr);
  // packing a few thousand elements takes microseconds: sharing it would cost a wake-up of and a
  // wait for a worker (tens of microseconds, more on a loaded machine)
  const packed = (packA ? mi * kk : 0) + (packB && !deferB ? nj * kk : 0);
  if (packed < PACK_PARALLEL_MIN) nThreads = 1;
  const tasks: number[][] = [];
  if (packA) {
    for (const [t0, t1] of ranges(Math.floor(mi / mr), nThreads)) {
      tasks.push([fn0 + PACK_A, srcA, a.sq, a.sk, t0, t1, kk, kp, ap, mp]);
    }
  }
  if (packB && !deferB) {
    for (const [t0, t1] of ranges(Math.floor(nj / nr), nThreads)) {
      tasks.push(packBTask(fn0, srcB, b, t0, t1, kk, kp, bp, np));
    }
  }
  runTasks(e, tasks, parallel && nThreads > 1, () => {
    if (packA) packRest(a.src, a.off, a.sq, a.sk, mi, kk, kp, mr, s.kc, view, ap / es);
    if (packB) packRest(b.src, b.off, b.sq, b.sk, nj, kk, kp, nr, s.kc, view, bp / es);
  });
  return [direct === "A" ? srcA : ap, direct === "B" ? srcB : bp, srcB];
}

/** Fewest elements packed in one pass for which the packing is shared among threads. */
const PACK_PARALLEL_MIN = 1 << 16;

/** Which operand the kernel reads where it is ("A", "B") or none (""). */
export type Direct = "" | "A" | "B";
