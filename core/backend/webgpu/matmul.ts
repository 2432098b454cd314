/**
 * The matmul primitive on WebGPU: batched op(A)·op(B) with the tuned kernels of matmul_wgsl.ts.
 * Transposed operands are read in place; a batch operand of one matrix is broadcast by a zero
 * batch stride; other batch broadcasts are materialised first. int32 products go through
 * float32 (exact while sums stay below 2²⁴).
 * @module
 */
import type { Aval, Storage } from "../backend.ts";
import { broadcastStrides } from "../cpu/strided.ts";
import type { WebGPUBackend } from "./backend.ts";
import { castExpr, elementwise, fill } from "./elementwise.ts";
import { gatherView } from "./layout.ts";
import { matmulKernel } from "./matmul_wgsl.ts";
import { Uniforms } from "./runtime.ts";

function prod(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Encodes C = op(A)·op(B) for float32 buffers of avals `aa`, `ba` into a new buffer of `o`. */
function matmulF32(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  aa: Aval,
  b: GPUBuffer,
  ba: Aval,
  transA: boolean,
  transB: boolean,
  o: Aval,
): GPUBuffer {
  const nd = o.shape.length;
  const m = o.shape[nd - 2], n = o.shape[nd - 1];
  const k = transA ? aa.shape[aa.shape.length - 2] : aa.shape[aa.shape.length - 1];
  const batch = o.shape.slice(0, nd - 2);
  const nb = prod(batch);
  if (prod(o.shape) === 0) return gpu.alloc(o);
  if (k === 0) return fill(gpu, o, 0);
  const temps: GPUBuffer[] = [];
  // an operand's batch stride: its own matrices in order, one matrix for all, or a broadcast copy
  const operand = (buf: GPUBuffer, av: Aval): [GPUBuffer, number] => {
    const mat = av.shape.slice(-2);
    const own = av.shape.slice(0, -2);
    const size = prod(mat);
    if (prod(own) === 1) return [buf, nb === 1 ? size : 0];
    const lead = batch.length - own.length;
    if (prod(own) === nb && own.every((d, i) => d === batch[lead + i])) return [buf, size];
    const full = [...batch, ...mat];
    const strides = broadcastStrides(av.shape, full);
    const copy = gatherView(gpu, buf, 0, strides, { shape: full, dtype: av.dtype });
    temps.push(copy);
    return [copy, size];
  };
  const [ab, strideA] = operand(a, aa);
  const [bb, strideB] = operand(b, ba);
  const kern = matmulKernel({
    m,
    n,
    k,
    batch: nb,
    transA,
    transB,
    strideA,
    strideB,
    maxWorkgroupStorage: gpu.runtime.maxWorkgroupStorage,
  });
  const out = gpu.alloc(o);
  const uni = new Uniforms();
  uni.u32.set(kern.uniforms);
  gpu.runtime.dispatch({
    code: kern.code,
    entryPoint: kern.entryPoint,
    inputs: [ab, bb],
    output: out,
    uniforms: uni.u32,
    groups: kern.dispatch,
  });
  for (const t of temps) gpu.runtime.free(t);
  return out;
}

/** Registers matmul. */
export function registerMatmul(gpu: WebGPUBackend): void {
  gpu.kernels.set("matmul", ([a, b], [aa, ba], p: { transA: boolean; transB: boolean }, [o]): Storage[] => {
    if (aa.dtype === "float32") {
      return [gpu.wrap(matmulF32(gpu, gpu.buf(a), aa, gpu.buf(b), ba, p.transA, p.transB, o), o)];
    }
    // int32 (and anything castable): through float32
    const f = (s: Storage, av: Aval) => {
      const [e, m] = castExpr(av.dtype, "float32", "v0");
      return elementwise(gpu, [gpu.buf(s)], [av], { shape: av.shape, dtype: "float32" }, e, m);
    };
    const af = f(a, aa), bf = f(b, ba);
    const of = { shape: o.shape, dtype: "float32" as const };
    const cf = matmulF32(
      gpu,
      af,
      { shape: aa.shape, dtype: "float32" },
      bf,
      { shape: ba.shape, dtype: "float32" },
      p.transA,
      p.transB,
      of,
    );
    const [e, m] = castExpr("float32", o.dtype, "v0");
    const out = elementwise(gpu, [cf], [of], o, e, m);
    for (const t of [af, bf, cf]) gpu.runtime.free(t);
    return [gpu.wrap(out, o)];
  });
}
