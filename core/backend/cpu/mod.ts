/**
 * The CPU backend: contiguous row-major typed arrays and a kernel per primitive. float64 on the
 * CPU is the reference every other backend is checked against.
 * @module
 */
import { type Aval, type Backend, type Kernel, registerBackend, type Storage } from "../backend.ts";
import { dtypeOfArray, isFloat16Array, type TypedArray } from "../../dtype.ts";
import { BackendError, DomainError, tokenIdError } from "../../errors.ts";
import type { BinaryOp, ReduceOp, UnaryOp } from "../../primitives.ts";
import { fillRandom, type KeyLayout } from "../../random.ts";
import { binaryKernel, castKernel, unaryKernel, whereKernel } from "./elementwise.ts";
import { disown, giveArray, settle, takeArray } from "./pool.ts";
import { reduceKernel } from "./reduce.ts";
import { gemm, gemmBatch } from "./matmul.ts";
import { stridedCopy } from "./copy.ts";
import { broadcastStrides, contiguousStrides } from "./strided.ts";
import { registerSoftmax } from "./softmax.ts";
import { registerSorting } from "./sorting.ts";

/** CPU storage: a contiguous typed array. */
export class CpuStorage implements Storage {
  /** The elements (emptied when released). */
  data: TypedArray;
  /** Set once released by a scope. */
  released?: boolean;
  /** @param data contiguous elements */
  constructor(data: TypedArray) {
    this.data = data;
  }
  /** The CPU backend. */
  get backend(): Backend {
    return cpu;
  }
}

/** The elements of a CPU storage. */
export function arr(s: Storage): TypedArray {
  return (s as CpuStorage).data;
}

/**
 * Wraps a typed array as CPU storage. The array is never recycled when the storage is released (it
 * may be shared); kernels that allocate their output with `takeArray` use `own` instead.
 */
export function wrap(a: TypedArray): CpuStorage {
  disown(a);
  return new CpuStorage(a);
}

/**
 * Wraps a kernel's freshly taken output array (from `takeArray`, read by nothing else) as CPU
 * storage that recycles it when released, as the linear-algebra kernels' results are.
 */
export function own(a: TypedArray): CpuStorage {
  return new CpuStorage(a);
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The CPU backend instance. */
export const cpu: Backend = {
  name: "cpu",
  kernels: new Map<string, Kernel>(),
  fromHost(data: TypedArray, aval: Aval): Storage {
    const a = takeArray(aval.dtype, data.length, false);
    a.set(data);
    return own(a);
  },
  toHost(s: Storage, aval: Aval): Promise<TypedArray> {
    return Promise.resolve(cpu.toHostSync(s, aval));
  },
  toHostSync(s: Storage): TypedArray {
    if (s.released) throw new BackendError("data: tensor was released by scope()");
    return arr(s).slice();
  },
  release(s: Storage): void {
    const a = (s as CpuStorage).data;
    (s as CpuStorage).data = new Float32Array(0);
    giveArray(a, dtypeOfArray(a));
  },
};
registerBackend(cpu, true);

const k = (name: string, fn: Kernel) => cpu.kernels.set(name, fn);

k("full", (_i, _a, p: { value: number }, [o]) => {
  const a = takeArray(o.dtype, size(o.shape), p.value === 0);
  if (p.value !== 0) a.fill(p.value);
  return [own(a)];
});

k("random", (_i, _a, p: { key: number[]; dist: "bits" | "uniform" | "normal"; layout?: KeyLayout }, [o]) => {
  const a = takeArray(o.dtype, size(o.shape), false) as Float32Array | Float64Array | Int32Array;
  fillRandom(p.key, p.dist, a, p.layout);
  return [own(a)];
});

k("unary", ([x], _a, p: { op: UnaryOp }, [o]) => {
  const out = takeArray(o.dtype, size(o.shape), false);
  unaryKernel(p.op, arr(x), out);
  return [own(out)];
});

k("binary", ([a, b], [aa, ba], p: { op: BinaryOp }, [o]) => {
  const out = takeArray(o.dtype, size(o.shape), false);
  binaryKernel(p.op, arr(a), aa.shape, arr(b), ba.shape, out, o.shape);
  return [own(out)];
});

k("where", ([c, a, b], [ca, aa, ba], _p, [o]) => {
  const out = takeArray(o.dtype, size(o.shape), false);
  whereKernel(arr(c), ca.shape, arr(a), aa.shape, arr(b), ba.shape, out, o.shape);
  return [own(out)];
});

k("cast", ([x], _a, _p, [o]) => {
  const src = arr(x);
  const out = takeArray(o.dtype, src.length, false);
  castKernel(src, out, o.dtype);
  return [own(out)];
});

k("reshape", ([x]) => [x]);
k("stopGradient", ([x]) => [x]);
registerSorting(k, arr, wrap);
registerSoftmax(k, arr, own);

function copyKernel(x: Storage, strides: readonly number[], offset: number, o: Aval): Storage {
  const out = takeArray(o.dtype, size(o.shape), false);
  stridedCopy(arr(x), offset, strides, out, 0, contiguousStrides(o.shape), o.shape);
  return own(out);
}

k("transpose", ([x], [xa], p: { perm: number[] }, [o]) => {
  const cs = contiguousStrides(xa.shape);
  return [copyKernel(x, p.perm.map((q) => cs[q]), 0, o)];
});

k("broadcast", ([x], [xa], _p, [o]) => [copyKernel(x, broadcastStrides(xa.shape, o.shape), 0, o)]);

k("slice", ([x], [xa], p: { starts: number[] }, [o]) => {
  const cs = contiguousStrides(xa.shape);
  const off = p.starts.reduce((acc, s, i) => acc + s * cs[i], 0);
  return [copyKernel(x, cs, off, o)];
});

k("pad", ([x], [xa], p: { widths: [number, number][]; value: number }, [o]) => {
  const out = takeArray(o.dtype, size(o.shape), p.value === 0);
  if (p.value !== 0) out.fill(p.value);
  const os = contiguousStrides(o.shape);
  const off = p.widths.reduce((acc, [b], i) => acc + b * os[i], 0);
  stridedCopy(arr(x), 0, contiguousStrides(xa.shape), out, off, os, xa.shape);
  return [own(out)];
});

k("concat", (xs, avals, p: { axis: number }, [o]) => {
  const out = takeArray(o.dtype, size(o.shape), false);
  const os = contiguousStrides(o.shape);
  let at = 0;
  xs.forEach((x, i) => {
    stridedCopy(arr(x), 0, contiguousStrides(avals[i].shape), out, at * os[p.axis], os, avals[i].shape);
    at += avals[i].shape[p.axis];
  });
  return [own(out)];
});

function checkedIndex(op: string, v: number, d: number): number {
  const j = v < 0 ? v + d : v;
  if (j < 0 || j >= d) {
    throw new DomainError(
      `${op}: index ${v} is out of range for an axis of extent ${d}; use indices in [${-d}, ${d - 1}]`,
    );
  }
  return j;
}

k("gather", ([x, idx], [xa], p: { axis: number; ids?: string; op?: string }, [o]) => {
  const src = arr(x), ix = arr(idx);
  const D = xa.shape[p.axis];
  const A = size(xa.shape.slice(0, p.axis)), B = size(xa.shape.slice(p.axis + 1));
  const out = takeArray(o.dtype, size(o.shape), false);
  const I = ix.length;
  const ids = p.ids;
  const fixed = ids === undefined
    ? Int32Array.from(ix, (v) => checkedIndex(p.op ?? "take", v, D))
    : Int32Array.from(ix, (v, i) => {
      if (v < 0 || v >= D) throw tokenIdError(ids, v, i, D);
      return v;
    });
  for (let a = 0; a < A; a++) {
    for (let i = 0; i < I; i++) {
      const s = (a * D + fixed[i]) * B, d = (a * I + i) * B;
      if (B === 1) out[d] = src[s];
      else out.set(src.subarray(s, s + B), d);
    }
  }
  return [own(out)];
});

k("scatterAdd", ([idx, upd], [ia], p: { axis: number; shape: number[] }, [o]) => {
  const ix = arr(idx), u = arr(upd);
  const D = p.shape[p.axis];
  const A = size(p.shape.slice(0, p.axis)), B = size(p.shape.slice(p.axis + 1));
  const I = size(ia.shape);
  // float16 sums accumulate in float64 and round once
  const half = o.dtype === "float16";
  const out = half ? new Float64Array(size(o.shape)) : takeArray(o.dtype, size(o.shape), true);
  for (let a = 0; a < A; a++) {
    for (let i = 0; i < I; i++) {
      const j = checkedIndex("scatterAdd", ix[i], D);
      const d = (a * D + j) * B, s = (a * I + i) * B;
      for (let b = 0; b < B; b++) out[d + b] += u[s + b];
    }
  }
  if (!half) return [own(out)];
  const rounded = takeArray("float16", out.length, false);
  rounded.set(out);
  return [own(rounded)];
});

k("reduce", ([x], [xa], p: { op: ReduceOp; axes: number[] }, [o]) => [
  own(reduceKernel(p.op, arr(x), xa.shape, p.axes, o.dtype)),
]);

/** A float16 array widened into a float32 array from the pool (the caller gives it back); others as they are. */
function widen16(x: TypedArray): TypedArray {
  if (!isFloat16Array(x)) return x;
  const w = takeArray("float32", x.length, false);
  w.set(x);
  return w;
}

k("matmul", (ins, avals, p: { transA: boolean; transB: boolean }, [o]) => {
  const a = settled(ins[0]), b = settled(ins[1]);
  if (!isFloat16Array(a) && !isFloat16Array(b)) return [matmulKernel(a, b, avals, p, o)];
  // a float16 operand (float16 · float16, or a float16 weight beside float32 activations): widened
  // to float32 (a pooled temporary, returned at once), the float32 GEMM (float32 accumulation), a
  // float16 result rounded once
  const A = widen16(a), B = b === a ? A : widen16(b);
  const result = matmulKernel(A, B, avals, p, { shape: o.shape, dtype: "float32" });
  if (A !== a) giveArray(A, "float32");
  if (B !== b && B !== A) giveArray(B, "float32");
  if (o.dtype === "float32") return [result];
  const out = takeArray("float16", result.data.length, false);
  out.set(result.data);
  cpu.release(result);
  return [own(out)];
});

/** A product operand's elements, moved into the Wasm memory when `settle` says so (the storage then holds the copy). */
function settled(s: Storage): TypedArray {
  const st = s as CpuStorage, h = settle(st.data);
  if (h) st.data = h;
  return st.data;
}

function matmulKernel(
  A: TypedArray,
  B: TypedArray,
  [aa, ba]: readonly Aval[],
  p: { transA: boolean; transB: boolean },
  o: Aval,
): CpuStorage {
  const nd = o.shape.length;
  const m = o.shape[nd - 2], n = o.shape[nd - 1];
  const kk = p.transA ? aa.shape[aa.shape.length - 2] : aa.shape[aa.shape.length - 1];
  const batch = o.shape.slice(0, nd - 2);
  const out = takeArray(o.dtype, size(o.shape), false); // every element is written
  const nb = size(batch);
  const sa = broadcastStrides(aa.shape.slice(0, -2), batch), sb = broadcastStrides(ba.shape.slice(0, -2), batch);
  const idx = new Array(batch.length).fill(0);
  const aOffs = new Array<number>(nb), bOffs = new Array<number>(nb);
  for (let t = 0; t < nb; t++) {
    let ao = 0, bo = 0;
    for (let i = 0; i < batch.length; i++) {
      ao += idx[i] * sa[i];
      bo += idx[i] * sb[i];
    }
    aOffs[t] = ao * m * kk;
    bOffs[t] = bo * kk * n;
    for (let i = batch.length - 1; i >= 0; i--) {
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
  if (nb === 1) gemm(A, aOffs[0], p.transA, B, bOffs[0], p.transB, out, 0, m, n, kk, true);
  else gemmBatch(A, aOffs, p.transA, B, bOffs, p.transB, out, 0, m, n, kk, nb);
  return own(out);
}
