/**
 * How a WebGPU linear-algebra kernel reports a singular, non-positive-definite, non-symmetric or
 * non-finite input without waiting for the GPU. WebGPU cannot throw synchronously: the CPU kernel
 * throws at once, the GPU kernel cannot know before it has run. So:
 *
 * 1. the kernel writes a status per matrix (`kind`, `index`, `value`; kind 0 = fine) into a small
 *    region buffer, next to its results (which are NaN for a failed matrix, as on the CPU);
 * 2. a one-workgroup fold kernel, encoded right after it, appends the region's first failure to
 *    the backend's failure log, a queue of up to `LOG_ENTRIES` failures in queue order (which is
 *    program order; beyond that they are counted);
 * 3. every read (`await t.data()`) reads the log in the same wait as the data, removes the failures
 *    it read from the GPU queue (a kernel that shifts out only those), keeps them on the host, and
 *    throws the first one as the DomainError the CPU would have thrown (same message, built by
 *    core/linalg/failure.ts); each later read throws the next one kept.
 *
 * A kernel may also report a warning (kind `STATUS.warning`, e.g. spectral_gaps.ts: a gradient that
 * dropped terms the loss needs): its describer returns a {@linkcode StatusWarning}, which the read
 * prints with console.warn, once per its `once` key, and neither throws nor counts as a failure (a
 * later failure still throws). The fold appends a warning only when the log holds none of the same
 * describer, so a loop that never reads adds one entry, not one per step.
 *
 * So every failure surfaces, at the latest when a result is read — the first read after the
 * failing op, whichever tensor it reads, like WebGPU's own validation errors; two failures before
 * a read are thrown by two reads. A training step that never reads pays one tiny dispatch per
 * fallible kernel and no wait.
 * @module
 */
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import type { Kernel, Storage } from "../backend.ts";
import { Uniforms } from "./runtime.ts";
import { memoCode } from "./wgsl.ts";
import type { DomainError } from "../../errors.ts";
import { currentCall, failureError } from "../../linalg/failure.ts";
import type { KernelFailure } from "../../linalg/kernels.ts";

/** Status kinds written by the kernels (0 = fine). */
export const STATUS = {
  ok: 0,
  nonFinite: 1,
  notPositiveDefinite: 2,
  singular: 3,
  notConverged: 4,
  notSymmetric: 5,
  /** A non-finite entry in the second input (a right-hand side). */
  nonFiniteB: 6,
  /** Not a failure: a warning (`index` and `value` carry what the describer needs). */
  warning: 7,
} as const;

/** Words per matrix in a status region: kind, index, value (f32 bits), unused. */
export const STATUS_WORDS = 4;

/** A failure read back from the log. */
export interface GpuFailure {
  /** One of {@linkcode STATUS}. */
  kind: number;
  /** Position of the matrix in its batch. */
  batch: number;
  /** Row-major index, column or pivot, by kind. */
  index: number;
  /** A float the message needs (the asymmetry of `eigh`). */
  value: number;
}

/**
 * A warning a status reports: printed (console.warn) by the read that finds it, once per `once`
 * key; never thrown.
 * @example
 * ```ts
 * import { StatusWarning } from "./linalg_status.ts";
 * const w = new StatusWarning("eigh (gradient): dropped 1 term(s) …", "eigh|float32");
 * console.assert(w.once === "eigh|float32");
 * ```
 */
export class StatusWarning {
  /** The text printed. */
  readonly message: string;
  /** Shown once per this key (e.g. `eigh|float32`). */
  readonly once: string;
  /**
   * @param message the text printed
   * @param once the key it is shown once per
   */
  constructor(message: string, once: string) {
    this.message = message;
    this.once = once;
  }
}

const shownWarnings = new Set<string>();

/**
 * Whether a read has already printed the warning of key `once` (then encoding its check is moot).
 * @example
 * ```ts
 * import { warningShown } from "./linalg_status.ts";
 * console.assert(typeof warningShown("eigh|float32") === "boolean");
 * ```
 */
export function warningShown(once: string): boolean {
  return shownWarnings.has(once);
}

/** Builds the error (or, for `STATUS.warning`, the warning) for a status of one kind of call (op, shapes). */
export type Describe = (f: GpuFailure) => DomainError | StatusWarning;

// log words: [seq, describer id, batch, kind, index, value]
/** Failures the GPU log holds between two reads (more are counted, and said with the last one). */
export const LOG_ENTRIES = 64;

/** Words per log entry: describer id, batch, kind, index, value bits, the fold's serial. The log: [count, dropped, entries…]. */
const ENTRY = 6;

const FOLD = `struct U { count: u32, id: u32, serial: u32 }
@group(0) @binding(0) var<storage, read> R: array<u32>;
@group(0) @binding(1) var<storage, read_write> L: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> best: atomic<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  if (t == 0u) { atomicStore(&best, 0xffffffffu); }
  workgroupBarrier();
  for (var b = t; b < u.count; b += 256u) {
    let k = R[4u * b];
    // a non-symmetric matrix anywhere in the batch comes first (the CPU checks symmetry before
    // decomposing), then the first failing matrix
    if (k != 0u) { atomicMin(&best, select(b | 0x80000000u, b, k == 5u)); }
    // (a warning's region has one entry, so it never competes with failures here)
  }
  workgroupBarrier();
  if (t == 0u) {
    let key = atomicLoad(&best);
    if (key != 0xffffffffu) {
      let n = L[0];
      var known = false;
      if (R[4u * (key & 0x7fffffffu)] == ${STATUS.warning}u) {
        // one pending warning per describer: a loop that never reads does not fill the log
        for (var i = 0u; i < min(n, ${LOG_ENTRIES}u); i++) {
          known = known || (L[2u + ${ENTRY}u * i] == u.id && L[2u + ${ENTRY}u * i + 2u] == ${STATUS.warning}u);
        }
        if (!known && n >= ${LOG_ENTRIES}u) { known = true; } // no room: lost, and not counted as a failure
      }
      if (!known && n < ${LOG_ENTRIES}u) {
        let b = key & 0x7fffffffu;
        let o = 2u + ${ENTRY}u * n;
        L[o] = u.id; L[o + 1u] = b; L[o + 2u] = R[4u * b]; L[o + 3u] = R[4u * b + 1u]; L[o + 4u] = R[4u * b + 2u];
        L[o + 5u] = u.serial;
        L[0] = n + 1u;
      } else if (!known) {
        L[1] = L[1] + 1u;
      }
    }
  }
}`;

// removes the first u.n entries (those a read saw; entries appended since move to the front)
const CLEAR = `struct U { n: u32, dropped: u32 }
@group(0) @binding(0) var<storage, read_write> L: array<u32>;
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() {
  let c = L[0];
  for (var i = u.n; i < c; i++) {
    for (var w = 0u; w < ${ENTRY}u; w++) { L[2u + ${ENTRY}u * (i - u.n) + w] = L[2u + ${ENTRY}u * i + w]; }
  }
  L[0] = c - u.n;
  L[1] = L[1] - u.dropped;
}`;

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8;

/** The failure log of one backend. */
export class FailureLog {
  private readonly gpu: WebGPUBackend;
  private readonly log: GPUBuffer;
  private readonly describers: Describe[] = [];
  private readonly ids = new Map<string, number>();
  private dirty = false;
  /** Failures read from the GPU and not yet thrown, oldest first. */
  private readonly held: DomainError[] = [];
  /** Folds so far (each fold's serial). */
  private serial = 0;
  /** While a tracked kernel runs: the serials of the folds that produced its inputs. */
  private inputsFrom: number[] = [];
  /** The serial of the fold of the tracked kernel that produced each output. */
  private readonly producedBy = new WeakMap<Storage, number>();
  /** For the latest folds: the folds that produced their kernel's inputs. */
  private readonly parents = new Map<number, number[]>();
  /** The latest failed folds (raised, or not raised because an input's producer had failed). */
  private readonly failed = new Set<number>();
  /** For the latest folds run inside `asOneCall`: the call. */
  private readonly callOf = new Map<number, number>();
  /** The latest calls one of whose folds failed. */
  private readonly failedCalls = new Set<number>();

  /** @param gpu the backend whose reads check this log */
  constructor(gpu: WebGPUBackend) {
    this.gpu = gpu;
    // created, not pooled: a new buffer starts zeroed
    this.log = gpu.runtime.device.createBuffer({
      size: (2 + ENTRY * LOG_ENTRIES) * 4,
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
    gpu.readChecks.push(() => this.check());
  }

  /** A region for `count` matrices' statuses (every matrix's words must be written). */
  region(count: number): GPUBuffer {
    return this.gpu.runtime.alloc(Math.max(1, count) * STATUS_WORDS * 4);
  }

  /**
   * Encodes the fold of `region` (written by the kernel just encoded) into the log and returns the
   * region to the pool. `key` identifies `describe` (the op and shapes), so a training loop adds no
   * new describers.
   */
  fold(region: GPUBuffer, count: number, key: string, describe: Describe): void {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.describers.length;
      this.describers.push(describe);
      this.ids.set(key, id);
    }
    this.serial = this.serial >= 0xfffffff0 ? 1 : this.serial + 1;
    if (this.inputsFrom.length) {
      this.parents.set(this.serial, this.inputsFrom);
      if (this.parents.size > 4096) this.parents.delete(this.parents.keys().next().value!);
    }
    const c = currentCall();
    if (c !== 0) {
      this.callOf.set(this.serial, c);
      if (this.callOf.size > 4096) this.callOf.delete(this.callOf.keys().next().value!);
    }
    this.gpu.runtime.dispatch({
      code: memoCode("linalg-status-fold", () => FOLD),
      inputs: [region],
      output: this.log,
      uniforms: new Uniforms().u(count, id, this.serial).u32,
      groups: [1, 1, 1],
    });
    this.gpu.runtime.free(region);
    this.dirty = true;
  }

  /**
   * Wraps a kernel so that a failure reported only because an input descends from an earlier failed
   * kernel (inv's triangular solves of a failed LU, a vmapped scatterAdd's flat indices after its
   * per-example check) is not raised a second time: the CPU throws at the first kernel and never
   * runs the others. Outputs remember the latest fold they descend from: the kernel's own, or its
   * inputs'.
   */
  track(kernel: Kernel): Kernel {
    return (inputs, inAvals, params, outAvals) => {
      if (this.serial === 0) {
        // no fold has run: no storage was produced by one, nothing to look up or keep
        const outs = kernel(inputs, inAvals, params, outAvals);
        if (this.serial !== 0) { for (const s of outs) this.producedBy.set(s, this.serial); }
        return outs;
      }
      const from: number[] = [];
      for (const s of inputs) {
        const p = this.producedBy.get(s);
        if (p !== undefined && !from.includes(p)) from.push(p);
      }
      const saved = this.inputsFrom, before = this.serial;
      this.inputsFrom = from;
      try {
        const outs = kernel(inputs, inAvals, params, outAvals);
        const last = this.serial !== before ? this.serial : from.length ? Math.max(...from) : 0;
        if (last) { for (const s of outs) this.producedBy.set(s, last); }
        return outs;
      } finally {
        this.inputsFrom = saved;
      }
    };
  }

  /**
   * Reads the log (when a fold ran since the last read), moves the failures it holds to the host
   * and throws the oldest failure not thrown yet (one per read).
   */
  async check(): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      const w = new Uint32Array(await this.gpu.runtime.read(this.log, (2 + ENTRY * LOG_ENTRIES) * 4));
      const n = Math.min(w[0], LOG_ENTRIES), dropped = w[1];
      if (n > 0 || dropped > 0) {
        this.gpu.runtime.dispatch({
          code: memoCode("linalg-status-clear", () => CLEAR),
          inputs: [],
          output: this.log,
          uniforms: new Uniforms().u(n, dropped).u32,
          groups: [1, 1, 1],
        });
        const f = new Float32Array(w.buffer);
        for (let i = 0; i < n; i++) {
          const o = 2 + ENTRY * i;
          const serial = w[o + 5];
          const d = this.describers[w[o]]({ batch: w[o + 1], kind: w[o + 2], index: w[o + 3], value: f[o + 4] });
          if (d instanceof StatusWarning) {
            // not a failure: shown now (once per key), neither thrown nor suppressing later failures
            if (!shownWarnings.has(d.once)) {
              shownWarnings.add(d.once);
              console.warn(d.message);
            }
            continue;
          }
          // a kernel that failed on an input made by a failed kernel: the CPU raised only the first
          // or another kernel of a call (expm, inv, ...) one of whose kernels failed first
          const c = this.callOf.get(serial) ?? 0;
          const caused = (this.parents.get(serial) ?? []).some((p) => this.failed.has(p)) ||
            (c !== 0 && this.failedCalls.has(c));
          this.failed.add(serial);
          if (this.failed.size > 4096) this.failed.delete(this.failed.values().next().value!);
          if (c !== 0) {
            this.failedCalls.add(c);
            if (this.failedCalls.size > 4096) this.failedCalls.delete(this.failedCalls.values().next().value!);
          }
          if (caused) continue;
          this.held.push(d);
        }
        if (dropped > 0 && this.held.length > 0) {
          const last = this.held[this.held.length - 1];
          last.message +=
            ` (and ${dropped} later failure${dropped === 1 ? "" : "s"} of kernels run before this read, ` +
            `not kept: read results more often to see each)`;
        }
      }
    }
    const first = this.held.shift();
    if (first) throw first;
  }
}

const logs = new WeakMap<WebGPUBackend, FailureLog>();

/** The failure log of `gpu` (created on first use). */
export function failureLog(gpu: WebGPUBackend): FailureLog {
  let l = logs.get(gpu);
  if (!l) logs.set(gpu, l = new FailureLog(gpu));
  return l;
}

/** The CPU kernels' failure record for a status read from the GPU. */
export function kernelFailure(f: GpuFailure): KernelFailure {
  const kinds: Record<number, KernelFailure["kind"]> = {
    [STATUS.nonFinite]: "nonFinite",
    [STATUS.nonFiniteB]: "nonFinite",
    [STATUS.notPositiveDefinite]: "notPositiveDefinite",
    [STATUS.singular]: "singular",
    [STATUS.notConverged]: "notConverged",
  };
  return { batch: f.batch, kind: kinds[f.kind] ?? "notConverged", index: kinds[f.kind] ? f.index : -1 };
}

/** `(f) => DomainError` for a standard failure of `op` on an input of `shape` with rows of `cols`. */
export function describe(op: string, shape: readonly number[], cols: number, input = "input"): Describe {
  return (f) => failureError(op, kernelFailure(f), shape, cols, input);
}
