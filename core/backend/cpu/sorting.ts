/**
 * CPU kernels of the ordering primitives: argReduce (first extreme, NaN wins), sort (stable, NaN
 * last ascending) and cumulative (running sum or product). Each walks rows along one axis of a
 * contiguous array: `outer × n × inner`.
 * @module
 */
import { type Aval, axisSplit, type Kernel, type Storage } from "../backend.ts";
import type { TypedArray } from "../../dtype.ts";
import { allocate } from "../../dtype.ts";

/** Index of the first maximum (minimum) per row; the first NaN wins. */
export function argReduceKernel(
  x: TypedArray,
  xa: Aval,
  p: { op: "max" | "min"; axis: number },
): Int32Array {
  const [outer, n, inner] = axisSplit(xa.shape, p.axis);
  const out = new Int32Array(outer * inner);
  const max = p.op === "max";
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      let best = x[base], at = 0;
      if (best === best) {
        for (let i = 1; i < n; i++) {
          const v = x[base + i * inner];
          if (v !== v) {
            at = i;
            break;
          }
          if (max ? v > best : v < best) (best = v), (at = i);
        }
      }
      out[a * inner + b] = at;
    }
  }
  return out;
}

/** Stable sort per row: values and source positions (ascending: NaN last; descending: mirrored). */
export function sortKernel(
  x: TypedArray,
  xa: Aval,
  p: { axis: number; descending: boolean },
): [TypedArray, Int32Array] {
  const [outer, n, inner] = axisSplit(xa.shape, p.axis);
  const vals = allocate(xa.dtype, x.length);
  const idx = new Int32Array(x.length);
  const row = new Float64Array(n);
  const order = new Int32Array(n);
  const sgn = p.descending ? -1 : 1;
  // NaN is the largest value: last ascending, first descending; ties by position (stable)
  const cmp = (i: number, j: number): number => {
    const a = row[i], b = row[j];
    const na = a !== a, nb = b !== b;
    if (na || nb) return na && nb ? i - j : (na ? 1 : -1) * sgn;
    return a < b ? -sgn : a > b ? sgn : i - j;
  };
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      for (let i = 0; i < n; i++) (row[i] = x[base + i * inner]), (order[i] = i);
      order.sort(cmp);
      for (let i = 0; i < n; i++) {
        vals[base + i * inner] = row[order[i]];
        idx[base + i * inner] = order[i];
      }
    }
  }
  return [vals, idx];
}

/** Running sum or product per row (from the row's end when `reverse`). */
export function cumulativeKernel(
  x: TypedArray,
  xa: Aval,
  p: { op: "sum" | "prod"; axis: number; reverse: boolean },
): TypedArray {
  const [outer, n, inner] = axisSplit(xa.shape, p.axis);
  const out = allocate(xa.dtype, x.length);
  const prod = p.op === "prod", int32 = xa.dtype === "int32";
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      let acc = prod ? 1 : 0;
      for (let k = 0; k < n; k++) {
        const at = base + (p.reverse ? n - 1 - k : k) * inner;
        acc = prod ? (int32 ? Math.imul(acc, x[at]) : acc * x[at]) : acc + x[at]; // int32 wraps as NumPy's
        if (xa.dtype === "float32") acc = Math.fround(acc);
        else if (int32) acc |= 0;
        out[at] = acc;
      }
    }
  }
  return out;
}

/** Registers the three kernels through `k` (the CPU backend's registration function). */
export function registerSorting(
  k: (name: string, fn: Kernel) => void,
  arr: (s: Storage) => TypedArray,
  wrap: (a: TypedArray) => Storage,
): void {
  k("argReduce", ([x], [xa], p: { op: "max" | "min"; axis: number }) => [wrap(argReduceKernel(arr(x), xa, p))]);
  k("sort", ([x], [xa], p: { axis: number; descending: boolean }) => sortKernel(arr(x), xa, p).map(wrap));
  k("cumulative", ([x], [xa], p: { op: "sum" | "prod"; axis: number; reverse: boolean }) => [
    wrap(cumulativeKernel(arr(x), xa, p)),
  ]);
}
