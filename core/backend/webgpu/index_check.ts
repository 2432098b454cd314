/**
 * Bounds checks for `take` and `scatterAdd` on WebGPU, so an out-of-range index fails as on the CPU
 * instead of reading or adding nothing. WebGPU cannot throw while encoding, so the check goes
 * through the backend's failure log (linalg_status.ts): a one-workgroup kernel finds the first
 * index outside `[−D, D)` and writes it as a status word, the log keeps the first failure in queue
 * order, and the next read (`await t.data()`, of any tensor) throws the CPU's DomainError. The
 * kernel that gathers or scatters still runs and skips the bad indices (zeros where the CPU throws).
 *
 * Index tensors that `take` built from a checked list of numbers are registered in
 * `checkedIndices` and skip the check (two tiny dispatches saved per `diag`, `trace`, ...).
 * @module
 */
import { checkedIndices, type Storage } from "../backend.ts";
import { DomainError, tokenIdError } from "../../errors.ts";
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { failureLog } from "./linalg_status.ts";
import { Uniforms } from "./runtime.ts";

// status words: [kind (1 = out of range), the first bad index's bits, its position as f32 bits, 0]
const CHECK = `struct U { n: u32, d: i32, lo: i32 }
@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> R: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> first: atomic<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  if (t == 0u) { atomicStore(&first, 0xffffffffu); }
  workgroupBarrier();
  for (var i = t; i < u.n; i += 256u) {
    let v = idx[i];
    if (v < u.lo || v >= u.d) { atomicMin(&first, i); }
  }
  workgroupBarrier();
  if (t == 0u) {
    let i = atomicLoad(&first);
    let bad = i != 0xffffffffu;
    R[0] = select(0u, 1u, bad);
    R[1] = select(0u, bitcast<u32>(idx[select(0u, i, bad)]), bad);
    R[2] = select(0u, bitcast<u32>(f32(i)), bad);
    R[3] = 0u;
  }
}`;

/** The CPU's message for an index outside an axis of extent `d`. */
export function indexError(op: string, v: number, d: number): DomainError {
  return new DomainError(
    `${op}: index ${v} is out of range for an axis of extent ${d}; use indices in [${-d}, ${d - 1}]`,
  );
}

/**
 * Encodes the check of `count` int32 indices in `idx` against an axis of extent `d` (`[−d, d)`, or
 * `[0, d)` for the token ids of op `ids`); a failure is thrown by the next read as `op`'s
 * DomainError (the CPU's message: `indexError`, or `tokenIdError` for ids).
 */
export function checkIndices(
  gpu: WebGPUBackend,
  op: string,
  storage: Storage,
  idx: GPUBuffer,
  count: number,
  d: number,
  ids?: string,
): void {
  if (count === 0) return;
  const bound = checkedIndices.get(storage);
  if (bound !== undefined && bound <= d) return;
  const log = failureLog(gpu);
  const region = log.region(1);
  gpu.runtime.dispatch({
    code: CHECK,
    inputs: [idx],
    output: region,
    uniforms: new Uniforms().u(count).i(d).i(ids === undefined ? -d : 0).u32,
    groups: [1, 1, 1],
  });
  if (ids === undefined) log.fold(region, 1, `index|${op}|${d}`, (f) => indexError(op, f.index | 0, d));
  else log.fold(region, 1, `ids|${ids}|${d}`, (f) => tokenIdError(ids, f.index | 0, f.value, d));
}
