/**
 * The CPU backend: contiguous row-major typed arrays and a kernel per primitive. float64 on the
 * CPU is the reference every other backend is checked against.
 * @module
 */
import { type Aval, type Backend, type Kernel, registerBackend, type Storage } from "../backend.ts";
import { allocate, type TypedArray } from "../../dtype.ts";
import { BackendError, DomainError } from "../../errors.ts";
import type { BinaryOp, ReduceOp, UnaryOp } from "../../primitives.ts";
import { fillRandom } from "../../random.ts";
import { binaryKernel, unaryKernel, whereKernel } from "./elementwise.ts";
import { gemm } from "./matmul.ts";
import { broadcastStrides, contiguousStrides, stridedCopy } from "./strided.ts";

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

/** Wraps a typed array as CPU storage. */
export function wrap(a: TypedArray): CpuStorage {
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
    const a = allocate(aval.dtype, data.length);
    a.set(data);
    return new CpuStorage(a);
  },
  toHost(s: Storage, aval: Aval): Promise<TypedArray> {
    return Promise.resolve(cpu.toHostSync(s, aval));
  },
  toHostSync(s: Storage): TypedArray {
    if (s.released) throw new BackendError("data: tensor was released by scope()");
    return arr(s).slice();
  },
  release(s: Storage): void {
    (s as CpuStorage).data = new Float32Array(0);
  },
};
registerBackend(cpu, true);

const k = (name: string, fn: Kernel) => cpu.kernels.set(name, fn);

k("full", (_i, _a, p: { value: number }, [o]) => {
  const a = allocate(o.dtype, size(o.shape));
  if (p.value !== 0) a.fill(p.value);
  return [wrap(a)];
});

k("random", (_i, _a, p: { key: [number, number]; dist: "bits" | "uniform" | "normal" }, [o]) => {
  const a = allocate(o.dtype, size(o.shape)) as Float32Array | Float64Array | Int32Array;
  fillRandom(p.key, p.dist, a);
  return [wrap(a)];
});

k("unary", ([x], _a, p: { op: UnaryOp }, [o]) => {
  const out = allocate(o.dtype, size(o.shape));
  unaryKernel(p.op, arr(x), out);
  return [wrap(out)];
});

k("binary", ([a, b], [aa, ba], p: { op: BinaryOp }, [o]) => {
  const out = allocate(o.dtype, size(o.shape));
  binaryKernel(p.op, arr(a), aa.shape, arr(b), ba.shape, out, o.shape);
  return [wrap(out)];
});

k("where", ([c, a, b], [ca, aa, ba], _p, [o]) => {
  const out = allocate(o.dtype, size(o.shape));
  whereKernel(arr(c), ca.shape, arr(a), aa.shape, arr(b), ba.shape, out, o.shape);
  return [wrap(out)];
});

k("cast", ([x], _a, _p, [o]) => {
  const src = arr(x);
  const out = allocate(o.dtype, src.length);
  if (o.dtype === "bool") { for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0; }
  else if (o.dtype === "int32") { for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]) | 0; }
  else out.set(src);
  return [wrap(out)];
});

k("reshape", ([x]) => [x]);

function copyKernel(x: Storage, strides: readonly number[], offset: number, o: Aval): Storage {
  const out = allocate(o.dtype, size(o.shape));
  stridedCopy(arr(x), offset, strides, out, 0, contiguousStrides(o.shape), o.shape);
  return wrap(out);
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
  const out = allocate(o.dtype, size(o.shape));
  if (p.value !== 0) out.fill(p.value);
  const os = contiguousStrides(o.shape);
  const off = p.widths.reduce((acc, [b], i) => acc + b * os[i], 0);
  stridedCopy(arr(x), 0, contiguousStrides(xa.shape), out, off, os, xa.shape);
  return [wrap(out)];
});

k("concat", (xs, avals, p: { axis: number }, [o]) => {
  const out = allocate(o.dtype, size(o.shape));
  const os = contiguousStrides(o.shape);
  let at = 0;
  xs.forEach((x, i) => {
    stridedCopy(arr(x), 0, contiguousStrides(avals[i].shape), out, at * os[p.axis], os, avals[i].shape);
    at += avals[i].shape[p.axis];
  });
  return [wrap(out)];
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

k("gather", ([x, idx], [xa], p: { axis: number }, [o]) => {
  const src = arr(x), ix = arr(idx);
  const D = xa.shape[p.axis];
  const A = size(xa.shape.slice(0, p.axis)), B = size(xa.shape.slice(p.axis + 1));
  const out = allocate(o.dtype, size(o.shape));
  const I = ix.length;
  const fixed = Int32Array.from(ix, (v) => checkedIndex("take", v, D));
  for (let a = 0; a < A; a++) {
    for (let i = 0; i < I; i++) {
      const s = (a * D + fixed[i]) * B, d = (a * I + i) * B;
      if (B === 1) out[d] = src[s];
      else out.set(src.subarray(s, s + B), d);
    }
  }
  return [wrap(out)];
});

k("scatterAdd", ([idx, upd], [ia], p: { axis: number; shape: number[] }, [o]) => {
  const ix = arr(idx), u = arr(upd);
  const D = p.shape[p.axis];
  const A = size(p.shape.slice(0, p.axis)), B = size(p.shape.slice(p.axis + 1));
  const I = size(ia.shape);
  const out = allocate(o.dtype, size(o.shape));
  for (let a = 0; a < A; a++) {
    for (let i = 0; i < I; i++) {
      const j = checkedIndex("scatterAdd", ix[i], D);
      const d = (a * D + j) * B, s = (a * I + i) * B;
      for (let b = 0; b < B; b++) out[d + b] += u[s + b];
    }
  }
  return [wrap(out)];
});

k("reduce", ([x], [xa], p: { op: ReduceOp; axes: number[] }, [o]) => {
  let src = arr(x);
  let shape = [...xa.shape];
  let axes = p.axes;
  // reduce a contiguous run of axes as [outer, R, inner]; otherwise move the axes last first
  const contiguousRun = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  if (!contiguousRun) {
    const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...keep, ...axes];
    const cs = contiguousStrides(shape);
    const ps = perm.map((q) => shape[q]);
    const moved = allocate(xa.dtype, src.length);
    stridedCopy(src, 0, perm.map((q) => cs[q]), moved, 0, contiguousStrides(ps), ps);
    src = moved;
    shape = ps;
    axes = axes.map((_, i) => keep.length + i);
  }
  const outer = size(shape.slice(0, axes[0]));
  const R = size(axes.map((a) => shape[a]));
  const inner = size(shape.slice(axes[axes.length - 1] + 1));
  const acc = new Float64Array(outer * inner);
  const op = p.op;
  const init = op === "sum" ? 0 : op === "prod" ? 1 : op === "max" ? -Infinity : Infinity;
  acc.fill(init);
  for (let a = 0; a < outer; a++) {
    for (let r = 0; r < R; r++) {
      const s = (a * R + r) * inner, d = a * inner;
      if (op === "sum") { for (let i = 0; i < inner; i++) acc[d + i] += src[s + i]; }
      else if (op === "prod") { for (let i = 0; i < inner; i++) acc[d + i] *= src[s + i]; }
      else if (op === "max") {
        for (let i = 0; i < inner; i++) {
          const v = src[s + i];
          if (v > acc[d + i] || v !== v) acc[d + i] = v;
        }
      } else {
        for (let i = 0; i < inner; i++) {
          const v = src[s + i];
          if (v < acc[d + i] || v !== v) acc[d + i] = v;
        }
      }
    }
  }
  const out = allocate(o.dtype, acc.length);
  out.set(acc);
  return [wrap(out)];
});

k("matmul", ([a, b], [aa, ba], p: { transA: boolean; transB: boolean }, [o]) => {
  const A = arr(a), B = arr(b);
  const nd = o.shape.length;
  const m = o.shape[nd - 2], n = o.shape[nd - 1];
  const kk = p.transA ? aa.shape[aa.shape.length - 2] : aa.shape[aa.shape.length - 1];
  const batch = o.shape.slice(0, nd - 2);
  const out = allocate(o.dtype, size(o.shape));
  const nb = size(batch);
  const sa = broadcastStrides(aa.shape.slice(0, -2), batch), sb = broadcastStrides(ba.shape.slice(0, -2), batch);
  const idx = new Array(batch.length).fill(0);
  for (let t = 0; t < nb; t++) {
    let ao = 0, bo = 0;
    for (let i = 0; i < batch.length; i++) {
      ao += idx[i] * sa[i];
      bo += idx[i] * sb[i];
    }
    gemm(A, ao * m * kk, p.transA, B, bo * kk * n, p.transB, out, t * m * n, m, n, kk);
    for (let i = batch.length - 1; i >= 0; i--) {
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
  return [wrap(out)];
});
