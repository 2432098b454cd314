/**
 * WGSL shared by the linear-algebra kernels that give one workgroup to each matrix of a batch:
 * bindings, the matrix index, workgroup reductions, the non-finite scan and the power-of-two
 * pre-scaling. Matrices live in storage buffers (any size works; small ones stay in cache), the
 * workgroup's threads cooperate through `storageBarrier()`, and every value a loop or branch
 * around a barrier depends on is made uniform with `workgroupUniformLoad`.
 * @module
 */
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid } from "./runtime.ts";
import { linalgTuning } from "./linalg_tuning.ts";

/** A binding of a per-matrix kernel: name and element type; read-only unless `rw`. */
export interface Binding {
  /** WGSL variable name. */
  name: string;
  /** Element type. */
  type: "f32" | "i32" | "u32";
  /** Read-write (an output or scratch). */
  rw?: boolean;
}

/**
 * The header of a per-matrix kernel: bindings in order (read-only inputs first, then read-write
 * ones, as the runtime binds them), the uniform struct `u` with u32 fields, constants and the
 * workgroup scratch the helpers use.
 */
export function header(wgs: number, bindings: readonly Binding[], fields: readonly string[]): string {
  const decl = bindings.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${b.rw ? "read_write" : "read"}> ${b.name}: array<${b.type}>;`
  ).join("\n");
  return `struct U { ${fields.map((f) => `${f}: u32`).join(", ")} }
${decl}
@group(0) @binding(${bindings.length}) var<uniform> u: U;
const WGS: u32 = ${wgs}u;
const NONE: u32 = 0xffffffffu;
var<workgroup> red: array<f32, ${wgs}>;
var<workgroup> redi: array<u32, ${wgs}>;
var<workgroup> wu: u32;
var<workgroup> wf: f32;
var<workgroup> amin: atomic<u32>;
fn isBad(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
// Σ v over the workgroup, the same (uniform) value in every thread
fn wsum(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WGS / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { wf = red[0]; }
  return workgroupUniformLoad(&wf);
}
// max v over the workgroup (uniform)
fn wmax(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WGS / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  if (t == 0u) { wf = red[0]; }
  return workgroupUniformLoad(&wf);
}
// the index of the largest v (the smallest index among equal ones; NONE if every v < 0), uniform
fn wargmax(t: u32, v: f32, i: u32) -> u32 {
  red[t] = v; redi[t] = i;
  workgroupBarrier();
  for (var s = WGS / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      let v2 = red[t + s]; let i2 = redi[t + s];
      if (v2 > red[t] || (v2 == red[t] && i2 < redi[t])) { red[t] = v2; redi[t] = i2; }
    }
    workgroupBarrier();
  }
  if (t == 0u) { wu = redi[0]; }
  return workgroupUniformLoad(&wu);
}
// the smallest index x over the workgroup (NONE if none), uniform
fn wmin(t: u32, x: u32) -> u32 {
  if (t == 0u) { atomicStore(&amin, NONE); }
  workgroupBarrier();
  if (x != NONE) { atomicMin(&amin, x); }
  workgroupBarrier();
  if (t == 0u) { wu = atomicLoad(&amin); }
  return workgroupUniformLoad(&wu);
}
// a power of two s with s·mx in [1, 2) (1 for 0): scaling by it is exact
fn pow2Scale(mx: f32) -> f32 {
  if (mx == 0.0) { return 1.0; }
  let e = i32((bitcast<u32>(mx) >> 23u) & 0xffu) - 127;
  return bitcast<f32>(u32(clamp(127 - e, 1, 254)) << 23u);
}`;
}

/** WGSL of `fn firstBad<Name>(t, base, len) -> u32`: the first non-finite entry of `name` (uniform). */
export function scanBad(name: string): string {
  return `fn firstBad${name}(t: u32, base: u32, len: u32) -> u32 {
  var first = NONE;
  for (var e = t; e < len; e += WGS) {
    if (first == NONE && isBad(${name}[base + e])) { first = e; }
  }
  return wmin(t, first);
}`;
}

/** The entry point's signature and the matrix index `b` (returns for padding workgroups). */
export function entry(wgs: number): string {
  return `@compute @workgroup_size(${wgs})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let b = wg.y * nwg.x + wg.x;
  if (b >= u.count) { return; }`;
}

/** Writes the status words of matrix `b` (thread 0). */
export const WRITE_STATUS =
  `if (t == 0u) { ST[4u * b] = kind; ST[4u * b + 1u] = idx; ST[4u * b + 2u] = bitcast<u32>(val); ST[4u * b + 3u] = 0u; }`;

/** Encodes a per-matrix kernel over `count` matrices: inputs, then outputs (first one bound first). */
export function runPerMatrix(
  gpu: WebGPUBackend,
  code: string,
  inputs: readonly GPUBuffer[],
  outputs: readonly GPUBuffer[],
  uniforms: Uint32Array,
  count: number,
): void {
  if (count === 0) return;
  gpu.runtime.dispatch({
    code,
    inputs,
    output: outputs[0],
    outputs: outputs.slice(1),
    uniforms,
    groups: grid(count),
  });
}

/**
 * Workgroup size for matrices of order about `n`: 64 threads for small ones, else 256, at most
 * `linalgTuning.maxGroup` (64 on software adapters, where a compute shader's compile time grows
 * steeply with its workgroup size when it has barriers: llvmpipe takes about a minute for the
 * Jacobi SVD at 256 threads, three seconds at 64).
 */
export function groupSize(n: number): number {
  return Math.min(n <= 24 ? 64 : 256, linalgTuning.maxGroup);
}
