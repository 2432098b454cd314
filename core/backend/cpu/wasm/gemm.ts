/**
 * WebAssembly SIMD GEMM for float32 and float64 on the CPU backend, optionally on several threads.
 *
 * One shared `WebAssembly.Memory` holds a control block, the packed operands, raw copies of the
 * operands and the padded result; it grows as needed (never shrinks; a product needing more than
 * `passBytesMax` (256 MiB) is done in several passes). Per pass: the operands are copied into the memory
 * (`TypedArray.set`), packed into register-tile panels by Wasm (packing absorbs transposes and pads
 * with exact zeros), multiplied by the kernel of `gemm_kernel.ts`, and the rows of C copied out.
 * float32 is accumulated in float32 lanes (as BLAS and jax-js do), float64 in float64 lanes; each
 * output is summed in order of k, one multiply-add per step (fused where the CPU has FMA, see
 * `gemm_kernel.ts`). Results do not depend on the number of threads or passes.
 *
 * Threads: products of at least `THREAD_MIN_FLOPS` are split into tasks (panel ranges) that the
 * calling thread and `threads − 1` workers (`node:worker_threads`, unref'd so they never keep the
 * process alive, started lazily on the first large product) claim from a shared counter. The
 * calling thread blocks in `Atomics.wait` until all tasks are done; it never waits for a worker to
 * start (a task nobody else claimed, it runs itself), so a slow or missing worker costs speed,
 * never a hang. Without `node:worker_threads` or `Atomics.wait` everything runs on one thread.
 * @module
 */
import { EXPORTS, F32_SHAPE, F64_SHAPE, gemmModuleBytes, type KernelShape } from "./gemm_kernel.ts";

/** The element arrays the kernels take. */
export type Float = Float32Array | Float64Array;
type WasmFn = (...args: number[]) => void;

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB of address space for the memory
/** Bytes of memory one pass may use; larger products are split into passes. */
let passBytesMax = 256 * 1024 * 1024;
/** Products of at least this many flops (2·m·n·k) are run on several threads. */
const THREAD_MIN_FLOPS = 2 * 128 * 128 * 128;
const MAX_THREADS = 8;

// control block (int32 indices): header, then a task table of [fn, ...args] rows
const SEQ = 0, NEXT = 1, DONE = 2, ERR = 3, NTASKS = 4, BY_WORKERS = 5;
const TASK0 = 16, TASK_INTS = 12, MAX_TASKS = 255;
const CTRL_BYTES = (TASK0 + TASK_INTS * MAX_TASKS) * 4 + 64;

const GEMM = 0, PACK_A = 1, PACK_B = 2; // + 3 for float64

/**
 * Source of a worker: instantiate the module on the shared memory, then forever wait for a new job
 * sequence number and claim tasks of it (`next` = seq·256 + task index, claimed by compare-exchange,
 * so a stale worker can never claim a task of a later job).
 */
const WORKER_SRC = `
try {
  const { memory, module: mod, names } = require("node:worker_threads").workerData;
  const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports;
  const fns = names.map((n) => ex[n]);
  const ctrl = new Int32Array(memory.buffer, 0, ${TASK0 + TASK_INTS * MAX_TASKS});
  let seen = Atomics.load(ctrl, ${SEQ});
  for (;;) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    for (;;) {
      const v = Atomics.load(ctrl, ${NEXT});
      if ((v >>> 8) !== seen || (v & 255) >= Atomics.load(ctrl, ${NTASKS})) break;
      if (Atomics.compareExchange(ctrl, ${NEXT}, v, v + 1) !== v) continue;
      const t = ${TASK0} + (v & 255) * ${TASK_INTS};
      try {
        fns[ctrl[t]](ctrl[t + 1], ctrl[t + 2], ctrl[t + 3], ctrl[t + 4], ctrl[t + 5], ctrl[t + 6],
          ctrl[t + 7], ctrl[t + 8], ctrl[t + 9], ctrl[t + 10], ctrl[t + 11]);
      } catch {
        Atomics.store(ctrl, ${ERR}, 1);
      }
      Atomics.add(ctrl, ${BY_WORKERS}, 1);
      Atomics.add(ctrl, ${DONE}, 1);
      Atomics.notify(ctrl, ${DONE});
    }
  }
} catch {
  // cannot start: claim nothing (the calling thread does every task)
}
`;

interface Engine {
  /** Kernel shapes compiled (float32, float64). */
  s32: KernelShape;
  s64: KernelShape;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  fns: WasmFn[];
  ctrl: Int32Array;
  v32: Float32Array;
  v64: Float64Array;
  /** Workers started (0 until the first large product). */
  workers: number;
  /** False once starting workers failed or `Atomics.wait` is not allowed here. */
  canThread: boolean;
  seq: number;
}

let engine: Engine | null | undefined;
let threads = Math.max(1, Math.min(MAX_THREADS, globalThis.navigator?.hardwareConcurrency ?? 1));

/**
 * Sets how many threads (the caller included) large CPU matrix products use; 1 disables workers.
 * Workers already started stay (idle, blocked, unref'd). Default: the number of cores, at most 8.
 */
export function setMatmulThreads(n: number): void {
  threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
}

/** How many tasks workers have run so far (0 before any ran; for tests and diagnostics). */
export function workerTaskCount(): number {
  return engine ? Atomics.load(engine.ctrl, BY_WORKERS) : 0;
}

/**
 * Sets the memory budget of one pass in bytes (testing hook: a small budget exercises the
 * splitting of products into passes); returns the previous budget.
 */
export function setPassBytes(bytes: number): number {
  const old = passBytesMax;
  passBytesMax = bytes;
  return old;
}

/** Compiles the module for a memory of the given limits: relaxed SIMD first, else multiply then add. */
function compile(
  mem: { initial: number; maximum: number; shared: boolean },
): [WebAssembly.Module, KernelShape, KernelShape] {
  try {
    return [new WebAssembly.Module(gemmModuleBytes(mem, F32_SHAPE, F64_SHAPE)), F32_SHAPE, F64_SHAPE];
  } catch {
    const s32 = { ...F32_SHAPE, fma: false }, s64 = { ...F64_SHAPE, fma: false };
    return [new WebAssembly.Module(gemmModuleBytes(mem, s32, s64)), s32, s64];
  }
}

/**
 * Creates the memory and instantiates the module on first use (synchronous: the module is small).
 * Shared memory where the platform allows it (else one thread); `null` (cached) where WebAssembly
 * SIMD is unavailable.
 */
function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  for (const shared of [true, false]) {
    try {
      const mem = { initial: Math.ceil(CTRL_BYTES / PAGE) + 16, maximum: MAX_PAGES, shared };
      const memory = new WebAssembly.Memory(mem);
      const [module, s32, s64] = compile(mem);
      const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
      const buf = memory.buffer;
      engine = {
        s32,
        s64,
        memory,
        module,
        fns: EXPORTS.map((n) => ex[n] as unknown as WasmFn),
        ctrl: new Int32Array(buf, 0, TASK0 + TASK_INTS * MAX_TASKS),
        v32: new Float32Array(buf),
        v64: new Float64Array(buf),
        workers: 0,
        canThread: shared,
        seq: 0,
      };
      return engine;
    } catch {
      // try unshared memory, then give up (JS kernels)
    }
  }
  return engine;
}

/** Grows the memory to at least `bytes` (throws RangeError past the maximum). */
function ensure(e: Engine, bytes: number): void {
  const have = e.memory.buffer.byteLength;
  if (have < bytes) e.memory.grow(Math.ceil((bytes - have) / PAGE));
  if (e.v32.buffer.byteLength !== e.memory.buffer.byteLength) {
    const buf = e.memory.buffer; // (an unshared memory's old buffer is detached by the growth)
    e.v32 = new Float32Array(buf);
    e.v64 = new Float64Array(buf);
    e.ctrl = new Int32Array(buf, 0, TASK0 + TASK_INTS * MAX_TASKS);
  }
}

interface WorkerCtor {
  new (src: string, opts: { eval: boolean; workerData: unknown }): {
    unref(): void;
    on(ev: string, f: (x: unknown) => void): void;
  };
}

/** Starts workers up to `threads − 1`; returns whether tasks may be shared. */
function startWorkers(e: Engine): boolean {
  if (!e.canThread || threads < 2) return false;
  if (e.workers >= threads - 1) return true;
  try {
    Atomics.wait(e.ctrl, 15, 1, 0); // throws where the calling thread may not block
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const wt = proc?.getBuiltinModule?.("node:worker_threads") as { Worker?: WorkerCtor } | undefined;
    if (!wt?.Worker) throw new Error("no node:worker_threads");
    for (; e.workers < threads - 1; e.workers++) {
      const w = new wt.Worker(WORKER_SRC, {
        eval: true,
        workerData: { memory: e.memory, module: e.module, names: EXPORTS },
      });
      w.on("error", () => {}); // a worker that fails to start just never claims tasks
      w.unref();
    }
  } catch {
    e.canThread = e.workers > 0;
  }
  return e.workers > 0;
}

/** Claims and runs tasks of job `seq` until none are left. */
function drain(e: Engine, seq: number): void {
  const ctrl = e.ctrl;
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if (v >>> 8 !== seq || (v & 255) >= Atomics.load(ctrl, NTASKS)) return;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) !== v) continue;
    const t = TASK0 + (v & 255) * TASK_INTS;
    try {
      e.fns[ctrl[t]](...ctrl.subarray(t + 1, t + TASK_INTS));
    } catch {
      Atomics.store(ctrl, ERR, 1);
    }
    Atomics.add(ctrl, DONE, 1);
  }
}

/**
 * Runs `tasks` (rows `[fn, ...args]`), shared with the workers when `parallel`; `meanwhile` runs on
 * this thread after the tasks are posted.
 */
function runTasks(e: Engine, tasks: number[][], parallel: boolean, meanwhile?: () => void): void {
  if (!parallel || tasks.length < 2) {
    meanwhile?.();
    for (const t of tasks) e.fns[t[0]](...t.slice(1));
    return;
  }
  const ctrl = e.ctrl;
  const seq = e.seq = (e.seq + 1) & 0x7fffff;
  Atomics.store(ctrl, NEXT, -1); // invalidate claims of the previous job before rewriting the table
  for (let i = 0; i < tasks.length; i++) ctrl.set(tasks[i], TASK0 + i * TASK_INTS);
  Atomics.store(ctrl, NTASKS, tasks.length);
  Atomics.store(ctrl, DONE, 0);
  Atomics.store(ctrl, ERR, 0);
  Atomics.store(ctrl, NEXT, seq << 8);
  Atomics.store(ctrl, SEQ, seq);
  Atomics.notify(ctrl, SEQ);
  meanwhile?.();
  drain(e, seq);
  for (let d; (d = Atomics.load(ctrl, DONE)) < tasks.length;) Atomics.wait(ctrl, DONE, d, 1000);
  if (Atomics.load(ctrl, ERR) !== 0) throw new Error("wasm gemm: a task failed");
}

/** `count` split into `parts` nearly equal ranges `[start, end)` (empty ones dropped). */
function ranges(count: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const a = Math.floor((count * i) / parts), b = Math.floor((count * (i + 1)) / parts);
    if (b > a) out.push([a, b]);
  }
  return out;
}

const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;

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
): boolean {
  const e = getEngine();
  if (!e) return false;
  if (m === 0 || n === 0) return true;
  if (k === 0) {
    C.fill(0, co, co + m * n);
    return true;
  }
  const f64 = C instanceof Float64Array;
  const s = f64 ? e.s64 : e.s32;
  const { es, mr, nr, unroll } = s;
  const fn0 = f64 ? 3 : 0;
  // pass sizes: halve a dimension until one pass fits passBytesMax
  const rawLen = (rows: number, kk: number, rs: number, ks: number) => (rows - 1) * rs + (kk - 1) * ks + 1;
  const passBytes = (mc: number, nc: number, kc: number) => {
    const mp = roundUp(mc, mr), np = roundUp(nc, nr), kp = roundUp(kc, unroll);
    return es * (mp * kp + kp * np + mp * np + rawLen(mc, kc, ars, acs) + rawLen(nc, kc, bcs, brs)) + 4 * 64;
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
  const parallel = 2 * m * n * k >= THREAD_MIN_FLOPS && startWorkers(e);
  const nThreads = parallel ? e.workers + 1 : 1;
  // memory layout (bytes, 64-aligned): control | packed A | packed B | C | raw A | raw B
  const mpMax = Math.ceil(mc / mr), npMax = Math.ceil(nc / nr), kpMax = roundUp(kc, unroll);
  const align = (x: number) => roundUp(x, 64);
  const ap = align(CTRL_BYTES);
  const bp = align(ap + mpMax * mr * kpMax * es);
  const cp = align(bp + npMax * nr * kpMax * es);
  const ra = align(cp + mpMax * mr * npMax * nr * es);
  const rb = align(ra + rawLen(mc, kc, ars, acs) * es);
  ensure(e, rb + rawLen(nc, kc, bcs, brs) * es);
  const view = f64 ? e.v64 : e.v32;
  for (let i0 = 0; i0 < m; i0 += mc) {
    const mi = Math.min(mc, m - i0), mp = Math.ceil(mi / mr);
    for (let j0 = 0; j0 < n; j0 += nc) {
      const nj = Math.min(nc, n - j0), np = Math.ceil(nj / nr);
      const ldc = np * nr; // elements
      view.fill(0, cp / es, cp / es + mp * mr * ldc);
      for (let p0 = 0; p0 < k; p0 += kc) {
        const kk = Math.min(kc, k - p0), kp = roundUp(kk, unroll);
        // raw copies of the operand blocks
        const offA = ao + i0 * ars + p0 * acs, offB = bo + p0 * brs + j0 * bcs;
        const lenA = rawLen(mi, kk, ars, acs), lenB = rawLen(nj, kk, bcs, brs);
        view.set(A.subarray(offA, offA + lenA), ra / es);
        view.set(B.subarray(offB, offB + lenB), rb / es);
        // pack: whole panels in Wasm (split among threads), the partial panel and padding in JS
        const packTasks: number[][] = [];
        const fullA = Math.floor(mi / mr), fullB = Math.floor(nj / nr);
        for (const [t0, t1] of ranges(fullA, nThreads)) {
          packTasks.push([fn0 + PACK_A, ra, ars, acs, t0, t1, kk, kp, ap, mp, 0, 0]);
        }
        for (const [t0, t1] of ranges(fullB, nThreads)) {
          packTasks.push([fn0 + PACK_B, rb, bcs, brs, t0, t1, kk, kp, bp, np, 0, 0]);
        }
        runTasks(e, packTasks, parallel, () => {
          packRest(A, offA, ars, acs, mi, kk, kp, mr, s.kc, view, ap / es);
          packRest(B, offB, bcs, brs, nj, kk, kp, nr, s.kc, view, bp / es);
        });
        // multiply: column ranges (and row ranges when there are few columns), ~4 tasks per thread
        const want = nThreads === 1 ? 1 : 4 * nThreads;
        const cols = ranges(np, Math.min(np, want));
        const rows = ranges(mp, Math.min(mp, Math.ceil(want / cols.length)));
        const gemmTasks: number[][] = [];
        for (const [j0p, j1p] of cols) {
          for (const [i0p, i1p] of rows) {
            gemmTasks.push([fn0 + GEMM, ap, bp, cp, mp, np, i0p, i1p, j0p, j1p, kp, ldc * es]);
          }
        }
        runTasks(e, gemmTasks, parallel);
      }
      // copy out the rows of C
      const c0 = cp / es;
      if (nj === ldc && n === nj) C.set(view.subarray(c0, c0 + mi * n), co + i0 * n);
      else {
        for (let i = 0; i < mi; i++) C.set(view.subarray(c0 + i * ldc, c0 + i * ldc + nj), co + (i0 + i) * n + j0);
      }
    }
  }
  return true;
}

/**
 * A batch of equal-shaped products `C_t = op(A_t) · op(B_t)`, `t < count`, too small to be split
 * among threads (2·m·n·k below `THREAD_MIN_FLOPS`): item t reads A from `aOffs[t]` and B from
 * `bOffs[t]` (strides as in `wasmGemm`) and writes `C[co + t·m·n …]`. Each item is packed and
 * multiplied exactly as `wasmGemm` does on one thread, in the same memory regions, so the bits are
 * the same; what is saved is the per-call work (layout, task tables, argument arrays), about 1.5 µs
 * an item (128 products of 24×24×16: 0.39 -> 0.2 ms). Returns false (C untouched) where `wasmGemm`
 * would run on threads, without WebAssembly SIMD, or when an item needs more than a pass's memory.
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
  const s = f64 ? e.s64 : e.s32;
  const { es, mr, nr, unroll } = s;
  const fn0 = f64 ? 3 : 0;
  const mp = Math.ceil(m / mr), np = Math.ceil(n / nr), kp = roundUp(k, unroll), ldc = np * nr;
  const lenA = (m - 1) * ars + (k - 1) * acs + 1, lenB = (n - 1) * bcs + (k - 1) * brs + 1;
  const align = (x: number) => roundUp(x, 64);
  // one item's regions, reused by every item (they stay in cache): packed A, packed B, C, raw A, raw B
  const ap = align(CTRL_BYTES);
  const bp = align(ap + mp * mr * kp * es), cp = align(bp + np * nr * kp * es);
  const ra = align(cp + mp * mr * ldc * es), rb = align(ra + lenA * es), end = rb + lenB * es;
  if (end > passBytesMax) return false;
  ensure(e, end);
  const view = f64 ? e.v64 : e.v32;
  const fullA = Math.floor(m / mr), fullB = Math.floor(n / nr);
  const [gemmFn, packA, packB] = [e.fns[fn0 + GEMM], e.fns[fn0 + PACK_A], e.fns[fn0 + PACK_B]];
  const c0 = cp / es, cEnd = c0 + mp * mr * ldc;
  for (let t = 0; t < count; t++) {
    view.fill(0, c0, cEnd);
    view.set(A.subarray(aOffs[t], aOffs[t] + lenA), ra / es);
    view.set(B.subarray(bOffs[t], bOffs[t] + lenB), rb / es);
    packA(ra, ars, acs, 0, fullA, k, kp, ap, mp);
    packB(rb, bcs, brs, 0, fullB, k, kp, bp, np);
    packRest(A, aOffs[t], ars, acs, m, k, kp, mr, s.kc, view, ap / es);
    packRest(B, bOffs[t], bcs, brs, n, k, kp, nr, s.kc, view, bp / es);
    gemmFn(ap, bp, cp, mp, np, 0, mp, 0, np, kp, ldc * es);
    const d = co + t * m * n;
    if (ldc === n) C.set(view.subarray(c0, c0 + m * n), d);
    else for (let i = 0; i < m; i++) C.set(view.subarray(c0 + i * ldc, c0 + i * ldc + n), d + i * n);
  }
  return true;
}
