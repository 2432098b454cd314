/**
 * Reductions (sum, prod, max, min) over arbitrary axes. The reduced axes are first made one
 * contiguous run (a strided copy moves them last when they are not), so the input is
 * [outer, R, inner]; then passes shrink R:
 * - rows (inner = 1, R large): a workgroup per (row, segment), a tree in workgroup memory;
 * - columns (otherwise): a thread per (outer, segment, inner) summing a segment of ≤ 128 terms.
 * Partial results are reduced again until R = 1. Segments bound every sequential float32 sum.
 * @module
 */
import type { Aval, Storage } from "../backend.ts";
import type { DType } from "../../dtype.ts";
import type { ReduceOp } from "../../primitives.ts";
import { contiguousStrides } from "../cpu/strided.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { gatherView } from "./layout.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, mathLib, memoCode, WG, wgslType } from "./wgsl.ts";

const SEG = 128; // terms per thread in the column pass
const SMALL = 64; // R at or below which one column pass finishes

function identity(op: ReduceOp, t: string): string {
  if (op === "sum") return `${t}(0)`;
  if (op === "prod") return `${t}(1)`;
  const max = op === "max";
  if (t === "f32") return max ? "-t_inf()" : "t_inf()";
  if (t === "i32") return max ? "bitcast<i32>(0x80000000u)" : "bitcast<i32>(0x7fffffffu)";
  return max ? "0u" : "0xffffffffu";
}

function combine(op: ReduceOp, t: string, a: string, b: string): string {
  if (op === "sum") return `${a} + ${b}`;
  if (op === "prod") return `${a} * ${b}`;
  if (t !== "f32") return `${op}(${a}, ${b})`;
  // NaN propagates, as on the CPU
  return op === "max"
    ? `select(${a}, ${b}, ${b} > ${a} || ${b} != ${b})`
    : `select(${a}, ${b}, ${b} < ${a} || ${b} != ${b})`;
}

/** One column pass: out[o, s, i] = ⊕_{r ∈ segment s} x[o, r, i]. */
function columnPass(
  gpu: WebGPUBackend,
  op: ReduceOp,
  dtype: DType,
  src: GPUBuffer,
  outer: number,
  R: number,
  inner: number,
  seg: number,
): GPUBuffer {
  const splits = Math.ceil(R / seg);
  const n = outer * splits * inner;
  const t = wgslType(dtype, op);
  const out = gpu.runtime.alloc(n * 4);
  const code = memoCode(`rc|${op}|${t}`, () =>
    `struct U { n: u32, R: u32, inner: u32, splits: u32, seg: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${mathLib(t === "f32" ? ["t_inf"] : [])}
${entry("u.n")}
  let ii = i % u.inner; let q = i / u.inner; let sp = q % u.splits; let o = q / u.splits;
  let r0 = sp * u.seg; let r1 = min(r0 + u.seg, u.R);
  var acc = ${identity(op, t)};
  var p = (o * u.R + r0) * u.inner + ii;
  for (var r = r0; r < r1; r++) {
    let v = src[p];
    acc = ${combine(op, t, "acc", "v")};
    p += u.inner;
  }
  dst[i] = acc;
}`);
  gpu.runtime.dispatch({
    code,
    inputs: [src],
    output: out,
    uniforms: new Uniforms().u(n, R, inner, splits, seg).u32,
    groups: grid(Math.ceil(n / WG)),
  });
  return out;
}

/** One row pass: out[o, s] = ⊕_{r ∈ segment s} x[o, r], a workgroup per (o, s). */
function rowPass(
  gpu: WebGPUBackend,
  op: ReduceOp,
  dtype: DType,
  src: GPUBuffer,
  outer: number,
  R: number,
  splits: number,
): GPUBuffer {
  const seg = Math.ceil(R / splits);
  const groups = outer * splits;
  const t = wgslType(dtype, op);
  const out = gpu.runtime.alloc(groups * 4);
  const code = memoCode(`rr|${op}|${t}`, () =>
    `struct U { groups: u32, R: u32, splits: u32, seg: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> sh: array<${t}, ${WG}>;
${mathLib(t === "f32" ? ["t_inf"] : [])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= u.groups) { return; }
  let row = w / u.splits; let sp = w % u.splits;
  let r0 = sp * u.seg; let r1 = min(r0 + u.seg, u.R);
  var acc = ${identity(op, t)};
  for (var r = r0 + li; r < r1; r += ${WG}u) {
    let v = src[row * u.R + r];
    acc = ${combine(op, t, "acc", "v")};
  }
  sh[li] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (li < s) {
      let a = sh[li]; let b = sh[li + s];
      sh[li] = ${combine(op, t, "a", "b")};
    }
    workgroupBarrier();
  }
  if (li == 0u) { dst[w] = sh[0]; }
}`);
  gpu.runtime.dispatch({
    code,
    inputs: [src],
    output: out,
    uniforms: new Uniforms().u(groups, R, splits, seg).u32,
    groups: grid(groups),
  });
  return out;
}

/** Reduces [outer, R, inner] to [outer, inner]; frees the intermediate buffers it made. */
function reduceRuns(
  gpu: WebGPUBackend,
  op: ReduceOp,
  dtype: DType,
  src: GPUBuffer,
  outer: number,
  R: number,
  inner: number,
): GPUBuffer {
  let cur = src;
  const temps: GPUBuffer[] = [];
  while (true) {
    let next: GPUBuffer, nextR: number;
    if (inner === 1 && R > SMALL) {
      // enough workgroups to fill the GPU, each thread summing ≤ 64 terms, each workgroup ≥ 1024
      const splits = Math.max(Math.ceil(R / (WG * 64)), Math.min(Math.ceil(1024 / outer), Math.ceil(R / 1024)));
      next = rowPass(gpu, op, dtype, cur, outer, R, splits);
      nextR = splits;
    } else {
      const seg = R <= SMALL ? R : SEG;
      next = columnPass(gpu, op, dtype, cur, outer, R, inner, seg);
      nextR = Math.ceil(R / seg);
    }
    if (cur !== src) temps.push(cur);
    cur = next;
    R = nextR;
    if (R === 1) break;
  }
  for (const b of temps) gpu.runtime.free(b);
  return cur;
}

/** Registers reduce. */
export function registerReduce(gpu: WebGPUBackend): void {
  gpu.kernels.set("reduce", ([x], [xa], p: { op: ReduceOp; axes: number[] }, [o]): Storage[] => {
    const shape = [...xa.shape];
    let axes = p.axes;
    let src = gpu.buf(x);
    let moved: GPUBuffer | null = null;
    const outer0 = gpu.size(o.shape);
    const R = axes.reduce((a, ax) => a * shape[ax], 1);
    if (outer0 === 0) return [gpu.wrap(gpu.alloc(o), o)];
    if (R === 0) return [gpu.constant(p.op === "prod" ? 1 : 0, o)];
    if (R === 1) return [x];
    let work: number[] = shape;
    if (!axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)) {
      // move the reduced axes last: [...kept, ...axes]
      const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
      const perm = [...keep, ...axes];
      const cs = contiguousStrides(shape);
      work = perm.map((q) => shape[q]);
      moved = gatherView(gpu, src, 0, perm.map((q) => cs[q]), { shape: work, dtype: xa.dtype } as Aval);
      src = moved;
      axes = axes.map((_, i) => keep.length + i);
    }
    const outer = work.slice(0, axes[0]).reduce((a, b) => a * b, 1);
    const inner = work.slice(axes[axes.length - 1] + 1).reduce((a, b) => a * b, 1);
    const out = reduceRuns(gpu, p.op, xa.dtype, src, outer, R, inner);
    if (moved) gpu.runtime.free(moved);
    return [gpu.wrap(out, o)];
  });
}
