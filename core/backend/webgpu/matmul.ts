/**
 * The matmul primitive on WebGPU: batched op(A)·op(B) with the tuned kernels of matmul_wgsl.ts.
 * Transposed operands are read in place; a batch operand of one matrix is broadcast by a zero
 * batch stride; other batch broadcasts are materialised first. int32 products run a plain kernel
 * (one thread per output element) accumulating in i32, wrapping modulo 2³² as NumPy's int32 does
 * (through float32 they were rounded once a sum passed 2²⁴, where the CPU is exact).
 * @module
 */
import type { Aval, Storage } from "../backend.ts";
import { broadcastStrides } from "../cpu/strided.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { castExpr, opNode } from "./elementwise.ts";
import { gatherView } from "./layout.ts";
import { type MatmulKernel, matmulKernel } from "./matmul_wgsl.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, WG } from "./wgsl.ts";

/** Generated kernels by shape and layout (the same product recurs every training step). */
const kernels = new Map<string, MatmulKernel>();

function prod(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** How the backend picks matmul kernels. */
export interface MatmulOptions {
  /**
   * The adapter is a CPU fallback (llvmpipe, SwiftShader): every product uses the `simple` kernel,
   * which they compile in milliseconds; the tiled and split-k kernels take llvmpipe seconds per
   * pipeline and make SwiftShader (Chromium's software WebGPU) lose the device.
   */
  fallbackAdapter?: boolean;
}

/**
 * Each operand's buffer and batch stride for a product of output batch `batch`: its own matrices in
 * order, one matrix for all (stride 0), or a broadcast copy (listed in `temps`, to free after).
 */
function batchOperands(
  gpu: WebGPUBackend,
  batch: readonly number[],
  ops: readonly [GPUBuffer, Aval][],
): { operands: [GPUBuffer, number][]; temps: GPUBuffer[] } {
  const nb = prod(batch);
  const temps: GPUBuffer[] = [];
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
  return { operands: ops.map(([buf, av]) => operand(buf, av)), temps };
}

/** What a matmul dispatch needs: sizes and the batched operands with their batch strides. */
interface MatmulCall {
  m: number;
  n: number;
  k: number;
  nb: number;
  ab: GPUBuffer;
  strideA: number;
  bb: GPUBuffer;
  strideB: number;
  out: GPUBuffer;
}

/**
 * C = op(A)·op(B) into new storage of `o`: the sizes, the empty and k = 0 cases, the batch
 * operands (a broadcast one gathered into a temporary, freed after) around `dispatch`.
 */
function encodeMatmul(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  aa: Aval,
  b: GPUBuffer,
  ba: Aval,
  transA: boolean,
  o: Aval,
  dispatch: (c: MatmulCall) => void,
): Storage {
  const nd = o.shape.length;
  const m = o.shape[nd - 2], n = o.shape[nd - 1];
  const k = transA ? aa.shape[aa.shape.length - 2] : aa.shape[aa.shape.length - 1];
  const batch = o.shape.slice(0, nd - 2);
  if (prod(o.shape) === 0) return gpu.wrap(gpu.alloc(o), o);
  if (k === 0) return gpu.constant(0, o);
  const { operands: [[ab, strideA], [bb, strideB]], temps } = batchOperands(gpu, batch, [[a, aa], [b, ba]]);
  const out = gpu.alloc(o);
  dispatch({ m, n, k, nb: prod(batch), ab, strideA, bb, strideB, out });
  for (const t of temps) gpu.runtime.free(t);
  return gpu.wrap(out, o);
}

/** Encodes C = op(A)·op(B) for float32 buffers of avals `aa`, `ba` into new storage of `o`. */
function matmulF32(
  gpu: WebGPUBackend,
  opts: MatmulOptions,
  a: GPUBuffer,
  aa: Aval,
  b: GPUBuffer,
  ba: Aval,
  transA: boolean,
  transB: boolean,
  o: Aval,
): Storage {
  return encodeMatmul(gpu, a, aa, b, ba, transA, o, ({ m, n, k, nb, ab, strideA, bb, strideB, out }) => {
    const fallback = opts.fallbackAdapter ?? false;
    const key = `${m},${n},${k},${nb},${+transA},${+transB},${strideA},${strideB},${+fallback}`;
    let kern = kernels.get(key);
    if (!kern) {
      if (kernels.size > 4096) kernels.clear();
      kern = matmulKernel({
        m,
        n,
        k,
        batch: nb,
        transA,
        transB,
        strideA,
        strideB,
        maxWorkgroupStorage: gpu.runtime.maxWorkgroupStorage,
        fallbackAdapter: fallback,
      });
      kernels.set(key, kern);
    }
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
  });
}

const MATMUL_I32 = `struct U { total: u32, m: u32, n: u32, k: u32, sa: u32, sb: u32, ta: u32, tb: u32 }
@group(0) @binding(0) var<storage, read> A: array<i32>;
@group(0) @binding(1) var<storage, read> B: array<i32>;
@group(0) @binding(2) var<storage, read_write> C: array<i32>;
@group(0) @binding(3) var<uniform> u: U;
${entry("u.total")}
  let j = i % u.n; let r = i / u.n; let row = r % u.m; let bt = r / u.m;
  let a0 = bt * u.sa; let b0 = bt * u.sb;
  var acc = 0i;
  for (var p = 0u; p < u.k; p++) {
    let av = A[a0 + select(row * u.k + p, p * u.m + row, u.ta == 1u)];
    let bv = B[b0 + select(p * u.n + j, j * u.k + p, u.tb == 1u)];
    acc += av * bv; // i32 arithmetic wraps modulo 2³²
  }
  C[i] = acc;
}`;

/** Encodes C = op(A)·op(B) for int32 buffers (exact, wrapping as NumPy's int32). */
function matmulI32(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  aa: Aval,
  b: GPUBuffer,
  ba: Aval,
  transA: boolean,
  transB: boolean,
  o: Aval,
): Storage {
  return encodeMatmul(gpu, a, aa, b, ba, transA, o, ({ m, n, k, nb, ab, strideA, bb, strideB, out }) => {
    const total = nb * m * n;
    gpu.runtime.dispatch({
      code: MATMUL_I32,
      inputs: [ab, bb],
      output: out,
      uniforms: new Uniforms().u(total, m, n, k, strideA, strideB, transA ? 1 : 0, transB ? 1 : 0).u32,
      groups: grid(Math.ceil(total / WG)),
    });
  });
}

/** Registers matmul. */
export function registerMatmul(gpu: WebGPUBackend, opts: MatmulOptions = {}): void {
  gpu.kernels.set("matmul", ([a, b], [aa, ba], p: { transA: boolean; transB: boolean }, [o]): Storage[] => {
    if (aa.dtype === "float32") return [matmulF32(gpu, opts, gpu.buf(a), aa, gpu.buf(b), ba, p.transA, p.transB, o)];
    if (aa.dtype === "int32" && ba.dtype === "int32" && o.dtype === "int32") {
      return [matmulI32(gpu, gpu.buf(a), aa, gpu.buf(b), ba, p.transA, p.transB, o)];
    }
    // other dtypes: through float32
    const f32 = (av: Aval): Aval => ({ shape: av.shape, dtype: "float32" });
    const cast = (s: Storage, av: Aval, to: Aval) => {
      const [e, m] = castExpr(av.dtype, to.dtype, "a0");
      return gpu.elementwise([s], [av], to, (args) => opNode(`cast:${to.dtype}`, e, m, args, to));
    };
    const af = cast(a, aa, f32(aa)), bf = cast(b, ba, f32(ba));
    const cf = matmulF32(gpu, opts, gpu.buf(af), f32(aa), gpu.buf(bf), f32(ba), p.transA, p.transB, f32(o));
    const out = cast(cf, f32(o), o);
    for (const t of [af, bf, cf]) gpu.release(t);
    return [out];
  });
}
