/**
 * Strided loops shared by the CPU kernels: broadcasting strides, axis coalescing, and a generic
 * n-dimensional copy between strided views (transpose, broadcast, slice, pad and concat are all
 * copies with particular strides).
 * @module
 */
import type { TypedArray } from "../../dtype.ts";

/** Row-major strides of a contiguous shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Strides for reading `inShape` broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const cs = contiguousStrides(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : cs[i - lead]));
}

/**
 * Merges adjacent axes that every stride list walks contiguously, and drops extent-1 axes, so
 * most loops run on one or two axes.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): [number[], number[][]] {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k][last] === s[i] * shape[i])) {
      sh[last] *= shape[i];
      strides.forEach((s, k) => (st[k][last] = s[i]));
    } else {
      sh.push(shape[i]);
      strides.forEach((s, k) => st[k].push(s[i]));
    }
  }
  if (sh.length === 0) {
    sh.push(1);
    st.forEach((s) => s.push(0));
  }
  return [sh, st];
}

/**
 * Calls `inner(offsets, n, innerStrides)` once per row of the last axis, with the starting offset
 * of each operand; the caller loops over the row.
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  inner: (offs: number[], n: number) => void,
): void {
  const nd = shape.length;
  const n = shape[nd - 1];
  const k = strides.length;
  const idx = new Array<number>(Math.max(0, nd - 1)).fill(0);
  const offs = [...offsets];
  let rows = 1;
  for (let i = 0; i < nd - 1; i++) rows *= shape[i];
  for (let r = 0; r < rows; r++) {
    inner(offs, n);
    // advance the multi-index over the leading axes
    for (let ax = nd - 2; ax >= 0; ax--) {
      idx[ax]++;
      for (let q = 0; q < k; q++) offs[q] += strides[q][ax];
      if (idx[ax] < shape[ax]) break;
      for (let q = 0; q < k; q++) offs[q] -= strides[q][ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

/** Copies the strided view `src` into the strided view `dst`, both of extent `shape`. */
export function stridedCopy(
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  if (shape.some((d) => d === 0)) return;
  const [sh, [ss, ds]] = coalesce(shape, [srcStrides, dstStrides]);
  const nd = sh.length;
  if (nd >= 2 && ss[nd - 1] !== 1 && ss[nd - 2] === 1 && ds[nd - 1] === 1) {
    transposeBlocks(src, srcOffset, ss, dst, dstOffset, ds, sh);
    return;
  }
  const si = ss[nd - 1], di = ds[nd - 1];
  forEachRow(sh, [ss, ds], [srcOffset, dstOffset], ([so, d0], n) => {
    if (si === 1 && di === 1) {
      dst.set(src.subarray(so, so + n), d0);
    } else {
      for (let j = 0, s = so, d = d0; j < n; j++, s += si, d += di) dst[d] = src[s];
    }
  });
}

/** Cache-blocked copy for views whose last two axes are swapped relative to each other. */
function transposeBlocks(
  src: TypedArray,
  so: number,
  ss: readonly number[],
  dst: TypedArray,
  dof: number,
  ds: readonly number[],
  sh: readonly number[],
): void {
  const nd = sh.length;
  const R = sh[nd - 2], C = sh[nd - 1];
  const sr = ss[nd - 2], sc = ss[nd - 1], dr = ds[nd - 2];
  const B = 32;
  const outer = sh.slice(0, nd - 2);
  const run = (s0: number, d0: number) => {
    for (let r0 = 0; r0 < R; r0 += B) {
      const r1 = Math.min(R, r0 + B);
      for (let c0 = 0; c0 < C; c0 += B) {
        const c1 = Math.min(C, c0 + B);
        for (let r = r0; r < r1; r++) {
          let s = s0 + r * sr + c0 * sc, d = d0 + r * dr + c0;
          for (let c = c0; c < c1; c++, s += sc) dst[d++] = src[s];
        }
      }
    }
  };
  if (outer.length === 0) return run(so, dof);
  forEachRow(
    [...outer, 1],
    [[...ss.slice(0, nd - 2), 0], [...ds.slice(0, nd - 2), 0]],
    [so, dof],
    ([s, d]) => run(s, d),
  );
}
