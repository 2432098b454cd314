/**
 * WebAssembly SIMD GEMM for float32 and float64 on the CPU backend, optionally on several threads.
 *
 * The module runs on the CPU backend's shared memory (`heap.ts`), where tensor storage lives: an
 * operand in that memory is packed straight from where it is, and a result in it is written in
 * place (whole register tiles directly, the partial tiles of the last row and column panels through
 * a small scratch). Operands elsewhere (plain typed arrays) are first copied into scratch, and a
 * result elsewhere is computed in a padded scratch and copied out. Packing (in Wasm, the partial
 * panel and the padding in JS) absorbs transposes and pads with exact zeros; the kernel of
 * `gemm_kernel.ts` multiplies the packed panels. float32 is accumulated in float32 lanes (as BLAS
 * and jax-js do), float64 in float64 lanes; each output is summed in order of k, one multiply-add
 * per step (fused where the CPU has FMA, see `gemm_kernel.ts`), starting from zero. Results do not
 * depend on the number of threads or passes, nor on where the operands live. A product whose
 * scratch would exceed `passBytesMax` (256 MiB) is done in several passes.
 *
 * Rank-r shapes (issue 12): a product of at most 16 rows uses the narrow 4×8 / 8×2 tiles of
 * `gemm_kernel.ts` when they fill more of their rows; a row-major op(B) read in place whose rows
 * are a multiple of 4 KiB apart (1024 float32 columns) is copied with rows one cache line longer
 * (else a column of tiles evicts itself from L1: 23 → 48 GFLOP/s); a product whose operands could
 * only be packed but could be read in place the other way round (gᵀ·u: op(A) column-major, few
 * columns of C) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ and transposed (in Wasm); products with
 * k ≤ 8 go through the row-streaming kernel of `gemm_stream.ts`; and the rank-r gradients of long
 * k (gᵀ·u and (gB)ᵀ·x of a LoRA step: one outer dimension of one, two or four vectors, the long
 * operand adjacent along the other) through the outer-product kernel of `gemm_outer.ts`, which
 * reads the long operand along its rows and needs none of the copies above. None of these changes a bit:
 * every output is still summed in order of k from zero, one multiply-add a step.
 *
 * Threads: products of at least `THREAD_MIN_FLOPS` are split into tasks (panel ranges, about four
 * per thread) that `engine.ts` runs on the calling thread and its workers. The packing of a pass and
 * the placement of C's tiles are in `gemm_layout.ts`.
 * @module
 */
import type { KernelShape } from "./gemm_kernel.ts";
import {
  type Engine,
  fnIndex,
  getEngine,
  recordJob,
  runTasks,
  startWorkers,
  THREAD_MIN_FLOPS,
  useWorkers,
  views,
} from "./engine.ts";
import { heapAddress, scratch } from "./heap.ts";
import { stream } from "./gemm_stream.ts";
import { outer } from "./gemm_outer.ts";
import { findPanels, type Panels, reservePanels } from "./panels.ts";
import {
  align,
  cBytes,
  cLayout,
  type Direct,
  type Float,
  pack,
  packBTask,
  ranges,
  rawLen,
  roundUp,
} from "./gemm_layout.ts";

export { setMatmulSpin, setMatmulThreads, workerTaskCount } from "./engine.ts";
export { setStreamK, streamJobs } from "./gemm_stream.ts";
export { outerJobs, setOuter } from "./gemm_outer.ts";

/** Jobs whose tasks packed their own B panels (`gemmCore`'s fused path), for tests. */
let fusedJobs = 0;

/** How many products so far packed B inside their multiplying tasks (testing hook). */
export function fusedPackJobs(): number {
  return fusedJobs;
}

/** Products whose op(B) the Wasm `copyRows` copied with longer rows (`gemmCore`), for tests. */
let restrideCopies = 0;

/** How many products so far copied an op(B) in the memory with longer rows in Wasm (testing hook). */
export function restrideJobs(): number {
  return restrideCopies;
}

/** Products whose restriding copy the multiplying tasks made, each of its columns (`gemmCore`). */
let copiedInTasks = 0;

/** How many products so far copied op(B) with longer rows inside their tasks on threads (testing hook). */
export function restrideTaskJobs(): number {
  return copiedInTasks;
}

/** Bytes of scratch one pass may use; larger products are split into passes. */
let passBytesMax = 256 * 1024 * 1024;

// function indices (EXPORTS): kernels with both operands packed, op(A) direct, op(B) direct (packing: 3, 4,
// `gemm_layout.ts`); + 5 for float64
const GEMM_PP = 0, GEMM_DP = 1, GEMM_PD = 2;
// first function of the narrow float32 / float64 kernel sets
const NARROW32 = fnIndex("gemmPP32n"), NARROW64 = fnIndex("gemmPP64n");

/**
 * Sets the scratch budget of one pass in bytes (testing hook: a small budget exercises the
 * splitting of products into passes); returns the previous budget.
 */
export function setPassBytes(bytes: number): number {
  const old = passBytesMax;
  passBytesMax = bytes;
  return old;
}

/**
 * A row-major op(A) is read in place for up to this many times `directMaxPanels` column panels: its
 * rows are contiguous along k, so the kernel streams mr of them as well as it reads a packed panel,
 * and the packing (a scalar gather, 50 µs for 128 × 784 float32) is saved (x·W 128×784·784×256:
 * 1.12 → 1.05 ms, 512³ 5.5 → 5.2 ms on one thread; at 1024 columns packing wins again).
 */
const DIRECT_A_FACTOR = 16;
/** Most panels of the other operand for which a row-major operand is read in place (see `chooseDirect`). */
let directMaxPanels = 4;

/**
 * Testing and tuning hook: the most panels of the other operand for which a row-major operand is
 * read in place instead of packed (0: always pack); returns the previous value.
 */
export function setDirectPanels(panels: number): number {
  const old = directMaxPanels;
  directMaxPanels = panels;
  return old;
}

/**
 * Whether to read an operand in place rather than pack it. Packing reads and writes each element
 * once; it pays when each packed panel is read by many panels of the other operand, and is most of
 * the work when the other operand is narrow (a rank-r product reads each element of the wide one
 * once). So: a row-major op(A) when n is at most `directMaxPanels`·`DIRECT_A_FACTOR` column panels,
 * else a row-major op(B) when m is at most `directMaxPanels` row panels and `bRoom` (nr elements past
 * op(B) are readable).
 */
function chooseDirect(s: KernelShape, m: number, n: number, acs: number, bcs: number, bRoom: boolean): Direct {
  if (acs === 1 && n <= directMaxPanels * DIRECT_A_FACTOR * s.nr) return "A";
  if (bcs === 1 && m <= directMaxPanels * s.mr && bRoom) return "B";
  return "";
}

/** Fraction of the rows of its row panels that an m-row product fills with tiles of `mr` rows. */
const rowFill = (m: number, mr: number): number => m / (Math.ceil(m / mr) * mr);

/**
 * The kernel shape for an m × n product (the narrow one when m ≤ 16 and it fills more of its tile
 * rows: a rank-8 factor times a wide operand), the index of its first function, and which operand
 * it reads in place (`chooseDirect`). The shape changes no bits (each output is still summed in
 * order of k from zero).
 */
function chooseKernel(
  e: Engine,
  f64: boolean,
  m: number,
  n: number,
  acs: number,
  bcs: number,
  bRoom: boolean,
): { s: KernelShape; fn0: number; direct: Direct } {
  const wide = f64 ? e.s64 : e.s32, narrow = f64 ? e.n64 : e.n32;
  const useNarrow = m <= 2 * narrow.mr && rowFill(m, narrow.mr) > rowFill(m, wide.mr);
  const s = useNarrow ? narrow : wide;
  const fn0 = useNarrow ? (f64 ? NARROW64 : NARROW32) : (f64 ? 5 : 0);
  return { s, fn0, direct: chooseDirect(s, m, n, acs, bcs, bRoom) };
}

/** k (padded) up to which the kernel walks a row of tiles (column panels inner) rather than a column. */
const COLS_INNER_MAX_K = 64;

/** Kernel index and its argument row (after the function index) for one task. */
function gemmTask(
  fn0: number,
  direct: Direct,
  srcA: number,
  sa: number,
  mrows: number,
  srcB: number,
  sb: number,
  cp: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  k: number,
  kp: number,
  ldc: number,
  fresh: number,
): number[] {
  const fn = fn0 + (direct === "A" ? GEMM_DP : direct === "B" ? GEMM_PD : GEMM_PP);
  return [fn, srcA, sa, mrows, srcB, sb, cp, i0, i1, j0, j1, k, kp, ldc, fresh, kp <= COLS_INNER_MAX_K ? 1 : 0];
}

/**
 * `C[co + i·n + j] = Σ_p op(A)[i, p] · op(B)[p, j]` (0 ≤ i < m, 0 ≤ j < n) with the Wasm kernels; A,
 * B and C must be all Float32Array or all Float64Array. Element (i, p) of op(A) is
 * `A[ao + i·ars + p·acs]` and (p, j) of op(B) is `B[bo + p·brs + j·bcs]`.
 * Returns false (C untouched) where WebAssembly SIMD is unavailable; throws RangeError when the
 * memory cannot grow enough (before writing C).
 */
export function wasmGemm(
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
  cache = false,
): boolean {
  const e = getEngine();
  if (!e) return false;
  if (m === 0 || n === 0) return true;
  if (k === 0) {
    C.fill(0, co, co + m * n);
    return true;
  }
  if (outer(e, A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k)) return true;
  const f64 = C instanceof Float64Array, es = f64 ? 8 : 4;
  // Neither operand readable in place, but both are the other way round (op(A) column-major with
  // few columns of C, op(B) row-major: a rank-r gradient gᵀ·u): Cᵀ = op(B)ᵀ·op(A)ᵀ into scratch,
  // then transposed into C. The same products summed in the same order: the same bits.
  if (
    e.heap.shared && m * n * es <= SWAP_MAX_BYTES && chooseKernel(e, f64, m, n, acs, bcs, true).direct === "" &&
    chooseKernel(e, f64, n, m, brs, ars, true).direct !== ""
  ) {
    const t = scratch("gemmT", m * n * es);
    if (t >= 0) {
      views(e);
      const t0 = t / es, cAt = heapAddress(C), TRANSPOSE = f64 ? TRANSPOSE64 : TRANSPOSE32;
      // on threads, each task transposes the columns of Cᵀ it computed (rows of C), so no core reads
      // another's part of Cᵀ; else the calling thread transposes it whole
      const piece = (j0: number, j1: number) => {
        const w = j1 - j0; // rows j0… of C from columns j0… of Cᵀ (rows m apart)
        return [TRANSPOSE, t + j0 * es, cAt + (co + j0 * n) * es, w, n, n, (m - w) * es];
      };
      const inTasks = gemmCore(
        e,
        B,
        bo,
        bcs,
        brs,
        A,
        ao,
        acs,
        ars,
        f64 ? e.v64 : e.v32,
        t0,
        n,
        m,
        k,
        cache,
        cAt >= 0 ? piece : undefined,
      );
      views(e);
      if (inTasks) return true;
      if (cAt >= 0) e.fns[TRANSPOSE](t, cAt + co * es, m, n, n, 0);
      else {
        const V = f64 ? e.v64 : e.v32;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[co + i * n + j] = V[t0 + j * m + i];
      }
      return true;
    }
  }
  if (stream(e, A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k)) return true;
  gemmCore(e, A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k, cache);
  return true;
}

/**
 * Scratch for the whole of a k × n op(B) restrided (rows a cache line longer than n elements):
 * `[row stride in elements, byte address]`, the address −1 when the memory cannot hold it.
 */
function restrideScratch(n: number, k: number, es: number): [number, number] {
  const ldb = roundUp(n, 64 / es) + 64 / es;
  return [ldb, scratch("gemmB", (ldb * k + 16) * es)];
}

/**
 * Per column range of a product on threads, a block of scratch where the task of that range copies its
 * columns of a row-major op(B) (k rows, each a cache line longer than the range): `[address, row
 * bytes]`, or null when the memory cannot hold them. A block of its own per task, rather than its
 * columns of one restrided copy: where the two cores share no cache, the hardware prefetchers
 * fetched the lines next to each task's piece of every row, the other task's, and the two cores
 * passed those lines back and forth (gᵀ·u of 512 tokens on two such cores: 254 → 184 µs median).
 */
function restrideBlocks(e: Engine, strips: [number, number][], nr: number, es: number, k: number): number[][] | null {
  const lds = strips.map(([ja, jb]) => (roundUp((jb - ja) * nr, 64 / es) + 64 / es) * es);
  // (the kernel may read nr elements past a block's last row: the next block, or 64 bytes of slack)
  const sizes = lds.map((ld) => align(ld * k));
  const at0 = scratch("gemmBlocks", sizes.reduce((x, y) => x + y, 0) + 64);
  if (at0 < 0) return null;
  views(e);
  let at = at0;
  return sizes.map((size, t) => [(at += size) - size, lds[t]]);
}

const COPY_ROWS = fnIndex("copyRows"), TRANSPOSE32 = fnIndex("transpose32"), TRANSPOSE64 = fnIndex("transpose64");

/**
 * Largest C (bytes) computed transposed in scratch by `wasmGemm` (transposed back into C by the
 * module's `transpose` functions, or a JavaScript loop when C is outside the memory).
 */
const SWAP_MAX_BYTES = 64 * 1024;

/**
 * Whether a row stride of `bytes` makes the rows of a k block fall into few sets of a 32 KiB 8-way
 * L1 (64 sets of 64-byte lines): a column of tiles then evicts itself, and every k step of every
 * tile misses L1 (a 512×1024 float32 operand read in place: 4 KiB rows, 23 instead of 48 GFLOP/s).
 */
function conflicts(bytes: number): boolean {
  const sets = new Set<number>();
  for (let p = 0; p < 32; p++) sets.add(Math.floor((p * bytes) / 64) % 64);
  return sets.size < 16;
}

/**
 * `wasmGemm` for m, n, k > 0 (on the engine `e`). `after(j0, j1)`, when given, is a task row that
 * the thread which computed columns j0…j1 of C runs right after them, where the product runs on
 * threads and restrides op(B) into blocks (see `restrideBlocks`); returns whether it was so run.
 */
function gemmCore(
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
  cache: boolean,
  after?: (j0: number, j1: number) => number[],
): boolean {
  const f64 = C instanceof Float64Array;
  const es = f64 ? 8 : 4;
  const aAt = heapAddress(A), cAt = heapAddress(C);
  let afterDone = false;
  let bAt = heapAddress(B);
  // (op(B) read in place may be read up to 8 elements past its end: nr of any shape)
  const bEnd = bAt + (bo + rawLen(n, k, bcs, brs) + 8) * es;
  const { s, fn0, direct } = chooseKernel(e, f64, m, n, acs, bcs, bAt < 0 || bEnd <= e.heap.memory.buffer.byteLength);
  const { mr, nr, unroll } = s;
  const flops = 2 * m * n * k, t0 = performance.now();
  // op(B) read in place through a copy whose rows are a cache line longer (one copy of each row). In
  // JavaScript now when op(B) is outside the memory; in Wasm when it is in it (512 rows of 4 KiB: 47
  // µs, `copyWithin` 63), once the thread count is known (`copyB`: its address and row stride): on
  // threads by the tasks, each its columns into a block of its own (`restrideBlocks`), else on the
  // calling thread before the tasks
  const restride = direct === "B" && conflicts(brs * es) && n * k * es <= passBytesMax;
  const copyB = restride && bAt >= 0 ? [bAt + bo * es, brs * es] : null;
  if (restride && bAt < 0) {
    const [ldb, at] = restrideScratch(n, k, es);
    if (at >= 0) {
      views(e);
      const V = f64 ? e.v64 : e.v32, d0 = at / es;
      for (let p = 0; p < k; p++) V.set(B.subarray(bo + p * brs, bo + p * brs + n), d0 + p * ldb);
      [B, bo, brs, bAt] = [V, d0, ldb, 0];
    }
  }
  // pass sizes: halve a dimension until one pass's scratch fits passBytesMax
  const passBytes = (mc: number, nc: number, kc: number) => {
    const mp = roundUp(mc, mr), np = roundUp(nc, nr), kp = roundUp(kc, unroll);
    const raw = (aAt < 0 ? rawLen(mc, kc, ars, acs) : 0) + (bAt < 0 ? rawLen(nc, kc, bcs, brs) : 0);
    return es * ((direct === "A" ? 0 : mp * kp) + (direct === "B" ? 0 : kp * np) + raw) + cBytes(s, cAt >= 0, mc, nc) +
      5 * 64;
  };
  let mc = m, nc = n, kc = k;
  while (passBytes(mc, nc, kc) > passBytesMax) {
    const options = [
      [Math.ceil(mc / 2), nc, kc],
      [mc, Math.ceil(nc / 2), kc],
      [mc, nc, Math.ceil(kc / 2)],
    ].filter(([a, b, c]) => a < mc || b < nc || c < kc);
    if (options.length === 0) break;
    [mc, nc, kc] = options.reduce((x, y) => (passBytes(x[0], x[1], x[2]) <= passBytes(y[0], y[1], y[2]) ? x : y));
  }
  const eligible = flops >= THREAD_MIN_FLOPS && startWorkers(e);
  const parallel = eligible && useWorkers("gemm", flops);
  const nThreads = parallel ? e.workers + 1 : 1;
  const want = nThreads === 1 ? 1 : 4 * nThreads;
  const blocks = copyB && nThreads > 1 && mc === m && nc === n && kc === k
    ? restrideBlocks(e, ranges(Math.ceil(n / nr), want), nr, es, k)
    : null;
  if (copyB && !blocks) {
    const [ldb, at] = restrideScratch(n, k, es);
    if (at >= 0) {
      views(e);
      e.fns[COPY_ROWS](copyB[0], copyB[1], at, ldb * es, k, n * es);
      [B, bo, brs, bAt] = [f64 ? e.v64 : e.v32, at / es, ldb, 0];
    }
  }
  if (copyB) restrideCopies++;
  // scratch layout (bytes, 64-aligned): packed A | packed B | C scratch | raw A | raw B
  const mpMax = Math.ceil(mc / mr), npMax = Math.ceil(nc / nr), kpMax = roundUp(kc, unroll);
  // packed panels kept for operands read again (one-pass products of the public matmul only)
  let panA: Panels | null = null, panB: Panels | null = null, hitA = false, hitB = false;
  if (cache && mc === m && nc === n && kc === k) {
    const whole = (x: Float) => x === e.v32 || x === e.v64;
    if (direct !== "A" && !whole(A)) {
      const key = `A${fn0}:${ao}:${ars}:${acs}:${m}:${k}`;
      hitA = (panA = findPanels(A, key)) !== null;
      panA ??= reservePanels(A, key, mpMax * mr * kpMax * es, f64, null);
    }
    if (direct !== "B" && !whole(B)) {
      const key = `B${fn0}:${bo}:${brs}:${bcs}:${n}:${k}`;
      hitB = (panB = findPanels(B, key)) !== null;
      panB ??= reservePanels(B, key, npMax * nr * kpMax * es, f64, panA);
    }
  }
  // (an operand read in place, or packed into its cached panels, takes no packing scratch)
  const bpOff = direct === "A" || panA ? 0 : align(mpMax * mr * kpMax * es);
  const csOff = align(bpOff + (direct === "B" || panB ? 0 : npMax * nr * kpMax * es));
  const raOff = align(csOff + cBytes(s, cAt >= 0, mc, nc));
  const rbOff = align(raOff + (aAt < 0 ? rawLen(mc, kc, ars, acs) * es : 0));
  const base = scratch("gemm", rbOff + (bAt < 0 ? rawLen(nc, kc, bcs, brs) * es : 0) + 64);
  if (base < 0) throw new RangeError("wasm gemm: the memory cannot hold the product's scratch");
  views(e);
  const ap = panA ? panA.at : base, bp = panB ? panB.at : base + bpOff, cs = base + csOff;
  // One pass whose A needs no packing (read in place, or cached panels) and whose B does, on threads,
  // with enough column panels for ~4 tasks a thread: each task packs the B panels of its columns and
  // multiplies them at once (one job instead of a packing job and a multiplying job, each waited for,
  // and each thread's panels still in its cache). The same panels and products: the same bits.
  const fuse = parallel && nThreads > 1 && mc === m && nc === n && kc === k && direct !== "B" && !hitB &&
    (direct === "A" || hitA) && Math.ceil(n / nr) >= want;
  for (let i0 = 0; i0 < m; i0 += mc) {
    const mi = Math.min(mc, m - i0), mp = Math.ceil(mi / mr);
    for (let j0 = 0; j0 < n; j0 += nc) {
      const nj = Math.min(nc, n - j0), np = Math.ceil(nj / nr);
      const layout = cLayout(e, s, C, co, n, cAt, i0, mi, j0, nj, cs);
      for (let p0 = 0; p0 < k; p0 += kc) {
        const kk = Math.min(kc, k - p0), kp = roundUp(kk, unroll);
        const a = { src: A, off: ao + i0 * ars + p0 * acs, sq: ars, sk: acs, at: aAt };
        const b = { src: B, off: bo + p0 * brs + j0 * bcs, sq: bcs, sk: brs, at: bAt };
        const [srcA, srcB, placedB] = pack(
          e,
          s,
          fn0,
          a,
          b,
          mi,
          nj,
          kk,
          kp,
          ap,
          bp,
          base + raOff,
          base + rbOff,
          direct,
          parallel,
          nThreads,
          hitA,
          hitB,
          fuse,
        );
        const sa = direct === "A" ? ars * es : mp, sb = direct === "B" ? brs * es : np;
        const fresh = p0 === 0 ? 1 : 0;
        const tasks: number[][] = [];
        if (fuse || blocks) {
          // per column range: pack its whole B panels (or copy its columns of op(B) into its block), then its
          // tiles in every region, then `after` when every tile is written in place (no partial tile is
          // finished later, by `layout.finish`)
          const fullN = Math.floor(nj / nr), then: number[][][] = [];
          const tail = blocks && cAt >= 0 && mi % mr === 0 && nj % nr === 0 ? after : undefined;
          for (const [t, [ja, jb]] of ranges(np, want).entries()) {
            const rows: number[][] = [];
            let [srcBt, sbt] = [srcB, sb];
            if (copyB && blocks) {
              // the kernel reads panel j at srcBt + j·nr·es: the block holds panels ja… (i32 arithmetic wraps)
              const c0 = ja * nr * es, bytes = Math.min(jb * nr, nj) * es - c0, [at, ld] = blocks[t];
              rows.push([COPY_ROWS, copyB[0] + c0, copyB[1], at, ld, kk, bytes]);
              [srcBt, sbt] = [(at - c0) | 0, ld];
            } else if (Math.min(jb, fullN) > ja) {
              rows.push(packBTask(fn0, placedB, b, ja, Math.min(jb, fullN), kk, kp, bp, np));
            }
            for (const [cp, ldc, ri0, ri1, rj0, rj1] of layout.regions) {
              const j0p = Math.max(ja, rj0), j1p = Math.min(jb, rj1);
              if (j1p > j0p && ri1 > ri0) {
                rows.push(gemmTask(fn0, direct, srcA, sa, mi, srcBt, sbt, cp, ri0, ri1, j0p, j1p, kk, kp, ldc, fresh));
              }
            }
            if (tail) rows.push(tail(ja * nr, Math.min(jb * nr, nj)));
            if (rows.length > 0) {
              tasks.push(rows[0]);
              then.push(rows.slice(1));
            }
          }
          runTasks(e, tasks, parallel, undefined, then);
          afterDone = tail !== undefined;
          if (blocks) copiedInTasks++;
          else fusedJobs++;
          continue;
        }
        // multiply: per region, column ranges (and row ranges when there are few columns), ~4 tasks per thread
        for (const [cp, ldc, ri0, ri1, rj0, rj1] of layout.regions) {
          const cols = ranges(rj1 - rj0, Math.min(rj1 - rj0, want));
          const rows = ranges(ri1 - ri0, Math.min(ri1 - ri0, Math.ceil(want / cols.length)));
          for (const [ja, jb] of cols) {
            for (const [ia, ib] of rows) {
              const [i0p, i1p, j0p, j1p] = [ri0 + ia, ri0 + ib, rj0 + ja, rj0 + jb];
              tasks.push(gemmTask(fn0, direct, srcA, sa, mi, srcB, sb, cp, i0p, i1p, j0p, j1p, kk, kp, ldc, fresh));
            }
          }
        }
        runTasks(e, tasks, parallel);
      }
      layout.finish();
    }
  }
  if (eligible) recordJob("gemm", flops, parallel, performance.now() - t0);
  return afterDone;
}

/**
 * A batch of equal-shaped products `C_t = op(A_t) · op(B_t)`, `t < count`, too small to be split
 * among threads (2·m·n·k below `THREAD_MIN_FLOPS`): item t reads A from `aOffs[t]` and B from
 * `bOffs[t]` (strides as in `wasmGemm`) and writes `C[co + t·m·n …]`. Each item is packed and
 * multiplied exactly as `wasmGemm` does on one thread, so the bits are the same; what is saved is
 * the per-call work (layout, task tables, argument arrays), about 1.5 µs an item (128 products of
 * 24×24×16: 0.39 -> 0.2 ms). Returns false (C untouched) where `wasmGemm` would run on threads,
 * without WebAssembly SIMD, or when an item needs more than a pass's scratch.
 */
export function wasmGemmBatch(
  A: Float,
  aOffs: ArrayLike<number>,
  ars: number,
  acs: number,
  B: Float,
  bOffs: ArrayLike<number>,
  brs: number,
  bcs: number,
  C: Float,
  co: number,
  m: number,
  n: number,
  k: number,
  count: number,
): boolean {
  const e = getEngine();
  if (!e || 2 * m * n * k >= THREAD_MIN_FLOPS) return false;
  if (m === 0 || n === 0 || count === 0) return true;
  if (k === 0) {
    C.fill(0, co, co + count * m * n);
    return true;
  }
  const f64 = C instanceof Float64Array;
  const es = f64 ? 8 : 4;
  const aAt = heapAddress(A), bAt = heapAddress(B), cAt = heapAddress(C);
  const lenA = rawLen(m, k, ars, acs), lenB = rawLen(n, k, bcs, brs);
  let maxB = 0;
  for (let t = 0; t < count; t++) maxB = Math.max(maxB, bOffs[t]);
  const bRoom = bAt < 0 || bAt + (maxB + lenB + 8) * es <= e.heap.memory.buffer.byteLength;
  const { s, fn0, direct } = chooseKernel(e, f64, m, n, acs, bcs, bRoom);
  const { mr, nr, unroll } = s;
  const mp = Math.ceil(m / mr), np = Math.ceil(n / nr), kp = roundUp(k, unroll);
  // one item's regions, reused by every item (they stay in cache): packed A, packed B, C scratch, raw A, raw B
  const bpOff = direct === "A" ? 0 : align(mp * mr * kp * es);
  const csOff = align(bpOff + (direct === "B" ? 0 : np * nr * kp * es));
  const raOff = align(csOff + cBytes(s, cAt >= 0, m, n));
  const rbOff = align(raOff + (aAt < 0 ? lenA * es : 0)), end = rbOff + (bAt < 0 ? lenB * es : 0) + 64;
  if (end > passBytesMax) return false;
  const base = scratch("gemm", end);
  if (base < 0) return false;
  views(e);
  const ap = base, bp = base + bpOff, cs = base + csOff;

  for (let t = 0; t < count; t++) {
    const layout = cLayout(e, s, C, co + t * m * n, n, cAt, 0, m, 0, n, cs);
    const a = { src: A, off: aOffs[t], sq: ars, sk: acs, at: aAt };
    const b = { src: B, off: bOffs[t], sq: bcs, sk: brs, at: bAt };
    const [srcA, srcB] = pack(e, s, fn0, a, b, m, n, k, kp, ap, bp, base + raOff, base + rbOff, direct, false, 1);
    const sa = direct === "A" ? ars * es : mp, sb = direct === "B" ? brs * es : np;
    for (const [cp, ldc, i0, i1, j0, j1] of layout.regions) {
      const [fn, ...args] = gemmTask(fn0, direct, srcA, sa, m, srcB, sb, cp, i0, i1, j0, j1, k, kp, ldc, 1);
      e.fns[fn](...args);
    }
    layout.finish();
  }
  return true;
}
