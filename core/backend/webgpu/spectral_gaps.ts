/**
 * The check behind the eigh / SVD gradients' dropped-gap warning on WebGPU, without a host wait.
 * The CPU reads the values and warns at once (core/linalg/helpers.ts, `warnDroppedGaps`); here three
 * small kernels count, over the whole batch, the pairs i < j whose gap |vⱼ − vᵢ| is at most
 * tol·scale[b] while the cotangent term (|kᵢⱼ − kⱼᵢ|, or max(|kᵢⱼ|, |kⱼᵢ|)) exceeds √ε·max|k|
 * (the CPU's rule), and find the closest such gap relative to its scale. They write one status
 * (kind `STATUS.warning`, index the count, value the closest gap) that the failure log's fold
 * appends to the log; the next read prints the describer's warning (linalg_status.ts).
 * @module
 */
import type { GapCheck, Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import { type Describe, failureLog, STATUS } from "./linalg_status.ts";
import { Uniforms } from "./runtime.ts";
import { memoCode } from "./wgsl.ts";

// region words while the kernels run: [kind, count, closest relative gap (f32 bits), max |k| (f32 bits)]
const INIT = `struct U { pad: u32 }
@group(0) @binding(0) var<storage, read_write> R: array<u32>;
@group(0) @binding(1) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() {
  R[0] = 0u; R[1] = 0u; R[2] = 0x7f800000u; R[3] = 0u;
}`;

// max |k| over every element (bits of non-negative floats order like the floats; NaN above all)
const KMAX = `struct U { total: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> K: array<f32>;
@group(0) @binding(1) var<storage, read_write> R: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> m: atomic<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) g: vec3<u32>) {
  if (t == 0u) { atomicStore(&m, 0u); }
  workgroupBarrier();
  var best = 0u;
  for (var e = g.x * 256u + t; e < u.total; e += u.stride) {
    best = max(best, bitcast<u32>(K[e]) & 0x7fffffffu);
  }
  atomicMax(&m, best);
  workgroupBarrier();
  if (t == 0u) { atomicMax(&R[3], atomicLoad(&m)); }
}`;

// per pair i < j of each matrix: dropped (gap ≤ tol·scale) although the loss needs it (term > √ε·max|k|)
const PAIRS = `struct U { count: u32, n: u32, stride: u32, skew: u32, tol: f32, root: f32 }
@group(0) @binding(0) var<storage, read> V: array<f32>;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read_write> R: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> u: U;
var<workgroup> hits: atomic<u32>;
var<workgroup> near: atomic<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) g: vec3<u32>) {
  if (t == 0u) { atomicStore(&hits, 0u); atomicStore(&near, 0x7f800000u); }
  workgroupBarrier();
  let kb = atomicLoad(&R[3]);
  // max |k| zero or NaN: nothing is dropped that matters (the CPU's comparisons are false too)
  let live = kb != 0u && kb <= 0x7f800000u;
  let floor = u.root * bitcast<f32>(kb);
  let n = u.n;
  let total = u.count * n * n;
  var c = 0u;
  var close = 0x7f800000u;
  for (var e = g.x * 256u + t; live && e < total; e += u.stride) {
    let b = e / (n * n);
    let i = (e / n) % n;
    let j = e % n;
    if (j <= i) { continue; }
    let sc = S[b];
    let gap = abs(V[b * n + j] - V[b * n + i]);
    let a = K[e];
    let d = K[b * n * n + j * n + i];
    let term = select(max(abs(a), abs(d)), abs(a - d), u.skew != 0u);
    if (gap <= u.tol * sc && term > floor) {
      c += 1u;
      close = min(close, bitcast<u32>(select(0.0, gap / sc, sc > 0.0)));
    }
  }
  if (c > 0u) { atomicAdd(&hits, c); atomicMin(&near, close); }
  workgroupBarrier();
  if (t == 0u) {
    let h = atomicLoad(&hits);
    if (h > 0u) {
      atomicAdd(&R[1], h);
      atomicMin(&R[2], atomicLoad(&near));
      atomicStore(&R[0], ${STATUS.warning}u);
    }
  }
}`;

/** Most workgroups one pass uses (the rest of the elements by a grid-stride loop). */
const MAX_GROUPS = 1024;

/**
 * Encodes the dropped-gap check of `v` (count·n values), `scale` (count) and `k` (count·n·n), all
 * float32 and contiguous, and folds its status into `gpu`'s failure log under `key` (the op and
 * shape), where `describe` turns it into the warning (index = pairs dropped, value = the closest
 * relative gap). Nothing waits.
 * @example
 * ```ts
 * import { linalg, grad, sum, tensor, useBackend, webgpuAvailable } from "@tangent/tangent";
 * if (await webgpuAvailable()) {
 *   await useBackend("webgpu");
 *   // the eigenvector gradient of a near-repeated pair: the next read warns (console.warn)
 *   const g = grad((a) => sum(linalg.eigh(a).eigenvectors))(tensor([[1, 1e-8], [1e-8, 1]]));
 *   await g.data();
 *   await useBackend("cpu");
 * }
 * ```
 */
export function encodeDroppedGapCheck(
  gpu: WebGPUBackend,
  v: Storage,
  scale: Storage,
  k: Storage,
  c: GapCheck,
  key: string,
  describe: Describe,
): void {
  if (c.count === 0 || c.n < 2) return;
  const log = failureLog(gpu), rt = gpu.runtime;
  const vb = gpu.buf(v), sb = gpu.buf(scale), kb = gpu.buf(k);
  const region = log.region(1);
  rt.dispatch({
    code: memoCode("gaps-init", () => INIT),
    inputs: [],
    output: region,
    uniforms: new Uniforms().u(0).u32,
    groups: [1, 1, 1],
  });
  const total = c.count * c.n * c.n;
  const groups = Math.min(MAX_GROUPS, Math.ceil(total / 256));
  rt.dispatch({
    code: memoCode("gaps-kmax", () => KMAX),
    inputs: [kb],
    output: region,
    uniforms: new Uniforms().u(total, groups * 256).u32,
    groups: [groups, 1, 1],
  });
  rt.dispatch({
    code: memoCode("gaps-pairs", () => PAIRS),
    inputs: [vb, sb, kb],
    output: region,
    uniforms: new Uniforms().u(c.count, c.n, groups * 256, c.skewPart ? 1 : 0).f(c.tol, c.root).u32,
    groups: [groups, 1, 1],
  });
  log.fold(region, 1, key, describe);
}
