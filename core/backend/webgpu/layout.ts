/**
 * Data-movement kernels: transpose, broadcast, slice and concat are one strided copy kernel
 * (source strides and offset, destination strides and offset, in the uniform block); pad writes
 * the value or the source element per output element; gather and scatterAdd index along an axis
 * (scatterAdd loops over the indices per output element, so it is deterministic).
 * @module
 */
import type { Aval } from "../backend.ts";
import type { DType } from "../../dtype.ts";
import { BackendError } from "../../errors.ts";
import { broadcastStrides, coalesce, contiguousStrides } from "../cpu/strided.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { MAX_RANK, opNode } from "./elementwise.ts";
import { checkIndices } from "./index_check.ts";
import { grid, Uniforms } from "./runtime.ts";
import { AT, entry, memoCode, WG, wgslType } from "./wgsl.ts";

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encodes `dst[dstOffset + Σ cᵢ·dstStridesᵢ] = src[srcOffset + Σ cᵢ·srcStridesᵢ]` for every
 * coordinate c of `shape`.
 */
export function stridedCopy(
  gpu: WebGPUBackend,
  dtype: DType,
  src: GPUBuffer,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: GPUBuffer,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const [sh, [ss, ds]] = coalesce(shape, [srcStrides, dstStrides]);
  if (sh.length > MAX_RANK) throw new BackendError(`webgpu copy: rank ${sh.length} exceeds ${MAX_RANK}`);
  const cs = contiguousStrides(sh);
  const dstLinear = ds.every((v, i) => v === cs[i]);
  const srcLinear = ss.every((v, i) => v === cs[i]);
  const t = wgslType(dtype);
  const code = memoCode(
    `cp|${t}|${srcLinear}|${dstLinear}`,
    () =>
      `struct U { n: u32, rank: u32, sof: u32, dof: u32, shape: array<vec4<u32>, 2>,
  ss: array<vec4<u32>, 2>, ds: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${AT}
${entry("u.n")}
  var s = u.sof; var d = u.dof;
  ${
        srcLinear && dstLinear ? "s += i; d += i;" : `var r = i;
  for (var ax = i32(u.rank) - 1; ax >= 0; ax--) {
    let e = at8(u.shape, u32(ax)); let c = r % e; r = r / e;
    ${srcLinear ? "" : "s += c * at8(u.ss, u32(ax));"}
    ${dstLinear ? "" : "d += c * at8(u.ds, u32(ax));"}
  }
  ${srcLinear ? "s += i;" : ""} ${dstLinear ? "d += i;" : ""}`
      }
  dst[d] = src[s];
}`,
  );
  const uni = new Uniforms().u(n, sh.length, srcOffset, dstOffset).arr(sh, 8).arr(ss, 8).arr(ds, 8);
  gpu.runtime.dispatch({ code, inputs: [src], output: dst, uniforms: uni.u32, groups: grid(Math.ceil(n / WG)) });
}

/** A new buffer holding the strided view of `src` described by offset and strides over `o.shape`. */
export function gatherView(
  gpu: WebGPUBackend,
  src: GPUBuffer,
  offset: number,
  strides: readonly number[],
  o: Aval,
): GPUBuffer {
  const out = gpu.alloc(o);
  stridedCopy(gpu, o.dtype, src, offset, strides, out, 0, contiguousStrides(o.shape), o.shape);
  return out;
}

/** Registers reshape, transpose, broadcast, slice, pad, concat, gather, scatterAdd. */
export function registerLayout(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  k.set("reshape", ([x], _a, _p, [o]) => [gpu.reshapeLazy(x, o) ?? x]);
  k.set("stopGradient", ([x]) => [x]);
  k.set("transpose", ([x], [xa], p: { perm: number[] }, [o]) => {
    const cs = contiguousStrides(xa.shape);
    return [gpu.wrap(gatherView(gpu, gpu.buf(x), 0, p.perm.map((q) => cs[q]), o), o)];
  });
  k.set("broadcast", (xs, avals, _p, [o]) => {
    // lazy: a fused consumer reads the input through broadcast strides, nothing is copied
    if (gpu.fusion) {
      return [gpu.elementwise(xs, avals, o, (args) => opNode("broadcast", "a0", [], args, o), (v) => v[0])];
    }
    return [gpu.wrap(gatherView(gpu, gpu.buf(xs[0]), 0, broadcastStrides(avals[0].shape, o.shape), o), o)];
  });
  k.set("slice", ([x], [xa], p: { starts: number[] }, [o]) => {
    const cs = contiguousStrides(xa.shape);
    const off = p.starts.reduce((acc, s, i) => acc + s * cs[i], 0);
    return [gpu.wrap(gatherView(gpu, gpu.buf(x), off, cs, o), o)];
  });
  k.set("concat", (xs, avals, p: { axis: number }, [o]) => {
    const out = gpu.alloc(o);
    const os = contiguousStrides(o.shape);
    let at = 0;
    xs.forEach((x, i) => {
      const a = avals[i];
      stridedCopy(gpu, o.dtype, gpu.buf(x), 0, contiguousStrides(a.shape), out, at * os[p.axis], os, a.shape);
      at += a.shape[p.axis];
    });
    return [gpu.wrap(out, o)];
  });
  k.set("pad", ([x], [xa], p: { widths: [number, number][]; value: number }, [o]) => {
    const out = gpu.alloc(o);
    const n = sizeOf(o.shape);
    const rank = o.shape.length;
    if (rank > MAX_RANK) throw new BackendError(`webgpu pad: rank ${rank} exceeds ${MAX_RANK}`);
    const t = wgslType(o.dtype, "pad");
    const code = memoCode(`pad|${t}`, () =>
      `struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>,
  before: array<vec4<u32>, 2>, inner: array<vec4<u32>, 2>, ss: array<vec4<u32>, 2>, v: ${t} }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${AT}
${entry("u.n")}
  var r = i; var s = 0u; var inside = true;
  for (var ax = i32(u.rank) - 1; ax >= 0; ax--) {
    let a = u32(ax);
    let e = at8(u.shape, a); let c = r % e; r = r / e;
    let b = at8(u.before, a);
    inside = inside && c >= b && c - b < at8(u.inner, a);
    s += (c - b) * at8(u.ss, a);
  }
  dst[i] = select(u.v, src[select(0u, s, inside)], inside);
}`);
    const uni = new Uniforms().u(n, rank, 0, 0).arr(o.shape, 8).arr(p.widths.map((w) => w[0]), 8)
      .arr(xa.shape, 8).arr(contiguousStrides(xa.shape), 8);
    if (t === "f32") uni.f(p.value);
    else if (t === "i32") uni.i(p.value);
    else uni.u(p.value ? 1 : 0);
    if (n > 0) {
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(x)],
        output: out,
        uniforms: uni.u32,
        groups: grid(Math.ceil(n / WG)),
      });
    }
    return [gpu.wrap(out, o)];
  });
  k.set("gather", ([x, idx], [xa, ia], p: { axis: number; ids?: string; op?: string }, [o]) => {
    // out[a, i, b] = x[a, idx[i], b]  (negative indices count from the end; out of range gives 0 here
    // and a DomainError at the next read)
    const out = gpu.alloc(o);
    const n = sizeOf(o.shape);
    const D = xa.shape[p.axis], B = sizeOf(xa.shape.slice(p.axis + 1)), I = sizeOf(ia.shape);
    const t = wgslType(o.dtype, "take");
    checkIndices(gpu, p.op ?? "take", idx, gpu.buf(idx), I, D, p.ids); // a bad index fails the next read, as on the cpu
    const code = memoCode(`ga|${t}`, () =>
      `struct U { n: u32, D: u32, B: u32, I: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(3) var<uniform> u: U;
${entry("u.n")}
  let b = i % u.B; let q = i / u.B; let ii = q % u.I; let a = q / u.I;
  var j = idx[ii];
  if (j < 0) { j += i32(u.D); }
  let ok = j >= 0 && u32(j) < u.D;
  let v = src[select(0u, (a * u.D + u32(j)) * u.B + b, ok)];
  dst[i] = select(${t}(0), v, ok);
}`);
    if (n > 0) {
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(x), gpu.buf(idx)],
        output: out,
        uniforms: new Uniforms().u(n, D, B, I).u32,
        groups: grid(Math.ceil(n / WG)),
      });
    }
    return [gpu.wrap(out, o)];
  });
  k.set("scatterAdd", ([idx, upd], [ia], p: { axis: number; shape: number[] }, [o]) => {
    const n = sizeOf(o.shape);
    const D = p.shape[p.axis], B = sizeOf(p.shape.slice(p.axis + 1)), I = sizeOf(ia.shape);
    const t = wgslType(o.dtype, "scatterAdd");
    if (sizeOf(p.shape.slice(0, p.axis)) > 0) checkIndices(gpu, "scatterAdd", idx, gpu.buf(idx), I, D);
    if (n === 0) return [gpu.wrap(gpu.alloc(o), o)];
    if (n * I <= gpu.scatterLoopLimit || t === "u32") {
      // out[a, j, b] = Σ_{i : idx[i] ≡ j} upd[a, i, b], summed in index order (deterministic)
      const out = gpu.alloc(o);
      const code = memoCode(`sa|${t}`, () =>
        `struct U { n: u32, D: u32, B: u32, I: u32 }
@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> upd: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(3) var<uniform> u: U;
${entry("u.n")}
  let b = i % u.B; let q = i / u.B; let j = i32(q % u.D); let a = q / u.D;
  var acc = ${t}(0);
  for (var ii = 0u; ii < u.I; ii++) {
    var v = idx[ii];
    if (v < 0) { v += i32(u.D); }
    if (v == j) { acc += upd[(a * u.I + ii) * u.B + b]; }
  }
  dst[i] = acc;
}`);
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(idx), gpu.buf(upd)],
        output: out,
        uniforms: new Uniforms().u(n, D, B, I).u32,
        groups: grid(Math.ceil(n / WG)),
      });
      return [gpu.wrap(out, o)];
    }
    // Many indices (an embedding's gradient): one thread per update, atomically added into zeros
    // (a compare-and-swap loop for float32). Fast, but the order of the additions varies.
    const zeros = gpu.constant(0, o);
    const out = gpu.buf(zeros); // materialised zeros, added into in place before anyone sees them
    const m = sizeOf(ia.shape) * B * sizeOf(p.shape.slice(0, p.axis));
    const add = t === "i32" ? "atomicAdd(&dst[k], v);" : `loop {
    let old = atomicLoad(&dst[k]);
    let r = atomicCompareExchangeWeak(&dst[k], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
  }`;
    const code = memoCode(`sat|${t}`, () =>
      `struct U { m: u32, D: u32, B: u32, I: u32 }
@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> upd: array<${t}>;
@group(0) @binding(2) var<storage, read_write> dst: array<atomic<${t === "i32" ? "i32" : "u32"}>>;
@group(0) @binding(3) var<uniform> u: U;
${entry("u.m")}
  let b = i % u.B; let q = i / u.B; let ii = q % u.I; let a = q / u.I;
  var j = idx[ii];
  if (j < 0) { j += i32(u.D); }
  if (j < 0 || u32(j) >= u.D) { return; }
  let k = (a * u.D + u32(j)) * u.B + b;
  let v = upd[i];
  ${add}
}`);
    gpu.runtime.dispatch({
      code,
      inputs: [gpu.buf(idx), gpu.buf(upd)],
      output: out,
      uniforms: new Uniforms().u(m, D, B, I).u32,
      groups: grid(Math.ceil(m / WG)),
    });
    return [zeros];
  });
}
