/**
 * The CPU backend's WebAssembly module (the GEMM and packing of `gemm_kernel.ts`, the plane
 * rotations of `rotations_kernel.ts`), instantiated on the shared memory of `heap.ts`, and the
 * threads that run its functions.
 *
 * Threads: a job is a table of tasks (rows `[function index, ...int32 arguments]`) that the calling
 * thread and `threads − 1` workers (`node:worker_threads`, unref'd so they never keep the process
 * alive, started lazily by the first job that wants them) claim, each from its own starting point
 * (see `drain`). The calling thread waits until all tasks are done; it never waits for a worker to
 * start (a task nobody else claimed, it runs itself), so a slow or missing worker costs speed, never
 * a hang. A waiting thread (a worker between jobs, the caller for the workers' last tasks) polls
 * for `spin` µs before it sleeps in `Atomics.wait` (`setMatmulSpin`): a sleeping thread takes ~8 µs
 * to wake, often more, which is as long as a rank-8 product's share of work. Without
 * `node:worker_threads`, `Atomics.wait` or shared memory everything runs on one thread.
 * @module
 */
import {
  EXPORTS,
  F32_NARROW,
  F32_SHAPE,
  F64_NARROW,
  F64_SHAPE,
  gemmModuleBytes,
  type KernelShape,
} from "./gemm_kernel.ts";
import { getHeap, type WasmHeap } from "./heap.ts";
import { DomainError } from "../../../errors.ts";

/** A function of the module: int32 arguments, no result. */
export type WasmFn = (...args: number[]) => void;

/** Index of an exported function in `Engine.fns` (task rows name functions by it). */
export function fnIndex(name: (typeof EXPORTS)[number]): number {
  return EXPORTS.indexOf(name);
}

const MAX_THREADS = 8;
/** Products of at least this many flops (2·m·n·k) are run on several threads. */
export const THREAD_MIN_FLOPS = 2 * 128 * 128 * 128;

// control block (int32 indices, at the bottom of the memory): header, then a task table of [fn, ...args] rows
const SEQ = 0, NTHREADS = 1, DONE = 2, ERR = 3, NTASKS = 4, BY_WORKERS = 5, SPIN = 6;
const TASK0 = 16, TASK_INTS = 16, MAX_TASKS = 255;
/** Per row of the table, the row the same thread runs next (a task's chain, see `runTasks`), or −1. */
const THEN0 = TASK0 + TASK_INTS * MAX_TASKS;
/** Per task: 2·seq while task i of job seq is unclaimed, 2·seq + 1 once a thread claimed it. */
const CLAIM0 = THEN0 + MAX_TASKS;
const CTRL_INTS = CLAIM0 + MAX_TASKS;

/**
 * Source of a worker: instantiate the module on the shared memory, then forever wait for a new job
 * sequence number and claim tasks of it as `drain` does (by compare-exchange of a task's word from
 * 2·seq, so a stale worker can never claim a task of a later job).
 */
const WORKER_SRC = `
try {
  const { memory, module: mod, names, pos } = require("node:worker_threads").workerData;
  const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports;
  const fns = names.map((n) => ex[n]);
  const ctrl = new Int32Array(memory.buffer, 0, ${CTRL_INTS});
  let seen = Atomics.load(ctrl, ${SEQ});
  for (;;) {
    const until = performance.now() + Atomics.load(ctrl, ${SPIN}) / 1000;
    while (Atomics.load(ctrl, ${SEQ}) === seen && performance.now() < until);
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    const n = Math.min(Atomics.load(ctrl, ${NTASKS}), ${MAX_TASKS}), tag = 2 * seen;
    const start = Math.min(n - 1, Math.floor((pos * n) / Math.max(1, Atomics.load(ctrl, ${NTHREADS}))));
    for (let j = 0; j < n; j++) {
      const i = (start + j) % n;
      if (Atomics.compareExchange(ctrl, ${CLAIM0} + i, tag, tag + 1) !== tag) continue;
      try {
        for (let r = i; r >= 0; r = ctrl[${THEN0} + r]) {
          const t = ${TASK0} + r * ${TASK_INTS};
          fns[ctrl[t]](ctrl[t + 1], ctrl[t + 2], ctrl[t + 3], ctrl[t + 4], ctrl[t + 5], ctrl[t + 6],
            ctrl[t + 7], ctrl[t + 8], ctrl[t + 9], ctrl[t + 10], ctrl[t + 11], ctrl[t + 12], ctrl[t + 13],
            ctrl[t + 14], ctrl[t + 15]);
        }
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

/**
 * `WebAssembly.Module` where the program's globals declare WebAssembly, else any object (as
 * `WasmMemory` in `heap.ts`: the npm package's declarations need no WebAssembly namespace).
 */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : object;

/** The instantiated module, its memory views and worker state. */
export interface Engine {
  /** Kernel shapes compiled (float32, float64; and their narrow shapes for products of few rows). */
  s32: KernelShape;
  s64: KernelShape;
  n32: KernelShape;
  n64: KernelShape;
  heap: WasmHeap;
  module: WasmModule;
  fns: WasmFn[];
  ctrl: Int32Array;
  v32: Float32Array;
  v64: Float64Array;
  /** Workers started (0 until the first large product). */
  workers: number;
  /** False once starting workers failed, `Atomics.wait` is not allowed here, or memory is unshared. */
  canThread: boolean;
  seq: number;
}

let engine: Engine | null | undefined;
let threads = Math.max(1, Math.min(MAX_THREADS, globalThis.navigator?.hardwareConcurrency ?? 1));
/** µs a waiting thread polls before it sleeps (see `setMatmulSpin`). */
let spinUs = 1000;

/**
 * Sets how many threads (the caller included) large CPU matrix products use; 1 disables workers.
 * Workers already started stay (idle, blocked, unref'd). Default: the number of cores, at most 8.
 * @example
 * ```ts
 * import { setMatmulThreads } from "@tangent/tangent";
 * setMatmulThreads(1); // products on the calling thread only
 * setMatmulThreads(navigator.hardwareConcurrency);
 * ```
 */
export function setMatmulThreads(n: number): void {
  threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
}

/**
 * Sets how long (µs, default 1000) a thread of the CPU's matrix products polls for work before it
 * sleeps: a worker between jobs, and the calling thread waiting for the workers' last tasks. A
 * sleeping thread takes ~8 µs or more to wake, as long as a rank-8 product's share of work, so
 * polling is what lets products of 0.1–0.2 ms use the second core (gᵀ·u of a LoRA step, 512 tokens:
 * 230 → 140 µs on two cores); 0 sleeps at once, leaving idle cores to other processes (as
 * `OMP_WAIT_POLICY=PASSIVE` does for OpenMP). Results never depend on it.
 * @example
 * ```ts
 * import { setMatmulSpin } from "@tangent/tangent";
 * setMatmulSpin(0); // on a machine shared with other busy processes
 * setMatmulSpin(1000);
 * ```
 */
export function setMatmulSpin(microseconds: number): void {
  if (typeof microseconds !== "number" || !(microseconds >= 0) || microseconds > 1e6) {
    throw new DomainError(
      `setMatmulSpin: expected microseconds in [0, 1000000], got ${String(microseconds)}; pass 0 to sleep at once`,
    );
  }
  spinUs = Math.round(microseconds);
  if (engine) Atomics.store(engine.ctrl, SPIN, spinUs);
}

/** How many tasks workers have run so far (0 before any ran; for tests and diagnostics). */
export function workerTaskCount(): number {
  return engine ? Atomics.load(engine.ctrl, BY_WORKERS) : 0;
}

/** Compiles the module for the heap's memory: relaxed SIMD first, else multiply then add. */
function compile(heap: WasmHeap): [WebAssembly.Module, KernelShape[]] {
  const shapes = [F32_SHAPE, F64_SHAPE, F32_NARROW, F64_NARROW];
  try {
    return [new WebAssembly.Module(gemmModuleBytes(heap.def, ...shapes)), shapes];
  } catch {
    const plain = shapes.map((s) => ({ ...s, fma: false }));
    return [new WebAssembly.Module(gemmModuleBytes(heap.def, ...plain)), plain];
  }
}

/**
 * Instantiates the module on the heap's memory on first use (synchronous: the module is small);
 * `null` (cached) where WebAssembly SIMD is unavailable.
 */
export function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  const heap = getHeap();
  if (!heap) return null;
  try {
    const [module, [s32, s64, n32, n64]] = compile(heap);
    const ex = new WebAssembly.Instance(module, { env: { memory: heap.memory } }).exports;
    const buf = heap.memory.buffer;
    engine = {
      s32,
      s64,
      n32,
      n64,
      heap,
      module,
      fns: EXPORTS.map((n) => ex[n] as unknown as WasmFn),
      ctrl: new Int32Array(buf, 0, CTRL_INTS),
      v32: new Float32Array(buf),
      v64: new Float64Array(buf),
      workers: 0,
      canThread: heap.shared,
      seq: 0,
    };
    Atomics.store(engine.ctrl, SPIN, spinUs);
  } catch {
    // no SIMD: the JS kernels
  }
  return engine;
}

/** Refreshes the engine's views after the memory grew (an unshared memory's old buffer is detached). */
export function views(e: Engine): void {
  const buf = e.heap.memory.buffer;
  if (e.v32.buffer === buf) return;
  e.v32 = new Float32Array(buf);
  e.v64 = new Float64Array(buf);
  e.ctrl = new Int32Array(buf, 0, CTRL_INTS);
}

interface WorkerCtor {
  new (src: string, opts: { eval: boolean; workerData: unknown }): {
    unref(): void;
    on(ev: string, f: (x: unknown) => void): void;
  };
}

/** Starts workers up to `threads − 1`; returns whether tasks may be shared. */
export function startWorkers(e: Engine): boolean {
  if (!e.canThread || threads < 2) return false;
  if (e.workers >= threads - 1) return true;
  try {
    Atomics.wait(e.ctrl, 15, 1, 0); // throws where the calling thread may not block
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const wt = proc?.getBuiltinModule?.("node:worker_threads") as { Worker?: WorkerCtor } | undefined;
    if (!wt?.Worker) throw new Error("no node:worker_threads");
    startedAt = performance.now();
    for (; e.workers < threads - 1; e.workers++) {
      const w = new wt.Worker(WORKER_SRC, {
        eval: true,
        workerData: { memory: e.heap.memory, module: e.module, names: EXPORTS, pos: e.workers + 1 },
      });
      w.on("error", () => {}); // a worker that fails to start just never claims tasks
      w.unref();
    }
  } catch {
    e.canThread = e.workers > 0;
  }
  return e.workers > 0;
}

/**
 * Per kind of job and size: moving averages of ms per unit of work on one thread and on all, jobs
 * so far, and the state of a probe of all threads (see `useWorkers`).
 */
const speeds = new Map<string, { one: number; all: number; jobs: number; coldProbe: boolean; again: boolean }>();
/** When the last job shared with the workers ended (they poll `spinUs` after it, then sleep). */
let lastShared = -Infinity;
/** Every this many jobs of a kind and size, the mode not chosen lately is measured again. */
const PROBE = 8;
/** When the workers were started (their first jobs, run while they instantiate, are not measured). */
let startedAt = -Infinity;

const bucket = (kind: string, work: number) => `${kind}:${Math.round(Math.log2(Math.max(1, work)))}`;

/**
 * Whether a job of `kind` and `work` units (flops, rotations × bytes) should share its tasks with
 * the workers: the mode that ran faster per unit of work lately, for jobs of this kind and size
 * (within a factor of √2), and the other one every `PROBE` jobs (one thread every 4·`PROBE` when it was
 * 1.5× slower); the first job of a kind and size is not counted, and a mode's average drops at once to
 * a faster job and rises by 30% of the difference per slower one. So the split follows the machine's
 * load: with another process busy on the second core a worker is descheduled mid-task and the
 * calling thread waits for it, which made large products slower on two threads than on one.
 * Results never depend on the choice (tasks split work, never a sum).
 */
export function useWorkers(kind: string, work: number): boolean {
  const s = speeds.get(bucket(kind, work));
  if (!s) return true;
  s.jobs++;
  if (Number.isNaN(s.one) || Number.isNaN(s.all)) return Number.isNaN(s.all);
  if (s.again) {
    s.again = false;
    return true;
  }
  const best = s.all <= s.one;
  // one thread, when 1.5× slower than all, is probed 4× less often (a 1024³ probe on one thread costs
  // 40 ms here); all threads, whose speed comes and goes with the machine's load, every PROBE jobs
  const period = best && s.one > 1.5 * s.all ? 4 * PROBE : PROBE;
  const shared = s.jobs % period === 0 ? !best : best;
  // a probe of all threads after the workers fell asleep (jobs on one thread for longer than they
  // poll) measures their waking, which jobs back to back do not pay: it is not counted, and the next
  // job of the kind and size runs on all threads too and is (else the probes of (gB)ᵀ·x, 8.4 Mflop,
  // took 200 µs against 120 warm, and its products stayed on one thread, at 200 µs)
  s.coldProbe = shared && !best && spinUs > 0 && performance.now() - lastShared > spinUs / 1000;
  return shared;
}

/** Records how long a job took (`ms`) in the mode it ran (see `useWorkers`). */
export function recordJob(kind: string, work: number, parallel: boolean, ms: number): void {
  if (parallel && performance.now() - startedAt < 1000) return;
  const key = bucket(kind, work);
  const s = speeds.get(key);
  if (!s) {
    // the first job of a kind and size is not measured: it grew the memory (page faults: 20 ms for a
    // 1024³ product's scratch) and ran cold, and counted against whichever mode it ran in
    speeds.set(key, { one: NaN, all: NaN, jobs: 0, coldProbe: false, again: false });
    return;
  }
  if (parallel && s.coldProbe) {
    s.coldProbe = false;
    s.again = true;
    return;
  }
  const per = ms / work, old = parallel ? s.all : s.one;
  // faster than the average: taken at once (one slow job, a worker descheduled while the machine was
  // busy, had kept 1024³ products on one thread at 65 ms for 25 jobs after a probe ran on two in 28);
  // slower: averaged in as at most twice the average, so one slow job moves it little (a thread
  // descheduled for a millisecond mid-task, 1–2% of 128³ products on two threads at 50–55 µs, had
  // raised it 6-fold, and one thread, 86 µs, was then probed every 8 jobs rather than every 32) while a
  // lasting slowdown still moves it, by up to 30% a job
  const next = Number.isNaN(old) || per < old ? per : 0.7 * old + 0.3 * Math.min(per, 2 * old);
  if (parallel) s.all = next;
  else s.one = next;
}

/**
 * Runs one job of `kind` and `work` units (flops, rotations × bytes) on the threads the chooser picks
 * (`useWorkers`; one thread under `minWork` or without workers) and records its time: `plan(threads)`
 * returns its tasks for that many threads, and the rows each task's thread runs after it (`runTasks`).
 */
export function runJob(
  e: Engine,
  kind: string,
  work: number,
  minWork: number,
  plan: (threads: number) => { tasks: number[][]; then?: number[][][] },
): void {
  const t0 = performance.now();
  const eligible = work >= minWork && startWorkers(e);
  const parallel = eligible && useWorkers(kind, work);
  const { tasks, then } = plan(parallel ? e.workers + 1 : 1);
  runTasks(e, tasks, parallel, undefined, then);
  if (eligible) recordJob(kind, work, parallel, performance.now() - t0);
}

/**
 * Claims and runs tasks of job `seq` until none are left, as the calling thread (position 0 of the
 * job's threads; worker w is position w + 1, and the workers run the same loop in `WORKER_SRC`): a
 * thread at position t of T starts at task ⌊t·n/T⌋ and walks up, wrapping, claiming each task not
 * yet claimed. So each thread runs the same block of a job's tasks call after call, and takes
 * another's tasks only when that one is late: the operand columns, copies and results a task
 * touches stay in one core's cache. (With one shared counter, the tasks went to whichever thread
 * came first, and where the two cores did not share a cache, as between dies, each call moved half
 * the copied operand of gᵀ·u from one core's cache to the other's: its restriding copy took 150
 * instead of 50 µs.)
 */
function drain(e: Engine, seq: number, n: number): void {
  const ctrl = e.ctrl, tag = 2 * seq;
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(ctrl, CLAIM0 + i, tag, tag + 1) !== tag) continue;
    try {
      for (let r = i; r >= 0; r = ctrl[THEN0 + r]) {
        const t = TASK0 + r * TASK_INTS;
        e.fns[ctrl[t]](...ctrl.subarray(t + 1, t + TASK_INTS));
      }
    } catch {
      Atomics.store(ctrl, ERR, 1);
    }
    Atomics.add(ctrl, DONE, 1);
  }
}

/**
 * Runs `tasks` (rows `[fn, ...args]`), shared with the workers when `parallel`; `meanwhile` runs on
 * this thread after the tasks are posted. `then[i]`, when given, are rows the thread that runs task
 * i runs right after it, in order (work that needs what task i wrote, such as the products of the B
 * panels it packed): a task and its chain count as one, and at most `MAX_TASKS` rows are posted.
 */
export function runTasks(
  e: Engine,
  tasks: number[][],
  parallel: boolean,
  meanwhile?: () => void,
  then?: readonly (readonly number[][])[],
): void {
  if (!parallel || tasks.length < 2) {
    meanwhile?.();
    tasks.forEach((t, i) => {
      e.fns[t[0]](...t.slice(1));
      for (const r of then?.[i] ?? []) e.fns[r[0]](...r.slice(1));
    });
    return;
  }
  const ctrl = e.ctrl;
  const seq = e.seq = (e.seq + 1) & 0x7fffff;
  const rows = tasks.length + (then ?? []).reduce((n, c) => n + c.length, 0);
  if (rows > MAX_TASKS) throw new Error(`cpu wasm: ${rows} task rows posted, at most ${MAX_TASKS}`);
  // (every task of the previous job is claimed: its words are odd, and a stale worker claims none)
  let extra = tasks.length;
  for (let i = 0; i < tasks.length; i++) {
    ctrl.set(tasks[i], TASK0 + i * TASK_INTS);
    let last = i;
    for (const r of then?.[i] ?? []) {
      ctrl.set(r, TASK0 + extra * TASK_INTS);
      ctrl[THEN0 + last] = extra;
      last = extra++;
    }
    ctrl[THEN0 + last] = -1;
  }
  ctrl.fill(2 * seq, CLAIM0, CLAIM0 + tasks.length);
  Atomics.store(ctrl, NTASKS, tasks.length);
  Atomics.store(ctrl, NTHREADS, e.workers + 1);
  Atomics.store(ctrl, DONE, 0);
  Atomics.store(ctrl, ERR, 0);
  Atomics.store(ctrl, SEQ, seq);
  Atomics.notify(ctrl, SEQ);
  meanwhile?.();
  drain(e, seq, tasks.length);
  const until = performance.now() + spinUs / 1000;
  while (Atomics.load(ctrl, DONE) < tasks.length && performance.now() < until);
  for (let d; (d = Atomics.load(ctrl, DONE)) < tasks.length;) Atomics.wait(ctrl, DONE, d, 1000);
  lastShared = performance.now();
  if (Atomics.load(ctrl, ERR) !== 0) throw new Error("cpu wasm: a task failed");
}
