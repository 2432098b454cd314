/**
 * How a WebGPU linear-algebra kernel reports a singular, non-positive-definite, non-symmetric or
 * non-finite input without waiting for the GPU. WebGPU cannot throw synchronously: the CPU kernel
 * throws at once, the GPU kernel cannot know before it has run. So:
 *
 * 1. the kernel writes a status per matrix (`kind`, `index`, `value`; kind 0 = fine) into a small
 *    region buffer, next to its results (which are NaN for a failed matrix, as on the CPU);
 * 2. a one-workgroup fold kernel, encoded right after it, copies the region's first failure into
 *    the backend's failure log unless the log already holds one (so the log keeps the first failure
 *    in queue order, which is program order);
 * 3. every read (`await t.data()`) reads the log in the same wait as the data and throws the
 *    DomainError the CPU would have thrown (same message, built by core/linalg/failure.ts), then
 *    clears the log with a kernel that clears only the failure it reported.
 *
 * So a failure surfaces at the latest when a result is read — the first read after the failing op,
 * whichever tensor it reads, like WebGPU's own validation errors. A training step that never
 * reads pays one tiny dispatch per fallible kernel and no wait.
 * @module
 */
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { Uniforms } from "./runtime.ts";
import { memoCode } from "./wgsl.ts";
import type { DomainError } from "../../errors.ts";
import { failureError } from "../../linalg/failure.ts";
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

/** Builds the error for a failure of one kind of call (op, shapes). */
export type Describe = (f: GpuFailure) => DomainError;

// log words: [seq, describer id, batch, kind, index, value]
const FOLD = `struct U { count: u32, id: u32, seq: u32 }
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
  }
  workgroupBarrier();
  if (t == 0u) {
    let key = atomicLoad(&best);
    if (key != 0xffffffffu && L[0] == 0u) {
      let b = key & 0x7fffffffu;
      L[0] = u.seq; L[1] = u.id; L[2] = b;
      L[3] = R[4u * b]; L[4] = R[4u * b + 1u]; L[5] = R[4u * b + 2u];
    }
  }
}`;

const CLEAR = `struct U { seq: u32 }
@group(0) @binding(0) var<storage, read_write> L: array<u32>;
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() {
  if (L[0] == u.seq) { L[0] = 0u; }
}`;

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8;

/** The failure log of one backend. */
export class FailureLog {
  private readonly gpu: WebGPUBackend;
  private readonly log: GPUBuffer;
  private readonly describers: Describe[] = [];
  private readonly ids = new Map<string, number>();
  private seq = 0;
  private dirty = false;

  /** @param gpu the backend whose reads check this log */
  constructor(gpu: WebGPUBackend) {
    this.gpu = gpu;
    // created, not pooled: a new buffer starts zeroed
    this.log = gpu.runtime.device.createBuffer({ size: 32, usage: STORAGE | COPY_SRC | COPY_DST });
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
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    this.gpu.runtime.dispatch({
      code: FOLD,
      inputs: [region],
      output: this.log,
      uniforms: new Uniforms().u(count, id, this.seq).u32,
      groups: [1, 1, 1],
    });
    this.gpu.runtime.free(region);
    this.dirty = true;
  }

  /** Reads the log (when a fold ran since the last read); throws the first failure and clears it. */
  async check(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const w = new Uint32Array(await this.gpu.runtime.read(this.log, 24));
    if (w[0] === 0) return;
    this.gpu.runtime.dispatch({
      code: memoCode("linalg-status-clear", () => CLEAR),
      inputs: [],
      output: this.log,
      uniforms: new Uniforms().u(w[0]).u32,
      groups: [1, 1, 1],
    });
    const value = new Float32Array(w.buffer, 20, 1)[0];
    throw this.describers[w[1]]({ batch: w[2], kind: w[3], index: w[4], value });
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
